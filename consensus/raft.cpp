// The Raft state machine. Structure follows etcd-io/raft (step by role, progress tracking,
// ready/advance); the code is our own. Paper references: Ongaro & Ousterhout 2014 ("Figure 8"),
// Ongaro's dissertation 2014 (§4.1 single-server changes, §6.4 read index, §9.6 pre-vote).
#include "consensus/raft.hpp"

#include <algorithm>
#include <limits>

#include "consensus/raft_impl.hpp"

namespace energo::consensus {

using state = raft_node::impl;

std::string_view to_string(role r) {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre_candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "unknown";
}
std::string_view to_string(progress_state s) {
  switch (s) {
    case progress_state::probe: return "probe";
    case progress_state::replicate: return "replicate";
    case progress_state::snapshot: return "snapshot";
  }
  return "unknown";
}

namespace {

// snapshot_response.chunk_offset value meaning "give up on this snapshot" (too large, corrupt).
constexpr uint64_t snapshot_abort = std::numeric_limits<uint64_t>::max();
// The most heartbeats a stalled snapshot stream waits before its chunk is resent (peer_progress::
// snap_resend_after doubles up to this): at 50 ms heartbeats, 0.8 s.
constexpr uint32_t snapshot_resend_heartbeats_max = 16;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

raft_error make_error(raft_error_code code, std::string text, node_id hint = no_node) {
  return raft_error{code, std::move(text), hint};
}

// ------------------------------------------------------------------------------------------------
// Basic helpers

void reset_randomized_timeout(state& s) {
  const auto base = static_cast<uint64_t>(s.cfg.election_ticks);
  s.randomized_election_ticks = static_cast<int>(base + splitmix64(s.rng_state) % base);
}

bool promotable(const state& s) { return s.members.is_voter(s.cfg.id); }

uint64_t quorum_of(uint64_t voters) { return voters / 2 + 1; }

void send(state& s, message m) {
  m.group = s.cfg.group;
  m.from = s.cfg.id;
  if (m.term == 0) m.term = s.term;
  ENERGO_ASSERT(m.to != s.cfg.id, "raft never sends to itself");
  s.msgs.push_back(std::move(m));
}

// Membership in effect as of log index `i` (<= last index): the last config_change entry at or
// before i, else the snapshot's.
consensus::membership membership_at(const state& s, index_t i, index_t* where = nullptr) {
  for (index_t k = std::min(i, s.last_index()); k > s.snap_meta.index; --k) {
    const entry& e = s.at(k);
    if (e.type == entry_type::config_change) {
      auto m = decode_membership(e.data);
      if (m) {
        if (where) *where = k;
        return *m;
      }
    }
  }
  if (where) *where = s.snap_meta.index;
  return s.snap_meta.config;
}

void on_membership_changed(state& s);

// Config changes take effect when appended (dissertation §4.1), on every node.
void append_entries_to_log(state& s, std::vector<entry> es) {
  bool changed = false;
  for (auto& e : es) {
    ENERGO_ASSERT(e.index == s.last_index() + 1, "appended entries must be contiguous");
    if (e.type == entry_type::config_change) {
      auto m = decode_membership(e.data);
      if (m) {
        s.members = *m;
        s.config_index = e.index;
        changed = true;
      }
    }
    s.log.push_back(std::move(e));
  }
  if (changed) on_membership_changed(s);
}

// Drop entries >= from (never committed ones: asserted). Reverts the membership if needed.
void truncate_from(state& s, index_t from) {
  ENERGO_ASSERT(from > s.commit, "truncating a committed entry");
  ENERGO_ASSERT(from > s.snap_meta.index, "truncating into the snapshot");
  s.log.resize(from - s.snap_meta.index - 1);
  if (s.stable >= from) s.stable = from - 1;
  if (s.config_index >= from) {
    s.members = membership_at(s, from - 1, &s.config_index);
    on_membership_changed(s);
  }
}

std::vector<entry> slice(const state& s, index_t lo, index_t hi, uint64_t bytes_max,
                         uint64_t count_max) {
  std::vector<entry> out;
  uint64_t bytes = 0;
  lo = std::max(lo, s.snap_meta.index + 1);
  hi = std::min(hi, s.last_index() + 1);
  for (index_t i = lo; i < hi; ++i) {
    const entry& e = s.at(i);
    const uint64_t b = entry_payload_bytes(e);
    if (!out.empty() && (bytes + b > bytes_max || out.size() >= count_max)) break;
    bytes += b;
    out.push_back(e);
  }
  return out;
}

bool log_up_to_date(const state& s, term_t log_term, index_t index) {
  return log_term > s.last_term() || (log_term == s.last_term() && index >= s.last_index());
}

// ------------------------------------------------------------------------------------------------
// Role transitions

void reset(state& s, term_t term) {
  if (s.term != term) {
    s.term = term;
    s.vote = no_node;
  }
  s.lead = no_node;
  s.election_elapsed = 0;
  s.heartbeat_elapsed = 0;
  reset_randomized_timeout(s);
  s.transferee = no_node;
  s.votes.clear();
  s.prs.clear();
  s.uncommitted_bytes = 0;
  // Pending reads die with the leadership: the requester retries (its read never got an index).
  s.reads.clear();
  s.reads_before_commit.clear();
  s.read_round = 0;
}

void become_follower(state& s, term_t term, node_id lead) {
  reset(s, term);
  s.role = role::follower;
  s.lead = lead;
}

void send_append(state& s, node_id to, bool allow_empty);
void bcast_append(state& s);

peer_progress fresh_progress(const state& s) {
  peer_progress p;
  p.next = s.last_index() + 1;
  return p;
}

void become_leader(state& s) {
  ENERGO_ASSERT(s.role == role::candidate, "only a candidate becomes leader");
  reset(s, s.term);
  s.role = role::leader;
  s.lead = s.cfg.id;
  for (node_id id : s.members.voters) s.prs[id] = fresh_progress(s);
  for (node_id id : s.members.learners) s.prs[id] = fresh_progress(s);
  s.prs[s.cfg.id] = fresh_progress(s);
  s.prs[s.cfg.id].match = s.stable;
  s.prs[s.cfg.id].recent_active = true;
  // A new leader appends a noop of its term: entries of earlier terms commit only indirectly
  // (Figure 8), and read_index needs an entry of this term to be committed.
  entry noop{s.term, s.last_index() + 1, entry_type::noop, {}};
  append_entries_to_log(s, {std::move(noop)});
  s.prs[s.cfg.id].next = s.last_index() + 1;
  bcast_append(s);
}

void become_pre_candidate(state& s) {
  // Pre-vote does not change term or vote: a partitioned node cannot inflate terms.
  s.role = role::pre_candidate;
  s.votes.clear();
  s.lead = no_node;
  s.election_elapsed = 0;
  reset_randomized_timeout(s);
}

void become_candidate(state& s) {
  reset(s, s.term + 1);
  s.role = role::candidate;
  s.vote = s.cfg.id;
}

// Tally the votes of the current (pre-)election among voters. Returns +1 won, -1 lost, 0 open.
int tally(const state& s) {
  uint64_t granted = 0, rejected = 0;
  for (node_id id : s.members.voters) {
    auto it = s.votes.find(id);
    if (it == s.votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  const uint64_t q = quorum_of(s.members.voters.size());
  if (granted >= q) return 1;
  if (rejected >= q || s.members.voters.size() - rejected < q) return -1;
  return 0;
}

void campaign_now(state& s, bool pre, bool force);

void on_tally(state& s) {
  const int r = tally(s);
  if (r > 0) {
    if (s.role == role::pre_candidate)
      campaign_now(s, /*pre=*/false, /*force=*/false);
    else
      become_leader(s);
  } else if (r < 0) {
    become_follower(s, s.term, no_node);
  }
}

void campaign_now(state& s, bool pre, bool force) {
  if (!promotable(s)) return;
  if (pre) {
    become_pre_candidate(s);
  } else {
    become_candidate(s);
  }
  s.votes[s.cfg.id] = true;
  const term_t t = pre ? s.term + 1 : s.term;
  for (node_id id : s.members.voters) {
    if (id == s.cfg.id) continue;
    message m;
    m.type = pre ? message_type::pre_vote : message_type::vote;
    m.to = id;
    m.term = t;
    m.log_term = s.last_term();
    m.index = s.last_index();
    m.force = force;
    send(s, std::move(m));
  }
  on_tally(s);  // single-voter group wins at once
}

// ------------------------------------------------------------------------------------------------
// Leader: replication

bool paused(const state& s, const peer_progress& p) {
  switch (p.state) {
    case progress_state::probe: return p.probe_sent;
    case progress_state::replicate:
      return p.inflight.size() >= s.cfg.lim.max_inflight_appends ||
             p.inflight_bytes >= s.cfg.lim.max_inflight_bytes;
    case progress_state::snapshot: return true;
  }
  return true;
}

void become_probe(peer_progress& p) {
  // Resume right after the match point; a snapshot that got installed moves match first.
  p.state = progress_state::probe;
  p.next = p.match + 1;
  p.probe_sent = false;
  p.inflight.clear();
  p.inflight_bytes = 0;
  p.snap_sending.reset();
}

void become_replicate(peer_progress& p) {
  p.state = progress_state::replicate;
  p.next = p.match + 1;
  p.probe_sent = false;
  p.inflight.clear();
  p.inflight_bytes = 0;
}

// Sends the chunk that starts at `off`; returns its length.
uint64_t send_snapshot_chunk(state& s, node_id to, const peer_progress& p, uint64_t off) {
  const snapshot& sn = *p.snap_sending;
  const uint64_t total = sn.data.size();
  off = std::min(off, total);
  const uint64_t len = std::min<uint64_t>(s.cfg.lim.snapshot_chunk_bytes_max, total - off);
  message m;
  m.type = message_type::snapshot_chunk;
  m.to = to;
  m.snap = sn.meta;
  m.snapshot_bytes = total;
  m.chunk_offset = off;
  m.chunk_data = sn.data.substr(off, len);
  m.chunk_done = off + len == total;
  send(s, std::move(m));
  return len;
}

uint64_t snapshot_window_bytes(const limits& lim) {
  const uint64_t chunks = std::max<uint64_t>(lim.max_inflight_snapshot_chunks, 1);
  if (lim.snapshot_chunk_bytes_max > std::numeric_limits<uint64_t>::max() / chunks)
    return std::numeric_limits<uint64_t>::max();
  return chunks * lim.snapshot_chunk_bytes_max;
}

// Keep up to limits::max_inflight_snapshot_chunks chunks unacknowledged (one chunk per round
// trip capped a transfer at chunk/RTT).
void send_snapshot_window(state& s, node_id to, peer_progress& p) {
  const uint64_t total = p.snap_sending->data.size();
  const uint64_t window = snapshot_window_bytes(s.cfg.lim);
  if (p.snap_next_offset < p.snap_acked_bytes) p.snap_next_offset = p.snap_acked_bytes;
  for (uint64_t i = 0; i < s.cfg.lim.max_inflight_snapshot_chunks && !p.snap_last_sent; ++i) {
    if (p.snap_next_offset - p.snap_acked_bytes >= window) break;
    p.snap_next_offset += send_snapshot_chunk(s, to, p, p.snap_next_offset);
    if (p.snap_next_offset >= total) p.snap_last_sent = true;
  }
}

void restart_snapshot_stream(peer_progress& p, uint64_t from) {
  p.snap_idle_heartbeats = 0;
  p.snap_acked_bytes = std::min<uint64_t>(from, p.snap_sending->data.size());
  p.snap_next_offset = p.snap_acked_bytes;
  p.snap_reported_bytes = p.snap_acked_bytes;
  p.snap_last_sent = false;
}

void start_snapshot(state& s, node_id to, peer_progress& p) {
  if (!s.snap) {
    // Restarted from the snapshot's meta only: ask the application for the data (ready::
    // snapshot_data_wanted); it answers with compact(). The peer stays in probe meanwhile and
    // the next heartbeat response retries.
    s.snap_data_wanted = true;
    return;
  }
  p.state = progress_state::snapshot;
  p.snap_sending = s.snap;
  restart_snapshot_stream(p, 0);
  p.snap_restarted = false;
  p.snap_progress_since_heartbeat = true;
  p.snap_resend_after = 1;
  p.probe_sent = false;
  p.inflight.clear();
  p.inflight_bytes = 0;
  send_snapshot_window(s, to, p);
}

void send_append(state& s, node_id to, bool allow_empty) {
  auto it = s.prs.find(to);
  if (it == s.prs.end() || to == s.cfg.id) return;
  peer_progress& p = it->second;
  if (paused(s, p)) return;
  if (p.next > s.last_index() + 1) p.next = s.last_index() + 1;  // defensive: never probe past the log
  const index_t prev = p.next - 1;
  const auto prev_term = s.term_at(prev);
  if (!prev_term) {
    start_snapshot(s, to, p);  // the entries this follower needs are compacted
    return;
  }
  std::vector<entry> es = slice(s, p.next, s.last_index() + 1, s.cfg.lim.max_entries_bytes_per_append,
                                s.cfg.lim.max_entries_per_append);
  if (es.empty() && !allow_empty) return;
  message m;
  m.type = message_type::append;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = s.commit;
  if (!es.empty()) {
    uint64_t bytes = 0;
    for (const auto& e : es) bytes += entry_payload_bytes(e);
    const index_t last = es.back().index;
    if (p.state == progress_state::replicate) {
      p.inflight.push_back({last, bytes});
      p.inflight_bytes += bytes;
      p.next = last + 1;  // optimistic: pipelining
    }
  }
  if (p.state == progress_state::probe) p.probe_sent = true;
  m.entries = std::move(es);
  send(s, std::move(m));
}

void bcast_append(state& s) {
  for (auto& [id, p] : s.prs) {
    (void)p;
    if (id != s.cfg.id) send_append(s, id, /*allow_empty=*/true);
  }
}

// Keep sending while the window allows (pipelining after an ack frees room).
void send_append_loop(state& s, node_id to) {
  for (uint64_t i = 0; i < s.cfg.lim.max_inflight_appends; ++i) {
    auto it = s.prs.find(to);
    if (it == s.prs.end() || paused(s, it->second) || it->second.next > s.last_index()) break;
    const index_t before = it->second.next;
    const bool probing = it->second.state == progress_state::probe;
    send_append(s, to, false);
    if (probing || it->second.next == before) break;
  }
}

void bcast_heartbeat(state& s, uint64_t context) {
  for (auto& [id, p] : s.prs) {
    if (id == s.cfg.id) continue;
    message m;
    m.type = message_type::heartbeat;
    m.to = id;
    // Never tell a follower to commit beyond what it is known to hold.
    m.commit = std::min(p.match, s.commit);
    m.context = context;
    send(s, std::move(m));
    if (p.state == progress_state::snapshot && p.snap_sending) {
      // No progress for snap_resend_after heartbeat intervals (backing off while it lasts): the
      // chunk at the follower's prefix (or its answer) was lost, or the follower is slow. Resend
      // that one chunk; what it fills is followed by the chunks the follower
      // holds beyond the gap, and the window moves on from there.
      if (p.snap_progress_since_heartbeat) {
        p.snap_idle_heartbeats = 0;
        p.snap_resend_after = 1;
      } else if (++p.snap_idle_heartbeats >= p.snap_resend_after) {
        p.snap_idle_heartbeats = 0;
        p.snap_resend_after = std::min(p.snap_resend_after * 2, snapshot_resend_heartbeats_max);
        if (p.snap_reported_bytes < p.snap_acked_bytes) {
          // The follower keeps reporting less than we count as acknowledged: it lost the
          // stream those acks were about (late acks of a dropped stream raised ours). Its
          // report is the truth; go back to it, or we resend a chunk beyond its gap forever.
          restart_snapshot_stream(p, p.snap_reported_bytes);
        }
        const uint64_t len = send_snapshot_chunk(s, id, p, p.snap_acked_bytes);
        if (p.snap_next_offset < p.snap_acked_bytes + len) {
          p.snap_next_offset = p.snap_acked_bytes + len;
          if (p.snap_next_offset >= p.snap_sending->data.size()) p.snap_last_sent = true;
        }
        p.snap_restarted = false;  // a follower that still has no stream may ask again
      }
      p.snap_progress_since_heartbeat = false;
    }
  }
}

void emit_read(state& s, const pending_read& r) {
  if (r.origin == s.cfg.id) {
    s.read_states.push_back({r.request_ctx, r.index});
  } else {
    message m;
    m.type = message_type::read_index_response;
    m.to = r.origin;
    m.context = r.request_ctx;
    m.index = r.index;
    send(s, std::move(m));
  }
}

void release_reads(state& s) {
  while (!s.reads.empty()) {
    const pending_read& r = s.reads.front();
    uint64_t acks = 0;
    for (node_id id : s.members.voters) {
      if (id == s.cfg.id) {
        ++acks;
        continue;
      }
      auto it = s.prs.find(id);
      if (it != s.prs.end() && it->second.read_ack >= r.round) ++acks;
    }
    if (acks < quorum_of(s.members.voters.size())) break;
    emit_read(s, r);
    s.reads.pop_front();
  }
}

bool committed_in_current_term(const state& s) { return s.term_at(s.commit) == s.term; }

void start_read_round(state& s, pending_read r) {
  r.index = s.commit;
  const bool alone = s.members.voters.size() == 1 && s.members.is_voter(s.cfg.id);
  if (alone) {
    emit_read(s, r);
    return;
  }
  r.round = ++s.read_round;
  s.reads.push_back(r);
  bcast_heartbeat(s, r.round);
}

void step_down_if_removed(state& s);

void maybe_commit(state& s) {
  if (s.role != role::leader) return;
  std::vector<index_t> matches;
  for (node_id id : s.members.voters) {
    auto it = s.prs.find(id);
    matches.push_back(it == s.prs.end() ? 0 : it->second.match);
  }
  if (matches.empty()) return;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const index_t candidate = matches[quorum_of(matches.size()) - 1];
  // Figure 8: only an entry of the current term is committed by counting replicas.
  if (candidate <= s.commit || s.term_at(candidate) != s.term) return;
  for (index_t i = s.commit + 1; i <= candidate; ++i) {
    const entry& e = s.at(i);
    if (e.term == s.term) {
      const uint64_t b = entry_payload_bytes(e);
      s.uncommitted_bytes = s.uncommitted_bytes >= b ? s.uncommitted_bytes - b : 0;
    }
  }
  s.commit = candidate;
  // Reads that waited for the first commit of this term can start their round now.
  while (!s.reads_before_commit.empty()) {
    pending_read r = s.reads_before_commit.front();
    s.reads_before_commit.pop_front();
    start_read_round(s, r);
  }
  bcast_append(s);  // tell followers the new commit index
  step_down_if_removed(s);
}

// A leader removed from the membership keeps leading until the removal commits (it does not
// count itself meanwhile), then hands over to the most up-to-date voter and steps down.
void step_down_if_removed(state& s) {
  if (s.role != role::leader || s.members.is_voter(s.cfg.id) || s.commit < s.config_index) return;
  node_id best = no_node;
  index_t best_match = 0;
  for (node_id id : s.members.voters) {
    auto it = s.prs.find(id);
    if (it != s.prs.end() && it->second.match > best_match) {
      best = id;
      best_match = it->second.match;
    }
  }
  if (best != no_node && best_match == s.last_index()) {
    message m;
    m.type = message_type::timeout_now;
    m.to = best;
    send(s, std::move(m));
  }
  become_follower(s, s.term, no_node);
}

void on_membership_changed(state& s) {
  if (s.role != role::leader) return;
  std::set<node_id> all = s.members.voters;
  all.insert(s.members.learners.begin(), s.members.learners.end());
  all.insert(s.cfg.id);
  for (auto it = s.prs.begin(); it != s.prs.end();) {
    if (!all.count(it->first))
      it = s.prs.erase(it);
    else
      ++it;
  }
  for (node_id id : all) {
    if (!s.prs.count(id)) {
      peer_progress p = fresh_progress(s);
      p.recent_active = true;  // give a new member one check-quorum round to answer
      s.prs[id] = p;
    }
  }
  if (s.transferee != no_node && !s.members.is_voter(s.transferee)) s.transferee = no_node;
}

// Append entries proposed at this leader. Returns the error if a bound is hit.
propose_result leader_append(state& s, entry_type type, std::string data) {
  if (data.size() > s.cfg.lim.entry_bytes_max)
    return unexpected{make_error(raft_error_code::entry_too_large,
                                 "proposal of " + std::to_string(data.size()) +
                                     " bytes exceeds entry_bytes_max " +
                                     std::to_string(s.cfg.lim.entry_bytes_max))};
  if (s.transferee != no_node)
    return unexpected{make_error(raft_error_code::transfer_in_progress,
                                 "leadership transfer in progress; retry at the new leader",
                                 s.transferee)};
  // The bound applies only when something is already uncommitted, so one entry always fits.
  if (s.uncommitted_bytes > 0 &&
      s.uncommitted_bytes + data.size() > s.cfg.lim.max_uncommitted_bytes)
    return unexpected{make_error(
        raft_error_code::uncommitted_limit,
        "uncommitted log would exceed max_uncommitted_bytes (" +
            std::to_string(s.cfg.lim.max_uncommitted_bytes) +
            "); the leader may have lost its quorum — retry later", s.cfg.id)};
  s.uncommitted_bytes += data.size();
  const index_t idx = s.last_index() + 1;
  append_entries_to_log(s, {entry{s.term, idx, type, std::move(data)}});
  auto& self = s.prs[s.cfg.id];
  self.next = s.last_index() + 1;
  bcast_append(s);
  return proposal_info{idx, s.term, false};
}

void handle_append_response(state& s, const message& m) {
  auto it = s.prs.find(m.from);
  if (it == s.prs.end()) return;
  // A follower answers an append of this term, whose index (and its commit, which leader
  // completeness puts in our log) is within our log, and a leader's log only grows within its
  // term. An index beyond it is nonsense from the peer (found by the simulator's corrupted
  // messages): trusting it made match run past the log.
  if (m.index > s.last_index()) return;
  peer_progress& p = it->second;
  p.recent_active = true;
  if (m.reject) {
    bool decreased = false;
    if (p.state == progress_state::replicate) {
      if (m.index > p.match) {
        become_probe(p);
        decreased = true;
      }
    } else if (p.state == progress_state::probe && m.index == p.next - 1) {
      // Fast backtracking: skip every entry whose term cannot match the follower's hint.
      index_t k = std::min(m.index, m.reject_hint);
      while (k > s.snap_meta.index) {
        auto t = s.term_at(k);
        if (t && *t <= m.log_term) break;
        --k;
      }
      p.next = std::max(p.match + 1, std::min(k, m.index) + 1);
      if (p.next > m.index) p.next = std::max<index_t>(p.match + 1, m.index);  // always progress
      p.probe_sent = false;
      decreased = true;
    }
    if (decreased) send_append(s, m.from, true);
    return;
  }
  const index_t old_match = p.match;
  if (m.index > p.match) p.match = m.index;
  if (p.next < p.match + 1) p.next = p.match + 1;
  while (!p.inflight.empty() && p.inflight.front().last_index <= m.index) {
    p.inflight_bytes -= p.inflight.front().bytes;
    p.inflight.pop_front();
  }
  if (p.state == progress_state::probe) {
    become_replicate(p);
  } else if (p.state == progress_state::snapshot && p.snap_sending &&
             p.match >= p.snap_sending->meta.index) {
    become_probe(p);  // caught up through the log after all; stop sending the snapshot
  }
  if (p.match > old_match) maybe_commit(s);
  if (s.role != role::leader) return;
  send_append_loop(s, m.from);
  if (s.transferee == m.from && p.match == s.last_index()) {
    message t;
    t.type = message_type::timeout_now;
    t.to = m.from;
    send(s, std::move(t));
  }
}

void handle_snapshot_response(state& s, const message& m) {
  auto it = s.prs.find(m.from);
  if (it == s.prs.end()) return;
  peer_progress& p = it->second;
  p.recent_active = true;
  if (p.state != progress_state::snapshot || !p.snap_sending ||
      p.snap_sending->meta.index != m.snap.index || p.snap_sending->meta.term != m.snap.term)
    return;  // stale answer about another stream (m.term == our term: step() drops older ones)
  if (m.reject) {
    if (m.chunk_offset == snapshot_abort) {
      // The follower gave up (too large, corrupt): probe again later; heartbeat unpauses.
      become_probe(p);
      p.probe_sent = true;
      return;
    }
    // The follower had no stream of this snapshot (it restarted, or a chunk overtook the first
    // one) and started one: go back to where it says, once, if we believed it further. Its
    // answers to the other chunks already on the wire say the same and are ignored until the
    // new stream makes progress; a chunk really lost is resent at the next heartbeat.
    if (m.chunk_offset < p.snap_sending->data.size()) p.snap_reported_bytes = m.chunk_offset;
    if (p.snap_restarted || m.chunk_offset >= p.snap_acked_bytes) return;
    p.snap_restarted = true;
    p.snap_progress_since_heartbeat = true;
    restart_snapshot_stream(p, m.chunk_offset);
    send_snapshot_window(s, m.from, p);
    return;
  }
  if (m.chunk_done) {
    // Installed (or already covered by the follower's commit): continue from the snapshot.
    p.match = std::max(p.match, m.snap.index);
    become_probe(p);
    maybe_commit(s);
    if (s.role == role::leader) send_append(s, m.from, true);
    return;
  }
  // Acks may arrive duplicated or out of order: only a longer prefix moves the window. A
  // shorter one is remembered: if no progress follows for a heartbeat interval, the heartbeat
  // goes back to it (the follower lost the stream the higher acks were about).
  const uint64_t prefix = std::min<uint64_t>(m.chunk_offset, p.snap_sending->data.size());
  p.snap_reported_bytes = prefix;
  if (prefix > p.snap_acked_bytes) {
    p.snap_acked_bytes = prefix;
    p.snap_progress_since_heartbeat = true;
    p.snap_restarted = false;
  }
  send_snapshot_window(s, m.from, p);
}

void handle_read_request(state& s, uint64_t ctx, node_id origin) {
  pending_read r{0, ctx, origin, 0};
  if (!committed_in_current_term(s)) {
    s.reads_before_commit.push_back(r);
    return;
  }
  start_read_round(s, r);
}

void step_leader(state& s, const message& m) {
  switch (m.type) {
    case message_type::append_response: handle_append_response(s, m); break;
    case message_type::heartbeat_response: {
      auto it = s.prs.find(m.from);
      if (it == s.prs.end()) return;
      peer_progress& p = it->second;
      p.recent_active = true;
      p.probe_sent = false;
      if (p.state == progress_state::replicate && !p.inflight.empty() && paused(s, p)) {
        // The window is full (by count or by bytes) and the follower is alive: an append may
        // be lost. Free one slot so an (empty) append goes out; a gap makes the follower reject
        // and we re-probe. (Checking the count only left a byte-full window stuck forever:
        // raft_sim seed 3 with small limits.)
        p.inflight_bytes -= p.inflight.front().bytes;
        p.inflight.pop_front();
      }
      if (p.match < s.last_index()) send_append(s, m.from, true);
      // The context echoes a read round of this term (<= read_round); a larger one from the peer
      // would acknowledge read rounds it never saw.
      if (m.context != 0 && m.context <= s.read_round) {
        p.read_ack = std::max(p.read_ack, m.context);
        release_reads(s);
      }
      break;
    }
    case message_type::snapshot_response: handle_snapshot_response(s, m); break;
    case message_type::read_index: {
      if (s.reads.size() + s.reads_before_commit.size() >= s.cfg.lim.max_pending_reads) {
        message r;
        r.type = message_type::read_index_response;
        r.to = m.from;
        r.context = m.context;
        r.reject = true;
        send(s, std::move(r));
        return;
      }
      handle_read_request(s, m.context, m.from);
      break;
    }
    case message_type::forward_proposal: {
      const uint64_t n = std::min<uint64_t>(m.entries.size(), s.cfg.lim.max_forwarded_entries);
      for (uint64_t i = 0; i < n; ++i) {
        if (m.entries[i].type != entry_type::normal) continue;
        // Dropped on error: the proposer learns nothing and retries (client sessions make the
        // retry safe).
        (void)leader_append(s, entry_type::normal, m.entries[i].data);
      }
      break;
    }
    default: break;
  }
}

void step_candidate(state& s, const message& m) {
  switch (m.type) {
    case message_type::append:
    case message_type::heartbeat:
    case message_type::snapshot_chunk:
      ENERGO_ASSERT(false, "handled by step(): a candidate becomes follower first");
      break;
    case message_type::pre_vote_response:
    case message_type::vote_response: {
      const bool mine = (m.type == message_type::pre_vote_response) == (s.role == role::pre_candidate);
      if (!mine) return;
      if (!s.votes.count(m.from)) s.votes[m.from] = !m.reject;
      on_tally(s);
      break;
    }
    default: break;
  }
}

void handle_append(state& s, const message& m) {
  message r;
  r.type = message_type::append_response;
  r.to = m.from;
  if (m.index < s.commit) {
    // Everything up to commit is already here and identical; a duplicate or reordered append
    // must not touch it.
    r.index = s.commit;
    send(s, std::move(r));
    return;
  }
  const auto t = s.term_at(m.index);
  if (!t || *t != m.log_term) {
    r.reject = true;
    r.index = m.index;
    index_t k = std::min(m.index, s.last_index());
    while (k > s.snap_meta.index) {
      auto kt = s.term_at(k);
      if (kt && *kt <= m.log_term) break;
      --k;
    }
    r.reject_hint = k;
    r.log_term = s.term_at(k).value_or(0);
    send(s, std::move(r));
    return;
  }
  // Find the first entry that is new or conflicts; entries before it are identical.
  size_t first_new = m.entries.size();
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const auto et = s.term_at(m.entries[i].index);
    if (!et || *et != m.entries[i].term) {
      first_new = i;
      break;
    }
  }
  if (first_new < m.entries.size()) {
    const index_t at = m.entries[first_new].index;
    if (at <= s.last_index()) truncate_from(s, at);
    append_entries_to_log(s, std::vector<entry>(m.entries.begin() + static_cast<std::ptrdiff_t>(first_new),
                                                m.entries.end()));
  }
  const index_t last_new = m.index + m.entries.size();
  const index_t new_commit = std::min(m.commit, last_new);
  if (new_commit > s.commit) s.commit = new_commit;
  r.index = last_new;
  send(s, std::move(r));
}

void send_snapshot_response(state& s, const message& m, bool reject, uint64_t offset, bool done) {
  message r;
  r.type = message_type::snapshot_response;
  r.to = m.from;
  r.snap.index = m.snap.index;
  r.snap.term = m.snap.term;
  r.reject = reject;
  r.chunk_offset = offset;
  r.chunk_done = done;
  send(s, std::move(r));
}

// Install a fully received snapshot; one at or below our commit index changes nothing.
void restore(state& s, const snapshot_meta& meta, std::string data) {
  if (meta.index <= s.commit) return;  // older than our commit: ignore
  if (s.term_at(meta.index) == meta.term) {
    // Our log already holds the snapshot's last entry: just learn that it is committed.
    s.commit = meta.index;
    return;
  }
  s.log.clear();
  s.snap_meta = meta;
  // Meta only, as after a restart from the meta: the data goes to the application (to_install),
  // not also into a copy here (a second 100 MB buffer per installed image). Should this node
  // lead and a follower need a snapshot, it asks the application (ready::snapshot_data_wanted).
  s.snap.reset();
  s.commit = meta.index;
  s.stable = meta.index;
  // applied stays: the application has not installed the snapshot yet. It advances in advance()
  // for the ready that hands the snapshot out (etcd semantics), so compact(applied_index()) can
  // never label the application's older state with the snapshot's index.
  s.members = meta.config;
  s.config_index = meta.index;
  s.to_install = snapshot{meta, std::move(data)};
}

void drop_incoming(state& s) {
  s.incoming_active = false;
  s.incoming_data.clear();
  s.incoming_ahead.clear();
  s.incoming_ahead_bytes = 0;
}

// Append the part of [off, off + data) beyond the contiguous prefix (chunks may overlap it).
void extend_prefix(state& s, uint64_t off, const std::string& data) {
  const uint64_t have = s.incoming_data.size();
  if (off <= have && off + data.size() > have) s.incoming_data.append(data, have - off, std::string::npos);
}

// Chunks are idempotent. A stream is one snapshot (index, term) sent by one leader (its term);
// chunks are placed by offset. A duplicate, or a chunk of an older stream, changes nothing and
// never resets a newer stream; reordered chunks wait (bounded) until the gap before them fills.
void handle_snapshot_chunk(state& s, const message& m) {
  if (m.snap.index <= s.commit) {
    // Older than our commit index: nothing to install; report done so the leader probes on.
    // A late duplicate of a snapshot already installed must not drop a stream of a newer one.
    if (s.incoming_active && s.incoming_meta.index <= s.commit) drop_incoming(s);
    send_snapshot_response(s, m, false, m.snapshot_bytes, true);
    return;
  }
  const bool same = s.incoming_active && s.incoming_term == m.term &&
                    s.incoming_meta.index == m.snap.index && s.incoming_meta.term == m.snap.term &&
                    s.incoming_from == m.from && s.incoming_total == m.snapshot_bytes;
  if (!same) {
    // (sender's term, snapshot index) orders streams: an older one is a late duplicate.
    const bool older = s.incoming_active &&
                       (m.term < s.incoming_term ||
                        (m.term == s.incoming_term && m.snap.index < s.incoming_meta.index));
    if (older) return;
    if (m.snapshot_bytes > s.cfg.lim.snapshot_bytes_max) {
      send_snapshot_response(s, m, true, snapshot_abort, false);
      return;
    }
    drop_incoming(s);
    s.incoming_active = true;
    s.incoming_from = m.from;
    s.incoming_term = m.term;
    s.incoming_meta = m.snap;
    s.incoming_total = m.snapshot_bytes;
    // A stream that does not start at 0 (we restarted, or this chunk overtook the first one):
    // keep the chunk below, and tell the leader we start from 0 (it goes back if it thought
    // us further).
    if (m.chunk_offset != 0) send_snapshot_response(s, m, true, 0, false);
  }
  const bool answered = !same && m.chunk_offset != 0;
  if (m.chunk_offset > s.incoming_total || m.chunk_data.size() > s.incoming_total - m.chunk_offset ||
      (m.chunk_done && m.chunk_offset + m.chunk_data.size() != s.incoming_total)) {
    drop_incoming(s);  // inconsistent with the stream's size: corrupt or a bug; give up
    send_snapshot_response(s, m, true, snapshot_abort, false);
    return;
  }
  if (m.chunk_offset > s.incoming_data.size()) {
    // Ahead of a gap: keep it if the reorder buffer has room (else the leader resends it).
    const uint64_t room = snapshot_window_bytes(s.cfg.lim);
    if (!s.incoming_ahead.count(m.chunk_offset) &&
        s.incoming_ahead.size() < s.cfg.lim.max_inflight_snapshot_chunks &&
        m.chunk_data.size() <= room - std::min(room, s.incoming_ahead_bytes)) {
      s.incoming_ahead_bytes += m.chunk_data.size();
      s.incoming_ahead.emplace(m.chunk_offset, m.chunk_data);
    }
  } else {
    extend_prefix(s, m.chunk_offset, m.chunk_data);
    // Drain what the gap held back.
    while (!s.incoming_ahead.empty() && s.incoming_ahead.begin()->first <= s.incoming_data.size()) {
      auto it = s.incoming_ahead.begin();
      extend_prefix(s, it->first, it->second);
      s.incoming_ahead_bytes -= it->second.size();
      s.incoming_ahead.erase(it);
    }
  }
  if (s.incoming_data.size() < s.incoming_total ||
      (s.incoming_total == 0 && !m.chunk_done)) {
    if (!answered) send_snapshot_response(s, m, false, s.incoming_data.size(), false);
    return;
  }
  const snapshot_meta meta = s.incoming_meta;
  std::string data = std::move(s.incoming_data);
  const uint64_t total = s.incoming_total;
  drop_incoming(s);
  restore(s, meta, std::move(data));
  send_snapshot_response(s, m, false, total, true);
}

void step_follower(state& s, const message& m) {
  switch (m.type) {
    case message_type::append:
      s.election_elapsed = 0;
      s.lead = m.from;
      handle_append(s, m);
      break;
    case message_type::heartbeat: {
      s.election_elapsed = 0;
      s.lead = m.from;
      const index_t c = std::min(m.commit, s.last_index());
      if (c > s.commit) s.commit = c;
      message r;
      r.type = message_type::heartbeat_response;
      r.to = m.from;
      r.context = m.context;
      send(s, std::move(r));
      break;
    }
    case message_type::snapshot_chunk:
      s.election_elapsed = 0;
      s.lead = m.from;
      handle_snapshot_chunk(s, m);
      break;
    case message_type::timeout_now:
      // Leadership transfer: campaign at once, skipping pre-vote, bypassing leader leases.
      if (promotable(s)) campaign_now(s, /*pre=*/false, /*force=*/true);
      break;
    case message_type::read_index_response:
      if (!m.reject) s.read_states.push_back({m.context, m.index});
      break;
    default: break;
  }
}

void handle_vote_request(state& s, const message& m) {
  const bool pre = m.type == message_type::pre_vote;
  const bool can_vote = s.vote == m.from || (s.vote == no_node && s.lead == no_node) ||
                        (pre && m.term > s.term);
  message r;
  r.type = pre ? message_type::pre_vote_response : message_type::vote_response;
  r.to = m.from;
  if (can_vote && log_up_to_date(s, m.log_term, m.index)) {
    // Answer with the request's term: a pre-vote grant must not look stale to the asker.
    r.term = m.term;
    r.reject = false;
    if (!pre) {
      s.election_elapsed = 0;
      s.vote = m.from;  // hard state: persisted before this response is sent (same ready)
    }
  } else {
    r.term = s.term;
    r.reject = true;
  }
  send(s, std::move(r));
}

// A snapshot's meta as a correct sender describes it: a real entry (index and term >= 1) of a
// term no later than the sender's, and a membership this core can hold (what decode_membership
// demands of a config_change entry, plus at least one voter).
bool valid_snapshot_meta(const snapshot_meta& meta, term_t sender_term) {
  if (meta.index == 0 || meta.term == 0 || meta.term > sender_term) return false;
  const membership& c = meta.config;
  if (c.voters.empty() || !c.voters_outgoing.empty() || c.voters.count(no_node) || c.learners.count(no_node))
    return false;
  for (node_id id : c.learners)
    if (c.voters.count(id)) return false;
  return true;
}

// Structural checks of peer input (a peer's fields are not trusted: the simulator steps
// corrupted-but-decodable messages into a copy of a node and checks its invariants).
bool well_formed(const state& s, const message& m) {
  if (m.from == no_node || m.from == s.cfg.id) return false;
  // Terms only grow by one at a time from 1; the last value would wrap at the next campaign.
  if (m.term == std::numeric_limits<term_t>::max()) return false;
  if (m.type == message_type::snapshot_chunk && !valid_snapshot_meta(m.snap, m.term)) return false;
  if (m.type == message_type::append) {
    if (m.entries.size() > std::numeric_limits<index_t>::max() - m.index) return false;  // indexes would wrap
    index_t expect = m.index + 1;
    term_t prev = m.log_term;
    for (const auto& e : m.entries) {
      if (e.index != expect++ || e.term < prev || e.term > m.term) return false;
      prev = e.term;
    }
  }
  return true;
}

void run_invariants(raft_node& node, state& s);

}  // namespace

// ------------------------------------------------------------------------------------------------
// raft_node

raft_node::raft_node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
raft_node::raft_node(raft_node&&) noexcept = default;
raft_node& raft_node::operator=(raft_node&&) noexcept = default;
raft_node::~raft_node() = default;
raft_node raft_node::clone() const { return raft_node(std::make_unique<impl>(*impl_)); }

namespace {
std::unique_ptr<state> make_state(const config& cfg) {
  ENERGO_ASSERT(cfg.id != no_node, "node id 0 is reserved");
  ENERGO_ASSERT(cfg.election_ticks > cfg.heartbeat_ticks && cfg.heartbeat_ticks > 0,
                "need 0 < heartbeat_ticks < election_ticks");
  ENERGO_ASSERT(cfg.lim.max_inflight_appends > 0 && cfg.lim.snapshot_chunk_bytes_max > 0,
                "limits must be positive");
  auto p = std::make_unique<state>();
  p->cfg = cfg;
  p->rng_state = cfg.random_seed ^ (cfg.id * 0x9e3779b97f4a7c15ull);
  reset_randomized_timeout(*p);
  return p;
}
}  // namespace

raft_node raft_node::restart(config cfg, hard_state hs, snapshot snap, std::vector<entry> log) {
  if (snap.meta.index == 0) return restart(std::move(cfg), hs, std::nullopt, std::move(log));
  raft_node n = restart(std::move(cfg), hs, snap.meta, std::move(log));
  n.impl_->snap = std::make_shared<const snapshot>(std::move(snap));
  return n;
}

raft_node raft_node::restart(config cfg, hard_state hs, std::optional<snapshot_meta> snap,
                             std::vector<entry> log) {
  auto p = make_state(cfg);
  if (snap) {
    p->snap_meta = *snap;
    p->members = snap->config;
    p->config_index = snap->index;
  }
  p->term = hs.term;
  p->vote = hs.vote;
  const index_t base = p->snap_meta.index;
  // A crash between saving a snapshot and compacting the log leaves entries the snapshot already
  // covers (storage/README.md "Restart recipe"): they are committed and identical to the
  // snapshot's history, so they are skipped; the next compaction deletes them from the store.
  // Without this, such a node could never start again (found by tests/cluster_faults).
  std::size_t covered = 0;
  while (covered < log.size() && log[covered].index <= base) {
    if (log[covered].index == base && snap)
      ENERGO_ASSERT(log[covered].term == snap->term, "restart: the log contradicts the snapshot's last entry");
    ++covered;
  }
  log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(covered));
  for (size_t i = 0; i < log.size(); ++i)
    ENERGO_ASSERT(log[i].index == base + 1 + i, "restart: log must follow the snapshot contiguously");
  append_entries_to_log(*p, std::move(log));
  p->stable = p->last_index();
  p->commit = std::clamp(hs.commit, p->snap_meta.index, p->last_index());
  // The application tells where its durable state stands (etcd's Config.Applied); without it
  // every entry after the snapshot would be handed out again and applied twice.
  ENERGO_ASSERT(cfg.applied <= p->commit,
                "restart: config::applied is beyond the restored commit index (the application "
                "applied an entry its store does not hold as committed)");
  p->applied = std::max(p->snap_meta.index, cfg.applied);
  p->persisted_hs = hard_state{p->term, p->vote, p->commit};
  raft_node n(std::move(p));
  run_invariants(n, *n.impl_);
  return n;
}

initial_state raft_node::bootstrap_state(const consensus::membership& initial) {
  ENERGO_ASSERT(!initial.voters.empty(), "bootstrap needs at least one voter");
  initial_state out;
  out.hard_state = hard_state{1, no_node, 1};  // committed by construction on every founder
  out.entries.push_back(entry{1, 1, entry_type::config_change, encode_membership(initial)});
  return out;
}

raft_node raft_node::bootstrap(config cfg, consensus::membership initial) {
  ENERGO_ASSERT(!initial.voters.empty(), "bootstrap needs at least one voter");
  auto p = make_state(cfg);
  p->term = 1;
  append_entries_to_log(*p, {entry{1, 1, entry_type::config_change, encode_membership(initial)}});
  p->commit = 1;  // identical on every bootstrapped node: committed by construction
  raft_node n(std::move(p));
  run_invariants(n, *n.impl_);
  return n;
}

void raft_node::tick() {
  state& s = *impl_;
  if (s.role == role::leader) {
    ++s.heartbeat_elapsed;
    ++s.election_elapsed;
    if (s.election_elapsed >= s.cfg.election_ticks) {
      s.election_elapsed = 0;
      s.transferee = no_node;  // a transfer that did not finish within an election timeout
      if (s.cfg.check_quorum) {
        uint64_t active = 0;
        for (node_id id : s.members.voters) {
          auto it = s.prs.find(id);
          if (id == s.cfg.id || (it != s.prs.end() && it->second.recent_active)) ++active;
        }
        for (auto& [id, p] : s.prs)
          if (id != s.cfg.id) p.recent_active = false;
        if (active < quorum_of(s.members.voters.size())) {
          become_follower(s, s.term, no_node);
          run_invariants(*this, s);
          return;
        }
      }
    }
    if (s.heartbeat_elapsed >= s.cfg.heartbeat_ticks) {
      s.heartbeat_elapsed = 0;
      bcast_heartbeat(s, s.reads.empty() ? 0 : s.read_round);
    }
  } else {
    // Only a promotable node (a voter in its own configuration) uses the timer to campaign and
    // restarts it (etcd's tickElection). A learner, or a voter holding its own uncommitted
    // removal, lets it run on: one election timeout after it last heard from the leader its
    // lease is over and it answers (pre-)votes. It may have been promoted (or its removal
    // truncated) without knowing, and a candidate may need its vote (raft_bugs.md #4). Capped
    // so that it cannot overflow; the cap is past every randomized timeout.
    if (s.election_elapsed < 2 * s.cfg.election_ticks) ++s.election_elapsed;
    if (promotable(s) && s.election_elapsed >= s.randomized_election_ticks) {
      s.election_elapsed = 0;
      campaign_now(s, s.cfg.pre_vote, false);
    }
  }
  run_invariants(*this, s);
}

void raft_node::campaign() {
  state& s = *impl_;
  if (s.role != role::leader) campaign_now(s, s.cfg.pre_vote, false);
  run_invariants(*this, s);
}

void raft_node::step(const message& m) {
  state& s = *impl_;
  if (m.group != s.cfg.group || m.to != s.cfg.id || !well_formed(s, m)) return;
  const bool vote_request = m.type == message_type::pre_vote || m.type == message_type::vote;
  if (m.term > s.term) {
    if (vote_request) {
      // Leader lease: a follower that heard from a live leader within the election timeout
      // ignores (pre-)votes, unless they come from a leadership transfer. Without check-quorum
      // the lease still holds against a candidate that is not a voter in our configuration: a
      // node removed without learning it (it campaigns in its old configuration) otherwise
      // deposes the leader at every timeout when pre-vote is off too (dissertation §4.2.3;
      // raft_removed_node.*, found with the simulator's removed nodes that live on).
      const bool heard_leader = s.lead != no_node && s.election_elapsed < s.cfg.election_ticks;
      const bool in_lease = heard_leader && (s.cfg.check_quorum || !s.members.is_voter(m.from));
      if (in_lease && !m.force) return;
    }
    if (m.type == message_type::pre_vote) {
      // Never raise our term for a pre-vote.
    } else if (m.type == message_type::pre_vote_response && !m.reject) {
      // A granted pre-vote carries the future term; ours changes only when we campaign.
    } else {
      const bool from_leader = m.type == message_type::append ||
                               m.type == message_type::heartbeat ||
                               m.type == message_type::snapshot_chunk;
      become_follower(s, m.term, from_leader ? m.from : no_node);
    }
  } else if (m.term < s.term) {
    if ((s.cfg.check_quorum || s.cfg.pre_vote) &&
        (m.type == message_type::append || m.type == message_type::heartbeat ||
         m.type == message_type::snapshot_chunk)) {
      // A stale leader (e.g. after a partition) learns the new term and steps down.
      message r;
      r.type = message_type::append_response;
      r.to = m.from;
      send(s, std::move(r));
    } else if (m.type == message_type::pre_vote || m.type == message_type::vote) {
      // Reply with our term (Raft paper, RequestVote rule 1): a candidate stuck at a lower term
      // than a voter it needs would otherwise never learn it and could livelock the election.
      message r;
      r.type = m.type == message_type::pre_vote ? message_type::pre_vote_response
                                                : message_type::vote_response;
      r.to = m.from;
      r.reject = true;
      send(s, std::move(r));
    }
    run_invariants(*this, s);
    return;
  }

  if (vote_request) {
    handle_vote_request(s, m);
  } else if (s.role == role::leader) {
    step_leader(s, m);
  } else if (s.role == role::follower) {
    step_follower(s, m);
  } else {
    if (m.type == message_type::append || m.type == message_type::heartbeat ||
        m.type == message_type::snapshot_chunk) {
      become_follower(s, s.term, m.from);  // a leader exists for our term
      step_follower(s, m);
    } else if (m.type == message_type::timeout_now) {
      // ignored while campaigning
    } else {
      step_candidate(s, m);
    }
  }
  run_invariants(*this, s);
}

propose_result raft_node::propose(std::string data) {
  state& s = *impl_;
  if (s.role == role::leader) {
    auto r = leader_append(s, entry_type::normal, std::move(data));
    run_invariants(*this, s);
    return r;
  }
  if (s.lead == no_node)
    return unexpected{make_error(raft_error_code::no_leader, "no known leader; retry later")};
  if (data.size() > s.cfg.lim.entry_bytes_max)
    return unexpected{make_error(raft_error_code::entry_too_large,
                                 "proposal exceeds entry_bytes_max", s.lead)};
  message m;
  m.type = message_type::forward_proposal;
  m.to = s.lead;
  m.entries.push_back(entry{0, 0, entry_type::normal, std::move(data)});
  send(s, std::move(m));
  return proposal_info{0, 0, true};
}

propose_result raft_node::propose_config_change(config_change change) {
  state& s = *impl_;
  if (s.role != role::leader)
    return unexpected{make_error(raft_error_code::not_leader,
                                 "membership changes are proposed at the leader", s.lead)};
  if (s.config_index > s.commit)
    return unexpected{make_error(raft_error_code::config_change_pending,
                                 "a membership change is still uncommitted; one at a time",
                                 s.cfg.id)};
  // Single-server changes are safe only after the leader committed an entry of its own term
  // (Ongaro, raft-dev 2015): otherwise two leaders of different terms could each commit a
  // different change against overlapping-but-disjoint majorities.
  if (!committed_in_current_term(s))
    return unexpected{make_error(raft_error_code::leader_not_ready,
                                 "the leader has not committed an entry of its term yet; retry",
                                 s.cfg.id)};
  consensus::membership next = s.members;
  const node_id n = change.node;
  auto invalid = [&](const std::string& why) {
    return unexpected{make_error(raft_error_code::config_change_invalid, why, s.cfg.id)};
  };
  if (n == no_node) return invalid("node id 0 is reserved");
  switch (change.type) {
    case config_change_type::add_voter:
      if (next.contains(n)) return invalid("node " + std::to_string(n) + " is already a member");
      next.voters.insert(n);
      break;
    case config_change_type::add_learner:
      if (next.contains(n)) return invalid("node " + std::to_string(n) + " is already a member");
      next.learners.insert(n);
      break;
    case config_change_type::promote_learner:
      if (!next.is_learner(n)) return invalid("node " + std::to_string(n) + " is not a learner");
      next.learners.erase(n);
      next.voters.insert(n);
      break;
    case config_change_type::remove_node:
      if (!next.contains(n)) return invalid("node " + std::to_string(n) + " is not a member");
      if (next.is_voter(n) && next.voters.size() == 1) return invalid("cannot remove the last voter");
      next.voters.erase(n);
      next.learners.erase(n);
      break;
  }
  auto r = leader_append(s, entry_type::config_change, encode_membership(next));
  run_invariants(*this, s);
  return r;
}

raft_status raft_node::transfer_leadership(node_id target) {
  state& s = *impl_;
  if (s.role != role::leader)
    return unexpected{make_error(raft_error_code::not_leader, "transfer is started at the leader", s.lead)};
  if (target == s.cfg.id || !s.members.is_voter(target))
    return unexpected{make_error(raft_error_code::transfer_target_invalid,
                                 "transfer target " + std::to_string(target) +
                                     " is self, unknown or not a voter", s.cfg.id)};
  if (s.transferee == target) return ok;
  s.transferee = target;
  s.election_elapsed = 0;  // the transfer is aborted after one election timeout
  const peer_progress& p = s.prs[target];
  if (p.match == s.last_index()) {
    message m;
    m.type = message_type::timeout_now;
    m.to = target;
    send(s, std::move(m));
  } else {
    send_append(s, target, true);  // catch the target up first
  }
  run_invariants(*this, s);
  return ok;
}

raft_status raft_node::read_index(uint64_t request_ctx) {
  state& s = *impl_;
  if (s.role == role::leader) {
    if (s.reads.size() + s.reads_before_commit.size() >= s.cfg.lim.max_pending_reads)
      return unexpected{make_error(raft_error_code::read_limit, "too many pending reads", s.cfg.id)};
    handle_read_request(s, request_ctx, s.cfg.id);
    run_invariants(*this, s);
    return ok;
  }
  if (s.lead == no_node)
    return unexpected{make_error(raft_error_code::no_leader, "no known leader; retry later")};
  message m;
  m.type = message_type::read_index;
  m.to = s.lead;
  m.context = request_ctx;
  send(s, std::move(m));
  return ok;
}

namespace {
raft_status compact_to(state& s, index_t upto, std::optional<std::string> data) {
  if (upto > s.applied)
    return unexpected{make_error(raft_error_code::config_change_invalid,
                                 "compact beyond the applied index")};
  if (upto < s.snap_meta.index)
    return unexpected{make_error(raft_error_code::config_change_invalid,
                                 "compact below the current snapshot")};
  snapshot_meta meta;
  meta.index = upto;
  meta.term = *s.term_at(upto);
  meta.config = membership_at(s, upto);
  const size_t drop = upto - s.snap_meta.index;
  s.log.erase(s.log.begin(), s.log.begin() + static_cast<std::ptrdiff_t>(drop));
  s.snap_meta = meta;
  if (data) {
    s.snap = std::make_shared<const snapshot>(snapshot{meta, std::move(*data)});
  } else if (!s.snap || s.snap->meta.index != upto) {
    // Data on demand (snapshot_data_wanted). A peer already streaming the previous snapshot
    // keeps its own reference to it.
    s.snap = nullptr;
  }
  return ok;
}
}  // namespace

raft_status raft_node::compact(index_t upto, std::string data) {
  auto res = compact_to(*impl_, upto, std::make_optional(std::move(data)));
  run_invariants(*this, *impl_);
  return res;
}

raft_status raft_node::compact_without_data(index_t upto) {
  auto res = compact_to(*impl_, upto, std::nullopt);
  run_invariants(*this, *impl_);
  return res;
}


bool raft_node::has_ready() const {
  const state& s = *impl_;
  if (s.outstanding) return false;
  if (hard_state{s.term, s.vote, s.commit} != s.persisted_hs) return true;
  if (s.stable < s.last_index() || s.to_install || !s.msgs.empty() || !s.read_states.empty() ||
      s.snap_data_wanted)
    return true;
  return std::max(s.applied, s.snap_meta.index) < s.commit;
}

ready raft_node::get_ready() {
  state& s = *impl_;
  ENERGO_ASSERT(!s.outstanding, "advance() the previous ready first");
  ready r;
  const hard_state hs{s.term, s.vote, s.commit};
  if (hs != s.persisted_hs) {
    r.hard_state = hs;
    s.persisted_hs = hs;
  }
  r.entries_to_persist = slice(s, s.stable + 1, s.last_index() + 1,
                               std::numeric_limits<uint64_t>::max(),
                               std::numeric_limits<uint64_t>::max());
  if (s.to_install) {
    r.snapshot_to_install = std::move(*s.to_install);
    s.to_install.reset();
    s.installing_index = r.snapshot_to_install->meta.index;
  }
  r.messages = std::move(s.msgs);
  s.msgs.clear();
  r.committed_entries = slice(s, std::max(s.applied, s.snap_meta.index) + 1, s.commit + 1,
                              s.cfg.lim.max_committed_bytes_per_ready,
                              std::numeric_limits<uint64_t>::max());
  r.read_states = std::move(s.read_states);
  s.read_states.clear();
  r.snapshot_data_wanted = s.snap_data_wanted && !s.snap;
  s.snap_data_wanted = false;
  s.outstanding = true;
  return r;
}

void raft_node::advance(const ready& done) {
  state& s = *impl_;
  s.outstanding = false;
  if (!done.entries_to_persist.empty()) {
    const entry& e = done.entries_to_persist.back();
    // Skip if the log changed underneath (truncated by a newer leader meanwhile).
    if (e.index > s.stable && s.term_at(e.index) == e.term) s.stable = e.index;
  }
  // applied counts only what this ready handed to the application: the snapshot it installed
  // and the entries it applied. A snapshot received meanwhile is in the next ready.
  if (done.snapshot_to_install) {
    s.applied = std::max(s.applied, done.snapshot_to_install->meta.index);
    s.installing_index = 0;
  }
  if (!done.committed_entries.empty())
    s.applied = std::max(s.applied, done.committed_entries.back().index);
  if (s.role == role::leader) {
    auto& self = s.prs[s.cfg.id];
    if (s.stable > self.match) {
      self.match = s.stable;
      maybe_commit(s);
    }
  }
  run_invariants(*this, s);
}

// --- inspection -----------------------------------------------------------------------------------
node_id raft_node::id() const { return impl_->cfg.id; }
group_id raft_node::group() const { return impl_->cfg.group; }
consensus::role raft_node::role() const { return impl_->role; }
term_t raft_node::term() const { return impl_->term; }
node_id raft_node::vote() const { return impl_->vote; }
node_id raft_node::leader() const { return impl_->lead; }
index_t raft_node::commit_index() const { return impl_->commit; }
index_t raft_node::applied_index() const { return impl_->applied; }
index_t raft_node::first_index() const { return impl_->snap_meta.index + 1; }
index_t raft_node::last_index() const { return impl_->last_index(); }
term_t raft_node::last_term() const { return impl_->last_term(); }
index_t raft_node::stable_index() const { return impl_->stable; }
std::optional<term_t> raft_node::term_at(index_t i) const { return impl_->term_at(i); }
std::vector<entry> raft_node::entries(index_t lo, index_t hi) const {
  return slice(*impl_, lo, hi, std::numeric_limits<uint64_t>::max(),
               std::numeric_limits<uint64_t>::max());
}
const consensus::membership& raft_node::membership() const { return impl_->members; }
index_t raft_node::config_index() const { return impl_->config_index; }
const snapshot_meta& raft_node::snapshot_metadata() const { return impl_->snap_meta; }
bool raft_node::is_learner() const { return impl_->members.is_learner(impl_->cfg.id); }
node_id raft_node::transfer_target() const { return impl_->transferee; }
uint64_t raft_node::uncommitted_bytes() const { return impl_->uncommitted_bytes; }
uint64_t raft_node::pending_read_count() const {
  return impl_->reads.size() + impl_->reads_before_commit.size();
}
namespace {
progress_view view_of(const state& s, node_id id, const peer_progress& p) {
  progress_view v;
  v.id = id;
  v.is_learner = s.members.is_learner(id);
  v.match = p.match;
  v.next = p.next;
  v.state = p.state;
  v.recent_active = p.recent_active;
  v.inflight_appends = p.inflight.size();
  v.inflight_bytes = p.inflight_bytes;
  v.pending_snapshot_index = p.snap_sending ? p.snap_sending->meta.index : 0;
  return v;
}
}  // namespace
std::vector<progress_view> raft_node::progress() const {
  std::vector<progress_view> out;
  if (impl_->role != role::leader) return out;
  for (const auto& [id, p] : impl_->prs) out.push_back(view_of(*impl_, id, p));
  return out;
}
std::optional<progress_view> raft_node::progress_of(node_id peer) const {
  if (impl_->role != role::leader) return std::nullopt;
  auto it = impl_->prs.find(peer);
  if (it == impl_->prs.end()) return std::nullopt;
  return view_of(*impl_, peer, it->second);
}
const config& raft_node::cfg() const { return impl_->cfg; }
const std::vector<std::string>& raft_node::invariant_violations() const { return impl_->violations; }

namespace {
void run_invariants([[maybe_unused]] raft_node& node, [[maybe_unused]] state& s) {
#if ENERGO_INVARIANTS_ENABLED
  auto v = check_invariants(node, s.history);
  for (auto& line : v) {
    if (s.violations.size() >= invariant_violations_max) break;
    s.violations.push_back(std::move(line));
  }
#endif
}
}  // namespace

}  // namespace energo::consensus
