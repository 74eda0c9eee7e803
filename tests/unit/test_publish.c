/* test_publish.c - atomic publication of export partitions. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "common.h"
#include "publish.h"

/* ---- renameat2 interposition --------------------------------------------
 * The test binary's definition wins over glibc's for publish.o (linked from
 * a static library), so the fallback for file systems without
 * RENAME_EXCHANGE can be exercised on any file system. */
static int fake_no_exchange;  /* 1: fail like a file system without exchange */
static int exchange_calls;    /* renameat2 calls seen */
static int exchange_real_ok;  /* real exchanges that succeeded */

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    long r;
    exchange_calls++;
    if (fake_no_exchange) {
        errno = EINVAL;
        return -1;
    }
    r = syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
    if (r == 0)
        exchange_real_ok++;
    return (int)r;
}

/* ---- helpers ------------------------------------------------------------ */

static char root[PATH_MAX];

/* root/rel in one of 8 rotating static buffers: valid for the next 7 calls. */
static const char *P(const char *rel)
{
    static char paths[8][PATH_MAX];
    static int next;
    char *out = paths[next++ % 8];
    if (snprintf(out, PATH_MAX, "%s/%s", root, rel) >= PATH_MAX)
        out[0] = '\0'; /* too long: no such path */
    return out;
}

/* Whole file, NUL-terminated (caller frees), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
            data[n] = '\0';
            if (len)
                *len = (size_t)n;
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f)
        return -1;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Number of entries in dir (without . and ..); those whose name contains
 * `needle` when it is not NULL. -1 when dir cannot be opened. */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (!needle || strstr(de->d_name, needle))
            n++;
    }
    closedir(d);
    return n;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        printf("warning: could not remove %s\n", path);
}

typedef struct snap {
    ino_t ino;
    struct timespec mtim;
} snap;

static snap take(const char *path)
{
    struct stat st;
    snap s = {0, {0, 0}};
    if (stat(path, &st) == 0) {
        s.ino = st.st_ino;
        s.mtim = st.st_mtim;
    }
    return s;
}

static int same_snap(snap a, snap b)
{
    return a.ino != 0 && a.ino == b.ino && a.mtim.tv_sec == b.mtim.tv_sec &&
           a.mtim.tv_nsec == b.mtim.tv_nsec;
}

/* "YYYY-MM-DDTHH:MM:SSZ" within a minute of now. */
static int recent_rfc3339(const char *s)
{
    struct tm tm;
    const char *end;
    time_t t, now = time(NULL);
    if (!s || strlen(s) != 20)
        return 0;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end != '\0')
        return 0;
    t = timegm(&tm);
    return t <= now + 1 && now - t < 60;
}

/* Checks the partition's three files against what was published. */
static void check_partition(const char *part_rel, const publish_meta *meta, const char *csv,
                            uint64_t rows)
{
    char rel[PATH_MAX], want_sha[65], file[128];
    size_t n = 0, len = strlen(csv);
    char *got, *text;
    json_t *m;
    ms_error err = {{0}};

    snprintf(file, sizeof file, "%s.csv", meta->report);
    snprintf(rel, sizeof rel, "%s/%s", part_rel, file);
    got = slurp(P(rel), &n);
    CHECK(got != NULL);
    CHECK_INT(n, len);
    CHECK(got && n == len && memcmp(got, csv, len) == 0);
    free(got);

    snprintf(rel, sizeof rel, "%s/_SUCCESS", part_rel);
    got = slurp(P(rel), &n);
    CHECK(got != NULL && n == 0);
    free(got);

    CHECK_INT(sha256_hex(csv, len, want_sha, &err), 0);
    snprintf(rel, sizeof rel, "%s/manifest.json", part_rel);
    text = slurp(P(rel), &n);
    CHECK(text != NULL);
    if (!text)
        return;
    m = json_loads(text, 0, NULL);
    CHECK(json_is_object(m));
    CHECK_STR(json_string_value(json_object_get(m, "report")), meta->report);
    CHECK_STR(json_string_value(json_object_get(m, "partition")), meta->partition);
    CHECK_STR(json_string_value(json_object_get(m, "file")), file);
    CHECK_INT(json_integer_value(json_object_get(m, "rows")), rows);
    CHECK_INT(json_integer_value(json_object_get(m, "bytes")), len);
    CHECK_STR(json_string_value(json_object_get(m, "sha256")), want_sha);
    CHECK_STR(json_string_value(json_object_get(m, "run_id")), meta->run_id);
    CHECK_STR(json_string_value(json_object_get(m, "reporting_currency")),
              meta->reporting_currency);
    CHECK_INT(json_integer_value(json_object_get(m, "schema_version")), meta->schema_version);
    CHECK(recent_rfc3339(json_string_value(json_object_get(m, "written_at"))));
    CHECK_INT(json_object_size(m), 10);
    json_decref(m);

    /* Fixed key order, 2-space indent, trailing newline. */
    {
        static const char *const keys[] = {"report",  "partition", "file",
                                           "rows",    "bytes",     "sha256",
                                           "run_id",  "written_at", "reporting_currency",
                                           "schema_version"};
        const char *prev = text;
        int in_order = 1;
        for (size_t i = 0; i < MS_ARRAY_LEN(keys); i++) {
            char quoted[64];
            const char *at;
            snprintf(quoted, sizeof quoted, "\n  \"%s\": ", keys[i]);
            at = strstr(text, quoted);
            if (!at || at < prev)
                in_order = 0;
            else
                prev = at;
        }
        CHECK(in_order);
        CHECK(strncmp(text, "{\n  \"report\": ", 14) == 0);
        CHECK(n >= 3 && strcmp(text + n - 3, "\n}\n") == 0);
    }
    free(text);
}

