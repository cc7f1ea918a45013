#pragma once
// The one error type of storage/. Every rocksdb::Status is converted here (error.cpp) and
// nowhere else, so callers see a stable code and a message a person can act on.
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace energo::storage {

// Stable codes: numbers are part of the interface (logs, metrics); never renumber.
enum class storage_errc : uint8_t {
  io_error = 1,          // the OS or RocksDB failed to read/write; retrying may help
  corruption = 2,        // a checksum, gap or decode failure: data must not be trusted
  not_found = 3,         // the requested record does not exist
  invalid_argument = 4,  // caller broke the API contract (gap in appended indexes, ...)
  already_open = 5,      // another process (or handle) holds the directory's LOCK
  format_mismatch = 6,   // not an energo store, or a format version this build cannot read
  cluster_mismatch = 7,  // the directory belongs to a different cluster id
  limit_exceeded = 8,    // a named limit (storage/limits.hpp) was exceeded
  compacted = 9,         // the requested log index lies in the compacted prefix
  unavailable = 10,      // the requested log index is beyond the last stored entry
};

[[nodiscard]] const char* to_string(storage_errc code) noexcept;

struct storage_error {
  storage_errc code{storage_errc::io_error};
  std::string message;
};

template <class T>
using storage_result = energo::result<T, storage_error>;

[[nodiscard]] inline energo::unexpected<storage_error> make_error(storage_errc code, std::string message) {
  return energo::unexpected<storage_error>{storage_error{code, std::move(message)}};
}

}  // namespace energo::storage
