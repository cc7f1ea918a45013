#pragma once
// The replicated state machine (SPEC §2–3): accounts with TSL and WATT, meters, storage units,
// issuance and burn, 15-minute fee epochs, education grants, and a Merkle state root.
//
// Pure and deterministic: no clocks, threads, I/O or floats; ledger time comes from `tick`
// commands in the log. apply() either applies a command completely or returns an error having
// changed nothing — with one deliberate exception (SPEC §8, docs/commands.md "Nonces and
// refusals"): a command whose signer is authenticated (fresh nonce, entitled key) and that a ledger
// rule then refuses consumes its nonce, so it can never be resubmitted and executed later. The
// refusal changes that nonce and nothing else. Signatures are NOT checked here (see commands.hpp:
// verify()); apply() checks nonces and that the key is entitled to act.
//
// Monotonic: ledger time, every nonce and meter sequence, the epoch number, lifetime minted and
// burned totals. Conserved: TSL total = tsl_supply_units at every step; WATT total = minted − burned.
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <deque>

#include "crypto/merkle.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/commands.hpp"
#include "ledger/key_index.hpp"
#include "ledger/market/order_book.hpp"
#include "ledger/types.hpp"

namespace energo::ledger {

struct genesis_allocation {
  account_address account{};
  int64_t tsl_units = 0;
};

struct genesis {
  std::string community_id;
  crypto::network network = crypto::network::regtest;
  int64_t genesis_time_ms = 0;
  community_params params;
  std::vector<crypto::ed25519_public_key> admins;
  std::vector<genesis_allocation> allocations;  // must sum to tsl_supply_units exactly

