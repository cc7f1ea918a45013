// Snapshots are untrusted input (issue 7 §3): a follower installs snapshots from the network and
// operators restore files. Every count, index and bound is checked against limits fixed in code or
// genesis, every cross-reference and every value's range is checked, nothing is allocated from an
// unchecked number, and a refusal is a clear error that leaves the running ledger untouched.
//
// Each edit below recomputes the checksum (snapshot_edit.hpp), so it reaches the decoder.
#include <gtest/gtest.h>

#include "ledger/market/order_book.hpp"
#include "tests/ledger/allocation_guard.hpp"
#include "tests/ledger/snapshot_edit.hpp"
#include "tests/market/balance_table.hpp"
#include "tests/market/ledger_market_fixture.hpp"

namespace energo::ledger::market_test {
namespace {

using namespace energo::ledger::snapshot_test;
using market::order_book;
using market::side;

// Far more than any decoder needs for these test-sized ledgers (the whole snapshot is a few KB);
// far less than the 720 MB the unchecked book decoder allocated for a 116-byte book.
constexpr std::size_t allocation_ceiling_bytes = 16u << 20;

void put_i64(std::vector<uint8_t>& out, int64_t v) {
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (56 - 8 * k)));
}

class snapshot_safety_test : public market_ledger_test {
 protected:
  void build_market() {
    must(make().station(0, sam, 1000));
    mint(alice, 1500);
    mint(bob, 800);
    must(make().agent(alice, 5, 200, 14, 1000));  // sells 500 @ 14 at once
    must(make().ask(erin, 11, 400));              // unfunded ask
    must(make().ask(bob, 12, 500));
    must(make().bid(whale, 13, 200));
    session_ = must(make().open_session(vera, 0, 50'000, 15)).session_id;
    must(make().delivery(0, session_, 100));
    must(make().tick_to(l().time_ms() + 60'000));
    snap_ = l().snapshot();
    book_ = l().book().serialize();
  }

  // Restores under the allocation guard; a thrown bad_alloc (an allocation sized by an unchecked
  // number) fails the test instead of crashing it.
  result<ledger> guarded_restore(const std::vector<uint8_t>& bytes, std::size_t* largest = nullptr) {
    testing::allocation_guard guard(allocation_ceiling_bytes);
    try {
      auto r = ledger::restore(bytes);
      if (largest) *largest = guard.stats().largest_bytes;
      return r;
    } catch (const std::bad_alloc&) {
      ADD_FAILURE() << "restore tried to allocate " << guard.stats().largest_bytes << " bytes at once";
      return fail(errc::malformed, "allocation refused by the test");
    }
  }

  // Expects a refusal whose message names `what`, and the running ledger untouched.
  void expect_refused(const std::vector<uint8_t>& bytes, std::string_view what) {
    const auto root_before = l().state_root();
    auto r = guarded_restore(bytes);
    ASSERT_FALSE(r.has_value()) << "accepted a snapshot with " << what;
    EXPECT_EQ(r.error().code, errc::malformed);
    EXPECT_NE(r.error().message.find(what), std::string::npos) << "message: " << r.error().message;
    EXPECT_EQ(crypto::to_hex(l().state_root()), crypto::to_hex(root_before));
  }

  std::vector<uint8_t> snap_;
  std::vector<uint8_t> book_;
  uint64_t session_ = 0;
};

// Reported bug 1: a book naming accounts the ledger lacks was accepted; the next tick indexed the
// account table with the order's owner (out of bounds, a segfault in release builds).
TEST_F(snapshot_safety_test, book_naming_accounts_the_ledger_lacks_is_refused) {
  build_market();
  ASSERT_TRUE(ledger::restore(reseal(snap_)).has_value()) << "resealing alone is harmless";
  const market::account_ref ghost = 500;  // the ledger has 12 accounts
  ASSERT_LT(l().accounts().size(), ghost);
  market::testing::balance_table balances(ghost + 1, bmax_wh);
  order_book book(l().book().params());
  ASSERT_TRUE(book.place({ghost, side::sell, market::order_kind::limit, 10, 50}, balances, l().epoch()).has_value());
  expect_refused(with_book(snap_, book_, book.serialize()), "market");
  book.on_balance_changed(ghost);  // also queued: the next command makes the ledger read its balances
  expect_refused(with_book(snap_, book_, book.serialize()), "market");
  // Only the owner field of a resting order edited (the ghost has no market history then).
  auto edited = book_;
  const uint32_t dirty = get_u32_at(edited, 92);
  const std::size_t first_order = 92 + 4 + 4 * dirty + 4;
  ASSERT_GT(get_u32_at(edited, first_order - 4), 0u) << "the book has resting orders";
  put_u32_at(edited, first_order + 8, ghost);
  expect_refused(with_book(snap_, book_, edited), "market");
}

// Reported bug 2: a 116-byte book (an empty book plus one queued account 19,999,999, below the
// accounts_max read from the same bytes) made restore allocate the book's account table for 20
// million accounts, 720 MB.
TEST_F(snapshot_safety_test, tiny_book_snapshot_cannot_make_restore_allocate) {
  build_market();
  auto tiny = order_book(l().book().params()).serialize();
  constexpr std::size_t dirty_count_at = 92;  // magic, version, params (60), ids and epoch (24)
  ASSERT_EQ(get_u32_at(tiny, dirty_count_at), 0u);
  put_u32_at(tiny, dirty_count_at, 1);
  const std::array<uint8_t, 4> far{0x01, 0x31, 0x2C, 0xFF};  // 19,999,999
  tiny.insert(tiny.begin() + dirty_count_at + 4, far.begin(), far.end());
  ASSERT_EQ(tiny.size(), 120u);  // 116 bytes in book snapshot version 1; version 2 adds the account table size

  {
    testing::allocation_guard guard(allocation_ceiling_bytes);
    bool threw = false;
    try {
      EXPECT_FALSE(order_book::deserialize(tiny).has_value());
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    EXPECT_FALSE(threw) << "order_book::deserialize tried to allocate " << guard.stats().largest_bytes << " bytes";
    EXPECT_LT(guard.stats().largest_bytes, allocation_ceiling_bytes);
  }
  std::size_t largest = 0;
  auto r = guarded_restore(with_book(snap_, book_, tiny), &largest);
  EXPECT_FALSE(r.has_value());
  EXPECT_LT(largest, allocation_ceiling_bytes);
}

// The book's bounds are the ledger's, fixed in code: a snapshot cannot raise them.
TEST_F(snapshot_safety_test, book_with_other_bounds_than_the_ledger_is_refused) {
  build_market();
  market::market_params p = l().book().params();
  p.orders_per_account_max += 1;
  expect_refused(with_book(snap_, book_, order_book(p).serialize()), "market");
}

TEST_F(snapshot_safety_test, book_epoch_ahead_of_the_ledger_is_refused) {
  build_market();
  market::testing::balance_table balances(3, bmax_wh);
  order_book book(l().book().params());
  ASSERT_TRUE(book.match_pending(balances, l().epoch() + 1).has_value());
  expect_refused(with_book(snap_, book_, book.serialize()), "market");
}

TEST_F(snapshot_safety_test, order_of_a_system_pool_is_refused) {
  build_market();
  market::testing::balance_table balances(3, bmax_wh);
  order_book book(l().book().params());
  const auto pool = *l().account_index_of(education_pool_address());
  ASSERT_TRUE(book.place({pool, side::buy, market::order_kind::limit, 10, 50}, balances, l().epoch()).has_value());
  expect_refused(with_book(snap_, book_, book.serialize()), "market");
}

TEST_F(snapshot_safety_test, next_order_id_must_be_above_every_order) {
  build_market();
  auto book = l().book().serialize();
  constexpr std::size_t next_order_id_at = 68;
  put_u64_at(book, next_order_id_at, 2);  // orders 1.. exist, several above 1
  expect_refused(with_book(snap_, book_, book), "market");
  put_u64_at(book, next_order_id_at, UINT64_MAX);  // the next order would wrap to the reserved id 0
  expect_refused(with_book(snap_, book_, book), "market");
}

// Meter records: key (32) account (4) sequence (8) export (8) import (8) last time (8) flags (4).
TEST_F(snapshot_safety_test, meter_cross_references_and_registers_are_checked) {
  build_market();
  const auto at = find_bytes(snap_, keys().meters[alice].public_key().bytes);
  ASSERT_TRUE(at.has_value());
  auto bad = snap_;
  put_u32_at(bad, *at + 32, 9999);
  expect_refused(reseal(bad), "meter");
  bad = snap_;
  put_u32_at(bad, *at + 32, *l().account_index_of(network_pool_address()));
  expect_refused(reseal(bad), "meter");
  bad = snap_;
  put_u64_at(bad, *at + 44, static_cast<uint64_t>(-1));  // export register −1 Wh
  expect_refused(reseal(bad), "meter");
}

// Station records: key (32) account (4) fee (8) sequence (8) delivered (8) fees earned (8).
TEST_F(snapshot_safety_test, station_cross_references_and_values_are_checked) {
  build_market();
  const auto at = find_bytes(snap_, keys().stations[0].public_key().bytes);
  ASSERT_TRUE(at.has_value());
  auto bad = snap_;
  put_u32_at(bad, *at + 32, 9999);
  expect_refused(reseal(bad), "station");
  bad = snap_;
  put_u32_at(bad, *at + 32, *l().account_index_of(education_pool_address()));
  expect_refused(reseal(bad), "station");
  bad = snap_;
  put_u64_at(bad, *at + 36, static_cast<uint64_t>(-5));  // negative service fee
  expect_refused(reseal(bad), "station");
}

// Agent records: account (4) enabled (1) buy price, buy below, sell price, sell above (8 each).
TEST_F(snapshot_safety_test, agent_cross_references_and_values_are_checked) {
  build_market();
  std::vector<uint8_t> config;
  for (int64_t v : {5, 200, 14, 1000}) put_i64(config, v);
  const auto at = find_bytes(snap_, config);
  ASSERT_TRUE(at.has_value());
  const std::size_t record = *at - 5;
  auto bad = snap_;
  put_u32_at(bad, record, 9999);
  expect_refused(reseal(bad), "agent");
  bad = snap_;
  put_u32_at(bad, record, *l().account_index_of(network_pool_address()));
  expect_refused(reseal(bad), "agent");
  bad = snap_;
  put_u64_at(bad, *at + 16, 5);  // sell price = buy price: the agent would trade with itself
  expect_refused(reseal(bad), "agent");
}

// Open sessions follow next_session_id (8) and their count (4): id (8) vehicle (4) station (4) ...
TEST_F(snapshot_safety_test, session_cross_references_and_values_are_checked) {
  build_market();
  ASSERT_EQ(session_, 1u);
  std::vector<uint8_t> head(20, 0);
  put_u64_at(head, 0, 2);   // next session id
  put_u32_at(head, 8, 1);   // one open session
  put_u64_at(head, 12, 1);  // its id
  const auto at = find_bytes(snap_, head);
  ASSERT_TRUE(at.has_value());
  const std::size_t s = *at + 12;
  auto bad = snap_;
  put_u32_at(bad, s + 8, 9999);  // vehicle
  expect_refused(reseal(bad), "session");
  bad = snap_;
  put_u32_at(bad, s + 12, 7);  // station (one registered)
  expect_refused(reseal(bad), "session");
  bad = snap_;
  put_u32_at(bad, s + 8, *l().account_index_of(addr(sam)));  // the station's own account charges
  expect_refused(reseal(bad), "session");
  bad = snap_;
  put_u64_at(bad, *at, 1);  // next session id not above the open session's id
  expect_refused(reseal(bad), "session");
  bad = snap_;
  put_u64_at(bad, s + 16, static_cast<uint64_t>(-1));  // negative spending cap
  expect_refused(reseal(bad), "session");
}

TEST_F(snapshot_safety_test, account_values_are_checked) {
  build_market();
  // Alice's record: address (20) kind (1) flags (1) key (33) tsl, watt, debt, nonce, minted, burned,
  // grid export, grid import, fees paid (8 each).
  const auto at = find_bytes(snap_, addr(alice));
  ASSERT_TRUE(at.has_value());
  auto bad = snap_;
  put_u64_at(bad, *at + 55 + 8 * 6, static_cast<uint64_t>(-3));  // grid export −3 Wh
  expect_refused(reseal(bad), "account");
  bad = snap_;
  bad[*at + 22 + 5] ^= 0x40;  // a key that does not hash to the address
  expect_refused(reseal(bad), "account");
  bad = snap_;
  bad[*at + 20] = static_cast<uint8_t>(account_kind::education_pool);  // a second education pool
  expect_refused(reseal(bad), "pool");
}

TEST_F(snapshot_safety_test, clock_and_epoch_must_agree) {
  build_market();
  // Header: magic (22) version (4) genesis hash (32) community id (4 + n) network (1) params (32)
  // time, epoch start (8 each), epoch (8).
  const std::size_t time_at = 22 + 4 + 32 + 4 + l().community_id().size() + 1 + 32;
  auto bad = snap_;
  put_u64_at(bad, time_at + 16, l().epoch() + 3);
  expect_refused(reseal(bad), "time");
  bad = snap_;
  put_u64_at(bad, time_at, static_cast<uint64_t>(t0_ms - 1));  // before the first epoch
  expect_refused(reseal(bad), "time");
}

TEST_F(snapshot_safety_test, a_valid_snapshot_still_restores_to_the_same_root) {
  build_market();
  std::size_t largest = 0;
  auto r = guarded_restore(snap_, &largest);
  ASSERT_TRUE(r.has_value()) << describe(r.error());
  EXPECT_EQ(crypto::to_hex(r->state_root()), crypto::to_hex(l().state_root()));
  EXPECT_TRUE(r->check_invariants().empty());
}

}  // namespace
}  // namespace energo::ledger::market_test
