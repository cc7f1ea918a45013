// Raft core unit tests: one test per rule, driving raft_node instances through the in-test pump
// (pump.hpp). The pump's destructor asserts zero invariant violations and that applied entries
// agree across nodes.
#include <gtest/gtest.h>

#include "consensus/raft.hpp"
#include "tests/consensus/pump.hpp"

namespace energo::consensus::test {
namespace {

// Propose at the leader and fail the test if refused.
index_t must_propose(pump& p, node_id id, std::string data) {
  auto r = p[id].propose(std::move(data));
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().message);
  return r.has_value() ? r->index : 0;
}

std::vector<std::string> applied_payloads(pump& p, node_id id) { return payloads(p.applied[id]); }

// ---------------------------------------------------------------------------------------------
// Election

TEST(raft_election, single_voter_becomes_leader_and_commits) {
  pump p;
  p.bootstrap({1});
  p.tick(1, 25);
  EXPECT_EQ(p[1].role(), role::leader);
  must_propose(p, 1, "a");
  p.stabilize();
  EXPECT_EQ(applied_payloads(p, 1), std::vector<std::string>{"a"});
}

TEST(raft_election, three_nodes_elect_exactly_one_leader_by_timeout) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.tick_all(40);
  const node_id l = p.leader();
  ASSERT_NE(l, no_node);
  int leaders = 0;
  for (node_id id : {1, 2, 3}) {
    leaders += p[id].role() == role::leader;
    EXPECT_EQ(p[id].leader(), l);
    EXPECT_EQ(p[id].term(), p[l].term());
  }
  EXPECT_EQ(leaders, 1);
}

TEST(raft_election, candidate_with_shorter_log_is_refused) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.isolate(3);
  must_propose(p, 1, "x");
  p.stabilize();
  p.heal();
  p.isolate(1);
  // Node 3 misses "x": nodes 2 must refuse it. Without pre-vote the real vote is tested.
  p.tick_all(12);  // leases expire on 2
  p[3].campaign();
  p.stabilize();
  EXPECT_NE(p[3].role(), role::leader);
}

TEST(raft_election, stale_candidate_learns_the_higher_term_from_a_refusal) {
  // Without pre-vote, a candidate whose term is below a voter's would otherwise be ignored
  // forever (livelock found by the simulator, seed 100913).
  pump p;
  const membership mem = voters({1, 2, 3});
  const entry cfg{1, 1, entry_type::config_change, encode_membership(mem)};
  p.add(raft_node::restart(make_config(2), {5, 0, 1}, std::nullopt, {cfg}));
  const term_t t2 = p[2].term();
  message m;
  m.group = test_group;
  m.type = message_type::vote;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.log_term = 1;
  m.index = 1;
  p[2].step(m);
  p.flush(2);
  bool refused_with_term = false;
  for (auto& r : p.in_flight)
    if (r.type == message_type::vote_response && r.to == 1 && r.reject && r.term == t2)
      refused_with_term = true;
  EXPECT_TRUE(refused_with_term);
}

TEST(raft_prevote, partitioned_node_does_not_inflate_its_term) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  const term_t t = p[1].term();
  p.isolate(3);
  p.tick_all(100);  // node 3 times out repeatedly; its pre-votes go nowhere
  EXPECT_EQ(p[3].term(), t);
  EXPECT_NE(p[3].role(), role::leader);
  p.heal();
  p.tick_all(5);
  // Rejoining does not depose the healthy leader.
  EXPECT_EQ(p.leader(), 1u);
  EXPECT_EQ(p[1].term(), t);
}

TEST(raft_check_quorum, leader_without_quorum_steps_down) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.isolate(1);
  p.tick(1, 2 * 10 + 1);
  EXPECT_EQ(p[1].role(), role::follower);
}

TEST(raft_lease, follower_ignores_vote_while_leader_is_alive) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  const term_t t = p[2].term();
  message m;
  m.group = test_group;
  m.type = message_type::vote;
  m.from = 3;
  m.to = 2;
  m.term = t + 5;
  m.log_term = p[3].last_term();
  m.index = p[3].last_index();
  p[2].step(m);
  EXPECT_EQ(p[2].term(), t);
  EXPECT_EQ(p[2].leader(), 1u);
  p.flush(2);
  for (auto& msg : p.in_flight) EXPECT_NE(msg.type, message_type::vote_response);
  p.in_flight.clear();
  // A forced vote (leadership transfer) bypasses the lease.
  m.force = true;
  p[2].step(m);
  EXPECT_EQ(p[2].term(), t + 5);
  EXPECT_EQ(p[2].vote(), 3u);
}

// Hands `n` (a follower of `leader` in term `t`) a heartbeat, then ticks it without any further
// leader contact. Once an election timeout has passed, at every tick of a long window it must
// answer a pre-vote from `candidate` with a grant: the lease is over and stays over.
void expect_lease_ends_after_election_timeout(raft_node& n, node_id leader, node_id candidate, term_t t) {
  message hb;
  hb.group = test_group;
  hb.type = message_type::heartbeat;
  hb.from = leader;
  hb.to = n.id();
  hb.term = t;
  hb.commit = n.commit_index();
  n.step(hb);
  ASSERT_EQ(n.leader(), leader);
  auto drain = [&] {
    std::vector<message> out;
    while (n.has_ready()) {
      ready r = n.get_ready();
      out.insert(out.end(), r.messages.begin(), r.messages.end());
      n.advance(r);
    }
    return out;
  };
  drain();
  const int election_ticks = n.cfg().election_ticks;
  for (int i = 0; i < election_ticks; ++i) n.tick();
  drain();
  for (int k = 0; k < 4 * election_ticks; ++k) {
    message pv;
    pv.group = test_group;
    pv.type = message_type::pre_vote;
    pv.from = candidate;
    pv.to = n.id();
    pv.term = n.term() + 1;
    pv.log_term = n.last_term();
    pv.index = n.last_index();
    n.step(pv);
    bool granted = false;
    for (auto& m : drain())
      if (m.type == message_type::pre_vote_response && m.to == candidate && !m.reject) granted = true;
    EXPECT_TRUE(granted) << "no pre-vote granted " << election_ticks + k
                         << " ticks after the last leader contact (still in its lease)";
    EXPECT_EQ(n.role(), role::follower) << "a non-voter must not campaign";
    n.tick();
  }
  EXPECT_EQ(n.term(), t);
}

// raft_bugs.md #4 (learner shape; etcd: only promotable nodes reset the election timer). A node
// that believes it is a learner may have been promoted without knowing; the leader's new
// configuration may need its vote. Its lease must end one election timeout after it last heard
// from the leader, as a voter's does.
TEST(raft_lease, learner_leaves_its_lease_after_an_election_timeout) {
  membership m = voters({1, 2});
  m.learners = {3};
  raft_node n = raft_node::bootstrap(make_config(3), m);
  ASSERT_TRUE(n.is_learner());
  expect_lease_ends_after_election_timeout(n, 1, 2, 1);
}

// Same rule, other shape: a voter holding its own (uncommitted) removal is not a voter in its own
// configuration; it must not stay in its lease and ignore the candidates that need it.
TEST(raft_lease, voter_holding_its_own_removal_leaves_its_lease) {
  const entry cfg{1, 1, entry_type::config_change, encode_membership(voters({1, 2, 3}))};
  const entry removal{1, 2, entry_type::config_change, encode_membership(voters({1, 2}))};
  raft_node n = raft_node::restart(make_config(3), {1, 0, 1}, std::nullopt, {cfg, removal});
  ASSERT_FALSE(n.membership().is_voter(3));
  expect_lease_ends_after_election_timeout(n, 1, 2, 1);
}

