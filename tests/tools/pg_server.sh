#!/usr/bin/env bash
# pg_server.sh: a private PostgreSQL server for the tests.
#   pg_server.sh start DIR [PORT]  initdb DIR/data, start it listening only on
#                                  a Unix socket in DIR (and on 127.0.0.1:PORT
#                                  when a port is given), write DIR/conninfo
#                                  (a postgresql:// URI of database "postgres")
#   pg_server.sh stop DIR          stop it and remove DIR
# PostgreSQL refuses to run as root: as root the server runs as the
# "postgres" user (Debian's postgresql package makes it). Fails loudly when
# PostgreSQL is not installed (scripts/deps.sh test installs it).
set -euo pipefail
cmd=${1:?usage: pg_server.sh start|stop DIR [PORT]}
dir=${2:?usage: pg_server.sh start|stop DIR [PORT]}
port=${3:-}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg_server: PostgreSQL is not installed (apt-get install postgresql;" \
    "scripts/deps.sh test does it)" >&2
  exit 1
fi
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U chorus -E UTF8 \
    --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  listen="''"
  [ -n "$port" ] && listen=127.0.0.1
  # a test server: no durability wait on commit, small and quick
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-k $dir -c listen_addresses=$listen ${port:+-p $port} -c fsync=off -c synchronous_commit=off -c max_connections=200 -c full_page_writes=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  p=${port:-5432}
  echo "postgresql:///postgres?host=$dir&port=$p&user=chorus" >"$dir/conninfo"
  echo "pg_server: PostgreSQL on $dir (port $p)"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: pg_server.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac
