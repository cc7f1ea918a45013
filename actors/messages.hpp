#pragma once
// Atoms, in-process message types and the typed interfaces of the node's actors. These types never
// cross a process boundary through CAF (peers and clients speak net/wire.hpp), so they are allowed
// as unsafe (local-only) message types instead of being announced for serialization.
//
// raft, apply, ingest and clock are typed actors (CAF 0.17 `typed_actor`): their interfaces below
// are the protocols, so a message the receiver does not understand, or a reply handler of the
// wrong types, is a compile error at the sender. Each interface lists what other actors may send;
// an actor's self messages (timers, `ready`, `flush`) and the one wiring message of spawn_node()
// are added in private extensions (actors_internal.hpp, the actor's own .cpp), so no other actor
// can send them. The checkpoint actor (blocking) and the two io::broker actors stay dynamically
// typed (actors/README.md says why); they hold typed handles, so what they send is checked, and
// the peer broker's handle is cast to an interface of what it is sent (peer_broker_actor).
//
// Protocols without an interface here (sender -> receiver: message => reply):
//  raft (private):  tick (self timer); ready (self: process the core's ready);
//                   wire, peer_broker_actor, apply_actor (spawn_node, once)
//  apply (private): timer (self); flush (self: send buffered proposals); persisted, uint64 index
//                   (its durable writer's thread: the durable point at index is synced);
//                   wire, raft_actor, peer_broker_actor (spawn_node, once)
//  clock (private): timer (self)
//  peer broker:     connect (self timer); the middleman's socket events
//  client broker:   frames only; stop.
//  checkpoint:      an exit message (stop_node).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>

#include "actors/checkpoint_state.hpp"
#include "actors/membership.hpp"
#include "consensus/types.hpp"
#include "net/wire.hpp"

