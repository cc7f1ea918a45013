#pragma once
// Atoms and in-process message types of the node's actors. These types never cross a process
// boundary through CAF (peers and clients speak net/wire.hpp), so they are allowed as unsafe
// (local-only) message types instead of being announced for serialization.
//
// Protocols (sender -> receiver: message => reply):
//  raft:
//    tick                                         (self timer)
//    ready                                        (self: process the core's ready)
//    peer_in, consensus::message                  (peer broker)
//    propose, std::string command                 (apply) => uint16 client_errc or 0, uint64 leader hint
//    propose_tick, int64 time_ms                  (clock)
//    status                                       => raft_view
//    read_index                                   => uint16 code (0 ok), uint64 index
//    snapshot_taken, uint64 index                 (apply: its state at index is durable; meta-only compaction)
//    transfer                                     => bool (a transfer started)
//  apply:
//    committed, std::vector<consensus::entry>     (raft)
//    install, consensus::snapshot                 (raft) => bool
//    submit, std::string hash, std::string command (ingest, delegated) => net::client_response
//    read, uint64 index, std::array<uint8_t,20>   => net::client_response (account)
//    query, uint64 index, std::string name, std::string params_json
//                                                 => net::client_response (query: JSON; or failure)
//    status                                       => apply_view
//    image                                        => uint64 index, std::string image
//    timer                                        (self)
//  ingest (pool):
//    submit, std::string command                  (client broker) => net::client_response
//  peer broker:
//    peer_out, consensus::message                 (raft)
//    connect                                      (self timer)
//  client broker: frames only; stop.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

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
