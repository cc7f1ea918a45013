// The apply actor: owns the ledger. Applies committed entries in order and answers the clients
// waiting for a command. Its state is durable through the Raft log (as in etcd and LogCabin): the
// ledger image, the outcome cache (as a difference), the registry, the checkpoint book and the
// analytics index are written, with the applied index, in ONE synced RocksDB batch only at
// *durable points* - when a snapshot is due (every N entries), after durable_commands_max
// commands, at a snapshot install and at a clean stop - never per delivery: the cost of an applied command is O(its
// changes), not O(state). Runs detached: its batches are synced (fsync) and encoding the image is
// O(state); neither may block a scheduler thread.
//
// Why answering before the durable point is safe: an entry is delivered only once committed, i.e.
// durable in the Raft log of a majority, and this node's own log holds it (raft persists before it
// delivers). The log is compacted only up to a snapshot, which is taken only at a durable point,
// so every entry above the durable applied index stays in the log; after a crash raft restarts
// with config.applied = the durable applied index and re-delivers every committed entry above it,
// and applying is deterministic (same entries, same state root, same outcomes).
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <deque>
#include <unordered_map>
#include <map>
#include <memory>
#include <set>

#include <caf/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/analytics.hpp"
#include "actors/durable_writer.hpp"
#include "actors/messages.hpp"
#include "actors/outcome_shadow.hpp"
#include "actors/query.hpp"
#include "actors/restore.hpp"
#include "actors/state_codec.hpp"
#include "crypto/hash.hpp"
#include "actors/membership.hpp"
#include "net/qtum/tx.hpp"

#include <functional>
#include <nlohmann/json.hpp>

namespace energo::actors {

namespace cs = energo::consensus;
namespace st = energo::storage;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view ledger_key = "ledger";
constexpr std::string_view analytics_key = "analytics";  // the analytics index (actors/analytics.hpp)
constexpr std::string_view members_key = "members";  // the member registry (actors/membership.hpp)
constexpr std::string_view outcome_prefix = "o/";
// Checkpoints on Qtum (checkpoint_state.hpp): the replicated book, and - local to each replica,
// not in the node image - the ledger image at each of the latest marks, for balance proofs.
constexpr std::string_view checkpoints_key = "checkpoints";
constexpr std::string_view checkpoint_image_prefix = "cpimg/";
constexpr std::size_t waiting_hashes_max = 65536;  // distinct commands waiting for their outcome
constexpr std::size_t pending_reads_max = 4096;
constexpr std::size_t roots_kept = 1024;           // (index, state root) published, most recent
// A durable point is forced once this many client commands were applied since the last one, even
// if no snapshot is due: with snapshot_every_entries it bounds the log a restart re-applies. The
// image is O(state) (accounts + the whole book), so a durable point costs O(state) once per this
// many commands at most: O(changes) amortised.
constexpr uint64_t durable_commands_max = 100'000;
// ... and once the entries applied since the last one hold this many bytes: raft keeps its log in
// memory up to the snapshot that a durable point allows, so this bounds that memory whatever the
// entries' sizes (snapshot_every_entries bounds their number).
constexpr uint64_t durable_log_bytes_max = 64u << 20;
// ... and once this many state writes wait (registry, checkpoint book and mark images): they are
// held in memory until then. Outcomes are not among them: a durable point writes the difference
// between the outcome cache and the one last made durable (at most 2 x outcome_cache_entries_max).
constexpr std::size_t pending_writes_max = 4096;

using flush_atom = caf::atom_constant<caf::atom("flush")>;      // private: send buffered proposals
// private: durable_writer -> apply, uint64 index: the durable point at `index` is in RocksDB.
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
// Submissions buffered before one proposal message to raft (raft packs entries itself).
constexpr std::size_t proposal_batch_commands_max = 1024;

std::string outcome_key(const std::string& hash) { return std::string(outcome_prefix) + hash; }

std::string checkpoint_image_key(uint64_t index) {
  std::string k(checkpoint_image_prefix);
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((index >> (8 * i)) & 0xff));  // big-endian: sorted
  return k;
}

int64_t ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

// This thread's CPU time (µs) and minor page faults so far: a capture's log line says how much of
// its wall time was work, and how much waiting for a core or faulting pages in.
struct thread_usage {
  int64_t cpu_us = 0;
  int64_t minor_faults = 0;
};
thread_usage thread_usage_now() {
  thread_usage u;
  timespec ts{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) u.cpu_us = ts.tv_sec * 1'000'000 + ts.tv_nsec / 1000;
  rusage ru{};
  if (::getrusage(RUSAGE_THREAD, &ru) == 0) u.minor_faults = ru.ru_minflt;
  return u;
}

// What the waiters of a proposal raft refused hear (code: raft's client_errc, leader: its hint).
net::client_response proposal_refused(uint16_t code, uint64_t leader) {
  return net::client_response::refused(static_cast<net::client_errc>(code),
                                       code == static_cast<uint16_t>(net::client_errc::no_leader)
                                           ? "no leader known (election in progress); retry"
                                           : "proposal refused; retry",
                                       leader);
}

[[noreturn]] void fatal(const std::string& what) {
  spdlog::critical("apply: {}; stopping (exit 5)", what);
  spdlog::shutdown();
  std::_Exit(5);
}

}  // namespace

struct apply_state {
  ctx_ptr ctx;
  raft_actor raft;
  peer_broker_actor peers;
  std::optional<ledger::ledger> led;
  std::optional<analytics_index> analytics;  // derived from the applied commands; persisted with the ledger
  member_registry registry;
  checkpoint_book book;
  std::deque<uint64_t> checkpoint_images;  // indexes with a ledger image kept (oldest first)
  uint64_t applied = 0;          // in memory: reads, answers and status see this
  uint64_t durable_applied = 0;  // in RocksDB with the ledger image (the last durable point)
  uint64_t captured_applied = 0; // the last durable point handed to the writer (>= durable_applied)
  std::unique_ptr<durable_writer> writer;  // writes durable points off this thread
  // Of the durable point in the writer (for its log line). `encoded` is filled on the writer
  // thread; read here after its persisted message (the writer's mutex and the mailbox order it).
  struct encode_info {
    int64_t encode_ms = 0;
    int64_t ahead_ms = 0;  // the shadow's reserve_ahead, after the encoding
    std::size_t image_bytes = 0;
    std::size_t writes = 0;
  };
  struct capture_info {
    clock_type::time_point started;
    int64_t capture_ms = 0;  // on the apply thread: the small writes and the copies
    int64_t outcomes_ms = 0;  // of which the outcome difference
    int64_t ledger_ms = 0;    // and the ledger's copy
    int64_t cpu_ms = 0;       // CPU time of the apply thread during the capture
    int64_t minor_faults = 0; // page faults during the capture
    std::shared_ptr<encode_info> encoded = std::make_shared<encode_info>();
  } capture;
  // The ledger and analytics index as of the last captured durable point, encoded by the writer
  // thread (capture_durable_batch); kept between durable points so that the next capture reuses
  // its buffers. Costs one more copy of the state in memory.
  struct shadow_state {
    ledger::ledger led;
    analytics_index analytics;
  };
  std::shared_ptr<shadow_state> shadow;
  uint64_t last_snapshot_index = 0;
  std::string root;         // state root at `root_index` (computed when asked: root_at_applied)
  uint64_t root_index = 0;
  std::vector<st::state_write> pending_writes;  // registry, book, mark images not yet persisted, in order
  // The outcome cache for the durable writer (actors/outcome_shadow.hpp): copied at each capture;
  // its difference against the last durable point is computed by whoever runs the batch's
  // `finish` (the writer thread, or this thread while the writer is idle).
  std::shared_ptr<outcome_shadow> outcome_copy = std::make_shared<outcome_shadow>();
  uint64_t commands_since_durable = 0;
  uint64_t log_bytes_since_durable = 0;  // entry data applied since the last captured durable point
  // Entries counted as applied towards the first snapshot after start or an install (stagger_durable_points).
  uint64_t durable_entries_credit = 0;
  // New submissions not yet sent to raft: one propose message per group of them (the flush
  // message queues behind the submissions already waiting), not one per command.
  std::vector<std::string> outgoing_hashes;
  std::vector<std::string> outgoing_commands;
  bool flush_scheduled = false;
  std::deque<std::pair<uint64_t, std::string>> roots;
  // outcome cache, in log order (eviction order is the same on every replica)
  std::unordered_map<std::string, stored_outcome> outcomes;
  std::deque<std::string> outcome_order;
  struct waiter {
    caf::response_promise promise;
    clock_type::time_point deadline;
    clock_type::time_point registered;  // proposal-to-apply latency (actors/metrics.hpp)
  };
  std::map<std::string, std::vector<waiter>> waiters;
  struct pending_read {
    uint64_t index;
    address_bytes address;
    caf::response_promise promise;
    clock_type::time_point deadline;
    std::string query_name;    // empty: an account read; else a named query (actors/query.hpp)
    std::string query_params;
  };
  std::vector<pending_read> reads;
  // Event stream and trade metrics: the book's next trade id and prices last seen.
  uint64_t next_trade_id = 0;
  int64_t last_price = -1, buy_price = -1, sell_price = -1;
  // `snapshot save` (query "node_image"): one encoded image served in chunks; a new save replaces it.
  std::string image_cache;
  uint64_t image_cache_index = 0;
  static inline const char* name = "apply";
};

