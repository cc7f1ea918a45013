// The state root (replicas compare it; SPEC §3.9), per-account proofs against the root alone (the
// auditor's check, SPEC §1), and snapshot/restore including corrupted snapshots.
#include <algorithm>

#include "tests/ledger/ledger_fixture.hpp"

namespace energo::ledger::test {
namespace {

class state_root_test : public ledger_test {
 protected:
  // A script touching every command type; run against any ledger built from the default genesis.
  std::vector<command> script() {
    std::vector<command> s;
    uint64_t nonce = next_admin_nonce();
    const auto pk = admin_key(0).public_key();
    s.push_back(sign_admin(register_meter{{pk, nonce++}, meter_key(0).public_key(), account_address_of(0), 0, 0}));
    s.push_back(sign_admin(register_meter{{pk, nonce++}, meter_key(1).public_key(), account_address_of(1), 0, 0}));
    s.push_back(sign_admin(register_storage_unit{{pk, nonce++}, unit_key(0).public_key(), account_address_of(3), 9000}));
    auto p = default_params();
    p.fee_units_per_kwh_epoch = 250;
    s.push_back(sign_admin(set_params{{pk, nonce++}, p}));
    s.push_back(reading(0, 1, t0_ms, 1500, 0));
    s.push_back(reading(1, 1, t0_ms, 900, 0));
    s.push_back(report(0, 1, 0, 2400));
    s.push_back(xfer(0, 1, account_address_of(1), asset::watt, 400));
    s.push_back(xfer(1, 1, account_address_of(12), asset::tsl, 5000));
    s.push_back(sign_admin(education_grant{{pk, nonce++}, account_address_of(13)}));
    s.push_back(tick_at(t0_ms + epoch_ms + 1));
    s.push_back(reading(1, 2, t0_ms + epoch_ms, 1000, 700));
    s.push_back(tick_at(t0_ms + 2 * epoch_ms));
    return s;
  }
};

TEST_F(state_root_test, same_genesis_gives_the_same_root_and_another_genesis_does_not) {
  auto a = ledger::create(default_genesis());
  auto b = ledger::create(default_genesis());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->state_root(), b->state_root());
  EXPECT_EQ(a->state_root(), a->state_root()) << "state_root() is idempotent";
  auto g = default_genesis();
  g.community_id = "other-dae";
  auto c = ledger::create(g);
  ASSERT_TRUE(c);
  EXPECT_NE(c->state_root(), a->state_root());
}

TEST_F(state_root_test, every_accepted_command_changes_the_root) {
  for (const auto& cmd : script()) {
    const auto before = l().state_root();
    must(cmd);
    EXPECT_NE(l().state_root(), before) << command_name(cmd.body) << " changed state but not the root";
  }
}

TEST_F(state_root_test, root_does_not_change_without_a_state_change) {
  const auto before = l().state_root();
  (void)l().prove(account_address_of(0));
  (void)l().snapshot();
  must(tick_at(t0_ms));  // same time: nothing to change
  EXPECT_EQ(l().state_root(), before);
}

TEST_F(state_root_test, lazy_root_equals_root_computed_after_every_command) {
  auto lazy = ledger::create(default_genesis());
  ASSERT_TRUE(lazy);
  for (const auto& cmd : script()) {
    must(cmd);
    (void)l().state_root();
    ASSERT_TRUE(lazy->apply(cmd).has_value());
  }
  EXPECT_EQ(crypto::to_hex(lazy->state_root()), crypto::to_hex(l().state_root()));
}

TEST_F(state_root_test, account_proof_verifies_for_every_account) {
  for (const auto& cmd : script()) must(cmd);
  const auto root = l().state_root();
  for (const auto& a : l().accounts()) {
    auto proof = l().prove(a.address);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(account_leaf_bytes(proof->record), account_leaf_bytes(a));
    EXPECT_TRUE(verify_account_proof(root, *proof)) << crypto::to_hex(a.address);
  }
  EXPECT_FALSE(l().prove(account_address_of(99)).has_value());
}

TEST_F(state_root_test, account_proof_fails_when_anything_is_tampered) {
  for (const auto& cmd : script()) must(cmd);
  const auto root = l().state_root();
  const auto good = *l().prove(account_address_of(1));
  ASSERT_TRUE(verify_account_proof(root, good));
  ASSERT_GT(good.path.siblings.size(), 0u);

  auto expect_rejected = [&](const account_proof& p, const crypto::hash256& r, const char* what) {
    EXPECT_FALSE(verify_account_proof(r, p)) << "tampered " << what << " still verifies";
  };
  auto p = good;
  p.record.tsl_units += 1;
  expect_rejected(p, root, "TSL balance");
  p = good;
  p.record.watt_wh -= 1;
  expect_rejected(p, root, "WATT balance");
  p = good;
  p.record.fee_debt_units = 1;
  expect_rejected(p, root, "fee debt");
  p = good;
  p.record.address = account_address_of(0);
  expect_rejected(p, root, "address");
  p = good;
  p.path.siblings[0][5] ^= 1;
  expect_rejected(p, root, "path sibling");
  p = good;
  p.path.siblings.back()[0] ^= 1;
  expect_rejected(p, root, "top sibling");
  p = good;
  p.path.leaf_index ^= 1;
  expect_rejected(p, root, "leaf index");
  p = good;
  p.path.leaf_count += 1;
  expect_rejected(p, root, "leaf count");
  p = good;
  p.path.siblings.pop_back();
  expect_rejected(p, root, "shortened path");
  p = good;
  p.meters_root[0] ^= 1;
  expect_rejected(p, root, "meters root");
  p = good;
  p.globals_hash[31] ^= 1;
  expect_rejected(p, root, "globals hash");
  auto other_root = root;
  other_root[0] ^= 1;
  expect_rejected(good, other_root, "state root");
}

TEST_F(state_root_test, an_old_proof_does_not_verify_against_a_newer_root) {
  const auto old_proof = *l().prove(account_address_of(0));
  must(xfer(0, 1, account_address_of(1), asset::tsl, 1));
  EXPECT_FALSE(verify_account_proof(l().state_root(), old_proof));
  EXPECT_TRUE(verify_account_proof(l().state_root(), *l().prove(account_address_of(0))));
}

TEST_F(state_root_test, snapshot_restore_gives_the_same_root_and_the_same_future) {
  auto cmds = script();
  const std::size_t half = cmds.size() / 2;
  for (std::size_t k = 0; k < half; ++k) must(cmds[k]);
  const auto snap = l().snapshot();
  auto restored = ledger::restore(snap);
  ASSERT_TRUE(restored.has_value()) << describe(restored.error());
  EXPECT_EQ(restored->state_root(), l().state_root());
  EXPECT_EQ(restored->snapshot(), snap) << "snapshot(restore(s)) == s";
  EXPECT_EQ(restored->genesis_hash(), l().genesis_hash());
  EXPECT_EQ(restored->bmax_wh(), l().bmax_wh());
  EXPECT_TRUE(restored->check_invariants().empty());
  for (std::size_t k = half; k < cmds.size(); ++k) {
    auto a = l().verify_and_apply(cmds[k]);
    auto b = restored->verify_and_apply(cmds[k]);
    ASSERT_EQ(a.has_value(), b.has_value()) << command_name(cmds[k].body);
    ASSERT_TRUE(a.has_value()) << describe(a.error());
    EXPECT_EQ(a->minted_wh, b->minted_wh);
    EXPECT_EQ(a->fees_units, b->fees_units);
    EXPECT_EQ(crypto::to_hex(restored->state_root()), crypto::to_hex(l().state_root())) << "after " << command_name(cmds[k].body);
  }
  // Replays are refused the same way: nonces survived the snapshot.
  auto a = l().verify_and_apply(cmds[half]);
  auto b = restored->verify_and_apply(cmds[half]);
  ASSERT_FALSE(a.has_value());
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(a.error().code, b.error().code);
}

TEST_F(state_root_test, every_flipped_byte_in_a_snapshot_is_refused) {
  for (const auto& cmd : script()) must(cmd);
  const auto snap = l().snapshot();
  for (std::size_t i = 0; i < snap.size(); ++i) {
    auto bad = snap;
    bad[i] ^= 0x01;
    auto r = ledger::restore(bad);
    ASSERT_FALSE(r.has_value()) << "flipped byte " << i << " of " << snap.size() << " accepted";
    EXPECT_EQ(r.error().code, errc::malformed);
  }
}

TEST_F(state_root_test, truncated_or_extended_snapshot_is_refused) {
  for (const auto& cmd : script()) must(cmd);
  const auto snap = l().snapshot();
  for (std::size_t n = 0; n < snap.size(); n += (n < 64 ? 1 : 37)) {
    auto r = ledger::restore(std::span(snap).first(n));
    ASSERT_FALSE(r.has_value()) << "snapshot cut to " << n << " bytes accepted";
    EXPECT_EQ(r.error().code, errc::malformed);
  }
  ASSERT_FALSE(ledger::restore(std::span(snap).first(snap.size() - 1)).has_value());
  auto longer = snap;
  longer.push_back(0);
  EXPECT_FALSE(ledger::restore(longer).has_value());
}

// A snapshot whose checksum was recomputed after tampering (a buggy or hostile writer) is still
// refused by the structural checks and the invariants.
TEST_F(state_root_test, tampered_snapshot_with_a_valid_checksum_is_refused) {
  const auto snap = l().snapshot();
  auto reseal = [](std::vector<uint8_t> bytes) {
    bytes.erase(bytes.end() - 32, bytes.end());  // resize(size - 32) trips -Wstringop-overflow
    const auto sum = crypto::sha256(bytes);
    bytes.insert(bytes.end(), sum.begin(), sum.end());
    return bytes;
  };
  ASSERT_TRUE(ledger::restore(reseal(snap)).has_value()) << "resealing an untouched snapshot is harmless";

  // Alice's TSL balance + 1: the TSL total no longer equals the supply.
  std::array<uint8_t, 8> be{};
  for (int k = 0; k < 8; ++k) be[k] = static_cast<uint8_t>(static_cast<uint64_t>(alice_units) >> (56 - 8 * k));
  auto it = std::search(snap.begin(), snap.end(), be.begin(), be.end());
  ASSERT_NE(it, snap.end());
  auto bad = snap;
  bad[static_cast<std::size_t>(it - snap.begin()) + 7] += 1;
  auto r = ledger::restore(reseal(bad));
  ASSERT_FALSE(r.has_value()) << "a snapshot that creates TSL was accepted";
  EXPECT_EQ(r.error().code, errc::malformed);

  // An unsupported version.
  constexpr std::size_t magic_bytes = std::string_view("ENERGO-LEDGER-SNAPSHOT").size();
  bad = snap;
  bad[magic_bytes + 3] = 99;
  r = ledger::restore(reseal(bad));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::malformed);
}

}  // namespace
}  // namespace energo::ledger::test
