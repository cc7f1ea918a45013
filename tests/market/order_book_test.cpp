// Scenario tests of the order book, one rule of SPEC §4 (or of ledger/market/README.md) each.
#include "ledger/market/order_book.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tests/market/balance_table.hpp"

namespace energo::market {
namespace {

using testing::balance_table;

constexpr account_ref alice = 0, bob = 1, carol = 2, dave = 3;
constexpr int64_t rich_tsl = 1'000'000'000;

struct outcome {
  order_id id = 0;
  order_status status = order_status::resting;
  int64_t filled_wh = 0;
  int64_t remaining_wh = 0;
  std::vector<trade> trades;
  bool incomplete = false;
};

class order_book_test : public ::testing::Test {
 protected:
  explicit order_book_test(market_params p = {}) : book_(p) {}

  outcome place(account_ref a, side s, int64_t price, int64_t qty, order_kind k = order_kind::limit) {
    auto r = book_.place(order_request{a, s, k, price, qty}, bal_, epoch_);
    EXPECT_TRUE(r.has_value()) << (r ? "" : errc_name(r.error()));
    if (!r) return {};
    return outcome{r->id, r->status, r->filled_wh, r->remaining_wh, {r->trades.begin(), r->trades.end()},
                   r->matching_incomplete};
  }
  outcome replace(order_id id, account_ref a, int64_t price, int64_t qty) {
    auto r = book_.replace(replace_request{id, a, price, qty}, bal_, epoch_);
    EXPECT_TRUE(r.has_value()) << (r ? "" : errc_name(r.error()));
    if (!r) return {};
    return outcome{r->id, r->status, r->filled_wh, r->remaining_wh, {r->trades.begin(), r->trades.end()},
                   r->matching_incomplete};
  }
  std::vector<trade> balance_changed(account_ref a, int64_t watt_wh, int64_t tsl_units) {
    bal_.set_watt(a, watt_wh);
    bal_.set_tsl(a, tsl_units);
    book_.on_balance_changed(a);
    auto r = book_.match_pending(bal_, epoch_);
    EXPECT_TRUE(r.has_value());
    return {r->trades.begin(), r->trades.end()};
  }
  order_info info(order_id id) {
    order_info i;
    EXPECT_TRUE(book_.find(id, i)) << "order " << id << " not resting";
    return i;
  }
  void TearDown() override {
    EXPECT_EQ(book_.check_invariants(&bal_), "");
    EXPECT_EQ(bal_.violations, 0u);
  }

  balance_table bal_{8, 1'000'000};
  order_book book_;
  uint64_t epoch_ = 1;
};

TEST_F(order_book_test, better_price_first_then_earlier_order_at_the_same_price) {
  bal_.set_watt(alice, 100);
  bal_.set_watt(bob, 100);
  bal_.set_watt(carol, 100);
  bal_.set_tsl(dave, rich_tsl);
  const auto a = place(alice, side::sell, 10, 5);
  const auto b = place(bob, side::sell, 10, 5);
  const auto c = place(carol, side::sell, 9, 5);
  const auto buy = place(dave, side::buy, 10, 12);
  ASSERT_EQ(buy.trades.size(), 3u);
  EXPECT_EQ(buy.trades[0].sell_order, c.id);
  EXPECT_EQ(buy.trades[0].price_units_per_wh, 9);
  EXPECT_EQ(buy.trades[1].sell_order, a.id);
  EXPECT_EQ(buy.trades[2].sell_order, b.id);
  EXPECT_EQ(buy.trades[2].quantity_wh, 2);
  EXPECT_EQ(buy.status, order_status::filled);
  EXPECT_EQ(info(b.id).remaining_wh, 3);
}

TEST_F(order_book_test, partial_fill_leaves_the_rest_resting) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  const auto ask = place(alice, side::sell, 10, 100);
  const auto bid = place(bob, side::buy, 10, 30);
  EXPECT_EQ(bid.status, order_status::filled);
  EXPECT_EQ(bid.filled_wh, 30);
  EXPECT_EQ(info(ask.id).remaining_wh, 70);
  EXPECT_EQ(info(ask.id).filled_wh, 30);
  EXPECT_EQ(bal_.watt_wh(bob), 30);
  EXPECT_EQ(bal_.tsl_units(alice), 300);
}

TEST_F(order_book_test, trade_price_is_the_older_orders_price) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  place(alice, side::sell, 10, 5);
  auto t = place(bob, side::buy, 12, 5).trades;
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].price_units_per_wh, 10);  // resting ask is older
  place(bob, side::buy, 12, 5);
  t = place(alice, side::sell, 9, 5).trades;
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].price_units_per_wh, 12);  // resting bid is older
  EXPECT_EQ(t[0].notional_units, 60);
}

