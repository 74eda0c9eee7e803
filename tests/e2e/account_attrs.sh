#!/usr/bin/env bash
# The daily KPIs put a day's facts (active accounts, new roles, payers,
# revenue) in their account's cell through account attributes read into
# memory (reports/account_attrs.h): every account of the game for a backfill
# or a first load (7 days or more), with the day's account, device and role
# counts tallied by the same scans, those of each day's facts otherwise.
# Both ways must give the figures the warehouse's own join gives (and, when
# every account is read, the retention of all cohorts, counted in one pass
# with the attributes in memory, that of each cohort's own query; the
# revenue by period, whose weeks' and months' distinct actives come from
# per-day counts either way, first_actives.sh checks against a DISTINCT):
#  1. the golden scenario with the per-day way forced (MOONSTAT_TEST_ACCOUNT_ATTRS=days):
#     daily_kpi equals the expected exports byte for byte (conformance.sh runs
#     it as chosen: its first run has 7 days or more, the scan);
#  2. generated data with every awkward kind of line (moonstat-gen
#     --awkward 1, ~10000 events, 6 days), two nightly runs each way: the
#     daily_kpi tables are identical, and their DAU, new roles, payers and
#     new-user payers equal those of SQL joins of the facts with the
#     accounts table (the queries the reports used before), their
#     activations, registrations, accounts with a first role and first-time
#     payers those of grouping the devices and accounts tables, in every row
#     of every day: the total, each platform, each country (SQLite; on
#     PostgreSQL the two ways are compared).
source "$(dirname "$0")/lib.sh"

for mode in days; do
    W=$WORK/golden-$mode
    golden_setup "$W"
    codes=$(MOONSTAT_TEST_ACCOUNT_ATTRS=$mode golden_nightly "$W")
    check_eq "golden, $mode: exit codes of the two nightly runs" "$codes" "0 0"
    n=0
    for want in "$GOLDEN"/expected/daily_kpi/dt=*/daily_kpi.csv; do
        part=$(basename "$(dirname "$want")")
        check "golden, $mode: daily_kpi/$part equals expected" \
            cmp -s "$want" "$W/exports/daily_kpi/$part/daily_kpi.csv"
        n=$((n + 1))
    done
    check "golden, $mode: expected daily_kpi partitions compared ($n)" test "$n" -gt 5
done

GEN=$ROOT/$BIN/moonstat-gen
G=$WORK/gen
"$GEN" --out "$G" --events 10000 --days 6 --seed 29 >"$WORK/gen.log" 2>&1
check_eq "moonstat-gen exit code" "$?" "0"

