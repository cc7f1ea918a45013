#include "tests/consensus_sim/simulation.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <map>
#include <utility>
#include <variant>

#include "common/assert.hpp"
#include "consensus/invariants.hpp"
#include "consensus/session.hpp"
#include "net/wire.hpp"
#include "tests/consensus_sim/ledger_workload.hpp"
#include "tests/consensus_sim/linearizability.hpp"
#include "tests/consensus_sim/prng.hpp"
#include "tests/consensus_sim/sim_disk.hpp"
#include "tests/consensus_sim/state_machine.hpp"

namespace energo::sim {

using consensus::entry;
using consensus::hard_state;
using consensus::index_t;
using consensus::message;
using consensus::message_type;
using consensus::node_id;
using consensus::raft_node;
using consensus::ready;
using consensus::term_t;

namespace {

// --- the replay line printed on abort -------------------------------------------------------------
char g_replay_line[256] = "";

void on_abort(int) {
  const char prefix[] = "\nenergo raft_sim: aborted during run; replay with:\n  ";
  (void)!write(2, prefix, sizeof(prefix) - 1);
  (void)!write(2, g_replay_line, std::strlen(g_replay_line));
  (void)!write(2, "\n", 1);
}

// --- packets --------------------------------------------------------------------------------------
struct client_request {
  uint64_t client_id = 0;  // the client's endpoint
  uint64_t sequence = 0;
  uint64_t session = 0;    // session id (0 with open_session)
  bool open_session = false;
  op_kind kind = op_kind::write;
  uint64_t key = 0;
  int64_t value = 0;
};
struct client_reply {
  uint64_t client_id = 0;
  uint64_t sequence = 0;
  bool ok = false;
  int64_t value = 0;
  index_t index = 0;  // log index that answered a write (0 for reads and errors)
  node_id leader_hint = consensus::no_node;
  uint64_t session = 0;          // write: the session it was applied under
  bool opened = false;           // answer to open_session: value = the new session id
  bool session_unknown = false;  // the write's session was evicted/expired: outcome unknown
};
using packet = std::variant<message, client_request, client_reply>;

constexpr endpoint_id client_endpoint_base = 1000;
constexpr sim_time tick_ms = 10;               // one raft tick every 10 simulated ms per node
constexpr size_t ready_rounds_per_ms_max = 8;  // bounds the drive loop of one node in one ms
constexpr size_t nodes_total_max = 9;          // initial + added over a run (ids never reused)
constexpr size_t voters_max = 7;               // SPEC §6: 3-7 voters
constexpr size_t paused_inbox_max = 10'000;    // packets held for a paused process
// Packets in flight at once. A healthy group of <= 9 nodes stays far below; more means a
// message storm (a feedback loop between nodes), reported as a failure rather than run forever.
constexpr uint64_t packets_in_flight_max = 20'000;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0x100000001b3ULL;
}

uint64_t entry_hash(const entry& e) {
  return mix(mix(fnv1a(e.data), e.term), static_cast<uint64_t>(e.type));
}

// Intensities drawn once per seed, so some seeds are calm and some are storms.
struct fault_profile {
  uint64_t crash_per_million_ms = 0;
  sim_time down_ms_max = 0;
  uint64_t partition_per_million_ms = 0;
  sim_time partition_ms_max = 0;
  uint64_t config_change_per_million_ms = 0;
  uint64_t transfer_per_million_ms = 0;
  sim_time disk_latency_ms_max = 0;
  uint64_t slow_disk_per_million = 0;
  index_t compaction_every_entries = 0;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t pause_per_million_ms = 0;
  sim_time pause_ms_max = 0;
  sim_time tick_skew_ms = 0;  // per-process tick period in [tick_ms - skew, tick_ms + skew]
  sim_time client_think_ms_max = 0;
  uint64_t app_persist_skip_per_million = 0;  // the application skips persisting its state
  // Some seeds run with tiny limits so that multi-chunk snapshots, the snapshot window, append
  // flow control and the uncommitted-bytes bound are exercised (defaults never bind here).
  bool small_limits = false;
  consensus::limits lim{};
  // Some seeds evict and expire client sessions quickly (few sessions, short expiry), so late
  // duplicates of requests of dropped sessions happen and must be rejected (session.hpp).
  consensus::session_limits session_lim{};
  // Ledger mode: how often a workload command is proposed and how fast ledger time runs.
  uint64_t ledger_command_per_million_ms = 0;
  int64_t ledger_ms_per_sim_ms = 0;
};

struct pending_read {
  endpoint_id client = 0;
  uint64_t sequence = 0;
  uint64_t key = 0;
  bool has_index = false;
  index_t index = 0;
};

struct sim_node {
  node_id id = 0;
  bool created = false;
  bool up = false;
  bool destroyed = false;
  std::optional<raft_node> raft;
  durable_state disk;
  std::vector<std::pair<sim_time, durable_state>> disk_past;  // lying_fsync only: recent images
  std::vector<uint64_t> chain;           // chain hash of each durable log entry (log matching)
  uint64_t chain_base = 0;               // chain hash at the durable snapshot index
  std::optional<ready> io;               // written, sync not yet complete
  sim_time io_done_at = 0;
  register_state_machine sm;
  // The application's durable state (like storage::node_store::apply_batch: the state machine
  // and its applied index in one synced batch). Written after a ready's entries are applied,
  // except when the seed's profile lets it lag (then a restart replays from an older state).
  register_state_machine durable_sm;
  std::map<std::pair<uint64_t, uint64_t>, endpoint_id> pending_writes;  // (session, sequence) -> client
  std::set<std::pair<uint64_t, uint64_t>> pending_opens;                // (client, sequence)
  std::map<uint64_t, pending_read> reads;                  // read ctx -> client
  uint64_t next_read_ctx = 1;
  sim_time next_tick_at = 0;
  sim_time restart_at = 0;  // 0: none scheduled
  sim_time destroy_at = 0;
  uint64_t incarnation = 0;
  // What this incarnation has shown so far (monotonic checks).
  term_t seen_term = 0;
  index_t seen_commit = 0;
  index_t seen_applied = 0;
  bool seen_leader = false;
  term_t seen_leader_term = 0;
  consensus::invariant_history invariants;
  sim_time tick_period_ms = tick_ms;  // clock skew: each process ticks at its own rate
  sim_time paused_until = 0;          // a stalled process (GC pause, swapped out)
  std::vector<message> inbox;         // packets that arrived while paused
  // Disk faults: the store's records as of the last crash (storage/ codec) and what was damaged.
  std::optional<store_image> image;
  std::string damage;
};

struct sim_client {
  endpoint_id id = 0;
  bool busy = false;
  size_t op = 0;  // index into history
  uint64_t sequence = 0;
  uint64_t session = 0;  // 0: none yet (or lost): a write first opens one
  op_kind kind = op_kind::write;
  uint64_t key = 0;
  int64_t value = 0;
  node_id target = 0;
  node_id hint = 0;
  sim_time deadline = 0;
  sim_time next_op_at = 0;
  uint64_t ops_issued = 0;
  uint64_t acked = 0;
  bool stopped = false;  // finish(): only the liveness probe issues new operations
  std::set<node_id> pinned;
};

struct committed_info {
  bool known = false;
  term_t term = 0;
  uint64_t hash = 0;
  term_t observed_in_term = 0;  // term of the first node that applied it (>= the commit's term)
  uint64_t client_id = 0, sequence = 0;  // for framed entries
};

struct active_partition {
  sim_time ends_at = 0;
  std::vector<std::pair<endpoint_id, endpoint_id>> links;
};

}  // namespace

struct simulation::state {
  sim_options opts;
  prng rng;
  sim_network<packet> net;
  fault_profile profile;
  sim_time now = 0;
  std::map<node_id, sim_node> nodes;
  node_id next_node_id = 1;
  std::vector<sim_client> clients;
  std::vector<client_operation> history;
  uint64_t event_seq = 0;
  bool workload_open = true;
  bool random_faults = true;
  std::vector<active_partition> partitions;
  std::optional<ledger_workload> workload;  // ledger mode
  std::string ledger_retry;                 // a ledger command whose proposal was refused
  // Last snapshot chunk sent / snapshot response sent per (from, to): names the signature of the
  // fixed core bug "snapshot stream livelock" when a run fails liveness (README.md).
  struct snap_msg { index_t snap = 0; uint64_t offset = 0; bool reject = false; sim_time at = 0; };
  std::map<std::pair<node_id, node_id>, snap_msg> last_chunk, last_snap_response;
  bool early_send = false;                  // send-while-persist for this run
  // Issue 11 §2 faults: their own prng stream, so a seed that selects none replays unchanged.
  prng frng;
  bool corrupt_on = false;
  uint64_t corrupt_per_million = 0;  // raft messages corrupted in flight
  bool live_on = false;              // removed nodes keep running
  bool disk_on = false;              // torn batches and corrupted records at crashes
  uint64_t record_corrupt_per_million = 0;  // per crash
  std::set<node_id> removed_alive;

  // Global knowledge for the safety checks.
  std::map<term_t, node_id> leader_of_term;
  std::vector<committed_info> committed;  // by index - 1
  std::vector<uint64_t> state_hash_at;    // by index - 1 (0 = unknown)
  std::map<std::pair<index_t, term_t>, uint64_t> chain_registry;  // (index, term) -> chain hash
  std::set<node_id> ever_member;  // in some applied configuration
  std::set<node_id> removal_planned;
  index_t last_config_index_seen = 0;  // config entries act on node lifecycles once, in log order

  sim_stats stats;
  bool failed = false;
  std::string failure;

  explicit state(sim_options o)
      : opts(o), rng(o.seed), net(o.seed ^ 0x6e6574776f726bULL), random_faults(o.random_faults),
        frng(o.seed ^ 0x69737375653131ULL) {}

  // --- reporting ----------------------------------------------------------------------------------
  template <class... A>
  void trace(const char* fmt, A... args) {
    if (!opts.verbose) return;
    std::printf("[t=%6llu] ", static_cast<unsigned long long>(now));
    if constexpr (sizeof...(A) == 0) {
      std::fputs(fmt, stdout);
    } else {
      std::printf(fmt, args...);
    }
    std::fputc('\n', stdout);
  }

