#pragma once
// Private to crypto/*.cpp: one-time library initialisation and the Merkle tree's hashing core,
// shared by several translation units. Nothing outside crypto/ includes this header.
#include <cstddef>
#include <cstdint>

#include "crypto/bytes.hpp"

namespace energo::crypto::detail {

// sodium_init() exactly once, thread-safely (a function-local static); aborts if libsodium cannot
// initialise, because no key or random number would be trustworthy afterwards.
void ensure_sodium_initialized();

// SHA-256 of a message the caller has already padded (FIPS 180-4 §5.1.1: 0x80, zeros, the bit
// length as u64 big-endian) into `block_count` whole 64-byte blocks: the compression function
// only, without the incremental API's buffering, padding and state cleansing. For the Merkle
// tree's nodes and leaves, whose layout is fixed (an inner node is exactly two blocks): public
// data only (the state is not wiped).
[[nodiscard]] hash256 sha256_padded_blocks(const uint8_t* blocks, std::size_t block_count);
// Bytes of the padded message for `message_bytes` bytes of data: whole blocks, at least 9 more.
constexpr std::size_t sha256_padded_bytes(std::size_t message_bytes) { return (message_bytes + 9 + 63) / 64 * 64; }
// Writes the padding after `message_bytes` bytes at `buffer` (which holds sha256_padded_bytes of room).
void sha256_pad(uint8_t* buffer, std::size_t message_bytes);

}  // namespace energo::crypto::detail
