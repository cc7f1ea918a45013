#pragma once
// Energo's peer handshake: Noise_XX_25519_ChaChaPoly_SHA256 (net/noise.hpp) in which each side
// proves its Ed25519 node key, then the secure_session. Layout (net/README.md has the why):
//
//   prologue  = "energo/peer/v1" || u16 BE len(cluster id) || cluster id || genesis hash (32)
//   message 1   initiator -> responder   e                      payload: empty
//   message 2   responder -> initiator   e, ee, s, es           payload: node key (32) || sig (64)
//   message 3   initiator -> responder   s, se                  payload: node key (32) || sig (64)
//   sig = Ed25519(node key, "energo/peer/v1/node-key-proof" || role byte || Noise static key ||
//                 handshake hash when the payload is encrypted)
//
// The initiator judges the responder after message 2, before revealing its own identity; the
// responder judges the initiator after message 3. A node key must pass the caller's admission
// predicate (committed member or a member being added).
//
// peer_channel puts framing, handshake and session together behind the interface a CAF broker
// needs: bytes in, bytes to write out, application messages out. Pure: no sockets, no clock.
#include "net/limits.hpp"
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "net/frame.hpp"
#include "net/noise.hpp"
#include "net/secure_session.hpp"

namespace energo::net {

namespace limits {
// Before the peer is authenticated no frame may exceed a Noise handshake message (§3), so an
// unauthenticated connection cannot make us buffer a full frame_bytes_max.
inline constexpr std::size_t handshake_frame_bytes_max = noise::message_bytes_max;
}  // namespace limits

inline constexpr std::string_view peer_protocol_tag = "energo/peer/v1";
inline constexpr std::string_view node_key_proof_tag = "energo/peer/v1/node-key-proof";
inline constexpr std::size_t node_key_proof_bytes = 32 + 64;

// "Is this node key a committed member, or a member being added?" Called once per handshake.
using admission_predicate = std::function<bool(const crypto::ed25519_public_key&)>;

struct peer_handshake_config {
  noise::role local_role = noise::role::initiator;
  std::string cluster_id;
  crypto::hash256 genesis_hash{};
  crypto::ed25519_keypair node_key;
  admission_predicate is_admitted;
  // The initiator usually dials a known node: if set, any other node key is refused.
  std::optional<crypto::ed25519_public_key> expected_peer;
  // The Noise static key is authenticated by the node key's signature, so it need not be
  // long-lived; a fresh one per handshake is generated when absent.
  std::optional<noise::x25519_keypair> noise_static;
  std::optional<noise::x25519_keypair> noise_ephemeral;  // tests only
  session_limits session;
};

[[nodiscard]] std::vector<uint8_t> peer_prologue(std::string_view cluster_id,
                                                 const crypto::hash256& genesis_hash);
// The bytes a node key signs to prove it owns `noise_static` in the session whose handshake
// hash (at the moment the proof is encrypted) is `handshake_hash`.
[[nodiscard]] std::vector<uint8_t> node_key_proof_message(noise::role signer, const noise::key32& noise_static,
                                                          const noise::hash32& handshake_hash);

class peer_handshake {
 public:
  [[nodiscard]] static channel_result<peer_handshake> create(peer_handshake_config config);

  // Initiator only, once: message 1 (a frame payload, not yet framed).
  [[nodiscard]] channel_result<std::vector<uint8_t>> start();
  // One handshake message from the peer (a frame payload); returns the reply to send, if any.
  // Any error is final.
  [[nodiscard]] channel_result<std::optional<std::vector<uint8_t>>> on_message(byte_span message);

  [[nodiscard]] bool is_finished() const noexcept;
  // Set once the peer's proof verified and the predicate admitted it.
  [[nodiscard]] const std::optional<crypto::ed25519_public_key>& remote_node_key() const noexcept {
    return remote_node_key_;
  }
  // Once finished, exactly once.
  [[nodiscard]] channel_result<secure_session> into_session();

 private:
  explicit peer_handshake(peer_handshake_config config, noise::handshake_state state)
      : config_(std::move(config)), noise_(std::move(state)) {}
  channel_result<std::vector<uint8_t>> write_with_proof();
  channel_result<void> check_proof(byte_span payload);
  channel_error fail(channel_error error);

  peer_handshake_config config_;
  noise::handshake_state noise_;
  std::optional<crypto::ed25519_public_key> remote_node_key_;
  std::optional<channel_error> error_;
  bool started_ = false;
};

// One peer connection's protocol state. Usage by a broker:
//   create -> write take_output(); on every read: on_bytes(chunk, messages) and write
//   take_output(); send(message) when established(); on any error: log it, close the socket.
// Output accumulates only between take_output() calls (at most one handshake message, or the
// frames the caller sent).
class peer_channel {
 public:
  [[nodiscard]] static channel_result<peer_channel> create(peer_handshake_config config);

  [[nodiscard]] channel_result<void> on_bytes(byte_span chunk, std::vector<std::vector<uint8_t>>& messages_out);
  [[nodiscard]] channel_result<void> send(byte_span plaintext);
  [[nodiscard]] std::vector<uint8_t> take_output();

  [[nodiscard]] bool established() const noexcept { return session_.has_value(); }
  [[nodiscard]] const std::optional<crypto::ed25519_public_key>& remote_node_key() const noexcept {
    return remote_node_key_;
  }
  [[nodiscard]] const std::optional<channel_error>& closed_because() const noexcept { return error_; }
  [[nodiscard]] const secure_session* session() const noexcept { return session_ ? &*session_ : nullptr; }

 private:
  explicit peer_channel(peer_handshake handshake) : handshake_(std::move(handshake)) {}
  channel_result<void> on_frame(byte_span frame, std::vector<std::vector<uint8_t>>& messages_out);
  channel_error fail(channel_error error);

  frame_decoder decoder_{limits::handshake_frame_bytes_max};
  std::optional<peer_handshake> handshake_;
  std::optional<secure_session> session_;
  std::optional<crypto::ed25519_public_key> remote_node_key_;
  std::vector<uint8_t> output_;
  std::optional<channel_error> error_;
};

}  // namespace energo::net
