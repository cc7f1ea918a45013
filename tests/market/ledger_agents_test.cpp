// Automatic trading agents inside the ledger (SPEC §4 "ZI"): set_agent validation, orders placed
// by the ledger itself when a member's WATT balance crosses its thresholds (after readings,
// trades and at every epoch close), no duplicates while an order on that side rests, and
// deterministic agent-to-agent trading.
#include <gtest/gtest.h>

#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger::market_test {
namespace {

using market::side;

TEST_F(market_ledger_test, set_agent_validation_errors_change_nothing) {
  // Prices outside the market's range.
  refused(make().agent(alice, 0, 100, 20, 1000), errc::out_of_range);
  refused(make().agent(alice, 5, 100, 1'000'000'000'001, 1000), errc::out_of_range);
  // Thresholds outside [0, Bmax].
  refused(make().agent(alice, 5, -1, 20, 1000), errc::out_of_range);
  refused(make().agent(alice, 5, 100, 20, bmax_wh + 1), errc::out_of_range);
  // Buy threshold above the sell threshold; buy price not below the sell price.
  refused(make().agent(alice, 5, 1001, 20, 1000), errc::out_of_range);
  refused(make().agent(alice, 20, 100, 20, 1000), errc::out_of_range);
  refused(make().agent(alice, 21, 100, 20, 1000), errc::out_of_range);
  // Signature, unknown account, replay.
  auto bad = make().agent(alice, 5, 100, 20, 1000);
  bad.signature[3] ^= 1;
  refused(bad, errc::bad_signature);
  refused(make().agent(stranger, 5, 100, 20, 1000), errc::unknown_account);
  const auto good = make().agent(alice, 5, 100, 20, 1000);
  must(good);
  refused(good, errc::stale_nonce);
  EXPECT_TRUE(l().agents().count(idx(alice)));
  // Bounds are inclusive.
  must(make().agent(bob, 1, 0, 1'000'000'000'000, bmax_wh));
  must(make().agent(carol, 1, 500, 2, 500));
  EXPECT_EQ(l().agents().size(), 3u);
}

TEST_F(market_ledger_test, agent_sells_above_its_threshold_without_duplicates_and_re_places_after_a_fill) {
  mint(alice, 500);
  const auto root_before = l().state_root();
  must(make().agent(alice, 5, 200, 20, 1000));
  EXPECT_NE(l().state_root(), root_before);  // the agent is part of the state
  EXPECT_TRUE(orders(alice).empty());        // 200 <= 500 <= 1000: nothing to do
  EXPECT_EQ(l().sums().agent_orders, 0);

  // A reading lifts alice to 1300 Wh: the ledger places a sell of the excess at her sell price.
  must(make().reading(alice, 800, 0));
  auto mine = orders(alice);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].order_side, side::sell);
  EXPECT_EQ(mine[0].price_units_per_wh, 20);
  EXPECT_EQ(mine[0].remaining_wh, 300);
  EXPECT_EQ(l().sums().agent_orders, 1);

  // More energy while the sell rests: no second sell order.
  must(make().reading(alice, 100, 0));
  ASSERT_EQ(orders(alice).size(), 1u);
  EXPECT_EQ(orders(alice)[0].remaining_wh, 300);
  EXPECT_EQ(l().sums().agent_orders, 1);

  // A buyer takes the agent's order; alice is left at 1100 Wh and the agent re-places 100 Wh in the
  // same command.
  const auto out = must(make().bid(whale, 20, 300));
  EXPECT_EQ(out.filled_wh, 300);
  EXPECT_EQ(watt(alice), 1100);
  EXPECT_EQ(tsl(alice), rich_units + 6000);
  mine = orders(alice);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].order_side, side::sell);
  EXPECT_EQ(mine[0].remaining_wh, 100);
  EXPECT_EQ(l().sums().agent_orders, 2);
}

