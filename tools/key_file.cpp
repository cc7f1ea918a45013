#include "tools/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tools/json_reader.hpp"

namespace energo::tools {

using namespace detail;

key_file key_file::of(const crypto::ed25519_keypair& key) {
  key_file k;
  k.type = signer_kind::ed25519;
  k.ed25519 = key;
  return k;
}

key_file key_file::of(const crypto::secp256k1_secret_key& key, crypto::network net) {
  key_file k;
  k.type = signer_kind::secp256k1;
  k.network = net;
  k.secp256k1 = key;
  return k;
}

std::string key_file::public_key_hex() const {
  if (ed25519) return crypto::to_hex(ed25519->public_key().bytes);
  if (secp256k1) return crypto::to_hex(secp256k1->public_key().bytes);
  return {};
}

std::optional<std::string> key_file::address() const {
  if (!secp256k1) return std::nullopt;
  return crypto::address::from_public_key(secp256k1->public_key(), network).to_string();
}

std::string_view signer_kind_name(signer_kind kind) {
  switch (kind) {
    case signer_kind::ed25519: return "ed25519";
    case signer_kind::secp256k1: return "secp256k1";
    case signer_kind::none: return "none";
  }
  return "none";
}

json key_file_to_json(const key_file& key) {
  json j = json::object();
  j["type"] = std::string(signer_kind_name(key.type));
  if (key.ed25519) {
    j["secret"] = crypto::to_hex(key.ed25519->seed());
  } else if (key.secp256k1) {
    j["network"] = std::string(network_name(key.network));
    j["secret"] = crypto::wif_encode(*key.secp256k1, key.network, true);
  }
  j["public_key"] = key.public_key_hex();
  if (auto a = key.address()) j["address"] = *a;
  if (!key.comment.empty()) j["comment"] = key.comment;
  return j;
}

json_result<key_file> key_file_from_json(const json& doc) {
  return guarded<key_file>([&] {
    object_reader r(doc, "", "a key file");
    const auto& type = read_string(r.need("type"), "type", address_chars_max);
    key_file k;
    if (type == "ed25519") {
      k.type = signer_kind::ed25519;
      k.ed25519 = crypto::ed25519_keypair::from_seed(read_hex<32>(r.need("secret"), "secret"));
    } else if (type == "secp256k1") {
      k.type = signer_kind::secp256k1;
      const auto& net_name = read_string(r.need("network"), "network", address_chars_max);
      auto net = network_from_name(net_name);
      if (!net) fail(json_errc::bad_value, "network", "must be \"mainnet\", \"testnet\" or \"regtest\", got \"" + clip(net_name) + "\"");
      k.network = *net;
      const auto& wif = read_string(r.need("secret"), "secret", address_chars_max);
      auto decoded = crypto::wif_decode(wif);
      if (!decoded || !decoded->compressed) fail(json_errc::bad_key, "secret", "is not a compressed-key WIF private key");
      if ((decoded->net == crypto::network::mainnet) != (k.network == crypto::network::mainnet))
        fail(json_errc::wrong_network, "secret", "is a WIF key for another network than \"" + net_name + "\"");
      k.secp256k1 = decoded->secret;
    } else {
      fail(json_errc::bad_value, "type", "must be \"ed25519\" or \"secp256k1\", got \"" + clip(type) + "\"");
    }
    const auto& public_key = read_string(r.need("public_key"), "public_key", address_chars_max * 2);
    if (public_key != k.public_key_hex()) fail(json_errc::bad_key, "public_key", "does not belong to the secret in this file");
    if (k.type == signer_kind::secp256k1) {
      const auto& address = read_string(r.need("address"), "address", address_chars_max);
      if (address != *k.address()) fail(json_errc::bad_address, "address", "does not belong to the secret in this file");
    }
    if (r.has("comment")) k.comment = read_string(r.need("comment"), "comment", key_comment_chars_max);
    r.finish();
    return k;
  });
}

json_result<key_file> read_key_file(const std::string& path) {
  if (auto checked = check_input_file(path); !checked) return unexpected<json_error>{checked.error()};
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected<json_error>{json_error{json_errc::io, 0, "", "cannot open key file " + path}};
  std::string text(key_file_bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return unexpected<json_error>{json_error{json_errc::io, 0, "", "read error on key file " + path}};
  if (text.size() > key_file_bytes_max)
    return unexpected<json_error>{json_error{json_errc::too_large, 0, "", path + " is larger than " + std::to_string(key_file_bytes_max) + " bytes"}};
  auto doc = parse_json(text, key_file_bytes_max);
  if (!doc) return unexpected<json_error>{doc.error()};
  return key_file_from_json(*doc);
}

energo::result<void, std::string> write_key_file(const std::string& path, const key_file& key, bool overwrite) {
  const std::string text = dump_pretty(key_file_to_json(key)) + "\n";
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) return unexpected<std::string>{path + " already exists (refusing to overwrite a key)"};
    return unexpected<std::string>{"cannot create " + path + ": " + std::strerror(err)};
  }
  // The mode argument applies only when the file is created; an overwritten file is tightened too.
  bool ok_so_far = ::fchmod(fd, 0600) == 0;
  std::size_t written = 0;
  while (ok_so_far && written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok_so_far = false;
    else written += static_cast<std::size_t>(n);
  }
  ok_so_far = ok_so_far && ::fsync(fd) == 0;
  const int err = errno;
  if (::close(fd) != 0) ok_so_far = false;
  if (!ok_so_far) return unexpected<std::string>{"cannot write " + path + ": " + std::strerror(err)};
  return ok;
}

