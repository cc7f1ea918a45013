// Gode & Sunder (1993) against the real order book: ZI-C reaches near-full allocative efficiency
// under the paper's rules, ZI-U does not; runs are reproducible from the seed; under Energo's
// rules (funding at match time, Bmax) tokens are conserved and no balance ever exceeds Bmax.
// Efficiency alone cannot see the trade price or the matching order (a book that trades at the
// newer order's price, or takes the newest or the worst order first, reaches the same
// efficiency), so every trade of these runs also goes through the independent trade checker
// (tests/market/trade_checker.hpp).
#include <gtest/gtest.h>

#include <map>

#include "../market/trade_checker.hpp"
#include "tools/sim/gode_sunder.hpp"

namespace energo::sim {
namespace {

// Records every call the simulator makes on the book, market by market, for the trade checker.
class recording_observer final : public book_observer {
 public:
  struct market_history {
    uint64_t seed = 0;
    std::size_t accounts = 0;
    std::vector<market::test::recorded_call> calls;
  };
  // Records the first `markets_max` markets only: checking costs more than the run itself.
  explicit recording_observer(std::size_t markets_max = SIZE_MAX) : markets_max_(markets_max) {}
  void market_started(uint64_t seed, std::size_t accounts) override {
    recording_ = markets.size() < markets_max_;
    if (recording_) markets.push_back({seed, accounts, {}});
  }
  void before_call(const market::balance_view& balances) override {
    if (!recording_) return;
    current_ = {};
    current_.funded = true;
    current_.balances = market::test::trade_checker::snapshot(balances, markets.back().accounts);
  }
  void placed(const market::order_request& request, const market::order_book::placement& result) override {
    current_.what = market::test::recorded_call::kind::place;
    current_.request = request;
    take(result.id, result.trades, result.matching_incomplete);
  }
  void replaced(const market::replace_request& request, const market::order_book::placement& result) override {
    current_.what = market::test::recorded_call::kind::replace;
    current_.replace = request;
    take(result.id, result.trades, result.matching_incomplete);
  }
  void cancelled(market::order_id id) override {
    current_.what = market::test::recorded_call::kind::cancel;
    current_.id = id;
  }
  void matched(const market::order_book::match_report& report) override {
    current_.what = market::test::recorded_call::kind::match;
    take(0, report.trades, report.matching_incomplete);
  }
  void after_call(const market::order_book& book) override {
    if (!recording_) return;
    for (std::size_t a = 0; a < markets.back().accounts; ++a)
      for (const auto& o : book.orders_of(static_cast<market::account_ref>(a))) current_.resting_after.insert(o.id);
    markets.back().calls.push_back(std::move(current_));
  }

  std::vector<market_history> markets;

