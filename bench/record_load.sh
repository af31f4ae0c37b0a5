#!/bin/sh
# record_load.sh: what recording costs chorusd under SIP load.
#
# Starts a fresh chorusd (bench/chorusd_start.sh), then runs the same load
# twice with bench_sip_load: R rooms x P PCMU participants, every one
# sending its own tone, measured over S seconds. Run 1 records nothing;
# run 2 starts a recording with tracks (recording_start {"format": "wav",
# "tracks": true}) in every room once all its participants are joined and
# before the measured window begins (the generator waits SETTLE_MS after
# the last join), and stops them after the window. Each run uses rooms of
# its own, created through the API and deleted after it.
#
# For each run it prints chorusd's CPU (% of one core, /proc/PID/stat over
# the window), its peak RSS (VmRSS sampled every second) and the
# generator's figures: packets, loss by sequence numbers, the interval
# between the server's packets at each receiver (p50/p99/max: its send
# jitter) and the tone check. Then the CPU ratio run 2 / run 1, and for
# run 2 the recordings: how many became "stopped", their size and
# duration, the CPU and wall time from recording_stop to the last one
# stopped (assembly), and chorusd's log lines about dropped frames.
#
# Usage: bench/record_load.sh [BUILD_DIR]          (default: build)
# Environment: CHORUSD, BENCH_SIP_LOAD (default from BUILD_DIR), ROOMS (20),
# PARTICIPANTS (5), LOAD_SECONDS (60), SETTLE_MS (15000), LOG_LEVEL (warn),
# KEEP=1 keeps the data folder (with the recordings) and chorusd's log.
# Exit status: 0 when both runs passed the generator's checks, every
# recording started and stopped, and recording added at most 10 % CPU
# with no loss; 1 otherwise; 2 on a set-up error.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
chorusd=${CHORUSD:-$build/chorusd}
gen=${BENCH_SIP_LOAD:-$build/bench/bench_sip_load}
rooms=${ROOMS:-20}
parts=${PARTICIPANTS:-5}
secs=${LOAD_SECONDS:-60}
settle=${SETTLE_MS:-15000}

for p in "$chorusd" "$gen"; do
	if [ ! -x "$p" ]; then
		echo "record_load.sh: $p not found (build first, or set CHORUSD /" \
			"BENCH_SIP_LOAD)" >&2
		exit 2
	fi
done
for t in curl python3; do
	command -v $t >/dev/null || {
		echo "record_load.sh: needs $t (scripts/deps.sh bench)" >&2
		exit 2
	}
done

tmp=$(mktemp -d /tmp/chorus-record-load.XXXXXX)
pid=
genpid=
. "$root/bench/chorusd_start.sh"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$genpid" ] && kill "$genpid" 2>/dev/null
	chorusd_stop "$tmp" "${KEEP:-0}"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

chorusd_start "$tmp" || exit 2
echo "chorusd $pid: API $api, SIP $sip, RTP $lo-$hi; $(nproc) cores," \
	"load $(cut -d' ' -f1-3 /proc/loadavg); $rooms rooms x $parts PCMU," \
	"${secs} s per run"

# rest METHOD PATH [BODY]: the answer's body; the status code in $tmp/code
rest() {
	curl -s -o "$tmp/body" -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "$api$2" >"$tmp/code"
	cat "$tmp/body"
}

# json FIELD: that top-level field of the JSON on stdin
json() {
	python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print(v if v is not None else "")' "$1" 2>/dev/null
}

# joined ID: participants of conference ID that are joined (sed and grep
# rather than python3 here: this runs while the window approaches)
joined() {
	rest GET "/conferencecalls?conference_id=$1&page_size=100" |
		grep -o '"status":"joined"' | wc -l
}

cpu_ticks() { # utime + stime of chorusd
	sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}'
}

rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}

