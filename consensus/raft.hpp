#pragma once
// raft_node: a pure, deterministic Raft state machine (modelled on etcd-io/raft's RawNode).
//
// Concurrency: none. A raft_node is used by one owner (an actor, a test, the simulator) at a
// time; it does no I/O, reads no clock, spawns no thread. Time enters through tick(), the network
// through step(), the disk through get_ready()/advance().
//
// Starting (the contract): a founder of a new group first persists bootstrap_state() (synced);
// every start, the first one included, is restart() from durable state with config::applied =
// the application's durable applied index. Nothing the node needs exists only in memory.
// Driving loop (the contract):
//   1. feed inputs: tick(), step(msg), propose(...), read_index(...), ...
//   2. if has_ready(): r = get_ready(), then in this order:
//        a. if r.snapshot_to_install: persist it and restore the state machine from it;
//        b. truncate the stable log at r.entries_to_persist.front().index (if any) and append them;
//        c. if r.hard_state: persist it;  -- a, b, c must be durable (fsync) before d.
//        d. send r.messages;
//        e. apply r.committed_entries in order; answer r.read_states once applied >= index;
//        f. advance(r);
//        g. if r.snapshot_data_wanted: compact(i, data) with the data of a snapshot at i (below).
//   Only one ready is outstanding: has_ready() is false between get_ready() and advance().
//   Why persist first: a vote_response or append_response in r.messages promises that the vote
//   or the entries survive a crash; sending before the sync could let a crashed node vote twice
//   in a term or forget an entry a leader already counted towards commit.
//   One allowed exception (Raft thesis §10.2.1): while the node is the leader and the ready
//   carries no snapshot and no change of term or vote, its messages (appends, heartbeats) may be
//   sent before or while b–c are written, because a leader's own entries count towards commit only
//   after advance(). bench/consensus_bench.cpp drives the core this way by default.
//
// Snapshot chunks are idempotent and windowed (limits::max_inflight_snapshot_chunks): a
// duplicate, reordered or stale chunk never resets a newer transfer (consensus/README.md).
//
// Monotonic: term(), commit_index(), applied_index(), snapshot index. A leader counts its own
// log towards commit only after advance() reports its entries persisted.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "consensus/invariants.hpp"
#include "consensus/types.hpp"

