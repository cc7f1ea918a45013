#include "node/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "node/config.hpp"

namespace energo::node {

namespace {

// %* in the JSON pattern: the message, JSON-escaped, so that any text (an error from a library, a
// peer's address, a file name) keeps each line one valid JSON object.
class json_escaped_message final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string escaped = json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<json_escaped_message>();
  }
};

}  // namespace

bool is_log_level(std::string_view level) {
  return level == "trace" || level == "debug" || level == "info" || level == "warn" || level == "error";
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char digits[] = "0123456789abcdef";
          out += "\\u00";
          out += digits[c >> 4];
          out += digits[c & 15];
        } else {
          out += ch;  // UTF-8 passes through; invalid bytes are the message author's bug, not JSON's
        }
    }
  }
  return out;
}

void setup_logging(const std::string& node_name, const std::string& level, const std::string& format) {
  auto logger = spdlog::get("energo");
  if (!logger) logger = spdlog::stderr_color_mt("energo");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<json_escaped_message>('*').set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","node":")" +
                                                       json_escape(node_name) + R"(","msg":"%*"})");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + node_name + "] %v");
  }
}

log_reload reload_log_level(const std::string& config_file) {
  const std::string current(spdlog::level::to_string_view(spdlog::get_level()).data(),
                            spdlog::level::to_string_view(spdlog::get_level()).size());
  if (config_file.empty()) return {false, "SIGHUP: no --config file to re-read; log level stays " + current};
  auto loaded = load_config(config_file, node_config{});
  if (!loaded) return {false, "SIGHUP: " + loaded.error() + "; log level stays " + current};
  const std::string& level = loaded->config.log_level;
  if (!is_log_level(level)) {
    return {false, "SIGHUP: " + config_file + ": log.level '" + level + "' is not trace, debug, info, warn or error; log level stays " +
                       current};
  }
  spdlog::set_level(spdlog::level::from_str(level));
  return {true, "SIGHUP: log level " + current + " -> " + level + " (from " + config_file + ")"};
}

}  // namespace energo::node
