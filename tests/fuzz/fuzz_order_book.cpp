// Order book restore (market::order_book::deserialize). Contract: refuses, or yields a book whose
// structural invariants hold and whose serialize() deserializes to the same bytes again.
#include "ledger/market/order_book.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto book = market::order_book::deserialize(fuzz::byte_span(data, size));
  if (!book) return 0;
  const auto problem = book->check_invariants();
  if (!problem.empty()) {
    std::fprintf(stderr, "deserialized book breaks invariants: %s\n", problem.c_str());
    FUZZ_CHECK(problem.empty());
  }
  const auto bytes = book->serialize();
  auto again = market::order_book::deserialize(bytes);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->serialize() == bytes);
  FUZZ_CHECK(again->digest() == book->digest());
  return 0;
}