TEST_F(order_book_test, unfunded_ask_is_skipped_and_later_fills_keeping_its_priority) {
  bal_.set_watt(bob, 100);
  bal_.set_tsl(carol, rich_tsl);
  const auto a = place(alice, side::sell, 10, 5);  // alice holds no WATT yet
  const auto b = place(bob, side::sell, 10, 5);
  auto t = place(carol, side::buy, 10, 3).trades;
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].sell_order, b.id);  // alice's older ask skipped, not removed
  EXPECT_TRUE(info(a.id).parked);
  EXPECT_TRUE(balance_changed(alice, 50, 0).empty());  // no bid crosses: nothing trades
  EXPECT_FALSE(info(a.id).parked);
  t = place(carol, side::buy, 10, 7).trades;
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].sell_order, a.id);  // time priority kept: alice's ask is older than bob's
  EXPECT_EQ(t[0].quantity_wh, 5);
  EXPECT_EQ(t[1].sell_order, b.id);
}

TEST_F(order_book_test, resting_bid_fills_when_the_sellers_energy_arrives) {
  bal_.set_tsl(bob, rich_tsl);
  const auto ask = place(alice, side::sell, 8, 10);  // no energy produced yet
  const auto bid = place(bob, side::buy, 9, 10);
  EXPECT_TRUE(bid.trades.empty());
  EXPECT_EQ(book_.buy_price(), 8);   // book prices count unfunded orders
  EXPECT_EQ(book_.sell_price(), 9);  // so the book is crossed
  const auto t = balance_changed(alice, 6, 0);  // meter reading: 6 Wh stored
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].quantity_wh, 6);
  EXPECT_EQ(t[0].price_units_per_wh, 8);  // ask is older
  EXPECT_EQ(info(ask.id).remaining_wh, 4);
  EXPECT_TRUE(info(ask.id).parked);
  EXPECT_EQ(info(bid.id).remaining_wh, 4);
}

TEST_F(order_book_test, crossed_book_of_unfunded_asks_shows_funded_and_total_depth) {
  bal_.set_tsl(dave, rich_tsl);
  place(alice, side::sell, 5, 10);
  place(bob, side::sell, 6, 10);
  place(carol, side::sell, 7, 10);
  const auto bid = place(dave, side::buy, 10, 25);
  EXPECT_TRUE(bid.trades.empty());
  EXPECT_EQ(book_.buy_price(), 5);
  EXPECT_EQ(book_.sell_price(), 10);
  const auto asks = book_.depth(side::sell, 10, bal_);
  ASSERT_EQ(asks.size(), 3u);
  for (const auto& d : asks) {
    EXPECT_EQ(d.total_wh, 10);
    EXPECT_EQ(d.funded_wh, 0);
  }
  const auto bids = book_.depth(side::buy, 10, bal_);
  ASSERT_EQ(bids.size(), 1u);
  EXPECT_EQ(bids[0].funded_wh, 25);
  // Bob's energy arrives: his ask at 6 trades at its own (older) price.
  const auto t = balance_changed(bob, 10, 0);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].price_units_per_wh, 6);
  EXPECT_EQ(t[0].quantity_wh, 10);
}

