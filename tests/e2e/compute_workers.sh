#!/usr/bin/env bash
# Stage 2 (the reports) runs one game per compute worker (`threads`, at most
# one per game; issue 4, item 3). A worker reads on its own connection and
# its writes wait, recorded, to be run in game order on the job's
# connection inside the stage's one transaction (etl/warehouse_split.h).
# Generated data (3 games, every awkward kind of line, ~10000 events, 6
# days), each case with threads = 1, 2 and 3, each into a fresh warehouse:
#  1. two nightly runs and then a backfill of every day: exit codes 0 0 0;
#     every report table (daily_kpi, retention, ltv, revenue,
#     revenue_by_currency, data_quality), game_state, dirty_days,
#     pending_exports and the exported files are identical, and so is the
#     "warehouse work" line of each night (statements, rows read, VM steps:
#     the workers ran exactly the statements one thread runs); the
#     backfill's statements too (a worker does not read back the backfill's
#     days from dirty_days, whose insert waits: it has them in memory, so
#     its rows and steps are fewer by those rows); the first night's VM
#     steps are left out: one thread reads a game's stored first-active
#     counts after the games before it wrote theirs, a worker before, and a
#     B-tree seek into an empty table is a few VM steps shorter than one into
#     a table holding other games' rows (same rows read);
#  2. exchange rates missing for the first days and one day substituted: exit
#     3 with the same WARN and ERROR lines in the same order, the same
#     tables (the days without a rate stay dirty);
#  3. an invalid rate document for one day makes a worker fail: exit 1,
#     "computing the reports failed", and the stage leaves nothing: no
#     report row, every stored day still dirty (the facts, committed by the
#     store before, stay), as with one thread.
source "$(dirname "$0")/lib.sh"

# A file linked in less than 2 s before a run gets no stat id, and the next
# run checksums it and records one: statements that depend on the clock,
# not on the thread count. The test's runs follow their links at once, so
# the window is closed here (as in ingest_stat.sh) for the work lines to
# compare.
export MOONSTAT_TEST_STAT_RACY_SECONDS=-1

GEN=$ROOT/$BIN/moonstat-gen
G=$WORK/gen
"$GEN" --out "$G" --events 10000 --days 6 --seed 29 --awkward 1 >"$WORK/gen.log" 2>&1
check_eq "moonstat-gen exit code" "$?" "0"

# setup DIR THREADS [SHIP_DAYS_UPTO] and more_input DIR: gen_setup and
# gen_more_input (lib.sh) on the generated data.
setup() { gen_setup "$1" "$G" "$2" "${3:-9999-99-99}"; }
more_input() { gen_more_input "$1" "$G"; }

# reports DIR: what stage 2 writes, by key.
reports() {
    local t
    for t in "daily_kpi ORDER BY date, game_id, platform, country" \
        "retention ORDER BY cohort_date, game_id, platform, country, day" \
        "ltv ORDER BY cohort_date, game_id, platform, country, day" \
        "revenue ORDER BY period, period_start, game_id" \
        "revenue_by_currency ORDER BY date, game_id, pay_channel, currency" \
        "game_state ORDER BY game_id" \
        "dirty_days ORDER BY game_id, day" \
        "pending_exports ORDER BY report, partition"; do
        echo "== $t"
        wh_sql "$1" "SELECT * FROM $t" || echo "QUERY FAILED"
    done
    echo "== data_quality"
    wh_sql "$1" "SELECT run_date, game_id, item, count FROM data_quality ORDER BY 1, 2, 3" ||
        echo "QUERY FAILED"
}

# log_lines DIR: the log without timestamps, run ids and timings.
log_lines() {
    sed -e 's/^[0-9TZ:-]* //' -e 's/[0-9]\{8\}T[0-9]\{6\}Z-[0-9]*-[0-9]*/RUN/' \
        -e 's/ ([0-9.]* s)//' "$1/log"
}

count() { wh_sql "$1" "SELECT count(*) FROM $2"; }

# Case 1: two nights and a backfill.
for n in 1 2 3; do
    D=$WORK/c1-t$n
    setup "$D" "$n" 2026-10-03
    run_moonstat "$D" run --date 2026-10-03
    rc1=$?
    more_input "$D"
    run_moonstat "$D" run --date 2026-10-06
    rc2=$?
    run_moonstat "$D" backfill --from 2026-10-01 --to 2026-10-06
    rc3=$?
    check_eq "nights and backfill, threads $n: exit codes" "$rc1 $rc2 $rc3" "0 0 0"
    reports "$D" >"$D.reports"
    grep -o 'warehouse work: .*' "$D/log" | sed -e '1s/, [0-9]* steps$//' -e '3s/ statements, .*//' >"$D.work"
    (cd "$D/exports" && find . -type f ! -name manifest.json -print0 | sort -z |
        xargs -0 sha256sum) >"$D.exports"
