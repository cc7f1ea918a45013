#pragma once
// An allocator for large, randomly accessed tables (the Merkle tree levels of crypto/merkle.hpp):
// blocks are cache-line aligned, and blocks of 2 MiB or more are 2 MiB aligned and hinted for
// transparent huge pages (madvise MADV_HUGEPAGE on Linux; elsewhere, or if the kernel declines,
// nothing happens). Why: at 10^6 resting orders the orders tree spans 64 MiB and a state root
// touches one random line per level of each dirty path; with 4 KiB pages each is also a TLB miss,
// whose page walk (nested in a VM) can cost more than the line (bench/README.md, market root).
// A hint only: contents, sizes and every result are the same with or without it, so deterministic
// code may use it. (Tried on the order book's pool and history rings too: no measurable gain.)
#include <cstddef>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace energo {

namespace table_allocation {
inline constexpr std::size_t line_bytes = 64;
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

[[nodiscard]] inline void* allocate(std::size_t bytes) {
  if (bytes < huge_page_bytes) return ::operator new(bytes, std::align_val_t{line_bytes});
  // Whole huge pages, so the hint covers the block and no other allocation shares its pages.
  const std::size_t rounded = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
  void* p = ::operator new(rounded, std::align_val_t{huge_page_bytes});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  (void)::madvise(p, rounded, MADV_HUGEPAGE);  // a hint: refusal only costs speed
#endif
  return p;
}

// `bytes` must be the size passed to allocate(): it selects the alignment to free with.
inline void deallocate(void* p, std::size_t bytes) noexcept {
  ::operator delete(p, std::align_val_t{bytes < huge_page_bytes ? line_bytes : huge_page_bytes});
}
}  // namespace table_allocation

template <class T>
struct table_allocator {
  using value_type = T;
  table_allocator() = default;
  template <class U>
  table_allocator(const table_allocator<U>&) noexcept {}
  [[nodiscard]] T* allocate(std::size_t n) { return static_cast<T*>(table_allocation::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { table_allocation::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const table_allocator<U>&) const noexcept { return true; }
};

}  // namespace energo
