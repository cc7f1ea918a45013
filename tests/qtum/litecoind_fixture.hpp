#pragma once
// A real litecoind -regtest node for tests (Bitcoin Core 0.21 lineage, Qtum's fee policy): started
// on 127.0.0.1 with free ports and a temporary data directory, stopped and removed on destruction
// (DEPENDENCIES.md). Shared by tests/qtum and the node checkpoint tests.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/assert.hpp"
#include "net/qtum/rpc_client.hpp"
#include "tools/child_process.hpp"
#include "tools/loopback_port.hpp"

namespace energo::qtum::test_chain {

namespace fs = std::filesystem;

inline std::optional<fs::path> find_litecoind() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    const fs::path p = fs::path(dir) / "litecoind";
    if (fs::exists(p)) return p;
  }
  return std::nullopt;
}

// One litecoind child process; stopped (RPC stop, then SIGKILL of this pid if it lingers) and
// its data directory removed on destruction.
class litecoind_node {
 public:
  explicit litecoind_node(fs::path binary)
      : binary_(std::move(binary)), rpc_port_(energo::tools::reserve_loopback_port()), p2p_port_(energo::tools::reserve_loopback_port()) {
    char tmpl[] = "/tmp/energo_litecoind_XXXXXX";
    ENERGO_ASSERT(::mkdtemp(tmpl) != nullptr, "mkdtemp failed");
    datadir_ = tmpl;
  }
  ~litecoind_node() {
    stop();
    std::error_code ec;
    fs::remove_all(datadir_, ec);
  }

  // `extra`: more litecoind options for this run (e.g. -persistmempool=0: a restart then drops
  // every unconfirmed transaction).
  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{binary_.string(),
                                  "-regtest",
                                  "-datadir=" + datadir_.string(),
                                  "-rpcbind=127.0.0.1",
                                  "-rpcallowip=127.0.0.1",
                                  "-rpcport=" + std::to_string(rpc_port_),
                                  "-port=" + std::to_string(p2p_port_),
                                  "-listen=0",
                                  "-dnsseed=0",
                                  "-disablewallet",
                                  "-printtoconsole=0",
                                  "-minrelaytxfee=0.004",
                                  "-dustrelayfee=0.004",
                                  "-fallbackfee=0.004"};
    args.insert(args.end(), extra.begin(), extra.end());
    tools::spawn_options o;
    o.log_path = "/dev/null";
    o.parent_death_signal = SIGKILL;  // a crashed test leaves no node behind
    pid_ = tools::spawn_process(args, o);
    ENERGO_ASSERT(pid_ >= 0, "fork failed");
  }

  void stop() {
    if (pid_ <= 0) return;
    rpc_config c = config();
    c.attempts_max = 1;
    rpc_client(c).call("stop").has_value();  // best effort; the wait below decides
    if (!tools::wait_exit(pid_, std::chrono::seconds(30))) (void)tools::kill_and_wait(pid_, SIGKILL);
    pid_ = -1;
  }

  // Cookie auth, patient enough for a node that is still starting.
  [[nodiscard]] rpc_config config() const {
    rpc_config c;
    c.port = rpc_port_;
    c.cookie_file = (datadir_ / "regtest" / ".cookie").string();
    c.connect_timeout_ms = 1000;
    c.read_timeout_ms = 30'000;
    c.attempts_max = 40;
    c.backoff_initial_ms = 50;
    c.backoff_max_ms = 500;
    return c;
  }
  [[nodiscard]] uint16_t rpc_port() const { return rpc_port_; }
  [[nodiscard]] const fs::path& datadir() const { return datadir_; }

 private:
  fs::path binary_;
  fs::path datadir_;
  uint16_t rpc_port_;
  uint16_t p2p_port_;
  pid_t pid_ = -1;
};

#define REQUIRE_LITECOIND(var)                                                                   \
  const auto var = ::energo::qtum::test_chain::find_litecoind();                                                           \
  if (!var) {                                                                                    \
    GTEST_SKIP() << "litecoind is not installed (scripts/install-deps.sh installs it); skipping " \
                    "the real-node Qtum tests";                                                  \
  }

template <class T>
T must(qtum_result<T> r, const char* what) {
  EXPECT_TRUE(r.has_value()) << what << ": " << (r ? "" : r.error().message);
  if (!r) throw std::runtime_error(what);
  return std::move(r).value();
}

inline std::vector<std::string> mine(rpc_client& rpc, int blocks, const std::string& address) {
  const auto hashes = must(rpc.call("generatetoaddress", nlohmann::json::array({blocks, address})), "generatetoaddress");
  return hashes.get<std::vector<std::string>>();
}


}  // namespace energo::qtum::test_chain