TEST(raft_hard_state, vote_response_is_in_the_same_ready_as_the_vote) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.flush_all();
  p[1].campaign();  // pre-vote
  p.stabilize(1);   // pre-vote round only partially
  bool checked = false;
  p.on_ready = [&](node_id id, const ready& r) {
    for (auto& m : r.messages) {
      if (m.type == message_type::vote_response && !m.reject && id == 2) {
        ASSERT_TRUE(r.hard_state.has_value()) << "vote sent without persisting it";
        EXPECT_EQ(r.hard_state->vote, 1u);
        EXPECT_EQ(r.hard_state->term, m.term);
        checked = true;
      }
    }
  };
  p.stabilize();
  EXPECT_TRUE(checked);
  EXPECT_EQ(p.disks[2].hs.vote, 1u);
}

TEST(raft_group, message_for_another_group_is_dropped) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  const term_t t = p[2].term();
  message m;
  m.group = test_group + 1;
  m.type = message_type::heartbeat;
  m.from = 3;
  m.to = 2;
  m.term = t + 3;
  p[2].step(m);
  EXPECT_EQ(p[2].term(), t);
  EXPECT_EQ(p[2].leader(), 1u);
  m.group = test_group;
  p[2].step(m);  // same message in the right group is accepted
  EXPECT_EQ(p[2].term(), t + 3);
}

TEST(raft_term, stale_leader_messages_are_rejected_and_it_steps_down) {
  pump p;
  membership m = voters({1, 2, 3});
  config c1 = make_config(1);
  c1.check_quorum = false;  // node 1 keeps believing it leads while partitioned
  p.add(raft_node::bootstrap(c1, m));
  p.add(raft_node::bootstrap(make_config(2), m));
  p.add(raft_node::bootstrap(make_config(3), m));
  p.elect(1);
  p.isolate(1);
  p.tick(2, 25);
  p.tick(3, 25);
  const node_id l = p.leader();
  ASSERT_TRUE(l == 2 || l == 3);
  ASSERT_EQ(p[1].role(), role::leader);  // stale leader, old term
  ASSERT_LT(p[1].term(), p[l].term());
  const index_t idx = must_propose(p, l, "new");
  p.stabilize();
  const auto before = p[2].entries(1, 100);
  const index_t commit = p[2].commit_index();
  (void)p[1].propose("stale-write");  // accepted locally by the stale leader, never committed
  p.heal();
  p.tick(1, 1);  // its appends/heartbeats reach 2 and 3 at the old term
  EXPECT_NE(p[1].role(), role::leader);
  EXPECT_EQ(p[1].term(), p[l].term());
  EXPECT_EQ(p[2].commit_index(), commit);
  EXPECT_EQ(p[2].entries(1, 100), before);
  p.tick_all(3);
  EXPECT_GE(p[1].commit_index(), idx);
  for (auto& e : p.applied[1]) EXPECT_NE(e.data, "stale-write");
}

// ---------------------------------------------------------------------------------------------
// Replication

TEST(raft_replication, entries_replicate_and_apply_in_order) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  for (int i = 0; i < 20; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  for (node_id id : {1, 2, 3}) {
    ASSERT_EQ(applied_payloads(p, id).size(), 20u);
    EXPECT_EQ(applied_payloads(p, id).front(), "e0");
    EXPECT_EQ(applied_payloads(p, id).back(), "e19");
  }
}

TEST(raft_replication, conflicting_uncommitted_suffix_is_truncated) {
  // Node 2 holds entries of term 2 that never committed; node 1 wins term 4 and overwrites them.
  pump p;
  const membership m = voters({1, 2, 3});
  const entry cfg{1, 1, entry_type::config_change, encode_membership(m)};
  const entry a{2, 2, entry_type::normal, "lost-a"};
  const entry b{2, 3, entry_type::normal, "lost-b"};
  const entry c{3, 2, entry_type::normal, "kept"};
  p.add(raft_node::restart(make_config(1), {3, 1, 1}, std::nullopt, {cfg, c}));
  p.add(raft_node::restart(make_config(2), {2, 2, 1}, std::nullopt, {cfg, a, b}));
  p.add(raft_node::restart(make_config(3), {3, 1, 1}, std::nullopt, {cfg}));
  p.disks[2].log = {cfg, a, b};
  p.elect(1);
  p.stabilize();
  EXPECT_EQ(p[2].entries(1, 100), p[1].entries(1, 100));
  EXPECT_EQ(p[2].membership(), m);
  EXPECT_EQ(applied_payloads(p, 2), std::vector<std::string>{"kept"});
  // The disk of node 2 got the truncation too.
  EXPECT_EQ(p.disks[2].log, p[1].entries(1, 100));
}

TEST(raft_replication, fast_backtracking_needs_few_round_trips) {
  // Follower 3 holds 50 stale entries of term 2; the leader's log diverges at index 2.
  pump p;
  const membership m = voters({1, 2, 3});
  const entry cfg{1, 1, entry_type::config_change, encode_membership(m)};
  std::vector<entry> stale{cfg};
  for (index_t i = 2; i <= 51; ++i) stale.push_back({2, i, entry_type::normal, "s"});
  std::vector<entry> good{cfg};
  for (index_t i = 2; i <= 11; ++i) good.push_back({3, i, entry_type::normal, "g"});
  p.add(raft_node::restart(make_config(1), {3, 1, 1}, std::nullopt, good));
  p.add(raft_node::restart(make_config(2), {3, 1, 1}, std::nullopt, good));
  p.add(raft_node::restart(make_config(3), {2, 2, 1}, std::nullopt, stale));
  p.isolate(3);
  p.elect(1);
  p.heal();
  p.delivered.clear();
  p.tick_all(1);
  p.stabilize();
  EXPECT_EQ(p[3].entries(1, 100), p[1].entries(1, 100));
  size_t rejects = 0;
  for (auto& msg : p.delivered)
    if (msg.type == message_type::append_response && msg.reject && msg.from == 3) ++rejects;
  EXPECT_LE(rejects, 3u) << "one reject per term boundary, not one per entry";
}

TEST(raft_replication, duplicate_or_reordered_append_never_truncates_committed_entries) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  // Capture the append carrying "a" to node 2 and replay it late.
  std::optional<message> captured;
  p.filter = [&](message& m) {
    if (m.type == message_type::append && m.to == 2 && !m.entries.empty() && !captured &&
        m.entries.front().data == "a")
      captured = m;
    return true;
  };
  must_propose(p, 1, "a");
  p.stabilize();
  for (int i = 0; i < 5; ++i) must_propose(p, 1, "b" + std::to_string(i));
  p.stabilize();
  ASSERT_TRUE(captured.has_value());
  const auto before = p[2].entries(1, 100);
  const index_t commit = p[2].commit_index();
  p[2].step(*captured);  // duplicate, reordered
  // A shorter append that starts above the commit index must not cut the tail either.
  message shorter = *captured;
  shorter.index = commit;
  shorter.log_term = *p[2].term_at(commit);
  shorter.entries.clear();
  p[2].step(shorter);
  p.stabilize();
  EXPECT_EQ(p[2].entries(1, 100), before);
  EXPECT_EQ(p[2].commit_index(), commit);
}

TEST(raft_replication, batching_respects_max_bytes_per_append) {
  pump p;
  config c1 = make_config(1);
  c1.lim.max_entries_bytes_per_append = 100;
  membership m = voters({1, 2});
  p.add(raft_node::bootstrap(c1, m));
  p.add(raft_node::bootstrap(make_config(2), m));
  p.elect(1);
  p.isolate(2);
  for (int i = 0; i < 10; ++i) must_propose(p, 1, std::string(40, 'x'));
  p.stabilize();
  p.heal();
  p.delivered.clear();
  p.tick_all(3);
  size_t appends = 0;
  for (auto& msg : p.delivered)
    if (msg.type == message_type::append && !msg.entries.empty()) {
      ++appends;
      uint64_t bytes = 0;
      for (auto& e : msg.entries) bytes += e.data.size();
      EXPECT_LE(bytes, 100u);
    }
  EXPECT_GE(appends, 4u);
  EXPECT_EQ(applied_payloads(p, 2).size(), 10u);
}

