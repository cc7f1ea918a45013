#pragma once
// Child processes of energo-demo and the multi-process tests (tests/node/cluster_fixture.hpp, the
// fault harness): start a program with its output appended to a log file, stop it, wait for it
// with a bound. POSIX only.
//
// A parent with running threads may call spawn_process(): everything the child needs (argv, the
// environment, the log file) is prepared before fork(), and the child makes only async-signal-safe
// calls (setpgid, prctl, setns, dup2, execve) before it runs the program.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace energo::tools {

struct spawn_options {
  std::string log_path;            // stdout and stderr appended here (created 0644); empty: inherited
  bool stderr_only = false;        // only stderr goes to the log; stdout is inherited
  std::vector<std::string> env;    // "NAME=value": replaces NAME in this process's environment, or adds it
  bool own_process_group = false;  // setpgid(0, 0): a terminal's Ctrl-C reaches the parent only
  int parent_death_signal = 0;     // PR_SET_PDEATHSIG: the child never outlives the parent (0: off)
  int netns_fd = -1;               // setns(CLONE_NEWNET) first (exit 126 if that fails); -1: this namespace
};

// Starts args[0] (a path: no PATH search) with `args`. The pid, or -1 if fork failed; a program
// that cannot be executed exits 127.
[[nodiscard]] pid_t spawn_process(const std::vector<std::string>& args, const spawn_options& options = {});

// Waits at most `bound` for the child to exit (checks once for a zero bound): its wait status, or
// nullopt while it still runs.
[[nodiscard]] std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds bound);

// Sends `sig` and waits as long as it takes: the wait status (-1 for pid <= 0).
int kill_and_wait(pid_t pid, int sig);

// Sends `sig`, waits at most `bound`, then SIGKILL and waits: the wait status (-1 for pid <= 0).
int stop_process(pid_t pid, int sig, std::chrono::milliseconds bound);

}  // namespace energo::tools
