// The client broker's table of submissions waiting for an answer (actors/submission_table.hpp).
// Oracle (the rule it exists for): every submission is handed out exactly once - by the answer
// (take) or by the sweep once its deadline has passed (expire), never by both, never before its
// deadline, oldest first.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/submission_table.hpp"

namespace {

using energo::actors::submission_table;
using namespace std::chrono_literals;
using table = submission_table<std::string>;
const table::clock::time_point t0{};

TEST(submission_table, AnswerBeforeTheDeadlineIsHandedOutOnce) {
  table t(1000ms);
  const uint64_t a = t.add("conn-a", 7, t0);
  const uint64_t b = t.add("conn-b", 7, t0 + 10ms);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.size(), 2u);
  auto w = t.take(b);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->to, "conn-b");
  EXPECT_EQ(w->id, 7u);
  EXPECT_FALSE(t.take(b).has_value());  // a second answer for it goes nowhere
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.expire(t0 + 999ms).empty());  // a is not due yet
  EXPECT_EQ(t.size(), 1u);
}

TEST(submission_table, SweepAnswersOnlyWhatIsDueOldestFirstAndLateAnswersAreDropped) {
  table t(500ms);
  const uint64_t a = t.add("a", 1, t0);
  const uint64_t b = t.add("b", 2, t0 + 100ms);
  const uint64_t c = t.add("c", 3, t0 + 600ms);
  auto due = t.expire(t0 + 600ms);  // a (due at 500) and b (due at 600, inclusive), not c (1100)
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].to, "a");
  EXPECT_EQ(due[1].to, "b");
  EXPECT_EQ(due[1].deadline, t0 + 600ms);
  EXPECT_FALSE(t.take(a).has_value());  // the actors answered after the sweep: dropped
  EXPECT_FALSE(t.take(b).has_value());
  EXPECT_TRUE(t.expire(t0 + 1099ms).empty());
  auto w = t.take(c);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->id, 3u);
  EXPECT_TRUE(t.empty());
}

// Random interleavings of add / answer / sweep against a plain model (a list of (number, deadline)
// with a handed-out flag): each submission leaves exactly once, the sweep never hands one out
// before its deadline and always hands out every one past it.
TEST(submission_table, RandomInterleavingsHandOutEachSubmissionExactlyOnce) {
  const uint32_t seed = std::random_device{}();
  std::printf("submission_table seed %u\n", seed);
  std::mt19937 rng(seed);
  table t(300ms);
  struct model_entry {
    uint64_t n;
    table::clock::time_point deadline;
    bool out = false;
  };
  std::vector<model_entry> model;
  std::set<uint64_t> handed_out;
  auto now = t0;
  std::size_t waiting = 0;
  for (int step = 0; step < 5'000; ++step) {
    now += std::chrono::milliseconds(rng() % 20);
    switch (rng() % 3) {
      case 0: {
        const uint64_t n = t.add("c", static_cast<uint64_t>(step), now);
        model.push_back({n, now + 300ms});
        ++waiting;
        break;
      }
      case 1: {
        if (model.empty()) break;
        auto& e = model[rng() % model.size()];
        auto w = t.take(e.n);
        ASSERT_EQ(w.has_value(), !e.out) << "seed " << seed << " step " << step;
        if (w) {
          e.out = true;
          --waiting;
          ASSERT_TRUE(handed_out.insert(e.n).second) << "seed " << seed;
        }
        break;
      }
      default: {
        auto due = t.expire(now);
        std::size_t expected = 0;
        for (auto& e : model) {
          if (!e.out && e.deadline <= now) {
            ++expected;
            --waiting;
            e.out = true;
            ASSERT_TRUE(handed_out.insert(e.n).second) << "seed " << seed;
          }
        }
        ASSERT_EQ(due.size(), expected) << "seed " << seed << " step " << step;
        for (const auto& w : due) ASSERT_LE(w.deadline, now) << "seed " << seed;
      }
    }
    ASSERT_EQ(t.size(), waiting) << "seed " << seed << " step " << step;
  }
}

}  // namespace
