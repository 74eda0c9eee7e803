/*
 * load_order.c - key order and deferred indexes for first loads (see
 * load_order.h).
 */
#include "load_order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- key order ------------------------------------------------------------- */

typedef struct key_order {
    const keymap *km;
    const uint32_t *game_rank;
} key_order;

/* (game rank, key bytes, key length): memcmp on the shorter length, then
 * the shorter first, as SQLite compares BINARY text. */
static int cmp_ids(const void *a, const void *b, void *ctx)
{
    const key_order *o = ctx;
    const keymap_entry *x = keymap_at(o->km, *(const uint32_t *)a);
    const keymap_entry *y = keymap_at(o->km, *(const uint32_t *)b);
    uint32_t rx = o->game_rank[x->ns], ry = o->game_rank[y->ns];
    int c;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

uint32_t *load_order_by_key(const keymap *km, const uint32_t *game_rank)
{
    key_order o = {km, game_rank};
    uint32_t *ids;
    size_t i;
    if (km->count == 0 || !(ids = malloc(km->count * sizeof *ids)))
        return NULL;
    for (i = 0; i < km->count; i++)
        ids[i] = (uint32_t)i;
    qsort_r(ids, km->count, sizeof *ids, cmp_ids, &o);
    return ids;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void load_order_sort_u64(uint64_t *keys, size_t n)
{
    if (n > 1)
        qsort(keys, n, sizeof *keys, cmp_u64);
}

/* ---- deferred indexes ---------------------------------------------------------- */

void deferred_indexes_free(deferred_indexes *d)
{
    size_t i;
    for (i = 0; i < d->n; i++) {
        free(d->ix[i].name);
        free(d->ix[i].create);
    }
    free(d->ix);
    memset(d, 0, sizeof *d);
}

/* An index name from the catalog goes into DROP INDEX as an identifier: it
 * must be one the schema files could have written. */
static int plain_identifier(const char *s)
{
    size_t i;
    if (!s || !*s || strlen(s) > 63)
        return 0;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

typedef struct index_list {
    deferred_indexes *d;
    int oom;
    int bad_name;
} index_list;

/* Row: name, CREATE statement. */
static int collect_index(void *ctx, int ncols, const char *const *v)
{
    index_list *l = ctx;
    deferred_indexes *d = l->d;
    deferred_index *ix;
    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    if (!plain_identifier(v[0])) {
        l->bad_name = 1;
        return 1;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        deferred_index *p = realloc(d->ix, cap * sizeof *p);
        if (!p) {
            l->oom = 1;
            return 1;
        }
        d->ix = p;
        d->cap = cap;
    }
    ix = &d->ix[d->n];
    ix->name = strdup(v[0]);
    ix->create = strdup(v[1]);
    d->n++; /* freed with d, even half made */
    if (!ix->name || !ix->create) {
        l->oom = 1;
        return 1;
    }
    return 0;
}

int deferred_indexes_drop(warehouse *wh, const char *table, deferred_indexes *d, ms_error *err)
{
    index_list l = {d, 0, 0};
    char sql[128];
    const char *params[1] = {table};
    int64_t any = 0;
    int found = 0;
    size_t i;

    memset(d, 0, sizeof *d);
    if (!wh->ops->secondary_indexes)
        return 0;
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s LIMIT 1", table);
    if (wh_query_int(wh, sql, "", NULL, &any, &found, err) != 0)
        return -1;
    if (found)
        return 0; /* not a first load: the indexes serve the merge */
    if (wh_query(wh, wh->ops->secondary_indexes, "t", params, collect_index, &l, err) < 0)
        goto fail;
    if (l.oom) {
        ms_error_set(err, "out of memory listing the indexes of %s", table);
        goto fail;
    }
    if (l.bad_name) {
        ms_error_set(err, "an index of %s has an unexpected name; check the warehouse schema",
                     table);
        goto fail;
    }
    for (i = 0; i < d->n; i++) {
        snprintf(sql, sizeof sql, "DROP INDEX %s", d->ix[i].name);
        if (wh_exec(wh, sql, err) != 0)
            goto fail;
    }
    return 0;
fail:
    deferred_indexes_free(d);
    return -1;
}

int deferred_indexes_restore(warehouse *wh, deferred_indexes *d, ms_error *err)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < d->n && rc == 0; i++)
        rc = wh_exec(wh, d->ix[i].create, err);
    deferred_indexes_free(d);
    return rc;
}
