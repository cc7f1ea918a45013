// The fault harness on real energo-node processes (issue 11 §1): seeded schedules of nemeses
// (kill -9, SIGSTOP, partitions of every shape, slow and flaky links, ...) while clients record a
// history, then the checks (README.md). Every run prints its seed and schedule;
//   cluster_faults_tests --seed N [--nodes 5] [--run-ms 6000] [--faults 4]   (ENERGO_FAULTS_SEED=N)
// replays one schedule in every schedule test, and --schedules K sets the sweep length.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "tests/cluster_faults/harness.hpp"
#include "tests/cluster_faults/relay.hpp"

namespace {

using namespace energo::faults;
using namespace std::chrono_literals;

std::optional<uint64_t> g_seed;
int g_schedules = 100;
std::optional<int> g_nodes, g_run_ms, g_faults;
bool g_loopback = false;

// A schedule test: the given seed, or --seed.
run_report run_seeded(uint64_t seed, schedule_options o) {
  if (g_nodes) o.nodes = *g_nodes;
  if (g_run_ms) o.run_ms = static_cast<uint32_t>(*g_run_ms);
  if (g_faults) o.faults = *g_faults;
  const auto s = make_schedule(g_seed.value_or(seed), o);
  run_options ro;
  ro.namespaces_allowed = !g_loopback;
  auto rep = run_schedule(s, ro);
  return rep;
}

void expect_clean(const run_report& rep) {
  EXPECT_TRUE(rep.ok()) << "replay: --seed " << rep.seed;
  EXPECT_EQ(rep.lost, 0u);
  EXPECT_EQ(rep.applied_twice, 0u);
  EXPECT_GT(rep.transfers_ok, 0u) << "the clients made no progress at all";
  EXPECT_GT(rep.reads_ok, 0u);
}

#ifndef ENERGO_FAULTS_SLOW
// ---- The relay alone (no nodes): what the nemeses rely on --------------------------------------

struct echo_server {
  int fd = -1;
  uint16_t port = 0;
  std::thread t;
  std::atomic<bool> stop{false};
  echo_server() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd, 16);
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    t = std::thread([this] {
      while (!stop) {
        const int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          char buf[4096];
          for (;;) {
            const auto n = ::read(c, buf, sizeof(buf));
            if (n <= 0) break;
            if (::write(c, buf, static_cast<size_t>(n)) != n) break;
          }
          ::close(c);
        }).detach();
      }
    });
  }
  ~echo_server() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    t.join();
  }
};