TEST_F(market_ledger_test, agent_buys_below_its_threshold_and_keeps_one_buy_order) {
  mint(bob, 600);
  must(make().agent(bob, 5, 500, 20, 1500));
  EXPECT_TRUE(orders(bob).empty());
  // bob consumes 400 Wh: 200 Wh left, below the buy threshold of 500.
  must(make().reading(bob, 0, 400));
  auto mine = orders(bob);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].order_side, side::buy);
  EXPECT_EQ(mine[0].price_units_per_wh, 5);
  EXPECT_EQ(mine[0].remaining_wh, 300);
  // Falls further: the resting buy is not duplicated.
  must(make().reading(bob, 0, 100));
  ASSERT_EQ(orders(bob).size(), 1u);
  EXPECT_EQ(orders(bob)[0].remaining_wh, 300);
  // A seller fills it partly: bob at 300 Wh, his buy still rests with 100 Wh; nothing new.
  mint(carol, 200);
  EXPECT_EQ(must(make().ask(carol, 5, 200)).filled_wh, 200);
  EXPECT_EQ(watt(bob), 300);
  EXPECT_EQ(tsl(bob), rich_units - 1000);
  ASSERT_EQ(orders(bob).size(), 1u);
  EXPECT_EQ(orders(bob)[0].remaining_wh, 100);
  EXPECT_EQ(l().sums().agent_orders, 1);
}

TEST_F(market_ledger_test, agent_re_places_at_the_next_epoch_after_its_owner_cancels) {
  mint(alice, 1500);
  must(make().agent(alice, 5, 200, 20, 1000));
  ASSERT_EQ(orders(alice).size(), 1u);  // placed at once: 1500 > 1000
  const uint64_t first = orders(alice)[0].id;
  must(make().cancel(alice, first));
  EXPECT_TRUE(orders(alice).empty());  // a cancel is not a balance change: the agent waits
  must(make().tick_to(l().time_ms() + 1000));
  EXPECT_TRUE(orders(alice).empty());  // no epoch closed
  const auto out = must(make().next_epoch());
  EXPECT_EQ(out.epochs_closed, 1);
  ASSERT_EQ(orders(alice).size(), 1u);  // every epoch close re-examines every agent
  EXPECT_GT(orders(alice)[0].id, first);
  EXPECT_EQ(orders(alice)[0].remaining_wh, 500);
  EXPECT_EQ(l().sums().agent_orders, 2);
}

TEST_F(market_ledger_test, disabling_removes_the_agent_and_it_stops_acting) {
  mint(alice, 500);
  must(make().agent(alice, 5, 200, 20, 1000));
  must(make().agent(alice, 0, 0, 0, 0, false));  // fields of a disabling command are not checked
  EXPECT_TRUE(l().agents().empty());
  must(make().reading(alice, 1000, 0));
  EXPECT_TRUE(orders(alice).empty());
  must(make().next_epoch());
  EXPECT_TRUE(orders(alice).empty());
  EXPECT_EQ(l().sums().agent_orders, 0);
  // Orders an agent placed before it was disabled stay the member's own orders.
  must(make().agent(alice, 5, 200, 20, 1000));
  ASSERT_EQ(orders(alice).size(), 1u);
  must(make().agent(alice, 5, 200, 20, 1000, false));
  EXPECT_EQ(orders(alice).size(), 1u);
}

