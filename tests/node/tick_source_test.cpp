// The leader's tick source (actors/tick_source.hpp) and its configuration (clock.speedup).
// Oracles from docs/node.md "Clock": ledger time = anchor + speedup × elapsed, never back, at most
// step_ms_max per tick; speed-up 1 is the wall clock.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "actors/tick_source.hpp"
#include "node/config.hpp"

namespace {

using energo::actors::tick_source;
constexpr int64_t minute_ms = 60'000;
constexpr int64_t step_max_ms = 15 * minute_ms;
constexpr int64_t genesis_ms = 1'750'000'000'000;

TEST(tick_source, SpeedupOneFollowsTheWallClock) {
  tick_source s(1, step_max_ms);
  EXPECT_EQ(s.next(genesis_ms + 1000, 5, genesis_ms), genesis_ms + 1000);
  EXPECT_EQ(s.next(genesis_ms, 5, genesis_ms), std::nullopt);         // not ahead: nothing
  EXPECT_EQ(s.next(genesis_ms - 10, 5, genesis_ms), std::nullopt);    // wall clock behind: never back
  EXPECT_EQ(s.next(genesis_ms + 3'600'000, 5, genesis_ms), genesis_ms + step_max_ms);  // bounded step
}

TEST(tick_source, SpeedupRunsLedgerTimeFromTheAnchor) {
  tick_source s(360, step_max_ms);
  // First call while leading anchors at the ledger time; no time has passed yet.
  EXPECT_EQ(s.next(0, 1000, genesis_ms), std::nullopt);
  // 500 ms later: 500 × 360 ms = 3 minutes of ledger time, whatever the wall clock says.
  EXPECT_EQ(s.next(0, 1500, genesis_ms), genesis_ms + 3 * minute_ms);
  // The ledger applied that tick; 1 s after the anchor the target is 6 minutes.
  EXPECT_EQ(s.next(999, 2000, genesis_ms + 3 * minute_ms), genesis_ms + 6 * minute_ms);
  // A stalled leader (10 s of silence = 60 minutes) catches up 15 minutes per tick.
  EXPECT_EQ(s.next(0, 11'000, genesis_ms + 6 * minute_ms), genesis_ms + 21 * minute_ms);
  // The steady clock never makes it propose a time at or below the ledger's.
  EXPECT_EQ(s.next(0, 11'000, genesis_ms + 60 * minute_ms), std::nullopt);
}

TEST(tick_source, ANewLeadershipReanchorsAtTheLedgerTime) {
  tick_source s(100, step_max_ms);
  EXPECT_EQ(s.next(0, 0, genesis_ms), std::nullopt);
  EXPECT_EQ(s.next(0, 1000, genesis_ms), genesis_ms + 100'000);
  s.lost_leadership();
  // Leading again 60 s later at ledger time genesis + 100 s: it continues from there, no jump of 60 s × 100.
  EXPECT_EQ(s.next(0, 61'000, genesis_ms + 100'000), std::nullopt);
  EXPECT_EQ(s.next(0, 61'010, genesis_ms + 100'000), genesis_ms + 101'000);
}

TEST(tick_source, HugeElapsedSaturatesInsteadOfOverflowing) {
  tick_source s(energo::actors::limits::clock_speedup_max, step_max_ms);
  EXPECT_EQ(s.next(0, 0, INT64_MAX - 5), std::nullopt);
  EXPECT_EQ(s.next(0, INT64_MAX / 2, INT64_MAX - 5), INT64_MAX);
}

TEST(tick_source, SpeedupIsReadFromTheConfigAndValidated) {
  const auto path = std::filesystem::temp_directory_path() / "energo-tick-source-test.toml";
  {
    std::ofstream f(path);
    f << "data_dir = \"d\"\n[clock]\nspeedup = 360\ninterval_ms = 250\n";
  }
  auto loaded = energo::node::load_config(path.string(), {});
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->config.clock_speedup, 360);
  EXPECT_TRUE(loaded->warnings.empty());
  EXPECT_TRUE(energo::node::validate_config(loaded->config));
  auto c = loaded->config;
  c.clock_speedup = 0;
  EXPECT_FALSE(energo::node::validate_config(c));
  c.clock_speedup = energo::actors::limits::clock_speedup_max + 1;
  EXPECT_FALSE(energo::node::validate_config(c));
  EXPECT_EQ(energo::node::node_config{}.clock_speedup, 1);  // production default: real time
  std::filesystem::remove(path);
}

}  // namespace
