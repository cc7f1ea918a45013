#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, and runs every test suite —
# first under AddressSanitizer + UndefinedBehaviorSanitizer, then the optimised build.
# Long runs (soak, millions of seeds) sit behind the "slow" label: ENERGO_SLOW=1 includes them.
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
ctest --preset release -j "$jobs" "${exclude[@]}"
