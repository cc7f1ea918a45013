#include "ledger/commands.hpp"

#include "crypto/hash.hpp"
#include "ledger/byte_io.hpp"

namespace energo::ledger {
namespace {

constexpr std::string_view signing_domain = "energo/cmd/v1";

// The binary form of each field type the table uses (ledger/commands.hpp). Big-endian integers,
// raw key bytes, enums and bools as one byte. A field type without an overload here is a compile
// error (the deleted templates), never a silent conversion.
struct field_writer {
  byte_writer& w;
  template <class T>
  void operator()(std::string_view, const T&) = delete;
  void operator()(std::string_view, const int64_t& v) { w.put_i64(v); }
  void operator()(std::string_view, const uint64_t& v) { w.put_u64(v); }
  void operator()(std::string_view, const bool& v) { w.put_u8(v ? 1 : 0); }
  void operator()(std::string_view, const crypto::ed25519_public_key& k) { w.put_array(k.bytes); }
  void operator()(std::string_view, const crypto::secp256k1_public_key& k) { w.put_array(k.bytes); }
  void operator()(std::string_view, const account_address& a) { w.put_array(a); }
  void operator()(std::string_view, const asset& a) { w.put_u8(static_cast<uint8_t>(a)); }
  void operator()(std::string_view, const market::side& s) { w.put_u8(static_cast<uint8_t>(s)); }
  void operator()(std::string_view, const market::order_kind& k) { w.put_u8(static_cast<uint8_t>(k)); }
  void operator()(std::string_view, const admin_auth& a) {
    w.put_array(a.admin_key.bytes);
    w.put_u64(a.nonce);
  }
  void operator()(std::string_view, const community_params& p) { community_params_fields(p, *this); }
};

// Reads what field_writer wrote; `ok` turns false at the first short or invalid field, and the
// remaining fields are then skipped.
struct field_reader {
  byte_reader& r;
  bool ok = true;
  template <class T>
  void operator()(std::string_view, T&) = delete;
  void operator()(std::string_view, int64_t& v) { ok = ok && r.get_i64(v); }
  void operator()(std::string_view, uint64_t& v) { ok = ok && r.get_u64(v); }
  void operator()(std::string_view, bool& v) {
    const auto b = byte_at_most(1);
    v = b == 1;
  }
  void operator()(std::string_view, crypto::ed25519_public_key& k) { ok = ok && r.get_array(k.bytes); }
  void operator()(std::string_view, crypto::secp256k1_public_key& k) { ok = ok && r.get_array(k.bytes); }
  void operator()(std::string_view, account_address& a) { ok = ok && r.get_array(a); }
  void operator()(std::string_view, asset& a) {
    const auto b = byte_at_most(static_cast<uint8_t>(asset::watt));
    if (ok && b != static_cast<uint8_t>(asset::tsl) && b != static_cast<uint8_t>(asset::watt)) ok = false;
    a = static_cast<asset>(b);
  }
  void operator()(std::string_view, market::side& s) { s = static_cast<market::side>(byte_at_most(static_cast<uint8_t>(market::side::sell))); }
  void operator()(std::string_view, market::order_kind& k) {
    k = static_cast<market::order_kind>(byte_at_most(static_cast<uint8_t>(market::order_kind::market)));
  }
  void operator()(std::string_view, admin_auth& a) { ok = ok && r.get_array(a.admin_key.bytes) && r.get_u64(a.nonce); }
  void operator()(std::string_view, community_params& p) { community_params_fields(p, *this); }

