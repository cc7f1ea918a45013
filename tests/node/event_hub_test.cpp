// actors/event_hub.hpp and the latency histogram of actors/metrics.hpp (header-only, fast): a
// subscriber that falls behind is dropped and publish never waits for it; bounds hold.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "actors/event_hub.hpp"
#include "actors/metrics.hpp"

namespace {

using namespace energo::actors;
using namespace std::chrono_literals;

TEST(event_hub, DeliversInOrderToEverySubscriber) {
  event_hub hub;
  auto a = hub.subscribe();
  auto b = hub.subscribe();
  ASSERT_TRUE(a && b);
  hub.publish("applied", "{\"applied_index\":1}");
  hub.publish("trade", "{}");
  for (const auto& h : {*a, *b}) {
    auto got = hub.next(h, 10ms);
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].type, "applied");
    EXPECT_EQ((*got)[1].type, "trade");
    EXPECT_LT((*got)[0].id, (*got)[1].id);
  }
  auto none = hub.next(*a, 1ms);  // timeout: an empty batch, the stream goes on
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(event_hub, ASlowSubscriberIsDroppedAndNeverBlocksPublish) {
  event_hub hub;
  hub.set_queue_max(4);
  auto slow = hub.subscribe();
  auto fast = hub.subscribe();
  ASSERT_TRUE(slow && fast);
  std::size_t dropped = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    dropped += hub.publish("applied", std::to_string(i));
    if (i % 2 == 1) {
      ASSERT_TRUE(hub.next(*fast, 0ms));  // the fast one keeps reading
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_FALSE(hub.next(*slow, 0ms));  // its stream ends
  EXPECT_TRUE(hub.next(*fast, 0ms));
}

TEST(event_hub, SubscribersAreBoundedAndCloseEndsStreams) {
  event_hub hub;
  std::vector<event_hub::handle> subs;
  for (std::size_t i = 0; i < 3; ++i) subs.push_back(*hub.subscribe(3));
  EXPECT_FALSE(hub.subscribe(3));
  hub.unsubscribe(subs.back());
  EXPECT_TRUE(hub.subscribe(3));
  std::thread waiter([&] { EXPECT_FALSE(hub.next(subs.front(), 10s)); });
  std::this_thread::sleep_for(20ms);
  hub.close();  // wakes the waiting stream at once
  waiter.join();
  EXPECT_FALSE(hub.subscribe());
}

TEST(latency_histogram, BucketsByUpperBound) {
  latency_histogram h;
  h.observe_ms(0);     // le 1 ms
  h.observe_ms(1);     // le 1 ms (bounds are inclusive)
  h.observe_ms(2);     // le 2 ms
  h.observe_ms(7);     // le 10 ms
  h.observe_ms(99999); // +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(3), 1u);
  EXPECT_EQ(h.bucket(limits::latency_bucket_ms.size()), 1u);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.sum_ms(), 0u + 1 + 2 + 7 + 99999);
}

}  // namespace
