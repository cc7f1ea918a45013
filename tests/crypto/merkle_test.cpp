#include "crypto/merkle.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>

#include "crypto/hash.hpp"
#include "tests/crypto/test_support.hpp"

namespace energo::crypto {
namespace {

const hash256 zero{};

// An independent, deliberately naive statement of the construction in merkle.hpp: rebuild every
// level from the leaves with the incremental hasher (a different code path from the library's).
hash256 reference_inner(const hash256& left, const hash256& right) {
  sha256_hasher h;
  h.update_u8(0x01).update(left).update(right);
  return h.finish();
}

hash256 reference_root(const std::vector<hash256>& leaves) {
  hash256 top = zero;
  if (!leaves.empty()) {
    std::vector<hash256> level = leaves;
    while (level.size() > 1) {
      std::vector<hash256> next;
      for (std::size_t i = 0; i < level.size(); i += 2) {
        next.push_back(reference_inner(level[i], i + 1 < level.size() ? level[i + 1] : zero));
      }
      level = std::move(next);
    }
    top = level[0];
  }
  sha256_hasher h;
  h.update_u8(0x02).update_u64(leaves.size()).update(top);
  return h.finish();
}

hash256 leaf_n(uint64_t n) {
  sha256_hasher h;
  h.update_u64(n);
  return merkle_leaf_hash(h.finish());
}

std::vector<hash256> leaves_of(uint64_t count) {
  std::vector<hash256> out;
  for (uint64_t i = 0; i < count; ++i) out.push_back(leaf_n(i));
  return out;
}

merkle_tree tree_of(const std::vector<hash256>& leaves) {
  merkle_tree tree;
  for (const auto& leaf : leaves) tree.append(leaf);
  return tree;
}

TEST(merkle, leaf_hash_is_domain_separated) {
  const auto data = as_bytes("account 7");
  sha256_hasher h;
  h.update_u8(0x00).update(data);
  EXPECT_EQ(merkle_leaf_hash(data), h.finish());
  EXPECT_NE(merkle_leaf_hash(data), sha256(data));
  // Both sides of the library's stack buffer (2,048 bytes; larger leaves use the heap hasher).
  for (const std::size_t size : {std::size_t{1000}, std::size_t{2047}, std::size_t{2048}, std::size_t{2049}, std::size_t{5000}}) {
    const std::string big(size, 'x');
    sha256_hasher h2;
    h2.update_u8(0x00).update(as_bytes(big));
    EXPECT_EQ(merkle_leaf_hash(as_bytes(big)), h2.finish()) << size << " bytes";
  }
}

TEST(merkle, depth_rule) {
  EXPECT_EQ(merkle_depth(0), 0u);
  EXPECT_EQ(merkle_depth(1), 0u);
  EXPECT_EQ(merkle_depth(2), 1u);
  EXPECT_EQ(merkle_depth(3), 2u);
  EXPECT_EQ(merkle_depth(4), 2u);
  EXPECT_EQ(merkle_depth(5), 3u);
  EXPECT_EQ(merkle_depth(1024), 10u);
  EXPECT_EQ(merkle_depth(1025), 11u);
  EXPECT_EQ(merkle_depth(UINT64_MAX), 64u);
}

TEST(merkle, small_trees_spelled_out) {
  merkle_tree tree;
  sha256_hasher h;
  EXPECT_EQ(tree.root(), h.update_u8(0x02).update_u64(0).update(zero).finish());

  const hash256 a = leaf_n(0), b = leaf_n(1), c = leaf_n(2);
  tree.append(a);
  EXPECT_EQ(tree.root(), h.update_u8(0x02).update_u64(1).update(a).finish());
  tree.append(b);
  EXPECT_EQ(tree.root(), h.update_u8(0x02).update_u64(2).update(reference_inner(a, b)).finish());
  tree.append(c);
  const hash256 top3 = reference_inner(reference_inner(a, b), reference_inner(c, zero));
  EXPECT_EQ(tree.root(), h.update_u8(0x02).update_u64(3).update(top3).finish());
}

TEST(merkle, sizes_match_reference_and_every_proof_verifies) {
  for (uint64_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 1000}) {
    SCOPED_TRACE("leaves=" + std::to_string(n));
    const auto leaves = leaves_of(n);
    merkle_tree tree = tree_of(leaves);
    EXPECT_EQ(tree.size(), n);
    const hash256 root = tree.root();
    EXPECT_EQ(root, reference_root(leaves));
    for (uint64_t i = 0; i < n; ++i) {
      EXPECT_EQ(tree.leaf(i), leaves[i]);
      const merkle_proof proof = tree.proof(i);
      EXPECT_EQ(proof.leaf_index, i);
      EXPECT_EQ(proof.leaf_count, n);
      EXPECT_EQ(proof.siblings.size(), merkle_depth(n));
      EXPECT_TRUE(merkle_verify(root, leaves[i], proof)) << "leaf " << i;
    }
  }
}

// Every way of lying about a proof must fail.
void expect_tampering_fails(const hash256& root, const hash256& leaf, const merkle_proof& proof) {
  ASSERT_TRUE(merkle_verify(root, leaf, proof));
  hash256 bad_root = root;
  bad_root[0] ^= 1;
  EXPECT_FALSE(merkle_verify(bad_root, leaf, proof));
  hash256 bad_leaf = leaf;
  bad_leaf[31] ^= 1;
  EXPECT_FALSE(merkle_verify(root, bad_leaf, proof));
  for (std::size_t s = 0; s < proof.siblings.size(); ++s) {
    merkle_proof p = proof;
    p.siblings[s][s % 32] ^= 0x40;
    EXPECT_FALSE(merkle_verify(root, leaf, p)) << "sibling " << s;
  }
  for (uint64_t other = 0; other < std::min<uint64_t>(proof.leaf_count, 16); ++other) {
    if (other == proof.leaf_index) continue;
    merkle_proof p = proof;
    p.leaf_index = other;
    EXPECT_FALSE(merkle_verify(root, leaf, p)) << "index " << other;
  }
  for (uint64_t count : {proof.leaf_count - 1, proof.leaf_count + 1, proof.leaf_count * 2, uint64_t{0}}) {
    merkle_proof p = proof;
    p.leaf_count = count;
    EXPECT_FALSE(merkle_verify(root, leaf, p)) << "count " << count;
  }
  merkle_proof out_of_range = proof;
  out_of_range.leaf_index = proof.leaf_count;
  EXPECT_FALSE(merkle_verify(root, leaf, out_of_range));
  merkle_proof longer = proof;
  longer.siblings.push_back(zero);
  EXPECT_FALSE(merkle_verify(root, leaf, longer));
  if (!proof.siblings.empty()) {
    merkle_proof shorter = proof;
    shorter.siblings.pop_back();
    EXPECT_FALSE(merkle_verify(root, leaf, shorter));
  }
}

TEST(merkle, tampered_proofs_fail) {
  for (uint64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 1000}) {
    SCOPED_TRACE("leaves=" + std::to_string(n));
    const auto leaves = leaves_of(n);
    merkle_tree tree = tree_of(leaves);
    const hash256 root = tree.root();
    for (uint64_t i = 0; i < n; i += (n > 50 ? 37 : 1)) {
      SCOPED_TRACE("leaf=" + std::to_string(i));
      expect_tampering_fails(root, leaves[i], tree.proof(i));
    }
    // The last leaf of an odd level has a zero sibling; a proof may not put other bytes there.
    if (n % 2 == 1 && n > 1) {
      merkle_proof p = tree.proof(n - 1);
      ASSERT_EQ(p.siblings[0], zero);
      p.siblings[0][0] = 1;
      EXPECT_FALSE(merkle_verify(root, leaves[n - 1], p));
    }
  }
  EXPECT_FALSE(merkle_verify(merkle_tree{}.root(), zero, merkle_proof{}));
}

