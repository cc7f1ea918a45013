#pragma once
// Linearizability checker for the simulator's client history (Wing & Gong search with Lowe's
// memoisation, as in Knossos/Porcupine), written for a keyed register/counter model:
//   write(key, v)      -> ok          state[key] = v
//   read(key)          -> v           requires state[key] == v
//   add(key, d)        -> v           state[key] += d, returns the new value
// Keys are independent, so the history is split per key and each part is searched alone
// (P-compositionality: a history is linearizable iff each per-key sub-history is).
//
// Operations whose response never arrived (client gave up / run ended) are "indeterminate": they
// may have taken effect at any point after their invocation, or never. Indeterminate reads
// constrain nothing and are dropped; indeterminate writes/adds get a response at +infinity.
//
// Real-time order uses a global event sequence number (the simulator is one thread, so every
// invocation and response has a strict position), not the coarse simulated clock.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace energo::sim {

enum class op_kind : uint8_t { write, read, add };

struct client_operation {
  uint64_t client_id = 0;
  uint64_t key = 0;
  op_kind kind = op_kind::write;
  int64_t input = 0;   // write: value; add: delta; read: unused
  int64_t output = 0;  // read: observed value; add: value after the add; only if responded
  uint64_t invoke_seq = 0;
  std::optional<uint64_t> response_seq;  // nullopt: indeterminate
  uint64_t invoke_time = 0;              // simulated time, for messages only
  uint64_t response_time = 0;
};

enum class linearizability_verdict : uint8_t { linearizable, not_linearizable, budget_exceeded };

struct linearizability_result {
  linearizability_verdict verdict = linearizability_verdict::linearizable;
  uint64_t key = 0;              // the first key that failed or ran out of budget
  uint64_t search_steps = 0;     // total over all keys
  std::string explanation;       // human-readable, bounded length
};

struct linearizability_limits {
  // Search steps per key before the checker gives up with budget_exceeded (which the simulator
  // counts and reports, never treats as a pass or a fail).
  uint64_t search_steps_max = 2'000'000;
  // Operations per key in one search; the memo key is a bitset over them.
  uint64_t operations_per_key_max = 4096;
};

[[nodiscard]] linearizability_result check_linearizability(const std::vector<client_operation>& history,
                                                           int64_t initial_value = 0,
                                                           linearizability_limits limits = {});

[[nodiscard]] std::string describe(const client_operation& op);

}  // namespace energo::sim
