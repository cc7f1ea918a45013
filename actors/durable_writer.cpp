#include "actors/durable_writer.hpp"

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
      finish(*writes);
      finish = nullptr;  // releases what it captured (the copies) before the write
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
