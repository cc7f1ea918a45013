#include "tools/sim/gode_sunder.hpp"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ledger/market/order_book.hpp"
#include "tools/sim/fixed_point.hpp"
#include "tools/sim/rng.hpp"

namespace energo::sim {

std::string_view kind_name(trader_kind k) noexcept { return k == trader_kind::zi_u ? "zi-u" : "zi-c"; }
std::string_view rules_name(rule_set r) noexcept { return r == rule_set::paper ? "paper" : "energo"; }

result<void> validate(const gs_config& c) {
  auto bad = [](const std::string& m) { return unexpected<error>{error{errc::bad_argument, m}}; };
  if (c.periods < 1 || c.periods > gs_periods_max) return bad("periods must be within [1, " + std::to_string(gs_periods_max) + "]");
  if (c.period_length < 1 || c.period_length > gs_period_length_max)
    return bad("period length must be within [1, " + std::to_string(gs_period_length_max) + "]");
  if (c.seeds < 1 || c.seeds > gs_seeds_max) return bad("seeds must be within [1, " + std::to_string(gs_seeds_max) + "]");
  return ok;
}

namespace {

using market::account_ref;
using market::order_book;
using market::side;

// Array-backed balances (one account per trader). settle() records anything the book should never
// have produced instead of trusting it: the simulator is also a test of the book.
class sim_balances final : public market::balance_view {
 public:
  sim_balances(std::size_t accounts, int64_t bmax_wh) : watt_(accounts, 0), tsl_(accounts, 0), bmax_wh_(bmax_wh) {}
  int64_t watt_wh(account_ref a) const override { return watt_[a]; }
  int64_t tsl_units(account_ref a) const override { return tsl_[a]; }
  int64_t watt_room_wh(account_ref a) const override { return std::max<int64_t>(0, bmax_wh_ - watt_[a]); }
  void settle(const market::trade& t) override {
    if (t.quantity_wh <= 0 || t.buyer == t.seller || watt_[t.seller] < t.quantity_wh || tsl_[t.buyer] < t.notional_units ||
        watt_[t.buyer] + t.quantity_wh > bmax_wh_ || t.notional_units != t.price_units_per_wh * t.quantity_wh)
      ++violations;
    watt_[t.seller] -= t.quantity_wh;
    watt_[t.buyer] += t.quantity_wh;
    tsl_[t.buyer] -= t.notional_units;
    tsl_[t.seller] += t.notional_units;
    watt_max_seen = std::max(watt_max_seen, watt_[t.buyer]);
    bought_max_seen = std::max(bought_max_seen, watt_[t.buyer]);
  }
  int64_t& watt(account_ref a) { return watt_[a]; }
  int64_t& tsl(account_ref a) { return tsl_[a]; }
  [[nodiscard]] int64_t total_watt() const { return sum(watt_); }
  [[nodiscard]] int64_t total_tsl() const { return sum(tsl_); }

  int64_t violations = 0;
  int64_t watt_max_seen = 0;
  int64_t bought_max_seen = 0;

 private:
  static int64_t sum(const std::vector<int64_t>& v) {
    int64_t s = 0;
    for (int64_t x : v) s += x;
    return s;
  }
  std::vector<int64_t> watt_;
  std::vector<int64_t> tsl_;
  int64_t bmax_wh_;
};

struct trader_state {
  const trader_schedule* plan = nullptr;
  int64_t traded_wh = 0;       // this period, in unit order
  market::order_id resting = 0;  // this trader's order in the book (0 = none)
  int64_t produced_units = 0;  // Energo rules, sellers: units that exist as WATT so far
};

// Accumulates one period's trades into the metrics.
struct period_stats {
  int64_t trades = 0;
  int64_t volume_wh = 0;
  int128 notional = 0;
  uint128 squared_deviation = 0;  // Σ q × (2p − 2P0)², P0 the CE midpoint
  int128 surplus = 0;
};

class gs_market {
 public:
  gs_market(const schedule& s, const equilibrium& ce, const gs_config& config, uint64_t seed)
      : s_(s), ce_(ce), config_(config), rng_(seed), book_(book_params(s)),
        balances_(s.traders.size(), config.rules == rule_set::paper ? paper_bmax(s) : s.effective_bmax_wh()) {
    traders_.resize(s.traders.size());
    for (std::size_t i = 0; i < s.traders.size(); ++i) traders_[i].plan = &s.traders[i];
    report_.seed = seed;
    report_.checks.bmax_wh = config.rules == rule_set::paper ? paper_bmax(s) : s.effective_bmax_wh();
    if (config_.observer) config_.observer->market_started(seed, s.traders.size());
  }

