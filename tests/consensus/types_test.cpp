#include <gtest/gtest.h>

#include "consensus/types.hpp"

namespace energo::consensus {
namespace {

TEST(membership_encoding, round_trips) {
  membership m;
  m.voters = {1, 2, 3};
  m.learners = {9};
  auto d = decode_membership(encode_membership(m));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, m);
}

TEST(membership_encoding, rejects_truncated_and_inconsistent_input) {
  membership m;
  m.voters = {1, 2};
  std::string bytes = encode_membership(m);
  EXPECT_FALSE(decode_membership(bytes.substr(0, bytes.size() - 1)).has_value());
  EXPECT_FALSE(decode_membership(bytes + "x").has_value());
  EXPECT_FALSE(decode_membership("").has_value());
  membership both;
  both.voters = {1};
  both.learners = {1};
  auto d = decode_membership(encode_membership(both));
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, raft_error_code::config_change_invalid);
}

}  // namespace
}  // namespace energo::consensus
