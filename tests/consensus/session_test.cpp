#include <gtest/gtest.h>

#include <map>

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
  ASSERT_EQ(t.open(1), 1u);
  ASSERT_EQ(t.open(2), 2u);
  int balance = 0;
  auto apply = [&](uint64_t client, uint64_t seq, index_t index) -> std::string {
    auto c = t.check(client, seq, index);
    if (c.verdict == session_verdict::duplicate) return c.cached_response;
    if (c.verdict == session_verdict::stale) return "stale";
    if (c.verdict == session_verdict::unknown_session) return "unknown";
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
  // A session's id is the log index of its open entry.
  t.open(5);
  t.record_response(5, 1, 10, "a");
  t.open(15);
  t.record_response(15, 1, 20, "b");
  t.open(25);  // evicts session 5 (idle longest)
  t.record_response(25, 1, 30, "c");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_FALSE(t.last_sequence(5).has_value());
  // At index 125, session 15 (last active at 20) is idle for > 100 entries: expired.
  EXPECT_EQ(t.check(25, 1, 125).verdict, session_verdict::duplicate);
  EXPECT_FALSE(t.last_sequence(15).has_value());
  EXPECT_TRUE(t.last_sequence(25).has_value());
}

// Replicated state travels in snapshots: the encoding round-trips exactly and is canonical
// (equal tables give equal bytes on every replica, whatever order sessions were created in).
TEST(session_table, encoding_round_trips_and_is_canonical) {
  session_table empty;
  auto e = session_table::decode(empty.encode());
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(*e, empty);
  EXPECT_EQ(e->size(), 0u);

  session_table a, b;
  const std::string binary("r\0\xff\x01", 4);  // responses are opaque bytes
  for (index_t id : {2, 9, 700}) a.open(id);
  for (index_t id : {700, 9, 2}) b.open(id);
  a.record_response(9, 3, 10, binary);
  a.record_response(2, 1, 11, "");
  a.record_response(700, 42, 12, "ok");
  b.record_response(700, 42, 12, "ok");
  b.record_response(9, 3, 10, binary);
  b.record_response(2, 1, 11, "");
  EXPECT_EQ(a.encode(), b.encode());
  auto d = session_table::decode(a.encode());
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(*d, a);
  EXPECT_EQ(d->encode(), a.encode());
  EXPECT_EQ(d->last_sequence(9), 3u);
  EXPECT_EQ(d->check(9, 3, 13).cached_response, binary);
}

// SPEC §6 "a retried request is applied at most once" across a snapshot install: a replica that
// restores the table from a snapshot answers the retry from the cache, exactly like the replica
// that applied the original; without the table it would apply the retry a second time.
TEST(session_table, retried_request_after_snapshot_install_is_still_deduplicated) {
  session_limits lim;
  lim.expiry_entries = 50;
  session_table leader(lim);
  int balance = 0;
  auto apply = [&](session_table& t, int& bal, uint64_t client, uint64_t seq, index_t index) {
    auto c = t.check(client, seq, index);
    if (c.verdict == session_verdict::duplicate) return c.cached_response;
    if (c.verdict == session_verdict::stale) return std::string("stale");
    if (c.verdict == session_verdict::unknown_session) return std::string("unknown");
    bal += 10;
    std::string resp = "balance=" + std::to_string(bal);
    t.record_response(client, seq, index, resp);
    return resp;
  };
  leader.open(1);
  leader.open(2);
  EXPECT_EQ(apply(leader, balance, 1, 1, 10), "balance=10");
  EXPECT_EQ(apply(leader, balance, 2, 1, 11), "balance=20");
  EXPECT_EQ(apply(leader, balance, 1, 2, 12), "balance=30");
  // Snapshot at index 12: the application's state (balance) plus the session table.
  const std::string image = leader.encode();
  auto restored = session_table::decode(image, lim);
  ASSERT_TRUE(restored.has_value()) << restored.error().message;
  int follower_balance = balance;
  // Client 1 did not get its answer and retries sequence 2; the retry commits at 13.
  EXPECT_EQ(apply(*restored, follower_balance, 1, 2, 13), "balance=30");
  EXPECT_EQ(apply(leader, balance, 1, 2, 13), "balance=30");
  EXPECT_EQ(follower_balance, 30);
  EXPECT_EQ(apply(*restored, follower_balance, 1, 1, 14), "stale");
  // Both replicas keep deciding alike, expiry included (last activity indexes travelled too).
  restored->open(60);
  leader.open(60);
  EXPECT_EQ(apply(*restored, follower_balance, 60, 1, 70), apply(leader, balance, 60, 1, 70));
  EXPECT_EQ(restored->encode(), leader.encode());
  EXPECT_FALSE(restored->last_sequence(2).has_value());  // idle since 11: expired at 70
  // Without the table the retry's session is unknown: rejected, never applied again.
  session_table empty(lim);
  int wrong_balance = 30;
  EXPECT_EQ(apply(empty, wrong_balance, 1, 2, 13), "unknown");
  EXPECT_EQ(wrong_balance, 30);
}

