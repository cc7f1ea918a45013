// The JSON codec: every command type round-trips exactly; every malformed input is a clear error
// naming its field and line, never a crash or a silently different command.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>

#include "test_support.hpp"

namespace energo::tools {
namespace {

using namespace test;

const auto net = crypto::network::regtest;

TEST(CommandJson, EveryCommandTypeRoundTripsSignedAndUnsigned) {
  const auto g = sample_genesis();
  const auto gh = g.hash();
  const auto bodies = sample_bodies();
  ASSERT_EQ(bodies.size(), std::variant_size_v<ledger::command_body>) << "a command type has no sample";
  for (const auto& body : bodies) {
    SCOPED_TRACE(std::string(ledger::command_name(body)));
    const auto cmd = sign_sample(body, gh);
    const auto line = command_to_line(cmd, net, signature_form::signed_form);
    auto back = command_from_line(line, 1, net, signature_form::signed_form);
    ASSERT_TRUE(back.has_value()) << back.error().to_string() << "\n" << line;
    EXPECT_EQ(ledger::encode(*back), ledger::encode(cmd)) << line;
    EXPECT_TRUE(ledger::verify(*back, gh).has_value()) << line;
    EXPECT_EQ(command_to_line(*back, net, signature_form::signed_form), line) << "encoding is not canonical";

    const auto unsigned_line = command_to_line(cmd, net, signature_form::unsigned_form);
    EXPECT_EQ(unsigned_line.find("signature"), std::string::npos);
    auto unsigned_back = command_from_line(unsigned_line, 1, net, signature_form::unsigned_form);
    ASSERT_TRUE(unsigned_back.has_value()) << unsigned_back.error().to_string();
    EXPECT_EQ(ledger::signing_bytes(unsigned_back->body, gh), ledger::signing_bytes(cmd.body, gh));
  }
}

TEST(CommandJson, FieldNamesAndValuesAreTheDocumentedOnes) {
  const auto gh = sample_genesis().hash();
  const auto alice = secp_key("alice");
  const auto bob = address_of(secp_key("bob"));
  auto cmd = ledger::sign_secp256k1(ledger::transfer{alice.public_key(), 5, bob, ledger::asset::tsl, 250}, alice, gh);
  const auto j = command_to_json(cmd, net, signature_form::signed_form);
  EXPECT_EQ(j["type"], "transfer");
  EXPECT_EQ(j["from_key"], crypto::to_hex(alice.public_key().bytes));
  EXPECT_EQ(j["nonce"], 5);
  EXPECT_EQ(j["to"], qtum_address(secp_key("bob"), net));
  EXPECT_EQ(j["to"].get<std::string>()[0], 'q');
  EXPECT_EQ(j["asset"], "TSL");
  EXPECT_EQ(j["amount"], 250);
  EXPECT_EQ(j["signature"], crypto::to_hex(cmd.signature));
  EXPECT_EQ(j.begin().key(), "type") << "type comes first for readable logs";
  EXPECT_EQ(command_to_json(cmd, crypto::network::mainnet, signature_form::signed_form)["to"].get<std::string>()[0], 'Q');
}

TEST(CommandJson, PoolsAreNamedAndParsedByName) {
  EXPECT_EQ(address_to_text(ledger::education_pool_address(), net), "education-pool");
  EXPECT_EQ(address_to_text(ledger::network_pool_address(), net), "network-pool");
  EXPECT_EQ(*address_from_text("education-pool", net), ledger::education_pool_address());
  EXPECT_EQ(*address_from_text("network-pool", crypto::network::mainnet), ledger::network_pool_address());
}

TEST(CommandJson, GenesisRoundTrips) {
  for (auto n : {crypto::network::regtest, crypto::network::testnet, crypto::network::mainnet}) {
    const auto g = sample_genesis(n);
    const auto text = dump_pretty(genesis_to_json(g));
    auto back = genesis_from_text(text);
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    EXPECT_EQ(back->hash(), g.hash());
    EXPECT_EQ(back->network, n);
    EXPECT_NE(text.find("education-pool"), std::string::npos);
  }
}

TEST(CommandJson, CommittedExampleGenesisParsesAndCreatesALedger) {
  auto g = read_genesis_file((example_dir / "genesis.json").string());
  ASSERT_TRUE(g.has_value()) << g.error().to_string();
  EXPECT_TRUE(ledger::ledger::create(*g).has_value());
  EXPECT_EQ(dump_pretty(genesis_to_json(*g)) + "\n", read_file(example_dir / "genesis.json")) << "genesis encoding drifted";
}

// --- malformed input -------------------------------------------------------------------------

// A valid signed command of `type` whose field `field` is replaced by the raw JSON text `raw`
// (or removed when raw is empty).
std::string with_field(std::string_view type, const std::string& field, const std::string& raw) {
  const auto gh = sample_genesis().hash();
  for (const auto& body : sample_bodies()) {
    if (ledger::command_name(body) != type) continue;
    auto j = command_to_json(sign_sample(body, gh), net, signature_form::signed_form);
    if (raw.empty()) {
      j.erase(field);
      return dump_compact(j);
    }
    j[field] = "@@placeholder@@";
    auto text = dump_compact(j);
    text.replace(text.find("\"@@placeholder@@\""), 17, raw);
    return text;
  }
  ADD_FAILURE() << "no sample of type " << type;
  return {};
}

struct bad_case {
  std::string name;
  std::string line;
  json_errc code;
  std::string field;  // expected json_error::field
};

std::string json_quoted(const std::string& s) { return "\"" + s + "\""; }

std::vector<bad_case> bad_cases() {
  const auto alice = secp_key("alice");
  crypto::address p2sh{crypto::qtum_script_version_testnet, address_of(alice)};
  std::string bad_checksum = qtum_address(alice, net);
  bad_checksum.back() = bad_checksum.back() == 'a' ? 'b' : 'a';
  const std::string zeros64(128, '0');
  const std::string tick_line = R"({"type":"tick","time_ms":1})";
  return {
      {"not json", "not json", json_errc::syntax, ""},
      {"empty", "", json_errc::syntax, ""},
      {"truncated", R"({"type":"tick","time_ms":)", json_errc::syntax, ""},
      {"array document", "[1,2]", json_errc::wrong_type, ""},
      {"number document", "42", json_errc::wrong_type, ""},
      {"invalid utf8", "{\"type\":\"ti\xff\xfe\",\"time_ms\":1}", json_errc::syntax, ""},
      {"unknown type", R"({"type":"mint_free_money","amount":1})", json_errc::bad_value, "type"},
      {"type not a string", R"({"type":8})", json_errc::wrong_type, "type"},
      {"missing type", R"({"time_ms":5})", json_errc::missing_field, "type"},
      {"missing field", R"({"type":"tick"})", json_errc::missing_field, "time_ms"},
      {"unknown field", R"({"type":"tick","time_ms":5,"bonus":1})", json_errc::unknown_field, "bonus"},
      {"duplicate key", R"({"type":"tick","time_ms":5,"time_ms":6})", json_errc::duplicate_key, "time_ms"},
      {"tick with signature", R"({"type":"tick","time_ms":5,"signature":")" + zeros64 + "\"}", json_errc::unknown_field, "signature"},
      {"too deep", R"({"type":"tick","time_ms":[[[[[[[[[[[[1]]]]]]]]]]]]})", json_errc::too_deep, ""},
      {"float", with_field("tick", "time_ms", "1.5"), json_errc::wrong_type, "time_ms"},
      {"float with integer value", with_field("tick", "time_ms", "1000.0"), json_errc::wrong_type, "time_ms"},
      {"exponent", with_field("tick", "time_ms", "1e3"), json_errc::wrong_type, "time_ms"},
      {"string number", with_field("tick", "time_ms", "\"5\""), json_errc::wrong_type, "time_ms"},
      {"null", with_field("tick", "time_ms", "null"), json_errc::wrong_type, "time_ms"},
      {"bool", with_field("tick", "time_ms", "true"), json_errc::wrong_type, "time_ms"},
      {"negative time", with_field("tick", "time_ms", "-1"), json_errc::out_of_range, "time_ms"},
      {"int64 max + 1", with_field("transfer", "amount", "9223372036854775808"), json_errc::out_of_range, "amount"},
      {"beyond 64 bits", with_field("transfer", "amount", "99999999999999999999999"), json_errc::wrong_type, "amount"},
      {"negative amount", with_field("transfer", "amount", "-5"), json_errc::out_of_range, "amount"},
      {"int64 min", with_field("transfer", "amount", "-9223372036854775808"), json_errc::out_of_range, "amount"},
      {"negative nonce", with_field("transfer", "nonce", "-1"), json_errc::out_of_range, "nonce"},
      {"nonce beyond uint64", with_field("transfer", "nonce", "18446744073709551616"), json_errc::wrong_type, "nonce"},
      {"asset unknown", with_field("transfer", "asset", "\"BTC\""), json_errc::bad_value, "asset"},
      {"asset lower case", with_field("transfer", "asset", "\"tsl\""), json_errc::bad_value, "asset"},
      {"address checksum", with_field("transfer", "to", json_quoted(bad_checksum)), json_errc::bad_address, "to"},
      {"address garbage", with_field("transfer", "to", "\"0OIl\""), json_errc::bad_address, "to"},
      {"address too long", with_field("transfer", "to", json_quoted(std::string(500, 'q'))), json_errc::too_large, "to"},
      {"address hex", with_field("transfer", "to", json_quoted(crypto::to_hex(address_of(alice)))), json_errc::bad_address, "to"},
      {"mainnet address on regtest", with_field("transfer", "to", json_quoted(qtum_address(alice, crypto::network::mainnet))),
       json_errc::wrong_network, "to"},
      {"P2SH address", with_field("transfer", "to", json_quoted(p2sh.to_string())), json_errc::bad_address, "to"},
      {"key odd hex", with_field("transfer", "from_key", json_quoted(std::string(65, 'a'))), json_errc::bad_hex, "from_key"},
      {"key not hex", with_field("transfer", "from_key", json_quoted("zz" + std::string(64, 'a'))), json_errc::bad_hex, "from_key"},
      {"key off curve", with_field("transfer", "from_key", json_quoted("02" + std::string(64, 'f'))), json_errc::bad_key, "from_key"},
      {"key uncompressed prefix", with_field("transfer", "from_key", json_quoted("04" + std::string(64, '1'))), json_errc::bad_key, "from_key"},
      {"ed25519 key short", with_field("meter_reading", "meter_key", json_quoted(std::string(62, '0'))), json_errc::bad_hex, "meter_key"},
      {"signature short", with_field("meter_reading", "signature", json_quoted(std::string(126, '0'))), json_errc::bad_hex, "signature"},
      {"signature missing", with_field("meter_reading", "signature", ""), json_errc::missing_field, "signature"},
      {"signature number", with_field("meter_reading", "signature", "7"), json_errc::wrong_type, "signature"},
      {"params not object", with_field("set_params", "params", "[1,2,3,4]"), json_errc::wrong_type, "params"},
      {"params missing field", with_field("set_params", "params", R"({"fee_units_per_kwh_epoch":1,"storage_cost_per_user_cents":2,"battery_price_cents_per_kwh":3})"),
       json_errc::missing_field, "params.grant_units"},
      {"params float", with_field("set_params", "params", R"({"fee_units_per_kwh_epoch":1.5,"storage_cost_per_user_cents":2,"battery_price_cents_per_kwh":3,"grant_units":0})"),
       json_errc::wrong_type, "params.fee_units_per_kwh_epoch"},
      {"side unknown", with_field("place_order", "side", "\"short\""), json_errc::bad_value, "side"},
      {"kind unknown", with_field("place_order", "kind", "\"stop\""), json_errc::bad_value, "kind"},
      {"price float", with_field("place_order", "price_units_per_wh", "2.5"), json_errc::wrong_type, "price_units_per_wh"},
      {"enabled not bool", with_field("set_agent", "enabled", "1"), json_errc::wrong_type, "enabled"},
      {"finished string", with_field("ev_delivery", "finished", "\"yes\""), json_errc::wrong_type, "finished"},
      {"session id negative", with_field("ev_close_session", "session_id", "-7"), json_errc::out_of_range, "session_id"},
      {"station account network", with_field("register_station", "account", json_quoted(qtum_address(alice, crypto::network::mainnet))),
       json_errc::wrong_network, "account"},
      {"params duplicate", with_field("set_params", "params", R"({"grant_units":1,"grant_units":2})"), json_errc::duplicate_key, "grant_units"},
      // --- bad input at the edge (docs/commands.md, "Input errors") ---
      // nlohmann::json stops at a NUL byte as at the end of input: the rest of the line would be ignored.
      {"NUL after a valid command", tick_line + std::string(1, '\0') + R"({"type":"transfer"})", json_errc::syntax, ""},
      {"NUL inside", std::string(R"({"type":"tick",)") + '\0' + R"("time_ms":1})", json_errc::syntax, ""},
      {"NUL first", std::string(1, '\0') + tick_line, json_errc::syntax, ""},
      {"byte order mark", std::string(utf8_bom) + tick_line, json_errc::syntax, ""},
      {"byte order mark inside", R"({"type":"tick",)" + std::string(utf8_bom) + R"("time_ms":1})", json_errc::syntax, ""},
      {"overlong UTF-8", "{\"type\":\"\xC0\x80tick\",\"time_ms\":1}", json_errc::syntax, ""},
      {"UTF-8 encoded surrogate", "{\"type\":\"\xED\xA0\x80\",\"time_ms\":1}", json_errc::syntax, ""},
      {"UTF-8 beyond U+10FFFF", "{\"type\":\"\xF4\x90\x80\x80\",\"time_ms\":1}", json_errc::syntax, ""},
      {"truncated UTF-8", "{\"type\":\"tick\xE2\x82\",\"time_ms\":1}", json_errc::syntax, ""},
      {"Latin-1 outside strings", "{\"type\":\"tick\",\"time_ms\":1}\xE9", json_errc::syntax, ""},
      {"lone high surrogate escape", R"({"type":"tick\ud800","time_ms":1})", json_errc::syntax, ""},
      {"lone low surrogate escape", R"({"type":"\udc00tick","time_ms":1})", json_errc::syntax, ""},
      {"reversed surrogate pair", R"({"type":"\udc00\ud800","time_ms":1})", json_errc::syntax, ""},
      {"escaped NUL in a string", with_field("transfer", "to", R"("q\u0000abc")"), json_errc::bad_value, "to"},
      {"escaped control in the type", R"({"type":"ti\u0001ck","time_ms":1})", json_errc::bad_value, "type"},
      {"raw control in a string", "{\"type\":\"ti\x01ck\",\"time_ms\":1}", json_errc::syntax, ""},
      {"duplicate type", R"({"type":"tick","type":"tick","time_ms":1})", json_errc::duplicate_key, "type"},
      {"duplicate via escape", R"({"type":"tick","time_ms":1,"time\u005fms":2})", json_errc::duplicate_key, "time_ms"},
      {"leading zero", with_field("tick", "time_ms", "01"), json_errc::syntax, ""},
      {"leading zeros", with_field("transfer", "amount", "007"), json_errc::syntax, ""},
      {"plus sign", with_field("tick", "time_ms", "+1"), json_errc::syntax, ""},
      {"hex number", with_field("tick", "time_ms", "0x10"), json_errc::syntax, ""},
      {"bare fraction", with_field("tick", "time_ms", ".5"), json_errc::syntax, ""},
      {"fraction of zero", with_field("tick", "time_ms", "0.0"), json_errc::wrong_type, "time_ms"},
      {"exponent zero", with_field("tick", "time_ms", "5E0"), json_errc::wrong_type, "time_ms"},
      {"negative exponent", with_field("transfer", "amount", "10e-1"), json_errc::wrong_type, "amount"},
      {"huge exponent", with_field("tick", "time_ms", "1e999"), json_errc::syntax, ""},
      {"below int64", with_field("transfer", "amount", "-9223372036854775809"), json_errc::wrong_type, "amount"},
      {"uint64 max in an int64 field", with_field("transfer", "amount", "18446744073709551615"), json_errc::out_of_range, "amount"},
      {"NaN", with_field("tick", "time_ms", "NaN"), json_errc::syntax, ""},
      {"Infinity", with_field("tick", "time_ms", "Infinity"), json_errc::syntax, ""},
      {"deep objects", R"({"type":"tick","time_ms":1,"x":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}}})", json_errc::too_deep, ""},
      {"trailing garbage", tick_line + " x", json_errc::syntax, ""},
      {"two objects on a line", tick_line + tick_line, json_errc::syntax, ""},
      {"trailing comma", R"({"type":"tick","time_ms":1,})", json_errc::syntax, ""},
      {"comment", tick_line + " // ok", json_errc::syntax, ""},
      {"single quotes", "{'type':'tick','time_ms':1}", json_errc::syntax, ""},
  };
}

TEST(CommandJson, MalformedLinesAreClearErrorsNamingFieldAndLine) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name + ": " + c.line.substr(0, 200));
    auto r = command_from_line(c.line, 17, net, signature_form::signed_form);
    ASSERT_FALSE(r.has_value()) << "accepted";
    EXPECT_EQ(json_errc_name(r.error().code), json_errc_name(c.code)) << r.error().to_string();
    EXPECT_EQ(r.error().field, c.field) << r.error().to_string();
    EXPECT_EQ(r.error().line, 17u);
    const auto text = r.error().to_string();
    EXPECT_EQ(text.rfind("line 17: ", 0), 0u) << text;
    if (!c.field.empty()) {
      EXPECT_NE(text.find("field '" + c.field + "'"), std::string::npos) << text;
    }
    EXPECT_LT(text.size(), 600u) << "messages stay short even for huge inputs";
  }
}

