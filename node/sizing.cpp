#include "node/sizing.hpp"

#include "common/checked.hpp"
#include "ledger/types.hpp"

namespace energo::node {

energo::result<sizing_result, std::string> size_storage(const sizing_input& in) {
  using fail = energo::unexpected<std::string>;
  if (in.users == 0 || in.users > limits::sizing_users_max)
    return fail{"users must be in [1, " + std::to_string(limits::sizing_users_max) + "]"};
  auto bmax = ledger::bmax_wh_from(in.storage_cost_per_user_cents, in.battery_price_cents_per_kwh);
  if (!bmax) return fail{bmax.error().message};
  sizing_result r;
  r.bmax_wh = *bmax;
  // bmax ≤ 10^12 and users ≤ 10^8: products below stay under 2^127; checked against int64 below.
  const energo::int128 per_user = (static_cast<energo::int128>(3) * r.bmax_wh + 3) / 4;
  const energo::int128 capacity = per_user * static_cast<energo::int128>(in.users);
  const energo::int128 cost = (capacity * in.battery_price_cents_per_kwh + 999) / 1000;
  const energo::int128 containers = (capacity + limits::container_capacity_wh - 1) / limits::container_capacity_wh;
  constexpr energo::int128 int64_max = INT64_MAX;
  if (capacity > int64_max || cost > int64_max || containers * limits::container_area_m2 > int64_max)
    return fail{"the result does not fit in 64 bits; use fewer users"};
  r.capacity_per_user_wh = static_cast<int64_t>(per_user);
  r.capacity_wh = static_cast<int64_t>(capacity);
  r.cost_cents = static_cast<int64_t>(cost);
  r.containers = static_cast<int64_t>(containers);
  r.area_m2 = r.containers * limits::container_area_m2;
  return r;
}

}  // namespace energo::node
