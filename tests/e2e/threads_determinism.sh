#!/usr/bin/env bash
# Parallel reading (issue 4, item 3): the input files are read by `threads`
# reader threads and folded in path order, so a run's result must not depend
# on the thread count. Generated data with every awkward kind of line
# (moonstat-gen --awkward 1: rejects of each reason, duplicates within and
# across files, unknown events, BOM, CRLF, multi-member gzip, files arriving
# late for earlier days; plain and gzip files), about 330 files and 60000
# events, in two nightly runs (the ship days up to 2026-10-03 with
# --date 2026-10-03, then all with --date 2026-10-06, which also skips the
# files already ingested; plus an event_id used in two games, in a large and
# a tiny file, which makes data_quality depend on the order the files are
# folded in), each into a fresh warehouse with threads = 1, 2, 3
# and 8. Against threads = 1, for each other count:
#  - the exit codes of both runs (0 0),
#  - every exported file (list and bytes; in manifest.json everything but
#    run_id and written_at, which name the run),
#  - the quarantine files (list and bytes),
#  - the data_quality table and the "read N files: ..." log lines,
#  - the warehouse's fact tables (devices, accounts, roles, activity,
#    payments, quarantine without run_id, ingested_files without run id and
#    time), ordered by their keys,
# are identical. Then one gzip file in the middle of the tree is truncated:
# threads = 2 exits 1 as threads = 1 does, names the file, counts it as
# corrupt_file, and stores the same facts, which are those of the complete
# tree without that file's.
source "$(dirname "$0")/lib.sh"

GEN=$ROOT/$BIN/moonstat-gen
G=$WORK/gen
"$GEN" --out "$G" --events 60000 --days 6 --seed 11 >"$WORK/gen.log" 2>&1
check_eq "moonstat-gen exit code" "$?" "0"
# Order-sensitive input: one event_id in two games. Within a run the first
# line with an id, in path order, is accepted and the other one is a
# duplicate, so data_quality depends on the order in which files are folded:
# zz-a.jsonl (large, slow to read) must be folded before zz-b.jsonl (tiny,
# read to the end long before zz-a by another thread).
python3 - "$G/incoming/2026-10-02" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/zz-a.jsonl", "w") as f:
    for i in range(30000):
        f.write('{"event_id":"zz-filler-%d","event":"tutorial_done","ts":"2026-10-02T10:00:00Z",'
                '"game_id":"star","account_id":"zz-acc"}\n' % i)
    f.write('{"event_id":"zz-probe","event":"register","ts":"2026-10-02T11:00:00Z",'
            '"game_id":"star","account_id":"zz-star"}\n')
with open(d + "/zz-b.jsonl", "w") as f:
    f.write('{"event_id":"zz-probe","event":"register","ts":"2026-10-02T11:00:00Z",'
            '"game_id":"rainbow","account_id":"zz-rainbow"}\n')
PY
check "the data has gzip and plain files" \
    bash -c "find '$G/incoming' -name '*.jsonl.gz' | grep -q . && find '$G/incoming' -name '*.jsonl' | grep -q ."
check "the data has a file with a BOM and one with CRLF line ends" python3 - "$G/incoming" <<'PY'
import os, sys
heads = []
for d, _, files in os.walk(sys.argv[1]):
    heads += [open(os.path.join(d, f), "rb").read(4096) for f in files if f.endswith(".jsonl")]
sys.exit(0 if any(h.startswith(b"\xef\xbb\xbf") for h in heads) and any(b"\r\n" in h for h in heads) else 1)
PY

# setup DIR THREADS [SHIP_DAYS_UPTO] and more_input DIR: gen_setup and
# gen_more_input (lib.sh) on the generated data.
setup() { gen_setup "$1" "$G" "$2" "${3:-9999-99-99}"; }
more_input() { gen_more_input "$1" "$G"; }

# tree_digest DIR: one line per file under DIR, sorted: "path sha256"; for a
# manifest.json the hash of its JSON without run_id and written_at.
tree_digest() {
    python3 - "$1" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    for name in files:
        p = os.path.join(d, name)
        data = open(p, "rb").read()
        if name == "manifest.json":
            m = json.loads(data)
            for k in ("run_id", "written_at"):
                m.pop(k, None)
            data = json.dumps(m, sort_keys=True).encode()
        out.append("%s %s" % (os.path.relpath(p, root), hashlib.sha256(data).hexdigest()))
for line in sorted(out):
    print(line)
PY
}

# facts DIR: the fact tables (and data_quality) of DIR's warehouse, by key.
facts() {
    local t
    for t in "devices ORDER BY game_id, device_id" \
        "activations ORDER BY game_id, day, platform, country" \
        "accounts ORDER BY game_id, account_id" \
        "roles ORDER BY game_id, server_id, role_id" \
        "activity ORDER BY game_id, day, account_id" \
        "payments ORDER BY game_id, order_id, status"; do
        echo "== $t"
        wh_sql "$1" "SELECT * FROM $t" || echo "QUERY FAILED"
    done
    echo "== quarantine"
    wh_sql "$1" "SELECT file, line, reason, game_id FROM quarantine ORDER BY file, line" || echo "QUERY FAILED"
    echo "== ingested_files"
    wh_sql "$1" "SELECT path, size, checksum, lines FROM ingested_files ORDER BY path" || echo "QUERY FAILED"
    echo "== data_quality"
    wh_sql "$1" "SELECT run_date, game_id, item, count FROM data_quality ORDER BY run_date, game_id, item" ||
        echo "QUERY FAILED"
}

