// Ledger throughput and state-root cost (issue "Foundation" §5).
//
//   BM_apply_transfers / BM_apply_readings            apply() only (signatures NOT checked), the
//                                                      state root computed once per 1,000 commands
//   BM_verify_and_apply_transfers / _readings          verify_and_apply(): ECDSA secp256k1 resp.
//                                                      Ed25519 verification included, same batching
//   BM_state_root_update/<accounts>/<transfers>        a ledger of 10^3, 10^5 or 10^6 accounts; each
//                                                      iteration applies <transfers> transfers to
//                                                      random recipients (untimed), then times
//                                                      state_root(); ns_per_changed_account = root
//                                                      thread CPU time / distinct accounts changed
//                                                      ("Time" is that CPU time, via manual timing)
//   BM_market_root_update/<orders>/<changes>          the market's share of the root: root cost per
//                                                      changed order at 10^3/10^5/10^6 resting orders,
//                                                      1/10/100/1,000 changes per root; instruction
//                                                      counts: bench/market_root_instructions.sh
// Items are commands; items_per_second is per CPU second (Google Benchmark's default), so a busy
// shared machine does not distort it; compare "Time" (wall) with "CPU" to see the load. Targets: ≥ 300,000 transfers/s applied
// (root per 1,000); root cost per changed account at 10^6 within 3× of 10^3.
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"

namespace energo::ledger {
namespace {

constexpr std::size_t batch_commands = 1'000;  // commands between two state_root() calls
constexpr uint32_t sender_count = 1'000;       // accounts with keys (signing senders)
constexpr uint32_t meter_count = 1'000;
constexpr int64_t start_ms = 1'700'000'000'000;

std::array<uint8_t, 32> seed_for(uint8_t tag, uint32_t n) {
  std::array<uint8_t, 32> s{};
  s[0] = tag;
  for (int k = 0; k < 4; ++k) s[31 - k] = static_cast<uint8_t>(n >> (8 * k));
  return s;
}

// Deterministic 64-bit generator (splitmix64): benchmark inputs must not depend on the run.
struct splitmix {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

account_address synthetic_address(uint32_t n) {
  std::array<uint8_t, 8> b{};
  b[0] = 0xee;
  for (int k = 0; k < 4; ++k) b[4 + k] = static_cast<uint8_t>(n >> (8 * k));
  return crypto::hash160_of(b);
}

struct world {
  std::vector<crypto::secp256k1_secret_key> secrets;
  std::vector<crypto::secp256k1_public_key> publics;
  std::vector<account_address> addresses;
  std::vector<crypto::ed25519_keypair> meters;
  crypto::ed25519_keypair admin = crypto::ed25519_keypair::from_seed(seed_for(0xa1, 0));

