// Membership and the authenticated peer channel with real energo-node processes (issue 8 §3, §4,
// §7): three nodes; Noise handshakes with an unknown key, a wrong cluster id, an oversized and a
// garbage frame on the peer port are each refused and close only that connection; a forged client
// command is refused and a replayed one is not applied again; a 4th node joins with --join, is
// added as a learner with energoctl, catches up from a snapshot, is promoted; another node is
// removed; leadership is transferred; admin requests with a stale nonce or a non-admin key are
// refused; then every member in turn gets SIGTERM and restarts under a light load, and every
// acknowledged command is present afterwards on every member.
#include <poll.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "actors/state_codec.hpp"
#include "crypto/bytes.hpp"
#include "net/peer_handshake.hpp"
#include "tests/node/cluster_fixture.hpp"

namespace {

using namespace energo;
using namespace energo::test_node;
using json = nlohmann::json;


// What happened to one Noise handshake we started against a node's peer port.
struct attempt {
  std::optional<net::channel_error_code> local_error;  // our side refused the node's message
  bool established = false;                             // our side finished the handshake
  bool closed_by_node = false;                          // the node closed the connection
};

attempt try_handshake(uint16_t port, net::peer_handshake_config cfg, std::chrono::milliseconds watch) {
  attempt a;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return a;
  }
  auto ch = net::peer_channel::create(std::move(cfg));
  EXPECT_TRUE(ch);
  auto flush = [&] {
    auto out = ch->take_output();
    if (!out.empty()) (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  };
  flush();
  const auto deadline = clock_type::now() + watch;
  uint8_t buf[4096];
  while (clock_type::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      a.closed_by_node = true;
      break;
    }
    std::vector<std::vector<uint8_t>> msgs;
    if (auto r = ch->on_bytes(net::byte_span(buf, static_cast<std::size_t>(n)), msgs); !r) {
      a.local_error = r.error().code;
      break;
    }
    flush();
    a.established = a.established || ch->established();
  }
  a.established = a.established || ch->established();
  ::close(fd);
  return a;
}

class membership_fixture : public cluster_fixture {
 protected:
  std::optional<json> members(const node_proc& via) { return member_list(via.client_port); }
  std::string raft_role(const node_proc& via, uint64_t id) {
    auto m = members(via);
    if (!m) return "?";
    for (const auto& x : (*m)["members"]) {
      if (x["id"].get<uint64_t>() == id) return x["raft_role"].get<std::string>();
    }
    return "none";
  }
  std::string endpoints(const std::vector<node_proc*>& live) {
    std::string e;
    for (const auto* n : live) e += (e.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(n->client_port));
    return e;
  }
  net::peer_handshake_config handshake_config(const std::string& cluster_id, const crypto::ed25519_keypair& key) {
    net::peer_handshake_config c;
    c.local_role = net::noise::role::initiator;
    c.cluster_id = cluster_id;
    c.genesis_hash = genesis_hash_;
    c.node_key = key;
    c.is_admitted = [](const crypto::ed25519_public_key&) { return true; };
    return c;
  }
  // A new node, initialised with `energo-node init`, started with --join through nodes_[0] (it waits
  // to be added). nodes_ must have room reserved: the reference stays valid only then.
  node_proc& start_joiner(const std::string& name) {
    node_proc n;
    n.name = name;
    n.dir = root_ + "/" + name;
    n.peer_port = reserve_loopback_port();
    n.client_port = reserve_loopback_port();
    const auto j = json::parse(run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + n.dir));
    n.id = j.at("node_id").get<uint64_t>();
    n.join = "127.0.0.1:" + std::to_string(nodes_[0].client_port);
    nodes_.push_back(n);
    start(nodes_.back());
    return nodes_.back();
  }
  // The applied index and state root agree on every node of `live`, at or above `index`.
  bool converged(const std::vector<node_proc*>& live, uint64_t index) {
    std::optional<net::node_status> first;
    for (const auto* n : live) {
      auto s = status(*n);
      if (!s || s->applied_index < index) return false;
      if (first && (s->applied_index != first->applied_index || s->state_root != first->state_root)) return false;
      if (!first) first = s;
    }
    return true;
  }
};

