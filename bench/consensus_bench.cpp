// consensus_bench: committed entries/s and commit latency of a 3-node Raft group.
//
// Each node runs in its own thread (as its raft actor would) with the real consensus::raft_node
// and its own storage::node_store in a temp dir on the real disk. Every ready cycle persists the
// new entries + hard state in ONE synced WriteBatch before sending messages (the core's contract);
// messages travel through in-process queues. Committed entries go to a per-node apply thread that
// writes them with apply_batch (synced, state + applied index), and the log is compacted behind
// the durable applied index so memory stays bounded.
//
// Phases: closed loop (one proposal, wait for its commit: the latency floor), then open loop with
// B = 1, 10, 100, 1000 proposals of 128 bytes per leader ready cycle.
// Latency = propose() on the leader -> the entry appears in the leader's committed_entries.
// usage: consensus_bench [seconds_per_phase=3] [dir=/tmp] [--no-apply] [--leader-persist-first]
//   --leader-persist-first: the leader also persists before sending (by default it replicates
//   while it persists, Raft thesis §10.2.1, which the core allows: see handle_ready()).
//   --no-apply: diagnostic; skips the apply stage (and so compaction) to show what the synced
//   apply writes, which share each node's RocksDB WAL with the log writes, cost the commit path.
// usage: consensus_bench --snapshot-transfer [MB=100]
//   Moves an MB snapshot from a leader to a follower through the core only (in-process, instant
//   delivery, no disk): wall time, chunk messages and delivery rounds (= network round trips)
//   with a window of 1 chunk (the old protocol) and with limits::max_inflight_snapshot_chunks.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "consensus/raft.hpp"
#include "storage/node_store.hpp"

namespace {

using namespace energo;
using clock_type = std::chrono::steady_clock;
namespace cs = energo::consensus;
namespace st = energo::storage;

constexpr std::size_t payload_bytes = 128;
constexpr int node_count = 3;
constexpr int tick_ms = 10;
constexpr cs::group_id group = 1;
constexpr uint64_t compact_lag_entries = 50'000;   // keep this many applied entries for slow peers
constexpr uint64_t compact_every_entries = 50'000;
constexpr std::size_t inbox_messages_max = 100'000;  // beyond this the sender is a bug: abort

// ---- Mapping between consensus and storage records (the actor layer's job) ---------------------
st::log_record to_record(const cs::entry& e) {
  return {e.term, e.index, static_cast<uint8_t>(e.type), e.data};
}
st::hard_state_record to_record(const cs::hard_state& hs) { return {hs.term, hs.vote, hs.commit}; }
st::snapshot_meta_record to_record(const cs::snapshot_meta& m, uint64_t bytes) {
  st::snapshot_meta_record r;
  r.index = m.index;
  r.term = m.term;
  r.config.voters.assign(m.config.voters.begin(), m.config.voters.end());
  r.config.learners.assign(m.config.learners.begin(), m.config.learners.end());
  r.data_bytes = bytes;
  return r;
}

[[noreturn]] void die(const char* what, const st::storage_error& e) {
  std::fprintf(stderr, "consensus_bench: %s: %s: %s\n", what, st::to_string(e.code), e.message.c_str());
  std::exit(1);
}

double micros(clock_type::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[k];
}

// Shared by the main thread (control) and whichever node is leader (proposing).
struct driver {
  std::atomic<int> batch{0};          // proposals per leader ready cycle; 0 = stop proposing
  std::atomic<bool> closed_loop{false};
  std::mutex mu;
  std::map<cs::index_t, clock_type::time_point> pending;  // proposed, not yet committed
  std::vector<double> latencies_us;
  uint64_t committed = 0;
  uint64_t refused = 0;
};

struct cluster;

struct node {
  cs::node_id id = 0;
  std::unique_ptr<st::node_store> store;
  std::optional<cs::raft_node> raft;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<cs::message> inbox;
  std::thread thread;
  // apply stage
  std::mutex apply_mu;
  std::condition_variable apply_cv;
  std::deque<std::vector<cs::entry>> apply_queue;
  std::thread apply_thread;
  std::atomic<uint64_t> durable_applied{0};
  uint64_t last_compacted = 0;
  // Published by the node's thread after every loop iteration, for the main thread to read.
  std::atomic<bool> is_leader{false};
  std::atomic<uint64_t> term{0};
  // Term and vote last made durable: a ready that does not change them promises nothing new.
  cs::term_t persisted_term = 0;
  cs::node_id persisted_vote = cs::no_node;
  // persist timing of this node's ready cycles
  std::mutex stats_mu;
  std::vector<double> persist_us;
};

struct cluster {
  std::vector<std::unique_ptr<node>> nodes;
  driver drv;
  std::atomic<bool> stop{false};
  bool apply_enabled = true;  // false: committed entries are dropped, no apply_batch, no compaction
  bool leader_sends_first = true;  // Raft thesis §10.2.1; false (--leader-persist-first): strict order

