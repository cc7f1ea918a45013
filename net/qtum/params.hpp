#pragma once
// Network parameters of the chain that carries the anchors. They are configuration, not constants
// (SPEC §7): the same code anchors on Qtum mainnet, testnet, regtest, or - in tests - on a
// Bitcoin-Core-lineage node such as litecoind whose serialization and legacy signing are identical.
#include <cstdint>
#include <string>

namespace energo::qtum {

struct network_params {
  std::string name;                       // for messages only
  uint8_t pubkey_address_version = 58;    // P2PKH base58 version byte (Qtum mainnet 58, test/regtest 120)
  uint16_t rpc_port = 3889;               // Qtum mainnet 3889, testnet/regtest 13889
  std::string cookie_subpath = ".cookie"; // below the node's data directory
  uint32_t coinbase_maturity_blocks = 2000;  // generated outputs spendable only this deep
  // Qtum is proof of stake: the coinstake (second transaction of a block) matures like the
  // coinbase. When true, outputs of a block's transaction 1 are treated as generated too.
  bool coinstake_matures = true;
  int64_t relay_fee_min_sat_per_kvb = 400'000;   // node policy -minrelaytxfee (Qtum 0.004 QTUM/kvB)
  int64_t dust_relay_fee_sat_per_kvb = 400'000;  // node policy -dustrelayfee
  int64_t fee_rate_sat_per_kvb = 400'000;        // what we pay; never below the relay minimum
  uint32_t confirmations_required = 6;           // 'confirmed' at this depth
  std::size_t op_return_data_bytes_max = 80;     // datacarrier payload limit (one OP_RETURN per tx)
};

// Presets; any field may be overridden from the node's configuration.
inline network_params qtum_mainnet() {
  return network_params{.name = "qtum-main", .pubkey_address_version = 58, .rpc_port = 3889,
                        .cookie_subpath = ".cookie"};
}
inline network_params qtum_testnet() {
  return network_params{.name = "qtum-test", .pubkey_address_version = 120, .rpc_port = 13889,
                        .cookie_subpath = "testnet3/.cookie"};
}
inline network_params qtum_regtest() {
  return network_params{.name = "qtum-regtest", .pubkey_address_version = 120, .rpc_port = 13889,
                        .cookie_subpath = "regtest/.cookie", .coinbase_maturity_blocks = 500,
                        .confirmations_required = 1};
}
// Debian's litecoind -regtest with Qtum's fee policy (-minrelaytxfee=0.004 -dustrelayfee=0.004):
// the stand-in used by the integration tests (DEPENDENCIES.md).
inline network_params litecoin_regtest_with_qtum_policy() {
  return network_params{.name = "litecoin-regtest", .pubkey_address_version = 111, .rpc_port = 19443,
                        .cookie_subpath = "regtest/.cookie", .coinbase_maturity_blocks = 100,
                        .coinstake_matures = false, .confirmations_required = 3};
}

}  // namespace energo::qtum
