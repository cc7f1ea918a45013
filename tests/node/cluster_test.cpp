// Three real energo-node processes on 127.0.0.1 (issue 8 §7, first part): bootstrap, submit
// through a follower, kill -9 the leader, a new leader within a bound, no acknowledged command
// lost, the killed node restarts and catches up from a snapshot, every node reports the same
// state root at the same applied index. Also: garbage on the client and peer ports closes only
// that connection; a second start on a data directory fails with exit code 3.
#include <set>

#include "tests/node/cluster_fixture.hpp"

namespace {

using namespace energo;
using namespace energo::test_node;

TEST_F(cluster_fixture, KillLeaderNoAcknowledgedCommandLostRestartCatchesUpFromSnapshot) {
  load_keys();
  for (auto& n : nodes_) start(n);
  const std::vector<const node_proc*> all{&nodes_[0], &nodes_[1], &nodes_[2]};
  auto leader = wait_leader(all, 20s);
  ASSERT_TRUE(leader) << "no leader elected";
  node_proc* leader_proc = by_id(*leader);
  ASSERT_NE(leader_proc, nullptr);
  node_proc* follower = leader_proc == &nodes_[0] ? &nodes_[1] : &nodes_[0];

  // A second energo-node on a running node's data directory: LOCK held, exit 3.
  {
    auto args = start_args(*follower);
    args[7] = "127.0.0.1:" + std::to_string(reserve_loopback_port());  // --peer-listen
    args[9] = "127.0.0.1:" + std::to_string(reserve_loopback_port());  // --client-listen
    const pid_t pid = spawn_node(args, root_ + "/second.log");
    int st = 0;
    ::waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 3);
  }

  const int64_t baker_start = account(*follower, baker_address_, false).tsl_units;
  uint64_t acknowledged = 0;  // transfers with an accepted outcome; nonces 1..acknowledged
  uint64_t last_ack_index = 0;
  for (int i = 0; i < transfers_before; ++i) {
    const auto o = submit(*follower, transfer(acknowledged + 1));
    ASSERT_TRUE(o.accepted) << o.code_name << ": " << o.message;
    ++acknowledged;
    last_ack_index = o.index;
  }
  // The same signed command again: never applied twice; the answer is its first outcome.
  {
    const auto o = submit(*follower, transfer(acknowledged));
    EXPECT_TRUE(o.duplicate);
    EXPECT_EQ(o.index, last_ack_index);
  }

