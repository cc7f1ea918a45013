#include "tools/sim/community.hpp"

#include <algorithm>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"
#include "tools/sim/curves.hpp"
#include "tools/sim/fixed_point.hpp"
#include "tools/sim/rng.hpp"

namespace energo::sim {

result<ledger::genesis> community_genesis(const community_genesis_spec& spec) {
  ledger::genesis g;
  g.community_id = spec.community_id;
  g.genesis_time_ms = spec.genesis_time_ms;
  g.params = spec.params;
  g.admins.push_back(spec.admin);
  g.allocations = spec.allocations;
  int64_t allocated = 0;
  for (const auto& a : spec.allocations) {
    const auto sum = checked_add(allocated, a.tsl_units);
    if (!sum || *sum > ledger::tsl_supply_units)
      return unexpected<error>{error{errc::bad_argument, "genesis allocations exceed the TSL supply"}};
    allocated = *sum;
  }
  g.allocations.push_back({spec.treasury, ledger::tsl_supply_units - allocated});
  return g;
}

result<void> validate(const community_config& c) {
  auto bad = [](const std::string& m) { return unexpected<error>{error{errc::bad_argument, m}}; };
  if (c.households < 2 || c.households > community_households_max)
    return bad("households must be within [2, " + std::to_string(community_households_max) + "]");
  if (c.days < 1 || c.days > community_days_max) return bad("days must be within [1, " + std::to_string(community_days_max) + "]");
  return ok;
}

namespace {

namespace L = energo::ledger;
using market::side;

static_assert(slots_per_day == 24 * 60 * 60 * 1000 / L::epoch_ms, "96 ticks of 15 minutes a day");
constexpr int64_t genesis_time_ms = 1'704'067'200'000;                // 2024-01-01T00:00:00Z
constexpr int64_t household_tsl_units = 1000 * L::tsl_units_per_tsl;
constexpr int64_t vehicle_tsl_units = 200 * L::tsl_units_per_tsl;
constexpr int64_t ev_power_w = 3700;
constexpr int64_t ev_session_cap_units = 2 * L::tsl_units_per_tsl;
constexpr int64_t station_fee_units_per_kwh = 50'000;
constexpr std::size_t refusals_kept = 10;

// Roles of the keys the simulator invents; the role byte keeps every key distinct.
enum key_role : uint8_t { role_admin = 1, role_household = 2, role_meter = 3, role_unit = 4, role_vehicle = 5,
                          role_station = 6, role_station_account = 7, role_treasury = 8 };

crypto::secp256k1_public_key account_key(key_role r, uint32_t i) {
  crypto::secp256k1_public_key k;
  k.bytes[0] = 0x02;
  k.bytes[1] = r;
  for (int b = 0; b < 4; ++b) k.bytes[2 + b] = static_cast<uint8_t>(i >> (8 * b));
  k.bytes[32] = 0x5a;
  return k;
}
crypto::ed25519_public_key device_key(key_role r, uint32_t i) {
  crypto::ed25519_public_key k;
  k.bytes[0] = r;
  for (int b = 0; b < 4; ++b) k.bytes[1 + b] = static_cast<uint8_t>(i >> (8 * b));
  k.bytes[31] = 0xa5;
  return k;
}
L::account_address address_of(const crypto::secp256k1_public_key& k) { return crypto::hash160_of(k.bytes); }

struct household {
  uint32_t index = 0;
  crypto::secp256k1_public_key key;
  crypto::ed25519_public_key meter;
  bool prosumer = false;
  bool uses_agent = false;
  int64_t pv_peak_w = 0;
  int64_t load_scale_permille = 1000;
  uint64_t nonce = 0;
  uint64_t meter_sequence = 0;
  int64_t export_total_wh = 0;
  int64_t import_total_wh = 0;
  uint64_t resting_order = 0;  // manual traders: their one order (0 = none)
};

struct vehicle {
  crypto::secp256k1_public_key key;
  uint64_t nonce = 0;
  uint32_t station = 0;
  uint64_t session = 0;       // open session id (0 = none)
  int64_t need_wh = 0;        // energy still wanted today
  int64_t delivered_wh = 0;   // cumulative in the session
  int64_t arrival_slot = -1;  // today's arrival, -1 = no charge today
};

struct station_state {
  crypto::ed25519_public_key key;
  uint64_t sequence = 0;
};

struct unit_state {
  crypto::ed25519_public_key key;
  uint32_t owner_household = 0;
  int64_t capacity_wh = 0;
  uint64_t nonce = 0;
};

class community_sim {
 public:
  explicit community_sim(const community_config& c) : config_(c), rng_(c.seed) {}

