#include "tools/replay.hpp"

namespace energo::tools {
namespace {

std::string_view account_kind_name(ledger::account_kind kind) {
  switch (kind) {
    case ledger::account_kind::member: return "member";
    case ledger::account_kind::education_pool: return "education_pool";
    case ledger::account_kind::network_pool: return "network_pool";
  }
  return "unknown";
}

json outcome_json(const ledger::apply_outcome& o) {
  json j = json::object();
  j["minted_wh"] = o.minted_wh;
  j["burned_wh"] = o.burned_wh;
  j["grid_export_wh"] = o.grid_export_wh;
  j["grid_import_wh"] = o.grid_import_wh;
  j["epochs_closed"] = o.epochs_closed;
  j["fees_units"] = o.fees_units;
  j["created_account"] = o.created_account;
  j["order_id"] = o.order_id;
  j["filled_wh"] = o.filled_wh;
  j["trades"] = o.trades;
  j["session_id"] = o.session_id;
  return j;
}

}  // namespace

energo::result<replay_summary, replay_failure> replay_commands(ledger::ledger& ledger, std::istream& in,
                                                               const replay_options& options,
                                                               const std::function<void(const command_record&)>& on_command) {
  auto failure = [](replay_failure_kind kind, std::string message) {
    return unexpected<replay_failure>{replay_failure{kind, std::move(message)}};
  };
  replay_summary summary;
  json_lines_reader reader(in);
  for (;;) {
    auto line = reader.next();
    if (!line) return failure(replay_failure_kind::bad_input, line.error().to_string());
    if (!line->has_value()) break;
    auto cmd = command_from_line(**line, reader.line_number(), ledger.network(), signature_form::signed_form);
    if (!cmd) return failure(replay_failure_kind::bad_input, cmd.error().to_string());

    const auto outcome = options.verify_signatures ? ledger.verify_and_apply(*cmd) : ledger.apply(*cmd);
    const std::string type(ledger::command_name(cmd->body));
    ++summary.commands;
    if (outcome) {
      ++summary.applied;
      ++summary.by_type[type].applied;
    } else {
      ++summary.refused;
      ++summary.by_type[type].refused;
      ++summary.refused_by_code[std::string(ledger::errc_name(outcome.error().code))];
    }
    if (on_command) {
      on_command(command_record{static_cast<std::size_t>(summary.commands - 1), reader.line_number(), &*cmd, &outcome});
    }
    if (options.check_invariants) {
      const auto problems = ledger.check_invariants();
      if (!problems.empty()) {
        std::string message = "line " + std::to_string(reader.line_number()) + " (" + type + "): invariant violated: ";
        for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
        return failure(replay_failure_kind::invariant_violation, message);
      }
    }
  }
  return summary;
}

json result_line_json(const command_record& record) {
  json j = json::object();
  j["index"] = record.index;
  j["line"] = record.line;
  j["type"] = std::string(ledger::command_name(record.cmd->body));
  j["ok"] = record.outcome->has_value();
  if (record.outcome->has_value()) {
    j["outcome"] = outcome_json(record.outcome->value());
  } else {
    json e = json::object();
    e["code"] = std::string(ledger::errc_name(record.outcome->error().code));
    e["message"] = record.outcome->error().message;
    j["error"] = std::move(e);
  }
  return j;
}

json state_json(ledger::ledger& l, const replay_summary* summary, const state_json_options& options) {
  const auto net = l.network();
  const auto& sums = l.sums();
  json j = json::object();
  j["community_id"] = l.community_id();
  j["network"] = std::string(network_name(net));
  j["genesis_hash"] = crypto::to_hex(l.genesis_hash());
  if (summary) {
    json r = json::object();
    r["commands"] = summary->commands;
    r["applied"] = summary->applied;
    r["refused"] = summary->refused;
    json by_type = json::object();
    for (const auto& [name, counts] : summary->by_type) by_type[name] = {{"applied", counts.applied}, {"refused", counts.refused}};
    r["by_type"] = std::move(by_type);
    json by_code = json::object();
    for (const auto& [code, count] : summary->refused_by_code) by_code[code] = count;
    r["refused_by_code"] = std::move(by_code);
    j["replay"] = std::move(r);
  }
  j["ledger_time_ms"] = l.time_ms();
  j["epoch"] = l.epoch();
  j["bmax_wh"] = l.bmax_wh();
  j["params"] = {{"fee_units_per_kwh_epoch", l.params().fee_units_per_kwh_epoch},
                 {"storage_cost_per_user_cents", l.params().storage_cost_per_user_cents},
                 {"battery_price_cents_per_kwh", l.params().battery_price_cents_per_kwh},
                 {"grant_units", l.params().grant_units}};
  j["supply"] = {{"tsl_total_units", l.tsl_total_units()},
                 {"watt_total_wh", l.watt_total_wh()},
                 {"watt_minted_wh", sums.watt_minted_wh},
                 {"watt_burned_wh", sums.watt_burned_wh}};
  j["grid"] = {{"import_wh", sums.grid_import_wh}, {"export_wh", sums.grid_export_wh}};
  const auto* education = l.find_account(ledger::education_pool_address());
  const auto* network = l.find_account(ledger::network_pool_address());
  j["fees"] = {{"collected_units", sums.fees_collected_units},
               {"to_owners_units", sums.fees_to_owners_units},
               {"to_education_units", sums.fees_to_education_units},
               {"to_network_units", sums.fees_to_network_units},
               {"grants_paid_units", sums.grants_paid_units},
               {"education_pool_units", education ? education->tsl_units : 0},
               {"network_pool_units", network ? network->tsl_units : 0}};
  j["meter_readings"] = {{"accepted", sums.readings_accepted}, {"refused_backwards", sums.readings_refused_backwards}};
  j["market"] = {{"trades", sums.market_trades},
                 {"volume_wh", sums.market_volume_wh},
                 {"agent_orders", sums.agent_orders},
                 {"agents", l.agents().size()},
                 {"charging_stations", l.stations().size()},
                 {"ev_sessions_open", l.open_sessions().size()}};
  j["counts"] = {{"accounts", l.accounts().size()}, {"meters", l.meters().size()}, {"storage_units", l.storage_units().size()}};

  if (options.include_lists) {
    json accounts = json::array();
    for (const auto& a : l.accounts()) {
      json e = json::object();
      e["address"] = address_to_text(a.address, net);
      e["kind"] = std::string(account_kind_name(a.kind));
      e["tsl_units"] = a.tsl_units;
      e["watt_wh"] = a.watt_wh;
      e["fee_debt_units"] = a.fee_debt_units;
      e["grid_import_wh"] = a.grid_import_wh;
      e["grid_export_wh"] = a.grid_export_wh;
      e["minted_wh"] = a.minted_wh;
      e["burned_wh"] = a.burned_wh;
      e["fees_paid_units"] = a.fees_paid_units;
      e["nonce"] = a.nonce;
      e["granted"] = a.granted;
      accounts.push_back(std::move(e));
    }
    j["accounts"] = std::move(accounts);
    json units = json::array();
    for (const auto& u : l.storage_units()) {
      json e = json::object();
      e["unit_key"] = crypto::to_hex(u.key.bytes);
      e["owner"] = address_to_text(l.accounts()[u.owner].address, net);
      e["capacity_wh"] = u.capacity_wh;
      e["nonce"] = u.nonce;
      e["fees_earned_units"] = u.fees_earned_units;
      units.push_back(std::move(e));
    }
    j["storage_units"] = std::move(units);
    json meters = json::array();
    for (const auto& m : l.meters()) {
      json e = json::object();
      e["meter_key"] = crypto::to_hex(m.key.bytes);
      e["account"] = address_to_text(l.accounts()[m.account].address, net);
      e["sequence"] = m.sequence;
      e["export_wh_total"] = m.export_wh_total;
      e["import_wh_total"] = m.import_wh_total;
      e["backwards_flags"] = m.backwards_flags;
      meters.push_back(std::move(e));
    }
    j["meters"] = std::move(meters);
  }
  j["state_root"] = crypto::to_hex(l.state_root());
  return j;
}

}  // namespace energo::tools