# nightly DIR MODE: two nightly runs (ship days up to 2026-10-03, then all).
nightly() {
    local dir=$1 mode=$2 d rc1 rc2
    mkdir -p "$dir/incoming" && cp "$G/moonstat.conf" "$dir/" && cp -r "$G/fx" "$dir/" || return 1
    use_backend "$dir" || return 1
    for d in "$G"/incoming/*; do
        [[ "$(basename "$d")" > 2026-10-03 ]] || cp -al "$d" "$dir/incoming/" || return 1
    done
    MOONSTAT_TEST_ACCOUNT_ATTRS=$mode run_moonstat "$dir" run --date 2026-10-03
    rc1=$?
    for d in "$G"/incoming/*; do
        [ -e "$dir/incoming/$(basename "$d")" ] || cp -al "$d" "$dir/incoming/" || return 1
    done
    MOONSTAT_TEST_ACCOUNT_ATTRS=$mode run_moonstat "$dir" run --date 2026-10-06
    rc2=$?
    echo "$rc1 $rc2"
}

KPI="SELECT * FROM daily_kpi ORDER BY date, game_id, platform, country"
check_eq "generated, scan: exit codes" "$(nightly "$WORK/scan" scan)" "0 0"
check_eq "generated, days: exit codes" "$(nightly "$WORK/days" days)" "0 0"
# both_ways NAME SQL: SQL's rows in each warehouse, to $WORK/scan.NAME and
# $WORK/days.NAME, and the check that they are the same.
both_ways() {
    wh_sql "$WORK/scan" "$2" >"$WORK/scan.$1"
    wh_sql "$WORK/days" "$2" >"$WORK/days.$1"
    check "generated: $1 is the same either way" cmp -s "$WORK/scan.$1" "$WORK/days.$1"
}
both_ways daily_kpi "$KPI"
check "generated: daily_kpi has rows" test "$(wc -l <"$WORK/scan.daily_kpi")" -gt 100
# Retention: all cohorts in one pass with the attributes in memory (scan)
# against each cohort joined with its activity by the warehouse (days).
both_ways retention "SELECT * FROM retention ORDER BY cohort_date, game_id, platform, country, day"
check "generated: retention has rows, some retained" \
    test "$(wc -l <"$WORK/scan.retention")" -gt 50 \
    -a "$(grep -c '|[1-9][0-9]*|0\.[0-9]*[1-9]' "$WORK/scan.retention")" -gt 5
# Revenue by period: the same either way.
both_ways revenue "SELECT * FROM revenue ORDER BY period, period_start, game_id"
check "generated: revenue has week and month rows" \
    test "$(grep -c '^week|' "$WORK/scan.revenue")" -ge 3 -a "$(grep -c '^month|' "$WORK/scan.revenue")" -ge 3

if ! pg_testing; then
    # The oracle: per game, local day and (platform, country), from joins.
    check "generated: the KPI counts equal those of SQL over the facts" \
        python3 - "$WORK/scan/warehouse.db" <<'PY'
import datetime, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
want = {}
def add(sql, col):
    for game, day, plat, country, n in db.execute(sql):
        date = (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()
        plat = plat if plat is not None else "other"
        country = country if country is not None else "ZZ"
        # the rows of daily_kpi: the total, per platform, per country
        for key in ((game, date, "ALL", "ALL"), (game, date, plat, "ALL"), (game, date, "ALL", country)):
            want.setdefault(key, [0] * 8)[col] += n
J = "JOIN accounts a ON a.game_id = x.game_id AND a.account_id = x.account_id"
PAID = "status = 'paid' AND sandbox = 0"
add("SELECT x.game_id, x.day, a.platform, a.country, count(*) FROM activity x %s "
    "GROUP BY 1, 2, 3, 4" % J, 0)
add("SELECT x.game_id, x.day, a.platform, a.country, count(*) FROM (SELECT DISTINCT game_id, "
    "day, account_id FROM payments p WHERE %s AND NOT EXISTS (SELECT 1 FROM activity s WHERE "
    "s.game_id = p.game_id AND s.day = p.day AND s.account_id = p.account_id)) x %s "
    "GROUP BY 1, 2, 3, 4" % (PAID, J), 0)
add("SELECT x.game_id, x.first_day, a.platform, a.country, count(*) FROM roles x %s "
    "GROUP BY 1, 2, 3, 4" % J, 1)
add("SELECT x.game_id, x.day, a.platform, a.country, count(*) FROM (SELECT DISTINCT game_id, "
    "day, account_id FROM payments WHERE %s) x %s GROUP BY 1, 2, 3, 4" % (PAID, J), 2)
add("SELECT x.game_id, x.day, a.platform, a.country, count(*) FROM (SELECT DISTINCT game_id, "
    "day, account_id FROM payments WHERE %s) x %s WHERE a.cohort_day = x.day "
    "GROUP BY 1, 2, 3, 4" % (PAID, J), 3)
add("SELECT game_id, first_day, platform, country, count(*) FROM devices GROUP BY 1, 2, 3, 4", 4)
add("SELECT game_id, cohort_day, platform, country, count(*) FROM accounts "
    "WHERE cohort_day IS NOT NULL GROUP BY 1, 2, 3, 4", 5)
add("SELECT game_id, role_day, platform, country, count(*) FROM accounts "
    "WHERE role_day IS NOT NULL GROUP BY 1, 2, 3, 4", 6)
add("SELECT game_id, pay_day, platform, country, count(*) FROM accounts "
    "WHERE pay_day IS NOT NULL GROUP BY 1, 2, 3, 4", 7)
got = {}
for game, date, plat, country, *v in db.execute(
        "SELECT game_id, date, platform, country, dau, new_roles, payers, new_user_payers, "
        "activations, registrations, new_role_accounts, new_payers FROM daily_kpi"):
    got[(game, date, plat, country)] = list(v)
dates = {k[1] for k in got}
want = {k: v for k, v in want.items() if k[1] in dates and any(v)}
got = {k: v for k, v in got.items() if any(v)}
bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
for k in bad[:5]:
    print("cell", k, "oracle", want.get(k), "daily_kpi", got.get(k), file=sys.stderr)
sys.exit(1 if bad or len(got) < 50 or not all(any(v[i] for v in got.values()) for i in range(8))
         else 0)
PY
fi
finish