energo::result<key_file, std::string> key_from_seed(signer_kind type, const std::array<uint8_t, 32>& seed,
                                                    crypto::network net) {
  if (type == signer_kind::ed25519) return key_file::of(crypto::ed25519_keypair::from_seed(seed));
  if (type == signer_kind::secp256k1) {
    auto secret = crypto::secp256k1_secret_key::from_bytes(seed);
    if (!secret) return unexpected<std::string>{"seed is not a valid secp256k1 scalar (zero or not below the group order)"};
    return key_file::of(*secret, net);
  }
  return unexpected<std::string>{"unknown key type"};
}

energo::result<ledger::command, std::string> sign_command_json(json doc, const key_file& key, crypto::network net,
                                                              const crypto::hash256& genesis_hash) {
  auto error = [](std::string message) { return energo::unexpected<std::string>{std::move(message)}; };
  if (!doc.is_object() || !doc.contains("type") || !doc["type"].is_string())
    return error("a command must be a JSON object with a string field \"type\"");
  const auto type = doc["type"].get<std::string>();
  const auto signer = signer_for_type(type);
  if (!signer) return error("field 'type': unknown command type \"" + type.substr(0, error_echo_chars_max) + "\"");
  if (signer->kind != signer_kind::none) {
    if (signer->kind != key.type)
      return error("a " + type + " command is signed with an " + std::string(signer_kind_name(signer->kind)) +
                   " key (field '" + std::string(signer->field) + "'), but the key file holds a " +
                   std::string(signer_kind_name(key.type)) + " key");
    const std::string field(signer->field);
    const std::string mine = key.public_key_hex();
    if (!doc.contains(field)) {
      doc[field] = mine;
    } else if (!doc[field].is_string() || doc[field].get<std::string>() != mine) {
      return error("field '" + field + "' names another key than the key file's " + mine);
    }
  }
  auto cmd = command_from_json(doc, net, signature_form::unsigned_form);
  if (!cmd) return error(cmd.error().to_string());
  ledger::command signed_cmd = *cmd;  // a tick stays unsigned
  if (signer->kind == signer_kind::ed25519) signed_cmd = ledger::sign_ed25519(cmd->body, *key.ed25519, genesis_hash);
  if (signer->kind == signer_kind::secp256k1) signed_cmd = ledger::sign_secp256k1(cmd->body, *key.secp256k1, genesis_hash);
  if (auto v = ledger::verify(signed_cmd, genesis_hash); !v) return error("signature does not verify: " + v.error().message);
  return signed_cmd;
}

}  // namespace energo::tools
