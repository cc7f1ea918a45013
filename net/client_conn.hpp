#pragma once
// A blocking client of the node's client port (energoctl, tests, meters written in C++). One TCP
// connection, one request at a time; every call has a deadline. Errors are values.
#include <chrono>
#include <string>

#include "common/result.hpp"
#include "net/wire.hpp"

namespace energo::net {

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};
// "host:port" (IPv4 or a name resolvable by getaddrinfo); nullopt if it does not parse.
[[nodiscard]] std::optional<endpoint> parse_endpoint(std::string_view text);

class client_conn {
 public:
  client_conn() = default;
  ~client_conn();
  client_conn(const client_conn&) = delete;
  client_conn& operator=(const client_conn&) = delete;
  client_conn(client_conn&& other) noexcept : fd_(other.fd_), next_id_(other.next_id_) { other.fd_ = -1; }

  [[nodiscard]] energo::result<void, std::string> connect(const endpoint& ep, std::chrono::milliseconds timeout);
  // Sends the request (its id is assigned here) and waits for the response with that id.
  [[nodiscard]] energo::result<client_response, std::string> call(client_request request,
                                                                  std::chrono::milliseconds timeout);
  // Raw bytes, for tests of malformed input.
  [[nodiscard]] energo::result<void, std::string> send_raw(std::string_view bytes);
  // True if the peer closed the connection within `timeout` (reads and discards data).
  [[nodiscard]] bool wait_closed(std::chrono::milliseconds timeout);
  void close();
  [[nodiscard]] bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  uint64_t next_id_ = 1;
};

}  // namespace energo::net
