// The independent trade checker (trade_checker.hpp): it passes the real order book on random
// histories, and it catches each of the three broken books that efficiency-only tests let through
// (trade at the newer order's price; newest first within a level; worst ask first). The broken
// books are tiny reference matchers below, not edits of ledger/market/order_book.cpp.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "balance_table.hpp"
#include "ledger/market/order_book.hpp"
#include "trade_checker.hpp"

namespace energo::market::test {
namespace {

uint64_t test_seed(const char* test_name) {
  // ENERGO_TEST_SEED reproduces a failing run.
  const char* fixed = std::getenv("ENERGO_TEST_SEED");
  const uint64_t seed = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
  std::cout << "[ seed ] " << test_name << " seed=" << seed << "\n";
  return seed;
}

// --- a reference matcher, correct or broken in one named way ---------------------------------

enum class broken_rule {
  none,
  newer_order_price,      // a trade at the incoming (newer) order's price
  newest_first_in_level,  // within a price level, the newest resting order first
  worst_ask_first,        // an incoming bid takes the highest crossing ask first
};

struct ref_order {
  order_id id = 0;
  account_ref account = 0;
  side order_side = side::buy;
  int64_t price = 0;
  int64_t remaining = 0;
};

// Fully funded, every order from its own account (so self-trade prevention never applies):
// only the matching order and the trade price differ between the variants.
std::vector<recorded_call> reference_history(broken_rule rule, uint64_t seed, int orders, std::size_t& accounts) {
  std::mt19937_64 rng(seed);
  std::vector<ref_order> book;
  std::vector<recorded_call> history;
  order_id next_id = 1;
  trade_id next_trade = 1;
  for (int n = 0; n < orders; ++n) {
    if (!book.empty() && rng() % 8 == 0) {
      const std::size_t k = rng() % book.size();
      recorded_call c;
      c.what = recorded_call::kind::cancel;
      c.id = book[k].id;
      book.erase(book.begin() + static_cast<std::ptrdiff_t>(k));
      for (const auto& o : book) c.resting_after.insert(o.id);
      history.push_back(std::move(c));
      continue;
    }
    ref_order in{next_id++, static_cast<account_ref>(n), rng() % 2 ? side::buy : side::sell,
                 90 + static_cast<int64_t>(rng() % 21), 1 + static_cast<int64_t>(rng() % 5)};
    recorded_call c;
    c.what = recorded_call::kind::place;
    c.request = order_request{in.account, in.order_side, order_kind::limit, in.price, in.remaining};
    c.id = in.id;
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < book.size(); ++i)
      if (book[i].order_side != in.order_side &&
          (in.order_side == side::buy ? book[i].price <= in.price : book[i].price >= in.price))
        candidates.push_back(i);
    std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
      const auto& x = book[a];
      const auto& y = book[b];
      if (x.price != y.price) {
        const bool better = in.order_side == side::buy ? x.price < y.price : x.price > y.price;
        return rule == broken_rule::worst_ask_first && in.order_side == side::buy ? !better : better;
      }
      return rule == broken_rule::newest_first_in_level ? x.id > y.id : x.id < y.id;
    });
    for (std::size_t i : candidates) {
      if (in.remaining == 0) break;
      auto& r = book[i];
      const int64_t q = std::min(in.remaining, r.remaining);
      const int64_t price = rule == broken_rule::newer_order_price ? in.price : r.price;
      trade t;
      t.id = next_trade++;
      t.buy_order = in.order_side == side::buy ? in.id : r.id;
      t.sell_order = in.order_side == side::buy ? r.id : in.id;
      t.buyer = in.order_side == side::buy ? in.account : r.account;
      t.seller = in.order_side == side::buy ? r.account : in.account;
      t.price_units_per_wh = price;
      t.quantity_wh = q;
      t.notional_units = price * q;
      c.trades.push_back(t);
      in.remaining -= q;
      r.remaining -= q;
    }
    std::erase_if(book, [](const ref_order& o) { return o.remaining == 0; });
    if (in.remaining > 0) book.push_back(in);
    for (const auto& o : book) c.resting_after.insert(o.id);
    history.push_back(std::move(c));
  }
  accounts = static_cast<std::size_t>(orders);
  return history;
}

