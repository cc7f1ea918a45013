#include "tools/command_json.hpp"

#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <vector>

#include "crypto/address.hpp"
#include "tools/json_reader.hpp"

namespace energo::tools {

using namespace detail;

namespace {

// --- genesis ---------------------------------------------------------------------------------

ledger::community_params read_params(const json& v, const std::string& path) {
  object_reader r(v, path, "params");
  ledger::community_params p;
  p.fee_units_per_kwh_epoch = r.i64("fee_units_per_kwh_epoch");
  p.storage_cost_per_user_cents = r.i64("storage_cost_per_user_cents");
  p.battery_price_cents_per_kwh = r.i64("battery_price_cents_per_kwh");
  p.grant_units = r.i64("grant_units");
  r.finish();
  return p;
}

json params_to_json(const ledger::community_params& p) {
  json j = json::object();
  j["fee_units_per_kwh_epoch"] = p.fee_units_per_kwh_epoch;
  j["storage_cost_per_user_cents"] = p.storage_cost_per_user_cents;
  j["battery_price_cents_per_kwh"] = p.battery_price_cents_per_kwh;
  j["grant_units"] = p.grant_units;
  return j;
}

ledger::genesis read_genesis(const json& doc) {
  object_reader r(doc, "", "the genesis");
  ledger::genesis g;
  g.community_id = read_string(r.need("community_id"), "community_id", ledger::limits::community_id_chars_max);
  const auto& net_name = read_string(r.need("network"), "network", address_chars_max);
  auto net = network_from_name(net_name);
  if (!net) fail(json_errc::bad_value, "network", "must be \"mainnet\", \"testnet\" or \"regtest\", got \"" + clip(net_name) + "\"");
  g.network = *net;
  g.genesis_time_ms = r.i64("genesis_time_ms");
  g.params = read_params(r.need("params"), "params");

  const json& admins = r.need("admins");
  if (!admins.is_array()) fail(json_errc::wrong_type, "admins", "must be an array of Ed25519 public keys (hex), got " + describe(admins));
  if (admins.size() > ledger::limits::admins_max)
    fail(json_errc::too_large, "admins", "has " + std::to_string(admins.size()) + " keys, more than " + std::to_string(ledger::limits::admins_max));
  for (std::size_t i = 0; i < admins.size(); ++i)
    g.admins.push_back(read_ed25519_key(admins[i], "admins[" + std::to_string(i) + "]"));

  const json& allocations = r.need("allocations");
  if (!allocations.is_array()) fail(json_errc::wrong_type, "allocations", "must be an array of {account, tsl_units}, got " + describe(allocations));
  if (allocations.size() > ledger::limits::genesis_allocations_max)
    fail(json_errc::too_large, "allocations", "has " + std::to_string(allocations.size()) + " entries, more than " +
                                                  std::to_string(ledger::limits::genesis_allocations_max));
  g.allocations.reserve(allocations.size());
  for (std::size_t i = 0; i < allocations.size(); ++i) {
    object_reader a(allocations[i], "allocations[" + std::to_string(i) + "]", "an allocation");
    ledger::genesis_allocation alloc;
    alloc.account = a.address("account", g.network);
    alloc.tsl_units = a.i64("tsl_units", 1, ledger::tsl_supply_units);
    a.finish();
    g.allocations.push_back(alloc);
  }
  r.finish();
  return g;
}

// --- commands --------------------------------------------------------------------------------

struct type_entry {
  std::string_view name;
  signer_info signer;
};
// Indexed by command_body's variant index (the wire type byte − 1).
constexpr type_entry type_table[] = {
    {"tick", {signer_kind::none, ""}},
    {"register_meter", {signer_kind::ed25519, "admin_key"}},
    {"register_storage_unit", {signer_kind::ed25519, "admin_key"}},
    {"set_params", {signer_kind::ed25519, "admin_key"}},
    {"education_grant", {signer_kind::ed25519, "admin_key"}},
    {"meter_reading", {signer_kind::ed25519, "meter_key"}},
    {"storage_report", {signer_kind::ed25519, "unit_key"}},
    {"transfer", {signer_kind::secp256k1, "from_key"}},
    {"place_order", {signer_kind::secp256k1, "from_key"}},
    {"cancel_order", {signer_kind::secp256k1, "from_key"}},
    {"replace_order", {signer_kind::secp256k1, "from_key"}},
    {"set_agent", {signer_kind::secp256k1, "from_key"}},
    {"register_station", {signer_kind::ed25519, "admin_key"}},
    {"ev_open_session", {signer_kind::secp256k1, "from_key"}},
    {"ev_delivery", {signer_kind::ed25519, "station_key"}},
    {"ev_close_session", {signer_kind::secp256k1, "from_key"}},
};
static_assert(std::size(type_table) == std::variant_size_v<ledger::command_body>);

ledger::admin_auth read_auth(object_reader& r) {
  ledger::admin_auth a;
  a.admin_key = r.ed_key("admin_key");
  a.nonce = r.u64("nonce");
  return a;
}

market::side read_side(object_reader& r) {
  const auto& text = read_string(r.need("side"), r.path("side"), address_chars_max);
  if (text == "buy") return market::side::buy;
  if (text == "sell") return market::side::sell;
  fail(json_errc::bad_value, r.path("side"), "must be \"buy\" or \"sell\", got \"" + clip(text) + "\"");
}

market::order_kind read_order_kind(object_reader& r) {
  const auto& text = read_string(r.need("kind"), r.path("kind"), address_chars_max);
  if (text == "limit") return market::order_kind::limit;
  if (text == "immediate_or_cancel") return market::order_kind::immediate_or_cancel;
  if (text == "market") return market::order_kind::market;
  fail(json_errc::bad_value, r.path("kind"), "must be \"limit\", \"immediate_or_cancel\" or \"market\", got \"" + clip(text) + "\"");
}

std::string_view side_name(market::side s) { return s == market::side::buy ? "buy" : "sell"; }

std::string_view order_kind_name(market::order_kind k) {
  switch (k) {
    case market::order_kind::limit: return "limit";
    case market::order_kind::immediate_or_cancel: return "immediate_or_cancel";
    case market::order_kind::market: return "market";
  }
  return "limit";
}

ledger::command_body read_body(object_reader& r, std::size_t index, crypto::network net) {
  using namespace ledger;
  switch (index) {
    case 0: {
      tick c;
      c.time_ms = r.i64("time_ms");
      return c;
    }
    case 1: {
      register_meter c;
      c.auth = read_auth(r);
      c.meter_key = r.ed_key("meter_key");
      c.account = r.address("account", net);
      c.export_wh_start = r.i64("export_wh_start");
      c.import_wh_start = r.i64("import_wh_start");
      return c;
    }
    case 2: {
      register_storage_unit c;
      c.auth = read_auth(r);
      c.unit_key = r.ed_key("unit_key");
      c.owner = r.address("owner", net);
      c.capacity_wh = r.i64("capacity_wh");
      return c;
    }
    case 3: {
      set_params c;
      c.auth = read_auth(r);
      c.params = read_params(r.need("params"), r.path("params"));
      return c;
    }
    case 4: {
      education_grant c;
      c.auth = read_auth(r);
      c.account = r.address("account", net);
      return c;
    }
    case 5: {
      meter_reading c;
      c.meter_key = r.ed_key("meter_key");
      c.sequence = r.u64("sequence");
      c.timestamp_ms = r.i64("timestamp_ms");
      c.export_wh_total = r.i64("export_wh_total");
      c.import_wh_total = r.i64("import_wh_total");
      return c;
    }
    case 6: {
      storage_report c;
      c.unit_key = r.ed_key("unit_key");
      c.nonce = r.u64("nonce");
      c.epoch = r.u64("epoch");
      c.stored_wh = r.i64("stored_wh");
      return c;
    }
    case 7: {
      transfer c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.to = r.address("to", net);
      const auto& what = read_string(r.need("asset"), r.path("asset"), address_chars_max);
      if (what == "TSL") c.what = asset::tsl;
      else if (what == "WATT") c.what = asset::watt;
      else fail(json_errc::bad_value, r.path("asset"), "must be \"TSL\" or \"WATT\", got \"" + clip(what) + "\"");
      c.amount = r.i64("amount");
      return c;
    }
    case 8: {
      place_order c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.order_side = read_side(r);
      c.kind = read_order_kind(r);
      c.price_units_per_wh = r.i64("price_units_per_wh");
      c.quantity_wh = r.i64("quantity_wh");
      return c;
    }
    case 9: {
      cancel_order c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.order_id = r.u64("order_id");
      return c;
    }
    case 10: {
      replace_order c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.order_id = r.u64("order_id");
      c.price_units_per_wh = r.i64("price_units_per_wh");
      c.quantity_wh = r.i64("quantity_wh");
      return c;
    }
    case 11: {
      set_agent c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.enabled = r.boolean("enabled");
      c.buy_price_units_per_wh = r.i64("buy_price_units_per_wh");
      c.buy_below_wh = r.i64("buy_below_wh");
      c.sell_price_units_per_wh = r.i64("sell_price_units_per_wh");
      c.sell_above_wh = r.i64("sell_above_wh");
      return c;
    }
    case 12: {
      register_station c;
      c.auth = read_auth(r);
      c.station_key = r.ed_key("station_key");
      c.account = r.address("account", net);
      c.service_fee_units_per_kwh = r.i64("service_fee_units_per_kwh");
      return c;
    }
    case 13: {
      ev_open_session c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.station_key = r.ed_key("station_key");
      c.cap_units = r.i64("cap_units");
      c.price_cap_units_per_wh = r.i64("price_cap_units_per_wh");
      return c;
    }
    case 14: {
      ev_delivery c;
      c.station_key = r.ed_key("station_key");
      c.sequence = r.u64("sequence");
      c.session_id = r.u64("session_id");
      c.delivered_wh_total = r.i64("delivered_wh_total");
      c.finished = r.boolean("finished");
      return c;
    }
    case 15: {
      ev_close_session c;
      c.from_key = r.secp_key("from_key");
      c.nonce = r.u64("nonce");
      c.session_id = r.u64("session_id");
      return c;
    }
    default:
      static_assert(std::variant_size_v<command_body> == 16, "a new command type needs its JSON form here");
      ENERGO_ASSERT(false, "command type index out of range");
      return tick{};
  }
}

ledger::command read_command(const json& doc, crypto::network net, signature_form form) {
  object_reader r(doc, "", "a command");
  const auto& type_name = read_string(r.need("type"), "type", address_chars_max);
  std::size_t index = std::size(type_table);
  for (std::size_t i = 0; i < std::size(type_table); ++i)
    if (type_table[i].name == type_name) index = i;
  if (index == std::size(type_table)) {
    std::string known;
    for (const auto& t : type_table) known += (known.empty() ? "" : ", ") + std::string(t.name);
    fail(json_errc::bad_value, "type", "unknown command type \"" + clip(type_name) + "\" (known: " + known + ")");
  }
  ledger::command cmd;
  cmd.body = read_body(r, index, net);
  const bool signed_type = type_table[index].signer.kind != signer_kind::none;
  if (r.has("signature")) {
    if (!signed_type) fail(json_errc::unknown_field, "signature", "a tick is never signed");
    if (form == signature_form::unsigned_form)
      fail(json_errc::unknown_field, "signature", "not allowed in an unsigned command (it would be replaced)");
    cmd.signature = read_hex<64>(r.need("signature"), "signature");
  } else if (signed_type && form == signature_form::signed_form) {
    r.need("signature");  // reports the missing field
  }
  r.finish();
  return cmd;
}

void write_auth(json& j, const ledger::admin_auth& a) {
  j["admin_key"] = crypto::to_hex(a.admin_key.bytes);
  j["nonce"] = a.nonce;
}

}  // namespace

// --- public API ------------------------------------------------------------------------------

std::string_view json_errc_name(json_errc code) {
  switch (code) {
    case json_errc::syntax: return "syntax";
    case json_errc::too_large: return "too_large";
    case json_errc::too_deep: return "too_deep";
    case json_errc::duplicate_key: return "duplicate_key";
    case json_errc::wrong_type: return "wrong_type";
    case json_errc::missing_field: return "missing_field";
    case json_errc::unknown_field: return "unknown_field";
    case json_errc::out_of_range: return "out_of_range";
    case json_errc::bad_hex: return "bad_hex";
    case json_errc::bad_key: return "bad_key";
    case json_errc::bad_address: return "bad_address";
    case json_errc::wrong_network: return "wrong_network";
    case json_errc::bad_value: return "bad_value";
    case json_errc::io: return "io";
  }
  return "unknown";
}

std::string json_error::to_string() const {
  std::string out;
  if (line != 0) out += "line " + std::to_string(line) + ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  out += message;
  return out;
}

std::string dump_compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string dump_pretty(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

json_result<json> parse_json(std::string_view text, std::size_t bytes_max) {
  if (text.size() > bytes_max)
    return unexpected<json_error>{json_error{json_errc::too_large, 0, "",
                                             "document is " + std::to_string(text.size()) + " bytes, above the limit of " +
                                                 std::to_string(bytes_max)}};
  return guarded<json>([&]() -> json {
    // The callback sees every object as it is built: it refuses a key seen twice in the same object,
    // objects with too many keys, and nesting beyond json_depth_max, before the parser goes further.
    std::vector<std::set<std::string>> keys;
    std::size_t depth = 0;
    auto callback = [&](int, json::parse_event_t event, json& parsed) -> bool {
      switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
          if (++depth > json_depth_max)
            fail(json_errc::too_deep, "", "nesting deeper than " + std::to_string(json_depth_max) + " levels");
          if (event == json::parse_event_t::object_start) keys.emplace_back();
          break;
        case json::parse_event_t::object_end:
          --depth;
          if (!keys.empty()) keys.pop_back();
          break;
        case json::parse_event_t::array_end: --depth; break;
        case json::parse_event_t::key:
          if (!keys.empty() && parsed.is_string()) {
            if (!keys.back().insert(parsed.get<std::string>()).second)
              fail(json_errc::duplicate_key, clip(parsed.get<std::string>()), "appears twice in the same object");
            // No document of ours has more than a handful of fields; the bound also keeps the
            // ordered map's linear lookups cheap on hostile input.
            if (keys.back().size() > json_object_members_max)
              fail(json_errc::too_large, "", "an object has more than " + std::to_string(json_object_members_max) + " fields");
          }
          break;
        case json::parse_event_t::value: break;
      }
      return true;
    };
    try {
      return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
    } catch (const json::parse_error& e) {
      // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 7: ..."; keep the human part.
      std::string what = e.what();
      if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
      fail(json_errc::syntax, "", "not valid JSON: " + clip(what));
    }
  });
}

json_result<ledger::genesis> genesis_from_json(const json& doc) {
  return guarded<ledger::genesis>([&] { return read_genesis(doc); });
}

json_result<ledger::genesis> genesis_from_text(std::string_view text) {
  auto doc = parse_json(text, genesis_bytes_max);
  if (!doc) return unexpected<json_error>{doc.error()};
  return genesis_from_json(*doc);
}

json_result<ledger::genesis> read_genesis_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected<json_error>{json_error{json_errc::io, 0, "", "cannot open " + path}};
  std::string text;
  std::array<char, 64 * 1024> chunk{};
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > genesis_bytes_max)
      return unexpected<json_error>{json_error{json_errc::too_large, 0, "",
                                               path + " is larger than " + std::to_string(genesis_bytes_max) + " bytes"}};
  }
  if (in.bad()) return unexpected<json_error>{json_error{json_errc::io, 0, "", "read error on " + path}};
  return genesis_from_text(text);
}

