#pragma once
// An auditor's replay: genesis + a JSON-lines command log → the ledger's final state
// (energo-replay is a thin CLI over this; tests call it in-process). Formats in docs/commands.md.
//
// A command the ledger refuses is part of the record, not a failure of the replay: it is counted
// and reported. A line that is not a valid command is a bad input file; an invariant that breaks
// is a violation. Both stop the replay at that line.
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <string>

#include "ledger/ledger.hpp"
#include "tools/command_json.hpp"

namespace energo::tools {

struct replay_options {
  bool verify_signatures = true;   // verify() before apply(): what an auditor does
  bool check_invariants = false;   // ledger::check_invariants() after every command (O(state) each)
};

// One command's result, handed to the caller as it happens.
struct command_record {
  std::size_t index = 0;  // 0-based among commands
  std::size_t line = 0;   // 1-based line of the file
  const ledger::command* cmd = nullptr;
  const ledger::result<ledger::apply_outcome>* outcome = nullptr;
};

struct type_counts {
  int64_t applied = 0;
  int64_t refused = 0;
};

struct replay_summary {
  int64_t commands = 0;
  int64_t applied = 0;
  int64_t refused = 0;
  std::map<std::string, type_counts> by_type;          // command type name → counts (sorted: stable output)
  std::map<std::string, int64_t> refused_by_code;      // errc name → count
};

enum class replay_failure_kind : uint8_t { bad_input, invariant_violation };
struct replay_failure {
  replay_failure_kind kind = replay_failure_kind::bad_input;
  std::string message;
};

// Applies every command of `in` to `ledger` in order. `on_command` (may be empty) sees each result.
[[nodiscard]] energo::result<replay_summary, replay_failure> replay_commands(
    ledger::ledger& ledger, std::istream& in, const replay_options& options,
    const std::function<void(const command_record&)>& on_command);

// The per-command result line: {"index","line","type","ok", "outcome":{…} | "error":{"code","message"}}.
[[nodiscard]] json result_line_json(const command_record& record);

struct state_json_options {
  bool include_lists = true;  // accounts, meters and storage units; off for a summary of a large ledger
};
// The final state (docs/commands.md, "Final state"). Non-const: computing the state root flushes
// the ledger's dirty Merkle leaves.
[[nodiscard]] json state_json(ledger::ledger& ledger, const replay_summary* summary, const state_json_options& options);

}  // namespace energo::tools
