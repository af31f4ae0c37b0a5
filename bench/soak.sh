#!/usr/bin/env bash
# soak.sh: a soak run of chorusd: participants joining and leaving in
# churn for N minutes, with REST and WebSocket load beside it, and
# chorusd's memory and descriptors sampled all along.
#
# Starts chorusd on 127.0.0.1 (bench/chorusd_start.sh: HTTP and SIP on
# port 0, a random RTP range of 2000 ports) with a temporary data folder, creates the stable
# conferences, then runs side by side until the end:
#   - bench_soak_churn: P SIP participants (real SIP + PCMU RTP), each
#     staying a random 5-60 s, then BYE and a new call, over the stable
#     rooms plus transient ones it deletes (with participants in them) and
#     re-creates every 30 s; it samples chorusd (VmRSS, VmHWM, fds, threads,
#     CPU, data folder size) after the warm-up, every minute and at the end,
#     then hangs up, samples "idle" and checks no participant is left;
#   - wrk: a paced mix (bench/soak_api.lua) of GET /conferences,
#     GET /conferences/{id}, GET /conferencecalls?conference_id=,
#     GET /calls, and POST + DELETE of conferences;
#   - bench/soak_ws.py: one WebSocket subscriber counting events.
# It prints the table, the call figures, the API and WebSocket lines and
# the verdict line last. Everything goes to 127.0.0.1 only; every loop is
# bounded in time; the trap stops what it started.
#
# Exit status: 0 when no call failed, no participant was left and the
# descriptor count did not grow; 1 otherwise; 2 on a usage error.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: bench/soak.sh [--minutes N] [--warmup S] [--participants P]
                     [--rooms R] [--transient T] [--api-rate Q]
                     [--sample S] [--build DIR] [--keep] [--help]
  --minutes N       measured minutes after the warm-up (default 30)
  --warmup S        seconds of churn before the first sample (default 60)
  --participants P  participants at any time (default 100)
  --rooms R         conferences in use at any time (default 10), of which
  --transient T     are deleted and re-created in turn (default 2; one
                    room change every 30 s)
  --api-rate Q      REST requests per second, about (default 100)
  --sample S        seconds between samples (default 60)
  --build DIR       where chorusd and bench/bench_soak_churn are
                    (default build)
  --keep            keep the data folder and chorusd's log
Needs wrk (scripts/deps.sh bench), curl and python3 with python3-websocket.
Total time: warm-up + minutes + about 15 s.
EOF
}

root=$(cd "$(dirname "$0")/.." && pwd)
minutes=30 warmup=60 parts=100 rooms=10 transient=2 rate=100 sample=60
build=$root/build keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--participants) parts=$2; shift ;;
	--rooms) rooms=$2; shift ;;
	--transient) transient=$2; shift ;;
	--api-rate) rate=$2; shift ;;
	--sample) sample=$2; shift ;;
	--build) build=$2; shift ;;
	--keep) keep=1 ;;
	--help | -h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift || { usage >&2; exit 2; }
done
for n in "$minutes" "$warmup" "$parts" "$rooms" "$transient" "$rate" "$sample"; do
	case $n in '' | *[!0-9]*) usage >&2; exit 2 ;; esac
done
if [ "$minutes" -lt 1 ] || [ "$rate" -lt 1 ] || [ "$transient" -ge "$rooms" ]; then
	echo "soak.sh: --minutes and --api-rate must be >= 1, --transient < --rooms" >&2
	exit 2
fi
chorusd=$build/chorusd
churn=$build/bench/bench_soak_churn
for p in "$chorusd" "$churn"; do
	[ -x "$p" ] || { echo "soak.sh: $p not found (build first)" >&2; exit 2; }
