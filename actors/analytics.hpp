#pragma once
// The analytics index: per-member figures per 15-minute epoch and per (UTC, ledger-time) day —
// production, consumption, stored, bought, sold, grid import/export, fees paid and earned, EV
// charges, grants — for the `analytics` and `statement` queries (actors/query.hpp).
//
// The ledger keeps only current state and lifetime counters, so these figures are derived: after
// every applied command the apply actor calls observe(), which reads the ledger's apply journal
// (ledger::apply_journal: touched accounts, settled trades, fee shares, grants, EV charges) and
// books the change of each touched account's lifetime counters since it last saw them. That makes
// the index exact by construction: for an index kept since genesis, the sum of an account's
// figures over all retained days equals its lifetime counters (tests/node/analytics_test.cpp).
//
// Deterministic and pure (no clock, no I/O): every replica derives the same index from the same
// log. It is not in the state root. Bounded: the last analytics_days_kept days, the last
// analytics_epochs_kept epochs, accounts below analytics_accounts_max (others are counted in
// `untracked_commands` and never booked), at most analytics_records_max (day, account) records
// (the oldest days are dropped first). It is persisted with the apply actor's batch and travels in
// the node image, so a follower installing a snapshot has it; decode() treats its bytes as
// untrusted (every count bounded before allocation, order and ranges checked).
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.hpp"

namespace energo::actors {

namespace limits {
inline constexpr uint32_t analytics_days_kept = 400;
inline constexpr uint32_t analytics_epochs_kept = 96;        // one day of epochs
inline constexpr uint32_t analytics_accounts_max = 100'000;  // account indexes booked
inline constexpr std::size_t analytics_records_max = 2'000'000;  // (day or epoch, account) records
inline constexpr int64_t ms_per_day = 86'400'000;
// Account history (`account_history` query): one ring of events for every account together, the
// newest kept. ~65 bytes each encoded, so the ring adds at most ~2 MiB to the index and the image.
inline constexpr std::size_t history_events_max = 32'768;
inline constexpr uint32_t history_page_max = 500;  // events in one answer
}  // namespace limits

// What one event in an account's history is (SPEC §3-§5). wh and units are >= 0; the sign is in
// the kind. Together they reconcile with the account's balances and lifetime counters.
enum class history_kind : uint8_t {
  minted = 1,       // wh: a reading minted WATT (stored in the community)
  grid_export = 2,  // wh: exported, not minted
  burned = 3,       // wh: consumption served from WATT (EV included)
  grid_import = 4,  // wh: consumption beyond the WATT balance
  fee_paid = 5,     // units: storage fees paid (SPEC §3.5)
  fee_earned = 6,   // units: a storage owner's fee share
  grant = 7,        // units: the education grant
  bought = 8,       // wh, units: a trade as buyer; counterparty = seller, ref = trade id
  sold = 9,         // wh, units: a trade as seller; counterparty = buyer, ref = trade id
  ev_charge = 10,   // wh: energy delivered to the vehicle, units: the station's fee; counterparty = station account
  station_fee = 11, // units: earned as a charging station; counterparty = vehicle
  transfer_out = 12,  // units (TSL) or wh (WATT); counterparty = recipient
  transfer_in = 13,   // units (TSL) or wh (WATT); counterparty = sender
};
inline constexpr uint8_t history_kind_last = 13;
[[nodiscard]] std::string_view history_kind_text(history_kind k);

struct history_event {
  static constexpr uint32_t no_account = UINT32_MAX;
  uint64_t seq = 0;        // 1, 2, ... over the whole index since it started: the paging cursor
  uint64_t log_index = 0;  // the Raft entry that applied it (0: not known, e.g. in-process tests)
  uint64_t epoch = 0;
  int64_t time_ms = 0;     // ledger time when it applied
  uint32_t account = 0;
  uint32_t counterparty = no_account;
  history_kind kind = history_kind::minted;
  int64_t wh = 0;
  int64_t units = 0;
  uint64_t ref = 0;        // trade id; 0 when none
  bool operator==(const history_event&) const = default;
};

// One member's figures over one period. Energy in Wh, money in TSL base units; all ≥ 0.
struct member_figures {
  int64_t produced_wh = 0;        // exported by its meter: stored_wh + grid_export_wh
  int64_t stored_wh = 0;          // minted WATT (SPEC §3.2)
  int64_t grid_export_wh = 0;     // exported but not minted: to the national grid
  int64_t consumed_wh = 0;        // community_wh + grid_import_wh
  int64_t community_wh = 0;       // burned WATT: consumption served from community storage (EV included)
  int64_t grid_import_wh = 0;     // consumption beyond the WATT balance: residual grid energy
  int64_t bought_wh = 0;          // through the book (EV purchases included)
  int64_t bought_units = 0;
  int64_t sold_wh = 0;
  int64_t sold_units = 0;
  int64_t fees_paid_units = 0;    // storage fees (SPEC §3.5)
  int64_t fees_earned_units = 0;  // as a storage-unit owner (80% share)
  int64_t station_fees_units = 0; // earned as a charging station (SPEC §5)
  int64_t ev_energy_wh = 0;       // charged into its vehicle
  int64_t ev_charges_units = 0;   // paid for EV charging: energy + station fees
  int64_t grants_units = 0;       // education grant received
  bool operator==(const member_figures&) const = default;
  [[nodiscard]] bool empty() const { return *this == member_figures{}; }
  // Adds `x` field by field (saturating: figures are reports, never balances).
  void add(const member_figures& x);
  template <class F>
  static void fields(F&& f) {
    f("produced_wh", &member_figures::produced_wh);
    f("stored_wh", &member_figures::stored_wh);
    f("grid_export_wh", &member_figures::grid_export_wh);
    f("consumed_wh", &member_figures::consumed_wh);
    f("community_wh", &member_figures::community_wh);
    f("grid_import_wh", &member_figures::grid_import_wh);
    f("bought_wh", &member_figures::bought_wh);
    f("bought_units", &member_figures::bought_units);
    f("sold_wh", &member_figures::sold_wh);
    f("sold_units", &member_figures::sold_units);
    f("fees_paid_units", &member_figures::fees_paid_units);
    f("fees_earned_units", &member_figures::fees_earned_units);
    f("station_fees_units", &member_figures::station_fees_units);
    f("ev_energy_wh", &member_figures::ev_energy_wh);
    f("ev_charges_units", &member_figures::ev_charges_units);
    f("grants_units", &member_figures::grants_units);
  }
};

class analytics_index {
 public:
  using period_map = std::map<uint64_t, std::map<ledger::account_index, member_figures>>;

