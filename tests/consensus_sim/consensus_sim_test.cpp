// Deterministic simulation suite for the Raft core (README.md here). Each randomized case runs a
// range of seeds; a failure prints the seed and a one-line replay command. Failing seeds found
// over time become named raft_sim_regression tests below.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "tests/consensus_sim/prng.hpp"
#include "tests/consensus_sim/seed_sweep.hpp"
#include "tests/consensus_sim/simulation.hpp"

namespace energo::sim {
namespace {

// Seeds per randomized case: release runs 10,000 seeds in all — 3 and 5 voters (8 cases x 900)
// and 1, 2, 4, 6 and 7 voters (5 cases x 560); the ASan build is ~20x slower and runs a tenth.
// About 30% of the seeds run the leader's send-while-persist mode (chosen from the seed).
constexpr uint64_t seeds_per_case_release = 900;
constexpr uint64_t seeds_per_case_sanitized = 90;
constexpr uint64_t seeds_per_case = sanitized_build ? seeds_per_case_sanitized : seeds_per_case_release;
constexpr uint64_t seeds_per_other_size = sanitized_build ? 56 : 560;

constexpr sim_time default_steps = 3000;

// The sweep: one test raft_sim_random.<name> per row, running `seeds` seeds from `first_seed`.
// The seed ranges never overlap, so every seed runs once per CI run.
struct sweep_case {
  const char* name;
  size_t nodes;
  uint64_t first_seed;
  uint64_t seeds;
};
constexpr sweep_case sweep_cases[] = {
    {"three_nodes_part_1", 3, 1, seeds_per_case},
    {"three_nodes_part_2", 3, 100'001, seeds_per_case},
    {"three_nodes_part_3", 3, 200'001, seeds_per_case},
    {"three_nodes_part_4", 3, 300'001, seeds_per_case},
    {"five_nodes_part_1", 5, 1'000'001, seeds_per_case},
    {"five_nodes_part_2", 5, 1'100'001, seeds_per_case},
    {"five_nodes_part_3", 5, 1'200'001, seeds_per_case},
    {"five_nodes_part_4", 5, 1'300'001, seeds_per_case},
    {"one_node", 1, 2'000'001, seeds_per_other_size},
    {"two_nodes", 2, 3'000'001, seeds_per_other_size},
    {"four_nodes", 4, 4'000'001, seeds_per_other_size},
    {"six_nodes", 6, 6'000'001, seeds_per_other_size},
    {"seven_nodes", 7, 7'000'001, seeds_per_other_size},
};
constexpr uint64_t sweep_seeds_total() {
  uint64_t total = 0;
  for (const auto& c : sweep_cases) total += c.seeds;
  return total;
}
static_assert(sanitized_build || sweep_seeds_total() >= 10'000, "CI's release run sweeps at least 10,000 seeds");

class sweep_test : public ::testing::Test {
 public:
  explicit sweep_test(const sweep_case& c) : case_(c) {}
  void TestBody() override { run_seed_range(case_.nodes, case_.first_seed, case_.seeds, default_steps); }

 private:
  sweep_case case_;
};
[[maybe_unused]] const bool sweep_registered = [] {
  for (const auto& c : sweep_cases) {
    ::testing::RegisterTest("raft_sim_random", c.name, nullptr, nullptr, __FILE__, __LINE__,
                            [c]() -> ::testing::Test* { return new sweep_test(c); });
  }
  return true;
}();

// --- the simulator itself -------------------------------------------------------------------------

TEST(raft_sim_determinism, same_seed_same_run_different_seed_different_run) {
  sim_options o;
  o.seed = 12345;
  o.nodes = 5;
  const sim_result a = simulation(o).run();
  const sim_result b = simulation(o).run();
  ASSERT_TRUE(a.ok) << a.failure;
  EXPECT_EQ(a.stats.digest, b.stats.digest);
  EXPECT_EQ(a.stats.max_commit, b.stats.max_commit);
  EXPECT_EQ(a.stats.messages_sent, b.stats.messages_sent);
  EXPECT_EQ(a.stats.client_ops_acked, b.stats.client_ops_acked);
  o.seed = 12346;
  EXPECT_NE(simulation(o).run().stats.digest, a.stats.digest);
  // The issue 11 §2 faults replay too (their own prng stream, drawn from the seed).
  o.corrupt_messages = o.removed_nodes_live_on = o.disk_faults = fault_mode::always;
  const sim_result c = simulation(o).run();
  const sim_result d = simulation(o).run();
  ASSERT_TRUE(c.ok) << c.failure;
  EXPECT_EQ(c.stats.digest, d.stats.digest);
  EXPECT_EQ(c.stats.corrupt_frames, d.stats.corrupt_frames);
  EXPECT_GT(c.stats.corrupt_frames, 0u);
}

// The checkers must be able to fail: with a disk that loses acknowledged syncs on a crash, Raft
// loses committed entries, and the simulator has to notice within a few seeds.
TEST(raft_sim_checkers, lying_fsync_is_caught) {
  constexpr uint64_t seeds_max = 60;
  uint64_t tried = 0;
  std::string caught;
  for (uint64_t seed = 1; seed <= seeds_max && caught.empty(); ++seed) {
    sim_options o;
    o.seed = seed;
    o.lying_fsync = true;
    o.liveness_bound_ms = 2000;  // liveness failures are expected here and are not what we look for
    const sim_result r = simulation(o).run();
    ++tried;
    const bool safety = r.failure.find("liveness") == std::string::npos &&
                        r.failure.find("message storm") == std::string::npos;
    if (!r.ok && safety) caught = r.failure;
  }
  std::printf("lying fsync: safety violation caught after %llu seeds: %s\n", static_cast<unsigned long long>(tried),
              caught.c_str());
  EXPECT_FALSE(caught.empty()) << "no safety checker noticed lost synced writes in " << seeds_max << " seeds";
}

// --- scenarios ------------------------------------------------------------------------------------

sim_options scenario_options(uint64_t seed, size_t nodes) {
  sim_options o;
  o.seed = seed;
  o.nodes = nodes;
  o.random_faults = false;  // only the scripted faults below (plus the seed's loss and delays)
  return o;
}

std::set<consensus::node_id> all_but(const std::vector<consensus::node_id>& ids, consensus::node_id x) {
  std::set<consensus::node_id> out(ids.begin(), ids.end());
  out.erase(x);
  return out;
}

// SPEC §6: a leader cut off from the majority cannot commit, clients on its side get no answer,
// clients on the majority side carry on, and after healing nothing acknowledged is lost.
TEST(raft_sim_scenario, partitioned_leader_with_clients_on_both_sides) {
  for (uint64_t seed : {11, 12, 13, 14, 15}) {
    simulation sim(scenario_options(seed, 5));
    sim.run_for(1500);
    ASSERT_FALSE(sim.failed()) << sim.failure();
    const auto old_leader = sim.leader();
    ASSERT_TRUE(old_leader.has_value()) << "seed " << seed;
    const auto majority = all_but(sim.node_ids(), *old_leader);
    sim.isolate(*old_leader, {sim.client_endpoint(0)});
    sim.isolate(sim.client_endpoint(0), {*old_leader});
    sim.pin_client(0, {*old_leader});
    sim.pin_client(1, majority);
    sim.pin_client(2, majority);
    sim.run_for(60);  // answers already on the wire may still arrive
    const uint64_t stale_side = sim.acked_ops_of_client(0);
    const uint64_t majority_side = sim.acked_ops_of_client(1) + sim.acked_ops_of_client(2);
    sim.run_for(2500);
    ASSERT_FALSE(sim.failed()) << sim.failure();
    EXPECT_EQ(sim.acked_ops_of_client(0), stale_side) << "seed " << seed << ": the cut-off leader answered a client";
    EXPECT_GT(sim.acked_ops_of_client(1) + sim.acked_ops_of_client(2), majority_side + 5)
        << "seed " << seed << ": the majority side made no progress";
    const auto new_leader = sim.leader();
    ASSERT_TRUE(new_leader.has_value());
    EXPECT_TRUE(majority.count(*new_leader)) << "seed " << seed;
    sim.heal_network();
    const sim_result r = sim.finish();
    EXPECT_TRUE(r.ok) << r.failure;
  }
}

// A majority crashes: nothing can be acknowledged (reads included) until it comes back; then
// the group recovers on its own and every earlier acknowledgement survives.
TEST(raft_sim_scenario, majority_crash_then_recovery) {
  for (uint64_t seed : {21, 22, 23, 24, 25}) {
    simulation sim(scenario_options(seed, 5));
    sim.run_for(1500);
    const auto leader = sim.leader();
    ASSERT_TRUE(leader.has_value()) << "seed " << seed;
    std::vector<consensus::node_id> victims{*leader};
    for (auto id : sim.node_ids())
      if (id != *leader && victims.size() < 3) victims.push_back(id);
    for (auto id : victims) sim.crash(id);
    sim.run_for(60);
    const uint64_t acked = sim.stats().client_ops_acked;
    sim.run_for(2000);
    ASSERT_FALSE(sim.failed()) << sim.failure();
    EXPECT_EQ(sim.stats().client_ops_acked, acked) << "seed " << seed << ": acknowledged without a majority";
    EXPECT_FALSE(sim.leader().has_value()) << "seed " << seed << ": a minority elected a leader";
    for (auto id : victims) sim.restart(id);
    const sim_result r = sim.finish();
    EXPECT_TRUE(r.ok) << r.failure;
  }
}

// One-way partitions that come and go every few hundred ms (a flaky NIC, an asymmetric
// firewall rule): safety throughout, progress overall, convergence once they stop.
TEST(raft_sim_scenario, flapping_one_way_partitions) {
  for (uint64_t seed : {31, 32, 33, 34, 35}) {
    simulation sim(scenario_options(seed, 5));
    prng rng(seed);
    sim.run_for(500);
    const uint64_t acked_before = sim.stats().client_ops_acked;
    for (int flap = 0; flap < 30 && !sim.failed(); ++flap) {
      sim.heal_network();
      const auto ids = sim.node_ids();
      const auto x = ids[rng.below(ids.size())];
      const bool outgoing = rng.chance(500'000);
      for (auto other : ids) {
        if (other == x) continue;
        if (outgoing) sim.block(x, other); else sim.block(other, x);
      }
      sim.run_for(rng.range(50, 300));
    }
    ASSERT_FALSE(sim.failed()) << sim.failure();
    EXPECT_GT(sim.stats().client_ops_acked, acked_before) << "seed " << seed << ": no progress while flapping";
    sim.heal_network();
    const sim_result r = sim.finish();
    EXPECT_TRUE(r.ok) << r.failure;
  }
}

// --- regressions: failing seeds found by the sweeps (see /work/notes/raft_bugs.md) ----------------
// A seed reproduces a run of *this* simulator version: a change to the simulator's random draws
// reshuffles every run, and the seed has to be found again with the sweep and the same flag
// (`raft_sim --seeds 5000 --strict-applied-index`, README.md).

// raft_bugs.md #1 (fixed): a snapshot received while a ready is outstanding was counted in
// applied_index() before the application got it. The simulator now always requires
// applied_index() to equal the application's applied index after every advance().
TEST(raft_sim_regression, seed_1245_applied_index_counts_uninstalled_snapshot) {
  expect_passes(seed_options(1245, 3, 4000));
}

// raft_bugs.md #2 (fixed): restart() got no snapshot data, so a restarted leader could not bring a
// follower that is behind its first log index up to date (liveness). Now the core asks for the
// data (ready::snapshot_data_wanted); every restart here passes the snapshot's meta only.
TEST(raft_sim_regression, seed_407_restarted_leader_cannot_send_snapshot) {
  sim_options o = seed_options(407, 3, 4000);
  o.restart_snapshot = restart_snapshot_mode::meta_only;
  expect_passes(o);
}

// raft_bugs.md #4 (fixed) as found by the long sweeps: a node that is not a voter in its own
// configuration (a learner, or a voter holding its own removal) kept its leader lease forever and
// ignored the (pre-)votes the cluster needed, so no leader was elected after the faults healed.
TEST(raft_sim_regression, seed_60000059_non_voter_lease_blocks_election) {
  sim_options o = seed_options(60000059, 3, 8000);
  o.clients = 6;
  expect_passes(o);
}
TEST(raft_sim_regression, seed_80004725_self_removed_voter_lease_blocks_election) {
  sim_options o = seed_options(80004725, 3, 4000);
  o.clients = 1;
  expect_passes(o);
}

// raft_bugs.md #4 (first found as seed 100982): a promoted learner is cut off before it learns of
// its promotion, then the leader appends the removal of the other old voter. The leader's new
// configuration {leader, learner} needs the learner's vote, but a node that believes it is a
// learner stays inside its leader lease (election_elapsed is reset at every timeout) and ignores
// (pre-)votes — forever when its randomized timeout equals election_ticks.
TEST(raft_sim_regression, promoted_learner_cut_off_then_old_voter_removed) {
  uint64_t stuck = 0;
  std::string first_failure;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim_options o = scenario_options(seed, 3);
    o.clients = 1;
    simulation sim(o);
    sim.run_for(1000);
    auto leader = sim.leader();
    ASSERT_TRUE(leader.has_value()) << "seed " << seed;
    consensus::node_id other = 0, leaver = 0;
    for (auto id : sim.node_ids()) {
      if (id == *leader) continue;
      if (leaver == 0) leaver = id; else other = id;
    }
    ASSERT_TRUE(sim.propose_config_change({consensus::config_change_type::remove_node, leaver})) << "seed " << seed;
    sim.run_for(500);
    const auto learner = sim.add_empty_node();
    ASSERT_TRUE(sim.propose_config_change({consensus::config_change_type::add_learner, learner}));
    sim.run_for(500);
    sim.isolate(learner);
    ASSERT_TRUE(sim.propose_config_change({consensus::config_change_type::promote_learner, learner}));
    sim.run_for(300);  // committed by {leader, other}; the learner never hears of it
    if (!sim.propose_config_change({consensus::config_change_type::remove_node, other})) continue;
    sim.run_for(1000);  // the leader loses its quorum {leader, learner} and steps down
    ASSERT_FALSE(sim.failed()) << sim.failure();
    sim.heal_network();
    const sim_result r = sim.finish();
    if (!r.ok) {
      ++stuck;
      if (first_failure.empty()) first_failure = r.failure;
    }
  }
  EXPECT_EQ(stuck, 0u) << stuck << " of 20 seeds never elected a leader again; first: " << first_failure;
}


// Issue 8 §6 (fixed): a founder's bootstrap lived in memory until its first ready was persisted;
// a crash before that restarted it as an empty node, and a one-voter group never had a leader
// again (`raft_sim --seed 93004072 --nodes 1 --steps 3000` before the simulator persisted
// bootstrap_state(); random crashes that early are rare, so the crash is scripted here).
// --bootstrap-in-memory keeps the old way: it must fail (the hazard is real and the checkers see
// it) and the durable bootstrap must pass.
TEST(raft_sim_regression, seed_93004072_bootstrap_lost_in_crash_before_first_ready) {
  for (const bool in_memory : {false, true}) {
    sim_options o = scenario_options(93004072, 1);
    o.bootstrap_in_memory = in_memory;
    o.liveness_bound_ms = 3000;
    simulation sim(o);
    sim.crash(1);  // before the first ready was written
    sim.restart(1);
    sim.run_for(1000);
    const sim_result r = sim.finish();
    if (in_memory) {
      EXPECT_FALSE(r.ok) << "the in-memory bootstrap survived a crash before its first ready?";
      EXPECT_NE(r.failure.find("no leader"), std::string::npos) << r.failure;
    } else {
      EXPECT_TRUE(r.ok) << r.failure;
    }
  }
}

// Issue 8 §6 (fixed): restart() set applied to the snapshot index, so entries between the
// snapshot and the application's durable applied index were handed out again (applied twice).
// The simulated application now persists its state + applied index and restarts the core with
// config::applied; it fails a run on any entry at or below its durable applied index.
TEST(raft_sim_regression, seed_4_restart_without_applied_index_applies_twice) {
  const sim_result r = expect_passes(seed_options(4, 3, 4000));
  EXPECT_GT(r.stats.restarts, 0u);
}


// Found once the simulator drew small limits (issue 11 §2): a follower's append window full by
// bytes (max_inflight_bytes) but not by count was never unjammed by heartbeat responses, so a
// lost ack left the learner behind forever (liveness).
TEST(raft_sim_regression, seed_3_byte_full_append_window_never_unjammed) {
  expect_passes(seed_options(3, 3, 3000));
}


// Issue 8 §6 (fixed): a request whose client session was unknown (evicted, expired, never
// opened) was applied, so a late duplicate after eviction was applied twice. This seed evicts
// sessions (small session limits) and, with unknown sessions applied, its history is not
// linearizable (an add counted twice); consensus/session.cpp now rejects such requests.
TEST(raft_sim_regression, seed_1363_late_duplicate_of_evicted_session_applied_twice) {
  expect_passes(seed_options(1363, 3, 3000));
}

// --- issue 11 §2: corrupted messages, removed nodes that live on, disk faults, uncapped runs ------

// Found by the corrupted-message probe (before the fix): a corrupted append_response whose index
// decoded far beyond the leader's log was trusted; the follower's progress ran past the log
// (invariant "match beyond log"). The leader now ignores such acks (raft_untrusted_input.*).
// `raft_sim --seed 2 --nodes 3 --steps 3000 --corrupt-messages` failed at t=114ms.
TEST(raft_sim_regression, seed_2_corrupted_ack_beyond_the_leaders_log) {
  sim_options o = seed_options(2, 3, 3000);
  o.corrupt_messages = fault_mode::always;
  const sim_result r = expect_passes(o);
  EXPECT_GT(r.stats.corrupt_decoded, 0u);
}

// The corrupted-message fault reaches the peer codec and both of its outcomes: frames the
// decoder refuses and frames that decode into another message (stepped into a copy of the
// receiver); each closes the connection and loses what was in flight on it.
TEST(raft_sim_checkers, corrupted_messages_reach_both_decoder_outcomes) {
  sim_stats total;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim_options o;
    o.seed = seed;
    o.corrupt_messages = fault_mode::always;
    const sim_result r = simulation(o).run();
    ASSERT_TRUE(r.ok) << r.failure;
    total.corrupt_frames += r.stats.corrupt_frames;
    total.corrupt_refused += r.stats.corrupt_refused;
    total.corrupt_decoded += r.stats.corrupt_decoded;
    total.links_reset += r.stats.links_reset;
  }
  std::printf("corrupted frames %llu: refused %llu, decoded and probed %llu; connections closed %llu\n",
              static_cast<unsigned long long>(total.corrupt_frames), static_cast<unsigned long long>(total.corrupt_refused),
              static_cast<unsigned long long>(total.corrupt_decoded), static_cast<unsigned long long>(total.links_reset));
  EXPECT_GT(total.corrupt_refused, 0u);
  EXPECT_GT(total.corrupt_decoded, 0u);
  EXPECT_EQ(total.links_reset, total.corrupt_frames);
}

// A voter is cut off, removed while it cannot hear, and lives on in its old configuration: it
// campaigns (its requests reach the members) yet never leads, the members keep their leader's
// term while it is alive, and the group stays safe and converges.
TEST(raft_sim_scenario, removed_voter_that_missed_its_removal_lives_on) {
  uint64_t requests = 0;
  for (uint64_t seed : {41, 42, 43, 44, 45}) {
    sim_options o = scenario_options(seed, 5);
    o.removed_nodes_live_on = fault_mode::always;
    simulation sim(o);
    sim.run_for(1000);
    const auto leader = sim.leader();
    ASSERT_TRUE(leader.has_value()) << "seed " << seed;
    consensus::node_id victim = 0;
    for (auto id : sim.node_ids())
      if (id != *leader) victim = id;
    sim.isolate(victim);
    ASSERT_TRUE(sim.propose_config_change({consensus::config_change_type::remove_node, victim})) << "seed " << seed;
    sim.run_for(500);
    ASSERT_FALSE(sim.node(*leader)->membership().contains(victim)) << "seed " << seed;
    ASSERT_TRUE(sim.node(victim)->membership().contains(victim)) << "seed " << seed << ": it heard of its removal";
    const consensus::term_t term = sim.node(*leader)->term();
    sim.heal_network();
    for (int i = 0; i < 30 && !sim.failed(); ++i) {
      sim.run_for(100);
      ASSERT_NE(sim.node(victim)->role(), consensus::role::leader) << "seed " << seed;
    }
    ASSERT_FALSE(sim.failed()) << sim.failure();
    EXPECT_EQ(sim.leader(), leader) << "seed " << seed << ": the removed node deposed the leader";
    EXPECT_EQ(sim.node(*leader)->term(), term) << "seed " << seed;
    requests += sim.stats().removed_campaigns;
    const sim_result r = sim.finish();
    EXPECT_TRUE(r.ok) << r.failure;
  }
  EXPECT_GT(requests, 0u) << "the removed nodes never campaigned: the scenario tests nothing";
}

// Disk faults: every damaged synced record is detected at recovery (the replica refuses to
// start, never restarts from garbage) and torn in-flight batches are dropped; the runs stay safe
// and live (the operator restores a refused replica from an intact copy).
TEST(raft_sim_checkers, damaged_records_always_refuse_to_start) {
  sim_stats total;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    sim_options o;
    o.seed = seed;
    o.disk_faults = fault_mode::always;
    const sim_result r = simulation(o).run();
    ASSERT_TRUE(r.ok) << r.failure;
    total.records_corrupted += r.stats.records_corrupted;
    total.replicas_refused += r.stats.replicas_refused;
    total.torn_writes += r.stats.torn_writes;
    total.restarts += r.stats.restarts;
  }
  std::printf("disk faults: %llu restarts, %llu synced records corrupted, %llu refusals, %llu torn batches\n",
              static_cast<unsigned long long>(total.restarts), static_cast<unsigned long long>(total.records_corrupted),
              static_cast<unsigned long long>(total.replicas_refused), static_cast<unsigned long long>(total.torn_writes));
  EXPECT_GT(total.records_corrupted, 0u);
  EXPECT_EQ(total.replicas_refused, total.records_corrupted);
  EXPECT_GT(total.torn_writes, 0u);
}

// --uncapped: clients never stop (past ops_per_client_max) and move to fresh keys every epoch,
// so the history stays checkable however long the run.
TEST(raft_sim_workload, uncapped_clients_keep_going_on_fresh_keys) {
  sim_options o = scenario_options(77, 3);  // no random faults: the count below measures the clients
  o.ops_per_client_max = 20;
  o.uncapped_workload = true;
  o.uncapped_key_epoch_ms = 1000;
  simulation uncapped(o);
  uncapped.run_for(6000);
  const sim_result r = uncapped.finish();
  ASSERT_TRUE(r.ok) << r.failure;
  EXPECT_GT(r.stats.client_ops_acked, o.ops_per_client_max * o.clients * 2);
  o.uncapped_workload = false;
  simulation capped_sim(o);
  capped_sim.run_for(6000);
  const sim_result capped = capped_sim.finish();
  ASSERT_TRUE(capped.ok) << capped.failure;
  EXPECT_LE(capped.stats.client_ops, o.ops_per_client_max * o.clients + 1);  // + the liveness probe
}

}  // namespace
}  // namespace energo::sim
