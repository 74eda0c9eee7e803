#!/usr/bin/env bash
# A lost PostgreSQL connection (PostgreSQL only). The test freezes moonstat
# at a chosen point (SIGSTOP, from an LD_PRELOAD shim), terminates its server
# process from a second connection (pg_terminate_backend), and lets it go on
# (SIGCONT):
#  A. in the middle of run 1's bulk load (inside the ingest transaction, just
#     before a COPY ends): the run exits 1 saying "connection lost", not one
#     fact, file or report row of the run is kept (no partial day); the next
#     runs exit 0 and the exports equal the golden expected CSVs;
#  B. in the middle of run 2's recompute (inside its transaction; B1 at a
#     query, B2 while report rows are being written; both with one compute
#     worker, which reads on the job's connection inside the transaction):
#     exit 1, every day's daily_kpi rows are exactly those of before the
#     run (none half rewritten); the rerun exits 0 and the exports equal the
#     golden;
#  B3. with two compute workers, at a query of the worker thread (on its own
#     connection, outside any transaction; the job's connection is idle
#     outside one too, its transaction opens for the replay of the workers'
#     writes): both server processes are terminated, each connection is
#     opened again where it is next used, and the run exits 0 with the
#     golden exports;
#  B4. with two threads, at the first read-back of the merge's look-up thread
#     (on its own connection, inside its own read transaction, while the
#     job's connection is inside the store's): both server processes are
#     terminated, the run exits 1 with one error line saying "connection
#     lost", nothing of run 2 kept and the failure recorded, and its rerun
#     gives the golden exports;
#  C. while run 2 publishes (outside any transaction, a safe point: the
#     killer shim's file calls): the backend reconnects and retries, the run
#     exits 0 and its exports equal the golden;
#  D. as A, but the client itself dies (SIGKILL) while frozen: the server
#     rolls back, the lock is free, the rerun completes.
# The libpq shim (built here from C) numbers the calls to PQputCopyEnd,
# PQexecPrepared and PQsendQueryPrepared (all of them, those made inside a
# transaction, and those made by a thread other than the main one) and stops
# at MOONSTAT_PQ_STOP_AT=<function>:<n> (or <function>@tx:<n>, or
# <function>@thread:<n>), reporting "stopped <spec> <transaction status>" on a
# FIFO first (PQtransactionStatus: 0 idle, 1 a command in progress, 2 idle
# inside a transaction). No sleeps: the test blocks on the FIFO and on the
# process state.
source "$(dirname "$0")/lib.sh"

if ! pg_testing; then
    skip_test "PostgreSQL only (set MOONSTAT_TEST_PG, see tests/pg/start.sh)"
fi
if sanitized; then
    skip_test "LD_PRELOAD failure injection does not work under ASan (SANITIZE=1)"
fi

# ---- the libpq shim ------------------------------------------------------------
SHIM=$WORK/pqstop.so
cat >"$WORK/pqstop.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int PQputCopyEnd(PGconn *conn, const char *errormsg);
PGresult *PQexecPrepared(PGconn *conn, const char *stmtName, int nParams,
                         const char *const *paramValues, const int *paramLengths,
                         const int *paramFormats, int resultFormat);
int PQsendQueryPrepared(PGconn *conn, const char *stmtName, int nParams,
                        const char *const *paramValues, const int *paramLengths,
                        const int *paramFormats, int resultFormat);

