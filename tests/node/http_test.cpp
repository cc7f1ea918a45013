// The HTTP gateway against ONE real energo-node process shared by every test here (issue 9 §2-3):
// JSON reads (generic query + aliases), signed writes and bad requests (oversized, malformed,
// unsigned, wrong signature → JSON error, nothing changed), /metrics parsed as Prometheus text,
// /livez, /readyz, the Server-Sent Events stream, the connection limit, and the dashboard in
// headless Chromium (skipped with a message when chromium is absent).
#include <httplib.h>

#include <future>
#include <regex>
#include <set>

#include "crypto/bytes.hpp"
#include "tests/node/cluster_fixture.hpp"
#include "tests/node/prometheus_text.hpp"

namespace {

using namespace energo;
using namespace energo::test_node;
using json = nlohmann::json;

constexpr int http_connections_max = 12;  // small, so the limit test needs few sockets

// One single-voter cluster with the HTTP gateway, started once for the whole suite.
struct shared_node {
  std::string root;
  node_proc n;
  uint16_t http_port = 0;
  crypto::hash256 genesis_hash{};
  std::optional<crypto::secp256k1_secret_key> coop;
  std::string coop_text, baker_text;
  ledger::account_address coop_address{}, baker_address{};
  crypto::network network = crypto::network::regtest;
  uint64_t next_nonce = 1;
};
shared_node* node_ = nullptr;

class http_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new shared_node;
    auto& s = *node_;
    char tmpl[] = "/tmp/energo-http-XXXXXX";
    s.root = ::mkdtemp(tmpl);
    s.n.name = "h1";
    s.n.dir = s.root + "/h1";
    s.n.peer_port = reserve_loopback_port();
    s.n.client_port = reserve_loopback_port();
    s.http_port = reserve_loopback_port();
    const auto j = json::parse(run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + s.n.dir));
    std::ofstream b(s.root + "/bootstrap.toml");
    b << "genesis = \"" << fs::absolute("examples/community/genesis.json").string() << "\"\n[[member]]\nname = \"h1\"\n"
      << "public_key = \"" << j.at("public_key").get<std::string>() << "\"\npeer = \"127.0.0.1:" << s.n.peer_port
      << "\"\nclient = \"127.0.0.1:" << s.n.client_port << "\"\n";
    b.close();
    auto g = tools::read_genesis_file("examples/community/genesis.json");
    ASSERT_TRUE(g);
    s.genesis_hash = g->hash();
    s.network = g->network;
    auto coop = tools::read_key_file("examples/community/keys/account-coop.json");
    auto baker = tools::read_key_file("examples/community/keys/account-baker.json");
    ASSERT_TRUE(coop && coop->secp256k1 && baker && baker->secp256k1);
    s.coop = *coop->secp256k1;
    s.coop_address = crypto::hash160_of(s.coop->public_key().bytes);
    s.baker_address = crypto::hash160_of(baker->secp256k1->public_key().bytes);
    s.coop_text = tools::address_to_text(s.coop_address, s.network);
    s.baker_text = tools::address_to_text(s.baker_address, s.network);
    const std::vector<std::string> args{ENERGO_NODE_BIN, "start", "--data", s.n.dir, "--name", "h1",
                                        "--peer-listen", "127.0.0.1:" + std::to_string(s.n.peer_port),
                                        "--client-listen", "127.0.0.1:" + std::to_string(s.n.client_port),
                                        "--http-listen", "127.0.0.1:" + std::to_string(s.http_port),
                                        "--http-connections-max", std::to_string(http_connections_max),
                                        "--bootstrap", s.root + "/bootstrap.toml", "--tick-ms", "20", "--no-clock"};
    s.n.pid = spawn_node(args, s.root + "/h1.log");
    // Ready = a leader (itself) and /readyz answers 200.
    const auto deadline = clock_type::now() + 20s;
    while (clock_type::now() < deadline) {
      httplib::Client c("127.0.0.1", s.http_port);
      c.set_connection_timeout(1);
      auto r = c.Get("/readyz");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(30ms);
    }
    FAIL() << "node not ready; log in " << s.root;
  }

  static void TearDownTestSuite() {
    auto& s = *node_;
    if (s.n.pid > 0) {
      const int st = tools::kill_and_wait(s.n.pid, SIGTERM);
      // A clean stop with the gateway running (open streams included) exits 0.
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "log in " << s.root;
    }
    if (!::testing::UnitTest::GetInstance()->Failed()) fs::remove_all(s.root);
    else std::fprintf(stderr, "http test: logs kept in %s\n", s.root.c_str());
    delete node_;
    node_ = nullptr;
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", node_->http_port);
    c.set_connection_timeout(2);
    c.set_read_timeout(15);
    return c;
  }

  struct answer {
    int status = 0;
    json body;
    std::string text;
    std::string content_type;
  };
  static answer get(const std::string& path) {
    auto c = client();
    auto r = c.Get(path.c_str());
    answer a;
    if (!r) return a;
    a.status = r->status;
    a.text = r->body;
    a.content_type = r->get_header_value("Content-Type");
    a.body = json::parse(r->body, nullptr, false);
    return a;
  }
  static answer post(const std::string& path, const std::string& body) {
    auto c = client();
    auto r = c.Post(path.c_str(), body, "application/json");
    answer a;
    if (!r) return a;
    a.status = r->status;
    a.text = r->body;
    a.body = json::parse(r->body, nullptr, false);
    return a;
  }
  static std::string error_code(const answer& a) {
    if (!a.body.is_object() || !a.body.contains("error")) return "<no error object: " + a.text + ">";
    return a.body["error"].value("code", "<no code>");
  }

  // A signed transfer coop → baker (amount_units TSL) with the next nonce.
  static ledger::command transfer_command(uint64_t nonce, int64_t amount = amount_units) {
    ledger::transfer t;
    t.from_key = node_->coop->public_key();
    t.nonce = nonce;
    t.to = node_->baker_address;
    t.what = ledger::asset::tsl;
    t.amount = amount;
    return ledger::sign_secp256k1(ledger::command_body{t}, *node_->coop, node_->genesis_hash);
  }
  static std::string signed_json(const ledger::command& cmd) {
    return tools::command_to_line(cmd, node_->network, tools::signature_form::signed_form);
  }

  // The account as the client port reports it (the oracle for the HTTP answers).
  static net::account_answer client_port_account(const ledger::account_address& a) {
    net::client_conn c;
    EXPECT_TRUE(c.connect({"127.0.0.1", node_->n.client_port}, 1000ms));
    net::client_request req;
    req.what = net::client_request::kind::account;
    req.account.address = a;
    auto r = c.call(req, 3000ms);
    EXPECT_TRUE(r && r->what == net::client_response::kind::account);
    return r ? r->account : net::account_answer{};
  }
  static net::node_status client_port_status() {
    net::client_conn c;
    EXPECT_TRUE(c.connect({"127.0.0.1", node_->n.client_port}, 1000ms));
    net::client_request req;
    req.what = net::client_request::kind::status;
    auto r = c.call(req, 3000ms);
    EXPECT_TRUE(r && r->what == net::client_response::kind::status);
    return r ? r->status : net::node_status{};
  }

  // Submits one accepted transfer through HTTP; returns its outcome.
  static json submit_ok() {
    const auto a = post("/api/v1/commands", signed_json(transfer_command(node_->next_nonce)));
    EXPECT_EQ(a.status, 200) << a.text;
    if (a.status == 200) ++node_->next_nonce;
    return a.body.is_object() ? a.body.value("outcome", json{}) : json{};
  }
};

