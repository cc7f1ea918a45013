#include "node/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "crypto/hash.hpp"
#include "node/exit_codes.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"

namespace energo::node {

namespace fs = std::filesystem;
using tools::json;

namespace {

constexpr uint64_t node_file_format = 1;
constexpr std::size_t cluster_file_bytes_max = 64u << 20;  // genesis (32 MiB max) + members
constexpr std::size_t bootstrap_members_max = 64;
constexpr std::size_t name_chars_max = 64;

energo::unexpected<dir_error> fail(int code, std::string message) {
  return energo::unexpected<dir_error>{dir_error{code, std::move(message)}};
}

energo::result<std::string, std::string> read_small_file(const std::string& path, std::size_t bytes_max) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return energo::unexpected<std::string>{"cannot read " + path + ": " + ec.message()};
  if (size > bytes_max) return energo::unexpected<std::string>{path + " is larger than " + std::to_string(bytes_max) + " bytes"};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) return energo::unexpected<std::string>{"cannot read " + path};
  return ss.str();
}

bool fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool good = ::fsync(fd) == 0;
  ::close(fd);
  return good;
}

}  // namespace

uint64_t node_id_of(const crypto::ed25519_public_key& key) {
  const crypto::hash256 h = crypto::sha256(key.bytes);
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | h[static_cast<std::size_t>(i)];
  return id == 0 ? 1 : id;
}

energo::result<void, std::string> write_file_durably(const std::string& path, const std::string& text, unsigned mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return energo::unexpected<std::string>{"cannot create " + tmp + ": " + std::strerror(errno)};
  std::size_t written = 0;
  bool good = ::fchmod(fd, mode) == 0;
  while (good && written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) good = false;
    else written += static_cast<std::size_t>(n);
  }
  good = good && ::fsync(fd) == 0;
  const int err = errno;
  if (::close(fd) != 0) good = false;
  if (!good) return energo::unexpected<std::string>{"cannot write " + tmp + ": " + std::strerror(err)};
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return energo::unexpected<std::string>{"cannot rename " + tmp + ": " + std::strerror(errno)};
  }
  const std::string parent = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string();
  if (!fsync_path(parent, O_RDONLY | O_DIRECTORY)) {
    return energo::unexpected<std::string>{"cannot sync directory " + parent};
  }
  return ok;
}

dir_result<node_identity> init_data_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
      return fail(exit_data_dir, dir + " already exists and is not empty: refusing to initialise over it");
    }
  } else if (!fs::create_directories(dir, ec)) {
    return fail(exit_data_dir, "cannot create " + dir + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);
  auto lock = dir_lock::acquire(dir);
  if (!lock) return energo::unexpected<dir_error>{lock.error()};
  node_identity id{0, crypto::ed25519_keypair::generate()};
  id.node_id = node_id_of(id.key.public_key());
  auto kf = tools::key_file::of(id.key);
  kf.comment = "energo node key: identifies this node to its peers; keep it secret";
  if (auto r = tools::write_key_file(dir + "/node_key.json", kf, false); !r) return fail(exit_data_dir, r.error());
  json doc;
  doc["format"] = node_file_format;
  doc["node_id"] = id.node_id;
  doc["public_key"] = crypto::to_hex(id.key.public_key().bytes);
  if (auto r = write_file_durably(dir + "/node.json", tools::dump_pretty(doc) + "\n", 0644); !r) {
    return fail(exit_data_dir, r.error());
  }
  return id;
}