  market_report run() {
    for (int64_t p = 1; p <= config_.periods; ++p) run_period(p);
    int64_t eff = 0, alpha = 0, with_trades = 0;
    for (const auto& p : report_.periods) {
      eff += p.efficiency_bp;
      if (p.trades > 0) {
        alpha += p.alpha_centi;
        ++with_trades;
      }
    }
    report_.mean_efficiency_bp = eff / static_cast<int64_t>(report_.periods.size());
    report_.mean_alpha_centi = with_trades ? alpha / with_trades : 0;
    report_.checks.settle_violations = balances_.violations;
    report_.checks.watt_wh_max_seen = balances_.watt_max_seen;
    report_.checks.bought_wh_max_seen = balances_.bought_max_seen;
    return report_;
  }

 private:
  static market::market_params book_params(const schedule& s) {
    market::market_params p;
    p.accounts_max = static_cast<uint32_t>(s.traders.size());
    p.price_min = s.price_min;
    p.price_max = s.price_max;
    return p;
  }
  // Paper rules have no storage bound: Bmax is set so high that it never binds.
  static int64_t paper_bmax(const schedule& s) {
    int64_t units = 0;
    for (const auto& t : s.traders) units += static_cast<int64_t>(t.unit_prices.size());
    return units * s.unit_wh + 1;
  }

  int64_t units_wh(const trader_state& t) const { return static_cast<int64_t>(t.plan->unit_prices.size()) * s_.unit_wh; }
  bool active(const trader_state& t) const { return t.traded_wh < units_wh(t); }
  int64_t next_unit_price(const trader_state& t) const { return t.plan->unit_prices[static_cast<std::size_t>(t.traded_wh / s_.unit_wh)]; }
  bool is_buyer(const trader_state& t) const { return t.plan->trader_role == role::buyer; }

  // Surplus of moving q Wh at `price` for this trader, unit by unit in schedule order.
  int128 take(trader_state& t, int64_t price, int64_t q) {
    int128 surplus = 0;
    while (q > 0) {
      ENERGO_ASSERT(active(t), "a trader traded more than its schedule");
      const int64_t in_unit = std::min(q, s_.unit_wh - t.traded_wh % s_.unit_wh);
      const int64_t v = next_unit_price(t);
      surplus += static_cast<int128>(is_buyer(t) ? v - price : price - v) * in_unit;
      t.traded_wh += in_unit;
      q -= in_unit;
    }
    return surplus;
  }

  void record(std::span<const market::trade> trades, period_stats& st) {
    const int64_t p2 = ce_.price_times_two();
    for (const auto& tr : trades) {
      st.surplus += take(traders_[tr.buyer], tr.price_units_per_wh, tr.quantity_wh);
      st.surplus += take(traders_[tr.seller], tr.price_units_per_wh, tr.quantity_wh);
      ++st.trades;
      st.volume_wh += tr.quantity_wh;
      st.notional += tr.notional_units;
      const int128 d = static_cast<int128>(2) * tr.price_units_per_wh - p2;
      st.squared_deviation += static_cast<uint128>(d * d) * static_cast<uint128>(tr.quantity_wh);
      if (traders_[tr.buyer].resting != 0 && !book_.find(traders_[tr.buyer].resting, scratch_)) traders_[tr.buyer].resting = 0;
      if (traders_[tr.seller].resting != 0 && !book_.find(traders_[tr.seller].resting, scratch_)) traders_[tr.seller].resting = 0;
    }
  }

