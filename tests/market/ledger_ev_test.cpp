// EV charging through the ledger (SPEC §5): stations registered by an admin, sessions opened by
// the vehicle with a spending cap and a price cap, deliveries signed by the station's meter key and
// settled unattended through the order book (a market buy capped at the session's price cap),
// the bought energy burned at once, the station's service fee paid to its account, and energy
// that cannot be paid within the caps booked as grid import, stopping the session with a reason.
#include <gtest/gtest.h>

#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger::market_test {
namespace {

constexpr int64_t station_fee = 1000;  // units per kWh = 1 unit per Wh

class ev_test : public market_ledger_test {
 protected:
  void SetUp() override {
    market_ledger_test::SetUp();
    if (HasFatalFailure()) return;
    must(make().station(0, sam, station_fee));
  }
  const ev_session& open_session(uint64_t id) { return l().open_sessions().at(id); }
  const ev_session& last_closed() { return l().closed_sessions().back(); }
  const charging_station& station0() { return *l().find_station(keys().stations[0].public_key()); }
};

TEST_F(ev_test, only_an_admin_registers_a_station_with_a_fee_in_range) {
  // A key that is not an admin (a station's own key) signing an admin command.
  const auto& st1 = keys().stations[1];
  refused(sign_ed25519(register_station{{st1.public_key(), 1}, keys().stations[2].public_key(), addr(bob), 10}, st1,
                       l().genesis_hash()),
          errc::unauthorized);
  auto bad = make().station(1, bob, 10);
  bad.signature[9] ^= 4;
  refused(bad, errc::bad_signature);
  refused(make().admin_signed(register_station{{keys().admins[0].public_key(), make().next_admin_nonce() - 1},
                                               keys().stations[1].public_key(), addr(bob), 10}),
          errc::stale_nonce);
  refused(make().station(1, bob, -1), errc::out_of_range);
  refused(make().station(1, bob, limits::station_fee_units_per_kwh_max + 1), errc::out_of_range);
  refused(make().admin_signed(register_station{{keys().admins[0].public_key(), make().next_admin_nonce()},
                                               keys().stations[1].public_key(), education_pool_address(), 10}),
          errc::out_of_range);
  refused(make().station(0, bob, 10), errc::already_exists);
  // The fee bounds are inclusive; a station may be run by an account that does not exist yet.
  must(make().station(1, bob, limits::station_fee_units_per_kwh_max));
  const auto created = must(make().station(2, stranger, 0));
  EXPECT_TRUE(created.created_account);
  EXPECT_EQ(l().stations().size(), 3u);
  EXPECT_EQ(l().find_station(keys().stations[2].public_key())->account, idx(stranger));
}

TEST_F(ev_test, opening_a_session_checks_station_caps_and_the_vehicle) {
  auto bad = make().open_session(vera, 0, 10'000, 12);
  bad.signature[1] ^= 1;
  refused(bad, errc::bad_signature);
  refused(make().open_session(stranger, 0, 10'000, 12), errc::unknown_account);
  refused(make().open_session(vera, 3, 10'000, 12), errc::unknown_meter);  // station 3 not registered
  refused(make().open_session(vera, 0, 0, 12), errc::out_of_range);
  refused(make().open_session(vera, 0, -5, 12), errc::out_of_range);
  refused(make().open_session(vera, 0, tsl_supply_units + 1, 12), errc::out_of_range);
  refused(make().open_session(vera, 0, 10'000, 0), errc::out_of_range);
  refused(make().open_session(vera, 0, 10'000, 1'000'000'000'001), errc::out_of_range);
  refused(make().open_session(sam, 0, 10'000, 12), errc::self_transfer);  // the station's own account

  const auto root = l().state_root();
  const auto out = must(make().open_session(vera, 0, 10'000, 12));
  EXPECT_EQ(out.session_id, 1u);
  EXPECT_NE(l().state_root(), root);
  const ev_session& s = open_session(1);
  EXPECT_EQ(s.vehicle, idx(vera));
  EXPECT_EQ(s.cap_units, 10'000);
  EXPECT_EQ(s.price_cap_units_per_wh, 12);
  EXPECT_EQ(s.state, session_state::open);
  // One open session per vehicle, at any station.
  must(make().station(1, bob, 0));
  refused(make().open_session(vera, 0, 10'000, 12), errc::already_exists);
  refused(make().open_session(vera, 1, 10'000, 12), errc::already_exists);
  // Another vehicle may charge at the same station; the supply cap bound is inclusive.
  EXPECT_EQ(must(make().open_session(carol, 0, tsl_supply_units, 1'000'000'000'000)).session_id, 2u);
}

TEST_F(ev_test, deliveries_buy_energy_at_book_prices_and_pay_the_service_fee) {
  mint(alice, 1000);
  mint(bob, 1000);
  mint(carol, 500);
  must(make().ask(alice, 10, 1000));
  must(make().ask(bob, 12, 1000));
  must(make().ask(carol, 15, 500));  // above the price cap: never bought
  const uint64_t id = must(make().open_session(vera, 0, 100'000, 12)).session_id;

  auto out = must(make().delivery(0, id, 500));
  EXPECT_EQ(out.session_id, id);
  EXPECT_EQ(out.filled_wh, 500);
  EXPECT_EQ(out.burned_wh, 500);
  EXPECT_EQ(out.fees_units, 500);
  EXPECT_EQ(out.grid_import_wh, 0);
  EXPECT_EQ(tsl(vera), vera_units - 5000 - 500);
  EXPECT_EQ(watt(vera), 0);  // consumed at once
  EXPECT_EQ(acct(vera).burned_wh, 500);
  EXPECT_EQ(tsl(sam), sam_units + 500);
  EXPECT_EQ(tsl(alice), rich_units + 5000);
  EXPECT_EQ(watt(alice), 500);
  {
    const ev_session& s = open_session(id);
    EXPECT_EQ(s.delivered_wh, 500);
    EXPECT_EQ(s.settled_wh, 500);
    EXPECT_EQ(s.energy_cost_units, 5000);
    EXPECT_EQ(s.fees_units, 500);
    EXPECT_EQ(s.spent_units, 5500);
    EXPECT_EQ(s.unsettled_wh, 0);
  }

  // 1300 Wh more: alice's last 500 @ 10, then 800 of bob's @ 12.
  out = must(make().delivery(0, id, 1800));
  EXPECT_EQ(out.filled_wh, 1300);
  EXPECT_EQ(out.fees_units, 1300);
  EXPECT_EQ(tsl(vera), vera_units - 5500 - 5000 - 9600 - 1300);
  EXPECT_EQ(tsl(sam), sam_units + 1800);
  EXPECT_EQ(tsl(bob), rich_units + 9600);
  EXPECT_EQ(watt(bob), 200);
  EXPECT_EQ(watt(alice), 0);
  EXPECT_EQ(watt(carol), 500);
  EXPECT_EQ(open_session(id).spent_units, 5500 + 15'900);
  EXPECT_EQ(open_session(id).energy_cost_units, 5000 + 14'600);
  EXPECT_TRUE(orders(vera).empty());  // the market order never rests
  EXPECT_EQ(l().sums().watt_burned_wh, 1800);
  EXPECT_EQ(l().sums().grid_import_wh, 0);

  // The station reports the end of charging.
  out = must(make().delivery(0, id, 1800, true));
  EXPECT_EQ(out.filled_wh, 0);
  EXPECT_TRUE(l().open_sessions().empty());
  EXPECT_EQ(last_closed().id, id);
  EXPECT_EQ(last_closed().state, session_state::finished);
  EXPECT_EQ(last_closed().settled_wh, 1800);
  EXPECT_EQ(station0().delivered_wh, 1800);
  EXPECT_EQ(station0().fees_earned_units, 1800);
  refused(make().delivery(0, id, 1900), errc::out_of_range);  // no longer open
}

TEST_F(ev_test, the_spending_cap_is_never_exceeded) {
  mint(alice, 2000);
  must(make().ask(alice, 10, 2000));
  // 11 units per Wh at worst (price cap 10 + fee 1): a 5000-unit cap pays for 454 Wh.
  const uint64_t id = must(make().open_session(vera, 0, 5000, 10)).session_id;
  must(make().delivery(0, id, 300));
  EXPECT_EQ(open_session(id).spent_units, 3300);
  const auto out = must(make().delivery(0, id, 600));
  EXPECT_EQ(out.filled_wh, 154);  // floor(1700 · 1000 / 11000)
  EXPECT_EQ(out.grid_import_wh, 146);
  EXPECT_EQ(out.fees_units, 154);
  EXPECT_TRUE(l().open_sessions().empty());
  const ev_session& s = last_closed();
  EXPECT_EQ(s.state, session_state::stopped_cap);
  EXPECT_EQ(s.settled_wh, 454);
  EXPECT_EQ(s.unsettled_wh, 146);
  EXPECT_EQ(s.spent_units, 4994);
  EXPECT_LE(s.spent_units, s.cap_units);
  EXPECT_EQ(tsl(vera), vera_units - 4994);
  EXPECT_EQ(acct(vera).grid_import_wh, 146);
  EXPECT_EQ(l().sums().grid_import_wh, 146);
  EXPECT_EQ(watt(alice), 2000 - 454);
}

TEST_F(ev_test, a_vehicle_that_runs_out_of_tsl_stops_the_session) {
  // frank holds 1000 units: at 11 units per Wh at worst he can pay for 90 Wh.
  const uint64_t id = must(make().open_session(frank, 0, 100'000, 10)).session_id;
  mint(alice, 500);
  must(make().ask(alice, 10, 500));
  const auto out = must(make().delivery(0, id, 100));
  EXPECT_EQ(out.filled_wh, 90);
  EXPECT_EQ(out.grid_import_wh, 10);
  EXPECT_EQ(tsl(frank), frank_units - 900 - 90);
  EXPECT_EQ(tsl(sam), sam_units + 90);
  EXPECT_EQ(acct(frank).grid_import_wh, 10);
  EXPECT_EQ(last_closed().state, session_state::stopped_funds);
  EXPECT_EQ(last_closed().spent_units, 990);
}

TEST_F(ev_test, no_seller_within_the_price_cap_books_grid_import_and_stops) {
  mint(carol, 500);
  must(make().ask(carol, 15, 500));
  const uint64_t id = must(make().open_session(vera, 0, 100'000, 12)).session_id;
  const auto out = must(make().delivery(0, id, 400));
  EXPECT_EQ(out.filled_wh, 0);
  EXPECT_EQ(out.grid_import_wh, 400);
  EXPECT_EQ(out.fees_units, 0);
  EXPECT_EQ(tsl(vera), vera_units);
  EXPECT_EQ(tsl(sam), sam_units);
  EXPECT_EQ(acct(vera).grid_import_wh, 400);
  EXPECT_EQ(l().sums().grid_import_wh, 400);
  EXPECT_EQ(last_closed().state, session_state::stopped_supply);
  EXPECT_EQ(last_closed().unsettled_wh, 400);
  EXPECT_EQ(watt(carol), 500);
  EXPECT_EQ(orders(carol).size(), 1u);
}

TEST_F(ev_test, partial_supply_settles_what_the_book_has_and_stops_for_supply) {
  mint(alice, 100);
  must(make().ask(alice, 10, 100));
  const uint64_t id = must(make().open_session(vera, 0, 100'000, 12)).session_id;
  const auto out = must(make().delivery(0, id, 400));
  EXPECT_EQ(out.filled_wh, 100);
  EXPECT_EQ(out.grid_import_wh, 300);
  EXPECT_EQ(tsl(vera), vera_units - 1000 - 100);
  EXPECT_EQ(last_closed().state, session_state::stopped_supply);
}

// Regression: when the delivered energy equals exactly what the cap (or the funds) allow, a short
// supply is still a supply stop, not a cap stop: the cap was not reached.
TEST_F(ev_test, short_supply_is_reported_as_supply_even_when_the_delivery_equals_the_cap_room) {
  mint(alice, 40);
  must(make().ask(alice, 10, 40));
  // 1100 units at 11 per Wh at worst: exactly 100 Wh of room under the cap.
  const uint64_t id = must(make().open_session(vera, 0, 1100, 10)).session_id;
  const auto out = must(make().delivery(0, id, 100));
  EXPECT_EQ(out.filled_wh, 40);
  EXPECT_EQ(out.grid_import_wh, 60);
  EXPECT_EQ(last_closed().spent_units, 440);
  EXPECT_EQ(last_closed().state, session_state::stopped_supply);
}

TEST_F(ev_test, short_supply_is_reported_as_supply_even_when_the_delivery_equals_the_funds_room) {
  mint(alice, 40);
  must(make().ask(alice, 10, 40));
  // frank's 1000 units pay for exactly 90 Wh at 11 per Wh at worst.
  const uint64_t id = must(make().open_session(frank, 0, 100'000, 10)).session_id;
  const auto out = must(make().delivery(0, id, 90));
  EXPECT_EQ(out.filled_wh, 40);
  EXPECT_EQ(tsl(frank), frank_units - 440);
  EXPECT_EQ(last_closed().state, session_state::stopped_supply);
}

TEST_F(ev_test, the_vehicle_closes_its_own_session_only) {
  const uint64_t id = must(make().open_session(vera, 0, 10'000, 12)).session_id;
  refused(make().close(bob, id), errc::unauthorized);
  refused(make().close(vera, id + 1), errc::out_of_range);
  auto bad = make().close(vera, id);
  bad.signature[20] ^= 8;
  refused(bad, errc::bad_signature);
  const auto out = must(make().close(vera, id));
  EXPECT_EQ(out.session_id, id);
  EXPECT_TRUE(l().open_sessions().empty());
  EXPECT_EQ(last_closed().state, session_state::closed_by_vehicle);
  refused(make().close(vera, id), errc::out_of_range);
  refused(make().delivery(0, id, 10), errc::out_of_range);
  // A new session may be opened now.
  EXPECT_EQ(must(make().open_session(vera, 0, 10'000, 12)).session_id, id + 1);
}

TEST_F(ev_test, delivery_replays_foreign_stations_and_bad_reports_are_refused) {
  mint(alice, 1000);
  must(make().ask(alice, 10, 1000));
  must(make().station(1, bob, 0));
  const uint64_t id = must(make().open_session(vera, 0, 100'000, 12)).session_id;
  const auto first = make().delivery(0, id, 100);
  must(first);
  refused(first, errc::stale_nonce);  // the identical report again
  refused(sign_ed25519(ev_delivery{keys().stations[0].public_key(), 1, id, 200, false}, keys().stations[0], l().genesis_hash()),
          errc::stale_nonce);
  // Station 1 reporting for station 0's session.
  refused(make().delivery(1, id, 200), errc::unauthorized);
  // An unregistered station; a bad signature; a register going backwards; an unknown session;
  // a step above the per-report bound.
  refused(make().delivery(2, id, 200), errc::unknown_meter);
  auto bad = make().delivery(0, id, 200);
  bad.signature[33] ^= 1;
  refused(bad, errc::bad_signature);
  refused(make().delivery(0, id, 99), errc::register_backwards);
  refused(make().delivery(0, id + 7, 200), errc::out_of_range);
  refused(make().delivery(0, id, 100 + limits::reading_delta_wh_max + 1), errc::out_of_range);
  // None of that moved any energy or money.
  EXPECT_EQ(open_session(id).delivered_wh, 100);
  EXPECT_EQ(tsl(vera), vera_units - 1100);
  // A gap in the sequence is allowed.
  must(sign_ed25519(ev_delivery{keys().stations[0].public_key(), 5, id, 150, false}, keys().stations[0], l().genesis_hash()));
  EXPECT_EQ(open_session(id).delivered_wh, 150);
  EXPECT_EQ(station0().sequence, 5u);
}

TEST_F(ev_test, the_vehicles_purchase_never_trades_with_its_own_ask) {
  mint(vera, 500);
  must(make().ask(vera, 5, 500));  // the vehicle's own, cheaper ask
  mint(alice, 500);
  must(make().ask(alice, 10, 500));
  const uint64_t id = must(make().open_session(vera, 0, 100'000, 12)).session_id;
  const auto out = must(make().delivery(0, id, 300));
  EXPECT_EQ(out.filled_wh, 300);
  EXPECT_EQ(l().book().recent_trades().back().seller, idx(alice));
  EXPECT_EQ(tsl(alice), rich_units + 3000);
  // The vehicle's own ask is neither taken nor cancelled: it still offers its stored 500 Wh.
  ASSERT_EQ(orders(vera).size(), 1u);
  EXPECT_EQ(orders(vera)[0].remaining_wh, 500);
  EXPECT_EQ(watt(vera), 500);
  EXPECT_EQ(tsl(vera), vera_units - 3300);
}

// Regression (found by the property test, seed 2900724596056363478): the energy the vehicle buys
// for the car used to make its own parked ask executable inside the same call, so the ask sold it
// to another bidder before the ledger burned it — the vehicle's WATT went to -1.
TEST_F(ev_test, energy_bought_for_the_car_is_never_sold_on_by_the_vehicles_own_ask) {
  must(make().ask(vera, 1, 1));    // vera holds no WATT: unfunded
  must(make().bid(erin, 1, 5));    // crosses it: vera's ask is parked, erin's bid rests
  mint(alice, 5);
  must(make().ask(alice, 2, 5));
  const uint64_t id = must(make().open_session(vera, 0, 1000, 2)).session_id;
  const auto out = must(make().delivery(0, id, 3));
  EXPECT_EQ(out.filled_wh, 3);
  EXPECT_EQ(out.burned_wh, 3);
  EXPECT_EQ(watt(vera), 0);
  EXPECT_EQ(tsl(vera), vera_units - 6 - 3);
  EXPECT_EQ(tsl(alice), rich_units + 6);
  EXPECT_EQ(watt(erin), 0);
  ASSERT_EQ(orders(erin).size(), 1u);
  EXPECT_EQ(orders(erin)[0].remaining_wh, 5);
  ASSERT_EQ(orders(vera).size(), 1u);  // still there, still unfunded
  EXPECT_EQ(orders(vera)[0].remaining_wh, 1);
  EXPECT_EQ(l().sums().market_trades, 1);
}

}  // namespace
}  // namespace energo::ledger::market_test
