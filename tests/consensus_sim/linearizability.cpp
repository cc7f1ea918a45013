#include "tests/consensus_sim/linearizability.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_set>

#include "common/assert.hpp"

namespace energo::sim {
namespace {

constexpr uint64_t infinite_seq = UINT64_MAX;

// Memo entry: which operations are linearized + the model state they led to. Two search paths
// reaching the same entry have the same future, so the second is pruned (Lowe).
struct memo_entry {
  std::vector<uint64_t> linearized;
  int64_t state = 0;
  bool operator==(const memo_entry& other) const = default;
};
struct memo_hash {
  size_t operator()(const memo_entry& e) const noexcept {
    uint64_t h = 0xcbf29ce484222325ULL ^ static_cast<uint64_t>(e.state);
    for (uint64_t w : e.linearized) {
      h ^= w + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      h *= 0x100000001b3ULL;
    }
    return static_cast<size_t>(h);
  }
};

// Model step: can `op` (with its observed output, if it responded) take effect in `state`?
bool model_step(const client_operation& op, int64_t state, int64_t& next_state) {
  const bool responded = op.response_seq.has_value();
  switch (op.kind) {
    case op_kind::write:
      next_state = op.input;
      return true;
    case op_kind::read:
      next_state = state;
      return !responded || op.output == state;
    case op_kind::add: {
      // Wrapping add on purpose: the model only has to agree with the simulated state machine,
      // which wraps the same way.
      next_state = static_cast<int64_t>(static_cast<uint64_t>(state) + static_cast<uint64_t>(op.input));
      return !responded || op.output == next_state;
    }
  }
  return false;
}

struct event {
  uint64_t seq = 0;
  bool is_call = false;
  size_t op = 0;      // index into the per-key operation list
  size_t match = 0;   // node index of the matching call/return
};

// Checks one key's operations. Iterative (no recursion): an explicit stack of linearized calls.
linearizability_verdict check_one_key(const std::vector<client_operation>& ops, int64_t initial_value,
                                      uint64_t steps_max, uint64_t& steps, std::string& explanation) {
  const size_t n = ops.size();
  if (n == 0) return linearizability_verdict::linearizable;
  // Nodes: 0 is the head sentinel, then 2 per operation.
  std::vector<event> events;
  events.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    events.push_back({ops[i].invoke_seq, true, i, 0});
    events.push_back({ops[i].response_seq.value_or(infinite_seq), false, i, 0});
  }
  // Returns sort before calls at the same seq cannot happen (seqs are unique), except at
  // infinity where only returns live.
  std::stable_sort(events.begin(), events.end(), [](const event& a, const event& b) {
    if (a.seq != b.seq) return a.seq < b.seq;
    return a.is_call && !b.is_call;
  });
  const size_t nodes = events.size() + 1;
  std::vector<event> node(nodes);
  for (size_t i = 0; i < events.size(); ++i) node[i + 1] = events[i];
  {
    std::vector<size_t> call_node(n, 0), return_node(n, 0);
    for (size_t i = 1; i < nodes; ++i) (node[i].is_call ? call_node : return_node)[node[i].op] = i;
    for (size_t i = 1; i < nodes; ++i)
      node[i].match = node[i].is_call ? return_node[node[i].op] : call_node[node[i].op];
  }
  std::vector<size_t> prev(nodes), next(nodes);
  constexpr size_t none = SIZE_MAX;
  for (size_t i = 0; i < nodes; ++i) {
    prev[i] = i == 0 ? none : i - 1;
    next[i] = i + 1 < nodes ? i + 1 : none;
  }
  auto unlink = [&](size_t i) {
    next[prev[i]] = next[i];
    if (next[i] != none) prev[next[i]] = prev[i];
  };
  auto relink = [&](size_t i) {
    next[prev[i]] = i;
    if (next[i] != none) prev[next[i]] = i;
  };
  auto lift = [&](size_t call) {
    unlink(call);
    unlink(node[call].match);
  };
  auto unlift = [&](size_t call) {
    relink(node[call].match);
    relink(call);
  };

