#pragma once
// Vocabulary of the order book (SPEC §4): sides, order kinds, requests, trades, bounds, errors and
// market-data records. Everything is an integer: quantities in Wh, prices in TSL base units per
// Wh, notionals (price × quantity) checked through a 128-bit intermediate.
#include <cstdint>
#include <string_view>

#include "common/result.hpp"

namespace energo::market {

// Dense account index assigned by the ledger (same numbering as ledger::account_index).
using account_ref = uint32_t;
// Assigned by the book, sequentially from 1; 0 is never a valid order id.
using order_id = uint64_t;
using trade_id = uint64_t;
// 128-bit intermediates for notionals (SPEC §2); __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

enum class side : uint8_t { buy = 0, sell = 1 };
[[nodiscard]] constexpr side opposite(side s) noexcept { return s == side::buy ? side::sell : side::buy; }

enum class order_kind : uint8_t {
  limit = 0,                // good-till-cancel: the remainder rests
  immediate_or_cancel = 1,  // the remainder is cancelled at the end of the call
  market = 2,               // price field is the cap (buy) / floor (sell); remainder cancelled
};

// Stable error codes (values never reused). Every error leaves the book unchanged.
enum class errc : uint16_t {
  price_out_of_range = 1,      // price outside [price_min, price_max]
  quantity_out_of_range = 2,   // quantity outside [1, quantity_wh_max]
  notional_overflow = 3,       // price × quantity does not fit int64
  account_orders_full = 4,     // the account already has orders_per_account_max resting orders
  book_full = 5,               // the book already holds book_orders_max resting orders
  unknown_order = 6,           // no resting order with this id
  not_owner = 7,               // the order belongs to another account
  account_out_of_range = 8,    // account_ref >= accounts_max
  epoch_backwards = 9,         // the epoch passed is older than one already seen
  invalid_request = 10,        // side/kind outside the enum
  malformed_snapshot = 11,     // deserialize(): bytes do not decode or violate an invariant
  invalid_params = 12,         // market_params inconsistent
  counter_overflow = 13,       // an order id or a counter of the book would overflow (nothing changed)
};

[[nodiscard]] std::string_view errc_name(errc code) noexcept;
[[nodiscard]] std::string_view errc_message(errc code) noexcept;

template <class T>
using result = energo::result<T, errc>;

// Named bounds (SPEC §4; STYLE "a limit on everything"). Part of the book's state and digest.
struct market_params {
  uint32_t orders_per_account_max = 64;        // resting orders of one account
  uint32_t book_orders_max = 1'000'000;        // resting orders in the whole book
  int64_t quantity_wh_max = 1'000'000'000;     // 1 GWh per order (validate: ≤ quantity_wh_max_limit)
  int64_t price_min = 1;                       // TSL base units per Wh
  int64_t price_max = 1'000'000'000'000;       // 10^4 TSL per Wh
  uint32_t accounts_max = 20'000'000;          // account_ref must be below this (ledger::limits)
  uint32_t match_trades_per_call_max = 10'000; // trades executed by one call; the rest continues next call
  uint32_t match_steps_per_call_max = 40'000;  // matching-loop iterations (trades, parks, STP cancels, unparks)
  uint32_t trade_ring_max = 1024;              // last N trades kept for market data
  uint32_t epoch_stats_max = 672;              // last N epochs with activity (one week of 15-minute epochs)
  uint32_t account_history_max = 32;           // last N history entries per account
  uint32_t depth_levels_max = 1000;            // price levels returned by one depth() query
  bool operator==(const market_params&) const = default;
};

[[nodiscard]] energo::result<void, errc> validate(const market_params& params);

// Bounds fixed in code that a snapshot cannot move (deserialize). Ids far beyond any real use
// (2^62 orders at a million a second last 146,000 years) leave room so the next id never wraps
// to the reserved 0.
inline constexpr order_id order_id_max = order_id{1} << 62;
// quantity_wh_max may not exceed this: a level's or a parked aggregate's open Wh is the sum of at
// most book_orders_max (< 2^30) quantities, so 2^30 × 2^32 = 2^62 bounds every aggregate (no
// overflow check is needed on them).
inline constexpr int64_t quantity_wh_max_limit = int64_t{1} << 32;
inline constexpr trade_id trade_id_max = trade_id{1} << 62;
// deserialize(bytes) without an account count (tests, tools on their own files): account
// references must stay below this, so the per-account table it allocates stays small.
inline constexpr account_ref standalone_snapshot_accounts_max = 1u << 16;

struct order_request {
  account_ref account = 0;
  side order_side = side::buy;
  order_kind kind = order_kind::limit;
  int64_t price_units_per_wh = 0;  // limit; for market orders the cap (buy) or floor (sell)
  int64_t quantity_wh = 0;
};

struct replace_request {
  order_id id = 0;
  account_ref account = 0;          // must own the order
  int64_t price_units_per_wh = 0;   // new limit price
  int64_t quantity_wh = 0;          // new OPEN (remaining) quantity; filled quantity is not undone
};

struct trade {
  trade_id id = 0;
  uint64_t epoch = 0;
  order_id buy_order = 0;
  order_id sell_order = 0;
  account_ref buyer = 0;
  account_ref seller = 0;
  int64_t price_units_per_wh = 0;  // the price of the older order (smaller order id)
  int64_t quantity_wh = 0;
  int64_t notional_units = 0;      // price × quantity, exact
  bool operator==(const trade&) const = default;
};

enum class order_status : uint8_t {
  resting = 0,    // open in the book (possibly unfunded)
  filled = 1,     // fully executed
  cancelled = 2,  // IOC/market remainder cancelled (or nothing executable)
};

// Per-account history (market data, bounded ring per account).
enum class history_kind : uint8_t {
  placed = 1,
  replaced = 2,
  cancelled = 3,              // by the owner
  self_trade_cancelled = 4,   // by self-trade prevention (the older of two own crossing orders)
  remainder_cancelled = 5,    // IOC / market remainder
  traded = 6,
};

struct history_entry {
  uint64_t epoch = 0;
  order_id order = 0;
  trade_id trade = 0;  // 0 unless kind == traded
  order_id previous_order = 0;  // kind == replaced with loss of priority: the id this order had before
  int64_t price_units_per_wh = 0;
  int64_t quantity_wh = 0;  // placed/replaced: open quantity; traded: executed; cancelled: cancelled
  history_kind kind = history_kind::placed;
  side order_side = side::buy;
  bool operator==(const history_entry&) const = default;
};

// Market data per epoch with activity. Book prices are as of the last call in that epoch;
// 0 means "no order on that side" (prices are >= price_min >= 1).
struct epoch_stats {
  uint64_t epoch = 0;
  int64_t buy_price_units_per_wh = 0;   // lowest ask (SPEC §4 "buy price"), funded or not
  int64_t sell_price_units_per_wh = 0;  // highest bid (SPEC §4 "sell price"), funded or not
  uint64_t trade_count = 0;
  int64_t volume_wh = 0;
  int128 notional_units = 0;
  int64_t first_price_units_per_wh = 0;
  int64_t last_price_units_per_wh = 0;
  int64_t high_price_units_per_wh = 0;
  int64_t low_price_units_per_wh = 0;
  bool operator==(const epoch_stats&) const = default;
};

struct depth_level {
  int64_t price_units_per_wh = 0;
  int64_t total_wh = 0;   // every resting order at this price, funded or not
  int64_t funded_wh = 0;  // executable now under the balances passed to depth()
  uint32_t order_count = 0;
  bool operator==(const depth_level&) const = default;
};

struct order_info {
  order_id id = 0;
  account_ref account = 0;
  side order_side = side::buy;
  int64_t price_units_per_wh = 0;
  int64_t remaining_wh = 0;
  int64_t filled_wh = 0;
  bool parked = false;     // found unfunded and set aside until its owner's balance rises
  bool operator==(const order_info&) const = default;
};

}  // namespace energo::market