  // kill -9 the leader: a new leader among the two others within the bound.
  const auto killed_at = clock_type::now();
  stop(*leader_proc, SIGKILL);
  std::vector<const node_proc*> live;
  for (auto& n : nodes_) if (&n != leader_proc) live.push_back(&n);
  auto new_leader = wait_leader(live, std::chrono::duration_cast<std::chrono::seconds>(leader_bound), leader_proc->id);
  ASSERT_TRUE(new_leader) << "no new leader within " << leader_bound.count() << " s";
  EXPECT_NE(*new_leader, leader_proc->id);
  std::printf("new leader after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - killed_at).count()));

  const node_proc* survivor = live[0]->id == *new_leader ? live[1] : live[0];  // a follower
  for (int i = 0; i < transfers_during; ++i) {
    const auto o = submit(*survivor, transfer(acknowledged + 1));
    ASSERT_TRUE(o.accepted) << o.code_name << ": " << o.message;
    ++acknowledged;
    last_ack_index = o.index;
  }

  // Garbage on the client port and on the peer port closes only that connection.
  {
    net::client_conn c;
    ASSERT_TRUE(c.connect({"127.0.0.1", survivor->client_port}, 1000ms));
    ASSERT_TRUE(c.send_raw(std::string("\x7f\xff\xff\xff", 4)));  // oversized frame
    EXPECT_TRUE(c.wait_closed(3000ms));
    net::client_conn d;
    ASSERT_TRUE(d.connect({"127.0.0.1", survivor->client_port}, 1000ms));
    ASSERT_TRUE(d.send_raw(net::frame_of(std::string(24, '\xee'))));  // not Cap'n Proto
    EXPECT_TRUE(d.wait_closed(3000ms));
    net::client_conn p;
    ASSERT_TRUE(p.connect({"127.0.0.1", survivor->peer_port}, 1000ms));
    ASSERT_TRUE(p.send_raw(net::frame_of(std::string(40, '\x01'))));
    EXPECT_TRUE(p.wait_closed(3000ms));
    net::client_conn q;  // a well-formed hello with the wrong cluster id
    ASSERT_TRUE(q.connect({"127.0.0.1", survivor->peer_port}, 1000ms));
    ASSERT_TRUE(q.send_raw(net::frame_of(net::encode_peer_hello({"another-cluster", nodes_[0].id, 1}))));
    EXPECT_TRUE(q.wait_closed(3000ms));
    const auto o = submit(*survivor, transfer(acknowledged + 1));  // the cluster serves on
    ASSERT_TRUE(o.accepted);
    ++acknowledged;
    last_ack_index = o.index;
  }

  // Restart the killed node: it catches up (from a snapshot: the log was compacted meanwhile).
  start(*leader_proc);
  const auto deadline = clock_type::now() + converge_bound;
  bool converged = false;
  std::vector<net::node_status> final_status;
  while (!converged && clock_type::now() < deadline) {
    final_status.clear();
    for (const auto& n : nodes_) {
      if (auto s = status(n)) final_status.push_back(*s);
    }
    converged = final_status.size() == 3 && final_status[0].applied_index >= last_ack_index;
    for (const auto& s : final_status) {
      converged = converged && s.applied_index == final_status[0].applied_index && s.state_root == final_status[0].state_root;
    }
    if (!converged) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(converged) << "nodes did not converge on one applied index and state root";
  std::printf("converged at applied index %llu, root %s\n", static_cast<unsigned long long>(final_status[0].applied_index),
              crypto::to_hex(crypto::as_bytes(final_status[0].state_root)).c_str());
  {
    std::ifstream log(root_ + "/" + leader_proc->name + ".log");
    std::stringstream ss;
    ss << log.rdbuf();
    EXPECT_NE(ss.str().find("installed snapshot"), std::string::npos) << "the restarted node did not catch up from a snapshot";
  }

  // No acknowledged command lost, none applied twice: on every node the coop's nonce is the
  // number of acknowledged transfers and the baker holds exactly their sum.
  for (const auto& n : nodes_) {
    const auto coop = account(n, coop_address_, false);
    EXPECT_EQ(coop.nonce, acknowledged) << n.name;
    const auto baker = account(n, baker_address_, true);
    EXPECT_EQ(baker.tsl_units, baker_start + static_cast<int64_t>(acknowledged) * amount_units) << n.name;
  }

  // The named-read path (query) agrees with the account read on every node; unknown names and
  // bad parameters are refused with stable codes.
  {
    const std::string coop_text = crypto::address{crypto::qtum_pubkey_version_testnet, coop_address_}.to_string();
    for (const auto& n : nodes_) {
      auto r = query(n, "account", R"({"address":")" + coop_text + "\"}");
      ASSERT_TRUE(r && r->what == net::client_response::kind::query) << n.name;
      const auto j = nlohmann::json::parse(r->text);
      EXPECT_EQ(j.at("nonce").get<uint64_t>(), acknowledged) << n.name;
      EXPECT_TRUE(j.at("found").get<bool>());
      EXPECT_GE(j.at("applied_index").get<uint64_t>(), last_ack_index);
    }
    auto unknown = query(nodes_[0], "no-such-query", "{}");
    ASSERT_TRUE(unknown && unknown->what == net::client_response::kind::failure);
    EXPECT_EQ(unknown->failure.code, net::client_errc::not_supported);
    auto bad = query(nodes_[0], "account", R"({"address":"not-an-address"})", true);
    ASSERT_TRUE(bad && bad->what == net::client_response::kind::failure);
    EXPECT_EQ(bad->failure.code, net::client_errc::malformed);
    auto not_json = query(nodes_[0], "account", "[1,2", true);
    ASSERT_TRUE(not_json && not_json->what == net::client_response::kind::failure);
    EXPECT_EQ(not_json->failure.code, net::client_errc::malformed);
  }

  // SIGTERM: every node drains and exits 0.
  for (auto& n : nodes_) {
    const int st = tools::kill_and_wait(n.pid, SIGTERM);
    n.pid = -1;
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << n.name << " status " << st;
  }
}

}  // namespace

