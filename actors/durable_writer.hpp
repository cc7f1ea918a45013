#pragma once
// The apply actor's durable points, written on a thread of their own.
//
// A durable point is a synced RocksDB write of several megabytes (the ledger image and the
// analytics index as staged values, written in synced chunks first - storage/node_store.hpp
// "Staged values" - then one batch with the outcome difference): 60-200 ms of write and fsync
// on this machine. On the
// apply thread that is time in which no client is answered (the open-loop p99 at 2,000 orders/s
// was 0.4-1.3 s, bench/README.md). The apply actor captures one state - the small writes encoded,
// the ledger and analytics index as copies (a copy is mostly flat vectors: a few ms where encoding
// the image took 70-340 ms on the apply thread) - and hands the batch to this thread, which
// encodes the copies (`finish`), writes, and lets the apply actor go on; `done(index)` is called on
// this thread once the batch is durable, and the apply actor only then lets raft compact its log
// up to `index` (actors/README.md "State durable through the Raft log").
//
// At most one batch is in flight (`busy()`); the apply actor does not submit another before
// `done`, so batches reach the store in order and the state in RocksDB only moves forward.
// A storage error is fatal for the node (exit 5, as for every store write: continuing could
// break a promise already made), so `done` is only ever called for a durable batch.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/node_store.hpp"

namespace energo::actors {

class durable_writer {
 public:
  // The nice value (absolute; the node runs at 0) of the thread that runs `finish`: its encoding
  // yields the CPU to the threads clients wait on. Its delay is bounded: past twice its bounds
  // the apply thread waits for the writer.
  static constexpr int encoder_nice = 10;

  using done_fn = std::function<void(uint64_t applied_index)>;
  using fail_fn = std::function<void(const std::string& what)>;  // must not return
  // Run on the writer thread before the write: appends the writes that are encoded there.
  using finish_fn = std::function<void(std::vector<storage::state_write>& writes)>;

  durable_writer(storage::node_store& store, storage::group_id group, done_fn done, fail_fn fail);
  ~durable_writer();  // waits for the batch in flight, then joins
  durable_writer(const durable_writer&) = delete;
  durable_writer& operator=(const durable_writer&) = delete;

  // Hands over one batch (state writes + the applied index it makes durable; `finish`, when set,
  // completes the writes first). Precondition: !busy(). Returns at once.
  void submit(uint64_t applied_index, std::vector<storage::state_write> writes, finish_fn finish = {});
  // A batch is submitted and its done() has not returned yet.
  [[nodiscard]] bool busy() const;
  // Blocks until no batch is in flight (snapshot install, balance proofs, stop: callers that
  // must write or read the store in order after it).
  void wait_idle();

 private:
  void run();

  storage::node_store& store_;
  const storage::group_id group_;
  const done_fn done_;
  const fail_fn fail_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  struct job {
    uint64_t applied_index = 0;
    std::vector<storage::state_write> writes;
    finish_fn finish;
  };
  std::optional<job> job_;  // guarded by mutex_; set by submit, cleared after done()
  bool stopping_ = false;   // guarded by mutex_
  std::thread thread_;      // last: started once every member above is ready
};

}  // namespace energo::actors
