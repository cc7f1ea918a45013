// The ledger command decoder (ledger/commands.hpp decode()). Contract: decode() either refuses
// or yields a command whose canonical encoding is exactly the input (one byte string per
// command: the log and its hashes cannot be malleated) and that decodes to the same again.
// verify() must not crash on whatever keys and signatures decoded.
#include "ledger/commands.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const fuzz::byte_span input(data, size);
  auto cmd = ledger::decode(input);
  if (!cmd) return 0;
  const auto encoded = ledger::encode(*cmd);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
  auto again = ledger::decode(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(ledger::encode(*again) == encoded);
  FUZZ_CHECK(!ledger::command_name(cmd->body).empty());
  (void)ledger::verify(*cmd, crypto::hash256{});
  return 0;
}