json genesis_to_json(const ledger::genesis& g) {
  json j = json::object();
  j["community_id"] = g.community_id;
  j["network"] = std::string(network_name(g.network));
  j["genesis_time_ms"] = g.genesis_time_ms;
  j["params"] = params_to_json(g.params);
  json admins = json::array();
  for (const auto& a : g.admins) admins.push_back(crypto::to_hex(a.bytes));
  j["admins"] = std::move(admins);
  json allocations = json::array();
  for (const auto& a : g.allocations) {
    json entry = json::object();
    entry["account"] = address_to_text(a.account, g.network);
    entry["tsl_units"] = a.tsl_units;
    allocations.push_back(std::move(entry));
  }
  j["allocations"] = std::move(allocations);
  return j;
}

std::string_view network_name(crypto::network net) {
  switch (net) {
    case crypto::network::mainnet: return "mainnet";
    case crypto::network::testnet: return "testnet";
    case crypto::network::regtest: return "regtest";
  }
  return "unknown";
}

std::optional<crypto::network> network_from_name(std::string_view name) {
  if (name == "mainnet") return crypto::network::mainnet;
  if (name == "testnet") return crypto::network::testnet;
  if (name == "regtest") return crypto::network::regtest;
  return std::nullopt;
}

std::string address_to_text(const ledger::account_address& address, crypto::network net) {
  if (address == ledger::education_pool_address()) return std::string(education_pool_name);
  if (address == ledger::network_pool_address()) return std::string(network_pool_name);
  crypto::address a;
  a.version = net == crypto::network::mainnet ? crypto::qtum_pubkey_version_mainnet : crypto::qtum_pubkey_version_testnet;
  a.hash = address;
  return a.to_string();
}