TEST_F(order_book_test, purchase_above_bmax_executes_only_up_to_bmax) {
  bal_ = balance_table(8, 100);
  bal_.set_watt(alice, 100);
  bal_.set_watt(bob, 80);
  bal_.set_tsl(bob, rich_tsl);
  place(alice, side::sell, 10, 50);
  const auto bid = place(bob, side::buy, 10, 50);
  EXPECT_EQ(bid.filled_wh, 20);  // room below Bmax
  EXPECT_EQ(bid.remaining_wh, 30);
  EXPECT_EQ(bal_.watt_wh(bob), 100);
  // Bob consumes 25 Wh from storage: room opens and matching resumes.
  const auto t = balance_changed(bob, 75, bal_.tsl_units(bob));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].quantity_wh, 25);
  EXPECT_EQ(bal_.watt_wh(bob), 100);
  EXPECT_EQ(info(bid.id).remaining_wh, 5);
}

TEST_F(order_book_test, bid_is_funded_up_to_tsl_divided_by_its_price) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, 95);
  place(alice, side::sell, 10, 50);
  const auto bid = place(bob, side::buy, 10, 50);
  EXPECT_EQ(bid.filled_wh, 9);  // floor(95 / 10)
  EXPECT_EQ(bal_.tsl_units(bob), 5);
  EXPECT_TRUE(info(bid.id).parked);
}

TEST_F(order_book_test, trade_refunds_the_counterpartys_other_orders_in_the_same_call) {
  // Alice's bid waits for TSL; selling energy to Bob pays her, and her bid then buys from Carol.
  bal_.set_watt(alice, 10);
  bal_.set_tsl(bob, rich_tsl);
  const auto carol_ask = place(carol, side::sell, 5, 10);  // carol's energy is not there yet
  const auto alice_bid = place(alice, side::buy, 6, 5);    // alice cannot pay: both parked
  EXPECT_TRUE(info(alice_bid.id).parked);
  EXPECT_TRUE(info(carol_ask.id).parked);
  EXPECT_TRUE(balance_changed(carol, 10, 0).empty());  // carol's energy arrives; alice still cannot pay
  place(alice, side::sell, 4, 10);
  const auto buy = place(bob, side::buy, 4, 10);
  ASSERT_EQ(buy.trades.size(), 2u);
  EXPECT_EQ(buy.trades[0].seller, alice);  // alice earns 40
  EXPECT_EQ(buy.trades[0].notional_units, 40);
  EXPECT_EQ(buy.trades[1].buyer, alice);   // and her bid buys carol's energy in the same call
  EXPECT_EQ(buy.trades[1].sell_order, carol_ask.id);
  EXPECT_EQ(buy.trades[1].quantity_wh, 5);
  EXPECT_EQ(buy.trades[1].price_units_per_wh, 5);  // carol's ask is older
  EXPECT_EQ(bal_.watt_wh(alice), 5);
}

TEST_F(order_book_test, replace_decreasing_quantity_keeps_priority) {
  bal_.set_watt(alice, 100);
  bal_.set_watt(bob, 100);
  bal_.set_tsl(carol, rich_tsl);
  const auto a = place(alice, side::sell, 10, 20);
  const auto b = place(bob, side::sell, 10, 20);
  const auto r = replace(a.id, alice, 10, 5);
  EXPECT_EQ(r.status, order_status::resting);
  EXPECT_EQ(r.id, a.id);  // same id, same place in the queue
  EXPECT_EQ(info(a.id).remaining_wh, 5);
  const auto t = place(carol, side::buy, 10, 6).trades;
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].sell_order, a.id);
  EXPECT_EQ(t[0].quantity_wh, 5);
  EXPECT_EQ(t[1].sell_order, b.id);
}

TEST_F(order_book_test, replace_increasing_quantity_or_changing_price_loses_priority) {
  bal_.set_watt(alice, 100);
  bal_.set_watt(bob, 100);
  bal_.set_tsl(carol, rich_tsl);
  const auto a = place(alice, side::sell, 10, 5);
  const auto b = place(bob, side::sell, 10, 5);
  const auto bigger = replace(a.id, alice, 10, 6);
  EXPECT_GT(bigger.id, b.id);  // a new, younger id
  order_info gone;
  EXPECT_FALSE(book_.find(a.id, gone));
  EXPECT_EQ(book_.history(alice).back().previous_order, a.id);
  auto t = place(carol, side::buy, 10, 1).trades;
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].sell_order, b.id);
  // Price change away and back: still behind bob's newer order.
  const auto b2 = place(bob, side::sell, 10, 5);
  const auto away = replace(bigger.id, alice, 11, 6);
  const auto back = replace(away.id, alice, 10, 6);
  t = place(carol, side::buy, 10, 9).trades;
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].sell_order, b.id);
  EXPECT_EQ(t[1].sell_order, b2.id);
  EXPECT_EQ(info(back.id).remaining_wh, 6);
  EXPECT_EQ(book_.orders_of(alice).size(), 1u);
}

