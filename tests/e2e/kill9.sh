#!/usr/bin/env bash
# kill -9 at any moment (operations.md: "A run killed at any moment (kill -9,
# power loss) leaves no partial day in the warehouse and no partial export;
# the next run finishes the job and the result is identical to an
# uninterrupted run").
#
# The shim tests/e2e/killer.c numbers the calls to fsync, fdatasync, rename,
# renameat, renameat2 and unlink, and raises SIGKILL before the Nth one. The
# golden nightly is counted once under the shim; 10 kill points are drawn
# (RANDOM=42), one in each tenth of the two runs' calls. For each: a fresh
# copy runs the nightly sequence, the run holding the kill point under
# MOONSTAT_KILL_AT (it must die by SIGKILL); right after the kill every
# published partition must be complete (CSV + matching manifest + _SUCCESS);
# the same run is then rerun without the shim and the sequence goes on. In
# the end every CSV of every report equals the uninterrupted run's, the
# quarantine files too, and no staging directory or temporary file is left
# under exports/. Kill points run two at a time (separate directories); a
# kill point in run 2 starts from a copy of the state after an uninterrupted
# run 1. The scratch directories go to /dev/shm when TMPDIR is not set (the
# test is about process death, not power loss: tmpfs keeps it fast).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export TMPDIR=/dev/shm
fi
source "$(dirname "$0")/lib.sh"

if sanitized; then
    skip_test "LD_PRELOAD failure injection does not work under ASan (SANITIZE=1)"
fi
check "the shim is built ($KILLER)" test -f "$KILLER"

DATES=(2026-11-07 2026-11-08)

quarantine_digest() {
    (cd "$1/quarantine" 2>/dev/null && find . -name '*.rejected.tsv' | LC_ALL=C sort | xargs -r sha256sum)
}

# Reference: the uninterrupted nightly.
REF=$WORK/ref
golden_setup "$REF"
check_eq "reference nightly exit codes" "$(golden_nightly "$REF")" "0 0"
ref_csv=$(csv_digest_all "$REF")
ref_quarantine=$(quarantine_digest "$REF")
check_eq "reference has the daily_kpi and data_quality CSVs of 2026-11-08" \
    "$(grep -cE ' (daily_kpi|data_quality)/dt=2026-11-08/' <<<"$ref_csv")" "2"

# The number of shim calls of each run of the sequence.
CNT=$WORK/count
golden_setup "$CNT"
counts=()
for r in 1 2; do
    golden_copy "$CNT" "batch$r"
    LD_PRELOAD=$KILLER MOONSTAT_COUNT_FILE=$WORK/count$r run_moonstat "$CNT" run --date "${DATES[r - 1]}"
    check_eq "counted run $r exit code" "$?" "0"
    [ "$r" -eq 1 ] && cp -a "$CNT" "$WORK/after1"
    counts+=("$(cat "$WORK/count$r" 2>/dev/null || echo 0)")
done
n1=${counts[0]}
n2=${counts[1]}
check "run 1 makes shim calls (got $n1)" test "$n1" -gt 10
check "run 2 makes shim calls (got $n2)" test "$n2" -gt 10
check_eq "the shim changes nothing when it does not kill" "$(csv_digest_all "$CNT")" "$ref_csv"
total=$((n1 + n2))

RANDOM=42
POINTS=()
for i in $(seq 0 9); do
    lo=$((i * total / 10 + 1))
    hi=$(((i + 1) * total / 10))
    POINTS+=($((lo + RANDOM % (hi - lo + 1))))
done
echo "$TEST_NAME: $n1 + $n2 calls; kill points: ${POINTS[*]}"
in_run2=0
for k in "${POINTS[@]}"; do
    [ "$k" -gt "$n1" ] && in_run2=$((in_run2 + 1))
done
check "kill points fall in both runs (run 2: $in_run2 of 10)" test "$in_run2" -ge 1 -a "$in_run2" -le 9

# kill_case K: the nightly sequence killed at global call K; prints FAIL
# lines and a final "COUNTS passed failed" line.
kill_case() {
    local k=$1 dir=$WORK/kill$1 r kill_run kill_run_from kill_at rc what problems
    PASSED=0
    FAILED=0
    if [ "$k" -le "$n1" ]; then
        kill_run=1
        kill_at=$k
    else
        kill_run=2
        kill_at=$((k - n1))
    fi
    what="kill point $k (run $kill_run, call $kill_at)"
    if [ "$kill_run" -eq 1 ] || pg_testing; then
        golden_setup "$dir"
        kill_run_from=1
    else
        cp -a "$WORK/after1" "$dir" # batch1 copied and run 1 done, uninterrupted (SQLite)
        : >"$dir/log"
        kill_run_from=2
    fi
    for r in $(seq "$kill_run_from" 2); do
        golden_copy "$dir" "batch$r"
        if [ "$r" -eq "$kill_run" ]; then
            { LD_PRELOAD=$KILLER MOONSTAT_KILL_AT=$kill_at run_moonstat "$dir" run --date "${DATES[r - 1]}"; } 2>/dev/null
            rc=$?
            check_eq "$what: the run dies by SIGKILL" "$rc" "137"
            problems=$(export_problems "$dir")
            check_eq "$what: every published partition is complete right after the kill" "$problems" ""
        fi
        run_moonstat "$dir" run --date "${DATES[r - 1]}"
        check_eq "$what: run $r (re)run without the shim exits 0" "$?" "0"
    done
    check_eq "$what: all CSVs equal the uninterrupted run's" "$(csv_digest_all "$dir")" "$ref_csv"
    check_eq "$what: quarantine files equal the uninterrupted run's" "$(quarantine_digest "$dir")" \
        "$ref_quarantine"
    check_eq "$what: no staging directory or temporary file left under exports/" \
        "$(hidden_entries "$dir")" ""
    check_eq "$what: partitions complete at the end" "$(export_problems "$dir")" ""
    echo "COUNTS $PASSED $FAILED"
}

for ((i = 0; i < 10; i += 2)); do
    kill_case "${POINTS[i]}" >"$WORK/case$i.out" 2>&1 &
    p1=$!
    kill_case "${POINTS[i + 1]}" >"$WORK/case$((i + 1)).out" 2>&1 &
    p2=$!
    wait "$p1" "$p2"
done
for i in $(seq 0 9); do
    out=$WORK/case$i.out
    grep -v '^COUNTS ' "$out"
    line=$(grep '^COUNTS ' "$out" | tail -1)
    if [ -z "$line" ]; then
        FAILED=$((FAILED + 1))
        echo "FAIL $TEST_NAME: kill point ${POINTS[i]}: the case did not finish"
        continue
    fi
    set -- $line
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
done
finish
