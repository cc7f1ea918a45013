#include "actors/analytics.hpp"

#include <algorithm>

#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"

namespace energo::actors {

namespace {

int64_t sat_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

constexpr uint32_t index_magic = 0x45414931;  // "EAI1"
constexpr uint8_t index_version = 2;  // 2: + account history (1 still decodes, history empty)
constexpr std::size_t event_bytes = 8 * 7 + 4 + 4 + 1;
constexpr std::size_t figures_fields = 16;
constexpr std::size_t record_bytes = 4 + figures_fields * 8;

}  // namespace

void member_figures::add(const member_figures& x) {
  fields([&](const char*, int64_t member_figures::*m) { this->*m = sat_add(this->*m, x.*m); });
}

analytics_index analytics_index::starting_at(const ledger::ledger& l) {
  analytics_index ix;
  const auto& s = l.sums();
  ix.from_genesis_ = s.watt_minted_wh == 0 && s.watt_burned_wh == 0 && s.grid_export_wh == 0 && s.grid_import_wh == 0 &&
                     s.fees_collected_units == 0 && s.grants_paid_units == 0 && s.market_trades == 0;
  const auto n = std::min<std::size_t>(l.accounts().size(), limits::analytics_accounts_max);
  ix.seen_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& a = l.accounts()[i];
    ix.seen_[i] = {a.minted_wh, a.burned_wh, a.grid_export_wh, a.grid_import_wh, a.fees_paid_units};
  }
  return ix;
}

void analytics_index::book(uint64_t day, uint64_t epoch, ledger::account_index a, const member_figures& x) {
  if (a >= limits::analytics_accounts_max || x.empty()) return;
  auto& d = days_[day];
  auto [it, fresh] = d.try_emplace(a);
  records_ += fresh ? 1 : 0;
  it->second.add(x);
  auto& e = epochs_[epoch];
  auto [jt, fresh_e] = e.try_emplace(a);
  records_ += fresh_e ? 1 : 0;
  jt->second.add(x);
}

std::string_view history_kind_text(history_kind k) {
  switch (k) {
    case history_kind::minted: return "minted";
    case history_kind::grid_export: return "grid_export";
    case history_kind::burned: return "burned";
    case history_kind::grid_import: return "grid_import";
    case history_kind::fee_paid: return "fee_paid";
    case history_kind::fee_earned: return "fee_earned";
    case history_kind::grant: return "grant";
    case history_kind::bought: return "bought";
    case history_kind::sold: return "sold";
    case history_kind::ev_charge: return "ev_charge";
    case history_kind::station_fee: return "station_fee";
    case history_kind::transfer_out: return "transfer_out";
    case history_kind::transfer_in: return "transfer_in";
  }
  return "?";
}

void analytics_index::record(history_kind k, uint64_t epoch, int64_t time_ms, uint64_t log_index, ledger::account_index a,
                             uint32_t counterparty, int64_t wh, int64_t units, uint64_t ref) {
  if (a >= limits::analytics_accounts_max || (wh == 0 && units == 0)) return;
  if (counterparty >= limits::analytics_accounts_max) counterparty = history_event::no_account;
  history_.push_back(history_event{history_next_seq_++, log_index, epoch, time_ms, a, counterparty, k, wh, units, ref});
  while (history_.size() > limits::history_events_max) {
    history_.pop_front();
    ++history_dropped_;
  }
}

