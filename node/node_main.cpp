// energo-node: init | check-config | start | restore (docs/node.md, docs/operations.md "Restore").
#include <malloc.h>
#include <signal.h>
#include <sys/statvfs.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <atomic>
#include <chrono>
#include <thread>

#include "actors/http_gateway.hpp"
#include "actors/runtime.hpp"
#include "net/client_conn.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include "crypto/bytes.hpp"
#include "node/config.hpp"
#include "node/data_dir.hpp"
#include "node/exit_codes.hpp"
#include "node/logging.hpp"
#include "node/restore.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"
#include "net/qtum/params.hpp"

namespace {

// glibc malloc for a long-running node: every durable point builds buffers of the state's size
// (the ledger image, its copy into the write batch, RocksDB's batch: ~11 MB each with 4,096
// accounts and a full book). By default glibc serves each from fresh mmap'd pages and unmaps
// them when freed, so every durable point page-faults all of them in again - on the EPYC VM of
// bench/README.md that was most of the image's encoding time (bench/ledger_bench
// BM_durable_capture, 100,000 orders: snapshot_ms 29, 17.5 with these settings given as
// GLIBC_TUNABLES; actors/README.md). Buffers up to
// allocator_mmap_threshold_bytes (glibc's ceiling for it) come from the heap instead, and up to
// allocator_trim_threshold_bytes of freed heap stays mapped for the next durable point: the
// node's resident memory then stays at its peak instead of dropping between durable points.
constexpr int allocator_mmap_threshold_bytes = 32 << 20;
constexpr int allocator_trim_threshold_bytes = 256 << 20;
void keep_large_buffers_mapped() {
#if defined(__SANITIZE_ADDRESS__)
  return;  // AddressSanitizer's allocator replaces glibc's: nothing to tune (mallopt refuses)
#endif
  if (mallopt(M_MMAP_THRESHOLD, allocator_mmap_threshold_bytes) != 1 ||
      mallopt(M_TRIM_THRESHOLD, allocator_trim_threshold_bytes) != 1) {
    spdlog::warn("node: the allocator settings were refused; durable points will page-fault their buffers");
  }
}

using namespace energo;
using namespace energo::node;

constexpr const char* version_text = "energo-node 0.1.0";
constexpr uint32_t shutdown_transfer_wait_ms = 3000;
// A stop (SIGTERM, or the node stopping itself) that takes longer ends the process with exit 1:
// above the transfer wait plus every actor's own stop bound (actors/runtime.hpp).
constexpr std::chrono::seconds shutdown_bound{60};
// Once every actor has stopped, what is left is CAF's own teardown (the actor system's destructor)
// and closing RocksDB. CAF 0.17's middleman can keep waiting there on a peer socket accepted or
// dialled at the very moment its broker stopped (seen in tests/cluster_faults: a node that learnt
// of its removal stopped its actors in 23 ms, then did not exit within 5 s; the same race shows
// up as a leaked scribe under LSan, tests/lsan.supp). Nothing is left to make durable then: every
// Raft write and acknowledged outcome was synced before it counted. So that teardown is bounded
// on its own, and a process that exceeds it still exits with the code it stopped for.
constexpr std::chrono::seconds teardown_bound{3};
std::atomic<bool> teardown_done{false};
constexpr const char* removed_marker = "removed";  // DIR/removed: docs/node.md "Data directory"

// A watchdog: after `bound`, unless `*done` is set by then, logs `why` and ends the process with
// `code` at once (no destructors: whatever hangs is not waited for).
void exit_unless_done_within(std::chrono::seconds bound, const std::atomic<bool>* done, int code,
                             spdlog::level::level_enum level, std::string why) {
  std::thread([bound, done, code, level, why = std::move(why)] {
    std::this_thread::sleep_for(bound);
    if (done != nullptr && done->load()) return;
    spdlog::log(level, "{}", why);
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(code);
  }).detach();
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "energo-node: %s\n", message.c_str());
  return code;
}

