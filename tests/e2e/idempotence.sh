#!/usr/bin/env bash
# Idempotence (operations.md "Running it again with nothing new changes
# nothing and publishes nothing"; exports.md "partitions whose content did not
# change are not touched"): after the golden nightly, a third run with the
# same --date and no new input, and a run after `touch`ing input files (same
# content, new mtime), leave every export and quarantine file as it was: same
# bytes, same mtime (ns), same inode, no new partition, no new entry at all.
source "$(dirname "$0")/lib.sh"

W=$WORK/golden
golden_setup "$W"
codes=$(golden_nightly "$W")
check_eq "exit codes of the two nightly runs" "$codes" "0 0"

exports_before=$(tree_snapshot "$W/exports")
quarantine_before=$(tree_snapshot "$W/quarantine")
partitions_before=$(cd "$W/exports" && find . -mindepth 2 -maxdepth 2 | LC_ALL=C sort)
check "the nightly published partitions" test -n "$partitions_before"
check "the snapshot covers daily_kpi CSVs" grep -q 'daily_kpi/dt=2026-11-08/daily_kpi.csv ' <<<"$exports_before"
runs() { wh_sql "$W" "select status, exit_code, count(*) from runs group by status, exit_code order by status"; }
check_eq "the runs table after the nightly" "$(runs)" "ok|0|2"
ingested() { wh_sql "$W" "select path, size, checksum, lines, run_id from ingested_files" | LC_ALL=C sort; }
ingested_before=$(ingested)
check_eq "both batches recorded as ingested" "$(wc -l <<<"$ingested_before")" \
    "$(cd "$GOLDEN/scenario" && find batch1 batch2 -not -path '*/.*' \( -name '*.jsonl' -o -name '*.jsonl.gz' \) | sed 's|^batch[12]/||' | sort -u | wc -l)"

# 1. The same run again, nothing new.
run_moonstat "$W" run --date 2026-11-08
check_eq "third run (no new input) exit code" "$?" "0"
check_eq "third run: exports unchanged (bytes, mtime, inode, entries)" \
    "$(tree_snapshot "$W/exports")" "$exports_before"
check_eq "third run: quarantine unchanged" "$(tree_snapshot "$W/quarantine")" "$quarantine_before"
check_eq "third run: no new partition" \
    "$(cd "$W/exports" && find . -mindepth 2 -maxdepth 2 | LC_ALL=C sort)" "$partitions_before"
check_eq "third run recorded once, as ok" "$(runs)" "ok|0|3"
check_eq "third run ingested nothing (ingested_files unchanged)" "$(ingested)" "$ingested_before"

# 2. Inputs touched (new mtime, same bytes): a plain and a gzip file of each batch.
touched=0
for f in $(cd "$W/incoming" && find . -name '*.jsonl' | LC_ALL=C sort | head -3) \
    $(cd "$W/incoming" && find . -name '*.jsonl.gz' | LC_ALL=C sort | tail -3); do
    touch -d '2030-01-01 00:00:00' "$W/incoming/$f"
    touched=$((touched + 1))
done
check_eq "touched six input files" "$touched" "6"
run_moonstat "$W" run --date 2026-11-08
check_eq "run after touch exit code" "$?" "0"
check_eq "run after touch: exports unchanged (bytes, mtime, inode, entries)" \
    "$(tree_snapshot "$W/exports")" "$exports_before"
check_eq "run after touch: quarantine unchanged" "$(tree_snapshot "$W/quarantine")" "$quarantine_before"
check_eq "run after touch ingested nothing (ingested_files unchanged)" "$(ingested)" "$ingested_before"

# 3. An earlier --date with nothing new: nothing to compute, nothing published.
run_moonstat "$W" run --date 2026-11-07
check_eq "run with an earlier date exit code" "$?" "0"
check_eq "run with an earlier date: exports unchanged" "$(tree_snapshot "$W/exports")" "$exports_before"

# The snapshot really notices a change (the test can fail): rewrite one CSV
# with the same bytes, which gives it a new inode and mtime.
csv=$W/exports/daily_kpi/dt=2026-11-08/daily_kpi.csv
cp "$csv" "$WORK/copy.csv" && rm "$csv" && cp "$WORK/copy.csv" "$csv"
check "snapshot detects a rewritten file" test "$(tree_snapshot "$W/exports")" != "$exports_before"
finish
