#include "tools/loopback_port.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

namespace energo::tools {
namespace {

// The kernel's ephemeral range; Linux's default if the file cannot be read.
std::pair<int, int> ephemeral_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0, hi = 0;
  if (in >> lo >> hi && lo > 0 && hi >= lo && hi <= 65535) return {lo, hi};
  return {32768, 60999};
}

bool bindable(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string lock_dir() {
  const char* d = std::getenv("ENERGO_PORT_LOCK_DIR");
  std::string dir = d != nullptr && *d != '\0' ? d : "/tmp/energo-ports";
  if (::mkdir(dir.c_str(), 01777) == 0) ::chmod(dir.c_str(), 01777);  // shared by every user's tests
  return dir;
}

struct claims {
  std::mutex mu;
  std::deque<int> fds;  // oldest first
  std::mt19937 rng{std::random_device{}()};
};

claims& state() {
  static claims c;
  return c;
}

}  // namespace

namespace {

// Scans `count` candidates from a random one; `port_at(i)` maps an index to its port.
template <typename PortAt>
uint16_t reserve_among(int count, PortAt port_at) {
  if (count <= 0) return 0;
  const std::string dir = lock_dir();
  claims& c = state();
  std::lock_guard lock(c.mu);
  const int start = std::uniform_int_distribution<int>(0, count - 1)(c.rng);
  const int tries = count < reservation_attempts ? count : reservation_attempts;
  for (int k = 0; k < tries; ++k) {
    const uint16_t port = port_at((start + k) % count);
    const std::string path = dir + "/" + std::to_string(port);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // claimed by another process, or earlier by this one
      ::close(fd);
      continue;
    }
    if (!bindable(port)) {
      ::close(fd);
      continue;
    }
    c.fds.push_back(fd);
    while (c.fds.size() > kept_reservations) {
      ::close(c.fds.front());
      c.fds.pop_front();
    }
    return port;
  }
  return 0;
}

}  // namespace

uint16_t reserve_loopback_port() {
  const auto [eph_lo, eph_hi] = ephemeral_range();
  // Candidates: [1024, 65535] without the ephemeral range, as one index space.
  const int below = eph_lo > 1024 ? eph_lo - 1024 : 0;
  const int above = eph_hi < 65535 ? 65535 - eph_hi : 0;
  const uint16_t port = reserve_among(below + above, [&](int i) {
    return static_cast<uint16_t>(i < below ? 1024 + i : eph_hi + 1 + (i - below));
  });
  if (port == 0) throw std::runtime_error("no free port on 127.0.0.1 outside the ephemeral range");
  return port;
}

uint16_t reserve_loopback_port_in(uint16_t first, uint16_t last) {
  if (first == 0 || last < first) return 0;
  return reserve_among(last - first + 1, [&](int i) { return static_cast<uint16_t>(first + i); });
}

}  // namespace energo::tools
