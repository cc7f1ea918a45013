#include "tests/cluster_faults/harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crypto/hash.hpp"
#include "ledger/commands.hpp"
#include "tests/consensus_sim/linearizability.hpp"
#include "tools/child_process.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"
#include "tools/load.hpp"
#include "tools/loopback_port.hpp"

namespace energo::faults {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int64_t account_units = 1'000'000'000;  // each load account's TSL at genesis
constexpr int sink_accounts = 2;                  // receive every transfer; never send
constexpr uint16_t ns_peer_port = 7100;           // namespace mode: every node has its own addresses
constexpr uint16_t ns_client_port = 7200;
constexpr const char* key_seed = "faults";
constexpr uint64_t balance_bits = 40;
constexpr int join_relay_base = 1000;
constexpr int storage_exit_code = 5;  // node/exit_codes.hpp: storage (a full disk included)
constexpr int removed_exit_code = 8;  // node/exit_codes.hpp: removed from the member registry
// remove-cut-member: from the heal of the cut to the removed node's own exit. The leader's grace
// is 800 ms; this bound only decides how long a failing run waits.
constexpr std::chrono::milliseconds removal_learned_bound{5000};
constexpr int data_fs_mib = 256;         // disk faults: each data dir's tmpfs  // relay listener ids of the join paths (never a node index)  // read value = nonce << 40 | balance (balances stay below 2^40)

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// energoctl with `args`; its exit code (-1 if it did not exit normally) and its output.
int energoctl(const std::string& args, std::string& out) {
  out.clear();
  FILE* p = ::popen((std::string(ENERGOCTL_BIN) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  const int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// splitmix64: every random choice of a run derives from its seed.
struct prng {
  uint64_t s;
  explicit prng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
};

// Loopback mode: the dialler of an accepted relay connection is the node process that owns the
// socket with that local port (/proc/net/tcp gives the inode, /proc/<pid>/fd the owner).
int owner_of_loopback_socket(uint16_t peer_port, uint16_t relay_port, const std::vector<pid_t>& pids) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);
  std::string inode;
  while (std::getline(tcp, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, st, q, tr, retr, uid, timeout, ino;
    ls >> sl >> local >> remote >> st >> q >> tr >> retr >> uid >> timeout >> ino;
    const auto lp = local.find(':'), rp = remote.find(':');
    if (lp == std::string::npos || rp == std::string::npos) continue;
    if (std::stoul(local.substr(lp + 1), nullptr, 16) == peer_port &&
        std::stoul(remote.substr(rp + 1), nullptr, 16) == relay_port) {
      inode = "socket:[" + ino + "]";
      break;
    }
  }
  if (inode.empty()) return -1;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (pids[i] <= 0) continue;
    const std::string dir = "/proc/" + std::to_string(pids[i]) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      char target[128];
      const auto n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
      if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == inode) {
        ::closedir(d);
        return static_cast<int>(i);
      }
    }
    ::closedir(d);
  }
  return -1;
}

std::string hex_of(const std::string& raw) { return crypto::to_hex(crypto::as_bytes(raw)).substr(0, 16); }

}  // namespace

// ---- netns_set ---------------------------------------------------------------------------------

void netns_set::remove_stale() {
  const auto list = run_capture("ip netns list 2>/dev/null");
  std::istringstream in(list);
  std::string name;
  while (in >> name) {
    if (name.rfind("energo-f", 0) != 0) continue;
    const auto dash = name.find('-', 8);
    if (dash == std::string::npos) continue;
    const pid_t owner = static_cast<pid_t>(std::atoi(name.substr(8, dash - 8).c_str()));
    if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) sh("ip netns del " + name);
  }
}

