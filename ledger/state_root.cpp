// Merkle leaves, the state root, account proofs, queries and the invariant checker.
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

using namespace detail;

// ---------------------------------------------------------------------------------------------
// Leaves and roots

namespace detail {

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
crypto::hash256 account_leaf_hash(const account& a) {
  fixed_writer<account_leaf_bytes_size> w;
  encode_account(w, a);
  return crypto::merkle_leaf_hash(w.bytes());
}

}  // namespace detail

std::vector<uint8_t> account_leaf_bytes(const account& a) {
  byte_writer w;
  w.reserve(detail::account_leaf_bytes_size);
  detail::encode_account(w, a);
  return w.take();
}

namespace detail {

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

}  // namespace detail

bool verify_account_proof(const crypto::hash256& state_root, const account_proof& proof) {
  // The state root commits to the accounts root; the accounts root commits to the leaf through the path.
  const auto leaf = crypto::merkle_leaf_hash(account_leaf_bytes(proof.record));
  if (!crypto::merkle_verify(proof.accounts_root, leaf, proof.path)) return false;
  return detail::combine_root(proof.accounts_root, proof.meters_root, proof.units_root, proof.globals_hash, proof.market_hash) ==
         state_root;
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

// O(1): what a command can break without touching O(state) data. Also the first part of the deep check.
std::vector<std::string> ledger::check_cheap_invariants() const {
  std::vector<std::string> problems;
  const totals& t = totals_;
  for (const int64_t* v : totals_fields(t))
    if (*v < 0) problems.push_back("a lifetime total is negative");
  if (t.watt_burned_wh > t.watt_minted_wh) problems.push_back("more WATT burned than minted");
  if (static_cast<int128>(t.fees_collected_units) !=
      static_cast<int128>(t.fees_to_owners_units) + t.fees_to_education_units + t.fees_to_network_units)
    problems.push_back("fee split does not add up to the proceeds");
  if (education_pool_ >= accounts_.size() || network_pool_ >= accounts_.size() ||
      accounts_[education_pool_].kind != account_kind::education_pool ||
      accounts_[network_pool_].kind != account_kind::network_pool)
    problems.push_back("system pools are not where the ledger says");
  if (accounts_.size() > limits::accounts_max || meters_.size() > limits::meters_max ||
      units_.size() > limits::storage_units_max || stations_.size() > limits::stations_max ||
      agents_.size() > limits::agents_max || sessions_.size() > limits::ev_sessions_open_max ||
      closed_sessions_.size() > limits::ev_closed_sessions_kept)
    problems.push_back("a table is above its limit");
  if (accounts_tree_.size() != accounts_.size() || meters_tree_.size() != meters_.size() || units_tree_.size() != units_.size())
    problems.push_back("Merkle trees out of step with the state");
  if (account_by_address_.size() != accounts_.size() || meter_by_key_.size() != meters_.size() ||
      unit_by_key_.size() != units_.size() || station_by_key_.size() != stations_.size())
    problems.push_back("an index is out of step with its table");
  if (pending_flag_.size() != accounts_.size() || account_dirty_flag_.size() != accounts_.size())
    problems.push_back("per-account flags out of step with the account table");
  if (time_ms_ < epoch_start_ms_ || epoch_ != static_cast<uint64_t>((time_ms_ - epoch_start_ms_) / epoch_ms))
    problems.push_back("ledger time and epoch do not agree");
  if (book_.current_epoch() > epoch_) problems.push_back("order book epoch is ahead of the ledger");
  if (next_session_id_ < 1 || next_session_id_ > limits::ev_session_id_max) problems.push_back("next session id out of range");
  return problems;
}

// Everything (SPEC §3.9): O(state). Written to be safe on any state, including one just decoded
// from a snapshot: every index is range-checked before it is used.
std::vector<std::string> ledger::check_invariants() const {
  std::vector<std::string> problems = check_cheap_invariants();
  const auto is_member = [&](account_index i) { return i < accounts_.size() && accounts_[i].kind == account_kind::member; };
  int128 tsl = 0, watt = 0, minted = 0, burned = 0, grid_export = 0, grid_import = 0, fees_paid = 0;
  for (const auto& a : accounts_) {
    tsl += a.tsl_units;
    watt += a.watt_wh;
    minted += a.minted_wh;
    burned += a.burned_wh;
    grid_export += a.grid_export_wh;
    grid_import += a.grid_import_wh;
    fees_paid += a.fees_paid_units;
    if (a.tsl_units < 0 || a.watt_wh < 0 || a.fee_debt_units < 0)
      problems.push_back("negative balance or debt in account " + crypto::to_hex(a.address));
    if (a.minted_wh < 0 || a.burned_wh < 0 || a.grid_export_wh < 0 || a.grid_import_wh < 0 || a.fees_paid_units < 0)
      problems.push_back("negative lifetime counter in account " + crypto::to_hex(a.address));
    // close_epoch caps the debt at the supply, which keeps fee + debt within int64.
    if (a.fee_debt_units > tsl_supply_units) problems.push_back("fee debt above the supply in account " + crypto::to_hex(a.address));
    if (a.watt_wh > bmax_wh_) problems.push_back("WATT above Bmax in account " + crypto::to_hex(a.address));
    if (a.kind != account_kind::member && (a.watt_wh != 0 || a.granted))
      problems.push_back("a system pool holds WATT or a grant");
  }
  if (tsl != tsl_supply_units) problems.push_back("TSL total differs from the fixed supply");
  // Transfers move WATT between accounts, so per-account minted − burned need not match the balance;
  // the community total must.
  if (watt != static_cast<int128>(totals_.watt_minted_wh) - totals_.watt_burned_wh)
    problems.push_back("WATT total differs from minted − burned");
  if (watt > storage_capacity_wh()) problems.push_back("WATT total exceeds the declared storage capacity");
  if (minted != totals_.watt_minted_wh || burned != totals_.watt_burned_wh)
    problems.push_back("per-account minted/burned do not add up to the totals");
  // Every lifetime counter of an account is booked together with its community total, so no
  // account's counter can be near overflow while the total is not.
  if (grid_export != totals_.grid_export_wh || grid_import != totals_.grid_import_wh || fees_paid != totals_.fees_collected_units)
    problems.push_back("per-account grid export/import or fees paid do not add up to the totals");
  for (const auto& m : meters_) {
    if (!is_member(m.account)) problems.push_back("meter refers to a missing or non-member account");
    if (m.export_wh_total < 0 || m.export_wh_total > limits::register_wh_max || m.import_wh_total < 0 ||
        m.import_wh_total > limits::register_wh_max)
      problems.push_back("meter register out of range");
    // Registered at ledger time (>= genesis), readings at most the clock skew ahead of ledger time.
    if (m.last_timestamp_ms < epoch_start_ms_ || m.last_timestamp_ms - time_ms_ > limits::meter_clock_skew_ms_max)
      problems.push_back("meter reading time out of range");
  }
  for (const auto& u : units_) {
    if (!is_member(u.owner)) problems.push_back("storage unit refers to a missing or non-member account");
    if (u.capacity_wh <= 0 || u.capacity_wh > limits::storage_capacity_wh_max || u.stored_wh < 0 ||
        u.stored_wh > u.capacity_wh || u.fees_earned_units < 0 || (u.report_epoch != UINT64_MAX && u.report_epoch > epoch_))
      problems.push_back("storage unit values out of range");
  }
  if (auto book_problem = book_.check_invariants(); !book_problem.empty()) problems.push_back("order book: " + book_problem);
  for (const account_index i : {education_pool_, network_pool_})
    if (book_.order_count(i) != 0) problems.push_back("a system pool has orders");
  for (const auto& [i, a] : agents_)
    if (!is_member(i) || !a.enabled) problems.push_back("agent of a missing or non-member account, or disabled");
  for (const auto& [id, s] : sessions_)
    if (id != s.id || s.state != session_state::open || s.spent_units > s.cap_units || s.spent_units < 0 ||
        !is_member(s.vehicle) || s.station >= stations_.size() || s.id >= next_session_id_)
      problems.push_back("EV session " + std::to_string(id) + " is inconsistent");
  for (const auto& st : stations_)
    if (!is_member(st.account)) problems.push_back("charging station refers to a missing or non-member account");
  return problems;
}

}  // namespace energo::ledger
