#include "net/noise.hpp"

#include <sodium.h>

#include <cstring>

#include "common/assert.hpp"

namespace energo::net::noise {
namespace {

static_assert(crypto_scalarmult_BYTES == dh_bytes && crypto_scalarmult_SCALARBYTES == 32);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32 &&
              crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12 &&
              crypto_aead_chacha20poly1305_ietf_ABYTES == tag_bytes);
static_assert(crypto_hash_sha256_BYTES == hash_bytes && crypto_auth_hmacsha256_BYTES == hash_bytes);

void ensure_sodium() {
  // sodium_init() is idempotent and thread-safe; -1 means no primitive can be trusted.
  static const bool initialized = sodium_init() >= 0;
  ENERGO_ASSERT(initialized, "sodium_init failed");
}

// §12.3: 32 bits of zeros followed by the little-endian encoding of n.
std::array<uint8_t, 12> chachapoly_nonce(uint64_t n) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

void hmac_sha256(const hash32& key, byte_span a, byte_span b, hash32& out) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, a.data(), a.size());
  crypto_auth_hmacsha256_update(&state, b.data(), b.size());
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
}

enum class token { e, s, ee, es, se, ss };

struct pattern_info {
  // Pre-messages (§7.1): which sides' static keys are known in advance and mixed in first.
  bool initiator_static_premessage;
  bool responder_static_premessage;
  std::vector<std::vector<token>> messages;  // message i is written by the initiator when i is even
};

const pattern_info& info(handshake_pattern pattern) {
  using enum token;
  static const pattern_info nn{false, false, {{e}, {e, ee}}};
  static const pattern_info kk{true, true, {{e, es, ss}, {e, ee, se}}};
  static const pattern_info ik{false, true, {{e, es, s, ss}, {e, ee, se}}};
  static const pattern_info xx{false, false, {{e}, {e, ee, s, es}, {s, se}}};
  switch (pattern) {
    case handshake_pattern::nn: return nn;
    case handshake_pattern::kk: return kk;
    case handshake_pattern::ik: return ik;
    case handshake_pattern::xx: return xx;
  }
  ENERGO_ASSERT(false, "unknown handshake pattern");
  return xx;
}

bool pattern_sends(const pattern_info& p, role r, token t) {
  for (std::size_t i = 0; i < p.messages.size(); ++i) {
    const bool mine = (i % 2 == 0) == (r == role::initiator);
    if (!mine) continue;
    for (token x : p.messages[i])
      if (x == t) return true;
  }
  return false;
}

bool pattern_uses_local_static(const pattern_info& p, role r) {
  if (pattern_sends(p, r, token::s)) return true;
  if (r == role::initiator ? p.initiator_static_premessage : p.responder_static_premessage) return true;
  // A DH token with our s: es (responder), se (initiator), ss (both).
  for (const auto& m : p.messages)
    for (token t : m)
      if (t == token::ss || (t == token::es && r == role::responder) ||
          (t == token::se && r == role::initiator))
        return true;
  return false;
}

}  // namespace

std::string protocol_name(handshake_pattern pattern) {
  const char* name = "";
  switch (pattern) {
    case handshake_pattern::nn: name = "NN"; break;
    case handshake_pattern::kk: name = "KK"; break;
    case handshake_pattern::ik: name = "IK"; break;
    case handshake_pattern::xx: name = "XX"; break;
  }
  return std::string("Noise_") + name + "_25519_ChaChaPoly_SHA256";
}

// --- keys -------------------------------------------------------------------------------------

x25519_keypair x25519_keypair::from_private(const key32& private_key) {
  ensure_sodium();
  x25519_keypair kp;
  kp.private_key = private_key;
  ENERGO_ASSERT(crypto_scalarmult_base(kp.public_key.data(), kp.private_key.data()) == 0,
                "crypto_scalarmult_base failed");
  return kp;
}

x25519_keypair x25519_keypair::generate() {
  ensure_sodium();
  key32 secret{};
  randombytes_buf(secret.data(), secret.size());
  x25519_keypair kp = from_private(secret);
  sodium_memzero(secret.data(), secret.size());
  return kp;
}

// --- HKDF (§4.3) ------------------------------------------------------------------------------

