#pragma once
// Little-endian byte encoding into a std::string, for the node's own formats around the ledger
// (actors/: log entry kinds, stored outcomes, the node image, the member registry, admin requests,
// the checkpoint book). The ledger's canonical encoding is big-endian (ledger/byte_io.hpp); these
// formats predate sharing it and are in every store and snapshot, so they stay little-endian.
//
// The reader never reads past its input: a short read sets `good` to false and returns a zero value;
// the caller checks `good` (once, after a group of reads) and refuses the input. A length prefix is
// checked against the caller's maximum and against what is left before anything is allocated.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace energo::le_bytes {

inline void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void put_u16(std::string& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
// Fixed-size bytes (keys, hashes, signatures), no length.
template <std::size_t N>
void put_raw(std::string& out, const std::array<uint8_t, N>& a) {
  out.append(reinterpret_cast<const char*>(a.data()), N);
}
// Bytes behind a u32 length / a u16 length. The caller keeps the size within the prefix's range
// (every format bounds its strings far below it).
inline void put_bytes32(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}
inline void put_bytes16(std::string& out, std::string_view s) {
  put_u16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

struct reader {
  std::string_view in;  // what is left to read
  bool good = true;     // false after any short or refused read; every later read returns zero

  [[nodiscard]] bool at_end() const { return good && in.empty(); }

  uint8_t u8() { return static_cast<uint8_t>(little_endian(1)); }
  uint16_t u16() { return static_cast<uint16_t>(little_endian(2)); }
  uint32_t u32() { return static_cast<uint32_t>(little_endian(4)); }
  uint64_t u64() { return little_endian(8); }
  template <std::size_t N>
  std::array<uint8_t, N> raw() {
    std::array<uint8_t, N> a{};
    if (!take(N)) return a;
    std::memcpy(a.data(), in.data(), N);
    in.remove_prefix(N);
    return a;
  }
  // Bytes behind a u32 / u16 length, refused (not read) above max_bytes or past the input.
  std::string bytes32(std::size_t max_bytes) { return bytes_of_length(u32(), max_bytes); }
  std::string bytes16(std::size_t max_bytes) { return bytes_of_length(u16(), max_bytes); }

 private:
  // Whether n more bytes can be read; a failed reader stays failed.
  bool take(std::size_t n) {
    if (good && in.size() >= n) return true;
    good = false;
    return false;
  }
  uint64_t little_endian(std::size_t n) {
    if (!take(n)) return 0;
    uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
    in.remove_prefix(n);
    return v;
  }
  std::string bytes_of_length(std::size_t n, std::size_t max_bytes) {
    if (!good || n > max_bytes || !take(n)) return good = false, std::string();
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace energo::le_bytes