namespace energo::actors {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using peer_in_atom = caf::atom_constant<caf::atom("peer_in")>;
using peer_out_atom = caf::atom_constant<caf::atom("peer_out")>;
using propose_atom = caf::atom_constant<caf::atom("propose")>;
using propose_tick_atom = caf::atom_constant<caf::atom("prop_tick")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using read_index_atom = caf::atom_constant<caf::atom("read_idx")>;
using snapshot_taken_atom = caf::atom_constant<caf::atom("snap_taken")>;
using transfer_atom = caf::atom_constant<caf::atom("transfer")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using install_atom = caf::atom_constant<caf::atom("install")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using image_atom = caf::atom_constant<caf::atom("image")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using connect_atom = caf::atom_constant<caf::atom("connect")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using admin_atom = caf::atom_constant<caf::atom("admin")>;
using propose_admin_atom = caf::atom_constant<caf::atom("prop_admin")>;
using transfer_to_atom = caf::atom_constant<caf::atom("transfer_t")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
// raft -> apply: term_changed, uint64 term. A new term began: proposals made before it may be lost
// with the old leader's uncommitted log; apply answers their waiting clients "outcome unknown,
// resubmit the same bytes" at once instead of at the submit timeout.
using term_changed_atom = caf::atom_constant<caf::atom("term_chg")>;
// peer broker -> apply: proposals_lost, std::vector<std::string> hashes. A proposal forwarded to
// the leader was dropped (no established link, write buffer full): its commands' clients are
// answered "outcome unknown, resubmit" at once.
using proposals_lost_atom = caf::atom_constant<caf::atom("prop_lost")>;
// raft -> peer broker: raft_config, std::vector<uint64_t> node ids (voters and learners). Sent at
// wiring and whenever the Raft configuration changes: a member the registry dropped keeps its link
// (and admission) until it leaves the configuration, so the leader's hold-back can still reach it.
using raft_config_atom = caf::atom_constant<caf::atom("raft_cfg")>;
// Checkpoints on Qtum (checkpoint_actor.cpp, checkpoint_state.hpp):
//   checkpoint -> raft:  propose_checkpoint, std::string entry  => uint16 client_errc or 0, uint64 leader
//   checkpoint -> apply: checkpoint_view                        => checkpoint_view
//   broker -> apply:     checkpoint_query, address, uint64 at, bool prove => net::client_response (text)
using propose_checkpoint_atom = caf::atom_constant<caf::atom("prop_cp")>;
using checkpoint_view_atom = caf::atom_constant<caf::atom("cp_view")>;
using checkpoint_query_atom = caf::atom_constant<caf::atom("cp_query")>;

struct raft_view {
  std::string role;
  uint64_t term = 0;
  uint64_t leader = 0;
  uint64_t commit_index = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  std::vector<uint64_t> voters;
};

struct apply_view {
  uint64_t applied_index = 0;
  std::string state_root;  // 32 raw bytes
  int64_t ledger_time_ms = 0;
  uint64_t epoch = 0;
};

using address_bytes = std::array<uint8_t, 20>;

struct checkpoint_view {
  uint64_t applied_index = 0;
  checkpoint_book book;
};

// raft (raft_actor.cpp, detached): the Raft core. Sender -> message => reply.
using raft_actor = caf::typed_actor<
    // peer broker: a message from a peer (a forwarded proposal is filtered by entry kind)
    caf::reacts_to<peer_in_atom, consensus::message>,
    // apply: a group of verified client commands => uint16 client_errc or 0, uint64 leader hint
    // (one answer per group: the first failure if any part failed)
    caf::replies_to<propose_atom, std::vector<std::string>>::with<uint16_t, uint64_t>,
    // apply: an admin (membership) request => uint16 client_errc or 0, uint64 leader hint
    caf::replies_to<propose_admin_atom, std::string>::with<uint16_t, uint64_t>,
    // checkpoint: a checkpoint entry (leader only) => uint16 client_errc or 0, uint64 leader hint
    caf::replies_to<propose_checkpoint_atom, std::string>::with<uint16_t, uint64_t>,
    // clock: propose tick(time_ms) if leader
    caf::reacts_to<propose_tick_atom, int64_t>,
    // anyone => the core's role, term, indexes and voters
    caf::replies_to<status_atom>::with<raft_view>,
    // client broker, HTTP => uint16 code (0 ok), uint64 read index
    caf::replies_to<read_index_atom>::with<uint16_t, uint64_t>,
    // apply: uint64 index: its state at index is durable; compact the log to it (meta only: the
    // image is asked for with `image` when a follower needs it)
    caf::reacts_to<snapshot_taken_atom, uint64_t>,
    // stop_node => bool (a leadership transfer started)
    caf::replies_to<transfer_atom>::with<bool>,
    // apply: an applied admin transfer, uint64 target, uint64 term it committed in
    caf::reacts_to<transfer_to_atom, uint64_t, uint64_t>,
    // apply: the registry as applied (membership reconciliation, removal)
    caf::reacts_to<members_atom, std::shared_ptr<const member_registry>>,
    // client broker, HTTP => the member list (JSON)
    caf::replies_to<members_atom>::with<std::string>,
    // stop_node
    caf::reacts_to<stop_atom>>;

// apply (apply_actor.cpp, detached): the ledger, the registry, the outcome cache, waiting clients.
using apply_actor = caf::typed_actor<
    // raft: committed entries, in order
    caf::reacts_to<committed_atom, std::vector<consensus::entry>>,
    // raft: a snapshot from the leader => bool (installed; false stops the node)
    caf::replies_to<install_atom, consensus::snapshot>::with<bool>,
    // raft => uint64 applied index, std::string node image (a follower needs the snapshot's data)
    caf::replies_to<image_atom>::with<uint64_t, std::string>,
    // raft: uint64 term; waiting clients of earlier terms are answered "outcome unknown, resubmit"
    caf::reacts_to<term_changed_atom, uint64_t>,
    // peer broker: hashes of a dropped forward; their clients are answered the same way
    caf::reacts_to<proposals_lost_atom, std::vector<std::string>>,
    // ingest (delegated): std::string hash, std::string command => net::client_response
    caf::replies_to<submit_atom, std::string, std::string>::with<net::client_response>,
    // ingest (delegated): std::string hash, std::string admin request => net::client_response
    caf::replies_to<admin_atom, std::string, std::string>::with<net::client_response>,
    // client broker: uint64 index (0: stale), address => net::client_response (account)
    caf::replies_to<read_atom, uint64_t, address_bytes>::with<net::client_response>,
    // client broker, HTTP: uint64 index, std::string name, std::string params_json
    //   => net::client_response (query: JSON; or failure)
    caf::replies_to<query_atom, uint64_t, std::string, std::string>::with<net::client_response>,
    // anyone => applied index, root at it, ledger time, epoch
    caf::replies_to<status_atom>::with<apply_view>,
    // client broker => cluster info (JSON)
    caf::replies_to<cluster_atom>::with<std::string>,
    // checkpoint => the applied index and the checkpoint book
    caf::replies_to<checkpoint_view_atom>::with<checkpoint_view>,
    // client broker: address, uint64 at, bool prove => checkpoint list or proof (JSON text)
    caf::replies_to<checkpoint_query_atom, address_bytes, uint64_t, bool>::with<std::string>,
    // stop_node: write the pending durable point, then quit
    caf::reacts_to<stop_atom>>;

// ingest (ingest_clock.cpp): a pool of typed workers behind one handle (actor_pool is untyped in
// CAF 0.17; spawn_ingest casts the pool's handle, which only forwards to the workers). Client
// broker, HTTP: std::string command (or admin request) => net::client_response (a refusal, or
// apply's answer: the request is delegated).
using ingest_actor = caf::typed_actor<caf::replies_to<submit_atom, std::string>::with<net::client_response>,
                                      caf::replies_to<admin_atom, std::string>::with<net::client_response>>;

// clock (ingest_clock.cpp): its own timer only; stop_node stops it.
using clock_actor = caf::typed_actor<caf::reacts_to<stop_atom>>;

// peer broker (brokers.cpp): a dynamically typed io::broker (actors/README.md says why). This is
// what the node's actors send it. A typed actor may only send() to a typed handle, so
// spawn_peer_broker casts the broker's handle to this interface once: raft's and apply's sends
// are checked against it; that the broker's behaviour handles them is not checked by the compiler.
using peer_broker_actor = caf::typed_actor<
    // raft: a message to a peer (dropped beyond the link's buffer; a dropped forward is told to apply)
    caf::reacts_to<peer_out_atom, consensus::message>,
    // apply: the registry as applied (admission, dialling)
    caf::reacts_to<members_atom, std::shared_ptr<const member_registry>>,
    // raft: the node ids of the Raft configuration (a departing member's link lives until it leaves)
    caf::reacts_to<raft_config_atom, std::vector<uint64_t>>,
    // stop_node: close the sockets, then quit
    caf::reacts_to<stop_atom>>;

}  // namespace energo::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::consensus::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<energo::consensus::entry>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::consensus::snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::net::client_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::actors::raft_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::actors::apply_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::actors::address_bytes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(energo::actors::checkpoint_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const energo::actors::member_registry>)
