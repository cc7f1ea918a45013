// The checkpoint actor (SPEC §7; docs/node.md "Checkpoints on Qtum"): while this node leads, it
// marks a committed index every N entries or T ms, builds and signs the anchor transaction for
// the latest mark, has it replicated (anchor intent) BEFORE sending it, sends it, follows it block
// by block (re-sending after a reorg) and, at the confirmation depth, appends the anchor record.
//
// Runs as a blocking actor on a thread of its own: every step makes JSON-RPC calls that wait on
// the Qtum node (connect and read timeouts of seconds). On a CAF scheduler thread they would stall
// the brokers, ingest and clock sharing it. It keeps no state that matters across leaders: what
// is in flight is the replicated book (apply actor); the tracker and timers here are rebuilt.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include <caf/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "net/qtum/builder.hpp"
#include "net/qtum/chain_sync.hpp"
#include "net/qtum/script.hpp"

namespace energo::actors {

namespace cs = energo::consensus;
using clock_type = std::chrono::steady_clock;

const char* to_string(checkpoint_alert a) {
  switch (a) {
    case checkpoint_alert::none: return "none";
    case checkpoint_alert::unreachable: return "unreachable";
    case checkpoint_alert::auth: return "auth";
    case checkpoint_alert::insufficient_funds: return "insufficient_funds";
    case checkpoint_alert::rejected: return "rejected";
    case checkpoint_alert::funds_low: return "funds_low";
    case checkpoint_alert::error: return "error";
  }
  return "?";
}

void checkpoint_metrics::set_error(checkpoint_alert a, std::string message) {
  alert.store(static_cast<uint8_t>(a));
  std::lock_guard lock(mutex_);
  last_error_ = std::move(message);
}
void checkpoint_metrics::clear_alert() {
  alert.store(0);
  std::lock_guard lock(mutex_);
  last_error_.clear();
}
std::string checkpoint_metrics::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}
nlohmann::json checkpoint_metrics::to_json() const {
  nlohmann::json j;
  j["leading"] = leading.load();
  j["alert"] = to_string(static_cast<checkpoint_alert>(alert.load()));
  j["last_error"] = last_error();
  j["steps"] = steps.load();
  j["marks_proposed"] = marks_proposed.load();
  j["intents_proposed"] = intents_proposed.load();
  j["broadcasts"] = broadcasts.load();
  j["rebroadcasts"] = rebroadcasts.load();
  j["reorgs_seen"] = reorgs_seen.load();
  j["records_proposed"] = records_proposed.load();
  j["replacements"] = replacements.load();
  j["rpc_failures"] = rpc_failures.load();
  j["coin_scans"] = coin_scans.load();
  j["dropped_resent"] = dropped_resent.load();
  j["anchors_confirmed"] = anchors_confirmed.load();
  j["last_anchored_index"] = last_anchored_index.load();
  j["last_anchored_height"] = last_anchored_height.load();
  j["in_flight_index"] = in_flight_index.load();
  j["funds_low"] = funds_low();
  j["funds_sat"] = funds_sat.load();
  j["chain_height"] = chain_height.load();
  return j;
}

