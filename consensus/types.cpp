#include "consensus/types.hpp"

#include "common/le_bytes.hpp"

namespace energo::consensus {

std::string_view to_string(raft_error_code code) {
  switch (code) {
    case raft_error_code::not_leader: return "not_leader";
    case raft_error_code::no_leader: return "no_leader";
    case raft_error_code::transfer_in_progress: return "transfer_in_progress";
    case raft_error_code::uncommitted_limit: return "uncommitted_limit";
    case raft_error_code::entry_too_large: return "entry_too_large";
    case raft_error_code::config_change_pending: return "config_change_pending";
    case raft_error_code::leader_not_ready: return "leader_not_ready";
    case raft_error_code::config_change_invalid: return "config_change_invalid";
    case raft_error_code::transfer_target_invalid: return "transfer_target_invalid";
    case raft_error_code::read_limit: return "read_limit";
    case raft_error_code::malformed_encoding: return "malformed_encoding";
  }
  return "unknown";
}

std::string_view to_string(message_type type) {
  switch (type) {
    case message_type::pre_vote: return "pre_vote";
    case message_type::pre_vote_response: return "pre_vote_response";
    case message_type::vote: return "vote";
    case message_type::vote_response: return "vote_response";
    case message_type::append: return "append";
    case message_type::append_response: return "append_response";
    case message_type::heartbeat: return "heartbeat";
    case message_type::heartbeat_response: return "heartbeat_response";
    case message_type::snapshot_chunk: return "snapshot_chunk";
    case message_type::snapshot_response: return "snapshot_response";
    case message_type::timeout_now: return "timeout_now";
    case message_type::read_index: return "read_index";
    case message_type::read_index_response: return "read_index_response";
    case message_type::forward_proposal: return "forward_proposal";
  }
  return "unknown";
}

namespace {
constexpr uint8_t membership_encoding_version = 1;
// A membership is bounded: a group has at most this many members of each kind.
constexpr uint64_t membership_members_max = 1024;

using le_bytes::put_u64;
bool get_u64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  in.remove_prefix(8);
  return true;
}
void put_set(std::string& out, const std::set<node_id>& s) {
  put_u64(out, s.size());
  for (node_id id : s) put_u64(out, id);
}
bool get_set(std::string_view& in, std::set<node_id>& s) {
  uint64_t n = 0;
  if (!get_u64(in, n) || n > membership_members_max) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0;
    if (!get_u64(in, id) || id == no_node) return false;
    s.insert(id);
  }
  return s.size() == n;
}
}  // namespace

std::string encode_membership(const membership& m) {
  std::string out;
  out.push_back(static_cast<char>(membership_encoding_version));
  put_set(out, m.voters);
  put_set(out, m.learners);
  put_set(out, m.voters_outgoing);
  return out;
}

result<membership, raft_error> decode_membership(std::string_view bytes) {
  membership m;
  auto bad = [](const char* why) {
    return unexpected{raft_error{raft_error_code::config_change_invalid,
                                 std::string("malformed membership encoding: ") + why, no_node}};
  };
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != membership_encoding_version)
    return bad("unknown version");
  bytes.remove_prefix(1);
  if (!get_set(bytes, m.voters) || !get_set(bytes, m.learners) ||
      !get_set(bytes, m.voters_outgoing))
    return bad("truncated or oversized set");
  if (!bytes.empty()) return bad("trailing bytes");
  for (node_id id : m.learners)
    if (m.voters.count(id)) return bad("node is both voter and learner");
  return m;
}

}  // namespace energo::consensus
