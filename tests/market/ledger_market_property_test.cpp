// RapidCheck properties over random sequences of signed market commands (SPEC §3.9, §4, §5, §8):
// orders of every kind, cancels, replaces, agents, EV sessions and deliveries, mixed with meter
// readings, transfers, parameter changes and ticks that close fee epochs, over a small population
// with very different balances. Some commands are faulty on purpose (stale nonce, bad signature,
// wrong signer, out-of-range fields). After every command:
//   - TSL total = 10^17; WATT total = minted − burned; no negative balance; none above Bmax;
//     ledger::check_invariants() is empty; every EV session spent no more than its cap;
//   - no bid and ask of different accounts cross while both can execute (independent oracle, and
//     the book's own check with a read-only view of the ledger's balances);
//   - a refused command leaves the state root unchanged;
//   - a second ledger fed the same commands answers the same and has the same root; at random
//     points it is replaced by a restore of the first one's snapshot and stays in step.
// RapidCheck prints its seed; reproduce with RC_PARAMS="seed=<n>".
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <iostream>
#include <set>
#include <sstream>

#include "tests/market/ledger_market_fixture.hpp"

#ifndef ENERGO_LEDGER_MARKET_PROPERTY_SCALE
#define ENERGO_LEDGER_MARKET_PROPERTY_SCALE 1
#endif
// The slow binary compiles this file again: its tests need their own names, or ctest would give
// both binaries' tests one set of labels (and CI would skip the fast ones as `slow`).
#if ENERGO_LEDGER_MARKET_PROPERTY_SCALE == 1
#define ENERGO_LEDGER_MARKET_PROPERTY_SUITE ledger_market_properties
#else
#define ENERGO_LEDGER_MARKET_PROPERTY_SUITE ledger_market_properties_slow
#endif

