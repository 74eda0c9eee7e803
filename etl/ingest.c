/*
 * ingest.c - input files to a fact batch (see ingest.h).
 */
#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "line_reader.h"
#include "publish.h"

#define QUARANTINE_KEEP 65536u   /* bytes of a rejected line kept verbatim */

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
} known_file;

static int read_known(void *ctx, int ncols, const char *const *vals)
{
    known_file *k = ctx;
    if (ncols < 2 || !vals[0] || !vals[1])
        return 0;
    k->found = 1;
    k->size = strtoull(vals[0], NULL, 10);
    k->checksum = strtoull(vals[1], NULL, 16);
    return 1;
}

/* ---- one file ------------------------------------------------------------ */

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
                                strerror(errno));
    }
    if (fprintf(f->quarantine, "%s\t%" PRIu64 "\t%s\t", relpath, ln->number,
                reject_reason_name(why)) < 0 ||
        fwrite(ln->data, 1, keep, f->quarantine) != keep || fputc('\n', f->quarantine) == EOF)
        return ms_error_set(err, "cannot write quarantine file %s: %s", f->quarantine_tmp,
                            strerror(errno));
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

/* Reads one file into f. Returns 1 when read to the end, 0 when the file is
 * corrupt (msg in err), -1 on a fatal error. */
static int read_file(const config *cfg, event_parser *parser, const char *path,
                     const char *relpath, file_state *f, uint64_t *size, uint64_t *checksum,
                     ms_error *err)
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

static int add_file(ingest_result *res, const char *relpath, uint64_t size, uint64_t checksum,
                    uint64_t lines)
{
    ingested_file *f;
    if (res->n_files == res->cap_files) {
        size_t ncap = res->cap_files ? res->cap_files * 2 : 64;
        ingested_file *p = realloc(res->files, ncap * sizeof *p);
        if (!p)
            return -1;
        res->files = p;
        res->cap_files = ncap;
    }
    f = &res->files[res->n_files];
    if (!(f->relpath = strdup(relpath)))
        return -1;
    f->size = size;
    f->checksum = checksum;
    f->lines = lines;
    res->n_files++;
    return 0;
}

/* Folds a file that was read to the end into the run. Event ids seen
 * earlier in the run are duplicates (counted under the line's game). */
static int absorb_file(ingest_result *res, fp_set *run_ids, file_state *f, uint32_t file_index)
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
    for (i = 0; i < f->ids.n_slots; i++) {
        uint32_t payload;
        int added;
        if (!f->ids.lo[i] && !f->ids.hi[i])
            continue;
        payload = f->ids.payload[i];
        added = fp_set_add(run_ids, f->ids.lo[i], f->ids.hi[i], payload, NULL);
        if (added < 0)
            return -1;
        if (added) {
            res->dq[payload >> 1].events_accepted++;
            res->dq[payload >> 1].sandbox_payments += payload & 1;
        } else {
            res->dq[payload >> 1].duplicates++;
        }
    }
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

int ingest_run(const config *cfg, warehouse *wh, const tz_zone *const *zones,
               ingest_result *res, ms_error *err)
{
    path_list files = {0};
    event_parser *parser = NULL;
    const char **game_ids = NULL;
    fp_set run_ids;
    size_t i;
    int rc = -1;

    memset(res, 0, sizeof *res);
    fp_set_init(&run_ids);
    res->n_games = cfg->n_games;
    fact_batch_init(&res->facts, zones, cfg->n_games);
    res->dq = calloc(cfg->n_games + 1, sizeof *res->dq);
    game_ids = calloc(cfg->n_games, sizeof *game_ids);
    if (!res->dq || !game_ids) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (i = 0; i < cfg->n_games; i++)
        game_ids[i] = cfg->games[i].id;
    parser = event_parser_new(game_ids, cfg->n_games);
    if (!parser) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    if (cleanup_quarantine(cfg->quarantine_dir, err) != 0 ||
        scan_dir(cfg->input_dir, "", &files, err) != 0)
        goto out;
    if (files.n > 1)
        qsort(files.items, files.n, sizeof *files.items, cmp_str);

    for (i = 0; i < files.n; i++) {
        const char *rel = files.items[i];
        char path[8192];
        known_file known = {0, 0, 0};
        const char *params[1] = {rel};
        struct stat st;
        file_state f;
        uint64_t size = 0, checksum = 0;
        int got;

        snprintf(path, sizeof path, "%s/%s", cfg->input_dir, rel);
        if (stat(path, &st) != 0) {
            ms_error_set(err, "cannot stat %s: %s", path, strerror(errno));
            goto out;
        }
        if (wh_query(wh, "SELECT size, checksum FROM ingested_files WHERE path = $1", "t", params,
                     read_known, &known, err) < 0)
            goto out;
        if (known.found && known.size == (uint64_t)st.st_size) {
            if (file_identity(path, &size, &checksum, err) != 0) {
                ms_error_prefix(err, "%s", path);
                goto out;
            }
            if (size == known.size && checksum == known.checksum)
                continue; /* already ingested, unchanged */
        }
        memset(&f, 0, sizeof f);
        fact_batch_init(&f.facts, zones, cfg->n_games);
        fp_set_init(&f.ids);
        f.dq = calloc(cfg->n_games + 1, sizeof *f.dq);
        if (!f.dq) {
            file_state_free(&f);
            ms_error_set(err, "out of memory");
            goto out;
        }
        got = read_file(cfg, parser, path, rel, &f, &size, &checksum, err);
        if (got < 0) {
            ms_error_prefix(err, "%s", path);
            file_state_free(&f);
            goto out;
        }
        if (got == 0) {
            /* Corrupt or truncated: nothing of it counts; named in the log. */
            char **p = realloc(res->corrupt, (res->n_corrupt + 1) * sizeof *p);
            char msg[MS_ERROR_MAX + 64];
            file_state_free(&f);
            snprintf(msg, sizeof msg, "%s: %s", rel, err->msg);
            if (!p || !(p[res->n_corrupt] = strdup(msg))) {
                free(p == res->corrupt ? NULL : NULL);
                if (p)
                    res->corrupt = p;
                ms_error_set(err, "out of memory");
                goto out;
            }
            res->corrupt = p;
            res->n_corrupt++;
            res->dq[cfg->n_games].corrupt_file++;
            continue;
        }
        if (quarantine_commit(&f, err) != 0 || add_file(res, rel, size, checksum, f.lines) != 0 ||
            absorb_file(res, &run_ids, &f, (uint32_t)(res->n_files - 1)) != 0) {
            if (!err->msg[0])
                ms_error_set(err, "out of memory");
            file_state_free(&f);
            goto out;
        }
        file_state_free(&f);
    }
    rc = 0;
out:
    fp_set_free(&run_ids);
    event_parser_free(parser);
    free(game_ids);
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
    free(r->rejects);
    for (i = 0; i < r->n_corrupt; i++)
        free(r->corrupt[i]);
    free(r->corrupt);
    memset(r, 0, sizeof *r);
}
