#!/usr/bin/env bash
# tests/run.sh - the whole suite: unit binaries, end-to-end scripts, the
# golden conformance test. Called by `make test` (and `make test SANITIZE=1`).
# Prints each test's "name: N passed, N failed" line and a total line; exits
# non-zero when anything failed. ONLY=pattern runs the matching tests only;
# SKIP="name ..." leaves out the tests named (exact names).
# Each test's wall time follows its line, "  (name: 12.3 s)".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export BIN
total_passed=0
total_failed=0
failed_tests=()

run_one() {
    local name=$1
    shift
    local out rc t0 ms
    t0=${EPOCHREALTIME/./}
    out=$("$@" 2>&1)
    rc=$?
    ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
    printf '%s\n' "$out" | grep -E '^(FAIL|.*: [0-9]+ passed, [0-9]+ failed$)' || true
    # Wall time per test, so a slow test is seen before CI's budget is.
    printf '  (%s: %d.%01d s)\n' "$name" $((ms / 1000)) $((ms % 1000 / 100))
    local line p f
    line=$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed$' | tail -1)
    p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or exited non-zero without saying why
        printf '%s\n' "$out" | tail -20
        echo "FAIL $name: exit status $rc"
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    [ "$f" -eq 0 ] || failed_tests+=("$name")
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [[ -n "${ONLY:-}" && "$name" != *${ONLY}* ]] && continue
    [[ " ${SKIP:-} " == *" $name "* ]] && continue
    run_one "$name" "$t"
done
for t in tests/e2e/*.sh tests/golden/conformance.sh; do
    name=$(basename "$t" .sh)
    [ "$name" = lib ] && continue
    [[ -n "${ONLY:-}" && "$name" != *${ONLY}* ]] && continue
    [[ " ${SKIP:-} " == *" $name "* ]] && continue
    run_one "$name" bash "$t"
done

echo
if [ ${#failed_tests[@]} -gt 0 ]; then
    echo "failed: ${failed_tests[*]}"
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