TEST_F(membership_fixture, AddLearnerPromoteRemoveTransferRollingRestartAndRefusals) {
  load_keys();
  nodes_.reserve(8);  // pointers into nodes_ stay valid when the 4th node is added
  for (auto& n : nodes_) start(n);
  std::vector<node_proc*> live{&nodes_[0], &nodes_[1], &nodes_[2]};
  auto leader = wait_leader({&nodes_[0], &nodes_[1], &nodes_[2]}, 20s);
  ASSERT_TRUE(leader) << "no leader elected";
  const auto st0 = status(nodes_[0]);
  ASSERT_TRUE(st0);
  const std::string cluster_id = st0->cluster_id;
  const int64_t baker_start = account(nodes_[0], baker_address_, false).tsl_units;
  uint64_t acked = 0;
  std::string last_bytes;
  uint64_t last_index = 0;
  auto transfer_ok = [&](const node_proc& via) {
    last_bytes = transfer(acked + 1);
    const auto o = submit(via, last_bytes);
    ASSERT_TRUE(o.accepted) << o.code_name << ": " << o.message;
    ++acked;
    last_index = o.index;
  };

  // ---- The peer port (§3): each bad connection is refused and closed; nothing else changes. ----
  {
    node_proc& target = nodes_[1];
    // Positive control: a member's own node key is admitted and the link stays up.
    auto member_key = tools::read_key_file(nodes_[0].dir + "/node_key.json");
    ASSERT_TRUE(member_key && member_key->ed25519);
    const auto good = try_handshake(target.peer_port, handshake_config(cluster_id, *member_key->ed25519), 800ms);
    EXPECT_TRUE(good.established);
    EXPECT_FALSE(good.closed_by_node);
    EXPECT_FALSE(good.local_error);
    // An unknown node key: the node judges it after message 3 and closes.
    const auto unknown = try_handshake(target.peer_port, handshake_config(cluster_id, crypto::ed25519_keypair::generate()), 3000ms);
    EXPECT_TRUE(unknown.closed_by_node);
    // A wrong cluster id: different prologue, message 2 does not decrypt; the node's side is closed.
    const auto wrong = try_handshake(target.peer_port, handshake_config("another-cluster", *member_key->ed25519), 3000ms);
    ASSERT_TRUE(wrong.local_error);
    EXPECT_EQ(*wrong.local_error, net::channel_error_code::prologue_mismatch_or_tampered);
    EXPECT_FALSE(wrong.established);
    // Oversized and garbage frames.
    net::client_conn big;
    ASSERT_TRUE(big.connect({"127.0.0.1", target.peer_port}, 1000ms));
    ASSERT_TRUE(big.send_raw(std::string("\x00\x10\x00\x00", 4)));  // 1 MiB before authentication
    EXPECT_TRUE(big.wait_closed(3000ms));
    net::client_conn junk;
    ASSERT_TRUE(junk.connect({"127.0.0.1", target.peer_port}, 1000ms));
    ASSERT_TRUE(junk.send_raw(net::frame_of(std::string(40, '\x01'))));
    EXPECT_TRUE(junk.wait_closed(3000ms));
    std::this_thread::sleep_for(200ms);
    const auto log = slurp(root_ + "/" + target.name + ".log");
    EXPECT_NE(log.find("peer_not_admitted"), std::string::npos) << "no log line for the unknown key";
    EXPECT_NE(log.find("frame_oversize"), std::string::npos);
    EXPECT_NE(log.find("handshake_message_invalid"), std::string::npos);
    transfer_ok(target);  // the cluster serves on
  }

  // ---- Client commands: forged refused, replayed not applied twice. ----
  {
    std::string forged = transfer(acked + 1);
    forged.back() = static_cast<char>(forged.back() ^ 0x01);  // the signature's last byte
    net::client_request req;
    req.what = net::client_request::kind::submit;
    req.command = forged;
    auto r = ask(nodes_[0], req);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->what, net::client_response::kind::failure);
    EXPECT_EQ(r->failure.code, net::client_errc::bad_signature);
    // A replay after the node applied the original (before that it simply waits for the same outcome).
    ASSERT_TRUE(wait_until([&] { auto s = status(nodes_[2]); return s && s->applied_index >= last_index; }, step_bound));
    const auto replay = submit(nodes_[2], last_bytes);
    EXPECT_TRUE(replay.duplicate);
    EXPECT_EQ(replay.index, last_index);
    EXPECT_EQ(account(nodes_[0], coop_address_, false).nonce, acked);
  }

  for (int i = 0; i < 16; ++i) transfer_ok(nodes_[i % 3]);  // compacts the log (snapshot every 8)

  // ---- A 4th node joins as a learner and catches up from a snapshot. ----
  node_proc& joiner = start_joiner("n4");
  const std::string pub4 = json::parse(slurp(joiner.dir + "/node.json")).at("public_key").get<std::string>();
  const std::string admin = "--admin-key " + fs::absolute("examples/community/keys/admin.json").string();
  const std::string eps = "--endpoints " + endpoints(live);
  {
    auto r = ctl(eps + " member add n4 --key " + pub4 + " --peer 127.0.0.1:" + std::to_string(joiner.peer_port) +
                 " --client 127.0.0.1:" + std::to_string(joiner.client_port) + " --learner --nonce 1000 " + admin);
    ASSERT_EQ(r.rc, 0) << r.out;
    // The same signed request again (same nonce, same bytes): applied once; the first outcome.
    auto again = ctl(eps + " --json member add n4 --key " + pub4 + " --peer 127.0.0.1:" + std::to_string(joiner.peer_port) +
                     " --client 127.0.0.1:" + std::to_string(joiner.client_port) + " --learner --nonce 1000 " + admin);
    EXPECT_EQ(again.rc, 0) << again.out;
    EXPECT_NE(again.out.find("\"duplicate\":true"), std::string::npos) << again.out;
  }
  EXPECT_TRUE(wait_until([&] { return raft_role(nodes_[0], joiner.id) == "learner"; }, step_bound));
  transfer_ok(nodes_[0]);
  ASSERT_TRUE(wait_until([&] { auto s = status(joiner); return s && s->applied_index >= last_index; }, step_bound))
      << "the learner did not catch up";
  EXPECT_NE(slurp(root_ + "/n4.log").find("installed snapshot"), std::string::npos)
      << "the learner did not catch up from a snapshot";
  {
    auto list = ctl(eps + " member list");
    EXPECT_EQ(list.rc, 0);
    std::printf("%s", list.out.c_str());
  }

  // ---- Refused admin requests: a stale nonce; a key that is not a genesis admin. ----
  {
    auto stale = ctl(eps + " member promote n4 --nonce 999 " + admin);
    EXPECT_EQ(stale.rc, 11) << stale.out;
    EXPECT_NE(stale.out.find("stale_nonce"), std::string::npos) << stale.out;
    ASSERT_EQ(ctl("keys new --out " + root_ + "/rogue.json").rc, 0);
    auto rogue = ctl(eps + " member promote n4 --admin-key " + root_ + "/rogue.json");
    EXPECT_EQ(rogue.rc, 12) << rogue.out;
    EXPECT_NE(rogue.out.find("bad_signature"), std::string::npos) << rogue.out;
    EXPECT_EQ(raft_role(nodes_[0], joiner.id), "learner");
  }

  // ---- Promote it, remove another, transfer leadership. ----
  {
    auto r = ctl(eps + " member promote n4 " + admin);
    ASSERT_EQ(r.rc, 0) << r.out;
    ASSERT_TRUE(wait_until([&] { return raft_role(nodes_[0], joiner.id) == "voter"; }, step_bound));
  }
  auto current_leader = wait_leader({&nodes_[0], &nodes_[1], &nodes_[2], &joiner}, step_bound);
  ASSERT_TRUE(current_leader);
  node_proc* removed = nullptr;
  for (auto* n : live) {
    if (n->id != *current_leader) removed = n;
  }
  ASSERT_NE(removed, nullptr);
  {
    auto r = ctl(eps + " member remove " + removed->name + " " + admin);
    ASSERT_EQ(r.rc, 0) << r.out;
    std::vector<node_proc*> rest;
    for (auto& n : nodes_) {
      if (&n != removed) rest.push_back(&n);
    }
    ASSERT_TRUE(wait_until([&] { return raft_role(*rest[0], removed->id) == "none"; }, step_bound));
    stop(*removed, SIGTERM);
    live = rest;
  }
  {
    // 3 voters left: removing one more would leave 2, which energoctl refuses without --force.
    node_proc* victim = live[0]->id == *current_leader ? live[1] : live[0];
    auto r = ctl("--endpoints " + endpoints(live) + " member remove " + victim->name + " " + admin);
    EXPECT_EQ(r.rc, 2) << r.out;
    EXPECT_NE(r.out.find("--force"), std::string::npos) << r.out;
  }
  {
    node_proc* target = nullptr;
    for (auto* n : live) {
      if (n->id != *current_leader) target = n;
    }
    auto r = ctl("--endpoints " + endpoints(live) + " member transfer-leader " + target->name + " " + admin);
    ASSERT_EQ(r.rc, 0) << r.out;
    std::vector<const node_proc*> cl(live.begin(), live.end());
    EXPECT_TRUE(wait_until([&] { auto l = agreed_leader(cl, 0); return l && *l == target->id; }, step_bound))
        << "leadership did not move to " << target->name;
  }

  // ---- Rolling SIGTERM + restart of every member under a light load. ----
  std::vector<uint16_t> ports;
  for (auto* n : live) ports.push_back(n->client_port);
  std::atomic<bool> stop_load{false};
  std::atomic<uint64_t> load_acked{acked};
  std::atomic<int> load_refused{0};
  std::thread load([&] {
    uint64_t next = load_acked.load() + 1;
    std::string bytes = transfer(next);
    std::size_t at = 0;
    while (!stop_load.load()) {
      net::client_request req;
      req.what = net::client_request::kind::submit;
      req.command = bytes;
      node_proc via;
      via.client_port = ports[at++ % ports.size()];
      auto r = ask(via, req, 5000ms);
      if (r && r->what == net::client_response::kind::outcome) {
        if (r->outcome.accepted) {
          load_acked = next;
          bytes = transfer(++next);
        } else {
          ++load_refused;
        }
      }
      std::this_thread::sleep_for(30ms);
    }
  });
  for (auto* n : live) {
    const int st = tools::kill_and_wait(n->pid, SIGTERM);
    n->pid = -1;
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << n->name << " status " << st;
    start(*n);
    std::vector<const node_proc*> cl(live.begin(), live.end());
    ASSERT_TRUE(wait_leader(cl, step_bound)) << "no leader after restarting " << n->name;
    const uint64_t before = load_acked.load();
    EXPECT_TRUE(wait_until([&] { return load_acked.load() > before; }, step_bound)) << "no progress after " << n->name;
  }
  stop_load = true;
  load.join();
  acked = load_acked.load();
  EXPECT_EQ(load_refused.load(), 0);
  std::printf("acknowledged transfers: %llu\n", static_cast<unsigned long long>(acked));
  ASSERT_TRUE(wait_until([&] { return converged(live, 0); }, step_bound)) << "members did not converge";
  for (auto* n : live) {
    EXPECT_EQ(account(*n, coop_address_, false).nonce, acked) << n->name;
    EXPECT_EQ(account(*n, baker_address_, true).tsl_units, baker_start + static_cast<int64_t>(acked) * amount_units) << n->name;
  }
}

