// Operations (docs/operations.md "Logs"): a real energo-node process with JSON logs whose level
// changes at runtime on SIGHUP (the config file's [log] level), a bad level refused without
// effect, every log line one JSON object even when a message carries quotes; clean exit 0 on
// SIGTERM. Oracles from docs/operations.md, not from node/logging.cpp.
#include "tests/node/cluster_fixture.hpp"

namespace {

using namespace energo::test_node;

std::vector<nlohmann::json> json_lines(const std::string& path, std::string& bad) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      if (bad.empty()) bad = line;
    }
  }
  return out;
}

bool has_message(const std::vector<nlohmann::json>& lines, const std::string& level, const std::string& needle) {
  for (const auto& j : lines) {
    if (j.value("level", "") == level && j.value("msg", "").find(needle) != std::string::npos) return true;
  }
  return false;
}

void write_config(const std::string& path, const std::string& data_dir, const std::string& bootstrap, uint16_t peer,
                  uint16_t client, const std::string& level) {
  std::ofstream c(path, std::ios::trunc);
  c << "name = \"solo\"\ndata_dir = \"" << data_dir << "\"\nbootstrap = \"" << bootstrap << "\"\n[listen]\npeer = \"127.0.0.1:"
    << peer << "\"\nclient = \"127.0.0.1:" << client << "\"\n[clock]\nenabled = false\n[log]\nlevel = \"" << level
    << "\"\nformat = \"json\"\n";
}

TEST(operations, LogLevelChangesOnSighupAndJsonLinesStayValid) {
  char tmpl[] = "/tmp/energo-ops-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  const std::string dir = root + "/data";
  const auto init = nlohmann::json::parse(run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + dir));
  const uint16_t peer = reserve_loopback_port(), client = reserve_loopback_port();
  {
    std::ofstream b(root + "/bootstrap.toml");
    b << "genesis = \"" << fs::absolute("examples/community/genesis.json").string() << "\"\n[[member]]\nname = \"solo\"\n"
      << "public_key = \"" << init.at("public_key").get<std::string>() << "\"\npeer = \"127.0.0.1:" << peer
      << "\"\nclient = \"127.0.0.1:" << client << "\"\n";
  }
  // A double quote in the config file's name: the SIGHUP messages name the file, so the JSON
  // escaping of messages is exercised by a real line.
  const std::string config = root + "/node \"ops\".toml";
  write_config(config, dir, root + "/bootstrap.toml", peer, client, "warn");
  const std::string log = root + "/node.log";
  tools::spawn_options o;
  o.log_path = log;
  o.stderr_only = true;  // the node logs to stderr (node/logging.cpp); stdout stays the test's
  o.env = {node_asan_options};
  const pid_t pid = tools::spawn_process({ENERGO_NODE_BIN, "start", "--config", config}, o);
  ASSERT_GT(pid, 0);
  auto status_ok = [&] {
    net::client_conn c;
    if (!c.connect({"127.0.0.1", client}, 500ms)) return false;
    net::client_request req;
    req.what = net::client_request::kind::status;
    auto r = c.call(req, 1000ms);
    return r && r->what == net::client_response::kind::status && r->status.leader != 0;
  };
  auto wait_for = [&](auto&& pred, std::chrono::seconds bound) {
    const auto deadline = clock_type::now() + bound;
    while (clock_type::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_for(status_ok, 15s)) << "the single node never led; log in " << log;

  std::string bad;
  auto lines = json_lines(log, bad);
  // At warn the start banner (info) is not written.
  for (const auto& j : lines) EXPECT_NE(j.value("level", ""), "info") << j.dump();

  // warn -> info on SIGHUP.
  write_config(config, dir, root + "/bootstrap.toml", peer, client, "info");
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(wait_for([&] { return has_message(json_lines(log, bad), "info", "-> info"); }, 10s)) << "log in " << log;
  // A level that does not exist changes nothing and says so.
  write_config(config, dir, root + "/bootstrap.toml", peer, client, "loud");
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(wait_for([&] { return has_message(json_lines(log, bad), "warning", "stays info"); }, 10s)) << "log in " << log;
  EXPECT_TRUE(status_ok()) << "the node must keep serving after SIGHUPs";

  ::kill(pid, SIGTERM);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
  bad.clear();
  lines = json_lines(log, bad);
  EXPECT_TRUE(bad.empty()) << "not a JSON object: " << bad;
  // After the change to info, the shutdown is logged at info.
  EXPECT_TRUE(has_message(lines, "info", "shutting down"));
  bool quoted = false;
  for (const auto& j : lines) {
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << j.dump();
    EXPECT_EQ(j.value("node", ""), "solo");
    quoted = quoted || j.value("msg", "").find("node \"ops\".toml") != std::string::npos;
  }
  EXPECT_TRUE(quoted) << "the message naming the config file with a quote must round-trip";
  if (!HasFailure()) fs::remove_all(root);
}

}  // namespace
