#pragma once
// An independent oracle for the order book's matching rules (SPEC §4), written from the SPEC and
// not from ledger/market/order_book.cpp. It sees only what a client of the book sees: the orders
// submitted (place / replace / cancel), the trades each call returned, which orders are still in
// the book after the call (find()), and the balances before the call. From that alone it keeps
// its own model of the resting orders and checks, trade by trade:
//
//   - the trade is between a resting or incoming bid and ask of different accounts that cross,
//     for at most what either has open, notional = price × quantity;
//   - price: every trade is at the price of the OLDER order (smaller order id);
//   - priority: no other order on either side that had priority (a better price, or the same
//     price and an older id), could certainly execute, and was not cancelled during the call was
//     passed over;
//   - after a call that finished its matching, no executable pair of different accounts crosses;
//   - IOC / market remainders never rest; filled orders leave the book.
//
// "Could certainly execute" is deliberately conservative so that either funding rule (funded at
// the bid's own limit, or at the trade price) passes: an ask whose seller holds at least 1 Wh; a
// bid whose owner can pay 1 Wh at the bid's own limit and has at least 1 Wh of room below Bmax.
// Without balances (view == nullptr) every order is fully funded.
//
// Known gaps: self-trade prevention is not checked (an order that vanishes without trading during a
// call is taken as cancelled by it, and is not used as a witness of a priority violation in that
// call); settle()'s balance moves are tracked within a call, and when an account starts a call
// at Bmax its room is taken as 0 until it sells (at most what it sold).
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ledger/market/balance_view.hpp"
#include "ledger/market/types.hpp"

namespace energo::market::test {

class trade_checker {
 public:
  explicit trade_checker(std::size_t accounts) : accounts_(accounts) {}

  // --- one call of the book: begin_call, then what was submitted, then the trades, then end_call ---

  struct balances {
    int64_t watt_wh = 0;
    int64_t tsl_units = 0;
    int64_t room_wh = 0;  // below Bmax
    bool operator==(const balances&) const = default;
  };
  // What a balance_view says about accounts [0, accounts).
  static std::vector<balances> snapshot(const balance_view& view, std::size_t accounts) {
    std::vector<balances> out(accounts);
    for (std::size_t a = 0; a < accounts; ++a) {
      const auto ref = static_cast<account_ref>(a);
      out[a] = {view.watt_wh(ref), view.tsl_units(ref), view.watt_room_wh(ref)};
    }
    return out;
  }

  // Before the call: the balances it will see (nullptr: everyone fully funded).
  void begin_call(const balance_view* view) {
    begin_call(view ? snapshot(*view, accounts_) : std::vector<balances>{}, view != nullptr);
  }
  void begin_call(std::vector<balances> before, bool funded) {
    funded_ = funded;
    balances_ = std::move(before);
    if (funded_ && balances_.size() != accounts_) {
      violation("balances of " + std::to_string(balances_.size()) + " accounts for a checker of " + std::to_string(accounts_));
      funded_ = false;
    }
    // Room below Bmax moves with the WATT balance: exact when the room was positive (Bmax =
    // WATT + room); when it was 0, Bmax is somewhere at or below the WATT balance.
    watt_before_.clear();
    for (const auto& b : balances_) watt_before_.push_back(b.watt_wh);
    incoming_.reset();
    trades_.clear();
    ++call_;
  }
  // A placed order and the id the book gave it.
  void placed(order_id id, const order_request& r) {
    add_order({id, r.account, r.order_side, r.kind, r.price_units_per_wh, r.quantity_wh});
    incoming_ = id;
  }
  // A replace: `new_id` == `old_id` when the order kept its priority.
  void replaced(order_id old_id, order_id new_id, int64_t price_units_per_wh, int64_t open_wh) {
    auto it = orders_.find(old_id);
    if (it == orders_.end()) return violation("replace of order " + std::to_string(old_id) + " the checker does not know");
    model_order o = it->second;
    orders_.erase(it);
    o.id = new_id;
    o.price = price_units_per_wh;
    o.remaining = open_wh;
    add_order(o);
    incoming_ = new_id;
  }
  void cancelled(order_id id) {
    if (orders_.erase(id) == 0) violation("cancel of order " + std::to_string(id) + " the checker does not know");
  }
  void traded(std::span<const trade> trades) { trades_.insert(trades_.end(), trades.begin(), trades.end()); }
  // After the call. `present(id)`: the book still holds the order (order_book::find).
  void end_call(const std::function<bool(order_id)>& present, bool matching_incomplete = false) {
    // Orders that left the book during the call without being filled (self-trade prevention, an
    // IOC/market remainder): not witnesses of priority in this call.
    std::map<order_id, int64_t> filled;
    for (const auto& t : trades_) {
      filled[t.buy_order] += t.quantity_wh;
      filled[t.sell_order] += t.quantity_wh;
    }
    std::set<order_id> vanished;
    for (const auto& [id, o] : orders_)
      if (o.remaining > filled[id] && !present(id)) vanished.insert(id);

    for (const auto& t : trades_) check_trade(t, vanished);

    for (auto it = orders_.begin(); it != orders_.end();) {
      const auto& o = it->second;
      const bool here = present(o.id);
      if (o.remaining == 0 && here) violation("order " + std::to_string(o.id) + " is filled but still in the book");
      if (o.kind != order_kind::limit && here)
        violation("the remainder of immediate-or-cancel/market order " + std::to_string(o.id) + " rests in the book");
      if (o.remaining == 0 || !here || o.kind != order_kind::limit) it = orders_.erase(it);
      else ++it;
    }
    if (!matching_incomplete) check_no_executable_cross();
  }

