#pragma once
// Plain record types of storage/. They mirror consensus/ types field by field but are defined
// here so that storage/ depends on RocksDB and std only; the actor layer maps between them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace energo::storage {

using group_id = uint64_t;
using log_index = uint64_t;
using log_term = uint64_t;
using node_id = uint64_t;

// Named limits (STYLE: a bound on everything). Exceeding one is a limit_exceeded error.
struct limits {
  static constexpr std::size_t entry_payload_bytes_max = 16u << 20;        // one log entry
  static constexpr std::size_t entries_per_write_max = 100'000;            // one persist() call
  static constexpr std::size_t write_bytes_max = 512u << 20;               // one WriteBatch
  static constexpr std::size_t snapshot_bytes_max = 256u << 20;           // one snapshot blob (one batch)
  static constexpr std::size_t snapshot_chunk_bytes = 1u << 20;            // stored chunk size
  static constexpr std::size_t membership_nodes_max = 1024;                // per set in a config
  static constexpr std::size_t state_key_bytes_max = 4096;
  // A staged put (state_write::staged) at least this large is written in chunks before the batch
  // that refers to it; a smaller one is written inline (one small synced write costs less than a
  // chunk's write and sync).
  static constexpr std::size_t state_staged_value_bytes_min = 1u << 20;
  // ... written in chunks of this size (node_store.hpp "Staged values"); a stored reference naming
  // chunks above the _max is refused as corrupt.
  static constexpr std::size_t state_staged_chunk_bytes = 1u << 20;
  static constexpr std::size_t state_staged_chunk_bytes_max = 64u << 20;
  // One state value: the node's ledger image is one (actors/ "state_codec.hpp": image_bytes_max,
  // 256 MiB), so a ledger above 64 MiB (~500,000 accounts) could not be made durable before.
  static constexpr std::size_t state_value_bytes_max = 256u << 20;
  static constexpr std::size_t state_writes_per_batch_max = 1'000'000;
  static constexpr std::size_t groups_max = 100'000;                       // groups in one store
};

// A Raft log entry. `type` is the consensus entry_type as a byte (normal, config_change, noop);
// storage does not interpret it.
struct log_record {
  log_term term{0};
  log_index index{0};
  uint8_t type{0};
  std::string payload;
  friend bool operator==(const log_record&, const log_record&) = default;
};

// Raft's persistent per-server state (term, vote) plus the commit index, saved atomically.
struct hard_state_record {
  log_term term{0};
  node_id vote{0};  // 0 = voted for nobody
  log_index commit{0};
  friend bool operator==(const hard_state_record&, const hard_state_record&) = default;
};

// The configuration in force at a snapshot's last included entry.
struct membership_record {
  std::vector<node_id> voters;
  std::vector<node_id> learners;
  std::vector<node_id> voters_outgoing;  // non-empty while in joint consensus
  friend bool operator==(const membership_record&, const membership_record&) = default;
};

struct snapshot_meta_record {
  log_index index{0};  // last log index the snapshot covers
  log_term term{0};    // term of that entry
  membership_record config;
  uint64_t data_bytes{0};  // size of the blob stored with it
  friend bool operator==(const snapshot_meta_record&, const snapshot_meta_record&) = default;
};

// One state-machine change: a put when value is set, a delete otherwise.
// `staged` (apply_batch only): a value of at least limits::state_staged_value_bytes_min is written
// in synced chunks before the batch that makes it current (node_store.hpp "Staged values"); for
// large values rewritten whole. Delete a key written this way with staged set too.
struct state_write {
  std::string key;
  std::optional<std::string> value;
  bool staged = false;
};

}  // namespace energo::storage
