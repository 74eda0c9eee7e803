#!/usr/bin/env bash
# Conformance: the golden scenario (tests/golden, a copy of ../shared/golden)
# run through the real binary as scenario.json says; the listed reports must
# equal expected/ byte for byte, with no extra non-empty partition, and every
# partition must carry a manifest matching its CSV.
source "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=conformance

# The reports built so far (issues add theirs here).
REPORTS=${REPORTS:-"daily_kpi data_quality retention ltv revenue revenue_by_currency"}

W=$WORK/golden
golden_setup "$W"
codes=$(golden_nightly "$W")
check_eq "exit codes of the two nightly runs" "$codes" "0 0"

for r in $REPORTS; do
    for want in "$GOLDEN"/expected/$r/dt=*/$r.csv; do
        part=$(basename "$(dirname "$want")")
        got=$W/exports/$r/$part/$r.csv
        check "$r/$part equals expected" cmp -s "$want" "$got"
        [ -f "$got" ] && check "$r/$part manifest matches" manifest_ok "$W/exports/$r/$part" "$r"
    done
    for got in "$W"/exports/$r/dt=*/$r.csv; do
        [ -f "$got" ] || continue
        part=$(basename "$(dirname "$got")")
        if [ ! -f "$GOLDEN/expected/$r/$part/$r.csv" ]; then
            rows=$(($(wc -l <"$got") - 1))
            check_eq "no extra non-empty partition $r/$part" "$rows" "0"
        fi
    done
done

# Quarantine: exactly the rejected lines of quarantine_counts.json.
python3 - "$W" "$GOLDEN/expected/quarantine_counts.json" <<'PY' >"$WORK/q.out"
import glob, json, os, sys
w, exp = sys.argv[1], json.load(open(sys.argv[2]))
got = set()
for f in glob.glob(os.path.join(w, "quarantine", "**", "*.rejected.tsv"), recursive=True):
    for line in open(f, "rb"):
        src, num, reason = line.split(b"\t", 3)[:3]
        got.add((src.decode(), int(num), reason.decode()))
want = {(l["file"], l["line"], l["reason"]) for l in exp["lines"]}
print("same" if got == want else "differ: missing %s extra %s" % (sorted(want - got)[:3], sorted(got - want)[:3]))
PY
check_eq "quarantine files hold exactly the expected rejected lines" "$(cat "$WORK/q.out")" "same"
finish
