/*
 * publish.c - atomic publication of one export partition (exports.md
 * "Export layout"); see publish.h for the protocol.
 *
 * Every file written is on disk (its own fsync, or for a batch's staging
 * directories one syncfs) before it, or the staging directory that holds
 * it, is renamed into place, and every directory whose visible entries
 * change is fsynced afterwards, so that after a crash a reader finds either
 * the old partition or the new one.
 */
#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#define MANIFEST_NAME "manifest.json"
#define SUCCESS_NAME "_SUCCESS"
#define MANIFEST_MAX ((size_t)1 << 20) /* a bigger manifest.json is not ours */
#define REPORT_NAME_MAX 64
#define COMPARE_CHUNK 16384

/* Distinguishes the temporary files of concurrent write_file_atomic calls. */
static atomic_uint tmp_counter;

/* ---- small helpers ------------------------------------------------------ */

static int sys_fail(ms_error *err, const char *what, const char *path, int e)
{
    return ms_error_set(err, "%s %s: %s", what, path, strerror(e));
}

static int path_fmt(char *out, ms_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats a path into out (PATH_MAX bytes); -1 when it does not fit. */
static int path_fmt(char *out, ms_error *err, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        return ms_error_set(err, "path too long: %.200s...", out);
    return 0;
}

/* The directory part of path into out (PATH_MAX bytes): "." when there is
 * no slash, "/" for a file in the root. */
static int parent_dir(const char *path, char *out, ms_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return path_fmt(out, err, ".");
    if (slash == path)
        return path_fmt(out, err, "/");
    return path_fmt(out, err, "%.*s", (int)(slash - path), path);
}

/* fsync(2) of a directory, or with whole_fs syncfs(2) of the file system
 * that holds it (publish_batch_commit). */
static int sync_dir(const char *path, int whole_fs, ms_error *err)
{
    int rc = -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        sys_fail(err, "open directory", path, errno);
        goto out;
    }
    if ((whole_fs ? syncfs(fd) : fsync(fd)) != 0) {
        sys_fail(err, whole_fs ? "syncfs" : "fsync directory", path, errno);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = sys_fail(err, "close directory", path, errno);
    return rc;
}

static int fsync_dir(const char *path, ms_error *err)
{
    return sync_dir(path, 0, err);
}

/* write(2) until everything is written. 0, or -1 with errno set. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* read(2) retrying on EINTR. */
static ssize_t read_retry(int fd, void *p, size_t n)
{
    ssize_t r;
    do {
        r = read(fd, p, n);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* Removes a directory holding only non-directory entries: unlinks them,
 * then rmdir. A subdirectory makes rmdir fail (ENOTEMPTY). The caller
 * fsyncs the parent. */
static int remove_dir(const char *path, ms_error *err)
{
    int rc = -1;
    DIR *d = opendir(path);
    if (!d) {
        sys_fail(err, "open directory", path, errno);
        goto out;
    }
    for (;;) {
        struct dirent *de;
        struct stat st;
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno != 0) {
                sys_fail(err, "read directory", path, errno);
                goto out;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            ms_error_set(err, "stat %s/%s: %s", path, de->d_name, strerror(errno));
            goto out;
        }
        if (S_ISDIR(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
            ms_error_set(err, "unlink %s/%s: %s", path, de->d_name, strerror(errno));
            goto out;
        }
    }
    if (closedir(d) != 0) {
        d = NULL;
        sys_fail(err, "close directory", path, errno);
        goto out;
    }
    d = NULL;
    if (rmdir(path) != 0) {
        sys_fail(err, "rmdir", path, errno);
        goto out;
    }
    rc = 0;
out:
    if (d)
        closedir(d); /* error path: the first error is already in err */
    return rc;
}

/* Reads a whole regular file into b (whose limit caps it). *found is 0 when
 * the file does not exist, is not a regular file or exceeds the cap: the
 * caller then treats it as "not matching". -1 on other errors. */
static int read_small_file(const char *path, buf *b, int *found, ms_error *err)
{
    int rc = -1;
    struct stat st;
    char chunk[4096];
    /* O_NONBLOCK: never hang on a FIFO put in place of the file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    *found = 0;
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            rc = 0;
        else
            sys_fail(err, "open", path, errno);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        sys_fail(err, "stat", path, errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > b->limit) {
        rc = 0;
        goto out;
    }
    for (;;) {
        ssize_t r = read_retry(fd, chunk, sizeof chunk);
        if (r < 0) {
            sys_fail(err, "read", path, errno);
            goto out;
        }
        if (r == 0)
            break;
        if (buf_append(b, chunk, (size_t)r) != 0) {
            rc = 0; /* grew past the cap while we read it */
            goto out;
        }
    }
    *found = 1;
    rc = 0;
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        *found = 0;
        rc = sys_fail(err, "close", path, errno);
    }
    return rc;
}