TEST(raft_replication, inflight_appends_are_bounded_per_follower) {
  pump p;
  config c1 = make_config(1);
  c1.lim.max_inflight_appends = 3;
  membership m = voters({1, 2, 3});
  p.add(raft_node::bootstrap(c1, m));
  p.add(raft_node::bootstrap(make_config(2), m));
  p.add(raft_node::bootstrap(make_config(3), m));
  p.elect(1);
  // Node 3 stops answering; node 2 keeps the quorum.
  p.cut.insert({3, 1});
  for (int i = 0; i < 20; ++i) must_propose(p, 1, "p" + std::to_string(i));
  p.stabilize();
  auto pr = p[1].progress_of(3);
  ASSERT_TRUE(pr.has_value());
  EXPECT_EQ(pr->state, progress_state::replicate);
  EXPECT_LE(pr->inflight_appends, 3u);
  size_t to3 = 0;
  for (auto& msg : p.delivered)
    if (msg.type == message_type::append && msg.to == 3 && !msg.entries.empty()) ++to3;
  EXPECT_LE(to3, 4u);  // window of 3 (+1 from the probe that switched to replicate)
  EXPECT_EQ(applied_payloads(p, 1).size(), 20u);
  p.heal();
  p.tick_all(3);
  EXPECT_EQ(applied_payloads(p, 3).size(), 20u);
}

TEST(raft_replication, uncommitted_log_is_bounded_while_quorum_is_lost) {
  pump p;
  config c1 = make_config(1);
  c1.lim.max_uncommitted_bytes = 1000;
  membership m = voters({1, 2, 3});
  p.add(raft_node::bootstrap(c1, m));
  p.add(raft_node::bootstrap(make_config(2), m));
  p.add(raft_node::bootstrap(make_config(3), m));
  p.elect(1);
  p.isolate(1);
  int accepted = 0;
  propose_result last = proposal_info{};
  for (int i = 0; i < 100; ++i) {
    last = p[1].propose(std::string(100, 'y'));
    if (!last.has_value()) break;
    ++accepted;
  }
  ASSERT_FALSE(last.has_value());
  EXPECT_EQ(last.error().code, raft_error_code::uncommitted_limit);
  EXPECT_FALSE(last.error().message.empty());
  EXPECT_LE(accepted, 10);
  EXPECT_LE(p[1].uncommitted_bytes(), 1000u);
}

TEST(raft_forwarding, follower_forwards_proposal_to_leader) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  auto r = p[3].propose("from-follower");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->forwarded);
  p.stabilize();
  for (node_id id : {1, 2, 3})
    EXPECT_EQ(applied_payloads(p, id), std::vector<std::string>{"from-follower"});
  // Without a leader the follower says so.
  pump q;
  q.bootstrap({1, 2, 3});
  auto e = q[2].propose("x");
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, raft_error_code::no_leader);
}

// ---------------------------------------------------------------------------------------------
// Commit rules (Figure 8)

TEST(raft_commit, previous_term_entry_is_not_committed_by_counting_replicas) {
  // Nodes 1 and 2 hold (term 2, index 2); node 1 becomes leader of term 3. While its noop does
  // not reach anybody, index 2 sits on a majority but must stay uncommitted.
  pump p;
  const membership m = voters({1, 2, 3});
  const entry cfg{1, 1, entry_type::config_change, encode_membership(m)};
  const entry old{2, 2, entry_type::normal, "old"};
  p.add(raft_node::restart(make_config(1), {2, 1, 1}, std::nullopt, {cfg, old}));
  p.add(raft_node::restart(make_config(2), {2, 1, 1}, std::nullopt, {cfg, old}));
  p.add(raft_node::restart(make_config(3), {2, 1, 1}, std::nullopt, {cfg}));
  p.filter = [&](message& msg) {
    if (msg.type != message_type::append) return true;
    std::erase_if(msg.entries, [&](const entry& e) { return e.term >= 3; });  // strip the noop
    return true;
  };
  p.elect(1);
  p.stabilize();
  auto pr2 = p[1].progress_of(2);
  ASSERT_TRUE(pr2.has_value());
  EXPECT_GE(pr2->match, 2u);             // a majority (1, 2) holds index 2 ...
  EXPECT_EQ(p[1].commit_index(), 1u);    // ... yet it is not committed
  p.filter = nullptr;
  p.tick_all(2);
  EXPECT_EQ(p[1].commit_index(), 3u);    // the noop of term 3 commits it indirectly
  EXPECT_EQ(applied_payloads(p, 3), std::vector<std::string>{"old"});
}

TEST(raft_commit, figure_8_scenario_keeps_state_machines_consistent) {
  // Figure 8 (c)->(d): S1 (term 4) re-replicates (t2, i2) to a majority; S5 holds (t3, i2).
  // If S1 committed i2 by counting, S5 could later be elected and overwrite it.
  pump p;
  const membership m = voters({1, 2, 3, 4, 5});
  const entry cfg{1, 1, entry_type::config_change, encode_membership(m)};
  const entry t2{2, 2, entry_type::normal, "t2"};
  const entry t3{3, 2, entry_type::normal, "t3"};
  for (node_id id = 1; id <= 5; ++id) {
    config c = make_config(id);
    c.check_quorum = false;  // no leases: S5 may be elected as soon as S1 disappears
    std::vector<entry> log{cfg};
    if (id <= 2) log.push_back(t2);
    if (id == 5) log.push_back(t3);
    p.add(raft_node::restart(c, {3, 0, 1}, std::nullopt, log));
  }
  p.isolate(5);
  p.filter = [&](message& msg) {
    if (msg.type == message_type::append)
      std::erase_if(msg.entries, [&](const entry& e) { return e.term >= 4; });
    return true;
  };
  p.elect(1);  // term 4
  p.stabilize();
  for (node_id id = 1; id <= 4; ++id) EXPECT_EQ(p[id].commit_index(), 1u) << id;
  // S1 crashes; S5 is elected and its term-3 entry wins index 2.
  p.filter = nullptr;
  p.heal();
  p.isolate(1);
  p[5].campaign();  // the first pre-vote round only teaches S5 the current term (4)
  p.stabilize();
  if (p[5].role() != role::leader) {
    p[5].campaign();
    p.stabilize();
  }
  ASSERT_EQ(p[5].role(), role::leader);
  p.tick_all(2);
  for (node_id id = 2; id <= 5; ++id) {
    EXPECT_EQ(p[id].term_at(2), 3u) << id;
    EXPECT_GE(p[id].commit_index(), 2u) << id;
  }
  p.heal();
  p.tick_all(3);
  EXPECT_EQ(p[1].term_at(2), 3u);  // the old leader's uncommitted t2 was overwritten
  // pump's destructor checks that no node applied a different entry at index 2.
}

// ---------------------------------------------------------------------------------------------
// Membership (single-server changes)

TEST(raft_membership, learner_does_not_campaign_and_is_not_counted) {
  pump p;
  membership m = voters({1, 2});
  m.learners = {3};
  p.bootstrap({1, 2, 3}, m);
  p.elect(1);
  must_propose(p, 1, "a");
  p.stabilize();
  EXPECT_EQ(applied_payloads(p, 3), std::vector<std::string>{"a"});  // learners replicate
  // Node 2 gone: the learner does not make a quorum with the leader.
  p.isolate(2);
  const index_t commit = p[1].commit_index();
  must_propose(p, 1, "b");
  p.stabilize();
  EXPECT_EQ(p[1].commit_index(), commit);
  EXPECT_GE(p[3].last_index(), commit + 1);  // it has the entry, it just does not count
  // A learner never starts an election.
  p.heal();
  p.isolate(3);
  const term_t t = p[3].term();
  p.tick(3, 100);
  EXPECT_EQ(p[3].term(), t);
  EXPECT_EQ(p[3].role(), role::follower);
  p.heal();
  p.tick_all(2);  // the pump's destructor checks consistency
}

