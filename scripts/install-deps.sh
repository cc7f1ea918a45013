#!/usr/bin/env bash
# Installs the Debian 12 packages Energo builds against. Idempotent: does nothing when all are present.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
  libcaf-dev librocksdb-dev libsodium-dev libsecp256k1-dev libcapnp-dev capnproto libssl-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev libcpp-httplib-dev nlohmann-json3-dev
  litecoind  # a real Bitcoin-Core-lineage node for the Qtum anchoring tests (tests/qtum, DEPENDENCIES.md)
  iproute2   # `ip netns` for tests/cluster_faults (without it, or without root, the harness runs on loopback)
  chromium   # headless browser for the dashboard test (tests/node/http_test.cpp; skipped when absent)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}"