// Raft thesis §6.3 / issue 8 §6: a late duplicate of a request whose session was evicted or
// expired is rejected, not applied a second time; so is a request of a session never opened.
// The oracle counts applications per (client, sequence) independently of the table.
TEST(session_table, request_of_an_evicted_expired_or_unknown_session_is_rejected) {
  session_limits lim;
  lim.sessions_max = 2;
  lim.expiry_entries = 100;
  session_table t(lim);
  std::map<std::pair<uint64_t, uint64_t>, int> applied;
  auto apply = [&](uint64_t client, uint64_t seq, index_t index) {
    const auto c = t.check(client, seq, index);
    if (c.verdict == session_verdict::apply) {
      ++applied[{client, seq}];
      t.record_response(client, seq, index, "ok");
    }
    return c.verdict;
  };
  const uint64_t a = t.open(1);
  EXPECT_EQ(apply(a, 1, 2), session_verdict::apply);
  const uint64_t b = t.open(3);
  const uint64_t c = t.open(4);  // evicts a (idle longest)
  EXPECT_EQ(apply(a, 1, 5), session_verdict::unknown_session) << "late duplicate after eviction";
  EXPECT_EQ(apply(a, 2, 6), session_verdict::unknown_session);
  EXPECT_EQ(apply(b, 1, 7), session_verdict::apply);
  // c is idle since 4: expired at 105; its late request is rejected too.
  EXPECT_EQ(apply(b, 2, 90), session_verdict::apply);
  EXPECT_EQ(apply(c, 1, 105), session_verdict::unknown_session) << "request of an expired session";
  EXPECT_EQ(apply(999, 1, 106), session_verdict::unknown_session) << "never opened";
  EXPECT_EQ(apply(0, 1, 107), session_verdict::unknown_session) << "no session";
  for (const auto& [key, n] : applied) EXPECT_EQ(n, 1) << "client " << key.first << " seq " << key.second;
  EXPECT_EQ(applied.size(), 3u);
  // The open request's framing.
  const auto open = decode_session_payload(encode_session_open("who"));
  ASSERT_TRUE(open.has_value());
  EXPECT_TRUE(open->is_open_request());
  EXPECT_EQ(open->payload, "who");
  EXPECT_FALSE(decode_session_payload(encode_session_payload(a, 1, "x"))->is_open_request());
}

TEST(session_table, decode_rejects_malformed_and_oversized_input) {
  session_limits lim;
  lim.sessions_max = 2;
  lim.response_bytes_max = 4;
  session_table t(lim);
  t.open(5);
  t.open(6);
  t.record_response(5, 1, 1, "abcd");
  t.record_response(6, 1, 2, "x");
  const std::string good = t.encode();
  ASSERT_TRUE(session_table::decode(good, lim).has_value());
  for (size_t n = 0; n < good.size(); ++n) {
    auto d = session_table::decode(good.substr(0, n), lim);
    ASSERT_FALSE(d.has_value()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(d.error().code, raft_error_code::malformed_encoding);
  }
  EXPECT_FALSE(session_table::decode(good + "x", lim).has_value());  // trailing bytes
  std::string version = good;
  version[0] = 0x7f;
  EXPECT_FALSE(session_table::decode(version, lim).has_value());
  // Beyond the limits of the decoding replica: more sessions, a longer response.
  session_limits small = lim;
  small.sessions_max = 1;
  EXPECT_FALSE(session_table::decode(good, small).has_value());
  small = lim;
  small.response_bytes_max = 3;
  EXPECT_FALSE(session_table::decode(good, small).has_value());
  // Not canonical: client ids out of order or 0 (byte 9 starts the first session's id).
  std::string swapped = good;
  swapped[9] = 7;  // first id 7, second 6
  EXPECT_FALSE(session_table::decode(swapped, lim).has_value());
  std::string zero = good;
  zero[9] = 0;
  EXPECT_FALSE(session_table::decode(zero, lim).has_value());
  // A huge session count with little input behind it is refused without allocating.
  std::string huge = good.substr(0, 1) + std::string(8, '\xff');
  session_limits unbounded;
  unbounded.sessions_max = ~uint64_t{0};
  EXPECT_FALSE(session_table::decode(huge, unbounded).has_value());
}

}  // namespace
}  // namespace energo::consensus
