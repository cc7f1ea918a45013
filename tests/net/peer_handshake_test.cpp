// Energo's peer handshake and peer_channel: cluster id and genesis in the prologue, node keys
// proved by signatures bound to the session, admission by membership, and transport frames.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "net/peer_handshake.hpp"
#include "tests/net/test_support.hpp"

namespace energo::net {
namespace {

using crypto::ed25519_keypair;
using crypto::ed25519_public_key;
using noise::role;

ed25519_keypair node(uint8_t n) { return ed25519_keypair::from_seed(std::array<uint8_t, 32>{n, 0x11}); }

const crypto::hash256 genesis_a{0xa1, 0xa2};
const crypto::hash256 genesis_b{0xb1, 0xb2};

struct fixture {
  std::set<ed25519_public_key> members{node(1).public_key(), node(2).public_key()};
  admission_predicate admitted() {
    return [this](const ed25519_public_key& k) { return members.contains(k); };
  }
  peer_handshake_config config(role r, uint8_t node_number, std::string cluster = "test-cluster",
                               crypto::hash256 genesis = genesis_a) {
    peer_handshake_config c;
    c.local_role = r;
    c.cluster_id = std::move(cluster);
    c.genesis_hash = genesis;
    c.node_key = node(node_number);
    c.is_admitted = admitted();
    return c;
  }
};

struct outcome {
  std::optional<channel_error> initiator_error;
  std::optional<channel_error> responder_error;
};

// Moves bytes both ways until neither side has anything to write or one side failed.
// `tamper(index, bytes)` may alter the index-th chunk of bytes in flight.
outcome pump(peer_channel& i, peer_channel& r,
             const std::function<void(std::size_t, std::vector<uint8_t>&)>& tamper = {}) {
  outcome o;
  std::vector<std::vector<uint8_t>> messages;
  std::size_t index = 0;
  for (int round = 0; round < 10; ++round) {
    auto to_r = i.take_output();
    auto to_i = r.take_output();
    if (to_r.empty() && to_i.empty()) break;
    if (!to_r.empty()) {
      if (tamper) tamper(index, to_r);
      ++index;
      auto res = r.on_bytes(to_r, messages);
      if (!res) o.responder_error = res.error();
    }
    if (!to_i.empty()) {
      if (tamper) tamper(index, to_i);
      ++index;
      auto res = i.on_bytes(to_i, messages);
      if (!res) o.initiator_error = res.error();
    }
    if (o.initiator_error || o.responder_error) break;
  }
  EXPECT_TRUE(messages.empty());
  return o;
}

TEST(peer_handshake, prologue_layout) {
  const auto p = peer_prologue("ab", genesis_a);
  std::vector<uint8_t> want{'e', 'n', 'e', 'r', 'g', 'o', '/', 'p', 'e', 'e', 'r', '/', 'v', '1', 0, 2, 'a', 'b'};
  want.insert(want.end(), genesis_a.begin(), genesis_a.end());
  EXPECT_EQ(p, want);
}

TEST(peer_handshake, round_trip_authenticates_both_node_keys) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 1)).value();
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  auto o = pump(i, r);
  ASSERT_FALSE(o.initiator_error) << o.initiator_error->message;
  ASSERT_FALSE(o.responder_error) << o.responder_error->message;
  ASSERT_TRUE(i.established());
  ASSERT_TRUE(r.established());
  EXPECT_EQ(i.remote_node_key(), node(2).public_key());
  EXPECT_EQ(r.remote_node_key(), node(1).public_key());
  EXPECT_EQ(i.session()->handshake_hash(), r.session()->handshake_hash());

  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(i.send(std::vector<uint8_t>{1, 2, 3}));
  ASSERT_TRUE(i.send(std::vector<uint8_t>{4}));
  ASSERT_TRUE(r.on_bytes(i.take_output(), got));
  ASSERT_TRUE(r.send(std::vector<uint8_t>{9}));
  ASSERT_TRUE(i.on_bytes(r.take_output(), got));
  EXPECT_EQ(got, (std::vector<std::vector<uint8_t>>{{1, 2, 3}, {4}, {9}}));
}

