#!/usr/bin/env bash
# At night (a few dirty days, only their accounts in memory) a retention
# cohort whose own day did not change keeps its partition, and only its
# cells that end on a changed or newly reached day are counted again, from
# that day's active accounts (retention_cells_of_day, reports/cohorts.h); a
# cohort whose day changed is recomputed whole. Two warehouses, one with
# every partition recomputed whole (MOONSTAT_TEST_RETENTION=whole, the
# former way), are run night by night on generated data (3 games, 8 days):
#  1. clean data (each night dirties its own days): after every night the
#     retention tables, the pending exports and the exported files are the
#     same, and the nights' warehouse work differs (the cells were counted
#     the other way, not recomputed whole);
#  2. data with every awkward kind of line (late events, duplicates, moved
#     registrations): the same after every night;
#  3. then a rerun for an earlier date with late logins of one account, one
#     of them after that date: the cohort, which has a cell on a dirty day
#     whose accounts are not in memory, is recomputed whole; the same again;
#  4. exact rows: a night that reaches a day without any event (not dirty)
#     still writes the cells that end on it (retained 0), both ways.
# late_registration.sh covers a moved registration with exact figures.
source "$(dirname "$0")/lib.sh"

GEN=$ROOT/$BIN/moonstat-gen

state() { # DIR: what retention left behind
    wh_sql "$1" "SELECT * FROM retention ORDER BY cohort_date, game_id, platform, country, day"
    wh_sql "$1" "SELECT * FROM pending_exports ORDER BY report, partition"
    (cd "$1/exports" && find . -type f -path './retention/*' ! -name manifest.json -print0 |
        sort -z | xargs -0 sha256sum)
}

# nights NAME AWKWARD: generated data, and a night for each of its days into
# $WORK/NAME-whole and $WORK/NAME-cells, compared after each.
nights() {
    local name=$1 g=$WORK/gen-$1 date mode
    "$GEN" --out "$g" --events 12000 --days 8 --seed 37 --awkward "$2" >"$WORK/gen-$1.log" 2>&1
    check_eq "$name: moonstat-gen exit code" "$?" "0"
    for mode in whole cells; do
        gen_setup "$WORK/$name-$mode" "$g" 1 2026-10-01
    done
    for date in 2026-10-02 2026-10-03 2026-10-04 2026-10-05 2026-10-06 2026-10-07 2026-10-08; do
        for mode in whole cells; do
            gen_more_input "$WORK/$name-$mode" "$g" "$date"
            MOONSTAT_TEST_RETENTION=$mode run_moonstat "$WORK/$name-$mode" run --date "$date"
            echo "$?" >"$WORK/$name-$mode.rc"
            state "$WORK/$name-$mode" >"$WORK/$name-$mode.state"
        done
        check_eq "$name, $date: exit codes" \
            "$(cat "$WORK/$name-whole.rc") $(cat "$WORK/$name-cells.rc")" "0 0"
        check "$name, $date: retention rows, pending exports and files the same both ways" \
            cmp -s "$WORK/$name-whole.state" "$WORK/$name-cells.state"
    done
    check "$name: retention rows compared ($(grep -c '|' "$WORK/$name-cells.state"))" \
        test "$(grep -c '|' "$WORK/$name-cells.state")" -gt 100
}
work() { grep -o 'warehouse work: [0-9]* statements, [0-9]* rows' "$1/log" | tail -n +2; }

nights clean 0
check "clean: the nights after the first did other work the two ways" \
    test "$(work "$WORK/clean-whole")" != "$(work "$WORK/clean-cells")"
check_eq "clean: the last night computed a few days (not 7 or more: no scan)" \
    "$(grep -o "computed [0-9]* game-days" "$WORK/clean-cells/log" | tail -1)" "computed 4 game-days"
nights awkward 1

# A rerun for an earlier date with late logins of an account of cohort
# 10-03: one on 10-04, within the run's date, the other on 10-06, after it.
# 10-06 is then dirty but not computed, its accounts are not in memory, and
# the cohort, which has a cell on it, is recomputed whole.
game=$(sed -n 's/^\[game \(.*\)\]/\1/p' "$WORK/awkward-cells/moonstat.conf" | head -1)
acc=$(wh_sql "$WORK/awkward-cells" "SELECT account_id FROM accounts WHERE game_id = '$game' AND
    cohort_day = 20729 ORDER BY account_id LIMIT 1")
check "an account of cohort 2026-10-03 in $game ($acc)" test -n "$acc"
for mode in whole cells; do
    D=$WORK/awkward-$mode
    for d in 04 06; do
        printf '{"event_id":"late-%s","event":"login","ts":"2026-10-%sT12:00:00Z","game_id":"%s","account_id":"%s"}\n' \
            "$d" "$d" "$game" "$acc"
    done >"$D/incoming/late.jsonl"
    MOONSTAT_TEST_RETENTION=$mode run_moonstat "$D" run --date 2026-10-05
    echo "$?" >"$D.rc"
    state "$D" >"$D.state"
done
check_eq "rerun of 2026-10-05: exit codes" \
    "$(cat "$WORK/awkward-whole.rc") $(cat "$WORK/awkward-cells.rc")" "0 0"
check "rerun of 2026-10-05: the same both ways" \
    cmp -s "$WORK/awkward-whole.state" "$WORK/awkward-cells.state"
check_eq "rerun of 2026-10-05: 2026-10-06 stays dirty" \
    "$(wh_sql "$WORK/awkward-cells" "SELECT count(*) FROM dirty_days WHERE game_id = '$game' AND day = 20732")" "1"

# 4. A day without events: reached, not dirty.
for mode in whole cells; do
    W=$WORK/empty-$mode
    MAX_REJECT_RATE=0 simple_setup "$W" g1:UTC
    for d in 02 03 04 05; do
        echo "{\"base\": \"USD\", \"date\": \"2026-03-$d\", \"rates\": {\"USD\": 1}}" >"$W/fx/2026-03-$d.json"
    done
    printf '{"event_id":"r1","event":"register","ts":"2026-03-02T10:00:00Z","game_id":"g1","account_id":"R","platform":"ios","country":"JP"}\n{"event_id":"l1","event":"login","ts":"2026-03-03T10:00:00Z","game_id":"g1","account_id":"R"}\n' >"$W/incoming/a.jsonl"
    rc1=$(MOONSTAT_TEST_RETENTION=$mode run_moonstat "$W" run --date 2026-03-03; echo $?)
    printf '{"event_id":"l2","event":"login","ts":"2026-03-05T10:00:00Z","game_id":"g1","account_id":"R"}\n' >"$W/incoming/b.jsonl"
    rc2=$(MOONSTAT_TEST_RETENTION=$mode run_moonstat "$W" run --date 2026-03-05; echo $?)
    check_eq "empty day, $mode: exit codes" "$rc1 $rc2" "0 0"
    check_eq "empty day, $mode: cohort 03-02, days 1 to 3 (the 4th had no event)" \
        "$(grep ',ALL,ALL,' "$W/exports/retention/dt=2026-03-02/retention.csv" | cut -d, -f5-8 | tr '\n' ' ')" \
        "1,1,1,1.000000 2,1,0,0.000000 3,1,1,1.000000 "
done
finish
