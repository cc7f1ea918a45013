#include "node/config.hpp"

#include <filesystem>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

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
      {"limits", {"submit_inflight_max", "client_connections_max", "proposal_commands_max", "submit_timeout_ms", "ingest_workers"}},
      {"clock", {"enabled", "interval_ms", "step_ms_max"}},
      {"log", {"level", "format"}},
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
      take(sub("clock"), "enabled", c.clock_enabled, "clock.", err) &&
      take(sub("clock"), "interval_ms", c.clock_interval_ms, "clock.", err) &&
      take(sub("clock"), "step_ms_max", c.clock_step_ms_max, "clock.", err) &&
      take(sub("log"), "level", c.log_level, "log.", err) && take(sub("log"), "format", c.log_format, "log.", err);
  if (!good) return fail_t{path + ": " + err};
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
  if (c.clock_interval_ms < 10) return fail_t{"clock.interval_ms must be >= 10"};
  if (c.clock_step_ms_max < 1) return fail_t{"clock.step_ms_max must be positive"};
  if (c.log_format != "text" && c.log_format != "json") return fail_t{"log.format must be text or json"};
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    return fail_t{"log.level must be trace, debug, info, warn or error"};
  }
  if (!c.join.empty()) return fail_t{"join is not supported yet: bootstrap every initial voter from one bootstrap file"};
  return ok;
}

}  // namespace energo::node
