// The transport half of the peer channel: strict per-direction counters (replay, reorder, drop and
// tampering all close the session), deterministic rekeying and the session's end of life.
#include <gtest/gtest.h>

#include "net/secure_session.hpp"
#include "tests/net/test_support.hpp"

namespace energo::net {
namespace {

using noise::handshake_config;
using noise::handshake_state;
using noise::role;
using noise::transport_ciphers;
using noise::x25519_keypair;

// Transport keys from a real XX handshake (first: initiator's, second: responder's).
std::pair<transport_ciphers, transport_ciphers> handshake_keys() {
  handshake_config ci;
  ci.local_static = x25519_keypair::generate();
  handshake_config cr;
  cr.local_role = role::responder;
  cr.local_static = x25519_keypair::generate();
  auto a = handshake_state::create(ci).value();
  auto b = handshake_state::create(cr).value();
  EXPECT_TRUE(b.read_message(a.write_message(byte_span{}).value()));
  EXPECT_TRUE(a.read_message(b.write_message(byte_span{}).value()));
  EXPECT_TRUE(b.read_message(a.write_message(byte_span{}).value()));
  return {a.split().value(), b.split().value()};
}

struct session_pair {
  secure_session a;
  secure_session b;
};

session_pair make_pair(session_limits la = {}, session_limits lb = {}) {
  auto [ka, kb] = handshake_keys();
  return {secure_session(ka, la), secure_session(kb, lb)};
}

std::vector<uint8_t> msg(int i) { return {static_cast<uint8_t>('m'), static_cast<uint8_t>(i), 0x42}; }

// The frame's payload, as the decoder would hand it to open().
std::vector<uint8_t> payload_of(const std::vector<uint8_t>& frame) {
  std::vector<std::vector<uint8_t>> frames;
  frame_decoder d;
  EXPECT_TRUE(d.feed(frame, frames));
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? std::vector<uint8_t>{} : frames[0];
}

TEST(secure_session, round_trip_both_directions) {
  auto p = make_pair();
  EXPECT_EQ(p.a.handshake_hash(), p.b.handshake_hash());
  for (int i = 0; i < 50; ++i) {
    auto f = p.a.seal(msg(i));
    ASSERT_TRUE(f);
    auto opened = p.b.open(payload_of(*f));
    ASSERT_TRUE(opened) << "a -> b frame " << i;
    EXPECT_EQ(*opened, msg(i));
    auto g = p.b.seal(msg(1000 + i));
    ASSERT_TRUE(g);
    auto back = p.a.open(payload_of(*g));
    ASSERT_TRUE(back) << "b -> a frame " << i;
    EXPECT_EQ(*back, msg(1000 + i));
  }
  EXPECT_EQ(p.a.frames_sent(), 50u);
  EXPECT_EQ(p.b.frames_received(), 50u);
  EXPECT_TRUE(p.b.open(payload_of(p.a.seal(byte_span{}).value())).value().empty());
}

TEST(secure_session, replayed_frame_closes_the_session) {
  auto p = make_pair();
  auto f0 = payload_of(p.a.seal(msg(0)).value());
  auto f1 = payload_of(p.a.seal(msg(1)).value());
  ASSERT_TRUE(p.b.open(f0));
  auto replay = p.b.open(f0);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, channel_error_code::frame_authentication_failed);
  // Closed for good: even the next genuine frame is refused.
  auto next = p.b.open(f1);
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, channel_error_code::frame_authentication_failed);
  ASSERT_TRUE(p.b.closed_because());
}

TEST(secure_session, reordered_or_dropped_frame_closes_the_session) {
  auto p = make_pair();
  auto f0 = payload_of(p.a.seal(msg(0)).value());
  auto f1 = payload_of(p.a.seal(msg(1)).value());
  auto r = p.b.open(f1);  // f0 reordered after f1, or dropped
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::frame_authentication_failed);
  EXPECT_FALSE(p.b.open(f0));
}