// Flags shared by start and check-config; each overrides the file when given.
struct flag_overrides {
  std::string config_file;
  std::string data_dir, name, peer_listen, client_listen, http_listen, bootstrap, log_level, log_format;
  uint32_t http_connections_max = 0;
  std::vector<std::string> join;
  uint32_t tick_ms = 0;
  uint64_t snapshot_every = 0;
  int64_t clock_speedup = 0;
  bool no_clock = false;
};

void add_flags(CLI::App* app, flag_overrides& f) {
  app->add_option("--config,-c", f.config_file, "TOML configuration file");
  app->add_option("--data", f.data_dir, "data directory (overrides data_dir)");
  app->add_option("--name", f.name, "node name (logs, status)");
  app->add_option("--peer-listen", f.peer_listen, "peer listen address host:port (default 127.0.0.1:7100)");
  app->add_option("--client-listen", f.client_listen, "client listen address host:port (default 127.0.0.1:7200)");
  app->add_option("--http-listen", f.http_listen, "HTTP gateway address host:port (default: none; e.g. 127.0.0.1:7300)");
  app->add_option("--http-connections-max", f.http_connections_max, "HTTP connections served at once (default 64)");
  app->add_option("--bootstrap", f.bootstrap, "bootstrap file (first start of an initial voter)");
  app->add_option("--join", f.join, "first start of a new member: a member's client address host:port (several: comma)")
      ->delimiter(',');
  app->add_option("--log-level", f.log_level, "trace|debug|info|warn|error (default info)");
  app->add_option("--log-format", f.log_format, "text|json (default text)");
  app->add_option("--tick-ms", f.tick_ms, "Raft tick in ms (default 50)");
  app->add_option("--snapshot-every", f.snapshot_every, "snapshot + log compaction every N applied entries (default 10000)");
  app->add_flag("--no-clock", f.no_clock, "do not propose ledger ticks (tests)");
  app->add_option("--clock-speedup", f.clock_speedup,
                  "demo/test only: ledger time runs N times faster than wall time (default 1 = real time)");
}

energo::result<config_load, std::string> resolve(const flag_overrides& f) {
  auto loaded = load_config(f.config_file, node_config{});
  if (!loaded) return loaded;
  auto& c = loaded->config;
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.name.empty()) c.name = f.name;
  if (!f.peer_listen.empty()) c.peer_listen = f.peer_listen;
  if (!f.client_listen.empty()) c.client_listen = f.client_listen;
  if (!f.bootstrap.empty()) c.bootstrap_file = f.bootstrap;
  if (!f.http_listen.empty()) c.http_listen = f.http_listen;
  if (f.http_connections_max != 0) c.http_connections_max = f.http_connections_max;
  if (!f.log_level.empty()) c.log_level = f.log_level;
  if (!f.log_format.empty()) c.log_format = f.log_format;
  if (f.tick_ms != 0) c.tick_ms = f.tick_ms;
  if (f.snapshot_every != 0) c.snapshot_every_entries = f.snapshot_every;
  if (f.no_clock) c.clock_enabled = false;
  if (f.clock_speedup != 0) c.clock_speedup = f.clock_speedup;
  if (auto v = validate_config(c); !v) return energo::unexpected<std::string>{v.error()};
  return loaded;
}

int cmd_init(const std::string& dir, bool as_json) {
  auto id = init_data_dir(dir);
  if (!id) return fail(id.error().exit, id.error().message);
  const std::string key = crypto::to_hex(id->key.public_key().bytes);
  if (as_json) {
    std::printf("{\"node_id\":%llu,\"public_key\":\"%s\",\"data_dir\":\"%s\"}\n",
                static_cast<unsigned long long>(id->node_id), key.c_str(), dir.c_str());
  } else {
    std::printf("initialised %s\nnode_id    %llu\npublic_key %s\n", dir.c_str(),
                static_cast<unsigned long long>(id->node_id), key.c_str());
  }
  return exit_ok;
}

int cmd_check(const flag_overrides& f) {
  auto c = resolve(f);
  if (!c) return fail(exit_usage, c.error());
  for (const auto& w : c->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!c->config.bootstrap_file.empty()) {
    auto b = read_bootstrap_file(c->config.bootstrap_file);
    if (!b) return fail(b.error().exit, b.error().message);
  }
  std::printf("configuration ok\n");
  return exit_ok;
}

