/*
 * merge_ctx.c - the merge's shared helpers and its one way of writing rows
 * (see merge_ctx.h).
 */
#include "merge_ctx.h"

#include <stdio.h>
#include <stdlib.h>

/* Whether some game is fresh for this kind, and whether some is not: which
 * of the two loads (straight into the table, through staging) are needed. */
void merge_kind_mix(const merge_ctx *m, int kind, int *any_fresh, int *any_stored)
{
    size_t g;
    *any_fresh = *any_stored = 0;
    for (g = 0; g < m->cfg->n_games; g++) {
        if (merge_is_fresh(m, (uint32_t)g, kind))
            *any_fresh = 1;
        else
            *any_stored = 1;
    }
}

int merge_mark_dirty(merge_ctx *m, int game, int64_t day)
{
    uint64_t key = ((uint64_t)(game + 1) << 32) | (uint32_t)(int32_t)day;
    if (fp_set_add(&m->dirty, key, 0, 0, NULL) < 0)
        return ms_error_set(m->err, "out of memory");
    return 0;
}

int merge_load_begin(merge_ctx *m, const char *table, const char *cols, const char *types)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM %s", table);
    if (wh_exec(m->wh, sql, m->err) != 0)
        return -1;
    return m->wh->ops->load_begin(m->wh->db, table, cols, types, m->err);
}

int merge_load_row(merge_ctx *m, const char *const *vals)
{
    return m->wh->ops->load_row(m->wh->db, vals, m->err);
}

int merge_load_end(merge_ctx *m)
{
    return m->wh->ops->load_end(m->wh->db, m->err);
}

/* Decimal text of v, as "%" PRId64 writes it: a few million of these per
 * first load (every timestamp and day of every row), where snprintf's
 * format parsing was 0.3 s of the 5M event store. */
void merge_fmt_i64(char out[24], int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[i++] = '-';
    while (n)
        out[i++] = tmp[--n];
    out[i] = '\0';
}

int merge_read_dirty_row(void *ctx, int ncols, const char *const *v)
{
    merge_ctx *m = ctx;
    int g;
    (void)ncols;
    if (!v[0] || !v[1])
        return 0;
    g = config_game_index(m->cfg, v[0]);
    if (g < 0)
        return 0;
    return merge_mark_dirty(m, g, strtoll(v[1], NULL, 10)) ? -1 : 0;
}

/* Starts the direct load of a first load into `table`: its secondary
 * indexes are put aside when it is empty (load_order.h). */
int merge_direct_begin(merge_ctx *m, const char *table, const char *columns,
                       const char *types, deferred_indexes *idx)
{
    if (deferred_indexes_drop(m->wh, table, idx, m->err) != 0)
        return -1;
    return m->wh->ops->load_begin(m->wh->db, table, columns, types, m->err);
}

/* Ends a direct load: the indexes put aside are built again now, or, for
 * the big tables the first load's reports do not look up by them, parked
 * to be built while the reports are computed (load_order.h). */
int merge_direct_end(merge_ctx *m, int park, deferred_indexes *idx)
{
    if (merge_load_end(m) != 0)
        return -1;
    return park ? deferred_indexes_park(m->wh, idx, m->err)
                : deferred_indexes_restore(m->wh, idx, m->err);
}

/* Writes the rows of km (row i has km's entry i as key): those of fresh
 * games straight into the table, in key order, the others through the
 * staging table and one delete + insert by key (or one upsert). */
int merge_write_rows(merge_ctx *m, const fact_writer *w, const keymap *km, row_fn row,
                     void *ctx)
{
    const char *vals[32];
    char bufs[12][24];
    size_t n, staged = 0, replacing = 0;
    int direct, any_fresh, any_stored, rc = -1;
    uint32_t *order = NULL;
    deferred_indexes idx = {NULL, 0, 0};

    merge_kind_mix(m, w->kind, &any_fresh, &any_stored);
    for (direct = 1; direct >= 0; direct--) {
        if (direct ? !any_fresh : !any_stored)
            continue;
        if (direct && km->count > 0 && !(order = load_order_by_key(km, m->game_rank))) {
            ms_error_set(m->err, "out of memory");
            goto out;
        }
        if (direct ? merge_direct_begin(m, w->table, w->columns, w->types, &idx) != 0
                   : merge_load_begin(m, w->stage, w->columns, w->types) != 0)
            goto out;
        for (n = 0; n < km->count; n++) {
            size_t i = direct ? order[n] : n;
            int r;
            if (merge_is_fresh(m, keymap_at(km, (uint32_t)i)->ns, w->kind) != direct)
                continue;
            r = row(m, ctx, i, vals, bufs);
            if (r < 0 || (r > 0 && merge_load_row(m, vals) != 0))
                goto out; /* the caller rolls back; the load ends with the connection */
            staged += r > 0 && !direct;
            replacing += r == ROW_REPLACE && !direct;
        }
        if (direct ? merge_direct_end(m, w->park_indexes, &idx) != 0 : merge_load_end(m) != 0)
            goto out;
    }
    /* A night's staged rows are mostly new keys; the delete, a probe of
     * the table's key index per staged row, is made only when one of them
     * replaces a stored row (a first event that arrived late). */
    rc = 0;
    if (staged && replacing && w->upsert)
        rc = wh_exec(m->wh, w->upsert, m->err);
    else if (staged && ((replacing && w->before_remove && w->before_remove(m) != 0) ||
                        (replacing && wh_exec(m->wh, w->remove, m->err) != 0) ||
                        wh_exec(m->wh, w->insert, m->err) != 0))
        rc = -1;
out:
    free(order);
    deferred_indexes_free(&idx);
    return rc;
}
