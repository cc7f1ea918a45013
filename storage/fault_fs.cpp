#include "storage/fault_fs.hpp"

#include <rocksdb/system_clock.h>

#include <algorithm>
#include <filesystem>
#include <utility>

namespace energo::storage {

namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// One spelling per file, so "/d//x" and "/d/x" are the same entry.
std::string normalise(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}
std::string dir_of(const std::string& normalised_path) {
  return std::filesystem::path(normalised_path).parent_path().string();
}

// A writable file whose appends and syncs update the model before/after the real call.
class tracked_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  tracked_file(std::unique_ptr<rocksdb::FSWritableFile> target, fault_fs* fs,
               std::shared_ptr<fault_fs::file_state> state, std::string path)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), state_(std::move(state)), path_(std::move(path)) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    if (auto e = fs_->admit(fault_fs::op_kind::write, "append " + path_)) return *e;
    IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, dbg);
    if (s.ok()) fs_->note_appended(state_, data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options, const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    if (auto e = fs_->admit(fault_fs::op_kind::write, "append " + path_)) return *e;
    IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    if (s.ok()) fs_->note_appended(state_, data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    if (auto e = fs_->admit(fault_fs::op_kind::write, "positioned append " + path_)) return *e;
    IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    if (s.ok()) fs_->note_written_at(state_, offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    if (auto e = fs_->admit(fault_fs::op_kind::write, "positioned append " + path_)) return *e;
    IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) fs_->note_written_at(state_, offset + data.size());
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    if (auto e = fs_->admit(fault_fs::op_kind::truncate, "truncate " + path_)) return *e;
    IOStatus s = FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
    if (s.ok()) fs_->note_truncated(state_, size);
    return s;
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    return sync([&] { return FSWritableFileOwnerWrapper::Sync(options, dbg); });
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return sync([&] { return FSWritableFileOwnerWrapper::Fsync(options, dbg); });
  }
  IOStatus RangeSync(uint64_t offset, uint64_t bytes, const IOOptions& options, IODebugContext* dbg) override {
    // sync_file_range starts writeback of data only: no metadata, no disk cache flush. It is
    // forwarded (RocksDB's pacing still works) but never makes anything durable here.
    if (auto e = fs_->admit(fault_fs::op_kind::range_sync, "range sync " + path_)) return *e;
    return fs_->forward_syncs() ? FSWritableFileOwnerWrapper::RangeSync(offset, bytes, options, dbg) : IOStatus::OK();
  }

 private:
  template <class F>
  IOStatus sync(F&& real_sync) {
    bool ignored = false;  // power is off: pretend, make nothing durable
    if (auto e = fs_->admit(fault_fs::op_kind::sync, "sync " + path_, &ignored)) {
      fs_->note_sync_failed(state_);
      return *e;
    }
    if (ignored) return IOStatus::OK();
    // Only what was appended before the sync started is covered by it.
    const uint64_t size_before = fs_->size_of(state_);
    IOStatus s = fs_->forward_syncs() ? real_sync() : IOStatus::OK();
    if (s.ok()) {
      fs_->note_synced(state_, size_before);
    } else {
      fs_->note_sync_failed(state_);
    }
    return s;
  }

  fault_fs* fs_;
  std::shared_ptr<fault_fs::file_state> state_;
  std::string path_;
};

// A directory whose fsync makes the entry changes recorded so far durable.
class tracked_dir final : public rocksdb::FSDirectoryWrapper {
 public:
  tracked_dir(std::unique_ptr<rocksdb::FSDirectory> target, fault_fs* fs, std::string path)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), path_(std::move(path)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return sync([&] { return FSDirectoryWrapper::Fsync(options, dbg); });
  }
  // On btrfs RocksDB may fsync only the renamed file here; the model treats every variant as a
  // full directory fsync (true for the ext4/xfs default file system this wraps).
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    return sync([&] { return FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options); });
  }

 private:
  template <class F>
  IOStatus sync(F&& real_sync) {
    bool ignored = false;  // power is off: pretend, make nothing durable
    if (auto e = fs_->admit(fault_fs::op_kind::dir_sync, "fsync directory " + path_, &ignored)) return *e;
    if (ignored) return IOStatus::OK();
    const std::size_t covered = fs_->pending_count(path_);  // changes recorded before the fsync began
    IOStatus s = fs_->forward_syncs() ? real_sync() : IOStatus::OK();
    if (s.ok()) fs_->note_dir_synced(path_, covered);
    return s;
  }

  fault_fs* fs_;
  std::string path_;
};

