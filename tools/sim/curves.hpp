#pragma once
// The community's integer PV and load curves per 15-minute slot of the day (0..95), shared by the
// simulator (community.cpp) and the live demo community (tools/demo.cpp). Integer, so no libm and
// identical everywhere.
#include <cstdint>

namespace energo::sim {

inline constexpr int64_t slots_per_day = 96;  // 15-minute slots

// PV output of one 15-minute slot as a share of peak power, in permille: a parabola from 06:00 to
// 20:00 (slots 24..80), zero at night.
[[nodiscard]] constexpr int64_t pv_shape_permille(int64_t slot) {
  constexpr int64_t first = 24, last = 80, half = (last - first) / 2;
  if (slot <= first || slot >= last) return 0;
  const int64_t x = slot - first;
  return x * (last - first - x) * 1000 / (half * half);
}

// Household demand in watts for a slot: base load, a morning and a larger evening peak.
[[nodiscard]] constexpr int64_t load_shape_w(int64_t slot) {
  int64_t w = 300;
  if (slot >= 26 && slot < 36) w += 800;   // 06:30–09:00
  if (slot >= 68 && slot < 88) w += 1200;  // 17:00–22:00
  return w;
}

}  // namespace energo::sim