  void fail(const std::string& what) {
    if (failed) return;
    failed = true;
    failure = "raft_sim seed " + std::to_string(opts.seed) + " failed at t=" + std::to_string(now) + "ms: " + what +
              "\n  replay: " + replay_command(opts);
    trace("FAILURE: %s", what.c_str());
  }

  void digest(uint64_t a, uint64_t b = 0, uint64_t c = 0) {
    stats.digest = mix(mix(mix(mix(stats.digest, now), a), b), c);
  }

  // --- setup --------------------------------------------------------------------------------------
  void draw_profile() {
    auto& p = profile;
    const bool calm = rng.chance(150'000);
    p.crash_per_million_ms = calm ? 0 : rng.range(0, 1200);
    p.down_ms_max = rng.range(50, 2500);
    p.partition_per_million_ms = calm ? 0 : rng.range(0, 1500);
    p.partition_ms_max = rng.range(50, 2000);
    p.config_change_per_million_ms = rng.range(0, 1500);
    p.transfer_per_million_ms = rng.range(0, 800);
    p.disk_latency_ms_max = rng.range(0, 6);
    p.slow_disk_per_million = rng.range(0, 30'000);
    p.compaction_every_entries = rng.range(5, 150);
    p.pre_vote = !rng.chance(200'000);
    p.check_quorum = !rng.chance(200'000);
    p.pause_per_million_ms = calm ? 0 : rng.range(0, 600);
    p.pause_ms_max = rng.range(10, 600);
    p.tick_skew_ms = rng.range(0, 1);  // <= 10%: Raft assumes bounded clock drift (see README)
    p.client_think_ms_max = rng.range(0, 60);
    p.app_persist_skip_per_million = rng.chance(500'000) ? 0 : rng.range(0, 800'000);
    if (rng.chance(300'000)) {
      p.session_lim.sessions_max = rng.range(2, 6);
      p.session_lim.expiry_entries = rng.range(40, 400);
    }
    p.small_limits = rng.chance(300'000);
    if (p.small_limits) {
      auto& l = p.lim;
      l.snapshot_chunk_bytes_max = rng.range(8, 256);
      l.max_inflight_snapshot_chunks = rng.range(1, 8);
      l.max_entries_bytes_per_append = rng.range(16, 512);
      l.max_entries_per_append = rng.range(1, 8);
      l.max_inflight_appends = rng.range(1, 8);
      l.max_inflight_bytes = rng.range(64, 2048);
      l.max_uncommitted_bytes = rng.range(64, 1024);
      l.max_committed_bytes_per_ready = rng.range(16, 512);
      l.max_forwarded_entries = rng.range(1, 4);
    }
    auto& f = net.faults();
    f.loss_per_million = calm ? 0 : rng.range(0, 60'000);
    f.duplicate_per_million = rng.range(0, 20'000);
    f.delay_min_ms = 1;
    f.delay_max_ms = rng.range(1, 12);
    f.long_delay_per_million = rng.range(0, 20'000);
    f.long_delay_max_ms = rng.range(10, 200);
    if (opts.ledger) {
      // Drawn after everything else, so ledger mode does not reshuffle the toy runs' draws.
      p.compaction_every_entries = rng.range(2, 30);  // snapshots (ledger::snapshot bytes) often
      p.ledger_command_per_million_ms = rng.range(50'000, 400'000);
      p.ledger_ms_per_sim_ms = static_cast<int64_t>(rng.range(100, 3000));  // fee epochs close in a run
      // Ledger snapshots are kilobytes (the toy's are ~100 B): chunks 16x the toy's draw keep a
      // transfer at <= ~100 chunks, so it finishes within the liveness bound while the leader
      // keeps compacting (8-byte chunks of a 12 KB snapshot did not).
      if (p.small_limits) p.lim.snapshot_chunk_bytes_max *= 16;
      workload.emplace(opts.seed);
    }
    // No prng draw: existing runs replay unchanged whichever way this goes.
    early_send = send_while_persist_selected(opts);
    stats.send_while_persist = early_send;
    // The issue 11 §2 faults draw from frng only.
    corrupt_on = corrupt_messages_selected(opts);
    stats.corrupt_messages = corrupt_on;
    if (corrupt_on) corrupt_per_million = frng.range(2'000, 30'000);
    live_on = removed_live_on_selected(opts);
    stats.removed_live_on = live_on;
    disk_on = disk_faults_selected(opts);
    stats.disk_faults = disk_on;
    if (disk_on) record_corrupt_per_million = frng.range(100'000, 500'000);
  }

  register_state_machine fresh_sm() const { return register_state_machine{profile.session_lim, opts.ledger}; }

  consensus::config node_config(node_id id, uint64_t incarnation) {
    consensus::config cfg;
    cfg.id = id;
    cfg.group = 7;
    cfg.election_ticks = 10;
    cfg.heartbeat_ticks = 1;
    cfg.pre_vote = profile.pre_vote;
    cfg.check_quorum = profile.check_quorum;
    cfg.lim = profile.lim;
    uint64_t sm = opts.seed ^ (id * 0x1000193ULL) ^ (incarnation << 32);
    cfg.random_seed = splitmix64(sm);
    return cfg;
  }

  void setup() {
    draw_profile();
    consensus::membership initial;
    for (size_t i = 0; i < opts.nodes; ++i) initial.voters.insert(next_node_id + i);
    // Durable bootstrap (raft.hpp): the founders' initial state is synced before they start, so
    // a crash at any time restarts them as members (raft_sim --seed 93004072 --nodes 1 was a
    // one-voter group that lost its in-memory bootstrap and never elected a leader again).
    const consensus::initial_state boot = raft_node::bootstrap_state(initial);
    for (size_t i = 0; i < opts.nodes; ++i) {
      const node_id id = next_node_id++;
      sim_node& n = nodes[id];
      n.id = id;
      n.created = true;
      n.up = true;
      n.sm = n.durable_sm = fresh_sm();
      if (opts.bootstrap_in_memory) {
        n.raft.emplace(raft_node::bootstrap(node_config(id, 0), initial));  // the old, unsafe way
      } else {
        n.disk.hard = boot.hard_state;
        n.disk.log = boot.entries;
        rechain(n, 1);
        n.raft.emplace(raft_node::restart(node_config(id, 0), n.disk.hard, std::nullopt, n.disk.log));
      }
      n.tick_period_ms = rng.range(tick_ms - profile.tick_skew_ms, tick_ms + profile.tick_skew_ms);
      n.next_tick_at = rng.range(1, tick_ms);
      n.seen_term = n.raft->term();
      n.seen_commit = n.raft->commit_index();
    }
    for (size_t i = 0; i < opts.clients; ++i) {
      sim_client c;
      c.id = client_endpoint_base + i;
      c.next_op_at = rng.range(0, 50);
      clients.push_back(c);
    }
    trace("setup: %zu voters, %zu clients, loss=%llu/1e6 dup=%llu/1e6 delay<=%llums crash=%llu/1e6/ms "
          "partition=%llu/1e6/ms config=%llu/1e6/ms pre_vote=%d check_quorum=%d",
          opts.nodes, opts.clients, static_cast<unsigned long long>(net.faults().loss_per_million),
          static_cast<unsigned long long>(net.faults().duplicate_per_million),
          static_cast<unsigned long long>(net.faults().delay_max_ms),
          static_cast<unsigned long long>(profile.crash_per_million_ms),
          static_cast<unsigned long long>(profile.partition_per_million_ms),
          static_cast<unsigned long long>(profile.config_change_per_million_ms), profile.pre_vote ? 1 : 0,
          profile.check_quorum ? 1 : 0);
    if (profile.small_limits) {
      trace("small limits: chunk %llu B x %llu in flight, append %llu B / %llu entries, inflight %llu appends / %llu B, "
            "uncommitted %llu B",
            static_cast<unsigned long long>(profile.lim.snapshot_chunk_bytes_max),
            static_cast<unsigned long long>(profile.lim.max_inflight_snapshot_chunks),
            static_cast<unsigned long long>(profile.lim.max_entries_bytes_per_append),
            static_cast<unsigned long long>(profile.lim.max_entries_per_append),
            static_cast<unsigned long long>(profile.lim.max_inflight_appends),
            static_cast<unsigned long long>(profile.lim.max_inflight_bytes),
            static_cast<unsigned long long>(profile.lim.max_uncommitted_bytes));
    }
  }

  sim_node* find(node_id id) {
    auto it = nodes.find(id);
    return it == nodes.end() ? nullptr : &it->second;
  }

  // --- disk ---------------------------------------------------------------------------------------
  sim_time disk_latency() {
    sim_time l = rng.range(0, profile.disk_latency_ms_max);
    if (rng.chance(profile.slow_disk_per_million)) l += rng.range(10, 40);
    return l;
  }

  // Recomputes chain hashes of the durable log from `from` on and registers them (log matching:
  // two logs with the same (index, term) must have identical prefixes, i.e. equal chain hashes).
  void rechain(sim_node& n, index_t from) {
    const index_t first = n.disk.first_index();
    if (from < first) from = first;
    n.chain.resize(from - first);
    for (index_t i = from; i <= n.disk.last_index(); ++i) {
      const entry& e = n.disk.log[i - first];
      const uint64_t prev = i == first ? n.chain_base : n.chain[i - first - 1];
      const uint64_t h = mix(prev, mix(e.index, entry_hash(e)));
      n.chain.push_back(h);
      auto [it, inserted] = chain_registry.emplace(std::make_pair(e.index, e.term), h);
      if (!inserted && it->second != h) {
        fail("log matching violated: node " + std::to_string(n.id) + " persisted entry (index " +
             std::to_string(e.index) + ", term " + std::to_string(e.term) +
             ") whose log prefix differs from another node's entry with the same index and term");
        return;
      }
    }
  }

  void set_chain_base_from_snapshot(sim_node& n) {
    if (!n.disk.snap) {
      n.chain_base = 0;
      return;
    }
    const auto& meta = n.disk.snap->meta;
    auto it = chain_registry.find({meta.index, meta.term});
    if (it == chain_registry.end()) {
      fail("node " + std::to_string(n.id) + " holds a snapshot at (index " + std::to_string(meta.index) + ", term " +
           std::to_string(meta.term) + ") but no node ever persisted that entry");
      return;
    }
    n.chain_base = it->second;
  }

  static constexpr sim_time lying_window_ms = 300;
  void remember_disk(sim_node& n) {
    auto& past = n.disk_past;
    past.emplace_back(now, n.disk);
    size_t drop = 0;
    while (drop + 1 < past.size() && past[drop + 1].first + lying_window_ms < now) ++drop;
    past.erase(past.begin(), past.begin() + static_cast<std::ptrdiff_t>(drop));
  }

  void persist(sim_node& n, const ready& r) {
    if (opts.lying_fsync) remember_disk(n);
    const hard_state before = n.disk.hard;
    const index_t snap_before = n.disk.snapshot_index();
    if (auto err = persist_ready(n.disk, r)) {
      fail("node " + std::to_string(n.id) + " ready violates the storage contract: " + err->message);
      return;
    }
    const hard_state& after = n.disk.hard;
    if (after.term < before.term) fail("node " + std::to_string(n.id) + " persisted a lower term");
    if (after.term == before.term && before.vote != consensus::no_node && after.vote != before.vote) {
      fail("node " + std::to_string(n.id) + " changed its persisted vote within term " + std::to_string(after.term) +
           " (" + std::to_string(before.vote) + " -> " + std::to_string(after.vote) + ")");
    }
    if (after.commit < before.commit) fail("node " + std::to_string(n.id) + " persisted a lower commit index");
    if (after.commit > n.disk.last_index()) {
      fail("node " + std::to_string(n.id) + " persisted commit " + std::to_string(after.commit) +
           " beyond its durable log (last " + std::to_string(n.disk.last_index()) + ")");
    }
    if (n.disk.snapshot_index() != snap_before) {
      set_chain_base_from_snapshot(n);
      rechain(n, n.disk.first_index());
    } else if (!r.entries_to_persist.empty()) {
      rechain(n, r.entries_to_persist.front().index);
    }
  }

  // --- node lifecycle -----------------------------------------------------------------------------
  void reset_volatile(sim_node& n) {
    n.raft.reset();
    n.io.reset();
    n.sm = fresh_sm();
    n.pending_writes.clear();
    n.pending_opens.clear();
    n.reads.clear();
    n.inbox.clear();
    n.paused_until = 0;
    n.invariants = consensus::invariant_history{};
    n.seen_leader = false;
  }

  void crash_node(sim_node& n) {
    if (!n.up) return;
    const bool reached = n.io && rng.chance(500'000);
    if (n.io && !reached && disk_on && frng.chance(500'000)) {
      // Torn: a prefix of the batch's WAL record reached the disk. Replay keeps a record only if
      // whole and intact (RocksDB kPointInTimeRecovery), so the unsynced batch is dropped.
      std::string wal = wal_record_of_ready(*n.io);
      wal.resize(frng.below(wal.size()));
      if (wal_record_intact(wal)) fail("node " + std::to_string(n.id) + ": a torn WAL record passed replay");
      ++stats.torn_writes;
      trace("n%llu crash tore its in-flight batch (%zu bytes of its WAL record reached the disk)",
            static_cast<unsigned long long>(n.id), wal.size());
    }
    if (reached) {
      // The write reached the platter but the node died before it could send or apply.
      persist(n, *n.io);
    }
    if (opts.lying_fsync && !n.disk_past.empty()) {
      // The disk acknowledged syncs it never made: everything of the last lying_window_ms is gone.
      n.disk = n.disk_past.front().second;
      n.disk_past.clear();
      // The application's state went back with the disk (its applied entries are gone).
      if (n.durable_sm.applied_index() > n.disk.hard.commit) n.durable_sm = fresh_sm();
      set_chain_base_from_snapshot(n);
      rechain(n, n.disk.first_index());
    }
    if (disk_on) {
      // What the store holds now, in its own record layout; now and then one synced record is
      // damaged (bit rot, a bad copy, a misdirected write) while the node is down.
      n.image = encode_store(n.disk);
      n.damage.clear();
      if (frng.chance(record_corrupt_per_million)) {
        n.damage = corrupt_one_record(*n.image, frng);
        ++stats.records_corrupted;
        trace("n%llu disk damage: %s", static_cast<unsigned long long>(n.id), n.damage.c_str());
      }
    }
    reset_volatile(n);
    n.up = false;
    // Packets already sent by or to it stay in flight: they may still arrive, even at its next
    // incarnation (Raft has to cope with that).
    ++stats.crashes;
    digest(1, n.id);
    trace("n%llu CRASH (durable: term %llu vote %llu commit %llu, log %llu..%llu)",
          static_cast<unsigned long long>(n.id), static_cast<unsigned long long>(n.disk.hard.term),
          static_cast<unsigned long long>(n.disk.hard.vote), static_cast<unsigned long long>(n.disk.hard.commit),
          static_cast<unsigned long long>(n.disk.first_index()), static_cast<unsigned long long>(n.disk.last_index()));
  }

  void restart_node(sim_node& n) {
    if (n.up || n.destroyed) return;
    if (disk_on && n.image) {
      // Recovery reads the store's records through its codec and rules (sim_disk.hpp).
      const store_recovery rec = recover_store(*n.image);
      if (!rec.state) {
        if (n.damage.empty()) {
          fail("node " + std::to_string(n.id) + ": recovery refused an undamaged store: " + rec.error);
          return;
        }
        // It refuses to serve: nothing is applied or acknowledged from garbage. The operator
        // restores the replica's data from an intact copy; it starts again later.
        ++stats.replicas_refused;
        digest(17, n.id);
        trace("n%llu REFUSES TO START (%s): %s", static_cast<unsigned long long>(n.id), n.damage.c_str(),
              rec.error.c_str());
        n.image = encode_store(n.disk);
        n.damage.clear();
        n.restart_at = now + frng.range(50, 1000);
        return;
      }
      if (!n.damage.empty()) {
        fail("node " + std::to_string(n.id) + " recovered from a damaged store without noticing (" + n.damage + ")");
        return;
      }
      if (!same_durable_state(*rec.state, n.disk)) {
        fail("node " + std::to_string(n.id) + " recovered a store that differs from what it had synced");
        return;
      }
      n.disk = *rec.state;  // the core restarts from what recovery decoded
      n.image.reset();
    }
    ++n.incarnation;
    // Both ways of restarting with a snapshot are exercised (no random draw: the choice must not
    // reshuffle runs): with its data, or with its meta only — then the core asks for the data
    // through ready::snapshot_data_wanted when a follower needs it (complete_io answers).
    const bool with_data = opts.restart_snapshot == restart_snapshot_mode::with_data ||
                           (opts.restart_snapshot == restart_snapshot_mode::alternate && n.incarnation % 2 == 1);
    // The application resumes from its durable state when that is at least as new as the durable
    // snapshot (it always is, unless it skipped persisting after installing a snapshot), and
    // tells the core where it stands (config::applied, etcd's Config.Applied).
    n.sm = fresh_sm();
    if (n.durable_sm.applied_index() >= n.disk.snapshot_index()) {
      n.sm = n.durable_sm;
    } else if (n.disk.snap && !n.sm.restore(n.disk.snap->data, n.disk.snap->meta.index)) {
      fail("node " + std::to_string(n.id) + " cannot restore its durable snapshot");
      return;
    }
    consensus::config cfg = node_config(n.id, n.incarnation);
    cfg.applied = n.sm.applied_index();
    if (n.disk.snap && with_data) {
      n.raft.emplace(raft_node::restart(cfg, n.disk.hard, *n.disk.snap, n.disk.log));
    } else {
      std::optional<consensus::snapshot_meta> meta;
      if (n.disk.snap) meta = n.disk.snap->meta;
      n.raft.emplace(raft_node::restart(cfg, n.disk.hard, meta, n.disk.log));
    }
    n.up = true;
    n.restart_at = 0;
    n.next_tick_at = now + rng.range(1, tick_ms);
    const raft_node& r = *n.raft;
    if (r.term() < n.disk.hard.term) fail("node " + std::to_string(n.id) + " restarted with a term below its durable term");
    if (r.commit_index() < n.disk.hard.commit) {
      fail("node " + std::to_string(n.id) + " restarted with commit " + std::to_string(r.commit_index()) +
           " below its durable commit " + std::to_string(n.disk.hard.commit));
    }
    if (r.applied_index() != n.sm.applied_index()) {
      fail("node " + std::to_string(n.id) + " restarted with applied_index " + std::to_string(r.applied_index()) +
           " but the restored state machine is at " + std::to_string(n.sm.applied_index()));
    }
    n.seen_term = r.term();
    n.seen_commit = r.commit_index();
    n.seen_applied = r.applied_index();
    ++stats.restarts;
    digest(2, n.id);
    trace("n%llu RESTART term %llu commit %llu applied %llu", static_cast<unsigned long long>(n.id),
          static_cast<unsigned long long>(r.term()), static_cast<unsigned long long>(r.commit_index()),
          static_cast<unsigned long long>(r.applied_index()));
  }

  void destroy_node(sim_node& n) {
    if (n.destroyed) return;
    reset_volatile(n);
    n.up = false;
    n.destroyed = true;
    n.disk = durable_state{};
    n.durable_sm = fresh_sm();
    net.drop_endpoint(n.id);
    ++stats.nodes_removed;
    digest(3, n.id);
    trace("n%llu DESTROYED (removed from the group)", static_cast<unsigned long long>(n.id));
  }

  sim_node& create_node() {
    const node_id id = next_node_id++;
    sim_node& n = nodes[id];
    n.id = id;
    n.created = true;
    n.sm = n.durable_sm = fresh_sm();
    n.raft.emplace(raft_node::restart(node_config(id, 0), {}, std::nullopt, {}));
    n.up = true;
    n.tick_period_ms = rng.range(tick_ms - profile.tick_skew_ms, tick_ms + profile.tick_skew_ms);
    n.next_tick_at = now + rng.range(1, tick_ms);
    ++stats.nodes_added;
    trace("n%llu CREATED (empty, waiting to be added)", static_cast<unsigned long long>(id));
    return n;
  }

  // --- ready processing ---------------------------------------------------------------------------
  void check_outgoing(sim_node& n, const message& m) {
    // Persist-before-send: what a response promises must already be durable.
    if (m.type == message_type::vote_response && !m.reject) {
      // A vote for an older term is harmless once a newer term is durable: after a crash the node
    // can never vote in the older term again.
    if (n.disk.hard.term < m.term || (n.disk.hard.term == m.term && n.disk.hard.vote != m.to)) {
        fail("node " + std::to_string(n.id) + " granted its vote to " + std::to_string(m.to) + " in term " +
             std::to_string(m.term) + " before persisting it (durable term " + std::to_string(n.disk.hard.term) +
             ", vote " + std::to_string(n.disk.hard.vote) + ")");
      }
    }
    // An acknowledgement for an older term may name entries the same ready truncated: a newer
    // leader overwrote them, so (Raft's leader-completeness argument) no old-term leader can
    // still count that ack towards a commit. Within the ack's own term it must hold.
    if (m.type == message_type::append_response && !m.reject && n.disk.hard.term <= m.term) {
      if (m.index > n.disk.last_index()) {
        fail("node " + std::to_string(n.id) + " acknowledged index " + std::to_string(m.index) +
             " before persisting it (durable log ends at " + std::to_string(n.disk.last_index()) + ")");
      }
    }
    if (m.from != n.id) fail("node " + std::to_string(n.id) + " sent a message with from=" + std::to_string(m.from));
  }

  void reply(sim_node& n, endpoint_id client, client_reply rep) {
    net.send(n.id, client, packet{std::move(rep)}, now);
  }

  void record_committed(sim_node& n, const entry& e) {
    if (committed.size() < e.index) {
      committed.resize(e.index);
      state_hash_at.resize(e.index, 0);
    }
    committed_info& c = committed[e.index - 1];
    const uint64_t h = entry_hash(e);
    if (c.known) {
      if (c.term != e.term || c.hash != h) {
        fail("state machine safety violated: node " + std::to_string(n.id) + " applied (index " +
             std::to_string(e.index) + ", term " + std::to_string(e.term) + ") but another node applied term " +
             std::to_string(c.term) + " with different contents at that index");
      }
      return;
    }
    c.known = true;
    c.term = e.term;
    c.hash = h;
    c.observed_in_term = n.raft->term();
    if (e.type == consensus::entry_type::normal) {
      if (auto framed = consensus::decode_session_payload(e.data)) {
        c.client_id = framed->client_id;
        c.sequence = framed->sequence;
      }
    }
    stats.max_commit = std::max<uint64_t>(stats.max_commit, e.index);
    // Leader completeness for this newly committed entry: every leader of a later term has it.
    for (auto& [id, other] : nodes) {
      if (!other.up || other.raft->role() != consensus::role::leader) continue;
      if (other.raft->term() > c.observed_in_term) check_leader_has(other, e.index, c);
    }
  }

  void check_leader_has(sim_node& l, index_t i, const committed_info& c) {
    const raft_node& r = *l.raft;
    if (i <= r.snapshot_metadata().index) return;  // covered by its snapshot
    const auto t = r.term_at(i);
    if (!t || *t != c.term) {
      fail("leader completeness violated: leader " + std::to_string(l.id) + " of term " + std::to_string(r.term()) +
           " lacks committed entry (index " + std::to_string(i) + ", term " + std::to_string(c.term) +
           ") committed by term " + std::to_string(c.observed_in_term) + "; it has " +
           (t ? "term " + std::to_string(*t) : std::string("nothing")) + " there");
    }
  }

  void apply_entry(sim_node& n, const entry& e) {
    if (e.index <= n.durable_sm.applied_index()) {
      fail("node " + std::to_string(n.id) + " was given committed entry " + std::to_string(e.index) +
           " again: its durable state already applied up to " + std::to_string(n.durable_sm.applied_index()) +
           " (double application)");
      return;
    }
    if (e.index != n.sm.applied_index() + 1) {
      fail("node " + std::to_string(n.id) + " was given committed entry " + std::to_string(e.index) +
           " after applying " + std::to_string(n.sm.applied_index()));
      return;
    }
    if (e.index > n.disk.last_index()) {
      fail("node " + std::to_string(n.id) + " applied entry " + std::to_string(e.index) + " that is not durable");
    }
    record_committed(n, e);
    const auto out = n.sm.apply(e);
    if (!n.sm.ledger_problem().empty()) {
      fail("ledger rule broken on node " + std::to_string(n.id) + " after applying index " + std::to_string(e.index) +
           ": " + n.sm.ledger_problem());
      return;
    }
    if (n.sm.has_ledger() && e.type == consensus::entry_type::normal && !e.data.empty() && e.data[0] == ledger_entry_tag)
      ++stats.ledger_entries_applied;
    const uint64_t h = n.sm.state_hash();
    uint64_t& known = state_hash_at[e.index - 1];
    if (known == 0) {
      known = h;
    } else if (known != h) {
      fail("replicas diverged: node " + std::to_string(n.id) + " has a different state hash after applying index " +
           std::to_string(e.index));
    }
    digest(4, n.id, e.index);
    if (e.type == consensus::entry_type::config_change) on_config_applied(n, e);
    if (out && out->opened) {
      std::string_view who = out->open_payload;
      uint64_t client = 0, sequence = 0;
      for (int i = 0; i < 8 && who.size() == 16; ++i) {
        client |= static_cast<uint64_t>(static_cast<uint8_t>(who[i])) << (8 * i);
        sequence |= static_cast<uint64_t>(static_cast<uint8_t>(who[8 + i])) << (8 * i);
      }
      if (n.pending_opens.erase({client, sequence}) != 0) {
        client_reply rep;
        rep.client_id = client;
        rep.sequence = sequence;
        rep.ok = true;
        rep.opened = true;
        rep.value = static_cast<int64_t>(out->client_id);
        reply(n, client, rep);
      }
    } else if (out && !out->stale) {
      auto it = n.pending_writes.find({out->client_id, out->sequence});
      if (it != n.pending_writes.end()) {
        const endpoint_id client = it->second;
        n.pending_writes.erase(it);
        client_reply rep;
        rep.client_id = client;
        rep.sequence = out->sequence;
        rep.session = out->client_id;
        rep.ok = !out->unknown_session;
        rep.session_unknown = out->unknown_session;
        rep.value = out->response;
        rep.index = out->unknown_session ? 0 : e.index;
        reply(n, client, rep);
      }
    }
  }

  void on_config_applied(sim_node& n, const entry& e) {
    auto m = consensus::decode_membership(e.data);
    if (!m) {
      fail("node " + std::to_string(n.id) + " applied an undecodable config_change at " + std::to_string(e.index));
      return;
    }
    if (e.index <= last_config_index_seen) return;
    last_config_index_seen = e.index;
    ++stats.config_changes_applied;
    for (auto& [id, other] : nodes) {
      if (other.destroyed || other.destroy_at != 0 || removed_alive.count(id)) continue;
      if (ever_member.count(id) && !m->contains(id)) {
        removal_planned.insert(id);
        if (live_on) {
          // It keeps running with whatever it knows (maybe not its removal) until the end.
          removed_alive.insert(id);
          ++stats.removed_alive;
          digest(16, id);
          trace("n%llu removed from the group but keeps running", static_cast<unsigned long long>(id));
        } else {
          other.destroy_at = now + rng.range(20, 400);
        }
      }
    }
    for (node_id id : m->voters) ever_member.insert(id);
    for (node_id id : m->learners) ever_member.insert(id);
  }

  void answer_reads(sim_node& n) {
    for (auto it = n.reads.begin(); it != n.reads.end();) {
      const pending_read& pr = it->second;
      if (pr.has_index && pr.index <= n.sm.applied_index()) {
        client_reply rep;
        rep.client_id = pr.client;
        rep.sequence = pr.sequence;
        rep.ok = true;
        rep.value = n.sm.value(pr.key);
        reply(n, pr.client, rep);
        it = n.reads.erase(it);
      } else {
        ++it;
      }
    }
  }

  void send_messages(sim_node& n, const std::vector<message>& msgs) {
    for (const message& m : msgs) {
      check_outgoing(n, m);
      ++stats.messages_sent;
      if (m.type == message_type::snapshot_chunk) last_chunk[{m.from, m.to}] = {m.snap.index, m.chunk_offset, false, now};
      if (m.type == message_type::snapshot_response)
        last_snap_response[{m.from, m.to}] = {m.snap.index, m.chunk_offset, m.reject, now};
      if (m.type == message_type::snapshot_chunk) ++stats.snapshot_chunks_sent;
      if (opts.verbose) {
        trace("n%llu -> n%llu %s term %llu idx %llu logterm %llu commit %llu n=%zu%s%s",
              static_cast<unsigned long long>(m.from), static_cast<unsigned long long>(m.to),
              std::string(consensus::to_string(m.type)).c_str(), static_cast<unsigned long long>(m.term),
              static_cast<unsigned long long>(m.index), static_cast<unsigned long long>(m.log_term),
              static_cast<unsigned long long>(m.commit), m.entries.size(), m.reject ? " REJECT" : "",
              m.type == message_type::snapshot_chunk || m.type == message_type::snapshot_response
                  ? (" snap@" + std::to_string(m.snap.index) + " offset " + std::to_string(m.chunk_offset) + "/" +
                     std::to_string(m.snapshot_bytes) + " +" + std::to_string(m.chunk_data.size()) +
                     (m.chunk_done ? " done" : ""))
                        .c_str()
                  : "");
      }
      net.send(n.id, m.to, packet{m}, now);
    }
  }

  void complete_io(sim_node& n) {
    ready r = std::move(*n.io);
    n.io.reset();
    persist(n, r);
    if (failed) return;
    if (r.snapshot_to_install) {
      const auto& snap = *r.snapshot_to_install;
      if (!n.sm.restore(snap.data, snap.meta.index)) {
        fail("node " + std::to_string(n.id) + " received a snapshot it cannot restore");
        return;
      }
      if (!n.sm.ledger_problem().empty()) {
        fail("node " + std::to_string(n.id) + " installed a snapshot at " + std::to_string(snap.meta.index) +
             " whose ledger breaks a rule: " + n.sm.ledger_problem());
        return;
      }
      ++stats.snapshots_installed;
      if (state_hash_at.size() >= snap.meta.index && snap.meta.index > 0) {
        const uint64_t known = state_hash_at[snap.meta.index - 1];
        if (known != 0 && known != n.sm.state_hash()) {
          fail("node " + std::to_string(n.id) + " installed a snapshot at " + std::to_string(snap.meta.index) +
               " whose state differs from what replicas applied there");
        }
      }
      trace("n%llu installed snapshot at %llu", static_cast<unsigned long long>(n.id),
            static_cast<unsigned long long>(snap.meta.index));
    }
    send_messages(n, r.messages);
    r.messages.clear();
    for (const entry& e : r.committed_entries) {
      apply_entry(n, e);
      if (failed) return;
    }
    for (const auto& rs : r.read_states) {
      auto it = n.reads.find(rs.request_ctx);
      if (it == n.reads.end()) continue;  // duplicate answer or from a previous incarnation
      it->second.has_index = true;
      it->second.index = rs.index;
    }
    answer_reads(n);
    if (!r.committed_entries.empty() || r.snapshot_to_install) {
      if (rng.chance(profile.app_persist_skip_per_million)) {
        trace("n%llu application did not persist its state (durable applied stays %llu)",
              static_cast<unsigned long long>(n.id), static_cast<unsigned long long>(n.durable_sm.applied_index()));
      } else {
        n.durable_sm = n.sm;
      }
    }
    n.raft->advance(r);
    if (r.snapshot_data_wanted) answer_snapshot_data_request(n);
    const index_t core_applied = n.raft->applied_index();
    if (core_applied != n.sm.applied_index()) {
      // applied_index() must count exactly what the application applied or installed (the API
      // lets it compact at applied_index(); raft_bugs.md #1, fixed).
      fail("node " + std::to_string(n.id) + " applied_index() is " + std::to_string(core_applied) +
           " after advance, but the state machine applied " + std::to_string(n.sm.applied_index()));
    }
  }

  // The core restarted from a snapshot's meta and needs its data for a lagging follower: hand
  // the durable snapshot back (the raft.hpp contract).
  void answer_snapshot_data_request(sim_node& n) {
    ++stats.snapshot_data_requests;
    if (!n.disk.snap) {
      fail("node " + std::to_string(n.id) + " asked for snapshot data but has no durable snapshot");
      return;
    }
    const auto st = n.raft->compact(n.disk.snap->meta.index, n.disk.snap->data);
    if (!st) {
      fail("node " + std::to_string(n.id) + " refused compact() with its durable snapshot at " +
           std::to_string(n.disk.snap->meta.index) + ": " + st.error().message);
      return;
    }
    trace("n%llu answered a snapshot data request with its snapshot at %llu", static_cast<unsigned long long>(n.id),
          static_cast<unsigned long long>(n.disk.snap->meta.index));
  }

  void drive(sim_node& n) {
    for (size_t round = 0; round < ready_rounds_per_ms_max && n.up && !failed; ++round) {
      if (n.io || !n.raft->has_ready()) return;
      n.io = n.raft->get_ready();
      ready& r = *n.io;
      const bool writes = r.hard_state || !r.entries_to_persist.empty() || r.snapshot_to_install;
      const sim_time latency = writes ? disk_latency() : 0;
      // raft.hpp's one exception to persist-before-send: a leader whose ready carries no snapshot
      // and no change of term or vote may send before (or while) its entries are written.
      if (early_send && writes && !r.messages.empty() && n.raft->role() == consensus::role::leader &&
          !r.snapshot_to_install &&
          (!r.hard_state || (r.hard_state->term == n.disk.hard.term && r.hard_state->vote == n.disk.hard.vote))) {
        ++stats.early_sends;
        send_messages(n, r.messages);
        r.messages.clear();
      }
      if (latency == 0) {
        complete_io(n);
      } else {
        n.io_done_at = now + latency;
        return;
      }
    }
  }

  // --- network delivery ---------------------------------------------------------------------------
  void deliver(typename sim_network<packet>::delivery& d) {
    if (d.to >= client_endpoint_base) {
      on_client_reply(std::get<client_reply>(d.body));
      return;
    }
    sim_node* n = find(d.to);
    if (!n || !n->up) return;
    if (auto* m = std::get_if<message>(&d.body)) {
      if (corrupt_on && frng.chance(corrupt_per_million)) {
        corrupt_in_flight(*n, d.from, *m);
        return;
      }
      if (removed_alive.count(m->from) && (m->type == message_type::vote || m->type == message_type::pre_vote))
        ++stats.removed_campaigns;
      if (now < n->paused_until) {
        if (n->inbox.size() < paused_inbox_max) n->inbox.push_back(std::move(*m));
        return;
      }
      digest(5, m->from, (static_cast<uint64_t>(m->type) << 32) ^ m->index);
      n->raft->step(*m);
    } else if (auto* req = std::get_if<client_request>(&d.body)) {
      if (now < n->paused_until) return;  // the client times out and retries elsewhere
      on_client_request(*n, d.from, *req);
    }
  }

  // --- corrupted messages (README.md "Corrupted messages") ---------------------------------------
  // The frame's bytes are damaged in flight. On the real wire every peer frame is sealed by the
  // Noise channel (net/secure_session.hpp): a damaged frame fails authentication before anything
  // decodes it and the connection is closed. So the message is lost together with everything in
  // flight between the two nodes, both ways. The damaged bytes still go through the peer codec
  // (net::decode_peer_frame), which must refuse them or yield some message; one that decodes into
  // a different message with the right sender is stepped into a copy of the receiver: whatever
  // an authenticated peer sends, the core must keep its own state sane (term/index/commit/
  // membership fields from a peer are untrusted input). Raft tolerates crashes, not lies: the
  // copy is discarded; delivering forged messages to the real cluster would break safety by
  // design and is not simulated.
  void corrupt_bytes(std::string& b) {
    if (b.empty()) return;
    switch (frng.below(4)) {
      case 0: b[frng.below(b.size())] ^= static_cast<char>(1u << frng.below(8)); break;  // a bit
      case 1: b[frng.below(b.size())] = static_cast<char>(frng.below(256)); break;       // a byte
      case 2: b.resize(frng.below(b.size())); break;                                     // cut short
      default: {                                                                         // a run
        const size_t at = frng.below(b.size());
        const size_t len = 1 + frng.below(16);
        for (size_t i = at; i < b.size() && i < at + len; ++i) b[i] = static_cast<char>(frng.below(256));
      }
    }
  }

  static std::string describe_message(const message& m) {
    return std::string(consensus::to_string(m.type)) + " from " + std::to_string(m.from) + " to " +
           std::to_string(m.to) + " term " + std::to_string(m.term) + " index " + std::to_string(m.index) +
           " log_term " + std::to_string(m.log_term) + " commit " + std::to_string(m.commit) + " entries " +
           std::to_string(m.entries.size()) + " context " + std::to_string(m.context) + " snap " +
           std::to_string(m.snap.index) + "/" + std::to_string(m.snap.term) + " offset " +
           std::to_string(m.chunk_offset) + "/" + std::to_string(m.snapshot_bytes) + (m.reject ? " reject" : "");
  }

  void corrupt_in_flight(sim_node& n, endpoint_id from, const message& m) {
    std::string body = net::encode_peer_raft(m);
    corrupt_bytes(body);
    ++stats.corrupt_frames;
    const auto decoded = net::decode_peer_frame(body);
    const char* outcome = "refused by the decoder";
    if (!decoded || !decoded->raft) {
      ++stats.corrupt_refused;
    } else if (net::encode_peer_raft(*decoded->raft) == net::encode_peer_raft(m)) {
      ++stats.corrupt_unchanged;
      outcome = "decoded unchanged";
    } else if (decoded->raft->from != from) {
      // The peer broker refuses a frame whose sender is not the authenticated node.
      ++stats.corrupt_wrong_sender;
      outcome = "decoded, wrong sender";
    } else {
      ++stats.corrupt_decoded;
      outcome = "decoded into another message (probed)";
      probe_corrupted(n, *decoded->raft, m);
    }
    const uint64_t lost = net.drop_between(from, n.id);
    ++stats.links_reset;
    stats.packets_lost_with_link += lost;
    digest(15, from, n.id);
    trace("CORRUPT n%llu -> n%llu %s: %s; connection closed, %llu packets in flight lost",
          static_cast<unsigned long long>(from), static_cast<unsigned long long>(n.id),
          std::string(consensus::to_string(m.type)).c_str(), outcome, static_cast<unsigned long long>(lost));
  }

  void probe_corrupted(sim_node& n, const message& bad, const message& original) {
    raft_node probe = n.raft->clone();
    const size_t known = probe.invariant_violations().size();
    consensus::invariant_history h = n.invariants;
    probe.step(bad);
    std::vector<std::string> found = consensus::check_invariants(probe, h);
    if (probe.invariant_violations().size() > known) found.push_back(probe.invariant_violations()[known]);
    if (!found.empty()) {
      fail("node " + std::to_string(n.id) + " trusts a corrupted message: stepping [" + describe_message(bad) +
           "] (sent as [" + describe_message(original) + "]) breaks its invariants: " + found.front());
    }
  }

  void on_client_request(sim_node& n, endpoint_id from, const client_request& req) {
    client_reply err;
    err.client_id = req.client_id;
    err.sequence = req.sequence;
    err.ok = false;
    if (req.kind == op_kind::read) {
      const uint64_t ctx = (n.incarnation << 40) | n.next_read_ctx++;
      const auto st = n.raft->read_index(ctx);
      if (!st) {
        err.leader_hint = st.error().leader_hint;
        reply(n, from, err);
        return;
      }
      n.reads[ctx] = pending_read{from, req.sequence, req.key, false, 0};
      return;
    }
    if (req.open_session) {
      std::string who;
      for (int i = 0; i < 8; ++i) who.push_back(static_cast<char>((req.client_id >> (8 * i)) & 0xff));
      for (int i = 0; i < 8; ++i) who.push_back(static_cast<char>((req.sequence >> (8 * i)) & 0xff));
      auto res = n.raft->propose(consensus::encode_session_open(who));
      if (!res) {
        err.leader_hint = res.error().leader_hint;
        reply(n, from, err);
        return;
      }
      n.pending_opens.insert({req.client_id, req.sequence});
      return;
    }
    command c{req.kind, req.key, req.value};
    auto res = n.raft->propose(consensus::encode_session_payload(req.session, req.sequence, encode_command(c)));
    if (!res) {
      err.leader_hint = res.error().leader_hint;
      reply(n, from, err);
      return;
    }
    n.pending_writes[{req.session, req.sequence}] = from;
  }

  // --- clients ------------------------------------------------------------------------------------
  std::vector<node_id> live_ids() const {
    std::vector<node_id> out;
    for (const auto& [id, n] : nodes)
      if (n.created && !n.destroyed) out.push_back(id);
    return out;
  }

  void send_request(sim_client& c) {
    node_id target = 0;
    if (!c.pinned.empty()) {
      auto it = c.pinned.begin();
      std::advance(it, static_cast<long>(rng.below(c.pinned.size())));
      target = *it;
    } else if (c.hint != 0 && find(c.hint) && !find(c.hint)->destroyed && rng.chance(800'000)) {
      target = c.hint;
    } else {
      const auto ids = live_ids();
      target = ids[rng.below(ids.size())];
    }
    c.target = target;
    c.deadline = now + rng.range(150, 450);
    client_request req;
    req.client_id = c.id;
    req.sequence = c.sequence;
    req.session = c.session;
    req.open_session = c.kind != op_kind::read && c.session == 0;
    req.kind = c.kind;
    req.key = c.key;
    req.value = c.value;
    net.send(c.id, target, packet{req}, now);
  }

  void client_step(sim_client& c) {
    if (c.busy) {
      if (now >= c.deadline) {
        ++stats.client_retries;
        send_request(c);
      }
      return;
    }
    if (!workload_open || c.stopped || now < c.next_op_at) return;
    if (!opts.uncapped_workload && c.ops_issued >= opts.ops_per_client_max) return;
    ++c.ops_issued;
    ++c.sequence;
    const uint64_t roll = rng.below(10);
    c.kind = roll < 4 ? op_kind::write : roll < 7 ? op_kind::add : op_kind::read;
    c.key = rng.below(opts.keys);
    // Uncapped runs move to fresh keys every epoch: per-key histories stay searchable.
    if (opts.uncapped_workload) c.key += (now / std::max<sim_time>(opts.uncapped_key_epoch_ms, 1)) * opts.keys;
    c.value = c.kind == op_kind::write ? static_cast<int64_t>(c.id * 1'000'000 + c.sequence)
                                       : static_cast<int64_t>(rng.range(1, 5));
    client_operation op;
    op.client_id = c.id;
    op.key = c.key;
    op.kind = c.kind;
    op.input = c.kind == op_kind::read ? 0 : c.value;
    op.invoke_seq = ++event_seq;
    op.invoke_time = now;
    history.push_back(op);
    c.op = history.size() - 1;
    c.busy = true;
    ++stats.client_ops;
    send_request(c);
  }

  void on_client_reply(const client_reply& rep) {
    sim_client* c = nullptr;
    for (auto& x : clients)
      if (x.id == rep.client_id) c = &x;
    if (!c || !c->busy || rep.sequence != c->sequence) return;  // late or duplicate answer
    if (rep.opened) {
      if (c->session == 0) {
        c->session = static_cast<uint64_t>(rep.value);
        send_request(*c);  // now the write itself, under the new session
      }
      return;
    }
    if (rep.session_unknown) {
      if (rep.session != c->session) return;  // about an older session: already handled
      // Its session was evicted or expired: whether the write took effect is unknown (it stays
      // indeterminate in the history) and the client opens a new session for its next write.
      c->session = 0;
      c->busy = false;
      c->next_op_at = now + rng.range(0, profile.client_think_ms_max);
      digest(13, c->id, c->sequence);
      return;
    }
    if (!rep.ok) {
      c->hint = rep.leader_hint;
      c->deadline = std::min(c->deadline, now + rng.range(5, 30));  // retry soon, elsewhere
      return;
    }
    client_operation& op = history[c->op];
    if (c->kind != op_kind::read) {
      // No acknowledged write lost: the acknowledging entry must be the committed one.
      const committed_info* ci = rep.index > 0 && rep.index <= committed.size() ? &committed[rep.index - 1] : nullptr;
      if (!ci || !ci->known || ci->client_id != rep.session || ci->sequence != rep.sequence) {
        fail("client " + std::to_string(rep.client_id) + " got an ack for sequence " + std::to_string(rep.sequence) +
             " at index " + std::to_string(rep.index) + " which is not the committed entry there");
      }
    } else {
      ++stats.reads_acked;
    }
    op.response_seq = ++event_seq;
    op.response_time = now;
    op.output = rep.value;
    c->busy = false;
    ++c->acked;
    ++stats.client_ops_acked;
    c->next_op_at = now + rng.range(0, profile.client_think_ms_max);
    digest(6, c->id, c->sequence);
  }

  // --- faults -------------------------------------------------------------------------------------
  std::vector<endpoint_id> all_endpoints() const {
    std::vector<endpoint_id> out = live_ids();
    for (const auto& c : clients) out.push_back(c.id);
    return out;
  }

  void rebuild_blocks() {
    net.heal_all();
    for (const auto& p : partitions)
      for (const auto& [a, b] : p.links) net.block(a, b);
  }

  void start_random_partition() {
    const auto ids = live_ids();
    const auto eps = all_endpoints();
    active_partition p;
    p.ends_at = now + rng.range(20, profile.partition_ms_max);
    const node_id x = ids[rng.below(ids.size())];
    const uint64_t kind = rng.below(5);
    const char* name = "";
    if (kind == 0) {  // isolate one node both ways
      name = "isolate";
      for (endpoint_id e : eps)
        if (e != x) {
          p.links.push_back({x, e});
          p.links.push_back({e, x});
        }
    } else if (kind == 1) {  // x cannot send (one-way)
      name = "mute";
      for (endpoint_id e : eps)
        if (e != x) p.links.push_back({x, e});
    } else if (kind == 2) {  // x cannot receive (one-way)
      name = "deafen";
      for (endpoint_id e : eps)
        if (e != x) p.links.push_back({e, x});
    } else if (kind == 3) {  // split into two sides, clients scattered
      name = "split";
      std::vector<endpoint_id> side_a, side_b;
      for (endpoint_id e : eps) (rng.chance(400'000) ? side_a : side_b).push_back(e);
      for (endpoint_id a : side_a)
        for (endpoint_id b : side_b) {
          p.links.push_back({a, b});
          p.links.push_back({b, a});
        }
    } else {  // one directed link
      name = "link";
      const node_id y = ids[rng.below(ids.size())];
      if (y != x) p.links.push_back({x, y});
    }
    ++stats.partitions;
    digest(7, kind, x);
    trace("PARTITION %s around n%llu until t=%llu (%zu links)", name, static_cast<unsigned long long>(x),
          static_cast<unsigned long long>(p.ends_at), p.links.size());
    partitions.push_back(std::move(p));
    rebuild_blocks();
  }

  std::optional<node_id> current_leader() const {
    std::optional<node_id> best;
    term_t best_term = 0;
    for (const auto& [id, n] : nodes) {
      if (!n.up || n.raft->role() != consensus::role::leader) continue;
      if (!best || n.raft->term() > best_term) {
        best = id;
        best_term = n.raft->term();
      }
    }
    return best;
  }

  void random_config_change() {
    const auto lid = current_leader();
    if (!lid) return;
    sim_node& l = nodes[*lid];
    const consensus::membership& m = l.raft->membership();
    const uint64_t roll = rng.below(3);
    consensus::config_change change;
    if (roll == 0) {
      // Add a learner: reuse an idle node that never joined, else create one.
      node_id target = 0;
      for (const auto& [id, n] : nodes)
        if (n.created && !n.destroyed && !m.contains(id) && !ever_member.count(id) && !removal_planned.count(id))
          target = id;
      if (target == 0) {
        if (next_node_id > nodes_total_max) return;
        target = create_node().id;
      }
      change = {consensus::config_change_type::add_learner, target};
    } else if (roll == 1) {
      if (m.learners.empty() || m.voters.size() >= voters_max) return;
      auto it = m.learners.begin();
      std::advance(it, static_cast<long>(rng.below(m.learners.size())));
      change = {consensus::config_change_type::promote_learner, *it};
    } else {
      // Remove a voter (the leader itself now and then) while at least 3 voters remain to
      // remove from, or a learner.
      std::vector<node_id> candidates;
      if (m.voters.size() >= 3)
        for (node_id v : m.voters) candidates.push_back(v);
      for (node_id v : m.learners) candidates.push_back(v);
      if (candidates.empty()) return;
      node_id target = candidates[rng.below(candidates.size())];
      if (m.voters.size() >= 3 && rng.chance(250'000)) target = *lid;
      change = {consensus::config_change_type::remove_node, target};
      // Removed nodes that live on: often cut the node off first, so that it never learns of its
      // removal and later campaigns in its old configuration.
      if (live_on && target != *lid && frng.chance(500'000)) {
        active_partition p;
        p.ends_at = now + frng.range(100, 1500);
        for (endpoint_id e : all_endpoints())
          if (e != target) {
            p.links.push_back({target, e});
            p.links.push_back({e, target});
          }
        partitions.push_back(std::move(p));
        rebuild_blocks();
        ++stats.removed_cut_off;
        trace("PARTITION isolate n%llu before its removal", static_cast<unsigned long long>(target));
      }
    }
    const auto res = l.raft->propose_config_change(change);
    ++stats.config_changes_proposed;
    digest(8, static_cast<uint64_t>(change.type), change.node);
    trace("n%llu propose config change %d n%llu: %s", static_cast<unsigned long long>(*lid),
          static_cast<int>(change.type), static_cast<unsigned long long>(change.node),
          res ? "appended" : std::string(consensus::to_string(res.error().code)).c_str());
  }

  void random_transfer() {
    const auto lid = current_leader();
    if (!lid) return;
    sim_node& l = nodes[*lid];
    std::vector<node_id> voters;
    for (node_id v : l.raft->membership().voters)
      if (v != *lid) voters.push_back(v);
    if (voters.empty()) return;
    const node_id target = voters[rng.below(voters.size())];
    const auto st = l.raft->transfer_leadership(target);
    ++stats.transfers;
    digest(9, target);
    trace("n%llu transfer leadership to n%llu: %s", static_cast<unsigned long long>(*lid),
          static_cast<unsigned long long>(target), st ? "started" : std::string(consensus::to_string(st.error().code)).c_str());
  }

  void random_faults_step() {
    if (rng.chance(profile.crash_per_million_ms)) {
      const auto ids = live_ids();
      sim_node& n = nodes[ids[rng.below(ids.size())]];
      if (n.up) {
        crash_node(n);
        n.restart_at = now + rng.range(1, profile.down_ms_max);
      }
    }
    if (rng.chance(profile.partition_per_million_ms)) start_random_partition();
    if (rng.chance(profile.pause_per_million_ms)) {
      const auto ids = live_ids();
      sim_node& n = nodes[ids[rng.below(ids.size())]];
      if (n.up && now >= n.paused_until) {
        n.paused_until = now + rng.range(1, profile.pause_ms_max);
        digest(12, n.id, n.paused_until);
        trace("n%llu PAUSED until t=%llu", static_cast<unsigned long long>(n.id),
              static_cast<unsigned long long>(n.paused_until));
      }
    }
    if (rng.chance(profile.config_change_per_million_ms)) random_config_change();
    if (rng.chance(profile.transfer_per_million_ms)) random_transfer();
  }

  // --- ledger mode -----------------------------------------------------------------------------
  // Each process's ledger clock: simulated time scaled, with a per-node offset of a few seconds
  // (real clocks disagree), so a new leader may propose a tick behind the last one (refused).
  int64_t ledger_clock_ms(const sim_node& n) const {
    return world().t0_ms + static_cast<int64_t>(now) * profile.ledger_ms_per_sim_ms +
           static_cast<int64_t>(n.id % 3) * 2'000;
  }

  void ledger_step() {
    if (!workload_open) return;
    // Ticks: every leader proposes one every ledger_tick_every_ms of its own clock.
    if (now % opts.ledger_tick_every_ms == 0) {
      for (auto& [id, n] : nodes) {
        if (!n.up || now < n.paused_until || n.raft->role() != consensus::role::leader) continue;
        const ledger::command t{ledger::tick{ledger_clock_ms(n)}, {}};
        if (n.raft->propose(encode_ledger_entry(t))) ++stats.ledger_ticks_proposed;
      }
    }
    if (!rng.chance(profile.ledger_command_per_million_ms)) return;
    const auto lid = current_leader();
    const auto ids = live_ids();
    node_id target = lid && rng.chance(850'000) ? *lid : ids[rng.below(ids.size())];
    sim_node& n = nodes[target];
    if (!n.up || now < n.paused_until) return;  // lost, like a request to a dead node
    // A command whose proposal was refused (no leader known, a full uncommitted window) is
    // retried by its client; one that was accepted may still be lost with its leader.
    std::string bytes = ledger_retry.empty() ? encode_ledger_entry(workload->next(ledger_clock_ms(n))) : std::move(ledger_retry);
    ledger_retry.clear();
    const bool ok = n.raft->propose(bytes).has_value();
    if (!ok) ledger_retry = bytes;
    ++stats.ledger_commands_proposed;
    digest(14, target, ok ? 1 : 0);
    // Now and then the same command twice (a client retry at another node): the ledger's nonces
    // make the second one a refusal on every replica.
    if (ok && rng.chance(50'000)) {
      sim_node& other = nodes[ids[rng.below(ids.size())]];
      if (other.up && now >= other.paused_until) (void)other.raft->propose(bytes);
    }
  }

  void maybe_compact(sim_node& n) {
    if (!n.up || n.io) return;
    const index_t applied = n.raft->applied_index();
    // A received snapshot waits for the next ready: nothing at or below applied is compactable.
    if (applied < n.raft->snapshot_metadata().index) return;
    if (applied < n.disk.snapshot_index() + profile.compaction_every_entries) return;
    std::string data = n.sm.serialize();
    // Half the compactions leave the data with the application (the node's apply actor does, the
    // core asks for it when a follower needs it: snapshot_data_wanted). Chosen without drawing
    // from rng so that every seed keeps its trajectory.
    const bool without_data = (n.id + applied) % 2 == 0;
    const auto st = without_data ? n.raft->compact_without_data(applied) : n.raft->compact(applied, data);
    if (!st) {
      fail("node " + std::to_string(n.id) + " refused compact(" + std::to_string(applied) +
           ") at its applied index: " + st.error().message);
      return;
    }
    const auto& meta = n.raft->snapshot_metadata();
    if (meta.index != applied) {
      fail("node " + std::to_string(n.id) + " compact(" + std::to_string(applied) + ") left snapshot index " +
           std::to_string(meta.index));
      return;
    }
    if (opts.lying_fsync) remember_disk(n);
    persist_compaction(n.disk, consensus::snapshot{meta, std::move(data)});
    set_chain_base_from_snapshot(n);
    rechain(n, n.disk.first_index());
    ++stats.compactions;
    digest(10, n.id, applied);
    trace("n%llu compacted to %llu", static_cast<unsigned long long>(n.id), static_cast<unsigned long long>(applied));
  }

  // --- per-ms safety checks -----------------------------------------------------------------------
  void check_node(sim_node& n) {
    const raft_node& r = *n.raft;
    const std::string who = "node " + std::to_string(n.id);
    if (r.term() < n.seen_term) fail(who + " term went backwards");
    if (r.commit_index() < n.seen_commit) {
      fail(who + " commit index went backwards (" + std::to_string(n.seen_commit) + " -> " +
           std::to_string(r.commit_index()) + ")");
    }
    if (r.applied_index() < n.seen_applied) fail(who + " applied index went backwards");
    if (r.applied_index() > r.commit_index()) fail(who + " applied beyond its commit index");
    n.seen_term = r.term();
    n.seen_commit = r.commit_index();
    n.seen_applied = r.applied_index();
    stats.max_term = std::max<uint64_t>(stats.max_term, r.term());
    if (r.role() == consensus::role::leader) {
      auto [it, inserted] = leader_of_term.emplace(r.term(), n.id);
      if (!inserted && it->second != n.id) {
        fail("election safety violated: nodes " + std::to_string(it->second) + " and " + std::to_string(n.id) +
             " are both leader of term " + std::to_string(r.term()));
      }
      if (!n.seen_leader || n.seen_leader_term != r.term()) {
        n.seen_leader = true;
        n.seen_leader_term = r.term();
        ++stats.leaders_elected;
        digest(11, n.id, r.term());
        trace("n%llu became LEADER of term %llu (last %llu, commit %llu)", static_cast<unsigned long long>(n.id),
              static_cast<unsigned long long>(r.term()), static_cast<unsigned long long>(r.last_index()),
              static_cast<unsigned long long>(r.commit_index()));
        for (index_t i = r.snapshot_metadata().index + 1; i <= committed.size() && !failed; ++i) {
          const committed_info& c = committed[i - 1];
          if (c.known && c.observed_in_term < r.term()) check_leader_has(n, i, c);
        }
      }
    } else {
      n.seen_leader = false;
    }
    const auto& violations = r.invariant_violations();
    if (!violations.empty()) fail(who + " core invariant violated: " + violations.front());
#if !ENERGO_INVARIANTS_ENABLED
    // Release builds: the core does not check itself, so run its checker now and then.
    if ((now + n.id) % 64 == 0) {
      const auto found = consensus::check_invariants(r, n.invariants);
      if (!found.empty()) fail(who + " core invariant violated: " + found.front());
    }
#endif
  }

  // --- the clock ----------------------------------------------------------------------------------
  void step_ms() {
    ++now;
    stats.sim_ms = now;
    for (auto& [id, n] : nodes) {
      if (n.destroy_at != 0 && now >= n.destroy_at && !n.destroyed) destroy_node(n);
      if (n.restart_at != 0 && now >= n.restart_at) restart_node(n);
    }
    for (auto& [id, n] : nodes) {
      if (!n.up || now < n.paused_until || failed) continue;
      if (!n.inbox.empty()) {
        std::vector<message> held = std::move(n.inbox);
        n.inbox.clear();
        for (const message& m : held) n.raft->step(m);
      }
      if (n.io && now >= n.io_done_at) complete_io(n);
    }
    if (net.in_flight() > packets_in_flight_max) {
      fail("message storm: " + std::to_string(net.in_flight()) + " packets in flight (limit " +
           std::to_string(packets_in_flight_max) + ")");
      return;
    }
    auto due = net.take_due(now);
    for (auto& d : due) {
      if (failed) return;
      deliver(d);
    }
    for (auto& [id, n] : nodes) {
      if (n.up && now >= n.next_tick_at) {
        if (now < n.paused_until) {
          n.next_tick_at = n.paused_until;  // a stalled process does not tick
        } else {
          n.raft->tick();
          n.next_tick_at += n.tick_period_ms;
        }
      }
    }
    for (auto& c : clients) client_step(c);
    if (workload) ledger_step();
    if (random_faults) {
      random_faults_step();
      for (auto it = partitions.begin(); it != partitions.end();) {
        if (now >= it->ends_at) {
          it = partitions.erase(it);
          rebuild_blocks();
          trace("partition healed");
        } else {
          ++it;
        }
      }
    }
    for (auto& [id, n] : nodes) {
      if (failed) return;
      if (n.up && now >= n.paused_until) {
        drive(n);
        maybe_compact(n);
      }
    }
    for (auto& [id, n] : nodes) {
      if (failed) return;
      if (n.up) check_node(n);
    }
  }

  void run_for(sim_time ms) {
    const sim_time end = now + ms;
    while (now < end && !failed) step_ms();
  }

  // --- healing, liveness, linearizability ---------------------------------------------------------
  bool converged(std::string& why) {
    const auto lid = current_leader();
    if (!lid) {
      why = "no leader";
      return false;
    }
    const raft_node& l = *nodes[*lid].raft;
    if (l.commit_index() < l.last_index()) {
      why = "leader n" + std::to_string(*lid) + " has uncommitted entries (commit " + std::to_string(l.commit_index()) +
            ", last " + std::to_string(l.last_index()) + ")";
      return false;
    }
    for (const auto& c : clients) {
      if (c.busy) {
        why = "client " + std::to_string(c.id) + " still waits for sequence " + std::to_string(c.sequence);
        return false;
      }
    }
    const index_t target = l.commit_index();
    const uint64_t hash = nodes[*lid].sm.state_hash();
    const consensus::membership& m = l.membership();
    std::vector<node_id> members(m.voters.begin(), m.voters.end());
    members.insert(members.end(), m.learners.begin(), m.learners.end());
    for (node_id id : members) {
      sim_node* n = find(id);
      if (!n || n->destroyed) continue;  // removed, its removal still committing
      if (!n->up || n->sm.applied_index() != target || n->sm.state_hash() != hash) {
        why = "member n" + std::to_string(id) + " has applied " +
              (n->up ? std::to_string(n->sm.applied_index()) : std::string("nothing (down)")) + " of " +
              std::to_string(target);
        return false;
      }
    }
    return true;
  }

  void trace_status() {
    if (!opts.verbose) return;
    for (const auto& [id, n] : nodes) {
      if (!n.up) {
        trace("  n%llu %s", static_cast<unsigned long long>(id), n.destroyed ? "destroyed" : "down");
        continue;
      }
      const raft_node& r = *n.raft;
      std::string members;
      for (node_id v : r.membership().voters) members += " v" + std::to_string(v);
      for (node_id v : r.membership().learners) members += " l" + std::to_string(v);
      trace("  n%llu %s term %llu lead %llu commit %llu applied %llu last %llu snap %llu members{%s }",
            static_cast<unsigned long long>(id), std::string(consensus::to_string(r.role())).c_str(),
            static_cast<unsigned long long>(r.term()), static_cast<unsigned long long>(r.leader()),
            static_cast<unsigned long long>(r.commit_index()), static_cast<unsigned long long>(r.applied_index()),
            static_cast<unsigned long long>(r.last_index()), static_cast<unsigned long long>(r.snapshot_metadata().index),
            members.c_str());
    }
  }

  // The leader keeps resending one chunk at offset X of snapshot s while the follower keeps
  // acknowledging a shorter prefix Y < X of the same s: the leader believes the follower holds
  // more than it does and never goes back (fixed core bug, README.md; diagnostic only).
  std::string snapshot_livelock_signature() const {
    for (const auto& [link, c] : last_chunk) {
      auto it = last_snap_response.find({link.second, link.first});
      if (it == last_snap_response.end()) continue;
      const snap_msg& r = it->second;
      if (c.at + 100 >= now && r.at + 100 >= now && r.snap == c.snap && !r.reject && r.offset < c.offset) {
        return std::string(" ") + snapshot_livelock_tag + " n" + std::to_string(link.first) + " resends offset " +
               std::to_string(c.offset) + " of snapshot " + std::to_string(c.snap) + " to n" +
               std::to_string(link.second) + ", which acknowledges " + std::to_string(r.offset);
      }
    }
    return {};
  }

  sim_result finish() {
    if (!failed) {
      random_faults = false;
      partitions.clear();
      net.heal_all();
      auto& f = net.faults();
      f.loss_per_million = 0;
      f.duplicate_per_million = 0;
      f.long_delay_per_million = 0;
      for (auto& [id, n] : nodes)
        if (!n.up && !n.destroyed) restart_node(n);
      for (auto& c : clients) c.pinned.clear();
      trace("HEAL: all faults stopped; liveness bound %llu ms", static_cast<unsigned long long>(opts.liveness_bound_ms));
      trace_status();
    }
    // Liveness probe: a fresh client writes once; it must be acknowledged within the bound.
    workload_open = false;
    size_t probe = clients.size();
    if (!failed) {
      sim_client c;
      c.id = client_endpoint_base + clients.size();
      clients.push_back(c);
      workload_open = true;
      clients.back().ops_issued = 0;
      // Only the probe issues new operations from here on.
      for (size_t i = 0; i < probe; ++i) clients[i].stopped = true;
      clients.back().next_op_at = now;
    }
    const sim_time heal_at = now;
    std::string why;
    bool live = false;
    while (!failed && now < heal_at + opts.liveness_bound_ms) {
      step_ms();
      if (clients.size() > probe && clients[probe].acked > 0) workload_open = false;
      if (!workload_open && (now - heal_at) % 10 == 0 && converged(why)) {
        live = true;
        break;
      }
    }
    if (!failed && !live) {
      if (why.empty()) converged(why);
      if (clients.size() > probe && clients[probe].acked == 0) why = "no new entry committed (probe write unanswered); " + why;
      trace_status();
      fail("liveness: " + std::to_string(opts.liveness_bound_ms) + " ms after healing the cluster has not converged: " + why +
           snapshot_livelock_signature());
    }
    if (!failed && opts.ledger) {
      // Deep invariants (ledger::check_invariants, O(state)) once per replica at the end; the
      // cheap conservation oracle ran after every entry.
      for (auto& [id, n] : nodes) {
        if (!n.up || !n.sm.has_ledger()) continue;
        const std::string problem = n.sm.ledger_part()->deep_check();
        if (!problem.empty()) fail("ledger invariant broken on node " + std::to_string(id) + " at the end: " + problem);
      }
    }
    if (!failed) {
      linearizability_limits limits;
      const auto lr = check_linearizability(history, 0, limits);
      stats.linearizability_steps = lr.search_steps;
      if (lr.verdict == linearizability_verdict::not_linearizable) {
        fail("client history is not linearizable: " + lr.explanation);
      } else if (lr.verdict == linearizability_verdict::budget_exceeded) {
        // An unfinished search proves nothing: a failure, not a pass (issue 11 §2).
        stats.linearizability_budget_exceeded = true;
        fail("linearizability search ran out of budget (" + lr.explanation + "); the history is unchecked");
      }
    }
    const auto& ns = net;
    stats.messages_lost = ns.dropped_loss() + ns.dropped_partition();
    stats.messages_duplicated = ns.duplicated();
    sim_result res;
    res.ok = !failed;
    res.failure = failure;
    res.stats = stats;
    return res;
  }
};

bool send_while_persist_selected(const sim_options& opts) {
  switch (opts.send_while_persist) {
    case send_while_persist_mode::never: return false;
    case send_while_persist_mode::always: return true;
    case send_while_persist_mode::by_seed: {
      uint64_t x = opts.seed ^ 0x73776970ULL;
      return splitmix64(x) % 100 < 30;
    }
  }
  return false;
}

bool fault_selected(fault_mode mode, uint64_t seed, uint64_t salt, uint64_t percent) {
  switch (mode) {
    case fault_mode::never: return false;
    case fault_mode::always: return true;
    case fault_mode::by_seed: {
      uint64_t x = seed ^ salt;
      return splitmix64(x) % 100 < percent;
    }
  }
  return false;
}
bool corrupt_messages_selected(const sim_options& opts) {
  return fault_selected(opts.corrupt_messages, opts.seed, 0x636f7272757074ULL, 20);
}
bool removed_live_on_selected(const sim_options& opts) {
  return fault_selected(opts.removed_nodes_live_on, opts.seed, 0x6c6976656f6eULL, 30);
}
bool disk_faults_selected(const sim_options& opts) {
  return fault_selected(opts.disk_faults, opts.seed, 0x6469736bULL, 20);
}

std::string replay_command(const sim_options& opts) {
  if (!opts.random_faults) {
    return "scripted scenario (seed " + std::to_string(opts.seed) +
           "): rerun its gtest case; set sim_options::verbose for a trace";
  }
  std::string cmd = "build/release/tests/consensus_sim/raft_sim --seed " + std::to_string(opts.seed) +
                    " --nodes " + std::to_string(opts.nodes) + " --steps " + std::to_string(opts.steps);
  if (opts.clients != sim_options{}.clients) cmd += " --clients " + std::to_string(opts.clients);
  if (opts.lying_fsync) cmd += " --lying-fsync";
  if (opts.ledger) cmd += " --ledger";
  if (send_while_persist_selected(opts)) cmd += " --send-while-persist";
  if (corrupt_messages_selected(opts)) cmd += " --corrupt-messages";
  if (removed_live_on_selected(opts)) cmd += " --removed-live-on";
  if (disk_faults_selected(opts)) cmd += " --disk-faults";
  if (opts.uncapped_workload) cmd += " --uncapped";
  if (opts.bootstrap_in_memory) cmd += " --bootstrap-in-memory";
  if (opts.restart_snapshot == restart_snapshot_mode::meta_only) cmd += " --restart-meta-only";
  if (opts.restart_snapshot == restart_snapshot_mode::with_data) cmd += " --restart-with-data";
  return cmd + " --verbose";
}

void install_abort_reporter() { std::signal(SIGABRT, on_abort); }

simulation::simulation(sim_options opts) : s_(std::make_unique<state>(opts)) {
  const std::string line = replay_command(opts);
  std::snprintf(g_replay_line, sizeof(g_replay_line), "%s", line.c_str());
  s_->setup();
}
simulation::~simulation() = default;

sim_result simulation::run() {
  s_->run_for(s_->opts.steps);
  return s_->finish();
}
sim_result simulation::finish() { return s_->finish(); }
void simulation::run_for(sim_time ms) { s_->run_for(ms); }
sim_time simulation::now() const { return s_->now; }
void simulation::crash(node_id id) {
  if (auto* n = s_->find(id)) s_->crash_node(*n);
}
void simulation::restart(node_id id) {
  if (auto* n = s_->find(id)) s_->restart_node(*n);
}
void simulation::block(endpoint_id from, endpoint_id to) { s_->net.block(from, to); }
void simulation::isolate(endpoint_id id, const std::set<endpoint_id>& except) {
  for (endpoint_id e : s_->all_endpoints()) {
    if (e == id || except.count(e)) continue;
    s_->net.block(id, e);
    s_->net.block(e, id);
  }
}
void simulation::heal_network() {
  s_->partitions.clear();
  s_->net.heal_all();
}
node_id simulation::add_empty_node() { return s_->create_node().id; }
bool simulation::propose_config_change(consensus::config_change change) {
  const auto lid = s_->current_leader();
  if (!lid) return false;
  const auto res = s_->nodes[*lid].raft->propose_config_change(change);
  s_->trace("n%llu scripted config change %d n%llu: %s", static_cast<unsigned long long>(*lid),
            static_cast<int>(change.type), static_cast<unsigned long long>(change.node),
            res ? "appended" : std::string(consensus::to_string(res.error().code)).c_str());
  return res.has_value();
}
void simulation::pin_client(size_t i, std::set<node_id> ids) { s_->clients.at(i).pinned = std::move(ids); }
endpoint_id simulation::client_endpoint(size_t i) const { return s_->clients.at(i).id; }
uint64_t simulation::acked_ops_of_client(size_t i) const { return s_->clients.at(i).acked; }
std::vector<node_id> simulation::node_ids() const { return s_->live_ids(); }
std::optional<node_id> simulation::leader() const { return s_->current_leader(); }
const raft_node* simulation::node(node_id id) const {
  auto it = s_->nodes.find(id);
  if (it == s_->nodes.end() || !it->second.up) return nullptr;
  return &*it->second.raft;
}
bool simulation::failed() const { return s_->failed; }
const std::string& simulation::failure() const { return s_->failure; }
const sim_stats& simulation::stats() const { return s_->stats; }

}  // namespace energo::sim