// How long a joining node keeps asking its join targets before it gives up (exit 6): a member
// may be restarting or electing when the new node starts (the fault harness's spare nodes join
// while members are killed); a malformed answer or a bad address fails at once.
constexpr auto join_wait = std::chrono::seconds(30);
constexpr auto join_retry_max = std::chrono::milliseconds(2000);

// Asks the first answering endpoint for its cluster.json and member keys; writes DIR/cluster.json.
energo::result<std::pair<std::string, std::vector<crypto::ed25519_public_key>>, std::string> fetch_cluster(
    const std::vector<std::string>& endpoints, const std::string& dir) {
  std::string last = "no endpoint";
  const auto deadline = std::chrono::steady_clock::now() + join_wait;
  auto pause = std::chrono::milliseconds(250);
  for (int round = 0;; ++round) {
    if (round > 0) {
      if (std::chrono::steady_clock::now() + pause > deadline) break;
      spdlog::warn("--join: no member answered ({}); retrying in {} ms", last, pause.count());
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::milliseconds>(2 * pause, join_retry_max);
    }
    for (const auto& e : endpoints) {
      auto ep = net::parse_endpoint(e);
      if (!ep) return energo::unexpected<std::string>{"--join: bad address '" + e + "'"};
      net::client_conn conn;
      if (auto r = conn.connect(*ep, std::chrono::milliseconds(2000)); !r) {
        last = e + ": " + r.error();
        continue;
      }
      net::client_request req;
      req.what = net::client_request::kind::cluster_info;
      auto res = conn.call(req, std::chrono::milliseconds(5000));
      if (!res || res->what != net::client_response::kind::cluster_info) {
        last = e + ": " + (res ? std::string("unexpected answer") : res.error());
        continue;
      }
      try {
        const auto j = nlohmann::json::parse(res->text);
        const auto text = j.at("cluster_file").get<std::string>();
        std::vector<crypto::ed25519_public_key> keys;
        for (const auto& k : j.at("member_keys")) {
          auto b = crypto::array_from_hex<32>(k.get<std::string>());
          if (!b) return energo::unexpected<std::string>{"join target sent a bad member key"};
          keys.push_back(crypto::ed25519_public_key{*b});
        }
        if (auto w = write_file_durably(dir + "/cluster.json", text, 0644); !w) return energo::unexpected<std::string>{w.error()};
        return std::pair{j.at("cluster_id").get<std::string>(), keys};
      } catch (const std::exception& ex) {
        return energo::unexpected<std::string>{"--join: " + e + ": bad cluster info: " + ex.what()};
      }
    }
  }
  return energo::unexpected<std::string>{"--join: " + last + " (gave up after " +
                                         std::to_string(join_wait.count()) + " s)"};
}