TEST(CommandJson, UnsignedFormRefusesASignatureAndSignedFormRequiresOne) {
  const auto gh = sample_genesis().hash();
  const auto cmd = sign_sample(sample_bodies()[5], gh);
  auto signed_as_unsigned = command_from_line(command_to_line(cmd, net, signature_form::signed_form), 1, net, signature_form::unsigned_form);
  ASSERT_FALSE(signed_as_unsigned.has_value());
  EXPECT_EQ(signed_as_unsigned.error().field, "signature");
  auto unsigned_as_signed = command_from_line(command_to_line(cmd, net, signature_form::unsigned_form), 1, net, signature_form::signed_form);
  ASSERT_FALSE(unsigned_as_signed.has_value());
  EXPECT_EQ(unsigned_as_signed.error().code, json_errc::missing_field);
}

TEST(CommandJson, ObjectsWithTooManyFieldsAreRefused) {
  std::string line = "{\"type\":\"tick\",\"time_ms\":1";
  for (std::size_t i = 0; i < json_object_members_max; ++i) line += ",\"k" + std::to_string(i) + "\":0";
  line += "}";
  auto r = command_from_line(line, 1, net, signature_form::signed_form);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, json_errc::too_large) << r.error().to_string();
}

TEST(CommandJson, OversizedLineIsRefusedBeforeParsing) {
  const std::string line = R"({"type":"tick","time_ms":1,"pad":")" + std::string(json_line_bytes_max, ' ') + "\"}";
  auto r = command_from_line(line, 3, net, signature_form::signed_form);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, json_errc::too_large);
  EXPECT_EQ(r.error().line, 3u);
}

