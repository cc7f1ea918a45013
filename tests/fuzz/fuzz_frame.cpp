// The length-prefixed frame decoder (net/frame.hpp) with a small maximum, fed in chunks.
// Input: [max selector][chunk length][stream...]. Contract: the frames decoded are exactly the
// ones an independent reading of the stream finds (u32 big-endian length, then payload), until
// the first empty or oversize declaration, after which the decoder stays failed; re-encoding
// the frames gives back the consumed prefix of the stream.
#include "net/frame.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const std::size_t max_bytes = std::size_t{1} + in.u8() * 8u;  // 1..2041: small, so oversize is reachable
  const std::size_t chunk = std::size_t{1} + in.u8();
  const auto stream = in.rest();

  net::frame_decoder decoder(max_bytes);
  std::vector<std::vector<uint8_t>> frames;
  bool failed = false;
  for (std::size_t pos = 0; pos < stream.size() && !failed; pos += chunk) {
    auto r = decoder.feed(stream.subspan(pos, std::min(chunk, stream.size() - pos)), frames);
    if (!r) {
      failed = true;
      FUZZ_CHECK(decoder.failed());
      FUZZ_CHECK(!decoder.feed(stream.first(0), frames).has_value());  // poisoned
    }
    FUZZ_CHECK(decoder.buffered_bytes() <= net::limits::frame_header_bytes + max_bytes);
  }

  // The oracle: walk the stream by hand.
  std::vector<std::vector<uint8_t>> expected;
  bool expect_fail = false;
  std::size_t pos = 0;
  while (stream.size() - pos >= 4) {
    const std::size_t len = (std::size_t{stream[pos]} << 24) | (std::size_t{stream[pos + 1]} << 16) |
                            (std::size_t{stream[pos + 2]} << 8) | stream[pos + 3];
    if (len == 0 || len > max_bytes) {
      expect_fail = true;
      break;
    }
    if (stream.size() - pos - 4 < len) break;
    expected.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                          stream.begin() + static_cast<std::ptrdiff_t>(pos + 4 + len));
    pos += 4 + len;
  }
  FUZZ_CHECK(failed == expect_fail);
  FUZZ_CHECK(frames == expected);
  std::vector<uint8_t> reencoded;
  for (const auto& f : frames) net::append_frame(reencoded, f, max_bytes);
  FUZZ_CHECK(std::equal(reencoded.begin(), reencoded.end(), stream.begin()) && reencoded.size() <= stream.size());
  return 0;
}
