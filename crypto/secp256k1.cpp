#include "crypto/secp256k1.hpp"

#include <secp256k1.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>

#include "common/assert.hpp"
#include "crypto/internal.hpp"

namespace energo::crypto {
namespace {

struct context_deleter {
  void operator()(secp256k1_context* ctx) const { secp256k1_context_destroy(ctx); }
};
using context_ptr = std::unique_ptr<secp256k1_context, context_deleter>;

// One signing context for the process: created once, self-tested once and randomised once (blinding
// against side channels). Signing and key derivation only read it, so threads may share it.
// Verification and parsing need no precomputed tables and use secp256k1_context_static.
const secp256k1_context* signing_context() {
  static const context_ptr ctx = [] {
    secp256k1_selftest();
    detail::ensure_sodium_initialized();
    context_ptr created{secp256k1_context_create(SECP256K1_CONTEXT_NONE)};
    ENERGO_ASSERT(created != nullptr, "secp256k1_context_create failed");
    std::array<uint8_t, 32> seed{};
    randombytes_buf(seed.data(), seed.size());
    ENERGO_ASSERT(secp256k1_context_randomize(created.get(), seed.data()) == 1,
                  "secp256k1_context_randomize failed");
    sodium_memzero(seed.data(), seed.size());
    return created;
  }();
  return ctx.get();
}

// Random scalars are invalid with probability ~2^-128; more failures than this mean a broken RNG.
constexpr int secret_key_attempts_max = 16;

}  // namespace

secp256k1_secret_key secp256k1_secret_key::generate() {
  detail::ensure_sodium_initialized();
  std::array<uint8_t, 32> candidate{};
  for (int attempt = 0; attempt < secret_key_attempts_max; ++attempt) {
    randombytes_buf(candidate.data(), candidate.size());
    if (auto key = from_bytes(candidate)) {
      sodium_memzero(candidate.data(), candidate.size());
      return *key;
    }
  }
  ENERGO_ASSERT(false, "random number generator produced no valid secp256k1 scalar");
  return {};
}

std::optional<secp256k1_secret_key> secp256k1_secret_key::from_bytes(const std::array<uint8_t, 32>& bytes) {
  if (secp256k1_ec_seckey_verify(secp256k1_context_static, bytes.data()) != 1) return std::nullopt;
  secp256k1_secret_key key;
  key.bytes_ = bytes;
  return key;
}

secp256k1_public_key secp256k1_secret_key::public_key() const {
  secp256k1_pubkey pubkey;
  ENERGO_ASSERT(secp256k1_ec_pubkey_create(signing_context(), &pubkey, bytes_.data()) == 1,
                "secp256k1_ec_pubkey_create failed on a validated secret key");
  secp256k1_public_key out;
  std::size_t size = out.bytes.size();
  ENERGO_ASSERT(secp256k1_ec_pubkey_serialize(secp256k1_context_static, out.bytes.data(), &size, &pubkey,
                                              SECP256K1_EC_COMPRESSED) == 1 &&
                    size == out.bytes.size(),
                "secp256k1_ec_pubkey_serialize failed");
  return out;
}

ecdsa_signature secp256k1_secret_key::sign(const hash256& digest) const {
  secp256k1_ecdsa_signature sig;
  // Null nonce function = RFC 6979; libsecp256k1 always emits the low-S form.
  ENERGO_ASSERT(secp256k1_ecdsa_sign(signing_context(), &sig, digest.data(), bytes_.data(), nullptr,
                                     nullptr) == 1,
                "secp256k1_ecdsa_sign failed on a validated secret key");
  ecdsa_signature out;
  ENERGO_ASSERT(secp256k1_ecdsa_signature_serialize_compact(secp256k1_context_static, out.bytes.data(), &sig) == 1,
                "secp256k1_ecdsa_signature_serialize_compact failed");
  return out;
}

std::optional<secp256k1_public_key> parse_secp256k1_public_key(byte_span bytes) {
  // Only SEC1 compressed (02/03) and uncompressed (04) forms; libsecp256k1 would also take the
  // obsolete "hybrid" 06/07 prefix, which no wallet produces.
  const bool compressed = bytes.size() == 33 && (bytes[0] == 0x02 || bytes[0] == 0x03);
  const bool uncompressed = bytes.size() == 65 && bytes[0] == 0x04;
  if (!compressed && !uncompressed) return std::nullopt;
  secp256k1_pubkey pubkey;
  if (secp256k1_ec_pubkey_parse(secp256k1_context_static, &pubkey, bytes.data(), bytes.size()) != 1) {
    return std::nullopt;
  }
  secp256k1_public_key out;
  std::size_t size = out.bytes.size();
  ENERGO_ASSERT(secp256k1_ec_pubkey_serialize(secp256k1_context_static, out.bytes.data(), &size, &pubkey,
                                              SECP256K1_EC_COMPRESSED) == 1 &&
                    size == out.bytes.size(),
                "secp256k1_ec_pubkey_serialize failed");
  return out;
}

namespace {

// Parsing a compressed key takes a square root: about 6 us here, an eighth of a verification.
// A node verifies many commands of the same accounts, so each thread keeps the keys it parsed last
// in a direct-mapped table (slot = bytes 1..8 of the key, i.e. of its x coordinate). A slot is
// used only when its 33 key bytes equal the key's; only keys that parsed are stored.
constexpr std::size_t parsed_keys_cached = 1024;  // per thread: 1024 * ~100 bytes
struct parsed_key_slot {
  std::array<uint8_t, 33> key{};  // key[0] == 0: empty (a compressed key starts with 02 or 03)
  secp256k1_pubkey parsed;
};

bool parse_cached(const secp256k1_public_key& key, secp256k1_pubkey& out) {
  static_assert(sizeof(key.bytes) == 33);
  thread_local std::array<parsed_key_slot, parsed_keys_cached> table{};
  uint64_t x = 0;
  std::memcpy(&x, key.bytes.data() + 1, sizeof(x));
  auto& slot = table[x % parsed_keys_cached];
  if (slot.key == key.bytes) {
    out = slot.parsed;
    return true;
  }
  if (secp256k1_ec_pubkey_parse(secp256k1_context_static, &out, key.bytes.data(), key.bytes.size()) != 1) return false;
  slot.key = key.bytes;
  slot.parsed = out;
  return true;
}

}  // namespace

bool ecdsa_verify(const secp256k1_public_key& key, const hash256& digest, const ecdsa_signature& signature) {
  secp256k1_pubkey pubkey;
  if (key.bytes[0] != 0x02 && key.bytes[0] != 0x03) return false;
  if (!parse_cached(key, pubkey)) return false;
  secp256k1_ecdsa_signature sig;
  if (secp256k1_ecdsa_signature_parse_compact(secp256k1_context_static, &sig, signature.bytes.data()) != 1) {
    return false;
  }
  // normalize() returns 1 when it had to lower S: the signature as given is high-S, which
  // Bitcoin/Qtum policy (and ours) treats as malleated and rejects.
  if (secp256k1_ecdsa_signature_normalize(secp256k1_context_static, nullptr, &sig) != 0) return false;
  return secp256k1_ecdsa_verify(secp256k1_context_static, &sig, digest.data(), &pubkey) == 1;
}

}  // namespace energo::crypto
