// energo-keys: key files and command signing (docs/commands.md, "Key files" and "Signing").
//   energo-keys new ed25519|secp256k1 [--network regtest|testnet|mainnet] [--out FILE] [--seed-hex HEX]
//   energo-keys sign --key FILE --genesis genesis.json  < unsigned.jsonl > signed.jsonl
//   energo-keys address --key FILE
//   energo-keys public-key --key FILE
#include <sys/stat.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "ledger/commands.hpp"
#include "tools/key_file.hpp"

namespace {

namespace tools = energo::tools;

enum exit_code : int { exit_ok = 0, exit_usage = 1, exit_bad_input = 2, exit_output = 5 };

constexpr const char* exit_codes_help =
    "Exit codes: 0 ok, 1 usage error, 2 bad input (key file, genesis or a command line), 5 output not written";

int fail_input(const std::string& message) {
  std::cerr << "energo-keys: " << message << "\n";
  return exit_bad_input;
}

std::optional<tools::key_file> load_key(const std::string& path) {
  auto key = tools::read_key_file(path);
  if (!key) {
    std::cerr << "energo-keys: " << path << ": " << key.error().to_string() << "\n";
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    std::cerr << "energo-keys: warning: " << path << " is readable by group or others; chmod 600 it\n";
  return std::move(*key);
}

int cmd_new(const std::string& type, const std::string& network, const std::string& out, const std::string& seed_hex,
            const std::string& comment, bool force) {
  const auto kind = type == "ed25519" ? tools::signer_kind::ed25519 : tools::signer_kind::secp256k1;
  const auto net = tools::network_from_name(network);
  if (!net) {
    std::cerr << "energo-keys: unknown network " << network << "\n";
    return exit_usage;
  }
  std::optional<tools::key_file> key;
  if (!seed_hex.empty()) {
    auto seed = energo::crypto::array_from_hex<32>(seed_hex);
    if (!seed) {
      std::cerr << "energo-keys: --seed-hex must be 32 bytes as 64 hex characters\n";
      return exit_usage;
    }
    auto derived = tools::key_from_seed(kind, *seed, *net);
    if (!derived) {
      std::cerr << "energo-keys: " << derived.error() << "\n";
      return exit_usage;
    }
    key = std::move(*derived);
  } else if (kind == tools::signer_kind::ed25519) {
    key = tools::key_file::of(energo::crypto::ed25519_keypair::generate());
  } else {
    key = tools::key_file::of(energo::crypto::secp256k1_secret_key::generate(), *net);
  }
  key->comment = comment;
  if (out.empty() || out == "-") {
    std::cout << tools::dump_pretty(tools::key_file_to_json(*key)) << "\n";
    return std::cout ? exit_ok : exit_output;
  }
  if (auto written = tools::write_key_file(out, *key, force); !written) {
    std::cerr << "energo-keys: " << written.error() << "\n";
    return exit_output;
  }
  std::cerr << "energo-keys: wrote " << type << " key to " << out << " (mode 0600)\n";
  std::cout << key->address().value_or(key->public_key_hex()) << "\n";
  return exit_ok;
}

// Signs one line: fills the signer field from the key when absent, refuses a key that does not
// match the command, signs, and checks the signature before writing (paired with the ledger's verify).
energo::result<std::string, std::string> sign_line(const std::string& line, std::size_t line_number, const tools::key_file& key,
                                                   const energo::ledger::genesis& genesis, const energo::crypto::hash256& genesis_hash) {
  auto error = [&](const std::string& message) {
    return energo::unexpected<std::string>{"line " + std::to_string(line_number) + ": " + message};
  };
  auto doc = tools::parse_json(line, tools::json_line_bytes_max);
  if (!doc) {
    auto e = doc.error();
    e.line = line_number;
    return energo::unexpected<std::string>{e.to_string()};
  }
  auto signed_cmd = tools::sign_command_json(std::move(*doc), key, genesis.network, genesis_hash);
  if (!signed_cmd) return error(signed_cmd.error());
  return tools::command_to_line(*signed_cmd, genesis.network, tools::signature_form::signed_form);
}

int cmd_sign(const std::string& key_path, const std::string& genesis_path) {
  auto key = load_key(key_path);
  if (!key) return exit_bad_input;
  auto genesis = tools::read_genesis_file(genesis_path);
  if (!genesis) return fail_input(genesis_path + ": " + genesis.error().to_string());
  if (key->type == tools::signer_kind::secp256k1 &&
      (key->network == energo::crypto::network::mainnet) != (genesis->network == energo::crypto::network::mainnet))
    return fail_input(key_path + " is a " + std::string(tools::network_name(key->network)) + " key but the genesis network is " +
                      std::string(tools::network_name(genesis->network)));
  const auto genesis_hash = genesis->hash();
  tools::json_lines_reader reader(std::cin);
  for (;;) {
    auto line = reader.next();
    if (!line) return fail_input("stdin: " + line.error().to_string());
    if (!line->has_value()) break;
    auto signed_line = sign_line(**line, reader.line_number(), *key, *genesis, genesis_hash);
    if (!signed_line) return fail_input("stdin: " + signed_line.error());
    std::cout << *signed_line << "\n";
  }
  std::cout.flush();
  return std::cout ? exit_ok : exit_output;
}

int run(int argc, char** argv) {
  CLI::App app{"energo-keys: creates key files and signs Energo commands"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "energo-keys 0.1.0");
  app.footer(exit_codes_help);

  std::string type, network = "regtest", out, seed_hex, comment;
  bool force = false;
  auto* new_cmd = app.add_subcommand("new", "Create a key (printed, or written to --out with mode 0600)");
  new_cmd->add_option("type", type, "ed25519 (admin, meter, storage unit, node) or secp256k1 (account)")
      ->required()
      ->check(CLI::IsMember({"ed25519", "secp256k1"}));
  new_cmd->add_option("--network", network, "Network of a secp256k1 key's WIF and address")
      ->check(CLI::IsMember({"regtest", "testnet", "mainnet"}))
      ->capture_default_str();
  new_cmd->add_option("--out", out, "Key file to create (refuses to overwrite); default: print to stdout");
  new_cmd->add_option("--seed-hex", seed_hex, "Deterministic key: the 32-byte secret itself, as hex (demos and tests only)");
  new_cmd->add_option("--comment", comment, "A note stored in the key file");
  new_cmd->add_flag("--force", force, "Overwrite an existing --out file");

  std::string key_path, genesis_path;
  auto* sign_cmd = app.add_subcommand("sign", "Sign unsigned JSON command lines from stdin; write signed lines to stdout");
  sign_cmd->add_option("--key", key_path, "Key file")->required();
  sign_cmd->add_option("--genesis", genesis_path, "Genesis JSON file of the community (its hash is signed)")->required();

  auto* address_cmd = app.add_subcommand("address", "Print the Qtum address of a secp256k1 key (an Ed25519 key prints its public key)");
  address_cmd->add_option("--key", key_path, "Key file")->required();
  auto* public_cmd = app.add_subcommand("public-key", "Print the public key (hex)");
  public_cmd->add_option("--key", key_path, "Key file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  if (new_cmd->parsed()) return cmd_new(type, network, out, seed_hex, comment, force);
  if (sign_cmd->parsed()) return cmd_sign(key_path, genesis_path);
  auto key = load_key(key_path);
  if (!key) return exit_bad_input;
  if (address_cmd->parsed()) std::cout << key->address().value_or(key->public_key_hex()) << "\n";
  else std::cout << key->public_key_hex() << "\n";
  return std::cout ? exit_ok : exit_output;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "energo-keys: internal error: " << e.what() << "\n";
    return exit_bad_input;
  }
}
