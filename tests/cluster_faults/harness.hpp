#pragma once
// The fault harness (issue 11 §1): real energo-node processes, each in its own network namespace
// when the machine allows it (else all on 127.0.0.1), peer links through the fault relay,
// clients recording a history of every request, a seeded schedule of nemeses, and the checks
// after the heal. See README.md in this folder.
//
// Concurrency: `cluster` methods are called from the test thread only (the nemesis); client and
// monitor threads talk to the nodes over their own connections and record into `history`
// (mutex) and the monitor's tables (mutex). Every run prints its seed and schedule.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/secp256k1.hpp"
#include "ledger/ledger.hpp"
#include "net/client_conn.hpp"
#include "tests/cluster_faults/relay.hpp"

namespace energo::faults {

namespace limits {
inline constexpr int nodes_max = 7;
inline constexpr int spares_max = 2;
inline constexpr int writer_accounts_max = 32;
inline constexpr int readers_max = 8;
inline constexpr uint32_t run_ms_max = 120'000;
inline constexpr auto op_deadline = std::chrono::seconds(45);  // one transfer: retries until a definite outcome
inline constexpr auto converge_bound = std::chrono::seconds(40);
inline constexpr auto leader_bound = std::chrono::seconds(20);
inline constexpr uint64_t history_ops_max = 200'000;
}  // namespace limits

// ---- Network: namespaces or loopback ----------------------------------------------------------

// One network namespace per node, a veth pair to the root namespace: the node listens on its
// namespace address, the relay on the root side of the pair. Nodes have no route to each other
// except through the relay (no forwarding is enabled), so a partition cannot leak.
class netns_set {
 public:
  // nullptr and `why` filled when namespaces cannot be made here (not root, no CAP_NET_ADMIN,
  // no `ip`).
  static std::unique_ptr<netns_set> create(int nodes, std::string& why);
  ~netns_set();
  [[nodiscard]] std::string node_host(int i) const;   // inside namespace i
  [[nodiscard]] std::string relay_host(int i) const;  // root side of veth i
  [[nodiscard]] const std::string& name(int i) const { return names_[static_cast<std::size_t>(i)]; }
  [[nodiscard]] int node_of_address(const sockaddr_in& a) const;  // -1 if none
  static void remove_stale();  // namespaces left by a harness process that died

 private:
  netns_set() = default;
  int subnet_ = 0;
  std::vector<std::string> names_;
  std::vector<std::string> host_ifs_;
};

// ---- History -------------------------------------------------------------------------------------

enum class op_type : uint8_t { transfer, read };
enum class op_result : uint8_t { ok, refused, fail, unknown };

struct op_record {
  op_type type = op_type::transfer;
  int client = 0;
  int account = 0;       // writer account index
  uint64_t nonce = 0;    // transfer: its nonce; read: observed
  int64_t amount = 0;    // transfer
  int64_t balance = 0;   // transfer: the writer's balance after it (if ok/refused); read: observed
  uint64_t index = 0;    // log index of the outcome / applied index of the read
  uint64_t invoke_seq = 0;
  std::optional<uint64_t> response_seq;
  op_result result = op_result::unknown;
  std::string code;      // refusal or failure code
  int node = -1;         // the node that answered
  bool duplicate = false;
  int64_t wait_ms = 0;   // transfer: invocation to its definite outcome
};

// ---- Schedules ---------------------------------------------------------------------------------

enum class fault_kind : uint8_t {
  kill_leader,
  kill_random,
  pause_leader,
  isolate_leader,
  split_minority,  // a random minority cut off from the majority
  bridge,          // two halves that only a bridge node joins
  one_way_leader_out,  // the leader's messages are lost, it still hears the others
  one_way_leader_in,   // the leader cannot hear the others
  slow_links,
  flaky_links,
  clock_jump_leader,
  remove_member,       // energoctl member remove of a follower, re-added (as a fresh node) at heal
  disk_full_restart,   // a node's data disk fills: it stops; restarted on a full disk it must not serve
  read_only_restart,   // restarted on a read-only data directory: must not serve
  remove_cut_member,   // a follower cut off from all while its removal commits: once healed it must stop itself
  count_,
};
[[nodiscard]] std::string_view to_string(fault_kind k);

struct fault {
  fault_kind kind = fault_kind::kill_leader;
  uint32_t start_ms = 0;
  uint32_t duration_ms = 0;
  uint64_t salt = 0;  // per-fault randomness (victims, halves, delays) drawn at apply time
};

struct schedule {
  uint64_t seed = 0;
  int nodes = 3;
  uint32_t run_ms = 4000;
  bool clock = false;
  bool disks = false;  // data dirs on small tmpfs mounts (disk faults)
  int spares = 0;      // nodes initialised but outside the bootstrap: they join at a membership heal
  std::vector<fault> faults;
  [[nodiscard]] std::string describe() const;
};

struct schedule_options {
  int nodes = 3;
  uint32_t run_ms = 4000;
  int faults = 3;
  std::vector<fault_kind> kinds;  // empty: all that the node count and mode allow
};
[[nodiscard]] schedule make_schedule(uint64_t seed, const schedule_options& o);

// ---- The run's figures -----------------------------------------------------------------------

struct run_report {
  uint64_t seed = 0;
  std::string mode;  // "namespaces" or "loopback (<why>)"
  int faults_injected = 0;
  uint64_t transfers_ok = 0, transfers_refused = 0, transfers_unknown = 0;
  uint64_t reads_ok = 0, reads_failed = 0;
  uint64_t lost = 0;         // acknowledged but missing on a node after the heal
  uint64_t applied_twice = 0;
  uint64_t root_samples = 0; // (applied index, root) pairs compared across nodes
  uint64_t converged_index = 0;
  uint64_t linearizability_steps = 0;
  // remove_cut_member faults whose strict check ran (no other fault overlapped; the node was still
  // running at the heal) and passed: the node stopped by itself (exit 8) after the cut healed.
  uint64_t cut_removals_learned = 0;
  int64_t transfer_wait_ms_max = 0;  // invocation to definite outcome, the longest
  relay_counters relay;
  std::vector<std::string> problems;  // every failed check, human-readable
  [[nodiscard]] bool ok() const { return problems.empty(); }
  [[nodiscard]] std::string summary() const;
};

struct run_options {
  bool namespaces_allowed = true;  // false: loopback even when namespaces work
  int writer_accounts = 6;
  int readers = 2;
  int tick_ms = 20;
  int snapshot_every = 64;
  bool keep_dir_on_success = false;
};

// Runs one schedule on a fresh cluster and checks the history. Never throws; problems go into
// the report.
[[nodiscard]] run_report run_schedule(const schedule& s, const run_options& o);

}  // namespace energo::faults
