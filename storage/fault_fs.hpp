#pragma once
// fault_fs: a RocksDB FileSystem for tests that cannot lie about fsync (storage/README.md
// "Fault-injecting file system"). It forwards to a real file system and remembers what a power
// cut would keep:
//  - per file, the prefix made durable by Sync/Fsync (RangeSync = sync_file_range promises
//    nothing about metadata or the disk cache, so it never counts);
//  - per directory, the entry changes (create, delete, rename, link) since its last
//    FSDirectory::Fsync; a file's own fsync does not make its name durable (POSIX).
// simulate_crash() turns the disk into what survives: files cut to their durable length, names
// never made durable removed, deleted or overwritten files put back, renames undone.
//
// Crash protocol (the DB cannot be "abandoned" in-process: its threads would keep writing):
//   fs->power_off();            // or power_off_after(n): from now on every call still
//                               // succeeds, but no sync makes anything durable (the process
//                               // cannot tell; any ack it gives after the cut never left it)
//   store.close() / destroy it; // whatever RocksDB does while closing cannot reach the disk
//   fs->simulate_crash();       // requires every file written through this fs to be closed
//   fs->power_on(); reopen.
//
// Faults on cue: fail_write(n) / fail_sync(n) / fail_dir_sync(n) make the n-th such call from
// now (1 = the next) fail once with IOError; power_off_after(n) lets n more mutating calls
// through, then cuts the power. A failed data sync poisons the file (Linux "fsyncgate"):
// nothing written after the last successful sync becomes durable, even if a later sync succeeds.
//
// Limits (documented, checked by tests where it matters): renames and links are undone within
// the directory of their destination only; directories themselves (CreateDir) are treated as
// durable at once; NewRandomRWFile and files created outside this wrapper (RocksDB's info LOG,
// LOCK) are passed through untracked (treated as durable); content kept to undo a delete or
// overwrite is bounded by fault_fs_limits::restore_bytes_max per file (a larger one is counted
// in crash_report::unrestorable and stays deleted). Thread-safe: one mutex guards the model,
// never held across I/O of the wrapped file system except inside simulate_crash().
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace energo::storage {

namespace fault_fs_limits {
// Bytes of one deleted/overwritten file kept in memory so a crash can bring it back.
inline constexpr std::size_t restore_bytes_max = 64u << 20;
}  // namespace fault_fs_limits

// Attempts (failed ones included) since the fault_fs was made.
struct fault_fs_counters {
  uint64_t writes{0};       // Append / PositionedAppend
  uint64_t syncs{0};        // Sync / Fsync on files
  uint64_t range_syncs{0};  // RangeSync (never durable)
  uint64_t dir_syncs{0};    // FSDirectory::Fsync / FsyncWithDirOptions
  uint64_t creates{0};      // NewWritableFile / ReopenWritableFile / ReuseWritableFile
  uint64_t renames{0};
  uint64_t deletes{0};
  uint64_t links{0};
  uint64_t truncates{0};
  uint64_t mutating{0};         // all of the above: the clock of power_off_after()
  uint64_t injected_errors{0};  // calls failed on cue
  uint64_t syncs_ignored{0};    // file/directory syncs that returned ok while powered off
  uint64_t crashes{0};
};

// What one simulate_crash() dropped.
struct crash_report {
  uint64_t files_truncated{0};
  uint64_t bytes_dropped{0};
  uint64_t entries_removed{0};   // names created since their directory's last fsync
  uint64_t entries_restored{0};  // deleted / overwritten files put back
  uint64_t renames_undone{0};
  uint64_t unrestorable{0};  // a file that should come back but exceeded restore_bytes_max
};

class fault_fs final : public rocksdb::FileSystemWrapper {
 public:
  // forward_syncs = false skips the real fsync/fdatasync calls (the model alone decides what
  // survives simulate_crash()); tests use it for speed on a shared disk.
  explicit fault_fs(const std::shared_ptr<rocksdb::FileSystem>& base = rocksdb::FileSystem::Default(),
                    bool forward_syncs = true);
  ~fault_fs() override;

  static const char* kClassName() { return "energo_fault_fs"; }
  const char* Name() const override { return kClassName(); }

  // ---- Test controls -----------------------------------------------------------------------
  void fail_write(uint64_t nth);     // the nth write from now fails once (0 cancels)
  void fail_sync(uint64_t nth);      // the nth file sync from now fails once and poisons the file
  void fail_dir_sync(uint64_t nth);  // the nth directory fsync from now fails once
  // Injected errors carry IOStatus::SetRetryable(true): RocksDB's error handler then tries to
  // resume writes on its own (remote/transient-looking failures), which the store must not trust.
  void set_errors_retryable(bool retryable);
  void power_off_after(uint64_t mutating_calls);
  void power_off();  // nothing becomes durable any more; calls keep succeeding
  void power_on();  // also cancels pending cues
  [[nodiscard]] bool powered() const;
  [[nodiscard]] fault_fs_counters counters() const;
  // Bytes written but not durable, over all tracked files (0 right after every sync).
  [[nodiscard]] uint64_t unsynced_bytes() const;
  // Directory entry changes not yet made durable, over all directories.
  [[nodiscard]] std::size_t unsynced_entries() const;
  // Reverts the disk to its durable image and forgets the history (what is left is durable).
  // Precondition: nothing writes through this fs (the DB is closed).
  crash_report simulate_crash();

  // ---- rocksdb::FileSystem -----------------------------------------------------------------
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;

  // ---- Used by the file and directory wrappers (public for them; not a test API) ----------
  struct file_state {
    uint64_t size_bytes{0};    // logical size written through this fs
    uint64_t synced_bytes{0};  // durable prefix
    std::optional<uint64_t> poisoned_at;  // a sync failed: nothing past this becomes durable
    [[nodiscard]] uint64_t durable_bytes() const {
      return poisoned_at && *poisoned_at < synced_bytes ? *poisoned_at : synced_bytes;
    }
  };
  enum class op_kind { write, sync, range_sync, dir_sync, create, rename, remove, link, truncate };
  // Counts the call and decides whether it fails (cue or power off). nullopt = go ahead.
  // While the power is off every call succeeds but a sync is ignored (*ignored = true): the
  // process cannot know yet, as with a real power cut.
  std::optional<rocksdb::IOStatus> admit(op_kind kind, const std::string& what, bool* ignored = nullptr);
  void note_appended(const std::shared_ptr<file_state>& f, uint64_t bytes);
  void note_written_at(const std::shared_ptr<file_state>& f, uint64_t end_offset);
  void note_truncated(const std::shared_ptr<file_state>& f, uint64_t size);
  void note_synced(const std::shared_ptr<file_state>& f, uint64_t size_before_sync);
  void note_sync_failed(const std::shared_ptr<file_state>& f);
  [[nodiscard]] uint64_t size_of(const std::shared_ptr<file_state>& f) const;
  [[nodiscard]] bool forward_syncs() const noexcept { return forward_syncs_; }
  std::size_t pending_count(const std::string& dir) const;
  void note_dir_synced(const std::string& dir, std::size_t ops_covered);

 private:
  struct dir_op {
    enum class kind { create, remove, rename, link } type;
    std::string path;                  // the name created / removed / renamed-to
    std::string from;                  // rename: the old name
    std::optional<std::string> saved;  // durable content the name held before (to put back)
    bool saved_too_big{false};
  };
  // reopen = append to an existing file (ReopenWritableFile) instead of creating/truncating it.
  rocksdb::IOStatus open_tracked(const std::string& fname, bool reopen,
                                 const std::function<rocksdb::IOStatus(std::unique_ptr<rocksdb::FSWritableFile>*)>& open,
                                 std::unique_ptr<rocksdb::FSWritableFile>* result);
  // Durable content of an existing path (caller holds no lock). nullopt if absent.
  std::optional<std::string> durable_content(const std::string& path, bool& too_big);
  void record(const std::string& dir, dir_op op);

  const bool forward_syncs_;
  mutable std::mutex mutex_;
  bool powered_{true};
  bool retryable_{false};
  std::optional<uint64_t> power_off_at_;  // mutating-call ordinal after which power goes
  std::optional<uint64_t> fail_write_at_;
  std::optional<uint64_t> fail_sync_at_;
  std::optional<uint64_t> fail_dir_sync_at_;
  fault_fs_counters counters_;
  std::map<std::string, std::shared_ptr<file_state>> files_;  // by normalised path, since the last crash
  std::map<std::string, std::vector<dir_op>> pending_;        // by directory: entry changes since its fsync
};

// An Env whose file system is `fs` (threads and clock from rocksdb::Env::Default()), for
// store_options::env. capped_sleeps limits every clock sleep to 1 ms: after a failed background
// flush or compaction RocksDB sleeps 1 s before retrying, and a DB closed right after a power cut
// waits for that sleep; tests would spend most of their time there.
[[nodiscard]] std::shared_ptr<rocksdb::Env> make_fault_env(const std::shared_ptr<fault_fs>& fs,
                                                           bool capped_sleeps = true);

}  // namespace energo::storage