std::unique_ptr<netns_set> netns_set::create(int nodes, std::string& why) {
  if (::geteuid() != 0) {
    why = "not root";
    return nullptr;
  }
  if (sh("ip -V") != 0) {
    why = "no ip(8)";
    return nullptr;
  }
  remove_stale();
  // Serialise the choice of a subnet between harness processes (ctest -j).
  const int lock = ::open("/tmp/energo-faults-netns.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  auto s = std::unique_ptr<netns_set>(new netns_set());
  const auto addrs = run_capture("ip -4 -o addr show 2>/dev/null");
  s->subnet_ = -1;
  for (int t = 0; t < 200; ++t) {
    const int k = (static_cast<int>(::getpid()) + t) % 200 + 20;
    if (addrs.find("10.213." + std::to_string(k) + ".") == std::string::npos) {
      s->subnet_ = k;
      break;
    }
  }
  // Names unique per run: a namespace's devices can outlive `ip netns del` for a moment (the
  // kernel frees them asynchronously), so the next run in this process must not reuse them.
  static std::atomic<int> runs{0};
  const int run_no = runs++ % 1000;
  const std::string pid = std::to_string(::getpid());
  const std::string tag = std::to_string(::getpid() % 100000) + "_" + std::to_string(run_no);  // <= 9 chars
  bool ok = s->subnet_ >= 0;
  if (!ok) why = "no free 10.213.x.0/24 subnet";
  for (int i = 0; ok && i < nodes; ++i) {
    const std::string ns = "energo-f" + pid + "-" + std::to_string(run_no) + "-" + std::to_string(i);
    const std::string host_if = "ef" + tag + "h" + std::to_string(i);  // <= 15 chars (IFNAMSIZ)
    const std::string ns_if = "ef" + tag + "n" + std::to_string(i);
    const std::string cmds[] = {
        "ip netns add " + ns,
        "ip link add " + host_if + " type veth peer name " + ns_if,
        "ip link set " + ns_if + " netns " + ns,
        "ip addr add " + s->relay_host(i) + "/30 dev " + host_if,
        "ip link set " + host_if + " up",
        "ip -n " + ns + " addr add " + s->node_host(i) + "/30 dev " + ns_if,
        "ip -n " + ns + " link set " + ns_if + " up",
        "ip -n " + ns + " link set lo up",
        "ip -n " + ns + " route add default via " + s->relay_host(i),
    };
    for (const auto& c : cmds) {
      if (sh(c) != 0) {
        why = "`" + c + "` failed (no CAP_NET_ADMIN?)";
        ok = false;
        break;
      }
      if (&c == &cmds[0]) s->names_.push_back(ns);
      if (&c == &cmds[1]) s->host_ifs_.push_back(host_if);
    }
  }
  if (lock >= 0) ::close(lock);
  if (!ok) return nullptr;  // the destructor removes what was made
  return s;
}

netns_set::~netns_set() {
  for (const auto& d : host_ifs_) sh("ip link del " + d);  // the pair goes at once
  for (const auto& n : names_) sh("ip netns del " + n);
}

std::string netns_set::node_host(int i) const {
  return "10.213." + std::to_string(subnet_) + "." + std::to_string(4 * i + 2);
}
std::string netns_set::relay_host(int i) const {
  return "10.213." + std::to_string(subnet_) + "." + std::to_string(4 * i + 1);
}
int netns_set::node_of_address(const sockaddr_in& a) const {
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
  for (int i = 0; i < static_cast<int>(names_.size()); ++i) {
    if (node_host(i) == buf) return i;
  }
  return -1;
}

// ---- Schedules -----------------------------------------------------------------------------------

std::string_view to_string(fault_kind k) {
  switch (k) {
    case fault_kind::kill_leader: return "kill-9-leader";
    case fault_kind::kill_random: return "kill-9-random";
    case fault_kind::pause_leader: return "sigstop-leader";
    case fault_kind::isolate_leader: return "isolate-leader";
    case fault_kind::split_minority: return "split-minority";
    case fault_kind::bridge: return "bridge";
    case fault_kind::one_way_leader_out: return "one-way-leader-out";
    case fault_kind::one_way_leader_in: return "one-way-leader-in";
    case fault_kind::slow_links: return "slow-links";
    case fault_kind::flaky_links: return "flaky-links";
    case fault_kind::clock_jump_leader: return "clock-jump-leader";
    case fault_kind::remove_member: return "remove-member";
    case fault_kind::disk_full_restart: return "disk-full-restart";
    case fault_kind::read_only_restart: return "read-only-restart";
    case fault_kind::remove_cut_member: return "remove-cut-member";
    case fault_kind::count_: break;
  }
  return "?";
}

std::string schedule::describe() const {
  std::ostringstream o;
  o << "seed " << seed << ": " << nodes << " nodes" << (spares ? " + " + std::to_string(spares) + " spare" : "") << ", "
    << run_ms << " ms" << (clock ? ", clock on" : "")
    << (disks ? ", tmpfs data dirs" : "") << "\n";
  for (const auto& f : faults) {
    o << "  at " << f.start_ms << " ms for " << f.duration_ms << " ms: " << to_string(f.kind) << " (salt " << f.salt
      << ")\n";
  }
  return o.str();
}

schedule make_schedule(uint64_t seed, const schedule_options& opt) {
  prng r(seed);
  schedule s;
  s.seed = seed;
  s.nodes = opt.nodes;
  s.run_ms = opt.run_ms;
  std::vector<fault_kind> kinds = opt.kinds;
  if (kinds.empty()) {
    for (int k = 0; k < static_cast<int>(fault_kind::count_); ++k) {
      const auto fk = static_cast<fault_kind>(k);
      if (fk == fault_kind::bridge && opt.nodes < 5) continue;
      kinds.push_back(fk);
    }
  }
  // A clock nemesis in the mix: the clock runs for the whole schedule (ticks among the commands).
  if (std::find(kinds.begin(), kinds.end(), fault_kind::clock_jump_leader) != kinds.end() && !opt.kinds.empty()) s.clock = true;
  // Faults start in the first 70% of the run and may overlap (combined nemeses); each lasts
  // 0.4-1.6 s so the cluster also runs between them.
  for (int i = 0; i < opt.faults; ++i) {
    fault f;
    // An explicit list is covered first (each kind once), then drawn at random.
    const uint64_t pick = r.below(kinds.size());
    f.kind = !opt.kinds.empty() && static_cast<std::size_t>(i) < kinds.size() ? kinds[static_cast<std::size_t>(i)] : kinds[pick];
    f.start_ms = static_cast<uint32_t>(200 + r.below(std::max<uint32_t>(1, opt.run_ms * 7 / 10)));
    f.duration_ms = static_cast<uint32_t>(400 + r.below(1200));
    f.salt = r.next();
    // The clock proposes a tick a second: a jump must last a few of them to move ledger time.
    if (f.kind == fault_kind::clock_jump_leader) f.duration_ms += 2'000;
    if (f.kind == fault_kind::clock_jump_leader) s.clock = true;
    // Healed within the leader's removal grace (4 election timeouts: 800 ms at the 20 ms tick),
    // counting the ~250 ms until a closed link is dialled again.
    if (f.kind == fault_kind::remove_cut_member) f.duration_ms = static_cast<uint32_t>(150 + r.below(150));
    if (f.kind == fault_kind::remove_member || f.kind == fault_kind::remove_cut_member) {
      s.spares = std::min(s.spares + 1, limits::spares_max);
    }
    s.faults.push_back(f);
  }
  for (const auto& f : s.faults) {
    if (f.kind == fault_kind::disk_full_restart || f.kind == fault_kind::read_only_restart) s.disks = true;
  }
  std::sort(s.faults.begin(), s.faults.end(), [](const fault& a, const fault& b) { return a.start_ms < b.start_ms; });
  return s;
}

std::string run_report::summary() const {
  std::ostringstream o;
  o << "faults-run seed=" << seed << " mode=" << mode << " faults=" << faults_injected << " acked=" << transfers_ok
    << " refused=" << transfers_refused << " unknown=" << transfers_unknown << " lost=" << lost
    << " applied_twice=" << applied_twice << " reads=" << reads_ok << " reads_failed=" << reads_failed
    << " root_samples=" << root_samples << " converged_index=" << converged_index
    << " lin_steps=" << linearizability_steps << " cut_removals_learned=" << cut_removals_learned << " wait_ms_max=" << transfer_wait_ms_max << " relay_accepted=" << relay.accepted << " relay_refused=" << relay.refused
    << " relay_closed=" << relay.resets << " problems=" << problems.size();
  return o.str();
}

// ---- The cluster of one run ----------------------------------------------------------------------

namespace {

enum class proc_state : uint8_t { down, running, paused };

struct node_proc {
  std::string name;
  std::string dir;
  std::string pub;
  uint64_t id = 0;
  pid_t pid = -1;
  proc_state state = proc_state::down;
  std::string host;         // where it listens (its namespace or 127.0.0.1)
  uint16_t peer_port = 0;   // its real peer port
  uint16_t client_port = 0;
  std::string relay_host;   // its advertised peer address (the relay)
  uint16_t relay_port = 0;
  int starts = 0;
  bool member = true;       // in the bootstrap / not removed
  bool joiner = false;      // started with --join
  bool removed = false;     // removed by a membership change: never restarted
  bool add_pending = false; // its `member add` had no known outcome yet (retried at the heal)
  std::string join;         // --join addresses (spares)
  bool mounted = false;     // its data dir is a tmpfs of its own (disk faults)
  bool disk_fault = false;  // a disk fault is on: exiting by itself is expected, serving is not
};

class run {
 public:
  run(const schedule& s, const run_options& o) : sched_(s), opt_(o), rng_(s.seed ^ 0x5eedULL), relay_(s.seed) {}
  ~run();

  void execute(run_report& rep);

 private:
  bool setup(run_report& rep);
  void start(int i);
  void signal_node(int i, int sig);
  void kill_node(int i);
  std::optional<net::client_response> ask(int i, net::client_request req, std::chrono::milliseconds t);
  std::optional<net::node_status> status(int i, std::chrono::milliseconds t = 400ms);
  int leader();
  int random_running();
  void apply_fault(const fault& f, std::size_t idx, run_report& rep);
  void heal_fault(std::size_t idx);
  void recompute_rules();
  void heal_all();
  void teardown();
  void reap();
  int wait_exit(int i, std::chrono::milliseconds bound);
  std::string member_endpoints();
  bool membership_request(const std::string& what, int timeout_ms);
  void join_spare();
  void writer(int w);
  void reader(int r);
  void monitor();
  void check_time(int i, const net::node_status& s);  // mutex_ held
  void record(op_record op);
  void problem(const std::string& p);
  void check(run_report& rep);
  void dump_history();
  std::string transfer_bytes(int w, uint64_t nonce, int64_t amount, int sink);

  schedule sched_;
  run_options opt_;
  prng rng_;
  relay relay_;
  std::unique_ptr<netns_set> ns_;
  std::string root_;
  std::vector<node_proc> nodes_;
  crypto::hash256 genesis_hash_{};
  std::vector<crypto::secp256k1_secret_key> keys_;          // writers then sinks
  std::vector<ledger::account_address> addresses_;

  // Faults active now: their link rules are combined (block = or, delay = max).
  struct active_fault {
    fault f;
    std::vector<std::pair<int, int>> blocked;  // directed links
    link_rule slow;                            // applied to every link if set
    bool has_slow = false;
    std::vector<int> killed, paused;
    int clock_node = -1;
    int removed_node = -1;  // remove_member: asked to be removed (applied or not yet known)
    int disk_node = -1;     // disk faults
    bool active = false;
    bool overlapped = false;  // another fault was active at some time during this one
    bool removal_applied = false;  // remove faults: energoctl reported the removal applied
  };
  std::vector<active_fault> active_;
  std::vector<std::string> pending_membership_;

  std::mutex pids_mutex_;
  std::vector<pid_t> pids_;  // for the loopback lookup (relay thread)

  std::atomic<uint64_t> seq_{1};
  std::atomic<bool> stop_new_{false};
  std::atomic<bool> abort_{false};
  std::atomic<bool> stop_monitor_{false};
  std::mutex mutex_;  // guards history_, problems_, roots_, times_
  std::vector<op_record> history_;
  std::vector<std::string> problems_;
  std::map<uint64_t, std::pair<std::string, int>> roots_;  // applied index -> (root, node)
  struct time_sample {
    pid_t pid = -1;
    uint64_t index = 0;
    int64_t time_ms = 0;
    clock_type::time_point at{};
  };
  std::vector<time_sample> last_time_;            // per node (clock runs)
  std::atomic<int64_t> forward_offset_ms_max_{0};  // the largest forward clock jump applied so far
  uint64_t time_samples_ = 0;
  uint64_t root_samples_ = 0;
  uint64_t cut_removals_learned_ = 0;
  std::vector<std::thread> threads_;
};

run::~run() {
  abort_ = true;
  stop_new_ = true;
  stop_monitor_ = true;
  for (auto& t : threads_) if (t.joinable()) t.join();
  relay_.stop();
  teardown();
}

// Idempotent: every node killed (SIGKILL: a SIGTERM of all at once can hang, a known gap), the
// tmpfs data dirs unmounted, before the run's directory is removed.
void run::teardown() {
  for (auto& n : nodes_) {
    if (n.pid > 0) {
      (void)tools::kill_and_wait(n.pid, SIGKILL);
      n.pid = -1;
      n.state = proc_state::down;
    }
    if (n.mounted) {
      sh("umount -l " + n.dir);
      n.mounted = false;
    }
  }
}

void run::problem(const std::string& p) {
  std::lock_guard lock(mutex_);
  if (problems_.size() < 50) problems_.push_back(p);
}

void run::record(op_record op) {
  std::lock_guard lock(mutex_);
  if (history_.size() < limits::history_ops_max) history_.push_back(std::move(op));
}

bool run::setup(run_report& rep) {
  char tmpl[] = "/tmp/energo-faults-XXXXXX";
  root_ = ::mkdtemp(tmpl);
  std::string why;
  const int slots = sched_.nodes + sched_.spares;
  if (opt_.namespaces_allowed) ns_ = netns_set::create(slots, why);
  else why = "namespaces not requested";
  rep.mode = ns_ ? "namespaces" : "loopback(" + why + ")";

  // Genesis: writer and sink accounts with derived keys (tools/load), the example admin.
  const int accounts = opt_.writer_accounts + sink_accounts;
  auto g = tools::load::make_genesis(static_cast<uint32_t>(accounts), key_seed,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch()).count() - 60'000,
                                     account_units);
  if (!g) {
    problem("genesis: " + g.error());
    return false;
  }
  auto admin = tools::read_key_file("examples/community/keys/admin.json");
  if (admin && admin->ed25519) g->admins.push_back(admin->ed25519->public_key());
  {
    std::ofstream f(root_ + "/genesis.json");
    f << tools::dump_pretty(tools::genesis_to_json(*g)) << "\n";
  }
  auto reread = tools::read_genesis_file(root_ + "/genesis.json");
  if (!reread) {
    problem("genesis reread failed");
    return false;
  }
  genesis_hash_ = reread->hash();
  for (int i = 0; i < accounts; ++i) {
    keys_.push_back(tools::load::account_key(key_seed, static_cast<uint32_t>(i)));
    addresses_.push_back(tools::load::account_address_of(keys_.back()));
  }

  for (int i = 0; i < slots; ++i) {
    node_proc n;
    n.name = "n" + std::to_string(i + 1);
    n.member = i < sched_.nodes;
    n.joiner = !n.member;
    n.dir = root_ + "/" + n.name;
    if (sched_.disks && ns_) {
      // A small file system of its own, so that it can be filled or made read-only.
      fs::create_directories(n.dir);
      n.mounted = sh("mount -t tmpfs -o size=" + std::to_string(data_fs_mib) + "m tmpfs " + n.dir) == 0;
    }
    const auto out = run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + n.dir + " 2>/dev/null");
    try {
      const auto j = nlohmann::json::parse(out);
      n.id = j.at("node_id").get<uint64_t>();
      n.pub = j.at("public_key").get<std::string>();
    } catch (...) {
      problem("energo-node init failed: " + out);
      return false;
    }
    if (ns_) {
      n.host = ns_->node_host(i);
      n.peer_port = ns_peer_port;
      n.client_port = ns_client_port;
      n.relay_host = ns_->relay_host(i);
      n.relay_port = relay_.add_listener(i, n.relay_host, ns_peer_port, n.host, n.peer_port);
    } else {
      n.host = "127.0.0.1";
      n.peer_port = energo::tools::reserve_loopback_port();
      n.client_port = energo::tools::reserve_loopback_port();
      n.relay_host = "127.0.0.1";
      n.relay_port = relay_.add_listener(i, n.relay_host, 0, n.host, n.peer_port);
    }
    if (n.relay_port == 0) {
      problem("relay cannot listen for " + n.name);
      return false;
    }
    nodes_.push_back(n);
  }
  // A spare's --join targets: every bootstrap member's client port, through a relay listener on
  // the spare's side of its veth in namespace mode (namespaces have no route to each other).
  for (int sp = sched_.nodes; sp < slots; ++sp) {
    auto& n = nodes_[static_cast<std::size_t>(sp)];
    for (int m = 0; m < sched_.nodes; ++m) {
      const auto& t = nodes_[static_cast<std::size_t>(m)];
      std::string addr;
      if (ns_) {
        const uint16_t port = relay_.add_listener(join_relay_base + sp * 16 + m, n.relay_host,
                                                  static_cast<uint16_t>(ns_client_port + 100 + m), t.host, t.client_port);
        if (port == 0) {
          problem("relay cannot listen for the join of " + n.name);
          return false;
        }
        addr = n.relay_host + ":" + std::to_string(port);
      } else {
        addr = t.host + ":" + std::to_string(t.client_port);
      }
      n.join += (n.join.empty() ? "" : ",") + addr;
    }
  }
  pids_.assign(nodes_.size(), -1);
  last_time_.assign(nodes_.size(), {});
  if (ns_) {
    relay_.set_src_lookup([this](const sockaddr_in& a, int) { return ns_->node_of_address(a); });
  } else {
    relay_.set_src_lookup([this](const sockaddr_in& a, int dst) {
      std::vector<pid_t> pids;
      {
        std::lock_guard lock(pids_mutex_);
        pids = pids_;
      }
      return owner_of_loopback_socket(ntohs(a.sin_port), nodes_[static_cast<std::size_t>(dst)].relay_port, pids);
    });
  }
  std::ofstream b(root_ + "/bootstrap.toml");
  b << "genesis = \"genesis.json\"\n";
  for (const auto& n : nodes_) {
    if (!n.member) continue;
    b << "[[member]]\nname = \"" << n.name << "\"\npublic_key = \"" << n.pub << "\"\npeer = \"" << n.relay_host << ":"
      << n.relay_port << "\"\nclient = \"" << n.host << ":" << n.client_port << "\"\n";
  }
  b.close();
  relay_.start();
  return true;
}

