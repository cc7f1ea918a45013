#pragma once
// Named reads answered as JSON: the one place where the node turns replicated state into answers
// for energoctl (client port, `query` request) and the HTTP gateway (every name here is served by
// its generic route). A query is a pure function of the replica's state at its applied index (the
// ledger and the analytics index, actors/analytics.hpp): no clock, no I/O, so the same state gives
// the same answer on every replica.
//
// Names and parameters: docs/node.md "Queries" (one JSON object of parameters each; unknown
// parameters are refused, so a typo never silently reads something else):
//   summary, params, account, nonce, account_history, book, orders, trades, epochs, agent,
//   ev_sessions, storage_units, stations, analytics, statement
// Unknown names fail with not_supported; bad parameters with malformed; an unknown account with
// not_found where the query is about one account's records. Each answer carries "applied_index".
// Every list is bounded by a named limit below; integers only (TSL base units, Wh, ms).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.hpp"
#include "net/wire.hpp"

namespace energo::actors {

class analytics_index;

namespace limits {
inline constexpr uint32_t query_book_levels_max = 1000;       // = market depth_levels_max
inline constexpr uint32_t query_book_levels_default = 20;
inline constexpr uint32_t query_trades_max = 1024;            // = the book's trade ring
inline constexpr uint32_t query_trades_default = 50;
inline constexpr uint32_t query_epochs_max = 672;             // = the book's epoch ring (a week)
inline constexpr uint32_t query_epochs_default = 96;          // a day
inline constexpr uint32_t query_sessions_max = 1024;          // = ledger::limits::ev_closed_sessions_kept
inline constexpr uint32_t query_sessions_default = 50;
inline constexpr uint32_t query_list_max = 1000;              // storage units, stations per answer
inline constexpr uint32_t query_days_max = 400;               // analytics / statement span
inline constexpr uint32_t query_analytics_epochs_max = 96;    // per-epoch analytics: a day
}  // namespace limits

struct query_context {
  const ledger::ledger& ledger;
  uint64_t applied_index = 0;
  // Needed only for "proof": ledger::prove() refreshes the derived Merkle cache (deterministic, not
  // part of the state). Without it a proof request fails with not_supported.
  ledger::ledger* provable = nullptr;
  // Per-member figures per epoch and day; without it analytics/statement fail with not_supported.
  const analytics_index* analytics = nullptr;
};

struct query_answer {
  bool ok = false;
  net::client_errc code = net::client_errc::internal;  // when !ok
  std::string text;                                    // ok: a JSON object; else the reason
};

[[nodiscard]] query_answer run_query(const query_context& ctx, std::string_view name, std::string_view params_json);

// The query names run_query knows, sorted (for help texts and the HTTP gateway's index).
[[nodiscard]] const std::vector<std::string_view>& query_names();

}  // namespace energo::actors
