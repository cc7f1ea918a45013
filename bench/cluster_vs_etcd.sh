#!/usr/bin/env bash
# Energo vs etcd on this machine (issue 8 §7 "Load and comparison"). In one run:
#   1. a 3-member etcd cluster (Debian's etcd-server, fsync on: its default) on 127.0.0.1, loaded
#      with `energo-load run --target etcd` (v3 JSON gateway, POST /v3/kv/put, keep-alive
#      connections spread over the three members) in closed loop at concurrency C;
#   2. a 3-node Energo cluster (energo-node, every write synced), loaded with `energo-load run` in
#      closed loop at the same C (signed place/cancel order mix), then open loop at RATE/s;
# and prints both throughputs, p50/p99, the ratio, the nodes' RSS, the machine and its load.
# Not part of CI. Bounded: about 3 minutes (each phase has a duration bound). Needs root or sudo
# only to install etcd-server/jq when missing.
#
# Environment: C (concurrency, 256), DURATION_S (closed-loop phases, 15), RATE (open loop, 2000),
# OPEN_S (open-loop duration, 60: long enough to include durable points at their steady-state rate), OPEN_C (open loop: max in flight, 1000), ACCOUNTS (4096), COMMANDS (closed-loop budget, 60000),
# ROUNDS (1): closed-loop rounds, each etcd then Energo on fresh clusters; the table gives the
# medians and the ratio of each round (the open loops run in the last round only).
# KEEP=1 keeps the temp dir (logs). For before/after comparisons: B (build dir with the binaries,
# build/release), BUILD=0 (use B as it is, no build), ONLY=energo|etcd (one side only; no ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
C="${C:-256}"
DURATION_S="${DURATION_S:-15}"
RATE="${RATE:-2000}"
OPEN_S="${OPEN_S:-60}"
OPEN_C="${OPEN_C:-1000}"
ACCOUNTS="${ACCOUNTS:-4096}"
COMMANDS="${COMMANDS:-60000}"
ROUNDS="${ROUNDS:-1}"

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
ONLY="${ONLY:-}"
B="${B:-build/release}"
[ "${BUILD:-1}" = 0 ] || bash scripts/build.sh release energo-node energoctl energo-load >/dev/null
LOAD=$B/tools/energo-load

