#pragma once
// The simulator's own seeded generator: splitmix64 expands the seed, xoshiro256** draws. Chosen
// over <random> because the standard distributions are implementation-defined: the same seed must
// give byte-identical output with every standard library and build.
#include <cstdint>

#include "common/assert.hpp"

namespace energo::sim {

class rng {
 public:
  explicit rng(uint64_t seed) noexcept {
    uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

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

  static uint64_t splitmix64(uint64_t& x) noexcept {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
};

}  // namespace energo::sim
