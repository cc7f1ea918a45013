#include "storage/node_store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <rocksdb/listener.h>

#include "common/assert.hpp"
#include "storage/codec.hpp"
#include "storage/crc32c.hpp"
#include "storage/log_recovery.hpp"

namespace energo::storage {

// ---- The one rocksdb::Status boundary -------------------------------------------------------
namespace {

storage_error to_error(const rocksdb::Status& s, std::string_view what) {
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return {storage_errc::corruption, std::move(message)};
  if (s.IsNotFound()) return {storage_errc::not_found, std::move(message)};
  if (s.IsInvalidArgument() || s.IsNotSupported()) return {storage_errc::invalid_argument, std::move(message)};
  // LockFile() failures (another process, or another handle in this process) are IOErrors whose
  // text names the LOCK file: "While lock file: <dir>/LOCK: Resource temporarily unavailable".
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return {storage_errc::already_open, std::move(message) + " (is another energo process using this directory?)"};
  }
  return {storage_errc::io_error, std::move(message)};
}

#define ENERGO_STORAGE_TRY(status_expr, what)                               \
  do {                                                                      \
    const rocksdb::Status energo_status_ = (status_expr);                   \
    if (!energo_status_.ok()) return unexpected{to_error(energo_status_, (what))}; \
  } while (0)

constexpr const char* meta_key_format = "format_version";
constexpr const char* meta_key_cluster = "cluster_id";

std::string group_text(group_id g) { return "group " + std::to_string(g); }

storage_result<void> check_group(group_id g) {
  // The key range of group g ends at the prefix of g + 1, so the last id is reserved.
  if (g == std::numeric_limits<group_id>::max()) {
    return make_error(storage_errc::invalid_argument, "group id 2^64-1 is reserved");
  }
  return ok;
}

std::string group_end(group_id g) { return codec::group_prefix(g + 1); }

// RocksDB's informational log, kept off the data disk (store_options::engine_log says why).
class sink_logger final : public rocksdb::Logger {
 public:
  explicit sink_logger(std::function<void(engine_log_level, std::string_view)> sink)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), sink_(std::move(sink)) {}
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char line[1024];  // longer lines are cut: this is a diagnostic, never data
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(line, sizeof(line), format, copy);
    va_end(copy);
    if (n < 0) return;
    const std::string_view text(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof(line) - 1));
    const auto severity = level >= rocksdb::InfoLogLevel::FATAL_LEVEL ? engine_log_level::fatal
                          : level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? engine_log_level::error
                          : level >= rocksdb::InfoLogLevel::WARN_LEVEL  ? engine_log_level::warn
                                                                        : engine_log_level::info;
    if (sink_) {
      sink_(severity, text);
    } else {
      std::fprintf(stderr, "rocksdb: %.*s\n", static_cast<int>(text.size()), text.data());
    }
  }

 private:
  std::function<void(engine_log_level, std::string_view)> sink_;
};

}  // namespace