  // Canonical hash; every signed command binds to it.
  [[nodiscard]] crypto::hash256 hash() const;
};

// System accounts have addresses no key can produce (HASH160 of a tag, not of a public key).
enum class account_kind : uint8_t { member = 0, education_pool = 1, network_pool = 2 };
[[nodiscard]] account_address education_pool_address();
[[nodiscard]] account_address network_pool_address();

struct account {
  account_address address{};
  account_kind kind = account_kind::member;
  bool key_known = false;                // set on the first command the account signs
  bool granted = false;                  // received its one-time education grant
  crypto::secp256k1_public_key key{};
  int64_t tsl_units = 0;
  int64_t watt_wh = 0;
  int64_t fee_debt_units = 0;            // unpaid fees: no new WATT while > 0
  uint64_t nonce = 0;                    // last accepted nonce of this account's key
  int64_t minted_wh = 0;                 // lifetime
  int64_t burned_wh = 0;
  int64_t grid_export_wh = 0;            // exported energy that was not minted (Bmax, no TSL, debt)
  int64_t grid_import_wh = 0;            // imported energy beyond the WATT balance
  int64_t fees_paid_units = 0;
};

struct meter {
  crypto::ed25519_public_key key;
  account_index account = 0;
  uint64_t sequence = 0;
  int64_t export_wh_total = 0;
  int64_t import_wh_total = 0;
  int64_t last_timestamp_ms = 0;
  uint32_t backwards_flags = 0;          // readings refused because a register went backwards
};

struct storage_unit {
  crypto::ed25519_public_key key;
  account_index owner = 0;
  int64_t capacity_wh = 0;
  uint64_t nonce = 0;
  uint64_t report_epoch = 0;             // epoch of stored_wh below
  int64_t stored_wh = 0;                 // reported energy stored during report_epoch
  int64_t fees_earned_units = 0;         // lifetime
};

// The automatic trading agent of one member (SPEC §4 "ZI"); see set_agent.
struct agent_config {
  bool enabled = false;
  int64_t buy_price_units_per_wh = 0;
  int64_t buy_below_wh = 0;
  int64_t sell_price_units_per_wh = 0;
  int64_t sell_above_wh = 0;
};

struct charging_station {
  crypto::ed25519_public_key key;      // the station meter's key; signs deliveries
  account_index account = 0;           // paid the service fee
  int64_t service_fee_units_per_kwh = 0;
  uint64_t sequence = 0;               // last accepted delivery sequence
  int64_t delivered_wh = 0;            // lifetime, settled energy
  int64_t fees_earned_units = 0;
};

enum class session_state : uint8_t {
  open = 0,
  finished = 1,           // the station reported the end of charging
  closed_by_vehicle = 2,
  stopped_cap = 3,        // the spending cap would have been exceeded
  stopped_funds = 4,      // the vehicle's TSL ran out
  stopped_supply = 5,     // the book had no energy within the price cap
};

struct ev_session {
  uint64_t id = 0;
  account_index vehicle = 0;
  uint32_t station = 0;
  int64_t cap_units = 0;
  int64_t price_cap_units_per_wh = 0;
  int64_t delivered_wh = 0;       // as reported by the station (cumulative)
  int64_t settled_wh = 0;         // bought through the book and paid
  int64_t unsettled_wh = 0;       // delivered but not payable within the caps: booked as grid import
  int64_t energy_cost_units = 0;
  int64_t fees_units = 0;
  int64_t spent_units = 0;        // energy cost + fees; never above cap_units
  uint64_t opened_epoch = 0;
  session_state state = session_state::open;
};

struct totals {
  int64_t watt_minted_wh = 0;
  int64_t watt_burned_wh = 0;
  int64_t grid_export_wh = 0;
  int64_t grid_import_wh = 0;
  int64_t fees_collected_units = 0;      // lifetime, all epochs
  int64_t fees_to_owners_units = 0;
  int64_t fees_to_education_units = 0;
  int64_t fees_to_network_units = 0;
  int64_t grants_paid_units = 0;
  int64_t readings_accepted = 0;
  int64_t readings_refused_backwards = 0;
  int64_t market_trades = 0;
  int64_t market_volume_wh = 0;
  int64_t agent_orders = 0;
};

// What one command did, for result lines and tests.
struct apply_outcome {
  int64_t minted_wh = 0;
  int64_t burned_wh = 0;
  int64_t grid_export_wh = 0;
  int64_t grid_import_wh = 0;
  int64_t epochs_closed = 0;
  int64_t fees_units = 0;
  bool created_account = false;
  uint64_t order_id = 0;          // place/replace/cancel: the order (replace may renumber it)
  int64_t filled_wh = 0;          // place/replace: executed quantity; ev_delivery: energy bought
  int64_t trades = 0;             // trades executed by the command's own order
  uint64_t session_id = 0;        // EV commands
};

// What the last apply() did, account by account: NOT state (never serialized, not in the root,
// not compared between replicas), for indexes kept outside the ledger (actors/analytics.hpp).
// Cleared at the start of every apply(); its size is bounded by the command's own work.
struct apply_journal {
  struct payment {
    account_index account = 0;
    int64_t units = 0;
  };
  struct ev_charge {
    account_index vehicle = 0;
    account_index station_account = 0;
    int64_t energy_wh = 0;       // bought through the book and delivered
    int64_t energy_units = 0;    // paid to the sellers (also in `trades`)
    int64_t fee_units = 0;       // paid to the station
  };
  std::vector<account_index> accounts;  // every account whose record changed (may repeat)
  std::vector<market::trade> trades;    // settled trades in execution order (EV purchases included)
  std::vector<payment> owner_fees;      // fee shares paid to storage-unit owners (SPEC §3.5)
  std::vector<payment> grants;          // education grants paid
  std::vector<ev_charge> ev_charges;    // settled EV deliveries (SPEC §5)
  void clear() {
    accounts.clear();
    trades.clear();
    owner_fees.clear();
    grants.clear();
    ev_charges.clear();
  }
};

// One account's balances with a proof against the state root alone.
struct account_proof {
  account record;
  crypto::merkle_proof path;             // in the accounts tree
  crypto::hash256 accounts_root{};
  crypto::hash256 meters_root{};
  crypto::hash256 units_root{};
  crypto::hash256 globals_hash{};
  crypto::hash256 market_hash{};
};
[[nodiscard]] bool verify_account_proof(const crypto::hash256& state_root, const account_proof& proof);
[[nodiscard]] std::vector<uint8_t> account_leaf_bytes(const account& a);

class ledger {
 public:
  [[nodiscard]] static result<ledger> create(const genesis& g);