namespace energo::consensus {

struct config {
  node_id id = no_node;
  group_id group = 0;
  int election_ticks = 10;   // randomized election timeout is in [election_ticks, 2*election_ticks)
  int heartbeat_ticks = 1;   // must be < election_ticks
  bool pre_vote = true;      // pre-vote round before raising the term (no disruption by rejoiners)
  bool check_quorum = true;  // leader steps down without a quorum of recent contact; also enables
                             // the follower-side leader lease for (pre)votes
  uint64_t random_seed = 1;  // seeds the election-timeout PRNG (splitmix64); nothing else is random
  // restart() only (etcd's Config.Applied): the last index the application durably applied
  // (its state machine and this index are stored atomically). Entries up to it are not handed
  // out again. 0: the snapshot's index (an application whose state is only its snapshots).
  // Must be <= the restored commit index and >= 0; below the snapshot index it means the
  // snapshot's index.
  index_t applied = 0;
  limits lim{};
};

// What a brand-new member of a new group must make durable before it starts (etcd's
// Bootstrap): see raft_node::bootstrap_state().
struct initial_state {
  consensus::hard_state hard_state;
  std::vector<entry> entries;
};

enum class role : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view to_string(role r);

// Progress of one peer as the leader sees it (etcd's Progress).
enum class progress_state : uint8_t {
  probe,      // one append in flight until the follower answers; finds the match point
  replicate,  // pipelined appends, bounded by limits::max_inflight_appends / max_inflight_bytes
  snapshot,   // a snapshot is being sent in chunks; appends paused
};
std::string_view to_string(progress_state s);

struct progress_view {
  node_id id = no_node;
  bool is_learner = false;
  index_t match = 0;
  index_t next = 1;
  progress_state state = progress_state::probe;
  bool recent_active = false;
  uint64_t inflight_appends = 0;
  uint64_t inflight_bytes = 0;
  index_t pending_snapshot_index = 0;  // when state == snapshot
};

struct ready {
  std::optional<consensus::hard_state> hard_state;  // persist (sync) BEFORE sending messages
  std::vector<entry> entries_to_persist;  // truncate the stable log at front().index, then append
  std::optional<snapshot> snapshot_to_install;  // persist + restore the state machine from it
  std::vector<message> messages;                // send only after the above are durable
  std::vector<entry> committed_entries;         // apply in order (all persisted by then)
  std::vector<read_state> read_states;          // answer each once applied >= index
  // The leader must send a snapshot to a lagging follower but holds only the snapshot's meta
  // (restarted without its data). After advance(), answer with compact(i, data) for any i in
  // [snapshot_metadata().index, applied_index()]: the durable snapshot restarted from, or a fresh
  // image at applied_index(). Asked again while unanswered (the follower waits in probe).
  bool snapshot_data_wanted = false;
  bool empty() const {
    return !hard_state && entries_to_persist.empty() && !snapshot_to_install && messages.empty() &&
           committed_entries.empty() && read_states.empty() && !snapshot_data_wanted;
  }
};

enum class config_change_type : uint8_t { add_voter, add_learner, promote_learner, remove_node };
struct config_change {
  config_change_type type = config_change_type::add_voter;
  node_id node = no_node;
};

struct proposal_info {
  index_t index = 0;   // log index the entry got (0 when forwarded: the leader assigns it)
  term_t term = 0;     // term it was appended in (0 when forwarded)
  bool forwarded = false;
};
using propose_result = result<proposal_info, raft_error>;
using raft_status = result<void, raft_error>;

class raft_node {
 public:
  // Restart from persisted state. `snap` is the last installed/compacted snapshot (if any);
  // `cfg.applied` the application's durable applied index (entries after it are handed out
  // again in committed_entries, entries at or before it never are);
  // `log` the persisted entries after it, contiguous and in order (leading entries the snapshot
  // already covers, left by a crash between saving it and compacting, are skipped). The membership is the one of
  // the last config_change entry in `log`, else the snapshot's config, else empty (a node that
  // waits to be added: it never campaigns and learns everything from the leader). A fresh node
  // that joins an existing group uses restart(cfg, {}, std::nullopt, {}).
  //
  // Snapshot data after a restart (the core sends it to followers behind its first index):
  //  - restart(cfg, hs, snapshot{meta, data}, log): the core has the data at once. Simplest; the
  //    image is held in memory (as after compact()).
  //  - restart(cfg, hs, meta, log): no data loaded at boot. When a follower needs the snapshot,
  //    a ready carries snapshot_data_wanted and the application answers with compact() (see
  //    ready). Suits applications whose snapshots are large and rarely needed.
  static raft_node restart(config cfg, hard_state hs, snapshot snap, std::vector<entry> log);
  static raft_node restart(config cfg, hard_state hs, std::optional<snapshot_meta> snap,
                           std::vector<entry> log);
  // First node(s) of a new group: every bootstrapped node is given the same `initial` membership.
  // Durable bootstrap (what a node process must do): write bootstrap_state(initial) — hard state
  // {term 1, commit 1} and the entry {term 1, index 1, config_change(initial)} — in one synced
  // batch, and only then start the node with restart(cfg, hs, std::nullopt, entries), exactly as
  // after any later crash. Nothing exists only in memory, so a crash at any point leaves either
  // no group member (nothing was written: bootstrap again) or a complete one. (A one-voter group
  // whose bootstrap lived only in memory and was lost in a crash restarted as an empty node that
  // never campaigns: raft_sim seed 93004072 --nodes 1.)
  static initial_state bootstrap_state(const consensus::membership& initial);
  // In-memory shortcut for tests and benchmarks: the same state, handed out by the first ready
  // (entries_to_persist + hard_state). NOT durable until that ready is persisted; a process that
  // can crash must use bootstrap_state() + restart().
  static raft_node bootstrap(config cfg, consensus::membership initial);

