// Signed TSL/WATT transfers (SPEC §3.8) and one-time education grants (SPEC §3.6).
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

result<apply_outcome> ledger::apply_education_grant(const education_grant& c) {
  if (auto v = check_admin(c.auth); !v) return unexpected<error>{v.error()};
  if (params_.grant_units <= 0) return fail(errc::invalid_params, "education grants are disabled (grant size 0)");
  auto existing = account_by_address_.find(c.account);
  if (existing) {
    const account& a = accounts_[*existing];
    if (a.kind != account_kind::member) return fail(errc::out_of_range, "a system pool cannot receive a grant");
    if (a.granted) return fail(errc::already_granted, "account already received its education grant");
  }
  if (accounts_[education_pool_].tsl_units < params_.grant_units)
    return fail(errc::pool_insufficient, "education pool holds " + std::to_string(accounts_[education_pool_].tsl_units) +
                                             " units, grant needs " + std::to_string(params_.grant_units));
  if (existing && accounts_[*existing].tsl_units > tsl_supply_units - params_.grant_units)
    return fail(errc::overflow, "grant would overflow the account");  // cannot happen while supply is conserved
  if (!checked_add(totals_.grants_paid_units, params_.grant_units))
    return fail(errc::overflow, "the lifetime grants total would overflow");
  apply_outcome out;
  auto acct = account_for(c.account, out.created_account);
  if (!acct) return unexpected<error>{acct.error()};
  commit_admin_nonce(c.auth);
  accounts_[education_pool_].tsl_units -= params_.grant_units;
  accounts_[*acct].tsl_units += params_.grant_units;
  accounts_[*acct].granted = true;
  add_prechecked(totals_.grants_paid_units, params_.grant_units);
  journal_.grants.push_back({*acct, params_.grant_units});
  mark_account(education_pool_);
  note_balance_change(*acct);
  return out;
}

result<apply_outcome> ledger::apply_transfer(const transfer& c) {
  const account_address from = crypto::hash160_of(c.from_key.bytes);
  auto fi = account_by_address_.find(from);
  if (!fi) return fail(errc::unknown_account, "sending account " + crypto::to_hex(from) + " does not exist");
  account& sender = accounts_[*fi];
  if (c.nonce <= sender.nonce)
    return fail(errc::stale_nonce, "nonce " + std::to_string(c.nonce) + " is not above " + std::to_string(sender.nonce));
  claim_nonce(claim_kind::account, *fi, c.nonce);
  if (c.to == from) return fail(errc::self_transfer, "transfer to the sending account");
  if (c.amount <= 0) return fail(errc::out_of_range, "amount must be positive");
  auto ti = account_by_address_.find(c.to);
  if (c.what == asset::tsl) {
    if (c.amount > sender.tsl_units)
      return fail(errc::insufficient_funds, "balance " + std::to_string(sender.tsl_units) + " units < " + std::to_string(c.amount));
  } else {
    if (c.amount > sender.watt_wh)
      return fail(errc::insufficient_funds, "balance " + std::to_string(sender.watt_wh) + " Wh < " + std::to_string(c.amount));
    if (ti && accounts_[*ti].kind != account_kind::member) return fail(errc::out_of_range, "system pools hold no WATT");
    // SPEC §3.4 applies to every way WATT arrives: a recipient without TSL (a new address holds
    // none) or with unpaid fees may not receive it.
    if (!ti || !has_storage_access(accounts_[*ti]))
      return fail(errc::no_storage_access, "recipient " + crypto::to_hex(c.to) +
                                               (ti && accounts_[*ti].fee_debt_units > 0 ? " owes fees" : " holds no TSL") +
                                               " and may not receive WATT (SPEC §3.4)");
    const int64_t to_balance = ti ? accounts_[*ti].watt_wh : 0;
    if (c.amount > bmax_wh_ - to_balance)
      return fail(errc::exceeds_bmax, "recipient would hold " + std::to_string(to_balance + c.amount) + " Wh, above Bmax " +
                                          std::to_string(bmax_wh_));
  }
  apply_outcome out;
  auto to = account_for(c.to, out.created_account);
  if (!to) return unexpected<error>{to.error()};
  account& s = accounts_[*fi];  // account_for may have grown the vector
  account& r = accounts_[*to];
  if (c.what == asset::tsl) {
    s.tsl_units -= c.amount;
    r.tsl_units += c.amount;  // ≤ supply: cannot overflow
  } else {
    s.watt_wh -= c.amount;
    r.watt_wh += c.amount;
  }
  s.nonce = c.nonce;
  if (!s.key_known) {
    s.key_known = true;
    s.key = c.from_key;
  }
  note_balance_change(*fi);
  note_balance_change(*to);
  return out;
}

}  // namespace energo::ledger
