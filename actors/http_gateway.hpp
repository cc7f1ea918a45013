#pragma once
// The node's HTTP gateway (docs/node.md "HTTP API"): JSON reads and signed writes over the same
// actors as the client port, Server-Sent Events, Prometheus /metrics, /livez, /readyz and the
// dashboard's static files (web/, embedded at build time).
//
// Threads: cpp-httplib serves each connection on a thread of its own pool (one thread per
// connection, at most `connections_max`); a handler talks to the actors with a caf::scoped_actor
// request and a timeout, so it blocks only its httplib thread, never a CAF scheduler thread
// (actors/README.md "Where blocking work runs").
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/runtime.hpp"
#include "common/result.hpp"
#include "net/client_conn.hpp"

namespace energo::actors {

namespace limits {
inline constexpr uint32_t http_connections_max_default = 64;        // served at once (= worker threads)
inline constexpr uint32_t http_body_bytes_max_default = 64 * 1024;  // a request body (one signed command)
inline constexpr uint32_t http_io_timeout_ms_default = 5000;        // socket read / write
inline constexpr uint32_t http_keep_alive_ms = 2000;                // an idle keep-alive connection
inline constexpr std::size_t http_refused_pending_max = 64;         // connections waiting for their 503
inline constexpr std::size_t http_query_params_max = 32;            // URL parameters of one query
}  // namespace limits

struct http_options {
  net::endpoint listen;  // loopback by default (node/config.hpp)
  uint32_t connections_max = limits::http_connections_max_default;
  uint32_t body_bytes_max = limits::http_body_bytes_max_default;
  uint32_t io_timeout_ms = limits::http_io_timeout_ms_default;
  uint32_t read_timeout_ms = 5000;  // an actor read (status, query); writes wait submit_timeout_ms + 2 s
};

class http_gateway {
 public:
  // Binds the port (0: any) and starts serving on a thread of its own.
  [[nodiscard]] static energo::result<std::unique_ptr<http_gateway>, std::string> start(
      caf::actor_system& sys, const node_handles& actors, std::shared_ptr<const node_context> ctx, http_options options);
  ~http_gateway();
  http_gateway(const http_gateway&) = delete;
  http_gateway& operator=(const http_gateway&) = delete;

  [[nodiscard]] uint16_t port() const;
  // Stops accepting, ends event streams, waits for the serving threads. Idempotent. Must run
  // before the actor system goes away.
  void stop();

  struct impl;

 private:
  explicit http_gateway(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace energo::actors