/* ---- tests -------------------------------------------------------------- */

static void test_sha256(void)
{
    char hex[65];
    ms_error err = {{0}};
    static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_INT(sha256_hex("", 0, hex, &err), 0);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_INT(sha256_hex(NULL, 0, hex, &err), 0);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_INT(sha256_hex("abc", 3, hex, &err), 0);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(sha256_hex(msg448, strlen(msg448), hex, &err), 0);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK_INT(sha256_hex(NULL, 3, hex, &err), -1);
}

static void test_mkdir_p(void)
{
    ms_error err = {{0}};
    struct stat st;
    CHECK_INT(mkdir_p(P("m/a/b/c"), &err), 0);
    CHECK(stat(P("m/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_INT(mkdir_p(P("m/a/b/c"), &err), 0); /* exists: fine */
    CHECK_INT(mkdir_p(P("m/a//d/"), &err), 0);
    CHECK(stat(P("m/a/d"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_INT(spit(P("m/file"), "x"), 0);
    err.msg[0] = '\0';
    CHECK_INT(mkdir_p(P("m/file/sub"), &err), -1);
    CHECK(strstr(err.msg, "m/file") != NULL);
    CHECK_INT(mkdir_p("", &err), -1);
}

static void test_write_file_atomic(void)
{
    ms_error err = {{0}};
    char *got;
    CHECK_INT(mkdir_p(P("w"), &err), 0);
    CHECK_INT(write_file_atomic(P("w/out.txt"), "hello\n", 6, &err), 0);
    got = slurp(P("w/out.txt"), NULL);
    CHECK_STR(got, "hello\n");
    free(got);
    CHECK_INT(write_file_atomic(P("w/out.txt"), "bye", 3, &err), 0);
    got = slurp(P("w/out.txt"), NULL);
    CHECK_STR(got, "bye");
    free(got);
    CHECK_INT(write_file_atomic(P("w/empty"), NULL, 0, &err), 0);
    got = slurp(P("w/empty"), NULL);
    CHECK_STR(got, "");
    free(got);
    CHECK_INT(count_entries(P("w"), NULL), 2); /* out.txt, empty: no temporaries */

    /* Failures leave nothing behind either. */
    CHECK_INT(mkdir_p(P("w/adir"), &err), 0);
    err.msg[0] = '\0';
    CHECK_INT(write_file_atomic(P("w/adir"), "x", 1, &err), -1); /* rename onto a directory */
    CHECK(strstr(err.msg, "w/adir") != NULL);
    CHECK_INT(count_entries(P("w"), ".tmp-"), 0);
    CHECK_INT(count_entries(P("w"), NULL), 3);
    err.msg[0] = '\0';
    CHECK_INT(write_file_atomic(P("w/missing/x"), "x", 1, &err), -1);
    CHECK(strstr(err.msg, "w/missing") != NULL);
    CHECK_INT(write_file_atomic(P("w/"), "x", 1, &err), -1);
}

static const char CSV1[] = "date,game_id,product,revenue\n"
                           "2026-11-07,reversal,\"'+100 gems, \"\"bonus\"\"\",12.30\n"
                           "2026-11-07,starfall,,0.99\n";
static const char CSV2[] = "date,game_id,product,revenue\n"
                           "2026-11-07,reversal,\"'+100 gems, \"\"bonus\"\"\",12.30\n"
                           "2026-11-07,starfall,,0.99\n"
                           "2026-11-07,zenith,pack,5.00\n";
static const char CSV3[] = "date,game_id,product,revenue\n"
                           "2026-11-07,reversal,late,1.00\n";
static const char HEADER[] = "date,game_id,product,revenue\n";

#define PART "exports/daily_kpi/dt=2026-11-07"

static void test_publish_cycle(void)
{
    ms_error err = {{0}};
    publish_meta meta = {"daily_kpi", "2026-11-07", "run-1", "USD", 3};
    char exp[PATH_MAX];
    snap csv_a, man_a, ok_a, dir_a;
    int r;

    memcpy(exp, P("exports"), sizeof exp); /* P's buffers are reused */

    /* 1. First publication creates the three files. */
    r = publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err);
    if (r < 0)
        printf("error: %s\n", err.msg);
    CHECK_INT(r, PUBLISH_WRITTEN);
    check_partition(PART, &meta, CSV1, 2);
    CHECK_INT(count_entries(P(PART), NULL), 3);
    CHECK_INT(count_entries(P("exports/daily_kpi"), NULL), 1); /* no staging left */

    /* 2. The same bytes again: nothing touched (inode, mtime to the ns). */
    csv_a = take(P(PART "/daily_kpi.csv"));
    man_a = take(P(PART "/manifest.json"));
    ok_a = take(P(PART "/_SUCCESS"));
    dir_a = take(P(PART));
    meta.run_id = "run-2";
    r = publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err);
    CHECK_INT(r, PUBLISH_UNCHANGED);
    CHECK(same_snap(csv_a, take(P(PART "/daily_kpi.csv"))));
    CHECK(same_snap(man_a, take(P(PART "/manifest.json"))));
    CHECK(same_snap(ok_a, take(P(PART "/_SUCCESS"))));
    CHECK(same_snap(dir_a, take(P(PART))));
    meta.run_id = "run-1";
    check_partition(PART, &meta, CSV1, 2); /* the old manifest, run_id included */

    /* 3. Different bytes replace the partition (directory exchange). */
    exchange_real_ok = 0;
    meta.run_id = "run-3";
    r = publish_partition(exp, &meta, CSV2, strlen(CSV2), 3, &err);
    if (r < 0)
        printf("error: %s\n", err.msg);
    CHECK_INT(r, PUBLISH_WRITTEN);
    CHECK_INT(exchange_real_ok, 1);
    check_partition(PART, &meta, CSV2, 3);
    CHECK_INT(count_entries(P(PART), NULL), 3);
    CHECK_INT(count_entries(P("exports/daily_kpi"), NULL), 1);
    CHECK(take(P(PART)).ino != dir_a.ino);

    /* 4. A CSV changed behind the manifest's back (same size) is detected. */
    {
        char *tampered = strdup(CSV2);
        CHECK(tampered != NULL);
        if (tampered) {
            tampered[strlen(tampered) - 2] = '1'; /* 5.00 -> 5.01 */
            CHECK_INT(spit(P(PART "/daily_kpi.csv"), tampered), 0);
            free(tampered);
        }
        meta.run_id = "run-4";
        r = publish_partition(exp, &meta, CSV2, strlen(CSV2), 3, &err);
        CHECK_INT(r, PUBLISH_WRITTEN);
        check_partition(PART, &meta, CSV2, 3);
    }

    /* 5. A partition without _SUCCESS is rewritten. */
    CHECK_INT(unlink(P(PART "/_SUCCESS")), 0);
    meta.run_id = "run-5";
    r = publish_partition(exp, &meta, CSV2, strlen(CSV2), 3, &err);
    CHECK_INT(r, PUBLISH_WRITTEN);
    check_partition(PART, &meta, CSV2, 3);

    /* 6. A manifest that does not describe the new publication (other schema
     * version) is rewritten even though the bytes are the same. */
    meta.run_id = "run-6";
    meta.schema_version = 4;
    r = publish_partition(exp, &meta, CSV2, strlen(CSV2), 3, &err);
    CHECK_INT(r, PUBLISH_WRITTEN);
    check_partition(PART, &meta, CSV2, 3);

    /* 7. A corrupt manifest is rewritten. */
    CHECK_INT(spit(P(PART "/manifest.json"), "{not json"), 0);
    meta.run_id = "run-7";
    r = publish_partition(exp, &meta, CSV2, strlen(CSV2), 3, &err);
    CHECK_INT(r, PUBLISH_WRITTEN);
    check_partition(PART, &meta, CSV2, 3);

    /* 8. File system without RENAME_EXCHANGE: per-file fallback. */
    dir_a = take(P(PART));
    fake_no_exchange = 1;
    exchange_calls = 0;
    meta.run_id = "run-8";
    r = publish_partition(exp, &meta, CSV3, strlen(CSV3), 1, &err);
    fake_no_exchange = 0;
    if (r < 0)
        printf("error: %s\n", err.msg);
    CHECK_INT(r, PUBLISH_WRITTEN);
    CHECK_INT(exchange_calls, 1);
    check_partition(PART, &meta, CSV3, 1);
    CHECK(take(P(PART)).ino == dir_a.ino); /* files moved in, directory kept */
    CHECK_INT(count_entries(P(PART), NULL), 3);
    CHECK_INT(count_entries(P("exports/daily_kpi"), NULL), 1);

    /* 9. Zero rows, existing partition: header only, rows 0. */
    meta.run_id = "run-9";
    r = publish_partition(exp, &meta, HEADER, strlen(HEADER), 0, &err);
    CHECK_INT(r, PUBLISH_WRITTEN);
    check_partition(PART, &meta, HEADER, 0);
    csv_a = take(P(PART "/daily_kpi.csv"));
    meta.run_id = "run-10";
    r = publish_partition(exp, &meta, HEADER, strlen(HEADER), 0, &err);
    CHECK_INT(r, PUBLISH_UNCHANGED);
    CHECK(same_snap(csv_a, take(P(PART "/daily_kpi.csv"))));

    /* 10. Zero rows, missing partition: nothing is created. */
    meta.report = "retention";
    meta.partition = "2026-11-01";
    r = publish_partition(exp, &meta, HEADER, strlen(HEADER), 0, &err);
    CHECK_INT(r, PUBLISH_UNCHANGED);
    CHECK(!exists(P("exports/retention")));
    meta.report = "daily_kpi";
    r = publish_partition(exp, &meta, HEADER, strlen(HEADER), 0, &err);
    CHECK_INT(r, PUBLISH_UNCHANGED);
    CHECK(!exists(P("exports/daily_kpi/dt=2026-11-01")));
    CHECK_INT(count_entries(P("exports/daily_kpi"), NULL), 1);
}

/* A batch: nothing is visible before the commit, everything after it; a
 * partition staged twice is refused; a batch freed uncommitted leaves the
 * published copies as they were; a commit that fails half-way has published
 * the partitions before the failing one and dropped the rest. */
#define BPART(d) "bexports/daily_kpi/dt=" d
static void test_publish_batch(void)
{
    ms_error err = {{0}};
    publish_meta old = {"daily_kpi", "2026-11-07", "run-1", "USD", 3};
    publish_meta kpi7 = {"daily_kpi", "2026-11-07", "run-2", "USD", 3};
    publish_meta kpi8 = {"daily_kpi", "2026-11-08", "run-2", "USD", 3};
    publish_meta kpi9 = {"daily_kpi", "2026-11-09", "run-2", "USD", 3};
    publish_meta rev7 = {"revenue", "2026-11-07", "run-2", "USD", 3};
    publish_meta kpi11 = {"daily_kpi", "2026-11-11", "run-3", "USD", 3};
    publish_meta kpi12 = {"daily_kpi", "2026-11-12", "run-3", "USD", 3};
    char exp[PATH_MAX];
    publish_batch *b;

    memcpy(exp, P("bexports"), sizeof exp);
    CHECK_INT(publish_partition(exp, &old, CSV1, strlen(CSV1), 2, &err), PUBLISH_WRITTEN);

    /* Staged: a replacement, a new partition, another report; an empty new
     * partition is not staged; the same partition twice is refused. */
    b = publish_batch_new(exp, &err);
    CHECK(b != NULL);
    if (!b)
        return;
    exchange_real_ok = 0;
    CHECK_INT(publish_stage(b, &kpi7, CSV2, strlen(CSV2), 3, &err), PUBLISH_WRITTEN);
    CHECK_INT(publish_stage(b, &kpi8, CSV1, strlen(CSV1), 2, &err), PUBLISH_WRITTEN);
    CHECK_INT(publish_stage(b, &rev7, CSV3, strlen(CSV3), 1, &err), PUBLISH_WRITTEN);
    CHECK_INT(publish_stage(b, &kpi9, HEADER, strlen(HEADER), 0, &err), PUBLISH_UNCHANGED);
    CHECK_INT(publish_stage(b, &kpi8, CSV3, strlen(CSV3), 1, &err), -1);
    CHECK(strstr(err.msg, "staged twice") != NULL);
    CHECK_INT((int)publish_batch_count(b), 3);
    check_partition(BPART("2026-11-07"), &old, CSV1, 2);
    CHECK(!exists(P(BPART("2026-11-08"))));
    CHECK(!exists(P("bexports/revenue/dt=2026-11-07")));
    CHECK_INT(count_entries(P("bexports/daily_kpi"), ".tmp-"), 2);
    CHECK_INT(count_entries(P("bexports/revenue"), ".tmp-"), 1);

    CHECK_INT(publish_batch_commit(b, &err), 0);
    CHECK_INT((int)publish_batch_count(b), 0);
    CHECK_INT(exchange_real_ok, 1);
    check_partition(BPART("2026-11-07"), &kpi7, CSV2, 3);
    check_partition(BPART("2026-11-08"), &kpi8, CSV1, 2);
    check_partition("bexports/revenue/dt=2026-11-07", &rev7, CSV3, 1);
    CHECK(!exists(P(BPART("2026-11-09"))));
    CHECK_INT(count_entries(P("bexports/daily_kpi"), NULL), 2);
    CHECK_INT(count_entries(P("bexports/revenue"), NULL), 1);

    /* Freed without a commit: nothing changes, nothing is left behind. */
    CHECK_INT(publish_stage(b, &kpi8, CSV3, strlen(CSV3), 1, &err), PUBLISH_WRITTEN);
    CHECK_INT(count_entries(P("bexports/daily_kpi"), ".tmp-"), 1);
    publish_batch_free(b);
    check_partition(BPART("2026-11-08"), &kpi8, CSV1, 2);
    CHECK_INT(count_entries(P("bexports/daily_kpi"), ".tmp-"), 0);

    /* A commit failing at its second partition: a directory that is not a
     * partition took its name (rename(2) onto a non-empty directory fails). */
    b = publish_batch_new(exp, &err);
    CHECK(b != NULL);
    if (!b)
        return;
    CHECK_INT(publish_stage(b, &kpi11, CSV1, strlen(CSV1), 2, &err), PUBLISH_WRITTEN);
    CHECK_INT(publish_stage(b, &kpi12, CSV1, strlen(CSV1), 2, &err), PUBLISH_WRITTEN);
    CHECK_INT(mkdir(P(BPART("2026-11-12")), 0755), 0);
    CHECK_INT(spit(P(BPART("2026-11-12") "/other"), "x"), 0);
    err.msg[0] = '\0';
    CHECK_INT(publish_batch_commit(b, &err), -1);
    CHECK(strstr(err.msg, "dt=2026-11-12") != NULL);
    CHECK_INT((int)publish_batch_count(b), 0);
    check_partition(BPART("2026-11-11"), &kpi11, CSV1, 2);
    CHECK_INT(count_entries(P(BPART("2026-11-12")), NULL), 1);
    CHECK_INT(count_entries(P("bexports/daily_kpi"), ".tmp-"), 0);
    publish_batch_free(b);
}

static void test_leftover_staging_of_same_pid(void)
{
    ms_error err = {{0}};
    publish_meta meta = {"revenue", "2026-11-02", "run-1", "EUR", 1};
    char rel[PATH_MAX];
    int r;
    snprintf(rel, sizeof rel, "exports/revenue/.dt=2026-11-02.tmp-%ld", (long)getpid());
    CHECK_INT(mkdir_p(P(rel), &err), 0);
    snprintf(rel, sizeof rel, "exports/revenue/.dt=2026-11-02.tmp-%ld/junk", (long)getpid());
    CHECK_INT(spit(P(rel), "junk"), 0);
    r = publish_partition(P("exports"), &meta, CSV3, strlen(CSV3), 1, &err);
    if (r < 0)
        printf("error: %s\n", err.msg);
    CHECK_INT(r, PUBLISH_WRITTEN);
    check_partition("exports/revenue/dt=2026-11-02", &meta, CSV3, 1);
    CHECK_INT(count_entries(P("exports/revenue"), NULL), 1);
}

static void test_cleanup_staging(void)
{
    ms_error err = {{0}};
    CHECK_INT(mkdir_p(P("exports/daily_kpi/.dt=2026-01-01.tmp-123"), &err), 0);
    CHECK_INT(spit(P("exports/daily_kpi/.dt=2026-01-01.tmp-123/daily_kpi.csv"), "a\n"), 0);
    CHECK_INT(spit(P("exports/daily_kpi/.dt=2026-01-01.tmp-123/manifest.json"), "{}"), 0);
    CHECK_INT(spit(P("exports/daily_kpi/.dt=2026-01-01.tmp-123/_SUCCESS"), ""), 0);
    CHECK_INT(spit(P("exports/daily_kpi/.dt=2026-01-01.tmp-123/.x.tmp-1-0"), ""), 0);
    CHECK_INT(mkdir_p(P("exports/revenue/.dt=2026-01-05.tmp-77"), &err), 0);
    CHECK_INT(mkdir_p(P("exports/daily_kpi/.dt=2026-01-02"), &err), 0); /* not staging */
    CHECK_INT(mkdir_p(P("exports/daily_kpi/dt=2026-01-03.tmp-5"), &err), 0); /* no dot */
    CHECK_INT(spit(P("exports/daily_kpi/.dt=2026-01-04.tmp-9"), ""), 0);      /* a file */
    CHECK_INT(spit(P("exports/README"), "x"), 0);
    CHECK_INT(publish_cleanup_staging(P("exports"), &err), 0);
    CHECK(!exists(P("exports/daily_kpi/.dt=2026-01-01.tmp-123")));
    CHECK(!exists(P("exports/revenue/.dt=2026-01-05.tmp-77")));
    CHECK(exists(P("exports/daily_kpi/.dt=2026-01-02")));
    CHECK(exists(P("exports/daily_kpi/dt=2026-01-03.tmp-5")));
    CHECK(exists(P("exports/daily_kpi/.dt=2026-01-04.tmp-9")));
    CHECK(exists(P(PART "/_SUCCESS")));
    CHECK(exists(P("exports/revenue/dt=2026-11-02/_SUCCESS")));
    CHECK_INT(publish_cleanup_staging(P("no-such-exports"), &err), 0);
}

static void test_invalid_input(void)
{
    ms_error err = {{0}};
    publish_meta meta = {"daily_kpi", "../../etc", "run", "USD", 1};
    char exp[PATH_MAX];
    memcpy(exp, P("bad"), sizeof exp);
    CHECK_INT(publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err), -1);
    CHECK(strstr(err.msg, "partition") != NULL);
    meta.partition = "2026-13-01";
    CHECK_INT(publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err), -1);
    meta.partition = "2026-11-07";
    meta.report = "a/b";
    CHECK_INT(publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err), -1);
    meta.report = "..";
    CHECK_INT(publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err), -1);
    meta.report = "daily_kpi";
    meta.run_id = NULL;
    CHECK_INT(publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err), -1);
    meta.run_id = "run";
    CHECK_INT(publish_partition(exp, NULL, CSV1, strlen(CSV1), 2, &err), -1);
    CHECK(!exists(exp));

    /* The partition path is a file: an error naming it. */
    CHECK_INT(mkdir_p(P("bad/daily_kpi"), &err), 0);
    CHECK_INT(spit(P("bad/daily_kpi/dt=2026-11-07"), "x"), 0);
    err.msg[0] = '\0';
    CHECK_INT(publish_partition(exp, &meta, CSV1, strlen(CSV1), 2, &err), -1);
    CHECK(strstr(err.msg, "dt=2026-11-07") != NULL);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/moonstat-test-publish-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        printf("FAIL: mkdtemp %s: %s\n", root, strerror(errno));
        return 1;
    }
    test_sha256();
    test_mkdir_p();
    test_write_file_atomic();
    test_publish_cycle();
    test_publish_batch();
    test_leftover_staging_of_same_pid();
    test_cleanup_staging();
    test_invalid_input();
    rm_rf(root);
    return check_done("test_publish");
}
