#pragma once
// Helpers shared by the query files (actors/query*.cpp): strict parameter reading, address text,
// answers. Not a public interface.
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>

#include "actors/query.hpp"

namespace energo::actors::query_detail {

using json = nlohmann::json;

// A query's failure: a stable client code and a reason a person can act on.
struct query_error {
  net::client_errc code = net::client_errc::malformed;
  std::string message;
};

// Reads a query's parameter object; remembers the first problem. Unknown keys are refused.
class params_reader {
 public:
  params_reader(const json& params, std::initializer_list<std::string_view> known);
  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  // A P2PKH address of the community's network (or a pool name); nullopt when absent or bad
  // (bad: error() set; absent: error() set only if required).
  std::optional<ledger::account_address> address(const ledger::ledger& l, std::string_view key, bool required);
  // An unsigned integer in [min, max]; `fallback` when absent.
  uint64_t count(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max);
  std::optional<uint64_t> optional_count(std::string_view key, uint64_t min, uint64_t max);
  bool flag(std::string_view key, bool fallback);
  std::optional<std::string> text(std::string_view key, bool required, std::size_t chars_max);

 private:
  void fail(std::string why);
  const json& params_;
  std::string error_;
};

// Qtum base58 text of an account address, or the pool names.
[[nodiscard]] std::string address_text(const ledger::ledger& l, const ledger::account_address& a);
[[nodiscard]] std::string address_text_of(const ledger::ledger& l, ledger::account_index i);
[[nodiscard]] std::string_view side_text(market::side s);

[[nodiscard]] query_answer fail(net::client_errc code, std::string why);
[[nodiscard]] query_answer answer(const query_context& ctx, json body);

// The query functions, one per name (query.cpp dispatches).
query_answer summary_query(const query_context& ctx, const json& params);
query_answer params_query(const query_context& ctx, const json& params);
query_answer account_query(const query_context& ctx, const json& params);
query_answer nonce_query(const query_context& ctx, const json& params);
query_answer agent_query(const query_context& ctx, const json& params);
query_answer ev_sessions_query(const query_context& ctx, const json& params);
query_answer storage_units_query(const query_context& ctx, const json& params);
query_answer stations_query(const query_context& ctx, const json& params);
query_answer book_query(const query_context& ctx, const json& params);
query_answer orders_query(const query_context& ctx, const json& params);
query_answer trades_query(const query_context& ctx, const json& params);
query_answer epochs_query(const query_context& ctx, const json& params);
query_answer account_history_query(const query_context& ctx, const json& params);
query_answer analytics_query(const query_context& ctx, const json& params);
query_answer statement_query(const query_context& ctx, const json& params);

}  // namespace energo::actors::query_detail
