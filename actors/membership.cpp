#include "actors/membership.hpp"

#include <algorithm>

#include "common/le_bytes.hpp"
#include "crypto/hash.hpp"

namespace energo::actors {

namespace cs = energo::consensus;

namespace {

constexpr uint8_t registry_version = 1;
constexpr uint8_t admin_request_version = 1;

using namespace energo::le_bytes;

bool valid_role(uint8_t r) { return r == 1 || r == 2; }

}  // namespace

std::optional<entry_kind> kind_of(std::string_view payload) {
  if (payload.empty()) return std::nullopt;
  switch (static_cast<uint8_t>(payload[0])) {
    case 1: return entry_kind::command_batch;
    case 2: return entry_kind::leader_tick;
    case 3: return entry_kind::admin_request;
    case 4: return entry_kind::checkpoint_mark;
    case 5: return entry_kind::anchor_intent;
    case 6: return entry_kind::anchor_record;
    default: return std::nullopt;
  }
}

bool forwardable(std::string_view payload) {
  const auto k = kind_of(payload);
  return k == entry_kind::command_batch || k == entry_kind::admin_request;
}

std::string encode_tick_entry(int64_t time_ms) {
  std::string out;
  put_u8(out, static_cast<uint8_t>(entry_kind::leader_tick));
  put_u64(out, static_cast<uint64_t>(time_ms));
  return out;
}

std::optional<int64_t> decode_tick_entry(std::string_view payload) {
  reader r{payload};
  if (r.u8() != static_cast<uint8_t>(entry_kind::leader_tick)) return std::nullopt;
  const auto t = static_cast<int64_t>(r.u64());
  if (!r.good || !r.in.empty()) return std::nullopt;
  return t;
}

std::string encode_admin_entry(std::string_view request_bytes) {
  std::string out;
  put_u8(out, static_cast<uint8_t>(entry_kind::admin_request));
  out.append(request_bytes);
  return out;
}

cs::node_id node_id_of_key(const crypto::ed25519_public_key& key) {
  const crypto::hash256 h = crypto::sha256(key.bytes);
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | h[static_cast<std::size_t>(i)];
  return id == 0 ? 1 : id;
}

std::string_view to_string(member_role r) { return r == member_role::voter ? "voter" : "learner"; }

std::string_view to_string(admin_op op) {
  switch (op) {
    case admin_op::add: return "add";
    case admin_op::promote: return "promote";
    case admin_op::remove: return "remove";
    case admin_op::transfer_leader: return "transfer_leader";
    case admin_op::demote: return "demote";
  }
  return "?";
}

const member_record* member_registry::find_key(const crypto::ed25519_public_key& key) const {
  for (const auto& [id, m] : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const member_record* member_registry::find_name(std::string_view name) const {
  for (const auto& [id, m] : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

cs::membership member_registry::desired_membership() const {
  cs::membership m;
  for (const auto& [id, rec] : members) {
    if (rec.role == member_role::voter) m.voters.insert(id);
    else m.learners.insert(id);
  }
  return m;
}

std::string encode_registry(const member_registry& r) {
  std::string out;
  put_u8(out, registry_version);
  put_u16(out, static_cast<uint16_t>(r.members.size()));
  for (const auto& [id, m] : r.members) {
    put_u64(out, id);
    put_bytes16(out, m.name);
    put_raw(out, m.key.bytes);
    put_bytes16(out, m.peer);
    put_bytes16(out, m.client);
    put_u8(out, static_cast<uint8_t>(m.role));
  }
  put_u16(out, static_cast<uint16_t>(r.admin_nonces.size()));
  for (const auto& [k, n] : r.admin_nonces) {
    put_raw(out, k.bytes);
    put_u64(out, n);
  }
  return out;
}

std::optional<member_registry> decode_registry(std::string_view bytes) {
  reader r{bytes};
  if (r.u8() != registry_version) return std::nullopt;
  member_registry reg;
  const uint16_t n = r.u16();
  if (!r.good || n > limits::members_max) return std::nullopt;
  for (uint16_t i = 0; i < n && r.good; ++i) {
    member_record m;
    m.id = r.u64();
    m.name = r.bytes16(limits::member_name_bytes_max);
    m.key.bytes = r.raw<32>();
    m.peer = r.bytes16(limits::member_address_bytes_max);
    m.client = r.bytes16(limits::member_address_bytes_max);
    const uint8_t role = r.u8();
    if (!r.good || !valid_role(role) || m.id != node_id_of_key(m.key)) return std::nullopt;
    m.role = static_cast<member_role>(role);
    if (!reg.members.emplace(m.id, std::move(m)).second) return std::nullopt;
  }
  const uint16_t k = r.u16();
  if (!r.good || k > limits::admin_keys_tracked_max) return std::nullopt;
  for (uint16_t i = 0; i < k && r.good; ++i) {
    crypto::ed25519_public_key key;
    key.bytes = r.raw<32>();
    reg.admin_nonces[key] = r.u64();
  }
  if (!r.good || !r.in.empty()) return std::nullopt;
  return reg;
}

namespace {
std::string unsigned_request(const admin_request& r) {
  std::string out;
  put_u8(out, admin_request_version);
  put_raw(out, r.admin_key.bytes);
  put_u64(out, r.nonce);
  put_u8(out, static_cast<uint8_t>(r.op));
  if (r.op == admin_op::add) {
    put_raw(out, r.node_key.bytes);
    put_bytes16(out, r.name);
    put_bytes16(out, r.peer);
    put_bytes16(out, r.client);
    put_u8(out, static_cast<uint8_t>(r.role));
  } else {
    put_u64(out, r.node);
  }
  return out;
}
}  // namespace

std::vector<uint8_t> admin_signing_bytes(const admin_request& r, std::string_view cluster_id,
                                         const crypto::hash256& genesis_hash) {
  std::string out(admin_request_domain);
  put_raw(out, genesis_hash);
  put_bytes16(out, cluster_id);
  out += unsigned_request(r);
  return {out.begin(), out.end()};
}

admin_request sign_admin_request(admin_request r, const crypto::ed25519_keypair& admin, std::string_view cluster_id,
                                 const crypto::hash256& genesis_hash) {
  r.admin_key = admin.public_key();
  r.signature = admin.sign(admin_signing_bytes(r, cluster_id, genesis_hash));
  return r;
}

std::string encode_admin_request(const admin_request& r) {
  std::string out = unsigned_request(r);
  put_raw(out, r.signature.bytes);
  return out;
}

std::optional<admin_request> decode_admin_request(std::string_view bytes) {
  if (bytes.size() > limits::admin_request_bytes_max) return std::nullopt;
  reader rd{bytes};
  if (rd.u8() != admin_request_version) return std::nullopt;
  admin_request r;
  r.admin_key.bytes = rd.raw<32>();
  r.nonce = rd.u64();
  const uint8_t op = rd.u8();
  if (!rd.good || op < 1 || op > static_cast<uint8_t>(admin_op::demote)) return std::nullopt;
  r.op = static_cast<admin_op>(op);
  if (r.op == admin_op::add) {
    r.node_key.bytes = rd.raw<32>();
    r.name = rd.bytes16(limits::member_name_bytes_max);
    r.peer = rd.bytes16(limits::member_address_bytes_max);
    r.client = rd.bytes16(limits::member_address_bytes_max);
    const uint8_t role = rd.u8();
    if (!rd.good || !valid_role(role)) return std::nullopt;
    r.role = static_cast<member_role>(role);
  } else {
    r.node = rd.u64();
  }
  r.signature.bytes = rd.raw<64>();
  if (!rd.good || !rd.in.empty()) return std::nullopt;
  return r;
}

bool verify_admin_request(const admin_request& r, std::string_view cluster_id, const crypto::hash256& genesis_hash) {
  return crypto::ed25519_verify(r.admin_key, admin_signing_bytes(r, cluster_id, genesis_hash), r.signature);
}

admin_outcome apply_admin_request(member_registry& reg, const admin_request& r,
                                  const std::vector<crypto::ed25519_public_key>& admins, std::string_view cluster_id,
                                  const crypto::hash256& genesis_hash) {
  if (std::find(admins.begin(), admins.end(), r.admin_key) == admins.end()) {
    return {"unauthorized", "the key is not a genesis admin"};
  }
  if (!verify_admin_request(r, cluster_id, genesis_hash)) return {"bad_signature", "admin signature does not verify"};
  const auto nonce_it = reg.admin_nonces.find(r.admin_key);
  const uint64_t last = nonce_it == reg.admin_nonces.end() ? 0 : nonce_it->second;
  if (r.nonce <= last) {
    return {"stale_nonce", "nonce " + std::to_string(r.nonce) + " is not above this admin's last " + std::to_string(last)};
  }
  if (nonce_it == reg.admin_nonces.end() && reg.admin_nonces.size() >= limits::admin_keys_tracked_max) {
    return {"invalid", "too many admin keys"};
  }
  std::size_t voters = 0;
  for (const auto& [id, m] : reg.members) voters += m.role == member_role::voter ? 1 : 0;
  switch (r.op) {
    case admin_op::add: {
      const auto id = node_id_of_key(r.node_key);
      if (reg.members.count(id) != 0) return {"member_exists", "node " + std::to_string(id) + " is already a member"};
      if (reg.find_name(r.name) != nullptr) return {"member_exists", "a member is already named '" + r.name + "'"};
      if (r.name.empty() || r.peer.empty()) return {"invalid", "name and peer address are required"};
      if (reg.members.size() >= limits::members_max) return {"invalid", "registry full"};
      reg.members.emplace(id, member_record{id, r.name, r.node_key, r.peer, r.client, r.role});
      break;
    }
    case admin_op::promote: {
      auto it = reg.members.find(r.node);
      if (it == reg.members.end()) return {"unknown_member", "node " + std::to_string(r.node) + " is not a member"};
      if (it->second.role != member_role::learner) return {"invalid", "node " + std::to_string(r.node) + " is not a learner"};
      it->second.role = member_role::voter;
      break;
    }
    case admin_op::remove: {
      auto it = reg.members.find(r.node);
      if (it == reg.members.end()) return {"unknown_member", "node " + std::to_string(r.node) + " is not a member"};
      if (it->second.role == member_role::voter && voters <= 1) return {"invalid", "cannot remove the last voter"};
      reg.members.erase(it);
      break;
    }
    case admin_op::demote: {
      auto it = reg.members.find(r.node);
      if (it == reg.members.end()) return {"unknown_member", "node " + std::to_string(r.node) + " is not a member"};
      if (it->second.role != member_role::voter) return {"invalid", "node " + std::to_string(r.node) + " is not a voter"};
      if (voters <= 1) return {"invalid", "cannot demote the last voter"};
      it->second.role = member_role::learner;
      break;
    }
    case admin_op::transfer_leader: {
      auto it = reg.members.find(r.node);
      if (it == reg.members.end() || it->second.role != member_role::voter) {
        return {"invalid", "node " + std::to_string(r.node) + " is not a voter"};
      }
      break;
    }
  }
  reg.admin_nonces[r.admin_key] = r.nonce;
  return {};
}

}  // namespace energo::actors