void analytics_index::observe(const ledger::ledger& l, int64_t time_before_ms, uint64_t epoch_before, uint64_t log_index,
                              const ledger::command* cmd) {
  const auto& j = l.journal();
  auto ev = [&](history_kind k, ledger::account_index a, uint32_t other, int64_t wh, int64_t units, uint64_t ref = 0) {
    record(k, epoch_before, time_before_ms, log_index, a, other, wh, units, ref);
  };
  constexpr uint32_t none = history_event::no_account;
  const uint64_t day = time_before_ms < 0 ? 0 : static_cast<uint64_t>(time_before_ms / limits::ms_per_day);
  bool untracked = false;
  // Lifetime counters of every touched account: book their change since last seen.
  std::vector<ledger::account_index> touched(j.accounts.begin(), j.accounts.end());
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const auto i : touched) {
    if (i >= limits::analytics_accounts_max || i >= l.accounts().size()) {
      untracked = true;
      continue;
    }
    if (seen_.size() <= i) seen_.resize(i + 1);  // new accounts start with zero counters
    const auto& a = l.accounts()[i];
    seen_counters now{a.minted_wh, a.burned_wh, a.grid_export_wh, a.grid_import_wh, a.fees_paid_units};
    auto& was = seen_[i];
    if (now == was) continue;
    member_figures x;
    x.stored_wh = now.minted_wh - was.minted_wh;
    x.grid_export_wh = now.grid_export_wh - was.grid_export_wh;
    x.produced_wh = sat_add(x.stored_wh, x.grid_export_wh);
    x.community_wh = now.burned_wh - was.burned_wh;
    x.grid_import_wh = now.grid_import_wh - was.grid_import_wh;
    x.consumed_wh = sat_add(x.community_wh, x.grid_import_wh);
    x.fees_paid_units = now.fees_paid_units - was.fees_paid_units;
    was = now;
    book(day, epoch_before, i, x);
    ev(history_kind::minted, i, none, x.stored_wh, 0);
    ev(history_kind::grid_export, i, none, x.grid_export_wh, 0);
    ev(history_kind::burned, i, none, x.community_wh, 0);
    ev(history_kind::grid_import, i, none, x.grid_import_wh, 0);
    ev(history_kind::fee_paid, i, none, 0, x.fees_paid_units);
  }
  // Transfers change no lifetime counter: they are read from the command, once it applied.
  if (cmd) {
    if (const auto* t = std::get_if<ledger::transfer>(&cmd->body)) {
      const auto from = l.account_index_of(crypto::hash160_of(t->from_key.bytes));
      const auto to = l.account_index_of(t->to);
      if (from && to) {
        const int64_t wh = t->what == ledger::asset::watt ? t->amount : 0;
        const int64_t units = t->what == ledger::asset::tsl ? t->amount : 0;
        ev(history_kind::transfer_out, *from, static_cast<uint32_t>(*to), wh, units);
        ev(history_kind::transfer_in, *to, static_cast<uint32_t>(*from), wh, units);
      }
    }
  }
  for (const auto& t : j.trades) {
    member_figures b, s;
    b.bought_wh = t.quantity_wh;
    b.bought_units = t.notional_units;
    s.sold_wh = t.quantity_wh;
    s.sold_units = t.notional_units;
    book(day, epoch_before, t.buyer, b);
    book(day, epoch_before, t.seller, s);
    ev(history_kind::bought, t.buyer, t.seller, t.quantity_wh, t.notional_units, t.id);
    ev(history_kind::sold, t.seller, t.buyer, t.quantity_wh, t.notional_units, t.id);
  }
  for (const auto& p : j.owner_fees) {
    member_figures x;
    x.fees_earned_units = p.units;
    book(day, epoch_before, p.account, x);
    ev(history_kind::fee_earned, p.account, none, 0, p.units);
  }
  for (const auto& p : j.grants) {
    member_figures x;
    x.grants_units = p.units;
    book(day, epoch_before, p.account, x);
    ev(history_kind::grant, p.account, none, 0, p.units);
  }
  for (const auto& c : j.ev_charges) {
    member_figures v, st;
    v.ev_energy_wh = c.energy_wh;
    v.ev_charges_units = sat_add(c.energy_units, c.fee_units);
    st.station_fees_units = c.fee_units;
    book(day, epoch_before, c.vehicle, v);
    book(day, epoch_before, c.station_account, st);
    // The energy itself is paid through the book (a `bought` trade); this event is the fee.
    ev(history_kind::ev_charge, c.vehicle, c.station_account, c.energy_wh, c.fee_units);
    ev(history_kind::station_fee, c.station_account, c.vehicle, 0, c.fee_units);
  }
  untracked_ += untracked ? 1 : 0;
  evict();
}

void analytics_index::evict() {
  auto drop_front = [&](period_map& m) {
    records_ -= m.begin()->second.size();
    m.erase(m.begin());
  };
  while (!epochs_.empty() && epochs_.size() > limits::analytics_epochs_kept) drop_front(epochs_);
  while (!days_.empty() && (days_.size() > limits::analytics_days_kept ||
                            (records_ > limits::analytics_records_max && days_.size() > 1))) {
    first_day_dropped_ = days_.begin()->first + 1;
    drop_front(days_);
  }
}

