#include "crypto/hash.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <bit>
#include <cstring>

#include "common/assert.hpp"
#include "crypto/internal.hpp"

// SHA-256 goes through OpenSSL's low-level SHA256_Init/Update/Final rather than EVP: both end in
// the same SHA-NI block function, but EVP's per-call dispatch costs ~30 % on the 65-byte inner
// nodes that dominate Merkle updates (measured 92 ns vs 124 ns per 65-byte hash on this machine).
// The low-level API is deprecated in OpenSSL 3, so its use is confined to this block; moving to
// EVP is a change to these four wrappers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace energo::crypto {
namespace {

using sha256_state = SHA256_CTX;

void state_init(sha256_state& s) { ENERGO_ASSERT(SHA256_Init(&s) == 1, "SHA256_Init failed"); }
void state_update(sha256_state& s, const void* data, std::size_t size) {
  if (size == 0) return;
  ENERGO_ASSERT(SHA256_Update(&s, data, size) == 1, "SHA256_Update failed");
}
void state_final(sha256_state& s, hash256& out) {
  ENERGO_ASSERT(SHA256_Final(out.data(), &s) == 1, "SHA256_Final failed");
}

// RIPEMD-160 lives in OpenSSL 3's default provider since 3.0.7; fetched once, never freed (it
// must outlive every caller, including those running from static destructors).
const EVP_MD* ripemd160_md() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "RIPEMD160", nullptr);
  ENERGO_ASSERT(md != nullptr, "OpenSSL default provider has no RIPEMD160 (needs OpenSSL >= 3.0.7)");
  return md;
}

}  // namespace

hash256 sha256(byte_span data) {
  sha256_state s;
  state_init(s);
  state_update(s, data.data(), data.size());
  hash256 out;
  state_final(s, out);
  return out;
}

namespace detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "sha256_padded_blocks writes the state words big-endian by byte swap or as they are");

hash256 sha256_padded_blocks(const uint8_t* blocks, std::size_t block_count) {
  sha256_state s;
  state_init(s);
  // Whole blocks into an empty state: SHA256_Update hands them to the block function in one call,
  // without copying (one call per block would cost more: OpenSSL's AVX2 code, used where there is
  // no SHA-NI, schedules two blocks per round).
  state_update(s, blocks, 64 * block_count);
  hash256 out;  // the state words, big-endian
  for (std::size_t i = 0; i < 8; ++i) {
    uint32_t word = s.h[i];
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap32(word);
    std::memcpy(out.data() + 4 * i, &word, 4);
  }
  return out;
}

void sha256_pad(uint8_t* buffer, std::size_t message_bytes) {
  const std::size_t total = sha256_padded_bytes(message_bytes);
  buffer[message_bytes] = 0x80;
  std::memset(buffer + message_bytes + 1, 0, total - message_bytes - 1 - 8);
  const uint64_t bits = static_cast<uint64_t>(message_bytes) * 8;
  for (std::size_t i = 0; i < 8; ++i) buffer[total - 8 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
}

}  // namespace detail

hash256 sha256d(byte_span data) {
  const hash256 first = sha256(data);
  return sha256(first);
}

hash160 ripemd160(byte_span data) {
  hash160 out{};
  unsigned int size = 0;
  // EVP_Digest accepts a null pointer only together with a zero length.
  static constexpr uint8_t empty = 0;
  const void* ptr = data.empty() ? &empty : data.data();
  ENERGO_ASSERT(EVP_Digest(ptr, data.size(), out.data(), &size, ripemd160_md(), nullptr) == 1,
                "EVP_Digest(RIPEMD160) failed");
  ENERGO_ASSERT(size == out.size(), "RIPEMD160 digest size");
  return out;
}

hash160 hash160_of(byte_span data) {
  const hash256 inner = sha256(data);
  return ripemd160(inner);
}

sha256_hasher::sha256_hasher() : ctx_(new sha256_state) {
  state_init(*static_cast<sha256_state*>(ctx_));
}

sha256_hasher::~sha256_hasher() { delete static_cast<sha256_state*>(ctx_); }

sha256_hasher& sha256_hasher::update(byte_span data) {
  state_update(*static_cast<sha256_state*>(ctx_), data.data(), data.size());
  return *this;
}

sha256_hasher& sha256_hasher::update_u8(uint8_t v) {
  state_update(*static_cast<sha256_state*>(ctx_), &v, 1);
  return *this;
}

sha256_hasher& sha256_hasher::update_u64(uint64_t v) {
  uint8_t be[8];
  for (int i = 7; i >= 0; --i) {
    be[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
  state_update(*static_cast<sha256_state*>(ctx_), be, sizeof be);
  return *this;
}

sha256_hasher& sha256_hasher::update_i64(int64_t v) { return update_u64(static_cast<uint64_t>(v)); }

hash256 sha256_hasher::finish() {
  auto& s = *static_cast<sha256_state*>(ctx_);
  hash256 out;
  state_final(s, out);
  state_init(s);
  return out;
}

}  // namespace energo::crypto

#pragma GCC diagnostic pop
