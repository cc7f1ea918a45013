#pragma once
// Key files of energo-keys (docs/commands.md, "Key files"): one JSON object per file, mode 0600.
//   {"type":"ed25519","secret":"<32-byte seed hex>","public_key":"<hex>"}
//   {"type":"secp256k1","network":"regtest","secret":"<WIF>","public_key":"<hex>","address":"q..."}
// An optional "comment" string is kept (the demo keys say they are demo-only). Reading checks that
// the public key and address match the secret, so a hand-edited file cannot sign as someone else.
#include <optional>
#include <string>

#include "crypto/address.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/secp256k1.hpp"
#include "tools/command_json.hpp"

namespace energo::tools {

inline constexpr std::size_t key_file_bytes_max = 16 * 1024;
inline constexpr std::size_t key_comment_chars_max = 256;

struct key_file {
  signer_kind type = signer_kind::none;            // ed25519 or secp256k1
  crypto::network network = crypto::network::regtest;  // secp256k1: network of the WIF and address
  std::optional<crypto::ed25519_keypair> ed25519;
  std::optional<crypto::secp256k1_secret_key> secp256k1;
  std::string comment;

  [[nodiscard]] static key_file of(const crypto::ed25519_keypair& key);
  [[nodiscard]] static key_file of(const crypto::secp256k1_secret_key& key, crypto::network net);
  [[nodiscard]] std::string public_key_hex() const;
  // The Qtum P2PKH address (secp256k1 keys only).
  [[nodiscard]] std::optional<std::string> address() const;
};

[[nodiscard]] std::string_view signer_kind_name(signer_kind kind);  // "ed25519" / "secp256k1" / "none"

[[nodiscard]] json key_file_to_json(const key_file& key);
[[nodiscard]] json_result<key_file> key_file_from_json(const json& doc);
[[nodiscard]] json_result<key_file> read_key_file(const std::string& path);
// Writes the file with mode 0600 (and fsyncs it); refuses an existing file unless `overwrite`.
[[nodiscard]] energo::result<void, std::string> write_key_file(const std::string& path, const key_file& key, bool overwrite);

// Signs one unsigned JSON command (docs/commands.md "Signing"): fills the signer field
// ("from_key", "admin_key", ...) from the key when absent, refuses a key of the wrong kind or one
// that does not match the field, signs over the genesis hash, and verifies the signature before
// returning (paired with the ledger's verify). A tick is returned unsigned. Used by energo-keys
// sign and energoctl (every state-changing verb and `sign`).
[[nodiscard]] energo::result<ledger::command, std::string> sign_command_json(json doc, const key_file& key,
                                                                             crypto::network net,
                                                                             const crypto::hash256& genesis_hash);

// A deterministic key from a 32-byte seed, for demos and tests: the seed is the Ed25519 seed
// (RFC 8032 secret key) or the secp256k1 scalar itself. An error if the scalar is out of range.
[[nodiscard]] energo::result<key_file, std::string> key_from_seed(signer_kind type, const std::array<uint8_t, 32>& seed,
                                                                  crypto::network net);

}  // namespace energo::tools
