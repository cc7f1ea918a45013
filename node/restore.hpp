#pragma once
// energo-node restore (docs/operations.md "Restore"): a fresh data directory seeded from a
// snapshot file, the model of etcd's `etcdutl snapshot restore`.
#include <string>

namespace energo::node {

struct restore_args {
  std::string snapshot_file;  // written by `energoctl snapshot save`
  std::string data_dir;       // made by `energo-node init`, never started (no cluster.json, no db/)
  std::string bootstrap_file; // the restored cluster's voters (and the community's genesis)
  bool as_json = false;
};

// Returns a node::exit_code; on any refusal the data directory is left as it was.
int run_restore(const restore_args& a);

}  // namespace energo::node
