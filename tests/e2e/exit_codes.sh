#!/usr/bin/env bash
# Exit codes (operations.md "Behaviour a cron job can rely on"): 0 ok, 2 usage
# or configuration error (an unknown key or section is named), 3 data-quality
# gate: a missing exchange rate (no document for the day nor within 7 days
# before) fails that game-day only: it is not published, everything else is,
# the run is recorded as failed/3, and once the document is there the next
# run publishes the day and exits 0. A run that cannot read its input exits
# 1 and computes and publishes nothing of its days.
source "$(dirname "$0")/lib.sh"

W=$WORK/ex
mkdir -p "$W/incoming" "$W/fx"
cp "$GOLDEN/scenario/moonstat.conf" "$W/"
chmod u+w "$W/moonstat.conf"
use_backend "$W"
CONF=$W/moonstat.conf

# ---- usage and configuration: exit 2, nothing touched -------------------------
usage() { # usage DESCRIPTION ARGS... : must exit 2
    local what=$1
    shift
    "$MOONSTAT" "$@" >"$WORK/out" 2>"$WORK/err"
    check_eq "$what: exit code" "$?" "2"
}

cp "$CONF" "$WORK/unknown_key.conf"
sed -i 's/^max_reject_rate.*/&\ncolour             = blue/' "$WORK/unknown_key.conf"
check "the unknown key is in the test configuration" grep -q '^colour' "$WORK/unknown_key.conf"
usage "unknown key" run --date 2026-11-06 --config "$WORK/unknown_key.conf"
check "unknown key: named on stderr" grep -q 'colour' "$WORK/err"
cp "$CONF" "$WORK/unknown_section.conf"
printf '\n[gmae star]\ntimezone = UTC\n' >>"$WORK/unknown_section.conf"
usage "unknown section" run --date 2026-11-06 --config "$WORK/unknown_section.conf"
check "unknown section: named on stderr" grep -q 'gmae' "$WORK/err"
usage "missing configuration file" run --date 2026-11-06 --config "$WORK/nonexistent.conf"
check "missing configuration file: named on stderr" grep -q 'nonexistent.conf' "$WORK/err"
mkdir -p "$WORK/empty"
(cd "$WORK/empty" && MOONSTAT_CONFIG='' "$MOONSTAT" run --date 2026-11-06 >/dev/null 2>&1)
check_eq "no configuration at all (no ./moonstat.conf): exit code" "$?" "2"
for d in 2026-13-01 2026-02-30 2026-11-7 yesterday ""; do
    usage "bad --date \"$d\"" run --date "$d" --config "$CONF"
done
usage "--date without a value" run --config "$CONF" --date
usage "backfill with --from after --to" backfill --from 2026-11-06 --to 2026-11-05 --config "$CONF"
usage "backfill without --to" backfill --from 2026-11-06 --config "$CONF"
usage "unknown command" frobnicate --config "$CONF"
usage "unknown option" run --dates 2026-11-06 --config "$CONF"
usage "no command" 
pg_testing || check "usage errors created no warehouse" test ! -e "$W/warehouse.db"
check "usage errors created no exports" test ! -e "$W/exports"

"$MOONSTAT" --version >"$WORK/out" 2>"$WORK/err"
check_eq "--version: exit code" "$?" "0"
check "--version prints \"moonstat <version>\"" grep -qE '^moonstat [0-9]+\.[0-9]+\.[0-9]+' "$WORK/out"
"$MOONSTAT" --help >"$WORK/out" 2>"$WORK/err"
check_eq "--help: exit code" "$?" "0"

# ---- a missing exchange rate: exit 3 ------------------------------------------
# Only 2026-10-25's document. star pays 9.99 USD on 2026-10-25 (its document);
# on 2026-11-05 (11 days later, no document within 7 days) reversal pays
# 1000 JPY and star pays 4.99 USD: a day's conversions need a document, USD
# too. Both 2026-11-05 game-days fail, 2026-10-25 is published.
cp "$GOLDEN/scenario/fx/2026-10-25.json" "$W/fx/"
pay() { # pay ID GAME TS AMOUNT CURRENCY
    printf '{"event_id":"%s","event":"payment","ts":"%s","game_id":"%s","account_id":"acc-%s","order_id":"o-%s","status":"paid","amount":"%s","currency":"%s","pay_channel":"google_play"}\n' \
        "$1" "$3" "$2" "$1" "$1" "$4" "$5"
}
{
    pay p1 star 2026-10-25T12:00:00Z 9.99 USD
    pay p2 reversal 2026-11-05T03:00:00Z 1000 JPY
    pay p3 star 2026-11-05T12:00:00Z 4.99 USD
} >"$W/incoming/pay.jsonl"

