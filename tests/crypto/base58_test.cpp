#include "crypto/base58.hpp"

#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "tests/crypto/test_support.hpp"

namespace energo::crypto {
namespace {

using test::hex;

TEST(base58, qtum_encode_decode_vectors_both_directions) {
  ENERGO_LOAD_QTUM_VECTORS(vectors, "base58_encode_decode.json");
  ASSERT_FALSE(vectors.empty());
  for (const auto& entry : vectors) {
    const std::string payload_hex = entry.at(0);
    const std::string text = entry.at(1);
    SCOPED_TRACE(text);
    EXPECT_EQ(base58_encode(hex(payload_hex)), text);
    const auto decoded = base58_decode(text);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(to_hex(*decoded), payload_hex);
  }
}

TEST(base58, leading_zeros_map_to_leading_ones) {
  EXPECT_EQ(base58_encode(hex("0000")), "11");
  EXPECT_EQ(base58_encode(hex("000001")), "112");
  EXPECT_EQ(base58_decode("11").value(), hex("0000"));
  EXPECT_EQ(base58_decode("112").value(), hex("000001"));
  EXPECT_EQ(base58_decode("").value(), std::vector<uint8_t>{});
}

TEST(base58, rejects_characters_outside_the_alphabet) {
  for (const char* text : {"0", "O", "I", "l", " 2g", "2g ", "2 g", "+", "2g\n"}) {
    EXPECT_FALSE(base58_decode(text).has_value()) << '"' << text << '"';
  }
  EXPECT_FALSE(base58_decode(std::string_view("2g\0", 3)).has_value());
  EXPECT_FALSE(base58_decode("\xff").has_value());
}

TEST(base58, input_length_is_bounded) {
  const std::string at_limit(base58_input_chars_max, 'z');
  EXPECT_TRUE(base58_decode(at_limit).has_value());
  EXPECT_FALSE(base58_decode(at_limit + "z").has_value());
  EXPECT_FALSE(base58check_decode(at_limit + "z").has_value());
  // The bound covers any 256-byte payload, even the largest value.
  EXPECT_LE(base58_encode(std::vector<uint8_t>(256, 0xff)).size(), base58_input_chars_max);
}

TEST(base58check, round_trip_and_checksum) {
  const auto payload = hex("3a0123456789abcdef");
  const std::string text = base58check_encode(payload);
  EXPECT_EQ(base58check_decode(text).value(), payload);
  // The last four decoded bytes are sha256d(payload)[0..4).
  const auto raw = base58_decode(text).value();
  const auto check = sha256d(payload);
  ASSERT_EQ(raw.size(), payload.size() + 4);
  EXPECT_TRUE(std::equal(raw.end() - 4, raw.end(), check.begin()));
  // Any single-character change breaks the checksum (or the alphabet).
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = bad[i] == '2' ? '3' : '2';
    EXPECT_FALSE(base58check_decode(bad).has_value()) << "position " << i;
  }
  EXPECT_FALSE(base58check_decode("").has_value());
  EXPECT_FALSE(base58check_decode("1111").has_value());  // four zero bytes: checksum of nothing is not 0
  EXPECT_EQ(base58check_decode(base58check_encode({})).value(), std::vector<uint8_t>{});
}

}  // namespace
}  // namespace energo::crypto
