#pragma once
// Value types of the Raft core: log entries, hard state, membership, snapshots, messages, limits
// and errors. Plain data, no behaviour beyond encoding helpers; everything is deterministic and
// uses ordered containers only (ARCHITECTURE.md "Determinism rules").
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace energo::consensus {

using node_id = uint64_t;
using group_id = uint64_t;
using term_t = uint64_t;
using index_t = uint64_t;

// 0 is never a valid node id: it means "nobody" (no vote cast, no known leader).
inline constexpr node_id no_node = 0;

enum class entry_type : uint8_t {
  normal,         // opaque client payload (framed by consensus/session.hpp when sessions are used)
  config_change,  // data = encode_membership(new membership); takes effect when APPENDED
  noop,           // appended by every new leader in its term; data empty
};

struct entry {
  term_t term = 0;
  index_t index = 0;
  entry_type type = entry_type::normal;
  std::string data;

  friend bool operator==(const entry&, const entry&) = default;
};

// Must be persisted (synced) before any message of the same ready is sent.
struct hard_state {
  term_t term = 0;
  node_id vote = no_node;
  index_t commit = 0;

  friend bool operator==(const hard_state&, const hard_state&) = default;
};

// Membership of a group. This core uses single-server membership changes (one voter or learner
// added, promoted or removed per change, see consensus/README.md), so voters_outgoing is always
// empty; it is kept for wire/storage compatibility should joint consensus be added later.
struct membership {
  std::set<node_id> voters;
  std::set<node_id> learners;
  std::set<node_id> voters_outgoing;  // non-empty only while in joint consensus (never, today)

  bool is_voter(node_id id) const { return voters.count(id) != 0; }
  bool is_learner(node_id id) const { return learners.count(id) != 0; }
  bool contains(node_id id) const { return is_voter(id) || is_learner(id); }
  friend bool operator==(const membership&, const membership&) = default;
};

struct snapshot_meta {
  index_t index = 0;  // last log index covered by the snapshot
  term_t term = 0;    // term of that entry
  membership config;  // membership as of `index`

  friend bool operator==(const snapshot_meta&, const snapshot_meta&) = default;
};

struct snapshot {
  snapshot_meta meta;
  std::string data;  // opaque state-machine image (the application's)
};

// A linearizable read is safe once the application has applied up to `index`.
struct read_state {
  uint64_t request_ctx = 0;
  index_t index = 0;

  friend bool operator==(const read_state&, const read_state&) = default;
};

enum class message_type : uint8_t {
  pre_vote,             // term = candidate's term + 1 (the sender's own term is NOT raised)
  pre_vote_response,    // reject = false means granted
  vote,                 // log_term/index = candidate's last entry; force = leadership transfer
  vote_response,
  append,               // index/log_term = entry preceding `entries`; commit = leader commit
  append_response,      // index = last matching index (success) or rejected index (reject)
  heartbeat,            // commit = min(follower match, leader commit); context = read round
  heartbeat_response,   // context echoes the heartbeat's context
  snapshot_chunk,       // snapshot meta + chunk_offset/chunk_data/chunk_done
  snapshot_response,    // reject=false: chunk_offset = contiguous bytes received so far (or
                        // installed when done); reject=true: the follower holds no stream of
                        // this snapshot, chunk_offset = where to start (0), or snapshot_abort
  timeout_now,          // leadership transfer: the recipient campaigns at once (force)
  read_index,           // follower -> leader; context = the follower's request_ctx
  read_index_response,  // leader -> follower; context = request_ctx, index = read index;
                        // reject = true if the leader could not serve it
  forward_proposal,     // follower -> leader; entries = the proposals (type normal)
};

// One wire message. Fields not used by a type are left at their defaults.
struct message {
  group_id group = 0;
  message_type type = message_type::heartbeat;
  node_id from = no_node;
  node_id to = no_node;
  term_t term = 0;

  term_t log_term = 0;
  index_t index = 0;
  std::vector<entry> entries;
  index_t commit = 0;
  bool reject = false;
  index_t reject_hint = 0;  // append_response reject: follower's hint index; log_term = its term
  bool force = false;       // vote/pre_vote caused by leadership transfer: bypasses leader lease
  uint64_t context = 0;     // read round (heartbeats) or request_ctx (read_index*)

  // snapshot_chunk / snapshot_response
  snapshot_meta snap;            // meta of the snapshot being sent
  uint64_t chunk_offset = 0;     // byte offset of chunk_data within the snapshot data
  uint64_t snapshot_bytes = 0;   // total size of the snapshot data
  std::string chunk_data;
  bool chunk_done = false;       // last chunk
};

// Named bounds for everything the core queues or sends (STYLE.md "Limits").
struct limits {
  uint64_t entry_bytes_max = 1u << 20;               // one proposal's payload
  uint64_t max_entries_bytes_per_append = 256u << 10;  // payload bytes per append (>= 1 entry)
  uint64_t max_entries_per_append = 512;
  uint64_t max_inflight_appends = 16;                // unacknowledged appends per follower
  uint64_t max_inflight_bytes = 4u << 20;            // unacknowledged payload bytes per follower
  uint64_t max_uncommitted_bytes = 8u << 20;         // leader: appended but uncommitted payload
  uint64_t snapshot_chunk_bytes_max = 64u << 10;
  // Snapshot chunks a leader keeps unacknowledged per follower (its send window), and chunks a
  // follower holds ahead of a gap (reordered arrivals); window bytes = this x chunk bytes.
  uint64_t max_inflight_snapshot_chunks = 16;
  uint64_t snapshot_bytes_max = uint64_t{1} << 32;   // follower refuses larger snapshots
  uint64_t max_pending_reads = 1024;                 // read_index requests waiting at a leader
  uint64_t max_committed_bytes_per_ready = 8u << 20; // committed_entries per ready (>= 1 entry)
  uint64_t max_forwarded_entries = 64;               // entries per forward_proposal message
};

enum class raft_error_code : uint8_t {
  not_leader,              // leader_hint says where to go (or no_node if unknown)
  no_leader,               // follower without a known leader cannot forward
  transfer_in_progress,    // leadership transfer pending: proposals refused until it ends
  uncommitted_limit,       // limits::max_uncommitted_bytes would be exceeded (quorum lost?)
  entry_too_large,         // limits::entry_bytes_max
  config_change_pending,   // a membership change is appended but not committed yet
  leader_not_ready,        // leader has no committed entry of its term yet
  config_change_invalid,   // e.g. add an existing voter, promote a non-learner, remove last voter
  transfer_target_invalid, // target unknown, not a voter, or self
  read_limit,              // limits::max_pending_reads
  malformed_encoding,      // bytes that do not decode (e.g. a session table in a snapshot)
};

struct raft_error {
  raft_error_code code = raft_error_code::not_leader;
  std::string message;
  node_id leader_hint = no_node;
};

// Stable text for an error code (logs, CLI).
std::string_view to_string(raft_error_code code);
std::string_view to_string(message_type type);

// Encoding of a membership inside a config_change entry (little-endian, versioned).
std::string encode_membership(const membership& m);
result<membership, raft_error> decode_membership(std::string_view bytes);

// Payload bytes an entry counts against byte limits.
inline uint64_t entry_payload_bytes(const entry& e) { return e.data.size(); }

}  // namespace energo::consensus
