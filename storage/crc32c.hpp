#pragma once
// CRC32C (Castagnoli), the checksum of every stored record. Hardware (SSE4.2) when the CPU has
// it, a table otherwise; both give the same value (crc32c("123456789") == 0xE3069283).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace energo::storage {

// Extends `crc` (0 for a fresh checksum) with `data`. Chaining is exact:
// crc32c_extend(crc32c_extend(0, a), b) == crc32c_extend(0, a + b).
[[nodiscard]] uint32_t crc32c_extend(uint32_t crc, const void* data, std::size_t size) noexcept;

[[nodiscard]] inline uint32_t crc32c(std::string_view bytes) noexcept {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

}  // namespace energo::storage
