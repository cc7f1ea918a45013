#pragma once
// Client sessions (Raft dissertation ch. 6.3): at-most-once application of retried requests.
//
// A client first opens a session: it proposes encode_session_open() and, when that entry is
// applied at index i, session_table::open(i) registers the session whose client id is i (a log
// index: unique, never reused, so no late duplicate can revive an old session). Its requests are
// framed as {client_id, sequence, payload}; the apply step feeds each to check(), which remembers
// per client the highest applied sequence and the response produced for it. A retry of that
// sequence gets the cached response without being applied again; an older one is stale.
// A request whose session is unknown — never opened, evicted, or expired — is REJECTED
// (unknown_session), never applied (Raft thesis §6.3): its session may have applied it before
// it was evicted, so applying it again could apply it twice. The client learns that its
// outstanding request's outcome is unknown and opens a new session. Sessions expire
// deterministically by log index (never by wall time), so every replica expires the same
// sessions at the same entry.
//
// Entries a node proposes outside client sessions (admin and membership requests, ticks) do not
// go through this table: they must be at-most-once by construction — conditional on the state
// they were proposed against (e.g. a membership change names the config index it replaces; a
// tick names its tick number and applies only if greater than the last applied one) — so that
// a late duplicate finds the condition false and changes nothing.
//
// Pure and deterministic: std::map only; the table's contents are a function of the entries
// fed to it. It is replicated state: encode() it into every state-machine snapshot and decode()
// it when installing one, or a request retried after the install would be applied again.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/types.hpp"

namespace energo::consensus {

struct session_payload {
  uint64_t client_id = 0;  // 0 only in an open-session request (sequence 0 too)
  uint64_t sequence = 0;   // > 0, increasing per client; a retry reuses its sequence
  std::string payload;

  bool is_open_request() const { return client_id == 0 && sequence == 0; }

  friend bool operator==(const session_payload&, const session_payload&) = default;
};

inline constexpr uint64_t session_header_bytes = 1 + 8 + 8;
// session_table::encode(): version byte + session count, then per session client id, last
// sequence, last index, response length (+ the response bytes).
inline constexpr uint64_t session_table_header_bytes = 1 + 8;
inline constexpr uint64_t session_encoded_bytes_fixed = 4 * 8;

std::string encode_session_payload(uint64_t client_id, uint64_t sequence, std::string_view payload);
// An open-session request: {0, 0, payload} (the payload may name the requester, for the reply).
std::string encode_session_open(std::string_view payload = {});
// nullopt if the bytes are not a framed payload (wrong version byte or too short).
std::optional<session_payload> decode_session_payload(std::string_view bytes);

// Part of the replicated state's definition: every replica must use the same limits (eviction
// and expiry decide what is applied). decode() refuses an encoding that exceeds them.
struct session_limits {
  uint64_t sessions_max = 100000;          // oldest-active session is evicted beyond this
  uint64_t expiry_entries = 1000000;       // a session idle for this many log entries expires
  uint64_t response_bytes_max = 64u << 10; // cached response size
};

enum class session_verdict : uint8_t {
  apply,            // new sequence: apply it, then call record_response()
  duplicate,        // already applied: reply with cached_response, do not apply
  stale,            // older than the last applied sequence: response no longer kept, do not apply
  unknown_session,  // never opened, evicted or expired: do not apply; the client's outstanding
                    // request has an unknown outcome and it must open a new session
};

struct session_check {
  session_verdict verdict = session_verdict::apply;
  std::string cached_response;  // for duplicate
};

class session_table {
 public:
  explicit session_table(session_limits lim = {}) : lim_(lim) {}

  // Apply an open-session entry found at `index`: registers session `index` (its client id) and
  // returns it. Also expires idle sessions and evicts beyond sessions_max.
  uint64_t open(index_t index);
  // Decide what to do with request (client_id, sequence) found in the entry at `index`.
  // Also expires idle sessions as of `index`. Indexes must be fed in increasing order.
  session_check check(uint64_t client_id, uint64_t sequence, index_t index);
  // After applying a request the check said to apply: remember its response (truncated to
  // response_bytes_max). The session must exist (check() said apply).
  void record_response(uint64_t client_id, uint64_t sequence, index_t index, std::string response);

  uint64_t size() const { return sessions_.size(); }
  std::optional<uint64_t> last_sequence(uint64_t client_id) const;

  // Snapshot encoding: little-endian, versioned, canonical (sessions in ascending client id, so
  // equal tables encode to equal bytes on every replica). Its size is bounded by the limits:
  // at most sessions_max * (session_encoded_bytes_fixed + response_bytes_max) + header.
  std::string encode() const;
  // Inverse of encode(). Refuses (raft_error_code::malformed_encoding) an unknown version,
  // truncated or trailing bytes, client id 0, ids not strictly ascending, and anything beyond
  // `lim` (more sessions than sessions_max, a response longer than response_bytes_max).
  static result<session_table, raft_error> decode(std::string_view bytes, session_limits lim = {});

  // Same sessions (limits are configuration, not compared).
  friend bool operator==(const session_table& a, const session_table& b) { return a.sessions_ == b.sessions_; }

 private:
  struct session {
    uint64_t last_sequence = 0;
    std::string response;
    index_t last_index = 0;  // log index of the last activity (for expiry)
    friend bool operator==(const session&, const session&) = default;
  };
  void expire(index_t index);
  void evict_if_full();

  session_limits lim_;
  std::map<uint64_t, session> sessions_;
};

}  // namespace energo::consensus