  [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
  [[nodiscard]] bool ok() const { return violations_.empty(); }
  [[nodiscard]] std::string report(std::size_t max = 5) const {
    std::string out;
    for (std::size_t i = 0; i < violations_.size() && i < max; ++i) out += violations_[i] + "\n";
    if (violations_.size() > max) out += "… and " + std::to_string(violations_.size() - max) + " more\n";
    return out;
  }
  [[nodiscard]] std::size_t trades_checked() const { return trades_checked_; }

 private:
  struct model_order {
    order_id id = 0;
    account_ref account = 0;
    side order_side = side::buy;
    order_kind kind = order_kind::limit;
    int64_t price = 0;
    int64_t remaining = 0;
  };
  void violation(std::string what) {
    if (violations_.size() < violations_max) violations_.push_back("call " + std::to_string(call_) + ": " + std::move(what));
  }
  void add_order(const model_order& o) {
    if (o.account >= accounts_) return violation("order " + std::to_string(o.id) + " of an account beyond the checker's range");
    if (!orders_.emplace(o.id, o).second) violation("order id " + std::to_string(o.id) + " used twice");
  }

  // Priority: `a` goes before `b` on the same side.
  static bool before(const model_order& a, const model_order& b) {
    if (a.price != b.price) return a.order_side == side::buy ? a.price > b.price : a.price < b.price;
    return a.id < b.id;
  }
  bool certainly_executable(const model_order& o) const {
    if (o.remaining <= 0) return false;
    if (!funded_) return true;
    const auto& b = balances_[o.account];
    if (o.order_side == side::sell) return b.watt_wh >= 1;
    return b.tsl_units >= o.price && room_at_least(o.account) >= 1;
  }
  // Whether bid b and ask a could certainly trade at least 1 Wh with each other (SPEC §4): they
  // cross, the seller holds energy, and the buyer can pay 1 Wh at the price this pair would trade
  // at — the OLDER order's price, which is the bid's own limit when the bid is older — with room
  // below Bmax.
  bool pair_certainly_executable(const model_order& b, const model_order& a) const {
    if (b.remaining <= 0 || a.remaining <= 0 || b.price < a.price) return false;
    if (!funded_) return true;
    const int64_t trade_price = b.id < a.id ? b.price : a.price;
    return balances_[a.account].watt_wh >= 1 && balances_[b.account].tsl_units >= trade_price &&
           room_at_least(b.account) >= 1;
  }
  // Room below Bmax now, under- and over-estimated (equal when Bmax is known).
  int64_t room_at_least(account_ref a) const {
    const auto& b = balances_[a];
    return b.room_wh > 0 ? std::max<int64_t>(0, b.room_wh + watt_before_[a] - b.watt_wh) : 0;
  }
  int64_t room_at_most(account_ref a) const {
    const auto& b = balances_[a];
    return std::max<int64_t>(0, b.room_wh + watt_before_[a] - b.watt_wh);
  }

  void check_trade(const trade& t, const std::set<order_id>& vanished) {
    ++trades_checked_;
    const std::string name = "trade " + std::to_string(t.id) + " (bid " + std::to_string(t.buy_order) + ", ask " +
                             std::to_string(t.sell_order) + ")";
    auto bi = orders_.find(t.buy_order);
    auto ai = orders_.find(t.sell_order);
    if (bi == orders_.end() || ai == orders_.end()) return violation(name + ": an order the checker does not hold");
    model_order& bid = bi->second;
    model_order& ask = ai->second;
    if (bid.order_side != side::buy || ask.order_side != side::sell) return violation(name + ": sides are wrong");
    if (bid.account != t.buyer || ask.account != t.seller) violation(name + ": accounts are not the orders' owners");
    if (bid.account == ask.account) violation(name + ": a self-trade");
    if (t.quantity_wh <= 0 || t.quantity_wh > bid.remaining || t.quantity_wh > ask.remaining)
      violation(name + ": quantity " + std::to_string(t.quantity_wh) + " is not within what both orders have open (" +
                std::to_string(bid.remaining) + ", " + std::to_string(ask.remaining) + ")");
    if (bid.price < ask.price) violation(name + ": the orders do not cross");
    const model_order& older = bid.id < ask.id ? bid : ask;
    if (t.price_units_per_wh != older.price)
      violation(name + ": price " + std::to_string(t.price_units_per_wh) + " is not the older order's (" +
                std::to_string(older.id) + ") price " + std::to_string(older.price));
    if (static_cast<int128>(t.price_units_per_wh) * t.quantity_wh != t.notional_units) violation(name + ": notional is not price × quantity");
    if (funded_) {
      const auto& s = balances_[ask.account];
      const auto& b = balances_[bid.account];
      if (s.watt_wh < t.quantity_wh) violation(name + ": the seller does not hold the energy");
      if (b.tsl_units < t.notional_units) violation(name + ": the buyer cannot pay");
      if (room_at_most(bid.account) < t.quantity_wh) violation(name + ": the buyer would go above Bmax");
    }
    // Price-time priority on both sides, among orders that could certainly execute against the
    // other side of this trade (a different account: self-trade prevention handles the same one).
    for (const auto& [id, x] : orders_) {
      if (id == bid.id || id == ask.id || vanished.count(id)) continue;
      if (x.order_side == side::buy ? !pair_certainly_executable(x, ask) : !pair_certainly_executable(bid, x)) continue;
      if (x.order_side == side::buy && before(x, bid) && x.account != ask.account)
        violation(name + ": bid " + std::to_string(id) + " at " + std::to_string(x.price) + " had priority over bid " +
                  std::to_string(bid.id) + " at " + std::to_string(bid.price));
      if (x.order_side == side::sell && before(x, ask) && x.account != bid.account)
        violation(name + ": ask " + std::to_string(id) + " at " + std::to_string(x.price) + " had priority over ask " +
                  std::to_string(ask.id) + " at " + std::to_string(ask.price));
    }
    bid.remaining -= t.quantity_wh;
    ask.remaining -= t.quantity_wh;
    if (funded_) {
      auto& s = balances_[ask.account];
      auto& b = balances_[bid.account];
      s.watt_wh -= t.quantity_wh;
      s.tsl_units += t.notional_units;
      b.watt_wh += t.quantity_wh;
      b.tsl_units -= t.notional_units;
    }
  }

  void check_no_executable_cross() {
    std::vector<const model_order*> bids, asks;
    for (const auto& [id, x] : orders_)
      if (certainly_executable(x)) (x.order_side == side::buy ? bids : asks).push_back(&x);
    std::sort(bids.begin(), bids.end(), [](auto* a, auto* b) { return a->price > b->price; });
    std::sort(asks.begin(), asks.end(), [](auto* a, auto* b) { return a->price < b->price; });
    for (const auto* x : bids)
      for (const auto* y : asks) {
        if (y->price > x->price) break;
        if (y->account == x->account || !pair_certainly_executable(*x, *y)) continue;
        return violation("after the call bid " + std::to_string(x->id) + " at " + std::to_string(x->price) + " and ask " +
                         std::to_string(y->id) + " at " + std::to_string(y->price) + " cross and could both execute");
      }
  }

  static constexpr std::size_t violations_max = 100;

  std::size_t accounts_;
  std::map<order_id, model_order> orders_;
  std::vector<balances> balances_;      // room_wh as before the call; watt and TSL tracked
  std::vector<int64_t> watt_before_;
  bool funded_ = false;
  std::optional<order_id> incoming_;
  std::vector<trade> trades_;
  std::vector<std::string> violations_;
  std::size_t call_ = 0;
  std::size_t trades_checked_ = 0;
};

// One recorded call of a book, replayable into a checker (and transformable into what a broken
// book would have produced).
struct recorded_call {
  enum class kind : uint8_t { place, replace, cancel, match };
  kind what = kind::match;
  bool funded = false;                                // balances below are meaningful
  std::vector<trade_checker::balances> balances;      // before the call
  order_request request;                              // place
  replace_request replace;                            // replace (replace.id = the old id)
  order_id id = 0;                                    // place/replace: the resulting id; cancel: the id
  std::vector<trade> trades;
  bool matching_incomplete = false;
  std::set<order_id> resting_after;                   // ids in the book after the call
};

inline trade_checker check_history(const std::vector<recorded_call>& history, std::size_t accounts) {
  trade_checker checker(accounts);
  for (const auto& c : history) {
    checker.begin_call(c.balances, c.funded);
    switch (c.what) {
      case recorded_call::kind::place: checker.placed(c.id, c.request); break;
      case recorded_call::kind::replace:
        checker.replaced(c.replace.id, c.id, c.replace.price_units_per_wh, c.replace.quantity_wh);
        break;
      case recorded_call::kind::cancel: checker.cancelled(c.id); break;
      case recorded_call::kind::match: break;
    }
    checker.traded(c.trades);
    checker.end_call([&](order_id id) { return c.resting_after.count(id) > 0; }, c.matching_incomplete);
  }
  return checker;
}

}  // namespace energo::market::test
