// Anchoring against a real node: Debian's litecoind -regtest (Bitcoin Core 0.21 lineage) with
// Qtum's fee policy. Its serialization, legacy sighash, P2PKH/OP_RETURN relay rules and RPC are
// what qtumd has; only address version bytes and coinbase maturity differ, and those are
// network_params (DEPENDENCIES.md). Each test starts its own node in a temporary directory.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "net/qtum/chain_sync.hpp"
#include "net/qtum/script.hpp"
#include "net/qtum/signing.hpp"

namespace energo::qtum {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> find_litecoind() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    const fs::path p = fs::path(dir) / "litecoind";
    if (fs::exists(p)) return p;
  }
  return std::nullopt;
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One litecoind child process; stopped (RPC stop, then SIGKILL of this pid if it lingers) and
// its data directory removed on destruction.
class litecoind_node {
 public:
  explicit litecoind_node(fs::path binary)
      : binary_(std::move(binary)), rpc_port_(free_port()), p2p_port_(free_port()) {
    char tmpl[] = "/tmp/energo_litecoind_XXXXXX";
    ENERGO_ASSERT(::mkdtemp(tmpl) != nullptr, "mkdtemp failed");
    datadir_ = tmpl;
  }
  ~litecoind_node() {
    stop();
    std::error_code ec;
    fs::remove_all(datadir_, ec);
  }

