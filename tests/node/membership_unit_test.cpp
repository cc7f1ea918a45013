// The member registry, signed membership requests and log entry kinds (actors/membership.hpp).
// Oracles are written from docs/node.md "Membership", not from the code.
#include <gtest/gtest.h>

#include "actors/membership.hpp"
#include "crypto/hash.hpp"
#include "node/data_dir.hpp"

namespace {

using namespace energo;
using namespace energo::actors;

crypto::ed25519_keypair key_of(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return crypto::ed25519_keypair::from_seed(seed);
}

const std::string cluster = "test/cluster";
const crypto::hash256 genesis = crypto::sha256(crypto::as_bytes(std::string_view("genesis")));

member_registry three_voters() {
  member_registry r;
  for (uint8_t i = 1; i <= 3; ++i) {
    const auto k = key_of(i).public_key();
    const auto id = node_id_of_key(k);
    r.members[id] = member_record{id, "n" + std::to_string(i), k, "127.0.0.1:710" + std::to_string(i),
                                  "127.0.0.1:720" + std::to_string(i), member_role::voter};
  }
  return r;
}

admin_request add_request(uint64_t nonce, uint8_t node_seed, const crypto::ed25519_keypair& admin) {
  admin_request r;
  r.op = admin_op::add;
  r.nonce = nonce;
  r.node_key = key_of(node_seed).public_key();
  r.name = "n" + std::to_string(node_seed);
  r.peer = "127.0.0.1:7999";
  r.client = "127.0.0.1:7998";
  r.role = member_role::learner;
  return sign_admin_request(r, admin, cluster, genesis);
}

TEST(membership, NodeIdMatchesTheNodeDirectoryFormula) {
  for (uint8_t i = 1; i < 20; ++i) {
    const auto k = key_of(i).public_key();
    EXPECT_EQ(node_id_of_key(k), node::node_id_of(k));
  }
}

TEST(membership, OnlyCommandBatchesAndAdminRequestsAreForwardable) {
  EXPECT_FALSE(forwardable(encode_tick_entry(1234)));
  EXPECT_EQ(kind_of(encode_tick_entry(1234)), entry_kind::leader_tick);
  EXPECT_EQ(decode_tick_entry(encode_tick_entry(1234)), 1234);
  EXPECT_TRUE(forwardable(std::string("\x01\x00\x00\x00\x00", 5)));
  EXPECT_TRUE(forwardable(encode_admin_entry("x")));
  EXPECT_FALSE(forwardable(""));
  EXPECT_FALSE(forwardable(std::string("\x07", 1)));
  EXPECT_FALSE(forwardable(std::string("\x00", 1)));
}

TEST(membership, RegistryRoundTripsAndRefusesMalformedBytes) {
  auto r = three_voters();
  r.admin_nonces[key_of(9).public_key()] = 77;
  const auto bytes = encode_registry(r);
  auto back = decode_registry(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(decode_registry(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(decode_registry(bytes + "x"));
  auto tampered = bytes;
  tampered[3] ^= 1;  // inside the first member's id: no longer its key's id
  EXPECT_FALSE(decode_registry(tampered));
  const auto m = r.desired_membership();
  EXPECT_EQ(m.voters.size(), 3u);
  EXPECT_TRUE(m.learners.empty());
}

TEST(membership, SignedAddAppliesOnceAndReplayIsStale) {
  const auto admin = key_of(50);
  const std::vector<crypto::ed25519_public_key> admins{admin.public_key()};
  auto reg = three_voters();
  const auto req = add_request(10, 4, admin);
  auto decoded = decode_admin_request(encode_admin_request(req));
  ASSERT_TRUE(decoded);
  auto o = apply_admin_request(reg, *decoded, admins, cluster, genesis);
  ASSERT_TRUE(o.accepted()) << o.code << ": " << o.message;
  EXPECT_EQ(reg.members.size(), 4u);
  EXPECT_EQ(reg.members.at(node_id_of_key(key_of(4).public_key())).role, member_role::learner);
  EXPECT_EQ(reg.desired_membership().learners.size(), 1u);
  // The same request again: refused on its nonce, nothing changes.
  const auto before = reg;
  EXPECT_EQ(apply_admin_request(reg, *decoded, admins, cluster, genesis).code, "stale_nonce");
  // A new request with the same nonce (another node): also stale.
  EXPECT_EQ(apply_admin_request(reg, add_request(10, 5, admin), admins, cluster, genesis).code, "stale_nonce");
  EXPECT_EQ(reg, before);
  // Promote with a higher nonce.
  admin_request p;
  p.op = admin_op::promote;
  p.nonce = 11;
  p.node = node_id_of_key(key_of(4).public_key());
  EXPECT_TRUE(apply_admin_request(reg, sign_admin_request(p, admin, cluster, genesis), admins, cluster, genesis).accepted());
  EXPECT_EQ(reg.desired_membership().voters.size(), 4u);
}

TEST(membership, RefusesNonAdminsForgeriesOtherClustersAndInvalidChanges) {
  const auto admin = key_of(50);
  const std::vector<crypto::ed25519_public_key> admins{admin.public_key()};
  auto reg = three_voters();
  const auto before = reg;
  EXPECT_EQ(apply_admin_request(reg, add_request(1, 4, key_of(51)), admins, cluster, genesis).code, "unauthorized");
  auto forged = add_request(1, 4, admin);
  forged.peer = "10.0.0.1:1";  // changed after signing
  EXPECT_EQ(apply_admin_request(reg, forged, admins, cluster, genesis).code, "bad_signature");
  EXPECT_EQ(apply_admin_request(reg, add_request(1, 4, admin), admins, "other/cluster", genesis).code, "bad_signature");
  EXPECT_EQ(apply_admin_request(reg, add_request(1, 1, admin), admins, cluster, genesis).code, "member_exists");
  admin_request p;
  p.op = admin_op::promote;
  p.nonce = 2;
  p.node = reg.members.begin()->first;  // already a voter
  EXPECT_EQ(apply_admin_request(reg, sign_admin_request(p, admin, cluster, genesis), admins, cluster, genesis).code, "invalid");
  p.op = admin_op::remove;
  p.node = 12345;
  EXPECT_EQ(apply_admin_request(reg, sign_admin_request(p, admin, cluster, genesis), admins, cluster, genesis).code,
            "unknown_member");
  EXPECT_EQ(reg, before);
  // The last voter cannot be removed.
  uint64_t n = 10;
  for (auto it = reg.members.begin(); reg.members.size() > 1;) {
    p.nonce = ++n;
    p.node = it->first;
    ASSERT_TRUE(apply_admin_request(reg, sign_admin_request(p, admin, cluster, genesis), admins, cluster, genesis).accepted());
    it = reg.members.begin();
  }
  p.nonce = ++n;
  p.node = reg.members.begin()->first;
  EXPECT_EQ(apply_admin_request(reg, sign_admin_request(p, admin, cluster, genesis), admins, cluster, genesis).code, "invalid");
}

// Demote (op 5): a voter becomes a learner; a learner, an unknown node and the last voter are
// refused and change nothing; the request survives its wire round trip.
TEST(membership, DemoteMakesAVoterALearnerButNeverTheLastVoter) {
  const auto admin = key_of(50);
  const std::vector<crypto::ed25519_public_key> admins{admin.public_key()};
  auto reg = three_voters();
  auto demote = [&](uint64_t nonce, consensus::node_id node) {
    admin_request d;
    d.op = admin_op::demote;
    d.nonce = nonce;
    d.node = node;
    const auto bytes = encode_admin_request(sign_admin_request(d, admin, cluster, genesis));
    const auto decoded = decode_admin_request(bytes);
    EXPECT_TRUE(decoded);
    return decoded ? apply_admin_request(reg, *decoded, admins, cluster, genesis) : admin_outcome{"malformed", ""};
  };
  std::vector<consensus::node_id> ids;
  for (const auto& [id, m] : reg.members) ids.push_back(id);
  ASSERT_TRUE(demote(1, ids[0]).accepted());
  EXPECT_EQ(reg.members.at(ids[0]).role, member_role::learner);
  EXPECT_EQ(reg.desired_membership().learners.count(ids[0]), 1u);
  const auto after_first = reg;
  EXPECT_EQ(demote(2, ids[0]).code, "invalid");  // already a learner
  EXPECT_EQ(demote(3, 12345).code, "unknown_member");
  EXPECT_EQ(reg, after_first);  // refusals change nothing, not even the nonce
  ASSERT_TRUE(demote(4, ids[1]).accepted());
  EXPECT_EQ(demote(5, ids[2]).code, "invalid");  // the last voter
  EXPECT_EQ(reg.members.at(ids[2]).role, member_role::voter);
}

TEST(membership, AdminRequestDecoderRefusesTruncatedAndOversizedInput) {
  const auto bytes = encode_admin_request(add_request(1, 4, key_of(50)));
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_admin_request(bytes.substr(0, n))) << n;
  EXPECT_FALSE(decode_admin_request(bytes + "x"));
  EXPECT_FALSE(decode_admin_request(std::string(limits::admin_request_bytes_max + 1, '\x01')));
}

}  // namespace