  void send(cs::message m) {
    node& to = *nodes.at(m.to - 1);
    {
      std::lock_guard lock(to.mu);
      if (to.inbox.size() >= inbox_messages_max) std::abort();
      to.inbox.push_back(std::move(m));
    }
    to.cv.notify_one();
  }
};

void apply_loop(cluster& c, node& n) {
  for (;;) {
    std::vector<cs::entry> batch;
    {
      std::unique_lock lock(n.apply_mu);
      n.apply_cv.wait(lock, [&] { return c.stop.load() || !n.apply_queue.empty(); });
      if (n.apply_queue.empty()) return;
      // Coalesce everything queued into one synced apply_batch.
      while (!n.apply_queue.empty()) {
        for (auto& e : n.apply_queue.front()) batch.push_back(std::move(e));
        n.apply_queue.pop_front();
      }
    }
    const cs::index_t last = batch.back().index;
    if (!c.apply_enabled) continue;  // diagnostic mode: Raft log persistence alone
    const std::vector<st::state_write> writes{{"applied_entries", std::to_string(last)}};
    if (auto r = n.store->apply_batch(group, writes, last); !r) die("apply_batch", r.error());
    n.durable_applied.store(last);
  }
}

void handle_ready(cluster& c, node& n) {
  cs::ready r = n.raft->get_ready();
  if (r.snapshot_to_install) {
    const auto& s = *r.snapshot_to_install;
    std::optional<st::hard_state_record> hs;
    if (r.hard_state) hs = to_record(*r.hard_state);
    if (auto res = n.store->install_snapshot(group, to_record(s.meta, s.data.size()), s.data, {}, hs); !res) {
      die("install_snapshot", res.error());
    }
  }
  std::vector<st::log_record> records;
  records.reserve(r.entries_to_persist.size());
  for (const auto& e : r.entries_to_persist) records.push_back(to_record(e));
  st::group_write w{group, records, std::nullopt};
  if (r.hard_state) w.hard_state = to_record(*r.hard_state);
  // Raft thesis §10.2.1: a leader may replicate its new entries while it writes them to its own
  // disk, because the core counts the leader's own log towards commit only after advance(). This
  // holds only when the ready promises nothing new: no snapshot, and the term and vote unchanged
  // (they were made durable when the node campaigned). Followers always persist first.
  const bool send_early = c.leader_sends_first && n.raft->role() == cs::role::leader && !r.snapshot_to_install &&
                          (!r.hard_state || (r.hard_state->term == n.persisted_term && r.hard_state->vote == n.persisted_vote));
  if (send_early)
    for (auto& m : r.messages) c.send(std::move(m));
  if (!records.empty() || w.hard_state) {
    const auto t0 = clock_type::now();
    if (auto res = n.store->persist(std::span<const st::group_write>(&w, 1)); !res) die("persist", res.error());
    const double us = micros(clock_type::now() - t0);
    if (r.hard_state) {
      n.persisted_term = r.hard_state->term;
      n.persisted_vote = r.hard_state->vote;
    }
    std::lock_guard lock(n.stats_mu);
    n.persist_us.push_back(us);
  }
  if (!send_early)
    for (auto& m : r.messages) c.send(std::move(m));
  if (!r.committed_entries.empty()) {
    if (n.raft->role() == cs::role::leader) {
      const auto now = clock_type::now();
      std::lock_guard lock(c.drv.mu);
      for (const auto& e : r.committed_entries) {
        auto it = c.drv.pending.find(e.index);
        if (it == c.drv.pending.end()) continue;
        c.drv.latencies_us.push_back(micros(now - it->second));
        c.drv.pending.erase(it);
        ++c.drv.committed;
      }
    }
    {
      std::lock_guard lock(n.apply_mu);
      n.apply_queue.push_back(r.committed_entries);
    }
    n.apply_cv.notify_one();
  }
  n.raft->advance(r);
  // Bound memory: compact the core's log and the stored log behind the durable applied index.
  const uint64_t applied = std::min<uint64_t>(n.durable_applied.load(), n.raft->applied_index());
  if (applied > n.last_compacted + compact_lag_entries + compact_every_entries) {
    const uint64_t upto = applied - compact_lag_entries;
    const std::optional<cs::term_t> upto_term = n.raft->term_at(upto);
    if (upto_term && n.raft->compact(upto, std::string())) {
      // Snapshot meta (with the membership in force) first, then drop the log: a crash between
      // the two leaves an uncompacted log, never a compacted log without its membership.
      cs::snapshot_meta meta{upto, *upto_term, n.raft->membership()};
      if (auto res = n.store->save_snapshot(group, to_record(meta, 0), ""); !res) die("save_snapshot", res.error());
      if (auto res = n.store->compact(group, upto); !res) die("compact", res.error());
      n.last_compacted = upto;
    }
  }
}

bool propose_some(cluster& c, node& n) {
  const int batch = c.drv.batch.load();
  if (batch == 0 || n.raft->role() != cs::role::leader) return false;
  if (c.drv.closed_loop.load()) {
    std::lock_guard lock(c.drv.mu);
    if (!c.drv.pending.empty()) return false;
  }
  std::string payload(payload_bytes, 'x');
  bool any = false;
  for (int i = 0; i < batch; ++i) {
    const auto t0 = clock_type::now();
    auto res = n.raft->propose(payload);
    if (!res) {
      std::lock_guard lock(c.drv.mu);
      ++c.drv.refused;
      break;  // e.g. uncommitted_limit: wait for acks
    }
    std::lock_guard lock(c.drv.mu);
    c.drv.pending[res->index] = t0;
    any = true;
  }
  return any;
}

void node_loop(cluster& c, node& n) {
  auto next_tick = clock_type::now() + std::chrono::milliseconds(tick_ms);
  bool proposals_blocked = false;
  while (!c.stop.load()) {
    std::deque<cs::message> msgs;
    {
      std::unique_lock lock(n.mu);
      const bool may_propose = !proposals_blocked && c.drv.batch.load() != 0 && n.raft->role() == cs::role::leader;
      if (!may_propose && n.inbox.empty()) {
        n.cv.wait_until(lock, next_tick, [&] { return c.stop.load() || !n.inbox.empty(); });
      }
      msgs.swap(n.inbox);
    }
    if (!msgs.empty()) proposals_blocked = false;
    for (const auto& m : msgs) n.raft->step(m);
    if (clock_type::now() >= next_tick) {
      n.raft->tick();
      next_tick += std::chrono::milliseconds(tick_ms);
      proposals_blocked = false;
    }
    if (n.raft->role() == cs::role::leader && c.drv.batch.load() != 0) proposals_blocked = !propose_some(c, n);
    while (n.raft->has_ready()) handle_ready(c, n);
    n.is_leader = n.raft->role() == cs::role::leader;
    n.term = n.raft->term();
  }
}

struct phase_result {
  std::string name;
  double seconds = 0;
  uint64_t committed = 0;
  uint64_t refused = 0;
  double p50_us = 0, p99_us = 0;
  double persist_p50_us = 0;
  double persist_p99_us = 0;
  std::string leader_change;  // empty if one leader held the whole phase
};

// The current leader as "node@term", or "none".
std::string leader_text(cluster& c) {
  for (auto& n : c.nodes) {
    if (n->is_leader.load()) return std::to_string(n->id) + "@" + std::to_string(n->term.load());
  }
  return "none";
}

phase_result run_phase(cluster& c, const std::string& name, int batch, bool closed_loop, double seconds) {
  {
    std::lock_guard lock(c.drv.mu);
    c.drv.latencies_us.clear();
    c.drv.committed = 0;
    c.drv.refused = 0;
  }
  for (auto& n : c.nodes) {
    std::lock_guard lock(n->stats_mu);
    n->persist_us.clear();
  }
  c.drv.closed_loop = closed_loop;
  const std::string leader_before = leader_text(c);
  const auto t0 = clock_type::now();
  c.drv.batch = batch;
  for (auto& n : c.nodes) n->cv.notify_one();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  c.drv.batch = 0;
  const auto t1 = clock_type::now();
  phase_result r;
  r.name = name;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  {
    std::lock_guard lock(c.drv.mu);
    r.committed = c.drv.committed;
    r.refused = c.drv.refused;
    r.p50_us = percentile(c.drv.latencies_us, 0.50);
    r.p99_us = percentile(c.drv.latencies_us, 0.99);
  }
  std::vector<double> all_persist;
  for (auto& n : c.nodes) {
    std::lock_guard lock(n->stats_mu);
    all_persist.insert(all_persist.end(), n->persist_us.begin(), n->persist_us.end());
  }
  r.persist_p50_us = percentile(all_persist, 0.50);
  r.persist_p99_us = percentile(all_persist, 0.99);
  // Let the in-flight proposals drain so the next phase starts clean.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(c.drv.mu);
      if (c.drv.pending.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (const std::string after = leader_text(c); after != leader_before) r.leader_change = leader_before + " -> " + after;
  std::lock_guard lock(c.drv.mu);
  c.drv.pending.clear();
  return r;
}

// Latency of one synced WriteBatch holding one 128-byte entry + hard state: the unit the
// commit latency is compared against.
std::vector<double> measure_synced_writes(const std::string& dir, int count) {
  st::store_options o;
  o.cluster_id = "bench-fsync";
  auto s = st::node_store::open(dir, o);
  if (!s) die("open fsync store", s.error());
  std::vector<double> us;
  for (int i = 1; i <= count; ++i) {
    const std::vector<st::log_record> e{{1, static_cast<uint64_t>(i), 0, std::string(payload_bytes, 'x')}};
    const st::group_write w{group, e, st::hard_state_record{1, 1, static_cast<uint64_t>(i)}};
    const auto t0 = clock_type::now();
    if (auto r = (*s)->persist(std::span<const st::group_write>(&w, 1)); !r) die("persist", r.error());
    us.push_back(micros(clock_type::now() - t0));
  }
  return us;
}


// --- snapshot transfer through the core ------------------------------------------------------------
struct transfer_result {
  double seconds = 0;
  uint64_t chunk_messages = 0;
  uint64_t rounds = 0;
  bool installed = false;
};

transfer_result snapshot_transfer(uint64_t bytes, uint64_t window_chunks) {
  cs::membership m;
  m.voters = {1, 2, 3};
  std::map<cs::node_id, cs::raft_node> nodes;
  for (cs::node_id id = 1; id <= 3; ++id) {
    cs::config c;
    c.id = id;
    c.group = group;
    c.random_seed = 7;
    c.lim.max_inflight_snapshot_chunks = window_chunks;
    nodes.emplace(id, cs::raft_node::bootstrap(c, m));
  }
  std::vector<cs::message> wire;
  transfer_result out;
  bool cut3 = true;
  auto drain = [&](bool timed) {
    // One round: every node handles its ready (no disk: this measures the core), then every
    // message on the wire is delivered. Each round is one network round trip's worth of work.
    for (int guard = 0; guard < 1'000'000; ++guard) {
      for (auto& [id, n] : nodes) {
        while (n.has_ready()) {
          cs::ready r = n.get_ready();
          if (r.snapshot_to_install && id == 3) out.installed = r.snapshot_to_install->data.size() == bytes;
          for (auto& msg : r.messages) {
            if (timed && msg.type == cs::message_type::snapshot_chunk) ++out.chunk_messages;
            wire.push_back(std::move(msg));
          }
          n.advance(r);
        }
      }
      if (wire.empty()) return;
      if (timed) ++out.rounds;
      std::vector<cs::message> batch;
      batch.swap(wire);
      for (auto& msg : batch) {
        if (cut3 && (msg.to == 3 || msg.from == 3)) continue;
        nodes.at(msg.to).step(msg);
      }
    }
  };
  nodes.at(1).campaign();
  drain(false);
  for (int i = 0; i < 10; ++i) (void)nodes.at(1).propose(std::string(payload_bytes, 'p'));
  drain(false);
  std::string image(bytes, '\0');
  for (uint64_t i = 0; i < bytes; ++i) image[i] = static_cast<char>((i * 131) >> 7);
  if (!nodes.at(1).compact(nodes.at(1).applied_index(), std::move(image))) return out;
  cut3 = false;
  const auto t0 = clock_type::now();
  for (int t = 0; t < 100 && !out.installed; ++t) {
    for (auto& [id, n] : nodes) n.tick();
    drain(true);
  }
  out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return out;
}

int snapshot_transfer_bench(uint64_t mb) {
  const uint64_t bytes = mb << 20;
  const cs::limits defaults{};
  std::printf("snapshot transfer of %llu MiB through the core (chunks of %llu KiB, in-process delivery)\n",
              static_cast<unsigned long long>(mb),
              static_cast<unsigned long long>(defaults.snapshot_chunk_bytes_max >> 10));
  std::printf("%-22s %10s %14s %8s %12s %22s\n", "window", "wall s", "chunk msgs", "rounds", "MiB/s (cpu)",
              "at 1 ms RTT: s (MiB/s)");
  for (uint64_t window : {uint64_t{1}, defaults.max_inflight_snapshot_chunks}) {
    const transfer_result r = snapshot_transfer(bytes, window);
    if (!r.installed) {
      std::printf("window %llu: the follower did not install the snapshot\n", static_cast<unsigned long long>(window));
      return 1;
    }
    const double rtt_s = static_cast<double>(r.rounds) / 2 * 1e-3;  // a round trip = 2 delivery rounds
    std::printf("%-22llu %10.3f %14llu %8llu %12.0f %14.2f (%6.0f)\n", static_cast<unsigned long long>(window),
                r.seconds, static_cast<unsigned long long>(r.chunk_messages),
                static_cast<unsigned long long>(r.rounds), static_cast<double>(mb) / r.seconds, rtt_s + r.seconds,
                static_cast<double>(mb) / (rtt_s + r.seconds));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--snapshot-transfer") {
    return snapshot_transfer_bench(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100);
  }
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const std::string base = argc > 2 ? argv[2] : "/tmp";
  bool apply_enabled = true, leader_sends_first = true;
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-apply") apply_enabled = false;
    else if (flag == "--leader-persist-first") leader_sends_first = false;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 1;
    }
  }
  std::string pattern = base + "/energo-consensus-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = pattern;

