// Power-loss durability: node_store on storage/fault_fs, a file system that keeps only what was
// fsynced (data, names, renames) when a crash is simulated.
//  (a) the fault file system itself, against hand-written expectations;
//  (b) seeded random persist/apply/snapshot/compact/install sequences with the power cut after a
//      random number of file system calls: every acknowledged write survives, the one in flight
//      is all-or-nothing, and the recovery report matches;
//  (c) the same harness with the store's sync turned off must report losses (it can fail);
//  (d) sync/write failures on cue: the store reports them, refuses every later write, and a
//      reopen recovers exactly the last acknowledged state.
// Replay: ENERGO_FAULT_SEED=<base seed> [ENERGO_FAULT_COUNT=<seeds>] storage_tests --gtest_filter='storage_fault.*'
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "storage/fault_fs.hpp"
#include "storage/node_store.hpp"
#include "tests/storage/test_support.hpp"

#ifndef ENERGO_FAULT_SEEDS
#define ENERGO_FAULT_SEEDS 16
#endif
#ifndef ENERGO_FAULT_SUITE
#define ENERGO_FAULT_SUITE storage_fault
#endif

namespace energo::storage {
namespace {

using test::temp_dir;
using rocksdb::IOOptions;

// ---- (a) the file system ------------------------------------------------------------------------

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct fs_fixture {
  temp_dir dir;
  std::shared_ptr<fault_fs> fs = std::make_shared<fault_fs>(rocksdb::FileSystem::Default(), false);

  std::unique_ptr<rocksdb::FSWritableFile> create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    EXPECT_TRUE(fs->NewWritableFile(dir.sub(name), rocksdb::FileOptions(), &f, nullptr).ok());
    return f;
  }
  static void append(rocksdb::FSWritableFile& f, const std::string& data) {
    EXPECT_TRUE(f.Append(data, IOOptions(), nullptr).ok());
  }
  static void sync(rocksdb::FSWritableFile& f) { EXPECT_TRUE(f.Sync(IOOptions(), nullptr).ok()); }
  static void close(rocksdb::FSWritableFile& f) { EXPECT_TRUE(f.Close(IOOptions(), nullptr).ok()); }
  void sync_dir() {
    std::unique_ptr<rocksdb::FSDirectory> d;
    ASSERT_TRUE(fs->NewDirectory(dir.path(), IOOptions(), &d, nullptr).ok());
    ASSERT_TRUE(d->Fsync(IOOptions(), nullptr).ok());
  }
  // A file with this content whose data and name are both durable.
  void durable_file(const std::string& name, const std::string& content) {
    auto f = create(name);
    append(*f, content);
    sync(*f);
    close(*f);
    sync_dir();
  }
  std::optional<std::string> content(const std::string& name) { return read_file(dir.sub(name)); }
};

TEST(ENERGO_FAULT_SUITE, fs_written_not_synced_tail_is_lost_synced_prefix_survives) {
  fs_fixture t;
  auto f = t.create("a");
  t.append(*f, "synced-");
  t.sync(*f);
  t.append(*f, "not-synced");
  t.sync_dir();
  t.close(*f);
  EXPECT_EQ(t.fs->unsynced_bytes(), 10u);
  EXPECT_EQ(t.content("a"), "synced-not-synced");  // the page cache still has it before the crash
  const crash_report r = t.fs->simulate_crash();
  EXPECT_EQ(t.content("a"), "synced-");
  EXPECT_EQ(r.files_truncated, 1u);
  EXPECT_EQ(r.bytes_dropped, 10u);
}

TEST(ENERGO_FAULT_SUITE, fs_fully_synced_file_and_name_survive) {
  fs_fixture t;
  t.durable_file("a", "all of it");
  EXPECT_EQ(t.fs->unsynced_bytes(), 0u);
  EXPECT_EQ(t.fs->unsynced_entries(), 0u);
  const crash_report r = t.fs->simulate_crash();
  EXPECT_EQ(t.content("a"), "all of it");
  EXPECT_EQ(r.files_truncated + r.entries_removed + r.renames_undone, 0u);
}

TEST(ENERGO_FAULT_SUITE, fs_file_synced_but_directory_not_is_removed) {
  fs_fixture t;
  auto f = t.create("new");
  t.append(*f, "data");
  t.sync(*f);  // the data is durable, the name is not
  t.close(*f);
  const crash_report r = t.fs->simulate_crash();
  EXPECT_EQ(t.content("new"), std::nullopt);
  EXPECT_EQ(r.entries_removed, 1u);
}

TEST(ENERGO_FAULT_SUITE, fs_range_sync_makes_nothing_durable) {
  fs_fixture t;
  auto f = t.create("a");
  t.sync_dir();
  t.append(*f, "range-synced only");
  EXPECT_TRUE(f->RangeSync(0, 17, IOOptions(), nullptr).ok());
  t.close(*f);
  t.fs->simulate_crash();
  EXPECT_EQ(t.content("a"), "");
}

TEST(ENERGO_FAULT_SUITE, fs_unsynced_rename_over_a_file_is_undone) {
  fs_fixture t;
  t.durable_file("CURRENT", "old");
  auto f = t.create("CURRENT.tmp");
  t.append(*f, "new");
  t.sync(*f);
  t.close(*f);
  ASSERT_TRUE(t.fs->RenameFile(t.dir.sub("CURRENT.tmp"), t.dir.sub("CURRENT"), IOOptions(), nullptr).ok());
  EXPECT_EQ(t.content("CURRENT"), "new");
  const crash_report r = t.fs->simulate_crash();
  EXPECT_EQ(t.content("CURRENT"), "old");
  EXPECT_EQ(t.content("CURRENT.tmp"), std::nullopt);  // its creation was not durable either
  EXPECT_EQ(r.renames_undone, 1u);
}

TEST(ENERGO_FAULT_SUITE, fs_unsynced_rename_of_a_durable_file_moves_it_back) {
  fs_fixture t;
  t.durable_file("src", "payload");
  ASSERT_TRUE(t.fs->RenameFile(t.dir.sub("src"), t.dir.sub("dst"), IOOptions(), nullptr).ok());
  t.fs->simulate_crash();
  EXPECT_EQ(t.content("src"), "payload");
  EXPECT_EQ(t.content("dst"), std::nullopt);
}

TEST(ENERGO_FAULT_SUITE, fs_rename_followed_by_directory_fsync_is_durable) {
  fs_fixture t;
  t.durable_file("CURRENT", "old");
  t.durable_file("CURRENT.tmp", "new");
  ASSERT_TRUE(t.fs->RenameFile(t.dir.sub("CURRENT.tmp"), t.dir.sub("CURRENT"), IOOptions(), nullptr).ok());
  t.sync_dir();
  t.fs->simulate_crash();
  EXPECT_EQ(t.content("CURRENT"), "new");
  EXPECT_EQ(t.content("CURRENT.tmp"), std::nullopt);
}

TEST(ENERGO_FAULT_SUITE, fs_unsynced_delete_is_undone_with_the_durable_content) {
  fs_fixture t;
  auto f = t.create("a");
  t.append(*f, "durable");
  t.sync(*f);
  t.sync_dir();
  t.append(*f, "+lost");
  t.close(*f);
  ASSERT_TRUE(t.fs->DeleteFile(t.dir.sub("a"), IOOptions(), nullptr).ok());
  EXPECT_EQ(t.content("a"), std::nullopt);
  const crash_report r = t.fs->simulate_crash();
  EXPECT_EQ(t.content("a"), "durable");
  EXPECT_EQ(r.entries_restored, 1u);
}

TEST(ENERGO_FAULT_SUITE, fs_overwrite_by_create_is_undone) {
  fs_fixture t;
  t.durable_file("OPTIONS", "v1");
  auto f = t.create("OPTIONS");  // truncates the old file
  t.append(*f, "v2");
  t.sync(*f);
  t.close(*f);
  t.fs->simulate_crash();
  EXPECT_EQ(t.content("OPTIONS"), "v1");
}

TEST(ENERGO_FAULT_SUITE, fs_faults_on_cue_and_power_off) {
  fs_fixture t;
  auto f = t.create("a");
  t.sync_dir();
  t.fs->fail_write(2);
  EXPECT_TRUE(f->Append("1", IOOptions(), nullptr).ok());
  const auto failed = f->Append("2", IOOptions(), nullptr);
  EXPECT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_TRUE(f->Append("3", IOOptions(), nullptr).ok());  // once only

  // A failed sync poisons the file: a later successful sync does not make the tail durable.
  t.fs->fail_sync(1);
  EXPECT_TRUE(f->Sync(IOOptions(), nullptr).IsIOError());
  EXPECT_TRUE(f->Append("4", IOOptions(), nullptr).ok());
  EXPECT_TRUE(f->Sync(IOOptions(), nullptr).ok());

  const fault_fs_counters before = t.fs->counters();
  EXPECT_EQ(before.writes, 4u);
  EXPECT_EQ(before.syncs, 2u);
  EXPECT_EQ(before.injected_errors, 2u);

  auto c = t.create("c");
  t.sync_dir();
  t.fs->power_off_after(1);
  EXPECT_TRUE(c->Append("before", IOOptions(), nullptr).ok());
  EXPECT_TRUE(c->Append("-after", IOOptions(), nullptr).ok());  // the cut: the process cannot tell
  EXPECT_FALSE(t.fs->powered());
  EXPECT_TRUE(c->Sync(IOOptions(), nullptr).ok());  // a lie: nothing becomes durable any more
  std::unique_ptr<rocksdb::FSWritableFile> g;
  EXPECT_TRUE(t.fs->NewWritableFile(t.dir.sub("b"), rocksdb::FileOptions(), &g, nullptr).ok());
  t.sync_dir();
  EXPECT_EQ(t.fs->counters().syncs_ignored, 2u);
  EXPECT_EQ(t.fs->counters().injected_errors, 2u);
  EXPECT_TRUE(f->Close(IOOptions(), nullptr).ok());
  EXPECT_TRUE(c->Close(IOOptions(), nullptr).ok());
  EXPECT_TRUE(g->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(t.content("c"), "before-after");

  t.fs->simulate_crash();
  t.fs->power_on();
  EXPECT_EQ(t.content("a"), "");  // nothing was ever synced before the poisoning sync
  EXPECT_EQ(t.content("c"), "");  // its only sync came after the cut
  EXPECT_EQ(t.content("b"), std::nullopt);  // created after the cut
}

// ---- (b)/(c) node_store under power cuts --------------------------------------------------------

struct group_model {
  std::map<log_index, log_record> log;  // (compacted, last]
  log_index compacted{0};
  log_term compacted_term{0};
  log_index last{0};
  hard_state_record hs;
  log_index applied{0};
  std::map<std::string, std::string> state;
  std::optional<snapshot_meta_record> snap;
  std::string snap_data;
  friend bool operator==(const group_model&, const group_model&) = default;
};
using world = std::map<group_id, group_model>;

log_term last_term(const group_model& g) { return g.log.empty() ? g.compacted_term : g.log.rbegin()->second.term; }
log_term term_at(const group_model& g, log_index i) {
  return i == g.compacted ? g.compacted_term : g.log.at(i).term;
}

std::string blob(std::mt19937_64& rng, std::size_t bytes) {
  std::string s(bytes, '\0');
  const uint64_t salt = rng();
  for (std::size_t k = 0; k < bytes; ++k) s[k] = static_cast<char>('a' + (salt + k * 7) % 26);
  return s;
}

// One store call and its effect on the model, computed without the store.
struct operation {
  enum class kind { persist, apply, save_snapshot, compact, install } type{kind::persist};
  std::vector<std::vector<log_record>> entries;  // persist: one per group_write
  std::vector<group_write> writes;
  group_id group{0};
  std::vector<state_write> state;
  log_index index{0};
  snapshot_meta_record meta;
  std::string data;
  std::optional<hard_state_record> hs;
  world after;
  std::string name;
};

constexpr group_id workload_groups[] = {1, 2};

// Next valid operation for the model (the store must accept it unless the disk fails).
operation next_operation(const world& w, std::mt19937_64& rng) {
  operation op;
  op.after = w;
  const group_id g = workload_groups[rng() % 2];
  group_model& m = op.after[g];
  const unsigned dice = static_cast<unsigned>(rng() % 100);
  auto random_writes = [&](group_model& target) {
    std::vector<state_write> out;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) {
      std::string key = "k" + std::to_string(rng() % 20);
      if (rng() % 4 == 0) {
        out.push_back({key, std::nullopt});
        target.state.erase(key);
      } else {
        std::string value = blob(rng, rng() % 8 == 0 ? 4000 : 1 + rng() % 60);
        out.push_back({key, value});
        target.state[key] = value;
      }
    }
    return out;
  };
  if (dice < 15 && m.applied < m.hs.commit) {
    op.type = operation::kind::apply;
    op.name = "apply";
    op.group = g;
    op.index = m.applied + 1 + rng() % (m.hs.commit - m.applied);
    op.state = random_writes(m);
    m.applied = op.index;
    return op;
  }
  if (dice < 20 && m.applied > m.compacted && (!m.snap || m.snap->index < m.applied)) {
    op.type = operation::kind::save_snapshot;
    op.name = "save_snapshot";
    op.group = g;
    op.meta = {m.applied, term_at(m, m.applied), {{1, 2, 3}, {4}, {}}, 0};
    op.data = blob(rng, rng() % 20000);
    op.meta.data_bytes = op.data.size();
    m.snap = op.meta;
    m.snap_data = op.data;
    return op;
  }
  if (dice < 25 && m.snap && m.snap->index > m.compacted) {
    op.type = operation::kind::compact;
    op.name = "compact";
    op.group = g;
    op.index = m.snap->index;
    m.compacted_term = term_at(m, op.index);
    m.log.erase(m.log.begin(), m.log.upper_bound(op.index));
    m.compacted = op.index;
    return op;
  }
  if (dice < 28) {
    // A leader's snapshot: beyond the log (discard it) or inside it with the matching term
    // (keep the suffix, Raft §7).
    op.type = operation::kind::install;
    op.name = "install_snapshot";
    op.group = g;
    const log_index floor = std::max(m.applied, m.compacted);
    const bool inside = m.last > floor && rng() % 2 == 0;
    const log_index index = inside ? floor + 1 + rng() % (m.last - floor) : m.last + 1 + rng() % 3;
    const log_term term = inside ? term_at(m, index) : std::max(last_term(m), m.hs.term) + 1;
    op.meta = {index, term, {{1, 2, 3}, {}, {}}, 0};
    op.data = blob(rng, rng() % 5000);
    op.meta.data_bytes = op.data.size();
    group_model fresh = m;
    fresh.state.clear();
    op.state = random_writes(fresh);
    if (inside) {
      fresh.log.erase(fresh.log.begin(), fresh.log.upper_bound(index));
    } else {
      fresh.log.clear();
      fresh.last = index;
    }
    fresh.compacted = index;
    fresh.compacted_term = term;
    fresh.applied = index;
    fresh.snap = op.meta;
    fresh.snap_data = op.data;
    if (rng() % 2 == 0) {
      op.hs = hard_state_record{std::max(m.hs.term, term), 0, std::max(m.hs.commit, index)};
      fresh.hs = *op.hs;
    }
    m = std::move(fresh);
    return op;
  }
  // persist: entries (append or conflicting suffix above the commit) and/or a hard state, for
  // one group or for both in one batch.
  op.type = operation::kind::persist;
  op.name = "persist";
  std::vector<group_id> targets{g};
  if (rng() % 4 == 0) targets = {1, 2};
  for (group_id tg : targets) {
    group_model& t = op.after[tg];
    std::vector<log_record> entries;
    const log_index floor = std::max(t.hs.commit, t.compacted);
    const bool overwrite = t.last > floor && rng() % 5 == 0;
    const log_index first = overwrite ? floor + 1 + rng() % (t.last - floor) : t.last + 1;
    const log_term term = overwrite ? std::max(last_term(t), t.hs.term) + 1 : std::max(last_term(t), t.hs.term);
    const std::size_t count = rng() % 6;  // 0 = hard state only
    for (std::size_t k = 0; k < count; ++k) {
      entries.push_back({std::max<log_term>(term, 1), first + k, static_cast<uint8_t>(rng() % 3),
                         blob(rng, rng() % 10 == 0 ? 3000 : rng() % 200)});
    }
    if (!entries.empty()) {
      t.log.erase(t.log.lower_bound(first), t.log.end());
      for (const auto& e : entries) t.log[e.index] = e;
      t.last = entries.back().index;
    }
    std::optional<hard_state_record> hs;
    if (entries.empty() || rng() % 2 == 0) {
      hard_state_record next = t.hs;
      next.term = std::max(next.term, last_term(t));
      if (next.term != t.hs.term) next.vote = 0;
      if (next.vote == 0 && rng() % 2 == 0) next.vote = 1 + rng() % 3;
      if (t.last > next.commit) next.commit += rng() % (t.last - next.commit + 1);
      hs = next;
      t.hs = next;
    }
    op.entries.push_back(std::move(entries));
    op.writes.push_back({tg, {}, hs});
  }
  for (std::size_t k = 0; k < op.writes.size(); ++k) op.writes[k].entries = op.entries[k];
  return op;
}

storage_result<void> execute(node_store& store, const operation& op) {
  switch (op.type) {
    case operation::kind::persist: return store.persist(op.writes);
    case operation::kind::apply: return store.apply_batch(op.group, op.state, op.index);
    case operation::kind::save_snapshot: return store.save_snapshot(op.group, op.meta, op.data);
    case operation::kind::compact: return store.compact(op.group, op.index);
    case operation::kind::install: return store.install_snapshot(op.group, op.meta, op.data, op.state, op.hs);
  }
  return make_error(storage_errc::invalid_argument, "unknown operation");
}

// Everything the store shows through its API, in model form; errors become a description.
storage_result<world> read_back(const node_store& store) {
  world w;
  for (group_id g : store.groups()) {
    group_model m;
    m.compacted = store.first_index(g) - 1;
    m.last = store.last_index(g);
    auto ct = store.term(g, m.compacted);
    if (!ct) return unexpected{ct.error()};
    m.compacted_term = *ct;
    if (m.last > m.compacted) {
      auto all = store.entries(g, m.compacted + 1, m.last + 1, SIZE_MAX);
      if (!all) return unexpected{all.error()};
      for (auto& e : *all) m.log[e.index] = std::move(e);
    }
    m.hs = store.hard_state(g);
    m.applied = store.applied_index(g);
    auto state = store.scan_state(g, "", 1'000'000);
    if (!state) return unexpected{state.error()};
    m.state.insert(state->begin(), state->end());
    auto meta = store.snapshot_meta(g);
    if (!meta) return unexpected{meta.error()};
    m.snap = *meta;
    if (m.snap) {
      auto data = store.snapshot_data(g);
      if (!data) return unexpected{data.error()};
      m.snap_data = std::move(*data);
    }
    w[g] = std::move(m);
  }
  return w;
}

std::string describe(const group_model& m) {
  std::ostringstream out;
  out << "log (" << m.compacted << "@" << m.compacted_term << ", " << m.last << "] entries=" << m.log.size()
      << " hs{term " << m.hs.term << " vote " << m.hs.vote << " commit " << m.hs.commit << "} applied " << m.applied
      << " state keys " << m.state.size() << " snapshot " << (m.snap ? std::to_string(m.snap->index) : "-");
  return out.str();
}
std::string describe(const world& w) {
  std::string s;
  for (const auto& [g, m] : w) s += "\n  group " + std::to_string(g) + ": " + describe(m);
  return s.empty() ? "\n  (empty)" : s;
}

// The recovery report must say what the getters say.
std::optional<std::string> check_report(const node_store& store) {
  const auto& report = store.recovery();
  if (report.created) return "reopen reported a new store";
  if (report.groups.size() != store.groups().size()) return "recovery report lists a different number of groups";
  for (const group_recovery& r : report.groups) {
    if (r.first_index != store.first_index(r.group) || r.last_index != store.last_index(r.group) ||
        !(r.hard_state == store.hard_state(r.group)) || r.applied_index != store.applied_index(r.group) ||
        r.entries_truncated != 0) {
      return "recovery report of group " + std::to_string(r.group) + " disagrees with the store";
    }
  }
  return std::nullopt;
}

struct harness_config {
  bool sync_writes{true};
  int cycles{4};          // crash/reopen cycles per seed
  int ops_per_cycle{30};  // store calls before the power is cut at the latest
};
struct seed_result {
  std::optional<std::string> failure;  // first broken promise, with context
  uint64_t acked{0};
  uint64_t in_flight_kept{0};
  uint64_t in_flight_lost{0};
  uint64_t cuts_inside_calls{0};
  crash_report dropped;
};

store_options fault_options(const std::shared_ptr<fault_fs>& fs, bool sync_writes) {
  store_options o;
  o.cluster_id = "fault-test";
  o.env = make_fault_env(fs);
  o.sync_writes = sync_writes;
  o.recovery_tail_entries = SIZE_MAX;
  // Tiny buffers so flushes, WAL switches, new SST/MANIFEST files and their directory fsyncs
  // happen inside a short run.
  o.block_cache_bytes = 1u << 20;
  o.write_buffer_bytes_total = 256u << 10;
  o.write_buffer_bytes_per_family = 64u << 10;
  o.wal_bytes_max = 256u << 10;
  return o;
}

seed_result run_seed(uint64_t seed, const harness_config& config) {
  seed_result result;
  std::mt19937_64 rng(seed);
  temp_dir dir;
  auto fs = std::make_shared<fault_fs>(rocksdb::FileSystem::Default(), false);
  const store_options options = fault_options(fs, config.sync_writes);
  auto fail = [&](std::string what) {
    result.failure = "seed " + std::to_string(seed) + ": " + std::move(what);
    return result;
  };
  {
    // Create the store durably with sync on, so the sync-off mutant is judged on acknowledged
    // writes rather than on losing the store's creation.
    auto created = node_store::open(dir.path(), fault_options(fs, true));
    if (!created) return fail("create: " + created.error().message);
    if (auto r = (*created)->close(); !r) return fail("close after create: " + r.error().message);
  }
  auto opened = node_store::open(dir.path(), options);
  if (!opened) return fail("first open: " + opened.error().message);
  std::unique_ptr<node_store> store = std::move(*opened);
  world acked;  // the state after the last call that returned ok
  for (int cycle = 0; cycle < config.cycles; ++cycle) {
    // ~3 mutating file system calls per store call (WAL append + sync, flushes on top).
    fs->power_off_after(rng() % static_cast<uint64_t>(config.ops_per_cycle * 3 + 1));
    std::optional<world> in_flight;
    std::string in_flight_name;
    for (int k = 0; k < config.ops_per_cycle; ++k) {
      operation op = next_operation(acked, rng);
      const storage_result<void> r = execute(*store, op);
      if (!fs->powered()) {
        // The cut happened before or during this call: whatever it returned never left the
        // machine, so it is in flight (recovered state: before it or after it).
        in_flight = std::move(op.after);
        in_flight_name = op.name;
        ++result.cuts_inside_calls;
        break;
      }
      if (r) {
        acked = std::move(op.after);
        ++result.acked;
        continue;
      }
      return fail("cycle " + std::to_string(cycle) + ": " + op.name + " failed with the power on: " +
                  r.error().message);
    }
    // Crash: cut the power (if the cue has not), let RocksDB close against a dead disk, then
    // keep only what was durable.
    fs->power_off();
    (void)store->close();  // deliberately ignored: the disk is off, errors are expected
    store.reset();
    const crash_report dropped = fs->simulate_crash();
    result.dropped.bytes_dropped += dropped.bytes_dropped;
    result.dropped.entries_removed += dropped.entries_removed;
    result.dropped.renames_undone += dropped.renames_undone;
    result.dropped.entries_restored += dropped.entries_restored;
    fs->power_on();

    auto reopened = node_store::open(dir.path(), options);
    const std::string where = "cycle " + std::to_string(cycle) + " (after " + std::to_string(result.acked) +
                              " acknowledged calls): ";
    if (!reopened) return fail(where + "reopen failed: " + reopened.error().message);
    store = std::move(*reopened);
    if (auto problem = check_report(*store)) return fail(where + *problem);
    auto got = read_back(*store);
    if (!got) return fail(where + "reading the recovered store: " + got.error().message);
    if (*got == acked) {
      if (in_flight && !(*in_flight == acked)) ++result.in_flight_lost;
      continue;
    }
    if (in_flight && *got == *in_flight) {
      ++result.in_flight_kept;
      acked = std::move(*in_flight);
      continue;
    }
    return fail(where + "recovered state is neither the acknowledged one nor the one after the call in flight (" +
                (in_flight ? in_flight_name : std::string("none")) + ")\nrecovered:" + describe(*got) +
                "\nacknowledged:" + describe(acked));
  }
  return result;
}

// ENERGO_FAULT_SEED=<base> replays a run; ENERGO_FAULT_COUNT=<n> overrides the number of seeds.
uint64_t base_seed() {
  if (const char* fixed = std::getenv("ENERGO_FAULT_SEED")) return std::strtoull(fixed, nullptr, 10);
  return std::random_device{}();
}
int seed_count(int default_count) {
  if (const char* count = std::getenv("ENERGO_FAULT_COUNT")) return std::atoi(count);
  return default_count;
}

TEST(ENERGO_FAULT_SUITE, store_keeps_every_acknowledged_write_across_power_cuts) {
  const uint64_t base = base_seed();
  const int seeds = seed_count(ENERGO_FAULT_SEEDS);
  std::printf("storage_fault base seed=%llu seeds=%d (seed i = base + i)\n", static_cast<unsigned long long>(base),
              seeds);
  std::fflush(stdout);  // an abort inside RocksDB must not swallow the seed
  uint64_t acked = 0, kept = 0, lost = 0, cuts = 0, dropped_bytes = 0, removed = 0;
  for (int i = 0; i < seeds; ++i) {
    SCOPED_TRACE("seed " + std::to_string(base + static_cast<uint64_t>(i)));
    const seed_result r = run_seed(base + static_cast<uint64_t>(i), harness_config{});
    ASSERT_FALSE(r.failure) << *r.failure;
    acked += r.acked;
    kept += r.in_flight_kept;
    lost += r.in_flight_lost;
    cuts += r.cuts_inside_calls;
    dropped_bytes += r.dropped.bytes_dropped;
    removed += r.dropped.entries_removed;
  }
  std::printf("storage_fault: %llu acknowledged calls; %llu power cuts inside a call (in flight kept %llu, lost "
              "%llu); crashes dropped %llu unsynced bytes and %llu unsynced names\n",
              static_cast<unsigned long long>(acked), static_cast<unsigned long long>(cuts),
              static_cast<unsigned long long>(kept), static_cast<unsigned long long>(lost),
              static_cast<unsigned long long>(dropped_bytes), static_cast<unsigned long long>(removed));
  // The harness must actually exercise cuts inside calls and real data loss, or it proves nothing.
  EXPECT_GT(cuts, 0u);
  EXPECT_GT(dropped_bytes, 0u);
}

// (c) The mutant switch: without sync the same harness must see acknowledged writes vanish.
TEST(ENERGO_FAULT_SUITE, harness_detects_losses_when_the_store_does_not_sync) {
  const uint64_t base = base_seed();
  const int seeds = 4;
  std::printf("storage_fault mutant (sync_writes=false) base seed=%llu seeds=%d\n",
              static_cast<unsigned long long>(base), seeds);
  std::fflush(stdout);
  harness_config config;
  config.sync_writes = false;
  int failing = 0;
  std::string example;
  for (int i = 0; i < seeds; ++i) {
    const seed_result r = run_seed(base + static_cast<uint64_t>(i), config);
    if (r.failure) {
      ++failing;
      if (example.empty()) example = *r.failure;
    }
  }
  std::printf("storage_fault mutant: %d of %d seeds detected a loss; first: %s\n", failing, seeds,
              example.substr(0, 300).c_str());
  EXPECT_GT(failing, 0) << "the power-cut harness cannot tell a store that syncs from one that does not";
}

// ---- (d) faults on cue ----------------------------------------------------------------------------

std::vector<log_record> entries_for(log_index from, log_index to_inclusive, log_term term) {
  std::vector<log_record> out;
  for (log_index i = from; i <= to_inclusive; ++i) out.push_back({term, i, 0, "entry-" + std::to_string(i)});
  return out;
}

struct store_fixture {
  temp_dir dir;
  std::shared_ptr<fault_fs> fs = std::make_shared<fault_fs>(rocksdb::FileSystem::Default(), false);
  std::unique_ptr<node_store> store;