dir_result<node_identity> read_identity(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::exists(dir + "/node.json", ec)) {
    return fail(exit_data_dir, dir + " is not an energo data directory (run `energo-node init --data " + dir + "`)");
  }
  auto kf = tools::read_key_file(dir + "/node_key.json");
  if (!kf) return fail(exit_data_dir, dir + "/node_key.json: " + kf.error().to_string());
  if (!kf->ed25519) return fail(exit_data_dir, dir + "/node_key.json is not an Ed25519 key");
  struct stat st {};
  if (::stat((dir + "/node_key.json").c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return fail(exit_data_dir, dir + "/node_key.json is readable by others (mode must be 0600)");
  }
  auto text = read_small_file(dir + "/node.json", 64 * 1024);
  if (!text) return fail(exit_data_dir, text.error());
  auto doc = tools::parse_json(*text, 64 * 1024);
  if (!doc) return fail(exit_data_dir, dir + "/node.json: " + doc.error().to_string());
  node_identity id{0, *kf->ed25519};
  id.node_id = node_id_of(id.key.public_key());
  const auto stored = doc->find("node_id");
  if (stored == doc->end() || !stored->is_number_unsigned() || stored->get<uint64_t>() != id.node_id) {
    return fail(exit_data_dir, dir + "/node.json does not match node_key.json");
  }
  return id;
}

dir_result<dir_lock> dir_lock::acquire(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    // A read-only or full data disk is a storage failure (exit 5), not a wrong directory.
    return fail(err == EROFS || err == ENOSPC || err == EDQUOT || err == EIO ? exit_storage : exit_data_dir,
                "cannot open " + path + ": " + std::strerror(err));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return fail(exit_data_dir_locked, dir + " is in use by another energo-node (LOCK held)");
    return fail(exit_data_dir, "cannot lock " + path + ": " + std::strerror(err));
  }
  // Record our pid for operators (the lock itself is the flock, not the content).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return dir_lock(fd);
}

dir_lock::~dir_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

// ---- Bootstrap and cluster files ----------------------------------------------------------------

namespace {

dir_result<void> check_members(cluster_info& c, const std::string& where) {
  if (c.members.empty()) return fail(exit_bootstrap, where + ": no [[member]]");
  if (c.cluster_id.empty() || c.cluster_id.size() > 128) return fail(exit_bootstrap, where + ": cluster_id must be 1-128 characters");
  return ok;
}

}  // namespace

dir_result<cluster_info> read_bootstrap_file(const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << e;
    return fail(exit_bootstrap, path + ": " + ss.str());
  }
  cluster_info c;
  for (auto&& [k, v] : doc) {
    const std::string key(k.str());
    if (key != "cluster_id" && key != "genesis" && key != "member") {
      return fail(exit_bootstrap, path + ": unknown key '" + key + "'");
    }
  }
  const auto genesis_path = doc["genesis"].value<std::string>();
  if (!genesis_path) return fail(exit_bootstrap, path + ": 'genesis' (path of the genesis JSON) is required");
  fs::path gp(*genesis_path);
  if (gp.is_relative()) gp = fs::path(path).parent_path() / gp;
  auto text = read_small_file(gp.string(), tools::genesis_bytes_max);
  if (!text) return fail(exit_bootstrap, text.error());
  auto genesis = tools::genesis_from_text(*text);
  if (!genesis) return fail(exit_bootstrap, gp.string() + ": " + genesis.error().to_string());
  c.genesis = *genesis;
  c.genesis_json = *text;
  // Default cluster id: the community and its genesis hash, so two communities never mix.
  c.cluster_id = doc["cluster_id"].value<std::string>().value_or(
      genesis->community_id + "/" + crypto::to_hex(genesis->hash()).substr(0, 16));
  const toml::array* members = doc["member"].as_array();
  if (!members) return fail(exit_bootstrap, path + ": at least one [[member]] is required");
  if (members->size() > bootstrap_members_max) return fail(exit_bootstrap, path + ": too many members");
  std::size_t i = 0;
  for (const auto& node : *members) {
    const std::string where = path + ": member[" + std::to_string(i++) + "]";
    const toml::table* t = node.as_table();
    if (!t) return fail(exit_bootstrap, where + " is not a table");
    for (auto&& [k, v] : *t) {
      const std::string key(k.str());
      if (key != "name" && key != "public_key" && key != "peer" && key != "client" && key != "node_id") {
        return fail(exit_bootstrap, where + ": unknown key '" + key + "'");
      }
    }
    member m;
    m.name = (*t)["name"].value<std::string>().value_or("");
    if (m.name.empty() || m.name.size() > name_chars_max) return fail(exit_bootstrap, where + ": name must be 1-64 characters");
    auto pk = crypto::array_from_hex<32>((*t)["public_key"].value<std::string>().value_or(""));
    if (!pk) return fail(exit_bootstrap, where + ": public_key must be 64 hex characters (see DIR/node.json)");
    m.public_key.bytes = *pk;
    m.node_id = node_id_of(m.public_key);
    if (auto listed = (*t)["node_id"].value<int64_t>(); listed && static_cast<uint64_t>(*listed) != m.node_id) {
      return fail(exit_bootstrap, where + ": node_id does not match public_key");
    }
    m.peer_address = (*t)["peer"].value<std::string>().value_or("");
    m.client_address = (*t)["client"].value<std::string>().value_or("");
    if (m.peer_address.empty()) return fail(exit_bootstrap, where + ": peer address (host:port) is required");
    if (!c.members.emplace(m.node_id, m).second) return fail(exit_bootstrap, where + ": listed twice");
  }
  if (auto r = check_members(c, path); !r) return energo::unexpected<dir_error>{r.error()};
  return c;
}

