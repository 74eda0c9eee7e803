#!/usr/bin/env bash
# tests/pg/start.sh - starts a throwaway PostgreSQL cluster for the tests and
# prints the shell lines that point the suite at it:
#
#   eval "$(tests/pg/start.sh)"      # exports MOONSTAT_TEST_PG, MOONSTAT_TEST_PG_DIR
#   MOONSTAT_TEST_PG=... tests/run.sh
#   tests/pg/stop.sh                 # stops it and removes its directory
#
# Installs the server (Debian package postgresql) when initdb is missing.
# The cluster lives in a new temporary directory: initdb -A trust -U postgres
# (run as the `postgres` user when started as root, since the server refuses
# to run as root), listening on a Unix socket in that directory only
# (listen_addresses = ''), no TCP port. It is a test cluster: fsync and
# synchronous_commit are off (the tests kill clients, never the server),
# unless MOONSTAT_PG_DURABLE=1 (the server's defaults, for benchmarks).
# Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail

log() { echo "tests/pg/start.sh: $*" >&2; }

find_bindir() {
    local d
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

if ! PGBIN=$(find_bindir); then
    log "initdb not found: installing the PostgreSQL server (apt-get install postgresql)"
    if [ "$(id -u)" != 0 ]; then
        log "run as root, or install the package postgresql first"
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    # policy-rc.d: the package must not start its own cluster as a service.
    apt-get install -y -qq postgresql >&2 || { apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2; }
    PGBIN=$(find_bindir) || { log "initdb still not found after installing postgresql"; exit 2; }
fi

DIR=$(mktemp -d "${MOONSTAT_PG_TMP:-/tmp}/moonstat-pg.XXXXXX")
chmod 755 "$DIR"
STARTED=""
# On failure: stop what was started, remove the directory.
cleanup_on_failure() {
    if [ -n "$STARTED" ]; then
        "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >&2 || true
    fi
    rm -rf "$DIR"
}
trap 'rc=$?; [ "$rc" -eq 0 ] || cleanup_on_failure' EXIT
as_owner=()
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        log "no 'postgres' user to run the server as (the postgresql package creates it)"
        exit 2
    fi
    chown postgres: "$DIR"
    as_owner=(runuser -u postgres --)
fi

log "initdb in $DIR/data ($("$PGBIN/postgres" --version))"
"${as_owner[@]}" "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --no-locale \
    --no-sync >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
cat >>"$DIR/data/postgresql.conf" <<CONF
# tests/pg/start.sh: a throwaway test cluster
listen_addresses = ''
unix_socket_directories = '$DIR'
max_connections = 100
shared_buffers = 128MB
log_min_messages = warning
CONF
if [ -z "${MOONSTAT_PG_DURABLE:-}" ]; then # MOONSTAT_PG_DURABLE=1: the defaults (benchmarks)
    printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$DIR/data/postgresql.conf"
fi
STARTED=1
"${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >&2 ||
    { cat "$DIR/server.log" >&2; exit 1; }
"$PGBIN/psql" "postgresql:///postgres?host=$DIR&user=postgres" -X -A -t -q -c 'SELECT 1' >/dev/null ||
    { echo "tests/pg/start.sh: the server does not answer" >&2; exit 1; }
URI="postgresql:///postgres?host=$DIR&user=postgres"
log "up: $URI"
printf "export MOONSTAT_TEST_PG='%s'\n" "$URI"
printf "export MOONSTAT_TEST_PG_DIR='%s'\n" "$DIR"
printf "export MOONSTAT_TEST_PG_BIN='%s'\n" "$PGBIN"