namespace {

using namespace energo;
using namespace energo::test_node;

// Regression (found by tests/cluster_faults, issue 11 §1): the client broker answered a request
// on the connection *handle* it came from, and CAF's handles are socket numbers, which the OS
// gives to the next client once a connection closes. A client that gave up on a submit (its
// timeout) and closed left the answer pending; the next client on the same socket number, whose
// request ids also start at 1, received that outcome as the answer to its own submit: an
// acknowledgement of a command that was never applied. Here client A submits a transfer the
// ledger refuses (more than the balance) and closes before it commits (the followers are
// paused); client B connects and submits an accepted transfer; B must get B's outcome.
TEST_F(cluster_fixture, AnAnswerNeverReachesTheNextClientOnTheSameSocket) {
  load_keys();
  for (auto& n : nodes_) {
    start(n);
  }
  const std::vector<const node_proc*> all{&nodes_[0], &nodes_[1], &nodes_[2]};
  auto leader = wait_leader(all, 20s);
  ASSERT_TRUE(leader);
  node_proc* l = by_id(*leader);
  const std::vector<node_proc*> followers = others(l);
  uint64_t nonce = 0;
  const int64_t coop_units = account(*l, coop_address_, false).tsl_units;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the unfixed broker failed at the first
    // Paused for ~150 ms: well inside the election timeout (10-20 ticks of 20 ms = 200-400 ms
    // since the last heartbeat answer), so the leader keeps leading and commits after SIGCONT.
    for (auto* f : followers) ::kill(f->pid, SIGSTOP);
    {
      ledger::transfer t;
      t.from_key = coop_->public_key();
      t.nonce = ++nonce;
      t.to = baker_address_;
      t.what = ledger::asset::tsl;
      t.amount = coop_units + 1;  // refused: insufficient funds
      const auto bytes = ledger::encode(ledger::sign_secp256k1(ledger::command_body{t}, *coop_, genesis_hash_));
      net::client_request req;
      req.id = 1;
      req.what = net::client_request::kind::submit;
      req.command.assign(bytes.begin(), bytes.end());
      net::client_conn a;
      ASSERT_TRUE(a.connect({"127.0.0.1", l->client_port}, 1000ms));
      ASSERT_TRUE(a.send_raw(net::frame_of(net::encode_client_request(req))));
      std::this_thread::sleep_for(20ms);
      a.close();
    }
    std::this_thread::sleep_for(20ms);  // the node sees A go; B likely gets A's socket number
    net::client_conn b;
    ASSERT_TRUE(b.connect({"127.0.0.1", l->client_port}, 1000ms));
    net::client_request req;
    req.what = net::client_request::kind::submit;
    req.command = transfer(++nonce);  // accepted (amount_units)
    std::thread resume([&followers] {
      std::this_thread::sleep_for(100ms);
      for (auto* f : followers) ::kill(f->pid, SIGCONT);
    });
    auto r = b.call(req, 10000ms);
    resume.join();
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->what, net::client_response::kind::outcome);
    EXPECT_TRUE(r->outcome.accepted) << "client B received another command's outcome: " << r->outcome.code_name
                                     << " at index " << r->outcome.index;
    if (!r->outcome.accepted) break;
    std::this_thread::sleep_for(300ms);  // heartbeats flow again before the next pause
  }
}

