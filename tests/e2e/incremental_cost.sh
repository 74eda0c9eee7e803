#!/usr/bin/env bash
# A nightly run costs in proportion to the new day's data and the cohorts it
# touches, not to the size of the warehouse: the same new day costs the same
# warehouse work (SQLite VM steps, logged by every run) on a warehouse that
# also holds a year-old history ten times larger.
source "$(dirname "$0")/lib.sh"

gen() { # out_file game first_day(YYYY-MM-DD) days accounts_per_day id_prefix
    python3 - "$@" <<'PY'
import datetime, random, sys
out, game, first, days, per_day, prefix = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rnd = random.Random(7)
start = datetime.date.fromisoformat(first)
with open(out, "w") as f:
    n = 0
    for d in range(days):
        day = start + datetime.timedelta(days=d)
        for a in range(per_day):
            acct = "%s%d_%d" % (prefix, d, a)
            for back in range(0, 8):
                if back and rnd.random() > 0.5 / back:
                    continue
                dd = day + datetime.timedelta(days=back)
                if dd >= start + datetime.timedelta(days=days):
                    break
                ev = "register" if back == 0 else "login"
                n += 1
                f.write('{"event_id":"%s-%d","event":"%s","ts":"%sT%02d:00:00Z","game_id":"%s","account_id":"%s","platform":"ios","country":"JP"}\n'
                        % (prefix, n, ev, dd, a % 24, game, acct))
                if rnd.random() < 0.1:
                    n += 1
                    f.write('{"event_id":"%s-%d","event":"payment","ts":"%sT%02d:30:00Z","game_id":"%s","account_id":"%s","order_id":"%s-o%d","status":"paid","amount":"1.99","currency":"USD","pay_channel":"app_store"}\n'
                            % (prefix, n, dd, a % 24, game, acct, prefix, n))
PY
}
setup() { # dir
    MAX_REJECT_RATE=0 simple_setup "$1" g1:UTC g2:UTC || return 1
    python3 - "$1/fx" <<'PY'
import datetime, sys
d = datetime.date(2025, 1, 1)
while d <= datetime.date(2026, 3, 31):
    open("%s/%s.json" % (sys.argv[1], d), "w").write('{"base": "USD", "rates": {"USD": 1}}')
    d += datetime.timedelta(days=1)
PY
}
steps() { grep 'warehouse work' "$1/log" | tail -1 | sed 's/.* rows read, \([0-9]*\) steps/\1/'; }

A=$WORK/small
B=$WORK/large
setup "$A"
setup "$B"
gen "$A/incoming/recent.jsonl" g1 2026-03-01 10 40 r
cp "$A/incoming/recent.jsonl" "$B/incoming/recent.jsonl"
gen "$B/incoming/old-g1.jsonl" g1 2025-01-01 30 40 o      # long before any window
gen "$B/incoming/old-g2.jsonl" g2 2025-01-01 30 300 p     # another game, far larger
check_eq "small warehouse, history" "$(run_moonstat "$A" run --date 2026-03-10; echo $?)" "0"
check_eq "large warehouse, history" "$(run_moonstat "$B" run --date 2026-03-10; echo $?)" "0"
# The new day: the same file for both.
gen "$WORK/day11.jsonl" g1 2026-03-11 1 40 n
cp "$WORK/day11.jsonl" "$A/incoming/"
cp "$WORK/day11.jsonl" "$B/incoming/"
check_eq "small warehouse, new day" "$(run_moonstat "$A" run --date 2026-03-11; echo $?)" "0"
check_eq "large warehouse, new day" "$(run_moonstat "$B" run --date 2026-03-11; echo $?)" "0"
small=$(steps "$A")
large=$(steps "$B")
big_rows=$(wh_sql "$B" "select count(*) from activity")
small_rows=$(wh_sql "$A" "select count(*) from activity")
echo "# new day: $small steps on $small_rows activity rows, $large steps on $big_rows activity rows"
check "the large warehouse holds far more" [ "$big_rows" -gt $((small_rows * 5)) ]
check "the new day costs the same on both (within 10%)" \
    [ "$large" -le $((small + small / 10)) ]
for r in daily_kpi retention ltv revenue; do
    for f in "$A"/exports/$r/dt=2026-03-*/$r.csv; do
        check "$r $(basename "$(dirname "$f")") is the same on both" cmp -s "$f" "$B/${f#"$A"/}"
    done
done
finish