class capped_sleep_clock final : public rocksdb::SystemClockWrapper {
 public:
  static constexpr int sleep_us_max = 1000;
  explicit capped_sleep_clock(const std::shared_ptr<rocksdb::SystemClock>& target) : SystemClockWrapper(target) {}
  const char* Name() const override { return "energo_capped_sleep_clock"; }
  void SleepForMicroseconds(int micros) override {
    SystemClockWrapper::SleepForMicroseconds(std::min(micros, sleep_us_max));
  }
};

// Env::GetSystemClock() is not virtual: the wrapper replaces the protected clock member instead.
class fault_env final : public rocksdb::EnvWrapper {
 public:
  fault_env(std::unique_ptr<rocksdb::Env> composite, bool capped_sleeps)
      : EnvWrapper(std::move(composite)), capped_sleeps_(capped_sleeps) {
    if (capped_sleeps) system_clock_ = std::make_shared<capped_sleep_clock>(system_clock_);
  }
  const char* Name() const override { return "energo_fault_env"; }
  void SleepForMicroseconds(int micros) override {
    EnvWrapper::SleepForMicroseconds(capped_sleeps_ ? std::min(micros, capped_sleep_clock::sleep_us_max) : micros);
  }

 private:
  const bool capped_sleeps_;
};

}  // namespace

std::shared_ptr<rocksdb::Env> make_fault_env(const std::shared_ptr<fault_fs>& fs, bool capped_sleeps) {
  return std::make_shared<fault_env>(rocksdb::NewCompositeEnv(fs), capped_sleeps);
}

fault_fs::fault_fs(const std::shared_ptr<rocksdb::FileSystem>& base, bool forward_syncs)
    : FileSystemWrapper(base), forward_syncs_(forward_syncs) {}
fault_fs::~fault_fs() = default;

// ---- Controls -----------------------------------------------------------------------------------

void fault_fs::fail_write(uint64_t nth) {
  std::lock_guard lock(mutex_);
  fail_write_at_ = nth == 0 ? std::nullopt : std::optional<uint64_t>(counters_.writes + nth);
}
void fault_fs::fail_sync(uint64_t nth) {
  std::lock_guard lock(mutex_);
  fail_sync_at_ = nth == 0 ? std::nullopt : std::optional<uint64_t>(counters_.syncs + nth);
}
void fault_fs::fail_dir_sync(uint64_t nth) {
  std::lock_guard lock(mutex_);
  fail_dir_sync_at_ = nth == 0 ? std::nullopt : std::optional<uint64_t>(counters_.dir_syncs + nth);
}
void fault_fs::power_off_after(uint64_t mutating_calls) {
  std::lock_guard lock(mutex_);
  power_off_at_ = counters_.mutating + mutating_calls;
}
void fault_fs::set_errors_retryable(bool retryable) {
  std::lock_guard lock(mutex_);
  retryable_ = retryable;
}
void fault_fs::power_off() {
  std::lock_guard lock(mutex_);
  powered_ = false;
}
void fault_fs::power_on() {
  std::lock_guard lock(mutex_);
  powered_ = true;
  power_off_at_.reset();
  fail_write_at_.reset();
  fail_sync_at_.reset();
  fail_dir_sync_at_.reset();
}
bool fault_fs::powered() const {
  std::lock_guard lock(mutex_);
  return powered_;
}
fault_fs_counters fault_fs::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}
uint64_t fault_fs::unsynced_bytes() const {
  std::lock_guard lock(mutex_);
  uint64_t total = 0;
  for (const auto& [path, f] : files_) total += f->size_bytes - std::min(f->size_bytes, f->durable_bytes());
  return total;
}
std::size_t fault_fs::unsynced_entries() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [dir, ops] : pending_) total += ops.size();
  return total;
}