  world() {
    for (uint32_t n = 0; n < sender_count; ++n) {
      secrets.push_back(*crypto::secp256k1_secret_key::from_bytes(seed_for(0x0d, n + 1)));
      publics.push_back(secrets.back().public_key());
      addresses.push_back(crypto::hash160_of(publics.back().bytes));
    }
    for (uint32_t n = 0; n < meter_count; ++n) meters.push_back(crypto::ed25519_keypair::from_seed(seed_for(0xb2, n)));
  }
};
const world& the_world() {
  static const world w;
  return w;
}

// `extra` synthetic accounts (no keys) are allocated at genesis beside the signing senders.
genesis make_genesis(uint32_t extra) {
  const world& w = the_world();
  genesis g;
  g.community_id = "bench-dae";
  g.genesis_time_ms = start_ms;
  g.params.storage_cost_per_user_cents = 30'000;
  g.params.battery_price_cents_per_kwh = 20'000;
  g.params.fee_units_per_kwh_epoch = 1'000;
  g.admins = {w.admin.public_key()};
  const uint32_t holders = sender_count + extra;
  const int64_t each = tsl_supply_units / holders;
  for (uint32_t n = 0; n < sender_count; ++n) g.allocations.push_back({w.addresses[n], each});
  for (uint32_t n = 0; n < extra; ++n) g.allocations.push_back({synthetic_address(n), each});
  g.allocations[0].tsl_units += tsl_supply_units - each * holders;
  return g;
}

ledger make_ledger(const genesis& g) {
  auto r = ledger::create(g);
  if (!r) std::abort();
  return std::move(*r);
}

void must(result<apply_outcome> r) {
  if (!r) {
    std::fprintf(stderr, "bench command refused: %s\n", r.error().message.c_str());
    std::abort();
  }
}

// Transfers between signing senders (steady state: no account creation), round robin.
struct transfer_source {
  std::vector<uint64_t> nonces = std::vector<uint64_t>(sender_count, 0);
  uint64_t cursor = 0;
  command next() {
    const world& w = the_world();
    const auto from = static_cast<uint32_t>(cursor % sender_count);
    const auto to = static_cast<uint32_t>((cursor * 7 + 1) % sender_count);
    ++cursor;
    transfer t{w.publics[from], ++nonces[from], w.addresses[to == from ? (to + 1) % sender_count : to], asset::tsl, 1};
    return command{t, {}};
  }
};

// Readings alternate +export and +import so balances stay below Bmax and both paths run.
struct reading_source {
  std::vector<uint64_t> sequences = std::vector<uint64_t>(meter_count, 0);
  uint64_t cursor = 0;
  command next() {
    const world& w = the_world();
    const auto m = static_cast<uint32_t>(cursor % meter_count);
    ++cursor;
    const uint64_t seq = ++sequences[m];
    meter_reading r{w.meters[m].public_key(), seq, start_ms, static_cast<int64_t>((seq + 1) / 2) * 3,
                    static_cast<int64_t>(seq / 2) * 2};
    return command{r, {}};
  }
};

// Meters for the signing senders, and one storage unit: without registered storage nothing is
// minted (SPEC §2, 1 WATT = 1 kWh stored) and readings would only book grid export. Its capacity
// (the per-unit maximum) never binds here, so every reading mints up to Bmax.
void register_meters(ledger& l) {
  const world& w = the_world();
  for (uint32_t n = 0; n < meter_count; ++n)
    must(l.verify_and_apply(sign_ed25519(register_meter{{w.admin.public_key(), n + 1}, w.meters[n].public_key(), w.addresses[n], 0, 0},
                                         w.admin, l.genesis_hash())));
  const auto unit_key = crypto::ed25519_keypair::from_seed(seed_for(0xc3, 0)).public_key();
  must(l.verify_and_apply(sign_ed25519(register_storage_unit{{w.admin.public_key(), meter_count + 1}, unit_key, w.addresses[0],
                                                             limits::storage_capacity_wh_max},
                                       w.admin, l.genesis_hash())));
}

// Shows the readings benches measure real minting (a regression to grid-only export shows as 0).
void report_minting(benchmark::State& state, const ledger& l) {
  state.counters["minted_wh"] = static_cast<double>(l.sums().watt_minted_wh);
  state.counters["grid_export_wh"] = static_cast<double>(l.sums().grid_export_wh);
}

template <class Source>
void run_apply_only(benchmark::State& state, ledger& l, Source& source) {
  std::vector<command> batch(batch_commands);
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& c : batch) c = source.next();
    state.ResumeTiming();
    for (const auto& c : batch) must(l.apply(c));
    benchmark::DoNotOptimize(l.state_root());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch_commands));
}

void BM_apply_transfers(benchmark::State& state) {
  ledger l = make_ledger(make_genesis(0));
  transfer_source source;
  run_apply_only(state, l, source);
}
BENCHMARK(BM_apply_transfers)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_apply_readings(benchmark::State& state) {
  ledger l = make_ledger(make_genesis(0));
  register_meters(l);
  reading_source source;
  run_apply_only(state, l, source);
  report_minting(state, l);
}
BENCHMARK(BM_apply_readings)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Signed batches are prepared before timing (signing is the client's cost, not the ledger's).
constexpr int signed_batches = 8;

void BM_verify_and_apply_transfers(benchmark::State& state) {
  const world& w = the_world();
  ledger l = make_ledger(make_genesis(0));
  transfer_source source;
  std::vector<std::vector<command>> batches(signed_batches);
  for (auto& b : batches)
    for (std::size_t k = 0; k < batch_commands; ++k) {
      command c = source.next();
      const auto& t = std::get<transfer>(c.body);
      const auto from = static_cast<uint32_t>((source.cursor - 1) % sender_count);
      b.push_back(sign_secp256k1(t, w.secrets[from], l.genesis_hash()));
    }
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == batches.size()) {
      state.SkipWithError("out of pre-signed batches");
      break;
    }
    for (const auto& c : batches[next]) must(l.verify_and_apply(c));
    benchmark::DoNotOptimize(l.state_root());
    ++next;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch_commands));
}
BENCHMARK(BM_verify_and_apply_transfers)->Unit(benchmark::kMillisecond)->Iterations(signed_batches);

