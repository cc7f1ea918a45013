// Market, automatic agents and EV charging inside the ledger (SPEC §4–5). Same rules as
// ledger.cpp: pure, deterministic, and every command applies fully or returns an error having
// changed nothing.
#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

// The order book reads and moves balances through this view. settle() is only called for trades
// the book has checked to be executable, so it cannot fail.
class ledger_balance_view final : public market::balance_view {
 public:
  explicit ledger_balance_view(ledger& l) : l_(l) {}
  int64_t watt_wh(market::account_ref a) const override { return l_.accounts_[a].watt_wh; }
  int64_t tsl_units(market::account_ref a) const override { return l_.accounts_[a].tsl_units; }
  int64_t watt_room_wh(market::account_ref a) const override {
    const account& acct = l_.accounts_[a];
    // SPEC §3.4: no new WATT for an account without TSL or with unpaid fees — its bids are skipped
    // (parked) until the debt is paid (the fee epoch reports the balance change).
    if (!ledger::has_storage_access(acct)) return 0;
    return std::max<int64_t>(0, l_.bmax_wh_ - acct.watt_wh);
  }
  // Overflow discipline: the ledger's lifetime totals a trade raises, at this trade's amounts, checked
  // by the book before the trade changes anything (balances need no check: TSL is conserved within
  // the supply and WATT stays below Bmax).
  bool counters_fit(const market::trade& t) const override {
    return checked_add(l_.totals_.market_trades, int64_t{1}) && checked_add(l_.totals_.market_volume_wh, t.quantity_wh);
  }
  // The same for a trade that goes into a car (settle_into_car), which also counts a burn.
  bool counters_fit_into_car(const market::trade& t) const {
    return counters_fit(t) && checked_add(l_.accounts_[t.buyer].burned_wh, t.quantity_wh) &&
           checked_add(l_.totals_.watt_burned_wh, t.quantity_wh);
  }
  void settle(const market::trade& t) override {
    account& buyer = l_.accounts_[t.buyer];
    account& seller = l_.accounts_[t.seller];
    ENERGO_ASSERT(seller.watt_wh >= t.quantity_wh && buyer.tsl_units >= t.notional_units &&
                      buyer.watt_wh + t.quantity_wh <= l_.bmax_wh_,
                  "order book settled a trade that is not executable");
    seller.watt_wh -= t.quantity_wh;
    buyer.watt_wh += t.quantity_wh;
    buyer.tsl_units -= t.notional_units;
    seller.tsl_units += t.notional_units;
    l_.mark_account(t.buyer);
    l_.mark_account(t.seller);
    l_.journal_.trades.push_back(t);
    l_.note_agent_candidate(t.buyer);
    l_.note_agent_candidate(t.seller);
    add_prechecked(l_.totals_.market_trades, 1);
    add_prechecked(l_.totals_.market_volume_wh, t.quantity_wh);
  }
  // A trade of an EV purchase: the energy goes into the car, so it is burned on arrival and never
  // sits in the vehicle's stored balance (Bmax does not bind it). The book checked the counters
  // (counters_fit_into_car); apply_ev_delivery also checked them at the delivery's worst case.
  void settle_into_car(const market::trade& t) {
    account& vehicle = l_.accounts_[t.buyer];
    account& seller = l_.accounts_[t.seller];
    ENERGO_ASSERT(seller.watt_wh >= t.quantity_wh && vehicle.tsl_units >= t.notional_units,
                  "order book settled an EV purchase that is not executable");
    seller.watt_wh -= t.quantity_wh;
    add_prechecked(vehicle.burned_wh, t.quantity_wh);
    add_prechecked(l_.totals_.watt_burned_wh, t.quantity_wh);
    vehicle.tsl_units -= t.notional_units;
    seller.tsl_units += t.notional_units;
    l_.mark_account(t.buyer);
    l_.mark_account(t.seller);
    l_.journal_.trades.push_back(t);
    l_.note_agent_candidate(t.buyer);
    l_.note_agent_candidate(t.seller);
    add_prechecked(l_.totals_.market_trades, 1);
    add_prechecked(l_.totals_.market_volume_wh, t.quantity_wh);
  }

 private:
  ledger& l_;
};

// The view of one EV purchase (SPEC §5). The energy the vehicle buys goes into the car and is burned
// on arrival (settle_into_car), so the purchase order is not bound by the vehicle's room below Bmax
// (nor by fee debt: nothing is stored). The vehicle's WATT reads as 0 for selling during the call,
// so its own asks never trade against (or are cancelled by self-trade prevention because of) the
// purchase: they are parked, keeping their priority, and the ledger's note_balance_change after the
// delivery brings back those its stored WATT funds. Its other bids keep their ordinary room.
class ev_purchase_view final : public market::balance_view {
 public:
  ev_purchase_view(ledger_balance_view& base, market::account_ref vehicle, market::order_id purchase)
      : base_(base), vehicle_(vehicle), purchase_(purchase) {}
  int64_t watt_wh(market::account_ref a) const override { return a == vehicle_ ? 0 : base_.watt_wh(a); }
  int64_t tsl_units(market::account_ref a) const override { return base_.tsl_units(a); }
  int64_t watt_room_wh(market::account_ref a) const override { return base_.watt_room_wh(a); }
  int64_t bid_room_wh(market::account_ref a, market::order_id order) const override {
    return order == purchase_ ? INT64_MAX : base_.watt_room_wh(a);
  }
  bool counters_fit(const market::trade& t) const override {
    return t.buy_order == purchase_ ? base_.counters_fit_into_car(t) : base_.counters_fit(t);
  }
  void settle(const market::trade& t) override {
    if (t.buy_order == purchase_) base_.settle_into_car(t);
    else base_.settle(t);
  }

