#pragma once
// Client sessions (Raft dissertation ch. 6.3): at-most-once application of retried requests.
//
// A normal entry's payload is framed as {client_id, sequence, payload}. The application's apply
// step feeds every committed, framed entry to a session_table, which remembers per client the
// highest applied sequence and the response produced for it. A retry of that sequence gets the
// cached response without being applied again; an older sequence is reported as stale.
// Sessions expire deterministically by log index (never by wall time), so every replica
// expires the same sessions at the same entry.
//
// Pure and deterministic: std::map only; the table's contents are a function of the entries
// fed to it, so it can be part of the replicated state / snapshot.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/types.hpp"

namespace energo::consensus {

struct session_payload {
  uint64_t client_id = 0;  // 0 = no session (applied unconditionally)
  uint64_t sequence = 0;   // > 0, increasing per client; a retry reuses its sequence
  std::string payload;

  friend bool operator==(const session_payload&, const session_payload&) = default;
};

inline constexpr uint64_t session_header_bytes = 1 + 8 + 8;

std::string encode_session_payload(uint64_t client_id, uint64_t sequence, std::string_view payload);
// nullopt if the bytes are not a framed payload (wrong version byte or too short).
std::optional<session_payload> decode_session_payload(std::string_view bytes);

struct session_limits {
  uint64_t sessions_max = 100000;          // oldest-active session is evicted beyond this
  uint64_t expiry_entries = 1000000;       // a session idle for this many log entries expires
  uint64_t response_bytes_max = 64u << 10; // cached response size
};

enum class session_verdict : uint8_t {
  apply,      // new sequence: apply it, then call record_response()
  duplicate,  // already applied: reply with cached_response, do not apply
  stale,      // older than the last applied sequence: response no longer kept, do not apply
};

struct session_check {
  session_verdict verdict = session_verdict::apply;
  std::string cached_response;  // for duplicate
};

class session_table {
 public:
  explicit session_table(session_limits lim = {}) : lim_(lim) {}

  // Decide what to do with request (client_id, sequence) found in the entry at `index`.
  // Also expires idle sessions as of `index`. Indexes must be fed in increasing order.
  session_check check(uint64_t client_id, uint64_t sequence, index_t index);
  // After applying a request the check said to apply: remember its response (truncated to
  // response_bytes_max).
  void record_response(uint64_t client_id, uint64_t sequence, index_t index, std::string response);

  uint64_t size() const { return sessions_.size(); }
  std::optional<uint64_t> last_sequence(uint64_t client_id) const;

 private:
  struct session {
    uint64_t last_sequence = 0;
    std::string response;
    index_t last_index = 0;  // log index of the last activity (for expiry)
  };
  void expire(index_t index);
  void evict_if_full();

  session_limits lim_;
  std::map<uint64_t, session> sessions_;
};

}  // namespace energo::consensus