void run::start(int i) {
  auto& n = nodes_[static_cast<std::size_t>(i)];
  if (n.state != proc_state::down) return;
  std::vector<std::string> args{ENERGO_NODE_BIN, "start", "--data", n.dir, "--name", n.name,
                                "--peer-listen", n.host + ":" + std::to_string(n.peer_port),
                                "--client-listen", n.host + ":" + std::to_string(n.client_port),
                                n.joiner ? "--join" : "--bootstrap", n.joiner ? n.join : root_ + "/bootstrap.toml",
                                "--tick-ms", std::to_string(opt_.tick_ms),
                                "--snapshot-every", std::to_string(opt_.snapshot_every)};
  if (!sched_.clock) args.push_back("--no-clock");
  if (const char* level = std::getenv("ENERGO_FAULTS_NODE_LOG")) {  // e.g. debug, to chase a failure
    args.push_back("--log-level");
    args.push_back(level);
  }
  // Client threads run meanwhile: spawn_process prepares everything before fork.
  tools::spawn_options o;
  o.log_path = root_ + "/" + n.name + ".log";
  // Leaks are checked at a node's clean exit too (tests/node/cluster_fixture.hpp).
  o.env = {"ASAN_OPTIONS=detect_leaks=1:abort_on_error=1", "ENERGO_TEST_CLOCK_OFFSET_FILE=" + n.dir + ".clock_offset_ms"};
  const std::string ns_path = ns_ ? "/var/run/netns/" + ns_->name(i) : std::string();
  o.netns_fd = ns_ ? ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  const pid_t pid = tools::spawn_process(args, o);
  if (o.netns_fd >= 0) ::close(o.netns_fd);
  n.pid = pid;
  n.state = proc_state::running;
  ++n.starts;
  std::lock_guard lock(pids_mutex_);
  pids_[static_cast<std::size_t>(i)] = pid;
}

