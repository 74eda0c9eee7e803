#!/usr/bin/env bash
# A night's reading must not grow with the input tree's history: a file
# already ingested whose size and stat id (device, inode, mtime, ctime) are
# unchanged is not even opened (ingest.h). A touched file is checksummed once
# (same content: not ingested again; its new stat id is recorded); a file
# whose content changed is ingested again even with its size and mtime put
# back (its ctime moved); rows from before schema 4 (no stat id) are
# checksummed once, and so are rows with a checksum of before XXH3, by that
# checksum (none read again unless it differs); a file changed within 2 s of the run's start gets no stat
# id (timestamps are coarse: a same-size rewrite in the same tick would keep
# it), so the next run checksums it. What is opened is read off strace.
source "$(dirname "$0")/lib.sh"

# Every file here is new, so the 2-second margin is turned off until the end
# (-1: no file counts as just changed).
export MOONSTAT_TEST_STAT_RACY_SECONDS=-1

W=$WORK/stat
MAX_REJECT_RATE=0 simple_setup "$W" g1:UTC
for d in 01 02 03; do
    echo "{\"base\": \"USD\", \"date\": \"2026-03-$d\", \"rates\": {\"USD\": 1}}" >"$W/fx/2026-03-$d.json"
done
login() { # event_id day account
    printf '{"event_id":"%s","event":"login","ts":"2026-03-%sT09:00:00Z","game_id":"g1","account_id":"%s"}\n' "$@"
}
mkdir -p "$W/incoming/d1"
{ login a1 01 A1; login a2 01 B1; } >"$W/incoming/d1/a.jsonl"
{ login b1 02 A1; login b2 02 C1; } | gzip -n >"$W/incoming/d1/b.jsonl.gz"
{ login c1 03 A1; login c2 03 D1; } >"$W/incoming/d1/c.jsonl"

# traced_run: a run under strace; sets RC and OPENED (the input files it
# opened, sorted, one per line, counted once each).
traced_run() {
    # LeakSanitizer cannot run under ptrace (the ASan pass): leaks are
    # checked by every other test, not this one.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -qq -e trace=openat,open -o "$WORK/trace" \
        "$MOONSTAT" run --date 2026-03-03 --config "$W/moonstat.conf" 2>>"$W/log"
    RC=$?
    OPENED=$(grep -o 'incoming/d1/[a-z.]*' "$WORK/trace" | sed 's|.*/||' | LC_ALL=C sort -u | tr '\n' ' ')
}
stats() { wh_sql "$W" "SELECT path, CASE WHEN stat IS NULL THEN 0 ELSE 1 END FROM ingested_files ORDER BY path" | tr '\n' ' '; }
rows() { wh_sql "$W" "SELECT path, size, checksum, lines, run_id FROM ingested_files ORDER BY path"; }

traced_run
check_eq "first run" "$RC" "0"
check_eq "first run: every file read" "$OPENED" "a.jsonl b.jsonl.gz c.jsonl "
check_eq "stat ids recorded" "$(stats)" "d1/a.jsonl|1 d1/b.jsonl.gz|1 d1/c.jsonl|1 "
before=$(rows)

traced_run
check_eq "nothing new: exit code" "$RC" "0"
check_eq "nothing new: no input file opened" "$OPENED" ""

touch "$W/incoming/d1/a.jsonl"
traced_run
check_eq "touched: exit code" "$RC" "0"
check_eq "touched: only that file opened (checksummed)" "$OPENED" "a.jsonl "
check_eq "touched: not ingested again" "$(rows)" "$before"
traced_run
check_eq "touched, next run: no input file opened" "$OPENED" ""

# Same size, mtime put back, new content: ctime moved, so it is read again.
cp -p "$W/incoming/d1/c.jsonl" "$WORK/c.orig"
sed -i 's/"D1"/"E1"/' "$W/incoming/d1/c.jsonl"
touch -r "$WORK/c.orig" "$W/incoming/d1/c.jsonl"
check_eq "the changed file has the old size" "$(stat -c %s "$W/incoming/d1/c.jsonl")" \
    "$(stat -c %s "$WORK/c.orig")"
check_eq "the changed file has the old mtime" "$(stat -c %Y.%y "$W/incoming/d1/c.jsonl")" \
    "$(stat -c %Y.%y "$WORK/c.orig")"
traced_run
check_eq "changed content: exit code" "$RC" "0"
check_eq "changed content: read" "$OPENED" "c.jsonl "
check_eq "changed content: ingested again (its new account is there)" \
    "$(wh_sql "$W" "SELECT account_id FROM accounts WHERE account_id IN ('D1', 'E1') ORDER BY 1" | tr '\n' ' ')" \
    "D1 E1 "
