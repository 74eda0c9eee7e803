#!/usr/bin/env bash
# A game's first load skips the read-back and the staging tables (merge.h):
# its rows go straight into the fact tables. That shortcut must give exactly
# the warehouse and the exports of the general path (forced with
# MOONSTAT_TEST_ALWAYS_STAGE=1), for
#   1. the golden nightly: every game fresh in the first run, none in the second;
#      1b. the same after a first run that stopped before building the
#      secondary indexes it parked (load_order.h);
#   2. a mixed run: "star" already loaded (from a copy of batch 1 holding only
#      its lines), "reversal" and "rainbow" loaded for the first time; the
#      reports then equal those of one run of the whole batch.
source "$(dirname "$0")/lib.sh"

# The fact tables, in key order, with every column.
facts() {
    wh_sql "$1" "SELECT * FROM devices ORDER BY game_id, device_id" &&
        wh_sql "$1" "SELECT * FROM activations ORDER BY game_id, day, platform, country" &&
        wh_sql "$1" "SELECT * FROM accounts ORDER BY game_id, account_id" &&
        wh_sql "$1" "SELECT * FROM roles ORDER BY game_id, server_id, role_id" &&
        wh_sql "$1" "SELECT * FROM activity ORDER BY game_id, day, account_id" &&
        wh_sql "$1" "SELECT * FROM payments ORDER BY game_id, order_id, status" &&
        wh_sql "$1" "SELECT game_id, day FROM dirty_days ORDER BY game_id, day" &&
        wh_sql "$1" "SELECT * FROM data_quality ORDER BY run_date, game_id, item"
}

# The warehouse's indexes, with their definitions: a first load into an
# empty table drops the secondary ones and builds them again at its end
# (etl/load_order.h); they must come back exactly as the schema made them.
indexes() {
    if pg_testing; then
        wh_sql "$1" "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
    else
        wh_sql "$1" "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    fi
}

