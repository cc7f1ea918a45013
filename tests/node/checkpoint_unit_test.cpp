// The replicated checkpoint book (actors/checkpoint_state.hpp): entry codecs, the apply rules every
// replica runs on intents and records, bounds, the node image carrying the book, and balance proof
// files. Oracles come from docs/node.md "Checkpoints on Qtum" (what must be refused and why).
#include <gtest/gtest.h>

#include "actors/checkpoint_state.hpp"
#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "crypto/hash.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/builder.hpp"
#include "net/qtum/script.hpp"
#include "node/config.hpp"
#include "tools/command_json.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

using namespace energo;
using namespace energo::actors;

const std::string test_cluster = "test/cluster";

crypto::hash256 root_of(uint8_t b) {
  crypto::hash256 r{};
  r.fill(b);
  return r;
}

// A real signed anchor transaction for (cluster, index, root), spending one made-up coin.
anchor_intent intent_for(const std::string& cluster_id, uint64_t index, const crypto::hash256& root, uint8_t coin = 1) {
  static const auto key = crypto::secp256k1_secret_key::generate();
  const auto params = qtum::litecoin_regtest_with_qtum_policy();
  qtum::utxo c;
  c.point.txid.fill(coin);
  c.point.index = 0;
  c.value_sat = 100'000'000;
  c.script_pubkey = qtum::p2pkh_script(crypto::hash160_of(key.public_key().bytes));
  c.height = 1;
  const qtum::anchor_payload payload{qtum::cluster_id_hash_of(cluster_id), index, root};
  auto built = qtum::build_anchor_tx(params, key, std::vector<qtum::utxo>{c}, 10, payload);
  EXPECT_TRUE(built.has_value());
  anchor_intent i;
  i.index = index;
  i.raw_tx.assign(built->raw.begin(), built->raw.end());
  i.build_height = 10;
  i.txid = built->txid;
  return i;
}

anchor_record record_for(const anchor_intent& i, const crypto::hash256& root) {
  anchor_record r;
  r.index = i.index;
  r.root = root;
  r.txid = i.txid;
  r.block_hash = root_of(0xbb);
  r.height = 42;
  return r;
}

TEST(checkpoint_entries, kinds_are_leader_only_and_codecs_round_trip) {
  EXPECT_EQ(kind_of(encode_mark_entry()), entry_kind::checkpoint_mark);
  const auto i = intent_for(test_cluster, 10, root_of(1));
  const auto ie = encode_intent_entry(i);
  EXPECT_EQ(kind_of(ie), entry_kind::anchor_intent);
  const auto r = record_for(i, root_of(1));
  const auto re = encode_record_entry(r);
  EXPECT_EQ(kind_of(re), entry_kind::anchor_record);
  // A follower may never forward them: only the leader's own checkpoint actor appends them.
  EXPECT_FALSE(forwardable(encode_mark_entry()));
  EXPECT_FALSE(forwardable(ie));
  EXPECT_FALSE(forwardable(re));
  EXPECT_EQ(decode_intent_entry(ie), i);
  EXPECT_EQ(decode_record_entry(re), r);
  // Trailing bytes, truncation, a wrong kind, bytes that are not a transaction: refused.
  EXPECT_FALSE(decode_intent_entry(ie + "x"));
  EXPECT_FALSE(decode_intent_entry(ie.substr(0, ie.size() - 1)));
  EXPECT_FALSE(decode_record_entry(re + "x"));
  EXPECT_FALSE(decode_record_entry(ie));
  anchor_intent junk = i;
  junk.raw_tx = "not a transaction";
  EXPECT_FALSE(decode_intent_entry(encode_intent_entry(junk)));
  anchor_intent huge = i;
  huge.raw_tx.assign(limits::anchor_tx_bytes_max + 1, 'x');
  EXPECT_FALSE(decode_intent_entry(encode_intent_entry(huge)));
}

