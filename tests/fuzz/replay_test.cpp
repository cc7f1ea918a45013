// Corpus replay in the normal builds (README.md, "Replay in every CI run"): every fuzz target's
// entry point, compiled into this one binary under its own name, is fed every committed seed
// (corpus/<name>/) and every former crash (regressions/<name>/). Under the asan preset each input
// runs through ASan + UBSan; a contract violation, a sanitizer report or an allocation above
// allocation_bytes_max aborts the process, which fails the test. The driver itself is tested
// below with inputs that must kill it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"

namespace fs = std::filesystem;

#define ENERGO_FUZZ_TARGET(name) extern "C" int energo_fuzz_##name(const uint8_t*, std::size_t);
#include "fuzz_replay_targets.inc"
#undef ENERGO_FUZZ_TARGET

namespace {

// The same bound scripts/fuzz.sh gives libFuzzer (-malloc_limit_mb=512): no input of a few KiB
// may make a decoder allocate this much at once (allocation sized by an unchecked number).
constexpr std::size_t allocation_bytes_max = std::size_t{512} << 20;

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// ASan owns operator new: give it the bound (and make an oversize request fatal).
extern "C" const char* __asan_default_options() {
  return "max_allocation_size_mb=512:allocator_may_return_null=0";
}
#else
// Release build: the replaced operator new enforces the bound. libstdc++'s other forms (array,
// nothrow) call this one, and its operator delete calls free().
void* operator new(std::size_t n) {
  if (n > allocation_bytes_max) {
    std::fprintf(stderr, "fuzz replay: allocation of %zu bytes above allocation_bytes_max\n", n);
    std::abort();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
#endif

namespace {

using entry_point = int (*)(const uint8_t*, std::size_t);
struct target {
  const char* name;
  entry_point run;
};
// ctest names carry the parameter ("# GetParam() = ..."): the target's name, not its bytes.
void PrintTo(const target& t, std::ostream* os) { *os << t.name; }

const target targets[] = {
#define ENERGO_FUZZ_TARGET(name) {#name, &energo_fuzz_##name},
#include "fuzz_replay_targets.inc"
#undef ENERGO_FUZZ_TARGET
};

const fs::path fuzz_root = "tests/fuzz";  // tests run from the project root

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs every file of `dir` through `run`; returns how many. The path goes to stderr first so a
// crash names its input.
std::size_t replay_dir(entry_point run, const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& f : files_in(dir)) {
    const auto bytes = read_file(f);
    std::fprintf(stderr, "replay %s (%zu bytes)\n", f.c_str(), bytes.size());
    // libFuzzer never passes a null pointer; an empty file must not either.
    static const uint8_t empty = 0;
    run(bytes.empty() ? &empty : bytes.data(), bytes.size());
    ++n;
  }
  return n;
}

class fuzz_replay : public ::testing::TestWithParam<target> {};

TEST_P(fuzz_replay, corpus_and_regressions) {
  const target t = GetParam();
  const std::size_t seeds = replay_dir(t.run, fuzz_root / "corpus" / t.name);
  EXPECT_GT(seeds, 0u) << "no seed corpus in " << (fuzz_root / "corpus" / t.name);
  const std::size_t old_crashes = replay_dir(t.run, fuzz_root / "regressions" / t.name);
  std::printf("%s: %zu seeds, %zu regression inputs replayed\n", t.name, seeds, old_crashes);
}

INSTANTIATE_TEST_SUITE_P(targets, fuzz_replay, ::testing::ValuesIn(targets),
                         [](const ::testing::TestParamInfo<target>& i) { return std::string(i.param.name); });

// Every corpus, regression and open folder belongs to a target of this build (a renamed target
// would otherwise replay nothing, silently).
TEST(fuzz_replay_layout, every_input_folder_has_a_target) {
  for (const char* kind : {"corpus", "regressions", "open"}) {
    if (!fs::is_directory(fuzz_root / kind)) continue;
    for (const auto& e : fs::directory_iterator(fuzz_root / kind)) {
      const auto name = e.path().filename().string();
      const bool known = std::any_of(std::begin(targets), std::end(targets), [&](const target& t) { return name == t.name; });
      EXPECT_TRUE(known) << e.path() << " has no fuzz target";
    }
  }
}

// ---- The driver can fail -----------------------------------------------------------------------

// A stand-in target with a contract, and one that allocates what its input says.
int crashes_on_magic(const uint8_t* data, std::size_t size) {
  FUZZ_CHECK(!(size >= 5 && std::memcmp(data, "crash", 5) == 0));
  return 0;
}
int allocates_from_input(const uint8_t* data, std::size_t size) {
  std::size_t mb = 0;
  for (std::size_t i = 0; i < size && i < 4; ++i) mb = mb * 256 + data[i];
  std::vector<uint8_t> v(mb << 20);
  return static_cast<int>(v.size() & 1);
}

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("energo-fuzz-replay-" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
  void put(const std::string& name, std::string_view bytes) const {
    std::ofstream(path / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
};

TEST(fuzz_replay_driver, a_contract_violation_in_a_regression_input_kills_the_replay) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  temp_dir dir;
  dir.put("a-fine", "fine");
  EXPECT_EQ(replay_dir(crashes_on_magic, dir.path), 1u);
  dir.put("b-crash", "crash!");
  EXPECT_DEATH(replay_dir(crashes_on_magic, dir.path), "fuzz contract violated");
}

TEST(fuzz_replay_driver, an_allocation_above_the_bound_kills_the_replay) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  temp_dir dir;
  dir.put("small", std::string("\0\0\0\x01", 4));  // 1 MiB: fine
  EXPECT_EQ(replay_dir(allocates_from_input, dir.path), 1u);
  dir.put("zz-huge", std::string("\0\0\x04\0", 4));  // 1 GiB: above allocation_bytes_max
  EXPECT_DEATH(replay_dir(allocates_from_input, dir.path), "allocation");
}

}  // namespace
