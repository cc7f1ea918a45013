// The JSON command reader of the tools and the HTTP gateway (tools/command_json.hpp
// command_from_line, parse_json). Input: [selector][one line of text]; the selector picks the
// network (mainnet/testnet/regtest) and the signature form. Contract: no exception escapes and
// nothing aborts; an accepted command prints to a line that reads back to the same command
// (same canonical binary encoding); an error always names a code.
#include "tools/command_json.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t selector = in.u8();
  const auto net = static_cast<crypto::network>(selector % 3);
  const auto form = (selector & 0x80) ? tools::signature_form::unsigned_form : tools::signature_form::signed_form;
  const auto text = fuzz::as_text(in.rest());

  auto doc = tools::parse_json(text, tools::json_line_bytes_max);
  if (doc) (void)tools::dump_compact(*doc);

  auto cmd = tools::command_from_line(text, 7, net, form);
  if (!cmd) {
    FUZZ_CHECK(cmd.error().line == 7);
    FUZZ_CHECK(!tools::json_errc_name(cmd.error().code).empty());
    (void)cmd.error().to_string();
    return 0;
  }
  FUZZ_CHECK(doc.has_value());  // a command is a JSON document
  const auto line = tools::command_to_line(*cmd, net, form);
  auto again = tools::command_from_line(line, 1, net, form);
  if (!again) std::fprintf(stderr, "re-read failed: %s\nline: %s\n", again.error().to_string().c_str(), line.c_str());
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(ledger::encode(*again) == ledger::encode(*cmd));
  FUZZ_CHECK(tools::command_to_line(*again, net, form) == line);
  return 0;
}
