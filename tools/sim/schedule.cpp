#include "tools/sim/schedule.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

namespace energo::sim {

std::string_view errc_name(errc code) noexcept {
  switch (code) {
    case errc::bad_schedule: return "bad_schedule";
    case errc::io: return "io";
    case errc::bad_argument: return "bad_argument";
  }
  return "unknown";
}

int64_t schedule::effective_bmax_wh() const {
  if (bmax_wh > 0) return bmax_wh;
  std::size_t most = 1;
  for (const auto& t : traders) most = std::max(most, t.unit_prices.size());
  return unit_wh * static_cast<int64_t>(most);
}

namespace {

unexpected<error> bad(std::size_t line, const std::string& message) {
  return unexpected<error>{error{errc::bad_schedule, "line " + std::to_string(line) + ": " + message}};
}

bool parse_int(std::string_view word, int64_t& out) {
  const char* end = word.data() + word.size();
  auto [ptr, ec] = std::from_chars(word.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace

result<schedule> parse_schedule(std::string_view text) {
  if (text.size() > schedule_bytes_max)
    return unexpected<error>{error{errc::bad_schedule, "schedule larger than " + std::to_string(schedule_bytes_max) + " bytes"}};
  schedule s;
  bool seen_unit = false, seen_min = false, seen_max = false, seen_bmax = false;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    const auto words = split_words(line);
    if (words.empty()) continue;
    const std::string_view key = words[0];
    if (key == "unit_wh" || key == "price_min" || key == "price_max" || key == "bmax_wh") {
      if (words.size() != 2) return bad(line_no, std::string(key) + " takes exactly one integer");
      int64_t v = 0;
      if (!parse_int(words[1], v)) return bad(line_no, "'" + std::string(words[1].substr(0, 20)) + "' is not an integer");
      bool& seen = key == "unit_wh" ? seen_unit : key == "price_min" ? seen_min : key == "price_max" ? seen_max : seen_bmax;
      if (seen) return bad(line_no, std::string(key) + " given twice");
      seen = true;
      if (key == "unit_wh") {
        if (v < 1 || v > schedule_unit_wh_max) return bad(line_no, "unit_wh must be within [1, " + std::to_string(schedule_unit_wh_max) + "]");
        s.unit_wh = v;
      } else if (key == "price_min" || key == "price_max") {
        if (v < 1 || v > schedule_price_max) return bad(line_no, std::string(key) + " must be within [1, " + std::to_string(schedule_price_max) + "]");
        (key == "price_min" ? s.price_min : s.price_max) = v;
      } else {
        if (v < 1 || v > 1'000'000'000'000LL) return bad(line_no, "bmax_wh must be within [1, 10^12]");
        s.bmax_wh = v;
      }
      continue;
    }
    if (key == "buyer" || key == "seller") {
      if (words.size() < 3) return bad(line_no, std::string(key) + " needs a name and at least one unit price");
      if (words[1].size() > schedule_name_chars_max) return bad(line_no, "trader name longer than " + std::to_string(schedule_name_chars_max) + " characters");
      if (words.size() - 2 > schedule_units_per_trader_max)
        return bad(line_no, "more than " + std::to_string(schedule_units_per_trader_max) + " units for one trader");
      if (s.traders.size() >= schedule_traders_max) return bad(line_no, "more than " + std::to_string(schedule_traders_max) + " traders");
      for (const auto& t : s.traders)
        if (t.name == words[1]) return bad(line_no, "trader name '" + std::string(words[1]) + "' used twice");
      trader_schedule t;
      t.name = std::string(words[1]);
      t.trader_role = key == "buyer" ? role::buyer : role::seller;
      for (std::size_t k = 2; k < words.size(); ++k) {
        int64_t v = 0;
        if (!parse_int(words[k], v)) return bad(line_no, "'" + std::string(words[k].substr(0, 20)) + "' is not an integer");
        t.unit_prices.push_back(v);
      }
      s.traders.push_back(std::move(t));
      continue;
    }
    return bad(line_no, "unknown keyword '" + std::string(key.substr(0, 20)) + "' (expected unit_wh, price_min, price_max, bmax_wh, buyer, seller)");
  }
  if (s.price_min > s.price_max) return bad(line_no, "price_min is above price_max");
  bool any_buyer = false, any_seller = false;
  for (const auto& t : s.traders) {
    (t.trader_role == role::buyer ? any_buyer : any_seller) = true;
    for (int64_t v : t.unit_prices)
      if (v < s.price_min || v > s.price_max)
        return unexpected<error>{error{errc::bad_schedule, "trader " + t.name + ": unit price " + std::to_string(v) +
                                                               " outside [price_min, price_max]"}};
  }
  if (!any_buyer || !any_seller) return unexpected<error>{error{errc::bad_schedule, "a schedule needs at least one buyer and one seller"}};
  if (s.bmax_wh > 0 && s.bmax_wh < s.unit_wh) return unexpected<error>{error{errc::bad_schedule, "bmax_wh is below unit_wh"}};
  return s;
}

result<schedule> load_schedule(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected<error>{error{errc::io, "cannot open schedule file " + path}};
  std::string text;
  text.resize(schedule_bytes_max + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto parsed = parse_schedule(text);
  if (!parsed) return unexpected<error>{error{parsed.error().code, path + ": " + parsed.error().message}};
  return parsed;
}

equilibrium competitive_equilibrium(const schedule& s) {
  std::vector<int64_t> demand, supply;
  for (const auto& t : s.traders)
    for (int64_t v : t.unit_prices) (t.trader_role == role::buyer ? demand : supply).push_back(v);
  std::sort(demand.begin(), demand.end(), std::greater<>());
  std::sort(supply.begin(), supply.end());
  equilibrium e;
  std::size_t q = 0;
  while (q < demand.size() && q < supply.size() && demand[q] >= supply[q]) ++q;
  e.quantity_units = static_cast<int64_t>(q);
  for (std::size_t i = 0; i < q; ++i) e.max_surplus_units += (demand[i] - supply[i]) * s.unit_wh;
  // The price must keep the q-th units willing (p <= demand[q−1], p >= supply[q−1]) and the
  // (q+1)-th units out (p >= demand[q] and p <= supply[q], when those units exist).
  const int64_t inf = s.price_max;
  const int64_t none = s.price_min;
  if (q == 0) {
    // No unit trades: any price between the best value and the lowest cost.
    e.price_low = demand.empty() ? none : demand[0];
    e.price_high = supply.empty() ? inf : supply[0];
    if (e.price_low > e.price_high) std::swap(e.price_low, e.price_high);
    return e;
  }
  e.price_low = std::max(supply[q - 1], q < demand.size() ? demand[q] : none);
  e.price_high = std::min(demand[q - 1], q < supply.size() ? supply[q] : inf);
  return e;
}

}  // namespace energo::sim
