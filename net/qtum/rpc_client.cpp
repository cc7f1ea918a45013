#include "net/qtum/rpc_client.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <thread>

#include "crypto/bytes.hpp"

namespace energo::qtum {

struct rpc_client::attempt_outcome {
  bool retryable = false;
  qtum_result<nlohmann::json> result = make_error(error_code::transport, "not attempted");
};

namespace {

qtum_error error_of(error_code code, std::string message, int http_status = 0, int rpc_code = 0) {
  return qtum_error{code, std::move(message), rpc_code, http_status};
}

// Reads "user:password" from the cookie file; nullopt if it is missing or malformed (a node
// that is (re)starting has no cookie yet: the caller retries).
std::optional<std::pair<std::string, std::string>> read_cookie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(limits::cookie_bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limits::cookie_bytes_max) return std::nullopt;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return std::pair{text.substr(0, colon), text.substr(colon + 1)};
}

template <class T>
qtum_result<T> bad_response(const std::string& method, const std::string& what) {
  return unexpected<qtum_error>{error_of(error_code::bad_response, method + ": unexpected answer: " + what)};
}

std::optional<crypto::hash256> hash_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
  return parse_txid_hex(j[key].get<std::string>());
}

}  // namespace

std::optional<int64_t> amount_to_sat(const nlohmann::json& amount) {
  if (!amount.is_number()) return std::nullopt;
  if (amount.is_number_integer()) {
    const auto coins = amount.get<int64_t>();
    if (coins < 0 || coins > (int64_t{1} << 53) / 100'000'000) return std::nullopt;
    return coins * 100'000'000;
  }
  const double coins = amount.get<double>();
  if (!(coins >= 0)) return std::nullopt;
  const double sat = coins * 1e8;
  if (sat >= 9007199254740992.0) return std::nullopt;  // 2^53: beyond exact doubles
  const double rounded = std::nearbyint(sat);
  if (std::fabs(sat - rounded) > 1e-3 * std::max(1.0, std::fabs(sat) * 1e-12)) return std::nullopt;
  return static_cast<int64_t>(rounded);
}

rpc_client::rpc_client(rpc_config config) : config_(std::move(config)) {
  config_.attempts_max = std::clamp<uint32_t>(config_.attempts_max, 1, limits::rpc_attempts_max);
  config_.backoff_max_ms = std::min(config_.backoff_max_ms, limits::rpc_backoff_ms_max);
  config_.response_bytes_max = std::min(config_.response_bytes_max, limits::rpc_response_bytes_max);
}

rpc_client::attempt_outcome rpc_client::attempt(const std::string& body, const std::string& user,
                                                const std::string& password) {
  attempt_outcome out;
  httplib::Client cli(config_.host, config_.port);
  cli.set_connection_timeout(std::chrono::milliseconds(config_.connect_timeout_ms));
  cli.set_read_timeout(std::chrono::milliseconds(config_.read_timeout_ms));
  cli.set_write_timeout(std::chrono::milliseconds(config_.read_timeout_ms));
  cli.set_keep_alive(false);
  cli.set_basic_auth(user, password);

  httplib::Request req;
  req.method = "POST";
  req.path = "/";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  std::string response_body;
  bool too_large = false;
  req.content_receiver = [&](const char* data, std::size_t len, uint64_t, uint64_t) {
    if (response_body.size() + len > config_.response_bytes_max) {
      too_large = true;
      return false;
    }
    response_body.append(data, len);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = cli.send(req, res, err);
  if (too_large) {
    out.result = unexpected<qtum_error>{error_of(
        error_code::response_too_large,
        "node response above " + std::to_string(config_.response_bytes_max) + " bytes (response_bytes_max)")};
    return out;
  }
  if (!sent) {
    out.retryable = true;
    out.result = unexpected<qtum_error>{
        error_of(error_code::transport, "cannot reach node at " + config_.host + ":" + std::to_string(config_.port) +
                                            ": " + httplib::to_string(err))};
    return out;
  }
  rpc_reply reply = parse_rpc_reply(res.status, response_body);
  out.retryable = reply.retryable;
  if (!reply.result && reply.result.error().code == error_code::auth && !config_.cookie_file.empty()) {
    qtum_error e = reply.result.error();
    e.message += " " + config_.cookie_file;
    reply.result = unexpected<qtum_error>{std::move(e)};
  }
  out.result = std::move(reply.result);
  return out;
}

namespace {

// Deepest array/object nesting of a JSON text, stopping at `max` + 1; strings are skipped so
// brackets inside them do not count. A text that is not JSON is left to the parser.
std::size_t json_depth(std::string_view text, std::size_t max) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > max) break;
    } else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

