#pragma once
// Node-facing steps of anchoring, built on rpc_client (SPEC §7):
//   find_anchor_coins  - our unspent outputs via scantxoutset (no wallet on the node), with
//                        generated (coinbase/coinstake) outputs marked so maturity is respected;
//   broadcast          - testmempoolaccept (the node's reject reason verbatim), then
//                        sendrawtransaction; "already in the chain" counts as success;
//   node_min_fee_rate  - the node's current minimum fee rate (getmempoolinfo), for fee bumps;
//   sync_tracker       - feeds the node's active chain to a confirmation_tracker block by block,
//                        cutting it back where the node's chain forked (reorg).
#include <string>

#include "net/qtum/builder.hpp"
#include "net/qtum/confirmation_tracker.hpp"
#include "net/qtum/params.hpp"
#include "net/qtum/rpc_client.hpp"

namespace energo::qtum {

namespace limits {
inline constexpr uint64_t sync_blocks_per_call_max = 1000;
}

// Base58 P2PKH address of `key` with the configured version byte.
[[nodiscard]] std::string anchor_address(const network_params& params, const crypto::secp256k1_public_key& key);

[[nodiscard]] qtum_result<scan_result> find_anchor_coins(rpc_client& rpc, const network_params& params,
                                                         const crypto::secp256k1_public_key& key);

[[nodiscard]] qtum_result<txid_t> broadcast(rpc_client& rpc, const bytes& raw_tx);

// max(mempoolminfee, minrelaytxfee) of `getmempoolinfo`, in sat/kvB (the node reports coins/kvB).
[[nodiscard]] qtum_result<int64_t> node_min_fee_rate(rpc_client& rpc);
// The same from a `getmempoolinfo` result (pure): a field missing, negative or above 1 coin/kvB is an error.
[[nodiscard]] qtum_result<int64_t> parse_min_fee_rate(const nlohmann::json& info);

// Reasons a node gives when a transaction pays too little (Bitcoin Core 0.21 / Qtum):
// "min relay fee not met", "mempool min fee not met", "insufficient fee".
[[nodiscard]] bool is_fee_refusal(const std::string& reject_reason);

// One sync step: finds the highest tracked block still on the node's chain (walking down from
// the tracked tip), disconnects above it, then connects up to `blocks_max` new blocks. With an
// empty tracker it starts at `start_height`. Returns the events in order.
[[nodiscard]] qtum_result<std::vector<tracker_event>> sync_tracker(rpc_client& rpc, confirmation_tracker& tracker,
                                                                   uint64_t start_height, uint64_t blocks_max = 100);

}  // namespace energo::qtum
