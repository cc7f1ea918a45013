#include "crypto/merkle.hpp"

#include <algorithm>
#include <bit>

#include "common/assert.hpp"
#include "crypto/hash.hpp"
#include "crypto/internal.hpp"

namespace energo::crypto {
namespace {

constexpr uint8_t leaf_tag = 0x00;
constexpr uint8_t inner_tag = 0x01;
constexpr uint8_t root_tag = 0x02;
constexpr hash256 zero_hash{};

// Repeated updates of the same leaves between two root() calls must not grow the dirty list
// without bound, so it is deduplicated early once it holds more than twice max(leaf count, this
// minimum) entries. Deduplicated, it holds at most leaf-count entries, so at least that many
// pushes separate two compactions: amortised O(log n) per update. Appends alone never trigger it.
constexpr std::size_t dirty_compact_entries_min = 1024;

// root() prefetches the whole paths of at most this many dirty leaves before it hashes (2 lines per
// level each: up to ~2,500 prefetches for a 2^20-leaf tree, about what the caches take in flight
// usefully); above it the per-level lookahead does the job.
constexpr std::size_t path_prefetch_leaves_max = 64;

void sort_unique(std::vector<uint64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

void note_dirty(std::vector<uint64_t>& dirty, uint64_t index, uint64_t leaf_count) {
  dirty.push_back(index);
  if (dirty.size() > 2 * std::max<std::size_t>(leaf_count, dirty_compact_entries_min)) sort_unique(dirty);
}

// Inner nodes and roots have a fixed length, so their padded blocks are laid out here and only the
// compression function runs (detail::sha256_padded_blocks): per node that saves the incremental
// API's buffering and padding, a sizeable share of a two-block hash. Same bytes, same hash.
hash256 inner_hash(const hash256& left, const hash256& right) {
  constexpr std::size_t message_bytes = 1 + 32 + 32;
  constexpr std::size_t padded = detail::sha256_padded_bytes(message_bytes);
  static_assert(padded == 128, "an inner node is two SHA-256 blocks");
  std::array<uint8_t, padded> buffer;
  buffer[0] = inner_tag;
  std::copy(left.begin(), left.end(), buffer.begin() + 1);
  std::copy(right.begin(), right.end(), buffer.begin() + 33);
  detail::sha256_pad(buffer.data(), message_bytes);
  return detail::sha256_padded_blocks(buffer.data(), padded / 64);
}

hash256 root_hash(uint64_t leaf_count, const hash256& top) {
  constexpr std::size_t message_bytes = 1 + 8 + 32;
  constexpr std::size_t padded = detail::sha256_padded_bytes(message_bytes);
  std::array<uint8_t, padded> buffer;
  buffer[0] = root_tag;
  for (int i = 0; i < 8; ++i) buffer[1 + i] = static_cast<uint8_t>(leaf_count >> (56 - 8 * i));
  std::copy(top.begin(), top.end(), buffer.begin() + 9);
  detail::sha256_pad(buffer.data(), message_bytes);
  return detail::sha256_padded_blocks(buffer.data(), padded / 64);
}

// Width of the level above one of `width` nodes, without overflow at 2^64 - 1.
uint64_t parent_width(uint64_t width) { return width / 2 + (width & 1); }

}  // namespace

uint64_t merkle_depth(uint64_t leaf_count) {
  return leaf_count <= 1 ? 0 : static_cast<uint64_t>(std::bit_width(leaf_count - 1));
}

hash256 merkle_leaf_hash(byte_span data) {
  // Leaves up to a few blocks' worth (account records, orders, and the order book's history leaf of
  // up to 4 + 32 × 50 bytes) are padded in one stack buffer and go straight to the compression
  // function; only larger ones pay for the incremental hasher's heap state.
  constexpr std::size_t stack_leaf_bytes_max = 2048;
  if (data.size() <= stack_leaf_bytes_max) {
    std::array<uint8_t, detail::sha256_padded_bytes(1 + stack_leaf_bytes_max)> buffer;
    buffer[0] = leaf_tag;
    std::copy(data.begin(), data.end(), buffer.begin() + 1);
    detail::sha256_pad(buffer.data(), 1 + data.size());
    return detail::sha256_padded_blocks(buffer.data(), detail::sha256_padded_bytes(1 + data.size()) / 64);
  }
  sha256_hasher hasher;
  hasher.update_u8(leaf_tag).update(data);
  return hasher.finish();
}

uint64_t merkle_tree::append(const hash256& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  note_dirty(dirty_, leaf_count_, leaf_count_ + 1);
  return leaf_count_++;
}

void merkle_tree::pop_back() {
  ENERGO_ASSERT(leaf_count_ > 0, "merkle_tree::pop_back on an empty tree");
  --leaf_count_;
  levels_[0].pop_back();
  if (leaf_count_ == 0) {
    clear();
    return;
  }
  // Shrink the upper levels to the new shape now (root() only grows them); dirty entries of the
  // removed leaf are dropped in root(), where the list is sorted anyway.
  const std::size_t depth = merkle_depth(leaf_count_);
  levels_.resize(std::min(levels_.size(), depth + 1));
  uint64_t width = leaf_count_;
  for (std::size_t k = 1; k < levels_.size(); ++k) {
    width = parent_width(width);
    if (levels_[k].size() > width) levels_[k].resize(width);
  }
  note_dirty(dirty_, leaf_count_ - 1, leaf_count_);
}

void merkle_tree::update(uint64_t index, const hash256& leaf_hash) {
  ENERGO_ASSERT(index < leaf_count_, "merkle_tree::update: index out of range");
  hash256& slot = levels_[0][index];
  if (slot == leaf_hash) return;
  slot = leaf_hash;
  note_dirty(dirty_, index, leaf_count_);
}

void merkle_tree::prefetch_leaf(uint64_t index) const {
  if (index < leaf_count_) __builtin_prefetch(&levels_[0][index]);
}

const hash256& merkle_tree::leaf(uint64_t index) const {
  ENERGO_ASSERT(index < leaf_count_, "merkle_tree::leaf: index out of range");
  return levels_[0][index];
}

hash256 merkle_tree::root() {
  if (leaf_count_ == 0) return root_hash(0, zero_hash);
  if (!dirty_.empty()) {
    sort_unique(dirty_);
    while (!dirty_.empty() && dirty_.back() >= leaf_count_) dirty_.pop_back();  // popped leaves
    // Grow the upper levels to the current leaf count. Every node this creates lies on the path
    // of an appended leaf, so the dirty walk below fills it in.
    uint64_t width = leaf_count_;
    for (std::size_t k = 1; width > 1; ++k) {
      width = parent_width(width);
      if (levels_.size() <= k) levels_.emplace_back();
      ENERGO_ASSERT(levels_[k].size() <= width, "merkle level wider than its leaf count allows");
      levels_[k].resize(width);
    }
    ENERGO_ASSERT(levels_.size() == merkle_depth(leaf_count_) + 1, "merkle level count != depth + 1");
    // A few dirty leaves in a large tree: every level's child pair on their paths is a likely cache
    // miss, and the walk below hashes level by level, so those misses would come one after the
    // other (one memory latency per level). Their addresses are known now: fetch every path's child
    // pairs at once, so the misses overlap. Many dirty leaves are covered by the per-level prefetch.
    if (dirty_.size() <= path_prefetch_leaves_max) {
      for (const uint64_t leaf : dirty_)
        for (std::size_t k = 1; k < levels_.size(); ++k) {
          const uint64_t left = (leaf >> (k - 1)) & ~uint64_t{1};
          __builtin_prefetch(&levels_[k - 1][left]);
          __builtin_prefetch(&levels_[k][leaf >> k], 1);
        }
    }
    // Level by level, turn the (sorted, unique) dirty indices into their parents' indices in place
    // and rehash only those parents.
    for (std::size_t k = 1; k < levels_.size(); ++k) {
      std::size_t parents = 0;
      for (const uint64_t child : dirty_) {
        const uint64_t parent = child >> 1;
        if (parents == 0 || dirty_[parents - 1] != parent) dirty_[parents++] = parent;
      }
      dirty_.resize(parents);
      const auto& below = levels_[k - 1];
      auto& here = levels_[k];
      // On a large tree every child pair and parent slot is a cache miss; fetching a few
      // positions ahead overlaps those misses with the hashing of the current node.
      constexpr std::size_t prefetch_distance = 16;
      for (std::size_t j = 0; j < parents; ++j) {
        if (j + prefetch_distance < parents) {
          const uint64_t ahead = dirty_[j + prefetch_distance];
          __builtin_prefetch(&below[2 * ahead]);
          __builtin_prefetch(&here[ahead], 1);
        }
        const uint64_t parent = dirty_[j];
        const uint64_t left = 2 * parent;
        here[parent] = inner_hash(below[left], left + 1 < below.size() ? below[left + 1] : zero_hash);
      }
    }
    dirty_.clear();
  }
  ENERGO_ASSERT(levels_.back().size() == 1, "merkle top level must hold one node");
  return root_hash(leaf_count_, levels_.back()[0]);
}

merkle_proof merkle_tree::proof(uint64_t index) {
  ENERGO_ASSERT(index < leaf_count_, "merkle_tree::proof: index out of range");
  (void)root();  // bring every level up to date
  merkle_proof out;
  out.leaf_index = index;
  out.leaf_count = leaf_count_;
  out.siblings.reserve(levels_.size() - 1);
  uint64_t i = index;
  for (std::size_t k = 0; k + 1 < levels_.size(); ++k, i >>= 1) {
    const uint64_t sibling = i ^ 1;
    out.siblings.push_back(sibling < levels_[k].size() ? levels_[k][sibling] : zero_hash);
  }
  return out;
}

void merkle_tree::clear() {
  leaf_count_ = 0;
  levels_.clear();
  dirty_.clear();
}

bool merkle_verify(const hash256& root, const hash256& leaf_hash, const merkle_proof& proof) {
  if (proof.leaf_count == 0 || proof.leaf_index >= proof.leaf_count) return false;
  if (proof.siblings.size() != merkle_depth(proof.leaf_count)) return false;
  hash256 node = leaf_hash;
  uint64_t index = proof.leaf_index;
  uint64_t width = proof.leaf_count;
  for (const hash256& sibling : proof.siblings) {
    if (index & 1) {
      node = inner_hash(sibling, node);
    } else {
      // The last node of an odd-width level has no right sibling and its proof entry is zeros.
      // Other bytes could never reproduce the root; refusing them early keeps proofs canonical.
      if (index + 1 >= width && sibling != zero_hash) return false;
      node = inner_hash(node, sibling);
    }
    index >>= 1;
    width = parent_width(width);
  }
  return root_hash(proof.leaf_count, node) == root;
}

}  // namespace energo::crypto
