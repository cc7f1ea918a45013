#pragma once
// Shared test world for the ledger: deterministic keys (Ed25519 from fixed seeds, secp256k1 from
// fixed secrets), a default genesis, signed-command builders and the two assertions every rule
// test uses: `must()` (applies, invariants hold) and `refused()` (the expected error code, and the
// state root and snapshot bytes are unchanged).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"
#include "tests/ledger/refusal_check.hpp"

namespace energo::ledger::test {

// Key families: the tag byte keeps admin, meter, unit and account keys distinct.
inline std::array<uint8_t, 32> seed_for(uint8_t tag, uint32_t n) {
  std::array<uint8_t, 32> seed{};
  seed[0] = tag;
  seed[28] = static_cast<uint8_t>(n >> 24);
  seed[29] = static_cast<uint8_t>(n >> 16);
  seed[30] = static_cast<uint8_t>(n >> 8);
  seed[31] = static_cast<uint8_t>(n);
  return seed;
}
inline crypto::ed25519_keypair admin_key(uint32_t n) { return crypto::ed25519_keypair::from_seed(seed_for(0xa1, n)); }
inline crypto::ed25519_keypair meter_key(uint32_t n) { return crypto::ed25519_keypair::from_seed(seed_for(0xb2, n)); }
inline crypto::ed25519_keypair unit_key(uint32_t n) { return crypto::ed25519_keypair::from_seed(seed_for(0xc3, n)); }
inline crypto::secp256k1_secret_key account_key(uint32_t n) {
  // A small leading byte keeps the scalar far below the group order; the +1 keeps it non-zero.
  auto bytes = seed_for(0x0d, n + 1);
  auto key = crypto::secp256k1_secret_key::from_bytes(bytes);
  ENERGO_ASSERT(key.has_value(), "test secret must be a valid scalar");
  return *key;
}
inline account_address address_of(const crypto::secp256k1_secret_key& key) {
  return crypto::hash160_of(key.public_key().bytes);
}
inline account_address account_address_of(uint32_t n) { return address_of(account_key(n)); }

// The default community: Bmax = 2000 Wh (Cu $300, P $200/kWh), no fee, a 1000-TSL grant.
// Accounts 0..3 ("alice", "bob", "carol", "dave") hold TSL; carol holds only 100 units.
inline constexpr int64_t t0_ms = 1'700'000'000'000;
inline constexpr int64_t alice_units = 40'000'000'000'000'000;
inline constexpr int64_t bob_units = 30'000'000'000'000'000;
inline constexpr int64_t carol_units = 100;
inline constexpr int64_t education_units = 10'000'000'000'000'000;
inline constexpr int64_t dave_units = tsl_supply_units - alice_units - bob_units - carol_units - education_units;
inline constexpr int64_t default_grant_units = 1000 * tsl_units_per_tsl;
inline constexpr int64_t default_bmax_wh = 2000;

inline community_params default_params() {
  community_params p;
  p.fee_units_per_kwh_epoch = 0;
  p.storage_cost_per_user_cents = 30'000;
  p.battery_price_cents_per_kwh = 20'000;
  p.grant_units = default_grant_units;
  return p;
}

inline genesis default_genesis() {
  genesis g;
  g.community_id = "test-dae";
  g.network = crypto::network::regtest;
  g.genesis_time_ms = t0_ms;
  g.params = default_params();
  g.admins = {admin_key(0).public_key(), admin_key(1).public_key()};
  g.allocations = {{account_address_of(0), alice_units},
                   {account_address_of(1), bob_units},
                   {account_address_of(2), carol_units},
                   {account_address_of(3), dave_units},
                   {education_pool_address(), education_units}};
  return g;
}

inline std::string describe(const error& e) { return std::string(errc_name(e.code)) + ": " + e.message; }

class ledger_test : public ::testing::Test {
 protected:
  void SetUp() override { start(default_genesis()); }

  void start(const genesis& g) {
    genesis_ = g;
    genesis_hash_ = g.hash();
    auto created = ledger::create(g);
    ASSERT_TRUE(created.has_value()) << describe(created.error());
    ledger_.emplace(std::move(*created));
  }
  ledger& l() { return *ledger_; }
  const crypto::hash256& gh() const { return genesis_hash_; }

