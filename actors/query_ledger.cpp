// Queries over the ledger's own records: summary, params, account (+ Merkle proof), nonce, agent,
// ev_sessions, storage_units, stations (actors/query.hpp).
#include <algorithm>

#include "actors/query_internal.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace energo::actors::query_detail {

namespace {

json totals_json(const ledger::totals& t) {
  json j;
  j["watt_minted_wh"] = t.watt_minted_wh;
  j["watt_burned_wh"] = t.watt_burned_wh;
  j["grid_export_wh"] = t.grid_export_wh;
  j["grid_import_wh"] = t.grid_import_wh;
  j["fees_collected_units"] = t.fees_collected_units;
  j["fees_to_owners_units"] = t.fees_to_owners_units;
  j["fees_to_education_units"] = t.fees_to_education_units;
  j["fees_to_network_units"] = t.fees_to_network_units;
  j["grants_paid_units"] = t.grants_paid_units;
  j["readings_accepted"] = t.readings_accepted;
  j["readings_refused_backwards"] = t.readings_refused_backwards;
  j["market_trades"] = t.market_trades;
  j["market_volume_wh"] = t.market_volume_wh;
  j["agent_orders"] = t.agent_orders;
  return j;
}

std::string_view session_state_text(ledger::session_state s) {
  switch (s) {
    case ledger::session_state::open: return "open";
    case ledger::session_state::finished: return "finished";
    case ledger::session_state::closed_by_vehicle: return "closed_by_vehicle";
    case ledger::session_state::stopped_cap: return "stopped_cap";
    case ledger::session_state::stopped_funds: return "stopped_funds";
    case ledger::session_state::stopped_supply: return "stopped_supply";
  }
  return "?";
}

json session_json(const ledger::ledger& l, const ledger::ev_session& s) {
  json j;
  j["id"] = s.id;
  j["vehicle"] = address_text_of(l, s.vehicle);
  if (s.station < l.stations().size()) j["station_key"] = crypto::to_hex(l.stations()[s.station].key.bytes);
  j["state"] = std::string(session_state_text(s.state));
  j["cap_units"] = s.cap_units;
  j["price_cap_units_per_wh"] = s.price_cap_units_per_wh;
  j["delivered_wh"] = s.delivered_wh;
  j["settled_wh"] = s.settled_wh;
  j["unsettled_wh"] = s.unsettled_wh;
  j["energy_cost_units"] = s.energy_cost_units;
  j["fees_units"] = s.fees_units;
  j["spent_units"] = s.spent_units;
  j["opened_epoch"] = s.opened_epoch;
  return j;
}

}  // namespace

query_answer summary_query(const query_context& ctx, const json& params) {
  params_reader p(params, {});
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  json body;
  body["community_id"] = l.community_id();
  body["genesis_hash"] = crypto::to_hex(l.genesis_hash());
  body["ledger_time_ms"] = l.time_ms();
  body["epoch"] = l.epoch();
  body["storage_capacity_wh"] = l.storage_capacity_wh();
  body["accounts"] = l.accounts().size();
  body["meters"] = l.meters().size();
  body["storage_units"] = l.storage_units().size();
  body["stations"] = l.stations().size();
  body["resting_orders"] = l.book().resting_orders();
  body["parked_orders"] = l.book().parked_orders();
  body["open_sessions"] = l.open_sessions().size();
  body["totals"] = totals_json(l.sums());
  return answer(ctx, std::move(body));
}

query_answer params_query(const query_context& ctx, const json& params) {
  params_reader p(params, {});
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  const auto& c = l.params();
  json body;
  body["community_id"] = l.community_id();
  body["network"] = l.network() == crypto::network::mainnet ? "mainnet"
                    : l.network() == crypto::network::testnet ? "testnet" : "regtest";
  body["genesis_hash"] = crypto::to_hex(l.genesis_hash());
  body["fee_units_per_kwh_epoch"] = c.fee_units_per_kwh_epoch;
  body["storage_cost_per_user_cents"] = c.storage_cost_per_user_cents;
  body["battery_price_cents_per_kwh"] = c.battery_price_cents_per_kwh;
  body["grant_units"] = c.grant_units;
  body["bmax_wh"] = l.bmax_wh();
  body["epoch_ms"] = ledger::epoch_ms;
  body["fee_share_education_percent"] = ledger::fee_share_education_percent;
  body["fee_share_network_percent"] = ledger::fee_share_network_percent;
  body["storage_capacity_wh"] = l.storage_capacity_wh();
  auto admins = json::array();
  for (const auto& [key, nonce] : l.admin_nonces()) admins.push_back(crypto::to_hex(key.bytes));
  body["admins_seen"] = std::move(admins);
  const auto& m = l.book().params();
  json market;
  market["orders_per_account_max"] = m.orders_per_account_max;
  market["quantity_wh_max"] = m.quantity_wh_max;
  market["price_min"] = m.price_min;
  market["price_max"] = m.price_max;
  body["market"] = std::move(market);
  return answer(ctx, std::move(body));
}

