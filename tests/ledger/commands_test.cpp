// Canonical encoding, decode() of hostile bytes (SPEC §8), signatures and their binding to the
// genesis, and the Bmax formula (SPEC §3.7).
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "tests/ledger/ledger_fixture.hpp"

namespace energo::ledger::test {
namespace {

class commands_test : public ledger_test {
 protected:
  // One signed example of every command type.
  std::vector<command> one_of_each() {
    return {tick_at(t0_ms + 5),
            register_meter_cmd(0, account_address_of(0), 10, 20),
            register_unit_cmd(0, account_address_of(3), 5000),
            set_params_cmd(default_params()),
            grant_cmd(account_address_of(7)),
            reading(0, 1, t0_ms, 100, 50),
            report(0, 1, 0, 300),
            xfer(0, 1, account_address_of(1), asset::watt, 25)};
  }
};

void expect_malformed(std::span<const uint8_t> bytes, const std::string& why) {
  auto r = decode(bytes);
  ASSERT_FALSE(r.has_value()) << why << ": decoded";
  EXPECT_EQ(errc_name(r.error().code), errc_name(errc::malformed)) << why;
  EXPECT_FALSE(r.error().message.empty());
}

TEST_F(commands_test, every_command_round_trips_through_its_encoding) {
  const auto cmds = one_of_each();  // the ledger's own commands, wire types 1..8 (market and EV follow)
  ASSERT_LE(cmds.size(), std::variant_size_v<command_body>);
  for (std::size_t k = 0; k < cmds.size(); ++k) {
    const auto bytes = encode(cmds[k]);
    EXPECT_EQ(bytes[0], k + 1) << "wire type byte of " << command_name(cmds[k].body);
    EXPECT_LE(bytes.size(), limits::command_bytes_max);
    auto back = decode(bytes);
    ASSERT_TRUE(back.has_value()) << command_name(cmds[k].body) << ": " << describe(back.error());
    EXPECT_EQ(back->body.index(), cmds[k].body.index());
    EXPECT_EQ(back->signature, cmds[k].signature);
    EXPECT_EQ(encode(*back), bytes);
    EXPECT_TRUE(verify(*back, gh()).has_value()) << command_name(cmds[k].body) << " no longer verifies after decode";
  }
}

// The wire format, written out by hand from SPEC §3 and the field lists (an oracle independent of
// the command-kind table): one row per kind, in tag order, with its encoded size.
TEST(command_kinds, table_matches_the_hand_written_wire_format) {
  struct expected_kind {
    std::string_view name;
    std::size_t encoded_bytes;  // type byte + fields + 64-byte signature
  };
  constexpr std::size_t sig = 64, ed = 32, secp = 33, addr = 20, auth = ed + 8;
  const expected_kind expected[] = {
      {"tick", 1 + 8 + sig},
      {"register_meter", 1 + auth + ed + addr + 8 + 8 + sig},
      {"register_storage_unit", 1 + auth + ed + addr + 8 + sig},
      {"set_params", 1 + auth + 4 * 8 + sig},
      {"education_grant", 1 + auth + addr + sig},
      {"meter_reading", 1 + ed + 8 + 8 + 8 + 8 + sig},
      {"storage_report", 1 + ed + 8 + 8 + 8 + sig},
      {"transfer", 1 + secp + 8 + addr + 1 + 8 + sig},
      {"place_order", 1 + secp + 8 + 1 + 1 + 8 + 8 + sig},
      {"cancel_order", 1 + secp + 8 + 8 + sig},
      {"replace_order", 1 + secp + 8 + 8 + 8 + 8 + sig},
      {"set_agent", 1 + secp + 8 + 1 + 4 * 8 + sig},
      {"register_station", 1 + auth + ed + addr + 8 + sig},
      {"ev_open_session", 1 + secp + 8 + ed + 8 + 8 + sig},
      {"ev_delivery", 1 + ed + 8 + 8 + 8 + 1 + sig},
      {"ev_close_session", 1 + secp + 8 + 8 + sig},
  };
  ASSERT_EQ(std::size(expected), command_kind_count) << "a kind was added: add its row here too";
  for (std::size_t i = 0; i < command_kind_count; ++i) {
    SCOPED_TRACE(std::string(expected[i].name));
    EXPECT_EQ(command_kinds[i].name, expected[i].name);
    EXPECT_EQ(static_cast<std::size_t>(command_kinds[i].tag), i + 1);
    EXPECT_EQ(command_index_from_name(expected[i].name), i);
    ASSERT_TRUE(visit_command_kind(i, [&]<class T>(std::type_identity<T>) {
      command cmd{T{}, {}};
      const auto bytes = encode(cmd);
      EXPECT_EQ(bytes.size(), expected[i].encoded_bytes);
      EXPECT_LE(bytes.size(), limits::command_bytes_max);
      EXPECT_EQ(bytes[0], i + 1);
      EXPECT_EQ(command_name(cmd.body), expected[i].name);
      auto back = decode(bytes);
      ASSERT_TRUE(back.has_value()) << back.error().message;
      EXPECT_EQ(encode(*back), bytes);
      const bool signed_kind = command_kinds[i].signer != signer_kind::none;
      EXPECT_EQ(signed_kind, !command_kinds[i].signer_field.empty());
    }));
  }
  EXPECT_FALSE(visit_command_kind(command_kind_count, [](auto) {}));
  EXPECT_FALSE(command_index_from_name("mint").has_value());
}

// Two kinds byte by byte: a composite field (set_params: admin auth, then the four parameters)
// and enums (place_order: side and kind bytes). Big-endian integers.
TEST(command_kinds, encodings_byte_by_byte) {
  auto be64 = [](std::vector<uint8_t>& out, uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  };
  set_params sp;
  sp.auth.admin_key.bytes.fill(0xA1);
  sp.auth.nonce = 0x0102030405060708;
  sp.params = {11, 22, 33, 44};
  command cmd{sp, {}};
  cmd.signature.fill(0x5A);
  std::vector<uint8_t> want{4};
  want.insert(want.end(), 32, 0xA1);
  be64(want, 0x0102030405060708);
  for (uint64_t v : {11, 22, 33, 44}) be64(want, v);
  want.insert(want.end(), 64, 0x5A);
  EXPECT_EQ(encode(cmd), want);

  place_order po;
  po.from_key.bytes.fill(0x02);
  po.nonce = 9;
  po.order_side = market::side::sell;
  po.kind = market::order_kind::market;
  po.price_units_per_wh = -2;  // the binary codec carries any int64; the ledger checks bounds
  po.quantity_wh = 300;
  want = {9};
  want.insert(want.end(), 33, 0x02);
  be64(want, 9);
  want.push_back(1);
  want.push_back(2);
  be64(want, static_cast<uint64_t>(int64_t{-2}));
  be64(want, 300);
  want.insert(want.end(), 64, 0);
  EXPECT_EQ(encode(command{po, {}}), want);
  // Out-of-range enum and bool bytes are refused.
  auto bad = want;
  bad[1 + 33 + 8] = 2;  // side
  expect_malformed(bad, "side byte 2");
  bad = want;
  bad[1 + 33 + 8 + 1] = 3;  // kind
  expect_malformed(bad, "kind byte 3");
}

TEST_F(commands_test, decode_refuses_every_truncation) {
  for (const auto& cmd : one_of_each()) {
    const auto bytes = encode(cmd);
    for (std::size_t n = 0; n < bytes.size(); ++n)
      expect_malformed(std::span(bytes).first(n), std::string(command_name(cmd.body)) + " cut to " + std::to_string(n) + " bytes");
  }
}

TEST_F(commands_test, decode_refuses_unknown_type_bytes) {
  auto bytes = encode(xfer(0, 1, account_address_of(1), asset::tsl, 1));
  constexpr int first_unknown = static_cast<int>(std::variant_size_v<command_body>) + 1;
  for (int type : {0, first_unknown, first_unknown + 1, 0x7f, 0xff}) {
    bytes[0] = static_cast<uint8_t>(type);
    expect_malformed(bytes, "type byte " + std::to_string(type));
  }
}

TEST_F(commands_test, decode_refuses_trailing_bytes) {
  for (const auto& cmd : one_of_each()) {
    auto bytes = encode(cmd);
    bytes.push_back(0);
    expect_malformed(bytes, std::string(command_name(cmd.body)) + " + 1 trailing byte");
  }
}

TEST_F(commands_test, decode_refuses_oversized_input) {
  auto bytes = encode(xfer(0, 1, account_address_of(1), asset::tsl, 1));
  bytes.resize(limits::command_bytes_max + 1, 0);
  expect_malformed(bytes, "command_bytes_max + 1 bytes");
  std::vector<uint8_t> huge(1 << 20, 0x08);
  expect_malformed(huge, "1 MiB");
}

TEST_F(commands_test, decode_refuses_a_bad_asset_byte) {
  auto bytes = encode(xfer(0, 1, account_address_of(1), asset::tsl, 1));
  constexpr std::size_t asset_offset = 1 + 33 + 8 + 20;  // type, from key, nonce, to
  ASSERT_EQ(bytes[asset_offset], static_cast<uint8_t>(asset::tsl));
  for (int what : {0, 3, 0xff}) {
    bytes[asset_offset] = static_cast<uint8_t>(what);
    expect_malformed(bytes, "asset byte " + std::to_string(what));
  }
  bytes[asset_offset] = static_cast<uint8_t>(asset::watt);
  EXPECT_TRUE(decode(bytes).has_value());
}

TEST_F(commands_test, decode_refuses_empty_input) { expect_malformed({}, "empty"); }

RC_GTEST_PROP(commands_fuzz, decode_of_random_bytes_never_crashes_and_is_canonical, (const std::vector<uint8_t>& bytes)) {
  auto r = decode(bytes);
  if (r.has_value()) {
    RC_ASSERT(encode(*r) == bytes);  // one encoding per command: nothing ambiguous reaches the log
  } else {
    RC_ASSERT(r.error().code == errc::malformed);
  }
}

RC_GTEST_PROP(commands_fuzz, decode_of_mutated_transfer_never_crashes, (std::size_t position, uint8_t value, std::size_t cut)) {
  const auto key = account_key(0);
  auto bytes = encode(sign_secp256k1(transfer{key.public_key(), 3, account_address_of(1), asset::watt, 99}, key,
                                     default_genesis().hash()));
  bytes[position % bytes.size()] = value;
  bytes.erase(bytes.end() - static_cast<std::ptrdiff_t>(cut % 4), bytes.end());
  auto r = decode(bytes);
  if (r.has_value()) RC_ASSERT(encode(*r) == bytes);
  else RC_ASSERT(r.error().code == errc::malformed);
}

TEST_F(commands_test, every_signed_command_verifies_and_any_flipped_byte_breaks_it) {
  for (const auto& cmd : one_of_each()) {
    if (std::holds_alternative<tick>(cmd.body)) continue;
    ASSERT_TRUE(verify(cmd, gh()).has_value()) << command_name(cmd.body);
    auto bad_sig = cmd;
    bad_sig.signature[7] ^= 0x01;
    auto r = verify(bad_sig, gh());
    ASSERT_FALSE(r.has_value()) << command_name(cmd.body) << " verified with a flipped signature bit";
    EXPECT_EQ(r.error().code, errc::bad_signature);
    // A changed field after signing: flip a bit in the last field byte before the signature.
    auto bytes = encode(cmd);
    bytes[bytes.size() - 64 - 1] ^= 0x01;
    auto changed = decode(bytes);
    if (!changed) continue;  // e.g. the asset byte became invalid: refused earlier, fine
    auto r2 = verify(*changed, gh());
    ASSERT_FALSE(r2.has_value()) << command_name(cmd.body) << " verified after a field changed";
    EXPECT_EQ(r2.error().code, errc::bad_signature);
  }
}

TEST_F(commands_test, tick_verifies_only_without_a_signature) {
  auto t = tick_at(t0_ms + 1);
  EXPECT_TRUE(verify(t, gh()).has_value());
  t.signature[63] = 1;
  auto r = verify(t, gh());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::malformed);
  refused(t, errc::malformed);
}

TEST_F(commands_test, a_command_signed_for_another_genesis_fails_verify) {
  auto other = default_genesis();
  other.community_id = "other-dae";
  const auto other_hash = other.hash();
  ASSERT_NE(other_hash, gh());
  const auto key = account_key(0);
  const command foreign_transfer =
      sign_secp256k1(transfer{key.public_key(), 1, account_address_of(1), asset::tsl, 5}, key, other_hash);
  EXPECT_TRUE(verify(foreign_transfer, other_hash).has_value()) << "valid in its own community";
  refused(foreign_transfer, errc::bad_signature);
  const command foreign_admin = sign_ed25519(
      register_meter{{admin_key(0).public_key(), 1}, meter_key(0).public_key(), account_address_of(0), 0, 0}, admin_key(0),
      other_hash);
  refused(foreign_admin, errc::bad_signature);
  const command foreign_reading =
      sign_ed25519(meter_reading{meter_key(0).public_key(), 1, t0_ms, 1, 0}, meter_key(0), other_hash);
  refused(foreign_reading, errc::bad_signature);
  // The same transfer signed for this community is accepted.
  must(xfer(0, 1, account_address_of(1), asset::tsl, 5));
}

TEST_F(commands_test, a_signature_by_another_key_fails_verify) {
  // Claims alice's key, signed by bob: the ledger would debit alice, so it must never pass.
  const auto alice = account_key(0);
  const auto bob = account_key(1);
  const command forged = sign_secp256k1(transfer{alice.public_key(), 1, account_address_of(1), asset::tsl, 5}, bob, gh());
  refused(forged, errc::bad_signature);
  const command forged_reading = sign_ed25519(meter_reading{meter_key(0).public_key(), 1, t0_ms, 1, 0}, meter_key(1), gh());
  refused(forged_reading, errc::bad_signature);
  const command forged_admin =
      sign_ed25519(set_params{{admin_key(0).public_key(), 1}, default_params()}, admin_key(1), gh());
  refused(forged_admin, errc::bad_signature);
}

TEST(bmax, spec_example_cu_300_dollars_p_200_dollars_per_kwh_is_2_kwh) {
  auto b = bmax_wh_from(30'000, 20'000);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, 2000);
}