 private:
  ledger_balance_view& base_;
  market::account_ref vehicle_;
  market::order_id purchase_;
};

market::market_params ledger::default_market_params() {
  market::market_params p;
  p.accounts_max = limits::accounts_max;
  return p;
}

result<account_index> ledger::signer_account(const crypto::secp256k1_public_key& key, uint64_t nonce) {
  const account_address address = crypto::hash160_of(key.bytes);
  auto i = account_by_address_.find(address);
  if (!i) return fail(errc::unknown_account, "signing account " + crypto::to_hex(address) + " does not exist");
  const account& a = accounts_[*i];
  if (nonce <= a.nonce)
    return fail(errc::stale_nonce, "nonce " + std::to_string(nonce) + " is not above " + std::to_string(a.nonce));
  claim_nonce(claim_kind::account, *i, nonce);
  return *i;
}

void ledger::commit_signer(account_index i, const crypto::secp256k1_public_key& key, uint64_t nonce) {
  account& a = accounts_[i];
  a.nonce = nonce;
  if (!a.key_known) {
    a.key_known = true;
    a.key = key;
  }
  mark_account(i);
}

void ledger::note_balance_change(account_index i) {
  mark_account(i);
  if (pending_flag_[i] & pending_book) return;
  pending_flag_[i] |= pending_book;
  pending_book_.push_back(i);
}

void ledger::note_agent_candidate(account_index i) {
  if (agents_.empty() || (pending_flag_[i] & pending_agent)) return;
  pending_flag_[i] |= pending_agent;
  pending_agents_.push_back(i);
}

// After every command, and after every epoch close: tell the book whose balances changed, resume
// matching, let agents react, and repeat while agents trade — at most agent_rounds_max rounds, so a
// cascade of agents stays bounded. The book is only called when there is something for it to do
// (reported balances, agents to run, unfinished matching, or a new epoch), so a no-op command leaves
// the market state, and with it the state root, untouched.
void ledger::settle_market(bool all_agents) {
  ledger_balance_view view(*this);
  for (account_index i : pending_book_) {
    pending_flag_[i] &= static_cast<uint8_t>(~pending_book);
    book_.on_balance_changed(i);
    note_agent_candidate(i);
  }
  const bool reported = !pending_book_.empty();
  pending_book_.clear();
  if (all_agents)
    for (const auto& [i, cfg] : agents_) note_agent_candidate(i);
  if (!reported && pending_agents_.empty() && !book_.matching_pending() && book_.current_epoch() == epoch_) return;
  for (int round = 0; round < limits::agent_rounds_max; ++round) {
    auto matched = book_.match_pending(view, epoch_);
    ENERGO_ASSERT(matched.has_value(), "match_pending failed with a monotonic epoch");
    if (pending_agents_.empty()) break;
    std::vector<account_index> candidates;
    candidates.swap(pending_agents_);
    std::sort(candidates.begin(), candidates.end());
    for (account_index i : candidates) pending_flag_[i] &= static_cast<uint8_t>(~pending_agent);
    for (account_index i : candidates) run_agent(i, view);
  }
  // Candidates left after the last round are dropped: the next balance change or epoch re-arms them.
  for (account_index i : pending_agents_) pending_flag_[i] &= static_cast<uint8_t>(~pending_agent);
  pending_agents_.clear();
}

void ledger::run_agent(account_index i, market::balance_view& view) {
  auto it = agents_.find(i);
  if (it == agents_.end() || !it->second.enabled) return;
  const agent_config& cfg = it->second;
  bool has_buy = false, has_sell = false;
  for (const auto& o : book_.orders_of(i)) (o.order_side == market::side::buy ? has_buy : has_sell) = true;
  const int64_t watt = accounts_[i].watt_wh;
  auto place = [&](market::side s, int64_t price, int64_t quantity) {
    // The counter is checked before the order is placed (overflow discipline): an agent order that
    // could not be counted is not placed, like any other refusal below.
    if (totals_.agent_orders == INT64_MAX) return;
    market::order_request r{i, s, market::order_kind::limit, price, quantity};
    // A refusal (book full, account order bound) just means the agent does not act this time.
    if (book_.place(r, view, epoch_).has_value()) {
      add_prechecked(totals_.agent_orders, 1);
    }
  };
  if (!has_sell && watt > cfg.sell_above_wh) place(market::side::sell, cfg.sell_price_units_per_wh, watt - cfg.sell_above_wh);
  if (!has_buy && watt < cfg.buy_below_wh) place(market::side::buy, cfg.buy_price_units_per_wh, cfg.buy_below_wh - watt);
}

namespace {
error market_error(market::errc code) {
  if (code == market::errc::counter_overflow)
    return error{errc::overflow, std::string(market::errc_name(code)) + ": " + std::string(market::errc_message(code))};
  return error{errc::market_rejected, std::string(market::errc_name(code)) + ": " + std::string(market::errc_message(code))};
}
}  // namespace

