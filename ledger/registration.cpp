// Admin-signed registration of meters and storage units, and community parameters.
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

result<apply_outcome> ledger::apply_register_meter(const register_meter& c) {
  if (auto v = check_admin(c.auth); !v) return unexpected<error>{v.error()};
  if (meter_by_key_.find(c.meter_key.bytes)) return fail(errc::already_exists, "meter key already registered");
  if (meters_.size() >= limits::meters_max) return fail(errc::limit_reached, "meter table is full");
  if (c.export_wh_start < 0 || c.export_wh_start > limits::register_wh_max || c.import_wh_start < 0 ||
      c.import_wh_start > limits::register_wh_max)
    return fail(errc::out_of_range, "meter start registers must be within [0, " + std::to_string(limits::register_wh_max) + "] Wh");
  if (auto existing = account_by_address_.find(c.account); existing && accounts_[*existing].kind != account_kind::member)
    return fail(errc::out_of_range, "a meter cannot book energy to a system pool");
  apply_outcome out;
  auto acct = account_for(c.account, out.created_account);
  if (!acct) return unexpected<error>{acct.error()};
  commit_admin_nonce(c.auth);
  meter m;
  m.key = c.meter_key;
  m.account = *acct;
  m.export_wh_total = c.export_wh_start;
  m.import_wh_total = c.import_wh_start;
  m.last_timestamp_ms = time_ms_;
  const auto index = static_cast<uint32_t>(meters_.size());
  meters_.push_back(m);
  meter_by_key_.insert(c.meter_key.bytes, index);
  meters_tree_.append(crypto::hash256{});
  meter_dirty_flag_.push_back(0);
  mark_meter(index);
  return out;
}

result<apply_outcome> ledger::apply_register_storage_unit(const register_storage_unit& c) {
  if (auto v = check_admin(c.auth); !v) return unexpected<error>{v.error()};
  if (unit_by_key_.find(c.unit_key.bytes)) return fail(errc::already_exists, "storage unit key already registered");
  if (units_.size() >= limits::storage_units_max) return fail(errc::limit_reached, "storage unit table is full");
  if (c.capacity_wh <= 0 || c.capacity_wh > limits::storage_capacity_wh_max)
    return fail(errc::out_of_range, "capacity must be within (0, " + std::to_string(limits::storage_capacity_wh_max) + "] Wh");
  if (auto existing = account_by_address_.find(c.owner); existing && accounts_[*existing].kind != account_kind::member)
    return fail(errc::out_of_range, "a system pool cannot own a storage unit");
  apply_outcome out;
  auto owner = account_for(c.owner, out.created_account);
  if (!owner) return unexpected<error>{owner.error()};
  commit_admin_nonce(c.auth);
  storage_unit u;
  u.key = c.unit_key;
  u.owner = *owner;
  u.capacity_wh = c.capacity_wh;
  u.report_epoch = UINT64_MAX;  // no report yet
  const auto index = static_cast<uint32_t>(units_.size());
  units_.push_back(u);
  unit_by_key_.insert(c.unit_key.bytes, index);
  units_tree_.append(crypto::hash256{});
  unit_dirty_flag_.push_back(0);
  mark_unit(index);
  return out;
}

result<apply_outcome> ledger::apply_set_params(const set_params& c) {
  if (auto v = check_admin(c.auth); !v) return unexpected<error>{v.error()};
  if (auto v = validate_params(c.params); !v) return unexpected<error>{v.error()};
  const int64_t new_bmax = *bmax_wh_from(c.params.storage_cost_per_user_cents, c.params.battery_price_cents_per_kwh);
  if (new_bmax < bmax_wh_) {
    // Energy already stored cannot be taken away: a lower Bmax must still cover every balance.
    for (const auto& a : accounts_)
      if (a.watt_wh > new_bmax)
        return fail(errc::invalid_params, "new Bmax " + std::to_string(new_bmax) + " Wh is below the balance of " +
                                              crypto::to_hex(a.address) + " (" + std::to_string(a.watt_wh) + " Wh)");
  }
  commit_admin_nonce(c.auth);
  params_ = c.params;
  const bool more_room = new_bmax > bmax_wh_;
  bmax_wh_ = new_bmax;
  if (more_room) {
    // Every member gained room below Bmax: bids parked because their owner was at Bmax may execute
    // now (SPEC §4), so the book must re-examine every account that has orders. Balances did not
    // change, so the accounts' leaves are not marked.
    for (account_index i = 0; i < accounts_.size(); ++i) {
      if (book_.order_count(i) == 0 || (pending_flag_[i] & pending_book)) continue;
      pending_flag_[i] |= pending_book;
      pending_book_.push_back(i);
    }
  }
  return apply_outcome{};
}

}  // namespace energo::ledger