  void open() {
    auto s = node_store::open(dir.path(), fault_options(fs, true));
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
  }
  void crash_and_reopen() {
    fs->power_off();
    (void)store->close();  // deliberately ignored: the disk is off
    store.reset();
    fs->simulate_crash();
    fs->power_on();
    open();
  }
  // Every mutating call must now fail (sticky), whatever the disk does.
  void expect_refuses_everything(group_id g) {
    const auto more = entries_for(store->last_index(g) + 1, store->last_index(g) + 1, 1);
    EXPECT_FALSE(store->append(g, more));
    EXPECT_FALSE(store->save_hard_state(g, store->hard_state(g)));
    EXPECT_FALSE(store->apply_batch(g, {}, store->applied_index(g) + 1));
    EXPECT_FALSE(store->save_snapshot(g, {store->applied_index(g), 1, {{1}, {}, {}}, 0}, "x"));
    EXPECT_FALSE(store->compact(g, store->applied_index(g)));
    EXPECT_FALSE(store->install_snapshot(g, {store->last_index(g) + 5, 9, {{1}, {}, {}}, 0}, "s", {}, std::nullopt));
    const std::vector<group_write> nothing;
    EXPECT_FALSE(store->persist(nothing));
    ASSERT_TRUE(store->failed());
    EXPECT_EQ(store->failed()->code, storage_errc::io_error);
  }
};

TEST(ENERGO_FAULT_SUITE, sync_failure_stops_the_store_and_reopen_recovers_the_acknowledged_state) {
  store_fixture t;
  t.open();
  constexpr group_id g = 3;
  ASSERT_TRUE(t.store->append(g, entries_for(1, 5, 1)));
  ASSERT_TRUE(t.store->save_hard_state(g, {1, 1, 3}));
  ASSERT_TRUE(t.store->apply_batch(g, std::vector<state_write>{{"a", "1"}}, 2));
  ASSERT_FALSE(t.store->failed());

  t.fs->fail_sync(1);  // the WAL sync of the next write
  const auto r = t.store->append(g, entries_for(6, 8, 1));
  ASSERT_FALSE(r) << "a write whose fsync failed was acknowledged";
  EXPECT_EQ(r.error().code, storage_errc::io_error) << r.error().message;
  EXPECT_EQ(t.store->last_index(g), 5u);  // the in-memory view did not move either
  EXPECT_GE(t.fs->counters().injected_errors, 1u);
  ASSERT_TRUE(t.fs->powered());  // the disk works again: the refusal must come from the store
  t.expect_refuses_everything(g);
  EXPECT_EQ(t.fs->counters().injected_errors, 1u) << "only the cued sync failed";

  t.crash_and_reopen();
  EXPECT_FALSE(t.store->failed());
  EXPECT_EQ(t.store->last_index(g), 5u);
  EXPECT_EQ(t.store->hard_state(g), (hard_state_record{1, 1, 3}));
  EXPECT_EQ(t.store->applied_index(g), 2u);
  auto a = t.store->get_state(g, "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::optional<std::string>("1"));
  // A reopened store writes again.
  EXPECT_TRUE(t.store->append(g, entries_for(6, 6, 2)));
  t.crash_and_reopen();
  EXPECT_EQ(t.store->last_index(g), 6u);
}

// A retryable error lets RocksDB's own error handler resume writes in the background; the store
// must still refuse (the page cache may have dropped what the failed sync covered).
TEST(ENERGO_FAULT_SUITE, retryable_sync_failure_still_stops_the_store) {
  store_fixture t;
  t.open();
  constexpr group_id g = 6;
  ASSERT_TRUE(t.store->append(g, entries_for(1, 4, 1)));
  t.fs->set_errors_retryable(true);
  t.fs->fail_sync(1);
  ASSERT_FALSE(t.store->append(g, entries_for(5, 6, 1)));
  // Give RocksDB's auto-recovery time to run (it resumes asynchronously).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  t.expect_refuses_everything(g);
  t.crash_and_reopen();
  EXPECT_EQ(t.store->last_index(g), 4u);
}

TEST(ENERGO_FAULT_SUITE, write_failure_stops_the_store_too) {
  store_fixture t;
  t.open();
  constexpr group_id g = 4;
  ASSERT_TRUE(t.store->append(g, entries_for(1, 3, 1)));
  t.fs->fail_write(1);
  const auto r = t.store->apply_batch(g, std::vector<state_write>{{"k", "v"}}, 1);
  ASSERT_FALSE(r);
  t.expect_refuses_everything(g);
  t.crash_and_reopen();
  EXPECT_EQ(t.store->last_index(g), 3u);
  EXPECT_EQ(t.store->applied_index(g), 0u);
  auto k = t.store->get_state(g, "k");
  ASSERT_TRUE(k);
  EXPECT_FALSE(k->has_value());
}

// A failed background job (here a flush's SST write, as on a full disk) stops the store although no
// write of ours failed: RocksDB reports it to the store's listener, and failed() tells the node,
// which stops (exit 5) instead of running on with a store that refuses writes.
TEST(ENERGO_FAULT_SUITE, a_failed_background_flush_stops_the_store) {
  store_fixture t;
  t.open();
  constexpr group_id g = 6;
  ASSERT_TRUE(t.store->append(g, entries_for(1, 3, 1)));
  ASSERT_FALSE(t.store->failed());
  t.fs->fail_write(1);  // the flush's first SST append
  EXPECT_FALSE(t.store->flush());
  const auto failed = t.store->failed();
  ASSERT_TRUE(failed) << "a background flush failure did not stop the store";
  EXPECT_NE(failed->message.find("background"), std::string::npos) << failed->message;
  t.expect_refuses_everything(g);
  t.crash_and_reopen();
  EXPECT_EQ(t.store->last_index(g), 3u);
}

TEST(ENERGO_FAULT_SUITE, acknowledged_writes_survive_a_cut_right_after_the_ack) {
  store_fixture t;
  t.open();
  constexpr group_id g = 5;
  for (log_index i = 1; i <= 10; ++i) {
    ASSERT_TRUE(t.store->append(g, entries_for(i, i, 1)));
    t.crash_and_reopen();  // nothing unsynced may be needed
    ASSERT_EQ(t.store->last_index(g), i);
  }
  auto all = t.store->entries(g, 1, 11, SIZE_MAX);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, entries_for(1, 10, 1));
}

// persist(..., log_sync::commit_only_deferred): a hard state that only advances the commit index is
// written without a sync of its own. It is visible at once; a power cut right after it brings back
// the previous commit with every entry intact; the next synced write (here an append) makes it
// durable, since the WAL is synced in order. Entries, a new term or a new vote in this mode are
// refused before anything is written.
TEST(ENERGO_FAULT_SUITE, a_deferred_commit_is_not_synced_and_a_cut_loses_only_the_commit) {
  store_fixture t;
  t.open();
  constexpr group_id g = 6;
  ASSERT_TRUE(t.store->persist(std::vector<group_write>{{g, entries_for(1, 10, 2), hard_state_record{2, 0, 3}}}));
  const auto deferred = [&](const hard_state_record& hs, std::span<const log_record> entries = {}) {
    const group_write w{g, entries, hs};
    return t.store->persist(std::span<const group_write>(&w, 1), log_sync::commit_only_deferred);
  };
  const uint64_t syncs = t.fs->counters().syncs;
  const log_write_counts counts = t.store->log_writes();
  ASSERT_TRUE(deferred({2, 0, 7}));
  EXPECT_EQ(t.fs->counters().syncs, syncs) << "a deferred commit must not sync";
  EXPECT_EQ(t.store->hard_state(g), (hard_state_record{2, 0, 7}));
  EXPECT_EQ(t.store->log_writes().deferred, counts.deferred + 1);
  EXPECT_EQ(t.store->log_writes().synced, counts.synced);

  t.crash_and_reopen();
  EXPECT_EQ(t.store->hard_state(g), (hard_state_record{2, 0, 3})) << "the unsynced commit survived a power cut";
  auto all = t.store->entries(g, 1, 11, SIZE_MAX);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, entries_for(1, 10, 2));

