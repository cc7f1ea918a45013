#pragma once
// Seeded pseudo-random numbers for simulators and tests: splitmix64 expands a seed, xoshiro256**
// draws. Used instead of <random> because the standard distributions are implementation-defined:
// the same seed must replay the same run with every standard library and build. Deterministic
// code that needs randomness (an agent's random price) seeds it from the log, never a clock.
#include <cstdint>

namespace energo {

[[nodiscard]] constexpr uint64_t splitmix64(uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class xoshiro256ss {
 public:
  explicit constexpr xoshiro256ss(uint64_t seed) noexcept {
    uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  constexpr uint64_t next() noexcept {
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

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
};

}  // namespace energo