/* *equal = 1 when the file at path holds exactly data[0..len). A missing or
 * non-regular file is "not equal"; -1 on I/O errors. */
static int file_equals(const char *path, const char *data, size_t len, int *equal,
                       ms_error *err)
{
    int rc = -1;
    struct stat st;
    char chunk[COMPARE_CHUNK];
    size_t off = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    *equal = 0;
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            rc = 0;
        else
            sys_fail(err, "open", path, errno);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        sys_fail(err, "stat", path, errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size != len) {
        rc = 0;
        goto out;
    }
    for (;;) {
        /* Reads one byte past len to notice a file that grew meanwhile. */
        ssize_t r = read_retry(fd, chunk, sizeof chunk);
        if (r < 0) {
            sys_fail(err, "read", path, errno);
            goto out;
        }
        if (r == 0)
            break;
        if ((size_t)r > len - off || memcmp(chunk, data + off, (size_t)r) != 0) {
            rc = 0;
            goto out;
        }
        off += (size_t)r;
    }
    *equal = off == len;
    rc = 0;
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        *equal = 0;
        rc = sys_fail(err, "close", path, errno);
    }
    return rc;
}

/* ---- public helpers ----------------------------------------------------- */

int sha256_hex(const void *data, size_t len, char out[65], ms_error *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const char *step = NULL;
    int rc = -1;
    EVP_MD_CTX *ctx = NULL;

    out[0] = '\0';
    if (!data && len > 0) {
        ms_error_set(err, "sha256: NULL data with length %zu", len);
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        step = "EVP_MD_CTX_new";
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        step = "EVP_DigestInit_ex";
        goto out;
    }
    if (len > 0 && EVP_DigestUpdate(ctx, data, len) != 1) {
        step = "EVP_DigestUpdate";
        goto out;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        step = "EVP_DigestFinal_ex";
        goto out;
    }
    if (mdlen != 32) {
        ms_error_set(err, "sha256: digest has %u bytes, want 32", mdlen);
        goto out;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[64] = '\0';
    rc = 0;
out:
    if (step) {
        char why[256] = "unknown error";
        unsigned long e = ERR_get_error();
        if (e)
            ERR_error_string_n(e, why, sizeof why);
        ERR_clear_error();
        ms_error_set(err, "sha256: %s failed: %s", step, why);
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Creates one directory (fsyncing its parent) or accepts an existing one. */
static int mkdir_one(const char *path, ms_error *err)
{
    int rc = -1;
    struct stat st;
    char parent[PATH_MAX];

    if (mkdir(path, 0755) == 0) {
        if (parent_dir(path, parent, err) != 0 || fsync_dir(parent, err) != 0)
            goto out;
    } else if (errno == EEXIST) {
        if (stat(path, &st) != 0) {
            sys_fail(err, "stat", path, errno);
            goto out;
        }
        if (!S_ISDIR(st.st_mode)) {
            sys_fail(err, "mkdir", path, ENOTDIR);
            goto out;
        }
    } else {
        sys_fail(err, "mkdir", path, errno);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int mkdir_p(const char *path, ms_error *err)
{
    char tmp[PATH_MAX];
    size_t n;
    int rc = -1;

    if (!path || !*path) {
        ms_error_set(err, "mkdir: empty path");
        goto out;
    }
    n = strlen(path);
    if (n >= sizeof tmp) {
        ms_error_set(err, "mkdir: path too long: %.200s...", path);
        goto out;
    }
    memcpy(tmp, path, n + 1);
    while (n > 1 && tmp[n - 1] == '/')
        tmp[--n] = '\0';
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            if (p[-1] != '/') { /* skip the empty components of "a//b" */
                *p = '\0';
                if (mkdir_one(tmp, err) != 0)
                    goto out;
                *p = saved;
            }
            if (saved == '\0')
                break;
        }
    }
    rc = 0;
out:
    return rc;
}

int write_file_atomic(const char *path, const void *data, size_t len, ms_error *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    const char *slash, *base;
    int fd = -1, created = 0, rc = -1;

    if (!path || !*path) {
        ms_error_set(err, "write file: empty path");
        goto out;
    }
    if (!data && len > 0) {
        ms_error_set(err, "write %s: NULL data with length %zu", path, len);
        goto out;
    }
    slash = strrchr(path, '/');
    base = slash ? slash + 1 : path;
    if (!*base) {
        ms_error_set(err, "write %s: no file name", path);
        goto out;
    }
    if (parent_dir(path, dir, err) != 0)
        goto out;
    if (path_fmt(tmp, err, "%.*s.%s.tmp-%ld-%u", (int)(base - path), path, base,
                 (long)getpid(), atomic_fetch_add(&tmp_counter, 1u)) != 0)
        goto out;

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        sys_fail(err, "create", tmp, errno);
        goto out;
    }
    created = 1;
    if (write_all(fd, data, len) != 0) {
        sys_fail(err, "write", tmp, errno);
        goto out;
    }
    if (fsync(fd) != 0) {
        sys_fail(err, "fsync", tmp, errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        sys_fail(err, "close", tmp, errno);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        ms_error_set(err, "rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    created = 0;
    if (fsync_dir(dir, err) != 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd); /* error path: err already says what failed */
    if (created)
        unlink(tmp); /* error path: do not leave the temporary behind */
    return rc;
}

/* ---- publication -------------------------------------------------------- */

/* Report names become directory and file names: [A-Za-z0-9_-], not
 * starting with '-', at most REPORT_NAME_MAX bytes. */
static int valid_report_name(const char *s)
{
    size_t n = 0;
    if (!s || !*s || s[0] == '-')
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return n <= REPORT_NAME_MAX;
}

/* "YYYY-MM-DD" with month 01-12 and day 01-31. */
static int valid_partition(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static int validate(const char *export_dir, const publish_meta *meta, const char *csv,
                    size_t len, uint64_t rows, ms_error *err)
{
    if (!export_dir || !*export_dir)
        return ms_error_set(err, "publish: empty export directory");
    if (!meta)
        return ms_error_set(err, "publish: no metadata");
    if (!valid_report_name(meta->report))
        return ms_error_set(err, "publish: invalid report name \"%.100s\"",
                            meta->report ? meta->report : "(null)");
    if (!valid_partition(meta->partition))
        return ms_error_set(err, "publish %s: invalid partition \"%.100s\" (want YYYY-MM-DD)",
                            meta->report, meta->partition ? meta->partition : "(null)");
    if (!meta->run_id || !meta->reporting_currency)
        return ms_error_set(err, "publish %s dt=%s: run_id and reporting_currency are required",
                            meta->report, meta->partition);
    if (!csv && len > 0)
        return ms_error_set(err, "publish %s dt=%s: NULL data with length %zu", meta->report,
                            meta->partition, len);
    if ((uint64_t)len > (uint64_t)LLONG_MAX || rows > (uint64_t)LLONG_MAX)
        return ms_error_set(err, "publish %s dt=%s: size out of range", meta->report,
                            meta->partition);
    return 0;
}

static int json_str_is(const json_t *obj, const char *key, const char *want)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int json_int_is(const json_t *obj, const char *key, uint64_t want)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 &&
           (uint64_t)json_integer_value(v) == want;
}

/* True when the existing manifest describes exactly what we would write
 * (all fields but run_id and written_at). */
static int manifest_matches(const json_t *m, const publish_meta *meta, const char *file,
                            const char *sha, size_t len, uint64_t rows)
{
    return json_is_object(m) && json_str_is(m, "report", meta->report) &&
           json_str_is(m, "partition", meta->partition) && json_str_is(m, "file", file) &&
           json_str_is(m, "sha256", sha) && json_int_is(m, "bytes", len) &&
           json_int_is(m, "rows", rows) &&
           json_str_is(m, "reporting_currency", meta->reporting_currency) &&
           meta->schema_version >= 0 &&
           json_int_is(m, "schema_version", (uint64_t)meta->schema_version);
}

/* *same = 1 when the partition already holds these bytes: the manifest
 * agrees (sha256, bytes and the other fields), _SUCCESS is there, and the
 * CSV on disk is byte for byte the new one. */
static int partition_unchanged(const char *part_dir, const publish_meta *meta,
                               const char *file, const char *sha, const char *csv,
                               size_t len, uint64_t rows, int *same, ms_error *err)
{
    char path[PATH_MAX];
    buf text;
    json_t *manifest = NULL;
    struct stat st;
    int found, rc = -1;

    buf_init(&text, MANIFEST_MAX);
    *same = 0;
    if (path_fmt(path, err, "%s/" MANIFEST_NAME, part_dir) != 0)
        goto out;
    if (read_small_file(path, &text, &found, err) != 0)
        goto out;
    if (!found || text.len == 0) {
        rc = 0;
        goto out;
    }
    /* A manifest that does not parse is simply rewritten. */
    manifest = json_loadb(text.data, text.len, 0, NULL);
    if (!manifest_matches(manifest, meta, file, sha, len, rows)) {
        rc = 0;
        goto out;
    }
    if (path_fmt(path, err, "%s/" SUCCESS_NAME, part_dir) != 0)
        goto out;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            rc = 0;
        else
            sys_fail(err, "stat", path, errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = 0;
        goto out;
    }
    if (path_fmt(path, err, "%s/%s", part_dir, file) != 0)
        goto out;
    if (file_equals(path, csv, len, same, err) != 0)
        goto out;
    rc = 0;
out:
    json_decref(manifest);
    buf_free(&text);
    return rc;
}

static int json_set(json_t *obj, const char *key, json_t *value)
{
    /* json_object_set_new takes value (also when it fails); NULL fails. */
    return value ? json_object_set_new(obj, key, value) : -1;
}

/* The manifest text: a JSON object, keys in a fixed order, 2-space indent,
 * trailing newline. */
static int build_manifest(const publish_meta *meta, const char *file, const char *sha,
                          size_t len, uint64_t rows, buf *out, ms_error *err)
{
    json_t *root = NULL;
    char *text = NULL;
    char stamp[32];
    struct timespec now;
    struct tm tm;
    int rc = -1;

    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        ms_error_set(err, "clock_gettime: %s", strerror(errno));
        goto out;
    }
    if (!gmtime_r(&now.tv_sec, &tm) ||
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        ms_error_set(err, "cannot format the current time");
        goto out;
    }
    root = json_object();
    if (!root || json_set(root, "report", json_string(meta->report)) != 0 ||
        json_set(root, "partition", json_string(meta->partition)) != 0 ||
        json_set(root, "file", json_string(file)) != 0 ||
        json_set(root, "rows", json_integer((json_int_t)rows)) != 0 ||
        json_set(root, "bytes", json_integer((json_int_t)len)) != 0 ||
        json_set(root, "sha256", json_string(sha)) != 0 ||
        json_set(root, "run_id", json_string(meta->run_id)) != 0 ||
        json_set(root, "written_at", json_string(stamp)) != 0 ||
        json_set(root, "reporting_currency", json_string(meta->reporting_currency)) != 0 ||
        json_set(root, "schema_version", json_integer(meta->schema_version)) != 0) {
        /* json_string fails on invalid UTF-8 as well as on allocation. */
        ms_error_set(err, "manifest: cannot build the JSON (out of memory or "
                          "run_id/reporting_currency not valid UTF-8)");
        goto out;
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        ms_error_set(err, "manifest: json_dumps failed");
        goto out;
    }
    if (buf_puts(out, text) != 0 || buf_putc(out, '\n') != 0) {
        ms_error_set(err, "manifest: out of memory");
        goto out;
    }
    rc = 0;
out:
    free(text);
    json_decref(root);
    return rc;
}

/* Creates path (which must not exist) and writes data. Only for a staging
 * directory: nobody reads there, so a file needs no temporary name of its
 * own, and no fsync of its own: the batch makes the whole staging area
 * durable at once before any directory is renamed into place
 * (publish_batch_commit). On failure the file is removed. Returns 0 or -1. */
static int write_staged_file(const char *path, const void *data, size_t len, ms_error *err)
{
    int fd, rc = -1;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        sys_fail(err, "create", path, errno);
        goto out;
    }
    if (write_all(fd, data, len) != 0) {
        sys_fail(err, "write", path, errno);
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0)
        sys_fail(err, "close", path, errno);
out:
    if (fd >= 0)
        close(fd); /* error path: err already says what failed */
    if (rc != 0)
        unlink(path); /* error path: best effort, the directory goes too */
    return rc;
}

/* Builds the complete new partition in stage_dir (replacing a leftover of
 * the same name): CSV, manifest, _SUCCESS, not yet durable. */
static int stage_partition(const char *stage_dir, const char *file, const char *csv,
                           size_t len, const buf *manifest, ms_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    int rc = -1;

    if (lstat(stage_dir, &st) == 0) {
        if (remove_dir(stage_dir, err) != 0)
            goto out;
    } else if (errno != ENOENT) {
        sys_fail(err, "stat", stage_dir, errno);
        goto out;
    }
    if (mkdir(stage_dir, 0755) != 0) {
        sys_fail(err, "mkdir", stage_dir, errno);
        goto out;
    }
    if (path_fmt(path, err, "%s/%s", stage_dir, file) != 0 ||
        write_staged_file(path, csv, len, err) != 0)
        goto out;
    if (path_fmt(path, err, "%s/" MANIFEST_NAME, stage_dir) != 0 ||
        write_staged_file(path, manifest->data, manifest->len, err) != 0)
        goto out;
    if (path_fmt(path, err, "%s/" SUCCESS_NAME, stage_dir) != 0 ||
        write_staged_file(path, "", 0, err) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

static int move_file(const char *from_dir, const char *to_dir, const char *name,
                     ms_error *err)
{
    char from[PATH_MAX], to[PATH_MAX];
    int rc = -1;
    if (path_fmt(from, err, "%s/%s", from_dir, name) != 0 ||
        path_fmt(to, err, "%s/%s", to_dir, name) != 0)
        goto out;
    if (rename(from, to) != 0) {
        ms_error_set(err, "rename %s to %s: %s", from, to, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/* The fallback when the file system cannot exchange directories: the
 * spec's per-file order. _SUCCESS goes first, so a loader never pairs the
 * new CSV with the old manifest under a _SUCCESS. */
static int replace_files(const char *stage_dir, const char *part_dir, const char *file,
                         ms_error *err)
{
    char path[PATH_MAX];
    int rc = -1;
    if (path_fmt(path, err, "%s/" SUCCESS_NAME, part_dir) != 0)
        goto out;
    if (unlink(path) != 0 && errno != ENOENT) {
        sys_fail(err, "unlink", path, errno);
        goto out;
    }
    if (fsync_dir(part_dir, err) != 0)
        goto out;
    if (move_file(stage_dir, part_dir, file, err) != 0 ||
        move_file(stage_dir, part_dir, MANIFEST_NAME, err) != 0)
        goto out;
    if (fsync_dir(part_dir, err) != 0)
        goto out;
    if (move_file(stage_dir, part_dir, SUCCESS_NAME, err) != 0)
        goto out;
    if (fsync_dir(part_dir, err) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

/* One staged partition of a batch (all strings owned). */
typedef struct staged_partition {
    char *report_dir, *part_dir, *stage_dir;
    char file[REPORT_NAME_MAX + 8];
    int exists; /* a partition was there when it was staged */
} staged_partition;

struct publish_batch {
    char *export_dir;
    staged_partition *part;
    size_t n, cap;
};

static void staged_free(staged_partition *p)
{
    free(p->report_dir);
    free(p->part_dir);
    free(p->stage_dir);
    memset(p, 0, sizeof *p);
}

publish_batch *publish_batch_new(const char *export_dir, ms_error *err)
{
    publish_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->export_dir = strdup(export_dir))) {
        free(b);
        ms_error_set(err, "publish: out of memory");
        return NULL;
    }
    return b;
}

size_t publish_batch_count(const publish_batch *b)
{
    return b->n;
}

/* Drops the staged partitions from i on: their staging directories are
 * removed, best effort (publish_cleanup_staging gets what is left). */
static void drop_staged(publish_batch *b, size_t i)
{
    for (; i < b->n; i++) {
        ms_error scratch;
        (void)remove_dir(b->part[i].stage_dir, &scratch);
        staged_free(&b->part[i]);
    }
}

void publish_batch_free(publish_batch *b)
{
    if (!b)
        return;
    drop_staged(b, 0);
    free(b->part);
    free(b->export_dir);
    free(b);
}

int publish_stage(publish_batch *b, const publish_meta *meta, const char *csv, size_t len,
                  uint64_t rows, ms_error *err)
{
    char report_dir[PATH_MAX], part_dir[PATH_MAX], stage_dir[PATH_MAX];
    char sha[65];
    buf manifest;
    struct stat st;
    staged_partition *p = NULL;
    size_t i;
    int exists, same, staged = 0, rc = -1;

    buf_init(&manifest, MANIFEST_MAX);
    if (validate(b->export_dir, meta, csv, len, rows, err) != 0)
        goto out;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        staged_partition *np = realloc(b->part, ncap * sizeof *np);
        if (!np) {
            ms_error_set(err, "publish: out of memory");
            goto out;
        }
        b->part = np;
        b->cap = ncap;
    }
    p = &b->part[b->n];
    memset(p, 0, sizeof *p);
    if (snprintf(p->file, sizeof p->file, "%s.csv", meta->report) >= (int)sizeof p->file) {
        ms_error_set(err, "publish: report name too long"); /* not reached: validated */
        goto out;
    }
    if (path_fmt(report_dir, err, "%s/%s", b->export_dir, meta->report) != 0 ||
        path_fmt(part_dir, err, "%s/dt=%s", report_dir, meta->partition) != 0 ||
        path_fmt(stage_dir, err, "%s/.dt=%s.tmp-%ld", report_dir, meta->partition,
                 (long)getpid()) != 0)
        goto out;
    for (i = 0; i < b->n; i++) {
        if (strcmp(b->part[i].part_dir, part_dir) == 0) {
            ms_error_set(err, "publish: %s staged twice in one batch", part_dir);
            goto out;
        }
    }

    if (lstat(part_dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            sys_fail(err, "partition", part_dir, ENOTDIR);
            goto out;
        }
        exists = 1;
    } else if (errno == ENOENT) {
        exists = 0;
    } else {
        sys_fail(err, "stat", part_dir, errno);
        goto out;
    }
    if (!exists && rows == 0) { /* a partition is never created empty */
        rc = PUBLISH_UNCHANGED;
        goto out;
    }

    if (sha256_hex(csv, len, sha, err) != 0)
        goto out;
    if (exists) {
        if (partition_unchanged(part_dir, meta, p->file, sha, csv, len, rows, &same, err) != 0)
            goto out;
        if (same) {
            rc = PUBLISH_UNCHANGED;
            goto out;
        }
    }

    if (build_manifest(meta, p->file, sha, len, rows, &manifest, err) != 0)
        goto out;
    /* mkdir -p only the first time: it is one mkdir and one stat per path
     * component, for every partition (1,200 calls for a first load). */
    if ((stat(report_dir, &st) != 0 || !S_ISDIR(st.st_mode)) && mkdir_p(report_dir, err) != 0)
        goto out;
    staged = 1;
    if (stage_partition(stage_dir, p->file, csv, len, &manifest, err) != 0)
        goto out;
    if (!(p->report_dir = strdup(report_dir)) || !(p->part_dir = strdup(part_dir)) ||
        !(p->stage_dir = strdup(stage_dir))) {
        ms_error_set(err, "publish: out of memory");
        goto out;
    }
    p->exists = exists;
    b->n++;
    staged = 0;
    rc = PUBLISH_WRITTEN;
out:
    if (staged) {
        /* Error path, best effort: publish_cleanup_staging gets what is left. */
        ms_error scratch;
        (void)remove_dir(stage_dir, &scratch);
    }
    if (p && rc != PUBLISH_WRITTEN)
        staged_free(p);
    buf_free(&manifest);
    return rc;
}

/* Whether report_dir is the report directory of an entry before i. */
static int seen_report_dir(const publish_batch *b, size_t i)
{
    size_t k;
    for (k = 0; k < i; k++)
        if (strcmp(b->part[k].report_dir, b->part[i].report_dir) == 0)
            return 1;
    return 0;
}

/* Puts one staged partition in place (the staging directory is durable). */
static int put_in_place(const staged_partition *p, ms_error *err)
{
    if (!p->exists) {
        if (rename(p->stage_dir, p->part_dir) != 0)
            return ms_error_set(err, "rename %s to %s: %s", p->stage_dir, p->part_dir,
                                strerror(errno));
        return 0;
    }
    if (renameat2(AT_FDCWD, p->stage_dir, AT_FDCWD, p->part_dir, RENAME_EXCHANGE) == 0) {
        /* The old copy is now at the staging name. Its removal needs no
         * fsync: after a crash it may come back under that name, which no
         * loader reads and which publish_cleanup_staging removes. */
        if (remove_dir(p->stage_dir, err) != 0) {
            ms_error_prefix(err, "published %s, but removing the old copy failed", p->part_dir);
            return -1;
        }
        return 0;
    }
    if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        if (replace_files(p->stage_dir, p->part_dir, p->file, err) != 0)
            return -1;
        return remove_dir(p->stage_dir, err);
    }
    return ms_error_set(err, "exchange %s with %s: %s", p->stage_dir, p->part_dir,
                        strerror(errno));
}

int publish_batch_commit(publish_batch *b, ms_error *err)
{
    size_t i, done = 0;
    int rc = -1;

    /* 1. Everything staged reaches the disk: one syncfs per report
     *    directory (they may be mount points of their own), not an fsync
     *    per file and directory. */
    for (i = 0; i < b->n; i++)
        if (!seen_report_dir(b, i) && sync_dir(b->part[i].report_dir, 1, err) != 0)
            goto out;
    /* 2. Each staging directory replaces its partition. */
    for (done = 0; done < b->n; done++)
        if (put_in_place(&b->part[done], err) != 0)
            goto out;
    /* 3. The renames reach the disk. */
    for (i = 0; i < b->n; i++)
        if (!seen_report_dir(b, i) && fsync_dir(b->part[i].report_dir, err) != 0)
            goto out;
    rc = 0;
out:
    /* What was put in place is no longer staged; the rest is dropped. */
    for (i = 0; i < done; i++)
        staged_free(&b->part[i]);
    drop_staged(b, done);
    b->n = 0;
    return rc;
}

int publish_partition(const char *export_dir, const publish_meta *meta, const char *csv,
                      size_t len, uint64_t rows, ms_error *err)
{
    publish_batch *b = publish_batch_new(export_dir, err);
    int rc = -1;
    if (!b)
        return -1;
    rc = publish_stage(b, meta, csv, len, rows, err);
    if (rc == PUBLISH_WRITTEN && publish_batch_commit(b, err) != 0)
        rc = -1;
    publish_batch_free(b);
    return rc;
}

/* Removes the ".dt=*.tmp-*" directories directly inside one report
 * directory, then fsyncs it. */
static int cleanup_report_dir(const char *report_dir, ms_error *err)
{
    char path[PATH_MAX];
    int removed = 0, rc = -1;
    DIR *d = opendir(report_dir);
    if (!d) {
        sys_fail(err, "open directory", report_dir, errno);
        goto out;
    }
    for (;;) {
        struct dirent *de;
        struct stat st;
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno != 0) {
                sys_fail(err, "read directory", report_dir, errno);
                goto out;
            }
            break;
        }
        if (strncmp(de->d_name, ".dt=", 4) != 0 || !strstr(de->d_name, ".tmp-"))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            ms_error_set(err, "stat %s/%s: %s", report_dir, de->d_name, strerror(errno));
            goto out;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        if (path_fmt(path, err, "%s/%s", report_dir, de->d_name) != 0 ||
            remove_dir(path, err) != 0)
            goto out;
        removed++;
    }
    if (closedir(d) != 0) {
        d = NULL;
        sys_fail(err, "close directory", report_dir, errno);
        goto out;
    }
    d = NULL;
    if (removed && fsync_dir(report_dir, err) != 0)
        goto out;
    rc = 0;
out:
    if (d)
        closedir(d); /* error path */
    return rc;
}

int publish_cleanup_staging(const char *export_dir, ms_error *err)
{
    char path[PATH_MAX];
    int rc = -1;
    DIR *d = NULL;

    if (!export_dir || !*export_dir) {
        ms_error_set(err, "cleanup: empty export directory");
        goto out;
    }
    d = opendir(export_dir);
    if (!d) {
        if (errno == ENOENT)
            rc = 0; /* nothing published yet */
        else
            sys_fail(err, "open directory", export_dir, errno);
        goto out;
    }
    for (;;) {
        struct dirent *de;
        struct stat st;
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno != 0) {
                sys_fail(err, "read directory", export_dir, errno);
                goto out;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            ms_error_set(err, "stat %s/%s: %s", export_dir, de->d_name, strerror(errno));
            goto out;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        if (path_fmt(path, err, "%s/%s", export_dir, de->d_name) != 0 ||
            cleanup_report_dir(path, err) != 0)
            goto out;
    }
    if (closedir(d) != 0) {
        d = NULL;
        sys_fail(err, "close directory", export_dir, errno);
        goto out;
    }
    d = NULL;
    rc = 0;
out:
    if (d)
        closedir(d); /* error path */
    return rc;
}