 private:
  // One byte that must be <= max (an enum or a bool); 0 once !ok.
  uint8_t byte_at_most(uint8_t max) {
    uint8_t b = 0;
    ok = ok && r.get_u8(b) && b <= max;
    return ok ? b : 0;
  }
};

// The encoded size of every field of a kind (each kind's encoding has a fixed size).
struct field_sizer {
  std::size_t bytes = 0;
  void operator()(std::string_view, const int64_t&) { bytes += 8; }
  void operator()(std::string_view, const uint64_t&) { bytes += 8; }
  void operator()(std::string_view, const bool&) { bytes += 1; }
  void operator()(std::string_view, const crypto::ed25519_public_key& k) { bytes += k.bytes.size(); }
  void operator()(std::string_view, const crypto::secp256k1_public_key& k) { bytes += k.bytes.size(); }
  void operator()(std::string_view, const account_address& a) { bytes += a.size(); }
  void operator()(std::string_view, const asset&) { bytes += 1; }
  void operator()(std::string_view, const market::side&) { bytes += 1; }
  void operator()(std::string_view, const market::order_kind&) { bytes += 1; }
  void operator()(std::string_view, const admin_auth& a) { bytes += a.admin_key.bytes.size() + 8; }
  void operator()(std::string_view, const community_params& p) { community_params_fields(p, *this); }
};

constexpr std::size_t type_byte_size = 1;
constexpr std::size_t signature_size = std::tuple_size_v<signature_bytes>;

std::size_t body_bytes(const command_body& body) {
  return std::visit(
      [](const auto& c) {
        field_sizer s;
        command_kind<std::decay_t<decltype(c)>>::fields(c, s);
        return type_byte_size + s.bytes;
      },
      body);
}

void write_body(byte_writer& w, const command_body& body) {
  std::visit(
      [&](const auto& c) {
        using kind = command_kind<std::decay_t<decltype(c)>>;
        w.put_u8(static_cast<uint8_t>(kind::tag));
        field_writer fw{w};
        kind::fields(c, fw);
      },
      body);
}

// Builds the alternative whose tag is `type`; false for an unknown tag or bad fields.
bool read_body(byte_reader& r, uint8_t type, command_body& body) {
  if (type == 0) return false;
  bool ok = false;
  visit_command_kind(type - 1u, [&]<class T>(std::type_identity<T>) {
    T c{};
    field_reader fr{r};
    command_kind<T>::fields(c, fr);
    ok = fr.ok;
    if (ok) body = std::move(c);
  });
  return ok;
}

}  // namespace

std::string_view command_name(const command_body& body) { return command_kinds[body.index()].name; }

std::vector<uint8_t> signing_bytes(const command_body& body, const crypto::hash256& genesis_hash) {
  byte_writer w;
  w.reserve(signing_domain.size() + std::tuple_size_v<crypto::hash256> + body_bytes(body));
  w.put_raw(crypto::as_bytes(signing_domain));
  w.put_array(genesis_hash);
  write_body(w, body);
  return w.take();
}

std::vector<uint8_t> encode(const command& cmd) {
  byte_writer w;
  w.reserve(body_bytes(cmd.body) + signature_size);
  write_body(w, cmd.body);
  w.put_array(cmd.signature);
  return w.take();
}

result<command> decode(std::span<const uint8_t> bytes) {
  if (bytes.size() > limits::command_bytes_max)
    return fail(errc::malformed, "command is " + std::to_string(bytes.size()) + " bytes, above the limit of " +
                                     std::to_string(limits::command_bytes_max));
  byte_reader r(bytes);
  uint8_t type = 0;
  if (!r.get_u8(type)) return fail(errc::malformed, "empty command");
  command cmd;
  if (!read_body(r, type, cmd.body)) {
    if (type == 0 || type > command_kind_count)
      return fail(errc::malformed, "unknown command type " + std::to_string(type));
    return fail(errc::malformed, "truncated or invalid fields for command type " + std::to_string(type));
  }
  if (!r.get_array(cmd.signature)) return fail(errc::malformed, "missing signature");
  if (!r.at_end()) return fail(errc::malformed, "trailing bytes after command");
  return cmd;
}

namespace {

bool ed25519_ok(const crypto::ed25519_public_key& key, const command& cmd, const crypto::hash256& genesis_hash) {
  const auto bytes = signing_bytes(cmd.body, genesis_hash);
  crypto::ed25519_signature sig;
  sig.bytes = cmd.signature;
  return crypto::ed25519_verify(key, bytes, sig);
}

}  // namespace

namespace {

// Finds the signing key of a command: the field the kind's row names (admin_key lives in auth).
struct signer_key_finder {
  std::string_view signer_field;
  const crypto::ed25519_public_key* ed = nullptr;
  const crypto::secp256k1_public_key* secp = nullptr;
  template <class T>
  void operator()(std::string_view, const T&) {}
  void operator()(std::string_view, const admin_auth& a) {
    if (signer_field == "admin_key") ed = &a.admin_key;
  }
  void operator()(std::string_view name, const crypto::ed25519_public_key& k) {
    if (name == signer_field) ed = &k;
  }
  void operator()(std::string_view name, const crypto::secp256k1_public_key& k) {
    if (name == signer_field) secp = &k;
  }
};

}  // namespace

result<void> verify(const command& cmd, const crypto::hash256& genesis_hash) {
  return std::visit(
      [&](const auto& c) -> result<void> {
        using kind = command_kind<std::decay_t<decltype(c)>>;
        auto bad = [] { return fail(errc::bad_signature, std::string(kind::name) + ": signature does not verify"); };
        if constexpr (kind::signer == signer_kind::none) {
          for (uint8_t b : cmd.signature)
            if (b != 0) return fail(errc::malformed, "tick carries a signature");
          return ok;
        } else {
          signer_key_finder key{kind::signer_field};
          kind::fields(c, key);
          if constexpr (kind::signer == signer_kind::ed25519) {
            ENERGO_ASSERT(key.ed != nullptr, "the kind's signer field is not an Ed25519 key");
            return ed25519_ok(*key.ed, cmd, genesis_hash) ? result<void>(ok) : bad();
          } else {
            ENERGO_ASSERT(key.secp != nullptr, "the kind's signer field is not a secp256k1 key");
            const auto digest = crypto::sha256(signing_bytes(cmd.body, genesis_hash));
            crypto::ecdsa_signature sig;
            sig.bytes = cmd.signature;
            return crypto::ecdsa_verify(*key.secp, digest, sig) ? result<void>(ok) : bad();
          }
        }
      },
      cmd.body);
}

command sign_ed25519(command_body body, const crypto::ed25519_keypair& key, const crypto::hash256& genesis_hash) {
  command cmd{std::move(body), {}};
  cmd.signature = key.sign(signing_bytes(cmd.body, genesis_hash)).bytes;
  return cmd;
}

command sign_secp256k1(command_body body, const crypto::secp256k1_secret_key& key, const crypto::hash256& genesis_hash) {
  command cmd{std::move(body), {}};
  cmd.signature = key.sign(crypto::sha256(signing_bytes(cmd.body, genesis_hash))).bytes;
  return cmd;
}

}  // namespace energo::ledger
