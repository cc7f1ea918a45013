#pragma once
// Fixed-size byte strings and hex helpers shared by every crypto type.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace energo::crypto {

using hash256 = std::array<uint8_t, 32>;
using hash160 = std::array<uint8_t, 20>;
using byte_span = std::span<const uint8_t>;

[[nodiscard]] std::string to_hex(byte_span bytes);
// Lower- or upper-case hex, even length; nullopt on anything else.
[[nodiscard]] std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);

template <std::size_t N>
[[nodiscard]] std::optional<std::array<uint8_t, N>> array_from_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
  return out;
}

inline byte_span as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace energo::crypto