query_answer account_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"address", "proof"});
  const auto address = p.address(ctx.ledger, "address", true);
  const bool want_proof = p.flag("proof", false);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  if (want_proof && ctx.provable == nullptr) return fail(net::client_errc::not_supported, "proofs are not served here");
  const auto& l = ctx.ledger;
  const auto index = l.account_index_of(*address);
  json body;
  body["address"] = address_text(l, *address);
  body["found"] = index.has_value();
  if (!index) return answer(ctx, std::move(body));
  const auto& a = l.accounts()[*index];
  body["kind"] = a.kind == ledger::account_kind::member ? "member"
                 : a.kind == ledger::account_kind::education_pool ? "education_pool" : "network_pool";
  body["tsl_units"] = a.tsl_units;
  body["watt_wh"] = a.watt_wh;
  body["nonce"] = a.nonce;
  body["fee_debt_units"] = a.fee_debt_units;
  body["minted_wh"] = a.minted_wh;
  body["burned_wh"] = a.burned_wh;
  body["grid_export_wh"] = a.grid_export_wh;
  body["grid_import_wh"] = a.grid_import_wh;
  body["fees_paid_units"] = a.fees_paid_units;
  body["granted"] = a.granted;
  if (a.key_known) body["public_key"] = crypto::to_hex(a.key.bytes);
  // Fees earned as a storage-unit owner and as a charging station (lifetime, from their records).
  int64_t owner_fees = 0, station_fees = 0;
  for (const auto& u : l.storage_units()) owner_fees += u.owner == *index ? u.fees_earned_units : 0;
  for (const auto& s : l.stations()) station_fees += s.account == *index ? s.fees_earned_units : 0;
  body["fees_earned_storage_units"] = owner_fees;
  body["fees_earned_station_units"] = station_fees;
  body["resting_orders"] = l.book().order_count(*index);
  body["storage_access"] = ledger::ledger::has_storage_access(a);
  if (want_proof) {
    const auto proof = ctx.provable->prove(*address);
    if (!proof) return fail(net::client_errc::internal, "no proof for an existing account");
    json pj;
    pj["state_root"] = crypto::to_hex(ctx.provable->state_root());
    pj["leaf"] = crypto::to_hex(ledger::account_leaf_bytes(proof->record));
    pj["leaf_index"] = proof->path.leaf_index;
    pj["leaf_count"] = proof->path.leaf_count;
    auto siblings = json::array();
    for (const auto& s : proof->path.siblings) siblings.push_back(crypto::to_hex(s));
    pj["siblings"] = std::move(siblings);
    pj["accounts_root"] = crypto::to_hex(proof->accounts_root);
    pj["meters_root"] = crypto::to_hex(proof->meters_root);
    pj["units_root"] = crypto::to_hex(proof->units_root);
    pj["globals_hash"] = crypto::to_hex(proof->globals_hash);
    pj["market_hash"] = crypto::to_hex(proof->market_hash);
    pj["verified"] = ledger::verify_account_proof(ctx.provable->state_root(), *proof);
    body["proof"] = std::move(pj);
  }
  return answer(ctx, std::move(body));
}

// The last nonce (or sequence) the ledger accepted for a key: admin, account (secp256k1, 33 bytes),
// meter, storage unit or charging station. The next command must carry a larger one.
query_answer nonce_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"key"});
  const auto key_hex = p.text("key", true, 66);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  json body;
  body["key"] = *key_hex;
  if (key_hex->size() == 66) {
    const auto bytes = crypto::array_from_hex<33>(*key_hex);
    if (!bytes) return fail(net::client_errc::malformed, "parameter \"key\" is not hex");
    crypto::secp256k1_public_key k;
    k.bytes = *bytes;
    const auto a = l.account_index_of(crypto::hash160_of(k.bytes));
    body["role"] = "account";
    body["found"] = a.has_value();
    body["nonce"] = a ? l.accounts()[*a].nonce : 0;
    return answer(ctx, std::move(body));
  }
  const auto bytes = crypto::array_from_hex<32>(*key_hex);
  if (!bytes) return fail(net::client_errc::malformed, "parameter \"key\" must be 64 (Ed25519) or 66 (secp256k1) hex characters");
  crypto::ed25519_public_key k;
  k.bytes = *bytes;
  body["found"] = true;
  if (auto it = l.admin_nonces().find(k); it != l.admin_nonces().end()) {
    body["role"] = "admin", body["nonce"] = it->second;
  } else if (const auto* m = l.find_meter(k)) {
    body["role"] = "meter", body["nonce"] = m->sequence;
  } else if (const auto* u = l.find_storage_unit(k)) {
    body["role"] = "storage_unit", body["nonce"] = u->nonce;
  } else if (const auto* s = l.find_station(k)) {
    body["role"] = "station", body["nonce"] = s->sequence;
  } else {
    // An admin key that never signed has nonce 0 and is not in admin_nonces().
    body["found"] = false, body["role"] = "unknown", body["nonce"] = 0;
  }
  return answer(ctx, std::move(body));
}