TEST(merkle, updates_equal_rebuild_and_proofs_follow) {
  auto leaves = leaves_of(1000);
  merkle_tree tree = tree_of(leaves);
  (void)tree.root();
  for (uint64_t i : {0, 1, 499, 998, 999}) {
    leaves[i] = leaf_n(10'000 + i);
    tree.update(i, leaves[i]);
  }
  const hash256 root = tree.root();
  EXPECT_EQ(root, reference_root(leaves));
  EXPECT_TRUE(merkle_verify(root, leaves[499], tree.proof(499)));
  EXPECT_FALSE(merkle_verify(root, leaf_n(499), tree.proof(499))) << "the old leaf no longer proves";
  // Writing the same value changes nothing.
  tree.update(3, leaves[3]);
  EXPECT_EQ(tree.root(), root);
}

TEST(merkle, many_updates_between_roots_stay_correct) {
  // More pending updates than leaves exercises the early deduplication of the dirty list.
  auto leaves = leaves_of(10);
  merkle_tree tree = tree_of(leaves);
  for (uint64_t round = 0; round < 5000; ++round) {
    const uint64_t i = (round * 7) % leaves.size();
    leaves[i] = leaf_n(round + 100);
    tree.update(i, leaves[i]);
  }
  EXPECT_EQ(tree.root(), reference_root(leaves));
}

TEST(merkle, clear_empties_the_tree) {
  merkle_tree tree = tree_of(leaves_of(9));
  const hash256 nine = tree.root();
  tree.clear();
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.root(), reference_root({}));
  for (const auto& leaf : leaves_of(9)) tree.append(leaf);
  EXPECT_EQ(tree.root(), nine);
}

