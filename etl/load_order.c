/*
 * load_order.c - key order and deferred indexes for first loads (see
 * load_order.h).
 */
#include "load_order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- key order ------------------------------------------------------------- */

/* A sort entry: the game's rank and the key's first 8 bytes (big-endian,
 * zero-padded) decide most comparisons without touching the key itself;
 * only equal prefixes go to the bytes. 16 bytes, sorted in place. */
typedef struct key_sort {
    uint64_t prefix;
    uint32_t rank;
    uint32_t id;
} key_sort;

static uint64_t key_prefix(const keymap_entry *e)
{
    uint64_t p = 0;
    uint32_t i;
    for (i = 0; i < 8; i++)
        p = p << 8 | (i < e->len ? (unsigned char)e->key[i] : 0);
    return p;
}

/* (game rank, key bytes, key length): memcmp on the shorter length, then
 * the shorter first, as SQLite compares BINARY text. A zero-padded prefix
 * keeps that order: a shorter key ties with or precedes a longer one that
 * it begins, and NUL is the smallest byte. */
static int cmp_sort(const void *a, const void *b, void *ctx)
{
    const keymap *km = ctx;
    const key_sort *x = a, *y = b;
    const keymap_entry *ex, *ey;
    int c;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    ex = keymap_at(km, x->id);
    ey = keymap_at(km, y->id);
    c = memcmp(ex->key, ey->key, ex->len < ey->len ? ex->len : ey->len);
    if (c != 0)
        return c;
    return (ex->len > ey->len) - (ex->len < ey->len);
}

/* Least-significant-digit radix sort, 16 bits a pass, of n records of
 * `size` bytes by the 64-bit words word(rec, 0) (least significant) to
 * word(rec, words - 1): stable, one
 * counting pass and one scatter per 16 bits, and a pass is skipped when
 * every record has the same digit there (the game rank of a single game,
 * the high bits of small numbers). tmp holds n records. Sorting the 537K
 * device keys of the 5M event bench this way instead of with qsort_r
 * (whose every comparison is an indirect call) is what this is for. */
#define RADIX_BITS 16
#define RADIX_SIZE ((size_t)1 << RADIX_BITS)

typedef uint64_t (*radix_word)(const void *rec, int word);

static void radix_sort(void *base, void *tmp, size_t n, size_t size, int words,
                       radix_word word, size_t *count)
{
    unsigned char *src = base, *dst = tmp;
    int w, shift;
    for (w = 0; w < words; w++) {
        for (shift = 0; shift < 64; shift += RADIX_BITS) {
            size_t i, sum = 0, first;
            memset(count, 0, RADIX_SIZE * sizeof *count);
            for (i = 0; i < n; i++)
                count[word(src + i * size, w) >> shift & (RADIX_SIZE - 1)]++;
            first = word(src, w) >> shift & (RADIX_SIZE - 1);
            if (count[first] == n)
                continue; /* one digit value: the pass would move nothing */
            for (i = 0; i < RADIX_SIZE; i++) {
                size_t c = count[i];
                count[i] = sum;
                sum += c;
            }
            for (i = 0; i < n; i++) {
                const unsigned char *r = src + i * size;
                memcpy(dst + count[word(r, w) >> shift & (RADIX_SIZE - 1)]++ * size, r, size);
            }
            {
                unsigned char *t = src;
                src = dst;
                dst = t;
            }
        }
    }
    if (src != base)
        memcpy(base, src, n * size);
}

/* Digits of a key_sort: the prefix first (least significant), then the
 * rank. */
static uint64_t key_sort_word(const void *rec, int w)
{
    const key_sort *k = rec;
    return w == 0 ? k->prefix : k->rank;
}

static uint64_t u64_word(const void *rec, int w)
{
    uint64_t v;
    (void)w;
    memcpy(&v, rec, sizeof v);
    return v;
}

/* Below this many records a comparison sort is quicker than the passes. */
#define RADIX_MIN 4096

