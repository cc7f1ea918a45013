// The apply actor's durable-point writer (actors/durable_writer.hpp) on a real RocksDB store:
// done() only once the batch is readable from the store with its applied index, batches in
// order, busy() and wait_idle() as the apply actor relies on them.
#include "actors/durable_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tests/storage/test_support.hpp"

namespace energo::actors {
namespace {

using storage::test::temp_dir;
constexpr storage::group_id group = 1;

std::unique_ptr<storage::node_store> open_store(const temp_dir& dir) {
  storage::store_options o;
  o.cluster_id = "writer-test";
  auto s = storage::node_store::open(dir.path(), o);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

TEST(durable_writer, a_batch_is_in_the_store_when_done_is_called) {
  temp_dir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  std::mutex m;
  std::vector<uint64_t> done;
  std::vector<std::optional<std::string>> seen;  // what the store held when done() ran
  {
    durable_writer w(
        *store, group,
        [&](uint64_t index) {
          std::lock_guard lock(m);
          done.push_back(index);
          EXPECT_EQ(store->applied_index(group), index) << "done() before the applied index was written";
          auto v = store->get_state(group, "ledger");
          seen.push_back(v && v->has_value() ? **v : std::optional<std::string>{});
        },
        [](const std::string& what) {
          ADD_FAILURE() << what;
          std::abort();
        });
    EXPECT_FALSE(w.busy());
    for (uint64_t index = 10; index <= 30; index += 10) {
      w.submit(index, {{"ledger", "image@" + std::to_string(index)}, {"o/x", std::nullopt}});
      w.wait_idle();
      EXPECT_FALSE(w.busy());
    }
    w.submit(40, {{"ledger", "image@40"}});
  }  // the destructor waits for the batch in flight
  ASSERT_EQ(done, (std::vector<uint64_t>{10, 20, 30, 40}));
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], "image@" + std::to_string(done[i]));
  }
  EXPECT_EQ(store->applied_index(group), 40u);
}

TEST(durable_writer, busy_until_done_has_returned) {
  temp_dir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  std::atomic<bool> release{false};
  std::atomic<bool> in_done{false};
  durable_writer w(
      *store, group,
      [&](uint64_t) {
        in_done = true;
        while (!release) std::this_thread::yield();
      },
      [](const std::string&) { std::abort(); });
  w.submit(1, {{"k", "v"}});
  while (!in_done) std::this_thread::yield();
  EXPECT_TRUE(w.busy()) << "the apply actor would submit a second batch while the first is unconfirmed";
  release = true;
  w.wait_idle();
  EXPECT_FALSE(w.busy());
}


// The apply actor hands over copies of the ledger and analytics index with a `finish` that encodes
// them: it must run on the writer's thread (the apply thread goes on), before the write, and what
// it appends must be in the same batch as the applied index.
TEST(durable_writer, finish_runs_on_the_writer_thread_and_its_writes_are_in_the_batch) {
  temp_dir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  std::atomic<bool> release{false};
  std::thread::id finish_thread;
  std::optional<std::string> at_done;
  {
    durable_writer w(
        *store, group,
        [&](uint64_t index) {
          EXPECT_EQ(store->applied_index(group), index);
          auto v = store->get_state(group, "ledger");
          at_done = v && v->has_value() ? **v : std::optional<std::string>{};
        },
        [](const std::string&) { std::abort(); });
    w.submit(7, {{"o/x", "outcome"}}, [&](std::vector<storage::state_write>& writes) {
      finish_thread = std::this_thread::get_id();
      while (!release) std::this_thread::yield();  // the submitter is not held up meanwhile
      writes.push_back({"ledger", "image@7"});
    });
    EXPECT_TRUE(w.busy());
    EXPECT_EQ(store->applied_index(group), 0u) << "written before finish completed the batch";
    release = true;
    w.wait_idle();
  }
  EXPECT_NE(finish_thread, std::this_thread::get_id());
  EXPECT_NE(finish_thread, std::thread::id{});
  EXPECT_EQ(at_done, "image@7");
  auto o = store->get_state(group, "o/x");
  ASSERT_TRUE(o && o->has_value());
  EXPECT_EQ(**o, "outcome");
}

}  // namespace
}  // namespace energo::actors
