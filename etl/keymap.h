/*
 * keymap.h - string keys to dense integer ids, and an arena for strings.
 *
 * The ingest path turns every account, device, role and order it sees into a
 * small dense id (0, 1, 2, ... in order of first appearance) so that facts are
 * arrays indexed by id, not heaps of little allocations. A key is a namespace
 * (the game's index, so ids are scoped to their game as inputs.md requires)
 * plus bytes. Open addressing with linear probing; keys live in an arena.
 *
 * Ownership: a keymap owns its keys; keymap_key pointers stay valid until
 * keymap_free. An arena owns what it hands out until arena_free.
 */
#ifndef MOONSTAT_KEYMAP_H
#define MOONSTAT_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

/* A bump allocator of 1 MiB blocks (bigger requests get their own block). */
typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
    size_t used_in_head;
    size_t bytes;          /* total allocated, for memory accounting */
} arena;

void arena_init(arena *a);
void arena_free(arena *a);
/* Copies n bytes (plus a NUL) into the arena; NULL on allocation failure. */
const char *arena_strndup(arena *a, const char *p, size_t n);

typedef struct keymap_entry {
    const char *key;    /* in the arena, NUL-terminated */
    uint32_t len;
    uint32_t ns;
    uint64_t hash;
} keymap_entry;

typedef struct keymap {
    uint32_t *slots;       /* id + 1, 0 = empty */
    size_t n_slots;        /* power of two */
    keymap_entry *entries; /* by id */
    size_t count, cap;
    arena strings;
} keymap;

void keymap_init(keymap *m);
void keymap_free(keymap *m);

/* The id of (ns, key). *is_new is set when it was inserted now (its id is
 * then count - 1). Returns -1 on allocation failure. */
int64_t keymap_put(keymap *m, uint32_t ns, const char *key, size_t len, int *is_new);
/* The id of (ns, key), or -1 when absent. */
int64_t keymap_get(const keymap *m, uint32_t ns, const char *key, size_t len);

static inline const keymap_entry *keymap_at(const keymap *m, uint32_t id)
{
    return &m->entries[id];
}

/* 64-bit hash of bytes with a seed (wyhash-style multiply-mix). */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);

/* A set of 128-bit fingerprints with a small payload, for event-id
 * de-duplication: the ids themselves are not kept (a collision needs 2^64
 * events; see README). */
typedef struct fp_set {
    uint64_t *lo;          /* 0,0 = empty slot (fingerprints are never 0,0) */
    uint64_t *hi;
    uint32_t *payload;
    size_t n_slots, count;
} fp_set;

void fp_set_init(fp_set *s);
void fp_set_free(fp_set *s);
/* Inserts; returns 1 when new, 0 when already present (*payload_out then has
 * the stored payload), -1 on allocation failure. */
int fp_set_add(fp_set *s, uint64_t lo, uint64_t hi, uint32_t payload, uint32_t *payload_out);

#endif
