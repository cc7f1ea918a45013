#include "actors/durable_writer.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/assert.hpp"

namespace energo::actors {

durable_writer::durable_writer(storage::node_store& store, storage::group_id group, done_fn done, fail_fn fail)
    : store_(store), group_(group), done_(std::move(done)), fail_(std::move(fail)), thread_([this] { run(); }) {}

durable_writer::~durable_writer() {
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !job_.has_value(); });
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void durable_writer::submit(uint64_t applied_index, std::vector<storage::state_write> writes, finish_fn finish) {
  {
    std::lock_guard lock(mutex_);
    ENERGO_ASSERT(!job_.has_value(), "durable_writer: one batch in flight at a time");
    job_ = job{applied_index, std::move(writes), std::move(finish)};
  }
  cv_.notify_all();
}

bool durable_writer::busy() const {
  std::lock_guard lock(mutex_);
  return job_.has_value();
}

void durable_writer::wait_idle() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !job_.has_value(); });
}

void durable_writer::run() {
  for (;;) {
    uint64_t index = 0;
    std::vector<storage::state_write>* writes = nullptr;
    finish_fn finish;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || job_.has_value(); });
      if (!job_) return;  // stopping with nothing in flight
      index = job_->applied_index;
      writes = &job_->writes;  // stays valid: only this thread clears job_
      finish = std::move(job_->finish);
    }
    if (finish) {
      // Encoding a durable point's image is O(state) CPU that nobody waits for, while raft, apply
      // and the brokers are what clients wait on; with every core busy it would take the CPU from
      // them for its whole length (and every node reaches a durable point at the same index). So
      // it runs on a thread of its own below the node's priority (Linux: nice is per thread). The
      // write stays on this thread at the node's priority: RocksDB makes it the leader of a
      // write group that raft's appends wait behind, so a lowered writer would hold them up.
      std::thread encoder([&] {
        if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), encoder_nice) != 0) {
          spdlog::debug("durable writer: could not lower the encoder's CPU priority");
        }
        finish(*writes);
        finish = nullptr;  // releases what it captured (the copies) before the write
      });
      encoder.join();
    }
    if (auto res = store_.apply_batch(group_, *writes, index); !res) fail_("apply_batch failed: " + res.error().message);
    done_(index);
    {
      std::lock_guard lock(mutex_);
      job_.reset();
    }
    cv_.notify_all();
  }
}

}  // namespace energo::actors
