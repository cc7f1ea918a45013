// energoctl verbs that never contact a node: keys new|import|export, sign, sizing.
#include <cstdio>
#include <iostream>
#include <memory>

#include "crypto/address.hpp"
#include "crypto/bytes.hpp"
#include "node/ctl/ctl.hpp"
#include "node/sizing.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

// Prints what identifies a key: the address of an account key, the public key of an Ed25519 key.
int print_key_identity(const options& o, const tools::key_file& k) {
  if (o.as_json) {
    json j;
    j["type"] = std::string(tools::signer_kind_name(k.type));
    j["public_key"] = k.public_key_hex();
    if (auto a = k.address()) j["address"] = *a;
    return print_json(j, true);
  }
  std::printf("%s\n", k.address().value_or(k.public_key_hex()).c_str());
  return exit_ok;
}

int write_key(const options& o, const tools::key_file& k, const std::string& out, bool force) {
  if (auto r = tools::write_key_file(out, k, force); !r) {
    std::fprintf(stderr, "energoctl: %s\n", r.error().c_str());
    return exit_usage;
  }
  return print_key_identity(o, k);
}

struct key_args {
  std::string type = "ed25519", out, wif, seed_hex, file;
  bool force = false;
};

int cmd_keys_new(const options& o, const key_args& a) {
  auto net = network_of(o);
  if (!net) return exit_usage;
  const auto k = a.type == "ed25519" ? tools::key_file::of(crypto::ed25519_keypair::generate())
                                     : tools::key_file::of(crypto::secp256k1_secret_key::generate(), *net);
  return write_key(o, k, a.out, a.force);
}

// WIF (Qtum wallets' dumpprivkey) → secp256k1 account key; a 32-byte hex seed → Ed25519 key.
int cmd_keys_import(const options& o, const key_args& a) {
  if (a.wif.empty() == a.seed_hex.empty()) {
    std::fprintf(stderr, "energoctl: give exactly one of --wif (account key) or --ed25519-seed (node/meter key)\n");
    return exit_usage;
  }
  if (!a.wif.empty()) {
    const auto w = crypto::wif_decode(a.wif);
    if (!w || !w->compressed) {
      std::fprintf(stderr, "energoctl: --wif is not a compressed-key WIF of a Qtum network\n");
      return exit_usage;
    }
    auto net = network_of(o);
    if (!net) return exit_usage;
    // testnet and regtest share the WIF version byte: --network picks between them.
    if ((w->net == crypto::network::mainnet) != (*net == crypto::network::mainnet)) {
      std::fprintf(stderr, "energoctl: the WIF is for %s but --network is %s\n",
                   w->net == crypto::network::mainnet ? "mainnet" : "testnet/regtest", o.network.c_str());
      return exit_usage;
    }
    return write_key(o, tools::key_file::of(w->secret, *net), a.out, a.force);
  }
  const auto seed = crypto::array_from_hex<32>(a.seed_hex);
  if (!seed) return std::fprintf(stderr, "energoctl: --ed25519-seed must be 64 hex characters\n"), exit_usage;
  return write_key(o, tools::key_file::of(crypto::ed25519_keypair::from_seed(*seed)), a.out, a.force);
}

// The secret in its portable form: WIF for an account key (importable into a Qtum wallet), the
// hex seed for an Ed25519 key.
int cmd_keys_export(const options& o, const key_args& a) {
  auto k = load_key(a.file);
  if (!k) return exit_usage;
  json j;
  j["type"] = std::string(tools::signer_kind_name(k->type));
  j["public_key"] = k->public_key_hex();
  if (k->secp256k1) {
    j["address"] = *k->address();
    j["wif"] = crypto::wif_encode(*k->secp256k1, k->network);
  } else {
    j["seed"] = crypto::to_hex(k->ed25519->seed());
  }
  if (o.as_json) return print_json(j, true);
  std::printf("%s\n", j.contains("wif") ? j["wif"].get<std::string>().c_str() : j["seed"].get<std::string>().c_str());
  return exit_ok;
}

// Signs unsigned JSON command lines offline (like energo-keys sign): the nonce must be in each line.
int cmd_sign(const options& o, const std::string& key_path, const std::string& genesis_path, const std::string& command) {
  auto key = load_key(key_path);
  if (!key) return exit_usage;
  auto g = tools::read_genesis_file(genesis_path);
  if (!g) return std::fprintf(stderr, "energoctl: %s: %s\n", genesis_path.c_str(), g.error().to_string().c_str()), exit_usage;
  const auto genesis_hash = g->hash();
  auto sign_one = [&](std::string_view text, std::size_t line) {
    auto doc = tools::parse_json(text, tools::json_line_bytes_max);
    if (!doc) {
      auto e = doc.error();
      e.line = line;
      std::fprintf(stderr, "energoctl: %s\n", e.to_string().c_str());
      return false;
    }
    auto cmd = tools::sign_command_json(std::move(*doc), *key, g->network, genesis_hash);
    if (!cmd) {
      std::fprintf(stderr, "energoctl: line %zu: %s\n", line, cmd.error().c_str());
      return false;
    }
    if (o.as_json || true) std::printf("%s\n", tools::command_to_line(*cmd, g->network, tools::signature_form::signed_form).c_str());
    return true;
  };
  if (!command.empty()) return sign_one(command, 1) ? exit_ok : exit_usage;
  tools::json_lines_reader reader(std::cin);
  for (;;) {
    auto line = reader.next();
    if (!line) return std::fprintf(stderr, "energoctl: stdin: %s\n", line.error().to_string().c_str()), exit_usage;
    if (!line->has_value()) break;
    if (!sign_one(**line, reader.line_number())) return exit_usage;
  }
  return exit_ok;
}

