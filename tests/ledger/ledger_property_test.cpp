// RapidCheck properties over random command sequences (SPEC §3.9, §8). A generator produces a mix
// of valid and invalid signed commands (stale nonces, bad and foreign signatures, backwards
// registers, wrong epochs, over-capacity reports, self transfers, over-Bmax transfers, ticks
// backwards, …) over a small population of accounts, meters and storage units, with ticks that
// close fee epochs. After every step:
//   - TSL total = 10^17; WATT total = minted − burned; no negative balance; nothing above Bmax;
//   - a tick's fee epochs match an independent model of SPEC §3.5 exactly (every account's TSL
//     and debt, the 10/10/80 split, pro-rata owner shares, remainders to the network pool);
//   - a refused command leaves the root unchanged (a backwards register changes only its flag);
//   - a second ledger fed the same commands has the same root; at random points it is replaced by
//     a restore of the first one's snapshot, which must give the same root and keep in step;
//   - a third ledger that computes its root only at the end agrees with the first.
// RapidCheck prints its seed; reproduce with RC_PARAMS="seed=<n>" (and the printed `reproduce`).
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <iostream>

#include "common/checked.hpp"
#include "tests/ledger/ledger_fixture.hpp"
#include "tests/ledger/refusal_check.hpp"

#ifndef ENERGO_LEDGER_PROPERTY_SCALE
#define ENERGO_LEDGER_PROPERTY_SCALE 1
#endif