TEST(merkle_death, out_of_range_index_is_a_programmer_error) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  merkle_tree tree = tree_of(leaves_of(3));
  EXPECT_DEATH(tree.update(3, zero), "index out of range");
  EXPECT_DEATH((void)tree.leaf(3), "index out of range");
  EXPECT_DEATH((void)tree.proof(3), "index out of range");
}

// Random interleavings of append, update and root(): the incremental tree always equals a full
// rebuild, and proofs taken at random moments verify. RapidCheck prints its seed on every run;
// rerun a failure with RC_PARAMS="seed=<seed>".
TEST(merkle, property_incremental_equals_rebuild) {
  const bool ok = rc::check("incremental root == rebuilt root", [] {
    const auto ops = *rc::gen::container<std::vector<std::tuple<int, uint64_t, uint64_t>>>(
        rc::gen::tuple(rc::gen::inRange(0, 10), rc::gen::arbitrary<uint64_t>(), rc::gen::arbitrary<uint64_t>()));
    merkle_tree tree;
    std::vector<hash256> leaves;
    for (const auto& [kind, a, b] : ops) {
      if (kind < 4 || leaves.empty()) {  // append (also the only option on an empty tree)
        leaves.push_back(leaf_n(a));
        RC_ASSERT(tree.append(leaves.back()) == leaves.size() - 1);
      } else if (kind < 8) {  // update a random slot
        const uint64_t i = b % leaves.size();
        leaves[i] = leaf_n(a);
        tree.update(i, leaves[i]);
      } else if (kind == 8) {  // observe the root mid-sequence
        RC_ASSERT(tree.root() == reference_root(leaves));
      } else {  // take and check a proof mid-sequence
        const uint64_t i = b % leaves.size();
        const merkle_proof proof = tree.proof(i);
        RC_ASSERT(merkle_verify(reference_root(leaves), leaves[i], proof));
      }
    }
    RC_ASSERT(tree.size() == leaves.size());
    RC_ASSERT(tree.root() == reference_root(leaves));
  });
  EXPECT_TRUE(ok);
}

// pop_back (the order book's dense pool shrinks): random interleavings of append, update, pop and
// root() always equal a full rebuild, across shape changes (powers of two, down to empty).
TEST(merkle, property_pop_back_equals_rebuild) {
  const bool ok = rc::check("incremental root with pops == rebuilt root", [] {
    const auto ops = *rc::gen::container<std::vector<std::tuple<int, uint64_t, uint64_t>>>(
        rc::gen::tuple(rc::gen::inRange(0, 10), rc::gen::arbitrary<uint64_t>(), rc::gen::arbitrary<uint64_t>()));
    merkle_tree tree;
    std::vector<hash256> leaves;
    for (const auto& [kind, a, b] : ops) {
      if (kind < 3 || leaves.empty()) {
        leaves.push_back(leaf_n(a));
        tree.append(leaves.back());
      } else if (kind < 6) {
        const uint64_t i = b % leaves.size();
        leaves[i] = leaf_n(a);
        tree.update(i, leaves[i]);
      } else if (kind < 8) {
        leaves.pop_back();
        tree.pop_back();
      } else if (kind == 8) {
        RC_ASSERT(tree.root() == reference_root(leaves));
      } else {
        const uint64_t i = b % leaves.size();
        RC_ASSERT(merkle_verify(reference_root(leaves), leaves[i], tree.proof(i)));
      }
    }
    RC_ASSERT(tree.size() == leaves.size());
    RC_ASSERT(tree.root() == reference_root(leaves));
  });
  EXPECT_TRUE(ok);
}