void hkdf2(const hash32& chaining_key, byte_span ikm, hash32& out1, hash32& out2) {
  hash32 temp_key{};
  hmac_sha256(chaining_key, ikm, {}, temp_key);
  const uint8_t one = 0x01, two = 0x02;
  hmac_sha256(temp_key, byte_span(&one, 1), {}, out1);
  hmac_sha256(temp_key, out1, byte_span(&two, 1), out2);
  sodium_memzero(temp_key.data(), temp_key.size());
}

void hkdf3(const hash32& chaining_key, byte_span ikm, hash32& out1, hash32& out2, hash32& out3) {
  hash32 temp_key{};
  hmac_sha256(chaining_key, ikm, {}, temp_key);
  const uint8_t one = 0x01, two = 0x02, three = 0x03;
  hmac_sha256(temp_key, byte_span(&one, 1), {}, out1);
  hmac_sha256(temp_key, out1, byte_span(&two, 1), out2);
  hmac_sha256(temp_key, out2, byte_span(&three, 1), out3);
  sodium_memzero(temp_key.data(), temp_key.size());
}

// --- CipherState (§5.1) -----------------------------------------------------------------------

cipher_state::~cipher_state() { sodium_memzero(k_.data(), k_.size()); }

void cipher_state::initialize_key(const std::optional<key32>& key) {
  if (key) {
    k_ = *key;
    has_key_ = true;
  } else {
    sodium_memzero(k_.data(), k_.size());
    has_key_ = false;
  }
  n_ = 0;
}

noise_result<std::vector<uint8_t>> cipher_state::encrypt_with_ad(byte_span ad, byte_span plaintext) {
  if (!has_key_) return std::vector<uint8_t>(plaintext.begin(), plaintext.end());
  if (n_ == nonce_max)
    return unexpected{noise_error{noise_error_code::nonce_exhausted, "cipher nonce exhausted"}};
  std::vector<uint8_t> out(plaintext.size() + tag_bytes);
  unsigned long long out_len = 0;
  const auto nonce = chachapoly_nonce(n_);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(), plaintext.size(),
                                            ad.data(), ad.size(), nullptr, nonce.data(), k_.data());
  ENERGO_ASSERT(out_len == out.size(), "chachapoly output length");
  ++n_;
  return out;
}

noise_result<std::vector<uint8_t>> cipher_state::decrypt_with_ad(byte_span ad, byte_span ciphertext) {
  if (!has_key_) return std::vector<uint8_t>(ciphertext.begin(), ciphertext.end());
  if (n_ == nonce_max)
    return unexpected{noise_error{noise_error_code::nonce_exhausted, "cipher nonce exhausted"}};
  if (ciphertext.size() < tag_bytes)
    return unexpected{noise_error{noise_error_code::decrypt_failed, "ciphertext shorter than its tag"}};
  std::vector<uint8_t> out(ciphertext.size() - tag_bytes);
  unsigned long long out_len = 0;
  const auto nonce = chachapoly_nonce(n_);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(), nonce.data(),
                                                k_.data()) != 0)
    return unexpected{noise_error{noise_error_code::decrypt_failed, "authentication tag mismatch"}};
  ENERGO_ASSERT(out_len == out.size(), "chachapoly output length");
  ++n_;
  return out;
}

void cipher_state::rekey() {
  ENERGO_ASSERT(has_key_, "rekey without a key");
  std::array<uint8_t, 32> zeros{};
  std::array<uint8_t, 32 + tag_bytes> out{};
  unsigned long long out_len = 0;
  const auto nonce = chachapoly_nonce(nonce_max);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, zeros.data(), zeros.size(), nullptr,
                                            0, nullptr, nonce.data(), k_.data());
  std::memcpy(k_.data(), out.data(), k_.size());
  sodium_memzero(out.data(), out.size());
}

// --- SymmetricState (§5.2) --------------------------------------------------------------------

void symmetric_state::initialize(std::string_view protocol_name) {
  h_.fill(0);
  if (protocol_name.size() <= hash_bytes) {
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    crypto_hash_sha256(h_.data(), reinterpret_cast<const uint8_t*>(protocol_name.data()),
                       protocol_name.size());
  }
  ck_ = h_;
  cipher_.initialize_key(std::nullopt);
}

void symmetric_state::mix_key(byte_span input_key_material) {
  hash32 temp_k{};
  hkdf2(ck_, input_key_material, ck_, temp_k);
  cipher_.initialize_key(temp_k);  // HASHLEN is 32: no truncation
  sodium_memzero(temp_k.data(), temp_k.size());
}

