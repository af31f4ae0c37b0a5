#!/bin/sh
# sip_load.sh: SIP + RTP load on a fresh chorusd, with figures.
#
# Starts chorusd on free ports (bench/chorusd_start.sh: HTTP and SIP port
# 0, a random RTP range) with a temporary data folder, reads its API URL, token and SIP address
# from what it prints, runs bench_sip_load for R rooms x P participants
# with PCMU and then with Opus (S seconds each), and stops chorusd.
# Each run prints chorusd's CPU, packets, loss, the interval between the
# server's packets at the receivers, the generator's own CPU and the tone
# check (each participant hears the others and not itself).
#
# Usage: bench/sip_load.sh [BUILD_DIR]        (default: build)
# Environment: CHORUSD, BENCH_SIP_LOAD (the two programs; default from
# BUILD_DIR), ROOMS (10), PARTICIPANTS (5), LOAD_SECONDS (20), CODECS
# ("pcmu opus"), RTP_SPAN (2000 RTP ports: 1,000 legs), KEEP=1 keeps the data
# folder and chorusd's log.
# Exit status: 0 when every run passed its checks, 1 otherwise.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
chorusd=${CHORUSD:-$build/chorusd}
gen=${BENCH_SIP_LOAD:-$build/bench/bench_sip_load}
rooms=${ROOMS:-10}
parts=${PARTICIPANTS:-5}
secs=${LOAD_SECONDS:-20}
codecs=${CODECS:-pcmu opus}

for p in "$chorusd" "$gen"; do
	if [ ! -x "$p" ]; then
		echo "sip_load.sh: $p not found (build first, or set CHORUSD /" \
			"BENCH_SIP_LOAD)" >&2
		exit 2
	fi
done

tmp=$(mktemp -d /tmp/chorus-sip-load.XXXXXX)
pid=
. "$root/bench/chorusd_start.sh"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	chorusd_stop "$tmp" "${KEEP:-0}"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

chorusd_start "$tmp" || exit 1
echo "chorusd $pid: API $api, SIP $sip, RTP $lo-$hi;" \
	"$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
for codec in $codecs; do
	echo
	"$gen" --api "$api" --token "$token" --sip "$sip" --rooms "$rooms" \
		--participants "$parts" --codec "$codec" --seconds "$secs" \
		--pid "$pid" || status=1
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "sip_load.sh: chorusd exited; its log:" >&2
		tail -20 "$tmp/stderr" >&2
		exit 1
	fi
done
if [ -s "$tmp/stderr" ]; then
	echo
	echo "chorusd warnings: $(wc -l <"$tmp/stderr") lines, e.g.:"
	sort "$tmp/stderr" | cut -c28- | sort | uniq -c | sort -rn | head -5
fi
exit $status