TEST(raft_membership, add_learner_then_promote_then_it_counts) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.add_fresh(4);
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::add_learner, 4}).has_value());
  p.stabilize();
  p.tick_all(2);
  EXPECT_TRUE(p[4].is_learner());
  EXPECT_EQ(p[4].last_index(), p[1].last_index());
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::promote_learner, 4}).has_value());
  p.stabilize();
  EXPECT_TRUE(p[1].membership().is_voter(4));
  EXPECT_TRUE(p[4].membership().is_voter(4));
  // With 4 voters, quorum is 3: 1, 2 and the promoted 4 commit without 3.
  p.isolate(3);
  const index_t idx = must_propose(p, 1, "after-promotion");
  p.stabilize();
  EXPECT_GE(p[1].commit_index(), idx);
  // ... and without 4 (and 3) nothing commits.
  p.isolate(4);
  const index_t idx2 = must_propose(p, 1, "stuck");
  p.stabilize();
  EXPECT_LT(p[1].commit_index(), idx2);
}

TEST(raft_membership, one_change_at_a_time_and_only_after_commit_in_term) {
  pump p;
  p.bootstrap({1, 2, 3});
  p[1].campaign();
  // Deliver until 1 is leader but before its noop commits: stop responses to appends.
  p.filter = [](message& m) { return m.type != message_type::append_response; };
  p.stabilize();
  ASSERT_EQ(p[1].role(), role::leader);
  auto early = p[1].propose_config_change({config_change_type::add_learner, 9});
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code, raft_error_code::leader_not_ready);
  p.filter = nullptr;
  p.tick_all(2);
  p.add_fresh(4);
  p.add_fresh(5);
  p.isolate(2);
  p.isolate(3);  // the first change cannot commit
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::add_learner, 4}).has_value());
  auto second = p[1].propose_config_change({config_change_type::add_learner, 5});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, raft_error_code::config_change_pending);
  p.heal();
  p.tick_all(2);
  EXPECT_TRUE(p[1].propose_config_change({config_change_type::add_learner, 5}).has_value());
  // Invalid changes are refused with a reason.
  p.stabilize();
  auto bad = p[1].propose_config_change({config_change_type::promote_learner, 2});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, raft_error_code::config_change_invalid);
}

TEST(raft_membership, config_takes_effect_when_appended_not_when_committed) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.tick_all(1);
  // Only node 2 receives the change; it is not committed.
  p.cut.insert({1, 3});
  p.filter = [](message& m) { return m.type != message_type::append_response; };
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::add_learner, 4}).has_value());
  p.stabilize();
  EXPECT_TRUE(p[1].membership().is_learner(4));  // appended = in effect, on the leader ...
  EXPECT_TRUE(p[2].membership().is_learner(4));  // ... and on the follower
  EXPECT_FALSE(p[3].membership().is_learner(4));
  EXPECT_LT(p[2].commit_index(), p[2].config_index());
  p.filter = nullptr;
  p.heal();
  p.tick_all(2);
  EXPECT_TRUE(p[3].membership().is_learner(4));
  EXPECT_GE(p[1].commit_index(), p[1].config_index());
}

TEST(raft_membership, uncommitted_config_entry_is_reverted_when_truncated) {
  // Node 1 (old leader, term 2) appended a config change nobody else has. Node 2 wins term 3
  // with a newer entry; node 1's change is truncated and its membership reverts.
  pump p;
  const membership m = voters({1, 2, 3});
  membership with4 = m;
  with4.learners = {4};
  const entry cfg{1, 1, entry_type::config_change, encode_membership(m)};
  const entry change{2, 2, entry_type::config_change, encode_membership(with4)};
  const entry newer{3, 2, entry_type::noop, ""};
  p.add(raft_node::restart(make_config(1), {2, 1, 1}, std::nullopt, {cfg, change}));
  p.add(raft_node::restart(make_config(2), {3, 2, 1}, std::nullopt, {cfg, newer}));
  p.add(raft_node::restart(make_config(3), {3, 2, 1}, std::nullopt, {cfg, newer}));
  EXPECT_TRUE(p[1].membership().is_learner(4));  // restored from the log: in effect
  EXPECT_EQ(p[1].config_index(), 2u);
  p.elect(2);
  p.stabilize();
  EXPECT_FALSE(p[1].membership().is_learner(4));
  EXPECT_EQ(p[1].membership(), m);
  EXPECT_EQ(p[1].config_index(), 1u);
}

TEST(raft_membership, removing_the_leader_steps_it_down_after_commit) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.tick_all(1);
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::remove_node, 1}).has_value());
  EXPECT_EQ(p[1].role(), role::leader);  // still leads while the removal is uncommitted
  p.stabilize();
  EXPECT_NE(p[1].role(), role::leader);
  p.tick_all(30);
  const node_id l = p.leader();
  ASSERT_TRUE(l == 2 || l == 3) << l;
  EXPECT_FALSE(p[l].membership().contains(1));
  const index_t idx = must_propose(p, l, "after-removal");
  p.stabilize();
  EXPECT_GE(p[l].commit_index(), idx);
  // The removed node never becomes leader again.
  p.tick_all(50);
  EXPECT_NE(p[1].role(), role::leader);
}

TEST(raft_membership, removed_node_that_missed_its_removal_does_not_disrupt) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.tick_all(1);
  p.isolate(3);  // node 3 never learns it was removed
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::remove_node, 3}).has_value());
  p.stabilize();
  p.tick_all(2);
  ASSERT_FALSE(p[1].membership().contains(3));
  const term_t t = p[1].term();
  p.heal();
  // Node 3 times out again and again and campaigns (pre-vote); 1 and 2 hold leases.
  p.tick_all(100);
  EXPECT_EQ(p.leader(), 1u);
  EXPECT_EQ(p[1].term(), t);
  EXPECT_EQ(p[2].term(), t);
}

// ---------------------------------------------------------------------------------------------
// Leadership transfer

TEST(raft_transfer, to_up_to_date_follower) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  const term_t t = p[1].term();
  ASSERT_TRUE(p[1].transfer_leadership(2).has_value());
  p.stabilize();
  EXPECT_EQ(p[2].role(), role::leader);
  EXPECT_EQ(p[1].role(), role::follower);
  EXPECT_EQ(p[2].term(), t + 1);
}

TEST(raft_transfer, slow_target_is_caught_up_first) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.isolate(3);
  for (int i = 0; i < 5; ++i) must_propose(p, 1, "w" + std::to_string(i));
  p.stabilize();
  p.heal();
  ASSERT_LT(p[3].last_index(), p[1].last_index());
  ASSERT_TRUE(p[1].transfer_leadership(3).has_value());
  // Proposals are refused while the transfer runs.
  auto r = p[1].propose("during-transfer");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, raft_error_code::transfer_in_progress);
  p.stabilize();
  EXPECT_EQ(p[3].role(), role::leader);
  EXPECT_EQ(applied_payloads(p, 3).size(), 5u);
}

TEST(raft_transfer, refused_for_unknown_learner_removed_or_self) {
  pump p;
  membership m = voters({1, 2, 3});
  m.learners = {4};
  p.bootstrap({1, 2, 3, 4}, m);
  p.elect(1);
  p.tick_all(1);
  for (node_id target : {node_id{1}, node_id{4}, node_id{99}}) {
    auto r = p[1].transfer_leadership(target);
    ASSERT_FALSE(r.has_value()) << target;
    EXPECT_EQ(r.error().code, raft_error_code::transfer_target_invalid);
  }
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::remove_node, 3}).has_value());
  p.stabilize();
  auto removed = p[1].transfer_leadership(3);
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, raft_error_code::transfer_target_invalid);
  auto follower = p[2].transfer_leadership(3);
  ASSERT_FALSE(follower.has_value());
  EXPECT_EQ(follower.error().code, raft_error_code::not_leader);
  EXPECT_EQ(follower.error().leader_hint, 1u);
}