json_result<ledger::account_address> address_from_text(std::string_view text, crypto::network net) {
  auto error = [](json_errc code, std::string message) {
    return unexpected<json_error>{json_error{code, 0, "", std::move(message)}};
  };
  if (text == education_pool_name) return ledger::education_pool_address();
  if (text == network_pool_name) return ledger::network_pool_address();
  if (text.size() > address_chars_max) return error(json_errc::bad_address, "is not a Qtum address (too long)");
  auto parsed = crypto::address::parse(text, net);
  if (!parsed) {
    if (auto other = crypto::address::parse(text)) {
      const bool other_is_mainnet = other->version == crypto::qtum_pubkey_version_mainnet ||
                                    other->version == crypto::qtum_script_version_mainnet;
      return error(json_errc::wrong_network, std::string("is a ") + (other_is_mainnet ? "mainnet" : "testnet/regtest") +
                                                 " address, but the genesis network is " + std::string(network_name(net)));
    }
    return error(json_errc::bad_address, "is not a valid Qtum address (base58check): " + clip(std::string(text)));
  }
  if (parsed->kind() != crypto::address_kind::pubkey_hash)
    return error(json_errc::bad_address, "is a P2SH script address; accounts are pay-to-public-key-hash addresses");
  return parsed->hash;
}