result<apply_outcome> ledger::apply_place_order(const place_order& c) {
  auto who = signer_account(c.from_key, c.nonce);
  if (!who) return unexpected<error>{who.error()};
  if (accounts_[*who].kind != account_kind::member) return fail(errc::unauthorized, "system pools do not trade");
  ledger_balance_view view(*this);
  auto placed = book_.place(market::order_request{*who, c.order_side, c.kind, c.price_units_per_wh, c.quantity_wh}, view, epoch_);
  if (!placed) return unexpected<error>{market_error(placed.error())};
  commit_signer(*who, c.from_key, c.nonce);
  apply_outcome out;
  out.order_id = placed->id;
  out.filled_wh = placed->filled_wh;
  out.trades = static_cast<int64_t>(placed->trades.size());
  return out;
}

result<apply_outcome> ledger::apply_cancel_order(const cancel_order& c) {
  auto who = signer_account(c.from_key, c.nonce);
  if (!who) return unexpected<error>{who.error()};
  auto cancelled = book_.cancel(c.order_id, *who, epoch_);
  if (!cancelled) return unexpected<error>{market_error(cancelled.error())};
  commit_signer(*who, c.from_key, c.nonce);
  apply_outcome out;
  out.order_id = c.order_id;
  return out;
}

result<apply_outcome> ledger::apply_replace_order(const replace_order& c) {
  auto who = signer_account(c.from_key, c.nonce);
  if (!who) return unexpected<error>{who.error()};
  ledger_balance_view view(*this);
  auto replaced = book_.replace(market::replace_request{c.order_id, *who, c.price_units_per_wh, c.quantity_wh}, view, epoch_);
  if (!replaced) return unexpected<error>{market_error(replaced.error())};
  commit_signer(*who, c.from_key, c.nonce);
  apply_outcome out;
  out.order_id = replaced->id;
  out.filled_wh = replaced->filled_wh;
  out.trades = static_cast<int64_t>(replaced->trades.size());
  return out;
}

result<apply_outcome> ledger::apply_set_agent(const set_agent& c) {
  auto who = signer_account(c.from_key, c.nonce);
  if (!who) return unexpected<error>{who.error()};
  if (accounts_[*who].kind != account_kind::member) return fail(errc::unauthorized, "system pools do not trade");
  const auto& mp = book_.params();
  if (c.enabled) {
    if (c.buy_price_units_per_wh < mp.price_min || c.buy_price_units_per_wh > mp.price_max ||
        c.sell_price_units_per_wh < mp.price_min || c.sell_price_units_per_wh > mp.price_max)
      return fail(errc::out_of_range, "agent prices must be within the market's price range");
    if (c.buy_below_wh < 0 || c.buy_below_wh > bmax_wh_ || c.sell_above_wh < 0 || c.sell_above_wh > bmax_wh_)
      return fail(errc::out_of_range, "agent thresholds must be within [0, Bmax]");
    if (c.buy_below_wh > c.sell_above_wh)
      return fail(errc::out_of_range, "the buy threshold must not be above the sell threshold");
    if (c.buy_price_units_per_wh >= c.sell_price_units_per_wh)
      return fail(errc::out_of_range, "the agent's buy price must be below its sell price (it would trade with itself)");
    if (!agents_.count(*who) && agents_.size() >= limits::agents_max)
      return fail(errc::limit_reached, "agent table is full");
  }
  commit_signer(*who, c.from_key, c.nonce);
  if (c.enabled) {
    agents_[*who] = agent_config{true, c.buy_price_units_per_wh, c.buy_below_wh, c.sell_price_units_per_wh, c.sell_above_wh};
    note_agent_candidate(*who);
  } else {
    agents_.erase(*who);
  }
  agents_sessions_dirty_ = true;
  return apply_outcome{};
}

result<apply_outcome> ledger::apply_register_station(const register_station& c) {
  if (auto v = check_admin(c.auth); !v) return unexpected<error>{v.error()};
  if (station_by_key_.find(c.station_key.bytes)) return fail(errc::already_exists, "station key already registered");
  if (stations_.size() >= limits::stations_max) return fail(errc::limit_reached, "station table is full");
  if (c.service_fee_units_per_kwh < 0 || c.service_fee_units_per_kwh > limits::station_fee_units_per_kwh_max)
    return fail(errc::out_of_range, "service fee must be within [0, " + std::to_string(limits::station_fee_units_per_kwh_max) + "] units per kWh");
  if (auto existing = account_by_address_.find(c.account); existing && accounts_[*existing].kind != account_kind::member)
    return fail(errc::out_of_range, "a system pool cannot run a charging station");
  apply_outcome out;
  auto acct = account_for(c.account, out.created_account);
  if (!acct) return unexpected<error>{acct.error()};
  commit_admin_nonce(c.auth);
  charging_station s;
  s.key = c.station_key;
  s.account = *acct;
  s.service_fee_units_per_kwh = c.service_fee_units_per_kwh;
  station_by_key_.insert(c.station_key.bytes, static_cast<uint32_t>(stations_.size()));
  stations_.push_back(s);
  station_dirty_flag_.push_back(0);
  stations_tree_.append(crypto::hash256{});
  mark_station(static_cast<uint32_t>(stations_.size() - 1));
  return out;
}

