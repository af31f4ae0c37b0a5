#!/usr/bin/env bash
# Installs the Debian 12 packages Chorus needs. Usage: scripts/deps.sh build|test|bench
# "build": what chorusd needs to compile and run. "test": that plus the real
# clients and tools the test suite drives. "bench": load tools.
set -euo pipefail
build_pkgs="build-essential cmake pkg-config libre-dev libssl-dev libjansson-dev
  libsqlite3-dev libcurl4-openssl-dev libopus-dev libspeexdsp-dev libspandsp-dev
  libcmocka-dev libsndfile1-dev libmpg123-dev espeak-ng libpocketsphinx-dev
  pocketsphinx-en-us"
test_pkgs="$build_pkgs python3 python3-websocket curl clang libclang-rt-14-dev
  baresip-core sox libsox-fmt-base libsox-fmt-mp3 e2fsprogs mount pocketsphinx
  pocketsphinx-testdata prometheus"
bench_pkgs="$build_pkgs wrk curl python3 python3-websocket"
case "${1:-build}" in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
bench) want=$bench_pkgs ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${1:-build} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
