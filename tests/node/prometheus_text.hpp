#pragma once
// Prometheus text exposition (format 0.0.4), parsed independently of the node's renderer
// (actors/metrics.cpp); shared by http_test.cpp and checkpoint_test.cpp. Its own test is
// prometheus_parser.RejectsWhatIsNotExpositionFormat (http_test.cpp).
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace energo::test_node {

struct prom_sample {
  std::string name;
  std::string labels;
  double value = 0;
};
struct prom_page {
  std::vector<prom_sample> samples;
  std::map<std::string, std::string> types;  // family → type
  std::set<std::string> helps;
  std::vector<std::string> errors;

  std::optional<double> value(const std::string& name, const std::string& labels = "") const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
};

// Each line: a comment (`# HELP name text`, `# TYPE name type`, other `#`), or
// `name{label="v",...} value`. Every sample's family has HELP and TYPE.
inline prom_page parse_prometheus(const std::string& text) {
  static const std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)");
  static const std::regex help_re(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  prom_page p;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (line.empty()) continue;
    if (std::regex_match(line, m, help_re)) {
      p.helps.insert(m[1]);
    } else if (std::regex_match(line, m, type_re)) {
      if (p.types.count(m[1])) p.errors.push_back("line " + std::to_string(n) + ": second TYPE for " + m[1].str());
      p.types[m[1]] = m[2];
    } else if (line[0] == '#') {
      continue;
    } else if (std::regex_match(line, m, sample_re)) {
      p.samples.push_back({m[1], m[2].matched ? m[2].str() : "", std::stod(m[5].str())});
    } else {
      p.errors.push_back("line " + std::to_string(n) + " is neither a comment nor a sample: " + line);
    }
  }
  for (const auto& s : p.samples) {
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string suf(suffix);
      if (!p.types.count(family) && family.size() > suf.size() && family.ends_with(suf)) {
        family = family.substr(0, family.size() - suf.size());
      }
    }
    if (!p.types.count(family)) p.errors.push_back("no TYPE for " + s.name);
    if (!p.helps.count(family)) p.errors.push_back("no HELP for " + s.name);
  }
  return p;
}

}  // namespace energo::test_node
