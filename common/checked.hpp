#pragma once
// Checked integer arithmetic: overflow is reported, never wrapped (SPEC §2).
#include <cstdint>
#include <optional>

namespace energo {

// 128-bit integers for exact intermediates (notional = price × quantity, pro-rata splits).
// __extension__ keeps -Wpedantic quiet about the GNU type.
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

template <class T>
[[nodiscard]] constexpr std::optional<T> checked_add(T a, T b) noexcept {
  T r{};
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
template <class T>
[[nodiscard]] constexpr std::optional<T> checked_sub(T a, T b) noexcept {
  T r{};
  if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
  return r;
}
template <class T>
[[nodiscard]] constexpr std::optional<T> checked_mul(T a, T b) noexcept {
  T r{};
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a * b / d with a 128-bit intermediate, rounded toward zero; nullopt on d == 0 or if the
// quotient does not fit in int64. Inputs must be non-negative.
[[nodiscard]] constexpr std::optional<int64_t> mul_div_floor(int64_t a, int64_t b, int64_t d) noexcept {
  if (a < 0 || b < 0 || d <= 0) return std::nullopt;
  const int128 q = static_cast<int128>(a) * static_cast<int128>(b) / d;
  if (q > INT64_MAX) return std::nullopt;
  return static_cast<int64_t>(q);
}

}  // namespace energo