std::string dump_of(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// A JSON-RPC error code as Core sends it (an int); anything else is 0 ("no code").
int rpc_code_of(const nlohmann::json& e) {
  if (!e.is_object() || !e.contains("code")) return 0;
  const auto& c = e["code"];
  if (c.is_number_unsigned()) return c.get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX) ? static_cast<int>(c.get<uint64_t>()) : 0;
  if (!c.is_number_integer()) return 0;
  const int64_t v = c.get<int64_t>();
  return v >= INT32_MIN && v <= INT32_MAX ? static_cast<int>(v) : 0;
}

}  // namespace

rpc_reply parse_rpc_reply(int http_status, std::string_view body) {
  rpc_reply out;
  nlohmann::json reply;  // discarded (not JSON, or nested beyond rpc_json_depth_max) unless parsed
  if (json_depth(body, limits::rpc_json_depth_max) <= limits::rpc_json_depth_max) {
    reply = nlohmann::json::parse(body, nullptr, false);
  } else {
    reply = nlohmann::json::value_t::discarded;
  }
  // A JSON-RPC error body wins over the status (Core answers errors with 500 or 404 + JSON).
  if (reply.is_object() && reply.contains("error") && !reply["error"].is_null()) {
    const auto& e = reply["error"];
    const int code = rpc_code_of(e);
    std::string message = e.is_object() && e.contains("message") && e["message"].is_string()
                              ? e["message"].get<std::string>()
                              : dump_of(e).substr(0, 200);
    out.retryable = code == rpc_in_warmup;
    out.result = unexpected<qtum_error>{error_of(error_code::rpc, std::move(message), http_status, code)};
    return out;
  }
  if (http_status == 401 || http_status == 403) {
    out.result = unexpected<qtum_error>{
        error_of(error_code::auth,
                 "node refused the credentials (HTTP " + std::to_string(http_status) +
                     "): check rpcuser/rpcpassword or the cookie file",
                 http_status)};
    return out;
  }
  if (http_status != 200) {
    out.retryable = http_status == 503;  // work queue full
    out.result = unexpected<qtum_error>{
        error_of(error_code::http,
                 "node answered HTTP " + std::to_string(http_status) + ": " + std::string(body.substr(0, 200)),
                 http_status)};
    return out;
  }
  if (!reply.is_object() || !reply.contains("result")) {
    const bool too_deep = reply.is_discarded() && !body.empty() &&
                          json_depth(body, limits::rpc_json_depth_max) > limits::rpc_json_depth_max;
    out.result = unexpected<qtum_error>{error_of(
        error_code::bad_response,
        too_deep ? "node reply nests deeper than " + std::to_string(limits::rpc_json_depth_max) + " levels"
                 : std::string("node reply is not a JSON-RPC response"),
        200)};
    return out;
  }
  out.result = std::move(reply["result"]);
  return out;
}

qtum_result<uint64_t> parse_block_count(const nlohmann::json& r) {
  if (!r.is_number_unsigned()) return bad_response<uint64_t>("getblockcount", dump_of(r).substr(0, 200));
  return r.get<uint64_t>();
}

qtum_result<crypto::hash256> parse_block_hash(const nlohmann::json& r) {
  const auto h = r.is_string() ? parse_txid_hex(r.get<std::string>()) : std::nullopt;
  if (!h) return bad_response<crypto::hash256>("getblockhash", dump_of(r).substr(0, 200));
  return *h;
}

