// analytics and statement (actors/query.hpp) over the analytics index (actors/analytics.hpp).
#include "actors/analytics.hpp"
#include "actors/query_internal.hpp"
#include "common/checked.hpp"

namespace energo::actors::query_detail {

namespace {

json figures_json(const member_figures& f) {
  json j;
  member_figures::fields([&](const char* name, int64_t member_figures::*p) { j[name] = f.*p; });
  // Share of consumption served by the community (storage), in per mille; null without consumption.
  if (f.consumed_wh > 0) {
    j["self_sufficiency_permille"] = static_cast<int64_t>(static_cast<energo::int128>(f.community_wh) * 1000 / f.consumed_wh);
  } else {
    j["self_sufficiency_permille"] = nullptr;
  }
  return j;
}

// Figures of one account (or, without one, of every member together) in one period.
member_figures figures_of(const std::map<ledger::account_index, member_figures>& records,
                          std::optional<ledger::account_index> who) {
  if (who) {
    const auto it = records.find(*who);
    return it == records.end() ? member_figures{} : it->second;
  }
  member_figures sum;
  for (const auto& [a, f] : records) sum.add(f);
  return sum;
}

std::optional<ledger::account_index> tracked_index(const query_context& ctx, const ledger::account_address& a) {
  return ctx.ledger.account_index_of(a).value_or(UINT32_MAX);
}

}  // namespace

// Per day (and optionally per epoch) figures of one member, or of the whole community.
query_answer analytics_query(const query_context& ctx, const json& params) {
  if (ctx.analytics == nullptr) return fail(net::client_errc::not_supported, "no analytics index here");
  params_reader p(params, {"address", "from", "to", "epochs"});
  const auto address = p.address(ctx.ledger, "address", false);
  const auto from_text = p.text("from", false, 10);
  const auto to_text = p.text("to", false, 10);
  const auto epochs = p.count("epochs", 0, 0, limits::query_analytics_epochs_max);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& ix = *ctx.analytics;
  const int64_t today = ctx.ledger.time_ms() / limits::ms_per_day;
  int64_t to = today, from = today - limits::query_days_max + 1;
  if (to_text) {
    const auto d = parse_day(*to_text);
    if (!d) return fail(net::client_errc::malformed, "parameter \"to\" must be a date YYYY-MM-DD");
    to = *d;
  }
  if (from_text) {
    const auto d = parse_day(*from_text);
    if (!d) return fail(net::client_errc::malformed, "parameter \"from\" must be a date YYYY-MM-DD");
    from = *d;
  } else {
    from = to - limits::query_days_max + 1;
  }
  if (from > to || to - from + 1 > limits::query_days_max)
    return fail(net::client_errc::malformed, "from..to must be at most " + std::to_string(limits::query_days_max) + " days, from ≤ to");
  std::optional<ledger::account_index> who;
  if (address) who = tracked_index(ctx, *address);
  json body;
  if (address) body["address"] = address_text(ctx.ledger, *address);
  auto days = json::array();
  member_figures total;
  for (auto it = ix.days().lower_bound(static_cast<uint64_t>(std::max<int64_t>(from, 0)));
       it != ix.days().end() && static_cast<int64_t>(it->first) <= to; ++it) {
    const auto f = figures_of(it->second, who);
    if (f.empty()) continue;
    auto j = figures_json(f);
    j["day"] = day_text(static_cast<int64_t>(it->first));
    days.push_back(std::move(j));
    total.add(f);
  }
  body["days"] = std::move(days);
  body["total"] = figures_json(total);
  if (epochs > 0) {
    auto list = json::array();
    const auto& m = ix.epochs();
    for (auto it = m.rbegin(); it != m.rend() && list.size() < epochs; ++it) {
      const auto f = figures_of(it->second, who);
      if (f.empty()) continue;
      auto j = figures_json(f);
      j["epoch"] = it->first;
      list.push_back(std::move(j));
    }
    body["epochs"] = std::move(list);
  }
  body["from"] = day_text(from);
  body["to"] = day_text(to);
  body["complete"] = ix.complete();
  return answer(ctx, std::move(body));
}

// A member's bill for one day or one month: totals, the days, and the lifetime counters they
// reconcile with (sum of all statements since genesis = the counters, when "complete").
query_answer statement_query(const query_context& ctx, const json& params) {
  if (ctx.analytics == nullptr) return fail(net::client_errc::not_supported, "no analytics index here");
  params_reader p(params, {"address", "day", "month"});
  const auto address = p.address(ctx.ledger, "address", true);
  const auto day_param = p.text("day", false, 10);
  const auto month_param = p.text("month", false, 7);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  if (day_param.has_value() == month_param.has_value())
    return fail(net::client_errc::malformed, "give exactly one of \"day\" (YYYY-MM-DD) or \"month\" (YYYY-MM)");
  int64_t from = 0, to_exclusive = 0;
  if (day_param) {
    const auto d = parse_day(*day_param);
    if (!d) return fail(net::client_errc::malformed, "parameter \"day\" must be a date YYYY-MM-DD");
    from = *d, to_exclusive = *d + 1;
  } else {
    const auto m = parse_month(*month_param);
    if (!m) return fail(net::client_errc::malformed, "parameter \"month\" must be YYYY-MM");
    from = m->first, to_exclusive = m->second;
  }
  const auto& ix = *ctx.analytics;
  const auto who = tracked_index(ctx, *address);
  json body;
  body["address"] = address_text(ctx.ledger, *address);
  body["period"] = day_param ? *day_param : *month_param;
  member_figures total;
  auto days = json::array();
  for (auto it = ix.days().lower_bound(static_cast<uint64_t>(from));
       it != ix.days().end() && static_cast<int64_t>(it->first) < to_exclusive; ++it) {
    const auto f = figures_of(it->second, who);
    if (f.empty()) continue;
    auto j = figures_json(f);
    j["day"] = day_text(static_cast<int64_t>(it->first));
    days.push_back(std::move(j));
    total.add(f);
  }
  body["total"] = figures_json(total);
  body["days"] = std::move(days);
  // The period is fully covered unless retention dropped some of its days.
  body["complete"] = ix.from_genesis() && static_cast<int64_t>(ix.first_day_dropped()) <= from;
  if (const auto i = ctx.ledger.account_index_of(*address)) {
    const auto& a = ctx.ledger.accounts()[*i];
    json life;
    life["minted_wh"] = a.minted_wh;
    life["burned_wh"] = a.burned_wh;
    life["grid_export_wh"] = a.grid_export_wh;
    life["grid_import_wh"] = a.grid_import_wh;
    life["fees_paid_units"] = a.fees_paid_units;
    body["lifetime"] = std::move(life);
  }
  return answer(ctx, std::move(body));
}

}  // namespace energo::actors::query_detail
