// Meter readings (issuance and burn, SPEC §3.1–3.4) and storage-unit reports.
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

result<apply_outcome> ledger::apply_meter_reading(const meter_reading& c) {
  auto mi = meter_by_key_.find(c.meter_key.bytes);
  if (!mi) return fail(errc::unknown_meter, "meter " + crypto::to_hex(c.meter_key.bytes) + " is not registered");
  meter& m = meters_[*mi];
  if (c.sequence <= m.sequence)
    return fail(errc::stale_nonce, "reading sequence " + std::to_string(c.sequence) + " is not above " + std::to_string(m.sequence) +
                                       " (duplicate or older)");
  claim_nonce(claim_kind::meter, *mi, c.sequence);
  if (c.export_wh_total < 0 || c.export_wh_total > limits::register_wh_max || c.import_wh_total < 0 ||
      c.import_wh_total > limits::register_wh_max)
    return fail(errc::out_of_range, "registers must be within [0, " + std::to_string(limits::register_wh_max) + "] Wh");
  if (c.timestamp_ms < m.last_timestamp_ms)
    return fail(errc::time_backwards, "reading time " + std::to_string(c.timestamp_ms) + " is before the last reading's " +
                                          std::to_string(m.last_timestamp_ms));
  // Written as a difference: time_ms_ + skew could overflow near the end of int64 time. Both are
  // >= 0 here (timestamp >= the meter's last one >= its registration time), so this cannot.
  if (c.timestamp_ms - time_ms_ > limits::meter_clock_skew_ms_max)
    return fail(errc::out_of_range, "reading time is more than " + std::to_string(limits::meter_clock_skew_ms_max) +
                                        " ms ahead of ledger time");
  if (c.export_wh_total < m.export_wh_total || c.import_wh_total < m.import_wh_total) {
    if (m.backwards_flags == UINT32_MAX || totals_.readings_refused_backwards == INT64_MAX)
      return fail(errc::overflow, "the meter's backwards-flag counter would overflow");
    // SPEC §3.1: refused and flagged. The flag is the audit record; no energy is booked. Like every
    // refusal after authentication it consumes the sequence (SPEC §8): the corrected reading comes
    // with the next sequence number.
    ++m.backwards_flags;  // checked above
    add_prechecked(totals_.readings_refused_backwards, 1);
    mark_meter(*mi);
    return fail(errc::register_backwards, "a cumulative register went backwards; meter flagged (" +
                                              std::to_string(m.backwards_flags) + " times)");
  }
  const int64_t export_wh = c.export_wh_total - m.export_wh_total;
  const int64_t import_wh = c.import_wh_total - m.import_wh_total;
  if (export_wh > limits::reading_delta_wh_max || import_wh > limits::reading_delta_wh_max)
    return fail(errc::out_of_range, "energy since the last reading exceeds " + std::to_string(limits::reading_delta_wh_max) + " Wh");

  account& a = accounts_[m.account];
  // Import first (SPEC §3.3): the battery serves consumption from the member's stored WATT; the
  // deficit comes from the national grid. Then export (§3.2): minted up to Bmax, only for members
  // holding TSL with no unpaid fees; the rest goes to the grid.
  const int64_t burn = std::min(import_wh, a.watt_wh);
  const int64_t from_grid = import_wh - burn;
  const int64_t watt_after_burn = a.watt_wh - burn;
  const bool may_store = has_storage_access(a);
  const int64_t room = std::max<int64_t>(0, bmax_wh_ - watt_after_burn);
  // SPEC §2: 1 WATT = 1 kWh actually stored. The community's WATT (minted − burned, this reading's
  // burn included) never exceeds the capacity its storage units declare; the rest goes to the grid.
  const int64_t watt_total_after_burn = totals_.watt_minted_wh - totals_.watt_burned_wh - burn;
  const int64_t free_capacity = std::max<int64_t>(0, storage_capacity_wh() - watt_total_after_burn);
  const int64_t mint = may_store ? std::min({export_wh, room, free_capacity}) : 0;
  const int64_t to_grid = export_wh - mint;

  // Lifetime counters are the only values that could overflow; check them all before changing anything.
  auto minted = checked_add(totals_.watt_minted_wh, mint);
  auto burned = checked_add(totals_.watt_burned_wh, burn);
  auto grid_out = checked_add(totals_.grid_export_wh, to_grid);
  auto grid_in = checked_add(totals_.grid_import_wh, from_grid);
  auto a_minted = checked_add(a.minted_wh, mint);
  auto a_burned = checked_add(a.burned_wh, burn);
  auto a_grid_out = checked_add(a.grid_export_wh, to_grid);
  auto a_grid_in = checked_add(a.grid_import_wh, from_grid);
  if (!minted || !burned || !grid_out || !grid_in || !a_minted || !a_burned || !a_grid_out || !a_grid_in ||
      totals_.readings_accepted == INT64_MAX)
    return fail(errc::overflow, "energy totals would overflow");

  a.watt_wh = watt_after_burn + mint;
  a.minted_wh = *a_minted;
  a.burned_wh = *a_burned;
  a.grid_export_wh = *a_grid_out;
  a.grid_import_wh = *a_grid_in;
  totals_.watt_minted_wh = *minted;
  totals_.watt_burned_wh = *burned;
  totals_.grid_export_wh = *grid_out;
  totals_.grid_import_wh = *grid_in;
  add_prechecked(totals_.readings_accepted, 1);
  m.sequence = c.sequence;
  m.export_wh_total = c.export_wh_total;
  m.import_wh_total = c.import_wh_total;
  m.last_timestamp_ms = c.timestamp_ms;
  mark_meter(*mi);
  if (mint != 0 || burn != 0 || to_grid != 0 || from_grid != 0) note_balance_change(m.account);

  apply_outcome out;
  out.minted_wh = mint;
  out.burned_wh = burn;
  out.grid_export_wh = to_grid;
  out.grid_import_wh = from_grid;
  return out;
}

