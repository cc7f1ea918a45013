// Golden bytes of the node's little-endian formats (actors/state_codec.hpp, membership.hpp,
// checkpoint_state.hpp): a fixed value encodes to exactly these bytes, and these bytes decode back to
// it. The hex strings were taken from the codecs before they moved onto common/le_bytes.hpp and must
// never change: they are in every node's store, snapshots and Raft log.
#include <gtest/gtest.h>

#include "actors/checkpoint_state.hpp"
#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "common/le_bytes.hpp"
#include "crypto/hash.hpp"
#include "net/qtum/tx.hpp"

namespace {

using namespace energo;
using namespace energo::actors;

std::string hex(std::string_view s) { return crypto::to_hex(crypto::as_bytes(s)); }

template <std::size_t N>
std::array<uint8_t, N> filled(uint8_t b) {
  std::array<uint8_t, N> a{};
  a.fill(b);
  return a;
}

// A fixed legacy transaction (one input, one output): the raw bytes an anchor intent carries.
std::string fixed_tx() {
  qtum::transaction tx;
  tx.version = 1;
  tx.inputs.push_back(qtum::tx_input{qtum::outpoint{filled<32>(0x11), 3}, {0x51}, 0xffffffff, {}});
  tx.outputs.push_back(qtum::tx_output{5000, {0x6a}});
  const auto raw = qtum::encode_legacy(tx);
  return std::string(raw.begin(), raw.end());
}

// The shared little-endian writer and reader (common/le_bytes.hpp), against bytes written out by hand.
TEST(le_bytes, writes_little_endian_and_reads_it_back) {
  std::string out;
  le_bytes::put_u8(out, 0x01);
  le_bytes::put_u16(out, 0x0302);
  le_bytes::put_u32(out, 0x07060504);
  le_bytes::put_u64(out, 0x0f0e0d0c0b0a0908);
  le_bytes::put_raw(out, std::array<uint8_t, 2>{0xaa, 0xbb});
  le_bytes::put_bytes32(out, "xy");
  le_bytes::put_bytes16(out, "z");
  EXPECT_EQ(hex(out), "01" "0203" "04050607" "08090a0b0c0d0e0f" "aabb" "02000000" "7879" "0100" "7a");
  le_bytes::reader r{out};
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0302);
  EXPECT_EQ(r.u32(), 0x07060504u);
  EXPECT_EQ(r.u64(), 0x0f0e0d0c0b0a0908u);
  EXPECT_EQ((r.raw<2>()), (std::array<uint8_t, 2>{0xaa, 0xbb}));
  EXPECT_EQ(r.bytes32(2), "xy");
  EXPECT_FALSE(r.at_end());
  EXPECT_EQ(r.bytes16(1), "z");
  EXPECT_TRUE(r.good);
  EXPECT_TRUE(r.at_end());
}

TEST(le_bytes, a_reader_never_reads_past_its_input_and_stays_failed) {
  // Each width one byte short: refused, zero, nothing consumed past the end.
  for (std::size_t width : {1u, 2u, 4u, 8u, 32u}) {
    const std::string bytes(width - 1, '\x7f');
    le_bytes::reader r{bytes};
    const uint64_t v = width == 1 ? r.u8() : width == 2 ? r.u16() : width == 4 ? r.u32() : width == 8 ? r.u64() : r.raw<32>()[0];
    EXPECT_EQ(v, 0u) << width;
    EXPECT_FALSE(r.good) << width;
    EXPECT_FALSE(r.at_end()) << width;
  }
  // A failed reader returns zero from then on, even where bytes are left.
  le_bytes::reader r{std::string_view("\x05\x00\x00\x00" "ab" "\x09", 7)};
  EXPECT_EQ(r.bytes32(16), "");  // length 5, only 3 bytes left: refused
  EXPECT_FALSE(r.good);
  EXPECT_EQ(r.u8(), 0u);
  // A length above the caller's maximum is refused before anything is read or allocated, even
  // where the input holds that many bytes.
  const std::string long_string = std::string("\x04\x00", 2) + "abcd";
  le_bytes::reader capped{long_string};
  EXPECT_EQ(capped.bytes16(3), "");
  EXPECT_FALSE(capped.good);
  le_bytes::reader fits{long_string};
  EXPECT_EQ(fits.bytes16(4), "abcd");
  EXPECT_TRUE(fits.at_end());
}

