#pragma once
// Storage sizing for a community (SPEC §3.7): Bmax from the target storage cost per user Cu and the
// battery price P, then the capacity, cost and 40-ft containers for N users. Capacity is sized at
// 150% of the average balance and the average balance is half of Bmax: capacity per user =
// 1.5 × Bmax / 2 = 3·Bmax/4. Integers only; every division rounds as documented per field.
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace energo::node {

namespace limits {
inline constexpr uint64_t sizing_users_max = 100'000'000;
inline constexpr int64_t container_capacity_wh = 800'000;  // one 40-ft container: 800 kWh
inline constexpr int64_t container_area_m2 = 30;           // ~30 m² each
}  // namespace limits

struct sizing_input {
  uint64_t users = 0;
  int64_t storage_cost_per_user_cents = 30000;  // Cu ($300)
  int64_t battery_price_cents_per_kwh = 20000;  // P ($200/kWh)
};

struct sizing_result {
  int64_t bmax_wh = 0;                  // floor(4·Cu·1000 / (3·P)), the ledger's rule
  int64_t capacity_per_user_wh = 0;     // ceil(3·Bmax / 4)
  int64_t capacity_wh = 0;              // users × capacity_per_user_wh
  int64_t cost_cents = 0;               // ceil(capacity_wh × P / 1000)
  int64_t containers = 0;               // ceil(capacity_wh / container_capacity_wh)
  int64_t area_m2 = 0;                  // containers × container_area_m2
};

[[nodiscard]] energo::result<sizing_result, std::string> size_storage(const sizing_input& in);

}  // namespace energo::node
