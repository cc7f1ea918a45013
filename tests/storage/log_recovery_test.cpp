// The log recovery rules (storage/log_recovery.hpp) that node_store::recover_group and the consensus
// simulator's model of the store both run: contiguous keys of one group, checksummed values,
// non-decreasing terms, a log that starts right after the compacted index and holds the commit.
// Records are built with the store's codec; each damage is named by hand.
#include <gtest/gtest.h>

#include <vector>

#include "storage/codec.hpp"
#include "storage/log_recovery.hpp"

namespace energo::storage {
namespace {

constexpr group_id group = 7;

struct stored {
  std::string key, value;
};
stored record(log_index index, log_term term, group_id g = group) {
  const std::string key = codec::log_key(g, index);
  return {key, codec::encode_log_value(key, log_record{term, index, 1, "p" + std::to_string(index)})};
}

// Feeds records to a verifier from `first` (previous term `term`); the first problem, or "".
std::string verify(const std::vector<stored>& records, log_index first, log_term term, log_index* failed_at = nullptr) {
  log_verifier v(group, first, term, "group 7");
  for (const auto& r : records) {
    auto rec = v.next(r.key, r.value);
    if (!rec) {
      if (failed_at) *failed_at = v.expected();
      return rec.error().message;
    }
    EXPECT_EQ(rec->payload, "p" + std::to_string(rec->index));
  }
  return "";
}

TEST(log_recovery, a_contiguous_checksummed_log_with_rising_terms_passes) {
  EXPECT_EQ(verify({record(5, 2), record(6, 2), record(7, 3)}, 5, 2), "");
  EXPECT_EQ(verify({}, 1, 0), "");
}

TEST(log_recovery, each_damage_is_refused_at_the_index_it_hits) {
  log_index at = 0;
  EXPECT_EQ(verify({record(5, 2), record(7, 2)}, 5, 2, &at), "group 7: log gap, expected index 6 found 7");
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(verify({record(5, 2), record(6, 1)}, 5, 2, &at), "group 7: term decreases at index 6");
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(verify({record(5, 1)}, 5, 2, &at), "group 7: term decreases at index 5") << "below the term before the first";
  EXPECT_EQ(verify({record(5, 2), record(6, 2, 8)}, 5, 2, &at), "group 7: malformed log key") << "another group's key";
  EXPECT_EQ(at, 6u);
  auto flipped = record(6, 2);
  flipped.value[3] ^= 0x10;
  EXPECT_NE(verify({record(5, 2), flipped}, 5, 2, &at), "");
  EXPECT_EQ(at, 6u);
  auto misdirected = record(6, 2);
  misdirected.value = record(5, 2).value;  // a whole value written under the wrong key
  EXPECT_NE(verify({record(5, 2), misdirected}, 5, 2, &at), "");
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(verify({{"short", "x"}}, 1, 0, &at), "group 7: malformed log key");
  EXPECT_EQ(at, 1u);
}

TEST(log_recovery, the_log_starts_after_the_compacted_index_and_holds_the_commit) {
  EXPECT_TRUE(check_log_start("group 7", 1, 0));
  EXPECT_TRUE(check_log_start("group 7", 11, 10));
  auto late = check_log_start("group 7", 12, 10);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, storage_errc::corruption);
  EXPECT_EQ(late.error().message, "group 7: log starts at index 12 but the compacted index is 10");
  EXPECT_FALSE(check_log_start("group 7", 10, 10));
  EXPECT_TRUE(check_commit_within_log("group 7", 9, 9));
  EXPECT_TRUE(check_commit_within_log("group 7", 0, 0));
  auto lost = check_commit_within_log("group 7", 10, 9);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().message, "group 7 commit index 10 is beyond the last log index 9: committed entries lost");
}

}  // namespace
}  // namespace energo::storage
