/*
 * warehouse_sqlite.c - the embedded SQLite backend (warehouse.h).
 *
 * URI: sqlite:///absolute/path/warehouse.db. WAL journal with
 * synchronous=FULL: a committed run survives power loss, a killed run leaves
 * nothing half-written, and readers (finance, the tests) can read while a run
 * writes. The one-run lock is an flock(2) on "<db>.lock", which the kernel
 * drops when the holder dies, so a run killed with SIGKILL needs no cleanup.
 *
 * Parameters are written $1..$n in the portable SQL; SQLite accepts "$1" as
 * a named parameter, so they are bound by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "keymap.h"
#include "sqlite_bulk.h"
#include "sqlite_checkpoint.h"
#include "warehouse.h"

#define STMT_CACHE 96

/* The page cache (negative: KiB), and the smaller one index builds run
 * with. SQLite's sorter sorts in runs as large as the page cache and sorts
 * several runs at once on its worker threads; a single run of the whole
 * index (a 64 MiB cache holds most of one) leaves the other core idle.
 * With runs of 4 MiB (its floor: 250 pages) the 5M event bench's first
 * load built its indexes in 3.1 s instead of 3.9 s, 2 threads. */
#define CACHE_KIB "-65536"
#define INDEX_BUILD_CACHE_KIB "-4096"

/* Prepared statements are cached by their text (a copy is kept: callers may
 * build SQL in buffers they reuse, so a pointer says nothing). */
typedef struct cached_stmt {
    char *sql;
    uint64_t hash;
    sqlite3_stmt *stmt;
} cached_stmt;

typedef struct sqlite_wh {
    sqlite3 *db;
    char *path;
    int lock_fd;
    cached_stmt cache[STMT_CACHE];
    size_t n_cache;
    sqlite_bulk *bulk;    /* bulk loads (load_begin/load_row/load_end) */
    sqlite_checkpointer *ckpt; /* the run's connection (try_lock): WAL copied by a thread */
    uint64_t n_statements, n_rows, n_steps;
} sqlite_wh;

static int sq_error(sqlite_wh *s, ms_error *err, const char *what)
{
    return ms_error_set(err, "sqlite %s: %s", what, sqlite3_errmsg(s->db));
}

static void sq_close(void *db)
{
    sqlite_wh *s = db;
    size_t i;
    if (!s)
        return;
    sqlite_bulk_free(s->bulk); /* first: it ends its thread and finalizes its statement */
    sqlite_checkpointer_free(s->ckpt); /* before the close, whose checkpoint does the rest */
    for (i = 0; i < s->n_cache; i++) {
        sqlite3_finalize(s->cache[i].stmt);
        free(s->cache[i].sql);
    }
    if (s->db)
        sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* drops the flock */
    free(s->path);
    free(s);
}

static void *sq_open(const char *uri, ms_error *err)
{
    sqlite_wh *s = NULL;
    const char *path = uri + strlen("sqlite://");

    if (path[0] != '/') {
        ms_error_set(err, "warehouse URI \"%s\": use sqlite:///absolute/path", uri);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        ms_error_set(err, "out of memory");
        return NULL;
    }
    s->lock_fd = -1;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        ms_error_set(err, "cannot open SQLite warehouse %s: %s; check the directory exists and is writable",
                     path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    /* Nothing that reads or writes the file happens before the run lock:
     * a run setting up a new warehouse holds SQLite's exclusive lock, and a
     * second run must reach the flock and exit 75, not wait on SQLite. */
    sqlite3_busy_timeout(s->db, 10000);
    if (!(s->bulk = sqlite_bulk_new(s->db, err)))
        goto fail;
    return s;
fail:
    sq_close(s);
    return NULL;
}

static int sq_exec(void *db, const char *sql, ms_error *err);

static int sq_try_lock(void *db, ms_error *err)
{
    sqlite_wh *s = db;
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s.lock", s->path);
    if (s->lock_fd < 0) {
        s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->lock_fd < 0)
            return ms_error_set(err, "cannot open lock file %s: %s", lock_path, strerror(errno));
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return 0;
        return ms_error_set(err, "flock %s: %s", lock_path, strerror(errno));
    }
    /* Under the lock: 16 KiB pages for a new warehouse (a no-op on an
     * existing one: the page size is fixed when the file is made; on the 5M
     * event bench they made the bulk load ~20 % and the daily KPI queries
     * ~25 % faster than 4 KiB pages), WAL (readers never block the run, nor
     * it them; a property of the file, switched once), full fsync for
     * durability, and the connection's caches. Temporary storage (the
     * staging tables, sorts) in files, i.e. the OS page cache: SQLite's
     * sorter uses worker threads only then (set_threads), and a first
     * load's index builds are its biggest sorts (INDEX_BUILD_CACHE_KIB). */
    if (sq_exec(s,
                "PRAGMA page_size=16384; "
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=FILE; "
                "PRAGMA cache_size=" CACHE_KIB "; PRAGMA foreign_keys=OFF;",
                err) != 0)
        return -1;
    /* The run writes: its commits leave the WAL's copy into the database
     * to a thread (sqlite_checkpoint.h). */
    if (!s->ckpt && !(s->ckpt = sqlite_checkpointer_new(s->db, s->path, err)))
        return -1;
    return 1;
}

