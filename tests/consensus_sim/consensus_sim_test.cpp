// Deterministic simulation suite for the Raft core (README.md here). Each randomized case runs a
// range of seeds; a failure prints the seed and a one-line replay command. Failing seeds found
// over time become named raft_sim_regression tests below.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/consensus_sim/simulation.hpp"

namespace energo::sim {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

// Seeds per randomized case: release runs the full count (8 cases x 1250 = 10,000 seeds); the
// ASan build is ~20x slower, so it runs a slice of each range.
constexpr uint64_t seeds_per_case_release = 1250;
constexpr uint64_t seeds_per_case_sanitized = 40;
constexpr uint64_t seeds_per_case = sanitized ? seeds_per_case_sanitized : seeds_per_case_release;

class test_environment : public ::testing::Environment {
 public:
  void SetUp() override { install_abort_reporter(); }
};
[[maybe_unused]] const auto* const env = ::testing::AddGlobalTestEnvironment(new test_environment);

void run_seed_range(size_t nodes, uint64_t first_seed, uint64_t count, sim_time steps) {
  uint64_t ok = 0, budget = 0, commits = 0, leaders = 0, crashes = 0, snapshots = 0, config = 0, ops = 0;
  for (uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    sim_options o;
    o.seed = seed;
    o.nodes = nodes;
    o.steps = steps;
    simulation sim(o);
    const sim_result r = sim.run();
    ASSERT_TRUE(r.ok) << r.failure;
    ++ok;
    budget += r.stats.linearizability_budget_exceeded ? 1 : 0;
    commits += r.stats.max_commit;
    leaders += r.stats.leaders_elected;
    crashes += r.stats.crashes;
    snapshots += r.stats.snapshots_installed;
    config += r.stats.config_changes_applied;
    ops += r.stats.client_ops_acked;
  }
  std::printf("raft_sim: %zu nodes, seeds %llu..%llu (%llu seeds%s), %llu ms each: ok; totals: commits %llu, "
              "leaders %llu, crashes %llu, snapshots installed %llu, config changes %llu, acked ops %llu, "
              "linearizability budget overruns %llu\n",
              nodes, static_cast<unsigned long long>(first_seed),
              static_cast<unsigned long long>(first_seed + count - 1), static_cast<unsigned long long>(ok),
              sanitized ? ", sanitizer build" : "", static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(commits), static_cast<unsigned long long>(leaders),
              static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(snapshots),
              static_cast<unsigned long long>(config), static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(budget));
  // A suite where the checker gave up everywhere proves nothing.
  EXPECT_LT(budget, count / 10 + 1);
}

constexpr sim_time default_steps = 3000;

TEST(raft_sim_random, three_nodes_part_1) { run_seed_range(3, 1, seeds_per_case, default_steps); }
TEST(raft_sim_random, three_nodes_part_2) { run_seed_range(3, 100'001, seeds_per_case, default_steps); }
TEST(raft_sim_random, three_nodes_part_3) { run_seed_range(3, 200'001, seeds_per_case, default_steps); }
TEST(raft_sim_random, three_nodes_part_4) { run_seed_range(3, 300'001, seeds_per_case, default_steps); }
TEST(raft_sim_random, five_nodes_part_1) { run_seed_range(5, 1'000'001, seeds_per_case, default_steps); }
TEST(raft_sim_random, five_nodes_part_2) { run_seed_range(5, 1'100'001, seeds_per_case, default_steps); }
TEST(raft_sim_random, five_nodes_part_3) { run_seed_range(5, 1'200'001, seeds_per_case, default_steps); }
TEST(raft_sim_random, five_nodes_part_4) { run_seed_range(5, 1'300'001, seeds_per_case, default_steps); }

}  // namespace
}  // namespace energo::sim
