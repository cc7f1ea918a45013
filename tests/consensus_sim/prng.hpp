#pragma once
// Seeded pseudo-random numbers for the simulator. Every random choice of a run comes from one
// prng seeded from the run's seed, so a seed replays the run exactly. No clocks, no
// std::random_device, no <random> distributions (their output differs between libraries).
#include <cstdint>

#include "common/assert.hpp"

namespace energo::sim {

__extension__ using uint128_for_prng = unsigned __int128;

// splitmix64: expands one 64-bit seed into well-mixed words (used to seed xoshiro and to derive
// independent per-node seeds).
[[nodiscard]] constexpr uint64_t splitmix64(uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256**: fast, small state, good statistical quality for a simulator.
class prng {
 public:
  explicit prng(uint64_t seed) noexcept {
    uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
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
  static constexpr uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
};

}  // namespace energo::sim
