#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <sys/stat.h>

#include "crypto/bytes.hpp"
#include "node/ctl/ctl.hpp"

namespace energo::ctl {

using clock_type = std::chrono::steady_clock;
using namespace energo::node;

int call(const options& o, net::client_request req, net::client_response& out) {
  const auto deadline = clock_type::now() + std::chrono::milliseconds(o.timeout_ms);
  std::string last_error = "no endpoint";
  for (int attempt = 0; clock_type::now() < deadline; ++attempt) {
    for (const auto& e : o.endpoints) {
      auto ep = net::parse_endpoint(e);
      if (!ep) {
        std::fprintf(stderr, "energoctl: bad endpoint '%s' (host:port)\n", e.c_str());
        return exit_usage;
      }
      net::client_conn conn;
      if (auto r = conn.connect(*ep, std::chrono::milliseconds(1000)); !r) {
        last_error = r.error();
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      auto res = conn.call(req, std::max(left, std::chrono::milliseconds(100)));
      if (!res) {
        last_error = res.error();
        continue;
      }
      if (res->what == net::client_response::kind::failure &&
          (res->failure.code == net::client_errc::busy || res->failure.code == net::client_errc::no_leader ||
           res->failure.code == net::client_errc::shutting_down)) {
        last_error = std::string(net::to_string(res->failure.code)) + ": " + res->failure.message;
        continue;
      }
      out = std::move(*res);
      return exit_ok;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 100 * (attempt + 1))));
  }
  std::fprintf(stderr, "energoctl: %s\n", last_error.c_str());
  return exit_unavailable;
}

std::string hex(const std::string& raw) { return crypto::to_hex(crypto::as_bytes(raw)); }

int print_failure(const options& o, const net::client_failure& f) {
  if (o.as_json) {
    json j;
    j["error"] = std::string(net::to_string(f.code));
    j["message"] = f.message;
    std::printf("%s\n", tools::dump_compact(j).c_str());
  } else {
    std::fprintf(stderr, "energoctl: %s: %s\n", std::string(net::to_string(f.code)).c_str(), f.message.c_str());
  }
  return exit_failed;
}

int print_json(const json& j, bool compact) {
  std::printf("%s\n", compact ? tools::dump_compact(j).c_str() : tools::dump_pretty(j).c_str());
  return exit_ok;
}

energo::result<json, int> query(const options& o, const std::string& name, const json& params, bool stale) {
  net::client_request req;
  req.what = net::client_request::kind::query;
  req.query.name = name;
  req.query.params_json = tools::dump_compact(params);
  req.query.stale = stale;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return energo::unexpected<int>{rc};
  if (res.what == net::client_response::kind::failure) return energo::unexpected<int>{print_failure(o, res.failure)};
  if (res.what != net::client_response::kind::query) {
    std::fprintf(stderr, "energoctl: unexpected answer to a query\n");
    return energo::unexpected<int>{static_cast<int>(exit_failed)};
  }
  json j = json::parse(res.text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::fprintf(stderr, "energoctl: bad answer from the node\n");
    return energo::unexpected<int>{static_cast<int>(exit_failed)};
  }
  return j;
}

json outcome_json(const net::command_outcome& x) {
  json j;
  j["index"] = x.index;
  j["accepted"] = x.accepted;
  if (!x.accepted) {
    j["code"] = x.code_name;
    j["message"] = x.message;
  }
  if (x.duplicate) j["duplicate"] = true;
  if (x.minted_wh) j["minted_wh"] = x.minted_wh;
  if (x.burned_wh) j["burned_wh"] = x.burned_wh;
  if (x.fees_units) j["fees_units"] = x.fees_units;
  if (x.order_id) j["order_id"] = x.order_id;
  if (x.filled_wh) j["filled_wh"] = x.filled_wh;
  if (x.trades) j["trades"] = x.trades;
  if (x.session_id) j["session_id"] = x.session_id;
  if (x.created_account) j["created_account"] = true;
  if (x.epochs_closed) j["epochs_closed"] = x.epochs_closed;
  return j;
}