int cmd_sizing(const options& o, const sizing_input& in, bool from_node) {
  sizing_input x = in;
  if (from_node) {
    auto j = query(o, "params", json::object());
    if (!j) return j.error();
    x.storage_cost_per_user_cents = (*j)["storage_cost_per_user_cents"].get<int64_t>();
    x.battery_price_cents_per_kwh = (*j)["battery_price_cents_per_kwh"].get<int64_t>();
  }
  auto r = size_storage(x);
  if (!r) return std::fprintf(stderr, "energoctl: %s\n", r.error().c_str()), exit_usage;
  json j;
  j["users"] = x.users;
  j["storage_cost_per_user_cents"] = x.storage_cost_per_user_cents;
  j["battery_price_cents_per_kwh"] = x.battery_price_cents_per_kwh;
  j["bmax_wh"] = r->bmax_wh;
  j["capacity_per_user_wh"] = r->capacity_per_user_wh;
  j["capacity_wh"] = r->capacity_wh;
  j["cost_cents"] = r->cost_cents;
  j["containers_40ft"] = r->containers;
  j["area_m2"] = r->area_m2;
  if (o.as_json) return print_json(j, true);
  std::printf("users                 %llu\nCu                    %lld cents\nP                     %lld cents/kWh\n"
              "Bmax                  %lld Wh\ncapacity per user     %lld Wh\ncapacity              %lld Wh\n"
              "cost                  %lld cents\n40-ft containers      %lld (800 kWh each)\narea                  %lld m2\n",
              static_cast<unsigned long long>(x.users), static_cast<long long>(x.storage_cost_per_user_cents),
              static_cast<long long>(x.battery_price_cents_per_kwh), static_cast<long long>(r->bmax_wh),
              static_cast<long long>(r->capacity_per_user_wh), static_cast<long long>(r->capacity_wh),
              static_cast<long long>(r->cost_cents), static_cast<long long>(r->containers), static_cast<long long>(r->area_m2));
  return exit_ok;
}

}  // namespace

void add_offline_verbs(ctl_app& c) {
  auto k = std::make_shared<key_args>();
  auto* keys = c.app.add_subcommand("keys", "key files (mode 0600): account keys are secp256k1 (Qtum WIF), node/meter/admin keys Ed25519");
  keys->require_subcommand(1);
  auto* keys_new = keys->add_subcommand("new", "create a key file; prints the address (account) or public key");
  keys_new->add_option("--out", k->out, "file to create")->required();
  keys_new->add_option("--type", k->type, "ed25519 or secp256k1")->check(CLI::IsMember({"ed25519", "secp256k1"}))->capture_default_str();
  keys_new->add_flag("--force", k->force, "overwrite an existing file");
  keys_new->callback([&c, k] { c.action = [&c, k] { return cmd_keys_new(c.o, *k); }; });
  auto* keys_import = keys->add_subcommand("import", "a key file from a Qtum WIF or an Ed25519 seed");
  keys_import->add_option("--wif", k->wif, "secp256k1 secret in WIF (Qtum dumpprivkey); --network picks testnet/regtest");
  keys_import->add_option("--ed25519-seed", k->seed_hex, "Ed25519 seed, 64 hex");
  keys_import->add_option("--out", k->out, "file to create")->required();
  keys_import->add_flag("--force", k->force, "overwrite an existing file");
  keys_import->callback([&c, k] { c.action = [&c, k] { return cmd_keys_import(c.o, *k); }; });
  auto* keys_export = keys->add_subcommand("export", "print the secret: WIF (account key) or hex seed (Ed25519)");
  keys_export->add_option("file", k->file, "key file")->required();
  keys_export->callback([&c, k] { c.action = [&c, k] { return cmd_keys_export(c.o, *k); }; });

  struct sign_args {
    std::string key, genesis, command;
  };
  auto s = std::make_shared<sign_args>();
  auto* sign = c.app.add_subcommand("sign", "sign unsigned JSON commands offline (stdin lines or --command); each needs its nonce. "
                                            "Every state-changing verb also signs offline with --offline");
  sign->add_option("--key", s->key, "key file")->required();
  sign->add_option("--genesis", s->genesis, "genesis file of the community")->required();
  sign->add_option("--command", s->command, "one unsigned command as JSON (default: JSON lines on stdin)");
  sign->callback([&c, s] { c.action = [&c, s] { return cmd_sign(c.o, s->key, s->genesis, s->command); }; });

  struct sizing_args {
    sizing_input in;
    bool from_node = false;
  };
  auto z = std::make_shared<sizing_args>();
  auto* sizing = c.app.add_subcommand("sizing", "storage for N users (SPEC §3.7): Bmax, capacity, cost, 40-ft containers");
  sizing->add_option("--users", z->in.users, "number of users")->required();
  sizing->add_option("--storage-cost-per-user-cents", z->in.storage_cost_per_user_cents, "Cu")->capture_default_str();
  sizing->add_option("--battery-price-cents-per-kwh", z->in.battery_price_cents_per_kwh, "P")->capture_default_str();
  sizing->add_flag("--from-node", z->from_node, "take Cu and P from the community's parameters");
  sizing->callback([&c, z] { c.action = [&c, z] { return cmd_sizing(c.o, z->in, z->from_node); }; });
}



}  // namespace energo::ctl
