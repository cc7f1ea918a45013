#pragma once
// Open-addressing map order_id → order pool slot (linear probing, backward-shift deletion).
// Its layout never reaches an output: the book only looks ids up, and serialization walks the
// pool in id order. Allocation happens only when the table grows (power-of-two doubling), so the
// steady state allocates nothing.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "common/assert.hpp"
#include "ledger/market/types.hpp"

namespace energo::market::detail {

// Gives `v` room for at least `want` elements and makes all of its spare room resident: the
// elements past the size are value-initialised, then dropped again (trivially), so that the
// pages are written once here and a later copy into that room does not fault them in.
template <class T>
void reserve_resident(std::vector<T>& v, std::size_t want) {
  static_assert(std::is_trivially_destructible_v<T>, "the spare room is dropped without destructors");
  if (want > v.capacity()) v.reserve(want);
  const std::size_t n = v.size();
  v.resize(v.capacity());
  v.resize(n);
}

class id_index {
 public:
  static constexpr uint32_t npos = UINT32_MAX;

  [[nodiscard]] uint32_t find(order_id id) const noexcept {
    if (slots_.empty()) return npos;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(id, mask);; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.id == id) return s.value;
      if (s.id == 0) return npos;
    }
  }

  // The caller guarantees id != 0 and that id is absent.
  void insert(order_id id, uint32_t value) {
    ENERGO_ASSERT(id != 0, "order id 0 is reserved");
    if ((size_ + 1) * 2 > slots_.size()) grow();
    put(id, value);
    ++size_;
  }

  // Returns false when id is absent.
  bool erase(order_id id) noexcept {
    if (slots_.empty()) return false;
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(id, mask);
    for (;; i = (i + 1) & mask) {
      if (slots_[i].id == id) break;
      if (slots_[i].id == 0) return false;
    }
    // Backward-shift: pull later members of the probe run into the hole so lookups stay correct.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
      if (slots_[j].id == 0) break;
      const std::size_t h = home(slots_[j].id, mask);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool home_after_hole = ((j - h) & mask) < ((j - hole) & mask);
      if (!home_after_hole) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = slot{};
    --size_;
    return true;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(slot); }
  // At least `other`'s table capacity (see order_book::reserve_like); no observable effect.
  void reserve_like(const id_index& other) { slots_.reserve(other.slots_.capacity()); }
  // Room for the table's next doubling once it is 3/8 full (it doubles past 1/2), resident (see
  // order_book::reserve_ahead); no observable effect.
  void reserve_ahead() { reserve_resident(slots_, size_ * 8 > slots_.size() * 3 ? slots_.size() * 2 : 0); }
  void clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  struct slot {
    order_id id = 0;  // 0 = empty
    uint32_t value = npos;
  };

  // Ids are sequential: groups of four consecutive ids share one block of four slots (one cache
  // line of 16-byte slots), so inserting a new order usually hits a line the previous insert just
  // touched; the groups themselves are scattered by a multiplicative mix.
  static std::size_t home(order_id id, std::size_t mask) noexcept {
    uint64_t h = (id >> 2) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return static_cast<std::size_t>((h << 2) | (id & 3)) & mask;
  }

  void put(order_id id, uint32_t value) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(id, mask);
    while (slots_[i].id != 0) i = (i + 1) & mask;
    slots_[i] = slot{id, value};
  }

  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, slot{});
    for (const slot& s : old)
      if (s.id != 0) put(s.id, s.value);
  }

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace energo::market::detail
