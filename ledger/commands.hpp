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
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
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

// Which key signs a command kind.
enum class signer_kind : uint8_t { none, ed25519, secp256k1 };

// --- The table of command kinds: the one place a command kind is described ---------------------
//
// Each row gives a kind's wire tag, its name (also the JSON "type"), who signs it and the field
// holding that key, and its fields in wire order. The binary codec and verify() (commands.cpp),
// the JSON codec (tools/command_json.cpp) and command_name() are all driven by these rows, so a
// kind or a field cannot be added to one codec and forgotten in another.
//
// fields(c, f) calls f(name, member) for every field in encoding order; `name` is the field's
// JSON name. Field types each codec knows: int64_t, uint64_t, bool, the two public key types,
// account_address, asset, market::side, market::order_kind, and the composites admin_auth
// (admin_key, nonce) and community_params (community_params_fields).
template <class T>
struct command_kind;

template <class C, class F>
void community_params_fields(C& p, F&& f) {
  f("fee_units_per_kwh_epoch", p.fee_units_per_kwh_epoch);
  f("storage_cost_per_user_cents", p.storage_cost_per_user_cents);
  f("battery_price_cents_per_kwh", p.battery_price_cents_per_kwh);
  f("grant_units", p.grant_units);
}

// A row's constant part; `signer_field` is empty for tick.
#define ENERGO_COMMAND_KIND(type_, signer_, signer_field_)                     \
  static constexpr command_type tag = command_type::type_;                     \
  static constexpr std::string_view name = #type_;                             \
  static constexpr signer_kind signer = signer_kind::signer_;                  \
  static constexpr std::string_view signer_field = signer_field_

template <>
struct command_kind<tick> {
  ENERGO_COMMAND_KIND(tick, none, "");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("time_ms", c.time_ms);
  }
};
template <>
struct command_kind<register_meter> {
  ENERGO_COMMAND_KIND(register_meter, ed25519, "admin_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("auth", c.auth);
    f("meter_key", c.meter_key);
    f("account", c.account);
    f("export_wh_start", c.export_wh_start);
    f("import_wh_start", c.import_wh_start);
  }
};
template <>
struct command_kind<register_storage_unit> {
  ENERGO_COMMAND_KIND(register_storage_unit, ed25519, "admin_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("auth", c.auth);
    f("unit_key", c.unit_key);
    f("owner", c.owner);
    f("capacity_wh", c.capacity_wh);
  }
};
template <>
struct command_kind<set_params> {
  ENERGO_COMMAND_KIND(set_params, ed25519, "admin_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("auth", c.auth);
    f("params", c.params);
  }
};
template <>
struct command_kind<education_grant> {
  ENERGO_COMMAND_KIND(education_grant, ed25519, "admin_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("auth", c.auth);
    f("account", c.account);
  }
};
template <>
struct command_kind<meter_reading> {
  ENERGO_COMMAND_KIND(meter_reading, ed25519, "meter_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("meter_key", c.meter_key);
    f("sequence", c.sequence);
    f("timestamp_ms", c.timestamp_ms);
    f("export_wh_total", c.export_wh_total);
    f("import_wh_total", c.import_wh_total);
  }
};
template <>
struct command_kind<storage_report> {
  ENERGO_COMMAND_KIND(storage_report, ed25519, "unit_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("unit_key", c.unit_key);
    f("nonce", c.nonce);
    f("epoch", c.epoch);
    f("stored_wh", c.stored_wh);
  }
};
template <>
struct command_kind<transfer> {
  ENERGO_COMMAND_KIND(transfer, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("to", c.to);
    f("asset", c.what);
    f("amount", c.amount);
  }
};
template <>
struct command_kind<place_order> {
  ENERGO_COMMAND_KIND(place_order, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("side", c.order_side);
    f("kind", c.kind);
    f("price_units_per_wh", c.price_units_per_wh);
    f("quantity_wh", c.quantity_wh);
  }
};
template <>
struct command_kind<cancel_order> {
  ENERGO_COMMAND_KIND(cancel_order, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("order_id", c.order_id);
  }
};
template <>
struct command_kind<replace_order> {
  ENERGO_COMMAND_KIND(replace_order, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("order_id", c.order_id);
    f("price_units_per_wh", c.price_units_per_wh);
    f("quantity_wh", c.quantity_wh);
  }
};
template <>
struct command_kind<set_agent> {
  ENERGO_COMMAND_KIND(set_agent, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("enabled", c.enabled);
    f("buy_price_units_per_wh", c.buy_price_units_per_wh);
    f("buy_below_wh", c.buy_below_wh);
    f("sell_price_units_per_wh", c.sell_price_units_per_wh);
    f("sell_above_wh", c.sell_above_wh);
  }
};
template <>
struct command_kind<register_station> {
  ENERGO_COMMAND_KIND(register_station, ed25519, "admin_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("auth", c.auth);
    f("station_key", c.station_key);
    f("account", c.account);
    f("service_fee_units_per_kwh", c.service_fee_units_per_kwh);
  }
};
template <>
struct command_kind<ev_open_session> {
  ENERGO_COMMAND_KIND(ev_open_session, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("station_key", c.station_key);
    f("cap_units", c.cap_units);
    f("price_cap_units_per_wh", c.price_cap_units_per_wh);
  }
};
template <>
struct command_kind<ev_delivery> {
  ENERGO_COMMAND_KIND(ev_delivery, ed25519, "station_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("station_key", c.station_key);
    f("sequence", c.sequence);
    f("session_id", c.session_id);
    f("delivered_wh_total", c.delivered_wh_total);
    f("finished", c.finished);
  }
};
template <>
struct command_kind<ev_close_session> {
  ENERGO_COMMAND_KIND(ev_close_session, secp256k1, "from_key");
  template <class C, class F>
  static void fields(C& c, F&& f) {
    f("from_key", c.from_key);
    f("nonce", c.nonce);
    f("session_id", c.session_id);
  }
};
#undef ENERGO_COMMAND_KIND