TEST(CommandJson, LinesReaderBoundsLinesAndCountsBlankOnes) {
  std::istringstream in("{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\":3}");
  json_lines_reader reader(in);
  auto first = reader.next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ(**first, "{\"a\":1}");
  EXPECT_EQ(reader.line_number(), 1u);
  auto second = reader.next();
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_EQ(reader.line_number(), 4u) << "blank lines are skipped but counted";
  auto third = reader.next();
  ASSERT_TRUE(third.has_value() && third->has_value());
  EXPECT_EQ(**third, "{\"c\":3}") << "a last line without newline is read";
  auto end = reader.next();
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->has_value());

  std::istringstream huge("{}\n" + std::string(json_line_bytes_max + 10, 'x') + "\n{}\n");
  json_lines_reader bounded(huge);
  ASSERT_TRUE(bounded.next().has_value());
  auto oversized = bounded.next();
  ASSERT_FALSE(oversized.has_value());
  EXPECT_EQ(oversized.error().code, json_errc::too_large);
  EXPECT_EQ(oversized.error().line, 2u);
}

TEST(CommandJson, LinesReaderRefusesACarriageReturnInsideALine) {
  // CRLF and a final CR are line ends; a CR inside a line (old Mac line endings) would run two
  // commands together.
  std::istringstream in("{\"a\":1}\r\n{\"b\":2}\r{\"c\":3}\n");
  json_lines_reader reader(in);
  auto first = reader.next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ(**first, "{\"a\":1}\r") << "CRLF: the CR is JSON whitespace";
  auto second = reader.next();
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, json_errc::syntax);
  EXPECT_EQ(second.error().line, 2u);
  EXPECT_NE(second.error().message.find("carriage return"), std::string::npos) << second.error().message;

  std::istringstream last("{\"a\":1}\r");
  json_lines_reader last_reader(last);
  auto only = last_reader.next();
  ASSERT_TRUE(only.has_value() && only->has_value()) << "a last line ending in CR without LF";
}

