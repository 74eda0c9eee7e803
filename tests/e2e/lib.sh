# tests/e2e/lib.sh - shared helpers of the end-to-end tests (sourced).
#
# Each test script sources this file, calls `check`/`check_eq`, and ends with
# `finish`, which prints "<name>: N passed, N failed" and sets the exit
# status. Tests run the real binary ($MOONSTAT) on real files, a real SQLite
# warehouse and real gzip files; they never sleep to synchronise.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BIN:-bin}
MOONSTAT=${MOONSTAT:-$ROOT/$BIN/moonstat}
GOLDEN=$ROOT/tests/golden
TEST_NAME=$(basename "$0" .sh)
PASSED=0
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moonstat-$TEST_NAME.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
    local what=$1
    shift
    if "$@"; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $TEST_NAME: $what"
    fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
    if [ "$2" == "$3" ]; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $TEST_NAME: $1: got [$2], want [$3]"
    fi
}

finish() {
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# golden_setup DIR: a scratch copy of the golden scenario with an empty incoming/.
golden_setup() {
    mkdir -p "$1"
    cp -r "$GOLDEN/scenario/." "$1/"
    chmod -R u+w "$1"
    mkdir -p "$1/incoming"
}

# golden_copy DIR BATCH: copies batch1 or batch2 into DIR/incoming.
golden_copy() {
    cp -r "$1/$2/." "$1/incoming/"
    chmod -R u+w "$1/incoming"
}

# run_moonstat DIR ARGS...: runs the binary with DIR's configuration; stderr to DIR/log.
run_moonstat() {
    local dir=$1
    shift
    "$MOONSTAT" "$@" --config "$dir/moonstat.conf" 2>>"$dir/log"
}

# golden_nightly DIR: the scenario's two nightly runs; prints their exit codes.
golden_nightly() {
    local rc1 rc2
    golden_copy "$1" batch1
    run_moonstat "$1" run --date 2026-11-07
    rc1=$?
    golden_copy "$1" batch2
    run_moonstat "$1" run --date 2026-11-08
    rc2=$?
    echo "$rc1 $rc2"
}

# csv_digest DIR [REPORT...]: one line per CSV (path and sha256), sorted.
csv_digest() {
    local dir=$1
    shift
    [ $# -gt 0 ] || set -- $(cd "$dir/exports" 2>/dev/null && ls)
    (cd "$dir/exports" 2>/dev/null && for r in "$@"; do
        find "$r" -name '*.csv' 2>/dev/null
    done | sort | xargs -r sha256sum)
}

# manifest_ok PARTITION_DIR REPORT: manifest rows/sha256/bytes match the CSV, its
# schema_version is the exports' layout version (4, whatever the warehouse's
# migration number: reports/export.h) and _SUCCESS exists.
manifest_ok() {
    python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys
d, r = sys.argv[1], sys.argv[2]
csv = open(os.path.join(d, r + ".csv"), "rb").read()
m = json.load(open(os.path.join(d, "manifest.json")))
ok = (m["sha256"] == hashlib.sha256(csv).hexdigest() and m["bytes"] == len(csv)
      and m["rows"] == csv.count(b"\n") - 1 and m["report"] == r
      and m["partition"] == os.path.basename(d)[3:] and m["file"] == r + ".csv"
      and m["schema_version"] == 4
      and os.path.exists(os.path.join(d, "_SUCCESS")))
sys.exit(0 if ok else 1)
PY
}

# ---- helpers added for the end-to-end suite (idempotence, kill9, lock, ...) ----

# KILLER: the failure-injection shim (tests/e2e/killer.c), built by `make`.
KILLER=$ROOT/${BUILD:-build}/tests/killer.so

# sanitized: true under `make test SANITIZE=1` (BIN=bin-asan), where ASan
# refuses an LD_PRELOAD loaded before it and valgrind cannot run either.
sanitized() {
    [ "${SANITIZE:-0}" = 1 ] || [ "$BIN" = bin-asan ]
}

# skip_test REASON: prints a note and ends the test as passed (0 assertions).
skip_test() {
    echo "$TEST_NAME: skipped: $1"
    finish
}

# tree_snapshot DIR: one line per entry under DIR, sorted: "path type inode
# mtime(ns) sha256" (sha256 "-" for directories). Equal snapshots mean no
# byte, no mtime and no inode changed and nothing appeared or vanished.
tree_snapshot() {
    python3 - "$1" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    for name in dirs + files:
        p = os.path.join(d, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if os.path.isdir(p):
            out.append("%s d %d %d -" % (rel, st.st_ino, st.st_mtime_ns))
        else:
            with open(p, "rb") as f:
                h = hashlib.sha256(f.read()).hexdigest()
            out.append("%s f %d %d %s" % (rel, st.st_ino, st.st_mtime_ns, h))
for line in sorted(out):
    print(line)
PY
}

# kpi_row DIR DATE GAME [PLATFORM COUNTRY]: the daily_kpi row of that game,
# day and breakdown (default ALL,ALL), or nothing.
kpi_row() {
    local f=$1/exports/daily_kpi/dt=$2/daily_kpi.csv
    [ -f "$f" ] || return 0
    grep -F "$2,$3,${4:-ALL},${5:-ALL}," "$f" || true
}

# kpi_field DIR DATE GAME COLUMN [PLATFORM COUNTRY]: one column of kpi_row.
kpi_field() {
    local f=$1/exports/daily_kpi/dt=$2/daily_kpi.csv col
    [ -f "$f" ] || return 0
    col=$(head -1 "$f" | tr ',' '\n' | grep -nx -- "$4" | cut -d: -f1)
    [ -n "$col" ] || return 0
    kpi_row "$1" "$2" "$3" "${5:-ALL}" "${6:-ALL}" | cut -d, -f"$col"
}

# hidden_entries DIR: entries under DIR/exports whose name starts with "."
# (staging directories, temporary files), one per line.
hidden_entries() {
    (cd "$1/exports" 2>/dev/null && find . -mindepth 1 -name '.*' | LC_ALL=C sort)
}

# export_problems DIR: checks every published partition DIR/exports/<report>/dt=*
# (staging directories, whose names start with ".", are not published) the
# way a loader would: _SUCCESS present, the CSV present, and manifest.json
# matching the CSV (as manifest_ok); a CSV outside a partition is a problem
# too. Prints one line per problem; nothing when all is well.
export_problems() {
    python3 - "$1/exports" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
if not os.path.isdir(root):
    sys.exit(0)
for report in sorted(os.listdir(root)):
    rdir = os.path.join(root, report)
    if report.startswith(".") or not os.path.isdir(rdir):
        continue
    for part in sorted(os.listdir(rdir)):
        d = os.path.join(rdir, part)
        if part.startswith("."):
            continue
        name = "%s/%s" % (report, part)
        if not part.startswith("dt=") or not os.path.isdir(d):
            print("%s: not a partition directory" % name)
            continue
        for f in ("_SUCCESS", report + ".csv", "manifest.json"):
            if not os.path.isfile(os.path.join(d, f)):
                print("%s: no %s" % (name, f))
        try:
            csv = open(os.path.join(d, report + ".csv"), "rb").read()
            m = json.load(open(os.path.join(d, "manifest.json")))
        except (OSError, ValueError) as e:
            print("%s: unreadable: %s" % (name, e))
            continue
        if not (m.get("sha256") == hashlib.sha256(csv).hexdigest() and m.get("bytes") == len(csv)
                and m.get("rows") == csv.count(b"\n") - 1 and m.get("report") == report
                and m.get("partition") == part[3:] and m.get("file") == report + ".csv"):
            print("%s: manifest does not match the CSV" % name)
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if not x.startswith(".")]
    for f in files:
        if f.endswith(".csv") and not os.path.basename(d).startswith("dt="):
            print("%s: CSV outside a partition" % os.path.relpath(os.path.join(d, f), root))
PY
}

# csv_digest_all DIR: like csv_digest over every report (staging directories
# included, so that a leftover CSV shows): "sha256  <report>/dt=<date>/<report>.csv".
# (csv_digest DIR with no report quotes "*" and so lists nothing.)
csv_digest_all() {
    (cd "$1/exports" 2>/dev/null && find . -name '*.csv' | sed 's|^\./||' | LC_ALL=C sort |
        xargs -r sha256sum)
}

# ---- a local HTTP server (fx_http.sh; usable for channel statements too) ----

# http_start ROOT: serves the files under ROOT at their relative paths on
# 127.0.0.1, on a port the kernel picks, until http_stop (call it from the
# test's EXIT trap too). Sets HTTP_PORT and HTTP_PID. Returns only once the
# server listens: it prints its port after binding, and the shell blocks
# reading that line from a FIFO (no polling, no sleep). Every request is
# appended as "<path?query> <Authorization header or ->" to
# $WORK/http_requests.log before it is answered. The query string is ignored
# when looking up a file. Special paths:
#   /_status/<code>/...  answers <code> with a short body
#   /_hang/...           reads the request and never answers
#   anything else        the file under ROOT (200), or 404
http_start() {
    local fifo=$WORK/httpd.fifo
    cat >"$WORK/httpd.py" <<'PY'
import http.server, os, sys, threading, urllib.parse
root, log = os.path.realpath(sys.argv[1]), sys.argv[2]
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        with lock, open(log, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Authorization", "-")))
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = path.split("/")
        if path.startswith("/_hang/"):
            threading.Event().wait()
            return
        if path.startswith("/_status/") and parts[2].isdigit():
            code = int(parts[2])
            body = b"status %d\n" % code
        else:
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if full.startswith(root + os.sep) and os.path.isfile(full):
                code = 200
                with open(full, "rb") as f:
                    body = f.read()
            else:
                code, body = 404, b"not found\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
sys.stdout.write("%d\n" % server.server_address[1])
sys.stdout.flush()
os.close(1)
server.serve_forever()
PY
    rm -f "$fifo"
    mkfifo "$fifo" || return 1
    python3 "$WORK/httpd.py" "$1" "$WORK/http_requests.log" >"$fifo" 2>>"$WORK/httpd.err" &
    HTTP_PID=$!
    HTTP_PORT=
    read -r -t 30 HTTP_PORT <"$fifo" || true
    rm -f "$fifo"
    if ! [[ "$HTTP_PORT" =~ ^[0-9]+$ ]]; then
        echo "http_start: the server did not start: $(cat "$WORK/httpd.err" 2>/dev/null)"
        http_stop
        return 1
    fi
}

# http_stop: stops the server of http_start (if running) and reaps it.
http_stop() {
    if [ -n "${HTTP_PID:-}" ]; then
        kill "$HTTP_PID" 2>/dev/null
        wait "$HTTP_PID" 2>/dev/null
        HTTP_PID=
    fi
}

# http_requests PREFIX: how many logged requests start with PREFIX.
http_requests() {
    [ -f "$WORK/http_requests.log" ] || { echo 0; return; }
    awk -v p="$1" 'index($0, p) == 1 { n++ } END { print n + 0 }' "$WORK/http_requests.log"
}

# ---- the warehouse backend of the tests (PostgreSQL when MOONSTAT_TEST_PG is set) ----
#
# MOONSTAT_TEST_PG is a base libpq URI of a throwaway cluster (tests/pg/start.sh
# prints it, e.g. postgresql:///postgres?host=/tmp/moonstat-pg.X&user=postgres).
# When it is set, golden_setup (and any test that calls use_backend on its own
# configuration) gets a fresh database of its own instead of SQLite; the
# databases are dropped when the test exits (EXIT trap below; KEEP=1 keeps
# them, like $WORK). Unset, everything stays on SQLite.

# pg_testing: true when the suite runs against PostgreSQL.
pg_testing() {
    [ -n "${MOONSTAT_TEST_PG:-}" ]
}

# pg_uri_for DB: MOONSTAT_TEST_PG with its database replaced by DB.
pg_uri_for() {
    local base=$MOONSTAT_TEST_PG scheme rest auth query=""
    scheme=${base%%://*}
    rest=${base#*://}
    if [[ "$rest" == *\?* ]]; then
        query="?${rest#*\?}"
        rest=${rest%%\?*}
    fi
    auth=${rest%%/*}
    echo "$scheme://$auth/$1$query"
}

# pg_psql ARGS...: psql on the base database, quiet, failing on the first error.
pg_psql() {
    psql "$MOONSTAT_TEST_PG" -X -A -t -q -v ON_ERROR_STOP=1 "$@"
}

# use_backend DIR: with MOONSTAT_TEST_PG set, creates a fresh database for
# this test (name from the test's name, its process and a counter) and points
# the `warehouse = ...` line of DIR/moonstat.conf at it. Without it, nothing.
_PG_DB_SEQ=0
use_backend() {
    local dir=$1 db uri tmp
    pg_testing || return 0
    _PG_DB_SEQ=$((_PG_DB_SEQ + 1))
    db=$(printf 'ms_%s_%s_%s' "$TEST_NAME" "${BASHPID:-$$}" "$_PG_DB_SEQ" | tr 'A-Z' 'a-z' |
        tr -c 'a-z0-9_\n' '_')
    db=${db:0:63}
    if ! pg_psql -c "CREATE DATABASE \"$db\"" >/dev/null; then
        echo "use_backend: cannot create database $db on the test cluster" >&2
        return 1
    fi
    echo "$db" >>"$WORK/.pg_databases"
    uri=$(pg_uri_for "$db")
    tmp=$dir/moonstat.conf.tmp
    awk -v uri="$uri" '/^[ \t]*warehouse[ \t]*=/ { print "warehouse          = " uri; next } { print }' \
        "$dir/moonstat.conf" >"$tmp" && mv "$tmp" "$dir/moonstat.conf"
    grep -qF "= $uri" "$dir/moonstat.conf"
}

# pg_drop_test_databases: drops the databases use_backend made (also those
# made in subshells); run at exit.
pg_drop_test_databases() {
    local db
    [ -f "$WORK/.pg_databases" ] && pg_testing || return 0
    if [ -n "${KEEP:-}" ]; then
        echo "$TEST_NAME: kept databases: $(tr '\n' ' ' <"$WORK/.pg_databases")" >&2
        return 0
    fi
    while read -r db; do
        pg_psql -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done <"$WORK/.pg_databases"
    rm -f "$WORK/.pg_databases"
}

# The EXIT trap: drop the test databases first, then what was there before
# (removing $WORK). A test that sets its own EXIT trap should call
# pg_drop_test_databases in it (otherwise they stay until the cluster stops).
_pg_prev_exit_trap=$(trap -p EXIT)
_pg_prev_exit_trap=${_pg_prev_exit_trap#trap -- \'}
_pg_prev_exit_trap=${_pg_prev_exit_trap%\' EXIT}
_pg_prev_exit_trap=${_pg_prev_exit_trap//\'\\\'\'/\'}
trap 'pg_drop_test_databases; '"$_pg_prev_exit_trap" EXIT

# golden_setup DIR: as above, then on the suite's backend.
eval "_golden_setup_files() $(declare -f golden_setup | tail -n +2)"
golden_setup() {
    _golden_setup_files "$@" && use_backend "$1"
}

# wh_uri DIR: the warehouse URI of DIR/moonstat.conf (a relative sqlite path
# resolved as moonstat resolves it: against DIR).
wh_uri() {
    local v rest
    v=$(sed -n 's/^[ \t]*warehouse[ \t]*=[ \t]*//p' "$1/moonstat.conf" | tail -1)
    v=${v%"${v##*[![:space:]]}"}
    case $v in
    sqlite://*)
        rest=${v#sqlite://}
        if [[ "$rest" == /*/* ]]; then
            echo "$v"
        else
            echo "sqlite://$(cd "$1" && pwd)/${rest#/}"
        fi
        ;;
    *) echo "$v" ;;
    esac
}

# wh_sql DIR SQL: runs SQL on the warehouse DIR/moonstat.conf points at, on
# either backend; prints rows as sqlite3 does by default (columns joined by
# "|", NULL as empty). Write portable SQL (no rowid).
wh_sql() {
    local uri
    uri=$(wh_uri "$1")
    case $uri in
    sqlite://*) sqlite3 "${uri#sqlite://}" "$2" ;;
    postgres://* | postgresql://*) psql "$uri" -X -A -t -q -v ON_ERROR_STOP=1 -c "$2" ;;
    *) echo "wh_sql: unknown warehouse URI in $1/moonstat.conf" >&2; return 1 ;;
    esac
}

# pg_db_of URI: the database name of a postgresql:// URI.
pg_db_of() {
    local rest=${1#*://}
    rest=${rest#*/}
    echo "${rest%%\?*}"
}

# wh_copy SRC DST: a copy of the test directory SRC (cp -a) with a copy of
# its warehouse: on PostgreSQL a new database cloned from SRC's (CREATE
# DATABASE ... TEMPLATE; no run may be connected to SRC's meanwhile) that
# DST/moonstat.conf points at; on SQLite the file comes with the directory.
wh_copy() {
    local src=$1 dst=$2 uri db
    cp -a "$src" "$dst" || return 1
    uri=$(wh_uri "$src")
    case $uri in
    postgres://* | postgresql://*) ;;
    *) return 0 ;;
    esac
    _PG_DB_SEQ=$((_PG_DB_SEQ + 1))
    db=$(printf 'ms_%s_%s_%s' "$TEST_NAME" "${BASHPID:-$$}" "$_PG_DB_SEQ" | tr 'A-Z' 'a-z' |
        tr -c 'a-z0-9_\n' '_')
    db=${db:0:63}
    if ! pg_psql -c "CREATE DATABASE \"$db\" TEMPLATE \"$(pg_db_of "$uri")\"" >/dev/null; then
        echo "wh_copy: cannot clone the database of $src" >&2
        return 1
    fi
    echo "$db" >>"$WORK/.pg_databases"
    uri=$(pg_uri_for "$db")
    awk -v uri="$uri" '/^[ \t]*warehouse[ \t]*=/ { print "warehouse          = " uri; next } { print }' \
        "$dst/moonstat.conf" >"$dst/moonstat.conf.tmp" && mv "$dst/moonstat.conf.tmp" "$dst/moonstat.conf"
}

# wh_lock_held DIR: true while some run holds the one-run lock of DIR's
# warehouse: the flock on <db>.lock (SQLite), the advisory lock with key
# 0x6d6f6f6e73746174, "moonstat" (PostgreSQL: pg_locks splits it in two).
wh_lock_held() {
    local uri
    uri=$(wh_uri "$1")
    case $uri in
    sqlite://*) ! flock -n "${uri#sqlite://}.lock" true ;;
    *)
        [ "$(wh_sql "$1" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND classid = 1836019566 AND objid = 1937006964 AND objsubid = 1")" = 1 ]
        ;;
    esac
}

# wh_sql_csv DIR SQL: like wh_sql, as CSV with a header line (values with
# newlines or commas quoted; for python's csv module), on either backend.
wh_sql_csv() {
    local uri
    uri=$(wh_uri "$1")
    case $uri in
    sqlite://*) sqlite3 -csv -header "${uri#sqlite://}" "$2" ;;
    postgres://* | postgresql://*)
        psql "$uri" -X -q -v ON_ERROR_STOP=1 -c "COPY (${2%;}) TO STDOUT WITH (FORMAT csv, HEADER)" ;;
    *) echo "wh_sql_csv: unknown warehouse URI in $1/moonstat.conf" >&2; return 1 ;;
    esac
}

# simple_setup DIR GAME[:TZ]...: a small test directory: DIR/moonstat.conf
# (events from incoming/, warehouse.db, exports/, quarantine/, USD, exchange
# rates from the directory fx/, max_reject_rate ${MAX_REJECT_RATE:-0}) with
# one [game] section per argument (timezone TZ, default UTC), and empty
# DIR/incoming and DIR/fx; then on the suite's backend (use_backend).
#   MAX_REJECT_RATE=0.5 simple_setup "$W" g1:UTC g2:Asia/Tokyo
simple_setup() {
    local dir=$1 game tz
    shift
    mkdir -p "$dir/incoming" "$dir/fx" || return 1
    {
        cat <<CONF
[moonstat]
input_dir          = incoming
warehouse          = sqlite://warehouse.db
export_dir         = exports
quarantine_dir     = quarantine
reporting_currency = USD
fx_rates           = fx
max_reject_rate    = ${MAX_REJECT_RATE:-0}
CONF
        for game in "$@"; do
            tz=UTC
            [[ "$game" == *:* ]] && tz=${game#*:}
            printf '\n[game %s]\ntimezone = %s\n' "${game%%:*}" "$tz"
        done
    } >"$dir/moonstat.conf" || return 1
    if declare -F use_backend >/dev/null; then
        use_backend "$dir"
    fi
}

# gen_setup DIR GEN THREADS [SHIP_DAYS_UPTO]: a fresh test directory from
# moonstat-gen's output GEN: its configuration with `threads = THREADS`, its
# rate documents, its own warehouse (use_backend), and hard links to the
# generated input of the ship days up to the given one (all by default).
gen_setup() {
    local dir=$1 gen=$2 threads=$3 upto=${4:-9999-99-99}
    mkdir -p "$dir/incoming" || return 1
    cp "$gen/moonstat.conf" "$dir/" && cp -r "$gen/fx" "$dir/" || return 1
    sed -i "/^\[moonstat\]/a threads            = $threads" "$dir/moonstat.conf"
    gen_more_input "$dir" "$gen" "$upto" || return 1
    use_backend "$dir"
}

# gen_more_input DIR GEN [SHIP_DAYS_UPTO]: hard links to the ship days of
# GEN's input (up to the given one; all by default) that DIR does not have
# yet. (gen_setup again would give DIR a new warehouse on PostgreSQL.)
gen_more_input() {
    local d upto=${3:-9999-99-99}
    for d in "$2"/incoming/*; do
        [[ "$(basename "$d")" > "$upto" ]] && continue
        [ -e "$1/incoming/$(basename "$d")" ] || cp -al "$d" "$1/incoming/" || return 1
    done
}
