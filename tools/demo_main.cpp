// energo-demo: the local demo community (README's main command, issue 9 §4; tools/README.md).
//
// Starts three energo-node processes on 127.0.0.1 with fresh data directories, a genesis with
// households, storage units and a charging station, and drives them as a community would: smart
// meters send signed cumulative readings (the simulator's PV and load curves, tools/sim/curves.hpp),
// automatic agents trade inside the ledger, households place manual orders, an EV charges at the
// station — every command signed and submitted over the client port, spread over the three nodes
// (followers forward). Ledger time runs `--speedup` times faster than wall time (clock.speedup), so
// a demo minute covers many 15-minute epochs. Every few seconds it prints progress; at the end (the
// duration, or Ctrl-C) it waits until the three nodes report the same state root at the same
// applied index, stops them with SIGTERM, reads each node's ledger from its data directory as an
// auditor would, and prints a summary whose invariants it checks.
//
// Checkpoints (SPEC §7, docs/node.md "Checkpoints on Qtum"): when Debian's `litecoind` is installed
// (the Bitcoin Core-family stand-in for a Qtum node the tests use, with Qtum's relay policy set by
// flags), the demo starts a `litecoind -regtest` on 127.0.0.1 with a data directory inside its own,
// funds the community's anchor key with maturity blocks, configures the nodes to anchor there
// ([qtum]), mines a block every --qtum-block-s seconds, shows anchored and confirmed checkpoints in
// the progress lines and, at the end, checks the latest anchor with `energoctl checkpoint verify`.
// Without litecoind (or with --no-qtum) it says so and runs without checkpoints.
//
// Honesty of the numbers: live progress uses what the client port answers (status, account reads,
// and the `summary` and `epochs` queries: the community's trades, last price per epoch, fees, grid
// flows, agents' trades included) and the outcomes of the commands this driver submitted (minted,
// burned, fills, trades of its own orders; grid flows derived exactly from the meter deltas it
// sent). The final summary's totals come from the nodes' stored ledgers after the stop.
//
// Concurrency: one thread. Node processes are children in their own process group (Ctrl-C reaches
// only this driver, which then shuts them down in order) with PR_SET_PDEATHSIG, so they never
// outlive it.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/hash.hpp"
#include "ledger/commands.hpp"
#include "ledger/ledger.hpp"
#include "net/client_conn.hpp"
#include "net/qtum/chain_sync.hpp"
#include "net/qtum/params.hpp"
#include "net/qtum/rpc_client.hpp"
#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "storage/node_store.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"
#include "tools/load.hpp"
#include "tools/child_process.hpp"
#include "tools/sim/community.hpp"
#include "tools/sim/curves.hpp"
#include "tools/sim/rng.hpp"
#include "tools/loopback_port.hpp"

