// Long sweep (ctest label `slow`, excluded from CI): more seeds and longer runs than the default
// suite, on seed ranges the default suite does not touch.
#include <gtest/gtest.h>

#include "tests/consensus_sim/seed_sweep.hpp"

namespace energo::sim {
namespace {

constexpr uint64_t seeds_per_case = sanitized_build ? 200 : 25'000;
constexpr sim_time long_steps = 8000;

TEST(raft_sim_long, three_nodes) { run_seed_range(3, 10'000'001, seeds_per_case, long_steps); }
TEST(raft_sim_long, five_nodes) { run_seed_range(5, 20'000'001, seeds_per_case, long_steps); }

}  // namespace
}  // namespace energo::sim
