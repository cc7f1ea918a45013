// tools/child_process.hpp, on /bin/sh: output into the log, environment overrides, exit statuses,
// bounded waits and the SIGKILL after an ignored stop signal. About half a second.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/child_process.hpp"

namespace energo::tools {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class child_process : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/energo-child-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(child_process, writes_both_streams_to_the_log_with_the_environment_overridden) {
  ::setenv("ENERGO_CHILD_TEST_KEPT", "kept", 1);
  ::setenv("ENERGO_CHILD_TEST_REPLACED", "old", 1);
  spawn_options o;
  o.log_path = dir_ + "/child.log";
  o.env = {"ENERGO_CHILD_TEST_REPLACED=new", "ENERGO_CHILD_TEST_ADDED=added"};
  const pid_t pid = spawn_process(
      {"/bin/sh", "-c", "echo out $ENERGO_CHILD_TEST_KEPT $ENERGO_CHILD_TEST_REPLACED $ENERGO_CHILD_TEST_ADDED; "
                        "echo err >&2; exit 3"},
      o);
  ASSERT_GT(pid, 0);
  const auto st = wait_exit(pid, 10s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 3) << *st;
  EXPECT_EQ(read_file(o.log_path), "out kept new added\nerr\n");
  // The environment as the program gets it (no shell in between): the replaced name once.
  o.log_path = dir_ + "/env.log";
  ASSERT_TRUE(wait_exit(spawn_process({"/usr/bin/env"}, o), 10s));
  const std::string env = read_file(o.log_path);
  EXPECT_NE(env.find("ENERGO_CHILD_TEST_REPLACED=new\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("ENERGO_CHILD_TEST_REPLACED=old"), std::string::npos) << env;
}

TEST_F(child_process, a_missing_program_exits_127_and_stderr_only_leaves_stdout_alone) {
  const auto missing = wait_exit(spawn_process({dir_ + "/no-such-program"}), 10s);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(WIFEXITED(*missing) && WEXITSTATUS(*missing) == 127);
  spawn_options o;
  o.log_path = dir_ + "/err.log";
  o.stderr_only = true;
  const auto st = wait_exit(spawn_process({"/bin/sh", "-c", "echo err >&2; echo stdout-is-inherited"}, o), 10s);
  ASSERT_TRUE(st);
  EXPECT_EQ(read_file(o.log_path), "err\n");
}

// `exec`: the shell becomes the sleep, so no orphaned grandchild keeps the test's output open (ctest
// waited 30 s for it).
TEST_F(child_process, waits_are_bounded_and_a_stop_ends_in_sigkill_when_ignored) {
  const pid_t sleeper = spawn_process({"/bin/sh", "-c", "trap '' TERM; exec sleep 30"});
  ASSERT_GT(sleeper, 0);
  EXPECT_FALSE(wait_exit(sleeper, 0ms)) << "still running: one check";
  EXPECT_FALSE(wait_exit(sleeper, 100ms));
  const auto start = std::chrono::steady_clock::now();
  const int st = stop_process(sleeper, SIGTERM, 300ms);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // A child that obeys the signal is not killed.
  const pid_t obeys = spawn_process({"/bin/sh", "-c", "exec sleep 30"});
  const int term = stop_process(obeys, SIGTERM, 5s);
  EXPECT_TRUE(WIFSIGNALED(term) && WTERMSIG(term) == SIGTERM) << term;
  EXPECT_EQ(kill_and_wait(-1, SIGKILL), -1);
  EXPECT_FALSE(wait_exit(0, 0ms));
}

}  // namespace
}  // namespace energo::tools
