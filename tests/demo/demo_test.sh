#!/usr/bin/env bash
# ctest `demo_community` (label demo): runs the README's demo (scripts/demo.sh --no-setup) for a
# short time on already-built binaries and checks its summary, independently of energo-demo's own
# verdict: three nodes agreed on one state root at one index, exited 0 on SIGTERM, and their stored
# ledgers are consistent (equal roots at equal indexes, no invariant problem); TSL total = 10^17 and
# WATT = minted − burned, recomputed here from the reported numbers; some trades and at least one
# closed epoch; with litecoind installed, a checkpoint anchored on a local regtest chain and
# verified by energoctl. Usage: demo_test.sh BUILD_DIR [seconds]
set -euo pipefail
build_dir="$1"
seconds="${2:-12}"
cd "$(dirname "$0")/../.."
out="$(mktemp -d -t energo-demo-test.XXXXXX)"
trap 'rm -rf "$out"' EXIT
summary="$out/summary.json"

status=0
bash scripts/demo.sh --no-setup --build-dir "$build_dir" --seconds "$seconds" --speedup 720 --start-hour 11 \
  --progress-s 4 --summary-json "$summary" > "$out/demo.log" 2>&1 || status=$?
cat "$out/demo.log"
fail() { echo "demo_test: FAILED: $*" >&2; exit 1; }
[ "$status" -eq 0 ] || fail "demo.sh exited $status"
[ -s "$summary" ] || fail "no summary written"

# The summary is nlohmann's dump(2): one "key": value per line for scalars.
num() { grep -E "^  \"$1\": " "$summary" | head -1 | sed -E 's/.*: (-?[0-9]+),?$/\1/'; }
flag() { grep -E "^  \"$1\": " "$summary" | head -1 | sed -E 's/.*: (true|false),?$/\1/'; }

[ "$(flag agreed)" = true ] || fail "the three nodes never reported one state root at one index"
grep -Eq '^  "agreed_state_root": "[0-9a-f]{64}"' "$summary" || fail "no agreed state root"
[ "$(num agreed_index)" -gt 0 ] || fail "agreed index is 0"
[ "$(grep -c '"exit_codes"' "$summary")" = 1 ] || fail "no exit codes"
for n in n1 n2 n3; do
  grep -Eq "^    \"$n\": 0,?$" "$summary" || fail "$n did not exit 0 after SIGTERM"
done
supply=100000000000000000
[ "$(num tsl_total_units)" = "$supply" ] || fail "stored TSL total $(num tsl_total_units) != 10^17"
[ "$(num live_tsl_total_units)" = "$supply" ] || fail "live TSL total $(num live_tsl_total_units) != 10^17"
minted=$(num minted_wh); burned=$(num burned_wh); watt=$(num watt_total_wh)
[ "$watt" -eq $((minted - burned)) ] || fail "WATT total $watt != minted $minted - burned $burned"
[ "$minted" -gt 0 ] || fail "nothing was minted"
[ "$(num trades)" -gt 0 ] || fail "no trades"
[ "$(num epochs_closed)" -ge 1 ] || fail "no epoch closed"
[ "$(num commands_unanswered)" = 0 ] || fail "commands without a definite answer"
[ "$(flag outcomes_reconcile)" = true ] || fail "minted/burned totals differ from the outcomes the demo received"
# Live progress shows the community's market as the nodes' queries answer it: trades, the last
# price of the newest epoch with trades, fees, grid flows (issue 9 §4).
grep -Eq '^         community: [0-9,]+ trades, [0-9,]+ Wh \| last price [0-9]+ units/Wh \(epoch [0-9]+: [0-9]+ trades' "$out/demo.log" ||
  fail "no progress line with the community's trades and last price"
# Every stored node: an invariant-problem list that is empty, and equal roots where indexes are equal.
nodes="$(tr -d ' \n' < "$summary" | grep -oE '"nodes":\[[^]]*(\[\][^]]*)*\]' || true)"
[ "$(grep -o '"name":"n[123]"' <<< "$nodes" | wc -l)" = 3 ] || fail "not three stored nodes: $nodes"
[ "$(grep -o '"invariant_problems":\[\]' <<< "$nodes" | wc -l)" = 3 ] || fail "a stored ledger has invariant problems"
pairs="$(grep -oE '"applied_index":[0-9]+,"state_root":"[0-9a-f]{64}"' <<< "$nodes" | sort -u)"
dups="$(cut -d, -f1 <<< "$pairs" | uniq -d)"
[ -z "$dups" ] || fail "two nodes differ at one index: $pairs"
# Checkpoints: when litecoind is installed the demo anchors to a local regtest chain and verifies
# the latest anchor with energoctl at the end; without it, it says it skipped them.
anchors=""
if [ "$(flag qtum)" = true ]; then
  [ "$(num anchors_confirmed)" -ge 1 ] || fail "no checkpoint anchored and confirmed on the regtest chain"
  [ "$(flag checkpoint_verified)" = true ] || fail "energoctl checkpoint verify did not PASS"
  grep -q "^   PASS$" "$out/demo.log" || fail "no PASS line from energoctl checkpoint verify in the demo's output"
  anchors=", $(num anchors_confirmed) anchors, index $(num checkpoint_verified_index) verified"
else
  grep -q "checkpoints: skipped, litecoind is not installed" "$out/demo.log" || fail "no checkpoints and no message saying why"
  anchors=", checkpoints skipped (no litecoind)"
fi
echo "demo_test: ok (index $(num agreed_index), $(num trades) trades, $(num epochs_closed) epochs$anchors)"
