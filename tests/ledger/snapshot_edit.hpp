#pragma once
// Editing ledger snapshots the way a buggy or hostile writer would: change bytes, then recompute
// the trailing SHA-256 so the edit reaches the structural decoder instead of the checksum.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/assert.hpp"
#include "crypto/hash.hpp"

namespace energo::ledger::snapshot_test {

inline constexpr std::size_t checksum_bytes = 32;

// Recomputes the checksum over everything before the last 32 bytes.
inline std::vector<uint8_t> reseal(std::vector<uint8_t> bytes) {
  if (bytes.size() < checksum_bytes) return bytes;
  bytes.erase(bytes.end() - checksum_bytes, bytes.end());
  const auto sum = crypto::sha256(bytes);
  bytes.insert(bytes.end(), sum.begin(), sum.end());
  return bytes;
}

inline void put_u32_at(std::vector<uint8_t>& b, std::size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b.at(at + k) = static_cast<uint8_t>(v >> (24 - 8 * k));
}
inline void put_u64_at(std::vector<uint8_t>& b, std::size_t at, uint64_t v) {
  for (int k = 0; k < 8; ++k) b.at(at + k) = static_cast<uint8_t>(v >> (56 - 8 * k));
}
inline uint32_t get_u32_at(std::span<const uint8_t> b, std::size_t at) {
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v = (v << 8) | b[at + k];
  return v;
}

// Offset of the first occurrence of `needle` in `hay`.
inline std::optional<std::size_t> find_bytes(std::span<const uint8_t> hay, std::span<const uint8_t> needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  if (it == hay.end()) return std::nullopt;
  return static_cast<std::size_t>(it - hay.begin());
}

// The snapshot with its order-book blob (u32 length + book bytes) replaced by `book`, resealed.
// `current_book` is the serialized book the snapshot holds (ledger::book().serialize()).
inline std::vector<uint8_t> with_book(const std::vector<uint8_t>& snapshot, std::span<const uint8_t> current_book,
                                      std::span<const uint8_t> book) {
  const auto at = find_bytes(snapshot, current_book);
  ENERGO_ASSERT(at.has_value() && *at >= 4, "the snapshot holds the book");
  ENERGO_ASSERT(get_u32_at(snapshot, *at - 4) == current_book.size(), "book length prefix");
  std::vector<uint8_t> out(snapshot.begin(), snapshot.begin() + static_cast<std::ptrdiff_t>(*at - 4));
  out.resize(out.size() + 4);
  put_u32_at(out, out.size() - 4, static_cast<uint32_t>(book.size()));
  out.insert(out.end(), book.begin(), book.end());
  out.insert(out.end(), snapshot.begin() + static_cast<std::ptrdiff_t>(*at + current_book.size()), snapshot.end());
  return reseal(std::move(out));
}

}  // namespace energo::ledger::snapshot_test