/* Calls of each function: all of them, and those made inside a transaction. */
enum { COPY_END, EXEC_PREPARED, SEND_PREPARED, NFN };
static const char *const names[NFN] = {"PQputCopyEnd", "PQexecPrepared", "PQsendQueryPrepared"};
static unsigned long calls[NFN], in_tx[NFN], in_thread[NFN];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void point(PGconn *conn, int fn)
{
    const char *at = getenv("MOONSTAT_PQ_STOP_AT"), *fifo = getenv("MOONSTAT_STOP_FIFO");
    int status = (int)PQtransactionStatus(conn);
    int other_thread = (pid_t)syscall(SYS_gettid) != getpid();
    char all[64], tx[64], th[64], line[128];
    int fd, len, hit;
    pthread_mutex_lock(&mu);
    calls[fn]++;
    if (status != PQTRANS_IDLE)
        in_tx[fn]++;
    if (other_thread)
        in_thread[fn]++;
    snprintf(all, sizeof all, "%s:%lu", names[fn], calls[fn]);
    snprintf(tx, sizeof tx, "%s@tx:%lu", names[fn], in_tx[fn]);
    snprintf(th, sizeof th, "%s@thread:%lu", names[fn], in_thread[fn]);
    pthread_mutex_unlock(&mu);
    if (!at || !fifo)
        return;
    hit = strcmp(at, all) == 0 || (status != PQTRANS_IDLE && strcmp(at, tx) == 0) ||
          (other_thread && strcmp(at, th) == 0);
    if (!hit)
        return;
    len = snprintf(line, sizeof line, "stopped %s %d\n", at, status);
    fd = open(fifo, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, line, (size_t)len) < 0) {
        }
        close(fd);
    }
    raise(SIGSTOP);
}

typedef int (*copy_end_fn)(PGconn *, const char *);
typedef PGresult *(*exec_prepared_fn)(PGconn *, const char *, int, const char *const *,
                                      const int *, const int *, int);
typedef int (*send_prepared_fn)(PGconn *, const char *, int, const char *const *, const int *,
                                const int *, int);

#define REAL(type, name) \
    static type real; \
    if (!real) \
        *(void **)&real = dlsym(RTLD_NEXT, name)

int PQputCopyEnd(PGconn *conn, const char *errormsg)
{
    REAL(copy_end_fn, "PQputCopyEnd");
    point(conn, COPY_END);
    return real(conn, errormsg);
}

PGresult *PQexecPrepared(PGconn *conn, const char *stmtName, int nParams,
                         const char *const *paramValues, const int *paramLengths,
                         const int *paramFormats, int resultFormat)
{
    REAL(exec_prepared_fn, "PQexecPrepared");
    point(conn, EXEC_PREPARED);
    return real(conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat);
}

int PQsendQueryPrepared(PGconn *conn, const char *stmtName, int nParams,
                        const char *const *paramValues, const int *paramLengths,
                        const int *paramFormats, int resultFormat)
{
    REAL(send_prepared_fn, "PQsendQueryPrepared");
    point(conn, SEND_PREPARED);
    return real(conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat);
}

/* MOONSTAT_PQ_COUNT_FILE: "<function> <calls> <inside a transaction> <by another thread>"
 * lines. */
static void done(void) __attribute__((destructor));
static void done(void)
{
    const char *path = getenv("MOONSTAT_PQ_COUNT_FILE");
    FILE *f;
    int i;
    if (!path || !(f = fopen(path, "w")))
        return;
    for (i = 0; i < NFN; i++)
        fprintf(f, "%s %lu %lu %lu\n", names[i], calls[i], in_tx[i], in_thread[i]);
    fclose(f);
}
C
check "the libpq shim builds" ${CC:-cc} -std=c17 -Wall -Wextra -Werror -O1 -fPIC -shared \
    $(pkg-config --cflags libpq) -o "$SHIM" "$WORK/pqstop.c" -ldl -lpthread
[ -f "$SHIM" ] || finish
check "the killer shim is built ($KILLER)" test -f "$KILLER"

DATES=(2026-11-07 2026-11-08)
FIFO=$WORK/fifo
mkfifo "$FIFO"
want_csv=$(cd "$GOLDEN/expected" && find daily_kpi data_quality retention ltv revenue revenue_by_currency \
    -name '*.csv' | LC_ALL=C sort | xargs sha256sum)

