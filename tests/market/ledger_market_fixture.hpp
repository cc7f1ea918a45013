#pragma once
// Test world for the market, the automatic agents and EV charging at the LEDGER level (SPEC §4–5):
// every command is signed and goes through ledger::verify_and_apply, exactly as a replica applies
// the log. Patterns follow tests/ledger/ledger_fixture.hpp (owned by the ledger tests), but this
// header is self-contained so the two folders can evolve independently.
//
// Two assertions carry every test:
//   must(cmd)     — applied; ledger invariants hold; no executable crossing pair of different
//                   accounts is left in the book (checked independently of the book's own code).
//   refused(cmd)  — the expected error code, and the state root and snapshot bytes are unchanged.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"
#include "tests/ledger/refusal_check.hpp"

namespace energo::ledger::market_test {

// --- keys (derived once; secp256k1 public keys cost tens of microseconds each) ---------------

inline std::array<uint8_t, 32> seed_for(uint8_t tag, uint32_t n) {
  std::array<uint8_t, 32> seed{};
  seed[0] = tag;
  seed[30] = static_cast<uint8_t>(n >> 8);
  seed[31] = static_cast<uint8_t>(n + 1);  // never all-zero
  return seed;
}

// Accounts 0..9 by role (see the genesis below); 10 is never created.
enum : uint32_t { alice = 0, bob, carol, dave, erin, frank, sam, vera, walt, whale, stranger, account_count };

struct key_cache {
  std::vector<crypto::secp256k1_secret_key> secrets;
  std::vector<crypto::secp256k1_public_key> publics;
  std::vector<account_address> addresses;
  std::vector<crypto::ed25519_keypair> admins, meters, stations, units;
  key_cache() {
    for (uint32_t n = 0; n < account_count; ++n) {
      auto key = crypto::secp256k1_secret_key::from_bytes(seed_for(0x5e, n));
      ENERGO_ASSERT(key.has_value(), "test secret must be a valid scalar");
      secrets.push_back(*key);
      publics.push_back(key->public_key());
      addresses.push_back(crypto::hash160_of(publics.back().bytes));
    }
    for (uint32_t n = 0; n < 2; ++n) admins.push_back(crypto::ed25519_keypair::from_seed(seed_for(0xad, n)));
    for (uint32_t n = 0; n < account_count; ++n) meters.push_back(crypto::ed25519_keypair::from_seed(seed_for(0x3e, n)));
    for (uint32_t n = 0; n < 4; ++n) stations.push_back(crypto::ed25519_keypair::from_seed(seed_for(0x57, n)));
    for (uint32_t n = 0; n < 2; ++n) units.push_back(crypto::ed25519_keypair::from_seed(seed_for(0x50, n)));
  }
};
inline const key_cache& keys() {
  static const key_cache cache;
  return cache;
}
inline const account_address& addr(uint32_t n) { return keys().addresses.at(n); }

// --- the community ----------------------------------------------------------------------------
// Bmax = 2000 Wh (Cu $300, P $200/kWh), no fee at genesis. Prices are TSL base units per Wh, so
// small balances make funding limits visible: dave holds 5 units (no bid at price >= 6 is funded).
inline constexpr int64_t t0_ms = 1'700'000'000'000;
inline constexpr int64_t bmax_wh = 2000;
inline constexpr int64_t rich_units = 10'000'000;  // alice, bob, carol, erin
inline constexpr int64_t dave_units = 5;
inline constexpr int64_t frank_units = 1'000;
inline constexpr int64_t sam_units = 1'000;        // charging-station owner
inline constexpr int64_t vera_units = 1'000'000;   // the vehicle
inline constexpr int64_t walt_units = 10'000'000;
inline constexpr int64_t community_capacity_wh = 1'000'000;  // storage unit 0, registered by the fixture
inline constexpr int64_t education_units = 1'000'000'000;
inline constexpr int64_t whale_units =
    tsl_supply_units - 4 * rich_units - dave_units - frank_units - sam_units - vera_units - walt_units - education_units;

inline genesis market_genesis() {
  genesis g;
  g.community_id = "market-dae";
  g.network = crypto::network::regtest;
  g.genesis_time_ms = t0_ms;
  g.params.fee_units_per_kwh_epoch = 0;
  g.params.storage_cost_per_user_cents = 30'000;
  g.params.battery_price_cents_per_kwh = 20'000;
  g.params.grant_units = 1000;
  g.admins = {keys().admins[0].public_key(), keys().admins[1].public_key()};
  g.allocations = {{addr(alice), rich_units}, {addr(bob), rich_units},     {addr(carol), rich_units},
                   {addr(dave), dave_units},  {addr(erin), rich_units},    {addr(frank), frank_units},
                   {addr(sam), sam_units},    {addr(vera), vera_units},    {addr(walt), walt_units},
                   {addr(whale), whale_units}, {education_pool_address(), education_units}};
  return g;
}

inline std::string describe(const error& e) { return std::string(errc_name(e.code)) + ": " + e.message; }

// Balances as the book sees them, read from the ledger's public accounts (never settles).
class read_only_view final : public market::balance_view {
 public:
  explicit read_only_view(const ledger& l) : l_(l) {}
  int64_t watt_wh(market::account_ref a) const override { return l_.accounts().at(a).watt_wh; }
  int64_t tsl_units(market::account_ref a) const override { return l_.accounts().at(a).tsl_units; }
  int64_t watt_room_wh(market::account_ref a) const override {
    const account& acct = l_.accounts().at(a);
    // SPEC §3.4: no new WATT without TSL or with unpaid fees.
    if (acct.kind != account_kind::member || acct.tsl_units == 0 || acct.fee_debt_units > 0) return 0;
    return std::max<int64_t>(0, l_.bmax_wh() - acct.watt_wh);
  }
  void settle(const market::trade&) override { ENERGO_ASSERT(false, "read_only_view never settles"); }

