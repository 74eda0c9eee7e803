#!/usr/bin/env bash
# Local days across daylight-saving changes (inputs.md "Days are local to the
# game ... a local day can last 23 or 25 hours"). rainbow is
# America/Los_Angeles: 2026-11-01 lasts 25 hours (01:00-02:00 twice, -07:00
# then -08:00), 2027-03-14 lasts 23 hours (02:00-03:00 skipped). reversal is
# Asia/Tokyo (no DST). Every event is a `register` of its own account, so a
# day's registrations and dau are the number of its events; ts forms are
# mixed (offsets, Z, fractions, epoch milliseconds).
#  - run --date 2026-11-01: only the days up to 2026-11-01 are published;
#  - run --date 2027-03-20: the rest.
source "$(dirname "$0")/lib.sh"

W=$WORK/dst
mkdir -p "$W/incoming"
cp "$GOLDEN/scenario/moonstat.conf" "$W/"
cp -r "$GOLDEN/scenario/fx" "$W/"
chmod -R u+w "$W"
use_backend "$W"

ms() { echo $(($(date -u -d "$1" +%s) * 1000 + ${2:-0})); }

n=0
reg() { # reg GAME TS(json) -> one register line of a new account
    n=$((n + 1))
    printf '{"event_id":"d%d","event":"register","ts":%s,"game_id":"%s","account_id":"a%d"}\n' \
        "$n" "$2" "$1" "$n"
}
{
    # rainbow, fall back: 2026-10-31 (1), 2026-11-01 (6), 2026-11-02 (2)
    reg rainbow '"2026-11-01T06:59:59Z"'                 # 23:59:59 PDT 10-31
    reg rainbow "$(ms 2026-11-01T07:00:00Z)"              # 00:00 PDT 11-01 (epoch ms)
    reg rainbow '"2026-11-01T00:30:00-07:00"'
    reg rainbow '"2026-11-01T01:30:00-07:00"'             # the first 01:30
    reg rainbow '"2026-11-01T01:30:00-08:00"'             # the second 01:30
    reg rainbow '"2026-11-01T23:30:00-08:00"'             # 07:30Z on 11-02
    reg rainbow '"2026-11-02T07:59:59.999Z"'              # 23:59:59.999 PST 11-01
    reg rainbow '"2026-11-02T00:10:00-08:00"'
    reg rainbow '"2026-11-02T08:00:00Z"'                  # 00:00 PST 11-02
    # rainbow, spring forward: 2027-03-13 (1), 2027-03-14 (4), 2027-03-15 (1)
    reg rainbow '"2027-03-14T07:59:59Z"'                  # 23:59:59 PST 03-13
    reg rainbow '"2027-03-14T00:30:00-08:00"'
    reg rainbow '"2027-03-14T10:00:00Z"'                  # 02:00 PST = 03:00 PDT
    reg rainbow '"2027-03-14T23:30:00-07:00"'
    reg rainbow "$(ms 2027-03-15T06:59:59Z 999)"          # 23:59:59.999 PDT 03-14
    reg rainbow '"2027-03-15T07:00:00Z"'                  # 00:00 PDT 03-15
    # reversal (Asia/Tokyo, UTC+9 all year): 2026-11-01 (3), 2026-11-02 (1), 2027-03-14 (1)
    reg reversal '"2026-10-31T15:00:00Z"'                 # 00:00 JST 11-01
    reg reversal '"2026-11-01T01:30:00-08:00"'            # 18:30 JST 11-01
    reg reversal '"2026-11-01T14:59:59.999Z"'             # 23:59:59.999 JST 11-01
    reg reversal '"2026-11-01T15:00:00Z"'                 # 00:00 JST 11-02
    reg reversal '"2027-03-14T00:30:00-08:00"'            # 17:30 JST 03-14
} >"$W/incoming/dst.jsonl"
# One device first seen during the repeated hour: an activation on 2026-11-01.
printf '{"event_id":"dev1","event":"device_start","ts":"2026-11-01T01:59:59-08:00","game_id":"rainbow","device_id":"D1"}\n' \
    >>"$W/incoming/dst.jsonl"

counts() { # counts GAME DAY -> "registrations dau activations"
    echo "$(kpi_field "$W" "$2" "$1" registrations) $(kpi_field "$W" "$2" "$1" dau) $(kpi_field "$W" "$2" "$1" activations)"
}
partitions() { (cd "$W/exports/daily_kpi" 2>/dev/null && ls -d dt=* | tr '\n' ' '); }

run_moonstat "$W" run --date 2026-11-01
check_eq "run --date 2026-11-01 exit code" "$?" "0"
check_eq "days published up to 2026-11-01" "$(partitions)" "dt=2026-10-31 dt=2026-11-01 "
check_eq "rainbow 2026-10-31" "$(counts rainbow 2026-10-31)" "1 1 0"
check_eq "rainbow 2026-11-01 (25 hours)" "$(counts rainbow 2026-11-01)" "6 6 1"
check_eq "reversal 2026-11-01" "$(counts reversal 2026-11-01)" "3 3 0"
check_eq "rainbow 2026-11-01 full row" "$(kpi_row "$W" 2026-11-01 rainbow)" \
    "2026-11-01,rainbow,ALL,ALL,1,6,6.000000,0,0,0.000000,6,0,0.00,0.000000,0,0.000000,0,0.000000,0.000000,,0,0.00,USD"

run_moonstat "$W" run --date 2027-03-20
check_eq "run --date 2027-03-20 exit code" "$?" "0"
check_eq "days published" "$(partitions)" \
    "dt=2026-10-31 dt=2026-11-01 dt=2026-11-02 dt=2027-03-13 dt=2027-03-14 dt=2027-03-15 "
check_eq "rainbow 2026-11-01 unchanged" "$(counts rainbow 2026-11-01)" "6 6 1"
check_eq "rainbow 2026-11-02" "$(counts rainbow 2026-11-02)" "2 2 0"
check_eq "reversal 2026-11-02" "$(counts reversal 2026-11-02)" "1 1 0"
check_eq "rainbow 2027-03-13" "$(counts rainbow 2027-03-13)" "1 1 0"
check_eq "rainbow 2027-03-14 (23 hours)" "$(counts rainbow 2027-03-14)" "4 4 0"
check_eq "rainbow 2027-03-15" "$(counts rainbow 2027-03-15)" "1 1 0"
check_eq "reversal 2027-03-14" "$(counts reversal 2027-03-14)" "1 1 0"
check_eq "games per day (ALL,ALL rows)" \
    "$(cat "$W"/exports/daily_kpi/dt=*/daily_kpi.csv | grep ',ALL,ALL,' | cut -d, -f1,2 | tr '\n' ' ')" \
    "2026-10-31,rainbow 2026-11-01,rainbow 2026-11-01,reversal 2026-11-02,rainbow 2026-11-02,reversal 2027-03-13,rainbow 2027-03-14,rainbow 2027-03-14,reversal 2027-03-15,rainbow "
check_eq "every registration counted once" \
    "$(cat "$W"/exports/daily_kpi/dt=*/daily_kpi.csv | grep ',ALL,ALL,' | awk -F, '{ s += $6 } END { print s }')" "$n"
finish
