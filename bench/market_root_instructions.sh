#!/usr/bin/env bash
# Instructions per state root of BM_market_root_update (issue 11 §5), independent of machine load:
# runs ledger_bench under callgrind with instrumentation only around the timed state_root() calls
# (ENERGO_BENCH_CALLGRIND hooks) and prints, per variant, instructions per root and per changed
# order, and the ratio to the 10^3-order book; the fixture's first (full) root is printed apart.
#   bash bench/market_root_instructions.sh [build dir (build/release)] [orders regex (1000|100000|1000000)]
# Takes ~2 minutes (the fixtures are built without instrumentation). Needs valgrind.
set -euo pipefail
build=${1:-build/release}
orders=${2:-'(1000|100000|1000000)'}
bench=$(realpath "$build/bench/ledger_bench")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$out" && valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no "$bench" \
  --benchmark_filter="BM_market_root_update/orders:$orders/" --benchmark_min_time=0.3 >bench.txt 2>&1)
# Each dump names its variant; a variant's last dump is its measured run (the first is the
# library's one-iteration warm-up).
for f in $(ls "$out"/callgrind.out.*.* | sort -V); do
  trigger=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
  total=$(sed -n 's/^totals: //p' "$f")
  echo "$trigger total=$total"
done | awk '
  /^first-root/ { split($2, a, "="); split($3, t, "="); printf "first root, %s orders: %.1f M instructions\n", a[2], t[2] / 1e6; next }
  /^roots/ {
    split($2, o, "="); split($3, c, "="); split($4, r, "="); split($5, t, "=")
    key = o[2] " " c[2]; per_change[key] = t[2] / r[2] / c[2]; per_root[key] = t[2] / r[2]; roots[key] = r[2]
    if (!(key in seen)) { seen[key] = 1; keys[++n] = key }
  }
  END {
    printf "%9s %8s %6s %14s %14s %8s\n", "orders", "changes", "roots", "instr/root", "instr/change", "vs 10^3"
    for (i = 1; i <= n; ++i) {
      split(keys[i], k, " "); base = per_change["1000 " k[2]]
      printf "%9s %8s %6s %14.0f %14.0f %8s\n", k[1], k[2], roots[keys[i]], per_root[keys[i]], per_change[keys[i]],
             base ? sprintf("%.2fx", per_change[keys[i]] / base) : "-"
    }
  }'
