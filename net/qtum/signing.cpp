#include "net/qtum/signing.hpp"

#include <secp256k1.h>

#include "common/assert.hpp"
#include "crypto/hash.hpp"
#include "net/qtum/script.hpp"
#include "net/qtum/sighash.hpp"

namespace energo::qtum {
namespace {

void append_der_integer(bytes& out, const uint8_t* be32) {
  std::size_t skip = 0;
  while (skip < 31 && be32[skip] == 0) ++skip;  // minimal: drop leading zeros, keep one byte
  const bool pad = (be32[skip] & 0x80) != 0;     // positive: a set top bit needs a 0x00 prefix
  out.push_back(0x02);
  out.push_back(static_cast<uint8_t>(32 - skip + (pad ? 1 : 0)));
  if (pad) out.push_back(0x00);
  out.insert(out.end(), be32 + skip, be32 + 32);
}

}  // namespace

bytes der_from_compact(const crypto::ecdsa_signature& signature) {
  bytes body;
  append_der_integer(body, signature.bytes.data());
  append_der_integer(body, signature.bytes.data() + 32);
  // Header in front of the body (built this way: g++ 12 warns falsely on insert into a 2-byte vector).
  body.insert(body.begin(), {uint8_t{0x30}, static_cast<uint8_t>(body.size())});
  return body;
}

void sign_p2pkh_input(transaction& tx, std::size_t input_index, crypto::byte_span prev_script_pubkey,
                      const crypto::secp256k1_secret_key& key) {
  ENERGO_ASSERT(input_index < tx.inputs.size(), "input index out of range");
  const crypto::hash256 digest = legacy_sighash(tx, input_index, prev_script_pubkey, sighash_all);
  bytes sig = der_from_compact(key.sign(digest));
  sig.push_back(static_cast<uint8_t>(sighash_all));
  const auto pub = key.public_key();
  bytes script_sig;
  append_push(script_sig, sig);
  append_push(script_sig, pub.bytes);
  ENERGO_ASSERT(script_sig.size() <= p2pkh_script_sig_bytes_max, "scriptSig above the fee estimate");
  tx.inputs[input_index].script_sig = std::move(script_sig);
}

bool verify_der_signature(crypto::byte_span public_key, crypto::byte_span der, const crypto::hash256& digest,
                          bool require_low_s) {
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_parse(secp256k1_context_static, &pub, public_key.data(), public_key.size()) != 1) {
    return false;
  }
  secp256k1_ecdsa_signature sig;
  if (secp256k1_ecdsa_signature_parse_der(secp256k1_context_static, &sig, der.data(), der.size()) != 1) {
    return false;
  }
  // normalize() returns 1 when S was high and had to be lowered.
  if (secp256k1_ecdsa_signature_normalize(secp256k1_context_static, &sig, &sig) == 1 && require_low_s) {
    return false;
  }
  return secp256k1_ecdsa_verify(secp256k1_context_static, &sig, digest.data(), &pub) == 1;
}

bool verify_p2pkh_input(const transaction& tx, std::size_t input_index, crypto::byte_span prev_script_pubkey) {
  if (input_index >= tx.inputs.size()) return false;
  const auto key_hash = parse_p2pkh(prev_script_pubkey);
  if (!key_hash) return false;
  const bytes& script_sig = tx.inputs[input_index].script_sig;
  std::size_t pos = 0;
  script_op sig_op, key_op;
  if (!next_op(script_sig, pos, sig_op) || !next_op(script_sig, pos, key_op) || pos != script_sig.size()) {
    return false;
  }
  if (sig_op.opcode > op::pushdata4 || key_op.opcode > op::pushdata4 || sig_op.data.empty()) return false;
  if (crypto::hash160_of(key_op.data) != *key_hash) return false;
  const int32_t hash_type = sig_op.data.back();
  const crypto::hash256 digest = legacy_sighash(tx, input_index, prev_script_pubkey, hash_type);
  return verify_der_signature(key_op.data, sig_op.data.first(sig_op.data.size() - 1), digest, true);
}

}  // namespace energo::qtum
