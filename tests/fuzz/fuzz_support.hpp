#pragma once
// Shared by the fuzz targets and the seed generator: the contract check and the fixed-key peer
// harness (fuzz_peer_channel.cpp). Everything here is deterministic so a crash file replays.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

namespace energo::fuzz {

using bytes = std::vector<uint8_t>;
using byte_span = std::span<const uint8_t>;

// A broken decoder contract: print it and abort, which libFuzzer records as a crash.
[[noreturn]] inline void contract_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz contract violated: %s at %s:%d\n", what, file, line);
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) ::energo::fuzz::contract_failed(#cond, __FILE__, __LINE__);               \
  } while (0)

// Reads a fuzz input front to back; past the end it returns zeros / empty spans.
class reader {
 public:
  reader(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
  byte_span take(std::size_t n) {
    n = n < remaining() ? n : remaining();
    byte_span out{data_ + pos_, n};
    pos_ += n;
    return out;
  }
  byte_span rest() { return take(remaining()); }
  [[nodiscard]] std::size_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

inline std::string_view as_text(byte_span b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace energo::fuzz
