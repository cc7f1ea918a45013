#include "crypto/ed25519.hpp"

#include <sodium.h>

#include "common/assert.hpp"
#include "crypto/internal.hpp"

namespace energo::crypto {

static_assert(crypto_sign_PUBLICKEYBYTES == 32 && crypto_sign_SECRETKEYBYTES == 64 &&
              crypto_sign_SEEDBYTES == 32 && crypto_sign_BYTES == 64);

namespace detail {

void ensure_sodium_initialized() {
  // sodium_init() returns 0 on first success and 1 if already initialised; -1 is fatal.
  static const bool initialized = sodium_init() >= 0;
  ENERGO_ASSERT(initialized, "sodium_init failed");
}

}  // namespace detail

ed25519_keypair ed25519_keypair::generate() {
  detail::ensure_sodium_initialized();
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  ed25519_keypair keypair = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return keypair;
}

ed25519_keypair ed25519_keypair::from_seed(const std::array<uint8_t, 32>& seed) {
  detail::ensure_sodium_initialized();
  ed25519_keypair keypair;
  keypair.seed_ = seed;
  ENERGO_ASSERT(crypto_sign_seed_keypair(keypair.public_key_.bytes.data(), keypair.secret_.data(),
                                         seed.data()) == 0,
                "crypto_sign_seed_keypair failed");
  return keypair;
}

ed25519_signature ed25519_keypair::sign(byte_span message) const {
  ed25519_signature signature;
  ENERGO_ASSERT(crypto_sign_detached(signature.bytes.data(), nullptr, message.data(), message.size(),
                                     secret_.data()) == 0,
                "crypto_sign_detached failed");
  return signature;
}

bool ed25519_verify(const ed25519_public_key& key, byte_span message, const ed25519_signature& signature) {
  detail::ensure_sodium_initialized();
  return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                     key.bytes.data()) == 0;
}

}  // namespace energo::crypto
