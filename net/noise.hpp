#pragma once
// The Noise Protocol Framework, revision 34 (noiseprotocol.org/noise.html), with exactly one
// cipher suite: 25519_ChaChaPoly_SHA256 on libsodium primitives. Section numbers below are the
// Noise specification's. Patterns: XX (what Energo uses), plus NN, KK and IK so that every
// non-PSK cacophony vector in ../shared/vectors/noise/ exercises the same code.
//
// Pure: no I/O, no clock. Randomness only where an ephemeral key is generated (tests inject
// ephemeral keys instead). Errors are values; a handshake that failed once refuses every later
// call (§5.3: a failed decryption aborts the handshake).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace energo::net::noise {

using byte_span = std::span<const uint8_t>;
using key32 = std::array<uint8_t, 32>;
using hash32 = std::array<uint8_t, 32>;

inline constexpr std::size_t dh_bytes = 32;    // DHLEN
inline constexpr std::size_t hash_bytes = 32;  // HASHLEN
inline constexpr std::size_t tag_bytes = 16;   // ChaChaPoly authentication tag
// §3: every handshake message is at most 65535 bytes. Transport messages sent through a bare
// cipher_state are bounded by the caller (secure_session uses the frame limit instead; see
// net/README.md for why that deviation is harmless here).
inline constexpr std::size_t message_bytes_max = 65535;
// §5.1: nonce 2^64-1 is reserved (REKEY uses it); encryption with it is refused.
inline constexpr uint64_t nonce_max = UINT64_MAX;

enum class noise_error_code {
  decrypt_failed,      // authentication tag did not verify (tampered, wrong keys, wrong prologue)
  message_too_short,   // handshake message shorter than its tokens require
  message_too_long,    // above message_bytes_max
  nonce_exhausted,     // the cipher reached the reserved nonce
  invalid_public_key,  // a DH result of all zeros (low-order point)
  wrong_turn,          // write when a read is due, or the reverse, or after the handshake
  not_finished,        // split before the last message
  missing_key,         // a pattern needs a static/remote static key the config does not give
  handshake_failed,    // an earlier call failed; the handshake is dead
};

struct noise_error {
  noise_error_code code{};
  std::string message;
};

template <class T>
using noise_result = result<T, noise_error>;

// X25519 key pair. The private key is used as given (X25519 clamps internally).
struct x25519_keypair {
  key32 private_key{};
  key32 public_key{};
  [[nodiscard]] static x25519_keypair from_private(const key32& private_key);
  [[nodiscard]] static x25519_keypair generate();
};

// §5.1 CipherState: a key (possibly empty) and a 64-bit nonce. The ChaChaPoly nonce is 32 zero
// bits followed by the little-endian 64-bit counter (§12.3). The key is wiped on destruction.
class cipher_state {
 public:
  cipher_state() = default;
  cipher_state(const cipher_state&) = default;
  cipher_state& operator=(const cipher_state&) = default;
  ~cipher_state();

  void initialize_key(const std::optional<key32>& key);  // also sets n = 0
  [[nodiscard]] bool has_key() const noexcept { return has_key_; }
  void set_nonce(uint64_t nonce) noexcept { n_ = nonce; }
  [[nodiscard]] uint64_t nonce() const noexcept { return n_; }

  // Without a key these return the input unchanged (§5.1). With a key, n increments on success
  // only: a failed decryption leaves the state as it was.
  [[nodiscard]] noise_result<std::vector<uint8_t>> encrypt_with_ad(byte_span ad, byte_span plaintext);
  [[nodiscard]] noise_result<std::vector<uint8_t>> decrypt_with_ad(byte_span ad, byte_span ciphertext);
  // §4.2 REKEY(k) = first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros); n is unchanged.
  void rekey();

 private:
  key32 k_{};
  bool has_key_ = false;
  uint64_t n_ = 0;
};

