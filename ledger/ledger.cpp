#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"

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

}  // namespace

account_address education_pool_address() { return tag_address("energo/system/education-pool"); }
account_address network_pool_address() { return tag_address("energo/system/network-pool"); }

crypto::hash256 genesis::hash() const {
  byte_writer w;
  w.put_raw(crypto::as_bytes("energo/genesis/v1"));
  w.put_string(community_id);
  w.put_u8(static_cast<uint8_t>(network));
  w.put_i64(genesis_time_ms);
  write_params(w, params);
  w.put_u32(static_cast<uint32_t>(admins.size()));
  for (const auto& a : admins) w.put_array(a.bytes);
  w.put_u32(static_cast<uint32_t>(allocations.size()));
  for (const auto& a : allocations) {
    w.put_array(a.account);
    w.put_i64(a.tsl_units);
  }
  return crypto::sha256(w.bytes());
}

// ---------------------------------------------------------------------------------------------
// Leaves and roots

namespace {

// One encoder for both the leaf bytes (proofs, snapshots) and the allocation-free leaf hash.
template <class writer>
void encode_account(writer& w, const account& a) {
  w.put_array(a.address);
  w.put_u8(static_cast<uint8_t>(a.kind));
  w.put_u8(static_cast<uint8_t>((a.key_known ? 1 : 0) | (a.granted ? 2 : 0)));
  w.put_array(a.key.bytes);
  w.put_i64(a.tsl_units);
  w.put_i64(a.watt_wh);
  w.put_i64(a.fee_debt_units);
  w.put_u64(a.nonce);
  w.put_i64(a.minted_wh);
  w.put_i64(a.burned_wh);
  w.put_i64(a.grid_export_wh);
  w.put_i64(a.grid_import_wh);
  w.put_i64(a.fees_paid_units);
}
constexpr std::size_t account_leaf_bytes_size = 20 + 2 + 33 + 8 * 9;

crypto::hash256 account_leaf_hash(const account& a) {
  fixed_writer<account_leaf_bytes_size> w;
  encode_account(w, a);
  return crypto::merkle_leaf_hash(w.bytes());
}

}  // namespace

std::vector<uint8_t> account_leaf_bytes(const account& a) {
  byte_writer w;
  w.reserve(account_leaf_bytes_size);
  encode_account(w, a);
  return w.take();
}

namespace {

// The one list of totals fields, in wire order: the globals hash and the snapshot both use it, so
// a new total cannot reach one and miss the other.
template <class totals_type>
auto totals_fields(totals_type& t) {
  return std::array{&t.watt_minted_wh,        &t.watt_burned_wh,          &t.grid_export_wh,
                    &t.grid_import_wh,        &t.fees_collected_units,    &t.fees_to_owners_units,
                    &t.fees_to_education_units, &t.fees_to_network_units, &t.grants_paid_units,
                    &t.readings_accepted,     &t.readings_refused_backwards, &t.market_trades,
                    &t.market_volume_wh,      &t.agent_orders};
}

void write_totals(byte_writer& w, const totals& t) {
  for (const int64_t* v : totals_fields(t)) w.put_i64(*v);
}

bool read_totals(byte_reader& r, totals& t) {
  for (int64_t* v : totals_fields(t))
    if (!r.get_i64(*v)) return false;
  return true;
}

std::vector<uint8_t> meter_leaf_bytes(const meter& m) {
  byte_writer w;
  w.reserve(96);
  w.put_array(m.key.bytes);
  w.put_u32(m.account);
  w.put_u64(m.sequence);
  w.put_i64(m.export_wh_total);
  w.put_i64(m.import_wh_total);
  w.put_i64(m.last_timestamp_ms);
  w.put_u32(m.backwards_flags);
  return w.take();
}

std::vector<uint8_t> unit_leaf_bytes(const storage_unit& u) {
  byte_writer w;
  w.reserve(96);
  w.put_array(u.key.bytes);
  w.put_u32(u.owner);
  w.put_i64(u.capacity_wh);
  w.put_u64(u.nonce);
  w.put_u64(u.report_epoch);
  w.put_i64(u.stored_wh);
  w.put_i64(u.fees_earned_units);
  return w.take();
}

crypto::hash256 combine_root(const crypto::hash256& accounts_root, const crypto::hash256& meters_root,
                             const crypto::hash256& units_root, const crypto::hash256& globals,
                             const crypto::hash256& market) {
  crypto::sha256_hasher h;
  h.update(crypto::as_bytes("energo/state/v1"));
  h.update(accounts_root).update(meters_root).update(units_root).update(globals).update(market);
  return h.finish();
}

}  // namespace

