#!/usr/bin/env bash
# Rejections (inputs.md "What is rejected", metrics.md "Data quality"): a
# hand-made input tree with one line per rejection reason, an unknown event,
# valid lines, a duplicate event_id in another file, a rejected line sharing
# its event_id with a valid line (validation comes before de-duplication),
# empty lines, a sub-directory, and files that must be ignored (hidden file,
# hidden directory, *.jsonl.tmp, README.txt, upper-case .JSONL). The golden
# scenario's games (reversal Asia/Tokyo, rainbow America/Los_Angeles, star
# UTC) and exchange rates.
#  1. max_reject_rate = 1: the exact data_quality CSV, the exact quarantine
#     files (source file, line number, reason, the line verbatim, cut at
#     64 KiB), and no rejected or ignored line in daily_kpi.
#  2. the default max_reject_rate 0.01: exit 3, nothing ingested, nothing
#     published; then a run with max_reject_rate = 1 ingests it all.
source "$(dirname "$0")/lib.sh"

# setup DIR RATE: configuration, rates and the input tree.
setup() {
    local dir=$1 in=$1/incoming
    mkdir -p "$in/sub" "$in/.hid"
    cp "$GOLDEN/scenario/moonstat.conf" "$dir/"
    cp -r "$GOLDEN/scenario/fx" "$dir/"
    chmod -R u+w "$dir"
    use_backend "$dir"
    sed -i "s/^max_reject_rate *=.*/max_reject_rate    = $2/" "$dir/moonstat.conf"
    printf '%s\n' "${A_LINES[@]}" >"$in/a.jsonl"
    printf '%s\n' "${B_LINES[@]}" >"$in/b.jsonl"
    printf '%s\n' "${C_LINES[@]}" >"$in/sub/c.jsonl"
    # Never read: each would add an account to star's 2026-11-05.
    for f in .hidden.jsonl .hid/d.jsonl e.jsonl.tmp README.txt F.JSONL sub/g.jsonl.gz.part; do
        printf '{"event_id":"ign-%s","event":"register","ts":"2026-11-05T09:00:00Z","game_id":"star","account_id":"ignored-%s"}\n' \
            "$f" "$f" >"$in/$f"
    done
}