// ---- Model updates (called by the wrappers) -------------------------------------------------

std::optional<IOStatus> fault_fs::admit(op_kind kind, const std::string& what, bool* dropped) {
  std::lock_guard lock(mutex_);
  std::optional<uint64_t>* cue = nullptr;
  uint64_t ordinal = 0;
  switch (kind) {
    case op_kind::write: ordinal = ++counters_.writes; cue = &fail_write_at_; break;
    case op_kind::sync: ordinal = ++counters_.syncs; cue = &fail_sync_at_; break;
    case op_kind::range_sync: ++counters_.range_syncs; break;
    case op_kind::dir_sync: ordinal = ++counters_.dir_syncs; cue = &fail_dir_sync_at_; break;
    case op_kind::create: ++counters_.creates; break;
    case op_kind::rename: ++counters_.renames; break;
    case op_kind::remove: ++counters_.deletes; break;
    case op_kind::link: ++counters_.links; break;
    case op_kind::truncate: ++counters_.truncates; break;
  }
  ++counters_.mutating;
  if (powered_ && power_off_at_ && counters_.mutating > *power_off_at_) powered_ = false;
  if (!powered_) {
    // After the cut the process runs on, unaware: calls succeed, but a sync (file or directory)
    // makes nothing durable. (Failing calls instead would drive RocksDB 7.8 into a compaction
    // error path whose internal assert, CompactionJob::Install -> SmallestUserKey, aborts the
    // process in Debian's build.)
    if (kind == op_kind::sync || kind == op_kind::dir_sync) {
      if (dropped != nullptr) *dropped = true;
      ++counters_.syncs_ignored;
    }
    return std::nullopt;
  }
  const char* why = nullptr;
  if (cue != nullptr && *cue && ordinal == **cue) {
    cue->reset();
    why = "fault on cue";
  }
  if (why == nullptr) return std::nullopt;
  ++counters_.injected_errors;
  IOStatus error = IOStatus::IOError("fault_fs: " + std::string(why), what);
  error.SetRetryable(retryable_);
  return error;
}

void fault_fs::note_appended(const std::shared_ptr<file_state>& f, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  f->size_bytes += bytes;
}
void fault_fs::note_written_at(const std::shared_ptr<file_state>& f, uint64_t end_offset) {
  std::lock_guard lock(mutex_);
  f->size_bytes = std::max(f->size_bytes, end_offset);
}
void fault_fs::note_truncated(const std::shared_ptr<file_state>& f, uint64_t size) {
  std::lock_guard lock(mutex_);
  f->size_bytes = size;
  f->synced_bytes = std::min(f->synced_bytes, size);  // a shrink may be durable before it is synced
}
void fault_fs::note_synced(const std::shared_ptr<file_state>& f, uint64_t size_before_sync) {
  std::lock_guard lock(mutex_);
  f->synced_bytes = std::max(f->synced_bytes, std::min(size_before_sync, f->size_bytes));
}
void fault_fs::note_sync_failed(const std::shared_ptr<file_state>& f) {
  std::lock_guard lock(mutex_);
  if (!f->poisoned_at) f->poisoned_at = f->synced_bytes;
}
uint64_t fault_fs::size_of(const std::shared_ptr<file_state>& f) const {
  std::lock_guard lock(mutex_);
  return f->size_bytes;
}
std::size_t fault_fs::pending_count(const std::string& dir) const {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(dir);
  return it == pending_.end() ? 0 : it->second.size();
}
void fault_fs::note_dir_synced(const std::string& dir, std::size_t ops_covered) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(dir);
  if (it == pending_.end()) return;
  auto& ops = it->second;
  ops.erase(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops_covered, ops.size())));
  if (ops.empty()) pending_.erase(it);
}
void fault_fs::record(const std::string& dir, dir_op op) {
  std::lock_guard lock(mutex_);
  pending_[dir].push_back(std::move(op));
}

