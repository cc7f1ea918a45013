// Long sweep (ctest label `slow`, excluded from CI): more seeds and longer runs than the default
// suite, on seed ranges the default suite does not touch.
#include <gtest/gtest.h>

#include "tests/consensus_sim/seed_sweep.hpp"

namespace energo::sim {
namespace {

constexpr uint64_t seeds_per_case = sanitized_build ? 200 : 25'000;
constexpr sim_time long_steps = 8000;

// run_seed_range() asserts every seed's safety and liveness; the check here makes the outcome of
// the whole sweep explicit in this file.
TEST(raft_sim_long, three_nodes) {
  run_seed_range(3, 10'000'001, seeds_per_case, long_steps);
  EXPECT_FALSE(::testing::Test::HasFailure());
}
TEST(raft_sim_long, five_nodes) {
  run_seed_range(5, 20'000'001, seeds_per_case, long_steps);
  EXPECT_FALSE(::testing::Test::HasFailure());
}

}  // namespace
}  // namespace energo::sim