void run::signal_node(int i, int sig) {
  auto& n = nodes_[static_cast<std::size_t>(i)];
  if (n.pid <= 0) return;
  ::kill(n.pid, sig);
  if (sig == SIGSTOP) n.state = proc_state::paused;
  if (sig == SIGCONT && n.state == proc_state::paused) n.state = proc_state::running;
}

void run::kill_node(int i) {
  auto& n = nodes_[static_cast<std::size_t>(i)];
  if (n.pid <= 0) return;
  (void)tools::kill_and_wait(n.pid, SIGKILL);
  n.pid = -1;
  n.state = proc_state::down;
  std::lock_guard lock(pids_mutex_);
  pids_[static_cast<std::size_t>(i)] = -1;
}

std::optional<net::client_response> run::ask(int i, net::client_request req, std::chrono::milliseconds t) {
  const auto& n = nodes_[static_cast<std::size_t>(i)];
  net::client_conn c;
  if (!c.connect({n.host, n.client_port}, 300ms)) return std::nullopt;
  auto r = c.call(std::move(req), t);
  if (!r) return std::nullopt;
  return std::move(*r);
}

std::optional<net::node_status> run::status(int i, std::chrono::milliseconds t) {
  net::client_request req;
  req.what = net::client_request::kind::status;
  auto r = ask(i, req, t);
  if (!r || r->what != net::client_response::kind::status) return std::nullopt;
  return r->status;
}

// The node that says it leads in the highest term, among the running ones; -1 if none.
int run::leader() {
  int best = -1;
  uint64_t term = 0;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (nodes_[static_cast<std::size_t>(i)].state != proc_state::running) continue;
    auto s = status(i, 300ms);
    if (s && s->role == "leader" && s->term >= term) {
      best = i;
      term = s->term;
    }
  }
  return best;
}

int run::random_running() {
  std::vector<int> up;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (nodes_[static_cast<std::size_t>(i)].state == proc_state::running && nodes_[static_cast<std::size_t>(i)].member) up.push_back(i);
  }
  if (up.empty()) return -1;
  return up[rng_.below(up.size())];
}

void run::recompute_rules() {
  relay_.clear_rules();
  const int n = static_cast<int>(nodes_.size());
  std::map<std::pair<int, int>, link_rule> rules;
  for (const auto& a : active_) {
    if (!a.active) continue;
    for (const auto& l : a.blocked) rules[l].blocked = true;
    if (a.has_slow) {
      for (int s = 0; s < n; ++s) {
        for (int d = 0; d < n; ++d) {
          if (s == d) continue;
          auto& r = rules[{s, d}];
          r.delay_ms = std::max(r.delay_ms, a.slow.delay_ms);
          r.jitter_ms = std::max(r.jitter_ms, a.slow.jitter_ms);
          r.reset_per_mille = std::max(r.reset_per_mille, a.slow.reset_per_mille);
        }
      }
    }
  }
  for (const auto& [l, r] : rules) relay_.set_rule(l.first, l.second, r);
}

