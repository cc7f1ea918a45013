#pragma once
// The checkpoint record carried by an anchor transaction's OP_RETURN (SPEC §7), 77 bytes:
//   magic "EGCP" (4) | format version 0x01 (1) | cluster id hash (32) | log index u64 BE (8) |
//   state root (32)
// The cluster id hash is SHA-256("energo/cluster-id" || 0x00 || cluster id bytes), so anyone who
// knows the cluster id can find its anchors without the id itself appearing on chain.
#include <array>
#include <string_view>

#include "crypto/bytes.hpp"
#include "net/qtum/error.hpp"
#include "net/qtum/tx.hpp"

namespace energo::qtum {

inline constexpr std::array<uint8_t, 4> anchor_magic{'E', 'G', 'C', 'P'};
inline constexpr uint8_t anchor_format_version = 1;
inline constexpr std::size_t anchor_payload_bytes = 4 + 1 + 32 + 8 + 32;
static_assert(anchor_payload_bytes <= 80, "Qtum relays at most 80 bytes of OP_RETURN data");

struct anchor_payload {
  crypto::hash256 cluster_id_hash{};
  uint64_t log_index = 0;
  crypto::hash256 state_root{};
  bool operator==(const anchor_payload&) const = default;
};

[[nodiscard]] crypto::hash256 cluster_id_hash_of(std::string_view cluster_id);

[[nodiscard]] bytes encode_anchor_payload(const anchor_payload& payload);
// Refuses a wrong length, magic or version with error_code::malformed_payload.
[[nodiscard]] qtum_result<anchor_payload> decode_anchor_payload(crypto::byte_span data);

// The anchor in a transaction: its single OP_RETURN output decoded, else an error (no OP_RETURN,
// more than one, or not an Energo payload).
[[nodiscard]] qtum_result<anchor_payload> find_anchor_payload(const transaction& tx);

}  // namespace energo::qtum
