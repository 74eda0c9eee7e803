#!/usr/bin/env bash
# tests/bench/load_throughput.sh [ROWS] - bulk-load throughput (rows/s) of
# both warehouse backends on the same generated rows, through the warehouse
# bulk-load API (bin/wh-load-bench, tests/gen/wh-load-bench.c): a narrow load
# into a temporary staging table (as merge.c's) and a wide one (payments'
# 18 columns) into a regular table, ROWS rows each (default 1000000), each
# in one transaction.
#
# SQLite: a scratch file under $TMPDIR (WAL, synchronous=FULL, as moonstat
# opens it). PostgreSQL: a scratch database on MOONSTAT_TEST_PG when set,
# otherwise on a throwaway cluster started (and stopped) here with
# tests/pg/start.sh (Unix socket; note that cluster's fsync=off and
# synchronous_commit=off, printed below). Needs `make` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-${ROWS:-1000000}}
BIN=${BIN:-bin}
BENCH=$BIN/wh-load-bench
[ -x "$BENCH" ] || { echo "load_throughput: build first (make): $BENCH missing" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moonstat-bench.XXXXXX")
STARTED=""
DB=""
cleanup() {
    if [ -n "$DB" ]; then
        psql "$MOONSTAT_TEST_PG" -X -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    [ -n "$STARTED" ] && tests/pg/stop.sh "$MOONSTAT_TEST_PG_DIR"
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "load throughput, $ROWS rows per load; $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
" $(free -g | awk '/^Mem:/ {print $2}') GiB; $(uname -sr)"
echo "sqlite $(sqlite3 --version | cut -d' ' -f1)"
"$BENCH" "sqlite://$TMP/bench.db" "$ROWS"

if [ -z "${MOONSTAT_TEST_PG:-}" ]; then
    eval "$(tests/pg/start.sh)"
    STARTED=1
fi
DB=ms_bench_$$
psql "$MOONSTAT_TEST_PG" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" >/dev/null
base=$MOONSTAT_TEST_PG
query=""
if [[ "$base" == *\?* ]]; then query="?${base#*\?}"; base=${base%%\?*}; fi
auth=${base#*://}
auth=${auth%%/*}
URI="${base%%://*}://$auth/$DB$query"
echo "postgresql $(psql "$URI" -X -A -t -c 'SHOW server_version'), over a Unix socket;" \
    "fsync=$(psql "$URI" -X -A -t -c 'SHOW fsync')" \
    "synchronous_commit=$(psql "$URI" -X -A -t -c 'SHOW synchronous_commit')"
"$BENCH" "$URI" "$ROWS"
