// Longer Gode & Sunder sweep (ctest label `slow`, excluded from CI): 200 seeds per configuration.
#include <gtest/gtest.h>

#include "tools/sim/gode_sunder.hpp"

namespace energo::sim {
namespace {

gs_report run(const schedule& s, trader_kind kind, rule_set rules, uint64_t seed, int64_t seeds) {
  gs_config c;
  c.kind = kind;
  c.rules = rules;
  c.seed = seed;
  c.seeds = seeds;
  auto r = run_gode_sunder(s, c);
  EXPECT_TRUE(r.has_value());
  return r ? *r : gs_report{};
}

void expect_checks_hold(const gs_report& r) {
  for (const auto& m : r.markets) {
    EXPECT_EQ(m.checks.settle_violations, 0) << "seed " << m.seed;
    EXPECT_TRUE(m.checks.tsl_conserved && m.checks.watt_conserved) << "seed " << m.seed;
    EXPECT_LE(m.checks.watt_wh_max_seen, m.checks.bmax_wh) << "seed " << m.seed;
    EXPECT_EQ(m.checks.book_invariants, "") << "seed " << m.seed;
  }
}

// Longer sweep (label slow): 200 seeds per configuration; the same properties hold.
TEST(gode_sunder_slow, sweep_200_seeds) {
  auto loaded = load_schedule("examples/sim/gs_symmetric.txt");
  ASSERT_TRUE(loaded.has_value());
  const schedule& s = *loaded;
  for (rule_set rules : {rule_set::paper, rule_set::energo}) {
    const auto c = run(s, trader_kind::zi_c, rules, 1000, 200);
    const auto u = run(s, trader_kind::zi_u, rules, 1000, 200);
    EXPECT_GE(c.mean_efficiency_bp, 9'500);
    EXPECT_LT(u.mean_efficiency_bp, c.mean_efficiency_bp);
    expect_checks_hold(c);
    expect_checks_hold(u);
  }
}

}  // namespace
}  // namespace energo::sim
