#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

// ---------------------------------------------------------------------------------------------
// Construction

void ledger::assign_reusing_memory(const ledger& other) {
  if (this == &other) return;
  book_.reserve_like(other.book_);  // capacity only; the assignment below overwrites the content
  *this = other;
}

result<ledger> ledger::create(const genesis& g) {
  if (g.community_id.empty() || g.community_id.size() > limits::community_id_chars_max)
    return fail(errc::invalid_genesis, "community id must have 1.." + std::to_string(limits::community_id_chars_max) + " characters");
  for (char ch : g.community_id)
    if (ch < 0x21 || ch > 0x7e) return fail(errc::invalid_genesis, "community id must be printable ASCII without spaces");
  if (g.genesis_time_ms < 0) return fail(errc::invalid_genesis, "genesis time must not be negative");
  // restore() refuses unknown network bytes, so a ledger created with one could never be restored.
  if (static_cast<uint8_t>(g.network) > static_cast<uint8_t>(crypto::network::regtest))
    return fail(errc::invalid_genesis, "unknown network " + std::to_string(static_cast<int>(g.network)));
  if (auto v = validate_params(g.params); !v) return fail(errc::invalid_genesis, "parameters: " + v.error().message);
  if (g.admins.empty() || g.admins.size() > limits::admins_max)
    return fail(errc::invalid_genesis, "genesis needs 1.." + std::to_string(limits::admins_max) + " admin keys");
  if (g.allocations.empty() || g.allocations.size() > limits::genesis_allocations_max)
    return fail(errc::invalid_genesis, "genesis needs 1.." + std::to_string(limits::genesis_allocations_max) + " allocations");

  ledger l;
  l.genesis_hash_ = g.hash();
  l.community_id_ = g.community_id;
  l.network_ = g.network;
  l.params_ = g.params;
  l.bmax_wh_ = *bmax_wh_from(g.params.storage_cost_per_user_cents, g.params.battery_price_cents_per_kwh);
  for (const auto& a : g.admins) {
    if (!l.admin_nonces_.emplace(a, 0).second) return fail(errc::invalid_genesis, "duplicate admin key");
  }
  l.time_ms_ = g.genesis_time_ms;
  l.epoch_start_ms_ = g.genesis_time_ms;
  l.education_pool_ = l.create_account(education_pool_address(), account_kind::education_pool);
  l.network_pool_ = l.create_account(network_pool_address(), account_kind::network_pool);

  int64_t sum = 0;
  for (const auto& alloc : g.allocations) {
    if (alloc.tsl_units <= 0) return fail(errc::invalid_genesis, "every allocation must be positive");
    auto s = checked_add(sum, alloc.tsl_units);
    if (!s || *s > tsl_supply_units)
      return fail(errc::invalid_genesis, "allocations exceed the fixed supply of " + std::to_string(tsl_supply_units) + " units");
    sum = *s;
    auto existing = l.account_by_address_.find(alloc.account);
    account_index i = 0;
    if (existing) {
      if (*existing != l.education_pool_ && *existing != l.network_pool_)
        return fail(errc::invalid_genesis, "duplicate allocation for " + crypto::to_hex(alloc.account));
      i = *existing;
      if (l.accounts_[i].tsl_units != 0) return fail(errc::invalid_genesis, "duplicate allocation for a system pool");
    } else {
      i = l.create_account(alloc.account, account_kind::member);
    }
    l.accounts_[i].tsl_units = alloc.tsl_units;
    l.mark_account(i);
  }
  if (sum != tsl_supply_units)
    return fail(errc::invalid_genesis, "allocations sum to " + std::to_string(sum) + " units, not the fixed supply of " +
                                           std::to_string(tsl_supply_units));
  return l;
}

account_index ledger::create_account(const account_address& address, account_kind kind) {
  const auto i = static_cast<account_index>(accounts_.size());
  account a;
  a.address = address;
  a.kind = kind;
  accounts_.push_back(a);
  account_by_address_.insert(address, i);
  accounts_tree_.append(crypto::hash256{});
  account_dirty_flag_.push_back(0);
  pending_flag_.push_back(0);
  mark_account(i);
  return i;
}

result<account_index> ledger::account_for(const account_address& address, bool& created) {
  created = false;
  if (auto i = account_by_address_.find(address)) return *i;
  if (accounts_.size() >= limits::accounts_max)
    return fail(errc::limit_reached, "account table is full (" + std::to_string(limits::accounts_max) + ")");
  created = true;
  return create_account(address, account_kind::member);
}