void BM_verify_and_apply_readings(benchmark::State& state) {
  const world& w = the_world();
  ledger l = make_ledger(make_genesis(0));
  register_meters(l);
  reading_source source;
  std::vector<std::vector<command>> batches(signed_batches);
  for (auto& b : batches)
    for (std::size_t k = 0; k < batch_commands; ++k) {
      command c = source.next();
      const auto m = static_cast<uint32_t>((source.cursor - 1) % meter_count);
      b.push_back(sign_ed25519(c.body, w.meters[m], l.genesis_hash()));
    }
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == batches.size()) {
      state.SkipWithError("out of pre-signed batches");
      break;
    }
    for (const auto& c : batches[next]) must(l.verify_and_apply(c));
    benchmark::DoNotOptimize(l.state_root());
    ++next;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch_commands));
  report_minting(state, l);
}
BENCHMARK(BM_verify_and_apply_readings)->Unit(benchmark::kMillisecond)->Iterations(signed_batches);

// A ledger with `accounts` accounts: up to 10^5 by genesis allocation, the rest created by
// transfers from the signing senders to fresh synthetic addresses (apply only).
ledger build_ledger(uint32_t accounts) {
  const uint32_t at_genesis = std::min<uint32_t>(accounts, limits::genesis_allocations_max);
  ledger l = make_ledger(make_genesis(at_genesis > sender_count + 2 ? at_genesis - sender_count - 2 : 0));
  const world& w = the_world();
  std::vector<uint64_t> nonces(sender_count, 0);
  uint32_t fresh = limits::genesis_allocations_max;  // synthetic indexes not used at genesis
  for (uint64_t k = 0; l.accounts().size() < accounts; ++k) {
    const auto from = static_cast<uint32_t>(k % sender_count);
    must(l.apply(command{transfer{w.publics[from], ++nonces[from], synthetic_address(fresh++), asset::tsl, 1}, {}}));
  }
  (void)l.state_root();
  return l;
}