// A stream buffer that fails the way libstdc++'s filebuf does on a directory: it throws.
struct throwing_buffer : std::streambuf {
  int_type underflow() override { throw std::ios_base::failure("underflow error reading the file"); }
};

TEST(CommandJson, LinesReaderTurnsAThrowingStreamIntoAnError) {
  throwing_buffer buffer;
  std::istream in(&buffer);
  json_lines_reader reader(in);
  json_result<std::optional<std::string>> r = std::optional<std::string>();
  EXPECT_NO_THROW(r = reader.next());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, json_errc::io);
  EXPECT_EQ(r.error().line, 1u);
  auto after = reader.next();
  ASSERT_TRUE(after.has_value()) << "the reader is finished after a read error";
  EXPECT_FALSE(after->has_value());
}

TEST(CommandJson, DirectoriesAreRefusedAsInputFiles) {
  temp_dir dir("as_input");
  auto checked = check_input_file(dir.path().string());
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().code, json_errc::io);
  EXPECT_NE(checked.error().message.find("is a directory"), std::string::npos) << checked.error().message;
  auto genesis = read_genesis_file(dir.path().string());
  ASSERT_FALSE(genesis.has_value());
  EXPECT_EQ(genesis.error().code, json_errc::io);
  // And a directory opened as a stream anyway: the reader reports it, it does not throw.
  std::ifstream in(dir.path(), std::ios::binary);
  if (in) {
    json_lines_reader reader(in);
    json_result<std::optional<std::string>> r = std::optional<std::string>();
    EXPECT_NO_THROW(r = reader.next());
    EXPECT_TRUE(!r.has_value() || !r->has_value()) << "a directory yields no line";
  }
}

