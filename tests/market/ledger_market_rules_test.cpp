// Market and ledger rules hardened by the "ledger and market hardening" issue, through signed
// commands: funding at the trade price (SPEC §4), EV purchases at Bmax (SPEC §5), no new WATT for
// accounts without TSL or with fee debt by any route (SPEC §3.4), 1 WATT = 1 kWh actually stored
// (SPEC §2), overflow-checked EV counters, and refused commands consuming their nonce (SPEC §8).
#include <gtest/gtest.h>

#include "tests/ledger/refusal_check.hpp"
#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger {

// Test-only access to lifetime counters, to drive them to their int64 bounds (ledger.hpp befriends it).
struct ledger_test_access {
  static charging_station& station(ledger& l, uint32_t i) { return l.stations_.at(i); }
  static account& account_at(ledger& l, account_index i) { return l.accounts_.at(i); }
  static totals& sums(ledger& l) { return l.totals_; }
  static storage_unit& unit(ledger& l, uint32_t i) { return l.units_.at(i); }
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

// --- One overflow discipline for every counter (issue 7 §1) -----------------------------------------
// Each unit of change checks every counter it raises at its worst case before changing anything. The
// counters are driven near INT64_MAX through ledger_test_access, moving each total together with the
// per-account (or per-unit) records that must add up to it, so the invariants still hold.

class overflow_test : public market_rules_test {
 protected:
  // Raises the fee totals (collected = to_owners + education + network; per-member fees paid add up to
  // collected) by the same amount, on alice's record and the network pool's share.
  void shift_fee_totals(int64_t shift) {
    ledger_test_access::sums(l()).fees_collected_units += shift;
    ledger_test_access::sums(l()).fees_to_network_units += shift;
    ledger_test_access::account_at(l(), idx(alice)).fees_paid_units += shift;
  }
  // A tick is a system command: refused, it changes nothing at all (no nonce to consume).
  void expect_tick_refused(const command& tick_cmd) {
    const ledger before = l();
    const auto root = l().state_root();
    auto r = l().apply(tick_cmd);
    ASSERT_FALSE(r.has_value()) << "the tick was accepted";
    EXPECT_EQ(errc_name(r.error().code), errc_name(errc::overflow)) << r.error().message;
    EXPECT_EQ(test_support::refusal_diff(before, l(), tick_cmd, false), "");
    EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(root));
    EXPECT_TRUE(l().snapshot() == before.snapshot());
  }
};

// close_epoch's totals: a tick whose epochs could collect more than the fee totals can hold is refused
// before any epoch closes. The worst case is the fees the held WATT can owe (alice's 1,000 Wh at 1,000
// units per kWh = 1,000 units per epoch), not epochs × supply: the boundary is exact.
TEST_F(overflow_test, a_tick_whose_fees_could_overflow_the_fee_totals_is_refused_and_changes_nothing) {
  must(make().params(1000));
  mint(alice, 1000);
  const int64_t headroom = 999;  // one unit short of one epoch's worst case
  shift_fee_totals(INT64_MAX - headroom - l().sums().fees_collected_units);
  expect_tick_refused(make().next_epoch());
  // A tick inside the epoch closes nothing and raises no counter: accepted.
  must(make().tick_to(l().time_ms() + 1000));
  // Exactly one epoch's worst case of room: accepted, and the totals land on INT64_MAX.
  shift_fee_totals(-1);
  const auto out = must(make().next_epoch());
  EXPECT_EQ(out.fees_units, 1000);
  EXPECT_EQ(l().sums().fees_collected_units, INT64_MAX);
  // Now no room at all: the next epoch close is refused.
  expect_tick_refused(make().next_epoch());
}

// A week-long tick with no WATT held and no debt owes nothing: accepted however full the totals are
// (a bound of epochs × supply would refuse every long tick at genesis).
TEST_F(overflow_test, a_long_tick_that_can_collect_no_fee_is_accepted_with_full_fee_totals) {
  must(make().params(1000));
  shift_fee_totals(INT64_MAX - l().sums().fees_collected_units);
  const auto out = must(make().tick_to(l().time_ms() + limits::tick_epochs_max * epoch_ms));
  EXPECT_EQ(out.epochs_closed, limits::tick_epochs_max);
}

// A member's own fees_paid and a storage unit's fees_earned are checked too, not only the totals.
TEST_F(overflow_test, a_tick_that_could_overflow_a_units_fees_earned_is_refused) {
  must(make().params(1000));
  mint(alice, 1000);
  ledger_test_access::unit(l(), 0).fees_earned_units = INT64_MAX - 10;
  expect_tick_refused(make().next_epoch());
  ledger_test_access::unit(l(), 0).fees_earned_units = 0;
  must(make().next_epoch());
}

// The market's totals: a trade the ledger's counters cannot take is not executed; nothing of it
// changes, the crossing stays pending, and it trades once the counter has room.
TEST_F(overflow_test, a_trade_that_would_overflow_the_market_volume_is_not_executed) {
  mint(alice, 100);
  must(make().ask(alice, 2, 100));
  ledger_test_access::sums(l()).market_volume_wh = INT64_MAX - 99;
  const ledger before = l();
  const auto bid = make().bid(bob, 2, 100);
  ASSERT_TRUE(l().verify_and_apply(bid).has_value());  // the order itself is accepted and rests
  EXPECT_EQ(watt(alice), 100);
  EXPECT_EQ(watt(bob), 0);
  EXPECT_EQ(tsl(bob), rich_units);
  EXPECT_EQ(l().sums().market_trades, before.sums().market_trades);
  EXPECT_EQ(l().sums().market_volume_wh, INT64_MAX - 99);
  EXPECT_TRUE(l().book().matching_pending());
  EXPECT_EQ(orders(bob).size(), 1u);
  // Room for exactly this trade: the next command resumes matching and the pair trades.
  ledger_test_access::sums(l()).market_volume_wh = INT64_MAX - 100;
  must(make().tick_to(l().time_ms() + 1000));
  EXPECT_EQ(watt(bob), 100);
  EXPECT_EQ(l().sums().market_volume_wh, INT64_MAX);
  EXPECT_FALSE(l().book().matching_pending());
}

// Per-command counters: a reading, a backwards reading and a grant are refused with `overflow` when a
// counter they raise is full (the signer's nonce is consumed, SPEC §8; nothing else changes).
TEST_F(overflow_test, readings_and_grants_are_refused_when_their_counters_are_full) {
  ledger_test_access::sums(l()).readings_accepted = INT64_MAX;
  refused(make().reading(alice, 10, 0), errc::overflow);
  ledger_test_access::sums(l()).readings_accepted = 0;
  mint(alice, 10);
  ledger_test_access::sums(l()).readings_refused_backwards = INT64_MAX;
  refused(make().reading(alice, -5, 0), errc::overflow);  // backwards: the flag counters are full
  ledger_test_access::sums(l()).readings_refused_backwards = 0;
  ledger_test_access::sums(l()).grants_paid_units = INT64_MAX - 999;
  refused(make().grant(stranger), errc::overflow);
  ledger_test_access::sums(l()).grants_paid_units = 0;
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
