// The simulator's verdicts are only as good as its linearizability checker, so the checker is
// tested on its own: hand-written histories with a known answer, and generated histories that
// are linearizable by construction (and stop being so after a targeted corruption).
#include "tests/consensus_sim/linearizability.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "tests/consensus_sim/prng.hpp"

namespace energo::sim {
namespace {

struct history_builder {
  std::vector<client_operation> ops;
  uint64_t seq = 0;
  size_t invoke(uint64_t client, op_kind kind, int64_t input = 0, uint64_t key = 0) {
    client_operation op;
    op.client_id = client;
    op.kind = kind;
    op.input = input;
    op.key = key;
    op.invoke_seq = ++seq;
    ops.push_back(op);
    return ops.size() - 1;
  }
  void respond(size_t i, int64_t output = 0) {
    ops[i].response_seq = ++seq;
    ops[i].output = output;
  }
};

linearizability_verdict verdict_of(const history_builder& h) { return check_linearizability(h.ops).verdict; }

TEST(linearizability, sequential_write_then_read_is_linearizable) {
  history_builder h;
  h.respond(h.invoke(1, op_kind::write, 5));
  h.respond(h.invoke(2, op_kind::read), 5);
  EXPECT_EQ(verdict_of(h), linearizability_verdict::linearizable);
}

TEST(linearizability, stale_read_after_completed_write_is_rejected) {
  history_builder h;
  h.respond(h.invoke(1, op_kind::write, 5));
  h.respond(h.invoke(2, op_kind::read), 0);  // the write finished before the read began
  const auto r = check_linearizability(h.ops);
  EXPECT_EQ(r.verdict, linearizability_verdict::not_linearizable);
  EXPECT_FALSE(r.explanation.empty());
}

TEST(linearizability, read_concurrent_with_write_may_see_either_value) {
  for (int64_t seen : {0, 5}) {
    history_builder h;
    const size_t w = h.invoke(1, op_kind::write, 5);
    const size_t r = h.invoke(2, op_kind::read);
    h.respond(r, seen);
    h.respond(w);
    EXPECT_EQ(verdict_of(h), linearizability_verdict::linearizable) << "seen " << seen;
  }
}

TEST(linearizability, reads_must_not_go_back_in_time) {
  // Two sequential reads concurrent with one write: new value then old value is impossible.
  history_builder h;
  const size_t w = h.invoke(1, op_kind::write, 5);
  h.respond(h.invoke(2, op_kind::read), 5);
  h.respond(h.invoke(2, op_kind::read), 0);
  h.respond(w);
  EXPECT_EQ(verdict_of(h), linearizability_verdict::not_linearizable);
}

TEST(linearizability, indeterminate_write_may_take_effect_late_or_never) {
  {
    history_builder h;
    h.invoke(1, op_kind::write, 7);  // never acknowledged
    h.respond(h.invoke(2, op_kind::read), 0);
    h.respond(h.invoke(2, op_kind::read), 7);
    EXPECT_EQ(verdict_of(h), linearizability_verdict::linearizable);
  }
  {
    history_builder h;
    h.invoke(1, op_kind::write, 7);
    h.respond(h.invoke(2, op_kind::read), 0);
    EXPECT_EQ(verdict_of(h), linearizability_verdict::linearizable);
  }
  {
    // ...but once seen it cannot be unseen.
    history_builder h;
    h.invoke(1, op_kind::write, 7);
    h.respond(h.invoke(2, op_kind::read), 7);
    h.respond(h.invoke(2, op_kind::read), 0);
    EXPECT_EQ(verdict_of(h), linearizability_verdict::not_linearizable);
  }
}

TEST(linearizability, read_of_a_value_never_written_is_rejected) {
  history_builder h;
  h.respond(h.invoke(1, op_kind::write, 1));
  h.respond(h.invoke(2, op_kind::read), 2);
  EXPECT_EQ(verdict_of(h), linearizability_verdict::not_linearizable);
}

TEST(linearizability, counter_applied_twice_is_rejected) {
  // A retried add applied twice shows up as a gap in the returned values.
  history_builder h;
  h.respond(h.invoke(1, op_kind::add, 1), 2);  // as if applied twice (0 -> 1 -> 2)
  EXPECT_EQ(verdict_of(h), linearizability_verdict::not_linearizable);
  history_builder g;
  const size_t a = g.invoke(1, op_kind::add, 1);
  const size_t b = g.invoke(2, op_kind::add, 1);
  g.respond(b, 1);
  g.respond(a, 2);
  EXPECT_EQ(verdict_of(g), linearizability_verdict::linearizable);
}

TEST(linearizability, keys_are_checked_independently) {
  history_builder h;
  h.respond(h.invoke(1, op_kind::write, 5, /*key=*/1));
  h.respond(h.invoke(2, op_kind::read, 0, /*key=*/2), 0);  // other key: still 0
  EXPECT_EQ(verdict_of(h), linearizability_verdict::linearizable);
  h.respond(h.invoke(2, op_kind::read, 0, /*key=*/1), 0);  // same key: stale
  const auto r = check_linearizability(h.ops);
  EXPECT_EQ(r.verdict, linearizability_verdict::not_linearizable);
  EXPECT_EQ(r.key, 1u);
}

TEST(linearizability, budget_exhaustion_is_reported_not_passed) {
  history_builder h;
  // Many overlapping indeterminate writes, then an impossible read: a large search space.
  for (int i = 0; i < 40; ++i) h.invoke(100 + i, op_kind::write, i + 1);
  h.respond(h.invoke(1, op_kind::read), 999);
  linearizability_limits limits;
  limits.search_steps_max = 1000;
  EXPECT_NE(check_linearizability(h.ops, 0, limits).verdict, linearizability_verdict::linearizable);
}

// Generates a concurrent history that is linearizable by construction: each operation gets a
// linearization point strictly inside [invoke, response], and outputs come from applying the
// operations in linearization-point order.
std::vector<client_operation> generated_history(uint64_t seed, size_t clients, size_t ops_per_client) {
  prng rng(seed);
  struct timed {
    client_operation op;
    uint64_t invoke_t, point_t, response_t;
    bool responds;
  };
  std::vector<timed> all;
  for (size_t c = 0; c < clients; ++c) {
    uint64_t t = rng.range(0, 20);
    for (size_t i = 0; i < ops_per_client; ++i) {
      timed x{};
      x.op.client_id = c + 1;
      x.op.key = rng.below(2);
      x.op.kind = static_cast<op_kind>(rng.below(3));
      x.op.input = x.op.kind == op_kind::add ? static_cast<int64_t>(rng.range(1, 3))
                                             : static_cast<int64_t>(c * 1000 + i + 1);
      x.invoke_t = t * 4 + 0;  // times are multiples of 4 per client step; point in between
      x.point_t = (t + rng.range(0, 5)) * 4 + 1;
      x.response_t = x.point_t + rng.range(0, 5) * 4 + 1;
      x.responds = !rng.chance(100'000);
      t = x.response_t / 4 + 1;
      if (!x.responds) {
        // The client gives up: the effect may or may not happen; model "may": 50/50.
        if (rng.chance(500'000)) x.point_t = UINT64_MAX;
      }
      all.push_back(x);
    }
  }
  // Apply in linearization-point order.
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return all[a].point_t < all[b].point_t; });
  int64_t state[2] = {0, 0};
  for (size_t i : order) {
    auto& x = all[i];
    if (x.point_t == UINT64_MAX) continue;
    auto& s = state[x.op.key];
    if (x.op.kind == op_kind::write) s = x.op.input;
    if (x.op.kind == op_kind::add) s += x.op.input;
    x.op.output = s;
  }
  // Assign global event sequence numbers from times (ties broken by index; distinct times for
  // invoke/point/response of one op keep the real-time order sound).
  struct ev {
    uint64_t t;
    size_t i;
    bool is_invoke;
  };
  std::vector<ev> evs;
  for (size_t i = 0; i < all.size(); ++i) {
    evs.push_back({all[i].invoke_t, i, true});
    if (all[i].responds) evs.push_back({all[i].response_t, i, false});
  }
  std::stable_sort(evs.begin(), evs.end(), [](const ev& a, const ev& b) { return a.t < b.t; });
  uint64_t seq = 0;
  std::vector<client_operation> out(all.size());
  for (size_t i = 0; i < all.size(); ++i) out[i] = all[i].op;
  for (const auto& e : evs) {
    if (e.is_invoke) out[e.i].invoke_seq = ++seq; else out[e.i].response_seq = ++seq;
  }
  return out;
}

TEST(linearizability, generated_linearizable_histories_pass_and_corrupted_ones_fail) {
  const uint64_t seeds = 300;
  uint64_t corrupted_checked = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    auto history = generated_history(seed, 4, 12);
    const auto r = check_linearizability(history);
    ASSERT_EQ(r.verdict, linearizability_verdict::linearizable) << "seed " << seed << ": " << r.explanation;
    // Corrupt one responded read to a value nobody ever wrote: must be rejected.
    for (auto& op : history) {
      if (op.kind == op_kind::read && op.response_seq) {
        op.output = -12345;
        ASSERT_EQ(check_linearizability(history).verdict, linearizability_verdict::not_linearizable)
            << "seed " << seed;
        ++corrupted_checked;
        break;
      }
    }
  }
  std::printf("linearizability: %llu generated histories, %llu corrupted\n",
              static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(corrupted_checked));
  EXPECT_GT(corrupted_checked, seeds / 2);
}

}  // namespace
}  // namespace energo::sim
