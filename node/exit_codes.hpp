#pragma once
// Exit codes of energo-node and energoctl (documented in docs/node.md; scripts rely on them:
// never renumber).
namespace energo::node {

enum exit_code : int {
  exit_ok = 0,
  exit_internal = 1,         // a bug or an unexpected failure; see the log
  exit_usage = 2,            // bad command line or configuration (check-config says why)
  exit_data_dir_locked = 3,  // another energo-node holds the data directory's LOCK
  exit_data_dir = 4,         // init: the directory exists; start: it is missing or not a node's
  exit_storage = 5,          // RocksDB could not be opened, is corrupt, a write failed, or the disk is full
  exit_bootstrap = 6,        // bootstrap file invalid, or this node is not in it, or cluster mismatch
  exit_network = 7,          // a listen address could not be bound
  exit_removed = 8,          // this node was removed from the cluster's member registry (DIR/removed)
  // energoctl only
  exit_unavailable = 10,     // no endpoint answered
  exit_refused = 11,         // the ledger refused the command (its outcome has the code)
  exit_failed = 12,          // the node could not process the request (busy, timeout, ...)
  exit_verify_failed = 13,   // checkpoint verify / proof verify: FAIL (the reason is printed)
  exit_qtum_unavailable = 14,  // checkpoint verify / proof verify: the Qtum node could not be asked
};

}  // namespace energo::node