std::optional<std::string> fault_fs::durable_content(const std::string& path, bool& too_big) {
  too_big = false;
  const IOOptions io;
  if (!target()->FileExists(path, io, nullptr).ok()) return std::nullopt;
  std::optional<uint64_t> limit;
  {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(path); it != files_.end()) limit = it->second->durable_bytes();
  }
  uint64_t size = 0;
  if (!target()->GetFileSize(path, io, &size, nullptr).ok()) return std::nullopt;
  if (limit) size = std::min(size, *limit);
  if (size > fault_fs_limits::restore_bytes_max) {
    too_big = true;
    return std::nullopt;
  }
  std::string data;
  if (!rocksdb::ReadFileToString(target(), path, &data).ok()) return std::nullopt;
  if (data.size() > size) data.resize(size);
  return data;
}

// ---- rocksdb::FileSystem ------------------------------------------------------------------------

IOStatus fault_fs::open_tracked(const std::string& fname, bool reopen,
                                const std::function<IOStatus(std::unique_ptr<rocksdb::FSWritableFile>*)>& open,
                                std::unique_ptr<rocksdb::FSWritableFile>* result) {
  const std::string path = normalise(fname);
  if (auto e = admit(op_kind::create, "create " + path)) return *e;
  bool too_big = false;
  std::optional<std::string> previous = durable_content(path, too_big);
  const bool existed = previous.has_value() || too_big;
  uint64_t existing_bytes = 0;
  if (reopen && existed) (void)target()->GetFileSize(path, IOOptions(), &existing_bytes, nullptr);  // 0 if unknown
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = open(&file);
  if (!s.ok()) return s;
  std::shared_ptr<file_state> state;
  {
    std::lock_guard lock(mutex_);
    auto it = files_.find(path);
    if (reopen && existed && it != files_.end()) {
      state = it->second;  // appending to a file we already track: keep what it has synced
    } else {
      state = std::make_shared<file_state>();
      // An untracked existing file is durable as it stands; a new or truncated one has nothing.
      state->size_bytes = state->synced_bytes = reopen ? existing_bytes : 0;
      files_[path] = state;
    }
  }
  // A new name (or an overwritten one, whose old content a crash may bring back) is pending
  // until its directory is fsynced. Appending to an existing file changes no entry.
  if (!(reopen && existed)) {
    record(dir_of(path), dir_op{dir_op::kind::create, path, {}, reopen ? std::nullopt : std::move(previous),
                                !reopen && too_big});
  }
  *result = std::make_unique<tracked_file>(std::move(file), this, std::move(state), path);
  return IOStatus::OK();
}

IOStatus fault_fs::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                   std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  return open_tracked(fname, false, [&](auto* out) { return target()->NewWritableFile(fname, options, out, dbg); },
                      result);
}

IOStatus fault_fs::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  return open_tracked(fname, true, [&](auto* out) { return target()->ReopenWritableFile(fname, options, out, dbg); },
                      result);
}

IOStatus fault_fs::ReuseWritableFile(const std::string& fname, const std::string& /*old_fname*/,
                                     const rocksdb::FileOptions& /*options*/,
                                     std::unique_ptr<rocksdb::FSWritableFile>* /*result*/, IODebugContext* /*dbg*/) {
  // Recycled WAL files (recycle_log_file_num > 0) are overwritten in place; the model does not
  // cover that, so refuse rather than pretend.
  return IOStatus::NotSupported("fault_fs does not model recycled log files", fname);
}

IOStatus fault_fs::NewDirectory(const std::string& name, const IOOptions& options,
                                std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> dir;
  IOStatus s = target()->NewDirectory(name, options, &dir, dbg);
  if (!s.ok()) return s;
  *result = std::make_unique<tracked_dir>(std::move(dir), this, normalise(name));
  return s;
}

IOStatus fault_fs::DeleteFile(const std::string& fname, const IOOptions& options, IODebugContext* dbg) {
  const std::string path = normalise(fname);
  if (auto e = admit(op_kind::remove, "delete " + path)) return *e;
  bool too_big = false;
  std::optional<std::string> saved = durable_content(path, too_big);
  IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard lock(mutex_);
    files_.erase(path);
  }
  record(dir_of(path), dir_op{dir_op::kind::remove, path, {}, std::move(saved), too_big});
  return s;
}