// A background error (a flush, a compaction or a WAL write failed: a full disk, an I/O error)
// stops the store like a failed synced write: RocksDB stops accepting writes, and nothing may be
// acknowledged any more. Automatic recovery is declined: the node stops and a restart recovers.
class node_store::error_listener final : public rocksdb::EventListener {
 public:
  explicit error_listener(node_store* store) : store_(store) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override {
    if (bg_error == nullptr || bg_error->ok()) return;
    store_->mark_failed(to_error(*bg_error, "background " + std::string(reason_text(reason))));
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status, bool* auto_recovery) override {
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

 private:
  static std::string_view reason_text(rocksdb::BackgroundErrorReason r) {
    switch (r) {
      case rocksdb::BackgroundErrorReason::kFlush: return "flush";
      case rocksdb::BackgroundErrorReason::kCompaction: return "compaction";
      case rocksdb::BackgroundErrorReason::kWriteCallback: return "write";
      case rocksdb::BackgroundErrorReason::kMemTable: return "memtable";
      case rocksdb::BackgroundErrorReason::kManifestWrite: return "manifest write";
      case rocksdb::BackgroundErrorReason::kFlushNoWAL: return "flush";
      case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL: return "manifest write";
    }
    return "error";
  }
  node_store* store_;  // owns the DB, which is closed before the store is destroyed
};

void node_store::mark_failed(storage_error e) {
  std::lock_guard lock(groups_mutex_);
  if (!failed_) failed_ = std::move(e);
}

storage_result<uint64_t> node_store::disk_free_bytes() const {
  struct statvfs v {};
  if (::statvfs(dir_.c_str(), &v) != 0) return make_error(storage_errc::io_error, "statvfs " + dir_ + " failed");
  return static_cast<uint64_t>(v.f_bavail) * static_cast<uint64_t>(v.f_frsize);
}

struct node_store::families {
  rocksdb::ColumnFamilyHandle* log = nullptr;
  rocksdb::ColumnFamilyHandle* raft_state = nullptr;
  rocksdb::ColumnFamilyHandle* snapshot = nullptr;
  rocksdb::ColumnFamilyHandle* state = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> all;  // includes "default", owned; destroyed before the DB
};

node_store::node_store() : families_(std::make_unique<families>()) {}

node_store::~node_store() {
  // A destructor cannot report; callers who care call close() first. Deliberately ignored here.
  (void)close();
}

storage_result<void> node_store::close() {
  if (!db_) return ok;
  rocksdb::Status first_error;
  for (auto* handle : families_->all) {
    const rocksdb::Status s = db_->DestroyColumnFamilyHandle(handle);
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  families_->all.clear();
  const rocksdb::Status s = db_->Close();
  if (!s.ok() && first_error.ok()) first_error = s;
  db_.reset();
  ENERGO_STORAGE_TRY(first_error, "close");
  return ok;
}

// ---- Open ---------------------------------------------------------------------------------------

namespace {

namespace fsys = std::filesystem;

// The sibling directories a creation uses: "<dir>.creating.<pid>".
std::string creation_prefix(const fsys::path& dir) { return dir.filename().string() + ".creating."; }

// Removes what creations by processes that no longer run left behind (a crash mid-creation).
void remove_stale_creations(const fsys::path& dir) {
  std::error_code ec;
  const auto prefix = creation_prefix(dir);
  for (const auto& e : fsys::directory_iterator(dir.parent_path(), ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fsys::remove_all(e.path(), ec);
  }
}

bool sync_directory(const fsys::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

storage_result<std::unique_ptr<node_store>> node_store::open(const std::string& dir, const store_options& options) {
  return open_impl(dir, options, false);
}

// A store is created whole or not at all. RocksDB creates a database and then its column families
// one by one: a process killed in between (fault-sweep seed 8105: a node killed ~70 ms into its
// first start) left a directory that every later open refused as "not an energo store". So the
// store is created and its meta written in "<dir>.creating.<pid>", closed, synced, and renamed onto
// dir (absent or an empty directory); a crash leaves only the sibling, removed by the next
// creation. If another process created the store meanwhile, the rename fails and its store is
// opened. With a test Env (storage/fault_fs) the store is created in place: the Env's view of the
// files would not follow a rename done outside it.
storage_result<std::unique_ptr<node_store>> node_store::create(const std::string& dir, const store_options& options) {
  fsys::path target = fsys::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "a/b/" names a/b
  if (target.parent_path().empty()) target = fsys::current_path() / target;
  remove_stale_creations(target);
  const fsys::path tmp = target.parent_path() / (creation_prefix(target) + std::to_string(::getpid()));
  std::error_code ec;
  fsys::remove_all(tmp, ec);
  // Made first: RocksDB lists the directory before creating it and logs an error when it is absent.
  fsys::create_directory(tmp, ec);
  {
    auto made = open_impl(tmp.string(), options, true);
    if (!made) {
      fsys::remove_all(tmp, ec);
      return unexpected{made.error()};
    }
    if (auto r = (*made)->close(); !r) {
      fsys::remove_all(tmp, ec);
      return unexpected{r.error()};
    }
  }
  if (!sync_directory(tmp)) {
    fsys::remove_all(tmp, ec);
    return make_error(storage_errc::io_error, "sync " + tmp.string() + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    fsys::remove_all(tmp, ec);
    if (err != ENOTEMPTY && err != EEXIST) {
      return make_error(storage_errc::io_error, "rename " + tmp.string() + " to " + target.string() + ": " + std::strerror(err));
    }
    return open_impl(dir, options, true);  // another process's store (or files that are not one: refused there)
  }
  if (!sync_directory(target.parent_path())) {
    return make_error(storage_errc::io_error, "sync " + target.parent_path().string() + ": " + std::strerror(errno));
  }
  auto opened = open_impl(dir, options, true);
  if (opened) (*opened)->recovery_.created = true;
  return opened;
}

storage_result<std::unique_ptr<node_store>> node_store::open_impl(const std::string& dir, const store_options& options,
                                                                  bool in_place) {
  // Tuning (README "Tuning"): bounded memory, synced WAL, point-in-time WAL recovery.
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = options.background_jobs;
  db_options.max_total_wal_size = options.wal_bytes_max;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes_total);
  db_options.bytes_per_sync = 1u << 20;
  // Raft's log appends (small, synced) and apply's durable points (one batch of ~10 MB) share
  // the WAL: with pipelining an append waits only for the big batch's WAL write, not for its
  // memtable insert as well.
  db_options.enable_pipelined_write = true;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 8u << 20;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.info_log = std::make_shared<sink_logger>(options.engine_log);
  if (options.env) db_options.env = options.env.get();  // tests: storage/fault_fs

  const auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto family_options = [&](bool bloom, rocksdb::CompressionType compression) {
    rocksdb::ColumnFamilyOptions cf;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.cache_index_and_filter_blocks = true;  // index/filter memory counts against the cache bound
    if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.write_buffer_size = options.write_buffer_bytes_per_family;
    cf.max_write_buffer_number = 3;
    cf.compression = compression;
    cf.level_compaction_dynamic_level_bytes = true;
    return cf;
  };
  // The log is short-lived (compacted away) and read by exact key: no compression, no bloom.
  // State is long-lived and read by point lookups: bloom + LZ4.
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, family_options(false, rocksdb::kNoCompression)},
      {family_log, family_options(false, rocksdb::kNoCompression)},
      {family_raft_state, family_options(false, rocksdb::kNoCompression)},
      {family_snapshot, family_options(false, rocksdb::kLZ4Compression)},
      {family_state, family_options(true, rocksdb::kLZ4Compression)},
      {family_meta, family_options(false, rocksdb::kNoCompression)},
  };

  // Does a database exist here already, and is it ours?
  std::vector<std::string> existing;
  const rocksdb::Status list_status = rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
  const bool created = !list_status.ok();
  if (created && !options.create_if_missing) {
    return make_error(storage_errc::not_found, "no energo store in " + dir + " (" + list_status.ToString() + ")");
  }
  if (created && !in_place && !options.env) return create(dir, options);
  if (!created) {
    for (const auto& d : descriptors) {
      if (std::find(existing.begin(), existing.end(), d.name) == existing.end()) {
        return make_error(storage_errc::format_mismatch,
                          dir + " holds a RocksDB database without column family '" + d.name +
                              "': not an energo store");
      }
    }
    if (existing.size() != descriptors.size()) {
      return make_error(storage_errc::format_mismatch, dir + " has column families this build does not know");
    }
  }

  std::unique_ptr<node_store> store(new node_store());
  db_options.listeners.push_back(std::make_shared<error_listener>(store.get()));
  store->dir_ = dir;
  store->env_ = options.env;
  store->sync_writes_ = options.sync_writes;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ENERGO_STORAGE_TRY(rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw), "open " + dir);
  store->db_.reset(raw);
  ENERGO_ASSERT(handles.size() == descriptors.size(), "RocksDB returned one handle per descriptor");
  store->families_->all = handles;
  store->families_->log = handles[1];
  store->families_->raft_state = handles[2];
  store->families_->snapshot = handles[3];
  store->families_->state = handles[4];
  store->families_->meta = handles[5];

  if (auto r = store->init_meta(created, options); !r) return unexpected{r.error()};
  store->recovery_.created = created;
  if (auto r = store->recover(options); !r) return unexpected{r.error()};
  return store;
}

storage_result<std::optional<std::string>> node_store::get_raw(rocksdb::ColumnFamilyHandle* family,
                                                               const std::string& key) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  ENERGO_STORAGE_TRY(s, "read");
  return std::optional<std::string>{std::move(value)};
}

storage_result<void> node_store::init_meta(bool created, const store_options& options) {
  const auto put_current_format = [&](rocksdb::WriteBatch& batch) {
    return batch.Put(families_->meta, meta_key_format, codec::seal(meta_key_format, codec::encode_u64(format_version)));
  };
  auto version = get_raw(families_->meta, meta_key_format);
  if (!version) return unexpected{version.error()};
  if (!version->has_value()) {
    if (!created) {
      return make_error(storage_errc::format_mismatch, "store has no format version: not an energo store");
    }
    if (options.cluster_id.empty()) {
      return make_error(storage_errc::invalid_argument, "creating a store needs a cluster id");
    }
    rocksdb::WriteBatch batch;
    ENERGO_STORAGE_TRY(put_current_format(batch), "batch");
    ENERGO_STORAGE_TRY(batch.Put(families_->meta, meta_key_cluster, codec::seal(meta_key_cluster, options.cluster_id)),
                       "batch");
    if (auto r = write_synced(batch, "write store meta"); !r) return r;
    cluster_id_ = options.cluster_id;
    return ok;
  }
  auto body = codec::unseal(meta_key_format, **version);
  if (!body) return unexpected{body.error()};
  auto stored_version = codec::decode_u64(*body);
  if (!stored_version) return unexpected{stored_version.error()};
  if (*stored_version < format_version_oldest || *stored_version > format_version) {
    return make_error(storage_errc::format_mismatch,
                      "store format version " + std::to_string(*stored_version) + ", this build reads versions " +
                          std::to_string(format_version_oldest) + " to " + std::to_string(format_version) +
                          (*stored_version > format_version ? " (written by a newer energo-node)" : ""));
  }
  auto cluster = get_raw(families_->meta, meta_key_cluster);
  if (!cluster) return unexpected{cluster.error()};
  if (!cluster->has_value()) return make_error(storage_errc::corruption, "store meta has no cluster id");
  auto cluster_body = codec::unseal(meta_key_cluster, **cluster);
  if (!cluster_body) return unexpected{cluster_body.error()};
  cluster_id_.assign(*cluster_body);
  if (!options.cluster_id.empty() && options.cluster_id != cluster_id_) {
    return make_error(storage_errc::cluster_mismatch, "store belongs to cluster '" + cluster_id_ +
                                                          "', this node is configured for '" +
                                                          options.cluster_id + "'");
  }
  if (*stored_version < format_version) {
    // Upgrade (format_version in node_store.hpp): every older layout is a subset of this one, so
    // only the version changes; from now on a build that reads only the old layout refuses it.
    rocksdb::WriteBatch batch;
    ENERGO_STORAGE_TRY(put_current_format(batch), "batch");
    if (auto r = write_synced(batch, "upgrade store format"); !r) return r;
    recovery_.format_upgraded_from = *stored_version;
  }
  return ok;
}

// ---- Recovery -------------------------------------------------------------------------------
// RocksDB replays the WAL with kPointInTimeRecovery: it stops at the first torn or corrupt WAL
// record, so a batch whose synced write never returned is either wholly present or wholly
// absent. Our checks then catch what RocksDB cannot: a record damaged after it was written
// (bit rot, a bad copy, a bug). Such damage is refused, not repaired: a missing tail is simply
// absent, while a corrupt entry may have been acknowledged to a leader, and silently dropping an
// acknowledged entry can lose a committed one.

storage_result<void> node_store::recover(const store_options& options) {
  // Every group has at least one key in log, raft_state or snapshot; walk each family by group
  // prefix, jumping to the next group's prefix after the first hit (O(groups) seeks).
  std::vector<group_id> found;
  for (auto* family : {families_->log, families_->raft_state, families_->snapshot}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
    it->SeekToFirst();
    while (it->Valid()) {
      const rocksdb::Slice key = it->key();
      if (key.size() < codec::group_prefix_bytes) {
        return make_error(storage_errc::corruption, std::string("malformed key in ") + family->GetName());
      }
      const group_id g = codec::get_be64(key.data());
      found.push_back(g);
      if (found.size() > limits::groups_max * 3) {
        return make_error(storage_errc::limit_exceeded, "more than groups_max groups in the store");
      }
      if (g == std::numeric_limits<group_id>::max()) break;
      it->Seek(group_end(g));
    }
    ENERGO_STORAGE_TRY(it->status(), "scan groups");
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  for (group_id g : found) {
    if (auto r = check_group(g); !r) return make_error(storage_errc::corruption, "reserved group id in store");
    group_recovery report;
    if (auto r = recover_group(g, options, report); !r) return r;
    recovery_.groups.push_back(report);
  }
  return ok;
}

storage_result<void> node_store::recover_group(group_id g, const store_options& options, group_recovery& report) {
  group_state gs;
  const std::string where = group_text(g);
  // Raft state records (all sealed: checksummed over key || body).
  {
    const std::string k = codec::tagged_key(g, codec::tag_hard_state);
    auto v = get_raw(families_->raft_state, k);
    if (!v) return unexpected{v.error()};
    if (v->has_value()) {
      auto body = codec::unseal(k, **v);
      if (!body) return make_error(storage_errc::corruption, where + " hard state: " + body.error().message);
      auto hs = codec::decode_hard_state(*body);
      if (!hs) return unexpected{hs.error()};
      gs.hard_state = *hs;
    }
  }
  {
    const std::string k = codec::tagged_key(g, codec::tag_compacted);
    auto v = get_raw(families_->raft_state, k);
    if (!v) return unexpected{v.error()};
    if (v->has_value()) {
      auto body = codec::unseal(k, **v);
      if (!body) return make_error(storage_errc::corruption, where + " compacted marker: " + body.error().message);
      auto it = codec::decode_index_term(*body);
      if (!it) return unexpected{it.error()};
      gs.compacted_index = it->index;
      gs.compacted_term = it->term;
    }
  }
  {
    const std::string k = codec::tagged_key(g, codec::tag_applied);
    auto v = get_raw(families_->raft_state, k);
    if (!v) return unexpected{v.error()};
    if (v->has_value()) {
      auto body = codec::unseal(k, **v);
      if (!body) return make_error(storage_errc::corruption, where + " applied index: " + body.error().message);
      auto applied = codec::decode_u64(*body);
      if (!applied) return unexpected{applied.error()};
      gs.applied_index = *applied;
    }
  }
  gs.last_index = gs.compacted_index;
  gs.last_term = gs.compacted_term;

  // Log bounds: the log of g is exactly the keys [compacted + 1, last].
  const std::string lower = codec::group_prefix(g);
  const std::string upper = group_end(g);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, families_->log));
  it->Seek(lower);
  log_index first_stored = 0;
  log_index last_stored = 0;
  if (it->Valid()) {
    group_id kg = 0;
    if (!codec::decode_log_key(std::string_view(it->key().data(), it->key().size()), kg, first_stored) || kg != g) {
      return make_error(storage_errc::corruption, where + ": malformed log key");
    }
    it->SeekToLast();
    ENERGO_ASSERT(it->Valid() || !it->status().ok(), "a non-empty range has a last key");
    if (it->Valid() && !codec::decode_log_key(std::string_view(it->key().data(), it->key().size()), kg, last_stored)) {
      return make_error(storage_errc::corruption, where + ": malformed log key");
    }
  }
  ENERGO_STORAGE_TRY(it->status(), where + ": scan log bounds");

