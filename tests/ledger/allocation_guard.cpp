// Replaces the global operator new/delete of the snapshot test binary (only this binary) with a
// malloc-based version that records the largest request and refuses requests above an armed
// ceiling. malloc/free stay intercepted by AddressSanitizer, so ASan still checks every access.
#include "tests/ledger/allocation_guard.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>

namespace energo::testing {
namespace {
std::size_t ceiling_bytes = 0;  // 0 = disarmed
allocation_stats current;

void* allocate(std::size_t n, std::size_t alignment = 0) {
  if (ceiling_bytes != 0) {
    if (n > current.largest_bytes) current.largest_bytes = n;
    if (n > ceiling_bytes) {
      ++current.refused;
      throw std::bad_alloc();
    }
  }
  if (alignment > alignof(std::max_align_t)) {
    const std::size_t rounded = (n + alignment - 1) / alignment * alignment;  // aligned_alloc's rule
    if (void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded)) return p;
  } else if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
}  // namespace

allocation_guard::allocation_guard(std::size_t ceiling) {
  current = {};
  ceiling_bytes = ceiling;
}
allocation_guard::~allocation_guard() { ceiling_bytes = 0; }
allocation_stats allocation_guard::stats() const { return current; }

}  // namespace energo::testing

void* operator new(std::size_t n) { return energo::testing::allocate(n); }
void* operator new[](std::size_t n) { return energo::testing::allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void* operator new(std::size_t n, std::align_val_t a) { return energo::testing::allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return energo::testing::allocate(n, static_cast<std::size_t>(a)); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