  // Deferred, then a synced append: the commit is durable with it.
  ASSERT_TRUE(deferred({2, 0, 8}));
  ASSERT_TRUE(t.store->append(g, entries_for(11, 11, 2)));
  t.crash_and_reopen();
  EXPECT_EQ(t.store->hard_state(g), (hard_state_record{2, 0, 8}));
  EXPECT_EQ(t.store->last_index(g), 11u);

  // Anything but the commit index is refused in this mode and changes nothing.
  const uint64_t syncs2 = t.fs->counters().syncs;
  const auto more = entries_for(12, 12, 2);
  EXPECT_EQ(deferred({2, 0, 9}, more).error().code, storage_errc::invalid_argument);
  EXPECT_EQ(deferred({3, 0, 9}).error().code, storage_errc::invalid_argument);
  EXPECT_EQ(deferred({2, 1, 9}).error().code, storage_errc::invalid_argument);  // a first vote
  EXPECT_FALSE(t.store->failed());
  EXPECT_EQ(t.fs->counters().syncs, syncs2);
  EXPECT_EQ(t.store->hard_state(g), (hard_state_record{2, 0, 8}));
  EXPECT_EQ(t.store->last_index(g), 11u);
  t.crash_and_reopen();
  EXPECT_EQ(t.store->hard_state(g), (hard_state_record{2, 0, 8}));
  EXPECT_EQ(t.store->last_index(g), 11u);
}

