// Writes the seed corpus: tests/fuzz/corpus/<target>/<name> (see README.md). Valid inputs from
// examples/community (genesis + command log, replayed through the real ledger) and from the
// fixed-key peer harness, so that every fuzzer starts past its decoder's outer checks.
// Usage (from the project root): energo-fuzz-seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "consensus/session.hpp"
#include "consensus/types.hpp"
#include "net/frame.hpp"
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
  std::cout << "energo-fuzz-seeds: wrote " << files_written << " files under " << out_root << "\n";
  return 0;
}
