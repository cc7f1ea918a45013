#pragma once
// Ed25519 (libsodium) for node, meter and admin keys.
#include <compare>

#include "crypto/bytes.hpp"

namespace energo::crypto {

struct ed25519_public_key {
  std::array<uint8_t, 32> bytes{};
  auto operator<=>(const ed25519_public_key&) const = default;
};
struct ed25519_signature {
  std::array<uint8_t, 64> bytes{};
  bool operator==(const ed25519_signature&) const = default;
};

class ed25519_keypair {
 public:
  [[nodiscard]] static ed25519_keypair generate();
  // Deterministic from a 32-byte seed (RFC 8032 "secret key").
  [[nodiscard]] static ed25519_keypair from_seed(const std::array<uint8_t, 32>& seed);

  [[nodiscard]] const ed25519_public_key& public_key() const { return public_key_; }
  [[nodiscard]] const std::array<uint8_t, 32>& seed() const { return seed_; }
  [[nodiscard]] ed25519_signature sign(byte_span message) const;

 private:
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 64> secret_{};  // libsodium form: seed || public key
  ed25519_public_key public_key_{};
};

// Strict verification (libsodium's crypto_sign_verify_detached): false on any malformed input.
[[nodiscard]] bool ed25519_verify(const ed25519_public_key& key, byte_span message,
                                  const ed25519_signature& signature);

}  // namespace energo::crypto