// Every HTTP check runs against the same node in ONE test (ctest starts one process per test,
// and CI time is short): each check is a member function, run in turn below.
struct http_checks : http_test {
  void TestBody() override {}
  void StatusMembersLivezReadyzMatchTheClientPort();
  void GenericQueryAndAliasesServeTheQueryActor();
  void SignedWritesAnsweredWithTheOutcomeBadRequestsChangeNothing();
  void MetricsAreValidPrometheusTextAndMoveWithCommands();
  void EventStreamDeliversTheAppliedIndexAfterASubmit();
  void ConnectionsBeyondTheLimitGetA503ThenServiceResumes();
};

TEST(prometheus_parser, RejectsWhatIsNotExpositionFormat) {
  // The test's own parser must be able to fail (else the metrics check proves nothing).
  EXPECT_FALSE(parse_prometheus("energo_x 1\n").errors.empty());                        // no HELP/TYPE
  EXPECT_FALSE(parse_prometheus("# HELP a x\n# TYPE a gauge\na{b=c} 1\n").errors.empty());  // unquoted label
  EXPECT_FALSE(parse_prometheus("# HELP a x\n# TYPE a gauge\na one\n").errors.empty());
  EXPECT_TRUE(parse_prometheus("# HELP a x\n# TYPE a histogram\na_bucket{le=\"+Inf\"} 3\na_sum 0.5\na_count 3\n")
                  .errors.empty());
}

// --- reads ------------------------------------------------------------------------------------