  std::unordered_set<memo_entry, memo_hash> memo;
  memo_entry current{std::vector<uint64_t>((n + 63) / 64, 0), initial_value};
  struct frame {
    size_t call;
    int64_t state_before;
  };
  std::vector<frame> stack;
  stack.reserve(n);
  size_t deepest = 0;
  size_t entry = next[0];
  while (next[0] != none) {
    if (++steps > steps_max) return linearizability_verdict::budget_exceeded;
    ENERGO_ASSERT(entry != none, "linearizability search walked off the event list");
    if (node[entry].is_call) {
      const client_operation& op = ops[node[entry].op];
      int64_t next_state = 0;
      bool advanced = false;
      if (model_step(op, current.state, next_state)) {
        memo_entry candidate = current;
        candidate.linearized[node[entry].op / 64] |= uint64_t{1} << (node[entry].op % 64);
        candidate.state = next_state;
        if (memo.insert(candidate).second) {
          stack.push_back({entry, current.state});
          current = std::move(candidate);
          lift(entry);
          deepest = std::max(deepest, stack.size());
          entry = next[0];
          advanced = true;
        }
      }
      if (!advanced) entry = next[entry];
    } else {
      // A return whose call is not linearized yet: the current prefix cannot be extended; undo.
      if (stack.empty()) {
        explanation = "no linearization; operation " + describe(ops[node[entry].op]) +
                      " cannot be ordered (deepest prefix " + std::to_string(deepest) + " of " +
                      std::to_string(n) + " ops)";
        return linearizability_verdict::not_linearizable;
      }
      const frame top = stack.back();
      stack.pop_back();
      current.linearized[node[top.call].op / 64] &= ~(uint64_t{1} << (node[top.call].op % 64));
      current.state = top.state_before;
      unlift(top.call);
      entry = next[top.call];
    }
  }
  return linearizability_verdict::linearizable;
}

}  // namespace

std::string describe(const client_operation& op) {
  std::string s = "client " + std::to_string(op.client_id) + " ";
  switch (op.kind) {
    case op_kind::write: s += "write(k" + std::to_string(op.key) + ", " + std::to_string(op.input) + ")"; break;
    case op_kind::read: s += "read(k" + std::to_string(op.key) + ")"; break;
    case op_kind::add: s += "add(k" + std::to_string(op.key) + ", " + std::to_string(op.input) + ")"; break;
  }
  if (op.response_seq) {
    if (op.kind != op_kind::write) s += " -> " + std::to_string(op.output);
    s += " [t" + std::to_string(op.invoke_time) + "..t" + std::to_string(op.response_time) + "]";
  } else {
    s += " -> ? [t" + std::to_string(op.invoke_time) + "..]";
  }
  return s;
}

linearizability_result check_linearizability(const std::vector<client_operation>& history, int64_t initial_value,
                                             linearizability_limits limits) {
  // Split by key, keeping history order; drop indeterminate reads (they constrain nothing).
  std::map<uint64_t, std::vector<client_operation>> by_key;
  for (const auto& op : history) {
    ENERGO_ASSERT(!op.response_seq || *op.response_seq > op.invoke_seq, "response before invocation");
    if (op.kind == op_kind::read && !op.response_seq) continue;
    by_key[op.key].push_back(op);
  }
  linearizability_result result;
  for (const auto& [key, ops] : by_key) {
    if (ops.size() > limits.operations_per_key_max) {
      result.verdict = linearizability_verdict::budget_exceeded;
      result.key = key;
      result.explanation = "key " + std::to_string(key) + " has " + std::to_string(ops.size()) +
                           " operations, over operations_per_key_max";
      return result;
    }
    uint64_t steps = 0;
    std::string explanation;
    const auto verdict = check_one_key(ops, initial_value, limits.search_steps_max, steps, explanation);
    result.search_steps += steps;
    if (verdict != linearizability_verdict::linearizable) {
      result.verdict = verdict;
      result.key = key;
      result.explanation = "key " + std::to_string(key) + ": " +
                           (verdict == linearizability_verdict::budget_exceeded ? "search budget exceeded"
                                                                                : explanation);
      return result;
    }
  }
  return result;
}

}  // namespace energo::sim
