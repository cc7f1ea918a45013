#pragma once
// The continuous two-sided auction of WATT against TSL (SPEC §4) as a pure, deterministic component
// of the replicated ledger: no clocks, no threads, no floats, no hash-ordered output. The same
// calls with the same balances produce the same trades and the same serialize()/digest().
//
// Threading: none; the owner (the ledger's apply path) calls it from one thread.
// Monotonic: next order id and trade id only grow; the epoch passed in never decreases. The order id
// is also the time priority: a smaller id is an older order.
// Invariant after every call that finishes its matching work (matching_pending() == false):
//   no pair of orders of different accounts crosses (bid price >= ask price) while both are
//   executable under the current balances. See README.md for the funding/parking design.
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ledger/market/balance_view.hpp"
#include "ledger/market/id_index.hpp"
#include "ledger/market/ring.hpp"
#include "ledger/market/types.hpp"

namespace energo::market {

class order_book {
 public:
  // What one mutating call did. `trades` lists EVERY trade executed during the call (the incoming
  // order's fills and any resting-vs-resting trades resumed by the call), in execution order; the
  // span stays valid until the next mutating call.
  struct placement {
    order_id id = 0;
    order_status status = order_status::resting;
    int64_t filled_wh = 0;     // executed quantity of this order during the call
    int64_t remaining_wh = 0;  // resting quantity (0 unless status == resting)
    std::span<const trade> trades;
    bool matching_incomplete = false;  // a per-call bound was hit; call match_pending() again
  };
  struct match_report {
    std::span<const trade> trades;
    bool matching_incomplete = false;
  };

  explicit order_book(const market_params& params = {});

  // --- commands (each either fails and changes nothing, or applies fully) ---
  result<placement> place(const order_request& request, balance_view& view, uint64_t epoch);
  // Cancels a resting order of `account`. Returns the cancelled open quantity.
  result<int64_t> cancel(order_id id, account_ref account, uint64_t epoch);
  // Price change or open-quantity increase: loses time priority and gets a NEW order id (as in
  // ITCH "order replace"); placement.id returns it. Same price and open quantity decreased (or
  // unchanged): keeps its id and priority.
  result<placement> replace(const replace_request& request, balance_view& view, uint64_t epoch);
  // The ledger reports a balance change made outside settle(); cheap (O(1)), no matching yet.
  void on_balance_changed(account_ref account);
  // Re-examines orders of accounts reported by on_balance_changed and resumes matching.
  result<match_report> match_pending(balance_view& view, uint64_t epoch);

  // --- queries ---
  [[nodiscard]] bool matching_pending() const noexcept;
  [[nodiscard]] int64_t buy_price() const noexcept;   // lowest ask, funded or not; 0 when none
  [[nodiscard]] int64_t sell_price() const noexcept;  // highest bid, funded or not; 0 when none
  // Best-first price levels of one side; funded_wh as of `view` (see README: per-account budget,
  // better-priced orders of the same account consume it first). At most min(levels, depth_levels_max).
  [[nodiscard]] std::vector<depth_level> depth(side s, uint32_t levels, const balance_view& view) const;
  [[nodiscard]] std::vector<trade> recent_trades() const;          // oldest first, last trade_ring_max
  [[nodiscard]] std::vector<epoch_stats> epochs() const;           // oldest first, last epoch_stats_max
  [[nodiscard]] std::vector<history_entry> history(account_ref account) const;  // oldest first
  [[nodiscard]] std::vector<order_info> orders_of(account_ref account) const;   // ascending id
  [[nodiscard]] bool find(order_id id, order_info& out) const;
  [[nodiscard]] uint32_t order_count(account_ref account) const noexcept {
    return account < accounts_.size() ? accounts_[account].order_count : 0;
  }
  [[nodiscard]] uint32_t resting_orders() const noexcept { return resting_count_; }
  [[nodiscard]] uint32_t parked_orders() const noexcept { return parked_count_; }
  [[nodiscard]] const market_params& params() const noexcept { return params_; }
  [[nodiscard]] uint64_t current_epoch() const noexcept { return epoch_; }
  // The id the next new (or renumbered) order will get.
  [[nodiscard]] order_id next_order_id() const noexcept { return next_order_id_; }
  // The id the next trade will get: trades with ids in [a, next_trade_id()) happened since a
  // caller saw `a` (the node's event stream and metrics read them from recent_trades()).
  [[nodiscard]] trade_id next_trade_id() const noexcept { return next_trade_id_; }
  // Gives this book's tables at least `other`'s capacities, so that copy-assigning `other` - or a
  // later, grown state of it - into this book reuses this book's memory: std::vector's assignment
  // reallocates to exactly the new size whenever that exceeds the capacity, so a copy kept and
  // re-assigned as the original grows (the apply actor's shadow at each durable point) would get
  // a fresh, page-faulting table at every growth. No observable effect on the book.
  void reserve_like(const order_book& other);
  // For such a copy, while nothing reads it (the apply actor's shadow, on the durable writer's
  // thread once its image is encoded): every table more than 3/4 full gets room for twice its
  // capacity (the original's next doubling), and all spare room is made resident (written once).
  // The next reserve_like + assignment then neither reallocates nor page-faults on the apply
  // thread unless the original more than doubled meanwhile. Costs memory: the copy's tables up to
  // twice the original's capacities. No observable effect on the book.
  void reserve_ahead();
  // Bytes held by the book structures (pool, levels, indexes), excluding market-data rings.
  [[nodiscard]] std::size_t book_memory_bytes() const noexcept;
  [[nodiscard]] std::size_t market_data_memory_bytes() const noexcept;

