#include "crypto/address.hpp"

#include <gtest/gtest.h>

#include "crypto/base58.hpp"
#include "tests/crypto/test_support.hpp"

namespace energo::crypto {
namespace {

using test::hex;

// Qtum's signet shares the testnet version bytes; this API folds both into `testnet`.
std::optional<network> network_of(const std::string& chain) {
  if (chain == "main") return network::mainnet;
  if (chain == "test" || chain == "signet") return network::testnet;
  if (chain == "regtest") return network::regtest;
  return std::nullopt;
}

bool is_testnet_like(network net) { return net != network::mainnet; }

TEST(address, qtum_valid_vectors) {
  ENERGO_LOAD_QTUM_VECTORS(vectors, "key_io_valid.json");
  int addresses = 0, keys = 0, unsupported = 0;
  for (const auto& entry : vectors) {
    const std::string text = entry.at(0);
    const std::string payload_hex = entry.at(1);
    const auto& meta = entry.at(2);
    const auto net = network_of(meta.at("chain"));
    SCOPED_TRACE(text + " (" + meta.at("chain").get<std::string>() + ")");
    ASSERT_TRUE(net.has_value());

    if (meta.at("isPrivkey").get<bool>()) {
      ++keys;
      const auto key = wif_decode(text);
      ASSERT_TRUE(key.has_value());
      EXPECT_EQ(to_hex(key->secret.bytes()), payload_hex);
      EXPECT_EQ(key->compressed, meta.at("isCompressed").get<bool>());
      EXPECT_EQ(key->net, is_testnet_like(*net) ? network::testnet : network::mainnet);
      EXPECT_EQ(wif_encode(key->secret, *net, key->compressed), text);
      EXPECT_FALSE(address::parse(text).has_value()) << "a WIF key is not an address";
      continue;
    }

    EXPECT_FALSE(wif_decode(text).has_value()) << "an address is not a WIF key";
    // The vector carries the output script: P2PKH 76a914<hash>88ac or P2SH a914<hash>87.
    std::optional<address_kind> kind;
    std::string hash_hex;
    if (payload_hex.size() == 50 && payload_hex.starts_with("76a914") && payload_hex.ends_with("88ac")) {
      kind = address_kind::pubkey_hash;
      hash_hex = payload_hex.substr(6, 40);
    } else if (payload_hex.size() == 46 && payload_hex.starts_with("a914") && payload_hex.ends_with("87")) {
      kind = address_kind::script_hash;
      hash_hex = payload_hex.substr(4, 40);
    }
    if (!kind) {
      // Segwit/taproot (bech32) outputs: not representable by this address type, so refused.
      ++unsupported;
      EXPECT_FALSE(address::parse(text).has_value());
      continue;
    }
    ++addresses;
    const auto parsed = address::parse(text, *net);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->kind(), *kind);
    EXPECT_EQ(to_hex(parsed->hash), hash_hex);
    const uint8_t expected_version =
        *kind == address_kind::pubkey_hash
            ? (is_testnet_like(*net) ? qtum_pubkey_version_testnet : qtum_pubkey_version_mainnet)
            : (is_testnet_like(*net) ? qtum_script_version_testnet : qtum_script_version_mainnet);
    EXPECT_EQ(parsed->version, expected_version);
    EXPECT_EQ(parsed->to_string(), text);
    EXPECT_EQ(address::parse(text), parsed) << "no network filter accepts every known version";
    // The other network family refuses it.
    EXPECT_FALSE(address::parse(text, is_testnet_like(*net) ? network::mainnet : network::testnet).has_value());
    if (is_testnet_like(*net)) {
      EXPECT_EQ(address::parse(text, network::regtest), parsed) << "testnet and regtest share versions";
    }
  }
  // Guard against a vector file that silently stopped exercising a path.
  EXPECT_GT(addresses, 20);
  EXPECT_GT(keys, 10);
  EXPECT_GT(unsupported, 0);
}

TEST(address, qtum_invalid_vectors_are_rejected) {
  ENERGO_LOAD_QTUM_VECTORS(vectors, "key_io_invalid.json");
  ASSERT_FALSE(vectors.empty());
  for (const auto& entry : vectors) {
    const std::string text = entry.at(0);
    SCOPED_TRACE(text);
    EXPECT_FALSE(address::parse(text).has_value());
    EXPECT_FALSE(address::parse(text, network::mainnet).has_value());
    EXPECT_FALSE(address::parse(text, network::testnet).has_value());
    EXPECT_FALSE(address::parse(text, network::regtest).has_value());
    EXPECT_FALSE(wif_decode(text).has_value());
  }
}

TEST(address, from_public_key_uses_hash160_and_network_version) {
  // Secret key 1: its compressed public key is the generator G.
  const auto key = secp256k1_secret_key::from_bytes(
      test::hex_array<32>("0000000000000000000000000000000000000000000000000000000000000001"));
  ASSERT_TRUE(key.has_value());
  const auto main = address::from_public_key(key->public_key(), network::mainnet);
  const auto test = address::from_public_key(key->public_key(), network::testnet);
  // HASH160(G compressed), the hash behind Bitcoin's well-known 1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH.
  EXPECT_EQ(to_hex(main.hash), "751e76e8199196d454941c45d1b3a323f1433bd6");
  EXPECT_EQ(main.version, qtum_pubkey_version_mainnet);
  EXPECT_EQ(test.version, qtum_pubkey_version_testnet);
  EXPECT_EQ(address::from_public_key(key->public_key(), network::regtest), test);
  EXPECT_EQ(main.to_string().front(), 'Q');
  EXPECT_EQ(test.to_string().front(), 'q');
  EXPECT_EQ(address::parse(main.to_string(), network::mainnet), main);
  EXPECT_EQ(address::parse(test.to_string(), network::testnet), test);
  EXPECT_EQ(main.kind(), address_kind::pubkey_hash);
}

TEST(address, rejects_unknown_versions_and_wrong_lengths) {
  std::vector<uint8_t> payload(21, 0x11);
  payload[0] = 0x00;  // Bitcoin P2PKH, not Qtum
  EXPECT_FALSE(address::parse(base58check_encode(payload)).has_value());
  payload[0] = qtum_pubkey_version_mainnet;
  EXPECT_TRUE(address::parse(base58check_encode(payload)).has_value());
  payload.push_back(0x00);
  EXPECT_FALSE(address::parse(base58check_encode(payload)).has_value());
  payload.resize(20);
  EXPECT_FALSE(address::parse(base58check_encode(payload)).has_value());
}

TEST(wif, round_trip_and_rejections) {
  const auto secret = secp256k1_secret_key::generate();
  for (network net : {network::mainnet, network::testnet, network::regtest}) {
    for (bool compressed : {true, false}) {
      const auto decoded = wif_decode(wif_encode(secret, net, compressed));
      ASSERT_TRUE(decoded.has_value());
      EXPECT_EQ(decoded->secret.bytes(), secret.bytes());
      EXPECT_EQ(decoded->compressed, compressed);
      EXPECT_EQ(decoded->net, net == network::mainnet ? network::mainnet : network::testnet);
    }
  }
  std::vector<uint8_t> payload(34, 0x22);
  payload[0] = qtum_wif_version_mainnet;
  payload[33] = 0x01;
  EXPECT_TRUE(wif_decode(base58check_encode(payload)).has_value());
  payload[33] = 0x02;  // bad compression marker
  EXPECT_FALSE(wif_decode(base58check_encode(payload)).has_value());
  payload[33] = 0x01;
  payload[0] = 0x81;  // unknown version
  EXPECT_FALSE(wif_decode(base58check_encode(payload)).has_value());
  payload[0] = qtum_wif_version_mainnet;
  std::fill(payload.begin() + 1, payload.begin() + 33, 0x00);  // secret zero
  EXPECT_FALSE(wif_decode(base58check_encode(payload)).has_value());
  std::fill(payload.begin() + 1, payload.begin() + 33, 0xff);  // secret above the order
  EXPECT_FALSE(wif_decode(base58check_encode(payload)).has_value());
}

}  // namespace
}  // namespace energo::crypto
