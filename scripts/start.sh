#!/usr/bin/env bash
# First command of the README: installs build packages, builds chorusd and
# starts it on its embedded defaults (SQLite in ./data, API on 127.0.0.1:8080,
# SIP on 127.0.0.1:5060). chorusd prints the API URL and a token on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
echo "start: building chorusd (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target chorusd >/dev/null
echo "start: starting build/chorusd serve $*"
exec build/chorusd serve "$@"