// `bytes` (what the encoder wrote) are the golden `golden_hex`, and they decode to a value that
// encodes back to them: that value, or nullopt (a failure) if the decoder refused them.
template <class Decode, class Encode>
auto expect_golden(const std::string& bytes, std::string_view golden_hex, Decode decode, Encode encode)
    -> decltype(decode(bytes)) {
  EXPECT_EQ(hex(bytes), golden_hex);
  auto back = decode(bytes);
  EXPECT_TRUE(back) << "the golden bytes do not decode";
  if (back) {
    EXPECT_EQ(encode(*back), bytes) << "decoding and encoding again changed the bytes";
  }
  return back;
}

TEST(codec_golden, tick_and_command_batch_entries) {
  const auto tick = encode_tick_entry(0x0102030405060708);
  EXPECT_EQ(hex(tick), "020807060504030201");
  EXPECT_EQ(decode_tick_entry(tick), 0x0102030405060708);
  const auto batch = expect_golden(encode_command_batch({"ab", "", "c"}), "0103000000020000006162000000000100000063",
                                   decode_command_batch, encode_command_batch);
  EXPECT_EQ(batch, (std::vector<std::string>{"ab", "", "c"}));
}

stored_outcome fixed_outcome() {
  stored_outcome s;
  s.index = 0x1122334455667788;
  s.position = 7;
  auto& o = s.outcome;
  o.accepted = true;
  o.code = 513;
  o.code_name = "ok";
  o.message = "fine";
  o.minted_wh = 1;
  o.burned_wh = -2;
  o.fees_units = 3;
  o.filled_wh = 4;
  o.trades = 5;
  o.epochs_closed = 6;
  o.order_id = 9;
  o.session_id = 10;
  o.created_account = true;
  return s;
}

TEST(codec_golden, stored_outcome_and_node_image) {
  const auto s = fixed_outcome();
  const auto back = expect_golden(encode_outcome(s),
                                  "018877665544332211070000000101020000020000006f6b0400000066696e650100000000000000feffffff"
                                  "ffffffff03000000000000000400000000000000050000000000000006000000000000000900000000000000"
                                  "0a0000000000000001",
                                  decode_outcome, encode_outcome);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->index, s.index);
  EXPECT_EQ(back->position, s.position);
  EXPECT_EQ(back->outcome.burned_wh, -2);
  EXPECT_EQ(back->outcome.session_id, 10u);
  EXPECT_TRUE(back->outcome.created_account);

  node_image img;
  img.applied_index = 42;
  img.ledger_bytes = "L";
  img.outcomes.emplace_back(std::string(32, 'h'), s);
  img.registry_bytes = "R";
  img.checkpoint_bytes = "C";
  img.analytics_bytes = "A";
  EXPECT_TRUE(expect_golden(encode_image(img),
                            "454e49342a00000000000000010000004c010000002000000068686868686868686868686868686868686868"
                            "6868686868686868686868686861000000018877665544332211070000000101020000020000006f6b040000"
                            "0066696e650100000000000000feffffffffffffff0300000000000000040000000000000005000000000000"
                            "00060000000000000009000000000000000a0000000000000001010000005201000000430100000041",
                            decode_image, encode_image));
}

TEST(codec_golden, registry_and_admin_request) {
  member_registry reg;
  member_record m;
  m.key.bytes = filled<32>(0x22);
  m.id = node_id_of_key(m.key);
  m.name = "n1";
  m.peer = "h:1";
  m.client = "h:2";
  m.role = member_role::learner;
  reg.members[m.id] = m;
  crypto::ed25519_public_key admin;
  admin.bytes = filled<32>(0x33);
  reg.admin_nonces[admin] = 5;
  EXPECT_EQ(expect_golden(encode_registry(reg),
                          "010100e33695f40cea729f02006e312222222222222222222222222222222222222222222222222222222222"
                          "2222220300683a310300683a3202010033333333333333333333333333333333333333333333333333333333"
                          "333333330500000000000000",
                          decode_registry, encode_registry),
            reg);

  admin_request add;
  add.admin_key = admin;
  add.nonce = 6;
  add.op = admin_op::add;
  add.node_key.bytes = filled<32>(0x44);
  add.name = "n2";
  add.peer = "p:3";
  add.client = "c:4";
  add.role = member_role::voter;
  add.signature.bytes = filled<64>(0x55);
  EXPECT_TRUE(expect_golden(encode_admin_request(add),
                            "0133333333333333333333333333333333333333333333333333333333333333330600000000000000014444"
                            "44444444444444444444444444444444444444444444444444444444444402006e320300703a330300633a34"
                            "0155555555555555555555555555555555555555555555555555555555555555555555555555555555555555"
                            "555555555555555555555555555555555555555555",
                            decode_admin_request, encode_admin_request));

  admin_request remove;
  remove.admin_key = admin;
  remove.nonce = 7;
  remove.op = admin_op::remove;
  remove.node = 0x0a0b0c0d;
  remove.signature.bytes = filled<64>(0x66);
  const auto remove_back = expect_golden(encode_admin_request(remove),
                                         "0133333333333333333333333333333333333333333333333333333333333333330700000000000000030d0c"
                                         "0b0a000000006666666666666666666666666666666666666666666666666666666666666666666666666666"
                                         "6666666666666666666666666666666666666666666666666666",
                                         decode_admin_request, encode_admin_request);
  ASSERT_TRUE(remove_back);
  EXPECT_EQ(remove_back->node, 0x0a0b0c0du);
  EXPECT_EQ(crypto::to_hex(admin_signing_bytes(remove, "c1", filled<32>(0x77))),
            "656e6572676f2f6d656d6265722f763177777777777777777777777777777777777777777777777777777777"
            "7777777702006331013333333333333333333333333333333333333333333333333333333333333333070000"
            "0000000000030d0c0b0a00000000");
}

