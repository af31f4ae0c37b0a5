#!/bin/sh
# sip_joins.sh: the control plane under SIP load, on a fresh chorusd per
# rate: bench_sip_joins offers R x P joins at each rate of RATES, then
# hangs everyone up at once, and prints the joins achieved, INVITE -> 200
# OK and INVITE -> joined event latencies, the time until every BYE is
# answered and every participant has left, and the control thread's
# stalls (p50/p99/max) and store commit times of each phase.
#
# Usage: bench/sip_joins.sh [BUILD_DIR]        (default: build)
# Environment: CHORUSD, BENCH_SIP_JOINS (the two programs; default from
# BUILD_DIR), ROOMS (500), PARTICIPANTS (5), RATES ("250 500 1000"),
# HANGUP_BOUND (3 s), RTP_SPAN (6000: 2 ports per leg), KEEP=1 keeps the
# data folder and chorusd's log, CHORUSD_ARGS (more flags for chorusd).
# Exit status: 0 when every run held (everyone joined; every BYE answered
# and every participant left within the bound), 1 otherwise.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
chorusd=${CHORUSD:-$build/chorusd}
gen=${BENCH_SIP_JOINS:-$build/bench/bench_sip_joins}
rooms=${ROOMS:-500}
parts=${PARTICIPANTS:-5}
rates=${RATES:-250 500 1000}
bound=${HANGUP_BOUND:-3}
RTP_SPAN=${RTP_SPAN:-6000}
export RTP_SPAN
# every call comes from the one generator address, which stands for many
# phones: lift the per-address bound on un-ACKed calls (default 20)
CHORUSD_ARGS="--sip-unconfirmed-per-ip 100000 ${CHORUSD_ARGS:-}"
export CHORUSD_ARGS

for p in "$chorusd" "$gen"; do
	if [ ! -x "$p" ]; then
		echo "sip_joins.sh: $p not found (build first, or set CHORUSD /" \
			"BENCH_SIP_JOINS)" >&2
		exit 2
	fi
done

tmp=
pid=
. "$root/bench/chorusd_start.sh"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$tmp" ] && chorusd_stop "$tmp" "${KEEP:-0}"
	tmp=
}
trap cleanup EXIT
trap 'exit 1' INT TERM

status=0
for rate in $rates; do
	tmp=$(mktemp -d /tmp/chorus-sip-joins.XXXXXX)
	chorusd_start "$tmp" || exit 1
	echo "== $rooms x $parts joins at $rate/s: chorusd $pid, SIP $sip;" \
		"$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
		"$(date -u '+%Y-%m-%d %H:%M UTC')"
	"$gen" --api "$api" --token "$token" --sip "$sip" --rooms "$rooms" \
		--participants "$parts" --rate "$rate" --hangup-bound "$bound" \
		--pid "$pid" || status=1
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "sip_joins.sh: chorusd exited; its log:" >&2
		tail -20 "$tmp/stderr" >&2
		exit 1
	fi
	if [ -s "$tmp/stderr" ]; then
		echo "  chorusd warnings: $(wc -l <"$tmp/stderr") lines, e.g.:"
		cut -c28- "$tmp/stderr" | sort | uniq -c | sort -rn | head -3
	fi
	cleanup
	echo
done
exit $status
