#pragma once
// Private state of raft_node. Internal header: only raft.cpp and invariants.cpp include it.
//
// The whole log after the last snapshot is kept in memory (`log`); compaction (compact()) is
// what bounds it. The log_reader interface sketched in notes/raft_api.md is not used yet.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "consensus/raft.hpp"

namespace energo::consensus {

struct peer_progress {
  index_t match = 0;
  index_t next = 1;
  progress_state state = progress_state::probe;
  bool probe_sent = false;     // probe: one append outstanding, wait for an answer
  bool recent_active = false;  // heard from since the last check-quorum round
  struct inflight_append {
    index_t last_index;
    uint64_t bytes;
  };
  std::deque<inflight_append> inflight;  // bounded by limits::max_inflight_appends
  uint64_t inflight_bytes = 0;
  // snapshot state
  std::shared_ptr<const snapshot> snap_sending;
  uint64_t snap_acked_bytes = 0;   // follower confirmed having this contiguous prefix
  uint64_t snap_next_offset = 0;   // next byte to send; window: next - acked bytes in flight
  uint64_t snap_reported_bytes = 0;  // prefix in the follower's latest answer (may be below
                                     // acked: late acks of a stream it dropped raised acked)
  bool snap_last_sent = false;     // the chunk that ends the data went out (since the last restart)
  bool snap_restarted = false;     // restarted at the follower's request, no progress since: later
                                   // requests are echoes of chunks sent before the restart
  bool snap_progress_since_heartbeat = false;
  // Resend backoff: a chunk is resent after snap_resend_after heartbeats without progress, which
  // doubles after each resend (up to snapshot_resend_heartbeats_max) and falls back to 1 on
  // progress. A resend every heartbeat flooded a slow follower: with 1 MiB chunks every 50 ms
  // under ASan and busy cores, the duplicates queued ahead of the data and of its acks (seconds)
  // and the follower never got past chunk 0.
  uint32_t snap_idle_heartbeats = 0;
  uint32_t snap_resend_after = 1;
  // read index: highest read round this peer acknowledged in the current term
  uint64_t read_ack = 0;
};

struct pending_read {
  uint64_t round = 0;  // heartbeat round that must be acknowledged by a quorum
  uint64_t request_ctx = 0;
  node_id origin = no_node;  // self or the follower that forwarded it
  index_t index = 0;         // commit index when the read arrived
};

struct raft_node::impl {
  config cfg;
  uint64_t rng_state = 0;
  int randomized_election_ticks = 0;
  int election_elapsed = 0;
  int heartbeat_elapsed = 0;

  consensus::role role = role::follower;
  term_t term = 0;
  node_id vote = no_node;
  node_id lead = no_node;

  // log: entries snap.meta.index+1 .. ; snap.meta describes the compacted prefix
  snapshot_meta snap_meta;
  std::shared_ptr<const snapshot> snap;  // data to send to lagging followers (null if unknown)
  bool snap_data_wanted = false;         // a follower needs `snap` but it is null: ask (ready)
  std::vector<entry> log;
  index_t commit = 0;
  index_t applied = 0;
  index_t stable = 0;

  consensus::membership members;
  index_t config_index = 0;

  // leader
  std::map<node_id, peer_progress> prs;
  node_id transferee = no_node;
  uint64_t uncommitted_bytes = 0;
  uint64_t read_round = 0;
  std::deque<pending_read> reads;               // waiting for a quorum of heartbeat acks
  std::deque<pending_read> reads_before_commit; // waiting for the leader's first commit in term

  // candidate / pre-candidate
  std::map<node_id, bool> votes;

  // follower: snapshot being received in chunks
  bool incoming_active = false;
  node_id incoming_from = no_node;
  term_t incoming_term = 0;
  snapshot_meta incoming_meta;
  uint64_t incoming_total = 0;
  std::string incoming_data;  // contiguous prefix received
  // Chunks that arrived ahead of a gap (reordered), by offset; bounded by
  // limits::max_inflight_snapshot_chunks chunks and as many x snapshot_chunk_bytes_max bytes.
  std::map<uint64_t, std::string> incoming_ahead;
  uint64_t incoming_ahead_bytes = 0;

  // ready bookkeeping
  hard_state persisted_hs;  // last hard state handed out
  bool outstanding = false;
  std::vector<message> msgs;
  std::vector<read_state> read_states;
  std::optional<snapshot> to_install;  // received, not handed out yet (applied excludes it)
  index_t installing_index = 0;         // snapshot in the outstanding ready (0: none)

  invariant_history history;
  std::vector<std::string> violations;

  // --- log helpers ---
  index_t last_index() const { return snap_meta.index + log.size(); }
  term_t last_term() const { return log.empty() ? snap_meta.term : log.back().term; }
  std::optional<term_t> term_at(index_t i) const {
    if (i == snap_meta.index) return snap_meta.term;
    if (i < snap_meta.index || i > last_index()) return std::nullopt;
    return log[i - snap_meta.index - 1].term;
  }
  const entry& at(index_t i) const { return log[i - snap_meta.index - 1]; }
};

}  // namespace energo::consensus
