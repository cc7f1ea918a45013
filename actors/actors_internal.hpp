#pragma once
// Behaviours of the node's actors (spawned and wired by runtime.cpp).
#include <future>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"

namespace energo::actors {

using ctx_ptr = std::shared_ptr<const node_context>;

// Sent once by spawn_node(): raft gets (wire, peers, apply), apply gets (wire, raft, peers).
using wire_atom = caf::atom_constant<caf::atom("wire")>;

// What spawn_node() holds while it wires raft and apply: their public interface (messages.hpp)
// plus the wiring message. The handles it hands out (node_handles) are the public ones.
using raft_wired_actor = raft_actor::extend<caf::reacts_to<wire_atom, peer_broker_actor, apply_actor>>;
using apply_wired_actor = apply_actor::extend<caf::reacts_to<wire_atom, raft_actor, peer_broker_actor>>;

struct bind_result {
  uint16_t port = 0;
  std::string error;  // empty when bound
};
using bind_promise = std::shared_ptr<std::promise<bind_result>>;

// Spawn functions live next to their behaviours (state types stay private to each file).
raft_wired_actor spawn_raft(caf::actor_system& sys, ctx_ptr ctx);    // detached
apply_wired_actor spawn_apply(caf::actor_system& sys, ctx_ptr ctx);  // detached
ingest_actor spawn_ingest(caf::actor_system& sys, ctx_ptr ctx, apply_actor apply);  // pool
caf::actor spawn_checkpoint(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply);  // own thread
clock_actor spawn_clock(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply);
peer_broker_actor spawn_peer_broker(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply,
                                    bind_promise bound);
caf::actor spawn_client_broker(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply,
                               ingest_actor ingest, bind_promise bound);

// Mapping between consensus and storage records.
storage::log_record to_record(const consensus::entry& e);
consensus::entry from_record(storage::log_record r);
storage::snapshot_meta_record to_record(const consensus::snapshot_meta& m, uint64_t bytes);
consensus::snapshot_meta from_record(const storage::snapshot_meta_record& m);

}  // namespace energo::actors