void ledger::mark_account(account_index i) {
  if (journal_.accounts.empty() || journal_.accounts.back() != i) journal_.accounts.push_back(i);
  if (!account_dirty_flag_[i]) {
    account_dirty_flag_[i] = 1;
    dirty_accounts_.push_back(i);
  }
}
void ledger::mark_meter(uint32_t i) {
  if (!meter_dirty_flag_[i]) {
    meter_dirty_flag_[i] = 1;
    dirty_meters_.push_back(i);
  }
}
void ledger::mark_unit(uint32_t i) {
  if (!unit_dirty_flag_[i]) {
    unit_dirty_flag_[i] = 1;
    dirty_units_.push_back(i);
  }
}

// ---------------------------------------------------------------------------------------------
// Apply

result<apply_outcome> ledger::verify_and_apply(const command& cmd) {
  if (auto v = verify(cmd, genesis_hash_); !v) return unexpected<error>{v.error()};
  return apply(cmd);
}

result<apply_outcome> ledger::apply(const command& cmd) {
  claim_ = nonce_claim{};
  journal_.clear();
  auto out = std::visit(
      [this](const auto& c) -> result<apply_outcome> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, tick>) return apply_tick(c);
        else if constexpr (std::is_same_v<T, register_meter>) return apply_register_meter(c);
        else if constexpr (std::is_same_v<T, register_storage_unit>) return apply_register_storage_unit(c);
        else if constexpr (std::is_same_v<T, set_params>) return apply_set_params(c);
        else if constexpr (std::is_same_v<T, education_grant>) return apply_education_grant(c);
        else if constexpr (std::is_same_v<T, meter_reading>) return apply_meter_reading(c);
        else if constexpr (std::is_same_v<T, storage_report>) return apply_storage_report(c);
        else if constexpr (std::is_same_v<T, transfer>) return apply_transfer(c);
        else if constexpr (std::is_same_v<T, place_order>) return apply_place_order(c);
        else if constexpr (std::is_same_v<T, cancel_order>) return apply_cancel_order(c);
        else if constexpr (std::is_same_v<T, replace_order>) return apply_replace_order(c);
        else if constexpr (std::is_same_v<T, set_agent>) return apply_set_agent(c);
        else if constexpr (std::is_same_v<T, register_station>) return apply_register_station(c);
        else if constexpr (std::is_same_v<T, ev_open_session>) return apply_ev_open_session(c);
        else if constexpr (std::is_same_v<T, ev_delivery>) return apply_ev_delivery(c);
        else {
          static_assert(std::is_same_v<T, ev_close_session>);
          return apply_ev_close_session(c);
        }
      },
      cmd.body);
  // Balance changes of this command reach the book and the agents.
  if (out.has_value()) {
    settle_market(false);
  } else if (claim_.kind != claim_kind::none && out.error().code != errc::unauthorized) {
    // Refused by a rule after authentication: the nonce is consumed so the signed command can never
    // be replayed and executed later (SPEC §8). An entitlement refusal (`unauthorized`: a pool
    // trading, another station's or vehicle's session) is an authentication failure: nothing changes.
    consume_claimed_nonce();
  }
  claim_ = nonce_claim{};
  if constexpr (ENERGO_INVARIANTS_ENABLED) {
    // The deep check is O(state); above the named limit the O(1) checks still run.
    const auto problems = accounts_.size() <= limits::invariant_deep_check_accounts_max ? check_invariants()
                                                                                         : check_cheap_invariants();
    ENERGO_ASSERT(problems.empty(), problems.empty() ? "" : problems.front().c_str());
  }
  return out;
}

result<void> ledger::check_admin(const admin_auth& auth) {
  auto it = admin_nonces_.find(auth.admin_key);
  if (it == admin_nonces_.end()) return fail(errc::unauthorized, "key " + crypto::to_hex(auth.admin_key.bytes) + " is not an admin");
  if (auth.nonce <= it->second)
    return fail(errc::stale_nonce, "admin nonce " + std::to_string(auth.nonce) + " is not above " + std::to_string(it->second));
  claim_ = nonce_claim{claim_kind::admin, 0, auth.admin_key, auth.nonce};
  return ok;
}

void ledger::consume_claimed_nonce() {
  const nonce_claim& c = claim_;
  switch (c.kind) {
    case claim_kind::none:
      return;
    case claim_kind::admin:
      admin_nonces_[c.admin_key] = c.nonce;
      return;
    case claim_kind::account:
      accounts_[c.index].nonce = c.nonce;
      mark_account(c.index);
      return;
    case claim_kind::meter:
      meters_[c.index].sequence = c.nonce;
      mark_meter(c.index);
      return;
    case claim_kind::unit:
      units_[c.index].nonce = c.nonce;
      mark_unit(c.index);
      return;
    case claim_kind::station:
      stations_[c.index].sequence = c.nonce;
      mark_station(c.index);
      return;
  }
}

void ledger::commit_admin_nonce(const admin_auth& auth) { admin_nonces_[auth.admin_key] = auth.nonce; }

}  // namespace energo::ledger