 private:
  const ledger& l_;
};

// SPEC §4 after matching: no bid and ask of different accounts cross while both can execute.
// Written from SPEC §4's words over orders_of() and the public account records, independently of the
// book's code: an ask is executable when its seller holds WATT; a bid is executable against an ask
// when its owner may receive WATT (SPEC §3.4: holds TSL, owes no fees), has room below Bmax, and can
// pay 1 Wh at the price the pair would trade at — the older order's price. Empty = ok.
inline std::string executable_crossing(const ledger& l) {
  if (l.book().matching_pending()) return {};
  std::vector<market::order_info> bids, asks;
  for (account_index i = 0; i < l.accounts().size(); ++i) {
    const account& a = l.accounts()[i];
    for (const auto& o : l.book().orders_of(i)) {
      if (o.order_side == market::side::buy) {
        const bool may_buy = a.kind == account_kind::member && a.fee_debt_units == 0 && a.tsl_units > 0 &&
                             a.watt_wh < l.bmax_wh();
        if (may_buy) bids.push_back(o);
      } else if (a.watt_wh > 0) {
        asks.push_back(o);
      }
    }
  }
  for (const auto& b : bids)
    for (const auto& a : asks) {
      if (b.account == a.account || b.price_units_per_wh < a.price_units_per_wh) continue;
      const int64_t price = b.id < a.id ? b.price_units_per_wh : a.price_units_per_wh;  // the older order's
      if (l.accounts()[b.account].tsl_units < price) continue;
      return "bid " + std::to_string(b.id) + " @" + std::to_string(b.price_units_per_wh) + " of account " +
             std::to_string(b.account) + " crosses executable ask " + std::to_string(a.id) + " @" +
             std::to_string(a.price_units_per_wh) + " of account " + std::to_string(a.account) + " at price " +
             std::to_string(price);
    }
  return {};
}

// --- signed command builders over the current state of a ledger -------------------------------

class command_maker {
 public:
  command_maker() = default;
  explicit command_maker(const ledger& l) : l_(&l) {}
  void rebind(const ledger& l) { l_ = &l; }

  uint64_t next_nonce(uint32_t n) const {
    const account* a = l_->find_account(addr(n));
    return a ? a->nonce + 1 : 1;
  }
  uint64_t next_admin_nonce(uint32_t admin = 0) const {
    auto it = l_->admin_nonces().find(keys().admins[admin].public_key());
    return it == l_->admin_nonces().end() ? 1 : it->second + 1;
  }
  const crypto::hash256& gh() const { return l_->genesis_hash(); }

  command account_signed(uint32_t n, command_body body) const {
    return sign_secp256k1(std::move(body), keys().secrets[n], gh());
  }
  command admin_signed(command_body body, uint32_t admin = 0) const {
    return sign_ed25519(std::move(body), keys().admins[admin], gh());
  }