IOStatus fault_fs::RenameFile(const std::string& src, const std::string& dst, const IOOptions& options,
                              IODebugContext* dbg) {
  const std::string from = normalise(src);
  const std::string to = normalise(dst);
  if (auto e = admit(op_kind::rename, "rename " + from + " to " + to)) return *e;
  bool too_big = false;
  std::optional<std::string> saved = durable_content(to, too_big);
  IOStatus s = target()->RenameFile(src, dst, options, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard lock(mutex_);
    auto node = files_.extract(from);
    files_.erase(to);
    if (!node.empty()) {
      node.key() = to;
      files_.insert(std::move(node));
    }
  }
  record(dir_of(to), dir_op{dir_op::kind::rename, to, from, std::move(saved), too_big});
  return s;
}

IOStatus fault_fs::LinkFile(const std::string& src, const std::string& dst, const IOOptions& options,
                            IODebugContext* dbg) {
  const std::string to = normalise(dst);
  if (auto e = admit(op_kind::link, "link " + to)) return *e;
  IOStatus s = target()->LinkFile(src, dst, options, dbg);
  if (!s.ok()) return s;
  record(dir_of(to), dir_op{dir_op::kind::link, to, normalise(src), std::nullopt, false});
  return s;
}

IOStatus fault_fs::Truncate(const std::string& fname, size_t size, const IOOptions& options, IODebugContext* dbg) {
  const std::string path = normalise(fname);
  if (auto e = admit(op_kind::truncate, "truncate " + path)) return *e;
  IOStatus s = target()->Truncate(fname, size, options, dbg);
  if (!s.ok()) return s;
  std::shared_ptr<file_state> f;
  {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(path); it != files_.end()) f = it->second;
  }
  if (f) note_truncated(f, size);
  return s;
}

// ---- Crash --------------------------------------------------------------------------------------

crash_report fault_fs::simulate_crash() {
  std::lock_guard lock(mutex_);
  crash_report report;
  const IOOptions io;
  auto exists = [&](const std::string& p) { return target()->FileExists(p, io, nullptr).ok(); };
  auto put_back = [&](const dir_op& op) {
    if (op.saved) {
      // Every status below is deliberately checked only by the tests that read the result: a
      // failure here means the test machine's disk failed, not the code under test.
      (void)rocksdb::WriteStringToFile(target(), *op.saved, op.path, false);
      files_.erase(op.path);  // what we put back is exactly the durable content
      ++report.entries_restored;
    } else if (op.saved_too_big) {
      ++report.unrestorable;
    }
  };
  for (auto& [dir, ops] : pending_) {
    for (auto op = ops.rbegin(); op != ops.rend(); ++op) {  // newest first: undo in reverse
      switch (op->type) {
        case dir_op::kind::create:
        case dir_op::kind::link:
          if (exists(op->path)) (void)target()->DeleteFile(op->path, io, nullptr);
          files_.erase(op->path);
          ++report.entries_removed;
          put_back(*op);
          break;
        case dir_op::kind::remove:
          put_back(*op);
          break;
        case dir_op::kind::rename: {
          if (exists(op->path)) {
            (void)target()->RenameFile(op->path, op->from, io, nullptr);
            auto node = files_.extract(op->path);
            files_.erase(op->from);
            if (!node.empty()) {
              node.key() = op->from;
              files_.insert(std::move(node));
            }
            ++report.renames_undone;
          }
          put_back(*op);
          break;
        }
      }
    }
  }
  for (const auto& [path, f] : files_) {
    uint64_t size = 0;
    if (!exists(path) || !target()->GetFileSize(path, io, &size, nullptr).ok()) continue;
    const uint64_t keep = f->durable_bytes();
    if (size > keep) {
      // The POSIX FileSystem does not implement Truncate-by-name; the files are local paths.
      if (!target()->Truncate(path, keep, io, nullptr).ok()) {
        std::error_code ec;
        std::filesystem::resize_file(path, keep, ec);
      }
      ++report.files_truncated;
      report.bytes_dropped += size - keep;
    }
  }
  files_.clear();
  pending_.clear();
  power_off_at_.reset();
  fail_write_at_.reset();
  fail_sync_at_.reset();
  fail_dir_sync_at_.reset();
  ++counters_.crashes;
  return report;
}

}  // namespace energo::storage