std::string_view asset_name(ledger::asset what) { return what == ledger::asset::tsl ? "TSL" : "WATT"; }

std::optional<signer_info> signer_for_type(std::string_view type_name) {
  for (const auto& t : type_table)
    if (t.name == type_name) return t.signer;
  return std::nullopt;
}

json_result<ledger::command> command_from_json(const json& doc, crypto::network net, signature_form form) {
  return guarded<ledger::command>([&] { return read_command(doc, net, form); });
}

json_result<ledger::command> command_from_line(std::string_view line, std::size_t line_number, crypto::network net,
                                               signature_form form) {
  auto doc = parse_json(line, json_line_bytes_max);
  json_result<ledger::command> out = doc ? command_from_json(*doc, net, form) : json_result<ledger::command>(unexpected<json_error>{doc.error()});
  if (!out) {
    json_error e = out.error();
    e.line = line_number;
    return unexpected<json_error>{std::move(e)};
  }
  return out;
}

json command_to_json(const ledger::command& cmd, crypto::network net, signature_form form) {
  json j = json::object();
  j["type"] = std::string(ledger::command_name(cmd.body));
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ledger::tick>) {
          j["time_ms"] = c.time_ms;
        } else if constexpr (std::is_same_v<T, ledger::register_meter>) {
          write_auth(j, c.auth);
          j["meter_key"] = crypto::to_hex(c.meter_key.bytes);
          j["account"] = address_to_text(c.account, net);
          j["export_wh_start"] = c.export_wh_start;
          j["import_wh_start"] = c.import_wh_start;
        } else if constexpr (std::is_same_v<T, ledger::register_storage_unit>) {
          write_auth(j, c.auth);
          j["unit_key"] = crypto::to_hex(c.unit_key.bytes);
          j["owner"] = address_to_text(c.owner, net);
          j["capacity_wh"] = c.capacity_wh;
        } else if constexpr (std::is_same_v<T, ledger::set_params>) {
          write_auth(j, c.auth);
          j["params"] = params_to_json(c.params);
        } else if constexpr (std::is_same_v<T, ledger::education_grant>) {
          write_auth(j, c.auth);
          j["account"] = address_to_text(c.account, net);
        } else if constexpr (std::is_same_v<T, ledger::meter_reading>) {
          j["meter_key"] = crypto::to_hex(c.meter_key.bytes);
          j["sequence"] = c.sequence;
          j["timestamp_ms"] = c.timestamp_ms;
          j["export_wh_total"] = c.export_wh_total;
          j["import_wh_total"] = c.import_wh_total;
        } else if constexpr (std::is_same_v<T, ledger::storage_report>) {
          j["unit_key"] = crypto::to_hex(c.unit_key.bytes);
          j["nonce"] = c.nonce;
          j["epoch"] = c.epoch;
          j["stored_wh"] = c.stored_wh;
        } else if constexpr (std::is_same_v<T, ledger::transfer>) {
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["to"] = address_to_text(c.to, net);
          j["asset"] = std::string(asset_name(c.what));
          j["amount"] = c.amount;
        } else if constexpr (std::is_same_v<T, ledger::place_order>) {
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["side"] = std::string(side_name(c.order_side));
          j["kind"] = std::string(order_kind_name(c.kind));
          j["price_units_per_wh"] = c.price_units_per_wh;
          j["quantity_wh"] = c.quantity_wh;
        } else if constexpr (std::is_same_v<T, ledger::cancel_order>) {
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["order_id"] = c.order_id;
        } else if constexpr (std::is_same_v<T, ledger::replace_order>) {
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["order_id"] = c.order_id;
          j["price_units_per_wh"] = c.price_units_per_wh;
          j["quantity_wh"] = c.quantity_wh;
        } else if constexpr (std::is_same_v<T, ledger::set_agent>) {
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["enabled"] = c.enabled;
          j["buy_price_units_per_wh"] = c.buy_price_units_per_wh;
          j["buy_below_wh"] = c.buy_below_wh;
          j["sell_price_units_per_wh"] = c.sell_price_units_per_wh;
          j["sell_above_wh"] = c.sell_above_wh;
        } else if constexpr (std::is_same_v<T, ledger::register_station>) {
          write_auth(j, c.auth);
          j["station_key"] = crypto::to_hex(c.station_key.bytes);
          j["account"] = address_to_text(c.account, net);
          j["service_fee_units_per_kwh"] = c.service_fee_units_per_kwh;
        } else if constexpr (std::is_same_v<T, ledger::ev_open_session>) {
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["station_key"] = crypto::to_hex(c.station_key.bytes);
          j["cap_units"] = c.cap_units;
          j["price_cap_units_per_wh"] = c.price_cap_units_per_wh;
        } else if constexpr (std::is_same_v<T, ledger::ev_delivery>) {
          j["station_key"] = crypto::to_hex(c.station_key.bytes);
          j["sequence"] = c.sequence;
          j["session_id"] = c.session_id;
          j["delivered_wh_total"] = c.delivered_wh_total;
          j["finished"] = c.finished;
        } else {
          static_assert(std::is_same_v<T, ledger::ev_close_session>, "a new command type needs its JSON form here");
          j["from_key"] = crypto::to_hex(c.from_key.bytes);
          j["nonce"] = c.nonce;
          j["session_id"] = c.session_id;
        }
      },
      cmd.body);
  if (form == signature_form::signed_form && !std::holds_alternative<ledger::tick>(cmd.body))
    j["signature"] = crypto::to_hex(cmd.signature);
  return j;
}

std::string command_to_line(const ledger::command& cmd, crypto::network net, signature_form form) {
  return dump_compact(command_to_json(cmd, net, form));
}

json_result<std::optional<std::string>> json_lines_reader::next() {
  auto* buffer = in_.rdbuf();
  while (!done_) {
    std::string line;
    bool any = false;
    for (;;) {
      const int c = buffer ? buffer->sbumpc() : std::char_traits<char>::eof();
      if (c == std::char_traits<char>::eof()) {
        done_ = true;
        break;
      }
      any = true;
      if (c == '\n') break;
      if (line.size() >= json_line_bytes_max) {
        done_ = true;
        return unexpected<json_error>{json_error{json_errc::too_large, line_number_ + 1, "",
                                                 "line is longer than " + std::to_string(json_line_bytes_max) + " bytes"}};
      }
      line.push_back(static_cast<char>(c));
    }
    if (!any) break;
    ++line_number_;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank
    return std::optional<std::string>(std::move(line));
  }
  return std::optional<std::string>();
}

}  // namespace energo::tools
