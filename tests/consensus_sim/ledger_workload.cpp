#include "tests/consensus_sim/ledger_workload.hpp"

#include <unordered_map>

#include "common/assert.hpp"
#include "crypto/hash.hpp"

namespace energo::sim {
namespace {

using namespace energo::ledger;

constexpr uint32_t members = 8;          // account keys 0..7 (all hold TSL at genesis)
constexpr uint32_t admins_count = 2;
constexpr uint32_t stations_count = 2;
constexpr uint32_t units_count = 2;
constexpr uint32_t education_grantee = 8;  // an account key with no genesis allocation
// Process-wide caches (one thread): bounded, cleared when full.
constexpr size_t signed_cache_entries_max = 200'000;
constexpr size_t verified_cache_entries_max = 400'000;

std::array<uint8_t, 32> seed_for(uint8_t tag, uint32_t n) {
  std::array<uint8_t, 32> seed{};
  seed[0] = tag;
  seed[30] = static_cast<uint8_t>(n >> 8);
  seed[31] = static_cast<uint8_t>(n + 1);  // never all-zero
  return seed;
}

ledger_world make_world() {
  ledger_world w;
  for (uint32_t n = 0; n <= education_grantee; ++n) {
    auto key = crypto::secp256k1_secret_key::from_bytes(seed_for(0x5e, n));
    ENERGO_ASSERT(key.has_value(), "simulator secret must be a valid scalar");
    w.account_secrets.push_back(*key);
    w.account_publics.push_back(key->public_key());
    w.account_addresses.push_back(crypto::hash160_of(w.account_publics.back().bytes));
  }
  for (uint32_t n = 0; n < admins_count; ++n) w.admins.push_back(crypto::ed25519_keypair::from_seed(seed_for(0xad, n)));
  for (uint32_t n = 0; n < members; ++n) w.meters.push_back(crypto::ed25519_keypair::from_seed(seed_for(0x3e, n)));
  for (uint32_t n = 0; n < stations_count; ++n) w.stations.push_back(crypto::ed25519_keypair::from_seed(seed_for(0x57, n)));
  for (uint32_t n = 0; n < units_count; ++n) w.units.push_back(crypto::ed25519_keypair::from_seed(seed_for(0xc3, n)));
  w.t0_ms = 1'700'000'000'000;
  genesis& g = w.gen;
  g.community_id = "sim-dae";
  g.network = crypto::network::regtest;
  g.genesis_time_ms = w.t0_ms;
  // Bmax = 2000 Wh (Cu $300, P $200/kWh): readings of a few hundred Wh reach it quickly.
  g.params.fee_units_per_kwh_epoch = 5;
  g.params.storage_cost_per_user_cents = 30'000;
  g.params.battery_price_cents_per_kwh = 20'000;
  g.params.grant_units = 1000;
  for (const auto& a : w.admins) g.admins.push_back(a.public_key());
  // Small balances for some members so that funding limits, fee debt and stopped EV sessions
  // happen; the rest of the supply sits with member 7 and the education pool.
  const int64_t small[members - 1] = {10'000'000, 10'000'000, 5, 1'000, 1'000'000, 50'000, 200};
  int64_t rest = tsl_supply_units - 1'000'000'000;
  for (uint32_t n = 0; n + 1 < members; ++n) {
    g.allocations.push_back({w.account_addresses[n], small[n]});
    rest -= small[n];
  }
  g.allocations.push_back({w.account_addresses[members - 1], rest});
  g.allocations.push_back({education_pool_address(), 1'000'000'000});
  w.genesis_hash = g.hash();
  auto created = ledger::ledger::create(g);
  ENERGO_ASSERT(created.has_value(), "simulator genesis must be valid");
  w.initial.emplace(std::move(*created));
  return w;
}

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// Signed commands by body (the encoding with a zero signature names the body exactly).
std::unordered_map<std::string, signature_bytes>& signed_cache() {
  static std::unordered_map<std::string, signature_bytes> cache;
  return cache;
}
// verify() result by the command's full encoding.
std::unordered_map<std::string, bool>& verified_cache() {
  static std::unordered_map<std::string, bool> cache;
  return cache;
}

template <class Sign>
command cached_sign(command_body body, Sign&& sign) {
  command unsigned_cmd{body, {}};
  std::string key = as_string(encode(unsigned_cmd));
  auto& cache = signed_cache();
  if (auto it = cache.find(key); it != cache.end()) return command{std::move(body), it->second};
  command c = sign(std::move(body));
  if (cache.size() >= signed_cache_entries_max) cache.clear();
  cache.emplace(std::move(key), c.signature);
  return c;
}

}  // namespace

const ledger_world& world() {
  static const ledger_world w = make_world();
  return w;
}

std::string encode_ledger_entry(const command& cmd) {
  std::string out(1, ledger_entry_tag);
  const auto bytes = encode(cmd);
  out.append(bytes.begin(), bytes.end());
  return out;
}

// --- the workload -----------------------------------------------------------------------------------

ledger_workload::ledger_workload(uint64_t seed)
    : rng_(seed ^ 0x6c6564676572ULL),
      nonce_(education_grantee + 1, 0),
      meter_seq_(members, 0),
      meter_export_(members, 0),
      meter_import_(members, 0),
      station_seq_(stations_count, 0),
      station_delivered_(stations_count, 0),
      unit_nonce_(units_count, 0) {}

command ledger_workload::sign_account(uint32_t n, command_body body) {
  const auto& w = world();
  return cached_sign(std::move(body), [&](command_body b) { return sign_secp256k1(std::move(b), w.account_secrets[n], w.genesis_hash); });
}
command ledger_workload::sign_ed(const crypto::ed25519_keypair& key, command_body body) {
  const auto& w = world();
  return cached_sign(std::move(body), [&](command_body b) { return sign_ed25519(std::move(b), key, w.genesis_hash); });
}

command ledger_workload::next(int64_t ledger_time_ms) {
  const auto& w = world();
  ++stats_.generated;
  const uint64_t i = commands_++;
  // The first commands register the meters, stations and storage units (retried later at random:
  // a registration may be lost with a leader change; a repeated one is refused).
  uint64_t kind = 0;
  if (i < members + stations_count + units_count) {
    kind = 100 + i;
  } else {
    kind = rng_.below(100);
  }
  auto admin = [&](uint32_t a) { return admin_auth{w.admins[a].public_key(), ++admin_nonce_[a]}; };
  auto member = [&]() { return static_cast<uint32_t>(rng_.below(members)); };
  auto account_nonce = [&](uint32_t n) {
    // Mostly the next nonce, sometimes a gap (allowed), rarely a repeat (refused as stale).
    if (nonce_[n] > 0 && rng_.chance(30'000)) return nonce_[n];
    nonce_[n] += rng_.chance(50'000) ? 2 : 1;
    return nonce_[n];
  };
  auto price = [&]() { return static_cast<int64_t>(rng_.range(1, 12)); };
  auto qty = [&]() { return static_cast<int64_t>(rng_.range(1, 6) * 50); };
  command c;
  if (kind >= 100) {
    const uint64_t k = kind - 100;
    if (k < members) {
      c = sign_ed(w.admins[0], register_meter{admin(0), w.meters[k].public_key(), w.account_addresses[k], 0, 0});
    } else if (k < members + stations_count) {
      const uint32_t s = static_cast<uint32_t>(k - members);
      c = sign_ed(w.admins[0], register_station{admin(0), w.stations[s].public_key(), w.account_addresses[5 + s],
                                                static_cast<int64_t>(50 + 50 * s)});
    } else {
      const uint32_t u = static_cast<uint32_t>(k - members - stations_count);
      c = sign_ed(w.admins[0], register_storage_unit{admin(0), w.units[u].public_key(), w.account_addresses[u * 3],
                                                     static_cast<int64_t>(5'000 + 5'000 * u)});
    }
  } else if (kind < 28) {  // meter reading: cumulative registers grow by a few hundred Wh
    const uint32_t m = member();
    meter_export_[m] += static_cast<int64_t>(rng_.below(4) * 100);
    meter_import_[m] += static_cast<int64_t>(rng_.below(3) * 50);
    int64_t ts = ledger_time_ms - static_cast<int64_t>(rng_.below(2000));
    uint64_t seq = ++meter_seq_[m];
    int64_t exp = meter_export_[m], imp = meter_import_[m];
    if (rng_.chance(20'000)) exp = exp > 0 ? exp - 1 : 0;  // a register going backwards (flags the meter)
    if (rng_.chance(20'000)) seq = seq > 1 ? seq - 1 : seq;  // a replayed sequence (refused)
    c = sign_ed(w.meters[m], meter_reading{w.meters[m].public_key(), seq, ts, exp, imp});
  } else if (kind < 40) {  // transfer TSL or WATT
    const uint32_t from = member();
    const uint32_t to = rng_.chance(100'000) ? education_grantee : member();
    const bool tsl = rng_.chance(500'000);
    const int64_t amount = tsl ? static_cast<int64_t>(rng_.range(1, 5) * 1000) : static_cast<int64_t>(rng_.range(1, 4) * 25);
    c = sign_account(from, transfer{w.account_publics[from], account_nonce(from), w.account_addresses[to],
                                    tsl ? asset::tsl : asset::watt, amount});
  } else if (kind < 56) {  // place an order
    const uint32_t n = member();
    const auto s = rng_.chance(500'000) ? market::side::buy : market::side::sell;
    const auto k = rng_.chance(800'000) ? market::order_kind::limit : market::order_kind::immediate_or_cancel;
    ++orders_placed_;
    c = sign_account(n, place_order{w.account_publics[n], account_nonce(n), s, k, price(), qty()});
  } else if (kind < 62) {  // cancel a (guessed) order
    const uint32_t n = member();
    c = sign_account(n, cancel_order{w.account_publics[n], account_nonce(n), rng_.range(1, orders_placed_ + 3)});
  } else if (kind < 68) {  // replace a (guessed) order
    const uint32_t n = member();
    c = sign_account(n, replace_order{w.account_publics[n], account_nonce(n), rng_.range(1, orders_placed_ + 3), price(), qty()});
  } else if (kind < 73) {  // automatic agent
    const uint32_t n = member();
    const int64_t buy = static_cast<int64_t>(rng_.range(1, 8));
    const int64_t below = static_cast<int64_t>(rng_.range(0, 6) * 100);
    // Mostly a valid agent; sometimes crossed prices (refused: it would trade with itself).
    const int64_t sell = rng_.chance(100'000) ? buy : buy + static_cast<int64_t>(rng_.range(1, 5));
    c = sign_account(n, set_agent{w.account_publics[n], account_nonce(n), !rng_.chance(150'000), buy, below, sell,
                                  below + static_cast<int64_t>(rng_.range(0, 10) * 100)});
  } else if (kind < 78) {  // EV: open a session
    const uint32_t v = member();
    const uint32_t s = static_cast<uint32_t>(rng_.below(stations_count));
    ++sessions_opened_;
    c = sign_account(v, ev_open_session{w.account_publics[v], account_nonce(v), w.stations[s].public_key(),
                                        static_cast<int64_t>(rng_.range(1, 50) * 100), price()});
  } else if (kind < 86) {  // EV: the station reports delivery (cumulative per its guess)
    const uint32_t s = static_cast<uint32_t>(rng_.below(stations_count));
    station_delivered_[s] += static_cast<int64_t>(rng_.range(0, 4) * 50);
    c = sign_ed(w.stations[s], ev_delivery{w.stations[s].public_key(), ++station_seq_[s],
                                           rng_.range(1, sessions_opened_ + 2), station_delivered_[s], rng_.chance(150'000)});
  } else if (kind < 90) {  // EV: the vehicle closes a session
    const uint32_t v = member();
    c = sign_account(v, ev_close_session{w.account_publics[v], account_nonce(v), rng_.range(1, sessions_opened_ + 2)});
  } else if (kind < 94) {  // storage report for the proposer's current epoch
    const uint32_t u = static_cast<uint32_t>(rng_.below(units_count));
    const auto epoch = static_cast<uint64_t>((ledger_time_ms - w.t0_ms) / epoch_ms);
    c = sign_ed(w.units[u], storage_report{w.units[u].public_key(), ++unit_nonce_[u], epoch,
                                           static_cast<int64_t>(rng_.range(0, 40) * 100)});
  } else if (kind < 97) {  // admin: set_params (fee and Bmax; lowering Bmax may be refused)
    community_params p = w.gen.params;
    p.fee_units_per_kwh_epoch = static_cast<int64_t>(rng_.range(0, 40));
    p.storage_cost_per_user_cents = static_cast<int64_t>(rng_.range(10, 40) * 1'000);
    const uint32_t a = static_cast<uint32_t>(rng_.below(admins_count));
    c = sign_ed(w.admins[a], set_params{admin(a), p});
  } else if (kind < 99) {  // admin: education grant
    const uint32_t to = rng_.chance(500'000) ? education_grantee : member();
    const uint32_t a = static_cast<uint32_t>(rng_.below(admins_count));
    c = sign_ed(w.admins[a], education_grant{admin(a), w.account_addresses[to]});
  } else {  // a registration again (refused unless the first one was lost)
    const uint32_t m = member();
    c = sign_ed(w.admins[1], register_meter{admin(1), w.meters[m].public_key(), w.account_addresses[m], 0, 0});
  }
  if (rng_.chance(10'000)) {
    // A corrupted signature: verify() must refuse it on every replica.
    c.signature[rng_.below(c.signature.size())] ^= static_cast<uint8_t>(1u << rng_.below(8));
    ++stats_.corrupted;
  }
  return c;
}

// --- a replica ---------------------------------------------------------------------------------------

ledger_replica_stats& ledger_replica::stats() {
  static ledger_replica_stats s;
  return s;
}

ledger_replica::ledger_replica() : l_(*world().initial) { root_ = l_->state_root(); }

std::string ledger_replica::apply(std::string_view bytes) {
  const auto& w = world();
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  auto cmd = decode(span);
  if (!cmd) return "a committed ledger entry does not decode: " + cmd.error().message;
  bool valid = false;
  auto& cache = verified_cache();
  std::string key(bytes);
  if (auto it = cache.find(key); it != cache.end()) {
    valid = it->second;
  } else {
    valid = verify(*cmd, w.genesis_hash).has_value();
    if (cache.size() >= verified_cache_entries_max) cache.clear();
    cache.emplace(std::move(key), valid);
  }
  const crypto::hash256 before = root_;
  bool applied = false;
  bool leaves_trace = false;
  std::string outcome = "bad signature";
  if (valid) {
    auto r = l_->apply(*cmd);
    applied = r.has_value();
    outcome = applied ? "ok" : std::string(errc_name(r.error().code));
    // docs/commands.md "Nonces and refusals" (SPEC §8): a refusal at or before authentication
    // changes nothing; a rule refusal after it consumes the signer's nonce (and a register
    // going backwards also flags the meter, SPEC §3.1), so the state root may change.
    if (!applied) {
      const errc code = r.error().code;
      leaves_trace = code != errc::malformed && code != errc::bad_signature && code != errc::unauthorized &&
                     code != errc::stale_nonce && code != errc::system_command;
    }
  }
  ++stats().by_outcome[std::string(command_name(cmd->body)) + ": " + outcome];
  root_ = l_->state_root();
  if (applied) {
    ++stats().applied;
  } else {
    ++stats().refused;
    // Bad input changes nothing (ledger.hpp: apply either applies completely or not at all).
    if (root_ != before && !leaves_trace) {
      return std::string("refused ") + std::string(command_name(cmd->body)) + " changed the state root";
    }
  }
  return oracle();
}

// SPEC §3.9 conservation, from the public queries only.
std::string ledger_replica::oracle() const {
  ++stats().invariant_checks;
  const ledger::ledger& l = *l_;
  int64_t tsl = 0, watt = 0;
  for (const account& a : l.accounts()) {
    if (a.tsl_units < 0) return "an account holds negative TSL";
    if (a.watt_wh < 0) return "an account holds negative WATT";
    if (a.kind == account_kind::member && a.watt_wh > l.bmax_wh())
      return "a member holds " + std::to_string(a.watt_wh) + " Wh, above Bmax " + std::to_string(l.bmax_wh());
    if (a.kind != account_kind::member && a.watt_wh != 0) return "a pool holds WATT";
    if (__builtin_add_overflow(tsl, a.tsl_units, &tsl) || __builtin_add_overflow(watt, a.watt_wh, &watt))
      return "balance totals overflow int64";
  }
  if (tsl != tsl_supply_units) return "TSL total is not 10^17 base units";
  int64_t minted_less_burned = 0;
  if (__builtin_sub_overflow(l.sums().watt_minted_wh, l.sums().watt_burned_wh, &minted_less_burned) ||
      watt != minted_less_burned)
    return "WATT total differs from minted - burned";
  return {};
}

std::string ledger_replica::deep_check() const {
  const auto problems = l_->check_invariants();
  return problems.empty() ? std::string() : problems.front();
}

bool ledger_replica::restore(std::string_view bytes) {
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  auto r = ledger::ledger::restore(span);
  if (!r) return false;
  l_.emplace(std::move(*r));
  root_ = l_->state_root();
  return true;
}

}  // namespace energo::sim
