// energoctl: order place|cancel|replace|list, book, trades, epochs, agent set|show (SPEC §4).
#include <cstdio>
#include <memory>

#include "node/ctl/ctl.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

long long ll(const json& v) { return static_cast<long long>(v.get<int64_t>()); }

// The address of a key file's account (secp256k1).
std::optional<std::string> address_of_key(const std::string& path) {
  auto k = load_key(path);
  if (!k) return std::nullopt;
  auto a = k->address();
  if (!a) std::fprintf(stderr, "energoctl: %s is not an account (secp256k1) key\n", path.c_str());
  return a;
}

int cmd_order_list(const options& o, const std::string& address) {
  json p;
  p["address"] = address;
  auto j = query(o, "orders", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  std::printf("%-10s %-5s %-14s %-14s %-12s %s\n", "ORDER", "SIDE", "PRICE/WH", "REMAINING_WH", "FILLED_WH", "PARKED");
  for (const auto& x : (*j)["orders"]) {
    std::printf("%-10llu %-5s %-14lld %-14lld %-12lld %s\n", static_cast<unsigned long long>(x["id"].get<uint64_t>()),
                x["side"].get<std::string>().c_str(), ll(x["price_units_per_wh"]), ll(x["remaining_wh"]),
                ll(x["filled_wh"]), x["parked"].get<bool>() ? "yes" : "no");
  }
  return exit_ok;
}

int cmd_book(const options& o, uint32_t levels) {
  json p;
  p["levels"] = levels;
  auto j = query(o, "book", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  std::printf("%-5s %-14s %-14s %-14s %s\n", "SIDE", "PRICE/WH", "TOTAL_WH", "FUNDED_WH", "ORDERS");
  const auto& asks = (*j)["asks"];
  for (auto it = asks.rbegin(); it != asks.rend(); ++it) {  // best ask nearest the spread
    std::printf("%-5s %-14lld %-14lld %-14lld %lld\n", "ask", ll((*it)["price_units_per_wh"]), ll((*it)["total_wh"]),
                ll((*it)["funded_wh"]), ll((*it)["orders"]));
  }
  for (const auto& x : (*j)["bids"]) {
    std::printf("%-5s %-14lld %-14lld %-14lld %lld\n", "bid", ll(x["price_units_per_wh"]), ll(x["total_wh"]),
                ll(x["funded_wh"]), ll(x["orders"]));
  }
  std::printf("buy price %lld, sell price %lld, %lld resting, %lld parked (epoch %lld)\n", ll((*j)["buy_price_units_per_wh"]),
              ll((*j)["sell_price_units_per_wh"]), ll((*j)["resting_orders"]), ll((*j)["parked_orders"]), ll((*j)["epoch"]));
  return exit_ok;
}

int cmd_trades(const options& o, uint32_t limit, const std::string& address) {
  json p;
  p["limit"] = limit;
  if (!address.empty()) p["address"] = address;
  auto j = query(o, "trades", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  std::printf("%-8s %-7s %-36s %-36s %-12s %-12s %s\n", "TRADE", "EPOCH", "BUYER", "SELLER", "PRICE/WH", "QUANTITY_WH",
              "NOTIONAL");
  for (const auto& t : (*j)["trades"]) {
    std::printf("%-8lld %-7lld %-36s %-36s %-12lld %-12lld %lld\n", ll(t["id"]), ll(t["epoch"]),
                t["buyer"].get<std::string>().c_str(), t["seller"].get<std::string>().c_str(), ll(t["price_units_per_wh"]),
                ll(t["quantity_wh"]), ll(t["notional_units"]));
  }
  return exit_ok;
}

int cmd_epochs(const options& o, uint32_t limit) {
  json p;
  p["limit"] = limit;
  auto j = query(o, "epochs", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  std::printf("%-8s %-12s %-12s %-7s %-12s %-12s %-12s %s\n", "EPOCH", "BUY_PRICE", "SELL_PRICE", "TRADES", "VOLUME_WH",
              "LAST_PRICE", "HIGH", "LOW");
  for (const auto& e : (*j)["epochs"]) {
    std::printf("%-8lld %-12lld %-12lld %-7lld %-12lld %-12lld %-12lld %lld\n", ll(e["epoch"]), ll(e["buy_price_units_per_wh"]),
                ll(e["sell_price_units_per_wh"]), ll(e["trades"]), ll(e["volume_wh"]), ll(e["last_price_units_per_wh"]),
                ll(e["high_price_units_per_wh"]), ll(e["low_price_units_per_wh"]));
  }
  return exit_ok;
}

int cmd_agent_show(const options& o, const std::string& address) {
  json p;
  p["address"] = address;
  auto j = query(o, "agent", p);
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  if (!(*j)["configured"].get<bool>()) {
    std::printf("%s: no agent configured\n", address.c_str());
    return exit_ok;
  }
  std::printf("agent of %s: %s\n  sell above %lld Wh at %lld units/Wh\n  buy below %lld Wh at %lld units/Wh\n",
              address.c_str(), (*j)["enabled"].get<bool>() ? "enabled" : "disabled", ll((*j)["sell_above_wh"]),
              ll((*j)["sell_price_units_per_wh"]), ll((*j)["buy_below_wh"]), ll((*j)["buy_price_units_per_wh"]));
  return exit_ok;
}

}  // namespace

void add_market_verbs(ctl_app& c) {
  auto* order = c.app.add_subcommand("order", "orders on the community's book (signed with the account key)");
  order->require_subcommand(1);
  struct order_args {
    signing_flags sign;
    std::string side, kind = "limit", address;
    int64_t price = 0, quantity = 0;
    uint64_t id = 0;
  };
  auto a = std::make_shared<order_args>();
  auto* place = order->add_subcommand("place", "place a buy or sell order");
  place->add_option("side", a->side, "buy or sell")->required()->check(CLI::IsMember({"buy", "sell"}));
  place->add_option("--price", a->price, "limit price in TSL base units per Wh (market: the cap / floor)")->required();
  place->add_option("--quantity", a->quantity, "Wh")->required();
  place->add_option("--kind", a->kind, "limit, immediate_or_cancel or market")
      ->check(CLI::IsMember({"limit", "immediate_or_cancel", "market"}))
      ->capture_default_str();
  add_signing_flags(place, a->sign);
  place->callback([&c, a] {
    c.action = [&c, a] {
      json doc;
      doc["type"] = "place_order";
      doc["side"] = a->side;
      doc["kind"] = a->kind;
      doc["price_units_per_wh"] = a->price;
      doc["quantity_wh"] = a->quantity;
      return sign_and_submit(c.o, a->sign, std::move(doc));
    };
  });
  auto* cancel = order->add_subcommand("cancel", "cancel a resting order");
  cancel->add_option("id", a->id, "order id")->required();
  add_signing_flags(cancel, a->sign);
  cancel->callback([&c, a] {
    c.action = [&c, a] {
      json doc;
      doc["type"] = "cancel_order";
      doc["order_id"] = a->id;
      return sign_and_submit(c.o, a->sign, std::move(doc));
    };
  });
  auto* replace = order->add_subcommand("replace", "change a resting order's price and open quantity");
  replace->add_option("id", a->id, "order id")->required();
  replace->add_option("--price", a->price, "new limit price, TSL base units per Wh")->required();
  replace->add_option("--quantity", a->quantity, "new open quantity, Wh")->required();
  add_signing_flags(replace, a->sign);
  replace->callback([&c, a] {
    c.action = [&c, a] {
      json doc;
      doc["type"] = "replace_order";
      doc["order_id"] = a->id;
      doc["price_units_per_wh"] = a->price;
      doc["quantity_wh"] = a->quantity;
      return sign_and_submit(c.o, a->sign, std::move(doc));
    };
  });
  auto* list = order->add_subcommand("list", "resting orders of an account");
  list->add_option("address", a->address, "Qtum address");
  list->add_option("--key", a->sign.key_file, "or the account's key file");
  list->callback([&c, a] {
    c.action = [&c, a] {
      std::string address = a->address;
      if (address.empty()) {
        if (a->sign.key_file.empty()) return std::fprintf(stderr, "energoctl: give an ADDRESS or --key FILE\n"), int(exit_usage);
        auto x = address_of_key(a->sign.key_file);
        if (!x) return int(exit_usage);
        address = *x;
      }
      return cmd_order_list(c.o, address);
    };
  });

  struct read_args {
    uint32_t levels = 20, limit = 50, epochs = 96;
    std::string address;
  };
  auto r = std::make_shared<read_args>();
  auto* book = c.app.add_subcommand("book", "depth by price level per side, funded and total");
  book->add_option("--levels", r->levels, "price levels per side (at most 1000)")->capture_default_str();
  book->callback([&c, r] { c.action = [&c, r] { return cmd_book(c.o, r->levels); }; });
  auto* trades = c.app.add_subcommand("trades", "recent trades, newest first");
  trades->add_option("--limit", r->limit, "trades shown (at most 1024)")->capture_default_str();
  trades->add_option("--address", r->address, "only the trades of this account");
  trades->callback([&c, r] { c.action = [&c, r] { return cmd_trades(c.o, r->limit, r->address); }; });
  auto* epochs = c.app.add_subcommand("epochs", "prices and volume per 15-minute epoch with market activity");
  epochs->add_option("--limit", r->epochs, "epochs shown (at most 672)")->capture_default_str();
  epochs->callback([&c, r] { c.action = [&c, r] { return cmd_epochs(c.o, r->epochs); }; });

  auto* agent = c.app.add_subcommand("agent", "the automatic trading agent of an account (SPEC §4)");
  agent->require_subcommand(1);
  struct agent_args {
    signing_flags sign;
    bool disable = false;
    int64_t buy_price = 0, buy_below = 0, sell_price = 0, sell_above = 0;
    std::string address;
  };
  auto g = std::make_shared<agent_args>();
  auto* set = agent->add_subcommand("set", "configure (or --disable) the agent");
  set->add_option("--buy-price", g->buy_price, "buy at this price (units/Wh) when the balance falls below --buy-below")
      ->capture_default_str();
  set->add_option("--buy-below", g->buy_below, "Wh")->capture_default_str();
  set->add_option("--sell-price", g->sell_price, "sell at this price when the balance rises above --sell-above")
      ->capture_default_str();
  set->add_option("--sell-above", g->sell_above, "Wh")->capture_default_str();
  set->add_flag("--disable", g->disable, "turn the agent off");
  add_signing_flags(set, g->sign);
  set->callback([&c, g] {
    c.action = [&c, g] {
      json doc;
      doc["type"] = "set_agent";
      doc["enabled"] = !g->disable;
      doc["buy_price_units_per_wh"] = g->buy_price;
      doc["buy_below_wh"] = g->buy_below;
      doc["sell_price_units_per_wh"] = g->sell_price;
      doc["sell_above_wh"] = g->sell_above;
      return sign_and_submit(c.o, g->sign, std::move(doc));
    };
  });
  auto* show = agent->add_subcommand("show", "the agent's configuration");
  show->add_option("address", g->address, "Qtum address")->required();
  show->callback([&c, g] { c.action = [&c, g] { return cmd_agent_show(c.o, g->address); }; });
}

}  // namespace energo::ctl
