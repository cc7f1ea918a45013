#pragma once
// The node store's recovery rules for one group's Raft log (node_store::recover_group), as pure
// functions of the stored records: the consensus simulator restarts its model of the store
// (tests/consensus_sim/sim_disk.cpp) through these same rules instead of restating them.
//
// RocksDB's WAL replay (kPointInTimeRecovery) has already dropped a torn batch by then: what is left
// is whole batches. These rules catch damage after writing (bit rot, a bad copy, a misdirected
// write, a bug) and report it; the caller refuses to start (or, with truncate_corrupt_tail, cuts an
// uncommitted tail), never repairs.
#include <string>
#include <string_view>

#include "storage/error.hpp"
#include "storage/records.hpp"

namespace energo::storage {

// Checks a group's stored log records one at a time, in key order, from index `first` on: each key
// is this group's log key of the next index (no gap), each value passes the codec (checksum over
// key || body, storage/codec.hpp), and terms never decrease (starting from `previous_term`, the
// term before `first`). `where` names the group in messages ("group 7").
class log_verifier {
 public:
  log_verifier(group_id group, log_index first, log_term previous_term, std::string where);

  // The decoded record, or the first problem (storage_errc::corruption or the codec's error).
  // After a problem, expected() is the index that failed.
  [[nodiscard]] storage_result<log_record> next(std::string_view key, std::string_view value);
  [[nodiscard]] log_index expected() const { return expected_; }

 private:
  group_id group_;
  log_index expected_;
  log_term previous_term_;
  std::string where_;
};

// The stored log starts right after the compacted index (0 when nothing was compacted).
[[nodiscard]] storage_result<void> check_log_start(std::string_view where, log_index first_stored,
                                                   log_index compacted_index);

// The persisted commit index lies within the log; beyond it, committed entries were lost. The
// message leaves "refusing to start: " to the caller.
[[nodiscard]] storage_result<void> check_commit_within_log(std::string_view where, log_index commit,
                                                           log_index last_index);

}  // namespace energo::storage