  // An index that starts at `l`'s state: complete (from genesis) when nothing has happened yet,
  // else a baseline (lifetime counters before it are not in any day).
  static analytics_index starting_at(const ledger::ledger& l);

  // Books what the last applied command did. `time_before_ms` / `epoch_before` are the ledger's
  // time and epoch before that command (a tick's fees belong to the epochs it closed).
  // `log_index` and `cmd` (the command just applied; null for leader ticks) feed the account
  // history: transfers are only visible in the command itself.
  void observe(const ledger::ledger& l, int64_t time_before_ms, uint64_t epoch_before, uint64_t log_index = 0,
               const ledger::command* cmd = nullptr);

  [[nodiscard]] const period_map& days() const { return days_; }
  [[nodiscard]] const period_map& epochs() const { return epochs_; }
  // True when the index holds every change since genesis and no day was dropped yet.
  [[nodiscard]] bool complete() const { return from_genesis_ && first_day_dropped_ == 0; }
  [[nodiscard]] bool from_genesis() const { return from_genesis_; }
  // Days before this one were dropped (retention); 0 if none.
  [[nodiscard]] uint64_t first_day_dropped() const { return first_day_dropped_; }
  [[nodiscard]] uint64_t untracked_commands() const { return untracked_; }
  // Account history: the ring, oldest first. Complete (every event of every tracked account since
  // genesis) while the index is from genesis, no event was dropped and it was never decoded from
  // a format without history.
  [[nodiscard]] const std::deque<history_event>& history() const { return history_; }
  [[nodiscard]] bool history_complete() const { return from_genesis_ && !history_baseline_ && history_dropped_ == 0; }
  [[nodiscard]] uint64_t history_dropped() const { return history_dropped_; }

  [[nodiscard]] std::string encode() const;
  [[nodiscard]] static std::optional<analytics_index> decode(std::string_view bytes);
  bool operator==(const analytics_index&) const = default;

 private:
  struct seen_counters {
    int64_t minted_wh = 0, burned_wh = 0, grid_export_wh = 0, grid_import_wh = 0, fees_paid_units = 0;
    bool operator==(const seen_counters&) const = default;
  };
  void book(uint64_t day, uint64_t epoch, ledger::account_index a, const member_figures& x);
  void evict();
  void record(history_kind k, uint64_t epoch, int64_t time_ms, uint64_t log_index, ledger::account_index a,
              uint32_t counterparty, int64_t wh, int64_t units, uint64_t ref);

  bool from_genesis_ = true;
  uint64_t first_day_dropped_ = 0;
  uint64_t untracked_ = 0;
  std::vector<seen_counters> seen_;  // by account index, < analytics_accounts_max
  period_map days_;
  period_map epochs_;
  std::size_t records_ = 0;  // entries over days_ and epochs_
  std::deque<history_event> history_;
  uint64_t history_next_seq_ = 1;
  uint64_t history_dropped_ = 0;   // events dropped from the front of the ring
  bool history_baseline_ = false;  // decoded from a v1 index: events before were never recorded
};

// Days since 1970-01-01 of a UTC date, and back (proleptic Gregorian; H. Hinnant's algorithm).
[[nodiscard]] int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
struct civil_date {
  int64_t year = 1970;
  unsigned month = 1, day = 1;
};
[[nodiscard]] civil_date civil_from_days(int64_t days);
// "YYYY-MM-DD" → day number; nullopt when malformed or not a real date.
[[nodiscard]] std::optional<int64_t> parse_day(std::string_view text);
// "YYYY-MM" → [first day, first day of next month).
[[nodiscard]] std::optional<std::pair<int64_t, int64_t>> parse_month(std::string_view text);
[[nodiscard]] std::string day_text(int64_t day);

}  // namespace energo::actors
