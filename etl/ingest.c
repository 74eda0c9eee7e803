/*
 * ingest.c - input files to a fact batch (see ingest.h).
 *
 * Threads: only the reading of a file (read_one and what it calls) runs on
 * the reader threads, each with its own event parser and file_state. What it
 * shares is read-only while they run: the configuration, the plan, the
 * games' tz tables (computed when loaded) and zlib's and jansson's constant
 * tables (jansson's hash seed is set before the threads start). It writes
 * only its own file_state and its own quarantine temp file (named after the
 * source file, so unique); the directories of quarantine files are made with
 * mkdir_p, which accepts a directory another thread just made. The
 * warehouse, the run's result and the log are touched by the calling thread
 * only. (line_reader and publish's mkdir_p still use strerror, which glibc
 * makes thread-safe since 2.32; Debian 12 has 2.36.)
 */
#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "line_reader.h"
#include "publish.h"
#include "run_ids.h"

#define QUARANTINE_KEEP 65536u   /* bytes of a rejected line kept verbatim */
#define MAX_READERS 64           /* the bound of the `threads` setting */
#define WINDOW_PER_READER 8      /* files read ahead of the fold, per reader */
/* The readers' nice value above the fold's. The fold, on the calling
 * thread, is the read's critical path: with 2 cores and 2 readers it had
 * to share a core with a reader, and the readers then waited for room
 * (3.9 s of waiting, both together, in a 3.5 s read of the 5M event
 * bench, while the fold waited 0.2 s for files). At +5 the fold
 * gets the larger share; with 8 files per reader ahead (2 before) the
 * readers seldom wait for the fold, nor it for them: the read stage took
 * 3.0 s instead of 4.0 (medians of 4, alternating, a busy machine). */
#define READER_NICE 5
/* A file whose ctime is this close to the run's start gets no stat id (the
 * "racy git" problem: timestamps tick by milliseconds to seconds); the
 * environment variable MOONSTAT_TEST_STAT_RACY_SECONDS overrides it for
 * tests, whose files are always new. */
#define STAT_RACY_SECONDS 2

/* strerror_r (GNU form) rather than strerror in what runs on the reader
 * threads: POSIX does not promise that strerror is thread-safe. */
static const char *errno_text(int e, char *tmp, size_t n)
{
    return strerror_r(e, tmp, n);
}

