/*
 * export.h - report tables to CSV partitions.
 *
 * One table describes every report: its warehouse table, its columns in CSV
 * order with how each is written and sorted, and the column that names the
 * partition (exports.md "Columns"). A report's rows are written to its table
 * by the module that computes it, which also records the partition in
 * pending_exports in the same transaction; export_publish_pending then
 * renders each pending partition from the table (sorted, in the CSV dialect)
 * and publishes it atomically, and forgets it once published. A run killed
 * half-way therefore publishes the rest on the next run, from the same rows,
 * with the same bytes.
 */
#ifndef MOONSTAT_EXPORT_H
#define MOONSTAT_EXPORT_H

#include <stddef.h>

#include "common.h"
#include "warehouse.h"

/* The version of the exports' layout, written to every manifest as
 * schema_version: it changes only when a report's columns change, never
 * with a warehouse migration (an index or a bookkeeping table changes no
 * CSV), because exports.md has a rerun's manifest differ from the first
 * run's only in run_id and written_at. It is 4 because the warehouse was at
 * version 4 when the two were told apart, so no manifest changed then. */
#define EXPORTS_SCHEMA_VERSION 4

/* How a column is written and compared when sorting. */
typedef enum column_kind {
    COL_TEXT,     /* text: formula prefix, byte order */
    COL_INT,      /* integer: as is, numeric order */
    COL_DECIMAL,  /* fixed-point text: as is, numeric order */
    COL_PERIOD    /* revenue.period: day < week < month */
} column_kind;

typedef struct report_column {
    const char *name;
    column_kind kind;
} report_column;

typedef struct report_def {
    const char *name;               /* "daily_kpi": table, directory and file name */
    const char *partition_column;   /* "date" */
    const report_column *columns;
    size_t n_columns;
} report_def;

/* The report called name, or NULL. */
const report_def *report_find(const char *name);

/* Records that a partition's rows changed (inside the caller's transaction). */
int export_mark_pending(warehouse *wh, const char *report, const char *partition, ms_error *err);

typedef struct export_stats {
    size_t written;     /* partitions rewritten */
    size_t unchanged;   /* partitions whose bytes were already published */
    size_t held;        /* partitions held back (see export_hold_fn) */
} export_stats;

/* Returns non-zero for a partition that must not be published by this run
 * (its figures need an exchange rate that is missing): it stays pending. */
typedef int (*export_hold_fn)(void *ctx, const char *report, const char *partition);

/* Publishes every pending partition that `hold` (may be NULL) does not hold
 * back, and forgets the published ones in batches of transactions. Returns 0
 * or -1 (err set); on error the partitions not yet published stay pending,
 * with those of the last batch (published, not yet forgotten: the next run
 * finds them unchanged). */
int export_publish_pending(warehouse *wh, const char *export_dir, const char *run_id,
                           const char *reporting_currency, export_hold_fn hold, void *hold_ctx,
                           export_stats *stats, ms_error *err);

/* Renders one partition as CSV into out (header included); *rows gets the
 * number of data rows. */
int export_render(warehouse *wh, const report_def *def, const char *partition, buf *out,
                  size_t *rows, ms_error *err);

#endif
