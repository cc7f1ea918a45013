// Checkpoints on Qtum end to end (issue 10; SPEC §7): real energo-node processes anchoring to a
// real litecoind -regtest (Qtum's policy; tests/qtum/litecoind_fixture.hpp). The test mines the
// blocks itself, so every confirmation, reorg and outage happens on cue. Skipped with a message
// when litecoind is absent.
#include "tests/node/cluster_fixture.hpp"

#include <httplib.h>

#include <set>

#include "actors/checkpoint_state.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/chain_sync.hpp"
#include "tests/node/prometheus_text.hpp"
#include "tests/qtum/litecoind_fixture.hpp"

namespace {

using namespace energo;
using namespace energo::test_node;
namespace chain = energo::qtum::test_chain;
using json = nlohmann::json;

constexpr auto anchor_bound = 30s;  // generous: a loaded 2-core CI machine

class checkpoint_fixture : public cluster_fixture {
 protected:
  // `voters` initial voters; litecoind with a funded community key unless `fund` is false.
  void begin(int voters, bool fund = true) {
    cluster_size_ = voters;
    cluster_fixture::SetUp();
    load_keys();
    params_ = qtum::litecoin_regtest_with_qtum_policy();
    lite_ = std::make_unique<chain::litecoind_node>(*chain::find_litecoind());
    lite_->start();
    rpc_ = std::make_unique<qtum::rpc_client>(lite_->config());
    qkey_ = crypto::secp256k1_secret_key::generate();
    qaddress_ = qtum::anchor_address(params_, qkey_->public_key());
    other_address_ = qtum::anchor_address(params_, crypto::secp256k1_secret_key::generate().public_key());
    auto kf = tools::key_file::of(*qkey_, crypto::network::regtest);
    ASSERT_TRUE(tools::write_key_file(root_ + "/qtum_key.json", kf, true));
    // 101 blocks to us: the first coinbase is mature at the next block (maturity 100).
    chain::mine(*rpc_, fund ? 101 : 1, fund ? qaddress_ : other_address_);
  }

  void SetUp() override {}  // begin() sets up, once the test has chosen its size
  void TearDown() override {
    cluster_fixture::TearDown();
    lite_.reset();  // stops litecoind, removes its directory
  }

  // The node's config file: [qtum] against our litecoind; `extra` is appended inside [qtum];
  // `every`: the anchoring interval (a mark every 6 entries by default, never by time).
  std::string write_config(const std::string& name, const std::string& extra = "",
                           const std::string& key_file = "qtum_key.json",
                           const std::string& every = "every_entries = 6\nevery_ms = 0\n") {
    const std::string path = root_ + "/" + name + ".toml";
    std::ofstream f(path);
    f << "[clock]\ninterval_ms = 100\n\n[qtum]\nnetwork = \"litecoin-regtest\"\n"
      << "rpc_url = \"http://127.0.0.1:" << lite_->rpc_port() << "\"\n"
      << "key_file = \"" << root_ << "/" << key_file << "\"\n"
      << "confirmations = 2\n" << every << "poll_ms = 50\nrpc_timeout_ms = 2000\n";
    if (extra.find("rpc_user") == std::string::npos) {
      f << "rpc_cookie_file = \"" << (lite_->datadir() / "regtest" / ".cookie").string() << "\"\n";
    }
    f << extra;
    return path;
  }

  // Every node with the HTTP gateway (for /metrics) on a port of its own.
  void start_with(node_proc& n, const std::string& config) {
    if (http_ports_.empty()) {
      for (std::size_t i = 0; i < nodes_.size(); ++i) http_ports_.push_back(reserve_loopback_port());
    }
    n.clock = true;
    n.extra_args = {"--config", config, "--http-listen", "127.0.0.1:" + std::to_string(http_port_of(n))};
    start(n);
  }
  void start_all(const std::string& config) {
    for (auto& n : nodes_) start_with(n, config);
  }
  uint16_t http_port_of(const node_proc& n) const {
    return http_ports_.at(static_cast<std::size_t>(&n - nodes_.data()));
  }