  // Measured before and after the cluster phases: the disk is shared with other work, so both
  // are printed to show how stable the baseline was.
  auto fsync_before_us = measure_synced_writes(root + "/fsync-before", 300);

  cluster c;
  c.apply_enabled = apply_enabled;
  c.leader_sends_first = leader_sends_first;
  cs::membership members;
  for (int i = 1; i <= node_count; ++i) members.voters.insert(static_cast<cs::node_id>(i));
  for (int i = 1; i <= node_count; ++i) {
    auto n = std::make_unique<node>();
    n->id = static_cast<cs::node_id>(i);
    st::store_options o;
    o.cluster_id = "bench";
    auto s = st::node_store::open(root + "/node" + std::to_string(i), o);
    if (!s) die("open node store", s.error());
    n->store = std::move(*s);
    cs::config cfg;
    cfg.id = n->id;
    cfg.group = group;
    cfg.random_seed = 1000 + static_cast<uint64_t>(i);
    cfg.election_ticks = 50;  // 500 ms: no spurious elections while a loaded 2-core box stalls a node
    n->raft.emplace(cs::raft_node::bootstrap(cfg, members));
    c.nodes.push_back(std::move(n));
  }
  c.nodes[0]->raft->campaign();
  for (auto& n : c.nodes) {
    n->thread = std::thread(node_loop, std::ref(c), std::ref(*n));
    n->apply_thread = std::thread(apply_loop, std::ref(c), std::ref(*n));
  }
  // Wait for a leader that has committed its noop.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  std::vector<phase_result> results;
  results.push_back(run_phase(c, "closed loop, 1 in flight", 1, true, seconds));
  for (int b : {1, 10, 100, 1000}) {
    results.push_back(run_phase(c, "open loop, " + std::to_string(b) + "/cycle", b, false, seconds));
  }

