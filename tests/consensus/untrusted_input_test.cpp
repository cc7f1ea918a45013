// Peer input is not trusted (issue 11 §2, "corrupted messages"): whatever fields a peer sends,
// the core keeps its own state sane — it drops or ignores what no correct peer can send. These
// are the rules the simulator's corrupted-message probe found or that follow from its analysis
// (tests/consensus_sim/README.md "Corrupted messages"). Raft stays crash-fault tolerant: a peer
// that lies within the plausible range is not detected and is out of scope.
#include <gtest/gtest.h>

#include <limits>

#include "consensus/invariants.hpp"
#include "consensus/raft.hpp"
#include "tests/consensus/pump.hpp"

namespace energo::consensus::test {
namespace {

constexpr uint64_t u64_max = std::numeric_limits<uint64_t>::max();

message to_node(node_id from, node_id to, message_type type, term_t term) {
  message m;
  m.group = test_group;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

// A three-voter group with 1 leading and a few entries committed everywhere.
void elect_and_commit(pump& p) {
  p.bootstrap({1, 2, 3});
  p.elect(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p[1].propose("e" + std::to_string(i)).has_value());
  p.stabilize();
}

std::vector<std::string> check(const raft_node& n) {
  invariant_history h;
  return check_invariants(n, h);
}

// Found by the simulator (raft_sim --seed 290 --corrupt-messages, before the fix): an ack's index
// beyond the leader's log made the follower's match run past the log (invariant "match beyond
// log"; with match >= next the leader stopped sending to it). A follower acks what this leader
// sent in this term, and a leader's log only grows within its term.
TEST(raft_untrusted_input, append_ack_beyond_the_leaders_log_is_ignored) {
  pump p;
  elect_and_commit(p);
  const index_t match_before = p[1].progress_of(2)->match;
  message ack = to_node(2, 1, message_type::append_response, p[1].term());
  ack.index = p[1].last_index() + 1'000'000;
  p[1].step(ack);
  EXPECT_EQ(p[1].progress_of(2)->match, match_before);
  EXPECT_TRUE(check(p[1]).empty());
  // The same ack at the real last index still counts.
  ack.index = p[1].last_index();
  p[1].step(ack);
  EXPECT_EQ(p[1].progress_of(2)->match, p[1].last_index());
}

// A term of 2^64-1 would wrap to 0 at the next campaign (term + 1): the message is dropped.
TEST(raft_untrusted_input, last_term_value_is_refused) {
  pump p;
  elect_and_commit(p);
  const term_t before = p[2].term();
  message hb = to_node(1, 2, message_type::heartbeat, u64_max);
  p[2].step(hb);
  EXPECT_EQ(p[2].term(), before);
  message vote = to_node(3, 2, message_type::vote, u64_max);
  vote.force = true;
  p[2].step(vote);
  EXPECT_EQ(p[2].term(), before);
  EXPECT_TRUE(check(p[2]).empty());
}

// Entry indexes that would wrap past 2^64-1 are malformed (the append is dropped).
TEST(raft_untrusted_input, append_whose_indexes_wrap_is_dropped) {
  pump p;
  elect_and_commit(p);
  message app = to_node(1, 2, message_type::append, p[1].term());
  app.index = u64_max - 1;
  app.log_term = p[1].term();
  app.entries.push_back(entry{p[1].term(), u64_max, entry_type::normal, "a"});
  app.entries.push_back(entry{p[1].term(), 0, entry_type::normal, "b"});  // index wrapped
  const size_t before = p.in_flight.size();
  p[2].step(app);
  p.flush(2);
  EXPECT_EQ(p.in_flight.size(), before) << "a dropped message is not answered";
  EXPECT_TRUE(check(p[2]).empty());
}

// A whole snapshot chunk from leader 1 to node 2 that node 2 installs.
message valid_chunk(pump& p) {
  message chunk = to_node(1, 2, message_type::snapshot_chunk, p[1].term());
  chunk.snap.index = p[2].commit_index() + 10;
  chunk.snap.term = p[1].term();
  chunk.snap.config = voters({1, 2, 3});
  chunk.chunk_data = "state";
  chunk.snapshot_bytes = chunk.chunk_data.size();
  chunk.chunk_done = true;
  return chunk;
}

// Snapshot meta that no correct leader sends: term beyond the sender's, index or term 0, a node
// both voter and learner, joint state, no voters, node id 0. Installing any of them broke the
// follower's invariants (membership) or its term order; the chunk is dropped.
TEST(raft_untrusted_input, snapshot_chunk_with_impossible_meta_is_dropped) {
  struct bad_case {
    const char* what;
    void (*edit)(message&);
  };
  const bad_case cases[] = {
      {"term beyond the sender's", [](message& m) { m.snap.term = m.term + 1; }},
      {"index 0", [](message& m) { m.snap.index = 0; }},
      {"term 0", [](message& m) { m.snap.term = 0; }},
      {"voter and learner", [](message& m) { m.snap.config.learners.insert(*m.snap.config.voters.begin()); }},
      {"joint consensus", [](message& m) { m.snap.config.voters_outgoing.insert(9); }},
      {"no voters", [](message& m) { m.snap.config.voters.clear(); }},
      {"node id 0", [](message& m) { m.snap.config.learners.insert(no_node); }},
  };
  for (const auto& c : cases) {
    pump p;
    elect_and_commit(p);
    message chunk = valid_chunk(p);
    c.edit(chunk);
    const index_t commit_before = p[2].commit_index();
    const membership members_before = p[2].membership();
    p[2].step(chunk);
    EXPECT_EQ(p[2].commit_index(), commit_before) << c.what;
    EXPECT_EQ(p[2].membership(), members_before) << c.what;
    EXPECT_TRUE(check(p[2]).empty()) << c.what;
  }
  // The valid chunk is installed (the checks above are not vacuous).
  pump p;
  elect_and_commit(p);
  message chunk = valid_chunk(p);
  p[2].step(chunk);
  EXPECT_EQ(p[2].commit_index(), chunk.snap.index);
}

// A heartbeat answer echoes a read round of this term; a larger context would acknowledge read
// rounds the follower never saw (a read served without a quorum's confirmation).
TEST(raft_untrusted_input, heartbeat_answer_for_a_future_read_round_is_not_an_ack) {
  pump p;
  elect_and_commit(p);
  p.isolate(2);
  p.isolate(3);
  ASSERT_TRUE(p[1].read_index(77).has_value());
  p.flush(1);
  // Nobody answered the round; a forged answer naming a far later round must not release it.
  message hr = to_node(2, 1, message_type::heartbeat_response, p[1].term());
  hr.context = 1'000;
  p[1].step(hr);
  p.flush(1);
  EXPECT_TRUE(p.reads[1].empty()) << "read released by an answer to a round that was never sent";
  // The genuine answer to round 1 releases it.
  hr.context = 1;
  p[1].step(hr);
  p.flush(1);
  ASSERT_EQ(p.reads[1].size(), 1u);
  EXPECT_EQ(p.reads[1][0].request_ctx, 77u);
}

}  // namespace
}  // namespace energo::consensus::test

namespace energo::consensus::test {
namespace {

// Removed nodes that live on (issue 11 §2): node 3 misses its removal, then keeps campaigning in
// its old configuration. With pre-vote its requests never raise anyone's term (its log lacks the
// removal, so no member grants); with check-quorum the members' leases ignore them. With both off
// it deposed the leader at every timeout (the disruptive server, dissertation §4.2.3) until the
// lease was made to hold against candidates outside the configuration whatever check-quorum is.
struct removed_run {
  term_t members_term_growth = 0;
  bool removed_ever_led = false;
  bool committed_after = false;
};

removed_run run_removed_node(bool pre_vote, bool check_quorum) {
  pump p;
  membership m = voters({1, 2, 3});
  for (node_id id : {1, 2, 3}) {
    config c = make_config(id, 40 + id);
    c.pre_vote = pre_vote;
    c.check_quorum = check_quorum;
    p.add(raft_node::bootstrap(c, m));
  }
  p.elect(1);
  p.tick_all(1);
  p.isolate(3);
  EXPECT_TRUE(p[1].propose_config_change({config_change_type::remove_node, 3}).has_value());
  p.stabilize();
  p.tick_all(2);
  EXPECT_FALSE(p[1].membership().contains(3));
  const term_t t = p[1].term();
  p.heal();
  removed_run out;
  for (int i = 0; i < 200; ++i) {
    p.tick_all(1);
    out.removed_ever_led = out.removed_ever_led || p[3].role() == role::leader;
  }
  out.members_term_growth = std::max(p[1].term(), p[2].term()) - t;
  const node_id l = p.leader();
  if (l == 1 || l == 2) {
    const auto r = p[l].propose("after");
    p.stabilize();
    out.committed_after = r.has_value() && p[l].commit_index() >= r->index;
  }
  return out;
}

TEST(raft_removed_node, missed_removal_never_disrupts_the_group) {
  for (const bool pre_vote : {true, false}) {
    for (const bool check_quorum : {true, false}) {
      const removed_run r = run_removed_node(pre_vote, check_quorum);
      EXPECT_EQ(r.members_term_growth, 0u) << "pre_vote " << pre_vote << " check_quorum " << check_quorum;
      EXPECT_FALSE(r.removed_ever_led) << "pre_vote " << pre_vote << " check_quorum " << check_quorum;
      EXPECT_TRUE(r.committed_after) << "pre_vote " << pre_vote << " check_quorum " << check_quorum;
    }
  }
}

}  // namespace
}  // namespace energo::consensus::test
