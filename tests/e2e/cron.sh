#!/usr/bin/env bash
# tests/e2e/cron.sh - cron/moonstat-cron, the wrapper cron calls, with a fake
# moonstat (MOONSTAT_BIN): quiet success, the log file, the alert on failure
# with the last ERROR line, no alert on 75, the wrapper's own lock (held here
# with flock(1), no sleeps), log rotation, argument passing, usage errors.
source "$(dirname "$0")/lib.sh"

WRAPPER=$ROOT/cron/moonstat-cron
FAKE=$WORK/fake-moonstat
CALLS=$WORK/calls    # one line per invocation: its arguments
ALERT=$WORK/alert    # the last `alert` invocation's arguments, one per line
URL='https://hooks.example.com/services/T0/B0/SECRETTOKEN?sig=QSECRET'
CONF=$WORK/moonstat.conf
export CALLS ALERT

# The fake: `run` logs like moonstat (an INFO line, ERROR lines when failing)
# and exits $FAKE_RC; `alert` records its arguments and exits $FAKE_ALERT_RC.
cat >"$FAKE" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$CALLS"
case $1 in
run)
    echo "2026-11-08T03:10:00Z INFO moonstat: run started"
    rc=${FAKE_RC:-0}
    if [ "$rc" != 0 ] && [ "$rc" != 75 ]; then
        echo "2026-11-08T03:10:01Z ERROR moonstat: ${FAKE_ERR1:-first error}" >&2
        echo "2026-11-08T03:10:01Z INFO moonstat: cleaning up"
        echo "2026-11-08T03:10:02Z ERROR moonstat: ${FAKE_ERR2:-second error}" >&2
        echo "2026-11-08T03:10:02Z WARN moonstat: after the error" >&2
    fi
    exit "$rc"
    ;;
alert)
    shift
    printf '%s\n' --url "$MOONSTAT_ALERT_URL" "$@" >"$ALERT"
    exit "${FAKE_ALERT_RC:-0}"
    ;;
esac
exit 99
EOF
chmod +x "$FAKE"
export MOONSTAT_BIN=$FAKE
unset MOONSTAT_ALERT_URL MOONSTAT_CONFIG
: >"$CONF"

# wrap LOGDIR ARGS...: runs the wrapper; sets RC, OUT (stdout+stderr).
wrap() {
    local dir=$1
    shift
    OUT=$("$WRAPPER" --config "$CONF" --log-dir "$dir" "$@" 2>&1)
    RC=$?
}

reset_calls() { rm -f "$CALLS" "$ALERT"; }
ncalls() { if [ -f "$CALLS" ]; then wc -l <"$CALLS" | tr -d ' '; else echo 0; fi; }
logs_in() { find "$1" -maxdepth 1 -name 'moonstat-*.log' | sort; }
no_url_in() { ! grep -rqF -e SECRETTOKEN -e hooks.example.com "$@"; }

check "the wrapper is executable" test -x "$WRAPPER"

# --- success: exit 0, quiet, one log file in a created directory, no alert.
reset_calls
LOGS=$WORK/logs/nested
FAKE_RC=0 wrap "$LOGS" --alert-url "$URL"
check_eq "success: exit" "$RC" 0
check_eq "success: quiet" "$OUT" ""
check_eq "success: one log file" "$(logs_in "$LOGS" | wc -l | tr -d ' ')" 1
LOG=$(logs_in "$LOGS" | head -1)
check "success: log named moonstat-YYYYMMDD.log" \
    grep -qE '/moonstat-[0-9]{8}\.log$' <<<"$LOG"
check "success: moonstat's output in the log" grep -q 'INFO moonstat: run started' "$LOG"
check "success: the wrapper's exit line in the log" grep -q 'moonstat-cron: moonstat run finished (exit 0)' "$LOG"
check_eq "success: run called with the configuration" "$(cat "$CALLS")" "run --config $CONF"
check "success: no alert" test ! -e "$ALERT"
check "success: lock file" test -f "$LOGS/moonstat-cron.lock"

# --- failure: exit 1, alert with exit code 1 and this run's last ERROR line.
reset_calls
FAKE_RC=1 FAKE_ERR2="ingest: file a.jsonl.gz: disk full" wrap "$LOGS" --alert-url "$URL"
check_eq "failure: exit" "$RC" 1
check "failure: one line on stderr naming the log" grep -qF "failed with exit 1: ingest: file a.jsonl.gz: disk full (log: $LOG)" <<<"$OUT"
check_eq "failure: alert arguments" "$(cat "$ALERT" 2>/dev/null)" \
    "$(printf '%s\n' --url "$URL" --command run --exit-code 1 --message "ingest: file a.jsonl.gz: disk full")"
check_eq "failure: calls" "$(cut -d' ' -f1 "$CALLS" | tr '\n' ' ')" "run alert "
check "failure: same log file, appended" test "$(logs_in "$LOGS")" = "$LOG"
check "failure: alert recorded in the log" grep -q 'moonstat-cron: alert sent' "$LOG"

# A second failure the same day: only this run's ERROR lines count.
reset_calls
FAKE_RC=3 FAKE_ERR1="x" FAKE_ERR2="gate: reject rate 0.2 above max_reject_rate 0.01" \
    MOONSTAT_ALERT_URL=$URL wrap "$LOGS"