TEST_F(order_book_test, replace_to_a_crossing_price_trades_at_the_older_price) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  const auto bid = place(bob, side::buy, 9, 5);
  const auto ask = place(alice, side::sell, 12, 5);
  const auto r = replace(ask.id, alice, 8, 5);
  EXPECT_EQ(r.status, order_status::filled);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].price_units_per_wh, 9);  // the bid is older than the replaced ask
  EXPECT_EQ(r.trades[0].buy_order, bid.id);
}

TEST_F(order_book_test, immediate_or_cancel_remainder_is_cancelled) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  place(alice, side::sell, 10, 5);
  const auto ioc = place(bob, side::buy, 10, 8, order_kind::immediate_or_cancel);
  EXPECT_EQ(ioc.status, order_status::cancelled);
  EXPECT_EQ(ioc.filled_wh, 5);
  order_info i;
  EXPECT_FALSE(book_.find(ioc.id, i));
  EXPECT_EQ(book_.resting_orders(), 0u);
  const auto history = book_.history(bob);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().kind, history_kind::remainder_cancelled);
  EXPECT_EQ(history.back().quantity_wh, 3);
}

TEST_F(order_book_test, unfunded_immediate_or_cancel_trades_nothing) {
  bal_.set_watt(alice, 100);
  place(alice, side::sell, 10, 5);
  const auto ioc = place(bob, side::buy, 10, 5, order_kind::immediate_or_cancel);  // bob has no TSL
  EXPECT_EQ(ioc.status, order_status::cancelled);
  EXPECT_EQ(ioc.filled_wh, 0);
  EXPECT_EQ(book_.resting_orders(), 1u);
}

TEST_F(order_book_test, market_order_stops_at_its_price_cap) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  place(alice, side::sell, 10, 5);
  place(alice, side::sell, 11, 5);
  place(alice, side::sell, 12, 5);
  const auto m = place(bob, side::buy, 11, 100, order_kind::market);
  ASSERT_EQ(m.trades.size(), 2u);
  EXPECT_EQ(m.trades[0].price_units_per_wh, 10);
  EXPECT_EQ(m.trades[1].price_units_per_wh, 11);
  EXPECT_EQ(m.filled_wh, 10);
  EXPECT_EQ(m.status, order_status::cancelled);
  EXPECT_EQ(book_.buy_price(), 12);
  EXPECT_EQ(book_.sell_price(), 0);
}

TEST_F(order_book_test, self_trade_prevention_cancels_the_older_own_order) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(alice, rich_tsl);
  bal_.set_watt(bob, 100);
  const auto own = place(alice, side::sell, 10, 5);
  const auto other = place(bob, side::sell, 11, 5);
  const auto bid = place(alice, side::buy, 12, 5);
  ASSERT_EQ(bid.trades.size(), 1u);  // alice never trades with herself
  EXPECT_EQ(bid.trades[0].sell_order, other.id);
  order_info i;
  EXPECT_FALSE(book_.find(own.id, i));
  bool stp_recorded = false;
  for (const auto& h : book_.history(alice))
    stp_recorded |= h.kind == history_kind::self_trade_cancelled && h.order == own.id;
  EXPECT_TRUE(stp_recorded);
}

TEST_F(order_book_test, unfunded_own_order_is_not_cancelled_by_self_trade_prevention) {
  bal_.set_tsl(alice, rich_tsl);
  const auto own = place(alice, side::sell, 10, 5);  // alice holds no energy: not executable
  place(alice, side::buy, 12, 5);
  EXPECT_TRUE(info(own.id).parked);
  EXPECT_EQ(book_.resting_orders(), 2u);
}

