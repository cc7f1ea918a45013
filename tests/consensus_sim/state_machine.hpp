#pragma once
// The application the simulator replicates: a few integer registers/counters plus a client
// session table (at-most-once application of retried requests, Raft dissertation §6.3).
// Deterministic: ordered containers only, integer arithmetic, so replicas that apply the same
// entries reach the same state_hash().
//
// Sessions are consensus::session_table (framing from consensus/session.hpp); the table is
// replicated state, so it travels inside snapshots through session_table::encode()/decode().
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/session.hpp"
#include "consensus/types.hpp"
#include "tests/consensus_sim/ledger_workload.hpp"
#include "tests/consensus_sim/linearizability.hpp"

namespace energo::sim {

struct command {
  op_kind kind = op_kind::write;  // write or add (reads never enter the log)
  uint64_t key = 0;
  int64_t value = 0;  // write: new value; add: delta
};

std::string encode_command(const command& c);
std::optional<command> decode_command(std::string_view bytes);

struct apply_outcome {
  uint64_t client_id = 0;  // the session id (the log index of its open entry)
  uint64_t sequence = 0;
  int64_t response = 0;  // the register's value after the command
  bool fresh = false;    // applied now (false: duplicate answered from the session table)
  bool stale = false;    // older than the client's last sequence: ignored, no response
  bool opened = false;   // an open-session entry: client_id is the new session
  std::string open_payload;  // opened: what the requester put in its open request
  bool unknown_session = false;  // session never opened, evicted or expired: rejected, not applied
};

class register_state_machine {
 public:
  explicit register_state_machine(consensus::session_limits lim = {}, bool with_ledger = false) : lim_(lim), sessions_(lim) {
    if (with_ledger) ledger_.emplace();
  }
  // Applies one committed entry at `e.index` == applied_index() + 1. Returns the outcome for a
  // framed client command, nullopt for noop/config entries.
  std::optional<apply_outcome> apply(const consensus::entry& e);

  consensus::index_t applied_index() const { return applied_; }
  int64_t value(uint64_t key) const;
  uint64_t session_count() const { return sessions_.size(); }

  std::string serialize() const;
  // Restores from serialize() output taken at `index`. False if the bytes are malformed.
  [[nodiscard]] bool restore(std::string_view bytes, consensus::index_t index);

  // Hash of the replicated state (registers + sessions, and the ledger's state root), not of
  // the applied index.
  uint64_t state_hash() const;

  // Ledger mode (ledger_workload.hpp): entries tagged ledger_entry_tag go to a real
  // ledger::ledger. ledger_problem(): the first broken rule seen by the last apply (empty: none).
  bool has_ledger() const { return ledger_.has_value(); }
  const ledger_replica* ledger_part() const { return ledger_ ? &*ledger_ : nullptr; }
  const std::string& ledger_problem() const { return ledger_problem_; }

 private:
  std::map<uint64_t, int64_t> values_;
  consensus::session_limits lim_;
  consensus::session_table sessions_;
  consensus::index_t applied_ = 0;
  std::optional<ledger_replica> ledger_;
  std::string ledger_problem_;
  std::string toy_bytes() const;
};

uint64_t fnv1a(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL);

}  // namespace energo::sim
