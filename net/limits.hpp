#pragma once
// Limits shared by the wire codec (wire.hpp) and the peer channel (frame.hpp, peer_handshake.hpp):
// defined once so that a translation unit may include both.
#include <cstddef>

namespace energo::net::limits {
inline constexpr std::size_t frame_header_bytes = 4;  // u32 big-endian payload length
inline constexpr std::size_t cluster_id_bytes_max = 256;
}  // namespace energo::net::limits
