#include "actors/metrics.hpp"

#include "actors/checkpoint_actor.hpp"
#include "net/wire.hpp"

namespace energo::actors {
namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP energo_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE energo_";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class T>
void sample(std::string& out, const char* name, const std::string& labels, T value) {
  out += "energo_";
  out += name;
  out += labels;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

template <class A>
void one(std::string& out, const char* name, const char* type, const char* help, const A& value) {
  header(out, name, type, help);
  sample(out, name, "", value.load(std::memory_order_relaxed));
}

// Milliseconds as seconds with three decimals, exact (no floating point).
std::string seconds_of_ms(uint64_t ms) {
  std::string frac = std::to_string(ms % 1000);
  return std::to_string(ms / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

// The checkpoint service (docs/node.md "Checkpoints on Qtum", "Metrics").
void render_checkpoint(std::string& out, const checkpoint_metrics& c) {
  one(out, "checkpoint_leading", "gauge", "1 while this node's checkpoint service anchors (it leads), else 0.", c.leading);
  one(out, "checkpoint_marks_total", "counter", "Checkpoint marks (state roots to anchor) this node proposed.",
      c.marks_proposed);
  one(out, "checkpoint_anchors_built_total", "counter",
      "Anchor transactions this node built, signed and proposed for replication (intents).", c.intents_proposed);
  one(out, "checkpoint_anchors_sent_total", "counter", "Anchor transactions this node sent to the Qtum node, re-sends included.",
      c.broadcasts);
  one(out, "checkpoint_anchors_rebroadcast_total", "counter",
      "Anchor transactions sent again: after a reorg, by a new leader, or after the Qtum node dropped them.",
      c.rebroadcasts);
  one(out, "checkpoint_anchors_dropped_resent_total", "counter",
      "Anchors in flight the Qtum node no longer held (restart without mempool, eviction), sent again.",
      c.dropped_resent);
  one(out, "checkpoint_anchors_replaced_total", "counter",
      "Replacements (fee bumps) this node proposed for an anchor the Qtum node refused.", c.replacements);
  one(out, "checkpoint_reorgs_total", "counter", "Times the anchor in flight left the active Qtum chain (reorg).",
      c.reorgs_seen);
  one(out, "checkpoint_anchors_confirmed_total", "counter",
      "Confirmed anchor records this node applied to its replicated book since it started.", c.anchors_confirmed);
  one(out, "checkpoint_last_anchored_index", "gauge", "Log index of the latest confirmed anchor (0: none).",
      c.last_anchored_index);
  one(out, "checkpoint_last_anchored_height", "gauge", "Qtum block height of the latest confirmed anchor (0: none).",
      c.last_anchored_height);
  one(out, "checkpoint_in_flight_index", "gauge", "Log index of the anchor in flight (sent, not yet recorded; 0: none).",
      c.in_flight_index);
  one(out, "checkpoint_qtum_height", "gauge", "Qtum chain height the checkpoint service last saw.", c.chain_height);
  one(out, "checkpoint_coin_scans_total", "counter", "scantxoutset runs to find the community's coins again.",
      c.coin_scans);
  one(out, "checkpoint_funds_sat", "gauge", "Change left after the latest anchor built, in satoshi (-1: unknown).",
      c.funds_sat);
  one(out, "checkpoint_funds_low_threshold_sat", "gauge", "The configured funds_low_sat alert threshold.",
      c.funds_low_sat);
  header(out, "checkpoint_funds_low", "gauge", "1 when the change left is below funds_low_sat (or an anchor lacks funds).");
  sample(out, "checkpoint_funds_low", "", c.funds_low() ? 1 : 0);
  // Every alert name is always present (0 or 1), so an alerting rule needs no absent() guard.
  const auto current = c.alert.load(std::memory_order_relaxed);
  header(out, "checkpoint_alert", "gauge",
         "1 for the checkpoint service's current alert (unreachable, auth, insufficient_funds, rejected, funds_low, error).");
  for (uint8_t a = 1; a < checkpoint_alert_kinds; ++a) {
    sample(out, "checkpoint_alert", std::string("{alert=\"") + to_string(static_cast<checkpoint_alert>(a)) + "\"}",
           current == a ? 1 : 0);
  }
  header(out, "checkpoint_errors_total", "counter",
         "Failed checkpoint steps by the alert raised: Qtum RPC errors (unreachable, auth, error), the node's refusals "
         "(rejected), missing funds.");
  for (uint8_t a = 1; a < checkpoint_alert_kinds; ++a) {
    if (static_cast<checkpoint_alert>(a) == checkpoint_alert::funds_low) continue;  // an alert, never a failure
    sample(out, "checkpoint_errors_total", std::string("{alert=\"") + to_string(static_cast<checkpoint_alert>(a)) + "\"}",
           c.failures_by_alert[a].load(std::memory_order_relaxed));
  }
}

}  // namespace

std::string render_prometheus(const node_metrics& m, const checkpoint_metrics* cp) {
  std::string out;
  out.reserve(8192);
  // Every metric here is listed in docs/node.md "Metrics" (name, type, meaning).
  one(out, "raft_term", "gauge", "Current Raft term of this node.", m.raft_term);
  one(out, "raft_commit_index", "gauge", "Highest log index this node knows to be committed.", m.raft_commit_index);
  one(out, "raft_last_index", "gauge", "Last index in this node's Raft log.", m.raft_last_index);
  one(out, "raft_snapshot_index", "gauge", "Index of this node's latest Raft snapshot.", m.raft_snapshot_index);
  one(out, "raft_is_leader", "gauge", "1 if this node is the Raft leader, else 0.", m.raft_is_leader);
  one(out, "raft_leader_changes_total", "counter", "Times this node saw a new leader (or lost one).",
      m.raft_leader_changes_total);
  one(out, "raft_snapshot_chunks_sent_total", "counter", "Snapshot chunks this node sent to lagging followers.",
      m.raft_snapshot_chunks_sent_total);
  one(out, "raft_proposals_pending", "gauge", "Commands buffered in the raft actor for the next entry.",
      m.raft_proposals_pending);
  one(out, "raft_log_writes_synced_total", "counter",
      "Raft log and hard state writes with an fsync (entries, term or vote changed).", m.raft_log_writes_synced_total);
  one(out, "raft_log_writes_deferred_total", "counter",
      "Raft hard state writes that only advanced the commit index, written without an fsync.",
      m.raft_log_writes_deferred_total);
  one(out, "applied_index", "gauge", "Highest log index applied to the ledger in memory.", m.apply_applied_index);
  one(out, "durable_applied_index", "gauge", "Highest applied index persisted with the ledger image.",
      m.apply_durable_index);
  one(out, "applied_entries_total", "counter", "Committed log entries applied (any kind).", m.apply_entries_total);
  one(out, "applied_commands_total", "counter", "Client commands applied (accepted or refused by a ledger rule).",
      m.apply_commands_total);
  one(out, "applied_commands_refused_total", "counter", "Applied client commands a ledger rule refused.",
      m.apply_commands_refused_total);
  one(out, "trades_total", "counter", "Trades executed by the order book.", m.apply_trades_total);
  one(out, "traded_wh_total", "counter", "Energy traded on the order book, in Wh.", m.apply_traded_wh_total);
  one(out, "traded_units_total", "counter", "Notional value traded on the order book, in TSL units.",
      m.apply_traded_units_total);
  one(out, "fees_units_total", "counter", "Fees charged by applied commands, in TSL units.", m.apply_fees_units_total);
  one(out, "minted_wh_total", "counter", "WATT minted by applied commands, in Wh.", m.apply_minted_wh_total);
  one(out, "burned_wh_total", "counter", "WATT burned by applied commands, in Wh.", m.apply_burned_wh_total);
  one(out, "waiting_commands", "gauge", "Distinct submitted commands waiting for their outcome.", m.apply_waiting_commands);
  one(out, "pending_reads", "gauge", "Linearizable reads waiting for the applied index to reach theirs.",
      m.apply_pending_reads);
  one(out, "outgoing_proposals", "gauge", "Submissions buffered in the apply actor before going to raft.",
      m.apply_outgoing_proposals);

  header(out, "proposal_to_apply_seconds", "histogram",
         "Time from a submission's proposal on this node to its outcome (applied in memory).");
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < limits::latency_bucket_ms.size(); ++i) {
    cumulative += m.proposal_to_apply.bucket(i);
    sample(out, "proposal_to_apply_seconds_bucket", "{le=\"" + seconds_of_ms(limits::latency_bucket_ms[i]) + "\"}",
           cumulative);
  }
  cumulative += m.proposal_to_apply.bucket(limits::latency_bucket_ms.size());
  sample(out, "proposal_to_apply_seconds_bucket", "{le=\"+Inf\"}", cumulative);
  out += "energo_proposal_to_apply_seconds_sum " + seconds_of_ms(m.proposal_to_apply.sum_ms()) + "\n";
  sample(out, "proposal_to_apply_seconds_count", "", m.proposal_to_apply.count());

  header(out, "submission_refusals_total", "counter",
         "Submissions answered with a failure instead of an outcome, by reason (net::client_errc).");
  for (uint16_t code = 1; code < limits::refusal_reasons_max; ++code) {
    const auto name = net::to_string(static_cast<net::client_errc>(code));
    if (name == "unknown") continue;
    sample(out, "submission_refusals_total", "{reason=\"" + std::string(name) + "\"}",
           m.ingest_refusals_total[code].load(std::memory_order_relaxed));
  }
  one(out, "client_inflight_submissions", "gauge", "Client-port submissions waiting for an answer.",
      m.client_inflight_submissions);
  one(out, "client_connections", "gauge", "Open client-port connections.", m.client_connections);
  one(out, "http_requests_total", "counter", "HTTP requests served by the gateway.", m.http_requests_total);
  one(out, "http_connections_refused_total", "counter", "HTTP connections refused beyond the connection limit.",
      m.http_connections_refused_total);
  one(out, "http_event_subscribers", "gauge", "Open Server-Sent Events streams.", m.http_event_subscribers);
  one(out, "http_event_subscribers_dropped_total", "counter",
      "Event streams closed because the client did not keep up.", m.http_event_subscribers_dropped_total);
  if (cp != nullptr) render_checkpoint(out, *cp);
  return out;
}

}  // namespace energo::actors