// §5.2 SymmetricState.
class symmetric_state {
 public:
  void initialize(std::string_view protocol_name);
  void mix_key(byte_span input_key_material);
  void mix_hash(byte_span data);
  [[nodiscard]] const hash32& handshake_hash() const noexcept { return h_; }
  [[nodiscard]] noise_result<std::vector<uint8_t>> encrypt_and_hash(byte_span plaintext);
  [[nodiscard]] noise_result<std::vector<uint8_t>> decrypt_and_hash(byte_span ciphertext);
  [[nodiscard]] bool has_key() const noexcept { return cipher_.has_key(); }
  // The two transport ciphers: first encrypts initiator -> responder, second the reverse.
  [[nodiscard]] std::pair<cipher_state, cipher_state> split() const;

 private:
  hash32 ck_{};
  hash32 h_{};
  cipher_state cipher_;
};

// HKDF (§4.3) with HMAC-SHA256: two or three 32-byte outputs.
void hkdf2(const hash32& chaining_key, byte_span input_key_material, hash32& out1, hash32& out2);
void hkdf3(const hash32& chaining_key, byte_span input_key_material, hash32& out1, hash32& out2,
           hash32& out3);

enum class handshake_pattern { nn, kk, ik, xx };
enum class role { initiator, responder };

struct handshake_config {
  handshake_pattern pattern = handshake_pattern::xx;
  role local_role = role::initiator;
  std::vector<uint8_t> prologue;
  std::optional<x25519_keypair> local_static;   // s
  std::optional<x25519_keypair> local_ephemeral;  // e: injected by tests; generated when absent
  std::optional<key32> remote_static;           // rs, for patterns with a pre-message (KK, IK)
};

// Transport keys after Split, oriented for the local side.
struct transport_ciphers {
  cipher_state send;
  cipher_state receive;
  hash32 handshake_hash{};
};

// §5.3 HandshakeState.
class handshake_state {
 public:
  [[nodiscard]] static noise_result<handshake_state> create(handshake_config config);

  // Builds the next message. The payload builder receives the handshake hash at the moment the
  // payload is encrypted (after this message's tokens), so a payload can sign it; the reader
  // sees the same value in `payload_hash()`.
  using payload_builder = std::function<std::vector<uint8_t>(const hash32& handshake_hash)>;
  [[nodiscard]] noise_result<std::vector<uint8_t>> write_message(byte_span payload);
  [[nodiscard]] noise_result<std::vector<uint8_t>> write_message_with(const payload_builder& build_payload);
  // Processes the next message from the peer; returns its decrypted payload.
  [[nodiscard]] noise_result<std::vector<uint8_t>> read_message(byte_span message);

  [[nodiscard]] bool is_finished() const noexcept;
  [[nodiscard]] bool is_my_turn() const noexcept;
  // The handshake hash that authenticated the payload of the last message read or written.
  [[nodiscard]] const hash32& payload_hash() const noexcept { return payload_hash_; }
  [[nodiscard]] const hash32& handshake_hash() const noexcept { return symmetric_.handshake_hash(); }
  [[nodiscard]] const std::optional<key32>& remote_static() const noexcept { return rs_; }
  [[nodiscard]] const std::optional<key32>& remote_ephemeral() const noexcept { return re_; }
  // Only once finished. Consumes the handshake's secrets (call once).
  [[nodiscard]] noise_result<transport_ciphers> split();

 private:
  handshake_state() = default;
  noise_result<void> dh_mix(const x25519_keypair& local, const std::optional<key32>& remote);
  noise_result<void> fail(noise_error error);

  handshake_pattern pattern_ = handshake_pattern::xx;
  role role_ = role::initiator;
  symmetric_state symmetric_;
  std::optional<x25519_keypair> s_;
  std::optional<x25519_keypair> e_;
  std::optional<key32> rs_;
  std::optional<key32> re_;
  std::size_t message_index_ = 0;
  bool failed_ = false;
  bool split_done_ = false;
  hash32 payload_hash_{};
};

// "Noise_XX_25519_ChaChaPoly_SHA256" etc.
[[nodiscard]] std::string protocol_name(handshake_pattern pattern);

}  // namespace energo::net::noise
