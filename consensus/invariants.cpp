#include "consensus/invariants.hpp"

#include "consensus/raft.hpp"
#include "consensus/raft_impl.hpp"

namespace energo::consensus {

std::vector<std::string> check_invariants(const raft_node& node, invariant_history& h) {
  const raft_node::impl& s = *node.impl_;
  std::vector<std::string> out;
  auto fail = [&](std::string what) {
    out.push_back("node " + std::to_string(s.cfg.id) + " term " + std::to_string(s.term) + ": " +
                  std::move(what));
  };
  const index_t last = s.last_index();

  // Monotonic quantities.
  if (h.seen) {
    if (s.term < h.term) fail("term decreased from " + std::to_string(h.term));
    if (s.term == h.term && h.vote != no_node && s.vote != h.vote)
      fail("vote changed within a term from " + std::to_string(h.vote));
    if (s.commit < h.commit) fail("commit decreased from " + std::to_string(h.commit));
    if (s.applied < h.applied) fail("applied decreased from " + std::to_string(h.applied));
    if (s.snap_meta.index < h.snapshot_index) fail("snapshot index decreased");
  }
  h.seen = true;
  h.term = s.term;
  h.vote = s.vote;
  h.commit = s.commit;
  h.applied = s.applied;
  h.snapshot_index = s.snap_meta.index;

  // Log shape.
  if (s.commit < s.snap_meta.index) fail("commit below snapshot index");
  if (s.snap_meta.term > s.term) fail("snapshot term " + std::to_string(s.snap_meta.term) + " beyond the current term");
  if (s.commit > last) fail("commit " + std::to_string(s.commit) + " beyond last index " + std::to_string(last));
  if (s.applied > s.commit) fail("applied beyond commit");
  // applied may lag the snapshot index only while that snapshot is on its way to the application.
  if (s.applied < s.snap_meta.index && !(s.to_install && s.to_install->meta.index == s.snap_meta.index) &&
      s.installing_index != s.snap_meta.index)
    fail("applied " + std::to_string(s.applied) + " below snapshot index " +
         std::to_string(s.snap_meta.index) + " with no snapshot pending install");
  if (s.stable > last || s.stable < s.snap_meta.index) fail("stable index outside the log");
  term_t prev_term = s.snap_meta.term;
  for (size_t i = 0; i < s.log.size(); ++i) {
    const entry& e = s.log[i];
    if (e.index != s.snap_meta.index + 1 + i) {
      fail("log not contiguous at position " + std::to_string(i));
      break;
    }
    if (e.term < prev_term) fail("log terms decrease at index " + std::to_string(e.index));
    if (e.term > s.term) fail("log entry of a future term at index " + std::to_string(e.index));
    prev_term = e.term;
  }

  // Membership.
  for (node_id id : s.members.learners)
    if (s.members.is_voter(id)) fail("node " + std::to_string(id) + " is voter and learner");
  if (!s.members.voters_outgoing.empty()) fail("joint consensus state is not used by this core");
  if (s.config_index > last) fail("config index beyond the log");
  if (s.config_index > s.snap_meta.index && s.config_index <= last &&
      s.at(s.config_index).type != entry_type::config_change)
    fail("config index does not point at a config_change entry");

  // Roles.
  switch (s.role) {
    case role::leader: {
      if (s.vote != s.cfg.id) fail("leader did not vote for itself");
      if (s.lead != s.cfg.id) fail("leader does not know it leads");
      if (s.last_term() != s.term && s.log.size() > 0) fail("leader's last entry is not of its term");
      for (const auto& [id, p] : s.prs) {
        if (p.match >= p.next) fail("progress of " + std::to_string(id) + ": match >= next");
        if (p.match > last) fail("progress of " + std::to_string(id) + ": match beyond log");
        if (p.inflight.size() > s.cfg.lim.max_inflight_appends)
          fail("progress of " + std::to_string(id) + ": too many inflight appends");
      }
      if (s.reads.size() + s.reads_before_commit.size() > s.cfg.lim.max_pending_reads)
        fail("pending reads beyond max_pending_reads");
      break;
    }
    case role::candidate:
      if (s.vote != s.cfg.id) fail("candidate did not vote for itself");
      [[fallthrough]];
    case role::pre_candidate:
      if (s.lead != no_node) fail("candidate believes in a leader");
      if (!s.prs.empty()) fail("non-leader tracks progress");
      break;
    case role::follower:
      if (!s.prs.empty()) fail("non-leader tracks progress");
      if (s.lead == s.cfg.id) fail("follower believes it leads");
      break;
  }
  return out;
}

}  // namespace energo::consensus
