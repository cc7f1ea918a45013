#pragma once
// Length-prefixed frames: u32 big-endian payload length, then the payload. Every peer-channel
// message (Noise handshake messages and encrypted transport messages) travels in one frame.
// Pure: no I/O; the caller feeds bytes as they come off a socket and writes what it is given.
#include "net/limits.hpp"
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace energo::net {

using byte_span = std::span<const uint8_t>;

namespace limits {
// Largest frame payload a peer may send; a larger declared length closes the connection before
// a single payload byte is buffered. 4 MiB holds a Raft append batch or a snapshot chunk.
inline constexpr std::size_t frame_bytes_max = std::size_t{4} << 20;
}  // namespace limits

enum class frame_error_code {
  empty_frame,     // declared length 0: no message of ours is empty
  oversize_frame,  // declared length above the decoder's maximum
};

struct frame_error {
  frame_error_code code{};
  std::string message;
};

// Appends header + payload to `out`. The payload size is the caller's own choice, so a payload
// that is empty or above `frame_bytes_max` is a programmer error (asserts).
void append_frame(std::vector<uint8_t>& out, byte_span payload,
                  std::size_t frame_bytes_max = limits::frame_bytes_max);
[[nodiscard]] std::vector<uint8_t> encode_frame(byte_span payload,
                                                std::size_t frame_bytes_max = limits::frame_bytes_max);

// Incremental decoder. Memory held is at most one header plus one payload of at most
// `frame_bytes_max` bytes; the payload buffer is sized from the declared length only after that
// length has been checked. After an error the decoder is poisoned: every later call returns the
// same error (the connection must be closed; nothing else is affected).
class frame_decoder {
 public:
  explicit frame_decoder(std::size_t frame_bytes_max = limits::frame_bytes_max);

  struct step {
    std::size_t consumed = 0;                   // bytes of the input used by this step
    std::optional<std::vector<uint8_t>> frame;  // a complete payload, if one ended here
  };
  // Consumes input up to the end of the first frame that completes (or all of it). Call again
  // with the rest of the input while `consumed` < input size.
  [[nodiscard]] result<step, frame_error> decode(byte_span input);

  // Convenience: decodes a whole chunk, appending every completed payload to `frames_out`
  // (their total size is bounded by the chunk's size plus one buffered frame).
  [[nodiscard]] result<void, frame_error> feed(byte_span chunk,
                                               std::vector<std::vector<uint8_t>>& frames_out);

  // Bytes of a frame received so far but not yet complete (header or payload).
  [[nodiscard]] std::size_t buffered_bytes() const noexcept;
  [[nodiscard]] bool failed() const noexcept { return error_.has_value(); }
  // Changes the maximum for frames whose header has not been read yet (the peer channel keeps
  // it at the Noise handshake limit until the peer is authenticated).
  void set_frame_bytes_max(std::size_t frame_bytes_max);

 private:
  std::size_t frame_bytes_max_;
  uint8_t header_[limits::frame_header_bytes]{};
  std::size_t header_filled_ = 0;
  std::vector<uint8_t> payload_;  // sized to the declared length once the header is complete
  std::size_t payload_filled_ = 0;
  bool in_payload_ = false;
  std::optional<frame_error> error_;
};

}  // namespace energo::net