qtum_result<block_info> parse_block(const nlohmann::json& j, const crypto::hash256& hash) {
  block_info b;
  const auto h = hash_field(j, "hash");
  if (!h || *h != hash || !j.contains("height") || !j["height"].is_number_unsigned() || !j.contains("tx") ||
      !j["tx"].is_array() || j["tx"].size() > limits::block_txids_max) {
    return bad_response<block_info>("getblock", "missing hash/height/tx");
  }
  b.hash = *h;
  b.height = j["height"].get<uint64_t>();
  if (j.contains("previousblockhash")) {
    const auto p = hash_field(j, "previousblockhash");
    if (!p) return bad_response<block_info>("getblock", "bad previousblockhash");
    b.prev_hash = *p;
  }
  b.txids.reserve(j["tx"].size());
  for (const auto& t : j["tx"]) {
    const auto id = t.is_string() ? parse_txid_hex(t.get<std::string>()) : std::nullopt;
    if (!id) return bad_response<block_info>("getblock", "bad txid in tx list");
    b.txids.push_back(*id);
  }
  return b;
}

qtum_result<bytes> parse_raw_transaction(const nlohmann::json& r) {
  auto raw = r.is_string() ? crypto::from_hex(r.get<std::string>()) : std::nullopt;
  if (!raw) return bad_response<bytes>("getrawtransaction", "not hex");
  return std::move(*raw);
}

qtum_result<mempool_verdict> parse_mempool_verdict(const nlohmann::json& r) {
  if (!r.is_array() || r.size() != 1 || !r[0].is_object() || !r[0].contains("allowed") || !r[0]["allowed"].is_boolean()) {
    return bad_response<mempool_verdict>("testmempoolaccept", dump_of(r).substr(0, 200));
  }
  const auto& v = r[0];
  mempool_verdict out;
  out.allowed = v["allowed"].get<bool>();
  if (v.contains("reject-reason") && v["reject-reason"].is_string()) out.reject_reason = v["reject-reason"].get<std::string>();
  return out;
}

qtum_result<txid_t> parse_sent_txid(const nlohmann::json& r) {
  const auto id = r.is_string() ? parse_txid_hex(r.get<std::string>()) : std::nullopt;
  if (!id) return bad_response<txid_t>("sendrawtransaction", dump_of(r).substr(0, 200));
  return *id;
}

qtum_result<scan_result> parse_scan(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("unspents") || !j["unspents"].is_array() || !j.contains("height") ||
      !j["height"].is_number_unsigned()) {
    return bad_response<scan_result>("scantxoutset", "missing unspents/height");
  }
  if (j["unspents"].size() > limits::scan_coins_max) {
    return bad_response<scan_result>("scantxoutset", "more than scan_coins_max outputs");
  }
  scan_result out;
  out.height = j["height"].get<uint64_t>();
  for (const auto& u : j["unspents"]) {
    utxo c;
    const auto id = hash_field(u, "txid");
    const auto value = u.is_object() && u.contains("amount") ? amount_to_sat(u["amount"]) : std::nullopt;
    auto script = u.is_object() && u.contains("scriptPubKey") && u["scriptPubKey"].is_string()
                      ? crypto::from_hex(u["scriptPubKey"].get<std::string>())
                      : std::nullopt;
    if (!id || !value || !script || !u.contains("vout") || !u["vout"].is_number_unsigned() ||
        u["vout"].get<uint64_t>() > UINT32_MAX || !u.contains("height") || !u["height"].is_number_unsigned()) {
      return bad_response<scan_result>("scantxoutset", "malformed unspent entry");
    }
    c.point = outpoint{*id, static_cast<uint32_t>(u["vout"].get<uint64_t>())};
    c.value_sat = *value;
    c.script_pubkey = std::move(*script);
    c.height = u["height"].get<uint64_t>();
    if (u.contains("coinbase") && u["coinbase"].is_boolean()) c.generated = u["coinbase"].get<bool>();
    out.coins.push_back(std::move(c));
  }
  return out;
}

