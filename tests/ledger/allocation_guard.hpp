#pragma once
// A global allocation ceiling for the snapshot tests (this binary replaces operator new, see
// allocation_guard.cpp). A decoder that sizes a buffer by a number read from untrusted bytes shows
// up here: with a guard armed, any single allocation above the ceiling is recorded and refused
// with std::bad_alloc instead of actually committing hundreds of megabytes.
#include <cstddef>

namespace energo::testing {

struct allocation_stats {
  std::size_t largest_bytes = 0;    // largest single request while armed
  std::size_t refused = 0;          // requests above the ceiling while armed
};

// Arms the ceiling for its lifetime (not reentrant; tests are single-threaded).
class allocation_guard {
 public:
  explicit allocation_guard(std::size_t ceiling_bytes);
  ~allocation_guard();
  allocation_guard(const allocation_guard&) = delete;
  allocation_guard& operator=(const allocation_guard&) = delete;
  [[nodiscard]] allocation_stats stats() const;
};

}  // namespace energo::testing