// The two-agent scenario on a fresh ledger: the roots after each command and the trades.
struct agent_run {
  std::vector<crypto::hash256> roots;
  std::vector<market::trade> trades;
};
agent_run two_agents(ledger& l) {
  command_maker make(l);
  agent_run run;
  auto apply = [&](const command& cmd) {
    auto r = l.verify_and_apply(cmd);
    EXPECT_TRUE(r.has_value()) << (r ? "" : describe(r.error()));
    EXPECT_TRUE(l.check_invariants().empty());
    EXPECT_TRUE(executable_crossing(l).empty()) << executable_crossing(l);
    run.roots.push_back(l.state_root());
  };
  for (uint32_t n = 0; n < stranger; ++n) apply(make.register_meter_for(n));
  apply(make.storage_unit(0, whale, community_capacity_wh));
  apply(make.reading(alice, 1500, 0));
  apply(make.agent(alice, 5, 200, 10, 1000));   // sells 500 @ 10 at once
  apply(make.agent(walt, 12, 500, 30, 1800));   // buys 500 @ 12 at once: trades with alice @ 10
  apply(make.reading(walt, 0, 300));            // walt at 200 Wh: his agent buys 300 @ 12
  apply(make.reading(alice, 400, 0));           // alice at 1400 Wh: sells 400 @ 10, 300 trade @ 12
  apply(make.next_epoch());                     // every agent re-examined: nothing left to do
  run.trades = l.book().recent_trades();
  return run;
}

TEST_F(market_ledger_test, two_agents_trade_with_each_other_deterministically) {
  auto a = ledger::create(market_genesis());
  auto b = ledger::create(market_genesis());
  ASSERT_TRUE(a.has_value() && b.has_value());
  const agent_run run_a = two_agents(*a);
  const agent_run run_b = two_agents(*b);
  EXPECT_EQ(run_a.roots, run_b.roots);
  EXPECT_EQ(run_a.trades, run_b.trades);

  const account_index alice_i = *a->account_index_of(addr(alice));
  const account_index walt_i = *a->account_index_of(addr(walt));
  ASSERT_EQ(run_a.trades.size(), 2u);
  // First: walt's agent's bid is the newer order, so the price is alice's 10.
  EXPECT_EQ(run_a.trades[0].seller, alice_i);
  EXPECT_EQ(run_a.trades[0].buyer, walt_i);
  EXPECT_EQ(run_a.trades[0].quantity_wh, 500);
  EXPECT_EQ(run_a.trades[0].price_units_per_wh, 10);
  // Second: walt's resting bid is older than alice's new ask, so the price is walt's 12.
  EXPECT_EQ(run_a.trades[1].seller, alice_i);
  EXPECT_EQ(run_a.trades[1].buyer, walt_i);
  EXPECT_EQ(run_a.trades[1].quantity_wh, 300);
  EXPECT_EQ(run_a.trades[1].price_units_per_wh, 12);
  const account* al = a->find_account(addr(alice));
  const account* wa = a->find_account(addr(walt));
  EXPECT_EQ(al->watt_wh, 1100);
  EXPECT_EQ(wa->watt_wh, 500);
  EXPECT_EQ(al->tsl_units, rich_units + 5000 + 3600);
  EXPECT_EQ(wa->tsl_units, walt_units - 5000 - 3600);
  EXPECT_EQ(a->sums().agent_orders, 4);
  // What is left: the rest of alice's agent's second sell; walt balanced at his threshold.
  const auto left = a->book().orders_of(alice_i);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].order_side, side::sell);
  EXPECT_EQ(left[0].remaining_wh, 100);
  EXPECT_TRUE(a->book().orders_of(walt_i).empty());
}

TEST_F(market_ledger_test, a_new_agent_config_does_not_duplicate_a_resting_order_on_that_side) {
  must(make().agent(walt, 8, 500, 30, 1800));  // walt holds 0 Wh: buys 500 @ 8
  ASSERT_EQ(orders(walt).size(), 1u);
  must(make().agent(walt, 12, 600, 30, 1800));  // new prices, but a buy already rests
  ASSERT_EQ(orders(walt).size(), 1u);
  EXPECT_EQ(orders(walt)[0].price_units_per_wh, 8);
  EXPECT_EQ(l().sums().agent_orders, 1);
  EXPECT_EQ(l().agents().at(idx(walt)).buy_price_units_per_wh, 12);
}

}  // namespace
}  // namespace energo::ledger::market_test