inline constexpr std::size_t command_kind_count = std::variant_size_v<command_body>;

// A row's constant part, indexed by variant index (= wire tag − 1), for lookups at run time.
struct command_kind_row {
  command_type tag;
  std::string_view name;
  signer_kind signer;
  std::string_view signer_field;
};
inline constexpr auto command_kinds = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<command_kind_row, sizeof...(I)>{
      command_kind_row{command_kind<std::variant_alternative_t<I, command_body>>::tag,
                       command_kind<std::variant_alternative_t<I, command_body>>::name,
                       command_kind<std::variant_alternative_t<I, command_body>>::signer,
                       command_kind<std::variant_alternative_t<I, command_body>>::signer_field}...};
}(std::make_index_sequence<command_kind_count>{});

// The wire tag is the variant index + 1: old logs and signatures depend on it.
static_assert([] {
  for (std::size_t i = 0; i < command_kinds.size(); ++i)
    if (static_cast<std::size_t>(command_kinds[i].tag) != i + 1) return false;
  return true;
}(), "command_body's order and command_type must agree: the wire tag is the variant index + 1");

// Variant index of the kind named `name`; nullopt when none is.
[[nodiscard]] constexpr std::optional<std::size_t> command_index_from_name(std::string_view name) {
  for (std::size_t i = 0; i < command_kinds.size(); ++i)
    if (command_kinds[i].name == name) return i;
  return std::nullopt;
}

// Calls f(std::type_identity<T>{}) for the alternative T of variant index `index`; false (and no
// call) when index >= command_kind_count.
template <class F>
bool visit_command_kind(std::size_t index, F&& f) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return ((index == I ? (f(std::type_identity<std::variant_alternative_t<I, command_body>>{}), true) : false) || ...);
  }(std::make_index_sequence<command_kind_count>{});
}

// The kind's name (its row's); also the JSON "type".
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
