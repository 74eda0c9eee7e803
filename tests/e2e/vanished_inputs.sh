#!/usr/bin/env bash
# An input file that is gone when its turn comes is skipped with a warning,
# not an error: shipped logs may be archived (moved away) by another job
# while a run reads the tree, and a dangling symbolic link is the same thing
# seen from the tree. The run exits 0, stores everything else, does not
# record the file as ingested, and the run that finds it reads it.
#   1. a dangling symbolic link (the plan's stat: ENOENT); its target
#      appears later and the next run reads it;
#   2. a new file removed between the listing and its open (killer.so,
#      MOONSTAT_VANISH), with 2 reader threads and a second new file that is
#      read as usual;
#   3. a known file whose stat changed, removed before its checksum is
#      taken (file_identity's open).
# Game g1 (UTC), day 2026-03-01.
source "$(dirname "$0")/lib.sh"

W=$WORK/v
simple_setup "$W" g1:UTC
sed -i 's/^\[moonstat\]$/[moonstat]\nthreads            = 2/' "$W/moonstat.conf"
echo '{"base": "USD", "date": "2026-03-01", "rates": {"USD": 1}}' >"$W/fx/2026-03-01.json"
mkdir -p "$W/elsewhere"

reg() { # reg ACCOUNT: one registration line
    printf '{"event_id":"r-%s","event":"register","ts":"2026-03-01T09:00:00Z","game_id":"g1","account_id":"%s"}\n' "$1" "$1"
}
accounts() { wh_sql "$W" "SELECT account_id FROM accounts ORDER BY 1" | tr '\n' ' '; }
ingested() { wh_sql "$W" "SELECT path FROM ingested_files ORDER BY 1" | tr '\n' ' '; }
# run_logged NAME [ENV...]: a run whose stderr is kept in $W/NAME.log; prints its exit code.
run_logged() {
    local name=$1
    shift
    env "$@" "$MOONSTAT" run --date 2026-03-01 --config "$W/moonstat.conf" 2>"$W/$name.log"
    echo $?
}

# 1. A dangling symbolic link among two good files.
reg A1 >"$W/incoming/a.jsonl"
reg B1 >"$W/incoming/b.jsonl"
ln -s ../elsewhere/c.jsonl "$W/incoming/c.jsonl"
check_eq "dangling link: exit code" "$(run_logged run1)" "0"
check "dangling link: a warning names it" \
    grep -q "WARN .*input file $W/incoming/c.jsonl was gone when its turn came" "$W/run1.log"
check_eq "dangling link: the other files are stored" "$(accounts)" "A1 B1 "
check_eq "dangling link: not recorded as ingested" "$(ingested)" "a.jsonl b.jsonl "
reg C1 >"$W/elsewhere/c.jsonl"
check_eq "link target present: exit code" "$(run_logged run2)" "0"
check_eq "link target present: read by the next run" "$(accounts)" "A1 B1 C1 "
check "link target present: no warning" bash -c "! grep -q WARN '$W/run2.log'"

if sanitized; then
    skip_test "parts 2 and 3 need LD_PRELOAD (killer.so), which ASan refuses"
fi

# 2. Two new files; one is removed just before it is opened.
reg D1 >"$W/incoming/d.jsonl"
reg V1 >"$W/incoming/v.jsonl"
check_eq "vanished at open: exit code" \
    "$(run_logged run3 LD_PRELOAD="$KILLER" MOONSTAT_VANISH=/incoming/v.jsonl)" "0"
check "vanished at open: the shim removed it" test ! -e "$W/incoming/v.jsonl"
check "vanished at open: a warning names it" \
    grep -q "WARN .*input file $W/incoming/v.jsonl was gone when its turn came" "$W/run3.log"
check_eq "vanished at open: the other new file is stored" "$(accounts)" "A1 B1 C1 D1 "
check_eq "vanished at open: not recorded as ingested" "$(ingested)" \
    "a.jsonl b.jsonl c.jsonl d.jsonl "
check "vanished at open: nothing in quarantine" \
    bash -c "! find '$W/quarantine' -name '*v.jsonl*' 2>/dev/null | grep -q ."

# 3. A known file touched (same size, new stat id: its checksum is taken),
#    removed just before that.
touch -d '2026-03-02 00:00:00' "$W/incoming/a.jsonl"
check_eq "vanished before its checksum: exit code" \
    "$(run_logged run4 LD_PRELOAD="$KILLER" MOONSTAT_VANISH=/incoming/a.jsonl)" "0"
check "vanished before its checksum: the shim removed it" test ! -e "$W/incoming/a.jsonl"
check "vanished before its checksum: a warning names it" \
    grep -q "WARN .*input file $W/incoming/a.jsonl was gone when its turn came" "$W/run4.log"
check_eq "vanished before its checksum: its facts stay" "$(accounts)" "A1 B1 C1 D1 "
check_eq "vanished before its checksum: its record stays" "$(ingested)" \
    "a.jsonl b.jsonl c.jsonl d.jsonl "
finish
