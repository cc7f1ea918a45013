#pragma once
// Always-on assertions for programmer errors ("cannot happen"). Expected input errors are
// values (see result.hpp), never assertions. An assertion failure logs and aborts.
#include <cstdio>
#include <cstdlib>

namespace energo::detail {
[[noreturn]] inline void assert_failed(const char* expr, const char* msg, const char* file, int line) {
  std::fprintf(stderr, "energo: assertion failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace energo::detail

#define ENERGO_ASSERT(cond, msg)                                                     \
  do {                                                                               \
    if (!(cond)) [[unlikely]]                                                        \
      ::energo::detail::assert_failed(#cond, (msg), __FILE__, __LINE__);             \
  } while (0)

// Deep checks that cost real time: on in debug/asan/test builds (ENERGO_INVARIANTS), off in release.
#if defined(ENERGO_INVARIANTS)
#define ENERGO_INVARIANTS_ENABLED 1
#else
#define ENERGO_INVARIANTS_ENABLED 0
#endif
