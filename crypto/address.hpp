#pragma once
// Qtum-style addresses and WIF private keys.
//   P2PKH address = base58check(version || HASH160(compressed pubkey)); version 58 ('Q', mainnet),
//   120 ('q', testnet and regtest). P2SH versions: 50 (mainnet), 110 (testnet/regtest).
//   WIF = base58check(0x80 mainnet | 0xef testnet/regtest || secret || [0x01 if compressed]).
#include <compare>
#include <optional>

#include "crypto/bytes.hpp"
#include "crypto/secp256k1.hpp"

namespace energo::crypto {

enum class network : uint8_t { mainnet, testnet, regtest };

inline constexpr uint8_t qtum_pubkey_version_mainnet = 58;
inline constexpr uint8_t qtum_pubkey_version_testnet = 120;
inline constexpr uint8_t qtum_script_version_mainnet = 50;
inline constexpr uint8_t qtum_script_version_testnet = 110;
inline constexpr uint8_t qtum_wif_version_mainnet = 0x80;
inline constexpr uint8_t qtum_wif_version_testnet = 0xef;

enum class address_kind : uint8_t { pubkey_hash, script_hash };

struct address {
  uint8_t version = qtum_pubkey_version_mainnet;
  hash160 hash{};

  [[nodiscard]] static address from_public_key(const secp256k1_public_key& key, network net);
  // Accepts only a valid base58check string with a known Qtum version byte, for `net` if given
  // (testnet and regtest share version bytes, so either accepts both).
  [[nodiscard]] static std::optional<address> parse(std::string_view text,
                                                    std::optional<network> net = std::nullopt);
  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] address_kind kind() const;
  auto operator<=>(const address&) const = default;
};

struct wif_key {
  secp256k1_secret_key secret;
  network net = network::mainnet;  // regtest keys decode as testnet: they share the version byte
  bool compressed = true;
};

[[nodiscard]] std::string wif_encode(const secp256k1_secret_key& secret, network net, bool compressed = true);
[[nodiscard]] std::optional<wif_key> wif_decode(std::string_view text);

}  // namespace energo::crypto
