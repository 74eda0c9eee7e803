/* test_keymap.c - dense ids for string keys and fingerprint sets, as the
 * fold uses them: 200000 keys in 3 namespaces (shared prefixes, lengths 1
 * to 40, some keys in two namespaces) get ids 0, 1, 2, ... in order of
 * first put; a second put, a get, and a put with the hash copied from
 * another map's entry all give the same id; absent keys are absent; a
 * reserve keeps every id and makes the next puts move nothing. The
 * fingerprint set: new, then present with the first payload (16 bits, in
 * the top of hi, which is no part of the fingerprint); (0, 0) is a
 * legal fingerprint; a reserve keeps every entry. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "keymap.h"

#define N_KEYS 200000

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Key i: a prefix shared by many keys, then i in base 36, then padding. */
static size_t make_key(size_t i, char *out)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t n = 0, pad = (i * 7) % 24;
    size_t v = i;
    memcpy(out, i % 3 ? "acct-" : "", i % 3 ? 5 : 0);
    n = i % 3 ? 5 : 0;
    do {
        out[n++] = digits[v % 36];
        v /= 36;
    } while (v);
    while (pad--)
        out[n++] = (char)('A' + (i + pad) % 26);
    out[n] = '\0';
    return n;
}

static void test_keymap(void)
{
    keymap m, other;
    char key[64];
    size_t i, bad = 0;
    int is_new;
    uint32_t *ns = malloc(N_KEYS * sizeof *ns);

    keymap_init(&m);
    keymap_init(&other);
    CHECK(ns != NULL);
    if (!ns)
        return;
    for (i = 0; i < N_KEYS; i++) {
        size_t n = make_key(i, key);
        ns[i] = (uint32_t)(next_rand() % 3);
        if (keymap_put(&m, ns[i], key, n, &is_new) != (int64_t)i || !is_new)
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(m.count, N_KEYS);
    /* The same key in another namespace is another key. */
    CHECK_INT(keymap_put(&m, 7, "acct-1", 6, &is_new), N_KEYS);
    CHECK_INT(is_new, 1);
    CHECK_INT(keymap_get(&m, 8, "acct-1", 6), -1);
    for (i = 0, bad = 0; i < N_KEYS; i++) {
        size_t n = make_key(i, key);
        if (keymap_put(&m, ns[i], key, n, &is_new) != (int64_t)i || is_new ||
            keymap_get(&m, ns[i], key, n) != (int64_t)i ||
            keymap_get(&m, (ns[i] + 1) % 3 + 3, key, n) != -1 ||
            strcmp(keymap_at(&m, (uint32_t)i)->key, key) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
    /* Absent: a key one byte longer or shorter. */
    for (i = 0, bad = 0; i < N_KEYS; i += 97) {
        size_t n = make_key(i, key);
        key[n] = '#';
        if (keymap_get(&m, ns[i], key, n + 1) != -1 || (n > 1 && keymap_get(&m, ns[i], key, n - 1) == (int64_t)i))
            bad++;
    }
    CHECK_INT(bad, 0);
    /* keymap_hash is an entry's hash, and keymap_get_hashed finds by it. */
    for (i = 0, bad = 0; i < N_KEYS; i += 7) {
        const keymap_entry *e = keymap_at(&m, (uint32_t)i);
        if (keymap_hash(e->ns, e->key, e->len) != e->hash ||
            keymap_get_hashed(&m, e->ns, e->key, e->len, e->hash) != (int64_t)i)
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(keymap_get_hashed(&m, 8, "acct-1", 6, keymap_hash(8, "acct-1", 6)), -1);
    /* Folding m into another map with the hashes copied, after a reserve. */
    CHECK_INT(keymap_put(&other, 0, "first", 5, &is_new), 0);
    CHECK_INT(keymap_reserve(&other, m.count), 0);
    {
        uint64_t *slots = other.slots;
        for (i = 0, bad = 0; i < m.count; i++) {
            const keymap_entry *e = keymap_at(&m, (uint32_t)i);
            keymap_prefetch(&other, e->hash);
            if (keymap_put_hashed(&other, e->ns, e->key, e->len, e->hash, &is_new) !=
                    (int64_t)i + 1 || !is_new)
                bad++;
        }
        CHECK_INT(bad, 0);
        CHECK(other.slots == slots); /* reserved: no regrowth */
    }
    for (i = 0, bad = 0; i < N_KEYS; i++) {
        size_t n = make_key(i, key);
        if (keymap_get(&other, ns[i], key, n) != (int64_t)i + 1)
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(keymap_get(&other, 0, "first", 5), 0);
    keymap_free(&m);
    keymap_free(&other);
    free(ns);
}

static void test_fp_set(void)
{
    fp_set s;
    size_t i, bad = 0;
    uint32_t payload = 0;
    fp_entry *before;

    fp_set_init(&s);
    for (i = 0; i < N_KEYS; i++)
        if (fp_set_add(&s, (i + 1) * 0x9e3779b97f4a7c15ull, i, (uint32_t)i & 0xffff, NULL) != 1)
            bad++;
    CHECK_INT(bad, 0);
    CHECK_INT(s.count, N_KEYS);
    CHECK_INT(fp_set_add(&s, 0, 0, 7, NULL), 1); /* (0, 0) is a fingerprint too */
    CHECK_INT(fp_set_add(&s, 0, 0, 8, &payload), 0);
    CHECK_INT(payload, 7);
    CHECK_INT(fp_set_reserve(&s, 3 * N_KEYS), 0);
    before = s.slot;
    for (i = 0, bad = 0; i < N_KEYS; i++) {
        fp_set_prefetch(&s, (i + 1) * 0x9e3779b97f4a7c15ull, i);
        if (fp_set_add(&s, (i + 1) * 0x9e3779b97f4a7c15ull, i, 99, &payload) != 0 ||
            payload != ((uint32_t)i & 0xffff))
            bad++;
    }
    CHECK_INT(bad, 0);
    for (i = 0, bad = 0; i < N_KEYS; i++)
        if (fp_set_add(&s, (i + 1) * 0x9e3779b97f4a7c15ull, i + 1, 5, NULL) != 1)
            bad++; /* a different high half is a different fingerprint */
    CHECK_INT(bad, 0);
    CHECK(s.slot == before); /* reserved: no regrowth */
    /* hi's top 16 bits are not part of the fingerprint (the payload's
     * place): (lo, hi) and (lo, hi | 0xabcd << 48) are the same */
    CHECK_INT(fp_set_add(&s, 12345, 777, 0xffff, NULL), 1);
    CHECK_INT(fp_set_add(&s, 12345, 777 | (uint64_t)0xabcd << 48, 3, &payload), 0);
    CHECK_INT(payload, 0xffff);
    CHECK_INT(fp_set_add(&s, 12345, 778, 3, &payload), 1);
    CHECK_INT(sizeof(fp_entry), 16);
    CHECK_INT(s.count, 2 * N_KEYS + 3);
    fp_set_free(&s);
}

/* keymap_peek, the prefetch guess: for a key in its home slot it is the
 * key's id; it is never an id that is not in the map; an empty map or an
 * empty slot gives -1. Most keys of a map at most half full sit in their
 * home slot, so most guesses are right. */
static void test_peek(void)
{
    keymap m;
    char key[32];
    size_t i, right = 0, invalid = 0, misses = 0;
    int is_new;

    keymap_init(&m);
    CHECK_INT(keymap_peek(&m, 12345), -1);
    for (i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "acct-%zu", i * 7919);
        CHECK_INT(keymap_put(&m, 1, key, strlen(key), &is_new), (long long)i);
    }
    for (i = 0; i < 20000; i++) {
        const keymap_entry *e = keymap_at(&m, (uint32_t)i);
        int64_t id = keymap_peek(&m, e->hash);
        right += id == (int64_t)i;
        invalid += id < -1 || id >= (int64_t)m.count;
    }
    CHECK_INT(invalid, 0);
    CHECK(right > 15000);
    for (i = 0; i < 20000; i++) {
        uint64_t h = hash_bytes(&i, sizeof i, 42); /* keys never put */
        int64_t id = keymap_peek(&m, h);
        misses += id == -1;
        invalid += id < -1 || id >= (int64_t)m.count;
    }
    CHECK_INT(invalid, 0);
    CHECK(misses > 19900); /* a right tag in the home slot: 1 in 2^32 */
    keymap_free(&m);
}

int main(void)
{
    test_peek();
    test_keymap();
    test_fp_set();
    return check_done("test_keymap");
}
