// energo-node restore: every check on the snapshot file (size bound, checksum trailer, image
// decode with bounds, ledger restore, genesis) runs before anything is written; then the store is
// seeded in one synced batch and cluster.json written last (its presence marks a directory that
// belongs to a cluster), so a failure leaves the directory as `init` made it.
#include "node/restore.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "actors/restore.hpp"
#include "crypto/bytes.hpp"
#include "net/client_conn.hpp"
#include "node/data_dir.hpp"
#include "node/exit_codes.hpp"
#include "node/snapshot_file.hpp"

namespace energo::node {

namespace fs = std::filesystem;

namespace {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "energo-node restore: %s\n", message.c_str());
  return code;
}

}  // namespace

int run_restore(const restore_args& a) {
  auto id = read_identity(a.data_dir);
  if (!id) return fail(id.error().exit, id.error().message);
  auto lock = dir_lock::acquire(a.data_dir);
  if (!lock) return fail(lock.error().exit, lock.error().message);
  std::error_code ec;
  if (fs::exists(a.data_dir + "/cluster.json", ec) || fs::exists(a.data_dir + "/db", ec)) {
    return fail(exit_data_dir, a.data_dir + " already holds a cluster or a store: restore only into a fresh `energo-node init` directory");
  }
  auto boot = read_bootstrap_file(a.bootstrap_file);
  if (!boot) return fail(boot.error().exit, boot.error().message);
  if (!boot->members.count(id->node_id)) {
    return fail(exit_bootstrap, "this node (" + std::to_string(id->node_id) + ") is not a member in " + a.bootstrap_file);
  }

  // The file: its size is checked before a byte is read, so a huge file costs nothing.
  const auto size = fs::file_size(a.snapshot_file, ec);
  if (ec) return fail(exit_usage, "cannot read " + a.snapshot_file + ": " + ec.message());
  if (size > snapshot_file_bytes_max) return fail(exit_usage, a.snapshot_file + ": larger than a snapshot file can be");
  std::string file(static_cast<std::size_t>(size), '\0');
  {
    std::ifstream in(a.snapshot_file, std::ios::binary);
    if (!in.read(file.data(), static_cast<std::streamsize>(file.size()))) {
      return fail(exit_usage, "cannot read " + a.snapshot_file);
    }
  }
  auto image = snapshot_file_image(file);
  if (!image) return fail(exit_usage, a.snapshot_file + ": " + image.error());

  actors::member_registry members;
  for (const auto& [mid, m] : boot->members) {
    if (!net::parse_endpoint(m.peer_address)) return fail(exit_bootstrap, "member " + m.name + ": bad peer address " + m.peer_address);
    members.members[mid] = actors::member_record{mid, m.name, m.public_key, m.peer_address, m.client_address, actors::member_role::voter};
  }
  auto plan = actors::plan_restore(*image, members);
  if (!plan) return fail(exit_usage, a.snapshot_file + ": " + plan.error());
  if (plan->genesis_hash != boot->genesis.hash()) {
    return fail(exit_bootstrap, a.snapshot_file + " is a snapshot of community '" + plan->community_id +
                                    "', not of the genesis in " + a.bootstrap_file);
  }

  // Every check passed: seed the store, then write cluster.json.
  {
    storage::store_options so;
    so.cluster_id = boot->cluster_id;
    auto opened = storage::node_store::open(a.data_dir + "/db", so);
    if (!opened) return fail(exit_storage, std::string("storage: ") + opened.error().message);
    auto seeded = actors::seed_restore(**opened, *plan);
    auto closed = (*opened)->close();
    if (!seeded || !closed) {
      fs::remove_all(a.data_dir + "/db", ec);
      return fail(exit_storage, !seeded ? seeded.error() : closed.error().message);
    }
  }
  if (auto w = write_cluster_file(a.data_dir, *boot); !w) {
    fs::remove_all(a.data_dir + "/db", ec);
    return fail(w.error().exit, w.error().message);
  }
  const std::string root = crypto::to_hex(plan->root);
  if (a.as_json) {
    std::printf("{\"data_dir\":\"%s\",\"cluster_id\":\"%s\",\"applied_index\":%llu,\"state_root\":\"%s\",\"members\":%zu}\n",
                a.data_dir.c_str(), boot->cluster_id.c_str(), static_cast<unsigned long long>(plan->applied_index),
                root.c_str(), members.members.size());
  } else {
    std::printf("restored %s at applied index %llu, state root %s\ncluster %s with %zu voter(s); start it with "
                "`energo-node start --data %s`\n",
                a.data_dir.c_str(), static_cast<unsigned long long>(plan->applied_index), root.c_str(),
                boot->cluster_id.c_str(), members.members.size(), a.data_dir.c_str());
  }
  return exit_ok;
}

}  // namespace energo::node