TEST(secure_session, any_flipped_bit_closes_the_session) {
  auto p0 = make_pair();
  const auto f = payload_of(p0.a.seal(msg(7)).value());
  for (std::size_t byte = 0; byte < f.size(); ++byte) {
    auto p = make_pair();
    // Same keys are not reused across pairs, so seal again with this pair's sender.
    auto g = payload_of(p.a.seal(msg(7)).value());
    g[byte] ^= 0x80;
    auto r = p.b.open(g);
    ASSERT_FALSE(r) << "flipped byte " << byte;
    EXPECT_EQ(r.error().code, channel_error_code::frame_authentication_failed);
  }
  // Truncated and extended frames too.
  auto p = make_pair();
  auto g = payload_of(p.a.seal(msg(7)).value());
  g.pop_back();
  EXPECT_FALSE(p.b.open(g));
  auto q = make_pair();
  auto h = payload_of(q.a.seal(msg(7)).value());
  h.push_back(0);
  EXPECT_FALSE(q.b.open(h));
}

TEST(secure_session, a_frame_for_the_other_direction_is_refused) {
  auto p = make_pair();
  auto f = payload_of(p.a.seal(msg(0)).value());
  EXPECT_FALSE(p.a.open(f));  // reflected back at its sender
}

// Rekey every 3 frames: the ciphertexts equal a bare cipher_state that applies REKEY before
// frames 3, 6, 9 (Noise §11.3), and a receiver that disagrees about the boundary fails exactly at
// the first rekeyed frame.
TEST(secure_session, rekeys_at_the_deterministic_frame_count) {
  auto [ka, kb] = handshake_keys();
  const session_limits small{3, 1000};
  secure_session sender(ka, small);
  secure_session receiver(kb, small);
  secure_session receiver_late(kb, session_limits{4, 1000});
  secure_session receiver_never(kb, session_limits{1000, 1000});
  noise::cipher_state oracle = ka.send;
  std::optional<uint64_t> late_failed_at, never_failed_at;
  for (uint64_t i = 0; i < 10; ++i) {
    if (i > 0 && i % 3 == 0) oracle.rekey();
    const auto frame = payload_of(sender.seal(msg(static_cast<int>(i))).value());
    EXPECT_EQ(frame, oracle.encrypt_with_ad({}, msg(static_cast<int>(i))).value()) << "frame " << i;
    auto opened = receiver.open(frame);
    ASSERT_TRUE(opened) << "receiver with the same limit refused frame " << i;
    EXPECT_EQ(*opened, msg(static_cast<int>(i)));
    if (!late_failed_at && !receiver_late.open(frame)) late_failed_at = i;
    if (!never_failed_at && !receiver_never.open(frame)) never_failed_at = i;
  }
  EXPECT_EQ(late_failed_at, std::optional<uint64_t>(3));
  EXPECT_EQ(never_failed_at, std::optional<uint64_t>(3));
}

TEST(secure_session, refuses_use_after_frames_per_session_max) {
  auto [ka, kb] = handshake_keys();
  secure_session sender(ka, session_limits{2, 5});
  secure_session receiver(kb, session_limits{2, 5});
  secure_session sender_unbounded(ka, session_limits{2, 100});
  for (int i = 0; i < 5; ++i) {
    auto f = sender.seal(msg(i));
    ASSERT_TRUE(f) << i;
    ASSERT_TRUE(receiver.open(payload_of(*f))) << i;
    ASSERT_TRUE(sender_unbounded.seal(msg(i)));
  }
  auto over = sender.seal(msg(5));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, channel_error_code::session_exhausted);
  EXPECT_FALSE(sender.seal(msg(6)));
  // A peer that keeps sending past the limit is cut off on receive too.
  auto sixth = payload_of(sender_unbounded.seal(msg(5)).value());
  auto r = receiver.open(sixth);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::session_exhausted);
}

TEST(secure_session, default_limits_renew_far_below_nonce_wrap) {
  EXPECT_LT(limits::frames_per_session_max, noise::nonce_max / 1024);
  EXPECT_LT(limits::frames_per_key_max, limits::frames_per_session_max);
}

TEST(secure_session, message_size_limit_fills_exactly_one_frame) {
  auto p = make_pair();
  std::vector<uint8_t> big(limits::session_plaintext_bytes_max + 1, 1);
  auto r = p.a.seal(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::plaintext_too_large);
  EXPECT_FALSE(p.a.closed_because());  // a caller error, not a broken connection
  big.pop_back();
  auto f = p.a.seal(big).value();
  EXPECT_EQ(f.size(), limits::frame_header_bytes + limits::frame_bytes_max);
  EXPECT_EQ(p.b.open(payload_of(f)).value(), big);
}

}  // namespace
}  // namespace energo::net