result<apply_outcome> ledger::apply_ev_open_session(const ev_open_session& c) {
  auto who = signer_account(c.from_key, c.nonce);
  if (!who) return unexpected<error>{who.error()};
  if (accounts_[*who].kind != account_kind::member) return fail(errc::unauthorized, "system pools do not charge vehicles");
  auto st = station_by_key_.find(c.station_key.bytes);
  if (!st) return fail(errc::unknown_meter, "charging station " + crypto::to_hex(c.station_key.bytes) + " is not registered");
  if (stations_[*st].account == *who) return fail(errc::self_transfer, "a station cannot charge its own account");
  if (c.cap_units <= 0 || c.cap_units > tsl_supply_units) return fail(errc::out_of_range, "spending cap must be within (0, supply]");
  const auto& mp = book_.params();
  if (c.price_cap_units_per_wh < mp.price_min || c.price_cap_units_per_wh > mp.price_max)
    return fail(errc::out_of_range, "price cap must be within the market's price range");
  for (const auto& [id, s] : sessions_)
    if (s.vehicle == *who) return fail(errc::already_exists, "the vehicle already has open session " + std::to_string(id));
  if (sessions_.size() >= limits::ev_sessions_open_max) return fail(errc::limit_reached, "too many open charging sessions");
  commit_signer(*who, c.from_key, c.nonce);
  ev_session s;
  s.id = next_session_id_++;
  s.vehicle = *who;
  s.station = *st;
  s.cap_units = c.cap_units;
  s.price_cap_units_per_wh = c.price_cap_units_per_wh;
  s.opened_epoch = epoch_;
  sessions_.emplace(s.id, s);
  agents_sessions_dirty_ = true;
  apply_outcome out;
  out.session_id = s.id;
  return out;
}

// Settles one delivery report: the vehicle buys the newly delivered energy through the book with a
// market order capped at its price cap, sized so that energy plus service fee can never exceed the
// session's spending cap or the vehicle's TSL; the bought WATT is consumed (burned) at once, and the
// service fee goes to the station's account. Energy the book could not supply within those bounds is
// booked as the vehicle's grid import and stops the session.
result<apply_outcome> ledger::apply_ev_delivery(const ev_delivery& c) {
  auto st = station_by_key_.find(c.station_key.bytes);
  if (!st) return fail(errc::unknown_meter, "charging station " + crypto::to_hex(c.station_key.bytes) + " is not registered");
  charging_station& station = stations_[*st];
  if (c.sequence <= station.sequence)
    return fail(errc::stale_nonce, "delivery sequence " + std::to_string(c.sequence) + " is not above " + std::to_string(station.sequence));
  claim_nonce(claim_kind::station, *st, c.sequence);
  auto it = sessions_.find(c.session_id);
  if (it == sessions_.end()) return fail(errc::out_of_range, "no open charging session " + std::to_string(c.session_id));
  ev_session& s = it->second;
  if (s.station != *st) return fail(errc::unauthorized, "the session belongs to another station");
  if (c.delivered_wh_total < s.delivered_wh) return fail(errc::register_backwards, "delivered energy went backwards");
  const int64_t delta = c.delivered_wh_total - s.delivered_wh;
  if (delta > limits::reading_delta_wh_max) return fail(errc::out_of_range, "delivery step too large");
  {
    // Every counter this delivery can raise, checked at its worst case before anything changes (the
    // meter path's discipline): bought + unsettled = delta; the fee is at most the vehicle's TSL.
    // Session costs stay below the session cap and the station's TSL below the supply.
    const account& vehicle = accounts_[s.vehicle];
    const bool fits = checked_add(vehicle.burned_wh, delta) && checked_add(totals_.watt_burned_wh, delta) &&
                      checked_add(vehicle.grid_import_wh, delta) && checked_add(totals_.grid_import_wh, delta) &&
                      checked_add(s.settled_wh, delta) && checked_add(s.unsettled_wh, delta) &&
                      checked_add(station.delivered_wh, delta) &&
                      checked_add(station.fees_earned_units, vehicle.tsl_units) &&
                      checked_add(totals_.market_volume_wh, delta);
    if (!fits) return fail(errc::overflow, "energy or fee counters would overflow");
  }

  station.sequence = c.sequence;
  s.delivered_wh = c.delivered_wh_total;
  agents_sessions_dirty_ = true;  // the session
  mark_station(*st);
  apply_outcome out;
  out.session_id = s.id;
  session_state stop = session_state::open;
  if (delta > 0) {
    account& vehicle = accounts_[s.vehicle];
    // Worst case per Wh: the price cap plus the fee share, in thousandths of a unit.
    const int128 per_wh_milli = static_cast<int128>(s.price_cap_units_per_wh) * 1000 + station.service_fee_units_per_kwh;
    const int128 q_cap = static_cast<int128>(s.cap_units - s.spent_units) * 1000 / per_wh_milli;
    const int128 q_funds = static_cast<int128>(vehicle.tsl_units) * 1000 / per_wh_milli;
    const int64_t q = static_cast<int64_t>(std::min<int128>({delta, q_cap, q_funds}));
    int64_t bought = 0, cost = 0;
    if (q > 0) {
      ledger_balance_view ledger_view(*this);
      ev_purchase_view view(ledger_view, s.vehicle, book_.next_order_id());
      auto placed = book_.place(market::order_request{s.vehicle, market::side::buy, market::order_kind::market,
                                                      s.price_cap_units_per_wh, q},
                                view, epoch_);
      if (placed) {
        bought = placed->filled_wh;
        for (const auto& t : placed->trades)
          if (t.buy_order == placed->id) cost += t.notional_units;
      }
    }
    account& v = accounts_[s.vehicle];
    // The bought energy went into the car and was burned on arrival (settle_into_car).
    // Sized above so the fee is always affordable; min() guards the case where the same call also
    // executed another resting bid of the vehicle.
    const int64_t fee = std::min(*mul_div_floor(bought, station.service_fee_units_per_kwh, wh_per_watt), v.tsl_units);
    v.tsl_units -= fee;
    accounts_[station.account].tsl_units += fee;
    const int64_t unsettled = delta - bought;
    // bought + unsettled = delta and fee ≤ the vehicle's TSL: all pre-checked above.
    add_prechecked(v.grid_import_wh, unsettled);
    add_prechecked(totals_.grid_import_wh, unsettled);
    add_prechecked(s.settled_wh, bought);
    add_prechecked(s.unsettled_wh, unsettled);
    add_prechecked(station.delivered_wh, bought);
    add_prechecked(station.fees_earned_units, fee);
    // Bounded, not checked: the order was sized so that spent + cost + fee ≤ cap ≤ supply (10^17).
    s.energy_cost_units += cost;
    s.fees_units += fee;
    s.spent_units += cost + fee;
    journal_.ev_charges.push_back({s.vehicle, station.account, bought, cost, fee});
    note_balance_change(s.vehicle);
    note_balance_change(station.account);
    out.filled_wh = bought;
    out.burned_wh = bought;
    out.grid_import_wh = unsettled;
    out.fees_units = fee;
    // The reason is what limited this delivery: the book first (it sold less than was asked for,
    // even when q also equals a cap's room), then the spending cap, then the vehicle's TSL.
    if (unsettled > 0) stop = bought < q       ? session_state::stopped_supply
                              : q == q_cap     ? session_state::stopped_cap
                                               : session_state::stopped_funds;
  }
  if (stop == session_state::open && c.finished) stop = session_state::finished;
  if (stop != session_state::open) close_session(it, stop);
  return out;
}

