// Snapshot and restore of the whole ledger state.
#include "ledger/ledger.hpp"

#include <algorithm>

#include "common/checked.hpp"
#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger_internal.hpp"

namespace energo::ledger {

using namespace detail;

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
  // The book (most of the bytes) included: one allocation, no copy while growing (the sizes of
  // the small tables after it are estimates; exceeding one only costs a reallocation).
  w.reserve(4096 + accounts_.size() * 160 + meters_.size() * 96 + units_.size() * 96 + book_.serialized_bytes_bound() +
            agents_.size() * 64 + stations_.size() * 256 + (sessions_.size() + closed_sessions_.size()) * 256);
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

// Snapshots are untrusted input (a follower installs them from the network, operators restore
// files): every count is checked against limits fixed in code and against the bytes actually
// present before anything is allocated for it, every reference and value before it is used, and the
// decoded state must pass check_invariants(). A refusal is a `malformed` error naming the part;
// restore builds a new ledger, so a refused snapshot leaves any running ledger untouched.
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
  // The rules of ledger::create for what genesis fixed.
  if (l.community_id_.empty() ||
      std::any_of(l.community_id_.begin(), l.community_id_.end(), [](char ch) { return ch < 0x21 || ch > 0x7e; }))
    return fail(errc::malformed, "snapshot community id is invalid");
  auto bmax = bmax_wh_from(l.params_.storage_cost_per_user_cents, l.params_.battery_price_cents_per_kwh);
  if (!bmax || !validate_params(l.params_)) return fail(errc::malformed, "snapshot parameters are invalid");
  l.bmax_wh_ = *bmax;
  // Ledger time starts at genesis (>= 0) and only moves forward; the epoch is derived from it
  // (apply_tick), so a snapshot cannot make the next tick close an unbounded number of epochs.
  if (l.epoch_start_ms_ < 0 || l.time_ms_ < l.epoch_start_ms_ ||
      l.epoch_ != static_cast<uint64_t>((l.time_ms_ - l.epoch_start_ms_) / epoch_ms))
    return fail(errc::malformed, "snapshot time, epoch start and epoch do not agree");
  // Lifetime totals only grow (every addition pre-checked): a value beyond any real history is refused.
  for (const int64_t* v : totals_fields(l.totals_))
    if (*v < 0 || *v > limits::lifetime_total_max) return fail(errc::malformed, "snapshot totals are out of range");
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
  for (account_index i = 0; i < count; ++i) {
    account& a = l.accounts_[i];
    uint8_t kind = 0, flags = 0;
    if (!(r.get_array(a.address) && r.get_u8(kind) && r.get_u8(flags) && r.get_array(a.key.bytes) && r.get_i64(a.tsl_units) &&
          r.get_i64(a.watt_wh) && r.get_i64(a.fee_debt_units) && r.get_u64(a.nonce) && r.get_i64(a.minted_wh) &&
          r.get_i64(a.burned_wh) && r.get_i64(a.grid_export_wh) && r.get_i64(a.grid_import_wh) && r.get_i64(a.fees_paid_units)) ||
        kind > 2 || flags > 3)
      return fail(errc::malformed, "snapshot account record " + std::to_string(i) + " is invalid");
    a.kind = static_cast<account_kind>(kind);
    a.key_known = flags & 1;
    a.granted = flags & 2;
  }
  if (auto problem = l.check_account_records(); !problem.empty()) return fail(errc::malformed, "snapshot " + problem);

  if (!r.get_u32(count) || count > limits::meters_max || r.remaining() / meter_record_bytes_min < count)
    return fail(errc::malformed, "snapshot meter table is invalid");
  l.meters_.resize(count);
  for (auto& m : l.meters_) {
    if (!(r.get_array(m.key.bytes) && r.get_u32(m.account) && r.get_u64(m.sequence) && r.get_i64(m.export_wh_total) &&
          r.get_i64(m.import_wh_total) && r.get_i64(m.last_timestamp_ms) && r.get_u32(m.backwards_flags)))
      return fail(errc::malformed, "snapshot meter record is truncated");
  }
  if (!r.get_u32(count) || count > limits::storage_units_max || r.remaining() / unit_record_bytes_min < count)
    return fail(errc::malformed, "snapshot storage unit table is invalid");
  l.units_.resize(count);
  for (auto& u : l.units_) {
    if (!(r.get_array(u.key.bytes) && r.get_u32(u.owner) && r.get_i64(u.capacity_wh) && r.get_u64(u.nonce) &&
          r.get_u64(u.report_epoch) && r.get_i64(u.stored_wh) && r.get_i64(u.fees_earned_units)))
      return fail(errc::malformed, "snapshot storage unit record is truncated");
    if (u.fees_earned_units > limits::lifetime_total_max) return fail(errc::malformed, "snapshot storage unit fees are out of range");
  }
  // Meters and units reference accounts: check_invariants() checks them (and everything else) below,
  // before any index or tree is built from them; nothing between here and there indexes by them.
  if (auto problem = l.read_market_state(r); !problem.empty())
    return fail(errc::malformed, "snapshot market state: " + problem);
  if (!r.at_end()) return fail(errc::malformed, "trailing bytes in snapshot");

  l.rebuild_indexes_and_trees();
  if (l.account_by_address_.size() != l.accounts_.size() || l.meter_by_key_.size() != l.meters_.size() ||
      l.unit_by_key_.size() != l.units_.size() || l.station_by_key_.size() != l.stations_.size())
    return fail(errc::malformed, "snapshot has duplicate accounts, meters, storage units or stations");
  if (auto problems = l.check_invariants(); !problems.empty())
    return fail(errc::malformed, "snapshot violates an invariant: " + problems.front());
  return l;
}

// What only a snapshot can get wrong about accounts (commands keep these by construction): the
// two system pools are where the header says, with their fixed addresses, and only there; a
// recorded key hashes to its account's address (signer_account finds accounts by that hash).
std::string ledger::check_account_records() const {
  if (education_pool_ >= accounts_.size() || network_pool_ >= accounts_.size() ||
      accounts_[education_pool_].kind != account_kind::education_pool || accounts_[education_pool_].address != education_pool_address() ||
      accounts_[network_pool_].kind != account_kind::network_pool || accounts_[network_pool_].address != network_pool_address())
    return "system pools are invalid";
  for (account_index i = 0; i < accounts_.size(); ++i) {
    const account& a = accounts_[i];
    if (a.kind != account_kind::member && i != education_pool_ && i != network_pool_)
      return "has a second system pool at account " + std::to_string(i);
    if (a.key_known ? crypto::hash160_of(a.key.bytes) != a.address : a.key != crypto::secp256k1_public_key{})
      return "account " + std::to_string(i) + " has a key that does not belong to its address";
  }
  return {};
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
  rebuild_market_commitment();
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