void symmetric_state::mix_hash(byte_span data) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, h_.data(), h_.size());
  crypto_hash_sha256_update(&state, data.data(), data.size());
  crypto_hash_sha256_final(&state, h_.data());
}

noise_result<std::vector<uint8_t>> symmetric_state::encrypt_and_hash(byte_span plaintext) {
  auto ciphertext = cipher_.encrypt_with_ad(h_, plaintext);
  if (ciphertext) mix_hash(*ciphertext);
  return ciphertext;
}

noise_result<std::vector<uint8_t>> symmetric_state::decrypt_and_hash(byte_span ciphertext) {
  auto plaintext = cipher_.decrypt_with_ad(h_, ciphertext);
  if (plaintext) mix_hash(ciphertext);
  return plaintext;
}

std::pair<cipher_state, cipher_state> symmetric_state::split() const {
  hash32 k1{}, k2{};
  hkdf2(ck_, {}, k1, k2);
  std::pair<cipher_state, cipher_state> out;
  out.first.initialize_key(k1);
  out.second.initialize_key(k2);
  sodium_memzero(k1.data(), k1.size());
  sodium_memzero(k2.data(), k2.size());
  return out;
}

// --- HandshakeState (§5.3) --------------------------------------------------------------------

noise_result<handshake_state> handshake_state::create(handshake_config config) {
  ensure_sodium();
  const pattern_info& p = info(config.pattern);
  const bool initiator = config.local_role == role::initiator;
  if (pattern_uses_local_static(p, config.local_role) && !config.local_static)
    return unexpected{noise_error{noise_error_code::missing_key, "pattern needs a local static key"}};
  const bool needs_remote_static =
      initiator ? p.responder_static_premessage : p.initiator_static_premessage;
  if (needs_remote_static && !config.remote_static)
    return unexpected{noise_error{noise_error_code::missing_key, "pattern needs the remote static key"}};

  handshake_state hs;
  hs.pattern_ = config.pattern;
  hs.role_ = config.local_role;
  hs.s_ = config.local_static;
  hs.e_ = config.local_ephemeral;
  if (needs_remote_static) hs.rs_ = config.remote_static;
  hs.symmetric_.initialize(protocol_name(config.pattern));
  hs.symmetric_.mix_hash(config.prologue);
  // Pre-messages, initiator's first (§7.1).
  if (p.initiator_static_premessage)
    hs.symmetric_.mix_hash(initiator ? byte_span(hs.s_->public_key) : byte_span(*hs.rs_));
  if (p.responder_static_premessage)
    hs.symmetric_.mix_hash(initiator ? byte_span(*hs.rs_) : byte_span(hs.s_->public_key));
  return hs;
}

bool handshake_state::is_finished() const noexcept {
  return message_index_ >= info(pattern_).messages.size();
}

bool handshake_state::is_my_turn() const noexcept {
  return !is_finished() && ((message_index_ % 2 == 0) == (role_ == role::initiator));
}

noise_result<void> handshake_state::fail(noise_error error) {
  failed_ = true;
  return unexpected{std::move(error)};
}

noise_result<void> handshake_state::dh_mix(const x25519_keypair& local, const std::optional<key32>& remote) {
  ENERGO_ASSERT(remote.has_value(), "DH token before the remote key is known");
  key32 shared{};
  // libsodium refuses (returns -1) when the result is all zeros: a low-order remote point.
  if (crypto_scalarmult(shared.data(), local.private_key.data(), remote->data()) != 0)
    return fail({noise_error_code::invalid_public_key, "remote public key has low order"});
  symmetric_.mix_key(shared);
  sodium_memzero(shared.data(), shared.size());
  return ok;
}

noise_result<std::vector<uint8_t>> handshake_state::write_message(byte_span payload) {
  const std::vector<uint8_t> copy(payload.begin(), payload.end());
  return write_message_with([&copy](const hash32&) { return copy; });
}