namespace {

// The public interface (messages.hpp), the wiring message and the private messages (its own and
// the durable writer's).
using apply_self_actor = apply_wired_actor::extend<caf::reacts_to<flush_atom>, caf::reacts_to<timer_atom>,
                                                   caf::reacts_to<persisted_atom, uint64_t>>;
using self_ptr = apply_self_actor::stateful_pointer<apply_state>;

// The state root at the applied index (incremental: the ledger rehashes only dirty leaves), kept
// per index so status polls between deliveries cost nothing.
const std::string& root_at_applied(apply_state& s) {
  if (s.root.empty() || s.root_index != s.applied) {
    const auto r = s.led->state_root();
    s.root.assign(reinterpret_cast<const char*>(r.data()), r.size());
    s.root_index = s.applied;
    s.roots.emplace_back(s.applied, s.root);
    while (s.roots.size() > roots_kept) s.roots.pop_front();
  }
  return s.root;
}

net::command_outcome to_outcome(uint64_t index, const ledger::result<ledger::apply_outcome>& r) {
  net::command_outcome o;
  o.index = index;
  if (!r) {
    o.accepted = false;
    o.code = static_cast<uint16_t>(r.error().code);
    o.code_name = std::string(ledger::errc_name(r.error().code));
    o.message = r.error().message.substr(0, limits::outcome_message_bytes_max);
    return o;
  }
  o.accepted = true;
  o.minted_wh = r->minted_wh;
  o.burned_wh = r->burned_wh;
  o.fees_units = r->fees_units;
  o.order_id = r->order_id;
  o.filled_wh = r->filled_wh;
  o.trades = r->trades;
  o.session_id = r->session_id;
  o.created_account = r->created_account;
  o.epochs_closed = r->epochs_closed;
  return o;
}

// The node image at s.applied (a follower's snapshot data, `snapshot save`).
node_image make_image(const apply_state& s) {
  node_image img;
  img.applied_index = s.applied;
  const auto bytes = s.led->snapshot();
  img.ledger_bytes.assign(bytes.begin(), bytes.end());
  for (const auto& h : s.outcome_order) img.outcomes.emplace_back(h, s.outcomes.at(h));
  img.registry_bytes = encode_registry(s.registry);
  img.checkpoint_bytes = encode_book(s.book);
  img.analytics_bytes = s.analytics->encode();
  return img;
}

void answer(apply_state& s, const std::string& hash, const stored_outcome& o, bool duplicate) {
  auto it = s.waiters.find(hash);
  if (it == s.waiters.end()) return;
  net::client_response r;
  r.what = net::client_response::kind::outcome;
  r.outcome = o.outcome;
  r.outcome.duplicate = duplicate;
  const auto now = clock_type::now();
  for (auto& w : it->second) {
    if (!duplicate) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - w.registered).count();
      s.ctx->metrics->proposal_to_apply.observe_ms(static_cast<uint64_t>(std::max<int64_t>(0, ms)));
    }
    w.promise.deliver(r);
  }
  s.waiters.erase(it);
}

net::client_response account_response(const apply_state& s, const address_bytes& address) {
  net::client_response r;
  r.what = net::client_response::kind::account;
  r.account.applied_index = s.applied;
  if (const auto* a = s.led->find_account(address)) {
    r.account.found = true;
    r.account.tsl_units = a->tsl_units;
    r.account.watt_wh = a->watt_wh;
    r.account.nonce = a->nonce;
    r.account.fee_debt_units = a->fee_debt_units;
  }
  return r;
}


// The node image (the data of a Raft snapshot) in chunks of image_chunk_bytes, hex in JSON, for
// `energoctl snapshot save` (docs/node.md "Backup"). Offset 0 encodes a fresh image at the applied
// index and keeps it; later chunks name that index, so a save never mixes two states.
net::client_response image_chunk_response(apply_state& s, std::string_view params_text) {
  const auto params = nlohmann::json::parse(params_text, nullptr, false);
  if (params.is_discarded() || !params.is_object() || !params.contains("offset") || !params["offset"].is_number_unsigned())
    return net::client_response::refused(net::client_errc::malformed, "node_image needs {\"offset\": N[, \"applied_index\": I]}");
  const uint64_t offset = params["offset"].get<uint64_t>();
  if (offset == 0) {
    s.image_cache = encode_image(make_image(s));
    s.image_cache_index = s.applied;
  } else if (!params.contains("applied_index") || !params["applied_index"].is_number_unsigned() ||
             params["applied_index"].get<uint64_t>() != s.image_cache_index || s.image_cache.empty()) {
    return net::client_response::refused(net::client_errc::malformed, "the image being saved was replaced (another save started); start again");
  }
  if (offset > s.image_cache.size()) return net::client_response::refused(net::client_errc::malformed, "offset beyond the image");
  const auto n = std::min<std::size_t>(limits::image_chunk_bytes, s.image_cache.size() - offset);
  nlohmann::json j;
  j["applied_index"] = s.image_cache_index;
  j["total_bytes"] = s.image_cache.size();
  j["offset"] = offset;
  j["data"] = crypto::to_hex(crypto::as_bytes(std::string_view(s.image_cache).substr(offset, n)));
  if (offset == 0) j["sha256"] = crypto::to_hex(crypto::sha256(crypto::as_bytes(s.image_cache)));
  if (offset + n == s.image_cache.size()) {  // the last chunk: release the copy
    s.image_cache.clear();
    s.image_cache.shrink_to_fit();
  }
  net::client_response r;
  r.what = net::client_response::kind::query;
  r.text = j.dump();
  return r;
}

net::client_response query_response(apply_state& s, std::string_view name, std::string_view params) {
  if (name == "node_image") return image_chunk_response(s, params);
  const auto a = run_query(query_context{*s.led, s.applied, &*s.led, &*s.analytics}, name, params);
  if (!a.ok) return net::client_response::refused(a.code, a.text);
  net::client_response r;
  r.what = net::client_response::kind::query;
  r.text = a.text;
  return r;
}

void serve_reads(apply_state& s) {
  for (auto it = s.reads.begin(); it != s.reads.end();) {
    if (it->index <= s.applied) {
      it->promise.deliver(it->query_name.empty() ? account_response(s, it->address)
                                                 : query_response(s, it->query_name, it->query_params));
      it = s.reads.erase(it);
    } else {
      ++it;
    }
  }
}