void BM_state_root_update(benchmark::State& state) {
  const auto accounts = static_cast<uint32_t>(state.range(0));
  const auto changes = static_cast<std::size_t>(state.range(1));
  ledger l = build_ledger(accounts);
  const world& w = the_world();
  std::vector<uint64_t> nonces(sender_count);
  for (uint32_t n = 0; n < sender_count; ++n) nonces[n] = l.find_account(w.addresses[n])->nonce;
  splitmix rng{42};
  std::vector<uint8_t> touched(l.accounts().size(), 0);
  std::vector<uint32_t> touched_list;
  double root_ns_total = 0;
  double changed_total = 0;
  uint64_t sender = 0;
  for (auto _ : state) {
    // Untimed: change `changes` transfers' worth of random accounts.
    for (std::size_t k = 0; k < changes; ++k) {
      const auto from = static_cast<uint32_t>(sender++ % sender_count);
      auto to = static_cast<uint32_t>(rng.next() % l.accounts().size());
      const account_address& to_address = l.accounts()[to].address;
      if (to_address == w.addresses[from] || l.accounts()[to].kind != account_kind::member) continue;
      must(l.apply(command{transfer{w.publics[from], ++nonces[from], to_address, asset::tsl, 1}, {}}));
      for (uint32_t i : {to, static_cast<uint32_t>(l.find_account(w.addresses[from]) - l.accounts().data())})
        if (!touched[i]) {
          touched[i] = 1;
          touched_list.push_back(i);
        }
    }
    // Thread CPU time: the machine is shared, and wall time would charge other processes to us.
    const int64_t t0 = thread_cpu_ns();
    benchmark::DoNotOptimize(l.state_root());
    const int64_t t1 = thread_cpu_ns();
    const auto ns = static_cast<double>(t1 - t0);
    state.SetIterationTime(ns / 1e9);
    root_ns_total += ns;
    changed_total += static_cast<double>(touched_list.size());
    for (uint32_t i : touched_list) touched[i] = 0;
    touched_list.clear();
  }
  state.counters["changed_per_root"] = changed_total / static_cast<double>(state.iterations());
  state.counters["ns_per_changed_account"] = root_ns_total / changed_total;
}
BENCHMARK(BM_state_root_update)
    ->ArgNames({"accounts", "transfers"})
    ->Args({1'000, 100})
    ->Args({100'000, 100})
    ->Args({1'000'000, 100})
    ->Args({1'000, 1'000})
    ->Args({100'000, 1'000})
    ->Args({1'000'000, 1'000})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// --- The market's share of the root (issue 11 §5) ------------------------------------------------
// A ledger whose book holds <orders> resting bids (64 per trader, the per-account maximum, at random
// prices 1..1000, no asks: nothing matches), built once per size with apply(). Each iteration
// applies <changes> replaces of random resting orders (untimed: same price, quantity ±1, so each
// changes one order's leaf, its owner's history leaf and nonce), then times state_root().
// ns_per_changed_order = root thread CPU time / changes. Goal: at 10^6 orders within 3× of 10^3.
constexpr uint32_t market_orders_per_trader = 64;

struct market_world {
  std::vector<crypto::secp256k1_public_key> publics;
  std::vector<account_address> addresses;
  explicit market_world(uint32_t traders) {
    for (uint32_t n = 0; n < traders; ++n) {
      publics.push_back(crypto::secp256k1_secret_key::from_bytes(seed_for(0x7a, n + 1))->public_key());
      addresses.push_back(crypto::hash160_of(publics.back().bytes));
    }
  }
};

// Callgrind hooks (ENERGO_BENCH_CALLGRIND, set by ledger_bench.cmake when valgrind/callgrind.h is
// installed): run under `valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no`, only
// the timed state_root() calls are instrumented and collected, and each variant is dumped under
// its own name, so a dump's instruction total / roots is the exact cost of one root. Natively the
// client requests are a handful of instructions outside the timed region.
#ifdef ENERGO_BENCH_CALLGRIND
#include <valgrind/callgrind.h>
#define ENERGO_BENCH_COLLECT_BEGIN() \
  do {                               \
    CALLGRIND_START_INSTRUMENTATION; \
    CALLGRIND_TOGGLE_COLLECT;        \
  } while (0)
#define ENERGO_BENCH_COLLECT_END()  \
  do {                              \
    CALLGRIND_TOGGLE_COLLECT;       \
    CALLGRIND_STOP_INSTRUMENTATION; \
  } while (0)
#define ENERGO_BENCH_DUMP(name) CALLGRIND_DUMP_STATS_AT(name)
#else
#define ENERGO_BENCH_COLLECT_BEGIN() (void)0
#define ENERGO_BENCH_COLLECT_END() (void)0
#define ENERGO_BENCH_DUMP(name) (void)(name)
#endif

struct market_fixture {
  std::optional<ledger> l;
  std::vector<uint64_t> nonces;
  std::vector<account_index> index;
  market_world world;
  explicit market_fixture(uint32_t orders) : world((orders + market_orders_per_trader - 1) / market_orders_per_trader) {
    const auto traders = static_cast<uint32_t>(world.addresses.size());
    genesis g = make_genesis(0);
    const int64_t each = tsl_supply_units / (2 * (sender_count + traders));
    for (auto& a : g.allocations) a.tsl_units = each;
    for (uint32_t n = 0; n < traders; ++n) g.allocations.push_back({world.addresses[n], each});
    g.allocations[0].tsl_units += tsl_supply_units - each * static_cast<int64_t>(g.allocations.size());
    l.emplace(make_ledger(g));
    nonces.assign(traders, 0);
    splitmix rng{7};
    for (uint32_t k = 0; k < orders; ++k) {
      const uint32_t t = k / market_orders_per_trader;
      const int64_t price = 1 + static_cast<int64_t>(rng.next() % 1000);
      must(l->apply(command{place_order{world.publics[t], ++nonces[t], market::side::buy, market::order_kind::limit, price, 100}, {}}));
    }
    for (uint32_t n = 0; n < traders; ++n) index.push_back(*l->account_index_of(world.addresses[n]));
    // The first root hashes every leaf (the build's changes are all pending): O(book), once. It is
    // measured apart (its own callgrind dump and thread CPU time) and never mixed into the
    // per-change figures.
    const int64_t t0 = thread_cpu_ns();
    ENERGO_BENCH_COLLECT_BEGIN();
    (void)l->state_root();
    ENERGO_BENCH_COLLECT_END();
    first_root_ns = thread_cpu_ns() - t0;
    const std::string dump = "first-root orders=" + std::to_string(orders);
    ENERGO_BENCH_DUMP(dump.c_str());
  }
  int64_t first_root_ns = 0;
};

// One fixture per size, kept across the variants of that size (they only replace orders, so the
// book keeps its size); building 10^6 orders takes seconds.
market_fixture& shared_market_fixture(uint32_t orders) {
  static std::unique_ptr<market_fixture> cached;
  static uint32_t cached_orders = 0;
  if (!cached || cached_orders != orders) {
    cached.reset();
    cached = std::make_unique<market_fixture>(orders);
    cached_orders = orders;
  }
  return *cached;
}

void BM_market_root_update(benchmark::State& state) {
  const auto orders = static_cast<uint32_t>(state.range(0));
  const auto changes = static_cast<std::size_t>(state.range(1));
  market_fixture& f = shared_market_fixture(orders);
  ledger& l = *f.l;
  splitmix rng{99 + changes};
  double root_ns_total = 0;
  double changed_total = 0;
  double owners_total = 0;
  const auto traders = static_cast<uint32_t>(f.index.size());
  std::vector<uint8_t> owner_seen(traders, 0);
  std::vector<uint32_t> owners;
  for (auto _ : state) {
    for (std::size_t k = 0; k < changes; ++k) {
      const auto t = static_cast<uint32_t>(rng.next() % traders);
      const auto mine = l.book().orders_of(f.index[t]);
      const auto& o = mine[rng.next() % mine.size()];
      const int64_t quantity = o.remaining_wh == 100 ? 99 : 100;
      must(l.apply(command{replace_order{f.world.publics[t], ++f.nonces[t], o.id, o.price_units_per_wh, quantity}, {}}));
      if (!owner_seen[t]) {
        owner_seen[t] = 1;
        owners.push_back(t);
      }
    }
    const int64_t t0 = thread_cpu_ns();
    ENERGO_BENCH_COLLECT_BEGIN();
    benchmark::DoNotOptimize(l.state_root());
    ENERGO_BENCH_COLLECT_END();
    const int64_t t1 = thread_cpu_ns();
    const auto ns = static_cast<double>(t1 - t0);
    state.SetIterationTime(ns / 1e9);
    root_ns_total += ns;
    changed_total += static_cast<double>(changes);
    owners_total += static_cast<double>(owners.size());
    for (const uint32_t t : owners) owner_seen[t] = 0;
    owners.clear();
  }
  const std::string dump = "roots orders=" + std::to_string(orders) + " changes=" + std::to_string(changes) +
                           " roots=" + std::to_string(state.iterations());
  ENERGO_BENCH_DUMP(dump.c_str());
  state.counters["resting_orders"] = static_cast<double>(l.book().resting_orders());
  state.counters["ns_per_changed_order"] = root_ns_total / changed_total;
  // Distinct owners per root: each costs its history leaf and account leaf once, however many of
  // its orders changed (at 10^3 orders there are only 16 traders).
  state.counters["owners_per_root"] = owners_total / static_cast<double>(state.iterations());
  state.counters["first_root_ms"] = static_cast<double>(f.first_root_ns) / 1e6;
}
BENCHMARK(BM_market_root_update)
    ->ArgNames({"orders", "changes"})
    ->Apply([](benchmark::internal::Benchmark* b) {
      // Grouped by size, so each size's fixture is built once (shared_market_fixture).
      for (const int64_t orders : {1'000, 100'000, 1'000'000})
        for (const int64_t changes : {1, 10, 100, 1'000}) b->Args({orders, changes});
    })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);


// A durable point's cost on the apply thread (actors/apply_actor.cpp capture_durable_batch): it
// copy-assigns the ledger into a shadow kept between durable points (its buffers are reused: no
// fresh pages to fault in) and encodes the shadow on the writer thread. Each iteration times, on
// the same ledger (thread CPU): a fresh copy (copy_ms), the assignment into the shadow kept from
// the last iteration (assign_ms: what the apply thread pays), and the encoding (snapshot_ms: what
// the apply thread paid when it encoded the image itself).
void BM_durable_capture(benchmark::State& state) {
  const auto orders = static_cast<uint32_t>(state.range(0));
  market_fixture& f = shared_market_fixture(orders);
  const ledger& l = *f.l;
  std::optional<ledger> shadow;
  shadow.emplace(l);
  double copy_ns = 0;
  double assign_ns = 0;
  double snapshot_ns = 0;
  std::size_t image_bytes = 0;
  for (auto _ : state) {
    const int64_t t0 = thread_cpu_ns();
    auto copy = std::make_shared<const ledger>(l);
    const int64_t t1 = thread_cpu_ns();
    *shadow = l;
    const int64_t t2 = thread_cpu_ns();
    const auto image = l.snapshot();
    const int64_t t3 = thread_cpu_ns();
    benchmark::DoNotOptimize(copy);
    benchmark::DoNotOptimize(*shadow);
    image_bytes = image.size();
    copy_ns += static_cast<double>(t1 - t0);
    assign_ns += static_cast<double>(t2 - t1);
    snapshot_ns += static_cast<double>(t3 - t2);
    state.SetIterationTime(static_cast<double>(t2 - t1) / 1e9);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["copy_ms"] = copy_ns / n / 1e6;
  state.counters["assign_ms"] = assign_ns / n / 1e6;
  state.counters["snapshot_ms"] = snapshot_ns / n / 1e6;
  state.counters["image_MB"] = static_cast<double>(image_bytes) / 1e6;
}
BENCHMARK(BM_durable_capture)
    ->ArgNames({"orders"})
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The shadow while the live book grows between durable points: the shadow is copy-constructed
// from a book of N orders, then assigned a book of N + 5 % and then N + 10 % (separately built
// ledgers, their tables grown by appends as the live one's are). Plain `=` reallocates every
// table that grew to exactly its new size - fresh pages to fault in at each growth;
// assign_reusing_memory (reuse:1) reserves the source's capacities, so only the first growth
// reallocates; reuse:2 also runs reserve_ahead on the shadow between the two assignments (the
// durable writer's thread does, after encoding), which makes room ahead resident, so the last
// assignment writes to pages already there. Times and minor page faults are of the last
// assignment (thread CPU).
void BM_durable_capture_growing(benchmark::State& state) {
  const auto orders = static_cast<uint32_t>(state.range(0));
  const bool reuse = state.range(1) != 0;
  const bool ahead = state.range(1) == 2;
  static std::unique_ptr<market_fixture> sizes[3];
  static uint32_t built_for = 0;
  if (built_for != orders) {
    for (int k = 0; k < 3; ++k) sizes[k] = std::make_unique<market_fixture>(orders + orders / 20 * static_cast<uint32_t>(k));
    built_for = orders;
  }
  double last_ns = 0;
  double faults = 0;
  for (auto _ : state) {
    std::optional<ledger> shadow;
    shadow.emplace(*sizes[0]->l);
    auto assign = [&](const ledger& from) {
      if (reuse) shadow->assign_reusing_memory(from);
      else *shadow = from;
    };
    assign(*sizes[1]->l);
    if (ahead) shadow->reserve_ahead();  // as the durable writer does after encoding
    rusage r0{};
    ::getrusage(RUSAGE_THREAD, &r0);
    const int64_t t0 = thread_cpu_ns();
    assign(*sizes[2]->l);
    const int64_t t1 = thread_cpu_ns();
    rusage r1{};
    ::getrusage(RUSAGE_THREAD, &r1);
    benchmark::DoNotOptimize(*shadow);
    last_ns += static_cast<double>(t1 - t0);
    faults += static_cast<double>(r1.ru_minflt - r0.ru_minflt);
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["assign_ms"] = last_ns / n / 1e6;
  state.counters["page_faults"] = faults / n;
}
BENCHMARK(BM_durable_capture_growing)
    ->ArgNames({"orders", "reuse"})
    ->Args({100'000, 0})
    ->Args({100'000, 1})
    ->Args({100'000, 2})
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace energo::ledger

BENCHMARK_MAIN();
