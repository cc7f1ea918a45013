#pragma once
// energo-node settings (docs/node.md "Configuration"): a TOML file, then command-line flags on
// top. Unknown keys are reported as warnings (a typo must not pass silently, but an older node
// must still start with a newer file).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace energo::node {

// [qtum]: checkpoints on Qtum (docs/node.md "Checkpoints on Qtum"). Anchoring is on when the
// section is present. Numeric overrides left unset keep the network preset's value.
struct qtum_config {
  bool enabled = false;
  std::string network = "qtum-regtest";  // qtum-main | qtum-test | qtum-regtest | litecoin-regtest
  std::string rpc_url;                   // http://host:port (default port: the network's)
  std::string rpc_cookie_file;           // the node's .cookie ...
  std::string rpc_user, rpc_password;    // ... or rpcuser / rpcpassword
  uint32_t rpc_timeout_ms = 10000;
  std::string key_file;                  // energo-keys secp256k1 key file (WIF), the community's key
  std::optional<uint32_t> address_version;
  std::optional<uint32_t> coinbase_maturity_blocks;
  std::optional<uint64_t> fee_rate_sat_per_kvb, relay_fee_min_sat_per_kvb, dust_relay_fee_sat_per_kvb;
  std::optional<uint32_t> confirmations;
  uint64_t every_entries = 1000;
  uint64_t every_ms = 10 * 60 * 1000;
  uint32_t poll_ms = 1000;
  uint64_t funds_low_sat = 1'124'000;  // ten anchors at Qtum's minimum fee
};

struct node_config {
  std::string name = "node";
  std::string data_dir;
  std::string peer_listen = "127.0.0.1:7100";
  std::string client_listen = "127.0.0.1:7200";
  std::string bootstrap_file;                  // first start of an initial voter
  std::string join;                            // not supported yet (membership changes come later)
  // Raft timings
  uint32_t tick_ms = 50;
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 2;
  uint64_t snapshot_every_entries = 100000;  // apply: a snapshot (and log compaction) every N entries
  // Limits
  uint32_t submit_inflight_max = 4096;       // client submissions pending in this node; beyond: busy
  uint32_t client_connections_max = 1024;
  uint32_t proposal_commands_max = 256;      // commands batched into one log entry
  uint32_t submit_timeout_ms = 10000;        // a submission not applied by then gets `timeout`
  uint32_t ingest_workers = 0;               // 0 = hardware concurrency
  // The node refuses to start, and stops (exit 5), when the data directory's file system has less
  // free than this: RocksDB needs room to flush and compact, and a node that runs into a full disk
  // mid-write can only stop. 0 = no reserve (a failed write still stops the node, exit 5).
  uint32_t disk_free_mib_min = 64;
  // Clock (leader only)
  bool clock_enabled = true;
  uint32_t clock_interval_ms = 1000;
  int64_t clock_step_ms_max = 15 * 60 * 1000;  // one tick never advances ledger time more
  // Demo and test communities only: ledger time = anchor + speedup × elapsed (actors/tick_source.hpp).
  int64_t clock_speedup = 1;
  // HTTP gateway (docs/node.md "HTTP API"): off unless a listen address is set; loopback
  // addresses are the norm (the gateway has no TLS; put a reverse proxy in front to expose it).
  std::string http_listen;                   // host:port, e.g. 127.0.0.1:7300; empty = no gateway
  uint32_t http_connections_max = 64;        // served at once (one thread each); beyond: 503
  uint32_t http_body_bytes_max = 64 * 1024;  // a request body; beyond: 413
  // Logging
  std::string log_level = "info";  // trace, debug, info, warn, error
  std::string log_format = "text"; // text or json
  qtum_config qtum;
};

struct config_load {
  node_config config;
  std::vector<std::string> warnings;  // unknown keys
};

// Parses `path` (if not empty) into `base`. Errors: unreadable file, TOML syntax, wrong types,
// values out of range.
[[nodiscard]] energo::result<config_load, std::string> load_config(const std::string& path, node_config base);
// "http://host:port", "host:port" or "http://host" (then `default_port`); nullopt otherwise.
struct rpc_endpoint {
  std::string host;
  uint16_t port = 0;
};
[[nodiscard]] std::optional<rpc_endpoint> parse_rpc_url(std::string_view url, uint16_t default_port);

// Checks the combination (after flags): data dir set, timings sane, addresses parse.
[[nodiscard]] energo::result<void, std::string> validate_config(const node_config& c);

}  // namespace energo::node
