#pragma once
// node_store: one RocksDB database per node data directory holding every Raft group's log,
// hard state, snapshots and state-machine key/values (storage/README.md has the key layout).
//
// Concurrency: all methods are thread-safe in the memory sense. Log mutations (persist, append,
// save_hard_state, compact, save_snapshot, install_snapshot) are serialised by one mutex; state
// writes (apply_batch) by another, so the raft actor and the apply actor may write concurrently
// and RocksDB group-commits them. Reads of a group's log must come from the group's log writer
// (the raft actor): a read racing a truncation of the same range may report a gap.
//
// Durability: every mutating call is ONE WriteBatch written with sync=true; when it returns ok
// the change survives a process crash or power loss, and after any crash either all of a
// call's changes are visible or none (RocksDB WAL recovery replays whole batches only). Two
// exceptions: apply_batch's staged values write their chunks first and stay all-or-nothing through
// a versioned reference (see "Staged values" below); and persist(..., log_sync::commit_only_deferred)
// writes a hard state that only advances the commit index without a sync of its own (see persist).
// Every write goes through the one WAL in order, so a crash keeps a prefix of the writes: whatever
// a later synced write covers is durable too.
//
// Failed writes are sticky: once a write batch fails (e.g. an fsync error), the outcome of that
// write and of everything not yet synced is unknown (a failed fsync may have dropped dirty pages),
// so every later mutating call returns io_error without touching the disk, until the store is
// closed and reopened (recovery then shows exactly what is durable). Never "ack and hope".
// Reads keep working and answer from the last acknowledged state.
//
// Monotonic: per group, hard_state.term, applied_index and the compacted index never decrease;
// a vote never changes within a term; committed log entries are never rewritten.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/error.hpp"
#include "storage/records.hpp"

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace energo::storage {

// The store's layout, written in `meta` when it is created and checked on every open.
//   1: the first layout.
//   2: state values may be staged (README "Staged values": chunks under reserved keys and a
//      reference). A build that knows only 1 would find no ledger image in such a store and refuse
//      it with a misleading error, so a store of 2 says so and that build refuses it plainly.
// A store of an older layout this build still reads (format_version_oldest..) is upgraded when it
// is opened: its meta is rewritten (synced) before anything of the newer layout can be written.
inline constexpr uint64_t format_version = 2;
inline constexpr uint64_t format_version_oldest = 1;

// Severity of a line of RocksDB's own informational log (store_options::engine_log).
enum class engine_log_level : uint8_t { debug = 0, info = 1, warn = 2, error = 3, fatal = 4 };

struct store_options {
  // Written when the store is created; every later open must name the same id. Empty accepts
  // whatever is stored (read-only tools such as `energoctl inspect`).
  std::string cluster_id;
  bool create_if_missing = true;
  // Memory bounds (see README "Tuning"): one LRU block cache shared by all column families,
  // and a WriteBufferManager capping all memtables together.
  std::size_t block_cache_bytes = 64u << 20;
  std::size_t write_buffer_bytes_total = 64u << 20;
  std::size_t write_buffer_bytes_per_family = 16u << 20;
  std::size_t wal_bytes_max = 256u << 20;  // forces memtable flushes so the WAL stays bounded
  int background_jobs = 2;                 // flush + compaction threads (2-core machines)
  // Recovery verifies the last N log entries of every group (checksum, contiguity, terms);
  // SIZE_MAX verifies the whole log. Reads verify every entry they return regardless.
  std::size_t recovery_tail_entries = 4096;
  // Operator escape hatch, off by default: if a group's log tail fails verification ABOVE the
  // persisted commit and applied index, delete it from the first bad entry on instead of
  // refusing to start. Only safe if those entries were never acknowledged (README §Recovery).
  bool truncate_corrupt_tail = false;
  // The Env (file system, clock, threads) RocksDB uses; null = rocksdb::Env::Default(). The store
  // keeps a reference until it is destroyed. Tests pass storage/fault_fs through make_fault_env().
  std::shared_ptr<rocksdb::Env> env;
  // Where RocksDB's informational log goes (warnings and errors only). Never a file on the data
  // disk: RocksDB's file logger asserts (SIGABRT in Debian's 7.8.3 build) on the line after a
  // failed append, so a full disk used to abort the process there. Null: standard error.
  std::function<void(engine_log_level, std::string_view)> engine_log;
  // Test-only mutant switch: false writes batches with WriteOptions::sync = false, which breaks
  // the durability promise below; tests/storage/fault_fs_test.cpp proves it then detects losses.
  bool sync_writes = true;
};

struct group_recovery {
  group_id group{0};
  log_index first_index{1};
  log_index last_index{0};
  hard_state_record hard_state;
  log_index applied_index{0};
  uint64_t entries_verified{0};
  uint64_t entries_truncated{0};  // only with store_options::truncate_corrupt_tail
};

struct recovery_report {
  bool created{false};  // the directory held no store before this open
  uint64_t format_upgraded_from{0};  // non-zero: this open rewrote the store's format version from this one
  std::vector<group_recovery> groups;
};

// Whether a persist() call syncs (see persist).
enum class log_sync : uint8_t { always, commit_only_deferred };

// Writes and syncs of the Raft log writer (persist), for the node's metrics.
struct log_write_counts {
  uint64_t synced{0};
  uint64_t deferred{0};
};

// One group's share of a persist() call.
struct group_write {
  group_id group{0};
  // Contiguous entries. Any stored entry at or above entries[0].index is replaced (conflicting
  // suffix truncated in the same batch); entries at or below the compacted index are skipped.
  std::span<const log_record> entries;
  std::optional<hard_state_record> hard_state;
};

class node_store {
 public:
  static constexpr const char* family_log = "log";
  static constexpr const char* family_raft_state = "raft_state";
  static constexpr const char* family_snapshot = "snapshot";
  static constexpr const char* family_state = "state";
  static constexpr const char* family_meta = "meta";

  [[nodiscard]] static storage_result<std::unique_ptr<node_store>> open(const std::string& dir,
                                                                        const store_options& options);
  ~node_store();
  node_store(const node_store&) = delete;
  node_store& operator=(const node_store&) = delete;

  // Flushes nothing (all writes are already synced) and releases the directory's LOCK.
  [[nodiscard]] storage_result<void> close();

  [[nodiscard]] const recovery_report& recovery() const noexcept { return recovery_; }
  [[nodiscard]] const std::string& cluster_id() const noexcept { return cluster_id_; }
  [[nodiscard]] std::vector<group_id> groups() const;
  // The write error that stopped the store (see "Failed writes are sticky"), if any. A
  // background error of RocksDB (a flush, a compaction or a WAL write that failed, e.g. on a full
  // disk) stops the store the same way; the owner polls this to stop at once.
  [[nodiscard]] std::optional<storage_error> failed() const;
  // Bytes available to this process on the file system of the store's directory (statvfs).
  [[nodiscard]] storage_result<uint64_t> disk_free_bytes() const;

  // ---- Raft log and hard state -------------------------------------------------------------
  // Entries and hard states of one or more groups in ONE synced WriteBatch.
  //
  // log_sync::commit_only_deferred: the batch holds no entries and its hard states differ from the
  // stored ones in the commit index only; it is written to the WAL without a sync (etcd's
  // MustSync). Raft's commit index is volatile state: a crash may bring back an older commit, the
  // leader tells it again, and nothing acknowledged depends on it being durable. The next synced
  // write of this store (a raft append, an apply batch) makes it durable, since the WAL is synced
  // in order. Any other content with this mode is refused (invalid_argument) before anything is
  // written, so entries, terms and votes are always synced.
  [[nodiscard]] storage_result<void> persist(std::span<const group_write> writes,
                                             log_sync sync = log_sync::always);
  [[nodiscard]] log_write_counts log_writes() const noexcept {
    return {log_writes_synced_.load(std::memory_order_relaxed), log_writes_deferred_.load(std::memory_order_relaxed)};
  }
  [[nodiscard]] storage_result<void> append(group_id group, std::span<const log_record> entries);
  [[nodiscard]] storage_result<void> save_hard_state(group_id group, const hard_state_record& hs);

  // Entries [lo, hi), stopping before the total payload would exceed max_bytes but always
  // returning at least one entry when lo < hi. Every entry is checksum-verified.
  [[nodiscard]] storage_result<std::vector<log_record>> entries(group_id group, log_index lo, log_index hi,
                                                                std::size_t max_bytes) const;
  // Term of entry i; also answers for the last compacted index (Raft's prev-log-term check).
  [[nodiscard]] storage_result<log_term> term(group_id group, log_index i) const;
  [[nodiscard]] log_index first_index(group_id group) const;  // compacted index + 1
  [[nodiscard]] log_index last_index(group_id group) const;   // compacted index if the log is empty
  [[nodiscard]] hard_state_record hard_state(group_id group) const;
  // Drops entries <= upto. upto must be <= applied_index (the state CF then covers them).
  // Save the snapshot meta (membership) with save_snapshot() first (README "Restart recipe").
  [[nodiscard]] storage_result<void> compact(group_id group, log_index upto);

  // ---- State machine -------------------------------------------------------------------------
  // State changes and the new applied index in ONE synced WriteBatch. applied must increase.
  //
  // Staged values (state_write::staged): a synced write of a 10 MB value through the WAL holds
  // up every write queued behind it - the raft log's appends - for 100-200 ms on the bench VM
  // (each append's sync must first write back what the WAL holds before it). A staged put of at
  // least limits::state_staged_value_bytes_min is therefore written first, in chunks of
  // limits::state_staged_chunk_bytes under keys of its own version (the applied index), each chunk
  // its own write followed by a WAL sync: an append waits for one chunk's writeback at most. Only
  // then does the synced batch point the key at that version and drop the key's other versions
  // (range deletes). A crash before the batch leaves the previous value current and orphan chunks
  // that the key's next staged write removes. get_state() resolves a staged key transparently
  // (chunk sizes and the value's CRC32C are checked); scan_state() does not list staged keys. A
  // smaller staged put is written inline (and drops any versions); an inline put of the key also
  // replaces a staged value; delete a staged key with a staged delete; install_snapshot()
  // replaces every key. Keys beginning with 0x01 are reserved for this.
  [[nodiscard]] storage_result<void> apply_batch(group_id group, std::span<const state_write> writes,
                                                 log_index applied);
  [[nodiscard]] log_index applied_index(group_id group) const;
  [[nodiscard]] storage_result<std::optional<std::string>> get_state(group_id group, std::string_view key) const;
  // Up to `limit` key/values of the group with key >= start_key, in key order.
  [[nodiscard]] storage_result<std::vector<std::pair<std::string, std::string>>> scan_state(
      group_id group, std::string_view start_key, std::size_t limit) const;

  // ---- Snapshots -----------------------------------------------------------------------------
  // Stores a locally taken snapshot (meta + blob in chunks); the log is not touched.
  [[nodiscard]] storage_result<void> save_snapshot(group_id group, const snapshot_meta_record& meta,
                                                   std::string_view data);
  // Installs a snapshot received from the leader, atomically: meta + blob; the group's state is
  // replaced by `state` and applied = meta.index; the log keeps entries after meta.index only if
  // it holds meta.index with meta.term (Raft §7), else it is discarded; optional hard state.
  [[nodiscard]] storage_result<void> install_snapshot(group_id group, const snapshot_meta_record& meta,
                                                      std::string_view data, std::span<const state_write> state,
                                                      std::optional<hard_state_record> hs);
  [[nodiscard]] storage_result<std::optional<snapshot_meta_record>> snapshot_meta(group_id group) const;
  [[nodiscard]] storage_result<std::string> snapshot_data(group_id group) const;

  // ---- Maintenance -----------------------------------------------------------------------------
  // A consistent, openable copy of the whole store in `dir` (hard links where possible).
  [[nodiscard]] storage_result<void> create_checkpoint(const std::string& dir);
  // Writes memtables to SST files (tests and orderly shutdown; durability does not need it).
  [[nodiscard]] storage_result<void> flush();

 private:
  struct group_state {
    log_index compacted_index{0};
    log_term compacted_term{0};
    log_index last_index{0};
    log_term last_term{0};
    log_index applied_index{0};
    hard_state_record hard_state;
  };
  struct families;

  node_store();
  // open() without the atomic creation: `in_place` creates a missing store directly in dir.
  static storage_result<std::unique_ptr<node_store>> open_impl(const std::string& dir, const store_options& options,
                                                               bool in_place);
  // A missing store is made in a sibling directory and renamed into place once complete.
  static storage_result<std::unique_ptr<node_store>> create(const std::string& dir, const store_options& options);
  storage_result<void> init_meta(bool created, const store_options& options);
  storage_result<void> recover(const store_options& options);
  storage_result<void> recover_group(group_id group, const store_options& options, group_recovery& report);
  storage_result<log_term> term_in(group_id group, log_index i, const group_state& gs) const;
  storage_result<std::optional<std::string>> get_raw(rocksdb::ColumnFamilyHandle* family, const std::string& key) const;
  group_state state_of(group_id group) const;
  storage_result<void> write_synced(rocksdb::WriteBatch& batch, std::string_view what, bool sync = true);
  // One chunk of a staged value (apply_batch): written through the WAL, then the WAL synced.
  storage_result<void> write_staged_chunk(rocksdb::WriteBatch& batch, std::string_view what);
  storage_result<void> check_not_failed() const;
  void mark_failed(storage_error e);
  class error_listener;

  std::shared_ptr<rocksdb::Env> env_;  // store_options::env, kept alive for db_ (declared first, destroyed last)
  std::unique_ptr<rocksdb::DB> db_;
  bool sync_writes_{true};
  std::atomic<uint64_t> log_writes_synced_{0};
  std::atomic<uint64_t> log_writes_deferred_{0};
  std::unique_ptr<families> families_;
  std::string cluster_id_;
  std::string dir_;
  recovery_report recovery_;

  mutable std::mutex groups_mutex_;  // guards groups_ and failed_; held briefly, never across I/O
  std::map<group_id, group_state> groups_;
  std::optional<storage_error> failed_;  // sticky: set by the first failed write
  std::mutex log_write_mutex_;    // serialises log/hard-state/snapshot mutations
  std::mutex apply_write_mutex_;  // serialises apply_batch
};

}  // namespace energo::storage
