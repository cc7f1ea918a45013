#include "net/client_conn.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace energo::net {

using clock_type = std::chrono::steady_clock;

std::optional<endpoint> parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) return std::nullopt;
  unsigned long port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) return std::nullopt;
  }
  return endpoint{std::string(text.substr(0, colon)), static_cast<uint16_t>(port)};
}

client_conn::~client_conn() { close(); }

void client_conn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {
int remaining_ms(clock_type::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}
}  // namespace

energo::result<void, std::string> client_conn::connect(const endpoint& ep, std::chrono::milliseconds timeout) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  if (int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return energo::unexpected<std::string>{"resolve " + ep.host + ": " + gai_strerror(rc)};
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return energo::unexpected<std::string>{std::string("socket: ") + std::strerror(errno)};
  }
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  const std::string where = ep.host + ":" + port;
  if (rc != 0 && errno != EINPROGRESS) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    return energo::unexpected<std::string>{"connect " + where + ": " + err};
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      ::close(fd);
      return energo::unexpected<std::string>{"connect " + where + ": timed out"};
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      return energo::unexpected<std::string>{"connect " + where + ": " + std::strerror(err)};
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_ = fd;
  return ok;
}

energo::result<void, std::string> client_conn::send_raw(std::string_view bytes) {
  if (fd_ < 0) return energo::unexpected<std::string>{"not connected"};
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      if (errno == EINTR) continue;
      return energo::unexpected<std::string>{std::string("send: ") + std::strerror(errno)};
    }
    sent += static_cast<std::size_t>(n);
  }
  return ok;
}

energo::result<client_response, std::string> client_conn::call(client_request request,
                                                                 std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  request.id = next_id_++;
  if (auto r = send_raw(frame_of(encode_client_request(request))); !r) return energo::unexpected<std::string>{r.error()};
  frame_reader reader(limits::client_response_frame_bytes_max);
  char buf[16384];
  for (;;) {
    auto body = reader.next();
    if (!body) return energo::unexpected<std::string>{"bad frame from node: " + body.error().message};
    if (body->has_value()) {
      auto res = decode_client_response(**body);
      if (!res) return energo::unexpected<std::string>{"bad response from node: " + res.error().message};
      if (res->id == request.id) return std::move(*res);
      continue;  // an answer to an earlier request that timed out on our side
    }
    pollfd p{fd_, POLLIN, 0};
    const int left = remaining_ms(deadline);
    if (left == 0 || ::poll(&p, 1, left) != 1) return energo::unexpected<std::string>{"timed out waiting for the node"};
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0) {
      close();
      return energo::unexpected<std::string>{"the node closed the connection"};
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      const std::string err = std::strerror(errno);
      close();
      return energo::unexpected<std::string>{"recv: " + err};
    }
    reader.feed(std::span<const char>(buf, static_cast<std::size_t>(n)));
  }
}

bool client_conn::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  char buf[4096];
  while (fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    const int left = remaining_ms(deadline);
    if (left == 0 || ::poll(&p, 1, left) != 1) return false;
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      close();
      return true;
    }
  }
  return true;
}

}  // namespace energo::net
