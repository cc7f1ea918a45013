#pragma once
// The checkpoint actor's configuration and the counters it publishes (SPEC §7; docs/node.md
// "Checkpoints on Qtum"). The actor itself is in checkpoint_actor.cpp; it runs only when the
// node's configuration has a [qtum] section, and acts only while this node leads.
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/secp256k1.hpp"
#include "net/qtum/params.hpp"
#include "net/qtum/rpc_client.hpp"

namespace energo::actors {

struct checkpoint_config {
  qtum::network_params params;  // address version, maturity, fee rates, confirmations_required
  qtum::rpc_config rpc;
  crypto::secp256k1_secret_key key;  // the community's Qtum key (P2PKH, compressed)
  uint64_t every_entries = 1000;     // a mark once the applied index is this far past the last one
  uint64_t every_ms = 10 * 60 * 1000;  // ... or this long after the last one (0: entries only)
  uint32_t poll_ms = 1000;           // one step (RPC round) per poll while leader
  uint32_t backoff_max_ms = 30'000;  // step retries after a failure back off up to this
  int64_t funds_low_sat = 10 * 112'400;  // alert `funds_low` when the change left is below this
  uint32_t tracker_window_blocks = 100;  // blocks remembered to detect reorgs
};

// Why anchoring is not progressing; 0 = fine. Stable names for /metrics and energoctl.
enum class checkpoint_alert : uint8_t {
  none = 0,
  unreachable = 1,         // the Qtum node does not answer (transport, timeouts)
  auth = 2,                // 401/403: wrong rpc user/password or cookie
  insufficient_funds = 3,  // spendable outputs do not cover an anchor
  rejected = 4,            // the node refused the transaction (reason in last_error)
  funds_low = 5,           // anchoring works but the change left covers few more anchors
  error = 6,               // anything else (see last_error)
};
[[nodiscard]] const char* to_string(checkpoint_alert a);

inline constexpr std::size_t checkpoint_alert_kinds = 7;  // none .. error

// Written by the checkpoint actor only, read by anyone (`checkpoint list`'s `service`, /metrics:
// actors/metrics.cpp). Counters only grow; gauges are the latest value. Every node's checkpoint
// actor publishes the book gauges (last anchored index and height, anchors confirmed), the
// leader alone the anchoring counters.
struct checkpoint_metrics {
  std::atomic<uint64_t> steps{0};
  std::atomic<uint64_t> marks_proposed{0};
  std::atomic<uint64_t> intents_proposed{0};
  std::atomic<uint64_t> broadcasts{0};          // successful sends, re-sends included
  std::atomic<uint64_t> rebroadcasts{0};        // after a reorg, a leader change or a drop from the mempool
  std::atomic<uint64_t> dropped_resent{0};      // of those: sent again because the node no longer had it
  std::atomic<uint64_t> reorgs_seen{0};         // reorged_out events
  std::atomic<uint64_t> records_proposed{0};
  std::atomic<uint64_t> replacements{0};        // fee bumps / replacements of a refused anchor proposed
  std::atomic<uint64_t> rpc_failures{0};
  std::atomic<uint64_t> coin_scans{0};          // scantxoutset runs (the chain of change was lost)
  // Confirmed anchor records this node saw applied to its book since it started (the first view
  // is the baseline): every replica counts the same records.
  std::atomic<uint64_t> anchors_confirmed{0};
  std::atomic<uint64_t> last_anchored_index{0};  // of the replicated book (0: none yet)
  std::atomic<uint64_t> last_anchored_height{0};
  std::atomic<uint64_t> in_flight_index{0};      // the anchor intent in flight (0: none)
  // Failed steps by the alert they raised (index = checkpoint_alert): RPC errors are `unreachable`,
  // `auth` and `error`; the node's refusals `rejected`.
  std::array<std::atomic<uint64_t>, checkpoint_alert_kinds> failures_by_alert{};
  std::atomic<int64_t> funds_low_sat{0};        // the configured threshold (for the funds_low gauge)
  std::atomic<uint8_t> alert{0};                // checkpoint_alert
  std::atomic<int64_t> funds_sat{-1};           // change left after the latest anchor built (-1 unknown)
  std::atomic<uint64_t> chain_height{0};
  std::atomic<bool> leading{false};

  // Sticky low-funds alert, apart from `alert` (which the latest step's failure overwrites): the
  // change left after the latest anchor built is known and below the threshold.
  [[nodiscard]] bool funds_low() const {
    const int64_t f = funds_sat.load();
    return f >= 0 && f < funds_low_sat.load();
  }

  void set_error(checkpoint_alert a, std::string message);
  void clear_alert();
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace energo::actors