void http_checks::StatusMembersLivezReadyzMatchTheClientPort() {
  const auto st = get("/api/v1/status");
  ASSERT_EQ(st.status, 200) << st.text;
  EXPECT_EQ(st.content_type, "application/json");
  EXPECT_EQ(st.body["role"], "leader");
  EXPECT_EQ(st.body["name"], "h1");
  const auto cp = client_port_status();
  EXPECT_EQ(st.body["node_id"].get<uint64_t>(), cp.node_id);
  EXPECT_EQ(st.body["cluster_id"], cp.cluster_id);
  EXPECT_EQ(st.body["state_root"].get<std::string>().size(), 64u);

  const auto m = get("/api/v1/members");
  ASSERT_EQ(m.status, 200) << m.text;
  ASSERT_EQ(m.body["members"].size(), 1u);
  EXPECT_EQ(m.body["members"][0]["name"], "h1");
  EXPECT_EQ(m.body["members"][0]["raft_role"], "voter");

  EXPECT_EQ(get("/livez").status, 200);
  const auto r = get("/readyz");
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["ready"], true);

  const auto nf = get("/api/v1/nothing-here");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(error_code(nf), "not_found");
}

void http_checks::GenericQueryAndAliasesServeTheQueryActor() {
  const auto q = get("/api/v1/query/summary");
  ASSERT_EQ(q.status, 200) << q.text;
  EXPECT_TRUE(q.body.contains("epoch") && q.body.contains("applied_index"));
  const auto alias = get("/api/v1/summary?stale=1");
  ASSERT_EQ(alias.status, 200) << alias.text;
  EXPECT_EQ(alias.body["epoch"], q.body["epoch"]);
  EXPECT_EQ(alias.body["storage_capacity_wh"], q.body["storage_capacity_wh"]);

  // account: the alias, the generic route with a URL parameter, and the client port agree.
  const auto oracle = client_port_account(node_->coop_address);
  ASSERT_TRUE(oracle.found);
  const auto a1 = get("/api/v1/accounts/" + node_->coop_text);
  ASSERT_EQ(a1.status, 200) << a1.text;
  EXPECT_EQ(a1.body["tsl_units"].get<int64_t>(), oracle.tsl_units);
  EXPECT_EQ(a1.body["nonce"].get<uint64_t>(), oracle.nonce);
  const auto a2 = get("/api/v1/query/account?address=" + node_->coop_text + "&stale=1");
  ASSERT_EQ(a2.status, 200) << a2.text;
  EXPECT_EQ(a2.body["tsl_units"], a1.body["tsl_units"]);

  // Errors with stable codes and statuses.
  const auto unknown = get("/api/v1/query/no_such_query");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_code(unknown), "not_supported");
  const auto bad = get("/api/v1/query/account?address=notanaddress");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad), "malformed");
  const auto twice = get("/api/v1/query/summary?x=1&x=2");
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(error_code(twice), "bad_request");
  const auto bad_name = get("/api/v1/query/Bad-Name");
  EXPECT_EQ(bad_name.status, 404);
  EXPECT_EQ(error_code(bad_name), "not_found");
}

// --- writes -----------------------------------------------------------------------------------