# read_lines DIR: the "read N files: ..." log lines without their timings.
read_lines() {
    grep -o 'read [0-9]* files: [0-9]* lines, [0-9]* rejected' "$1/log"
}

# nightly DIR THREADS: the two nightly runs; saves what is compared to DIR.*.
nightly() {
    local dir=$1 rc1 rc2
    setup "$dir" "$2" 2026-10-03 || return 1
    run_moonstat "$dir" run --date 2026-10-03
    rc1=$?
    more_input "$dir"
    run_moonstat "$dir" run --date 2026-10-06
    rc2=$?
    echo "$rc1 $rc2" >"$dir.codes"
    tree_digest "$dir/exports" >"$dir.exports"
    tree_digest "$dir/quarantine" >"$dir.quarantine"
    facts "$dir" >"$dir.facts"
    read_lines "$dir" >"$dir.read"
}

for n in 1 2 3 8; do
    nightly "$WORK/t$n" "$n"
done

R=$WORK/t1
check_eq "threads 1: exit codes of the two nightly runs" "$(cat "$R.codes")" "0 0"
check "threads 1: the ingestion read both batches" test "$(wc -l <"$R.read")" -eq 2
check "threads 1: many files ingested" \
    test "$(wh_sql "$R" "SELECT count(*) FROM ingested_files")" -gt 300
check "threads 1: files arrived late for an earlier day (ship day after the event day)" \
    test -n "$(ls "$R/incoming" | awk '$0 > "2026-10-06"')"
check "threads 1: data_quality has rejects, duplicates and unknown events" \
    bash -c "grep -q '|rejected:' '$R.facts' && grep -q '|duplicates|' '$R.facts' && grep -q '|unknown_event|' '$R.facts'"
check "threads 1: quarantine files were written" test "$(wc -l <"$R.quarantine")" -gt 5
check "threads 1: exports published (daily_kpi, data_quality)" \
    bash -c "grep -q '^daily_kpi/' '$R.exports' && grep -q '^data_quality/' '$R.exports'"
check_eq "threads 1: no export problem" "$(export_problems "$R")" ""
check_eq "threads 1: no failed query in the fact dump" "$(grep -c 'QUERY FAILED' "$R.facts")" "0"

for n in 2 3 8; do
    T=$WORK/t$n
    check_eq "threads $n: exit codes of the two nightly runs" "$(cat "$T.codes")" "0 0"
    check "threads $n: exported files and bytes as with threads 1" cmp -s "$R.exports" "$T.exports"
    check "threads $n: quarantine files as with threads 1" cmp -s "$R.quarantine" "$T.quarantine"
    check "threads $n: warehouse facts and data_quality as with threads 1" cmp -s "$R.facts" "$T.facts"
    check "threads $n: read-stage counts as with threads 1" cmp -s "$R.read" "$T.read"
    check_eq "threads $n: no export problem" "$(export_problems "$T")" ""
    if ! cmp -s "$R.facts" "$T.facts"; then
        diff "$R.facts" "$T.facts" | head -10
    fi
done

# A truncated gzip file in the middle of the tree, threads 1 and 2, one run.
victim=$(cd "$G/incoming" && find . -name '*.jsonl.gz' | sed 's|^\./||' | LC_ALL=C sort |
    awk '{ a[NR] = $0 } END { print a[int(NR / 2)] }')
check "a gzip file to truncate was found" test -n "$victim"
for n in 1 2; do
    C=$WORK/c$n
    setup "$C" "$n"
    rm -f "$C/incoming/$victim" # a hard link: replace it, keep the original
    size=$(stat -c %s "$G/incoming/$victim")
    head -c $((size / 2)) "$G/incoming/$victim" >"$C/incoming/$victim"
    run_moonstat "$C" run --date 2026-10-06
    echo "$?" >"$C.code"
    facts "$C" >"$C.facts"
    tree_digest "$C/quarantine" >"$C.quarantine"
done
check "the truncated file is really truncated" bash -c "! gzip -t '$WORK/c2/incoming/$victim' 2>/dev/null"
check_eq "truncated, threads 1: exit code" "$(cat "$WORK/c1.code")" "1"
check_eq "truncated, threads 2: exit code" "$(cat "$WORK/c2.code")" "1"
check "truncated, threads 2: the log names the file as corrupt" \
    grep -q "corrupt input file $victim" "$WORK/c2/log"
check_eq "truncated, threads 2: corrupt_file counted once" \
    "$(wh_sql "$WORK/c2" "SELECT count FROM data_quality WHERE game_id = '_unknown' AND item = 'corrupt_file'")" "1"
check_eq "truncated, threads 2: the file is not recorded as ingested" \
    "$(wh_sql "$WORK/c2" "SELECT count(*) FROM ingested_files WHERE path = '$victim'")" "0"
check "truncated, threads 2: facts and data_quality as with threads 1" \
    cmp -s "$WORK/c1.facts" "$WORK/c2.facts"
check "truncated, threads 2: quarantine as with threads 1" \
    cmp -s "$WORK/c1.quarantine" "$WORK/c2.quarantine"
# The other files' facts: those of a complete one-run ingestion without the file.
O=$WORK/o2
setup "$O" 2
rm -f "$O/incoming/$victim"
run_moonstat "$O" run --date 2026-10-06
check_eq "without the file, threads 2: exit code" "$?" "0"
check_eq "truncated, threads 2: facts as without the file (data_quality aside)" \
    "$(facts "$WORK/c2" | sed '/^== data_quality/,$d')" "$(facts "$O" | sed '/^== data_quality/,$d')"
finish