TEST(checkpoint_book, an_intent_must_anchor_this_replicas_own_root_at_a_marked_index) {
  checkpoint_book b;
  apply_mark(b, 10, root_of(1));
  // Unmarked index, another root, another cluster: refused, nothing changes.
  EXPECT_NE(apply_intent(b, intent_for(test_cluster, 11, root_of(1)), test_cluster).find("not a marked index"), std::string::npos);
  EXPECT_NE(apply_intent(b, intent_for(test_cluster, 10, root_of(2)), test_cluster).find("not this replica's root"), std::string::npos);
  EXPECT_NE(apply_intent(b, intent_for("other/cluster", 10, root_of(1)), test_cluster).find("another cluster"), std::string::npos);
  anchor_intent lying = intent_for(test_cluster, 10, root_of(1));
  lying.index = 11;  // the entry says 11, the payload 10
  apply_mark(b, 11, root_of(1));
  EXPECT_NE(apply_intent(b, lying, test_cluster).find("anchors index 10"), std::string::npos);
  EXPECT_FALSE(b.intent);
  const auto good = intent_for(test_cluster, 10, root_of(1));
  EXPECT_EQ(apply_intent(b, good, test_cluster), "");
  ASSERT_TRUE(b.intent);
  EXPECT_EQ(b.intent->txid, good.txid);
  // One in flight: the same one again, or another one (a stale leader's), is refused.
  EXPECT_NE(apply_intent(b, good, test_cluster).find("already in flight"), std::string::npos);
  EXPECT_NE(apply_intent(b, intent_for(test_cluster, 11, root_of(1), 2), test_cluster).find("in flight"), std::string::npos);
  EXPECT_EQ(b.intent->txid, good.txid);
}

TEST(checkpoint_book, a_record_must_match_the_intent_and_the_own_root_then_funds_the_next_anchor) {
  checkpoint_book b;
  apply_mark(b, 10, root_of(1));
  const auto i = intent_for(test_cluster, 10, root_of(1));
  EXPECT_NE(apply_record(b, record_for(i, root_of(1))).find("no anchor is in flight"), std::string::npos);
  ASSERT_EQ(apply_intent(b, i, test_cluster), "");
  auto wrong_tx = record_for(i, root_of(1));
  wrong_tx.txid = root_of(9);
  EXPECT_NE(apply_record(b, wrong_tx).find("not the anchor in flight"), std::string::npos);
  EXPECT_NE(apply_record(b, record_for(i, root_of(2))).find("not this replica's root"), std::string::npos);
  EXPECT_TRUE(b.anchors.empty());
  ASSERT_EQ(apply_record(b, record_for(i, root_of(1))), "");
  EXPECT_FALSE(b.intent);
  ASSERT_EQ(b.anchors.size(), 1u);
  EXPECT_EQ(b.anchors.back(), record_for(i, root_of(1)));
  ASSERT_TRUE(b.change);
  EXPECT_EQ(b.change->point.txid, i.txid);
  EXPECT_EQ(b.change->point.index, 1u);
  EXPECT_EQ(b.change->height, 42u);
  EXPECT_GT(b.change->value_sat, 0);
  // The same record again (a re-proposal after a leader change) changes nothing.
  EXPECT_NE(apply_record(b, record_for(i, root_of(1))), "");
  EXPECT_EQ(b.anchors.size(), 1u);
  // An index at or below the last anchor is never anchored again.
  EXPECT_NE(apply_intent(b, intent_for(test_cluster, 10, root_of(1), 3), test_cluster).find("not above the last anchored"),
            std::string::npos);
}

