#!/usr/bin/env bash
# Input encodings (inputs.md section 1):
#  - a multi-member gzip file (two gzip streams concatenated, the first one
#    ending in the middle of a line) is read in full;
#  - a truncated gzip file is not ingested at all: the run exits 1 after
#    doing everything else, data_quality counts corrupt_file 1 under
#    "_unknown", none of its lines count, no quarantine file is published for
#    it (its first line is invalid); the next run tries it again (exit 1
#    again); once replaced by the complete file, the next run exits 0 and
#    counts its lines;
#  - a UTF-8 BOM at the start of a file and CRLF line ends are tolerated.
# Game star (UTC), one day 2026-11-05; one data_quality partition per run date.
source "$(dirname "$0")/lib.sh"

W=$WORK/gz
IN=$W/incoming
mkdir -p "$IN/gz"
cp "$GOLDEN/scenario/moonstat.conf" "$W/"
cp -r "$GOLDEN/scenario/fx" "$W/"
chmod -R u+w "$W"
use_backend "$W"

ev() { # ev ID EVENT ACCOUNT [EXTRA]
    printf '{"event_id":"%s","event":"%s","ts":"2026-11-05T%s","game_id":"star","account_id":"%s"%s}' \
        "$1" "$2" "${TS:-10:00:00Z}" "$3" "${4:-}"
}

# Multi-member: member 1 ends inside line 3; member 2 holds the rest.
line3=$(ev m3 register m3)
{
    printf '%s\n%s\n%s' "$(ev m1 register m1)" "$(ev m2 register m2)" "${line3:0:20}" | gzip -c
    printf '%s\n%s\n' "${line3:20}" "$(ev m4 login m1)" | gzip -c
} >"$IN/gz/multi.jsonl.gz"
check_eq "multi.jsonl.gz holds two gzip members" \
    "$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.count(b"\x1f\x8b\x08"))' "$IN/gz/multi.jsonl.gz")" "2"
check_eq "multi.jsonl.gz decompresses to 4 lines" "$(gzip -dc "$IN/gz/multi.jsonl.gz" | wc -l)" "4"

# BOM file: b2 only logs in (an implicit registration).
printf '\xef\xbb\xbf%s\n%s\n' "$(ev b1 register b1 ',"platform":"ios"')" "$(ev b2 login b2)" >"$IN/bom.jsonl"
# CRLF file; its last line has no terminator at all.
printf '%s\r\n%s\r\n%s' "$(ev c1 register c1 ',"country":"tw"')" "$(ev c2 login c1)" \
    "$(ev c3 register c2 ',"country":"tw"')" >"$IN/crlf.jsonl"