  result<community_report> run() {
    if (auto s = setup(); !s) return unexpected<error>{s.error()};
    for (int64_t d = 0; d < config_.days; ++d) run_day(d);
    report_.state_root_hex = crypto::to_hex(ledger_->state_root());
    report_.tsl_total_units = ledger_->tsl_total_units();
    report_.watt_total_wh = ledger_->watt_total_wh();
    report_.watt_minted_total_wh = ledger_->sums().watt_minted_wh;
    report_.watt_burned_total_wh = ledger_->sums().watt_burned_wh;
    return report_;
  }

 private:
  // Applies one command; a refusal is recorded (a correct simulation produces none).
  std::optional<L::apply_outcome> apply(L::command_body body) {
    auto out = ledger_->apply(L::command{std::move(body), {}});
    if (!out) {
      ++report_.commands_refused;
      if (report_.refusals.size() < refusals_kept)
        report_.refusals.push_back(std::string(L::errc_name(out.error().code)) + ": " + out.error().message);
      return std::nullopt;
    }
    ++report_.commands_applied;
    return *out;
  }

  L::admin_auth admin() { return L::admin_auth{admin_key_, ++admin_nonce_}; }

  result<void> setup() {
    report_.config = config_;
    admin_key_ = device_key(role_admin, 0);
    const auto n = static_cast<uint32_t>(config_.households);
    // Households: 40% prosumers with PV; every other household trades through an automatic agent.
    for (uint32_t i = 0; i < n; ++i) {
      household h;
      h.index = i;
      h.key = account_key(role_household, i);
      h.meter = device_key(role_meter, i);
      h.prosumer = i % 5 < 2;
      h.uses_agent = i % 2 == 0;
      h.pv_peak_w = h.prosumer ? rng_.uniform(3000, 8000) : 0;
      h.load_scale_permille = rng_.uniform(700, 1300);
      households_.push_back(h);
      report_.prosumers += h.prosumer ? 1 : 0;
      report_.agents += h.uses_agent ? 1 : 0;
    }
    report_.consumers = config_.households - report_.prosumers;
    // One storage unit per 5 households, owned by a prosumer; one EV per 4 households; one
    // charging station per 10 households (operated by an account of its own).
    const uint32_t unit_count = std::max<uint32_t>(1, n / 5);
    for (uint32_t k = 0; k < unit_count; ++k)
      units_.push_back(unit_state{device_key(role_unit, k), 5 * k, 5 * rng_.uniform(8'000, 20'000), 0});
    const uint32_t station_count = std::max<uint32_t>(1, n / 10);
    for (uint32_t k = 0; k < station_count; ++k) stations_.push_back(station_state{device_key(role_station, k), 0});
    const uint32_t vehicle_count = std::max<uint32_t>(1, n / 4);
    for (uint32_t k = 0; k < vehicle_count; ++k) {
      vehicle v;
      v.key = account_key(role_vehicle, k);
      v.station = k % station_count;
      vehicles_.push_back(v);
    }
    report_.storage_units = unit_count;
    report_.stations = station_count;
    report_.vehicles = vehicle_count;

    community_genesis_spec spec;
    spec.community_id = "energo-sim";
    spec.genesis_time_ms = genesis_time_ms;
    // Bmax = 4·Cu/(3·P) = 4·1500/(3·200) kWh = 10 kWh. Fee: 200 units per kWh held per epoch.
    spec.params = L::community_params{200, 150'000, 20'000, 0};
    spec.admin = admin_key_;
    for (const auto& h : households_) spec.allocations.push_back({address_of(h.key), household_tsl_units});
    for (const auto& v : vehicles_) spec.allocations.push_back({address_of(v.key), vehicle_tsl_units});
    spec.treasury = address_of(account_key(role_treasury, 0));
    auto g = community_genesis(spec);
    if (!g) return unexpected<error>{g.error()};
    auto created = L::ledger::create(*g);
    if (!created) return unexpected<error>{error{errc::bad_argument, "genesis refused: " + created.error().message}};
    ledger_.emplace(std::move(*created));
    report_.bmax_wh = ledger_->bmax_wh();
    bmax_wh_ = ledger_->bmax_wh();

    for (const auto& h : households_) apply(L::register_meter{admin(), h.meter, address_of(h.key), 0, 0});
    for (const auto& u : units_)
      apply(L::register_storage_unit{admin(), u.key, address_of(households_[u.owner_household].key), u.capacity_wh});
    for (uint32_t k = 0; k < stations_.size(); ++k)
      apply(L::register_station{admin(), stations_[k].key, address_of(account_key(role_station_account, k)), station_fee_units_per_kwh});
    // Agents (SPEC §4 "ZI"): a prosumer sells above a reserve at a fixed price, a consumer tops up
    // below a threshold at a fixed price. The unused side is set so that it never triggers.
    for (auto& h : households_) {
      if (!h.uses_agent) continue;
      L::set_agent a;
      a.from_key = h.key;
      a.nonce = ++h.nonce;
      a.enabled = true;
      if (h.prosumer) {
        a.buy_price_units_per_wh = 1;
        a.buy_below_wh = 0;
        a.sell_price_units_per_wh = rng_.uniform(1200, 2000);
        a.sell_above_wh = rng_.uniform(1000, 3000);
      } else {
        a.buy_price_units_per_wh = rng_.uniform(1600, 2600);
        a.buy_below_wh = rng_.uniform(3000, 6000);
        a.sell_price_units_per_wh = community_retail_price * 10;
        a.sell_above_wh = bmax_wh_;
      }
      apply(a);
    }
    if (report_.commands_refused != 0) return unexpected<error>{error{errc::bad_argument, "setup refused: " + report_.refusals.front()}};
    return ok;
  }

