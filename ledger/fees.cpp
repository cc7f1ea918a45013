// Ledger time and the 15-minute fee epochs (SPEC §3.5).
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

result<apply_outcome> ledger::apply_tick(const tick& c) {
  if (c.time_ms < time_ms_)
    return fail(errc::time_backwards, "tick " + std::to_string(c.time_ms) + " ms is before ledger time " + std::to_string(time_ms_));
  const auto target_epoch = static_cast<uint64_t>((c.time_ms - epoch_start_ms_) / epoch_ms);
  const uint64_t to_close = target_epoch - epoch_;
  if (to_close > static_cast<uint64_t>(limits::tick_epochs_max))
    return fail(errc::out_of_range, "tick would close " + std::to_string(to_close) + " epochs, more than " +
                                        std::to_string(limits::tick_epochs_max) + "; propose intermediate ticks");
  if (to_close > 0) {
    if (auto problem = fee_counters_problem(to_close); !problem.empty()) return fail(errc::overflow, problem);
  }
  apply_outcome out;
  while (epoch_ < target_epoch) {
    close_epoch(out);
    // Fees changed balances: the book and the agents see every epoch close separately, so one tick
    // over several epochs leaves the same state as one tick per epoch.
    settle_market(true);
  }
  time_ms_ = c.time_ms;
  return out;
}

// Overflow discipline for the fee counters: before a tick changes anything, every fee counter is
// checked at the worst case of all the epochs it closes. That worst case is not epochs × supply
// (672 × 10^17 > INT64_MAX, which would refuse a week-long tick at genesis) but a bound on what the
// epochs can really collect, B = min(k·M, k·F + D), because during a tick:
//   - members' TSL M = supply − pools' TSL does not grow (fees leave members for the pools and the
//     owners, who are members; trades and agents move TSL between members), so one epoch
//     collects ≤ M;
//   - WATT does not grow (nothing is minted in a tick; trades move it), so one epoch's fees are
//     ≤ F = floor(W × rate / 1000) with W = the WATT held now (Σ floor ≤ floor Σ);
//   - debt paid is either today's debt D or debt made of this tick's unpaid fees (already in k·F).
// Every counter close_epoch raises — the four fee totals, each member's fees_paid, each unit's
// fees_earned — grows by at most B over the tick. Returns "" when all fit.
std::string ledger::fee_counters_problem(uint64_t epochs) const {
  const int128 k = epochs;
  const int128 members_tsl = static_cast<int128>(tsl_supply_units) - accounts_[education_pool_].tsl_units -
                             accounts_[network_pool_].tsl_units;
  int128 watt = 0, debt = 0;
  int64_t largest_paid = 0;
  for (const account& a : accounts_) {
    if (a.kind != account_kind::member) continue;
    watt += a.watt_wh;
    debt += a.fee_debt_units;
    largest_paid = std::max(largest_paid, a.fees_paid_units);
  }
  const int128 per_epoch_fees = watt * params_.fee_units_per_kwh_epoch / wh_per_watt;
  const int128 bound = std::min(k * members_tsl, k * per_epoch_fees + debt);
  int64_t largest_earned = 0;
  for (const storage_unit& u : units_) largest_earned = std::max(largest_earned, u.fees_earned_units);
  const auto fits = [&](int64_t counter) { return static_cast<int128>(counter) + bound <= INT64_MAX; };
  if (!fits(totals_.fees_collected_units) || !fits(totals_.fees_to_owners_units) ||
      !fits(totals_.fees_to_education_units) || !fits(totals_.fees_to_network_units))
    return "closing " + std::to_string(epochs) + " epochs could overflow the lifetime fee totals";
  if (!fits(largest_paid) || !fits(largest_earned))
    return "closing " + std::to_string(epochs) + " epochs could overflow a member's fees paid or a unit's fees earned";
  return {};
}

// Closes epoch_ (SPEC §3.5). Every member pays fee = floor(watt_wh × rate / 1000) plus any debt, as far as
// its TSL goes; the rest stays as debt. Proceeds split: floor(10%) education, floor(10%) network, the rest
// (80% plus both rounding remainders) to storage owners pro rata to the energy each unit reported for this
// epoch, floored; what the floors leave over, or the whole owners' share when no unit reported, goes to
// the network pool. Nothing is created or lost: every paid unit lands in exactly one account.
void ledger::close_epoch(apply_outcome& out) {
  int64_t proceeds = 0;
  for (account_index i = 0; i < accounts_.size(); ++i) {
    account& a = accounts_[i];
    if (a.kind != account_kind::member || (a.watt_wh == 0 && a.fee_debt_units == 0)) continue;
    // watt ≤ bmax_wh_max (10^12) and rate ≤ 10^8: the product fits in 128 bits and the fee in int64.
    const int64_t fee = *mul_div_floor(a.watt_wh, params_.fee_units_per_kwh_epoch, wh_per_watt);
    const int64_t due = fee + a.fee_debt_units;  // fee ≤ 10^17 and debt ≤ supply (capped below): fits
    const int64_t paid = std::min(due, a.tsl_units);
    if (due == 0) continue;
    a.tsl_units -= paid;
    // A debt larger than the whole TSL supply can never be paid; capping it keeps the arithmetic bounded.
    a.fee_debt_units = std::min(due - paid, tsl_supply_units);
    add_prechecked(a.fees_paid_units, paid);  // fee_counters_problem()
    proceeds += paid;  // ≤ members' TSL ≤ total supply
    note_balance_change(i);
  }
  const int64_t to_education = proceeds * fee_share_education_percent / 100;
  const int64_t to_network = proceeds * fee_share_network_percent / 100;
  const int64_t to_owners = proceeds - to_education - to_network;

  int64_t total_stored = 0;
  for (const auto& u : units_)
    if (u.report_epoch == epoch_) total_stored += u.stored_wh;  // ≤ units_max × capacity max: fits

  int64_t distributed = 0;
  if (total_stored > 0 && to_owners > 0) {
    for (uint32_t k = 0; k < units_.size(); ++k) {
      storage_unit& u = units_[k];
      if (u.report_epoch != epoch_ || u.stored_wh == 0) continue;
      const int64_t share = *mul_div_floor(to_owners, u.stored_wh, total_stored);
      if (share == 0) continue;
      accounts_[u.owner].tsl_units += share;
      add_prechecked(u.fees_earned_units, share);
      journal_.owner_fees.push_back({u.owner, share});
      distributed += share;
      note_balance_change(u.owner);
      mark_unit(k);
    }
  }
  const int64_t remainder = to_owners - distributed;
  accounts_[education_pool_].tsl_units += to_education;
  accounts_[network_pool_].tsl_units += to_network + remainder;
  if (proceeds > 0) {
    mark_account(education_pool_);
    mark_account(network_pool_);
  }
  // Pre-checked for the whole tick (fee_counters_problem); the balances above are bounded by the
  // conserved supply (every paid unit lands in exactly one account).
  add_prechecked(totals_.fees_collected_units, proceeds);
  add_prechecked(totals_.fees_to_owners_units, distributed);
  add_prechecked(totals_.fees_to_education_units, to_education);
  add_prechecked(totals_.fees_to_network_units, to_network + remainder);
  add_prechecked(out.fees_units, proceeds);  // ≤ the same bound as fees_collected_units
  ++out.epochs_closed;  // ≤ tick_epochs_max
  ++epoch_;             // ≤ (time_ms − epoch start) / epoch_ms: bounded by int64 time
}

}  // namespace energo::ledger
