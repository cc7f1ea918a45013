// Noise_*_25519_ChaChaPoly_SHA256 (Noise rev 34) against the cacophony vectors, plus the
// CipherState rules the vectors do not reach (reserved nonce, rekey, failed decryption).
#include <gtest/gtest.h>
#include <sodium.h>

#include <map>

#include "net/noise.hpp"
#include "tests/net/test_support.hpp"

namespace energo::net::noise {
namespace {

using test::hex;
using test::hex_array;

std::optional<handshake_pattern> pattern_of(const std::string& name) {
  static const std::map<std::string, handshake_pattern> known{
      {"Noise_NN_25519_ChaChaPoly_SHA256", handshake_pattern::nn},
      {"Noise_KK_25519_ChaChaPoly_SHA256", handshake_pattern::kk},
      {"Noise_IK_25519_ChaChaPoly_SHA256", handshake_pattern::ik},
      {"Noise_XX_25519_ChaChaPoly_SHA256", handshake_pattern::xx}};
  auto it = known.find(name);
  if (it == known.end()) return std::nullopt;
  return it->second;
}

std::size_t handshake_messages(handshake_pattern p) { return p == handshake_pattern::xx ? 3 : 2; }

handshake_config config_from(const nlohmann::json& v, handshake_pattern p, role r) {
  const std::string side = r == role::initiator ? "init_" : "resp_";
  handshake_config c;
  c.pattern = p;
  c.local_role = r;
  c.prologue = hex(v.at(side + "prologue").get<std::string>());
  if (v.contains(side + "static"))
    c.local_static = x25519_keypair::from_private(hex_array<32>(v.at(side + "static").get<std::string>()));
  c.local_ephemeral =
      x25519_keypair::from_private(hex_array<32>(v.at(side + "ephemeral").get<std::string>()));
  if (v.contains(side + "remote_static"))
    c.remote_static = hex_array<32>(v.at(side + "remote_static").get<std::string>());
  return c;
}

// Runs one vector: every ciphertext byte for byte, every payload decrypted, the final hash.
void run_vector(const nlohmann::json& v, handshake_pattern p) {
  SCOPED_TRACE(v.at("protocol_name").get<std::string>());
  auto init = handshake_state::create(config_from(v, p, role::initiator));
  auto resp = handshake_state::create(config_from(v, p, role::responder));
  ASSERT_TRUE(init) << init.error().message;
  ASSERT_TRUE(resp) << resp.error().message;
  const auto& messages = v.at("messages");
  const std::size_t hs_count = handshake_messages(p);
  ASSERT_GT(messages.size(), hs_count);
  for (std::size_t i = 0; i < hs_count; ++i) {
    SCOPED_TRACE("handshake message " + std::to_string(i));
    auto& writer = i % 2 == 0 ? *init : *resp;
    auto& reader = i % 2 == 0 ? *resp : *init;
    const auto payload = hex(messages[i].at("payload").get<std::string>());
    auto written = writer.write_message(payload);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(crypto::to_hex(*written), messages[i].at("ciphertext").get<std::string>());
    auto read = reader.read_message(*written);
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(*read, payload);
    EXPECT_EQ(writer.payload_hash(), reader.payload_hash());
  }
  ASSERT_TRUE(init->is_finished());
  ASSERT_TRUE(resp->is_finished());
  EXPECT_EQ(crypto::to_hex(init->handshake_hash()), v.at("handshake_hash").get<std::string>());
  EXPECT_EQ(crypto::to_hex(resp->handshake_hash()), v.at("handshake_hash").get<std::string>());
  auto init_t = init->split();
  auto resp_t = resp->split();
  ASSERT_TRUE(init_t && resp_t);
  for (std::size_t i = hs_count; i < messages.size(); ++i) {
    SCOPED_TRACE("transport message " + std::to_string(i));
    auto& sender = i % 2 == 0 ? init_t->send : resp_t->send;
    auto& receiver = i % 2 == 0 ? resp_t->receive : init_t->receive;
    const auto payload = hex(messages[i].at("payload").get<std::string>());
    auto c = sender.encrypt_with_ad({}, payload);
    ASSERT_TRUE(c);
    EXPECT_EQ(crypto::to_hex(*c), messages[i].at("ciphertext").get<std::string>());
    auto m = receiver.decrypt_with_ad({}, *c);
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, payload);
  }
}

TEST(noise_vectors, cacophony_25519_chachapoly_sha256) {
  auto vectors = test::load_noise_vectors();
  if (!vectors)
    GTEST_SKIP() << "Noise vectors are missing: expected " << std::filesystem::absolute(test::noise_vectors_file);
  std::size_t ran = 0;
  bool ran_xx = false;
  for (const auto& v : vectors->at("vectors")) {
    const auto name = v.at("protocol_name").get<std::string>();
    auto p = pattern_of(name);
    if (!p || v.contains("init_psks")) continue;  // PSK patterns are not implemented
    run_vector(v, *p);
    ++ran;
    ran_xx = ran_xx || *p == handshake_pattern::xx;
  }
  std::printf("ran %zu cacophony vectors\n", ran);
  EXPECT_TRUE(ran_xx) << "no Noise_XX_25519_ChaChaPoly_SHA256 vector in the file";
  EXPECT_GE(ran, 1u);
}

// Any single flipped bit in any handshake message makes the handshake fail before it finishes
// (message 1 of XX is plaintext, so its tampering surfaces when message 2 fails to decrypt).
TEST(noise_handshake, tampered_byte_anywhere_fails) {
  const auto s_i = x25519_keypair::from_private(key32{1});
  const auto s_r = x25519_keypair::from_private(key32{2});
  const auto e_i = x25519_keypair::from_private(key32{3});
  const auto e_r = x25519_keypair::from_private(key32{4});
  auto make = [&](role r) {
    handshake_config c;
    c.local_role = r;
    c.prologue = {'p'};
    c.local_static = r == role::initiator ? s_i : s_r;
    c.local_ephemeral = r == role::initiator ? e_i : e_r;
    return handshake_state::create(c).value();
  };
  const std::vector<uint8_t> payload{'h', 'i'};
  for (std::size_t target = 0; target < 3; ++target) {
    // Length of message `target` from an untampered run.
    std::size_t length = 0;
    {
      auto a = make(role::initiator), b = make(role::responder);
      for (std::size_t i = 0; i <= target; ++i) {
        auto& w = i % 2 == 0 ? a : b;
        auto& r = i % 2 == 0 ? b : a;
        auto m = w.write_message(payload).value();
        length = m.size();
        ASSERT_TRUE(r.read_message(m));
      }
    }
    for (std::size_t byte = 0; byte < length; ++byte) {
      auto a = make(role::initiator), b = make(role::responder);
      bool failed = false;
      for (std::size_t i = 0; i < 3 && !failed; ++i) {
        auto& w = i % 2 == 0 ? a : b;
        auto& r = i % 2 == 0 ? b : a;
        auto m = w.write_message(payload);
        if (!m) { failed = true; break; }
        if (i == target) (*m)[byte] ^= 0x01;
        failed = !r.read_message(*m);
      }
      EXPECT_TRUE(failed) << "flipping byte " << byte << " of message " << target << " went unnoticed";
    }
  }
}

TEST(noise_handshake, failure_is_final_and_turns_are_enforced) {
  handshake_config ci;
  ci.local_static = x25519_keypair::generate();
  handshake_config cr = ci;
  cr.local_role = role::responder;
  cr.local_static = x25519_keypair::generate();
  auto a = handshake_state::create(ci).value();
  auto b = handshake_state::create(cr).value();
  EXPECT_EQ(b.write_message({}).error().code, noise_error_code::wrong_turn);  // responder first
  EXPECT_EQ(b.read_message(a.write_message({}).value()).error().code, noise_error_code::handshake_failed);
  auto c = handshake_state::create(cr).value();
  EXPECT_EQ(c.read_message(std::vector<uint8_t>(10, 0)).error().code, noise_error_code::message_too_short);
  EXPECT_EQ(c.read_message(std::vector<uint8_t>(40, 0)).error().code, noise_error_code::handshake_failed);
  EXPECT_EQ(a.split().error().code, noise_error_code::not_finished);
}

TEST(noise_handshake, xx_requires_a_static_key) {
  handshake_config c;  // no local_static
  EXPECT_EQ(handshake_state::create(c).error().code, noise_error_code::missing_key);
}

TEST(noise_handshake, low_order_ephemeral_is_refused) {
  handshake_config cr;
  cr.local_role = role::responder;
  cr.local_static = x25519_keypair::generate();
  auto b = handshake_state::create(cr).value();
  // Message 1 with the all-zero point as e: the ee DH in message 2 gives all zeros.
  std::vector<uint8_t> message1(32, 0);
  ASSERT_TRUE(b.read_message(message1));
  EXPECT_EQ(b.write_message({}).error().code, noise_error_code::invalid_public_key);
}

// §12.3 nonce encoding, checked against libsodium called directly (independent of cipher_state).
TEST(noise_cipher, nonce_is_four_zero_bytes_then_little_endian_counter) {
  const key32 k{7, 7, 7};
  cipher_state c;
  c.initialize_key(k);
  c.set_nonce(0x0102030405060708ULL);
  const std::vector<uint8_t> m{'x', 'y', 'z'};
  auto got = c.encrypt_with_ad(m, m).value();
  const uint8_t nonce[12] = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  std::vector<uint8_t> want(m.size() + 16);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(want.data(), &len, m.data(), m.size(), m.data(), m.size(),
                                            nullptr, nonce, k.data());
  EXPECT_EQ(got, want);
  EXPECT_EQ(c.nonce(), 0x0102030405060709ULL);
}

TEST(noise_cipher, reserved_nonce_is_refused_and_failed_decrypt_keeps_nonce) {
  cipher_state c;
  c.initialize_key(key32{9});
  c.set_nonce(nonce_max - 1);
  EXPECT_TRUE(c.encrypt_with_ad({}, std::vector<uint8_t>{1}));
  EXPECT_EQ(c.encrypt_with_ad({}, std::vector<uint8_t>{1}).error().code, noise_error_code::nonce_exhausted);
  cipher_state d;
  d.initialize_key(key32{9});
  EXPECT_EQ(d.decrypt_with_ad({}, std::vector<uint8_t>(20, 0)).error().code, noise_error_code::decrypt_failed);
  EXPECT_EQ(d.nonce(), 0u);
  EXPECT_EQ(d.decrypt_with_ad({}, std::vector<uint8_t>(3, 0)).error().code, noise_error_code::decrypt_failed);
}

// §4.2: REKEY(k) = ENCRYPT(k, 2^64-1, empty, 32 zeros)[0..32); the nonce is not reset.
TEST(noise_cipher, rekey_matches_the_spec_formula) {
  const key32 k{0xaa, 0xbb};
  cipher_state c;
  c.initialize_key(k);
  c.set_nonce(5);
  c.rekey();
  EXPECT_EQ(c.nonce(), 5u);
  const uint8_t nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint8_t zeros[32] = {};
  uint8_t out[48];
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out, &len, zeros, 32, nullptr, 0, nullptr, nonce, k.data());
  key32 k2{};
  std::copy(out, out + 32, k2.begin());
  cipher_state expected;
  expected.initialize_key(k2);
  expected.set_nonce(5);
  const std::vector<uint8_t> m{1, 2, 3};
  EXPECT_EQ(c.encrypt_with_ad({}, m).value(), expected.encrypt_with_ad({}, m).value());
}

// With a 32-zero-byte chaining key, Noise's HKDF is RFC 5869 HKDF-SHA256 with an empty salt and
// empty info: RFC 5869 test case 3 gives the first 42 output bytes.
TEST(noise_hkdf, matches_rfc5869_test_case_3) {
  const std::vector<uint8_t> ikm(22, 0x0b);
  hash32 o1{}, o2{}, o3{};
  hkdf2(hash32{}, ikm, o1, o2);
  std::array<uint8_t, 42> okm{};
  std::copy(o1.begin(), o1.end(), okm.begin());
  std::copy_n(o2.begin(), 10, okm.begin() + 32);
  EXPECT_EQ(crypto::to_hex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  hash32 p1{}, p2{};
  hkdf3(hash32{}, ikm, p1, p2, o3);
  EXPECT_EQ(p1, o1);
  EXPECT_EQ(p2, o2);
}

}  // namespace
}  // namespace energo::net::noise