// A node that joins knows, until it has caught up, only the members of the cluster file its join
// target gave it (the bootstrap voters) and dials only those. When the leader is a member that
// joined later, the new node must still answer it: on the link the leader dialled (peer broker,
// `link_to`). Found by the fault sweep (cluster_faults_slow_tests --seed 9006: a spare that joined
// while a later member led stayed at applied index 0). Here: n4 joins, is promoted and takes the
// leadership; n5 then joins through n1 and must catch up.
TEST_F(membership_fixture, ANodeJoiningWhileALaterMemberLeadsCatchesUp) {
  load_keys();
  nodes_.reserve(8);  // pointers into nodes_ stay valid when nodes are added
  for (auto& n : nodes_) start(n);
  auto leader = wait_leader({&nodes_[0], &nodes_[1], &nodes_[2]}, 20s);
  ASSERT_TRUE(leader) << "no leader elected";
  const std::string admin = "--admin-key " + fs::absolute("examples/community/keys/admin.json").string();
  auto member_add = [&](const node_proc& n, const std::string& eps) {
    const std::string pub = json::parse(slurp(n.dir + "/node.json")).at("public_key").get<std::string>();
    auto r = ctl(eps + " member add " + n.name + " --key " + pub + " --peer 127.0.0.1:" + std::to_string(n.peer_port) +
                 " --client 127.0.0.1:" + std::to_string(n.client_port) + " --learner " + admin);
    ASSERT_EQ(r.rc, 0) << r.out;
  };
  uint64_t nonce = 0, last_index = 0;
  auto transfer_ok = [&](const node_proc& via) {
    const auto o = submit(via, transfer(++nonce));
    ASSERT_TRUE(o.accepted) << o.code_name << ": " << o.message;
    last_index = o.index;
  };

  node_proc& n4 = start_joiner("n4");
  std::vector<node_proc*> live{&nodes_[0], &nodes_[1], &nodes_[2]};
  member_add(n4, "--endpoints " + endpoints(live));
  ASSERT_TRUE(wait_until([&] { return raft_role(nodes_[0], n4.id) == "learner"; }, step_bound));
  transfer_ok(nodes_[0]);
  ASSERT_TRUE(wait_until([&] { auto s = status(n4); return s && s->applied_index >= last_index; }, step_bound));
  ASSERT_EQ(ctl("--endpoints " + endpoints(live) + " member promote n4 " + admin).rc, 0);
  ASSERT_TRUE(wait_until([&] { return raft_role(nodes_[0], n4.id) == "voter"; }, step_bound));
  live.push_back(&n4);
  {
    auto r = ctl("--endpoints " + endpoints(live) + " member transfer-leader n4 " + admin);
    ASSERT_EQ(r.rc, 0) << r.out;
    std::vector<const node_proc*> cl(live.begin(), live.end());
    ASSERT_TRUE(wait_until([&] { auto l = agreed_leader(cl, 0); return l && *l == n4.id; }, step_bound))
        << "leadership did not move to n4";
  }

  node_proc& n5 = start_joiner("n5");
  member_add(n5, "--endpoints " + endpoints(live));
  for (int i = 0; i < 3; ++i) transfer_ok(n4);
  EXPECT_TRUE(wait_until([&] { auto s = status(n5); return s && s->applied_index >= last_index; }, step_bound))
      << "n5 did not catch up while n4 (not in its cluster file) leads";
  live.push_back(&n5);
  EXPECT_TRUE(wait_until([&] { return converged(live, last_index); }, step_bound)) << "members did not converge";
}

}  // namespace