# make_rooms: creates $rooms conferences, waits until they progress;
# their ids in $tmp/rooms
make_rooms() {
	: >"$tmp/rooms"
	i=0
	while [ $i -lt "$rooms" ]; do
		id=$(rest POST /conferences '{"type":"conference"}' | json id)
		[ -n "$id" ] || {
			echo "record_load.sh: POST /conferences: $(cat "$tmp/code")" \
				"$(cat "$tmp/body")" >&2
			return 1
		}
		echo "$id" >>"$tmp/rooms"
		i=$((i + 1))
	done
	while read -r id; do
		n=0
		until [ "$(rest GET "/conferences/$id" | json status)" = progressing ]; do
			n=$((n + 1))
			[ $n -lt 100 ] || {
				echo "record_load.sh: $id not progressing" >&2
				return 1
			}
			sleep 0.1
		done
	done <"$tmp/rooms"
}

delete_rooms() {
	while read -r id; do
		rest DELETE "/conferences/$id" >/dev/null
	done <"$tmp/rooms"
}

# run NAME RECORD(0|1): one load run; figures into $tmp/NAME.*
run() {
	name=$1 record=$2
	make_rooms || return 1
	set --
	while read -r id; do set -- "$@" --conference "$id"; done <"$tmp/rooms"
	"$gen" --sip "$sip" --participants "$parts" --codec pcmu \
		--seconds "$secs" --settle "$settle" --pid "$pid" "$@" \
		>"$tmp/$name.out" 2>&1 &
	genpid=$!
	peak=0
	started=0
	: >"$tmp/$name.recs"
	t0=$(date +%s.%N)
	ts=$t0 te=$t0
	while kill -0 "$genpid" 2>/dev/null; do
		r=$(rss_kib)
		[ "${r:-0}" -gt "$peak" ] && peak=$r
		if [ "$record" = 1 ] && [ $started = 0 ]; then
			# every room full: start the recordings (before the window)
			full=0
			while read -r id; do
				[ "$(joined "$id")" -ge "$parts" ] && full=$((full + 1))
			done <"$tmp/rooms"
			if [ $full -eq "$rooms" ]; then
				ts=$(date +%s.%N)
				while read -r id; do
					rid=$(rest POST "/conferences/$id/recording_start" \
						'{"format":"wav","tracks":true}' |
						sed -n 's/.*"recording_id":"\([0-9a-f-]*\)".*/\1/p')
					if [ "$(cat "$tmp/code")" = 200 ]; then
						echo "$id $rid" >>"$tmp/$name.recs"
					else
						echo "record_load.sh: recording_start $id:" \
							"$(cat "$tmp/code") $(cat "$tmp/body")" >&2
					fi
				done <"$tmp/rooms"
				te=$(date +%s.%N)
				started=1
			elif [ "$(echo "$(date +%s) - $t0 > 60" | bc)" = 1 ]; then
				echo "record_load.sh: rooms not full after 60 s ($full of" \
					"$rooms)" >&2
				started=1
			fi
		fi
		sleep 1
	done
	wait "$genpid"
	rstatus=$?
	genpid=
	echo "$peak" >"$tmp/$name.rss"
	cat "$tmp/$name.out"
	echo "  chorusd RSS:   peak $((peak / 1024)) MiB (VmRSS, sampled every second)"
	if [ "$record" = 1 ]; then
		# the window began join time + settle after the generator started
		join=$(sed -n 's/.*(\([0-9.]*\) s to join all.*/\1/p' "$tmp/$name.out")
		win=$(echo "${join:-0} + $settle / 1000" | bc -l)
		printf '  recordings:    %d of %d started %.2f-%.2f s after the' \
			"$(wc -l <"$tmp/$name.recs")" "$rooms" \
			"$(echo "$ts - $t0" | bc)" "$(echo "$te - $t0" | bc)"
		printf ' generator started; the window began at %.2f s\n' "$win"
		if [ "$(echo "$te - $t0 > $win" | bc)" = 1 ]; then
			echo "record_load.sh: recordings started after the window" \
				"began: raise SETTLE_MS" >&2
			rstatus=1
		fi
		stop_recordings "$name" || rstatus=1
	fi
	delete_rooms
	return $rstatus
}