// The whole conversation (handshake and transport) cut into random chunks, including frames that
// arrive in the same chunk as the handshake's last message.
TEST(peer_handshake, random_chunking_of_the_byte_stream) {
  const uint64_t seed = test::test_seed("peer_handshake.random_chunking_of_the_byte_stream");
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  fixture f;
  for (int round = 0; round < 20; ++round) {
    auto i = peer_channel::create(f.config(role::initiator, 1)).value();
    auto r = peer_channel::create(f.config(role::responder, 2)).value();
    std::vector<std::vector<uint8_t>> at_i, at_r;
    auto deliver = [&](peer_channel& to, std::vector<uint8_t> bytes, std::vector<std::vector<uint8_t>>& out) {
      std::size_t offset = 0;
      while (offset < bytes.size()) {
        const std::size_t n = std::min<std::size_t>(1 + rng() % 40, bytes.size() - offset);
        ASSERT_TRUE(to.on_bytes(std::span(bytes).subspan(offset, n), out));
        offset += n;
      }
    };
    deliver(r, i.take_output(), at_r);  // message 1
    deliver(i, r.take_output(), at_i);  // message 2
    ASSERT_TRUE(i.established());
    ASSERT_TRUE(i.send(std::vector<uint8_t>{7, 7}));  // queued right behind message 3
    deliver(r, i.take_output(), at_r);
    ASSERT_TRUE(r.established());
    EXPECT_EQ(at_r, (std::vector<std::vector<uint8_t>>{{7, 7}}));
  }
}

TEST(peer_handshake, wrong_cluster_id_fails_with_a_clear_error) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 1, "cluster-x")).value();
  auto r = peer_channel::create(f.config(role::responder, 2, "cluster-y")).value();
  auto o = pump(i, r);
  ASSERT_TRUE(o.initiator_error);
  EXPECT_EQ(o.initiator_error->code, channel_error_code::prologue_mismatch_or_tampered);
  EXPECT_NE(o.initiator_error->message.find("cluster id or genesis mismatch or tampered handshake"),
            std::string::npos);
  EXPECT_FALSE(i.established());
  EXPECT_FALSE(r.established());
  EXPECT_FALSE(i.remote_node_key());
}

TEST(peer_handshake, wrong_genesis_fails_with_a_clear_error) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 1, "c", genesis_a)).value();
  auto r = peer_channel::create(f.config(role::responder, 2, "c", genesis_b)).value();
  auto o = pump(i, r);
  ASSERT_TRUE(o.initiator_error);
  EXPECT_EQ(o.initiator_error->code, channel_error_code::prologue_mismatch_or_tampered);
  EXPECT_FALSE(r.established());
}

TEST(peer_handshake, non_member_initiator_is_refused_by_the_responder) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 3)).value();  // node 3: not a member
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  auto o = pump(i, r);
  ASSERT_TRUE(o.responder_error);
  EXPECT_EQ(o.responder_error->code, channel_error_code::peer_not_admitted);
  EXPECT_FALSE(r.established());
  // A member being added: the predicate admits it and the same node gets in.
  f.members.insert(node(3).public_key());
  auto i2 = peer_channel::create(f.config(role::initiator, 3)).value();
  auto r2 = peer_channel::create(f.config(role::responder, 2)).value();
  auto o2 = pump(i2, r2);
  EXPECT_FALSE(o2.responder_error);
  EXPECT_TRUE(r2.established());
}

TEST(peer_handshake, non_member_responder_is_refused_before_the_initiator_reveals_itself) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 1)).value();
  auto r = peer_channel::create(f.config(role::responder, 3)).value();
  auto o = pump(i, r);
  ASSERT_TRUE(o.initiator_error);
  EXPECT_EQ(o.initiator_error->code, channel_error_code::peer_not_admitted);
  EXPECT_TRUE(i.take_output().empty()) << "message 3 (the initiator's identity) must not be sent";
}

TEST(peer_handshake, initiator_refuses_a_node_other_than_the_one_it_dialed) {
  fixture f;
  auto c = f.config(role::initiator, 1);
  c.expected_peer = node(1).public_key();  // dials itself, reaches node 2
  auto i = peer_channel::create(c).value();
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  auto o = pump(i, r);
  ASSERT_TRUE(o.initiator_error);
  EXPECT_EQ(o.initiator_error->code, channel_error_code::unexpected_peer);
}

// --- a malicious peer built from the raw Noise layer -----------------------------------------

struct raw_peer {
  noise::handshake_state hs;
  noise::x25519_keypair s;
};

