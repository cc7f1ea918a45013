#include "ledger/market/order_book.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "common/assert.hpp"
#include "common/checked.hpp"

namespace energo::market {

namespace {
constexpr uint32_t side_index(side s) noexcept { return static_cast<uint32_t>(s); }

// Upper bound for market-data rings: a misconfiguration must not turn into unbounded memory.
constexpr uint32_t ring_capacity_limit = 1u << 20;
}  // namespace

std::string_view errc_name(errc code) noexcept {
  switch (code) {
    case errc::price_out_of_range: return "price_out_of_range";
    case errc::quantity_out_of_range: return "quantity_out_of_range";
    case errc::notional_overflow: return "notional_overflow";
    case errc::account_orders_full: return "account_orders_full";
    case errc::book_full: return "book_full";
    case errc::unknown_order: return "unknown_order";
    case errc::not_owner: return "not_owner";
    case errc::account_out_of_range: return "account_out_of_range";
    case errc::epoch_backwards: return "epoch_backwards";
    case errc::invalid_request: return "invalid_request";
    case errc::malformed_snapshot: return "malformed_snapshot";
    case errc::invalid_params: return "invalid_params";
    case errc::counter_overflow: return "counter_overflow";
  }
  return "unknown";
}

std::string_view errc_message(errc code) noexcept {
  switch (code) {
    case errc::price_out_of_range: return "price is outside the market's [price_min, price_max]";
    case errc::quantity_out_of_range: return "quantity must be between 1 Wh and quantity_wh_max";
    case errc::notional_overflow: return "price x quantity does not fit a 64-bit TSL amount";
    case errc::account_orders_full: return "the account already has orders_per_account_max resting orders; cancel one first";
    case errc::book_full: return "the order book is full (book_orders_max resting orders); try again later";
    case errc::unknown_order: return "no resting order with this id (filled, cancelled or never placed)";
    case errc::not_owner: return "the order belongs to another account";
    case errc::account_out_of_range: return "account reference is beyond accounts_max";
    case errc::epoch_backwards: return "the epoch is older than one the market has already seen";
    case errc::invalid_request: return "side or order kind is not a known value";
    case errc::malformed_snapshot: return "market snapshot bytes do not decode or violate a book invariant";
    case errc::invalid_params: return "market parameters are inconsistent (see market_params)";
    case errc::counter_overflow: return "an order id or a lifetime counter of the market would overflow; nothing changed";
  }
  return "unknown market error";
}

energo::result<void, errc> validate(const market_params& p) {
  const bool valid = p.orders_per_account_max >= 1 && p.book_orders_max >= 1 &&
                     p.book_orders_max < (1u << 30) && p.quantity_wh_max >= 1 &&
                     p.quantity_wh_max <= quantity_wh_max_limit && p.price_min >= 1 &&
                     p.price_max >= p.price_min && p.accounts_max >= 1 && p.accounts_max < UINT32_MAX &&
                     p.match_trades_per_call_max >= 1 && p.match_steps_per_call_max >= 1 &&
                     p.trade_ring_max <= ring_capacity_limit && p.epoch_stats_max >= 1 &&
                     p.epoch_stats_max <= ring_capacity_limit && p.account_history_max <= 4096 &&
                     p.depth_levels_max >= 1;
  if (!valid) return unexpected{errc::invalid_params};
  return ok;
}

order_book::order_book(const market_params& params)
    : params_(params), trades_(params.trade_ring_max), epoch_stats_(params.epoch_stats_max) {
  ENERGO_ASSERT(validate(params).has_value(), "order_book constructed with invalid market_params");
  call_trades_.reserve(64);
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {
bool valid_side(side s) { return static_cast<uint8_t>(s) <= 1; }
bool valid_kind(order_kind k) { return static_cast<uint8_t>(k) <= 2; }
}  // namespace

result<order_book::placement> order_book::place(const order_request& request, balance_view& view,
                                                uint64_t epoch) {
  if (epoch < epoch_) return unexpected{errc::epoch_backwards};
  if (!valid_side(request.order_side) || !valid_kind(request.kind)) return unexpected{errc::invalid_request};
  if (request.account >= params_.accounts_max) return unexpected{errc::account_out_of_range};
  if (request.price_units_per_wh < params_.price_min || request.price_units_per_wh > params_.price_max)
    return unexpected{errc::price_out_of_range};
  if (request.quantity_wh < 1 || request.quantity_wh > params_.quantity_wh_max)
    return unexpected{errc::quantity_out_of_range};
  const int128 notional = static_cast<int128>(request.price_units_per_wh) * request.quantity_wh;
  if (notional > INT64_MAX) return unexpected{errc::notional_overflow};
  const bool rests = request.kind == order_kind::limit;
  // IOC and market orders never outlive the call, so only resting orders count against the bounds.
  if (rests) {
    if (request.account < accounts_.size() &&
        accounts_[request.account].order_count >= params_.orders_per_account_max)
      return unexpected{errc::account_orders_full};
    if (resting_count_ >= params_.book_orders_max) return unexpected{errc::book_full};
  }
  // Overflow discipline (one for every counter): the id this order takes is checked before anything
  // changes. Trades are checked one by one before each executes (execute()).
  if (next_order_id_ >= order_id_max) return unexpected{errc::counter_overflow};

  prefetch_account(request.account);
  enter_epoch(epoch);
  const uint32_t o = new_order(request);
  const order_id id = orders_[o].id;
  record(request.account, history_entry{epoch_, id, 0, 0, request.price_units_per_wh, request.quantity_wh,
                                        history_kind::placed, request.order_side});
  insert_active(o, true);
  run_matching(view);
  placement p = fate_of(id, request.quantity_wh, 0, rests);
  end_call();
  return p;
}

result<int64_t> order_book::cancel(order_id id, account_ref account, uint64_t epoch) {
  if (epoch < epoch_) return unexpected{errc::epoch_backwards};
  const uint32_t o = ids_.find(id);
  if (o == npos) return unexpected{errc::unknown_order};
  if (orders_[o].owner != account) return unexpected{errc::not_owner};
  prefetch_neighbours(o);
  prefetch_account(account);
  enter_epoch(epoch);
  const order_slot& s = orders_[o];
  const int64_t open_wh = s.remaining_wh;
  record(account, history_entry{epoch_, id, 0, 0, s.price, open_wh, history_kind::cancelled, s.order_side});
  remove_order(o);
  end_call();
  return open_wh;
}

result<order_book::placement> order_book::replace(const replace_request& request, balance_view& view,
                                                  uint64_t epoch) {
  if (epoch < epoch_) return unexpected{errc::epoch_backwards};
  const uint32_t o = ids_.find(request.id);
  if (o == npos) return unexpected{errc::unknown_order};
  if (orders_[o].owner != request.account) return unexpected{errc::not_owner};
  if (request.price_units_per_wh < params_.price_min || request.price_units_per_wh > params_.price_max)
    return unexpected{errc::price_out_of_range};
  if (request.quantity_wh < 1 || request.quantity_wh > params_.quantity_wh_max)
    return unexpected{errc::quantity_out_of_range};
  const int128 notional = static_cast<int128>(request.price_units_per_wh) * request.quantity_wh;
  if (notional > INT64_MAX) return unexpected{errc::notional_overflow};
  if (next_order_id_ >= order_id_max) return unexpected{errc::counter_overflow};  // a renumber takes an id

  enter_epoch(epoch);
  order_slot& s = orders_[o];
  const side sd = s.order_side;
  const bool keeps_priority = request.price_units_per_wh == s.price && request.quantity_wh <= s.remaining_wh;
  if (keeps_priority) {
    const int64_t delta = s.remaining_wh - request.quantity_wh;
    if (s.parked) {
      parked_sub(sd, s.price, delta, 0);
    } else {
      levels_[s.level].open_wh -= delta;
    }
    s.remaining_wh = request.quantity_wh;
  } else {
    if (s.parked) {
      if (sd == side::buy) wake_index_erase(s);
      parked_sub(sd, s.price, s.remaining_wh, 1);
      s.parked = false;
      accounts_[s.owner].parked[side_index(sd)] -= 1;
      parked_count_ -= 1;
    } else {
      unlink_active(o);
    }
    s.price = request.price_units_per_wh;
    s.remaining_wh = request.quantity_wh;
    renumber(o);
    insert_active(o, true);
  }
  touch(o);
  const order_id id = orders_[o].id;
  record(request.account, history_entry{epoch_, id, 0, keeps_priority ? 0 : request.id, request.price_units_per_wh,
                                        request.quantity_wh, history_kind::replaced, sd});
  const int64_t filled_before = orders_[o].filled_wh;
  run_matching(view);
  placement p = fate_of(id, request.quantity_wh, filled_before, true);
  end_call();
  return p;
}

void order_book::on_balance_changed(account_ref account) {
  if (account >= accounts_.size()) return;  // no orders, nothing to re-examine
  account_state& a = accounts_[account];
  if (a.dirty || (a.parked[0] == 0 && a.parked[1] == 0)) return;
  a.dirty = true;
  dirty_.push_back(account);
}

result<order_book::match_report> order_book::match_pending(balance_view& view, uint64_t epoch) {
  if (epoch < epoch_) return unexpected{errc::epoch_backwards};
  enter_epoch(epoch);
  run_matching(view);
  match_report r{call_trades_, matching_pending()};
  end_call();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Call frame

void order_book::enter_epoch(uint64_t epoch) {
  ENERGO_ASSERT(epoch >= epoch_, "epoch checked by the caller");
  call_trades_.clear();
  epoch_ = epoch;
  if (epoch_stats_.empty() || epoch_stats_.newest().epoch != epoch) {
    epoch_stats e;
    e.epoch = epoch;
    e.buy_price_units_per_wh = buy_price();
    e.sell_price_units_per_wh = sell_price();
    epoch_stats_.push(e);
  }
}

void order_book::end_call() {
  epoch_stats& e = epoch_stats_.newest();
  e.buy_price_units_per_wh = buy_price();
  e.sell_price_units_per_wh = sell_price();
#if ENERGO_INVARIANTS_ENABLED
  const std::string broken = check_invariants();
  ENERGO_ASSERT(broken.empty(), broken.c_str());
#endif
}

// open_wh: the order's open quantity when matching started; filled_before_wh: its filled quantity then.
order_book::placement order_book::fate_of(order_id id, int64_t open_wh, int64_t filled_before_wh, bool rests) {
  placement p;
  p.id = id;
  const uint32_t o = ids_.find(id);
  if (o == npos) {
    p.status = order_status::filled;
    p.filled_wh = open_wh;
  } else if (!rests) {
    const order_slot& s = orders_[o];
    p.status = order_status::cancelled;
    p.filled_wh = s.filled_wh - filled_before_wh;
    record(s.owner, history_entry{epoch_, id, 0, 0, s.price, s.remaining_wh, history_kind::remainder_cancelled,
                                  s.order_side});
    remove_order(o);
  } else {
    const order_slot& s = orders_[o];
    p.status = order_status::resting;
    p.filled_wh = s.filled_wh - filled_before_wh;
    p.remaining_wh = s.remaining_wh;
  }
  p.trades = call_trades_;
  p.matching_incomplete = matching_pending();
  return p;
}

// ---------------------------------------------------------------------------------------------
// Matching

int64_t order_book::bid_capacity_wh(const order_slot& o, int64_t price, const balance_view& view) {
  // SPEC §4: executable for as much as the owner can pay at the price it would trade at and hold
  // below Bmax. `price` is that trade price (the older order's), never above the bid's limit.
  const int64_t tsl = view.tsl_units(o.owner);
  if (tsl < price) return 0;
  const int64_t room = view.bid_room_wh(o.owner, o.id);
  if (room <= 0) return 0;
  return std::min(tsl / price, room);
}

uint32_t order_book::older_affordable_ask(uint32_t b, int64_t tsl_units) const {
  const order_slot& bid = orders_[b];
  const std::vector<level_ref>& asks = active_[side_index(side::sell)];
  // Best (cheapest) level first; a level's FIFO is in id order, so its head is its oldest order.
  for (std::size_t i = asks.size(); i-- > 0;) {
    const int64_t price = -asks[i].key;
    if (price > tsl_units || price > bid.price) break;
    const uint32_t head = levels_[asks[i].level].head;
    if (orders_[head].id < bid.id) return head;
  }
  return npos;
}

void order_book::run_matching(balance_view& view) {
  uint32_t steps = 0;
  uint32_t trades = 0;
  const uint32_t steps_max = params_.match_steps_per_call_max;
  const uint32_t trades_max = params_.match_trades_per_call_max;

  // 1. Accounts whose balances changed outside a trade: bring their now-funded orders back.
  std::size_t done = 0;
  for (; done < dirty_.size() && steps < steps_max; ++done, ++steps) {
    const account_ref a = dirty_[done];
    accounts_[a].dirty = false;
    unpark_side(a, side::buy, view);
    unpark_side(a, side::sell, view);
  }
  dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(done));
  if (!dirty_.empty()) return;

  // 2. Resolve crossings of the active book in price-time order. Each step parks an unfunded order,
  // cancels a self-trade, or trades; trades re-examine both parties' parked orders (fixpoint).
  std::vector<level_ref>& bids = active_[side_index(side::buy)];
  std::vector<level_ref>& asks = active_[side_index(side::sell)];
  while (steps < steps_max && trades < trades_max) {
    if (bids.empty() || asks.empty()) return;
    const level_ref best_bid = bids.back();
    const level_ref best_ask = asks.back();
    if (best_bid.key < -best_ask.key) return;  // bid price < ask price: not crossed
    ++steps;
    const uint32_t b = levels_[best_bid.level].head;
    uint32_t a = levels_[best_ask.level].head;
    const bool ask_unfunded = view.watt_wh(orders_[a].owner) <= 0;
    const int64_t tsl = view.tsl_units(orders_[b].owner);
    // The best ask is the cheapest active one, and a pair never trades below the ask's price: a
    // buyer who cannot pay that (or has no room) cannot buy from any active ask.
    const bool bid_unfunded = tsl < orders_[a].price || view.bid_room_wh(orders_[b].owner, orders_[b].id) <= 0;
    if (ask_unfunded || bid_unfunded) {
      if (ask_unfunded) park(a);
      if (bid_unfunded) park_bid(b);
      continue;
    }
    if (tsl < trade_price(orders_[b], orders_[a])) {
      // The best ask is younger, so this pair trades at the bid's own limit, which the buyer cannot
      // pay; an older ask priced within the buyer's TSL may still be executable (SPEC §4).
      a = older_affordable_ask(b, tsl);
      if (a == npos) {
        park_bid(b);
        continue;
      }
      if (view.watt_wh(orders_[a].owner) <= 0) {
        park(a);
        continue;
      }
    }
    if (orders_[a].owner == orders_[b].owner) {
      // Self-trade prevention: cancel the older order; the newer one expresses current intent.
      const uint32_t older = orders_[a].id < orders_[b].id ? a : b;
      const order_slot& s = orders_[older];
      record(s.owner, history_entry{epoch_, s.id, 0, 0, s.price, s.remaining_wh, history_kind::self_trade_cancelled,
                                    s.order_side});
      remove_order(older);
      continue;
    }
    const int64_t bid_cap = bid_capacity_wh(orders_[b], trade_price(orders_[b], orders_[a]), view);
    const int64_t ask_cap = view.watt_wh(orders_[a].owner);
    ENERGO_ASSERT(bid_cap > 0 && ask_cap > 0, "pair checked executable");
    const int64_t q = std::min(std::min(orders_[a].remaining_wh, orders_[b].remaining_wh), std::min(ask_cap, bid_cap));
    // A trade whose counters cannot take it is not executed: matching stops before it, as at the
    // per-call work bound, and the crossing stays pending (matching_pending()).
    if (!execute(b, a, q, view)) return;
    ++trades;
  }
}

bool order_book::execute(uint32_t b, uint32_t a, int64_t q, balance_view& view) {
  order_slot& bid = orders_[b];
  order_slot& ask = orders_[a];
  const int64_t price = bid.id < ask.id ? bid.price : ask.price;  // SPEC §4: the older order's price
  const int128 notional = static_cast<int128>(price) * q;
  // price <= the bid's limit and q <= both open quantities, whose notionals were checked at entry.
  ENERGO_ASSERT(notional <= INT64_MAX, "trade notional checked at order entry");
  trade t;
  t.id = next_trade_id_;  // taken below, once the trade is known to fit
  t.epoch = epoch_;
  t.buy_order = bid.id;
  t.sell_order = ask.id;
  t.buyer = bid.owner;
  t.seller = ask.owner;
  t.price_units_per_wh = price;
  t.quantity_wh = q;
  t.notional_units = static_cast<int64_t>(notional);
  // Overflow discipline: every counter this trade raises, the book's and (through the view) the
  // ledger's, is checked at the trade's amounts before anything changes. The unit of change inside
  // matching is one trade: a command's or tick's worst case (agent rounds × calls × trades per call)
  // is far beyond int64 for legal configurations, so checking at that bound would halt the ledger.
  if (!trade_fits(t, bid, ask, view)) return false;
  ++next_trade_id_;
  view.settle(t);

  bid.remaining_wh -= q;
  bid.filled_wh += q;
  levels_[bid.level].open_wh -= q;
  ask.remaining_wh -= q;
  ask.filled_wh += q;
  levels_[ask.level].open_wh -= q;

  call_trades_.push_back(t);
  trades_.push(t);
  record_epoch_trade(t);
  record(t.buyer, history_entry{epoch_, t.buy_order, t.id, 0, price, q, history_kind::traded, side::buy});
  record(t.seller, history_entry{epoch_, t.sell_order, t.id, 0, price, q, history_kind::traded, side::sell});

  touch(b);
  touch(a);
  // Only the pool's last slot moves on a removal: remove the larger slot first so the other stays put.
  const bool bid_done = orders_[b].remaining_wh == 0;
  const bool ask_done = orders_[a].remaining_wh == 0;
  const uint32_t first = std::max(a, b), second = std::min(a, b);
  if (first == b ? bid_done : ask_done) remove_order(first);
  if (second == b ? bid_done : ask_done) remove_order(second);
  // The seller gained TSL and Bmax room (its bids may be funded now); the buyer gained WATT (its
  // asks may be funded now). Their other orders that lost funding are parked lazily when reached.
  unpark_side(t.seller, side::buy, view);
  unpark_side(t.buyer, side::sell, view);
  return true;
}

bool order_book::trade_fits(const trade& t, const order_slot& bid, const order_slot& ask, const balance_view& view) const {
  // The trade id (next_trade_id_ becomes t.id + 1), both orders' filled quantities (they grow across
  // replaces, which keep the filled part), the epoch's trade count and volume. The epoch's notional is
  // 128-bit: at most trade_id_max (2^62) trades of at most INT64_MAX each, < 2^125.
  const epoch_stats& e = epoch_stats_.newest();
  return t.id < trade_id_max && checked_add(bid.filled_wh, t.quantity_wh) && checked_add(ask.filled_wh, t.quantity_wh) &&
         e.trade_count < UINT64_MAX && checked_add(e.volume_wh, t.quantity_wh) && view.counters_fit(t);
}

void order_book::unpark_side(account_ref account, side s, const balance_view& view) {
  if (account >= accounts_.size()) return;
  const uint32_t parked_here = accounts_[account].parked[side_index(s)];
  if (parked_here == 0) return;
  int64_t tsl = 0;
  // A bid trades at its own limit or at an older ask's price, never below the lowest ask in the
  // book (active or parked; new asks are younger and trade at the bid's limit): a parked bid whose
  // owner cannot pay that much stays parked, the others return and matching re-examines them.
  int64_t lowest_ask = 0;
  if (s == side::sell) {
    if (view.watt_wh(account) <= 0) return;
  } else {
    tsl = view.tsl_units(account);
    if (tsl <= 0 || view.watt_room_wh(account) <= 0) return;
    lowest_ask = buy_price();
  }
  uint32_t seen = 0;
  for (uint32_t o = accounts_[account].head; o != npos && seen < parked_here;) {
    const uint32_t next = orders_[o].account_next;
    const order_slot& os = orders_[o];
    if (os.parked && os.order_side == s) {
      ++seen;
      if (s == side::sell) {
        unpark(o);
        wake_bids_for(o, view);
      } else if (tsl >= os.price || (lowest_ask != 0 && tsl >= lowest_ask)) {
        unpark(o);
      } else {
        wake_index_insert(os);  // the owner has TSL and room again: an older ask may wake it
      }
    }
    o = next;
  }
}

void order_book::park_bid(uint32_t b) {
  park(b);
  wake_index_insert(orders_[b]);
}

void order_book::wake_bids_for(uint32_t x, const balance_view& view) {
  ensure_wake_index();
  const order_slot& ask = orders_[x];
  const int64_t price = ask.price;
  const order_id ask_id = ask.id;
  std::vector<uint32_t> woken;
  for (auto it = wake_index_.lower_bound({price, 0}); it != wake_index_.end();) {
    const uint32_t o = ids_.find(it->second);
    ENERGO_ASSERT(o != npos && orders_[o].parked && orders_[o].order_side == side::buy, "wake index holds parked bids");
    const order_slot& bid = orders_[o];
    const int64_t tsl = view.tsl_units(bid.owner);
    if (tsl <= 0 || view.watt_room_wh(bid.owner) <= 0) {
      // Only a rise of the owner's balance can fund it; that re-examines it (unpark_side).
      it = wake_index_.erase(it);
      continue;
    }
    if (bid.id > ask_id && tsl >= price) woken.push_back(o);
    ++it;
  }
  for (uint32_t o : woken) unpark(o);
}

void order_book::ensure_wake_index() {
  if (wake_index_built_) return;
  wake_index_built_ = true;
  wake_index_.clear();
  for (const order_slot& s : orders_)
    if (s.id != 0 && s.parked && s.order_side == side::buy) wake_index_.emplace(s.price, s.id);
}

void order_book::wake_index_insert(const order_slot& s) {
  ensure_wake_index();
  wake_index_.emplace(s.price, s.id);
}

void order_book::wake_index_erase(const order_slot& s) {
  if (!wake_index_built_) return;  // rebuilt from the orders when first needed
  wake_index_.erase({s.price, s.id});
}

// ---------------------------------------------------------------------------------------------
// Book structure

order_book::account_state& order_book::account(account_ref a) {
  ENERGO_ASSERT(a < params_.accounts_max, "account checked by the caller");
  if (a >= accounts_.size()) accounts_.resize(static_cast<std::size_t>(a) + 1);
  return accounts_[a];
}

uint32_t order_book::new_order(const order_request& r) {
  // The pool is dense: a new order takes the slot after the last (remove_order fills holes).
  const auto o = static_cast<uint32_t>(orders_.size());
  orders_.emplace_back();
  slot_changed_.push_back(0);
  touch(o);
  order_slot& s = orders_[o];
  s.id = next_order_id_++;
  s.price = r.price_units_per_wh;
  s.remaining_wh = r.quantity_wh;
  s.owner = r.account;
  s.order_side = r.order_side;
  s.kind = r.kind;
  ids_.insert(s.id, o);
  account_state& a = account(r.account);
  s.account_prev = a.tail;
  if (a.tail != npos) orders_[a.tail].account_next = o;
  else a.head = o;
  a.tail = o;
  a.order_count += 1;
  resting_count_ += 1;
  return o;
}

void order_book::prefetch_neighbours(uint32_t o) const noexcept {
  const order_slot& s = orders_[o];
  if (s.prev != npos) __builtin_prefetch(&orders_[s.prev], 1);
  if (s.next != npos) __builtin_prefetch(&orders_[s.next], 1);
  if (s.account_prev != npos) __builtin_prefetch(&orders_[s.account_prev], 1);
  if (s.account_next != npos) __builtin_prefetch(&orders_[s.account_next], 1);
}

void order_book::prefetch_account(account_ref a) const noexcept {
  if (a >= accounts_.size()) return;
  const account_state& s = accounts_[a];
  if (s.tail != npos) __builtin_prefetch(&orders_[s.tail], 1);
  if (s.history != npos)
    __builtin_prefetch(&history_entries_[static_cast<std::size_t>(s.history) * params_.account_history_max + s.history_next], 1);
}

// Loss of priority: the (detached) order takes the next id, the newest, and moves to the end of its
// account's list, which therefore stays in id order.
void order_book::renumber(uint32_t o) {
  order_slot& s = orders_[o];
  const bool erased = ids_.erase(s.id);
  ENERGO_ASSERT(erased, "order id indexed");
  s.id = next_order_id_++;
  ids_.insert(s.id, o);
  account_state& a = accounts_[s.owner];
  if (a.tail == o) return;
  if (s.account_prev != npos) orders_[s.account_prev].account_next = s.account_next;
  else a.head = s.account_next;
  orders_[s.account_next].account_prev = s.account_prev;
  s.account_prev = a.tail;
  s.account_next = npos;
  orders_[a.tail].account_next = o;
  a.tail = o;
}

void order_book::remove_order(uint32_t o) {
  order_slot& s = orders_[o];
  if (s.parked) {
    if (s.order_side == side::buy) wake_index_erase(s);
    parked_sub(s.order_side, s.price, s.remaining_wh, 1);
    accounts_[s.owner].parked[side_index(s.order_side)] -= 1;
    parked_count_ -= 1;
    s.parked = false;
  } else {
    unlink_active(o);
  }
  account_state& a = accounts_[s.owner];
  if (s.account_prev != npos) orders_[s.account_prev].account_next = s.account_next;
  else a.head = s.account_next;
  if (s.account_next != npos) orders_[s.account_next].account_prev = s.account_prev;
  else a.tail = s.account_prev;
  a.order_count -= 1;
  resting_count_ -= 1;
  const bool erased = ids_.erase(s.id);
  ENERGO_ASSERT(erased, "order id indexed");
  // Keep the pool dense: the last slot's order moves into the hole, so the pool's layout (a Merkle
  // leaf per slot in the ledger's market root) is a function of the command history alone, and a
  // restored book has exactly the live orders in exactly their slots. Callers holding two slot
  // indices remove the larger first (execute), since only the last slot moves.
  const auto last = static_cast<uint32_t>(orders_.size() - 1);
  if (o != last) move_slot(last, o);
  touch(last);  // removed: the ledger shrinks its tree to order_slot_count()
  orders_.pop_back();
  slot_changed_.pop_back();
}

void order_book::move_slot(uint32_t from, uint32_t to) {
  orders_[to] = orders_[from];
  order_slot& s = orders_[to];
  if (s.prev != npos) orders_[s.prev].next = to;
  if (s.next != npos) orders_[s.next].prev = to;
  if (s.level != npos) {
    level& lv = levels_[s.level];
    if (lv.head == from) lv.head = to;
    if (lv.tail == from) lv.tail = to;
  }
  account_state& a = accounts_[s.owner];
  if (s.account_prev != npos) orders_[s.account_prev].account_next = to;
  else a.head = to;
  if (s.account_next != npos) orders_[s.account_next].account_prev = to;
  else a.tail = to;
  const bool erased = ids_.erase(s.id);
  ENERGO_ASSERT(erased, "moved order id indexed");
  ids_.insert(s.id, to);
  touch(to);
}

void order_book::touch(uint32_t o) {
  if (slot_changed_[o]) return;
  slot_changed_[o] = 1;
  changed_slots_.push_back(o);
}

void order_book::touch_account(account_ref a) {
  account_state& s = accounts_[a];
  if (s.changed) return;
  s.changed = true;
  changed_accounts_.push_back(a);
}

void order_book::take_changes(changes& out) {
  out.slots.clear();
  out.accounts.clear();
  out.slots.swap(changed_slots_);
  out.accounts.swap(changed_accounts_);
  for (const uint32_t o : out.slots)
    if (o < slot_changed_.size()) slot_changed_[o] = 0;
  for (const account_ref a : out.accounts) accounts_[a].changed = false;
}

uint32_t order_book::find_or_add_level(side sd, int64_t price) {
  std::vector<level_ref>& v = active_[side_index(sd)];
  const int64_t key = key_of(sd, price);
  // Most orders land at or near the best price, which is back(): check it before searching.
  if (!v.empty() && v.back().key == key) return v.back().level;
  auto it = std::lower_bound(v.begin(), v.end(), key, [](const level_ref& r, int64_t k) { return r.key < k; });
  if (it != v.end() && it->key == key) return it->level;
  uint32_t l = free_level_;
  if (l != npos) {
    free_level_ = levels_[l].next_free;
  } else {
    l = static_cast<uint32_t>(levels_.size());
    levels_.emplace_back();
  }
  levels_[l] = level{};
  levels_[l].price = price;
  v.insert(it, level_ref{key, l});
  return l;
}

void order_book::drop_level(side sd, uint32_t l) {
  std::vector<level_ref>& v = active_[side_index(sd)];
  const int64_t key = key_of(sd, levels_[l].price);
  if (!v.empty() && v.back().key == key) {
    v.pop_back();
  } else {
    auto it = std::lower_bound(v.begin(), v.end(), key, [](const level_ref& r, int64_t k) { return r.key < k; });
    ENERGO_ASSERT(it != v.end() && it->key == key && it->level == l, "level indexed by price");
    v.erase(it);
  }
  levels_[l].next_free = free_level_;
  free_level_ = l;
}

void order_book::insert_active(uint32_t o, bool append) {
  order_slot& s = orders_[o];
  const uint32_t l = find_or_add_level(s.order_side, s.price);
  level& lv = levels_[l];
  s.level = l;
  if (lv.tail == npos || orders_[lv.tail].id < s.id) {
    s.prev = lv.tail;
    s.next = npos;
    if (lv.tail != npos) orders_[lv.tail].next = o;
    else lv.head = o;
    lv.tail = o;
  } else {
    ENERGO_ASSERT(!append, "a new id is the largest");
    // Returning (unparked) order: it is older than some active ones; find its place by id.
    uint32_t after = lv.head;
    while (orders_[after].id < s.id) after = orders_[after].next;
    s.next = after;
    s.prev = orders_[after].prev;
    if (s.prev != npos) orders_[s.prev].next = o;
    else lv.head = o;
    orders_[after].prev = o;
  }
  lv.open_wh += s.remaining_wh;
  lv.count += 1;
}

void order_book::unlink_active(uint32_t o) {
  order_slot& s = orders_[o];
  level& lv = levels_[s.level];
  if (s.prev != npos) orders_[s.prev].next = s.next;
  else lv.head = s.next;
  if (s.next != npos) orders_[s.next].prev = s.prev;
  else lv.tail = s.prev;
  lv.open_wh -= s.remaining_wh;
  lv.count -= 1;
  const uint32_t l = s.level;
  s.level = npos;
  s.prev = npos;
  s.next = npos;
  if (levels_[l].count == 0) drop_level(s.order_side, l);
}

void order_book::park(uint32_t o) {
  unlink_active(o);
  order_slot& s = orders_[o];
  s.parked = true;
  touch(o);
  parked_add(s.order_side, s.price, s.remaining_wh);
  accounts_[s.owner].parked[side_index(s.order_side)] += 1;
  parked_count_ += 1;
}

void order_book::unpark(uint32_t o) {
  order_slot& s = orders_[o];
  ENERGO_ASSERT(s.parked, "only parked orders return");
  if (s.order_side == side::buy) wake_index_erase(s);
  parked_sub(s.order_side, s.price, s.remaining_wh, 1);
  s.parked = false;
  touch(o);
  accounts_[s.owner].parked[side_index(s.order_side)] -= 1;
  parked_count_ -= 1;
  insert_active(o, false);
}

void order_book::parked_add(side sd, int64_t price, int64_t wh) {
  std::vector<parked_level>& v = parked_[side_index(sd)];
  const int64_t key = key_of(sd, price);
  auto it = std::lower_bound(v.begin(), v.end(), key, [](const parked_level& r, int64_t k) { return r.key < k; });
  if (it == v.end() || it->key != key) it = v.insert(it, parked_level{key, 0, 0});
  it->open_wh += wh;
  it->count += 1;
}

void order_book::parked_sub(side sd, int64_t price, int64_t wh, uint32_t orders) {
  std::vector<parked_level>& v = parked_[side_index(sd)];
  const int64_t key = key_of(sd, price);
  auto it = std::lower_bound(v.begin(), v.end(), key, [](const parked_level& r, int64_t k) { return r.key < k; });
  ENERGO_ASSERT(it != v.end() && it->key == key, "parked level exists");
  it->open_wh -= wh;
  it->count -= orders;
  if (it->count == 0) v.erase(it);
}

// ---------------------------------------------------------------------------------------------
// Market data

void order_book::record(account_ref a, const history_entry& e) {
  if (params_.account_history_max == 0) return;
  const uint32_t cap = params_.account_history_max;
  account_state& s = account(a);
  if (s.history == npos) {
    s.history = static_cast<uint32_t>(history_entries_.size() / cap);
    history_entries_.resize(history_entries_.size() + cap);
  }
  history_entries_[static_cast<std::size_t>(s.history) * cap + s.history_next] = e;
  touch_account(a);
  s.history_next = s.history_next + 1 == cap ? 0 : s.history_next + 1;
  if (s.history_size < cap) s.history_size += 1;
}

const history_entry& order_book::history_at(const account_state& a, uint32_t i) const {
  const uint32_t cap = params_.account_history_max;
  ENERGO_ASSERT(i < a.history_size, "history index out of range");
  uint32_t pos = a.history_next + (cap - a.history_size) + i;  // oldest kept entry is history_size behind next
  if (pos >= cap) pos -= cap;
  if (pos >= cap) pos -= cap;
  return history_entries_[static_cast<std::size_t>(a.history) * cap + pos];
}

void order_book::record_epoch_trade(const trade& t) {
  epoch_stats& e = epoch_stats_.newest();
  if (e.trade_count == 0) {
    e.first_price_units_per_wh = t.price_units_per_wh;
    e.high_price_units_per_wh = t.price_units_per_wh;
    e.low_price_units_per_wh = t.price_units_per_wh;
  }
  e.trade_count += 1;
  e.volume_wh += t.quantity_wh;  // bounded: at most trades × quantity_wh_max per epoch
  e.notional_units += t.notional_units;
  e.last_price_units_per_wh = t.price_units_per_wh;
  e.high_price_units_per_wh = std::max(e.high_price_units_per_wh, t.price_units_per_wh);
  e.low_price_units_per_wh = std::min(e.low_price_units_per_wh, t.price_units_per_wh);
}

bool order_book::matching_pending() const noexcept {
  if (!dirty_.empty()) return true;
  const std::vector<level_ref>& bids = active_[side_index(side::buy)];
  const std::vector<level_ref>& asks = active_[side_index(side::sell)];
  return !bids.empty() && !asks.empty() && bids.back().key >= -asks.back().key;
}

int64_t order_book::buy_price() const noexcept {
  const auto& a = active_[side_index(side::sell)];
  const auto& p = parked_[side_index(side::sell)];
  int64_t best = 0;
  if (!a.empty()) best = -a.back().key;
  if (!p.empty() && (best == 0 || -p.back().key < best)) best = -p.back().key;
  return best;
}

int64_t order_book::sell_price() const noexcept {
  const auto& a = active_[side_index(side::buy)];
  const auto& p = parked_[side_index(side::buy)];
  int64_t best = 0;
  if (!a.empty()) best = a.back().key;
  if (!p.empty() && p.back().key > best) best = p.back().key;
  return best;
}

std::vector<depth_level> order_book::depth(side sd, uint32_t levels_wanted, const balance_view& view) const {
  std::vector<depth_level> out;
  const uint32_t n = std::min(levels_wanted, params_.depth_levels_max);
  const auto& act = active_[side_index(sd)];
  const auto& par = parked_[side_index(sd)];
  std::size_t ia = act.size(), ip = par.size();  // walk both from the back (best) outward
  // Per-account budget consumed by better-priced orders of the same account (query only).
  std::map<account_ref, std::pair<int64_t, int64_t>> used;  // (TSL units, Wh)
  while (out.size() < n && (ia > 0 || ip > 0)) {
    int64_t key = INT64_MIN;
    if (ia > 0) key = act[ia - 1].key;
    if (ip > 0) key = std::max(key, par[ip - 1].key);
    depth_level d;
    d.price_units_per_wh = sd == side::buy ? key : -key;
    if (ia > 0 && act[ia - 1].key == key) {
      const level& lv = levels_[act[ia - 1].level];
      d.total_wh += lv.open_wh;
      d.order_count += lv.count;
      for (uint32_t o = lv.head; o != npos; o = orders_[o].next) {
        const order_slot& s = orders_[o];
        auto& u = used[s.owner];
        int64_t f = 0;
        if (sd == side::sell) {
          f = std::min(s.remaining_wh, std::max<int64_t>(0, view.watt_wh(s.owner) - u.second));
        } else {
          const int64_t tsl_left = std::max<int64_t>(0, view.tsl_units(s.owner) - u.first);
          const int64_t room_left = std::max<int64_t>(0, view.watt_room_wh(s.owner) - u.second);
          f = std::min({s.remaining_wh, tsl_left / s.price, room_left});
          u.first += f * s.price;  // <= tsl_left, no overflow
        }
        u.second += f;
        d.funded_wh += f;
      }
      --ia;
    }
    // Parked orders are unfunded: the book re-examines them on every balance change it is told of.
    if (ip > 0 && par[ip - 1].key == key) {
      d.total_wh += par[ip - 1].open_wh;
      d.order_count += par[ip - 1].count;
      --ip;
    }
    out.push_back(d);
  }
  return out;
}

std::vector<trade> order_book::recent_trades() const { return trades_.to_vector(); }
std::vector<epoch_stats> order_book::epochs() const { return epoch_stats_.to_vector(); }

std::vector<history_entry> order_book::history(account_ref a) const {
  std::vector<history_entry> out;
  if (a >= accounts_.size()) return out;
  const account_state& s = accounts_[a];
  for (uint32_t i = 0; i < s.history_size; ++i) out.push_back(history_at(s, i));
  return out;
}

order_info order_book::info_of(const order_slot& s) const {
  order_info i;
  i.id = s.id;
  i.account = s.owner;
  i.order_side = s.order_side;
  i.price_units_per_wh = s.price;
  i.remaining_wh = s.remaining_wh;
  i.filled_wh = s.filled_wh;
  i.parked = s.parked;
  return i;
}

std::vector<order_info> order_book::orders_of(account_ref a) const {
  std::vector<order_info> out;
  if (a >= accounts_.size()) return out;
  for (uint32_t o = accounts_[a].head; o != npos; o = orders_[o].account_next) out.push_back(info_of(orders_[o]));
  return out;
}

bool order_book::find(order_id id, order_info& out) const {
  const uint32_t o = ids_.find(id);
  if (o == npos) return false;
  out = info_of(orders_[o]);
  return true;
}

void order_book::reserve_like(const order_book& other) {
  orders_.reserve(other.orders_.capacity());
  slot_changed_.reserve(other.slot_changed_.capacity());
  levels_.reserve(other.levels_.capacity());
  accounts_.reserve(other.accounts_.capacity());
  dirty_.reserve(other.dirty_.capacity());
  for (int k = 0; k < 2; ++k) {
    active_[k].reserve(other.active_[k].capacity());
    parked_[k].reserve(other.parked_[k].capacity());
  }
  ids_.reserve_like(other.ids_);
}

void order_book::reserve_ahead() {
  auto ahead = [](auto& v) {
    const std::size_t cap = v.capacity();
    detail::reserve_resident(v, v.size() * 4 > cap * 3 ? cap * 2 : 0);
  };
  ahead(orders_);
  ahead(slot_changed_);
  ahead(levels_);
  ahead(accounts_);
  ahead(dirty_);
  for (int k = 0; k < 2; ++k) {
    ahead(active_[k]);
    ahead(parked_[k]);
  }
  ids_.reserve_ahead();
}

std::size_t order_book::book_memory_bytes() const noexcept {
  std::size_t n = orders_.capacity() * sizeof(order_slot) + levels_.capacity() * sizeof(level) +
                  ids_.memory_bytes() + accounts_.capacity() * sizeof(account_state) +
                  dirty_.capacity() * sizeof(account_ref);
  for (const auto& v : active_) n += v.capacity() * sizeof(level_ref);
  for (const auto& v : parked_) n += v.capacity() * sizeof(parked_level);
  return n;
}

std::size_t order_book::market_data_memory_bytes() const noexcept {
  std::size_t n = trades_.memory_bytes() + epoch_stats_.memory_bytes() +
                  history_entries_.capacity() * sizeof(history_entry) + call_trades_.capacity() * sizeof(trade);
  return n;
}

}  // namespace energo::market
