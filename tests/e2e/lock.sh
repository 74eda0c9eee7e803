#!/usr/bin/env bash
# One run at a time (operations.md: "a second `run` exits 75 immediately";
# "A run killed at any moment ... the next run finishes the job"):
#  - a run of the golden batch1 is frozen by the shim (MOONSTAT_STOP_AT: it
#    writes "stopped" to a fifo and raises SIGSTOP) in the middle of its work,
#    holding the warehouse lock; the test blocks on the fifo, so it knows;
#  - 8 runs started in parallel all exit 75;
#  - the frozen holder is killed with SIGKILL; the next run exits 0 with no
#    cleanup at all (the flock dies with its holder) and its exports equal an
#    uninterrupted run's;
#  - the same with a run frozen at its very first call on a fresh warehouse
#    (while it sets the warehouse up): a second run must still exit 75 at once
#    (with `timeout 20`: it must not wait for the frozen run either).
# STOP_AT=N overrides the call at which the holder stops (default: the middle
# of the run's shim calls).
source "$(dirname "$0")/lib.sh"

if sanitized; then
    skip_test "LD_PRELOAD failure injection does not work under ASan (SANITIZE=1)"
fi
check "the shim is built ($KILLER)" test -f "$KILLER"

# Reference: batch1, one uninterrupted run, counting the shim's calls.
REF=$WORK/ref
golden_setup "$REF"
golden_copy "$REF" batch1
LD_PRELOAD=$KILLER MOONSTAT_COUNT_FILE=$WORK/count run_moonstat "$REF" run --date 2026-11-07
check_eq "reference run exit code" "$?" "0"
n=$(cat "$WORK/count" 2>/dev/null || echo 0)
check "the reference run makes shim calls (got $n)" test "$n" -gt 20
ref_csv=$(csv_digest_all "$REF")
check "the reference run published daily_kpi" grep -q ' daily_kpi/dt=2026-11-07/daily_kpi.csv$' <<<"$ref_csv"
stop_at=${STOP_AT:-$((n / 2))}

# The holder: frozen at call $stop_at. The wrapper subshell reports on the
# fifo when it ends ("exited <status>"), so a holder that never stops cannot
# hang the test.
H=$WORK/holder
golden_setup "$H"
golden_copy "$H" batch1
FIFO=$WORK/fifo
mkfifo "$FIFO"
(
    { (
        echo "$BASHPID" >"$WORK/holder.pid"
        LD_PRELOAD=$KILLER MOONSTAT_STOP_AT=$stop_at MOONSTAT_STOP_FIFO=$FIFO \
            exec "$MOONSTAT" run --date 2026-11-07 --config "$H/moonstat.conf" 2>>"$H/log"
    ); } 2>/dev/null
    echo "exited $?" >"$FIFO"
) &
wrapper=$!
read -r state <"$FIFO"
check_eq "the holder stopped at call $stop_at" "$state" "stopped"
holder=$(cat "$WORK/holder.pid")

if [ "$state" = stopped ]; then
    check_eq "the holder is stopped (process state)" "$(ps -o stat= -p "$holder" | cut -c1)" "T"
    if ! pg_testing; then
        check "the holder holds the flock on warehouse.db.lock" \
            bash -c '! flock -n "$1" true' _ "$H/warehouse.db.lock"
    fi
    : >"$WORK/others.log"
    before=$(tree_snapshot "$H/exports"; tree_snapshot "$H/quarantine")
    pids=()
    for _ in $(seq 1 8); do
        timeout 20 "$MOONSTAT" run --date 2026-11-07 --config "$H/moonstat.conf" 2>>"$WORK/others.log" &
        pids+=($!)
    done
    codes=""
    for p in "${pids[@]}"; do
        wait "$p"
        codes+="$? "
    done
    check_eq "8 parallel runs while the lock is held" "${codes% }" "75 75 75 75 75 75 75 75"
    check_eq "each of them says so on stderr (one line naming the lock)" \
        "$(grep -ci 'lock' "$WORK/others.log")" "8"
    check_eq "none of them touched exports or quarantine" \
        "$(tree_snapshot "$H/exports"; tree_snapshot "$H/quarantine")" "$before"
    check_eq "the holder is still stopped" "$(ps -o stat= -p "$holder" | cut -c1)" "T"
    kill -KILL "$holder"
    read -r state <"$FIFO"
    check_eq "the holder died by SIGKILL" "$state" "exited 137"
fi
wait "$wrapper"

if ! pg_testing; then
    check "the lock file is still there (no cleanup)" test -e "$H/warehouse.db.lock"
    check "the flock died with its holder" flock -n "$H/warehouse.db.lock" true
fi
run_moonstat "$H" run --date 2026-11-07
check_eq "the next run after the kill exit code" "$?" "0"
check_eq "its exports equal an uninterrupted run's (all CSVs)" "$(csv_digest_all "$H")" "$ref_csv"
check_eq "its daily_kpi equals an uninterrupted run's" "$(csv_digest "$H" daily_kpi)" \
    "$(csv_digest "$REF" daily_kpi)"
check_eq "no staging directory left" "$(hidden_entries "$H")" ""
check_eq "the killed run is marked interrupted, the next one ok (the 75s are not recorded)" \
    "$(wh_sql "$H" "select status, coalesce(exit_code, -1), count(*) from runs group by status, exit_code order by status")" \
    "interrupted|-1|1
ok|0|1"

# Case 2: frozen at its first call on a fresh warehouse.
H2=$WORK/fresh
golden_setup "$H2"
golden_copy "$H2" batch1
(
    { (
        echo "$BASHPID" >"$WORK/holder2.pid"
        LD_PRELOAD=$KILLER MOONSTAT_STOP_AT=1 MOONSTAT_STOP_FIFO=$FIFO \
            exec "$MOONSTAT" run --date 2026-11-07 --config "$H2/moonstat.conf" 2>>"$H2/log"
    ); } 2>/dev/null
    echo "exited $?" >"$FIFO"
) &
wrapper=$!
read -r state <"$FIFO"
check_eq "fresh warehouse: the first run stopped at its first call" "$state" "stopped"
if [ "$state" = stopped ]; then
    timeout 20 "$MOONSTAT" run --date 2026-11-07 --config "$H2/moonstat.conf" 2>"$WORK/second.log"
    rc=$?
    check_eq "fresh warehouse: a second run while the first sets it up exits 75 (stderr: $(tail -1 "$WORK/second.log"))" \
        "$rc" "75"
    kill -KILL "$(cat "$WORK/holder2.pid")"
    read -r state <"$FIFO"
    check_eq "fresh warehouse: the first run died by SIGKILL" "$state" "exited 137"
fi
wait "$wrapper"
run_moonstat "$H2" run --date 2026-11-07
check_eq "fresh warehouse: the next run exit code" "$?" "0"
check_eq "fresh warehouse: its exports equal an uninterrupted run's" "$(csv_digest_all "$H2")" "$ref_csv"
finish
