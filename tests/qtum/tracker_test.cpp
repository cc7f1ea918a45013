// The confirmation tracker against scripted chains: confirmations, depth, reorgs, window bound.
#include <gtest/gtest.h>

#include "net/qtum/confirmation_tracker.hpp"

namespace energo::qtum {
namespace {

// A scripted chain: block hashes derived from (branch, height) so branches differ.
crypto::hash256 block_hash(char branch, uint64_t height) {
  crypto::hash256 h{};
  h[0] = static_cast<uint8_t>(branch);
  for (int i = 0; i < 8; ++i) h[1 + i] = static_cast<uint8_t>(height >> (8 * i));
  return h;
}
txid_t txid(uint8_t tag) {
  txid_t t{};
  t.fill(tag);
  return t;
}

struct scripted_chain {
  confirmation_tracker tracker;
  std::vector<tracker_event> events;
  explicit scripted_chain(tracker_config c) : tracker(c) {}
  // Connects `branch` block at `height` whose parent is `parent_branch` at height - 1.
  void connect(char branch, uint64_t height, std::vector<txid_t> txids = {}, char parent_branch = 0) {
    auto e = tracker.connect_block(height, block_hash(branch, height),
                                   block_hash(parent_branch ? parent_branch : branch, height - 1), txids);
    ASSERT_TRUE(e.has_value()) << e.error().message;
    events.insert(events.end(), e->begin(), e->end());
    ASSERT_TRUE(tracker.check_invariants());
  }
};

TEST(qtum_tracker, counts_confirmations_and_confirms_at_depth) {
  scripted_chain c({.confirmations_required = 3, .window_blocks = 10});
  ASSERT_TRUE(c.tracker.track(txid(1)).has_value());
  c.connect('a', 100);
  EXPECT_EQ(c.tracker.status(txid(1))->state, anchor_state::pending);
  c.connect('a', 101, {txid(9), txid(1)});
  EXPECT_EQ(c.events, (std::vector<tracker_event>{{tracker_event_kind::included, txid(1), 101}}));
  EXPECT_EQ(c.tracker.status(txid(1))->confirmations, 1u);
  c.connect('a', 102);
  EXPECT_EQ(c.tracker.status(txid(1))->confirmations, 2u);
  EXPECT_EQ(c.tracker.status(txid(1))->state, anchor_state::included);
  c.connect('a', 103);
  EXPECT_EQ(c.tracker.status(txid(1))->state, anchor_state::confirmed);
  EXPECT_EQ(c.tracker.status(txid(1))->confirmations, 3u);
  EXPECT_EQ(c.events.back(), (tracker_event{tracker_event_kind::confirmed, txid(1), 103}));
  c.events.clear();
  c.connect('a', 104);
  EXPECT_TRUE(c.events.empty());  // confirmed is reported once
  EXPECT_FALSE(c.tracker.status(txid(2)).has_value());
}

TEST(qtum_tracker, refuses_blocks_that_do_not_extend_the_tip) {
  scripted_chain c({.confirmations_required = 2, .window_blocks = 10});
  c.connect('a', 10);
  EXPECT_EQ(c.tracker.connect_block(12, block_hash('a', 12), block_hash('a', 11), {}).error().code, error_code::chain);
  EXPECT_EQ(c.tracker.connect_block(11, block_hash('b', 11), block_hash('b', 10), {}).error().code, error_code::chain);
  EXPECT_EQ(c.tracker.tip_height(), 10u);
  EXPECT_EQ(c.tracker.hash_at(10), block_hash('a', 10));
}

TEST(qtum_tracker, reorg_takes_the_anchor_out_and_asks_for_rebroadcast) {
  scripted_chain c({.confirmations_required = 3, .window_blocks = 10});
  ASSERT_TRUE(c.tracker.track(txid(1)).has_value());
  c.connect('a', 100);
  c.connect('a', 101, {txid(1)});
  c.connect('a', 102);
  c.events.clear();
  // Branch b forks after 100: blocks 101 and 102 of branch a leave the active chain.
  const auto out = c.tracker.disconnect_above(100);
  EXPECT_EQ(out, (std::vector<tracker_event>{{tracker_event_kind::reorged_out, txid(1), 101}}));
  EXPECT_EQ(c.tracker.status(txid(1))->state, anchor_state::pending);
  EXPECT_EQ(c.tracker.status(txid(1))->confirmations, 0u);
  EXPECT_TRUE(c.tracker.check_invariants());
  c.connect('b', 101, {}, 'a');
  c.connect('b', 102);
  c.connect('b', 103, {txid(1)});  // re-broadcast, mined again higher up
  EXPECT_EQ(c.events, (std::vector<tracker_event>{{tracker_event_kind::included, txid(1), 103}}));
  EXPECT_EQ(c.tracker.status(txid(1))->block_hash, block_hash('b', 103));
}

TEST(qtum_tracker, shallow_reorg_below_a_confirmed_anchor_downgrades_it) {
  scripted_chain c({.confirmations_required = 2, .window_blocks = 10});
  ASSERT_TRUE(c.tracker.track(txid(1)).has_value());
  c.connect('a', 1, {txid(1)});
  c.connect('a', 2);
  EXPECT_EQ(c.tracker.status(txid(1))->state, anchor_state::confirmed);
  EXPECT_TRUE(c.tracker.disconnect_above(1).empty());  // still on the chain: no re-broadcast
  EXPECT_EQ(c.tracker.status(txid(1))->state, anchor_state::included);
  c.events.clear();
  c.connect('b', 2, {}, 'a');
  EXPECT_EQ(c.events, (std::vector<tracker_event>{{tracker_event_kind::confirmed, txid(1), 2}}));
}

TEST(qtum_tracker, window_is_bounded_and_a_fork_below_it_resets) {
  scripted_chain c({.confirmations_required = 2, .window_blocks = 5});
  ASSERT_TRUE(c.tracker.track(txid(1)).has_value());
  for (uint64_t h = 1; h <= 20; ++h) c.connect('a', h, h == 18 ? std::vector<txid_t>{txid(1)} : std::vector<txid_t>{});
  EXPECT_EQ(c.tracker.window_base_height(), 16u);
  EXPECT_EQ(c.tracker.tip_height(), 20u);
  EXPECT_FALSE(c.tracker.hash_at(15).has_value());
  EXPECT_EQ(c.tracker.status(txid(1))->confirmations, 3u);
  const auto out = c.tracker.disconnect_above(10);  // below the window: everything is uncertain
  EXPECT_EQ(out, (std::vector<tracker_event>{{tracker_event_kind::reorged_out, txid(1), 18}}));
  EXPECT_FALSE(c.tracker.tip_height().has_value());
  c.connect('z', 50);  // may restart anywhere
  EXPECT_EQ(c.tracker.tip_height(), 50u);
}

TEST(qtum_tracker, tracked_set_is_bounded) {
  confirmation_tracker t({.confirmations_required = 1, .window_blocks = 1});
  for (std::size_t i = 0; i < limits::anchors_tracked_max; ++i) {
    txid_t id{};
    id[0] = static_cast<uint8_t>(i);
    id[1] = static_cast<uint8_t>(i >> 8);
    ASSERT_TRUE(t.track(id).has_value());
  }
  txid_t extra{};
  extra.fill(0xff);
  EXPECT_FALSE(t.track(extra).has_value());
  t.untrack(txid_t{});
  EXPECT_TRUE(t.track(extra).has_value());
}

}  // namespace
}  // namespace energo::qtum
