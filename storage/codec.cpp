#include "storage/codec.hpp"

#include "storage/crc32c.hpp"

namespace energo::storage::codec {

void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFFu));
}
void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFFu));
}
void put_le64(std::string& out, uint64_t v) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>((v >> shift) & 0xFFu));
}
void put_le32(std::string& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((v >> shift) & 0xFFu));
}
uint64_t get_be64(const char* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t get_be32(const char* p) noexcept {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t get_le64(const char* p) noexcept {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t get_le32(const char* p) noexcept {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string group_prefix(group_id group) {
  std::string k;
  k.reserve(group_prefix_bytes);
  put_be64(k, group);
  return k;
}
std::string log_key(group_id group, log_index index) {
  std::string k;
  k.reserve(log_key_bytes);
  put_be64(k, group);
  put_be64(k, index);
  return k;
}
bool decode_log_key(std::string_view key, group_id& group, log_index& index) noexcept {
  if (key.size() != log_key_bytes) return false;
  group = get_be64(key.data());
  index = get_be64(key.data() + 8);
  return true;
}
std::string tagged_key(group_id group, char tag) {
  std::string k = group_prefix(group);
  k.push_back(tag);
  return k;
}
std::string chunk_key(group_id group, uint64_t chunk) {
  std::string k = tagged_key(group, tag_snapshot_data);
  put_be64(k, chunk);
  return k;
}
std::string state_key(group_id group, std::string_view user_key) {
  std::string k = group_prefix(group);
  k.append(user_key);
  return k;
}

namespace {
uint32_t key_body_crc(std::string_view key, std::string_view body) noexcept {
  return crc32c_extend(crc32c_extend(0, key.data(), key.size()), body.data(), body.size());
}
}  // namespace

std::string encode_log_value(std::string_view key, const log_record& record) {
  std::string v;
  v.reserve(1 + 8 + 1 + record.payload.size() + crc_bytes);
  v.push_back(static_cast<char>(log_value_version));
  put_le64(v, record.term);
  v.push_back(static_cast<char>(record.type));
  v.append(record.payload);
  put_le32(v, key_body_crc(key, v));
  return v;
}

storage_result<log_record> decode_log_value(std::string_view key, std::string_view value) {
  group_id group = 0;
  log_index index = 0;
  if (!decode_log_key(key, group, index)) {
    return make_error(storage_errc::corruption, "log key has " + std::to_string(key.size()) + " bytes, expected 16");
  }
  const std::string where = "log entry (group " + std::to_string(group) + ", index " + std::to_string(index) + ")";
  constexpr std::size_t header_bytes = 1 + 8 + 1;
  if (value.size() < header_bytes + crc_bytes) {
    return make_error(storage_errc::corruption, where + ": value truncated to " + std::to_string(value.size()) + " bytes");
  }
  const std::string_view body = value.substr(0, value.size() - crc_bytes);
  if (key_body_crc(key, body) != get_le32(value.data() + body.size())) {
    return make_error(storage_errc::corruption, where + ": checksum mismatch");
  }
  if (static_cast<uint8_t>(body[0]) != log_value_version) {
    return make_error(storage_errc::format_mismatch, where + ": unknown record version " +
                                                         std::to_string(static_cast<uint8_t>(body[0])));
  }
  log_record r;
  r.index = index;
  r.term = get_le64(body.data() + 1);
  r.type = static_cast<uint8_t>(body[9]);
  r.payload.assign(body.substr(header_bytes));
  return r;
}

std::string seal(std::string_view key, std::string body) {
  const uint32_t crc = key_body_crc(key, body);
  put_le32(body, crc);
  return body;
}

storage_result<std::string_view> unseal(std::string_view key, std::string_view value) {
  if (value.size() < crc_bytes) return make_error(storage_errc::corruption, "sealed value shorter than its checksum");
  const std::string_view body = value.substr(0, value.size() - crc_bytes);
  if (key_body_crc(key, body) != get_le32(value.data() + body.size())) {
    return make_error(storage_errc::corruption, "checksum mismatch in a raft_state/snapshot record");
  }
  return body;
}

std::string encode_hard_state(const hard_state_record& hs) {
  std::string b;
  put_le64(b, hs.term);
  put_le64(b, hs.vote);
  put_le64(b, hs.commit);
  return b;
}
storage_result<hard_state_record> decode_hard_state(std::string_view body) {
  if (body.size() != 24) return make_error(storage_errc::corruption, "hard state record has the wrong size");
  return hard_state_record{get_le64(body.data()), get_le64(body.data() + 8), get_le64(body.data() + 16)};
}
std::string encode_index_term(index_term it) {
  std::string b;
  put_le64(b, it.index);
  put_le64(b, it.term);
  return b;
}
storage_result<index_term> decode_index_term(std::string_view body) {
  if (body.size() != 16) return make_error(storage_errc::corruption, "index/term record has the wrong size");
  return index_term{get_le64(body.data()), get_le64(body.data() + 8)};
}
std::string encode_u64(uint64_t v) {
  std::string b;
  put_le64(b, v);
  return b;
}
storage_result<uint64_t> decode_u64(std::string_view body) {
  if (body.size() != 8) return make_error(storage_errc::corruption, "u64 record has the wrong size");
  return get_le64(body.data());
}

namespace {
void put_nodes(std::string& b, const std::vector<node_id>& nodes) {
  put_le32(b, static_cast<uint32_t>(nodes.size()));
  for (node_id n : nodes) put_le64(b, n);
}
bool get_nodes(std::string_view& rest, std::vector<node_id>& nodes) {
  if (rest.size() < 4) return false;
  const uint32_t count = get_le32(rest.data());
  rest.remove_prefix(4);
  if (count > limits::membership_nodes_max || rest.size() < std::size_t{count} * 8) return false;
  nodes.clear();
  for (uint32_t i = 0; i < count; ++i) {
    nodes.push_back(get_le64(rest.data()));
    rest.remove_prefix(8);
  }
  return true;
}
}  // namespace

std::string encode_snapshot_meta(const snapshot_meta_body& body) {
  std::string b;
  put_le64(b, body.meta.index);
  put_le64(b, body.meta.term);
  put_le64(b, body.meta.data_bytes);
  put_le64(b, body.chunk_count);
  put_le32(b, body.data_crc);
  put_nodes(b, body.meta.config.voters);
  put_nodes(b, body.meta.config.learners);
  put_nodes(b, body.meta.config.voters_outgoing);
  return b;
}
storage_result<snapshot_meta_body> decode_snapshot_meta(std::string_view body) {
  constexpr std::size_t fixed_bytes = 8 * 4 + 4;
  if (body.size() < fixed_bytes) return make_error(storage_errc::corruption, "snapshot meta truncated");
  snapshot_meta_body m;
  m.meta.index = get_le64(body.data());
  m.meta.term = get_le64(body.data() + 8);
  m.meta.data_bytes = get_le64(body.data() + 16);
  m.chunk_count = get_le64(body.data() + 24);
  m.data_crc = get_le32(body.data() + 32);
  std::string_view rest = body.substr(fixed_bytes);
  if (!get_nodes(rest, m.meta.config.voters) || !get_nodes(rest, m.meta.config.learners) ||
      !get_nodes(rest, m.meta.config.voters_outgoing) || !rest.empty()) {
    return make_error(storage_errc::corruption, "snapshot meta membership malformed");
  }
  return m;
}

}  // namespace energo::storage::codec
