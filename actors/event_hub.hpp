#pragma once
// Bounded fan-out of the apply actor's events (applied index, trades, prices) to the HTTP
// gateway's Server-Sent Events streams (docs/node.md "Events").
// Concurrency: publish() is called by the apply actor only; subscribe / next / unsubscribe by
// gateway threads. One mutex guards the subscriber list and every queue; publish() holds it for
// O(subscribers) pushes and never waits for a subscriber: a subscriber whose queue is full is
// marked dropped (its stream ends) instead of slowing the apply actor.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace energo::actors {

namespace limits {
inline constexpr std::size_t event_queue_events_max = 1024;  // per subscriber; beyond: dropped
inline constexpr std::size_t event_subscribers_max = 32;     // open streams per node
}  // namespace limits

struct event {
  uint64_t id = 0;     // increasing per hub (the SSE `id:` field)
  std::string type;    // the SSE `event:` field: applied, trade, price
  std::string data;    // one line of JSON
};

class event_hub {
 public:
  struct subscriber {
    std::deque<event> queue;
    bool dropped = false;  // fell behind: the stream ends
  };
  using handle = std::shared_ptr<subscriber>;

  // Nothing when subscribers_max streams are open (the gateway answers 503).
  [[nodiscard]] std::optional<handle> subscribe(std::size_t subscribers_max = limits::event_subscribers_max) {
    std::lock_guard lock(mutex_);
    if (closed_ || subs_.size() >= subscribers_max) return std::nullopt;
    auto h = std::make_shared<subscriber>();
    subs_.push_back(h);
    return h;
  }
  void unsubscribe(const handle& h) {
    std::lock_guard lock(mutex_);
    std::erase(subs_, h);
  }
  [[nodiscard]] std::size_t subscribers() const {
    std::lock_guard lock(mutex_);
    return subs_.size();
  }

  // Returns how many subscribers were dropped by this publish (they fell behind).
  std::size_t publish(std::string type, std::string data) {
    std::size_t dropped = 0;
    {
      std::lock_guard lock(mutex_);
      if (subs_.empty()) {
        ++next_id_;
        return 0;
      }
      event e{++next_id_, std::move(type), std::move(data)};
      for (auto it = subs_.begin(); it != subs_.end();) {
        auto& s = **it;
        if (s.queue.size() >= queue_max_) {
          s.dropped = true;
          s.queue.clear();
          ++dropped;
          it = subs_.erase(it);  // no more events for it; its stream sees `dropped` and ends
          continue;
        }
        s.queue.push_back(e);
        ++it;
      }
    }
    cv_.notify_all();
    return dropped;
  }

  // Waits up to `wait` for events of `h`; empty on timeout. nullopt: the stream must end (dropped
  // or hub closed).
  [[nodiscard]] std::optional<std::vector<event>> next(const handle& h, std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait, [&] { return closed_ || h->dropped || !h->queue.empty(); });
    if (closed_ || h->dropped) return std::nullopt;
    std::vector<event> out(std::make_move_iterator(h->queue.begin()), std::make_move_iterator(h->queue.end()));
    h->queue.clear();
    return out;
  }

  // Ends every stream (node shutdown).
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  // Tests: a small queue makes a slow subscriber easy to provoke.
  void set_queue_max(std::size_t n) {
    std::lock_guard lock(mutex_);
    queue_max_ = n;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<handle> subs_;
  uint64_t next_id_ = 0;
  std::size_t queue_max_ = limits::event_queue_events_max;
  bool closed_ = false;
};

}  // namespace energo::actors
