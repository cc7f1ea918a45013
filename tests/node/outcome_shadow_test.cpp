// The outcome cache's difference between durable points (actors/outcome_shadow.hpp). Oracle: a
// model of the stored keys (a map) to which every difference is applied must then hold exactly the
// cache at that capture - every cached outcome, encoded, under its key, and nothing else - and a
// capture with nothing changed since the last writes nothing. The cache is driven like apply's:
// bounded, oldest evicted first, a command evicted and applied again gets a new index.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/outcome_shadow.hpp"

namespace {

using energo::actors::outcome_difference;
using energo::actors::outcome_shadow;
using energo::actors::stored_outcome;
using energo::storage::state_write;

std::string stored_key_of(const std::string& hash) { return "o/" + hash; }

struct cache_model {
  std::size_t bound = 16;
  std::deque<std::string> order;
  std::unordered_map<std::string, stored_outcome> outcomes;
  uint64_t index = 0;

  void apply(const std::string& hash, std::mt19937_64& rng) {
    if (outcomes.count(hash)) return;  // a duplicate: answered from the cache, not applied
    stored_outcome o;
    o.index = ++index;
    o.position = static_cast<uint32_t>(rng() % 4);
    o.outcome.index = o.index;
    o.outcome.accepted = rng() % 2 == 0;
    o.outcome.order_id = rng() % 1000;
    outcomes.emplace(hash, o);
    order.push_back(hash);
    while (order.size() > bound) {
      outcomes.erase(order.front());
      order.pop_front();
    }
  }
  void copy_into(outcome_shadow& oc) const {
    oc.current.clear();
    for (const auto& h : order) oc.current.emplace_back(h, outcomes.at(h));
  }
};

void apply_writes(std::map<std::string, std::string>& store, const std::vector<state_write>& w) {
  for (const auto& x : w) {
    if (x.value) store[x.key] = *x.value;
    else store.erase(x.key);
  }
}

std::map<std::string, std::string> expected_store(const cache_model& c) {
  std::map<std::string, std::string> out;
  for (const auto& h : c.order) out[stored_key_of(h)] = energo::actors::encode_outcome(c.outcomes.at(h));
  return out;
}

TEST(outcome_shadow, DifferencesKeepTheStoredKeysEqualToTheCache) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("outcome_shadow seed %llu\n", static_cast<unsigned long long>(seed));
  for (uint64_t run = 0; run < 50; ++run) {
    std::mt19937_64 rng(seed + run);
    cache_model cache;
    outcome_shadow oc;
    std::map<std::string, std::string> store;
    for (int capture = 0; capture < 40; ++capture) {
      const int commands = static_cast<int>(rng() % 30);  // 0: nothing since the last capture
      for (int i = 0; i < commands; ++i) cache.apply("h" + std::to_string(rng() % 40), rng);
      cache.copy_into(oc);
      std::vector<state_write> w;
      outcome_difference(oc, w, stored_key_of);
      if (commands == 0) EXPECT_TRUE(w.empty()) << "a capture with nothing new wrote " << w.size();
      EXPECT_LE(w.size(), 2 * cache.bound);
      apply_writes(store, w);
      ASSERT_EQ(store, expected_store(cache)) << "run " << run << " capture " << capture;
    }
  }
}

TEST(outcome_shadow, AfterAResetOnlyWhatChangedSinceIsWritten) {
  std::mt19937_64 rng(7);
  cache_model cache;
  for (int i = 0; i < 20; ++i) cache.apply("a" + std::to_string(i), rng);  // 4 evicted
  // As after a restart: the cache and the store both hold what was loaded.
  std::map<std::string, std::string> store = expected_store(cache);
  outcome_shadow oc;
  std::vector<std::pair<std::string, stored_outcome>> loaded;
  for (const auto& h : cache.order) loaded.emplace_back(h, cache.outcomes.at(h));
  oc.reset_durable(loaded);
  cache.copy_into(oc);
  std::vector<state_write> w;
  outcome_difference(oc, w, stored_key_of);
  EXPECT_TRUE(w.empty());
  cache.apply("b0", rng);  // evicts a4
  cache.apply("a4", rng);  // evicted earlier, applied again under a new index; evicts a5
  cache.copy_into(oc);
  outcome_difference(oc, w, stored_key_of);
  // b0 is new and a4 has a new index: both put; a5 was evicted: deleted; nothing else.
  std::map<std::string, int> puts, deletes;
  for (const auto& x : w) (x.value ? puts : deletes)[x.key]++;
  EXPECT_EQ(puts, (std::map<std::string, int>{{"o/b0", 1}, {"o/a4", 1}}));
  EXPECT_EQ(deletes, (std::map<std::string, int>{{"o/a5", 1}}));
  apply_writes(store, w);
  EXPECT_EQ(store, expected_store(cache));
}

}  // namespace
