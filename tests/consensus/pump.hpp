#pragma once
// A tiny in-test message pump for raft_node unit tests: N nodes, a simulated disk per node,
// "deliver everything" network with directed link cuts and a mutate/drop filter. Not the
// deterministic simulator (tests/consensus_sim/): no delays, no reordering unless a test does it.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "consensus/raft.hpp"

namespace energo::consensus::test {

struct disk {
  hard_state hs;
  std::optional<snapshot> snap;
  std::vector<entry> log;
};

inline constexpr group_id test_group = 7;

inline config make_config(node_id id, uint64_t seed = 42) {
  config c;
  c.id = id;
  c.group = test_group;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.random_seed = seed;
  return c;
}

inline membership voters(std::initializer_list<node_id> ids) {
  membership m;
  m.voters = ids;
  return m;
}

struct pump {
  std::map<node_id, std::unique_ptr<raft_node>> nodes;
  std::map<node_id, disk> disks;
  std::map<node_id, std::vector<entry>> applied;  // committed entries, in order
  std::map<node_id, std::string> installed;        // state-machine snapshot data installed
  std::map<node_id, std::vector<read_state>> reads;
  std::map<node_id, uint64_t> readies;
  std::vector<message> in_flight;
  std::set<std::pair<node_id, node_id>> cut;       // directed links that drop everything
  std::function<bool(message&)> filter;             // return false to drop; may mutate
  std::vector<message> delivered;                   // every message delivered (inspection)
  std::function<void(node_id, const ready&)> on_ready;
  std::map<node_id, uint64_t> snapshot_data_requests;  // readies with snapshot_data_wanted
  bool answer_snapshot_data_requests = true;  // hand the disk's snapshot back with compact()

  raft_node& operator[](node_id id) { return *nodes.at(id); }

  void add(raft_node n) {
    const node_id id = n.id();
    nodes[id] = std::make_unique<raft_node>(std::move(n));
    disks[id];
  }
  void bootstrap(std::initializer_list<node_id> ids, membership m, uint64_t seed = 42) {
    for (node_id id : ids) add(raft_node::bootstrap(make_config(id, seed), m));
  }
  void bootstrap(std::initializer_list<node_id> ids) {
    membership m;
    m.voters = std::set<node_id>(ids);
    bootstrap(ids, m);
  }
  void add_fresh(const config& c) { add(raft_node::restart(c, {}, std::nullopt, {})); }
  void add_fresh(node_id id) { add_fresh(make_config(id)); }

  // Application-side compaction: the node drops its log prefix, the disk keeps the snapshot.
  void compact(node_id id, index_t upto, std::string data) {
    ASSERT_TRUE(nodes.at(id)->compact(upto, data).has_value());
    disk& d = disks[id];
    const index_t base = d.snap ? d.snap->meta.index : 0;
    d.log.erase(d.log.begin(), d.log.begin() + static_cast<std::ptrdiff_t>(upto - base));
    d.snap = snapshot{nodes.at(id)->snapshot_metadata(), std::move(data)};
  }

  // The application keeps its state at `upto` on its own disk and gives the core only the meta
  // (compact_without_data); the data is handed over when the core asks (snapshot_data_wanted).
  void compact_without_data(node_id id, index_t upto, std::string data) {
    ASSERT_TRUE(nodes.at(id)->compact_without_data(upto).has_value());
    disk& d = disks[id];
    const index_t base = d.snap ? d.snap->meta.index : 0;
    d.log.erase(d.log.begin(), d.log.begin() + static_cast<std::ptrdiff_t>(upto - base));
    d.snap = snapshot{nodes.at(id)->snapshot_metadata(), std::move(data)};
  }

  // Simulated crash + restart from what the disk holds: the snapshot's meta only (the core asks
  // for the data when it needs it) or the whole snapshot.
  enum class restart_snapshot { meta_only, with_data };
  void restart(node_id id, config c, restart_snapshot mode = restart_snapshot::meta_only) {
    disk& d = disks[id];
    std::optional<snapshot_meta> meta;
    if (d.snap) meta = d.snap->meta;
    if (d.snap && mode == restart_snapshot::with_data)
      nodes[id] = std::make_unique<raft_node>(raft_node::restart(c, d.hs, *d.snap, d.log));
    else
      nodes[id] = std::make_unique<raft_node>(raft_node::restart(c, d.hs, meta, d.log));
    in_flight.erase(std::remove_if(in_flight.begin(), in_flight.end(),
                                   [&](const message& m) { return m.from == id; }),
                    in_flight.end());
  }

