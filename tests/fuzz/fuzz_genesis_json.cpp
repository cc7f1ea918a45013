// The genesis JSON reader (tools/command_json.hpp genesis_from_text) and ledger::create on what
// it accepts. Contract: no exception escapes and nothing aborts; an accepted genesis prints to
// JSON that reads back to the same genesis hash; a ledger created from it passes its invariants.
#include "tools/command_json.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(fuzz::byte_span(data, size));
  auto g = tools::genesis_from_text(text);
  if (!g) {
    (void)g.error().to_string();
    return 0;
  }
  const auto printed = tools::dump_compact(tools::genesis_to_json(*g));
  auto again = tools::genesis_from_text(printed);
  if (!again) std::fprintf(stderr, "re-read failed: %s\n", again.error().to_string().c_str());
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->hash() == g->hash());
  auto l = ledger::ledger::create(*g);
  if (!l) return 0;
  const auto problems = l->check_invariants();
  for (const auto& p : problems) std::fprintf(stderr, "invariant: %s\n", p.c_str());
  FUZZ_CHECK(problems.empty());
  return 0;
}