  c.stop = true;
  for (auto& n : c.nodes) {
    n->cv.notify_all();
    n->apply_cv.notify_all();
  }
  for (auto& n : c.nodes) {
    n->thread.join();
    n->apply_thread.join();
  }
  auto fsync_after_us = measure_synced_writes(root + "/fsync-after", 300);
  std::vector<double> fsync_us = fsync_before_us;
  fsync_us.insert(fsync_us.end(), fsync_after_us.begin(), fsync_after_us.end());
  const double fsync_p50 = percentile(fsync_us, 0.5);
  cs::node_id leader = 0;
  for (auto& n : c.nodes) {
    if (n->raft->role() == cs::role::leader) leader = n->id;
  }

  std::printf("consensus_bench: 3 voters in one process, 128-byte entries, RocksDB sync=true, dir %s%s%s\n", root.c_str(),
              apply_enabled ? "" : ", APPLY STAGE OFF (diagnostic)",
              leader_sends_first ? ", leader replicates while persisting" : ", leader persists before sending");
  std::printf("synced write alone (1 entry + hard state, one WriteBatch): before p50 %.0f us p99 %.0f us; "
              "after p50 %.0f us p99 %.0f us; pooled p50 %.0f us\n",
              percentile(fsync_before_us, 0.5), percentile(fsync_before_us, 0.99), percentile(fsync_after_us, 0.5),
              percentile(fsync_after_us, 0.99), fsync_p50);
  std::printf("%-26s %10s %9s %9s %11s %11s %13s %8s\n", "phase", "entries/s", "p50 ms", "p99 ms", "persist p50",
              "persist p99", "p50/persist", "refused");
  for (const auto& r : results) {
    std::printf("%-26s %10.0f %9.2f %9.2f %8.2f ms %8.2f ms %13.1f %8llu %s\n", r.name.c_str(),
                static_cast<double>(r.committed) / r.seconds, r.p50_us / 1000, r.p99_us / 1000,
                r.persist_p50_us / 1000, r.persist_p99_us / 1000,
                r.persist_p50_us > 0 ? r.p50_us / r.persist_p50_us : 0, static_cast<unsigned long long>(r.refused),
                r.leader_change.empty() ? "" : ("LEADER CHANGED " + r.leader_change).c_str());
  }
  std::printf("persist = the nodes' synced ready writes in that phase (entries + hard state, one WriteBatch);\n"
              "p50/persist = commit latency in units of that synced write (Raft's floor: leader + follower = 2)\n");
  std::printf("leader at end: node %llu; machine load while running is in `uptime` (2 shared cores)\n",
              static_cast<unsigned long long>(leader));
  // Restart check: rebuild each node's raft_node from its store alone, as the raft actor does
  // after a crash, and compare with the node that wrote it.
  for (auto& n : c.nodes) {
    const uint64_t last = n->raft->last_index();
    const uint64_t commit = n->raft->commit_index();
    if (auto r = n->store->close(); !r) die("close", r.error());
    st::store_options o;
    o.cluster_id = "bench";
    auto reopened = st::node_store::open(root + "/node" + std::to_string(n->id), o);
    if (!reopened) die("reopen", reopened.error());
    auto& store = **reopened;
    std::optional<cs::snapshot_meta> snap;
    auto stored_meta = store.snapshot_meta(group);
    if (!stored_meta) die("snapshot_meta", stored_meta.error());
    if (stored_meta->has_value()) {
      const auto& m = **stored_meta;
      snap = cs::snapshot_meta{m.index, m.term, {}};
      snap->config.voters.insert(m.config.voters.begin(), m.config.voters.end());
      snap->config.learners.insert(m.config.learners.begin(), m.config.learners.end());
    }
    std::vector<cs::entry> log;
    for (uint64_t lo = store.first_index(group); lo <= store.last_index(group);) {
      auto chunk = store.entries(group, lo, store.last_index(group) + 1, 64u << 20);
      if (!chunk) die("reload entries", chunk.error());
      for (auto& rec : *chunk) log.push_back({rec.term, rec.index, static_cast<cs::entry_type>(rec.type), std::move(rec.payload)});
      lo = log.back().index + 1;
    }
    const auto hs = store.hard_state(group);
    cs::config cfg = n->raft->cfg();
    auto restarted = cs::raft_node::restart(cfg, cs::hard_state{hs.term, hs.vote, hs.commit}, snap, std::move(log));
    const bool same = restarted.last_index() == last && restarted.commit_index() == commit &&
                      restarted.membership() == n->raft->membership();
    std::printf("restart check node %llu: last %llu commit %llu first %llu, %s\n",
                static_cast<unsigned long long>(n->id), static_cast<unsigned long long>(restarted.last_index()),
                static_cast<unsigned long long>(restarted.commit_index()),
                static_cast<unsigned long long>(store.first_index(group)), same ? "matches" : "MISMATCH");
    if (!same) return 1;
    if (auto r = store.close(); !r) die("close", r.error());
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}
