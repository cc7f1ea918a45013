#pragma once
// The node's replicated member registry and the admin-signed membership requests that change it
// (issue 8 §4; docs/node.md "Membership"). Pure: no clock, no I/O; every replica computes the same
// registry from the same log, so it lives in the apply actor's state beside the ledger (state key
// "members", and inside the node image = Raft snapshot data). The ledger is not involved.
//
// The registry is the *desired* membership: names, keys, addresses and roles. The Raft
// configuration follows it: the leader's raft actor reconciles one single-server change at a time
// (add learner, promote, remove) until consensus::membership matches `desired_membership()`. That
// makes every config change the node proposes idempotent by construction: it is proposed only while
// the Raft config differs from the registry, and a repeated change is refused by the core.
//
// Log entry kinds (the first payload byte of a `normal` entry):
//   1  command batch   client commands, verified at ingest (state_codec.hpp)
//   2  leader tick     i64 time; proposed only by the leader's raft actor for its local clock actor
//   3  admin request   one signed membership request (below), re-verified when applied
//   4-6 checkpoint mark, anchor intent, anchor record (checkpoint_state.hpp): leader only
// A leader refuses forwarded proposals of any kind but 1 and 3 (forwardable()), and a `tick` inside a
// command batch is never applied: only the leader's own clock can move ledger time.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/types.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"

namespace energo::actors {

namespace limits {
inline constexpr std::size_t members_max = 64;              // registry entries
inline constexpr std::size_t member_name_bytes_max = 64;
inline constexpr std::size_t member_address_bytes_max = 256;  // host:port
inline constexpr std::size_t admin_keys_tracked_max = 64;   // nonces kept (genesis allows 16 admins)
inline constexpr std::size_t admin_request_bytes_max = 1024;
}  // namespace limits

// 4-6: checkpoints on Qtum (actors/checkpoint_state.hpp), appended only by the leader's raft actor.
enum class entry_kind : uint8_t {
  command_batch = 1,
  leader_tick = 2,
  admin_request = 3,
  checkpoint_mark = 4,
  anchor_intent = 5,
  anchor_record = 6,
};

// The kind byte of a normal entry's payload, or nullopt for an empty/unknown payload.
[[nodiscard]] std::optional<entry_kind> kind_of(std::string_view payload);
// Whether a leader may append an entry a follower forwarded: command batches and admin requests
// only (each carries its own signatures). A leader tick can come from nowhere but the leader.
[[nodiscard]] bool forwardable(std::string_view payload);
[[nodiscard]] std::string encode_tick_entry(int64_t time_ms);
[[nodiscard]] std::optional<int64_t> decode_tick_entry(std::string_view payload);
[[nodiscard]] std::string encode_admin_entry(std::string_view request_bytes);

// Node id = first 8 bytes of SHA-256(public key), big-endian, never 0 (same as node::node_id_of).
[[nodiscard]] consensus::node_id node_id_of_key(const crypto::ed25519_public_key& key);

enum class member_role : uint8_t { voter = 1, learner = 2 };
[[nodiscard]] std::string_view to_string(member_role r);

struct member_record {
  consensus::node_id id = consensus::no_node;
  std::string name;
  crypto::ed25519_public_key key;
  std::string peer;    // host:port other nodes dial
  std::string client;  // host:port of its client port (energoctl)
  member_role role = member_role::voter;
  friend bool operator==(const member_record&, const member_record&) = default;
};

struct member_registry {
  std::map<consensus::node_id, member_record> members;
  std::map<crypto::ed25519_public_key, uint64_t> admin_nonces;  // admin key -> last nonce used

  [[nodiscard]] const member_record* find_key(const crypto::ed25519_public_key& key) const;
  [[nodiscard]] const member_record* find_name(std::string_view name) const;
  // The Raft configuration the registry asks for.
  [[nodiscard]] consensus::membership desired_membership() const;
  friend bool operator==(const member_registry&, const member_registry&) = default;
};

[[nodiscard]] std::string encode_registry(const member_registry& r);
[[nodiscard]] std::optional<member_registry> decode_registry(std::string_view bytes);

// ---- Admin-signed membership requests --------------------------------------------------------
//
//   request  = version (u8 = 1) || admin key (32) || nonce (u64 LE) || op (u8) || body || signature (64)
//   body     = add:      node key (32) || name || peer || client || role (u8)   (strings: u16 LE length + bytes)
//              promote / remove / transfer_leader / demote: node id (u64 LE)
//   signed   = "energo/member/v1" || genesis hash (32) || u16 LE len(cluster id) || cluster id ||
//              request without the signature
//   signature = Ed25519(admin key, signed)
//
// The admin key must be one of the genesis admins; the nonce must be strictly above the last nonce
// this admin key used for a membership request (tracked in the registry), so a request applies at
// most once and a replay is refused (`stale_nonce`). Cluster id and genesis hash in the signed
// bytes stop a request made for one cluster from being replayed in another.
inline constexpr std::string_view admin_request_domain = "energo/member/v1";

enum class admin_op : uint8_t { add = 1, promote = 2, remove = 3, transfer_leader = 4, demote = 5 };
[[nodiscard]] std::string_view to_string(admin_op op);

struct admin_request {
  crypto::ed25519_public_key admin_key;
  uint64_t nonce = 0;
  admin_op op = admin_op::add;
  // add
  crypto::ed25519_public_key node_key;
  std::string name, peer, client;
  member_role role = member_role::voter;
  // promote / remove / transfer_leader / demote
  consensus::node_id node = consensus::no_node;
  crypto::ed25519_signature signature;
};

[[nodiscard]] std::vector<uint8_t> admin_signing_bytes(const admin_request& r, std::string_view cluster_id,
                                                       const crypto::hash256& genesis_hash);
[[nodiscard]] admin_request sign_admin_request(admin_request r, const crypto::ed25519_keypair& admin,
                                               std::string_view cluster_id, const crypto::hash256& genesis_hash);
[[nodiscard]] std::string encode_admin_request(const admin_request& r);
[[nodiscard]] std::optional<admin_request> decode_admin_request(std::string_view bytes);
[[nodiscard]] bool verify_admin_request(const admin_request& r, std::string_view cluster_id,
                                        const crypto::hash256& genesis_hash);

// What applying a request did. `code` is empty when accepted, else a stable name:
// unauthorized, stale_nonce, bad_signature, malformed, member_exists, unknown_member, invalid.
struct admin_outcome {
  std::string code;
  std::string message;
  bool accepted() const { return code.empty(); }
};

// Applies one request to the registry (deterministic). `admins` = the genesis admins. Refused
// requests change nothing (not even the nonce).
[[nodiscard]] admin_outcome apply_admin_request(member_registry& reg, const admin_request& r,
                                                const std::vector<crypto::ed25519_public_key>& admins,
                                                std::string_view cluster_id, const crypto::hash256& genesis_hash);

}  // namespace energo::actors