done
R=$WORK/c1-t1
check "threads 1: every report table has rows" \
    test "$(grep -c '^== ' "$R.reports")" -eq 9 -a "$(count "$R" daily_kpi)" -gt 20 \
    -a "$(count "$R" ltv)" -gt 20 -a "$(count "$R" retention)" -gt 20
check_eq "threads 1: nothing left dirty" "$(count "$R" dirty_days)" "0"
check_eq "threads 1: three runs logged their warehouse work" "$(wc -l <"$R.work")" "3"
check "threads 1: exports written" test "$(wc -l <"$R.exports")" -gt 30
check_eq "threads 1: no failed query" "$(grep -c 'QUERY FAILED' "$R.reports")" "0"
for n in 2 3; do
    T=$WORK/c1-t$n
    check "threads $n: report tables as with threads 1" cmp -s "$R.reports" "$T.reports"
    check "threads $n: exported files as with threads 1" cmp -s "$R.exports" "$T.exports"
    check "threads $n: the same warehouse work as with threads 1" cmp -s "$R.work" "$T.work"
done

# Case 2: rates missing for the first days (no earlier document either) and
# one day substituted.
for n in 1 3; do
    D=$WORK/c2-t$n
    setup "$D" "$n"
    rm -f "$D"/fx/2026-09-29.json "$D"/fx/2026-09-30.json "$D"/fx/2026-10-01.json \
        "$D"/fx/2026-10-04.json
    run_moonstat "$D" run --date 2026-10-06
    echo "$?" >"$D.code"
    reports "$D" >"$D.reports"
    log_lines "$D" | grep -E '^(WARN|ERROR)' >"$D.lines"
done
R=$WORK/c2-t1
T=$WORK/c2-t3
check_eq "missing rates, threads 1: exit code" "$(cat "$R.code")" "3"
check_eq "missing rates, threads 3: exit code" "$(cat "$T.code")" "3"
check "missing rates, threads 1: a substitution warned" grep -q 'used 2026-10-03' "$R.lines"
check "missing rates, threads 1: missing rates reported" grep -q 'no exchange rate for' "$R.lines"
check "missing rates, threads 1: days stayed dirty" test "$(count "$R" dirty_days)" -gt 0
check "missing rates, threads 3: the same log lines in the same order" \
    cmp -s "$R.lines" "$T.lines"
check "missing rates, threads 3: report tables as with threads 1" \
    cmp -s "$R.reports" "$T.reports"

# Case 3: an invalid rate document fails the stage.
for n in 1 3; do
    D=$WORK/c3-t$n
    setup "$D" "$n"
    echo '{"base": "USD", "rates": {}}' >"$D/fx/2026-10-03.json"
    run_moonstat "$D" run --date 2026-10-06
    echo "$?" >"$D.code"
    reports "$D" >"$D.reports"
done
R=$WORK/c3-t1
T=$WORK/c3-t3
check_eq "invalid rates, threads 1: exit code" "$(cat "$R.code")" "1"
check_eq "invalid rates, threads 3: exit code" "$(cat "$T.code")" "1"
check "invalid rates, threads 3: the stage failed and says so" \
    grep -q 'computing the reports failed: .*2026-10-03.*the warehouse is unchanged by this step' "$T/log"
check_eq "invalid rates, threads 3: no daily_kpi row" "$(count "$T" daily_kpi)" "0"
check_eq "invalid rates, threads 3: no ltv row" "$(count "$T" ltv)" "0"
check_eq "invalid rates, threads 3: no revenue row" "$(count "$T" revenue)" "0"
check_eq "invalid rates, threads 3: no game_state row" "$(count "$T" game_state)" "0"
check "invalid rates, threads 3: the stored days are all still dirty" \
    test "$(count "$T" dirty_days)" -ge 18
check_eq "invalid rates, threads 3: the facts stayed" "$(count "$T" accounts)" "$(count "$R" accounts)"
check "invalid rates, threads 3: tables as with threads 1" cmp -s "$R.reports" "$T.reports"

finish
