#!/usr/bin/env bash
# A week's and a month's distinct active users are sums of per-day counts,
# "active for the first time in the week / month that day" (table
# first_actives, reports/period_actives.h), recomputed from the first day of
# a period whose facts changed. Checked:
#  1. exact figures, each way of recomputing forced (probe: per day, one
#     index descent per active account; pass: one read of the days in day
#     order) and as chosen: a late login of an account active since
#     February moves its first day in March from the 10th back to the 4th,
#     and only the 4th is dirty, so the 10th's stored count must be
#     recomputed too (summing the stored counts said 6, not 5); a payer of
#     the 5th who logs in on the 6th is not new on the 6th (the probe has to
#     look at the payments before the day as well as the activity);
#  2. a warehouse whose counts are lost (an upgrade from version 6 has none)
#     gets them back from the facts, with the same figures;
#  3. generated data (moonstat-gen, 6 days, late and awkward lines), three
#     nightly runs each way: every week and month row equals the DISTINCT
#     the warehouse counts from its facts, and both ways store the same
#     counts.
source "$(dirname "$0")/lib.sh"

login() { # id day account
    printf '{"event_id":"%s","event":"login","ts":"2026-03-%sT09:00:00Z","game_id":"g1","account_id":"%s"}\n' "$@"
}
pay() { # id day account order
    printf '{"event_id":"%s","event":"payment","ts":"2026-03-%sT10:00:00Z","game_id":"g1","account_id":"%s","order_id":"%s","status":"paid","amount":"1.00","currency":"USD","pay_channel":"app_store"}\n' "$@"
}
H="period,period_start,period_end,game_id,revenue,refund_amount,net_revenue,orders,payers,active_users,arppu,arpu,currency"
# period_row DIR PARTITION PERIOD: that row of the revenue export.
period_row() {
    grep "^$3," "$1/exports/revenue/dt=$2/revenue.csv"
}

# scenario DIR MODE: the three runs of part 1 with MOONSTAT_TEST_FIRST_ACTIVES=MODE.
scenario() {
    local W=$1 mode=$2 d
    MAX_REJECT_RATE=0 simple_setup "$W" g1:UTC
    for d in 02-20 03-01 03-02 03-03 03-04 03-05 03-06 03-07 03-08 03-09 03-10; do
        echo "{\"base\": \"USD\", \"date\": \"2026-$d\", \"rates\": {\"USD\": 1}}" >"$W/fx/2026-$d.json"
    done
    {
        printf '{"event_id":"f0","event":"login","ts":"2026-02-20T09:00:00Z","game_id":"g1","account_id":"F"}\n'
        login a1 02 A # Monday 2 March
        login b1 03 B
        login a2 04 A
        pay p1 05 C O1 # a payer without a login is active
    } >"$W/incoming/first.jsonl"
    check_eq "$mode: run of the 5th" "$(MOONSTAT_TEST_FIRST_ACTIVES=$mode run_moonstat "$W" run --date 2026-03-05; echo $?)" "0"
    check_eq "$mode: week of the 2nd, up to the 5th" "$(period_row "$W" 2026-03-02 week)" \
        "week,2026-03-02,2026-03-08,g1,1.00,0.00,1.00,1,1,3,1.000000,0.333333,USD"
    check_eq "$mode: month, up to the 5th" "$(period_row "$W" 2026-03-01 month)" \
        "month,2026-03-01,2026-03-31,g1,1.00,0.00,1.00,1,1,3,1.000000,0.333333,USD"
    {
        login c1 06 C
        login b2 09 B # Monday 9 March
        login f1 10 F
        login a3 10 A
    } >"$W/incoming/second.jsonl"
    check_eq "$mode: run of the 10th" "$(MOONSTAT_TEST_FIRST_ACTIVES=$mode run_moonstat "$W" run --date 2026-03-10; echo $?)" "0"
    check_eq "$mode: week of the 9th" "$(period_row "$W" 2026-03-09 week)" \
        "week,2026-03-09,2026-03-15,g1,0.00,0.00,0.00,0,0,3,,0.000000,USD"
    check_eq "$mode: month, up to the 10th" "$(period_row "$W" 2026-03-01 month)" \
        "month,2026-03-01,2026-03-31,g1,1.00,0.00,1.00,1,1,4,1.000000,0.250000,USD"
    {
        login e1 03 E
        login f2 04 F # F's first day in March is now the 4th, not the 10th
    } >"$W/incoming/late.jsonl"
    check_eq "$mode: rerun of the 10th with late logins" "$(MOONSTAT_TEST_FIRST_ACTIVES=$mode run_moonstat "$W" run --date 2026-03-10; echo $?)" "0"
    check_eq "$mode: week of the 2nd, with the late logins" "$(period_row "$W" 2026-03-02 week)" \
        "week,2026-03-02,2026-03-08,g1,1.00,0.00,1.00,1,1,5,1.000000,0.200000,USD"
    check_eq "$mode: week of the 9th, unchanged" "$(period_row "$W" 2026-03-09 week)" \
        "week,2026-03-09,2026-03-15,g1,0.00,0.00,0.00,0,0,3,,0.000000,USD"
    check_eq "$mode: month, with the late logins (F counted once)" "$(period_row "$W" 2026-03-01 month)" \
        "month,2026-03-01,2026-03-31,g1,1.00,0.00,1.00,1,1,5,1.000000,0.200000,USD"
    # Per day (0 = 1 March): first in the week, first in the month. The 10th:
    # F and A are new to the week of the 9th (B came on the 9th), nobody to
    # the month.
    check_eq "$mode: the stored counts" \
        "$(wh_sql "$W" "SELECT day - 20513, week_first, month_first FROM first_actives WHERE day >= 20513 ORDER BY day" | tr '\n' ' ')" \
        "0|0|0 1|1|1 2|2|2 3|1|1 4|1|1 5|0|0 6|0|0 7|0|0 8|1|0 9|2|0 "
}