  uint64_t next_admin_nonce(uint32_t admin = 0) {
    auto it = l().admin_nonces().find(admin_key(admin).public_key());
    return it == l().admin_nonces().end() ? 1 : it->second + 1;
  }
  admin_auth auth(uint32_t admin = 0) { return {admin_key(admin).public_key(), next_admin_nonce(admin)}; }
  command sign_admin(command_body body, uint32_t admin = 0) { return sign_ed25519(std::move(body), admin_key(admin), gh()); }

  command register_meter_cmd(uint32_t meter, const account_address& account, int64_t export_start = 0,
                             int64_t import_start = 0) {
    return sign_admin(register_meter{auth(), meter_key(meter).public_key(), account, export_start, import_start});
  }
  command register_unit_cmd(uint32_t unit, const account_address& owner, int64_t capacity_wh) {
    return sign_admin(register_storage_unit{auth(), unit_key(unit).public_key(), owner, capacity_wh});
  }
  command set_params_cmd(const community_params& p) { return sign_admin(set_params{auth(), p}); }
  command grant_cmd(const account_address& account) { return sign_admin(education_grant{auth(), account}); }
  command reading(uint32_t meter, uint64_t sequence, int64_t timestamp_ms, int64_t export_total, int64_t import_total) {
    return sign_ed25519(meter_reading{meter_key(meter).public_key(), sequence, timestamp_ms, export_total, import_total},
                        meter_key(meter), gh());
  }
  command report(uint32_t unit, uint64_t nonce, uint64_t epoch, int64_t stored_wh) {
    return sign_ed25519(storage_report{unit_key(unit).public_key(), nonce, epoch, stored_wh}, unit_key(unit), gh());
  }
  command xfer(uint32_t from, uint64_t nonce, const account_address& to, asset what, int64_t amount) {
    const auto key = account_key(from);
    return sign_secp256k1(transfer{key.public_key(), nonce, to, what, amount}, key, gh());
  }
  static command tick_at(int64_t time_ms) { return command{tick{time_ms}, {}}; }

  // Applies through verify_and_apply; a refusal is a test failure. Deep invariants must hold after.
  apply_outcome must(const command& cmd) {
    auto r = l().verify_and_apply(cmd);
    if (!r) {
      ADD_FAILURE() << command_name(cmd.body) << " refused: " << describe(r.error());
      return {};
    }
    const auto problems = l().check_invariants();
    EXPECT_TRUE(problems.empty()) << problems.front();
    return *r;
  }

  // The command must be refused with `code`, and nothing may change: same root, same snapshot bytes.
  // The command must be refused with `code`. A refusal at or before authentication changes nothing
  // (same root, same snapshot bytes); a refusal by a rule after authentication consumes the signer's
  // nonce and changes nothing else (SPEC §8), compared field by field (tests/ledger/refusal_check.hpp).
  error refused(const command& cmd, errc code) {
    const ledger before = l();
    const auto root_before = l().state_root();
    const auto snapshot_before = l().snapshot();
    auto r = l().verify_and_apply(cmd);
    if (r) {
      ADD_FAILURE() << command_name(cmd.body) << " was accepted, expected " << errc_name(code);
      return {};
    }
    EXPECT_EQ(errc_name(r.error().code), errc_name(code)) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
    const bool consumed = test_support::consumes_nonce(cmd, r.error().code);
    EXPECT_EQ(test_support::refusal_diff(before, l(), cmd, consumed), "")
        << command_name(cmd.body) << " refused with " << errc_name(r.error().code)
        << (consumed ? ": only the signer's nonce may change" : ": nothing may change");
    if (!consumed) {
      EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(root_before)) << "refused command changed the state";
      EXPECT_TRUE(l().snapshot() == snapshot_before) << "refused command changed the snapshot";
    } else {
      EXPECT_NE(crypto::to_hex(l().state_root()), crypto::to_hex(root_before)) << "the consumed nonce is replicated state";
    }
    return r.error();
  }

  const account& acct(uint32_t n) {
    const account* a = l().find_account(account_address_of(n));
    ENERGO_ASSERT(a != nullptr, "test account missing");
    return *a;
  }
  const account& pool(const account_address& address) { return *l().find_account(address); }

  genesis genesis_;
  crypto::hash256 genesis_hash_{};
  std::optional<ledger> ledger_;
};

}  // namespace energo::ledger::test
