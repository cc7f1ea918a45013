#pragma once
// What a refused command may change (SPEC §8, docs/commands.md "Nonces and refusals"):
//   - refused before or at authentication (malformed, bad signature, unknown or unentitled key,
//     stale nonce): nothing at all;
//   - refused by a ledger rule after authentication (funds, bounds, Bmax, book errors…): exactly
//     one thing, the signer's nonce, which becomes the command's nonce so the command can never be
//     replayed and executed later.
// `refusal_diff(before, after, cmd, consumed)` compares two ledgers field by field (written from the
// public records, independently of the ledger's code) and returns "" when `after` is `before` with
// at most that nonce changed. Shared by tests/ledger and tests/market.
#include <string>
#include <type_traits>
#include <variant>

#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"

namespace energo::ledger::test_support {

// The error codes a command can get before its signer is authenticated (SPEC §8: these change nothing).
inline bool refused_before_auth(errc code) {
  switch (code) {
    case errc::malformed:
    case errc::bad_signature:
    case errc::unauthorized:
    case errc::stale_nonce:
    case errc::unknown_meter:
    case errc::unknown_storage_unit:
    case errc::unknown_account:
    case errc::system_command:
      return true;
    default:
      return false;
  }
}

// Whether a refusal with `code` consumes the signer's nonce: every refusal after authentication
// does, except an entitlement refusal (`unauthorized`). A station unknown to a vehicle's
// ev_open_session is a rule refusal (the vehicle was authenticated); for meter readings and
// deliveries the unknown key is the signer's own.
inline bool consumes_nonce(const command& cmd, errc code) {
  if (std::holds_alternative<tick>(cmd.body)) return false;
  if (code == errc::unknown_meter && std::holds_alternative<ev_open_session>(cmd.body)) return true;
  return !refused_before_auth(code);
}

namespace detail {

inline std::string meter_text(const meter& m) {
  return crypto::to_hex(m.key.bytes) + "/" + std::to_string(m.account) + "/" + std::to_string(m.sequence) + "/" +
         std::to_string(m.export_wh_total) + "/" + std::to_string(m.import_wh_total) + "/" +
         std::to_string(m.last_timestamp_ms) + "/" + std::to_string(m.backwards_flags);
}
inline std::string unit_text(const storage_unit& u) {
  return crypto::to_hex(u.key.bytes) + "/" + std::to_string(u.owner) + "/" + std::to_string(u.capacity_wh) + "/" +
         std::to_string(u.nonce) + "/" + std::to_string(u.report_epoch) + "/" + std::to_string(u.stored_wh) + "/" +
         std::to_string(u.fees_earned_units);
}
inline std::string station_text(const charging_station& s) {
  return crypto::to_hex(s.key.bytes) + "/" + std::to_string(s.account) + "/" + std::to_string(s.service_fee_units_per_kwh) +
         "/" + std::to_string(s.sequence) + "/" + std::to_string(s.delivered_wh) + "/" + std::to_string(s.fees_earned_units);
}
inline std::string session_text(const ev_session& s) {
  std::string t = std::to_string(s.id) + "/" + std::to_string(s.vehicle) + "/" + std::to_string(s.station);
  for (int64_t v : {s.cap_units, s.price_cap_units_per_wh, s.delivered_wh, s.settled_wh, s.unsettled_wh,
                    s.energy_cost_units, s.fees_units, s.spent_units})
    t += "/" + std::to_string(v);
  return t + "/" + std::to_string(s.opened_epoch) + "/" + std::to_string(static_cast<int>(s.state));
}
inline std::string totals_text(const totals& x) {
  std::string t;
  for (int64_t v : {x.watt_minted_wh, x.watt_burned_wh, x.grid_export_wh, x.grid_import_wh, x.fees_collected_units,
                    x.fees_to_owners_units, x.fees_to_education_units, x.fees_to_network_units, x.grants_paid_units,
                    x.readings_accepted, x.readings_refused_backwards, x.market_trades, x.market_volume_wh, x.agent_orders})
    t += std::to_string(v) + "/";
  return t;
}
inline std::string account_text(const account& a) {
  return crypto::to_hex(account_leaf_bytes(a));
}

}  // namespace detail

// Returns "" when `after` equals `before` except that, when `consumed`, the signer's nonce is the
// command's nonce. Otherwise a description of the first difference.
inline std::string refusal_diff(const ledger& before, const ledger& after, const command& cmd, bool consumed) {
  using namespace detail;
  // Expected records: copies of `before`, with the consumed nonce applied to the signer's record.
  std::vector<account> accounts = before.accounts();
  std::vector<meter> meters = before.meters();
  std::vector<storage_unit> units = before.storage_units();
  std::vector<charging_station> stations = before.stations();
  auto admins = before.admin_nonces();
  if (consumed) {
    std::string missing;
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (requires { c.auth; }) {
            admins[c.auth.admin_key] = c.auth.nonce;
          } else if constexpr (std::is_same_v<T, meter_reading>) {
            for (auto& m : meters)
              if (m.key == c.meter_key) m.sequence = c.sequence;
          } else if constexpr (std::is_same_v<T, storage_report>) {
            for (auto& u : units)
              if (u.key == c.unit_key) u.nonce = c.nonce;
          } else if constexpr (std::is_same_v<T, ev_delivery>) {
            for (auto& s : stations)
              if (s.key == c.station_key) s.sequence = c.sequence;
          } else if constexpr (requires { c.from_key; }) {
            const account_address who = crypto::hash160_of(c.from_key.bytes);
            for (auto& a : accounts)
              if (a.address == who) a.nonce = c.nonce;
          } else {
            missing = "a command without a signer cannot consume a nonce";
          }
        },
        cmd.body);
    if (!missing.empty()) return missing;
  }
  if (after.accounts().size() != accounts.size()) return "account count changed";
  for (std::size_t i = 0; i < accounts.size(); ++i)
    if (account_text(after.accounts()[i]) != account_text(accounts[i])) return "account " + std::to_string(i) + " changed";
  if (after.meters().size() != meters.size()) return "meter count changed";
  for (std::size_t i = 0; i < meters.size(); ++i)
    if (meter_text(after.meters()[i]) != meter_text(meters[i])) return "meter " + std::to_string(i) + " changed";
  if (after.storage_units().size() != units.size()) return "unit count changed";
  for (std::size_t i = 0; i < units.size(); ++i)
    if (unit_text(after.storage_units()[i]) != unit_text(units[i])) return "storage unit " + std::to_string(i) + " changed";
  if (after.stations().size() != stations.size()) return "station count changed";
  for (std::size_t i = 0; i < stations.size(); ++i)
    if (station_text(after.stations()[i]) != station_text(stations[i])) return "station " + std::to_string(i) + " changed";
  if (after.admin_nonces() != admins) return "admin nonces changed";
  if (totals_text(after.sums()) != totals_text(before.sums())) return "totals changed";
  if (after.time_ms() != before.time_ms() || after.epoch() != before.epoch()) return "time changed";
  if (!(after.params() == before.params()) || after.bmax_wh() != before.bmax_wh()) return "parameters changed";
  if (after.book().serialize() != before.book().serialize()) return "order book changed";
  if (after.agents().size() != before.agents().size()) return "agents changed";
  if (after.open_sessions().size() != before.open_sessions().size()) return "open sessions changed";
  for (const auto& [id, s] : before.open_sessions()) {
    auto it = after.open_sessions().find(id);
    if (it == after.open_sessions().end() || session_text(it->second) != session_text(s)) return "session changed";
  }
  if (after.closed_sessions().size() != before.closed_sessions().size()) return "closed sessions changed";
  return {};
}

}  // namespace energo::ledger::test_support
