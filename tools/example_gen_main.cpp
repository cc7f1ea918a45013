// energo-example-gen: writes the sample community of examples/community (examples/README.md).
//   energo-example-gen [--out examples/community]
// Everything is deterministic: keys come from fixed seeds (SHA-256 of their names), curves are
// integer-only, jitter comes from a fixed splitmix64 stream, and Ed25519 and RFC 6979 ECDSA
// signatures are deterministic. A test regenerates the files and compares them byte for byte.
//
// The generator applies every command to a ledger as it writes it: storage reports use the energy
// actually held in each epoch, transfers never exceed a balance or Bmax, and the run fails if any
// command other than the one deliberate duplicate is refused.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"
#include "tools/key_file.hpp"

namespace {

namespace tools = energo::tools;
namespace ledger = energo::ledger;
namespace crypto = energo::crypto;
namespace market = energo::market;

constexpr std::string_view seed_domain = "energo/example/community/v1/";
constexpr std::string_view demo_key_comment = "DEMO KEY from a published seed (examples/README.md): never use it for anything real";
constexpr int64_t genesis_time_ms = 1'718'928'000'000;  // 2024-06-21T00:00:00Z, midsummer
constexpr int64_t slots_per_day = 24 * 4;                // 15-minute slots = ledger epochs
constexpr int64_t slot_minutes = 15;
constexpr int64_t tsl = ledger::tsl_units_per_tsl;
constexpr int64_t price_units_per_wh = 200'000;         // 0.002 TSL per Wh paid between neighbours

struct load_window {
  int64_t from_min = 0;
  int64_t to_min = 0;
  int64_t watts = 0;
};

struct household_spec {
  std::string_view name;
  int64_t pv_peak_w;        // 0: no PV
  int64_t base_w;
  load_window windows[2];
  int64_t genesis_tsl;      // whole TSL; 0: no allocation (the newcomer)
};

constexpr household_spec households[] = {
    {"sunrise", 6000, 250, {{390, 480, 900}, {1080, 1320, 1400}}, 1000},
    {"oak", 4000, 300, {{360, 450, 1200}, {1050, 1290, 1800}}, 1000},
    {"mill", 9000, 500, {{480, 1020, 2200}, {1140, 1260, 600}}, 2000},
    {"baker", 0, 400, {{210, 450, 3500}, {1080, 1260, 700}}, 500},
    {"elder", 0, 200, {{420, 540, 500}, {1020, 1320, 900}}, 500},
    {"newcomer", 3000, 250, {{390, 480, 700}, {1110, 1350, 1300}}, 0},
};
constexpr std::size_t household_count = std::size(households);
constexpr std::size_t newcomer = 5;

struct unit_spec {
  std::string_view name;
  int64_t capacity_wh;
  int owner;  // household index, or -1 for the co-operative
};
constexpr unit_spec units[] = {{"unit-a", 60'000, -1}, {"unit-b", 40'000, -1}, {"unit-c", 15'000, 0}};

// splitmix64: a fixed, documented stream, so the jitter is the same on every machine.
struct splitmix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Percent in [100 - spread, 100 + spread].
  int64_t percent(int64_t spread) { return 100 - spread + static_cast<int64_t>(next() % static_cast<uint64_t>(2 * spread + 1)); }
};

// PV power at the middle of a slot: a parabola between 05:30 and 21:30 (in half-minutes to stay in
// integers), times a passing-cloud factor shared by the whole community.
int64_t pv_watts(int64_t peak_w, int64_t slot) {
  const int64_t t = 2 * slot * slot_minutes + slot_minutes;  // slot middle, half-minutes
  const int64_t rise = 2 * 330, set = 2 * 1290;
  if (peak_w == 0 || t <= rise || t >= set) return 0;
  const int64_t span = set - rise;
  int64_t w = peak_w * 4 * (t - rise) * (set - t) / (span * span);
  int64_t cloud = 100;
  if (slot >= 40 && slot < 42) cloud = 80;  // 10:00–10:30 haze
  if (slot >= 56 && slot < 60) cloud = 55;  // 14:00–15:00 a cloud bank
  return w * cloud / 100;
}

int64_t load_watts(const household_spec& h, int64_t slot) {
  const int64_t minute = slot * slot_minutes;
  int64_t w = h.base_w;
  for (const auto& win : h.windows)
    if (minute >= win.from_min && minute < win.to_min) w += win.watts;
  return w;
}

std::array<uint8_t, 32> seed_of(std::string_view name) {
  std::string text(seed_domain);
  text += name;
  return crypto::sha256(crypto::as_bytes(text));
}

struct generator {
  std::filesystem::path out_dir;
  ledger::genesis genesis;
  std::optional<ledger::ledger> state;
  crypto::hash256 genesis_hash{};
  std::ofstream commands;
  std::vector<std::pair<std::string, tools::key_file>> keys;
  int64_t lines = 0;
  int64_t refused = 0;

  const tools::key_file& make_key(const std::string& name, tools::signer_kind type) {
    auto key = tools::key_from_seed(type, seed_of(name), crypto::network::regtest);
    ENERGO_ASSERT(key.has_value(), "a demo seed is not a valid key");
    key->comment = std::string(demo_key_comment);
    keys.emplace_back(name, std::move(*key));
    return keys.back().second;
  }

  // Writes the command and applies it; `expect_refusal` marks the one deliberate duplicate.
  ledger::apply_outcome emit(const ledger::command& cmd, bool expect_refusal = false) {
    commands << tools::command_to_line(cmd, genesis.network, tools::signature_form::signed_form) << "\n";
    ++lines;
    auto outcome = state->verify_and_apply(cmd);
    if (outcome.has_value() == expect_refusal) {
      std::cerr << "energo-example-gen: command " << lines << " (" << ledger::command_name(cmd.body) << ") "
                << (outcome ? "was applied but should be refused" : "refused: " + outcome.error().message) << "\n";
      std::exit(1);
    }
    if (!outcome) {
      ++refused;
      return {};
    }
    return *outcome;
  }
};

int run(const std::filesystem::path& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir / "keys", ec);
  if (ec) {
    std::cerr << "energo-example-gen: cannot create " << (out_dir / "keys") << ": " << ec.message() << "\n";
    return 1;
  }
  generator g;
  g.out_dir = out_dir;

  // Keys, from fixed seeds.
  const auto admin_key = *g.make_key("admin", tools::signer_kind::ed25519).ed25519;
  const auto coop_key = *g.make_key("account-coop", tools::signer_kind::secp256k1).secp256k1;
  std::vector<crypto::secp256k1_secret_key> account_keys;
  std::vector<crypto::ed25519_keypair> meter_keys;
  for (const auto& h : households) {
    account_keys.push_back(*g.make_key("account-" + std::string(h.name), tools::signer_kind::secp256k1).secp256k1);
    meter_keys.push_back(*g.make_key("meter-" + std::string(h.name), tools::signer_kind::ed25519).ed25519);
  }
  std::vector<crypto::ed25519_keypair> unit_keys;
  for (const auto& u : units) unit_keys.push_back(*g.make_key(std::string(u.name), tools::signer_kind::ed25519).ed25519);
  auto account = [&](std::size_t i) { return crypto::hash160_of(account_keys[i].public_key().bytes); };
  const auto coop = crypto::hash160_of(coop_key.public_key().bytes);

  // Genesis: the SPEC §3.7 example (Cu $300, P $200/kWh → Bmax 2 kWh), grants off; the admin changes
  // both in the first command. Pools hold 5% each, households their stakes, the co-operative the rest.
  g.genesis.community_id = "sunny-valley-demo";
  g.genesis.network = crypto::network::regtest;
  g.genesis.genesis_time_ms = genesis_time_ms;
  g.genesis.params = {100'000, 30'000, 20'000, 0};
  g.genesis.admins = {admin_key.public_key()};
  int64_t allocated = 0;
  auto allocate = [&](const ledger::account_address& a, int64_t units_tsl) {
    g.genesis.allocations.push_back({a, units_tsl});
    allocated += units_tsl;
  };
  allocate(ledger::education_pool_address(), 50'000'000 * tsl);
  allocate(ledger::network_pool_address(), 50'000'000 * tsl);
  for (std::size_t i = 0; i < household_count; ++i)
    if (households[i].genesis_tsl > 0) allocate(account(i), households[i].genesis_tsl * tsl);
  allocate(coop, ledger::tsl_supply_units - allocated);
  auto created = ledger::ledger::create(g.genesis);
  ENERGO_ASSERT(created.has_value(), "the example genesis is invalid");
  g.state.emplace(std::move(*created));
  g.genesis_hash = g.genesis.hash();

  g.commands.open(out_dir / "commands.jsonl", std::ios::binary | std::ios::trunc);
  if (!g.commands) {
    std::cerr << "energo-example-gen: cannot create " << (out_dir / "commands.jsonl") << "\n";
    return 1;
  }
  const auto& gh = g.genesis_hash;
  uint64_t admin_nonce = 0;
  auto admin = [&] { return ledger::admin_auth{admin_key.public_key(), ++admin_nonce}; };

  // Setup at genesis time: parameters (Bmax 5 kWh, grants of 10 TSL), meters, storage units.
  g.emit(ledger::sign_ed25519(ledger::set_params{admin(), {100'000, 75'000, 20'000, 10 * tsl}}, admin_key, gh));
  std::vector<int64_t> export_total(household_count), import_total(household_count);
  for (std::size_t i = 0; i < household_count; ++i) {
    export_total[i] = 1'000'000 + static_cast<int64_t>(i) * 123'457;  // meters installed earlier
    import_total[i] = 2'000'000 + static_cast<int64_t>(i) * 98'765;
    g.emit(ledger::sign_ed25519(ledger::register_meter{admin(), meter_keys[i].public_key(), account(i), export_total[i], import_total[i]},
                                admin_key, gh));
  }
  for (std::size_t u = 0; u < std::size(units); ++u) {
    const auto owner = units[u].owner < 0 ? coop : account(static_cast<std::size_t>(units[u].owner));
    g.emit(ledger::sign_ed25519(ledger::register_storage_unit{admin(), unit_keys[u].public_key(), owner, units[u].capacity_wh},
                                admin_key, gh));
  }

  splitmix64 rng{0x5EED'E4E6'0000'0001ULL};
  std::vector<uint64_t> account_nonce(household_count, 0);
  std::vector<uint64_t> unit_nonce(std::size(units), 0);
  int64_t total_capacity = 0;
  for (const auto& u : units) total_capacity += u.capacity_wh;

  // Automatic agents (SPEC §4 "ZI"): two PV households sell what they hold above 4 kWh, the two
  // consumers buy back up to a floor. They trade on the book whenever balances or epochs change.
  struct agent_spec {
    std::size_t household;
    int64_t buy_price, buy_below_wh, sell_price, sell_above_wh;
  };
  // A side an agent should never use gets a threshold it cannot cross (0 to buy below, Bmax to
  // sell above) and a price that keeps buy < sell, as set_agent requires.
  constexpr int64_t bmax_after_setup_wh = 5000;
  constexpr int64_t never_sell_price = 1'000'000;
  constexpr agent_spec agent_specs[] = {
      {0, 1, 0, 150'000, 4000},                                   // sunrise sells above 4 kWh
      {2, 1, 0, 140'000, 4000},                                   // mill sells above 4 kWh
      {3, 170'000, 1500, never_sell_price, bmax_after_setup_wh},  // baker keeps 1.5 kWh for the ovens
      {4, 160'000, 1000, never_sell_price, bmax_after_setup_wh},  // elder keeps 1 kWh
  };
  for (const auto& a : agent_specs) {
    g.emit(ledger::sign_secp256k1(ledger::set_agent{account_keys[a.household].public_key(), ++account_nonce[a.household], true,
                                                    a.buy_price, a.buy_below_wh, a.sell_price, a.sell_above_wh},
                                  account_keys[a.household], gh));
  }

  // A neighbourly sale: WATT one way, TSL the other, sized to what the ledger allows right now.
  auto sell_watt = [&](std::size_t seller, std::size_t buyer, int64_t wanted_wh) {
    const auto* s = g.state->find_account(account(seller));
    const auto* b = g.state->find_account(account(buyer));
    const int64_t amount = std::min({wanted_wh, s->watt_wh, g.state->bmax_wh() - b->watt_wh});
    ENERGO_ASSERT(amount > 0, "the example sale has nothing to sell");
    g.emit(ledger::sign_secp256k1(ledger::transfer{account_keys[seller].public_key(), ++account_nonce[seller], account(buyer),
                                                   ledger::asset::watt, amount},
                                  account_keys[seller], gh));
    g.emit(ledger::sign_secp256k1(ledger::transfer{account_keys[buyer].public_key(), ++account_nonce[buyer], account(seller),
                                                   ledger::asset::tsl, amount * price_units_per_wh},
                                  account_keys[buyer], gh));
  };

  for (int64_t slot = 0; slot < slots_per_day; ++slot) {
    const int64_t slot_end_ms = genesis_time_ms + (slot + 1) * slot_minutes * 60'000;
    std::optional<ledger::command> duplicate;
    // Each meter reports the slot's net flow at the end of the slot: export when PV exceeds the load.
    for (std::size_t i = 0; i < household_count; ++i) {
      const auto& h = households[i];
      const int64_t pv_wh = pv_watts(h.pv_peak_w, slot) * rng.percent(5) / 100 / 4;
      const int64_t load_wh = load_watts(h, slot) * rng.percent(10) / 100 / 4;
      if (pv_wh > load_wh) export_total[i] += pv_wh - load_wh;
      else import_total[i] += load_wh - pv_wh;
      auto reading = ledger::sign_ed25519(
          ledger::meter_reading{meter_keys[i].public_key(), static_cast<uint64_t>(slot + 1), slot_end_ms, export_total[i], import_total[i]},
          meter_keys[i], gh);
      (void)g.emit(reading);
      if (slot == 41 && i == 1) duplicate = reading;
    }
    if (duplicate) g.emit(*duplicate, /*expect_refusal=*/true);  // a replayed reading: refused, changes nothing
    if (slot == 39) g.emit(ledger::sign_ed25519(ledger::education_grant{admin(), account(newcomer)}, admin_key, gh));
    if (slot == 47) sell_watt(1, 4, 1500);  // 12:00 oak → elder
    if (slot == 51) sell_watt(2, 3, 2500);  // 13:00 mill → baker
    if (slot == 53) {                        // 13:30 oak offers 800 Wh on the book by hand
      g.emit(ledger::sign_secp256k1(ledger::place_order{account_keys[1].public_key(), ++account_nonce[1], market::side::sell,
                                                        market::order_kind::limit, 155'000, 800},
                                    account_keys[1], gh));
    }

    // Storage units report the energy they stored for members during the epoch: the community's
    // WATT at the end of the epoch, split by capacity, the rounding remainder to the first unit.
    const int64_t held_wh = g.state->watt_total_wh();
    std::vector<int64_t> stored(std::size(units));
    int64_t assigned = 0;
    for (std::size_t u = 0; u < std::size(units); ++u) {
      stored[u] = held_wh * units[u].capacity_wh / total_capacity;
      assigned += stored[u];
    }
    stored[0] += held_wh - assigned;
    for (std::size_t u = 0; u < std::size(units); ++u) {
      const int64_t wh = std::min(stored[u], units[u].capacity_wh);
      g.emit(ledger::sign_ed25519(ledger::storage_report{unit_keys[u].public_key(), ++unit_nonce[u], g.state->epoch(), wh},
                                  unit_keys[u], gh));
    }
    g.emit(ledger::command{ledger::tick{slot_end_ms}, {}});
  }
  g.commands.close();
  if (!g.commands) {
    std::cerr << "energo-example-gen: cannot write commands.jsonl\n";
    return 1;
  }

  std::ofstream genesis_file(out_dir / "genesis.json", std::ios::binary | std::ios::trunc);
  genesis_file << tools::dump_pretty(tools::genesis_to_json(g.genesis)) << "\n";
  genesis_file.close();
  if (!genesis_file) {
    std::cerr << "energo-example-gen: cannot write genesis.json\n";
    return 1;
  }
  for (const auto& [name, key] : g.keys) {
    if (auto w = tools::write_key_file((out_dir / "keys" / (name + ".json")).string(), key, /*overwrite=*/true); !w) {
      std::cerr << "energo-example-gen: " << w.error() << "\n";
      return 1;
    }
  }
  std::cerr << "energo-example-gen: wrote " << g.lines << " commands (" << g.refused << " refused on purpose), genesis and "
            << g.keys.size() << " demo keys to " << out_dir.string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"energo-example-gen: writes the deterministic sample community (genesis, signed commands, demo keys)"};
  std::string out = "examples/community";
  app.add_option("--out", out, "Output directory")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  return run(out);
}
