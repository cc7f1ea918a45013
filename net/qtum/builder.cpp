#include "net/qtum/builder.hpp"

#include <algorithm>

#include "common/assert.hpp"
#include "common/checked.hpp"
#include "crypto/address.hpp"
#include "crypto/hash.hpp"
#include "net/qtum/script.hpp"
#include "net/qtum/signing.hpp"

namespace energo::qtum {
namespace {

constexpr std::size_t compact_size_bytes(uint64_t n) { return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9; }

std::size_t output_bytes(const tx_output& out) {
  return 8 + compact_size_bytes(out.script_pubkey.size()) + out.script_pubkey.size();
}

// Size of the transaction once signed, every scriptSig at its maximum.
std::size_t signed_size_max(std::size_t input_count, std::span<const tx_output> outputs) {
  std::size_t size = 4 + compact_size_bytes(input_count) +
                     input_count * (32 + 4 + compact_size_bytes(p2pkh_script_sig_bytes_max) +
                                    p2pkh_script_sig_bytes_max + 4) +
                     compact_size_bytes(outputs.size()) + 4;
  for (const auto& out : outputs) size += output_bytes(out);
  return size;
}

std::string sat_text(int64_t sat) { return std::to_string(sat) + " sat"; }

}  // namespace

std::optional<int64_t> fee_for_size(std::size_t size_bytes, int64_t rate_sat_per_kvb) {
  if (rate_sat_per_kvb < 0) return std::nullopt;
  const auto product = checked_mul<int64_t>(static_cast<int64_t>(size_bytes), rate_sat_per_kvb);
  if (!product) return std::nullopt;
  return *product / 1000 + (*product % 1000 != 0 ? 1 : 0);
}

int64_t dust_threshold_sat(const tx_output& output, int64_t dust_relay_fee_sat_per_kvb) {
  if (!output.script_pubkey.empty() && output.script_pubkey[0] == op::return_) return 0;  // unspendable
  const std::size_t size = output_bytes(output) + p2pkh_input_bytes_for_dust;
  // Core's CFeeRate::GetFee rounds toward zero here.
  return static_cast<int64_t>(size) * dust_relay_fee_sat_per_kvb / 1000;
}

bool is_dust(const tx_output& output, int64_t dust_relay_fee_sat_per_kvb) {
  return output.value_sat < dust_threshold_sat(output, dust_relay_fee_sat_per_kvb);
}

int64_t effective_fee_rate(const network_params& params) {
  return std::max(params.fee_rate_sat_per_kvb, params.relay_fee_min_sat_per_kvb);
}

bool is_mature(const utxo& coin, uint64_t tip_height, const network_params& params) {
  if (!coin.generated) return true;
  if (!coin.height) return false;
  return tip_height + 1 >= *coin.height && tip_height + 1 - *coin.height >= params.coinbase_maturity_blocks;
}

qtum_result<built_anchor> build_anchor_tx(const network_params& params, const crypto::secp256k1_secret_key& key,
                                          std::span<const utxo> coins, uint64_t tip_height,
                                          const anchor_payload& payload, const std::optional<outpoint>& prefer) {
  const int64_t rate = effective_fee_rate(params);
  if (rate <= 0 || params.dust_relay_fee_sat_per_kvb < 0) {
    return make_error(error_code::invalid_argument, "fee rates must be positive");
  }
  const bytes payload_bytes = encode_anchor_payload(payload);
  if (payload_bytes.size() > params.op_return_data_bytes_max) {
    return make_error(error_code::invalid_argument, "anchor payload exceeds the OP_RETURN data limit");
  }
  const bytes our_script = p2pkh_script(crypto::hash160_of(key.public_key().bytes));

  // Candidates: ours and mature; the preferred outpoint first, then by value descending, then
  // by outpoint so the choice is deterministic.
  std::vector<const utxo*> usable;
  int64_t immature_sat = 0;
  std::size_t immature_count = 0;
  for (const auto& c : coins) {
    if (c.script_pubkey != our_script || c.value_sat <= 0) continue;
    if (!is_mature(c, tip_height, params)) {
      immature_sat = checked_add(immature_sat, c.value_sat).value_or(INT64_MAX);
      ++immature_count;
      continue;
    }
    usable.push_back(&c);
  }
  std::sort(usable.begin(), usable.end(), [&](const utxo* a, const utxo* b) {
    const bool pa = prefer && a->point == *prefer, pb = prefer && b->point == *prefer;
    if (pa != pb) return pa;
    if (a->value_sat != b->value_sat) return a->value_sat > b->value_sat;
    return a->point < b->point;
  });

  built_anchor built;
  transaction& tx = built.tx;
  tx.version = 2;
  tx.outputs.push_back(tx_output{0, op_return_script(payload_bytes)});
  const tx_output change_template{0, our_script};
  const std::vector<tx_output> with_change{tx.outputs[0], change_template};

  int64_t total_sat = 0;
  int64_t usable_sat = 0;
  for (const utxo* c : usable) usable_sat = checked_add(usable_sat, c->value_sat).value_or(INT64_MAX);
  bool funded = false;
  int64_t need_sat = 0;
  for (std::size_t i = 0; i < usable.size() && i < limits::anchor_inputs_max; ++i) {
    const auto sum = checked_add(total_sat, usable[i]->value_sat);
    if (!sum) return make_error(error_code::invalid_argument, "input values overflow");
    total_sat = *sum;
    tx.inputs.push_back(tx_input{usable[i]->point, {}, 0xffffffff, {}});
    built.spent.push_back(usable[i]->point);
    const auto fee_change = fee_for_size(signed_size_max(tx.inputs.size(), with_change), rate);
    const auto fee_plain = fee_for_size(signed_size_max(tx.inputs.size(), std::span(with_change).first(1)), rate);
    if (!fee_change || !fee_plain) return make_error(error_code::invalid_argument, "fee overflows");
    need_sat = *fee_plain;
    tx_output change = change_template;
    change.value_sat = total_sat - *fee_change;
    if (change.value_sat > 0 && !is_dust(change, params.dust_relay_fee_sat_per_kvb)) {
      tx.outputs.push_back(change);
      built.fee_sat = *fee_change;
      funded = true;
      break;
    }
    if (total_sat >= *fee_plain) {  // change would be dust: it all goes to the fee
      built.fee_sat = total_sat;
      funded = true;
      break;
    }
  }
  if (!funded) {
    if (need_sat == 0) {
      need_sat = fee_for_size(signed_size_max(1, std::span(with_change).first(1)), rate).value_or(0);
    }
    std::string msg = "insufficient funds for an anchor: " + std::to_string(usable.size()) +
                      " spendable output(s) worth " + sat_text(usable_sat) + " at the anchor address";
    if (usable.size() > limits::anchor_inputs_max) {
      msg += " (at most " + std::to_string(limits::anchor_inputs_max) + " used per anchor)";
    }
    msg += ", need at least " + sat_text(need_sat) + " for the fee at " + std::to_string(rate) + " sat/kvB";
    if (immature_count > 0) {
      msg += "; " + std::to_string(immature_count) + " immature generated output(s) worth " +
             sat_text(immature_sat) + " wait for " + std::to_string(params.coinbase_maturity_blocks) +
             " confirmations";
    }
    return make_error(error_code::insufficient_funds, std::move(msg));
  }

  for (std::size_t i = 0; i < tx.inputs.size(); ++i) sign_p2pkh_input(tx, i, our_script, key);
  built.raw = encode(tx);
  built.txid = txid_of(tx);
  const std::size_t estimate = signed_size_max(tx.inputs.size(), tx.outputs);
  ENERGO_ASSERT(built.raw.size() <= estimate, "signed anchor larger than its fee estimate");
  ENERGO_ASSERT(built.fee_sat >= fee_for_size(built.raw.size(), rate).value_or(INT64_MAX),
                "anchor fee below the rate");
  if (tx.outputs.size() == 2) {
    built.change = utxo{outpoint{built.txid, 1}, tx.outputs[1].value_sat, our_script, std::nullopt, false};
  }
  return built;
}

}  // namespace energo::qtum