TEST(merkle, pop_back_across_a_power_of_two_and_to_empty) {
  auto leaves = leaves_of(9);
  merkle_tree tree = tree_of(leaves);
  (void)tree.root();
  for (int k = 0; k < 9; ++k) {
    leaves.pop_back();
    tree.pop_back();
    EXPECT_EQ(tree.root(), reference_root(leaves)) << leaves.size() << " leaves";
  }
  EXPECT_EQ(tree.size(), 0u);
}

// Tree levels (and the order book's tables) come from common/table_allocator.hpp: blocks of 2 MiB
// and more (65,536 hashes) are 2 MiB aligned and hinted for huge pages; smaller ones are cache-line
// aligned (a child pair shares one line). The alignment is the contract; whether the kernel backs
// a block with huge pages is not observable and not tested.
TEST(merkle, level_allocation_alignment) {
  constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;
  for (const std::size_t bytes : {std::size_t{32}, std::size_t{64}, std::size_t{4096}, huge_page_bytes - 32}) {
    void* p = table_allocation::allocate(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << bytes;
    table_allocation::deallocate(p, bytes);
  }
  for (const std::size_t bytes : {huge_page_bytes, huge_page_bytes + 32, 3 * huge_page_bytes + 7}) {
    void* p = table_allocation::allocate(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % huge_page_bytes, 0u) << bytes;
    static_cast<uint8_t*>(p)[bytes - 1] = 1;  // the whole size is usable (asan checks the bound)
    table_allocation::deallocate(p, bytes);
  }
}

// A tree whose leaf level grows past 2 MiB (reallocated from the small to the huge-page path) and
// shrinks back: roots equal the naive rebuild throughout, with scattered batches below and above
// the whole-path prefetch bound (64 dirty leaves). Under asan this also checks that every level is
// freed with the alignment it was allocated with.
TEST(merkle, large_tree_across_the_huge_page_threshold) {
  constexpr uint64_t threshold_leaves = (uint64_t{2} << 20) / sizeof(hash256);
  auto leaves = leaves_of(threshold_leaves + 100);
  merkle_tree tree = tree_of(leaves);
  EXPECT_EQ(tree.root(), reference_root(leaves));
  uint64_t x = 12345;
  for (const int batch : {1, 64, 65, 1000}) {
    for (int k = 0; k < batch; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const uint64_t i = (x >> 17) % leaves.size();
      leaves[i] = leaf_n(x);
      tree.update(i, leaves[i]);
    }
    EXPECT_EQ(tree.root(), reference_root(leaves)) << batch << " updates";
  }
  for (int k = 0; k < 200; ++k) {
    leaves.pop_back();
    tree.pop_back();
  }
  EXPECT_EQ(tree.root(), reference_root(leaves));
  merkle_tree copy = tree;  // copying levels goes through the allocator too
  EXPECT_EQ(copy.root(), reference_root(leaves));
  tree.clear();
  EXPECT_EQ(tree.root(), reference_root({}));
}

// Leaves are padded by hand and hashed block by block (detail::sha256_padded_blocks); the padding
// is easy to get wrong at the block boundaries (55/56 bytes in the last block), so every length
// up to five blocks and around the 2 KB stack-buffer bound is checked against the incremental
// hasher (OpenSSL's own padding).
TEST(merkle, leaf_hash_equals_incremental_hasher_at_every_length) {
  std::vector<uint8_t> data;
  for (std::size_t n = 0; n <= 2100; ++n) {
    if (n > 330 && n < 2030) {
      data.push_back(static_cast<uint8_t>(n * 7));
      continue;
    }
    sha256_hasher h;
    h.update_u8(0x00).update(byte_span{data.data(), data.size()});
    ASSERT_EQ(merkle_leaf_hash(data), h.finish()) << n << " bytes";
    data.push_back(static_cast<uint8_t>(n * 7));
  }
}

}  // namespace
}  // namespace energo::crypto
