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

#include "tests/qtum/litecoind_fixture.hpp"

namespace energo::qtum {
namespace {

using namespace test_chain;
namespace fs = std::filesystem;

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
