#include "actors/query.hpp"

#include <nlohmann/json.hpp>

#include "crypto/address.hpp"

namespace energo::actors {
namespace {

using json = nlohmann::json;

query_answer fail(net::client_errc code, std::string why) { return {false, code, std::move(why)}; }

query_answer answer(const query_context& ctx, json body) {
  body["applied_index"] = ctx.applied_index;
  return {true, net::client_errc::internal, body.dump()};
}

// Reads a required base58 P2PKH address of the genesis network from params[key].
std::optional<ledger::account_address> address_param(const query_context& ctx, const json& params,
                                                     const char* key, std::string& why) {
  const auto it = params.find(key);
  if (it == params.end() || !it->is_string()) {
    why = std::string("parameter \"") + key + "\" (a Qtum address) is required";
    return std::nullopt;
  }
  const auto parsed = crypto::address::parse(it->get<std::string>(), ctx.ledger.network());
  if (!parsed || parsed->kind() != crypto::address_kind::pubkey_hash) {
    why = std::string("parameter \"") + key + "\" is not a P2PKH address of this community's network";
    return std::nullopt;
  }
  return parsed->hash;
}

query_answer account_query(const query_context& ctx, const json& params) {
  std::string why;
  const auto address = address_param(ctx, params, "address", why);
  if (!address) return fail(net::client_errc::malformed, why);
  const auto* a = ctx.ledger.find_account(*address);
  json body;
  body["address"] = params["address"];
  body["found"] = a != nullptr;
  if (a) {
    body["tsl_units"] = a->tsl_units;
    body["watt_wh"] = a->watt_wh;
    body["nonce"] = a->nonce;
    body["fee_debt_units"] = a->fee_debt_units;
    body["minted_wh"] = a->minted_wh;
    body["burned_wh"] = a->burned_wh;
    body["grid_export_wh"] = a->grid_export_wh;
    body["grid_import_wh"] = a->grid_import_wh;
    body["fees_paid_units"] = a->fees_paid_units;
    body["granted"] = a->granted;
  }
  return answer(ctx, std::move(body));
}

query_answer summary_query(const query_context& ctx, const json&) {
  json body;
  body["ledger_time_ms"] = ctx.ledger.time_ms();
  body["epoch"] = ctx.ledger.epoch();
  body["storage_capacity_wh"] = ctx.ledger.storage_capacity_wh();
  return answer(ctx, std::move(body));
}

}  // namespace

query_answer run_query(const query_context& ctx, std::string_view name, std::string_view params_json) {
  json params = json::parse(params_json, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded() || !params.is_object()) {
    return fail(net::client_errc::malformed, "query parameters must be a JSON object");
  }
  if (name == "account") return account_query(ctx, params);
  if (name == "summary") return summary_query(ctx, params);
  return fail(net::client_errc::not_supported, "unknown query \"" + std::string(name) + "\"");
}

}  // namespace energo::actors
