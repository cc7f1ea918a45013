#pragma once
// The few script forms an anchor needs - P2PKH and a single OP_RETURN data push - plus the
// opcode walker the legacy signature hash uses (Bitcoin Core's GetScriptOp, byte for byte).
#include <optional>

#include "net/qtum/tx.hpp"

namespace energo::qtum {

namespace op {
inline constexpr uint8_t pushdata1 = 0x4c;
inline constexpr uint8_t pushdata2 = 0x4d;
inline constexpr uint8_t pushdata4 = 0x4e;
inline constexpr uint8_t return_ = 0x6a;
inline constexpr uint8_t dup = 0x76;
inline constexpr uint8_t equal = 0x87;
inline constexpr uint8_t equalverify = 0x88;
inline constexpr uint8_t hash160 = 0xa9;
inline constexpr uint8_t codeseparator = 0xab;
inline constexpr uint8_t checksig = 0xac;
inline constexpr uint8_t checkmultisig = 0xae;
}  // namespace op

// P2PKH scriptSig size with the largest low-S DER signature (71 bytes + hash type) and a
// compressed key: 1 + 72 + 1 + 33. Fee estimates use it, so the real size is never larger.
inline constexpr std::size_t p2pkh_script_sig_bytes_max = 107;

// One step of Bitcoin Core's GetScriptOp. On success advances `pos` past the opcode and its
// push data. On failure (truncated push) `pos` is left where Core leaves it - past the opcode
// and any length bytes it could read - because the legacy sighash serializer depends on that.
struct script_op {
  uint8_t opcode = 0;
  crypto::byte_span data;  // push data, empty for non-push opcodes
};
[[nodiscard]] bool next_op(crypto::byte_span script, std::size_t& pos, script_op& out);

// Minimal push (direct up to 75 bytes, then PUSHDATA1/2); data above 65535 bytes is a programmer error.
void append_push(bytes& script, crypto::byte_span data);

[[nodiscard]] bytes p2pkh_script(const crypto::hash160& key_hash);
// OP_RETURN followed by one push of `data`.
[[nodiscard]] bytes op_return_script(crypto::byte_span data);

// The key hash of an exact P2PKH script, else nullopt.
[[nodiscard]] std::optional<crypto::hash160> parse_p2pkh(crypto::byte_span script);
// The data of an OP_RETURN script holding exactly one push, else nullopt.
[[nodiscard]] std::optional<bytes> parse_op_return(crypto::byte_span script);

}  // namespace energo::qtum