result<apply_outcome> ledger::apply_ev_close_session(const ev_close_session& c) {
  auto who = signer_account(c.from_key, c.nonce);
  if (!who) return unexpected<error>{who.error()};
  auto it = sessions_.find(c.session_id);
  if (it == sessions_.end()) return fail(errc::out_of_range, "no open charging session " + std::to_string(c.session_id));
  if (it->second.vehicle != *who) return fail(errc::unauthorized, "the session belongs to another vehicle");
  commit_signer(*who, c.from_key, c.nonce);
  apply_outcome out;
  out.session_id = c.session_id;
  close_session(it, session_state::closed_by_vehicle);
  return out;
}

void ledger::close_session(std::map<uint64_t, ev_session>::iterator it, session_state why) {
  it->second.state = why;
  closed_sessions_.push_back(it->second);
  if (closed_sessions_.size() > limits::ev_closed_sessions_kept) closed_sessions_.erase(closed_sessions_.begin());
  sessions_.erase(it);
  agents_sessions_dirty_ = true;
}

const charging_station* ledger::find_station(const crypto::ed25519_public_key& key) const {
  auto i = station_by_key_.find(key.bytes);
  return i ? &stations_[*i] : nullptr;
}

std::vector<market::depth_level> ledger::depth(market::side s, uint32_t levels) const {
  // The view is only read by depth(); settle() is never called through a const query.
  ledger_balance_view view(const_cast<ledger&>(*this));
  return book_.depth(s, levels, view);
}

namespace {

void write_session(byte_writer& w, const ev_session& s) {
  w.put_u64(s.id);
  w.put_u32(s.vehicle);
  w.put_u32(s.station);
  for (int64_t v : {s.cap_units, s.price_cap_units_per_wh, s.delivered_wh, s.settled_wh, s.unsettled_wh,
                    s.energy_cost_units, s.fees_units, s.spent_units})
    w.put_i64(v);
  w.put_u64(s.opened_epoch);
  w.put_u8(static_cast<uint8_t>(s.state));
}

bool read_session(byte_reader& r, ev_session& s) {
  uint8_t state = 0;
  bool okay = r.get_u64(s.id) && r.get_u32(s.vehicle) && r.get_u32(s.station);
  for (int64_t* v : {&s.cap_units, &s.price_cap_units_per_wh, &s.delivered_wh, &s.settled_wh, &s.unsettled_wh,
                     &s.energy_cost_units, &s.fees_units, &s.spent_units})
    okay = okay && r.get_i64(*v);
  okay = okay && r.get_u64(s.opened_epoch) && r.get_u8(state) && state <= static_cast<uint8_t>(session_state::stopped_supply);
  s.state = static_cast<session_state>(state);
  return okay;
}

constexpr std::size_t agent_record_bytes = 4 + 1 + 4 * 8;
constexpr std::size_t station_record_bytes = 32 + 4 + 5 * 8;
constexpr std::size_t session_record_bytes = 8 + 4 + 4 + 8 * 8 + 8 + 1;

}  // namespace

void ledger::write_agents(byte_writer& w) const {
  w.put_u32(static_cast<uint32_t>(agents_.size()));
  for (const auto& [i, a] : agents_) {
    w.put_u32(i);
    w.put_u8(a.enabled ? 1 : 0);
    w.put_i64(a.buy_price_units_per_wh);
    w.put_i64(a.buy_below_wh);
    w.put_i64(a.sell_price_units_per_wh);
    w.put_i64(a.sell_above_wh);
  }
}

