#pragma once
// The outcome cache as the apply actor's durable points write it: a copy of the cache taken at the
// capture, and the difference against what the last durable point wrote, computed later by the
// durable writer's thread. Pure (no actor, no store), so it is unit-tested against a model of the
// stored keys (tests/node/outcome_shadow_test.cpp).
//
// Why here and not at the capture: the difference is two lookups per cached entry and an encoding
// per changed one - 15-90 ms of the apply thread per durable point on the loaded EPYC bench VM,
// during which no client of that node is answered. The copy the capture makes instead is one
// assignment per entry into strings that keep their buffers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/state_codec.hpp"
#include "storage/records.hpp"

namespace energo::actors {

struct outcome_shadow {
  // The cache at the capture, in log order (command hash, outcome).
  std::vector<std::pair<std::string, stored_outcome>> current;
  // What the last durable point wrote: hash -> the index of its entry (a command evicted and
  // applied again later has another index, so its new outcome is written), and the difference
  // that last saw it (entries the current one does not see were evicted).
  struct durable_entry {
    uint64_t index = 0;
    uint64_t seen = 0;
  };
  std::unordered_map<std::string, durable_entry> durable;
  uint64_t differences = 0;

  // Forgets what was written and takes `outcomes` (hash, outcome) as written: after a snapshot
  // install or a restart, which load the cache from what is stored.
  template <typename Range>
  void reset_durable(const Range& outcomes) {
    durable.clear();
    for (const auto& [hash, o] : outcomes) durable.emplace(hash, durable_entry{o.index, differences});
  }
};

// Appends to `w` the writes that turn what the last durable point wrote into `oc.current`: a put
// (key_of(hash), encoded outcome) for each entry new or applied again under another index, a
// delete for each one evicted since; nothing for an unchanged entry. Then records `current` as
// written. O(cache): the cache is bounded, the commands since the last durable point are not.
template <typename KeyOf>
void outcome_difference(outcome_shadow& oc, std::vector<storage::state_write>& w, KeyOf key_of) {
  const uint64_t pass = ++oc.differences;
  for (const auto& [hash, cur] : oc.current) {
    auto [d, added] = oc.durable.try_emplace(hash, outcome_shadow::durable_entry{cur.index, pass});
    d->second.seen = pass;
    if (!added && d->second.index == cur.index) continue;  // unchanged since the last durable point
    d->second.index = cur.index;
    w.push_back({key_of(hash), encode_outcome(cur)});
  }
  for (auto d = oc.durable.begin(); d != oc.durable.end();) {
    if (d->second.seen == pass) {
      ++d;
      continue;
    }
    w.push_back({key_of(d->first), std::nullopt});  // evicted
    d = oc.durable.erase(d);
  }
}

}  // namespace energo::actors
