#pragma once
// Units, constants, limits and error codes of the replicated ledger (SPEC §2–3).
// Units are in the names: *_units = TSL base units (1 TSL = 10^8), *_wh = watt-hours (1 WATT = 1 kWh
// = 1000 Wh), *_ms = ledger milliseconds (from ticks in the log, never a replica's clock).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "crypto/address.hpp"
#include "crypto/bytes.hpp"

namespace energo::ledger {

using account_address = crypto::hash160;  // HASH160 of the compressed secp256k1 key (Qtum P2PKH)
using account_index = uint32_t;           // dense, in creation order; the account's Merkle leaf

inline constexpr int64_t tsl_units_per_tsl = 100'000'000;                           // 8 decimals
inline constexpr int64_t tsl_supply_units = 1'000'000'000LL * tsl_units_per_tsl;     // 10^17, fixed
inline constexpr int64_t wh_per_watt = 1000;                                         // 1 WATT = 1 kWh
inline constexpr int64_t epoch_ms = 15 * 60 * 1000;                                  // SPEC §3.5

// Fee split (SPEC §3.5), in percent of an epoch's proceeds. The storage owners' share takes the
// remainder of the two floors, so shares always add up to the proceeds exactly.
inline constexpr int64_t fee_share_education_percent = 10;
inline constexpr int64_t fee_share_network_percent = 10;

// Named bounds. Exceeding one is an `out_of_range` / `limit` error, never unbounded growth.
struct limits {
  static constexpr uint32_t accounts_max = 20'000'000;
  static constexpr uint32_t meters_max = 20'000'000;
  static constexpr uint32_t storage_units_max = 100'000;
  static constexpr uint32_t admins_max = 16;
  static constexpr uint32_t genesis_allocations_max = 100'000;
  static constexpr std::size_t community_id_chars_max = 64;
  static constexpr std::size_t command_bytes_max = 4096;
  static constexpr int64_t reading_delta_wh_max = 100'000'000;          // 100 MWh between two readings
  static constexpr int64_t register_wh_max = 1'000'000'000'000'000LL;   // 10^18 Wh cumulative
  static constexpr int64_t meter_clock_skew_ms_max = 60 * 60 * 1000;    // reading time vs ledger time
  static constexpr int64_t storage_capacity_wh_max = 1'000'000'000'000LL;
  static constexpr int64_t tick_epochs_max = 7 * 24 * 4;                // one tick closes ≤ a week of epochs
  static constexpr int64_t fee_units_per_kwh_epoch_max = tsl_units_per_tsl;  // ≤ 1 TSL per kWh per epoch
  static constexpr int64_t bmax_wh_max = 1'000'000'000'000LL;           // 1 GWh
  // Market and EV (SPEC §4–5); the order book's own bounds live in market::market_params.
  static constexpr uint32_t agents_max = 1'000'000;
  static constexpr int agent_rounds_max = 8;              // agent reaction rounds after one command
  static constexpr uint32_t stations_max = 100'000;
  static constexpr int64_t station_fee_units_per_kwh_max = 1000 * tsl_units_per_tsl;
  static constexpr uint32_t ev_sessions_open_max = 100'000;
  static constexpr std::size_t ev_closed_sessions_kept = 1024;  // recent closed sessions, for dashboards
  // Session ids count from 1; far beyond any real use, and the next id can never wrap.
  static constexpr uint64_t ev_session_id_max = uint64_t{1} << 62;
  // Lifetime totals and counters (totals, stations, units) are refused above this in a snapshot:
  // 2^62 is beyond any real history. Safety does not rest on it: every addition to a counter is
  // pre-checked at its worst case (ledger_internal.hpp, add_prechecked).
  static constexpr int64_t lifetime_total_max = int64_t{1} << 62;
  // Snapshots (issue 7 §3): the order book's encoding inside a ledger snapshot. A book at
  // book_orders_max (10^6 × 39 bytes) plus its market data stays far below this.
  static constexpr uint32_t snapshot_book_bytes_max = 1u << 30;
  // check_invariants() is O(state). After every apply (ENERGO_INVARIANTS builds) the full check runs
  // up to this many accounts; above it the O(1) check_cheap_invariants() runs instead, so large
  // ledgers (benches, soak runs) stay usable and the switch is explicit, not silent.
  static constexpr std::size_t invariant_deep_check_accounts_max = 4096;
};

enum class errc : uint16_t {
  malformed = 1,          // bytes or fields that do not decode / are structurally invalid
  bad_signature,          // signature does not verify for the command's key
  unauthorized,           // key is not entitled to act (not an admin, not the account's key)
  stale_nonce,            // nonce/sequence not above the last accepted one (replay, duplicate, older)
  unknown_meter,
  unknown_storage_unit,
  unknown_account,
  already_exists,         // meter/unit key or account registered twice
  register_backwards,     // cumulative meter register decreased (the meter is flagged)
  insufficient_funds,
  exceeds_bmax,
  overflow,
  out_of_range,           // a field outside its documented bounds
  limit_reached,          // a named capacity bound (accounts_max, …)
  time_backwards,
  epoch_mismatch,         // storage report for an epoch other than the current one
  already_granted,
  pool_insufficient,
  invalid_genesis,
  invalid_params,
  self_transfer,
  system_command,         // a command only the cluster itself may issue (tick) arrived from a client
  // Market (ledger/market) and EV errors are mapped into these codes by the commands that use them.
  market_rejected,
  no_storage_access,      // WATT for an account without TSL or with unpaid fees (SPEC §3.4)
};

[[nodiscard]] std::string_view errc_name(errc code);

struct error {
  errc code = errc::malformed;
  std::string message;
};

template <class T>
using result = energo::result<T, error>;

inline unexpected<error> fail(errc code, std::string message) {
  return unexpected<error>{error{code, std::move(message)}};
}

enum class asset : uint8_t { tsl = 1, watt = 2 };

// Community parameters (admin-settable). Bmax derives from Cu and P (SPEC §3.7):
//   Cu = P × 1.5 × Bmax / 2  ⇒  Bmax = 4·Cu / (3·P), in kWh when P is per kWh.
struct community_params {
  int64_t fee_units_per_kwh_epoch = 0;       // TSL base units per kWh held, per 15-minute epoch
  int64_t storage_cost_per_user_cents = 0;   // Cu
  int64_t battery_price_cents_per_kwh = 0;   // P
  int64_t grant_units = 0;                   // one-time education grant
  bool operator==(const community_params&) const = default;
};

// floor(4·Cu·1000 / (3·P)) Wh; an error when P <= 0, Cu < 0, or the result exceeds bmax_wh_max.
[[nodiscard]] result<int64_t> bmax_wh_from(int64_t storage_cost_per_user_cents, int64_t battery_price_cents_per_kwh);
[[nodiscard]] result<void> validate_params(const community_params& params);

}  // namespace energo::ledger
