#!/usr/bin/env bash
# tests/bench/run.sh - the benchmark behind `make bench`: moonstat's nightly
# job against DuckDB computing the same daily KPIs (with breakdowns),
# retention and LTV from the same files.  See tests/bench/README.md.
#
# For each size in SIZES and each form in FORMS (plain, gzip):
#   1. generate the dataset once with bin/moonstat-gen (deterministic: 30 days
#      from 2026-10-01, 3 games, --awkward 0, --accounts-per-10m 1000000,
#      seed SEED) under BENCH_DIR;
#   2. measure the floors: `cat | wc -l` (line split) for plain files,
#      `zcat | wc -l` and `zcat > /dev/null` (zlib inflate) for gzip files;
#   3. ROUNDS rounds, alternating: `moonstat run --date 2026-10-30` into a
#      fresh SQLite warehouse, and tests/bench/duckdb/bench.mjs (DuckDB, 2
#      threads); the median wall time and the peak RSS (/usr/bin/time -v);
#   4. check that moonstat's daily_kpi ALL/ALL rows (dau, registrations,
#      revenue) equal DuckDB's per game and day (and, as a bonus, the
#      retention and LTV cells); a mismatch is reported, not fatal;
#   5. incremental (INCREMENTAL=1): with the last UTC shipping folders
#      (2026-10-30, 2026-10-31) moved aside, `run --date 2026-10-29` into a
#      fresh warehouse; then the folders back and `run --date 2026-10-30`
#      timed INC_ROUNDS times from a copy of that warehouse; compared with the
#      bulk time / 30 and with DuckDB's recompute from all 30 days.
# A size's data is removed once it is measured unless KEEP=1.  The tables are
# printed and appended to RESULTS (tests/bench/RESULTS.md) with the machine,
# the command and the date.
#
# Environment: BIN (bin), SIZES ("1000000 5000000 20000000"), FORMS
# ("plain gzip"), ROUNDS (3), BENCH_DIR (tests/bench/work), KEEP (0),
# SEED (20261001), INCREMENTAL (1), INC_ROUNDS (ROUNDS), RESULTS (tests/bench/RESULTS.md; "-"
# prints only).  Needs `make` first (make bench does it), node >= 20 and npm
# (the DuckDB package is installed into tests/bench/duckdb/node_modules by
# `npm ci`), /usr/bin/time (installed with apt-get when missing and root).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
ROOT=$PWD

BIN=${BIN:-bin}
SIZES=${SIZES:-"1000000 5000000 20000000"}
FORMS=${FORMS:-"plain gzip"}
ROUNDS=${ROUNDS:-3}
BENCH_DIR=${BENCH_DIR:-tests/bench/work}
KEEP=${KEEP:-0}
SEED=${SEED:-20261001}
INCREMENTAL=${INCREMENTAL:-1}
INC_ROUNDS=${INC_ROUNDS:-$ROUNDS}
RESULTS=${RESULTS:-tests/bench/RESULTS.md}
DUCKDB_THREADS=2
START=2026-10-01
DAYS=30
LAST_DAY=2026-10-30     # day 30, the --date of the bulk run
DAY_29=2026-10-29       # --date of the incremental base run
GAMES=reversal:Asia/Tokyo,rainbow:America/Los_Angeles,star:UTC
DUCK_DIR=tests/bench/duckdb

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }

# ---- arguments and prerequisites ---------------------------------------------

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ "$INC_ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "INC_ROUNDS must be a positive integer, got '$INC_ROUNDS'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be an integer, got '$SEED'"
[ -n "$SIZES" ] || die "SIZES is empty"
for s in $SIZES; do
    [[ "$s" =~ ^[1-9][0-9]*$ ]] || die "SIZES: '$s' is not a positive integer (events)"
    [ "$s" -ge 10000 ] || die "SIZES: $s is too small (at least 10000 events: ~4 events per account)"
done
for f in $FORMS; do
    case $f in plain|gzip) ;; *) die "FORMS: '$f' is not plain or gzip" ;; esac
done
[ -n "$FORMS" ] || die "FORMS is empty"
case $INCREMENTAL in 0|1) ;; *) die "INCREMENTAL must be 0 or 1" ;; esac
case $KEEP in 0|1) ;; *) die "KEEP must be 0 or 1" ;; esac