qtum_result<nlohmann::json> rpc_client::call(const std::string& method, const nlohmann::json& params) {
  const nlohmann::json request = {{"jsonrpc", "1.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
  const std::string body = request.dump();
  uint32_t backoff_ms = config_.backoff_initial_ms;
  std::string last_cookie_password;
  qtum_result<nlohmann::json> last = make_error(error_code::transport, "no attempt made");
  for (uint32_t attempt_no = 1; attempt_no <= config_.attempts_max; ++attempt_no) {
    last_attempts_ = attempt_no;
    bool retryable = false;
    if (config_.user.empty() && !config_.cookie_file.empty()) {
      const auto cookie = read_cookie(config_.cookie_file);
      if (!cookie) {
        last = make_error(error_code::config, "cannot read the node's cookie file " + config_.cookie_file +
                                                  " (is the node running with this data directory?)");
        retryable = true;  // a starting node writes it shortly
      } else {
        const bool cookie_changed = cookie->second != last_cookie_password;
        last_cookie_password = cookie->second;
        auto out = attempt(body, cookie->first, cookie->second);
        last = std::move(out.result);
        // A 401 with a cookie we had not tried before may mean the node restarted between
        // reading the file and the request: one more try with the file re-read.
        retryable = out.retryable || (!last && last.error().code == error_code::auth && cookie_changed &&
                                      attempt_no == 1);
      }
    } else {
      auto out = attempt(body, config_.user, config_.password);
      last = std::move(out.result);
      retryable = out.retryable;
    }
    if (last || !retryable || attempt_no == config_.attempts_max) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(config_.backoff_max_ms, backoff_ms * 2);
  }
  if (!last && last.error().code != error_code::rpc) {  // the node's own text stays verbatim
    qtum_error e = last.error();
    e.message = method + ": " + e.message;
    if (last_attempts_ > 1) e.message += " (after " + std::to_string(last_attempts_) + " attempts)";
    return unexpected<qtum_error>{std::move(e)};
  }
  return last;
}

qtum_result<uint64_t> rpc_client::get_block_count() {
  auto r = call("getblockcount");
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_block_count(*r);
}

qtum_result<crypto::hash256> rpc_client::get_block_hash(uint64_t height) {
  auto r = call("getblockhash", nlohmann::json::array({height}));
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_block_hash(*r);
}

qtum_result<block_info> rpc_client::get_block(const crypto::hash256& hash) {
  auto r = call("getblock", nlohmann::json::array({txid_hex(hash), 1}));
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_block(*r, hash);
}

qtum_result<bytes> rpc_client::get_raw_transaction(const txid_t& txid, const std::optional<crypto::hash256>& block_hash) {
  nlohmann::json params = nlohmann::json::array({txid_hex(txid), false});
  if (block_hash) params.push_back(txid_hex(*block_hash));
  auto r = call("getrawtransaction", params);
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_raw_transaction(*r);
}

qtum_result<mempool_verdict> rpc_client::test_mempool_accept(const bytes& raw_tx) {
  auto r = call("testmempoolaccept", nlohmann::json::array({nlohmann::json::array({crypto::to_hex(raw_tx)})}));
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_mempool_verdict(*r);
}

qtum_result<txid_t> rpc_client::send_raw_transaction(const bytes& raw_tx) {
  auto r = call("sendrawtransaction", nlohmann::json::array({crypto::to_hex(raw_tx)}));
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_sent_txid(*r);
}

qtum_result<scan_result> rpc_client::scan_tx_out_set(const std::string& descriptor) {
  auto r = call("scantxoutset", nlohmann::json::array({"start", nlohmann::json::array({descriptor})}));
  if (!r) return unexpected<qtum_error>{r.error()};
  return parse_scan(*r);
}

}  // namespace energo::qtum
