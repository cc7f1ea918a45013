// Fee epochs (SPEC §3.5) with exact amounts: commission on held WATT, debt when TSL runs short
// (and no new WATT while in debt, §3.4), the 80/10/10 split with pro-rata owner shares by reported
// energy, floors' remainders to the network pool, and no reports → owners' share to the network pool.
#include "tests/ledger/ledger_fixture.hpp"

namespace energo::ledger::test {
namespace {

class fee_test : public ledger_test {
 protected:
  static constexpr uint32_t alice = 0, bob = 1, carol = 2, owner_a = 5, owner_b = 6;
  static constexpr int64_t fee_rate = 333;  // units per kWh per epoch: fees floor(watt_wh × 333 / 1000)

  void SetUp() override {
    auto g = default_genesis();
    g.params.fee_units_per_kwh_epoch = fee_rate;
    start(g);
    for (uint32_t n : {alice, bob, carol}) must(register_meter_cmd(n, account_address_of(n)));
    must(register_unit_cmd(0, account_address_of(owner_a), 50'000));
    must(register_unit_cmd(1, account_address_of(owner_b), 50'000));
    // alice 2000 Wh, bob 1500 Wh, carol 700 Wh (carol holds only 100 TSL units).
    must(reading(alice, 1, t0_ms, 2000, 0));
    must(reading(bob, 1, t0_ms, 1500, 0));
    must(reading(carol, 1, t0_ms, 700, 0));
  }
  int64_t tsl(uint32_t n) { return acct(n).tsl_units; }
  int64_t pool_tsl(const account_address& a) { return pool(a).tsl_units; }
};

TEST_F(fee_test, worked_example_of_one_epoch) {
  must(report(0, 1, 0, 300));
  must(report(1, 1, 0, 700));
  const int64_t edu_before = pool_tsl(education_pool_address());
  auto out = must(tick_at(t0_ms + epoch_ms));
  ASSERT_EQ(out.epochs_closed, 1);

  // Fees: alice floor(2000×333/1000) = 666; bob floor(1500×333/1000) = 499;
  // carol floor(700×333/1000) = 233, but she holds 100: pays 100, owes 133.
  EXPECT_EQ(tsl(alice), alice_units - 666);
  EXPECT_EQ(tsl(bob), bob_units - 499);
  EXPECT_EQ(tsl(carol), 0);
  EXPECT_EQ(acct(carol).fee_debt_units, 133);
  EXPECT_EQ(acct(alice).fees_paid_units, 666);
  EXPECT_EQ(acct(carol).fees_paid_units, 100);
  EXPECT_EQ(acct(alice).fee_debt_units, 0);
  // WATT is not touched by fees.
  EXPECT_EQ(acct(alice).watt_wh, 2000);

  // Proceeds 1265: education floor(126.5) = 126, network 126, owners 1265 − 252 = 1013, split by
  // reported energy 300:700 → floor(303.9) = 303 and floor(709.1) = 709; the leftover 1 → network.
  EXPECT_EQ(out.fees_units, 1265);
  EXPECT_EQ(tsl(owner_a), 303);
  EXPECT_EQ(tsl(owner_b), 709);
  EXPECT_EQ(l().find_storage_unit(unit_key(0).public_key())->fees_earned_units, 303);
  EXPECT_EQ(l().find_storage_unit(unit_key(1).public_key())->fees_earned_units, 709);
  EXPECT_EQ(pool_tsl(education_pool_address()), edu_before + 126);
  EXPECT_EQ(pool_tsl(network_pool_address()), 127);

  const totals& t = l().sums();
  EXPECT_EQ(t.fees_collected_units, 1265);
  EXPECT_EQ(t.fees_to_owners_units, 1012);
  EXPECT_EQ(t.fees_to_education_units, 126);
  EXPECT_EQ(t.fees_to_network_units, 127);
  EXPECT_EQ(t.fees_to_owners_units + t.fees_to_education_units + t.fees_to_network_units, t.fees_collected_units);
  EXPECT_EQ(l().tsl_total_units(), tsl_supply_units);
}

TEST_F(fee_test, with_no_storage_reports_the_owners_share_goes_to_the_network_pool) {
  // Reports for epoch 0 do not count in epoch 1.
  must(report(0, 1, 0, 300));
  must(tick_at(t0_ms + epoch_ms));
  const int64_t net_before = pool_tsl(network_pool_address());
  const int64_t edu_before = pool_tsl(education_pool_address());
  const int64_t owner_a_before = tsl(owner_a);
  auto out = must(tick_at(t0_ms + 2 * epoch_ms));
  // alice 666 + bob 499 + carol 0 (no TSL left; her debt grows to 133 + 233 = 366) = 1165.
  EXPECT_EQ(out.fees_units, 1165);
  EXPECT_EQ(acct(carol).fee_debt_units, 366);
  // Education floor(116.5) = 116; network 116 + the whole owners' share 933 = 1049.
  EXPECT_EQ(pool_tsl(education_pool_address()), edu_before + 116);
  EXPECT_EQ(pool_tsl(network_pool_address()), net_before + 1049);
  EXPECT_EQ(tsl(owner_a), owner_a_before);
}

TEST_F(fee_test, a_unit_reporting_zero_energy_earns_nothing) {
  must(report(0, 1, 0, 0));
  must(report(1, 1, 0, 1));
  must(tick_at(t0_ms + epoch_ms));
  EXPECT_EQ(tsl(owner_a), 0);
  EXPECT_EQ(tsl(owner_b), 1013) << "the only reporting unit takes the whole owners' share";
  EXPECT_EQ(pool_tsl(network_pool_address()), 126);
}

TEST_F(fee_test, fee_debt_blocks_new_watt_until_paid) {
  must(tick_at(t0_ms + epoch_ms));
  ASSERT_EQ(acct(carol).fee_debt_units, 133);
  // In debt: her export goes to the grid.
  auto out = must(reading(carol, 2, l().time_ms(), 700 + 100, 0));
  EXPECT_EQ(out.minted_wh, 0);
  EXPECT_EQ(out.grid_export_wh, 100);
  EXPECT_EQ(acct(carol).watt_wh, 700);
  // Imports still burn her WATT.
  out = must(reading(carol, 3, l().time_ms(), 800, 50));
  EXPECT_EQ(out.burned_wh, 50);
  // She receives TSL; the next epoch collects fee floor(650×333/1000) = 216 plus the debt 133.
  must(xfer(alice, 1, account_address_of(carol), asset::tsl, 1000));
  out = must(tick_at(t0_ms + 2 * epoch_ms));
  EXPECT_EQ(acct(carol).fee_debt_units, 0);
  EXPECT_EQ(tsl(carol), 1000 - 216 - 133);
  EXPECT_EQ(acct(carol).fees_paid_units, 100 + 216 + 133);
  out = must(reading(carol, 4, l().time_ms(), 900, 50));
  EXPECT_EQ(out.minted_wh, 100) << "debt paid: storage access is back";
}

TEST_F(fee_test, an_account_holding_no_watt_pays_no_fee) {
  const int64_t dave_before = acct(3).tsl_units;
  must(tick_at(t0_ms + epoch_ms));
  EXPECT_EQ(acct(3).tsl_units, dave_before);
  EXPECT_EQ(acct(3).fees_paid_units, 0);
}

TEST_F(fee_test, fee_rate_changes_apply_from_the_next_close) {
  auto p = default_params();
  p.fee_units_per_kwh_epoch = 1000;  // 1 unit per Wh
  must(set_params_cmd(p));
  auto out = must(tick_at(t0_ms + epoch_ms));
  // alice 2000 + bob 1500 + carol 100 (of 700 due).
  EXPECT_EQ(out.fees_units, 3600);
  EXPECT_EQ(acct(carol).fee_debt_units, 600);
}

TEST_F(fee_test, one_tick_over_several_epochs_equals_one_tick_per_epoch) {
  must(report(0, 1, 0, 300));
  auto copy = ledger::restore(l().snapshot());
  ASSERT_TRUE(copy.has_value()) << describe(copy.error());
  auto out = must(tick_at(t0_ms + 3 * epoch_ms + 7));
  EXPECT_EQ(out.epochs_closed, 3);
  int64_t fees = 0;
  for (int64_t t : {t0_ms + epoch_ms, t0_ms + 2 * epoch_ms, t0_ms + 3 * epoch_ms + 7}) {
    auto step = copy->apply(tick_at(t));
    ASSERT_TRUE(step.has_value());
    fees += step->fees_units;
  }
  EXPECT_EQ(fees, out.fees_units);
  EXPECT_EQ(crypto::to_hex(copy->state_root()), crypto::to_hex(l().state_root()));
}

TEST_F(fee_test, fees_conserve_tsl_over_many_epochs) {
  for (int k = 1; k <= 40; ++k) {
    must(report(k % 2, static_cast<uint64_t>(k), l().epoch(), 100 * k));
    must(tick_at(t0_ms + k * epoch_ms));
    ASSERT_EQ(l().tsl_total_units(), tsl_supply_units);
    const totals& t = l().sums();
    ASSERT_EQ(t.fees_to_owners_units + t.fees_to_education_units + t.fees_to_network_units, t.fees_collected_units);
  }
  EXPECT_GT(acct(carol).fee_debt_units, 0);
  EXPECT_EQ(acct(carol).tsl_units, 0);
}

}  // namespace
}  // namespace energo::ledger::test
