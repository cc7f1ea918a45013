// Market-data queries (SPEC §4 "Market data"): book, orders, trades, epochs, account_history.
// The book keeps its market data in the replicated state (bounded rings: last trades, per-epoch
// statistics, per-account history), so these need no index of their own.
#include <algorithm>

#include "actors/analytics.hpp"
#include "actors/query_internal.hpp"

namespace energo::actors::query_detail {

namespace {

std::string_view market_kind_text(market::history_kind k) {
  switch (k) {
    case market::history_kind::placed: return "placed";
    case market::history_kind::replaced: return "replaced";
    case market::history_kind::cancelled: return "cancelled";
    case market::history_kind::self_trade_cancelled: return "self_trade_cancelled";
    case market::history_kind::remainder_cancelled: return "remainder_cancelled";
    case market::history_kind::traded: return "traded";
  }
  return "?";
}

json levels_json(const std::vector<market::depth_level>& levels) {
  auto a = json::array();
  for (const auto& d : levels) {
    json j;
    j["price_units_per_wh"] = d.price_units_per_wh;
    j["total_wh"] = d.total_wh;
    j["funded_wh"] = d.funded_wh;
    j["orders"] = d.order_count;
    a.push_back(std::move(j));
  }
  return a;
}

json trade_json(const ledger::ledger& l, const market::trade& t) {
  json j;
  j["id"] = t.id;
  j["epoch"] = t.epoch;
  j["buy_order"] = t.buy_order;
  j["sell_order"] = t.sell_order;
  j["buyer"] = address_text_of(l, t.buyer);
  j["seller"] = address_text_of(l, t.seller);
  j["price_units_per_wh"] = t.price_units_per_wh;
  j["quantity_wh"] = t.quantity_wh;
  j["notional_units"] = t.notional_units;
  return j;
}

}  // namespace

query_answer book_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"levels"});
  const auto levels = p.count("levels", limits::query_book_levels_default, 1, limits::query_book_levels_max);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  json body;
  body["bids"] = levels_json(l.depth(market::side::buy, static_cast<uint32_t>(levels)));
  body["asks"] = levels_json(l.depth(market::side::sell, static_cast<uint32_t>(levels)));
  body["buy_price_units_per_wh"] = l.book().buy_price();    // lowest ask; 0 when none
  body["sell_price_units_per_wh"] = l.book().sell_price();  // highest bid; 0 when none
  body["resting_orders"] = l.book().resting_orders();
  body["parked_orders"] = l.book().parked_orders();
  body["epoch"] = l.epoch();
  return answer(ctx, std::move(body));
}

query_answer orders_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"address"});
  const auto address = p.address(ctx.ledger, "address", true);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  json body;
  body["address"] = address_text(l, *address);
  auto orders = json::array();
  if (const auto index = l.account_index_of(*address)) {
    for (const auto& o : l.book().orders_of(*index)) {  // bounded: orders_per_account_max
      json j;
      j["id"] = o.id;
      j["side"] = std::string(side_text(o.order_side));
      j["price_units_per_wh"] = o.price_units_per_wh;
      j["remaining_wh"] = o.remaining_wh;
      j["filled_wh"] = o.filled_wh;
      j["parked"] = o.parked;
      orders.push_back(std::move(j));
    }
  }
  body["orders"] = std::move(orders);
  return answer(ctx, std::move(body));
}

// Newest first; optionally only the trades of one account (as buyer or seller).
query_answer trades_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"limit", "address"});
  const auto limit = p.count("limit", limits::query_trades_default, 1, limits::query_trades_max);
  const auto address = p.address(ctx.ledger, "address", false);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  std::optional<ledger::account_index> who;
  if (address) who = l.account_index_of(*address).value_or(UINT32_MAX);
  const auto all = l.book().recent_trades();
  auto trades = json::array();
  for (auto it = all.rbegin(); it != all.rend() && trades.size() < limit; ++it) {
    if (who && it->buyer != *who && it->seller != *who) continue;
    trades.push_back(trade_json(l, *it));
  }
  json body;
  body["trades"] = std::move(trades);
  body["total_trades"] = l.sums().market_trades;
  body["total_volume_wh"] = l.sums().market_volume_wh;
  return answer(ctx, std::move(body));
}

