#!/usr/bin/env bash
# The activations table (etl/activation_counts.h) follows the devices table
# through late data: a late, earlier device_start moves a device to another
# day and another platform/country cell, the cell it leaves loses it, and a
# cell left with no device goes away with its breakdown row, as counting the
# devices would have it. The first run is a first load (rows straight into
# the table), the second merges through staging; both must leave the table
# equal to the devices grouped by first day, platform and country.
source "$(dirname "$0")/lib.sh"

W=$WORK/act
simple_setup "$W" g1:UTC
mkdir -p "$W/incoming/a" "$W/incoming/b"
for d in 01 02 03 04 05; do
    echo "{\"base\": \"USD\", \"date\": \"2026-03-$d\", \"rates\": {\"USD\": 1}}" >"$W/fx/2026-03-$d.json"
done
dev() { # id day hour device platform country
    printf '{"event_id":"%s","event":"device_start","ts":"2026-03-%sT%s:00:00Z","game_id":"g1","device_id":"%s","platform":"%s","country":"%s"}\n' "$@"
}
day_of() { echo $(( $(date -u -d "$1" +%s) / 86400 )); }
D2=$(day_of 2026-03-02) D3=$(day_of 2026-03-03) D4=$(day_of 2026-03-04)
table() { wh_sql "$W" "SELECT day, platform, country, devices FROM activations ORDER BY 1, 2, 3" | tr '\n' ' '; }
grouped() {
    wh_sql "$W" "SELECT first_day, platform, country, count(*) FROM devices
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" | tr '\n' ' '
}
kpi() { grep "^2026-03-$1,g1,$2,$3," "$W/exports/daily_kpi/dt=2026-03-$1/daily_kpi.csv"; }

{
    dev a1 03 10 D1 ios JP
    dev a2 03 11 D2 ios JP
    dev a3 04 10 D3 android US
    dev a4 04 12 D1 web KR # later than D1's first: changes nothing
} >"$W/incoming/a/day.jsonl"
check_eq "first run" "$(run_moonstat "$W" run --date 2026-03-05; echo $?)" "0"
check_eq "after the first load" "$(table)" "$D3|ios|JP|2 $D4|android|US|1 "
check_eq "first load: the table is the devices grouped" "$(table)" "$(grouped)"
check_eq "03-04: one activation (ALL)" "$(kpi 04 ALL ALL | cut -d, -f5)" "1"
check_eq "03-04: one activation (android)" "$(kpi 04 android ALL | cut -d, -f5)" "1"

# Late: D1 and D3 were first seen on 03-02 in Taiwan; D4 is new on 03-04.
{
    dev b1 02 09 D1 android TW
    dev b2 02 10 D3 android TW
    dev b3 04 13 D4 web US
} >"$W/incoming/b/late.jsonl"
check_eq "second run" "$(run_moonstat "$W" run --date 2026-03-05; echo $?)" "0"
check_eq "D1 and D3 moved, android/US of 03-04 is gone" "$(table)" \
    "$D2|android|TW|2 $D3|ios|JP|1 $D4|web|US|1 "
check_eq "merge: the table is the devices grouped" "$(table)" "$(grouped)"
check_eq "03-02: two activations (android, TW)" "$(kpi 02 android ALL | cut -d, -f5),$(kpi 02 ALL TW | cut -d, -f5)" "2,2"
check_eq "03-03: one activation left" "$(kpi 03 ALL ALL | cut -d, -f5)" "1"
check_eq "03-04: one activation (ALL)" "$(kpi 04 ALL ALL | cut -d, -f5)" "1"
check_eq "03-04: no android row left" "$(kpi 04 android ALL)" ""
check_eq "03-04: the web device" "$(kpi 04 web ALL | cut -d, -f5)" "1"

# A run with no new input changes nothing; a backfill counts from the table.
check_eq "third run" "$(run_moonstat "$W" run --date 2026-03-05; echo $?)" "0"
check_eq "unchanged by a run without input" "$(table)" "$D2|android|TW|2 $D3|ios|JP|1 $D4|web|US|1 "
cp "$W/exports/daily_kpi/dt=2026-03-04/daily_kpi.csv" "$WORK/kpi04"
check_eq "backfill" "$(run_moonstat "$W" backfill --from 2026-03-01 --to 2026-03-05; echo $?)" "0"
check "backfill: the same 03-04 daily KPIs" cmp -s "$WORK/kpi04" "$W/exports/daily_kpi/dt=2026-03-04/daily_kpi.csv"
finish
