#include "net/qtum/chain_sync.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "crypto/address.hpp"
#include "crypto/hash.hpp"
#include "net/qtum/script.hpp"

namespace energo::qtum {

std::string anchor_address(const network_params& params, const crypto::secp256k1_public_key& key) {
  crypto::address a;
  a.version = params.pubkey_address_version;
  a.hash = crypto::hash160_of(key.bytes);
  return a.to_string();
}

qtum_result<scan_result> find_anchor_coins(rpc_client& rpc, const network_params& params,
                                           const crypto::secp256k1_public_key& key) {
  auto scan = rpc.scan_tx_out_set("addr(" + anchor_address(params, key) + ")");
  if (!scan) return scan;
  // Older nodes do not say which outputs are generated: look at the block instead. A coinbase
  // is transaction 0 of its block; on Qtum the coinstake is transaction 1 (treating any
  // transaction 1 as generated only delays spending it, never breaks a rule).
  std::map<uint64_t, block_info> blocks;
  for (auto& coin : scan->coins) {
    if (coin.generated || !coin.height) continue;
    auto it = blocks.find(*coin.height);
    if (it == blocks.end()) {
      auto hash = rpc.get_block_hash(*coin.height);
      if (!hash) return unexpected<qtum_error>{hash.error()};
      auto block = rpc.get_block(*hash);
      if (!block) return unexpected<qtum_error>{block.error()};
      it = blocks.emplace(*coin.height, std::move(*block)).first;
    }
    const auto& txids = it->second.txids;
    const auto pos = std::find(txids.begin(), txids.end(), coin.point.txid);
    if (pos == txids.end()) continue;  // the chain moved since the scan; the next scan corrects it
    const auto index = static_cast<std::size_t>(pos - txids.begin());
    coin.generated = index == 0 || (params.coinstake_matures && index == 1);
  }
  return scan;
}

qtum_result<txid_t> broadcast(rpc_client& rpc, const bytes& raw_tx) {
  auto verdict = rpc.test_mempool_accept(raw_tx);
  if (!verdict) return unexpected<qtum_error>{verdict.error()};
  if (!verdict->allowed) {
    // Already mined or already in the mempool: broadcasting again is harmless and succeeds.
    if (verdict->reject_reason != "txn-already-in-mempool" && verdict->reject_reason != "txn-already-known") {
      return make_error(error_code::rejected, verdict->reject_reason);
    }
  }
  auto sent = rpc.send_raw_transaction(raw_tx);
  if (!sent && sent.error().code == error_code::rpc && sent.error().rpc_code == rpc_verify_already_in_chain) {
    auto tx = decode_transaction(raw_tx);
    if (tx) return txid_of(*tx);
  }
  return sent;
}

qtum_result<int64_t> parse_min_fee_rate(const nlohmann::json& info) {
  constexpr double sat_per_coin = 100'000'000.0;
  int64_t rate = 0;
  for (const char* field : {"mempoolminfee", "minrelaytxfee"}) {
    if (!info.is_object() || !info.contains(field) || !info[field].is_number()) {
      return make_error(error_code::bad_response, std::string("getmempoolinfo has no number ") + field);
    }
    // The node prints whole satoshis as decimal coins; rounding to the nearest satoshi is exact
    // for every amount below 2^53 satoshi.
    const double coins = info[field].get<double>();
    if (!(coins >= 0.0 && coins <= 1.0)) {
      return make_error(error_code::bad_response, std::string(field) + " outside [0, 1] coin/kvB: " + info[field].dump());
    }
    rate = std::max<int64_t>(rate, std::llround(coins * sat_per_coin));
  }
  return rate;
}

qtum_result<int64_t> node_min_fee_rate(rpc_client& rpc) {
  auto info = rpc.call("getmempoolinfo");
  if (!info) return unexpected<qtum_error>{info.error()};
  return parse_min_fee_rate(*info);
}

bool is_fee_refusal(const std::string& reject_reason) {
  return reject_reason.find("min relay fee not met") != std::string::npos ||
         reject_reason.find("mempool min fee not met") != std::string::npos ||
         reject_reason.find("insufficient fee") != std::string::npos;
}

qtum_result<std::vector<tracker_event>> sync_tracker(rpc_client& rpc, confirmation_tracker& tracker,
                                                     uint64_t start_height, uint64_t blocks_max) {
  blocks_max = std::clamp<uint64_t>(blocks_max, 1, limits::sync_blocks_per_call_max);
  std::vector<tracker_event> events;
  auto count = rpc.get_block_count();
  if (!count) return unexpected<qtum_error>{count.error()};
  uint64_t next = start_height;
  if (const auto tip = tracker.tip_height()) {
    // Walk down from min(tracked tip, node tip) to the first block both agree on.
    const uint64_t base = *tracker.window_base_height();
    uint64_t h = std::min(*tip, *count);
    bool found = false;
    while (true) {
      auto node_hash = rpc.get_block_hash(h);
      if (!node_hash) return unexpected<qtum_error>{node_hash.error()};
      if (tracker.hash_at(h) == *node_hash) {
        found = true;
        break;
      }
      if (h == base) break;
      --h;
    }
    if (!found) {
      auto e = tracker.reset();
      events.insert(events.end(), e.begin(), e.end());
      next = base;
    } else {
      auto e = tracker.disconnect_above(h);
      events.insert(events.end(), e.begin(), e.end());
      next = h + 1;
    }
  }
  for (uint64_t height = next; height <= *count && height < next + blocks_max; ++height) {
    auto hash = rpc.get_block_hash(height);
    if (!hash) return unexpected<qtum_error>{hash.error()};
    auto block = rpc.get_block(*hash);
    if (!block) return unexpected<qtum_error>{block.error()};
    auto e = tracker.connect_block(height, block->hash, block->prev_hash, block->txids);
    if (!e) break;  // the chain changed under us; the next sync walks back and repairs
    events.insert(events.end(), e->begin(), e->end());
  }
  return events;
}

}  // namespace energo::qtum
