// The JSON-RPC client against an in-process HTTP server playing the node: auth (user/password
// and cookie), the node's errors verbatim, retries with backoff, timeouts, the response bound.
#include <gtest/gtest.h>

#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/qtum/chain_sync.hpp"
#include "net/qtum/rpc_client.hpp"

namespace energo::qtum {
namespace {

// A fake node on 127.0.0.1 with a handler per test.
class fake_node {
 public:
  using handler = std::function<void(const nlohmann::json& request, httplib::Response& res)>;
  explicit fake_node(std::string user, std::string password, handler h)
      : user_(std::move(user)), password_(std::move(password)), handler_(std::move(h)) {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      if (req.get_header_value("Authorization") != httplib::make_basic_authentication_header(user_, password_).second) {
        res.status = 401;  // Core answers bad credentials with an empty 401
        return;
      }
      handler_(nlohmann::json::parse(req.body), res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~fake_node() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] uint16_t port() const { return static_cast<uint16_t>(port_); }
  [[nodiscard]] int requests() const { return requests_; }
  void set_password(std::string p) { password_ = std::move(p); }

 private:
  std::string user_, password_;
  handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

void reply_result(httplib::Response& res, const nlohmann::json& id, const nlohmann::json& result) {
  res.set_content(nlohmann::json{{"result", result}, {"error", nullptr}, {"id", id}}.dump(), "application/json");
}
void reply_error(httplib::Response& res, const nlohmann::json& id, int code, const std::string& message, int status) {
  res.status = status;
  res.set_content(nlohmann::json{{"result", nullptr}, {"error", {{"code", code}, {"message", message}}}, {"id", id}}.dump(),
                  "application/json");
}

rpc_config config_for(uint16_t port) {
  rpc_config c;
  c.port = port;
  c.user = "alice";
  c.password = "secret";
  c.connect_timeout_ms = 500;
  c.read_timeout_ms = 2000;
  c.attempts_max = 4;
  c.backoff_initial_ms = 10;
  c.backoff_max_ms = 40;
  return c;
}

TEST(qtum_rpc, basic_auth_request_shape_and_typed_result) {
  fake_node node("alice", "secret", [](const nlohmann::json& req, httplib::Response& res) {
    EXPECT_EQ(req["jsonrpc"], "1.0");
    EXPECT_EQ(req["method"], "getblockcount");
    EXPECT_TRUE(req["params"].is_array());
    reply_result(res, req["id"], 1234);
  });
  rpc_client rpc(config_for(node.port()));
  const auto count = rpc.get_block_count();
  ASSERT_TRUE(count.has_value()) << count.error().message;
  EXPECT_EQ(*count, 1234u);
  EXPECT_EQ(rpc.last_attempts(), 1u);
}

TEST(qtum_rpc, wrong_credentials_fail_at_once_with_auth_error) {
  fake_node node("alice", "secret", [](const nlohmann::json& req, httplib::Response& res) { reply_result(res, req["id"], 1); });
  rpc_config c = config_for(node.port());
  c.password = "wrong";
  rpc_client rpc(c);
  const auto r = rpc.get_block_count();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error_code::auth);
  EXPECT_EQ(r.error().http_status, 401);
  EXPECT_EQ(node.requests(), 1);  // not retried
}

TEST(qtum_rpc, node_error_is_returned_verbatim_and_not_retried) {
  fake_node node("alice", "secret", [](const nlohmann::json& req, httplib::Response& res) {
    reply_error(res, req["id"], -26, "min relay fee not met, 281 < 112400", 500);
  });
  rpc_client rpc(config_for(node.port()));
  const auto r = rpc.send_raw_transaction(bytes{1, 2, 3});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error_code::rpc);
  EXPECT_EQ(r.error().rpc_code, -26);
  EXPECT_EQ(r.error().message, "min relay fee not met, 281 < 112400");
  EXPECT_EQ(node.requests(), 1);
}

TEST(qtum_rpc, warmup_is_retried_with_backoff) {
  std::atomic<int> calls{0};
  fake_node node("alice", "secret", [&](const nlohmann::json& req, httplib::Response& res) {
    if (++calls <= 2) return reply_error(res, req["id"], -28, "Loading block index...", 500);
    reply_result(res, req["id"], 7);
  });
  rpc_client rpc(config_for(node.port()));
  const auto start = std::chrono::steady_clock::now();
  const auto r = rpc.get_block_count();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(rpc.last_attempts(), 3u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(10 + 20));  // backoff slept
}

TEST(qtum_rpc, unreachable_node_is_retried_a_bounded_number_of_times) {
  // A port that was free a moment ago and has no listener (httplib's bind_to_any_port would
  // leave a listening socket behind).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const uint16_t port = ntohs(addr.sin_port);
  rpc_client rpc(config_for(port));
  const auto start = std::chrono::steady_clock::now();
  const auto r = rpc.get_block_count();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error_code::transport);
  EXPECT_EQ(rpc.last_attempts(), 4u);
  EXPECT_NE(r.error().message.find("after 4 attempts"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(qtum_rpc, read_timeout_is_a_transport_error) {
  fake_node node("alice", "secret", [](const nlohmann::json& req, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    reply_result(res, req["id"], 1);
  });
  rpc_config c = config_for(node.port());
  c.read_timeout_ms = 200;
  c.attempts_max = 1;
  rpc_client rpc(c);
  const auto r = rpc.get_block_count();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error_code::transport) << r.error().message;
}

TEST(qtum_rpc, response_above_the_bound_is_refused) {
  fake_node node("alice", "secret", [](const nlohmann::json& req, httplib::Response& res) {
    reply_result(res, req["id"], std::string(300'000, 'x'));
  });
  rpc_config c = config_for(node.port());
  c.response_bytes_max = 100'000;
  rpc_client rpc(c);
  const auto r = rpc.call("getblock");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error_code::response_too_large);
  EXPECT_EQ(node.requests(), 1);
}

TEST(qtum_rpc, cookie_file_is_read_on_every_attempt) {
  const auto dir = std::filesystem::temp_directory_path() / ("energo_qtum_cookie_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto cookie = dir / ".cookie";
  fake_node node("__cookie__", "first", [](const nlohmann::json& req, httplib::Response& res) { reply_result(res, req["id"], 5); });
  rpc_config c = config_for(node.port());
  c.user.clear();
  c.password.clear();
  c.cookie_file = cookie.string();
  c.attempts_max = 2;
  rpc_client rpc(c);
  auto r = rpc.get_block_count();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error_code::config);  // no cookie yet: retried, then reported
  EXPECT_NE(r.error().message.find(".cookie"), std::string::npos);
  std::ofstream(cookie) << "__cookie__:first";
  r = rpc.get_block_count();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // The node restarts with a new cookie: the client picks it up without being rebuilt.
  node.set_password("second");
  std::ofstream(cookie) << "__cookie__:second";
  r = rpc.get_block_count();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  std::filesystem::remove_all(dir);
}

TEST(qtum_rpc, typed_wrappers_parse_node_answers) {
  const std::string hash_hex = "00000000000000000000000000000000000000000000000000000000000000ff";
  const std::string prev_hex = "00000000000000000000000000000000000000000000000000000000000000fe";
  const std::string tx_hex = "aa00000000000000000000000000000000000000000000000000000000000001";
  fake_node node("alice", "secret", [&](const nlohmann::json& req, httplib::Response& res) {
    const std::string m = req["method"];
    if (m == "getblockhash") return reply_result(res, req["id"], hash_hex);
    if (m == "getblock") {
      return reply_result(res, req["id"],
                          {{"hash", hash_hex}, {"height", 9}, {"previousblockhash", prev_hex}, {"tx", {tx_hex}}});
    }
    if (m == "testmempoolaccept") {
      return reply_result(res, req["id"],
                          nlohmann::json::array({{{"txid", tx_hex}, {"allowed", false}, {"reject-reason", "dust"}}}));
    }
    if (m == "scantxoutset") {
      return reply_result(res, req["id"],
                          {{"success", true}, {"height", 120}, {"unspents", {{{"txid", tx_hex}, {"vout", 1},
                           {"scriptPubKey", "76a914000000000000000000000000000000000000000088ac"},
                           {"amount", 0.1}, {"height", 101}}}}});
    }
    reply_error(res, req["id"], -32601, "Method not found", 404);
  });
  rpc_client rpc(config_for(node.port()));
  const auto h = rpc.get_block_hash(9);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(txid_hex(*h), hash_hex);
  const auto b = rpc.get_block(*h);
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ(b->height, 9u);
  EXPECT_EQ(txid_hex(b->prev_hash), prev_hex);
  ASSERT_EQ(b->txids.size(), 1u);
  EXPECT_EQ(txid_hex(b->txids[0]), tx_hex);
  const auto v = rpc.test_mempool_accept(bytes{1});
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->allowed);
  EXPECT_EQ(v->reject_reason, "dust");
  const auto s = rpc.scan_tx_out_set("addr(x)");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->height, 120u);
  ASSERT_EQ(s->coins.size(), 1u);
  EXPECT_EQ(s->coins[0].value_sat, 10'000'000);
  EXPECT_EQ(s->coins[0].point.index, 1u);
  const auto unknown = rpc.call("nosuchmethod");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().rpc_code, -32601);
  EXPECT_EQ(unknown.error().message, "Method not found");
}

TEST(qtum_rpc, amounts_convert_exactly_or_not_at_all) {
  EXPECT_EQ(amount_to_sat(nlohmann::json(50.0)), 5'000'000'000);
  EXPECT_EQ(amount_to_sat(nlohmann::json(0.00000001)), 1);
  EXPECT_EQ(amount_to_sat(nlohmann::json(0.1)), 10'000'000);
  EXPECT_EQ(amount_to_sat(nlohmann::json(12.34567891)), 1'234'567'891);
  EXPECT_EQ(amount_to_sat(nlohmann::json(3)), 300'000'000);
  EXPECT_FALSE(amount_to_sat(nlohmann::json(0.000000001)).has_value());
  EXPECT_FALSE(amount_to_sat(nlohmann::json(-1.0)).has_value());
  EXPECT_FALSE(amount_to_sat(nlohmann::json("1.0")).has_value());
  EXPECT_FALSE(amount_to_sat(nlohmann::json(1e12)).has_value());
}

// The pure reply parser (parse_rpc_reply) on answers no well-behaved node sends; the fuzz target
// tests/fuzz/fuzz_qtum_rpc.cpp explores the rest.
TEST(qtum_rpc_reply, nesting_beyond_the_bound_is_a_bad_response_not_a_stack_overflow) {
  // Without the bound the error's text was nlohmann's recursive dump() of a million levels.
  const std::size_t depth = 1'000'000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  auto err = parse_rpc_reply(500, R"({"error":)" + deep + "}");
  ASSERT_FALSE(err.result);
  EXPECT_EQ(err.result.error().code, error_code::http);  // not read as a JSON-RPC error
  EXPECT_LT(err.result.error().message.size(), 300u);
  EXPECT_FALSE(err.retryable);
  auto ok = parse_rpc_reply(200, R"({"result":)" + deep + "}");
  ASSERT_FALSE(ok.result);
  EXPECT_EQ(ok.result.error().code, error_code::bad_response);
  EXPECT_NE(ok.result.error().message.find("deeper than 64"), std::string::npos) << ok.result.error().message;
  // At the bound it parses; brackets inside strings do not count.
  const std::string at_bound = std::string(63, '[') + std::string(63, ']');
  auto fine = parse_rpc_reply(200, R"({"result":)" + at_bound + R"(,"note":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})");
  ASSERT_TRUE(fine.result) << fine.result.error().message;
  EXPECT_TRUE(fine.result->is_array());
}

TEST(qtum_rpc_reply, error_code_outside_int_is_no_code_and_not_retried) {
  // 2^32 - 28 used to narrow to -28 (RPC_IN_WARMUP) and be retried.
  auto r = parse_rpc_reply(500, R"({"result":null,"error":{"code":4294967268,"message":"odd"},"id":1})");
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, error_code::rpc);
  EXPECT_EQ(r.result.error().rpc_code, 0);
  EXPECT_FALSE(r.retryable);
  auto warm = parse_rpc_reply(500, R"({"result":null,"error":{"code":-28,"message":"Loading"},"id":1})");
  ASSERT_FALSE(warm.result);
  EXPECT_EQ(warm.result.error().rpc_code, rpc_in_warmup);
  EXPECT_TRUE(warm.retryable);
  EXPECT_EQ(warm.result.error().message, "Loading");
}

TEST(qtum_rpc_reply, status_and_body_mapping) {
  EXPECT_EQ(parse_rpc_reply(401, "").result.error().code, error_code::auth);
  auto busy = parse_rpc_reply(503, "Work queue depth exceeded");
  EXPECT_EQ(busy.result.error().code, error_code::http);
  EXPECT_TRUE(busy.retryable);
  EXPECT_EQ(parse_rpc_reply(200, "not json").result.error().code, error_code::bad_response);
  EXPECT_EQ(parse_rpc_reply(200, R"({"id":1})").result.error().code, error_code::bad_response);
  auto ok = parse_rpc_reply(200, R"({"result":7,"error":null,"id":1})");
  ASSERT_TRUE(ok.result);
  EXPECT_EQ(*parse_block_count(*ok.result), 7u);
}

}  // namespace
}  // namespace energo::qtum