// ---- Snapshot transfer over real sockets (issue 8 §6) ---------------------------------------------
// One voter restored (`energo-node restore`) from a synthetic image of a few MB (`energo-load
// image`: the example community plus N accounts), so its log starts compacted; a learner joins
// and can only catch up through a snapshot of many chunks (chunks of consensus::limits::
// snapshot_chunk_bytes_max = actors::limits::raft_snapshot_chunk_bytes, a window of them in
// flight, over the Noise peer link). Its applied
// index and state root must equal the voter's, and the root must be the one energo-load computed
// for the image through the ledger API (an oracle apart from the transfer). The size is
// ENERGO_SNAPSHOT_TEST_ACCOUNTS (default 64,000 accounts, ~8 MB: 8 chunks of 1 MiB, two windows of
// 4; bench/snapshot_transfer.sh
// measures 100 MB).
class snapshot_fixture : public membership_fixture {
 protected:
  snapshot_fixture() { cluster_size_ = 1; }
};

TEST_F(snapshot_fixture, LearnerCatchesUpFromAMultiChunkSnapshotOfSeveralMegabytes) {
  uint32_t accounts = 64'000;
  if (const char* e = std::getenv("ENERGO_SNAPSHOT_TEST_ACCOUNTS")) accounts = static_cast<uint32_t>(std::stoul(e));
  const std::string file = root_ + "/snapshot.bin";
  const auto made = run_command(std::string(ENERGO_LOAD_BIN) + " image --genesis " +
                                fs::absolute("examples/community/genesis.json").string() + " --from-key " +
                                fs::absolute("examples/community/keys/account-mill.json").string() + " --accounts " +
                                std::to_string(accounts) + " --index 700 --out " + file);
  ASSERT_EQ(made.rc, 0) << made.out;
  const auto image = json::parse(made.out);
  const auto image_bytes = image.at("image_bytes").get<uint64_t>();
  const auto image_root = image.at("state_root").get<std::string>();
  ASSERT_EQ(image.at("applied_index").get<uint64_t>(), 700u);
  // More chunks than one window holds (the window's movement and the reassembly are what this
  // test is about).
  ASSERT_GT(image_bytes, actors::limits::raft_snapshot_chunk_bytes * actors::limits::raft_snapshot_chunks_in_flight)
      << "the image fits one window of chunks";

  nodes_.reserve(4);  // references into nodes_ stay valid when the learner is added
  node_proc& n1 = nodes_[0];
  const auto restored = run_command(std::string(ENERGO_NODE_BIN) + " restore --json --snapshot " + file + " --data " + n1.dir +
                                    " --bootstrap " + root_ + "/bootstrap.toml 2>>" + root_ + "/restore.log");
  ASSERT_EQ(restored.rc, 0) << restored.out;
  EXPECT_EQ(json::parse(restored.out).at("state_root").get<std::string>(), image_root);
  start(n1);
  ASSERT_TRUE(wait_leader({&n1}, step_bound)) << "the restored voter did not lead";

  node_proc n2;
  n2.name = "n2";
  n2.dir = root_ + "/n2";
  n2.peer_port = reserve_loopback_port();
  n2.client_port = reserve_loopback_port();
  const auto j = json::parse(run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + n2.dir));
  n2.id = j.at("node_id").get<uint64_t>();
  n2.join = "127.0.0.1:" + std::to_string(n1.client_port);
  nodes_.push_back(n2);
  node_proc& learner = nodes_.back();
  start(learner);
  const auto t0 = clock_type::now();
  const std::string admin = "--admin-key " + fs::absolute("examples/community/keys/admin.json").string();
  auto r = ctl("--endpoints 127.0.0.1:" + std::to_string(nodes_[0].client_port) + " member add n2 --key " +
               j.at("public_key").get<std::string>() + " --peer 127.0.0.1:" + std::to_string(learner.peer_port) +
               " --client 127.0.0.1:" + std::to_string(learner.client_port) + " --learner " + admin);
  ASSERT_EQ(r.rc, 0) << r.out;
  std::optional<net::node_status> lead, caught;
  ASSERT_TRUE(wait_until([&] {
    caught = status(learner);
    lead = status(nodes_[0]);
    return caught && lead && caught->applied_index >= 700 && caught->applied_index == lead->applied_index &&
           caught->state_root == lead->state_root;
  }, step_bound + std::chrono::seconds(accounts / 10'000))) << "the learner did not reach the voter's applied index and root";
  const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  EXPECT_EQ(crypto::to_hex(crypto::as_bytes(caught->state_root)), image_root);
  EXPECT_EQ(raft_role(nodes_[0], learner.id), "learner");
  // It came through a snapshot of the image's size, not through the log.
  const auto log = slurp(root_ + "/n2.log");
  EXPECT_NE(log.find("installed snapshot at"), std::string::npos) << "the learner did not install a snapshot";
  EXPECT_NE(log.find("installing snapshot at index 700 term 1"), std::string::npos) << log;
  std::printf("snapshot of %llu bytes to a learner: %.2f s (%.1f MB/s)\n", static_cast<unsigned long long>(image_bytes),
              seconds, static_cast<double>(image_bytes) / 1e6 / seconds);
}
