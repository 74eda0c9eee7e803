/* test_load_order.c - a first load's key order is SQLite's own: random keys
 * (one- and two-part, shared prefixes, prefixes of each other, bytes from
 * 0x01 to 0xff, empty parts, three games ranked by id) sorted by
 * load_order_by_key come out exactly as an in-memory SQLite table of the same
 * keys ORDER BY game_id, k1[, k2] returns them, for sets large enough for
 * the radix passes and small ones. load_order_sort_u64 sorts as qsort does,
 * with repeated keys, keys that differ in one 16-bit digit only, and keys
 * that are all the same. activity_order_make puts a batch's account-days of
 * the wanted games in (game id, day, account id) order. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "keymap.h"
#include "load_order.h"

static const char *const games[] = {"star", "reversal", "rainbow"};
static const uint32_t game_rank[] = {2, 1, 0}; /* rank of each id among the three */

/* A random part: 0-20 bytes from a small alphabet so that prefixes repeat;
 * a third of the longer ones begin with the same 8 bytes. */
static size_t random_part(char *out, unsigned *seed)
{
    static const unsigned char alphabet[] = {0x01, '0', '1', '9', 'A', 'a', 'z', '-', 0x7f,
                                             0x80, 0xc3, 0xff};
    size_t n = (size_t)(rand_r(seed) % 21), i, from = 0;
    if (rand_r(seed) % 4 == 0)
        n = (size_t)(rand_r(seed) % 10); /* more short keys: prefixes of longer ones */
    if (n > 8 && rand_r(seed) % 3 == 0) {
        memcpy(out, "acct-000", 8); /* many keys alike in their first 8 bytes */
        from = 8;
    }
    for (i = from; i < n; i++)
        out[i] = (char)alphabet[rand_r(seed) % sizeof alphabet];
    return n;
}

static void check_order(int parts, unsigned seed, size_t puts)
{
    keymap km;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *sel = NULL;
    uint32_t *order = NULL;
    size_t i, n = 0, mismatches = 0;

    keymap_init(&km);
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE k (game_id TEXT, k1 TEXT, k2 TEXT, id INTEGER)", NULL,
                       NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO k VALUES (?, ?, ?, ?)", -1, &ins, NULL) ==
          SQLITE_OK);
    for (i = 0; i < puts; i++) {
        char key[64];
        size_t a = random_part(key, &seed), b = 0;
        uint32_t g = (uint32_t)(rand_r(&seed) % 3);
        int is_new;
        int64_t id;
        if (parts == 2) {
            key[a] = '\0';
            b = random_part(key + a + 1, &seed);
        }
        id = keymap_put(&km, g, key, parts == 2 ? a + 1 + b : a, &is_new);
        CHECK(id >= 0);
        if (!is_new)
            continue;
        sqlite3_bind_text(ins, 1, games[g], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, key, (int)a, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, parts == 2 ? key + a + 1 : "", (int)b, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 4, id);
        CHECK(sqlite3_step(ins) == SQLITE_DONE);
        sqlite3_reset(ins);
        n++;
    }
    CHECK_INT(km.count, n);
    CHECK(n > puts / 4); /* enough distinct keys, with many shared prefixes */
    order = load_order_by_key(&km, game_rank);
    CHECK(order != NULL);
    CHECK(sqlite3_prepare_v2(db, "SELECT id FROM k ORDER BY game_id, k1, k2", -1, &sel, NULL) ==
          SQLITE_OK);
    for (i = 0; order && sqlite3_step(sel) == SQLITE_ROW; i++)
        mismatches += i >= n || order[i] != (uint32_t)sqlite3_column_int64(sel, 0);
    CHECK_INT(i, n);
    CHECK_INT(mismatches, 0);
    free(order);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_close(db);
    keymap_free(&km);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* load_order_sort_u64 against qsort: n keys, some repeated, with their
 * variety in the bits `mask` keeps (one 16-bit digit, all of them, ...). */
