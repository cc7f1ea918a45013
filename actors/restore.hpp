#pragma once
// energo-node restore (docs/operations.md "Restore", etcdutl's `snapshot restore`): a new data
// directory seeded from a saved node image, in two steps so that a refused image creates nothing.
// Defined in apply_actor.cpp, next to install(), whose state keys they share.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/membership.hpp"
#include "common/result.hpp"
#include "crypto/bytes.hpp"
#include "storage/node_store.hpp"

namespace energo::actors {

struct restore_plan {
  uint64_t applied_index = 0;
  crypto::hash256 root{};          // the ledger's state root at applied_index
  crypto::hash256 genesis_hash{};  // of the ledger inside the image
  std::string community_id;
  storage::snapshot_meta_record meta;      // index = applied_index, term 1, the new voters
  std::string data;                        // the image with the new cluster's members
  std::vector<storage::state_write> state; // what the apply actor loads at start
};
// Checks an image (untrusted bytes): size bound, magic, every part decoded with its bounds, the
// ledger restored (its own checksum). `members`: the new cluster's voters (from its bootstrap
// file); they replace the image's members, while the image's admin nonces are kept (an old admin
// request must not apply again in the restored cluster).
[[nodiscard]] energo::result<restore_plan, std::string> plan_restore(std::string_view image,
                                                                     const member_registry& members);
// Writes the plan into an EMPTY store as a Raft snapshot plus state, in one synced batch.
[[nodiscard]] energo::result<void, std::string> seed_restore(storage::node_store& store, const restore_plan& plan);

}  // namespace energo::actors