run_moonstat "$W" run --date 2026-11-06
check_eq "missing exchange rate: exit code" "$?" "3"
check "missing exchange rate: stderr names JPY and 2026-11-05" \
    grep -qE 'JPY.*2026-11-05|2026-11-05.*JPY' "$W/log"
check_eq "missing exchange rate: 2026-10-25 published" "$(kpi_field "$W" 2026-10-25 star revenue)" "9.99"
check "missing exchange rate: 2026-10-25 manifest" manifest_ok "$W/exports/daily_kpi/dt=2026-10-25" daily_kpi
check "missing exchange rate: 2026-11-05 not published" test ! -e "$W/exports/daily_kpi/dt=2026-11-05"
check_eq "missing exchange rate: the run is recorded failed/3" \
    "$(wh_sql "$W" "select status, exit_code from runs")" "failed|3"
check_eq "missing exchange rate: data_quality of the run published" \
    "$(sed -n 2p "$W/exports/data_quality/dt=2026-11-06/data_quality.csv" 2>/dev/null)" \
    "2026-11-06,reversal,events_accepted,1"

run_moonstat "$W" run --date 2026-11-06
check_eq "still missing: exit code" "$?" "3"
check "still missing: 2026-11-05 still not published" test ! -e "$W/exports/daily_kpi/dt=2026-11-05"

cp "$GOLDEN/scenario/fx/2026-11-05.json" "$W/fx/"
# A payment of the next day, stored now, reported by the run for 2026-11-07.
pay p4 star 2026-11-07T12:00:00Z 1.99 USD >"$W/incoming/pay-next.jsonl"
run_moonstat "$W" run --date 2026-11-06
check_eq "document added: exit code" "$?" "0"
# 1000 / 150.7272 = 6.6345... -> 6.63
check_eq "document added: reversal 2026-11-05 revenue" "$(kpi_field "$W" 2026-11-05 reversal revenue)" "6.63"
check_eq "document added: star 2026-11-05 revenue" "$(kpi_field "$W" 2026-11-05 star revenue)" "4.99"
check "document added: 2026-11-05 manifest" manifest_ok "$W/exports/daily_kpi/dt=2026-11-05" daily_kpi
check_eq "document added: 2026-10-25 unchanged" "$(kpi_field "$W" 2026-10-25 star revenue)" "9.99"

# ---- a run that cannot read its input: exit 1, its days not computed -------------
# The input directory gone (an unmounted share): nothing is read, so nothing
# of 2026-11-07 may be computed or published (operations.md: a failed run
# publishes nothing for the days it failed on), though the day has a payment
# stored by the run before; one error line says so. Once the directory is
# back, the run publishes the day.
mv "$W/incoming" "$W/incoming.away"
run_moonstat "$W" run --date 2026-11-07
check_eq "input gone: exit code" "$?" "1"
check_eq "input gone: one error line" "$(sed -n '/up to 2026-11-07/,$p' "$W/log" | grep -c ' ERROR ')" "1"
check "input gone: the error names the input directory" grep -q "ERROR.*incoming" "$W/log"
check "input gone: 2026-11-07 not published" test ! -e "$W/exports/daily_kpi/dt=2026-11-07"
check_eq "input gone: no daily_kpi row of 2026-11-07" \
    "$(wh_sql "$W" "select count(*) from daily_kpi where date = '2026-11-07'")" "0"
mv "$W/incoming.away" "$W/incoming"
run_moonstat "$W" run --date 2026-11-07
check_eq "input back: exit code" "$?" "0"
check "input back: 2026-11-07 manifest" manifest_ok "$W/exports/daily_kpi/dt=2026-11-07" daily_kpi
check_eq "input back: star 2026-11-07 revenue" "$(kpi_field "$W" 2026-11-07 star revenue)" "1.99"
check_eq "input back: 2026-11-05 unchanged" "$(kpi_field "$W" 2026-11-05 star revenue)" "4.99"
check_eq "the runs table" \
    "$(wh_sql "$W" "select status, exit_code, count(*) from runs group by status, exit_code order by status, exit_code" | tr '\n' ' ')" \
    "failed|1|1 failed|3|2 ok|0|2 "
finish