# golden_digest DIR: the digest of DIR's CSVs of the reports in expected/.
golden_digest() {
    (cd "$1/exports" && find daily_kpi data_quality retention ltv revenue revenue_by_currency \
        -name '*.csv' 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum)
}

# kpi_rows DIR: every daily_kpi row, one line each, sorted; kpi_digest DIR:
# their sha256 (what the checks compare, to keep a failure's message short).
kpi_rows() {
    wh_sql "$1" "SELECT * FROM daily_kpi ORDER BY date, game_id, platform, country"
}
kpi_digest() {
    kpi_rows "$1" | sha256sum | cut -c1-16
}

# frozen_run DIR DATE ACTION ENV...: runs moonstat with ENV (the shim and its
# stop point); when it stops, ACTION: "terminate" its server process, or
# "kill" it (SIGKILL); then lets it go on. Sets STATE (the shim's line, or
# "exited N" when it never stopped) and RC.
frozen_run() {
    local dir=$1 date=$2 action=$3 pid i db
    shift 3
    TERMINATED=none
    (
        { (
            echo "$BASHPID" >"$WORK/run.pid"
            exec env "$@" MOONSTAT_STOP_FIFO="$FIFO" "$MOONSTAT" run --date "$date" \
                --config "$dir/moonstat.conf" 2>>"$dir/log"
        ); } 2>/dev/null
        echo "exited $?" >"$FIFO"
    ) &
    local wrapper=$!
    read -r STATE <"$FIFO"
    pid=$(cat "$WORK/run.pid")
    RC=
    if [[ "$STATE" == stopped* ]]; then
        for ((i = 0; i < 1000000; i++)); do # until the process is stopped (SIGSTOP delivered)
            [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = T ] && break
        done
        db=$(pg_db_of "$(wh_uri "$dir")")
        if [ "$action" = terminate ]; then
            TERMINATED=$(pg_psql -c "SELECT count(pg_terminate_backend(pid, 10000)) FROM
                pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()")
            kill -CONT "$pid"
        else
            kill -KILL "$pid"
            kill -CONT "$pid" 2>/dev/null
        fi
        read -r ended <"$FIFO"
        RC=${ended#exited }
    else
        RC=${STATE#exited }
    fi
    wait "$wrapper"
}

# ---- reference counts: how many COPYs and prepared statements each run makes
# with_threads DIR N: `threads = N` in DIR's configuration.
with_threads() { sed -i "/^\[moonstat\]/a threads = $2" "$1/moonstat.conf"; }
C0=$WORK/count
golden_setup "$C0"
with_threads "$C0" 1
for r in 1 2; do
    golden_copy "$C0" "batch$r"
    MOONSTAT_PQ_COUNT_FILE=$WORK/pq$r LD_PRELOAD="$SHIM:$KILLER" \
        MOONSTAT_COUNT_FILE=$WORK/files$r run_moonstat "$C0" run --date "${DATES[r - 1]}"
    check_eq "counted run $r exit code" "$?" "0"
done
# count FILE FUNCTION [tx]: a count of the shim's file.
count() { awk -v f="$2" -v c="${3:-all}" '$1 == f { print (c == "tx" ? $3 : c == "thread" ? $4 : $2) }' "$1"; }
copies1=$(count "$WORK/pq1" PQputCopyEnd)
exec2=$(count "$WORK/pq2" PQexecPrepared tx)
send2=$(count "$WORK/pq2" PQsendQueryPrepared tx)
files2=$(cat "$WORK/files2")
echo "$TEST_NAME: run 1: $copies1 COPYs; run 2 inside transactions: $exec2 prepared queries," \
    "$send2 pipelined statements; run 2: $files2 file calls"
check "run 1 bulk-loads with COPY (got $copies1)" test "$copies1" -ge 5
check "run 2 reads inside transactions (got $exec2)" test "$exec2" -ge 100
check "run 2 pipelines statements (got $send2)" test "$send2" -ge 100
check_eq "the counted runs give the golden exports" "$(golden_digest "$C0")" "$want_csv"
# The same two runs with two compute workers: the other thread's queries.
C2=$WORK/count2
golden_setup "$C2"
with_threads "$C2" 2
for r in 1 2; do
    golden_copy "$C2" "batch$r"
    MOONSTAT_PQ_COUNT_FILE=$WORK/pq2-$r LD_PRELOAD="$SHIM" run_moonstat "$C2" run --date "${DATES[r - 1]}"
    check_eq "counted run $r with two compute workers: exit code" "$?" "0"
done
thread2=$(count "$WORK/pq2-2" PQexecPrepared thread)
check "run 2 with two compute workers: the worker thread queries (got $thread2)" \
    test "$thread2" -ge 20
check_eq "the counted runs with two compute workers give the golden exports" \
    "$(golden_digest "$C2")" "$want_csv"

# ---- A. lost in the middle of run 1's bulk load --------------------------------
A=$WORK/A
golden_setup "$A"
golden_copy "$A" batch1
# A password in the URI (the test cluster trusts every local connection and
# ignores it): it must appear in no message.
sed -i 's|^\(warehouse *= *postgres[a-z]*://\)|\1postgres:Secr3tPw@|' "$A/moonstat.conf"
chmod 600 "$A/moonstat.conf" # moonstat refuses a readable file with a password
check "A: the URI carries a password" grep -q 'Secr3tPw@' "$A/moonstat.conf"
k=$(((copies1 + 1) / 2))
frozen_run "$A" 2026-11-07 terminate LD_PRELOAD="$SHIM" MOONSTAT_PQ_STOP_AT=PQputCopyEnd:$k
check_eq "A: stopped before COPY $k ends (a command in progress: status 1, ACTIVE)" "$STATE" \
    "stopped PQputCopyEnd:$k 1"
check_eq "A: one server process terminated" "$TERMINATED" "1"
check_eq "A: the run exits 1" "$RC" "1"
check "A: the log says the connection was lost" grep -q 'connection lost' "$A/log"
check "A: the password is not in the log" bash -c '! grep -q "Secr3tPw" "$1"' _ "$A/log"
check_eq "A: no fact of the run kept (devices, accounts, activity, payments, roles)" \
    "$(wh_sql "$A" "SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM accounts) +
        (SELECT count(*) FROM activity) + (SELECT count(*) FROM payments) + (SELECT count(*) FROM roles)")" "0"
check_eq "A: no file recorded as ingested" "$(wh_sql "$A" "SELECT count(*) FROM ingested_files")" "0"
check_eq "A: no daily_kpi row" "$(wh_sql "$A" "SELECT count(*) FROM daily_kpi")" "0"
check_eq "A: the failed run is recorded" "$(wh_sql "$A" "SELECT status, exit_code FROM runs")" "failed|1"
run_moonstat "$A" run --date 2026-11-07
check_eq "A: run 1 again exits 0" "$?" "0"
golden_copy "$A" batch2
run_moonstat "$A" run --date 2026-11-08
check_eq "A: run 2 exits 0" "$?" "0"
check_eq "A: exports equal the golden expected CSVs" "$(golden_digest "$A")" "$want_csv"

# ---- B. lost in the middle of run 2's recompute ----------------------------------
# lost_in_recompute NAME STOP: with one compute worker, run 1, then run 2
# stopped at STOP (inside a transaction: status 1, a pipeline in flight, or
# 2, idle in it).
lost_in_recompute() {
    local name=$1 stop=$2 dir=$WORK/$1 before mixed
    golden_setup "$dir"
    with_threads "$dir" 1
    golden_copy "$dir" batch1
    run_moonstat "$dir" run --date 2026-11-07
    check_eq "$name: run 1 exits 0" "$?" "0"
    before=$(kpi_rows "$dir")
    golden_copy "$dir" batch2
    frozen_run "$dir" 2026-11-08 terminate LD_PRELOAD="$SHIM" MOONSTAT_PQ_STOP_AT=$stop
    check "$name: stopped at $stop, inside a transaction (got: $STATE)" \
        test "${STATE% [12]}" = "stopped $stop" -a "$STATE" != "stopped $stop"
    check_eq "$name: the run exits 1" "$RC" "1"
    check "$name: the log says the connection was lost" grep -q 'connection lost' "$dir/log"
    check_eq "$name: daily_kpi is exactly as before the run (no day half rewritten)" \
        "$(kpi_digest "$dir")" "$(echo "$before" | sha256sum | cut -c1-16)"
    # Day by day against a clean run: every day's rows are either those of
    # before the run or those of the complete run, never a mix.
    mixed=$(python3 - <(echo "$before") <(kpi_rows "$C0") <(kpi_rows "$dir") <<'PY'
import sys
def by_day(path):
    d = {}
    for line in open(path):
        if line.strip():
            d.setdefault(line.split("|")[0], set()).add(line)
    return d
before, clean, now = (by_day(p) for p in sys.argv[1:4])
days = sorted(set(before) | set(clean) | set(now))
print(" ".join(d for d in days if now.get(d, set()) not in (before.get(d, set()), clean.get(d, set()))))
PY
)
    check_eq "$name: no day mixes rows of before and after the run" "$mixed" ""
    run_moonstat "$dir" run --date 2026-11-08
    check_eq "$name: run 2 again exits 0" "$?" "0"
    check_eq "$name: exports equal the golden expected CSVs" "$(golden_digest "$dir")" "$want_csv"
    check_eq "$name: daily_kpi equals the clean run's" "$(kpi_digest "$dir")" "$(kpi_digest "$C0")"
}
# B1: a query waiting for its rows; B2: report rows being written (pipelined).
lost_in_recompute B1 "PQexecPrepared@tx:$((exec2 * 2 / 3))"
lost_in_recompute B2 "PQsendQueryPrepared@tx:$((send2 / 2))"

# ---- B3. lost at a query of a compute worker --------------------------------------
# ready_for_run2 NAME: with two threads, run 1 (checked), then batch 2 in place.
ready_for_run2() {
    golden_setup "$WORK/$1"
    with_threads "$WORK/$1" 2
    golden_copy "$WORK/$1" batch1
    run_moonstat "$WORK/$1" run --date 2026-11-07
    check_eq "$1: run 1 exits 0" "$?" "0"
    golden_copy "$WORK/$1" batch2
}
B3=$WORK/B3
ready_for_run2 B3
stop="PQexecPrepared@thread:$((thread2 / 2))"
frozen_run "$B3" 2026-11-08 terminate LD_PRELOAD="$SHIM" MOONSTAT_PQ_STOP_AT=$stop
check_eq "B3: stopped at $stop, outside any transaction" "$STATE" "stopped $stop 0"
check "B3: the worker's and the job's server processes terminated (got $TERMINATED)" \
    test "$TERMINATED" -ge 2
check_eq "B3: the run reconnects, retries and exits 0" "$RC" "0"
check_eq "B3: exports equal the golden expected CSVs" "$(golden_digest "$B3")" "$want_csv"
check_eq "B3: daily_kpi equals the clean run's" "$(kpi_digest "$B3")" "$(kpi_digest "$C0")"

# ---- B4. lost at a read-back of the merge's look-up thread ---------------------------
# With two threads a night's merge reads the stored rows back on a connection
# of its own, inside a read transaction of its own (etl/merge_lookup.h), while
# the job's connection writes inside the store's transaction: the first query
# of a thread other than the main one in run 2 is that thread's.
# fact_counts DIR: the rows of each fact table and the files ingested.
fact_counts() {
    wh_sql "$1" "SELECT (SELECT count(*) FROM devices) || ' ' || (SELECT count(*) FROM accounts)
        || ' ' || (SELECT count(*) FROM activity) || ' ' || (SELECT count(*) FROM payments) || ' '
        || (SELECT count(*) FROM roles) || ' ' || (SELECT count(*) FROM ingested_files)"
}
B4=$WORK/B4
ready_for_run2 B4
facts_before=$(fact_counts "$B4")
kpi_before=$(kpi_digest "$B4")
stop="PQexecPrepared@thread:1"
frozen_run "$B4" 2026-11-08 terminate LD_PRELOAD="$SHIM" MOONSTAT_PQ_STOP_AT=$stop
check_eq "B4: stopped at $stop, inside the look-ups' read transaction" "$STATE" "stopped $stop 2"
check "B4: the look-ups' and the job's server processes terminated (got $TERMINATED)" \
    test "$TERMINATED" -ge 2
check_eq "B4: the run exits 1" "$RC" "1"
check "B4: the log says the connection was lost" grep -q 'connection lost' "$B4/log"
# The job's ROLLBACK is the first statement to find its connection dead: it
# reconnects (the server rolled back), so the run record is written, and the
# reports are not computed without the run's facts: one error line.
check_eq "B4: one error line" "$(sed -n '/up to 2026-11-08/,$p' "$B4/log" | grep -c ' ERROR ')" "1"
check_eq "B4: the failed run is recorded" \
    "$(wh_sql "$B4" "SELECT status, exit_code FROM runs WHERE run_date = '2026-11-08'")" "failed|1"
check_eq "B4: no fact or file of run 2 kept" "$(fact_counts "$B4")" "$facts_before"
check_eq "B4: daily_kpi is as after run 1" "$(kpi_digest "$B4")" "$kpi_before"
run_moonstat "$B4" run --date 2026-11-08
check_eq "B4: run 2 again exits 0" "$?" "0"
check_eq "B4: exports equal the golden expected CSVs" "$(golden_digest "$B4")" "$want_csv"
check_eq "B4: daily_kpi equals the clean run's" "$(kpi_digest "$B4")" "$(kpi_digest "$C0")"

# ---- C. lost while publishing (a safe point) ---------------------------------------
Cdir=$WORK/C
golden_setup "$Cdir"
golden_copy "$Cdir" batch1
run_moonstat "$Cdir" run --date 2026-11-07
check_eq "C: run 1 exits 0" "$?" "0"
golden_copy "$Cdir" batch2
k=$((files2 - 5))
frozen_run "$Cdir" 2026-11-08 terminate LD_PRELOAD="$KILLER" MOONSTAT_STOP_AT=$k
check_eq "C: stopped at file call $k" "$STATE" "stopped"
check_eq "C: one server process terminated" "$TERMINATED" "1"
check_eq "C: the run reconnects, retries and exits 0" "$RC" "0"
check_eq "C: exports equal the golden expected CSVs" "$(golden_digest "$Cdir")" "$want_csv"
check_eq "C: the run is recorded ok" \
    "$(wh_sql "$Cdir" "SELECT status, exit_code FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1")" "ok|0"

# ---- D. the client dies in the middle of the bulk load -------------------------------
D=$WORK/D
golden_setup "$D"
golden_copy "$D" batch1
k=$(((copies1 + 1) / 2))
frozen_run "$D" 2026-11-07 kill LD_PRELOAD="$SHIM" MOONSTAT_PQ_STOP_AT=PQputCopyEnd:$k
check_eq "D: stopped before COPY $k ends" "$STATE" "stopped PQputCopyEnd:$k 1"
check_eq "D: the run died by SIGKILL" "$RC" "137"
run_moonstat "$D" run --date 2026-11-07
check_eq "D: run 1 again exits 0 (no stale lock)" "$?" "0"
golden_copy "$D" batch2
run_moonstat "$D" run --date 2026-11-08
check_eq "D: run 2 exits 0" "$?" "0"
check_eq "D: exports equal the golden expected CSVs" "$(golden_digest "$D")" "$want_csv"
finish