TEST(bmax, formula_floors_and_scales) {
  EXPECT_EQ(*bmax_wh_from(1, 3), 444);             // 4·1·1000 / 9 = 444.4 → 444
  EXPECT_EQ(*bmax_wh_from(60'000, 20'000), 4000);  // doubling Cu doubles Bmax
  EXPECT_EQ(*bmax_wh_from(30'000, 40'000), 1000);  // doubling P halves it
  EXPECT_EQ(*bmax_wh_from(0, 20'000), 0);          // the formula allows 0; validate_params refuses it
  EXPECT_EQ(*bmax_wh_from(2, 3'000), 0);           // 8000 / 9000 floors to 0
}

TEST(bmax, invalid_inputs_are_errors_not_wraps) {
  for (auto [cu, p] : {std::pair<int64_t, int64_t>{30'000, 0}, {30'000, -1}, {-1, 20'000}, {INT64_MAX, 1}, {INT64_MAX, INT64_MAX / 4}}) {
    auto b = bmax_wh_from(cu, p);
    if (cu == INT64_MAX && p == INT64_MAX / 4) {
      ASSERT_TRUE(b.has_value()) << "128-bit intermediate must not overflow";
      EXPECT_EQ(*b, 5333);  // 4·(2^63−1)·1000 / (3·((2^63−1)/4)) ≈ 5333.3
      continue;
    }
    ASSERT_FALSE(b.has_value()) << "Cu=" << cu << " P=" << p;
    EXPECT_EQ(b.error().code, errc::invalid_params);
  }
  auto largest = bmax_wh_from(3 * limits::bmax_wh_max / 4, 1000);  // exactly bmax_wh_max
  ASSERT_TRUE(largest.has_value());
  EXPECT_EQ(*largest, limits::bmax_wh_max);
}

}  // namespace
}  // namespace energo::ledger::test
