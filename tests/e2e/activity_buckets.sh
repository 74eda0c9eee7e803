#!/usr/bin/env bash
# activity_by_account is keyed (game, day / 16, account, day) (migration
# 013): its three readers by account must read every bucket their days lie
# in. May 2026 in UTC: 05-01 is day 20574 (bucket 1285, the 15th day of it),
# 05-16 day 20589 (1286), 05-30 and 05-31 days 20603 and 20604 (1287). Three
# nights are compared with one run over the same files (a first load, which
# reads account-days by day, never through the index), byte for byte (but
# data_quality, which counts per run):
#  night 2 (05-31, nothing late): the first-actives probe of 05-31 must find
#    R's latest earlier day of the month one bucket back (05-15) and X's two
#    buckets back (05-02);
#  night 3 (late registrations): M's register event moves M to ios/JP, so
#    every day M was active on (05-01, 05-16, 05-30: three buckets) is
#    computed again; N's registration on 05-01 changes cohort 05-01, which
#    is recomputed whole, reading R's retained days 1, 14 and 30 (05-02,
#    05-15, 05-31: three buckets).
source "$(dirname "$0")/lib.sh"

ev() { # id event date account [extra json]
    printf '{"event_id":"%s","event":"%s","ts":"2026-%sT10:00:00Z","game_id":"g1","account_id":"%s"%s}\n' "$@"
}
setup() { # DIR
    simple_setup "$1" g1:UTC
    mkdir -p "$1/incoming/a" "$1/incoming/b" "$1/incoming/c"
    for d in 04-30 05-{01..31}; do
        echo "{\"base\": \"USD\", \"date\": \"2026-$d\", \"rates\": {\"USD\": 1}}" >"$1/fx/2026-$d.json"
    done
}
night1() {
    ev r0 register 05-01 R ',"platform":"android","country":"US"'
    ev r1 login 05-02 R ''
    ev r2 login 05-15 R ''
    ev x1 login 05-02 X ',"platform":"android","country":"US"'
    ev m1 login 05-01 M ',"platform":"android","country":"US"'
    ev m2 login 05-16 M ''
    ev m3 login 05-30 M ''
}
night2() {
    ev r3 login 05-31 R ''
    ev x2 login 05-31 X ''
}
night3() {
    ev m0 register 04-30 M ',"platform":"ios","country":"JP"'
    ev n0 register 05-01 N ',"platform":"android","country":"US"'
}

W=$WORK/nights
setup "$W"
night1 >"$W/incoming/a/1.jsonl"
check_eq "night 1 (2026-05-30): exit code" "$(run_moonstat "$W" run --date 2026-05-30; echo $?)" "0"
night2 >"$W/incoming/b/2.jsonl"
check_eq "night 2 (2026-05-31): exit code" "$(run_moonstat "$W" run --date 2026-05-31; echo $?)" "0"
# Checked now: night 3's late data recounts the whole month by day.
check_eq "night 2: 05-31's first actives of the week (R, X) and of the month (none)" \
    "$(wh_sql "$W" "SELECT week_first || ' ' || month_first FROM first_actives WHERE day = 20604")" \
    "2 0"
night3 >"$W/incoming/c/3.jsonl"
check_eq "night 3 (late registrations): exit code" \
    "$(run_moonstat "$W" run --date 2026-05-31; echo $?)" "0"

F=$WORK/once
setup "$F"
night1 >"$F/incoming/a/1.jsonl"
night2 >"$F/incoming/b/2.jsonl"
night3 >"$F/incoming/c/3.jsonl"
check_eq "one run over the three files: exit code" \
    "$(run_moonstat "$F" run --date 2026-05-31; echo $?)" "0"

# Every report but data_quality, whose counts are per run.
reports=$(cd "$W/exports" && ls | grep -v '^data_quality$' | tr '\n' ' ')
check_eq "the reports published" "$reports" "daily_kpi ltv retention revenue "
check_eq "the nights' CSVs equal the single run's" "$(csv_digest "$W" $reports)" \
    "$(csv_digest "$F" $reports)"

# Exact figures behind that equality.
kpi() { grep "^2026-$1,g1,$2,$3," "$W/exports/daily_kpi/dt=2026-$1/daily_kpi.csv" | cut -d, -f11; }
check_eq "05-16: M's DAU under ios" "$(kpi 05-16 ios ALL)" "1"
check_eq "05-30: M's DAU under ios" "$(kpi 05-30 ios ALL)" "1"
check_eq "05-30: nothing left under android" "$(kpi 05-30 android ALL)" ""
check_eq "cohort 05-01 (R and N): size and retained on days 1, 14, 30" \
    "$(grep ',ALL,ALL,' "$W/exports/retention/dt=2026-05-01/retention.csv" |
        awk -F, '$5 == 1 || $5 == 14 || $5 == 30 {print $5 ":" $6 ":" $7}' | tr '\n' ' ')" \
    "1:2:1 14:2:1 30:2:1 "
month_actives=$(wh_sql "$W" "SELECT sum(month_first) FROM first_actives WHERE game_id = 'g1'
    AND day >= 20574 AND day <= 20604")
check_eq "May's distinct actives (R, N, M, X: X's 05-31 is not a first of the month)" \
    "$month_actives" "4"
finish
