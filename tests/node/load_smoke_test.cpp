// energo-load against a real 3-node cluster on 127.0.0.1 (issue 8 §7, load part), so the tool
// cannot rot: a 2-second closed-loop order run and a 1-second open-loop run commit commands, and
// afterwards every acknowledged command is in every account's state (zero lost acknowledgements,
// read linearizably by the tool's --verify). Plus the tool library's pure parts.
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
#include <numeric>
#include <thread>

#include <nlohmann/json.hpp>

#include "net/client_conn.hpp"
#include "tools/child_process.hpp"
#include "tools/load.hpp"
#include "tools/loopback_port.hpp"

namespace {

using namespace energo;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace ld = energo::tools::load;

// ---- pure parts ----------------------------------------------------------------------------------

TEST(load_library, SequenceFollowsTheMixAndRefusesTooManyRestingOrders) {
  auto s = ld::account_sequence(20, {50, 10});
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 20u);
  EXPECT_EQ(std::count(s->begin(), s->end(), uint8_t{1}), 10);  // cancels
  EXPECT_EQ(std::count(s->begin(), s->end(), uint8_t{2}), 2);   // transfers
  // 61 orders resting at the end (warm-up for each cancel + places) is above the bound.
  EXPECT_FALSE(ld::account_sequence(61, {0, 0}));
  EXPECT_TRUE(ld::account_sequence(60, {0, 0}));
  EXPECT_FALSE(ld::account_sequence(10, {60, 50}));  // shares above 100 %
}

TEST(load_library, PercentilesOfAKnownDistribution) {
  std::vector<uint32_t> us(1000);
  std::iota(us.begin(), us.end(), 1);  // 1..1000 µs
  const auto p = ld::latency_percentiles(us);
  EXPECT_DOUBLE_EQ(p.p50_ms, 0.501);
  EXPECT_DOUBLE_EQ(p.p99_ms, 0.991);
  EXPECT_DOUBLE_EQ(p.p999_ms, 1.0);
  EXPECT_DOUBLE_EQ(p.max_ms, 1.0);
}

TEST(load_library, TimelineGroupsCommandsBySendTimeWithEachEndpointsWorst) {
  ld::run_stats s;
  auto add = [&](uint32_t sent_ms, uint32_t latency_us, uint8_t ep) {
    s.sent_ms.push_back(sent_ms);
    s.latency_us.push_back(latency_us);
    s.endpoint.push_back(ep);
  };
  add(5, 1000, 0);     // window 0: 1 ms on endpoint 0, 3 ms on endpoint 1
  add(99, 3000, 1);
  add(250, 40000, 2);  // window 2 only (window 1 is empty): a 40 ms stall on endpoint 2
  const std::string csv = ld::latency_timeline_csv(s, 3, 100);
  EXPECT_EQ(csv,
            "start_s,commands,p50_ms,p99_ms,max_ms,max_ms_endpoint0,max_ms_endpoint1,max_ms_endpoint2\n"
            "0.000,2,3.00,3.00,3.00,1.00,3.00,0.00\n"
            "0.100,0,0.00,0.00,0.00,0.00,0.00,0.00\n"
            "0.200,1,40.00,40.00,40.00,0.00,0.00,40.00\n");
  EXPECT_EQ(ld::latency_timeline_csv(ld::run_stats{}, 3, 100),
            "start_s,commands,p50_ms,p99_ms,max_ms,max_ms_endpoint0,max_ms_endpoint1,max_ms_endpoint2\n");
}

TEST(load_library, GenesisFundsEveryDerivedAccountAndSumsToTheSupply) {
  auto g = ld::make_genesis(16, "test", 1'700'000'000'000, 1000);
  ASSERT_TRUE(g);
  int64_t sum = 0;
  for (const auto& a : g->allocations) sum += a.tsl_units;
  EXPECT_EQ(sum, ledger::tsl_supply_units);
  for (uint32_t i = 0; i < 16; ++i) {
    const auto addr = ld::account_address_of(ld::account_key("test", i));
    EXPECT_TRUE(std::any_of(g->allocations.begin(), g->allocations.end(),
                            [&](const auto& a) { return a.account == addr && a.tsl_units == 1000; }))
        << i;
  }
  EXPECT_NE(ld::account_address_of(ld::account_key("test", 0)), ld::account_address_of(ld::account_key("test", 1)));
  EXPECT_FALSE(ld::make_genesis(0, "test", 0, 1000));
}

// ---- against a cluster ---------------------------------------------------------------------------

