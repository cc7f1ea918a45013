#include "consensus/session.hpp"

#include "common/le_bytes.hpp"

#include <limits>

namespace energo::consensus {

namespace {
constexpr uint8_t session_encoding_version = 0x53;  // 'S'
constexpr uint8_t session_table_encoding_version = 0x01;
using le_bytes::put_u64;
uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}
// Consuming read: false if fewer than 8 bytes are left.
bool take_u64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  v = get_u64(in);
  in.remove_prefix(8);
  return true;
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

std::string encode_session_open(std::string_view payload) { return encode_session_payload(0, 0, payload); }

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

uint64_t session_table::open(index_t index) {
  ENERGO_ASSERT(index > 0, "a session id is the log index of its open entry");
  expire(index);
  session& s = sessions_[index];
  ENERGO_ASSERT(s.last_index == 0, "a log index opens one session");
  s.last_index = index;
  evict_if_full();
  return index;
}

session_check session_table::check(uint64_t client_id, uint64_t sequence, index_t index) {
  expire(index);
  auto it = sessions_.find(client_id);
  // Unknown (never opened, evicted, expired): applying it could apply it a second time.
  if (client_id == 0 || sequence == 0 || it == sessions_.end()) return {session_verdict::unknown_session, {}};
  if (sequence == it->second.last_sequence) {
    it->second.last_index = index;
    return {session_verdict::duplicate, it->second.response};
  }
  if (sequence < it->second.last_sequence) return {session_verdict::stale, {}};
  return {session_verdict::apply, {}};
}

void session_table::record_response(uint64_t client_id, uint64_t sequence, index_t index,
                                    std::string response) {
  if (response.size() > lim_.response_bytes_max) response.resize(lim_.response_bytes_max);
  auto it = sessions_.find(client_id);
  ENERGO_ASSERT(it != sessions_.end() && sequence > it->second.last_sequence,
                "record_response for a request check() did not allow");
  session& s = it->second;
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

std::string session_table::encode() const {
  std::string out;
  uint64_t bytes = session_table_header_bytes;
  for (const auto& [id, sess] : sessions_) bytes += session_encoded_bytes_fixed + sess.response.size();
  out.reserve(bytes);
  out.push_back(static_cast<char>(session_table_encoding_version));
  put_u64(out, sessions_.size());
  for (const auto& [id, sess] : sessions_) {  // std::map: ascending client id (canonical)
    put_u64(out, id);
    put_u64(out, sess.last_sequence);
    put_u64(out, sess.last_index);
    put_u64(out, sess.response.size());
    out.append(sess.response);
  }
  return out;
}

result<session_table, raft_error> session_table::decode(std::string_view bytes, session_limits lim) {
  auto bad = [](const std::string& why) {
    return unexpected{raft_error{raft_error_code::malformed_encoding,
                                 "malformed session table encoding: " + why, no_node}};
  };
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != session_table_encoding_version)
    return bad("unknown version");
  bytes.remove_prefix(1);
  uint64_t count = 0;
  if (!take_u64(bytes, count)) return bad("truncated header");
  if (count > lim.sessions_max)
    return bad(std::to_string(count) + " sessions exceed sessions_max " + std::to_string(lim.sessions_max));
  // Checked before looping so that a corrupt count cannot make us spin or allocate.
  if (count > bytes.size() / session_encoded_bytes_fixed) return bad("session count beyond the input");
  session_table t(lim);
  uint64_t prev_id = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id = 0, len = 0;
    session sess;
    if (!take_u64(bytes, id) || !take_u64(bytes, sess.last_sequence) || !take_u64(bytes, sess.last_index) ||
        !take_u64(bytes, len))
      return bad("truncated session");
    if (id == 0) return bad("client id 0");
    if (id <= prev_id) return bad("client ids not strictly ascending");
    if (len > lim.response_bytes_max) return bad("response of client " + std::to_string(id) + " too long");
    if (len > bytes.size()) return bad("truncated response");
    sess.response = std::string(bytes.substr(0, len));
    bytes.remove_prefix(len);
    t.sessions_.emplace_hint(t.sessions_.end(), id, std::move(sess));
    prev_id = id;
  }
  if (!bytes.empty()) return bad("trailing bytes");
  return t;
}

}  // namespace energo::consensus
