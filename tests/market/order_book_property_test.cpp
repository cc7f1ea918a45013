// RapidCheck properties of the order book over random command and balance sequences
// (RapidCheck prints the failing seed and the shrunk command list).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ledger/market/order_book.hpp"
#include "tests/market/balance_table.hpp"

namespace energo::market {
namespace {

using testing::balance_table;

constexpr uint32_t accounts = 6;
constexpr int64_t bmax_wh = 200;

struct op {
  int kind = 0;     // 0-4 place, 5 cancel, 6 replace, 7 balance change, 8 match_pending, 9 TSL-only change
  int account = 0;
  int order_side = 0;
  int order_kind_pick = 0;  // 0-2 limit, 3 IOC, 4 market
  int price = 1;
  int quantity = 1;
  int pick = 0;      // which known order (cancel/replace)
  int watt = 0;
  int tsl = 0;
};

// RapidCheck finds showValue by argument-dependent lookup to print failing commands.
void showValue(const op& o, std::ostream& os) {
  os << "{k" << o.kind << " a" << o.account << " s" << o.order_side << " t" << o.order_kind_pick << " p" << o.price
     << " q" << o.quantity << " pick" << o.pick << " w" << o.watt << " tsl" << o.tsl << "}";
}

rc::Gen<op> gen_op() {
  return rc::gen::apply(
      [](int kind, int account, int s, int k, int price, int qty, int pick, int watt, int tsl) {
        return op{kind, account, s, k, price, qty, pick, watt, tsl};
      },
      rc::gen::inRange(0, 10), rc::gen::inRange(0, static_cast<int>(accounts)), rc::gen::inRange(0, 2),
      rc::gen::inRange(0, 5), rc::gen::inRange(5, 16), rc::gen::inRange(1, 60), rc::gen::inRange(0, 1000),
      rc::gen::inRange(0, static_cast<int>(bmax_wh) + 1), rc::gen::inRange(0, 3000));
}

// Scaled up so that most runs reach crossed books, parking and refunding chains.
rc::Gen<std::vector<op>> gen_ops() { return rc::gen::scale(4.0, rc::gen::container<std::vector<op>>(gen_op())); }

// One replica: balances, the book, and the log of everything observable it produced.
struct world {
  explicit world(const market_params& p = {}) : bal(accounts, bmax_wh), book(p) {
    for (account_ref a = 0; a < accounts; ++a) {
      bal.set_watt(a, 50);
      bal.set_tsl(a, 500);
    }
    expected_watt = bal.total_watt();
    expected_tsl = bal.total_tsl();
  }

  void log(std::span<const trade> ts) {
    for (const trade& t : ts)
      if (parked_ever.count(t.buy_order) || parked_ever.count(t.sell_order)) ++parked_then_filled;
    trades.insert(trades.end(), ts.begin(), ts.end());
  }

  // Coverage: orders seen parked after some command (their later trades count in parked_then_filled).
  void note_parked() {
    for (account_ref a = 0; a < accounts; ++a)
      for (const order_info& o : book.orders_of(a))
        if (o.parked) parked_ever.insert(o.id);
  }

  // SPEC §4 in its own words, from the balances and the book's public order list (not the book's
  // funding code): after matching, no bid and ask of different accounts cross while the seller
  // holds WATT and the buyer has room below Bmax and can pay 1 Wh at the price the pair would trade
  // at, the older order's price. Empty = ok.
  std::string executable_crossing() const {
    if (book.matching_pending()) return {};
    std::vector<order_info> bids, asks;
    for (account_ref a = 0; a < accounts; ++a)
      for (const order_info& o : book.orders_of(a)) (o.order_side == side::buy ? bids : asks).push_back(o);
    for (const order_info& b : bids)
      for (const order_info& a : asks) {
        if (b.account == a.account || b.price_units_per_wh < a.price_units_per_wh) continue;
        const int64_t price = b.id < a.id ? b.price_units_per_wh : a.price_units_per_wh;
        if (bal.watt_wh(a.account) > 0 && bal.bmax_wh() - bal.watt_wh(b.account) > 0 && bal.tsl_units(b.account) >= price)
          return "bid " + std::to_string(b.id) + " crosses executable ask " + std::to_string(a.id) + " at price " +
                 std::to_string(price);
      }
    return {};
  }