# only_star SRC DST: the files of SRC with only the lines of game "star"
# (one python3 process: a grep and a gzip per file took most of the test).
only_star() {
    python3 - "$1" "$2" <<'PY'
import gzip, os, sys
src, dst = sys.argv[1], sys.argv[2]
for root, _, files in os.walk(src):
    for name in files:
        gz = name.endswith(".jsonl.gz")
        if not (gz or name.endswith(".jsonl")):
            continue
        path = os.path.join(root, name)
        out = os.path.join(dst, os.path.relpath(path, src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with (gzip.open if gz else open)(path, "rb") as f:
            keep = [l if l.endswith(b"\n") else l + b"\n" for l in f if b'"game_id":"star"' in l]
        with open(out, "wb") as raw:
            if gz:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as g:
                    g.writelines(keep)
            else:
                raw.writelines(keep)
PY
}

# 1. The golden nightly, both ways.
for mode in fresh staged; do
    golden_setup "$WORK/$mode"
    if [ $mode = staged ]; then
        codes=$(MOONSTAT_TEST_ALWAYS_STAGE=1 golden_nightly "$WORK/$mode")
    else
        codes=$(golden_nightly "$WORK/$mode")
    fi
    check_eq "golden nightly ($mode): exit codes" "$codes" "0 0"
done
check "golden: the fresh path loaded something" test "$(facts "$WORK/fresh" | wc -l)" -gt 1000
if ! pg_testing; then
    check_eq "golden: a new SQLite warehouse has 16 KiB pages" \
        "$(wh_sql "$WORK/fresh" "PRAGMA page_size")" "16384"
fi
check_eq "golden: same indexes both ways" "$(indexes "$WORK/fresh")" "$(indexes "$WORK/staged")"
check "golden: the fact tables have their secondary indexes" \
    test "$(indexes "$WORK/fresh" | grep -c -E '^(activity_by_account|accounts_by_cohort|roles_by_day|payments_by_day|payments_by_account)[|]')" = 5
check_eq "golden: no index of accounts by first role or payment day (migration 011)" \
    "$(indexes "$WORK/fresh" | grep -c -E '^accounts_by_(role|pay)_day[|]')" "0"
check_eq "golden: no index left parked" \
    "$(wh_sql "$WORK/fresh" "SELECT count(*) FROM parked_indexes")" "0"
if ! pg_testing; then
    # SQLite parks the big tables' 3 (roles 1, activity 1, accounts 1) and
    # builds them while the reports are computed.
    check_eq "golden: the first load built its parked indexes, the second none" \
        "$(grep -o 'built [0-9]* secondary indexes of the first load' "$WORK/fresh/log")" \
        "built 3 secondary indexes of the first load"
fi
check_eq "golden: same fact tables both ways" "$(facts "$WORK/fresh")" "$(facts "$WORK/staged")"
check_eq "golden: no index of devices by day (migration 012)" \
    "$(indexes "$WORK/fresh" | grep -c '^devices_by_day[|]')" "0"
for mode in fresh staged; do
    check_eq "golden ($mode): the activations are the devices by first day, platform, country" \
        "$(wh_sql "$WORK/$mode" "SELECT game_id, day, platform, country, devices FROM activations
                                 ORDER BY 1, 2, 3, 4")" \
        "$(wh_sql "$WORK/$mode" "SELECT game_id, first_day, platform, country, count(*) FROM devices
                                 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")"
done
check "golden: activations were counted" \
    test "$(wh_sql "$WORK/fresh" "SELECT count(*) FROM activations")" -gt 10
check_eq "golden: same exports both ways" "$(csv_digest_all "$WORK/fresh")" \
    "$(csv_digest_all "$WORK/staged")"
check_eq "golden: the exports are the expected ones (daily_kpi 2026-11-07)" \
    "$(cat "$WORK/fresh/exports/daily_kpi/dt=2026-11-07/daily_kpi.csv")" \
    "$(cat "$GOLDEN/expected/daily_kpi/dt=2026-11-07/daily_kpi.csv")"

# 1b. A run that stopped between its facts' commit and its indexes' leaves
#     them parked (load_order.h): that state made by hand from the golden
#     first load, the next run builds them before its merge, and its
#     reports are those of the uninterrupted nightly.
if ! pg_testing; then
    W=$WORK/parked
    golden_setup "$W"
    golden_copy "$W" batch1
    run_moonstat "$W" run --date 2026-11-07
    check_eq "parked: run 1" "$?" "0"
    wh_sql "$W" "BEGIN;
        INSERT INTO parked_indexes (name, create_sql) SELECT name, sql FROM sqlite_master
            WHERE type = 'index' AND name IN ('activity_by_account', 'roles_by_day');
        DROP INDEX activity_by_account;
        DROP INDEX roles_by_day;
        COMMIT;" >/dev/null
    check_eq "parked: two indexes parked by hand" \
        "$(wh_sql "$W" "SELECT name FROM parked_indexes ORDER BY name" | tr '\n' ' ')" \
        "activity_by_account roles_by_day "
    golden_copy "$W" batch2
    run_moonstat "$W" run --date 2026-11-08
    check_eq "parked: run 2" "$?" "0"
    check_eq "parked: run 2 built them first" \
        "$(grep -o 'built [0-9]* secondary indexes an earlier run left parked' "$W/log")" \
        "built 2 secondary indexes an earlier run left parked"
    check_eq "parked: none left" "$(wh_sql "$W" "SELECT count(*) FROM parked_indexes")" "0"
    check_eq "parked: the indexes are back as the schema made them" "$(indexes "$W")" \
        "$(indexes "$WORK/fresh")"
    check_eq "parked: the exports of the uninterrupted nightly" "$(csv_digest_all "$W")" \
        "$(csv_digest_all "$WORK/fresh")"
    # A parked index that cannot be built (here: a table that does not
    # exist) fails the run before its merge, exit 1, and stays parked.
    snap=$(csv_digest_all "$W")
    wh_sql "$W" "INSERT INTO parked_indexes (name, create_sql) VALUES ('broken_by_day',
        'CREATE INDEX broken_by_day ON no_such_table (day)')" >/dev/null
    : >"$W/log"
    run_moonstat "$W" run --date 2026-11-08
    check_eq "parked, unbuildable: exit code" "$?" "1"
    check "parked, unbuildable: the ERROR line says which step and what" \
        grep -q "ERROR moonstat: storing the facts failed: building the secondary indexes an earlier run left parked: .*no_such_table" "$W/log"
    check_eq "parked, unbuildable: still parked" \
        "$(wh_sql "$W" "SELECT name FROM parked_indexes")" "broken_by_day"
    check_eq "parked, unbuildable: no export changed" "$(csv_digest_all "$W")" "$snap"
    wh_sql "$W" "DELETE FROM parked_indexes" >/dev/null
    run_moonstat "$W" run --date 2026-11-08
    check_eq "parked, removed by hand: the next run" "$?" "0"
fi

# 2. Mixed: star first, then everything.
for mode in fresh staged; do
    W=$WORK/mixed-$mode
    golden_setup "$W"
    only_star "$W/batch1" "$W/incoming"
    if [ $mode = staged ]; then export MOONSTAT_TEST_ALWAYS_STAGE=1; fi
    run_moonstat "$W" run --date 2026-11-07
    check_eq "mixed ($mode): star-only run" "$?" "0"
    check_eq "mixed ($mode): only star loaded" \
        "$(wh_sql "$W" "SELECT DISTINCT game_id FROM accounts ORDER BY 1")" "star"
    golden_copy "$W" batch1
    run_moonstat "$W" run --date 2026-11-07
    check_eq "mixed ($mode): full batch 1" "$?" "0"
    unset MOONSTAT_TEST_ALWAYS_STAGE
done
check_eq "mixed: same fact tables both ways" "$(facts "$WORK/mixed-fresh")" \
    "$(facts "$WORK/mixed-staged")"
check_eq "mixed: same exports both ways" "$(csv_digest_all "$WORK/mixed-fresh")" \
    "$(csv_digest_all "$WORK/mixed-staged")"
# Earliest wins, whatever the order the lines came in: star first and then
# everything gives the reports of one run of batch 1 (data_quality aside,
# which counts what each run read).
golden_setup "$WORK/one"
golden_copy "$WORK/one" batch1
run_moonstat "$WORK/one" run --date 2026-11-07
check_eq "batch 1 in one run" "$?" "0"
check_eq "mixed: the reports of one run of batch 1" \
    "$(csv_digest_all "$WORK/mixed-fresh" | grep -v ' data_quality/')" \
    "$(csv_digest_all "$WORK/one" | grep -v ' data_quality/')"
# 3. A first load where a day has nothing new but logins: the day is still
#    computed (every account-day of a fresh game marks its day).
W=$WORK/logins
MAX_REJECT_RATE=0 simple_setup "$W" g1:UTC
for d in 01 02 03; do
    echo "{\"base\": \"USD\", \"date\": \"2026-03-$d\", \"rates\": {\"USD\": 1}}" >"$W/fx/2026-03-$d.json"
done
{
    printf '{"event_id":"r1","event":"register","ts":"2026-03-01T09:00:00Z","game_id":"g1","account_id":"A1","platform":"ios","country":"JP"}\n'
    printf '{"event_id":"l1","event":"login","ts":"2026-03-02T09:00:00Z","game_id":"g1","account_id":"A1"}\n'
    printf '{"event_id":"l2","event":"login","ts":"2026-03-03T09:00:00Z","game_id":"g1","account_id":"A1"}\n'
} >"$W/incoming/events.jsonl"
run_moonstat "$W" run --date 2026-03-03
check_eq "logins only: exit code" "$?" "0"
check_eq "logins only: the day with nothing new but a login has its DAU" \
    "$(grep '^2026-03-02,g1,ALL,ALL,' "$W/exports/daily_kpi/dt=2026-03-02/daily_kpi.csv" | cut -d, -f5,6,11)" \
    "0,0,1"
finish
