#!/usr/bin/env bash
# A late file whose register event moves an account's registration day two
# days earlier changes exactly the cells that depend on it, and rewrites
# exactly those partitions: nothing else is touched (bytes, mtime, inode).
source "$(dirname "$0")/lib.sh"

W=$WORK/late
MAX_REJECT_RATE=0.5 simple_setup "$W" g1:UTC
mkdir -p "$W/incoming/a" "$W/incoming/b"
for d in 01 02 03 04 05 06 07 08 09 10; do
    echo "{\"base\": \"USD\", \"date\": \"2026-03-$d\", \"rates\": {\"USD\": 1}}" >"$W/fx/2026-03-$d.json"
done
ev() { # id event day account [extra json]
    printf '{"event_id":"%s","event":"%s","ts":"2026-03-%sT10:00:00Z","game_id":"g1","account_id":"%s"%s}\n' "$@"
}
{
    ev b1 register 03 B1 ',"platform":"android","country":"US"'
    ev b2 login 04 B1 ''
    ev b3 login 05 B1 ''
    ev a1 login 05 A1 ',"platform":"android","country":"US"'
    ev a2 login 06 A1 ''
    ev a3 payment 06 A1 ',"order_id":"O1","status":"paid","amount":"4.99","currency":"USD","pay_channel":"google_play"'
    ev a4 login 08 A1 ''
} >"$W/incoming/a/day.jsonl"

check_eq "first run" "$(run_moonstat "$W" run --date 2026-03-10; echo $?)" "0"
snapshot() { (cd "$W/exports" && find . -name '*.csv' | sort | while read -r f; do
    echo "$f $(sha256sum <"$f" | cut -c1-16) $(stat -c '%y-%i' "$f" | tr ' ' '_')"; done); }
snapshot >"$WORK/before"
check_eq "A1 is an implicit registration of 03-05" \
    "$(grep ',ALL,ALL,' "$W/exports/daily_kpi/dt=2026-03-05/daily_kpi.csv" | cut -d, -f6)" "1"

# The late file: A1's register event, dated two days before its first login.
ev a0 register 03 A1 ',"platform":"ios","country":"JP"' >"$W/incoming/b/late.jsonl"
check_eq "second run" "$(run_moonstat "$W" run --date 2026-03-10; echo $?)" "0"
snapshot >"$WORK/after"
changed=$(join -a1 -a2 "$WORK/before" "$WORK/after" | awk '$2 != $4 || $3 != $5 {print $1}' |
    sed 's|^\./||; s|/[a-z_]*\.csv$||' | tr '\n' ' ')
check_eq "rewritten partitions" "$changed" \
    "daily_kpi/dt=2026-03-03 daily_kpi/dt=2026-03-05 daily_kpi/dt=2026-03-06 daily_kpi/dt=2026-03-08 data_quality/dt=2026-03-10 ltv/dt=2026-03-03 ltv/dt=2026-03-05 retention/dt=2026-03-03 retention/dt=2026-03-05 revenue/dt=2026-03-03 "

kpi() { grep "^2026-03-$1,g1,$2,$3," "$W/exports/daily_kpi/dt=2026-03-$1/daily_kpi.csv"; }
check_eq "03-03: two registrations, both active" "$(kpi 03 ALL ALL)" \
    "2026-03-03,g1,ALL,ALL,0,2,,0,0,0.000000,2,0,0.00,0.000000,0,0.000000,0,0.000000,0.000000,,0,0.00,USD"
check_eq "03-03: A1 now in ios/JP" "$(kpi 03 ios ALL | cut -d, -f6,11)" "1,1"
check_eq "03-05: no registration left, DAU 2" "$(kpi 05 ALL ALL | cut -d, -f6,11)" "0,2"
check_eq "03-06: the payer counted under ios" "$(kpi 06 ios ALL | cut -d, -f11,12,13)" "1,1,4.99"
check_eq "03-06: nothing left under android" "$(kpi 06 android ALL)" ""
check_eq "cohort 03-03 retention (total)" \
    "$(grep ',ALL,ALL,' "$W/exports/retention/dt=2026-03-03/retention.csv" | cut -d, -f5-8 | tr '\n' ' ')" \
    "1,2,1,0.500000 2,2,2,1.000000 3,2,1,0.500000 4,2,0,0.000000 5,2,1,0.500000 6,2,0,0.000000 7,2,0,0.000000 "
check_eq "cohort 03-05 lost its only account: header only" \
    "$(cat "$W/exports/retention/dt=2026-03-05/retention.csv")" \
    "cohort_date,game_id,platform,country,day,cohort_size,retained,rate"
check_eq "cohort 03-03 LTV" \
    "$(grep ',ALL,ALL,' "$W/exports/ltv/dt=2026-03-03/ltv.csv" | cut -d, -f5-8 | tr '\n' ' ')" \
    "1,2,0.00,0.000000 3,2,0.00,0.000000 7,2,4.99,2.495000 "
check_eq "cohort 03-05 LTV: header only" "$(wc -l <"$W/exports/ltv/dt=2026-03-05/ltv.csv")" "1"
for f in $(cd "$W/exports" && find . -name '*.csv'); do
    check "manifest of $f" manifest_ok "$W/exports/$(dirname "$f")" "$(basename "$f" .csv)"
done
finish
