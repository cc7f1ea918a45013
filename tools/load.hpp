#pragma once
// energo-load's library (issue 8 §7 "Load and comparison"): deterministic load accounts and their
// genesis, pre-signed workloads (place / cancel orders, transfers), and a single-threaded epoll
// driver that keeps many requests in flight against Energo's client port (pipelined, responses
// matched by id) or etcd's v3 JSON gateway (HTTP/1.1 keep-alive, one request per connection), in
// closed loop (C outstanding) or open loop (a target rate; latency from the *intended* send time,
// so a stalled server cannot hide its queueing delay: no coordinated omission).
//
// Concurrency: everything here runs on the caller's thread except `presign`, which splits the
// signing across threads it joins before returning.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crypto/secp256k1.hpp"
#include "ledger/commands.hpp"
#include "ledger/ledger.hpp"
#include "net/client_conn.hpp"

namespace energo::tools::load {

namespace limits {
inline constexpr uint32_t accounts_max = 100'000;
inline constexpr uint32_t concurrency_max = 4096;        // outstanding requests
inline constexpr uint32_t connections_max = 1000;        // below the node's client_connections_max
inline constexpr uint64_t commands_max = 4'000'000;      // pre-signed commands of one run (~1 GiB at most)
inline constexpr uint32_t duration_ms_max = 3'600'000;
inline constexpr uint32_t rate_per_s_max = 1'000'000;
inline constexpr uint32_t retries_max = 5;               // busy / no_leader / timeout: same bytes again
inline constexpr uint32_t retry_delay_ms = 20;
inline constexpr uint32_t drain_ms_max = 15'000;         // after the run, waiting for in-flight answers
inline constexpr int64_t poll_wait_ns_max = 100'000'000;   // one epoll wait at most (checks the clock at least this often)
inline constexpr uint32_t resting_orders_per_account_max = 60;  // the book allows 64
inline constexpr std::size_t read_chunk_bytes = 64u << 10;
inline constexpr std::size_t http_response_bytes_max = 64u << 10;
inline constexpr std::size_t backlog_max = 1'000'000;    // open loop: due sends waiting for an idle lane
inline constexpr uint32_t value_bytes_max = 64u << 10;   // etcd value size
}  // namespace limits

// Key i of a seed: secp256k1 scalar = SHA-256("energo/load/v1/" || seed || "/" || i), retried
// with a counter suffix in the (negligible) case it is out of range. Printable and reproducible.
[[nodiscard]] crypto::secp256k1_secret_key account_key(const std::string& seed, uint32_t index);
[[nodiscard]] ledger::account_address account_address_of(const crypto::secp256k1_secret_key& key);

// A genesis with `accounts` member accounts of `per_account_units` TSL each; the remainder of the
// fixed supply goes to the education and network pools. Params as the example community.
[[nodiscard]] energo::result<ledger::genesis, std::string> make_genesis(uint32_t accounts, const std::string& seed,
                                                                         int64_t genesis_time_ms,
                                                                         int64_t per_account_units);

// ---- Workload -----------------------------------------------------------------------------------

struct mix {
  uint32_t cancel_percent = 50;    // of the measured commands; each cancel needs one warm-up order
  uint32_t transfer_percent = 0;
};

// One lane = one account: its commands are sent one at a time, in nonce order.
struct lane {
  uint32_t account = 0;
  std::vector<std::string> commands;  // encoded signed commands
  std::vector<uint8_t> kinds;         // 0 place, 1 cancel, 2 transfer (parallel to `commands`)
};

// The per-account sequence (deterministic): a cancel whenever the running cancel count falls
// behind `cancel_percent`; transfers likewise. Errors if resting orders would pass the book's
// per-account bound.
[[nodiscard]] energo::result<std::vector<uint8_t>, std::string> account_sequence(uint32_t length, const mix& m);

// ---- Driver -------------------------------------------------------------------------------------

enum class target_kind { energo, etcd };

struct run_config {
  target_kind target = target_kind::energo;
  std::vector<net::endpoint> endpoints;
  bool open_loop = false;
  uint32_t concurrency = 64;      // closed: outstanding requests; open: max in flight
  uint32_t connections = 0;       // 0: energo min(concurrency, 64) pipelined; etcd = concurrency
  uint32_t rate_per_s = 0;        // open loop
  uint32_t duration_ms = 10'000;  // the run stops sending at this bound
  uint32_t drain_ms = 12'000;     // then waits at most this long for answers
  uint32_t value_bytes = 160;     // etcd: value size
  std::string etcd_key_prefix = "energo-load/";
};

struct run_stats {
  uint64_t sent = 0;                 // distinct commands sent at least once
  uint64_t committed = 0;            // definite outcome from the ledger (accepted + refused) / etcd 200
  uint64_t accepted = 0;
  std::map<std::string, uint64_t> refused;  // ledger refusals by code name
  std::map<std::string, uint64_t> errors;   // failures by code (busy, timeout, connection_lost, http_503…)
  uint64_t retries = 0;
  uint64_t unanswered = 0;           // still in flight when the drain bound passed
  uint64_t not_sent = 0;             // open loop: due but never sent (no idle lane before the end)
  double duration_s = 0;             // first send to last answer counted
  int64_t start_unix_ms = 0;         // wall clock at the run's start (time 0 of sent_ms)
  std::vector<uint32_t> latency_us;  // of committed commands
  // Per committed command, in answer order: when it was (intended to be) sent, in ms since the
  // run's start, and the endpoint that answered it; with latency_us, `--timeline` of energo-load.
  std::vector<uint32_t> sent_ms;
  std::vector<uint8_t> endpoint;
  // acknowledged (accepted) nonce per account index, for the lost-acknowledgement check
  std::vector<uint64_t> acked_nonce;
  std::vector<uint8_t> lane_unknown;  // an outcome of this account is unknown (timeout, lost)
  std::vector<std::vector<uint64_t>> order_ids;  // per lane, per command: the accepted order's id (0 if none)
};

struct percentiles {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};
[[nodiscard]] percentiles latency_percentiles(std::vector<uint32_t> latency_us);

// The committed commands by when they were sent, in windows of `window_ms`: one CSV line per
// window (start s, commands, p50/p99/max ms, then the max ms of each endpoint's commands), to see
// when a run stalled and on which node.
[[nodiscard]] std::string latency_timeline_csv(const run_stats& s, std::size_t endpoints, uint32_t window_ms);

// Energo: every lane's commands, `nonce_base[account]` + 1 … in order. `lane_nonces` receives
// the nonce of each command (for the acknowledgement check).
struct energo_work {
  std::vector<lane> lanes;
  std::vector<std::vector<uint64_t>> nonces;  // per lane, per command
  uint32_t accounts = 0;
};

// Runs the driver. For etcd, `work` is ignored (lanes = connections; keys generated).
[[nodiscard]] energo::result<run_stats, std::string> run(const run_config& cfg, const energo_work* work);

// Signs `bodies[i]` with `keys[key_of[i]]` on `threads` threads.
[[nodiscard]] std::vector<std::string> presign(const std::vector<ledger::command_body>& bodies,
                                               const std::vector<uint32_t>& key_of,
                                               const std::vector<crypto::secp256k1_secret_key>& keys,
                                               const crypto::hash256& genesis_hash, unsigned threads);

}  // namespace energo::tools::load
