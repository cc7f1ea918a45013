#pragma once
// The node's data directory (docs/node.md "Data directory"):
//   DIR/LOCK            flock()ed by the running energo-node (two processes never share DIR)
//   DIR/node.json       {"format":1,"node_id":N,"public_key":"hex"} — written by init
//   DIR/node_key.json   the node's Ed25519 key (tools/key_file format), mode 0600
//   DIR/cluster.json    the cluster this node belongs to, written durably at first start from the
//                       bootstrap file (cluster id, members, genesis); restarts read only this
//   DIR/db/             RocksDB (storage::node_store)
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "crypto/ed25519.hpp"
#include "ledger/ledger.hpp"

namespace energo::node {

struct dir_error {
  int exit = 1;  // node::exit_code
  std::string message;
};
template <class T>
using dir_result = energo::result<T, dir_error>;

// Node id = first 8 bytes of SHA-256(public key), big-endian; never 0 (consensus::no_node).
[[nodiscard]] uint64_t node_id_of(const crypto::ed25519_public_key& key);

struct node_identity {
  uint64_t node_id = 0;
  crypto::ed25519_keypair key;
};

// Creates DIR (must not exist, or be an empty directory), the key, node.json. Durable (fsync).
[[nodiscard]] dir_result<node_identity> init_data_dir(const std::string& dir);
[[nodiscard]] dir_result<node_identity> read_identity(const std::string& dir);

// Holds DIR/LOCK with flock(LOCK_EX | LOCK_NB) until destroyed.
class dir_lock {
 public:
  [[nodiscard]] static dir_result<dir_lock> acquire(const std::string& dir);
  dir_lock(dir_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  dir_lock& operator=(dir_lock&&) = delete;
  dir_lock(const dir_lock&) = delete;
  ~dir_lock();

 private:
  explicit dir_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct member {
  uint64_t node_id = 0;
  std::string name;
  crypto::ed25519_public_key public_key;
  std::string peer_address;    // host:port
  std::string client_address;  // host:port (energoctl --endpoints)
};

struct cluster_info {
  std::string cluster_id;
  std::map<uint64_t, member> members;  // the initial voters
  std::string genesis_json;            // the genesis file's text, verbatim
  ledger::genesis genesis;
};

// Reads a bootstrap file (TOML, docs/node.md "Bootstrap file"); the genesis path is relative to it.
[[nodiscard]] dir_result<cluster_info> read_bootstrap_file(const std::string& path);
[[nodiscard]] dir_result<std::optional<cluster_info>> read_cluster_file(const std::string& dir);
// Writes DIR/cluster.json atomically and durably (temp file, fsync, rename, fsync DIR).
[[nodiscard]] dir_result<void> write_cluster_file(const std::string& dir, const cluster_info& c);

// Writes `text` to `path` durably (temp + fsync + rename + fsync of the directory), `mode` bits.
[[nodiscard]] energo::result<void, std::string> write_file_durably(const std::string& path, const std::string& text,
                                                                   unsigned mode);

}  // namespace energo::node
