// Orders through the ledger (SPEC §4, §8): signed place/cancel/replace commands, their refusals,
// price-time priority, trade prices, funding at match time, Bmax, self-trade prevention, IOC and
// market orders. Every balance is asserted exactly; every refusal leaves root and snapshot unchanged.
#include <gtest/gtest.h>

#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger::market_test {
namespace {

using market::order_kind;
using market::side;

constexpr int64_t whale0 = whale_units;

// --- signed-command refusals --------------------------------------------------------------------

TEST_F(market_ledger_test, order_with_a_bad_signature_is_refused) {
  auto cmd = make().bid(alice, 10, 100);
  cmd.signature[7] ^= 0x01;
  refused(cmd, errc::bad_signature);
  // Signed by bob's key for alice's account: the signature does not verify for alice's key.
  refused(sign_secp256k1(place_order{keys().publics[alice], 1, side::buy, order_kind::limit, 10, 100}, keys().secrets[bob],
                         l().genesis_hash()),
          errc::bad_signature);
  // Signed for another community: the genesis hash is part of the signed bytes.
  crypto::hash256 other_genesis = l().genesis_hash();
  other_genesis[0] ^= 0xff;
  refused(sign_secp256k1(place_order{keys().publics[alice], 1, side::buy, order_kind::limit, 10, 100},
                         keys().secrets[alice], other_genesis),
          errc::bad_signature);
  // Cancel, replace and agent commands carry the same signature check.
  auto c = make().cancel(alice, 1);
  c.signature[0] ^= 0x80;
  refused(c, errc::bad_signature);
  auto r = make().replace(alice, 1, 10, 10);
  r.signature[40] ^= 0x02;
  refused(r, errc::bad_signature);
  EXPECT_EQ(l().book().resting_orders(), 0u);
}

TEST_F(market_ledger_test, order_from_an_unknown_account_is_refused) {
  refused(make().bid(stranger, 10, 100), errc::unknown_account);
  refused(make().cancel(stranger, 1), errc::unknown_account);
  refused(make().replace(stranger, 1, 10, 1), errc::unknown_account);
  refused(make().agent(stranger, 1, 0, 2, 0), errc::unknown_account);
}

TEST_F(market_ledger_test, replayed_and_stale_nonces_are_refused_and_a_rule_refusal_consumes_the_nonce) {
  const auto first = make().bid(alice, 10, 100);
  must(first);
  refused(first, errc::stale_nonce);  // the identical command again
  EXPECT_EQ(acct(alice).nonce, 1u);
  // Gaps are allowed; anything at or below the last nonce is not.
  must(make().account_signed(alice, place_order{keys().publics[alice], 5, side::buy, order_kind::limit, 9, 100}));
  refused(make().account_signed(alice, place_order{keys().publics[alice], 4, side::buy, order_kind::limit, 8, 100}),
          errc::stale_nonce);
  refused(make().account_signed(alice, cancel_order{keys().publics[alice], 5, 1}), errc::stale_nonce);
  // A book refusal consumes the nonce (SPEC §8): the nonce cannot carry another order afterwards.
  refused(make().account_signed(alice, place_order{keys().publics[alice], 6, side::buy, order_kind::limit, 0, 100}),
          errc::market_rejected);
  EXPECT_EQ(acct(alice).nonce, 6u);
  refused(make().account_signed(alice, place_order{keys().publics[alice], 6, side::buy, order_kind::limit, 7, 100}),
          errc::stale_nonce);
  const auto out = must(make().account_signed(alice, place_order{keys().publics[alice], 7, side::buy, order_kind::limit, 7, 100}));
  EXPECT_EQ(out.order_id, 3u);
  EXPECT_EQ(acct(alice).nonce, 7u);
  EXPECT_EQ(orders(alice).size(), 3u);
}

TEST_F(market_ledger_test, book_errors_are_market_rejected_with_the_book_reason) {
  mint(alice, 100);
  auto expect_reason = [&](const command& cmd, std::string_view reason) {
    const error e = refused(cmd, errc::market_rejected);
    EXPECT_NE(e.message.find(reason), std::string::npos) << e.message;
  };
  expect_reason(make().bid(alice, 0, 100), "price_out_of_range");
  expect_reason(make().ask(alice, -5, 100), "price_out_of_range");
  expect_reason(make().bid(alice, 1'000'000'000'001, 1), "price_out_of_range");
  expect_reason(make().bid(alice, 10, 0), "quantity_out_of_range");
  expect_reason(make().ask(alice, 10, -1), "quantity_out_of_range");
  expect_reason(make().bid(alice, 10, 1'000'000'001), "quantity_out_of_range");
  expect_reason(make().bid(alice, 1'000'000'000'000, 100'000'000), "notional_overflow");
  expect_reason(make().bid(alice, 10, 0, order_kind::market), "quantity_out_of_range");
  expect_reason(make().cancel(alice, 77), "unknown_order");
  expect_reason(make().replace(alice, 77, 10, 10), "unknown_order");
  const uint64_t id = must(make().bid(alice, 10, 100)).order_id;
  expect_reason(make().replace(alice, id, 0, 10), "price_out_of_range");
  expect_reason(make().replace(alice, id, 10, 0), "quantity_out_of_range");
  // Bounds at the extremes are accepted (an unfunded order may rest).
  must(make().bid(alice, 1'000'000'000'000, 9'000'000));
  must(make().ask(alice, 1, 1'000'000'000));
}

TEST_F(market_ledger_test, orders_per_account_bound_refuses_the_65th_resting_order_but_not_an_ioc) {
  const uint32_t bound = l().book().params().orders_per_account_max;
  ASSERT_EQ(bound, 64u);
  for (uint32_t k = 0; k < bound; ++k) must(make().bid(dave, 100 + k, 10));  // dave's 5 units fund none
  EXPECT_EQ(l().book().order_count(idx(dave)), bound);
  const error e = refused(make().bid(dave, 50, 10), errc::market_rejected);
  EXPECT_NE(e.message.find("account_orders_full"), std::string::npos) << e.message;
  // IOC and market orders never rest, so the bound does not apply to them.
  const auto ioc = must(make().bid(dave, 50, 10, order_kind::immediate_or_cancel));
  EXPECT_EQ(ioc.filled_wh, 0);
  EXPECT_EQ(l().book().order_count(idx(dave)), bound);
  // Cancelling one frees a place.
  must(make().cancel(dave, 1));
  must(make().bid(dave, 50, 10));
  EXPECT_EQ(l().book().order_count(idx(dave)), bound);
}

TEST_F(market_ledger_test, only_the_owner_cancels_or_replaces_an_order) {
  mint(alice, 100);
  const uint64_t id = must(make().ask(alice, 10, 100)).order_id;
  for (int k = 0; k < 2; ++k) {  // built after each refusal: each one consumes bob's nonce
    const error e = refused(k == 0 ? make().cancel(bob, id) : make().replace(bob, id, 11, 50), errc::market_rejected);
    EXPECT_NE(e.message.find("not_owner"), std::string::npos) << e.message;
  }
  EXPECT_EQ(orders(alice).size(), 1u);
  EXPECT_EQ(orders(alice)[0].remaining_wh, 100);
  must(make().cancel(alice, id));
  EXPECT_TRUE(orders(alice).empty());
  refused(make().cancel(alice, id), errc::market_rejected);  // already gone
}

TEST_F(market_ledger_test, order_commands_change_the_state_root) {
  auto root = l().state_root();
  const uint64_t id = must(make().bid(alice, 10, 100)).order_id;
  const auto after_place = l().state_root();
  EXPECT_NE(after_place, root);
  must(make().replace(alice, id, 10, 50));  // keeps priority, open quantity smaller
  const auto after_replace = l().state_root();
  EXPECT_NE(after_replace, after_place);
  must(make().cancel(alice, id));
  EXPECT_NE(l().state_root(), after_replace);
  // Same balances and nonces aside, a book with an order differs from one without: the order is
  // in the root, not just the nonce. Two ledgers, same nonce history, different books.
  auto other = ledger::create(market_genesis());
  ASSERT_TRUE(other.has_value());
  command_maker other_make(*other);
  for (uint32_t n = 0; n < stranger; ++n) ASSERT_TRUE(other->verify_and_apply(other_make.register_meter_for(n)).has_value());
  ASSERT_TRUE(other->verify_and_apply(other_make.bid(alice, 10, 100)).has_value());
  auto third = ledger::create(market_genesis());
  ASSERT_TRUE(third.has_value());
  command_maker third_make(*third);
  for (uint32_t n = 0; n < stranger; ++n) ASSERT_TRUE(third->verify_and_apply(third_make.register_meter_for(n)).has_value());
  ASSERT_TRUE(third->verify_and_apply(third_make.bid(alice, 11, 100)).has_value());
  EXPECT_EQ(other->find_account(addr(alice))->nonce, third->find_account(addr(alice))->nonce);
  EXPECT_NE(other->state_root(), third->state_root());
}

// --- priority, prices, partial fills --------------------------------------------------------------

TEST_F(market_ledger_test, price_then_time_priority_with_partial_fills_moves_balances_exactly) {
  mint(alice, 300);
  mint(bob, 300);
  mint(carol, 200);
  const uint64_t a1 = must(make().ask(alice, 10, 300)).order_id;
  const uint64_t b1 = must(make().ask(bob, 10, 300)).order_id;
  const uint64_t c1 = must(make().ask(carol, 9, 200)).order_id;
  const auto out = must(make().bid(whale, 12, 600));
  EXPECT_EQ(out.filled_wh, 600);
  EXPECT_EQ(out.trades, 3);
  // Best price first (carol @9), then time at 10 (alice before bob); each at the resting ask's price.
  const auto trades = l().book().recent_trades();
  ASSERT_EQ(trades.size(), 3u);
  EXPECT_EQ(trades[0].sell_order, c1);
  EXPECT_EQ(trades[0].price_units_per_wh, 9);
  EXPECT_EQ(trades[0].quantity_wh, 200);
  EXPECT_EQ(trades[1].sell_order, a1);
  EXPECT_EQ(trades[1].price_units_per_wh, 10);
  EXPECT_EQ(trades[1].quantity_wh, 300);
  EXPECT_EQ(trades[2].sell_order, b1);
  EXPECT_EQ(trades[2].price_units_per_wh, 10);
  EXPECT_EQ(trades[2].quantity_wh, 100);
  for (const auto& t : trades) {
    EXPECT_EQ(t.buy_order, out.order_id);
    EXPECT_EQ(t.buyer, idx(whale));
    EXPECT_EQ(t.notional_units, t.price_units_per_wh * t.quantity_wh);
  }
  EXPECT_EQ(tsl(whale), whale0 - 1800 - 3000 - 1000);
  EXPECT_EQ(watt(whale), 600);
  EXPECT_EQ(tsl(carol), rich_units + 1800);
  EXPECT_EQ(watt(carol), 0);
  EXPECT_EQ(tsl(alice), rich_units + 3000);
  EXPECT_EQ(watt(alice), 0);
  EXPECT_EQ(tsl(bob), rich_units + 1000);
  EXPECT_EQ(watt(bob), 200);
  // bob's ask rests with its remainder, keeping its id; the bid was filled completely.
  ASSERT_EQ(orders(bob).size(), 1u);
  EXPECT_EQ(orders(bob)[0].id, b1);
  EXPECT_EQ(orders(bob)[0].remaining_wh, 200);
  EXPECT_EQ(orders(bob)[0].filled_wh, 100);
  EXPECT_TRUE(orders(whale).empty());
  EXPECT_EQ(l().sums().market_trades, 3);
  EXPECT_EQ(l().sums().market_volume_wh, 600);
  EXPECT_EQ(l().book().buy_price(), 10);
  EXPECT_EQ(l().book().sell_price(), 0);
}

TEST_F(market_ledger_test, trade_price_is_the_price_of_the_older_order) {
  // Resting bid older than the incoming ask: the bid's price.
  must(make().bid(whale, 15, 100));
  mint(alice, 100);
  const auto out = must(make().ask(alice, 11, 100));
  EXPECT_EQ(out.filled_wh, 100);
  EXPECT_EQ(l().book().recent_trades().back().price_units_per_wh, 15);
  EXPECT_EQ(tsl(alice), rich_units + 1500);
  EXPECT_EQ(tsl(whale), whale0 - 1500);
  EXPECT_EQ(watt(whale), 100);
  // Resting ask older than the incoming bid: the ask's price.
  mint(bob, 100);
  must(make().ask(bob, 11, 100));
  must(make().bid(carol, 15, 100));
  EXPECT_EQ(l().book().recent_trades().back().price_units_per_wh, 11);
  EXPECT_EQ(tsl(carol), rich_units - 1100);
  EXPECT_EQ(tsl(bob), rich_units + 1100);
}

TEST_F(market_ledger_test, a_resting_order_fills_in_parts_across_commands) {
  mint(alice, 500);
  const uint64_t id = must(make().ask(alice, 10, 500)).order_id;
  EXPECT_EQ(must(make().bid(bob, 10, 200)).filled_wh, 200);
  ASSERT_EQ(orders(alice).size(), 1u);
  EXPECT_EQ(orders(alice)[0].remaining_wh, 300);
  EXPECT_EQ(orders(alice)[0].filled_wh, 200);
  EXPECT_EQ(must(make().bid(carol, 11, 400)).filled_wh, 300);
  EXPECT_TRUE(orders(alice).empty());
  ASSERT_EQ(orders(carol).size(), 1u);
  EXPECT_EQ(orders(carol)[0].remaining_wh, 100);
  EXPECT_EQ(watt(alice), 0);
  EXPECT_EQ(tsl(alice), rich_units + 5000);
  EXPECT_EQ(watt(bob), 200);
  EXPECT_EQ(watt(carol), 300);
  EXPECT_EQ(tsl(carol), rich_units - 3000);
  const auto trades = l().book().recent_trades();
  ASSERT_EQ(trades.size(), 2u);
  EXPECT_EQ(trades[0].sell_order, id);
  EXPECT_EQ(trades[1].sell_order, id);
}

TEST_F(market_ledger_test, replace_keeps_priority_only_for_a_smaller_quantity_at_the_same_price) {
  mint(alice, 100);
  mint(bob, 100);
  const uint64_t a = must(make().ask(alice, 10, 100)).order_id;
  const uint64_t b = must(make().ask(bob, 10, 100)).order_id;
  EXPECT_EQ(must(make().replace(alice, a, 10, 60)).order_id, a);  // keeps id and priority
  const uint64_t a2 = must(make().replace(alice, a, 11, 60)).order_id;
  EXPECT_GT(a2, b);
  const uint64_t a3 = must(make().replace(alice, a2, 10, 60)).order_id;  // back to 10, now behind bob
  EXPECT_GT(a3, a2);
  refused(make().cancel(alice, a), errc::market_rejected);  // the old id is gone
  EXPECT_EQ(must(make().bid(whale, 10, 100)).filled_wh, 100);
  EXPECT_EQ(watt(bob), 0);
  EXPECT_EQ(watt(alice), 100);
  ASSERT_EQ(orders(alice).size(), 1u);
  EXPECT_EQ(orders(alice)[0].id, a3);
}

// --- funded at match time ------------------------------------------------------------------------

TEST_F(market_ledger_test, an_unfunded_ask_rests_and_trades_in_the_command_that_mints_its_energy) {
  const uint64_t ask_id = must(make().ask(erin, 10, 500)).order_id;  // erin holds no WATT yet
  const auto placed = must(make().bid(whale, 12, 500));
  EXPECT_EQ(placed.filled_wh, 0);
  // The book is crossed by the unfunded ask; prices are defined funded or not (SPEC §4).
  EXPECT_EQ(l().book().buy_price(), 10);
  EXPECT_EQ(l().book().sell_price(), 12);
  const auto asks = l().depth(side::sell, 10);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].total_wh, 500);
  EXPECT_EQ(asks[0].funded_wh, 0);

  const auto out = must(make().reading(erin, 300, 0));
  EXPECT_EQ(out.minted_wh, 300);
  // The trade happened inside the reading: at the older order's price (the ask's).
  const auto trades = l().book().recent_trades();
  ASSERT_EQ(trades.size(), 1u);
  EXPECT_EQ(trades[0].sell_order, ask_id);
  EXPECT_EQ(trades[0].buy_order, placed.order_id);
  EXPECT_EQ(trades[0].price_units_per_wh, 10);
  EXPECT_EQ(trades[0].quantity_wh, 300);
  EXPECT_EQ(watt(erin), 0);
  EXPECT_EQ(tsl(erin), rich_units + 3000);
  EXPECT_EQ(watt(whale), 300);
  EXPECT_EQ(tsl(whale), whale0 - 3000);
  ASSERT_EQ(orders(erin).size(), 1u);
  EXPECT_EQ(orders(erin)[0].remaining_wh, 200);
  ASSERT_EQ(orders(whale).size(), 1u);
  EXPECT_EQ(orders(whale)[0].remaining_wh, 200);
}

TEST_F(market_ledger_test, a_skipped_unfunded_ask_keeps_its_time_priority) {
  const uint64_t erin_ask = must(make().ask(erin, 10, 100)).order_id;  // unfunded, oldest
  mint(bob, 100);
  const uint64_t bob_ask = must(make().ask(bob, 10, 100)).order_id;
  // The bid skips erin's unfunded ask and trades with bob's.
  EXPECT_EQ(must(make().bid(whale, 10, 50)).filled_wh, 50);
  EXPECT_EQ(watt(bob), 50);
  ASSERT_EQ(orders(erin).size(), 1u);
  EXPECT_TRUE(orders(erin)[0].parked);
  // erin's energy arrives: her ask is older than bob's, so the next bid trades with her first.
  mint(erin, 100);
  EXPECT_FALSE(orders(erin)[0].parked);
  const auto out = must(make().bid(whale, 10, 50));
  EXPECT_EQ(out.filled_wh, 50);
  EXPECT_EQ(l().book().recent_trades().back().sell_order, erin_ask);
  EXPECT_EQ(watt(erin), 50);
  EXPECT_EQ(watt(bob), 50);
  EXPECT_EQ(orders(bob)[0].id, bob_ask);
  EXPECT_EQ(orders(bob)[0].remaining_wh, 50);
}

TEST_F(market_ledger_test, an_unfunded_bid_trades_when_a_tsl_transfer_arrives) {
  const uint64_t bid_id = must(make().bid(dave, 10, 500)).order_id;  // 5 units: not even 1 Wh at 10
  mint(alice, 500);
  EXPECT_EQ(must(make().ask(alice, 10, 500)).filled_wh, 0);
  EXPECT_EQ(l().book().buy_price(), 10);
  EXPECT_EQ(l().book().sell_price(), 10);
  must(make().transfer_tsl(whale, dave, 3000));
  // floor(3005 / 10) = 300 Wh executable, at the bid's price (it is older).
  const auto trades = l().book().recent_trades();
  ASSERT_EQ(trades.size(), 1u);
  EXPECT_EQ(trades[0].buy_order, bid_id);
  EXPECT_EQ(trades[0].quantity_wh, 300);
  EXPECT_EQ(trades[0].price_units_per_wh, 10);
  EXPECT_EQ(tsl(dave), 5);
  EXPECT_EQ(watt(dave), 300);
  EXPECT_EQ(tsl(alice), rich_units + 3000);
  EXPECT_EQ(watt(alice), 200);
  EXPECT_EQ(tsl(whale), whale0 - 3000);
  EXPECT_EQ(orders(dave)[0].remaining_wh, 200);
  EXPECT_EQ(orders(alice)[0].remaining_wh, 200);
}

TEST_F(market_ledger_test, a_fee_epoch_that_lowers_the_buyers_tsl_makes_its_bid_unfunded) {
  mint(frank, 1000);  // frank holds 1000 units and 1000 Wh
  must(make().bid(frank, 10, 100));
  must(make().params(991));  // 991 units per kWh per epoch
  const auto before_fee = l().snapshot();
  const auto out = must(make().next_epoch());
  EXPECT_EQ(out.epochs_closed, 1);
  EXPECT_EQ(out.fees_units, 991);
  EXPECT_EQ(tsl(frank), 9);  // below the bid's price of 10 units per Wh
  mint(alice, 100);
  EXPECT_EQ(must(make().ask(alice, 10, 100)).filled_wh, 0);
  ASSERT_EQ(orders(frank).size(), 1u);
  EXPECT_EQ(orders(frank)[0].remaining_wh, 100);
  EXPECT_EQ(l().depth(side::buy, 1).at(0).funded_wh, 0);

  // Control: the same ask without the fee epoch trades in full.
  auto control = ledger::restore(before_fee);
  ASSERT_TRUE(control.has_value());
  command_maker c(*control);
  ASSERT_TRUE(control->verify_and_apply(c.reading(alice, 100, 0)).has_value());
  auto traded = control->verify_and_apply(c.ask(alice, 10, 100));
  ASSERT_TRUE(traded.has_value());
  EXPECT_EQ(traded->filled_wh, 100);

  // One more unit makes one Wh executable, in the transfer's own command.
  must(make().transfer_tsl(whale, frank, 1));
  EXPECT_EQ(tsl(frank), 0);
  EXPECT_EQ(watt(frank), 1001);
  EXPECT_EQ(orders(frank)[0].remaining_wh, 99);
  EXPECT_EQ(watt(alice), 99);
}

// --- Bmax ------------------------------------------------------------------------------------------

TEST_F(market_ledger_test, a_purchase_executes_only_up_to_bmax_and_resumes_when_the_balance_falls) {
  mint(bob, 1800);
  const uint64_t bid_id = must(make().bid(bob, 10, 500)).order_id;
  mint(alice, 500);
  const auto out = must(make().ask(alice, 10, 500));
  EXPECT_EQ(out.filled_wh, 200);  // bob's room below Bmax
  EXPECT_EQ(watt(bob), bmax_wh);
  EXPECT_EQ(tsl(bob), rich_units - 2000);
  EXPECT_EQ(watt(alice), 300);
  EXPECT_EQ(orders(bob)[0].remaining_wh, 300);
  EXPECT_EQ(orders(alice)[0].remaining_wh, 300);
  // A new seller cannot push bob above Bmax either.
  mint(carol, 100);
  EXPECT_EQ(must(make().ask(carol, 9, 100)).filled_wh, 0);
  must(make().cancel(carol, orders(carol)[0].id));

  // bob consumes 400 Wh from storage: burned, and his bid resumes in the same command.
  const auto reading = must(make().reading(bob, 0, 400));
  EXPECT_EQ(reading.burned_wh, 400);
  EXPECT_EQ(watt(bob), 2000 - 400 + 300);
  EXPECT_EQ(tsl(bob), rich_units - 5000);
  EXPECT_EQ(watt(alice), 0);
  EXPECT_EQ(tsl(alice), rich_units + 5000);
  EXPECT_TRUE(orders(bob).empty());
  EXPECT_TRUE(orders(alice).empty());
  EXPECT_EQ(l().book().recent_trades().back().buy_order, bid_id);
  EXPECT_EQ(l().book().recent_trades().back().quantity_wh, 300);
}

TEST_F(market_ledger_test, raising_bmax_resumes_bids_that_were_blocked_by_it) {
  mint(bob, 2000);
  must(make().bid(bob, 10, 300));
  mint(alice, 300);
  EXPECT_EQ(must(make().ask(alice, 10, 300)).filled_wh, 0);  // bob is at Bmax
  // Bmax 2000 → 3000 Wh (Cu $450): bob has 1000 Wh of room, and matching must resume at once.
  must(make().params(0, 45'000));
  EXPECT_EQ(l().bmax_wh(), 3000);
  EXPECT_EQ(watt(bob), 2300);
  EXPECT_EQ(watt(alice), 0);
  EXPECT_TRUE(orders(bob).empty());
}

// --- self-trade prevention, IOC and market orders -------------------------------------------------------

TEST_F(market_ledger_test, self_trade_prevention_cancels_the_older_own_order) {
  mint(alice, 500);
  const uint64_t own_ask = must(make().ask(alice, 10, 100)).order_id;
  const auto out = must(make().bid(alice, 12, 100));
  EXPECT_EQ(out.filled_wh, 0);
  ASSERT_EQ(orders(alice).size(), 1u);
  EXPECT_EQ(orders(alice)[0].id, out.order_id);
  EXPECT_EQ(orders(alice)[0].order_side, side::buy);
  const auto history = l().book().history(idx(alice));
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().kind, market::history_kind::self_trade_cancelled);
  EXPECT_EQ(history.back().order, own_ask);
  EXPECT_EQ(watt(alice), 500);
  EXPECT_EQ(tsl(alice), rich_units);
  EXPECT_EQ(l().sums().market_trades, 0);
}

TEST_F(market_ledger_test, self_trade_prevention_then_trade_with_another_account) {
  mint(carol, 100);
  mint(bob, 100);
  must(make().ask(carol, 10, 100));
  must(make().ask(bob, 11, 100));
  const auto out = must(make().bid(carol, 12, 150));
  EXPECT_EQ(out.filled_wh, 100);  // carol's own ask @10 cancelled, bob's @11 taken
  EXPECT_EQ(l().book().recent_trades().back().price_units_per_wh, 11);
  EXPECT_EQ(watt(carol), 200);
  EXPECT_EQ(tsl(carol), rich_units - 1100);
  EXPECT_EQ(tsl(bob), rich_units + 1100);
  ASSERT_EQ(orders(carol).size(), 1u);
  EXPECT_EQ(orders(carol)[0].remaining_wh, 50);
  EXPECT_EQ(l().book().buy_price(), 0);
}

TEST_F(market_ledger_test, an_unfunded_own_ask_below_an_own_bid_is_not_cancelled) {
  must(make().ask(erin, 10, 100));  // no WATT: never executable, so no self-trade is possible
  must(make().bid(erin, 12, 100));
  EXPECT_EQ(orders(erin).size(), 2u);
}

TEST_F(market_ledger_test, ioc_and_market_remainders_are_cancelled) {
  mint(alice, 300);
  must(make().ask(alice, 10, 100));
  must(make().ask(alice, 11, 100));
  must(make().ask(alice, 12, 100));
  const auto ioc = must(make().bid(bob, 10, 150, order_kind::immediate_or_cancel));
  EXPECT_EQ(ioc.filled_wh, 100);
  EXPECT_TRUE(orders(bob).empty());
  const auto mkt = must(make().bid(bob, 11, 300, order_kind::market));  // the cap is 11
  EXPECT_EQ(mkt.filled_wh, 100);
  EXPECT_TRUE(orders(bob).empty());
  EXPECT_EQ(watt(bob), 200);
  EXPECT_EQ(tsl(bob), rich_units - 1000 - 1100);
  EXPECT_EQ(l().book().buy_price(), 12);

  // A market sell with a floor of 9 takes carol's 10 and stops above her 8.
  must(make().bid(carol, 10, 50));
  must(make().bid(carol, 8, 100));
  const auto sell = must(make().ask(bob, 9, 200, order_kind::market));
  EXPECT_EQ(sell.filled_wh, 50);
  EXPECT_EQ(watt(bob), 150);
  EXPECT_EQ(tsl(bob), rich_units - 2100 + 500);
  EXPECT_TRUE(orders(bob).empty());
  EXPECT_EQ(l().book().sell_price(), 8);

  // An unfunded IOC executes nothing and leaves nothing behind.
  const auto dry = must(make().bid(dave, 12, 100, order_kind::immediate_or_cancel));
  EXPECT_EQ(dry.filled_wh, 0);
  EXPECT_TRUE(orders(dave).empty());
  EXPECT_EQ(tsl(dave), dave_units);
}

}  // namespace
}  // namespace energo::ledger::market_test
