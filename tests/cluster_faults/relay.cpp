#include "tests/cluster_faults/relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace energo::faults {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void tune(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

bool to_sockaddr(const std::string& host, uint16_t port, sockaddr_in& a) {
  a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  return ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) == 1;
}

}  // namespace

relay::~relay() {
  stop();
  for (auto& l : listeners_) ::close(l.fd);
}

uint16_t relay::add_listener(int dst, const std::string& listen_host, uint16_t listen_port,
                             const std::string& target_host, uint16_t target_port) {
  sockaddr_in a{};
  if (!to_sockaddr(listen_host, listen_port, a)) return 0;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return 0;
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  listeners_.push_back({fd, dst, target_host, target_port});
  return ntohs(a.sin_port);
}

void relay::start() {
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void relay::stop() {
  if (!running_.exchange(false)) return;
  thread_.join();
  for (auto& c : conns_) close_conn(c);
  conns_.clear();
}

void relay::set_rule(int src, int dst, const link_rule& r) {
  std::lock_guard lock(mutex_);
  link_rule clamped = r;
  clamped.delay_ms = std::min(clamped.delay_ms, limits::relay_delay_ms_max);
  clamped.jitter_ms = std::min(clamped.jitter_ms, limits::relay_delay_ms_max);
  rules_[{src, dst}] = clamped;
  ++rules_version_;
}

link_rule relay::rule(int src, int dst) const {
  std::lock_guard lock(mutex_);
  auto it = rules_.find({src, dst});
  return it == rules_.end() ? link_rule{} : it->second;
}

void relay::clear_rules() {
  std::lock_guard lock(mutex_);
  rules_.clear();
  ++rules_version_;
}

relay_counters relay::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

uint64_t relay::next_random() {  // splitmix64: the relay's own stream, seeded by the harness
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void relay::close_conn(connection& c) {
  if (c.from_fd >= 0) ::close(c.from_fd);
  if (c.to_fd >= 0) ::close(c.to_fd);
  c.from_fd = c.to_fd = -1;
}

void relay::accept_on(const listener& l) {
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    const int fd = ::accept4(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const int src = src_of_ ? src_of_(peer, l.dst) : -1;
    const link_rule r = rule(src, l.dst);
    if (r.blocked || conns_.size() >= limits::relay_connections_max) {
      {
        std::lock_guard lock(mutex_);
        ++counters_.refused;  // counted before the dialler can see the close
      }
      ::close(fd);
      continue;
    }
    sockaddr_in target{};
    to_sockaddr(l.target_host, l.target_port, target);
    const int to = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    tune(fd);
    tune(to);
    const int rc = ::connect(to, reinterpret_cast<sockaddr*>(&target), sizeof(target));
    if (rc != 0 && errno != EINPROGRESS) {
      ::close(fd);
      ::close(to);
      continue;  // the node is down: the dialler sees its connection closed, as with no relay
    }
    connection c;
    c.from_fd = fd;
    c.to_fd = to;
    c.to_connected = rc == 0;
    c.src = src;
    c.dst = l.dst;
    conns_.push_back(std::move(c));
    std::lock_guard lock(mutex_);
    ++counters_.accepted;
  }
}

// Reads what is there into the direction's queue with its due time. False: EOF or error.
bool relay::pump_read(int fd, direction& d, const link_rule& r, int64_t now) {
  char buf[limits::relay_read_chunk_bytes];
  while (d.queued_bytes < limits::relay_queue_bytes_max) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    int64_t due = now + r.delay_ms + (r.jitter_ms ? static_cast<int64_t>(next_random() % (r.jitter_ms + 1)) : 0);
    due = std::max(due, d.last_due_ms);  // a stream keeps its order
    d.last_due_ms = due;
    d.queue.push_back({due, std::string(buf, static_cast<std::size_t>(n))});
    d.queued_bytes += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes the due chunks. False: the other side is gone.
bool relay::pump_write(int fd, direction& d, int64_t now) {
  std::size_t done = 0;
  while (done < d.queue.size() && d.queue[done].due_ms <= now) {
    auto& c = d.queue[done];
    const ssize_t n = ::send(fd, c.bytes.data(), c.bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      return false;
    }
    d.queued_bytes -= static_cast<std::size_t>(n);
    {
      std::lock_guard lock(mutex_);
      counters_.bytes += static_cast<uint64_t>(n);
    }
    if (static_cast<std::size_t>(n) < c.bytes.size()) {
      c.bytes.erase(0, static_cast<std::size_t>(n));
      break;
    }
    ++done;
  }
  d.queue.erase(d.queue.begin(), d.queue.begin() + static_cast<std::ptrdiff_t>(done));
  return true;
}

void relay::loop() {
  std::vector<pollfd> fds;
  while (running_) {
    std::map<std::pair<int, int>, link_rule> rules;
    {
      std::lock_guard lock(mutex_);
      rules = rules_;
    }
    auto rule_of = [&](const connection& c) {
      auto it = rules.find({c.src, c.dst});
      return it == rules.end() ? link_rule{} : it->second;
    };
    int64_t now = now_ms();
    // Blocks apply to connections already open: the link goes silent at once.
    for (auto& c : conns_) {
      if (c.from_fd >= 0 && rule_of(c).blocked) {
        {
          std::lock_guard lock(mutex_);
          ++counters_.resets;
        }
        close_conn(c);
      }
    }
    fds.clear();
    for (const auto& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
    int64_t next_due = now + limits::relay_loop_wait_ms;
    for (const auto& c : conns_) {
      if (c.from_fd < 0) continue;
      const auto r = rule_of(c);
      short from_ev = 0, to_ev = 0;
      if (c.up.queued_bytes < limits::relay_queue_bytes_max) from_ev |= POLLIN;
      if (!c.to_connected) to_ev |= POLLOUT;
      else if (c.down.queued_bytes < limits::relay_queue_bytes_max) to_ev |= POLLIN;
      if (!r.stalled) {
        if (!c.up.queue.empty()) next_due = std::min(next_due, c.up.queue.front().due_ms);
        if (!c.down.queue.empty()) next_due = std::min(next_due, c.down.queue.front().due_ms);
      }
      fds.push_back({c.from_fd, from_ev, 0});
      fds.push_back({c.to_fd, to_ev, 0});
    }
    const int wait = static_cast<int>(std::clamp<int64_t>(next_due - now, 0, limits::relay_loop_wait_ms));
    ::poll(fds.data(), fds.size(), wait);
    now = now_ms();
    const std::size_t polled = conns_.size();  // accept_on appends connections that were not polled
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      if (fds[i].revents & POLLIN) accept_on(listeners_[i]);
    }
    std::size_t k = listeners_.size();
    for (std::size_t ci = 0; ci < polled; ++ci) {
      auto& c = conns_[ci];
      if (c.from_fd < 0) continue;
      const auto r = rule_of(c);
      const pollfd& pf = fds[k++];
      const pollfd& pt = fds[k++];
      bool ok = true;
      if (!c.to_connected && (pt.revents & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(c.to_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) ok = false;
        else c.to_connected = true;
      }
      if (ok && (pf.revents & (POLLIN | POLLHUP | POLLERR))) ok = pump_read(c.from_fd, c.up, r, now);
      if (ok && c.to_connected && (pt.revents & (POLLIN | POLLHUP | POLLERR))) ok = pump_read(c.to_fd, c.down, r, now);
      if (ok && !r.stalled) {
        if (c.to_connected) ok = pump_write(c.to_fd, c.up, now);
        if (ok) ok = pump_write(c.from_fd, c.down, now);
      }
      if (ok && r.reset_per_mille != 0 && (pf.revents & POLLIN) && next_random() % 1000 < r.reset_per_mille) ok = false;
      if (!ok) {
        close_conn(c);
        std::lock_guard lock(mutex_);
        ++counters_.resets;
      }
    }
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const connection& c) { return c.from_fd < 0; }),
                 conns_.end());
  }
}

}  // namespace energo::faults
