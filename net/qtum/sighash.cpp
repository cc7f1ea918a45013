#include "net/qtum/sighash.hpp"

#include "crypto/hash.hpp"
#include "net/qtum/script.hpp"

namespace energo::qtum {
namespace {

// Bitcoin Core's CTransactionSignatureSerializer::SerializeScriptCode: the declared length is
// the script size minus the number of OP_CODESEPARATORs found by a walk that stops at the first
// undecodable op; the bytes written skip each separator and stop where that walk stopped.
void write_script_code(byte_writer& w, crypto::byte_span script) {
  std::size_t separators = 0;
  std::size_t pos = 0;
  script_op o;
  while (next_op(script, pos, o)) {
    if (o.opcode == op::codeseparator) ++separators;
  }
  w.compact_size(script.size() - separators);
  std::size_t begin = 0;
  pos = 0;
  while (next_op(script, pos, o)) {
    if (o.opcode == op::codeseparator) {
      w.raw(script.subspan(begin, pos - begin - 1));
      begin = pos;
    }
  }
  if (begin != script.size()) w.raw(script.subspan(begin, pos - begin));
}

crypto::hash256 one() {
  crypto::hash256 h{};
  h[0] = 1;
  return h;
}

}  // namespace

crypto::hash256 legacy_sighash(const transaction& tx, std::size_t input_index, crypto::byte_span script_code,
                               int32_t hash_type) {
  if (input_index >= tx.inputs.size()) return one();
  const int32_t base = hash_type & 0x1f;
  const bool anyone_can_pay = (hash_type & sighash_anyonecanpay) != 0;
  const bool hash_single = base == sighash_single;
  const bool hash_none = base == sighash_none;
  if (hash_single && input_index >= tx.outputs.size()) return one();

  byte_writer w;
  w.u32(static_cast<uint32_t>(tx.version));
  const std::size_t input_count = anyone_can_pay ? 1 : tx.inputs.size();
  w.compact_size(input_count);
  for (std::size_t k = 0; k < input_count; ++k) {
    const std::size_t i = anyone_can_pay ? input_index : k;
    const tx_input& in = tx.inputs[i];
    w.raw(in.prevout.txid);
    w.u32(in.prevout.index);
    if (i == input_index) {
      write_script_code(w, script_code);
    } else {
      w.compact_size(0);
    }
    w.u32(i != input_index && (hash_single || hash_none) ? 0 : in.sequence);
  }
  const std::size_t output_count = hash_none ? 0 : hash_single ? input_index + 1 : tx.outputs.size();
  w.compact_size(output_count);
  for (std::size_t i = 0; i < output_count; ++i) {
    if (hash_single && i != input_index) {
      w.u64(static_cast<uint64_t>(-1));  // CTxOut::SetNull: value -1, empty script
      w.compact_size(0);
    } else {
      w.u64(static_cast<uint64_t>(tx.outputs[i].value_sat));
      w.var_bytes(tx.outputs[i].script_pubkey);
    }
  }
  w.u32(tx.lock_time);
  w.u32(static_cast<uint32_t>(hash_type));
  return crypto::sha256d(w.data());
}

}  // namespace energo::qtum
