#pragma once
// JSON codec for the ledger's genesis and commands (docs/commands.md). Used by energo-replay,
// energo-keys, energo-example-gen, and later by the HTTP gateway.
//
// The codec is strict, because an auditor must see exactly what was signed:
//   - every field is required and unknown fields are refused (a typo never silently becomes 0);
//   - duplicate keys are refused (two parsers must never read two different commands);
//   - amounts are JSON integers: floats, strings, values beyond 64 bits and negatives are refused;
//   - addresses are Qtum base58check P2PKH strings of the genesis network, or the pool names
//     "education-pool" / "network-pool"; keys and signatures are hex.
// Every failure is a json_error naming the field (and the line, when read from a file); no input
// throws out of this API or aborts. Input sizes are bounded (json_line_bytes_max, genesis_bytes_max).
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "ledger/commands.hpp"
#include "ledger/ledger.hpp"

namespace energo::tools {

// Insertion-ordered, so that output reads "type" first and is byte-for-byte reproducible.
using json = nlohmann::ordered_json;

inline constexpr std::size_t json_line_bytes_max = 64 * 1024;           // one command line
inline constexpr std::size_t genesis_bytes_max = 32 * 1024 * 1024;      // a genesis file
inline constexpr std::size_t json_depth_max = 8;                        // objects/arrays nested
inline constexpr std::size_t json_object_members_max = 64;              // keys in one object
inline constexpr std::size_t error_echo_chars_max = 80;                 // of user text in messages

inline constexpr std::string_view education_pool_name = "education-pool";
inline constexpr std::string_view network_pool_name = "network-pool";

enum class json_errc : uint8_t {
  syntax = 1,      // not JSON at all
  too_large,       // line, file or array above its named bound
  too_deep,        // nesting above json_depth_max
  duplicate_key,
  wrong_type,      // e.g. a string where an integer belongs, a float, an array where an object belongs
  missing_field,
  unknown_field,
  out_of_range,    // an integer outside its field's bounds (negative, beyond int64, …)
  bad_hex,         // not hex, or the wrong number of bytes
  bad_key,         // hex of the right length that is not a valid public key
  bad_address,     // not a Qtum P2PKH address (checksum, version, P2SH)
  wrong_network,   // a valid address of another network than the genesis
  bad_value,       // an unknown command type, asset or network name
  io,              // the file could not be read
};
[[nodiscard]] std::string_view json_errc_name(json_errc code);

struct json_error {
  json_errc code = json_errc::syntax;
  std::size_t line = 0;   // 1-based line of the input file; 0 when the input is not from a file
  std::string field;      // path of the offending field ("allocations[2].account"); empty for the document
  std::string message;
  // "line 3: field 'amount': must be an integer, got 1.5"
  [[nodiscard]] std::string to_string() const;
};

template <class T>
using json_result = energo::result<T, json_error>;

inline constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// Parses one JSON document of at most `bytes_max` bytes, refusing duplicate keys, nesting deeper
// than json_depth_max, NUL bytes and a byte order mark (docs/commands.md, "Input errors").
[[nodiscard]] json_result<json> parse_json(std::string_view text, std::size_t bytes_max);

// --- Genesis ---------------------------------------------------------------------------------

[[nodiscard]] json_result<ledger::genesis> genesis_from_json(const json& doc);
[[nodiscard]] json_result<ledger::genesis> genesis_from_text(std::string_view text);
// Reads and parses a genesis file (bounded by genesis_bytes_max).
[[nodiscard]] json_result<ledger::genesis> read_genesis_file(const std::string& path);
[[nodiscard]] json genesis_to_json(const ledger::genesis& genesis);

// --- Addresses and names ---------------------------------------------------------------------

[[nodiscard]] std::string_view network_name(crypto::network net);
[[nodiscard]] std::optional<crypto::network> network_from_name(std::string_view name);
// Pool addresses print as their names, every other address as base58check for `net`.
[[nodiscard]] std::string address_to_text(const ledger::account_address& address, crypto::network net);
[[nodiscard]] json_result<ledger::account_address> address_from_text(std::string_view text, crypto::network net);
[[nodiscard]] std::string_view asset_name(ledger::asset what);  // "TSL" / "WATT"

// --- Commands --------------------------------------------------------------------------------

enum class signature_form : uint8_t {
  unsigned_form,  // no "signature" field (what a signer reads)
  signed_form,    // "signature" is 64 bytes of hex (what the log and the replay hold); tick has none
};

// Which key signs a command type, and the JSON field that holds it.
using signer_kind = ledger::signer_kind;  // the command-kind table's (ledger/commands.hpp)
struct signer_info {
  signer_kind kind = signer_kind::none;
  std::string_view field;  // "admin_key", "meter_key", "unit_key", "from_key"; empty for tick
};
// nullopt for an unknown type name.
[[nodiscard]] std::optional<signer_info> signer_for_type(std::string_view type_name);

[[nodiscard]] json_result<ledger::command> command_from_json(const json& doc, crypto::network net, signature_form form);
// Parses one line of a JSON-lines file; errors carry `line_number`.
[[nodiscard]] json_result<ledger::command> command_from_line(std::string_view line, std::size_t line_number,
                                                             crypto::network net, signature_form form);
[[nodiscard]] json command_to_json(const ledger::command& cmd, crypto::network net, signature_form form);
// One compact line, no trailing newline.
[[nodiscard]] std::string command_to_line(const ledger::command& cmd, crypto::network net, signature_form form);

// Compact dump that never throws on invalid UTF-8 (replaced), for every output of the tools.
[[nodiscard]] std::string dump_compact(const json& j);
[[nodiscard]] std::string dump_pretty(const json& j);

// An io error naming the path when it cannot be read as a file (missing, a directory).
[[nodiscard]] json_result<void> check_input_file(const std::string& path);

// Reads a JSON-lines stream one line at a time, never holding more than json_line_bytes_max.
// Blank lines (only spaces, tabs, CR) are skipped but counted. Lines end with LF or CRLF; a CR
// elsewhere in a line is an error, and so is a read failure of the stream (never an exception).
class json_lines_reader {
 public:
  explicit json_lines_reader(std::istream& in) : in_(in) {}
  // The next non-blank line; nullopt at the end of the stream; an error for an oversized line or
  // a read failure (the reader is then finished).
  [[nodiscard]] json_result<std::optional<std::string>> next();
  // 1-based number of the line last returned.
  [[nodiscard]] std::size_t line_number() const { return line_number_; }

 private:
  std::istream& in_;
  std::size_t line_number_ = 0;
  bool done_ = false;
};

}  // namespace energo::tools
