#pragma once
// Signing P2PKH inputs: legacy SIGHASH_ALL digest, ECDSA with the community's secp256k1 key
// (crypto::secp256k1_secret_key: RFC 6979, always low-S), strict DER + hash type byte, then
// the scriptSig <sig> <compressed pubkey>.
#include "crypto/secp256k1.hpp"
#include "net/qtum/tx.hpp"

namespace energo::qtum {

// Strict DER (BIP 66) of a compact r||s signature: minimal big-endian integers, a 0x00 prefix
// where the top bit is set. At most 71 bytes for a low-S signature.
[[nodiscard]] bytes der_from_compact(const crypto::ecdsa_signature& signature);

// Signs input `input_index`, which spends `prev_script_pubkey` (our P2PKH script), with
// SIGHASH_ALL and sets its scriptSig. The index must be in range (programmer error otherwise).
void sign_p2pkh_input(transaction& tx, std::size_t input_index, crypto::byte_span prev_script_pubkey,
                      const crypto::secp256k1_secret_key& key);

// Checks a DER signature over `digest` with libsecp256k1's strict DER parser. `require_low_s`
// refuses high-S (policy); without it a high-S signature is normalised first (consensus).
// `public_key` may be compressed or uncompressed SEC1.
[[nodiscard]] bool verify_der_signature(crypto::byte_span public_key, crypto::byte_span der,
                                        const crypto::hash256& digest, bool require_low_s);

// Verifies a P2PKH spend: scriptSig is exactly <sig+hashtype> <pubkey>, HASH160(pubkey) matches
// the previous script, and the signature is valid (low-S) for the legacy digest of its hash type.
[[nodiscard]] bool verify_p2pkh_input(const transaction& tx, std::size_t input_index,
                                      crypto::byte_span prev_script_pubkey);

}  // namespace energo::qtum
