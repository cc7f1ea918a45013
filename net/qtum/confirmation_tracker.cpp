#include "net/qtum/confirmation_tracker.hpp"

#include <algorithm>

#include "common/assert.hpp"

namespace energo::qtum {

confirmation_tracker::confirmation_tracker(tracker_config config) : config_(config) {
  ENERGO_ASSERT(config_.confirmations_required >= 1, "confirmations_required must be at least 1");
  ENERGO_ASSERT(config_.window_blocks >= config_.confirmations_required &&
                    config_.window_blocks <= limits::tracker_window_blocks_max,
                "window_blocks must cover the confirmation depth and stay bounded");
}

qtum_result<void> confirmation_tracker::track(const txid_t& txid) {
  if (anchors_.contains(txid)) return ok;
  if (anchors_.size() >= limits::anchors_tracked_max) {
    return make_error(error_code::invalid_argument, "too many anchors tracked (anchors_tracked_max)");
  }
  anchors_.emplace(txid, anchor_status{});
  return ok;
}

void confirmation_tracker::untrack(const txid_t& txid) { anchors_.erase(txid); }

std::optional<anchor_status> confirmation_tracker::status(const txid_t& txid) const {
  const auto it = anchors_.find(txid);
  if (it == anchors_.end()) return std::nullopt;
  anchor_status s = it->second;
  const auto tip = tip_height();
  s.confirmations = s.state == anchor_state::pending || !tip || *tip < s.height ? 0 : *tip - s.height + 1;
  return s;
}

std::optional<uint64_t> confirmation_tracker::tip_height() const {
  if (window_.empty()) return std::nullopt;
  return window_.back().height;
}

std::optional<uint64_t> confirmation_tracker::window_base_height() const {
  if (window_.empty()) return std::nullopt;
  return window_.front().height;
}

std::optional<crypto::hash256> confirmation_tracker::hash_at(uint64_t height) const {
  if (window_.empty() || height < window_.front().height || height > window_.back().height) return std::nullopt;
  return window_[height - window_.front().height].hash;
}

qtum_result<std::vector<tracker_event>> confirmation_tracker::connect_block(uint64_t height,
                                                                            const crypto::hash256& hash,
                                                                            const crypto::hash256& prev_hash,
                                                                            std::span<const txid_t> txids) {
  if (!window_.empty()) {
    if (height != window_.back().height + 1) {
      return make_error(error_code::chain, "block at height " + std::to_string(height) + " does not follow tip " +
                                               std::to_string(window_.back().height));
    }
    if (prev_hash != window_.back().hash) {
      return make_error(error_code::chain, "block at height " + std::to_string(height) +
                                               " does not build on the tracked tip (reorg: disconnect first)");
    }
  }
  window_.push_back(block{height, hash, prev_hash});
  if (window_.size() > config_.window_blocks) window_.pop_front();

  std::vector<tracker_event> events;
  for (const auto& id : txids) {
    auto it = anchors_.find(id);
    if (it == anchors_.end() || it->second.state != anchor_state::pending) continue;
    it->second.state = anchor_state::included;
    it->second.height = height;
    it->second.block_hash = hash;
    events.push_back({tracker_event_kind::included, id, height});
  }
  for (auto& [id, s] : anchors_) {
    if (s.state == anchor_state::included && height - s.height + 1 >= config_.confirmations_required) {
      s.state = anchor_state::confirmed;
      events.push_back({tracker_event_kind::confirmed, id, height});
    }
  }
  ENERGO_ASSERT(!ENERGO_INVARIANTS_ENABLED || check_invariants(), "tracker invariants after connect_block");
  return events;
}

std::vector<tracker_event> confirmation_tracker::disconnect_above(uint64_t height) {
  if (!window_.empty() && height < window_.front().height) return reset();  // fork below the window
  std::vector<tracker_event> events;
  while (!window_.empty() && window_.back().height > height) window_.pop_back();
  for (auto& [id, s] : anchors_) {
    if (s.state != anchor_state::pending && s.height > height) {
      events.push_back({tracker_event_kind::reorged_out, id, s.height});
      s = anchor_status{};
    } else if (s.state == anchor_state::confirmed && height - s.height + 1 < config_.confirmations_required) {
      s.state = anchor_state::included;  // still on the chain but no longer deep enough
    }
  }
  ENERGO_ASSERT(!ENERGO_INVARIANTS_ENABLED || check_invariants(), "tracker invariants after disconnect_above");
  return events;
}

std::vector<tracker_event> confirmation_tracker::reset() {
  window_.clear();
  std::vector<tracker_event> events;
  for (auto& [id, s] : anchors_) {
    if (s.state != anchor_state::pending) {
      events.push_back({tracker_event_kind::reorged_out, id, s.height});
      s = anchor_status{};
    }
  }
  return events;
}

bool confirmation_tracker::check_invariants() const {
  if (window_.size() > config_.window_blocks) return false;
  for (std::size_t i = 1; i < window_.size(); ++i) {
    if (window_[i].height != window_[i - 1].height + 1 || window_[i].prev_hash != window_[i - 1].hash) return false;
  }
  for (const auto& [id, s] : anchors_) {
    if (s.state == anchor_state::pending) continue;
    if (window_.empty() || s.height > window_.back().height) return false;
    if (const auto h = hash_at(s.height); h && *h != s.block_hash) return false;
    const uint64_t confirmations = window_.back().height - s.height + 1;
    if ((s.state == anchor_state::confirmed) != (confirmations >= config_.confirmations_required)) return false;
  }
  return true;
}

}  // namespace energo::qtum
