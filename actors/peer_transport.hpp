#pragma once
// The seam where the Noise XX secure session (net/secure_session.*) will go. Today a peer link is
// plain length-prefixed frames (net/wire.hpp) whose first frame is an unauthenticated hello that
// names the cluster id and the dialling node: a wrong cluster id or a non-member is refused.
//   outbound_link::seal(body)   -> bytes to write on the socket     (Noise: encrypt + frame)
//   inbound_link::open(bytes)   -> complete frame bodies, or an error (Noise: deframe + decrypt)
// Replacing these two classes (plus the handshake state they then carry) is the whole change.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/wire.hpp"

namespace energo::actors {

class outbound_link {
 public:
  void seal(std::vector<char>& out, std::string_view body) const { net::append_frame(out, body); }
};

class inbound_link {
 public:
  inbound_link() : reader_(net::limits::peer_frame_bytes_max) {}
  // Appends the frame bodies completed by `bytes` to `out`; an error closes the connection.
  [[nodiscard]] net::wire_result<void> open(std::span<const char> bytes, std::vector<std::string>& out) {
    reader_.feed(bytes);
    for (;;) {
      auto body = reader_.next();
      if (!body) return energo::unexpected<net::wire_error>{body.error()};
      if (!body->has_value()) return ok;
      out.push_back(std::move(**body));
    }
  }

 private:
  net::frame_reader reader_;
};

}  // namespace energo::actors
