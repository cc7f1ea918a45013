#include "tools/command_json.hpp"

#include <cstdio>
#include <filesystem>
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
  ledger::community_params_fields(p, [&](std::string_view name, int64_t& field) { field = r.i64(name); });
  r.finish();
  return p;
}

json params_to_json(const ledger::community_params& p) {
  json j = json::object();
  ledger::community_params_fields(p, [&](std::string_view name, const int64_t& field) { j[std::string(name)] = field; });
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

ledger::admin_auth read_auth(object_reader& r) {
  ledger::admin_auth a;
  a.admin_key = r.ed_key("admin_key");
  a.nonce = r.u64("nonce");
  return a;
}

market::side read_side(object_reader& r, std::string_view name) {
  const auto& text = read_string(r.need(name), r.path(name), address_chars_max);
  if (text == "buy") return market::side::buy;
  if (text == "sell") return market::side::sell;
  fail(json_errc::bad_value, r.path(name), "must be \"buy\" or \"sell\", got \"" + clip(text) + "\"");
}

market::order_kind read_order_kind(object_reader& r, std::string_view name) {
  const auto& text = read_string(r.need(name), r.path(name), address_chars_max);
  if (text == "limit") return market::order_kind::limit;
  if (text == "immediate_or_cancel") return market::order_kind::immediate_or_cancel;
  if (text == "market") return market::order_kind::market;
  fail(json_errc::bad_value, r.path(name), "must be \"limit\", \"immediate_or_cancel\" or \"market\", got \"" + clip(text) + "\"");
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

void write_auth(json& j, const ledger::admin_auth& a) {
  j["admin_key"] = crypto::to_hex(a.admin_key.bytes);
  j["nonce"] = a.nonce;
}

// The JSON form of each field type the command-kind table uses (ledger/commands.hpp): integers as
// JSON integers, keys as hex, addresses as Qtum text or pool names, enums by name, admin_auth as
// the two fields admin_key and nonce, community_params as the nested object "params".
struct field_reader {
  object_reader& r;
  crypto::network net;
  template <class T>
  void operator()(std::string_view, T&) = delete;
  void operator()(std::string_view name, int64_t& v) { v = r.i64(name); }
  void operator()(std::string_view name, uint64_t& v) { v = r.u64(name); }
  void operator()(std::string_view name, bool& v) { v = r.boolean(name); }
  void operator()(std::string_view name, crypto::ed25519_public_key& k) { k = r.ed_key(name); }
  void operator()(std::string_view name, crypto::secp256k1_public_key& k) { k = r.secp_key(name); }
  void operator()(std::string_view name, ledger::account_address& a) { a = r.address(name, net); }
  void operator()(std::string_view name, ledger::asset& a) {
    const auto& what = read_string(r.need(name), r.path(name), address_chars_max);
    if (what == asset_name(ledger::asset::tsl)) a = ledger::asset::tsl;
    else if (what == asset_name(ledger::asset::watt)) a = ledger::asset::watt;
    else fail(json_errc::bad_value, r.path(name), "must be \"TSL\" or \"WATT\", got \"" + clip(what) + "\"");
  }
  void operator()(std::string_view name, market::side& s) { s = read_side(r, name); }
  void operator()(std::string_view name, market::order_kind& k) { k = read_order_kind(r, name); }
  void operator()(std::string_view, ledger::admin_auth& a) { a = read_auth(r); }
  void operator()(std::string_view name, ledger::community_params& p) { p = read_params(r.need(name), r.path(name)); }
};

struct field_writer {
  json& j;
  crypto::network net;
  template <class T>
  void operator()(std::string_view, const T&) = delete;
  void operator()(std::string_view name, const int64_t& v) { j[std::string(name)] = v; }
  void operator()(std::string_view name, const uint64_t& v) { j[std::string(name)] = v; }
  void operator()(std::string_view name, const bool& v) { j[std::string(name)] = v; }
  void operator()(std::string_view name, const crypto::ed25519_public_key& k) { j[std::string(name)] = crypto::to_hex(k.bytes); }
  void operator()(std::string_view name, const crypto::secp256k1_public_key& k) { j[std::string(name)] = crypto::to_hex(k.bytes); }
  void operator()(std::string_view name, const ledger::account_address& a) { j[std::string(name)] = address_to_text(a, net); }
  void operator()(std::string_view name, const ledger::asset& a) { j[std::string(name)] = std::string(asset_name(a)); }
  void operator()(std::string_view name, const market::side& s) { j[std::string(name)] = std::string(side_name(s)); }
  void operator()(std::string_view name, const market::order_kind& k) { j[std::string(name)] = std::string(order_kind_name(k)); }
  void operator()(std::string_view, const ledger::admin_auth& a) { write_auth(j, a); }
  void operator()(std::string_view name, const ledger::community_params& p) { j[std::string(name)] = params_to_json(p); }
};

ledger::command read_command(const json& doc, crypto::network net, signature_form form) {
  object_reader r(doc, "", "a command");
  const auto& type_name = read_string(r.need("type"), "type", address_chars_max);
  const auto index = ledger::command_index_from_name(type_name);
  if (!index) {
    std::string known;
    for (const auto& k : ledger::command_kinds) known += (known.empty() ? "" : ", ") + std::string(k.name);
    fail(json_errc::bad_value, "type", "unknown command type \"" + clip(type_name) + "\" (known: " + known + ")");
  }
  ledger::command cmd;
  ledger::visit_command_kind(*index, [&]<class T>(std::type_identity<T>) {
    T c{};
    field_reader fields{r, net};
    ledger::command_kind<T>::fields(c, fields);
    cmd.body = std::move(c);
  });
  const bool signed_type = ledger::command_kinds[*index].signer != signer_kind::none;
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
  // What nlohmann::json would accept without a word, refused clearly: a NUL byte ends its input
  // (the rest of the line would be ignored), and it skips a UTF-8 byte order mark.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return unexpected<json_error>{json_error{json_errc::syntax, 0, "",
                                             "contains a NUL byte at byte " + std::to_string(nul + 1) +
                                                 " (JSON text never does; is this a binary or UTF-16 file?)"}};
  if (text.starts_with(utf8_bom))
    return unexpected<json_error>{json_error{json_errc::syntax, 0, "",
                                             "starts with a UTF-8 byte order mark (BOM); save the file as UTF-8 without one"}};
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
    } catch (const json::exception& e) {
      // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 7: ..."; keep the human part.
      // A number beyond even a double's range ("1e999") is out_of_range.406 rather than a parse_error.
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
  if (auto checked = check_input_file(path); !checked) return unexpected<json_error>{checked.error()};
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
  const auto index = ledger::command_index_from_name(type_name);
  if (!index) return std::nullopt;
  return signer_info{ledger::command_kinds[*index].signer, ledger::command_kinds[*index].signer_field};
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
        field_writer fields{j, net};
        ledger::command_kind<std::decay_t<decltype(c)>>::fields(c, fields);
      },
      cmd.body);
  if (form == signature_form::signed_form && ledger::command_kinds[cmd.body.index()].signer != signer_kind::none)
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
    try {
      for (;;) {
        // A stream buffer may throw (libstdc++'s filebuf does when read() fails, e.g. on a
        // directory); nothing may leave this function but a value.
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
    } catch (const std::exception& e) {
      done_ = true;
      return unexpected<json_error>{json_error{json_errc::io, line_number_ + 1, "", std::string("read error: ") + clip(e.what())}};
    }
    if (!any) break;
    ++line_number_;
    // Lines end with LF or CRLF. A CR anywhere else means old Mac line endings (or a pasted
    // control character): several commands would run together on one "line".
    if (const auto cr = line.find('\r'); cr != std::string::npos && cr + 1 != line.size()) {
      return unexpected<json_error>{json_error{json_errc::syntax, line_number_, "",
                                               "carriage return inside the line at byte " + std::to_string(cr + 1) +
                                                   "; lines must end with LF or CRLF"}};
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank
    return std::optional<std::string>(std::move(line));
  }
  return std::optional<std::string>();
}

json_result<void> check_input_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return unexpected<json_error>{json_error{json_errc::io, 0, "", "cannot open " + path + ": " + ec.message()}};
  if (std::filesystem::is_directory(status))
    return unexpected<json_error>{json_error{json_errc::io, 0, "", path + " is a directory, not a file"}};
  return ok;
}

}  // namespace energo::tools