namespace {

// A proposal not yet seen applied is proposed again after this long (it may have been lost in a
// leader change); the book refuses duplicates, so a repeat is harmless.
constexpr auto reproposal_after = std::chrono::seconds(5);
constexpr auto actor_call_timeout = std::chrono::seconds(5);
// Blocks connected per step: a leader resuming an old intent catches up over several steps
// instead of one long one (each block is a getblockhash + getblock round trip).
constexpr uint64_t sync_blocks_per_step_max = 100;
// A fee bump pays at least this much more than the transaction it replaces (per mille), and never
// more than fee_bump_rate_max_factor times the configured rate: a node asking for more is an alert.
constexpr int64_t fee_bump_min_permille = 1250;
constexpr int64_t fee_bump_rate_max_factor = 20;

struct worker {
  ctx_ptr ctx;
  const checkpoint_config& cfg;
  checkpoint_metrics& m;
  qtum::rpc_client rpc;
  crypto::hash256 cluster_hash{};
  bool leading = false;
  // Following the intent in flight (rebuilt when leadership or the intent changes).
  std::optional<qtum::confirmation_tracker> tracker;
  qtum::txid_t tracked{};
  bool need_send = false;
  bool sent_once = false;  // this leader already sent the tracked transaction
  std::optional<qtum::txid_t> built_here;
  // Waiting for proposals to show up in the book.
  std::optional<clock_type::time_point> mark_proposed_at, intent_proposed_at, record_proposed_at;
  uint64_t latest_mark_seen = 0;
  clock_type::time_point last_mark_time = clock_type::now();
  bool change_lost = false;  // the book's change output is gone: find coins with scantxoutset
  // The Qtum tip at which the in-flight anchor, not yet in a block, was last checked against the
  // node's mempool (once per new block).
  std::optional<uint64_t> mempool_checked_at;
  bool in_flight_refused = false;  // the node refused the anchor in flight at the last check (keeps the alert)
  std::optional<clock_type::time_point> replacement_proposed_at;
  std::optional<uint64_t> anchored_seen;  // the book's last anchored index last seen (metrics baseline)
  uint32_t backoff_ms = 0;

  worker(ctx_ptr c, const checkpoint_config& config, checkpoint_metrics& metrics)
      : ctx(std::move(c)), cfg(config), m(metrics), rpc(config.rpc) {
    cluster_hash = qtum::cluster_id_hash_of(ctx->cluster_id);
  }

  void forget() {
    tracker.reset();
    mempool_checked_at.reset();
    in_flight_refused = false;
    replacement_proposed_at.reset();
    need_send = false;
    sent_once = false;
    mark_proposed_at.reset();
    intent_proposed_at.reset();
    record_proposed_at.reset();
    last_mark_time = clock_type::now();
  }

