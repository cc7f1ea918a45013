#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz preset, clang) and runs each one for a bounded time:
#   1. replays every committed regression input (tests/fuzz/regressions/<target>/*): must pass;
#   1b. replays the known, not yet fixed crashes (tests/fuzz/open/<target>/*, decoders owned by
#      another branch): reported, not fatal; one that passes should move to regressions/;
#   2. fuzzes from the seed corpus (tests/fuzz/corpus/<target>/, read only) plus a working corpus
#      under build/fuzz/corpus/<target>/ that grows between local runs.
# ENERGO_FUZZ_SECONDS per target (default 15; e.g. 600 for a long run), ENERGO_FUZZ_TARGETS
# ("a b") to run some targets only, ENERGO_FUZZ_RSS_MB (default 2048), ENERGO_FUZZ_MALLOC_MB (largest single allocation,
# default 512), ENERGO_FUZZ_FORK=1 to keep
# fuzzing after a crash (libFuzzer fork mode, for long runs that should collect every finding). Crash inputs land in
# build/fuzz/artifacts/<target>/ and are listed; the script then exits non-zero, except for a
# target that still has open crashes (it would re-find them within seconds) unless
# ENERGO_FUZZ_STRICT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${ENERGO_FUZZ_SECONDS:-15}"
rss_mb="${ENERGO_FUZZ_RSS_MB:-2048}"
# No input of a few KiB has any business allocating this much at once: a larger malloc is a
# finding (allocation sized by an unchecked number), reported as an out-of-memory crash.
malloc_mb="${ENERGO_FUZZ_MALLOC_MB:-512}"
build=build/fuzz

echo "== fuzz: build (preset fuzz) =="
# ENERGO_FUZZ_CMAKE_ARGS: extra cache settings (scripts/test.sh: a unity build, for CI's budget).
# shellcheck disable=SC2086
cmake --preset fuzz ${ENERGO_FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build --preset fuzz -j "${ENERGO_JOBS:-$(nproc)}"

# name max_len, one per line, written by tests/fuzz/CMakeLists.txt.
mapfile -t manifest < "$build/fuzz_targets.txt"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# One target: replays, then fuzzing. Prints its report; writes its summary line to $results/<name>
# and its verdict (ok / OPEN / CRASH / FAILED:<why>) to $results/<name>.status.
run_target() {
  local name="$1" max_len="$2"
  local bin="$build/tests/fuzz/fuzz_$name"
  local seeds="tests/fuzz/corpus/$name"
  local regressions="tests/fuzz/regressions/$name"
  local work="$build/corpus/$name"
  local artifacts="$build/artifacts/$name/"
  local log="$build/logs/$name.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  if [ ! -d "$seeds" ]; then
    echo "fuzz: $name has no seed corpus ($seeds)"
    echo "FAILED:no-corpus" >"$results/$name.status"
    return
  fi

  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! "$bin" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" "$regressions"/* >"$build/logs/$name.regressions.log" 2>&1; then
      echo "fuzz: $name: a regression input crashes again (see $build/logs/$name.regressions.log)"
      tail -n 30 "$build/logs/$name.regressions.log"
      echo "FAILED:regression" >"$results/$name.status"
      return
    fi
  fi

  local open_count=0 f
  if [ -d "tests/fuzz/open/$name" ]; then
    for f in "tests/fuzz/open/$name"/*; do
      [ -f "$f" ] || continue
      open_count=$((open_count + 1))
      if "$bin" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" "$f" >"$build/logs/$name.open.log" 2>&1; then
        echo "fuzz: $name: open crash $f now passes: move it to tests/fuzz/regressions/$name/"
      else
        echo "fuzz: $name: open crash still reproduces: $f"
      fi
    done
  fi

  local status=ok
  local fork=()
  [ "${ENERGO_FUZZ_FORK:-0}" = 1 ] && fork=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  local marker="$build/logs/$name.start"
  touch "$marker"
  local rc=0
  "$bin" "${fork[@]}" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" -timeout=10 \
       -artifact_prefix="$artifacts" -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1 || rc=$?
  local new_artifacts
  new_artifacts=$(find "$artifacts" -type f -newer "$marker" | sort)
  if [ "$rc" -ne 0 ] || [ -n "$new_artifacts" ]; then
    if [ "$open_count" -gt 0 ] && [ "${ENERGO_FUZZ_STRICT:-0}" != 1 ]; then
      status=OPEN  # most likely the open crash again; see the log
    else
      status=CRASH
    fi
  fi
  local runs cov line
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  # Fork mode prints no final stats: take the last "#<execs>: cov: ..." progress line.
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+: cov' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  line=$(printf '%-16s %-5s %10s execs in %ss, coverage %s edges, corpus %s files' \
         "$name" "$status" "${runs:-?}" "$seconds" "${cov:-?}" "$(ls "$work" | wc -l)")
  echo "fuzz: $line"
  echo "$line" >"$results/$name"
  echo "$status" >"$results/$name.status"
  if [ "$status" != ok ]; then
    grep -E 'ERROR|SUMMARY|contract violated|assertion failed|runtime error|Test unit written' "$log" | head -n 12 || true
    echo "fuzz: crash inputs (this run): ${new_artifacts:-none written}  (log: $log)"
  fi
}

# Targets run ENERGO_FUZZ_PARALLEL at a time (default: the core count), each single-threaded, so
# the step's wall time is about 13 × seconds / cores. A target's report is printed when it ends.
results="$build/results"
rm -rf "$results"
mkdir -p "$results"
parallel="${ENERGO_FUZZ_PARALLEL:-${ENERGO_JOBS:-$(nproc)}}"
names=()
for entry in "${manifest[@]}"; do
  read -r name max_len <<<"$entry"
  if [ -n "${ENERGO_FUZZ_TARGETS:-}" ] && [[ " $ENERGO_FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  names+=("$name")
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_target "$name" "$max_len" >"$results/$name.out" 2>&1 &
done
wait || true
failed=()
summary=()
for name in "${names[@]}"; do
  cat "$results/$name.out"
  status=$(cat "$results/$name.status" 2>/dev/null || echo "FAILED:no-result")
  [ -f "$results/$name" ] && summary+=("$(cat "$results/$name")")
  case "$status" in
    ok | OPEN) ;;
    CRASH) failed+=("$name") ;;
    FAILED:*) failed+=("$name(${status#FAILED:})") ;;
    *) failed+=("$name($status)") ;;
  esac
done

echo "== fuzz summary (${seconds}s per target) =="
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (crash inputs under $build/artifacts/)"
  exit 1
fi
echo "fuzz: no crashes"