  // Applies one command whose signature has been verified (see verify()).
  [[nodiscard]] result<apply_outcome> apply(const command& cmd);
  // verify() then apply(): for replay and tests.
  [[nodiscard]] result<apply_outcome> verify_and_apply(const command& cmd);

  // Merkle root over the whole state; recomputes only what changed since the last call.
  [[nodiscard]] crypto::hash256 state_root();
  [[nodiscard]] std::optional<account_proof> prove(const account_address& address);

  // Full state as bytes (versioned, checksummed) and back; restore gives the same root.
  [[nodiscard]] std::vector<uint8_t> snapshot() const;
  [[nodiscard]] static result<ledger> restore(std::span<const uint8_t> bytes);

  // Queries.
  [[nodiscard]] const crypto::hash256& genesis_hash() const { return genesis_hash_; }
  [[nodiscard]] const std::string& community_id() const { return community_id_; }
  [[nodiscard]] crypto::network network() const { return network_; }
  [[nodiscard]] const community_params& params() const { return params_; }
  [[nodiscard]] int64_t bmax_wh() const { return bmax_wh_; }
  [[nodiscard]] int64_t time_ms() const { return time_ms_; }
  [[nodiscard]] uint64_t epoch() const { return epoch_; }
  [[nodiscard]] const totals& sums() const { return totals_; }
  [[nodiscard]] const std::vector<account>& accounts() const { return accounts_; }
  [[nodiscard]] const std::vector<meter>& meters() const { return meters_; }
  [[nodiscard]] const std::vector<storage_unit>& storage_units() const { return units_; }
  [[nodiscard]] const account* find_account(const account_address& address) const;
  [[nodiscard]] const meter* find_meter(const crypto::ed25519_public_key& key) const;
  [[nodiscard]] const storage_unit* find_storage_unit(const crypto::ed25519_public_key& key) const;
  [[nodiscard]] const std::map<crypto::ed25519_public_key, uint64_t>& admin_nonces() const { return admin_nonces_; }
  [[nodiscard]] const market::order_book& book() const { return book_; }
  // Copy-assigns `other` into this ledger reusing this ledger's memory where the book has grown
  // since the last such assignment (market::order_book::reserve_like): the apply actor's shadow
  // copy at each durable point. The result is `*this = other`.
  void assign_reusing_memory(const ledger& other);
  // On such a copy while nothing reads it: room ahead of the original's growth, made resident, so
  // that the next assign_reusing_memory does not page-fault (market::order_book::reserve_ahead).
  // No observable effect.
  void reserve_ahead() { book_.reserve_ahead(); }
  [[nodiscard]] const std::map<account_index, agent_config>& agents() const { return agents_; }
  [[nodiscard]] const std::vector<charging_station>& stations() const { return stations_; }
  [[nodiscard]] const std::map<uint64_t, ev_session>& open_sessions() const { return sessions_; }
  [[nodiscard]] const std::deque<ev_session>& closed_sessions() const { return closed_sessions_; }
  [[nodiscard]] const charging_station* find_station(const crypto::ed25519_public_key& key) const;
  [[nodiscard]] std::optional<account_index> account_index_of(const account_address& address) const {
    return account_by_address_.find(address);
  }
  // Market depth with "funded" as of the current balances.
  [[nodiscard]] std::vector<market::depth_level> depth(market::side s, uint32_t levels) const;
  // Sum of the capacities the registered storage units declare: total WATT never exceeds it (SPEC §2).
  [[nodiscard]] int64_t storage_capacity_wh() const;
  // SPEC §3.4: a member may receive new WATT (minted, transferred, bought to keep) only while it
  // holds TSL and owes no fees.
  [[nodiscard]] static bool has_storage_access(const account& a) {
    return a.kind == account_kind::member && a.tsl_units > 0 && a.fee_debt_units == 0;
  }
  [[nodiscard]] int64_t tsl_total_units() const;   // sums every account: O(accounts)
  [[nodiscard]] int64_t watt_total_wh() const;

