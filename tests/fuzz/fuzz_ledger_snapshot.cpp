// Ledger snapshot restore (ledger::ledger::restore). The input is the snapshot body: the target
// appends its SHA-256 so that the fuzzer explores the decoder rather than the checksum (the
// check itself is one comparison). Contract: restore() refuses or yields a ledger that passes
// check_invariants() and whose own snapshot restores to the same snapshot and state root.
#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  const auto checksum = crypto::sha256(bytes);
  bytes.insert(bytes.end(), checksum.begin(), checksum.end());

  auto restored = ledger::ledger::restore(bytes);
  if (!restored) return 0;
  const auto problems = restored->check_invariants();
  if (!problems.empty()) {
    std::fprintf(stderr, "restored ledger breaks invariants:\n");
    for (const auto& p : problems) std::fprintf(stderr, "  %s\n", p.c_str());
    FUZZ_CHECK(problems.empty());
  }
  const auto snap = restored->snapshot();
  auto again = ledger::ledger::restore(snap);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->snapshot() == snap);
  FUZZ_CHECK(again->state_root() == restored->state_root());
  return 0;
}
