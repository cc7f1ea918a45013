#pragma once
// The leader's tick source (docs/node.md "Clock"): which ledger time the clock actor proposes next.
// Pure (the caller passes the clocks in), so it is unit-tested without a node.
//
// speedup 1 (production): target = the wall clock, as before — ledger time follows real time.
// speedup N > 1 (demo and test communities only): target = anchor + N × (steady elapsed since the
// anchor). The anchor is (ledger time, steady time) when this node's clock first saw itself lead;
// losing leadership drops it, so a new leader continues from the ledger time it finds instead of
// jumping. Either way a tick is proposed only when the target is ahead of the ledger time
// (monotonic: the ledger refuses a time that goes back) and it never advances ledger time by more
// than step_ms_max (a stalled leader catches up in bounded steps).
#include <algorithm>
#include <cstdint>
#include <optional>

namespace energo::actors {

namespace limits {
inline constexpr int64_t clock_speedup_max = 100'000;  // > a day per second; beyond is no demo
}  // namespace limits

class tick_source {
 public:
  tick_source(int64_t speedup, int64_t step_ms_max) : speedup_(speedup), step_ms_max_(step_ms_max) {}

  // The node is not (or no longer) leader: the next leadership starts a new anchor.
  void lost_leadership() { anchor_.reset(); }

  // The time to propose now, or nothing. `wall_ms`: system clock (ms since the Unix epoch);
  // `steady_ms`: a monotonic clock; `ledger_ms`: the applied ledger time.
  [[nodiscard]] std::optional<int64_t> next(int64_t wall_ms, int64_t steady_ms, int64_t ledger_ms) {
    int64_t target = wall_ms;
    if (speedup_ > 1) {
      if (!anchor_) anchor_ = anchor{ledger_ms, steady_ms};
      const int64_t elapsed = std::max<int64_t>(0, steady_ms - anchor_->steady_ms);
      // Saturate instead of overflowing: elapsed × speedup beyond int64 means "far ahead".
      const int64_t room = INT64_MAX - anchor_->ledger_ms;
      target = elapsed > room / speedup_ ? INT64_MAX : anchor_->ledger_ms + elapsed * speedup_;
    }
    if (target <= ledger_ms) return std::nullopt;
    const int64_t step = std::min(target - ledger_ms, step_ms_max_);
    return ledger_ms + step;
  }

  [[nodiscard]] int64_t speedup() const { return speedup_; }

 private:
  struct anchor {
    int64_t ledger_ms = 0;
    int64_t steady_ms = 0;
  };
  int64_t speedup_;
  int64_t step_ms_max_;
  std::optional<anchor> anchor_;
};

}  // namespace energo::actors