void run::apply_fault(const fault& f, std::size_t idx, run_report& rep) {
  reap();
  auto& a = active_[idx];
  a.f = f;
  a.active = true;
  for (std::size_t j = 0; j < active_.size(); ++j) {
    if (j == idx || !active_[j].active) continue;
    active_[j].overlapped = true;
    a.overlapped = true;
  }
  prng r(f.salt);
  const int n = static_cast<int>(nodes_.size());
  auto cut = [&](const std::vector<int>& side_a, const std::vector<int>& side_b) {
    for (int x : side_a) {
      for (int y : side_b) {
        a.blocked.push_back({x, y});
        a.blocked.push_back({y, x});
      }
    }
  };
  std::vector<int> all;
  for (int i = 0; i < n; ++i) all.push_back(i);
  std::string detail;
  switch (f.kind) {
    case fault_kind::kill_leader:
    case fault_kind::kill_random: {
      int v = f.kind == fault_kind::kill_leader ? leader() : -1;
      if (v < 0) v = random_running();
      if (v < 0) break;
      kill_node(v);
      a.killed.push_back(v);
      detail = nodes_[static_cast<std::size_t>(v)].name;
      break;
    }
    case fault_kind::pause_leader: {
      int v = leader();
      if (v < 0) v = random_running();
      if (v < 0) break;
      signal_node(v, SIGSTOP);
      a.paused.push_back(v);
      detail = nodes_[static_cast<std::size_t>(v)].name;
      break;
    }
    case fault_kind::isolate_leader: {
      int v = leader();
      if (v < 0) v = static_cast<int>(r.below(static_cast<uint64_t>(n)));
      std::vector<int> rest;
      for (int i : all) if (i != v) rest.push_back(i);
      cut({v}, rest);
      detail = nodes_[static_cast<std::size_t>(v)].name;
      break;
    }
    case fault_kind::split_minority: {
      std::vector<int> perm = all;
      for (int i = n - 1; i > 0; --i) std::swap(perm[static_cast<std::size_t>(i)], perm[r.below(static_cast<uint64_t>(i + 1))]);
      const int minority = 1 + static_cast<int>(r.below(static_cast<uint64_t>((n - 1) / 2)));
      std::vector<int> small(perm.begin(), perm.begin() + minority), big(perm.begin() + minority, perm.end());
      cut(small, big);
      for (int x : small) detail += nodes_[static_cast<std::size_t>(x)].name + " ";
      detail += "| majority";
      break;
    }
    case fault_kind::bridge: {
      // Two sides that cannot see each other; the bridge node sees both (Jepsen's "bridge").
      std::vector<int> perm = all;
      for (int i = n - 1; i > 0; --i) std::swap(perm[static_cast<std::size_t>(i)], perm[r.below(static_cast<uint64_t>(i + 1))]);
      const int bridge = perm[0];
      std::vector<int> left, right;
      for (std::size_t i = 1; i < perm.size(); ++i) (i % 2 ? left : right).push_back(perm[i]);
      cut(left, right);
      detail = "bridge " + nodes_[static_cast<std::size_t>(bridge)].name;
      break;
    }
    case fault_kind::one_way_leader_out:
    case fault_kind::one_way_leader_in: {
      int v = leader();
      if (v < 0) v = static_cast<int>(r.below(static_cast<uint64_t>(n)));
      for (int i : all) {
        if (i == v) continue;
        if (f.kind == fault_kind::one_way_leader_out) a.blocked.push_back({v, i});
        else a.blocked.push_back({i, v});
      }
      detail = nodes_[static_cast<std::size_t>(v)].name;
      break;
    }
    case fault_kind::slow_links:
      a.has_slow = true;
      a.slow.delay_ms = static_cast<uint32_t>(10 + r.below(150));
      a.slow.jitter_ms = static_cast<uint32_t>(r.below(100));
      detail = std::to_string(a.slow.delay_ms) + "+" + std::to_string(a.slow.jitter_ms) + " ms";
      break;
    case fault_kind::flaky_links:
      a.has_slow = true;
      a.slow.reset_per_mille = static_cast<uint32_t>(5 + r.below(40));
      detail = std::to_string(a.slow.reset_per_mille) + " per mille resets";
      break;
    case fault_kind::clock_jump_leader: {
      // The leader's wall clock jumps by hours to days, forwards or backwards (a test-only offset
      // file the node re-reads at every tick: actors/ingest_clock.cpp).
      int v = leader();
      if (v < 0) v = random_running();
      if (v < 0) break;
      const int64_t hours = 1 + static_cast<int64_t>(r.below(48));
      const int64_t offset_ms = (r.below(2) ? 1 : -1) * hours * 3'600'000;
      std::ofstream(nodes_[static_cast<std::size_t>(v)].dir + ".clock_offset_ms") << offset_ms << "\n";
      a.clock_node = v;
      if (offset_ms > forward_offset_ms_max_.load()) forward_offset_ms_max_ = offset_ms;
      detail = nodes_[static_cast<std::size_t>(v)].name + " " + std::to_string(offset_ms / 3'600'000) + " h";
      break;
    }
    case fault_kind::remove_member:
    case fault_kind::remove_cut_member: {
      // energoctl member remove of a follower while other faults run (--force: a 3-node cluster
      // goes down to 2 voters). The removed node stops by itself (exit 8) once it applies its
      // removal; if it cannot hear of it (partitioned) it lives on until this fault heals; then it
      // is killed for good and a spare joins in its place (member add, promoted once caught up).
      // remove-cut-member: the follower is cut off from every node (both ways) before the request
      // and the cut heals within the leader's removal grace (make_schedule): the leader must hold
      // it in the Raft configuration and keep its link (actors/raft_actor.cpp removal_due,
      // brokers.cpp departing) until its log carries the removal, so it stops by itself after
      // the heal; heal_fault checks that when no other fault overlapped this one.
      const int l = leader();
      std::vector<int> candidates;
      for (int i = 0; i < n; ++i) {
        const auto& c = nodes_[static_cast<std::size_t>(i)];
        if (c.member && !c.add_pending && i != l) candidates.push_back(i);
      }
      int spares_left = 0, members = 0;
      for (const auto& c : nodes_) spares_left += (!c.member && !c.removed && c.starts == 0) ? 1 : 0;
      // A spare whose addition is not known to be applied does not count (seed 7072: n1 removed,
      // the spare's add pending, n3 then chosen: the same impossible 2-voter end as seed 6001).
      for (const auto& c : nodes_) members += (c.member && !c.add_pending) ? 1 : 0;
      // A victim whose removal cannot commit is still killed for good at the heal; with fewer than
      // 3 members left that can leave the configuration without any possible majority (seed 6001:
      // n1 removed, n2 on a full disk, then n2 chosen), which no Raft cluster survives.
      if (candidates.empty() || spares_left == 0 || members < 3) {
        detail = members < 3 ? "fewer than 3 members: skipped" : "no follower or no spare: skipped";
        a.active = false;
        std::printf("  %s %s\n", std::string(to_string(f.kind)).c_str(), detail.c_str());
        return;
      }
      const int v = candidates[r.below(candidates.size())];
      a.removed_node = v;
      if (f.kind == fault_kind::remove_cut_member) {
        std::vector<int> others;
        for (int i = 0; i < n; ++i) {
          if (i != v) others.push_back(i);
        }
        cut({v}, others);
        recompute_rules();
        nodes_[static_cast<std::size_t>(v)].member = false;  // not an endpoint for the request (cut off)
      }
      const bool applied = membership_request("remove " + nodes_[static_cast<std::size_t>(v)].name + " --force", 3000);
      a.removal_applied = applied;
      nodes_[static_cast<std::size_t>(v)].member = false;  // from now on it must not be counted on
      nodes_[static_cast<std::size_t>(v)].removed = true;
      detail = nodes_[static_cast<std::size_t>(v)].name + (f.kind == fault_kind::remove_cut_member ? " cut off and" : "") +
               (applied ? " removed" : " (outcome unknown: retried at heal)");
      if (!applied) pending_membership_.push_back("remove " + nodes_[static_cast<std::size_t>(v)].name + " --force");
      break;
    }
    case fault_kind::disk_full_restart:
    case fault_kind::read_only_restart: {
      // A follower's data disk fills up (it must stop at its next synced write; killed if it did
      // not write yet) or becomes read-only; restarted on it, it must refuse to run (exit 5) and
      // never answer. Healed: space freed / writable again, restarted, it catches up.
      const int l = leader();
      std::vector<int> candidates;
      for (int i = 0; i < n; ++i) {
        const auto& c = nodes_[static_cast<std::size_t>(i)];
        if (c.member && c.mounted && !c.disk_fault && c.state == proc_state::running && i != l) candidates.push_back(i);
      }
      if (candidates.empty()) {
        detail = "no follower on a tmpfs (namespace mode only): skipped";
        a.active = false;
        std::printf("  %s %s\n", std::string(to_string(f.kind)).c_str(), detail.c_str());
        return;
      }
      const int v = candidates[r.below(candidates.size())];
      auto& victim = nodes_[static_cast<std::size_t>(v)];
      victim.disk_fault = true;
      a.disk_node = v;
      if (f.kind == fault_kind::disk_full_restart) {
        sh("fallocate -l " + std::to_string(data_fs_mib) + "M " + victim.dir + "/filler");  // fails past the end: fills it
        sh("dd if=/dev/zero of=" + victim.dir + "/filler2 bs=64k");                            // the last blocks
        const int st = wait_exit(v, 1500ms);
        detail = victim.name + (st == -1 ? " did not stop in 1.5 s: killed"
                                         : WIFEXITED(st) ? " stopped by itself, exit " + std::to_string(WEXITSTATUS(st))
                                                         : " stopped by itself, status " + std::to_string(st));
        if (st >= 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 5)) problem(victim.name + ": on a full disk exited with status " + std::to_string(st) + ", not 5 (storage)");
      } else {
        kill_node(v);
        sh("mount -o remount,ro " + victim.dir);
        detail = victim.name + " read-only";
      }
      if (victim.state != proc_state::down) kill_node(v);
      start(v);
      const int st = wait_exit(v, 3000ms);
      if (st == -1) {
        problem(victim.name + ": still running 3 s after a start on a " +
                (f.kind == fault_kind::disk_full_restart ? std::string("full") : std::string("read-only")) + " data disk");
        kill_node(v);
      } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        problem(victim.name + ": start on a bad data disk exited 0");
      } else if (WIFEXITED(st) && WEXITSTATUS(st) == storage_exit_code) {
        detail += "; restart refused, exit 5";
      } else {
        problem(victim.name + ": start on a " +
                (f.kind == fault_kind::disk_full_restart ? std::string("full") : std::string("read-only")) +
                " data disk ended with status " + std::to_string(st) + ", not exit 5 (storage)");
      }
      break;
    }
    default:
      detail = "not implemented yet: skipped";
      a.active = false;
      std::printf("  %s %s\n", std::string(to_string(f.kind)).c_str(), detail.c_str());
      return;
  }
  ++rep.faults_injected;
  recompute_rules();
  std::printf("  +%s %s\n", std::string(to_string(f.kind)).c_str(), detail.c_str());
  std::fflush(stdout);
}

void run::heal_fault(std::size_t idx) {
  reap();
  auto& a = active_[idx];
  if (!a.active) return;
  a.active = false;
  for (int v : a.paused) signal_node(v, SIGCONT);
  for (int v : a.killed) start(v);
  if (a.removed_node >= 0) {
    auto& victim = nodes_[static_cast<std::size_t>(a.removed_node)];
    if (a.f.kind == fault_kind::remove_cut_member && !a.overlapped && a.removal_applied && victim.pid > 0) {
      // The cut heals now: the leader's next dial (<= 250 ms) reaches it within the grace, it
      // learns of its removal and stops itself. Unbounded otherwise: nothing else would tell it.
      recompute_rules();
      const int st = wait_exit(a.removed_node, removal_learned_bound);
      if (st == -1) {
        problem(victim.name + ", removed while cut off from every node, still runs " +
                std::to_string(removal_learned_bound.count()) +
                " ms after the cut healed: the leader let it go before it could learn of its removal");
      } else if (!(WIFEXITED(st) && WEXITSTATUS(st) == removed_exit_code)) {
        problem(victim.name + ", removed while cut off, ended with status " + std::to_string(st) + ", not exit 8 (removed)");
      } else {
        ++cut_removals_learned_;
        std::printf("  %s learned of its removal after the cut healed: exit 8\n", victim.name.c_str());
      }
    }
    kill_node(a.removed_node);
    join_spare();
  }
  if (a.disk_node >= 0) {
    auto& victim = nodes_[static_cast<std::size_t>(a.disk_node)];
    if (a.f.kind == fault_kind::read_only_restart) sh("mount -o remount,rw " + victim.dir);
    std::error_code ec;
    fs::remove(victim.dir + "/filler", ec);
    fs::remove(victim.dir + "/filler2", ec);
    victim.disk_fault = false;
    if (victim.member) start(a.disk_node);
  }
  if (a.clock_node >= 0) {
    std::error_code ec;
    fs::remove(nodes_[static_cast<std::size_t>(a.clock_node)].dir + ".clock_offset_ms", ec);
  }
  recompute_rules();
  std::printf("  -%s healed\n", std::string(to_string(a.f.kind)).c_str());
  std::fflush(stdout);
}