TEST_F(order_book_test, bound_violations_are_errors_that_change_nothing) {
  market_params p;
  p.orders_per_account_max = 2;
  p.book_orders_max = 3;
  p.price_max = 1'000'000'000'000;
  p.quantity_wh_max = 1'000'000'000;
  p.accounts_max = 6;
  book_ = order_book(p);
  epoch_ = 5;
  place(alice, side::sell, 10, 5);
  place(alice, side::sell, 11, 5);
  place(bob, side::sell, 12, 5);
  const uint64_t before = book_.digest();
  const auto expect_error = [&](order_request r, errc e) {
    auto res = book_.place(r, bal_, epoch_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error(), e) << errc_name(e);
    EXPECT_FALSE(errc_message(e).empty());
    EXPECT_EQ(book_.digest(), before);
  };
  expect_error({alice, side::sell, order_kind::limit, 10, 5}, errc::account_orders_full);
  expect_error({carol, side::sell, order_kind::limit, 10, 5}, errc::book_full);
  expect_error({carol, side::buy, order_kind::limit, 0, 5}, errc::price_out_of_range);
  expect_error({carol, side::buy, order_kind::limit, 1'000'000'000'001, 5}, errc::price_out_of_range);
  expect_error({carol, side::buy, order_kind::limit, 10, 0}, errc::quantity_out_of_range);
  expect_error({carol, side::buy, order_kind::limit, 10, 1'000'000'001}, errc::quantity_out_of_range);
  expect_error({carol, side::buy, order_kind::limit, 1'000'000'000'000, 1'000'000'000}, errc::notional_overflow);
  expect_error({6, side::buy, order_kind::immediate_or_cancel, 10, 5}, errc::account_out_of_range);
  expect_error({carol, static_cast<side>(7), order_kind::limit, 10, 5}, errc::invalid_request);
  expect_error({carol, side::buy, static_cast<order_kind>(9), 10, 5}, errc::invalid_request);
  {
    auto res = book_.place({carol, side::buy, order_kind::limit, 10, 5}, bal_, 4);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error(), errc::epoch_backwards);
  }
  EXPECT_EQ(book_.cancel(999, alice, epoch_).error(), errc::unknown_order);
  EXPECT_EQ(book_.cancel(1, bob, epoch_).error(), errc::not_owner);
  EXPECT_EQ(book_.replace({1, bob, 10, 5}, bal_, epoch_).error(), errc::not_owner);
  EXPECT_EQ(book_.replace({1, alice, 10, 0}, bal_, epoch_).error(), errc::quantity_out_of_range);
  EXPECT_EQ(book_.replace({1, alice, 0, 5}, bal_, epoch_).error(), errc::price_out_of_range);
  EXPECT_EQ(book_.digest(), before);
  // An IOC does not rest, so it is accepted even with a full book.
  auto ioc = book_.place({carol, side::buy, order_kind::immediate_or_cancel, 10, 5}, bal_, epoch_);
  EXPECT_TRUE(ioc.has_value());
}

TEST_F(order_book_test, cancel_removes_active_and_parked_orders) {
  bal_.set_watt(alice, 100);
  const auto a = place(alice, side::sell, 10, 5);
  const auto b = place(bob, side::sell, 10, 5);  // bob has nothing: parked when reached
  bal_.set_tsl(carol, 30);
  place(carol, side::buy, 10, 8, order_kind::immediate_or_cancel);  // takes 3 from alice (TSL-bound)
  EXPECT_EQ(info(a.id).remaining_wh, 2);
  EXPECT_EQ(book_.cancel(a.id, alice, epoch_).value(), 2);
  EXPECT_EQ(book_.cancel(b.id, bob, epoch_).value(), 5);
  EXPECT_EQ(book_.resting_orders(), 0u);
  EXPECT_EQ(book_.buy_price(), 0);
  EXPECT_EQ(book_.cancel(a.id, alice, epoch_).error(), errc::unknown_order);
}

TEST_F(order_book_test, depth_counts_an_accounts_budget_once_across_its_orders) {
  bal_.set_watt(alice, 15);
  bal_.set_tsl(bob, 100);
  place(alice, side::sell, 10, 10);
  place(alice, side::sell, 11, 10);
  place(bob, side::buy, 5, 10);  // 100 / 5 = 20 Wh affordable
  place(bob, side::buy, 4, 10);  // but the better bid uses 50 of the 100
  const auto asks = book_.depth(side::sell, 10, bal_);
  ASSERT_EQ(asks.size(), 2u);
  EXPECT_EQ(asks[0].price_units_per_wh, 10);
  EXPECT_EQ(asks[0].funded_wh, 10);
  EXPECT_EQ(asks[1].funded_wh, 5);
  EXPECT_EQ(asks[1].total_wh, 10);
  const auto bids = book_.depth(side::buy, 1, bal_);
  ASSERT_EQ(bids.size(), 1u);  // levels bounded by the request
  EXPECT_EQ(bids[0].price_units_per_wh, 5);
  EXPECT_EQ(bids[0].funded_wh, 10);
  const auto all_bids = book_.depth(side::buy, 10, bal_);
  ASSERT_EQ(all_bids.size(), 2u);
  EXPECT_EQ(all_bids[1].funded_wh, 10);  // 50 TSL left / 4 = 12, capped at 10
}

TEST_F(order_book_test, epoch_stats_record_prices_and_volume_per_epoch) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  epoch_ = 7;
  place(alice, side::sell, 10, 5);
  place(bob, side::buy, 10, 3);
  place(bob, side::buy, 12, 2);
  epoch_ = 8;
  place(alice, side::sell, 11, 4);
  place(bob, side::buy, 11, 1);
  place(bob, side::buy, 9, 1);
  const auto e = book_.epochs();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].epoch, 7u);
  EXPECT_EQ(e[0].trade_count, 2u);
  EXPECT_EQ(e[0].volume_wh, 5);
  EXPECT_EQ(e[0].notional_units, 50);
  EXPECT_EQ(e[0].high_price_units_per_wh, 10);
  EXPECT_EQ(e[0].buy_price_units_per_wh, 0);   // asks exhausted at the end of epoch 7
  EXPECT_EQ(e[1].epoch, 8u);
  EXPECT_EQ(e[1].volume_wh, 1);
  EXPECT_EQ(e[1].last_price_units_per_wh, 11);
  EXPECT_EQ(e[1].buy_price_units_per_wh, 11);  // lowest ask
  EXPECT_EQ(e[1].sell_price_units_per_wh, 9);  // highest bid
  const auto trades = book_.recent_trades();
  ASSERT_EQ(trades.size(), 3u);
  EXPECT_EQ(trades[2].epoch, 8u);
}