  if (first_stored != 0) {
    if (auto r = check_log_start(where, first_stored, gs.compacted_index); !r) return r;
    // Verify the tail window: checksums, contiguous indexes, non-decreasing terms.
    const uint64_t span = last_stored - first_stored + 1;
    const log_index start = span > options.recovery_tail_entries ? last_stored - options.recovery_tail_entries + 1
                                                                 : first_stored;
    log_verifier verify(g, start, start == first_stored ? gs.compacted_term : 0, where);
    std::optional<storage_error> problem;
    for (it->Seek(codec::log_key(g, start)); it->Valid(); it->Next()) {
      auto record = verify.next(std::string_view(it->key().data(), it->key().size()),
                                std::string_view(it->value().data(), it->value().size()));
      if (!record) {
        problem = record.error();
        break;
      }
      ++report.entries_verified;
    }
    if (!it->status().ok() && !problem) problem = to_error(it->status(), where + ": verify log tail");
    if (problem) {
      const log_index bad = verify.expected();  // first index that failed verification
      if (options.truncate_corrupt_tail && bad > gs.hard_state.commit && bad > gs.applied_index) {
        rocksdb::WriteBatch batch;
        ENERGO_STORAGE_TRY(batch.DeleteRange(families_->log, codec::log_key(g, bad), upper), "batch");
        if (auto r = write_synced(batch, where + ": truncate corrupt tail"); !r) return r;
        report.entries_truncated = last_stored - bad + 1;
        last_stored = bad - 1;
      } else {
        return make_error(problem->code, "refusing to start: " + problem->message +
                                              " (persisted commit " + std::to_string(gs.hard_state.commit) + ")");
      }
    }
    if (last_stored >= first_stored) {
      gs.last_index = last_stored;
      auto t = term_in(g, last_stored, gs);
      if (!t) return unexpected{t.error()};
      gs.last_term = *t;
    }
  }
  if (auto r = check_commit_within_log(where, gs.hard_state.commit, gs.last_index); !r) {
    return make_error(r.error().code, "refusing to start: " + r.error().message);
  }
  report.group = g;
  report.first_index = gs.compacted_index + 1;
  report.last_index = gs.last_index;
  report.hard_state = gs.hard_state;
  report.applied_index = gs.applied_index;
  std::lock_guard lock(groups_mutex_);
  groups_[g] = gs;
  return ok;
}