raw_peer raw(role r, const std::string& cluster = "test-cluster", std::optional<noise::x25519_keypair> s = {}) {
  noise::handshake_config c;
  c.local_role = r;
  c.prologue = peer_prologue(cluster, genesis_a);
  c.local_static = s ? *s : noise::x25519_keypair::generate();
  return {noise::handshake_state::create(c).value(), *c.local_static};
}

std::vector<uint8_t> proof(const ed25519_keypair& signer, const ed25519_public_key& claimed, role r,
                           const noise::key32& signed_static, const noise::hash32& h) {
  auto sig = signer.sign(node_key_proof_message(r, signed_static, h));
  std::vector<uint8_t> out(claimed.bytes.begin(), claimed.bytes.end());
  out.insert(out.end(), sig.bytes.begin(), sig.bytes.end());
  return out;
}

// Runs a real initiator against a raw responder whose message-2 payload is `make_payload(h, s)`.
channel_result<void> initiator_against(fixture& f, raw_peer& m,
                                       const std::function<std::vector<uint8_t>(const noise::hash32&)>& make_payload) {
  auto i = peer_channel::create(f.config(role::initiator, 1)).value();
  std::vector<std::vector<uint8_t>> frames, messages;
  frame_decoder d;
  EXPECT_TRUE(d.feed(i.take_output(), frames));
  EXPECT_TRUE(m.hs.read_message(frames.at(0)));
  auto m2 = m.hs.write_message_with(make_payload).value();
  return i.on_bytes(encode_frame(m2), messages);
}

