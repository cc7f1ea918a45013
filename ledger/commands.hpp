#pragma once
// The ledger's commands (SPEC §3), their canonical encoding and their signatures.
//
// Every command but `tick` is signed by the key allowed to make it and carries a per-key nonce:
//   admin commands        — an admin Ed25519 key; nonce strictly above that key's last one
//   meter_reading         — the meter's Ed25519 key; the reading's sequence number is the nonce
//   storage_report        — the storage unit's Ed25519 key; nonce strictly above the last one
//   transfer, orders, agent, EV session open/close
//                         — the account's secp256k1 key (ECDSA over SHA-256 of the signing bytes)
//   ev_delivery           — the charging station's Ed25519 key; its sequence is the nonce
// The signed bytes start with a domain tag and the genesis hash, so a command signed for one
// community can never be replayed in another. `tick` is proposed by the Raft leader only; a node's
// client ingest refuses it (errc::system_command).
//
// verify() does the curve math and is separate from apply(): the node verifies once at ingest,
// auditors verify when replaying; apply() checks nonces and key entitlement only.
#include <array>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "crypto/ed25519.hpp"
#include "crypto/secp256k1.hpp"
#include "ledger/market/types.hpp"
#include "ledger/types.hpp"

namespace energo::ledger {

struct admin_auth {
  crypto::ed25519_public_key admin_key;
  uint64_t nonce = 0;
};

struct tick {
  int64_t time_ms = 0;
};
struct register_meter {
  admin_auth auth;
  crypto::ed25519_public_key meter_key;
  account_address account{};
  int64_t export_wh_start = 0;  // the meter's registers at installation: the baseline for deltas
  int64_t import_wh_start = 0;
};
struct register_storage_unit {
  admin_auth auth;
  crypto::ed25519_public_key unit_key;
  account_address owner{};
  int64_t capacity_wh = 0;
};
struct set_params {
  admin_auth auth;
  community_params params;
};
struct education_grant {
  admin_auth auth;
  account_address account{};
};
struct meter_reading {
  crypto::ed25519_public_key meter_key;
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
  int64_t export_wh_total = 0;  // cumulative energy exported to the community
  int64_t import_wh_total = 0;  // cumulative energy imported from the community
};
struct storage_report {
  crypto::ed25519_public_key unit_key;
  uint64_t nonce = 0;
  uint64_t epoch = 0;       // must be the current epoch
  int64_t stored_wh = 0;    // energy the unit stored during the epoch so far (replaces earlier reports)
};
struct transfer {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  account_address to{};
  asset what = asset::tsl;
  int64_t amount = 0;  // TSL base units or Wh
};

// --- Market (SPEC §4) and EV charging (SPEC §5); account-signed unless noted ---
struct place_order {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  market::side order_side = market::side::buy;
  market::order_kind kind = market::order_kind::limit;
  int64_t price_units_per_wh = 0;  // limit; for market orders the cap (buy) or floor (sell)
  int64_t quantity_wh = 0;
};
struct cancel_order {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  uint64_t order_id = 0;
};
struct replace_order {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  uint64_t order_id = 0;
  int64_t price_units_per_wh = 0;
  int64_t quantity_wh = 0;  // new open quantity
};
// The automatic agent (SPEC §4 "ZI"): the ledger places a sell order at sell_price when the WATT
// balance rises above sell_above_wh, and a buy order at buy_price when it falls below buy_below_wh,
// whenever the member has no other order on that side.
struct set_agent {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  bool enabled = false;
  int64_t buy_price_units_per_wh = 0;
  int64_t buy_below_wh = 0;
  int64_t sell_price_units_per_wh = 0;
  int64_t sell_above_wh = 0;
};
// Admin-signed: a charging station's meter key (signs deliveries), the account paid, its service fee.
struct register_station {
  admin_auth auth;
  crypto::ed25519_public_key station_key;
  account_address account{};
  int64_t service_fee_units_per_kwh = 0;
};
// Vehicle-signed: opens a charging session at a station with a spending cap (energy + fees) and a
// price cap per Wh for the energy bought through the book.
struct ev_open_session {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  crypto::ed25519_public_key station_key;
  int64_t cap_units = 0;
  int64_t price_cap_units_per_wh = 0;
};
// Station-signed (its meter key): cumulative energy delivered in the session; the sequence is the
// station key's nonce. `finished` closes the session after settling this delivery.
struct ev_delivery {
  crypto::ed25519_public_key station_key;
  uint64_t sequence = 0;
  uint64_t session_id = 0;
  int64_t delivered_wh_total = 0;
  bool finished = false;
};
// Vehicle-signed: ends its open session.
struct ev_close_session {
  crypto::secp256k1_public_key from_key;
  uint64_t nonce = 0;
  uint64_t session_id = 0;
};

// The wire type byte is the variant index + 1 and must never be reordered.
using command_body = std::variant<tick, register_meter, register_storage_unit, set_params, education_grant,
                                  meter_reading, storage_report, transfer, place_order, cancel_order, replace_order,
                                  set_agent, register_station, ev_open_session, ev_delivery, ev_close_session>;

enum class command_type : uint8_t {
  tick = 1,
  register_meter,
  register_storage_unit,
  set_params,
  education_grant,
  meter_reading,
  storage_report,
  transfer,
  place_order,
  cancel_order,
  replace_order,
  set_agent,
  register_station,
  ev_open_session,
  ev_delivery,
  ev_close_session,
};

[[nodiscard]] std::string_view command_name(const command_body& body);

using signature_bytes = std::array<uint8_t, 64>;

struct command {
  command_body body;
  signature_bytes signature{};  // Ed25519 or compact ECDSA; all zero for tick
};

// The bytes a signer signs: "energo/cmd/v1" || genesis hash || type || fields.
[[nodiscard]] std::vector<uint8_t> signing_bytes(const command_body& body, const crypto::hash256& genesis_hash);

// Canonical encoding of a whole command (type, fields, signature); decode() refuses anything that
// is not exactly one well-formed command of at most limits::command_bytes_max bytes.
[[nodiscard]] std::vector<uint8_t> encode(const command& cmd);
[[nodiscard]] result<command> decode(std::span<const uint8_t> bytes);

// Checks the signature against the command's own key. `tick` passes only with an all-zero signature.
[[nodiscard]] result<void> verify(const command& cmd, const crypto::hash256& genesis_hash);

// Signing helpers for tools and tests.
[[nodiscard]] command sign_ed25519(command_body body, const crypto::ed25519_keypair& key,
                                   const crypto::hash256& genesis_hash);
[[nodiscard]] command sign_secp256k1(command_body body, const crypto::secp256k1_secret_key& key,
                                     const crypto::hash256& genesis_hash);

}  // namespace energo::ledger