// ---- Helpers ------------------------------------------------------------------------------------

storage_result<void> node_store::check_not_failed() const {
  std::lock_guard lock(groups_mutex_);
  if (!failed_) return ok;
  return make_error(failed_->code, "store stopped by an earlier failed write; reopen to recover (" +
                                       failed_->message + ")");
}

std::optional<storage_error> node_store::failed() const {
  std::lock_guard lock(groups_mutex_);
  return failed_;
}

storage_result<void> node_store::write_synced(rocksdb::WriteBatch& batch, std::string_view what, bool sync) {
  if (auto r = check_not_failed(); !r) return r;
  if (batch.GetDataSize() > limits::write_bytes_max) {
    return make_error(storage_errc::limit_exceeded, std::string(what) + ": write of " +
                                                        std::to_string(batch.GetDataSize()) +
                                                        " bytes exceeds write_bytes_max");
  }
  rocksdb::WriteOptions wo;
  // Durability is promised to the caller when this returns (Raft persists before replying); the
  // one unsynced caller is persist's commit_only_deferred.
  wo.sync = sync_writes_ && sync;
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    // Sticky (node_store.hpp): after a failed write, e.g. an fsync error, nothing written since
    // the last good sync is known to be durable, so acknowledging anything later would lie.
    storage_error e = to_error(s, what);
    std::lock_guard lock(groups_mutex_);
    if (!failed_) failed_ = e;
    return unexpected{std::move(e)};
  }
  // A concurrent writer's batch may have failed while ours was in flight (the raft and apply
  // actors write concurrently); after that nothing is acknowledged, even a write that returned ok.
  return check_not_failed();
}

storage_result<void> node_store::write_staged_chunk(rocksdb::WriteBatch& batch, std::string_view what) {
  if (auto r = check_not_failed(); !r) return r;
  // Through the WAL, not synced by this write: nothing refers to the chunk yet. The sync right
  // after it keeps at most one chunk unsynced in the WAL, so that a raft append's synced write,
  // which must sync whatever the WAL holds before it, never waits for more than one chunk's
  // writeback (node_store.hpp "Staged values").
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (s.ok() && sync_writes_) s = db_->SyncWAL();
  if (!s.ok()) {
    storage_error e = to_error(s, what);
    mark_failed(e);  // sticky, as in write_synced
    return unexpected{std::move(e)};
  }
  return check_not_failed();
}

node_store::group_state node_store::state_of(group_id group) const {
  std::lock_guard lock(groups_mutex_);
  auto it = groups_.find(group);
  return it == groups_.end() ? group_state{} : it->second;
}

std::vector<group_id> node_store::groups() const {
  std::lock_guard lock(groups_mutex_);
  std::vector<group_id> out;
  for (const auto& [g, gs] : groups_) out.push_back(g);
  return out;
}

log_index node_store::first_index(group_id group) const { return state_of(group).compacted_index + 1; }
log_index node_store::last_index(group_id group) const { return state_of(group).last_index; }
hard_state_record node_store::hard_state(group_id group) const { return state_of(group).hard_state; }
log_index node_store::applied_index(group_id group) const { return state_of(group).applied_index; }

storage_result<log_term> node_store::term_in(group_id group, log_index i, const group_state& gs) const {
  if (i == gs.compacted_index) return gs.compacted_term;  // includes i == 0 on an empty log
  if (i < gs.compacted_index) {
    return make_error(storage_errc::compacted, group_text(group) + ": index " + std::to_string(i) +
                                                   " is compacted (compacted up to " +
                                                   std::to_string(gs.compacted_index) + ")");
  }
  if (i > gs.last_index) {
    return make_error(storage_errc::unavailable, group_text(group) + ": index " + std::to_string(i) +
                                                     " is beyond the last index " + std::to_string(gs.last_index));
  }
  const std::string key = codec::log_key(group, i);
  auto v = get_raw(families_->log, key);
  if (!v) return unexpected{v.error()};
  if (!v->has_value()) {
    return make_error(storage_errc::corruption, group_text(group) + ": log entry " + std::to_string(i) +
                                                    " is missing inside the log bounds");
  }
  auto record = codec::decode_log_value(key, **v);
  if (!record) return unexpected{record.error()};
  return record->term;
}

storage_result<log_term> node_store::term(group_id group, log_index i) const {
  if (auto r = check_group(group); !r) return unexpected{r.error()};
  return term_in(group, i, state_of(group));
}

// ---- Log writes ------------------------------------------------------------------------------

