// energoctl: account show|history|statement, transfer.
#include <cstdio>
#include <memory>

#include "node/ctl/ctl.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

// "key value" lines for the scalar members of an object, in answer order.
void print_fields(const json& j, const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    if (!j.contains(k)) continue;
    const auto& v = j[k];
    std::printf("%-28s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str() : tools::dump_compact(v).c_str());
  }
}

int cmd_account_show(const options& o, const std::string& address, bool proof, bool stale) {
  json p;
  p["address"] = address;
  if (proof) p["proof"] = true;
  auto j = query(o, "account", p, stale);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  if (!(*j)["found"].get<bool>()) {
    std::printf("%s: no such account (applied index %llu)\n", address.c_str(),
                static_cast<unsigned long long>((*j)["applied_index"].get<uint64_t>()));
    return exit_ok;
  }
  print_fields(*j, {"address", "kind", "tsl_units", "watt_wh", "nonce", "fee_debt_units", "minted_wh", "burned_wh",
                    "grid_export_wh", "grid_import_wh", "fees_paid_units", "fees_earned_storage_units",
                    "fees_earned_station_units", "resting_orders", "granted", "storage_access", "applied_index"});
  if (j->contains("proof")) {
    const auto& pr = (*j)["proof"];
    std::printf("proof: leaf %llu of %llu, %zu siblings, state root %s, %s\n",
                static_cast<unsigned long long>(pr["leaf_index"].get<uint64_t>()),
                static_cast<unsigned long long>(pr["leaf_count"].get<uint64_t>()), pr["siblings"].size(),
                pr["state_root"].get<std::string>().c_str(), pr["verified"].get<bool>() ? "verified" : "DOES NOT VERIFY");
  }
  return exit_ok;
}

int cmd_account_history(const options& o, const std::string& address, uint32_t limit, uint64_t before) {
  json p;
  p["address"] = address;
  p["limit"] = limit;
  if (before != 0) p["before"] = before;
  auto j = query(o, "account_history", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  std::printf("%-8s %-10s %-8s %-13s %-12s %-14s %s\n", "SEQ", "LOG_INDEX", "EPOCH", "EVENT", "WH", "UNITS", "COUNTERPARTY");
  for (const auto& e : (*j)["events"]) {
    std::printf("%-8llu %-10llu %-8llu %-13s %-12lld %-14lld %s\n", static_cast<unsigned long long>(e["seq"].get<uint64_t>()),
                static_cast<unsigned long long>(e["log_index"].get<uint64_t>()),
                static_cast<unsigned long long>(e["epoch"].get<uint64_t>()), e["kind"].get<std::string>().c_str(),
                static_cast<long long>(e["wh"].get<int64_t>()), static_cast<long long>(e["units"].get<int64_t>()),
                e.contains("counterparty") ? e["counterparty"].get<std::string>().c_str() : "-");
  }
  if (j->contains("next_before")) {
    std::printf("(more: --before %llu)\n", static_cast<unsigned long long>((*j)["next_before"].get<uint64_t>()));
  }
  if (!(*j)["complete"].get<bool>()) std::printf("(the node's history does not reach back to genesis)\n");
  if (!(*j)["market_events"].empty()) {
    std::printf("\n%-8s %-22s %-8s %-5s %-14s %-12s %s\n", "EPOCH", "ORDER EVENT", "ORDER", "SIDE", "PRICE/WH", "QUANTITY_WH", "TRADE");
  }
  for (const auto& e : (*j)["market_events"]) {
    std::printf("%-8llu %-22s %-8llu %-5s %-14lld %-12lld %s\n", static_cast<unsigned long long>(e["epoch"].get<uint64_t>()),
                e["kind"].get<std::string>().c_str(), static_cast<unsigned long long>(e["order"].get<uint64_t>()),
                e["side"].get<std::string>().c_str(), static_cast<long long>(e["price_units_per_wh"].get<int64_t>()),
                static_cast<long long>(e["quantity_wh"].get<int64_t>()),
                e.contains("trade") ? std::to_string(e["trade"].get<uint64_t>()).c_str() : "-");
  }
  return exit_ok;
}

}  // namespace

// Defined in verbs_statement.cpp (needs the analytics index).
int cmd_account_statement(const options& o, const std::string& address, const std::string& day, const std::string& month,
                          bool csv);

void add_account_verbs(ctl_app& c) {
  auto* account = c.app.add_subcommand("account", "one account: balances, history, bills");
  account->require_subcommand(1);
  struct args {
    std::string address, day, month;
    bool proof = false, stale = false, csv = false;
    uint32_t limit = 100;
    uint64_t before = 0;
  };
  auto a = std::make_shared<args>();
  auto* show = account->add_subcommand("show", "balances, nonce, debt, minted/burned, grid import/export, fees");
  show->add_option("address", a->address, "Qtum address (or education-pool / network-pool)")->required();
  show->add_flag("--proof", a->proof, "include the Merkle balance proof against the state root");
  show->add_flag("--stale", a->stale, "read this node's replica without a read index");
  show->callback([&c, a] { c.action = [&c, a] { return cmd_account_show(c.o, a->address, a->proof, a->stale); }; });
  auto* history = account->add_subcommand(
      "history", "the account's history, newest first: transfers, readings, fees, grants, trades, EV charges; then its order events");
  history->add_option("address", a->address, "Qtum address")->required();
  history->add_option("--limit", a->limit, "events per page (1-500)")->capture_default_str();
  history->add_option("--before", a->before, "page cursor: events older than this seq (the previous page's next_before)");
  history->callback([&c, a] { c.action = [&c, a] { return cmd_account_history(c.o, a->address, a->limit, a->before); }; });
  auto* statement = account->add_subcommand("statement", "the member's bill for a day or a month (UTC, ledger time)");
  statement->add_option("address", a->address, "Qtum address")->required();
  auto* day = statement->add_option("--day", a->day, "YYYY-MM-DD");
  auto* month = statement->add_option("--month", a->month, "YYYY-MM");
  day->excludes(month);
  statement->add_flag("--csv", a->csv, "CSV instead of a table");
  statement->callback([&c, a] {
    c.action = [&c, a] { return cmd_account_statement(c.o, a->address, a->day, a->month, a->csv); };
  });

  struct transfer_args {
    signing_flags sign;
    std::string to, asset = "TSL";
    int64_t amount = 0;
  };
  auto t = std::make_shared<transfer_args>();
  auto* transfer = c.app.add_subcommand("transfer", "send TSL (base units) or WATT (Wh) to another account");
  transfer->add_option("--to", t->to, "recipient Qtum address")->required();
  transfer->add_option("--amount", t->amount, "TSL base units (10^-8 TSL) or Wh")->required();
  transfer->add_option("--asset", t->asset, "TSL or WATT")->check(CLI::IsMember({"TSL", "WATT"}))->capture_default_str();
  add_signing_flags(transfer, t->sign);
  transfer->callback([&c, t] {
    c.action = [&c, t] {
      json doc;
      doc["type"] = "transfer";
      doc["to"] = t->to;
      doc["asset"] = t->asset;
      doc["amount"] = t->amount;
      return sign_and_submit(c.o, t->sign, std::move(doc));
    };
  });
}

}  // namespace energo::ctl