TEST(raft_transfer, aborts_after_an_election_timeout) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.isolate(3);
  must_propose(p, 1, "x");
  p.stabilize();
  ASSERT_TRUE(p[1].transfer_leadership(3).has_value());
  EXPECT_EQ(p[1].transfer_target(), 3u);
  p.tick(1, 9);
  EXPECT_EQ(p[1].transfer_target(), 3u);
  p.tick(1, 1);
  EXPECT_EQ(p[1].transfer_target(), no_node);
  EXPECT_TRUE(p[1].propose("after-abort").has_value());
  EXPECT_EQ(p[1].role(), role::leader);
}

// ---------------------------------------------------------------------------------------------
// Read index

TEST(raft_read_index, leader_confirms_with_a_heartbeat_round) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  must_propose(p, 1, "v");
  p.stabilize();
  ASSERT_TRUE(p[1].read_index(42).has_value());
  p.flush(1);
  EXPECT_TRUE(p.reads[1].empty()) << "answered before any follower confirmed";
  p.stabilize();
  ASSERT_EQ(p.reads[1].size(), 1u);
  EXPECT_EQ(p.reads[1][0].request_ctx, 42u);
  EXPECT_EQ(p.reads[1][0].index, p[1].commit_index());
}

TEST(raft_read_index, waits_for_a_commit_in_the_current_term) {
  pump p;
  p.bootstrap({1, 2, 3});
  p[1].campaign();
  p.filter = [](message& m) { return m.type != message_type::append_response; };
  p.stabilize();
  ASSERT_EQ(p[1].role(), role::leader);
  ASSERT_TRUE(p[1].read_index(7).has_value());
  p.tick_all(2);
  EXPECT_TRUE(p.reads[1].empty());
  EXPECT_EQ(p[1].pending_read_count(), 1u);
  p.filter = nullptr;
  p.tick_all(2);
  ASSERT_EQ(p.reads[1].size(), 1u);
  EXPECT_EQ(p[1].term_at(p.reads[1][0].index), p[1].term());  // index covers the noop
}

TEST(raft_read_index, follower_forwards_to_the_leader) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  must_propose(p, 1, "v");
  p.stabilize();
  ASSERT_TRUE(p[3].read_index(5).has_value());
  p.stabilize();
  ASSERT_EQ(p.reads[3].size(), 1u);
  EXPECT_EQ(p.reads[3][0].request_ctx, 5u);
  EXPECT_EQ(p.reads[3][0].index, p[1].commit_index());
}