class small_rings_test : public order_book_test {
 protected:
  static market_params small() {
    market_params p;
    p.trade_ring_max = 4;
    p.account_history_max = 3;
    p.epoch_stats_max = 2;
    return p;
  }
  small_rings_test() : order_book_test(small()) {}
};

TEST_F(small_rings_test, market_data_rings_keep_only_the_last_entries) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  for (int i = 0; i < 10; ++i) {
    epoch_ = static_cast<uint64_t>(i);
    place(alice, side::sell, 10, 1);
    place(bob, side::buy, 10, 1);
  }
  const auto t = book_.recent_trades();
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t.front().id, 7u);
  EXPECT_EQ(t.back().id, 10u);
  EXPECT_EQ(book_.history(alice).size(), 3u);
  EXPECT_EQ(book_.history(alice).back().kind, history_kind::traded);
  ASSERT_EQ(book_.epochs().size(), 2u);
  EXPECT_EQ(book_.epochs().front().epoch, 8u);
}

class tight_budget_test : public order_book_test {
 protected:
  static market_params tight() {
    market_params p;
    p.match_trades_per_call_max = 2;
    return p;
  }
  tight_budget_test() : order_book_test(tight()) {}
};

TEST_F(tight_budget_test, leftover_matching_work_continues_on_the_next_call) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  for (int i = 0; i < 5; ++i) place(alice, side::sell, 10 + i, 1);
  const auto bid = place(bob, side::buy, 20, 5);
  EXPECT_EQ(bid.trades.size(), 2u);
  EXPECT_TRUE(bid.incomplete);
  EXPECT_TRUE(book_.matching_pending());
  auto r = book_.match_pending(bal_, epoch_);
  EXPECT_EQ(r->trades.size(), 2u);
  EXPECT_EQ(r->trades[0].price_units_per_wh, 12);
  r = book_.match_pending(bal_, epoch_);
  EXPECT_EQ(r->trades.size(), 1u);
  EXPECT_FALSE(r->matching_incomplete);
  EXPECT_EQ(bal_.watt_wh(bob), 5);
}

