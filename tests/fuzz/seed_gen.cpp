// Writes the seed corpus: tests/fuzz/corpus/<target>/<name> (see README.md). Valid inputs from
// examples/community (genesis + command log, replayed through the real ledger) and from the
// fixed-key peer harness, so that every fuzzer starts past its decoder's outer checks.
// Usage (from the project root): energo-fuzz-seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "consensus/session.hpp"
#include "consensus/types.hpp"
#include "net/frame.hpp"
#include "net/qtum/rpc_client.hpp"
#include "net/qtum/tx.hpp"
#include "net/wire.hpp"
#include "storage/codec.hpp"
#include "storage/crc32c.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/peer_harness.hpp"
#include "tools/command_json.hpp"

using namespace energo;
namespace fs = std::filesystem;

namespace {

fs::path out_root;
std::size_t files_written = 0;
// Kept from the community replay for the wire and node seeds: real command bytes and a ledger.
std::vector<std::string> sample_commands;
std::string sample_ledger_snapshot;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  const auto dir = out_root / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ++files_written;
}
void put(const std::string& target, const std::string& name, const std::vector<uint8_t>& bytes) {
  put(target, name, fuzz::as_text(bytes));
}
std::string with_prefix(uint8_t prefix, std::string_view rest) {
  std::string s(1, static_cast<char>(prefix));
  s += rest;
  return s;
}
std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ledger_seeds() {
  const std::string genesis_text = read_text("examples/community/genesis.json");
  put("genesis_json", "community", genesis_text);
  auto g = tools::genesis_from_text(genesis_text);
  ENERGO_ASSERT(g.has_value(), "examples/community/genesis.json must parse");
  auto l = ledger::ledger::create(*g);
  ENERGO_ASSERT(l.has_value(), "community genesis must create a ledger");
  auto snapshot_seed = [&](const std::string& name) {
    auto snap = l->snapshot();
    snap.resize(snap.size() - 32);  // the fuzz target appends the SHA-256 itself
    put("ledger_snapshot", name, snap);
    put("order_book", name, l->book().serialize());
  };
  snapshot_seed("genesis");
  put("order_book", "empty", market::order_book{}.serialize());

  std::ifstream log("examples/community/commands.jsonl");
  std::string line;
  std::size_t n = 0;
  std::set<std::string> types_seen;
  while (std::getline(log, line)) {
    ++n;
    auto cmd = tools::command_from_line(line, n, g->network, tools::signature_form::signed_form);
    ENERGO_ASSERT(cmd.has_value(), "community command must parse");
    const std::string type(ledger::command_name(cmd->body));
    // One seed per command type (the first of each), and the first lines whatever their type.
    if (types_seen.insert(type).second || n <= 8) {
      const std::string name = type + "-" + std::to_string(n);
      put("ledger_command", name, ledger::encode(*cmd));
      if (sample_commands.size() < 4) sample_commands.push_back(std::string(fuzz::as_text(ledger::encode(*cmd))));
      put("command_json", name, with_prefix(static_cast<uint8_t>(g->network), line));
      put("command_json", name + "-unsigned",
          with_prefix(static_cast<uint8_t>(0x80 | static_cast<uint8_t>(g->network)),
                      tools::command_to_line(*cmd, g->network, tools::signature_form::unsigned_form)));
    }
    auto applied = l->verify_and_apply(*cmd);
    (void)applied;  // refused commands are part of the example too
    if (n == 40 || n == 200 || n == 600) snapshot_seed("after-" + std::to_string(n));
  }
  snapshot_seed("end");
  const auto end_snapshot = l->snapshot();
  sample_ledger_snapshot.assign(end_snapshot.begin(), end_snapshot.end());
}