// A node that exits by itself outside a disk fault is a failure (a crash, an assertion, a
// sanitizer report): marked down and reported; heal_all restarts it to finish the run.
void run::reap() {
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    auto& n = nodes_[static_cast<std::size_t>(i)];
    if (n.pid <= 0) continue;
    const auto exited = tools::wait_exit(n.pid, 0ms);
    if (!exited) continue;
    const int st = *exited;
    n.pid = -1;
    n.state = proc_state::down;
    {
      std::lock_guard lock(pids_mutex_);
      pids_[static_cast<std::size_t>(i)] = -1;
    }
    // A removed member stops by itself once it applies its removal (exit 8, docs/node.md).
    if (n.removed && WIFEXITED(st) && WEXITSTATUS(st) == removed_exit_code) continue;
    if (!n.disk_fault) problem(n.name + " exited by itself, status " + std::to_string(st) + " (see its log)");
  }
}

// Waits for node i to exit: its wait status, or -1 if it still runs after `bound`.
int run::wait_exit(int i, std::chrono::milliseconds bound) {
  auto& n = nodes_[static_cast<std::size_t>(i)];
  const auto st = tools::wait_exit(n.pid, bound);
  if (!st) return -1;
  n.pid = -1;
  n.state = proc_state::down;
  std::lock_guard lock(pids_mutex_);
  pids_[static_cast<std::size_t>(i)] = -1;
  return *st;
}

std::string run::member_endpoints() {
  std::string eps;
  for (const auto& n : nodes_) {
    if (n.member) eps += (eps.empty() ? "" : ",") + n.host + ":" + std::to_string(n.client_port);
  }
  return eps;
}

// One admin request through energoctl (fresh nonce: microseconds). True when applied, or when the
// registry says it already was (member_exists / not a member: an earlier try got through).
bool run::membership_request(const std::string& what, int timeout_ms) {
  std::string out;
  const int rc = energoctl("--endpoints " + member_endpoints() + " --timeout-ms " + std::to_string(timeout_ms) +
                               " member " + what + " --admin-key " + fs::absolute("examples/community/keys/admin.json").string(),
                           out);
  if (rc == 0) return true;
  if (rc == 11 && (out.find("member_exists") != std::string::npos || out.find("not_a_member") != std::string::npos ||
                   out.find("unknown_member") != std::string::npos)) {
    return true;
  }
  if (rc == 2 && out.find("no member named") != std::string::npos) return true;  // removed already
  std::printf("  energoctl member %s: exit %d: %s", what.c_str(), rc, out.substr(0, 300).c_str());
  return false;
}

// The next spare starts with --join and is added as a voter (a learner until it caught up).
void run::join_spare() {
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    auto& n = nodes_[static_cast<std::size_t>(i)];
    if (n.member || n.removed || n.starts != 0) continue;
    start(i);
    const std::string add = "add " + n.name + " --key " + n.pub + " --peer " + n.relay_host + ":" +
                            std::to_string(n.relay_port) + " --client " + n.host + ":" + std::to_string(n.client_port);
    const bool applied = membership_request(add, 3000);
    n.member = true;
    n.add_pending = !applied;
    std::printf("  spare %s joins%s\n", n.name.c_str(), applied ? "" : " (outcome unknown: retried at heal)");
    if (!applied) pending_membership_.push_back(add);
    return;
  }
}

void run::heal_all() {
  for (std::size_t i = 0; i < active_.size(); ++i) heal_fault(i);
  reap();
  relay_.clear_rules();
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    auto& n = nodes_[static_cast<std::size_t>(i)];
    if (!n.member) continue;
    if (n.state == proc_state::paused) signal_node(i, SIGCONT);
    if (n.state == proc_state::down) start(i);
  }
  // Membership requests whose outcome was unknown (no quorum at the time): the cluster is whole
  // again, so each is retried until the registry has it.
  for (const auto& what : pending_membership_) {
    const auto deadline = clock_type::now() + limits::converge_bound;
    bool done = false;
    while (!done && clock_type::now() < deadline) done = membership_request(what, 5000);
    if (!done) problem("membership request `" + what + "` not applied after the heal");
  }
  pending_membership_.clear();
}

std::string run::transfer_bytes(int w, uint64_t nonce, int64_t amount, int sink) {
  ledger::transfer t;
  t.from_key = keys_[static_cast<std::size_t>(w)].public_key();
  t.nonce = nonce;
  t.to = addresses_[static_cast<std::size_t>(opt_.writer_accounts + sink)];
  t.what = ledger::asset::tsl;
  t.amount = amount;
  const auto cmd = ledger::sign_secp256k1(ledger::command_body{t}, keys_[static_cast<std::size_t>(w)], genesis_hash_);
  const auto bytes = ledger::encode(cmd);
  return std::string(bytes.begin(), bytes.end());
}

// One writer owns one account and sends transfers to the sinks, one at a time in nonce order.
// Each transfer is resubmitted (same bytes: the nonce and the outcome cache make that safe)
// until it has a definite outcome, so the writer always knows its account's nonce and balance.
void run::writer(int w) {
  prng r(sched_.seed * 1000 + static_cast<uint64_t>(w) + 1);
  uint64_t nonce = 0;
  int64_t balance = account_units;
  while (!stop_new_ && !abort_) {
    op_record op;
    op.type = op_type::transfer;
    op.client = w;
    op.account = w;
    op.nonce = nonce + 1;
    // Now and then more than the balance: refused by the ledger, nonce consumed, nothing moves.
    op.amount = r.below(20) == 0 ? balance + 1 : static_cast<int64_t>(1 + r.below(1000));
    const auto bytes = transfer_bytes(w, op.nonce, op.amount, static_cast<int>(r.below(sink_accounts)));
    op.invoke_seq = seq_++;
    const auto invoked = clock_type::now();
    const auto deadline = invoked + limits::op_deadline;
    while (!abort_ && clock_type::now() < deadline) {
      const int via = static_cast<int>(r.below(nodes_.size()));
      net::client_request req;
      req.what = net::client_request::kind::submit;
      req.command = bytes;
      auto resp = ask(via, req, 2000ms);
      if (resp && resp->what == net::client_response::kind::outcome) {
        op.response_seq = seq_++;
        op.node = via;
        op.index = resp->outcome.index;
        op.duplicate = resp->outcome.duplicate;
        op.code = resp->outcome.code_name;
        if (resp->outcome.accepted) {
          op.result = op_result::ok;
          balance -= op.amount;
        } else {
          op.result = op_result::refused;
        }
        break;
      }
      if (resp && resp->what == net::client_response::kind::failure) {
        const auto c = resp->failure.code;
        if (c == net::client_errc::bad_signature || c == net::client_errc::malformed || c == net::client_errc::system_command) {
          problem("transfer refused before the log: " + std::string(net::to_string(c)) + " " + resp->failure.message);
          op.response_seq = seq_++;
          op.result = op_result::fail;
          op.code = std::string(net::to_string(c));
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + r.below(40)));
    }
    if (op.result == op_result::refused && (op.code == "stale_nonce" || op.code == "unauthorized")) {
      problem("writer " + std::to_string(w) + " nonce " + std::to_string(op.nonce) + ": " + op.code +
              " (a fresh nonce of the only writer of this account)");
    }
    if (op.result == op_result::ok || op.result == op_result::refused) nonce = op.nonce;
    op.balance = balance;
    op.wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - invoked).count();
    const bool definite = op.result != op_result::unknown;
    record(op);
    if (!definite) return;  // this account's state is now uncertain: no further writes on it
  }
}

