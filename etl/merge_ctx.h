/*
 * merge_ctx.h - what the parts of one merge_facts call share (merge.h):
 * its state, the helpers that stage rows and mark days dirty, and the one
 * shape every kind of fact is written in (merge_write_rows). merge.c merges
 * devices, roles, activity and payments and drives the whole; the accounts,
 * which depend on all of them, are merge_accounts.c's.
 *
 * Internal to the merge: only etl/merge*.c include it. Everything here runs
 * on the merge's connection, inside the caller's transaction; the functions
 * returning int return 0 (or a count, as stated) or -1 with m->err set.
 */
#ifndef MOONSTAT_MERGE_CTX_H
#define MOONSTAT_MERGE_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "activation_counts.h"
#include "config.h"
#include "facts.h"
#include "ingest.h"
#include "keymap.h"
#include "load_order.h"
#include "merge_lookup.h"
#include "warehouse.h"

/* The fact tables. A game with no row yet in one of them (its first load,
 * a backfill into a new warehouse) has nothing to read back, merge or
 * delete there: its rows are loaded straight into the table, which is what
 * makes a bulk load cost one insert per row instead of five statements. */
enum fact_kind {
    KIND_DEVICES, KIND_ROLES, KIND_ACTIVITY, KIND_PAYMENTS, KIND_ACCOUNTS, KIND_COUNT
};

struct stored_payment;

typedef struct merge_ctx {
    warehouse *wh;
    const config *cfg;
    const tz_zone *const *zones;
    const fact_batch *b;
    dq_counts *dq;
    ms_error *err;
    fp_set dirty;     /* (game << 32) | (uint32_t)day, +1 in the high half */
    arena scratch;    /* strings read back from the warehouse on this connection */
    unsigned char *fresh; /* [game * KIND_COUNT + kind]: no row of that kind stored yet */
    uint32_t *game_rank;  /* [game]: the rank of its id among the configured ids */
    activation_counts activations; /* the devices rows' changes, by cell */
    lookup_runner *lookups;        /* the read-backs (merge_lookup.h) */
    lookup_job job[KIND_COUNT];    /* by kind; activity has none */
    unsigned char *skip;           /* [kind * n_games + game]: job[kind] stages none of its keys */
    struct stored_payment *payment_old; /* job[KIND_PAYMENTS].out */
    stored_mark *device_old, *role_old; /* job[KIND_DEVICES].out, job[KIND_ROLES].out */
} merge_ctx;

/* Whether game has no row of kind stored yet (read before the batch
 * writes anything). Inline: asked once per row written. */
static inline int merge_is_fresh(const merge_ctx *m, uint32_t game, int kind)
{
    return m->fresh[(size_t)game * KIND_COUNT + (size_t)kind];
}

/* Whether some game is fresh for this kind, and whether some is not: which
 * of the two loads (straight into the table, through staging) are needed. */
void merge_kind_mix(const merge_ctx *m, int kind, int *any_fresh, int *any_stored);

/* Marks (game, local day) dirty: its reports are computed again. */
int merge_mark_dirty(merge_ctx *m, int game, int64_t day);

/* A query row callback (ctx is the merge_ctx): row (game_id, day) is dirty. */
int merge_read_dirty_row(void *ctx, int ncols, const char *const *v);

/* Empties the staging table `table` and starts loading rows into it. */
int merge_load_begin(merge_ctx *m, const char *table, const char *cols, const char *types);
int merge_load_row(merge_ctx *m, const char *const *vals);
int merge_load_end(merge_ctx *m);

/* Decimal text of v into out, as "%" PRId64 writes it. */
void merge_fmt_i64(char out[24], int64_t v);

/* Fills vals (and the 24-byte bufs it may point into) for row i; returns
 * ROW_NEW to write a row the table does not hold, ROW_REPLACE to write one
 * in place of the stored row with its key, 0 to leave it, -1 on error
 * (m->err set). Called exactly once per row, so it may mark days dirty and
 * count. */
enum { ROW_NEW = 1, ROW_REPLACE = 2 };
typedef int (*row_fn)(merge_ctx *m, void *ctx, size_t i, const char **vals, char (*bufs)[24]);

typedef struct fact_writer {
    int kind;
    const char *table;       /* the fact table, loaded directly for fresh games */
    const char *stage;       /* its staging table */
    const char *columns;
    const char *types;
    const char *remove;      /* delete the staged keys from table */
    int (*before_remove)(merge_ctx *m); /* or NULL: runs first when rows are replaced */
    const char *insert;      /* insert the staged rows into table */
    const char *upsert;      /* or NULL: insert them, updating stored rows with their keys in
                                place, for remove + insert when some are replaced */
    int park_indexes;        /* a first load parks its secondary indexes (load_order.h) */
} fact_writer;

/* A first load's direct load into `table` (its secondary indexes put aside
 * while it is empty) and its end (the indexes built again, or parked when
 * park is set: load_order.h). */
int merge_direct_begin(merge_ctx *m, const char *table, const char *columns,
                       const char *types, deferred_indexes *idx);
int merge_direct_end(merge_ctx *m, int park, deferred_indexes *idx);

/* Writes the rows of km (row i has km's entry i as key, filled by row):
 * those of fresh games straight into w->table in key order, the others
 * through w->stage and one delete + insert by key (w->upsert instead, when
 * set and some row replaces a stored one). */
int merge_write_rows(merge_ctx *m, const fact_writer *w, const keymap *km, row_fn row,
                     void *ctx);

#endif