check_eq "changed content: DAU of the day" \
    "$(grep '^2026-03-03,g1,ALL,ALL,' "$W/exports/daily_kpi/dt=2026-03-03/daily_kpi.csv" | cut -d, -f11)" "3"

# Rows of a warehouse from before schema 4: checksummed once, then known.
wh_sql "$W" "UPDATE ingested_files SET stat = NULL"
traced_run
check_eq "no stat ids: exit code" "$RC" "0"
check_eq "no stat ids: every file checksummed once" "$OPENED" "a.jsonl b.jsonl.gz c.jsonl "
check_eq "no stat ids: recorded again" "$(stats)" "d1/a.jsonl|1 d1/b.jsonl.gz|1 d1/c.jsonl|1 "
traced_run
check_eq "then: no input file opened" "$OPENED" ""

# Records made before XXH3 (16 hex digits of CRC-32 and Adler-32, no
# prefix): a file whose stat changed is compared by that checksum, so an
# upgrade reads nothing unchanged again; one that differs is ingested again
# and recorded with an XXH3 checksum.
check_eq "checksums: xxh3: and 16 hex digits" \
    "$(wh_sql "$W" "SELECT count(*) FROM ingested_files WHERE checksum LIKE 'xxh3:%' AND length(checksum) = 21")" "3"
legacy_sum() {
    python3 -c 'import sys, zlib; d = open(sys.argv[1], "rb").read(); print("%08x%08x" % (zlib.crc32(d), zlib.adler32(d)))' "$1"
}
for f in a.jsonl b.jsonl.gz c.jsonl; do
    wh_sql "$W" "UPDATE ingested_files SET checksum = '$(legacy_sum "$W/incoming/d1/$f")', stat = NULL WHERE path = 'd1/$f'"
done
legacy_rows=$(rows)
traced_run
check_eq "legacy checksums: exit code" "$RC" "0"
check_eq "legacy checksums: every file checksummed once" "$OPENED" "a.jsonl b.jsonl.gz c.jsonl "
check_eq "legacy checksums: nothing ingested again" "$(rows)" "$legacy_rows"
check_eq "legacy checksums: stat ids recorded" "$(stats)" "d1/a.jsonl|1 d1/b.jsonl.gz|1 d1/c.jsonl|1 "
a_run=$(wh_sql "$W" "SELECT run_id FROM ingested_files WHERE path = 'd1/a.jsonl'")
wh_sql "$W" "UPDATE ingested_files SET checksum = '0123456789abcdef', stat = NULL WHERE path = 'd1/a.jsonl'"
traced_run
check_eq "legacy checksum that differs: exit code" "$RC" "0"
check_eq "legacy checksum that differs: read again" "$OPENED" "a.jsonl "
check_eq "legacy checksum that differs: ingested again, with an XXH3 checksum" \
    "$(wh_sql "$W" "SELECT CASE WHEN run_id = '$a_run' THEN 'same run' ELSE 'new run' END, substr(checksum, 1, 5) FROM ingested_files WHERE path = 'd1/a.jsonl'")" \
    "new run|xxh3:"
check_eq "legacy checksum that differs: its content counted once" \
    "$(wh_sql "$W" "SELECT count(*) FROM activity WHERE account_id = 'B1'")" "1"

# The default margin: a file written just now gets no stat id (nor does
# any file of this test, all written seconds ago: they are checksummed
# again, and nothing is ingested twice).
unset MOONSTAT_TEST_STAT_RACY_SECONDS
{ login d1 03 A1; login d2 03 F1; } >"$W/incoming/d1/d.jsonl"
before=$(rows | grep -v d.jsonl)
traced_run
check_eq "just written: exit code" "$RC" "0"
check "just written: read" grep -q 'd.jsonl' <<<"$OPENED"
check_eq "just written: no stat id recorded for it" "$(stats | grep -o 'd1/d.jsonl|[01]')" \
    "d1/d.jsonl|0"
d_row=$(rows | grep d.jsonl)
traced_run
check_eq "next run: exit code" "$RC" "0"
check "next run: checksummed again" grep -q 'd.jsonl' <<<"$OPENED"
check_eq "next run: not ingested again" "$(rows | grep -v d.jsonl)" "$before"
check_eq "next run: its content counted once" \
    "$(wh_sql "$W" "SELECT count(*) FROM activity WHERE account_id = 'F1'")" "1"
check_eq "next run: d.jsonl still recorded as ingested by the run before" "$(rows | grep d.jsonl)" \
    "$d_row"
finish