check_eq "gate: exit" "$RC" 3
check_eq "gate: URL from the environment, this run's last ERROR line" \
    "$(cat "$ALERT" 2>/dev/null)" \
    "$(printf '%s\n' --url "$URL" --command run --exit-code 3 --message "gate: reject rate 0.2 above max_reject_rate 0.01")"

# No ERROR line (a configuration error printed by the CLI): the run's last line.
reset_calls
cat >"$WORK/fake2" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$CALLS"
[ "$1" = alert ] && { shift; printf '%s\n' "$@" >"$ALERT"; exit 0; }
echo 'moonstat: configuration error: x.conf: line 3: unknown key "foo"' >&2
exit 2
EOF
chmod +x "$WORK/fake2"
MOONSTAT_BIN=$WORK/fake2 wrap "$LOGS" --alert-url "$URL"
check_eq "no ERROR line: exit" "$RC" 2
check_eq "no ERROR line: the last line is the message" "$(tail -1 "$ALERT" 2>/dev/null)" \
    'moonstat: configuration error: x.conf: line 3: unknown key "foo"'

# Failure without a URL: no alert, still exit 1 and one line.
reset_calls
FAKE_RC=1 wrap "$LOGS"
check_eq "no URL: exit" "$RC" 1
check "no URL: no alert" test ! -e "$ALERT"
check_eq "no URL: only run called" "$(ncalls)" 1

# The alert itself fails: the wrapper still exits with moonstat's code.
reset_calls
FAKE_RC=1 FAKE_ALERT_RC=1 wrap "$LOGS" --alert-url "$URL"
check_eq "alert fails: exit" "$RC" 1
check "alert fails: said on stderr" grep -q 'alert could not be sent' <<<"$OUT"

# --- 75 from moonstat (warehouse lock): no alert, quiet, exit 75.
reset_calls
FAKE_RC=75 wrap "$LOGS" --alert-url "$URL"
check_eq "75: exit" "$RC" 75
check_eq "75: quiet" "$OUT" ""
check "75: no alert" test ! -e "$ALERT"

# --- the wrapper's lock held (by flock here): exit 75 at once, nothing run.
reset_calls
OUT=$(FAKE_RC=0 flock -n "$LOGS/moonstat-cron.lock" \
    "$WRAPPER" --config "$CONF" --log-dir "$LOGS" --alert-url "$URL" 2>&1)
RC=$?
check_eq "locked: exit" "$RC" 75
check_eq "locked: quiet" "$OUT" ""
check_eq "locked: moonstat not run" "$(ncalls)" 0
# Same with flock -c, as an operator would hold it.
export WRAPPER CONF LOGS
# shellcheck disable=SC2016 # expanded by flock's shell
LOCKED_RC=$(flock -n "$LOGS/moonstat-cron.lock" -c \
    '"$WRAPPER" --config "$CONF" --log-dir "$LOGS" >/dev/null 2>&1; echo $?')
check_eq "locked (flock -c): exit" "$LOCKED_RC" 75
check_eq "locked (flock -c): moonstat not run" "$(ncalls)" 0
# Released: runs again.
FAKE_RC=0 wrap "$LOGS"
check_eq "unlocked: exit" "$RC" 0
check_eq "unlocked: moonstat run" "$(ncalls)" 1

# --- the URL appears nowhere the wrapper writes.
check "URL not in the log" no_url_in "$LOGS"

# --- extra arguments after -- go to moonstat run.
reset_calls
FAKE_RC=0 wrap "$LOGS" -- --date 2026-11-07
check_eq "extra args" "$(cat "$CALLS")" "run --config $CONF --date 2026-11-07"

# --- rotation: 35 old logs + today's -> the newest 30 stay.
ROT=$WORK/rot
mkdir -p "$ROT"
for d in $(seq -w 1 35); do
    : >"$ROT/moonstat-200001$d.log"
done
: >"$ROT/other.log"
: >"$ROT/moonstat-notes.log"
FAKE_RC=0 wrap "$ROT"
check_eq "rotation: exit" "$RC" 0
check_eq "rotation: 30 daily logs left" "$(find "$ROT" -name 'moonstat-[0-9]*.log' | wc -l | tr -d ' ')" 30
check "rotation: oldest removed" test ! -e "$ROT/moonstat-20000106.log"
check "rotation: next oldest kept" test -e "$ROT/moonstat-20000107.log"
check "rotation: today's kept" test -e "$ROT/moonstat-$(date +%Y%m%d).log" -o \
    -e "$ROT/moonstat-$(date -d yesterday +%Y%m%d).log"
check "rotation: other files kept" test -e "$ROT/other.log" -a -e "$ROT/moonstat-notes.log"

# --- usage errors: exit 2, nothing run, the URL never echoed.
reset_calls
OUT=$("$WRAPPER" --bogus 2>&1)
check_eq "usage: unknown option exits 2" "$?" 2
OUT=$("$WRAPPER" --log-dir "$LOGS" "$URL" 2>&1)
check_eq "usage: stray URL exits 2" "$?" 2
check "usage: stray URL not echoed" no_url_in <(printf '%s' "$OUT")
OUT=$("$WRAPPER" --config 2>&1)
check_eq "usage: missing value exits 2" "$?" 2
OUT=$(MOONSTAT_BIN=$WORK/missing "$WRAPPER" --log-dir "$LOGS" 2>&1)
check_eq "usage: missing binary exits 2" "$?" 2
check_eq "usage: nothing run" "$(ncalls)" 0

finish