// The leader gathers commands while an append of its own is uncommitted (raft actor,
// hold_proposals): one entry per round instead of one per ready. With both followers paused
// (~160 ms, inside the election timeout) the leader's first entry cannot commit; commands that
// reach it 15 ms apart meanwhile must all go out in ONE entry once the followers answer. Without
// the hold each would get an entry of its own (each arrives in a separate ready).
TEST_F(cluster_fixture, TheLeaderGathersCommandsWhileItsAppendIsUncommitted) {
  load_keys();
  for (auto& n : nodes_) start(n);
  const std::vector<const node_proc*> all{&nodes_[0], &nodes_[1], &nodes_[2]};
  auto leader = wait_leader(all, 20s);
  ASSERT_TRUE(leader);
  node_proc* l = by_id(*leader);
  const std::vector<node_proc*> followers = others(l);
  ASSERT_TRUE(submit(*l, transfer(1)).accepted);  // the cluster commits (and the leader's log is committed)
  std::this_thread::sleep_for(100ms);

  constexpr int k = 6;  // the first opens the round; the other five must share the next entry
  std::vector<std::string> commands;
  for (int i = 0; i < k; ++i) commands.push_back(transfer(2 + i));
  std::vector<std::optional<net::command_outcome>> outcomes(k);
  std::vector<std::string> errors(k);
  for (auto* f : followers) ::kill(f->pid, SIGSTOP);
  std::vector<std::thread> clients;
  for (int i = 0; i < k; ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(15 * i));
      net::client_conn c;
      if (auto ok = c.connect({"127.0.0.1", l->client_port}, 1000ms); !ok) {
        errors[i] = ok.error();
        return;
      }
      net::client_request req;
      req.what = net::client_request::kind::submit;
      req.command = commands[i];
      auto r = c.call(req, 10000ms);
      if (!r) errors[i] = r.error();
      else if (r->what != net::client_response::kind::outcome) errors[i] = "not an outcome";
      else outcomes[i] = r->outcome;
    });
  }
  std::this_thread::sleep_for(15ms * k + 70ms);
  for (auto* f : followers) ::kill(f->pid, SIGCONT);
  for (auto& t : clients) t.join();
  for (int i = 0; i < k; ++i) ASSERT_TRUE(outcomes[i]) << "command " << i << ": " << errors[i];
  for (int i = 0; i < k; ++i) EXPECT_TRUE(outcomes[i]->accepted) << i << ": " << outcomes[i]->code_name;
  std::set<uint64_t> later;
  for (int i = 1; i < k; ++i) later.insert(outcomes[i]->index);
  std::string indexes;
  for (int i = 0; i < k; ++i) indexes += " " + std::to_string(outcomes[i]->index);
  EXPECT_EQ(later.size(), 1u) << "commands that arrived while an entry was uncommitted went out in several entries:"
                              << indexes;
  EXPECT_LE(outcomes[0]->index, *later.begin()) << indexes;
}

}  // namespace

namespace {

using namespace energo;
using namespace energo::test_node;

// The apply actor's state is durable through the Raft log (actors/README.md "State and applied
// index"): the ledger image is written only at durable points (a snapshot every 16 entries here),
// so a kill -9 between two of them loses the applied state above the last one. A restart must
// re-apply the committed entries above it by itself and reach the same state root, with every
// acknowledged command applied exactly once and its outcome (for a duplicate) back in the cache.
// One node: its own hard state holds the commit, so the replay needs no peer.
class replay_fixture : public cluster_fixture {
 protected:
  replay_fixture() { cluster_size_ = 1; }
};

// The applied index the apply actor reported loading from RocksDB at its latest start.
uint64_t last_loaded_index(const std::string& log_path) {
  std::ifstream log(log_path);
  std::string line;
  uint64_t index = UINT64_MAX;
  const std::string marker = "apply: state at applied index ";
  while (std::getline(log, line)) {
    const auto at = line.find(marker);
    if (at != std::string::npos) index = std::stoull(line.substr(at + marker.size()));
  }
  return index;
}

TEST_F(replay_fixture, KillBetweenSnapshotsReplaysTheLogToTheSameRoot) {
  load_keys();
  auto& n = nodes_[0];
  const std::vector<const node_proc*> all{&n};
  start(n);
  ASSERT_TRUE(wait_leader(all, 20s)) << "no leader elected";
  const int64_t baker_start = account(n, baker_address_, false).tsl_units;
  // 40 entries at one transfer each: durable points near 16 and 32, then entries only in the log.
  constexpr uint64_t transfers = 40;
  uint64_t last_index = 0, first_index = 0;
  for (uint64_t i = 1; i <= transfers; ++i) {
    const auto o = submit(n, transfer(i));
    ASSERT_TRUE(o.accepted) << o.code_name << ": " << o.message;
    last_index = o.index;
    if (i == 1) first_index = o.index;
  }
  const auto before = status(n);
  ASSERT_TRUE(before);
  ASSERT_GE(before->applied_index, last_index);

  for (int round = 0; round < 2; ++round) {  // the second crash lands on a state replayed once
    stop(n, SIGKILL);
    start(n);
    ASSERT_TRUE(wait_leader(all, 20s)) << "no leader after restart " << round;
    const uint64_t loaded = last_loaded_index(root_ + "/" + n.name + ".log");
    // The restart loaded a durable point below the acknowledged entries: what follows was replayed.
    EXPECT_GT(loaded, 0u) << "no durable point was written (snapshots every 16 entries)";
    EXPECT_LT(loaded, last_index) << "the state was durable already: nothing was replayed";
    std::optional<net::node_status> after;
    const auto deadline = clock_type::now() + converge_bound;
    while (clock_type::now() < deadline) {
      after = status(n);
      if (after && after->applied_index >= before->applied_index) break;
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(after && after->applied_index >= before->applied_index) << "the log was not re-applied";
    // A new term appends only an empty entry: the ledger, hence its root, is what it was.
    EXPECT_EQ(crypto::to_hex(crypto::as_bytes(after->state_root)), crypto::to_hex(crypto::as_bytes(before->state_root)));
    EXPECT_EQ(account(n, coop_address_, false).nonce, transfers);
    EXPECT_EQ(account(n, baker_address_, false).tsl_units, baker_start + static_cast<int64_t>(transfers) * amount_units);
    // The outcome cache came back with the replay: the last command again is a duplicate of its entry.
    const auto dup = submit(n, transfer(transfers));
    EXPECT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.index, last_index);
    // ... and the outcomes written at the durable point (the cache's difference) were loaded.
    ASSERT_LT(first_index, loaded);
    const auto first = submit(n, transfer(1));
    EXPECT_TRUE(first.duplicate) << first.code_name;
    EXPECT_EQ(first.index, first_index);
  }
  const auto o = submit(n, transfer(transfers + 1));  // and the node serves on
  EXPECT_TRUE(o.accepted) << o.code_name << ": " << o.message;
}

}  // namespace