void http_checks::SignedWritesAnsweredWithTheOutcomeBadRequestsChangeNothing() {
  const auto before = client_port_account(node_->coop_address);
  const auto baker_before = client_port_account(node_->baker_address);

  // Bad requests first: each a JSON error with a stable code; the account does not move.
  {
    const auto big = post("/api/v1/commands", std::string(70 * 1024, ' ') + "{}");
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(error_code(big), "payload_too_large");
    const auto malformed = post("/api/v1/commands", "{\"type\": \"transfer\",");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(error_code(malformed), "malformed_json");
    const auto not_object = post("/api/v1/commands", "[1,2]");
    EXPECT_EQ(not_object.status, 400);
    EXPECT_EQ(error_code(not_object), "malformed_json");

    const auto cmd = transfer_command(node_->next_nonce);
    auto unsigned_doc = json::parse(signed_json(cmd));
    unsigned_doc.erase("signature");
    const auto no_sig = post("/api/v1/commands", unsigned_doc.dump());
    EXPECT_EQ(no_sig.status, 401);
    EXPECT_EQ(error_code(no_sig), "unsigned");

    auto wrong = json::parse(signed_json(cmd));
    std::string sig = wrong["signature"];
    sig[10] = sig[10] == '0' ? '1' : '0';
    wrong["signature"] = sig;
    const auto bad_sig = post("/api/v1/commands", wrong.dump());
    EXPECT_EQ(bad_sig.status, 401) << bad_sig.text;
    EXPECT_EQ(error_code(bad_sig), "bad_signature");

    auto unknown_field = json::parse(signed_json(cmd));
    unknown_field["extra"] = 1;
    const auto invalid = post("/api/v1/commands", unknown_field.dump());
    EXPECT_EQ(invalid.status, 400);
    EXPECT_EQ(error_code(invalid), "invalid_command");

    const auto bad_hex = post("/api/v1/commands", R"({"hex":"zz"})");
    EXPECT_EQ(bad_hex.status, 400);
    EXPECT_EQ(error_code(bad_hex), "invalid_command");
    const auto garbage_bytes = post("/api/v1/commands", R"({"hex":"0102"})");
    EXPECT_EQ(garbage_bytes.status, 400);
    EXPECT_EQ(error_code(garbage_bytes), "malformed");

    const auto after = client_port_account(node_->coop_address);
    EXPECT_EQ(after.tsl_units, before.tsl_units);
    EXPECT_EQ(after.nonce, before.nonce);
  }

  // A signed JSON command: applied, answered with its outcome.
  const auto cmd = transfer_command(node_->next_nonce);
  const auto ok = post("/api/v1/commands", signed_json(cmd));
  ASSERT_EQ(ok.status, 200) << ok.text;
  ++node_->next_nonce;
  EXPECT_EQ(ok.body["outcome"]["accepted"], true);
  EXPECT_EQ(ok.body["outcome"]["duplicate"], false);
  // The same bytes as hex (the client port's form): the first outcome, never applied twice.
  const auto bytes = ledger::encode(cmd);
  const auto again = post("/api/v1/commands", json{{"hex", crypto::to_hex(crypto::byte_span(bytes))}}.dump());
  ASSERT_EQ(again.status, 200) << again.text;
  EXPECT_EQ(again.body["outcome"]["duplicate"], true);
  EXPECT_EQ(again.body["outcome"]["index"], ok.body["outcome"]["index"]);
  // A hex command applied for the first time.
  const auto hex_cmd = ledger::encode(transfer_command(node_->next_nonce));
  const auto hex_ok = post("/api/v1/commands", json{{"hex", crypto::to_hex(crypto::byte_span(hex_cmd))}}.dump());
  ASSERT_EQ(hex_ok.status, 200) << hex_ok.text;
  ++node_->next_nonce;
  // A ledger refusal (a used nonce, new bytes): 422 with the outcome and the ledger's code.
  const auto stale = post("/api/v1/commands", signed_json(transfer_command(1, amount_units + 1)));
  EXPECT_EQ(stale.status, 422) << stale.text;
  EXPECT_EQ(error_code(stale), "stale_nonce");
  EXPECT_EQ(stale.body["outcome"]["accepted"], false);

  const auto after = client_port_account(node_->coop_address);
  EXPECT_EQ(after.tsl_units, before.tsl_units - 2 * amount_units);
  EXPECT_EQ(client_port_account(node_->baker_address).tsl_units, baker_before.tsl_units + 2 * amount_units);
  // The HTTP read agrees with the client port.
  const auto http_after = get("/api/v1/accounts/" + node_->coop_text);
  EXPECT_EQ(http_after.body["tsl_units"].get<int64_t>(), after.tsl_units);
}

// --- metrics ----------------------------------------------------------------------------------

