#pragma once
// Deterministic simulation of a Raft group built from consensus::raft_node (README.md here).
//
// One thread, one seeded prng, simulated milliseconds. Everything random — message delay, loss,
// duplication, partitions, disk latency, crashes, membership changes, leadership transfers,
// compaction, client behaviour — is drawn from the seed, so `raft_sim --seed S` replays a run
// exactly. After every simulated millisecond the simulator checks Raft's safety properties
// (election safety, log matching, leader completeness, state-machine safety, monotonic
// commit/apply, persist-before-send) and the core's own invariant checker; at the end it heals
// every fault, checks liveness within a bound and checks the client history for
// linearizability.
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/raft.hpp"
#include "tests/consensus_sim/sim_network.hpp"

namespace energo::sim {

// How a crashed node hands its durable snapshot to raft_node::restart (consensus/raft.hpp).
enum class restart_snapshot_mode : uint8_t {
  alternate,  // odd incarnations with the data, even ones meta only (the core asks for the data)
  meta_only,
  with_data,
};

enum class send_while_persist_mode : uint8_t { by_seed, never, always };

// The faults added for issue 11 §2 (README.md "Corrupted messages", "Removed nodes that live on",
// "Torn and corrupted log records"). by_seed (what the sweeps use): each one for a fixed fraction
// of seeds, chosen from the seed by splitmix64 without a draw from the run's prng, and its own
// decisions come from a separate prng stream: a seed that selects none of them replays exactly
// as before, so the sweeps keep their cost and their regression seeds.
enum class fault_mode : uint8_t { by_seed, never, always };

struct sim_options {
  uint64_t seed = 1;
  size_t nodes = 3;                  // initial voters (3 or 5 in the suites)
  sim_time steps = 4000;             // simulated ms with faults
  sim_time liveness_bound_ms = 8000; // after healing: leader + new commit + convergence within this
  bool verbose = false;              // trace every event to stdout
  bool random_faults = true;         // false: only scripted faults (scenario tests)
  size_t clients = 3;
  uint64_t keys = 2;
  uint64_t ops_per_client_max = 120;  // bounds the history the linearizability checker searches
  // Test-only sabotage to prove the checkers can fail: the simulated disk acknowledges syncs it
  // then loses on crash (a lying fsync). Never set outside the checker self-tests.
  bool lying_fsync = false;
  // Test-only: founders start from raft_node::bootstrap() (state in memory until the first ready
  // is persisted) instead of a synced bootstrap_state(); shows why the durable way is required.
  bool bootstrap_in_memory = false;
  restart_snapshot_mode restart_snapshot = restart_snapshot_mode::alternate;
  // The replicated state machine also holds a real ledger::ledger fed by a seeded workload of
  // signed commands and leader ticks (ledger_workload.hpp); the state root is compared at every
  // applied index on every replica and the conservation rules are checked after every entry.
  bool ledger = false;
  sim_time ledger_tick_every_ms = 50;  // a leader proposes a tick this often (its own clock)
  // The leader sends a ready's messages before its writes are durable when raft.hpp allows it
  // (leader, no snapshot, no change of term or vote; Raft thesis §10.2.1, what the benchmark
  // does). by_seed (the sweeps): for ~30% of seeds, chosen from the seed without a prng draw.
  send_while_persist_mode send_while_persist = send_while_persist_mode::never;
  // Raft messages are corrupted in flight through the peer wire codec (net/wire.hpp); the frame
  // is then dropped with everything in flight between the two nodes (the Noise channel refuses
  // it and the connection closes), and a decodable corruption is stepped into a copy of the
  // receiver to prove the core does not trust nonsense. by_seed: ~20% of seeds.
  fault_mode corrupt_messages = fault_mode::never;
  // A node removed from the group keeps running with what it knows (often cut off just before
  // its removal, so it never learns of it), campaigns and talks until the end. by_seed: ~30%.
  fault_mode removed_nodes_live_on = fault_mode::never;
  // The simulated disk keeps its log and hard state as storage/ codec records; a crash may tear
  // the in-flight batch or corrupt a synced record; restart recovers through the codec and a
  // replica whose synced record is damaged refuses to serve. by_seed: ~20%.
  fault_mode disk_faults = fault_mode::never;
  // Long runs: clients never stop issuing operations (ops_per_client_max is ignored) and move to
  // fresh keys every uncapped_key_epoch_ms, so each key's history (and the linearizability
  // search) stays bounded however long the run. Off in CI.
  bool uncapped_workload = false;
  sim_time uncapped_key_epoch_ms = 5000;
};

struct sim_stats {
  uint64_t sim_ms = 0;
  uint64_t crashes = 0, restarts = 0, partitions = 0;
  uint64_t config_changes_proposed = 0, config_changes_applied = 0, nodes_added = 0, nodes_removed = 0;
  uint64_t transfers = 0, compactions = 0, snapshots_installed = 0, snapshot_data_requests = 0;
  uint64_t leaders_elected = 0, max_term = 0, max_commit = 0;
  uint64_t client_ops = 0, client_ops_acked = 0, client_retries = 0, reads_acked = 0;
  uint64_t messages_sent = 0, messages_lost = 0, messages_duplicated = 0, snapshot_chunks_sent = 0;
  uint64_t linearizability_steps = 0;
  uint64_t ledger_commands_proposed = 0, ledger_ticks_proposed = 0, ledger_entries_applied = 0;
  uint64_t early_sends = 0;  // readies whose messages left before their writes were durable
  bool send_while_persist = false;
  // Corrupted messages (fault_mode corrupt_messages): frames corrupted, refused by the decoder,
  // decoded into a different message (probed on a copy of the receiver), decoded unchanged, and
  // probes the core refused outright (the message names a sender other than the link's).
  bool corrupt_messages = false;
  uint64_t corrupt_frames = 0, corrupt_refused = 0, corrupt_decoded = 0, corrupt_unchanged = 0, corrupt_wrong_sender = 0;
  uint64_t links_reset = 0, packets_lost_with_link = 0;
  // Removed nodes that live on.
  bool removed_live_on = false;
  uint64_t removed_alive = 0, removed_cut_off = 0, removed_campaigns = 0;
  // Disk faults: torn in-flight batches, synced records corrupted, replicas that refused to start.
  bool disk_faults = false;
  uint64_t torn_writes = 0, records_corrupted = 0, replicas_refused = 0;
  bool linearizability_budget_exceeded = false;
  uint64_t digest = 0;  // hash over the run's events: the same seed must give the same digest
};

struct sim_result {
  bool ok = true;
  std::string failure;  // first failure, with seed and replay command
  sim_stats stats;
};

// Marks a liveness failure that looks like the (fixed) core bug "snapshot stream livelock"
// (README.md): a diagnostic only, such a run fails like any other.
inline constexpr const char* snapshot_livelock_tag = "[snapshot stream livelock signature]";

// Whether a run sends while persisting (resolves send_while_persist_mode::by_seed).
bool send_while_persist_selected(const sim_options& opts);
// Whether a run has the fault (resolves fault_mode::by_seed: `percent` % of seeds, by salt).
bool fault_selected(fault_mode mode, uint64_t seed, uint64_t salt, uint64_t percent);
bool corrupt_messages_selected(const sim_options& opts);
bool removed_live_on_selected(const sim_options& opts);
bool disk_faults_selected(const sim_options& opts);

// `build/release/tests/consensus_sim/raft_sim --seed S --nodes N --steps T`
std::string replay_command(const sim_options& opts);

// On abort (an ENERGO_ASSERT in the core, a sanitizer report) print the replay command of the
// run in progress. Installed by the test binary and the CLI.
void install_abort_reporter();

class simulation {
 public:
  explicit simulation(sim_options opts);
  ~simulation();
  simulation(const simulation&) = delete;
  simulation& operator=(const simulation&) = delete;