namespace {

using namespace energo;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace L = energo::ledger;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

namespace limits {
constexpr uint32_t households_max = 64;
constexpr int64_t speedup_max = 3600;             // 1 s = 1 h; beyond, one tick would pass an epoch
constexpr int64_t duration_s_max = 24 * 3600;
constexpr auto leader_wait = 20s;                 // three fresh nodes elect a leader in < 1 s
constexpr auto submit_deadline = 15s;             // retries of one command (same bytes: safe)
constexpr auto agree_wait = 15s;                  // nodes reporting the same applied index and root
constexpr auto stop_wait = 20s;                   // SIGTERM to exit (leadership transfer ≤ 3 s)
constexpr auto call_timeout = 12000ms;            // above the node's submit_timeout_ms (10 s)
constexpr int manual_order_reserve_wh = 1000;     // a prosumer keeps 1 kWh for the evening
constexpr uint32_t refusal_examples_max = 8;
// Checkpoints on the local regtest chain.
constexpr auto chain_start_wait = 30s;            // litecoind answering RPC (a cold start takes ~1 s)
constexpr auto chain_stop_wait = 20s;
constexpr auto anchor_wait = 30s;                 // at the end: the first confirmed anchor, if none yet
constexpr int64_t qtum_block_s_max = 600;
}  // namespace limits

// The anchoring settings the demo gives its nodes: often enough that a short demo shows anchors.
constexpr uint64_t demo_anchor_every_entries = 200;
constexpr uint64_t demo_anchor_every_ms = 5'000;
constexpr uint32_t demo_confirmations = 2;
// Coinbase maturity of the stand-in (qtum::litecoin_regtest_with_qtum_policy): the first block
// mined to the anchor address is spendable once this many more are on top.
constexpr uint32_t chain_funding_blocks = 101;

// Community constants (as the simulator's community mode, tools/sim/community.cpp).
constexpr int64_t feed_in_price = 800;     // TSL base units per Wh the grid pays
constexpr int64_t retail_price = 3000;     // … the grid charges
constexpr int64_t household_tsl_units = 1000 * L::tsl_units_per_tsl;
constexpr int64_t vehicle_tsl_units = 200 * L::tsl_units_per_tsl;
constexpr int64_t station_tsl_units = 10 * L::tsl_units_per_tsl;
constexpr int64_t pool_tsl_units = 50'000'000 * L::tsl_units_per_tsl;
constexpr int64_t ev_power_w = 3700;
constexpr int64_t ev_need_wh = 10'000;
constexpr int64_t ev_cap_units = 2 * L::tsl_units_per_tsl;
constexpr int64_t station_fee_units_per_kwh = 50'000;
constexpr int64_t hour_ms = 3'600'000;
// 2026-06-21 00:00 UTC, a long summer day; the demo starts at --start-hour of it.
constexpr int64_t demo_day_ms = 1'782'000'000'000;  // 2026-06-21T00:00:00Z

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::string thousands(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return v < 0 ? "-" + s : s;
}
std::string tsl_text(int64_t units) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld.%08lld TSL", static_cast<long long>(units / L::tsl_units_per_tsl),
                static_cast<long long>(units % L::tsl_units_per_tsl));
  return buf;
}
std::string clock_text(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%a %H:%M", &tm);
  return buf;
}
std::string hex(const std::string& raw) { return crypto::to_hex(crypto::as_bytes(raw)); }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string run_capture(const std::string& cmd, int* exit_code = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  const int st = ::pclose(p);
  if (exit_code) *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::optional<std::string> find_litecoind() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    const std::string p = std::string(dir) + "/litecoind";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

crypto::ed25519_keypair device_key(const std::string& seed, const std::string& role, uint32_t i) {
  return crypto::ed25519_keypair::from_seed(
      crypto::sha256(crypto::as_bytes("energo/demo/v1/" + seed + "/" + role + "/" + std::to_string(i))));
}
crypto::secp256k1_secret_key account_key(const std::string& seed, const std::string& role, uint32_t i) {
  return tools::load::account_key("demo/" + seed + "/" + role, i);
}
L::account_address address_of(const crypto::secp256k1_secret_key& k) { return crypto::hash160_of(k.public_key().bytes); }

// Energy of a power curve over ledger time [from_ms, to_ms): per 15-minute slot of the day,
// watts × overlap. Integer (Wh rounded down per slot piece).
template <class Watts>
int64_t energy_wh(int64_t from_ms, int64_t to_ms, Watts&& watts_of_slot) {
  int64_t wh = 0;
  for (int64_t t = from_ms; t < to_ms;) {
    const int64_t slot_start = t - t % L::epoch_ms;
    const int64_t end = std::min(to_ms, slot_start + L::epoch_ms);
    const int64_t slot = (slot_start % (24 * hour_ms)) / L::epoch_ms;
    wh += watts_of_slot(slot) * (end - t) / hour_ms;
    t = end;
  }
  return wh;
}

// ---- The community ------------------------------------------------------------------------------

struct household {
  uint32_t index = 0;
  crypto::secp256k1_secret_key key;
  crypto::ed25519_keypair meter;
  bool prosumer = false;
  bool agent = false;
  int64_t pv_peak_w = 0;
  int64_t load_permille = 1000;
  uint64_t nonce = 0;
  uint64_t meter_sequence = 0;
  int64_t export_total_wh = 0;
  int64_t import_total_wh = 0;
  int64_t last_reading_ms = 0;
  uint64_t resting_order = 0;
};
struct unit_state {
  crypto::ed25519_keypair key;
  uint32_t owner = 0;
  int64_t capacity_wh = 0;
  uint64_t nonce = 0;
  uint64_t reported_epoch = UINT64_MAX;
};
struct vehicle {
  crypto::secp256k1_secret_key key;
  uint64_t nonce = 0;
  int64_t arrival_ms = 0;
  uint64_t session = 0;
  int64_t delivered_wh = 0;
  int64_t last_ms = 0;
  bool done = false;
};

struct stats {
  uint64_t submitted = 0, accepted = 0, refused = 0, unknown = 0, duplicates = 0;
  std::map<std::string, uint64_t> by_kind;
  std::map<std::string, uint64_t> refused_by_code;
  std::vector<std::string> refusal_examples;
  int64_t readings = 0, minted_wh = 0, burned_wh = 0, grid_import_wh = 0, grid_export_wh = 0;
  int64_t produced_wh = 0, load_wh = 0;  // simulated PV and household load behind the meters
  int64_t manual_orders = 0, own_trades = 0, own_filled_wh = 0;
  int64_t ev_sessions = 0, ev_delivered_wh = 0, ev_bought_wh = 0, ev_grid_wh = 0, ev_fees_units = 0;
  int64_t storage_reports = 0;
};

struct node_proc {
  std::string name, dir, config;
  uint16_t peer_port = 0, client_port = 0, http_port = 0;
  pid_t pid = -1;
  int exit_status = -1;
};

class demo {
 public:
  struct options {
    std::string node_bin;
    std::string dir;
    bool keep = false;
    int64_t duration_s = 180;
    int64_t speedup = 360;
    int64_t start_hour = 7;
    uint32_t households = 8;
    uint64_t seed = 1;
    uint32_t progress_s = 3;
    uint32_t clock_interval_ms = 500;
    std::string summary_json;
    std::string log_level = "info";
    bool qtum = true;               // anchor to a local litecoind -regtest when one is installed
    std::string litecoind;          // its binary (default: /usr/bin or /usr/local/bin)
    std::string energoctl;          // for the final `checkpoint verify`
    int64_t qtum_block_s = 2;       // a block every this many seconds
  };

  explicit demo(options o) : o_(std::move(o)), rng_(o_.seed) {}
  ~demo() { stop_chain(); }

  int run() {
    if (int rc = prepare(); rc != 0) return rc;
    if (int rc = start_nodes(); rc != 0) {
      stop_nodes();
      return rc;
    }
    const int rc = drive();
    return finish(rc);
  }

 private:
  // ---- Setup ------------------------------------------------------------------------------------
  int prepare() {
    if (o_.dir.empty()) {
      char tmpl[] = "/tmp/energo-demo-XXXXXX";
      if (!::mkdtemp(tmpl)) return fail(4, "cannot create a temporary directory");
      o_.dir = tmpl;
      made_dir_ = true;
    } else {
      std::error_code ec;
      if (fs::exists(o_.dir) && !fs::is_empty(o_.dir, ec)) return fail(2, "--dir " + o_.dir + " must be empty or missing");
      fs::create_directories(o_.dir, ec);
    }
    const std::string seed = std::to_string(o_.seed);
    admin_ = device_key(seed, "admin", 0);
    for (uint32_t i = 0; i < o_.households; ++i) {
      household h;
      h.index = i;
      h.key = account_key(seed, "household", i);
      h.meter = device_key(seed, "meter", i);
      h.prosumer = i % 2 == 0;                // half the households have PV
      h.agent = i % 4 < 2;                    // half trade through an automatic agent
      h.pv_peak_w = h.prosumer ? rng_.uniform(4000, 8000) : 0;
      h.load_permille = rng_.uniform(700, 1300);
      households_.push_back(h);
    }
    // One storage unit per four households (owned by a prosumer), one station, two vehicles.
    for (uint32_t k = 0; k < std::max<uint32_t>(1, o_.households / 4); ++k)
      units_.push_back(unit_state{device_key(seed, "unit", k), 4 * k, rng_.uniform(20, 40) * 1000, 0, UINT64_MAX});
    station_ = device_key(seed, "station", 0);
    station_account_ = account_key(seed, "station-account", 0);
    treasury_ = account_key(seed, "treasury", 0);
    const int64_t start_ms = demo_day_ms + o_.start_hour * hour_ms;
    for (uint32_t k = 0; k < 2; ++k) {
      vehicle v;
      v.key = account_key(seed, "vehicle", k);
      // The first arrives an hour into the demo; the second at 17:00, or two hours in.
      v.arrival_ms = k == 0 ? start_ms + hour_ms : std::max(demo_day_ms + 17 * hour_ms, start_ms + 2 * hour_ms);
      vehicles_.push_back(v);
    }

    sim::community_genesis_spec spec;
    spec.community_id = "energo-demo";
    spec.genesis_time_ms = start_ms;
    // Bmax = 4·Cu/(3·P) = 4·1500/(3·200) kWh = 10 kWh; fee 0.001 TSL per kWh held per epoch
    // (as examples/community).
    spec.params = L::community_params{100'000, 150'000, 20'000, 0};
    spec.admin = admin_.public_key();
    spec.allocations.push_back({L::education_pool_address(), pool_tsl_units});
    spec.allocations.push_back({L::network_pool_address(), pool_tsl_units});
    for (const auto& h : households_) spec.allocations.push_back({address_of(h.key), household_tsl_units});
    for (const auto& v : vehicles_) spec.allocations.push_back({address_of(v.key), vehicle_tsl_units});
    spec.allocations.push_back({address_of(station_account_), station_tsl_units});
    spec.treasury = address_of(treasury_);
    auto built = sim::community_genesis(spec);
    if (!built) return fail(4, "genesis: " + built.error().message);
    genesis_ = std::move(*built);
    genesis_.network = crypto::network::regtest;
    // Every account of this community (nothing else can hold tokens here), treasury last.
    for (const auto& a : genesis_.allocations) watched_.push_back(a.account);
    auto created = L::ledger::create(genesis_);  // checks the genesis before any node sees it
    if (!created) return fail(4, "genesis: " + created.error().message);
    bmax_wh_ = created->bmax_wh();
    genesis_hash_ = genesis_.hash();
    {
      std::ofstream g(o_.dir + "/genesis.json");
      g << tools::genesis_to_json(genesis_).dump(2) << "\n";
    }
    if (int rc = start_chain(); rc != 0) return rc;
    // Nodes: data directories, the bootstrap file, one config file each.
    const bool http = run_capture(shell_quote(o_.node_bin) + " start --help 2>&1").find("--http-listen") != std::string::npos;
    std::ofstream b(o_.dir + "/bootstrap.toml");
    b << "genesis = \"genesis.json\"\n";
    for (int i = 1; i <= 3; ++i) {
      node_proc n;
      n.name = "n" + std::to_string(i);
      n.dir = o_.dir + "/" + n.name;
      n.peer_port = energo::tools::reserve_loopback_port();
      n.client_port = energo::tools::reserve_loopback_port();
      if (http) n.http_port = energo::tools::reserve_loopback_port();
      const auto out = run_capture(shell_quote(o_.node_bin) + " init --json --data " + shell_quote(n.dir));
      std::string key;
      try {
        key = json::parse(out).at("public_key").get<std::string>();
      } catch (const std::exception&) {
        return fail(4, "energo-node init failed: " + out);
      }
      b << "\n[[member]]\nname = \"" << n.name << "\"\npublic_key = \"" << key << "\"\npeer = \"127.0.0.1:" << n.peer_port
        << "\"\nclient = \"127.0.0.1:" << n.client_port << "\"\n";
      n.config = o_.dir + "/" + n.name + ".toml";
      std::ofstream c(n.config);
      c << "# energo-demo: node " << n.name << " of the local demo community (docs/operations.md)\n"
        << "name = \"" << n.name << "\"\ndata_dir = \"" << n.name << "\"\nbootstrap = \"bootstrap.toml\"\n\n[listen]\n"
        << "peer = \"127.0.0.1:" << n.peer_port << "\"\nclient = \"127.0.0.1:" << n.client_port << "\"\n";
      if (http) c << "http = \"127.0.0.1:" << n.http_port << "\"\n";
      c << "\n[clock]\n# demo only: ledger time runs " << o_.speedup << "x faster than wall time\nspeedup = " << o_.speedup
        << "\ninterval_ms = " << o_.clock_interval_ms << "\n\n[log]\nlevel = \"" << o_.log_level << "\"\n";
      if (chain_) {
        c << "\n[qtum]\n# the local litecoind -regtest the demo started (Qtum's relay policy); a real qtumd: docs/node.md\n"
          << "network = \"litecoin-regtest\"\nrpc_url = \"http://127.0.0.1:" << chain_->rpc_port << "\"\n"
          << "rpc_cookie_file = \"" << chain_->cookie() << "\"\nkey_file = \"" << chain_->key_file << "\"\n"
          << "every_entries = " << demo_anchor_every_entries << "\nevery_ms = " << demo_anchor_every_ms
          << "\nconfirmations = " << demo_confirmations << "\npoll_ms = 250\nrpc_timeout_ms = 5000\n";
      }
      nodes_.push_back(n);
    }
    return 0;
  }

  int start_nodes() {
    conns_.resize(nodes_.size());
    for (auto& n : nodes_) {
      std::vector<std::string> args{o_.node_bin, "start", "--config", n.config};
      if (n.http_port != 0) args.insert(args.end(), {"--http-listen", "127.0.0.1:" + std::to_string(n.http_port)});
      tools::spawn_options spawn;
      spawn.log_path = o_.dir + "/" + n.name + ".log";
      spawn.own_process_group = true;         // Ctrl-C in the terminal reaches the driver only
      spawn.parent_death_signal = SIGTERM;    // never outlive the driver
      // Sanitizer builds only (no effect otherwise): a node can report a known shutdown leak of a
      // CAF actor under LeakSanitizer (tests/node/cluster_fixture.hpp); its exit code must stay
      // the documented 0.
      const char* asan = ::getenv("ASAN_OPTIONS");  // later flags win
      spawn.env = {"ASAN_OPTIONS=" + std::string(asan ? asan : "") + (asan ? ":" : "") + "detect_leaks=0"};
      const pid_t pid = tools::spawn_process(args, spawn);
      if (pid < 0) return fail(4, "fork failed");
      n.pid = pid;
    }
    std::printf("== Energo demo community: 3 nodes on 127.0.0.1 (data and logs in %s) ==\n", o_.dir.c_str());
    for (const auto& n : nodes_) {
      std::printf("   %s  pid %d  client 127.0.0.1:%u  peer 127.0.0.1:%u  config %s\n", n.name.c_str(), n.pid, n.client_port,
                  n.peer_port, n.config.c_str());
    }
    const auto deadline = clock_type::now() + limits::leader_wait;
    while (clock_type::now() < deadline && !g_stop) {
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (tools::wait_exit(nodes_[i].pid, 0ms)) {
          nodes_[i].pid = -1;
          return fail(4, nodes_[i].name + " exited at start (see " + o_.dir + "/" + nodes_[i].name + ".log)");
        }
      }
      if (auto s = status_of(0); s && s->leader != 0) {
        std::printf("   leader elected: node %llu (term %llu)\n", static_cast<unsigned long long>(s->leader),
                    static_cast<unsigned long long>(s->term));
        if (nodes_[0].http_port != 0) {
          std::printf("   dashboard: http://127.0.0.1:%u/  (every node serves one)\n", nodes_[0].http_port);
        }
        return 0;
      }
      std::this_thread::sleep_for(100ms);
    }
    return fail(4, "no leader within " + std::to_string(limits::leader_wait.count()) + " s (logs in " + o_.dir + ")");
  }

  // ---- Client port ------------------------------------------------------------------------------
  std::optional<net::client_response> call(std::size_t node, net::client_request req, std::chrono::milliseconds t) {
    if (!conns_[node].is_open()) {
      if (!conns_[node].connect({"127.0.0.1", nodes_[node].client_port}, 1000ms)) return std::nullopt;
    }
    auto r = conns_[node].call(std::move(req), t);
    if (!r) {
      conns_[node].close();
      return std::nullopt;
    }
    return std::move(*r);
  }

  std::optional<net::node_status> status_of(std::size_t node) {
    net::client_request req;
    req.what = net::client_request::kind::status;
    auto r = call(node, req, 2000ms);
    if (!r || r->what != net::client_response::kind::status) return std::nullopt;
    return r->status;
  }

  std::optional<net::account_answer> account_of(std::size_t node, const L::account_address& a, bool stale) {
    net::client_request req;
    req.what = net::client_request::kind::account;
    req.account.address = a;
    req.account.stale = stale;
    auto r = call(node, req, 3000ms);
    if (!r || r->what != net::client_response::kind::account) return std::nullopt;
    return r->account;
  }

  // Submits one signed command, spreading commands over the nodes; retries the same bytes on
  // busy / no leader / timeout / a lost connection (safe: its nonce applies it at most once).
  std::optional<net::command_outcome> submit(const L::command& cmd, const std::string& kind) {
    const auto bytes = L::encode(cmd);
    net::client_request req;
    req.what = net::client_request::kind::submit;
    req.command.assign(bytes.begin(), bytes.end());
    ++stats_.submitted;
    ++stats_.by_kind[kind];
    const auto deadline = clock_type::now() + limits::submit_deadline;
    std::size_t node = next_node_++ % nodes_.size();
    while (clock_type::now() < deadline) {
      auto r = call(node, req, limits::call_timeout);
      if (r && r->what == net::client_response::kind::outcome) {
        const auto& o = r->outcome;
        if (o.duplicate) ++stats_.duplicates;
        if (o.accepted) {
          ++stats_.accepted;
        } else {
          ++stats_.refused;
          ++stats_.refused_by_code[o.code_name];
          if (stats_.refusal_examples.size() < limits::refusal_examples_max)
            stats_.refusal_examples.push_back(kind + ": " + o.code_name + ": " + o.message);
        }
        return o;
      }
      if (r && r->what == net::client_response::kind::failure) {
        const auto c = r->failure.code;
        if (c != net::client_errc::busy && c != net::client_errc::no_leader && c != net::client_errc::timeout &&
            c != net::client_errc::shutting_down) {
          ++stats_.refused;
          ++stats_.refused_by_code[std::string(net::to_string(c))];
          if (stats_.refusal_examples.size() < limits::refusal_examples_max)
            stats_.refusal_examples.push_back(kind + ": " + std::string(net::to_string(c)) + ": " + r->failure.message);
          return std::nullopt;
        }
      }
      node = (node + 1) % nodes_.size();
      std::this_thread::sleep_for(50ms);
    }
    ++stats_.unknown;
    return std::nullopt;
  }

  L::command admin_cmd(L::command_body body) { return L::sign_ed25519(std::move(body), admin_, genesis_hash_); }
  L::admin_auth admin_auth() { return L::admin_auth{admin_.public_key(), ++admin_nonce_}; }

  // ---- The community's commands -----------------------------------------------------------------
  bool setup_community() {
    std::printf("-- registering %zu smart meters, %zu storage units and a charging station (admin-signed)\n",
                households_.size(), units_.size());
    bool ok = true;
    auto accepted = [&](const std::optional<net::command_outcome>& o) { ok = ok && o && o->accepted; };
    for (const auto& h : households_)
      accepted(submit(admin_cmd(L::register_meter{admin_auth(), h.meter.public_key(), address_of(h.key), 0, 0}), "register_meter"));
    for (const auto& u : units_)
      accepted(submit(admin_cmd(L::register_storage_unit{admin_auth(), u.key.public_key(), address_of(households_[u.owner].key),
                                                         u.capacity_wh}),
                      "register_storage_unit"));
    accepted(submit(admin_cmd(L::register_station{admin_auth(), station_.public_key(), address_of(station_account_),
                                                  station_fee_units_per_kwh}),
                    "register_station"));
    // Automatic agents (SPEC §4 "ZI"): a prosumer sells above a reserve at its price, a consumer
    // tops up below a threshold at its price; the unused side never triggers.
    int agents = 0;
    for (auto& h : households_) {
      if (!h.agent) continue;
      L::set_agent a;
      a.from_key = h.key.public_key();
      a.nonce = ++h.nonce;
      a.enabled = true;
      if (h.prosumer) {
        a.buy_price_units_per_wh = 1;
        a.buy_below_wh = 0;
        a.sell_price_units_per_wh = rng_.uniform(1200, 2000);
        a.sell_above_wh = rng_.uniform(500, 1500);
      } else {
        a.buy_price_units_per_wh = rng_.uniform(1600, 2600);
        a.buy_below_wh = rng_.uniform(3000, 6000);
        a.sell_price_units_per_wh = retail_price * 10;
        a.sell_above_wh = bmax_wh_;
      }
      accepted(submit(L::sign_secp256k1(a, h.key, genesis_hash_), "set_agent"));
      ++agents;
    }
    std::printf("-- %d automatic agents set; Bmax %s Wh per member; storage capacity %s Wh\n", agents,
                thousands(bmax_wh_).c_str(), thousands(capacity_wh()).c_str());
    return ok;
  }

  int64_t capacity_wh() const {
    int64_t c = 0;
    for (const auto& u : units_) c += u.capacity_wh;
    return c;
  }

  // Every household's meter reports its cumulative registers every 15 minutes of ledger time.
  void meter_readings(int64_t now_ms) {
    for (auto& h : households_) {
      if (now_ms - h.last_reading_ms < L::epoch_ms) continue;
      const int64_t flicker = rng_.uniform(900, 1100);
      const int64_t produced = h.prosumer ? energy_wh(h.last_reading_ms, now_ms, [&](int64_t slot) {
        return h.pv_peak_w * sim::pv_shape_permille(slot) / 1000 * flicker / 1000;
      }) : 0;
      const int64_t used = energy_wh(h.last_reading_ms, now_ms, [&](int64_t slot) {
        return sim::load_shape_w(slot) * h.load_permille / 1000;
      });
      stats_.produced_wh += produced;
      stats_.load_wh += used;
      // Own PV serves own load first (behind the meter); only the net flows cross it.
      const int64_t exported = std::max<int64_t>(0, produced - used), imported = std::max<int64_t>(0, used - produced);
      h.export_total_wh += exported;
      h.import_total_wh += imported;
      h.last_reading_ms = now_ms;
      auto o = submit(L::sign_ed25519(L::meter_reading{h.meter.public_key(), ++h.meter_sequence, now_ms, h.export_total_wh,
                                                       h.import_total_wh},
                                      h.meter, genesis_hash_),
                      "meter_reading");
      if (o && o->accepted) {
        ++stats_.readings;
        stats_.minted_wh += o->minted_wh;
        stats_.burned_wh += o->burned_wh;
        // Exact: exported energy is minted or goes to the grid; imported is burned or comes from it.
        stats_.grid_export_wh += exported - o->minted_wh;
        stats_.grid_import_wh += imported - o->burned_wh;
      }
    }
  }

  // Each storage unit reports, once per epoch, the energy it holds for the community: the WATT
  // total split by capacity (SPEC §3.5: the owners' fee share is pro rata to these reports).
  void storage_reports(uint64_t epoch) {
    const int64_t watt = std::max<int64_t>(0, stats_.minted_wh - stats_.burned_wh);
    const int64_t capacity = capacity_wh();
    for (auto& u : units_) {
      if (u.reported_epoch == epoch) continue;
      u.reported_epoch = epoch;
      const int64_t share = std::min(u.capacity_wh, watt * u.capacity_wh / capacity);
      auto o = submit(L::sign_ed25519(L::storage_report{u.key.public_key(), ++u.nonce, epoch, share}, u.key, genesis_hash_),
                      "storage_report");
      if (o && o->accepted) ++stats_.storage_reports;
    }
  }

  // Households without an agent trade by hand now and then, ZI-C style (Gode & Sunder): a consumer
  // bids below the retail price, a prosumer asks above the feed-in price for what it holds beyond
  // a reserve. A previous resting order is cancelled first.
  void manual_orders() {
    for (auto& h : households_) {
      if (h.agent || !rng_.chance(1, 2)) continue;
      if (h.resting_order != 0) {
        L::cancel_order c{h.key.public_key(), ++h.nonce, h.resting_order};
        (void)submit(L::sign_secp256k1(c, h.key, genesis_hash_), "cancel_order");  // refused if it filled meanwhile
        h.resting_order = 0;
      }
      auto a = account_of(static_cast<std::size_t>(h.index) % nodes_.size(), address_of(h.key), true);
      if (!a) continue;
      const int64_t quantity = h.prosumer ? a->watt_wh - limits::manual_order_reserve_wh : bmax_wh_ / 2 - a->watt_wh;
      if (quantity <= 0) continue;
      const int64_t price = rng_.uniform(feed_in_price, retail_price);
      L::place_order p{h.key.public_key(), ++h.nonce, h.prosumer ? market::side::sell : market::side::buy,
                       market::order_kind::limit, price, quantity};
      auto o = submit(L::sign_secp256k1(p, h.key, genesis_hash_), "place_order");
      if (o && o->accepted) {
        ++stats_.manual_orders;
        stats_.own_trades += o->trades;
        stats_.own_filled_wh += o->filled_wh;
        if (o->filled_wh < quantity) h.resting_order = o->order_id;
      }
    }
  }

  // A vehicle arrives, opens a session (spending cap, price cap = the retail price), and the
  // station reports the delivered energy as ledger time passes, at 3.7 kW, until the car is full
  // or the ledger stops the session (caps, or no energy within the price cap in the book).
  void ev_charging(int64_t now_ms) {
    for (auto& v : vehicles_) {
      if (v.done || now_ms < v.arrival_ms) continue;
      if (v.session == 0) {
        L::ev_open_session o{v.key.public_key(), ++v.nonce, station_.public_key(), ev_cap_units, retail_price};
        auto out = submit(L::sign_secp256k1(o, v.key, genesis_hash_), "ev_open_session");
        if (!out || !out->accepted) {
          v.done = true;
          continue;
        }
        v.session = out->session_id;
        v.last_ms = now_ms;
        ++stats_.ev_sessions;
        std::printf("   EV %s plugged in at the station (%s ledger time): session %llu\n",
                    crypto::address::from_public_key(v.key.public_key(), crypto::network::regtest).to_string().c_str(),
                    clock_text(now_ms).c_str(), static_cast<unsigned long long>(v.session));
        continue;
      }
      const int64_t step = std::min(ev_need_wh - v.delivered_wh, ev_power_w * (now_ms - v.last_ms) / hour_ms);
      if (step <= 0) continue;
      v.last_ms = now_ms;
      v.delivered_wh += step;
      const bool full = v.delivered_wh >= ev_need_wh;
      auto out = submit(L::sign_ed25519(L::ev_delivery{station_.public_key(), ++station_sequence_, v.session, v.delivered_wh, full},
                                        station_, genesis_hash_),
                        "ev_delivery");
      if (!out || !out->accepted) {
        v.done = true;
        continue;
      }
      stats_.ev_delivered_wh += step;
      stats_.ev_bought_wh += out->filled_wh;
      stats_.ev_grid_wh += step - out->filled_wh;
      stats_.ev_fees_units += out->fees_units;
      stats_.burned_wh += out->burned_wh;
      // The ledger closes the session when energy was not payable within the caps (booked as grid import).
      if (full || out->filled_wh < step) {
        v.done = true;
        std::printf("   EV session %llu %s: %s Wh delivered (%s Wh bought in the community)\n",
                    static_cast<unsigned long long>(v.session), full ? "finished" : "stopped by the ledger (book or caps)",
                    thousands(v.delivered_wh).c_str(), thousands(stats_.ev_bought_wh).c_str());
      }
    }
  }

  // ---- Main loop --------------------------------------------------------------------------------
  int drive() {
    if (!setup_community()) {
      std::fprintf(stderr, "energo-demo: the community setup was refused (%s)\n",
                   stats_.refusal_examples.empty() ? "no answer" : stats_.refusal_examples.front().c_str());
      return 3;
    }
    for (auto& h : households_) h.last_reading_ms = genesis_.genesis_time_ms;
    std::printf("-- running %lld s of wall time at %lldx: ledger time starts %s (UTC), one 15-minute epoch every %.1f s\n",
                static_cast<long long>(o_.duration_s), static_cast<long long>(o_.speedup),
                clock_text(genesis_.genesis_time_ms).c_str(), 900.0 / static_cast<double>(o_.speedup));
    std::printf("   progress below: what the client port answers (status, account reads) and the outcomes of the demo's own\n"
                "   commands; agent trades, prices per epoch and fee totals come in the summary, from the nodes' ledgers.\n"
                "   Ctrl-C stops early (clean shutdown and summary)\n");
    start_ = clock_type::now();
    const auto end = start_ + std::chrono::seconds(o_.duration_s);
    auto next_progress = start_ + std::chrono::seconds(o_.progress_s);
    uint64_t last_epoch = UINT64_MAX;
    while (!g_stop && clock_type::now() < end) {
      auto s = status_of(next_node_ % nodes_.size());
      if (!s) {
        ++next_node_;
        std::this_thread::sleep_for(100ms);
        continue;
      }
      last_status_ = *s;
      const int64_t now_ms = s->ledger_time_ms;
      if (s->epoch != last_epoch) {
        last_epoch = s->epoch;
        storage_reports(s->epoch);
        manual_orders();
      }
      meter_readings(now_ms);
      ev_charging(now_ms);
      mine_when_due();
      if (clock_type::now() >= next_progress) {
        progress();
        next_progress += std::chrono::seconds(o_.progress_s);
      }
      std::this_thread::sleep_for(100ms);
    }
    if (g_stop) std::printf("\n-- interrupted: shutting the community down cleanly\n");
    progress();
    return 0;
  }

  struct balances {
    int64_t tsl_units = 0, watt_wh = 0, education_units = 0, network_units = 0;
    uint64_t applied_index = 0;
    bool complete = false;
  };
  // Every account this community has (genesis allocations; nothing else can hold tokens here).
  balances read_balances(bool stale) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      balances b;
      b.complete = true;
      std::optional<uint64_t> index;
      bool same_index = true;
      for (const auto& a : watched_) {
        auto r = account_of(0, a, stale);
        if (!r) {
          b.complete = false;
          break;
        }
        if (index && *index != r->applied_index) same_index = false;
        index = r->applied_index;
        b.tsl_units += r->tsl_units;
        b.watt_wh += r->watt_wh;
        if (a == L::education_pool_address()) b.education_units = r->tsl_units;
        if (a == L::network_pool_address()) b.network_units = r->tsl_units;
      }
      b.applied_index = index.value_or(0);
      if (b.complete && same_index) return b;  // one consistent view
    }
    return balances{};
  }

  // A named read (actors/query.hpp) from this node's replica (stale: progress needs no read index).
  std::optional<nlohmann::json> query_of(std::size_t node, const std::string& name, const nlohmann::json& params) {
    net::client_request req;
    req.what = net::client_request::kind::query;
    req.query.name = name;
    req.query.params_json = params.dump();
    req.query.stale = true;
    auto r = call(node, req, 3000ms);
    if (!r || r->what != net::client_response::kind::query) return std::nullopt;
    auto j = nlohmann::json::parse(r->text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
  }

  void progress() {
    const double wall = std::chrono::duration<double>(clock_type::now() - start_).count();
    const auto b = read_balances(true);
    // The whole community's market and flows as the node's queries answer them (agents' trades
    // included), next to what this driver saw of its own commands.
    const auto summary = query_of(0, "summary", nlohmann::json::object());
    const auto epochs = query_of(0, "epochs", {{"limit", 1}});
    std::printf("[%5.0fs] index %llu (commit %llu) | ledger %s, epoch %llu | commands %llu (%llu refused)\n", wall,
                static_cast<unsigned long long>(last_status_.applied_index),
                static_cast<unsigned long long>(last_status_.commit_index), clock_text(last_status_.ledger_time_ms).c_str(),
                static_cast<unsigned long long>(last_status_.epoch), static_cast<unsigned long long>(stats_.submitted),
                static_cast<unsigned long long>(stats_.refused));
    std::printf("         energy: %lld readings, stored %s Wh, served %s Wh, grid in %s / out %s Wh",
                static_cast<long long>(stats_.readings), thousands(stats_.minted_wh).c_str(), thousands(stats_.burned_wh).c_str(),
                thousands(stats_.grid_import_wh).c_str(), thousands(stats_.grid_export_wh).c_str());
    if (b.complete) std::printf(" | WATT held %s Wh", thousands(b.watt_wh).c_str());
    std::printf("\n         market: %lld manual orders, %lld trades on placing (%s Wh)", static_cast<long long>(stats_.manual_orders),
                static_cast<long long>(stats_.own_trades), thousands(stats_.own_filled_wh).c_str());
    if (stats_.ev_sessions) {
      std::printf(" | EV %s Wh charged (%s Wh from the book)", thousands(stats_.ev_delivered_wh).c_str(),
                  thousands(stats_.ev_bought_wh).c_str());
    }
    if (b.complete) std::printf(" | fees: education pool +%s (its 10%%)", tsl_text(b.education_units - pool_tsl_units).c_str());
    std::printf("\n");
    if (chain_) {
      const auto cp = checkpoints();
      const auto height = chain_->rpc->get_block_count();
      std::printf("         checkpoints: ");
      if (!cp) {
        std::printf("(no answer)");
      } else {
        const auto& anchors = cp->at("anchors");
        std::printf("%zu confirmed", anchors.size());
        if (!anchors.empty()) {
          const auto& a = anchors.back();
          std::printf(" (latest: index %llu in block %llu, tx %.16s…)", static_cast<unsigned long long>(a["index"].get<uint64_t>()),
                      static_cast<unsigned long long>(a["height"].get<uint64_t>()), a["txid"].get<std::string>().c_str());
        }
        if (!cp->at("in_flight").is_null()) {
          std::printf(" | anchoring index %llu (tx %.16s…)", static_cast<unsigned long long>(cp->at("in_flight")["index"].get<uint64_t>()),
                      cp->at("in_flight")["txid"].get<std::string>().c_str());
        }
        const auto& service = cp->at("service");
        if (service.is_object() && service.value("alert", "none") != "none") {
          std::printf(" | alert %s: %s", service.value("alert", "").c_str(), service.value("last_error", "").c_str());
        }
      }
      if (height) std::printf(" | regtest height %llu", static_cast<unsigned long long>(*height));
      std::printf("\n");
    }
    if (summary && summary->contains("totals") && epochs && epochs->contains("epochs")) {
      const auto& t = (*summary)["totals"];
      std::printf("         community: %s trades, %s Wh", thousands(t.value("market_trades", int64_t{0})).c_str(),
                  thousands(t.value("market_volume_wh", int64_t{0})).c_str());
      if (!(*epochs)["epochs"].empty()) {
        const auto& e = (*epochs)["epochs"][0];  // newest epoch with trades
        std::printf(" | last price %lld units/Wh (epoch %llu: %lld trades, %s Wh, %lld…%lld)",
                    static_cast<long long>(e.value("last_price_units_per_wh", int64_t{0})),
                    static_cast<unsigned long long>(e.value("epoch", uint64_t{0})), static_cast<long long>(e.value("trades", int64_t{0})),
                    thousands(e.value("volume_wh", int64_t{0})).c_str(), static_cast<long long>(e.value("low_price_units_per_wh", int64_t{0})),
                    static_cast<long long>(e.value("high_price_units_per_wh", int64_t{0})));
      }
      std::printf(" | fees %s | grid in %s / out %s Wh\n", tsl_text(t.value("fees_collected_units", int64_t{0})).c_str(),
                  thousands(t.value("grid_import_wh", int64_t{0})).c_str(), thousands(t.value("grid_export_wh", int64_t{0})).c_str());
    }
    std::fflush(stdout);
  }

  // ---- Checkpoints on a local regtest chain -----------------------------------------------------
  struct regtest_chain {
    pid_t pid = -1;
    std::string datadir, key_file, anchor_address, miner_address;
    uint16_t rpc_port = 0, p2p_port = 0;
    std::optional<qtum::rpc_client> rpc;
    clock_type::time_point next_block = clock_type::now();
    [[nodiscard]] std::string cookie() const { return datadir + "/regtest/.cookie"; }
    [[nodiscard]] std::string rpc_url() const { return "http://127.0.0.1:" + std::to_string(rpc_port); }
  };

  // Starts litecoind -regtest and funds the community's anchor key; 0 also when skipped.
  int start_chain() {
    if (!o_.qtum) {
      std::printf("-- checkpoints: off (--no-qtum)\n");
      return 0;
    }
    if (o_.litecoind.empty()) {
      if (auto found = find_litecoind()) o_.litecoind = *found;
    }
    if (o_.litecoind.empty() || ::access(o_.litecoind.c_str(), X_OK) != 0) {
      std::printf("-- checkpoints: skipped, litecoind is not installed (scripts/install-deps.sh installs it; it stands in\n"
                  "   for a Qtum node on a local regtest chain). The community runs without anchoring its state roots.\n");
      return 0;
    }
    regtest_chain c;
    c.datadir = o_.dir + "/litecoind";
    c.key_file = o_.dir + "/qtum-key.json";
    c.rpc_port = energo::tools::reserve_loopback_port();
    c.p2p_port = energo::tools::reserve_loopback_port();
    std::error_code ec;
    fs::create_directories(c.datadir, ec);
    const auto params = qtum::litecoin_regtest_with_qtum_policy();
    const auto key = account_key(std::to_string(o_.seed), "qtum-anchor", 0);
    if (auto w = tools::write_key_file(c.key_file, tools::key_file::of(key, crypto::network::regtest), true); !w) {
      return fail(4, "qtum key file: " + w.error());
    }
    c.anchor_address = qtum::anchor_address(params, key.public_key());
    c.miner_address = qtum::anchor_address(params, account_key(std::to_string(o_.seed), "qtum-miner", 0).public_key());
    // Qtum's relay policy (min relay and dust relay fee 400,000 sat/kvB), as tests/qtum does.
    std::vector<std::string> args{o_.litecoind, "-regtest", "-datadir=" + c.datadir, "-rpcbind=127.0.0.1",
                                  "-rpcallowip=127.0.0.1", "-rpcport=" + std::to_string(c.rpc_port),
                                  "-port=" + std::to_string(c.p2p_port), "-listen=0", "-dnsseed=0", "-disablewallet",
                                  "-printtoconsole=0", "-minrelaytxfee=0.004", "-dustrelayfee=0.004"};
    tools::spawn_options spawn;
    spawn.log_path = o_.dir + "/litecoind.log";
    spawn.own_process_group = true;
    spawn.parent_death_signal = SIGKILL;  // never outlive the driver
    const pid_t pid = tools::spawn_process(args, spawn);
    if (pid < 0) return fail(4, "fork failed");
    c.pid = pid;
    qtum::rpc_config rc;
    rc.port = c.rpc_port;
    rc.cookie_file = c.cookie();
    rc.connect_timeout_ms = 1000;
    rc.read_timeout_ms = 30'000;
    rc.attempts_max = 3;
    rc.backoff_initial_ms = 100;
    rc.backoff_max_ms = 500;
    c.rpc.emplace(rc);
    chain_ = std::move(c);
    const auto deadline = clock_type::now() + limits::chain_start_wait;
    while (!chain_->rpc->get_block_count()) {
      if (clock_type::now() > deadline || g_stop) return fail(4, "litecoind did not answer (see " + o_.dir + "/litecoind.log)");
      std::this_thread::sleep_for(100ms);
    }
    auto mined = chain_->rpc->call("generatetoaddress", nlohmann::json::array({chain_funding_blocks, chain_->anchor_address}));
    if (!mined) return fail(4, "litecoind: generatetoaddress: " + mined.error().message);
    std::printf("-- checkpoints: litecoind -regtest (stand-in for a Qtum node, Qtum's relay policy) at %s, data in %s\n"
                "   the community's anchor address %s holds %u mined blocks (1 mature); a block every %lld s;\n"
                "   the nodes anchor their state root every %llu entries or %llu s, confirmed at depth %u\n",
                chain_->rpc_url().c_str(), chain_->datadir.c_str(), chain_->anchor_address.c_str(), chain_funding_blocks,
                static_cast<long long>(o_.qtum_block_s), static_cast<unsigned long long>(demo_anchor_every_entries),
                static_cast<unsigned long long>(demo_anchor_every_ms / 1000), demo_confirmations);
    chain_->next_block = clock_type::now() + std::chrono::seconds(o_.qtum_block_s);
    return 0;
  }

  void mine_when_due(bool now = false) {
    if (!chain_ || (!now && clock_type::now() < chain_->next_block)) return;
    chain_->next_block = clock_type::now() + std::chrono::seconds(o_.qtum_block_s);
    (void)chain_->rpc->call("generatetoaddress", nlohmann::json::array({1, chain_->miner_address}));
  }

  void stop_chain() {
    if (!chain_ || chain_->pid <= 0) return;
    qtum::rpc_config rc = chain_->rpc->config();
    rc.attempts_max = 1;
    (void)qtum::rpc_client(rc).call("stop");
    if (!tools::wait_exit(chain_->pid, limits::chain_stop_wait)) (void)tools::kill_and_wait(chain_->pid, SIGKILL);
    chain_->pid = -1;
  }

  // The checkpoint book as node 0 answers it (the client port's `checkpoint` request).
  std::optional<nlohmann::json> checkpoints() {
    net::client_request req;
    req.what = net::client_request::kind::checkpoint;
    auto r = call(0, req, 3000ms);
    if (!r || r->what != net::client_response::kind::checkpoint) return std::nullopt;
    auto j = nlohmann::json::parse(r->text, nullptr, false);
    if (j.is_discarded() || !j.contains("anchors") || !j.contains("in_flight")) return std::nullopt;
    return j;
  }

  // At the end, nodes still running: waits for a confirmed anchor (mining), then checks the
  // latest one as an auditor would, with energoctl and the regtest node only. False on FAIL.
  bool verify_checkpoint(json& summary) {
    summary["qtum"] = chain_.has_value();
    if (!chain_) return true;
    std::optional<nlohmann::json> cp = checkpoints();
    const auto deadline = clock_type::now() + limits::anchor_wait;
    while ((!cp || cp->at("anchors").empty()) && clock_type::now() < deadline && !g_stop) {
      mine_when_due(true);
      std::this_thread::sleep_for(1s);
      cp = checkpoints();
    }
    summary["anchors_confirmed"] = cp ? cp->at("anchors").size() : 0;
    if (!cp || cp->at("anchors").empty()) {
      std::printf("checkpoints: NO anchor confirmed within %lld s after the run (logs in %s)\n",
                  static_cast<long long>(limits::anchor_wait.count()), o_.dir.c_str());
      summary["checkpoint_verified"] = false;
      return false;
    }
    const uint64_t index = cp->at("anchors").back()["index"].get<uint64_t>();
    summary["checkpoint_verified_index"] = index;
    if (::access(o_.energoctl.c_str(), X_OK) != 0) {
      std::printf("checkpoints: %zu anchors confirmed; verify skipped: %s is not executable (build energoctl or give --energoctl)\n",
                  cp->at("anchors").size(), o_.energoctl.c_str());
      return true;
    }
    std::string endpoints;
    for (const auto& n : nodes_) endpoints += (endpoints.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(n.client_port);
    const std::string cmd = shell_quote(o_.energoctl) + " --endpoints " + endpoints + " checkpoint verify " + std::to_string(index) +
                            " --qtum-rpc " + chain_->rpc_url() + " --rpc-cookie " + shell_quote(chain_->cookie()) + " 2>&1";
    int rc = -1;
    const std::string out = run_capture(cmd, &rc);
    std::printf("checkpoints: %zu anchors confirmed on the regtest chain; the latest, checked as an auditor would:\n"
                "   $ energoctl --endpoints %s checkpoint verify %llu --qtum-rpc %s --rpc-cookie %s\n",
                cp->at("anchors").size(), endpoints.c_str(), static_cast<unsigned long long>(index), chain_->rpc_url().c_str(),
                chain_->cookie().c_str());
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) std::printf("   %s\n", line.c_str());
    const bool pass = rc == 0 && out.find("PASS") != std::string::npos;
    summary["checkpoint_verified"] = pass;
    if (!pass) std::printf("checkpoints: verify FAILED (exit %d)\n", rc);
    return pass;
  }

  // ---- Shutdown and summary ---------------------------------------------------------------------
  void stop_nodes() {
    for (auto& n : nodes_)
      if (n.pid > 0) ::kill(n.pid, SIGTERM);
    const auto deadline = clock_type::now() + limits::stop_wait;
    for (auto& n : nodes_) {
      if (n.pid <= 0) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (const auto status = tools::wait_exit(n.pid, std::max(left, 0ms))) {
        n.exit_status = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
      } else {
        (void)tools::kill_and_wait(n.pid, SIGKILL);
        n.exit_status = 137;
      }
      n.pid = -1;
    }
  }

  struct stored_node {
    bool ok = false;
    std::string error;
    uint64_t image_index = 0;  // the stored ledger image's applied index
    uint64_t applied = 0;      // after replaying the committed log entries behind it
    std::string root_hex;
    std::vector<std::string> problems;
    std::optional<L::ledger> led;
  };
  stored_node read_store(const node_proc& n) {
    stored_node out;
    storage::store_options so;
    so.create_if_missing = false;
    so.block_cache_bytes = 8u << 20;
    so.write_buffer_bytes_total = 8u << 20;
    so.write_buffer_bytes_per_family = 4u << 20;
    auto st = storage::node_store::open(n.dir + "/db", so);
    if (!st) {
      out.error = "open: " + st.error().message;
      return out;
    }
    constexpr storage::group_id community_group = 1;  // actors/runtime.hpp
    out.applied = (*st)->applied_index(community_group);
    auto bytes = (*st)->get_state(community_group, "ledger");
    if (!bytes || !bytes->has_value()) {
      out.error = "no stored ledger";
      return out;
    }
    auto led = L::ledger::restore(crypto::as_bytes(**bytes));
    if (!led) {
      out.error = "stored ledger does not restore: " + led.error().message;
      return out;
    }
    // The ledger image is written by group commit (actors/README.md), so it can stand a few entries
    // behind the commit index; the node replays those from its Raft log at its next start. So do
    // we, as an auditor would: every committed entry after the image, signatures verified again.
    out.image_index = out.applied;
    const uint64_t commit = (*st)->hard_state(community_group).commit;
    for (uint64_t i = out.applied + 1; i <= commit;) {
      auto got = (*st)->entries(community_group, i, commit + 1, 4u << 20);
      if (!got || got->empty()) {
        out.error = "log entry " + std::to_string(i) + " unreadable";
        return out;
      }
      for (const auto& e : *got) {
        i = e.index + 1;
        if (e.type != static_cast<uint8_t>(consensus::entry_type::normal)) continue;
        const auto kind = actors::kind_of(e.payload);
        if (kind == actors::entry_kind::leader_tick) {
          if (auto t = actors::decode_tick_entry(e.payload)) (void)led->apply(L::command{L::tick{*t}, {}});
        } else if (kind == actors::entry_kind::command_batch) {
          for (const auto& command_bytes : actors::decode_command_batch(e.payload).value_or(std::vector<std::string>{})) {
            auto cmd = L::decode(crypto::as_bytes(command_bytes));
            if (cmd && !std::holds_alternative<L::tick>(cmd->body)) (void)led->verify_and_apply(*cmd);  // refusals are the record
          }
        }
        out.applied = e.index;
      }
    }
    out.root_hex = crypto::to_hex(led->state_root());
    out.problems = led->check_invariants();
    out.led.emplace(std::move(*led));
    out.ok = true;
    (void)(*st)->close();
    return out;
  }

  int finish(int drive_rc) {
    json summary;
    bool ok = drive_rc == 0;
    std::printf("\n== summary ==\n");
    const double wall = std::chrono::duration<double>(clock_type::now() - start_).count();
    // 1. The three nodes at one applied index with one state root (live, before the stop).
    std::optional<std::pair<uint64_t, std::string>> agreed;
    const auto deadline = clock_type::now() + limits::agree_wait;
    std::vector<net::node_status> last(nodes_.size());
    while (!agreed && clock_type::now() < deadline) {
      bool all = true;
      for (std::size_t i = 0; i < nodes_.size() && all; ++i) {
        auto s = status_of(i);
        if (!s) all = false;
        else last[i] = *s;
      }
      if (all && last[0].applied_index > 0 &&
          std::all_of(last.begin(), last.end(), [&](const net::node_status& s) {
            return s.applied_index == last[0].applied_index && s.state_root == last[0].state_root;
          })) {
        agreed = std::pair{last[0].applied_index, hex(last[0].state_root)};
      } else {
        std::this_thread::sleep_for(20ms);
      }
    }
    if (agreed) {
      std::printf("nodes agree: n1, n2, n3 at applied index %llu, state root %s\n",
                  static_cast<unsigned long long>(agreed->first), agreed->second.c_str());
    } else {
      ok = false;
      std::printf("nodes did NOT report one state root at one index within %lld s:\n",
                  static_cast<long long>(limits::agree_wait.count()));
      for (std::size_t i = 0; i < nodes_.size(); ++i)
        std::printf("   %s applied %llu root %s\n", nodes_[i].name.c_str(), static_cast<unsigned long long>(last[i].applied_index),
                    hex(last[i].state_root).c_str());
    }
    summary["agreed"] = agreed.has_value();
    summary["agreed_index"] = agreed ? agreed->first : 0;
    summary["agreed_state_root"] = agreed ? agreed->second : "";
    // 2. Live ledger invariants from linearizable account reads.
    const auto b = read_balances(false);
    const bool live_tsl = b.complete && b.tsl_units == L::tsl_supply_units;
    const bool live_watt = b.complete && stats_.unknown == 0 && b.watt_wh == stats_.minted_wh - stats_.burned_wh;
    if (b.complete) {
      std::printf("live reads (linearizable, %zu accounts at index %llu): TSL total %s units %s 10^17; WATT held %s Wh %s minted %s − burned %s (outcomes of the demo's commands)\n",
                  watched_.size(), static_cast<unsigned long long>(b.applied_index), thousands(b.tsl_units).c_str(),
                  live_tsl ? "=" : "!=", thousands(b.watt_wh).c_str(), live_watt ? "=" : "!=", thousands(stats_.minted_wh).c_str(),
                  thousands(stats_.burned_wh).c_str());
    } else {
      std::printf("live reads: the accounts could not be read consistently\n");
    }
    ok = ok && live_tsl && live_watt;
    summary["live_tsl_total_units"] = b.tsl_units;
    summary["live_watt_total_wh"] = b.watt_wh;
    summary["live_tsl_ok"] = live_tsl;
    summary["live_watt_ok"] = live_watt;
    // 3. A checkpoint anchored on the local regtest chain, verified (nodes still running).
    ok = verify_checkpoint(summary) && ok;
    // 4. Clean stop.
    stop_nodes();
    stop_chain();
    std::printf("stopped: ");
    json exits = json::object();
    for (const auto& n : nodes_) {
      std::printf("%s exit %d  ", n.name.c_str(), n.exit_status);
      exits[n.name] = n.exit_status;
      ok = ok && n.exit_status == 0;
    }
    std::printf("(SIGTERM: drain, flush, exit 0)\n");
    summary["exit_codes"] = exits;
    // 5. Each node's stored ledger, read from its data directory after the stop.
    std::vector<stored_node> stored;
    for (const auto& n : nodes_) stored.push_back(read_store(n));
    json nodes_json = json::array();
    std::optional<std::size_t> most;
    for (std::size_t i = 0; i < stored.size(); ++i) {
      const auto& s = stored[i];
      if (!s.ok) {
        ok = false;
        std::printf("%s: stored state unreadable: %s\n", nodes_[i].name.c_str(), s.error.c_str());
        continue;
      }
      std::printf("%s stored: image at %llu + log to commit index %llu, state root %s, ledger invariants %s\n",
                  nodes_[i].name.c_str(), static_cast<unsigned long long>(s.image_index),
                  static_cast<unsigned long long>(s.applied), s.root_hex.c_str(),
                  s.problems.empty() ? "ok" : ("VIOLATED: " + s.problems.front()).c_str());
      ok = ok && s.problems.empty();
      nodes_json.push_back({{"name", nodes_[i].name}, {"image_index", s.image_index}, {"applied_index", s.applied}, {"state_root", s.root_hex},
                            {"invariant_problems", s.problems}});
      if (!most || s.applied > stored[*most].applied) most = i;
      for (std::size_t j = 0; j < i; ++j)
        if (stored[j].ok && stored[j].applied == s.applied && stored[j].root_hex != s.root_hex) {
          ok = false;
          std::printf("   DIVERGED: %s and %s differ at index %llu\n", nodes_[j].name.c_str(), nodes_[i].name.c_str(),
                      static_cast<unsigned long long>(s.applied));
        }
    }
    summary["nodes"] = nodes_json;
    if (most) {
      auto& led = *stored[*most].led;
      const auto& t = led.sums();
      const int64_t tsl = led.tsl_total_units(), watt = led.watt_total_wh();
      const bool tsl_ok = tsl == L::tsl_supply_units, watt_ok = watt == t.watt_minted_wh - t.watt_burned_wh;
      ok = ok && tsl_ok && watt_ok;
      const uint64_t epochs = led.epoch();
      std::printf("\nthe community's ledger (%s, the most advanced node), %.0f s of wall time = ledger %s → %s, %llu epochs closed:\n",
                  nodes_[*most].name.c_str(), wall, clock_text(genesis_.genesis_time_ms).c_str(), clock_text(led.time_ms()).c_str(),
                  static_cast<unsigned long long>(epochs));
      std::printf("  energy   PV %s Wh, household load %s Wh (simulated); stored (minted) %s Wh, served from storage (burned) %s Wh,\n"
                  "           grid import %s Wh, grid export %s Wh\n",
                  thousands(stats_.produced_wh).c_str(), thousands(stats_.load_wh).c_str(), thousands(t.watt_minted_wh).c_str(),
                  thousands(t.watt_burned_wh).c_str(), thousands(t.grid_import_wh).c_str(), thousands(t.grid_export_wh).c_str());
      market::int128 notional = 0;
      int64_t low = 0, high = 0;
      std::vector<market::epoch_stats> traded;
      for (const auto& e : led.book().epochs()) {
        if (e.trade_count == 0) continue;
        notional += e.notional_units;
        low = low == 0 ? e.low_price_units_per_wh : std::min(low, e.low_price_units_per_wh);
        high = std::max(high, e.high_price_units_per_wh);
        traded.push_back(e);
      }
      std::printf("  market   %lld trades, %s Wh; %lld orders placed by agents, %lld manual orders (%lld trades on placing)\n",
                  static_cast<long long>(t.market_trades), thousands(t.market_volume_wh).c_str(),
                  static_cast<long long>(t.agent_orders), static_cast<long long>(stats_.manual_orders),
                  static_cast<long long>(stats_.own_trades));
      if (!traded.empty()) {
        int64_t volume = 0;
        for (const auto& e : traded) volume += e.volume_wh;
        std::printf("           trade prices %lld … %lld units/Wh, volume-weighted mean %lld (grid: feed-in %lld, retail %lld)\n",
                    static_cast<long long>(low), static_cast<long long>(high),
                    static_cast<long long>(volume ? static_cast<int64_t>(notional / volume) : 0),
                    static_cast<long long>(feed_in_price), static_cast<long long>(retail_price));
        std::printf("           per epoch (last %zu with trades): ", std::min<std::size_t>(traded.size(), 6));
        for (std::size_t k = traded.size() > 6 ? traded.size() - 6 : 0; k < traded.size(); ++k) {
          const auto& e = traded[k];
          std::printf("#%llu %s %llu×/%lld Wh @%lld  ", static_cast<unsigned long long>(e.epoch),
                      clock_text(genesis_.genesis_time_ms + static_cast<int64_t>(e.epoch) * L::epoch_ms).c_str(),
                      static_cast<unsigned long long>(e.trade_count), static_cast<long long>(e.volume_wh),
                      static_cast<long long>(e.last_price_units_per_wh));
        }
        std::printf("\n");
      }
      std::printf("  fees     collected %s: storage owners %s, education pool %s, network pool %s\n",
                  tsl_text(t.fees_collected_units).c_str(), tsl_text(t.fees_to_owners_units).c_str(),
                  tsl_text(t.fees_to_education_units).c_str(), tsl_text(t.fees_to_network_units).c_str());
      std::printf("  EV       %lld session(s), %s Wh delivered, %s Wh bought in the community, %s Wh from the grid, station fees %s\n",
                  static_cast<long long>(stats_.ev_sessions), thousands(stats_.ev_delivered_wh).c_str(),
                  thousands(stats_.ev_bought_wh).c_str(), thousands(stats_.ev_grid_wh).c_str(), tsl_text(stats_.ev_fees_units).c_str());
      std::printf("  commands %llu submitted by the demo: %llu accepted, %llu refused, %llu unanswered",
                  static_cast<unsigned long long>(stats_.submitted), static_cast<unsigned long long>(stats_.accepted),
                  static_cast<unsigned long long>(stats_.refused), static_cast<unsigned long long>(stats_.unknown));
      for (const auto& [code, n] : stats_.refused_by_code) std::printf("; %s %llu", code.c_str(), static_cast<unsigned long long>(n));
      std::printf("\n");
      for (const auto& e : stats_.refusal_examples) std::printf("           e.g. %s\n", e.c_str());
      std::printf("invariants: TSL total %s = 10^17 %s; WATT total %s Wh = minted %s − burned %s %s\n", thousands(tsl).c_str(),
                  tsl_ok ? "ok" : "VIOLATED", thousands(watt).c_str(), thousands(t.watt_minted_wh).c_str(),
                  thousands(t.watt_burned_wh).c_str(), watt_ok ? "ok" : "VIOLATED");
      // Every mint and burn comes from a command this demo submitted and got an answer for, and
      // every answered command is at or below the most advanced node's commit index: the
      // ledger's lifetime totals must equal the sum of those outcomes.
      const bool reconciled = stats_.unknown == 0 && t.watt_minted_wh == stats_.minted_wh && t.watt_burned_wh == stats_.burned_wh;
      ok = ok && reconciled;
      std::printf("outcomes: the ledger's minted %s / burned %s Wh %s the sums of the outcomes the demo received (%s / %s)\n",
                  thousands(t.watt_minted_wh).c_str(), thousands(t.watt_burned_wh).c_str(), reconciled ? "equal" : "DO NOT equal",
                  thousands(stats_.minted_wh).c_str(), thousands(stats_.burned_wh).c_str());
      summary["outcomes_reconcile"] = reconciled;
      summary["epochs_closed"] = epochs;
      summary["ledger_time_ms"] = led.time_ms();
      summary["trades"] = t.market_trades;
      summary["volume_wh"] = t.market_volume_wh;
      summary["agent_orders"] = t.agent_orders;
      summary["minted_wh"] = t.watt_minted_wh;
      summary["burned_wh"] = t.watt_burned_wh;
      summary["grid_import_wh"] = t.grid_import_wh;
      summary["grid_export_wh"] = t.grid_export_wh;
      summary["fees_collected_units"] = t.fees_collected_units;
      summary["tsl_total_units"] = tsl;
      summary["watt_total_wh"] = watt;
      summary["tsl_ok"] = tsl_ok;
      summary["watt_ok"] = watt_ok;
    } else {
      ok = false;
    }
    summary["commands_submitted"] = stats_.submitted;
    summary["commands_accepted"] = stats_.accepted;
    summary["commands_refused"] = stats_.refused;
    summary["commands_unanswered"] = stats_.unknown;
    summary["refused_by_code"] = stats_.refused_by_code;
    summary["manual_orders"] = stats_.manual_orders;
    summary["ev_sessions"] = stats_.ev_sessions;
    summary["ev_delivered_wh"] = stats_.ev_delivered_wh;
    summary["ok"] = ok;
    if (!o_.summary_json.empty()) {
      std::ofstream f(o_.summary_json);
      f << summary.dump(2) << "\n";
    }
    std::printf("result: %s\n", ok ? "ok" : "FAILED");
    if (made_dir_ && !o_.keep && ok) {
      std::error_code ec;
      fs::remove_all(o_.dir, ec);
    } else {
      std::printf("data directories and logs kept in %s\n", o_.dir.c_str());
    }
    return ok ? 0 : 3;
  }

  int fail(int code, const std::string& message) {
    std::fprintf(stderr, "energo-demo: %s\n", message.c_str());
    return code;
  }

  options o_;
  sim::rng rng_;
  bool made_dir_ = false;
  crypto::ed25519_keypair admin_ = crypto::ed25519_keypair::from_seed({});
  uint64_t admin_nonce_ = 0;
  std::vector<household> households_;
  std::vector<unit_state> units_;
  std::vector<vehicle> vehicles_;
  crypto::ed25519_keypair station_ = crypto::ed25519_keypair::from_seed({});
  uint64_t station_sequence_ = 0;
  crypto::secp256k1_secret_key station_account_ = tools::load::account_key("unused", 0);
  crypto::secp256k1_secret_key treasury_ = tools::load::account_key("unused", 0);
  L::genesis genesis_;
  crypto::hash256 genesis_hash_{};
  int64_t bmax_wh_ = 0;
  std::vector<L::account_address> watched_;
  std::vector<node_proc> nodes_;
  std::optional<regtest_chain> chain_;
  std::vector<net::client_conn> conns_;
  std::size_t next_node_ = 0;
  stats stats_;
  net::node_status last_status_;
  clock_type::time_point start_ = clock_type::now();
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"energo-demo: a local 3-node Energo community with simulated meters, agents, orders and an EV (docs/operations.md)"};
  demo::options o;
  const auto self = fs::weakly_canonical(fs::path(argv[0]));
  o.node_bin = (self.parent_path().parent_path() / "node" / "energo-node").string();
  int64_t minutes = 3, seconds = 0;
  app.add_option("--node-bin", o.node_bin, "the energo-node binary")->capture_default_str();
  app.add_option("--dir", o.dir, "where to put the nodes' data directories and logs (default: a new temporary directory)");
  app.add_flag("--keep", o.keep, "keep the temporary directory after a successful run");
  app.add_option("--minutes", minutes, "wall-clock duration in minutes")->capture_default_str();
  app.add_option("--seconds", seconds, "wall-clock duration in seconds (overrides --minutes)");
  app.add_option("--speedup", o.speedup, "ledger time runs this many times faster than wall time (node clock.speedup)")
      ->capture_default_str();
  app.add_option("--start-hour", o.start_hour, "ledger time of day (UTC) the community starts at")->capture_default_str();
  app.add_option("--households", o.households, "households (half with PV, half with an automatic agent)")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the simulated community")->capture_default_str();
  app.add_option("--progress-s", o.progress_s, "seconds between progress lines")->capture_default_str();
  app.add_option("--log-level", o.log_level, "the nodes' log level")->capture_default_str();
  app.add_option("--summary-json", o.summary_json, "also write the summary as JSON to this file");
  bool no_qtum = false;
  o.energoctl = (self.parent_path().parent_path() / "node" / "energoctl").string();
  app.add_flag("--no-qtum", no_qtum, "do not anchor checkpoints, even when litecoind is installed");
  app.add_option("--litecoind", o.litecoind, "the litecoind binary (default: /usr/bin or /usr/local/bin; absent: no checkpoints)");
  app.add_option("--energoctl", o.energoctl, "the energoctl binary (the final checkpoint verify)")->capture_default_str();
  app.add_option("--qtum-block-s", o.qtum_block_s, "seconds between regtest blocks")->capture_default_str();
  app.set_version_flag("--version", "energo-demo 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.duration_s = seconds > 0 ? seconds : minutes * 60;
  o.qtum = !no_qtum;
  if (o.qtum_block_s < 1 || o.qtum_block_s > limits::qtum_block_s_max) {
    std::fprintf(stderr, "energo-demo: --qtum-block-s within [1, %lld]\n", static_cast<long long>(limits::qtum_block_s_max));
    return 2;
  }
  if (o.duration_s < 1 || o.duration_s > limits::duration_s_max) {
    std::fprintf(stderr, "energo-demo: the duration must be within [1 s, 24 h]\n");
    return 2;
  }
  if (o.speedup < 1 || o.speedup > limits::speedup_max || o.start_hour < 0 || o.start_hour > 23 || o.households < 4 ||
      o.households > limits::households_max || o.progress_s < 1) {
    std::fprintf(stderr, "energo-demo: --speedup within [1, %lld], --start-hour within [0, 23], --households within [4, %u]\n",
                 static_cast<long long>(limits::speedup_max), limits::households_max);
    return 2;
  }
  if (::access(o.node_bin.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "energo-demo: %s is not executable (build energo-node, or give --node-bin)\n", o.node_bin.c_str());
    return 2;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  demo d(std::move(o));
  try {
    return d.run();
  } catch (const std::exception& e) {  // no free port: the only exception run() lets out
    std::fprintf(stderr, "energo-demo: %s\n", e.what());
    return 1;
  }
}
