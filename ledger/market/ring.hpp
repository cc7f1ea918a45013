#pragma once
// A bounded ring of the last N values (market data: trades, epochs, account history). Pushing
// beyond capacity overwrites the oldest. Storage grows to capacity once and is then reused.
#include <cstdint>
#include <vector>

#include "common/assert.hpp"

namespace energo::market::detail {

template <class T>
class ring {
 public:
  explicit ring(uint32_t capacity = 0) : capacity_(capacity) {}

  void push(const T& value) {
    if (capacity_ == 0) return;
    if (items_.size() < capacity_) {
      items_.push_back(value);
      return;
    }
    items_[start_] = value;
    start_ = start_ + 1 == capacity_ ? 0 : start_ + 1;
  }
  [[nodiscard]] uint32_t size() const noexcept { return static_cast<uint32_t>(items_.size()); }
  [[nodiscard]] uint32_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  // i = 0 is the oldest kept value.
  [[nodiscard]] const T& at(uint32_t i) const {
    ENERGO_ASSERT(i < items_.size(), "ring index out of range");
    return items_[(start_ + i) % items_.size()];
  }
  [[nodiscard]] T& newest() {
    ENERGO_ASSERT(!items_.empty(), "ring is empty");
    return items_[(start_ + items_.size() - 1) % items_.size()];
  }
  [[nodiscard]] const T& newest() const {
    ENERGO_ASSERT(!items_.empty(), "ring is empty");
    return items_[(start_ + items_.size() - 1) % items_.size()];
  }
  [[nodiscard]] std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(items_.size());
    for (uint32_t i = 0; i < size(); ++i) out.push_back(at(i));
    return out;
  }
  void reserve_full() { items_.reserve(capacity_); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return items_.capacity() * sizeof(T); }

 private:
  std::vector<T> items_;
  uint32_t capacity_ = 0;
  uint32_t start_ = 0;  // index of the oldest value once full
};

}  // namespace energo::market::detail
