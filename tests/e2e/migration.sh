#!/usr/bin/env bash
# Upgrading a warehouse: the next run applies the migrations it lacks, and
# migrations that change no report (here 005, a partial index, 006 and 008,
# wider ones, 007, the per-day first-active counts, which the upgraded
# warehouse fills from its facts, 009, the table of parked indexes, 010,
# which drops roles_by_account, 011, which drops the accounts' indexes by
# first role and first payment day, and 012, which counts the activations
# from the devices into a table the merge keeps and drops devices_by_day,
# and 013, which puts the day's bucket before the account in
# activity_by_account) change no export either. The manifests' schema_version is the exports' layout version
# (reports/export.h), not the warehouse's, so after the upgrade a backfill of
# every golden day finds every report's partition up to date and touches
# none: same bytes, same inodes, same mtimes (exports.md: a rerun's manifest differs
# only in run_id and written_at, and an unchanged partition is not rewritten).
# The warehouse is taken back to version 4 by hand (the indexes as 001 made
# them, no first_actives or parked_indexes table, the version rows removed),
# on either backend. The exports were published at version 13 here, so what shows that
# an upgrade leaves the manifests of a version-4 warehouse alone is their
# schema_version: 4 at warehouse version 13 (the last check; it failed when
# the manifest carried the warehouse's).
source "$(dirname "$0")/lib.sh"

W=$WORK/golden
golden_setup "$W"
check_eq "exit codes of the two nightly runs" "$(golden_nightly "$W")" "0 0"
check_eq "the warehouse is at version 13" "$(wh_sql "$W" "SELECT max(version) FROM schema_version")" "13"
tree_snapshot "$W/exports" >"$WORK/before"

wh_sql "$W" "CREATE INDEX accounts_by_pay_day ON accounts (game_id, pay_day);
    CREATE INDEX accounts_by_role_day ON accounts (game_id, role_day);
    DROP INDEX accounts_by_cohort;
    CREATE INDEX accounts_by_cohort ON accounts (game_id, cohort_day);
    DROP TABLE first_actives;
    DROP TABLE parked_indexes;
    DROP INDEX payments_by_day;
    CREATE INDEX payments_by_day ON payments (game_id, day);
    CREATE INDEX roles_by_account ON roles (game_id, account_id);
    DROP TABLE activations;
    CREATE INDEX devices_by_day ON devices (game_id, first_day);
    DROP INDEX activity_by_account;
    CREATE INDEX activity_by_account ON activity (game_id, account_id, day);
    DELETE FROM schema_version WHERE version >= 5" >/dev/null
check_eq "taken back to version 4" "$(wh_sql "$W" "SELECT max(version) FROM schema_version")" "4"

run_moonstat "$W" backfill --from 2026-10-25 --to 2026-11-08
check_eq "backfill after the upgrade: exit code" "$?" "0"
check_eq "migrated to version 13" "$(wh_sql "$W" "SELECT max(version) FROM schema_version")" "13"
index_def() {
    if pg_testing; then
        wh_sql "$W" "SELECT indexdef FROM pg_indexes WHERE indexname = '$1'"
    else
        wh_sql "$W" "SELECT sql FROM sqlite_master WHERE name = '$1'"
    fi
}
check_eq "accounts_by_pay_day is gone again" "$(index_def accounts_by_pay_day)" ""
check_eq "accounts_by_role_day is gone again" "$(index_def accounts_by_role_day)" ""
def=$(index_def payments_by_day)
check "payments_by_day carries the account id again ($def)" \
    grep -qi "(game_id, day, account_id)" <<<"$def"
def=$(index_def accounts_by_cohort)
check "accounts_by_cohort covers platform and country again ($def)" \
    grep -qi "(game_id, cohort_day, platform, country)" <<<"$def"
check_eq "roles_by_account is gone again" "$(index_def roles_by_account)" ""
def=$(index_def activity_by_account)
check "activity_by_account leads with the day's bucket again ($def)" \
    grep -qiE "\(game_id, \(*day / 16\)*, account_id, day\)" <<<"$def"
check_eq "devices_by_day is gone again" "$(index_def devices_by_day)" ""
check_eq "activations counted from the devices" \
    "$(wh_sql "$W" "SELECT game_id, day, platform, country, devices FROM activations ORDER BY 1, 2, 3, 4")" \
    "$(wh_sql "$W" "SELECT game_id, first_day, platform, country, count(*) FROM devices
                    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")"
check "the golden devices make more than 10 activation cells" \
    test "$(wh_sql "$W" "SELECT count(*) FROM activations")" -gt 10
check_eq "first-active counts are back: 3 games x 39 days (October, November to the 8th)" \
    "$(wh_sql "$W" "SELECT count(*) FROM first_actives")" "117"
# The backfill records its own data_quality (its run date's partition); the
# reports it recomputed are those of the nightly runs.
check "the backfill republished its data_quality partition only" \
    grep -Eq "published 1 partitions, [1-9][0-9]* already up to date" "$W/log"
tree_snapshot "$W/exports" | grep -v '^data_quality' >"$WORK/after"
grep -v '^data_quality' "$WORK/before" >"$WORK/before.reports"
check "reports' exports untouched by the upgrade and the backfill (bytes, inodes, mtimes)" \
    cmp -s "$WORK/before.reports" "$WORK/after"
check "manifests say schema_version 4" python3 - "$W/exports" <<'PY'
import glob, json, os, sys
ms = glob.glob(os.path.join(sys.argv[1], "*", "dt=*", "manifest.json"))
sys.exit(0 if len(ms) > 20 and all(json.load(open(m))["schema_version"] == 4 for m in ms) else 1)
PY
finish