// ---- (e) staged values (node_store.hpp "Staged values") -------------------------------------------

// Two staged values of the same size (two chunks each) that differ in every chunk.
std::string staged_value(char fill) {
  std::string v(limits::state_staged_chunk_bytes + 4096, fill);
  for (std::size_t i = 0; i < v.size(); i += 4099) v[i] = static_cast<char>(i * 7);
  return v;
}

// A staged write is its chunks, each written and synced, then the batch that refers to them. Cut
// the power at every one of its file-system calls in turn (flushes and WAL switches included: the
// fixture's buffers are tiny): the recovered store holds the value before the write or the one
// after it, never a mix, consistent with the applied index and the inline key of the same batch;
// a write acknowledged with the power still on is there.
TEST(ENERGO_FAULT_SUITE, a_staged_write_cut_at_any_call_leaves_the_value_before_or_after_it) {
  constexpr group_id g = 4;
  const std::string v1 = staged_value('a'), v2 = staged_value('b');
  int cuts_inside = 0, new_kept = 0;
  for (uint64_t cut = 0;; ++cut) {
    SCOPED_TRACE("power cut after " + std::to_string(cut) + " calls");
    ASSERT_LT(cut, 2000u) << "the staged write never completed before the cut";
    store_fixture t;
    t.open();
    ASSERT_TRUE(t.store->apply_batch(g, std::vector<state_write>{{"img", v1, true}, {"x", "1"}}, 5));
    t.fs->power_off_after(cut);
    const auto r = t.store->apply_batch(g, std::vector<state_write>{{"img", v2, true}, {"x", "2"}}, 9);
    const bool acked_powered = r && t.fs->powered();
    if (!acked_powered) ++cuts_inside;
    t.crash_and_reopen();
    const log_index applied = t.store->applied_index(g);
    ASSERT_TRUE(applied == 5 || applied == 9) << applied;
    if (acked_powered) {
      EXPECT_EQ(applied, 9u) << "an acknowledged staged write was lost";
    }
    auto img = t.store->get_state(g, "img");
    ASSERT_TRUE(img) << img.error().message;
    ASSERT_TRUE(img->has_value());
    EXPECT_TRUE(**img == (applied == 9 ? v2 : v1)) << "the value does not match the applied index " << applied;
    EXPECT_EQ(**t.store->get_state(g, "x"), applied == 9 ? "2" : "1");
    if (applied == 9) ++new_kept;
    // The store writes on: a later staged write over whatever the cut left.
    ASSERT_TRUE(t.store->apply_batch(g, std::vector<state_write>{{"img", v1 + "c", true}}, 12));
    EXPECT_TRUE(**t.store->get_state(g, "img") == v1 + "c");
    if (acked_powered) break;  // this cut fell after the whole write
  }
  std::printf("staged write: %d cuts inside it, the new value kept after %d\n", cuts_inside, new_kept);
  EXPECT_GT(cuts_inside, 4) << "the cuts never fell inside the chunks";
}

