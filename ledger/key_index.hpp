#pragma once
// An open-addressing map from a fixed-size key (an address, a public key) to a dense uint32 index.
// Keys here are hash outputs or curve points, so their leading bytes are already well mixed; a
// multiplicative mix guards against adversarial keys clustering. Iteration order is never exposed:
// the only outputs are lookups, so determinism of the ledger does not depend on the table layout.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "common/assert.hpp"

namespace energo::ledger {

template <std::size_t N>
class key_index {
  static_assert(N >= 8);

 public:
  using key_type = std::array<uint8_t, N>;

  [[nodiscard]] std::optional<uint32_t> find(const key_type& key) const {
    if (slots_.empty()) return std::nullopt;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = slot_of(key) & mask;; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.value == empty) return std::nullopt;
      if (s.key == key) return s.value;
    }
  }

  // Inserts a new key; the caller guarantees it is absent.
  void insert(const key_type& key, uint32_t value) {
    ENERGO_ASSERT(value != empty, "key_index value reserved");
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    place(key, value);
    ++size_;
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  void clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  static constexpr uint32_t empty = UINT32_MAX;
  struct slot {
    key_type key{};
    uint32_t value = empty;
  };

  static std::size_t slot_of(const key_type& key) {
    uint64_t h = 0;
    std::memcpy(&h, key.data(), 8);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }
  void place(const key_type& key, uint32_t value) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = slot_of(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].value == empty) {
        slots_[i].key = key;
        slots_[i].value = value;
        return;
      }
      ENERGO_ASSERT(slots_[i].key != key, "key_index duplicate insert");
    }
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, slot{});
    for (const slot& s : old)
      if (s.value != empty) place(s.key, s.value);
  }

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace energo::ledger