  // --- state ---
  // Canonical encoding of the whole state (params, orders in slot order, queues, market data).
  // The pool layout is part of the state (the market root commits to it per slot), so
  // deserialize(serialize()) restores the same slots and behaves identically in the future.
  [[nodiscard]] std::vector<uint8_t> serialize() const;
  // The same bytes appended to `out` (the ledger's snapshot writes the book in place).
  void serialize_into(std::vector<uint8_t>& out) const;
  // An upper bound of serialize()'s size (exact but for < 256 bytes of header): O(accounts).
  [[nodiscard]] std::size_t serialized_bytes_bound() const;
  // Untrusted bytes (a snapshot from the network or a file). The encoded params must equal
  // `params` (the owner's, fixed in code), every account reference must be below `accounts_count`
  // (the owner's live accounts, <= params.accounts_max), and everything is checked before use;
  // allocation is bounded by the input size and accounts_count, never by a number read from it.
  static result<order_book> deserialize(std::span<const uint8_t> bytes, const market_params& params,
                                        account_ref accounts_count);
  // Tests and tools: params taken from the bytes, accepted only when valid and no larger than the
  // defaults in any memory bound; account references below standalone_snapshot_accounts_max.
  static result<order_book> deserialize(std::span<const uint8_t> bytes);
  // 64-bit FNV-1a fingerprint of serialize(): for tests and quick comparisons. The ledger's state
  // root should hash serialize() with SHA-256 (crypto/), not use this value.
  [[nodiscard]] uint64_t digest() const;

  // --- incremental commitment: the ledger's market root (ledger/market_state.cpp) -------------
  // Orders live in a dense pool of slots [0, order_slot_count()): a removal moves the last slot's
  // order into the hole. The layout is a function of the command history, is serialized, and is
  // restored exactly, so a Merkle tree with one leaf per slot is the same on every replica.
  [[nodiscard]] uint32_t order_slot_count() const noexcept { return static_cast<uint32_t>(orders_.size()); }
  // The per-account table (history rings): one leaf per entry; its size is serialized too.
  [[nodiscard]] uint32_t account_table_size() const noexcept { return static_cast<uint32_t>(accounts_.size()); }
  // Canonical leaf bytes: the order in a slot; an account's history ring (oldest first, empty if none).
  void order_leaf_bytes(uint32_t slot, std::vector<uint8_t>& out) const;
  void account_leaf_bytes(account_ref a, std::vector<uint8_t>& out) const;
  // Everything else of the book that is small: params, next ids, epoch, the re-examination queue,
  // the pool and table sizes.
  void header_bytes(std::vector<uint8_t>& out) const;
  // Market-data rings (bounded by params): i = 0 is the oldest kept entry.
  [[nodiscard]] uint32_t trade_ring_size() const noexcept { return trades_.size(); }
  [[nodiscard]] const trade& trade_ring_at(uint32_t i) const { return trades_.at(i); }
  [[nodiscard]] uint32_t epoch_ring_size() const noexcept { return epoch_stats_.size(); }
  [[nodiscard]] const epoch_stats& epoch_ring_at(uint32_t i) const { return epoch_stats_.at(i); }
  static void trade_leaf_bytes(const trade& t, std::vector<uint8_t>& out);
  static void epoch_leaf_bytes(const epoch_stats& e, std::vector<uint8_t>& out);
  // Slots and accounts whose leaf may have changed since the last call (a slot may be beyond
  // order_slot_count(): removed). The lists are moved out and the book's flags cleared.
  struct changes {
    std::vector<uint32_t> slots;
    std::vector<account_ref> accounts;
  };
  void take_changes(changes& out);

