#include "consensus/session.hpp"

#include <limits>

namespace energo::consensus {

namespace {
constexpr uint8_t session_encoding_version = 0x53;  // 'S'
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}
}  // namespace

std::string encode_session_payload(uint64_t client_id, uint64_t sequence, std::string_view payload) {
  std::string out;
  out.reserve(session_header_bytes + payload.size());
  out.push_back(static_cast<char>(session_encoding_version));
  put_u64(out, client_id);
  put_u64(out, sequence);
  out.append(payload);
  return out;
}

std::optional<session_payload> decode_session_payload(std::string_view bytes) {
  if (bytes.size() < session_header_bytes) return std::nullopt;
  if (static_cast<uint8_t>(bytes[0]) != session_encoding_version) return std::nullopt;
  session_payload p;
  p.client_id = get_u64(bytes.substr(1, 8));
  p.sequence = get_u64(bytes.substr(9, 8));
  p.payload = std::string(bytes.substr(session_header_bytes));
  return p;
}

void session_table::expire(index_t index) {
  if (index <= lim_.expiry_entries) return;
  const index_t horizon = index - lim_.expiry_entries;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.last_index < horizon)
      it = sessions_.erase(it);
    else
      ++it;
  }
}

void session_table::evict_if_full() {
  // Deterministic eviction: the session idle longest (smallest last_index, then smallest id).
  while (sessions_.size() > lim_.sessions_max) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.last_index < oldest->second.last_index) oldest = it;
    sessions_.erase(oldest);
  }
}

session_check session_table::check(uint64_t client_id, uint64_t sequence, index_t index) {
  expire(index);
  if (client_id == 0) return {session_verdict::apply, {}};
  auto it = sessions_.find(client_id);
  if (it == sessions_.end()) return {session_verdict::apply, {}};
  if (sequence == it->second.last_sequence) {
    it->second.last_index = index;
    return {session_verdict::duplicate, it->second.response};
  }
  if (sequence < it->second.last_sequence) return {session_verdict::stale, {}};
  return {session_verdict::apply, {}};
}

void session_table::record_response(uint64_t client_id, uint64_t sequence, index_t index,
                                    std::string response) {
  if (client_id == 0) return;
  if (response.size() > lim_.response_bytes_max) response.resize(lim_.response_bytes_max);
  session& s = sessions_[client_id];
  ENERGO_ASSERT(sequence > s.last_sequence || s.last_index == 0,
                "record_response for a sequence check() did not allow");
  s.last_sequence = sequence;
  s.response = std::move(response);
  s.last_index = index;
  evict_if_full();
}

std::optional<uint64_t> session_table::last_sequence(uint64_t client_id) const {
  auto it = sessions_.find(client_id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.last_sequence;
}

}  // namespace energo::consensus
