#pragma once
// energo-node's logs (docs/operations.md "Logs"): spdlog on stderr, text or JSON lines, level
// changeable at runtime (SIGHUP re-reads the config file's [log] level).
#include <string>
#include <string_view>

namespace energo::node {

// trace, debug, info, warn, error.
[[nodiscard]] bool is_log_level(std::string_view level);

// Installs the "energo" logger as spdlog's default: `format` "text" or "json" (one object per
// line: ts, level, node, msg; every string JSON-escaped), at `level`.
void setup_logging(const std::string& node_name, const std::string& level, const std::string& format);

// SIGHUP: reads `config_file` again and applies its [log] level; anything else in the file is
// not re-applied (a restart does that). Returns what happened, for the log; the level stays as it
// was when the file cannot be read or names no valid level.
struct log_reload {
  bool changed = false;
  std::string message;
};
[[nodiscard]] log_reload reload_log_level(const std::string& config_file);

// JSON string escaping (quotes, backslash, control characters) without the surrounding quotes.
[[nodiscard]] std::string json_escape(std::string_view text);

}  // namespace energo::node