// An anchor for (cluster, index, root) spending exactly the given made-up coins (coin byte, value),
// at `fee_rate` sat/kvB; `replaces` names the intent in flight it replaces.
anchor_intent spending(uint64_t index, const crypto::hash256& root, const std::vector<std::pair<uint8_t, int64_t>>& coins,
                       int64_t fee_rate = 400'000, std::optional<qtum::txid_t> replaces = std::nullopt) {
  static const auto key = crypto::secp256k1_secret_key::generate();
  auto params = qtum::litecoin_regtest_with_qtum_policy();
  params.fee_rate_sat_per_kvb = fee_rate;
  std::vector<qtum::utxo> utxos;
  for (const auto& [coin, value] : coins) {
    qtum::utxo c;
    c.point.txid.fill(coin);
    c.value_sat = value;
    c.script_pubkey = qtum::p2pkh_script(crypto::hash160_of(key.public_key().bytes));
    c.height = 1;
    utxos.push_back(c);
  }
  const qtum::anchor_payload payload{qtum::cluster_id_hash_of(test_cluster), index, root};
  auto built = qtum::build_anchor_tx(params, key, utxos, 10, payload);
  EXPECT_TRUE(built.has_value()) << (built ? "" : built.error().message);
  EXPECT_EQ(built->tx.inputs.size(), coins.size()) << "the test needs every coin spent";
  anchor_intent i;
  i.index = index;
  i.raw_tx.assign(built->raw.begin(), built->raw.end());
  i.build_height = 10;
  i.txid = built->txid;
  i.replaces = replaces;
  return i;
}

