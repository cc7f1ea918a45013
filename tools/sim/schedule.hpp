#pragma once
// Induced-value schedules for Gode & Sunder (1993) markets and their competitive equilibrium.
// Units: quantities in Wh (each schedule unit is `unit_wh` Wh), prices in TSL base units per Wh.
// File format: docs/simulator.md ("Schedule format").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace energo::sim {

// Stable error codes of the simulator (values never reused).
enum class errc : uint16_t {
  bad_schedule = 1,   // the schedule text does not parse or violates a bound
  io = 2,             // a file could not be read
  bad_argument = 3,   // a run parameter is out of range
};
[[nodiscard]] std::string_view errc_name(errc code) noexcept;

struct error {
  errc code = errc::bad_schedule;
  std::string message;
};
template <class T>
using result = energo::result<T, error>;

enum class role : uint8_t { buyer = 0, seller = 1 };

struct trader_schedule {
  std::string name;
  role trader_role = role::buyer;
  // Buyers: value of each unit, in the order the units are traded; sellers: cost of each unit.
  std::vector<int64_t> unit_prices;
};

struct schedule {
  int64_t unit_wh = 1000;          // energy per schedule unit
  int64_t price_min = 1;           // allowed order prices (ZI-U draws over the whole range)
  int64_t price_max = 200;
  int64_t bmax_wh = 0;             // Energo rules: the community's Bmax; 0 = unit_wh × most units of a trader
  std::vector<trader_schedule> traders;

  [[nodiscard]] int64_t effective_bmax_wh() const;
};

// Named bounds: a schedule is a small experiment, not a data set.
inline constexpr std::size_t schedule_traders_max = 1000;
inline constexpr std::size_t schedule_units_per_trader_max = 100;
inline constexpr std::size_t schedule_bytes_max = 1 << 20;
inline constexpr std::size_t schedule_name_chars_max = 32;
inline constexpr int64_t schedule_unit_wh_max = 1'000'000;
inline constexpr int64_t schedule_price_max = 1'000'000'000;  // keeps price × quantity × units far from int64 limits

[[nodiscard]] result<schedule> parse_schedule(std::string_view text);
[[nodiscard]] result<schedule> load_schedule(const std::string& path);

// The competitive equilibrium of the schedule's demand and supply steps, per schedule unit.
// Demand = every buyer unit value sorted high → low, supply = every seller unit cost low → high.
// quantity = the largest q with demand[q−1] >= supply[q−1]. Any price p in [price_low, price_high]
// clears the market at that quantity: demand(p) >= q >= supply(p) with no unit left that would trade.
struct equilibrium {
  int64_t quantity_units = 0;
  int64_t price_low = 0;
  int64_t price_high = 0;
  int64_t max_surplus_units = 0;   // Σ (demand[i] − supply[i]) × unit_wh over the q intramarginal pairs (TSL base units)
  // Reference price for Smith's alpha: (price_low + price_high) / 2, kept doubled to stay an integer.
  [[nodiscard]] int64_t price_times_two() const { return price_low + price_high; }
};
[[nodiscard]] equilibrium competitive_equilibrium(const schedule& s);

}  // namespace energo::sim