storage_result<void> node_store::persist(std::span<const group_write> writes, log_sync sync) {
  if (auto r = check_not_failed(); !r) return r;
  const bool deferred = sync == log_sync::commit_only_deferred;
  std::lock_guard write_lock(log_write_mutex_);
  rocksdb::WriteBatch batch;
  std::vector<std::pair<group_id, group_state>> updated;
  std::size_t entry_count = 0;
  for (const group_write& w : writes) {
    if (auto r = check_group(w.group); !r) return r;
    const std::string where = group_text(w.group);
    for (const auto& [g, unused] : updated) {
      if (g == w.group) return make_error(storage_errc::invalid_argument, where + " appears twice in one persist");
    }
    group_state gs = state_of(w.group);
    const group_state before = gs;

    // Entries at or below the compacted index are committed and, by Log Matching, identical to
    // what was compacted: skip them (as etcd's MemoryStorage::Append does).
    std::span<const log_record> entries = w.entries;
    while (!entries.empty() && entries.front().index <= gs.compacted_index) entries = entries.subspan(1);
    if (deferred && !w.entries.empty()) {
      return make_error(storage_errc::invalid_argument, where + ": entries in a persist without a sync");
    }
    entry_count += entries.size();
    if (entry_count > limits::entries_per_write_max) {
      return make_error(storage_errc::limit_exceeded, "persist of more than entries_per_write_max entries");
    }
    if (!entries.empty()) {
      const log_index first = entries.front().index;
      if (first > gs.last_index + 1) {
        return make_error(storage_errc::invalid_argument, where + ": append at index " + std::to_string(first) +
                                                              " leaves a gap after last index " +
                                                              std::to_string(gs.last_index));
      }
      auto prev_term = term_in(w.group, first - 1, gs);
      if (!prev_term) return unexpected{prev_term.error()};
      log_term previous = *prev_term;
      for (std::size_t k = 0; k < entries.size(); ++k) {
        const log_record& e = entries[k];
        if (e.index != first + k) {
          return make_error(storage_errc::invalid_argument, where + ": appended entries are not contiguous at index " +
                                                                std::to_string(e.index));
        }
        if (e.term < previous) {
          return make_error(storage_errc::invalid_argument, where + ": term decreases at index " +
                                                                std::to_string(e.index));
        }
        if (e.payload.size() > limits::entry_payload_bytes_max) {
          return make_error(storage_errc::limit_exceeded, where + ": entry " + std::to_string(e.index) +
                                                              " exceeds entry_payload_bytes_max");
        }
        previous = e.term;
      }
      if (first <= gs.last_index) {
        // Truncating a conflicting suffix. Committed entries may be rewritten only with the same
        // term (then they are the same entry); anything else would lose a committed entry.
        if (entries.back().index < std::min(gs.last_index, gs.hard_state.commit)) {
          return make_error(storage_errc::invalid_argument, where + ": append ending at " +
                                                                std::to_string(entries.back().index) +
                                                                " would truncate committed entries up to " +
                                                                std::to_string(gs.hard_state.commit));
        }
        const log_index overlap_end = std::min({gs.last_index, gs.hard_state.commit, entries.back().index});
        for (log_index i = first; i <= overlap_end; ++i) {
          auto t = term_in(w.group, i, gs);
          if (!t) return unexpected{t.error()};
          if (*t != entries[i - first].term) {
            return make_error(storage_errc::invalid_argument, where + ": append would overwrite committed entry " +
                                                                  std::to_string(i));
          }
        }
        ENERGO_STORAGE_TRY(batch.DeleteRange(families_->log, codec::log_key(w.group, first),
                                             codec::log_key(w.group, gs.last_index + 1)),
                           "batch");
      }
      for (const log_record& e : entries) {
        const std::string key = codec::log_key(w.group, e.index);
        ENERGO_STORAGE_TRY(batch.Put(families_->log, key, codec::encode_log_value(key, e)), "batch");
      }
      gs.last_index = entries.back().index;
      gs.last_term = entries.back().term;
    }
    if (w.hard_state) {
      const hard_state_record& hs = *w.hard_state;
      if (hs.term < before.hard_state.term) {
        return make_error(storage_errc::invalid_argument, where + ": hard state term decreases");
      }
      if (hs.term == before.hard_state.term && before.hard_state.vote != 0 && hs.vote != before.hard_state.vote) {
        return make_error(storage_errc::invalid_argument, where + ": vote changes within term " +
                                                              std::to_string(hs.term));
      }
      if (hs.commit < before.hard_state.commit) {
        return make_error(storage_errc::invalid_argument, where + ": commit index decreases");
      }
      if (hs.commit > gs.last_index) {
        return make_error(storage_errc::invalid_argument, where + ": commit index " + std::to_string(hs.commit) +
                                                              " beyond last index " + std::to_string(gs.last_index));
      }
      if (deferred && (hs.term != before.hard_state.term || hs.vote != before.hard_state.vote)) {
        return make_error(storage_errc::invalid_argument, where + ": term or vote in a persist without a sync");
      }
      const std::string key = codec::tagged_key(w.group, codec::tag_hard_state);
      ENERGO_STORAGE_TRY(batch.Put(families_->raft_state, key, codec::seal(key, codec::encode_hard_state(hs))),
                         "batch");
      gs.hard_state = hs;
    }
    updated.emplace_back(w.group, gs);
  }
  if (batch.Count() == 0) return ok;
  if (auto r = write_synced(batch, deferred ? "persist commit index" : "persist log", !deferred); !r) return r;
  (deferred ? log_writes_deferred_ : log_writes_synced_).fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(groups_mutex_);
  for (auto& [g, gs] : updated) {
    // apply_batch may have moved applied_index meanwhile; it is not ours to overwrite.
    const log_index applied = groups_[g].applied_index;
    gs.applied_index = applied;
    groups_[g] = gs;
  }
  return ok;
}

storage_result<void> node_store::append(group_id group, std::span<const log_record> entries) {
  const group_write w{group, entries, std::nullopt};
  return persist(std::span<const group_write>(&w, 1));
}

storage_result<void> node_store::save_hard_state(group_id group, const hard_state_record& hs) {
  const group_write w{group, {}, hs};
  return persist(std::span<const group_write>(&w, 1));
}

storage_result<std::vector<log_record>> node_store::entries(group_id group, log_index lo, log_index hi,
                                                            std::size_t max_bytes) const {
  if (auto r = check_group(group); !r) return unexpected{r.error()};
  const group_state gs = state_of(group);
  const std::string where = group_text(group);
  if (lo > hi) return make_error(storage_errc::invalid_argument, where + ": entries(lo > hi)");
  if (lo <= gs.compacted_index) {
    return make_error(storage_errc::compacted, where + ": index " + std::to_string(lo) + " is compacted");
  }
  if (hi > gs.last_index + 1) {
    return make_error(storage_errc::unavailable, where + ": entries up to " + std::to_string(hi) +
                                                     " requested, last index is " + std::to_string(gs.last_index));
  }
  std::vector<log_record> out;
  if (lo == hi) return out;
  const std::string upper = codec::log_key(group, hi);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, families_->log));
  std::size_t bytes = 0;
  log_index expected = lo;
  for (it->Seek(codec::log_key(group, lo)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    group_id kg = 0;
    log_index index = 0;
    if (!codec::decode_log_key(key, kg, index) || kg != group || index != expected) {
      return make_error(storage_errc::corruption, where + ": log gap or bad key at expected index " +
                                                      std::to_string(expected));
    }
    auto record = codec::decode_log_value(key, std::string_view(it->value().data(), it->value().size()));
    if (!record) return unexpected{record.error()};
    if (!out.empty() && record->term < out.back().term) {
      return make_error(storage_errc::corruption, where + ": term decreases at index " + std::to_string(index));
    }
    bytes += record->payload.size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(std::move(*record));
    ++expected;
  }
  ENERGO_STORAGE_TRY(it->status(), where + ": read log");
  if (out.empty() || (expected < hi && bytes <= max_bytes)) {
    return make_error(storage_errc::corruption, where + ": log ends at index " + std::to_string(expected - 1) +
                                                    ", inside the log bounds (last " +
                                                    std::to_string(gs.last_index) + ")");
  }
  return out;
}

storage_result<void> node_store::compact(group_id group, log_index upto) {
  if (auto r = check_group(group); !r) return r;
  if (auto r = check_not_failed(); !r) return r;
  std::lock_guard write_lock(log_write_mutex_);
  group_state gs = state_of(group);
  const std::string where = group_text(group);
  if (upto <= gs.compacted_index) return ok;  // already compacted: idempotent
  if (upto > gs.last_index) {
    return make_error(storage_errc::unavailable, where + ": cannot compact up to " + std::to_string(upto) +
                                                     ", last index is " + std::to_string(gs.last_index));
  }
  if (upto > gs.applied_index) {
    return make_error(storage_errc::invalid_argument, where + ": cannot compact up to " + std::to_string(upto) +
                                                          " beyond the applied index " +
                                                          std::to_string(gs.applied_index));
  }
  auto t = term_in(group, upto, gs);
  if (!t) return unexpected{t.error()};
  rocksdb::WriteBatch batch;
  ENERGO_STORAGE_TRY(batch.DeleteRange(families_->log, codec::log_key(group, gs.compacted_index + 1),
                                       codec::log_key(group, upto + 1)),
                     "batch");
  const std::string key = codec::tagged_key(group, codec::tag_compacted);
  ENERGO_STORAGE_TRY(batch.Put(families_->raft_state, key, codec::seal(key, codec::encode_index_term({upto, *t}))),
                     "batch");
  if (auto r = write_synced(batch, where + ": compact log"); !r) return r;
  std::lock_guard lock(groups_mutex_);
  auto& live = groups_[group];
  live.compacted_index = upto;
  live.compacted_term = *t;
  return ok;
}