void count_outcome(node_metrics& m, const ledger::result<ledger::apply_outcome>& r) {
  constexpr auto relaxed = std::memory_order_relaxed;
  m.apply_commands_total.fetch_add(1, relaxed);
  if (!r) {
    m.apply_commands_refused_total.fetch_add(1, relaxed);
    return;
  }
  auto add = [](node_metrics::counter& c, int64_t v) {
    if (v > 0) c.fetch_add(static_cast<uint64_t>(v), relaxed);
  };
  add(m.apply_fees_units_total, r->fees_units);
  add(m.apply_minted_wh_total, r->minted_wh);
  add(m.apply_burned_wh_total, r->burned_wh);
}

void update_gauges(const apply_state& s) {
  auto& m = *s.ctx->metrics;
  constexpr auto relaxed = std::memory_order_relaxed;
  m.apply_applied_index.store(static_cast<int64_t>(s.applied), relaxed);
  m.apply_durable_index.store(static_cast<int64_t>(s.durable_applied), relaxed);
  m.apply_waiting_commands.store(static_cast<int64_t>(s.waiters.size()), relaxed);
  m.apply_pending_reads.store(static_cast<int64_t>(s.reads.size()), relaxed);
  m.apply_outgoing_proposals.store(static_cast<int64_t>(s.outgoing_commands.size()), relaxed);
}

// After a delivery: trade metrics and the event stream (actors/event_hub.hpp): new trades (read
// from the book's ring by trade id), changed prices, then the applied index. Never blocks: the
// hub drops a subscriber that falls behind.
void publish_events(apply_state& s, uint64_t commands) {
  auto& m = *s.ctx->metrics;
  auto& hub = *s.ctx->events;
  const bool listening = hub.subscribers() > 0;
  std::size_t dropped = 0;  // subscribers that fell behind
  const auto& book = s.led->book();
  const uint64_t next = book.next_trade_id();
  if (s.next_trade_id == 0) s.next_trade_id = next;  // first delivery after start: nothing is new
  if (next > s.next_trade_id) {
    m.apply_trades_total.fetch_add(next - s.next_trade_id, std::memory_order_relaxed);
    // The ring keeps the last trade_ring_max trades: a delivery with more loses the oldest ones
    // for volume (the count above stays exact).
    for (const auto& t : book.recent_trades()) {
      if (t.id < s.next_trade_id) continue;
      if (t.quantity_wh > 0) m.apply_traded_wh_total.fetch_add(static_cast<uint64_t>(t.quantity_wh), std::memory_order_relaxed);
      if (t.notional_units > 0) m.apply_traded_units_total.fetch_add(static_cast<uint64_t>(t.notional_units), std::memory_order_relaxed);
      if (!listening) continue;
      nlohmann::json j;
      j["id"] = t.id;
      j["epoch"] = t.epoch;
      j["buy_order"] = t.buy_order;
      j["sell_order"] = t.sell_order;
      j["price_units_per_wh"] = t.price_units_per_wh;
      j["quantity_wh"] = t.quantity_wh;
      j["notional_units"] = t.notional_units;
      j["applied_index"] = s.applied;
      dropped += hub.publish("trade", j.dump());
    }
    s.next_trade_id = next;
  }
  if (!listening) return;
  int64_t last_price = 0;
  if (const auto e = book.epochs(); !e.empty()) last_price = e.back().last_price_units_per_wh;
  const int64_t buy = book.buy_price(), sell = book.sell_price();
  if (last_price != s.last_price || buy != s.buy_price || sell != s.sell_price) {
    nlohmann::json j;
    j["last_price_units_per_wh"] = last_price;
    j["buy_price_units_per_wh"] = buy;
    j["sell_price_units_per_wh"] = sell;
    j["epoch"] = s.led->epoch();
    j["applied_index"] = s.applied;
    dropped += hub.publish("price", j.dump());
    s.last_price = last_price, s.buy_price = buy, s.sell_price = sell;
  }
  nlohmann::json j;
  j["applied_index"] = s.applied;
  j["commands"] = commands;
  j["ledger_time_ms"] = s.led->time_ms();
  j["epoch"] = s.led->epoch();
  dropped += hub.publish("applied", j.dump());
  if (dropped > 0) m.http_event_subscribers_dropped_total.fetch_add(dropped, std::memory_order_relaxed);
}

// A durable point's batch as of s.applied: the pending writes (registry, checkpoint book and
// images, in order), then the outcome difference, then - appended by `finish` - the ledger image
// and the analytics index. What is captured must be one state, so it is taken here, on the apply
// thread; the image is O(state) to encode (10.8 MB, 70-340 ms with 4,096 accounts and a full
// book: the open-loop p99 at 2,000 orders/s), so this thread only copies the ledger and the index
// (into s.shadow) and `finish` encodes the copies, on the writer thread.
struct durable_capture {
  std::vector<st::state_write> writes;
  durable_writer::finish_fn finish;
};

durable_capture capture_durable_batch(apply_state& s) {
  durable_capture c;
  auto& writes = c.writes;
  writes = std::move(s.pending_writes);
  s.pending_writes.clear();
  // The outcome cache is copied here (one lookup per entry, no allocation once the copy's strings
  // have their sizes); its difference against the last durable point - two lookups per entry, an
  // encoding per changed one, 15-90 ms on the apply thread of a loaded EPYC VM - is `finish`'s.
  auto& oc = *s.outcome_copy;
  oc.current.resize(s.outcome_order.size());
  std::size_t at = 0;
  for (const auto& h : s.outcome_order) {
    auto& slot = oc.current[at++];
    slot.first = h;
    slot.second = s.outcomes.at(h);
  }
  s.capture.outcomes_ms = ms_since(s.capture.started);
  s.capture.encoded = std::make_shared<apply_state::encode_info>();
  // Copy-assigned into the shadow of the last durable point: its vectors keep their capacity, so
  // the copy is a memcpy of warm pages (bench/ledger_bench BM_durable_capture: 6.7 ms for a book of
  // 100,000 orders, against 26 ms for a fresh copy and 85 ms to encode). The writer is idle here
  // (one batch in flight at a time), so nothing reads the shadow while it is assigned.
  if (!s.shadow) {
    s.shadow = std::make_shared<apply_state::shadow_state>(apply_state::shadow_state{*s.led, *s.analytics});
  } else {
    const auto t0 = clock_type::now();
    s.shadow->led.assign_reusing_memory(*s.led);  // the book's tables grow with the live one's
    s.capture.ledger_ms = ms_since(t0);
    s.shadow->analytics = *s.analytics;
  }
  c.finish = [shadow = s.shadow, outcomes = s.outcome_copy,
              info = s.capture.encoded](std::vector<st::state_write>& w) {
    const auto t0 = clock_type::now();
    outcome_difference(*outcomes, w, [](const std::string& h) { return outcome_key(h); });
    info->writes = w.size() + 2;
    const auto image = shadow->led.snapshot();
    // Staged (node_store.hpp "Staged values"): written in synced 1 MiB chunks before the batch
    // that refers to them, so that raft's appends never wait behind these ~11 MB in the WAL.
    w.push_back({std::string(ledger_key), std::string(image.begin(), image.end()), true});
    w.push_back({std::string(analytics_key), shadow->analytics.encode(), true});
    info->image_bytes = image.size();
    info->encode_ms = ms_since(t0);
    // The shadow is read by nothing until the next capture (the writer is busy until this batch is
    // written): its book gets room ahead of the live one's growth, resident, so that the next
    // capture's copy neither reallocates nor page-faults on the apply thread (a growing book's
    // capture took up to 160 ms there, ~3,000 faults on the loaded bench VM; bench/README.md).
    const auto t1 = clock_type::now();
    shadow->led.reserve_ahead();
    info->ahead_ms = ms_since(t1);
  };
  return c;
}

