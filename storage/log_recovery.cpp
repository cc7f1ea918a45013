#include "storage/log_recovery.hpp"

#include "storage/codec.hpp"

namespace energo::storage {

log_verifier::log_verifier(group_id group, log_index first, log_term previous_term, std::string where)
    : group_(group), expected_(first), previous_term_(previous_term), where_(std::move(where)) {}

storage_result<log_record> log_verifier::next(std::string_view key, std::string_view value) {
  group_id kg = 0;
  log_index index = 0;
  if (!codec::decode_log_key(key, kg, index) || kg != group_) {
    return make_error(storage_errc::corruption, where_ + ": malformed log key");
  }
  if (index != expected_) {
    return make_error(storage_errc::corruption, where_ + ": log gap, expected index " + std::to_string(expected_) +
                                                    " found " + std::to_string(index));
  }
  auto record = codec::decode_log_value(key, value);
  if (!record) return record;
  if (record->term < previous_term_) {
    return make_error(storage_errc::corruption, where_ + ": term decreases at index " + std::to_string(index));
  }
  previous_term_ = record->term;
  ++expected_;
  return record;
}

storage_result<void> check_log_start(std::string_view where, log_index first_stored, log_index compacted_index) {
  if (first_stored == compacted_index + 1) return ok;
  return make_error(storage_errc::corruption, std::string(where) + ": log starts at index " +
                                                  std::to_string(first_stored) + " but the compacted index is " +
                                                  std::to_string(compacted_index));
}

storage_result<void> check_commit_within_log(std::string_view where, log_index commit, log_index last_index) {
  if (commit <= last_index) return ok;
  return make_error(storage_errc::corruption, std::string(where) + " commit index " + std::to_string(commit) +
                                                  " is beyond the last log index " + std::to_string(last_index) +
                                                  ": committed entries lost");
}

}  // namespace energo::storage