// getmempoolinfo as Bitcoin Core 0.21 / Qtum print it (decimal coins per kvB): the larger of the
// two minimums, in sat/kvB, exact; anything else is a bad response (docs/node.md "Stuck anchors").
TEST(qtum_fee_bump, the_node_minimum_fee_rate_and_fee_refusals) {
  using energo::qtum::parse_min_fee_rate;
  const auto info = [](const char* text) { return nlohmann::json::parse(text); };
  EXPECT_EQ(parse_min_fee_rate(info(R"({"mempoolminfee":0.00400000,"minrelaytxfee":0.00400000})")).value(), 400'000);
  EXPECT_EQ(parse_min_fee_rate(info(R"({"mempoolminfee":0.01234567,"minrelaytxfee":0.008})")).value(), 1'234'567);
  EXPECT_EQ(parse_min_fee_rate(info(R"({"mempoolminfee":0.00001,"minrelaytxfee":0.00001})")).value(), 1'000);
  EXPECT_EQ(parse_min_fee_rate(info(R"({"mempoolminfee":0,"minrelaytxfee":0.00000001})")).value(), 1);
  EXPECT_FALSE(parse_min_fee_rate(info(R"({"mempoolminfee":0.004})")));
  EXPECT_FALSE(parse_min_fee_rate(info(R"({"mempoolminfee":"0.004","minrelaytxfee":0.004})")));
  EXPECT_FALSE(parse_min_fee_rate(info(R"({"mempoolminfee":-0.004,"minrelaytxfee":0.004})")));
  EXPECT_FALSE(parse_min_fee_rate(info(R"({"mempoolminfee":2,"minrelaytxfee":0.004})")));
  EXPECT_FALSE(parse_min_fee_rate(info(R"([1,2])")));
  using energo::qtum::is_fee_refusal;
  EXPECT_TRUE(is_fee_refusal("min relay fee not met"));
  EXPECT_TRUE(is_fee_refusal("mempool min fee not met"));
  EXPECT_TRUE(is_fee_refusal("insufficient fee"));
  EXPECT_FALSE(is_fee_refusal("missing-inputs"));
  EXPECT_FALSE(is_fee_refusal("txn-mempool-conflict"));
  EXPECT_FALSE(is_fee_refusal("dust"));
}
