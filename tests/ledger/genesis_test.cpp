// Genesis validation (SPEC §2: the allocation sums to the fixed supply exactly) and what the
// genesis hash binds.
#include <functional>

#include "tests/ledger/ledger_fixture.hpp"

namespace energo::ledger::test {
namespace {

void expect_invalid(const genesis& g, const std::string& why) {
  auto r = ledger::create(g);
  ASSERT_FALSE(r.has_value()) << "genesis accepted: " << why;
  EXPECT_EQ(errc_name(r.error().code), errc_name(errc::invalid_genesis)) << why << ": " << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}

TEST(genesis, default_genesis_creates_the_fixed_supply_and_pools) {
  auto r = ledger::create(default_genesis());
  ASSERT_TRUE(r.has_value()) << describe(r.error());
  ledger& l = *r;
  EXPECT_EQ(l.tsl_total_units(), tsl_supply_units);
  EXPECT_EQ(l.watt_total_wh(), 0);
  EXPECT_EQ(l.bmax_wh(), default_bmax_wh);
  EXPECT_EQ(l.time_ms(), t0_ms);
  EXPECT_EQ(l.epoch(), 0u);
  EXPECT_EQ(l.community_id(), "test-dae");
  EXPECT_EQ(l.genesis_hash(), default_genesis().hash());
  ASSERT_NE(l.find_account(account_address_of(0)), nullptr);
  EXPECT_EQ(l.find_account(account_address_of(0))->tsl_units, alice_units);
  EXPECT_EQ(l.find_account(account_address_of(2))->tsl_units, carol_units);
  const account* edu = l.find_account(education_pool_address());
  const account* net = l.find_account(network_pool_address());
  ASSERT_NE(edu, nullptr);
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(edu->kind, account_kind::education_pool);
  EXPECT_EQ(net->kind, account_kind::network_pool);
  EXPECT_EQ(edu->tsl_units, education_units);
  EXPECT_EQ(net->tsl_units, 0);
  EXPECT_EQ(l.accounts().size(), 6u);  // two pools + four members
  EXPECT_EQ(l.admin_nonces().size(), 2u);
  EXPECT_TRUE(l.check_invariants().empty());
}

TEST(genesis, allocation_sum_must_equal_the_supply_exactly) {
  auto short_by_one = default_genesis();
  short_by_one.allocations[3].tsl_units -= 1;
  expect_invalid(short_by_one, "sum is supply - 1");
  auto over_by_one = default_genesis();
  over_by_one.allocations[3].tsl_units += 1;
  expect_invalid(over_by_one, "sum is supply + 1");
  auto overflowing = default_genesis();
  overflowing.allocations[0].tsl_units = INT64_MAX;
  expect_invalid(overflowing, "sum overflows int64");
  auto none = default_genesis();
  none.allocations.clear();
  expect_invalid(none, "no allocations");
}

TEST(genesis, allocations_must_be_positive) {
  auto zero = default_genesis();
  zero.allocations.push_back({account_address_of(9), 0});
  expect_invalid(zero, "zero allocation");
  auto negative = default_genesis();
  negative.allocations[3].tsl_units += 5;
  negative.allocations.push_back({account_address_of(9), -5});
  expect_invalid(negative, "negative allocation (sum still exact)");
}

TEST(genesis, duplicate_allocations_are_refused) {
  auto dup = default_genesis();
  dup.allocations[0].tsl_units -= 10;
  dup.allocations.push_back({account_address_of(0), 10});
  expect_invalid(dup, "member listed twice");
  auto dup_pool = default_genesis();
  dup_pool.allocations[4].tsl_units -= 10;
  dup_pool.allocations.push_back({education_pool_address(), 10});
  expect_invalid(dup_pool, "pool listed twice");
}

TEST(genesis, admin_set_must_be_non_empty_bounded_and_distinct) {
  auto none = default_genesis();
  none.admins.clear();
  expect_invalid(none, "no admins");
  auto dup = default_genesis();
  dup.admins.push_back(admin_key(0).public_key());
  expect_invalid(dup, "duplicate admin");
  auto many = default_genesis();
  many.admins.clear();
  for (uint32_t i = 0; i <= limits::admins_max; ++i) many.admins.push_back(admin_key(i).public_key());
  expect_invalid(many, "admins_max + 1 admins");
  auto max = default_genesis();
  max.admins.pop_back();
  for (uint32_t i = 1; max.admins.size() < limits::admins_max; ++i) max.admins.push_back(admin_key(i).public_key());
  EXPECT_TRUE(ledger::create(max).has_value()) << "exactly admins_max admins is allowed";
}

TEST(genesis, parameters_are_validated) {
  const std::vector<std::pair<std::string, std::function<void(community_params&)>>> bad = {
      {"battery price zero", [](community_params& p) { p.battery_price_cents_per_kwh = 0; }},
      {"battery price negative", [](community_params& p) { p.battery_price_cents_per_kwh = -1; }},
      {"Cu negative", [](community_params& p) { p.storage_cost_per_user_cents = -1; }},
      {"Bmax zero (Cu 0)", [](community_params& p) { p.storage_cost_per_user_cents = 0; }},
      {"Bmax above bmax_wh_max", [](community_params& p) { p.storage_cost_per_user_cents = INT64_MAX; p.battery_price_cents_per_kwh = 1; }},
      {"fee rate negative", [](community_params& p) { p.fee_units_per_kwh_epoch = -1; }},
      {"fee rate above max", [](community_params& p) { p.fee_units_per_kwh_epoch = limits::fee_units_per_kwh_epoch_max + 1; }},
      {"grant negative", [](community_params& p) { p.grant_units = -1; }},
      {"grant above supply", [](community_params& p) { p.grant_units = tsl_supply_units + 1; }},
  };
  for (const auto& [why, mutate] : bad) {
    auto g = default_genesis();
    mutate(g.params);
    expect_invalid(g, why);
  }
  auto at_limit = default_genesis();
  at_limit.params.fee_units_per_kwh_epoch = limits::fee_units_per_kwh_epoch_max;
  at_limit.params.grant_units = 0;
  EXPECT_TRUE(ledger::create(at_limit).has_value()) << "fee rate at its max and grants disabled are valid";
}

TEST(genesis, community_id_must_be_short_printable_ascii) {
  for (const std::string& id : {std::string(), std::string(limits::community_id_chars_max + 1, 'x'), std::string("my dae"),
                               std::string("tab\tid"), std::string("caf\xc3\xa9"), std::string("nul\0id", 6)}) {
    auto g = default_genesis();
    g.community_id = id;
    expect_invalid(g, "community id '" + id + "'");
  }
  auto longest = default_genesis();
  longest.community_id = std::string(limits::community_id_chars_max, '~');
  EXPECT_TRUE(ledger::create(longest).has_value());
}

TEST(genesis, time_must_not_be_negative) {
  auto g = default_genesis();
  g.genesis_time_ms = -1;
  expect_invalid(g, "negative genesis time");
}

TEST(genesis, unknown_network_is_refused) {
  // A ledger that could be created but never restored from its own snapshot would strand replicas.
  auto g = default_genesis();
  g.network = static_cast<crypto::network>(7);
  expect_invalid(g, "network byte 7");
}

TEST(genesis, hash_binds_every_field) {
  const auto base = default_genesis().hash();
  const std::vector<std::pair<std::string, std::function<void(genesis&)>>> changes = {
      {"community id", [](genesis& g) { g.community_id = "other-dae"; }},
      {"network", [](genesis& g) { g.network = crypto::network::testnet; }},
      {"time", [](genesis& g) { g.genesis_time_ms += 1; }},
      {"fee rate", [](genesis& g) { g.params.fee_units_per_kwh_epoch = 1; }},
      {"Cu", [](genesis& g) { g.params.storage_cost_per_user_cents += 1; }},
      {"P", [](genesis& g) { g.params.battery_price_cents_per_kwh += 1; }},
      {"grant", [](genesis& g) { g.params.grant_units += 1; }},
      {"admins", [](genesis& g) { g.admins.pop_back(); }},
      {"admin order", [](genesis& g) { std::swap(g.admins[0], g.admins[1]); }},
      {"allocation amount", [](genesis& g) { g.allocations[0].tsl_units -= 1; g.allocations[1].tsl_units += 1; }},
      {"allocation account", [](genesis& g) { g.allocations[0].account = account_address_of(42); }},
  };
  for (const auto& [why, mutate] : changes) {
    auto g = default_genesis();
    mutate(g);
    EXPECT_NE(g.hash(), base) << why << " is not bound by the genesis hash";
  }
  EXPECT_EQ(default_genesis().hash(), base) << "the genesis hash is deterministic";
}

}  // namespace
}  // namespace energo::ledger::test