static int sq_exec(void *db, const char *sql, ms_error *err)
{
    sqlite_wh *s = db;
    char *msg = NULL;
    /* Never while the bulk loader's thread inserts; a failed insert is
     * reported by the load itself (and a ROLLBACK must still run). */
    (void)sqlite_bulk_wait(s->bulk, NULL);
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ms_error_set(err, "sqlite: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* A prepared statement for sql, from the cache or newly prepared. */
static sqlite3_stmt *sq_prepare(sqlite_wh *s, const char *sql, ms_error *err)
{
    size_t i;
    sqlite3_stmt *st = NULL;
    uint64_t h = hash_bytes(sql, strlen(sql), 0);
    for (i = 0; i < s->n_cache; i++)
        if (s->cache[i].hash == h && strcmp(s->cache[i].sql, sql) == 0)
            return s->cache[i].stmt;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sq_error(s, err, "prepare");
        ms_error_prefix(err, "%.200s", sql);
        return NULL;
    }
    if (s->n_cache < STMT_CACHE) {
        char *copy = strdup(sql);
        if (copy) {
            s->cache[s->n_cache].sql = copy;
            s->cache[s->n_cache].hash = h;
            s->cache[s->n_cache].stmt = st;
            s->n_cache++;
        }
    }
    return st;
}

static int is_cached(const sqlite_wh *s, const sqlite3_stmt *st)
{
    size_t i;
    for (i = 0; i < s->n_cache; i++)
        if (s->cache[i].stmt == st)
            return 1;
    return 0;
}

/* Binds params by their "$N" names; types[i] 'i' integer, anything else text. */
static int sq_bind(sqlite_wh *s, sqlite3_stmt *st, const char *types, const char *const *params,
                   ms_error *err)
{
    int i, n = types ? (int)strlen(types) : 0;
    for (i = 0; i < n; i++) {
        char name[16];
        int idx, rc;
        snprintf(name, sizeof name, "$%d", i + 1);
        idx = sqlite3_bind_parameter_index(st, name);
        if (idx == 0)
            continue; /* parameter not used by this statement */
        if (!params[i])
            rc = sqlite3_bind_null(st, idx);
        else if (types[i] == 'i')
            rc = sqlite3_bind_int64(st, idx, strtoll(params[i], NULL, 10));
        else
            rc = sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return sq_error(s, err, "bind");
    }
    return 0;
}

static int sq_query(void *db, const char *sql, const char *types, const char *const *params,
                    wh_row_fn fn, void *ctx, ms_error *err)
{
    sqlite_wh *s = db;
    sqlite3_stmt *st;
    const char *vals[64];
    int rc, result = 0;

    (void)sqlite_bulk_wait(s->bulk, NULL); /* as in sq_exec */
    if (!(st = sq_prepare(s, sql, err)))
        return -1;
    if (sq_bind(s, st, types, params, err) != 0) {
        result = -1;
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int i, n = sqlite3_column_count(st);
        if (!fn)
            continue;
        if (n > (int)MS_ARRAY_LEN(vals))
            n = (int)MS_ARRAY_LEN(vals);
        for (i = 0; i < n; i++)
            vals[i] = (const char *)sqlite3_column_text(st, i);
        s->n_rows++;
        result = fn(ctx, n, vals);
        if (result != 0)
            break;
    }
    if (result == 0 && rc != SQLITE_DONE) {
        sq_error(s, err, "step");
        ms_error_prefix(err, "%.200s", sql);
        result = -1;
    }
done:
    s->n_statements++;
    s->n_steps += (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!is_cached(s, st))
        sqlite3_finalize(st);
    return result;
}

static int sq_load_begin(void *db, const char *table, const char *columns, const char *types,
                         ms_error *err)
{
    return sqlite_bulk_begin(((sqlite_wh *)db)->bulk, table, columns, types, err);
}

static int sq_load_row(void *db, const char *const *vals, ms_error *err)
{
    return sqlite_bulk_row(((sqlite_wh *)db)->bulk, vals, err);
}

/* SQLite's "threads" is the number of helper threads a statement may
 * start besides its own; the bulk loader inserts on a thread of its own
 * only when the run may use more than one. */
static int sq_set_threads(void *db, size_t n, ms_error *err)
{
    char sql[64];
    sqlite_bulk_set_threads(((sqlite_wh *)db)->bulk, n);
    snprintf(sql, sizeof sql, "PRAGMA threads=%zu", n > 1 ? (n > 9 ? (size_t)8 : n - 1) : 0);
    return sq_exec(db, sql, err);
}

static void sq_stats(void *db, uint64_t *statements, uint64_t *rows, uint64_t *work)
{
    const sqlite_wh *s = db;
    uint64_t bulk_statements, bulk_steps;
    sqlite_bulk_stats(s->bulk, &bulk_statements, &bulk_steps);
    *statements = s->n_statements + bulk_statements;
    *rows = s->n_rows;
    *work = s->n_steps + bulk_steps;
}

static int sq_load_end(void *db, ms_error *err)
{
    return sqlite_bulk_end(((sqlite_wh *)db)->bulk, err);
}

const warehouse_ops warehouse_sqlite_ops = {
    .scheme = "sqlite",
    .schema_dir = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .try_lock = sq_try_lock,
    .exec = sq_exec,
    .query = sq_query,
    .load_begin = sq_load_begin,
    .load_row = sq_load_row,
    .load_end = sq_load_end,
    .stats = sq_stats,
    /* Indexes the schema files created (sql not NULL): not those SQLite
     * makes for a primary key or a UNIQUE constraint. */
    .secondary_indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                         "tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
    .index_build_begin = "PRAGMA cache_size=" INDEX_BUILD_CACHE_KIB,
    .index_build_end = "PRAGMA cache_size=" CACHE_KIB,
    .set_threads = sq_set_threads,
};