// Linearizable reads (read index) of random writer accounts through random nodes.
void run::reader(int rd) {
  prng r(sched_.seed * 7777 + static_cast<uint64_t>(rd) + 1);
  while (!stop_new_ && !abort_) {
    op_record op;
    op.type = op_type::read;
    op.client = 100 + rd;
    op.account = static_cast<int>(r.below(static_cast<uint64_t>(opt_.writer_accounts)));
    const int via = static_cast<int>(r.below(nodes_.size()));
    net::client_request req;
    req.what = net::client_request::kind::account;
    const auto& addr = addresses_[static_cast<std::size_t>(op.account)];
    std::copy(addr.begin(), addr.end(), req.account.address.begin());
    req.account.stale = false;
    op.invoke_seq = seq_++;
    auto resp = ask(via, req, 1000ms);
    if (resp && resp->what == net::client_response::kind::account && resp->account.found) {
      op.response_seq = seq_++;
      op.result = op_result::ok;
      op.nonce = resp->account.nonce;
      op.balance = resp->account.tsl_units;
      op.index = resp->account.applied_index;
      op.node = via;
    } else {
      op.result = op_result::fail;
    }
    record(op);
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + r.below(10)));
  }
}

// Samples every node's (applied index, state root): two nodes must never report different roots
// at the same index.
void run::monitor() {
  while (!stop_monitor_) {
    for (int i = 0; i < static_cast<int>(nodes_.size()) && !stop_monitor_; ++i) {
      auto s = status(i, 300ms);
      if (!s || s->applied_index == 0) continue;
      std::lock_guard lock(mutex_);
      ++root_samples_;
      if (sched_.clock) check_time(i, *s);
      auto [it, fresh] = roots_.emplace(s->applied_index, std::make_pair(s->state_root, i));
      if (!fresh && it->second.first != s->state_root && problems_.size() < 50) {
        problems_.push_back("state root at applied index " + std::to_string(s->applied_index) + ": " +
                            nodes_[static_cast<std::size_t>(it->second.second)].name + " " + hex_of(it->second.first) +
                            " vs " + nodes_[static_cast<std::size_t>(i)].name + " " + hex_of(s->state_root));
      }
    }
    std::this_thread::sleep_for(100ms);
  }
}

// Ledger time (clock on), per node process: never backwards; between two samples at most one
// tick's step (clock.step_ms_max, 15 min) per applied entry (each entry holds one tick at most),
// and at most one per clock interval (1 s) that passed plus a slack: for ticks in flight, a new
// leader's first tick, and a follower that catches up after a partition of up to ~10 s (it then
// applies the ticks it missed within milliseconds: sweep seed 7048, a minority node catching up
// with a leader whose clock had jumped 48 h, applied 4 ticks of 15 min in 103 ms); never beyond
// the wall clock plus the largest forward jump any leader's clock made.
void run::check_time(int i, const net::node_status& s) {
  constexpr int64_t step_ms_max = 900'000;
  constexpr int64_t interval_ms = 1'000;
  constexpr int64_t ticks_slack = 12;
  constexpr int64_t wall_slack_ms = 2'000;
  ++time_samples_;
  auto& last = last_time_[static_cast<std::size_t>(i)];
  const pid_t pid = nodes_[static_cast<std::size_t>(i)].pid;
  const auto& name = nodes_[static_cast<std::size_t>(i)].name;
  const int64_t wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (s.ledger_time_ms > wall_ms + forward_offset_ms_max_.load() + wall_slack_ms && problems_.size() < 50) {
    problems_.push_back(name + ": ledger time " + std::to_string(s.ledger_time_ms) + " beyond every leader's clock");
  }
  const auto now = clock_type::now();
  if (last.pid == pid) {
    const int64_t dt = s.ledger_time_ms - last.time_ms;
    const int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last.at).count();
    const int64_t ticks_max = elapsed_ms / interval_ms + ticks_slack;
    if (dt < 0 && problems_.size() < 50) problems_.push_back(name + ": ledger time went backwards by " + std::to_string(-dt) + " ms");
    if (dt > ticks_max * step_ms_max && problems_.size() < 50) {
      problems_.push_back(name + ": ledger time jumped " + std::to_string(dt) + " ms in " + std::to_string(elapsed_ms) +
                          " ms (at most " + std::to_string(ticks_max) + " ticks of 15 min)");
    }
    const int64_t entries = s.applied_index >= last.index ? static_cast<int64_t>(s.applied_index - last.index) : 0;
    if (dt > entries * step_ms_max && problems_.size() < 50) {
      problems_.push_back(name + ": ledger time moved " + std::to_string(dt) + " ms over " + std::to_string(entries) +
                          " applied entries (at most 15 min each)");
    }
  }
  last = {pid, s.applied_index, s.ledger_time_ms, now};
}

void run::execute(run_report& rep) {
  rep.seed = sched_.seed;
  std::printf("faults: %s", sched_.describe().c_str());
  std::fflush(stdout);
  if (!setup(rep)) {
    std::lock_guard lock(mutex_);
    rep.problems = problems_;
    return;
  }
  std::printf("faults: mode %s, data in %s\n", rep.mode.c_str(), root_.c_str());
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (nodes_[static_cast<std::size_t>(i)].member) start(i);
  }
  // A first leader before the clients start, so the run measures faults, not the boot.
  {
    const auto deadline = clock_type::now() + limits::leader_bound;
    while (leader() < 0 && clock_type::now() < deadline) std::this_thread::sleep_for(50ms);
    if (leader() < 0) problem("no leader after boot");
  }
  for (int w = 0; w < opt_.writer_accounts; ++w) threads_.emplace_back([this, w] { writer(w); });
  for (int rd = 0; rd < opt_.readers; ++rd) threads_.emplace_back([this, rd] { reader(rd); });
  std::thread mon([this] { monitor(); });

  // The nemesis: apply and heal events in time order.
  active_.assign(sched_.faults.size(), {});
  struct event {
    uint32_t at_ms;
    bool heal;
    std::size_t idx;
  };
  std::vector<event> events;
  for (std::size_t i = 0; i < sched_.faults.size(); ++i) {
    events.push_back({sched_.faults[i].start_ms, false, i});
    events.push_back({sched_.faults[i].start_ms + sched_.faults[i].duration_ms, true, i});
  }
  std::stable_sort(events.begin(), events.end(), [](const event& a, const event& b) { return a.at_ms < b.at_ms; });
  const auto t0 = clock_type::now();
  for (const auto& e : events) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(e.at_ms));
    if (e.heal) heal_fault(e.idx);
    else apply_fault(sched_.faults[e.idx], e.idx, rep);
  }
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(sched_.run_ms));
  heal_all();
  stop_new_ = true;
  std::printf("faults: healed; waiting for the clients' last outcomes\n");
  std::fflush(stdout);
  for (auto& t : threads_) t.join();
  threads_.clear();
  check(rep);
  stop_monitor_ = true;
  mon.join();
  {
    std::lock_guard lock(mutex_);
    rep.root_samples = root_samples_;
    rep.cut_removals_learned = cut_removals_learned_;
    rep.problems = problems_;
  }
  rep.relay = relay_.counters();
  relay_.stop();
  teardown();
  if (!rep.ok()) dump_history();
  if (rep.ok() && !opt_.keep_dir_on_success) {
    std::error_code ec;
    fs::remove_all(root_, ec);
  } else {
    std::printf("faults: logs kept in %s\n", root_.c_str());
  }
}

// history.txt beside the logs: one operation a line, in invocation order.
void run::dump_history() {
  std::lock_guard lock(mutex_);
  {
    std::ofstream p(root_ + "/problems.txt");
    for (const auto& x : problems_) p << x << "\n";
  }
  std::ofstream f(root_ + "/history.txt");
  static const char* results[] = {"ok", "refused", "fail", "unknown"};
  for (const auto& op : history_) {
    f << op.invoke_seq << ".." << (op.response_seq ? std::to_string(*op.response_seq) : std::string("?")) << " client "
      << op.client << (op.type == op_type::transfer ? " transfer" : " read") << " account " << op.account << " nonce "
      << op.nonce << " amount " << op.amount << " balance " << op.balance << " -> " << results[static_cast<int>(op.result)]
      << " " << op.code << " index " << op.index << " node " << op.node << (op.duplicate ? " duplicate" : "") << " wait_ms "
      << op.wait_ms << "\n";
  }
}

