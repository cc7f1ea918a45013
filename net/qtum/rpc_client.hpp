#pragma once
// JSON-RPC 1.0 over HTTP to a qtumd (or any Bitcoin-Core-lineage node), SPEC §7.
//   - auth: rpcuser/rpcpassword, or the node's `.cookie` file, re-read on every attempt so a
//     restarted node (new cookie) is picked up;
//   - timeouts for connect and read; a bounded response body;
//   - retries with exponential backoff (bounded attempts) for transport failures, HTTP 503 and
//     RPC_IN_WARMUP (-28); never for auth failures or the node's own errors, which are returned
//     verbatim (rpc_code + message).
// One call at a time per client object (it is not thread-safe); use one client per thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/qtum/builder.hpp"
#include "net/qtum/error.hpp"
#include "net/qtum/tx.hpp"

namespace energo::qtum {

namespace limits {
inline constexpr uint32_t rpc_attempts_max = 50;
inline constexpr uint32_t rpc_backoff_ms_max = 60'000;
inline constexpr std::size_t rpc_response_bytes_max = 64u << 20;  // getblock of a full block fits
inline constexpr std::size_t cookie_bytes_max = 1024;
inline constexpr std::size_t block_txids_max = 100'000;
inline constexpr std::size_t scan_coins_max = 10'000;
// Arrays/objects nested in a reply. Core's deepest answer (getblock verbosity 2) nests 6; the
// bound keeps nlohmann's recursive dump() (error texts) off a hostile reply's depth (stack).
inline constexpr std::size_t rpc_json_depth_max = 64;
}  // namespace limits

// Bitcoin Core RPC error codes the client interprets.
inline constexpr int rpc_in_warmup = -28;
inline constexpr int rpc_verify_rejected = -26;
inline constexpr int rpc_verify_already_in_chain = -27;

struct rpc_config {
  std::string host = "127.0.0.1";
  uint16_t port = 3889;
  std::string user;         // basic auth when non-empty ...
  std::string password;
  std::string cookie_file;  // ... else "__cookie__:<password>" read from this file
  uint32_t connect_timeout_ms = 2000;
  uint32_t read_timeout_ms = 30'000;
  uint32_t attempts_max = 5;  // 1 = no retry
  uint32_t backoff_initial_ms = 100;
  uint32_t backoff_max_ms = 2000;
  std::size_t response_bytes_max = 16u << 20;
};

struct block_info {
  crypto::hash256 hash{};  // internal byte order, like txid_t
  uint64_t height = 0;
  crypto::hash256 prev_hash{};  // zero for the genesis block
  std::vector<txid_t> txids;
};

struct mempool_verdict {
  bool allowed = false;
  std::string reject_reason;  // the node's text, verbatim
};

struct scan_result {
  uint64_t height = 0;  // the tip the scan saw
  std::vector<utxo> coins;
};

class rpc_client {
 public:
  explicit rpc_client(rpc_config config);

  // Any method; returns the "result" member.
  [[nodiscard]] qtum_result<nlohmann::json> call(const std::string& method,
                                                 const nlohmann::json& params = nlohmann::json::array());

  [[nodiscard]] qtum_result<uint64_t> get_block_count();
  [[nodiscard]] qtum_result<crypto::hash256> get_block_hash(uint64_t height);
  [[nodiscard]] qtum_result<block_info> get_block(const crypto::hash256& hash);
  [[nodiscard]] qtum_result<bytes> get_raw_transaction(const txid_t& txid,
                                                       const std::optional<crypto::hash256>& block_hash = {});
  [[nodiscard]] qtum_result<mempool_verdict> test_mempool_accept(const bytes& raw_tx);
  [[nodiscard]] qtum_result<txid_t> send_raw_transaction(const bytes& raw_tx);
  // `scantxoutset start [descriptor]`; coins have `generated` = false (see find_anchor_coins).
  [[nodiscard]] qtum_result<scan_result> scan_tx_out_set(const std::string& descriptor);

  // Attempts the last call() made (1 when it succeeded at once); for tests and metrics.
  [[nodiscard]] uint32_t last_attempts() const { return last_attempts_; }
  [[nodiscard]] const rpc_config& config() const { return config_; }

 private:
  struct attempt_outcome;
  attempt_outcome attempt(const std::string& body, const std::string& user, const std::string& password);

  rpc_config config_;
  uint64_t next_id_ = 1;
  uint32_t last_attempts_ = 0;
};

// The pure halves of a call (no I/O), exposed for tests and the fuzz target
// (tests/fuzz/fuzz_qtum_rpc.cpp): what one HTTP exchange's status and body mean, and what each
// method's "result" member holds. Every malformed answer is an error value, never an exception.
struct rpc_reply {
  bool retryable = false;  // transport-like: HTTP 503, RPC_IN_WARMUP
  qtum_result<nlohmann::json> result = make_error(error_code::bad_response, "no reply");
};
[[nodiscard]] rpc_reply parse_rpc_reply(int http_status, std::string_view body);
[[nodiscard]] qtum_result<uint64_t> parse_block_count(const nlohmann::json& result);
[[nodiscard]] qtum_result<crypto::hash256> parse_block_hash(const nlohmann::json& result);
[[nodiscard]] qtum_result<block_info> parse_block(const nlohmann::json& result, const crypto::hash256& expected_hash);
[[nodiscard]] qtum_result<bytes> parse_raw_transaction(const nlohmann::json& result);
[[nodiscard]] qtum_result<mempool_verdict> parse_mempool_verdict(const nlohmann::json& result);
[[nodiscard]] qtum_result<txid_t> parse_sent_txid(const nlohmann::json& result);
[[nodiscard]] qtum_result<scan_result> parse_scan(const nlohmann::json& result);

// Satoshis from a JSON amount in coins (8 decimals); nullopt if not a number, negative, or not
// exactly representable (amounts above 2^53 sat are refused rather than rounded).
[[nodiscard]] std::optional<int64_t> amount_to_sat(const nlohmann::json& amount);

}  // namespace energo::qtum
