#!/usr/bin/env bash
# Start or stop a private PostgreSQL cluster for the test suite (Debian's postgresql, no systemd).
# start: prints the database URL on stdout.  stop DIR: stops the cluster started in DIR.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# Below 32768: ports in Linux's ephemeral range (32768–60999) may be held by any outgoing connection.
PORT=${PGPORT_TEST:-25432}
case "${1:-}" in
  start)
    ROOT=$(mktemp -d /tmp/sandbox-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$ROOT"; RUN=(runuser -u postgres --)
    else
      RUN=()
    fi
    "${RUN[@]}" "$PGBIN/initdb" -D "$ROOT/data" -U postgres --auth-local=trust --auth-host=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $ROOT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    "${RUN[@]}" "$PGBIN/psql" -q -h "$ROOT" -p "$PORT" -U postgres \
      -c "CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB" -c "CREATE DATABASE app OWNER app" >/dev/null
    echo "$ROOT"
    ;;
  stop)
    ROOT=$2
    if [ "$(id -u)" = 0 ]; then RUN=(runuser -u postgres --); else RUN=(); fi
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$ROOT/data" -m fast -w stop >/dev/null || true
    rm -rf "$ROOT"
    ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