TEST_F(order_book_test, snapshot_round_trip_keeps_digest_and_behaviour) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, rich_tsl);
  place(alice, side::sell, 10, 5);
  place(carol, side::sell, 9, 5);  // parked later
  place(bob, side::buy, 10, 7);
  place(bob, side::buy, 8, 3);
  const auto bytes = book_.serialize();
  auto copy = order_book::deserialize(bytes);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->digest(), book_.digest());
  EXPECT_EQ(copy->serialize(), bytes);
  balance_table bal2 = bal_;
  auto r1 = book_.place({dave, side::sell, order_kind::limit, 8, 1}, bal_, epoch_);
  bal2.set_watt(dave, 0);
  auto r2 = copy->place({dave, side::sell, order_kind::limit, 8, 1}, bal2, epoch_);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->id, r2->id);
  EXPECT_EQ(copy->digest(), book_.digest());
}

TEST(order_book_snapshot, truncated_or_corrupted_bytes_are_rejected_without_crashing) {
  balance_table bal(4, 1000);
  order_book book;
  bal.set_watt(0, 100);
  bal.set_tsl(1, 1000);
  ASSERT_TRUE(book.place({0, side::sell, order_kind::limit, 10, 50}, bal, 1));
  ASSERT_TRUE(book.place({1, side::buy, order_kind::limit, 10, 20}, bal, 1));
  ASSERT_TRUE(book.place({2, side::sell, order_kind::limit, 11, 20}, bal, 1));
  const auto bytes = book.serialize();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = order_book::deserialize(std::span(bytes.data(), n));
    EXPECT_FALSE(r.has_value()) << "prefix of " << n << " bytes accepted";
  }
  // Flip each byte: either rejected, or decodes into a book that passes its own invariants.
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0x5a;
    auto r = order_book::deserialize(copy);
    if (r) {
      EXPECT_EQ(r->check_invariants(), "");
    }
  }
}

}  // namespace
}  // namespace energo::market

// SPEC §4: a bid is executable for as much as its owner can pay at the price it would actually
// trade at (the older order's price), not at its own limit.
namespace energo::market {
namespace {

TEST_F(order_book_test, a_bid_is_funded_at_the_trade_price_and_fills_in_one_trade) {
  bal_.set_watt(alice, 100);
  bal_.set_tsl(bob, 100);  // exactly 100 Wh at the older ask's price 1
  const auto ask = place(alice, side::sell, 1, 100);
  const auto bid = place(bob, side::buy, 10, 100);
  ASSERT_EQ(bid.trades.size(), 1u);
  EXPECT_EQ(bid.trades[0].sell_order, ask.id);
  EXPECT_EQ(bid.trades[0].price_units_per_wh, 1);
  EXPECT_EQ(bid.trades[0].quantity_wh, 100);
  EXPECT_EQ(bid.status, order_status::filled);
  EXPECT_EQ(bal_.tsl_units(bob), 0);
  EXPECT_EQ(bal_.watt_wh(bob), 100);
}

TEST_F(order_book_test, a_huge_ask_against_a_high_limit_bid_fills_in_one_trade_not_a_chain) {
  bal_ = balance_table(8, 2'000'000);
  bal_.set_watt(alice, 1'000'000);
  bal_.set_tsl(bob, 1'000'000);
  place(alice, side::sell, 1, 1'000'000);
  const auto bid = place(bob, side::buy, 1'000'000, 1'000'000);
  ASSERT_EQ(bid.trades.size(), 1u);
  EXPECT_EQ(bid.trades[0].quantity_wh, 1'000'000);
  EXPECT_EQ(bid.status, order_status::filled);
}

TEST_F(order_book_test, a_bid_that_cannot_pay_its_limit_trades_with_an_older_cheaper_ask_behind_a_younger_best_ask) {
  bal_.set_watt(carol, 10);
  const auto older = place(carol, side::sell, 5, 10);   // the older ask, price 5
  const auto bid = place(alice, side::buy, 8, 10);       // alice holds nothing: parked
  EXPECT_TRUE(info(bid.id).parked);
  bal_.set_watt(dave, 10);
  const auto younger = place(dave, side::sell, 1, 10);  // best ask, but younger than the bid: trades at 8
  EXPECT_TRUE(younger.trades.empty());
  // 7 units: not enough for 1 Wh at the bid's own price 8 (against dave), enough at carol's 5.
  const auto t = balance_changed(alice, 0, 7);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].sell_order, older.id);
  EXPECT_EQ(t[0].price_units_per_wh, 5);
  EXPECT_EQ(t[0].quantity_wh, 1);
  EXPECT_EQ(bal_.tsl_units(alice), 2);
}

