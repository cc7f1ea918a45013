#!/usr/bin/env bash
# Snapshot transfer to a new learner over real sockets (issue 8 §6: "a 100 MB ledger snapshot
# reaches a new learner in seconds on loopback"). In one run:
#   1. `energo-load image`: a snapshot file of the example community's ledger plus ACCOUNTS new
#      accounts (one 1-unit transfer each from the coop, applied through the real ledger API);
#      ~127 image bytes per account, so the default 790,000 accounts make a ~100 MB node image;
#   2. `energo-node restore` of that file into three fresh voters, which start on 127.0.0.1 (every
#      write synced, Noise peer links): their Raft log starts compacted at the image's index, so a
#      new member can only catch up through the snapshot;
#   3. a 4th node starts with --join and `energoctl member add n4 … --learner` adds it; the clock
#      runs from that command until the learner's applied index and state root equal the leader's
#      (`energoctl status --json` on both, every 0.1 s).
# Prints the image size, the seconds, MB/s, the learner's and the leader's RSS, the phases read
# from the learner's log, the machine and its load average before and after. Not part of CI.
#
# Environment: ACCOUNTS (790000), SNAPSHOT_EVERY (1000: entries between snapshots; the restored log
# is compacted already), TIMEOUT_S (300: give up), KEEP=1 keeps the temp dir (logs, image),
# B (build dir, build/release), BUILD=0 (use B as it is), PERF=1 records the leader and the learner
# with `perf record -g` during the transfer (perf-leader.data, perf-learner.data; implies KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
ACCOUNTS="${ACCOUNTS:-790000}"
SNAPSHOT_EVERY="${SNAPSHOT_EVERY:-1000}"
TIMEOUT_S="${TIMEOUT_S:-300}"
B="${B:-build/release}"
[ "${PERF:-0}" = 1 ] && KEEP=1
command -v jq >/dev/null || { echo "needs jq" >&2; exit 2; }
[ "${BUILD:-1}" = 0 ] || bash scripts/build.sh release energo-node energoctl energo-load >/dev/null
source bench/lib.sh
CTL=$B/node/energoctl
GENESIS=$PWD/examples/community/genesis.json
ADMIN=$PWD/examples/community/keys/admin.json

