#pragma once
// Legacy (pre-segwit) signature hash, Qtum's and Bitcoin's SignatureHash for SigVersion::BASE,
// including its historical quirks:
//   - an input index past the inputs, or SIGHASH_SINGLE with no output at that index, hashes to
//     the constant 1 (the "SIGHASH_SINGLE bug"): the signature then commits to nothing;
//   - OP_CODESEPARATORs are removed from the script code;
//   - the full 32-bit hash type is appended, only its low 5 bits and bit 0x80 steer the hashing.
// FindAndDelete of the signature is the interpreter's job, not this function's: callers pass
// the script code as the interpreter would (for P2PKH it is the previous output's script).
#include "net/qtum/tx.hpp"

namespace energo::qtum {

inline constexpr int32_t sighash_all = 1;
inline constexpr int32_t sighash_none = 2;
inline constexpr int32_t sighash_single = 3;
inline constexpr int32_t sighash_anyonecanpay = 0x80;

// Digest in internal byte order (what ECDSA signs). `input_index` may be out of range (see above).
[[nodiscard]] crypto::hash256 legacy_sighash(const transaction& tx, std::size_t input_index,
                                             crypto::byte_span script_code, int32_t hash_type);

}  // namespace energo::qtum