  // What the last apply() changed (see apply_journal); empty after create/restore.
  [[nodiscard]] const apply_journal& journal() const { return journal_; }

  // Deep invariant check (SPEC §3.9); empty when all hold. O(state): tests and debug builds.
  [[nodiscard]] std::vector<std::string> check_invariants() const;
  // The O(1) subset (totals, table and tree sizes, pools): runs after every apply in
  // ENERGO_INVARIANTS builds when the ledger is above limits::invariant_deep_check_accounts_max.
  [[nodiscard]] std::vector<std::string> check_cheap_invariants() const;

 private:
  friend class ledger_balance_view;
  friend struct ledger_test_access;  // tests only: drives lifetime counters to their bounds
  ledger() = default;
  static market::market_params default_market_params();

  result<apply_outcome> apply_tick(const tick& c);
  result<apply_outcome> apply_register_meter(const register_meter& c);
  result<apply_outcome> apply_register_storage_unit(const register_storage_unit& c);
  result<apply_outcome> apply_set_params(const set_params& c);
  result<apply_outcome> apply_education_grant(const education_grant& c);
  result<apply_outcome> apply_meter_reading(const meter_reading& c);
  result<apply_outcome> apply_storage_report(const storage_report& c);
  result<apply_outcome> apply_transfer(const transfer& c);
  result<apply_outcome> apply_place_order(const place_order& c);
  result<apply_outcome> apply_cancel_order(const cancel_order& c);
  result<apply_outcome> apply_replace_order(const replace_order& c);
  result<apply_outcome> apply_set_agent(const set_agent& c);
  result<apply_outcome> apply_register_station(const register_station& c);
  result<apply_outcome> apply_ev_open_session(const ev_open_session& c);
  result<apply_outcome> apply_ev_delivery(const ev_delivery& c);
  result<apply_outcome> apply_ev_close_session(const ev_close_session& c);

  // Market plumbing (market_state.cpp).
  // The signing account, when it exists and the nonce is fresh; claims the nonce (see claim_).
  result<account_index> signer_account(const crypto::secp256k1_public_key& key, uint64_t nonce);
  void commit_signer(account_index i, const crypto::secp256k1_public_key& key, uint64_t nonce);
  // A balance changed outside a trade: the book must re-examine the account's orders.
  void note_balance_change(account_index i);
  void note_agent_candidate(account_index i);
  void settle_market(bool all_agents);
  void run_agent(account_index i, market::balance_view& view);
  void close_session(std::map<uint64_t, ev_session>::iterator it, session_state why);
  [[nodiscard]] crypto::hash256 market_hash();
  void write_market_state(byte_writer& w) const;
  // Empty when the market part of a snapshot decoded and every reference checked; else why not.
  [[nodiscard]] std::string read_market_state(byte_reader& r);

  // Checks the admin key and nonce; on success records the nonce as claimed (see claim_).
  result<void> check_admin(const admin_auth& auth);
  void commit_admin_nonce(const admin_auth& auth);
  // The signer of the command being applied passed its nonce and entitlement checks: if a later
  // rule refuses the command, apply() still consumes this nonce (SPEC §8).
  enum class claim_kind : uint8_t { none, admin, account, meter, unit, station };
  struct nonce_claim {
    claim_kind kind = claim_kind::none;
    uint32_t index = 0;                    // account, meter, unit or station index
    crypto::ed25519_public_key admin_key;  // kind == admin
    uint64_t nonce = 0;
  };
  void claim_nonce(claim_kind kind, uint32_t index, uint64_t nonce) { claim_ = nonce_claim{kind, index, {}, nonce}; }
  void consume_claimed_nonce();
  // Index of the account, creating it when absent (bounded by limits::accounts_max).
  result<account_index> account_for(const account_address& address, bool& created);
  account_index create_account(const account_address& address, account_kind kind);
  void close_epoch(apply_outcome& out);
  [[nodiscard]] std::string fee_counters_problem(uint64_t epochs) const;
  void mark_account(account_index i);
  void mark_meter(uint32_t i);
  void mark_unit(uint32_t i);
  void mark_station(uint32_t i);
  void sync_market_commitment();
  void rebuild_market_commitment();
  void rebuild_trades_tree();
  void write_agents(byte_writer& w) const;
  void write_sessions(byte_writer& w) const;
  [[nodiscard]] crypto::hash256 globals_hash() const;
  void rebuild_indexes_and_trees();
  [[nodiscard]] std::string check_account_records() const;  // restore only (snapshot.cpp)

