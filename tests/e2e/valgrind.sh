#!/usr/bin/env bash
# Memory errors and leaks: the golden nightly (both runs) under valgrind
# (memcheck: any error, or a definite or indirect leak, makes valgrind exit
# 99). Both runs must exit 0 and daily_kpi must equal the golden expected
# CSVs. Skipped under SANITIZE=1 (ASan and valgrind do not mix).
source "$(dirname "$0")/lib.sh"

if sanitized; then
    skip_test "valgrind does not run ASan binaries (SANITIZE=1)"
fi
check "valgrind is installed (Makefile DEB_PKGS)" command -v valgrind >/dev/null
VALGRIND="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q"

W=$WORK/vg
golden_setup "$W"
codes=""
for r in 1 2; do
    golden_copy "$W" "batch$r"
    $VALGRIND "$MOONSTAT" run --date "2026-11-0$((6 + r))" --config "$W/moonstat.conf" 2>"$W/log$r"
    rc=$?
    codes+="$rc "
    if [ "$rc" -ne 0 ]; then
        echo "--- run $r under valgrind exited $rc; valgrind's report:"
        grep -E '^==[0-9]+==' "$W/log$r" | head -60
        grep -vE '^==[0-9]+==' "$W/log$r" | grep -E 'ERROR' | head -5
    fi
done
check_eq "exit codes of the two nightly runs under valgrind" "${codes% }" "0 0"
check_eq "no valgrind report" "$(cat "$W"/log1 "$W"/log2 | grep -cE '^==[0-9]+==')" "0"
want=$(cd "$GOLDEN/expected" && find daily_kpi -name '*.csv' | sort | xargs sha256sum)
check_eq "daily_kpi equals the golden expected CSVs" "$(csv_digest "$W" daily_kpi)" "$want"
finish
