#pragma once
// Seeded pseudo-random numbers for the simulator. Every random choice of a run comes from one
// prng seeded from the run's seed, so a seed replays the run exactly. No clocks, no
// std::random_device, no <random> distributions (their output differs between libraries).
#include <cstdint>

#include "common/assert.hpp"
#include "common/prng.hpp"

namespace energo::sim {

__extension__ using uint128_for_prng = unsigned __int128;

using energo::splitmix64;  // also derives independent per-node seeds

// xoshiro256** (common/prng.hpp) with the simulator's distributions on top.
class prng {
 public:
  explicit prng(uint64_t seed) noexcept : core_(seed) {}

  uint64_t next() noexcept { return core_.next(); }

  // Uniform in [0, bound). Lemire's multiply-shift; the tiny bias is irrelevant for a simulator
  // and keeps every call a single draw (so traces stay easy to reason about).
  uint64_t below(uint64_t bound) noexcept {
    ENERGO_ASSERT(bound > 0, "prng::below needs a positive bound");
    return static_cast<uint64_t>((static_cast<uint128_for_prng>(next()) * bound) >> 64);
  }

  // Uniform in [lo, hi] inclusive.
  uint64_t range(uint64_t lo, uint64_t hi) noexcept {
    ENERGO_ASSERT(lo <= hi, "prng::range needs lo <= hi");
    return lo + below(hi - lo + 1);
  }

  // True with probability per_million / 1e6 (integers only: the simulator is deterministic on
  // every platform).
  bool chance(uint64_t per_million) noexcept { return below(1'000'000) < per_million; }

 private:
  xoshiro256ss core_;
};

}  // namespace energo::sim