  // Drains leftover matching work (tight budgets); bounded so a livelock fails instead of hanging.
  void settle_pending() {
    for (int i = 0; i < 100'000 && book.matching_pending(); ++i) {
      auto r = book.match_pending(bal, epoch);
      RC_ASSERT(r.has_value());
      log(r->trades);
    }
    RC_ASSERT(!book.matching_pending());
  }

  void apply(const op& o) {
    ++step;
    epoch = step / 7;
    const auto a = static_cast<account_ref>(o.account);
    if (o.kind <= 4) {
      const order_kind k = o.order_kind_pick <= 2   ? order_kind::limit
                           : o.order_kind_pick == 3 ? order_kind::immediate_or_cancel
                                                    : order_kind::market;
      auto r = book.place({a, o.order_side == 0 ? side::buy : side::sell, k, o.price, o.quantity}, bal, epoch);
      if (r) limit_of[r->id] = o.price;
      if (r) {
        log(r->trades);
        if (r->status == order_status::resting) ids.push_back(r->id);
      }
    } else if (o.kind == 5 || o.kind == 6) {
      if (ids.empty()) return;
      const order_id id = ids[static_cast<std::size_t>(o.pick) % ids.size()];
      order_info info;
      if (!book.find(id, info)) return;  // filled or cancelled since
      if (o.kind == 5) {
        RC_ASSERT(book.cancel(id, info.account, epoch).has_value());
      } else {
        auto r = book.replace({id, info.account, o.price, o.quantity}, bal, epoch);
        RC_ASSERT(r.has_value());
        limit_of[r->id] = o.price;  // a price change renumbers, so an id's limit never changes
        log(r->trades);
        if (r->status == order_status::resting && r->id != id) ids.push_back(r->id);
      }
    } else if (o.kind == 7 || o.kind == 9) {
      // A meter reading / burn / transfer outside the market: the ledger tells the book.
      expected_watt -= bal.watt_wh(a);
      expected_tsl -= bal.tsl_units(a);
      if (o.kind == 7) bal.set_watt(a, o.watt);
      bal.set_tsl(a, o.tsl);
      expected_watt += bal.watt_wh(a);
      expected_tsl += bal.tsl_units(a);
      book.on_balance_changed(a);
      auto r = book.match_pending(bal, epoch);
      RC_ASSERT(r.has_value());
      log(r->trades);
    } else {
      auto r = book.match_pending(bal, epoch);
      RC_ASSERT(r.has_value());
      log(r->trades);
    }
    note_parked();
  }

  void check() const {
    const std::string broken = book.check_invariants(&bal);
    RC_ASSERT(broken == std::string{});
    const std::string crossing = executable_crossing();
    if (!crossing.empty()) RC_FAIL(crossing);
    RC_ASSERT(bal.violations == 0u);   // never an overdraft or a purchase above Bmax
    RC_ASSERT(bal.within_bounds());    // no negative balance, none above Bmax
    RC_ASSERT(bal.total_watt() == expected_watt);  // trades conserve WATT...
    RC_ASSERT(bal.total_tsl() == expected_tsl);    // ...and TSL
    for (const trade& t : trades) {
      RC_ASSERT(t.buyer != t.seller);
      // Crossing limits, and the price is the older (smaller id) order's limit (SPEC §4).
      const int64_t bid = limit_of.at(t.buy_order), ask = limit_of.at(t.sell_order);
      RC_ASSERT(bid >= ask);
      RC_ASSERT(t.price_units_per_wh == (t.buy_order < t.sell_order ? bid : ask));
    }
  }

