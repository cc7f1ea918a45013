#!/usr/bin/env bash
# The README's main job: installs what it needs, builds, and runs the local demo community.
#
#   bash scripts/demo.sh [--no-setup] [--build-dir DIR] [energo-demo options]
#
# Step 1 replays the sample community in examples/ through energo-replay: one day of a
# six-household microgrid (examples/README.md), every signature verified and every ledger
# invariant checked after every command.
# Step 2 runs energo-demo (tools/README.md, docs/operations.md "The demo community"): three
# energo-node processes on 127.0.0.1 with fresh data directories in a temporary directory, simulated
# smart meters, automatic agents, manual orders and an EV charging session — all signed commands
# over the client port — with ledger time running faster than wall time (clock.speedup). It prints
# progress every few seconds, runs --minutes (default 3) or until Ctrl-C, stops the nodes cleanly
# and prints a summary: the three nodes' state root at one index and the ledger invariants.
# When litecoind is installed, the nodes also anchor their state roots to a local litecoind -regtest
# that energo-demo starts (the stand-in for a Qtum node), and the summary ends with
# `energoctl checkpoint verify` on the latest anchor; without litecoind that step is skipped, saying so.
#
# --no-setup skips installing and building (the binaries must exist, e.g. for the ctest `demo`).
# Every other argument goes to energo-demo (`--seconds 20`, `--speedup 720`, `--keep`, `--help`, …).
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
build_dir=build/release
demo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-setup) setup=0 ;;
    --build-dir) build_dir="$2"; shift ;;
    *) demo_args+=("$1") ;;
  esac
  shift
done

if [ "$setup" = 1 ]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh release energo-replay energo-node energoctl energo-demo
fi
for bin in tools/energo-replay node/energo-node tools/energo-demo; do
  if [ ! -x "$build_dir/$bin" ]; then
    echo "demo.sh: $build_dir/$bin is missing (run without --no-setup, or build it)" >&2
    exit 2
  fi
done

example=examples/community
results="$(mktemp -t energo-demo-results.XXXXXX)"
trap 'rm -f "$results"' EXIT

echo
echo "== Step 1: replaying the sample community '$example' =="
echo "   $(grep -c . "$example/commands.jsonl") signed commands: meter readings every 15 minutes for 6 households,"
echo "   ticks, storage reports, transfers and an education grant (see examples/README.md)"
status=0
state="$("$build_dir/tools/energo-replay" --genesis "$example/genesis.json" \
  --commands "$example/commands.jsonl" --check-invariants --summary-only --compact --results-out "$results")" || status=$?
if [ "$status" -ne 0 ]; then
  echo "energo-replay failed with exit code $status (see docs/commands.md, 'Exit codes')" >&2
  exit "$status"
fi
total=$(grep -c . "$results" || true)
refused=$(grep -c '"ok":false' "$results" || true)
echo "   $total commands, $((total - refused)) applied, $refused refused (part of the record); final state:"
echo "   $state" | cut -c1-400
echo

echo "== Step 2: a live community of three energo-node processes (energo-demo) =="
rm -f "$results"
# exec: Ctrl-C goes to energo-demo, which shuts the nodes down cleanly and prints the summary.
exec "$build_dir/tools/energo-demo" --node-bin "$build_dir/node/energo-node" "${demo_args[@]}"