// [qtum] → the checkpoint actor's settings: the network preset, overrides, the key file.
energo::result<actors::checkpoint_config, std::string> checkpoint_config_of(const qtum_config& q) {
  using fail_t = energo::unexpected<std::string>;
  actors::checkpoint_config cp;
  cp.params = q.network == "qtum-main"          ? qtum::qtum_mainnet()
              : q.network == "qtum-test"        ? qtum::qtum_testnet()
              : q.network == "litecoin-regtest" ? qtum::litecoin_regtest_with_qtum_policy()
                                                : qtum::qtum_regtest();
  if (q.address_version) cp.params.pubkey_address_version = static_cast<uint8_t>(*q.address_version);
  if (q.coinbase_maturity_blocks) cp.params.coinbase_maturity_blocks = *q.coinbase_maturity_blocks;
  if (q.fee_rate_sat_per_kvb) cp.params.fee_rate_sat_per_kvb = static_cast<int64_t>(*q.fee_rate_sat_per_kvb);
  if (q.relay_fee_min_sat_per_kvb) cp.params.relay_fee_min_sat_per_kvb = static_cast<int64_t>(*q.relay_fee_min_sat_per_kvb);
  if (q.dust_relay_fee_sat_per_kvb) cp.params.dust_relay_fee_sat_per_kvb = static_cast<int64_t>(*q.dust_relay_fee_sat_per_kvb);
  if (q.confirmations) cp.params.confirmations_required = *q.confirmations;
  const auto ep = parse_rpc_url(q.rpc_url.empty() ? "127.0.0.1" : q.rpc_url, cp.params.rpc_port);
  if (!ep) return fail_t{"qtum.rpc_url '" + q.rpc_url + "' is not http://host:port"};
  cp.rpc.host = ep->host;
  cp.rpc.port = ep->port;
  cp.rpc.user = q.rpc_user;
  cp.rpc.password = q.rpc_password;
  cp.rpc.cookie_file = q.rpc_user.empty() ? q.rpc_cookie_file : std::string();
  cp.rpc.connect_timeout_ms = std::min<uint32_t>(q.rpc_timeout_ms, 2000);
  cp.rpc.read_timeout_ms = q.rpc_timeout_ms;
  cp.rpc.attempts_max = 2;  // the actor retries whole steps with its own backoff
  auto key = tools::read_key_file(q.key_file);
  if (!key) return fail_t{"qtum.key_file " + q.key_file + ": " + key.error().to_string()};
  if (!key->secp256k1) return fail_t{"qtum.key_file " + q.key_file + " is not a secp256k1 key (energo-keys new secp256k1)"};
  cp.key = *key->secp256k1;
  cp.every_entries = q.every_entries;
  cp.every_ms = q.every_ms;
  cp.poll_ms = q.poll_ms;
  cp.funds_low_sat = static_cast<int64_t>(std::min<uint64_t>(q.funds_low_sat, INT64_MAX));
  return cp;
}