uint32_t *load_order_by_key(const keymap *km, const uint32_t *game_rank)
{
    key_sort *order = NULL, *tmp = NULL;
    uint32_t *ids = NULL;
    size_t *count = NULL;
    size_t i, j, n = km->count;
    if (n == 0)
        return NULL;
    if (!(order = malloc(n * sizeof *order)) || !(ids = malloc(n * sizeof *ids)))
        goto fail;
    for (i = 0; i < n; i++) {
        const keymap_entry *e = keymap_at(km, (uint32_t)i);
        order[i].prefix = key_prefix(e);
        order[i].rank = game_rank[e->ns];
        order[i].id = (uint32_t)i;
    }
    if (n >= RADIX_MIN && (tmp = malloc(n * sizeof *tmp)) &&
        (count = malloc(RADIX_SIZE * sizeof *count))) {
        /* (rank, prefix) by radix; keys that share both are few (the
         * prefix is 8 bytes) and are put in order by their bytes. */
        radix_sort(order, tmp, n, sizeof *order, 2, key_sort_word, count);
        for (i = 0; i < n; i = j) {
            for (j = i + 1; j < n && order[j].rank == order[i].rank &&
                            order[j].prefix == order[i].prefix;
                 j++)
                ;
            if (j - i > 1)
                qsort_r(order + i, j - i, sizeof *order, cmp_sort, (void *)km);
        }
    } else {
        qsort_r(order, n, sizeof *order, cmp_sort, (void *)km);
    }
    for (i = 0; i < n; i++)
        ids[i] = order[i].id;
    goto out;
fail:
    free(ids);
    ids = NULL;
out:
    free(order);
    free(tmp);
    free(count);
    return ids;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void load_order_sort_u64(uint64_t *keys, size_t n)
{
    uint64_t *tmp = NULL;
    size_t *count = NULL;
    if (n >= RADIX_MIN && (tmp = malloc(n * sizeof *tmp)) &&
        (count = malloc(RADIX_SIZE * sizeof *count)))
        radix_sort(keys, tmp, n, sizeof *keys, 1, u64_word, count);
    else if (n > 1)
        qsort(keys, n, sizeof *keys, cmp_u64); /* small, or no memory for the passes */
    free(tmp);
    free(count);
}

/* ---- account-days in key order --------------------------------------------------- */

int activity_order_make(activity_order *o, const fp_set *activity, const keymap *accounts,
                        const uint32_t *game_rank, size_t n_games, const uint8_t *want)
{
    uint32_t *rank = NULL;
    int32_t last_day = 0;
    size_t i, n = 0;
    int rc = -1;

    memset(o, 0, sizeof o[0]);
    for (i = 0; i < activity->n_slots; i++) {
        uint64_t key = activity->slot[i].lo;
        int32_t d;
        if (!key || !want[keymap_at(accounts, activity_account(key))->ns])
            continue;
        d = activity_day(key);
        if (n == 0 || d < o->first_day)
            o->first_day = d;
        if (n == 0 || d > last_day)
            last_day = d;
        n++;
    }
    if (n == 0 || n_games > 1024 || (int64_t)last_day - o->first_day >= (1 << 22))
        return 0;
    if (!(o->by_key = load_order_by_key(accounts, game_rank)) ||
        !(rank = malloc(accounts->count * sizeof *rank)) || !(o->keys = malloc(n * sizeof *o->keys)))
        goto out;
    for (i = 0; i < accounts->count; i++)
        rank[o->by_key[i]] = (uint32_t)i;
    for (i = 0; i < activity->n_slots; i++) {
        uint64_t key = activity->slot[i].lo;
        uint32_t acc;
        const keymap_entry *k;
        if (!key)
            continue;
        acc = activity_account(key);
        k = keymap_at(accounts, acc);
        if (!want[k->ns])
            continue;
        o->keys[o->n++] = (uint64_t)game_rank[k->ns] << 54 |
                          (uint64_t)(uint32_t)(activity_day(key) - o->first_day) << 32 | rank[acc];
    }
    load_order_sort_u64(o->keys, o->n);
    rc = 0;
out:
    free(rank);
    if (rc != 0)
        activity_order_free(o);
    return rc;
}

void activity_order_free(activity_order *o)
{
    free(o->by_key);
    free(o->keys);
    memset(o, 0, sizeof o[0]);
}

uint64_t activity_ordered_row(const activity_order *o, const fp_set *activity, size_t i)
{
    uint64_t k;
    if (!o->keys)
        return activity->slot[i].lo;
    k = o->keys[i];
    return (uint64_t)(o->by_key[(uint32_t)k] + 1) << 32 |
           (uint32_t)(o->first_day + (int32_t)(k >> 32 & ((1u << 22) - 1)));
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
    if (!(ix = ms_grow(d->ix, &d->cap, d->n + 1, sizeof *ix, 8))) {
        l->oom = 1;
        return 1;
    }
    d->ix = ix;
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
    if (d->n && wh->ops->index_build_begin)
        rc = wh_exec(wh, wh->ops->index_build_begin, err);
    for (i = 0; i < d->n && rc == 0; i++)
        rc = wh_exec(wh, d->ix[i].create, err);
    if (d->n && rc == 0 && wh->ops->index_build_end)
        rc = wh_exec(wh, wh->ops->index_build_end, err);
    deferred_indexes_free(d);
    return rc;
}

/* ---- parked indexes ------------------------------------------------------------ */

int deferred_indexes_park(warehouse *wh, deferred_indexes *d, ms_error *err)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < d->n && rc == 0; i++) {
        const char *params[2] = {d->ix[i].name, d->ix[i].create};
        if (wh_query(wh, "INSERT INTO parked_indexes (name, create_sql) VALUES ($1, $2)", "tt",
                     params, NULL, NULL, err) < 0)
            rc = -1;
    }
    deferred_indexes_free(d);
    return rc;
}

int parked_indexes_count(warehouse *wh, int64_t *n, ms_error *err)
{
    int found = 0;
    *n = 0;
    return wh_query_int(wh, "SELECT count(*) FROM parked_indexes", "", NULL, n, &found, err);
}

int parked_indexes_build(warehouse *wh, size_t *built, ms_error *err)
{
    deferred_indexes d;
    index_list l = {&d, 0, 0};
    size_t n;

    memset(&d, 0, sizeof d);
    *built = 0;
    if (wh_begin(wh, err) != 0)
        return -1;
    if (wh_query(wh, "SELECT name, create_sql FROM parked_indexes ORDER BY name", "", NULL,
                 collect_index, &l, err) < 0)
        goto fail;
    if (l.oom) {
        ms_error_set(err, "out of memory listing the parked indexes");
        goto fail;
    }
    if (l.bad_name) {
        ms_error_set(err, "a parked index has an unexpected name; check the warehouse's "
                          "parked_indexes table");
        goto fail;
    }
    n = d.n;
    if (n > 0 && (deferred_indexes_restore(wh, &d, err) != 0 ||
                  wh_exec(wh, "DELETE FROM parked_indexes", err) != 0))
        goto fail;
    if (wh_commit(wh, err) != 0)
        goto fail; /* a COMMIT that failed may leave the transaction open */
    *built = n;
    return 0;
fail:
    wh_rollback(wh);
    deferred_indexes_free(&d);
    return -1;
}
