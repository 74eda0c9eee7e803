/*
 * keymap.c - dense ids for string keys, arenas, fingerprint sets (keymap.h).
 */
#include "keymap.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (1u << 20)

struct arena_block {
    arena_block *next;
    size_t size;
    char data[];
};

void arena_init(arena *a)
{
    a->head = NULL;
    a->used_in_head = 0;
    a->bytes = 0;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    arena_init(a);
}

const char *arena_strndup(arena *a, const char *p, size_t n)
{
    char *dst;
    size_t need = n + 1;
    if (!a->head || a->head->size - a->used_in_head < need) {
        size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        arena_block *b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        if (a->head && size > ARENA_BLOCK) {
            /* A big one-off block goes behind the head so the head's free
             * room is not abandoned. */
            b->next = a->head->next;
            a->head->next = b;
            a->bytes += size;
            dst = b->data;
            memcpy(dst, p, n);
            dst[n] = '\0';
            return dst;
        }
        b->next = a->head;
        a->head = b;
        a->used_in_head = 0;
        a->bytes += size;
    }
    dst = a->head->data + a->used_in_head;
    a->used_in_head += need;
    if (n)
        memcpy(dst, p, n);
    dst[n] = '\0';
    return dst;
}

static inline uint64_t mix64(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                   k2 = 0x8ebc6af09c88c6e3ull;
    uint64_t h = seed ^ mix64(seed ^ k0, k1) ^ (uint64_t)n;
    while (n >= 16) {
        h = mix64(read64(p) ^ k1, read64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    if (n >= 8) {
        h = mix64(read64(p) ^ k2, h ^ k0);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t tail = 0;
        memcpy(&tail, p, n);
        h = mix64(tail ^ k1, h ^ k2);
    }
    return mix64(h ^ k0, h ^ k1 ^ (uint64_t)n);
}

void keymap_init(keymap *m)
{
    memset(m, 0, sizeof *m);
    arena_init(&m->strings);
}

void keymap_free(keymap *m)
{
    free(m->slots);
    free(m->entries);
    arena_free(&m->strings);
    memset(m, 0, sizeof *m);
}

static uint64_t key_hash(uint32_t ns, const char *key, size_t len)
{
    return hash_bytes(key, len, 0x9e3779b97f4a7c15ull * (ns + 1));
}

/* Doubles the slot table until count + extra keys keep it at most half
 * full. */
static int keymap_grow(keymap *m, size_t extra)
{
    size_t n = m->n_slots ? m->n_slots : 1024, i;
    uint64_t *slots;
    while ((m->count + extra) * 2 > n)
        n *= 2;
    if (n == m->n_slots)
        return 0;
    if (!(slots = ms_calloc_table(n, sizeof *slots)))
        return -1;
    for (i = 0; i < m->count; i++) {
        size_t s = (size_t)m->entries[i].hash & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = keymap_slot_of(m->entries[i].hash, i);
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n;
    return 0;
}

int keymap_reserve(keymap *m, size_t extra)
{
    return keymap_grow(m, extra);
}

uint64_t keymap_hash(uint32_t ns, const char *key, size_t len)
{
    return key_hash(ns, key, len);
}

int64_t keymap_get(const keymap *m, uint32_t ns, const char *key, size_t len)
{
    return keymap_get_hashed(m, ns, key, len, key_hash(ns, key, len));
}

int64_t keymap_get_hashed(const keymap *m, uint32_t ns, const char *key, size_t len, uint64_t h)
{
    size_t s;
    if (!m->n_slots)
        return -1;
    for (s = (size_t)h & (m->n_slots - 1); m->slots[s]; s = (s + 1) & (m->n_slots - 1)) {
        const keymap_entry *e;
        if (!keymap_slot_tag_is(m->slots[s], h))
            continue;
        e = &m->entries[keymap_slot_id(m->slots[s])];
        if (e->hash == h && e->ns == ns && e->len == len && memcmp(e->key, key, len) == 0)
            return (int64_t)keymap_slot_id(m->slots[s]);
    }
    return -1;
}

int64_t keymap_put_hashed(keymap *m, uint32_t ns, const char *key, size_t len, uint64_t h,
                          int *is_new)
{
    size_t s;
    keymap_entry *e;

    *is_new = 0;
    if ((m->count + 1) * 2 > m->n_slots && keymap_grow(m, 1) != 0)
        return -1;
    for (s = (size_t)h & (m->n_slots - 1); m->slots[s]; s = (s + 1) & (m->n_slots - 1)) {
        if (!keymap_slot_tag_is(m->slots[s], h))
            continue;
        e = &m->entries[keymap_slot_id(m->slots[s])];
        if (e->hash == h && e->ns == ns && e->len == len && memcmp(e->key, key, len) == 0)
            return (int64_t)keymap_slot_id(m->slots[s]);
    }
    if (m->count >= UINT32_MAX - 1)
        return -1; /* ids are 32-bit */
    if (m->count == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 1024;
        keymap_entry *ne = realloc(m->entries, ncap * sizeof *ne);
        if (!ne)
            return -1;
        m->entries = ne;
        m->cap = ncap;
    }
    e = &m->entries[m->count];
    e->key = arena_strndup(&m->strings, key, len);
    if (!e->key)
        return -1;
    e->len = (uint32_t)len;
    e->ns = ns;
    e->hash = h;
    m->slots[s] = keymap_slot_of(h, m->count);
    *is_new = 1;
    return (int64_t)m->count++;
}

int64_t keymap_put(keymap *m, uint32_t ns, const char *key, size_t len, int *is_new)
{
    return keymap_put_hashed(m, ns, key, len, key_hash(ns, key, len), is_new);
}

void fp_set_init(fp_set *s)
{
    memset(s, 0, sizeof *s);
}

void fp_set_free(fp_set *s)
{
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* Doubles the table until count + extra fingerprints keep it at most three
 * quarters full. */
static int fp_set_grow(fp_set *s, size_t extra)
{
    size_t n = s->n_slots ? s->n_slots : 4096, i;
    fp_entry *slot;
    while ((s->count + extra) * 4 > n * 3)
        n *= 2;
    if (n == s->n_slots)
        return 0;
    if (!(slot = ms_calloc_table(n, sizeof *slot)))
        return -1;
    for (i = 0; i < s->n_slots; i++) {
        const fp_entry *e = &s->slot[i];
        size_t j;
        if (!e->lo && !e->hi)
            continue;
        for (j = fp_slot(e->lo, e->hi & FP_HI_MASK, n - 1); slot[j].lo || slot[j].hi;
             j = (j + 1) & (n - 1))
            ;
        slot[j] = *e;
    }
    free(s->slot);
    s->slot = slot;
    s->n_slots = n;
    return 0;
}

int fp_set_reserve(fp_set *s, size_t extra)
{
    return fp_set_grow(s, extra);
}

int fp_set_add(fp_set *s, uint64_t lo, uint64_t hi, uint32_t payload, uint32_t *payload_out)
{
    size_t j;
    fp_entry *e;
    hi &= FP_HI_MASK;
    if (!lo && !hi)
        lo = 1; /* keep (0,0) as the empty marker */
    if ((s->count + 1) * 4 > s->n_slots * 3 && fp_set_grow(s, 1) != 0)
        return -1;
    for (j = fp_slot(lo, hi, s->n_slots - 1);; j = (j + 1) & (s->n_slots - 1)) {
        e = &s->slot[j];
        if (!e->lo && !e->hi)
            break;
        if (e->lo == lo && (e->hi & FP_HI_MASK) == hi) {
            if (payload_out)
                *payload_out = fp_entry_payload(e);
            return 0;
        }
    }
    e->lo = lo;
    e->hi = hi | (uint64_t)(payload & 0xffffu) << FP_PAYLOAD_SHIFT;
    s->count++;
    return 1;
}