  // Random faults for options.steps ms, then finish().
  sim_result run();
  // Stop faults, heal everything, check liveness within the bound, check the client history.
  sim_result finish();

  // --- scripted control (scenario tests) ------------------------------------------------------
  void run_for(sim_time ms);  // stops early on a failure
  sim_time now() const;
  void crash(consensus::node_id id);
  void restart(consensus::node_id id);
  void block(endpoint_id from, endpoint_id to);  // one-way
  void isolate(endpoint_id id, const std::set<endpoint_id>& except = {});
  void heal_network();
  // Creates an empty node that waits to be added (returns its id).
  consensus::node_id add_empty_node();
  // Proposes a membership change at the current leader; false if there is none or it refused.
  bool propose_config_change(consensus::config_change change);
  // Client i sends only to these nodes (empty: any node).
  void pin_client(size_t i, std::set<consensus::node_id> nodes);
  endpoint_id client_endpoint(size_t i) const;
  uint64_t acked_ops_of_client(size_t i) const;
  std::vector<consensus::node_id> node_ids() const;  // created, not destroyed
  std::optional<consensus::node_id> leader() const;  // up leader with the highest term
  const consensus::raft_node* node(consensus::node_id id) const;  // nullptr if down
  bool failed() const;
  const std::string& failure() const;
  const sim_stats& stats() const;

  struct state;

 private:
  std::unique_ptr<state> s_;
};

}  // namespace energo::sim