// The durable point at `index` is in RocksDB (from the writer, or written here). Only a persisted
// state may become a snapshot: raft compacts its log up to it.
void durable_done(self_ptr self, uint64_t index) {
  auto& s = self->state;
  if (index <= s.durable_applied) return;  // an install or a direct write got there first
  s.durable_applied = index;
  s.ctx->metrics->apply_durable_index.store(static_cast<int64_t>(s.durable_applied), std::memory_order_relaxed);
  spdlog::info("apply: durable at {} ({} image bytes, {} writes; captured in {} ms ({} ms of outcomes, {} ms "
               "of ledger copy; {} ms on a CPU, {} page faults), encoded in {} ms off the apply thread (+{} ms of room ahead), durable {} ms after)",
               index, s.capture.encoded->image_bytes, s.capture.encoded->writes, s.capture.capture_ms, s.capture.outcomes_ms,
               s.capture.ledger_ms, s.capture.cpu_ms, s.capture.minor_faults,
               s.capture.encoded->encode_ms, s.capture.encoded->ahead_ms, ms_since(s.capture.started));
  // Every durable point is a snapshot: raft's in-memory log then never holds more than one
  // durable interval (maybe_persist's bounds). A follower behind it gets the snapshot.
  s.last_snapshot_index = s.durable_applied;
  self->send(s.raft, snapshot_taken_atom::value, s.durable_applied);
}

enum class persist_mode {
  background,  // hand the batch to the writer; skipped while one is in flight (retried when it is done)
  now,         // written before returning: install, balance proofs, stop
};

// A durable point (actors/README.md "State durable through the Raft log").
void persist(self_ptr self, persist_mode mode) {
  auto& s = self->state;
  if (s.writer->busy()) {
    if (mode == persist_mode::background) return;
    s.writer->wait_idle();
  }
  durable_done(self, s.captured_applied);  // the writer's last batch, if its message is still queued
  if (s.applied == s.captured_applied) return;
  s.capture.started = clock_type::now();
  const auto usage0 = thread_usage_now();
  auto batch = capture_durable_batch(s);
  s.capture.capture_ms = ms_since(s.capture.started);
  const auto usage1 = thread_usage_now();
  s.capture.cpu_ms = (usage1.cpu_us - usage0.cpu_us) / 1000;
  s.capture.minor_faults = usage1.minor_faults - usage0.minor_faults;
  s.captured_applied = s.applied;
  s.commands_since_durable = 0;
  s.log_bytes_since_durable = 0;
  s.durable_entries_credit = 0;
  if (mode == persist_mode::background) {
    s.writer->submit(s.applied, std::move(batch.writes), std::move(batch.finish));
    return;
  }
  batch.finish(batch.writes);
  if (auto res = s.ctx->store->apply_batch(community_group, batch.writes, s.applied); !res) {
    fatal("apply_batch failed: " + res.error().message);
  }
  durable_done(self, s.applied);
}

// Every replica applies the same entries, so with the same bounds all of them would reach their
// durable points at the same index: all their synced image writes at once, each holding up the
// raft appends queued behind it in that node's WAL (a follower's append is how the leader
// commits), and - with the nodes sharing machines - all the encodings at once on the same cores.
// So each member starts its first interval (at start, after a snapshot install) part-way through,
// by its rank among the members over their number: with three members, durable points a third of
// an interval apart, and at most one member's appends slowed by one at a time. Later intervals
// are full, so the offsets stay. Only when a durable point falls: what is durable and when a
// snapshot may be taken are unchanged.
void stagger_durable_points(apply_state& s) {
  const auto& members = s.registry.members;
  const auto me = members.find(s.ctx->self);
  s.durable_entries_credit = 0;
  if (me == members.end() || members.size() < 2) return;
  const auto rank = static_cast<uint64_t>(std::distance(members.begin(), me));  // < members.size()
  const auto n = static_cast<uint64_t>(members.size());
  s.commands_since_durable = durable_commands_max / n * rank;
  s.log_bytes_since_durable = durable_log_bytes_max / n * rank;
  s.durable_entries_credit = s.ctx->snapshot_every_entries / n * rank;
  spdlog::info("apply: durable points staggered: member {} of {}, first interval {}/{} through", rank + 1, n, rank, n);
}

// A durable point when a snapshot is due (raft compacts on time) or the pending writes or
// commands reach their bound; otherwise the Raft log is what makes the applied entries durable
// (file comment). While the writer is busy the bounds may be exceeded until it is done, up to
// twice: then this thread waits for it.
void maybe_persist(self_ptr self) {
  auto& s = self->state;
  // The writer's last batch may be done with its message still queued: count it first, or the
  // snapshot it completes would look due still.
  if (!s.writer->busy()) durable_done(self, s.captured_applied);
  const bool due = s.pending_writes.size() >= pending_writes_max || s.commands_since_durable >= durable_commands_max ||
                   s.log_bytes_since_durable >= durable_log_bytes_max ||
                   s.applied + s.durable_entries_credit >= s.last_snapshot_index + s.ctx->snapshot_every_entries;
  if (!due) return;
  const bool overdue = s.pending_writes.size() >= 2 * pending_writes_max ||
                       s.commands_since_durable >= 2 * durable_commands_max ||
                       s.log_bytes_since_durable >= 2 * durable_log_bytes_max;
  persist(self, overdue ? persist_mode::now : persist_mode::background);
}

// Sends the buffered submissions to raft in one message; a refusal fails their waiters (the
// client retries the same bytes: a command applies at most once).
void flush_proposals(self_ptr self) {
  auto& s = self->state;
  s.flush_scheduled = false;
  if (s.outgoing_commands.empty()) return;
  auto hashes = std::move(s.outgoing_hashes);
  auto commands = std::move(s.outgoing_commands);
  s.outgoing_hashes.clear();
  s.outgoing_commands.clear();
  self->request(s.raft, caf::infinite, propose_atom::value, std::move(commands))
      .then([self, hashes = std::move(hashes)](uint16_t code, uint64_t leader) {
        if (code == 0) return;
        const auto r = proposal_refused(code, leader);
        for (const auto& hash : hashes) {
          auto w = self->state.waiters.find(hash);
          if (w == self->state.waiters.end()) continue;
          for (auto& x : w->second) x.promise.deliver(r);
          self->state.waiters.erase(w);
        }
      });
}

// The raft actor (reconciliation, member list) and the peer broker (admission, dialling) follow
// the registry as applied here.
void publish_registry(self_ptr self) {
  auto reg = std::make_shared<const member_registry>(self->state.registry);
  if (self->state.raft) self->send(self->state.raft, members_atom::value, reg);
  if (self->state.peers) self->send(self->state.peers, members_atom::value, reg);
}

net::command_outcome admin_outcome_of(uint64_t index, const admin_outcome& a) {
  net::command_outcome o;
  o.index = index;
  o.accepted = a.accepted();
  o.code_name = a.code;
  o.message = a.message.substr(0, limits::outcome_message_bytes_max);
  return o;
}