// Per-epoch prices and volumes, newest first, for epochs with market activity.
query_answer epochs_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"limit"});
  const auto limit = p.count("limit", limits::query_epochs_default, 1, limits::query_epochs_max);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto all = ctx.ledger.book().epochs();
  auto epochs = json::array();
  for (auto it = all.rbegin(); it != all.rend() && epochs.size() < limit; ++it) {
    json j;
    j["epoch"] = it->epoch;
    j["buy_price_units_per_wh"] = it->buy_price_units_per_wh;
    j["sell_price_units_per_wh"] = it->sell_price_units_per_wh;
    j["trades"] = it->trade_count;
    j["volume_wh"] = it->volume_wh;
    // notional fits int64 for any real epoch; a string keeps it exact whatever its size
    j["notional_units"] = std::to_string(static_cast<long long>(it->notional_units));
    j["first_price_units_per_wh"] = it->first_price_units_per_wh;
    j["last_price_units_per_wh"] = it->last_price_units_per_wh;
    j["high_price_units_per_wh"] = it->high_price_units_per_wh;
    j["low_price_units_per_wh"] = it->low_price_units_per_wh;
    epochs.push_back(std::move(j));
  }
  json body;
  body["current_epoch"] = ctx.ledger.epoch();
  body["epochs"] = std::move(epochs);
  return answer(ctx, std::move(body));
}

// The account's history (newest first), paged: every event the analytics index recorded
// (transfers, readings, fees, grants, trades, EV charges; actors/analytics.hpp), plus the book's
// own ring of the account's order events (placed, replaced, cancelled, traded).
//   params: address; limit (1..500, default 100); before (seq: page cursor, events older than it)
query_answer account_history_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"address", "limit", "before"});
  const auto address = p.address(ctx.ledger, "address", true);
  const auto limit = p.count("limit", 100, 1, limits::history_page_max);
  const auto before = p.optional_count("before", 1, UINT64_MAX);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  json body;
  body["address"] = address_text(l, *address);
  const auto index = l.account_index_of(*address);
  auto events = json::array();
  body["complete"] = false;
  if (ctx.analytics != nullptr) {
    const auto& h = ctx.analytics->history();
    body["complete"] = ctx.analytics->history_complete();
    body["oldest_seq"] = h.empty() ? 0 : h.front().seq;
    if (index) {
      // Newest first from the cursor; the ring is in seq order, so the start is a binary search.
      auto it = before ? std::lower_bound(h.begin(), h.end(), *before,
                                          [](const history_event& e, uint64_t s) { return e.seq < s; })
                       : h.end();
      while (it != h.begin()) {
        --it;
        if (it->account != *index) continue;
        if (events.size() == limit) {
          body["next_before"] = events.back()["seq"];  // more remain: ask again with before = this
          break;
        }
        json j;
        j["seq"] = it->seq;
        j["log_index"] = it->log_index;
        j["epoch"] = it->epoch;
        j["time_ms"] = it->time_ms;
        j["kind"] = std::string(history_kind_text(it->kind));
        j["wh"] = it->wh;
        j["units"] = it->units;
        if (it->counterparty != history_event::no_account && it->counterparty < l.accounts().size())
          j["counterparty"] = address_text_of(l, it->counterparty);
        if (it->ref != 0) j["trade"] = it->ref;
        events.push_back(std::move(j));
      }
    }
  }
  body["events"] = std::move(events);
  auto market = json::array();
  if (index) {
    const auto h = l.book().history(*index);
    for (auto it = h.rbegin(); it != h.rend(); ++it) {
      json j;
      j["epoch"] = it->epoch;
      j["kind"] = std::string(market_kind_text(it->kind));
      j["order"] = it->order;
      if (it->trade) j["trade"] = it->trade;
      if (it->previous_order) j["previous_order"] = it->previous_order;
      j["side"] = std::string(side_text(it->order_side));
      j["price_units_per_wh"] = it->price_units_per_wh;
      j["quantity_wh"] = it->quantity_wh;
      market.push_back(std::move(j));
    }
  }
  body["market_events"] = std::move(market);
  return answer(ctx, std::move(body));
}

}  // namespace energo::actors::query_detail