static void check_sort_u64(size_t n, uint64_t mask, unsigned seed)
{
    uint64_t *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    size_t i, mismatches = 0;
    CHECK(a && b);
    if (!a || !b)
        goto out;
    for (i = 0; i < n; i++) {
        uint64_t v = (uint64_t)rand_r(&seed) << 42 ^ (uint64_t)rand_r(&seed) << 21 ^
                     (uint64_t)rand_r(&seed) ^ (uint64_t)rand_r(&seed) << 62;
        a[i] = b[i] = i % 5 == 0 && i ? a[i / 2] : (v & mask) | 0x0123000000000000ull;
    }
    load_order_sort_u64(a, n);
    qsort(b, n, sizeof *b, cmp_u64);
    for (i = 0; i < n; i++)
        mismatches += a[i] != b[i];
    CHECK_INT(mismatches, 0);
out:
    free(a);
    free(b);
}

/* activity_order_make: the account-days of the wanted games come out in
 * (game id, day, account id) order, each once, the others not at all; with
 * no game wanted, nothing is sorted. */
static void check_activity_order(void)
{
    static const char *const ids[] = {"b", "a", "c", "aa"};
    keymap accounts;
    fp_set activity;
    activity_order o;
    const uint8_t want[3] = {1, 1, 0}; /* star, reversal; not rainbow */
    const uint8_t none[3] = {0, 0, 0};
    uint64_t prev_sort = 0;
    size_t i, n_wanted = 0;
    int is_new;

    keymap_init(&accounts);
    fp_set_init(&activity);
    /* 4 accounts in each game (ids 0-11: game = id / 4), days 20000-20004. */
    for (i = 0; i < 12; i++)
        CHECK_INT(keymap_put(&accounts, (uint32_t)(i / 4), ids[i % 4], strlen(ids[i % 4]), &is_new),
                  (int64_t)i);
    for (i = 0; i < 12; i++)
        for (int32_t d = 20004; d >= 20000; d -= 1 + (int32_t)(i % 2)) {
            uint64_t key = (uint64_t)(i + 1) << 32 | (uint32_t)d;
            CHECK_INT(fp_set_add(&activity, key, 0, 0, NULL), 1);
            n_wanted += i / 4 < 2;
        }
    CHECK_INT(activity_order_make(&o, &activity, &accounts, game_rank, 3, want), 0);
    CHECK(o.keys != NULL);
    CHECK_INT(o.n, n_wanted);
    for (i = 0; i < o.n; i++) {
        uint64_t key = activity_ordered_row(&o, &activity, i);
        uint32_t acc = (uint32_t)(key >> 32) - 1;
        const keymap_entry *k = keymap_at(&accounts, acc);
        /* the order as a number: game rank, day, account id's bytes (<= 2) */
        uint64_t sort = (uint64_t)game_rank[k->ns] << 48 | (uint64_t)(uint32_t)key << 16 |
                        (uint64_t)(unsigned char)k->key[0] << 8 |
                        (k->len > 1 ? (unsigned char)k->key[1] : 0);
        CHECK(want[k->ns]);
        CHECK(i == 0 || sort > prev_sort);
        prev_sort = sort;
    }
    activity_order_free(&o);
    CHECK(o.keys == NULL && o.by_key == NULL);
    CHECK_INT(activity_order_make(&o, &activity, &accounts, game_rank, 3, none), 0);
    CHECK(o.keys == NULL);
    CHECK(activity_ordered_row(&o, &activity, 0) == activity.slot[0].lo); /* slot order */
    activity_order_free(&o);
    fp_set_free(&activity);
    keymap_free(&accounts);
}

int main(void)
{
    keymap empty;
    /* 20000 puts: the radix passes and the ties of 8-byte prefixes; 2000:
     * the comparison sort of small sets */
    check_order(1, 7, 20000);
    check_order(2, 11, 20000);
    check_order(1, 13, 2000);
    check_order(2, 17, 2000);
    check_sort_u64(0, ~0ull, 1);
    check_sort_u64(1, ~0ull, 1);
    check_sort_u64(3000, ~0ull, 2);
    check_sort_u64(100000, ~0ull, 3);
    check_sort_u64(100000, 0xffffull << 32, 4);  /* one digit varies */
    check_sort_u64(100000, 0, 5);                /* every key the same */
    check_activity_order();
    keymap_init(&empty);
    CHECK(load_order_by_key(&empty, game_rank) == NULL); /* nothing to order */
    keymap_free(&empty);
    return check_done("test_load_order");
}