source bench/lib.sh
work="$(mktemp -d -t energo-vs-etcd.XXXXXX)"
cleanup() { stop_all; if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

echo "== machine: $(machine), load average before: $(loadavg)"

# ---- etcd ---------------------------------------------------------------------------------------
# etcd_round R LAST: a fresh 3-member cluster, the closed loop (etcd_closed_R.json, etcd_cpu[R]);
# in the last round also the open loop, and its RSS; then stopped.
declare -a etcd_cpu energo_cpu
etcd_round() {
  local r=$1 last=$2 i
  local -a ecl epe
  local cluster=""
  for i in 1 2 3; do free_port; ecl[$i]=$port; free_port; epe[$i]=$port; cluster+="${cluster:+,}e$i=http://127.0.0.1:${epe[$i]}"; done
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$work/etcd$r.$i" \
      --listen-client-urls "http://127.0.0.1:${ecl[$i]}" --advertise-client-urls "http://127.0.0.1:${ecl[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${epe[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${epe[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-token "energo-bench-$r" --initial-cluster-state new \
      --log-level error > "$work/etcd$r.$i.log" 2>&1 &
    pids+=($!)
  done
  local etcd_eps="127.0.0.1:${ecl[1]},127.0.0.1:${ecl[2]},127.0.0.1:${ecl[3]}"
  for _ in $(seq 1 100); do
    curl -s -m 1 -X POST "http://127.0.0.1:${ecl[1]}/v3/kv/put" -d '{"key":"d2FybQ==","value":"MQ=="}' | grep -q revision && break
    sleep 0.1
  done
  echo "== $etcd_version: closed loop, C=$C, ${DURATION_S} s (value ≈ a signed order: 120 bytes)${round_tag}"
  local t0; t0=$(cpu_ticks "${pids[@]}")
  $LOAD run --target etcd --endpoints "$etcd_eps" --concurrency "$C" --duration-s "$DURATION_S" --value-bytes 120 --json > "$work/etcd_closed_$r.json"
  etcd_cpu[$r]=$(jq -n "($(cpu_ticks "${pids[@]}") - $t0) * 1000 / $hz / $(jq '.run.committed' "$work/etcd_closed_$r.json")")
  jq -c '.run | {committed_per_s, latency_ms, errors}' "$work/etcd_closed_$r.json"
  if [ "$last" = 1 ]; then
    echo "== etcd: open loop, ${RATE}/s, ${OPEN_S} s"
    $LOAD run --target etcd --endpoints "$etcd_eps" --mode open --rate "$RATE" --concurrency "$OPEN_C" --duration-s "$OPEN_S" --value-bytes 120 --json > "$work/etcd_open.json"
    jq -c '.run | {committed_per_s, latency_ms, errors, not_sent}' "$work/etcd_open.json"
    etcd_rss=0; for p in "${pids[@]}"; do etcd_rss=$((etcd_rss + $(rss_kb "$p"))); done
  fi
  stop_all
  echo "   load average after etcd: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- Energo -------------------------------------------------------------------------------------
# energo_round R LAST: a fresh 3-node cluster (WORK/rR), the closed loop (energo_closed_R.json,
# energo_cpu[R]); in the last round also the open loop with --verify, its slowest windows and the
# nodes' RSS; then stopped.
energo_round() {
  local r=$1 last=$2 i
  local dir="$work/r$r"
  mkdir -p "$dir"
  $LOAD genesis --accounts "$ACCOUNTS" --seed bench --out "$dir/genesis.json" >/dev/null
  energo_bootstrap "$dir" "$dir/genesis.json" 3
  for i in 1 2 3; do energo_start "$dir" "$i"; done
  local energo_eps="127.0.0.1:${ncl[1]},127.0.0.1:${ncl[2]},127.0.0.1:${ncl[3]}"
  energo_wait_leader "$energo_eps" || true
  echo "== energo: closed loop, C=$C, ${ACCOUNTS} accounts, 50% place / 50% cancel (after a place-only warm-up), ≤ ${DURATION_S} s${round_tag}"
  local t0; t0=$(cpu_ticks "${pids[@]}")
  $LOAD run --endpoints "$energo_eps" --genesis "$dir/genesis.json" --seed bench --accounts "$ACCOUNTS" \
    --concurrency "$C" --commands "$COMMANDS" --duration-s "$DURATION_S" --json > "$work/energo_closed_$r.json"
  # warm-up and measured phase both count (the nodes work through both; signing is the client's)
  energo_cpu[$r]=$(jq -n "($(cpu_ticks "${pids[@]}") - $t0) * 1000 / $hz / ($(jq '.run.committed + .warmup.committed' "$work/energo_closed_$r.json"))")
  jq -c '{warmup: .warmup | {committed_per_s, latency_ms}, run: .run | {committed_per_s, latency_ms, refused, errors}}' "$work/energo_closed_$r.json"
  echo "   energo server CPU ms per committed order (warm-up and run, all three nodes): ${energo_cpu[$r]}"
  if [ "$last" = 1 ]; then
    echo "== energo: open loop, ${RATE}/s, ${OPEN_S} s"
    $LOAD run --endpoints "$energo_eps" --genesis "$dir/genesis.json" --seed bench --accounts "$ACCOUNTS" \
      --mode open --rate "$RATE" --concurrency "$OPEN_C" --duration-s "$OPEN_S" --verify --json \
      --timeline "$work/energo_open_timeline.csv" > "$work/energo_open.json"
    jq -c '.run | {committed_per_s, latency_ms, refused, errors, not_sent}' "$work/energo_open.json"
    jq -c '.verify' "$work/energo_open.json"
    # Where the tail comes from: the slowest 100 ms windows by send time, worst per node (n1 n2 n3).
    echo "   slowest 100 ms windows (start s, commands, p50, p99, max ms, max ms via n1 n2 n3):"
    # (sed reads its whole input: `head` would leave sort writing to a closed pipe - SIGPIPE, and
    # with pipefail the script would stop here)
    tail -n +2 "$work/energo_open_timeline.csv" | sort -t, -k5,5 -gr | sed -n '1,5s/^/     /p'
    energo_rss=""; energo_hwm=""
    for p in "${pids[@]}"; do energo_rss+="$(( $(rss_kb "$p") / 1024 )) "; energo_hwm+="$(( $(hwm_kb "$p") / 1024 )) "; done
  fi
  stop_all
  echo "   load average after energo: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- Rounds -------------------------------------------------------------------------------------
# Each round runs etcd's closed loop and then Energo's, each on a fresh cluster, so both systems
# see the same stretch of this machine's drift; the last round adds the open loops.
[ "$ONLY" = energo ] || etcd_version=$(etcd --version | sed -n 1p)
for r in $(seq 1 "$ROUNDS"); do
  last=0; [ "$r" != "$ROUNDS" ] || last=1
  round_tag=""; [ "$ROUNDS" = 1 ] || round_tag=" [round $r of $ROUNDS]"
  [ "$ONLY" = energo ] || etcd_round "$r" "$last"
  [ "$ONLY" = etcd ] || energo_round "$r" "$last"
done
[ -z "$ONLY" ] || exit 0

# ---- Table --------------------------------------------------------------------------------------
# Medians over the rounds (the middle value; ROUNDS=1: that round). CPU per op likewise.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
e_all=(); n_all=(); ratios=()
for r in $(seq 1 "$ROUNDS"); do
  e_all+=("$(jq '.run.committed_per_s' "$work/etcd_closed_$r.json")")
  n_all+=("$(jq '.run.committed_per_s' "$work/energo_closed_$r.json")")
  ratios+=("$(jq -n "${n_all[-1]} / ${e_all[-1]}")")
done
e_tp=$(median "${e_all[@]}"); n_tp=$(median "${n_all[@]}")
energo_cpu_ms=$(median "${energo_cpu[@]}"); etcd_cpu_ms=$(median "${etcd_cpu[@]}")
echo
echo "== Energo vs etcd, same machine, same client concurrency (C=$C), every write synced"
printf '%-34s %14s %14s\n' "" "energo" "etcd"
printf '%-34s %14.0f %14.0f\n' "closed loop committed/s$([ "$ROUNDS" = 1 ] || echo ' (median)')" "$n_tp" "$e_tp"
printf '%-34s %14.2f %14.2f\n' "closed loop p50 ms" "$(jq '.run.latency_ms.p50' "$work/energo_closed_$ROUNDS.json")" "$(jq '.run.latency_ms.p50' "$work/etcd_closed_$ROUNDS.json")"
printf '%-34s %14.2f %14.2f\n' "closed loop p99 ms" "$(jq '.run.latency_ms.p99' "$work/energo_closed_$ROUNDS.json")" "$(jq '.run.latency_ms.p99' "$work/etcd_closed_$ROUNDS.json")"
printf '%-34s %14.2f %14.2f\n' "open loop ${RATE}/s: p99 ms" "$(jq '.run.latency_ms.p99' "$work/energo_open.json")" "$(jq '.run.latency_ms.p99' "$work/etcd_open.json")"
printf '%-34s %14.0f %14.0f\n' "open loop ${RATE}/s: committed/s" "$(jq '.run.committed_per_s' "$work/energo_open.json")" "$(jq '.run.committed_per_s' "$work/etcd_open.json")"
printf '%-34s %14.3f %14.3f\n' "server CPU ms per committed op" "$energo_cpu_ms" "$etcd_cpu_ms"
printf '%-34s %14s %14s\n' "RSS MiB (per node / all members)" "${energo_rss% }" "$((etcd_rss / 1024))"
printf '%-34s %14s\n' "energo peak RSS MiB per node" "${energo_hwm% }"
if [ "$ROUNDS" = 1 ]; then
  printf '%-34s %14.2f\n' "ratio energo/etcd (closed loop)" "${ratios[0]}"
else
  printf '%-34s %14s %14s\n' "closed loop committed/s by round" "$(printf '%.0f ' "${n_all[@]}")" "$(printf '%.0f ' "${e_all[@]}")"
  printf '%-34s %14s\n' "ratio by round" "$(printf '%.2f ' "${ratios[@]}")"
  printf '%-34s %14.2f\n' "ratio energo/etcd (median round)" "$(median "${ratios[@]}")"
fi
echo "what: energo = signed place/cancel orders (secp256k1 verified at ingest, applied to the book);"
echo "      etcd = $etcd_version puts of 120-byte values; both via all three members"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
