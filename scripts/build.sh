#!/usr/bin/env bash
# Configures and builds one preset (debug | release | asan): scripts/build.sh release [targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
jobs="${ENERGO_JOBS:-$(nproc)}"
# ENERGO_CMAKE_ARGS: cache settings for this configure. By default everything is built (slow test
# binaries; benchmarks in release); scripts/test.sh leaves both out unless ENERGO_SLOW=1.
if [ -z "${ENERGO_CMAKE_ARGS+x}" ]; then
  # Also undoes scripts/test.sh's CI settings (unity batches, test and main sources at -O0/-O1,
  # the release step's test subset) in a reused build directory.
  ENERGO_CMAKE_ARGS="-DENERGO_BUILD_SLOW_TESTS=ON -DENERGO_DEBUG_INFO=full -DCMAKE_UNITY_BUILD=OFF -DENERGO_TEST_OPT="
  ENERGO_CMAKE_ARGS+=" -DENERGO_MAIN_OPT= -DENERGO_TEST_SUBSET=all"
  [ "$preset" = release ] && ENERGO_CMAKE_ARGS+=" -DENERGO_BUILD_BENCH=ON"
fi
# shellcheck disable=SC2086
cmake --preset "$preset" $ENERGO_CMAKE_ARGS >/dev/null
if [ $# -gt 0 ]; then
  cmake --build --preset "$preset" -j "$jobs" --target "$@"
else
  cmake --build --preset "$preset" -j "$jobs"
fi