// ---- Bytes ----------------------------------------------------------------------------------
// u32 magic, u8 version, u8 from_genesis, u64 first_day_dropped, u64 untracked,
// u32 n_seen, n_seen × 5 i64,
// 2 × (u32 n_periods, n × (u64 period, u32 n_records, n × (u32 account, 16 i64))): days then epochs.

std::string analytics_index::encode() const {
  ledger::byte_writer w;
  w.put_u32(index_magic);
  w.put_u8(index_version);
  w.put_u8(from_genesis_ ? 1 : 0);
  w.put_u64(first_day_dropped_);
  w.put_u64(untracked_);
  w.put_u32(static_cast<uint32_t>(seen_.size()));
  for (const auto& s : seen_) {
    for (int64_t v : {s.minted_wh, s.burned_wh, s.grid_export_wh, s.grid_import_wh, s.fees_paid_units}) w.put_i64(v);
  }
  for (const auto* m : {&days_, &epochs_}) {
    w.put_u32(static_cast<uint32_t>(m->size()));
    for (const auto& [period, records] : *m) {
      w.put_u64(period);
      w.put_u32(static_cast<uint32_t>(records.size()));
      for (const auto& [account, f] : records) {
        w.put_u32(account);
        member_figures::fields([&](const char*, int64_t member_figures::*p) { w.put_i64(f.*p); });
      }
    }
  }
  w.put_u8(history_baseline_ ? 1 : 0);
  w.put_u64(history_next_seq_);
  w.put_u64(history_dropped_);
  w.put_u32(static_cast<uint32_t>(history_.size()));
  for (const auto& e : history_) {
    w.put_u64(e.seq);
    w.put_u64(e.log_index);
    w.put_u64(e.epoch);
    w.put_i64(e.time_ms);
    w.put_u32(e.account);
    w.put_u32(e.counterparty);
    w.put_u8(static_cast<uint8_t>(e.kind));
    w.put_i64(e.wh);
    w.put_i64(e.units);
    w.put_u64(e.ref);
  }
  const auto& b = w.bytes();
  return std::string(b.begin(), b.end());
}

