// The query layer (actors/query*.cpp), the analytics index (actors/analytics.cpp) and storage
// sizing (node/sizing.cpp), in process: pure functions of a ledger replayed from the example
// community's day (examples/community). The statement reconciliation oracle is the ledger's own
// lifetime counters, which the index never reads when booking figures by day.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/analytics.hpp"
#include "actors/query.hpp"
#include "node/sizing.hpp"
#include "tools/command_json.hpp"

namespace {

using namespace energo;
using json = nlohmann::json;

struct replayed {
  ledger::genesis genesis;
  ledger::ledger led;
  actors::analytics_index index;
  std::vector<int64_t> days;  // days that saw commands
};

replayed replay_example() {
  auto g = tools::read_genesis_file("examples/community/genesis.json");
  EXPECT_TRUE(g);
  auto led = ledger::ledger::create(*g);
  EXPECT_TRUE(led);
  auto index = actors::analytics_index::starting_at(*led);
  EXPECT_TRUE(index.from_genesis());
  std::ifstream in("examples/community/commands.jsonl");
  tools::json_lines_reader reader(in);
  std::set<int64_t> days;
  for (;;) {
    auto line = reader.next();
    EXPECT_TRUE(line);
    if (!line || !line->has_value()) break;
    auto cmd = tools::command_from_line(**line, reader.line_number(), g->network, tools::signature_form::signed_form);
    EXPECT_TRUE(cmd);
    const int64_t t = led->time_ms();
    const uint64_t e = led->epoch();
    if (led->apply(*cmd)) index.observe(*led, t, e, reader.line_number(), &*cmd);
    days.insert(t / actors::limits::ms_per_day);
  }
  return {*g, std::move(*led), std::move(index), {days.begin(), days.end()}};
}

json ask(replayed& r, const std::string& name, const json& params, bool expect_ok = true) {
  const auto a = actors::run_query(actors::query_context{r.led, 7, &r.led, &r.index}, name, params.dump());
  EXPECT_EQ(a.ok, expect_ok) << name << " " << params << ": " << a.text;
  if (!a.ok) return json{{"error", std::string(net::to_string(a.code))}, {"message", a.text}};
  return json::parse(a.text);
}

std::string addr(const ledger::ledger& l, ledger::account_index i) {
  crypto::address a;
  a.version = crypto::qtum_pubkey_version_testnet;
  a.hash = l.accounts()[i].address;
  return a.to_string();
}

TEST(analytics, StatementsReconcileExactlyWithLifetimeCounters) {
  auto r = replay_example();
  ASSERT_FALSE(r.days.empty());
  ASSERT_TRUE(r.index.complete());
  const auto& l = r.led;
  int64_t volume = 0, minted = 0, owner_fees_paid = 0;
  std::map<ledger::account_index, int64_t> owner_fees;
  for (const auto& u : l.storage_units()) owner_fees[u.owner] += u.fees_earned_units;
  std::size_t members_with_activity = 0;
  for (ledger::account_index i = 0; i < l.accounts().size(); ++i) {
    const auto& a = l.accounts()[i];
    if (a.kind != ledger::account_kind::member) continue;
    // Sum of the daily statements over every day with activity (and the month statement).
    std::map<std::string, int64_t> sum;
    for (const int64_t d : r.days) {
      auto s = ask(r, "statement", {{"address", addr(l, i)}, {"day", actors::day_text(d)}});
      ASSERT_TRUE(s["complete"].get<bool>());
      for (auto it = s["total"].begin(); it != s["total"].end(); ++it)
        if (it->is_number_integer()) sum[it.key()] += it->get<int64_t>();
    }
    EXPECT_EQ(sum["stored_wh"], a.minted_wh) << addr(l, i);
    EXPECT_EQ(sum["community_wh"], a.burned_wh) << addr(l, i);
    EXPECT_EQ(sum["grid_export_wh"], a.grid_export_wh) << addr(l, i);
    EXPECT_EQ(sum["grid_import_wh"], a.grid_import_wh) << addr(l, i);
    EXPECT_EQ(sum["fees_paid_units"], a.fees_paid_units) << addr(l, i);
    EXPECT_EQ(sum["produced_wh"], a.minted_wh + a.grid_export_wh);
    EXPECT_EQ(sum["consumed_wh"], a.burned_wh + a.grid_import_wh);
    EXPECT_EQ(sum["fees_earned_units"], owner_fees[i]) << addr(l, i);
    EXPECT_EQ(sum["grants_units"], a.granted ? l.params().grant_units : 0) << addr(l, i);
    volume += sum["bought_wh"];
    minted += sum["stored_wh"];
    owner_fees_paid += sum["fees_earned_units"];
    members_with_activity += sum["produced_wh"] + sum["consumed_wh"] > 0 ? 1 : 0;
    auto month = ask(r, "statement", {{"address", addr(l, i)}, {"month", actors::day_text(r.days[0]).substr(0, 7)}});
    EXPECT_EQ(month["total"]["stored_wh"], a.minted_wh);
    EXPECT_EQ(month["lifetime"]["minted_wh"], a.minted_wh);
  }
  EXPECT_GE(members_with_activity, 5u) << "the example day must exercise the index";
  EXPECT_GT(minted, 0);
  EXPECT_EQ(minted, l.sums().watt_minted_wh);
  EXPECT_EQ(volume, l.sums().market_volume_wh);
  EXPECT_EQ(owner_fees_paid, l.sums().fees_to_owners_units);
  EXPECT_GT(l.sums().fees_to_owners_units, 0);
  // Community analytics: the day's total is the sum over members; self-sufficiency in per mille.
  auto c = ask(r, "analytics", {{"epochs", 4}});
  EXPECT_EQ(c["total"]["stored_wh"], l.sums().watt_minted_wh);
  EXPECT_EQ(c["total"]["grid_import_wh"], l.sums().grid_import_wh);
  const auto& t = c["total"];
  if (t["consumed_wh"].get<int64_t>() > 0) {
    EXPECT_EQ(t["self_sufficiency_permille"], t["community_wh"].get<int64_t>() * 1000 / t["consumed_wh"].get<int64_t>());
  }
  EXPECT_LE(c["epochs"].size(), 4u);
}

// The account history (query account_history), paged to the end, against oracles the index never
// reads: the ledger's lifetime counters, the storage units' fee counters, and each account's TSL
// and WATT balances rebuilt from its genesis allocation and the history's events alone.
TEST(analytics, AccountHistoryReconcilesWithTheLedger) {
  auto r = replay_example();
  ASSERT_TRUE(r.index.history_complete());
  const auto& l = r.led;
  std::map<ledger::account_index, int64_t> owner_fees;
  for (const auto& u : l.storage_units()) owner_fees[u.owner] += u.fees_earned_units;
  std::map<ledger::account_address, int64_t> allocation;
  for (const auto& a : r.genesis.allocations) allocation[a.account] += a.tsl_units;
  std::size_t with_transfers = 0, with_trades = 0, events_total = 0;
  for (ledger::account_index i = 0; i < l.accounts().size(); ++i) {
    const auto& a = l.accounts()[i];
    if (a.kind != ledger::account_kind::member) continue;
    std::map<std::string, int64_t> wh, units;
    std::vector<uint64_t> seqs;
    json page = ask(r, "account_history", {{"address", addr(l, i)}, {"limit", 7}});
    for (int pages = 0;; ++pages) {
      ASSERT_LT(pages, 10000);
      EXPECT_TRUE(page["complete"].get<bool>());
      EXPECT_LE(page["events"].size(), 7u);
      for (const auto& e : page["events"]) {
        wh[e["kind"]] += e["wh"].get<int64_t>();
        units[e["kind"]] += e["units"].get<int64_t>();
        seqs.push_back(e["seq"].get<uint64_t>());
      }
      if (!page.contains("next_before")) break;
      page = ask(r, "account_history", {{"address", addr(l, i)}, {"limit", 7}, {"before", page["next_before"]}});
    }
    events_total += seqs.size();
    EXPECT_TRUE(std::is_sorted(seqs.rbegin(), seqs.rend()) && std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end())
        << "pages are newest first, without repeats";
    const auto who = addr(l, i);
    EXPECT_EQ(wh["minted"], a.minted_wh) << who;
    EXPECT_EQ(wh["burned"], a.burned_wh) << who;
    EXPECT_EQ(wh["grid_export"], a.grid_export_wh) << who;
    EXPECT_EQ(wh["grid_import"], a.grid_import_wh) << who;
    EXPECT_EQ(units["fee_paid"], a.fees_paid_units) << who;
    EXPECT_EQ(units["fee_earned"], owner_fees[i]) << who;
    EXPECT_EQ(units["grant"], a.granted ? l.params().grant_units : 0) << who;
    const int64_t tsl = allocation[a.address] + units["transfer_in"] - units["transfer_out"] + units["sold"] - units["bought"] -
                        units["fee_paid"] + units["fee_earned"] + units["grant"] + units["station_fee"] - units["ev_charge"];
    EXPECT_EQ(tsl, a.tsl_units) << who << ": TSL from the history alone";
    const int64_t watt = wh["minted"] - wh["burned"] + wh["bought"] - wh["sold"] + wh["transfer_in"] - wh["transfer_out"];
    EXPECT_EQ(watt, a.watt_wh) << who << ": WATT from the history alone";
    with_transfers += units["transfer_in"] + units["transfer_out"] + wh["transfer_in"] + wh["transfer_out"] > 0 ? 1 : 0;
    with_trades += wh["bought"] + wh["sold"] > 0 ? 1 : 0;
  }
  EXPECT_GE(with_transfers, 2u) << "the example day must exercise transfers";
  EXPECT_GE(with_trades, 2u) << "and trades";
  EXPECT_EQ(events_total, r.index.history().size()) << "every event belongs to exactly one member's history";
  // Bad paging parameters.
  EXPECT_EQ(ask(r, "account_history", {{"address", addr(l, 2)}, {"limit", 0}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "account_history", {{"address", addr(l, 2)}, {"limit", 501}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "account_history", {{"address", addr(l, 2)}, {"before", 0}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "account_history", {{"address", addr(l, 2)}, {"before", 1}})["events"].size(), 0u);
}

// The ring keeps the newest history_events_max events; once one is dropped the history says it is
// not complete, and what is kept still round-trips through the bytes.
TEST(analytics, AccountHistoryIsBounded) {
  auto r = replay_example();
  const auto before = r.index.history().size();
  ASSERT_GT(before, 0u);
  // Daily ticks book storage fees for every member holding WATT: events without new commands
  // (measured: cheaper than one tick per epoch, which books fewer fees per tick).
  while (r.index.history_dropped() == 0) {
    const int64_t t = r.led.time_ms();
    const uint64_t e = r.led.epoch();
    ASSERT_TRUE(r.led.apply(ledger::command{ledger::tick{t + actors::limits::ms_per_day}, {}}));
    r.index.observe(r.led, t, e);
    ASSERT_LT(r.led.time_ms() - t, 2 * actors::limits::ms_per_day);
    if (r.index.history().size() == before && r.led.epoch() > 1'000'000) FAIL() << "ticks book no events";
  }
  EXPECT_EQ(r.index.history().size(), actors::limits::history_events_max);
  EXPECT_FALSE(r.index.history_complete());
  EXPECT_FALSE(ask(r, "account_history", {{"address", addr(r.led, 2)}})["complete"].get<bool>());
  auto back = actors::analytics_index::decode(r.index.encode());
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == r.index);
}

TEST(analytics, EncodeDecodeRoundTripAndHostileBytes) {
  auto r = replay_example();
  const auto bytes = r.index.encode();
  auto back = actors::analytics_index::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == r.index);
  EXPECT_EQ(back->encode(), bytes);
  EXPECT_FALSE(actors::analytics_index::decode(""));
  EXPECT_FALSE(actors::analytics_index::decode(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(actors::analytics_index::decode(bytes + "x"));
  // A huge count right after the header must be refused before any allocation.
  std::string huge = bytes;
  for (int k = 0; k < 4; ++k) huge[22 + k] = '\xff';  // n_seen
  EXPECT_FALSE(actors::analytics_index::decode(huge));
  // Random single-byte mutations: never a crash; what decodes re-encodes to itself.
  const uint32_t seed = 20261201;
  std::printf("analytics mutation seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int k = 0; k < 500; ++k) {
    std::string m = bytes;
    m[rng() % m.size()] ^= static_cast<char>(1u << (rng() % 8));
    if (auto d = actors::analytics_index::decode(m)) {
      EXPECT_EQ(d->encode(), m);
    }
  }
}

TEST(analytics, RetentionDropsOldestDaysAndMarksIncomplete) {
  auto r = replay_example();
  // Members keep WATT after the example day, so every day of ticks books storage fees.
  const std::size_t ticks = actors::limits::analytics_days_kept + 3;
  for (std::size_t k = 0; k < ticks; ++k) {
    const int64_t t = r.led.time_ms();
    const uint64_t e = r.led.epoch();
    ASSERT_TRUE(r.led.apply(ledger::command{ledger::tick{t + actors::limits::ms_per_day}, {}}));
    r.index.observe(r.led, t, e);
  }
  EXPECT_EQ(r.index.days().size(), actors::limits::analytics_days_kept);
  EXPECT_LE(r.index.epochs().size(), actors::limits::analytics_epochs_kept);
  EXPECT_FALSE(r.index.complete());
  EXPECT_TRUE(r.index.from_genesis());
  EXPECT_GT(r.index.first_day_dropped(), static_cast<uint64_t>(r.days[0]));
  auto first = ask(r, "statement", {{"address", addr(r.led, 2)}, {"day", actors::day_text(r.days[0])}});
  EXPECT_FALSE(first["complete"].get<bool>());
  auto last = ask(r, "statement", {{"address", addr(r.led, 2)}, {"day", actors::day_text(r.led.time_ms() / actors::limits::ms_per_day - 1)}});
  EXPECT_TRUE(last["complete"].get<bool>());
  EXPECT_GT(last["total"]["fees_paid_units"].get<int64_t>(), 0);
  // The retained index still round-trips.
  auto back = actors::analytics_index::decode(r.index.encode());
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == r.index);
}

TEST(analytics, Calendar) {
  EXPECT_EQ(actors::parse_day("2024-06-21"), actors::days_from_civil(2024, 6, 21));
  EXPECT_EQ(actors::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(actors::days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(actors::day_text(*actors::parse_day("2024-02-29")), "2024-02-29");
  EXPECT_FALSE(actors::parse_day("2023-02-29"));
  EXPECT_FALSE(actors::parse_day("2024-13-01"));
  EXPECT_FALSE(actors::parse_day("2024-6-21"));
  const auto m = actors::parse_month("2024-12");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->second - m->first, 31);
  EXPECT_EQ(actors::parse_month("2024-02")->second - actors::parse_month("2024-02")->first, 29);
  EXPECT_FALSE(actors::parse_month("2024-00"));
}

TEST(query, ParametersAreCheckedAndAnswersBounded) {
  auto r = replay_example();
  // Names are sorted (the dispatcher's binary search relies on it).
  const auto& names = actors::query_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(ask(r, "book", {{"levels", 0}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "book", {{"levels", 1001}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "book", {{"levelz", 3}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "trades", {{"limit", -1}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "account", {{"address", 12}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "account", json::object(), false)["error"], "malformed");
  EXPECT_EQ(ask(r, "statement", {{"address", addr(r.led, 2)}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "statement", {{"address", addr(r.led, 2)}, {"day", "2024-02-30"}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "analytics", {{"from", "2020-01-01"}, {"to", "2024-01-01"}}, false)["error"], "malformed");
  EXPECT_EQ(ask(r, "nosuch", json::object(), false)["error"], "not_supported");
  const auto bad = actors::run_query(actors::query_context{r.led, 0}, "book", "[1]");
  EXPECT_FALSE(bad.ok);
  // Without the analytics index or a provable ledger: not_supported, never a crash.
  const auto no_ix = actors::run_query(actors::query_context{r.led, 0}, "analytics", "{}");
  EXPECT_EQ(no_ix.code, net::client_errc::not_supported);
  const auto no_proof = actors::run_query(actors::query_context{r.led, 0}, "account",
                                          json{{"address", addr(r.led, 2)}, {"proof", true}}.dump());
  EXPECT_EQ(no_proof.code, net::client_errc::not_supported);
  // account: counters and a proof that verifies against the root.
  auto a = ask(r, "account", {{"address", addr(r.led, 2)}, {"proof", true}});
  EXPECT_TRUE(a["found"].get<bool>());
  EXPECT_EQ(a["minted_wh"], r.led.accounts()[2].minted_wh);
  EXPECT_TRUE(a["proof"]["verified"].get<bool>());
  EXPECT_EQ(a["proof"]["state_root"], crypto::to_hex(r.led.state_root()));
  EXPECT_EQ(a["applied_index"], 7);
  // Every query answers on the example state (pools by name too).
  EXPECT_EQ(ask(r, "account", {{"address", "education-pool"}})["kind"], "education_pool");
  for (const auto& n : names) {
    json p = json::object();
    if (n == "account" || n == "orders" || n == "agent" || n == "account_history") p["address"] = addr(r.led, 2);
    if (n == "statement") p = {{"address", addr(r.led, 2)}, {"month", "2024-06"}};
    if (n == "nonce") p["key"] = std::string(64, '0');
    ask(r, std::string(n), p);
  }
  // epochs and trades are bounded by their limits.
  EXPECT_LE(ask(r, "epochs", {{"limit", 2}})["epochs"].size(), 2u);
  EXPECT_LE(ask(r, "trades", {{"limit", 1}})["trades"].size(), 1u);
}

TEST(sizing, SpecExampleAndRounding) {
  // SPEC §3.7: Cu = $300, P = $200/kWh → Bmax = 2 kWh; capacity per user 1.5 kWh.
  auto s = node::size_storage({1, 30000, 20000});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bmax_wh, 2000);
  EXPECT_EQ(s->capacity_per_user_wh, 1500);
  EXPECT_EQ(s->cost_cents, 30000) << "one user costs Cu";
  EXPECT_EQ(s->containers, 1);
  EXPECT_EQ(s->area_m2, 30);
  auto big = node::size_storage({1067, 30000, 20000});  // 1,600,500 Wh: just above two containers
  ASSERT_TRUE(big);
  EXPECT_EQ(big->containers, 3);
  // Cu = 100, P = 300 → Bmax = floor(400000 / 900) = 444 Wh; per user ceil(1332 / 4) = 333 Wh.
  auto odd = node::size_storage({3, 100, 300});
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->bmax_wh, 444);
  EXPECT_EQ(odd->capacity_per_user_wh, 333);
  EXPECT_EQ(odd->capacity_wh, 999);
  EXPECT_EQ(odd->cost_cents, 300) << "ceil(999 × 300 / 1000) = 300";
  EXPECT_FALSE(node::size_storage({0, 30000, 20000}));
  EXPECT_FALSE(node::size_storage({1, 30000, 0}));
  EXPECT_FALSE(node::size_storage({node::limits::sizing_users_max + 1, 30000, 20000}));
}

}  // namespace
