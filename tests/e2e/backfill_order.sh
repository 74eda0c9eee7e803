#!/usr/bin/env bash
# Backfill in any order (operations.md: "`backfill` over any range gives the
# same warehouse and the same export bytes as the nightly runs that covered
# it, in any order").
#   A: the golden nightly (batch1, run; batch2, run).
#   B: batch1 + batch2 copied at once, then `backfill --from D --to D` for
#      every day D of 2026-10-25..2026-11-08 ascending; then the same days
#      descending on the same warehouse.
#   C: a fresh copy, the days descending first.
# The daily_kpi CSVs of A, of B after each pass and of C are byte-identical
# (and equal the golden expected ones). data_quality is not compared: its
# partitions are per run date. A, B and C use separate warehouses and run in
# parallel; the script waits for all three.
source "$(dirname "$0")/lib.sh"

DAYS=()
d=2026-10-25
while [[ "$d" < 2026-11-09 ]]; do
    DAYS+=("$d")
    d=$(date -u -d "$d + 1 day" +%F)
done
check_eq "days in the scenario" "${#DAYS[@]}" "15"
REVERSED=()
for ((i = ${#DAYS[@]} - 1; i >= 0; i--)); do
    REVERSED+=("${DAYS[i]}")
done

# backfill_days DIR DAY...: one single-day backfill per day; prints the exit codes.
backfill_days() {
    local dir=$1 codes="" day
    shift
    for day in "$@"; do
        run_moonstat "$dir" backfill --from "$day" --to "$day"
        codes+="$? "
    done
    echo "${codes% }"
}

ALL_ZERO=$(printf '0 %.0s' "${DAYS[@]}")
ALL_ZERO=${ALL_ZERO% }

(
    golden_setup "$WORK/A"
    golden_nightly "$WORK/A" >"$WORK/A.codes"
    csv_digest "$WORK/A" daily_kpi >"$WORK/A.digest"
) &
pid_a=$!
(
    golden_setup "$WORK/B"
    golden_copy "$WORK/B" batch1
    golden_copy "$WORK/B" batch2
    backfill_days "$WORK/B" "${DAYS[@]}" >"$WORK/B.asc.codes"
    csv_digest "$WORK/B" daily_kpi >"$WORK/B.asc.digest"
    backfill_days "$WORK/B" "${REVERSED[@]}" >"$WORK/B.desc.codes"
    csv_digest "$WORK/B" daily_kpi >"$WORK/B.desc.digest"
) &
pid_b=$!
(
    golden_setup "$WORK/C"
    golden_copy "$WORK/C" batch1
    golden_copy "$WORK/C" batch2
    backfill_days "$WORK/C" "${REVERSED[@]}" >"$WORK/C.codes"
    csv_digest "$WORK/C" daily_kpi >"$WORK/C.digest"
) &
pid_c=$!
wait "$pid_a" "$pid_b" "$pid_c"

check_eq "A: exit codes of the nightly runs" "$(cat "$WORK/A.codes")" "0 0"
check_eq "B: exit codes of the ascending backfills" "$(cat "$WORK/B.asc.codes")" "$ALL_ZERO"
check_eq "B: exit codes of the descending backfills" "$(cat "$WORK/B.desc.codes")" "$ALL_ZERO"
check_eq "C: exit codes of the descending backfills" "$(cat "$WORK/C.codes")" "$ALL_ZERO"

A=$(cat "$WORK/A.digest")
check_eq "A: one daily_kpi CSV per scenario day" "$(wc -l <<<"$A")" "15"
want=$(cd "$GOLDEN/expected" && find daily_kpi -name '*.csv' | sort | xargs sha256sum)
check_eq "A: daily_kpi equals the golden expected CSVs" "$A" "$want"
check_eq "B ascending: daily_kpi equals A" "$(cat "$WORK/B.asc.digest")" "$A"
check_eq "B then descending: daily_kpi equals B ascending" "$(cat "$WORK/B.desc.digest")" \
    "$(cat "$WORK/B.asc.digest")"
check_eq "C descending: daily_kpi equals A" "$(cat "$WORK/C.digest")" "$A"
for x in B C; do
    for part in "$WORK/$x"/exports/daily_kpi/dt=*; do
        check "$x: $(basename "$part") manifest matches" manifest_ok "$part" daily_kpi
    done
done
finish
