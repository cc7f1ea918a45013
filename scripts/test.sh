#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, and runs every test suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the optimised build with the suites whose
# subject it is (node processes, the 10,000-seed raft sweeps, golden replays: see below).
# Long runs (soak, millions of seeds) sit behind the "slow" label: ENERGO_SLOW=1 includes them.
# Between the release build and its tests, every libFuzzer target runs for ENERGO_FUZZ_SECONDS (10
# here), two at a time on 2 cores: its own clang build included, about 2.5 minutes on 2 idle cores
# (tests/fuzz/README.md). ENERGO_FUZZ=0 skips it; the ASan ctest run also replays each target's seeds
# and crash regressions (fuzz_replay_tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs="${ENERGO_JOBS:-$(nproc)}"
exclude=(-LE slow)
# Without ENERGO_SLOW the slow-labelled test binaries and the benchmarks are not even built (CI's
# time budget); `bash scripts/build.sh release` builds both.
# CI's budget (30 minutes on 2 cores, installs included) decides the flags of the builds here;
# developers' builds (scripts/build.sh, the presets) keep -g, -O1/-O2 everywhere and one object
# per source file:
# - debug info is line tables only (-g1): enough for sanitizer reports and crash backtraces,
#   about a quarter less compile time than -g;
# - unity builds (CMAKE_UNITY_BUILD, batches of 8 sources per object): each target's headers
#   (CAF, gtest, nlohmann-json, Cap'n Proto) are parsed and their templates instantiated once per
#   batch instead of once per file;
# - test sources (tests/CMakeLists.txt, ENERGO_TEST_OPT) compile at -O0 under ASan and -O1 in
#   release; the libraries under test and the simulation harnesses keep the preset's -O1 / -O2.
# Measured on a 2-core EPYC VM (2026-12-02, no ccache): ASan build 22 -> 11 min, release 12.5 -> 7 min.
# - the executables' own sources (option parsing and wiring: node_main.cpp, energoctl, the tools'
#   mains; ENERGO_MAIN_OPT) compile at -O0 under ASan;
# - the release step builds and runs the test binaries marked OPTIMISED only (tests/CMakeLists.txt,
#   ENERGO_TEST_SUBSET): real node processes, the 10,000-seed raft sweeps, golden replays, storage
#   crashes, the tools. Every test binary runs in the ASan+UBSan step; ENERGO_SLOW=1 runs all in both.
# The whole run from a clean clone on that VM, packages installed: 24 min 42 s (was ~43 min with
# none of the above, 30 min 48 s with unity builds and test sources at -O0/-O1 only).
lean="-DENERGO_BUILD_SLOW_TESTS=OFF -DENERGO_BUILD_BENCH=OFF"
subset="-DENERGO_TEST_SUBSET=optimised"
if [ "${ENERGO_SLOW:-0}" = 1 ]; then
  exclude=()
  lean="-DENERGO_BUILD_SLOW_TESTS=ON"
  subset="-DENERGO_TEST_SUBSET=all"
fi
lean+=" -DENERGO_DEBUG_INFO=lines -DCMAKE_UNITY_BUILD=ON"

echo "== build + test: asan preset =="
ENERGO_CMAKE_ARGS="$lean -DENERGO_TEST_OPT=-O0 -DENERGO_MAIN_OPT=-O0 -DENERGO_TEST_SUBSET=all" bash scripts/build.sh asan
ctest --preset asan -j "$jobs" "${exclude[@]}"

echo "== build + test: release preset =="
ENERGO_CMAKE_ARGS="$lean -DENERGO_TEST_OPT=-O1 -DENERGO_MAIN_OPT= $subset" bash scripts/build.sh release
if [ "${ENERGO_FUZZ:-1}" = 1 ]; then
  # Before the release ctest so that ctest's summary stays the last line printed.
  echo "== fuzz: every decoder, ${ENERGO_FUZZ_SECONDS:-10}s each (scripts/fuzz.sh) =="
  ENERGO_FUZZ_SECONDS="${ENERGO_FUZZ_SECONDS:-10}" ENERGO_FUZZ_CMAKE_ARGS="-DCMAKE_UNITY_BUILD=ON" bash scripts/fuzz.sh
fi
ctest --preset release -j "$jobs" "${exclude[@]}"