done
for t in wrk curl python3; do
	command -v $t >/dev/null || { echo "soak.sh: needs $t (scripts/deps.sh bench)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/chorus-soak.XXXXXX)
pid='' churn_pid='' wrk_pid='' ws_pid=''
# shellcheck source=bench/chorusd_start.sh
. "$root/bench/chorusd_start.sh"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for p in $churn_pid $wrk_pid $ws_pid; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $churn_pid $wrk_pid $ws_pid; do
		wait "$p" 2>/dev/null
	done
	chorusd_stop "$tmp" "$keep"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

chorusd_start "$tmp" || exit 1
case $api in http://127.0.0.1:*) ;; *)
	echo "soak.sh: chorusd's API is not on 127.0.0.1 ($api)" >&2; exit 1 ;;
esac
echo "soak.sh: chorusd $pid, API $api, SIP $sip, RTP $lo-$hi; $(nproc) cores," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "soak.sh: $parts participants over $rooms rooms ($transient transient)," \
	"~$rate API req/s, a WebSocket subscriber; ${warmup} s warm-up +" \
	"$minutes min"

confs=()
for _ in $(seq $((rooms - transient))); do
	id=$(curl -sf -H "Authorization: Bearer $token" \
		-d '{"type":"conference","name":"soak-stable"}' "$api/conferences" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || {
		echo "soak.sh: POST /conferences failed" >&2
		exit 1
	}
	confs+=("$id")
done

secs=$((minutes * 60))
total=$((warmup + secs))
conf_args=()
for id in "${confs[@]}"; do conf_args+=(--conference "$id"); done
# bounded even if the generator hangs: SIGTERM makes it take its end sample
timeout $((total + 120)) "$churn" --api "$api" --token "$token" --sip "$sip" --pid "$pid" \
	--slots "$parts" --transient "$transient" --seconds "$secs" \
	--warmup "$warmup" --sample "$sample" --data-dir "$tmp/data" \
	"${conf_args[@]}" >"$tmp/churn.out" 2>"$tmp/churn.err" &
churn_pid=$!

# 2 connections, each pausing so that the two make about $rate/s
host=${api#http://}
host=${host%%/*}
CHORUS_TOKEN=$token SOAK_CONFS=$(IFS=,; echo "${confs[*]}") \
	SOAK_DELAY_MS=$((2000 / rate)) \
	wrk -t2 -c2 -d"$total"s --timeout 5s -s "$root/bench/soak_api.lua" \
	"http://$host/" >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
python3 "$root/bench/soak_ws.py" "ws://$host/v1.0/ws?token=$token" \
	"$total" >"$tmp/ws.out" 2>&1 &
ws_pid=$!

# the churn program prints as it samples; follow it until it ends
tail -n +1 -f "$tmp/churn.out" --pid "$churn_pid" &
tail_pid=$!
wait "$churn_pid"
status=$?
churn_pid=''
wait "$tail_pid" 2>/dev/null
kill -INT "$wrk_pid" 2>/dev/null # wrk prints its summary on SIGINT
kill -TERM "$ws_pid" 2>/dev/null
wait "$wrk_pid" 2>/dev/null
wait "$ws_pid" 2>/dev/null
wrk_pid='' ws_pid=''

if ! kill -0 "$pid" 2>/dev/null; then
	echo "soak.sh: chorusd has exited; its log:"
	tail -20 "$tmp/stderr"
	status=1
fi
if [ -s "$tmp/churn.err" ]; then
	echo "generator messages: $(wc -l <"$tmp/churn.err") lines, first ones:"
	head -10 "$tmp/churn.err" | sed 's/^/  /'
fi
if grep -qE ' (WARN|ERROR) ' "$tmp/stderr"; then
	echo "chorusd warnings: $(grep -cE ' (WARN|ERROR) ' "$tmp/stderr") lines," \
		"most frequent (ids as X):"
	grep -E ' (WARN|ERROR) ' "$tmp/stderr" | cut -c28- |
		sed -E 's/[0-9a-f]{8}-[0-9a-f-]{27}/X/g' | sort | uniq -c |
		sort -rn | head -5
fi
apiline=$(grep '^api:' "$tmp/wrk.out" || echo "api: wrk printed no summary: $(tail -3 "$tmp/wrk.out")")
echo "$apiline"
wsline=$(grep '^ws:' "$tmp/ws.out" || echo "ws: no summary: $(tail -3 "$tmp/ws.out")")
echo "$wsline"
case $apiline in *", 0 not 2xx, socket errors 0 "*) ;; *) status=1 ;; esac
verdict=$(grep '^verdict:' "$tmp/churn.out") || {
	verdict="verdict: bench_soak_churn printed none (status $status)"
	status=1
}
echo "$verdict; $(sed -n 's/^api-short: //p' "$tmp/wrk.out") (exit status $status)"
exit $status
