/*
 * warehouse.h - the warehouse interface and its backends.
 *
 * A backend is a struct of operations (designated initializers) chosen from
 * a table by the URI scheme: "sqlite:///path/warehouse.db" (embedded,
 * default) or "postgresql://..." (production). Everything above this layer
 * speaks one portable SQL dialect (the common subset of SQLite >= 3.35 and
 * PostgreSQL >= 13: INSERT ... ON CONFLICT, CTEs, temp tables) with
 * parameters written $1, $2, ...; a backend adapts what it must.
 *
 * Values cross the interface as text (NULL = SQL NULL), with a per-parameter
 * type letter so that each backend can bind natively: 'i' 64-bit integer,
 * 't' text. Bulk loads go through load_begin/load_row/load_end (COPY on
 * PostgreSQL; on SQLite, buffered rows inserted by one INSERT ... SELECT per
 * buffer in the open transaction, sqlite_bulk.h).
 *
 * The schema is versioned DDL under schemas/<backend>/NNN_name.sql, applied
 * in order by warehouse_open (a version table records what was applied).
 *
 * Ownership: warehouse_open returns a handle the caller frees with
 * warehouse_close. Row values handed to a callback are valid only during the
 * call.
 */
#ifndef MOONSTAT_WAREHOUSE_H
#define MOONSTAT_WAREHOUSE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* activity_by_account is keyed (game_id, day / ACTIVITY_BUCKET_DAYS,
 * account_id, day) (migration 013): a night's account-days go into the
 * pages of their own bucket, not all over an index as large as the history.
 * A reader by account names the buckets it reads, writing the expression
 * as the index has it: "day / " ACTIVITY_BUCKET_SQL (the same number as
 * text; the migrations spell it out). Days are never negative, so C's
 * division, SQLite's and PostgreSQL's agree. */
#define ACTIVITY_BUCKET_DAYS 16
#define ACTIVITY_BUCKET_SQL MS_STRINGIFY(ACTIVITY_BUCKET_DAYS)

/* Called once per result row; return 0 to go on, non-zero to stop (the
 * query then returns that value). */
typedef int (*wh_row_fn)(void *ctx, int ncols, const char *const *vals);

typedef struct warehouse_ops {
    const char *scheme;      /* "sqlite", "postgresql" */
    const char *schema_dir;  /* "sqlite", "postgresql": under schemas/ */
    void *(*open)(const char *uri, ms_error *err);
    void (*close)(void *db);
    /* Takes the one-run-at-a-time lock without waiting: 1 taken, 0 held by
     * someone else, -1 error. Released by close (or by process death). */
    int (*try_lock)(void *db, ms_error *err);
    /* Runs SQL text without parameters (may hold several statements). */
    int (*exec)(void *db, const char *sql, ms_error *err);
    /* Runs one statement with parameters; calls fn per row when fn != NULL. */
    int (*query)(void *db, const char *sql, const char *types, const char *const *params,
                 wh_row_fn fn, void *ctx, ms_error *err);
    /* Bulk load into `table` (columns comma-separated; types one letter per
     * column). Inside a transaction. */
    int (*load_begin)(void *db, const char *table, const char *columns, const char *types,
                      ms_error *err);
    int (*load_row)(void *db, const char *const *vals, ms_error *err);
    int (*load_end)(void *db, ms_error *err);
    /* Work done so far: statements run, rows handed back, and the backend's
     * own measure of work (SQLite: virtual-machine steps). For tests and
     * logs: it shows that a night's work does not grow with history. */
    void (*stats)(void *db, uint64_t *statements, uint64_t *rows, uint64_t *work);
    /* A query listing the secondary indexes of table $1 as (name, CREATE
     * statement), so that a first load can drop them and build them once at
     * its end (load_order.h); NULL: the backend keeps its indexes while it
     * loads. */
    const char *secondary_indexes;
    /* SQL run just before and just after deferred_indexes_restore builds
     * a table's indexes again (NULL: none): the build's own settings. */
    const char *index_build_begin, *index_build_end;
    /* Lets the backend use n threads (the run's `threads`) for work inside
     * one statement; NULL: it has none. Returns 0 or -1 (err set). */
    int (*set_threads)(void *db, size_t n, ms_error *err);
} warehouse_ops;

/* Warehouse work (what ops->stats counts) done on a connection the run
 * closes before its end, to be added to the run's log line. */
typedef struct wh_work {
    uint64_t statements, rows, steps;
} wh_work;

typedef struct warehouse {
    const warehouse_ops *ops;
    void *db;
    int schema_version;      /* after migrations */
    char *display;           /* the URI with any password removed, for logs */
} warehouse;

/* Finds the backend for a URI's scheme; NULL when none. */
const warehouse_ops *warehouse_backend_for(const char *uri);

/* Connects to the warehouse (no schema change). Returns NULL with err set. */
warehouse *warehouse_open(const char *uri, ms_error *err);

/* Applies the pending migrations (schemas/<backend>/NNN_*.sql, compiled in),
 * each in a transaction with its version row. Call it holding the run lock,
 * so that two runs never migrate at once. Returns 0 or -1. */
int warehouse_migrate(warehouse *w, ms_error *err);

/* The schema version recorded in the warehouse (0 when none), in
 * w->schema_version. Returns 0 or -1. */
int warehouse_read_version(warehouse *w, ms_error *err);
void warehouse_close(warehouse *w);

/* Convenience wrappers over the ops. */
int wh_exec(warehouse *w, const char *sql, ms_error *err);
int wh_query(warehouse *w, const char *sql, const char *types, const char *const *params,
             wh_row_fn fn, void *ctx, ms_error *err);
int wh_begin(warehouse *w, ms_error *err);
int wh_commit(warehouse *w, ms_error *err);
int wh_rollback(warehouse *w);

/* Single-value query helpers: the first column of the first row. *found is 0
 * when there is no row or the value is NULL. */
int wh_query_int(warehouse *w, const char *sql, const char *types, const char *const *params,
                 int64_t *out, int *found, ms_error *err);

/* Adds the work done so far on w's connection (ops->stats) to *to. */
void wh_work_add(wh_work *to, warehouse *w);

extern const warehouse_ops warehouse_sqlite_ops;
/* PostgreSQL (libpq): "postgresql://..." or "postgres://...", see
 * warehouse_postgres.c for locking, COPY and lost connections. */
extern const warehouse_ops warehouse_postgres_ops;

#endif