TEST(trade_checker, passes_the_correct_reference_matcher) {
  const uint64_t seed = test_seed("trade_checker.passes_the_correct_reference_matcher");
  for (uint64_t s = seed; s < seed + 20; ++s) {
    std::size_t accounts = 0;
    const auto history = reference_history(broken_rule::none, s, 300, accounts);
    const auto checker = check_history(history, accounts);
    EXPECT_TRUE(checker.ok()) << "seed " << s << "\n" << checker.report();
    EXPECT_GT(checker.trades_checked(), 50u);
  }
}

// Each broken book is caught, with the message of the rule it breaks.
TEST(trade_checker, catches_each_broken_book) {
  const uint64_t seed = test_seed("trade_checker.catches_each_broken_book");
  const struct {
    broken_rule rule;
    const char* expect;
  } cases[] = {
      {broken_rule::newer_order_price, "is not the older order's"},
      {broken_rule::newest_first_in_level, "had priority over"},
      {broken_rule::worst_ask_first, "had priority over ask"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("rule " + std::to_string(static_cast<int>(c.rule)) + ", seed " + std::to_string(seed));
    std::size_t accounts = 0;
    const auto history = reference_history(c.rule, seed, 300, accounts);
    const auto checker = check_history(history, accounts);
    ASSERT_FALSE(checker.ok()) << "the broken book went unnoticed";
    EXPECT_NE(checker.violations().front().find(c.expect), std::string::npos) << checker.report();
  }
}

// Hand-made: the smallest history each rule needs, so a failure here reads at a glance.
TEST(trade_checker, minimal_histories) {
  auto place = [](order_id id, account_ref a, side s, int64_t price, int64_t q, std::vector<trade> trades,
                  std::set<order_id> after) {
    recorded_call c;
    c.what = recorded_call::kind::place;
    c.id = id;
    c.request = order_request{a, s, order_kind::limit, price, q};
    c.trades = std::move(trades);
    c.resting_after = std::move(after);
    return c;
  };
  auto tr = [](order_id bid, order_id ask, account_ref buyer, account_ref seller, int64_t price, int64_t q) {
    return trade{1, 0, bid, ask, buyer, seller, price, q, price * q};
  };
  // Asks 1 @ 10 and 2 @ 10 (same level), ask 3 @ 12; a bid 4 @ 12 for 1 Wh.
  const std::vector<recorded_call> base = {place(1, 0, side::sell, 10, 1, {}, {1}),
                                           place(2, 1, side::sell, 10, 1, {}, {1, 2}),
                                           place(3, 2, side::sell, 12, 1, {}, {1, 2, 3})};
  auto with = [&](recorded_call last) {
    auto h = base;
    h.push_back(std::move(last));
    return check_history(h, 4);
  };
  EXPECT_TRUE(with(place(4, 3, side::buy, 12, 1, {tr(4, 1, 3, 0, 10, 1)}, {2, 3})).ok());
  EXPECT_FALSE(with(place(4, 3, side::buy, 12, 1, {tr(4, 1, 3, 0, 12, 1)}, {2, 3})).ok()) << "newer order's price";
  EXPECT_FALSE(with(place(4, 3, side::buy, 12, 1, {tr(4, 2, 3, 1, 10, 1)}, {1, 3})).ok()) << "newest first in the level";
  EXPECT_FALSE(with(place(4, 3, side::buy, 12, 1, {tr(4, 3, 3, 2, 12, 1)}, {1, 2})).ok()) << "worst ask first";
  EXPECT_FALSE(with(place(4, 3, side::buy, 12, 1, {}, {1, 2, 3, 4})).ok()) << "no trade although the bid crosses";
  EXPECT_FALSE(with(place(4, 3, side::buy, 12, 1, {tr(4, 1, 3, 0, 10, 1)}, {1, 2, 3})).ok()) << "a filled order still rests";
}

// --- the real book ---------------------------------------------------------------------------

// Random calls on the real order book with funding that comes and goes (unfunded asks and bids,
// Bmax, self-trades, IOC and market orders, replaces and cancels); the checker must find nothing.
TEST(trade_checker, passes_the_real_order_book_on_random_histories) {
  const uint64_t seed = test_seed("trade_checker.passes_the_real_order_book_on_random_histories");
  constexpr uint32_t accounts = 12;
  constexpr int64_t bmax_wh = 400;
  std::size_t trades = 0;
  for (uint64_t s = seed; s < seed + 10; ++s) {
    SCOPED_TRACE("seed " + std::to_string(s));
    std::mt19937_64 rng(s);
    market_params params;
    params.accounts_max = accounts;
    order_book book(params);
    testing::balance_table balances(accounts, bmax_wh);
    for (account_ref a = 0; a < accounts; ++a) {
      balances.set_watt(a, static_cast<int64_t>(rng() % 200));
      balances.set_tsl(a, static_cast<int64_t>(rng() % 20'000));
    }
    std::vector<recorded_call> history;
    auto resting = [&] {
      std::set<order_id> ids;
      for (account_ref a = 0; a < accounts; ++a)
        for (const auto& o : book.orders_of(a)) ids.insert(o.id);
      return ids;
    };
    for (int step = 0; step < 400; ++step) {
      recorded_call c;
      c.funded = true;
      c.balances = trade_checker::snapshot(balances, accounts);
      const auto a = static_cast<account_ref>(rng() % accounts);
      const auto roll = rng() % 20;
      const auto mine = book.orders_of(a);
      if (roll < 12) {
        const auto kind = roll < 9 ? order_kind::limit : roll < 11 ? order_kind::immediate_or_cancel : order_kind::market;
        c.what = recorded_call::kind::place;
        c.request = order_request{a, rng() % 2 ? side::buy : side::sell, kind, 40 + static_cast<int64_t>(rng() % 21),
                                  1 + static_cast<int64_t>(rng() % 60)};
        auto r = book.place(c.request, balances, 1);
        if (!r) continue;  // e.g. the account's order bound
        c.id = r->id;
        c.trades.assign(r->trades.begin(), r->trades.end());
        c.matching_incomplete = r->matching_incomplete;
      } else if (roll < 14 && !mine.empty()) {
        const auto& o = mine[rng() % mine.size()];
        c.what = recorded_call::kind::replace;
        c.replace = replace_request{o.id, a, rng() % 2 ? o.price_units_per_wh : 40 + static_cast<int64_t>(rng() % 21),
                                    1 + static_cast<int64_t>(rng() % 60)};
        auto r = book.replace(c.replace, balances, 1);
        ASSERT_TRUE(r.has_value());
        c.id = r->id;
        c.trades.assign(r->trades.begin(), r->trades.end());
        c.matching_incomplete = r->matching_incomplete;
      } else if (roll < 16 && !mine.empty()) {
        c.what = recorded_call::kind::cancel;
        c.id = mine[rng() % mine.size()].id;
        ASSERT_TRUE(book.cancel(c.id, a, 1).has_value());
      } else {
        // Energy produced or consumed, TSL received or spent, outside the market.
        const auto b = static_cast<account_ref>(rng() % accounts);
        balances.set_watt(b, std::clamp<int64_t>(balances.watt_wh(b) + static_cast<int64_t>(rng() % 160) - 80, 0, bmax_wh));
        balances.set_tsl(b, std::max<int64_t>(0, balances.tsl_units(b) + static_cast<int64_t>(rng() % 8000) - 4000));
        book.on_balance_changed(b);
        c.what = recorded_call::kind::match;
        c.balances = trade_checker::snapshot(balances, accounts);
        auto r = book.match_pending(balances, 1);
        ASSERT_TRUE(r.has_value());
        c.trades.assign(r->trades.begin(), r->trades.end());
        c.matching_incomplete = r->matching_incomplete;
      }
      c.resting_after = resting();
      trades += c.trades.size();
      history.push_back(std::move(c));
    }
    const auto checker = check_history(history, accounts);
    EXPECT_TRUE(checker.ok()) << checker.report();
    EXPECT_EQ(balances.violations, 0u);
  }
  EXPECT_GT(trades, 500u) << "the histories should trade";
}

}  // namespace
}  // namespace energo::market::test
