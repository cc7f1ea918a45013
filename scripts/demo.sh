#!/usr/bin/env bash
# The README's main job: installs what it needs, builds, and runs the local demo community.
# Step 1 replays the sample community in examples/ through energo-replay: one day of a
# six-household microgrid (examples/README.md), every signature verified and every ledger
# invariant checked after every command. Extra arguments go to energo-replay.
# Step 2 starts a local 3-node community on 127.0.0.1 (energo-node, docs/node.md), submits the
# community's setup commands through a follower with energoctl, prints every node's status (same
# applied index and state root) and stops the nodes with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release energo-replay energo-node energoctl

example=examples/community
results="$(mktemp -t energo-demo-results.XXXXXX)"
trap 'rm -f "$results"' EXIT

echo
echo "== Energo demo: replaying the sample community '$example' =="
echo "   $(grep -c . "$example/commands.jsonl") signed commands: meter readings every 15 minutes for 6 households,"
echo "   ticks, storage reports, transfers and an education grant (see examples/README.md)"
echo

status=0
state="$(./build/release/tools/energo-replay --genesis "$example/genesis.json" \
  --commands "$example/commands.jsonl" --check-invariants --results-out "$results" "$@")" || status=$?
if [ "$status" -ne 0 ]; then
  echo "energo-replay failed with exit code $status (see docs/commands.md, 'Exit codes')" >&2
  exit "$status"
fi

total=$(grep -c . "$results" || true)
refused=$(grep -c '"ok":false' "$results" || true)
echo "== Per-command results: $total commands, $((total - refused)) applied, $refused refused =="
echo "-- first results:"
head -n 3 "$results"
echo "-- refused commands (part of the record; the ledger changed nothing for them):"
grep '"ok":false' "$results" || echo "   (none)"
echo
echo "== Final state (the state root is what a checkpoint on Qtum anchors) =="
echo "$state"

echo
echo "== Step 2: a local 3-node community on 127.0.0.1 (energo-node + energoctl) =="
B=./build/release/node
demo_dir="$(mktemp -d -t energo-demo-nodes.XXXXXX)"
pids=()
cleanup_nodes() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  rm -rf "$demo_dir" "$results"
}
trap cleanup_nodes EXIT
base_port=$((20000 + RANDOM % 20000))
{
  echo "genesis = \"$(pwd)/$example/genesis.json\""
  for i in 1 2 3; do
    key=$($B/energo-node init --data "$demo_dir/n$i" --json | sed -E 's/.*"public_key":"([0-9a-f]+)".*/\1/')
    printf '[[member]]\nname = "n%d"\npublic_key = "%s"\npeer = "127.0.0.1:%d"\nclient = "127.0.0.1:%d"\n' \
      "$i" "$key" $((base_port + i)) $((base_port + 100 + i))
  done
} > "$demo_dir/bootstrap.toml"
for i in 1 2 3; do
  # --no-clock: the sample's readings carry 2024 timestamps; a live clock would move ledger time to today.
  $B/energo-node start --data "$demo_dir/n$i" --name "n$i" --bootstrap "$demo_dir/bootstrap.toml" --no-clock \
    --peer-listen 127.0.0.1:$((base_port + i)) --client-listen 127.0.0.1:$((base_port + 100 + i)) \
    2> "$demo_dir/n$i.log" &
  pids+=($!)
done
endpoints="127.0.0.1:$((base_port + 101)),127.0.0.1:$((base_port + 102)),127.0.0.1:$((base_port + 103))"
for _ in $(seq 1 100); do
  $B/energoctl --endpoints "$endpoints" --timeout-ms 500 --json status 2>/dev/null | grep -q '"leader":[1-9]' && break
  sleep 0.1
done
# The setup and the first quarter hour of the day: every command before the second tick, ticks
# left out (clients may not submit them; the leader's clock proposes them).
awk '/"type":"tick"/ { n++; if (n == 2) exit; next } { print }' "$example/commands.jsonl" > "$demo_dir/setup.jsonl"
echo "-- submitting $(grep -c . "$demo_dir/setup.jsonl") signed commands through node n3 (a follower forwards to the leader):"
submit_status=0
$B/energoctl --endpoints "127.0.0.1:$((base_port + 103))" --json submit --file "$demo_dir/setup.jsonl" || submit_status=$?
echo "   (energoctl exit $submit_status: 0 all applied, 11 some refused by the ledger — see docs/node.md)"
sleep 0.5
echo "-- status of every node (same applied index and state root):"
for i in 1 2 3; do $B/energoctl --endpoints "127.0.0.1:$((base_port + 100 + i))" status; echo; done
echo "-- stopping the nodes (SIGTERM: leadership transfer, drain, exit 0)"
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || { echo "a node exited with $?" >&2; exit 1; }; done
pids=()
echo "== demo done =="