namespace energo::ledger::market_test {
namespace {

constexpr int property_scale = ENERGO_LEDGER_MARKET_PROPERTY_SCALE;
constexpr int cases_default = 250 * property_scale;
constexpr int steps_max = 80;
constexpr uint32_t population = whale + 1;  // accounts 0..9 act; `stranger` never exists

struct action {
  int kind = 0;
  int who = 0;
  int other = 0;
  int64_t price = 0;
  int64_t quantity = 0;
  int flavor = 0;   // 0..10 well-formed; 11 stale nonce, 12 bad signature, 13 wrong signer
  int restore = 1;  // 0: replace the twin by a restore of the first ledger's snapshot
};

std::ostream& operator<<(std::ostream& os, const action& a) {
  return os << "{kind " << a.kind << " who " << a.who << " other " << a.other << " price " << a.price << " qty "
            << a.quantity << " flavor " << a.flavor << " restore " << a.restore << "}";
}

rc::Gen<action> gen_action() {
  // Full ranges from the first case (RapidCheck otherwise scales inRange with the case size).
  return rc::gen::resize(100, rc::gen::build<action>(rc::gen::set(&action::kind, rc::gen::inRange(0, 17)),
                                                     rc::gen::set(&action::who, rc::gen::inRange(0, int(population))),
                                                     rc::gen::set(&action::other, rc::gen::inRange(0, 16)),
                                                     rc::gen::set(&action::price, rc::gen::inRange<int64_t>(0, 23)),
                                                     rc::gen::set(&action::quantity, rc::gen::inRange<int64_t>(-5, 1600)),
                                                     rc::gen::set(&action::flavor, rc::gen::inRange(0, 14)),
                                                     rc::gen::set(&action::restore, rc::gen::inRange(0, 15))));
}

// Signs an account command, applying the action's fault.
command account_command(const action& a, uint32_t n, command_body body, const ledger& l) {
  const uint32_t signer = a.flavor == 13 ? (n + 1) % population : n;
  command cmd = sign_secp256k1(std::move(body), keys().secrets[signer], l.genesis_hash());
  if (a.flavor == 12) cmd.signature[11] ^= 0x10;
  return cmd;
}

uint64_t nonce_for(const action& a, const ledger& l, uint32_t n) {
  const account* acct = l.find_account(addr(n));
  const uint64_t last = acct ? acct->nonce : 0;
  return a.flavor == 11 ? last : last + 1;
}

// The index in keys().stations of a registered station.
uint32_t station_number(const ledger& l, uint32_t station_index) {
  const auto& key = l.stations().at(station_index).key;
  for (uint32_t k = 0; k < keys().stations.size(); ++k)
    if (keys().stations[k].public_key() == key) return k;
  ENERGO_ASSERT(false, "station registered by the test");
  return 0;
}

command build_command(const action& a, const ledger& l) {
  const uint32_t n = static_cast<uint32_t>(a.who) % population;
  const auto& pub = keys().publics[n];
  const uint64_t nonce = nonce_for(a, l, n);
  const auto account_i = l.account_index_of(addr(n));
  const std::vector<market::order_info> mine =
      account_i ? l.book().orders_of(*account_i) : std::vector<market::order_info>{};
  command_maker m(l);
  switch (a.kind) {
    case 0:
    case 1:
    case 2:
    case 3: {  // place: mostly limit orders; IOC and market now and then
      const auto s = a.other % 2 == 0 ? market::side::buy : market::side::sell;
      const auto kind = a.flavor == 8 ? market::order_kind::immediate_or_cancel
                        : a.flavor == 9 ? market::order_kind::market
                                        : market::order_kind::limit;
      return account_command(a, n, place_order{pub, nonce, s, kind, a.price, a.quantity}, l);
    }
    case 4: {  // cancel one of its own orders, or someone else's / an unknown id
      const uint64_t id = (!mine.empty() && a.flavor != 10) ? mine[static_cast<std::size_t>(a.other) % mine.size()].id
                                                            : static_cast<uint64_t>(a.other) + 1;
      return account_command(a, n, cancel_order{pub, nonce, id}, l);
    }
    case 5: {  // replace
      const uint64_t id = (!mine.empty() && a.flavor != 10) ? mine[static_cast<std::size_t>(a.other) % mine.size()].id
                                                            : static_cast<uint64_t>(a.other) + 1;
      return account_command(a, n, replace_order{pub, nonce, id, a.price, a.quantity / 3 + 1}, l);
    }
    case 6: {  // agent: enable with prices around the book, or disable
      const bool enabled = a.other != 0;
      const int64_t buy_price = a.price % 12 + (a.flavor == 10 ? 0 : 1);
      const int64_t sell_price = buy_price + 1 + a.other % 6;
      const int64_t buy_below = std::max<int64_t>(a.quantity, -1) % 1200;
      const int64_t sell_above = buy_below + static_cast<int64_t>(a.other) * 60;
      return account_command(a, n, set_agent{pub, nonce, enabled, buy_price, buy_below, sell_price, sell_above}, l);
    }
    case 7:
    case 8: {  // meter reading: production (7) or consumption (8)
      const meter* mt = l.find_meter(keys().meters[n].public_key());
      ENERGO_ASSERT(mt != nullptr, "meters registered in setup");
      meter_reading r{keys().meters[n].public_key(), a.flavor == 11 ? mt->sequence : mt->sequence + 1, l.time_ms(),
                      mt->export_wh_total, mt->import_wh_total};
      if (a.kind == 7) r.export_wh_total += std::max<int64_t>(a.quantity, 0);
      else r.import_wh_total += std::max<int64_t>(a.quantity, 0) / 2;
      command cmd = sign_ed25519(r, keys().meters[a.flavor == 13 ? (n + 1) % population : n], l.genesis_hash());
      if (a.flavor == 12) cmd.signature[3] ^= 1;
      return cmd;
    }
    case 9: {  // transfer TSL or WATT to another member
      const uint32_t to = static_cast<uint32_t>(a.other) % population;
      const bool tsl = a.other % 2 == 0;
      return account_command(a, n, transfer{pub, nonce, addr(to), tsl ? asset::tsl : asset::watt,
                                           tsl ? a.quantity * 10 : a.quantity / 4},
                             l);
    }
    case 10: {  // tick, up to ~27 minutes: closes fee epochs now and then
      return command{tick{l.time_ms() + std::max<int64_t>(a.quantity, 0) * 1000}, {}};
    }
    case 11: {  // open an EV session (station 0 or 1; caps from the action, some invalid)
      const uint32_t st = static_cast<uint32_t>(a.other) % 3;  // station 2 is never registered
      return account_command(a, n, ev_open_session{pub, nonce, keys().stations[st].public_key(), a.quantity * 40, a.price},
                             l);
    }
    case 12:
    case 13: {  // a station's delivery for an open session
      if (l.open_sessions().empty())
        return sign_ed25519(ev_delivery{keys().stations[0].public_key(), m.next_station_sequence(0), 99, 10, false},
                            keys().stations[0], l.genesis_hash());
      auto it = l.open_sessions().begin();
      std::advance(it, static_cast<std::ptrdiff_t>(static_cast<std::size_t>(a.other) % l.open_sessions().size()));
      const ev_session& s = it->second;
      const uint32_t st = station_number(l, s.station);
      const uint32_t signer = a.flavor == 13 ? (st + 1) % 2 : st;
      const uint64_t sequence = a.flavor == 11 ? m.next_station_sequence(st) - 1 : m.next_station_sequence(st);
      command cmd = sign_ed25519(
          ev_delivery{keys().stations[st].public_key(), sequence, s.id, s.delivered_wh + std::max<int64_t>(a.quantity, 0) / 3,
                      a.flavor == 10},
          keys().stations[signer], l.genesis_hash());
      if (a.flavor == 12) cmd.signature[0] ^= 1;
      return cmd;
    }
    case 14: {  // the vehicle (or someone else) closes a session
      uint64_t id = static_cast<uint64_t>(a.other) + 1;
      for (const auto& [sid, s] : l.open_sessions())
        if (account_i && s.vehicle == *account_i) id = sid;
      return account_command(a, n, ev_close_session{pub, nonce, id}, l);
    }
    default: {  // 15, 16: parameters — fee rate and Bmax (2000..3500 Wh; lowering may be refused)
      community_params p = l.params();
      p.fee_units_per_kwh_epoch = (a.other % 3) * 50'000;
      p.storage_cost_per_user_cents = 30'000 + ((a.quantity % 4 + 4) % 4) * 7'500;
      command cmd = sign_ed25519(
          set_params{{keys().admins[0].public_key(), a.flavor == 11 ? m.next_admin_nonce() - 1 : m.next_admin_nonce()}, p},
          keys().admins[a.flavor == 13 ? 1 : 0], l.genesis_hash());
      if (a.flavor == 12) cmd.signature[5] ^= 1;
      return cmd;
    }
  }
}

void check_state(ledger& l) {
  market::int128 tsl_sum = 0, watt_sum = 0;
  for (const account& a : l.accounts()) {
    RC_ASSERT(a.tsl_units >= 0);
    RC_ASSERT(a.watt_wh >= 0);
    RC_ASSERT(a.watt_wh <= l.bmax_wh());
    tsl_sum += a.tsl_units;
    watt_sum += a.watt_wh;
  }
  RC_ASSERT(tsl_sum == static_cast<market::int128>(tsl_supply_units));
  RC_ASSERT(watt_sum == static_cast<market::int128>(l.sums().watt_minted_wh) - l.sums().watt_burned_wh);
  const auto problems = l.check_invariants();
  if (!problems.empty()) RC_FAIL(problems.front());
  const auto crossing = executable_crossing(l);
  if (!crossing.empty()) RC_FAIL(crossing);
  const read_only_view view(l);
  const auto book_problem = l.book().check_invariants(&view);
  if (!book_problem.empty()) RC_FAIL("order book: " + book_problem);
  for (const auto& [id, s] : l.open_sessions()) RC_ASSERT(s.spent_units <= s.cap_units);
  for (const auto& s : l.closed_sessions()) {
    RC_ASSERT(s.spent_units <= s.cap_units);
    RC_ASSERT(s.spent_units == s.energy_cost_units + s.fees_units);
    RC_ASSERT(s.settled_wh + s.unsettled_wh == s.delivered_wh);
    RC_ASSERT(s.state != session_state::open);
  }
}

// Setup shared by every case: meters for everyone, two stations, some energy to trade.
std::vector<command> setup_commands(ledger& l) {
  std::vector<command> out;
  command_maker m(l);
  auto add = [&](const command& cmd) {
    auto r = l.verify_and_apply(cmd);
    ENERGO_ASSERT(r.has_value(), "property setup command refused");
    out.push_back(cmd);
  };
  for (uint32_t n = 0; n < population; ++n) add(m.register_meter_for(n));
  add(m.storage_unit(0, whale, 12'000));  // tight enough that the capacity binds now and then
  add(m.station(0, sam, 1000));
  add(m.station(1, bob, 0));
  add(m.reading(alice, 1500, 0));
  add(m.reading(bob, 800, 0));
  add(m.reading(carol, 1000, 0));
  add(m.reading(walt, 400, 0));
  return out;
}

struct run_stats {
  int accepted = 0;
  int refused = 0;
  int parked_then_filled = 0;  // trades of orders that had been seen parked after an earlier command
};

run_stats run_sequence(const std::vector<action>& actions) {
  auto created = ledger::create(market_genesis());
  RC_ASSERT(created.has_value());
  ledger a = std::move(*created);
  auto twin_created = ledger::create(market_genesis());
  RC_ASSERT(twin_created.has_value());
  std::optional<ledger> b;
  b.emplace(std::move(*twin_created));
  for (const command& cmd : setup_commands(a)) RC_ASSERT(b->verify_and_apply(cmd).has_value());
  RC_ASSERT(a.state_root() == b->state_root());

  run_stats stats;
  std::set<uint64_t> parked_ever;
  uint64_t last_trade = 0;
  for (const action& act : actions) {
    if (act.restore == 0) {
      auto restored = ledger::restore(a.snapshot());
      if (!restored) RC_FAIL("restore of a valid snapshot failed: " + describe(restored.error()));
      RC_ASSERT(restored->state_root() == a.state_root());
      b.emplace(std::move(*restored));
    }
    const command cmd = build_command(act, a);
    const auto root_before = a.state_root();
    const ledger before = a;
    const auto ra = a.verify_and_apply(cmd);
    const auto rb = b->verify_and_apply(cmd);
    RC_ASSERT(ra.has_value() == rb.has_value());
    if (ra) {
      ++stats.accepted;
      RC_ASSERT(ra->filled_wh == rb->filled_wh);
      RC_ASSERT(ra->order_id == rb->order_id);
      RC_ASSERT(ra->fees_units == rb->fees_units);
      RC_ASSERT(ra->grid_import_wh == rb->grid_import_wh);
    } else {
      ++stats.refused;
      RC_ASSERT(ra.error().code == rb.error().code);
      RC_ASSERT(!ra.error().message.empty());
      // A refusal after authentication consumes exactly the signer's nonce (SPEC §8); any other
      // leaves the root as it was. (The generator never produces a backwards meter register.)
      const bool consumed = test_support::consumes_nonce(cmd, ra.error().code);
      const std::string diff = test_support::refusal_diff(before, a, cmd, consumed);
      if (!diff.empty()) RC_FAIL("refusal " + std::string(errc_name(ra.error().code)) + ": " + diff);
      if (!consumed) RC_ASSERT(a.state_root() == root_before);
    }
    check_state(a);
    RC_ASSERT(a.state_root() == b->state_root());
    for (const market::trade& t : a.book().recent_trades()) {
      if (t.id <= last_trade) continue;
      last_trade = t.id;
      if (parked_ever.count(t.buy_order) || parked_ever.count(t.sell_order)) ++stats.parked_then_filled;
    }
    for (account_index i = 0; i < a.accounts().size(); ++i)
      for (const auto& o : a.book().orders_of(i))
        if (o.parked) parked_ever.insert(o.id);
  }
  auto final_restore = ledger::restore(a.snapshot());
  RC_ASSERT(final_restore.has_value());
  RC_ASSERT(final_restore->state_root() == a.state_root());

  RC_CLASSIFY(a.sums().market_trades > 0, "traded");
  RC_CLASSIFY(a.sums().agent_orders > 0, "agent placed");
  RC_CLASSIFY(a.epoch() > 0, "closed an epoch");
  RC_CLASSIFY(a.closed_sessions().size() > 0, "closed an EV session");
  RC_CLASSIFY(a.book().parked_orders() > 0, "parked orders at the end");
  RC_CLASSIFY(stats.parked_then_filled > 0, "parked, then traded");
  return stats;
}

template <class testable>
void check_cases(testable&& property, int cases) {
  auto params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  std::cout << "rapidcheck seed=" << params.seed << " cases=" << cases << " (reproduce: RC_PARAMS=\"seed=" << params.seed
            << "\")" << std::endl;
  const auto result = rc::detail::checkTestable(std::forward<testable>(property), metadata, params);
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  if (!result.template is<rc::detail::SuccessResult>()) FAIL() << message.str();
  std::cout << message.str() << std::endl;
}

TEST(ENERGO_LEDGER_MARKET_PROPERTY_SUITE, random_market_sequences_keep_every_invariant_and_replicas_in_step) {
  check_cases(
      [] {
        const auto n = *rc::gen::resize(100, rc::gen::inRange(1, steps_max + 1));
        const auto actions = *rc::gen::container<std::vector<action>>(static_cast<std::size_t>(n), gen_action());
        run_sequence(actions);
      },
      cases_default);
}

// Orders and balance changes only, well-formed: a dense market where matching, parking and
// unparking dominate.
TEST(ENERGO_LEDGER_MARKET_PROPERTY_SUITE, dense_trading_keeps_the_book_uncrossed_and_assets_conserved) {
  int parked_then_filled_cases = 0;
  check_cases(
      [&] {
        const auto n = *rc::gen::resize(100, rc::gen::inRange(1, steps_max + 1));
        auto actions = *rc::gen::container<std::vector<action>>(static_cast<std::size_t>(n), gen_action());
        for (auto& act : actions) {
          static constexpr int dense_kinds[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 6, 0};
          act.kind = dense_kinds[static_cast<std::size_t>(act.kind) % 12];
          act.flavor = act.flavor % 11;
          act.price = 5 + act.price % 10;
          act.quantity = act.quantity < 0 ? 1 : act.quantity;
        }
        if (run_sequence(actions).parked_then_filled > 0) ++parked_then_filled_cases;
      },
      cases_default);
  // Coverage that matters, asserted: unfunded orders parked and traded later must be reached.
  EXPECT_GT(parked_then_filled_cases, 0) << "no case traded an order that had been parked";
}


// EV charging against a live market: orders, readings, agents and sessions at two stations, where
// vehicles also trade (their own asks and bids meet their purchases for the car).
TEST(ENERGO_LEDGER_MARKET_PROPERTY_SUITE, ev_charging_in_a_live_market_keeps_every_invariant) {
  check_cases(
      [] {
        const auto n = *rc::gen::resize(100, rc::gen::inRange(1, steps_max + 1));
        auto actions = *rc::gen::container<std::vector<action>>(static_cast<std::size_t>(n), gen_action());
        for (auto& act : actions) {
          static constexpr int ev_kinds[] = {0, 1, 2, 11, 12, 13, 7, 8, 14, 11, 12, 4, 6, 10, 3, 12, 9};
          act.kind = ev_kinds[static_cast<std::size_t>(act.kind) % 17];
          act.flavor = act.flavor % 12;
          act.price = 1 + act.price % 8;
          act.quantity = act.quantity < 0 ? 3 : act.quantity % 400;
        }
        run_sequence(actions);
      },
      cases_default);
}

}  // namespace
}  // namespace energo::ledger::market_test