for t in "$BIN/moonstat" "$BIN/moonstat-gen"; do
    [ -x "$t" ] || die "$t is missing: build first (make), or run make bench"
done
BIN=$(cd "$BIN" && pwd)

for c in awk sort find xargs cat wc zcat gzip cp mv df free nproc; do
    command -v "$c" >/dev/null || die "'$c' is not installed"
done
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ]; then
        say "installing GNU time (apt-get install -y time)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; } ||
            die "apt-get install time failed"
    else
        die "/usr/bin/time is missing: sudo apt-get install time"
    fi
fi
command -v node >/dev/null || die "node is not installed (node >= 20 is needed for the DuckDB side)"
command -v npm >/dev/null || die "npm is not installed"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "node $(node --version) is too old: node >= 20 is needed"

# The DuckDB package from the npm registry, pinned by package-lock.json.
if [ ! -f "$DUCK_DIR/node_modules/@duckdb/node-api/package.json" ] ||
   [ "$DUCK_DIR/package-lock.json" -nt "$DUCK_DIR/node_modules/.package-lock.json" ]; then
    say "installing the DuckDB package (npm ci in $DUCK_DIR)"
    (cd "$DUCK_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        die "npm ci in $DUCK_DIR failed (is the npm registry reachable?)"
fi
DUCKDB_VERSION=$(cd "$DUCK_DIR" && node -e '
  import("@duckdb/node-api").then(async (m) => {
    const db = await m.DuckDBInstance.create(":memory:");
    const c = await db.connect();
    const r = await c.runAndReadAll("SELECT version()");
    console.log(r.getRows()[0][0]);
  }).catch((e) => { console.error(e.message); process.exit(1); });') ||
    die "the DuckDB package does not load (rm -rf $DUCK_DIR/node_modules and try again)"

mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOGS=$BENCH_DIR/logs-$STAMP
mkdir -p "$LOGS/bin"
# The binaries are copied: a rebuild of bin/ during the bench (make in another
# shell) must not change what the later rounds measure.
cp "$BIN/moonstat" "$BIN/moonstat-gen" "$LOGS/bin/" || die "cannot copy the binaries to $LOGS/bin"
BIN_SHOWN=${BIN#"$ROOT"/}
BIN=$LOGS/bin
BIN_SUM=$(sha256sum "$BIN/moonstat" | cut -c1-12)

# Folders moved aside for the incremental measurement go back on any exit.
ASIDE_FROM=""
ASIDE_TO=""
restore_aside() {
    if [ -n "$ASIDE_TO" ] && [ -d "$ASIDE_TO" ]; then
        local d
        for d in "$ASIDE_TO"/*; do
            [ -e "$d" ] && mv "$d" "$ASIDE_FROM/"
        done
        rmdir "$ASIDE_TO" 2>/dev/null || true
    fi
    ASIDE_TO=""
}
trap 'restore_aside' EXIT
trap 'exit 130' INT TERM

# ---- helpers -----------------------------------------------------------------

# measure LOG CMD...: runs CMD under /usr/bin/time -v with stdout/stderr in
# LOG.out/LOG.err; sets M_WALL (s, from the shell's clock), M_CPU (user +
# system s), M_RSS_MB, M_RC.
measure() {
    local log=$1 t0 t1
    shift
    t0=$EPOCHREALTIME
    set +e
    /usr/bin/time -v -o "$log.time" "$@" >"$log.out" 2>"$log.err"
    M_RC=$?
    set -e
    t1=$EPOCHREALTIME
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    M_RSS_MB=$(awk -F': *' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log.time")
    [ -n "$M_RSS_MB" ] || M_RSS_MB=0
    M_CPU=$(awk -F': *' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$log.time")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }   # calc FORMAT EXPR
human() { # 1000000 -> 1M, 5000000 -> 5M, 250000 -> 250k
    awk -v n="$1" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else printf "%d", n }'
}

# input_files DIR FORM: NUL-separated input files in path order.
input_files() {
    local pat='*.jsonl'
    [ "$2" = gzip ] && pat='*.jsonl.gz'
    find "$1" -type f -name "$pat" -print0 | sort -z
}

# moonstat_config RUNDIR DATADIR: a configuration with absolute paths: the
# data set's inputs and rates, a warehouse and outputs of the run's own.
moonstat_config() {
    local run=$1 data=$2
    {
        printf '# written by tests/bench/run.sh\n[moonstat]\n'
        printf 'input_dir          = %s/incoming\n' "$data"
        printf 'warehouse          = sqlite://%s/warehouse.db\n' "$run"
        printf 'export_dir         = %s/exports\n' "$run"
        printf 'quarantine_dir     = %s/quarantine\n' "$run"
        printf 'reporting_currency = USD\nfx_rates           = %s/fx\nmax_reject_rate    = 0.01\n' "$data"
        awk '/^\[/ { keep = ($0 ~ /^\[game /) } keep' "$data/moonstat.conf"
    } >"$run/moonstat.conf"
    grep -q '^\[game ' "$run/moonstat.conf" || die "no [game] sections in $data/moonstat.conf"
}

# run_moonstat RUNDIR DATE LOG: times `moonstat run` (fails the bench on a
# non-zero exit: the figures would mean nothing).
run_moonstat() {
    measure "$3" "$BIN/moonstat" run --config "$1/moonstat.conf" --date "$2"
    if [ "$M_RC" != 0 ]; then
        tail -n 5 "$3.err" >&2
        die "moonstat run --date $2 exited $M_RC (log: $3.err)"
    fi
}

run_duckdb() { # DATADIR OUTDIR LOG
    measure "$3" node "$ROOT/$DUCK_DIR/bench.mjs" --config "$1/moonstat.conf" --out "$2" \
        --date "$LAST_DAY" --threads "$DUCKDB_THREADS"
    if [ "$M_RC" != 0 ]; then
        tail -n 5 "$3.err" >&2
        die "the DuckDB run exited $M_RC (log: $3.err)"
    fi
}

# moonstat_stages LOG: "read 1.2, store 3.4, compute 5.6, publish 0.7" from
# the job's stage log lines.
moonstat_stages() {
    awk '
        function secs(line) { return match(line, /\([0-9.]+ s\)$/) ? substr(line, RSTART + 1, RLENGTH - 4) : "?" }
        /INFO moonstat: read [0-9]+ files/ { r = secs($0) }
        /INFO moonstat: stored the facts/  { s = secs($0) }
        /INFO moonstat: computed /         { c = secs($0) }
        /INFO moonstat: published /        { p = secs($0) }
        END { printf "read %s s, store %s s, compute %s s, publish %s s", r, s, c, p }' "$1"
}
duckdb_stages() {
    awk '/^bench.mjs: [a-z+_]+ [0-9.]+ s$/ { printf "%s%s %s s", sep, $2, $3; sep = ", " }' "$1"
}

# compare_csv LABEL MOONSTAT_CSVS_GLOB_FILE DUCKDB_CSV KEYCOLS VALCOLS:
# joins moonstat's export rows (all partitions, listed in a file) with
# DuckDB's CSV by the key columns (by name) and counts the rows whose values
# (by name) differ or that only one side has.  Prints "COMPARED MISMATCHES"
# and writes the differences to $LOGS.
compare_csv() {
    local label=$1 mlist=$2 dcsv=$3 keys=$4 vals=$5 filter=${6:-}
    xargs -0 cat <"$mlist" | awk -F, -v keys="$keys" -v vals="$vals" -v filter="$filter" -v side=M '
        BEGIN { nk = split(keys, K, " "); nv = split(vals, V, " ") }
        FNR == 1 || $1 == H1 {   # every partition starts with the header
            if (!H1) H1 = $1
            for (i = 1; i <= NF; i++) col[$i] = i
            next
        }
        filter == "ALL" && ($col["platform"] != "ALL" || $col["country"] != "ALL") { next }
        {
            k = ""; for (i = 1; i <= nk; i++) k = k (i > 1 ? "," : "") $col[K[i]]
            v = ""; for (i = 1; i <= nv; i++) v = v (i > 1 ? "," : "") $col[V[i]]
            print side "\t" k "\t" v
        }' >"$LOGS/cmp-$label.m"
    awk -F, -v keys="$keys" -v vals="$vals" -v filter="$filter" -v side=D '
        BEGIN { nk = split(keys, K, " "); nv = split(vals, V, " ") }
        FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        filter == "ALL" && ("platform" in col) && ($col["platform"] != "ALL" || $col["country"] != "ALL") { next }
        {
            k = ""; for (i = 1; i <= nk; i++) k = k (i > 1 ? "," : "") $col[K[i]]
            v = ""; for (i = 1; i <= nv; i++) v = v (i > 1 ? "," : "") $col[V[i]]
            print side "\t" k "\t" v
        }' "$dcsv" >"$LOGS/cmp-$label.d"
    cat "$LOGS/cmp-$label.m" "$LOGS/cmp-$label.d" | awk -F'\t' -v out="$LOGS/cmp-$label.diff" '
        $1 == "M" { m[$2] = $3; keys[$2] = 1 }
        $1 == "D" { d[$2] = $3; keys[$2] = 1 }
        END {
            for (k in keys) {
                n++
                if (!(k in m)) { bad++; print "only DuckDB: " k " -> " d[k] > out }
                else if (!(k in d)) { bad++; print "only moonstat: " k " -> " m[k] > out }
                else if (m[k] != d[k]) { bad++; print "differ: " k ": moonstat " m[k] ", DuckDB " d[k] > out }
            }
            printf "%d %d\n", n, bad
        }'
}

# ---- the machine ---------------------------------------------------------------

CPU_MODEL=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }')
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GIB=$(free -g | awk '/^Mem:/ { print $2 }')
MACHINE="$(nproc) CPUs ($CPU_MODEL), ${MEM_GIB} GiB RAM, $(uname -sr)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null | head -n 1)" ]; then GIT_REV="$GIT_REV + local changes"; fi
SQLITE_VERSION=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || true)
DATE_START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
CMD="SIZES=\"$SIZES\" FORMS=\"$FORMS\" ROUNDS=$ROUNDS INCREMENTAL=$INCREMENTAL INC_ROUNDS=$INC_ROUNDS SEED=$SEED tests/bench/run.sh"

say "machine: $MACHINE; load average $LOAD_START"
say "moonstat $GIT_REV, SQLite ${SQLITE_VERSION:-?}, DuckDB $DUCKDB_VERSION (node $(node --version)), logs in $LOGS"

# Disk: about 245 bytes per event as plain files, 70 gzip-compressed, and up
# to three SQLite warehouses of about 110 bytes per event (bulk and the two
# incremental copies); checked per size and form before generating.
check_disk() { # EVENTS FORM
    local need avail per=245
    [ "$2" = gzip ] && per=70
    need=$(( $1 * (per + 3 * 110) / 1000000 + 200 ))   # MB
    avail=$(df -Pm "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
    [ "$avail" -ge "$need" ] ||
        die "$BENCH_DIR has ${avail} MB free; $(human "$1") $2 needs about ${need} MB (set BENCH_DIR elsewhere or use smaller SIZES)"
}

# ---- the measurements ------------------------------------------------------------

MAIN_ROWS=""; CHECK_ROWS=""; INC_ROWS=""; STAGE_ROWS=""
declare -A S_EVENTS S_ACCOUNTS M_MED D_MED M_RSS D_RSS M_CPU_MED D_CPU_MED
TOTAL_MISMATCH=0

for size in $SIZES; do
    for form in $FORMS; do
        tag="$(human "$size")-$form"
        data=$BENCH_DIR/data-$size-$form
        runs=$BENCH_DIR/runs-$size-$form
        gzip_opt=none
        [ "$form" = gzip ] && gzip_opt=all
        gen_args="--events $size --days $DAYS --start $START --gzip $gzip_opt --awkward 0 --accounts-per-10m 1000000 --seed $SEED"

        # 1. the data set (reused when KEEP=1 left one made with the same arguments)
        if [ -f "$data/.bench-complete" ] && [ "$(cat "$data/.bench-complete")" = "$gen_args" ]; then
            say "$tag: reusing $data"
            gen_line=$(cat "$data/.bench-summary")
        else
            rm -rf "$data"
            check_disk "$size" "$form"
            say "$tag: generating ($gen_args)"
            gen_line=$("$BIN/moonstat-gen" --out "$data" $gen_args) || die "moonstat-gen failed for $tag"
            printf '%s\n' "$gen_line" >"$data/.bench-summary"
            printf '%s\n' "$gen_args" >"$data/.bench-complete"
        fi
        events=$(printf '%s\n' "$gen_line" | sed -n 's/^moonstat-gen: \([0-9]*\) events.*/\1/p')
        accounts=$(printf '%s\n' "$gen_line" | sed -n 's/.* \([0-9]*\) accounts.*/\1/p')
        [ -n "$events" ] && [ -n "$accounts" ] || die "cannot read the generator's summary: $gen_line"
        S_EVENTS[$size]=$events
        S_ACCOUNTS[$size]=$accounts
        file_bytes=$(input_files "$data/incoming" "$form" | xargs -0 stat -c %s | awk '{ s += $1 } END { print s + 0 }')
        nfiles=$(input_files "$data/incoming" "$form" | tr -cd '\0' | wc -c)
        [ "$nfiles" -gt 0 ] || die "$tag: no input files under $data/incoming"

        # 2. floors (and the page cache warmed for everyone)
        input_files "$data/incoming" "$form" | xargs -0 cat >/dev/null
        if [ "$form" = gzip ]; then
            raw_bytes=$(input_files "$data/incoming" gzip | xargs -0 zcat | wc -c)
        else
            raw_bytes=$file_bytes
        fi
        fl_split=(); fl_inflate=()
        for r in $(seq 1 "$ROUNDS"); do
            if [ "$form" = gzip ]; then
                measure "$LOGS/$tag-floor-split-$r" bash -c "find '$data/incoming' -type f -name '*.jsonl.gz' -print0 | sort -z | xargs -0 zcat | wc -l"
                [ "$M_RC" = 0 ] || die "$tag: zcat | wc -l failed"
                fl_split+=("$M_WALL")
                lines=$(cat "$LOGS/$tag-floor-split-$r.out")
                measure "$LOGS/$tag-floor-inflate-$r" bash -c "find '$data/incoming' -type f -name '*.jsonl.gz' -print0 | sort -z | xargs -0 zcat >/dev/null"
                [ "$M_RC" = 0 ] || die "$tag: zcat failed"
                fl_inflate+=("$M_WALL")
            else
                measure "$LOGS/$tag-floor-split-$r" bash -c "find '$data/incoming' -type f -name '*.jsonl' -print0 | sort -z | xargs -0 cat | wc -l"
                [ "$M_RC" = 0 ] || die "$tag: cat | wc -l failed"
                fl_split+=("$M_WALL")
                lines=$(cat "$LOGS/$tag-floor-split-$r.out")
            fi
        done
        [ "$lines" = "$events" ] || say "$tag: WARNING: the files hold $lines lines, the generator said $events events"
        fs_med=$(median "${fl_split[@]}")
        fi_med=""
        [ "$form" = gzip ] && fi_med=$(median "${fl_inflate[@]}")

        # 3. alternating rounds; a fresh warehouse for every moonstat run
        mkdir -p "$runs"
        m_w=(); m_r=(); m_c=(); d_w=(); d_r=(); d_c=()
        for r in $(seq 1 "$ROUNDS"); do
            order="moonstat duckdb"
            [ $((r % 2)) = 0 ] && order="duckdb moonstat"
            for eng in $order; do
                if [ "$eng" = moonstat ]; then
                    rm -rf "$runs/moonstat"
                    mkdir -p "$runs/moonstat"
                    moonstat_config "$runs/moonstat" "$data"
                    say "$tag: round $r/$ROUNDS: moonstat run --date $LAST_DAY"
                    run_moonstat "$runs/moonstat" "$LAST_DAY" "$LOGS/$tag-moonstat-$r"
                    m_w+=("$M_WALL"); m_r+=("$M_RSS_MB"); m_c+=("$M_CPU")
                    say "$tag: moonstat $M_WALL s (CPU $M_CPU s), peak RSS $M_RSS_MB MB"
                else
                    rm -rf "$runs/duckdb"
                    say "$tag: round $r/$ROUNDS: DuckDB ($DUCKDB_THREADS threads)"
                    run_duckdb "$data" "$runs/duckdb" "$LOGS/$tag-duckdb-$r"
                    d_w+=("$M_WALL"); d_r+=("$M_RSS_MB"); d_c+=("$M_CPU")
                    say "$tag: DuckDB $M_WALL s (CPU $M_CPU s), peak RSS $M_RSS_MB MB"
                fi
            done
        done
        mm=$(median "${m_w[@]}"); dm=$(median "${d_w[@]}")
        mr=$(maxof "${m_r[@]}"); dr=$(maxof "${d_r[@]}")
        mc=$(median "${m_c[@]}"); dc=$(median "${d_c[@]}")
        M_CPU_MED[$size-$form]=$mc; D_CPU_MED[$size-$form]=$dc
        M_MED[$size-$form]=$mm; D_MED[$size-$form]=$dm; M_RSS[$size-$form]=$mr; D_RSS[$size-$form]=$dr

        # 4. the same numbers?
        find "$runs/moonstat/exports/daily_kpi" -name daily_kpi.csv -print0 | sort -z >"$LOGS/$tag-kpi.list"
        find "$runs/moonstat/exports/retention" -name retention.csv -print0 | sort -z >"$LOGS/$tag-ret.list"
        find "$runs/moonstat/exports/ltv" -name ltv.csv -print0 | sort -z >"$LOGS/$tag-ltv.list"
        read -r tot_n tot_bad < <(compare_csv "$tag-totals" "$LOGS/$tag-kpi.list" "$runs/duckdb/totals.csv" \
            "game_id date" "dau registrations revenue" ALL)
        read -r ret_n ret_bad < <(compare_csv "$tag-retention" "$LOGS/$tag-ret.list" "$runs/duckdb/retention.csv" \
            "cohort_date game_id platform country day" "cohort_size retained")
        read -r ltv_n ltv_bad < <(compare_csv "$tag-ltv" "$LOGS/$tag-ltv.list" "$runs/duckdb/ltv.csv" \
            "cohort_date game_id platform country day" "cohort_size revenue")
        for n in "$tot_n" "$tot_bad" "$ret_n" "$ret_bad" "$ltv_n" "$ltv_bad"; do
            [[ "$n" =~ ^[0-9]+$ ]] || die "$tag: comparing moonstat's exports with DuckDB's CSVs failed"
        done
        [ "$tot_n" -gt 0 ] || say "$tag: WARNING: no daily totals to compare"
        TOTAL_MISMATCH=$((TOTAL_MISMATCH + tot_bad))
        if [ "$tot_bad" != 0 ]; then
            say "$tag: $tot_bad of $tot_n daily totals differ (see $LOGS/cmp-$tag-totals.diff):"
            head -n 5 "$LOGS/cmp-$tag-totals.diff" >&2
        fi
        say "$tag: daily totals $tot_n compared, $tot_bad mismatches; retention $ret_n/$ret_bad; ltv $ltv_n/$ltv_bad"

        # the table rows
        mb=$(calc '%.1f' "$raw_bytes / 1e6")
        fmb=$(calc '%.1f' "$file_bytes / 1e6")
        input="$mb"
        [ "$form" = gzip ] && input="$mb ($fmb gz)"
        row() { # WHAT WALL CPU RSS RATIO
            local mbs eps
            mbs=$(calc '%.1f' "$raw_bytes / 1e6 / $2")
            eps=$(calc '%.0f' "$events / $2")
            MAIN_ROWS+="| $(human "$size") | $form | $input | $1 | $2 | $3 | $mbs | $eps | $4 | $5 |"$'\n'
        }
        row "moonstat" "$mm" "$mc" "$mr" "$(calc '%.2f' "$mm / $dm")"
        row "DuckDB ($DUCKDB_THREADS threads)" "$dm" "$dc" "$dr" "1"
        if [ "$form" = gzip ]; then
            row "floor: zlib inflate + line split (\`zcat \\| wc -l\`)" "$fs_med" "-" "-" "-"
            row "floor: zlib inflate (\`zcat > /dev/null\`)" "$fi_med" "-" "-" "-"
        else
            row "floor: line split (\`cat \\| wc -l\`)" "$fs_med" "-" "-" "-"
        fi
        CHECK_ROWS+="| $(human "$size") | $form | $tot_n | $tot_bad | $ret_n | $ret_bad | $ltv_n | $ltv_bad |"$'\n'
        STAGE_ROWS+="| $(human "$size") | $form | $(moonstat_stages "$LOGS/$tag-moonstat-$ROUNDS.err") | $(duckdb_stages "$LOGS/$tag-duckdb-$ROUNDS.err") |"$'\n'

        # 5. incremental: 29 days in the warehouse, then day 30
        if [ "$INCREMENTAL" = 1 ]; then
            ASIDE_FROM=$data/incoming
            ASIDE_TO=$data/aside
            mkdir -p "$ASIDE_TO"
            moved=0
            for d in "$data/incoming"/*/; do
                d=${d%/}
                if [[ "$(basename "$d")" > "$DAY_29" ]]; then mv "$d" "$ASIDE_TO/"; moved=$((moved + 1)); fi
            done
            [ "$moved" -gt 0 ] || die "$tag: no shipping folder after $DAY_29 to move aside"
            inc_bytes=$(input_files "$ASIDE_TO" "$form" | xargs -0 stat -c %s | awk '{ s += $1 } END { print s + 0 }')
            if [ "$form" = gzip ]; then
                inc_lines=$(input_files "$ASIDE_TO" gzip | xargs -0 zcat | wc -l)
            else
                inc_lines=$(input_files "$ASIDE_TO" plain | xargs -0 cat | wc -l)
            fi
            aside_names=$(cd "$ASIDE_TO" && ls | tr '\n' ' ')
            rm -rf "$runs/inc" "$runs/inc-base"
            mkdir -p "$runs/inc"
            moonstat_config "$runs/inc" "$data"
            say "$tag: incremental: folders ${aside_names}moved aside; moonstat run --date $DAY_29"
            run_moonstat "$runs/inc" "$DAY_29" "$LOGS/$tag-inc-base"
            base_w=$M_WALL
            restore_aside
            cp -a "$runs/inc" "$runs/inc-base"
            i_w=(); i_r=()
            for r in $(seq 1 "$INC_ROUNDS"); do
                rm -rf "$runs/inc"
                cp -a "$runs/inc-base" "$runs/inc"
                run_moonstat "$runs/inc" "$LAST_DAY" "$LOGS/$tag-inc-$r"
                i_w+=("$M_WALL"); i_r+=("$M_RSS_MB")
                say "$tag: incremental round $r/$INC_ROUNDS: run --date $LAST_DAY $M_WALL s"
            done
            im=$(median "${i_w[@]}")
            per_day=$(calc '%.3f' "$mm / $DAYS")
            bound=$(calc '%.3f' "2 * $mm / $DAYS + 0.5")
            ok_bound=$(awk -v a="$im" -v b="$bound" 'BEGIN { print (a <= b) ? "yes" : "**no**" }')
            vs_duck=$(calc '%.1f' "$dm / $im")
            ok_duck=$(awk -v a="$dm" -v b="$im" 'BEGIN { print (a >= 10 * b) ? "yes" : "**no**" }')
            inc_share=$(calc '%.1f' "100 * $inc_lines / $events")
            STAGE_ROWS+="| $(human "$size") | $form, incremental day 30 | $(moonstat_stages "$LOGS/$tag-inc-$INC_ROUNDS.err") | - |"$'\n'
            INC_ROWS+="| $(human "$size") | $form | ${aside_names% } ($inc_lines lines, $inc_share %) | $base_w | $im | $per_day | $bound | $ok_bound | $dm | $vs_duck | $ok_duck |"$'\n'
            rm -rf "$runs/inc" "$runs/inc-base"
        fi

        if [ "$KEEP" != 1 ]; then
            rm -rf "$runs"
        fi
        if [ "$KEEP" != 1 ]; then
            rm -rf "$data"
        fi
    done
done

# Linear growth: seconds per million events against the smallest size,
# and peak RSS against the distinct accounts.
SCALE_ROWS=""
nsizes=$(printf '%s\n' $SIZES | sort -un | wc -l)
if [ "$nsizes" -gt 1 ]; then
    smallest=$(printf '%s\n' $SIZES | sort -n | head -n 1)
    for form in $FORMS; do
        for eng in moonstat DuckDB; do
            for size in $(printf '%s\n' $SIZES | sort -un); do
                if [ "$eng" = moonstat ]; then
                    w=${M_MED[$size-$form]}; w0=${M_MED[$smallest-$form]}; rss=${M_RSS[$size-$form]}
                    c=${M_CPU_MED[$size-$form]}; c0=${M_CPU_MED[$smallest-$form]}
                else
                    w=${D_MED[$size-$form]}; w0=${D_MED[$smallest-$form]}; rss=${D_RSS[$size-$form]}
                    c=${D_CPU_MED[$size-$form]}; c0=${D_CPU_MED[$smallest-$form]}
                fi
                ev=${S_EVENTS[$size]}; ev0=${S_EVENTS[$smallest]}; acc=${S_ACCOUNTS[$size]}
                spm=$(calc '%.2f' "$w / ($ev / 1e6)")
                dev=$(calc '%+.1f' "100 * (($w / $ev) / ($w0 / $ev0) - 1)")
                cpm=$(calc '%.2f' "$c / ($ev / 1e6)")
                cdev=$(calc '%+.1f' "100 * (($c / $ev) / ($c0 / $ev0) - 1)")
                lin=$(awk -v d="$dev" 'BEGIN { d = d < 0 ? -d : d; print d <= 15 ? "yes" : "**no**" }')
                kpa=$(calc '%.2f' "$rss * 1024 / $acc")
                SCALE_ROWS+="| $form | $eng | $(human "$size") | $acc | $w | $spm | $dev % | $lin | $cpm | $cdev % | $rss | $kpa |"$'\n'
            done
        done
    done
fi

# ---- the report ------------------------------------------------------------------

REPORT=$LOGS/report.md
{
    printf '## %s\n\n' "$DATE_START"
    printf -- '- command: `%s` (BIN=%s)\n' "$CMD" "$BIN_SHOWN"
    printf -- '- machine: %s; load average (1, 5, 15 min) at the start %s, at the end %s\n' "$MACHINE" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- moonstat %s (binary sha256 %s...), SQLite %s; DuckDB %s (@duckdb/node-api, node %s), %s threads\n' \
        "$GIT_REV" "$BIN_SUM" "${SQLITE_VERSION:-?}" "$DUCKDB_VERSION" "$(node --version)" "$DUCKDB_THREADS"
    printf -- '- data: moonstat-gen, %s days from %s, 3 games, --awkward 0, --accounts-per-10m 1000000, --seed %s; ' "$DAYS" "$START" "$SEED"
    printf 'wall and CPU (user + system) = medians of %s alternating rounds, peak RSS = the largest of them; MB = 10^6 bytes of uncompressed input\n\n' "$ROUNDS"
    printf '| events | form | input MB | what | wall s | CPU s | MB/s | events/s | peak RSS MB | moonstat/DuckDB |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|\n'
    printf '%s\n' "$MAIN_ROWS"
    printf 'Same numbers (moonstat exports vs DuckDB; daily totals = ALL/ALL dau, registrations, revenue per game and day):\n\n'
    printf '| events | form | daily totals compared | mismatches | retention cells | mismatches | LTV cells | mismatches |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
    printf '%s\n' "$CHECK_ROWS"
    printf 'Where the time goes (last round):\n\n'
    printf '| events | form | moonstat stages | DuckDB stages |\n|---|---|---|---|\n'
    printf '%s\n' "$STAGE_ROWS"
    if [ -n "$INC_ROWS" ]; then
        printf 'Incremental: `run --date %s` (median of %s) on a warehouse holding the run of `--date %s` made without the shipping folders named (target: at most 2 x bulk/30 + 0.5 s, and at least 10x faster than DuckDB recomputing all 30 days):\n\n' "$LAST_DAY" "$INC_ROUNDS" "$DAY_29"
        printf '| events | form | day-30 folders | 29-day run s | day-30 run s | bulk/30 s | bound s | within | DuckDB full s | DuckDB/day-30 | >= 10x |\n'
        printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
        printf '%s\n' "$INC_ROWS"
    fi
    if [ -n "$SCALE_ROWS" ]; then
        printf 'Scaling (target: time linear in events within 15 %%; memory with distinct accounts):\n\n'
        printf '| form | engine | events | accounts | wall s | wall s per 1M events | vs smallest | linear (wall) | CPU s per 1M events | vs smallest | peak RSS MB | RSS KB per account |\n'
        printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
        printf '%s\n' "$SCALE_ROWS"
    fi
} >"$REPORT"

printf '\n'
cat "$REPORT"
if [ "$RESULTS" != - ]; then
    if [ ! -f "$RESULTS" ]; then
        printf '# Benchmark results\n\nAppended by `tests/bench/run.sh` (`make bench`); see tests/bench/README.md.\n\n' >"$RESULTS"
    fi
    { cat "$REPORT"; printf '\n'; } >>"$RESULTS"
    say "appended to $RESULTS"
fi
[ "$TOTAL_MISMATCH" = 0 ] || say "NOTE: $TOTAL_MISMATCH daily totals differ between moonstat and DuckDB (details in $LOGS/cmp-*.diff)"
say "done; logs in $LOGS"
