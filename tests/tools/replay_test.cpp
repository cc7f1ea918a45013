// The replay of the committed sample community, in-process: SPEC §3.9 invariants hold, the state
// root is reproducible, and the example shows what it promises (minting, burning, grid, fees).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include "tools/replay.hpp"

namespace energo::tools {
namespace {

using namespace test;

struct replayed {
  std::optional<ledger::ledger> state;
  replay_summary summary;
  std::vector<json> results;
};

replayed replay_example(const replay_options& options = {}) {
  replayed out;
  auto g = read_genesis_file((example_dir / "genesis.json").string());
  EXPECT_TRUE(g.has_value()) << g.error().to_string();
  if (!g) return out;
  auto l = ledger::ledger::create(*g);
  EXPECT_TRUE(l.has_value());
  if (!l) return out;
  out.state.emplace(std::move(*l));
  std::ifstream in(example_dir / "commands.jsonl", std::ios::binary);
  EXPECT_TRUE(in.good());
  auto summary = replay_commands(*out.state, in, options, [&](const command_record& r) { out.results.push_back(result_line_json(r)); });
  EXPECT_TRUE(summary.has_value()) << (summary ? "" : summary.error().message);
  if (summary) out.summary = *summary;
  return out;
}

TEST(Replay, ExampleKeepsTheLedgerInvariants) {
  replay_options options;
  options.check_invariants = true;  // after every command
  auto r = replay_example(options);
  ASSERT_TRUE(r.state.has_value());
  auto& l = *r.state;
  EXPECT_EQ(l.tsl_total_units(), ledger::tsl_supply_units);
  EXPECT_EQ(l.tsl_total_units(), 100'000'000'000'000'000LL);
  EXPECT_EQ(l.watt_total_wh(), l.sums().watt_minted_wh - l.sums().watt_burned_wh);
  EXPECT_TRUE(l.check_invariants().empty());
  for (const auto& a : l.accounts()) {
    EXPECT_GE(a.tsl_units, 0);
    EXPECT_GE(a.watt_wh, 0);
    EXPECT_LE(a.watt_wh, l.bmax_wh());
  }
}

TEST(Replay, ExampleEndsWithNonTrivialResults) {
  auto r = replay_example();
  ASSERT_TRUE(r.state.has_value());
  auto& l = *r.state;
  const auto& s = l.sums();
  EXPECT_GT(s.watt_minted_wh, 0);
  EXPECT_GT(s.watt_burned_wh, 0);
  EXPECT_GT(s.grid_export_wh, 0) << "Bmax and the newcomer without TSL send energy to the grid";
  EXPECT_GT(s.grid_import_wh, 0) << "consumers without WATT import from the grid";
  EXPECT_GT(s.fees_collected_units, 0);
  EXPECT_GT(s.fees_to_owners_units, 0);
  EXPECT_GT(s.fees_to_education_units, 0);
  EXPECT_EQ(s.fees_collected_units, s.fees_to_owners_units + s.fees_to_education_units + s.fees_to_network_units);
  // Every epoch's split is 10% / 10% floored, the rest to owners; owners get at least 79% overall.
  EXPECT_LE(s.fees_to_education_units * 10, s.fees_collected_units);
  EXPECT_GE(s.fees_to_owners_units * 100, s.fees_collected_units * 79);
  EXPECT_EQ(s.grants_paid_units, 10 * ledger::tsl_units_per_tsl);
  EXPECT_EQ(l.epoch(), 96u) << "a full day of 15-minute epochs";
  EXPECT_EQ(l.meters().size(), 6u);
  EXPECT_EQ(l.storage_units().size(), 3u);
  for (const auto& u : l.storage_units()) EXPECT_GT(u.fees_earned_units, 0);

  EXPECT_EQ(r.summary.commands, example_command_count());
  EXPECT_GT(r.summary.commands, 96 * 10) << "a day of readings, reports and ticks";
  EXPECT_EQ(r.summary.refused, 1) << "exactly the one replayed meter reading";
  EXPECT_EQ(r.summary.refused_by_code.at("stale_nonce"), 1);
  EXPECT_EQ(r.summary.by_type.at("transfer").applied, 4);
  EXPECT_EQ(r.summary.by_type.at("meter_reading").applied, 576);
  EXPECT_EQ(r.summary.by_type.at("set_agent").applied, 4);
  EXPECT_EQ(r.summary.by_type.at("place_order").applied, 1);
  EXPECT_GT(l.sums().market_trades, 0) << "the agents and the manual order trade on the book";
  EXPECT_GT(l.sums().agent_orders, 0);
}

TEST(Replay, SameStateRootTwiceAndAfterSnapshotRestore) {
  auto first = replay_example();
  auto second = replay_example();
  ASSERT_TRUE(first.state && second.state);
  const auto root = first.state->state_root();
  EXPECT_EQ(root, second.state->state_root());
  auto restored = ledger::ledger::restore(first.state->snapshot());
  ASSERT_TRUE(restored.has_value()) << restored.error().message;
  EXPECT_EQ(restored->state_root(), root);
  // The state JSON carries the same root.
  state_json_options options;
  EXPECT_EQ(state_json(*first.state, &first.summary, options)["state_root"], crypto::to_hex(root));
}

TEST(Replay, ResultLinesReportOutcomesAndRefusals) {
  auto r = replay_example();
  ASSERT_EQ(static_cast<int64_t>(r.results.size()), example_command_count());
  EXPECT_EQ(r.results[0]["index"], 0);
  EXPECT_EQ(r.results[0]["line"], 1);
  EXPECT_EQ(r.results[0]["type"], "set_params");
  EXPECT_EQ(r.results[0]["ok"], true);
  int refused = 0;
  int64_t minted = 0;
  for (const auto& line : r.results) {
    if (line["ok"] == false) {
      ++refused;
      EXPECT_EQ(line["type"], "meter_reading");
      EXPECT_EQ(line["error"]["code"], "stale_nonce");
      EXPECT_FALSE(line["error"]["message"].get<std::string>().empty());
      EXPECT_FALSE(line.contains("outcome"));
    } else {
      minted += line["outcome"]["minted_wh"].get<int64_t>();
    }
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(minted, r.state->sums().watt_minted_wh) << "result lines add up to the totals";
}

TEST(Replay, BadLineStopsWithItsLineNumberAndTamperedSignatureIsRefused) {
  const auto g = sample_genesis();
  const auto gh = g.hash();
  const auto alice = secp_key("alice");
  const auto bob = address_of(secp_key("bob"));
  auto good = ledger::sign_secp256k1(ledger::transfer{alice.public_key(), 1, bob, ledger::asset::tsl, 100}, alice, gh);
  auto tampered_json = command_to_json(ledger::sign_secp256k1(ledger::transfer{alice.public_key(), 2, bob, ledger::asset::tsl, 100}, alice, gh),
                                       g.network, signature_form::signed_form);
  tampered_json["amount"] = 1'000'000;  // the signature was over 100

  {
    std::istringstream in(command_to_line(good, g.network, signature_form::signed_form) + "\n" + dump_compact(tampered_json) + "\n");
    auto l = ledger::ledger::create(g);
    ASSERT_TRUE(l.has_value());
    std::vector<std::string> codes;
    auto s = replay_commands(*l, in, {}, [&](const command_record& r) {
      codes.push_back(r.outcome->has_value() ? "ok" : std::string(ledger::errc_name(r.outcome->error().code)));
    });
    ASSERT_TRUE(s.has_value()) << "a refused command is part of the record, not a failure";
    EXPECT_EQ(codes, (std::vector<std::string>{"ok", "bad_signature"}));
    EXPECT_EQ(l->find_account(bob)->tsl_units, g.allocations[2].tsl_units + 100);
  }
  {
    std::istringstream in(dump_compact(tampered_json) + "\n");
    auto l = ledger::ledger::create(g);
    replay_options trust;
    trust.verify_signatures = false;
    auto s = replay_commands(*l, in, trust, {});
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->applied, 1) << "--no-verify applies what the log says";
  }
  {
    std::istringstream in(command_to_line(good, g.network, signature_form::signed_form) + "\n\n{\"type\":\"tick\",\"time_ms\":1.5}\n");
    auto l = ledger::ledger::create(g);
    auto s = replay_commands(*l, in, {}, {});
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().kind, replay_failure_kind::bad_input);
    EXPECT_NE(s.error().message.find("line 3"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("time_ms"), std::string::npos) << s.error().message;
  }
}

}  // namespace
}  // namespace energo::tools
