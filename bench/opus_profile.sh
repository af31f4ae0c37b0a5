#!/bin/sh
# opus_profile.sh: instructions per 20 ms frame of the media engine's Opus
# work, counted by valgrind's callgrind (an instruction count is the same
# run after run, whatever else the machine does, unlike CPU time), for each
# room rate and encoder setting.
#
# It runs bench_codec (one thread, no sockets: the engine's codec states as
# a room mixing at RATE builds them) under callgrind three times per case,
# collecting inside one step each time:
#   decode  a talker's packet (a 48 kHz VOIP stream, as phones and
#           browsers send) decoded into the room;
#   encode  the room's mix encoded for one listener;
#   silence a phone's digital silence decoded (after the first packets,
#           the repeats skip the decoder).
# and prints instructions per frame of each. The cost of a room per tick
# follows: all talking, P x (decode + encode); one talker of P, decode +
# 2 encodes (the talker's own silence is a reused packet) + (P - 1) x
# silence.
#
# Usage: bench/opus_profile.sh [BUILD_DIR] (default: build)
# Environment: CASES, a list of "rate:application:complexity" (default
# "48000:voip:5 16000:voip:5 16000:lowdelay:5 16000:lowdelay:3
# 48000:lowdelay:5"), FRAMES (300).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
prog=$build/bench/bench_codec
cases=${CASES:-48000:voip:5 16000:voip:5 16000:lowdelay:5 16000:lowdelay:3 48000:lowdelay:5}
frames=${FRAMES:-300}
[ -x "$prog" ] || { echo "opus_profile.sh: $prog not found (build first)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "opus_profile.sh: valgrind is needed" >&2; exit 2; }
tmp=$(mktemp -d /tmp/chorus-opus-profile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ir FUNCTION STEP RATE APP CX: instructions inside FUNCTION when
# bench_codec runs only STEP
ir() {
	fn=$1 step=$2
	shift 2
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
		--toggle-collect="$fn" "$prog" "$@" "$frames" "$step" \
		>"$tmp/stdout" 2>"$tmp/stderr" || {
		echo "opus_profile.sh: bench_codec $* failed:" >&2
		tail -5 "$tmp/stderr" >&2
		exit 1
	}
	sed -n 's/^==[0-9]*== Collected : \([0-9]*\)/\1/p' "$tmp/stderr"
}

printf '%-6s %-9s %-3s %12s %12s %12s  %s\n' rate app cx \
	"decode Ir" "encode Ir" "silence Ir" "(per frame; packets)"
for c in $cases; do
	IFS=: read -r rate app cx <<EOF
$c
EOF
	d=$(ir ch_codec_decode decode "$rate" "$app" "$cx")
	e=$(ir ch_codec_encode encode "$rate" "$app" "$cx")
	room=$(sed -n 's/.*room packets \([0-9.]*\) B.*/\1/p' "$tmp/stdout")
	s=$(ir ch_codec_decode silence "$rate" "$app" "$cx")
	skip=$(sed -n 's/.*B, \([0-9]* of [0-9]*\) silent packets skipped.*/\1/p' "$tmp/stdout")
	note="room packets $room B; silent packets skipping the decoder: $skip"
	printf '%-6s %-9s %-3s %12d %12d %12d  %s\n' "$rate" "$app" "$cx" \
		$((d / frames)) $((e / frames)) $((s / frames)) "$note"
done
