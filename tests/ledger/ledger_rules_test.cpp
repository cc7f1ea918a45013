// One test per ledger rule (SPEC §3) and per refusal path (SPEC §8). Every refusal is checked
// through `refused()`: the error code, and an unchanged state root and snapshot.
#include "tests/ledger/ledger_fixture.hpp"

namespace energo::ledger::test {
namespace {

constexpr uint32_t alice = 0, bob = 1, carol = 2, dave = 3, eve = 4;  // eve holds no TSL

class rules_test : public ledger_test {
 protected:
  // Meter n books to account n (alice, bob, carol, dave, eve), and storage unit 9 (dave's) declares
  // enough capacity that it never binds unless a test says so (SPEC §2: WATT needs storage).
  void register_meters() {
    for (uint32_t n = 0; n <= eve; ++n) must(register_meter_cmd(n, account_address_of(n)));
    must(register_unit_cmd(9, account_address_of(dave), 1'000'000));
  }
  // Gives an account `wh` of WATT through its meter's export register.
  void mint_to(uint32_t n, int64_t wh) {
    const meter* m = l().find_meter(meter_key(n).public_key());
    ASSERT_NE(m, nullptr);
    auto out = must(reading(n, m->sequence + 1, l().time_ms(), m->export_wh_total + wh, m->import_wh_total));
    ASSERT_EQ(out.minted_wh, wh);
  }
  const meter& meter_of(uint32_t n) { return *l().find_meter(meter_key(n).public_key()); }
};

// ---------------------------------------------------------------------------------------------
// Registration of meters and storage units (admin commands)

TEST_F(rules_test, admin_registers_a_meter_for_an_account) {
  auto out = must(register_meter_cmd(0, account_address_of(alice), 1000, 500));
  EXPECT_FALSE(out.created_account);
  const meter& m = meter_of(0);
  EXPECT_EQ(l().accounts()[m.account].address, account_address_of(alice));
  EXPECT_EQ(m.export_wh_total, 1000);
  EXPECT_EQ(m.import_wh_total, 500);
  EXPECT_EQ(m.sequence, 0u);
  EXPECT_EQ(l().admin_nonces().at(admin_key(0).public_key()), 1u);
  // A meter for an address the ledger has not seen creates the account.
  auto created = must(register_meter_cmd(1, account_address_of(eve)));
  EXPECT_TRUE(created.created_account);
  ASSERT_NE(l().find_account(account_address_of(eve)), nullptr);
  EXPECT_EQ(acct(eve).tsl_units, 0);
}

TEST_F(rules_test, registration_by_a_non_admin_key_is_unauthorized) {
  // Correctly signed by its own key, but that key is not in the admin set.
  const auto outsider = meter_key(9);
  refused(sign_ed25519(register_meter{{outsider.public_key(), 1}, meter_key(0).public_key(), account_address_of(alice), 0, 0},
                       outsider, gh()),
          errc::unauthorized);
  refused(sign_ed25519(register_storage_unit{{outsider.public_key(), 1}, unit_key(0).public_key(), account_address_of(dave), 100},
                       outsider, gh()),
          errc::unauthorized);
  refused(sign_ed25519(set_params{{outsider.public_key(), 1}, default_params()}, outsider, gh()), errc::unauthorized);
  refused(sign_ed25519(education_grant{{outsider.public_key(), 1}, account_address_of(eve)}, outsider, gh()), errc::unauthorized);
}

TEST_F(rules_test, stale_admin_nonce_is_refused_and_admins_have_separate_nonces) {
  must(register_meter_cmd(0, account_address_of(alice)));  // admin 0, nonce 1
  const auto pk = admin_key(0).public_key();
  refused(sign_admin(register_meter{{pk, 1}, meter_key(1).public_key(), account_address_of(bob), 0, 0}), errc::stale_nonce);
  refused(sign_admin(register_meter{{pk, 0}, meter_key(1).public_key(), account_address_of(bob), 0, 0}), errc::stale_nonce);
  // Gaps are allowed; the next command must then be above the gap.
  must(sign_admin(register_meter{{pk, 10}, meter_key(1).public_key(), account_address_of(bob), 0, 0}));
  refused(sign_admin(register_meter{{pk, 9}, meter_key(2).public_key(), account_address_of(carol), 0, 0}), errc::stale_nonce);
  // Admin 1 still starts at nonce 1.
  must(sign_ed25519(register_meter{{admin_key(1).public_key(), 1}, meter_key(2).public_key(), account_address_of(carol), 0, 0},
                    admin_key(1), gh()));
  EXPECT_EQ(l().admin_nonces().at(pk), 10u);
  EXPECT_EQ(l().admin_nonces().at(admin_key(1).public_key()), 1u);
}

// SPEC §8: a refusal by a rule after authentication consumes the nonce (and changes nothing else).
TEST_F(rules_test, a_refused_admin_command_consumes_its_nonce_and_cannot_be_replayed) {
  must(register_meter_cmd(0, account_address_of(alice)));
  const auto duplicate = register_meter_cmd(0, account_address_of(bob));  // nonce 2
  refused(duplicate, errc::already_exists);
  EXPECT_EQ(next_admin_nonce(), 3u);
  refused(duplicate, errc::stale_nonce);  // the same signed command never executes later
  const auto reuse = sign_admin(register_meter{{admin_key(0).public_key(), 2}, meter_key(1).public_key(),
                                               account_address_of(bob), 0, 0});
  refused(reuse, errc::stale_nonce);
  must(register_meter_cmd(1, account_address_of(bob)));  // nonce 3
}

TEST_F(rules_test, duplicate_meter_or_unit_key_is_refused) {
  must(register_meter_cmd(0, account_address_of(alice)));
  refused(register_meter_cmd(0, account_address_of(bob)), errc::already_exists);
  must(register_unit_cmd(0, account_address_of(dave), 10'000));
  refused(register_unit_cmd(0, account_address_of(bob), 10'000), errc::already_exists);
}

TEST_F(rules_test, meter_registration_bounds) {
  refused(register_meter_cmd(0, account_address_of(alice), -1, 0), errc::out_of_range);
  refused(register_meter_cmd(0, account_address_of(alice), 0, -1), errc::out_of_range);
  refused(register_meter_cmd(0, account_address_of(alice), limits::register_wh_max + 1, 0), errc::out_of_range);
  refused(register_meter_cmd(0, account_address_of(alice), 0, limits::register_wh_max + 1), errc::out_of_range);
  refused(register_meter_cmd(0, education_pool_address()), errc::out_of_range);
  refused(register_meter_cmd(0, network_pool_address()), errc::out_of_range);
  must(register_meter_cmd(0, account_address_of(alice), limits::register_wh_max, limits::register_wh_max));
}

TEST_F(rules_test, storage_unit_registration_bounds) {
  refused(register_unit_cmd(0, account_address_of(dave), 0), errc::out_of_range);
  refused(register_unit_cmd(0, account_address_of(dave), -5), errc::out_of_range);
  refused(register_unit_cmd(0, account_address_of(dave), limits::storage_capacity_wh_max + 1), errc::out_of_range);
  refused(register_unit_cmd(0, network_pool_address(), 100), errc::out_of_range);
  auto out = must(register_unit_cmd(0, account_address_of(7), limits::storage_capacity_wh_max));
  EXPECT_TRUE(out.created_account);
  const storage_unit* u = l().find_storage_unit(unit_key(0).public_key());
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->capacity_wh, limits::storage_capacity_wh_max);
  EXPECT_EQ(l().accounts()[u->owner].address, account_address_of(7));
}

// ---------------------------------------------------------------------------------------------
// set_params and Bmax

TEST_F(rules_test, set_params_raises_bmax_and_issuance_follows) {
  register_meters();
  mint_to(alice, 2000);
  auto p = default_params();
  p.storage_cost_per_user_cents = 60'000;  // Bmax 4000 Wh
  must(set_params_cmd(p));
  EXPECT_EQ(l().bmax_wh(), 4000);
  EXPECT_EQ(l().params(), p);
  auto out = must(reading(alice, 2, l().time_ms(), 2000 + 2500, 0));
  EXPECT_EQ(out.minted_wh, 2000);
  EXPECT_EQ(out.grid_export_wh, 500);
  EXPECT_EQ(acct(alice).watt_wh, 4000);
}

TEST_F(rules_test, set_params_cannot_lower_bmax_below_a_balance) {
  register_meters();
  mint_to(alice, 1500);
  auto p = default_params();
  p.battery_price_cents_per_kwh = 40'000;  // Bmax 1000 Wh < alice's 1500
  refused(set_params_cmd(p), errc::invalid_params);
  p.battery_price_cents_per_kwh = 20'000;
  p.storage_cost_per_user_cents = 22'500;  // Bmax exactly 1500: allowed
  must(set_params_cmd(p));
  EXPECT_EQ(l().bmax_wh(), 1500);
}

TEST_F(rules_test, set_params_refuses_invalid_parameters) {
  auto p = default_params();
  p.battery_price_cents_per_kwh = 0;
  refused(set_params_cmd(p), errc::invalid_params);
  p = default_params();
  p.fee_units_per_kwh_epoch = limits::fee_units_per_kwh_epoch_max + 1;
  refused(set_params_cmd(p), errc::invalid_params);
  p = default_params();
  p.storage_cost_per_user_cents = 1;  // Bmax 0
  refused(set_params_cmd(p), errc::invalid_params);
}

// ---------------------------------------------------------------------------------------------
// Meter readings (SPEC §3.1)

TEST_F(rules_test, reading_books_the_delta_of_the_cumulative_registers) {
  must(register_meter_cmd(0, account_address_of(alice), 10'000, 5'000));
  must(register_unit_cmd(9, account_address_of(dave), 1'000'000));
  auto out = must(reading(0, 1, t0_ms, 10'300, 5'000));
  EXPECT_EQ(out.minted_wh, 300);
  EXPECT_EQ(out.burned_wh, 0);
  EXPECT_EQ(acct(alice).watt_wh, 300);
  EXPECT_EQ(acct(alice).minted_wh, 300);
  out = must(reading(0, 2, t0_ms + 1, 10'450, 5'100));
  EXPECT_EQ(out.burned_wh, 100);
  EXPECT_EQ(out.minted_wh, 150);
  EXPECT_EQ(acct(alice).watt_wh, 350);
  const meter& m = meter_of(0);
  EXPECT_EQ(m.sequence, 2u);
  EXPECT_EQ(m.export_wh_total, 10'450);
  EXPECT_EQ(m.import_wh_total, 5'100);
  EXPECT_EQ(m.last_timestamp_ms, t0_ms + 1);
  EXPECT_EQ(l().sums().readings_accepted, 2);
  EXPECT_EQ(l().sums().watt_minted_wh, 450);
  EXPECT_EQ(l().sums().watt_burned_wh, 100);
}

TEST_F(rules_test, duplicate_or_older_reading_sequence_is_stale) {
  register_meters();
  must(reading(alice, 5, t0_ms, 100, 0));
  refused(reading(alice, 5, t0_ms, 100, 0), errc::stale_nonce);  // exact duplicate (replay)
  refused(reading(alice, 5, t0_ms, 200, 0), errc::stale_nonce);  // same sequence, new values
  refused(reading(alice, 4, t0_ms, 200, 0), errc::stale_nonce);  // older
  refused(reading(bob, 0, t0_ms, 200, 0), errc::stale_nonce);    // 0 is never above the start
  EXPECT_EQ(acct(alice).watt_wh, 100);
}

TEST_F(rules_test, backwards_register_is_refused_and_flagged) {
  register_meters();
  must(reading(alice, 1, t0_ms, 1000, 300));
  const auto accounts_before = l().accounts();
  const meter before = meter_of(alice);
  const auto root_before = l().state_root();

  uint64_t sequence = 2;  // each refusal consumes its sequence (SPEC §8)
  for (auto [exp, imp] : {std::pair<int64_t, int64_t>{999, 300}, {1000, 299}, {0, 0}}) {
    auto r = l().verify_and_apply(reading(alice, sequence++, t0_ms, exp, imp));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::register_backwards) << r.error().message;
  }
  // The flag (the audit record SPEC §3.1 asks for) and the consumed sequence (SPEC §8: refused after
  // authentication) are the only traces: balances and registers are untouched.
  const meter& after = meter_of(alice);
  EXPECT_EQ(after.backwards_flags, before.backwards_flags + 3);
  EXPECT_EQ(after.sequence, 4u);
  EXPECT_EQ(after.export_wh_total, before.export_wh_total);
  EXPECT_EQ(after.import_wh_total, before.import_wh_total);
  EXPECT_EQ(after.last_timestamp_ms, before.last_timestamp_ms);
  EXPECT_EQ(l().sums().readings_refused_backwards, 3);
  ASSERT_EQ(l().accounts().size(), accounts_before.size());
  for (std::size_t i = 0; i < accounts_before.size(); ++i)
    EXPECT_EQ(account_leaf_bytes(l().accounts()[i]), account_leaf_bytes(accounts_before[i]));
  EXPECT_NE(l().state_root(), root_before) << "the flag is part of the replicated state";
  // The same sequence is spent; the corrected reading comes with the next one.
  refused(reading(alice, 4, t0_ms, 1200, 300), errc::stale_nonce);
  auto out = must(reading(alice, 5, t0_ms, 1200, 300));
  EXPECT_EQ(out.minted_wh, 200);
}

TEST_F(rules_test, reading_from_an_unknown_meter_is_refused) {
  register_meters();
  refused(reading(9, 1, t0_ms, 100, 0), errc::unknown_meter);
}

TEST_F(rules_test, out_of_range_registers_are_refused) {
  register_meters();
  uint64_t seq = 1;  // each refusal consumes its sequence (SPEC §8)
  refused(reading(alice, seq++, t0_ms, -1, 0), errc::out_of_range);
  refused(reading(alice, seq++, t0_ms, 0, -1), errc::out_of_range);
  refused(reading(alice, seq++, t0_ms, limits::register_wh_max + 1, 0), errc::out_of_range);
  refused(reading(alice, seq++, t0_ms, 0, INT64_MAX), errc::out_of_range);
  // A jump above reading_delta_wh_max between two readings is refused, not booked.
  refused(reading(alice, seq++, t0_ms, limits::reading_delta_wh_max + 1, 0), errc::out_of_range);
  refused(reading(alice, seq++, t0_ms, 0, limits::reading_delta_wh_max + 1), errc::out_of_range);
  auto out = must(reading(alice, seq++, t0_ms, limits::reading_delta_wh_max, 0));
  EXPECT_EQ(out.minted_wh + out.grid_export_wh, limits::reading_delta_wh_max);
}

TEST_F(rules_test, reading_time_may_not_go_backwards_or_run_far_ahead) {
  register_meters();
  must(tick_at(t0_ms + 10'000));
  must(reading(alice, 1, t0_ms + 5'000, 10, 0));
  refused(reading(alice, 2, t0_ms + 4'999, 20, 0), errc::time_backwards);
  refused(reading(alice, 3, l().time_ms() + limits::meter_clock_skew_ms_max + 1, 20, 0), errc::out_of_range);
  must(reading(alice, 4, l().time_ms() + limits::meter_clock_skew_ms_max, 20, 0));
  // A meter registered later starts at the ledger time of its registration.
  must(register_meter_cmd(7, account_address_of(alice)));
  refused(reading(7, 1, l().time_ms() - 1, 10, 0), errc::time_backwards);
}

TEST_F(rules_test, reading_time_check_does_not_overflow_near_the_end_of_time) {
  auto g = default_genesis();
  g.genesis_time_ms = INT64_MAX - 1000;
  start(g);
  must(register_meter_cmd(0, account_address_of(alice)));
  must(register_unit_cmd(9, account_address_of(dave), 1'000'000));
  auto out = must(reading(0, 1, INT64_MAX, 100, 0));
  EXPECT_EQ(out.minted_wh, 100);
}

TEST_F(rules_test, a_lost_reading_loses_no_energy) {
  register_meters();
  must(reading(alice, 1, t0_ms, 100, 0));
  // Reading 2 (export 400) never arrives; reading 3 carries the cumulative register.
  auto out = must(reading(alice, 3, t0_ms + 1, 700, 0));
  EXPECT_EQ(out.minted_wh, 600);
  EXPECT_EQ(acct(alice).watt_wh, 700);
  // The late reading 2 is now stale: it cannot book the same energy twice.
  refused(reading(alice, 2, t0_ms + 1, 400, 0), errc::stale_nonce);
}

// ---------------------------------------------------------------------------------------------
// Issuance (SPEC §3.2), storage access (§3.4) and burn (§3.3)

TEST_F(rules_test, issuance_stops_at_bmax_and_the_excess_goes_to_the_grid) {
  register_meters();
  auto out = must(reading(alice, 1, t0_ms, 2500, 0));
  EXPECT_EQ(out.minted_wh, 2000);
  EXPECT_EQ(out.grid_export_wh, 500);
  EXPECT_EQ(acct(alice).watt_wh, default_bmax_wh);
  EXPECT_EQ(acct(alice).grid_export_wh, 500);
  out = must(reading(alice, 2, t0_ms, 2600, 0));
  EXPECT_EQ(out.minted_wh, 0);
  EXPECT_EQ(out.grid_export_wh, 100);
  EXPECT_EQ(l().sums().grid_export_wh, 600);
  EXPECT_EQ(l().sums().watt_minted_wh, 2000);
}

TEST_F(rules_test, an_account_without_tsl_gets_no_watt) {
  register_meters();
  ASSERT_EQ(acct(eve).tsl_units, 0);
  auto out = must(reading(eve, 1, t0_ms, 800, 0));
  EXPECT_EQ(out.minted_wh, 0);
  EXPECT_EQ(out.grid_export_wh, 800);
  EXPECT_EQ(acct(eve).watt_wh, 0);
  EXPECT_EQ(acct(eve).grid_export_wh, 800);
  // Once it holds TSL, its exports are stored.
  must(xfer(alice, 1, account_address_of(eve), asset::tsl, 1));
  out = must(reading(eve, 2, t0_ms, 1000, 0));
  EXPECT_EQ(out.minted_wh, 200);
  EXPECT_EQ(acct(eve).watt_wh, 200);
}

TEST_F(rules_test, import_burns_watt_and_the_deficit_comes_from_the_grid) {
  register_meters();
  mint_to(alice, 800);
  auto out = must(reading(alice, 2, t0_ms, 800, 300));
  EXPECT_EQ(out.burned_wh, 300);
  EXPECT_EQ(out.grid_import_wh, 0);
  EXPECT_EQ(acct(alice).watt_wh, 500);
  out = must(reading(alice, 3, t0_ms, 800, 1300));
  EXPECT_EQ(out.burned_wh, 500);
  EXPECT_EQ(out.grid_import_wh, 500);
  EXPECT_EQ(acct(alice).watt_wh, 0);
  EXPECT_EQ(acct(alice).burned_wh, 800);
  EXPECT_EQ(acct(alice).grid_import_wh, 500);
  EXPECT_EQ(l().sums().watt_burned_wh, 800);
  EXPECT_EQ(l().sums().grid_import_wh, 500);
  // An account without TSL (and so without WATT) imports everything from the grid.
  out = must(reading(eve, 1, t0_ms, 0, 250));
  EXPECT_EQ(out.burned_wh, 0);
  EXPECT_EQ(out.grid_import_wh, 250);
}

TEST_F(rules_test, import_is_booked_before_export_in_one_reading) {
  register_meters();
  mint_to(alice, 2000);  // at Bmax
  auto out = must(reading(alice, 2, t0_ms, 2000 + 500, 500));
  EXPECT_EQ(out.burned_wh, 500);
  EXPECT_EQ(out.minted_wh, 500) << "the burn makes room below Bmax for the export";
  EXPECT_EQ(out.grid_export_wh, 0);
  EXPECT_EQ(acct(alice).watt_wh, 2000);
}

// ---------------------------------------------------------------------------------------------
// Transfers (SPEC §3.8)

TEST_F(rules_test, tsl_transfer_moves_units_and_records_the_key) {
  auto out = must(xfer(alice, 1, account_address_of(bob), asset::tsl, 12'345));
  EXPECT_FALSE(out.created_account);
  EXPECT_EQ(acct(alice).tsl_units, alice_units - 12'345);
  EXPECT_EQ(acct(bob).tsl_units, bob_units + 12'345);
  EXPECT_EQ(acct(alice).nonce, 1u);
  EXPECT_TRUE(acct(alice).key_known);
  EXPECT_EQ(acct(alice).key, account_key(alice).public_key());
  EXPECT_EQ(l().tsl_total_units(), tsl_supply_units);
}

TEST_F(rules_test, watt_transfer_moves_energy) {
  register_meters();
  mint_to(alice, 1500);
  must(xfer(alice, 1, account_address_of(bob), asset::watt, 600));
  EXPECT_EQ(acct(alice).watt_wh, 900);
  EXPECT_EQ(acct(bob).watt_wh, 600);
  EXPECT_EQ(l().watt_total_wh(), 1500);
}

TEST_F(rules_test, transfer_with_a_bad_signature_is_refused) {
  auto cmd = xfer(alice, 1, account_address_of(bob), asset::tsl, 5);
  cmd.signature[0] ^= 0x80;
  refused(cmd, errc::bad_signature);
  auto tampered = xfer(alice, 1, account_address_of(bob), asset::tsl, 5);
  std::get<transfer>(tampered.body).amount = 5'000;
  refused(tampered, errc::bad_signature);
  auto redirected = xfer(alice, 1, account_address_of(bob), asset::tsl, 5);
  std::get<transfer>(redirected.body).to = account_address_of(eve);
  refused(redirected, errc::bad_signature);
  signature_bytes zero{};
  cmd.signature = zero;
  refused(cmd, errc::bad_signature);
}

TEST_F(rules_test, transfer_replay_and_stale_nonce_are_refused) {
  const auto first = xfer(alice, 1, account_address_of(bob), asset::tsl, 5);
  must(first);
  refused(first, errc::stale_nonce);
  must(xfer(alice, 7, account_address_of(bob), asset::tsl, 5));  // gaps allowed
  refused(xfer(alice, 6, account_address_of(bob), asset::tsl, 5), errc::stale_nonce);
  refused(xfer(alice, 7, account_address_of(bob), asset::tsl, 5), errc::stale_nonce);
  refused(xfer(bob, 0, account_address_of(alice), asset::tsl, 5), errc::stale_nonce);
  EXPECT_EQ(acct(alice).tsl_units, alice_units - 10);
}

// The attack SPEC §8 closes: a transfer refused for lack of funds, resubmitted by anyone once the
// funds have arrived, must not execute — its signer was told it failed.
TEST_F(rules_test, a_refused_transfer_consumes_its_nonce_and_is_not_replayed_when_funds_arrive) {
  const auto too_much = xfer(carol, 1, account_address_of(bob), asset::tsl, carol_units + 50);
  refused(too_much, errc::insufficient_funds);
  EXPECT_EQ(acct(carol).nonce, 1u);
  EXPECT_EQ(acct(carol).tsl_units, carol_units);
  must(xfer(alice, 1, account_address_of(carol), asset::tsl, 50));  // the funds arrive
  refused(too_much, errc::stale_nonce);
  EXPECT_EQ(acct(carol).tsl_units, carol_units + 50);
  must(xfer(carol, 2, account_address_of(bob), asset::tsl, 1));
}

TEST_F(rules_test, transfer_from_an_account_the_ledger_has_never_seen_is_refused) {
  refused(xfer(9, 1, account_address_of(bob), asset::tsl, 1), errc::unknown_account);
}

TEST_F(rules_test, transfer_beyond_the_balance_is_refused) {
  refused(xfer(carol, 1, account_address_of(bob), asset::tsl, carol_units + 1), errc::insufficient_funds);
  must(xfer(carol, 2, account_address_of(bob), asset::tsl, carol_units));
  EXPECT_EQ(acct(carol).tsl_units, 0);
  register_meters();
  mint_to(alice, 100);
  refused(xfer(alice, 1, account_address_of(bob), asset::watt, 101), errc::insufficient_funds);
  refused(xfer(bob, 1, account_address_of(alice), asset::watt, 1), errc::insufficient_funds);
}

TEST_F(rules_test, watt_transfer_respects_the_recipients_bmax) {
  register_meters();
  mint_to(alice, 500);
  mint_to(bob, 1800);
  refused(xfer(alice, 1, account_address_of(bob), asset::watt, 201), errc::exceeds_bmax);
  must(xfer(alice, 2, account_address_of(bob), asset::watt, 200));
  EXPECT_EQ(acct(bob).watt_wh, default_bmax_wh);
  // TSL is not bounded by Bmax.
  must(xfer(alice, 3, account_address_of(bob), asset::tsl, alice_units / 2));
}

TEST_F(rules_test, self_transfer_is_refused) {
  refused(xfer(alice, 1, account_address_of(alice), asset::tsl, 5), errc::self_transfer);
}

TEST_F(rules_test, zero_or_negative_amount_is_refused) {
  register_meters();
  mint_to(alice, 100);
  uint64_t nonce = 1;  // each refusal consumes its nonce (SPEC §8)
  for (int64_t amount : {int64_t{0}, int64_t{-1}, INT64_MIN}) {
    refused(xfer(alice, nonce++, account_address_of(bob), asset::tsl, amount), errc::out_of_range);
    refused(xfer(alice, nonce++, account_address_of(bob), asset::watt, amount), errc::out_of_range);
  }
}

TEST_F(rules_test, transfer_to_a_new_address_creates_the_account) {
  register_meters();
  mint_to(alice, 300);
  const auto fresh = account_address_of(20);
  ASSERT_EQ(l().find_account(fresh), nullptr);
  auto out = must(xfer(alice, 1, fresh, asset::tsl, 77));
  EXPECT_TRUE(out.created_account);
  ASSERT_NE(l().find_account(fresh), nullptr);
  EXPECT_EQ(l().find_account(fresh)->tsl_units, 77);
  EXPECT_EQ(l().find_account(fresh)->kind, account_kind::member);
  EXPECT_FALSE(l().find_account(fresh)->key_known);
  // WATT cannot go to a new address: it holds no TSL (SPEC §3.4), so the account is not created.
  refused(xfer(alice, 2, account_address_of(21), asset::watt, 300), errc::no_storage_access);
  EXPECT_EQ(l().find_account(account_address_of(21)), nullptr);
  // Once it holds TSL it may receive WATT; a sender never holds more than Bmax, so the recipient
  // cannot end above it either.
  must(xfer(alice, 3, account_address_of(21), asset::tsl, 1));
  out = must(xfer(alice, 4, account_address_of(21), asset::watt, 300));
  EXPECT_FALSE(out.created_account);
  EXPECT_EQ(l().find_account(account_address_of(21))->watt_wh, 300);
  mint_to(alice, 2000);
  must(xfer(alice, 5, account_address_of(22), asset::tsl, 1));
  refused(xfer(alice, 6, account_address_of(22), asset::watt, default_bmax_wh + 1), errc::insufficient_funds);
  must(xfer(alice, 7, account_address_of(22), asset::watt, default_bmax_wh));
}

TEST_F(rules_test, system_pools_cannot_receive_watt) {
  register_meters();
  mint_to(alice, 300);
  refused(xfer(alice, 1, education_pool_address(), asset::watt, 10), errc::out_of_range);
  refused(xfer(alice, 2, network_pool_address(), asset::watt, 10), errc::out_of_range);
}

// ---------------------------------------------------------------------------------------------
// Ticks (ledger time, SPEC §3.5)

TEST_F(rules_test, tick_may_not_go_backwards) {
  must(tick_at(t0_ms + 100));
  refused(tick_at(t0_ms + 99), errc::time_backwards);
  refused(tick_at(0), errc::time_backwards);
  refused(tick_at(INT64_MIN), errc::time_backwards);
  auto out = must(tick_at(t0_ms + 100));  // same time: allowed, changes nothing
  EXPECT_EQ(out.epochs_closed, 0);
}

TEST_F(rules_test, tick_closing_too_many_epochs_is_refused) {
  refused(tick_at(t0_ms + (limits::tick_epochs_max + 1) * epoch_ms), errc::out_of_range);
  refused(tick_at(INT64_MAX), errc::out_of_range);
  auto out = must(tick_at(t0_ms + limits::tick_epochs_max * epoch_ms));
  EXPECT_EQ(out.epochs_closed, limits::tick_epochs_max);
  EXPECT_EQ(l().epoch(), static_cast<uint64_t>(limits::tick_epochs_max));
}

TEST_F(rules_test, ticks_close_epochs_at_15_minute_boundaries) {
  auto out = must(tick_at(t0_ms + epoch_ms - 1));
  EXPECT_EQ(out.epochs_closed, 0);
  EXPECT_EQ(l().epoch(), 0u);
  EXPECT_EQ(l().time_ms(), t0_ms + epoch_ms - 1);
  out = must(tick_at(t0_ms + epoch_ms));
  EXPECT_EQ(out.epochs_closed, 1);
  EXPECT_EQ(l().epoch(), 1u);
  out = must(tick_at(t0_ms + 3 * epoch_ms + 5));
  EXPECT_EQ(out.epochs_closed, 2);
  EXPECT_EQ(l().epoch(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Storage reports

TEST_F(rules_test, storage_report_is_recorded_for_the_current_epoch) {
  must(register_unit_cmd(0, account_address_of(dave), 10'000));
  must(report(0, 1, 0, 4'000));
  must(report(0, 2, 0, 6'000));  // replaces the earlier report
  const storage_unit* u = l().find_storage_unit(unit_key(0).public_key());
  EXPECT_EQ(u->stored_wh, 6'000);
  EXPECT_EQ(u->report_epoch, 0u);
  EXPECT_EQ(u->nonce, 2u);
}

TEST_F(rules_test, storage_report_for_another_epoch_is_refused) {
  must(register_unit_cmd(0, account_address_of(dave), 10'000));
  refused(report(0, 1, 1, 100), errc::epoch_mismatch);
  must(tick_at(t0_ms + epoch_ms));
  refused(report(0, 2, 0, 100), errc::epoch_mismatch);
  must(report(0, 3, 1, 100));
}

TEST_F(rules_test, storage_report_above_capacity_is_refused) {
  must(register_unit_cmd(0, account_address_of(dave), 10'000));
  refused(report(0, 1, 0, 10'001), errc::out_of_range);
  refused(report(0, 2, 0, -1), errc::out_of_range);
  must(report(0, 3, 0, 10'000));
}

TEST_F(rules_test, storage_report_nonce_must_increase) {
  must(register_unit_cmd(0, account_address_of(dave), 10'000));
  must(report(0, 3, 0, 100));
  refused(report(0, 3, 0, 200), errc::stale_nonce);
  refused(report(0, 2, 0, 200), errc::stale_nonce);
  refused(report(1, 1, 0, 200), errc::unknown_storage_unit);
}

// ---------------------------------------------------------------------------------------------
// Education grants (SPEC §3.6)

TEST_F(rules_test, education_grant_is_paid_once_per_account) {
  const auto fresh = account_address_of(30);
  auto out = must(grant_cmd(fresh));
  EXPECT_TRUE(out.created_account);
  EXPECT_EQ(l().find_account(fresh)->tsl_units, default_grant_units);
  EXPECT_TRUE(l().find_account(fresh)->granted);
  EXPECT_EQ(pool(education_pool_address()).tsl_units, education_units - default_grant_units);
  EXPECT_EQ(l().sums().grants_paid_units, default_grant_units);
  refused(grant_cmd(fresh), errc::already_granted);
  // An existing member may receive it too, also once.
  must(grant_cmd(account_address_of(bob)));
  EXPECT_EQ(acct(bob).tsl_units, bob_units + default_grant_units);
  refused(grant_cmd(account_address_of(bob)), errc::already_granted);
  EXPECT_EQ(l().tsl_total_units(), tsl_supply_units);
}

TEST_F(rules_test, education_grant_needs_enough_in_the_pool) {
  auto p = default_params();
  p.grant_units = education_units + 1;
  must(set_params_cmd(p));
  refused(grant_cmd(account_address_of(30)), errc::pool_insufficient);
  p.grant_units = education_units;
  must(set_params_cmd(p));
  must(grant_cmd(account_address_of(30)));
  EXPECT_EQ(pool(education_pool_address()).tsl_units, 0);
  refused(grant_cmd(account_address_of(31)), errc::pool_insufficient);
}

TEST_F(rules_test, education_grant_disabled_when_the_grant_size_is_zero) {
  auto p = default_params();
  p.grant_units = 0;
  must(set_params_cmd(p));
  refused(grant_cmd(account_address_of(30)), errc::invalid_params);
}

TEST_F(rules_test, education_grant_to_a_system_pool_is_refused) {
  refused(grant_cmd(education_pool_address()), errc::out_of_range);
  refused(grant_cmd(network_pool_address()), errc::out_of_range);
}

}  // namespace
}  // namespace energo::ledger::test
