#include "crypto/hash.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/crypto/test_support.hpp"

namespace energo::crypto {
namespace {

using test::hex;

// FIPS 180-2 appendix B vectors.
TEST(sha256, fips_180_vectors) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256(as_bytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million_a(1'000'000, 'a');
  EXPECT_EQ(to_hex(sha256(as_bytes(million_a))), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(sha256, double_hash_is_hash_of_hash) {
  EXPECT_EQ(to_hex(sha256d(as_bytes("abc"))), "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358");
  EXPECT_EQ(sha256d(as_bytes("abc")), sha256(sha256(as_bytes("abc"))));
}

TEST(sha256_hasher, chunked_updates_equal_one_shot_and_finish_resets) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sha256_hasher hasher;
  for (std::size_t split = 0; split <= text.size(); ++split) {
    hasher.update(as_bytes(std::string_view(text).substr(0, split)));
    hasher.update(as_bytes(std::string_view(text).substr(split)));
    EXPECT_EQ(hasher.finish(), sha256(as_bytes(text))) << "split at " << split;
  }
  // After finish() the hasher starts over: an empty message.
  EXPECT_EQ(hasher.finish(), sha256(as_bytes("")));
}

TEST(sha256_hasher, integers_are_big_endian_twos_complement) {
  sha256_hasher hasher;
  hasher.update_u8(0xab).update_u64(0x0102030405060708ULL).update_i64(-2);
  const auto expected = hex("ab" "0102030405060708" "fffffffffffffffe");
  EXPECT_EQ(hasher.finish(), sha256(expected));
}

// The RIPEMD-160 authors' published vectors (Dobbertin, Bosselaers, Preneel).
TEST(ripemd160, published_vectors) {
  EXPECT_EQ(to_hex(ripemd160(as_bytes(""))), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("a"))), "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("abc"))), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("message digest"))), "5d0689ef49d2fae572b881b123a85ffa21595f36");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("abcdefghijklmnopqrstuvwxyz"))), "f71c27109c692c1b56bbdceb5b9d2865b3708dbc");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "12a053384a9c0c88e405a06c27dcf49ada62eb2b");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))),
            "b0e20b6e3116640286ed3a87a5713079b21f5189");
  const std::string million_a(1'000'000, 'a');
  EXPECT_EQ(to_hex(ripemd160(as_bytes(million_a))), "52783243c1697bdbe16d37f97f68f08325dc1528");
}

// The public key from the Bitcoin wiki's "Technical background of version 1 addresses".
TEST(hash160, bitcoin_wiki_public_key) {
  const auto pubkey = hex("0250863ad64a87ae8a2fe83c1af1a8403cb53f53e486d8511dad8a04887e5b2352");
  EXPECT_EQ(to_hex(hash160_of(pubkey)), "f54a5851e9372b87810a8e60cdd2e7cfd80b6e31");
  EXPECT_EQ(hash160_of(pubkey), ripemd160(sha256(pubkey)));
}

TEST(hex, round_trip_and_rejection) {
  EXPECT_EQ(to_hex(hex("00ff10aB")), "00ff10ab");
  EXPECT_EQ(from_hex("").value(), std::vector<uint8_t>{});
  EXPECT_FALSE(from_hex("abc").has_value());   // odd length
  EXPECT_FALSE(from_hex("0g").has_value());    // not a digit
  EXPECT_FALSE(from_hex(" 00").has_value());   // whitespace
  EXPECT_FALSE(array_from_hex<2>("00").has_value());
  EXPECT_TRUE(array_from_hex<2>("0000").has_value());
}

}  // namespace
}  // namespace energo::crypto
