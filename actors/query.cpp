#include "actors/query.hpp"

#include <algorithm>
#include <utility>

#include "actors/query_internal.hpp"
#include "crypto/address.hpp"

namespace energo::actors {
namespace query_detail {

params_reader::params_reader(const json& params, std::initializer_list<std::string_view> known) : params_(params) {
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (std::find(known.begin(), known.end(), std::string_view(it.key())) == known.end()) {
      fail("unknown parameter \"" + it.key().substr(0, 64) + "\"");
      return;
    }
  }
}

void params_reader::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
}

std::optional<ledger::account_address> params_reader::address(const ledger::ledger& l, std::string_view key,
                                                              bool required) {
  const auto it = params_.find(std::string(key));
  if (it == params_.end()) {
    if (required) fail("parameter \"" + std::string(key) + "\" (a Qtum address) is required");
    return std::nullopt;
  }
  if (!it->is_string()) {
    fail("parameter \"" + std::string(key) + "\" must be a string (a Qtum address)");
    return std::nullopt;
  }
  const auto text_value = it->get<std::string>();
  if (text_value == "education-pool") return ledger::education_pool_address();
  if (text_value == "network-pool") return ledger::network_pool_address();
  const auto parsed = crypto::address::parse(text_value, l.network());
  if (!parsed || parsed->kind() != crypto::address_kind::pubkey_hash) {
    fail("parameter \"" + std::string(key) + "\" is not a P2PKH address of this community's network");
    return std::nullopt;
  }
  return parsed->hash;
}

std::optional<uint64_t> params_reader::optional_count(std::string_view key, uint64_t min, uint64_t max) {
  const auto it = params_.find(std::string(key));
  if (it == params_.end()) return std::nullopt;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    fail("parameter \"" + std::string(key) + "\" must be a non-negative integer");
    return std::nullopt;
  }
  const auto v = it->get<uint64_t>();
  if (v < min || v > max) {
    fail("parameter \"" + std::string(key) + "\" must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return std::nullopt;
  }
  return v;
}

uint64_t params_reader::count(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max) {
  return optional_count(key, min, max).value_or(fallback);
}

bool params_reader::flag(std::string_view key, bool fallback) {
  const auto it = params_.find(std::string(key));
  if (it == params_.end()) return fallback;
  if (!it->is_boolean()) {
    fail("parameter \"" + std::string(key) + "\" must be true or false");
    return fallback;
  }
  return it->get<bool>();
}

std::optional<std::string> params_reader::text(std::string_view key, bool required, std::size_t chars_max) {
  const auto it = params_.find(std::string(key));
  if (it == params_.end()) {
    if (required) fail("parameter \"" + std::string(key) + "\" is required");
    return std::nullopt;
  }
  if (!it->is_string() || it->get_ref<const std::string&>().size() > chars_max) {
    fail("parameter \"" + std::string(key) + "\" must be a string of at most " + std::to_string(chars_max) + " characters");
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::string address_text(const ledger::ledger& l, const ledger::account_address& a) {
  if (a == ledger::education_pool_address()) return "education-pool";
  if (a == ledger::network_pool_address()) return "network-pool";
  crypto::address x;
  x.version = l.network() == crypto::network::mainnet ? crypto::qtum_pubkey_version_mainnet
                                                      : crypto::qtum_pubkey_version_testnet;
  x.hash = a;
  return x.to_string();
}

std::string address_text_of(const ledger::ledger& l, ledger::account_index i) {
  if (i >= l.accounts().size()) return "?";
  return address_text(l, l.accounts()[i].address);
}

std::string_view side_text(market::side s) { return s == market::side::buy ? "buy" : "sell"; }

query_answer fail(net::client_errc code, std::string why) { return {false, code, std::move(why)}; }

query_answer answer(const query_context& ctx, json body) {
  body["applied_index"] = ctx.applied_index;
  return {true, net::client_errc::internal, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

}  // namespace query_detail

namespace {

using namespace query_detail;
using query_fn = query_answer (*)(const query_context&, const json&);

// Sorted by name (query_names() and the lookup rely on it).
constexpr std::pair<std::string_view, query_fn> queries[] = {
    {"account", account_query},
    {"account_history", account_history_query},
    {"agent", agent_query},
    {"analytics", analytics_query},
    {"book", book_query},
    {"epochs", epochs_query},
    {"ev_sessions", ev_sessions_query},
    {"nonce", nonce_query},
    {"orders", orders_query},
    {"params", params_query},
    {"statement", statement_query},
    {"stations", stations_query},
    {"storage_units", storage_units_query},
    {"summary", summary_query},
    {"trades", trades_query},
};

}  // namespace

const std::vector<std::string_view>& query_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& [n, f] : queries) v.push_back(n);
    return v;
  }();
  return names;
}

query_answer run_query(const query_context& ctx, std::string_view name, std::string_view params_json) {
  json params = json::parse(params_json, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded() || !params.is_object()) {
    return fail(net::client_errc::malformed, "query parameters must be a JSON object");
  }
  const auto it = std::lower_bound(std::begin(queries), std::end(queries), name,
                                   [](const auto& q, std::string_view n) { return q.first < n; });
  if (it == std::end(queries) || it->first != name) {
    return fail(net::client_errc::not_supported, "unknown query \"" + std::string(name.substr(0, 64)) + "\"");
  }
  try {
    return it->second(ctx, params);
  } catch (const std::exception& e) {
    // nlohmann throws on type errors; parameters are checked first, so this is a bug, never a crash.
    return fail(net::client_errc::internal, std::string("query failed: ") + e.what());
  }
}

}  // namespace energo::actors
