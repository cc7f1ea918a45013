#!/usr/bin/env bash
# Mutation testing of the order book and of ledger rules (issue 7 §1–4): every patch in
# tests/mutants/*.patch breaks one rule on purpose; the tests that guard that rule must FAIL on it.
#
# For each patch: copy the working tree (tracked and untracked, not ignored; the build directories
# are not copied) into a temporary directory, apply the patch there with `git apply`, build the test
# binaries the patch names (release preset, ccache with a path-independent cache key), run them, and
# record "killed" (some test failed or crashed) or "survived" (all passed). The source tree is never
# modified. A baseline run of the unpatched copy must pass first, or the table would mean nothing.
#
# Usage: bash scripts/mutants.sh [patch ...]      (default: every tests/mutants/*.patch)
# Env:   ENERGO_JOBS (default 2), ENERGO_MUTANTS_KEEP=1 keeps the temporary tree and logs,
#        ENERGO_MUTANTS_REV=<commit> tests that commit instead of the working tree.
# Exit:  0 when every mutant was killed; 1 when one survived; 2 on a baseline, patch or build failure.
# Not part of ctest's default set (minutes, not seconds): see scripts/README.md and tests/README.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${ENERGO_JOBS:-2}
patches=("$@")
if [ ${#patches[@]} -eq 0 ]; then
  patches=("$root"/tests/mutants/*.patch)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/energo-mutants.XXXXXX")
cleanup() {
  if [ "${ENERGO_MUTANTS_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The same sources in another directory must hit the same ccache entries: rewrite absolute paths
# relative to the copy and do not hash the working directory (RelWithDebInfo builds carry -g).
export CCACHE_BASEDIR="$work/tree"
export CCACHE_NOHASHDIR=1
# A mutant only has to make a test fail: RapidCheck's shrinking of the counterexample can take many
# minutes on a loaded machine and adds nothing here. A binary that hangs counts as failing after
# ENERGO_MUTANTS_TIMEOUT_S (default 600).
export RC_PARAMS="${RC_PARAMS:-noshrink=1}"
binary_timeout_s=${ENERGO_MUTANTS_TIMEOUT_S:-600}

# ENERGO_MUTANTS_REV=<commit> copies that commit instead of the working tree (a stable run while the
# working tree is being edited).
copy_tree() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  if [ -n "${ENERGO_MUTANTS_REV:-}" ]; then
    (cd "$root" && git archive "$ENERGO_MUTANTS_REV") | (cd "$work/tree" && tar -xf -)
  else
    (cd "$root" && git ls-files -z --cached --others --exclude-standard | grep -zv '^build/' |
       tar --null -T - -cf -) | (cd "$work/tree" && tar -xf -)
  fi
  # Vector tests read ../shared relative to the source root (see PREAMBLE / tests/README.md).
  if [ -e "$root/../shared" ] && [ ! -e "$work/shared" ]; then ln -s "$(cd "$root/.." && pwd)/shared" "$work/shared"; fi
}

binaries_of() {  # the "# binaries:" line of a patch
  sed -n 's/^# binaries: *//p' "$1" | head -1
}

# Builds and runs the binaries in $work/tree; returns 0 if all pass, 1 if one fails, 2 if the build fails.
build_and_run() {
  local log=$1
  shift
  local targets=("$@")
  (cd "$work/tree" && cmake --preset release >/dev/null &&
     nice cmake --build --preset release -j"$jobs" --target "${targets[@]}") >"$log.build" 2>&1 || return 2
  local status=0 bin path
  for bin in "${targets[@]}"; do
    path=$(find "$work/tree/build/release/tests" -type f -name "$bin" -perm -u+x | head -1)
    [ -n "$path" ] || return 2
    # Tests run from the source root (WORKING_DIRECTORY in tests/CMakeLists.txt).
    # (the outer redirection silences the shell's own "Aborted" notice when a mutant crashes a binary)
    if ! { (cd "$work/tree" && timeout "$binary_timeout_s" "$path") >"$log.$bin" 2>&1; } 2>/dev/null; then status=1; fi
  done
  return $status
}

all_binaries=$(for p in "${patches[@]}"; do binaries_of "$p"; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "mutants: ${#patches[@]}; test binaries: $all_binaries"

copy_tree
set +e
# shellcheck disable=SC2086
build_and_run "$work/baseline" $all_binaries
baseline=$?
set -e
if [ $baseline -ne 0 ]; then
  echo "baseline (no mutant) is not green (status $baseline): see $work/baseline.*" >&2
  ENERGO_MUTANTS_KEEP=1
  exit 2
fi

declare -a rows
survived=0
broken=0
for p in "${patches[@]}"; do
  name=$(basename "$p" .patch)
  bins=$(binaries_of "$p")
  if [ -z "$bins" ]; then echo "$p has no '# binaries:' line" >&2; broken=1; continue; fi
  copy_tree
  if ! (cd "$work/tree" && git apply "$p") >"$work/$name.apply" 2>&1; then
    rows+=("$name|patch does not apply|")
    broken=1
    continue
  fi
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  build_and_run "$work/$name" $bins
  status=$?
  set -e
  secs=$(( $(date +%s) - start ))
  failing=""
  for b in $bins; do
    if [ -f "$work/$name.$b" ]; then
      n=$({ grep -o '^\[  FAILED  \] [^ ]*\.[^ ]*' "$work/$name.$b" || true; } | sort -u | wc -l)
      if grep -q 'assertion failed\|Aborted\|Segmentation' "$work/$name.$b"; then n="$n+crash"; fi
      failing="$failing $b:$n"
    fi
  done
  case $status in
    0) rows+=("$name|SURVIVED|$failing (${secs}s)"); survived=1 ;;
    1) rows+=("$name|killed|$failing (${secs}s)") ;;
    *) rows+=("$name|build failed|see log (${secs}s)"); broken=1 ;;
  esac
  echo "  $name: $(echo "${rows[-1]#*|}" | tr '|' ' ')"
done

echo
printf '%-40s %-14s %s\n' "mutant" "result" "failing tests per binary"
for r in "${rows[@]}"; do
  IFS='|' read -r n s d <<<"$r"
  printf '%-40s %-14s %s\n' "$n" "$s" "$d"
done
if [ $broken -ne 0 ]; then ENERGO_MUTANTS_KEEP=1; exit 2; fi
[ $survived -eq 0 ]
