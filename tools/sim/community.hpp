#pragma once
// Community simulation through the REAL replicated ledger (ledger::ledger::apply): PV prosumers,
// consumers, storage units, automatic agents (set_agent), manual ZI-C traders and EV charging,
// over N days of 15-minute ticks. Curves are integer (no libm); the run is a pure function of the
// config. Commands are built unsigned: apply() checks nonces and key entitlement, not signatures
// (verify() does), so each account's "key" is 33 arbitrary bytes whose HASH160 is its address.
#include <cstdint>
#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "tools/sim/schedule.hpp"

namespace energo::sim {

struct community_config {
  int64_t households = 20;
  int64_t days = 3;
  uint64_t seed = 1;
};
inline constexpr int64_t community_households_max = 2000;
inline constexpr int64_t community_days_max = 366;
[[nodiscard]] result<void> validate(const community_config& c);

// Prices of the simulated community, TSL base units per Wh: the national grid sells at the retail
// price and buys at the feed-in price; the community market trades in between.
inline constexpr int64_t community_feed_in_price = 800;
inline constexpr int64_t community_retail_price = 3000;

struct owner_income {
  std::string unit;            // "unit-<k>"
  std::string owner;           // "household-<i>"
  int64_t fees_units = 0;
};

struct day_report {
  int64_t day = 0;                    // 1-based
  int64_t production_wh = 0;          // PV generation of all prosumers
  int64_t load_wh = 0;                // household consumption (before own PV)
  int64_t minted_wh = 0;              // exported energy stored as WATT
  int64_t burned_wh = 0;              // consumption served from community storage (meters + EVs)
  int64_t grid_import_wh = 0;         // consumption the community could not serve (meters + EVs)
  int64_t grid_export_wh = 0;         // exported energy beyond Bmax / without TSL
  int64_t self_sufficiency_bp = 0;    // burned / (burned + grid import), basis points
  int64_t trades = 0;
  int64_t volume_wh = 0;
  int64_t trade_price_centi = 0;      // volume-weighted mean × 100
  int64_t trade_price_low = 0;
  int64_t trade_price_high = 0;
  int64_t buy_price_centi = 0;        // mean over ticks of the lowest ask (SPEC §4 buy price) × 100
  int64_t sell_price_centi = 0;       // mean over ticks of the highest bid (sell price) × 100
  int64_t agent_orders = 0;
  int64_t manual_orders = 0;
  int64_t fees_collected_units = 0;
  int64_t fees_to_owners_units = 0;
  std::vector<owner_income> owner_fees;  // per storage unit, this day
  int64_t ev_sessions = 0;
  int64_t ev_community_wh = 0;        // EV energy bought through the book
  int64_t ev_grid_wh = 0;             // EV energy the book could not supply within the caps
  int64_t ev_station_fees_units = 0;
};

struct community_report {
  community_config config;
  int64_t bmax_wh = 0;
  int64_t prosumers = 0;
  int64_t consumers = 0;
  int64_t agents = 0;
  int64_t storage_units = 0;
  int64_t vehicles = 0;
  int64_t stations = 0;
  std::vector<day_report> days;
  int64_t commands_applied = 0;
  int64_t commands_refused = 0;
  std::vector<std::string> refusals;     // the first few refusal messages (a correct run has none)
  std::vector<std::string> invariant_problems;  // ledger::check_invariants() at every day end
  std::string state_root_hex;            // of the final ledger state
  int64_t tsl_total_units = 0;
  int64_t watt_total_wh = 0;
  int64_t watt_minted_total_wh = 0;
  int64_t watt_burned_total_wh = 0;
};

[[nodiscard]] result<community_report> run_community(const community_config& config);

// The genesis of a simulated community, shared by run_community and energo-demo (tools/demo_main.cpp):
// one admin, the members' allocations in the order given, then the rest of the fixed TSL supply
// (SPEC §2: allocations sum to it exactly) on a treasury account that never trades. Refused when the
// allocations overflow or exceed the supply. ledger::ledger::create still checks the result.
struct community_genesis_spec {
  std::string community_id;
  int64_t genesis_time_ms = 0;
  ledger::community_params params;
  crypto::ed25519_public_key admin;
  std::vector<ledger::genesis_allocation> allocations;
  ledger::account_address treasury{};
};
[[nodiscard]] result<ledger::genesis> community_genesis(const community_genesis_spec& spec);
[[nodiscard]] std::string to_text(const community_report& r);
[[nodiscard]] std::string to_json(const community_report& r);

}  // namespace energo::sim