// Checkpoint entries (leader-only kinds 4-6). A mark records this replica's own root at the
// index (the root after every entry below it: a mark changes no ledger state) and keeps the
// ledger image there for proofs; intents and records are checked against that root.
void apply_checkpoint_entry(apply_state& s, const cs::entry& e, entry_kind kind) {
  auto& writes = s.pending_writes;
  if (kind == entry_kind::checkpoint_mark) {
    const auto root = s.led->state_root();
    apply_mark(s.book, e.index, root);
    const auto image = s.led->snapshot();
    writes.push_back({checkpoint_image_key(e.index), std::string(image.begin(), image.end())});
    s.checkpoint_images.push_back(e.index);
    while (s.checkpoint_images.size() > limits::checkpoint_images_kept_max) {
      writes.push_back({checkpoint_image_key(s.checkpoint_images.front()), std::nullopt});
      s.checkpoint_images.pop_front();
    }
    spdlog::info("apply: checkpoint mark at {}: root {}", e.index, crypto::to_hex(root));
    return;
  }
  if (kind == entry_kind::anchor_intent) {
    const auto intent = decode_intent_entry(e.data);
    const std::string why = intent ? apply_intent(s.book, *intent, s.ctx->cluster_id) : "malformed anchor intent";
    if (why.empty()) {
      spdlog::info("apply: anchor intent at {} for index {}: txid {}", e.index, intent->index, qtum::txid_hex(intent->txid));
    } else {
      spdlog::warn("apply: anchor intent at {} refused: {}", e.index, why);
    }
    return;
  }
  const auto record = decode_record_entry(e.data);
  const std::string why = record ? apply_record(s.book, *record) : "malformed anchor record";
  if (why.empty()) {
    spdlog::info("apply: anchor record at {}: index {} root {} txid {} block {} height {}", e.index, record->index,
                 crypto::to_hex(record->root), qtum::txid_hex(record->txid), block_hash_hex(record->block_hash),
                 record->height);
  } else {
    spdlog::warn("apply: anchor record at {} refused: {}", e.index, why);
  }
}

// A new outcome: cached (the oldest evicted beyond the bound, in log order: the same on every
// replica), noted for the next durable point, and given to the clients waiting for it.
void record_outcome(apply_state& s, std::string hash, stored_outcome so) {
  const auto& cached = s.outcomes.emplace(hash, std::move(so)).first->second;
  s.outcome_order.push_back(hash);
  answer(s, hash, cached, false);
  while (s.outcome_order.size() > limits::outcome_cache_entries_max) {
    s.outcomes.erase(s.outcome_order.front());
    s.outcome_order.pop_front();
  }
}

void apply_entries(self_ptr self, const std::vector<cs::entry>& entries) {
  auto& s = self->state;
  auto& writes = s.pending_writes;
  auto& metrics = *s.ctx->metrics;
  uint64_t last = s.applied;
  uint64_t commands_applied = 0;
  bool registry_changed = false;
  bool book_changed = false;
  for (const auto& e : entries) {
    if (e.index <= s.applied) continue;  // already in the durable state (restart re-delivers)
    if (e.index != last + 1) fatal("gap in committed entries: expected " + std::to_string(last + 1) + ", got " + std::to_string(e.index));
    last = e.index;
    s.log_bytes_since_durable += e.data.size();
    metrics.apply_entries_total.fetch_add(1, std::memory_order_relaxed);
    if (e.type != cs::entry_type::normal) continue;
    const auto kind = kind_of(e.data);
    if (kind == entry_kind::leader_tick) {
      // Appended by the leader's raft actor for its own clock only (forwarded ticks are refused).
      const auto t = decode_tick_entry(e.data);
      if (!t) {
        spdlog::error("apply: entry {} is a malformed tick; skipped", e.index);
        continue;
      }
      const int64_t time_before = s.led->time_ms();
      const uint64_t epoch_before = s.led->epoch();
      if (auto r = s.led->apply(ledger::command{ledger::tick{*t}, {}}); !r) {
        spdlog::debug("apply: tick {} at {} refused: {}", *t, e.index, r.error().message);
      } else {
        s.analytics->observe(*s.led, time_before, epoch_before, e.index);
      }
      continue;
    }
    if (kind == entry_kind::checkpoint_mark || kind == entry_kind::anchor_intent || kind == entry_kind::anchor_record) {
      apply_checkpoint_entry(s, e, *kind);
      book_changed = true;
      continue;
    }
    if (kind == entry_kind::admin_request) {
      const std::string_view request = std::string_view(e.data).substr(1);
      const auto h = crypto::sha256(crypto::as_bytes(request));
      std::string hash(reinterpret_cast<const char*>(h.data()), h.size());
      if (s.outcomes.count(hash) != 0) {
        answer(s, hash, s.outcomes.at(hash), true);
        continue;
      }
      admin_outcome a;
      const auto req = decode_admin_request(request);
      if (!req) {
        a = {"malformed", "membership request does not decode"};
      } else {
        a = apply_admin_request(s.registry, *req, s.ctx->genesis.admins, s.ctx->cluster_id, s.ctx->genesis_hash);
      }
      spdlog::info("apply: membership request {} at {}: {}", req ? std::string(to_string(req->op)) : "?", e.index,
                   a.accepted() ? "applied" : a.code + ": " + a.message);
      if (a.accepted()) {
        registry_changed = true;
        if (req->op == admin_op::transfer_leader) self->send(s.raft, transfer_to_atom::value, req->node, e.term);
      }
      record_outcome(s, std::move(hash), stored_outcome{e.index, 0, admin_outcome_of(e.index, a)});
      continue;
    }
    auto batch = kind == entry_kind::command_batch ? decode_command_batch(e.data) : std::nullopt;
    if (!batch) {
      spdlog::error("apply: entry {} is not a command batch; skipped", e.index);
      continue;
    }
    uint32_t position = 0;
    for (const auto& bytes : *batch) {
      auto cmd = ledger::decode(crypto::as_bytes(bytes));
      // A tick inside a command batch is never applied: ledger time moves only by leader ticks.
      const bool is_tick = cmd && std::holds_alternative<ledger::tick>(cmd->body);
      if (is_tick) {
        spdlog::warn("apply: entry {} carries a tick among client commands; not applied", e.index);
        ++position;
        continue;
      }
      const int64_t time_before = s.led->time_ms();
      const uint64_t epoch_before = s.led->epoch();
      ledger::result<ledger::apply_outcome> r =
          cmd ? s.led->apply(*cmd) : ledger::result<ledger::apply_outcome>{ledger::fail(cmd.error().code, cmd.error().message)};
      count_outcome(metrics, r);
      ++commands_applied;
      ++s.commands_since_durable;
      // A refusal may still consume a nonce (journal: the signer); figures only change on success.
      if (cmd && r) s.analytics->observe(*s.led, time_before, epoch_before, e.index, &*cmd);
      stored_outcome so{e.index, position++, to_outcome(e.index, r)};
      const auto h = crypto::sha256(crypto::as_bytes(bytes));
      std::string hash(reinterpret_cast<const char*>(h.data()), h.size());
      auto existing = s.outcomes.find(hash);
      if (existing != s.outcomes.end()) {
        answer(s, hash, existing->second, true);  // the same command again: its first outcome
        continue;
      }
      record_outcome(s, std::move(hash), std::move(so));
    }
  }
  if (last == s.applied) return;
  if (registry_changed) writes.push_back({std::string(members_key), encode_registry(s.registry)});
  if (book_changed) writes.push_back({std::string(checkpoints_key), encode_book(s.book)});
  s.applied = last;
  if (registry_changed) publish_registry(self);
  serve_reads(s);
  publish_events(s, commands_applied);
  update_gauges(s);
  maybe_persist(self);
}

// The ledger image is one state value and an image one snapshot blob: whatever image the codec
// accepts must be storable.
static_assert(limits::image_bytes_max <= st::limits::state_value_bytes_max &&
              limits::image_bytes_max <= st::limits::snapshot_bytes_max);

// The state keys an installed image replaces (install() and seed_restore() write the same set).
std::vector<st::state_write> image_state_writes(const node_image& img, const analytics_index& analytics,
                                                const member_registry& reg, const checkpoint_book& book) {
  std::vector<st::state_write> state;
  state.push_back({std::string(ledger_key), img.ledger_bytes});
  state.push_back({std::string(analytics_key), analytics.encode()});
  state.push_back({std::string(members_key), encode_registry(reg)});
  state.push_back({std::string(checkpoints_key), encode_book(book)});
  for (const auto& [hash, o] : img.outcomes) state.push_back({outcome_key(hash), encode_outcome(o)});
  return state;
}