namespace {
void write_station(byte_writer& w, const charging_station& st) {
  w.put_array(st.key.bytes);
  w.put_u32(st.account);
  w.put_i64(st.service_fee_units_per_kwh);
  w.put_u64(st.sequence);
  w.put_i64(st.delivered_wh);
  w.put_i64(st.fees_earned_units);
}
}  // namespace

void ledger::write_sessions(byte_writer& w) const {
  w.put_u64(next_session_id_);
  w.put_u32(static_cast<uint32_t>(sessions_.size()));
  for (const auto& [id, s] : sessions_) write_session(w, s);
  w.put_u32(static_cast<uint32_t>(closed_sessions_.size()));
  for (const auto& s : closed_sessions_) write_session(w, s);
}

// The market part of a snapshot, in a canonical order: the book's own encoding, agents by account,
// stations by registration, sessions by id.
void ledger::write_market_state(byte_writer& w) const {
  w.put_bytes_in_place([&](std::vector<uint8_t>& buffer) { book_.serialize_into(buffer); });
  write_agents(w);
  w.put_u32(static_cast<uint32_t>(stations_.size()));
  for (const auto& st : stations_) write_station(w, st);
  write_sessions(w);
}

// Decodes the market part of a snapshot into a ledger whose accounts are already decoded (restore).
// Every reference is checked against the ledger's own tables and every value against the rule
// that produced it (apply_set_agent, apply_register_station, apply_ev_*), before anything uses it.
std::string ledger::read_market_state(byte_reader& r) {
  std::string book_bytes;
  if (!r.get_string(book_bytes, limits::snapshot_book_bytes_max)) return "order book bytes are missing";
  auto book = market::order_book::deserialize(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(book_bytes.data()), book_bytes.size()),
      default_market_params(), static_cast<market::account_ref>(accounts_.size()));
  if (!book) return "order book is invalid (" + std::string(market::errc_message(book.error())) + ")";
  book_ = std::move(*book);
  if (book_.current_epoch() > epoch_) return "order book epoch is ahead of the ledger";
  for (account_index i = 0; i < accounts_.size(); ++i)
    if (accounts_[i].kind != account_kind::member && book_.order_count(i) != 0) return "a system pool has orders";
  const auto& mp = book_.params();
  const auto is_member = [&](account_index i) { return i < accounts_.size() && accounts_[i].kind == account_kind::member; };

  uint32_t count = 0;
  if (!r.get_u32(count) || count > limits::agents_max || count > r.remaining() / agent_record_bytes)
    return "agent table is invalid";
  int64_t last_agent = -1;
  for (uint32_t k = 0; k < count; ++k) {
    uint32_t i = 0;
    uint8_t enabled = 0;
    agent_config a;
    if (!(r.get_u32(i) && r.get_u8(enabled) && r.get_i64(a.buy_price_units_per_wh) && r.get_i64(a.buy_below_wh) &&
          r.get_i64(a.sell_price_units_per_wh) && r.get_i64(a.sell_above_wh)))
      return "agent record is truncated";
    // Disabled agents are erased (apply_set_agent), and the table is written in account order.
    if (!is_member(i) || enabled != 1 || static_cast<int64_t>(i) <= last_agent)
      return "agent " + std::to_string(k) + " refers to a missing or non-member account, or is out of order";
    // The rules of apply_set_agent; thresholds against the code's Bmax ceiling, since a later,
    // lower Bmax does not rewrite existing agents.
    if (a.buy_price_units_per_wh < mp.price_min || a.buy_price_units_per_wh > mp.price_max ||
        a.sell_price_units_per_wh < mp.price_min || a.sell_price_units_per_wh > mp.price_max ||
        a.buy_price_units_per_wh >= a.sell_price_units_per_wh || a.buy_below_wh < 0 ||
        a.buy_below_wh > a.sell_above_wh || a.sell_above_wh > limits::bmax_wh_max)
      return "agent of account " + std::to_string(i) + " has prices or thresholds out of range";
    last_agent = i;
    a.enabled = true;
    agents_.emplace(i, a);
  }

  if (!r.get_u32(count) || count > limits::stations_max || count > r.remaining() / station_record_bytes)
    return "station table is invalid";
  stations_.resize(count);
  for (auto& st : stations_) {
    if (!(r.get_array(st.key.bytes) && r.get_u32(st.account) && r.get_i64(st.service_fee_units_per_kwh) &&
          r.get_u64(st.sequence) && r.get_i64(st.delivered_wh) && r.get_i64(st.fees_earned_units)))
      return "station record is truncated";
    if (!is_member(st.account)) return "charging station refers to a missing or non-member account";
    if (st.service_fee_units_per_kwh < 0 || st.service_fee_units_per_kwh > limits::station_fee_units_per_kwh_max ||
        st.delivered_wh < 0 || st.delivered_wh > limits::lifetime_total_max || st.fees_earned_units < 0 ||
        st.fees_earned_units > limits::lifetime_total_max)
      return "charging station has a fee or total out of range";
  }

  if (!r.get_u64(next_session_id_) || next_session_id_ < 1 || next_session_id_ > limits::ev_session_id_max)
    return "next session id is out of range";
  // The checks every session satisfies, open or closed (apply_ev_open_session, apply_ev_delivery).
  const auto session_problem = [&](const ev_session& s) -> std::string {
    const std::string which = "session " + std::to_string(s.id);
    if (s.id < 1 || s.id >= next_session_id_) return which + " has an id not below the next session id";
    if (!is_member(s.vehicle) || s.station >= stations_.size() || stations_[s.station].account == s.vehicle)
      return which + " refers to a missing vehicle or station";
    if (s.cap_units <= 0 || s.cap_units > tsl_supply_units || s.price_cap_units_per_wh < mp.price_min ||
        s.price_cap_units_per_wh > mp.price_max || s.settled_wh < 0 || s.unsettled_wh < 0 ||
        s.settled_wh > limits::register_wh_max || s.unsettled_wh > limits::register_wh_max ||
        s.delivered_wh != s.settled_wh + s.unsettled_wh || s.energy_cost_units < 0 || s.fees_units < 0 ||
        s.energy_cost_units > s.cap_units || s.fees_units > s.cap_units ||
        s.spent_units != s.energy_cost_units + s.fees_units || s.spent_units > s.cap_units || s.opened_epoch > epoch_)
      return which + " has amounts out of range or inconsistent";
    return {};
  };
  if (!r.get_u32(count) || count > limits::ev_sessions_open_max || count > r.remaining() / session_record_bytes)
    return "open session table is invalid";
  std::vector<account_index> vehicles;
  uint64_t last_session = 0;
  for (uint32_t k = 0; k < count; ++k) {
    ev_session s;
    if (!read_session(r, s)) return "open session record is truncated";
    if (auto problem = session_problem(s); !problem.empty()) return problem;
    if (s.state != session_state::open || s.id <= last_session) return "open session " + std::to_string(s.id) + " is closed or out of order";
    last_session = s.id;
    vehicles.push_back(s.vehicle);
    sessions_.emplace(s.id, s);
  }
  std::sort(vehicles.begin(), vehicles.end());
  if (std::adjacent_find(vehicles.begin(), vehicles.end()) != vehicles.end())
    return "a vehicle has two open sessions";
  if (!r.get_u32(count) || count > limits::ev_closed_sessions_kept || count > r.remaining() / session_record_bytes)
    return "closed session table is invalid";
  std::vector<uint64_t> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (uint32_t k = 0; k < count; ++k) {
    ev_session s;
    if (!read_session(r, s)) return "closed session record is truncated";
    if (auto problem = session_problem(s); !problem.empty()) return "closed " + problem;
    if (s.state == session_state::open) return "closed session " + std::to_string(s.id) + " is open";
    ids.push_back(s.id);
    closed_sessions_.push_back(s);
  }
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return "a session id appears twice";
  return {};
}

