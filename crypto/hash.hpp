#pragma once
// SHA-256 (hardware-accelerated through OpenSSL's libcrypto where the CPU has SHA extensions),
// double SHA-256, RIPEMD-160 and Bitcoin/Qtum HASH160.
#include <cstdint>

#include "crypto/bytes.hpp"

namespace energo::crypto {

[[nodiscard]] hash256 sha256(byte_span data);
[[nodiscard]] hash256 sha256d(byte_span data);       // sha256(sha256(data))
[[nodiscard]] hash160 ripemd160(byte_span data);
[[nodiscard]] hash160 hash160_of(byte_span data);    // ripemd160(sha256(data))

// Incremental SHA-256 for hashing structured records without building a buffer.
class sha256_hasher {
 public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;

  sha256_hasher& update(byte_span data);
  sha256_hasher& update_u8(uint8_t v);
  sha256_hasher& update_u64(uint64_t v);  // big-endian
  sha256_hasher& update_i64(int64_t v);   // two's complement, big-endian
  // Returns the digest and resets the hasher for reuse.
  [[nodiscard]] hash256 finish();

 private:
  void* ctx_;  // SHA256_CTX* (OpenSSL low-level API; see hash.cpp for why not EVP)
};

}  // namespace energo::crypto
