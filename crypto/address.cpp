#include "crypto/address.hpp"

#include <algorithm>

#include "common/assert.hpp"
#include "crypto/base58.hpp"
#include "crypto/hash.hpp"

namespace energo::crypto {
namespace {

constexpr std::size_t address_payload_bytes = 1 + 20;         // version || HASH160
constexpr std::size_t wif_payload_bytes_uncompressed = 1 + 32;  // version || secret
constexpr std::size_t wif_payload_bytes_compressed = 1 + 32 + 1;  // ... || 0x01
constexpr uint8_t wif_compressed_marker = 0x01;

bool is_mainnet_version(uint8_t v) {
  return v == qtum_pubkey_version_mainnet || v == qtum_script_version_mainnet;
}
bool is_testnet_version(uint8_t v) {
  return v == qtum_pubkey_version_testnet || v == qtum_script_version_testnet;
}

}  // namespace

address address::from_public_key(const secp256k1_public_key& key, network net) {
  address out;
  out.version = net == network::mainnet ? qtum_pubkey_version_mainnet : qtum_pubkey_version_testnet;
  out.hash = hash160_of(key.bytes);
  return out;
}

std::optional<address> address::parse(std::string_view text, std::optional<network> net) {
  const auto payload = base58check_decode(text);
  if (!payload || payload->size() != address_payload_bytes) return std::nullopt;
  const uint8_t version = (*payload)[0];
  const bool version_ok = !net                        ? is_mainnet_version(version) || is_testnet_version(version)
                          : *net == network::mainnet ? is_mainnet_version(version)
                                                     : is_testnet_version(version);
  if (!version_ok) return std::nullopt;
  address out;
  out.version = version;
  std::copy(payload->begin() + 1, payload->end(), out.hash.begin());
  return out;
}

std::string address::to_string() const {
  std::array<uint8_t, address_payload_bytes> payload{};
  payload[0] = version;
  std::copy(hash.begin(), hash.end(), payload.begin() + 1);
  return base58check_encode(payload);
}

address_kind address::kind() const {
  ENERGO_ASSERT(is_mainnet_version(version) || is_testnet_version(version), "address with an unknown version byte");
  return version == qtum_script_version_mainnet || version == qtum_script_version_testnet ? address_kind::script_hash
                                                                                           : address_kind::pubkey_hash;
}

std::string wif_encode(const secp256k1_secret_key& secret, network net, bool compressed) {
  std::array<uint8_t, wif_payload_bytes_compressed> payload{};
  payload[0] = net == network::mainnet ? qtum_wif_version_mainnet : qtum_wif_version_testnet;
  std::copy(secret.bytes().begin(), secret.bytes().end(), payload.begin() + 1);
  payload[wif_payload_bytes_uncompressed] = wif_compressed_marker;
  const std::size_t size = compressed ? wif_payload_bytes_compressed : wif_payload_bytes_uncompressed;
  return base58check_encode(byte_span{payload.data(), size});
}

std::optional<wif_key> wif_decode(std::string_view text) {
  const auto payload = base58check_decode(text);
  if (!payload) return std::nullopt;
  const bool compressed = payload->size() == wif_payload_bytes_compressed &&
                          (*payload)[wif_payload_bytes_uncompressed] == wif_compressed_marker;
  if (!compressed && payload->size() != wif_payload_bytes_uncompressed) return std::nullopt;
  const uint8_t version = (*payload)[0];
  if (version != qtum_wif_version_mainnet && version != qtum_wif_version_testnet) return std::nullopt;
  std::array<uint8_t, 32> bytes{};
  std::copy(payload->begin() + 1, payload->begin() + 33, bytes.begin());
  const auto secret = secp256k1_secret_key::from_bytes(bytes);
  if (!secret) return std::nullopt;
  return wif_key{*secret, version == qtum_wif_version_mainnet ? network::mainnet : network::testnet, compressed};
}

}  // namespace energo::crypto
