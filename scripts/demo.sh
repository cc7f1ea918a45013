#!/usr/bin/env bash
# The README's main job: installs what it needs, builds, and runs the local demo community.
# Until the node runtime exists this replays the sample community in examples/ through energo-replay.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release energo-replay
./build/release/tools/energo-replay --genesis examples/community/genesis.json \
  --commands examples/community/commands.jsonl --results "$@"
