#include "storage/error.hpp"

namespace energo::storage {

const char* to_string(storage_errc code) noexcept {
  switch (code) {
    case storage_errc::io_error: return "io_error";
    case storage_errc::corruption: return "corruption";
    case storage_errc::not_found: return "not_found";
    case storage_errc::invalid_argument: return "invalid_argument";
    case storage_errc::already_open: return "already_open";
    case storage_errc::format_mismatch: return "format_mismatch";
    case storage_errc::cluster_mismatch: return "cluster_mismatch";
    case storage_errc::limit_exceeded: return "limit_exceeded";
    case storage_errc::compacted: return "compacted";
    case storage_errc::unavailable: return "unavailable";
  }
  return "unknown";
}

}  // namespace energo::storage
