#!/usr/bin/env bash
# ctest `systemd_unit` (label ops): contrib/systemd/energo-node.service and node.toml.example.
#  - `systemd-analyze verify` accepts the unit (its binary paths pointed at the build, since verify
#    checks that they exist); skipped with exit 77 when systemd-analyze is not installed;
#  - `systemd-analyze security --offline` rates its exposure at most 2.0 (hardening in place);
#  - the restart policy matches docs/node.md's exit codes: no restart for the operator's codes
#    2 3 4 6 7, restart for 1 and 5; a dedicated user; --config; SIGHUP as reload;
#  - the example config passes `energo-node check-config` with no unknown-key warning.
# Usage: systemd_unit_test.sh BUILD_DIR
set -euo pipefail
build_dir="$1"
cd "$(dirname "$0")/../.."
unit=contrib/systemd/energo-node.service
node="$build_dir/node/energo-node"
fail() { echo "systemd_unit_test: FAILED: $*" >&2; exit 1; }
tmp="$(mktemp -d -t energo-unit-test.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

value() { grep -E "^$1=" "$unit" | head -1 | cut -d= -f2-; }
[ "$(value User)" = energo ] || fail "User=energo missing"
[ "$(value Restart)" = on-failure ] || fail "Restart=on-failure missing"
grep -Eq '^ExecStart=/usr/local/bin/energo-node start --config /etc/energo/node.toml$' "$unit" || fail "ExecStart with --config"
grep -Eq '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" || fail "ExecReload must send SIGHUP (log level reload)"
prevent=" $(value RestartPreventExitStatus) "
for code in 2 3 4 6 7; do [[ "$prevent" == *" $code "* ]] || fail "exit $code needs an operator: not in RestartPreventExitStatus"; done
for code in 1 5; do [[ "$prevent" != *" $code "* ]] && continue; fail "exit $code should be restarted"; done
for opt in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes MemoryDenyWriteExecute=yes; do
  grep -qx "$opt" "$unit" || fail "$opt missing"
done

# The example configuration: every key known, valid (bootstrap and data dir pointed at the temp dir).
sed -e "s#/var/lib/energo/data#$tmp/data#" -e '/^bootstrap = /d' contrib/systemd/node.toml.example > "$tmp/node.toml"
out="$("$node" check-config --config "$tmp/node.toml" 2>&1)" || fail "check-config refused the example: $out"
[[ "$out" != *warning* ]] || fail "the example has unknown keys: $out"

if ! command -v systemd-analyze > /dev/null; then
  echo "systemd_unit_test: systemd-analyze not installed: verify and security checks skipped"
  exit 77
fi
sed "s#/usr/local/bin/energo-node#$(realpath "$node")#g" "$unit" > "$tmp/energo-node.service"
verify="$(systemd-analyze verify "$tmp/energo-node.service" 2>&1)" || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify complains: $verify"
security="$(systemd-analyze security --offline=yes "$tmp/energo-node.service" 2>&1)" || fail "systemd-analyze security: $security"
exposure="$(grep -oE 'Overall exposure level for energo-node.service: [0-9]+\.[0-9]+' <<< "$security" | awk '{print $NF}')"
[ -n "$exposure" ] || fail "no exposure level in: $(tail -3 <<< "$security")"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure above 2.0"
echo "systemd_unit_test: ok (verify clean, exposure $exposure)"
