// The energo-sim binary as a process: --help shows the defaults, runs exit 0 with their checks
// held, bad input exits 2, and the output is byte-identical for a seed.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace {

struct process_result {
  int exit_code = -1;
  std::string out;
};

process_result run_sim(const std::string& args) {
  process_result r;
  const std::string command = std::string(ENERGO_SIM_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(sim_process, help_shows_defaults) {
  const auto gs = run_sim("gs --help");
  EXPECT_EQ(gs.exit_code, 0);
  for (const char* needle : {"--schedule", "--kind", "zi-c", "--rules", "paper", "--periods", "6", "--period-length", "1000", "--seeds"})
    EXPECT_NE(gs.out.find(needle), std::string::npos) << needle << " missing from:\n" << gs.out;
  const auto community = run_sim("community --help");
  EXPECT_EQ(community.exit_code, 0);
  for (const char* needle : {"--households", "20", "--days", "3", "--seed"})
    EXPECT_NE(community.out.find(needle), std::string::npos) << needle;
}

TEST(sim_process, gs_run_is_reproducible_and_json_parses_as_one_object) {
  const std::string args = "gs --schedule examples/sim/gs_symmetric.txt --kind zi-c --rules energo --periods 2 --period-length 300 --seed 9 --json";
  const auto a = run_sim(args);
  const auto b = run_sim(args);
  EXPECT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  ASSERT_FALSE(a.out.empty());
  EXPECT_EQ(a.out.front(), '{');
  EXPECT_NE(a.out.find("\"mean_efficiency_bp\""), std::string::npos);
}

TEST(sim_process, community_run_exits_zero) {
  const auto r = run_sim("community --households 4 --days 1 --seed 3");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("invariants: ok"), std::string::npos) << r.out;
}

TEST(sim_process, bad_input_exits_2_and_usage_errors_exit_1) {
  EXPECT_EQ(run_sim("gs --schedule /nonexistent/schedule.txt").exit_code, 2);
  EXPECT_EQ(run_sim("gs --schedule examples/sim/gs_symmetric.txt --periods 0").exit_code, 2);
  EXPECT_EQ(run_sim("gs --schedule examples/sim/gs_symmetric.txt --kind zi-x").exit_code, 1);
  EXPECT_EQ(run_sim("").exit_code, 1);
}

}  // namespace
