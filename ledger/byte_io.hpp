#pragma once
// Canonical big-endian byte encoding for signing payloads, log entries and snapshots.
// The reader never reads past its end: every get_* reports failure instead, and the caller turns
// that into a `malformed` error.
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/assert.hpp"
#include "common/be_bytes.hpp"

namespace energo::ledger {

class byte_writer {
 public:
  void reserve(std::size_t n) { buf_.reserve(n); }
  void put_u8(uint8_t v) { buf_.push_back(v); }
  // One capacity check and one copy per field, not one per byte (snapshots are megabytes).
  void put_u32(uint32_t v) { put_be<4>(v); }
  void put_u64(uint64_t v) { put_be<8>(v); }
  void put_i64(int64_t v) { put_u64(static_cast<uint64_t>(v)); }
  template <std::size_t N>
  void put_array(const std::array<uint8_t, N>& a) {
    buf_.insert(buf_.end(), a.begin(), a.end());
  }
  void put_bytes(std::span<const uint8_t> b) {
    put_u32(static_cast<uint32_t>(b.size()));
    buf_.insert(buf_.end(), b.begin(), b.end());
  }
  void put_string(std::string_view s) {
    put_bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  void put_raw(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  // put_bytes of what `append(buffer)` appends to the buffer, written in place: no copy of a
  // multi-megabyte part (the order book inside a ledger snapshot).
  template <class Append>
  void put_bytes_in_place(Append&& append) {
    const std::size_t at = buf_.size();
    put_u32(0);
    append(buf_);
    const std::size_t n = buf_.size() - at - 4;
    ENERGO_ASSERT(n <= UINT32_MAX, "put_bytes_in_place: more than 4 GiB");
    for (int i = 0; i < 4; ++i) buf_[at + i] = static_cast<uint8_t>(n >> (8 * (3 - i)));
  }

  [[nodiscard]] const std::vector<uint8_t>& bytes() const { return buf_; }
  [[nodiscard]] std::vector<uint8_t> take() { return std::move(buf_); }
  void clear() { buf_.clear(); }

 private:
  template <int bytes>
  void put_be(uint64_t v) {
    const auto b = be_bytes<bytes>(v);
    buf_.insert(buf_.end(), b.begin(), b.end());
  }
  std::vector<uint8_t> buf_;
};

// The same put_* interface over a fixed stack buffer, for hot paths that must not allocate
// (leaf hashing). Writing past capacity is a programmer error.
template <std::size_t capacity>
class fixed_writer {
 public:
  void put_u8(uint8_t v) { put_raw_bytes(&v, 1); }
  void put_u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) buf_[size_++] = static_cast<uint8_t>(v >> s);
  }
  void put_u64(uint64_t v) {
    ENERGO_ASSERT(size_ + 8 <= capacity, "fixed_writer overflow");
    for (int s = 56; s >= 0; s -= 8) buf_[size_++] = static_cast<uint8_t>(v >> s);
  }
  void put_i64(int64_t v) { put_u64(static_cast<uint64_t>(v)); }
  template <std::size_t N>
  void put_array(const std::array<uint8_t, N>& a) {
    put_raw_bytes(a.data(), N);
  }
  [[nodiscard]] std::span<const uint8_t> bytes() const { return {buf_.data(), size_}; }

 private:
  void put_raw_bytes(const uint8_t* p, std::size_t n) {
    ENERGO_ASSERT(size_ + n <= capacity, "fixed_writer overflow");
    std::memcpy(buf_.data() + size_, p, n);
    size_ += n;
  }
  std::array<uint8_t, capacity> buf_;
  std::size_t size_ = 0;
};

class byte_reader {
 public:
  explicit byte_reader(std::span<const uint8_t> data) : data_(data) {}

  [[nodiscard]] bool get_u8(uint8_t& v) {
    if (remaining() < 1) return fail();
    v = data_[pos_++];
    return true;
  }
  [[nodiscard]] bool get_u32(uint32_t& v) {
    if (remaining() < 4) return fail();
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | data_[pos_++];
    return true;
  }
  [[nodiscard]] bool get_u64(uint64_t& v) {
    if (remaining() < 8) return fail();
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | data_[pos_++];
    return true;
  }
  [[nodiscard]] bool get_i64(int64_t& v) {
    uint64_t u = 0;
    if (!get_u64(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  template <std::size_t N>
  [[nodiscard]] bool get_array(std::array<uint8_t, N>& a) {
    if (remaining() < N) return fail();
    std::memcpy(a.data(), data_.data() + pos_, N);
    pos_ += N;
    return true;
  }
  // Length-prefixed bytes, refused above max_len.
  [[nodiscard]] bool get_string(std::string& s, std::size_t max_len) {
    uint32_t n = 0;
    if (!get_u32(n)) return false;
    if (n > max_len || remaining() < n) return fail();
    s.assign(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] std::size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
  [[nodiscard]] bool at_end() const { return !failed_ && pos_ == data_.size(); }
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] std::size_t position() const { return pos_; }

 private:
  bool fail() {
    failed_ = true;
    return false;
  }
  std::span<const uint8_t> data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace energo::ledger