  // Structural invariants (lists, levels, counts, indexes). Empty string when all hold.
  // With a view and no pending work it also checks "no executable crossing pair" (O(n²): tests).
  [[nodiscard]] std::string check_invariants(const balance_view* view = nullptr) const;

 private:
  // Accounts with a history ring and their entries in all (serialize_into, serialized_bytes_bound).
  struct history_totals {
    uint32_t accounts = 0;
    std::size_t entries = 0;
  };
  [[nodiscard]] history_totals count_history() const;
  [[nodiscard]] std::size_t serialized_bytes_bound(const history_totals& h) const;
  static constexpr uint32_t npos = UINT32_MAX;

  // One cache line per order: matching and cancels touch one line, not two.
  struct alignas(64) order_slot {
    order_id id = 0;            // 0 = free slot; also the time priority (smaller = older)
    int64_t price = 0;
    int64_t remaining_wh = 0;
    int64_t filled_wh = 0;
    account_ref owner = 0;
    uint32_t level = npos;      // active level slot; npos while parked
    uint32_t prev = npos;       // level FIFO (id order)
    uint32_t next = npos;       // level FIFO; also the free-list link
    uint32_t account_prev = npos;
    uint32_t account_next = npos;
    side order_side = side::buy;
    order_kind kind = order_kind::limit;
    bool parked = false;
  };
  static_assert(sizeof(order_slot) == 64, "order_slot is one cache line");
  struct level {
    int64_t price = 0;
    int64_t open_wh = 0;
    uint32_t head = npos;
    uint32_t tail = npos;
    uint32_t count = 0;
    uint32_t next_free = npos;
  };
  // Sorted worst → best so that the best level is back(): key = price for bids, −price for asks.
  struct level_ref {
    int64_t key = 0;
    uint32_t level = 0;
  };
  struct parked_level {
    int64_t key = 0;
    int64_t open_wh = 0;
    uint32_t count = 0;
  };
  struct account_state {
    uint32_t head = npos;  // this account's orders, ascending id
    uint32_t tail = npos;
    uint32_t order_count = 0;
    uint32_t parked[2] = {0, 0};  // parked orders per side
    uint32_t history = npos;      // slot in history_entries_ (account_history_max entries each)
    uint32_t history_next = 0;    // ring position of the next write
    uint32_t history_size = 0;    // entries kept (<= account_history_max)
    bool dirty = false;           // queued in dirty_
    bool changed = false;         // listed in changed_accounts_ (history changed)
  };

