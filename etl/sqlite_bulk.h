/*
 * sqlite_bulk.h - bulk inserts into SQLite, a few hundred thousand rows per
 * statement.
 *
 * Why: a prepared INSERT stepped once per row spends more around each row
 * (bind, step, reset: the statement is started and ended every time) than
 * on the row's B-tree insert itself. On the 5M event bench the 1.74M
 * activity rows of a first load took 2.6 s that way, against 0.5 s for the
 * same rows copied by one INSERT ... SELECT in the sqlite3 shell. So rows are
 * kept in a buffer, and each full buffer (and the last one) goes into the
 * table through one "INSERT INTO t (cols) SELECT c0, c1, ... FROM
 * moonstat_bulk", where moonstat_bulk is an eponymous virtual table (a
 * public SQLite interface: sqlite3_create_module_v2) whose rows are the
 * buffer's. No SQL is ever built from data: values reach SQLite as typed
 * results of the virtual table's xColumn, as a bound parameter would.
 *
 * Two buffers, and an inserter thread: while it inserts one buffer, the
 * caller fills the other, so building the rows (sorting, formatting,
 * copying) overlaps SQLite's inserts. The connection is never used by two
 * threads at once: the caller touches only the buffer it fills while the
 * thread works, and every other use of the connection must first call
 * sqlite_bulk_wait (the SQLite backend does, for every statement). With
 * sqlite_bulk_set_threads(b, 1), or when no thread can be started, the
 * inserts run on the caller's thread.
 *
 * The rows a load inserts, their order, their types and the constraint
 * checks are those of the per-row INSERT it replaces: a value of type 'i'
 * goes in as the 64-bit integer strtoll reads from its text, any other as
 * text, NULL as NULL. A failing insert (a constraint) fails the statement of
 * its buffer; the error comes from a later sqlite_bulk_row, sqlite_bulk_wait
 * or sqlite_bulk_end, and the caller rolls the transaction back.
 *
 * Bounds: a buffer holds at most 65536 rows, 512K values and 4 MiB of text;
 * a row whose text alone is over that is refused (no field comes near it).
 *
 * Ownership: sqlite_bulk_new returns a loader the caller frees with
 * sqlite_bulk_free just before closing the connection it was made for (it
 * ends the thread and finalizes the open load's statement; the module
 * registered on the connection points to the loader, and nothing may use
 * it in between). Text handed to sqlite_bulk_row is copied.
 */
#ifndef MOONSTAT_SQLITE_BULK_H
#define MOONSTAT_SQLITE_BULK_H

#include <sqlite3.h>
#include <stdint.h>

#include "common.h"

typedef struct sqlite_bulk sqlite_bulk;

/* A loader for db, with the module "moonstat_bulk" registered on it.
 * NULL on failure (err set). */
sqlite_bulk *sqlite_bulk_new(sqlite3 *db, ms_error *err);

/* Starts a load into `table` (a name from the code), `columns`
 * comma-separated, `types` one letter per column ('i' integer, other
 * text; at most 32). Returns 0 or -1 (err set). */
int sqlite_bulk_begin(sqlite_bulk *b, const char *table, const char *columns, const char *types,
                      ms_error *err);

/* Adds one row: vals[i] is column i as text, NULL for SQL NULL. May hand
 * the full buffer over first. Returns 0 or -1 (err set). */
int sqlite_bulk_row(sqlite_bulk *b, const char *const *vals, ms_error *err);

/* Waits until no insert runs on the connection. Returns 0, or -1 (err set)
 * when an insert of the open load failed. */
int sqlite_bulk_wait(sqlite_bulk *b, ms_error *err);

/* Inserts what is buffered and ends the load (also after an error, which
 * it then reports). Returns 0 or -1 (err set). */
int sqlite_bulk_end(sqlite_bulk *b, ms_error *err);

/* With n <= 1 the inserts run on the caller's thread, with more on the
 * loader's (the default). Between loads; a call during one changes nothing. */
void sqlite_bulk_set_threads(sqlite_bulk *b, size_t n);

/* Statements run and virtual-machine steps taken by the inserts so far. */
void sqlite_bulk_stats(const sqlite_bulk *b, uint64_t *statements, uint64_t *steps);

void sqlite_bulk_free(sqlite_bulk *b);

#endif
