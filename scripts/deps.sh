#!/usr/bin/env bash
# Installs the Debian 12 packages Chorus needs. Usage: scripts/deps.sh build|test|bench
# "build": what chorusd needs to compile and run. "test": that plus the real
# clients and tools the test suite drives. "bench": load tools.
set -euo pipefail
build_pkgs="build-essential cmake pkg-config libre-dev libssl-dev zlib1g-dev libjansson-dev
  libsqlite3-dev libcurl4-openssl-dev libopus-dev libspeexdsp-dev libspandsp-dev
  libcmocka-dev libsndfile1-dev libmpg123-dev espeak-ng libpocketsphinx-dev
  pocketsphinx-en-us
  libpq-dev libnats-dev"
test_pkgs="$build_pkgs python3 python3-websocket curl clang libclang-rt-14-dev
  baresip-core sox libsox-fmt-base libsox-fmt-mp3 e2fsprogs mount pocketsphinx
  pocketsphinx-testdata nodejs prometheus tmux chromium
  postgresql kamailio kamailio-utils-modules nats-server"
# npm packages the tests drive (test only), installed into $CHORUS_NPM_TOOLS
# (default ~/.cache/chorus-test-npm; tests/e2e/test_openapi.py looks there):
# the OpenAPI 3.1 validator of src/api/openapi.json, and playwright-core
# (tests/e2e/test_console.py drives Debian's chromium with it).
# 10.1.1 validates OpenAPI 3.1 and runs on Debian 12's Node.js 18 (13.x
# needs Node.js 22: on 18 it cannot load its own ES modules).
npm_test_pkgs="@apidevtools/swagger-parser@10.1.1 playwright-core@1.48.2"
bench_pkgs="$build_pkgs wrk curl python3 python3-websocket janus"
case "${1:-build}" in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
bench) want=$bench_pkgs ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
# The test's npm tools, when the mode is test (after the Debian packages,
# which bring node and npm).
npm_tools() {
  [ "${1:-build}" = test ] || return 0
  local dir=${CHORUS_NPM_TOOLS:-$HOME/.cache/chorus-test-npm} p ok=1
  # each at the pinned version (an older cache is replaced)
  for p in $npm_test_pkgs; do
    grep -qs "\"version\": \"${p##*@}\"" \
      "$dir/node_modules/${p%@*}/package.json" || ok=0
  done
  [ $ok -eq 1 ] && return 0
  echo "deps: npm install $npm_test_pkgs into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent $npm_test_pkgs
}
missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Debian's nodejs has npm in a package of its own; other builds of nodejs
# carry npm (and conflict with Debian's)
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null; then
  missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${1:-build} packages present"
  npm_tools "${1:-build}"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests run their own Kamailio, nats-server and PostgreSQL on private
# addresses and folders; the system services these packages start on a
# systemd machine would hold SIP port 5060 (scripts/start.sh's default)
# and run for nothing: the ones installed just now are stopped and disabled.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  for svc in kamailio nats-server postgresql; do
    pkg=$svc
    [[ " ${missing[*]} " == *" $pkg "* ]] || continue
    echo "deps: stopping and disabling the $svc service the package started (the tests run their own)"
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi
npm_tools "${1:-build}"
echo "deps: done"
