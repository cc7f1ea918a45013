#pragma once
// The client broker's submissions waiting for an answer, each with its deadline: the backstop that
// gives every submission exactly one answer even if the actors behind the broker never reply.
// Pure (the caller passes the time in), so it is unit-tested without a node.
//
// Why not CAF's request timeout: `request(dest, timeout, …)` hands every request's timeout to the
// actor clock's thread (a queued event and a wake-up), and its end (the answer cancelling it, or
// the timeout firing) is another. At thousands of submissions per second those were thread
// wake-ups per command that did nothing: on the 2-core bench VM the cluster committed
// 7,300-8,700 signed orders/s with them and 9,000-10,600/s without (bench/README.md). The broker now asks
// with no timeout and sweeps this table on one timer instead (a few times per second, only while
// something waits).
//
// Entries are kept by submission number. Every entry gets the same timeout, so numbers and
// deadlines are in the same order and a sweep stops at the first entry not yet due.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace energo::actors {

template <typename Ref>
class submission_table {
 public:
  using clock = std::chrono::steady_clock;
  struct waiting {
    Ref to;              // who asked (the connection)
    uint64_t id = 0;     // the client's request id
    clock::time_point deadline;
  };

  explicit submission_table(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  // Registers a submission asked at `now`; returns its number (for take()).
  uint64_t add(Ref to, uint64_t id, clock::time_point now) {
    const uint64_t n = next_++;
    waiting_.emplace_hint(waiting_.end(), n, waiting{std::move(to), id, now + timeout_});
    return n;
  }

  // The answer for submission `n` arrived: who to answer, or nothing if it was already answered
  // (expired by a sweep). Each submission is handed out once, by take() or by expire().
  std::optional<waiting> take(uint64_t n) {
    auto it = waiting_.find(n);
    if (it == waiting_.end()) return std::nullopt;
    waiting w = std::move(it->second);
    waiting_.erase(it);
    return w;
  }

  // Removes and returns every submission whose deadline is at or before `now`, oldest first.
  std::vector<waiting> expire(clock::time_point now) {
    std::vector<waiting> due;
    auto it = waiting_.begin();
    while (it != waiting_.end() && it->second.deadline <= now) {
      due.push_back(std::move(it->second));
      it = waiting_.erase(it);
    }
    return due;
  }

  [[nodiscard]] std::size_t size() const { return waiting_.size(); }
  [[nodiscard]] bool empty() const { return waiting_.empty(); }
  [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::chrono::milliseconds timeout_;
  uint64_t next_ = 1;
  std::map<uint64_t, waiting> waiting_;
};

}  // namespace energo::actors