// docs/node.md "Stuck anchors": a replacement (fee bump) names the intent in flight, anchors the
// same index, and spends an outpoint that every earlier transaction for that index spends, so
// all of them conflict pairwise and at most one can be mined; any of them may be recorded.
TEST(checkpoint_book, a_replacement_must_conflict_with_every_earlier_anchor_for_its_index) {
  checkpoint_book b;
  apply_mark(b, 10, root_of(1));
  apply_mark(b, 20, root_of(2));
  constexpr int64_t small = 95'000;  // one coin cannot pay the fee (~98,800 sat): the builder spends both
  const auto a = spending(10, root_of(1), {{1, small}, {2, small}});
  ASSERT_EQ(apply_intent(b, a, test_cluster), "");
  // The entry codec carries `replaces`; an entry without it is an ordinary intent.
  const auto bump = spending(10, root_of(1), {{2, small}, {3, small}}, 420'000, a.txid);
  EXPECT_EQ(decode_intent_entry(encode_intent_entry(bump)), bump);
  EXPECT_FALSE(decode_intent_entry(encode_intent_entry(a))->replaces);
  // Not a replacement (no `replaces`), or naming another txid: refused as before.
  auto plain = bump;
  plain.replaces.reset();
  EXPECT_NE(apply_intent(b, plain, test_cluster).find("is in flight"), std::string::npos);
  EXPECT_NE(apply_intent(b, spending(10, root_of(1), {{2, small}, {3, small}}, 420'000, root_of(9)), test_cluster).find("is in flight"),
            std::string::npos);
  // Another index, disjoint inputs, the same transaction: refused; nothing changed.
  EXPECT_NE(apply_intent(b, spending(20, root_of(2), {{1, small}, {2, small}}, 420'000, a.txid), test_cluster).find("same index"),
            std::string::npos);
  EXPECT_NE(apply_intent(b, spending(10, root_of(1), {{4, small}, {5, small}}, 420'000, a.txid), test_cluster).find("must spend"),
            std::string::npos);
  auto same = a;
  same.replaces = a.txid;
  EXPECT_NE(apply_intent(b, same, test_cluster).find("already in flight"), std::string::npos);
  EXPECT_EQ(b.intent->txid, a.txid);
  // A replacement must still carry this replica's root.
  EXPECT_NE(apply_intent(b, spending(10, root_of(7), {{2, small}, {3, small}}, 420'000, a.txid), test_cluster).find("root"),
            std::string::npos);
  // B shares coin 2 with A: accepted; in common now {2}.
  ASSERT_EQ(apply_intent(b, bump, test_cluster), "");
  EXPECT_EQ(b.intent->txid, bump.txid);
  ASSERT_EQ(b.intent->replaced.size(), 1u);
  EXPECT_EQ(b.intent->replaced[0].txid, a.txid);
  ASSERT_EQ(b.intent->common_inputs.size(), 1u);
  EXPECT_EQ(b.intent->common_inputs[0].txid, root_of(2));
  // C shares coin 3 with B (in flight) but nothing with A: A and C could both be mined, refused;
  // so is E, sharing coin 1 with A only. D shares coin 2 with both: accepted.
  EXPECT_NE(apply_intent(b, spending(10, root_of(1), {{3, small}, {4, small}}, 440'000, bump.txid), test_cluster).find("must spend"),
            std::string::npos);
  EXPECT_NE(apply_intent(b, spending(10, root_of(1), {{1, small}, {4, small}}, 440'000, bump.txid), test_cluster).find("must spend"),
            std::string::npos);
  const auto d = spending(10, root_of(1), {{2, small}, {5, small}}, 440'000, bump.txid);
  ASSERT_EQ(apply_intent(b, d, test_cluster), "");
  EXPECT_EQ(b.intent->replaced.size(), 2u);
  // The book with replacements survives its codec (v2); a book without them stays v1.
  EXPECT_EQ(decode_book(encode_book(b)), b);
  EXPECT_EQ(encode_book(b)[0], 2);
  // The ORIGINAL was mined after all: its record is accepted (it is one of the index's txs).
  auto rec = record_for(a, root_of(1));
  EXPECT_NE(apply_record(b, record_for(spending(10, root_of(1), {{6, small}, {7, small}}), root_of(1))).find("not the anchor in flight"),
            std::string::npos);
  ASSERT_EQ(apply_record(b, rec), "");
  EXPECT_FALSE(b.intent);
  EXPECT_EQ(b.last_anchored_index(), 10u);
  EXPECT_EQ(encode_book(b)[0], 1);
  // A replacement when nothing is in flight, and the bound on replacements per index.
  EXPECT_NE(apply_intent(b, spending(20, root_of(2), {{1, small}, {2, small}}, 400'000, a.txid), test_cluster).find("not in flight"),
            std::string::npos);
  constexpr int64_t big = 10'000'000;  // with change: each fee rate gives another transaction
  auto current = spending(20, root_of(2), {{1, big}});
  ASSERT_EQ(apply_intent(b, current, test_cluster), "");
  for (std::size_t k = 0; k < limits::anchor_replacements_max; ++k) {
    const auto next = spending(20, root_of(2), {{1, big}}, 401'000 + static_cast<int64_t>(k) * 1000, current.txid);
    ASSERT_EQ(apply_intent(b, next, test_cluster), "") << k;
    current = next;
  }
  EXPECT_NE(apply_intent(b, spending(20, root_of(2), {{1, big}}, 900'000, current.txid), test_cluster).find("already replaced"),
            std::string::npos);
}

TEST(checkpoint_book, an_index_older_than_the_window_is_refused_and_bounds_hold) {
  checkpoint_book b;
  apply_mark(b, 10, root_of(1));
  const auto i = intent_for(test_cluster, 10, root_of(1));
  ASSERT_EQ(apply_intent(b, i, test_cluster), "");
  for (uint64_t k = 0; k < limits::checkpoint_marks_kept_max; ++k) apply_mark(b, 100 + k, root_of(2));
  EXPECT_EQ(b.marks.size(), limits::checkpoint_marks_kept_max);
  EXPECT_EQ(b.marks.count(10), 0u);
  EXPECT_NE(apply_record(b, record_for(i, root_of(1))).find("older than this replica's window"), std::string::npos);
  // Anchors are bounded: the oldest go first.
  checkpoint_book full;
  for (uint64_t k = 1; k <= limits::anchors_kept_max; ++k) full.anchors.push_back(anchor_record{k, root_of(1), {}, {}, k});
  apply_mark(full, 5000, root_of(3));
  const auto next = intent_for(test_cluster, 5000, root_of(3), 4);
  ASSERT_EQ(apply_intent(full, next, test_cluster), "");
  ASSERT_EQ(apply_record(full, record_for(next, root_of(3))), "");
  EXPECT_EQ(full.anchors.size(), limits::anchors_kept_max);
  EXPECT_EQ(full.anchors.front().index, 2u);
  EXPECT_EQ(full.anchors.back().index, 5000u);
}

TEST(checkpoint_book, codec_round_trips_and_refuses_damage) {
  checkpoint_book b;
  apply_mark(b, 10, root_of(1));
  apply_mark(b, 30, root_of(3));
  const auto i = intent_for(test_cluster, 10, root_of(1));
  ASSERT_EQ(apply_intent(b, i, test_cluster), "");
  ASSERT_EQ(apply_record(b, record_for(i, root_of(1))), "");
  ASSERT_EQ(apply_intent(b, intent_for(test_cluster, 30, root_of(3), 5), test_cluster), "");
  const auto bytes = encode_book(b);
  EXPECT_EQ(decode_book(bytes), b);
  EXPECT_EQ(decode_book(encode_book(checkpoint_book{})), checkpoint_book{});
  EXPECT_FALSE(decode_book(bytes + "x"));
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7) EXPECT_FALSE(decode_book(bytes.substr(0, cut))) << cut;
  std::string too_many = bytes;
  too_many[1] = static_cast<char>(limits::checkpoint_marks_kept_max + 1);  // mark count (u32 LE after the version)
  EXPECT_FALSE(decode_book(too_many));
}

TEST(checkpoint_book, the_node_image_carries_the_book_and_older_images_still_decode) {
  node_image img;
  img.applied_index = 7;
  img.ledger_bytes = "ledger";
  img.registry_bytes = "registry";
  checkpoint_book b;
  apply_mark(b, 5, root_of(5));
  img.checkpoint_bytes = encode_book(b);
  img.analytics_bytes = "analytics";
  const auto bytes = encode_image(img);
  ASSERT_EQ(bytes.substr(0, 4), "ENI4");
  auto back = decode_image(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->checkpoint_bytes, img.checkpoint_bytes);
  EXPECT_EQ(back->analytics_bytes, "analytics");
  // Each older format is the same bytes without the trailing fields it predates (each an empty
  // length-prefixed string here: 4 bytes).
  img.analytics_bytes.clear();
  std::string v3 = encode_image(img);
  v3 = "ENI3" + v3.substr(4, v3.size() - 4 - 4);
  auto three = decode_image(v3);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->checkpoint_bytes, img.checkpoint_bytes);
  EXPECT_TRUE(three->analytics_bytes.empty());
  img.checkpoint_bytes.clear();
  std::string v2 = encode_image(img);
  v2 = "ENI2" + v2.substr(4, v2.size() - 4 - 8);
  auto old = decode_image(v2);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->registry_bytes, "registry");
  EXPECT_TRUE(old->checkpoint_bytes.empty());
  // An ENI3 image must not carry the analytics field, an ENI2 one not the book.
  EXPECT_FALSE(decode_image("ENI3" + bytes.substr(4)));
  EXPECT_FALSE(decode_image("ENI2" + v3.substr(4)));
}

TEST(checkpoint_proofs, a_proof_file_verifies_against_the_anchored_root_and_tampering_fails) {
  auto g = tools::read_genesis_file("examples/community/genesis.json");
  ASSERT_TRUE(g);
  auto led = ledger::ledger::create(*g);
  ASSERT_TRUE(led);
  const auto root = led->state_root();
  ASSERT_FALSE(led->accounts().empty());
  const auto address = led->accounts().back().address;
  auto proof = led->prove(address);
  ASSERT_TRUE(proof);
  const anchor_record anchor{12, root, root_of(7), root_of(8), 99};
  const auto text = proof_file_json(test_cluster, "addr", *proof, anchor);
  auto parsed = parse_proof_file(text);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->index, 12u);
  EXPECT_EQ(parsed->root, root);
  EXPECT_EQ(parsed->txid, anchor.txid);
  EXPECT_EQ(parsed->block_hash, anchor.block_hash);
  EXPECT_TRUE(ledger::verify_account_proof(root, parsed->proof));
  EXPECT_FALSE(ledger::verify_account_proof(root_of(1), parsed->proof)) << "any root verifies";
  // One more unit of TSL in the leaf: still an account record, no longer in the tree.
  auto j = nlohmann::json::parse(text);
  std::string leaf = j["leaf"].get<std::string>();
  char& digit = leaf[2 * (20 + 2 + 33 + 8) - 1];
  digit = digit == '0' ? '1' : '0';
  j["leaf"] = leaf;
  auto tampered = parse_proof_file(j.dump());
  ASSERT_TRUE(tampered);
  EXPECT_NE(tampered->proof.record.tsl_units, parsed->proof.record.tsl_units);
  EXPECT_FALSE(ledger::verify_account_proof(root, tampered->proof));
  // Malformed files are refused with a message.
  EXPECT_FALSE(parse_proof_file("{}"));
  EXPECT_FALSE(parse_proof_file("not json"));
  auto short_leaf = nlohmann::json::parse(text);
  short_leaf["leaf"] = "00";
  EXPECT_FALSE(parse_proof_file(short_leaf.dump()));
  auto long_path = nlohmann::json::parse(text);
  long_path["path"]["siblings"] = std::vector<std::string>(65, std::string(64, '0'));
  EXPECT_FALSE(parse_proof_file(long_path.dump()));
}

TEST(checkpoint_proofs, account_leaf_decoding_is_the_inverse_of_encoding) {
  ledger::account a;
  a.address.fill(3);
  a.kind = ledger::account_kind::network_pool;
  a.key_known = true;
  a.key.bytes.fill(2);
  a.tsl_units = -5;
  a.watt_wh = 123456789;
  a.nonce = 77;
  a.fees_paid_units = 9;
  const auto bytes = ledger::account_leaf_bytes(a);
  const auto back = decode_account_leaf(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(ledger::account_leaf_bytes(*back), bytes);
  EXPECT_EQ(back->watt_wh, 123456789);
  EXPECT_TRUE(back->key_known);
  EXPECT_FALSE(back->granted);
  auto bad_kind = bytes;
  bad_kind[20] = 7;
  EXPECT_FALSE(decode_account_leaf(bad_kind));
  EXPECT_FALSE(decode_account_leaf(std::span(bytes).first(bytes.size() - 1)));
}

}  // namespace

namespace {

TEST(checkpoint_config, rpc_urls_and_the_qtum_section) {
  using energo::node::parse_rpc_url;
  auto a = parse_rpc_url("http://127.0.0.1:13889", 3889);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 13889);
  auto b = parse_rpc_url("qtum.local", 3889);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 3889);
  for (const char* bad : {"", "http://", "host:0", "host:65536", "host:12x", "http://h:1/path", ":80"}) {
    EXPECT_FALSE(parse_rpc_url(bad, 3889)) << bad;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("energo-qtum-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "node.toml").string();
  {
    std::ofstream f(path);
    f << "data_dir = \"d\"\n[qtum]\nnetwork = \"qtum-test\"\nrpc_url = \"http://127.0.0.1:13889\"\n"
         "rpc_cookie_file = \"cookie\"\nkey_file = \"key.json\"\nconfirmations = 3\nevery_entries = 50\n"
         "address_version = 120\ntypo_key = 1\n";
  }
  auto loaded = energo::node::load_config(path, {});
  ASSERT_TRUE(loaded) << loaded.error();
  const auto& q = loaded->config.qtum;
  EXPECT_TRUE(q.enabled);
  EXPECT_EQ(q.network, "qtum-test");
  EXPECT_EQ(q.confirmations, 3u);
  EXPECT_EQ(q.address_version, 120u);
  EXPECT_FALSE(q.fee_rate_sat_per_kvb);
  EXPECT_EQ(q.key_file, (dir / "key.json").string()) << "relative to the config file";
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_NE(loaded->warnings[0].find("qtum.typo_key"), std::string::npos);
  EXPECT_TRUE(energo::node::validate_config(loaded->config));
  auto bad = loaded->config;
  bad.qtum.network = "bitcoin";
  EXPECT_FALSE(energo::node::validate_config(bad));
  bad = loaded->config;
  bad.qtum.rpc_cookie_file.clear();
  EXPECT_FALSE(energo::node::validate_config(bad)) << "no credentials";
  bad = loaded->config;
  bad.qtum.confirmations = 0;
  EXPECT_FALSE(energo::node::validate_config(bad));
  std::filesystem::remove_all(dir);
}

}  // namespace
