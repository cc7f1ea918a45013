// raft_sim: run the Raft simulator for one seed (with an optional trace) or for many seeds.
// See README.md in this folder.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/consensus_sim/ledger_workload.hpp"
#include "tests/consensus_sim/simulation.hpp"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: raft_sim [--seed S | --start S --seeds N] [--nodes 3|5] [--steps MS]\n"
               "                [--clients C] [--verbose] [--keep-going] [--lying-fsync]\n"
               "  --seed S      run one seed (default 1)\n"
               "  --start S     first seed of a sweep (default 1)\n"
               "  --seeds N     run N seeds from --start; stops at the first failure unless --keep-going\n"
               "  --nodes N     initial voters (default 3)\n"
               "  --steps MS    simulated milliseconds with faults (default 4000)\n"
               "  --verbose     trace every event of the run to stdout\n"
               "  --lying-fsync checker self-test: the simulated disk loses synced writes on crash\n"
               "  --ledger      replicate a real ledger::ledger driven by signed commands and ticks\n"
               "  --send-while-persist  the leader sends before its writes are durable when raft.hpp allows\n"
               "  --send-while-persist-by-seed  that for ~30%% of seeds (as the sweeps do)\n"
               "  --bootstrap-in-memory  founders keep their bootstrap in memory until the first ready (unsafe)\n"
               "  --restart-meta-only | --restart-with-data   how restarts hand the snapshot to the core\n"
               "  --corrupt-messages  corrupt raft messages in flight through the peer wire codec\n"
               "  --removed-live-on   removed nodes keep running (often cut off before their removal)\n"
               "  --disk-faults       crashes tear the in-flight batch or corrupt a synced record\n"
               "  --faults-by-seed    each of the three above for its fraction of seeds (as the sweeps do)\n"
               "  --uncapped          clients never stop (fresh keys every 5 s): for long --steps runs\n"
               "                (default: alternate per incarnation)\n");
}