bool install(self_ptr self, const cs::snapshot& snap) {
  auto& s = self->state;
  persist(self, persist_mode::now);  // earlier deliveries first (raft awaits them before installing)
  // Phase durations go to the log line below (bench/snapshot_transfer.sh reads them).
  const auto t_decode = clock_type::now();
  auto img = decode_image(snap.data);
  if (!img || img->applied_index != snap.meta.index) {
    spdlog::error("apply: snapshot at {} does not decode as a node image", snap.meta.index);
    return false;
  }
  auto led = ledger::ledger::restore(crypto::as_bytes(img->ledger_bytes));
  if (!led) {
    spdlog::error("apply: snapshot ledger does not restore: {}", led.error().message);
    return false;
  }
  auto reg = img->registry_bytes.empty() ? std::optional<member_registry>(s.ctx->initial_registry)
                                          : decode_registry(img->registry_bytes);
  if (!reg) {
    spdlog::error("apply: snapshot at {} holds a malformed member registry", snap.meta.index);
    return false;
  }
  auto book = img->checkpoint_bytes.empty() ? std::optional<checkpoint_book>(checkpoint_book{})
                                            : decode_book(img->checkpoint_bytes);
  if (!book) {
    spdlog::error("apply: snapshot at {} holds a malformed checkpoint book", snap.meta.index);
    return false;
  }
  // The analytics index is untrusted input like the rest of the image: decoded with its bounds; an
  // image without one (older node) or a malformed one starts a baseline at the snapshot's state.
  std::optional<analytics_index> analytics =
      img->analytics_bytes.empty() ? std::nullopt : analytics_index::decode(img->analytics_bytes);
  if (!analytics) {
    if (!img->analytics_bytes.empty()) spdlog::warn("apply: snapshot at {} holds a malformed analytics index; starting a baseline", snap.meta.index);
    analytics = analytics_index::starting_at(*led);
  }
  const auto decode_ms = ms_since(t_decode);
  const auto t_store = clock_type::now();
  const auto state = image_state_writes(*img, *analytics, *reg, *book);
  // The snapshot's meta only, not its data: the data is this state (written in the same batch),
  // as for the snapshots this node takes itself (raft_actor's snapshot_taken). After a restart
  // the raft core asks for a fresh image when a follower needs one. Storing the blob too wrote
  // the image twice (200 MB synced for a 100 MB ledger: half of a learner's catch-up time).
  if (auto res = s.ctx->store->install_snapshot(community_group, to_record(snap.meta, snap.data.size()), std::string_view{}, state,
                                                std::nullopt);
      !res) {
    spdlog::error("apply: install_snapshot: {}", res.error().message);
    return false;
  }
  s.led.emplace(std::move(*led));
  s.next_trade_id = 0;  // trades inside the snapshot are not this node's to count
  s.analytics = std::move(analytics);
  s.registry = std::move(*reg);
  s.book = std::move(*book);
  // The installed state replaced this replica's checkpoint images: proofs at older marks must be
  // asked of another node (docs/node.md "Balance proofs").
  s.checkpoint_images.clear();
  publish_registry(self);
  s.applied = snap.meta.index;
  s.durable_applied = snap.meta.index;
  s.captured_applied = snap.meta.index;
  s.last_snapshot_index = snap.meta.index;
  s.outcomes.clear();
  s.outcome_order.clear();
  for (auto& [hash, o] : img->outcomes) {
    s.outcome_order.push_back(hash);
    s.outcomes.emplace(hash, o);
  }
  s.outcome_copy->reset_durable(img->outcomes);  // the writer is idle (persist(now) above)
  stagger_durable_points(s);
  s.root.clear();  // another ledger: recompute even at an index seen before
  const auto store_ms = ms_since(t_store);
  const auto t_root = clock_type::now();
  const auto root = crypto::to_hex(crypto::as_bytes(root_at_applied(s)));
  serve_reads(s);
  spdlog::info("apply: installed snapshot at {}, root {} ({} bytes; decode and restore {} ms, store {} ms, root {} ms)", s.applied,
               root, snap.data.size(), decode_ms, store_ms, ms_since(t_root));
  return true;
}

// Loads the durable state (or the genesis state) at start.
void load(apply_state& s) {
  auto& store = *s.ctx->store;
  s.applied = store.applied_index(community_group);
  s.durable_applied = s.applied;
  s.captured_applied = s.applied;
  auto bytes = store.get_state(community_group, ledger_key);
  if (!bytes) fatal("read state: " + bytes.error().message);
  if (bytes->has_value()) {
    auto led = ledger::ledger::restore(crypto::as_bytes(**bytes));
    if (!led) fatal("stored ledger does not restore: " + led.error().message);
    s.led.emplace(std::move(*led));
  } else {
    if (s.applied != 0) fatal("applied index " + std::to_string(s.applied) + " but no ledger state");
    auto led = ledger::ledger::create(s.ctx->genesis);
    if (!led) fatal("genesis: " + led.error().message);
    s.led.emplace(std::move(*led));
  }
  auto stored_analytics = store.get_state(community_group, analytics_key);
  if (!stored_analytics) fatal("read analytics: " + stored_analytics.error().message);
  if (stored_analytics->has_value()) s.analytics = analytics_index::decode(**stored_analytics);
  if (!s.analytics) {
    if (stored_analytics->has_value()) spdlog::warn("apply: stored analytics index does not decode; starting a baseline");
    s.analytics = analytics_index::starting_at(*s.led);  // from genesis when the ledger is fresh
  }
  auto members = store.get_state(community_group, members_key);
  if (!members) fatal("read members: " + members.error().message);
  if (members->has_value()) {
    auto reg = decode_registry(**members);
    if (!reg) fatal("stored member registry does not decode");
    s.registry = std::move(*reg);
  } else {
    s.registry = s.ctx->initial_registry;  // the bootstrap voters (index 1)
  }
  auto book = store.get_state(community_group, checkpoints_key);
  if (!book) fatal("read checkpoints: " + book.error().message);
  if (book->has_value()) {
    auto b = decode_book(**book);
    if (!b) fatal("stored checkpoint book does not decode");
    s.book = std::move(*b);
  }
  auto images = store.scan_state(community_group, checkpoint_image_prefix, limits::checkpoint_images_kept_max + 1);
  if (!images) fatal("scan checkpoint images: " + images.error().message);
  for (const auto& [k, v] : *images) {
    if (k.rfind(checkpoint_image_prefix, 0) != 0 || k.size() != checkpoint_image_prefix.size() + 8) break;
    uint64_t index = 0;
    for (std::size_t i = checkpoint_image_prefix.size(); i < k.size(); ++i) index = (index << 8) | static_cast<uint8_t>(k[i]);
    s.checkpoint_images.push_back(index);
  }
  auto scanned = store.scan_state(community_group, outcome_prefix, limits::outcome_cache_entries_max + 1);
  if (!scanned) fatal("scan outcomes: " + scanned.error().message);
  std::vector<std::pair<std::string, stored_outcome>> list;
  for (auto& [k, v] : *scanned) {
    if (k.rfind(outcome_prefix, 0) != 0) break;
    auto o = decode_outcome(v);
    if (!o) fatal("stored outcome does not decode");
    list.emplace_back(k.substr(outcome_prefix.size()), *o);
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.index, a.second.position) < std::pair(b.second.index, b.second.position);
  });
  for (auto& [h, o] : list) {
    s.outcome_order.push_back(h);
    s.outcomes.emplace(h, o);
  }
  s.outcome_copy->reset_durable(list);  // what is stored: the next difference starts from it
  auto meta = store.snapshot_meta(community_group);
  if (meta && meta->has_value()) s.last_snapshot_index = (*meta)->index;
  stagger_durable_points(s);
  spdlog::info("apply: state at applied index {}, root {}", s.applied, crypto::to_hex(crypto::as_bytes(root_at_applied(s))));
}

