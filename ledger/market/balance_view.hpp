#pragma once
// The narrow interface through which the order book reads and moves balances. The ledger
// implements it over its account table; tests and the benchmark use an array-backed table.
//
// Contract (SPEC §4 "funded at match time", no escrow):
// - The book reads balances only at match time; it keeps no copy of them.
// - settle() is called once per trade, only for trades the book has checked to be executable:
//     seller.watt >= quantity, buyer.tsl >= notional (at the trade price), buyer room >= quantity
//     (room as bid_room_wh() reports it for the buy order).
//   It must move quantity_wh WATT seller → buyer and notional_units TSL buyer → seller, must not
//   fail, and must not call back into the book. The book itself re-examines both parties' orders
//   after a trade.
// - Whenever an account's balance changes for any OTHER reason (meter reading, transfer, fee,
//   grant, burn), the ledger calls order_book::on_balance_changed(account) and, before the
//   state root of that log entry is taken, order_book::match_pending(view, epoch).
#include <cstdint>

#include "ledger/market/types.hpp"

namespace energo::market {

class balance_view {
 public:
  virtual ~balance_view() = default;
  [[nodiscard]] virtual int64_t watt_wh(account_ref account) const = 0;       // >= 0
  [[nodiscard]] virtual int64_t tsl_units(account_ref account) const = 0;     // >= 0
  [[nodiscard]] virtual int64_t watt_room_wh(account_ref account) const = 0;  // Bmax − WATT balance, >= 0
  // Room for one buy order: the account's room unless the buyer does not keep what this order buys
  // (an EV purchase is consumed at once, so Bmax does not bind it: ledger/market_state.cpp).
  [[nodiscard]] virtual int64_t bid_room_wh(account_ref account, order_id /*order*/) const { return watt_room_wh(account); }
  // Whether every counter settle(t) would raise outside the book (the ledger's lifetime totals) can
  // take this trade. Asked before the trade changes anything; false: the trade is not executed and
  // matching stops before it, as at the per-call work bound (overflow discipline, SPEC §2).
  [[nodiscard]] virtual bool counters_fit(const trade& /*t*/) const { return true; }
  virtual void settle(const trade& t) = 0;

 protected:
  balance_view() = default;
  balance_view(const balance_view&) = default;
  balance_view& operator=(const balance_view&) = default;
};

}  // namespace energo::market