TEST(codec_golden, checkpoint_entries_and_book) {
  anchor_record rec{9, filled<32>(0x01), filled<32>(0x02), filled<32>(0x03), 100};
  EXPECT_EQ(expect_golden(encode_record_entry(rec),
                          "0609000000000000000101010101010101010101010101010101010101010101010101010101010101020202"
                          "0202020202020202020202020202020202020202020202020202020202030303030303030303030303030303"
                          "03030303030303030303030303030303036400000000000000",
                          decode_record_entry, encode_record_entry),
            rec);

  anchor_intent i;
  i.index = 12;
  i.build_height = 99;
  i.raw_tx = fixed_tx();
  i.replaces = filled<32>(0x04);
  const auto intent_back = expect_golden(encode_intent_entry(i),
                                         "050c0000000000000063000000000000003e0000000100000001111111111111111111111111111111111111"
                                         "1111111111111111111111111111030000000151ffffffff018813000000000000016a000000000404040404"
                                         "040404040404040404040404040404040404040404040404040404",
                                         decode_intent_entry, encode_intent_entry);
  ASSERT_TRUE(intent_back);
  EXPECT_EQ(intent_back->replaces, i.replaces);

  // v1: no replacement in flight.
  checkpoint_book b;
  b.marks[12] = filled<32>(0x05);
  i.replaces.reset();
  b.intent = i;
  b.anchors.push_back(rec);
  b.change = change_coin{qtum::outpoint{filled<32>(0x06), 1}, 7000, 101};
  EXPECT_TRUE(expect_golden(encode_book(b),
                            "01010000000c0000000000000005050505050505050505050505050505050505050505050505050505050505"
                            "05010c0000000000000063000000000000003e00000001000000011111111111111111111111111111111111"
                            "111111111111111111111111111111030000000151ffffffff018813000000000000016a0000000001000000"
                            "0900000000000000010101010101010101010101010101010101010101010101010101010101010102020202"
                            "0202020202020202020202020202020202020202020202020202020203030303030303030303030303030303"
                            "0303030303030303030303030303030364000000000000000106060606060606060606060606060606060606"
                            "0606060606060606060606060601000000581b0000000000006500000000000000",
                            decode_book, encode_book));

  // v2: the intent replaced two transactions (one with change) and keeps one common input.
  b.intent->replaced = {replaced_anchor{filled<32>(0x07), 123}, replaced_anchor{filled<32>(0x08), std::nullopt}};
  b.intent->common_inputs = {qtum::outpoint{filled<32>(0x09), 2}};
  EXPECT_TRUE(expect_golden(encode_book(b),
                            "02010000000c0000000000000005050505050505050505050505050505050505050505050505050505050505"
                            "05010c0000000000000063000000000000003e00000001000000011111111111111111111111111111111111"
                            "111111111111111111111111111111030000000151ffffffff018813000000000000016a0000000002070707"
                            "0707070707070707070707070707070707070707070707070707070707017b00000000000000080808080808"
                            "0808080808080808080808080808080808080808080808080808000000000000000000010909090909090909"
                            "0909090909090909090909090909090909090909090909090200000001000000090000000000000001010101"
                            "0101010101010101010101010101010101010101010101010101010102020202020202020202020202020202"
                            "0202020202020202020202020202020203030303030303030303030303030303030303030303030303030303"
                            "0303030364000000000000000106060606060606060606060606060606060606060606060606060606060606"
                            "0601000000581b0000000000006500000000000000",
                            decode_book, encode_book));
}

}  // namespace
