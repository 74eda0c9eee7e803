#!/usr/bin/env bash
# make demo: a realistic sample dataset (three games in three time zones,
# three weeks, every awkward input the spec names), the nightly job into
# SQLite, and a short readable view of the results.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
DEMO=${DEMO:-demo}
START=2026-10-01
DAYS=21
LAST=$(date -u -d "$START + $((DAYS - 1)) days" +%F)

rm -rf "$DEMO"
echo "== generating sample data into $DEMO/ (3 games, $DAYS days from $START)"
"$BIN/moonstat-gen" --out "$DEMO" --events 300000 --days "$DAYS" --start "$START" --seed 2026
echo
echo "== moonstat run --date $LAST (the nightly job)"
set +e
"$BIN/moonstat" run --config "$DEMO/moonstat.conf" --date "$LAST"
rc=$?
set -e
echo "exit status: $rc (0 ok, 1 failure, 2 configuration, 3 data-quality gate, 75 locked)"
echo
echo "warehouse: $DEMO/warehouse.db    exports: $DEMO/exports/    quarantine: $DEMO/quarantine/"
echo
echo "== daily KPIs, last 7 days (all platforms and countries)"
sqlite3 -header -column "$DEMO/warehouse.db" "
  SELECT date, game_id AS game, activations AS installs, registrations AS regs, dau, payers,
         revenue AS 'revenue USD', arppu, refunds
  FROM daily_kpi WHERE platform = 'ALL' AND country = 'ALL' AND date > date('$LAST', '-7 days')
  ORDER BY game_id, date;"
echo
echo "== retention (day 1, day 7) and LTV7 of the first week's cohorts"
sqlite3 -header -column "$DEMO/warehouse.db" "
  SELECT r1.cohort_date AS cohort, r1.game_id AS game, r1.cohort_size AS size,
         r1.rate AS d1, r7.rate AS d7, l.ltv AS ltv7
  FROM retention r1
  LEFT JOIN retention r7 ON r7.cohort_date = r1.cohort_date AND r7.game_id = r1.game_id
       AND r7.platform = 'ALL' AND r7.country = 'ALL' AND r7.day = 7
  LEFT JOIN ltv l ON l.cohort_date = r1.cohort_date AND l.game_id = r1.game_id
       AND l.platform = 'ALL' AND l.country = 'ALL' AND l.day = 7
  WHERE r1.platform = 'ALL' AND r1.country = 'ALL' AND r1.day = 1
    AND r1.cohort_date < date('$START', '+7 days')
  ORDER BY r1.game_id, r1.cohort_date;"
echo
echo "== data quality of this run"
sqlite3 -column "$DEMO/warehouse.db" "
  SELECT game_id, item, count FROM data_quality WHERE run_date = '$LAST' ORDER BY game_id, item;"
echo
echo "== export partitions"
for r in "$DEMO"/exports/*/; do
    printf '  %-22s %3d partitions\n' "$(basename "$r")" "$(find "$r" -name '_SUCCESS' | wc -l)"
done
echo
echo "Run it again: $BIN/moonstat run --config $DEMO/moonstat.conf --date $LAST  (nothing new: exit 0, nothing rewritten)"