void http_checks::MetricsAreValidPrometheusTextAndMoveWithCommands() {
  auto c = client();
  auto r1 = c.Get("/metrics");
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->status, 200);
  EXPECT_EQ(r1->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  const auto p1 = parse_prometheus(r1->body);
  for (const auto& e : p1.errors) ADD_FAILURE() << e;
  for (const char* name : {"energo_raft_term", "energo_raft_commit_index", "energo_applied_index",
                           "energo_raft_leader_changes_total", "energo_applied_commands_total", "energo_trades_total",
                           "energo_traded_wh_total", "energo_fees_units_total", "energo_raft_snapshot_chunks_sent_total",
                           "energo_waiting_commands", "energo_proposal_to_apply_seconds_count"}) {
    EXPECT_TRUE(p1.value(name)) << name << " missing";
  }
  EXPECT_EQ(p1.types.count("energo_proposal_to_apply_seconds") ? p1.types.at("energo_proposal_to_apply_seconds") : "",
            "histogram");
  EXPECT_EQ(p1.value("energo_raft_is_leader"), 1.0);
  EXPECT_GE(p1.value("energo_raft_leader_changes_total").value_or(0), 1.0);
  EXPECT_GE(p1.value("energo_raft_term").value_or(0), 1.0);

  // Two commands and one wrong signature later, the counters moved.
  submit_ok();
  const auto last = submit_ok();
  auto wrong = json::parse(signed_json(transfer_command(node_->next_nonce)));
  std::string sig = wrong["signature"];
  sig[5] = sig[5] == 'a' ? 'b' : 'a';
  wrong["signature"] = sig;
  EXPECT_EQ(post("/api/v1/commands", wrong.dump()).status, 401);

  // Gauges are stored by each actor right after it acts: the apply actor answers a command a
  // moment before it stores the applied index, so a scrape may lag an answer by that moment.
  const double last_index = last.value("index", 0.0);
  prom_page p2;
  for (int i = 0; i < 100; ++i) {
    auto r2 = c.Get("/metrics");
    ASSERT_TRUE(r2);
    p2 = parse_prometheus(r2->body);
    if (p2.value("energo_applied_index").value_or(0) >= last_index &&
        p2.value("energo_raft_commit_index").value_or(0) >= last_index) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(p2.errors.empty());
  const auto moved = [&](const char* name, double by, const std::string& labels = "") {
    EXPECT_GE(p2.value(name, labels).value_or(-1) - p1.value(name, labels).value_or(0), by) << name << labels;
  };
  moved("energo_applied_commands_total", 2);
  moved("energo_applied_entries_total", 2);
  moved("energo_proposal_to_apply_seconds_count", 2);
  moved("energo_proposal_to_apply_seconds_bucket", 2, "{le=\"+Inf\"}");
  moved("energo_submission_refusals_total", 1, "{reason=\"bad_signature\"}");
  moved("energo_http_requests_total", 3);
  // A single voter appends each command with a synced write and learns of its commit in the next
  // ready, which changes the commit index only: that write is not synced (raft actor, etcd's
  // MustSync). Neither counter may stand still.
  moved("energo_raft_log_writes_synced_total", 2);
  moved("energo_raft_log_writes_deferred_total", 1);
  EXPECT_GE(p2.value("energo_applied_index").value_or(0), last_index);
  EXPECT_GE(p2.value("energo_raft_commit_index").value_or(0), last_index);
}

// --- events -----------------------------------------------------------------------------------

// Reads from a raw socket until `pred(text so far)` or the deadline.
bool read_until(int fd, std::string& text, const std::function<bool(const std::string&)>& pred,
                std::chrono::milliseconds bound) {
  const auto deadline = clock_type::now() + bound;
  char buf[4096];
  while (clock_type::now() < deadline) {
    if (pred(text)) return true;
    timeval tv{0, 100000};
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    if (::select(fd + 1, &fds, nullptr, nullptr, &tv) <= 0) continue;
    const auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return pred(text);
    text.append(buf, static_cast<std::size_t>(n));
  }
  return pred(text);
}

int connect_raw(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void http_checks::EventStreamDeliversTheAppliedIndexAfterASubmit() {
  const int fd = connect_raw(node_->http_port);
  ASSERT_GE(fd, 0);
  const std::string req = "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string text;
  ASSERT_TRUE(read_until(fd, text, [](const std::string& t) { return t.find("event: hello") != std::string::npos; }, 5s))
      << text;
  EXPECT_NE(text.find("Content-Type: text/event-stream"), std::string::npos) << text;
  const auto outcome = submit_ok();
  const uint64_t index = outcome.value("index", uint64_t{0});
  ASSERT_GT(index, 0u);
  // An `applied` event whose applied_index reached the command's index.
  static const std::regex applied_re(R"(event: applied\r?\ndata: (\{[^\n]*\}))");
  bool seen = false;
  read_until(fd, text, [&](const std::string& t) {
    for (std::sregex_iterator it(t.begin(), t.end(), applied_re), end; it != end; ++it) {
      const auto j = json::parse((*it)[1].str(), nullptr, false);
      if (j.is_object() && j.value("applied_index", uint64_t{0}) >= index) seen = true;
    }
    return seen;
  }, 5s);
  EXPECT_TRUE(seen) << text;
  ::close(fd);
}

// --- connection limit ---------------------------------------------------------------------------

void http_checks::ConnectionsBeyondTheLimitGetA503ThenServiceResumes() {
  // Idle connections occupy every serving thread (each waits for a request line).
  std::vector<int> idle;
  for (int i = 0; i < http_connections_max; ++i) {
    const int fd = connect_raw(node_->http_port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // The server accepts and queues them on its own thread: until it has (a loaded machine may
  // delay that thread past any fixed sleep), a request is still served. Ask again until it is
  // refused; with the limit broken every answer is a 200 and the check below fails.
  answer refused;
  for (const auto until = clock_type::now() + 5s; clock_type::now() < until;) {
    std::this_thread::sleep_for(50ms);
    refused = get("/api/v1/status");
    if (refused.status != 200) break;
  }
  EXPECT_EQ(refused.status, 503) << refused.text;
  EXPECT_EQ(error_code(refused), "too_many_connections");
  const auto t0 = clock_type::now();
  for (int fd : idle) ::close(fd);
  // The threads are free again.
  answer a;
  const auto deadline = clock_type::now() + 5s;
  while (clock_type::now() < deadline) {
    a = get("/api/v1/status");
    if (a.status == 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(a.status, 200) << a.text;
  std::printf("service resumed %lld ms after the idle connections closed\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count()));
  const auto m = get("/metrics");
  EXPECT_NE(m.text.find("energo_http_connections_refused_total "), std::string::npos);
  EXPECT_EQ(m.text.find("energo_http_connections_refused_total 0\n"), std::string::npos);
}


TEST_F(http_test, RoutesErrorsMetricsEventsAndLimitsOnOneNode) {
  http_checks c;
  {
    SCOPED_TRACE("StatusMembersLivezReadyzMatchTheClientPort");
    c.StatusMembersLivezReadyzMatchTheClientPort();
  }
  {
    SCOPED_TRACE("GenericQueryAndAliasesServeTheQueryActor");
    c.GenericQueryAndAliasesServeTheQueryActor();
  }
  {
    SCOPED_TRACE("SignedWritesAnsweredWithTheOutcomeBadRequestsChangeNothing");
    c.SignedWritesAnsweredWithTheOutcomeBadRequestsChangeNothing();
  }
  {
    SCOPED_TRACE("MetricsAreValidPrometheusTextAndMoveWithCommands");
    c.MetricsAreValidPrometheusTextAndMoveWithCommands();
  }
  {
    SCOPED_TRACE("EventStreamDeliversTheAppliedIndexAfterASubmit");
    c.EventStreamDeliversTheAppliedIndexAfterASubmit();
  }
  {
    SCOPED_TRACE("ConnectionsBeyondTheLimitGetA503ThenServiceResumes");
    c.ConnectionsBeyondTheLimitGetA503ThenServiceResumes();
  }
}

// --- the dashboard in a real browser -------------------------------------------------------------

std::string find_chromium() {
  if (const char* env = std::getenv("ENERGO_CHROMIUM"); env && *env) return env;
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-headless-shell", "/usr/bin/chromium-browser",
                        "/usr/bin/google-chrome"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// The text of the element with id `id` in a dumped DOM (first text node only).
std::optional<std::string> element_text(const std::string& dom, const std::string& id) {
  const std::regex re("id=\"" + id + "\"[^>]*>([^<]*)<");
  std::smatch m;
  if (!std::regex_search(dom, m, re)) return std::nullopt;
  return m[1].str();
}

TEST_F(http_test, DashboardInHeadlessChromiumShowsTheClusterNumbers) {
  const auto chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium, scripts/install-deps.sh): dashboard not tested in a browser";
  submit_ok();
  submit_ok();
  // Wait until status and the HTTP status name the same applied index (both read the apply actor).
  net::node_status st;
  const auto deadline = clock_type::now() + 5s;
  do {
    std::this_thread::sleep_for(100ms);
    st = client_port_status();
  } while (clock_type::now() < deadline && get("/api/v1/status").body.value("applied_index_memory", uint64_t{0}) != st.applied_index);
  const auto account = client_port_account(node_->coop_address);
  // live=0: no event stream in the browser. Chromium's virtual time (which lets --dump-dom wait
  // for the page's fetches) never advances while a fetch is pending, and an event stream stays
  // pending forever. The stream itself is tested above (EventStreamDeliversTheAppliedIndexAfterASubmit).
  const std::string url =
      "http://127.0.0.1:" + std::to_string(node_->http_port) + "/?live=0&account=" + node_->coop_text;
  const std::string profile = node_->root + "/chromium-profile";
  const std::string common = "timeout 30 " + chromium + " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                             profile + " --window-size=1280,1500 --virtual-time-budget=4000 ";
  fs::create_directories(ENERGO_TEST_ARTIFACTS_DIR);
  const std::string shot = std::string(ENERGO_TEST_ARTIFACTS_DIR) + "/dashboard.png";
  fs::remove(shot);
  // One browser run: the DOM after the page's scripts ran, and a screenshot (the test artifact).
  const auto started = clock_type::now();
  const std::string dom = run_capture(common + "--screenshot=" + shot + " --dump-dom '" + url + "' 2>/dev/null");
  std::printf("chromium: %zu bytes of DOM in %lld ms; screenshot %s\n", dom.size(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started).count()),
              shot.c_str());
  ASSERT_NE(dom.find("data-ready=\"1\""), std::string::npos) << "the page did not finish loading:\n" << dom.substr(0, 2000);
  // The cluster's real numbers, as the client port reports them.
  EXPECT_EQ(element_text(dom, "applied-index"), std::to_string(st.applied_index));
  EXPECT_EQ(element_text(dom, "commit-index"), std::to_string(st.commit_index));
  EXPECT_EQ(element_text(dom, "role"), "leader");
  EXPECT_EQ(element_text(dom, "node-name"), "h1");
  EXPECT_EQ(element_text(dom, "account-tsl"), std::to_string(account.tsl_units));
  EXPECT_EQ(element_text(dom, "account-nonce"), std::to_string(account.nonce));
  EXPECT_EQ(element_text(dom, "state-root"), crypto::to_hex(crypto::as_bytes(st.state_root)));
  EXPECT_NE(dom.find("<td>h1</td>"), std::string::npos) << "members table";
  // Each chart section rendered something: a chart, or "no data" for a query the node lacks.
  for (const char* section : {"book", "epochs", "flows", "ev"}) {
    const auto at = dom.find("id=\"" + std::string(section) + "\"");
    ASSERT_NE(at, std::string::npos) << section;
    const auto chunk = dom.substr(at, 400);
    EXPECT_TRUE(chunk.find("<svg") != std::string::npos || chunk.find("no data") != std::string::npos ||
                chunk.find("<table") != std::string::npos || chunk.find("empty") != std::string::npos)
        << section << ": " << chunk;
    EXPECT_EQ(chunk.find("loading…"), std::string::npos) << section << " never rendered";
  }
  // The summary query exists: energy flows show the storage capacity as a chart.
  EXPECT_NE(dom.substr(dom.find("id=\"flows\""), 300).find("<svg"), std::string::npos);

  ASSERT_TRUE(fs::exists(shot)) << "no screenshot written";
  EXPECT_GT(fs::file_size(shot), 10000u);
}

// Signs a command given as unsigned JSON with a key file (as `energoctl` does: the signer field
// and the next nonce - asked of the client port - filled in) and submits it over HTTP.
json submit_signed(tools::json doc, const std::string& key_path, const char* nonce_field = "nonce") {
  auto key = tools::read_key_file(key_path);
  EXPECT_TRUE(key) << key_path;
  if (!key) return {};
  net::client_conn c;
  EXPECT_TRUE(c.connect({"127.0.0.1", node_->n.client_port}, 1000ms));
  net::client_request req;
  req.what = net::client_request::kind::query;
  req.query.name = "nonce";
  req.query.params_json = json{{"key", key->public_key_hex()}}.dump();
  auto r = c.call(req, 3000ms);
  EXPECT_TRUE(r && r->what == net::client_response::kind::query);
  if (!r || r->what != net::client_response::kind::query) return {};
  const auto signer = tools::signer_for_type(doc["type"].get<std::string>());
  if (signer && signer->kind != tools::signer_kind::none) doc[std::string(signer->field)] = key->public_key_hex();
  doc[nonce_field] = json::parse(r->text)["nonce"].get<uint64_t>() + 1;
  auto cmd = tools::sign_command_json(std::move(doc), *key, node_->network, node_->genesis_hash);
  EXPECT_TRUE(cmd) << (cmd ? "" : cmd.error());
  if (!cmd) return {};
  httplib::Client h("127.0.0.1", node_->http_port);
  h.set_read_timeout(15);
  auto a = h.Post("/api/v1/commands", tools::command_to_line(*cmd, node_->network, tools::signature_form::signed_form),
                  "application/json");
  EXPECT_TRUE(a && a->status == 200) << (a ? a->body : "no answer");
  if (!a) return {};
  const auto body = json::parse(a->body, nullptr, false);
  const auto outcome = body.is_object() ? body.value("outcome", json{}) : json{};
  EXPECT_TRUE(outcome.value("accepted", false)) << a->body;
  return outcome;
}

// Live updates in a real browser: the page is open with its event stream when a trade happens;
// the DOM Chromium dumps must show that trade (trades table, last price, book, epochs chart).
// `until=trade` makes the page close its stream after the delivery that carried a trade, so
// Chromium's virtual time (paused while the stream is open) then runs on to the dump.
TEST_F(http_test, DashboardInHeadlessChromiumUpdatesLiveOnATrade) {
  const auto chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed: live dashboard not tested in a browser";
  const std::string keys = fs::absolute("examples/community/keys").string() + "/";
  auto field = [](const std::string& path, const char* f) {
    std::ifstream in(path);
    return json::parse(in).at(f).get<std::string>();
  };
  // Baker gets WATT from a registered meter (storage registered first), coop bids 120 for 400 Wh.
  submit_signed({{"type", "register_storage_unit"}, {"unit_key", field(keys + "unit-a.json", "public_key")},
                 {"owner", node_->coop_text}, {"capacity_wh", 60000}}, keys + "admin.json");
  submit_signed({{"type", "register_meter"}, {"meter_key", field(keys + "meter-baker.json", "public_key")},
                 {"account", node_->baker_text}, {"export_wh_start", 0}, {"import_wh_start", 0}}, keys + "admin.json");
  const int64_t genesis_time = tools::read_genesis_file("examples/community/genesis.json")->genesis_time_ms;
  submit_signed({{"type", "meter_reading"}, {"timestamp_ms", genesis_time}, {"export_wh_total", 1500}, {"import_wh_total", 0}},
                keys + "meter-baker.json", "sequence");
  const auto bid = submit_signed({{"type", "place_order"}, {"side", "buy"}, {"kind", "limit"}, {"price_units_per_wh", 120}, {"quantity_wh", 400}},
                                 keys + "account-coop.json");
  ++node_->next_nonce;  // coop's nonce moved (the transfers above count it too)

  const std::string url = "http://127.0.0.1:" + std::to_string(node_->http_port) + "/?until=trade&account=" + node_->coop_text;
  const std::string profile = node_->root + "/chromium-profile-live";
  fs::create_directories(ENERGO_TEST_ARTIFACTS_DIR);
  const std::string shot = std::string(ENERGO_TEST_ARTIFACTS_DIR) + "/dashboard-live.png";
  fs::remove(shot);
  const std::string cmd = "timeout 25 " + chromium + " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                          profile + " --window-size=1280,1700 --virtual-time-budget=3000 --screenshot=" + shot +
                          " --dump-dom '" + url + "' 2>/dev/null";
  // Streams of earlier checks end within a keep-alive (1 s) of their client going away.
  auto subscribers = [] {
    const auto text = get("/metrics").text;
    const auto at = text.find("\nenergo_http_event_subscribers ");
    return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + 31);
  };
  for (auto deadline = clock_type::now() + 5s; clock_type::now() < deadline && subscribers() != 0;) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(subscribers(), 0);
  const auto started = clock_type::now();
  auto browser = std::async(std::launch::async, [cmd] { return run_capture(cmd); });
  // The page is open and listening once the node counts its event stream.
  bool listening = false;
  for (auto deadline = clock_type::now() + 15s; clock_type::now() < deadline && !listening;) {
    std::this_thread::sleep_for(50ms);
    listening = subscribers() == 1;
  }
  ASSERT_TRUE(listening) << "the page never opened its event stream";
  const auto sell = submit_signed({{"type", "place_order"}, {"side", "sell"}, {"kind", "limit"}, {"price_units_per_wh", 110}, {"quantity_wh", 300}},
                                  keys + "account-baker.json");
  EXPECT_EQ(sell.value("filled_wh", 0), 300);
  const std::string dom = browser.get();
  std::printf("chromium (live): %zu bytes of DOM in %lld ms; screenshot %s\n", dom.size(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started).count()),
              shot.c_str());
  ASSERT_NE(dom.find("data-ready=\"1\""), std::string::npos) << dom.substr(0, 2000);
  const auto trades = get("/api/v1/trades").body["trades"];
  ASSERT_EQ(trades.size(), 1u);
  const auto id = trades[0]["id"].get<uint64_t>();
  EXPECT_NE(dom.find("data-live-trade=\"" + std::to_string(id) + "\""), std::string::npos) << "the trade event reached the page";
  EXPECT_EQ(element_text(dom, "live"), "closed after a trade");
  EXPECT_EQ(element_text(dom, "last-price"), "120") << "the resting bid's price";
  const auto row = dom.find("data-trade=\"" + std::to_string(id) + "\"");
  ASSERT_NE(row, std::string::npos) << "trades table";
  EXPECT_NE(dom.substr(row, 200).find("<td class=\"num\">300</td>"), std::string::npos) << dom.substr(row, 200);
  // The refresh the applied event scheduled: the book now holds the bid's remaining 100 Wh, the
  // epochs chart the 300 Wh, the flows the 1500 Wh minted (the exact field names at work).
  EXPECT_NE(dom.find("bid 120: funded 100 Wh"), std::string::npos) << dom.substr(dom.find("id=\"book\""), 600);
  EXPECT_NE(dom.find(": 300 Wh in 1 trades, last price 120"), std::string::npos) << dom.substr(dom.find("id=\"epochs\""), 600);
  EXPECT_NE(dom.find("stored (minted): 1500 Wh"), std::string::npos) << dom.substr(dom.find("id=\"flows\""), 600);
  EXPECT_NE(dom.find("<td>h1</td>"), std::string::npos);
  EXPECT_NE(dom.find("★ leader"), std::string::npos) << "members table with Raft status";
  EXPECT_NE(dom.find("no session"), std::string::npos) << "EV sessions (none in this community)";
  ASSERT_TRUE(fs::exists(shot)) << "no screenshot written";
  (void)bid;
}

// docs/operations.md "Metrics" explains every metric the page shows (one GET; the doc is read from
// the source tree, the names from the running node).
TEST_F(http_test, MetricsPageNamesAreAllExplainedInTheOperationsGuide) {
  const auto m = get("/metrics");
  ASSERT_EQ(m.status, 200);
  std::ifstream in("docs/operations.md");
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(doc.find("## Metrics"), std::string::npos);
  const std::string metrics = doc.substr(doc.find("## Metrics"));
  std::set<std::string> names;
  const std::regex type_line("# TYPE energo_([a-z0-9_]+) ");
  for (auto it = std::sregex_iterator(m.text.begin(), m.text.end(), type_line); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1].str());
  EXPECT_GE(names.size(), 30u);
  for (const auto& n : names) {
    EXPECT_TRUE(metrics.find("| `" + n + "`") != std::string::npos || metrics.find("| `" + n + "{") != std::string::npos)
        << n << " is not explained";
  }
}

}  // namespace