// client_frame: [selector % 3][body]; peer_wire: the body alone.
void wire_seeds() {
  using req = net::client_request;
  auto request = [](const std::string& name, const req& r) { put("client_frame", "request-" + name, with_prefix(0, net::encode_client_request(r))); };
  req r;
  r.id = 7;
  r.what = req::kind::submit;
  r.command = sample_commands.at(0);
  request("submit", r);
  r = req{};
  r.id = 8;
  request("status", r);
  r.what = req::kind::account;
  r.account.address.fill(0x11);
  r.account.stale = true;
  request("account", r);
  r = req{};
  r.what = req::kind::admin;
  r.command = std::string(200, '\x05');
  request("admin", r);
  r.what = req::kind::members;
  request("members", r);
  r.what = req::kind::cluster_info;
  request("cluster-info", r);
  r = req{};
  r.id = 9;
  r.what = req::kind::query;
  r.query.name = "book";
  r.query.params_json = R"({"levels":5})";
  request("query", r);

  using res = net::client_response;
  auto response = [](const std::string& name, const res& x) { put("client_frame", "response-" + name, with_prefix(1, net::encode_client_response(x))); };
  res o;
  o.id = 7;
  o.what = res::kind::outcome;
  o.outcome = net::command_outcome{12, false, 5, "insufficient_funds", "balance too low", false, 0, 0, 1, 0, 0, 0, 0, false, 0};
  response("outcome", o);
  o = res{};
  o.what = res::kind::status;
  o.status.node_id = 1;
  o.status.name = "n1";
  o.status.role = "leader";
  o.status.state_root = std::string(32, '\x2a');
  o.status.voters = {1, 2, 3};
  o.status.cluster_id = "community";
  response("status", o);
  o = res{};
  o.what = res::kind::account;
  o.account = net::account_answer{true, 500, 1200, 3, 40, 0};
  response("account", o);
  o = res{};
  o.what = res::kind::failure;
  o.failure = net::client_failure{net::client_errc::no_leader, "no leader known", 2};
  response("failure", o);
  o = res{};
  o.what = res::kind::query;
  o.text = R"({"bids":[],"asks":[]})";
  response("query", o);
  o.what = res::kind::members;
  response("members", o);

  // The frame splitter: [selector 2][max/8][chunk][stream of frames].
  std::string stream{'\x02', '\x10', '\x03'};
  stream += net::frame_of(net::encode_client_request(req{}));
  stream += net::frame_of("abcdefgh");
  put("client_frame", "frames", stream);
  put("client_frame", "frame-too-large", std::string{'\x02', '\x01', '\x07', 0, 0, 1, 0, 'x'});

  put("peer_wire", "hello", net::encode_peer_hello(net::peer_hello{"community", 3, net::limits::wire_version}));
  consensus::message m;
  m.type = consensus::message_type::append;
  m.from = 1;
  m.to = 2;
  m.term = 4;
  m.log_term = 4;
  m.index = 10;
  m.commit = 9;
  m.entries = {consensus::entry{4, 11, consensus::entry_type::normal, sample_commands.at(0)},
               consensus::entry{4, 12, consensus::entry_type::noop, ""}};
  put("peer_wire", "append", net::encode_peer_raft(m));
  m = consensus::message{};
  m.type = consensus::message_type::snapshot_chunk;
  m.from = 1;
  m.to = 3;
  m.term = 4;
  m.snap.index = 40;
  m.snap.term = 3;
  m.snap.config.voters = {1, 2, 3};
  m.snap.config.learners = {9};
  m.snapshot_bytes = 4096;
  m.chunk_offset = 1024;
  m.chunk_data = std::string(64, '\x33');
  put("peer_wire", "snapshot-chunk", net::encode_peer_raft(m));
  m = consensus::message{};
  m.type = consensus::message_type::vote;
  m.from = 2;
  m.term = 5;
  m.force = true;
  put("peer_wire", "vote", net::encode_peer_raft(m));
}

// node_codec: [selector % 6][bytes].
void node_seeds() {
  put("node_codec", "command-batch", with_prefix(0, actors::encode_command_batch({sample_commands.begin(), sample_commands.end()})));
  actors::stored_outcome o{12, 1, net::command_outcome{12, true, 0, "", "", false, 1500, 0, 2, 0, 0, 0, 0, true, 0}};
  put("node_codec", "outcome", with_prefix(1, actors::encode_outcome(o)));

  actors::member_registry reg;
  for (uint8_t i = 1; i <= 3; ++i) {
    actors::member_record m;
    m.key.bytes.fill(i);
    m.id = actors::node_id_of_key(m.key);
    m.name = "n" + std::to_string(i);
    m.peer = "10.0.0." + std::to_string(i) + ":7000";
    m.client = "10.0.0." + std::to_string(i) + ":7001";
    m.role = i == 3 ? actors::member_role::learner : actors::member_role::voter;
    reg.members.emplace(m.id, m);
  }
  crypto::ed25519_public_key admin;
  admin.bytes.fill(0xad);
  reg.admin_nonces.emplace(admin, 4);
  const auto registry = actors::encode_registry(reg);
  put("node_codec", "registry", with_prefix(3, registry));

  actors::node_image img;
  img.applied_index = 600;
  img.ledger_bytes = sample_ledger_snapshot.substr(0, 2048);  // the image does not judge the ledger bytes
  img.outcomes.emplace_back(std::string(32, '\x01'), o);
  img.registry_bytes = registry;
  put("node_codec", "image", with_prefix(2, actors::encode_image(img)));

  actors::admin_request add;
  add.admin_key = admin;
  add.nonce = 5;
  add.op = actors::admin_op::add;
  add.node_key.bytes.fill(4);
  add.name = "n4";
  add.peer = "10.0.0.4:7000";
  add.client = "10.0.0.4:7001";
  put("node_codec", "admin-add", with_prefix(4, actors::encode_admin_request(add)));
  actors::admin_request remove = add;
  remove.op = actors::admin_op::remove;
  remove.node = 42;
  put("node_codec", "admin-remove", with_prefix(4, actors::encode_admin_request(remove)));
  put("node_codec", "tick", with_prefix(5, actors::encode_tick_entry(1'700'000'000'000)));
}