  void isolate(node_id id) {
    for (auto& [other, n] : nodes) {
      (void)n;
      if (other == id) continue;
      cut.insert({id, other});
      cut.insert({other, id});
    }
  }
  void heal() { cut.clear(); }

  // Persist, send, apply, advance: the driving loop from raft.hpp.
  void flush(node_id id) {
    raft_node& n = *nodes.at(id);
    for (int guard = 0; guard < 1000 && n.has_ready(); ++guard) {
      ready r = n.get_ready();
      ++readies[id];
      if (on_ready) on_ready(id, r);
      disk& d = disks[id];
      if (r.snapshot_to_install) {
        d.snap = *r.snapshot_to_install;
        d.log.clear();
        installed[id] = r.snapshot_to_install->data;
        applied[id].clear();  // the state machine is replaced; entries after it follow
      }
      if (!r.entries_to_persist.empty()) {
        const index_t first = r.entries_to_persist.front().index;
        const index_t base = d.snap ? d.snap->meta.index : 0;
        EXPECT_GT(first, base);
        d.log.resize(std::min<size_t>(d.log.size(), first - base - 1));
        for (auto& e : r.entries_to_persist) d.log.push_back(e);
      }
      if (r.hard_state) d.hs = *r.hard_state;
      for (auto& m : r.messages) in_flight.push_back(m);
      for (auto& e : r.committed_entries) {
        auto& a = applied[id];
        if (!a.empty()) {
          EXPECT_EQ(a.back().index + 1, e.index) << "node " << id;
        }
        a.push_back(e);
      }
      for (auto& rs : r.read_states) reads[id].push_back(rs);
      n.advance(r);
      if (r.snapshot_data_wanted) {
        ++snapshot_data_requests[id];
        if (answer_snapshot_data_requests) {
          EXPECT_TRUE(d.snap.has_value()) << "node " << id << " wants snapshot data it never had";
          if (d.snap) {
            EXPECT_TRUE(n.compact(d.snap->meta.index, d.snap->data).has_value());
          }
        }
      }
    }
  }
  void flush_all() {
    for (auto& [id, n] : nodes) flush(id);
  }

  // Deliver one round of in-flight messages; returns how many were delivered.
  size_t deliver_round() {
    std::vector<message> batch;
    batch.swap(in_flight);
    size_t count = 0;
    for (auto& m : batch) {
      if (cut.count({m.from, m.to}) || !nodes.count(m.to)) continue;
      if (filter && !filter(m)) continue;
      delivered.push_back(m);
      nodes.at(m.to)->step(m);
      ++count;
    }
    return count;
  }

  void stabilize(int rounds_max = 200) {
    for (int i = 0; i < rounds_max; ++i) {
      flush_all();
      if (in_flight.empty()) return;
      deliver_round();
    }
    flush_all();
  }

  void tick(node_id id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      nodes.at(id)->tick();
      stabilize();
    }
  }
  void tick_all(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, node] : nodes) node->tick();
      stabilize();
    }
  }

  void elect(node_id id) {
    nodes.at(id)->campaign();
    stabilize();
    ASSERT_EQ(nodes.at(id)->role(), role::leader) << "node " << id << " failed to win";
  }

  node_id leader() const {
    node_id best = no_node;
    term_t t = 0;
    for (auto& [id, n] : nodes)
      if (n->role() == role::leader && n->term() >= t) {
        best = id;
        t = n->term();
      }
    return best;
  }

  // Applied entries must agree at every index on every node (state machine safety).
  void expect_applied_agree() const {
    std::map<index_t, entry> seen;
    for (auto& [id, list] : applied)
      for (auto& e : list) {
        auto [it, fresh] = seen.emplace(e.index, e);
        if (!fresh) {
          EXPECT_EQ(it->second, e) << "node " << id << " applied a different entry at " << e.index;
        }
      }
  }

  void expect_no_invariant_violations() const {
    for (auto& [id, n] : nodes)
      for (auto& v : n->invariant_violations()) ADD_FAILURE() << "invariant: " << v;
  }

  ~pump() {
    expect_no_invariant_violations();
    expect_applied_agree();
  }
};

inline std::vector<std::string> payloads(const std::vector<entry>& es) {
  std::vector<std::string> out;
  for (auto& e : es)
    if (e.type == entry_type::normal) out.push_back(e.data);
  return out;
}

}  // namespace energo::consensus::test
