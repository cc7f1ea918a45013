#pragma once
// The simulator's own seeded generator: splitmix64 expands the seed, xoshiro256** draws. Chosen
// over <random> because the standard distributions are implementation-defined: the same seed must
// give byte-identical output with every standard library and build.
#include <cstdint>

#include "common/assert.hpp"
#include "common/prng.hpp"

namespace energo::sim {

class rng {
 public:
  explicit rng(uint64_t seed) noexcept : core_(seed) {}

  uint64_t next() noexcept { return core_.next(); }

  // Uniform in [0, bound) without modulo bias (rejection of the short last bucket).
  uint64_t below(uint64_t bound) noexcept {
    ENERGO_ASSERT(bound > 0, "rng::below needs a positive bound");
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x = next();
    while (x >= limit) x = next();
    return x % bound;
  }

  // Uniform in [lo, hi], both inclusive.
  int64_t uniform(int64_t lo, int64_t hi) noexcept {
    ENERGO_ASSERT(lo <= hi, "rng::uniform needs lo <= hi");
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    if (span == UINT64_MAX) return static_cast<int64_t>(next());
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span + 1));
  }

  // True with probability numerator / denominator.
  bool chance(uint64_t numerator, uint64_t denominator) noexcept { return below(denominator) < numerator; }

 private:
  xoshiro256ss core_;
};

}  // namespace energo::sim