bool parse_u64(const char* s, uint64_t& out) {
  char* end = nullptr;
  out = std::strtoull(s, &end, 10);
  return end != s && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  using namespace energo::sim;
  sim_options base;
  uint64_t start = 1, seeds = 0;
  bool keep_going = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    uint64_t v = 0;
    auto need = [&](uint64_t& dst) {
      if (i + 1 >= argc || !parse_u64(argv[i + 1], dst)) {
        usage();
        std::exit(2);
      }
      ++i;
    };
    if (a == "--seed") { need(v); base.seed = v; start = v; }
    else if (a == "--seeds") { need(seeds); }
    else if (a == "--start") { need(start); }
    else if (a == "--nodes") { need(v); base.nodes = v; }
    else if (a == "--steps") { need(v); base.steps = v; }
    else if (a == "--clients") { need(v); base.clients = v; }
    else if (a == "--verbose") { base.verbose = true; }
    else if (a == "--keep-going") { keep_going = true; }
    else if (a == "--lying-fsync") { base.lying_fsync = true; }
    else if (a == "--ledger") { base.ledger = true; }
    else if (a == "--send-while-persist") { base.send_while_persist = send_while_persist_mode::always; }
    else if (a == "--send-while-persist-by-seed") { base.send_while_persist = send_while_persist_mode::by_seed; }
    else if (a == "--bootstrap-in-memory") { base.bootstrap_in_memory = true; }
    else if (a == "--restart-meta-only" || a == "--no-snapshot-resupply") { base.restart_snapshot = restart_snapshot_mode::meta_only; }
    else if (a == "--restart-with-data") { base.restart_snapshot = restart_snapshot_mode::with_data; }
    else if (a == "--corrupt-messages") { base.corrupt_messages = fault_mode::always; }
    else if (a == "--removed-live-on") { base.removed_nodes_live_on = fault_mode::always; }
    else if (a == "--disk-faults") { base.disk_faults = fault_mode::always; }
    else if (a == "--faults-by-seed") {
      // What the CI sweeps do: each issue 11 §2 fault for its fraction of seeds.
      base.corrupt_messages = base.removed_nodes_live_on = base.disk_faults = fault_mode::by_seed;
    }
    else if (a == "--uncapped") { base.uncapped_workload = true; }
    else if (a == "--strict-applied-index") { /* always on since raft_bugs.md #1 was fixed */ }
    else { usage(); return 2; }
  }
  if (base.nodes < 1 || base.nodes > 7 || base.clients < 1) {
    usage();
    return 2;
  }
  install_abort_reporter();
  if (seeds == 0) {
    simulation sim(base);
    const sim_result r = sim.run();
    const sim_stats& s = r.stats;
    std::printf("seed %llu: %s | %llu ms, term %llu, commit %llu, leaders %llu, crashes %llu, partitions %llu, "
                "config %llu/%llu, transfers %llu, compactions %llu, snapshots %llu, ops %llu acked %llu, "
                "digest %016llx%s; ledger: %llu proposed, %llu ticks, %llu entries applied; early sends %llu\n",
                static_cast<unsigned long long>(base.seed), r.ok ? "ok" : "FAILED",
                static_cast<unsigned long long>(s.sim_ms), static_cast<unsigned long long>(s.max_term),
                static_cast<unsigned long long>(s.max_commit), static_cast<unsigned long long>(s.leaders_elected),
                static_cast<unsigned long long>(s.crashes), static_cast<unsigned long long>(s.partitions),
                static_cast<unsigned long long>(s.config_changes_applied),
                static_cast<unsigned long long>(s.config_changes_proposed),
                static_cast<unsigned long long>(s.transfers), static_cast<unsigned long long>(s.compactions),
                static_cast<unsigned long long>(s.snapshots_installed), static_cast<unsigned long long>(s.client_ops),
                static_cast<unsigned long long>(s.client_ops_acked), static_cast<unsigned long long>(s.digest),
                s.linearizability_budget_exceeded ? " (linearizability budget exceeded)" : "",
                static_cast<unsigned long long>(s.ledger_commands_proposed),
                static_cast<unsigned long long>(s.ledger_ticks_proposed),
                static_cast<unsigned long long>(s.ledger_entries_applied), static_cast<unsigned long long>(s.early_sends));
    if (base.ledger) {
      const auto& ls = ledger_replica::stats();
      std::printf("ledger replicas: %llu commands applied, %llu refused (all replicas)\n",
                  static_cast<unsigned long long>(ls.applied), static_cast<unsigned long long>(ls.refused));
      for (const auto& [what, count] : ls.by_outcome)
        std::printf("  %-40s %llu\n", what.c_str(), static_cast<unsigned long long>(count));
    }
    if (s.corrupt_messages)
      std::printf("corrupted frames %llu: refused %llu, decoded unchanged %llu, wrong sender %llu, decoded and probed "
                  "%llu; connections closed %llu (%llu packets lost with them)\n",
                  static_cast<unsigned long long>(s.corrupt_frames), static_cast<unsigned long long>(s.corrupt_refused),
                  static_cast<unsigned long long>(s.corrupt_unchanged),
                  static_cast<unsigned long long>(s.corrupt_wrong_sender),
                  static_cast<unsigned long long>(s.corrupt_decoded), static_cast<unsigned long long>(s.links_reset),
                  static_cast<unsigned long long>(s.packets_lost_with_link));
    if (s.removed_live_on)
      std::printf("removed nodes living on %llu (cut off before removal %llu), their (pre-)vote requests delivered %llu\n",
                  static_cast<unsigned long long>(s.removed_alive), static_cast<unsigned long long>(s.removed_cut_off),
                  static_cast<unsigned long long>(s.removed_campaigns));
    if (s.disk_faults)
      std::printf("disk faults: torn writes %llu, synced records corrupted %llu, replicas that refused to start %llu\n",
                  static_cast<unsigned long long>(s.torn_writes), static_cast<unsigned long long>(s.records_corrupted),
                  static_cast<unsigned long long>(s.replicas_refused));
    std::printf("client ops issued %llu, acknowledged %llu; linearizability search steps %llu\n",
                static_cast<unsigned long long>(s.client_ops), static_cast<unsigned long long>(s.client_ops_acked),
                static_cast<unsigned long long>(s.linearizability_steps));
    if (!r.ok) std::printf("%s\n", r.failure.c_str());
    return r.ok ? 0 : 1;
  }
  uint64_t failures = 0, budget = 0;
  for (uint64_t seed = start; seed < start + seeds; ++seed) {
    sim_options o = base;
    o.seed = seed;
    simulation sim(o);
    const sim_result r = sim.run();
    if (r.stats.linearizability_budget_exceeded) ++budget;
    if (!r.ok) {
      ++failures;
      std::printf("%s\n", r.failure.c_str());
      std::fflush(stdout);
      if (!keep_going) break;
    }
    if ((seed - start + 1) % 1000 == 0) {
      std::printf("... %llu seeds, %llu failures\n", static_cast<unsigned long long>(seed - start + 1),
                  static_cast<unsigned long long>(failures));
      std::fflush(stdout);
    }
  }
  std::printf("raft_sim: seeds %llu..%llu, nodes %zu, steps %llu: %llu failures, %llu linearizability budget "
              "overruns\n",
              static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + seeds - 1), base.nodes,
              static_cast<unsigned long long>(base.steps), static_cast<unsigned long long>(failures),
              static_cast<unsigned long long>(budget));
  return failures == 0 ? 0 : 1;
}