  // Identity and parameters.
  crypto::hash256 genesis_hash_{};
  std::string community_id_;
  crypto::network network_ = crypto::network::regtest;
  community_params params_;
  int64_t bmax_wh_ = 0;
  std::map<crypto::ed25519_public_key, uint64_t> admin_nonces_;  // admin key → last nonce

  // Time.
  int64_t time_ms_ = 0;
  int64_t epoch_start_ms_ = 0;  // genesis time: epoch n covers [start + n·epoch_ms, start + (n+1)·epoch_ms)
  uint64_t epoch_ = 0;

  // State.
  std::vector<account> accounts_;
  std::vector<meter> meters_;
  std::vector<storage_unit> units_;
  totals totals_;
  account_index education_pool_ = 0;
  account_index network_pool_ = 0;

  // Derived (rebuilt on restore, never serialized).
  key_index<20> account_by_address_;
  key_index<32> meter_by_key_;
  key_index<32> unit_by_key_;
  crypto::merkle_tree accounts_tree_;
  crypto::merkle_tree meters_tree_;
  crypto::merkle_tree units_tree_;
  std::vector<account_index> dirty_accounts_;
  std::vector<uint32_t> dirty_meters_;
  std::vector<uint32_t> dirty_units_;
  std::vector<uint8_t> account_dirty_flag_;
  std::vector<uint8_t> meter_dirty_flag_;
  std::vector<uint8_t> unit_dirty_flag_;

  // Market and EV state (SPEC §4–5).
  market::order_book book_{default_market_params()};
  std::map<account_index, agent_config> agents_;
  std::vector<charging_station> stations_;
  std::map<uint64_t, ev_session> sessions_;      // open sessions by id
  std::deque<ev_session> closed_sessions_;        // the last ev_closed_sessions_kept
  uint64_t next_session_id_ = 1;

  // Derived market bookkeeping (not serialized).
  key_index<32> station_by_key_;
  static constexpr uint8_t pending_book = 1;
  static constexpr uint8_t pending_agent = 2;
  std::vector<uint8_t> pending_flag_;             // per account
  std::vector<account_index> pending_book_;       // balance changed outside a trade during this command
  std::vector<account_index> pending_agents_;     // agents to re-examine
  // The market's share of the state root, committed incrementally (market_state.cpp,
  // sync_market_commitment); derived from the book and the tables, rebuilt after restore.
  bool agents_sessions_dirty_ = true;  // agents or sessions changed: their hash is recomputed
  crypto::hash256 agents_sessions_hash_{};
  crypto::merkle_tree book_orders_tree_;    // one leaf per book pool slot
  crypto::merkle_tree book_accounts_tree_;  // one leaf per entry of the book's account table
  crypto::merkle_tree book_trades_tree_;    // trade id t at leaf (t − 1) mod trade_ring_max
  crypto::merkle_tree book_epochs_tree_;    // the epoch ring, oldest first
  uint64_t trades_committed_ = 0;           // newest trade id in book_trades_tree_
  uint64_t epochs_committed_oldest_ = 0;    // oldest epoch in book_epochs_tree_
  crypto::merkle_tree stations_tree_;       // one leaf per station, registration order
  std::vector<uint8_t> station_dirty_flag_;
  std::vector<uint32_t> dirty_stations_;
  market::order_book::changes book_changes_;  // reused buffers
  std::vector<uint8_t> leaf_buffer_;
  nonce_claim claim_;  // of the command being applied; reset by apply()
  apply_journal journal_;  // of the command being applied; reset by apply(); not state
  // Derived: capacity of units_[0, capacity_units_counted_) (units are never removed or resized).
  mutable int64_t capacity_total_wh_ = 0;
  mutable std::size_t capacity_units_counted_ = 0;
};

}  // namespace energo::ledger
