// Schedules: parsing (strict, with line numbers) and the competitive equilibrium, on schedules
// whose equilibrium was worked out by hand.
#include <gtest/gtest.h>

#include "tools/sim/schedule.hpp"

namespace energo::sim {
namespace {

schedule parse_ok(std::string_view text) {
  auto s = parse_schedule(text);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? *s : schedule{};
}

TEST(schedule, parses_keywords_comments_and_traders) {
  const auto s = parse_ok("# a comment\nunit_wh 500\nprice_min 2 # trailing\nprice_max 50\nbmax_wh 1000\n"
                          "buyer b1 40 30\n\nseller s1 5\n");
  EXPECT_EQ(s.unit_wh, 500);
  EXPECT_EQ(s.price_min, 2);
  EXPECT_EQ(s.price_max, 50);
  EXPECT_EQ(s.effective_bmax_wh(), 1000);
  ASSERT_EQ(s.traders.size(), 2u);
  EXPECT_EQ(s.traders[0].name, "b1");
  EXPECT_EQ(s.traders[0].trader_role, role::buyer);
  EXPECT_EQ(s.traders[0].unit_prices, (std::vector<int64_t>{40, 30}));
  EXPECT_EQ(s.traders[1].trader_role, role::seller);
}

TEST(schedule, default_bmax_is_the_largest_endowment) {
  const auto s = parse_ok("unit_wh 100\nbuyer b 9 8 7\nseller s 1\n");
  EXPECT_EQ(s.effective_bmax_wh(), 300);
}

TEST(schedule, refuses_bad_input_with_the_line) {
  struct bad_case {
    const char* text;
    const char* needle;
  };
  const bad_case cases[] = {
      {"buyer b 10\nsellr s 5\n", "line 2: unknown keyword"},
      {"buyer b 10\nseller s x5\n", "line 2: 'x5' is not an integer"},
      {"buyer b 10\n", "at least one buyer and one seller"},
      {"buyer b 10\nseller b 5\n", "used twice"},
      {"price_max 50\nbuyer b 60\nseller s 5\n", "outside [price_min, price_max]"},
      {"unit_wh 0\nbuyer b 10\nseller s 5\n", "unit_wh must be within"},
      {"unit_wh 10\nunit_wh 10\n", "given twice"},
      {"price_min 9\nprice_max 5\nbuyer b 6\nseller s 6\n", "price_min is above price_max"},
      {"buyer b\nseller s 5\n", "needs a name and at least one unit price"},
      {"unit_wh 1000\nbmax_wh 10\nbuyer b 6\nseller s 6\n", "bmax_wh is below unit_wh"},
  };
  for (const auto& c : cases) {
    auto s = parse_schedule(c.text);
    ASSERT_FALSE(s.has_value()) << c.text;
    EXPECT_EQ(s.error().code, errc::bad_schedule);
    EXPECT_NE(s.error().message.find(c.needle), std::string::npos) << s.error().message;
  }
}

TEST(schedule, load_reports_a_missing_file) {
  auto s = load_schedule("/nonexistent/energo-sim-schedule.txt");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, errc::io);
}

// Demand 10, 8, 6 against supply 3, 5, 9: two units trade (6 < 9 stops the third). The price must
// keep both traded pairs willing (<= 8, >= 5) and the third buyer out (>= 6) with the third
// seller out (<= 9): [6, 8]. Surplus (10−3) + (8−5) = 10 per Wh.
TEST(equilibrium, hand_checked_interior_range) {
  const auto s = parse_ok("unit_wh 100\nprice_max 20\nbuyer a 10\nbuyer b 8 6\nseller x 3 9\nseller y 5\n");
  const auto e = competitive_equilibrium(s);
  EXPECT_EQ(e.quantity_units, 2);
  EXPECT_EQ(e.price_low, 6);
  EXPECT_EQ(e.price_high, 8);
  EXPECT_EQ(e.max_surplus_units, 10 * 100);
  EXPECT_EQ(e.price_times_two(), 14);
}

TEST(equilibrium, no_trade_when_every_value_is_below_every_cost) {
  const auto e = competitive_equilibrium(parse_ok("buyer b 5 4\nseller s 7 8\n"));
  EXPECT_EQ(e.quantity_units, 0);
  EXPECT_EQ(e.price_low, 5);
  EXPECT_EQ(e.price_high, 7);
  EXPECT_EQ(e.max_surplus_units, 0);
}

// Every unit trades: nothing outside the market bounds the price except the price range itself.
TEST(equilibrium, all_units_trade_bounded_by_the_price_range) {
  const auto e = competitive_equilibrium(parse_ok("unit_wh 1\nprice_min 1\nprice_max 20\nbuyer b 10 10\nseller s 1 1\n"));
  EXPECT_EQ(e.quantity_units, 2);
  EXPECT_EQ(e.price_low, 1);
  EXPECT_EQ(e.price_high, 10);
  EXPECT_EQ(e.max_surplus_units, 18);
}

// A marginal pair with value == cost trades at exactly that price and adds no surplus.
TEST(equilibrium, marginal_tie_trades_at_a_point_price) {
  const auto e = competitive_equilibrium(parse_ok("unit_wh 1\nbuyer b 9 5\nseller s 2 5\n"));
  EXPECT_EQ(e.quantity_units, 2);
  EXPECT_EQ(e.price_low, 5);
  EXPECT_EQ(e.price_high, 5);
  EXPECT_EQ(e.max_surplus_units, 7);
}

// The shipped symmetric market (examples/sim/gs_symmetric.txt): values 190..75 and costs 10..125
// in steps of 5; the 19th pair is 100/100, the 20th 95/105. Surplus Σ_{i<19} (180 − 10i) = 1710.
TEST(equilibrium, shipped_symmetric_schedule) {
  auto s = load_schedule("examples/sim/gs_symmetric.txt");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  const auto e = competitive_equilibrium(*s);
  EXPECT_EQ(e.quantity_units, 19);
  EXPECT_EQ(e.price_low, 100);
  EXPECT_EQ(e.price_high, 100);
  EXPECT_EQ(e.max_surplus_units, 1710 * 1000);
}

}  // namespace
}  // namespace energo::sim
