#include "actors/runtime.hpp"

#include <spdlog/spdlog.h>

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
  h.apply = spawn_apply(sys, ctx);
  h.raft = spawn_raft(sys, ctx);
  h.ingest = spawn_ingest(sys, ctx, h.apply);
  auto peer_bound = std::make_shared<std::promise<bind_result>>();
  auto peer_future = peer_bound->get_future();
  h.peers = spawn_peer_broker(sys, ctx, h.raft, peer_bound);
  const auto peer = peer_future.get();
  if (!peer.error.empty()) return energo::unexpected<spawn_error>{spawn_error{7, "peer port: " + peer.error}};
  h.peer_port = peer.port;
  auto client_bound = std::make_shared<std::promise<bind_result>>();
  auto client_future = client_bound->get_future();
  h.clients = spawn_client_broker(sys, ctx, h.raft, h.apply, h.ingest, client_bound);
  const auto client = client_future.get();
  if (!client.error.empty()) return energo::unexpected<spawn_error>{spawn_error{7, "client port: " + client.error}};
  h.client_port = client.port;
  caf::anon_send(h.apply, wire_atom::value, h.raft, h.peers);
  caf::anon_send(h.raft, wire_atom::value, h.peers, h.apply);
  if (ctx->clock_enabled) h.clock = spawn_clock(sys, ctx, h.raft, h.apply);
  if (ctx->checkpoint) h.checkpoint = spawn_checkpoint(sys, ctx, h.raft, h.apply);
  return h;
}

void stop_node(caf::actor_system& sys, const node_handles& h, uint32_t transfer_wait_ms) {
  caf::scoped_actor self{sys};
  // 1. A leader hands over first, so the cluster does not wait an election timeout.
  bool transferring = false;
  self->request(h.raft, std::chrono::seconds(2), transfer_atom::value)
      .receive([&](bool started) { transferring = started; }, [](caf::error&) {});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(transfer_wait_ms);
  while (transferring && std::chrono::steady_clock::now() < deadline) {
    bool still_leader = true;
    self->request(h.raft, std::chrono::seconds(2), status_atom::value)
        .receive([&](const raft_view& v) { still_leader = v.role == "leader"; }, [](caf::error&) {});
    if (!still_leader) {
      spdlog::info("shutdown: leadership transferred");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // 2. Stop accepting work, then stop the rest. Every write is already synced.
  const std::pair<const char*, caf::actor> order[] = {{"clients", h.clients}, {"checkpoint", h.checkpoint}, {"clock", h.clock}, {"ingest", h.ingest},
                                                      {"peers", h.peers},     {"raft", h.raft},   {"apply", h.apply}};
  for (const auto& [name, a] : order) {
    if (!a) continue;
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->wait_for(a);
    spdlog::debug("shutdown: {} stopped", name);
  }
}

}  // namespace energo::actors