dir_result<void> write_cluster_file(const std::string& dir, const cluster_info& c) {
  json doc;
  doc["format"] = 1;
  doc["cluster_id"] = c.cluster_id;
  json members = json::array();
  for (const auto& [id, m] : c.members) {
    json j;
    j["node_id"] = id;
    j["name"] = m.name;
    j["public_key"] = crypto::to_hex(m.public_key.bytes);
    j["peer"] = m.peer_address;
    j["client"] = m.client_address;
    members.push_back(j);
  }
  doc["members"] = members;
  doc["genesis"] = c.genesis_json;
  if (auto r = write_file_durably(dir + "/cluster.json", tools::dump_pretty(doc) + "\n", 0644); !r) {
    return fail(exit_storage, r.error());
  }
  return ok;
}

dir_result<std::optional<cluster_info>> read_cluster_file(const std::string& dir) {
  const std::string path = dir + "/cluster.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<cluster_info>{};
  auto text = read_small_file(path, cluster_file_bytes_max);
  if (!text) return fail(exit_data_dir, text.error());
  try {
    // Our own file: nlohmann's plain parser (the genesis inside is re-checked by the strict codec).
    const auto doc = json::parse(*text);
    cluster_info c;
    c.cluster_id = doc.at("cluster_id").get<std::string>();
    c.genesis_json = doc.at("genesis").get<std::string>();
    auto genesis = tools::genesis_from_text(c.genesis_json);
    if (!genesis) return fail(exit_data_dir, path + ": genesis: " + genesis.error().to_string());
    c.genesis = *genesis;
    for (const auto& j : doc.at("members")) {
      member m;
      m.node_id = j.at("node_id").get<uint64_t>();
      m.name = j.at("name").get<std::string>();
      auto pk = crypto::array_from_hex<32>(j.at("public_key").get<std::string>());
      if (!pk) return fail(exit_data_dir, path + ": bad public key");
      m.public_key.bytes = *pk;
      m.peer_address = j.at("peer").get<std::string>();
      m.client_address = j.at("client").get<std::string>();
      if (node_id_of(m.public_key) != m.node_id) return fail(exit_data_dir, path + ": node id does not match its key");
      c.members.emplace(m.node_id, m);
    }
    if (auto r = check_members(c, path); !r) return energo::unexpected<dir_error>{r.error()};
    return std::optional<cluster_info>{std::move(c)};
  } catch (const std::exception& e) {
    return fail(exit_data_dir, path + ": " + e.what());
  }
}

}  // namespace energo::node
