#include "storage/crc32c.hpp"

#include <array>
#include <cstring>

namespace energo::storage {
namespace {

constexpr uint32_t castagnoli_reflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ castagnoli_reflected : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> crc_table = make_table();

uint32_t extend_table(uint32_t state, const unsigned char* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) state = crc_table[(state ^ p[i]) & 0xFFu] ^ (state >> 8);
  return state;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t extend_hardware(uint32_t state, const unsigned char* p,
                                                            std::size_t n) noexcept {
  uint64_t s = state;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // unaligned-safe; the instruction consumes little-endian words
    s = __builtin_ia32_crc32di(s, word);
    p += 8;
    n -= 8;
  }
  auto s32 = static_cast<uint32_t>(s);
  while (n > 0) {
    s32 = __builtin_ia32_crc32qi(s32, *p);
    ++p;
    --n;
  }
  return s32;
}
const bool has_sse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t state = ~crc;
#if defined(__x86_64__)
  if (has_sse42) return ~extend_hardware(state, p, size);
#endif
  return ~extend_table(state, p, size);
}

}  // namespace energo::storage