query_answer agent_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"address"});
  const auto address = p.address(ctx.ledger, "address", true);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  json body;
  body["address"] = address_text(l, *address);
  const auto index = l.account_index_of(*address);
  const auto it = index ? l.agents().find(*index) : l.agents().end();
  body["configured"] = it != l.agents().end();
  const ledger::agent_config c = it != l.agents().end() ? it->second : ledger::agent_config{};
  body["enabled"] = c.enabled;
  body["buy_price_units_per_wh"] = c.buy_price_units_per_wh;
  body["buy_below_wh"] = c.buy_below_wh;
  body["sell_price_units_per_wh"] = c.sell_price_units_per_wh;
  body["sell_above_wh"] = c.sell_above_wh;
  return answer(ctx, std::move(body));
}

// Open sessions first (ascending id), then recently closed ones (newest first); optionally only
// those of one vehicle.
query_answer ev_sessions_query(const query_context& ctx, const json& params) {
  params_reader p(params, {"address", "limit"});
  const auto address = p.address(ctx.ledger, "address", false);
  const auto limit = p.count("limit", limits::query_sessions_default, 1, limits::query_sessions_max);
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  std::optional<ledger::account_index> vehicle;
  if (address) {
    vehicle = l.account_index_of(*address);
    if (!vehicle) vehicle = UINT32_MAX;  // no such account: no sessions
  }
  auto open = json::array();
  for (const auto& [id, s] : l.open_sessions()) {
    if (open.size() >= limit) break;
    if (!vehicle || s.vehicle == *vehicle) open.push_back(session_json(l, s));
  }
  auto closed = json::array();
  const auto& c = l.closed_sessions();
  for (auto it = c.rbegin(); it != c.rend() && closed.size() < limit; ++it) {
    if (!vehicle || it->vehicle == *vehicle) closed.push_back(session_json(l, *it));
  }
  json body;
  body["open"] = std::move(open);
  body["closed"] = std::move(closed);
  return answer(ctx, std::move(body));
}

query_answer storage_units_query(const query_context& ctx, const json& params) {
  params_reader p(params, {});
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  auto units = json::array();
  for (const auto& u : l.storage_units()) {
    if (units.size() >= limits::query_list_max) break;
    json j;
    j["unit_key"] = crypto::to_hex(u.key.bytes);
    j["owner"] = address_text_of(l, u.owner);
    j["capacity_wh"] = u.capacity_wh;
    j["nonce"] = u.nonce;
    j["report_epoch"] = u.report_epoch;
    j["stored_wh"] = u.stored_wh;
    j["fees_earned_units"] = u.fees_earned_units;
    units.push_back(std::move(j));
  }
  json body;
  body["count"] = l.storage_units().size();
  body["units"] = std::move(units);
  return answer(ctx, std::move(body));
}

query_answer stations_query(const query_context& ctx, const json& params) {
  params_reader p(params, {});
  if (!p.ok()) return fail(net::client_errc::malformed, p.error());
  const auto& l = ctx.ledger;
  auto list = json::array();
  for (const auto& s : l.stations()) {
    if (list.size() >= limits::query_list_max) break;
    json j;
    j["station_key"] = crypto::to_hex(s.key.bytes);
    j["account"] = address_text_of(l, s.account);
    j["service_fee_units_per_kwh"] = s.service_fee_units_per_kwh;
    j["sequence"] = s.sequence;
    j["delivered_wh"] = s.delivered_wh;
    j["fees_earned_units"] = s.fees_earned_units;
    list.push_back(std::move(j));
  }
  json body;
  body["count"] = l.stations().size();
  body["stations"] = std::move(list);
  return answer(ctx, std::move(body));
}

}  // namespace energo::actors::query_detail