  // Every mutating call on the book goes through these, so an observer sees them all.
  void cancel_order(market::order_id id, account_ref a, uint64_t epoch) {
    if (config_.observer) config_.observer->before_call(balances_);
    auto c = book_.cancel(id, a, epoch);
    ENERGO_ASSERT(c.has_value(), "cancel of the trader's own resting order failed");
    if (config_.observer) {
      config_.observer->cancelled(id);
      config_.observer->after_call(book_);
    }
  }
  market::order_book::placement place_order(const market::order_request& request, uint64_t epoch) {
    if (config_.observer) config_.observer->before_call(balances_);
    auto r = book_.place(request, balances_, epoch);
    ENERGO_ASSERT(r.has_value(), "the book refused a valid simulator order");
    if (config_.observer) {
      config_.observer->placed(request, *r);
      config_.observer->after_call(book_);
    }
    return *r;
  }
  market::order_book::placement replace_order(const market::replace_request& request, uint64_t epoch) {
    if (config_.observer) config_.observer->before_call(balances_);
    auto r = book_.replace(request, balances_, epoch);
    ENERGO_ASSERT(r.has_value(), "the book refused a valid replace");
    if (config_.observer) {
      config_.observer->replaced(request, *r);
      config_.observer->after_call(book_);
    }
    return *r;
  }
  market::order_book::match_report match_pending(uint64_t epoch) {
    if (config_.observer) config_.observer->before_call(balances_);
    auto r = book_.match_pending(balances_, epoch);
    ENERGO_ASSERT(r.has_value(), "match_pending failed");
    if (config_.observer) {
      config_.observer->matched(*r);
      config_.observer->after_call(book_);
    }
    return *r;
  }

  void cancel_all(uint64_t epoch) {
    for (std::size_t i = 0; i < traders_.size(); ++i) {
      auto& t = traders_[i];
      if (t.resting == 0) continue;
      if (book_.find(t.resting, scratch_)) cancel_order(t.resting, static_cast<account_ref>(i), epoch);
      t.resting = 0;
    }
  }

  // Draws the next quote's price for this trader under the configured kind.
  int64_t draw_price(const trader_state& t) {
    if (config_.kind == trader_kind::zi_u) return rng_.uniform(s_.price_min, s_.price_max);
    const int64_t v = next_unit_price(t);
    return is_buyer(t) ? rng_.uniform(s_.price_min, v) : rng_.uniform(v, s_.price_max);
  }

  // Picks a trader uniformly among those that still have units; npos when the market cannot trade.
  std::size_t pick_trader() {
    active_.clear();
    bool buyers = false, sellers = false;
    for (std::size_t i = 0; i < traders_.size(); ++i)
      if (active(traders_[i])) {
        active_.push_back(i);
        (is_buyer(traders_[i]) ? buyers : sellers) = true;
      }
    if (!buyers || !sellers) return SIZE_MAX;
    return active_[rng_.below(active_.size())];
  }

  void reset_endowments() {
    for (std::size_t i = 0; i < traders_.size(); ++i) {
      auto& t = traders_[i];
      const auto a = static_cast<account_ref>(i);
      t.traded_wh = 0;
      t.produced_units = 0;
      t.resting = 0;
      balances_.watt(a) = 0;
      balances_.tsl(a) = 0;
      if (config_.rules == rule_set::paper) {
        // The paper's traders hold their goods and can always pay: funding never binds.
        if (is_buyer(t)) balances_.tsl(a) = units_wh(t) * s_.price_max;
        else balances_.watt(a) = units_wh(t);
      } else {
        // Energo: a buyer's TSL is the total value of its units (its budget); a seller starts with
        // nothing stored and produces its units during the period.
        if (is_buyer(t))
          for (int64_t v : t.plan->unit_prices) balances_.tsl(a) += v * s_.unit_wh;
      }
      book_.on_balance_changed(a);
    }
  }

