#pragma once
// A small std::expected stand-in (libstdc++ 12 has no <expected>): a value or an error, never both.
#include <utility>
#include <variant>

#include "common/assert.hpp"

namespace energo {

template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

template <class T, class E>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  result(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    ENERGO_ASSERT(has_value(), "result::value() on an error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    ENERGO_ASSERT(has_value(), "result::value() on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    ENERGO_ASSERT(has_value(), "result::value() on an error");
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const& {
    ENERGO_ASSERT(!has_value(), "result::error() on a value");
    return std::get<1>(v_);
  }
  E&& error() && {
    ENERGO_ASSERT(!has_value(), "result::error() on a value");
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, E> v_;
};

// result<void, E>: success carries nothing.
struct ok_t {};
inline constexpr ok_t ok{};

template <class E>
class [[nodiscard]] result<void, E> {
 public:
  result(ok_t) : has_error_(false) {}  // NOLINT
  result(unexpected<E> e) : has_error_(true), error_(std::move(e.error)) {}  // NOLINT
  bool has_value() const noexcept { return !has_error_; }
  explicit operator bool() const noexcept { return !has_error_; }
  const E& error() const& {
    ENERGO_ASSERT(has_error_, "result::error() on a value");
    return error_;
  }

 private:
  bool has_error_;
  E error_{};
};

}  // namespace energo
