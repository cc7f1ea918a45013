// energo-load: load generator for an Energo cluster (and, for comparison, etcd's v3 JSON gateway).
// Usage and output: tools/README.md ("energo-load") and bench/README.md.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/hash.hpp"
#include "net/client_conn.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"
#include "tools/load.hpp"
#include "tools/synthetic_image.hpp"

namespace {

using namespace energo;
using namespace energo::tools::load;
using json = nlohmann::json;

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;
constexpr int exit_failed = 3;     // the run could not be made (no endpoint, bad genesis, …)
constexpr int exit_lost_ack = 4;   // --verify found an acknowledged command missing

std::vector<net::endpoint> parse_endpoints(const std::string& text) {
  std::vector<net::endpoint> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) {
      auto ep = net::parse_endpoint(item);
      if (!ep) throw CLI::ValidationError("--endpoints", "not host:port: " + item);
      out.push_back(*ep);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

json stats_json(const run_stats& s) {
  const auto p = latency_percentiles(s.latency_us);
  json j;
  j["sent"] = s.sent;
  j["committed"] = s.committed;
  j["accepted"] = s.accepted;
  j["committed_per_s"] = s.duration_s > 0 ? static_cast<double>(s.committed) / s.duration_s : 0.0;
  j["duration_s"] = s.duration_s;
  j["start_unix_ms"] = s.start_unix_ms;
  j["latency_ms"] = {{"p50", p.p50_ms}, {"p90", p.p90_ms}, {"p99", p.p99_ms}, {"p999", p.p999_ms}, {"max", p.max_ms}};
  j["refused"] = s.refused;
  j["errors"] = s.errors;
  j["retries"] = s.retries;
  j["unanswered"] = s.unanswered;
  j["not_sent"] = s.not_sent;
  return j;
}

void print_human(const std::string& title, const json& j) {
  std::printf("%s: %llu committed (%llu accepted) in %.2f s = %.0f committed/s; latency ms p50 %.2f p99 %.2f p999 %.2f max %.2f\n",
              title.c_str(), j["committed"].get<unsigned long long>(), j["accepted"].get<unsigned long long>(),
              j["duration_s"].get<double>(), j["committed_per_s"].get<double>(), j["latency_ms"]["p50"].get<double>(),
              j["latency_ms"]["p99"].get<double>(), j["latency_ms"]["p999"].get<double>(), j["latency_ms"]["max"].get<double>());
  if (!j["refused"].empty()) std::printf("  refused by the ledger: %s\n", j["refused"].dump().c_str());
  if (!j["errors"].empty()) std::printf("  errors: %s (retries %llu)\n", j["errors"].dump().c_str(), j["retries"].get<unsigned long long>());
  if (j["unanswered"].get<uint64_t>() || j["not_sent"].get<uint64_t>())
    std::printf("  unanswered %llu, not sent (overload) %llu\n", j["unanswered"].get<unsigned long long>(),
                j["not_sent"].get<unsigned long long>());
}

// `--timeline`: nothing to do without a path; false (after a message) if the file cannot be written.
bool write_timeline(const std::string& path, const run_stats& s, std::size_t endpoints, uint32_t window_ms) {
  if (path.empty()) return true;
  const std::string csv = latency_timeline_csv(s, endpoints, window_ms);
  FILE* f = std::fopen(path.c_str(), "w");
  bool ok = f != nullptr && std::fwrite(csv.data(), 1, csv.size(), f) == csv.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (!ok) std::fprintf(stderr, "energo-load: cannot write %s\n", path.c_str());
  return ok;
}

// Current nonces of the load accounts (stale reads; an existing cluster may have seen earlier runs).
std::optional<std::vector<uint64_t>> fetch_nonces(const net::endpoint& ep, const std::vector<ledger::account_address>& addrs) {
  net::client_conn c;
  if (!c.connect(ep, std::chrono::milliseconds(2000))) return std::nullopt;
  std::vector<uint64_t> out;
  for (const auto& a : addrs) {
    net::client_request req;
    req.what = net::client_request::kind::account;
    req.account.address = a;
    req.account.stale = true;
    auto r = c.call(req, std::chrono::milliseconds(5000));
    if (!r || r->what != net::client_response::kind::account) return std::nullopt;
    out.push_back(r->account.nonce);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"energo-load: signed-order load against an Energo cluster, or puts against etcd, with latency percentiles"};
  app.require_subcommand(1);

  // ---- genesis ----
  auto* gen = app.add_subcommand("genesis", "write a genesis with N funded load accounts (keys derived from --seed)");
  uint32_t accounts = 1024;
  std::string seed = "1";
  std::string out_path;
  std::string keys_out;
  int64_t per_account_units = 10'000'000'000;  // 100 TSL
  gen->add_option("--accounts", accounts, "number of accounts")->check(CLI::Range(1u, limits::accounts_max));
  gen->add_option("--seed", seed, "key seed (printed; keys are SHA-256(\"energo/load/v1/\" seed \"/\" i))");
  gen->add_option("--out", out_path, "genesis file to write")->required();
  gen->add_option("--keys-out", keys_out, "also write one JSON line per account: index, address, secret key hex");
  gen->add_option("--per-account-units", per_account_units, "TSL base units per account");

  // ---- image ----
  auto* imgc = app.add_subcommand("image", "write a snapshot file of a synthetic ledger (genesis + N new accounts) for "
                                            "`energo-node restore` (bench/snapshot_transfer.sh)");
  std::string image_genesis, image_from_key, image_out;
  uint32_t image_accounts = 1000;
  uint64_t image_index = 1;
  imgc->add_option("--genesis", image_genesis, "the cluster's genesis")->required();
  imgc->add_option("--from-key", image_from_key, "key file of a genesis account holding >= N TSL units that never signed")->required();
  imgc->add_option("--accounts", image_accounts, "new accounts (~127 image bytes each)")
      ->check(CLI::Range(1u, tools::limits::synthetic_accounts_max));
  imgc->add_option("--index", image_index, "the image's applied index (the restored snapshot's index)")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
  imgc->add_option("--out", image_out, "snapshot file to write")->required();

  // ---- run ----
  auto* runc = app.add_subcommand("run", "run a load and report committed/s, latency percentiles, errors");
  std::string target = "energo";
  std::string endpoints_text;
  std::string genesis_path;
  std::string mode = "closed";
  uint32_t concurrency = 64, connections = 0, rate = 0, duration_s = 10, value_bytes = 160, threads = 2;
  uint64_t commands = 20'000;
  mix m;
  bool as_json = false, verify = false, no_warmup_report = false;
  runc->add_option("--target", target, "energo or etcd")->check(CLI::IsMember({"energo", "etcd"}));
  runc->add_option("--endpoints", endpoints_text, "host:port,… (Energo client ports, or etcd client URLs' host:port)")->required();
  runc->add_option("--genesis", genesis_path, "energo: the cluster's genesis (made by `energo-load genesis`)");
  runc->add_option("--seed", seed, "energo: the key seed of the genesis");
  runc->add_option("--accounts", accounts, "energo: load accounts used (the first N of the seed)")->check(CLI::Range(1u, limits::accounts_max));
  runc->add_option("--mode", mode, "closed (C outstanding) or open (--rate, latency from the intended send time)")
      ->check(CLI::IsMember({"closed", "open"}));
  runc->add_option("--concurrency", concurrency, "closed: outstanding requests; open: max in flight")
      ->check(CLI::Range(1u, limits::concurrency_max));
  runc->add_option("--connections", connections, "energo: TCP connections (pipelined); default min(C, 64). etcd: = C");
  runc->add_option("--rate", rate, "open loop: commands per second")->check(CLI::Range(1u, limits::rate_per_s_max));
  runc->add_option("--duration-s", duration_s, "stop sending after this")->check(CLI::Range(1u, limits::duration_ms_max / 1000));
  runc->add_option("--commands", commands, "energo closed loop: pre-signed commands (the run ends when all are answered)")
      ->check(CLI::Range(uint64_t{1}, limits::commands_max));
  runc->add_option("--cancel-percent", m.cancel_percent, "share of cancel_order (each needs a warm-up order)")->check(CLI::Range(0u, 100u));
  runc->add_option("--transfer-percent", m.transfer_percent, "share of TSL transfers")->check(CLI::Range(0u, 100u));
  runc->add_option("--value-bytes", value_bytes, "etcd: value size (default ≈ a signed order)")->check(CLI::Range(1u, limits::value_bytes_max));
  runc->add_option("--sign-threads", threads, "threads for pre-signing")->check(CLI::Range(1u, 16u));
  runc->add_flag("--json", as_json, "one JSON object on stdout");
  std::string timeline_path;
  uint32_t timeline_ms = 100;
  runc->add_option("--timeline", timeline_path, "write the measured run's latency by send time as CSV here (p50/p99/max per window, max per endpoint)");
  runc->add_option("--timeline-ms", timeline_ms, "the timeline's window")->check(CLI::Range(1u, 60'000u))->capture_default_str();
  runc->add_flag("--verify", verify, "energo: afterwards read every account (linearizable) and count acknowledged commands missing");
  runc->add_flag("--quiet-warmup", no_warmup_report, "do not print the warm-up phase");

  CLI11_PARSE(app, argc, argv);

  if (imgc->parsed()) {
    auto g = tools::read_genesis_file(image_genesis);
    if (!g) {
      std::fprintf(stderr, "energo-load: %s: %s\n", image_genesis.c_str(), g.error().message.c_str());
      return exit_usage;
    }
    auto key = tools::read_key_file(image_from_key);
    if (!key || !key->secp256k1) {
      std::fprintf(stderr, "energo-load: %s: not a secp256k1 key file\n", image_from_key.c_str());
      return exit_usage;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto img = tools::make_synthetic_image(*g, *key->secp256k1, image_accounts, image_index);
    if (!img) {
      std::fprintf(stderr, "energo-load: %s\n", img.error().c_str());
      return exit_failed;
    }
    std::ofstream f(image_out, std::ios::binary);
    f.write(img->file.data(), static_cast<std::streamsize>(img->file.size()));
    f.close();
    if (!f) {
      std::fprintf(stderr, "energo-load: cannot write %s\n", image_out.c_str());
      return exit_failed;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"file\":\"%s\",\"image_bytes\":%zu,\"accounts\":%u,\"applied_index\":%llu,\"state_root\":\"%s\",\"seconds\":%.2f}\n",
                image_out.c_str(), img->image_bytes, img->accounts, static_cast<unsigned long long>(img->applied_index),
                crypto::to_hex(img->state_root).c_str(), s);
    return exit_ok;
  }

  if (gen->parsed()) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto g = make_genesis(accounts, seed, now_ms, per_account_units);
    if (!g) {
      std::fprintf(stderr, "energo-load: %s\n", g.error().c_str());
      return exit_usage;
    }
    std::ofstream f(out_path);
    f << tools::dump_pretty(tools::genesis_to_json(*g)) << "\n";
    if (!f) {
      std::fprintf(stderr, "energo-load: cannot write %s\n", out_path.c_str());
      return exit_failed;
    }
    if (!keys_out.empty()) {
      std::ofstream k(keys_out);
      for (uint32_t i = 0; i < accounts; ++i) {
        const auto key = account_key(seed, i);
        k << json{{"index", i},
                  {"address", tools::address_to_text(account_address_of(key), crypto::network::regtest)},
                  {"secret_hex", crypto::to_hex(key.bytes())}}
                 .dump()
          << "\n";
      }
    }
    std::printf("genesis %s: %u accounts of %lld units, seed \"%s\" (key i = SHA-256(\"energo/load/v1/%s/\" i)), hash %s\n",
                out_path.c_str(), accounts, static_cast<long long>(per_account_units), seed.c_str(), seed.c_str(),
                crypto::to_hex(g->hash()).c_str());
    for (uint32_t i = 0; i < std::min<uint32_t>(accounts, 3); ++i)
      std::printf("  account %u: %s\n", i, tools::address_to_text(account_address_of(account_key(seed, i)), crypto::network::regtest).c_str());
    return exit_ok;
  }

  run_config cfg;
  try {
    cfg.endpoints = parse_endpoints(endpoints_text);
  } catch (const CLI::ValidationError& e) {
    std::fprintf(stderr, "energo-load: %s\n", e.what());
    return exit_usage;
  }
  cfg.open_loop = mode == "open";
  cfg.concurrency = concurrency;
  cfg.connections = connections;
  cfg.rate_per_s = rate;
  cfg.duration_ms = duration_s * 1000;
  cfg.value_bytes = value_bytes;
  if (cfg.open_loop && rate == 0) {
    std::fprintf(stderr, "energo-load: --mode open needs --rate\n");
    return exit_usage;
  }
  json report;
  report["target"] = target;
  report["mode"] = mode;
  report["concurrency"] = concurrency;
  if (cfg.open_loop) report["rate_per_s"] = rate;

  if (target == "etcd") {
    cfg.target = target_kind::etcd;
    report["value_bytes"] = value_bytes;
    auto st = run(cfg, nullptr);
    if (!st) {
      std::fprintf(stderr, "energo-load: %s\n", st.error().c_str());
      return exit_failed;
    }
    report["run"] = stats_json(*st);
    if (!write_timeline(timeline_path, *st, cfg.endpoints.size(), timeline_ms)) return exit_failed;
    if (as_json) std::printf("%s\n", report.dump().c_str());
    else print_human("etcd put (" + mode + ", C=" + std::to_string(concurrency) + ")", report["run"]);
    return exit_ok;
  }

  // ---- Energo ----
  if (genesis_path.empty()) {
    std::fprintf(stderr, "energo-load: --target energo needs --genesis (see `energo-load genesis`)\n");
    return exit_usage;
  }
  auto g = tools::read_genesis_file(genesis_path);
  if (!g) {
    std::fprintf(stderr, "energo-load: %s: %s\n", genesis_path.c_str(), g.error().message.c_str());
    return exit_failed;
  }
  const auto gh = g->hash();
  std::vector<crypto::secp256k1_secret_key> keys;
  std::vector<ledger::account_address> addrs;
  for (uint32_t i = 0; i < accounts; ++i) {
    keys.push_back(account_key(seed, i));
    addrs.push_back(account_address_of(keys.back()));
    const bool funded = std::any_of(g->allocations.begin(), g->allocations.end(), [&](const auto& a) { return a.account == addrs.back(); });
    if (!funded) {
      std::fprintf(stderr, "energo-load: account %u of seed \"%s\" is not in the genesis (wrong --seed or --accounts?)\n", i, seed.c_str());
      return exit_usage;
    }
  }
  auto nonces0 = fetch_nonces(cfg.endpoints[0], addrs);
  if (!nonces0) {
    std::fprintf(stderr, "energo-load: could not read the accounts' nonces from %s:%u\n", cfg.endpoints[0].host.c_str(),
                 cfg.endpoints[0].port);
    return exit_failed;
  }
  std::vector<uint64_t> nonce = *nonces0;

  // Commands per account, and their kinds.
  const uint64_t budget = cfg.open_loop ? uint64_t{rate} * duration_s + rate / 20 + 1 : commands;
  if (budget > limits::commands_max) {
    std::fprintf(stderr, "energo-load: %llu commands is above the bound %llu\n", static_cast<unsigned long long>(budget),
                 static_cast<unsigned long long>(limits::commands_max));
    return exit_usage;
  }
  const uint32_t per_account = static_cast<uint32_t>((budget + accounts - 1) / accounts);
  auto seq = account_sequence(per_account, m);
  if (!seq) {
    std::fprintf(stderr, "energo-load: %s\n", seq.error().c_str());
    return exit_usage;
  }
  const uint32_t cancels = static_cast<uint32_t>(std::count(seq->begin(), seq->end(), uint8_t{1}));
  auto place_body = [&](uint32_t a, uint32_t j) {
    // Buy limit orders far below any ask (no one holds WATT here): they rest, escrowing TSL.
    return ledger::command_body{ledger::place_order{keys[a].public_key(), ++nonce[a], market::side::buy,
                                                    market::order_kind::limit, 1 + (a * 7 + j) % 1000,
                                                    1 + static_cast<int64_t>(j % 10)}};
  };
  auto t0 = std::chrono::steady_clock::now();

  // Warm-up: one resting order per later cancel (a cancel must name an order id, known only from
  // an outcome; so the cancels are signed after this phase, not during the measured one).
  std::vector<std::vector<uint64_t>> warm_ids(accounts);
  json warm_report;
  if (cancels > 0) {
    energo_work w;
    w.accounts = accounts;
    std::vector<ledger::command_body> bodies;
    std::vector<uint32_t> key_of;
    for (uint32_t a = 0; a < accounts; ++a) {
      for (uint32_t j = 0; j < cancels; ++j) {
        bodies.push_back(place_body(a, 1000 + j));
        key_of.push_back(a);
      }
    }
    auto signed_cmds = presign(bodies, key_of, keys, gh, threads);
    for (uint32_t a = 0; a < accounts; ++a) {
      lane l;
      l.account = a;
      std::vector<uint64_t> ns;
      for (uint32_t j = 0; j < cancels; ++j) {
        l.commands.push_back(std::move(signed_cmds[a * cancels + j]));
        l.kinds.push_back(0);
        ns.push_back(nonce[a] - cancels + 1 + j);
      }
      w.lanes.push_back(std::move(l));
      w.nonces.push_back(std::move(ns));
    }
    run_config wc = cfg;
    wc.open_loop = false;
    wc.duration_ms = limits::duration_ms_max / 6;  // bounded: 10 min
    auto st = run(wc, &w);
    if (!st) {
      std::fprintf(stderr, "energo-load: warm-up: %s\n", st.error().c_str());
      return exit_failed;
    }
    warm_report = stats_json(*st);
    for (uint32_t a = 0; a < accounts; ++a) warm_ids[a] = st->order_ids[a];
    if (!as_json && !no_warmup_report) print_human("warm-up (place_order only, closed loop)", warm_report);
  }

  // The measured phase.
  energo_work w;
  w.accounts = accounts;
  std::vector<ledger::command_body> bodies;
  std::vector<uint32_t> key_of;
  std::vector<std::size_t> lane_start;
  std::vector<std::vector<uint64_t>> nonces(accounts);
  uint64_t skipped_cancels = 0;
  for (uint32_t a = 0; a < accounts; ++a) {
    lane_start.push_back(bodies.size());
    uint32_t c = 0;
    for (uint32_t j = 0; j < per_account; ++j) {
      const uint8_t kind = (*seq)[j];
      if (kind == 1) {
        const uint64_t id = c < warm_ids[a].size() ? warm_ids[a][c] : 0;
        ++c;
        if (id == 0) {  // its warm-up order was not accepted: place instead
          ++skipped_cancels;
          bodies.push_back(place_body(a, j));
        } else {
          bodies.push_back(ledger::cancel_order{keys[a].public_key(), ++nonce[a], id});
        }
      } else if (kind == 2) {
        bodies.push_back(ledger::transfer{keys[a].public_key(), ++nonce[a], addrs[(a + 1) % accounts], ledger::asset::tsl, 1});
      } else {
        bodies.push_back(place_body(a, j));
      }
      key_of.push_back(a);
      nonces[a].push_back(nonce[a]);
    }
  }
  const auto sign_start = std::chrono::steady_clock::now();
  auto signed_cmds = presign(bodies, key_of, keys, gh, threads);
  const double sign_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sign_start).count();
  std::size_t bytes_total = 0;
  for (uint32_t a = 0; a < accounts; ++a) {
    lane l;
    l.account = a;
    for (uint32_t j = 0; j < per_account; ++j) {
      bytes_total += signed_cmds[lane_start[a] + j].size();
      l.commands.push_back(std::move(signed_cmds[lane_start[a] + j]));
      l.kinds.push_back((*seq)[j]);
    }
    w.lanes.push_back(std::move(l));
    w.nonces.push_back(std::move(nonces[a]));
  }
  // Accounts' order over time: lanes interleave, so every account progresses evenly.
  auto st = run(cfg, &w);
  if (!st) {
    std::fprintf(stderr, "energo-load: %s\n", st.error().c_str());
    return exit_failed;
  }
  report["accounts"] = accounts;
  report["seed"] = seed;
  report["commands_presigned"] = bodies.size();
  report["command_bytes_avg"] = bodies.empty() ? 0.0 : static_cast<double>(bytes_total) / static_cast<double>(bodies.size());
  report["mix"] = {{"place_percent", 100 - m.cancel_percent - m.transfer_percent},
                   {"cancel_percent", m.cancel_percent},
                   {"transfer_percent", m.transfer_percent}};
  report["presign_s"] = sign_s;
  if (skipped_cancels) report["cancels_replaced_by_places"] = skipped_cancels;
  if (!warm_report.is_null()) report["warmup"] = warm_report;
  report["run"] = stats_json(*st);
  if (!write_timeline(timeline_path, *st, cfg.endpoints.size(), timeline_ms)) return exit_failed;

  int rc = exit_ok;
  if (verify) {
    // Every accepted (acknowledged) command must be in the state: the account's nonce is at least
    // the highest acknowledged one; exactly it unless an outcome of that account stayed unknown.
    uint64_t lost = 0, checked = 0, read_failures = 0;
    net::client_conn c;
    if (!c.connect(cfg.endpoints[0], std::chrono::milliseconds(2000))) {
      std::fprintf(stderr, "energo-load: verify: cannot connect\n");
      return exit_failed;
    }
    for (uint32_t a = 0; a < accounts; ++a) {
      if (st->acked_nonce[a] == 0) continue;
      net::client_request req;
      req.what = net::client_request::kind::account;
      req.account.address = addrs[a];
      auto r = c.call(req, std::chrono::milliseconds(5000));
      if (!r || r->what != net::client_response::kind::account) {
        ++read_failures;
        continue;
      }
      ++checked;
      const uint64_t have = r->account.nonce;
      if (have < st->acked_nonce[a] || (have != st->acked_nonce[a] && !st->lane_unknown[a])) ++lost;
    }
    report["verify"] = {{"accounts_checked", checked}, {"lost_acks", lost}, {"read_failures", read_failures}};
    if (lost > 0 || read_failures > 0) rc = exit_lost_ack;
  }
  report["total_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (as_json) {
    std::printf("%s\n", report.dump().c_str());
  } else {
    std::printf("presigned %zu commands (%u per account over %u accounts, %.0f bytes avg) in %.2f s\n", bodies.size(),
                per_account, accounts, report["command_bytes_avg"].get<double>(), sign_s);
    print_human("energo orders (" + mode + ", C=" + std::to_string(concurrency) +
                    (cfg.open_loop ? ", rate " + std::to_string(rate) + "/s" : std::string()) + ")",
                report["run"]);
    if (verify) std::printf("  verify: %s\n", report["verify"].dump().c_str());
  }
  return rc;
}
