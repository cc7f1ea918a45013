#pragma once
// Private to tools/*.cpp: the strict field readers behind the JSON codecs (command_json.cpp,
// key_file.cpp). Inside a codec a failure is thrown as codec_failure and turned into a json_error
// value by guarded() at the public entry point; no exception leaves a public function.
#include <limits>
#include <set>
#include <string>

#include "tools/command_json.hpp"

namespace energo::tools::detail {

// Inside the codec a failure unwinds to the public entry point as this exception, which turns it
// into a json_error value; nothing else escapes (see guarded()).
struct codec_failure {
  json_error error;
};

[[noreturn]] inline void fail(json_errc code, std::string field, std::string message) {
  throw codec_failure{json_error{code, 0, std::move(field), std::move(message)}};
}

inline std::string clip(std::string text) {
  if (text.size() > error_echo_chars_max) {
    text.resize(error_echo_chars_max);
    text += "...";
  }
  return text;
}

// "a string \"12\"", "the float 1.5", "an array" — what the user wrote, briefly.
inline std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "the boolean " + dump_compact(v);
    case json::value_t::string: return "the string " + clip(dump_compact(v));
    case json::value_t::number_float:
      return "the number " + dump_compact(v) + " (a float, or an integer beyond 64 bits)";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "the integer " + dump_compact(v);
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    default: return "an unsupported JSON value";
  }
}

inline std::string hex4(unsigned value) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out(4, '0');
  for (int i = 3; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = digits[value & 0xF];
  return out;
}

inline std::string member_path(const std::string& parent, std::string_view key) {
  std::string k(key);
  return parent.empty() ? k : parent + "." + k;
}

inline int64_t read_i64(const json& v, const std::string& path, int64_t min, int64_t max) {
  auto bounds = [&] { return "[" + std::to_string(min) + ", " + std::to_string(max) + "]"; };
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(max) || (min > 0 && u < static_cast<uint64_t>(min))) fail(json_errc::out_of_range, path, "must be within " + bounds() + ", got " + std::to_string(u));
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i < min || i > max) fail(json_errc::out_of_range, path, "must be within " + bounds() + ", got " + std::to_string(i));
    return i;
  }
  fail(json_errc::wrong_type, path, "must be an integer within " + bounds() + ", got " + describe(v));
}

inline uint64_t read_u64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  const std::string bounds = "[0, " + std::to_string(std::numeric_limits<uint64_t>::max()) + "]";
  if (v.is_number_integer())
    fail(json_errc::out_of_range, path, "must be within " + bounds + ", got " + std::to_string(v.get<int64_t>()));
  fail(json_errc::wrong_type, path, "must be an integer within " + bounds + ", got " + describe(v));
}

inline const std::string& read_string(const json& v, const std::string& path, std::size_t chars_max) {
  if (!v.is_string()) fail(json_errc::wrong_type, path, "must be a string, got " + describe(v));
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > chars_max)
    fail(json_errc::too_large, path, "must have at most " + std::to_string(chars_max) + " characters, got " + std::to_string(s.size()));
  // No field of ours holds control characters; "\u0000" would also cut the text short for C readers.
  for (std::size_t i = 0; i < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) < 0x20 || s[i] == 0x7f)
      fail(json_errc::bad_value, path, "contains the control character U+" + hex4(static_cast<unsigned char>(s[i])) +
                                           " at character " + std::to_string(i + 1));
  return s;
}

template <std::size_t N>
std::array<uint8_t, N> read_hex(const json& v, const std::string& path) {
  const auto& s = read_string(v, path, json_line_bytes_max);
  if (s.size() != 2 * N)
    fail(json_errc::bad_hex, path, "must be " + std::to_string(N) + " bytes as " + std::to_string(2 * N) +
                                       " hex characters, got " + std::to_string(s.size()) + " characters");
  auto bytes = crypto::array_from_hex<N>(s);
  if (!bytes) fail(json_errc::bad_hex, path, "is not hex: " + clip(s));
  return *bytes;
}

inline crypto::ed25519_public_key read_ed25519_key(const json& v, const std::string& path) {
  return crypto::ed25519_public_key{read_hex<32>(v, path)};
}

inline crypto::secp256k1_public_key read_secp256k1_key(const json& v, const std::string& path) {
  const auto bytes = read_hex<33>(v, path);
  auto key = crypto::parse_secp256k1_public_key(bytes);
  if (!key) fail(json_errc::bad_key, path, "is not a compressed secp256k1 public key (02/03 prefix, a point on the curve)");
  return *key;
}

inline constexpr std::size_t address_chars_max = 64;  // also bounds names: types, assets, networks

inline ledger::account_address read_address(const json& v, const std::string& path, crypto::network net) {
  const auto& s = read_string(v, path, address_chars_max);
  auto parsed = address_from_text(s, net);
  if (!parsed) {
    json_error e = parsed.error();
    e.field = path;
    throw codec_failure{std::move(e)};
  }
  return *parsed;
}

// An object whose fields are all required and consumed exactly once; finish() refuses the rest.
class object_reader {
 public:
  object_reader(const json& j, std::string path, std::string what) : j_(j), path_(std::move(path)), what_(std::move(what)) {
    if (!j_.is_object()) fail(json_errc::wrong_type, path_, "must be an object (" + what_ + "), got " + describe(j_));
  }
  const json& need(std::string_view key) {
    auto it = j_.find(std::string(key));
    if (it == j_.end()) fail(json_errc::missing_field, path(key), "is missing (required in " + what_ + ")");
    used_.insert(std::string(key));
    return *it;
  }
  [[nodiscard]] bool has(std::string_view key) const { return j_.contains(std::string(key)); }
  [[nodiscard]] std::string path(std::string_view key) const { return member_path(path_, key); }

  int64_t i64(std::string_view key, int64_t min = 0, int64_t max = std::numeric_limits<int64_t>::max()) {
    return read_i64(need(key), path(key), min, max);
  }
  uint64_t u64(std::string_view key) { return read_u64(need(key), path(key)); }
  bool boolean(std::string_view key) {
    const json& v = need(key);
    if (!v.is_boolean()) fail(json_errc::wrong_type, path(key), "must be true or false, got " + describe(v));
    return v.get<bool>();
  }
  crypto::ed25519_public_key ed_key(std::string_view key) { return read_ed25519_key(need(key), path(key)); }
  crypto::secp256k1_public_key secp_key(std::string_view key) { return read_secp256k1_key(need(key), path(key)); }
  ledger::account_address address(std::string_view key, crypto::network net) { return read_address(need(key), path(key), net); }

  void finish() const {
    for (const auto& item : j_.items()) {
      if (!used_.count(item.key()))
        fail(json_errc::unknown_field, path(clip(item.key())), "is not a field of " + what_);
    }
  }

 private:
  const json& j_;
  std::string path_;
  std::string what_;
  std::set<std::string> used_;
};

// Runs `body`, turning every failure into a json_error; no exception leaves the codec.
template <class T, class F>
json_result<T> guarded(F&& body) {
  try {
    return body();
  } catch (codec_failure& f) {
    return unexpected<json_error>{std::move(f.error)};
  } catch (const nlohmann::json::exception& e) {
    return unexpected<json_error>{json_error{json_errc::syntax, 0, "", clip(e.what())}};
  } catch (const std::bad_alloc&) {
    return unexpected<json_error>{json_error{json_errc::too_large, 0, "", "input too large for memory"}};
  }
}


}  // namespace energo::tools::detail