// qtum_rpc: [selector: bit 0 = raw transaction][status index (0 = 200)][body].
void qtum_seeds() {
  auto reply = [](const std::string& name, uint8_t status, const std::string& body) {
    put("qtum_rpc", name, std::string{'\x00', static_cast<char>(status)} + body);
  };
  const std::string hash = std::string(64, 'a');
  const std::string txid = std::string(63, '0') + "1";
  reply("block-count", 0, R"({"result":12345,"error":null,"id":1})");
  reply("block-hash", 0, R"({"result":")" + hash + R"(","error":null,"id":2})");
  reply("block", 0, R"({"result":{"hash":")" + hash + R"(","height":7,"previousblockhash":")" + std::string(64, 'b') +
                        R"(","tx":[")" + txid + R"(",")" + std::string(64, 'c') + R"("]},"error":null,"id":3})");
  reply("mempool-accept", 0, R"({"result":[{"txid":")" + txid + R"(","allowed":false,"reject-reason":"txn-already-known"}],"error":null,"id":4})");
  reply("scan", 0, R"({"result":{"success":true,"height":100,"unspents":[{"txid":")" + txid +
                       R"(","vout":1,"scriptPubKey":"76a914000000000000000000000000000000000000000088ac","amount":12.5,"coinbase":false,"height":90}],"total_amount":12.5},"error":null,"id":5})");
  reply("rpc-error", 1, R"({"result":null,"error":{"code":-28,"message":"Loading block index..."},"id":6})");
  reply("http-401", 3, "");
  reply("http-503", 5, "Work queue depth exceeded");

  // A signed-looking legacy transaction: one input, an OP_RETURN and a P2PKH output.
  qtum::transaction tx;
  tx.version = 2;
  qtum::tx_input in;
  in.prevout.txid.fill(0x42);
  in.prevout.index = 1;
  in.script_sig = qtum::bytes(107, 0x30);
  tx.inputs.push_back(in);
  tx.outputs.push_back(qtum::tx_output{0, qtum::bytes{0x6a, 0x4c, 0x04, 'E', 'G', 'C', 'P'}});
  tx.outputs.push_back(qtum::tx_output{5'000'000, qtum::bytes(25, 0x76)});
  const auto raw = qtum::encode(tx);
  reply("raw-transaction", 0, R"({"result":")" + crypto::to_hex(raw) + R"(","error":null,"id":7})");
  put("qtum_rpc", "tx-legacy", with_prefix(1, std::string(1, '\0') + std::string(fuzz::as_text(raw))));
  tx.inputs[0].witness = {qtum::bytes(72, 0x30), qtum::bytes(33, 0x02)};
  const auto segwit = qtum::encode(tx);
  put("qtum_rpc", "tx-witness", with_prefix(1, std::string(1, '\0') + std::string(fuzz::as_text(segwit))));
}

