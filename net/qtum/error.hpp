#pragma once
// Errors of the Qtum anchoring code: a stable code plus a message a person can act on. Node
// errors carry the node's own code and text verbatim (SPEC §7: refusals are reported as the node
// gave them).
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace energo::qtum {

enum class error_code : uint8_t {
  malformed_transaction,  // bytes that do not decode as a transaction
  malformed_payload,      // OP_RETURN data that is not an Energo anchor
  invalid_argument,       // a caller's input out of range (index, params)
  insufficient_funds,     // spendable outputs do not cover the fee
  transport,              // connection refused, timeout, reset (retried)
  auth,                   // HTTP 401/403 from the node
  http,                   // any other non-200 status without a JSON-RPC error body
  rpc,                    // the node answered with a JSON-RPC error: rpc_code + its message
  rejected,               // testmempoolaccept refused the transaction: message = reject-reason
  bad_response,           // the node's answer is not what the method documents
  response_too_large,     // body above rpc_config::response_bytes_max
  config,                 // unreadable cookie file, bad host/port
  chain,                  // tracker: a block that does not extend the tip
};

[[nodiscard]] const char* to_string(error_code code);

struct qtum_error {
  error_code code = error_code::invalid_argument;
  std::string message;
  int rpc_code = 0;     // JSON-RPC error code from the node (error_code::rpc), else 0
  int http_status = 0;  // HTTP status when one was received, else 0
};

template <class T>
using qtum_result = result<T, qtum_error>;

inline unexpected<qtum_error> make_error(error_code code, std::string message) {
  return unexpected<qtum_error>{qtum_error{code, std::move(message), 0, 0}};
}

}  // namespace energo::qtum
