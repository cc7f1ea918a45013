// Market and ledger rules hardened by the "ledger and market hardening" issue, through signed
// commands: funding at the trade price (SPEC §4), EV purchases at Bmax (SPEC §5), no new WATT for
// accounts without TSL or with fee debt by any route (SPEC §3.4), 1 WATT = 1 kWh actually stored
// (SPEC §2), overflow-checked EV counters, and refused commands consuming their nonce (SPEC §8).
#include <gtest/gtest.h>

#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger {

// Test-only access to lifetime counters, to drive them to their int64 bounds (ledger.hpp befriends it).
struct ledger_test_access {
  static charging_station& station(ledger& l, uint32_t i) { return l.stations_.at(i); }
  static account& account_at(ledger& l, account_index i) { return l.accounts_.at(i); }
  static totals& sums(ledger& l) { return l.totals_; }
};

namespace market_test {
namespace {

using market::side;

class market_rules_test : public market_ledger_test {};

// SPEC §4: frank's 1000 units buy exactly 1000 Wh at the older ask's price 1, in one trade (funding
// at the bid's own limit 10 used to fill 91% of it in a chain of shrinking trades and leave an
// executable crossed book).
TEST_F(market_rules_test, a_bid_is_funded_at_the_trade_price_and_fills_in_one_trade) {
  mint(alice, 1000);
  must(make().ask(alice, 1, 1000));
  const auto out = must(make().bid(frank, 10, 1000));
  EXPECT_EQ(out.filled_wh, 1000);
  EXPECT_EQ(out.trades, 1);
  EXPECT_EQ(tsl(frank), 0);
  EXPECT_EQ(watt(frank), 1000);
  EXPECT_TRUE(orders(frank).empty());
}

// SPEC §5: the energy is burned at once, so a vehicle whose stored balance is at Bmax still buys it.
TEST_F(market_rules_test, a_vehicle_at_bmax_still_buys_energy_for_the_car) {
  must(make().station(0, sam, 1000));
  mint(vera, bmax_wh);
  mint(alice, 500);
  must(make().ask(alice, 2, 500));
  const uint64_t session = must(make().open_session(vera, 0, 100'000, 5)).session_id;
  const auto out = must(make().delivery(0, session, 100));
  EXPECT_EQ(out.filled_wh, 100);
  EXPECT_EQ(out.burned_wh, 100);
  EXPECT_EQ(out.grid_import_wh, 0);
  EXPECT_EQ(watt(vera), bmax_wh);  // the stored balance is untouched: the energy went into the car
  EXPECT_EQ(watt(alice), 400);
  ASSERT_EQ(l().open_sessions().count(session), 1u);
  EXPECT_EQ(l().open_sessions().at(session).settled_wh, 100);
  EXPECT_EQ(acct(vera).burned_wh, 100);
}

// SPEC §3.4 for transfers: an account without TSL (stranger's new address, or one that spent it all)
// or with unpaid fees may not receive WATT. The refusal consumes the sender's nonce only.
TEST_F(market_rules_test, watt_transfers_to_accounts_without_tsl_or_with_fee_debt_are_refused) {
  mint(alice, 300);
  const auto e = refused(make().transfer_watt(alice, stranger, 10), errc::no_storage_access);
  EXPECT_NE(e.message.find("holds no TSL"), std::string::npos) << e.message;
  EXPECT_EQ(l().find_account(addr(stranger)), nullptr);
  // dave owes fees: 100 Wh held at 50'000 units per kWh per epoch = 5000 units due, 5 paid.
  mint(dave, 100);
  must(make().params(50'000));
  must(make().next_epoch());
  ASSERT_GT(acct(dave).fee_debt_units, 0);
  must(make().params(0));
  must(make().transfer_tsl(bob, dave, 1000));  // TSL arrives; the debt stays until the next epoch
  const auto owed = refused(make().transfer_watt(alice, dave, 10), errc::no_storage_access);
  EXPECT_NE(owed.message.find("owes fees"), std::string::npos) << owed.message;
  // TSL transfers to them are fine.
  must(make().transfer_tsl(alice, stranger, 10));
}

// SPEC §3.4 for the market: a bid of an account with fee debt is skipped (parked), whatever its TSL,
// and trades once the debt is paid at the next epoch close.
TEST_F(market_rules_test, a_bid_of_an_account_with_fee_debt_is_skipped_until_the_debt_is_paid) {
  mint(dave, 100);
  must(make().params(50'000));
  must(make().next_epoch());
  must(make().params(0));
  ASSERT_GT(acct(dave).fee_debt_units, 0);
  must(make().transfer_tsl(bob, dave, 100'000));
  mint(alice, 50);
  must(make().ask(alice, 2, 50));
  const auto out = must(make().bid(dave, 3, 50));
  EXPECT_EQ(out.filled_wh, 0);
  ASSERT_EQ(orders(dave).size(), 1u);
  EXPECT_TRUE(orders(dave)[0].parked);
  // The next epoch close pays the debt (fee rate 0 now): the bid buys at alice's price.
  must(make().next_epoch());
  EXPECT_EQ(acct(dave).fee_debt_units, 0);
  EXPECT_TRUE(orders(dave).empty());
  EXPECT_EQ(watt(dave), 150);
}

// SPEC §2 at the boundary: total WATT reaches the declared capacity exactly and not one Wh more;
// energy beyond it goes to the grid; burning frees capacity again.
TEST_F(market_rules_test, total_watt_never_exceeds_the_declared_storage_capacity) {
  const int64_t cap = community_capacity_wh;
  // Fill the community's storage to 1 Wh below capacity over several members (Bmax 2000 each),
  // raising Bmax so one account can hold a lot.
  must(make().params(0, 30'000'000));  // Bmax = 2'000'000 Wh
  mint(whale, cap - 1);
  auto out = must(make().reading(alice, 5, 0));
  EXPECT_EQ(out.minted_wh, 1);
  EXPECT_EQ(out.grid_export_wh, 4);
  EXPECT_EQ(l().sums().watt_minted_wh - l().sums().watt_burned_wh, cap);
  out = must(make().reading(bob, 7, 0));
  EXPECT_EQ(out.minted_wh, 0);
  EXPECT_EQ(out.grid_export_wh, 7);
  // A burn frees capacity, and the same reading can use it for its export (import is booked first).
  out = must(make().reading(whale, 3, 10));
  EXPECT_EQ(out.burned_wh, 10);
  EXPECT_EQ(out.minted_wh, 3);
  EXPECT_EQ(l().sums().watt_minted_wh - l().sums().watt_burned_wh, cap - 7);
}

TEST(market_rules_storage, with_no_storage_unit_registered_nothing_is_minted) {
  auto created = ledger::create(market_genesis());
  ASSERT_TRUE(created.has_value());
  ledger l = std::move(*created);
  command_maker make(l);
  ASSERT_TRUE(l.verify_and_apply(make.register_meter_for(alice)).has_value());
  const auto out = l.verify_and_apply(make.reading(alice, 500, 0));
  ASSERT_TRUE(out.has_value()) << describe(out.error());
  EXPECT_EQ(out->minted_wh, 0);
  EXPECT_EQ(out->grid_export_wh, 500);
  EXPECT_EQ(l.find_account(addr(alice))->watt_wh, 0);
  EXPECT_EQ(l.storage_capacity_wh(), 0);
  // Registering a unit opens exactly its capacity.
  ASSERT_TRUE(l.verify_and_apply(make.storage_unit(0, whale, 300)).has_value());
  const auto after = l.verify_and_apply(make.reading(alice, 500, 0));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->minted_wh, 300);
  EXPECT_EQ(after->grid_export_wh, 200);
  EXPECT_TRUE(l.check_invariants().empty());
}

// One discipline for every counter: an EV delivery whose counters would overflow is refused before
// anything changes (the station's sequence is consumed, SPEC §8), like a meter reading.
TEST_F(market_rules_test, an_ev_delivery_that_would_overflow_a_lifetime_counter_is_refused) {
  must(make().station(0, sam, 1000));
  mint(alice, 500);
  must(make().ask(alice, 2, 500));
  const uint64_t session = must(make().open_session(vera, 0, 100'000, 5)).session_id;
  ledger_test_access::station(l(), 0).delivered_wh = INT64_MAX - 5;
  refused(make().delivery(0, session, 10), errc::overflow);
  ledger_test_access::station(l(), 0).delivered_wh = 0;
  // The vehicle's grid import and the community's total move together: per-account grid import
  // must add up to the total, an invariant debug builds check after every command.
  const int64_t shift = INT64_MAX - 5 - ledger_test_access::sums(l()).grid_import_wh;
  ledger_test_access::sums(l()).grid_import_wh += shift;
  ledger_test_access::account_at(l(), idx(vera)).grid_import_wh += shift;
  refused(make().delivery(0, session, 10), errc::overflow);
  ledger_test_access::sums(l()).grid_import_wh -= shift;
  ledger_test_access::account_at(l(), idx(vera)).grid_import_wh -= shift;
  EXPECT_EQ(must(make().delivery(0, session, 10)).filled_wh, 10);
}

// SPEC §8: an order refused for a rule (here: more resting orders than allowed) consumes its nonce,
// so nobody can resubmit it once the owner has cancelled an order and have it execute.
TEST_F(market_rules_test, a_refused_order_consumes_its_nonce_and_is_not_replayed_later) {
  for (int i = 0; i < 64; ++i) must(make().bid(alice, 1, 1));
  const auto extra = make().bid(alice, 2, 1);
  refused(extra, errc::market_rejected);
  must(make().cancel(alice, orders(alice).front().id));
  refused(extra, errc::stale_nonce);
  EXPECT_EQ(orders(alice).size(), 63u);
}

// The same for an EV session: opening one refused (the vehicle already has one) does not become
// valid once the first session closes.
TEST_F(market_rules_test, a_refused_session_open_consumes_its_nonce_and_is_not_replayed_later) {
  must(make().station(0, sam, 1000));
  const uint64_t first = must(make().open_session(vera, 0, 10'000, 5)).session_id;
  const auto second = make().open_session(vera, 0, 99'999, 9);
  refused(second, errc::already_exists);
  must(make().close(vera, first));
  refused(second, errc::stale_nonce);
  EXPECT_TRUE(l().open_sessions().empty());
}

}  // namespace
}  // namespace market_test
}  // namespace energo::ledger