 private:
  void take(market::order_id id, std::span<const market::trade> trades, bool incomplete) {
    current_.id = id;
    current_.trades.assign(trades.begin(), trades.end());
    current_.matching_incomplete = incomplete;
  }
  market::test::recorded_call current_;
  std::size_t markets_max_;
  bool recording_ = false;
};

// Every trade of every market recorded passes the checker; returns the number of trades checked.
std::size_t expect_trades_follow_spec(const recording_observer& recorded) {
  std::size_t trades = 0;
  for (const auto& m : recorded.markets) {
    const auto checker = market::test::check_history(m.calls, m.accounts);
    EXPECT_TRUE(checker.ok()) << "seed " << m.seed << ":\n" << checker.report();
    trades += checker.trades_checked();
  }
  return trades;
}

schedule shipped() {
  auto s = load_schedule("examples/sim/gs_symmetric.txt");
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? *s : schedule{};
}

gs_report run(const schedule& s, trader_kind kind, rule_set rules, uint64_t seed, int64_t seeds, int64_t periods = 6,
             book_observer* observer = nullptr) {
  gs_config c;
  c.observer = observer;
  c.kind = kind;
  c.rules = rules;
  c.seed = seed;
  c.seeds = seeds;
  c.periods = periods;
  auto r = run_gode_sunder(s, c);
  EXPECT_TRUE(r.has_value());
  return r ? *r : gs_report{};
}

void expect_checks_hold(const gs_report& r) {
  for (const auto& m : r.markets) {
    SCOPED_TRACE("seed " + std::to_string(m.seed));
    EXPECT_EQ(m.checks.settle_violations, 0);
    EXPECT_TRUE(m.checks.tsl_conserved);
    EXPECT_TRUE(m.checks.watt_conserved);
    EXPECT_LE(m.checks.watt_wh_max_seen, m.checks.bmax_wh);
    EXPECT_EQ(m.checks.book_invariants, "");
    for (const auto& p : m.periods) EXPECT_LE(p.efficiency_bp, 10'000) << "no allocation beats the competitive one";
  }
}

// The paper's headline result, asserted: budget-constrained random traders in a double auction
// with the paper's rules extract at least 95% of the available surplus (G&S report ~97-99%).
TEST(gode_sunder, zi_c_paper_rules_reach_95_percent_efficiency_over_20_seeds) {
  const auto s = shipped();
  recording_observer recorded;
  const auto r = run(s, trader_kind::zi_c, rule_set::paper, 1, 20, 6, &recorded);
  EXPECT_GT(expect_trades_follow_spec(recorded), 1000u);
  ASSERT_EQ(r.markets.size(), 20u);
  EXPECT_GE(r.mean_efficiency_bp, 9'500) << "mean efficiency " << r.mean_efficiency_bp << " bp";
  expect_checks_hold(r);
  // ZI-C never trades at a loss: with the book's "older order's price" rule every trade lies
  // between the buyer's value and the seller's cost, so a period's surplus is never negative.
  for (const auto& m : r.markets)
    for (const auto& p : m.periods) {
      EXPECT_GE(p.surplus_units, 0);
      EXPECT_EQ(p.volume_wh, p.trades * s.unit_wh) << "paper rules trade one unit at a time";
    }
}

// ZI-U trades extramarginal units at a loss. On the symmetric schedule it trades every unit, so its
// surplus is Σ values − Σ costs = 1560 of 1710 (91.2%) whatever the pairing; with excess supply the
// pairing matters (~80%). ZI-C must do better on both schedules, under either rule set.
TEST(gode_sunder, zi_u_is_less_efficient_than_zi_c) {
  auto excess = load_schedule("examples/sim/gs_excess_supply.txt");
  ASSERT_TRUE(excess.has_value()) << excess.error().message;
  for (const schedule& s : {shipped(), *excess})
  for (rule_set rules : {rule_set::paper, rule_set::energo}) {
    SCOPED_TRACE(std::string(rules_name(rules)) + ", " + std::to_string(s.traders.size()) + " traders");
    recording_observer recorded_u(3), recorded_c(3);
    const auto u = run(s, trader_kind::zi_u, rules, 1, 20, 6, &recorded_u);
    const auto c = run(s, trader_kind::zi_c, rules, 1, 20, 6, &recorded_c);
    EXPECT_GT(expect_trades_follow_spec(recorded_u), 100u);
    EXPECT_GT(expect_trades_follow_spec(recorded_c), 100u);
    EXPECT_LT(u.mean_efficiency_bp, c.mean_efficiency_bp);
    EXPECT_GT(u.mean_alpha_centi, c.mean_alpha_centi) << "ZI-U prices scatter more around the CE price";
    expect_checks_hold(u);
  }
}

TEST(gode_sunder, same_seed_same_report_byte_for_byte) {
  const auto s = shipped();
  for (rule_set rules : {rule_set::paper, rule_set::energo})
    for (trader_kind kind : {trader_kind::zi_c, trader_kind::zi_u}) {
      const auto a = run(s, kind, rules, 42, 2, 3);
      const auto b = run(s, kind, rules, 42, 2, 3);
      EXPECT_EQ(to_text(a), to_text(b));
      EXPECT_EQ(to_json(a), to_json(b));
      const auto other = run(s, kind, rules, 43, 2, 3);
      EXPECT_NE(to_json(a), to_json(other)) << "the seed must matter";
    }
}

// Markets of a multi-seed run are the single-seed runs of their seeds.
TEST(gode_sunder, market_k_of_a_sweep_equals_a_run_with_that_seed) {
  const auto s = shipped();
  const auto sweep = run(s, trader_kind::zi_c, rule_set::energo, 10, 3, 2);
  const auto single = run(s, trader_kind::zi_c, rule_set::energo, 12, 1, 2);
  ASSERT_EQ(sweep.markets.size(), 3u);
  EXPECT_EQ(sweep.markets[2].mean_efficiency_bp, single.markets[0].mean_efficiency_bp);
  EXPECT_EQ(sweep.markets[2].periods.back().surplus_units, single.markets[0].periods.back().surplus_units);
}

// Energo's rules: sellers ask before producing, buyers are bounded by their budget and Bmax
// (2 units here while they want up to 4). TSL and WATT are conserved, no balance exceeds Bmax,
// Bmax is actually reached by buyers (it binds), and resting orders trade once production or
// consumption funds them (funded at match time).
TEST(gode_sunder, energo_rules_conserve_tokens_and_respect_bmax) {
  const auto s = shipped();
  ASSERT_EQ(s.effective_bmax_wh(), 2000);
  for (trader_kind kind : {trader_kind::zi_c, trader_kind::zi_u}) {
    SCOPED_TRACE(std::string(kind_name(kind)));
    recording_observer recorded(2);
    const auto r = run(s, kind, rule_set::energo, 1, 5, 6, &recorded);
    expect_checks_hold(r);
    EXPECT_GT(expect_trades_follow_spec(recorded), 100u);
    int64_t reached = 0, produced = 0, consumed = 0, resumed = 0;
    for (const auto& m : r.markets) {
      reached += m.checks.bought_wh_max_seen == 2000 ? 1 : 0;
      for (const auto& p : m.periods) {
        produced += p.produced_wh;
        consumed += p.consumed_wh;
        resumed += p.resumed_trades;
      }
    }
    EXPECT_EQ(reached, 5) << "buyers should fill up to Bmax (and no further) in every market";
    EXPECT_GT(produced, 0);
    EXPECT_GT(consumed, 0);
    EXPECT_GT(resumed, 0) << "no resting order was ever funded later";
  }
  const auto c = run(s, trader_kind::zi_c, rule_set::energo, 1, 20);
  EXPECT_GE(c.mean_efficiency_bp, 9'500) << "ZI-C stays efficient under Energo's rules";
}

// The checks above pass only if the checker can fail on these very histories. A book that trades
// at the newer order's price yields the same efficiency on a symmetric schedule; rewrite a real
// run's trades into what that book would report and the checker must refuse them. (The other two
// broken books, newest first within a level and worst ask first, change which orders trade, not
// only the printed price; they are proven caught by reference matchers in
// tests/market/trade_checker_test.cpp. Injecting all three into the real book is left for after the
// order book's matching rewrite.)
TEST(gode_sunder, trade_checker_refuses_a_run_rewritten_to_the_newer_orders_price) {
  const auto s = shipped();
  for (rule_set rules : {rule_set::paper, rule_set::energo}) {
    SCOPED_TRACE(std::string(rules_name(rules)));
    recording_observer recorded;
    run(s, trader_kind::zi_c, rules, 7, 1, 2, &recorded);
    ASSERT_EQ(recorded.markets.size(), 1u);
    auto calls = recorded.markets[0].calls;
    ASSERT_TRUE(market::test::check_history(calls, recorded.markets[0].accounts).ok());
    // Each trade's price becomes the newer order's: the incoming order for a place/replace.
    std::map<market::order_id, int64_t> price_of;
    int rewritten = 0;
    for (auto& c : calls) {
      if (c.what == market::test::recorded_call::kind::place) price_of[c.id] = c.request.price_units_per_wh;
      if (c.what == market::test::recorded_call::kind::replace) price_of[c.id] = c.replace.price_units_per_wh;
      for (auto& t : c.trades) {
        const int64_t newer = price_of[std::max(t.buy_order, t.sell_order)];
        if (newer != t.price_units_per_wh) ++rewritten;
        t.price_units_per_wh = newer;
        t.notional_units = newer * t.quantity_wh;
      }
    }
    ASSERT_GT(rewritten, 0) << "no trade between orders of different prices";
    const auto checker = market::test::check_history(calls, recorded.markets[0].accounts);
    ASSERT_FALSE(checker.ok());
    EXPECT_NE(checker.violations().front().find("is not the older order's"), std::string::npos) << checker.report();
  }
}

// A market where nothing can trade: efficiency is reported as 0 (no surplus to realise), no trades.
TEST(gode_sunder, no_gains_from_trade_means_no_trades_for_zi_c) {
  auto s = parse_schedule("price_max 100\nbuyer b 10 9\nseller s 50 60\n");
  ASSERT_TRUE(s.has_value());
  for (rule_set rules : {rule_set::paper, rule_set::energo}) {
    const auto r = run(*s, trader_kind::zi_c, rules, 3, 2, 2);
    for (const auto& m : r.markets)
      for (const auto& p : m.periods) {
        EXPECT_EQ(p.trades, 0);
        EXPECT_EQ(p.efficiency_bp, 0);
      }
  }
}

TEST(gode_sunder, refuses_out_of_range_parameters) {
  const auto s = shipped();
  gs_config c;
  c.periods = 0;
  EXPECT_FALSE(run_gode_sunder(s, c).has_value());
  c.periods = 1;
  c.period_length = 0;
  EXPECT_FALSE(run_gode_sunder(s, c).has_value());
  c.period_length = 10;
  c.seeds = gs_seeds_max + 1;
  auto r = run_gode_sunder(s, c);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::bad_argument);
}

}  // namespace
}  // namespace energo::sim