bool verify_account_proof(const crypto::hash256& state_root, const account_proof& proof) {
  // The state root commits to the accounts root; the accounts root commits to the leaf through the path.
  const auto leaf = crypto::merkle_leaf_hash(account_leaf_bytes(proof.record));
  if (!crypto::merkle_verify(proof.accounts_root, leaf, proof.path)) return false;
  return combine_root(proof.accounts_root, proof.meters_root, proof.units_root, proof.globals_hash, proof.market_hash) ==
         state_root;
}

// ---------------------------------------------------------------------------------------------
// Construction

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
  if (out.has_value()) settle_market(false);
  if constexpr (ENERGO_INVARIANTS_ENABLED) {
    if (accounts_.size() <= 4096) {  // deep checks are O(state): keep them for test-sized ledgers
      auto problems = check_invariants();
      ENERGO_ASSERT(problems.empty(), problems.empty() ? "" : problems.front().c_str());
    }
  }
  return out;
}

result<void> ledger::check_admin(const admin_auth& auth) const {
  auto it = admin_nonces_.find(auth.admin_key);
  if (it == admin_nonces_.end()) return fail(errc::unauthorized, "key " + crypto::to_hex(auth.admin_key.bytes) + " is not an admin");
  if (auth.nonce <= it->second)
    return fail(errc::stale_nonce, "admin nonce " + std::to_string(auth.nonce) + " is not above " + std::to_string(it->second));
  return ok;
}

void ledger::commit_admin_nonce(const admin_auth& auth) { admin_nonces_[auth.admin_key] = auth.nonce; }

result<apply_outcome> ledger::apply_tick(const tick& c) {
  if (c.time_ms < time_ms_)
    return fail(errc::time_backwards, "tick " + std::to_string(c.time_ms) + " ms is before ledger time " + std::to_string(time_ms_));
  const auto target_epoch = static_cast<uint64_t>((c.time_ms - epoch_start_ms_) / epoch_ms);
  const uint64_t to_close = target_epoch - epoch_;
  if (to_close > static_cast<uint64_t>(limits::tick_epochs_max))
    return fail(errc::out_of_range, "tick would close " + std::to_string(to_close) + " epochs, more than " +
                                        std::to_string(limits::tick_epochs_max) + "; propose intermediate ticks");
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
    a.fees_paid_units += paid;
    proceeds += paid;  // ≤ total supply
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
      u.fees_earned_units += share;
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
  totals_.fees_collected_units += proceeds;
  totals_.fees_to_owners_units += distributed;
  totals_.fees_to_education_units += to_education;
  totals_.fees_to_network_units += to_network + remainder;
  out.fees_units += proceeds;
  ++out.epochs_closed;
  ++epoch_;
}

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
  apply_outcome out;
  auto acct = account_for(c.account, out.created_account);
  if (!acct) return unexpected<error>{acct.error()};
  commit_admin_nonce(c.auth);
  accounts_[education_pool_].tsl_units -= params_.grant_units;
  accounts_[*acct].tsl_units += params_.grant_units;
  accounts_[*acct].granted = true;
  totals_.grants_paid_units += params_.grant_units;
  mark_account(education_pool_);
  note_balance_change(*acct);
  return out;
}