  // GET /metrics, parsed by the test's own Prometheus parser (tests/node/prometheus_text.hpp).
  std::optional<prom_page> metrics(const node_proc& n) {
    httplib::Client c("127.0.0.1", http_port_of(n));
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(3, 0);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return std::nullopt;
    auto page = parse_prometheus(r->body);
    EXPECT_TRUE(page.errors.empty()) << page.errors.front();
    return page;
  }
  // One checkpoint sample (-1 when absent: a test of presence can fail).
  static double cp_metric(const prom_page& p, const std::string& name, const std::string& labels = "") {
    return p.value("energo_checkpoint_" + name, labels).value_or(-1);
  }
  static std::string alert_label(const char* a) { return std::string("{alert=\"") + a + "\"}"; }

  std::optional<json> checkpoints(const node_proc& n) {
    net::client_request req;
    req.what = net::client_request::kind::checkpoint;
    auto r = ask(n, req, 2000ms);
    if (!r || r->what != net::client_response::kind::checkpoint) return std::nullopt;
    return json::parse(r->text);
  }

  // Mines one block to a throwaway address every `every` until `done` holds or the bound passes.
  template <class pred>
  bool mine_until(pred done, std::chrono::milliseconds every = 150ms, std::chrono::seconds bound = anchor_bound) {
    const auto deadline = clock_type::now() + bound;
    while (clock_type::now() < deadline) {
      if (done()) return true;
      if (every.count() > 0) (void)rpc_->call("generatetoaddress", json::array({1, other_address_}));
      std::this_thread::sleep_for(every.count() > 0 ? every : 100ms);
    }
    return done();
  }

  // The anchor in flight at `n` once the Qtum node's mempool holds it (checked without mining),
  // with `n`'s checkpoint list at that moment.
  struct anchor_in_flight {
    std::string txid;
    uint64_t index = 0;
    json list;
  };
  std::optional<anchor_in_flight> wait_anchor_in_mempool(const node_proc& n) {
    std::optional<json> j;
    const bool seen = mine_until([&] {
      j = checkpoints(n);
      if (!j || (*j)["in_flight"].is_null()) return false;
      auto pool = rpc_->call("getrawmempool").value();
      return std::find(pool.begin(), pool.end(), (*j)["in_flight"]["txid"]) != pool.end();
    }, 0ms);
    if (!seen) return std::nullopt;
    return anchor_in_flight{(*j)["in_flight"]["txid"].get<std::string>(), (*j)["in_flight"]["index"].get<uint64_t>(), *j};
  }

  // Mines until `n`'s newest recorded anchor is at `index` or later (`after`: later only); `n`'s
  // checkpoint list then, or nullopt (a failure showing its last answer) when the bound passed.
  std::optional<json> wait_recorded(const node_proc& n, uint64_t index, bool after = false) {
    std::optional<json> k;
    const bool reached = mine_until([&] {
      k = checkpoints(n);
      if (!k || k->at("anchors").empty()) return false;
      const auto newest = k->at("anchors").back()["index"].get<uint64_t>();
      return after ? newest > index : newest >= index;
    });
    if (reached) return k;
    ADD_FAILURE() << "no anchor recorded up to index " << index << ": " << (k ? k->dump() : "no answer");
    return std::nullopt;
  }

  // Every Energo anchor of this cluster on the active chain: log index -> txids.
  std::map<uint64_t, std::vector<std::string>> anchors_on_chain() {
    std::map<uint64_t, std::vector<std::string>> out;
    const auto cluster_hash = qtum::cluster_id_hash_of(cluster_id_);
    const uint64_t tip = rpc_->get_block_count().value();
    for (uint64_t h = 1; h <= tip; ++h) {
      const auto hash = rpc_->get_block_hash(h).value();
      const auto block = rpc_->get_block(hash).value();
      for (std::size_t i = 1; i < block.txids.size(); ++i) {  // 0 is the coinbase
        auto raw = rpc_->get_raw_transaction(block.txids[i], hash);
        if (!raw) continue;
        auto tx = qtum::decode_transaction(*raw);
        if (!tx) continue;
        auto p = qtum::find_anchor_payload(*tx);
        if (p && p->cluster_id_hash == cluster_hash) out[p->log_index].push_back(qtum::txid_hex(block.txids[i]));
      }
    }
    return out;
  }