void run::check(run_report& rep) {
  reap();
  std::vector<op_record> hist;
  {
    std::lock_guard lock(mutex_);
    hist = history_;
  }
  // Per writer: the expected final nonce and balance, the sum that reached the sinks.
  const int writers = opt_.writer_accounts;
  std::vector<uint64_t> final_nonce(static_cast<std::size_t>(writers), 0);
  std::vector<int64_t> final_balance(static_cast<std::size_t>(writers), account_units);
  std::vector<bool> uncertain(static_cast<std::size_t>(writers), false);
  int64_t to_sinks = 0;
  std::map<uint64_t, int> index_owner;  // log index of an accepted outcome -> writer (two commands never share one... per command)
  for (const auto& op : hist) {
    if (op.type == op_type::transfer) {
      rep.transfer_wait_ms_max = std::max(rep.transfer_wait_ms_max, op.wait_ms);
      if (op.result == op_result::ok) {
        ++rep.transfers_ok;
        to_sinks += op.amount;
      } else if (op.result == op_result::refused) {
        ++rep.transfers_refused;
      } else if (op.result == op_result::unknown) {
        ++rep.transfers_unknown;
        uncertain[static_cast<std::size_t>(op.account)] = true;
      }
      if (op.result == op_result::ok || op.result == op_result::refused) {
        final_nonce[static_cast<std::size_t>(op.account)] = op.nonce;
        final_balance[static_cast<std::size_t>(op.account)] = op.balance;
      }
    } else {
      op.result == op_result::ok ? ++rep.reads_ok : ++rep.reads_failed;
    }
  }
  if (rep.transfers_unknown != 0) {
    problem(std::to_string(rep.transfers_unknown) + " transfer(s) without a definite outcome " +
            std::to_string(limits::op_deadline.count()) + " s after their invocation (liveness after the heal)");
  }

  // Convergence: every member on one applied index and state root.
  std::vector<int> members;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (nodes_[static_cast<std::size_t>(i)].member) members.push_back(i);
  }
  const auto deadline = clock_type::now() + limits::converge_bound;
  bool converged = false;
  std::string last_view;
  while (!converged && clock_type::now() < deadline) {
    std::vector<net::node_status> st;
    last_view.clear();
    for (int i : members) {
      auto s = status(i, 500ms);
      if (!s) break;
      st.push_back(*s);
      last_view += nodes_[static_cast<std::size_t>(i)].name + "@" + std::to_string(s->applied_index) + " ";
    }
    converged = st.size() == members.size();
    for (const auto& s : st) {
      converged = converged && s.applied_index == st[0].applied_index && s.state_root == st[0].state_root &&
                  s.commit_index == s.applied_index;
    }
    if (converged) rep.converged_index = st[0].applied_index;
    else std::this_thread::sleep_for(50ms);
  }
  if (!converged) {
    problem("members did not converge on one applied index and state root within " +
            std::to_string(limits::converge_bound.count()) + " s: " + last_view);
  }

  // Every node: each writer's nonce and balance as the history says (no acknowledged command
  // missing, nothing applied twice), the sinks hold exactly what was acknowledged, and the
  // accounts together hold what they held at genesis (supply).
  for (int i : members) {
    int64_t total = 0;
    int64_t sinks = 0;
    bool complete = true;
    for (int a = 0; a < writers + sink_accounts; ++a) {
      net::client_request req;
      req.what = net::client_request::kind::account;
      const auto& addr = addresses_[static_cast<std::size_t>(a)];
      std::copy(addr.begin(), addr.end(), req.account.address.begin());
      req.account.stale = true;  // converged above: the node's own state is what is checked
      auto resp = ask(i, req, 2000ms);
      if (!resp || resp->what != net::client_response::kind::account) {
        problem(nodes_[static_cast<std::size_t>(i)].name + ": account query failed");
        complete = false;
        break;
      }
      total += resp->account.tsl_units;
      if (a >= writers) {
        sinks += resp->account.tsl_units;
        continue;
      }
      const auto w = static_cast<std::size_t>(a);
      if (uncertain[w]) continue;
      if (resp->account.nonce < final_nonce[w]) {
        ++rep.lost;
        problem(nodes_[static_cast<std::size_t>(i)].name + ": writer " + std::to_string(a) + " nonce " +
                std::to_string(resp->account.nonce) + " below the acknowledged " + std::to_string(final_nonce[w]));
      } else if (resp->account.nonce > final_nonce[w]) {
        problem(nodes_[static_cast<std::size_t>(i)].name + ": writer " + std::to_string(a) + " nonce " +
                std::to_string(resp->account.nonce) + " above the last issued " + std::to_string(final_nonce[w]));
      }
      if (resp->account.tsl_units != final_balance[w]) {
        if (resp->account.tsl_units < final_balance[w]) ++rep.applied_twice;
        problem(nodes_[static_cast<std::size_t>(i)].name + ": writer " + std::to_string(a) + " balance " +
                std::to_string(resp->account.tsl_units) + ", history says " + std::to_string(final_balance[w]));
      }
    }
    if (!complete) continue;
    const int64_t genesis_total = static_cast<int64_t>(writers + sink_accounts) * account_units;
    if (total != genesis_total) {
      problem(nodes_[static_cast<std::size_t>(i)].name + ": accounts hold " + std::to_string(total) + ", genesis gave " +
              std::to_string(genesis_total) + " (supply)");
    }
    if (rep.transfers_unknown == 0 && sinks != sink_accounts * account_units + to_sinks) {
      problem(nodes_[static_cast<std::size_t>(i)].name + ": sinks hold " + std::to_string(sinks) + ", acknowledged " +
              std::to_string(sink_accounts * account_units + to_sinks));
    }
  }

  if (sched_.clock && time_samples_ < 2) problem("no ledger time samples although the clock runs");

  // Linearizability of the per-account register (nonce, balance) under writes (transfers with a
  // definite outcome) and linearizable reads: the simulator's checker (tests/consensus_sim).
  std::vector<sim::client_operation> ops;
  for (const auto& op : hist) {
    if (op.type == op_type::read && op.result != op_result::ok) continue;  // constrains nothing
    if (op.type == op_type::transfer && op.result == op_result::fail) continue;  // never entered the log
    sim::client_operation c;
    c.client_id = static_cast<uint64_t>(op.client);
    c.key = static_cast<uint64_t>(op.account);
    c.invoke_seq = op.invoke_seq;
    c.response_seq = op.response_seq;
    c.invoke_time = op.invoke_seq;  // printed in the checker's explanation: history.txt's numbers
    c.response_time = op.response_seq.value_or(0);
    if (op.balance < 0 || op.balance >= (int64_t{1} << balance_bits)) {
      problem("balance outside the checker's encoding: " + std::to_string(op.balance));
      continue;
    }
    const int64_t value = static_cast<int64_t>((op.nonce << balance_bits) | static_cast<uint64_t>(op.balance));
    if (op.type == op_type::read) {
      c.kind = sim::op_kind::read;
      c.output = value;
    } else {
      c.kind = sim::op_kind::write;
      c.input = value;
    }
    ops.push_back(c);
  }
  const auto lin = sim::check_linearizability(ops, static_cast<int64_t>(account_units));
  rep.linearizability_steps = lin.search_steps;
  if (lin.verdict == sim::linearizability_verdict::not_linearizable) {
    problem("history not linearizable (account " + std::to_string(lin.key) + "): " + lin.explanation);
  } else if (lin.verdict == sim::linearizability_verdict::budget_exceeded) {
    problem("linearizability search ran out of budget on account " + std::to_string(lin.key));  // never a pass
  }
}

}  // namespace

run_report run_schedule(const schedule& s, const run_options& o) {
  run_report rep;
  {
    run r(s, o);
    r.execute(rep);
  }
  std::printf("%s\n", rep.summary().c_str());
  for (const auto& p : rep.problems) std::printf("  PROBLEM: %s\n", p.c_str());
  std::fflush(stdout);
  return rep;
}

}  // namespace energo::faults
