// Golden vectors (issue 7 §4): genesis + commands → expected state roots at fixed indexes, the
// digest of every command's canonical binary encoding, and the digest of the final snapshot.
// The expectation was derived once and frozen in expected.json. A change of rule or encoding shows
// up here; it is accepted only with a bump of ledger::rules_version (ledger/version.hpp) and a
// regeneration (ENERGO_GOLDEN_WRITE=1), which refuses to overwrite a file of the same version.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "ledger/commands.hpp"
#include "ledger/ledger.hpp"
#include "ledger/version.hpp"
#include "tools/command_json.hpp"

namespace {

using namespace energo;
namespace fs = std::filesystem;

const fs::path golden_dir{ENERGO_GOLDEN_DIR};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Indexes (1-based count of commands applied) at which the root is recorded; the last command is
// always recorded as well.
bool is_checkpoint(std::size_t applied, std::size_t total) {
  return applied == 1 || applied == 10 || applied % 100 == 0 || applied == total;
}


// Replays the frozen log and describes what it produced, in the same shape as expected.json.
tools::json observe() {
  auto g = tools::read_genesis_file((golden_dir / "genesis.json").string());
  EXPECT_TRUE(g.has_value()) << "golden genesis unreadable";
  if (!g) return {};
  auto l = ledger::ledger::create(*g);
  EXPECT_TRUE(l.has_value());
  if (!l) return {};

  std::vector<std::string> lines;
  {
    std::istringstream in(read_text(golden_dir / "commands.jsonl"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
  }
  tools::json roots = tools::json::array();
  crypto::sha256_hasher encodings;
  int64_t applied_ok = 0, refused = 0;
  std::map<std::string, int64_t> refused_by_code;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto cmd = tools::command_from_line(lines[i], i + 1, g->network, tools::signature_form::signed_form);
    EXPECT_TRUE(cmd.has_value()) << "golden line " << i + 1 << " does not parse";
    if (!cmd) return {};
    const auto bytes = ledger::encode(*cmd);
    encodings.update(crypto::byte_span{bytes.data(), bytes.size()});
    auto outcome = l->verify_and_apply(*cmd);
    if (outcome) {
      ++applied_ok;
    } else {
      ++refused;
      ++refused_by_code[std::string(ledger::errc_name(outcome.error().code))];
    }
    if (is_checkpoint(i + 1, lines.size()))
      roots.push_back({{"commands", i + 1}, {"root", crypto::to_hex(l->state_root())}});
  }
  const auto snap = l->snapshot();
  tools::json doc;
  doc["format"] = "energo-golden/1";
  doc["rules_version"] = ledger::rules_version;
  doc["commands"] = lines.size();
  doc["applied"] = applied_ok;
  doc["refused"] = refused;
  doc["refused_by_code"] = refused_by_code;
  doc["encodings_sha256"] = crypto::to_hex(encodings.finish());
  doc["roots"] = roots;
  doc["snapshot_bytes"] = snap.size();
  doc["snapshot_sha256"] = crypto::to_hex(crypto::sha256(crypto::byte_span{snap.data(), snap.size()}));
  return doc;
}

TEST(golden, frozen_log_reproduces_frozen_roots_snapshot_and_encodings) {
  const fs::path expected_path = golden_dir / "expected.json";
  const tools::json now = observe();
  ASSERT_FALSE(now.is_null());

  if (const char* w = std::getenv("ENERGO_GOLDEN_WRITE"); w && std::string(w) == "1") {
    if (fs::exists(expected_path)) {
      auto old = tools::json::parse(read_text(expected_path));
      if (old.at("rules_version") == now.at("rules_version") && old != now)
        FAIL() << "refusing to overwrite golden vectors of rules_version " << now.at("rules_version")
               << " with different results: bump ledger::rules_version first";
    }
    std::ofstream(expected_path) << now.dump(2) << "\n";
    GTEST_SKIP() << "wrote " << expected_path;
  }

  ASSERT_TRUE(fs::exists(expected_path)) << "no golden vectors: run with ENERGO_GOLDEN_WRITE=1 once";
  const auto expected = tools::json::parse(read_text(expected_path));
  ASSERT_EQ(expected.at("rules_version"), now.at("rules_version"))
      << "ledger::rules_version changed: regenerate tests/golden/expected.json (ENERGO_GOLDEN_WRITE=1)";
  // Field by field first so a failure names what changed.
  EXPECT_EQ(expected.at("encodings_sha256"), now.at("encodings_sha256"))
      << "the canonical command encoding changed without a rules_version bump";
  const auto& er = expected.at("roots");
  const auto& nr = now.at("roots");
  ASSERT_EQ(er.size(), nr.size());
  for (std::size_t i = 0; i < er.size(); ++i)
    ASSERT_EQ(er[i], nr[i]) << "the state root after " << er[i].at("commands")
                            << " commands changed without a rules_version bump (first divergence)";
  EXPECT_EQ(expected.at("snapshot_sha256"), now.at("snapshot_sha256"))
      << "the snapshot encoding changed without a rules_version bump";
  EXPECT_EQ(expected, now);
}

// The check above must be able to fail: one changed command must change a recorded root.
TEST(golden, a_changed_command_changes_the_observed_roots) {
  auto g = tools::read_genesis_file((golden_dir / "genesis.json").string());
  ASSERT_TRUE(g.has_value());
  auto a = ledger::ledger::create(*g);
  auto b = ledger::ledger::create(*g);
  ASSERT_TRUE(a && b);
  std::istringstream in(read_text(golden_dir / "commands.jsonl"));
  std::size_t n = 0;
  bool diverged = false;
  for (std::string line; std::getline(in, line) && n < 200;) {
    if (line.empty()) continue;
    ++n;
    auto cmd = tools::command_from_line(line, n, g->network, tools::signature_form::signed_form);
    ASSERT_TRUE(cmd.has_value());
    (void)a->verify_and_apply(*cmd);
    if (n != 5) (void)b->verify_and_apply(*cmd);  // b skips one command
    if (a->state_root() != b->state_root()) diverged = true;
  }
  EXPECT_TRUE(diverged);
}

}  // namespace
