#pragma once
// The checkpoint actor's configuration and the counters it publishes (SPEC §7; docs/node.md
// "Checkpoints on Qtum"). The actor itself is in checkpoint_actor.cpp; it runs only when the
// node's configuration has a [qtum] section, and acts only while this node leads.
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

// Written by the checkpoint actor, read by anyone (client broker, a future /metrics). Counters
// only grow; gauges are the latest value.
struct checkpoint_metrics {
  std::atomic<uint64_t> steps{0};
  std::atomic<uint64_t> marks_proposed{0};
  std::atomic<uint64_t> intents_proposed{0};
  std::atomic<uint64_t> broadcasts{0};          // successful sends, re-sends included
  std::atomic<uint64_t> rebroadcasts{0};        // after a reorg or a leader change
  std::atomic<uint64_t> reorgs_seen{0};         // reorged_out events
  std::atomic<uint64_t> records_proposed{0};
  std::atomic<uint64_t> rpc_failures{0};
  std::atomic<uint64_t> coin_scans{0};          // scantxoutset runs (the chain of change was lost)
  std::atomic<uint8_t> alert{0};                // checkpoint_alert
  std::atomic<int64_t> funds_sat{-1};           // change left after the latest anchor built (-1 unknown)
  std::atomic<uint64_t> chain_height{0};
  std::atomic<bool> leading{false};

  void set_error(checkpoint_alert a, std::string message);
  void clear_alert();
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace energo::actors