void ledger::mark_station(uint32_t i) {
  if (station_dirty_flag_[i]) return;
  station_dirty_flag_[i] = 1;
  dirty_stations_.push_back(i);
}

// The market's share of the state root (issue 11 §5). The book is committed per order, not hashed
// whole: one Merkle leaf per pool slot (the pool is dense and its layout is state, see
// order_book.hpp), one per entry of the book's account table (history rings), the trade ring with
// trade id t at leaf (t − 1) mod trade_ring_max, the epoch ring (≤ epoch_stats_max leaves, rebuilt
// only when it shifts, once per epoch with activity), and a small header (params, next ids, epoch,
// re-examination queue, sizes). The book reports which slots and accounts changed
// (order_book::take_changes), so a root costs O(changed orders × log book). Stations are a tree
// too; agents and sessions (bounded tables that change only through their own commands) are
// hashed whole when they changed.
//   market = SHA-256("energo/market/v2" || SHA-256(book header) || orders root || book accounts root
//                    || trades root || epochs root || stations root || SHA-256(agents || sessions))
void ledger::sync_market_commitment() {
  book_.take_changes(book_changes_);
  // Orders: the tree follows the pool's size (a removal moved the last slot into a hole and
  // touched both), then every changed slot still in the pool is rehashed.
  const uint32_t slots = book_.order_slot_count();
  while (book_orders_tree_.size() > slots) book_orders_tree_.pop_back();
  while (book_orders_tree_.size() < slots) book_orders_tree_.append(crypto::hash256{});
  for (const uint32_t o : book_changes_.slots) {
    if (o >= slots) continue;
    book_.order_leaf_bytes(o, leaf_buffer_);
    book_orders_tree_.update(o, crypto::merkle_leaf_hash(leaf_buffer_));
  }
  // Account table: it only grows; a new entry starts with an empty history (and is touched when
  // its first entry is recorded).
  const uint32_t table = book_.account_table_size();
  if (book_accounts_tree_.size() < table) {
    leaf_buffer_.assign(4, 0);  // an empty ring: history_size 0 (order_book::account_leaf_bytes)
    const auto empty = crypto::merkle_leaf_hash(leaf_buffer_);
    while (book_accounts_tree_.size() < table) book_accounts_tree_.append(empty);
  }
  for (const market::account_ref a : book_changes_.accounts) {
    book_.account_leaf_bytes(a, leaf_buffer_);
    book_accounts_tree_.update(a, crypto::merkle_leaf_hash(leaf_buffer_));
  }
  // Trade ring: the trades since the last sync, at most one ring's worth.
  const uint32_t trades = book_.trade_ring_size();
  if (trades > 0) {
    const uint64_t capacity = book_.params().trade_ring_max;
    const market::trade_id newest = book_.trade_ring_at(trades - 1).id;
    const uint64_t first = std::max<uint64_t>(trades_committed_ + 1, newest - trades + 1);
    // A whole ring (or more) of trades since the last sync: every leaf is new, and while the tree
    // is not yet at capacity the positions would skip; rebuild it from the ring.
    if (first != trades_committed_ + 1) rebuild_trades_tree();
    for (uint64_t id = first; id <= newest && first == trades_committed_ + 1; ++id) {
      const market::trade& t = book_.trade_ring_at(static_cast<uint32_t>(trades - 1 - (newest - id)));
      market::order_book::trade_leaf_bytes(t, leaf_buffer_);
      const uint64_t leaf = (id - 1) % capacity;
      const auto h = crypto::merkle_leaf_hash(leaf_buffer_);
      if (leaf == book_trades_tree_.size()) book_trades_tree_.append(h);
      else book_trades_tree_.update(leaf, h);
    }
    trades_committed_ = newest;
  }
  // Epoch ring: only the newest entry changes between two pushes.
  const uint32_t epochs = book_.epoch_ring_size();
  if (epochs > 0) {
    const uint64_t oldest = book_.epoch_ring_at(0).epoch;
    if (epochs != book_epochs_tree_.size() || oldest != epochs_committed_oldest_) {
      book_epochs_tree_.clear();
      for (uint32_t i = 0; i < epochs; ++i) {
        market::order_book::epoch_leaf_bytes(book_.epoch_ring_at(i), leaf_buffer_);
        book_epochs_tree_.append(crypto::merkle_leaf_hash(leaf_buffer_));
      }
      epochs_committed_oldest_ = oldest;
    } else {
      market::order_book::epoch_leaf_bytes(book_.epoch_ring_at(epochs - 1), leaf_buffer_);
      book_epochs_tree_.update(epochs - 1, crypto::merkle_leaf_hash(leaf_buffer_));
    }
  }
  for (const uint32_t i : dirty_stations_) {
    station_dirty_flag_[i] = 0;
    byte_writer w;
    write_station(w, stations_[i]);
    stations_tree_.update(i, crypto::merkle_leaf_hash(w.bytes()));
  }
  dirty_stations_.clear();
}