int64_t ledger::storage_capacity_wh() const {
  // Units only append and their capacity never changes, so the sum extends incrementally (also
  // after restore, which starts from zero). ≤ storage_units_max × storage_capacity_wh_max = 10^17.
  // A restored snapshot is untrusted: its capacities are range-checked by check_invariants(), which
  // itself calls this, so the sum saturates instead of overflowing on a hostile value.
  for (; capacity_units_counted_ < units_.size(); ++capacity_units_counted_) {
    const int128 sum = static_cast<int128>(capacity_total_wh_) + units_[capacity_units_counted_].capacity_wh;
    capacity_total_wh_ = sum > INT64_MAX ? INT64_MAX : sum < 0 ? 0 : static_cast<int64_t>(sum);
  }
  return capacity_total_wh_;
}

result<apply_outcome> ledger::apply_storage_report(const storage_report& c) {
  auto ui = unit_by_key_.find(c.unit_key.bytes);
  if (!ui) return fail(errc::unknown_storage_unit, "storage unit " + crypto::to_hex(c.unit_key.bytes) + " is not registered");
  storage_unit& u = units_[*ui];
  if (c.nonce <= u.nonce)
    return fail(errc::stale_nonce, "storage report nonce " + std::to_string(c.nonce) + " is not above " + std::to_string(u.nonce));
  claim_nonce(claim_kind::unit, *ui, c.nonce);
  if (c.epoch != epoch_)
    return fail(errc::epoch_mismatch, "report for epoch " + std::to_string(c.epoch) + " but the current epoch is " + std::to_string(epoch_));
  if (c.stored_wh < 0 || c.stored_wh > u.capacity_wh)
    return fail(errc::out_of_range, "stored energy must be within [0, capacity " + std::to_string(u.capacity_wh) + "] Wh");
  u.nonce = c.nonce;
  u.report_epoch = c.epoch;
  u.stored_wh = c.stored_wh;
  mark_unit(*ui);
  return apply_outcome{};
}

}  // namespace energo::ledger