void net_seeds() {
  using net::noise::role;
  // frame: [max selector][chunk][stream]
  std::vector<uint8_t> stream{0x10, 0x03};
  for (int i = 1; i <= 3; ++i) net::append_frame(stream, std::vector<uint8_t>(static_cast<std::size_t>(i * 5), 0x41));
  put("frame", "three-frames", stream);
  put("frame", "oversize", std::vector<uint8_t>{0x01, 0x07, 0, 0, 0x40, 0, 1, 2});

  // peer_channel mode 0: the honest message 1 to the local responder.
  {
    auto remote = net::peer_channel::create(fuzz::peer::remote_config(role::initiator));
    ENERGO_ASSERT(remote.has_value(), "harness");
    std::vector<uint8_t> in{0, 7};
    const auto out = remote->take_output();
    in.insert(in.end(), out.begin(), out.end());
    put("peer_channel", "responder-msg1", in);
  }
  // mode 1: the honest message 2 to the local initiator.
  {
    auto local = net::peer_channel::create(fuzz::peer::local_config(role::initiator));
    auto remote = net::peer_channel::create(fuzz::peer::remote_config(role::responder));
    std::vector<std::vector<uint8_t>> msgs;
    ENERGO_ASSERT(remote->on_bytes(local->take_output(), msgs).has_value(), "harness msg1");
    std::vector<uint8_t> in{1, 0};
    const auto out = remote->take_output();
    in.insert(in.end(), out.begin(), out.end());
    put("peer_channel", "initiator-msg2", in);
  }
  // modes 2 and 3: the honest proof payload, then an arbitrary frame.
  for (const role remote_role : {role::initiator, role::responder}) {
    const bool remote_initiates = remote_role == role::initiator;
    auto local = net::peer_channel::create(fuzz::peer::local_config(remote_initiates ? role::responder : role::initiator));
    auto remote = fuzz::peer::remote_noise(remote_role);
    std::vector<std::vector<uint8_t>> msgs;
    if (remote_initiates) {
      auto m1 = remote.write_message({});
      ENERGO_ASSERT(local->on_bytes(net::encode_frame(*m1), msgs).has_value(), "harness msg1");
    }
    auto read = remote.read_message(fuzz::peer::unframe(local->take_output()));
    ENERGO_ASSERT(read.has_value(), "harness read");
    std::vector<uint8_t> proof;
    auto m = remote.write_message_with([&](const net::noise::hash32& h) {
      proof = fuzz::peer::honest_proof(remote_role, h);
      return proof;
    });
    ENERGO_ASSERT(m.has_value(), "harness proof message");
    // The seed must take the fuzzer past the proof check: the local side gets established.
    ENERGO_ASSERT(local->on_bytes(net::encode_frame(*m), msgs).has_value() && local->established(),
                  "the honest proof must establish the channel");
    std::vector<uint8_t> in{static_cast<uint8_t>(remote_initiates ? 2 : 3), 0, static_cast<uint8_t>(proof.size())};
    in.insert(in.end(), proof.begin(), proof.end());
    net::append_frame(in, std::vector<uint8_t>(40, 0x5a));
    put("peer_channel", remote_initiates ? "responder-proof" : "initiator-proof", in);
  }
}

void raft_seeds() {
  namespace codec = storage::codec;
  storage::log_record rec{7, 42, 1, "payload"};
  const auto key = codec::log_key(3, 42);
  put("raft_storage", "log-entry", with_prefix(0, codec::encode_log_value(key, rec)));
  put("raft_storage", "log-entry-keyed", with_prefix(1, std::string(1, static_cast<char>(key.size())) + key +
                                                            codec::encode_log_value(key, rec)));
  const auto hs_key = codec::tagged_key(3, codec::tag_hard_state);
  put("raft_storage", "hard-state", with_prefix(2, codec::seal(hs_key, codec::encode_hard_state({5, 2, 40}))));
  put("raft_storage", "index-term", with_prefix(3, codec::encode_index_term({40, 5})));
  codec::snapshot_meta_body meta{{40, 5, {{1, 2, 3}, {4}, {}}, 1000}, 1, 0xabcd};
  const auto meta_key = codec::tagged_key(3, codec::tag_snapshot_meta);
  put("raft_storage", "snapshot-meta", with_prefix(4, codec::seal(meta_key, codec::encode_snapshot_meta(meta))));
  // With bit 7 the target appends the CRC itself: the body alone.
  put("raft_storage", "snapshot-meta-body", with_prefix(0x84, codec::encode_snapshot_meta(meta)));

  consensus::membership m;
  m.voters = {1, 2, 3};
  m.learners = {9};
  put("raft_payloads", "membership", with_prefix(0, consensus::encode_membership(m)));
  put("raft_payloads", "session-payload", with_prefix(1, consensus::encode_session_payload(5, 3, "cmd")));
  // The session table's layout written out (session.hpp), so that the seeds do not depend on
  // how sessions are opened: version 1, count, then per session id, last sequence, last index,
  // response length and bytes; decode() must accept it.
  std::string table(1, '\x01');
  auto le64 = [&](uint64_t v) { storage::codec::put_le64(table, v); };
  le64(3);
  for (uint64_t c = 1; c <= 3; ++c) {
    const std::string response = "ok" + std::to_string(c);
    le64(c * 10);
    le64(1);
    le64(c * 10);
    le64(response.size());
    table += response;
  }
  ENERGO_ASSERT(consensus::session_table::decode(table).has_value(), "session table seed must decode");
  put("raft_payloads", "session-table", with_prefix(2, table));
  put("raft_payloads", "session-table-small", with_prefix(3, table));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: energo-fuzz-seeds <corpus dir>   (run from the project root)\n";
    return 2;
  }
  out_root = argv[1];
  ledger_seeds();
  net_seeds();
  raft_seeds();
  wire_seeds();
  node_seeds();
  qtum_seeds();
  std::cout << "energo-fuzz-seeds: wrote " << files_written << " files under " << out_root << "\n";
  return 0;
}