// Each chunk is synced before the next is written, so a raft append (a synced write, which must
// first sync what the WAL holds before it) never waits for more than one chunk's writeback. With
// memtables large enough that nothing flushes, the only syncs are the WAL's: one per chunk and
// one for the batch.
TEST(ENERGO_FAULT_SUITE, a_staged_value_is_synced_chunk_by_chunk) {
  constexpr group_id g = 4;
  temp_dir dir;
  auto fs = std::make_shared<fault_fs>(rocksdb::FileSystem::Default(), false);
  store_options o = fault_options(fs, true);
  o.write_buffer_bytes_total = o.write_buffer_bytes_per_family = 64u << 20;
  o.wal_bytes_max = 256u << 20;
  auto s = node_store::open(dir.path(), o);
  ASSERT_TRUE(s) << s.error().message;
  const std::string v = std::string(3 * limits::state_staged_chunk_bytes + 10, 'v');  // 4 chunks
  const uint64_t before = fs->counters().syncs;
  ASSERT_TRUE((*s)->apply_batch(g, std::vector<state_write>{{"img", v, true}}, 1));
  EXPECT_EQ(fs->counters().syncs - before, 4u + 1u) << "one WAL sync per chunk, one for the batch";
  EXPECT_EQ(**(*s)->get_state(g, "img"), v);
}

}  // namespace
}  // namespace energo::storage
