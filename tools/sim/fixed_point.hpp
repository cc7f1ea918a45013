#pragma once
// Integer helpers for deterministic metrics: every reported number is computed with integers
// (128-bit where a product can be large) and printed as a fixed-point decimal.
#include <cstdint>
#include <string>

#include "ledger/market/types.hpp"

namespace energo::sim {

using int128 = market::int128;
using uint128 = market::uint128;

// floor(sqrt(x)) for any 128-bit unsigned value (binary search over the 64-bit result).
[[nodiscard]] inline uint64_t isqrt(uint128 x) noexcept {
  uint64_t lo = 0, hi = UINT64_MAX;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2 + 1;
    if (static_cast<uint128>(mid) * mid <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// value / 10^decimals as text, e.g. fixed(9873, 2) == "98.73", fixed(-5, 2) == "-0.05".
[[nodiscard]] inline std::string fixed(int64_t value, int decimals) {
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  const bool negative = value < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  std::string frac = std::to_string(magnitude % static_cast<uint64_t>(scale));
  while (static_cast<int>(frac.size()) < decimals) frac.insert(frac.begin(), '0');
  std::string out = (negative ? "-" : "") + std::to_string(magnitude / static_cast<uint64_t>(scale));
  if (decimals > 0) out += "." + frac;
  return out;
}

// a × scale / b, truncated toward zero; 0 when b == 0.
[[nodiscard]] inline int64_t ratio_scaled(int128 a, int128 b, int64_t scale) noexcept {
  if (b == 0) return 0;
  return static_cast<int64_t>(a * scale / b);
}

}  // namespace energo::sim
