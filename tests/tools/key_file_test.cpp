// Key files and signing through the codec: what energo-keys relies on.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_support.hpp"
#include "tools/key_file.hpp"

namespace energo::tools {
namespace {

using namespace test;

TEST(KeyFile, RoundTripsBothKeyTypes) {
  for (auto type : {signer_kind::ed25519, signer_kind::secp256k1}) {
    SCOPED_TRACE(std::string(signer_kind_name(type)));
    auto key = key_from_seed(type, seed("k"), crypto::network::testnet);
    ASSERT_TRUE(key.has_value());
    key->comment = "for a test";
    auto back = key_file_from_json(key_file_to_json(*key));
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    EXPECT_EQ(back->type, type);
    EXPECT_EQ(back->public_key_hex(), key->public_key_hex());
    EXPECT_EQ(back->address(), key->address());
    EXPECT_EQ(back->comment, "for a test");
  }
}

TEST(KeyFile, SeedKeysAreDeterministicAndTheSeedIsTheSecret) {
  auto a = key_from_seed(signer_kind::ed25519, seed("same"), crypto::network::regtest);
  auto b = key_from_seed(signer_kind::ed25519, seed("same"), crypto::network::regtest);
  EXPECT_EQ(a->public_key_hex(), b->public_key_hex());
  EXPECT_EQ(a->public_key_hex(), crypto::to_hex(crypto::ed25519_keypair::from_seed(seed("same")).public_key().bytes));
  auto s = key_from_seed(signer_kind::secp256k1, seed("same"), crypto::network::regtest);
  EXPECT_EQ(s->secp256k1->bytes(), seed("same"));
  EXPECT_EQ(s->address()->at(0), 'q');
  EXPECT_EQ(key_from_seed(signer_kind::secp256k1, seed("same"), crypto::network::mainnet)->address()->at(0), 'Q');
  std::array<uint8_t, 32> zero{};
  EXPECT_FALSE(key_from_seed(signer_kind::secp256k1, zero, crypto::network::regtest).has_value()) << "zero is not a valid scalar";
}

TEST(KeyFile, TamperedOrInconsistentFilesAreRefused) {
  auto key = key_from_seed(signer_kind::secp256k1, seed("t"), crypto::network::regtest);
  const auto good = key_file_to_json(*key);
  auto other = key_from_seed(signer_kind::secp256k1, seed("other"), crypto::network::regtest);

  json wrong_public = good;
  wrong_public["public_key"] = other->public_key_hex();
  EXPECT_EQ(key_file_from_json(wrong_public).error().field, "public_key");

  json wrong_address = good;
  wrong_address["address"] = *other->address();
  EXPECT_EQ(key_file_from_json(wrong_address).error().field, "address");

  json wrong_network = good;
  wrong_network["network"] = "mainnet";
  EXPECT_EQ(key_file_from_json(wrong_network).error().code, json_errc::wrong_network);

  json bad_type = good;
  bad_type["type"] = "rsa";
  EXPECT_EQ(key_file_from_json(bad_type).error().field, "type");

  json extra = good;
  extra["password"] = "hunter2";
  EXPECT_EQ(key_file_from_json(extra).error().code, json_errc::unknown_field);
}

TEST(KeyFile, WrittenWithMode0600AndNeverOverwrittenByDefault) {
  temp_dir dir("keys");
  const auto path = (dir.path() / "k.json").string();
  auto key = key_from_seed(signer_kind::ed25519, seed("w"), crypto::network::regtest);
  ASSERT_TRUE(write_key_file(path, *key, false).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = write_key_file(path, *key, false);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().find("already exists"), std::string::npos);
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(write_key_file(path, *key, true).has_value());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "an overwritten key file is tightened to 0600";
  auto read = read_key_file(path);
  ASSERT_TRUE(read.has_value()) << read.error().to_string();
  EXPECT_EQ(read->public_key_hex(), key->public_key_hex());
}

TEST(KeyFile, CommittedDemoKeysMatchTheExampleGenesis) {
  auto admin = read_key_file((example_dir / "keys" / "admin.json").string());
  ASSERT_TRUE(admin.has_value()) << admin.error().to_string();
  auto g = read_genesis_file((example_dir / "genesis.json").string());
  ASSERT_TRUE(g.has_value());
  ASSERT_EQ(g->admins.size(), 1u);
  EXPECT_EQ(admin->public_key_hex(), crypto::to_hex(g->admins[0].bytes));
  EXPECT_NE(admin->comment.find("DEMO"), std::string::npos) << "demo keys say so";
}

// Sign → JSON → parse → verify: the path of energo-keys sign followed by energo-replay.
TEST(Signing, SignedLinesVerifyAfterTheCodecAndTamperingBreaksThem) {
  const auto g = sample_genesis();
  const auto gh = g.hash();
  for (const auto& body : sample_bodies()) {
    if (std::holds_alternative<ledger::tick>(body)) continue;
    SCOPED_TRACE(std::string(ledger::command_name(body)));
    const auto line = command_to_line(sign_sample(body, gh), g.network, signature_form::signed_form);
    auto parsed = command_from_line(line, 1, g.network, signature_form::signed_form);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
    EXPECT_TRUE(ledger::verify(*parsed, gh).has_value());

    // Another community's genesis hash: the same bytes do not verify (no cross-community replay).
    auto other = sample_genesis();
    other.community_id = "another-community";
    EXPECT_FALSE(ledger::verify(*parsed, other.hash()).has_value());

    // Change a nonce/sequence in the JSON: the signature no longer verifies.
    auto j = command_to_json(*parsed, g.network, signature_form::signed_form);
    const std::string counter = j.contains("nonce") ? "nonce" : "sequence";
    j[counter] = j[counter].get<uint64_t>() - 1;
    auto tampered = command_from_json(j, g.network, signature_form::signed_form);
    ASSERT_TRUE(tampered.has_value());
    auto verdict = ledger::verify(*tampered, gh);
    ASSERT_FALSE(verdict.has_value());
    EXPECT_EQ(verdict.error().code, ledger::errc::bad_signature);
  }
}

}  // namespace
}  // namespace energo::tools
