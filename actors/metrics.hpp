#pragma once
// The node's metrics registry: plain atomics the actors update (relaxed stores and adds, no locks,
// no allocation) and the HTTP gateway reads to render Prometheus text (docs/node.md "Metrics").
// Concurrency: every field is written by one actor (raft, apply, ingest workers, the client
// broker, the gateway) and read by any thread; values are independent, so relaxed order is enough
// (a scrape may see the commit index of one instant and the applied index of the next).
// Monotonic: every *_total counter only grows; gauges move both ways.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace energo::actors {

namespace limits {
// Upper bounds (milliseconds) of the proposal-to-apply latency histogram; +Inf is implicit.
inline constexpr std::array<uint64_t, 12> latency_bucket_ms = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
// Refusal reasons counted per net::client_errc value (1..reasons_max-1).
inline constexpr std::size_t refusal_reasons_max = 16;
}  // namespace limits

// A fixed-bucket histogram of milliseconds (Prometheus renders it in seconds).
class latency_histogram {
 public:
  void observe_ms(uint64_t ms) noexcept {
    std::size_t i = 0;
    while (i < limits::latency_bucket_ms.size() && ms > limits::latency_bucket_ms[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);  // non-cumulative here, cumulated when rendered
    sum_ms_.fetch_add(ms, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t sum_ms() const noexcept { return sum_ms_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, limits::latency_bucket_ms.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ms_{0};
  std::atomic<uint64_t> count_{0};
};

struct node_metrics {
  using counter = std::atomic<uint64_t>;
  using gauge = std::atomic<int64_t>;
  // raft actor
  gauge raft_term{0};
  gauge raft_commit_index{0};
  gauge raft_last_index{0};
  gauge raft_snapshot_index{0};
  gauge raft_is_leader{0};
  counter raft_leader_changes_total{0};
  counter raft_snapshot_chunks_sent_total{0};
  gauge raft_proposals_pending{0};
  counter raft_log_writes_synced_total{0};    // persist calls with a sync (entries, term or vote)
  counter raft_log_writes_deferred_total{0};  // persist calls of the commit index only, unsynced
  // apply actor
  gauge apply_applied_index{0};          // in memory (reads and answers see it)
  gauge apply_durable_index{0};          // persisted with the ledger image
  counter apply_entries_total{0};        // log entries applied (any kind)
  counter apply_commands_total{0};       // client commands applied (accepted or refused by the ledger)
  counter apply_commands_refused_total{0};
  counter apply_trades_total{0};
  counter apply_traded_wh_total{0};
  counter apply_traded_units_total{0};
  counter apply_fees_units_total{0};
  counter apply_minted_wh_total{0};
  counter apply_burned_wh_total{0};
  gauge apply_waiting_commands{0};
  gauge apply_pending_reads{0};
  gauge apply_outgoing_proposals{0};
  latency_histogram proposal_to_apply;
  // ingest + client broker + gateway
  std::array<counter, limits::refusal_reasons_max> ingest_refusals_total{};  // by net::client_errc
  gauge client_inflight_submissions{0};
  gauge client_connections{0};
  counter http_requests_total{0};
  counter http_connections_refused_total{0};
  gauge http_event_subscribers{0};
  counter http_event_subscribers_dropped_total{0};

  void refused(uint16_t code) noexcept {
    ingest_refusals_total[code < limits::refusal_reasons_max ? code : 0].fetch_add(1, std::memory_order_relaxed);
  }
};

struct checkpoint_metrics;  // actors/checkpoint_actor.hpp (written by the checkpoint actor)

// Prometheus text exposition format 0.0.4 of every metric above, prefixed `energo_`, with HELP
// and TYPE lines (the scraper adds the instance label); plus the `checkpoint_*` family when the
// node anchors on Qtum (`cp` non-null, i.e. a [qtum] section).
[[nodiscard]] std::string render_prometheus(const node_metrics& m, const checkpoint_metrics* cp = nullptr);

}  // namespace energo::actors
