#pragma once
// Simulated network: every packet gets a seeded delay (which also reorders), may be lost or
// duplicated, and is dropped when a partition blocks its directed link at send or at delivery
// time. Endpoints are plain integers (raft node ids and client ids share one space).
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/assert.hpp"
#include "tests/consensus_sim/prng.hpp"

namespace energo::sim {

using endpoint_id = uint64_t;
using sim_time = uint64_t;  // simulated milliseconds

struct network_faults {
  uint64_t loss_per_million = 0;
  uint64_t duplicate_per_million = 0;
  sim_time delay_min_ms = 1;
  sim_time delay_max_ms = 5;
  // Now and then a packet takes much longer (reordering well past later packets).
  uint64_t long_delay_per_million = 0;
  sim_time long_delay_max_ms = 60;
};

template <class packet>
class sim_network {
 public:
  // Bounds the queue so a buggy sender cannot grow memory without limit (STYLE.md "Limits").
  static constexpr uint64_t in_flight_max = 200'000;

  struct delivery {
    endpoint_id from = 0;
    endpoint_id to = 0;
    packet body;
  };

  explicit sim_network(uint64_t seed) : rng_(seed) {}

  network_faults& faults() { return faults_; }
  const network_faults& faults() const { return faults_; }

  void send(endpoint_id from, endpoint_id to, packet body, sim_time now) {
    ++sent_;
    if (blocked(from, to)) {
      ++dropped_partition_;
      return;
    }
    if (rng_.chance(faults_.loss_per_million)) {
      ++dropped_loss_;
      return;
    }
    const bool duplicate = rng_.chance(faults_.duplicate_per_million);
    if (duplicate) {
      ++duplicated_;
      enqueue(from, to, body, now);
    }
    enqueue(from, to, std::move(body), now);
  }

  // Removes and returns every packet due at or before `now`, in (due time, send order).
  std::vector<delivery> take_due(sim_time now) {
    std::vector<delivery> out;
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
      auto node = queue_.extract(queue_.begin());
      delivery& d = node.mapped();
      if (blocked(d.from, d.to)) {
        ++dropped_partition_;
        continue;
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  // Directed link control. block(a, b) stops packets from a to b (one-way partition).
  void block(endpoint_id from, endpoint_id to) { blocked_.insert({from, to}); }
  void unblock(endpoint_id from, endpoint_id to) { blocked_.erase({from, to}); }
  void heal_all() { blocked_.clear(); }
  bool blocked(endpoint_id from, endpoint_id to) const { return blocked_.count({from, to}) != 0; }
  const std::set<std::pair<endpoint_id, endpoint_id>>& blocked_links() const { return blocked_; }

  // Drops everything in flight to or from `id` (its process died: sockets are gone).
  void drop_endpoint(endpoint_id id) {
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->second.from == id || it->second.to == id) {
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Drops everything in flight between a and b, both ways (their connection closed). Returns the
  // number of packets dropped.
  uint64_t drop_between(endpoint_id a, endpoint_id b) {
    uint64_t dropped = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      const auto& d = it->second;
      if ((d.from == a && d.to == b) || (d.from == b && d.to == a)) {
        it = queue_.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
    return dropped;
  }

  uint64_t in_flight() const { return queue_.size(); }
  uint64_t sent() const { return sent_; }
  uint64_t dropped_loss() const { return dropped_loss_; }
  uint64_t dropped_partition() const { return dropped_partition_; }
  uint64_t duplicated() const { return duplicated_; }

 private:
  void enqueue(endpoint_id from, endpoint_id to, packet body, sim_time now) {
    ENERGO_ASSERT(queue_.size() < in_flight_max, "simulated network queue over in_flight_max");
    sim_time delay = rng_.range(faults_.delay_min_ms, faults_.delay_max_ms);
    if (rng_.chance(faults_.long_delay_per_million)) delay += rng_.range(1, faults_.long_delay_max_ms);
    queue_.emplace(std::make_pair(now + delay, next_seq_++), delivery{from, to, std::move(body)});
  }

  prng rng_;
  network_faults faults_;
  std::map<std::pair<sim_time, uint64_t>, delivery> queue_;  // (due, send order) -> packet
  std::set<std::pair<endpoint_id, endpoint_id>> blocked_;
  uint64_t next_seq_ = 0;
  uint64_t sent_ = 0, dropped_loss_ = 0, dropped_partition_ = 0, duplicated_ = 0;
};

}  // namespace energo::sim