// Runs a command, returns (exit code, stdout).
std::pair<int, std::string> run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class load_smoke : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/energo-load-smoke-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    const auto [rc, out] = run_capture(std::string(ENERGO_LOAD_BIN) + " genesis --accounts 64 --seed smoke --out " + root_ +
                                       "/genesis.json");
    ASSERT_EQ(rc, 0) << out;
    std::ofstream b(root_ + "/bootstrap.toml");
    b << "genesis = \"" << root_ << "/genesis.json\"\n";
    for (int i = 0; i < 3; ++i) {
      name_[i] = "n" + std::to_string(i + 1);
      peer_[i] = energo::tools::reserve_loopback_port();
      client_[i] = energo::tools::reserve_loopback_port();
      const auto [irc, j] = run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + root_ + "/" + name_[i]);
      ASSERT_EQ(irc, 0);
      b << "[[member]]\nname = \"" << name_[i] << "\"\npublic_key = \""
        << nlohmann::json::parse(j).at("public_key").get<std::string>() << "\"\npeer = \"127.0.0.1:" << peer_[i]
        << "\"\nclient = \"127.0.0.1:" << client_[i] << "\"\n";
    }
  }

  void TearDown() override {
    for (auto& p : pid_) {
      if (p > 0) (void)tools::kill_and_wait(p, SIGKILL);
    }
    if (!HasFailure()) fs::remove_all(root_);
    else std::fprintf(stderr, "load smoke: logs kept in %s\n", root_.c_str());
  }

  void start_all() {
    for (int i = 0; i < 3; ++i) {
      const std::vector<std::string> args{ENERGO_NODE_BIN, "start", "--data", root_ + "/" + name_[i], "--name", name_[i],
                                          "--peer-listen", "127.0.0.1:" + std::to_string(peer_[i]),
                                          "--client-listen", "127.0.0.1:" + std::to_string(client_[i]),
                                          "--bootstrap", root_ + "/bootstrap.toml", "--tick-ms", "20"};
      tools::spawn_options o;
      o.log_path = root_ + "/" + name_[i] + ".log";
      o.env = {"ASAN_OPTIONS=detect_leaks=1:abort_on_error=1"};  // see cluster_fixture.hpp
      pid_[i] = tools::spawn_process(args, o);
    }
  }

  bool wait_leader(std::chrono::seconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      net::client_conn c;
      if (c.connect({"127.0.0.1", client_[0]}, 500ms)) {
        net::client_request req;
        req.what = net::client_request::kind::status;
        auto r = c.call(req, 500ms);
        if (r && r->what == net::client_response::kind::status && r->status.leader != 0) return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string endpoints() const {
    std::string e;
    for (int i = 0; i < 3; ++i) e += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(client_[i]);
    return e;
  }

  std::string root_;
  std::string name_[3];
  uint16_t peer_[3]{}, client_[3]{};
  pid_t pid_[3]{-1, -1, -1};
};

TEST_F(load_smoke, ClosedAndOpenLoopCommitWithZeroLostAcknowledgements) {
  start_all();
  ASSERT_TRUE(wait_leader(20s)) << "no leader";
  const std::string common = std::string(ENERGO_LOAD_BIN) + " run --json --verify --endpoints " + endpoints() + " --genesis " +
                             root_ + "/genesis.json --seed smoke --accounts 64 ";

  // Closed loop: 2 s (or 1,280 commands), place/cancel mix plus transfers.
  {
    const auto [rc, out] = run_capture(common + "--concurrency 16 --commands 1280 --duration-s 2 --transfer-percent 10");
    ASSERT_EQ(rc, 0) << out;
    const auto j = nlohmann::json::parse(out);
    std::printf("closed loop: %s\n", j["run"].dump().c_str());
    EXPECT_GT(j["run"]["committed"].get<uint64_t>(), 0u);
    EXPECT_GT(j["run"]["accepted"].get<uint64_t>(), 0u);
    EXPECT_GT(j["warmup"]["accepted"].get<uint64_t>(), 0u);  // the orders later cancelled
    EXPECT_EQ(j["verify"]["lost_acks"].get<uint64_t>(), 0u);
    EXPECT_EQ(j["verify"]["read_failures"].get<uint64_t>(), 0u);
    EXPECT_GT(j["verify"]["accounts_checked"].get<uint64_t>(), 0u);
    EXPECT_TRUE(j["run"]["refused"].empty()) << "a pre-signed command was refused: " << j["run"]["refused"].dump();
  }
  // Open loop at 200/s for 1 s on the same cluster (nonces continue from the state).
  {
    const auto [rc, out] = run_capture(common + "--mode open --rate 200 --concurrency 64 --duration-s 1 --cancel-percent 0");
    ASSERT_EQ(rc, 0) << out;
    const auto j = nlohmann::json::parse(out);
    std::printf("open loop: %s\n", j["run"].dump().c_str());
    EXPECT_GT(j["run"]["committed"].get<uint64_t>(), 0u);
    EXPECT_EQ(j["verify"]["lost_acks"].get<uint64_t>(), 0u);
    EXPECT_TRUE(j["run"]["refused"].empty()) << j["run"]["refused"].dump();
  }
}

}  // namespace