  balance_table bal;
  order_book book;
  std::vector<order_id> ids;
  std::vector<trade> trades;
  std::map<order_id, int64_t> limit_of;
  std::set<order_id> parked_ever;
  uint64_t parked_then_filled = 0;  // trades of orders that had been parked
  uint64_t step = 0;
  uint64_t epoch = 0;
  int64_t expected_watt = 0;
  int64_t expected_tsl = 0;
};

TEST(order_book_property, after_matching_no_executable_crossing_pair_and_balances_conserved) {
  uint64_t cases = 0, parked_then_filled_cases = 0;
  const bool passed = rc::check("no executable crossing pair, balances conserved", [&] {
    const auto ops = *gen_ops();
    world w;
    uint32_t parked_seen = 0;
    for (const op& o : ops) {
      w.apply(o);
      RC_ASSERT(!w.book.matching_pending());
      w.check();
      parked_seen += w.book.parked_orders();
    }
    ++cases;
    if (w.parked_then_filled > 0) ++parked_then_filled_cases;
    RC_CLASSIFY(w.trades.size() >= 10, "10+ trades");
    RC_CLASSIFY(parked_seen > 0, "parked orders");
    RC_CLASSIFY(w.parked_then_filled > 0, "parked, then traded");
  });
  EXPECT_TRUE(passed);
  // Coverage that matters, asserted: the generator must reach orders that were parked (unfunded)
  // and traded later, or the unparking paths went untested.
  EXPECT_GT(parked_then_filled_cases, 0u) << "no case traded an order that had been parked (" << cases << " cases)";
}

RC_GTEST_PROP(order_book_property, same_commands_give_the_same_digest_and_trades, ()) {
  const auto ops = *gen_ops();
  world a, b;
  for (const op& o : ops) {
    a.apply(o);
    b.apply(o);
  }
  RC_ASSERT(a.book.digest() == b.book.digest());
  RC_ASSERT(a.trades == b.trades);
}

RC_GTEST_PROP(order_book_property, snapshot_round_trip_gives_same_digest_and_same_future, ()) {
  const auto ops = *gen_ops();
  const auto cut = *rc::gen::inRange<std::size_t>(0, ops.size() + 1);
  world a, b;
  for (std::size_t i = 0; i < cut; ++i) {
    a.apply(ops[i]);
    b.apply(ops[i]);
  }
  const auto bytes = b.book.serialize();
  auto restored = order_book::deserialize(bytes);
  RC_ASSERT(restored.has_value());
  RC_ASSERT(restored->digest() == a.book.digest());
  RC_ASSERT(restored->serialize() == bytes);
  b.book = std::move(*restored);
  for (std::size_t i = cut; i < ops.size(); ++i) {
    a.apply(ops[i]);
    b.apply(ops[i]);
  }
  RC_ASSERT(a.book.digest() == b.book.digest());
  RC_ASSERT(a.trades == b.trades);
  b.check();
}

RC_GTEST_PROP(order_book_property, tiny_matching_budgets_converge_to_the_same_invariants, ()) {
  market_params p;
  p.match_trades_per_call_max = 1;
  p.match_steps_per_call_max = 2;
  const auto ops = *gen_ops();
  world w(p), again(p);
  for (const op& o : ops) {
    w.apply(o);
    w.settle_pending();
    w.check();
    again.apply(o);
    again.settle_pending();
  }
  RC_ASSERT(w.book.digest() == again.book.digest());
}

}  // namespace
}  // namespace energo::market

namespace energo::market {
namespace {

RC_GTEST_PROP(order_book_property, snapshot_with_pending_matching_work_resumes_identically, ()) {
  // Tiny budgets leave crossings and queued accounts in the book between calls; a snapshot taken
  // then must carry that work and resume it exactly as the original does.
  market_params p;
  p.match_trades_per_call_max = 1;
  p.match_steps_per_call_max = 2;
  const auto ops = *gen_ops();
  const auto cut = *rc::gen::inRange<std::size_t>(0, ops.size() + 1);
  world a(p), b(p);
  for (std::size_t i = 0; i < cut; ++i) {
    a.apply(ops[i]);
    b.apply(ops[i]);
  }
  auto restored = order_book::deserialize(b.book.serialize());
  RC_ASSERT(restored.has_value());
  RC_ASSERT(restored->matching_pending() == a.book.matching_pending());
  b.book = std::move(*restored);
  for (std::size_t i = cut; i < ops.size(); ++i) {
    a.apply(ops[i]);
    b.apply(ops[i]);
  }
  a.settle_pending();
  b.settle_pending();
  RC_ASSERT(a.book.digest() == b.book.digest());
  RC_ASSERT(a.trades == b.trades);
  b.check();
}

}  // namespace
}  // namespace energo::market
