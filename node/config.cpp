#include "node/config.hpp"

#include <filesystem>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

#include "actors/tick_source.hpp"
#include "node/logging.hpp"
#include "net/client_conn.hpp"

namespace energo::node {

namespace {

using fail_t = energo::unexpected<std::string>;

template <class T>
bool take(const toml::table& t, const std::string& key, T& out, const std::string& where, std::string& error) {
  const toml::node* n = t.get(key);
  if (!n) return true;
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = n->value<std::string>()) {
      out = *v;
      return true;
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto v = n->value<bool>()) {
      out = *v;
      return true;
    }
  } else {
    if (auto v = n->value<int64_t>(); v && n->is_integer()) {
      if (*v < 0 || static_cast<uint64_t>(*v) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        error = where + key + ": out of range";
        return false;
      }
      out = static_cast<T>(*v);
      return true;
    }
  }
  error = where + key + ": wrong type";
  return false;
}

}  // namespace

energo::result<config_load, std::string> load_config(const std::string& path, node_config base) {
  config_load out{std::move(base), {}};
  if (path.empty()) return out;
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << e;
    return fail_t{path + ": " + ss.str()};
  }
  auto& c = out.config;
  std::string err;
  // Each known key once; everything else is a warning.
  struct section {
    const char* name;
    std::vector<const char*> keys;
  };
  const std::vector<section> known = {
      {"", {"name", "data_dir", "bootstrap", "join"}},
      {"listen", {"peer", "client", "http"}},
      {"raft", {"tick_ms", "election_ticks", "heartbeat_ticks", "snapshot_every_entries"}},
      {"limits", {"submit_inflight_max", "client_connections_max", "proposal_commands_max", "submit_timeout_ms", "ingest_workers", "disk_free_mib_min"}},
      {"clock", {"enabled", "interval_ms", "step_ms_max", "speedup"}},
      {"log", {"level", "format"}},
      {"qtum", {"network", "rpc_url", "rpc_cookie_file", "rpc_user", "rpc_password", "rpc_timeout_ms", "key_file",
                "address_version", "coinbase_maturity_blocks", "fee_rate_sat_per_kvb", "relay_fee_min_sat_per_kvb",
                "dust_relay_fee_sat_per_kvb", "confirmations", "every_entries", "every_ms", "poll_ms", "funds_low_sat"}},
      {"http", {"listen", "connections_max", "body_bytes_max"}},
  };
  for (auto&& [k, v] : doc) {
    const std::string key(k.str());
    bool found = false;
    for (const auto& s : known) {
      if (std::string(s.name).empty()) {
        for (auto* kk : s.keys) found = found || key == kk;
      } else if (key == s.name) {
        found = true;
        if (!v.is_table()) return fail_t{path + ": [" + key + "] must be a table"};
        for (auto&& [k2, v2] : *v.as_table()) {
          bool f2 = false;
          for (auto* kk : s.keys) f2 = f2 || k2.str() == kk;
          if (!f2) out.warnings.push_back(path + ": unknown key '" + key + "." + std::string(k2.str()) + "' (ignored)");
        }
      }
    }
    if (!found) out.warnings.push_back(path + ": unknown key '" + key + "' (ignored)");
  }
  const toml::table empty;
  auto sub = [&](const char* n) -> const toml::table& {
    const toml::table* t = doc[n].as_table();
    return t ? *t : empty;
  };
  const bool good =
      take(doc, "name", c.name, "", err) && take(doc, "data_dir", c.data_dir, "", err) &&
      take(doc, "bootstrap", c.bootstrap_file, "", err) && take(doc, "join", c.join, "", err) &&
      take(sub("listen"), "peer", c.peer_listen, "listen.", err) &&
      take(sub("listen"), "client", c.client_listen, "listen.", err) &&
      take(sub("listen"), "http", c.http_listen, "listen.", err) &&  // older spelling of http.listen
      take(sub("http"), "listen", c.http_listen, "http.", err) &&
      take(sub("http"), "connections_max", c.http_connections_max, "http.", err) &&
      take(sub("http"), "body_bytes_max", c.http_body_bytes_max, "http.", err) &&
      take(sub("raft"), "tick_ms", c.tick_ms, "raft.", err) &&
      take(sub("raft"), "election_ticks", c.election_ticks, "raft.", err) &&
      take(sub("raft"), "heartbeat_ticks", c.heartbeat_ticks, "raft.", err) &&
      take(sub("raft"), "snapshot_every_entries", c.snapshot_every_entries, "raft.", err) &&
      take(sub("limits"), "submit_inflight_max", c.submit_inflight_max, "limits.", err) &&
      take(sub("limits"), "client_connections_max", c.client_connections_max, "limits.", err) &&
      take(sub("limits"), "proposal_commands_max", c.proposal_commands_max, "limits.", err) &&
      take(sub("limits"), "submit_timeout_ms", c.submit_timeout_ms, "limits.", err) &&
      take(sub("limits"), "ingest_workers", c.ingest_workers, "limits.", err) &&
      take(sub("limits"), "disk_free_mib_min", c.disk_free_mib_min, "limits.", err) &&
      take(sub("clock"), "enabled", c.clock_enabled, "clock.", err) &&
      take(sub("clock"), "interval_ms", c.clock_interval_ms, "clock.", err) &&
      take(sub("clock"), "step_ms_max", c.clock_step_ms_max, "clock.", err) &&
      take(sub("clock"), "speedup", c.clock_speedup, "clock.", err) &&
      take(sub("log"), "level", c.log_level, "log.", err) && take(sub("log"), "format", c.log_format, "log.", err);
  if (!good) return fail_t{path + ": " + err};
  if (doc.get("qtum")) {
    auto& q = c.qtum;
    const auto& t = sub("qtum");
    q.enabled = true;
    auto opt = [&](const char* key, auto& target) {
      using T = typename std::remove_reference_t<decltype(target)>::value_type;
      if (!t.get(key)) return true;
      T v{};
      if (!take(t, key, v, "qtum.", err)) return false;
      target = v;
      return true;
    };
    const bool q_good =
        take(t, "network", q.network, "qtum.", err) && take(t, "rpc_url", q.rpc_url, "qtum.", err) &&
        take(t, "rpc_cookie_file", q.rpc_cookie_file, "qtum.", err) && take(t, "rpc_user", q.rpc_user, "qtum.", err) &&
        take(t, "rpc_password", q.rpc_password, "qtum.", err) && take(t, "rpc_timeout_ms", q.rpc_timeout_ms, "qtum.", err) &&
        take(t, "key_file", q.key_file, "qtum.", err) && opt("address_version", q.address_version) &&
        opt("coinbase_maturity_blocks", q.coinbase_maturity_blocks) && opt("fee_rate_sat_per_kvb", q.fee_rate_sat_per_kvb) &&
        opt("relay_fee_min_sat_per_kvb", q.relay_fee_min_sat_per_kvb) &&
        opt("dust_relay_fee_sat_per_kvb", q.dust_relay_fee_sat_per_kvb) && opt("confirmations", q.confirmations) &&
        take(t, "every_entries", q.every_entries, "qtum.", err) && take(t, "every_ms", q.every_ms, "qtum.", err) &&
        take(t, "poll_ms", q.poll_ms, "qtum.", err) && take(t, "funds_low_sat", q.funds_low_sat, "qtum.", err);
    if (!q_good) return fail_t{path + ": " + err};
    // Relative files are relative to the config file, like data_dir.
    for (std::string* f : {&q.key_file, &q.rpc_cookie_file}) {
      if (!f->empty() && std::filesystem::path(*f).is_relative()) *f = (std::filesystem::path(path).parent_path() / *f).string();
    }
  }
  // A relative data dir or bootstrap file is relative to the config file.
  const auto base_dir = std::filesystem::path(path).parent_path();
  if (!c.data_dir.empty() && std::filesystem::path(c.data_dir).is_relative() && doc.get("data_dir")) {
    c.data_dir = (base_dir / c.data_dir).string();
  }
  if (!c.bootstrap_file.empty() && std::filesystem::path(c.bootstrap_file).is_relative() && doc.get("bootstrap")) {
    c.bootstrap_file = (base_dir / c.bootstrap_file).string();
  }
  return out;
}

