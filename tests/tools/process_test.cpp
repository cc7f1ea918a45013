// The tools as real processes: exit codes, output that parses, and the example generator
// reproducing the committed example byte for byte (so examples/community never drifts).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "test_support.hpp"
#include "tools/replay.hpp"

namespace energo::tools {
namespace {

using namespace test;

struct process_result {
  int exit_code = -1;
  std::string out;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a command line through /bin/sh, capturing stdout (stderr goes to `stderr_file` if given).
process_result run(const std::string& command_line) {
  process_result r;
  FILE* pipe = ::popen(command_line.c_str(), "r");
  if (!pipe) return r;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

const std::string replay_bin = ENERGO_REPLAY_BIN;
const std::string example_gen_bin = ENERGO_EXAMPLE_GEN_BIN;
const std::string keys_bin = ENERGO_KEYS_BIN;
const std::string genesis_arg = " --genesis " + shell_quote((example_dir / "genesis.json").string());
const std::string commands_arg = " --commands " + shell_quote((example_dir / "commands.jsonl").string());

std::string in_process_root() {
  auto g = read_genesis_file((example_dir / "genesis.json").string());
  auto l = ledger::ledger::create(*g);
  std::ifstream in(example_dir / "commands.jsonl", std::ios::binary);
  auto s = replay_commands(*l, in, {}, {});
  EXPECT_TRUE(s.has_value());
  return crypto::to_hex(l->state_root());
}

TEST(ReplayProcess, ReplaysTheExampleAndPrintsParsableStateWithTheRoot) {
  auto r = run(shell_quote(replay_bin) + genesis_arg + commands_arg + " --check-invariants 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
  auto state = parse_json(r.out, genesis_bytes_max);
  ASSERT_TRUE(state.has_value()) << state.error().to_string();
  ASSERT_TRUE(state->contains("state_root"));
  EXPECT_EQ((*state)["state_root"], in_process_root()) << "the binary and the library agree";
  EXPECT_EQ((*state)["supply"]["tsl_total_units"], ledger::tsl_supply_units);
  EXPECT_EQ((*state)["supply"]["watt_total_wh"].get<int64_t>(),
            (*state)["supply"]["watt_minted_wh"].get<int64_t>() - (*state)["supply"]["watt_burned_wh"].get<int64_t>());
  EXPECT_EQ((*state)["replay"]["refused"], 1);
  EXPECT_EQ((*state)["accounts"].size(), 9u);
}

TEST(ReplayProcess, ResultLinesThenStateAndStrictFailsOnTheRefusedCommand) {
  temp_dir dir("replay");
  const auto results = (dir.path() / "results.jsonl").string();
  auto r = run(shell_quote(replay_bin) + genesis_arg + commands_arg + " --compact --results-out " + shell_quote(results) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  const auto lines = read_file(results);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), example_command_count());
  EXPECT_NE(lines.find("\"ok\":false"), std::string::npos);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "--compact prints one line";

  auto inline_results = run(shell_quote(replay_bin) + genesis_arg + commands_arg + " --results --compact 2>/dev/null");
  ASSERT_EQ(inline_results.exit_code, 0);
  EXPECT_EQ(std::count(inline_results.out.begin(), inline_results.out.end(), '\n'), example_command_count() + 1);

  EXPECT_EQ(run(shell_quote(replay_bin) + genesis_arg + commands_arg + " --strict >/dev/null 2>&1").exit_code, 4);
}

TEST(ReplayProcess, ExitCodesForUsageBadInputAndSnapshot) {
  temp_dir dir("exit");
  EXPECT_EQ(run(shell_quote(replay_bin) + " >/dev/null 2>&1").exit_code, 1) << "missing required options";
  EXPECT_EQ(run(shell_quote(replay_bin) + " --bogus >/dev/null 2>&1").exit_code, 1);
  EXPECT_EQ(run(shell_quote(replay_bin) + " --help >/dev/null 2>&1").exit_code, 0);
  EXPECT_EQ(run(shell_quote(replay_bin) + genesis_arg + " --commands /nonexistent >/dev/null 2>&1").exit_code, 2);

  // A directory opens as a stream on Linux and then fails to read: a clear error, exit 2.
  auto as_dir = run(shell_quote(replay_bin) + genesis_arg + " --commands " + shell_quote(dir.path().string()) + " 2>&1 >/dev/null");
  EXPECT_EQ(as_dir.exit_code, 2) << as_dir.out;
  EXPECT_NE(as_dir.out.find("is a directory"), std::string::npos) << as_dir.out;
  EXPECT_EQ(as_dir.out.find("internal error"), std::string::npos) << as_dir.out;
  auto genesis_dir = run(shell_quote(replay_bin) + " --genesis " + shell_quote(dir.path().string()) + commands_arg + " 2>&1 >/dev/null");
  EXPECT_EQ(genesis_dir.exit_code, 2) << genesis_dir.out;
  EXPECT_NE(genesis_dir.out.find("is a directory"), std::string::npos) << genesis_dir.out;

  const auto bad = (dir.path() / "bad.jsonl").string();
  std::ofstream(bad) << "{\"type\":\"tick\",\"time_ms\":1718928900000}\n{\"type\":\"tick\",\"time_ms\":\"soon\"}\n";
  auto r = run(shell_quote(replay_bin) + genesis_arg + " --commands " + shell_quote(bad) + " 2>&1 >/dev/null");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("line 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time_ms"), std::string::npos) << r.out;

  const auto bad_genesis = (dir.path() / "genesis.json").string();
  std::ofstream(bad_genesis) << "{\"community_id\": 5}";
  EXPECT_EQ(run(shell_quote(replay_bin) + " --genesis " + shell_quote(bad_genesis) + commands_arg + " >/dev/null 2>&1").exit_code, 2);

  const auto snapshot = (dir.path() / "ledger.snap").string();
  ASSERT_EQ(run(shell_quote(replay_bin) + genesis_arg + commands_arg + " --summary-only --snapshot-out " + shell_quote(snapshot) +
                " >/dev/null 2>&1")
                .exit_code,
            0);
  const auto bytes = read_file(snapshot);
  auto restored = ledger::ledger::restore(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(restored.has_value()) << restored.error().message;
  EXPECT_EQ(crypto::to_hex(restored->state_root()), in_process_root());
}

TEST(ExampleGen, RegeneratesTheCommittedExampleByteForByte) {
  temp_dir dir("gen");
  auto r = run(shell_quote(example_gen_bin) + " --out " + shell_quote(dir.path().string()) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  std::vector<std::filesystem::path> files = {"genesis.json", "commands.jsonl"};
  for (const auto& entry : std::filesystem::directory_iterator(example_dir / "keys")) files.push_back("keys" / entry.path().filename());
  std::size_t generated_keys = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "keys")) {
    (void)entry;
    ++generated_keys;
  }
  EXPECT_EQ(files.size(), 2 + generated_keys) << "the committed keys/ and the generated ones differ in number";
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    ASSERT_TRUE(std::filesystem::exists(dir.path() / f)) << "not generated";
    EXPECT_TRUE(read_file(dir.path() / f) == read_file(example_dir / f))
        << "examples/community drifted from energo-example-gen: rerun it and commit the result";
  }
}

TEST(KeysProcess, SignsStdinWithTheKeyFileAndRefusesTheWrongKeyType) {
  temp_dir dir("keys");
  const auto key = (example_dir / "keys" / "meter-oak.json").string();
  const auto unsigned_path = (dir.path() / "unsigned.jsonl").string();
  std::ofstream(unsigned_path) << R"({"type":"meter_reading","sequence":500,"timestamp_ms":1719014400000,"export_wh_total":1,"import_wh_total":2})"
                               << "\n{\"type\":\"tick\",\"time_ms\":1719014400000}\n";
  auto r = run(shell_quote(keys_bin) + " sign --key " + shell_quote(key) + genesis_arg + " < " + shell_quote(unsigned_path) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  auto g = read_genesis_file((example_dir / "genesis.json").string());
  const auto first = r.out.substr(0, r.out.find('\n'));
  auto cmd = command_from_line(first, 1, g->network, signature_form::signed_form);
  ASSERT_TRUE(cmd.has_value()) << cmd.error().to_string() << "\n" << r.out;
  EXPECT_TRUE(ledger::verify(*cmd, g->hash()).has_value()) << "energo-keys signs what energo-replay verifies";
  EXPECT_NE(r.out.find("{\"type\":\"tick\",\"time_ms\":1719014400000}\n"), std::string::npos) << "ticks pass through unsigned";

  const auto account_key = (example_dir / "keys" / "account-oak.json").string();
  EXPECT_EQ(run(shell_quote(keys_bin) + " sign --key " + shell_quote(account_key) + genesis_arg + " < " + shell_quote(unsigned_path) +
                " >/dev/null 2>&1")
                .exit_code,
            2)
      << "a secp256k1 account key cannot sign a meter reading";

  auto address = run(shell_quote(keys_bin) + " address --key " + shell_quote(account_key) + " 2>/dev/null");
  ASSERT_EQ(address.exit_code, 0);
  EXPECT_EQ(address.out[0], 'q');
}

}  // namespace
}  // namespace energo::tools