int cmd_start(const flag_overrides& f) {
  // Signals are taken by sigwait() on this thread. Blocked first, before anything can start a
  // thread (RocksDB starts its flush and compaction threads when the store opens): a thread that
  // did not block them would take a process-directed SIGTERM or SIGHUP with the default action
  // and end the process without the drain.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // re-read the config file's log level (docs/operations.md "Logs")
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto loaded = resolve(f);
  if (!loaded) return fail(exit_usage, loaded.error());
  const node_config& c = loaded->config;
  setup_logging(c.name, c.log_level, c.log_format);
  for (const auto& w : loaded->warnings) spdlog::warn("{}", w);

  auto id = read_identity(c.data_dir);
  if (!id) return fail(id.error().exit, id.error().message);
  auto lock = dir_lock::acquire(c.data_dir);
  if (!lock) return fail(lock.error().exit, lock.error().message);
  // A node removed from the member registry stopped itself and left this marker: it must not
  // serve again (its log and state are of a cluster that no longer counts it).
  if (std::ifstream removed(c.data_dir + "/" + removed_marker); removed) {
    std::stringstream why;
    why << removed.rdbuf();
    return fail(exit_removed, "this node was removed from its cluster (" + c.data_dir + "/" + removed_marker + ": " +
                                  why.str() + "); to join again, init a new data directory and add it");
  }

  // The cluster: from DIR/cluster.json after the first start, else from the bootstrap file.
  auto stored = read_cluster_file(c.data_dir);
  if (!stored) return fail(stored.error().exit, stored.error().message);
  cluster_info cluster;
  bool joining = false;
  std::vector<crypto::ed25519_public_key> join_admitted;
  if (stored->has_value()) {
    cluster = std::move(**stored);
    if (!c.bootstrap_file.empty()) spdlog::info("bootstrap file ignored: {} already belongs to cluster {}", c.data_dir, cluster.cluster_id);
  } else if (!f.join.empty()) {
    // Joining: learn the cluster from a member, keep its cluster.json (the genesis and the
    // bootstrap voters from which the registry is rebuilt), then wait to be added (energoctl member add).
    auto joined = fetch_cluster(f.join, c.data_dir);
    if (!joined) return fail(exit_bootstrap, joined.error());
    join_admitted = joined->second;
    auto again = read_cluster_file(c.data_dir);
    if (!again || !again->has_value()) return fail(exit_bootstrap, "cluster file from the join target does not read back");
    cluster = std::move(**again);
    joining = true;
    spdlog::info("joining cluster {} through {}: waiting to be added as a member", cluster.cluster_id, f.join.front());
  } else {
    if (c.bootstrap_file.empty()) {
      return fail(exit_bootstrap, c.data_dir + " has no cluster yet: give --bootstrap FILE or --join HOST:PORT");
    }
    auto b = read_bootstrap_file(c.bootstrap_file);
    if (!b) return fail(b.error().exit, b.error().message);
    cluster = std::move(*b);
  }
  // An initial voter must find itself in the bootstrap file; a node that joined (now or before)
  // is in the replicated registry instead.
  if (!stored->has_value() && !joining && !cluster.members.count(id->node_id)) {
    return fail(exit_bootstrap, "this node (" + std::to_string(id->node_id) + ") is not a member of cluster " + cluster.cluster_id);
  }
  if (!stored->has_value() && !joining) {
    if (auto w = write_cluster_file(c.data_dir, cluster); !w) return fail(w.error().exit, w.error().message);
  }

  // A full data disk is refused before RocksDB opens (it needs room to recover, flush and
  // compact); at run time the raft actor keeps checking (actors/README.md "Storage failures").
  const uint64_t disk_free_min = uint64_t{c.disk_free_mib_min} << 20;
  if (disk_free_min > 0) {
    struct statvfs v {};
    if (::statvfs(c.data_dir.c_str(), &v) == 0) {
      const uint64_t free_bytes = uint64_t{v.f_bavail} * v.f_frsize;
      if (free_bytes < disk_free_min) {
        return fail(exit_storage, "storage: the data disk of " + c.data_dir + " has " + std::to_string(free_bytes >> 20) +
                                      " MiB free, below limits.disk_free_mib_min (" + std::to_string(c.disk_free_mib_min) +
                                      " MiB): free space first");
      }
    }
  }
  storage::store_options so;
  so.cluster_id = cluster.cluster_id;
  so.engine_log = [](storage::engine_log_level level, std::string_view text) {
    const auto l = level >= storage::engine_log_level::error ? spdlog::level::err
                   : level == storage::engine_log_level::warn ? spdlog::level::warn
                                                              : spdlog::level::info;
    spdlog::log(l, "rocksdb: {}", text);
  };
  auto opened = storage::node_store::open(c.data_dir + "/db", so);
  if (!opened) {
    const auto code = opened.error().code;
    const int exit = code == storage::storage_errc::already_open     ? exit_data_dir_locked
                     : code == storage::storage_errc::cluster_mismatch ? exit_bootstrap
                                                                       : exit_storage;
    return fail(exit, std::string("storage: ") + storage::to_string(code) + ": " + opened.error().message);
  }
  std::shared_ptr<storage::node_store> store = std::move(*opened);
  if (const uint64_t from = store->recovery().format_upgraded_from; from != 0) {
    spdlog::warn("storage: store format upgraded from version {} to {}; builds that read only version {} now refuse it",
                 from, storage::format_version, from);
  }
  consensus::membership initial;
  for (const auto& [mid, m] : cluster.members) initial.voters.insert(mid);
  // Only an initial voter writes the bootstrap entry; any other node starts with an empty log and
  // learns everything (from a snapshot if the log was compacted) once the leader adds it.
  if (cluster.members.count(id->node_id)) {
    auto boot = actors::persist_bootstrap(*store, id->node_id, initial);
    if (!boot) return fail(exit_storage, boot.error());
    if (*boot) spdlog::info("bootstrapped cluster {} with {} voters (durable)", cluster.cluster_id, initial.voters.size());
  }

  auto ctx = std::make_shared<actors::node_context>();
  ctx->self = id->node_id;
  ctx->name = c.name;
  ctx->cluster_id = cluster.cluster_id;
  ctx->node_key = id->key;
  ctx->join_admitted = join_admitted;
  {
    std::ifstream in(c.data_dir + "/cluster.json");
    std::stringstream ss;
    ss << in.rdbuf();
    ctx->cluster_file_text = ss.str();
  }
  for (const auto& [mid, m] : cluster.members) {
    auto ep = net::parse_endpoint(m.peer_address);
    if (!ep) return fail(exit_bootstrap, "member " + m.name + ": bad peer address " + m.peer_address);
    ctx->initial_registry.members[mid] =
        actors::member_record{mid, m.name, m.public_key, m.peer_address, m.client_address, actors::member_role::voter};
  }
  ctx->genesis = cluster.genesis;
  ctx->genesis_hash = cluster.genesis.hash();
  ctx->store = store;
  ctx->peer_listen = *net::parse_endpoint(c.peer_listen);
  ctx->client_listen = *net::parse_endpoint(c.client_listen);
  if (cluster.members.count(id->node_id) && c.peer_listen != cluster.members.at(id->node_id).peer_address) {
    spdlog::warn("listen.peer {} differs from this node's peer address in the cluster ({})", c.peer_listen,
                 cluster.members.at(id->node_id).peer_address);
  }
  ctx->tick_ms = c.tick_ms;
  ctx->election_ticks = c.election_ticks;
  ctx->heartbeat_ticks = c.heartbeat_ticks;
  ctx->snapshot_every_entries = c.snapshot_every_entries;
  ctx->submit_inflight_max = c.submit_inflight_max;
  ctx->client_connections_max = c.client_connections_max;
  ctx->proposal_commands_max = c.proposal_commands_max;
  ctx->submit_timeout_ms = c.submit_timeout_ms;
  ctx->disk_free_bytes_min = disk_free_min;
  ctx->ingest_workers = c.ingest_workers != 0 ? c.ingest_workers : std::max(1u, std::thread::hardware_concurrency());
  ctx->clock_enabled = c.clock_enabled;
  ctx->clock_interval_ms = c.clock_interval_ms;
  ctx->clock_step_ms_max = c.clock_step_ms_max;
  ctx->clock_speedup = c.clock_speedup;
  if (c.clock_enabled && c.clock_speedup > 1) {
    spdlog::warn("clock.speedup {}: ledger time runs {}x faster than wall time (demo and test communities only)",
                 c.clock_speedup, c.clock_speedup);
  }
  if (c.qtum.enabled) {
    auto cp = checkpoint_config_of(c.qtum);
    if (!cp) return fail(exit_usage, cp.error());
    ctx->checkpoint = std::move(*cp);
    ctx->checkpoint_stats = std::make_shared<actors::checkpoint_metrics>();
  }


  int exit = exit_ok;
  {
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    actors::configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    auto handles = actors::spawn_node(sys, ctx);
    if (!handles) {
      spdlog::error("{}", handles.error().message);
      exit = handles.error().exit;
      std::fflush(nullptr);
      std::_Exit(exit);  // actors hold the store; nothing was served, nothing to flush
    }
    std::unique_ptr<actors::http_gateway> http;
    if (!c.http_listen.empty()) {
      actors::http_options ho;
      ho.listen = *net::parse_endpoint(c.http_listen);
      ho.connections_max = c.http_connections_max;
      ho.body_bytes_max = c.http_body_bytes_max;
      auto g = actors::http_gateway::start(sys, *handles, ctx, ho);
      if (!g) {
        spdlog::error("http: {}", g.error());
        std::fflush(nullptr);
        std::_Exit(exit_network);
      }
      http = std::move(*g);
    }
    spdlog::info("started node {} ({}) in cluster {}: peers on {}:{}, clients on {}:{}{}", ctx->self, ctx->name,
                 ctx->cluster_id, ctx->peer_listen.host, handles->peer_port, ctx->client_listen.host, handles->client_port,
                 http ? ", http on " + c.http_listen.substr(0, c.http_listen.rfind(':')) + ":" + std::to_string(http->port())
                      : std::string());
    int sig = 0;
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
      const auto r = reload_log_level(f.config_file);
      // At warn when nothing changed (the operator expected a change); a change is logged at the
      // new level or info, whichever is higher, so that it always appears.
      if (!r.changed) spdlog::warn("{}", r.message);
      else spdlog::log(std::max(spdlog::get_level(), spdlog::level::info), "{}", r.message);
    }
    if (const int requested = ctx->stop->code(); requested != 0) {
      // The node stops itself (actors/runtime.hpp stop_request): removed from the registry.
      exit = requested;
      spdlog::warn("stopping by itself: {} (exit {})", ctx->stop->reason(), requested);
      if (requested == exit_removed) {
        if (auto w = write_file_durably(c.data_dir + "/" + removed_marker, ctx->stop->reason() + "\n", 0644); !w) {
          spdlog::error("cannot write {}/{}: {}", c.data_dir, removed_marker, w.error());
        }
      }
    } else {
      spdlog::info("signal {}: shutting down", sig);
    }
    // The whole stop is bounded: each step below has its own bound, and this watchdog ends the
    // process if something unbounded still hangs (the HTTP gateway's threads, a RocksDB flush or
    // close, the actor system's destructor). Every acknowledged write is already durable.
    exit_unless_done_within(shutdown_bound, nullptr, exit_internal, spdlog::level::critical,
                            "shutdown did not finish within " + std::to_string(shutdown_bound.count()) + " s; exiting (exit 1)");
    if (http) http->stop();  // first: HTTP clients get no new work once the actors drain
    if (!actors::stop_node(sys, *handles, shutdown_transfer_wait_ms)) {
      // An actor did not stop in time: the actor system's destructor would wait for it forever.
      // Every Raft write and every acknowledged outcome is already durable (the log replays at
      // most the last group commit), so leave without it.
      spdlog::critical("shutdown did not finish in time; exiting without waiting (exit 1)");
      spdlog::shutdown();
      std::fflush(nullptr);
      std::_Exit(exit_internal);
    }
    exit_unless_done_within(teardown_bound, &teardown_done, exit, spdlog::level::warn,
                            "shutdown: the actor system's teardown did not finish within " +
                                std::to_string(teardown_bound.count()) + " s after every actor stopped; exiting (exit " +
                                std::to_string(exit) + "; everything acknowledged is already durable)");
  }
  teardown_done.store(true);  // the actor system is gone; RocksDB's flush and close are not cut short
  if (auto r = store->flush(); !r) spdlog::warn("flush: {}", r.error().message);
  if (auto r = store->close(); !r) {
    spdlog::error("close: {}", r.error().message);
    exit = exit_storage;
  }
  spdlog::info("stopped");
  return exit;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"energo-node: one storage unit's node of an Energo community (docs/node.md)"};
  app.set_version_flag("--version", version_text);
  app.require_subcommand(1);
  std::string init_dir;
  bool init_json = false;
  auto* init = app.add_subcommand("init", "create a data directory (key, node id); refuses if it exists");
  init->add_option("--data", init_dir, "data directory to create")->required();
  init->add_flag("--json", init_json, "print node id and public key as JSON");
  flag_overrides start_flags, check_flags;
  auto* start = app.add_subcommand(
      "start", "run the node (SIGTERM/SIGINT: drain and exit 0; SIGHUP: re-read the config file's [log] level)");
  add_flags(start, start_flags);
  auto* check = app.add_subcommand("check-config", "validate the configuration (and bootstrap file) and exit");
  add_flags(check, check_flags);
  restore_args restore_flags;
  auto* restore = app.add_subcommand(
      "restore", "seed a fresh `init` data directory from a snapshot file (energoctl snapshot save); refuses a bad file, creating nothing");
  restore->add_option("--snapshot", restore_flags.snapshot_file, "snapshot file")->required();
  restore->add_option("--data", restore_flags.data_dir, "data directory made by `energo-node init`, never started")->required();
  restore->add_option("--bootstrap", restore_flags.bootstrap_file, "bootstrap file of the restored cluster (its voters, the genesis)")
      ->required();
  restore->add_flag("--json", restore_flags.as_json, "print the result as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? exit_ok : exit_usage;
  }
  try {
    if (*init) return cmd_init(init_dir, init_json);
    if (*check) return cmd_check(check_flags);
    if (*restore) return run_restore(restore_flags);
    if (*start) {
      keep_large_buffers_mapped();
      return cmd_start(start_flags);
    }
  } catch (const std::exception& e) {
    return fail(exit_internal, std::string("unexpected error: ") + e.what());
  }
  return exit_usage;
}