TEST(peer_handshake, signature_over_another_noise_static_key_is_refused) {
  fixture f;
  auto m = raw(role::responder);
  const auto other_static = noise::x25519_keypair::generate();
  // Node 2's genuine key signs, but over a Noise key that is not the one used in this session.
  auto r = initiator_against(f, m, [&](const noise::hash32& h) {
    return proof(node(2), node(2).public_key(), role::responder, other_static.public_key, h);
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::identity_proof_invalid);
}

TEST(peer_handshake, a_correct_raw_responder_is_accepted) {
  // Control for the forgery tests: the same harness with an honest proof succeeds.
  fixture f;
  auto m = raw(role::responder);
  auto r = initiator_against(f, m, [&](const noise::hash32& h) {
    return proof(node(2), node(2).public_key(), role::responder, m.s.public_key, h);
  });
  EXPECT_TRUE(r) << r.error().message;
}

TEST(peer_handshake, proof_signed_by_another_key_than_claimed_is_refused) {
  fixture f;
  auto m = raw(role::responder);
  auto r = initiator_against(f, m, [&](const noise::hash32& h) {
    return proof(node(3), node(2).public_key(), role::responder, m.s.public_key, h);  // claims 2, signs as 3
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::identity_proof_invalid);
}

TEST(peer_handshake, proof_with_the_wrong_role_is_refused) {
  fixture f;
  auto m = raw(role::responder);
  auto r = initiator_against(f, m, [&](const noise::hash32& h) {
    return proof(node(2), node(2).public_key(), role::initiator, m.s.public_key, h);
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::identity_proof_invalid);
}

// Someone holding node 2's Noise static key (but not its node key) replays the proof node 2 gave
// in an earlier session: the handshake hash differs, so the signature does not verify.
TEST(peer_handshake, proof_from_an_earlier_session_is_refused) {
  fixture f;
  const auto node2_static = noise::x25519_keypair::generate();
  // Record node 2's genuine proof from an earlier session (decrypted by that session's initiator).
  std::vector<uint8_t> recorded;
  {
    auto mi = raw(role::initiator);
    auto mr = raw(role::responder, "test-cluster", node2_static);
    ASSERT_TRUE(mr.hs.read_message(mi.hs.write_message(byte_span{}).value()));
    auto m2 = mr.hs.write_message_with([&](const noise::hash32& h) {
      return proof(node(2), node(2).public_key(), role::responder, node2_static.public_key, h);
    });
    recorded = mi.hs.read_message(m2.value()).value();
  }
  auto m = raw(role::responder, "test-cluster", node2_static);
  auto r = initiator_against(f, m, [&](const noise::hash32&) { return recorded; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, channel_error_code::identity_proof_invalid);
}

TEST(peer_handshake, forged_initiator_proof_is_refused_by_the_responder) {
  fixture f;
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  auto m = raw(role::initiator);
  std::vector<std::vector<uint8_t>> frames, messages;
  ASSERT_TRUE(r.on_bytes(encode_frame(m.hs.write_message(byte_span{}).value()), messages));
  frame_decoder d;
  ASSERT_TRUE(d.feed(r.take_output(), frames));
  ASSERT_TRUE(m.hs.read_message(frames.at(0)));
  const auto other_static = noise::x25519_keypair::generate();
  auto m3 = m.hs.write_message_with([&](const noise::hash32& h) {
    return proof(node(1), node(1).public_key(), role::initiator, other_static.public_key, h);
  });
  auto res = r.on_bytes(encode_frame(m3.value()), messages);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, channel_error_code::identity_proof_invalid);
  EXPECT_FALSE(r.established());
}

TEST(peer_handshake, message_1_with_a_payload_is_refused) {
  fixture f;
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  auto m = raw(role::initiator);
  std::vector<std::vector<uint8_t>> messages;
  auto res = r.on_bytes(encode_frame(m.hs.write_message(std::vector<uint8_t>{'x'}).value()), messages);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, channel_error_code::handshake_message_invalid);
}

// Flip each bit position (one byte at a time) of every handshake frame in flight: the responder
// never accepts, and the initiator never accepts when message 1 or 2 was altered.
TEST(peer_handshake, any_tampered_handshake_byte_fails) {
  fixture f;
  const std::size_t frame_sizes[3] = {4 + 32, 4 + 32 + 48 + 96 + 16, 4 + 48 + 96 + 16};
  for (std::size_t target = 0; target < 3; ++target) {
    for (std::size_t byte = 0; byte < frame_sizes[target]; ++byte) {
      auto i = peer_channel::create(f.config(role::initiator, 1)).value();
      auto r = peer_channel::create(f.config(role::responder, 2)).value();
      bool tampered = false;
      pump(i, r, [&](std::size_t index, std::vector<uint8_t>& bytes) {
        if (index != target) return;
        ASSERT_EQ(bytes.size(), frame_sizes[target]);
        bytes[byte] ^= 0x04;
        tampered = true;
      });
      ASSERT_TRUE(tampered);
      EXPECT_FALSE(r.established()) << "message " << target + 1 << " byte " << byte;
      if (target < 2) {
        EXPECT_FALSE(i.established()) << "message " << target + 1 << " byte " << byte;
      }
    }
  }
}

TEST(peer_handshake, transport_replay_reorder_and_tamper_close_only_that_connection) {
  fixture f;
  f.members.insert(node(3).public_key());
  auto a = peer_channel::create(f.config(role::initiator, 1)).value();
  auto b_from_a = peer_channel::create(f.config(role::responder, 2)).value();
  auto c = peer_channel::create(f.config(role::initiator, 3)).value();
  auto b_from_c = peer_channel::create(f.config(role::responder, 2)).value();
  ASSERT_FALSE(pump(a, b_from_a).initiator_error);
  ASSERT_FALSE(pump(c, b_from_c).initiator_error);
  ASSERT_TRUE(b_from_a.established() && b_from_c.established());

  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(a.send(std::vector<uint8_t>{1}));
  const auto f1 = a.take_output();
  ASSERT_TRUE(a.send(std::vector<uint8_t>{2}));
  const auto f2 = a.take_output();
  ASSERT_TRUE(b_from_a.on_bytes(f1, got));
  auto replay = b_from_a.on_bytes(f1, got);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, channel_error_code::frame_authentication_failed);
  EXPECT_FALSE(b_from_a.on_bytes(f2, got));  // closed: the later genuine frame is refused
  EXPECT_EQ(b_from_a.closed_because()->code, channel_error_code::frame_authentication_failed);

  // The other connection is unaffected.
  ASSERT_TRUE(c.send(std::vector<uint8_t>{3}));
  ASSERT_TRUE(b_from_c.on_bytes(c.take_output(), got));
  EXPECT_EQ(got, (std::vector<std::vector<uint8_t>>{{1}, {3}}));

  // Reorder and tamper on fresh connections.
  auto a2 = peer_channel::create(f.config(role::initiator, 1)).value();
  auto b2 = peer_channel::create(f.config(role::responder, 2)).value();
  ASSERT_FALSE(pump(a2, b2).responder_error);
  ASSERT_TRUE(a2.send(std::vector<uint8_t>{1}));
  const auto g1 = a2.take_output();
  ASSERT_TRUE(a2.send(std::vector<uint8_t>{2}));
  auto g2 = a2.take_output();
  EXPECT_EQ(b2.on_bytes(g2, got).error().code, channel_error_code::frame_authentication_failed);
  EXPECT_FALSE(b2.on_bytes(g1, got));

  auto a3 = peer_channel::create(f.config(role::initiator, 1)).value();
  auto b3 = peer_channel::create(f.config(role::responder, 2)).value();
  ASSERT_FALSE(pump(a3, b3).responder_error);
  ASSERT_TRUE(a3.send(std::vector<uint8_t>{1, 2, 3}));
  auto h1 = a3.take_output();
  h1.back() ^= 1;
  EXPECT_EQ(b3.on_bytes(h1, got).error().code, channel_error_code::frame_authentication_failed);
}

TEST(peer_handshake, garbage_and_oversize_frames_before_authentication) {
  fixture f;
  const uint64_t seed = test::test_seed("peer_handshake.garbage_and_oversize_frames_before_authentication");
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 100; ++round) {
    auto r = peer_channel::create(f.config(role::responder, 2)).value();
    std::vector<uint8_t> garbage(1 + rng() % 400);
    for (auto& b : garbage) b = static_cast<uint8_t>(rng());
    if (round % 2 == 0) {  // a plausible length so that the handshake layer sees it
      garbage.insert(garbage.begin(), {0, 0, 0, static_cast<uint8_t>(1 + rng() % 200)});
    }
    std::vector<std::vector<uint8_t>> messages;
    std::size_t offset = 0;
    while (offset < garbage.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 16, garbage.size() - offset);
      if (!r.on_bytes(std::span(garbage).subspan(offset, n), messages)) break;
      offset += n;
    }
    EXPECT_FALSE(r.established());
    EXPECT_TRUE(messages.empty());
  }
  // Before authentication the limit is one Noise message, not a full frame.
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  std::vector<std::vector<uint8_t>> messages;
  const uint32_t len = limits::handshake_frame_bytes_max + 1;
  auto res = r.on_bytes(std::vector<uint8_t>{0, static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
                                             static_cast<uint8_t>(len)},
                        messages);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, channel_error_code::frame_oversize);
  auto zero = peer_channel::create(f.config(role::responder, 2)).value();
  EXPECT_EQ(zero.on_bytes(std::vector<uint8_t>{0, 0, 0, 0}, messages).error().code, channel_error_code::frame_empty);
}