// ---- State machine ---------------------------------------------------------------------------

namespace {
// Bytes a batch of these writes takes (keys with their prefix, values, record headers), to size
// the WriteBatch once: growing it by doubling copied a durable point's ~11 MB image four more
// times, on fresh pages each time (perf record -e page-faults on the bench cluster).
std::size_t state_writes_bytes(std::span<const state_write> writes) {
  std::size_t n = 64;
  for (const state_write& w : writes) {
    const bool chunked = w.staged && w.value && w.value->size() >= limits::state_staged_value_bytes_min;  // written apart
    n += w.key.size() + (w.value && !chunked ? w.value->size() : 0) + 96;
  }
  return n;
}

// Staged values (node_store.hpp): under the group's state prefix, user keys never begin with
// 0x01. A staged key K has a reference
//   0x01 'r' be16(|K|) K  -> be64(version) be64(size) be32(crc32c of the value) be32(chunk bytes)
// and the chunks of its versions
//   0x01 's' be16(|K|) K be64(version) be32(chunk number)  -> that chunk of the value
// (every chunk is `chunk bytes` long but the last; their number follows from the size).
constexpr char reserved_key_byte = '\x01';
std::string staged_name(char kind, std::string_view key) {
  std::string k;
  k.push_back(reserved_key_byte);
  k.push_back(kind);
  k.push_back(static_cast<char>((key.size() >> 8) & 0xff));
  k.push_back(static_cast<char>(key.size() & 0xff));
  k.append(key);
  return k;
}
std::string staged_ref_key(group_id group, std::string_view key) { return codec::state_key(group, staged_name('r', key)); }
std::string staged_version_key(group_id group, std::string_view key, uint64_t version) {
  std::string name = staged_name('s', key);
  codec::put_be64(name, version);
  return codec::state_key(group, name);
}
std::string staged_chunk_key(group_id group, std::string_view key, uint64_t version, uint32_t chunk) {
  std::string k = staged_version_key(group, key, version);
  codec::put_be32(k, chunk);
  return k;
}
// Every version of `key` except `keep` (0: all), as range deletes.
storage_result<void> drop_staged_versions(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family, group_id group,
                                          std::string_view key, uint64_t keep) {
  const std::string lo = codec::state_key(group, staged_name('s', key));
  // The prefix's successor: above every version and chunk suffix (staged_name ends with the key,
  // or with its length byte for an empty key, so the last byte below 0xff is found).
  std::string hi = lo;
  while (!hi.empty() && static_cast<uint8_t>(hi.back()) == 0xff) hi.pop_back();
  ENERGO_ASSERT(!hi.empty(), "a staged prefix is not all 0xff bytes");
  hi.back() = static_cast<char>(static_cast<uint8_t>(hi.back()) + 1);
  if (keep == 0) {
    ENERGO_STORAGE_TRY(batch.DeleteRange(family, lo, hi), "batch");
    return ok;
  }
  ENERGO_STORAGE_TRY(batch.DeleteRange(family, lo, staged_version_key(group, key, keep)), "batch");
  if (keep != UINT64_MAX) ENERGO_STORAGE_TRY(batch.DeleteRange(family, staged_version_key(group, key, keep + 1), hi), "batch");
  return ok;
}

storage_result<void> add_state_writes(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family, group_id group,
                                      std::span<const state_write> writes, bool skip_staged = false) {
  if (writes.size() > limits::state_writes_per_batch_max) {
    return make_error(storage_errc::limit_exceeded, "state batch exceeds state_writes_per_batch_max");
  }
  for (const state_write& w : writes) {
    if (w.key.size() > limits::state_key_bytes_max) {
      return make_error(storage_errc::limit_exceeded, "state key exceeds state_key_bytes_max");
    }
    if (!w.key.empty() && w.key[0] == reserved_key_byte) {
      return make_error(storage_errc::invalid_argument, "state keys beginning with 0x01 are reserved");
    }
    if (w.value && w.value->size() > limits::state_value_bytes_max) {
      return make_error(storage_errc::limit_exceeded, "state value exceeds state_value_bytes_max");
    }
    if (skip_staged && w.staged) continue;  // apply_batch writes it (and its reference) itself
    if (w.value) {
      ENERGO_STORAGE_TRY(batch.Put(family, codec::state_key(group, w.key), *w.value), "batch");
    } else {
      ENERGO_STORAGE_TRY(batch.Delete(family, codec::state_key(group, w.key)), "batch");
    }
  }
  return ok;
}
}  // namespace

storage_result<void> node_store::apply_batch(group_id group, std::span<const state_write> writes, log_index applied) {
  if (auto r = check_group(group); !r) return r;
  if (auto r = check_not_failed(); !r) return r;
  std::lock_guard apply_lock(apply_write_mutex_);
  const log_index current = state_of(group).applied_index;
  if (applied <= current) {
    return make_error(storage_errc::invalid_argument, group_text(group) + ": applied index " +
                                                          std::to_string(applied) + " does not advance past " +
                                                          std::to_string(current));
  }
  // Staged values (node_store.hpp "Staged values"): each is written first, in chunks under its
  // version's keys, each chunk synced on its own, so that the synced batch - which raft's
  // appends may queue behind - carries only a reference to it.
  rocksdb::WriteBatch batch(std::min<std::size_t>(state_writes_bytes(writes), limits::write_bytes_max));
  if (auto r = add_state_writes(batch, families_->state, group, writes, /*skip_staged=*/true); !r) return r;
  for (const state_write& w : writes) {
    if (!w.staged) continue;
    if (w.value && w.value->size() < limits::state_staged_value_bytes_min) {  // small: inline, no versions
      ENERGO_STORAGE_TRY(batch.Put(families_->state, codec::state_key(group, w.key), *w.value), "batch");
      ENERGO_STORAGE_TRY(batch.Delete(families_->state, staged_ref_key(group, w.key)), "batch");
      if (auto r = drop_staged_versions(batch, families_->state, group, w.key, 0); !r) return r;
      continue;
    }
    ENERGO_STORAGE_TRY(batch.Delete(families_->state, codec::state_key(group, w.key)), "batch");  // no inline value
    if (w.value) {
      const std::string_view value = *w.value;
      constexpr std::size_t chunk_bytes = limits::state_staged_chunk_bytes;
      for (std::size_t at = 0, chunk = 0; at < value.size(); at += chunk_bytes, ++chunk) {
        rocksdb::WriteBatch piece(std::min(chunk_bytes, value.size() - at) + 256);
        ENERGO_STORAGE_TRY(piece.Put(families_->state, staged_chunk_key(group, w.key, applied, static_cast<uint32_t>(chunk)),
                                     value.substr(at, chunk_bytes)),
                           "batch");
        if (auto r = write_staged_chunk(piece, group_text(group) + ": stage a state value"); !r) return r;
      }
      std::string ref;
      codec::put_be64(ref, applied);
      codec::put_be64(ref, value.size());
      codec::put_be32(ref, crc32c(value));
      codec::put_be32(ref, static_cast<uint32_t>(chunk_bytes));
      ENERGO_STORAGE_TRY(batch.Put(families_->state, staged_ref_key(group, w.key), ref), "batch");
      if (auto r = drop_staged_versions(batch, families_->state, group, w.key, applied); !r) return r;
    } else {
      ENERGO_STORAGE_TRY(batch.Delete(families_->state, staged_ref_key(group, w.key)), "batch");
      if (auto r = drop_staged_versions(batch, families_->state, group, w.key, 0); !r) return r;
    }
  }
  const std::string key = codec::tagged_key(group, codec::tag_applied);
  ENERGO_STORAGE_TRY(batch.Put(families_->raft_state, key, codec::seal(key, codec::encode_u64(applied))), "batch");
  if (auto r = write_synced(batch, group_text(group) + ": apply"); !r) return r;
  std::lock_guard lock(groups_mutex_);
  groups_[group].applied_index = applied;
  return ok;
}