# stop_recordings NAME: recording_stop everywhere, wait for "stopped"
stop_recordings() {
	c0=$(cpu_ticks)
	ts=$(date +%s.%N)
	while read -r id rid; do
		rest POST "/conferences/$id/recording_stop" >/dev/null
		[ "$(cat "$tmp/code")" = 200 ] ||
			echo "record_load.sh: recording_stop $id: $(cat "$tmp/code")" >&2
	done <"$tmp/$1.recs"
	n=0 done=0 total=$(wc -l <"$tmp/$1.recs")
	while [ $n -lt 1200 ]; do
		done=0
		while read -r id rid; do
			rest GET "/recordings/$rid" | grep -q '"status":"stopped"' &&
				done=$((done + 1))
		done <"$tmp/$1.recs"
		[ $done -eq "$total" ] && break
		n=$((n + 1))
		sleep 0.1
	done
	te=$(date +%s.%N)
	c1=$(cpu_ticks)
	: >"$tmp/$1.stopped"
	while read -r id rid; do
		rest GET "/recordings/$rid" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["size"], r["duration_ms"], len(r.get("channels") or [])) if r["status"] == "stopped" else None' >>"$tmp/$1.stopped"
	done <"$tmp/$1.recs"
	hz=$(getconf CLK_TCK)
	awk -v n="$done" -v t="$total" -v w="$(echo "$te - $ts" | bc)" \
		-v cpu="$(echo "($c1 - $c0) / $hz" | bc -l)" '
		{ s += $1; d += $2; if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; ch = $3 }
		END {
			printf "  recordings:    %d of %d stopped; %.1f MiB in all, duration %.1f-%.1f s, %d channels each\n", n, t, s / 1048576, min / 1000, max / 1000, ch
			printf "  assembly:      %.2f s from recording_stop to the last stopped, chorusd CPU %.2f s\n", w, cpu
		}' "$tmp/$1.stopped"
	[ $done -eq "$total" ] && [ "$total" -eq "$rooms" ]
}

# fig NAME REGEX: the first number after REGEX in the run's output
fig() {
	sed -n "s/.*$2 *\([0-9.]*\).*/\1/p" "$tmp/$1.out" | head -1
}

status=0
echo
echo "== run 1: no recording"
run plain 0 || status=1
echo
echo "== run 2: a recording with tracks in every room"
run rec 1 || status=1
kill -0 "$pid" 2>/dev/null || {
	echo "record_load.sh: chorusd exited; its log:" >&2
	tail -20 "$tmp/stderr" >&2
	exit 1
}

cpu1=$(fig plain 'chorusd CPU:')
cpu2=$(fig rec 'chorusd CPU:')
loss1=$(fig plain 'loss:')
loss2=$(fig rec 'loss:')
echo
echo "== summary ($rooms rooms x $parts PCMU, ${secs} s windows)"
printf '  %-14s %8s %9s %8s %9s %9s %9s\n' run "CPU %" "RSS MiB" "loss %" \
	"p50 ms" "p99 ms" "max ms"
for n in plain rec; do
	printf '  %-14s %8s %9d %8s %9s %9s %9s\n' "$n" "$(fig $n 'chorusd CPU:')" \
		"$(($(cat "$tmp/$n.rss") / 1024))" "$(fig $n 'loss:')" \
		"$(fig $n 'interval: *p50')" "$(fig $n 'ms, p99')" \
		"$(fig $n 'p99 [0-9.]* ms, max')"
done
ratio=$(echo "$cpu2 / $cpu1" | bc -l)
printf '  CPU ratio:     %.3f (recording / none)\n' "$ratio"
drops=$(grep -ci 'drop' "$tmp/stderr")
echo "  chorusd log:   $(wc -l <"$tmp/stderr") lines, $drops mention drops"
[ "$drops" -gt 0 ] && grep -i 'drop' "$tmp/stderr" | head -5
if [ "$(echo "$ratio > 1.10" | bc)" = 1 ]; then
	echo "verdict: recording adds more than 10 % CPU"
	status=1
fi
if [ "$(echo "$loss1 > 0 || $loss2 > 0" | bc)" = 1 ]; then
	echo "verdict: packets lost ($loss1 %, $loss2 %)"
	status=1
fi
echo "exit status $status"
exit $status
