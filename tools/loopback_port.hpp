#pragma once
// Ports on 127.0.0.1 for the child processes of energo-demo and the multi-process tests.
//
// The usual trick - bind port 0, read the port, close, hand it to a child that binds it later -
// races twice: the kernel hands the same port out again as the local port of any outgoing
// connection on the machine (it is in the ephemeral range), and a parallel test process asks the
// kernel the same question. Both have been seen in CI ("client port: cannot listen on
// 127.0.0.1:N"). reserve_loopback_port() closes both windows:
// - it picks outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), so no
//   connect() anywhere on the machine is given it;
// - it claims the port against every other process that uses this function with an exclusive
//   flock on ENERGO_PORT_LOCK_DIR/<port> (default /tmp/energo-ports), kept for as long as this
//   process lives (close-on-exec: children do not inherit it), so two tests never pick the same
//   port even while the node that owns it is down for a restart;
// - and it checks with a bind (no SO_REUSEADDR) that nothing listens on it or holds it right now.
// A process keeps at most `kept_reservations` claims; the oldest are released beyond that (by then
// their nodes listen on them, which the bind check of other processes sees).
#include <cstddef>
#include <cstdint>

namespace energo::tools {

inline constexpr std::size_t kept_reservations = 256;
inline constexpr int reservation_attempts = 512;

// A free port on 127.0.0.1 claimed for this process. Throws std::runtime_error if none was found
// in `reservation_attempts` candidates. Thread-safe.
[[nodiscard]] uint16_t reserve_loopback_port();

// The same over the candidates [first, last] only, scanned from a random one, or 0 if none is
// free (the tests use a small range to see every rule at work).
[[nodiscard]] uint16_t reserve_loopback_port_in(uint16_t first, uint16_t last);

}  // namespace energo::tools
