#pragma once
// Shared fixture of the multi-process node tests: real energo-node processes on 127.0.0.1 with
// real RocksDB and sockets, started from a generated bootstrap file with the example community.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/address.hpp"
#include "crypto/hash.hpp"
#include "ledger/commands.hpp"
#include "net/client_conn.hpp"
#include "tools/child_process.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"
#include "tools/loopback_port.hpp"

namespace energo::test_node {

using namespace energo;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr auto leader_bound = 10s;       // a new leader after kill -9 (election timeout is ~0.2-0.4 s)
constexpr auto converge_bound = 30s;
constexpr int transfers_before = 24;
constexpr int transfers_during = 24;     // while the old leader is down: forces a snapshot on restart
constexpr int64_t amount_units = 1000;
constexpr auto step_bound = 20s;  // one membership / robustness step (a change applied, a node back)

// The whole file (a node's log), empty if it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using tools::reserve_loopback_port;  // ports for the nodes (tools/loopback_port.hpp)

// A shell command's exit code (-1: did not exit normally) and stdout.
struct command_result {
  int rc = -1;
  std::string out;
};

inline command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline std::string run_capture(const std::string& cmd) { return run_command(cmd).out; }

#ifdef ENERGOCTL_BIN
// energoctl with `args`, stdout and stderr together.
inline command_result ctl(const std::string& args) { return run_command(std::string(ENERGOCTL_BIN) + " " + args + " 2>&1"); }

// `energoctl member list --json` through the node listening on 127.0.0.1:`client_port`.
inline std::optional<nlohmann::json> member_list(uint16_t client_port) {
  auto r = ctl("--endpoints 127.0.0.1:" + std::to_string(client_port) + " --json --timeout-ms 3000 member list");
  if (r.rc != 0) return std::nullopt;
  try {
    return nlohmann::json::parse(r.out);
  } catch (...) {
    return std::nullopt;
  }
}
#endif

// Polls `pred` every 20 ms until it holds or `bound` passes.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Under ASan the daemons check for leaks at a clean exit too: a leak aborts the process, and the
// tests that stop a node with SIGTERM require exit 0.
inline const std::string node_asan_options = "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1";

// An energo-node (or energoctl) process with stdout and stderr appended to `log`.
inline pid_t spawn_node(const std::vector<std::string>& args, const std::string& log) {
  tools::spawn_options o;
  o.log_path = log;
  o.env = {node_asan_options};
  return tools::spawn_process(args, o);
}

struct node_proc {
  std::string name;
  std::string dir;
  uint16_t peer_port = 0;
  uint16_t client_port = 0;
  uint64_t id = 0;
  pid_t pid = -1;
  int starts = 0;
  std::string join;  // a member's client address: started with --join instead of --bootstrap
  bool clock = false;                   // true: the leader's clock proposes ticks (no --no-clock)
  std::vector<std::string> extra_args;  // appended to `start` (e.g. --config FILE)
};

class cluster_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/energo-cluster-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    for (int i = 0; i < cluster_size_; ++i) {
      node_proc n;
      n.name = "n" + std::to_string(i + 1);
      n.dir = root_ + "/" + n.name;
      n.peer_port = reserve_loopback_port();
      n.client_port = reserve_loopback_port();
      const auto out = run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + n.dir);
      const auto j = nlohmann::json::parse(out);
      n.id = j.at("node_id").get<uint64_t>();
      public_keys_.push_back(j.at("public_key").get<std::string>());
      nodes_.push_back(n);
    }
    std::ofstream b(root_ + "/bootstrap.toml");
    b << "genesis = \"" << fs::absolute("examples/community/genesis.json").string() << "\"\n";
    for (int i = 0; i < cluster_size_; ++i) {
      b << "[[member]]\nname = \"" << nodes_[i].name << "\"\npublic_key = \"" << public_keys_[i]
        << "\"\npeer = \"127.0.0.1:" << nodes_[i].peer_port << "\"\nclient = \"127.0.0.1:" << nodes_[i].client_port << "\"\n";
    }
  }

  void TearDown() override {
    for (auto& n : nodes_) stop(n, SIGKILL);
    if (root_.empty()) return;  // a derived fixture skipped before setting up
    if (!HasFailure()) fs::remove_all(root_);
    else std::fprintf(stderr, "cluster test: logs kept in %s\n", root_.c_str());
  }

  std::vector<std::string> start_args(const node_proc& n) {
    std::vector<std::string> a{ENERGO_NODE_BIN, "start", "--data", n.dir, "--name", n.name,
            "--peer-listen", "127.0.0.1:" + std::to_string(n.peer_port),
            "--client-listen", "127.0.0.1:" + std::to_string(n.client_port),
            "--bootstrap", root_ + "/bootstrap.toml", "--tick-ms", "20", "--snapshot-every", "8", "--no-clock"};
    if (!n.join.empty()) a[10] = "--join", a[11] = n.join;
    if (n.clock) a.pop_back();  // --no-clock is last
    a.insert(a.end(), n.extra_args.begin(), n.extra_args.end());
    return a;
  }

  void start(node_proc& n) {
    n.pid = spawn_node(start_args(n), root_ + "/" + n.name + ".log");
    ++n.starts;
  }

  // start() with a snapshot every `entries` entries instead of the fixture's 8.
  void start_with_snapshot_every(node_proc& n, uint64_t entries) {
    auto args = start_args(n);
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--snapshot-every") args[i + 1] = std::to_string(entries);
    }
    n.pid = spawn_node(args, root_ + "/" + n.name + ".log");
    ++n.starts;
  }

  void stop(node_proc& n, int sig) {
    if (n.pid <= 0) return;
    (void)tools::kill_and_wait(n.pid, sig);
    n.pid = -1;
  }

  // Waits for the node to exit by itself: its wait status, or nothing after `bound`.
  std::optional<int> wait_exit(node_proc& n, std::chrono::milliseconds bound) {
    auto st = tools::wait_exit(n.pid, bound);
    if (st) n.pid = -1;
    return st;
  }

  std::optional<net::client_response> ask(const node_proc& n, net::client_request req, std::chrono::milliseconds t = 3000ms) {
    net::client_conn c;
    if (!c.connect({"127.0.0.1", n.client_port}, 1000ms)) return std::nullopt;
    auto r = c.call(std::move(req), t);
    if (!r) return std::nullopt;
    return std::move(*r);
  }

  std::optional<net::node_status> status(const node_proc& n) {
    net::client_request req;
    req.what = net::client_request::kind::status;
    auto r = ask(n, req, 1000ms);
    if (!r || r->what != net::client_response::kind::status) return std::nullopt;
    return r->status;
  }

  // The leader all live nodes agree on, or nothing.
  std::optional<uint64_t> agreed_leader(const std::vector<const node_proc*>& live, uint64_t excluded) {
    std::optional<uint64_t> leader;
    for (const auto* n : live) {
      auto s = status(*n);
      if (!s || s->leader == 0 || s->leader == excluded) return std::nullopt;
      if (leader && *leader != s->leader) return std::nullopt;
      leader = s->leader;
    }
    return leader;
  }

  // `excluded`: a killed leader the survivors may still name until they time out.
  std::optional<uint64_t> wait_leader(const std::vector<const node_proc*>& live, std::chrono::seconds bound,
                                      uint64_t excluded = 0) {
    const auto deadline = clock_type::now() + bound;
    while (clock_type::now() < deadline) {
      if (auto l = agreed_leader(live, excluded)) return l;
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  // Submits one signed command through `via` until it gets a definite outcome (retrying the same
  // bytes on busy / no leader / timeout, which is safe: the nonce applies it at most once).
  net::command_outcome submit(const node_proc& via, const std::string& bytes) {
    const auto deadline = clock_type::now() + 20s;
    while (clock_type::now() < deadline) {
      net::client_request req;
      req.what = net::client_request::kind::submit;
      req.command = bytes;
      auto r = ask(via, req, 12000ms);
      if (r && r->what == net::client_response::kind::outcome) return r->outcome;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no definite outcome through " << via.name;
    return {};
  }

  std::string transfer(uint64_t nonce) {
    ledger::transfer t;
    t.from_key = coop_->public_key();
    t.nonce = nonce;
    t.to = baker_address_;
    t.what = ledger::asset::tsl;
    t.amount = amount_units;
    const auto cmd = ledger::sign_secp256k1(ledger::command_body{t}, *coop_, genesis_hash_);
    const auto bytes = ledger::encode(cmd);
    return std::string(bytes.begin(), bytes.end());
  }

  net::account_answer account(const node_proc& n, const ledger::account_address& a, bool stale) {
    net::client_request req;
    req.what = net::client_request::kind::account;
    req.account.address = a;
    req.account.stale = stale;
    // A linearizable read is refused (no_leader) until a new leader has committed an entry of its
    // term: retried briefly, as a client would.
    auto r = ask(n, req);
    for (const auto deadline = clock_type::now() + 5s;
         r && r->what == net::client_response::kind::failure && clock_type::now() < deadline;) {
      std::this_thread::sleep_for(50ms);
      r = ask(n, req);
    }
    EXPECT_TRUE(r && r->what == net::client_response::kind::account) << n.name;
    return r ? r->account : net::account_answer{};
  }

  // A named read (actors/query.hpp); the raw response (query JSON or failure).
  std::optional<net::client_response> query(const node_proc& n, const std::string& name, const std::string& params,
                                            bool stale = false) {
    net::client_request req;
    req.what = net::client_request::kind::query;
    req.query.name = name;
    req.query.params_json = params;
    req.query.stale = stale;
    return ask(n, req);
  }

  void load_keys() {
    auto g = tools::read_genesis_file("examples/community/genesis.json");
    ASSERT_TRUE(g);
    genesis_hash_ = g->hash();
    auto coop = tools::read_key_file("examples/community/keys/account-coop.json");
    ASSERT_TRUE(coop && coop->secp256k1);
    coop_ = *coop->secp256k1;
    coop_address_ = crypto::hash160_of(coop_->public_key().bytes);
    auto baker = tools::read_key_file("examples/community/keys/account-baker.json");
    ASSERT_TRUE(baker && baker->secp256k1);
    baker_address_ = crypto::hash160_of(baker->secp256k1->public_key().bytes);
  }

  node_proc* by_id(uint64_t id) {
    for (auto& n : nodes_) if (n.id == id) return &n;
    return nullptr;
  }
  // Every node but `n` (a leader's followers).
  std::vector<node_proc*> others(const node_proc* n) {
    std::vector<node_proc*> out;
    for (auto& x : nodes_) if (&x != n) out.push_back(&x);
    return out;
  }

  int cluster_size_ = 3;  // initial voters; a derived fixture may set it in its constructor (one node: cheaper, same code paths)
  std::string root_;
  std::vector<node_proc> nodes_;
  std::vector<std::string> public_keys_;
  crypto::hash256 genesis_hash_{};
  std::optional<crypto::secp256k1_secret_key> coop_;
  ledger::account_address coop_address_{};
  ledger::account_address baker_address_{};
};

}  // namespace energo::test_node
