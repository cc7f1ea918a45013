// energo-sim: market experiments against the real order book and community runs through the real
// ledger (docs/simulator.md).
//   energo-sim gs --schedule FILE --kind zi-c|zi-u --rules paper|energo --periods N --period-length N --seed S [--seeds K] [--json]
//   energo-sim community --households N --days D --seed S [--json]
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "tools/sim/community.hpp"
#include "tools/sim/gode_sunder.hpp"

namespace {

// Documented in --help and docs/simulator.md.
enum exit_code : int {
  exit_ok = 0,
  exit_usage = 1,
  exit_bad_input = 2,
  exit_check_failed = 3,
};

constexpr const char* exit_codes_help =
    "Exit codes:\n"
    "  0  run complete, every check held\n"
    "  1  usage error\n"
    "  2  bad input: unreadable or invalid schedule, parameter out of range\n"
    "  3  a check failed: conservation, Bmax, book or ledger invariants, refused commands";

int run(int argc, char** argv) {
  CLI::App app{"energo-sim: Gode & Sunder (1993) markets against the real order book, and community runs through the real ledger"};
  app.footer(exit_codes_help);
  app.require_subcommand(1);

  energo::sim::gs_config gs;
  std::string schedule_path;
  bool json = false;
  const std::map<std::string, energo::sim::trader_kind> kinds{{"zi-c", energo::sim::trader_kind::zi_c},
                                                              {"zi-u", energo::sim::trader_kind::zi_u}};
  const std::map<std::string, energo::sim::rule_set> rules{{"paper", energo::sim::rule_set::paper},
                                                           {"energo", energo::sim::rule_set::energo}};
  auto* gs_cmd = app.add_subcommand("gs", "Gode & Sunder double auction on an induced-value schedule");
  gs_cmd->add_option("--schedule", schedule_path, "schedule file (format: docs/simulator.md)")->required();
  gs_cmd->add_option("--kind", gs.kind, "trader kind: zi-c (budget-constrained) or zi-u (unconstrained)")
      ->transform(CLI::CheckedTransformer(kinds, CLI::ignore_case))
      ->default_str("zi-c");
  gs_cmd->add_option("--rules", gs.rules, "paper: G&S rules (one unit, improving quotes, book cleared after a trade); "
                                          "energo: resting multi-unit orders funded at match time, Bmax, production over time")
      ->transform(CLI::CheckedTransformer(rules, CLI::ignore_case))
      ->default_str("paper");
  gs_cmd->add_option("--periods", gs.periods, "trading periods per market (endowments reset each period)")->capture_default_str();
  gs_cmd->add_option("--period-length", gs.period_length, "order submissions per period")->capture_default_str();
  gs_cmd->add_option("--seed", gs.seed, "seed of the first market")->capture_default_str();
  gs_cmd->add_option("--seeds", gs.seeds, "number of markets, seeded seed, seed+1, ...")->capture_default_str();
  gs_cmd->add_flag("--json", json, "print JSON instead of text");

  energo::sim::community_config cc;
  auto* community_cmd = app.add_subcommand("community", "a community of households, storage, agents and EVs on the real ledger");
  community_cmd->add_option("--households", cc.households, "number of households")->capture_default_str();
  community_cmd->add_option("--days", cc.days, "simulated days (96 ticks of 15 minutes each)")->capture_default_str();
  community_cmd->add_option("--seed", cc.seed, "seed")->capture_default_str();
  community_cmd->add_flag("--json", json, "print JSON instead of text");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }

  if (gs_cmd->parsed()) {
    auto s = energo::sim::load_schedule(schedule_path);
    if (!s) {
      std::cerr << "energo-sim: " << energo::sim::errc_name(s.error().code) << ": " << s.error().message << "\n";
      return exit_bad_input;
    }
    auto report = energo::sim::run_gode_sunder(*s, gs);
    if (!report) {
      std::cerr << "energo-sim: " << energo::sim::errc_name(report.error().code) << ": " << report.error().message << "\n";
      return exit_bad_input;
    }
    std::cout << (json ? energo::sim::to_json(*report) : energo::sim::to_text(*report));
    for (const auto& m : report->markets) {
      const auto& c = m.checks;
      if (c.settle_violations != 0 || !c.tsl_conserved || !c.watt_conserved || c.watt_wh_max_seen > c.bmax_wh ||
          !c.book_invariants.empty())
        return exit_check_failed;
    }
    return exit_ok;
  }
  auto report = energo::sim::run_community(cc);
  if (!report) {
    std::cerr << "energo-sim: " << energo::sim::errc_name(report.error().code) << ": " << report.error().message << "\n";
    return exit_bad_input;
  }
  std::cout << (json ? energo::sim::to_json(*report) : energo::sim::to_text(*report));
  return report->invariant_problems.empty() && report->commands_refused == 0 ? exit_ok : exit_check_failed;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
