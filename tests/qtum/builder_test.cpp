// Anchor payload, fee and dust rules, coin selection and the signed anchor transaction.
#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/builder.hpp"
#include "net/qtum/script.hpp"
#include "net/qtum/signing.hpp"
#include "tests/qtum/test_support.hpp"

namespace energo::qtum {
namespace {

using test::hex;

anchor_payload sample_payload() {
  anchor_payload p;
  p.cluster_id_hash = cluster_id_hash_of("community-7");
  p.log_index = 0x0102030405060708ULL;
  p.state_root.fill(0xab);
  return p;
}

TEST(qtum_anchor_payload, layout_is_magic_version_cluster_index_root) {
  const auto p = sample_payload();
  const bytes b = encode_anchor_payload(p);
  ASSERT_EQ(b.size(), 77u);
  // Written out by hand from the format in anchor.hpp / README.md.
  std::string root_hex;
  for (int i = 0; i < 32; ++i) root_hex += "ab";
  EXPECT_EQ(crypto::to_hex(b), "45474350" "01" + crypto::to_hex(p.cluster_id_hash) + "0102030405060708" + root_hex);
  EXPECT_EQ(decode_anchor_payload(b).value(), p);
  // The cluster id hash: SHA-256("energo/cluster-id" || 0x00 || id).
  bytes pre(std::string_view("energo/cluster-id").begin(), std::string_view("energo/cluster-id").end());
  pre.push_back(0);
  for (char c : std::string_view("community-7")) pre.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(p.cluster_id_hash, crypto::sha256(pre));
}

TEST(qtum_anchor_payload, refuses_wrong_magic_version_and_length) {
  bytes b = encode_anchor_payload(sample_payload());
  bytes bad = b;
  bad[0] ^= 1;
  EXPECT_EQ(decode_anchor_payload(bad).error().code, error_code::malformed_payload);
  bad = b;
  bad[4] = 2;
  EXPECT_NE(decode_anchor_payload(bad).error().message.find("version 2"), std::string::npos);
  bad = b;
  bad.push_back(0);
  EXPECT_FALSE(decode_anchor_payload(bad).has_value());
  bad = b;
  bad.pop_back();
  EXPECT_FALSE(decode_anchor_payload(bad).has_value());
  EXPECT_FALSE(decode_anchor_payload(bytes{}).has_value());
}

TEST(qtum_fees, fee_rounds_up_and_dust_matches_qtum_policy) {
  EXPECT_EQ(fee_for_size(281, 400'000), 112'400);
  EXPECT_EQ(fee_for_size(1, 1), 1);  // ceil, never below the rate
  EXPECT_EQ(fee_for_size(1000, 1), 1);
  EXPECT_EQ(fee_for_size(1001, 1), 2);
  EXPECT_FALSE(fee_for_size(SIZE_MAX / 2, INT64_MAX).has_value());
  crypto::hash160 h{};
  tx_output p2pkh{0, p2pkh_script(h)};
  // Qtum: dust relay fee 400,000 sat/kvB -> P2PKH dust threshold 72,800 sat (182 bytes).
  EXPECT_EQ(dust_threshold_sat(p2pkh, 400'000), 72'800);
  p2pkh.value_sat = 72'799;
  EXPECT_TRUE(is_dust(p2pkh, 400'000));
  p2pkh.value_sat = 72'800;
  EXPECT_FALSE(is_dust(p2pkh, 400'000));
  EXPECT_FALSE(is_dust(tx_output{0, op_return_script(bytes(10, 0))}, 400'000));
}

TEST(qtum_fees, configured_rate_never_below_relay_minimum) {
  network_params p = qtum_mainnet();
  p.fee_rate_sat_per_kvb = 1000;
  EXPECT_EQ(effective_fee_rate(p), 400'000);
  p.fee_rate_sat_per_kvb = 500'000;
  EXPECT_EQ(effective_fee_rate(p), 500'000);
}

TEST(qtum_maturity, generated_outputs_wait_for_the_configured_depth) {
  network_params p = qtum_mainnet();
  p.coinbase_maturity_blocks = 100;
  utxo c;
  c.generated = true;
  c.height = 1;
  EXPECT_FALSE(is_mature(c, 99, p));  // spend height 100: 100 - 1 = 99 < 100
  EXPECT_TRUE(is_mature(c, 100, p));  // spend height 101
  c.generated = false;
  EXPECT_TRUE(is_mature(c, 1, p));
  c.height.reset();
  EXPECT_TRUE(is_mature(c, 0, p));  // unconfirmed change
}

struct wallet {
  crypto::secp256k1_secret_key key = crypto::secp256k1_secret_key::generate();
  bytes script = p2pkh_script(crypto::hash160_of(key.public_key().bytes));
  utxo coin(uint8_t tag, int64_t value, uint64_t height = 10, bool generated = false) const {
    utxo c;
    c.point.txid.fill(tag);
    c.point.index = tag;
    c.value_sat = value;
    c.script_pubkey = script;
    c.height = height;
    c.generated = generated;
    return c;
  }
};

TEST(qtum_builder, anchor_with_change_is_signed_sized_and_decodes_back) {
  const wallet w;
  const network_params p = qtum_mainnet();
  const std::vector<utxo> coins{w.coin(1, 100'000'000)};
  const auto built = build_anchor_tx(p, w.key, coins, 5000, sample_payload());
  ASSERT_TRUE(built.has_value()) << built.error().message;
  const transaction& tx = built->tx;
  ASSERT_EQ(tx.inputs.size(), 1u);
  ASSERT_EQ(tx.outputs.size(), 2u);
  EXPECT_EQ(tx.outputs[0].value_sat, 0);
  EXPECT_EQ(tx.outputs[0].script_pubkey.size(), 80u);
  EXPECT_EQ(tx.outputs[1].script_pubkey, w.script);
  // Size with a 71/72-byte DER signature: 280 or 281 bytes; fee computed for the maximum (281).
  EXPECT_LE(built->raw.size(), 281u);
  EXPECT_GE(built->raw.size(), 279u);
  EXPECT_EQ(built->fee_sat, 112'400);
  EXPECT_EQ(tx.outputs[1].value_sat, 100'000'000 - 112'400);
  EXPECT_EQ(built->fee_sat * 1000 / static_cast<int64_t>(built->raw.size()) >= 400'000, true);
  EXPECT_TRUE(verify_p2pkh_input(tx, 0, w.script));
  const auto decoded = decode_transaction(built->raw);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, tx);
  EXPECT_EQ(find_anchor_payload(*decoded).value(), sample_payload());
  EXPECT_EQ(txid_of(*decoded), built->txid);
  ASSERT_TRUE(built->change.has_value());
  EXPECT_EQ(built->change->point, (outpoint{built->txid, 1}));
  EXPECT_EQ(built->change->value_sat, tx.outputs[1].value_sat);
}

TEST(qtum_builder, dust_change_goes_to_the_fee) {
  const wallet w;
  const network_params p = qtum_mainnet();
  // 112,400 fee with change; 72,800 dust: 112,400 + 72,799 leaves dust change.
  const auto built = build_anchor_tx(p, w.key, std::vector<utxo>{w.coin(1, 112'400 + 72'799)}, 5000, sample_payload());
  ASSERT_TRUE(built.has_value()) << built.error().message;
  EXPECT_EQ(built->tx.outputs.size(), 1u);
  EXPECT_EQ(built->fee_sat, 112'400 + 72'799);
  EXPECT_FALSE(built->change.has_value());
  const auto exact = build_anchor_tx(p, w.key, std::vector<utxo>{w.coin(1, 112'400 + 72'800)}, 5000, sample_payload());
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->tx.outputs.size(), 2u);
  EXPECT_EQ(exact->tx.outputs[1].value_sat, 72'800);
}

TEST(qtum_builder, prefers_previous_change_then_largest_and_ignores_foreign_coins) {
  const wallet w, other;
  const network_params p = qtum_mainnet();
  std::vector<utxo> coins{w.coin(1, 5'000'000), w.coin(2, 9'000'000), w.coin(3, 1'000'000), other.coin(4, 90'000'000)};
  auto built = build_anchor_tx(p, w.key, coins, 5000, sample_payload());
  ASSERT_TRUE(built.has_value());
  EXPECT_EQ(built->spent, (std::vector<outpoint>{coins[1].point}));  // largest of ours
  built = build_anchor_tx(p, w.key, coins, 5000, sample_payload(), coins[2].point);
  ASSERT_TRUE(built.has_value());
  EXPECT_EQ(built->spent, (std::vector<outpoint>{coins[2].point}));  // the chain of change first
  // Two small coins together cover the fee (one input without change: 247 bytes, 98,800 sat;
  // two: 395 bytes, 158,000 sat).
  coins = {w.coin(1, 80'000), w.coin(2, 80'000)};
  built = build_anchor_tx(p, w.key, coins, 5000, sample_payload());
  ASSERT_TRUE(built.has_value()) << built.error().message;
  EXPECT_EQ(built->tx.inputs.size(), 2u);
  EXPECT_EQ(built->tx.outputs.size(), 1u);
  EXPECT_EQ(built->fee_sat, 160'000);
  EXPECT_TRUE(verify_p2pkh_input(built->tx, 0, w.script));
  EXPECT_TRUE(verify_p2pkh_input(built->tx, 1, w.script));
}

TEST(qtum_builder, insufficient_funds_is_a_clear_error) {
  const wallet w;
  network_params p = qtum_mainnet();
  p.coinbase_maturity_blocks = 2000;
  auto built = build_anchor_tx(p, w.key, std::vector<utxo>{}, 5000, sample_payload());
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().code, error_code::insufficient_funds);
  EXPECT_NE(built.error().message.find("insufficient funds"), std::string::npos) << built.error().message;
  // Immature coinbase only: the message says so.
  built = build_anchor_tx(p, w.key, std::vector<utxo>{w.coin(1, 400'000'000, 4000, true)}, 5000, sample_payload());
  ASSERT_FALSE(built.has_value());
  EXPECT_NE(built.error().message.find("immature"), std::string::npos) << built.error().message;
  // Too little for the fee.
  built = build_anchor_tx(p, w.key, std::vector<utxo>{w.coin(1, 98'799)}, 5000, sample_payload());
  ASSERT_FALSE(built.has_value());
  EXPECT_NE(built.error().message.find("98799 sat"), std::string::npos) << built.error().message;
  EXPECT_NE(built.error().message.find("98800 sat"), std::string::npos) << built.error().message;
  EXPECT_TRUE(build_anchor_tx(p, w.key, std::vector<utxo>{w.coin(1, 98'800)}, 5000, sample_payload()).has_value());
}

TEST(qtum_builder, honours_a_lower_test_relay_minimum) {
  // What the fee-too-low integration test relies on: params below Qtum's policy build a
  // transaction the node then refuses.
  const wallet w;
  network_params p = qtum_mainnet();
  p.relay_fee_min_sat_per_kvb = 1000;
  p.fee_rate_sat_per_kvb = 1000;
  const auto built = build_anchor_tx(p, w.key, std::vector<utxo>{w.coin(1, 100'000'000)}, 5000, sample_payload());
  ASSERT_TRUE(built.has_value());
  EXPECT_EQ(built->fee_sat, 281);
}

}  // namespace
}  // namespace energo::qtum
