#!/usr/bin/env bash
# A reader never sees half of a rerun (PostgreSQL only): after the golden
# nightly, a second connection (one psql session) polls star's 2026-11-05
# totals in daily_kpi while `moonstat backfill --from 2026-11-05 --to
# 2026-11-05` recomputes that day several times (each recompute deletes and
# rewrites the day's rows in one transaction). Every polled value must equal
# the final one: never missing, never partial. The poller also records the
# row version (xmin) it saw, to show that it really read across rewrites.
# No sleeps: the poller says it is polling through a FIFO, and stops at the
# first poll after a flag file appears (and after at most MAX_POLLS polls).
source "$(dirname "$0")/lib.sh"

if ! pg_testing; then
    skip_test "PostgreSQL only (set MOONSTAT_TEST_PG, see tests/pg/start.sh)"
fi

BACKFILLS=${BACKFILLS:-5}
MAX_POLLS=${MAX_POLLS:-2000000}
WHERE="date = '2026-11-05' AND game_id = 'star' AND platform = 'ALL' AND country = 'ALL'"
# One row always: the values, or NONE when the row is missing.
POLL="SELECT coalesce((SELECT dau || '|' || revenue || ' ' || xmin FROM daily_kpi WHERE $WHERE), 'NONE');"

W=$WORK/golden
golden_setup "$W"
check "the warehouse is PostgreSQL" grep -q '^warehouse *= *postgres' "$W/moonstat.conf"
check_eq "exit codes of the two nightly runs" "$(golden_nightly "$W")" "0 0"
final=$(wh_sql "$W" "SELECT dau, revenue FROM daily_kpi WHERE $WHERE")
want=$(grep -F '2026-11-05,star,ALL,ALL,' "$GOLDEN/expected/daily_kpi/dt=2026-11-05/daily_kpi.csv" |
    cut -d, -f11,13 | tr , '|')
check_eq "the day's totals after the nightly (dau|revenue)" "$final" "$want"
check "the totals are not empty" test -n "$final"

# poll URI WANT OUT READY FLAG: polls until FLAG exists (checked before each
# poll) or MAX_POLLS; writes "polls mismatches versions first_mismatch" to OUT.
poll() {
    local uri=$1 want=$2 out=$3 ready=$4 flag=$5 n=0 bad=0 first="" line vals ver
    local -A versions=()
    coproc PQ { psql "$uri" -X -A -t -q -v ON_ERROR_STOP=1 2>&1; }
    while [ "$n" -lt "$MAX_POLLS" ]; do
        [ -e "$flag" ] && break
        echo "$POLL" >&"${PQ[1]}"
        if ! read -r line <&"${PQ[0]}"; then
            first=${first:-"psql ended"}
            bad=$((bad + 1))
            break
        fi
        n=$((n + 1))
        vals=${line%% *}
        ver=${line##* }
        if [ "$vals" != "$want" ]; then
            bad=$((bad + 1))
            first=${first:-"$line"}
        else
            versions[$ver]=1
        fi
        [ "$n" -eq 1 ] && echo ready >"$ready"
    done
    [ "$n" -eq 0 ] && echo ready >"$ready"
    exec {PQ[1]}>&-
    wait "$PQ_PID" 2>/dev/null
    echo "$n $bad ${#versions[@]} ${first:--}" >"$out"
}

mkfifo "$WORK/ready"
poll "$(wh_uri "$W")" "$final" "$WORK/poll.out" "$WORK/ready" "$WORK/done" &
poller=$!
read -r started <"$WORK/ready" # the poller has polled once
check_eq "the poller is polling" "$started" "ready"

codes=""
for i in $(seq "$BACKFILLS"); do
    run_moonstat "$W" backfill --from 2026-11-05 --to 2026-11-05
    codes+="$? "
done
: >"$WORK/done"
wait "$poller"
check_eq "exit codes of the backfills" "$codes" "$(printf '0 %.0s' $(seq "$BACKFILLS"))"

read -r polls mismatches versions first <"$WORK/poll.out"
echo "$TEST_NAME: $polls polls, $versions row versions seen, $mismatches mismatches (first: $first)"
check "the poller polled many times (got $polls)" test "$polls" -ge 100
check_eq "polled values that differ from the final value (first: $first)" "$mismatches" "0"
# Each backfill rewrites the row (a new xmin); the poller saw several of
# them, so it did read while the day was being recomputed.
check "the poller saw the row rewritten (versions: $versions)" test "$versions" -ge 3
check_eq "the totals after the backfills" "$(wh_sql "$W" "SELECT dau, revenue FROM daily_kpi WHERE $WHERE")" \
    "$final"
check "the day's export is unchanged" cmp -s "$W/exports/daily_kpi/dt=2026-11-05/daily_kpi.csv" \
    "$GOLDEN/expected/daily_kpi/dt=2026-11-05/daily_kpi.csv"
finish
