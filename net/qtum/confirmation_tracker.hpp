#pragma once
// Follows anchor transactions through the active chain, block by block (SPEC §7: track
// confirmations, survive reorgs). Pure: no I/O, no clock. The caller (chain_sync.hpp against a
// node, or a test script) feeds the active chain in order with connect_block() and, when the
// node's chain no longer matches, cuts it back with disconnect_above() or reset().
//
// Invariants: the window holds consecutive heights, each block's prev_hash is the hash of the
// block below it, and at most window_blocks blocks are kept. An anchor is pending (not in any
// window block), included (in a block of the active chain, fewer than depth confirmations) or
// confirmed; confirmations = tip height - block height + 1.
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "net/qtum/error.hpp"
#include "net/qtum/tx.hpp"

namespace energo::qtum {

namespace limits {
inline constexpr std::size_t anchors_tracked_max = 1024;
inline constexpr uint32_t tracker_window_blocks_max = 10'000;
}  // namespace limits

struct tracker_config {
  uint32_t confirmations_required = 6;  // 'confirmed' at this depth (>= 1)
  uint32_t window_blocks = 100;         // blocks remembered to detect reorgs (>= confirmations)
};

enum class anchor_state : uint8_t { pending, included, confirmed };

struct anchor_status {
  anchor_state state = anchor_state::pending;
  uint64_t height = 0;  // block height when included/confirmed
  crypto::hash256 block_hash{};
  uint64_t confirmations = 0;
};

enum class tracker_event_kind : uint8_t {
  included,     // seen in a block of the active chain
  confirmed,    // reached confirmations_required
  reorged_out,  // its block left the active chain: re-broadcast it
};

struct tracker_event {
  tracker_event_kind kind;
  txid_t txid;
  uint64_t height;  // the block it entered, reached depth in, or left
  bool operator==(const tracker_event&) const = default;
};

class confirmation_tracker {
 public:
  explicit confirmation_tracker(tracker_config config);

  // Start following an anchor; call before broadcasting it (blocks already fed are not searched).
  [[nodiscard]] qtum_result<void> track(const txid_t& txid);
  void untrack(const txid_t& txid);
  [[nodiscard]] std::optional<anchor_status> status(const txid_t& txid) const;
  [[nodiscard]] std::size_t tracked_count() const { return anchors_.size(); }

  [[nodiscard]] std::optional<uint64_t> tip_height() const;
  [[nodiscard]] std::optional<uint64_t> window_base_height() const;
  [[nodiscard]] std::optional<crypto::hash256> hash_at(uint64_t height) const;

  // The next block of the active chain. The first block may have any height; later ones must be
  // tip + 1 and name the tip as their parent (error_code::chain otherwise, nothing changes).
  [[nodiscard]] qtum_result<std::vector<tracker_event>> connect_block(uint64_t height, const crypto::hash256& hash,
                                                                      const crypto::hash256& prev_hash,
                                                                      std::span<const txid_t> txids);
  // Drops the blocks above `height` (they left the active chain); their anchors go back to
  // pending with a reorged_out event each. A confirmed anchor below the cut that is no longer
  // deep enough goes back to included (its confirmed event comes again at depth).
  [[nodiscard]] std::vector<tracker_event> disconnect_above(uint64_t height);
  // Forgets every block (the fork point is below the window): every anchor not pending becomes
  // pending with reorged_out, since its block can no longer be checked.
  [[nodiscard]] std::vector<tracker_event> reset();

  // Deep check of the invariants above; true when they hold.
  [[nodiscard]] bool check_invariants() const;

 private:
  struct block {
    uint64_t height;
    crypto::hash256 hash;
    crypto::hash256 prev_hash;
  };
  tracker_config config_;
  std::deque<block> window_;  // window_.front() is the lowest height
  std::map<txid_t, anchor_status> anchors_;
};

}  // namespace energo::qtum
