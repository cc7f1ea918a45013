#include "tools/child_process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

extern char** environ;

namespace energo::tools {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(20);

std::string_view name_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// This process's environment with `overrides` replacing (or adding) their names.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    bool replaced = false;
    for (const auto& o : overrides) replaced = replaced || name_of(*e) == name_of(o);
    if (!replaced) out.emplace_back(*e);
  }
  out.insert(out.end(), overrides.begin(), overrides.end());
  return out;
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& args, const spawn_options& options) {
  std::vector<std::string> argv_strings = args;
  std::vector<std::string> env_strings = child_environment(options.env);
  std::vector<char*> argv, envp;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int log_fd = options.log_path.empty() ? -1
                                              : ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (options.own_process_group) ::setpgid(0, 0);
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(1);  // the parent died before prctl took effect
    }
    if (options.netns_fd >= 0 && ::setns(options.netns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    if (log_fd >= 0) {
      if (!options.stderr_only) ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds bound) {
  if (pid <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}

int kill_and_wait(pid_t pid, int sig) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

int stop_process(pid_t pid, int sig, std::chrono::milliseconds bound) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);
  if (auto status = wait_exit(pid, bound)) return *status;
  return kill_and_wait(pid, SIGKILL);
}

}  // namespace energo::tools
