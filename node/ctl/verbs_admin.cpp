// energoctl: admin-signed registrations and parameters: meter|unit|station register, params
// show|set, grant (SPEC §3, §5, §7b). The admin's Ed25519 key file signs (--key).
#include <cstdio>
#include <memory>

#include "node/ctl/ctl.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

int cmd_params_show(const options& o) {
  auto j = query(o, "params", json::object());
  if (!j) return j.error();
  if (o.as_json) return print_json(*j, true);
  for (const char* k : {"community_id", "network", "genesis_hash", "fee_units_per_kwh_epoch", "storage_cost_per_user_cents",
                        "battery_price_cents_per_kwh", "grant_units", "bmax_wh", "storage_capacity_wh", "epoch_ms",
                        "fee_share_education_percent", "fee_share_network_percent"}) {
    const auto& v = (*j)[k];
    std::printf("%-30s %s\n", k, v.is_string() ? v.get<std::string>().c_str() : tools::dump_compact(v).c_str());
  }
  return exit_ok;
}

}  // namespace

void add_admin_verbs(ctl_app& c) {
  struct reg_args {
    signing_flags sign;
    std::string device_key, account;
    int64_t export_start = 0, import_start = 0, capacity_wh = 0, fee = 0;
  };
  auto r = std::make_shared<reg_args>();
  auto* meter = c.app.add_subcommand("meter", "smart meters");
  meter->require_subcommand(1);
  auto* meter_reg = meter->add_subcommand("register", "register a meter's Ed25519 key for an account (admin-signed)");
  meter_reg->add_option("--meter-key", r->device_key, "the meter's public key (64 hex)")->required();
  meter_reg->add_option("--account", r->account, "the account its readings credit (Qtum address)")->required();
  meter_reg->add_option("--export-wh-start", r->export_start, "export register at installation, Wh")->capture_default_str();
  meter_reg->add_option("--import-wh-start", r->import_start, "import register at installation, Wh")->capture_default_str();
  add_signing_flags(meter_reg, r->sign);
  meter_reg->callback([&c, r] {
    c.action = [&c, r] {
      json doc;
      doc["type"] = "register_meter";
      doc["meter_key"] = r->device_key;
      doc["account"] = r->account;
      doc["export_wh_start"] = r->export_start;
      doc["import_wh_start"] = r->import_start;
      return sign_and_submit(c.o, r->sign, std::move(doc));
    };
  });
  auto* unit = c.app.add_subcommand("unit", "storage units");
  unit->require_subcommand(1);
  auto* unit_reg = unit->add_subcommand("register", "register a storage unit and its declared capacity (admin-signed)");
  unit_reg->add_option("--unit-key", r->device_key, "the unit's public key (64 hex)")->required();
  unit_reg->add_option("--owner", r->account, "the owner's account (earns 80% of fees pro rata)")->required();
  unit_reg->add_option("--capacity-wh", r->capacity_wh, "declared capacity, Wh")->required();
  add_signing_flags(unit_reg, r->sign);
  unit_reg->callback([&c, r] {
    c.action = [&c, r] {
      json doc;
      doc["type"] = "register_storage_unit";
      doc["unit_key"] = r->device_key;
      doc["owner"] = r->account;
      doc["capacity_wh"] = r->capacity_wh;
      return sign_and_submit(c.o, r->sign, std::move(doc));
    };
  });
  auto* station = c.app.add_subcommand("station", "EV charging stations");
  station->require_subcommand(1);
  auto* station_reg = station->add_subcommand("register", "register a charging station (admin-signed)");
  station_reg->add_option("--station-key", r->device_key, "the station meter's public key (64 hex)")->required();
  station_reg->add_option("--account", r->account, "the account paid the service fee")->required();
  station_reg->add_option("--fee-units-per-kwh", r->fee, "service fee, TSL base units per kWh")->required();
  add_signing_flags(station_reg, r->sign);
  station_reg->callback([&c, r] {
    c.action = [&c, r] {
      json doc;
      doc["type"] = "register_station";
      doc["station_key"] = r->device_key;
      doc["account"] = r->account;
      doc["service_fee_units_per_kwh"] = r->fee;
      return sign_and_submit(c.o, r->sign, std::move(doc));
    };
  });
  auto* grant = c.app.add_subcommand("grant", "the one-time education grant to a first-time account (admin-signed)");
  grant->add_option("account", r->account, "Qtum address")->required();
  add_signing_flags(grant, r->sign);
  grant->callback([&c, r] {
    c.action = [&c, r] {
      json doc;
      doc["type"] = "education_grant";
      doc["account"] = r->account;
      return sign_and_submit(c.o, r->sign, std::move(doc));
    };
  });

  auto* params = c.app.add_subcommand("params", "community parameters (SPEC §3.5, §3.7)");
  params->require_subcommand(1);
  params->add_subcommand("show", "fee rate, Cu, P, Bmax, grant, capacity")->callback([&c] {
    c.action = [&c] { return cmd_params_show(c.o); };
  });
  struct param_args {
    signing_flags sign;
    std::optional<int64_t> fee, cu, p, grant;
  };
  auto pa = std::make_shared<param_args>();
  auto* set = params->add_subcommand("set", "change parameters (admin-signed); unset ones keep their current value");
  set->add_option("--fee-units-per-kwh-epoch", pa->fee, "storage fee, TSL base units per kWh held per epoch");
  set->add_option("--storage-cost-per-user-cents", pa->cu, "Cu, target storage cost per user");
  set->add_option("--battery-price-cents-per-kwh", pa->p, "P, battery price per kWh of capacity");
  set->add_option("--grant-units", pa->grant, "education grant, TSL base units");
  add_signing_flags(set, pa->sign);
  set->callback([&c, pa] {
    c.action = [&c, pa] {
      json current;
      if (!pa->fee || !pa->cu || !pa->p || !pa->grant) {
        if (pa->sign.offline) {
          std::fprintf(stderr, "energoctl: --offline params set needs all four parameters\n");
          return int(exit_usage);
        }
        auto j = query(c.o, "params", json::object());
        if (!j) return j.error();
        current = std::move(*j);
      }
      auto pick = [&](const std::optional<int64_t>& v, const char* k) { return v ? *v : current[k].get<int64_t>(); };
      json p;
      p["fee_units_per_kwh_epoch"] = pick(pa->fee, "fee_units_per_kwh_epoch");
      p["storage_cost_per_user_cents"] = pick(pa->cu, "storage_cost_per_user_cents");
      p["battery_price_cents_per_kwh"] = pick(pa->p, "battery_price_cents_per_kwh");
      p["grant_units"] = pick(pa->grant, "grant_units");
      json doc;
      doc["type"] = "set_params";
      doc["params"] = std::move(p);
      return sign_and_submit(c.o, pa->sign, std::move(doc));
    };
  });
}

}  // namespace energo::ctl