noise_result<std::vector<uint8_t>> handshake_state::write_message_with(const payload_builder& build_payload) {
  if (failed_) return unexpected{noise_error{noise_error_code::handshake_failed, "handshake already failed"}};
  if (!is_my_turn()) {
    failed_ = true;
    return unexpected{noise_error{noise_error_code::wrong_turn, "not this side's turn to write"}};
  }
  std::vector<uint8_t> out;
  const bool initiator = role_ == role::initiator;
  for (token t : info(pattern_).messages[message_index_]) {
    noise_result<void> step = ok;
    switch (t) {
      case token::e:
        if (!e_) e_ = x25519_keypair::generate();
        out.insert(out.end(), e_->public_key.begin(), e_->public_key.end());
        symmetric_.mix_hash(e_->public_key);
        break;
      case token::s: {
        auto c = symmetric_.encrypt_and_hash(s_->public_key);
        if (!c) return unexpected{fail(c.error()).error()};
        out.insert(out.end(), c->begin(), c->end());
        break;
      }
      case token::ee: step = dh_mix(*e_, re_); break;
      case token::es: step = initiator ? dh_mix(*e_, rs_) : dh_mix(*s_, re_); break;
      case token::se: step = initiator ? dh_mix(*s_, re_) : dh_mix(*e_, rs_); break;
      case token::ss: step = dh_mix(*s_, rs_); break;
    }
    if (!step) return unexpected{step.error()};
  }
  payload_hash_ = symmetric_.handshake_hash();
  auto c = symmetric_.encrypt_and_hash(build_payload(payload_hash_));
  if (!c) return unexpected{fail(c.error()).error()};
  out.insert(out.end(), c->begin(), c->end());
  if (out.size() > message_bytes_max)
    return unexpected{fail({noise_error_code::message_too_long, "handshake message above 65535 bytes"}).error()};
  ++message_index_;
  return out;
}

noise_result<std::vector<uint8_t>> handshake_state::read_message(byte_span message) {
  if (failed_) return unexpected{noise_error{noise_error_code::handshake_failed, "handshake already failed"}};
  if (is_finished() || is_my_turn()) {
    failed_ = true;
    return unexpected{noise_error{noise_error_code::wrong_turn, "not this side's turn to read"}};
  }
  if (message.size() > message_bytes_max)
    return unexpected{fail({noise_error_code::message_too_long, "handshake message above 65535 bytes"}).error()};
  const bool initiator = role_ == role::initiator;
  std::size_t pos = 0;
  auto take = [&](std::size_t n) -> std::optional<byte_span> {
    if (message.size() - pos < n) return std::nullopt;
    auto span = message.subspan(pos, n);
    pos += n;
    return span;
  };
  for (token t : info(pattern_).messages[message_index_]) {
    noise_result<void> step = ok;
    switch (t) {
      case token::e: {
        auto bytes = take(dh_bytes);
        if (!bytes) return unexpected{fail({noise_error_code::message_too_short, "message too short for e"}).error()};
        key32 re{};
        std::memcpy(re.data(), bytes->data(), re.size());
        re_ = re;
        symmetric_.mix_hash(re);
        break;
      }
      case token::s: {
        auto bytes = take(dh_bytes + (symmetric_.has_key() ? tag_bytes : 0));
        if (!bytes) return unexpected{fail({noise_error_code::message_too_short, "message too short for s"}).error()};
        auto plain = symmetric_.decrypt_and_hash(*bytes);
        if (!plain) return unexpected{fail(plain.error()).error()};
        key32 rs{};
        std::memcpy(rs.data(), plain->data(), rs.size());
        rs_ = rs;
        break;
      }
      case token::ee: step = dh_mix(*e_, re_); break;
      case token::es: step = initiator ? dh_mix(*e_, rs_) : dh_mix(*s_, re_); break;
      case token::se: step = initiator ? dh_mix(*s_, re_) : dh_mix(*e_, rs_); break;
      case token::ss: step = dh_mix(*s_, rs_); break;
    }
    if (!step) return unexpected{step.error()};
  }
  payload_hash_ = symmetric_.handshake_hash();
  auto payload = symmetric_.decrypt_and_hash(message.subspan(pos));
  if (!payload) return unexpected{fail(payload.error()).error()};
  ++message_index_;
  return payload;
}

noise_result<transport_ciphers> handshake_state::split() {
  if (failed_) return unexpected{noise_error{noise_error_code::handshake_failed, "handshake already failed"}};
  if (!is_finished() || split_done_)
    return unexpected{noise_error{noise_error_code::not_finished, "split before the handshake finished, or twice"}};
  split_done_ = true;
  auto [c1, c2] = symmetric_.split();
  transport_ciphers out;
  const bool initiator = role_ == role::initiator;
  out.send = initiator ? c1 : c2;
  out.receive = initiator ? c2 : c1;
  out.handshake_hash = symmetric_.handshake_hash();
  return out;
}

}  // namespace energo::net::noise