  command place(uint32_t n, market::side s, int64_t price, int64_t quantity_wh,
                market::order_kind kind = market::order_kind::limit) const {
    return account_signed(n, place_order{keys().publics[n], next_nonce(n), s, kind, price, quantity_wh});
  }
  command bid(uint32_t n, int64_t price, int64_t quantity_wh, market::order_kind kind = market::order_kind::limit) const {
    return place(n, market::side::buy, price, quantity_wh, kind);
  }
  command ask(uint32_t n, int64_t price, int64_t quantity_wh, market::order_kind kind = market::order_kind::limit) const {
    return place(n, market::side::sell, price, quantity_wh, kind);
  }
  command cancel(uint32_t n, uint64_t id) const {
    return account_signed(n, cancel_order{keys().publics[n], next_nonce(n), id});
  }
  command replace(uint32_t n, uint64_t id, int64_t price, int64_t quantity_wh) const {
    return account_signed(n, replace_order{keys().publics[n], next_nonce(n), id, price, quantity_wh});
  }
  command agent(uint32_t n, int64_t buy_price, int64_t buy_below_wh, int64_t sell_price, int64_t sell_above_wh,
                bool enabled = true) const {
    return account_signed(n, set_agent{keys().publics[n], next_nonce(n), enabled, buy_price, buy_below_wh, sell_price,
                                       sell_above_wh});
  }
  command transfer_tsl(uint32_t from, uint32_t to, int64_t units) const {
    return account_signed(from, transfer{keys().publics[from], next_nonce(from), addr(to), asset::tsl, units});
  }
  command transfer_watt(uint32_t from, uint32_t to, int64_t wh) const {
    return account_signed(from, transfer{keys().publics[from], next_nonce(from), addr(to), asset::watt, wh});
  }
  // Meter n books to account n (registered by the fixture). Deltas on top of the current registers.
  command reading(uint32_t n, int64_t export_wh, int64_t import_wh) const {
    const meter* m = l_->find_meter(keys().meters[n].public_key());
    ENERGO_ASSERT(m != nullptr, "meter registered by the fixture");
    return sign_ed25519(meter_reading{keys().meters[n].public_key(), m->sequence + 1, l_->time_ms(),
                                      m->export_wh_total + export_wh, m->import_wh_total + import_wh},
                        keys().meters[n], gh());
  }
  command register_meter_for(uint32_t n) const {
    return admin_signed(register_meter{{keys().admins[0].public_key(), next_admin_nonce()}, keys().meters[n].public_key(),
                                       addr(n), 0, 0});
  }
  // Storage unit u (owned by account `owner`) declaring `capacity_wh` (SPEC §2: WATT needs storage).
  command storage_unit(uint32_t u, uint32_t owner, int64_t capacity_wh) const {
    return admin_signed(register_storage_unit{{keys().admins[0].public_key(), next_admin_nonce()},
                                              keys().units[u].public_key(), addr(owner), capacity_wh});
  }
  command grant(uint32_t n) const {
    return admin_signed(education_grant{{keys().admins[0].public_key(), next_admin_nonce()}, addr(n)});
  }
  command station(uint32_t st, uint32_t owner, int64_t fee_units_per_kwh) const {
    return admin_signed(register_station{{keys().admins[0].public_key(), next_admin_nonce()},
                                         keys().stations[st].public_key(), addr(owner), fee_units_per_kwh});
  }
  command open_session(uint32_t vehicle, uint32_t st, int64_t cap_units, int64_t price_cap) const {
    return account_signed(vehicle, ev_open_session{keys().publics[vehicle], next_nonce(vehicle),
                                                   keys().stations[st].public_key(), cap_units, price_cap});
  }
  uint64_t next_station_sequence(uint32_t st) const {
    const charging_station* s = l_->find_station(keys().stations[st].public_key());
    return s ? s->sequence + 1 : 1;
  }
  command delivery(uint32_t st, uint64_t session, int64_t delivered_total, bool finished = false) const {
    return sign_ed25519(ev_delivery{keys().stations[st].public_key(), next_station_sequence(st), session,
                                    delivered_total, finished},
                        keys().stations[st], gh());
  }
  command close(uint32_t vehicle, uint64_t session) const {
    return account_signed(vehicle, ev_close_session{keys().publics[vehicle], next_nonce(vehicle), session});
  }
  command params(int64_t fee_units_per_kwh_epoch, int64_t storage_cost_per_user_cents = 30'000) const {
    community_params p = l_->params();
    p.fee_units_per_kwh_epoch = fee_units_per_kwh_epoch;
    p.storage_cost_per_user_cents = storage_cost_per_user_cents;
    return admin_signed(set_params{{keys().admins[0].public_key(), next_admin_nonce()}, p});
  }
  command tick_to(int64_t time_ms) const { return command{tick{time_ms}, {}}; }
  command next_epoch() const {
    // The first instant of the next epoch (epochs start at genesis time).
    const int64_t next = t0_ms + static_cast<int64_t>(l_->epoch() + 1) * epoch_ms;
    return tick_to(next);
  }

