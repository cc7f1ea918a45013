// tools/loopback_port.hpp: ports for child processes are outside the kernel's ephemeral range,
// never handed out twice while claimed (in this process or another one), and never one that
// something already holds. The kernel's range is read here independently of the code under test.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tools/loopback_port.hpp"

namespace energo::tools {
namespace {

namespace fs = std::filesystem;

int listen_on(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as a node's listener does
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A plain bind (no SO_REUSEADDR): fails while anything holds the port, a TIME_WAIT included.
bool bindable(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class loopback_port : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/energo_port_locks_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::setenv("ENERGO_PORT_LOCK_DIR", dir_.c_str(), 1);  // these claims are private to this test
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    ASSERT_TRUE(in >> eph_lo_ >> eph_hi_);
  }
  void TearDown() override {
    ::unsetenv("ENERGO_PORT_LOCK_DIR");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // `n` consecutive ports below the ephemeral range that nothing holds now.
  uint16_t free_run(int n) {
    for (int base = 20000 + static_cast<int>(::getpid() % 5000); base + n < eph_lo_; base += n) {
      bool all = true;
      for (int p = base; p < base + n && all; ++p) all = bindable(static_cast<uint16_t>(p));
      if (all) return static_cast<uint16_t>(base);
    }
    return 0;
  }
  std::string dir_;
  int eph_lo_ = 0, eph_hi_ = 0;
};

TEST_F(loopback_port, ports_are_outside_the_ephemeral_range_and_distinct) {
  std::set<uint16_t> seen;
  for (int i = 0; i < 64; ++i) {
    const uint16_t p = reserve_loopback_port();
    ASSERT_NE(p, 0);
    EXPECT_TRUE(p < eph_lo_ || p > eph_hi_) << p << " is in the ephemeral range " << eph_lo_ << "-" << eph_hi_;
    EXPECT_GE(p, 1024);
    EXPECT_TRUE(seen.insert(p).second) << p << " handed out twice";
    const int fd = listen_on(p);  // a child can listen on it
    EXPECT_GE(fd, 0) << p;
    if (fd >= 0) ::close(fd);
  }
}

TEST_F(loopback_port, a_claimed_port_is_not_handed_out_again_here_or_in_another_process) {
  constexpr int n = 8;
  const uint16_t first = free_run(n);
  ASSERT_NE(first, 0) << "no run of " << n << " free ports below " << eph_lo_;
  const auto last = static_cast<uint16_t>(first + n - 1);
  std::set<uint16_t> got;
  for (int i = 0; i < n; ++i) got.insert(reserve_loopback_port_in(first, last));
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(got.count(0), 0u);
  EXPECT_EQ(reserve_loopback_port_in(first, last), 0) << "every port of the range is claimed already";
  // Another process using the same lock directory sees the claims (a fork: it has its own open
  // files, as a parallel test binary would).
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(reserve_loopback_port_in(first, last) == 0 ? 0 : 1);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "another process was handed a port this one claimed";
}

TEST_F(loopback_port, a_port_something_listens_on_is_skipped) {
  const uint16_t p = free_run(1);
  ASSERT_NE(p, 0);
  const int fd = listen_on(p);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(reserve_loopback_port_in(p, p), 0) << "handed out a port with a listener on it";
  ::close(fd);
  EXPECT_EQ(reserve_loopback_port_in(p, p), p) << "the port is free again";
}

TEST_F(loopback_port, an_empty_or_invalid_range_gives_zero) {
  EXPECT_EQ(reserve_loopback_port_in(0, 10), 0);
  EXPECT_EQ(reserve_loopback_port_in(30000, 29999), 0);
}

}  // namespace
}  // namespace energo::tools