std::optional<analytics_index> analytics_index::decode(std::string_view bytes) {
  ledger::byte_reader r({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  uint32_t magic = 0, n_seen = 0;
  uint8_t version = 0, genesis = 0;
  analytics_index ix;
  if (!r.get_u32(magic) || magic != index_magic || !r.get_u8(version) || version < 1 || version > index_version || !r.get_u8(genesis) ||
      genesis > 1 || !r.get_u64(ix.first_day_dropped_) || !r.get_u64(ix.untracked_) || !r.get_u32(n_seen))
    return std::nullopt;
  ix.from_genesis_ = genesis == 1;
  // Counts are checked against the limits and the bytes left before anything is allocated.
  if (n_seen > limits::analytics_accounts_max || n_seen > r.remaining() / 40) return std::nullopt;
  ix.seen_.resize(n_seen);
  for (auto& s : ix.seen_) {
    for (int64_t* v : {&s.minted_wh, &s.burned_wh, &s.grid_export_wh, &s.grid_import_wh, &s.fees_paid_units})
      if (!r.get_i64(*v) || *v < 0) return std::nullopt;
  }
  for (auto* m : {&ix.days_, &ix.epochs_}) {
    uint32_t n_periods = 0;
    const uint32_t kept = m == &ix.days_ ? limits::analytics_days_kept : limits::analytics_epochs_kept;
    if (!r.get_u32(n_periods) || n_periods > kept || n_periods > r.remaining() / 12) return std::nullopt;
    std::optional<uint64_t> previous;
    for (uint32_t k = 0; k < n_periods; ++k) {
      uint64_t period = 0;
      uint32_t n_records = 0;
      if (!r.get_u64(period) || (previous && period <= *previous) || !r.get_u32(n_records)) return std::nullopt;
      previous = period;
      if (n_records == 0 || n_records > limits::analytics_accounts_max || n_records > r.remaining() / record_bytes ||
          ix.records_ + n_records > limits::analytics_records_max + limits::analytics_accounts_max)
        return std::nullopt;
      auto& records = (*m)[period];
      std::optional<uint32_t> previous_account;
      for (uint32_t i = 0; i < n_records; ++i) {
        uint32_t account = 0;
        if (!r.get_u32(account) || account >= limits::analytics_accounts_max ||
            (previous_account && account <= *previous_account))
          return std::nullopt;
        previous_account = account;
        member_figures f;
        bool ok = true;
        member_figures::fields([&](const char*, int64_t member_figures::*p) { ok = ok && r.get_i64(f.*p) && f.*p >= 0; });
        if (!ok || f.empty()) return std::nullopt;
        records.emplace_hint(records.end(), account, f);
      }
      ix.records_ += n_records;
    }
  }
  if (version == 1) {
    ix.history_baseline_ = true;  // events before this point were never recorded
    if (!r.at_end()) return std::nullopt;
    return ix;
  }
  uint8_t baseline = 0;
  uint32_t n_events = 0;
  if (!r.get_u8(baseline) || baseline > 1 || !r.get_u64(ix.history_next_seq_) || ix.history_next_seq_ == 0 ||
      !r.get_u64(ix.history_dropped_) || !r.get_u32(n_events) || n_events > limits::history_events_max ||
      n_events > r.remaining() / event_bytes)
    return std::nullopt;
  ix.history_baseline_ = baseline == 1;
  uint64_t previous_seq = 0;
  for (uint32_t i = 0; i < n_events; ++i) {
    history_event e;
    uint8_t kind = 0;
    if (!r.get_u64(e.seq) || !r.get_u64(e.log_index) || !r.get_u64(e.epoch) || !r.get_i64(e.time_ms) ||
        !r.get_u32(e.account) || !r.get_u32(e.counterparty) || !r.get_u8(kind) || !r.get_i64(e.wh) ||
        !r.get_i64(e.units) || !r.get_u64(e.ref))
      return std::nullopt;
    // Order, ranges and the non-empty rule, as record() writes them.
    if (e.seq <= previous_seq || e.seq >= ix.history_next_seq_ || kind < 1 || kind > history_kind_last ||
        e.account >= limits::analytics_accounts_max ||
        (e.counterparty != history_event::no_account && e.counterparty >= limits::analytics_accounts_max) || e.wh < 0 ||
        e.units < 0 || (e.wh == 0 && e.units == 0))
      return std::nullopt;
    previous_seq = e.seq;
    e.kind = static_cast<history_kind>(kind);
    ix.history_.push_back(e);
  }
  if (!r.at_end()) return std::nullopt;
  return ix;
}

// ---- Calendar (UTC) -------------------------------------------------------------------------

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

civil_date civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

namespace {
std::optional<unsigned> digits(std::string_view s) {
  unsigned v = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}
}  // namespace

std::optional<int64_t> parse_day(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  const auto y = digits(t.substr(0, 4)), m = digits(t.substr(5, 2)), d = digits(t.substr(8, 2));
  if (!y || !m || !d || *y < 1970 || *m < 1 || *m > 12 || *d < 1 || *d > 31) return std::nullopt;
  const int64_t n = days_from_civil(*y, *m, *d);
  const auto back = civil_from_days(n);
  if (back.month != *m || back.day != *d) return std::nullopt;  // 2026-02-30
  return n;
}

std::optional<std::pair<int64_t, int64_t>> parse_month(std::string_view t) {
  if (t.size() != 7 || t[4] != '-') return std::nullopt;
  const auto y = digits(t.substr(0, 4)), m = digits(t.substr(5, 2));
  if (!y || !m || *y < 1970 || *m < 1 || *m > 12) return std::nullopt;
  const int64_t first = days_from_civil(*y, *m, 1);
  const int64_t next = *m == 12 ? days_from_civil(*y + 1, 1, 1) : days_from_civil(*y, *m + 1, 1);
  return std::pair{first, next};
}

std::string day_text(int64_t day) {
  const auto c = civil_from_days(day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
  return buf;
}

}  // namespace energo::actors
