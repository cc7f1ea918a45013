// Record encoding: checksums catch any damaged byte and any value moved under another key.
#include <gtest/gtest.h>

#include <string>

#include "storage/codec.hpp"
#include "storage/crc32c.hpp"

namespace energo::storage {
namespace {

TEST(crc32c, matches_published_vectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);                // RFC 3720 check value
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);      // RFC 3720 B.4: 32 zero bytes
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);    // RFC 3720 B.4: 32 0xFF bytes
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(crc32c, extending_in_pieces_equals_one_pass) {
  const std::string data = "the quick brown fox jumps over the lazy dog, twice over";
  for (std::size_t split = 0; split <= data.size(); ++split) {
    const uint32_t a = crc32c_extend(0, data.data(), split);
    EXPECT_EQ(crc32c_extend(a, data.data() + split, data.size() - split), crc32c(data)) << "split " << split;
  }
}

TEST(codec, log_keys_sort_by_group_then_numeric_index) {
  EXPECT_LT(codec::log_key(1, 255), codec::log_key(1, 256));
  EXPECT_LT(codec::log_key(1, UINT64_MAX - 1), codec::log_key(2, 0));
  group_id g = 0;
  log_index i = 0;
  ASSERT_TRUE(codec::decode_log_key(codec::log_key(42, 1ull << 40), g, i));
  EXPECT_EQ(g, 42u);
  EXPECT_EQ(i, 1ull << 40);
}

TEST(codec, log_value_round_trips) {
  const log_record r{7, 99, 2, std::string("payload\0with nul", 16)};
  const std::string key = codec::log_key(3, 99);
  auto decoded = codec::decode_log_value(key, codec::encode_log_value(key, r));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, r);
}

TEST(codec, every_flipped_byte_is_a_corruption_error) {
  const log_record r{5, 10, 0, "abcdefgh"};
  const std::string key = codec::log_key(1, 10);
  const std::string value = codec::encode_log_value(key, r);
  for (std::size_t pos = 0; pos < value.size(); ++pos) {
    std::string bad = value;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    auto decoded = codec::decode_log_value(key, bad);
    ASSERT_FALSE(decoded) << "flip at byte " << pos << " went unnoticed";
    EXPECT_EQ(decoded.error().code, storage_errc::corruption);
  }
  auto truncated = codec::decode_log_value(key, value.substr(0, 5));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, storage_errc::corruption);
}

TEST(codec, value_under_another_group_or_index_is_rejected) {
  const log_record r{5, 10, 0, "abc"};
  const std::string value = codec::encode_log_value(codec::log_key(1, 10), r);
  EXPECT_FALSE(codec::decode_log_value(codec::log_key(1, 11), value));
  EXPECT_FALSE(codec::decode_log_value(codec::log_key(2, 10), value));
}

TEST(codec, snapshot_meta_round_trips) {
  codec::snapshot_meta_body body;
  body.meta = {100, 4, {{1, 2, 3}, {9}, {}}, 12345};
  body.chunk_count = 3;
  body.data_crc = 0xDEADBEEF;
  auto decoded = codec::decode_snapshot_meta(codec::encode_snapshot_meta(body));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->meta, body.meta);
  EXPECT_EQ(decoded->chunk_count, 3u);
  EXPECT_EQ(decoded->data_crc, 0xDEADBEEFu);
}

}  // namespace
}  // namespace energo::storage