result<apply_outcome> ledger::apply_meter_reading(const meter_reading& c) {
  auto mi = meter_by_key_.find(c.meter_key.bytes);
  if (!mi) return fail(errc::unknown_meter, "meter " + crypto::to_hex(c.meter_key.bytes) + " is not registered");
  meter& m = meters_[*mi];
  if (c.sequence <= m.sequence)
    return fail(errc::stale_nonce, "reading sequence " + std::to_string(c.sequence) + " is not above " + std::to_string(m.sequence) +
                                       " (duplicate or older)");
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
    // SPEC §3.1: refused and flagged. The flag is the audit record; no energy is booked and the
    // sequence does not advance, so a corrected reading with the same sequence is still accepted.
    ++m.backwards_flags;
    ++totals_.readings_refused_backwards;
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
  const bool may_store = a.tsl_units > 0 && a.fee_debt_units == 0;
  const int64_t room = std::max<int64_t>(0, bmax_wh_ - watt_after_burn);
  const int64_t mint = may_store ? std::min(export_wh, room) : 0;
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
  if (!minted || !burned || !grid_out || !grid_in || !a_minted || !a_burned || !a_grid_out || !a_grid_in)
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
  ++totals_.readings_accepted;
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

result<apply_outcome> ledger::apply_storage_report(const storage_report& c) {
  auto ui = unit_by_key_.find(c.unit_key.bytes);
  if (!ui) return fail(errc::unknown_storage_unit, "storage unit " + crypto::to_hex(c.unit_key.bytes) + " is not registered");
  storage_unit& u = units_[*ui];
  if (c.nonce <= u.nonce)
    return fail(errc::stale_nonce, "storage report nonce " + std::to_string(c.nonce) + " is not above " + std::to_string(u.nonce));
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

result<apply_outcome> ledger::apply_transfer(const transfer& c) {
  const account_address from = crypto::hash160_of(c.from_key.bytes);
  auto fi = account_by_address_.find(from);
  if (!fi) return fail(errc::unknown_account, "sending account " + crypto::to_hex(from) + " does not exist");
  account& sender = accounts_[*fi];
  if (c.nonce <= sender.nonce)
    return fail(errc::stale_nonce, "nonce " + std::to_string(c.nonce) + " is not above " + std::to_string(sender.nonce));
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

// ---------------------------------------------------------------------------------------------
// Queries and roots

const account* ledger::find_account(const account_address& address) const {
  auto i = account_by_address_.find(address);
  return i ? &accounts_[*i] : nullptr;
}
const meter* ledger::find_meter(const crypto::ed25519_public_key& key) const {
  auto i = meter_by_key_.find(key.bytes);
  return i ? &meters_[*i] : nullptr;
}
const storage_unit* ledger::find_storage_unit(const crypto::ed25519_public_key& key) const {
  auto i = unit_by_key_.find(key.bytes);
  return i ? &units_[*i] : nullptr;
}

int64_t ledger::tsl_total_units() const {
  int128 sum = 0;
  for (const auto& a : accounts_) sum += a.tsl_units;
  return sum > INT64_MAX ? INT64_MAX : static_cast<int64_t>(sum);
}
int64_t ledger::watt_total_wh() const {
  int128 sum = 0;
  for (const auto& a : accounts_) sum += a.watt_wh;
  return sum > INT64_MAX ? INT64_MAX : static_cast<int64_t>(sum);
}

crypto::hash256 ledger::globals_hash() const {
  byte_writer w;
  w.reserve(512);
  w.put_raw(crypto::as_bytes("energo/globals/v1"));
  w.put_array(genesis_hash_);
  w.put_string(community_id_);
  w.put_u8(static_cast<uint8_t>(network_));
  write_params(w, params_);
  w.put_i64(bmax_wh_);
  w.put_i64(time_ms_);
  w.put_i64(epoch_start_ms_);
  w.put_u64(epoch_);
  w.put_u32(education_pool_);
  w.put_u32(network_pool_);
  write_totals(w, totals_);
  w.put_u32(static_cast<uint32_t>(admin_nonces_.size()));
  for (const auto& [key, nonce] : admin_nonces_) {  // std::map: key order, deterministic
    w.put_array(key.bytes);
    w.put_u64(nonce);
  }
  return crypto::sha256(w.bytes());
}

crypto::hash256 ledger::state_root() {
  // Ascending order walks the account table and the leaf level forwards; prefetching a few
  // entries ahead overlaps their cache misses with the hashing (large ledgers, ARCHITECTURE scale).
  std::sort(dirty_accounts_.begin(), dirty_accounts_.end());
  constexpr std::size_t prefetch_distance = 4;
  for (std::size_t j = 0; j < dirty_accounts_.size(); ++j) {
    if (j + prefetch_distance < dirty_accounts_.size()) {
      const account_index ahead = dirty_accounts_[j + prefetch_distance];
      __builtin_prefetch(&accounts_[ahead]);
      accounts_tree_.prefetch_leaf(ahead);
    }
    const account_index i = dirty_accounts_[j];
    accounts_tree_.update(i, account_leaf_hash(accounts_[i]));
    account_dirty_flag_[i] = 0;
  }
  dirty_accounts_.clear();
  for (uint32_t i : dirty_meters_) {
    meters_tree_.update(i, crypto::merkle_leaf_hash(meter_leaf_bytes(meters_[i])));
    meter_dirty_flag_[i] = 0;
  }
  dirty_meters_.clear();
  for (uint32_t i : dirty_units_) {
    units_tree_.update(i, crypto::merkle_leaf_hash(unit_leaf_bytes(units_[i])));
    unit_dirty_flag_[i] = 0;
  }
  dirty_units_.clear();
  return combine_root(accounts_tree_.root(), meters_tree_.root(), units_tree_.root(), globals_hash(), market_hash());
}

std::optional<account_proof> ledger::prove(const account_address& address) {
  auto i = account_by_address_.find(address);
  if (!i) return std::nullopt;
  (void)state_root();  // flush dirty leaves
  account_proof p;
  p.record = accounts_[*i];
  p.path = accounts_tree_.proof(*i);
  p.accounts_root = accounts_tree_.root();
  p.meters_root = meters_tree_.root();
  p.units_root = units_tree_.root();
  p.globals_hash = globals_hash();
  p.market_hash = market_hash();
  return p;
}

std::vector<std::string> ledger::check_invariants() const {
  std::vector<std::string> problems;
  int128 tsl = 0, watt = 0, minted = 0, burned = 0;
  for (const auto& a : accounts_) {
    tsl += a.tsl_units;
    watt += a.watt_wh;
    minted += a.minted_wh;
    burned += a.burned_wh;
    if (a.tsl_units < 0 || a.watt_wh < 0 || a.fee_debt_units < 0)
      problems.push_back("negative balance or debt in " + crypto::to_hex(a.address));
    if (a.watt_wh > bmax_wh_) problems.push_back("WATT above Bmax in " + crypto::to_hex(a.address));
    if (a.kind != account_kind::member && a.watt_wh != 0) problems.push_back("a system pool holds WATT");
  }
  if (tsl != tsl_supply_units) problems.push_back("TSL total differs from the fixed supply");
  // Transfers move WATT between accounts, so per-account minted − burned need not match the balance;
  // the community total must.
  if (watt != static_cast<int128>(totals_.watt_minted_wh) - totals_.watt_burned_wh)
    problems.push_back("WATT total differs from minted − burned");
  if (minted != totals_.watt_minted_wh || burned != totals_.watt_burned_wh)
    problems.push_back("per-account minted/burned do not add up to the totals");
  if (totals_.fees_collected_units != totals_.fees_to_owners_units + totals_.fees_to_education_units + totals_.fees_to_network_units)
    problems.push_back("fee split does not add up to the proceeds");
  for (const auto& m : meters_)
    if (m.account >= accounts_.size()) problems.push_back("meter refers to a missing account");
  for (const auto& u : units_)
    if (u.owner >= accounts_.size()) problems.push_back("storage unit refers to a missing account");
  if (accounts_tree_.size() != accounts_.size() || meters_tree_.size() != meters_.size() || units_tree_.size() != units_.size())
    problems.push_back("Merkle trees out of step with the state");
  if (account_by_address_.size() != accounts_.size()) problems.push_back("address index out of step");
  if (auto book_problem = book_.check_invariants(); !book_problem.empty()) problems.push_back("order book: " + book_problem);
  for (const auto& [id, s] : sessions_)
    if (s.spent_units > s.cap_units || s.vehicle >= accounts_.size() || s.station >= stations_.size())
      problems.push_back("EV session " + std::to_string(id) + " is inconsistent");
  for (const auto& st : stations_)
    if (st.account >= accounts_.size()) problems.push_back("charging station refers to a missing account");
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Snapshot and restore

namespace {
constexpr std::string_view snapshot_magic = "ENERGO-LEDGER-SNAPSHOT";
constexpr uint32_t snapshot_version = 1;
constexpr std::size_t account_record_bytes_min = 20 + 2 + 33 + 8 * 9;
// Exactly the sizes meter_leaf_bytes / unit_leaf_bytes write; larger values refuse valid snapshots.
constexpr std::size_t meter_record_bytes_min = 32 + 4 + 8 * 4 + 4;
constexpr std::size_t unit_record_bytes_min = 32 + 4 + 8 * 5;
}  // namespace

std::vector<uint8_t> ledger::snapshot() const {
  byte_writer w;
  w.reserve(64 + accounts_.size() * 160 + meters_.size() * 96 + units_.size() * 96);
  w.put_raw(crypto::as_bytes(snapshot_magic));
  w.put_u32(snapshot_version);
  w.put_array(genesis_hash_);
  w.put_string(community_id_);
  w.put_u8(static_cast<uint8_t>(network_));
  write_params(w, params_);
  w.put_i64(time_ms_);
  w.put_i64(epoch_start_ms_);
  w.put_u64(epoch_);
  write_totals(w, totals_);
  w.put_u32(education_pool_);
  w.put_u32(network_pool_);
  w.put_u32(static_cast<uint32_t>(admin_nonces_.size()));
  for (const auto& [key, nonce] : admin_nonces_) {
    w.put_array(key.bytes);
    w.put_u64(nonce);
  }
  w.put_u32(static_cast<uint32_t>(accounts_.size()));
  for (const auto& a : accounts_) w.put_raw(account_leaf_bytes(a));
  w.put_u32(static_cast<uint32_t>(meters_.size()));
  for (const auto& m : meters_) w.put_raw(meter_leaf_bytes(m));
  w.put_u32(static_cast<uint32_t>(units_.size()));
  for (const auto& u : units_) w.put_raw(unit_leaf_bytes(u));
  write_market_state(w);
  const auto checksum = crypto::sha256(w.bytes());
  w.put_array(checksum);
  return w.take();
}

result<ledger> ledger::restore(std::span<const uint8_t> bytes) {
  if (bytes.size() < snapshot_magic.size() + 32) return fail(errc::malformed, "snapshot too short");
  const auto body = bytes.first(bytes.size() - 32);
  crypto::hash256 stored{};
  std::copy(bytes.end() - 32, bytes.end(), stored.begin());
  if (crypto::sha256(body) != stored) return fail(errc::malformed, "snapshot checksum mismatch");
  byte_reader r(body);
  std::array<uint8_t, snapshot_magic.size()> magic{};
  uint32_t version = 0;
  if (!r.get_array(magic) || std::string_view(reinterpret_cast<const char*>(magic.data()), magic.size()) != snapshot_magic)
    return fail(errc::malformed, "not a ledger snapshot");
  if (!r.get_u32(version) || version != snapshot_version)
    return fail(errc::malformed, "unsupported snapshot version " + std::to_string(version));

  ledger l;
  uint8_t net = 0;
  bool okay = r.get_array(l.genesis_hash_) && r.get_string(l.community_id_, limits::community_id_chars_max) &&
              r.get_u8(net) && read_params(r, l.params_) && r.get_i64(l.time_ms_) && r.get_i64(l.epoch_start_ms_) &&
              r.get_u64(l.epoch_);
  okay = okay && read_totals(r, l.totals_);
  uint32_t admin_count = 0;
  okay = okay && r.get_u32(l.education_pool_) && r.get_u32(l.network_pool_) && r.get_u32(admin_count);
  if (!okay || net > static_cast<uint8_t>(crypto::network::regtest) || admin_count == 0 || admin_count > limits::admins_max)
    return fail(errc::malformed, "snapshot header is invalid");
  l.network_ = static_cast<crypto::network>(net);
  auto bmax = bmax_wh_from(l.params_.storage_cost_per_user_cents, l.params_.battery_price_cents_per_kwh);
  if (!bmax || !validate_params(l.params_)) return fail(errc::malformed, "snapshot parameters are invalid");
  l.bmax_wh_ = *bmax;
  for (uint32_t k = 0; k < admin_count; ++k) {
    crypto::ed25519_public_key key;
    uint64_t nonce = 0;
    if (!r.get_array(key.bytes) || !r.get_u64(nonce) || !l.admin_nonces_.emplace(key, nonce).second)
      return fail(errc::malformed, "snapshot admin table is invalid");
  }

  uint32_t count = 0;
  if (!r.get_u32(count) || count > limits::accounts_max || count < 2 || r.remaining() / account_record_bytes_min < count)
    return fail(errc::malformed, "snapshot account table is invalid");
  l.accounts_.resize(count);
  for (auto& a : l.accounts_) {
    uint8_t kind = 0, flags = 0;
    if (!(r.get_array(a.address) && r.get_u8(kind) && r.get_u8(flags) && r.get_array(a.key.bytes) && r.get_i64(a.tsl_units) &&
          r.get_i64(a.watt_wh) && r.get_i64(a.fee_debt_units) && r.get_u64(a.nonce) && r.get_i64(a.minted_wh) &&
          r.get_i64(a.burned_wh) && r.get_i64(a.grid_export_wh) && r.get_i64(a.grid_import_wh) && r.get_i64(a.fees_paid_units)) ||
        kind > 2 || flags > 3)
      return fail(errc::malformed, "snapshot account record is invalid");
    a.kind = static_cast<account_kind>(kind);
    a.key_known = flags & 1;
    a.granted = flags & 2;
  }
  if (!r.get_u32(count) || count > limits::meters_max || r.remaining() / meter_record_bytes_min < count)
    return fail(errc::malformed, "snapshot meter table is invalid");
  l.meters_.resize(count);
  for (auto& m : l.meters_) {
    if (!(r.get_array(m.key.bytes) && r.get_u32(m.account) && r.get_u64(m.sequence) && r.get_i64(m.export_wh_total) &&
          r.get_i64(m.import_wh_total) && r.get_i64(m.last_timestamp_ms) && r.get_u32(m.backwards_flags)) ||
        m.account >= l.accounts_.size())
      return fail(errc::malformed, "snapshot meter record is invalid");
  }
  if (!r.get_u32(count) || count > limits::storage_units_max || r.remaining() / unit_record_bytes_min < count)
    return fail(errc::malformed, "snapshot storage unit table is invalid");
  l.units_.resize(count);
  for (auto& u : l.units_) {
    if (!(r.get_array(u.key.bytes) && r.get_u32(u.owner) && r.get_i64(u.capacity_wh) && r.get_u64(u.nonce) &&
          r.get_u64(u.report_epoch) && r.get_i64(u.stored_wh) && r.get_i64(u.fees_earned_units)) ||
        u.owner >= l.accounts_.size())
      return fail(errc::malformed, "snapshot storage unit record is invalid");
  }
  if (!l.read_market_state(r)) return fail(errc::malformed, "snapshot market state is invalid");
  if (!r.at_end()) return fail(errc::malformed, "trailing bytes in snapshot");
  if (l.education_pool_ >= l.accounts_.size() || l.network_pool_ >= l.accounts_.size() ||
      l.accounts_[l.education_pool_].kind != account_kind::education_pool ||
      l.accounts_[l.network_pool_].kind != account_kind::network_pool)
    return fail(errc::malformed, "snapshot system pools are invalid");

  l.rebuild_indexes_and_trees();
  if (l.account_by_address_.size() != l.accounts_.size() || l.meter_by_key_.size() != l.meters_.size() ||
      l.unit_by_key_.size() != l.units_.size() || l.station_by_key_.size() != l.stations_.size())
    return fail(errc::malformed, "snapshot has duplicate accounts, meters or storage units");
  if (auto problems = l.check_invariants(); !problems.empty())
    return fail(errc::malformed, "snapshot violates an invariant: " + problems.front());
  return l;
}

void ledger::rebuild_indexes_and_trees() {
  account_by_address_.clear();
  meter_by_key_.clear();
  unit_by_key_.clear();
  accounts_tree_.clear();
  meters_tree_.clear();
  units_tree_.clear();
  dirty_accounts_.clear();
  dirty_meters_.clear();
  dirty_units_.clear();
  account_dirty_flag_.assign(accounts_.size(), 0);
  pending_flag_.assign(accounts_.size(), 0);
  pending_book_.clear();
  pending_agents_.clear();
  station_by_key_.clear();
  for (uint32_t i = 0; i < stations_.size(); ++i)
    if (!station_by_key_.find(stations_[i].key.bytes)) station_by_key_.insert(stations_[i].key.bytes, i);
  market_dirty_ = true;
  meter_dirty_flag_.assign(meters_.size(), 0);
  unit_dirty_flag_.assign(units_.size(), 0);
  for (account_index i = 0; i < accounts_.size(); ++i) {
    if (account_by_address_.find(accounts_[i].address)) continue;  // duplicate: caught by the size check
    account_by_address_.insert(accounts_[i].address, i);
    accounts_tree_.append(crypto::merkle_leaf_hash(account_leaf_bytes(accounts_[i])));
  }
  for (uint32_t i = 0; i < meters_.size(); ++i) {
    if (!meter_by_key_.find(meters_[i].key.bytes)) meter_by_key_.insert(meters_[i].key.bytes, i);
    meters_tree_.append(crypto::merkle_leaf_hash(meter_leaf_bytes(meters_[i])));
  }
  for (uint32_t i = 0; i < units_.size(); ++i) {
    if (!unit_by_key_.find(units_[i].key.bytes)) unit_by_key_.insert(units_[i].key.bytes, i);
    units_tree_.append(crypto::merkle_leaf_hash(unit_leaf_bytes(units_[i])));
  }
}

}  // namespace energo::ledger
