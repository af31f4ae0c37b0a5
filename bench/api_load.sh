#!/usr/bin/env bash
# api_load.sh: HTTP load benchmark of the REST API of a built chorusd.
#
# Builds nothing. Starts CHORUSD (first argument, or $CHORUSD, default
# build/chorusd) on a temporary data dir and a free port, pinned to one
# core with taskset, creates one conference, and runs wrk with keep-alive
# for DURATION seconds (default 10) per scenario:
#   1. GET  /v1.0/conferences/{id}   1 thread,  16 connections
#   2. GET  /v1.0/conferences/{id}   2 threads, 16 connections
#   3. POST /v1.0/conferences        2 threads, 16 connections
#      (bench/post_conference.lua sets method, body and headers; each
#      conference has a 3600 s timeout, as users set one)
#   4. GET  /v1.0/conferences/{id}   1 thread, 16 connections, again, now
#      with every conference of step 3 live
# For each it prints requests/s, latency (avg, p50, p99, max), errors, and
# chorusd's CPU time from /proc/PID/stat (all its threads), hence requests
# per CPU-second; at the end, the CPU time of each chorusd thread.
# wrk runs on the other cores when there are any. Needs wrk (Debian
# package; installed with apt-get when missing), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

chorusd=${1:-${CHORUSD:-build/chorusd}}
duration=${DURATION:-10}
conns=16
[ -x "$chorusd" ] || { echo "api_load: no executable $chorusd (build it first)" >&2; exit 2; }
if ! command -v wrk >/dev/null; then
	echo "api_load: installing wrk (apt-get)"
	apt-get install -y --no-install-recommends wrk >/dev/null
fi

ncpu=$(nproc)
srv_cpu=0
wrk_cpus=0
[ "$ncpu" -ge 2 ] && wrk_cpus="1-$((ncpu - 1))"
tck=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/chorus-bench-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

taskset -c "$srv_cpu" "$chorusd" serve --data-dir "$work/data" \
	--http 127.0.0.1:0 --sip 127.0.0.1:0 --log-level warn \
	>"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do
	grep -q '^  Token:' "$work/out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
	sleep 0.05
done
api=$(awk '/^  API:/ {print $2}' "$work/out")
token=$(awk '/^  Token:/ {print $2}' "$work/out")
[ -n "$api" ] && [ -n "$token" ] || { echo "api_load: chorusd did not start" >&2; cat "$work/err" >&2; exit 1; }
export CHORUS_TOKEN=$token

conf=$(curl -sf -H "Authorization: Bearer $token" \
	-d '{"type":"conference","name":"bench"}' "$api/conferences" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# utime + stime of chorusd, in clock ticks (fields 14 and 15; the name in
# field 2 has no spaces).
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$pid/stat"
}

# run NAME THREADS URL [wrk args...]
run() {
	local name=$1 threads=$2 url=$3
	shift 3
	local t0 t1 out
	t0=$(cpu_ticks)
	out=$(taskset -c "$wrk_cpus" wrk -t"$threads" -c"$conns" -d"${duration}s" \
		--latency -H "Authorization: Bearer $token" "$@" "$url")
	t1=$(cpu_ticks)
	echo "$out" >"$work/wrk-$name.txt"
	python3 - "$name" "$threads" "$((t1 - t0))" "$tck" "$work/wrk-$name.txt" <<'PY'
import re, sys
name, threads, ticks, tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
text = open(sys.argv[5]).read()
def grab(pattern, default="?"):
    m = re.search(pattern, text, re.M)
    return m.group(1) if m else default
total = int(grab(r"^\s*(\d+) requests in", "0"))
rps = float(grab(r"^Requests/sec:\s*([\d.]+)", "0"))
lat = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
p50 = grab(r"^\s*50%\s+(\S+)")
p99 = grab(r"^\s*99%\s+(\S+)")
errors = grab(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", "0")
sock = grab(r"^\s*Socket errors:\s*(.*)$", "none")
cpu = ticks / tck
per_cpu = total / cpu if cpu > 0 else float("nan")
print(f"{name:<10} t={threads} c=16  {rps:>9.0f} req/s   latency avg {lat.group(1) if lat else '?'}"
      f" p50 {p50} p99 {p99} max {lat.group(3) if lat else '?'}")
print(f"{'':<10} {total} requests, non-2xx {errors}, socket errors {sock}; "
      f"chorusd CPU {cpu:.2f} s -> {per_cpu:,.0f} requests per CPU-second")
PY
}

echo "api_load: $chorusd on $api (pid $pid, core $srv_cpu), wrk on cores $wrk_cpus, ${duration}s each"
run get-t1 1 "$api/conferences/$conf"
run get-t2 2 "$api/conferences/$conf"
run post-t2 2 "$api/conferences" -s bench/post_conference.lua
run get-after 1 "$api/conferences/$conf"
echo "api_load: chorusd max RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status");" \
	"CPU seconds per thread (all threads share core $srv_cpu):"
for t in /proc/"$pid"/task/*; do
	awk -v tck="$tck" -v name="$(cat "$t/comm")" \
		'{printf "  %-16s %6.2f s\n", name, ($14 + $15) / tck}' "$t/stat"
done
