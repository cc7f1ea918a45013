#include "actors/runtime.hpp"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "consensus/raft.hpp"

namespace energo::actors {

namespace cs = energo::consensus;
namespace st = energo::storage;

void stop_request::request(int code, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (code_ != 0) return;
    code_ = code;
    reason_ = std::move(reason);
  }
  ::kill(::getpid(), SIGTERM);  // every thread blocks it; node_main's sigwait() takes it
}

int stop_request::code() const {
  std::lock_guard lock(mutex_);
  return code_;
}

std::string stop_request::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

energo::result<bool, std::string> persist_bootstrap(st::node_store& store, cs::node_id self,
                                                    const cs::membership& initial) {
  if (store.last_index(community_group) > 0 || store.hard_state(community_group).term > 0) return false;
  (void)self;
  // The core's durable-bootstrap contract (consensus/raft.hpp): the founding hard state and the
  // first config entry in one synced batch; the node then always starts by restart() from the
  // store, so a crash right after this point and a normal start take the same path.
  const cs::initial_state init = cs::raft_node::bootstrap_state(initial);
  std::vector<st::log_record> records;
  for (const auto& e : init.entries) records.push_back(to_record(e));
  st::group_write w{community_group, records, std::nullopt};
  w.hard_state = st::hard_state_record{init.hard_state.term, init.hard_state.vote, init.hard_state.commit};
  if (auto res = store.persist(std::span<const st::group_write>(&w, 1)); !res) {
    return energo::unexpected<std::string>{"persist bootstrap: " + res.error().message};
  }
  return true;
}

void configure_actor_system(caf::actor_system_config& cfg) { cfg.set("scheduler.policy", caf::atom("sharing")); }

energo::result<node_handles, spawn_error> spawn_node(caf::actor_system& sys, std::shared_ptr<const node_context> ctx) {
  node_handles h;
  const auto apply = spawn_apply(sys, ctx);
  const auto raft = spawn_raft(sys, ctx);
  h.apply = apply;
  h.raft = raft;
  h.ingest = spawn_ingest(sys, ctx, h.apply);
  auto peer_bound = std::make_shared<std::promise<bind_result>>();
  auto peer_future = peer_bound->get_future();
  h.peers = spawn_peer_broker(sys, ctx, h.raft, h.apply, peer_bound);
  const auto peer = peer_future.get();
  if (!peer.error.empty()) return energo::unexpected<spawn_error>{spawn_error{7, "peer port: " + peer.error}};
  h.peer_port = peer.port;
  auto client_bound = std::make_shared<std::promise<bind_result>>();
  auto client_future = client_bound->get_future();
  h.clients = spawn_client_broker(sys, ctx, h.raft, h.apply, h.ingest, client_bound);
  const auto client = client_future.get();
  if (!client.error.empty()) return energo::unexpected<spawn_error>{spawn_error{7, "client port: " + client.error}};
  h.client_port = client.port;
  caf::anon_send(apply, wire_atom::value, h.raft, h.peers);
  caf::anon_send(raft, wire_atom::value, h.peers, h.apply);
  if (ctx->clock_enabled) h.clock = spawn_clock(sys, ctx, h.raft, h.apply);
  if (ctx->checkpoint) h.checkpoint = spawn_checkpoint(sys, ctx, h.raft, h.apply);
  return h;
}

namespace {

// Whether an actor of handle type `Handle` understands `stop` (always true for a dynamically
// typed handle). stop_node() keeps its untyped list of actors to stop; this keeps it honest.
template <class Handle>
constexpr bool accepts_stop = caf::response_type_unbox<caf::signatures_of_t<Handle>, caf::detail::type_list<stop_atom>>::valid;
static_assert(accepts_stop<raft_actor> && accepts_stop<apply_actor> && accepts_stop<clock_actor> &&
                  accepts_stop<peer_broker_actor>,
              "stop_node() sends these actors `stop`");

// Sends `a` its stop request and waits, at most `bound`, until it terminated. Returns false if it
// did not (the caller then stops waiting for it: a shutdown never hangs on one actor).
bool stop_one(caf::scoped_actor& self, const caf::actor& a, const char* name, bool by_exit,
              std::chrono::milliseconds bound) {
  self->monitor(a);
  // Brokers, clock, raft and apply have a stop handler (brokers close their sockets; apply writes
  // its pending group commit first). The ingest pool and the checkpoint actor take an exit message.
  if (by_exit) self->send_exit(a, caf::exit_reason::user_shutdown);
  else self->send(a, stop_atom::value);
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    bool down = false;
    self->receive([&](const caf::down_msg& m) { down = m.source == a.address(); },
                  caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)) >> [] {});
    if (down) return true;
  }
  spdlog::error("shutdown: the {} actor did not stop within {} ms; not waiting for it", name, bound.count());
  self->send_exit(a, caf::exit_reason::kill);
  return false;
}

}  // namespace

bool stop_node(caf::actor_system& sys, const node_handles& h, uint32_t transfer_wait_ms) {
  caf::scoped_actor self{sys};
  const auto started = std::chrono::steady_clock::now();
  // 1. A leader hands over first, so the cluster does not wait an election timeout. Bounded: a
  // leader whose transfer does not finish in transfer_wait_ms (the target is gone too, e.g. every
  // node got SIGTERM at once) stops anyway.
  bool transferring = false;
  const auto deadline = started + std::chrono::milliseconds(transfer_wait_ms);
  self->request(h.raft, std::chrono::milliseconds(transfer_wait_ms), transfer_atom::value)
      .receive([&](bool s) { transferring = s; }, [](caf::error&) {});
  while (transferring && std::chrono::steady_clock::now() < deadline) {
    bool still_leader = true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    self->request(h.raft, std::max(left, std::chrono::milliseconds(1)), status_atom::value)
        .receive([&](const raft_view& v) { still_leader = v.role == "leader"; }, [](caf::error&) {});
    if (!still_leader) {
      spdlog::info("shutdown: leadership transferred");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (transferring && std::chrono::steady_clock::now() >= deadline) {
    spdlog::warn("shutdown: leadership not transferred within {} ms; stopping anyway", transfer_wait_ms);
  }
  // 2. Stop accepting work, then stop the rest, each awaited (bounded). Every Raft write is
  // already synced; apply writes its last group commit when it gets `stop`.
  struct step {
    const char* name;
    caf::actor actor;
    bool by_exit;
  };
  using caf::actor_cast;
  const step order[] = {{"clients", h.clients, false},
                        {"checkpoint", h.checkpoint, true},
                        {"clock", actor_cast<caf::actor>(h.clock), false},
                        {"ingest", actor_cast<caf::actor>(h.ingest), true},
                        {"peers", actor_cast<caf::actor>(h.peers), false},
                        {"raft", actor_cast<caf::actor>(h.raft), false},
                        {"apply", actor_cast<caf::actor>(h.apply), false}};
  bool all = true;
  for (const auto& s : order) {
    if (!s.actor) continue;
    if (!stop_one(self, s.actor, s.name, s.by_exit, limits::actor_stop_wait)) all = false;
    else spdlog::debug("shutdown: {} stopped", s.name);
  }
  spdlog::info("shutdown: actors stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         std::chrono::steady_clock::now() - started)
                                                         .count());
  return all;
}

}  // namespace energo::actors