work="$(mktemp -d -t energo-snapshot.XXXXXX)"
cleanup() { stop_all; if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
load_before=$(loadavg)
echo "== machine: $(machine), load average before: $load_before"

echo "== image: example community + $ACCOUNTS accounts"
$B/tools/energo-load image --genesis "$GENESIS" --from-key examples/community/keys/account-coop.json \
  --accounts "$ACCOUNTS" --index 1000 --out "$work/snapshot.bin" > "$work/image.json"
image_bytes=$(jq '.image_bytes' "$work/image.json")
jq -c . "$work/image.json"

energo_bootstrap "$work" "$GENESIS" 3
for i in 1 2 3; do $B/node/energo-node restore --snapshot "$work/snapshot.bin" --data "$work/n$i" --bootstrap "$work/bootstrap.toml" --json >/dev/null 2>>"$work/restore.log"; done
for i in 1 2 3; do energo_start "$work" "$i" --snapshot-every "$SNAPSHOT_EVERY"; done
eps="127.0.0.1:${ncl[1]},127.0.0.1:${ncl[2]},127.0.0.1:${ncl[3]}"
energo_wait_leader "$eps" 300 || { echo "no leader" >&2; exit 1; }
leader_id=$($CTL --endpoints "$eps" --json status | jq '.leader')
leader_pid=""; leader_ep=""
for i in 1 2 3; do
  id=$($CTL --endpoints "127.0.0.1:${ncl[$i]}" --json status | jq '.node_id')
  if [ "$id" = "$leader_id" ]; then leader_pid=${pids[$((i - 1))]}; leader_ep="127.0.0.1:${ncl[$i]}"; fi
done
echo "   3 voters restored and started; leader $leader_ep, its status: $($CTL --endpoints "$leader_ep" --json status | jq -c '{applied_index, snapshot_index, state_root}')"

# ---- The learner ----------------------------------------------------------------------------------
energo_init_node 4 "$work/n4"
energo_start "$work" 4 --join "$leader_ep" --snapshot-every "$SNAPSHOT_EVERY"
learner_pid=${pids[3]}
learner_ep="127.0.0.1:${ncl[4]}"
for _ in $(seq 1 100); do $CTL --endpoints "$learner_ep" --timeout-ms 500 --json status >/dev/null 2>&1 && break; sleep 0.1; done
perf_pids=()
if [ "${PERF:-0}" = 1 ]; then
  perf record -g -o "$work/perf-leader.data" -p "$leader_pid" 2>/dev/null & perf_pids+=($!)
  perf record -g -o "$work/perf-learner.data" -p "$learner_pid" 2>/dev/null & perf_pids+=($!)
  sleep 0.5
fi
t0=$(now_s)
$CTL --endpoints "$eps" member add n4 --key "${nkey[4]}" --peer "127.0.0.1:${npe[4]}" --client "$learner_ep" --learner \
  --admin-key "$ADMIN" > /dev/null
caught_up=0
while [ "$(jq -n "$(now_s) - $t0 < $TIMEOUT_S")" = true ]; do
  l=$($CTL --endpoints "$learner_ep" --timeout-ms 2000 --json status 2>/dev/null || echo '{}')
  if [ "$(jq -r '.applied_index // 0' <<<"$l")" -gt 1000 ]; then
    ld=$($CTL --endpoints "$leader_ep" --timeout-ms 2000 --json status 2>/dev/null || echo '{}')
    if [ "$(jq -r '.applied_index' <<<"$l")" = "$(jq -r '.applied_index' <<<"$ld")" ] &&
       [ "$(jq -r '.state_root' <<<"$l")" = "$(jq -r '.state_root' <<<"$ld")" ]; then
      caught_up=1; break
    fi
  fi
  sleep 0.1
done
t1=$(now_s)
# perf stops here: the shutdown's durable point (a 100 MB image write) is not the transfer.
for p in "${perf_pids[@]:-}"; do [ -n "$p" ] && kill -INT "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
learner_rss=$(( $(rss_kb "$learner_pid") / 1024 )); learner_hwm=$(( $(hwm_kb "$learner_pid") / 1024 ))
leader_rss=$(( $(rss_kb "$leader_pid") / 1024 )); leader_hwm=$(( $(hwm_kb "$leader_pid") / 1024 ))
load_after=$(loadavg)
[ "$caught_up" = 1 ] || { echo "the learner did not catch up within ${TIMEOUT_S} s" >&2; KEEP=1; exit 1; }

seconds=$(jq -n "$t1 - $t0")
echo
echo "== snapshot transfer to a new learner, 127.0.0.1, Noise peer links, synced writes"
printf '%-38s %s\n' "node image" "$image_bytes bytes ($(jq -n "$image_bytes / 1e6 | . * 10 | round / 10") MB), $(jq '.accounts' "$work/image.json") accounts"
printf '%-38s %.2f s\n' "member add -> learner at leader's root" "$seconds"
printf '%-38s %.1f MB/s\n' "throughput" "$(jq -n "$image_bytes / 1e6 / $seconds")"
printf '%-38s %s MiB (peak %s)\n' "learner RSS" "$learner_rss" "$learner_hwm"
printf '%-38s %s MiB (peak %s)\n' "leader RSS" "$leader_rss" "$leader_hwm"
printf '%-38s %s\n' "learner status" "$($CTL --endpoints "$learner_ep" --json status | jq -c '{applied_index, snapshot_index, state_root}')"
echo "learner log (phases):"
grep -E "raft: receiving snapshot|raft: installing snapshot|installed snapshot|apply: durable" "$work/n4.log" | cut -c1-230 | head -8 | sed 's/^/  /'
echo "machine: $(machine); load average before: $load_before, after: $load_after"