int submit_bytes(const options& o, const std::string& bytes) {
  net::client_request req;
  req.what = net::client_request::kind::submit;
  req.command = bytes;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return rc;
  if (res.what == net::client_response::kind::failure) return print_failure(o, res.failure);
  const auto& x = res.outcome;
  if (o.as_json) {
    std::printf("%s\n", tools::dump_compact(outcome_json(x)).c_str());
  } else if (x.accepted) {
    std::printf("applied at index %llu%s", static_cast<unsigned long long>(x.index), x.duplicate ? " (duplicate)" : "");
    if (x.order_id) std::printf(", order %llu", static_cast<unsigned long long>(x.order_id));
    if (x.filled_wh) std::printf(", filled %lld Wh in %lld trade(s)", static_cast<long long>(x.filled_wh), static_cast<long long>(x.trades));
    if (x.session_id) std::printf(", session %llu", static_cast<unsigned long long>(x.session_id));
    std::printf("\n");
  } else {
    std::printf("refused at index %llu: %s: %s\n", static_cast<unsigned long long>(x.index), x.code_name.c_str(),
                x.message.c_str());
  }
  return x.accepted ? exit_ok : exit_refused;
}

std::optional<tools::key_file> load_key(const std::string& path) {
  auto key = tools::read_key_file(path);
  if (!key) {
    std::fprintf(stderr, "energoctl: %s: %s\n", path.c_str(), key.error().to_string().c_str());
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    std::fprintf(stderr, "energoctl: warning: %s is readable by group or others; chmod 600 it\n", path.c_str());
  return std::move(*key);
}

std::optional<crypto::network> network_of(const options& o) {
  auto n = tools::network_from_name(o.network);
  if (!n) std::fprintf(stderr, "energoctl: unknown network '%s' (mainnet|testnet|regtest)\n", o.network.c_str());
  return n;
}

void add_signing_flags(CLI::App* c, signing_flags& f) {
  c->add_option("--key", f.key_file, "key file that signs the command (account: secp256k1; admin, meter, unit, station: Ed25519)")
      ->required();
  c->add_option("--nonce", f.nonce, "nonce / sequence to sign (default: the ledger's last one for the key + 1)");
  c->add_flag("--offline", f.offline, "sign and print the command without contacting a node (needs --genesis and --nonce)");
  c->add_option("--genesis", f.genesis_file, "genesis file of the community (offline signing)");
  c->add_option("--out", f.out_file, "offline: also write the signed command's binary form to this file");
}

int sign_and_submit(const options& o, const signing_flags& f, json doc, const char* nonce_field) {
  auto key = load_key(f.key_file);
  if (!key) return exit_usage;
  crypto::network net{};
  crypto::hash256 genesis_hash{};
  if (f.offline) {
    if (f.genesis_file.empty() || f.nonce == 0) {
      std::fprintf(stderr, "energoctl: --offline needs --genesis FILE and --nonce N\n");
      return exit_usage;
    }
    auto g = tools::read_genesis_file(f.genesis_file);
    if (!g) return std::fprintf(stderr, "energoctl: %s: %s\n", f.genesis_file.c_str(), g.error().to_string().c_str()), exit_usage;
    net = g->network;
    genesis_hash = g->hash();
  } else {
    auto p = query(o, "params", json::object());
    if (!p) return p.error();
    auto n = tools::network_from_name((*p)["network"].get<std::string>());
    auto h = crypto::array_from_hex<32>((*p)["genesis_hash"].get<std::string>());
    if (!n || !h) return std::fprintf(stderr, "energoctl: bad params answer from the node\n"), exit_failed;
    net = *n;
    genesis_hash = *h;
  }
  uint64_t nonce = f.nonce;
  if (nonce == 0) {
    json params;
    params["key"] = key->public_key_hex();
    auto n = query(o, "nonce", params);
    if (!n) return n.error();
    nonce = (*n)["nonce"].get<uint64_t>() + 1;
  }
  if (const auto s = tools::signer_for_type(doc["type"].get<std::string>()); s && s->kind != tools::signer_kind::none) {
    // The signer field goes right after "type" (canonical order is the command table's; the JSON
    // codec reads by name).
    doc[std::string(s->field)] = key->public_key_hex();
  }
  doc[nonce_field] = nonce;
  auto cmd = tools::sign_command_json(std::move(doc), *key, net, genesis_hash);
  if (!cmd) return std::fprintf(stderr, "energoctl: %s\n", cmd.error().c_str()), exit_usage;
  const auto bytes = ledger::encode(*cmd);
  if (f.offline) {
    if (!f.out_file.empty()) {
      std::ofstream out(f.out_file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!out.flush()) return std::fprintf(stderr, "energoctl: cannot write %s\n", f.out_file.c_str()), exit_usage;
    }
    std::printf("%s\n", tools::command_to_line(*cmd, net, tools::signature_form::signed_form).c_str());
    return exit_ok;
  }
  return submit_bytes(o, std::string(bytes.begin(), bytes.end()));
}

}  // namespace energo::ctl
