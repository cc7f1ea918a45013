#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, and runs every test suite —
# first under AddressSanitizer + UndefinedBehaviorSanitizer, then the optimised build.
# Long runs (soak, millions of seeds) sit behind the "slow" label: ENERGO_SLOW=1 includes them.
# Between the release build and its tests, every libFuzzer target runs for ENERGO_FUZZ_SECONDS
# (10 here; about 3 minutes in all on 2 idle cores, build included): ENERGO_FUZZ=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs="${ENERGO_JOBS:-$(nproc)}"
exclude=(-LE slow)
[ "${ENERGO_SLOW:-0}" = 1 ] && exclude=()

echo "== build + test: asan preset =="
bash scripts/build.sh asan
ctest --preset asan -j "$jobs" "${exclude[@]}"

echo "== build + test: release preset =="
bash scripts/build.sh release
if [ "${ENERGO_FUZZ:-1}" != 0 ]; then
  # Before the release ctest so that ctest's summary stays the last line printed.
  echo "== fuzz: every decoder, ${ENERGO_FUZZ_SECONDS:-10}s each (scripts/fuzz.sh) =="
  ENERGO_FUZZ_SECONDS="${ENERGO_FUZZ_SECONDS:-10}" bash scripts/fuzz.sh
fi
ctest --preset release -j "$jobs" "${exclude[@]}"
