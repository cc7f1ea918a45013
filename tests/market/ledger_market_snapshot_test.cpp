// The market is part of the replicated state (SPEC §4, §6): resting orders (active, parked and
// partly filled), agents, stations and open EV sessions are in the state root and in the snapshot,
// and a restored ledger behaves exactly like the original from then on.
#include <gtest/gtest.h>

#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger::market_test {
namespace {

using market::order_kind;

class market_snapshot_test : public market_ledger_test {
 protected:
  // A state with something of every kind in it.
  void build_busy_market() {
    must(make().params(100'000));                 // a fee rate, so epochs move TSL
    must(make().station(0, sam, 1000));
    mint(alice, 1500);
    mint(bob, 800);
    mint(carol, 600);
    must(make().agent(alice, 5, 200, 14, 1000));  // sells 500 @ 14 at once
    must(make().agent(walt, 9, 300, 40, 1900));   // buys 300 @ 9 at once (nothing that cheap)
    must(make().ask(erin, 11, 400));              // unfunded ask
    must(make().bid(dave, 13, 300));              // unfunded bid (5 units)
    must(make().ask(bob, 12, 500));
    must(make().bid(whale, 13, 200));             // skips erin's ask (parks it), takes 200 of bob's
    must(make().ask(carol, 16, 300));
    session_ = must(make().open_session(vera, 0, 50'000, 15)).session_id;
    must(make().delivery(0, session_, 100));      // 100 of bob's @ 12
    must(make().tick_to(l().time_ms() + 60'000));
    ASSERT_GE(l().book().resting_orders(), 5u);
    ASSERT_GE(l().book().parked_orders(), 1u);
    ASSERT_EQ(l().agents().size(), 2u);
    ASSERT_EQ(l().open_sessions().size(), 1u);
  }

  // Further commands, built against `state` (both ledgers are in the same state when each is built).
  std::vector<command> future(const ledger& state, int step) {
    command_maker m(state);
    switch (step) {
      case 0: return {m.reading(erin, 250, 0)};           // erin's parked ask becomes executable
      case 1: return {m.transfer_tsl(whale, dave, 5000)};  // dave's bid becomes funded
      case 2: return {m.delivery(0, session_, 500)};
      case 3: return {m.reading(alice, 700, 0)};           // alice's agent
      case 4: return {m.reading(walt, 0, 0), m.transfer_watt(bob, walt, 100)};
      case 5: return {m.next_epoch()};                      // fees and every agent
      case 6: return {m.bid(carol, 16, 250, order_kind::immediate_or_cancel)};
      case 7: {  // bob re-prices his oldest order (loses priority, new id)
        const auto mine = state.book().orders_of(*state.account_index_of(addr(bob)));
        if (mine.empty()) return {m.ask(bob, 11, 50)};
        return {m.replace(bob, mine.front().id, 11, 50)};
      }
      case 8: return {m.ask(walt, 8, 50, order_kind::market)};
      case 9: return {m.delivery(0, session_, 900, true)};
      case 10: return {m.agent(alice, 5, 200, 14, 1000, false)};
      case 11: return {m.next_epoch()};
      default: return {};
    }
  }
  static constexpr int future_steps = 12;

  uint64_t session_ = 0;
};

TEST_F(market_snapshot_test, snapshot_and_restore_keep_the_root_and_the_future) {
  build_busy_market();
  const auto root = l().state_root();
  std::optional<ledger> restored;
  {
    auto r = ledger::restore(l().snapshot());
    ASSERT_TRUE(r.has_value()) << describe(r.error());
    restored.emplace(std::move(*r));
  }
  EXPECT_EQ(restored->state_root(), root);
  EXPECT_EQ(restored->book().serialize(), l().book().serialize());
  EXPECT_EQ(restored->agents().size(), 2u);
  EXPECT_EQ(restored->open_sessions().size(), 1u);
  EXPECT_EQ(restored->snapshot(), l().snapshot());

  const int64_t trades_before = l().sums().market_trades;
  for (int step = 0; step < future_steps; ++step) {
    for (const command& cmd : future(l(), step)) {
      auto a = l().verify_and_apply(cmd);
      auto b = restored->verify_and_apply(cmd);
      ASSERT_TRUE(a.has_value()) << "step " << step << ": " << describe(a.error());
      ASSERT_TRUE(b.has_value()) << "step " << step << ": " << describe(b.error());
      {
        EXPECT_EQ(a->filled_wh, b->filled_wh) << "step " << step;
        EXPECT_EQ(a->order_id, b->order_id) << "step " << step;
        EXPECT_EQ(a->fees_units, b->fees_units) << "step " << step;
      }
      EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(restored->state_root())) << "step " << step;
      EXPECT_TRUE(l().check_invariants().empty());
      EXPECT_TRUE(executable_crossing(l()).empty()) << executable_crossing(l());
    }
    // Half way, swap the restored ledger for a restore of itself: still in step.
    if (step == future_steps / 2) {
      auto again = ledger::restore(restored->snapshot());
      ASSERT_TRUE(again.has_value());
      restored.emplace(std::move(*again));
    }
  }
  // The future did exercise the market: trades after the snapshot, sessions closed, agent gone.
  EXPECT_GE(l().sums().market_trades - trades_before, 5);
  EXPECT_TRUE(l().open_sessions().empty());
  EXPECT_TRUE(l().agents().count(idx(walt)));
  EXPECT_FALSE(l().agents().count(idx(alice)));
  EXPECT_EQ(l().snapshot(), restored->snapshot());
}

// The apply actor's shadow (ledger::assign_reusing_memory, at each durable point): assigned while
// the book grows, it is the ledger - same snapshot, same root - and applies the future in step.
TEST_F(market_snapshot_test, a_shadow_assigned_as_the_book_grows_is_the_ledger_and_keeps_its_future) {
  ledger shadow = l();  // before anything rests: the tables it reuses are smaller than needed later
  build_busy_market();
  shadow.assign_reusing_memory(l());
  EXPECT_EQ(shadow.snapshot(), l().snapshot());
  EXPECT_EQ(crypto::to_hex(shadow.state_root()), crypto::to_hex(l().state_root()));
  for (int step = 0; step < future_steps; ++step) {
    for (const command& cmd : future(l(), step)) {
      auto a = l().verify_and_apply(cmd);
      auto b = shadow.verify_and_apply(cmd);
      ASSERT_TRUE(a.has_value()) << "step " << step << ": " << describe(a.error());
      ASSERT_TRUE(b.has_value()) << "step " << step << ": " << describe(b.error());
      EXPECT_EQ(a->order_id, b->order_id) << "step " << step;
      EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(shadow.state_root())) << "step " << step;
    }
    // Every few steps the shadow is re-assigned from the original, as at the next durable point.
    if (step % 3 == 2) {
      shadow.assign_reusing_memory(l());
      EXPECT_EQ(shadow.snapshot(), l().snapshot()) << "step " << step;
    }
  }
  EXPECT_EQ(shadow.snapshot(), l().snapshot());
  shadow.assign_reusing_memory(shadow);  // self-assignment changes nothing
  EXPECT_EQ(shadow.snapshot(), l().snapshot());
}

// ledger::reserve_ahead (the apply actor runs it on the shadow once a durable point's image is
// encoded, off the apply thread): as the original's book grows order by order - the pool, the id
// index and the price levels through several doublings - every following
// assignment lands in room made ahead (the shadow's table memory does not change while it is
// assigned: no reallocation, nothing new to fault in on the apply thread), and the shadow stays
// the ledger.
TEST_F(market_snapshot_test, a_shadow_kept_ahead_of_a_growing_book_takes_every_copy_in_place) {
  ledger shadow = l();
  int64_t price = 1;
  auto place = [&](uint32_t n) { must(make().bid(n, price++, 10)); };  // never crosses: no asks
  for (uint32_t n = alice; n < stranger; ++n) place(n);                // warm-up: the tables exist
  shadow.assign_reusing_memory(l());
  shadow.reserve_ahead();
  const auto memory_at_start = shadow.book().book_memory_bytes();
  int steps = 0;
  for (int i = 0; i < 59; ++i) {
    for (uint32_t n = alice; n < stranger; ++n) {
      place(n);
      const auto before = shadow.book().book_memory_bytes();
      shadow.assign_reusing_memory(l());
      ASSERT_EQ(shadow.book().book_memory_bytes(), before) << "the assignment reallocated at step " << steps;
      shadow.reserve_ahead();
      EXPECT_EQ(crypto::to_hex(shadow.state_root()), crypto::to_hex(l().state_root())) << "step " << steps;
      ++steps;
    }
  }
  EXPECT_EQ(l().book().resting_orders() + l().book().parked_orders(), 600u);
  EXPECT_GE(shadow.book().book_memory_bytes(), 8 * memory_at_start);  // it did grow, by doublings
  EXPECT_EQ(shadow.snapshot(), l().snapshot());
  // ... and trades in step with the original: erin's ask sweeps the best bids.
  command_maker m(l());
  const auto trades_before = l().sums().market_trades;
  for (const command& cmd : {m.reading(erin, 3000, 0), m.ask(erin, 1, 2000)}) {
    auto a = l().verify_and_apply(cmd);
    auto b = shadow.verify_and_apply(cmd);
    ASSERT_TRUE(a.has_value()) << describe(a.error());
    ASSERT_TRUE(b.has_value()) << describe(b.error());
    EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(shadow.state_root()));
  }
  EXPECT_GE(l().sums().market_trades - trades_before, 10);
  EXPECT_EQ(shadow.snapshot(), l().snapshot());
}

TEST_F(market_snapshot_test, resting_orders_agents_and_sessions_are_each_in_the_root) {
  build_busy_market();
  const auto root = l().state_root();
  const auto snap = l().snapshot();
  auto probe = [&](const command& cmd) {
    auto copy = ledger::restore(snap);
    EXPECT_TRUE(copy.has_value());
    auto r = copy->verify_and_apply(cmd);
    EXPECT_TRUE(r.has_value()) << (r ? "" : describe(r.error()));
    return copy->state_root();
  };
  command_maker m(l());
  // Two different unfunded orders by the same account with the same nonce: only the book differs.
  const auto with_bid_a = probe(m.bid(frank, 50, 10));
  const auto with_bid_b = probe(m.bid(frank, 50, 11));
  EXPECT_NE(with_bid_a, root);
  EXPECT_NE(with_bid_a, with_bid_b);
  // Agent configurations that place nothing, differing in one field.
  const auto agent_a = probe(m.agent(frank, 5, 0, 20, 2000));
  const auto agent_b = probe(m.agent(frank, 5, 0, 21, 2000));
  EXPECT_NE(agent_a, agent_b);
  // Sessions differing only in their caps.
  const auto session_a = probe(m.open_session(frank, 0, 1000, 12));
  const auto session_b = probe(m.open_session(frank, 0, 1001, 12));
  EXPECT_NE(session_a, session_b);
}


// Fees and agents run at every epoch close, so one tick across three epochs must leave exactly the
// state of three ticks, one per epoch (ledger.cpp apply_tick).
TEST_F(market_snapshot_test, one_tick_over_several_epochs_equals_one_tick_per_epoch) {
  must(make().params(300'000));
  mint(alice, 1500);
  mint(frank, 1000);
  must(make().agent(alice, 5, 200, 14, 1000));
  must(make().bid(frank, 10, 100));  // funded now; fees take frank's 1000 units in the first epoch
  must(make().agent(walt, 9, 300, 40, 1900));
  std::optional<ledger> stepped;
  {
    auto r = ledger::restore(l().snapshot());
    ASSERT_TRUE(r.has_value());
    stepped.emplace(std::move(*r));
  }
  const int64_t end_ms = t0_ms + 3 * epoch_ms + 5;
  const auto out = must(make().tick_to(end_ms));
  EXPECT_EQ(out.epochs_closed, 3);
  for (int64_t k = 1; k <= 3; ++k) {
    auto r = stepped->verify_and_apply(command{tick{k == 3 ? end_ms : t0_ms + k * epoch_ms}, {}});
    ASSERT_TRUE(r.has_value()) << describe(r.error());
  }
  EXPECT_EQ(tsl(frank), 0);
  EXPECT_GT(acct(frank).fee_debt_units, 0);
  EXPECT_EQ(crypto::to_hex(stepped->state_root()), crypto::to_hex(l().state_root()));
  EXPECT_EQ(stepped->snapshot(), l().snapshot());
  // And they stay in step: frank's bid is unfunded in both, carol's ask rests in both.
  command_maker m(l());
  const auto reading = m.reading(carol, 100, 0);
  const auto ask = m.ask(carol, 10, 100);
  EXPECT_EQ(must(reading).minted_wh, 100);
  ASSERT_TRUE(stepped->verify_and_apply(reading).has_value());
  EXPECT_EQ(must(ask).filled_wh, 0);
  ASSERT_TRUE(stepped->verify_and_apply(ask).has_value());
  EXPECT_EQ(crypto::to_hex(stepped->state_root()), crypto::to_hex(l().state_root()));
}

// Issue 11 §5: the market root is incremental (one Merkle leaf per book pool slot, per book account,
// per ring entry). After every command of a history with fills, parks, unparks, cancels in the middle
// of the pool (the last slot moves into the hole), replaces and IOC remainders, the live root equals
// the root of a ledger restored from the snapshot, which rebuilds every tree from scratch; and the
// restored ledger keeps the same pool layout, so both stay equal on the same future.
TEST_F(market_snapshot_test, incremental_market_root_equals_a_rebuild_after_every_command) {
  std::vector<command> history;
  auto step = [&](const command& c) {
    must(c);
    auto restored = ledger::restore(l().snapshot());
    ASSERT_TRUE(restored.has_value()) << describe(restored.error());
    ASSERT_EQ(crypto::to_hex(restored->state_root()), crypto::to_hex(l().state_root()))
        << "after " << command_name(c.body) << " #" << history.size();
    history.push_back(c);
  };
  mint(alice, 1500);
  mint(bob, 800);
  for (int k = 0; k < 6; ++k) step(make().ask(alice, 20 + k, 50));
  for (int k = 0; k < 4; ++k) step(make().bid(carol, 5 + k, 40));
  step(make().cancel(alice, orders(alice).front().id));         // a hole early in the pool
  step(make().ask(erin, 10, 100));                              // unfunded: parked when reached
  step(make().bid(bob, 21, 60));                                // fills alice @ 21, crosses erin (parked)
  step(make().replace(carol, orders(carol).back().id, 9, 10));  // loses priority, new id
  step(make().cancel(carol, orders(carol).front().id));
  step(make().reading(erin, 100, 0));                           // erin's ask returns
  step(make().bid(frank, 30, 500, order_kind::immediate_or_cancel));
  step(make().next_epoch());
  const auto live_root = l().state_root();
  auto restored = ledger::restore(l().snapshot());
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->book().serialize(), l().book().serialize());
  // The same further commands on both: equal roots (the restored pool layout is the live one).
  command_maker other(*restored);
  for (const auto& c : {make().cancel(alice, orders(alice).front().id), make().ask(bob, 12, 30), make().bid(carol, 12, 30)}) {
    must(c);
    ASSERT_TRUE(restored->verify_and_apply(c).has_value());
    EXPECT_EQ(crypto::to_hex(restored->state_root()), crypto::to_hex(l().state_root()));
  }
  EXPECT_NE(live_root, l().state_root());
}


// More trades than the trade ring holds (1,024) between two roots: the ring's tree is rebuilt, not
// updated position by position (regression: RC seed 17901205511370755242 of dense_trading).
TEST_F(market_snapshot_test, more_trades_than_the_ring_between_two_roots_keep_the_root_right) {
  mint(alice, 1100);
  (void)l().state_root();
  must(make().ask(alice, 3, 1100));
  for (int k = 0; k < 1030; ++k) ASSERT_TRUE(l().apply(make().bid(bob, 3, 1)).has_value());
  auto restored = ledger::restore(l().snapshot());
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(crypto::to_hex(restored->state_root()), crypto::to_hex(l().state_root()));
}

}  // namespace
}  // namespace energo::ledger::market_test
