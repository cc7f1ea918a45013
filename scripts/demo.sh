#!/usr/bin/env bash
# The README's main job: installs what it needs, builds, and runs the local demo community.
# Until the node runtime exists this replays the sample community in examples/ through energo-replay:
# one day of a six-household microgrid (examples/README.md), every signature verified and every
# ledger invariant checked after every command. Extra arguments go to energo-replay.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release energo-replay

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