  void run_day(int64_t d) {
    day_report day;
    day.day = d + 1;
    const L::totals before = ledger_->sums();
    std::vector<int64_t> unit_fees_before;
    for (const auto& u : ledger_->storage_units()) unit_fees_before.push_back(u.fees_earned_units);
    std::vector<int64_t> station_fees_before;
    for (const auto& s : ledger_->stations()) station_fees_before.push_back(s.fees_earned_units);
    // Weather of the day for the whole community (30%–100% of clear sky), and the EVs' plans.
    const int64_t weather_permille = rng_.uniform(300, 1000);
    for (auto& v : vehicles_) {
      v.arrival_slot = rng_.chance(1, 2) ? rng_.uniform(64, 72) : -1;  // 16:00–18:00, every other day on average
      v.need_wh = v.arrival_slot >= 0 ? rng_.uniform(5000, 20000) : 0;
    }
    int128 notional_centi_sum = 0;
    int64_t buy_sum = 0, buy_n = 0, sell_sum = 0, sell_n = 0;
    for (int64_t slot = 0; slot < slots_per_day; ++slot) {
      const int64_t t = d * slots_per_day + slot;
      const int64_t slot_end_ms = genesis_time_ms + (t + 1) * L::epoch_ms;
      meter_readings(slot, slot_end_ms, weather_permille, day);
      ev_charging(slot, day);
      manual_orders(slot, weather_permille, day);
      storage_reports();
      apply(L::tick{slot_end_ms});
      // Market data of the epoch that just closed (epoch t).
      for (const auto& e : ledger_->book().epochs()) {
        if (e.epoch != static_cast<uint64_t>(t) || e.trade_count == 0) continue;
        day.trades += static_cast<int64_t>(e.trade_count);
        day.volume_wh += e.volume_wh;
        notional_centi_sum += e.notional_units * 100;
        day.trade_price_low = day.trade_price_low == 0 ? e.low_price_units_per_wh : std::min(day.trade_price_low, e.low_price_units_per_wh);
        day.trade_price_high = std::max(day.trade_price_high, e.high_price_units_per_wh);
      }
      if (int64_t p = ledger_->book().buy_price(); p > 0) { buy_sum += p; ++buy_n; }
      if (int64_t p = ledger_->book().sell_price(); p > 0) { sell_sum += p; ++sell_n; }
    }
    const L::totals& after = ledger_->sums();
    day.minted_wh = after.watt_minted_wh - before.watt_minted_wh;
    day.burned_wh = after.watt_burned_wh - before.watt_burned_wh;
    day.grid_import_wh = after.grid_import_wh - before.grid_import_wh;
    day.grid_export_wh = after.grid_export_wh - before.grid_export_wh;
    day.self_sufficiency_bp = ratio_scaled(day.burned_wh, day.burned_wh + day.grid_import_wh, 10'000);
    day.trade_price_centi = day.volume_wh ? static_cast<int64_t>(notional_centi_sum / day.volume_wh) : 0;
    day.buy_price_centi = buy_n ? buy_sum * 100 / buy_n : 0;
    day.sell_price_centi = sell_n ? sell_sum * 100 / sell_n : 0;
    day.agent_orders = after.agent_orders - before.agent_orders;
    day.fees_collected_units = after.fees_collected_units - before.fees_collected_units;
    day.fees_to_owners_units = after.fees_to_owners_units - before.fees_to_owners_units;
    const auto& units = ledger_->storage_units();
    for (std::size_t k = 0; k < units.size(); ++k)
      day.owner_fees.push_back(owner_income{"unit-" + std::to_string(k), "household-" + std::to_string(units_[k].owner_household),
                                            units[k].fees_earned_units - unit_fees_before[k]});
    const auto& stations = ledger_->stations();
    for (std::size_t k = 0; k < stations.size(); ++k) day.ev_station_fees_units += stations[k].fees_earned_units - station_fees_before[k];
    for (auto problem : ledger_->check_invariants())
      report_.invariant_problems.push_back("day " + std::to_string(day.day) + ": " + problem);
    report_.days.push_back(std::move(day));
  }

  int64_t production_wh(const household& h, int64_t slot, int64_t weather_permille) {
    if (!h.prosumer) return 0;
    // W × 0.25 h = Wh per slot; a ±10% per-household flicker on top of the day's weather.
    const int64_t flicker = rng_.uniform(900, 1100);
    return h.pv_peak_w * pv_shape_permille(slot) / 1000 * weather_permille / 1000 * flicker / 1000 / 4;
  }
  int64_t load_wh(const household& h, int64_t slot) {
    const int64_t noise = rng_.uniform(800, 1200);
    return load_shape_w(slot) * h.load_scale_permille / 1000 * noise / 1000 / 4;
  }

  // Each meter reports its cumulative registers at the end of the slot. Own PV serves own load
  // first (behind the meter); only the net flows are exported to / imported from the community.
  void meter_readings(int64_t slot, int64_t slot_end_ms, int64_t weather_permille, day_report& day) {
    for (auto& h : households_) {
      const int64_t produced = production_wh(h, slot, weather_permille);
      const int64_t used = load_wh(h, slot);
      day.production_wh += produced;
      day.load_wh += used;
      h.export_total_wh += std::max<int64_t>(0, produced - used);
      h.import_total_wh += std::max<int64_t>(0, used - produced);
      apply(L::meter_reading{h.meter, ++h.meter_sequence, slot_end_ms - 1000, h.export_total_wh, h.import_total_wh});
    }
  }

  // Vehicles arrive, open a session at their station (spending cap, price cap = the retail price),
  // and the station reports delivered energy every slot at 3.7 kW until the car is full.
  void ev_charging(int64_t slot, day_report& day) {
    for (auto& v : vehicles_) {
      if (v.session == 0 && v.arrival_slot == slot && v.need_wh > 0) {
        L::ev_open_session o{v.key, ++v.nonce, stations_[v.station].key, ev_session_cap_units, community_retail_price};
        if (auto out = apply(o)) {
          v.session = out->session_id;
          v.delivered_wh = 0;
          ++day.ev_sessions;
        }
      }
      if (v.session == 0) continue;
      const int64_t step = std::min(v.need_wh, ev_power_w / 4);
      v.need_wh -= step;
      v.delivered_wh += step;
      station_state& st = stations_[v.station];
      auto out = apply(L::ev_delivery{st.key, ++st.sequence, v.session, v.delivered_wh, v.need_wh == 0});
      if (out) {
        day.ev_community_wh += out->filled_wh;
        day.ev_grid_wh += out->grid_import_wh;
      }
      // The ledger closes the session when it finishes or when the caps or the book stop it; the
      // car then leaves (what it still wanted is charged elsewhere and not part of this community).
      if (!out || ledger_->open_sessions().count(v.session) == 0) {
        v.session = 0;
        v.need_wh = 0;
      }
    }
  }

  // Manual traders are ZI-C (Gode & Sunder): a consumer values energy at the retail price and bids
  // uniformly below it; a prosumer's cost is the feed-in price and it asks uniformly above it,
  // also for energy it expects to produce in the next hour (SPEC §4: asks may be unfunded).
  void manual_orders(int64_t slot, int64_t weather_permille, day_report& day) {
    for (auto& h : households_) {
      if (h.uses_agent || !rng_.chance(1, 6)) continue;
      const L::account* a = ledger_->find_account(address_of(h.key));
      const int64_t watt = a ? a->watt_wh : 0;
      int64_t quantity = 0;
      if (h.prosumer) {
        int64_t forecast = 0;
        for (int64_t s = slot + 1; s <= slot + 4 && s < slots_per_day; ++s)
          forecast += h.pv_peak_w * pv_shape_permille(s) / 1000 * weather_permille / 1000 / 4;
        quantity = watt + forecast / 2 - 1000;  // keep 1 kWh for the evening
      } else {
        quantity = bmax_wh_ / 2 - watt;
      }
      const int64_t price = rng_.uniform(community_feed_in_price, community_retail_price);
      market::order_info info;
      const bool resting = h.resting_order != 0 && ledger_->book().find(h.resting_order, info);
      if (quantity <= 0) {
        if (resting) apply(L::cancel_order{h.key, ++h.nonce, h.resting_order});
        h.resting_order = 0;
        continue;
      }
      std::optional<L::apply_outcome> out;
      if (resting) out = apply(L::replace_order{h.key, ++h.nonce, h.resting_order, price, quantity});
      else out = apply(L::place_order{h.key, ++h.nonce, h.prosumer ? side::sell : side::buy, market::order_kind::limit, price, quantity});
      if (out) {
        ++day.manual_orders;
        h.resting_order = ledger_->book().find(out->order_id, info) ? out->order_id : 0;
      }
    }
  }

  // Each storage unit reports the energy it holds for the community in this epoch: the
  // community's WATT split over the units by capacity (capped at capacity). The epoch's fee
  // proceeds go to the owners pro rata to these reports (SPEC §3.5).
  void storage_reports() {
    int64_t capacity = 0;
    for (const auto& u : units_) capacity += u.capacity_wh;
    const int64_t stored = ledger_->watt_total_wh();
    for (auto& u : units_) {
      const int64_t share = std::min<int64_t>(u.capacity_wh, static_cast<int64_t>(static_cast<int128>(stored) * u.capacity_wh / capacity));
      apply(L::storage_report{u.key, ++u.nonce, ledger_->epoch(), share});
    }
  }

  community_config config_;
  rng rng_;
  std::optional<L::ledger> ledger_;
  crypto::ed25519_public_key admin_key_;
  uint64_t admin_nonce_ = 0;
  int64_t bmax_wh_ = 0;
  std::vector<household> households_;
  std::vector<unit_state> units_;
  std::vector<station_state> stations_;
  std::vector<vehicle> vehicles_;
  community_report report_;
};

}  // namespace

result<community_report> run_community(const community_config& config) {
  if (auto v = validate(config); !v) return unexpected<error>{v.error()};
  community_sim sim(config);
  return sim.run();
}

std::string to_text(const community_report& r) {
  std::ostringstream o;
  o << "energo-sim community: " << r.config.households << " households (" << r.prosumers << " PV prosumers, " << r.consumers
    << " consumers, " << r.agents << " with automatic agents), " << r.storage_units << " storage units, " << r.vehicles
    << " EVs, " << r.stations << " charging stations; " << r.config.days << " days of 15-minute ticks, seed " << r.config.seed
    << ", Bmax " << r.bmax_wh << " Wh\n";
  o << "prices in TSL base units per Wh (grid feed-in " << community_feed_in_price << ", retail " << community_retail_price
    << "); energy in Wh; fees in TSL base units\n";
  for (const auto& d : r.days) {
    o << "\nday " << d.day << "\n";
    o << "  energy: PV " << d.production_wh << ", load " << d.load_wh << ", stored (minted) " << d.minted_wh
      << ", served from storage (burned) " << d.burned_wh << ", grid import " << d.grid_import_wh << ", grid export "
      << d.grid_export_wh << ", self-sufficiency " << fixed(d.self_sufficiency_bp, 2) << "%\n";
    o << "  market: " << d.trades << " trades, " << d.volume_wh << " Wh, trade price mean " << fixed(d.trade_price_centi, 2)
      << " [" << d.trade_price_low << ", " << d.trade_price_high << "], buy price (lowest ask) mean " << fixed(d.buy_price_centi, 2)
      << ", sell price (highest bid) mean " << fixed(d.sell_price_centi, 2) << "; orders: " << d.agent_orders << " by agents, "
      << d.manual_orders << " manual\n";
    o << "  EV: " << d.ev_sessions << " sessions, " << d.ev_community_wh << " Wh from the community, " << d.ev_grid_wh
      << " Wh from the grid, station fees " << d.ev_station_fees_units << "\n";
    o << "  fees: collected " << d.fees_collected_units << ", to storage owners " << d.fees_to_owners_units << ":";
    for (const auto& f : d.owner_fees) o << " " << f.unit << " (" << f.owner << ") " << f.fees_units;
    o << "\n";
  }
  o << "\nledger: " << r.commands_applied << " commands applied, " << r.commands_refused << " refused";
  for (const auto& m : r.refusals) o << "\n  refused: " << m;
  o << "\ninvariants: " << (r.invariant_problems.empty() ? "ok" : std::to_string(r.invariant_problems.size()) + " problem(s)");
  for (const auto& p : r.invariant_problems) o << "\n  " << p;
  o << "\nTSL total " << r.tsl_total_units << ", WATT total " << r.watt_total_wh << " = minted " << r.watt_minted_total_wh
    << " - burned " << r.watt_burned_total_wh << "\nstate root " << r.state_root_hex << "\n";
  return o.str();
}

std::string to_json(const community_report& r) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["mode"] = "community";
  j["households"] = r.config.households;
  j["days"] = r.config.days;
  j["seed"] = r.config.seed;
  j["bmax_wh"] = r.bmax_wh;
  j["prosumers"] = r.prosumers;
  j["consumers"] = r.consumers;
  j["agents"] = r.agents;
  j["storage_units"] = r.storage_units;
  j["vehicles"] = r.vehicles;
  j["stations"] = r.stations;
  ordered_json days = ordered_json::array();
  for (const auto& d : r.days) {
    ordered_json owners = ordered_json::array();
    for (const auto& f : d.owner_fees) owners.push_back({{"unit", f.unit}, {"owner", f.owner}, {"fees_units", f.fees_units}});
    days.push_back({{"day", d.day},
                    {"production_wh", d.production_wh},
                    {"load_wh", d.load_wh},
                    {"minted_wh", d.minted_wh},
                    {"burned_wh", d.burned_wh},
                    {"grid_import_wh", d.grid_import_wh},
                    {"grid_export_wh", d.grid_export_wh},
                    {"self_sufficiency_bp", d.self_sufficiency_bp},
                    {"trades", d.trades},
                    {"volume_wh", d.volume_wh},
                    {"trade_price_centi", d.trade_price_centi},
                    {"trade_price_low", d.trade_price_low},
                    {"trade_price_high", d.trade_price_high},
                    {"buy_price_centi", d.buy_price_centi},
                    {"sell_price_centi", d.sell_price_centi},
                    {"agent_orders", d.agent_orders},
                    {"manual_orders", d.manual_orders},
                    {"fees_collected_units", d.fees_collected_units},
                    {"fees_to_owners_units", d.fees_to_owners_units},
                    {"owner_fees", owners},
                    {"ev_sessions", d.ev_sessions},
                    {"ev_community_wh", d.ev_community_wh},
                    {"ev_grid_wh", d.ev_grid_wh},
                    {"ev_station_fees_units", d.ev_station_fees_units}});
  }
  j["days_report"] = days;
  j["commands_applied"] = r.commands_applied;
  j["commands_refused"] = r.commands_refused;
  j["refusals"] = r.refusals;
  j["invariant_problems"] = r.invariant_problems;
  j["tsl_total_units"] = r.tsl_total_units;
  j["watt_total_wh"] = r.watt_total_wh;
  j["watt_minted_total_wh"] = r.watt_minted_total_wh;
  j["watt_burned_total_wh"] = r.watt_burned_total_wh;
  j["state_root"] = r.state_root_hex;
  return j.dump(2) + "\n";
}

}  // namespace energo::sim