  // Records the failure, returns the delay before the next step (exponential backoff).
  uint32_t fail(const qtum::qtum_error& e, const std::string& during) {
    using qtum::error_code;
    ++m.rpc_failures;
    checkpoint_alert a = checkpoint_alert::error;
    switch (e.code) {
      case error_code::transport:
      case error_code::http:
      case error_code::config: a = checkpoint_alert::unreachable; break;
      case error_code::auth: a = checkpoint_alert::auth; break;
      case error_code::insufficient_funds: a = checkpoint_alert::insufficient_funds; break;
      case error_code::rejected: a = checkpoint_alert::rejected; break;
      case error_code::rpc: a = e.rpc_code == qtum::rpc_verify_rejected ? checkpoint_alert::rejected : checkpoint_alert::error; break;
      default: break;
    }
    ++m.failures_by_alert[static_cast<std::size_t>(a)];
    std::string message = during + ": " + e.message;
    spdlog::warn("checkpoint: {} ({})", message, to_string(a));
    m.set_error(a, std::move(message));
    backoff_ms = std::min(cfg.backoff_max_ms, std::max(cfg.poll_ms, backoff_ms * 2));
    return backoff_ms;
  }
  uint32_t ok() {
    backoff_ms = 0;
    return cfg.poll_ms;
  }
};

// The local raft actor appends the entry if this node leads (raft_actor.cpp).
bool propose(caf::blocking_actor* self, const raft_actor& raft, std::string entry) {
  bool proposed = false;
  self->request(raft, actor_call_timeout, propose_checkpoint_atom::value, std::move(entry))
      .receive([&](uint16_t code, uint64_t) { proposed = code == 0; },
               [&](caf::error& e) { spdlog::warn("checkpoint: raft did not answer: {}", self->system().render(e)); });
  return proposed;
}

// The Qtum node refuses the anchor in flight (`reason`): dropped from its mempool and now below
// its minimum fee, or its inputs are gone or in conflict. Builds the same anchor again, spending
// an outpoint every earlier transaction for the index spends (found with scantxoutset), at the
// node's current minimum fee rate and at least 25% above the refused one, and replicates it as a
// replacement (checkpoint_state.hpp): all of them conflict, so the index is anchored once.
// When no such outpoint is unspent any more, nothing can be built: an alert says so.
uint32_t replace_intent(caf::blocking_actor* self, worker& w, const raft_actor& raft, const checkpoint_book& book,
                        const std::string& reason) {
  const auto& intent = *book.intent;
  const std::string what = "the Qtum node refuses the anchor in flight " + qtum::txid_hex(intent.txid) + " (index " +
                           std::to_string(intent.index) + ")";
  const auto refused = [&](const std::string& why) {
    return w.fail(qtum::qtum_error{qtum::error_code::rejected, reason + (why.empty() ? "" : "; " + why), 0, 0}, what);
  };
  const auto now = clock_type::now();
  if (w.replacement_proposed_at && now - *w.replacement_proposed_at < reproposal_after) return w.ok();  // wait for it
  if (intent.replaced.size() >= limits::anchor_replacements_max) return refused("replaced too often already");
  const auto mark = book.marks.find(intent.index);
  const auto old = qtum::decode_transaction(qtum::bytes(intent.raw_tx.begin(), intent.raw_tx.end()));
  if (mark == book.marks.end() || !old) return refused("its mark left the window");
  std::vector<qtum::outpoint> common = intent.common_inputs;
  if (common.empty()) {
    for (const auto& in : old->inputs) common.push_back(in.prevout);
  }
  ++w.m.coin_scans;
  auto scan = qtum::find_anchor_coins(w.rpc, w.cfg.params, w.cfg.key.public_key());
  if (!scan) return w.fail(scan.error(), "find coins");
  std::optional<qtum::outpoint> keep;
  std::map<qtum::outpoint, int64_t> value_of;
  for (const auto& c : scan->coins) value_of[c.point] = c.value_sat;
  for (const auto& p : common) {
    if (value_of.count(p)) {
      keep = p;
      break;
    }
  }
  if (!keep) {
    return refused("its inputs are spent by another transaction, so it can never be mined and no conflicting "
                   "replacement can be built (docs/node.md \"Stuck anchors\")");
  }
  if (!qtum::is_fee_refusal(reason) && reason.find("missing") == std::string::npos &&
      reason.find("conflict") == std::string::npos) {
    return refused("");  // not something another fee or other coins can mend
  }
  // The refused transaction's fee rate, when every input is still known.
  int64_t in_sum = 0, out_sum = 0;
  bool known = true;
  for (const auto& in : old->inputs) {
    const auto v = value_of.find(in.prevout);
    if (v == value_of.end()) known = false;
    else in_sum += v->second;
  }
  for (const auto& o : old->outputs) out_sum += o.value_sat;
  // Amounts are below 21e6 coins (2.1e15 sat), so these sums and the ×1000 cannot overflow.
  const int64_t old_rate = known && in_sum > out_sum ? (in_sum - out_sum) * 1000 / static_cast<int64_t>(intent.raw_tx.size()) : 0;
  auto node_rate = qtum::node_min_fee_rate(w.rpc);
  if (!node_rate) return w.fail(node_rate.error(), "getmempoolinfo");
  auto params = w.cfg.params;
  const int64_t configured = std::max(params.fee_rate_sat_per_kvb, params.relay_fee_min_sat_per_kvb);
  // Capped before the multiplication: a pathological old fee cannot overflow the bump.
  const int64_t rate_max = std::min(checked_mul(configured, fee_bump_rate_max_factor).value_or(INT64_MAX),
                                    INT64_MAX / fee_bump_min_permille);
  const int64_t rate = std::max({configured, *node_rate, std::min(old_rate, rate_max) * fee_bump_min_permille / 1000});
  if (rate > rate_max) {
    return refused("a replacement would need " + std::to_string(rate) + " sat/kvB, above " +
                   std::to_string(fee_bump_rate_max_factor) + "x the configured rate");
  }
  params.fee_rate_sat_per_kvb = rate;
  qtum::anchor_payload payload{w.cluster_hash, intent.index, mark->second};
  auto built = qtum::build_anchor_tx(params, w.cfg.key, scan->coins, scan->height, payload, keep);
  if (!built) return w.fail(built.error(), "build a replacement for the anchor of index " + std::to_string(intent.index));
  if (std::find(built->spent.begin(), built->spent.end(), *keep) == built->spent.end()) {
    return refused("the replacement does not spend the common input (immature?)");
  }
  auto verdict = w.rpc.test_mempool_accept(built->raw);
  if (!verdict) return w.fail(verdict.error(), "testmempoolaccept");
  if (!verdict->allowed) return refused("its replacement at " + std::to_string(rate) + " sat/kvB too: " + verdict->reject_reason);
  anchor_intent next;
  next.index = intent.index;
  next.raw_tx.assign(built->raw.begin(), built->raw.end());
  next.build_height = intent.build_height;  // the chain is followed from the original's height
  next.txid = built->txid;
  next.replaces = intent.txid;
  if (!propose(self, raft, encode_intent_entry(next))) return w.cfg.poll_ms;
  ++w.m.replacements;
  w.replacement_proposed_at = now;
  w.built_here = built->txid;
  spdlog::warn("checkpoint: {} ({}): replacing it with {} at {} sat/kvB (fee {} sat, was {} sat/kvB)", what, reason,
               qtum::txid_hex(built->txid), rate, built->fee_sat, old_rate);
  return w.ok();
}

uint32_t follow_intent(caf::blocking_actor* self, worker& w, const raft_actor& raft, const checkpoint_book& book) {
  const auto& intent = *book.intent;
  if (!w.tracker || w.tracked != intent.txid) {
    w.tracker.emplace(qtum::tracker_config{w.cfg.params.confirmations_required,
                                           std::max(w.cfg.tracker_window_blocks, w.cfg.params.confirmations_required)});
    // Every transaction for this index: a replaced one may still be mined (checkpoint_state.hpp).
    if (auto r = w.tracker->track(intent.txid); !r) return w.fail(r.error(), "track");
    for (const auto& x : intent.replaced) {
      if (auto r = w.tracker->track(x.txid); !r) return w.fail(r.error(), "track");
    }
    w.tracked = intent.txid;
    w.need_send = true;
    w.sent_once = false;
    w.mempool_checked_at.reset();
    w.in_flight_refused = false;
    w.record_proposed_at.reset();
    w.intent_proposed_at.reset();
  }
  const qtum::bytes raw(intent.raw_tx.begin(), intent.raw_tx.end());
  auto send = [&]() -> std::optional<uint32_t> {
    auto sent = qtum::broadcast(w.rpc, raw);
    if (!sent) return w.fail(sent.error(), "send anchor " + qtum::txid_hex(intent.txid) + " (index " + std::to_string(intent.index) + ")");
    ++w.m.broadcasts;
    // A send this leader did not build (resumed after a leader change), or a second send (after
    // a reorg) is a re-broadcast.
    if (w.sent_once || w.built_here != intent.txid) ++w.m.rebroadcasts;
    spdlog::info("checkpoint: sent anchor {} for index {}{}", qtum::txid_hex(intent.txid), intent.index,
                 w.sent_once ? " again" : (w.built_here != intent.txid ? " (resumed)" : ""));
    w.sent_once = true;
    w.need_send = false;
    return std::nullopt;
  };
  if (w.need_send) {
    if (auto delay = send()) return *delay;
  }
  auto events = qtum::sync_tracker(w.rpc, *w.tracker, intent.build_height, sync_blocks_per_step_max);
  if (!events) return w.fail(events.error(), "follow the chain");
  for (const auto& e : *events) {
    if (!intent.is_one_of_its_txs(e.txid)) continue;
    if (e.txid != intent.txid) {
      spdlog::info("checkpoint: replaced anchor {} (index {}): {} at height {}", qtum::txid_hex(e.txid), intent.index,
                   e.kind == qtum::tracker_event_kind::reorged_out ? "left the chain" : "in the chain", e.height);
      if (e.kind == qtum::tracker_event_kind::reorged_out) ++w.m.reorgs_seen;
      continue;
    }
    switch (e.kind) {
      case qtum::tracker_event_kind::included:
        spdlog::info("checkpoint: anchor {} (index {}) in block at height {}", qtum::txid_hex(e.txid), intent.index, e.height);
        break;
      case qtum::tracker_event_kind::confirmed:
        spdlog::info("checkpoint: anchor {} (index {}) confirmed at height {}", qtum::txid_hex(e.txid), intent.index, e.height);
        break;
      case qtum::tracker_event_kind::reorged_out:
        ++w.m.reorgs_seen;
        w.need_send = true;
        spdlog::warn("checkpoint: anchor {} (index {}) left the chain at height {} (reorg): sending it again",
                     qtum::txid_hex(e.txid), intent.index, e.height);
        break;
    }
  }
  if (auto tip = w.tracker->tip_height()) w.m.chain_height = *tip;
  if (w.need_send) {
    if (auto delay = send()) return *delay;
  }
  // The transaction for this index furthest along: the current one, or a replaced one mined after all.
  std::optional<qtum::anchor_status> status = w.tracker->status(intent.txid);
  qtum::txid_t status_txid = intent.txid;
  for (const auto& x : intent.replaced) {
    const auto s = w.tracker->status(x.txid);
    if (s && (!status || s->state > status->state)) {
      status = s;
      status_txid = x.txid;
    }
  }
  const auto tip = w.tracker->tip_height();
  if (w.sent_once && (!status || status->state == qtum::anchor_state::pending) && tip && w.mempool_checked_at != tip) {
    // Sent but in no block: once per new block, ask whether the node still holds it. A node
    // restarted without its mempool, or one that evicted it, forgets it silently; then it is
    // sent again (the same bytes). A refusal (its inputs are gone, a conflict, a fee below a
    // raised minimum) is an alert with the node's reason; it stays in flight, retried per block.
    w.mempool_checked_at = tip;
    auto verdict = w.rpc.test_mempool_accept(raw);
    if (!verdict) return w.fail(verdict.error(), "check the anchor in flight");
    w.in_flight_refused = !verdict->allowed && verdict->reject_reason != "txn-already-in-mempool" &&
                          verdict->reject_reason != "txn-already-known";
    if (verdict->allowed) {
      ++w.m.dropped_resent;
      spdlog::warn("checkpoint: anchor {} (index {}) is no longer in the node's mempool: sending it again",
                   qtum::txid_hex(intent.txid), intent.index);
      if (auto delay = send()) return *delay;
    } else if (w.in_flight_refused) {
      // Too little fee for the node now, or inputs gone / in conflict: replace it if a
      // conflicting replacement can be built (replace_intent), else alert with the reason.
      return replace_intent(self, w, raft, book, verdict->reject_reason);
    }
  }
  if (status && status->state != qtum::anchor_state::pending) w.in_flight_refused = false;
  if (!status || status->state != qtum::anchor_state::confirmed) {
    if (!w.in_flight_refused && w.m.alert.load() != static_cast<uint8_t>(checkpoint_alert::funds_low)) w.m.clear_alert();
    return w.ok();
  }
  const auto mark = book.marks.find(intent.index);
  if (mark == book.marks.end()) {
    w.m.set_error(checkpoint_alert::error, "the mark of index " + std::to_string(intent.index) + " left the window");
    return w.ok();
  }
  const auto now = clock_type::now();
  if (!w.record_proposed_at || now - *w.record_proposed_at > reproposal_after) {
    anchor_record r{intent.index, mark->second, status_txid, status->block_hash, status->height};
    if (propose(self, raft, encode_record_entry(r))) {
      ++w.m.records_proposed;
      w.record_proposed_at = now;
    }
  }
  return w.ok();
}

uint32_t build_intent(caf::blocking_actor* self, worker& w, const raft_actor& raft, const checkpoint_book& book,
                      uint64_t index, const crypto::hash256& root) {
  const auto now = clock_type::now();
  if (w.intent_proposed_at && now - *w.intent_proposed_at < reproposal_after) return w.ok();  // wait for it
  const auto pub = w.cfg.key.public_key();
  std::vector<qtum::utxo> coins;
  uint64_t tip = 0;
  std::optional<qtum::outpoint> prefer;
  const bool from_change = book.change && !w.change_lost;
  if (from_change) {
    auto count = w.rpc.get_block_count();
    if (!count) return w.fail(count.error(), "getblockcount");
    tip = *count;
    qtum::utxo c;
    c.point = book.change->point;
    c.value_sat = book.change->value_sat;
    c.script_pubkey = qtum::p2pkh_script(crypto::hash160_of(pub.bytes));
    c.height = book.change->height;
    coins.push_back(std::move(c));
    prefer = book.change->point;
  } else {
    ++w.m.coin_scans;
    auto scan = qtum::find_anchor_coins(w.rpc, w.cfg.params, pub);
    if (!scan) return w.fail(scan.error(), "find coins");
    tip = scan->height;
    coins = std::move(scan->coins);
  }
  w.m.chain_height = tip;
  qtum::anchor_payload payload{w.cluster_hash, index, root};
  auto built = qtum::build_anchor_tx(w.cfg.params, w.cfg.key, coins, tip, payload, prefer);
  if (!built) {
    if (from_change && built.error().code == qtum::error_code::insufficient_funds) {
      w.change_lost = true;  // the change alone is too small: look for every coin
      return w.cfg.poll_ms;
    }
    w.m.funds_sat = 0;
    return w.fail(built.error(), "build the anchor for index " + std::to_string(index));
  }
  // Checked before it is replicated: a refusal leaves nothing in flight, the next step rebuilds.
  auto verdict = w.rpc.test_mempool_accept(built->raw);
  if (!verdict) return w.fail(verdict.error(), "testmempoolaccept");
  if (!verdict->allowed) {
    if (from_change && verdict->reject_reason.find("missing") != std::string::npos) {
      w.change_lost = true;  // our change was spent or dropped: find coins again
      spdlog::warn("checkpoint: the previous anchor's change is gone ({}); scanning for coins", verdict->reject_reason);
      return w.cfg.poll_ms;
    }
    return w.fail(qtum::qtum_error{qtum::error_code::rejected, verdict->reject_reason, 0, 0},
                  "the Qtum node refuses the anchor for index " + std::to_string(index));
  }
  const int64_t left = built->change ? built->change->value_sat : 0;
  w.m.funds_sat = left;
  anchor_intent intent;
  intent.index = index;
  intent.raw_tx.assign(built->raw.begin(), built->raw.end());
  intent.build_height = tip;
  intent.txid = built->txid;
  if (!propose(self, raft, encode_intent_entry(intent))) return w.cfg.poll_ms;
  ++w.m.intents_proposed;
  w.intent_proposed_at = now;
  w.built_here = built->txid;
  w.change_lost = false;
  spdlog::info("checkpoint: anchor for index {} built: txid {}, fee {} sat, change {} sat", index,
               qtum::txid_hex(built->txid), built->fee_sat, left);
  if (left < w.cfg.funds_low_sat) {
    w.m.set_error(checkpoint_alert::funds_low, "funds low: " + std::to_string(left) + " sat left after this anchor (alert below " +
                                                   std::to_string(w.cfg.funds_low_sat) + ")");
  } else {
    w.m.clear_alert();
  }
  return w.ok();
}

// The book's gauges, on every node (a follower's /metrics shows the same anchors as the leader's).
void observe_book(worker& w, const checkpoint_book& book) {
  const uint64_t last = book.last_anchored_index();
  if (w.anchored_seen && last > *w.anchored_seen) {
    uint64_t fresh = 0;
    for (auto it = book.anchors.rbegin(); it != book.anchors.rend() && it->index > *w.anchored_seen; ++it) ++fresh;
    w.m.anchors_confirmed += fresh;
  }
  w.anchored_seen = last;
  w.m.last_anchored_index = last;
  w.m.last_anchored_height = book.anchors.empty() ? 0 : book.anchors.back().height;
  w.m.in_flight_index = book.intent ? book.intent->index : 0;
}

uint32_t step(caf::blocking_actor* self, worker& w, const raft_actor& raft, const apply_actor& apply) {
  ++w.m.steps;
  bool leader = false;
  self->request(raft, actor_call_timeout, status_atom::value)
      .receive([&](const raft_view& v) { leader = v.role == "leader"; }, [](caf::error&) {});
  std::optional<checkpoint_view> view;
  self->request(apply, actor_call_timeout, checkpoint_view_atom::value)
      .receive([&](checkpoint_view& v) { view = std::move(v); }, [](caf::error&) {});
  if (view) observe_book(w, view->book);
  if (!leader) {
    if (w.leading) spdlog::info("checkpoint: no longer leader; anchoring paused");
    w.leading = false;
    w.m.leading = false;
    w.forget();
    return w.cfg.poll_ms;
  }
  if (!w.leading) {
    spdlog::info("checkpoint: leading; anchoring resumes from the replicated book");
    w.forget();
  }
  w.leading = true;
  w.m.leading = true;
  if (!view) return w.cfg.poll_ms;
  const auto& book = view->book;
  const uint64_t latest_mark = book.marks.empty() ? 0 : book.marks.rbegin()->first;
  if (latest_mark > w.latest_mark_seen) {
    w.latest_mark_seen = latest_mark;
    w.last_mark_time = clock_type::now();
    w.mark_proposed_at.reset();
  }
  if (book.intent) return follow_intent(self, w, raft, book);
  w.tracker.reset();
  w.record_proposed_at.reset();
  if (latest_mark > book.last_anchored_index()) {
    return build_intent(self, w, raft, book, latest_mark, book.marks.rbegin()->second);
  }
  // Everything marked is anchored: mark again when due.
  const auto now = clock_type::now();
  if (w.mark_proposed_at && now - *w.mark_proposed_at < reproposal_after) return w.ok();
  const bool by_entries = view->applied_index >= latest_mark + w.cfg.every_entries;
  const bool by_time = w.cfg.every_ms > 0 && now - w.last_mark_time >= std::chrono::milliseconds(w.cfg.every_ms) &&
                       view->applied_index > latest_mark + 1;
  if (by_entries || by_time) {
    if (propose(self, raft, encode_mark_entry())) {
      ++w.m.marks_proposed;
      w.mark_proposed_at = now;
    }
  }
  return w.ok();
}

void checkpoint_loop(caf::blocking_actor* self, ctx_ptr ctx, raft_actor raft, apply_actor apply) {
  worker w(ctx, *ctx->checkpoint, *ctx->checkpoint_stats);
  w.m.funds_low_sat = ctx->checkpoint->funds_low_sat;
  spdlog::info("checkpoint: anchoring to {} at {}:{} from {} every {} entries / {} ms, {} confirmations",
               ctx->checkpoint->params.name, ctx->checkpoint->rpc.host, ctx->checkpoint->rpc.port,
               qtum::anchor_address(ctx->checkpoint->params, ctx->checkpoint->key.public_key()),
               ctx->checkpoint->every_entries, ctx->checkpoint->every_ms,
               ctx->checkpoint->params.confirmations_required);
  bool running = true;
  uint32_t delay_ms = ctx->checkpoint->poll_ms;
  while (running) {
    self->receive(
        [&](caf::exit_msg&) { running = false; },
        [&](stop_atom) { running = false; },
        caf::after(std::chrono::milliseconds(delay_ms)) >> [&] { delay_ms = step(self, w, raft, apply); });
  }
}

}  // namespace

caf::actor spawn_checkpoint(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply) {
  return sys.spawn(checkpoint_loop, std::move(ctx), std::move(raft), std::move(apply));
}

}  // namespace energo::actors
