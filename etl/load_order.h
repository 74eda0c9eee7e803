/*
 * load_order.h - how a first load fills an empty fact table quickly.
 *
 * Two things make a bulk insert into an empty B-tree cheap: rows that arrive
 * in primary-key order (each insert lands on the rightmost leaf, the pages
 * are written once) and secondary indexes built once at the end by a sort
 * instead of maintained row by row in random order. The facts of a run come
 * out of hash tables, i.e. in random order; the SQLite experiment on the 5M
 * event bench (1.74M activity rows, tests/bench/RESULTS.md, 2026-11-26):
 * 13.5 s in hash order with the index in place, 9.8 s with the index built
 * after, 5.9 s sorted and the index built after.
 *
 * Only the speed depends on this module: the rows written and the indexes
 * in the end are the same whatever the order (tests/e2e/fresh_load.sh
 * compares a first load with the general path and the index definitions
 * with a new warehouse's).
 *
 * A first load of the big fact tables parks their secondary indexes
 * instead (deferred_indexes_park): their definitions go to the warehouse's
 * parked_indexes table in the facts' transaction, and parked_indexes_build
 * makes them in a transaction of its own, while the reports are computed
 * (etl/index_builder.h; a first load's reports read those tables in key order and
 * need none of them). A run that stops between the two leaves them parked;
 * the next one builds them before it merges.
 *
 * Ownership: load_order_by_key returns an array the caller frees;
 * activity_order owns its arrays until activity_order_free;
 * deferred_indexes owns its strings until deferred_indexes_restore or
 * deferred_indexes_free.
 */
#ifndef MOONSTAT_LOAD_ORDER_H
#define MOONSTAT_LOAD_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "facts.h"
#include "keymap.h"
#include "warehouse.h"

/* The ids of km ordered as the warehouse orders (game_id, key...): by
 * game_rank[ns] (the rank of the game's id among the configured ids), then
 * by the key's bytes (a two-part key "a NUL b" sorts as (a, b)), the order
 * of SQLite's BINARY collation and of PostgreSQL's "C" collation. Returns
 * a malloc'ed array of km->count ids, NULL when out of memory (or when km
 * is empty: nothing to order). */
uint32_t *load_order_by_key(const keymap *km, const uint32_t *game_rank);

/* Sorts n 64-bit keys in ascending order. */
void load_order_sort_u64(uint64_t *keys, size_t n);

/* The account-days of a batch (facts.h: activity keys (account id + 1) <<
 * 32 | day, account ids of `accounts`) whose account's game g has
 * want[g] != 0, in the warehouse's key order (game_id, day, account_id):
 * sort keys of (game rank, day - first day, account rank) in 10 + 22 + 32
 * bits, decoded by activity_ordered_row. keys stays NULL (slot order) when
 * there is nothing to sort or the batch does not fit that packing. */
typedef struct activity_order {
    uint64_t *keys;       /* owned */
    size_t n;
    uint32_t *by_key;     /* owned: account ids in key order */
    int32_t first_day;
} activity_order;

/* Fills *o (zeroed first). Returns 0, or -1 when out of memory (*o left
 * empty). Free with activity_order_free. */
int activity_order_make(activity_order *o, const fp_set *activity, const keymap *accounts,
                        const uint32_t *game_rank, size_t n_games, const uint8_t *want);

void activity_order_free(activity_order *o);

/* Row i of the load: the i-th sorted key as an activity key, or else slot i
 * of activity (0 when the slot is empty). */
uint64_t activity_ordered_row(const activity_order *o, const fp_set *activity, size_t i);

/* The secondary indexes of one table, put aside during its first load. */
typedef struct deferred_index {
    char *name;      /* a plain identifier (checked before it goes into DROP INDEX) */
    char *create;    /* the CREATE INDEX statement, as the catalog has it */
} deferred_index;

typedef struct deferred_indexes {
    deferred_index *ix;
    size_t n, cap;
} deferred_indexes;

/* When `table` (a name from the code, never from data) holds no row and the
 * backend lists secondary indexes (warehouse_ops.secondary_indexes), drops
 * them inside the open transaction and keeps their definitions in *d;
 * otherwise leaves everything as it is (d->n == 0). Returns 0 or -1 (err
 * set; the caller rolls back, which brings the indexes back). */
int deferred_indexes_drop(warehouse *wh, const char *table, deferred_indexes *d, ms_error *err);

/* Creates the indexes of *d again (same transaction) and frees *d. */
int deferred_indexes_restore(warehouse *wh, deferred_indexes *d, ms_error *err);

/* Records the indexes of *d in parked_indexes (same transaction) instead of
 * creating them, and frees *d. Returns 0 or -1 (err set; the caller rolls
 * back). */
int deferred_indexes_park(warehouse *wh, deferred_indexes *d, ms_error *err);

/* The number of parked indexes in *n. Returns 0, or -1 with err set. */
int parked_indexes_count(warehouse *wh, int64_t *n, ms_error *err);

/* Creates the parked indexes and empties parked_indexes, in one transaction
 * of its own on wh (no transaction may be open on it); *built is how many.
 * Returns 0, or -1 with err set (rolled back: they stay parked). */
int parked_indexes_build(warehouse *wh, size_t *built, ms_error *err);

/* Frees *d without creating anything (on the error path: the rollback
 * restores the catalog). */
void deferred_indexes_free(deferred_indexes *d);

#endif
