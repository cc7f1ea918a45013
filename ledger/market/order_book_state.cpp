// Serialization, digest and invariant checking of the order book. The encoding is logical
// (orders by id, rings oldest first), so it does not depend on pool or hash-table layout.
#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <utility>

#include "common/assert.hpp"
#include "common/be_bytes.hpp"
#include "ledger/market/order_book.hpp"

namespace energo::market {

namespace {

constexpr uint32_t snapshot_magic = 0x454D4B42;  // "EMKB"
// 2: orders in pool-slot order (the layout the market root commits to), the account table's size,
// trades contiguous up to the last trade id.
constexpr uint32_t snapshot_version = 2;

class writer {
 public:
  writer() = default;
  // Reuses `buffer`'s allocation (cleared): leaf encoders run once per changed leaf.
  explicit writer(std::vector<uint8_t>&& buffer) : out_(std::move(buffer)) { out_.clear(); }
  // Appends to what `buffer` holds (serialize_into: the book inside the ledger's snapshot).
  struct keep_contents_t {};
  static constexpr keep_contents_t keep_contents{};
  writer(std::vector<uint8_t>&& buffer, keep_contents_t) : out_(std::move(buffer)) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) { put_be<4>(v); }
  void u64(uint64_t v) { put_be<8>(v); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  // One capacity check and one copy per field, not one per byte.
  template <int bytes>
  void put_be(uint64_t v) {
    const auto b = be_bytes<bytes>(v);
    out_.insert(out_.end(), b.begin(), b.end());
  }
  std::vector<uint8_t> out_;
};

// Writes into storage sized beforehand (the leaf encoders, which know their size): no capacity
// check per byte. A history leaf is ~1.6 KB, encoded for every changed account at every root.
class span_writer {
 public:
  explicit span_writer(uint8_t* out) : p_(out) {}
  void u8(uint8_t v) { *p_++ = v; }
  void u32(uint32_t v) { put_be<4>(v); }
  void u64(uint64_t v) { put_be<8>(v); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  [[nodiscard]] const uint8_t* position() const { return p_; }

 private:
  // One byte swap and one store per field (the byte loop compiled to a shift and a store per byte:
  // ~12 k instructions per 1.6 KB history leaf, now ~2 k). Same bytes: big-endian.
  template <int bytes>
  void put_be(uint64_t v) {
    static_assert(bytes == 4 || bytes == 8);
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (bytes == 8) v = __builtin_bswap64(v);
      else v = __builtin_bswap32(static_cast<uint32_t>(v));
      std::memcpy(p_, &v, bytes);
    } else {
      for (int i = 0; i < bytes; ++i) p_[i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
    }
    p_ += bytes;
  }
  uint8_t* p_;
};

// Never reads past the end: a short read sets failed() and returns zeros.
class reader {
 public:
  explicit reader(std::span<const uint8_t> in) : in_(in) {}
  uint8_t u8() {
    if (!need(1)) return 0;
    return in_[pos_++];
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] bool at_end() const { return pos_ == in_.size(); }
  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }

 private:
  bool need(std::size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  std::span<const uint8_t> in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

constexpr std::size_t trade_record_bytes = 8 * 4 + 4 * 2 + 8 * 3;
void put_trade(writer& w, const trade& t) {
  w.u64(t.id);
  w.u64(t.epoch);
  w.u64(t.buy_order);
  w.u64(t.sell_order);
  w.u32(t.buyer);
  w.u32(t.seller);
  w.i64(t.price_units_per_wh);
  w.i64(t.quantity_wh);
  w.i64(t.notional_units);
}
trade get_trade(reader& r) {
  trade t;
  t.id = r.u64();
  t.epoch = r.u64();
  t.buy_order = r.u64();
  t.sell_order = r.u64();
  t.buyer = r.u32();
  t.seller = r.u32();
  t.price_units_per_wh = r.i64();
  t.quantity_wh = r.i64();
  t.notional_units = r.i64();
  return t;
}

constexpr std::size_t epoch_record_bytes = 8 * 5 + 16 + 8 * 4;
void put_epoch(writer& w, const epoch_stats& e) {
  w.u64(e.epoch);
  w.i64(e.buy_price_units_per_wh);
  w.i64(e.sell_price_units_per_wh);
  w.u64(e.trade_count);
  w.i64(e.volume_wh);
  const auto n = static_cast<uint128>(e.notional_units);
  w.u64(static_cast<uint64_t>(n >> 64));
  w.u64(static_cast<uint64_t>(n));
  w.i64(e.first_price_units_per_wh);
  w.i64(e.last_price_units_per_wh);
  w.i64(e.high_price_units_per_wh);
  w.i64(e.low_price_units_per_wh);
}
epoch_stats get_epoch(reader& r) {
  epoch_stats e;
  e.epoch = r.u64();
  e.buy_price_units_per_wh = r.i64();
  e.sell_price_units_per_wh = r.i64();
  e.trade_count = r.u64();
  e.volume_wh = r.i64();
  const uint64_t hi = r.u64();
  const uint64_t lo = r.u64();
  e.notional_units = static_cast<int128>((static_cast<uint128>(hi) << 64) | lo);
  e.first_price_units_per_wh = r.i64();
  e.last_price_units_per_wh = r.i64();
  e.high_price_units_per_wh = r.i64();
  e.low_price_units_per_wh = r.i64();
  return e;
}

constexpr std::size_t history_record_bytes = 8 + 8 + 8 + 8 + 8 + 8 + 1 + 1;
template <class writer_type>
void put_history(writer_type& w, const history_entry& h) {
  w.u64(h.epoch);
  w.u64(h.order);
  w.u64(h.trade);
  w.u64(h.previous_order);
  w.i64(h.price_units_per_wh);
  w.i64(h.quantity_wh);
  w.u8(static_cast<uint8_t>(h.kind));
  w.u8(static_cast<uint8_t>(h.order_side));
}
history_entry get_history(reader& r) {
  history_entry h;
  h.epoch = r.u64();
  h.order = r.u64();
  h.trade = r.u64();
  h.previous_order = r.u64();
  h.price_units_per_wh = r.i64();
  h.quantity_wh = r.i64();
  h.kind = static_cast<history_kind>(r.u8());
  h.order_side = static_cast<side>(r.u8());
  return h;
}

constexpr std::size_t order_record_bytes = 8 + 4 + 1 + 1 + 1 + 8 + 8 + 8;
// Counters that calls only add to (filled quantity, epoch volume and trade count): refused above
// this, which leaves 2^62 of headroom for the additions, so they cannot overflow after a restore.
constexpr int64_t counter_max = int64_t{1} << 62;

}  // namespace

template <class byte_writer_type>
void order_book::put_order(byte_writer_type& w, const order_slot& s) {
  w.u64(s.id);
  w.u32(s.owner);
  w.u8(static_cast<uint8_t>(s.order_side));
  w.u8(static_cast<uint8_t>(s.kind));
  w.u8(s.parked ? 1 : 0);
  w.i64(s.price);
  w.i64(s.remaining_wh);
  w.i64(s.filled_wh);
}

void order_book::order_leaf_bytes(uint32_t slot, std::vector<uint8_t>& out) const {
  writer w(std::move(out));
  put_order(w, orders_[slot]);
  out = w.take();
}

void order_book::account_leaf_bytes(account_ref a, std::vector<uint8_t>& out) const {
  const account_state& s = accounts_[a];
  out.resize(4 + static_cast<std::size_t>(s.history_size) * history_record_bytes);
  span_writer w(out.data());
  w.u32(s.history_size);
  if (s.history_size > 0) {
    // The ring walked in place, oldest first (history_at's order, without a call per entry).
    const uint32_t cap = params_.account_history_max;
    const history_entry* ring = history_entries_.data() + static_cast<std::size_t>(s.history) * cap;
    uint32_t pos = s.history_next + (cap - s.history_size);
    if (pos >= cap) pos -= cap;
    for (uint32_t i = 0; i < s.history_size; ++i) {
      put_history(w, ring[pos]);
      if (++pos == cap) pos = 0;
    }
  }
  ENERGO_ASSERT(w.position() == out.data() + out.size(), "history leaf size");
}

void order_book::header_bytes(std::vector<uint8_t>& out) const {
  writer w(std::move(out));
  w.u32(snapshot_magic);
  w.u32(snapshot_version);
  const market_params& p = params_;
  for (uint32_t v : {p.orders_per_account_max, p.book_orders_max, p.accounts_max, p.match_trades_per_call_max,
                     p.match_steps_per_call_max, p.trade_ring_max, p.epoch_stats_max, p.account_history_max,
                     p.depth_levels_max})
    w.u32(v);
  w.i64(p.quantity_wh_max);
  w.i64(p.price_min);
  w.i64(p.price_max);
  w.u64(next_order_id_);
  w.u64(next_trade_id_);
  w.u64(epoch_);
  w.u32(static_cast<uint32_t>(accounts_.size()));
  w.u32(static_cast<uint32_t>(orders_.size()));
  w.u32(static_cast<uint32_t>(dirty_.size()));
  for (const account_ref a : dirty_) w.u32(a);
  out = w.take();
}

void order_book::trade_leaf_bytes(const trade& t, std::vector<uint8_t>& out) {
  writer w(std::move(out));
  put_trade(w, t);
  out = w.take();
}

void order_book::epoch_leaf_bytes(const epoch_stats& e, std::vector<uint8_t>& out) {
  writer w(std::move(out));
  put_epoch(w, e);
  out = w.take();
}

order_book::history_totals order_book::count_history() const {
  history_totals t;
  for (const account_state& a : accounts_) {
    if (a.history_size > 0) ++t.accounts;
    t.entries += a.history_size;
  }
  return t;
}

std::size_t order_book::serialized_bytes_bound(const history_totals& h) const {
  // The exact size but for the fixed header (fewer than 256 bytes).
  return 256 + dirty_.size() * 4 + orders_.size() * order_record_bytes + trades_.size() * trade_record_bytes +
         epoch_stats_.size() * epoch_record_bytes + std::size_t{h.accounts} * 8 + h.entries * history_record_bytes;
}

std::size_t order_book::serialized_bytes_bound() const { return serialized_bytes_bound(count_history()); }

std::vector<uint8_t> order_book::serialize() const {
  std::vector<uint8_t> out;
  serialize_into(out);
  return out;
}

void order_book::serialize_into(std::vector<uint8_t>& out) const {
  const history_totals history = count_history();
  out.reserve(out.size() + serialized_bytes_bound(history));  // one allocation for a multi-megabyte image
  writer w(std::move(out), writer::keep_contents);
  w.u32(snapshot_magic);
  w.u32(snapshot_version);
  const market_params& p = params_;
  w.u32(p.orders_per_account_max);
  w.u32(p.book_orders_max);
  w.i64(p.quantity_wh_max);
  w.i64(p.price_min);
  w.i64(p.price_max);
  w.u32(p.accounts_max);
  w.u32(p.match_trades_per_call_max);
  w.u32(p.match_steps_per_call_max);
  w.u32(p.trade_ring_max);
  w.u32(p.epoch_stats_max);
  w.u32(p.account_history_max);
  w.u32(p.depth_levels_max);

  w.u64(next_order_id_);
  w.u64(next_trade_id_);
  w.u64(epoch_);

  w.u32(static_cast<uint32_t>(dirty_.size()));
  for (const account_ref a : dirty_) w.u32(a);

  w.u32(static_cast<uint32_t>(accounts_.size()));
  // The pool is dense and its layout is state (the market root has a leaf per slot): slot order.
  w.u32(static_cast<uint32_t>(orders_.size()));
  for (const order_slot& s : orders_) put_order(w, s);

  w.u32(trades_.size());
  for (uint32_t i = 0; i < trades_.size(); ++i) put_trade(w, trades_.at(i));
  w.u32(epoch_stats_.size());
  for (uint32_t i = 0; i < epoch_stats_.size(); ++i) put_epoch(w, epoch_stats_.at(i));

  w.u32(history.accounts);
  for (uint32_t a = 0; a < accounts_.size(); ++a) {
    const account_state& s = accounts_[a];
    if (s.history_size == 0) continue;
    w.u32(a);
    w.u32(s.history_size);
    for (uint32_t i = 0; i < s.history_size; ++i) put_history(w, history_at(s, i));
  }
  out = w.take();
}

namespace {

market_params read_params(reader& r) {
  market_params p;
  p.orders_per_account_max = r.u32();
  p.book_orders_max = r.u32();
  p.quantity_wh_max = r.i64();
  p.price_min = r.i64();
  p.price_max = r.i64();
  p.accounts_max = r.u32();
  p.match_trades_per_call_max = r.u32();
  p.match_steps_per_call_max = r.u32();
  p.trade_ring_max = r.u32();
  p.epoch_stats_max = r.u32();
  p.account_history_max = r.u32();
  p.depth_levels_max = r.u32();
  return p;
}

bool price_in_range(const market_params& p, int64_t price) { return price >= p.price_min && price <= p.price_max; }

}  // namespace

result<order_book> order_book::deserialize(std::span<const uint8_t> bytes) {
  reader r(bytes);
  if (r.u32() != snapshot_magic || r.u32() != snapshot_version) return unexpected{errc::malformed_snapshot};
  const market_params p = read_params(r);
  // The defaults are the ceiling of every bound that sizes memory, so bytes cannot ask for more.
  const market_params ceiling;
  if (r.failed() || !validate(p).has_value() || p.book_orders_max > ceiling.book_orders_max ||
      p.trade_ring_max > ceiling.trade_ring_max || p.epoch_stats_max > ceiling.epoch_stats_max ||
      p.account_history_max > ceiling.account_history_max || p.accounts_max > ceiling.accounts_max)
    return unexpected{errc::malformed_snapshot};
  return deserialize(bytes, p, std::min(p.accounts_max, standalone_snapshot_accounts_max));
}

// Every field is checked against `params` and `accounts_count` (the caller's, fixed in code)
// before it is used; no count read here sizes an allocation before the bytes it claims are known
// to be present. The structural invariants are re-checked on the finished book.
result<order_book> order_book::deserialize(std::span<const uint8_t> bytes, const market_params& params,
                                           account_ref accounts_count) {
  const auto bad = unexpected{errc::malformed_snapshot};
  if (!validate(params).has_value() || accounts_count > params.accounts_max) return unexpected{errc::invalid_params};
  reader r(bytes);
  if (r.u32() != snapshot_magic || r.u32() != snapshot_version) return bad;
  const market_params p = read_params(r);
  if (r.failed() || p != params) return bad;

  order_book b(p);
  b.next_order_id_ = r.u64();
  b.next_trade_id_ = r.u64();
  b.epoch_ = r.u64();
  if (r.failed() || b.next_order_id_ < 1 || b.next_order_id_ > order_id_max || b.next_trade_id_ < 1 ||
      b.next_trade_id_ > trade_id_max)
    return bad;

  const uint32_t dirty_count = r.u32();
  if (r.failed() || dirty_count > accounts_count || dirty_count > r.remaining() / 4) return bad;
  std::vector<account_ref> dirty(dirty_count);
  for (auto& a : dirty) {
    a = r.u32();
    if (a >= accounts_count) return bad;
  }

  const uint32_t table_size = r.u32();
  if (r.failed() || table_size > accounts_count) return bad;
  // At most book_orders_max resting orders, plus the one IOC/market order of a call in progress
  // (serialize is only called between calls, but the bound is what the pool can ever hold).
  const uint32_t order_count = r.u32();
  if (r.failed() || order_count > p.book_orders_max || order_count > r.remaining() / order_record_bytes) return bad;
  b.orders_.reserve(order_count);
  for (uint32_t i = 0; i < order_count; ++i) {
    order_slot s;
    s.id = r.u64();
    s.owner = r.u32();
    const uint8_t sd = r.u8();
    const uint8_t kind = r.u8();
    const uint8_t parked = r.u8();
    s.price = r.i64();
    s.remaining_wh = r.i64();
    s.filled_wh = r.i64();
    if (r.failed() || s.id == 0 || s.id >= b.next_order_id_ || s.owner >= accounts_count || sd > 1 ||
        kind != static_cast<uint8_t>(order_kind::limit) || parked > 1 || !price_in_range(p, s.price) ||
        s.remaining_wh < 1 || s.remaining_wh > p.quantity_wh_max || s.filled_wh < 0 || s.filled_wh > counter_max ||
        static_cast<int128>(s.price) * s.remaining_wh > INT64_MAX)
      return bad;
    s.order_side = static_cast<side>(sd);
    s.kind = order_kind::limit;
    s.parked = parked == 1;
    b.orders_.push_back(s);
  }
  // Link in id order (time priority): account lists ascend by id, level FIFOs too.
  std::vector<std::pair<order_id, uint32_t>> by_id;
  by_id.reserve(order_count);
  for (uint32_t o = 0; o < order_count; ++o) by_id.emplace_back(b.orders_[o].id, o);
  std::sort(by_id.begin(), by_id.end());
  for (uint32_t i = 1; i < by_id.size(); ++i)
    if (by_id[i].first == by_id[i - 1].first) return bad;  // an id twice
  b.slot_changed_.assign(order_count, 0);
  std::vector<uint32_t> active;
  for (const auto& [id, o] : by_id) {
    const order_slot s = b.orders_[o];
    const bool parked = s.parked;
    b.orders_[o].parked = false;
    if (b.account(s.owner).order_count >= p.orders_per_account_max) return bad;
    b.ids_.insert(s.id, o);
    account_state& a = b.accounts_[s.owner];
    b.orders_[o].account_prev = a.tail;
    if (a.tail != npos) b.orders_[a.tail].account_next = o;
    else a.head = o;
    a.tail = o;
    a.order_count += 1;
    b.resting_count_ += 1;
    if (parked) {
      b.orders_[o].parked = true;
      b.parked_add(s.order_side, s.price, s.remaining_wh);
      a.parked[static_cast<uint32_t>(s.order_side)] += 1;
      b.parked_count_ += 1;
    } else {
      active.push_back(o);
    }
  }
  // Ids ascend, so appending keeps every level FIFO in time priority.
  for (const uint32_t o : active) b.insert_active(o, true);

  for (const account_ref a : dirty) {
    account_state& s = b.account(a);
    if (s.dirty) return bad;  // duplicate
    s.dirty = true;
    b.dirty_.push_back(a);
  }

  const uint32_t trade_count = r.u32();
  if (r.failed() || trade_count > p.trade_ring_max || trade_count > r.remaining() / trade_record_bytes) return bad;
  trade_id last_trade = 0;
  for (uint32_t i = 0; i < trade_count; ++i) {
    const trade t = get_trade(r);
    // A trade is between two accounts (self-trade prevention), priced within the book's range, and
    // its notional is price × quantity exactly (the ledger moved exactly that much TSL).
    if (r.failed() || t.id <= last_trade || t.id >= b.next_trade_id_ || t.epoch > b.epoch_ || t.buyer >= accounts_count ||
        t.seller >= accounts_count || t.buyer == t.seller || t.buy_order == 0 || t.buy_order >= b.next_order_id_ ||
        t.sell_order == 0 || t.sell_order >= b.next_order_id_ || !price_in_range(p, t.price_units_per_wh) ||
        t.quantity_wh < 1 || t.quantity_wh > p.quantity_wh_max ||
        static_cast<int128>(t.price_units_per_wh) * t.quantity_wh != t.notional_units)
      return bad;
    // Every trade enters the ring, so it holds the last min(trade_ring_max, trades so far) trades
    // with consecutive ids (the market root places trade id t at ring leaf (t − 1) mod capacity).
    if (last_trade != 0 && t.id != last_trade + 1) return bad;
    last_trade = t.id;
    b.trades_.push(t);
  }
  if (trade_count != std::min<uint64_t>(p.trade_ring_max, b.next_trade_id_ - 1) ||
      (trade_count > 0 && last_trade != b.next_trade_id_ - 1))
    return bad;
  const uint32_t epoch_count = r.u32();
  if (r.failed() || epoch_count > p.epoch_stats_max || epoch_count > r.remaining() / epoch_record_bytes) return bad;
  for (uint32_t i = 0; i < epoch_count; ++i) {
    const epoch_stats e = get_epoch(r);
    if (r.failed() || (!b.epoch_stats_.empty() && e.epoch <= b.epoch_stats_.newest().epoch) || e.epoch > b.epoch_ ||
        e.volume_wh < 0 || e.volume_wh > counter_max || e.trade_count > static_cast<uint64_t>(counter_max) ||
        e.notional_units < 0)
      return bad;
    b.epoch_stats_.push(e);
  }
  const uint32_t history_accounts = r.u32();
  if (r.failed() || history_accounts > accounts_count || history_accounts > r.remaining() / 8) return bad;
  int64_t last_account = -1;
  for (uint32_t i = 0; i < history_accounts; ++i) {
    const uint32_t a = r.u32();
    const uint32_t n = r.u32();
    if (r.failed() || a >= accounts_count || static_cast<int64_t>(a) <= last_account || n == 0 ||
        n > p.account_history_max || n > r.remaining() / history_record_bytes)
      return bad;
    last_account = a;
    for (uint32_t j = 0; j < n; ++j) {
      const history_entry h = get_history(r);
      const auto kind = static_cast<uint8_t>(h.kind);
      if (r.failed() || kind < 1 || kind > 6 || static_cast<uint8_t>(h.order_side) > 1 || h.epoch > b.epoch_ ||
          h.order == 0 || h.order >= b.next_order_id_ || h.trade >= b.next_trade_id_ ||
          h.previous_order >= b.next_order_id_ || h.quantity_wh < 0)
        return bad;
      b.record(a, h);
    }
  }
  if (r.failed() || !r.at_end()) return bad;
  if (b.accounts_.size() > table_size) return bad;  // the table must hold every account it refers to
  b.accounts_.resize(table_size);
  if (!b.check_invariants().empty()) return bad;
  // Restored: the owner rebuilds its commitment from the whole book, nothing is pending.
  changes discard;
  b.take_changes(discard);
  return b;
}

uint64_t order_book::digest() const {
  const std::vector<uint8_t> bytes = serialize();
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const uint8_t c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string order_book::check_invariants(const balance_view* view) const {
  // Orders, ids and the free list.
  uint32_t live = 0;
  uint32_t parked = 0;
  for (uint32_t o = 0; o < orders_.size(); ++o) {
    const order_slot& s = orders_[o];
    if (s.id == 0) continue;
    ++live;
    if (ids_.find(s.id) != o) return "order id not indexed to its slot";
    if (s.id >= next_order_id_) return "order id from the future";
    if (s.remaining_wh <= 0) return "empty order left in the book";
    if (s.owner >= accounts_.size()) return "order owner without account state";
    if (s.parked) {
      ++parked;
      if (s.level != npos) return "parked order linked into a level";
    } else if (s.level == npos) {
      return "active order without a level";
    }
  }
  if (live != resting_count_ || live != ids_.size()) return "resting order count mismatch";
  if (parked != parked_count_) return "parked order count mismatch";
  if (live != orders_.size()) return "order pool not dense";
  if (slot_changed_.size() != orders_.size()) return "change flags out of step with the pool";

  // Accounts: their lists hold exactly their orders, ascending id.
  uint32_t listed = 0;
  uint32_t dirty_flags = 0;
  for (uint32_t a = 0; a < accounts_.size(); ++a) {
    const account_state& s = accounts_[a];
    uint32_t n = 0, pb = 0, ps = 0;
    order_id last = 0;
    uint32_t prev = npos;
    for (uint32_t o = s.head; o != npos; o = orders_[o].account_next) {
      const order_slot& os = orders_[o];
      if (os.owner != a || os.id <= last || os.account_prev != prev) return "account order list corrupt";
      last = os.id;
      prev = o;
      if (++n > live) return "account order list cycles";
      if (os.parked) (os.order_side == side::buy ? pb : ps) += 1;
    }
    if (prev != s.tail || n != s.order_count) return "account order count/tail mismatch";
    if (pb != s.parked[0] || ps != s.parked[1]) return "account parked count mismatch";
    listed += n;
    if (s.dirty) ++dirty_flags;
  }
  if (listed != live) return "orders missing from account lists";
  if (dirty_flags != dirty_.size()) return "dirty flags and queue disagree";
  for (const account_ref a : dirty_)
    if (a >= accounts_.size() || !accounts_[a].dirty) return "dirty queue holds an unflagged account";

  // Active levels: sorted worst → best, FIFO in id (time) order, aggregates exact.
  uint32_t active_orders = 0;
  for (uint32_t si = 0; si < 2; ++si) {
    const side sd = static_cast<side>(si);
    const auto& v = active_[si];
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0 && v[i - 1].key >= v[i].key) return "active levels not strictly sorted";
      const level& lv = levels_[v[i].level];
      if (key_of(sd, lv.price) != v[i].key) return "level price/key mismatch";
      int64_t open = 0;
      uint32_t n = 0;
      order_id last_id = 0;
      uint32_t prev = npos;
      for (uint32_t o = lv.head; o != npos; o = orders_[o].next) {
        const order_slot& s = orders_[o];
        if (s.id == 0 || s.parked || s.level != v[i].level || s.order_side != sd || s.price != lv.price)
          return "level holds a foreign order";
        if (s.id <= last_id || s.prev != prev) return "level FIFO not in time-priority (id) order";
        last_id = s.id;
        prev = o;
        open += s.remaining_wh;
        if (++n > live) return "level FIFO cycles";
      }
      if (prev != lv.tail || n != lv.count || n == 0 || open != lv.open_wh) return "level aggregates wrong";
      active_orders += n;
    }
    // Parked aggregates equal the parked orders.
    std::map<int64_t, std::pair<int64_t, uint32_t>> expect;
    for (const order_slot& s : orders_)
      if (s.id != 0 && s.parked && s.order_side == sd) {
        auto& e = expect[key_of(sd, s.price)];
        e.first += s.remaining_wh;
        e.second += 1;
      }
    if (expect.size() != parked_[si].size()) return "parked levels mismatch";
    std::size_t i = 0;
    for (const auto& [key, e] : expect) {
      const parked_level& pl = parked_[si][i++];
      if (pl.key != key || pl.open_wh != e.first || pl.count != e.second) return "parked level aggregates wrong";
    }
  }
  if (active_orders + parked != live) return "orders neither active nor parked";

  // SPEC §4: after matching, no executable crossing pair of different accounts.
  if (view != nullptr && !matching_pending()) {
    // A bid is executable against an ask when its owner can pay 1 Wh at the pair's trade price.
    std::vector<const order_slot*> bids, asks;
    for (const order_slot& s : orders_) {
      if (s.id == 0) continue;
      if (s.order_side == side::buy && view->bid_room_wh(s.owner, s.id) > 0) bids.push_back(&s);
      if (s.order_side == side::sell && view->watt_wh(s.owner) > 0) asks.push_back(&s);
    }
    for (const order_slot* b : bids)
      for (const order_slot* a : asks)
        if (b->price >= a->price && b->owner != a->owner && bid_capacity_wh(*b, trade_price(*b, *a), *view) > 0)
          return "executable crossing pair left after matching";
  }
  return {};
}

}  // namespace energo::market
