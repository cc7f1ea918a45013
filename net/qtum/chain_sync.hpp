#pragma once
// Node-facing steps of anchoring, built on rpc_client (SPEC §7):
//   find_anchor_coins  - our unspent outputs via scantxoutset (no wallet on the node), with
//                        generated (coinbase/coinstake) outputs marked so maturity is respected;
//   broadcast          - testmempoolaccept (the node's reject reason verbatim), then
//                        sendrawtransaction; "already in the chain" counts as success;
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

// One sync step: finds the highest tracked block still on the node's chain (walking down from
// the tracked tip), disconnects above it, then connects up to `blocks_max` new blocks. With an
// empty tracker it starts at `start_height`. Returns the events in order.
[[nodiscard]] qtum_result<std::vector<tracker_event>> sync_tracker(rpc_client& rpc, confirmation_tracker& tracker,
                                                                   uint64_t start_height, uint64_t blocks_max = 100);

}  // namespace energo::qtum
