#pragma once
// Byte formats the node adds around the ledger (little-endian, versioned, bounded):
//  - a log entry's payload: kind byte 1 + a batch of verified commands (ledger::encode form); the
//    other kinds (leader tick, admin request) are in membership.hpp;
//  - a stored outcome: what applying one command did, kept so that a retried command gets its
//    first answer (the nonce already guarantees it is never applied twice);
//  - the node image: ledger snapshot + the outcome cache + the member registry + the checkpoint
//    book + the analytics index, the data of a Raft snapshot ("ENI4"; "ENI3" without analytics,
//    "ENI2" also without the checkpoint book and "ENI1" also without a registry still decode).
// Everything here is a pure function of its input, so every replica writes the same bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/wire.hpp"

namespace energo::actors {

namespace limits {
inline constexpr std::size_t commands_per_entry_max = 4096;
inline constexpr std::size_t outcome_cache_entries_max = 8192;  // recent command outcomes kept
inline constexpr std::size_t outcome_message_bytes_max = 256;
inline constexpr std::size_t image_bytes_max = 256u << 20;
inline constexpr std::size_t checkpoint_image_bytes_max = 1u << 20;  // = checkpoint_book_bytes_max
// A `node_image` read answers one chunk of this size, as hex (2 MiB of text < the 4 MiB response frame).
inline constexpr std::size_t image_chunk_bytes = 1u << 20;
// Raft snapshot transfer between nodes (the raft actor sets consensus::limits from these): chunks
// of 1 MiB (the core's default 64 KiB made 1,600 messages of a 100 MB image, each through both
// raft actors, both brokers and Noise), 4 of them unacknowledged per follower (4 MiB: far more
// than loopback or a LAN needs per round trip, within the peer write buffer, and the follower's
// reorder buffer holds as much; a larger window only queues more bytes ahead of that follower's
// heartbeats on a slow link). One chunk with its Raft
// message (Cap'n Proto: meta with up to 3 x 1,024 node ids, < raft_chunk_overhead_bytes_max)
// must fit one sealed peer frame (net::limits::session_plaintext_bytes_max, 4 MiB - 16):
// static_assert in raft_actor.cpp.
inline constexpr std::size_t raft_snapshot_chunk_bytes = 1u << 20;
inline constexpr std::size_t raft_snapshot_chunks_in_flight = 4;
inline constexpr std::size_t raft_chunk_overhead_bytes_max = 64u << 10;
inline constexpr std::size_t analytics_bytes_max = 128u << 20;  // analytics index (actors/analytics.hpp)
inline constexpr std::size_t registry_bytes_max = 64u << 10;  // 64 members of < 1 KiB each  // = storage::limits::snapshot_bytes_max
}  // namespace limits

inline constexpr uint8_t entry_batch_version = 1;

[[nodiscard]] std::string encode_command_batch(const std::vector<std::string>& commands);
// nullopt if the payload is not a well-formed batch.
[[nodiscard]] std::optional<std::vector<std::string>> decode_command_batch(std::string_view payload);

// One command's outcome with its position in the log (index, position within the entry).
struct stored_outcome {
  uint64_t index = 0;
  uint32_t position = 0;
  net::command_outcome outcome;
};
[[nodiscard]] std::string encode_outcome(const stored_outcome& o);
[[nodiscard]] std::optional<stored_outcome> decode_outcome(std::string_view bytes);

struct node_image {
  uint64_t applied_index = 0;
  std::string ledger_bytes;                                    // ledger::snapshot()
  std::vector<std::pair<std::string, stored_outcome>> outcomes; // (command hash, outcome), log order
  std::string registry_bytes;  // encode_registry() (actors/membership.hpp); empty in v1 images
  std::string checkpoint_bytes;  // encode_book() (actors/checkpoint_state.hpp); empty before v3
  std::string analytics_bytes;   // analytics_index::encode(); empty before v4
};
[[nodiscard]] std::string encode_image(const node_image& img);
[[nodiscard]] std::optional<node_image> decode_image(std::string_view bytes);

}  // namespace energo::actors