LONG='{"event_id":"r3","event":"login","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj3","pad":"'
LONG+=$(printf '%*s' $((70000 - ${#LONG} - 2)) '' | tr ' ' x)'"}'

# a.jsonl: line number -> content; the reason of each rejected line below.
A_LINES=(
    '{"event_id":"e1","event":"register","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"acc1","platform":"ios","country":"jp"}'
    ''
    "$LONG"
    $'{"event_id":"r4\xff","event":"login","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj4"}'
    '{"event_id":"r5","event":"login",'
    '   '
    '[{"event_id":"r7","event":"login","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj7"}]'
    '{"event_id":"r8","event":"login","game_id":"star","account_id":"rj8"}'
    '{"event_id":9,"event":"login","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj9"}'
    '{"event_id":"r10","event":"login","ts":"2026-11-05 10:00:00Z","game_id":"star","account_id":"rj10"}'
    '{"event_id":"r11","event":"payment","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj11","order_id":"o11","status":"PAID","amount":"1.00","currency":"USD","pay_channel":"google_play"}'
    '{"event_id":"r12","event":"payment","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj12","order_id":"o12","status":"paid","amount":"1.00","currency":"usd","pay_channel":"google_play"}'
    '{"event_id":"r13","event":"payment","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj13","order_id":"o13","status":"paid","amount":"1.5","currency":"JPY","pay_channel":"google_play"}'
    '{"event_id":"u14","event":"tutorial_done","ts":"2026-11-05T10:00:00Z","game_id":"star","account_id":"rj14"}'
    '{"event_id":"e5","event":"payment","ts":"2026-11-05T08:00:00Z","game_id":"star","account_id":"rj15","order_id":"o15","status":"paid","amount":"100.00","currency":"USD","pay_channel":"google_play","sandbox":"true"}'
    '{"event_id":"e2","event":"register","ts":"2026-11-05T11:00:00Z","game_id":"star","account_id":"acc2","platform":"Android","country":"us"}'
    ''
)
A_REJECTED=(3:line_too_long 4:invalid_utf8 5:invalid_json 6:invalid_json 7:not_object
    8:missing_field 9:wrong_type 10:bad_ts 11:bad_status 12:bad_currency 13:bad_amount
    15:wrong_type)
B_LINES=(
    "${A_LINES[0]}"
    '{"event_id":"e5","event":"payment","ts":"2026-11-05T12:00:00Z","game_id":"star","account_id":"acc2","order_id":"o1","status":"paid","amount":"9.99","currency":"USD","pay_channel":"google_play"}'
    '{"event_id":"e3","event":"login","ts":"2026-11-05T13:00:00Z","game_id":"star","account_id":"acc3"}'
)
C_LINES=(
    '{"event_id":"e4","event":"register","ts":"2026-11-05T03:00:00Z","game_id":"reversal","account_id":"acc9"}'
    '{"event_id":"r2","event":"login","ts":"2026-11-05T03:00:00Z","game_id":"nosuch","account_id":"rj2"}'
    ''
)

check_eq "the long line is 70000 bytes" "$(printf '%s' "$LONG" | wc -c)" "70000"

# The expected quarantine file of a.jsonl, from the same lines.
for entry in "${A_REJECTED[@]}"; do
    n=${entry%%:*}
    printf 'a.jsonl\t%s\t%s\t' "$n" "${entry#*:}"
    printf '%s' "${A_LINES[n - 1]}" | head -c 65536
    printf '\n'
done >"$WORK/a.expected.tsv"
{
    printf 'sub/c.jsonl\t2\tunknown_game\t%s\n' "${C_LINES[1]}"
} >"$WORK/c.expected.tsv"

DQ_EXPECTED=$(
    cat <<'EOF'
run_date,game_id,item,count
2026-11-06,_unknown,lines_read,6
2026-11-06,_unknown,rejected:invalid_json,2
2026-11-06,_unknown,rejected:invalid_utf8,1
2026-11-06,_unknown,rejected:line_too_long,1
2026-11-06,_unknown,rejected:not_object,1
2026-11-06,_unknown,rejected:unknown_game,1
2026-11-06,reversal,events_accepted,1
2026-11-06,reversal,lines_read,1
2026-11-06,star,duplicates,1
2026-11-06,star,events_accepted,4
2026-11-06,star,implicit_registrations,1
2026-11-06,star,lines_read,13
2026-11-06,star,rejected:bad_amount,1
2026-11-06,star,rejected:bad_currency,1
2026-11-06,star,rejected:bad_status,1
2026-11-06,star,rejected:bad_ts,1
2026-11-06,star,rejected:missing_field,1
2026-11-06,star,rejected:wrong_type,2
2026-11-06,star,unknown_event,1
EOF
)
# star 2026-11-05: acc1 and acc2 register, acc3 logs in (implicit), acc2 pays
# 9.99 USD (the valid e5; the rejected e5 would be 100.00 by rj15).
STAR_ROW=2026-11-05,star,ALL,ALL,0,3,,0,0,0.000000,3,1,9.99,0.333333,1,0.333333,1,0.333333,3.330000,9.990000,0,0.00,USD
REVERSAL_ROW=2026-11-05,reversal,ALL,ALL,0,1,,0,0,0.000000,1,0,0.00,0.000000,0,0.000000,0,0.000000,0.000000,,0,0.00,USD

# verify DIR LABEL: the exports and quarantine of a complete ingestion.
verify() {
    local dir=$1 what=$2
    check_eq "$what: data_quality 2026-11-06" \
        "$(cat "$dir/exports/data_quality/dt=2026-11-06/data_quality.csv" 2>/dev/null)" "$DQ_EXPECTED"
    check_eq "$what: quarantine holds exactly two files" \
        "$(cd "$dir/quarantine" 2>/dev/null && find . -type f | LC_ALL=C sort)" \
        "$(printf './a.jsonl.rejected.tsv\n./sub/c.jsonl.rejected.tsv')"
    check "$what: quarantine of a.jsonl (file, line, reason, line verbatim cut at 64 KiB)" \
        cmp "$WORK/a.expected.tsv" "$dir/quarantine/a.jsonl.rejected.tsv"
    check "$what: quarantine of sub/c.jsonl" cmp "$WORK/c.expected.tsv" "$dir/quarantine/sub/c.jsonl.rejected.tsv"
    check_eq "$what: quarantined (line, reason) of a.jsonl" \
        "$(cut -f2,3 "$dir/quarantine/a.jsonl.rejected.tsv" | tr '\t\n' ': ')" \
        "$(printf '%s ' "${A_REJECTED[@]}")"
    check_eq "$what: daily_kpi star 2026-11-05" "$(kpi_row "$dir" 2026-11-05 star)" "$STAR_ROW"
    check_eq "$what: daily_kpi reversal 2026-11-05" "$(kpi_row "$dir" 2026-11-05 reversal)" "$REVERSAL_ROW"
    check_eq "$what: only the day with data is published" \
        "$(cd "$dir/exports/daily_kpi" 2>/dev/null && ls -d dt=*)" "dt=2026-11-05"
    check_eq "$what: no rejected or ignored account in daily_kpi" \
        "$(grep -cE 'rj[0-9]|ignored' "$dir/exports/daily_kpi/dt=2026-11-05/daily_kpi.csv")" "0"
    check_eq "$what: star breakdown rows (platform ios/android/other, country JP/US/ZZ)" \
        "$(grep -E '^2026-11-05,star,' "$dir/exports/daily_kpi/dt=2026-11-05/daily_kpi.csv" | cut -d, -f3,4,11 | tr '\n' ' ')" \
        "ALL,ALL,3 ALL,JP,1 ALL,US,1 ALL,ZZ,1 android,ALL,1 ios,ALL,1 other,ALL,1 "
    check_eq "$what: the ingested files" \
        "$(wh_sql "$dir" "select path, lines from ingested_files" | LC_ALL=C sort)" \
        "$(printf 'a.jsonl|17\nb.jsonl|3\nsub/c.jsonl|3')"
}

# 1. max_reject_rate = 1.
W=$WORK/rate1
setup "$W" 1
run_moonstat "$W" run --date 2026-11-06
check_eq "rate 1: exit code" "$?" "0"
verify "$W" "rate 1"
check "rate 1: data_quality manifest" manifest_ok "$W/exports/data_quality/dt=2026-11-06" data_quality

# 2. The default max_reject_rate 0.01: 13 of 20 lines rejected.
W=$WORK/gate
setup "$W" 0.01
run_moonstat "$W" run --date 2026-11-06
check_eq "gate: exit code" "$?" "3"
check "gate: the error names max_reject_rate" grep -q 'max_reject_rate' "$W/log"
check "gate: no daily_kpi published" test ! -e "$W/exports/daily_kpi"
check "gate: no data_quality published" test ! -e "$W/exports/data_quality"
check_eq "gate: no file recorded as ingested" \
    "$(wh_sql "$W" "select count(*) from ingested_files")" "0"
check_eq "gate: no account stored" "$(wh_sql "$W" "select count(*) from accounts" 2>&1)" "0"
check_eq "gate: the run is recorded as failed, exit 3" \
    "$(wh_sql "$W" "select status, exit_code from runs")" "failed|3"
sed -i "s/^max_reject_rate *=.*/max_reject_rate    = 1/" "$W/moonstat.conf"
run_moonstat "$W" run --date 2026-11-06
check_eq "gate, then rate 1: exit code" "$?" "0"
verify "$W" "gate, then rate 1"
finish
