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
    (cd "$dir/exports" 2>/dev/null && for r in "${@:-*}"; do
        find "$r" -name '*.csv' 2>/dev/null
    done | sort | xargs -r sha256sum)
}

# manifest_ok PARTITION_DIR REPORT: manifest rows/sha256/bytes match the CSV and _SUCCESS exists.
manifest_ok() {
    python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys
d, r = sys.argv[1], sys.argv[2]
csv = open(os.path.join(d, r + ".csv"), "rb").read()
m = json.load(open(os.path.join(d, "manifest.json")))
ok = (m["sha256"] == hashlib.sha256(csv).hexdigest() and m["bytes"] == len(csv)
      and m["rows"] == csv.count(b"\n") - 1 and m["report"] == r
      and m["partition"] == os.path.basename(d)[3:] and m["file"] == r + ".csv"
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