int dial(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// Sends "ping" and waits for the echo; returns the round trip or nothing (closed / timed out).
std::optional<std::chrono::milliseconds> round_trip(int fd) {
  const auto t0 = std::chrono::steady_clock::now();
  if (::write(fd, "ping", 4) != 4) return std::nullopt;
  char buf[4];
  std::size_t got = 0;
  while (got < 4) {
    const auto n = ::read(fd, buf + got, 4 - got);
    if (n <= 0) return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

TEST(fault_relay, ForwardsDelaysBlocksAndHeals) {
  echo_server echo;
  relay r(42);
  r.set_src_lookup([](const sockaddr_in&, int) { return 7; });  // every dialler is "node 7"
  const uint16_t port = r.add_listener(0, "127.0.0.1", 0, "127.0.0.1", echo.port);
  ASSERT_NE(port, 0);
  r.start();

  int fd = dial(port);
  ASSERT_GE(fd, 0);
  auto rt = round_trip(fd);
  ASSERT_TRUE(rt);
  EXPECT_LT(*rt, 100ms);

  // Delay applies to both directions of the connection.
  r.set_rule(7, 0, link_rule{false, false, 150, 0, 0});
  std::this_thread::sleep_for(20ms);
  rt = round_trip(fd);
  ASSERT_TRUE(rt);
  EXPECT_GE(*rt, 290ms);

  // A block closes the open connection and refuses new ones; other links are untouched.
  r.set_rule(7, 0, link_rule{true, false, 0, 0, 0});
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(round_trip(fd));
  ::close(fd);
  fd = dial(port);
  if (fd >= 0) {
    EXPECT_FALSE(round_trip(fd));
    ::close(fd);
  }
  EXPECT_GE(r.counters().refused, 1u);

  // A stall holds the bytes; they arrive after it ends.
  r.clear_rules();
  fd = dial(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(round_trip(fd));
  r.set_rule(7, 0, link_rule{false, true, 0, 0, 0});
  std::this_thread::sleep_for(20ms);
  std::thread unstall([&r] {
    std::this_thread::sleep_for(300ms);
    r.clear_rules();
  });
  rt = round_trip(fd);
  unstall.join();
  ASSERT_TRUE(rt);
  EXPECT_GE(*rt, 250ms);
  ::close(fd);
  r.stop();
}

TEST(fault_schedule, SameSeedSameScheduleAndEveryKindReachable) {
  schedule_options o;
  o.nodes = 5;
  o.faults = 6;
  EXPECT_EQ(make_schedule(7, o).describe(), make_schedule(7, o).describe());
  EXPECT_NE(make_schedule(7, o).describe(), make_schedule(8, o).describe());
  std::set<fault_kind> seen;
  for (uint64_t s = 1; s < 200; ++s) {
    for (const auto& f : make_schedule(s, o).faults) seen.insert(f.kind);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(fault_kind::count_));
}

// ---- Schedules on real nodes (label `cluster`) ---------------------------------------------------

TEST(cluster_faults, KillsAndPartitionsOnThreeNodes) {
  schedule_options o;
  o.nodes = 3;
  o.run_ms = 4000;
  o.faults = 4;
  o.kinds = {fault_kind::kill_leader, fault_kind::kill_random, fault_kind::isolate_leader,
             fault_kind::split_minority, fault_kind::one_way_leader_out, fault_kind::one_way_leader_in};
  expect_clean(run_seeded(1, o));
}

TEST(cluster_faults, PausedLeaderSlowFlakyLinksAndClockJumps) {
  schedule_options o;
  o.nodes = 3;
  o.run_ms = 4000;
  o.faults = 5;
  o.kinds = {fault_kind::pause_leader, fault_kind::slow_links, fault_kind::flaky_links, fault_kind::kill_leader,
             fault_kind::clock_jump_leader};
  expect_clean(run_seeded(2, o));
}

TEST(cluster_faults, MembershipChangesDuringFaults) {
  schedule_options o;
  o.nodes = 3;
  o.run_ms = 4000;
  o.faults = 3;
  o.kinds = {fault_kind::remove_member, fault_kind::kill_random, fault_kind::split_minority};
  expect_clean(run_seeded(4, o));
}

// The leader's removal hold-back, end to end: a follower cut off from every node (both ways)
// while its removal commits, the cut healed within the grace. The leader must keep it in the Raft
// configuration and keep its link (actors/raft_actor.cpp removal_due, brokers.cpp departing) until
// it has its removal; it then stops by itself (exit 8). Without either it never learns (nothing
// else reaches a node outside the configuration) and the harness reports it still running.
TEST(cluster_faults, FollowerCutOffDuringItsRemovalLearnsOfItOnceHealed) {
  schedule_options o;
  o.nodes = 3;
  o.run_ms = 3000;
  o.faults = 1;
  o.kinds = {fault_kind::remove_cut_member};
  const auto rep = run_seeded(6, o);
  expect_clean(rep);
  EXPECT_EQ(rep.cut_removals_learned, 1u) << "the strict check did not run (the node stopped before the heal?)";
}

// Namespace mode only (the data dirs are tmpfs mounts); in loopback mode the disk faults are
// skipped with a message and the kill still runs.
TEST(cluster_faults, FullAndReadOnlyDataDisks) {
  schedule_options o;
  o.nodes = 3;
  o.run_ms = 4000;
  o.faults = 3;
  o.kinds = {fault_kind::disk_full_restart, fault_kind::read_only_restart, fault_kind::kill_leader};
  const auto rep = run_seeded(5, o);
  expect_clean(rep);
  if (rep.mode != "namespaces") GTEST_SKIP() << "disk faults need namespace mode (root: tmpfs mounts); ran the kill only: " << rep.mode;
}

TEST(cluster_faults, FiveNodesBridgeAndCombinedFaults) {
  schedule_options o;
  o.nodes = 5;
  o.run_ms = 4000;
  o.faults = 5;
  o.kinds = {fault_kind::bridge, fault_kind::kill_leader, fault_kind::pause_leader, fault_kind::split_minority,
             fault_kind::one_way_leader_in, fault_kind::slow_links};
  expect_clean(run_seeded(3, o));
}

#else
// Label `slow`: --schedules random schedules (default 100) over every fault kind, 3 and 5 nodes.
TEST(cluster_faults_slow, SweepOfRandomSchedules) {
  uint64_t faults = 0, acked = 0, lost = 0, failed = 0;
  const uint64_t base = g_seed.value_or(1000);
  for (int i = 0; i < g_schedules; ++i) {
    schedule_options o;
    o.nodes = g_nodes.value_or(i % 3 == 2 ? 5 : 3);
    o.run_ms = static_cast<uint32_t>(g_run_ms.value_or(5000));
    o.faults = g_faults.value_or(4);
    const auto s = make_schedule(base + static_cast<uint64_t>(i), o);
    run_options ro;
    ro.namespaces_allowed = !g_loopback;
    const auto rep = run_schedule(s, ro);
    faults += static_cast<uint64_t>(rep.faults_injected);
    acked += rep.transfers_ok;
    lost += rep.lost;
    if (!rep.ok()) {
      ++failed;
      ADD_FAILURE() << "schedule failed; replay: cluster_faults_slow_tests --schedules 1 --seed " << s.seed << " --nodes "
                    << o.nodes;
    }
  }
  std::printf("faults-sweep schedules=%d faults=%llu acked=%llu lost=%llu failed=%llu\n", g_schedules,
              static_cast<unsigned long long>(faults), static_cast<unsigned long long>(acked),
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(failed));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (const char* e = std::getenv("ENERGO_FAULTS_SEED")) g_seed = std::strtoull(e, nullptr, 10);
  if (std::getenv("ENERGO_FAULTS_LOOPBACK")) g_loopback = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seed") g_seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--schedules") g_schedules = std::atoi(value().c_str());
    else if (a == "--nodes") g_nodes = std::atoi(value().c_str());
    else if (a == "--run-ms") g_run_ms = std::atoi(value().c_str());
    else if (a == "--faults") g_faults = std::atoi(value().c_str());
    else if (a == "--loopback") g_loopback = true;
  }
  return RUN_ALL_TESTS();
}