  raft_node(raft_node&&) noexcept;
  raft_node& operator=(raft_node&&) noexcept;
  ~raft_node();
  // A deep copy of the whole state (volatile included). For tests and simulators: probe how the
  // core would handle an input (e.g. a corrupted message) without touching the real node.
  [[nodiscard]] raft_node clone() const;

  void tick();
  void step(const message& m);  // network input; invalid, stale or foreign-group input is dropped

  // Leader: appends and returns the index. Follower with a known leader: forwards the proposal
  // (forwarded = true; the outcome is learnt from the committed entry). Errors: see raft_error_code.
  propose_result propose(std::string data);
  // Leader only. Single-server change; refused while another change is uncommitted or before
  // the leader committed an entry of its own term.
  propose_result propose_config_change(config_change change);
  // Leader only. Refused if the target is self, unknown or not a voter. The leader first brings
  // the target up to date, then sends timeout_now; aborts after an election timeout.
  raft_status transfer_leadership(node_id target);
  // Linearizable read: the result arrives as read_states{request_ctx, index} in a later ready.
  // Leader: confirms leadership with a heartbeat round. Follower: forwarded to the leader.
  raft_status read_index(uint64_t request_ctx);
  // Application applied `upto` (snapshot_metadata().index <= upto <= applied_index()) and
  // serialized its state as of `upto` into `data`: keep it as the snapshot to send to lagging
  // followers and drop the log up to `upto`. While a received snapshot waits to be handed out
  // (applied_index() < snapshot_metadata().index) no index is valid: compact after installing it.
  raft_status compact(index_t upto, std::string state_machine_snapshot_data);
  // The same without the data: the application made its state as of `upto` durable itself and
  // would rather not serialize it until a follower needs it. The core then behaves as after a
  // restart from the meta alone: a follower behind the new first index makes a ready carry
  // snapshot_data_wanted, answered with compact(i, data) for a later or equal i.
  raft_status compact_without_data(index_t upto);
  // Step down / campaign now (tests, operator tools). campaign() is ignored on non-voters.
  void campaign();

  bool has_ready() const;
  ready get_ready();
  void advance(const ready& done);

  // --- inspection -----------------------------------------------------------------------------
  node_id id() const;
  group_id group() const;
  consensus::role role() const;
  term_t term() const;
  node_id vote() const;
  node_id leader() const;  // no_node if unknown
  index_t commit_index() const;
  // What the application applied: the last committed entry or installed snapshot handed out in
  // a ready that was advance()d. A snapshot received from the leader counts only once the ready
  // carrying it as snapshot_to_install is advanced (etcd semantics).
  index_t applied_index() const;
  index_t first_index() const;  // first entry still in the log (snapshot index + 1)
  index_t last_index() const;
  term_t last_term() const;
  index_t stable_index() const;  // last index reported persisted
  std::optional<term_t> term_at(index_t i) const;  // nullopt if compacted or beyond last
  std::vector<entry> entries(index_t lo, index_t hi) const;  // [lo, hi), clamped to the log
  const consensus::membership& membership() const;
  index_t config_index() const;  // index of the entry (or snapshot) that set membership()
  const snapshot_meta& snapshot_metadata() const;  // index 0 if none
  bool is_learner() const;
  node_id transfer_target() const;  // leader: transfer in progress to this node, else no_node
  uint64_t uncommitted_bytes() const;
  uint64_t pending_read_count() const;
  std::vector<progress_view> progress() const;  // leader only; empty otherwise
  std::optional<progress_view> progress_of(node_id peer) const;
  const config& cfg() const;
  // Violations found by check_invariants() after every tick/step/advance/propose when
  // ENERGO_INVARIANTS_ENABLED (bounded to invariant_violations_max). Tests assert it is empty.
  const std::vector<std::string>& invariant_violations() const;

  struct impl;  // public so that the invariant checker can read it; not part of the API

 private:
  explicit raft_node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  friend std::vector<std::string> check_invariants(const raft_node&, invariant_history&);
};

}  // namespace energo::consensus