# The complete file: line 1 invalid JSON, then 200 registrations t001..t200.
{
    printf '{"event_id":"t000",\n'
    for i in $(seq -w 1 200); do
        printf '%s\n' "$(TS="12:$((10#$i % 60 / 10))$((10#$i % 10)):00Z" ev "t$i" register "t$i" ',"platform":"android","country":"br","login_type":"guest"')"
    done
} | gzip -c -9 >"$WORK/complete.jsonl.gz"
size=$(stat -c %s "$WORK/complete.jsonl.gz")
head -c $((size / 2)) "$WORK/complete.jsonl.gz" >"$IN/gz/trunc.jsonl.gz"
check "the truncated file is really truncated" bash -c "! gzip -t '$IN/gz/trunc.jsonl.gz' 2>/dev/null"
check_eq "the truncated file's readable part starts with the bad line" \
    "$(gzip -dc "$IN/gz/trunc.jsonl.gz" 2>/dev/null | head -1)" '{"event_id":"t000",'

dq() { cat "$W/exports/data_quality/dt=$1/data_quality.csv" 2>/dev/null; }

# Run 1: everything but the truncated file.
run_moonstat "$W" run --date 2026-11-06
check_eq "run 1 (truncated gzip) exit code" "$?" "1"
check "run 1 names the corrupt file" grep -q 'gz/trunc.jsonl.gz' "$W/log"
check_eq "run 1 data_quality" "$(dq 2026-11-06)" "$(
    cat <<'EOF'
run_date,game_id,item,count
2026-11-06,_unknown,corrupt_file,1
2026-11-06,star,events_accepted,9
2026-11-06,star,implicit_registrations,1
2026-11-06,star,lines_read,9
EOF
)"
# m1 m2 m3 b1 b2 c1 c2 registered (b2 implicitly), all active.
check_eq "run 1 star 2026-11-05 registrations" "$(kpi_field "$W" 2026-11-05 star registrations)" "7"
check_eq "run 1 star 2026-11-05 dau" "$(kpi_field "$W" 2026-11-05 star dau)" "7"
check_eq "run 1 BOM line counted (platform ios)" "$(kpi_field "$W" 2026-11-05 star registrations ios ALL)" "1"
check_eq "run 1 CRLF lines counted (country TW, no stray CR)" \
    "$(kpi_field "$W" 2026-11-05 star dau ALL TW)" "2"
check_eq "run 1 no quarantine for the truncated file" "$(find "$W/quarantine" -type f 2>/dev/null)" ""
check_eq "run 1 recorded failed, exit 1" \
    "$(wh_sql "$W" "select status, exit_code from runs")" "failed|1"
check_eq "run 1 ingested files (lines)" \
    "$(wh_sql "$W" "select path, lines from ingested_files" | LC_ALL=C sort)" \
    "$(printf 'bom.jsonl|2\ncrlf.jsonl|3\ngz/multi.jsonl.gz|4')"

# Run 2: still truncated.
run_moonstat "$W" run --date 2026-11-07
check_eq "run 2 (still truncated) exit code" "$?" "1"
check_eq "run 2 data_quality" "$(dq 2026-11-07)" "$(printf 'run_date,game_id,item,count\n2026-11-07,_unknown,corrupt_file,1')"
check_eq "run 2 star 2026-11-05 dau unchanged" "$(kpi_field "$W" 2026-11-05 star dau)" "7"
check_eq "run 2 no quarantine for the truncated file" "$(find "$W/quarantine" -type f 2>/dev/null)" ""

# Run 3: the complete file.
cp "$WORK/complete.jsonl.gz" "$IN/gz/trunc.jsonl.gz"
run_moonstat "$W" run --date 2026-11-08
check_eq "run 3 (complete file) exit code" "$?" "0"
check_eq "run 3 data_quality" "$(dq 2026-11-08)" "$(
    cat <<'EOF'
run_date,game_id,item,count
2026-11-08,_unknown,lines_read,1
2026-11-08,_unknown,rejected:invalid_json,1
2026-11-08,star,events_accepted,200
2026-11-08,star,lines_read,200
EOF
)"
check_eq "run 3 star 2026-11-05 registrations" "$(kpi_field "$W" 2026-11-05 star registrations)" "207"
check_eq "run 3 star 2026-11-05 dau" "$(kpi_field "$W" 2026-11-05 star dau)" "207"
check_eq "run 3 star 2026-11-05 android BR" "$(kpi_field "$W" 2026-11-05 star registrations android ALL) $(kpi_field "$W" 2026-11-05 star registrations ALL BR)" "200 200"
check_eq "run 3 quarantine of the complete file" "$(cat "$W/quarantine/gz/trunc.jsonl.gz.rejected.tsv" 2>/dev/null)" \
    "$(printf 'gz/trunc.jsonl.gz\t1\tinvalid_json\t{"event_id":"t000",')"
check_eq "run 3 ingested trunc.jsonl.gz (lines)" \
    "$(wh_sql "$W" "select lines from ingested_files where path = 'gz/trunc.jsonl.gz'")" "201"
check_eq "run 3 earlier partitions untouched: data_quality 2026-11-06 still as run 1 wrote it" \
    "$(dq 2026-11-06 | grep -c corrupt_file)" "1"
finish
