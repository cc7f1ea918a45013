#pragma once
// What the crash child and the crash tests agree on: the pipe message format and the
// deterministic content written, so the parent can recompute what every entry must contain.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/codec.hpp"
#include "storage/records.hpp"

namespace energo::storage::crash_protocol {

inline constexpr group_id group = 7;
inline constexpr std::size_t message_bytes = 40;
inline constexpr uint64_t kind_intent = 1;  // about to write; a, b, c = state after the write
inline constexpr uint64_t kind_ack = 2;     // the synced write returned ok
inline constexpr uint64_t kind_ready = 3;

struct message {
  uint64_t kind{0};
  uint64_t seq{0};
  uint64_t a{0};  // append: last index after the write
  uint64_t b{0};  // append: term of that last entry (and hard state term)
  uint64_t c{0};  // append: commit index after the write
};

inline void encode(const message& m, char* out) {
  std::string s;
  for (uint64_t v : {m.kind, m.seq, m.a, m.b, m.c}) codec::put_le64(s, v);
  for (std::size_t i = 0; i < message_bytes; ++i) out[i] = s[i];
}
inline message decode(const char* in) {
  return {codec::get_le64(in), codec::get_le64(in + 8), codec::get_le64(in + 16), codec::get_le64(in + 24),
          codec::get_le64(in + 32)};
}

// Entry content depends only on (index, term), with sizes from 0 to 300 bytes.
inline std::string payload_for(log_index i, log_term t) {
  std::string p((i * 7 + t * 13) % 301, '\0');
  for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>('a' + (i + t + k) % 26);
  return p;
}

// Apply batch n: bump a counter, set one key, delete another.
inline std::vector<state_write> apply_writes(log_index n) {
  return {{"counter", std::to_string(n)},
          {"k" + std::to_string(n % 64), "v" + std::to_string(n)},
          {"k" + std::to_string((n + 32) % 64), std::nullopt}};
}
inline std::map<std::string, std::string> expected_state(log_index applied) {
  std::map<std::string, std::string> state;
  for (log_index n = 1; n <= applied; ++n) {
    for (const auto& w : apply_writes(n)) {
      if (w.value) {
        state[w.key] = *w.value;
      } else {
        state.erase(w.key);
      }
    }
  }
  return state;
}

}  // namespace energo::storage::crash_protocol