std::optional<rpc_endpoint> parse_rpc_url(std::string_view url, uint16_t default_port) {
  if (url.rfind("http://", 0) == 0) url.remove_prefix(7);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find('/') != std::string_view::npos) return std::nullopt;
  rpc_endpoint e;
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos) {
    e.host = std::string(url);
    e.port = default_port;
    return e;
  }
  e.host = std::string(url.substr(0, colon));
  const auto digits = url.substr(colon + 1);
  if (e.host.empty() || digits.empty() || digits.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  e.port = static_cast<uint16_t>(port);
  return e;
}

energo::result<void, std::string> validate_config(const node_config& c) {
  if (c.data_dir.empty()) return fail_t{"data_dir is not set (--data or data_dir in the config)"};
  if (!net::parse_endpoint(c.peer_listen)) return fail_t{"listen.peer '" + c.peer_listen + "' is not host:port"};
  if (!net::parse_endpoint(c.client_listen)) return fail_t{"listen.client '" + c.client_listen + "' is not host:port"};
  if (!c.http_listen.empty() && !net::parse_endpoint(c.http_listen)) {
    return fail_t{"http.listen '" + c.http_listen + "' is not host:port"};
  }
  if (c.http_connections_max < 1 || c.http_connections_max > 4096) return fail_t{"http.connections_max must be in [1, 4096]"};
  if (c.http_body_bytes_max < 1024 || c.http_body_bytes_max > (1u << 20)) {
    return fail_t{"http.body_bytes_max must be in [1024, 1048576]"};
  }
  if (c.tick_ms < 1 || c.tick_ms > 10000) return fail_t{"raft.tick_ms must be in [1, 10000]"};
  if (c.election_ticks < 2 || c.election_ticks > 1000) return fail_t{"raft.election_ticks must be in [2, 1000]"};
  if (c.heartbeat_ticks < 1 || c.heartbeat_ticks >= c.election_ticks) {
    return fail_t{"raft.heartbeat_ticks must be >= 1 and below election_ticks"};
  }
  if (c.snapshot_every_entries < 2) return fail_t{"raft.snapshot_every_entries must be >= 2"};
  if (c.submit_inflight_max < 1 || c.client_connections_max < 1 || c.proposal_commands_max < 1) {
    return fail_t{"limits must be positive"};
  }
  if (c.submit_timeout_ms < 100) return fail_t{"limits.submit_timeout_ms must be >= 100"};
  if (c.disk_free_mib_min > (1u << 20)) return fail_t{"limits.disk_free_mib_min must be at most 1048576 (1 TiB)"};
  if (c.clock_interval_ms < 10) return fail_t{"clock.interval_ms must be >= 10"};
  if (c.clock_step_ms_max < 1) return fail_t{"clock.step_ms_max must be positive"};
  if (c.clock_speedup < 1 || c.clock_speedup > actors::limits::clock_speedup_max) {
    return fail_t{"clock.speedup must be in [1, " + std::to_string(actors::limits::clock_speedup_max) + "]"};
  }
  if (c.log_format != "text" && c.log_format != "json") return fail_t{"log.format must be text or json"};
  if (!is_log_level(c.log_level)) {
    return fail_t{"log.level must be trace, debug, info, warn or error"};
  }
  if (c.qtum.enabled) {
    const auto& q = c.qtum;
    if (q.network != "qtum-main" && q.network != "qtum-test" && q.network != "qtum-regtest" && q.network != "litecoin-regtest") {
      return fail_t{"qtum.network must be qtum-main, qtum-test, qtum-regtest or litecoin-regtest"};
    }
    if (q.key_file.empty()) return fail_t{"qtum.key_file is not set (the community's secp256k1 key file)"};
    if (q.rpc_cookie_file.empty() && q.rpc_user.empty()) return fail_t{"qtum: set rpc_cookie_file or rpc_user/rpc_password"};
    if (q.address_version && *q.address_version > 255) return fail_t{"qtum.address_version must be in [0, 255]"};
    if (q.confirmations && (*q.confirmations < 1 || *q.confirmations > 1000)) return fail_t{"qtum.confirmations must be in [1, 1000]"};
    if (q.every_entries < 2) return fail_t{"qtum.every_entries must be >= 2"};
    if (q.poll_ms < 10 || q.poll_ms > 600'000) return fail_t{"qtum.poll_ms must be in [10, 600000]"};
    if (q.rpc_timeout_ms < 100) return fail_t{"qtum.rpc_timeout_ms must be >= 100"};
  }
  if (!c.join.empty()) return fail_t{"join is not supported yet: bootstrap every initial voter from one bootstrap file"};
  return ok;
}

}  // namespace energo::node
