#pragma once
// An append-only binary Merkle tree over leaf slots, updated incrementally.
//
//   leaf hash  = SHA-256(0x00 || leaf data)                (callers pass the data's leaf hash)
//   inner node = SHA-256(0x01 || left || right); a missing right child is 32 zero bytes
//   root       = SHA-256(0x02 || leaf_count (u64 BE) || top node); the empty tree's top is zero
//
// Shape: levels_[0] holds the leaves; level k+1 holds ceil(width_k / 2) nodes, node i hashing
// children 2i and 2i+1 of level k. Levels stop at a width of one (the top node), so the depth for
// n leaves is merkle_depth(n) = ceil(log2 n), and 0 for n <= 1 (one leaf is its own top node).
// Appending past a power of two adds a level on top. Proofs and merkle_verify use the same rule.
//
// pop_back() removes the last leaf (the shape is always the one of the current leaf count).
// Changing a leaf marks its path dirty; root() rehashes only dirty nodes, so the cost per changed
// leaf is O(log n) and a batch of changes shares the upper levels. Proofs carry the sibling on
// every level; a verifier needs only the root, the leaf hash and the proof.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/table_allocator.hpp"
#include "crypto/bytes.hpp"

namespace energo::crypto {

[[nodiscard]] hash256 merkle_leaf_hash(byte_span data);
// Levels above the leaves for `leaf_count` leaves: ceil(log2 leaf_count), 0 for 0 or 1 leaf.
[[nodiscard]] uint64_t merkle_depth(uint64_t leaf_count);

struct merkle_proof {
  uint64_t leaf_index = 0;
  uint64_t leaf_count = 0;
  std::vector<hash256> siblings;  // bottom-up; size == merkle_depth(leaf_count); zeros where a
                                  // node has no right sibling
};

class merkle_tree {
 public:
  [[nodiscard]] uint64_t size() const { return leaf_count_; }
  // Appends a leaf and returns its index.
  uint64_t append(const hash256& leaf_hash);
  // Removes the last leaf (a dense table that shrinks, e.g. the order book's pool). Every node whose
  // subtree lost it lies on the new last leaf's path, which is marked dirty: O(log n).
  void pop_back();
  void update(uint64_t index, const hash256& leaf_hash);
  [[nodiscard]] const hash256& leaf(uint64_t index) const;
  // A hint before update(index, …) in a batch: starts loading the leaf slot into cache.
  void prefetch_leaf(uint64_t index) const;
  // Recomputes dirty paths (if any) and returns the root.
  [[nodiscard]] hash256 root();
  [[nodiscard]] merkle_proof proof(uint64_t index);
  void clear();

 private:
  uint64_t leaf_count_ = 0;
  // Levels start on a cache line, so the two children of an inner node (hashes 2i and 2i+1, 64
  // bytes) always share one line: a dirty path costs one miss per level, not up to two. Levels of
  // 2 MiB and more are huge-page aligned and hinted (common/table_allocator.hpp).
  std::vector<std::vector<hash256, table_allocator<hash256>>> levels_;  // levels_[0] = leaves
  std::vector<uint64_t> dirty_;               // leaf indices changed since the last root()
};

[[nodiscard]] bool merkle_verify(const hash256& root, const hash256& leaf_hash, const merkle_proof& proof);

}  // namespace energo::crypto
