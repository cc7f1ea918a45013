#include "ledger/commands.hpp"

#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"

namespace energo::ledger {
namespace {

constexpr std::string_view signing_domain = "energo/cmd/v1";

// Field encoders: one write/read pair per command, in declaration order.
void write_auth(byte_writer& w, const admin_auth& a) {
  w.put_array(a.admin_key.bytes);
  w.put_u64(a.nonce);
}
bool read_auth(byte_reader& r, admin_auth& a) { return r.get_array(a.admin_key.bytes) && r.get_u64(a.nonce); }

void write_fields(byte_writer& w, const tick& c) { w.put_i64(c.time_ms); }
bool read_fields(byte_reader& r, tick& c) { return r.get_i64(c.time_ms); }

void write_fields(byte_writer& w, const register_meter& c) {
  write_auth(w, c.auth);
  w.put_array(c.meter_key.bytes);
  w.put_array(c.account);
  w.put_i64(c.export_wh_start);
  w.put_i64(c.import_wh_start);
}
bool read_fields(byte_reader& r, register_meter& c) {
  return read_auth(r, c.auth) && r.get_array(c.meter_key.bytes) && r.get_array(c.account) &&
         r.get_i64(c.export_wh_start) && r.get_i64(c.import_wh_start);
}

void write_fields(byte_writer& w, const register_storage_unit& c) {
  write_auth(w, c.auth);
  w.put_array(c.unit_key.bytes);
  w.put_array(c.owner);
  w.put_i64(c.capacity_wh);
}
bool read_fields(byte_reader& r, register_storage_unit& c) {
  return read_auth(r, c.auth) && r.get_array(c.unit_key.bytes) && r.get_array(c.owner) && r.get_i64(c.capacity_wh);
}

void write_fields(byte_writer& w, const set_params& c) {
  write_auth(w, c.auth);
  w.put_i64(c.params.fee_units_per_kwh_epoch);
  w.put_i64(c.params.storage_cost_per_user_cents);
  w.put_i64(c.params.battery_price_cents_per_kwh);
  w.put_i64(c.params.grant_units);
}
bool read_fields(byte_reader& r, set_params& c) {
  return read_auth(r, c.auth) && r.get_i64(c.params.fee_units_per_kwh_epoch) &&
         r.get_i64(c.params.storage_cost_per_user_cents) && r.get_i64(c.params.battery_price_cents_per_kwh) &&
         r.get_i64(c.params.grant_units);
}

void write_fields(byte_writer& w, const education_grant& c) {
  write_auth(w, c.auth);
  w.put_array(c.account);
}
bool read_fields(byte_reader& r, education_grant& c) { return read_auth(r, c.auth) && r.get_array(c.account); }

void write_fields(byte_writer& w, const meter_reading& c) {
  w.put_array(c.meter_key.bytes);
  w.put_u64(c.sequence);
  w.put_i64(c.timestamp_ms);
  w.put_i64(c.export_wh_total);
  w.put_i64(c.import_wh_total);
}
bool read_fields(byte_reader& r, meter_reading& c) {
  return r.get_array(c.meter_key.bytes) && r.get_u64(c.sequence) && r.get_i64(c.timestamp_ms) &&
         r.get_i64(c.export_wh_total) && r.get_i64(c.import_wh_total);
}

void write_fields(byte_writer& w, const storage_report& c) {
  w.put_array(c.unit_key.bytes);
  w.put_u64(c.nonce);
  w.put_u64(c.epoch);
  w.put_i64(c.stored_wh);
}
bool read_fields(byte_reader& r, storage_report& c) {
  return r.get_array(c.unit_key.bytes) && r.get_u64(c.nonce) && r.get_u64(c.epoch) && r.get_i64(c.stored_wh);
}

void write_fields(byte_writer& w, const transfer& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_array(c.to);
  w.put_u8(static_cast<uint8_t>(c.what));
  w.put_i64(c.amount);
}
bool read_fields(byte_reader& r, transfer& c) {
  uint8_t what = 0;
  if (!(r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_array(c.to) && r.get_u8(what) &&
        r.get_i64(c.amount)))
    return false;
  if (what != static_cast<uint8_t>(asset::tsl) && what != static_cast<uint8_t>(asset::watt)) return false;
  c.what = static_cast<asset>(what);
  return true;
}

void write_fields(byte_writer& w, const place_order& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_u8(static_cast<uint8_t>(c.order_side));
  w.put_u8(static_cast<uint8_t>(c.kind));
  w.put_i64(c.price_units_per_wh);
  w.put_i64(c.quantity_wh);
}
bool read_fields(byte_reader& r, place_order& c) {
  uint8_t s = 0, k = 0;
  if (!(r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_u8(s) && r.get_u8(k) &&
        r.get_i64(c.price_units_per_wh) && r.get_i64(c.quantity_wh)))
    return false;
  if (s > 1 || k > 2) return false;
  c.order_side = static_cast<market::side>(s);
  c.kind = static_cast<market::order_kind>(k);
  return true;
}

void write_fields(byte_writer& w, const cancel_order& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_u64(c.order_id);
}
bool read_fields(byte_reader& r, cancel_order& c) {
  return r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_u64(c.order_id);
}

void write_fields(byte_writer& w, const replace_order& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_u64(c.order_id);
  w.put_i64(c.price_units_per_wh);
  w.put_i64(c.quantity_wh);
}
bool read_fields(byte_reader& r, replace_order& c) {
  return r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_u64(c.order_id) &&
         r.get_i64(c.price_units_per_wh) && r.get_i64(c.quantity_wh);
}

void write_fields(byte_writer& w, const set_agent& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_u8(c.enabled ? 1 : 0);
  w.put_i64(c.buy_price_units_per_wh);
  w.put_i64(c.buy_below_wh);
  w.put_i64(c.sell_price_units_per_wh);
  w.put_i64(c.sell_above_wh);
}
bool read_fields(byte_reader& r, set_agent& c) {
  uint8_t enabled = 0;
  if (!(r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_u8(enabled) && r.get_i64(c.buy_price_units_per_wh) &&
        r.get_i64(c.buy_below_wh) && r.get_i64(c.sell_price_units_per_wh) && r.get_i64(c.sell_above_wh)))
    return false;
  if (enabled > 1) return false;
  c.enabled = enabled == 1;
  return true;
}

void write_fields(byte_writer& w, const register_station& c) {
  write_auth(w, c.auth);
  w.put_array(c.station_key.bytes);
  w.put_array(c.account);
  w.put_i64(c.service_fee_units_per_kwh);
}
bool read_fields(byte_reader& r, register_station& c) {
  return read_auth(r, c.auth) && r.get_array(c.station_key.bytes) && r.get_array(c.account) &&
         r.get_i64(c.service_fee_units_per_kwh);
}

void write_fields(byte_writer& w, const ev_open_session& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_array(c.station_key.bytes);
  w.put_i64(c.cap_units);
  w.put_i64(c.price_cap_units_per_wh);
}
bool read_fields(byte_reader& r, ev_open_session& c) {
  return r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_array(c.station_key.bytes) &&
         r.get_i64(c.cap_units) && r.get_i64(c.price_cap_units_per_wh);
}

void write_fields(byte_writer& w, const ev_delivery& c) {
  w.put_array(c.station_key.bytes);
  w.put_u64(c.sequence);
  w.put_u64(c.session_id);
  w.put_i64(c.delivered_wh_total);
  w.put_u8(c.finished ? 1 : 0);
}
bool read_fields(byte_reader& r, ev_delivery& c) {
  uint8_t finished = 0;
  if (!(r.get_array(c.station_key.bytes) && r.get_u64(c.sequence) && r.get_u64(c.session_id) &&
        r.get_i64(c.delivered_wh_total) && r.get_u8(finished)))
    return false;
  if (finished > 1) return false;
  c.finished = finished == 1;
  return true;
}

void write_fields(byte_writer& w, const ev_close_session& c) {
  w.put_array(c.from_key.bytes);
  w.put_u64(c.nonce);
  w.put_u64(c.session_id);
}
bool read_fields(byte_reader& r, ev_close_session& c) {
  return r.get_array(c.from_key.bytes) && r.get_u64(c.nonce) && r.get_u64(c.session_id);
}

uint8_t type_byte(const command_body& body) { return static_cast<uint8_t>(body.index() + 1); }

void write_body(byte_writer& w, const command_body& body) {
  w.put_u8(type_byte(body));
  std::visit([&](const auto& c) { write_fields(w, c); }, body);
}

// Builds the alternative with index I when the type byte names it.
template <std::size_t I = 0>
bool read_body(byte_reader& r, uint8_t type, command_body& body) {
  if constexpr (I < std::variant_size_v<command_body>) {
    if (type == I + 1) {
      std::variant_alternative_t<I, command_body> c{};
      if (!read_fields(r, c)) return false;
      body = std::move(c);
      return true;
    }
    return read_body<I + 1>(r, type, body);
  } else {
    return false;
  }
}

}  // namespace

std::string_view command_name(const command_body& body) {
  static constexpr std::string_view names[] = {
      "tick",        "register_meter", "register_storage_unit", "set_params",       "education_grant", "meter_reading",
      "storage_report", "transfer",    "place_order",           "cancel_order",     "replace_order",   "set_agent",
      "register_station", "ev_open_session", "ev_delivery",     "ev_close_session"};
  static_assert(std::size(names) == std::variant_size_v<command_body>);
  return names[body.index()];
}

std::vector<uint8_t> signing_bytes(const command_body& body, const crypto::hash256& genesis_hash) {
  byte_writer w;
  w.reserve(160);
  w.put_raw(crypto::as_bytes(signing_domain));
  w.put_array(genesis_hash);
  write_body(w, body);
  return w.take();
}

std::vector<uint8_t> encode(const command& cmd) {
  byte_writer w;
  w.reserve(200);
  write_body(w, cmd.body);
  w.put_array(cmd.signature);
  return w.take();
}

result<command> decode(std::span<const uint8_t> bytes) {
  if (bytes.size() > limits::command_bytes_max)
    return fail(errc::malformed, "command is " + std::to_string(bytes.size()) + " bytes, above the limit of " +
                                     std::to_string(limits::command_bytes_max));
  byte_reader r(bytes);
  uint8_t type = 0;
  if (!r.get_u8(type)) return fail(errc::malformed, "empty command");
  command cmd;
  if (!read_body(r, type, cmd.body)) {
    if (type == 0 || type > std::variant_size_v<command_body>)
      return fail(errc::malformed, "unknown command type " + std::to_string(type));
    return fail(errc::malformed, "truncated or invalid fields for command type " + std::to_string(type));
  }
  if (!r.get_array(cmd.signature)) return fail(errc::malformed, "missing signature");
  if (!r.at_end()) return fail(errc::malformed, "trailing bytes after command");
  return cmd;
}

namespace {

bool ed25519_ok(const crypto::ed25519_public_key& key, const command& cmd, const crypto::hash256& genesis_hash) {
  const auto bytes = signing_bytes(cmd.body, genesis_hash);
  crypto::ed25519_signature sig;
  sig.bytes = cmd.signature;
  return crypto::ed25519_verify(key, bytes, sig);
}

}  // namespace

namespace {

struct verify_visitor {
  const command& cmd;
  const crypto::hash256& genesis_hash;
  result<void> bad() const { return fail(errc::bad_signature, std::string(command_name(cmd.body)) + ": signature does not verify"); }
  result<void> check_ed(const crypto::ed25519_public_key& key) const {
    return ed25519_ok(key, cmd, genesis_hash) ? result<void>(ok) : bad();
  }
  result<void> operator()(const tick&) const {
    for (uint8_t b : cmd.signature)
      if (b != 0) return fail(errc::malformed, "tick carries a signature");
    return ok;
  }
  result<void> operator()(const register_meter& c) const { return check_ed(c.auth.admin_key); }
  result<void> operator()(const register_storage_unit& c) const { return check_ed(c.auth.admin_key); }
  result<void> operator()(const set_params& c) const { return check_ed(c.auth.admin_key); }
  result<void> operator()(const education_grant& c) const { return check_ed(c.auth.admin_key); }
  result<void> operator()(const meter_reading& c) const { return check_ed(c.meter_key); }
  result<void> operator()(const storage_report& c) const { return check_ed(c.unit_key); }
  result<void> operator()(const register_station& c) const { return check_ed(c.auth.admin_key); }
  result<void> operator()(const ev_delivery& c) const { return check_ed(c.station_key); }
  // Every remaining command is signed by an account's secp256k1 key.
  template <class account_command>
  result<void> operator()(const account_command& c) const {
    const auto digest = crypto::sha256(signing_bytes(cmd.body, genesis_hash));
    crypto::ecdsa_signature sig;
    sig.bytes = cmd.signature;
    return crypto::ecdsa_verify(c.from_key, digest, sig) ? result<void>(ok) : bad();
  }
};

}  // namespace

result<void> verify(const command& cmd, const crypto::hash256& genesis_hash) {
  return std::visit(verify_visitor{cmd, genesis_hash}, cmd.body);
}

command sign_ed25519(command_body body, const crypto::ed25519_keypair& key, const crypto::hash256& genesis_hash) {
  command cmd{std::move(body), {}};
  cmd.signature = key.sign(signing_bytes(cmd.body, genesis_hash)).bytes;
  return cmd;
}

command sign_secp256k1(command_body body, const crypto::secp256k1_secret_key& key, const crypto::hash256& genesis_hash) {
  command cmd{std::move(body), {}};
  cmd.signature = key.sign(crypto::sha256(signing_bytes(cmd.body, genesis_hash))).bytes;
  return cmd;
}

}  // namespace energo::ledger
