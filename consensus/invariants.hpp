#pragma once
// Internal-consistency checker for one raft_node (in the style of LogCabin's Invariants).
// raft_node runs it after every tick/step/propose/advance when ENERGO_INVARIANTS_ENABLED and
// keeps the violations (raft_node::invariant_violations()); tests assert there are none.
// It reads the node's private state and never changes it.
#include <cstdint>
#include <string>
#include <vector>

#include "consensus/types.hpp"

namespace energo::consensus {

class raft_node;

inline constexpr uint64_t invariant_violations_max = 64;

// What the checker remembers between calls to check monotonic quantities.
struct invariant_history {
  bool seen = false;
  term_t term = 0;
  index_t commit = 0;
  index_t applied = 0;
  index_t snapshot_index = 0;
  node_id vote = no_node;  // vote in `term`: must not change within a term once cast
};

// Returns one human-readable line per violated invariant (empty = consistent).
std::vector<std::string> check_invariants(const raft_node& node, invariant_history& history);

}  // namespace energo::consensus