TEST_F(order_book_test, a_parked_bid_wakes_when_an_older_ask_it_can_afford_becomes_funded) {
  const auto older = place(carol, side::sell, 5, 10);  // carol has no energy yet
  bal_.set_tsl(alice, 7);
  const auto bid = place(alice, side::buy, 8, 10);  // parks carol's ask; rests
  bal_.set_watt(dave, 10);
  place(dave, side::sell, 1, 10);  // younger: the price would be 8, alice cannot pay it
  EXPECT_TRUE(info(bid.id).parked);
  // Carol's energy arrives: alice's balance did not change, yet she can now buy 1 Wh at 5.
  const auto t = balance_changed(carol, 10, 0);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].sell_order, older.id);
  EXPECT_EQ(t[0].buy_order, bid.id);
  EXPECT_EQ(t[0].price_units_per_wh, 5);
  EXPECT_EQ(t[0].quantity_wh, 1);
}

// The history leaf the ledger's market root commits to (order_book::account_leaf_bytes) is the
// account's history oldest first, also after the ring wrapped: checked against history() with an
// encoding written here from the documented layout (u32 size, then per entry epoch, order, trade,
// previous order, price, quantity as 8-byte big-endian, kind and side as one byte each).
TEST_F(order_book_test, history_leaf_bytes_are_the_history_oldest_first_after_the_ring_wraps) {
  bal_.set_tsl(alice, rich_tsl);
  const auto expected_leaf = [&](account_ref a) {
    std::vector<uint8_t> out;
    const auto be = [&](uint64_t v, int bytes) {
      for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    const auto h = book_.history(a);
    be(h.size(), 4);
    for (const auto& e : h) {
      for (const uint64_t v : {e.epoch, e.order, e.trade, e.previous_order, static_cast<uint64_t>(e.price_units_per_wh),
                               static_cast<uint64_t>(e.quantity_wh)})
        be(v, 8);
      out.push_back(static_cast<uint8_t>(e.kind));
      out.push_back(static_cast<uint8_t>(e.order_side));
    }
    return out;
  };
  std::vector<uint8_t> leaf;
  const uint32_t cap = book_.params().account_history_max;
  for (uint32_t k = 0; k < cap + cap / 2 + 3; ++k) {  // wraps the ring once and then some
    const auto placed = place(alice, side::buy, 10 + k % 7, 5 + k);
    if (k % 3 == 0) {
      ASSERT_TRUE(book_.cancel(placed.id, alice, epoch_).has_value());
    }
    if (k == 5 || k == cap - 1 || k == cap || k == cap + 4) {
      book_.account_leaf_bytes(alice, leaf);
      ASSERT_EQ(leaf, expected_leaf(alice)) << "after " << k + 1 << " orders";
    }
  }
  EXPECT_EQ(book_.history(alice).size(), cap);
  book_.account_leaf_bytes(alice, leaf);
  EXPECT_EQ(leaf, expected_leaf(alice));
}

}  // namespace
}  // namespace energo::market
