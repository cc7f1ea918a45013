// The typed actor interfaces of actors/messages.hpp (issue 8 §2). Most of what typing promises is
// checked by the compiler; the static_asserts below pin the parts a refactor could loosen without
// any test going red: what each interface accepts and answers (written from the protocol comments,
// not from the handlers), that self and wiring messages are not part of the public interfaces, and
// that node_handles is typed. One runtime test sends typed requests through the ingest pool, whose
// handle is cast to the workers' interface (the one unchecked step, actors/README.md).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "ledger/commands.hpp"

namespace {

using namespace energo;
using namespace energo::actors;
namespace cs = energo::consensus;

// Whether `Handle` accepts the message (Ts...), and the reply types if it does.
template <class Handle, class... Ts>
constexpr bool accepts = caf::response_type<caf::signatures_of_t<Handle>, Ts...>::valid;

template <class Handle, class... Ts>
using reply_of = typename caf::response_type<caf::signatures_of_t<Handle>, Ts...>::type;

template <class... Ts>
using list = caf::detail::type_list<Ts...>;

using response = net::client_response;

// raft: what apply, the checkpoint actor, the clock, the brokers and stop_node send it.
static_assert(std::is_same_v<reply_of<raft_actor, propose_atom, std::vector<std::string>>, list<uint16_t, uint64_t>>);
static_assert(std::is_same_v<reply_of<raft_actor, propose_admin_atom, std::string>, list<uint16_t, uint64_t>>);
static_assert(std::is_same_v<reply_of<raft_actor, propose_checkpoint_atom, std::string>, list<uint16_t, uint64_t>>);
static_assert(std::is_same_v<reply_of<raft_actor, read_index_atom>, list<uint16_t, uint64_t>>);
static_assert(std::is_same_v<reply_of<raft_actor, status_atom>, list<raft_view>>);
static_assert(std::is_same_v<reply_of<raft_actor, transfer_atom>, list<bool>>);
static_assert(std::is_same_v<reply_of<raft_actor, members_atom>, list<std::string>>);
static_assert(std::is_same_v<reply_of<raft_actor, propose_tick_atom, int64_t>, list<void>>);
static_assert(std::is_same_v<reply_of<raft_actor, snapshot_taken_atom, uint64_t>, list<void>>);
static_assert(!accepts<raft_actor, snapshot_taken_atom, uint64_t, std::string>);  // no image: meta-only compaction
static_assert(accepts<raft_actor, peer_in_atom, cs::message>);
static_assert(accepts<raft_actor, members_atom, std::shared_ptr<const member_registry>>);
static_assert(accepts<raft_actor, transfer_to_atom, uint64_t, uint64_t>);
static_assert(accepts<raft_actor, stop_atom>);
// Not from other actors: its timer, its ready, the wiring; a single command (commands go in groups).
static_assert(!accepts<raft_actor, tick_atom>);
static_assert(!accepts<raft_actor, ready_atom>);
static_assert(!accepts<raft_actor, wire_atom, peer_broker_actor, apply_actor>);
static_assert(!accepts<raft_actor, propose_atom, std::string>);
static_assert(!accepts<raft_actor, committed_atom, std::vector<cs::entry>>);  // apply's
// Only spawn_node's handle takes the wiring message.
static_assert(accepts<raft_wired_actor, wire_atom, peer_broker_actor, apply_actor>);

// apply
static_assert(std::is_same_v<reply_of<apply_actor, submit_atom, std::string, std::string>, list<response>>);
static_assert(std::is_same_v<reply_of<apply_actor, admin_atom, std::string, std::string>, list<response>>);
static_assert(std::is_same_v<reply_of<apply_actor, read_atom, uint64_t, address_bytes>, list<response>>);
static_assert(std::is_same_v<reply_of<apply_actor, query_atom, uint64_t, std::string, std::string>, list<response>>);
static_assert(std::is_same_v<reply_of<apply_actor, install_atom, cs::snapshot>, list<bool>>);
static_assert(std::is_same_v<reply_of<apply_actor, image_atom>, list<uint64_t, std::string>>);
static_assert(std::is_same_v<reply_of<apply_actor, status_atom>, list<apply_view>>);
static_assert(std::is_same_v<reply_of<apply_actor, cluster_atom>, list<std::string>>);
static_assert(std::is_same_v<reply_of<apply_actor, checkpoint_view_atom>, list<checkpoint_view>>);
static_assert(std::is_same_v<reply_of<apply_actor, checkpoint_query_atom, address_bytes, uint64_t, bool>, list<std::string>>);
static_assert(accepts<apply_actor, committed_atom, std::vector<cs::entry>>);
static_assert(accepts<apply_actor, term_changed_atom, uint64_t>);
static_assert(accepts<apply_actor, proposals_lost_atom, std::vector<std::string>>);
static_assert(accepts<apply_actor, stop_atom>);
static_assert(!accepts<apply_actor, timer_atom>);
static_assert(!accepts<apply_actor, submit_atom, std::string>);  // ingest's: unverified bytes never reach apply
static_assert(!accepts<apply_actor, wire_atom, raft_actor, peer_broker_actor>);
static_assert(accepts<apply_wired_actor, wire_atom, raft_actor, peer_broker_actor>);

// ingest: client bytes in, an answer out; nothing else (no hash: it computes it after verifying).
static_assert(std::is_same_v<reply_of<ingest_actor, submit_atom, std::string>, list<response>>);
static_assert(std::is_same_v<reply_of<ingest_actor, admin_atom, std::string>, list<response>>);
static_assert(!accepts<ingest_actor, submit_atom, std::string, std::string>);
static_assert(!accepts<ingest_actor, stop_atom>);  // the pool is stopped by an exit message

// clock and peer broker
static_assert(accepts<clock_actor, stop_atom> && !accepts<clock_actor, timer_atom>);
static_assert(accepts<peer_broker_actor, peer_out_atom, cs::message>);
static_assert(accepts<peer_broker_actor, members_atom, std::shared_ptr<const member_registry>>);
static_assert(accepts<peer_broker_actor, stop_atom> && !accepts<peer_broker_actor, connect_atom>);

// The handles everything else gets are the typed public ones.
static_assert(std::is_same_v<decltype(node_handles::raft), raft_actor>);
static_assert(std::is_same_v<decltype(node_handles::apply), apply_actor>);
static_assert(std::is_same_v<decltype(node_handles::ingest), ingest_actor>);
static_assert(std::is_same_v<decltype(node_handles::clock), clock_actor>);
static_assert(std::is_same_v<decltype(node_handles::peers), peer_broker_actor>);

// A typed request through the pool's cast handle reaches a worker and its typed answer comes back
// to the sender (refusals only: the worker answers them itself, so no apply actor is needed).
TEST(actor_interfaces, IngestPoolAnswersTypedRequests) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ctx = std::make_shared<node_context>();
  ctx->ingest_workers = 2;
  const ingest_actor ingest = spawn_ingest(sys, ctx, apply_actor{});
  ASSERT_TRUE(ingest);
  caf::scoped_actor self{sys};
  auto ask = [&](auto atom, std::string bytes) {
    std::optional<response> got;
    self->request(ingest, std::chrono::seconds(5), atom, std::move(bytes))
        .receive([&](response& r) { got = std::move(r); }, [](caf::error&) {});
    return got;
  };
  const auto tick = ledger::encode(ledger::command{ledger::tick{1'700'000'000'000}, {}});
  struct ask_case {
    bool admin;
    std::string bytes;
    net::client_errc want;
  };
  const std::vector<ask_case> cases = {
      {false, "\x01garbage", net::client_errc::malformed},
      {false, std::string(ledger::limits::command_bytes_max + 1, 'x'), net::client_errc::too_large},
      {false, std::string(tick.begin(), tick.end()), net::client_errc::system_command},
      {true, "not an admin request", net::client_errc::malformed},
  };
  // Twice round: both workers of the round-robin pool answer.
  for (int round = 0; round < 2; ++round) {
    for (const auto& c : cases) {
      const auto got = c.admin ? ask(admin_atom::value, c.bytes) : ask(submit_atom::value, c.bytes);
      ASSERT_TRUE(got) << "no answer through the pool";
      ASSERT_EQ(got->what, response::kind::failure);
      EXPECT_EQ(got->failure.code, c.want);
    }
  }
  self->send_exit(ingest, caf::exit_reason::user_shutdown);
}

}  // namespace
