// energoctl: the member, admin and auditor CLI of an energo-node (docs/node.md "energoctl").
// The verbs live in node/ctl/verbs_*.cpp; this file wires the global options and runs the chosen one.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "node/ctl/ctl.hpp"

int main(int argc, char** argv) {
  using namespace energo;
  CLI::App app{"energoctl: talk to energo-node's client port, sign commands, manage keys (docs/node.md)"};
  app.set_version_flag("--version", "energoctl 0.2.0");
  app.footer(
      "Exit codes: 0 ok, 1 internal error, 2 usage (bad flags, key file, parameters), 10 no endpoint answered, "
      "11 the ledger refused the command, 12 the node could not process the request, 13 checkpoint/proof verify: "
      "FAIL, 14 checkpoint/proof verify: the Qtum node could not be asked");
  ctl::options o;
  app.add_option("--endpoints", o.endpoints, "node client addresses host:port, tried in order")
      ->delimiter(',')
      ->capture_default_str();
  app.add_flag("--json", o.as_json, "machine-readable output (one JSON object per line)");
  app.add_option("--timeout-ms", o.timeout_ms, "overall deadline per request, retries included")->capture_default_str();
  app.add_option("--network", o.network, "address network of keys and JSON input: mainnet|testnet|regtest")
      ->capture_default_str();
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  ctl::ctl_app c{app, o, {}};
  ctl::add_cluster_verbs(c);
  ctl::add_account_verbs(c);
  ctl::add_market_verbs(c);
  ctl::add_admin_verbs(c);
  ctl::add_offline_verbs(c);
  ctl::add_snapshot_verbs(c);
  ctl::add_checkpoint_verbs(c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? node::exit_ok : node::exit_usage;
  }
  if (!c.action) return node::exit_usage;
  try {
    return c.action();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "energoctl: internal error: %s\n", e.what());
    return node::exit_internal;
  }
}
