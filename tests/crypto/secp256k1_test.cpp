#include "crypto/secp256k1.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "crypto/hash.hpp"
#include "tests/crypto/test_support.hpp"

namespace energo::crypto {
namespace {

using test::hex;
using test::hex_array;

const auto group_order = hex_array<32>("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

// n - s for a big-endian 32-byte s with 0 < s < n: the other valid S of the same signature.
std::array<uint8_t, 32> negate_mod_order(const std::array<uint8_t, 32>& s) {
  std::array<uint8_t, 32> out{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = group_order[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<uint8_t>(d + 256 * borrow);
  }
  return out;
}

secp256k1_secret_key key_from_hex(std::string_view text) {
  auto key = secp256k1_secret_key::from_bytes(hex_array<32>(text));
  EXPECT_TRUE(key.has_value()) << text;
  return key.value_or(secp256k1_secret_key::generate());
}

TEST(secp256k1, secret_key_one_gives_the_generator) {
  const auto key = key_from_hex("0000000000000000000000000000000000000000000000000000000000000001");
  EXPECT_EQ(to_hex(key.public_key().bytes), "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
}

TEST(secp256k1, secret_key_must_be_in_one_to_order_minus_one) {
  EXPECT_FALSE(secp256k1_secret_key::from_bytes({}).has_value());
  EXPECT_FALSE(secp256k1_secret_key::from_bytes(group_order).has_value());
  auto above = group_order;
  above[31] += 1;
  EXPECT_FALSE(secp256k1_secret_key::from_bytes(above).has_value());
  std::array<uint8_t, 32> all_ff;
  all_ff.fill(0xff);
  EXPECT_FALSE(secp256k1_secret_key::from_bytes(all_ff).has_value());
  auto below = group_order;
  below[31] -= 1;
  EXPECT_TRUE(secp256k1_secret_key::from_bytes(below).has_value());
}

TEST(secp256k1, sign_verify_round_trip_is_deterministic_and_low_s) {
  const auto key = secp256k1_secret_key::generate();
  const auto pubkey = key.public_key();
  for (int i = 0; i < 32; ++i) {
    const hash256 digest = sha256(as_bytes("transfer #" + std::to_string(i)));
    const auto signature = key.sign(digest);
    EXPECT_EQ(signature, key.sign(digest)) << "RFC 6979 signing must be deterministic";
    EXPECT_LT(signature.bytes[32], 0x80) << "S must lie in the lower half of the order";
    EXPECT_TRUE(ecdsa_verify(pubkey, digest, signature));
  }
}

// ecdsa_verify keeps parsed keys in a per-thread table of 1,024 slots: with 3,000 keys slots are
// shared and overwritten, and every answer must still be the one for the key given (a slot used for
// another key, or a key that failed to parse remembered as valid, turns an answer around).
TEST(secp256k1, verification_with_many_keys_answers_for_the_key_given) {
  constexpr int n = 3000;
  std::vector<secp256k1_secret_key> keys;
  std::vector<ecdsa_signature> sigs;
  const hash256 digest = sha256(as_bytes("place order 42"));
  for (int i = 0; i < n; ++i) {
    keys.push_back(secp256k1_secret_key::generate());
    sigs.push_back(keys.back().sign(digest));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < n; ++i) {
      const auto& pub = keys[static_cast<std::size_t>(i)].public_key();
      ASSERT_TRUE(ecdsa_verify(pub, digest, sigs[static_cast<std::size_t>(i)])) << "key " << i << " round " << round;
      ASSERT_FALSE(ecdsa_verify(pub, digest, sigs[static_cast<std::size_t>((i + 1) % n)])) << "key " << i;
      // The same x with the other parity prefix: another point, which this signature does not fit.
      auto flipped = pub;
      flipped.bytes[0] ^= 0x01;
      ASSERT_FALSE(ecdsa_verify(flipped, digest, sigs[static_cast<std::size_t>(i)])) << "key " << i;
      // A 33-byte string that is not on the curve is refused every time, also right after its slot held a key.
      auto off_curve = pub;
      off_curve.bytes[32] ^= 0x5a;
      (void)ecdsa_verify(off_curve, digest, sigs[static_cast<std::size_t>(i)]);
      ASSERT_TRUE(ecdsa_verify(pub, digest, sigs[static_cast<std::size_t>(i)])) << "key " << i;
    }
  }
}

TEST(secp256k1, wrong_key_or_digest_or_signature_fails) {
  const auto key = secp256k1_secret_key::generate();
  const auto other = secp256k1_secret_key::generate();
  const hash256 digest = sha256(as_bytes("pay 5 TSL"));
  const auto signature = key.sign(digest);
  ASSERT_TRUE(ecdsa_verify(key.public_key(), digest, signature));
  EXPECT_FALSE(ecdsa_verify(other.public_key(), digest, signature));
  EXPECT_FALSE(ecdsa_verify(key.public_key(), sha256(as_bytes("pay 6 TSL")), signature));
  for (std::size_t i = 0; i < signature.bytes.size(); i += 5) {
    auto bad = signature;
    bad.bytes[i] ^= 0x01;
    EXPECT_FALSE(ecdsa_verify(key.public_key(), digest, bad)) << "byte " << i;
  }
  EXPECT_FALSE(ecdsa_verify(key.public_key(), digest, ecdsa_signature{}));  // r = s = 0
}

TEST(secp256k1, high_s_twin_of_a_valid_signature_is_rejected) {
  const auto key = secp256k1_secret_key::generate();
  const hash256 digest = sha256(as_bytes("malleability"));
  const auto signature = key.sign(digest);
  ASSERT_TRUE(ecdsa_verify(key.public_key(), digest, signature));
  ecdsa_signature twin = signature;
  std::array<uint8_t, 32> s{};
  std::copy(signature.bytes.begin() + 32, signature.bytes.end(), s.begin());
  const auto high_s = negate_mod_order(s);
  std::copy(high_s.begin(), high_s.end(), twin.bytes.begin() + 32);
  ASSERT_NE(twin, signature);
  EXPECT_GE(twin.bytes[32], 0x7f);
  EXPECT_FALSE(ecdsa_verify(key.public_key(), digest, twin));
}

TEST(secp256k1, public_key_parsing) {
  const auto key = key_from_hex("0000000000000000000000000000000000000000000000000000000000000001");
  const std::string gx = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
  const std::string gy = "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";
  // Uncompressed input comes back compressed.
  auto parsed = parse_secp256k1_public_key(hex("04" + gx + gy));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, key.public_key());
  EXPECT_EQ(parse_secp256k1_public_key(key.public_key().bytes), key.public_key());

  EXPECT_FALSE(parse_secp256k1_public_key({}).has_value());
  EXPECT_FALSE(parse_secp256k1_public_key(hex("02" + gx + "00")).has_value());   // wrong length
  EXPECT_FALSE(parse_secp256k1_public_key(hex("05" + gx)).has_value());          // bad prefix
  EXPECT_FALSE(parse_secp256k1_public_key(hex("04" + gx)).has_value());          // prefix/length mismatch
  EXPECT_FALSE(parse_secp256k1_public_key(hex("06" + gx + gy)).has_value());     // hybrid form
  auto off_curve = hex("04" + gx + gy);
  off_curve[64] ^= 0x01;
  EXPECT_FALSE(parse_secp256k1_public_key(off_curve).has_value());
  // x = 5 is not the x coordinate of any curve point (5^3 + 7 is a non-residue mod p).
  EXPECT_FALSE(parse_secp256k1_public_key(hex("02" + std::string(62, '0') + "05")).has_value());
  // x = p is out of range.
  EXPECT_FALSE(parse_secp256k1_public_key(
                   hex("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"))
                   .has_value());
}

TEST(secp256k1, verify_rejects_malformed_public_key_bytes) {
  const auto key = secp256k1_secret_key::generate();
  const hash256 digest = sha256(as_bytes("x"));
  const auto signature = key.sign(digest);
  auto bad = key.public_key();
  bad.bytes[0] = 0x04;
  EXPECT_FALSE(ecdsa_verify(bad, digest, signature));
  bad = key.public_key();
  bad.bytes[0] ^= 0x01;  // the other y: a valid point but not the signer
  EXPECT_FALSE(ecdsa_verify(bad, digest, signature));
  EXPECT_FALSE(ecdsa_verify(secp256k1_public_key{}, digest, signature));
}

}  // namespace
}  // namespace energo::crypto