// Registers the client as waiting for the outcome of `hash`, then proposes (once per distinct
// command: later submissions of the same bytes wait for the same outcome).
caf::result<net::client_response> wait_and_propose(self_ptr self, std::string hash, std::string command, bool admin) {
  auto& s = self->state;
    if (auto it = s.outcomes.find(hash); it != s.outcomes.end()) {
      net::client_response r;
      r.what = net::client_response::kind::outcome;
      r.outcome = it->second.outcome;
      r.outcome.duplicate = true;
      return r;
    }
    auto it = s.waiters.find(hash);
    if (it == s.waiters.end()) {
      if (s.waiters.size() >= waiting_hashes_max) return net::client_response::refused(net::client_errc::busy, "too many commands in flight; retry");
      it = s.waiters.emplace(hash, std::vector<apply_state::waiter>{}).first;
      // Registered before the proposal leaves: the outcome cannot arrive before its waiter.
      if (!admin) {
        // Commands go to raft in groups: one propose message per group, not one per command.
        s.outgoing_hashes.push_back(hash);
        s.outgoing_commands.push_back(std::move(command));
        if (s.outgoing_commands.size() >= proposal_batch_commands_max) {
          flush_proposals(self);
        } else if (!s.flush_scheduled) {
          s.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
      } else {
        self->request(s.raft, caf::infinite, propose_admin_atom::value, std::move(command))
          .then([self, hash](uint16_t code, uint64_t leader) {
            if (code == 0) return;
            auto w = self->state.waiters.find(hash);
            if (w == self->state.waiters.end()) return;
            const auto r = proposal_refused(code, leader);
            for (auto& x : w->second) x.promise.deliver(r);
            self->state.waiters.erase(w);
          });
      }
    }
    auto rp = self->make_response_promise();
    const auto now = clock_type::now();
    it->second.push_back({rp, now + std::chrono::milliseconds(s.ctx->submit_timeout_ms), now});
    update_gauges(s);
    return rp;
}

// A new Raft term (raft_actor.cpp): a proposal made before it and not applied yet may have been
// dropped with the old leader's uncommitted log, and nothing but the submit timeout would answer
// its clients. They get "outcome unknown, resubmit the same bytes" now; that is safe: the nonce
// applies a command at most once, and one that did commit answers the resubmission `duplicate`.
// Submissions still buffered here (not yet sent to raft) are not affected: they go out in the new
// term.
// The peer broker answers the same way for a forwarded proposal it had to drop (`hashes`).
void answer_lost_proposals(self_ptr self, const std::string& why, const std::vector<std::string>* hashes) {
  auto& s = self->state;
  if (s.waiters.empty()) return;
  const std::set<std::string> buffered(s.outgoing_hashes.begin(), s.outgoing_hashes.end());
  const auto r = net::client_response::refused(net::client_errc::timeout,
                         why + " before the command was applied; outcome unknown: resubmit the same signed command "
                               "(it applies at most once)");
  std::size_t answered = 0;
  auto answer_all = [&](std::map<std::string, std::vector<apply_state::waiter>>::iterator it) {
    for (auto& w : it->second) w.promise.deliver(r), ++answered;
    return s.waiters.erase(it);
  };
  if (hashes != nullptr) {
    for (const auto& h : *hashes) {
      if (auto it = s.waiters.find(h); it != s.waiters.end()) answer_all(it);
    }
  } else {
    for (auto it = s.waiters.begin(); it != s.waiters.end();) it = buffered.count(it->first) != 0 ? std::next(it) : answer_all(it);
  }
  if (answered > 0) spdlog::info("apply: {}: {} waiting submissions answered 'outcome unknown'", why, answered);
  update_gauges(s);
}

// JSON of the checkpoint book for `energoctl checkpoint list` (docs/node.md "Checkpoints on Qtum").
std::string checkpoint_list_json(const apply_state& s) {
  nlohmann::json j;
  j["cluster_id"] = s.ctx->cluster_id;
  j["applied_index"] = s.applied;
  auto anchors = nlohmann::json::array();
  for (const auto& a : s.book.anchors) {
    anchors.push_back({{"index", a.index}, {"root", crypto::to_hex(a.root)}, {"txid", qtum::txid_hex(a.txid)},
                       {"block_hash", block_hash_hex(a.block_hash)}, {"height", a.height}});
  }
  j["anchors"] = std::move(anchors);
  auto marks = nlohmann::json::array();
  for (const auto& [index, root] : s.book.marks) marks.push_back({{"index", index}, {"root", crypto::to_hex(root)}});
  j["marks"] = std::move(marks);
  j["in_flight"] = nullptr;
  if (s.book.intent) {
    j["in_flight"] = {{"index", s.book.intent->index}, {"txid", qtum::txid_hex(s.book.intent->txid)},
                      {"build_height", s.book.intent->build_height}};
  }
  j["service"] = s.ctx->checkpoint_stats ? s.ctx->checkpoint_stats->to_json() : nlohmann::json(nullptr);
  return j.dump();
}

// A balance proof at an anchored index (default: the latest), from the ledger image this replica
// kept at that mark. Errors are a JSON {"error": ...} so the client can print them.
std::string checkpoint_proof_json(self_ptr self, const address_bytes& address, uint64_t at) {
  auto& s = self->state;
  auto error = [](std::string m) { return nlohmann::json{{"error", std::move(m)}}.dump(); };
  if (s.book.anchors.empty()) return error("no confirmed anchor yet: a proof needs an anchored index");
  const uint64_t index = at == 0 ? s.book.anchors.back().index : at;
  const auto* anchor = s.book.find_anchor(index);
  if (!anchor) return error("index " + std::to_string(index) + " is not a confirmed anchor (see checkpoint list)");
  if (s.applied != s.durable_applied) persist(self, persist_mode::now);  // the image may still be pending
  auto bytes = s.ctx->store->get_state(community_group, checkpoint_image_key(index));
  if (!bytes) fatal("read checkpoint image: " + bytes.error().message);
  if (!bytes->has_value()) {
    return error("this node holds no ledger image at index " + std::to_string(index) +
                 " (it installed a snapshot after it, or the image was evicted); ask another node or use a later anchor");
  }
  auto led = ledger::ledger::restore(crypto::as_bytes(**bytes));
  if (!led) return error("stored checkpoint image does not restore: " + led.error().message);
  // Paired check: the image must give back the root every replica agreed on.
  if (led->state_root() != anchor->root) return error("stored checkpoint image does not match the anchored root");
  const auto proof = led->prove(address);
  if (!proof) return error("account not found at index " + std::to_string(index));
  return proof_file_json(s.ctx->cluster_id, crypto::to_hex(address), *proof, *anchor);
}

}  // namespace

