#pragma once
// The peer-channel fuzz harness: a local peer_channel under test and an honest remote played
// with fixed keys (node keys, Noise static and ephemeral keys), so every run is deterministic.
// fuzz_peer_channel.cpp describes the input layout; seed_gen.cpp writes valid inputs with it.
#include <optional>
#include <set>

#include "net/noise.hpp"
#include "net/peer_handshake.hpp"

namespace energo::fuzz::peer {

inline constexpr std::string_view cluster_id = "fuzz-cluster";
inline const crypto::hash256 genesis_hash{0x9e, 0x11, 0x5e};

inline crypto::ed25519_keypair node_key(uint8_t n) {
  return crypto::ed25519_keypair::from_seed(std::array<uint8_t, 32>{n, 0xf0});
}
inline net::noise::x25519_keypair x25519(uint8_t n) {
  return net::noise::x25519_keypair::from_private(net::noise::key32{n, 0x25, 0x51, 0x9});
}

// Local node 1 admits node 2 (the harness's remote) only.
inline net::peer_handshake_config local_config(net::noise::role r) {
  net::peer_handshake_config c;
  c.local_role = r;
  c.cluster_id = std::string(cluster_id);
  c.genesis_hash = genesis_hash;
  c.node_key = node_key(1);
  const auto remote = node_key(2).public_key();
  c.is_admitted = [remote](const crypto::ed25519_public_key& k) { return k == remote; };
  c.noise_static = x25519(1);
  c.noise_ephemeral = x25519(11);
  return c;
}

inline net::peer_handshake_config remote_config(net::noise::role r) {
  auto c = local_config(r);
  c.node_key = node_key(2);
  const auto local = node_key(1).public_key();
  c.is_admitted = [local](const crypto::ed25519_public_key& k) { return k == local; };
  c.noise_static = x25519(2);
  c.noise_ephemeral = x25519(12);
  return c;
}

// The remote's bare Noise state, to send an arbitrary payload in the authenticated message.
inline net::noise::handshake_state remote_noise(net::noise::role r) {
  net::noise::handshake_config c;
  c.pattern = net::noise::handshake_pattern::xx;
  c.local_role = r;
  c.prologue = net::peer_prologue(cluster_id, genesis_hash);
  c.local_static = x25519(2);
  c.local_ephemeral = x25519(12);
  auto hs = net::noise::handshake_state::create(std::move(c));
  ENERGO_ASSERT(hs.has_value(), "harness noise config");
  return std::move(hs).value();
}

// The single frame payload in `framed` (a whole frame, as take_output() returns it).
inline std::vector<uint8_t> unframe(const std::vector<uint8_t>& framed) {
  net::frame_decoder d;
  std::vector<std::vector<uint8_t>> frames;
  auto r = d.feed(framed, frames);
  ENERGO_ASSERT(r.has_value() && frames.size() == 1, "harness expected one frame");
  return frames[0];
}

// The proof payload an honest remote would send: node key || signature over this session.
inline std::vector<uint8_t> honest_proof(net::noise::role signer, const net::noise::hash32& payload_hash) {
  const auto key = node_key(2);
  auto message = net::node_key_proof_message(signer, x25519(2).public_key, payload_hash);
  const auto sig = key.sign(message);
  std::vector<uint8_t> out(key.public_key().bytes.begin(), key.public_key().bytes.end());
  out.insert(out.end(), sig.bytes.begin(), sig.bytes.end());
  return out;
}

}  // namespace energo::fuzz::peer
