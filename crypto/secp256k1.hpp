#pragma once
// secp256k1 (libsecp256k1) for account keys: ECDSA over 32-byte digests, compressed public keys,
// low-S signatures only (as Bitcoin/Qtum policy requires), compact 64-byte r||s encoding.
#include <compare>
#include <optional>

#include "crypto/bytes.hpp"

namespace energo::crypto {

struct secp256k1_public_key {
  std::array<uint8_t, 33> bytes{};  // SEC1 compressed
  auto operator<=>(const secp256k1_public_key&) const = default;
};
struct ecdsa_signature {
  std::array<uint8_t, 64> bytes{};  // compact r || s, s in the lower half of the order
  bool operator==(const ecdsa_signature&) const = default;
};

class secp256k1_secret_key {
 public:
  [[nodiscard]] static secp256k1_secret_key generate();
  // nullopt if the scalar is zero or not below the group order.
  [[nodiscard]] static std::optional<secp256k1_secret_key> from_bytes(const std::array<uint8_t, 32>& bytes);

  [[nodiscard]] const std::array<uint8_t, 32>& bytes() const { return bytes_; }
  [[nodiscard]] secp256k1_public_key public_key() const;
  // RFC 6979 deterministic nonce; always low-S.
  [[nodiscard]] ecdsa_signature sign(const hash256& digest) const;

 private:
  std::array<uint8_t, 32> bytes_{};
};

// Parses a compressed (33) or uncompressed (65) SEC1 key that lies on the curve; returns it compressed.
[[nodiscard]] std::optional<secp256k1_public_key> parse_secp256k1_public_key(byte_span bytes);

// False for a malformed key or signature, a high-S signature, or a mismatch.
[[nodiscard]] bool ecdsa_verify(const secp256k1_public_key& key, const hash256& digest,
                                const ecdsa_signature& signature);

}  // namespace energo::crypto