  void start() {
    std::vector<std::string> args{binary_.string(),
                                  "-regtest",
                                  "-datadir=" + datadir_.string(),
                                  "-rpcbind=127.0.0.1",
                                  "-rpcallowip=127.0.0.1",
                                  "-rpcport=" + std::to_string(rpc_port_),
                                  "-port=" + std::to_string(p2p_port_),
                                  "-listen=0",
                                  "-dnsseed=0",
                                  "-disablewallet",
                                  "-printtoconsole=0",
                                  "-minrelaytxfee=0.004",
                                  "-dustrelayfee=0.004",
                                  "-fallbackfee=0.004"};
    pid_ = ::fork();
    ENERGO_ASSERT(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no node behind
      const int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }

  void stop() {
    if (pid_ <= 0) return;
    rpc_config c = config();
    c.attempts_max = 1;
    rpc_client(c).call("stop").has_value();  // best effort; the wait below decides
    for (int i = 0; i < 300; ++i) {  // 30 s
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Cookie auth, patient enough for a node that is still starting.
  [[nodiscard]] rpc_config config() const {
    rpc_config c;
    c.port = rpc_port_;
    c.cookie_file = (datadir_ / "regtest" / ".cookie").string();
    c.connect_timeout_ms = 1000;
    c.read_timeout_ms = 30'000;
    c.attempts_max = 40;
    c.backoff_initial_ms = 50;
    c.backoff_max_ms = 500;
    return c;
  }
  [[nodiscard]] uint16_t rpc_port() const { return rpc_port_; }
  [[nodiscard]] const fs::path& datadir() const { return datadir_; }

 private:
  fs::path binary_;
  fs::path datadir_;
  uint16_t rpc_port_;
  uint16_t p2p_port_;
  pid_t pid_ = -1;
};

#define REQUIRE_LITECOIND(var)                                                                   \
  const auto var = find_litecoind();                                                             \
  if (!var) {                                                                                    \
    GTEST_SKIP() << "litecoind is not installed (scripts/install-deps.sh installs it); skipping " \
                    "the real-node Qtum tests";                                                  \
  }

template <class T>
T must(qtum_result<T> r, const char* what) {
  EXPECT_TRUE(r.has_value()) << what << ": " << (r ? "" : r.error().message);
  if (!r) throw std::runtime_error(what);
  return std::move(r).value();
}

std::vector<std::string> mine(rpc_client& rpc, int blocks, const std::string& address) {
  const auto hashes = must(rpc.call("generatetoaddress", nlohmann::json::array({blocks, address})), "generatetoaddress");
  return hashes.get<std::vector<std::string>>();
}

anchor_payload payload_at(uint64_t index) {
  anchor_payload p;
  p.cluster_id_hash = cluster_id_hash_of("litecoind-test-community");
  p.log_index = index;
  p.state_root.fill(static_cast<uint8_t>(index));
  return p;
}

void sync(rpc_client& rpc, confirmation_tracker& tracker, uint64_t start, std::vector<tracker_event>& events) {
  auto e = must(sync_tracker(rpc, tracker, start, 100), "sync_tracker");
  events.insert(events.end(), e.begin(), e.end());
  ASSERT_TRUE(tracker.check_invariants());
}

bool has_event(const std::vector<tracker_event>& events, tracker_event_kind kind, const txid_t& id) {
  return std::any_of(events.begin(), events.end(), [&](const tracker_event& e) { return e.kind == kind && e.txid == id; });
}

TEST(qtum_litecoind, anchors_confirm_survive_a_reorg_and_refusals_carry_the_node_reason) {
  REQUIRE_LITECOIND(binary);
  litecoind_node node(*binary);
  node.start();
  rpc_client rpc(node.config());
  ASSERT_EQ(must(rpc.get_block_count(), "getblockcount"), 0u);

  network_params params = litecoin_regtest_with_qtum_policy();
  const auto key = crypto::secp256k1_secret_key::generate();
  const std::string address = anchor_address(params, key.public_key());
  ASSERT_EQ(address[0] == 'm' || address[0] == 'n', true) << address;  // version 111

  // Nothing mined to us yet: a clear insufficient-funds error, nothing sent.
  auto coins = must(find_anchor_coins(rpc, params, key.public_key()), "scantxoutset");
  EXPECT_TRUE(coins.coins.empty());
  auto none = build_anchor_tx(params, key, coins.coins, coins.height, payload_at(1));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, error_code::insufficient_funds);
  std::printf("no funds: %s\n", none.error().message.c_str());
  EXPECT_NE(none.error().message.find("insufficient funds"), std::string::npos);

  mine(rpc, 101, address);
  coins = must(find_anchor_coins(rpc, params, key.public_key()), "scantxoutset");
  ASSERT_EQ(coins.height, 101u);
  ASSERT_EQ(coins.coins.size(), 101u);
  std::size_t mature = 0;
  for (const auto& c : coins.coins) {
    EXPECT_TRUE(c.generated) << "coinbase not recognised at height " << c.height.value_or(0);
    EXPECT_EQ(c.value_sat, 5'000'000'000);
    if (is_mature(c, coins.height, params)) ++mature;
  }
  EXPECT_EQ(mature, 2u);  // heights 1 and 2: spend height 102 - 2 = 100 = maturity

  // Maturity boundary agrees with the node: the height-2 coinbase is accepted, height 3 is not.
  auto at_height = [&](uint64_t h) {
    return *std::find_if(coins.coins.begin(), coins.coins.end(), [&](const utxo& c) { return c.height == h; });
  };
  {
    auto boundary = must(build_anchor_tx(params, key, std::vector<utxo>{at_height(2)}, coins.height, payload_at(0)),
                         "build at maturity boundary");
    EXPECT_TRUE(must(rpc.test_mempool_accept(boundary.raw), "testmempoolaccept").allowed);
    network_params early = params;
    early.coinbase_maturity_blocks = 99;  // one too few: the node must refuse
    auto premature = must(build_anchor_tx(early, key, std::vector<utxo>{at_height(3)}, coins.height, payload_at(0)),
                          "build premature");
    auto verdict = must(rpc.test_mempool_accept(premature.raw), "testmempoolaccept");
    EXPECT_FALSE(verdict.allowed);
    EXPECT_EQ(verdict.reject_reason, "bad-txns-premature-spend-of-coinbase");
  }

  // Fee below the relay minimum: refused with the node's own reason, from both RPCs.
  {
    network_params cheap = params;
    cheap.relay_fee_min_sat_per_kvb = 1000;
    cheap.fee_rate_sat_per_kvb = 1000;
    auto low = must(build_anchor_tx(cheap, key, coins.coins, coins.height, payload_at(0)), "build low fee");
    auto refused = broadcast(rpc, low.raw);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, error_code::rejected);
    EXPECT_EQ(refused.error().message.rfind("min relay fee not met", 0), 0u) << refused.error().message;
    auto sent = rpc.send_raw_transaction(low.raw);
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code, error_code::rpc);
    EXPECT_EQ(sent.error().rpc_code, rpc_verify_rejected);
    EXPECT_EQ(sent.error().message.rfind("min relay fee not met", 0), 0u) << sent.error().message;
    std::printf("fee too low: testmempoolaccept said \"%s\"; sendrawtransaction said %d \"%s\"\n",
                refused.error().message.c_str(), sent.error().rpc_code, sent.error().message.c_str());
  }

  // Anchor 1: built and signed by us, accepted by the node.
  confirmation_tracker tracker({.confirmations_required = params.confirmations_required, .window_blocks = 50});
  std::vector<tracker_event> events;
  sync(rpc, tracker, coins.height, events);
  auto first = must(build_anchor_tx(params, key, coins.coins, coins.height, payload_at(1)), "build anchor 1");
  ASSERT_TRUE(tracker.track(first.txid).has_value());
  EXPECT_EQ(must(broadcast(rpc, first.raw), "broadcast anchor 1"), first.txid);

  mine(rpc, 1, address);
  sync(rpc, tracker, coins.height, events);
  EXPECT_TRUE(has_event(events, tracker_event_kind::included, first.txid));
  EXPECT_EQ(tracker.status(first.txid)->height, 102u);
  EXPECT_EQ(tracker.status(first.txid)->confirmations, 1u);
  mine(rpc, 2, address);
  sync(rpc, tracker, coins.height, events);
  EXPECT_EQ(tracker.status(first.txid)->confirmations, 3u);
  EXPECT_EQ(tracker.status(first.txid)->state, anchor_state::confirmed);
  EXPECT_TRUE(has_event(events, tracker_event_kind::confirmed, first.txid));

  // The chain holds exactly our bytes, and the payload decodes back.
  const auto block_102 = must(rpc.get_block_hash(102), "getblockhash");
  const bytes on_chain = must(rpc.get_raw_transaction(first.txid, block_102), "getrawtransaction");
  EXPECT_EQ(on_chain, first.raw);
  EXPECT_EQ(find_anchor_payload(must(decode_transaction(on_chain), "decode")).value(), payload_at(1));

  // A real reorg: invalidate block 102 and mine a longer branch without the anchor.
  events.clear();
  ASSERT_TRUE(rpc.call("invalidateblock", nlohmann::json::array({txid_hex(block_102)})).has_value());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(rpc.call("generateblock", nlohmann::json::array({address, nlohmann::json::array()})).has_value());
  }
  ASSERT_EQ(must(rpc.get_block_count(), "getblockcount"), 105u);
  sync(rpc, tracker, coins.height, events);
  ASSERT_TRUE(has_event(events, tracker_event_kind::reorged_out, first.txid));
  std::printf("reorg: anchor %s left the chain at height 102 (%zu event(s)); re-broadcasting\n",
              txid_hex(first.txid).c_str(), events.size());
  EXPECT_EQ(tracker.status(first.txid)->state, anchor_state::pending);
  // Re-broadcast as the tracker asks; the new chain includes it again.
  EXPECT_EQ(must(broadcast(rpc, first.raw), "re-broadcast anchor 1"), first.txid);
  mine(rpc, 1, address);
  sync(rpc, tracker, coins.height, events);
  EXPECT_TRUE(has_event(events, tracker_event_kind::included, first.txid));
  EXPECT_EQ(tracker.status(first.txid)->height, 106u);