apply_self_actor::behavior_type apply_behavior(self_ptr self, ctx_ptr ctx) {
  self->state.ctx = ctx;
  load(self->state);
  // The writer reports to this actor by message; a weak reference, so that the writer (owned by
  // this actor's state) does not keep the actor alive.
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  self->state.writer = std::make_unique<durable_writer>(
      *ctx->store, community_group,
      [weak](uint64_t index) {
        if (auto strong = weak.lock()) caf::anon_send(caf::actor_cast<apply_self_actor>(strong), persisted_atom::value, index);
      },
      [](const std::string& what) { fatal(what); });
  return {
      [self](wire_atom, raft_actor raft, peer_broker_actor peers) {
        update_gauges(self->state);
        self->state.raft = std::move(raft);
        self->state.peers = std::move(peers);
        publish_registry(self);
        self->delayed_send(self, std::chrono::milliseconds(200), timer_atom::value);
      },
      [self](committed_atom, const std::vector<cs::entry>& entries) { apply_entries(self, entries); },
      [self](flush_atom) { flush_proposals(self); },
      [self](persisted_atom, uint64_t index) {
        durable_done(self, index);
        maybe_persist(self);  // a durable point that came due while the writer was busy
      },
      [self](install_atom, const cs::snapshot& snap) { return install(self, snap); },
      [self](submit_atom, std::string& hash, std::string& command) -> caf::result<net::client_response> {
        return wait_and_propose(self, std::move(hash), std::move(command), false);
      },
      [self](admin_atom, std::string& hash, std::string& request) -> caf::result<net::client_response> {
        return wait_and_propose(self, std::move(hash), std::move(request), true);
      },
      [self](cluster_atom) {
        const auto& s = self->state;
        nlohmann::json j;
        j["cluster_id"] = s.ctx->cluster_id;
        j["genesis_hash"] = crypto::to_hex(s.ctx->genesis_hash);
        j["cluster_file"] = s.ctx->cluster_file_text;
        auto keys = nlohmann::json::array();
        for (const auto& [id, m] : s.registry.members) keys.push_back(crypto::to_hex(m.key.bytes));
        j["member_keys"] = std::move(keys);
        return j.dump();
      },
      [self](read_atom, uint64_t index, const address_bytes& address) -> caf::result<net::client_response> {
        auto& s = self->state;
        if (index <= s.applied) return account_response(s, address);
        if (s.reads.size() >= pending_reads_max) return net::client_response::refused(net::client_errc::busy, "too many reads waiting");
        auto rp = self->make_response_promise();
        s.reads.push_back({index, address, rp, clock_type::now() + std::chrono::milliseconds(s.ctx->submit_timeout_ms), {}, {}});
        return rp;
      },
      [self](query_atom, uint64_t index, std::string& name, std::string& params) -> caf::result<net::client_response> {
        auto& s = self->state;
        if (index <= s.applied) return query_response(s, name, params);
        if (s.reads.size() >= pending_reads_max) return net::client_response::refused(net::client_errc::busy, "too many reads waiting");
        auto rp = self->make_response_promise();
        s.reads.push_back({index, address_bytes{}, rp,
                           clock_type::now() + std::chrono::milliseconds(s.ctx->submit_timeout_ms), std::move(name),
                           std::move(params)});
        return rp;
      },
      [self](checkpoint_view_atom) { return checkpoint_view{self->state.applied, self->state.book}; },
      [self](checkpoint_query_atom, const address_bytes& address, uint64_t at, bool prove) {
        return prove ? checkpoint_proof_json(self, address, at) : checkpoint_list_json(self->state);
      },
      [self](status_atom) {
        // The applied index, not the durable point: every entry at or below it is committed and in
        // this node's Raft log, so a restart re-applies to the same index and root.
        auto& s = self->state;
        return apply_view{s.applied, root_at_applied(s), s.led->time_ms(), s.led->epoch()};
      },
      [self](image_atom) -> caf::result<uint64_t, std::string> {
        const auto& s = self->state;
        return {s.applied, encode_image(make_image(s))};
      },
      [self](term_changed_atom, uint64_t term) {
        answer_lost_proposals(self, "leadership changed (term " + std::to_string(term) + ")", nullptr);
      },
      [self](proposals_lost_atom, const std::vector<std::string>& hashes) {
        answer_lost_proposals(self, "the proposal forwarded to the leader was dropped (no link)", &hashes);
      },
      [self](timer_atom) {
        auto& s = self->state;
        const auto now = clock_type::now();
        for (auto it = s.waiters.begin(); it != s.waiters.end();) {
          auto& ws = it->second;
          for (auto w = ws.begin(); w != ws.end();) {
            if (w->deadline <= now) {
              w->promise.deliver(net::client_response::refused(net::client_errc::timeout,
                                         "not applied within the deadline; outcome unknown: resubmit the same signed "
                                         "command (it applies at most once)"));
              w = ws.erase(w);
            } else {
              ++w;
            }
          }
          it = ws.empty() ? s.waiters.erase(it) : std::next(it);
        }
        for (auto it = s.reads.begin(); it != s.reads.end();) {
          if (it->deadline <= now) {
            it->promise.deliver(net::client_response::refused(net::client_errc::timeout, "read not served within the deadline"));
            it = s.reads.erase(it);
          } else {
            ++it;
          }
        }
        update_gauges(s);
        self->delayed_send(self, std::chrono::milliseconds(200), timer_atom::value);
      },
      [self](stop_atom) {
        persist(self, persist_mode::now);
        self->quit();
      },
  };
}

energo::result<restore_plan, std::string> plan_restore(std::string_view image, const member_registry& members) {
  using fail_t = energo::unexpected<std::string>;
  if (image.size() > limits::image_bytes_max) return fail_t{"the image is larger than 256 MiB"};
  auto img = decode_image(image);
  if (!img) return fail_t{"not a node image (bad magic, a length out of bounds or trailing bytes)"};
  if (img->applied_index == 0) return fail_t{"the image is at applied index 0"};
  auto led = ledger::ledger::restore(crypto::as_bytes(img->ledger_bytes));
  if (!led) return fail_t{"the ledger in the image does not restore: " + led.error().message};
  std::optional<member_registry> old_reg;
  if (!img->registry_bytes.empty()) {
    old_reg = decode_registry(img->registry_bytes);
    if (!old_reg) return fail_t{"the member registry in the image does not decode"};
  }
  auto book = img->checkpoint_bytes.empty() ? std::optional<checkpoint_book>(checkpoint_book{})
                                            : decode_book(img->checkpoint_bytes);
  if (!book) return fail_t{"the checkpoint book in the image does not decode"};
  // Unlike install(), a malformed index is refused: the file passed its checksum, so a bad index
  // means a bad writer, and a restore should not silently lose history.
  std::optional<analytics_index> analytics = img->analytics_bytes.empty() ? std::optional<analytics_index>(analytics_index::starting_at(*led))
                                                                          : analytics_index::decode(img->analytics_bytes);
  if (!analytics) return fail_t{"the analytics index in the image does not decode"};
  if (members.members.empty()) return fail_t{"no members for the restored cluster"};
  member_registry reg;
  reg.members = members.members;
  if (old_reg) reg.admin_nonces = old_reg->admin_nonces;
  img->registry_bytes = encode_registry(reg);
  restore_plan p;
  p.applied_index = img->applied_index;
  p.root = led->state_root();
  p.genesis_hash = led->genesis_hash();
  p.community_id = led->community_id();
  p.state = image_state_writes(*img, *analytics, reg, *book);
  p.data = encode_image(*img);
  p.meta.index = img->applied_index;
  p.meta.term = 1;  // every voter restored from the same file with the same bootstrap file agrees
  for (const auto& [id, m] : reg.members) p.meta.config.voters.push_back(id);
  p.meta.data_bytes = p.data.size();
  return p;
}

energo::result<void, std::string> seed_restore(st::node_store& store, const restore_plan& plan) {
  if (store.last_index(community_group) != 0 || store.hard_state(community_group).term != 0 ||
      store.applied_index(community_group) != 0) {
    return energo::unexpected<std::string>{"the store is not empty"};
  }
  const st::hard_state_record hs{plan.meta.term, 0, plan.meta.index};
  if (auto r = store.install_snapshot(community_group, plan.meta, plan.data, plan.state, hs); !r) {
    return energo::unexpected<std::string>{"install the image: " + r.error().message};
  }
  return ok;
}

apply_wired_actor spawn_apply(caf::actor_system& sys, ctx_ptr ctx) {
  return sys.spawn<caf::detached>(apply_behavior, std::move(ctx));
}

}  // namespace energo::actors
