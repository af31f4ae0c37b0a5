# shellcheck shell=sh disable=SC2154 # $chorusd is set by the caller
# chorusd_start.sh: sourced by the bench scripts (POSIX sh) to start a
# fresh chorusd on loopback.
#
# chorusd_start DIR: starts $chorusd serve on 127.0.0.1 with HTTP and SIP
# on port 0, a random even range of 2000 RTP ports between 30000 and 59999
# (or, with RTP_SPAN=N over 2000, the N ports from 20000: 2 per leg),
# its data in DIR/data and its output in DIR/stdout and DIR/stderr (log
# level $LOG_LEVEL, default warn), and the further flags in $CHORUSD_ARGS
# (split on spaces). Sets pid, api, token, sip, lo and hi.
# Returns 1, with chorusd's output on stderr, when it did not print its
# API, token and SIP address within 10 s.
chorusd_start() {
	lo=$((30000 + ($$ % 14) * 2000))
	hi=$((lo + 1999))
	if [ "${RTP_SPAN:-2000}" -gt 2000 ]; then
		lo=20000
		hi=$((lo + RTP_SPAN - 1))
	fi
	# shellcheck disable=SC2086 # CHORUSD_ARGS is a list of flags
	"$chorusd" serve --http 127.0.0.1:0 --sip 127.0.0.1:0 \
		--rtp-ports "$lo-$hi" --data-dir "$1/data" --log-level "${LOG_LEVEL:-warn}" \
		${CHORUSD_ARGS:-} >"$1/stdout" 2>"$1/stderr" &
	pid=$!
	api='' token='' sip=''
	_i=0
	while [ $_i -lt 100 ]; do
		api=$(sed -n 's/^  API: *\(http[^ ]*\).*/\1/p' "$1/stdout")
		token=$(sed -n 's/^  Token: *\([^ ]*\).*/\1/p' "$1/stdout")
		sip=$(sed -n 's/^  SIP: *\([^ ]*\).*/\1/p' "$1/stdout")
		[ -n "$api" ] && [ -n "$token" ] && [ -n "$sip" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "chorusd did not print its API, token and SIP address; its" \
		"output:" >&2
	cat "$1/stdout" "$1/stderr" >&2
	return 1
}

# chorusd_stop DIR KEEP: stops chorusd ($pid) if it runs, then removes
# DIR, or keeps it (and says so) when KEEP is 1.
chorusd_stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null
	fi
	if [ "$2" = 1 ]; then
		echo "kept $1"
	else
		rm -rf "$1"
	fi
}