storage_result<std::optional<std::string>> node_store::get_state(group_id group, std::string_view key) const {
  if (auto r = check_group(group); !r) return unexpected{r.error()};
  auto v = get_raw(families_->state, codec::state_key(group, key));
  if (!v || v->has_value() || key.size() > limits::state_key_bytes_max) return v;
  // No inline value: a staged one (node_store.hpp "Staged values")?
  auto ref = get_raw(families_->state, staged_ref_key(group, key));
  if (!ref || !ref->has_value()) return ref;
  const std::string& r = **ref;
  const std::string where = group_text(group) + ": staged state value";
  if (r.size() != 24) return make_error(storage_errc::corruption, where + ": reference of " + std::to_string(r.size()) + " bytes");
  const uint64_t version = codec::get_be64(r.data()), size = codec::get_be64(r.data() + 8);
  const uint32_t crc = codec::get_be32(r.data() + 16), chunk_bytes = codec::get_be32(r.data() + 20);
  // Both bound what is read and allocated below.
  if (size > limits::state_value_bytes_max || chunk_bytes == 0 || chunk_bytes > limits::state_staged_chunk_bytes_max) {
    return make_error(storage_errc::corruption, where + ": reference names " + std::to_string(size) + " bytes in chunks of " +
                                                    std::to_string(chunk_bytes));
  }
  std::string value;
  value.reserve(size);
  for (uint64_t at = 0, chunk = 0; at < size; at += chunk_bytes, ++chunk) {
    auto piece = get_raw(families_->state, staged_chunk_key(group, key, version, static_cast<uint32_t>(chunk)));
    if (!piece) return piece;
    const uint64_t want = std::min<uint64_t>(chunk_bytes, size - at);
    if (!piece->has_value() || (*piece)->size() != want) {
      return make_error(storage_errc::corruption, where + ": chunk " + std::to_string(chunk) + " of version " +
                                                      std::to_string(version) + " is missing or of the wrong size");
    }
    value += **piece;
  }
  if (crc32c(value) != crc) {
    return make_error(storage_errc::corruption, where + ": version " + std::to_string(version) + " fails its CRC32C");
  }
  return std::optional<std::string>(std::move(value));
}

storage_result<std::vector<std::pair<std::string, std::string>>> node_store::scan_state(group_id group,
                                                                                       std::string_view start_key,
                                                                                       std::size_t limit) const {
  if (auto r = check_group(group); !r) return unexpected{r.error()};
  const std::string upper = group_end(group);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, families_->state));
  std::vector<std::pair<std::string, std::string>> out;
  for (it->Seek(codec::state_key(group, start_key)); it->Valid() && out.size() < limit; it->Next()) {
    const rocksdb::Slice k = it->key();
    ENERGO_ASSERT(k.size() >= codec::group_prefix_bytes, "state keys carry the group prefix");
    if (k.size() > codec::group_prefix_bytes && k[codec::group_prefix_bytes] == reserved_key_byte) continue;  // staged
    out.emplace_back(std::string(k.data() + codec::group_prefix_bytes, k.size() - codec::group_prefix_bytes),
                     it->value().ToString());
  }
  ENERGO_STORAGE_TRY(it->status(), group_text(group) + ": scan state");
  return out;
}

// ---- Snapshots -----------------------------------------------------------------------------------

namespace {
storage_result<void> add_snapshot(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family, group_id group,
                                  const snapshot_meta_record& meta, std::string_view data) {
  if (data.size() > limits::snapshot_bytes_max) {
    return make_error(storage_errc::limit_exceeded, "snapshot of " + std::to_string(data.size()) +
                                                        " bytes exceeds snapshot_bytes_max");
  }
  for (const auto* set : {&meta.config.voters, &meta.config.learners, &meta.config.voters_outgoing}) {
    if (set->size() > limits::membership_nodes_max) {
      return make_error(storage_errc::limit_exceeded, "snapshot membership exceeds membership_nodes_max");
    }
  }
  codec::snapshot_meta_body body;
  body.meta = meta;
  body.meta.data_bytes = data.size();
  body.chunk_count = (data.size() + limits::snapshot_chunk_bytes - 1) / limits::snapshot_chunk_bytes;
  body.data_crc = crc32c(data);
  // Old chunks go first; the new ones (later in the batch) win over the range tombstone.
  ENERGO_STORAGE_TRY(batch.DeleteRange(family, codec::chunk_key(group, 0), codec::tagged_key(group, codec::tag_snapshot_data + 1)),
                     "batch");
  for (uint64_t c = 0; c < body.chunk_count; ++c) {
    const std::string key = codec::chunk_key(group, c);
    const std::string_view chunk = data.substr(c * limits::snapshot_chunk_bytes, limits::snapshot_chunk_bytes);
    ENERGO_STORAGE_TRY(batch.Put(family, key, codec::seal(key, std::string(chunk))), "batch");
  }
  const std::string key = codec::tagged_key(group, codec::tag_snapshot_meta);
  ENERGO_STORAGE_TRY(batch.Put(family, key, codec::seal(key, codec::encode_snapshot_meta(body))), "batch");
  return ok;
}
}  // namespace

storage_result<void> node_store::save_snapshot(group_id group, const snapshot_meta_record& meta, std::string_view data) {
  if (auto r = check_group(group); !r) return r;
  if (auto r = check_not_failed(); !r) return r;
  std::lock_guard write_lock(log_write_mutex_);
  const group_state gs = state_of(group);
  if (meta.index > gs.applied_index) {
    return make_error(storage_errc::invalid_argument, group_text(group) + ": snapshot at " +
                                                          std::to_string(meta.index) + " is beyond applied index " +
                                                          std::to_string(gs.applied_index));
  }
  rocksdb::WriteBatch batch;
  if (auto r = add_snapshot(batch, families_->snapshot, group, meta, data); !r) return r;
  return write_synced(batch, group_text(group) + ": save snapshot");
}

