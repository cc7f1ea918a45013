#pragma once
// Building and signing one anchor transaction from a set of unspent outputs of the community's
// P2PKH address (SPEC §7):
//   inputs   our P2PKH outputs - the previous anchor's change first, then largest first;
//   output 0 OP_RETURN with the 77-byte anchor payload, value 0;
//   output 1 change back to the same address, left out when it would be dust (it goes to fee).
// Fee = ceil(size × rate / 1000) with rate = max(configured, relay minimum), size computed with
// the largest possible signatures, so the signed transaction never pays less than the rate.
#include <optional>
#include <span>

#include "crypto/secp256k1.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/params.hpp"
#include "net/qtum/tx.hpp"

namespace energo::qtum {

namespace limits {
inline constexpr std::size_t anchor_inputs_max = 50;  // keeps the anchor far below 100 kB
}

// Bitcoin Core's input size assumption for dust (32+4+1+107+4).
inline constexpr std::size_t p2pkh_input_bytes_for_dust = 148;

struct utxo {
  outpoint point;
  int64_t value_sat = 0;
  bytes script_pubkey;
  std::optional<uint64_t> height;  // nullopt: unconfirmed (in the mempool)
  bool generated = false;          // coinbase (or coinstake on Qtum): matures first
  bool operator==(const utxo&) const = default;
};

// ceil(size_bytes × rate / 1000); nullopt on overflow or a negative rate.
[[nodiscard]] std::optional<int64_t> fee_for_size(std::size_t size_bytes, int64_t rate_sat_per_kvb);
// Bitcoin Core's GetDustThreshold for a non-witness output: value below this is dust.
[[nodiscard]] int64_t dust_threshold_sat(const tx_output& output, int64_t dust_relay_fee_sat_per_kvb);
[[nodiscard]] bool is_dust(const tx_output& output, int64_t dust_relay_fee_sat_per_kvb);
// max(configured fee rate, relay minimum).
[[nodiscard]] int64_t effective_fee_rate(const network_params& params);
// Spendable at the next block (height tip + 1): non-generated outputs always, generated outputs
// once coinbase_maturity_blocks deep (Core: spend height - coin height >= maturity).
[[nodiscard]] bool is_mature(const utxo& coin, uint64_t tip_height, const network_params& params);

struct built_anchor {
  transaction tx;
  bytes raw;
  txid_t txid{};
  int64_t fee_sat = 0;
  std::vector<outpoint> spent;
  std::optional<utxo> change;  // the output the next anchor spends
};

// `coins` may hold anything; only mature outputs paying exactly our P2PKH script are used.
// `prefer` (the previous anchor's change) is spent first when it is among them.
[[nodiscard]] qtum_result<built_anchor> build_anchor_tx(const network_params& params,
                                                        const crypto::secp256k1_secret_key& key,
                                                        std::span<const utxo> coins, uint64_t tip_height,
                                                        const anchor_payload& payload,
                                                        const std::optional<outpoint>& prefer = std::nullopt);

}  // namespace energo::qtum