TEST(peer_handshake, large_frames_only_after_authentication) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 1)).value();
  auto r = peer_channel::create(f.config(role::responder, 2)).value();
  ASSERT_FALSE(pump(i, r).responder_error);
  std::vector<uint8_t> big(1 << 20, 5);
  ASSERT_TRUE(i.send(big));
  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(r.on_bytes(i.take_output(), got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], big);
}

TEST(peer_handshake, send_before_established_and_bad_config) {
  fixture f;
  auto i = peer_channel::create(f.config(role::initiator, 1)).value();
  EXPECT_EQ(i.send(std::vector<uint8_t>{1}).error().code, channel_error_code::not_established);
  EXPECT_EQ(peer_channel::create(f.config(role::initiator, 1, "")).error().code, channel_error_code::bad_config);
  EXPECT_EQ(peer_channel::create(f.config(role::initiator, 1, std::string(limits::cluster_id_bytes_max + 1, 'x')))
                .error().code,
            channel_error_code::bad_config);
  auto c = f.config(role::initiator, 1);
  c.is_admitted = nullptr;
  EXPECT_EQ(peer_channel::create(c).error().code, channel_error_code::bad_config);
}

// The session limits given in the config reach the session (rekey boundary end to end).
TEST(peer_handshake, session_limits_from_the_config_apply) {
  fixture f;
  auto ci = f.config(role::initiator, 1);
  auto cr = f.config(role::responder, 2);
  ci.session = session_limits{2, 4};
  cr.session = session_limits{2, 4};
  auto i = peer_channel::create(ci).value();
  auto r = peer_channel::create(cr).value();
  ASSERT_FALSE(pump(i, r).responder_error);
  std::vector<std::vector<uint8_t>> got;
  for (uint8_t k = 0; k < 4; ++k) {
    ASSERT_TRUE(i.send(std::vector<uint8_t>{k}));
    ASSERT_TRUE(r.on_bytes(i.take_output(), got));
  }
  EXPECT_EQ(got.size(), 4u);
  auto over = i.send(std::vector<uint8_t>{9});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, channel_error_code::session_exhausted);
  EXPECT_TRUE(i.closed_because());
}

}  // namespace
}  // namespace energo::net