/* ---- scanning the input tree ------------------------------------------ */

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static void path_list_free(path_list *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

static int path_list_add(path_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        char **p = realloc(l->items, ncap * sizeof *p);
        if (!p)
            return -1;
        l->items = p;
        l->cap = ncap;
    }
    if (!(l->items[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* Walks root/rel recursively; collects relative paths of input files.
 * Symbolic links to directories are not followed (no loops). */
static int scan_dir(const char *root, const char *rel, path_list *out, ms_error *err)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    int rc = 0;

    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    d = opendir(path);
    if (!d)
        return ms_error_set(err, "cannot read input directory %s: %s", path, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char child_rel[4096], child[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue; /* ".", "..", hidden files and directories */
        if ((size_t)snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "",
                             e->d_name) >= sizeof child_rel)
            continue;
        if ((size_t)snprintf(child, sizeof child, "%s/%s", root, child_rel) >= sizeof child)
            continue;
        if (lstat(child, &st) != 0) {
            if (errno == ENOENT)
                continue; /* removed since readdir listed it: not part of this run's tree */
            rc = ms_error_set(err, "cannot stat %s: %s", child, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if ((rc = scan_dir(root, child_rel, out, err)) != 0)
                break;
        } else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
                   (ends_with(e->d_name, ".jsonl") || ends_with(e->d_name, ".jsonl.gz"))) {
            if (path_list_add(out, child_rel) != 0) {
                rc = ms_error_set(err, "out of memory");
                break;
            }
        }
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes quarantine temp files ("*.rejected.tsv.tmp-<pid>") that a killed
 * run left behind. Called under the run lock, so none is in use. */
static int cleanup_quarantine(const char *dir, ms_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;
    if (!d)
        return errno == ENOENT ? 0 : ms_error_set(err, "cannot read %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if ((rc = cleanup_quarantine(path, err)) != 0)
                break;
        } else if (strstr(e->d_name, ".rejected.tsv.tmp-") && unlink(path) != 0) {
            rc = ms_error_set(err, "cannot remove %s: %s", path, strerror(errno));
            break;
        }
    }
    closedir(d);
    return rc;
}

/* ---- what the warehouse already holds ---------------------------------- */

typedef struct known_file {
    int found;
    uint64_t size;
    uint64_t checksum;
    int legacy;              /* checksum is of before XXH3 (INGEST_CHECKSUM_PREFIX) */
    char stat[STAT_ID_MAX];  /* "" when not recorded (ingested before schema 4) */
} known_file;

/* Row: size, checksum, stat */
static int read_known(void *ctx, int ncols, const char *const *vals)
{
    known_file *k = ctx;
    const char *sum;
    size_t prefix = strlen(INGEST_CHECKSUM_PREFIX);
    if (ncols < 3 || !vals[0] || !vals[1])
        return 0;
    k->found = 1;
    k->size = strtoull(vals[0], NULL, 10);
    sum = vals[1];
    k->legacy = strncmp(sum, INGEST_CHECKSUM_PREFIX, prefix) != 0;
    k->checksum = strtoull(k->legacy ? sum : sum + prefix, NULL, 16);
    snprintf(k->stat, sizeof k->stat, "%s", vals[2] ? vals[2] : "");
    return 1;
}

static void stat_id(const struct stat *st, char out[STAT_ID_MAX])
{
    snprintf(out, STAT_ID_MAX, "%ju:%ju:%lld.%09ld:%lld.%09ld", (uintmax_t)st->st_dev,
             (uintmax_t)st->st_ino, (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec,
             (long long)st->st_ctim.tv_sec, (long)st->st_ctim.tv_nsec);
}

/* ---- one file ------------------------------------------------------------ */

_Static_assert(CONFIG_MAX_GAMES * 2 <= 0x10000, "game << 1 | sandbox must fit an fp_set payload");

typedef struct file_state {
    fact_batch facts;
    dq_counts *dq;           /* n_games + 1 */
    fp_set ids;              /* event ids of this file: payload = game << 1 | sandbox */
    rejected_line *rejects;
    size_t n_rejects, cap_rejects;
    FILE *quarantine;        /* temp file, opened on the first rejection */
    char quarantine_tmp[4200];
    char quarantine_path[4200];
    uint64_t lines;
} file_state;

static void file_state_free(file_state *f)
{
    fact_batch_free(&f->facts);
    free(f->dq);
    fp_set_free(&f->ids);
    free(f->rejects);
    if (f->quarantine) {
        fclose(f->quarantine);
        unlink(f->quarantine_tmp);
    }
}

static void event_fingerprint(const strref *id, uint64_t *lo, uint64_t *hi)
{
    *lo = hash_bytes(id->p, id->n, 0x51ed2701u);
    *hi = hash_bytes(id->p, id->n, 0x2545f4914f6cdd1dull);
}

static int quarantine_line(file_state *f, const config *cfg, const char *relpath,
                           const line *ln, reject_reason why, int game, ms_error *err)
{
    size_t keep = ln->len < QUARANTINE_KEEP ? ln->len : QUARANTINE_KEEP;
    char etmp[128];
    if (f->n_rejects == f->cap_rejects) {
        size_t ncap = f->cap_rejects ? f->cap_rejects * 2 : 16;
        rejected_line *p = realloc(f->rejects, ncap * sizeof *p);
        if (!p)
            return ms_error_set(err, "out of memory");
        f->rejects = p;
        f->cap_rejects = ncap;
    }
    f->rejects[f->n_rejects].line = ln->number;
    f->rejects[f->n_rejects].reason = (uint8_t)why;
    f->rejects[f->n_rejects].game = game;
    f->n_rejects++;
    if (!f->quarantine) {
        char dir[4200];
        char *slash;
        if ((size_t)snprintf(f->quarantine_path, sizeof f->quarantine_path, "%s/%s.rejected.tsv",
                             cfg->quarantine_dir, relpath) >= sizeof f->quarantine_path ||
            (size_t)snprintf(f->quarantine_tmp, sizeof f->quarantine_tmp, "%s.tmp-%ld",
                             f->quarantine_path, (long)getpid()) >= sizeof f->quarantine_tmp)
            return ms_error_set(err, "quarantine path too long for %s", relpath);
        snprintf(dir, sizeof dir, "%s", f->quarantine_path);
        slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        if (mkdir_p(dir, err) != 0)
            return -1;
        f->quarantine = fopen(f->quarantine_tmp, "wb");
        if (!f->quarantine)
            return ms_error_set(err, "cannot write quarantine file %s: %s", f->quarantine_tmp,
                                errno_text(errno, etmp, sizeof etmp));
    }
    if (fprintf(f->quarantine, "%s\t%" PRIu64 "\t%s\t", relpath, ln->number,
                reject_reason_name(why)) < 0 ||
        fwrite(ln->data, 1, keep, f->quarantine) != keep || fputc('\n', f->quarantine) == EOF)
        return ms_error_set(err, "cannot write quarantine file %s: %s", f->quarantine_tmp,
                            errno_text(errno, etmp, sizeof etmp));
    return 0;
}

/* Publishes the quarantine file of a file that was read to the end. */
static int quarantine_commit(file_state *f, ms_error *err)
{
    int fd;
    if (!f->quarantine)
        return 0;
    if (fflush(f->quarantine) != 0 || fsync(fileno(f->quarantine)) != 0) {
        ms_error_set(err, "cannot write quarantine file %s: %s", f->quarantine_tmp, strerror(errno));
        return -1;
    }
    fclose(f->quarantine);
    f->quarantine = NULL;
    if (rename(f->quarantine_tmp, f->quarantine_path) != 0)
        return ms_error_set(err, "cannot rename %s: %s", f->quarantine_tmp, strerror(errno));
    {
        char dir[4200];
        char *slash;
        snprintf(dir, sizeof dir, "%s", f->quarantine_path);
        slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    return 0;
}

/* 1 when path no longer names a file (removed or moved away since the scan
 * listed it, or a dangling symbolic link): such a file is skipped, not an
 * error; an archiving job may move shipped logs away while a run reads. */
static int is_vanished(const char *path)
{
    struct stat st;
    return stat(path, &st) != 0 && errno == ENOENT;
}

/* Appends a copy of rel to res->vanished. Returns 0, or -1 with err set
 * (out of memory). */
static int note_vanished(ingest_result *res, const char *rel, ms_error *err)
{
    char **p = realloc(res->vanished, (res->n_vanished + 1) * sizeof *p);
    if (!p)
        return ms_error_set(err, "out of memory");
    res->vanished = p;
    if (!(p[res->n_vanished] = strdup(rel)))
        return ms_error_set(err, "out of memory");
    res->n_vanished++;
    return 0;
}

/* Reads one file into f. Returns 1 when read to the end, 0 when the file is
 * corrupt (msg in err), -1 on a fatal error. cancel: NULL, or a flag another
 * thread sets when the run has failed; the read then stops early (-1). */
static int read_file(const config *cfg, event_parser *parser, atomic_int *cancel,
                     const char *path, const char *relpath, file_state *f, uint64_t *size,
                     uint64_t *checksum, ms_error *err)
{
    const line_source *src = line_source_for_path(path);
    line_reader *r = line_reader_open(src, path, err);
    line ln;
    int rc;
    size_t n_games = f->facts.n_games;

    if (!r)
        return -1;
    while ((rc = line_reader_next(r, &ln, err)) == 1) {
        sdk_event ev;
        reject_reason why;
        int game = -1;
        parse_outcome out;
        dq_counts *c;

        f->lines = ln.number;
        if (cancel && atomic_load_explicit(cancel, memory_order_relaxed)) {
            ms_error_set(err, "cancelled: another file failed");
            goto fatal;
        }
        if (ln.len == 0)
            continue; /* empty lines are skipped silently */
        out = event_parser_parse(parser, ln.data, ln.len, ln.too_long, &ev, &why, &game);
        c = &f->dq[game >= 0 ? (size_t)game : n_games];
        c->lines_read++;
        if (out == PARSE_REJECTED) {
            c->rejected[why]++;
            if (quarantine_line(f, cfg, relpath, &ln, why, game, err) != 0)
                goto fatal;
        } else if (out == PARSE_UNKNOWN_EVENT) {
            c->unknown_event++;
        } else {
            uint64_t lo, hi;
            uint32_t payload = ((uint32_t)ev.game << 1) |
                               (uint32_t)(ev.kind == EV_PAYMENT && ev.sandbox);
            int added;
            event_fingerprint(&ev.event_id, &lo, &hi);
            added = fp_set_add(&f->ids, lo, hi, payload, NULL);
            if (added < 0) {
                ms_error_set(err, "out of memory");
                goto fatal;
            }
            if (!added) {
                c->duplicates++; /* the first line with this id wins */
                continue;
            }
            if (fact_batch_add(&f->facts, &ev) != 0) {
                ms_error_set(err, "out of memory");
                goto fatal;
            }
        }
    }
    if (rc < 0) {
        line_reader_close(r);
        return 0;
    }
    line_reader_identity(r, size, checksum);
    line_reader_close(r);
    return 1;
fatal:
    line_reader_close(r);
    return -1;
}

/* Appends a file to *files (n, cap). Returns 0 or -1 (out of memory). */
static int add_file(ingested_file **files, size_t *n, size_t *cap, const char *relpath,
                    uint64_t size, uint64_t checksum, uint64_t lines, const char *stat)
{
    ingested_file *f;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        ingested_file *p = realloc(*files, ncap * sizeof *p);
        if (!p)
            return -1;
        *files = p;
        *cap = ncap;
    }
    f = &(*files)[*n];
    if (!(f->relpath = strdup(relpath)))
        return -1;
    f->size = size;
    f->checksum = checksum;
    f->lines = lines;
    snprintf(f->stat, sizeof f->stat, "%s", stat);
    (*n)++;
    return 0;
}

/* Folds a file that was read to the end into the run. Its event ids join
 * the run's, counted once every file is folded (run_ids.h). */
static int absorb_file(ingest_result *res, run_ids *ids, file_state *f, uint32_t file_index)
{
    size_t i, g;
    for (g = 0; g <= res->n_games; g++) {
        dq_counts *d = &res->dq[g], *s = &f->dq[g];
        size_t k;
        d->lines_read += s->lines_read;
        d->duplicates += s->duplicates;
        d->unknown_event += s->unknown_event;
        for (k = 0; k < REJ_COUNT; k++) {
            d->rejected[k] += s->rejected[k];
            res->rejected += s->rejected[k];
        }
        res->lines_read += s->lines_read;
    }
    if (run_ids_add_file(ids, &f->ids) != 0)
        return -1;
    for (i = 0; i < f->n_rejects; i++) {
        if (res->n_rejects == res->cap_rejects) {
            size_t ncap = res->cap_rejects ? res->cap_rejects * 2 : 64;
            rejected_line *p = realloc(res->rejects, ncap * sizeof *p);
            if (!p)
                return -1;
            res->rejects = p;
            res->cap_rejects = ncap;
        }
        res->rejects[res->n_rejects] = f->rejects[i];
        res->rejects[res->n_rejects].file = file_index;
        res->n_rejects++;
    }
    return fact_batch_absorb(&res->facts, &f->facts);
}

/* ---- reading the files, on this thread or on reader threads ------------- */

/* What the run reads: the sorted relative paths, and in that order the
 * indexes of those that must be read (new or changed). Read-only once the
 * readers start. */
typedef struct read_plan {
    const config *cfg;
    const tz_zone *const *zones;
    char *const *rel;        /* all input files, sorted (not owned) */
    size_t *to_read;            /* indexes into rel of the files to read (owned by ingest_run) */
    char (*stat)[STAT_ID_MAX]; /* stat id of to_read[k] before it is read (owned by ingest_run) */
    size_t n_to_read;
} read_plan;

/* One file read and not yet folded. */
typedef struct read_slot {
    file_state f;
    int live;                /* f is initialised and must be freed */
    int got;                 /* read_file: 1 read to the end, 0 corrupt, -1 fatal;
                                2 gone before it could be read (is_vanished) */
    uint64_t size, checksum;
    ms_error err;            /* got 0: why the file is corrupt; got -1: the error */
} read_slot;

static void slot_release(read_slot *s)
{
    if (s->live)
        file_state_free(&s->f);
    s->live = 0;
}

/* A parser for the configured games (one per thread: parsers are not
 * thread-safe). NULL when out of memory. Free with event_parser_free. */
static event_parser *parser_for(const config *cfg)
{
    const char **ids = calloc(cfg->n_games ? cfg->n_games : 1, sizeof *ids);
    event_parser *p = NULL;
    size_t i;
    if (ids) {
        for (i = 0; i < cfg->n_games; i++)
            ids[i] = cfg->games[i].id;
        p = event_parser_new(ids, cfg->n_games);
    }
    free(ids);
    return p;
}

/* Reads the k-th file of the plan into the empty slot s; the outcome is in
 * s (got, err), not returned. A corrupt file is judged when its turn comes
 * in the fold, as every file's facts are, so the result does not depend on
 * which thread read it or when; a fatal error stops the run at once. */
static void read_one(const read_plan *plan, event_parser *parser, atomic_int *cancel, size_t k,
                     read_slot *s)
{
    const char *rel = plan->rel[plan->to_read[k]];
    char path[8192];

    memset(s, 0, sizeof *s);
    s->live = 1;
    fact_batch_init(&s->f.facts, plan->zones, plan->cfg->n_games);
    fp_set_init(&s->f.ids);
    snprintf(path, sizeof path, "%s/%s", plan->cfg->input_dir, rel);
    s->f.dq = calloc(plan->cfg->n_games + 1, sizeof *s->f.dq);
    if (!s->f.dq) {
        s->got = -1;
        ms_error_set(&s->err, "out of memory");
    } else {
        s->got = read_file(plan->cfg, parser, cancel, path, rel, &s->f, &s->size, &s->checksum,
                           &s->err);
    }
    if (s->got < 0 && s->f.dq && is_vanished(path))
        s->got = 2; /* read_file failed because the file went away (not our own
                       allocation above): whatever it read is dropped with the slot */
    if (s->got < 0)
        ms_error_prefix(&s->err, "%s", path);
}

/* Folds a read file into the run; called in path order only, so that the
 * result is the same whatever the number of readers. A corrupt file is
 * named and counted; a complete one has its quarantine file published and
 * its facts absorbed. Returns 0, or -1 (err) on a fatal error, the file's
 * own included. The caller frees s. */
static int fold_one(ingest_result *res, run_ids *ids, const config *cfg, const char *rel,
                    const char *stat, read_slot *s, ms_error *err)
{
    int rc = -1;

    if (s->got < 0) {
        *err = s->err;
        goto out;
    }
    if (s->got == 2) {
        rc = note_vanished(res, rel, err);
        goto out;
    }
    if (s->got == 0) {
        /* Corrupt or truncated: nothing of it counts; named in the log. */
        char msg[MS_ERROR_MAX + 64];
        char **p = realloc(res->corrupt, (res->n_corrupt + 1) * sizeof *p);
        if (!p) {
            ms_error_set(err, "out of memory");
            goto out;
        }
        res->corrupt = p;
        snprintf(msg, sizeof msg, "%s: %s", rel, s->err.msg);
        if (!(p[res->n_corrupt] = strdup(msg))) {
            ms_error_set(err, "out of memory");
            goto out;
        }
        res->n_corrupt++;
        res->dq[cfg->n_games].corrupt_file++;
        rc = 0;
        goto out;
    }
    if (quarantine_commit(&s->f, err) != 0)
        goto out;
    if (add_file(&res->files, &res->n_files, &res->cap_files, rel, s->size, s->checksum,
                 s->f.lines, stat) != 0 ||
        absorb_file(res, ids, &s->f, (uint32_t)(res->n_files - 1)) != 0) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/* threads = 1 (or a single file to read): read and fold each file in turn,
 * on this thread. */
static int read_serial(const read_plan *plan, ingest_result *res, run_ids *ids,
                       ms_error *err)
{
    event_parser *parser = parser_for(plan->cfg);
    read_slot slot;
    size_t k;
    int rc = -1;

    if (!parser) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (k = 0; k < plan->n_to_read; k++) {
        int folded;
        read_one(plan, parser, NULL, k, &slot);
        folded = fold_one(res, ids, plan->cfg, plan->rel[plan->to_read[k]], plan->stat[k], &slot,
                          err);
        slot_release(&slot);
        if (folded != 0)
            goto out;
    }
    rc = 0;
out:
    event_parser_free(parser);
    return rc;
}

/* The shared state of the readers and the fold. Reader threads claim the
 * files in plan order (next) and read file k into ring[k % window]; the
 * calling thread folds them in plan order (folded) and frees each slot. A
 * reader may claim file k only when k < folded + window: memory stays
 * bounded by `window` files, however slow the fold or a large file is. */
typedef struct ring_entry {
    read_slot s;
    int done;                /* s holds a finished read (under mu) */
} ring_entry;

typedef struct read_pool {
    const read_plan *plan;
    pthread_mutex_t mu;
    pthread_cond_t slot_done; /* a read finished, or a reader failed: the fold may go on */
    pthread_cond_t room;      /* a slot was freed, or stop: the readers may go on */
    ring_entry *ring;
    size_t window;
    size_t next;              /* the next file to claim */
    size_t folded;            /* files [0, folded) are folded and their slots free */
    int stop;                 /* claim nothing more */
    int failed;               /* a reader failed; err holds the first such error */
    ms_error err;
    atomic_int cancel;        /* stop, also read without mu in read_file's loop */
} read_pool;

typedef struct reader {
    read_pool *pool;
    event_parser *parser;     /* owned */
    pthread_t tid;
    int started;
} reader;

/* With mu held: nothing more is claimed, reads in progress stop early, and
 * everyone waiting wakes up. */
static void pool_stop_locked(read_pool *p)
{
    p->stop = 1;
    atomic_store_explicit(&p->cancel, 1, memory_order_relaxed);
    ms_pthread_check(pthread_cond_broadcast(&p->room));
    ms_pthread_check(pthread_cond_signal(&p->slot_done));
}

static void *reader_main(void *arg)
{
    reader *w = arg;
    read_pool *p = w->pool;

    /* A hint: refused, the reader runs as before (only slower). */
    (void)ms_thread_lower_priority(READER_NICE);

    ms_pthread_check(pthread_mutex_lock(&p->mu));
    for (;;) {
        size_t k;
        ring_entry *e;
        while (!p->stop && p->next < p->plan->n_to_read && p->next - p->folded >= p->window)
            ms_pthread_check(pthread_cond_wait(&p->room, &p->mu));
        if (p->stop || p->next >= p->plan->n_to_read)
            break;
        k = p->next++;
        e = &p->ring[k % p->window];
        ms_pthread_check(pthread_mutex_unlock(&p->mu));
        read_one(p->plan, w->parser, &p->cancel, k, &e->s);
        ms_pthread_check(pthread_mutex_lock(&p->mu));
        e->done = 1;
        if (e->s.got < 0 && !p->stop) {
            /* The first fatal error (a cancelled read's is not one). */
            p->failed = 1;
            p->err = e->s.err;
            pool_stop_locked(p);
        }
        ms_pthread_check(pthread_cond_signal(&p->slot_done));
    }
    ms_pthread_check(pthread_mutex_unlock(&p->mu));
    return NULL;
}

/* The fold, on the calling thread, while the readers run. */
static int fold_in_order(read_pool *p, ingest_result *res, run_ids *ids, ms_error *err)
{
    const read_plan *plan = p->plan;
    int rc = 0;

    ms_pthread_check(pthread_mutex_lock(&p->mu));
    while (rc == 0 && p->folded < plan->n_to_read) {
        ring_entry *e = &p->ring[p->folded % p->window];
        while (!e->done && !p->failed)
            ms_pthread_check(pthread_cond_wait(&p->slot_done, &p->mu));
        if (p->failed) {
            *err = p->err;
            rc = -1;
            break;
        }
        ms_pthread_check(pthread_mutex_unlock(&p->mu));
        rc = fold_one(res, ids, plan->cfg, plan->rel[plan->to_read[p->folded]],
                      plan->stat[p->folded], &e->s, err);
        slot_release(&e->s);
        ms_pthread_check(pthread_mutex_lock(&p->mu));
        e->done = 0;
        p->folded++;
        ms_pthread_check(pthread_cond_broadcast(&p->room));
    }
    pool_stop_locked(p); /* on failure: the readers stop; otherwise a no-op for them */
    ms_pthread_check(pthread_mutex_unlock(&p->mu));
    return rc;
}

/* For pthread_* results (an error number, not errno). Returns -1. */
static int pthread_error(ms_error *err, const char *what, int e)
{
    char etmp[128];
    return ms_error_set(err, "%s: %s", what, errno_text(e, etmp, sizeof etmp));
}

/* n_readers >= 2 reader threads read, this thread folds. Every thread
 * started is joined on every path. */
static int read_parallel(const read_plan *plan, size_t n_readers, ingest_result *res,
                         run_ids *ids, ms_error *err)
{
    read_pool pool;
    reader *readers = calloc(n_readers, sizeof *readers);
    size_t i;
    int rc = -1, e, n_inited = 0;

    memset(&pool, 0, sizeof pool);
    pool.plan = plan;
    pool.window = WINDOW_PER_READER * n_readers;
    atomic_init(&pool.cancel, 0);
    pool.ring = calloc(pool.window, sizeof *pool.ring);
    if (!readers || !pool.ring) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    if ((e = pthread_mutex_init(&pool.mu, NULL)) == 0) {
        n_inited = 1;
        if ((e = pthread_cond_init(&pool.slot_done, NULL)) == 0) {
            n_inited = 2;
            if ((e = pthread_cond_init(&pool.room, NULL)) == 0)
                n_inited = 3;
        }
    }
    if (n_inited < 3) {
        pthread_error(err, "cannot set up the reader threads", e);
        goto out;
    }
    for (i = 0; i < n_readers; i++) {
        readers[i].pool = &pool;
        if (!(readers[i].parser = parser_for(plan->cfg))) {
            ms_error_set(err, "out of memory");
            goto out;
        }
    }
    /* jansson picks its hash seed on first use, racing if two threads do it
     * at once: fix it before the readers start (no-op if already set). */
    json_object_seed(0);
    for (i = 0; i < n_readers; i++) {
        if ((e = pthread_create(&readers[i].tid, NULL, reader_main, &readers[i])) != 0) {
            pthread_error(err, "cannot start a reader thread", e);
            goto out;
        }
        readers[i].started = 1;
    }
    rc = fold_in_order(&pool, res, ids, err);
out:
    if (n_inited == 3 && rc != 0) {
        /* Stop the readers started before a failure (fold_in_order did it
         * already on its own path; twice is harmless). */
        ms_pthread_check(pthread_mutex_lock(&pool.mu));
        pool_stop_locked(&pool);
        ms_pthread_check(pthread_mutex_unlock(&pool.mu));
    }
    for (i = 0; readers && i < n_readers; i++) {
        if (readers[i].started)
            ms_pthread_check(pthread_join(readers[i].tid, NULL));
        event_parser_free(readers[i].parser);
    }
    /* Read but not folded (a failed run): their quarantine temp files go too. */
    for (i = 0; pool.ring && i < pool.window; i++)
        slot_release(&pool.ring[i].s);
    if (n_inited >= 3)
        ms_pthread_check(pthread_cond_destroy(&pool.room));
    if (n_inited >= 2)
        ms_pthread_check(pthread_cond_destroy(&pool.slot_done));
    if (n_inited >= 1)
        ms_pthread_check(pthread_mutex_destroy(&pool.mu));
    free(pool.ring);
    free(readers);
    return rc;
}

/* The number of reader threads: cfg->threads, 0 meaning the online CPUs;
 * never more than MAX_READERS or than there are files to read. */
static size_t reader_count(const config *cfg, size_t n_to_read)
{
    size_t n = config_thread_count(cfg);
    if (n > MAX_READERS)
        n = MAX_READERS;
    if (n > n_to_read)
        n = n_to_read;
    return n < 1 ? 1 : n;
}

int ingest_run(const config *cfg, warehouse *wh, const tz_zone *const *zones,
               ingest_result *res, ms_error *err)
{
    path_list files = {0};
    read_plan plan;
    run_ids ids;
    size_t i, n_readers;
    int rc = -1;
    time_t run_start = time(NULL);
    const char *racy_env = getenv("MOONSTAT_TEST_STAT_RACY_SECONDS");
    long racy_seconds = STAT_RACY_SECONDS;

    memset(res, 0, sizeof *res);
    memset(&plan, 0, sizeof plan);
    run_ids_init(&ids);
    res->n_games = cfg->n_games;
    if (racy_env && *racy_env)
        racy_seconds = strtol(racy_env, NULL, 10); /* tests/e2e/ingest_stat.sh */
    fact_batch_init(&res->facts, zones, cfg->n_games);
    res->dq = calloc(cfg->n_games + 1, sizeof *res->dq);
    if (!res->dq) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    if (cleanup_quarantine(cfg->quarantine_dir, err) != 0 ||
        scan_dir(cfg->input_dir, "", &files, err) != 0)
        goto out;
    if (files.n > 1)
        qsort(files.items, files.n, sizeof *files.items, cmp_str);

    /* Which files to read: decided here, on this thread, because the
     * warehouse connection is not thread-safe. */
    plan.cfg = cfg;
    plan.zones = zones;
    plan.rel = files.items;
    plan.to_read = malloc((files.n ? files.n : 1) * sizeof *plan.to_read);
    plan.stat = malloc((files.n ? files.n : 1) * sizeof *plan.stat);
    if (!plan.to_read || !plan.stat) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (i = 0; i < files.n; i++) {
        const char *rel = files.items[i];
        char path[8192];
        known_file known;
        const char *params[1] = {rel};
        struct stat st;
        char now[STAT_ID_MAX];
        uint64_t size = 0, checksum = 0, legacy = 0;

        memset(&known, 0, sizeof known);
        snprintf(path, sizeof path, "%s/%s", cfg->input_dir, rel);
        if (stat(path, &st) != 0) {
            if (errno == ENOENT) {
                if (note_vanished(res, rel, err) != 0)
                    goto out;
                continue;
            }
            ms_error_set(err, "cannot stat %s: %s", path, strerror(errno));
            goto out;
        }
        stat_id(&st, now);
        if ((int64_t)st.st_ctim.tv_sec >= (int64_t)run_start - racy_seconds)
            now[0] = '\0'; /* changed just now: a same-size rewrite within the file system's
                              timestamp granularity would keep this stat id, so none is
                              recorded and the next run checksums the file */
        if (wh_query(wh, "SELECT size, checksum, stat FROM ingested_files WHERE path = $1", "t",
                     params, read_known, &known, err) < 0)
            goto out;
        if (known.found && known.size == (uint64_t)st.st_size) {
            if (now[0] && strcmp(known.stat, now) == 0)
                continue; /* already ingested, untouched since */
            if (file_identity(path, &size, &checksum, known.legacy ? &legacy : NULL, err) != 0) {
                if (is_vanished(path)) {
                    err->msg[0] = '\0';
                    if (note_vanished(res, rel, err) != 0)
                        goto out;
                    continue;
                }
                ms_error_prefix(err, "%s", path);
                goto out;
            }
            if (size == known.size && (known.legacy ? legacy : checksum) == known.checksum) {
                /* Same content, new stat (touched, copied): remember the
                 * new stat so that the next run need not read it again. */
                if (now[0] && add_file(&res->restat, &res->n_restat, &res->cap_restat, rel, size, checksum,
                             0, now) != 0) {
                    ms_error_set(err, "out of memory");
                    goto out;
                }
                continue;
            }
        }
        memcpy(plan.stat[plan.n_to_read], now, sizeof now);
        plan.to_read[plan.n_to_read++] = i;
    }

    n_readers = reader_count(cfg, plan.n_to_read);
    if (n_readers <= 1)
        rc = read_serial(&plan, res, &ids, err);
    else
        rc = read_parallel(&plan, n_readers, res, &ids, err);
    if (rc == 0 && run_ids_count(&ids, res->dq, res->n_games + 1) != 0) {
        ms_error_set(err, "out of memory");
        rc = -1;
    }
out:
    free(plan.to_read);
    free(plan.stat);
    run_ids_free(&ids);
    path_list_free(&files);
    return rc;
}

void ingest_result_free(ingest_result *r)
{
    size_t i;
    fact_batch_free(&r->facts);
    free(r->dq);
    for (i = 0; i < r->n_files; i++)
        free(r->files[i].relpath);
    free(r->files);
    for (i = 0; i < r->n_restat; i++)
        free(r->restat[i].relpath);
    free(r->restat);
    free(r->rejects);
    for (i = 0; i < r->n_corrupt; i++)
        free(r->corrupt[i]);
    free(r->corrupt);
    for (i = 0; i < r->n_vanished; i++)
        free(r->vanished[i]);
    free(r->vanished);
    memset(r, 0, sizeof *r);
}