  std::string endpoints() const {
    std::string e;
    for (const auto& n : nodes_) e += (e.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(n.client_port);
    return e;
  }
  std::string qtum_flags() const {
    return "--qtum-rpc http://127.0.0.1:" + std::to_string(lite_->rpc_port()) + " --rpc-cookie " +
           (lite_->datadir() / "regtest" / ".cookie").string();
  }

  void learn_cluster_id() {
    auto j = checkpoints(nodes_[0]);
    ASSERT_TRUE(j);
    cluster_id_ = (*j)["cluster_id"].get<std::string>();
  }

  qtum::network_params params_;
  std::unique_ptr<chain::litecoind_node> lite_;
  std::unique_ptr<qtum::rpc_client> rpc_;
  std::optional<crypto::secp256k1_secret_key> qkey_;
  std::string qaddress_, other_address_, cluster_id_;
  std::vector<uint16_t> http_ports_;
};

// The recorded anchor of `index` in a checkpoint list, or nullptr.
const json* record_of(const json& list, uint64_t index) {
  for (const auto& a : list.at("anchors"))
    if (a["index"].get<uint64_t>() == index) return &a;
  return nullptr;
}

std::string service_field(const json& j, const char* field) {
  if (j["service"].is_null()) return "";
  const auto& v = j["service"][field];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

#define REQUIRE_LITECOIND_OR_SKIP()                                                                            \
  if (!chain::find_litecoind()) {                                                                              \
    GTEST_SKIP() << "litecoind is not installed (scripts/install-deps.sh installs it); skipping checkpoint tests"; \
  }

// One node: anchors at the interval, confirmations, list from the client port, verify and proofs
// end to end, a real reorg with re-broadcast, and the Qtum node stopped and started again.
TEST_F(checkpoint_fixture, anchors_confirm_verify_prove_survive_reorg_and_rpc_restart) {
  REQUIRE_LITECOIND_OR_SKIP();
  begin(1);
  start_all(write_config("n"));
  ASSERT_TRUE(wait_leader({&nodes_[0]}, 20s));
  learn_cluster_id();
  const auto& n = nodes_[0];

  // 1. Anchors every 6 entries, each confirmed (2 blocks) and recorded through Raft.
  std::optional<json> list;
  ASSERT_TRUE(mine_until([&] {
    list = checkpoints(n);
    return list && (*list)["anchors"].size() >= 2;
  })) << (list ? list->dump() : "no answer");
  const auto& anchors = (*list)["anchors"];
  uint64_t previous = 0;
  for (const auto& a : anchors) {
    const uint64_t index = a["index"].get<uint64_t>();
    EXPECT_GT(index, previous);
    EXPECT_GE(index, previous + 6) << "anchored before the interval";
    previous = index;
    const auto header = rpc_->call("getblockheader", json::array({a["block_hash"].get<std::string>()})).value();
    EXPECT_EQ(header["height"].get<uint64_t>(), a["height"].get<uint64_t>());
    EXPECT_GE(header["confirmations"].get<int64_t>(), 2) << "recorded before the confirmation depth";
  }

  // 1b. /metrics tells the same story as the book: anchors sent and confirmed, the last anchored
  //     index and height; leading; no alert, funds fine. (Without mining the book settles.)
  {
    std::optional<prom_page> p;
    std::optional<json> l;
    ASSERT_TRUE(mine_until([&] {
      p = metrics(n);
      l = checkpoints(n);
      if (!p || !l || l->at("anchors").empty()) return false;
      const auto& last = l->at("anchors").back();
      return cp_metric(*p, "last_anchored_index") == last["index"].get<double>() &&
             cp_metric(*p, "last_anchored_height") == last["height"].get<double>() &&
             cp_metric(*p, "anchors_confirmed_total") == static_cast<double>(l->at("anchors").size());
    }, 0ms, 10s)) << (p ? "" : "no /metrics") << (l ? l->dump() : "");
    EXPECT_GE(cp_metric(*p, "anchors_sent_total"), static_cast<double>(l->at("anchors").size()));
    EXPECT_GE(cp_metric(*p, "anchors_built_total"), static_cast<double>(l->at("anchors").size()));
    EXPECT_EQ(cp_metric(*p, "leading"), 1);
    EXPECT_GT(cp_metric(*p, "qtum_height"), 100);
    EXPECT_GT(cp_metric(*p, "funds_sat"), 0);
    EXPECT_EQ(cp_metric(*p, "funds_low"), 0);
    for (const char* a : {"unreachable", "auth", "insufficient_funds", "rejected", "funds_low", "error"}) {
      EXPECT_EQ(cp_metric(*p, "alert", alert_label(a)), 0) << a;
    }
    EXPECT_EQ(cp_metric(*p, "errors_total", alert_label("unreachable")), 0);
  }

  // 2. checkpoint verify: PASS for a recorded index, FAIL for an index never anchored.
  const uint64_t first = anchors[0]["index"].get<uint64_t>();
  {
    auto [rc, out] = ctl("--endpoints " + endpoints() + " checkpoint verify " + std::to_string(first) + " " + qtum_flags());
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("PASS"), std::string::npos) << out;
    auto [rc2, out2] = ctl("--endpoints " + endpoints() + " checkpoint verify " + std::to_string(first + 1) + " " + qtum_flags());
    EXPECT_EQ(rc2, 13) << out2;
    EXPECT_NE(out2.find("FAIL"), std::string::npos) << out2;
  }

  // 3. account prove at the latest anchor; proof verify with only the Qtum node: PASS; tampered
  //    balance, a root never anchored, a txid that is not an anchor: FAIL.
  {
    const std::string coop = tools::address_to_text(coop_address_, crypto::network::regtest);
    const std::string proof = root_ + "/proof.json";
    auto [rc, out] = ctl("--endpoints " + endpoints() + " account prove " + coop + " --out " + proof);
    ASSERT_EQ(rc, 0) << out;
    auto [vrc, vout] = ctl("proof verify " + proof + " " + qtum_flags());
    EXPECT_EQ(vrc, 0) << vout;
    EXPECT_NE(vout.find("PASS"), std::string::npos) << vout;

    std::ifstream in(proof);
    const json good = json::parse(in);
    auto tampered_file = [&](const std::string& name, const std::function<void(json&)>& change) {
      json j = good;
      change(j);
      std::ofstream(root_ + "/" + name) << j.dump(2);
      return root_ + "/" + name;
    };
    // +1 unit in the leaf's TSL balance (bytes 55..62, big-endian i64 after address, kind, flags, key).
    const std::string richer = tampered_file("richer.json", [](json& j) {
      std::string leaf = j["leaf"].get<std::string>();
      char& last = leaf[2 * (20 + 2 + 33 + 8) - 1];
      last = last == '0' ? '1' : '0';
      j["leaf"] = leaf;
    });
    auto [trc, tout] = ctl("proof verify " + richer + " " + qtum_flags());
    EXPECT_EQ(trc, 13) << tout;
    EXPECT_NE(tout.find("does not verify"), std::string::npos) << tout;
    const std::string unanchored = tampered_file("unanchored.json", [](json& j) {
      j["state_root"] = std::string(64, 'a');
    });
    auto [urc, uout] = ctl("proof verify " + unanchored + " " + qtum_flags());
    EXPECT_EQ(urc, 13) << uout;
    EXPECT_NE(uout.find("never anchored"), std::string::npos) << uout;
    // The same proof pointed at a block's coinbase: not an anchor at all.
    const std::string not_anchor = tampered_file("coinbase.json", [&](json& j) {
      const auto hash = rpc_->get_block_hash(1).value();
      j["anchor"]["txid"] = qtum::txid_hex(rpc_->get_block(hash).value().txids[0]);
      j["anchor"]["block_hash"] = qtum::txid_hex(hash);
    });
    auto [nrc, nout] = ctl("proof verify " + not_anchor + " " + qtum_flags());
    EXPECT_EQ(nrc, 13) << nout;
    EXPECT_NE(nout.find("no Energo anchor"), std::string::npos) << nout;
  }

  // 4. A real reorg: the block holding the anchor in flight leaves the chain; the node sees it,
  //    sends the same transaction again, and records it on the new branch.
  {
    const auto sent = wait_anchor_in_mempool(n);
    ASSERT_TRUE(sent) << "no anchor in the mempool";
    const std::string txid = sent->txid;
    const uint64_t index = sent->index;
    const std::string block = chain::mine(*rpc_, 1, other_address_).at(0);  // holds the anchor
    const uint64_t reorgs_before = std::stoull(service_field(sent->list, "reorgs_seen"));
    // The node's tracker has connected that block (its chain height reached it) before the reorg.
    const uint64_t block_height = rpc_->get_block_count().value();
    ASSERT_TRUE(mine_until([&] {
      auto k = checkpoints(n);
      return k && std::stoull(service_field(*k, "chain_height")) >= block_height;
    }, 0ms, 10s));
    ASSERT_TRUE(rpc_->call("invalidateblock", json::array({block})));
    // A longer branch of empty blocks: the anchor is back in the mempool only.
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(rpc_->call("generateblock", json::array({other_address_, json::array()})));
    ASSERT_TRUE(mine_until([&] {
      auto k = checkpoints(n);
      return k && std::stoull(service_field(*k, "reorgs_seen")) > reorgs_before;
    }, 0ms, 10s)) << "the reorg was not seen";
    const auto after = wait_recorded(n, index);
    ASSERT_TRUE(after);
    const json* rec = record_of(*after, index);
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ((*rec)["txid"].get<std::string>(), txid) << "the same transaction, not a new anchor";
    EXPECT_NE((*rec)["block_hash"].get<std::string>(), block) << "recorded in the block that left the chain";
    EXPECT_GE(std::stoull(service_field(*after, "rebroadcasts")), 1u);
    const auto p = metrics(n);
    ASSERT_TRUE(p);
    EXPECT_GE(cp_metric(*p, "reorgs_total"), 1);
    EXPECT_GE(cp_metric(*p, "anchors_rebroadcast_total"), 1);
  }

  // 5. The Qtum node stops with an anchor in its mempool: alert `unreachable` (in the book's
  //    service and /metrics). It starts again WITHOUT its mempool (-persistmempool=0), so the
  //    anchor is gone: the service notices at the next block, sends the same transaction again,
  //    and it is recorded; the alert clears.
  {
    const auto sent = wait_anchor_in_mempool(n);
    ASSERT_TRUE(sent) << "no anchor in the mempool";
    const std::string txid = sent->txid;
    const uint64_t index = sent->index;
    lite_->stop();
    std::optional<prom_page> p;
    ASSERT_TRUE(mine_until([&] {
      auto k = checkpoints(n);
      p = metrics(n);
      return k && service_field(*k, "alert") == "unreachable" && p && cp_metric(*p, "alert", alert_label("unreachable")) == 1;
    }, 0ms, 15s)) << "no unreachable alert";
    EXPECT_GE(cp_metric(*p, "errors_total", alert_label("unreachable")), 1);
    lite_->start({"-persistmempool=0"});
    rpc_ = std::make_unique<qtum::rpc_client>(lite_->config());
    ASSERT_TRUE(rpc_->get_block_count());
    ASSERT_TRUE(rpc_->call("getrawmempool").value().empty()) << "the restarted node kept its mempool: nothing was dropped";
    const auto k = wait_recorded(n, index);
    ASSERT_TRUE(k);
    const json* rec = record_of(*k, index);
    ASSERT_NE(rec, nullptr) << k->dump();
    EXPECT_EQ((*rec)["txid"].get<std::string>(), txid) << "the dropped anchor was replaced instead of sent again";
    p = metrics(n);
    ASSERT_TRUE(p);
    EXPECT_GE(cp_metric(*p, "anchors_dropped_resent_total"), 1);
    EXPECT_EQ(cp_metric(*p, "alert", alert_label("unreachable")), 0);
  }

  // 5b. A stuck anchor: the Qtum node restarts without its mempool AND with a minimum relay fee
  //     twice Qtum's, so the same bytes are refused now ("min relay fee not met"). The service
  //     replaces the anchor: same index, the node's minimum rate, spending the same input (so the
  //     two conflict); the replacement is recorded and the index is on chain once (step 6).
  {
    const auto sent = wait_anchor_in_mempool(n);
    ASSERT_TRUE(sent) << "no anchor in the mempool";
    const std::string txid = sent->txid;
    const uint64_t index = sent->index;
    const json original = rpc_->call("getrawtransaction", json::array({txid, true})).value();  // in the mempool: no txindex needed
    const int64_t original_fee_sat =
        std::llround(rpc_->call("getmempoolentry", json::array({txid})).value()["fees"]["base"].get<double>() * 1e8);
    lite_->stop();
    lite_->start({"-persistmempool=0", "-minrelaytxfee=0.008"});
    rpc_ = std::make_unique<qtum::rpc_client>(lite_->config());
    const auto info = rpc_->call("getmempoolinfo").value();
    ASSERT_EQ(info["minrelaytxfee"].get<double>(), 0.008) << info.dump();
    const auto k = wait_recorded(n, index);
    ASSERT_TRUE(k);
    const json* rec = record_of(*k, index);
    ASSERT_NE(rec, nullptr) << k->dump();
    EXPECT_NE((*rec)["txid"].get<std::string>(), txid) << "recorded without a replacement?";
    // It spends the original's input, and pays at least the node's new minimum (800,000 sat/kvB).
    const auto replacement = rpc_->call("getrawtransaction", json::array({(*rec)["txid"], true, (*rec)["block_hash"]})).value();
    std::set<std::string> original_inputs;
    for (const auto& i : original["vin"]) original_inputs.insert(i["txid"].get<std::string>() + ":" + i["vout"].dump());
    bool shares = false, same_inputs = replacement["vin"].size() == original["vin"].size();
    for (const auto& i : replacement["vin"]) {
      const bool in = original_inputs.count(i["txid"].get<std::string>() + ":" + i["vout"].dump()) > 0;
      shares = shares || in;
      same_inputs = same_inputs && in;
    }
    EXPECT_TRUE(shares) << "the replacement does not conflict with the original: both could be mined";
    auto sat = [](const json& v) { return std::llround(v.get<double>() * 1e8); };
    int64_t original_out = 0, replacement_out = 0;
    for (const auto& o : original["vout"]) original_out += sat(o["value"]);
    for (const auto& o : replacement["vout"]) replacement_out += sat(o["value"]);
    if (same_inputs) {
      const int64_t fee = original_out + original_fee_sat - replacement_out;
      const int64_t rate = fee * 1000 / replacement["size"].get<int64_t>();
      std::printf("replacement for index %llu: fee %lld sat, %lld sat/kvB (the original paid %lld sat)\n",
                  static_cast<unsigned long long>(index), static_cast<long long>(fee), static_cast<long long>(rate),
                  static_cast<long long>(original_fee_sat));
      EXPECT_GE(rate, 800'000);
    }
    const auto p = metrics(n);
    ASSERT_TRUE(p);
    EXPECT_GE(cp_metric(*p, "anchors_replaced_total"), 1);
  }

  // 6. No index anchored twice on chain, and every recorded anchor is there once.
  const auto on_chain = anchors_on_chain();
  const auto final_list = checkpoints(n);
  std::printf("anchors recorded: %zu, on chain: %zu; service: %s\n", final_list->at("anchors").size(), on_chain.size(),
              final_list->at("service").dump().c_str());
  for (const auto& [index, txids] : on_chain) EXPECT_EQ(txids.size(), 1u) << "index " << index << " anchored twice";
  for (const auto& a : final_list->at("anchors")) {
    EXPECT_EQ(on_chain.count(a["index"].get<uint64_t>()), 1u) << a.dump();
  }
}

// Three nodes: the leader is killed while its anchor is in the mempool. The new leader resumes
// the replicated intent (the same transaction, sent again), records it once; no index anchored twice.
TEST_F(checkpoint_fixture, leader_killed_mid_anchor_new_leader_resumes_without_anchoring_twice) {
  REQUIRE_LITECOIND_OR_SKIP();
  begin(3);
  start_all(write_config("n"));
  const std::vector<const node_proc*> all{&nodes_[0], &nodes_[1], &nodes_[2]};
  auto leader = wait_leader(all, 20s);
  ASSERT_TRUE(leader);
  learn_cluster_id();
  node_proc* old_leader = by_id(*leader);
  const auto sent = wait_anchor_in_mempool(*old_leader);
  ASSERT_TRUE(sent) << "no anchor sent";
  const std::string txid = sent->txid;
  const uint64_t index = sent->index;
  // Leader-only: the followers' services marked, built and sent nothing; the leader did.
  for (const auto& n : nodes_) {
    const auto p = metrics(n);
    ASSERT_TRUE(p) << n.name;
    const bool leads = &n == old_leader;
    EXPECT_EQ(cp_metric(*p, "leading"), leads ? 1 : 0) << n.name;
    for (const char* c : {"marks_total", "anchors_built_total", "anchors_sent_total"}) {
      if (leads) EXPECT_GE(cp_metric(*p, c), 1) << n.name << " " << c;
      else EXPECT_EQ(cp_metric(*p, c), 0) << n.name << " " << c;
    }
  }
  stop(*old_leader, SIGKILL);
  std::vector<const node_proc*> live;
  for (auto& n : nodes_) if (&n != old_leader) live.push_back(&n);
  auto new_leader = wait_leader(live, 20s, old_leader->id);
  ASSERT_TRUE(new_leader);
  node_proc* nl = by_id(*new_leader);
  const auto k = wait_recorded(*nl, index, /*after=*/true);
  ASSERT_TRUE(k);
  const json* rec = record_of(*k, index);
  ASSERT_NE(rec, nullptr) << "the anchor in flight was never recorded";
  EXPECT_EQ((*rec)["txid"].get<std::string>(), txid) << "the new leader anchored the index again";
  EXPECT_GE(std::stoull(service_field(*k, "rebroadcasts")), 1u) << "the new leader did not resume the intent";
  // Every replica holds the same records (checked against its own roots when applied).
  for (const auto* n : live) {
    auto other = checkpoints(*n);
    ASSERT_TRUE(other);
    const auto count = std::min(other->at("anchors").size(), k->at("anchors").size());
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(other->at("anchors")[i], k->at("anchors")[i]);
  }
  for (const auto& [i, txids] : anchors_on_chain()) EXPECT_EQ(txids.size(), 1u) << "index " << i << " anchored twice";
  // Every live replica publishes the book's gauges, followers included.
  const double last = k->at("anchors").back()["index"].get<double>();
  for (const auto* n : live) {
    std::optional<prom_page> p;
    EXPECT_TRUE(mine_until([&] {
      p = metrics(*n);
      return p && cp_metric(*p, "last_anchored_index") >= last;
    }, 0ms, 10s)) << n->name;
  }
}

// One node restarted with faulty settings: each fault is a clear alert with the reason, and
// nothing is replicated or sent; then a low-funds alert while anchoring still works.
TEST_F(checkpoint_fixture, wrong_credentials_fee_too_low_insufficient_funds_and_low_funds_alerts) {
  REQUIRE_LITECOIND_OR_SKIP();
  begin(1);
  auto& n = nodes_[0];
  const auto empty_key = tools::key_file::of(crypto::secp256k1_secret_key::generate(), crypto::network::regtest);
  ASSERT_TRUE(tools::write_key_file(root_ + "/empty_key.json", empty_key, true));
  struct fault_case {
    std::string name, extra, key, alert, reason;
  };
  const std::vector<fault_case> cases = {
      {"auth", "rpc_user = \"nobody\"\nrpc_password = \"wrong\"\n", "qtum_key.json", "auth", "401"},
      {"fee", "relay_fee_min_sat_per_kvb = 1000\nfee_rate_sat_per_kvb = 1000\n", "qtum_key.json", "rejected",
       "min relay fee not met"},
      {"funds", "", "empty_key.json", "insufficient_funds", "insufficient funds"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    start_with(n, write_config(c.name, c.extra, c.key));
    ASSERT_TRUE(wait_leader({&n}, 20s));
    std::optional<json> j;
    std::optional<prom_page> p;
    ASSERT_TRUE(mine_until([&] {
      j = checkpoints(n);
      p = metrics(n);
      return j && service_field(*j, "alert") == c.alert && p && cp_metric(*p, "alert", alert_label(c.alert.c_str())) == 1;
    }, 0ms, 15s)) << (j ? j->dump() : "no answer");
    EXPECT_GE(cp_metric(*p, "errors_total", alert_label(c.alert.c_str())), 1);
    EXPECT_EQ(cp_metric(*p, "funds_low"), c.name == "funds" ? 1 : 0) << "funds_low is about funds only";
    EXPECT_NE(service_field(*j, "last_error").find(c.reason), std::string::npos) << j->dump();
    EXPECT_TRUE(j->at("in_flight").is_null()) << "a refused anchor was replicated";
    std::printf("%s: %s\n", c.name.c_str(), service_field(*j, "last_error").c_str());
    stop(n, SIGTERM);
  }
  EXPECT_TRUE(rpc_->call("getrawmempool").value().empty()) << "something was sent";
  // Funds low, with marks by time only (every_ms; the entry interval is out of reach): anchoring
  // works, the alert says how much is left and /metrics raises funds_low. The marks earlier
  // cases left unanchored are anchored first; each new mark comes every_ms after the one before.
  constexpr auto every = 2000ms;
  start_with(n, write_config("low", "funds_low_sat = 1000000000000\n", "qtum_key.json",
                             "every_entries = 1000000000\nevery_ms = " + std::to_string(every.count()) + "\n"));
  ASSERT_TRUE(wait_leader({&n}, 20s));
  std::set<uint64_t> old_marks;
  std::map<uint64_t, clock_type::time_point> new_marks;  // first seen
  std::optional<json> j;
  ASSERT_TRUE(mine_until([&] {
    j = checkpoints(n);
    if (!j) return false;
    const bool first = old_marks.empty() && new_marks.empty();
    for (const auto& m : j->at("marks")) {
      const auto index = m["index"].get<uint64_t>();
      if (first) old_marks.insert(index);
      else if (!old_marks.count(index)) new_marks.emplace(index, clock_type::now());
    }
    if (first && old_marks.empty()) old_marks.insert(0);  // none: later marks are all new
    return new_marks.size() >= 3 && !j->at("anchors").empty();
  }, 100ms)) << (j ? j->dump() : "");
  ASSERT_FALSE(old_marks.empty());
  for (auto it = std::next(new_marks.begin()); it != new_marks.end(); ++it) {
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(it->second - std::prev(it)->second);
    std::printf("mark %llu: %lld ms after the one before\n", static_cast<unsigned long long>(it->first),
                static_cast<long long>(gap.count()));
    // Seen by polling every ~100-150 ms: allow that much early.
    EXPECT_GE(gap, every - 400ms) << "mark " << it->first << " came before every_ms";
    EXPECT_LE(gap, every + 4000ms) << "mark " << it->first << " came long after every_ms";
  }
  EXPECT_EQ(service_field(*j, "alert"), "funds_low") << j->dump();
  EXPECT_NE(service_field(*j, "last_error").find("sat left"), std::string::npos) << j->dump();
  const auto p = metrics(n);
  ASSERT_TRUE(p);
  EXPECT_EQ(cp_metric(*p, "funds_low"), 1);
  EXPECT_EQ(cp_metric(*p, "alert", alert_label("funds_low")), 1);
  EXPECT_EQ(cp_metric(*p, "funds_low_threshold_sat"), 1e12);
  EXPECT_GT(cp_metric(*p, "funds_sat"), 0);
  EXPECT_LT(cp_metric(*p, "funds_sat"), 1e12);
}

}  // namespace