for mode in probe pass auto; do
    scenario "$WORK/exact-$mode" "$mode"
done
for mode in probe pass; do
    check "exports of $mode equal those of the way chosen" \
        diff -r -x manifest.json "$WORK/exact-$mode/exports" "$WORK/exact-auto/exports"
done

# 2. Counts lost: a backfill of the last day recomputes the month's and
# the week's from the facts, with the same figures, without rewriting them.
W=$WORK/exact-auto
tree_snapshot "$W/exports" | grep '^revenue' >"$WORK/before"
wh_sql "$W" "DELETE FROM first_actives" >/dev/null
check_eq "backfill with no stored counts" "$(run_moonstat "$W" backfill --from 2026-03-10 --to 2026-03-10; echo $?)" "0"
check_eq "the counts are back" \
    "$(wh_sql "$W" "SELECT day - 20513, week_first, month_first FROM first_actives WHERE day >= 20513 ORDER BY day" | tr '\n' ' ')" \
    "0|0|0 1|1|1 2|2|2 3|1|1 4|1|1 5|0|0 6|0|0 7|0|0 8|1|0 9|2|0 "
tree_snapshot "$W/exports" | grep '^revenue' >"$WORK/after"
check "revenue exports untouched (bytes, inodes, mtimes)" cmp -s "$WORK/before" "$WORK/after"

# 3. Generated data against the warehouse's DISTINCT.
GEN=$ROOT/$BIN/moonstat-gen
G=$WORK/gen
"$GEN" --out "$G" --events 12000 --days 6 --seed 31 --awkward 1 >"$WORK/gen.log" 2>&1
check_eq "moonstat-gen exit code" "$?" "0"
if pg_testing; then
    DAY_OF="(period_start::date - DATE '1970-01-01')"
    END_OF="(least(period_end::date, DATE '2026-10-06') - DATE '1970-01-01')"
else
    DAY_OF="CAST(julianday(period_start) - 2440587.5 AS INTEGER)"
    END_OF="CAST(julianday(min(period_end, '2026-10-06')) - 2440587.5 AS INTEGER)"
fi
# Each week and month row's active_users, and the DISTINCT over its days.
ORACLE="SELECT r.period, r.period_start, r.game_id, r.active_users, (SELECT count(*) FROM
    (SELECT account_id FROM activity a WHERE a.game_id = r.game_id AND a.day >= $DAY_OF AND
     a.day <= $END_OF UNION SELECT account_id FROM payments p WHERE p.game_id = r.game_id AND
     p.day >= $DAY_OF AND p.day <= $END_OF AND p.status = 'paid' AND p.sandbox = 0) s)
    FROM revenue r WHERE r.period <> 'day' ORDER BY 1, 2, 3"
for mode in probe pass; do
    D=$WORK/gen-$mode
    gen_setup "$D" "$G" 1 2026-10-02
    rcs=$(MOONSTAT_TEST_FIRST_ACTIVES=$mode run_moonstat "$D" run --date 2026-10-02; echo $?)
    gen_more_input "$D" "$G" 2026-10-04
    rcs="$rcs $(MOONSTAT_TEST_FIRST_ACTIVES=$mode run_moonstat "$D" run --date 2026-10-04; echo $?)"
    gen_more_input "$D" "$G"
    rcs="$rcs $(MOONSTAT_TEST_FIRST_ACTIVES=$mode run_moonstat "$D" run --date 2026-10-06; echo $?)"
    check_eq "generated, $mode: exit codes of the three runs" "$rcs" "0 0 0"
    wh_sql "$D" "$ORACLE" >"$WORK/oracle.$mode"
    check "generated, $mode: week and month rows compared ($(wc -l <"$WORK/oracle.$mode"))" \
        test "$(wc -l <"$WORK/oracle.$mode")" -ge 9
    check_eq "generated, $mode: rows whose active_users differ from the DISTINCT" \
        "$(awk -F'|' '$4 != $5' "$WORK/oracle.$mode")" ""
    wh_sql "$D" "SELECT game_id, day, week_first, month_first FROM first_actives ORDER BY 1, 2" \
        >"$WORK/counts.$mode"
done
check "generated: both ways stored the same counts" cmp -s "$WORK/counts.probe" "$WORK/counts.pass"
finish