  void run_period(int64_t period) {
    const auto epoch = static_cast<uint64_t>(period);
    reset_endowments();
    const int64_t tsl_start = balances_.total_tsl();
    const int64_t watt_start = balances_.total_watt();
    period_report pr;
    pr.period = period;
    period_stats st;
    for (int64_t step = 0; step < config_.period_length; ++step) {
      if (config_.rules == rule_set::energo) energy_event(step, epoch, pr, st);
      const std::size_t who = pick_trader();
      if (who == SIZE_MAX) {
        if (config_.rules == rule_set::paper) break;  // one side is exhausted: nothing can trade any more
        continue;
      }
      ++pr.submissions;
      if (config_.rules == rule_set::paper) paper_submission(who, epoch, pr, st);
      else energo_submission(who, epoch, pr, st);
    }
    if (config_.rules == rule_set::energo) pr.unfunded_at_end = book_.parked_orders();
    cancel_all(epoch);
    if (auto broken = book_.check_invariants(&balances_); !broken.empty() && report_.checks.book_invariants.empty())
      report_.checks.book_invariants = "period " + std::to_string(period) + ": " + broken;
    if (balances_.total_tsl() != tsl_start) report_.checks.tsl_conserved = false;
    if (balances_.total_watt() != watt_start + pr.produced_wh - pr.consumed_wh) report_.checks.watt_conserved = false;

    pr.trades = st.trades;
    pr.volume_wh = st.volume_wh;
    pr.surplus_units = static_cast<int64_t>(st.surplus);
    pr.efficiency_bp = ratio_scaled(st.surplus, ce_.max_surplus_units, 10'000);
    if (st.volume_wh > 0) {
      pr.mean_price_centi = static_cast<int64_t>(st.notional * 100 / st.volume_wh);
      // alpha = 100 × sqrt(Σq(p−P0)²/Σq) / P0; in doubled prices and hundredths:
      // alpha × 100 = sqrt(10^8 × Σq(2p−2P0)² / (Σq × (2P0)²)).
      const uint128 p2 = static_cast<uint128>(ce_.price_times_two());
      if (p2 > 0) pr.alpha_centi = static_cast<int64_t>(isqrt(st.squared_deviation * 100'000'000u / static_cast<uint128>(st.volume_wh) / (p2 * p2)));
    }
    report_.periods.push_back(pr);
  }

  // G&S rules: one unit per order; a quote that does not improve its side is discarded; after a
  // trade every resting order is cancelled (the book is cleared).
  void paper_submission(std::size_t who, uint64_t epoch, period_report& pr, period_stats& st) {
    trader_state& t = traders_[who];
    const int64_t price = draw_price(t);
    const side s = is_buyer(t) ? side::buy : side::sell;
    if (s == side::buy ? (book_.sell_price() != 0 && price <= book_.sell_price())
                       : (book_.buy_price() != 0 && price >= book_.buy_price())) {
      ++pr.discarded;
      return;
    }
    // The trader's new quote replaces its standing one (it could never trade before the better one).
    if (t.resting != 0) {
      cancel_order(t.resting, static_cast<account_ref>(who), epoch);
      t.resting = 0;
    }
    const auto placed = place_order(market::order_request{static_cast<account_ref>(who), s, market::order_kind::limit, price, s_.unit_wh}, epoch);
    ++pr.orders;
    if (placed.status == market::order_status::resting) t.resting = placed.id;
    if (!placed.trades.empty()) {
      record(placed.trades, st);
      cancel_all(epoch);
    }
  }

  // Energo rules: each trader keeps one resting order for the units it is willing to trade at the
  // drawn price; a new draw replaces it (loses priority). Orders may be unfunded (a seller's units
  // not produced yet, a buyer's budget or Bmax room short): they rest and execute when funded.
  void energo_submission(std::size_t who, uint64_t epoch, period_report& pr, period_stats& st) {
    trader_state& t = traders_[who];
    const int64_t price = draw_price(t);
    // ZI-C: only the units that remain profitable at this price (schedule order); ZI-U: all.
    int64_t quantity = 0;
    const int64_t total = units_wh(t);
    for (int64_t pos = t.traded_wh; pos < total;) {
      const int64_t v = t.plan->unit_prices[static_cast<std::size_t>(pos / s_.unit_wh)];
      if (config_.kind == trader_kind::zi_c && (is_buyer(t) ? v < price : v > price)) break;
      const int64_t in_unit = s_.unit_wh - pos % s_.unit_wh;
      quantity += in_unit;
      pos += in_unit;
    }
    ENERGO_ASSERT(quantity > 0, "an active trader drew a price with nothing to trade");
    const auto a = static_cast<account_ref>(who);
    market::order_book::placement placed;
    if (t.resting != 0 && book_.find(t.resting, scratch_)) {
      placed = replace_order(market::replace_request{t.resting, a, price, quantity}, epoch);
    } else {
      placed = place_order(market::order_request{a, is_buyer(t) ? side::buy : side::sell, market::order_kind::limit, price, quantity}, epoch);
    }
    ++pr.orders;
    t.resting = placed.status == market::order_status::resting ? placed.id : 0;
    record(placed.trades, st);
  }

  // Energo rules: energy arrives and leaves between submissions. Every other step a seller with
  // units still to produce (and room below Bmax) stores one unit; with probability 1/4 a buyer
  // holding WATT consumes up to one unit, which frees room below Bmax. Both change balances outside
  // a trade, so the book is told and resumes matching (SPEC §4 "funded at match time").
  void energy_event(int64_t step, uint64_t epoch, period_report& pr, period_stats& st) {
    if (step % 2 == 0) {
      candidates_.clear();
      for (std::size_t i = 0; i < traders_.size(); ++i) {
        const auto& t = traders_[i];
        if (!is_buyer(t) && t.produced_units < static_cast<int64_t>(t.plan->unit_prices.size()) &&
            balances_.watt(static_cast<account_ref>(i)) + s_.unit_wh <= report_.checks.bmax_wh)
          candidates_.push_back(i);
      }
      if (!candidates_.empty()) {
        const std::size_t i = candidates_[rng_.below(candidates_.size())];
        traders_[i].produced_units += 1;
        balances_.watt(static_cast<account_ref>(i)) += s_.unit_wh;
        balances_.watt_max_seen = std::max(balances_.watt_max_seen, balances_.watt(static_cast<account_ref>(i)));
        pr.produced_wh += s_.unit_wh;
        book_.on_balance_changed(static_cast<account_ref>(i));
      }
    }
    if (rng_.chance(1, 4)) {
      candidates_.clear();
      for (std::size_t i = 0; i < traders_.size(); ++i)
        if (is_buyer(traders_[i]) && balances_.watt(static_cast<account_ref>(i)) > 0) candidates_.push_back(i);
      if (!candidates_.empty()) {
        const std::size_t i = candidates_[rng_.below(candidates_.size())];
        const int64_t burn = std::min(s_.unit_wh, balances_.watt(static_cast<account_ref>(i)));
        balances_.watt(static_cast<account_ref>(i)) -= burn;
        pr.consumed_wh += burn;
        book_.on_balance_changed(static_cast<account_ref>(i));
      }
    }
    const auto matched = match_pending(epoch);
    pr.resumed_trades += static_cast<int64_t>(matched.trades.size());
    record(matched.trades, st);
  }

  const schedule& s_;
  const equilibrium& ce_;
  const gs_config& config_;
  rng rng_;
  order_book book_;
  sim_balances balances_;
  std::vector<trader_state> traders_;
  std::vector<std::size_t> active_;
  std::vector<std::size_t> candidates_;
  market::order_info scratch_;
  market_report report_;
};

}  // namespace

market_report run_market(const schedule& s, const equilibrium& ce, const gs_config& config, uint64_t seed) {
  gs_market m(s, ce, config, seed);
  return m.run();
}

result<gs_report> run_gode_sunder(const schedule& s, const gs_config& config) {
  if (auto v = validate(config); !v) return unexpected<error>{v.error()};
  gs_report r;
  r.config = config;
  r.market_schedule = s;
  r.ce = competitive_equilibrium(s);
  int64_t eff_sum = 0, alpha_sum = 0, alpha_n = 0, volume_sum = 0, periods = 0;
  int128 notional = 0;
  r.min_efficiency_bp = INT64_MAX;
  r.max_efficiency_bp = INT64_MIN;
  for (int64_t k = 0; k < config.seeds; ++k) {
    r.markets.push_back(run_market(s, r.ce, config, config.seed + static_cast<uint64_t>(k)));
    const auto& m = r.markets.back();
    r.min_efficiency_bp = std::min(r.min_efficiency_bp, m.mean_efficiency_bp);
    r.max_efficiency_bp = std::max(r.max_efficiency_bp, m.mean_efficiency_bp);
    for (const auto& p : m.periods) {
      eff_sum += p.efficiency_bp;
      volume_sum += p.volume_wh;
      notional += static_cast<int128>(p.mean_price_centi) * p.volume_wh;  // mean × volume: the period's notional × 100 (floored)
      if (p.trades > 0) {
        alpha_sum += p.alpha_centi;
        ++alpha_n;
      }
      ++periods;
    }
  }
  r.mean_efficiency_bp = eff_sum / periods;
  r.mean_alpha_centi = alpha_n ? alpha_sum / alpha_n : 0;
  r.mean_volume_wh = volume_sum / periods;
  r.mean_price_centi = volume_sum ? static_cast<int64_t>(notional / volume_sum) : 0;
  return r;
}

namespace {

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(s.begin(), width - s.size(), ' ');
  return s;
}

}  // namespace

std::string to_text(const gs_report& r) {
  std::ostringstream o;
  const auto& s = r.market_schedule;
  std::size_t buyers = 0, sellers = 0, buyer_units = 0, seller_units = 0;
  for (const auto& t : s.traders) {
    (t.trader_role == role::buyer ? buyers : sellers) += 1;
    (t.trader_role == role::buyer ? buyer_units : seller_units) += t.unit_prices.size();
  }
  o << "energo-sim gs: " << kind_name(r.config.kind) << " traders, " << rules_name(r.config.rules) << " rules, "
    << r.config.periods << " periods of " << r.config.period_length << " submissions, seeds " << r.config.seed << ".."
    << r.config.seed + static_cast<uint64_t>(r.config.seeds) - 1 << "\n";
  o << "schedule: " << buyers << " buyers (" << buyer_units << " units), " << sellers << " sellers (" << seller_units
    << " units), 1 unit = " << s.unit_wh
    << " Wh, prices [" << s.price_min << ", " << s.price_max << "] units/Wh";
  if (r.config.rules == rule_set::energo) o << ", Bmax " << s.effective_bmax_wh() << " Wh";
  o << "\n";
  o << "competitive equilibrium: quantity " << r.ce.quantity_units << " units (" << r.ce.quantity_units * s.unit_wh
    << " Wh), price [" << r.ce.price_low << ", " << r.ce.price_high << "] units/Wh, max surplus " << r.ce.max_surplus_units
    << " units\n";
  for (const auto& m : r.markets) {
    o << "\nmarket seed " << m.seed << "\n";
    o << "  period  orders  discarded  trades  volume_wh  mean_price   alpha  efficiency\n";
    for (const auto& p : m.periods) {
      o << pad(std::to_string(p.period), 8) << pad(std::to_string(p.orders), 8) << pad(std::to_string(p.discarded), 11)
        << pad(std::to_string(p.trades), 8) << pad(std::to_string(p.volume_wh), 11) << pad(fixed(p.mean_price_centi, 2), 12)
        << pad(fixed(p.alpha_centi, 2), 8) << pad(fixed(p.efficiency_bp, 2) + "%", 12) << "\n";
    }
    o << "  mean efficiency " << fixed(m.mean_efficiency_bp, 2) << "%, mean alpha " << fixed(m.mean_alpha_centi, 2);
    const auto& c = m.checks;
    o << "; checks: settle violations " << c.settle_violations << ", TSL " << (c.tsl_conserved ? "conserved" : "NOT conserved")
      << ", WATT " << (c.watt_conserved ? "conserved" : "NOT conserved") << ", max balance " << c.watt_wh_max_seen << " Wh";
    if (r.config.rules == rule_set::energo) o << " (Bmax " << c.bmax_wh << ")";
    o << ", book " << (c.book_invariants.empty() ? "ok" : c.book_invariants) << "\n";
  }
  o << "\nsummary over " << r.markets.size() << " market(s) x " << r.config.periods << " period(s): efficiency mean "
    << fixed(r.mean_efficiency_bp, 2) << "% (market means from " << fixed(r.min_efficiency_bp, 2) << "% to "
    << fixed(r.max_efficiency_bp, 2) << "%), alpha mean " << fixed(r.mean_alpha_centi, 2) << ", volume mean "
    << r.mean_volume_wh << " Wh per period, mean price " << fixed(r.mean_price_centi, 2) << " units/Wh\n";
  return o.str();
}

std::string to_json(const gs_report& r) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["mode"] = "gs";
  j["kind"] = kind_name(r.config.kind);
  j["rules"] = rules_name(r.config.rules);
  j["periods"] = r.config.periods;
  j["period_length"] = r.config.period_length;
  j["seed"] = r.config.seed;
  j["seeds"] = r.config.seeds;
  j["unit_wh"] = r.market_schedule.unit_wh;
  j["bmax_wh"] = r.config.rules == rule_set::energo ? r.market_schedule.effective_bmax_wh() : 0;
  j["equilibrium"] = {{"quantity_units", r.ce.quantity_units},
                      {"price_low", r.ce.price_low},
                      {"price_high", r.ce.price_high},
                      {"max_surplus_units", r.ce.max_surplus_units}};
  ordered_json markets = ordered_json::array();
  for (const auto& m : r.markets) {
    ordered_json periods = ordered_json::array();
    for (const auto& p : m.periods)
      periods.push_back({{"period", p.period},
                         {"submissions", p.submissions},
                         {"orders", p.orders},
                         {"discarded", p.discarded},
                         {"trades", p.trades},
                         {"volume_wh", p.volume_wh},
                         {"mean_price_centi", p.mean_price_centi},
                         {"alpha_centi", p.alpha_centi},
                         {"surplus_units", p.surplus_units},
                         {"efficiency_bp", p.efficiency_bp},
                         {"produced_wh", p.produced_wh},
                         {"consumed_wh", p.consumed_wh},
                         {"unfunded_at_end", p.unfunded_at_end},
                         {"resumed_trades", p.resumed_trades}});
    markets.push_back({{"seed", m.seed},
                       {"mean_efficiency_bp", m.mean_efficiency_bp},
                       {"mean_alpha_centi", m.mean_alpha_centi},
                       {"checks",
                        {{"settle_violations", m.checks.settle_violations},
                         {"tsl_conserved", m.checks.tsl_conserved},
                         {"watt_conserved", m.checks.watt_conserved},
                         {"watt_wh_max_seen", m.checks.watt_wh_max_seen},
                         {"bought_wh_max_seen", m.checks.bought_wh_max_seen},
                         {"bmax_wh", m.checks.bmax_wh},
                         {"book_invariants", m.checks.book_invariants}}},
                       {"periods", periods}});
  }
  j["markets"] = markets;
  j["summary"] = {{"mean_efficiency_bp", r.mean_efficiency_bp},   {"min_market_efficiency_bp", r.min_efficiency_bp},
                  {"max_market_efficiency_bp", r.max_efficiency_bp}, {"mean_alpha_centi", r.mean_alpha_centi},
                  {"mean_volume_wh", r.mean_volume_wh},             {"mean_price_centi", r.mean_price_centi}};
  return j.dump(2) + "\n";
}

}  // namespace energo::sim
