#include "net/secure_session.hpp"

#include "common/assert.hpp"

namespace energo::net {

const char* to_string(channel_error_code code) {
  switch (code) {
    case channel_error_code::frame_empty: return "frame_empty";
    case channel_error_code::frame_oversize: return "frame_oversize";
    case channel_error_code::handshake_message_invalid: return "handshake_message_invalid";
    case channel_error_code::prologue_mismatch_or_tampered: return "prologue_mismatch_or_tampered";
    case channel_error_code::identity_proof_invalid: return "identity_proof_invalid";
    case channel_error_code::peer_not_admitted: return "peer_not_admitted";
    case channel_error_code::unexpected_peer: return "unexpected_peer";
    case channel_error_code::frame_authentication_failed: return "frame_authentication_failed";
    case channel_error_code::session_exhausted: return "session_exhausted";
    case channel_error_code::plaintext_too_large: return "plaintext_too_large";
    case channel_error_code::not_established: return "not_established";
    case channel_error_code::bad_config: return "bad_config";
  }
  return "unknown";
}

secure_session::secure_session(noise::transport_ciphers ciphers, session_limits limits)
    : send_(ciphers.send), receive_(ciphers.receive), handshake_hash_(ciphers.handshake_hash),
      limits_(limits) {
  ENERGO_ASSERT(send_.has_key() && receive_.has_key(), "session without transport keys");
  ENERGO_ASSERT(limits_.frames_per_key_max >= 1, "frames_per_key_max must be positive");
  // The session limit keeps the nonce below the reserved 2^64-1.
  ENERGO_ASSERT(limits_.frames_per_session_max >= 1 && limits_.frames_per_session_max < noise::nonce_max,
                "frames_per_session_max out of range");
}

channel_error secure_session::close(channel_error error) {
  error_ = error;
  return error;
}

channel_result<std::vector<uint8_t>> secure_session::seal(byte_span plaintext) {
  if (error_) return unexpected{*error_};
  if (plaintext.size() > limits::session_plaintext_bytes_max)
    return unexpected{channel_error{channel_error_code::plaintext_too_large,
                                    "message of " + std::to_string(plaintext.size()) +
                                        " bytes is above session_plaintext_bytes_max"}};
  if (frames_sent_ >= limits_.frames_per_session_max)
    return unexpected{close({channel_error_code::session_exhausted,
                             "sent frames_per_session_max frames; renew the connection"})};
  if (frames_sent_ > 0 && frames_sent_ % limits_.frames_per_key_max == 0) send_.rekey();
  ENERGO_ASSERT(send_.nonce() == frames_sent_, "send nonce out of step with the frame counter");
  auto ciphertext = send_.encrypt_with_ad({}, plaintext);
  ENERGO_ASSERT(ciphertext.has_value(), "encryption below the session limit cannot fail");
  ++frames_sent_;
  return encode_frame(*ciphertext);
}

channel_result<std::vector<uint8_t>> secure_session::open(byte_span frame_payload) {
  if (error_) return unexpected{*error_};
  if (frames_received_ >= limits_.frames_per_session_max)
    return unexpected{close({channel_error_code::session_exhausted,
                             "peer sent more than frames_per_session_max frames"})};
  if (frames_received_ > 0 && frames_received_ % limits_.frames_per_key_max == 0) receive_.rekey();
  ENERGO_ASSERT(receive_.nonce() == frames_received_, "receive nonce out of step with the frame counter");
  auto plaintext = receive_.decrypt_with_ad({}, frame_payload);
  if (!plaintext)
    return unexpected{close({channel_error_code::frame_authentication_failed,
                             "frame " + std::to_string(frames_received_) +
                                 " failed authentication (tampered, replayed, reordered or dropped)"})};
  ++frames_received_;
  return std::move(*plaintext);
}

}  // namespace energo::net