namespace energo::ledger::test {
namespace {

constexpr int property_scale = ENERGO_LEDGER_PROPERTY_SCALE;
constexpr int sequence_runs = 30 * property_scale;      // RapidCheck cases per property
constexpr int sequence_steps_max = 60;                   // commands per case, plus setup

// Population: accounts 0..2 hold plenty of TSL, 3 holds little (it runs into fee debt), 4 and 5
// hold none (5 is unknown until something is sent to it). Meters 0..4 book to accounts 0..4;
// meter 5 is never registered. Units 0 and 1 are registered; unit 2 is not.
constexpr uint32_t account_count = 6;
constexpr uint32_t meter_count = 6;
constexpr uint32_t unit_count = 3;
constexpr int64_t small_holder_units = 1'000'000;
constexpr int64_t property_fee_rate = 1'000'000;  // 0.01 TSL per kWh per epoch
constexpr int64_t unit_capacity_wh = 5'000;

struct action {
  int kind = 0;         // which command (see build_command)
  int who = 0;          // sender / meter / unit / admin
  int other = 0;        // recipient / second parameter
  int64_t amount = 0;   // scaled per kind
  int flavor = 0;       // 0..10 well-formed attempt; 11..15 a specific fault
  int restore = 1;      // 0: replace ledger B by restore(A.snapshot()) before this step
};

std::ostream& operator<<(std::ostream& os, const action& a) {
  return os << "{kind " << a.kind << " who " << a.who << " other " << a.other << " amount " << a.amount << " flavor "
            << a.flavor << " restore " << a.restore << "}";
}

// Sized to the full range from the first case: RapidCheck's inRange otherwise scales with the
// case size, and early cases would only ever see kind 0 and flavor 0.
rc::Gen<action> gen_action() {
  return rc::gen::resize(100, rc::gen::build<action>(rc::gen::set(&action::kind, rc::gen::inRange(0, 10)),
                                rc::gen::set(&action::who, rc::gen::inRange(0, 6)),
                                rc::gen::set(&action::other, rc::gen::inRange(0, 8)),
                                rc::gen::set(&action::amount, rc::gen::inRange<int64_t>(-20, 2600)),
                                rc::gen::set(&action::flavor, rc::gen::inRange(0, 16)),
                                rc::gen::set(&action::restore, rc::gen::inRange(0, 12))));
}

// Keys are derived once: secp256k1 public keys cost tens of microseconds each.
struct key_cache {
  std::vector<crypto::secp256k1_secret_key> account_secrets;
  std::vector<crypto::secp256k1_public_key> account_publics;
  std::vector<account_address> addresses;
  std::vector<crypto::ed25519_keypair> meters, units, admins;
  key_cache() {
    for (uint32_t n = 0; n < account_count; ++n) {
      account_secrets.push_back(account_key(n));
      account_publics.push_back(account_secrets.back().public_key());
      addresses.push_back(crypto::hash160_of(account_publics.back().bytes));
    }
    addresses.push_back(education_pool_address());
    addresses.push_back(network_pool_address());
    for (uint32_t n = 0; n < meter_count + 6; ++n) meters.push_back(meter_key(n));
    for (uint32_t n = 0; n < unit_count + 6; ++n) units.push_back(unit_key(n));
    for (uint32_t n = 0; n < 2; ++n) admins.push_back(admin_key(n));
  }
};
const key_cache& keys() {
  static const key_cache cache;
  return cache;
}

genesis property_genesis() {
  genesis g = default_genesis();
  g.params.fee_units_per_kwh_epoch = property_fee_rate;
  const int64_t rest = tsl_supply_units - education_units - small_holder_units;
  g.allocations = {{keys().addresses[0], rest / 2},
                   {keys().addresses[1], rest / 4},
                   {keys().addresses[2], rest - rest / 2 - rest / 4},
                   {keys().addresses[3], small_holder_units},
                   {education_pool_address(), education_units}};
  return g;
}

uint64_t admin_nonce_of(const ledger& l, uint32_t admin) {
  auto it = l.admin_nonces().find(keys().admins[admin].public_key());
  return it == l.admin_nonces().end() ? 0 : it->second;
}

// Turns an action into a signed command against the current state of `l`.
command build_command(const action& a, const ledger& l) {
  const auto& k = keys();
  const crypto::hash256& gh = l.genesis_hash();
  const bool stale = a.flavor == 11;
  const bool bad_signature = a.flavor == 12;
  const bool wrong_signer = a.flavor == 13;
  const bool fault_a = a.flavor == 14;
  const bool fault_b = a.flavor == 15;
  command cmd;

  auto admin_command = [&](auto body) {
    const uint32_t signer = wrong_signer ? 1 : 0;
    body.auth.admin_key = fault_b ? k.meters[0].public_key() : k.admins[0].public_key();
    body.auth.nonce = stale ? admin_nonce_of(l, 0) : admin_nonce_of(l, 0) + 1;
    return fault_b ? sign_ed25519(body, k.meters[0], gh) : sign_ed25519(body, k.admins[signer], gh);
  };

  switch (a.kind) {
    case 0:
    case 1: {  // meter reading
      const uint32_t n = static_cast<uint32_t>(a.who) % meter_count;
      const meter* m = l.find_meter(k.meters[n].public_key());
      meter_reading r;
      r.meter_key = k.meters[n].public_key();
      r.sequence = m ? (stale ? m->sequence : m->sequence + 1 + (a.other == 7 ? 1 : 0)) : 1;
      const int64_t last_ms = m ? m->last_timestamp_ms : l.time_ms();
      r.timestamp_ms = fault_b ? l.time_ms() + limits::meter_clock_skew_ms_max + 1 : std::max(last_ms, l.time_ms() - 5);
      const int64_t exp0 = m ? m->export_wh_total : 0;
      const int64_t imp0 = m ? m->import_wh_total : 0;
      r.export_wh_total = exp0 + (fault_a ? -1 - a.amount % 5 : std::max<int64_t>(a.amount, 0));
      r.import_wh_total = imp0 + (a.kind == 1 ? std::max<int64_t>(a.amount, 0) / 2 : a.other * 60);
      cmd = sign_ed25519(r, wrong_signer ? k.meters[(n + 1) % meter_count] : k.meters[n], gh);
      break;
    }
    case 2:
    case 3: {  // transfer TSL (2) or WATT (3)
      const uint32_t from = static_cast<uint32_t>(a.who) % account_count;
      const account* s = l.find_account(k.addresses[from]);
      transfer t;
      t.from_key = k.account_publics[from];
      t.nonce = s ? (stale ? s->nonce : s->nonce + 1) : 1;
      t.to = fault_a ? k.addresses[from] : k.addresses[static_cast<uint32_t>(a.other) % k.addresses.size()];
      t.what = a.kind == 2 ? asset::tsl : asset::watt;
      if (a.kind == 2) {
        // Mostly small amounts; sometimes the whole balance, sometimes one unit more.
        const int64_t balance = s ? s->tsl_units : 0;
        t.amount = a.other == 0 ? balance + (a.amount % 2) : a.amount * 10'000;
      } else {
        t.amount = a.amount;
      }
      if (fault_b) t.amount = -t.amount;
      cmd = sign_secp256k1(t, wrong_signer ? k.account_secrets[(from + 1) % account_count] : k.account_secrets[from], gh);
      break;
    }
    case 4:
    case 9: {  // tick; up to ~3 epochs ahead
      const int64_t step_ms = a.kind == 9 ? std::max<int64_t>(a.amount, 0) * 1'000 : std::max<int64_t>(a.amount, 0) * 100;
      cmd = command{tick{fault_a ? l.time_ms() - 1 - a.amount % 3 : l.time_ms() + step_ms}, {}};
      if (bad_signature) cmd.signature[0] = 1;
      return cmd;
    }
    case 5: {  // storage report
      const uint32_t n = static_cast<uint32_t>(a.who) % unit_count;
      const storage_unit* u = l.find_storage_unit(k.units[n].public_key());
      storage_report r;
      r.unit_key = k.units[n].public_key();
      r.nonce = u ? (stale ? u->nonce : u->nonce + 1) : 1;
      r.epoch = fault_a ? l.epoch() + 1 : l.epoch();
      r.stored_wh = fault_b ? unit_capacity_wh + 1 : std::max<int64_t>(a.amount, 0) * 2;  // sometimes above capacity too
      cmd = sign_ed25519(r, wrong_signer ? k.units[(n + 1) % unit_count] : k.units[n], gh);
      break;
    }
    case 6: {  // set_params: Bmax 1000..3500 Wh, fee rate 0..2·10^6
      set_params s;
      s.params = l.params();
      s.params.storage_cost_per_user_cents = fault_a ? 15'000 : 30'000 + (a.amount % 4 + 4) % 4 * 7'500;
      s.params.fee_units_per_kwh_epoch = (a.other % 3) * property_fee_rate;
      if (a.who == 5) s.params.battery_price_cents_per_kwh = 0;  // invalid
      cmd = admin_command(s);
      break;
    }
    case 7: {  // education grant (6 and 7 are the pools)
      education_grant g;
      g.account = k.addresses[static_cast<uint32_t>(a.other) % k.addresses.size()];
      cmd = admin_command(g);
      break;
    }
    default: {  // 8: register a meter or a storage unit, new or duplicate
      if (a.other % 2 == 0) {
        register_meter r;
        r.meter_key = k.meters[static_cast<uint32_t>(a.who) % (meter_count + 6)].public_key();
        r.account = k.addresses[static_cast<uint32_t>(a.other) % k.addresses.size()];
        r.export_wh_start = std::max<int64_t>(a.amount, 0);
        cmd = admin_command(r);
      } else {
        register_storage_unit r;
        r.unit_key = k.units[static_cast<uint32_t>(a.who) % (unit_count + 6)].public_key();
        r.owner = k.addresses[static_cast<uint32_t>(a.other) % k.addresses.size()];
        r.capacity_wh = fault_a ? 0 : unit_capacity_wh;
        cmd = admin_command(r);
      }
      break;
    }
  }
  if (bad_signature) cmd.signature[a.who % 64] ^= 0x20;
  return cmd;
}

// An independent model of the fee epochs a tick closes (SPEC §3.5 as ledger/README.md states it).
struct fee_model {
  std::vector<int64_t> tsl, debt;
  int64_t proceeds = 0, to_education = 0, to_network = 0, to_owners = 0;
  int64_t epochs = 0;
};

fee_model predict_fees(const ledger& l, int64_t tick_ms, int64_t genesis_ms) {
  fee_model f;
  for (const auto& a : l.accounts()) {
    f.tsl.push_back(a.tsl_units);
    f.debt.push_back(a.fee_debt_units);
  }
  if (tick_ms < l.time_ms()) return f;
  const auto target = static_cast<uint64_t>((tick_ms - genesis_ms) / epoch_ms);
  const int64_t rate = l.params().fee_units_per_kwh_epoch;
  const auto& accts = l.accounts();
  std::size_t edu = 0, net = 0;
  for (std::size_t i = 0; i < accts.size(); ++i) {
    if (accts[i].kind == account_kind::education_pool) edu = i;
    if (accts[i].kind == account_kind::network_pool) net = i;
  }
  for (uint64_t e = l.epoch(); e < target; ++e) {
    int64_t p = 0;
    for (std::size_t i = 0; i < accts.size(); ++i) {
      if (accts[i].kind != account_kind::member) continue;
      const int64_t fee = static_cast<int64_t>(static_cast<int128>(accts[i].watt_wh) * rate / wh_per_watt);
      const int64_t due = fee + f.debt[i];
      const int64_t paid = std::min(due, f.tsl[i]);
      f.tsl[i] -= paid;
      f.debt[i] = std::min(due - paid, tsl_supply_units);
      p += paid;
    }
    const int64_t education = p / 10, network = p / 10, owners = p - education - network;
    int64_t stored = 0, distributed = 0;
    for (const auto& u : l.storage_units())
      if (u.report_epoch == e) stored += u.stored_wh;
    if (stored > 0)
      for (const auto& u : l.storage_units()) {
        if (u.report_epoch != e) continue;
        const int64_t share = static_cast<int64_t>(static_cast<int128>(owners) * u.stored_wh / stored);
        f.tsl[u.owner] += share;
        distributed += share;
      }
    f.tsl[edu] += education;
    f.tsl[net] += network + owners - distributed;
    f.proceeds += p;
    f.to_education += education;
    f.to_network += network + owners - distributed;
    f.to_owners += distributed;
    ++f.epochs;
  }
  return f;
}

void check_conservation(const ledger& l) {
  int128 tsl = 0, watt = 0;
  for (const auto& a : l.accounts()) {
    RC_ASSERT(a.tsl_units >= 0);
    RC_ASSERT(a.watt_wh >= 0);
    RC_ASSERT(a.fee_debt_units >= 0);
    RC_ASSERT(a.watt_wh <= l.bmax_wh());
    tsl += a.tsl_units;
    watt += a.watt_wh;
  }
  RC_ASSERT(tsl == static_cast<int128>(tsl_supply_units));
  RC_ASSERT(watt == static_cast<int128>(l.sums().watt_minted_wh) - l.sums().watt_burned_wh);
  const totals& t = l.sums();
  RC_ASSERT(t.fees_to_owners_units + t.fees_to_education_units + t.fees_to_network_units == t.fees_collected_units);
  const auto problems = l.check_invariants();
  if (!problems.empty()) RC_FAIL(problems.front());
}

ledger make_ledger(const genesis& g) {
  auto r = ledger::create(g);
  ENERGO_ASSERT(r.has_value(), "property genesis must be valid");
  return std::move(*r);
}

// Setup every case starts from: meters 0..4 → accounts 0..4, units 0 and 1.
std::vector<command> setup_commands(const genesis& g) {
  const auto& k = keys();
  const auto gh = g.hash();
  std::vector<command> s;
  uint64_t nonce = 1;
  for (uint32_t n = 0; n < meter_count - 1; ++n)
    s.push_back(sign_ed25519(register_meter{{k.admins[0].public_key(), nonce++}, k.meters[n].public_key(), k.addresses[n], 0, 0},
                             k.admins[0], gh));
  for (uint32_t n = 0; n < unit_count - 1; ++n)
    s.push_back(sign_ed25519(register_storage_unit{{k.admins[0].public_key(), nonce++}, k.units[n].public_key(),
                                                   k.addresses[4 + n], unit_capacity_wh},
                             k.admins[0], gh));
  return s;
}

void run_sequence(const std::vector<action>& actions) {
  const genesis g = property_genesis();
  ledger a = make_ledger(g);    // root every step
  ledger b = make_ledger(g);    // a replica, sometimes replaced by a restored snapshot
  ledger lazy = make_ledger(g); // root only at the end
  for (const auto& cmd : setup_commands(g)) {
    RC_ASSERT(a.verify_and_apply(cmd).has_value());
    RC_ASSERT(b.verify_and_apply(cmd).has_value());
    RC_ASSERT(lazy.verify_and_apply(cmd).has_value());
  }
  int64_t refused = 0, accepted = 0;
  for (const action& act : actions) {
    if (act.restore == 0) {
      auto restored = ledger::restore(a.snapshot());
      if (!restored) RC_FAIL("restore of a valid snapshot failed: " + describe(restored.error()));
      RC_ASSERT(restored->state_root() == a.state_root());
      b = std::move(*restored);
    }
    const command cmd = build_command(act, a);
    // Every generated command survives the wire unchanged.
    auto decoded = decode(encode(cmd));
    RC_ASSERT(decoded.has_value());
    RC_ASSERT(encode(*decoded) == encode(cmd));

    const auto root_before = a.state_root();
    const ledger ledger_before = a;
    const std::vector<account> accounts_before = a.accounts();
    const totals totals_before = a.sums();
    std::optional<fee_model> predicted;
    if (const tick* t = std::get_if<tick>(&cmd.body)) predicted = predict_fees(a, t->time_ms, g.genesis_time_ms);

    auto ra = a.verify_and_apply(cmd);
    auto rb = b.verify_and_apply(cmd);
    auto rl = lazy.verify_and_apply(cmd);
    RC_ASSERT(ra.has_value() == rb.has_value());
    RC_ASSERT(ra.has_value() == rl.has_value());
    if (!ra) {
      ++refused;
      RC_ASSERT(ra.error().code == rb.error().code);
      RC_ASSERT(!ra.error().message.empty());
      if (ra.error().code == errc::register_backwards) {
        // The flag and the consumed sequence are the only traces: every account is untouched, one
        // refusal is counted.
        RC_ASSERT(a.accounts().size() == accounts_before.size());
        for (std::size_t i = 0; i < accounts_before.size(); ++i)
          RC_ASSERT(account_leaf_bytes(a.accounts()[i]) == account_leaf_bytes(accounts_before[i]));
        RC_ASSERT(a.sums().readings_refused_backwards == totals_before.readings_refused_backwards + 1);
        RC_ASSERT(a.sums().watt_minted_wh == totals_before.watt_minted_wh);
      } else if (test_support::consumes_nonce(cmd, ra.error().code)) {
        // Refused by a rule after authentication: exactly the signer's nonce is consumed (SPEC §8).
        const std::string diff = test_support::refusal_diff(ledger_before, a, cmd, true);
        if (!diff.empty()) RC_FAIL("refusal " + std::string(errc_name(ra.error().code)) + " changed more than the nonce: " + diff);
      } else {
        RC_ASSERT(a.state_root() == root_before);
      }
    } else {
      ++accepted;
      RC_ASSERT(ra->minted_wh == rb->minted_wh);
      RC_ASSERT(ra->fees_units == rb->fees_units);
      if (predicted) {
        RC_ASSERT(ra->epochs_closed == predicted->epochs);
        RC_ASSERT(ra->fees_units == predicted->proceeds);
        for (std::size_t i = 0; i < a.accounts().size(); ++i) {
          RC_ASSERT(a.accounts()[i].tsl_units == predicted->tsl[i]);
          RC_ASSERT(a.accounts()[i].fee_debt_units == predicted->debt[i]);
          RC_ASSERT(a.accounts()[i].watt_wh == accounts_before[i].watt_wh);  // fees are paid in TSL only
        }
        const totals& t = a.sums();
        RC_ASSERT(t.fees_collected_units - totals_before.fees_collected_units == predicted->proceeds);
        RC_ASSERT(t.fees_to_education_units - totals_before.fees_to_education_units == predicted->to_education);
        RC_ASSERT(t.fees_to_network_units - totals_before.fees_to_network_units == predicted->to_network);
        RC_ASSERT(t.fees_to_owners_units - totals_before.fees_to_owners_units == predicted->to_owners);
      }
    }
    check_conservation(a);
    RC_ASSERT(a.state_root() == b.state_root());
  }
  check_conservation(lazy);
  RC_ASSERT(lazy.state_root() == a.state_root());
  auto restored = ledger::restore(a.snapshot());
  RC_ASSERT(restored.has_value());
  RC_ASSERT(restored->state_root() == a.state_root());
  RC_CLASSIFY(refused < accepted, "more accepted than refused");
  RC_CLASSIFY(a.epoch() > 0, "closed an epoch");
  RC_CLASSIFY(a.sums().fees_to_owners_units > 0, "paid owners");
  RC_CLASSIFY(a.sums().readings_refused_backwards > 0, "flagged a meter");
  RC_CLASSIFY(std::any_of(a.accounts().begin(), a.accounts().end(), [](const account& x) { return x.fee_debt_units > 0; }),
              "fee debt");
}

// Runs a property with this binary's case count (RC_PARAMS still overrides the seed).
template <class Testable>
void check_with_runs(Testable&& testable, int runs) {
  auto params = rc::detail::configuration().testParams;
  params.maxSuccess = runs;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  std::cout << "rapidcheck seed=" << params.seed << " cases=" << runs << " (reproduce: RC_PARAMS=\"seed=" << params.seed
            << "\")" << std::endl;
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream ss;
    rc::detail::printResultMessage(result, ss);
    FAIL() << ss.str();
  } else {
    rc::detail::printResultMessage(result, std::cout);
    std::cout << std::endl;
  }
}

TEST(ledger_properties, random_command_sequences_keep_every_invariant) {
  check_with_runs(
      [] {
        const auto n = *rc::gen::resize(100, rc::gen::inRange(1, sequence_steps_max + 1));
        const auto actions = *rc::gen::container<std::vector<action>>(static_cast<std::size_t>(n), gen_action());
        run_sequence(actions);
      },
      sequence_runs);
}

// Transfers only, with large amounts: the TSL total stays exact under many balance moves.
TEST(ledger_properties, random_transfers_conserve_both_assets) {
  check_with_runs(
      [] {
        const auto n = *rc::gen::resize(100, rc::gen::inRange(1, sequence_steps_max + 1));
        auto actions = *rc::gen::container<std::vector<action>>(static_cast<std::size_t>(n), gen_action());
        for (auto& act : actions) act.kind = act.kind % 2 == 0 ? (act.kind % 4 == 0 ? 2 : 3) : 0;
        run_sequence(actions);
      },
      sequence_runs);
}

}  // namespace
}  // namespace energo::ledger::test
