#pragma once
// The whole replicated ledger under simulation (issue 11 §2, README.md here).
//
// ledger_world: one genesis (members, admins, meters, stations, storage units with keys derived
// once per process) shared by every replica of every seed.
//
// ledger_workload: a seeded generator of signed commands of every kind — meter readings,
// transfers, place/cancel/replace orders, set_agent, EV open/delivery/close, admin registrations,
// set_params and grants, storage reports — plus a few with a corrupted signature. It keeps its
// own guess of nonces, registers, order and session ids; a wrong guess is a command the ledger
// refuses, identically on every replica, which is part of what is checked. Ticks are not in the
// stream: the simulator proposes them as the leader's clock would (tick_for_time()).
//
// ledger_replica: one replica's ledger::ledger. Applies framed entries, records the state root
// after every entry and checks the conservation rules with an oracle written from the public
// queries (not from check_invariants): TSL total = 10^17, WATT total = minted − burned, no
// balance below 0, no member above Bmax, and that a refused command changes nothing.
//
// Signatures cost tens of microseconds: signed commands are cached process-wide by their body
// (the same body signs to the same bytes), and verify() runs once per distinct command bytes per
// process (its result is a pure function of the bytes and the genesis). The replicas then call
// ledger::apply(), which is verify_and_apply() minus the repeated curve math.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.hpp"
#include "tests/consensus_sim/prng.hpp"

namespace energo::sim {

// First byte of a log entry that carries a ledger command (session payloads start with 0x53).
inline constexpr char ledger_entry_tag = 'L';

std::string encode_ledger_entry(const ledger::command& cmd);

struct ledger_world {
  ledger::genesis gen;
  crypto::hash256 genesis_hash{};
  std::optional<ledger::ledger> initial;  // ledger::create(gen)
  std::vector<crypto::secp256k1_secret_key> account_secrets;
  std::vector<crypto::secp256k1_public_key> account_publics;
  std::vector<ledger::account_address> account_addresses;
  std::vector<crypto::ed25519_keypair> admins, meters, stations, units;
  int64_t t0_ms = 0;
};
// Built once per process (keys and genesis never change).
const ledger_world& world();

struct ledger_workload_stats {
  uint64_t generated = 0, corrupted = 0;
};

class ledger_workload {
 public:
  explicit ledger_workload(uint64_t seed);
  // The next command; `ledger_time_ms` is the proposer's clock (readings and reports are stamped
  // with it).
  ledger::command next(int64_t ledger_time_ms);
  const ledger_workload_stats& stats() const { return stats_; }

 private:
  ledger::command sign_account(uint32_t n, ledger::command_body body);
  ledger::command sign_ed(const crypto::ed25519_keypair& key, ledger::command_body body);
  prng rng_;
  std::vector<uint64_t> nonce_;           // per account key
  uint64_t admin_nonce_[2] = {0, 0};
  std::vector<uint64_t> meter_seq_;
  std::vector<int64_t> meter_export_, meter_import_;
  std::vector<uint64_t> station_seq_;
  std::vector<int64_t> station_delivered_;
  std::vector<uint64_t> unit_nonce_;
  uint64_t orders_placed_ = 0, sessions_opened_ = 0;
  uint64_t commands_ = 0;
  ledger_workload_stats stats_;
};

struct ledger_replica_stats {
  uint64_t applied = 0, refused = 0, invariant_checks = 0;
  std::map<std::string, uint64_t> by_outcome;  // "command: ok" / "command: errc" (all replicas)
};

class ledger_replica {
 public:
  ledger_replica();  // the genesis state
  // Applies one ledger entry (bytes after the tag). Returns a description of a broken rule, empty
  // when all hold. A refused command is not a failure (it must change nothing).
  std::string apply(std::string_view bytes);
  // Full deep check (ledger::check_invariants()), O(state).
  std::string deep_check() const;
  const crypto::hash256& root() const { return root_; }
  std::vector<uint8_t> snapshot() const { return l_->snapshot(); }
  [[nodiscard]] bool restore(std::string_view bytes);
  const ledger::ledger& get() const { return *l_; }
  static ledger_replica_stats& stats();  // process-wide counters (for the suites' summaries)

 private:
  std::string oracle() const;
  std::optional<ledger::ledger> l_;
  crypto::hash256 root_{};
};

}  // namespace energo::sim
