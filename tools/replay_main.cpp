// energo-replay: an auditor's replay of a community's command log (docs/commands.md).
//   energo-replay --genesis genesis.json --commands commands.jsonl [--results] [--check-invariants]
// Reads the genesis, verifies and applies every command in order, and prints the final state as
// JSON, ending with the state root that a checkpoint on Qtum would anchor.
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "tools/replay.hpp"

namespace {

// Documented in --help and docs/commands.md; scripts rely on them.
enum exit_code : int {
  exit_ok = 0,
  exit_usage = 1,
  exit_bad_input = 2,
  exit_invariant = 3,
  exit_refused_strict = 4,
  exit_output = 5,
};

constexpr const char* exit_codes_help =
    "Exit codes:\n"
    "  0  replay complete (refused commands are part of the record and do not fail it)\n"
    "  1  usage error\n"
    "  2  bad input file: unreadable, malformed JSON, an invalid command line or an invalid genesis\n"
    "  3  a ledger invariant was violated\n"
    "  4  --strict and at least one command was refused\n"
    "  5  an output file could not be written";

int run(int argc, char** argv) {
  CLI::App app{"energo-replay: replays a genesis and a JSON-lines command log through the ledger and prints the final state"};
  std::string genesis_path;
  std::string commands_path;
  std::string results_out;
  std::string snapshot_out;
  bool results = false;
  bool no_verify = false;
  bool check_invariants = false;
  bool strict = false;
  bool compact = false;
  bool summary_only = false;
  app.add_option("--genesis", genesis_path, "Genesis JSON file")->required();
  app.add_option("--commands", commands_path, "Command log: one signed JSON command per line ('-' reads stdin)")->required();
  app.add_flag("--results", results, "Print one JSON result line per command (to stdout, before the final state)");
  app.add_option("--results-out", results_out, "Write the result lines to FILE instead of stdout (implies --results)");
  app.add_flag("--no-verify", no_verify, "Skip signature verification (apply only; for trusted logs)");
  app.add_flag("--check-invariants", check_invariants, "Check every ledger invariant after every command; exit 3 on a violation");
  app.add_flag("--strict", strict, "Exit 4 if any command was refused");
  app.add_option("--snapshot-out", snapshot_out, "Write the final ledger snapshot (binary) to FILE");
  app.add_flag("--compact", compact, "Print the final state on one line");
  app.add_flag("--summary-only", summary_only, "Leave the per-account, meter and storage-unit lists out of the final state");
  app.set_version_flag("--version", "energo-replay 0.1.0");
  app.footer(exit_codes_help);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }

  auto genesis = energo::tools::read_genesis_file(genesis_path);
  if (!genesis) {
    std::cerr << "energo-replay: " << genesis_path << ": " << genesis.error().to_string() << "\n";
    return exit_bad_input;
  }
  auto ledger = energo::ledger::ledger::create(*genesis);
  if (!ledger) {
    std::cerr << "energo-replay: " << genesis_path << ": invalid genesis: " << ledger.error().message << "\n";
    return exit_bad_input;
  }

  std::ifstream commands_file;
  std::istream* commands = &std::cin;
  if (commands_path != "-") {
    if (auto checked = energo::tools::check_input_file(commands_path); !checked) {
      std::cerr << "energo-replay: " << checked.error().to_string() << "\n";
      return exit_bad_input;
    }
    commands_file.open(commands_path, std::ios::binary);
    if (!commands_file) {
      std::cerr << "energo-replay: cannot open " << commands_path << "\n";
      return exit_bad_input;
    }
    commands = &commands_file;
  }

  std::ofstream results_file;
  std::ostream* results_stream = nullptr;
  if (!results_out.empty()) {
    results_file.open(results_out, std::ios::binary | std::ios::trunc);
    if (!results_file) {
      std::cerr << "energo-replay: cannot create " << results_out << "\n";
      return exit_output;
    }
    results_stream = &results_file;
  } else if (results) {
    results_stream = &std::cout;
  }

  energo::tools::replay_options options;
  options.verify_signatures = !no_verify;
  options.check_invariants = check_invariants;
  auto summary = energo::tools::replay_commands(*ledger, *commands, options, [&](const energo::tools::command_record& r) {
    if (results_stream) *results_stream << energo::tools::dump_compact(energo::tools::result_line_json(r)) << "\n";
  });
  if (results_stream) results_stream->flush();
  if (!summary) {
    std::cerr << "energo-replay: " << (commands_path == "-" ? "stdin" : commands_path) << ": " << summary.error().message << "\n";
    return summary.error().kind == energo::tools::replay_failure_kind::invariant_violation ? exit_invariant : exit_bad_input;
  }
  if (results_file.is_open() && !results_file) {
    std::cerr << "energo-replay: cannot write " << results_out << "\n";
    return exit_output;
  }

  // The invariants are checked once at the end in any case: cheap next to the replay itself.
  if (const auto problems = ledger->check_invariants(); !problems.empty()) {
    for (const auto& p : problems) std::cerr << "energo-replay: invariant violated after the last command: " << p << "\n";
    return exit_invariant;
  }

  if (!snapshot_out.empty()) {
    const auto bytes = ledger->snapshot();
    std::ofstream out(snapshot_out, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::cerr << "energo-replay: cannot write snapshot " << snapshot_out << "\n";
      return exit_output;
    }
  }

  energo::tools::state_json_options state_options;
  state_options.include_lists = !summary_only;
  const auto state = energo::tools::state_json(*ledger, &*summary, state_options);
  std::cout << (compact ? energo::tools::dump_compact(state) : energo::tools::dump_pretty(state)) << "\n";
  std::cout.flush();
  if (!std::cout) return exit_output;

  if (strict && summary->refused > 0) {
    std::cerr << "energo-replay: --strict: " << summary->refused << " command(s) refused\n";
    return exit_refused_strict;
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Cannot happen by design (the codec and ledger return errors as values); never die silently.
    std::cerr << "energo-replay: internal error: " << e.what() << "\n";
    return exit_bad_input;
  }
}
