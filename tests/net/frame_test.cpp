// Length-prefixed framing: the exact header layout, the hard maximum enforced before anything is
// buffered, and incremental decoding of arbitrary chunkings (seeded; the seed is printed).
#include <gtest/gtest.h>

#include <random>

#include "net/frame.hpp"
#include "tests/net/test_support.hpp"

namespace energo::net {
namespace {

std::vector<uint8_t> header(uint32_t length) {
  return {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
          static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

TEST(frame, header_is_u32_big_endian_length) {
  std::vector<uint8_t> payload(258, 0xab);
  auto f = encode_frame(payload);
  ASSERT_EQ(f.size(), 262u);
  EXPECT_EQ((std::vector<uint8_t>(f.begin(), f.begin() + 4)), (std::vector<uint8_t>{0, 0, 1, 2}));
  EXPECT_EQ((std::vector<uint8_t>(f.begin() + 4, f.end())), payload);
  EXPECT_EQ(limits::frame_bytes_max, 4u * 1024 * 1024);
}

TEST(frame, decodes_one_frame_and_reports_consumed_bytes) {
  frame_decoder d;
  auto bytes = encode_frame(std::vector<uint8_t>{1, 2, 3});
  bytes.push_back(0);  // first byte of the next header
  auto s = d.decode(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->consumed, 7u);
  ASSERT_TRUE(s->frame);
  EXPECT_EQ(*s->frame, (std::vector<uint8_t>{1, 2, 3}));
  auto rest = d.decode(std::span(bytes).subspan(7));
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->consumed, 1u);
  EXPECT_FALSE(rest->frame);
  EXPECT_EQ(d.buffered_bytes(), 1u);
}

TEST(frame, exactly_the_maximum_is_accepted) {
  frame_decoder d(100);
  std::vector<std::vector<uint8_t>> frames;
  ASSERT_TRUE(d.feed(encode_frame(std::vector<uint8_t>(100, 7), 100), frames));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].size(), 100u);
}

TEST(frame, oversize_is_refused_on_the_header_before_any_payload_byte) {
  frame_decoder d(100);
  const auto h = header(101);
  for (std::size_t i = 0; i < 3; ++i) {
    auto s = d.decode(std::span(h).subspan(i, 1));
    ASSERT_TRUE(s);
    EXPECT_LE(d.buffered_bytes(), limits::frame_header_bytes);
  }
  auto s = d.decode(std::span(h).subspan(3, 1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, frame_error_code::oversize_frame);
  EXPECT_NE(s.error().message.find("101"), std::string::npos) << s.error().message;
  // Poisoned: nothing more is accepted, even a valid frame.
  std::vector<std::vector<uint8_t>> frames;
  auto again = d.feed(encode_frame(std::vector<uint8_t>{1}), frames);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, frame_error_code::oversize_frame);
  EXPECT_TRUE(frames.empty());
}

TEST(frame, default_maximum_refuses_4_mib_plus_one) {
  frame_decoder d;
  std::vector<std::vector<uint8_t>> frames;
  auto r = d.feed(header(static_cast<uint32_t>(limits::frame_bytes_max + 1)), frames);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, frame_error_code::oversize_frame);
  frame_decoder d2;
  auto r2 = d2.feed(header(UINT32_MAX), frames);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, frame_error_code::oversize_frame);
}

TEST(frame, zero_length_is_refused) {
  frame_decoder d;
  std::vector<std::vector<uint8_t>> frames;
  auto r = d.feed(header(0), frames);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, frame_error_code::empty_frame);
}

TEST(frame, lowered_maximum_applies_to_the_next_header) {
  frame_decoder d(1000);
  std::vector<std::vector<uint8_t>> frames;
  ASSERT_TRUE(d.feed(encode_frame(std::vector<uint8_t>(500, 1)), frames));
  d.set_frame_bytes_max(100);
  auto r = d.feed(encode_frame(std::vector<uint8_t>(500, 1)), frames);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, frame_error_code::oversize_frame);
}

// Frames of random sizes, cut into random chunks (and byte by byte), come out whole and in order.
TEST(frame, any_chunking_yields_the_same_frames) {
  const uint64_t seed = test::test_seed("frame.any_chunking_yields_the_same_frames");
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<uint8_t>> sent;
    std::vector<uint8_t> stream;
    const int count = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < count; ++i) {
      std::size_t size = 1 + rng() % (rng() % 8 == 0 ? 70000 : 300);
      std::vector<uint8_t> p(size);
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      append_frame(stream, p);
      sent.push_back(std::move(p));
    }
    const bool byte_by_byte = round % 4 == 0;
    frame_decoder d;
    std::vector<std::vector<uint8_t>> got;
    std::size_t offset = 0;
    while (offset < stream.size()) {
      std::size_t n = byte_by_byte ? 1 : 1 + rng() % 5000;
      n = std::min(n, stream.size() - offset);
      ASSERT_TRUE(d.feed(std::span(stream).subspan(offset, n), got));
      offset += n;
    }
    EXPECT_EQ(d.buffered_bytes(), 0u);
    ASSERT_EQ(got, sent);
  }
}

// Random garbage: the decoder yields frames or one definite error, and never holds more than a
// header plus one maximal payload.
TEST(frame, garbage_in_random_chunks_stays_bounded_and_fails_definitely) {
  const uint64_t seed = test::test_seed("frame.garbage_in_random_chunks_stays_bounded_and_fails_definitely");
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr std::size_t max = 1024;
  int errors = 0;
  for (int round = 0; round < 200; ++round) {
    frame_decoder d(max);
    std::vector<uint8_t> garbage(1 + rng() % 4096);
    for (auto& b : garbage) b = static_cast<uint8_t>(rng());
    // Some rounds with a small plausible length so that frames do come out.
    if (round % 2 == 0 && garbage.size() > 4) {
      garbage[0] = garbage[1] = 0;
      garbage[2] = static_cast<uint8_t>(rng() % 4);
    }
    std::vector<std::vector<uint8_t>> frames;
    std::size_t offset = 0;
    bool failed = false;
    while (offset < garbage.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 64, garbage.size() - offset);
      auto r = d.feed(std::span(garbage).subspan(offset, n), frames);
      offset += n;
      EXPECT_LE(d.buffered_bytes(), limits::frame_header_bytes + max);
      if (!r) {
        failed = true;
        EXPECT_TRUE(d.failed());
        break;
      }
    }
    for (const auto& f : frames) EXPECT_TRUE(!f.empty() && f.size() <= max);
    errors += failed ? 1 : 0;
  }
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace energo::net