namespace {

using namespace energo;
using namespace energo::test_node;

// The indexes at which `log` says the apply actor's state became durable, in order.
std::vector<uint64_t> durable_indexes(const std::string& log) {
  std::vector<uint64_t> out;
  const std::string marker = "apply: durable at ";
  for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    out.push_back(std::stoull(log.substr(at + marker.size(), 20)));
  }
  return out;
}

// Durable points are staggered across the members (apply_actor.cpp stagger_durable_points): with
// the same bounds on every replica they all fell at the same index, so all three nodes wrote their
// image at once and each write held up the raft appends behind it (open-loop p99, bench/README.md).
// A snapshot every 30 entries, three members: each starts its first interval 0, 10 or 20 entries
// through, so the first durable points are ~10 entries apart and no index is durable on all three.
TEST_F(cluster_fixture, MembersTakeTheirDurablePointsAtDifferentIndexes) {
  load_keys();
  for (auto& n : nodes_) start_with_snapshot_every(n, 30);
  const std::vector<const node_proc*> all{&nodes_[0], &nodes_[1], &nodes_[2]};
  auto leader = wait_leader(all, 20s);
  ASSERT_TRUE(leader);
  const node_proc* l = by_id(*leader);
  ASSERT_NE(l, nullptr);
  uint64_t last = 0;
  for (uint64_t nonce = 1; nonce <= 75; ++nonce) {  // one entry each: submitted one at a time
    const auto o = submit(*l, transfer(nonce));
    ASSERT_TRUE(o.accepted) << o.code_name << ": " << o.message;
    last = o.index;
  }
  // Every node applies up to `last` and logs its durable points (read before any stop: a clean
  // stop writes one more on every node).
  std::vector<std::vector<uint64_t>> durable(nodes_.size());
  const auto deadline = clock_type::now() + 20s;
  for (bool done = false; !done && clock_type::now() < deadline;) {
    done = true;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      durable[i] = durable_indexes(slurp(root_ + "/" + nodes_[i].name + ".log"));
      const auto s = status(nodes_[i]);
      if (!s || s->applied_index < last || durable[i].size() < 2) done = false;
    }
    if (!done) std::this_thread::sleep_for(50ms);
  }
  std::set<uint64_t> firsts;
  std::map<uint64_t, int> nodes_at;  // index -> how many nodes were durable there
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    ASSERT_GE(durable[i].size(), 2u) << nodes_[i].name << " logged fewer than two durable points";
    std::string list;
    for (const auto d : durable[i]) list += " " + std::to_string(d);
    std::printf("%s durable at:%s\n", nodes_[i].name.c_str(), list.c_str());
    firsts.insert(durable[i].front());
    for (const auto d : durable[i]) ++nodes_at[d];
  }
  EXPECT_EQ(firsts.size(), nodes_.size()) << "two members took their first durable point at the same index";
  for (const auto& [index, count] : nodes_at) {
    EXPECT_LT(count, 3) << "index " << index << " is a durable point on all three members";
  }
}

}  // namespace
