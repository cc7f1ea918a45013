#pragma once
// The peer channel after the handshake: Noise transport messages (§5.1 CipherState, empty
// associated data), one per frame. Each direction has its own key and strict implicit counter:
// frame i in a direction is encrypted with nonce i, so a replayed, reordered, dropped or tampered
// frame fails authentication, and that error closes the session for good.
//
// Rekeying (Noise §11.3): before frame number i (i > 0, i a multiple of frames_per_key_max) in a
// direction, both ends apply REKEY to that direction's key; the count is known to both sides, so
// nothing is sent to coordinate it. After frames_per_session_max frames in either direction the
// session refuses further use (the connection is renewed with a new handshake), long before the
// 64-bit nonce could reach its reserved value 2^64-1.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "net/frame.hpp"
#include "net/noise.hpp"

namespace energo::net {

namespace limits {
// About a million frames per key: bounds how much traffic one key protects (and how much a leaked
// key exposes); ChaCha20-Poly1305 itself would allow far more.
inline constexpr uint64_t frames_per_key_max = uint64_t{1} << 20;
// Per direction and connection; then renew. 2^48 frames is years at a million frames a second.
inline constexpr uint64_t frames_per_session_max = uint64_t{1} << 48;
// A sealed message (ciphertext + tag) fills at most one frame.
inline constexpr std::size_t session_plaintext_bytes_max = frame_bytes_max - noise::tag_bytes;
}  // namespace limits

// Every way a peer channel can fail. Each one closes that connection only.
enum class channel_error_code {
  frame_empty,                      // a zero-length frame
  frame_oversize,                   // a frame above the limit for the connection's phase
  handshake_message_invalid,        // wrong size/shape, low-order key, out-of-turn message
  prologue_mismatch_or_tampered,    // handshake decryption failed
  identity_proof_invalid,           // the Ed25519 signature in the handshake does not verify
  peer_not_admitted,                // the node key is not a member (or being added)
  unexpected_peer,                  // the initiator reached a different node than it dialed
  frame_authentication_failed,      // tampered, replayed, reordered or dropped transport frame
  session_exhausted,                // frames_per_session_max reached: renew the connection
  plaintext_too_large,              // caller error: message above session_plaintext_bytes_max
  not_established,                  // transport use before the handshake finished
  bad_config,                       // cluster id too long, missing predicate, ...
};

struct channel_error {
  channel_error_code code{};
  std::string message;  // what a log line should say
};

template <class T>
using channel_result = result<T, channel_error>;

[[nodiscard]] const char* to_string(channel_error_code code);

struct session_limits {
  uint64_t frames_per_key_max = limits::frames_per_key_max;
  uint64_t frames_per_session_max = limits::frames_per_session_max;
};

class secure_session {
 public:
  explicit secure_session(noise::transport_ciphers ciphers, session_limits limits = {});

  // Encrypts one message and returns the whole frame (header + ciphertext) to write.
  [[nodiscard]] channel_result<std::vector<uint8_t>> seal(byte_span plaintext);
  // Decrypts one frame payload as returned by frame_decoder. Any failure closes the session.
  [[nodiscard]] channel_result<std::vector<uint8_t>> open(byte_span frame_payload);

  [[nodiscard]] uint64_t frames_sent() const noexcept { return frames_sent_; }
  [[nodiscard]] uint64_t frames_received() const noexcept { return frames_received_; }
  [[nodiscard]] const noise::hash32& handshake_hash() const noexcept { return handshake_hash_; }
  [[nodiscard]] const std::optional<channel_error>& closed_because() const noexcept { return error_; }

 private:
  channel_error close(channel_error error);

  noise::cipher_state send_;
  noise::cipher_state receive_;
  noise::hash32 handshake_hash_{};
  session_limits limits_;
  uint64_t frames_sent_ = 0;
  uint64_t frames_received_ = 0;
  std::optional<channel_error> error_;
};

}  // namespace energo::net
