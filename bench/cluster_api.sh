#!/usr/bin/env bash
# cluster_api.sh: API throughput of one chorusd node against three, on one
# PostgreSQL store (docs/cluster.md).
#
# Builds nothing. Starts a private PostgreSQL (tests/tools/pg_server.sh) and
# a nats-server, then:
#   1 node  (127.0.0.41, --nats): GET /conferences/{id}, POST /conferences
#           and PUT /conferences/{id} (one of 200 conferences at random,
#           bench/put_conference.lua), wrk 1 thread x 16 connections each;
#   3 nodes (127.0.0.41-43): the same three scenarios with one wrk per node
#           at once (3 x 16 connections), summed; the PUTs go to
#           conferences node 1 owns, so two thirds of them are forwarded to
#           node 1 over NATS;
#   and PUT through a non-owner alone (forwarding cost at 16 connections).
# Prints requests/s, p50/p99 latency and errors of each. Everything (the
# nodes, PostgreSQL, NATS and wrk) shares this machine's cores: on a small
# machine the figures show what one machine can do, not how a cluster of
# machines scales. Needs wrk (installed with apt-get when missing), curl,
# nats-server, postgresql, python3. DURATION (default 10) seconds each.
set -euo pipefail
cd "$(dirname "$0")/.."

chorusd=${1:-${CHORUSD:-build/chorusd}}
duration=${DURATION:-10}
conns=16
[ -x "$chorusd" ] || { echo "cluster_api: no executable $chorusd (build it first)" >&2; exit 2; }
if ! command -v wrk >/dev/null; then
	echo "cluster_api: installing wrk (apt-get)"
	apt-get install -y --no-install-recommends wrk >/dev/null
fi
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$nats" ] || { echo "cluster_api: nats-server missing (scripts/deps.sh test)" >&2; exit 2; }

work=$(mktemp -d /tmp/chorus-cbench-XXXXXX)
pg=$(mktemp -d /tmp/chorus-cbench-pg-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	tests/tools/pg_server.sh stop "$pg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

tests/tools/pg_server.sh start "$pg" >/dev/null
store=$(cat "$pg/conninfo")
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$nats" -a 127.0.0.1 -p "$nport" >"$work/nats.log" 2>&1 &
pids+=($!)
sleep 0.5

token=$("$chorusd" customer add bench --store "$store" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
export CHORUS_TOKEN=$token

start_node() { # name ip
	"$chorusd" serve --store "$store" --nats "nats://127.0.0.1:$nport" \
		--node-name "$1" --data-dir "$work/$1" --http "$2:8080" \
		--sip "$2:5060" --rtp-ports 40000-40999 --log-level warn \
		>"$work/$1.out" 2>"$work/$1.err" &
	pids+=($!)
	for _ in $(seq 100); do
		curl -sf "http://$2:8080/v1.0/health" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "cluster_api: node $1 did not start" >&2
	cat "$work/$1.err" >&2
	exit 1
}

# wrk's summary as "req/s p50 p99 errors"
run_wrk() { # url [script]
	local out
	out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency \
		${2:+-s "$2"} -H "Authorization: Bearer $token" "$1")
	python3 - "$out" <<'PY'
import re, sys
t = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def lat(p):
    m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, t)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
err = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
n = (int(err.group(1)) if err else 0) + (sum(map(int, sock.groups())) if sock else 0)
print("%.0f %.2f %.2f %d" % (rps, lat(50), lat(99), n))
PY
}

conf_on() { # ip: a new conference made through that node
	curl -sf -H "Authorization: Bearer $token" \
		-d '{"type":"conference","name":"bench","timeout":3600}' \
		"http://$1:8080/v1.0/conferences" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

report() { # label "rps p50 p99 err"...
	local label=$1
	shift
	python3 - "$label" "$@" <<'PY'
import sys
label, runs = sys.argv[1], [r.split() for r in sys.argv[2:]]
rps = sum(float(r[0]) for r in runs)
p50 = max(float(r[1]) for r in runs)
p99 = max(float(r[2]) for r in runs)
err = sum(int(r[3]) for r in runs)
print("%-44s %9.0f req/s  p50 %6.2f ms  p99 %7.2f ms  errors %d"
      % (label, rps, p50, p99, err))
PY
}

ips=(127.0.0.41 127.0.0.42 127.0.0.43)
echo "cluster_api: $(nproc) cores, ${duration}s per scenario, $conns connections per node"
start_node n1 "${ips[0]}"
cid=$(conf_on "${ips[0]}")
# the PUTs rename 200 conferences of node 1 at random
confs=$cid
for _ in $(seq 199); do confs="$confs,$(conf_on "${ips[0]}")"; done
export CHORUS_CONFS=$confs
report "1 node: GET /conferences/{id}" "$(run_wrk "http://${ips[0]}:8080/v1.0/conferences/$cid")"
report "1 node: PUT /conferences/{id} (own)" "$(run_wrk "http://${ips[0]}:8080/v1.0/conferences/$cid" bench/put_conference.lua)"
# the POSTs last in each phase: they leave thousands of live conferences
report "1 node: POST /conferences" "$(run_wrk "http://${ips[0]}:8080/v1.0/conferences" bench/post_conference.lua)"

start_node n2 "${ips[1]}"
start_node n3 "${ips[2]}"
sleep 2 # every node has seen the others' heartbeats
report "3 nodes: PUT through a non-owner alone" "$(run_wrk "http://${ips[1]}:8080/v1.0/conferences/$cid" bench/put_conference.lua)"
for scen in get put post; do
	outs=()
	tmp=()
	wpids=()
	for ip in "${ips[@]}"; do
		f=$(mktemp "$work/wrk-XXXXXX")
		tmp+=("$f")
		case $scen in
		get) run_wrk "http://$ip:8080/v1.0/conferences/$cid" >"$f" & ;;
		post) run_wrk "http://$ip:8080/v1.0/conferences" bench/post_conference.lua >"$f" & ;;
		put) run_wrk "http://$ip:8080/v1.0/conferences/$cid" bench/put_conference.lua >"$f" & ;;
		esac
		wpids+=($!)
	done
	wait "${wpids[@]}"
	for f in "${tmp[@]}"; do outs+=("$(cat "$f")"); done
	case $scen in
	get) report "3 nodes: GET /conferences/{id} (sum)" "${outs[@]}" ;;
	post) report "3 nodes: POST /conferences (sum)" "${outs[@]}" ;;
	put) report "3 nodes: PUT /conferences/{id} (2/3 forwarded)" "${outs[@]}" ;;
	esac
done
