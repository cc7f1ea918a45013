#pragma once
// Named reads answered as JSON: the one place where the node turns replicated state into answers
// for energoctl (client port, `query` request) and the HTTP gateway. A query is a pure function
// of the replica's state at its applied index: no clock, no I/O, so the same state gives the same
// answer on every replica.
//
// Names (docs/node.md "Queries"); parameters are one JSON object:
//   account  {"address": "<base58 P2PKH of the genesis network>"}  balances, nonce, debt, lifetime
//                                                                   counters of one account
//   summary  {}                                                      ledger time, epoch, totals
// Unknown names fail with not_supported; bad parameters with malformed. Each answer carries
// "applied_index", the index it was read at.
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/ledger.hpp"
#include "net/wire.hpp"

namespace energo::actors {

struct query_context {
  const ledger::ledger& ledger;
  uint64_t applied_index = 0;
};

struct query_answer {
  bool ok = false;
  net::client_errc code = net::client_errc::internal;  // when !ok
  std::string text;                                    // ok: a JSON object; else the reason
};

[[nodiscard]] query_answer run_query(const query_context& ctx, std::string_view name, std::string_view params_json);

}  // namespace energo::actors