  // commands' shared parts
  void enter_epoch(uint64_t epoch);  // after validation: the call will apply
  void end_call();
  placement fate_of(order_id id, int64_t open_wh, int64_t filled_before_wh, bool rests);
  void run_matching(balance_view& view);
  uint32_t new_order(const order_request& request);
  void insert_active(uint32_t o, bool append);
  void unlink_active(uint32_t o);
  void park(uint32_t o);
  void unpark(uint32_t o);
  void unpark_side(account_ref account, side s, const balance_view& view);
  void remove_order(uint32_t o);  // from the book entirely (active or parked); the last slot moves into o
  void move_slot(uint32_t from, uint32_t to);
  void touch(uint32_t o);
  template <class byte_writer_type>
  static void put_order(byte_writer_type& w, const order_slot& s);  // order_book_state.cpp only
  void touch_account(account_ref a);
  void renumber(uint32_t o);      // detached order loses priority: takes the next id
  // Cache hints only (no semantic effect): start the independent memory loads of a command together.
  void prefetch_neighbours(uint32_t o) const noexcept;
  void prefetch_account(account_ref a) const noexcept;
  // Executes one trade, or returns false having changed nothing when a counter could not take it.
  [[nodiscard]] bool execute(uint32_t bid, uint32_t ask, int64_t quantity_wh, balance_view& view);
  [[nodiscard]] bool trade_fits(const trade& t, const order_slot& bid, const order_slot& ask, const balance_view& view) const;
  // Wh the bid's owner can buy at `price` (its TSL / price, its room below Bmax): SPEC §4 funds a
  // bid at the price it would actually trade at, the older order's price (trade_price).
  [[nodiscard]] static int64_t bid_capacity_wh(const order_slot& o, int64_t price, const balance_view& view);
  [[nodiscard]] static int64_t trade_price(const order_slot& bid, const order_slot& ask) noexcept {
    return bid.id < ask.id ? bid.price : ask.price;
  }
  // The cheapest active ask older than bid `b` priced at most `tsl_units` (so that b's owner can pay
  // 1 Wh at its price), or npos. Used when b cannot pay its own price against a younger best ask.
  [[nodiscard]] uint32_t older_affordable_ask(uint32_t b, int64_t tsl_units) const;
  // Parks bid b and indexes it for wake_bids_for (its owner may afford an older ask funded later).
  void park_bid(uint32_t b);
  // Ask x became funded again: parked bids younger than x, priced at or above it, whose owners can
  // pay x's price (the trade price, x being older) return to the active book.
  void wake_bids_for(uint32_t x, const balance_view& view);
  void wake_index_insert(const order_slot& s);
  void wake_index_erase(const order_slot& s);
  void ensure_wake_index();
  account_state& account(account_ref a);
  void record(account_ref a, const history_entry& e);
  [[nodiscard]] const history_entry& history_at(const account_state& a, uint32_t i) const;  // i = 0 oldest
  void record_epoch_trade(const trade& t);

  uint32_t find_or_add_level(side s, int64_t price);
  void drop_level(side s, uint32_t level_slot);
  void parked_add(side s, int64_t price, int64_t wh);
  void parked_sub(side s, int64_t price, int64_t wh, uint32_t orders);
  [[nodiscard]] static int64_t key_of(side s, int64_t price) noexcept { return s == side::buy ? price : -price; }
  [[nodiscard]] order_info info_of(const order_slot& o) const;

  market_params params_;
  std::vector<order_slot> orders_;
  // Change tracking for the ledger's incremental market root (take_changes): slots and accounts
  // whose committed content changed since the last take. Derived, never serialized.
  std::vector<uint8_t> slot_changed_;   // parallel to orders_
  std::vector<uint32_t> changed_slots_;
  std::vector<account_ref> changed_accounts_;
  std::vector<level> levels_;
  uint32_t free_level_ = npos;
  std::vector<level_ref> active_[2];    // by side
  std::vector<parked_level> parked_[2];  // by side: aggregate of parked orders per price
  detail::id_index ids_;
  std::vector<account_state> accounts_;
  std::vector<account_ref> dirty_;       // FIFO of accounts whose parked orders must be re-examined
  // Parked bids by (price, id), derived from the orders (never serialized): the bids an ask that
  // becomes funded again may wake (wake_bids_for). Built lazily after construction/deserialize;
  // entries whose owner had no TSL or no room when walked are dropped until the owner's balance
  // rises (which re-examines them through unpark_side), so the walk skips them.
  std::set<std::pair<int64_t, order_id>> wake_index_;
  bool wake_index_built_ = false;
  uint32_t resting_count_ = 0;           // GTC orders in the book (IOC/market excluded)
  uint32_t parked_count_ = 0;

  order_id next_order_id_ = 1;
  trade_id next_trade_id_ = 1;
  uint64_t epoch_ = 0;

  std::vector<trade> call_trades_;  // trades of the current call (reused buffer)
  detail::ring<trade> trades_;
  detail::ring<epoch_stats> epoch_stats_;
  // Per-account history rings stored flat (one cache line fetch per record, no per-account vector).
  std::vector<history_entry> history_entries_;
};

}  // namespace energo::market
