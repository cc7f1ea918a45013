#include "net/peer_handshake.hpp"

#include <algorithm>

#include "common/assert.hpp"

namespace energo::net {
namespace {

channel_error from_noise(const noise::noise_error& e) {
  if (e.code == noise::noise_error_code::decrypt_failed)
    return {channel_error_code::prologue_mismatch_or_tampered,
            "cluster id or genesis mismatch or tampered handshake"};
  return {channel_error_code::handshake_message_invalid, "invalid handshake message: " + e.message};
}

uint8_t role_byte(noise::role r) { return r == noise::role::initiator ? 0x01 : 0x02; }

noise::role other(noise::role r) {
  return r == noise::role::initiator ? noise::role::responder : noise::role::initiator;
}

}  // namespace

std::vector<uint8_t> peer_prologue(std::string_view cluster_id, const crypto::hash256& genesis_hash) {
  ENERGO_ASSERT(cluster_id.size() <= limits::cluster_id_bytes_max, "cluster id too long");
  std::vector<uint8_t> out(peer_protocol_tag.begin(), peer_protocol_tag.end());
  // Length-prefixed so that no (cluster id, genesis) pair can spell another's prologue.
  out.push_back(static_cast<uint8_t>(cluster_id.size() >> 8));
  out.push_back(static_cast<uint8_t>(cluster_id.size()));
  out.insert(out.end(), cluster_id.begin(), cluster_id.end());
  out.insert(out.end(), genesis_hash.begin(), genesis_hash.end());
  return out;
}

std::vector<uint8_t> node_key_proof_message(noise::role signer, const noise::key32& noise_static,
                                            const noise::hash32& handshake_hash) {
  std::vector<uint8_t> out(node_key_proof_tag.begin(), node_key_proof_tag.end());
  out.push_back(role_byte(signer));
  out.insert(out.end(), noise_static.begin(), noise_static.end());
  out.insert(out.end(), handshake_hash.begin(), handshake_hash.end());
  return out;
}

// --- peer_handshake ---------------------------------------------------------------------------

channel_result<peer_handshake> peer_handshake::create(peer_handshake_config config) {
  if (config.cluster_id.empty() || config.cluster_id.size() > limits::cluster_id_bytes_max)
    return unexpected{channel_error{channel_error_code::bad_config, "cluster id empty or above cluster_id_bytes_max"}};
  if (!config.is_admitted)
    return unexpected{channel_error{channel_error_code::bad_config, "no admission predicate"}};
  if (!config.noise_static) config.noise_static = noise::x25519_keypair::generate();
  noise::handshake_config hc;
  hc.pattern = noise::handshake_pattern::xx;
  hc.local_role = config.local_role;
  hc.prologue = peer_prologue(config.cluster_id, config.genesis_hash);
  hc.local_static = config.noise_static;
  hc.local_ephemeral = config.noise_ephemeral;
  auto state = noise::handshake_state::create(std::move(hc));
  ENERGO_ASSERT(state.has_value(), "XX with a static key always initialises");
  return peer_handshake(std::move(config), std::move(state).value());
}

channel_error peer_handshake::fail(channel_error error) {
  error_ = error;
  return error;
}

channel_result<std::vector<uint8_t>> peer_handshake::start() {
  if (error_) return unexpected{*error_};
  if (config_.local_role != noise::role::initiator || started_)
    return unexpected{fail({channel_error_code::handshake_message_invalid, "start() is for the initiator, once"})};
  started_ = true;
  auto m = noise_.write_message(byte_span{});
  if (!m) return unexpected{fail(from_noise(m.error()))};
  return std::move(m).value();
}

channel_result<std::vector<uint8_t>> peer_handshake::write_with_proof() {
  const auto& static_key = config_.noise_static->public_key;
  const auto& node_key = config_.node_key;
  const noise::role me = config_.local_role;
  auto m = noise_.write_message_with([&](const noise::hash32& h) {
    const auto signature = node_key.sign(node_key_proof_message(me, static_key, h));
    std::vector<uint8_t> payload(node_key.public_key().bytes.begin(), node_key.public_key().bytes.end());
    payload.insert(payload.end(), signature.bytes.begin(), signature.bytes.end());
    return payload;
  });
  if (!m) return unexpected{fail(from_noise(m.error()))};
  return std::move(m).value();
}

channel_result<void> peer_handshake::check_proof(byte_span payload) {
  if (payload.size() != node_key_proof_bytes)
    return unexpected{fail({channel_error_code::handshake_message_invalid,
                            "node key proof of " + std::to_string(payload.size()) + " bytes, want 96"})};
  crypto::ed25519_public_key key;
  crypto::ed25519_signature signature;
  std::copy_n(payload.begin(), 32, key.bytes.begin());
  std::copy_n(payload.begin() + 32, 64, signature.bytes.begin());
  const auto& remote_static = noise_.remote_static();
  ENERGO_ASSERT(remote_static.has_value(), "proof read before the peer's static key");
  // The signature must cover the Noise static key this very session authenticated (es/se) and
  // this session's handshake hash; the signer's role is the peer's.
  const auto message = node_key_proof_message(other(config_.local_role), *remote_static, noise_.payload_hash());
  if (!crypto::ed25519_verify(key, message, signature))
    return unexpected{fail({channel_error_code::identity_proof_invalid,
                            "node key signature does not cover this session's Noise key: " + crypto::to_hex(key.bytes)})};
  if (config_.expected_peer && *config_.expected_peer != key)
    return unexpected{fail({channel_error_code::unexpected_peer,
                            "reached node " + crypto::to_hex(key.bytes) + ", dialed " +
                                crypto::to_hex(config_.expected_peer->bytes)})};
  if (!config_.is_admitted(key))
    return unexpected{fail({channel_error_code::peer_not_admitted,
                            "node " + crypto::to_hex(key.bytes) + " is not a member nor being added"})};
  remote_node_key_ = key;
  return ok;
}

channel_result<std::optional<std::vector<uint8_t>>> peer_handshake::on_message(byte_span message) {
  if (error_) return unexpected{*error_};
  if (noise_.is_finished() || noise_.is_my_turn())
    return unexpected{fail({channel_error_code::handshake_message_invalid, "handshake message out of turn"})};
  auto payload = noise_.read_message(message);
  if (!payload) return unexpected{fail(from_noise(payload.error()))};
  const bool initiator = config_.local_role == noise::role::initiator;
  if (!initiator && !started_) {
    started_ = true;
    // Message 1: only e; its payload is unauthenticated and must be empty.
    if (!payload->empty())
      return unexpected{fail({channel_error_code::handshake_message_invalid, "message 1 carries a payload"})};
    auto reply = write_with_proof();
    if (!reply) return unexpected{reply.error()};
    return std::optional<std::vector<uint8_t>>(std::move(reply).value());
  }
  auto proof = check_proof(*payload);
  if (!proof) return unexpected{proof.error()};
  if (initiator) {
    auto reply = write_with_proof();  // message 3
    if (!reply) return unexpected{reply.error()};
    return std::optional<std::vector<uint8_t>>(std::move(reply).value());
  }
  return std::optional<std::vector<uint8_t>>{};
}

bool peer_handshake::is_finished() const noexcept {
  return !error_ && noise_.is_finished() && remote_node_key_.has_value();
}

channel_result<secure_session> peer_handshake::into_session() {
  if (error_) return unexpected{*error_};
  if (!is_finished())
    return unexpected{channel_error{channel_error_code::not_established, "handshake not finished"}};
  auto ciphers = noise_.split();
  if (!ciphers) return unexpected{fail(from_noise(ciphers.error()))};
  return secure_session(std::move(ciphers).value(), config_.session);
}

// --- peer_channel -----------------------------------------------------------------------------

channel_result<peer_channel> peer_channel::create(peer_handshake_config config) {
  const bool initiator = config.local_role == noise::role::initiator;
  auto handshake = peer_handshake::create(std::move(config));
  if (!handshake) return unexpected{handshake.error()};
  peer_channel channel(std::move(handshake).value());
  if (initiator) {
    auto first = channel.handshake_->start();
    if (!first) return unexpected{first.error()};
    append_frame(channel.output_, *first);
  }
  return channel;
}

channel_error peer_channel::fail(channel_error error) {
  error_ = error;
  return error;
}

std::vector<uint8_t> peer_channel::take_output() {
  std::vector<uint8_t> out;
  out.swap(output_);
  return out;
}

channel_result<void> peer_channel::send(byte_span plaintext) {
  if (error_) return unexpected{*error_};
  if (!session_)
    return unexpected{channel_error{channel_error_code::not_established, "send before the handshake finished"}};
  auto frame = session_->seal(plaintext);
  if (!frame) {
    if (session_->closed_because()) return unexpected{fail(frame.error())};
    return unexpected{frame.error()};  // caller error (too large): the connection stays usable
  }
  output_.insert(output_.end(), frame->begin(), frame->end());
  return ok;
}

channel_result<void> peer_channel::on_frame(byte_span frame, std::vector<std::vector<uint8_t>>& messages_out) {
  if (session_) {
    auto plaintext = session_->open(frame);
    if (!plaintext) return unexpected{fail(plaintext.error())};
    messages_out.push_back(std::move(plaintext).value());
    return ok;
  }
  auto reply = handshake_->on_message(frame);
  if (!reply) return unexpected{fail(reply.error())};
  if (*reply) append_frame(output_, **reply);
  if (handshake_->is_finished()) {
    remote_node_key_ = handshake_->remote_node_key();
    auto session = handshake_->into_session();
    if (!session) return unexpected{fail(session.error())};
    session_.emplace(std::move(session).value());
    handshake_.reset();  // drops the handshake's secrets
    decoder_.set_frame_bytes_max(limits::frame_bytes_max);
  }
  return ok;
}

channel_result<void> peer_channel::on_bytes(byte_span chunk, std::vector<std::vector<uint8_t>>& messages_out) {
  if (error_) return unexpected{*error_};
  std::size_t offset = 0;
  while (offset < chunk.size()) {
    // One frame at a time: the limit switches from handshake to transport between frames.
    auto step = decoder_.decode(chunk.subspan(offset));
    if (!step) {
      const auto code = step.error().code == frame_error_code::empty_frame ? channel_error_code::frame_empty
                                                                           : channel_error_code::frame_oversize;
      return unexpected{fail({code, step.error().message})};
    }
    offset += step->consumed;
    if (step->frame) {
      auto r = on_frame(*step->frame, messages_out);
      if (!r) return r;
    }
  }
  return ok;
}

}  // namespace energo::net