TEST(CommandJson, GenesisWithAByteOrderMarkOrNulIsAClearError) {
  const auto text = dump_pretty(genesis_to_json(sample_genesis()));
  auto bom = genesis_from_text(std::string(utf8_bom) + text);
  ASSERT_FALSE(bom.has_value());
  EXPECT_EQ(bom.error().code, json_errc::syntax);
  EXPECT_NE(bom.error().message.find("byte order mark"), std::string::npos) << bom.error().message;
  auto nul = genesis_from_text(text + std::string(1, '\0') + "{}");
  ASSERT_FALSE(nul.has_value());
  EXPECT_NE(nul.error().message.find("NUL"), std::string::npos) << nul.error().message;
  EXPECT_TRUE(genesis_from_text(text + "\r\n").has_value()) << "trailing CRLF is whitespace";
}

TEST(CommandJson, MalformedGenesisIsAClearError) {
  const auto good = genesis_to_json(sample_genesis());
  struct genesis_case {
    std::string name;
    std::function<void(json&)> mutate;
    json_errc code;
    std::string field;
  };
  const auto alice = secp_key("alice");
  const std::vector<genesis_case> cases = {
      {"network unknown", [](json& j) { j["network"] = "moonnet"; }, json_errc::bad_value, "network"},
      {"admins not array", [](json& j) { j["admins"] = "abc"; }, json_errc::wrong_type, "admins"},
      {"admin bad hex", [](json& j) { j["admins"][0] = "xyz"; }, json_errc::bad_hex, "admins[0]"},
      {"too many admins", [](json& j) { j["admins"] = json::array(); for (int i = 0; i < 17; ++i) j["admins"].push_back(std::string(64, 'a')); },
       json_errc::too_large, "admins"},
      {"allocation zero", [](json& j) { j["allocations"][1]["tsl_units"] = 0; }, json_errc::out_of_range, "allocations[1].tsl_units"},
      {"allocation above supply", [](json& j) { j["allocations"][1]["tsl_units"] = ledger::tsl_supply_units + 1; }, json_errc::out_of_range,
       "allocations[1].tsl_units"},
      {"allocation float", [](json& j) { j["allocations"][2]["tsl_units"] = 1.5; }, json_errc::wrong_type, "allocations[2].tsl_units"},
      {"allocation wrong network",
       [&](json& j) { j["allocations"][1]["account"] = qtum_address(alice, crypto::network::mainnet); }, json_errc::wrong_network,
       "allocations[1].account"},
      {"allocation unknown field", [](json& j) { j["allocations"][0]["memo"] = "x"; }, json_errc::unknown_field, "allocations[0].memo"},
      {"missing params", [](json& j) { j.erase("params"); }, json_errc::missing_field, "params"},
      {"params negative", [](json& j) { j["params"]["grant_units"] = -1; }, json_errc::out_of_range, "params.grant_units"},
      {"community id too long", [](json& j) { j["community_id"] = std::string(65, 'c'); }, json_errc::too_large, "community_id"},
      {"genesis time string", [](json& j) { j["genesis_time_ms"] = "now"; }, json_errc::wrong_type, "genesis_time_ms"},
      {"unknown top-level", [](json& j) { j["comment"] = "hi"; }, json_errc::unknown_field, "comment"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json j = good;
    c.mutate(j);
    auto r = genesis_from_text(dump_compact(j));
    ASSERT_FALSE(r.has_value()) << dump_compact(j);
    EXPECT_EQ(json_errc_name(r.error().code), json_errc_name(c.code)) << r.error().to_string();
    EXPECT_EQ(r.error().field, c.field) << r.error().to_string();
  }
  auto too_big = parse_json(std::string(genesis_bytes_max + 1, ' '), genesis_bytes_max);
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().code, json_errc::too_large);
  auto missing = read_genesis_file("/nonexistent/genesis.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, json_errc::io);
}

// Random damage to valid lines: the codec either refuses with an error or returns a command that
// re-encodes to a line it parses back identically. It never crashes (asan/ubsan watch this).
TEST(CommandJson, MutatedLinesNeverCrashAndParseStably) {
  // ENERGO_TEST_SEED reproduces a failing run.
  const char* fixed = std::getenv("ENERGO_TEST_SEED");
  const uint64_t seed = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::cout << "[ seed ] CommandJson.MutatedLinesNeverCrashAndParseStably seed=" << seed << "\n";
  std::mt19937_64 rng(seed);
  const auto gh = sample_genesis().hash();
  std::vector<std::string> lines;
  for (const auto& body : sample_bodies()) lines.push_back(command_to_line(sign_sample(body, gh), net, signature_form::signed_form));
  static constexpr char alphabet_chars[] = "{}[]\":,0123456789-+.eE \\tnulfasrq\x00\xff";
  const std::string alphabet(alphabet_chars, sizeof alphabet_chars - 1);  // keeps the NUL byte
  int parsed = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string line = lines[rng() % lines.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const std::size_t pos = rng() % line.size();
      switch (rng() % 4) {
        case 0: line[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: line.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: line.erase(pos, 1 + rng() % 8); break;
        default: line.insert(pos, line.substr(pos, rng() % 16)); break;
      }
    }
    auto r = command_from_line(line, 1, net, signature_form::signed_form);
    if (!r) {
      EXPECT_FALSE(r.error().to_string().empty());
      continue;
    }
    ++parsed;
    const auto again = command_to_line(*r, net, signature_form::signed_form);
    auto r2 = command_from_line(again, 1, net, signature_form::signed_form);
    ASSERT_TRUE(r2.has_value()) << again;
    EXPECT_EQ(ledger::encode(*r2), ledger::encode(*r));
  }
  std::cout << "[ info ] " << parsed << " of 4000 mutated lines still parsed\n";
}

// Property: any field values of the right types round-trip exactly.
RC_GTEST_PROP(CommandJsonProperty, MeterReadingAndTransferRoundTrip, ()) {
  const auto int_field = *rc::gen::inRange<int64_t>(0, INT64_MAX);
  const auto u64_field = *rc::gen::arbitrary<uint64_t>();
  const auto key_bytes = *rc::gen::container<std::array<uint8_t, 32>>(rc::gen::arbitrary<uint8_t>());
  const auto to_bytes = *rc::gen::container<std::array<uint8_t, 20>>(rc::gen::arbitrary<uint8_t>());
  const auto sig_bytes = *rc::gen::container<std::array<uint8_t, 64>>(rc::gen::arbitrary<uint8_t>());
  const auto which = *rc::gen::inRange(0, 3);
  const auto n = *rc::gen::element(crypto::network::regtest, crypto::network::testnet, crypto::network::mainnet);
  ledger::command cmd;
  if (which == 0) {
    cmd.body = ledger::meter_reading{crypto::ed25519_public_key{key_bytes}, u64_field, int_field, int_field / 3, int_field / 7};
  } else if (which == 1) {
    cmd.body = ledger::transfer{secp_key(std::to_string(u64_field % 5)).public_key(), u64_field, to_bytes,
                                int_field % 2 ? ledger::asset::tsl : ledger::asset::watt, int_field};
  } else {
    cmd.body = ledger::storage_report{crypto::ed25519_public_key{key_bytes}, u64_field, u64_field / 3, int_field};
  }
  cmd.signature = sig_bytes;
  const auto line = command_to_line(cmd, n, signature_form::signed_form);
  auto back = command_from_line(line, 1, n, signature_form::signed_form);
  RC_ASSERT(back.has_value());
  RC_ASSERT(ledger::encode(*back) == ledger::encode(cmd));
}

}  // namespace
}  // namespace energo::tools