TEST(raft_read_index, deposed_leader_cannot_serve_a_stale_read) {
  pump p;
  membership m = voters({1, 2, 3});
  config c1 = make_config(1);
  c1.check_quorum = false;  // node 1 keeps believing it leads while partitioned
  p.add(raft_node::bootstrap(c1, m));
  p.add(raft_node::bootstrap(make_config(2), m));
  p.add(raft_node::bootstrap(make_config(3), m));
  p.elect(1);
  p.tick_all(1);
  p.isolate(1);
  p.tick(2, 25);
  p.tick(3, 25);
  const node_id l = p.leader();
  ASSERT_TRUE(l == 2 || l == 3);
  const index_t newer = must_propose(p, l, "written-by-new-leader");
  p.stabilize();
  ASSERT_GE(p[l].commit_index(), newer);
  ASSERT_EQ(p[1].role(), role::leader);  // deposed but unaware
  ASSERT_TRUE(p[1].read_index(99).has_value());
  p.tick(1, 3);
  EXPECT_TRUE(p.reads[1].empty()) << "a partitioned leader answered a read";
  p.heal();
  p.tick_all(5);
  EXPECT_NE(p[1].role(), role::leader);
  for (auto& rs : p.reads[1]) {
    EXPECT_NE(rs.request_ctx, 99u) << "stale read served at index " << rs.index;
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

// Three voters with snapshot chunks of `chunk_bytes`; node 1 leads and has committed `entries`
// entries while node 3 was cut off (still isolated: the caller compacts, then heals).
void lagging_third_voter(pump& p, uint64_t chunk_bytes, int entries) {
  const membership m = voters({1, 2, 3});
  for (node_id id = 1; id <= 3; ++id) {
    config c = make_config(id);
    c.lim.snapshot_chunk_bytes_max = chunk_bytes;
    p.add(raft_node::bootstrap(c, m));
  }
  p.elect(1);
  p.isolate(3);
  for (int i = 0; i < entries; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
}

TEST(raft_snapshot, lagging_follower_gets_chunks_then_entries) {
  pump p;
  const membership m = voters({1, 2, 3});
  lagging_third_voter(p, 64, 20);
  const index_t upto = p[1].applied_index();
  const std::string image(300, 's');
  ASSERT_TRUE(p[1].compact(upto, image).has_value());
  EXPECT_EQ(p[1].first_index(), upto + 1);
  must_propose(p, 1, "after-snapshot");
  p.stabilize();
  p.heal();
  p.delivered.clear();
  p.tick_all(5);
  size_t chunks = 0;
  for (auto& msg : p.delivered)
    if (msg.type == message_type::snapshot_chunk && msg.to == 3) {
      ++chunks;
      EXPECT_LE(msg.chunk_data.size(), 64u);
    }
  EXPECT_GE(chunks, 5u);  // 300 bytes / 64
  EXPECT_EQ(p.installed[3], image);
  EXPECT_EQ(p[3].snapshot_metadata().index, upto);
  EXPECT_EQ(p[3].membership(), m);
  EXPECT_EQ(applied_payloads(p, 3), std::vector<std::string>{"after-snapshot"});
  EXPECT_EQ(p[3].last_index(), p[1].last_index());
  EXPECT_EQ(p.disks[3].snap->meta.index, upto);
}

TEST(raft_snapshot, new_node_catches_up_from_snapshot) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  for (int i = 0; i < 10; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  for (node_id id : {1, 2, 3}) ASSERT_TRUE(p[id].compact(p[id].applied_index(), "img").has_value());
  p.add_fresh(4);
  ASSERT_TRUE(p[1].propose_config_change({config_change_type::add_learner, 4}).has_value());
  p.stabilize();
  p.tick_all(3);
  EXPECT_EQ(p.installed[4], "img");
  EXPECT_EQ(p[4].last_index(), p[1].last_index());
  EXPECT_TRUE(p[4].is_learner());
}

TEST(raft_snapshot, snapshot_older_than_commit_is_ignored) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  for (int i = 0; i < 5; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  const index_t commit = p[2].commit_index();
  message m;
  m.group = test_group;
  m.type = message_type::snapshot_chunk;
  m.from = 1;
  m.to = 2;
  m.term = p[1].term();
  m.snap.index = commit - 1;
  m.snap.term = *p[2].term_at(commit - 1);
  m.snap.config = voters({1, 2, 3});
  m.snapshot_bytes = 3;
  m.chunk_data = "old";
  m.chunk_done = true;
  const auto before = p[2].entries(1, 100);
  p[2].step(m);
  ready r = p[2].get_ready();
  EXPECT_FALSE(r.snapshot_to_install.has_value());
  bool answered = false;
  for (auto& msg : r.messages)
    if (msg.type == message_type::snapshot_response) answered = !msg.reject && msg.chunk_done;
  EXPECT_TRUE(answered);
  p[2].advance(r);
  EXPECT_EQ(p[2].entries(1, 100), before);
  EXPECT_EQ(p[2].commit_index(), commit);
}

TEST(raft_snapshot, oversized_snapshot_is_refused_and_reported) {
  pump p;
  membership m = voters({1, 2, 3});
  config c1 = make_config(1);
  c1.lim.snapshot_chunk_bytes_max = 16;
  config c3 = make_config(3);
  c3.lim.snapshot_bytes_max = 10;
  p.add(raft_node::bootstrap(c1, m));
  p.add(raft_node::bootstrap(make_config(2), m));
  p.add(raft_node::bootstrap(c3, m));
  p.elect(1);
  p.isolate(3);
  for (int i = 0; i < 3; ++i) must_propose(p, 1, "e");
  p.stabilize();
  ASSERT_TRUE(p[1].compact(p[1].applied_index(), std::string(40, 'z')).has_value());
  p.heal();
  p.delivered.clear();
  p.tick_all(3);
  bool refused = false;
  for (auto& msg : p.delivered)
    if (msg.type == message_type::snapshot_response && msg.from == 3 && msg.reject) refused = true;
  EXPECT_TRUE(refused);
  EXPECT_TRUE(p.installed[3].empty());
  auto pr = p[1].progress_of(3);
  ASSERT_TRUE(pr.has_value());
  EXPECT_LT(pr->match, p[1].first_index());  // still behind: it cannot take the snapshot
}

// A snapshot chunk that completes `index` on follower `to`, as the leader would send it.
message full_snapshot_chunk(pump& p, node_id from, node_id to, index_t index, std::string data) {
  message m;
  m.group = test_group;
  m.type = message_type::snapshot_chunk;
  m.from = from;
  m.to = to;
  m.term = p[from].term();
  m.snap.index = index;
  m.snap.term = p[from].term();
  m.snap.config = p[from].membership();
  m.snapshot_bytes = data.size();
  m.chunk_data = std::move(data);
  m.chunk_done = true;
  return m;
}

// etcd semantics: applied_index() counts only what a ready handed to the application and
// advance() acknowledged. A snapshot received while a ready is outstanding is not applied until
// the ready that carries it is advanced, so compact(applied_index(), state) never labels the
// application's older state with the snapshot's index (raft_bugs.md #1).
TEST(raft_snapshot, received_snapshot_counts_as_applied_only_after_its_ready_is_advanced) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  for (int i = 0; i < 3; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  raft_node& f = p[2];
  const index_t before = f.applied_index();
  ASSERT_EQ(before, f.commit_index());
  // Hold a ready outstanding (the application is busy persisting it) ...
  message hb;
  hb.group = test_group;
  hb.type = message_type::heartbeat;
  hb.from = 1;
  hb.to = 2;
  hb.term = p[1].term();
  hb.commit = f.commit_index();
  f.step(hb);
  ASSERT_TRUE(f.has_ready());
  ready outstanding = f.get_ready();
  EXPECT_FALSE(outstanding.snapshot_to_install.has_value());
  // ... when a snapshot beyond its log arrives.
  const index_t snap_index = f.last_index() + 5;
  f.step(full_snapshot_chunk(p, 1, 2, snap_index, "image"));
  EXPECT_EQ(f.commit_index(), snap_index);
  EXPECT_EQ(f.applied_index(), before) << "the application has not installed the snapshot yet";
  EXPECT_FALSE(f.compact(snap_index, "older state").has_value());
  f.advance(outstanding);
  EXPECT_EQ(f.applied_index(), before) << "the advanced ready did not carry the snapshot";
  ASSERT_TRUE(f.has_ready());
  ready install = f.get_ready();
  ASSERT_TRUE(install.snapshot_to_install.has_value());
  EXPECT_EQ(install.snapshot_to_install->meta.index, snap_index);
  EXPECT_EQ(f.applied_index(), before);
  f.advance(install);
  EXPECT_EQ(f.applied_index(), snap_index);
  EXPECT_TRUE(f.compact(snap_index, "image").has_value());
}

// Both voters that may lead compact, then crash; the third (isolated) is behind their first index.
// Returns the snapshot image.
std::string compact_and_restart_1_and_2(pump& p, pump::restart_snapshot mode) {
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.isolate(3);
  for (int i = 0; i < 10; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  const index_t upto = p[1].applied_index();
  EXPECT_EQ(p[2].applied_index(), upto);
  const std::string image = "state@" + std::to_string(upto);
  for (node_id id : {1, 2}) {
    p.compact(id, upto, image);
    p.restart(id, make_config(id), mode);
    p.applied[id].clear();
  }
  p.tick_all(40);  // 1 and 2 elect a leader among themselves; 3 stays cut off
  EXPECT_TRUE(p.leader() == 1 || p.leader() == 2) << p.leader();
  return image;
}

// raft_bugs.md #2: a leader restarted from its snapshot's meta has no data to send. It asks the
// application (ready::snapshot_data_wanted), which answers with compact(); the lagging follower
// then gets the snapshot without waiting for a new compaction.
TEST(raft_snapshot, leader_restarted_from_snapshot_meta_asks_for_the_data) {
  pump p;
  const std::string image = compact_and_restart_1_and_2(p, pump::restart_snapshot::meta_only);
  const node_id l = p.leader();
  p.heal();
  p.tick_all(5);
  EXPECT_GE(p.snapshot_data_requests[l], 1u);
  EXPECT_EQ(p.installed[3], image);
  EXPECT_EQ(p[3].last_index(), p[l].last_index());
  EXPECT_EQ(p[3].commit_index(), p[l].commit_index());
}

// Until the application answers, the request is repeated and the follower is not given up on.
TEST(raft_snapshot, unanswered_snapshot_data_request_is_repeated) {
  pump p;
  p.answer_snapshot_data_requests = false;
  compact_and_restart_1_and_2(p, pump::restart_snapshot::meta_only);
  const node_id l = p.leader();
  p.heal();
  p.tick_all(5);
  const uint64_t asked = p.snapshot_data_requests[l];
  EXPECT_GE(asked, 1u);
  EXPECT_TRUE(p.installed[3].empty());
  p.tick_all(5);
  EXPECT_GT(p.snapshot_data_requests[l], asked);
  // The application answers late: the follower catches up.
  p.answer_snapshot_data_requests = true;
  p.tick_all(5);
  EXPECT_FALSE(p.installed[3].empty());
  EXPECT_EQ(p[3].last_index(), p[l].last_index());
}

// compact_without_data (the node's apply actor made its state durable itself): no image is held;
// a follower behind the new first index makes the leader ask for the data, then gets it.
TEST(raft_snapshot, compaction_without_data_asks_for_it_when_a_follower_needs_it) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  p.isolate(3);
  for (int i = 0; i < 10; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  const index_t upto = p[1].applied_index();
  const std::string image = "state@" + std::to_string(upto);
  p.compact_without_data(1, upto, image);
  EXPECT_EQ(p[1].snapshot_metadata().index, upto);
  p.tick_all(2);
  EXPECT_EQ(p.snapshot_data_requests[1], 0u) << "asked for data nobody needs";
  p.heal();
  p.tick_all(5);
  EXPECT_GE(p.snapshot_data_requests[1], 1u);
  EXPECT_EQ(p.installed[3], image);
  EXPECT_EQ(p[3].last_index(), p[1].last_index());
  const index_t at = p[1].snapshot_metadata().index;
  EXPECT_FALSE(p[1].compact_without_data(at - 1).has_value()) << "below the current snapshot";
  EXPECT_FALSE(p[1].compact_without_data(p[1].applied_index() + 1).has_value()) << "beyond applied";
}

// restart() with the snapshot's data: the core can send it at once, no request.
TEST(raft_snapshot, leader_restarted_with_snapshot_data_sends_it_without_asking) {
  pump p;
  const std::string image = compact_and_restart_1_and_2(p, pump::restart_snapshot::with_data);
  const node_id l = p.leader();
  p.heal();
  p.tick_all(5);
  EXPECT_EQ(p.snapshot_data_requests[l], 0u);
  EXPECT_EQ(p.installed[3], image);
  EXPECT_EQ(p[3].last_index(), p[l].last_index());
}

TEST(raft_restart, node_recovers_from_its_disk) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  for (int i = 0; i < 5; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  const term_t t = p[2].term();
  const index_t last = p[2].last_index();
  p.restart(2, make_config(2));
  EXPECT_EQ(p[2].term(), t);
  EXPECT_EQ(p[2].last_index(), last);
  EXPECT_EQ(p[2].membership(), voters({1, 2, 3}));
  p.applied[2].clear();
  must_propose(p, 1, "after-restart");
  p.stabilize();
  EXPECT_EQ(applied_payloads(p, 2).back(), "after-restart");
}


// --- durable bootstrap and restart at the application's applied index (issue 8 §6) -------------

// A founder persists bootstrap_state() and starts with restart(): nothing lives only in memory,
// so a "crash" before the first ready leaves a complete member that elects itself (one voter).
TEST(raft_bootstrap, durable_bootstrap_state_survives_a_crash_before_the_first_ready) {
  const initial_state boot = raft_node::bootstrap_state(voters({1}));
  ASSERT_EQ(boot.entries.size(), 1u);
  EXPECT_EQ(boot.hard_state, (hard_state{1, no_node, 1}));
  EXPECT_EQ(boot.entries[0].type, entry_type::config_change);
  raft_node first = raft_node::restart(make_config(1), boot.hard_state, std::nullopt, boot.entries);
  ASSERT_TRUE(first.has_ready());
  EXPECT_TRUE(first.get_ready().entries_to_persist.empty()) << "already durable: nothing to write again";
  // Crash now (the ready is never persisted) and restart from the durable state only.
  raft_node n = raft_node::restart(make_config(1), boot.hard_state, std::nullopt, boot.entries);
  EXPECT_TRUE(n.membership().is_voter(1));
  for (int i = 0; i < 40 && n.role() != role::leader; ++i) {
    n.tick();
    if (n.has_ready()) n.advance(n.get_ready());
  }
  EXPECT_EQ(n.role(), role::leader) << "a one-voter group must elect its founder after a crash";
  EXPECT_TRUE(n.invariant_violations().empty());
}

// The in-memory shortcut hands the same state out in its first ready; losing that ready loses the
// group (why a process must use bootstrap_state()).
TEST(raft_bootstrap, in_memory_bootstrap_is_only_in_the_first_ready) {
  raft_node n = raft_node::bootstrap(make_config(1), voters({1}));
  ready r = n.get_ready();
  ASSERT_EQ(r.entries_to_persist.size(), 1u);
  EXPECT_EQ(r.entries_to_persist[0], raft_node::bootstrap_state(voters({1})).entries[0]);
  ASSERT_TRUE(r.hard_state.has_value());
  EXPECT_EQ(*r.hard_state, raft_node::bootstrap_state(voters({1})).hard_state);
  raft_node lost = raft_node::restart(make_config(1), {}, std::nullopt, {});
  EXPECT_TRUE(lost.membership().voters.empty()) << "restarted from an empty disk: not a member";
}

// etcd's Config.Applied: entries at or below the application's durable applied index are never
// handed out again after a restart; entries after it are.
TEST(raft_restart, applied_index_from_the_application_is_not_delivered_again) {
  std::vector<entry> log;
  log.push_back(raft_node::bootstrap_state(voters({1})).entries[0]);
  for (index_t i = 2; i <= 6; ++i) log.push_back(entry{1, i, entry_type::normal, "e" + std::to_string(i)});
  config c = make_config(1);
  c.applied = 4;
  raft_node n = raft_node::restart(c, {1, 1, 6}, std::nullopt, log);
  EXPECT_EQ(n.applied_index(), 4u);
  ready r = n.get_ready();
  ASSERT_EQ(r.committed_entries.size(), 2u);
  EXPECT_EQ(r.committed_entries.front().index, 5u);
  EXPECT_EQ(r.committed_entries.back().index, 6u);
  n.advance(r);
  EXPECT_EQ(n.applied_index(), 6u);
  // Without it (applied 0) everything after the snapshot comes again: the old behaviour.
  raft_node again = raft_node::restart(make_config(1), {1, 1, 6}, std::nullopt, log);
  EXPECT_EQ(again.get_ready().committed_entries.front().index, 1u);
  // Compaction may use it at once (the application's state covers it).
  c.applied = 5;
  raft_node m = raft_node::restart(c, {1, 1, 6}, std::nullopt, log);
  EXPECT_TRUE(m.compact(5, "state@5").has_value());
  EXPECT_TRUE(n.invariant_violations().empty());
  EXPECT_TRUE(m.invariant_violations().empty());
}

// An applied index below the snapshot means the snapshot's (the state was restored from it).
TEST(raft_restart, applied_index_below_the_snapshot_means_the_snapshot) {
  snapshot_meta meta{10, 2, voters({1})};
  config c = make_config(1);
  c.applied = 3;
  raft_node n = raft_node::restart(c, {2, 1, 12}, meta,
                                   {entry{2, 11, entry_type::normal, "a"}, entry{2, 12, entry_type::normal, "b"}});
  EXPECT_EQ(n.applied_index(), 10u);
  EXPECT_EQ(n.get_ready().committed_entries.front().index, 11u);
}

// A crash between saving a snapshot and compacting the log (storage/README.md "Restart recipe")
// leaves entries the snapshot covers in the store; the node must start from them (found by
// tests/cluster_faults: a leader killed at that moment asserted at every restart, for good).
TEST(raft_restart, entries_the_snapshot_covers_are_skipped) {
  snapshot_meta meta{10, 2, voters({1})};
  std::vector<entry> log;
  for (index_t i = 7; i <= 12; ++i) log.push_back(entry{2, i, entry_type::normal, "e" + std::to_string(i)});
  config c = make_config(1);
  c.applied = 10;
  raft_node n = raft_node::restart(c, {2, 1, 12}, meta, log);
  EXPECT_EQ(n.snapshot_metadata().index, 10u);
  EXPECT_EQ(n.last_index(), 12u);
  EXPECT_EQ(n.term_at(11), std::optional<term_t>{2});
  ready r = n.get_ready();
  ASSERT_EQ(r.committed_entries.size(), 2u);
  EXPECT_EQ(r.committed_entries.front().data, "e11");
  n.advance(r);
  EXPECT_TRUE(n.invariant_violations().empty());
}


// --- snapshot transfer: idempotent chunks and a window in flight (issue 8 §6) -------------------

enum class chunk_fault { none, stale_duplicate_of_first, reorder_pairs, lose_one, duplicate_all, late_ack_beyond_follower };

struct transfer_outcome {
  uint64_t chunk_messages = 0;  // snapshot_chunk messages the leader sent to the follower
  uint64_t max_chunks_in_one_round = 0;
  bool installed = false;
};

// Leader 1 compacts to a `chunks`-chunk image while follower 3 is cut off, then brings it back
// with `fault` applied to the chunks on the wire. The oracle is the image itself: the follower
// must install exactly those bytes.
transfer_outcome run_snapshot_transfer(chunk_fault fault, uint64_t chunks = 50, uint64_t chunk_bytes = 64) {
  pump p;
  lagging_third_voter(p, chunk_bytes, 5);
  std::string image;
  for (uint64_t i = 0; i < chunks * chunk_bytes; ++i) image.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
  EXPECT_TRUE(p[1].compact(p[1].applied_index(), image).has_value());
  transfer_outcome out;
  std::optional<message> first_chunk;
  uint64_t seen = 0, lost = 0;
  // Copies the filter puts back on the wire carry this mark (snapshot chunks do not use
  // `context`) so that they are delivered but neither counted nor faulted again.
  constexpr uint64_t injected = 0xC0FFEE;
  auto inject = [&](message copy) {
    copy.context = injected;
    p.in_flight.push_back(std::move(copy));
  };
  p.filter = [&](message& msg) {
    if (msg.type != message_type::snapshot_chunk || msg.to != 3 || msg.context == injected) return true;
    ++out.chunk_messages;
    ++seen;
    if (out.chunk_messages > 20 * chunks) return false;  // a resend storm: stop it, the count tells
    switch (fault) {
      case chunk_fault::none: break;
      case chunk_fault::stale_duplicate_of_first:
        if (msg.chunk_offset == 0 && !first_chunk) first_chunk = msg;
        if (seen == chunks / 2 && first_chunk) inject(*first_chunk);  // arrives late
        break;
      case chunk_fault::reorder_pairs:
        if (seen % 2 == 1) {
          inject(msg);  // one delivery round late: the chunks behind it in this round overtake it
          return false;
        }
        break;
      case chunk_fault::lose_one:
        if (msg.chunk_offset == 10 * chunk_bytes && lost++ == 0) return false;
        break;
      case chunk_fault::duplicate_all: inject(msg); break;
      case chunk_fault::late_ack_beyond_follower:
        if (seen == 8) {
          // A late ack of a stream the follower has since dropped (ledger sim seed 50000152):
          // it names this snapshot and a prefix the follower does not hold.
          message ack = msg;
          ack.type = message_type::snapshot_response;
          ack.from = 3;
          ack.to = 1;
          ack.chunk_offset = 30 * chunk_bytes;
          ack.chunk_data.clear();
          ack.chunk_done = false;
          inject(std::move(ack));
        }
        break;
    }
    return true;
  };
  p.heal();
  for (int t = 0; t < 60 && p.installed[3].empty(); ++t) {
    p.tick_all(1);
  }
  out.installed = p.installed[3] == image;
  p.filter = nullptr;
  return out;
}

// A follower whose answers do not come back (overloaded: under ASan with busy cores its acks took
// seconds) must not be flooded: the leader resent chunk 0 at every heartbeat, 1 MiB per 50 ms, and
// the duplicates queued ahead of the data and the acks until the stream never got past chunk 0.
// The resend backs off (1, 2, 4, ... heartbeats, at most 16), and the transfer completes once
// the answers flow again.
TEST(raft_snapshot_transfer, resends_back_off_while_the_follower_does_not_answer) {
  pump p;
  lagging_third_voter(p, 64, 5);
  const std::string image(20 * 64, 'x');
  ASSERT_TRUE(p[1].compact(p[1].applied_index(), image).has_value());
  uint64_t chunks_sent = 0;
  bool answers_lost = true;
  p.filter = [&](message& msg) {
    if (msg.type == message_type::snapshot_chunk && msg.to == 3) ++chunks_sent;
    return !(answers_lost && msg.type == message_type::snapshot_response && msg.from == 3);
  };
  p.heal();
  const int silent_heartbeats = 64;  // heartbeat_ticks = 1
  for (int t = 0; t < silent_heartbeats; ++t) p.tick_all(1);
  // The first window (limits::max_inflight_snapshot_chunks) plus one resend per backoff step:
  // heartbeats 1, 3, 7, 15, 31, 47, 63. Without the backoff: one per heartbeat (64).
  const uint64_t window = limits{}.max_inflight_snapshot_chunks;
  EXPECT_LE(chunks_sent, window + 8) << "chunks resent to a follower that does not answer";
  EXPECT_GE(chunks_sent, window + 4) << "the stream stopped resending altogether";
  EXPECT_TRUE(p.installed[3].empty());
  answers_lost = false;
  for (int t = 0; t < 40 && p.installed[3] != image; ++t) p.tick_all(1);
  EXPECT_EQ(p.installed[3], image) << "the transfer did not complete once the answers came back";
  p.filter = nullptr;
}

TEST(raft_snapshot_transfer, chunk_messages_with_and_without_faults) {
  const auto clean = run_snapshot_transfer(chunk_fault::none);
  const auto dup = run_snapshot_transfer(chunk_fault::stale_duplicate_of_first);
  const auto reorder = run_snapshot_transfer(chunk_fault::reorder_pairs);
  const auto lose = run_snapshot_transfer(chunk_fault::lose_one);
  const auto dup_all = run_snapshot_transfer(chunk_fault::duplicate_all);
  std::printf("snapshot of 50 chunks: chunk messages clean %llu, one stale duplicate of chunk 0 %llu, "
              "reordered pairs %llu, one lost %llu, every chunk duplicated %llu\n",
              static_cast<unsigned long long>(clean.chunk_messages), static_cast<unsigned long long>(dup.chunk_messages),
              static_cast<unsigned long long>(reorder.chunk_messages), static_cast<unsigned long long>(lose.chunk_messages),
              static_cast<unsigned long long>(dup_all.chunk_messages));
  for (const auto* o : {&clean, &dup, &reorder, &lose, &dup_all}) EXPECT_TRUE(o->installed);
  EXPECT_EQ(clean.chunk_messages, 50u);
  // Each count is what the leader sent (injected copies are not counted): a duplicate or a
  // reordering costs nothing, a loss one resend.
  EXPECT_LE(dup.chunk_messages, 51u);
  EXPECT_LE(reorder.chunk_messages, 52u);
  EXPECT_LE(lose.chunk_messages, 50u + 1u);
  EXPECT_LE(dup_all.chunk_messages, 51u);
}

// The leader's acknowledged point follows the follower's own report: acks above what the
// follower holds (late, of a stream it dropped) must not make the leader resend one chunk beyond
// the follower's gap forever (snapshot stream livelock, ledger sim seed 50000152).
TEST(raft_snapshot_transfer, late_ack_beyond_the_follower_prefix_does_not_stall_the_transfer) {
  const auto o = run_snapshot_transfer(chunk_fault::late_ack_beyond_follower);
  EXPECT_TRUE(o.installed);
  // The chunks beyond the forged point are resent at most once more, plus a few resends.
  EXPECT_LE(o.chunk_messages, 50u + 16u + 4u);
}

// A late duplicate chunk of a snapshot the follower already holds (index <= its commit) is
// stale: it must not drop the stream of a newer snapshot in progress.
TEST(raft_snapshot_transfer, stale_chunk_of_an_installed_snapshot_keeps_the_newer_stream) {
  pump p;
  p.bootstrap({1, 2, 3});
  p.elect(1);
  must_propose(p, 1, "a");
  p.stabilize();
  p.isolate(3);
  for (int i = 0; i < 4; ++i) must_propose(p, 1, "e" + std::to_string(i));
  p.stabilize();
  const index_t follower_commit = p[3].commit_index();
  ASSERT_GT(follower_commit, 0u);
  ASSERT_GT(p[1].commit_index(), follower_commit);
  message first = full_snapshot_chunk(p, 1, 3, p[1].commit_index(), "abc");
  first.snapshot_bytes = 6;
  first.chunk_done = false;
  message last = first;
  last.chunk_offset = 3;
  last.chunk_data = "def";
  last.chunk_done = true;
  message stale = full_snapshot_chunk(p, 1, 3, follower_commit, "old");
  stale.snap.term = *p[3].term_at(follower_commit);
  p[3].step(first);
  p[3].step(stale);
  p[3].step(last);
  ready r = p[3].get_ready();
  ASSERT_TRUE(r.snapshot_to_install.has_value());
  EXPECT_EQ(r.snapshot_to_install->data, "abcdef");
  EXPECT_EQ(r.snapshot_to_install->meta.index, p[1].commit_index());
  for (auto& msg : r.messages) {
    if (msg.type == message_type::snapshot_response) {
      EXPECT_FALSE(msg.reject);
    }
  }
  p[3].advance(r);
}

}  // namespace
}  // namespace energo::consensus::test
