#pragma once
// An append-only binary Merkle tree over leaf slots, updated incrementally.
//
//   leaf hash  = SHA-256(0x00 || leaf data)                (callers pass the data's leaf hash)
//   inner node = SHA-256(0x01 || left || right); a missing right child is 32 zero bytes
//   root       = SHA-256(0x02 || leaf_count (u64 BE) || top node); the empty tree's top is zero
//
// Changing a leaf marks its path dirty; root() rehashes only dirty nodes, so the cost per changed
// leaf is O(log n) and a batch of changes shares the upper levels. Proofs carry the sibling on
// every level; a verifier needs only the root, the leaf hash and the proof.
#include <cstdint>
#include <vector>

#include "crypto/bytes.hpp"

namespace energo::crypto {

[[nodiscard]] hash256 merkle_leaf_hash(byte_span data);

struct merkle_proof {
  uint64_t leaf_index = 0;
  uint64_t leaf_count = 0;
  std::vector<hash256> siblings;  // bottom-up; size == tree depth for leaf_count
};

class merkle_tree {
 public:
  [[nodiscard]] uint64_t size() const { return leaf_count_; }
  // Appends a leaf and returns its index.
  uint64_t append(const hash256& leaf_hash);
  void update(uint64_t index, const hash256& leaf_hash);
  [[nodiscard]] const hash256& leaf(uint64_t index) const;
  // Recomputes dirty paths (if any) and returns the root.
  [[nodiscard]] hash256 root();
  [[nodiscard]] merkle_proof proof(uint64_t index);
  void clear();

 private:
  uint64_t leaf_count_ = 0;
  std::vector<std::vector<hash256>> levels_;  // levels_[0] = leaves
  std::vector<uint64_t> dirty_;               // leaf indices changed since the last root()
};

[[nodiscard]] bool merkle_verify(const hash256& root, const hash256& leaf_hash, const merkle_proof& proof);

}  // namespace energo::crypto
