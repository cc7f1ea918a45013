// Genesis, community parameters and the error names: what a community starts from.
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

// ---------------------------------------------------------------------------------------------
// types.hpp helpers

std::string_view errc_name(errc code) {
  switch (code) {
    case errc::malformed: return "malformed";
    case errc::bad_signature: return "bad_signature";
    case errc::unauthorized: return "unauthorized";
    case errc::stale_nonce: return "stale_nonce";
    case errc::unknown_meter: return "unknown_meter";
    case errc::unknown_storage_unit: return "unknown_storage_unit";
    case errc::unknown_account: return "unknown_account";
    case errc::already_exists: return "already_exists";
    case errc::register_backwards: return "register_backwards";
    case errc::insufficient_funds: return "insufficient_funds";
    case errc::exceeds_bmax: return "exceeds_bmax";
    case errc::overflow: return "overflow";
    case errc::out_of_range: return "out_of_range";
    case errc::limit_reached: return "limit_reached";
    case errc::time_backwards: return "time_backwards";
    case errc::epoch_mismatch: return "epoch_mismatch";
    case errc::already_granted: return "already_granted";
    case errc::pool_insufficient: return "pool_insufficient";
    case errc::invalid_genesis: return "invalid_genesis";
    case errc::invalid_params: return "invalid_params";
    case errc::self_transfer: return "self_transfer";
    case errc::system_command: return "system_command";
    case errc::market_rejected: return "market_rejected";
    case errc::no_storage_access: return "no_storage_access";
  }
  return "unknown";
}

result<int64_t> bmax_wh_from(int64_t cu_cents, int64_t p_cents_per_kwh) {
  if (p_cents_per_kwh <= 0) return fail(errc::invalid_params, "battery price P must be positive");
  if (cu_cents < 0) return fail(errc::invalid_params, "storage cost per user Cu must not be negative");
  // Bmax[kWh] = 4·Cu / (3·P)  ⇒  Bmax[Wh] = 4·Cu·1000 / (3·P), floored.
  const int128 numerator = static_cast<int128>(cu_cents) * 4 * wh_per_watt;
  const int128 bmax = numerator / (static_cast<int128>(p_cents_per_kwh) * 3);
  if (bmax > limits::bmax_wh_max) return fail(errc::invalid_params, "Bmax above " + std::to_string(limits::bmax_wh_max) + " Wh");
  return static_cast<int64_t>(bmax);
}

result<void> validate_params(const community_params& p) {
  if (p.fee_units_per_kwh_epoch < 0 || p.fee_units_per_kwh_epoch > limits::fee_units_per_kwh_epoch_max)
    return fail(errc::invalid_params, "fee rate must be within [0, " + std::to_string(limits::fee_units_per_kwh_epoch_max) +
                                          "] units per kWh per epoch");
  if (p.grant_units < 0 || p.grant_units > tsl_supply_units)
    return fail(errc::invalid_params, "grant size must be within [0, TSL supply]");
  auto bmax = bmax_wh_from(p.storage_cost_per_user_cents, p.battery_price_cents_per_kwh);
  if (!bmax) return unexpected<error>{bmax.error()};
  if (*bmax <= 0) return fail(errc::invalid_params, "Bmax from Cu and P is zero: raise Cu or lower P");
  return ok;
}

// ---------------------------------------------------------------------------------------------
// genesis and system accounts

namespace {
account_address tag_address(std::string_view tag) { return crypto::hash160_of(crypto::as_bytes(tag)); }
}  // namespace

namespace detail {

void write_params(byte_writer& w, const community_params& p) {
  w.put_i64(p.fee_units_per_kwh_epoch);
  w.put_i64(p.storage_cost_per_user_cents);
  w.put_i64(p.battery_price_cents_per_kwh);
  w.put_i64(p.grant_units);
}
bool read_params(byte_reader& r, community_params& p) {
  return r.get_i64(p.fee_units_per_kwh_epoch) && r.get_i64(p.storage_cost_per_user_cents) &&
         r.get_i64(p.battery_price_cents_per_kwh) && r.get_i64(p.grant_units);
}

}  // namespace detail

account_address education_pool_address() { return tag_address("energo/system/education-pool"); }
account_address network_pool_address() { return tag_address("energo/system/network-pool"); }

crypto::hash256 genesis::hash() const {
  byte_writer w;
  w.put_raw(crypto::as_bytes("energo/genesis/v1"));
  w.put_string(community_id);
  w.put_u8(static_cast<uint8_t>(network));
  w.put_i64(genesis_time_ms);
  detail::write_params(w, params);
  w.put_u32(static_cast<uint32_t>(admins.size()));
  for (const auto& a : admins) w.put_array(a.bytes);
  w.put_u32(static_cast<uint32_t>(allocations.size()));
  for (const auto& a : allocations) {
    w.put_array(a.account);
    w.put_i64(a.tsl_units);
  }
  return crypto::sha256(w.bytes());
}

}  // namespace energo::ledger
