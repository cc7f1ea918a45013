#include <gtest/gtest.h>

#include "consensus/session.hpp"

namespace energo::consensus {
namespace {

TEST(session_framing, round_trips_and_rejects_garbage) {
  const std::string framed = encode_session_payload(77, 5, "transfer 10");
  auto p = decode_session_payload(framed);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->client_id, 77u);
  EXPECT_EQ(p->sequence, 5u);
  EXPECT_EQ(p->payload, "transfer 10");
  EXPECT_FALSE(decode_session_payload("short").has_value());
  std::string wrong = framed;
  wrong[0] = 'X';
  EXPECT_FALSE(decode_session_payload(wrong).has_value());
}

// A retried request (same client, same sequence) committed twice is applied once; the retry
// gets the cached response.
TEST(session_table, retried_request_is_applied_at_most_once) {
  session_table t;
  int balance = 0;
  auto apply = [&](uint64_t client, uint64_t seq, index_t index) -> std::string {
    auto c = t.check(client, seq, index);
    if (c.verdict == session_verdict::duplicate) return c.cached_response;
    if (c.verdict == session_verdict::stale) return "stale";
    balance += 10;
    std::string resp = "balance=" + std::to_string(balance);
    t.record_response(client, seq, index, resp);
    return resp;
  };
  EXPECT_EQ(apply(1, 1, 10), "balance=10");
  EXPECT_EQ(apply(1, 1, 11), "balance=10");  // retry committed again
  EXPECT_EQ(balance, 10);
  EXPECT_EQ(apply(1, 2, 12), "balance=20");
  EXPECT_EQ(apply(1, 1, 13), "stale");  // older than the last applied sequence
  EXPECT_EQ(balance, 20);
  EXPECT_EQ(apply(2, 1, 14), "balance=30");  // another client is independent
}

TEST(session_table, sessions_expire_by_log_index_and_are_bounded) {
  session_limits lim;
  lim.expiry_entries = 100;
  lim.sessions_max = 2;
  session_table t(lim);
  t.record_response(1, 1, 10, "a");
  t.record_response(2, 1, 20, "b");
  t.record_response(3, 1, 30, "c");  // evicts client 1 (idle longest)
  EXPECT_EQ(t.size(), 2u);
  EXPECT_FALSE(t.last_sequence(1).has_value());
  // At index 125, client 2 (last active at 20) is idle for > 100 entries: expired.
  EXPECT_EQ(t.check(3, 1, 125).verdict, session_verdict::duplicate);
  EXPECT_FALSE(t.last_sequence(2).has_value());
  EXPECT_TRUE(t.last_sequence(3).has_value());
}

}  // namespace
}  // namespace energo::consensus
