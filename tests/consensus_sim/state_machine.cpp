#include "tests/consensus_sim/state_machine.hpp"

#include "common/assert.hpp"
#include "consensus/session.hpp"

namespace energo::sim {
namespace {

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
bool get_u64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  in.remove_prefix(8);
  return true;
}
constexpr uint8_t command_version = 1;
constexpr uint8_t snapshot_version = 2;  // 2: sessions as consensus::session_table::encode()

}  // namespace

uint64_t fnv1a(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string encode_command(const command& c) {
  std::string out;
  out.push_back(static_cast<char>(command_version));
  out.push_back(static_cast<char>(c.kind));
  put_u64(out, c.key);
  put_u64(out, static_cast<uint64_t>(c.value));
  return out;
}

std::optional<command> decode_command(std::string_view bytes) {
  if (bytes.size() != 2 + 16 || static_cast<uint8_t>(bytes[0]) != command_version) return std::nullopt;
  command c;
  const auto kind = static_cast<uint8_t>(bytes[1]);
  if (kind != static_cast<uint8_t>(op_kind::write) && kind != static_cast<uint8_t>(op_kind::add)) return std::nullopt;
  c.kind = static_cast<op_kind>(kind);
  bytes.remove_prefix(2);
  uint64_t value = 0;
  if (!get_u64(bytes, c.key) || !get_u64(bytes, value)) return std::nullopt;
  c.value = static_cast<int64_t>(value);
  return c;
}

std::optional<apply_outcome> register_state_machine::apply(const consensus::entry& e) {
  ENERGO_ASSERT(e.index == applied_ + 1, "state machine applies entries in index order");
  applied_ = e.index;
  if (e.type != consensus::entry_type::normal) return std::nullopt;
  if (ledger_ && !e.data.empty() && e.data[0] == ledger_entry_tag) {
    ledger_problem_ = ledger_->apply(std::string_view(e.data).substr(1));
    return std::nullopt;
  }
  const auto framed = consensus::decode_session_payload(e.data);
  ENERGO_ASSERT(framed.has_value(), "simulator only proposes session-framed payloads");
  if (framed->is_open_request()) {
    apply_outcome out;
    out.client_id = sessions_.open(e.index);
    out.opened = true;
    out.open_payload = framed->payload;
    return out;
  }
  const auto cmd = decode_command(framed->payload);
  ENERGO_ASSERT(cmd.has_value(), "simulator only proposes well-formed commands");
  apply_outcome out;
  out.client_id = framed->client_id;
  out.sequence = framed->sequence;
  const auto verdict = sessions_.check(framed->client_id, framed->sequence, e.index);
  if (verdict.verdict == consensus::session_verdict::stale) {
    out.stale = true;
    return out;
  }
  if (verdict.verdict == consensus::session_verdict::unknown_session) {
    out.unknown_session = true;
    return out;
  }
  if (verdict.verdict == consensus::session_verdict::duplicate) {
    std::string_view cached = verdict.cached_response;
    uint64_t v = 0;
    const bool decoded = get_u64(cached, v) && cached.empty();
    ENERGO_ASSERT(decoded, "cached responses are 8-byte values");
    out.response = static_cast<int64_t>(v);
    return out;
  }
  int64_t& v = values_[cmd->key];
  if (cmd->kind == op_kind::write) {
    v = cmd->value;
  } else {
    // Wrapping add, the same as the linearizability model's.
    v = static_cast<int64_t>(static_cast<uint64_t>(v) + static_cast<uint64_t>(cmd->value));
  }
  std::string response;
  put_u64(response, static_cast<uint64_t>(v));
  sessions_.record_response(framed->client_id, framed->sequence, e.index, std::move(response));
  out.response = v;
  out.fresh = true;
  return out;
}

int64_t register_state_machine::value(uint64_t key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? 0 : it->second;
}

std::string register_state_machine::serialize() const {
  std::string out = toy_bytes();
  if (ledger_) {
    const auto bytes = ledger_->snapshot();
    put_u64(out, bytes.size());
    out.append(bytes.begin(), bytes.end());
  }
  return out;
}

std::string register_state_machine::toy_bytes() const {
  std::string out;
  out.push_back(static_cast<char>(snapshot_version));
  put_u64(out, values_.size());
  for (const auto& [k, v] : values_) {
    put_u64(out, k);
    put_u64(out, static_cast<uint64_t>(v));
  }
  const std::string sessions = sessions_.encode();
  put_u64(out, sessions.size());
  out += sessions;
  return out;
}

bool register_state_machine::restore(std::string_view bytes, consensus::index_t index) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != snapshot_version) return false;
  bytes.remove_prefix(1);
  std::map<uint64_t, int64_t> values;
  uint64_t n = 0;
  if (!get_u64(bytes, n) || n > bytes.size() / 16) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t k = 0, v = 0;
    if (!get_u64(bytes, k) || !get_u64(bytes, v)) return false;
    values[k] = static_cast<int64_t>(v);
  }
  if (!get_u64(bytes, n) || n > bytes.size() || (!ledger_ && n != bytes.size())) return false;
  auto sessions = consensus::session_table::decode(bytes.substr(0, n), lim_);
  if (!sessions) return false;
  bytes.remove_prefix(n);
  if (ledger_) {
    if (!get_u64(bytes, n) || n != bytes.size() || !ledger_->restore(bytes)) return false;
    ledger_problem_ = ledger_->deep_check();  // an installed snapshot must be a sound ledger
  }
  values_ = std::move(values);
  sessions_ = std::move(*sessions);
  applied_ = index;
  return true;
}

uint64_t register_state_machine::state_hash() const {
  uint64_t h = fnv1a(toy_bytes());
  if (ledger_) {
    const auto& root = ledger_->root();
    h = fnv1a(std::string_view(reinterpret_cast<const char*>(root.data()), root.size()), h);
  }
  return h;
}

}  // namespace energo::sim
