#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz preset, clang) and runs each one for a bounded time:
#   1. replays every committed regression input (tests/fuzz/regressions/<target>/*): must pass;
#   2. fuzzes from the seed corpus (tests/fuzz/corpus/<target>/, read only) plus a working corpus
#      under build/fuzz/corpus/<target>/ that grows between local runs.
# ENERGO_FUZZ_SECONDS per target (default 15; e.g. 600 for a long run), ENERGO_FUZZ_TARGETS
# ("a b") to run some targets only, ENERGO_FUZZ_RSS_MB (default 2048). Crash inputs land in
# build/fuzz/artifacts/<target>/ and are listed; the script then exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${ENERGO_FUZZ_SECONDS:-15}"
rss_mb="${ENERGO_FUZZ_RSS_MB:-2048}"
build=build/fuzz

echo "== fuzz: build (preset fuzz) =="
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${ENERGO_JOBS:-$(nproc)}"

# name max_len, one per line, written by tests/fuzz/CMakeLists.txt.
mapfile -t manifest < "$build/fuzz_targets.txt"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
summary=()
for entry in "${manifest[@]}"; do
  read -r name max_len <<<"$entry"
  if [ -n "${ENERGO_FUZZ_TARGETS:-}" ] && [[ " $ENERGO_FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  bin="$build/tests/fuzz/fuzz_$name"
  seeds="tests/fuzz/corpus/$name"
  regressions="tests/fuzz/regressions/$name"
  work="$build/corpus/$name"
  artifacts="$build/artifacts/$name/"
  log="$build/logs/$name.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  [ -d "$seeds" ] || { echo "fuzz: $name has no seed corpus ($seeds)"; failed+=("$name(no corpus)"); continue; }

  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! "$bin" -rss_limit_mb="$rss_mb" "$regressions"/* >"$build/logs/$name.regressions.log" 2>&1; then
      echo "fuzz: $name: a regression input crashes again (see $build/logs/$name.regressions.log)"
      tail -n 30 "$build/logs/$name.regressions.log"
      failed+=("$name(regression)")
      continue
    fi
  fi

  status=ok
  if ! "$bin" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb="$rss_mb" -timeout=10 \
       -artifact_prefix="$artifacts" -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1; then
    status=CRASH
    failed+=("$name")
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  line=$(printf '%-16s %-5s %10s execs in %ss, coverage %s edges, corpus %s files' \
         "$name" "$status" "${runs:-?}" "$seconds" "${cov:-?}" "$(ls "$work" | wc -l)")
  echo "fuzz: $line"
  summary+=("$line")
  if [ "$status" = CRASH ]; then
    grep -E 'ERROR|SUMMARY|contract violated|assertion failed|runtime error|Test unit written' "$log" | head -n 12 || true
    echo "fuzz: crash inputs: $(ls "$artifacts")  (log: $log)"
  fi
done

echo "== fuzz summary (${seconds}s per target) =="
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (crash inputs under $build/artifacts/)"
  exit 1
fi
echo "fuzz: no crashes"
