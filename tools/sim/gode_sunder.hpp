#pragma once
// Gode & Sunder (1993) double-auction experiments against the real order book
// (energo::market::order_book over an array-backed balance_view). See docs/simulator.md.
//
// Deterministic: a run is a pure function of (schedule, config); the same seed gives the same
// trades, metrics and text. All metrics are integers (basis points, hundredths).
#include <cstdint>
#include <string>
#include <vector>

#include "ledger/market/order_book.hpp"
#include "tools/sim/schedule.hpp"

namespace energo::sim {

enum class trader_kind : uint8_t {
  zi_u = 0,  // zero intelligence, unconstrained: prices uniform over [price_min, price_max]
  zi_c = 1,  // zero intelligence, constrained: a buyer never bids above its next unit's value, a seller never asks below its cost
};
enum class rule_set : uint8_t {
  paper = 0,   // G&S: one unit per order, improving quotes only, book cleared after every trade
  energo = 1,  // SPEC §4: resting multi-unit orders, funded at match time, Bmax, production over time
};
[[nodiscard]] std::string_view kind_name(trader_kind k) noexcept;
[[nodiscard]] std::string_view rules_name(rule_set r) noexcept;

// Sees every mutating call the simulator makes on the book, so that tests can check the trades
// against an independent oracle (tests/market/trade_checker.hpp). Observing changes nothing.
class book_observer {
 public:
  virtual ~book_observer() = default;
  // A new market (one seed) with a new, empty book over `accounts` traders.
  virtual void market_started(uint64_t /*seed*/, std::size_t /*accounts*/) {}
  // Before each call, with the balances the call will see.
  virtual void before_call(const market::balance_view& /*balances*/) {}
  virtual void placed(const market::order_request& /*request*/, const market::order_book::placement& /*result*/) {}
  virtual void replaced(const market::replace_request& /*request*/, const market::order_book::placement& /*result*/) {}
  virtual void cancelled(market::order_id /*id*/) {}
  virtual void matched(const market::order_book::match_report& /*report*/) {}
  // After each call: the book as it is now.
  virtual void after_call(const market::order_book& /*book*/) {}
};

struct gs_config {
  trader_kind kind = trader_kind::zi_c;
  rule_set rules = rule_set::paper;
  int64_t periods = 6;
  int64_t period_length = 1000;  // order submissions per period
  uint64_t seed = 1;
  int64_t seeds = 1;             // markets run with seeds seed, seed+1, …
  book_observer* observer = nullptr;  // tests only; not part of the report
};
inline constexpr int64_t gs_periods_max = 10'000;
inline constexpr int64_t gs_period_length_max = 10'000'000;
inline constexpr int64_t gs_seeds_max = 100'000;
[[nodiscard]] result<void> validate(const gs_config& c);

struct period_report {
  int64_t period = 0;               // 1-based
  int64_t submissions = 0;          // order submissions drawn (including discarded ones)
  int64_t orders = 0;               // orders that reached the book (placed or replaced)
  int64_t discarded = 0;            // paper rules: quotes that did not improve the best bid/ask
  int64_t trades = 0;
  int64_t volume_wh = 0;
  int64_t mean_price_centi = 0;     // volume-weighted mean trade price × 100 (0 without trades)
  int64_t alpha_centi = 0;          // Smith's alpha × 100
  int64_t surplus_units = 0;        // realised: Σ buyers (value − price) + Σ sellers (price − cost), per Wh
  int64_t efficiency_bp = 0;        // surplus / max surplus, basis points (1% = 100)
  // Energo rules only.
  int64_t produced_wh = 0;
  int64_t consumed_wh = 0;
  int64_t unfunded_at_end = 0;      // resting orders parked (unfunded) when the period ended
  int64_t resumed_trades = 0;       // trades of resting orders that became funded (production, consumption)
};

// Checks that hold in every run; a test asserts them, the CLI prints them.
struct market_checks {
  int64_t settle_violations = 0;    // trades the book settled that were not executable (overdraft, above Bmax)
  bool tsl_conserved = true;        // TSL total equal before and after every period
  bool watt_conserved = true;       // WATT total = endowed + produced − consumed after every period
  int64_t watt_wh_max_seen = 0;     // largest WATT balance of any trader at any time
  int64_t bought_wh_max_seen = 0;   // largest WATT balance of a buyer right after a trade (Bmax binds when it reaches Bmax)
  int64_t bmax_wh = 0;              // the Bmax in force (Energo rules)
  std::string book_invariants;      // order_book::check_invariants() at the end of each period; empty = fine
};

struct market_report {
  uint64_t seed = 0;
  std::vector<period_report> periods;
  market_checks checks;
  int64_t mean_efficiency_bp = 0;   // mean of the periods' efficiencies
  int64_t mean_alpha_centi = 0;     // mean over periods with trades
};

struct gs_report {
  gs_config config;
  schedule market_schedule;
  equilibrium ce;
  std::vector<market_report> markets;
  int64_t mean_efficiency_bp = 0;   // over every period of every market
  int64_t min_efficiency_bp = 0;    // worst market mean
  int64_t max_efficiency_bp = 0;    // best market mean
  int64_t mean_alpha_centi = 0;
  int64_t mean_volume_wh = 0;       // per period
  int64_t mean_price_centi = 0;     // volume-weighted over every trade
};

// One market (one seed) of `config.periods` periods.
[[nodiscard]] market_report run_market(const schedule& s, const equilibrium& ce, const gs_config& config, uint64_t seed);
// config.seeds markets; validates the config first.
[[nodiscard]] result<gs_report> run_gode_sunder(const schedule& s, const gs_config& config);

[[nodiscard]] std::string to_text(const gs_report& r);
[[nodiscard]] std::string to_json(const gs_report& r);

}  // namespace energo::sim