 private:
  const ledger* l_ = nullptr;
};

// --- the fixture --------------------------------------------------------------------------------

class market_ledger_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = ledger::create(market_genesis());
    ASSERT_TRUE(created.has_value()) << describe(created.error());
    ledger_.emplace(std::move(*created));
    make_.rebind(*ledger_);
    // Meter n books to account n for every account in the genesis; one storage unit large enough
    // that its capacity never binds unless a test says so (SPEC §2).
    for (uint32_t n = 0; n < stranger; ++n) must(make_.register_meter_for(n));
    must(make_.storage_unit(0, whale, community_capacity_wh));
  }

  ledger& l() { return *ledger_; }
  const command_maker& make() { return make_; }

  apply_outcome must(const command& cmd) {
    auto r = l().verify_and_apply(cmd);
    if (!r) {
      ADD_FAILURE() << command_name(cmd.body) << " refused: " << describe(r.error());
      return {};
    }
    const auto problems = l().check_invariants();
    EXPECT_TRUE(problems.empty()) << problems.front();
    const auto crossing = executable_crossing(l());
    EXPECT_TRUE(crossing.empty()) << "after " << command_name(cmd.body) << ": " << crossing;
    return *r;
  }

  // The command must be refused with `code`. A refusal at or before authentication changes nothing
  // (same root, same snapshot bytes); a refusal by a rule after authentication consumes the signer's
  // nonce and changes nothing else (SPEC §8), compared field by field (tests/ledger/refusal_check.hpp).
  error refused(const command& cmd, errc code) {
    const ledger before = l();
    const auto root_before = l().state_root();
    const auto snapshot_before = l().snapshot();
    auto r = l().verify_and_apply(cmd);
    if (r) {
      ADD_FAILURE() << command_name(cmd.body) << " was accepted, expected " << errc_name(code);
      return {};
    }
    EXPECT_EQ(errc_name(r.error().code), errc_name(code)) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
    const bool consumed = test_support::consumes_nonce(cmd, r.error().code);
    EXPECT_EQ(test_support::refusal_diff(before, l(), cmd, consumed), "")
        << command_name(cmd.body) << " refused with " << errc_name(r.error().code)
        << (consumed ? ": only the signer's nonce may change" : ": nothing may change");
    if (!consumed) {
      EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(root_before)) << "refused command changed the state";
      EXPECT_TRUE(l().snapshot() == snapshot_before) << "refused command changed the snapshot";
    } else {
      EXPECT_NE(crypto::to_hex(l().state_root()), crypto::to_hex(root_before)) << "the consumed nonce is replicated state";
    }
    return r.error();
  }

  // Mints exactly `wh` WATT to account n through its meter (the account must hold TSL and room).
  void mint(uint32_t n, int64_t wh) {
    const auto out = must(make_.reading(n, wh, 0));
    ASSERT_EQ(out.minted_wh, wh);
  }

  const account& acct(uint32_t n) {
    const account* a = l().find_account(addr(n));
    ENERGO_ASSERT(a != nullptr, "test account missing");
    return *a;
  }
  account_index idx(uint32_t n) { return *l().account_index_of(addr(n)); }
  int64_t tsl(uint32_t n) { return acct(n).tsl_units; }
  int64_t watt(uint32_t n) { return acct(n).watt_wh; }
  std::vector<market::order_info> orders(uint32_t n) { return l().book().orders_of(idx(n)); }

  std::optional<ledger> ledger_;
  command_maker make_;
};

}  // namespace energo::ledger::market_test
