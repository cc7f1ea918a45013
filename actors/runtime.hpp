#pragma once
// The actor shell of one energo-node (actors/README.md): spawn_node() wires raft, apply, ingest,
// clock and the peer and client brokers around one node_store. Message protocols are listed in
// messages.hpp.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "common/result.hpp"
#include "consensus/types.hpp"
#include "actors/checkpoint_actor.hpp"
#include "actors/event_hub.hpp"
#include "actors/membership.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "ledger/ledger.hpp"
#include "net/client_conn.hpp"
#include "storage/node_store.hpp"

namespace energo::actors {

inline constexpr consensus::group_id community_group = 1;  // one community = one group today

// Everything the actors share; immutable after spawn_node() (the store is thread-safe).
// A stop the node asks of itself: the process then shuts down as on SIGTERM (docs/node.md "Signals
// and exit codes") and exits with the code given (node/exit_codes.hpp). The first request wins.
struct stop_request {
  static constexpr int removed = 8;  // node::exit_removed: this node left the member registry
  // Records the code and reason, then raises SIGTERM at this process (node_main's sigwait takes it).
  void request(int code, std::string reason);
  [[nodiscard]] int code() const;
  [[nodiscard]] std::string reason() const;

 private:
  mutable std::mutex mutex_;
  int code_ = 0;
  std::string reason_;
};

struct node_context {
  consensus::node_id self = consensus::no_node;
  std::string name;
  std::string cluster_id;
  crypto::ed25519_keypair node_key;  // proves this node's identity in the peer handshake
  // The registry at index 1 (the bootstrap voters, from cluster.json); the apply actor replaces it
  // with the replicated one (actors/membership.hpp).
  member_registry initial_registry;
  // Joining node: the members the join target named, admitted on the peer port until this node's
  // own registry catches up.
  std::vector<crypto::ed25519_public_key> join_admitted;
  std::string cluster_file_text;  // DIR/cluster.json verbatim (served to joining nodes)
  ledger::genesis genesis;
  crypto::hash256 genesis_hash{};
  std::shared_ptr<storage::node_store> store;
  net::endpoint peer_listen;
  net::endpoint client_listen;
  // timings and limits (node/config.hpp has the meaning of each)
  uint32_t tick_ms = 50;
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 2;
  uint64_t snapshot_every_entries = 100000;
  uint32_t submit_inflight_max = 4096;
  uint32_t client_connections_max = 1024;
  uint32_t proposal_commands_max = 256;
  uint32_t submit_timeout_ms = 10000;
  uint32_t ingest_workers = 2;
  uint64_t disk_free_bytes_min = 64u << 20;  // below it the node stops (exit 5); 0 = no check
  bool clock_enabled = true;
  uint32_t clock_interval_ms = 1000;
  int64_t clock_step_ms_max = 15 * 60 * 1000;
  int64_t clock_speedup = 1;  // ledger time runs this many times faster than wall time (demo; tick_source.hpp)
  // Checkpoints on Qtum: set when the config has a [qtum] section (the actor then runs, acting
  // only while this node leads). The metrics object exists whenever the actor does.
  std::optional<checkpoint_config> checkpoint;
  std::shared_ptr<checkpoint_metrics> checkpoint_stats;
  // Written by the actors, read by the HTTP gateway (actors/metrics.hpp, actors/event_hub.hpp).
  // The pointers are fixed; what they point to is thread-safe.
  std::shared_ptr<node_metrics> metrics = std::make_shared<node_metrics>();
  std::shared_ptr<event_hub> events = std::make_shared<event_hub>();
  std::shared_ptr<stop_request> stop = std::make_shared<stop_request>();
};

// Typed where the actor is (messages.hpp has the interfaces); the brokers and the blocking
// checkpoint actor are dynamically typed (actors/README.md).
struct node_handles {
  raft_actor raft;
  apply_actor apply;
  ingest_actor ingest;     // the pool (its handle cast to the workers' interface: it only forwards)
  clock_actor clock;       // null when the clock is disabled
  peer_broker_actor peers; // an untyped broker behind an interface of what it is sent
  caf::actor clients;
  caf::actor checkpoint;  // null without [qtum]
  uint16_t peer_port = 0;
  uint16_t client_port = 0;
};

struct spawn_error {
  int exit = 1;  // node::exit_code
  std::string message;
};

// Scheduler settings of the node's actor system (call before constructing it). CAF's default
// work-stealing policy polls for work with short sleeps (50 µs, 500 times per idle phase): under
// load every worker of every node woke thousands of times a second, and a quarter of the nodes'
// CPU samples were those wake-ups (perf, bench/README.md). Work sharing: one queue, idle workers
// block on a condition variable. Our scheduled actors are few (brokers, ingest pool, clock);
// raft and apply have threads of their own.
void configure_actor_system(caf::actor_system_config& cfg);

// Spawns the actors; the raft actor restarts the core from the store (which must already hold
// the bootstrap entry of an initial voter, see node/). Binds the peer and client ports.
[[nodiscard]] energo::result<node_handles, spawn_error> spawn_node(caf::actor_system& sys,
                                                                   std::shared_ptr<const node_context> ctx);

namespace limits {
// stop_node(): how long one actor may take to stop once asked (apply writes its last group commit
// then); beyond it the shutdown stops waiting for that actor.
inline constexpr std::chrono::milliseconds actor_stop_wait{5000};
}  // namespace limits

// Orderly stop (SIGTERM): transfer leadership if leader (waits up to `transfer_wait_ms`, then stops
// anyway), stop accepting clients, stop the actors in order, each awaited at most
// limits::actor_stop_wait (apply writes its pending group commit before it stops). Returns false
// if some actor did not stop in time: the caller must not destroy the actor system then (its
// destructor would wait for that actor forever). The store is closed by the caller.
[[nodiscard]] bool stop_node(caf::actor_system& sys, const node_handles& h, uint32_t transfer_wait_ms);

// Writes the bootstrap entry (term 1, index 1, the initial membership) and its hard state to the
// store with a synced batch, if the store holds no log for the group yet. Idempotent.
[[nodiscard]] energo::result<bool, std::string> persist_bootstrap(storage::node_store& store, consensus::node_id self,
                                                                  const consensus::membership& initial);

}  // namespace energo::actors
