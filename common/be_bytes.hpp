#pragma once
// Big-endian bytes of an unsigned value, most significant first: the ledger's canonical encoding
// (ledger/byte_io.hpp, the order book's snapshot writer) appends one field at a time with them.
#include <array>
#include <cstdint>

namespace energo {

template <int bytes>
[[nodiscard]] constexpr std::array<uint8_t, bytes> be_bytes(uint64_t v) {
  static_assert(bytes >= 1 && bytes <= 8);
  std::array<uint8_t, bytes> b{};
  for (int i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
  return b;
}

}  // namespace energo