  // Anchor 2 spends anchor 1's change: no wallet, the chain of change carries the funds.
  coins = must(find_anchor_coins(rpc, params, key.public_key()), "scantxoutset");
  ASSERT_TRUE(first.change.has_value());
  const bool change_found = std::any_of(coins.coins.begin(), coins.coins.end(),
                                        [&](const utxo& c) { return c.point == first.change->point && !c.generated; });
  EXPECT_TRUE(change_found) << "scantxoutset must find the confirmed change";
  auto second = must(build_anchor_tx(params, key, coins.coins, coins.height, payload_at(2), first.change->point),
                     "build anchor 2");
  EXPECT_EQ(second.spent, (std::vector<outpoint>{first.change->point}));
  ASSERT_TRUE(tracker.track(second.txid).has_value());
  EXPECT_EQ(must(broadcast(rpc, second.raw), "broadcast anchor 2"), second.txid);
  // Anchor 3 spends anchor 2's unconfirmed change straight away.
  auto third = must(build_anchor_tx(params, key, std::vector<utxo>{*second.change}, coins.height, payload_at(3),
                                    second.change->point),
                    "build anchor 3");
  EXPECT_EQ(must(broadcast(rpc, third.raw), "broadcast anchor 3"), third.txid);
  mine(rpc, 3, address);
  sync(rpc, tracker, coins.height, events);
  EXPECT_EQ(tracker.status(second.txid)->state, anchor_state::confirmed);
}

TEST(qtum_litecoind, client_retries_across_a_restart_and_reports_wrong_credentials) {
  REQUIRE_LITECOIND(binary);
  litecoind_node node(*binary);
  node.start();
  rpc_client rpc(node.config());
  ASSERT_EQ(must(rpc.get_block_count(), "getblockcount"), 0u);
  const auto key = crypto::secp256k1_secret_key::generate();
  mine(rpc, 5, anchor_address(litecoin_regtest_with_qtum_policy(), key.public_key()));

  // Wrong credentials: an auth error at once, not retried.
  rpc_config wrong = node.config();
  wrong.cookie_file.clear();
  wrong.user = "__cookie__";
  wrong.password = "not-the-cookie";
  rpc_client bad(wrong);
  auto refused = bad.get_block_count();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, error_code::auth) << refused.error().message;
  EXPECT_EQ(bad.last_attempts(), 1u);

  // Node down: bounded retries, then a clear error (the cookie is gone too).
  node.stop();
  rpc_config quick = node.config();
  quick.attempts_max = 3;
  rpc_client impatient(quick);
  auto down = impatient.get_block_count();
  ASSERT_FALSE(down.has_value());
  EXPECT_TRUE(down.error().code == error_code::transport || down.error().code == error_code::config)
      << down.error().message;
  EXPECT_EQ(impatient.last_attempts(), 3u);

  // Node comes back while a call is retrying: the call succeeds, with the new cookie.
  auto pending = std::async(std::launch::async, [&] {
    rpc_client patient(node.config());
    auto r = patient.get_block_count();
    return std::pair{std::move(r), patient.last_attempts()};
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  node.start();
  auto [count, attempts] = pending.get();
  ASSERT_TRUE(count.has_value()) << count.error().message;
  EXPECT_EQ(*count, 5u);  // the chain survived the restart
  EXPECT_GT(attempts, 1u);
  std::printf("restart: call succeeded after %u attempts; node down gave: %s\n", attempts, down.error().message.c_str());
}

}  // namespace
}  // namespace energo::qtum