storage_result<void> node_store::install_snapshot(group_id group, const snapshot_meta_record& meta,
                                                  std::string_view data, std::span<const state_write> state,
                                                  std::optional<hard_state_record> hs) {
  if (auto r = check_group(group); !r) return r;
  if (auto r = check_not_failed(); !r) return r;
  std::lock_guard write_lock(log_write_mutex_);  // lock order: log writes, then applies
  std::lock_guard apply_lock(apply_write_mutex_);
  group_state gs = state_of(group);
  const std::string where = group_text(group);
  if (meta.index <= gs.applied_index || meta.index <= gs.compacted_index) {
    return make_error(storage_errc::invalid_argument, where + ": snapshot at " + std::to_string(meta.index) +
                                                          " is not newer than applied index " +
                                                          std::to_string(gs.applied_index));
  }
  rocksdb::WriteBatch batch;
  // Raft §7: keep the log after the snapshot only if it holds the snapshot's last entry.
  bool keep_suffix = false;
  if (meta.index <= gs.last_index) {
    auto t = term_in(group, meta.index, gs);
    if (!t) return unexpected{t.error()};
    keep_suffix = *t == meta.term;
  }
  const log_index delete_end = keep_suffix ? meta.index + 1 : gs.last_index + 1;
  if (gs.compacted_index + 1 < delete_end) {
    ENERGO_STORAGE_TRY(batch.DeleteRange(families_->log, codec::log_key(group, gs.compacted_index + 1),
                                         codec::log_key(group, delete_end)),
                       "batch");
  }
  if (!keep_suffix) {
    gs.last_index = meta.index;
    gs.last_term = meta.term;
  }
  gs.compacted_index = meta.index;
  gs.compacted_term = meta.term;
  const std::string compacted_key = codec::tagged_key(group, codec::tag_compacted);
  ENERGO_STORAGE_TRY(batch.Put(families_->raft_state, compacted_key,
                               codec::seal(compacted_key, codec::encode_index_term({meta.index, meta.term}))),
                     "batch");
  // Replace the group's state wholesale.
  ENERGO_STORAGE_TRY(batch.DeleteRange(families_->state, codec::group_prefix(group), group_end(group)), "batch");
  if (auto r = add_state_writes(batch, families_->state, group, state); !r) return r;
  const std::string applied_key = codec::tagged_key(group, codec::tag_applied);
  ENERGO_STORAGE_TRY(batch.Put(families_->raft_state, applied_key,
                               codec::seal(applied_key, codec::encode_u64(meta.index))),
                     "batch");
  gs.applied_index = meta.index;
  if (auto r = add_snapshot(batch, families_->snapshot, group, meta, data); !r) return r;
  if (hs) {
    if (hs->term < gs.hard_state.term || hs->commit < gs.hard_state.commit || hs->commit > gs.last_index) {
      return make_error(storage_errc::invalid_argument, where + ": hard state with the snapshot goes backwards "
                                                                "or past the log");
    }
    const std::string key = codec::tagged_key(group, codec::tag_hard_state);
    ENERGO_STORAGE_TRY(batch.Put(families_->raft_state, key, codec::seal(key, codec::encode_hard_state(*hs))),
                       "batch");
    gs.hard_state = *hs;
  }
  if (auto r = write_synced(batch, where + ": install snapshot"); !r) return r;
  std::lock_guard lock(groups_mutex_);
  groups_[group] = gs;
  return ok;
}

storage_result<std::optional<snapshot_meta_record>> node_store::snapshot_meta(group_id group) const {
  if (auto r = check_group(group); !r) return unexpected{r.error()};
  const std::string key = codec::tagged_key(group, codec::tag_snapshot_meta);
  auto v = get_raw(families_->snapshot, key);
  if (!v) return unexpected{v.error()};
  if (!v->has_value()) return std::optional<snapshot_meta_record>{};
  auto body = codec::unseal(key, **v);
  if (!body) return unexpected{body.error()};
  auto meta = codec::decode_snapshot_meta(*body);
  if (!meta) return unexpected{meta.error()};
  return std::optional<snapshot_meta_record>{meta->meta};
}

storage_result<std::string> node_store::snapshot_data(group_id group) const {
  if (auto r = check_group(group); !r) return unexpected{r.error()};
  const std::string where = group_text(group);
  const std::string meta_key = codec::tagged_key(group, codec::tag_snapshot_meta);
  // One RocksDB snapshot so meta and chunks come from the same point in time.
  const rocksdb::Snapshot* snap = db_->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  auto release = [&] { db_->ReleaseSnapshot(snap); };
  std::string raw;
  rocksdb::Status s = db_->Get(ro, families_->snapshot, meta_key, &raw);
  if (s.IsNotFound()) {
    release();
    return make_error(storage_errc::not_found, where + ": no snapshot stored");
  }
  if (!s.ok()) {
    release();
    return unexpected{to_error(s, where + ": read snapshot meta")};
  }
  auto body = codec::unseal(meta_key, raw);
  if (!body) {
    release();
    return unexpected{body.error()};
  }
  auto meta = codec::decode_snapshot_meta(*body);
  if (!meta || meta->meta.data_bytes > limits::snapshot_bytes_max) {
    release();
    return make_error(storage_errc::corruption, where + ": snapshot meta unreadable or over snapshot_bytes_max");
  }
  std::string data;
  data.reserve(meta->meta.data_bytes);
  for (uint64_t c = 0; c < meta->chunk_count; ++c) {
    const std::string key = codec::chunk_key(group, c);
    s = db_->Get(ro, families_->snapshot, key, &raw);
    if (!s.ok()) {
      release();
      return make_error(s.IsNotFound() ? storage_errc::corruption : to_error(s, "").code,
                        where + ": snapshot chunk " + std::to_string(c) + ": " + s.ToString());
    }
    auto chunk = codec::unseal(key, raw);
    if (!chunk) {
      release();
      return make_error(storage_errc::corruption, where + ": snapshot chunk " + std::to_string(c) + " checksum mismatch");
    }
    data.append(*chunk);
  }
  release();
  if (data.size() != meta->meta.data_bytes || crc32c(data) != meta->data_crc) {
    return make_error(storage_errc::corruption, where + ": snapshot data does not match its meta checksum");
  }
  return data;
}

// ---- Maintenance -----------------------------------------------------------------------------

storage_result<void> node_store::create_checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  ENERGO_STORAGE_TRY(rocksdb::Checkpoint::Create(db_.get(), &raw), "create checkpoint object");
  const std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: always flush memtables so the copy needs no WAL replay.
  ENERGO_STORAGE_TRY(checkpoint->CreateCheckpoint(dir, 0), "checkpoint into " + dir);
  return ok;
}

storage_result<void> node_store::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  ENERGO_STORAGE_TRY(db_->Flush(fo, {families_->log, families_->raft_state, families_->snapshot, families_->state,
                                     families_->meta}),
                     "flush");
  return ok;
}

}  // namespace energo::storage
