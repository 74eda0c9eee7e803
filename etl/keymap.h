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
    uint64_t *slots;       /* high 32 bits of the hash << 32 | id + 1; 0 = empty */
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
/* keymap_put for a key whose hash is known: hash must be the hash field of
 * an entry with the same ns and key in any keymap (all use one function). */
int64_t keymap_put_hashed(keymap *m, uint32_t ns, const char *key, size_t len, uint64_t hash,
                          int *is_new);
/* The id of (ns, key), or -1 when absent. */
int64_t keymap_get(const keymap *m, uint32_t ns, const char *key, size_t len);
/* The hash every keymap gives (ns, key): an entry's `hash` field. */
uint64_t keymap_hash(uint32_t ns, const char *key, size_t len);
/* keymap_get for a key whose keymap_hash is known. */
int64_t keymap_get_hashed(const keymap *m, uint32_t ns, const char *key, size_t len, uint64_t h);
/* Makes room for extra more keys, so that the next extra puts do not move
 * the slot table (and prefetches stay valid). Returns -1 on allocation
 * failure. */
int keymap_reserve(keymap *m, size_t extra);

/* How many entries ahead a fold asks for the slot it will probe: enough to
 * cover a memory latency with the work on the entries between. */
#define KEYMAP_PREFETCH_AHEAD 16
/* ... how many ahead it asks for the entry that slot points to (and its
 * own record of that id), and how many for the entry's key text. */
#define KEYMAP_PEEK_AHEAD 8
#define KEYMAP_KEY_AHEAD 4

/* A hint that a key with this hash is about to be looked up: folding one
 * batch into another is a stream of hash-table misses, and asking for the
 * slot a few keys ahead overlaps them. */
static inline void keymap_prefetch(const keymap *m, uint64_t hash)
{
    if (m->n_slots)
        __builtin_prefetch(&m->slots[hash & (m->n_slots - 1)]);
}

static inline const keymap_entry *keymap_at(const keymap *m, uint32_t id)
{
    return &m->entries[id];
}

/* A slot holds the hash's high half next to the id + 1 (0: empty), so a
 * probe that meets another key rarely has to look at that key's entry. */
static inline uint64_t keymap_slot_of(uint64_t hash, size_t id)
{
    return (hash & 0xffffffff00000000ull) | ((uint64_t)id + 1);
}

static inline int keymap_slot_tag_is(uint64_t slot, uint64_t hash)
{
    return (slot >> 32) == (hash >> 32);
}

static inline size_t keymap_slot_id(uint64_t slot)
{
    return (size_t)(uint32_t)slot - 1;
}

/* The id the key with this hash most likely has: that of the entry in its
 * home slot when the slot's tag agrees (-1 otherwise, or when the key is
 * not there at all). A guess for a later prefetch stage, once
 * keymap_prefetch(m, hash) has brought the slot in: the entry, the key and
 * the caller's own record by id are the next misses of a lookup. */
static inline int64_t keymap_peek(const keymap *m, uint64_t hash)
{
    uint64_t slot;
    if (!m->n_slots)
        return -1;
    slot = m->slots[hash & (m->n_slots - 1)];
    if (!slot || !keymap_slot_tag_is(slot, hash))
        return -1;
    return (int64_t)keymap_slot_id(slot);
}

/* 64-bit hash of bytes with a seed (wyhash-style multiply-mix). */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);

/* A set of 112-bit fingerprints with a 16-bit payload, for event-id
 * de-duplication: the ids themselves are not kept (a collision needs about
 * 2^56 events; see README). A fingerprint is lo and the low 48 bits of hi;
 * the payload rides in hi's top 16 bits, so that an entry is 16 bytes, not
 * 24 with a payload field and padding: a file's set, and the run's 5M ids
 * on the bench in their buckets (run_ids.h), take two thirds of the memory,
 * and an entry never straddles two cache lines. */
#define FP_PAYLOAD_SHIFT 48
#define FP_HI_MASK ((UINT64_C(1) << FP_PAYLOAD_SHIFT) - 1)

typedef struct fp_entry {
    uint64_t lo, hi;       /* 0,0 = empty slot (fingerprints are never 0,0) */
} fp_entry;

/* One array of entries, not one per field: a probe then costs one cache
 * miss, not three. */
typedef struct fp_set {
    fp_entry *slot;
    size_t n_slots, count;
} fp_set;

/* The payload of a stored entry. */
static inline uint32_t fp_entry_payload(const fp_entry *e)
{
    return (uint32_t)(e->hi >> FP_PAYLOAD_SHIFT);
}

void fp_set_init(fp_set *s);
void fp_set_free(fp_set *s);
/* Inserts the fingerprint (lo, hi & FP_HI_MASK) with payload (below 2^16);
 * returns 1 when new, 0 when already present (*payload_out then has the
 * stored payload), -1 on allocation failure. */
int fp_set_add(fp_set *s, uint64_t lo, uint64_t hi, uint32_t payload, uint32_t *payload_out);
/* Makes room for extra more fingerprints (see keymap_reserve). */
int fp_set_reserve(fp_set *s, size_t extra);

/* Slot of a fingerprint: callers may pass structured values (the activity
 * set packs an id and a day), so the bits are mixed first. */
static inline size_t fp_slot(uint64_t lo, uint64_t hi, size_t mask)
{
    uint64_t h = (lo ^ (hi * 0xff51afd7ed558ccdull)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 29)) & mask;
}

/* A hint that (lo, hi) is about to be added (see keymap_prefetch). */
static inline void fp_set_prefetch(const fp_set *s, uint64_t lo, uint64_t hi)
{
    if (s->n_slots)
        __builtin_prefetch(&s->slot[fp_slot(lo || (hi & FP_HI_MASK) ? lo : 1, hi & FP_HI_MASK,
                                            s->n_slots - 1)]);
}

#endif