// The trade ring's tree from the ring itself: leaves by position (t − 1) mod capacity, so the ring's
// oldest kept trade need not sit at leaf 0 (restore and deserialize check the ids are consecutive).
void ledger::rebuild_trades_tree() {
  book_trades_tree_.clear();
  trades_committed_ = 0;
  const uint32_t trades = book_.trade_ring_size();
  if (trades == 0) return;
  const uint64_t capacity = book_.params().trade_ring_max;
  std::vector<crypto::hash256> leaves(trades);
  for (uint32_t i = 0; i < trades; ++i) {
    const market::trade& t = book_.trade_ring_at(i);
    market::order_book::trade_leaf_bytes(t, leaf_buffer_);
    leaves[(t.id - 1) % capacity] = crypto::merkle_leaf_hash(leaf_buffer_);
  }
  for (const auto& h : leaves) book_trades_tree_.append(h);
  trades_committed_ = book_.trade_ring_at(trades - 1).id;
}

// After restore (or for a test): every tree from scratch, from the restored tables.
void ledger::rebuild_market_commitment() {
  book_orders_tree_.clear();
  book_accounts_tree_.clear();
  book_trades_tree_.clear();
  book_epochs_tree_.clear();
  trades_committed_ = 0;
  epochs_committed_oldest_ = 0;
  market::order_book::changes discard;
  book_.take_changes(discard);
  for (uint32_t o = 0; o < book_.order_slot_count(); ++o) {
    book_.order_leaf_bytes(o, leaf_buffer_);
    book_orders_tree_.append(crypto::merkle_leaf_hash(leaf_buffer_));
  }
  for (uint32_t a = 0; a < book_.account_table_size(); ++a) {
    book_.account_leaf_bytes(a, leaf_buffer_);
    book_accounts_tree_.append(crypto::merkle_leaf_hash(leaf_buffer_));
  }
  rebuild_trades_tree();
  stations_tree_.clear();
  station_dirty_flag_.assign(stations_.size(), 0);
  dirty_stations_.clear();
  for (uint32_t i = 0; i < stations_.size(); ++i) {
    stations_tree_.append(crypto::hash256{});
    mark_station(i);
  }
  agents_sessions_dirty_ = true;
  sync_market_commitment();
}

crypto::hash256 ledger::market_hash() {
  sync_market_commitment();
  if (agents_sessions_dirty_) {
    byte_writer w;
    write_agents(w);
    write_sessions(w);
    agents_sessions_hash_ = crypto::sha256(w.bytes());
    agents_sessions_dirty_ = false;
  }
  book_.header_bytes(leaf_buffer_);
  const auto header = crypto::sha256(leaf_buffer_);
  crypto::sha256_hasher h;
  h.update(crypto::as_bytes("energo/market/v2"));
  h.update(header)
      .update(book_orders_tree_.root())
      .update(book_accounts_tree_.root())
      .update(book_trades_tree_.root())
      .update(book_epochs_tree_.root())
      .update(stations_tree_.root())
      .update(agents_sessions_hash_);
  return h.finish();
}

}  // namespace energo::ledger
