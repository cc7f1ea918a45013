// energoctl account statement: a member's bill for a day or a month (the `statement` query over
// the analytics index, actors/analytics.hpp), as a table, CSV or JSON.
#include <cstdio>

#include "node/ctl/ctl.hpp"

namespace energo::ctl {

namespace {
// Bill lines in order; names are the query's fields (docs/node.md "Queries").
constexpr const char* bill_fields[] = {
    "produced_wh",     "stored_wh",          "grid_export_wh",  "consumed_wh",      "community_wh",    "grid_import_wh",
    "bought_wh",       "bought_units",       "sold_wh",         "sold_units",       "fees_paid_units", "fees_earned_units",
    "station_fees_units", "ev_energy_wh",    "ev_charges_units", "grants_units"};

std::string cell(const json& row, const char* k) {
  return row.contains(k) && row[k].is_number_integer() ? std::to_string(row[k].get<int64_t>()) : std::string("0");
}
}  // namespace

int cmd_account_statement(const options& o, const std::string& address, const std::string& day, const std::string& month,
                          bool csv) {
  if (day.empty() == month.empty()) {
    std::fprintf(stderr, "energoctl: give --day YYYY-MM-DD or --month YYYY-MM\n");
    return node::exit_usage;
  }
  json p;
  p["address"] = address;
  if (!day.empty()) p["day"] = day;
  if (!month.empty()) p["month"] = month;
  auto j = query(o, "statement", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  const auto& total = (*j)["total"];
  if (csv) {
    std::printf("day");
    for (const char* f : bill_fields) std::printf(",%s", f);
    std::printf("\n");
    for (const auto& d : (*j)["days"]) {
      std::printf("%s", d["day"].get<std::string>().c_str());
      for (const char* f : bill_fields) std::printf(",%s", cell(d, f).c_str());
      std::printf("\n");
    }
    std::printf("total");
    for (const char* f : bill_fields) std::printf(",%s", cell(total, f).c_str());
    std::printf("\n");
    return node::exit_ok;
  }
  std::printf("statement of %s for %s%s\n", (*j)["address"].get<std::string>().c_str(),
              (*j)["period"].get<std::string>().c_str(),
              (*j)["complete"].get<bool>() ? "" : " (INCOMPLETE: days before the index's retention or start)");
  for (const char* f : bill_fields) std::printf("  %-22s %s\n", f, cell(total, f).c_str());
  if (total["self_sufficiency_permille"].is_number_integer()) {
    const auto permille = total["self_sufficiency_permille"].get<int64_t>();
    std::printf("  %-22s %lld.%lld%%\n", "self-sufficiency", static_cast<long long>(permille / 10),
                static_cast<long long>(permille % 10));
  }
  std::printf("  (%zu day(s) with activity)\n", (*j)["days"].size());
  return node::exit_ok;
}

}  // namespace energo::ctl
