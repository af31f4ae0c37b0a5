#!/usr/bin/env bash
# Second command of the README: installs test packages, then builds and runs
# every test: unit + end-to-end on a normal build, the same again on an
# AddressSanitizer+UndefinedBehaviorSanitizer build, and each fuzz target for
# a bounded time. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
fuzz_seconds=${CHORUS_FUZZ_SECONDS:-25}

echo "test: [1/3] normal build, unit + end-to-end tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure --no-tests=error -j"$jobs")

echo "test: [2/3] ASan+UBSan build, unit + end-to-end tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHORUS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --no-tests=error -j"$jobs")

echo "test: [3/3] fuzz targets, ${fuzz_seconds}s each"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCHORUS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
# every tests/fuzz/fuzz_*.c must have built: a missing target fails the run
targets=(tests/fuzz/fuzz_*.c)
[ -e "${targets[0]}" ] || { echo "test: no fuzz targets in tests/fuzz"; exit 1; }
# one target per core at a time (libFuzzer runs on one thread)
fuzz_one() { # name
  local name=$1 f="build-fuzz/tests/$1" corpus="tests/fuzz/corpus/${1#fuzz_}"
  mkdir -p "build-fuzz/corpus-$name"
  "$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=0 \
    "build-fuzz/corpus-$name" $( [ -d "$corpus" ] && echo "$corpus" ) 2>"build-fuzz/$name.log" \
    || { tail -50 "build-fuzz/$name.log"; echo "test: $name found a crash"; return 1; }
}
pids=()
fuzz_failed=0
for src in "${targets[@]}"; do
  name=$(basename "$src" .c)
  [ -x "build-fuzz/tests/$name" ] || { echo "test: fuzz target $name did not build (build-fuzz/tests/$name missing)"; exit 1; }
  echo "test: fuzzing $name"
  fuzz_one "$name" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || fuzz_failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fuzz_failed=1; done
[ "$fuzz_failed" = 0 ] || { echo "test: a fuzz target found a crash (see above)"; exit 1; }
echo "test: all suites passed"
