/*
 * run_ids.c - the run's event ids, bucketed, counted at the end (see
 * run_ids.h).
 */
#include "run_ids.h"

#include <stdlib.h>
#include <string.h>

/* A chunk is 4 KiB: its entries and a header. */
#define RUN_IDS_CHUNK 255

struct run_ids_chunk {
    run_ids_chunk *next;
    uint32_t n;
    fp_entry e[RUN_IDS_CHUNK];
};

/* Chunks are carved from slabs of 32 MiB, which glibc serves with mmap
 * (the mmap threshold main sets: common.h) and gives back to the system
 * when freed: 5M ids in 4 KiB heap blocks stayed in the heap after the
 * count and raised the first load's peak RSS by 40 MB. A slab's pages are
 * resident only once chunks are carved from them. */
#define RUN_IDS_SLAB_CHUNKS 8192

struct run_ids_slab {
    run_ids_slab *next;
    size_t used;
    run_ids_chunk chunk[RUN_IDS_SLAB_CHUNKS];
};

void run_ids_init(run_ids *r)
{
    memset(r, 0, sizeof *r);
}

void run_ids_free(run_ids *r)
{
    while (r->slabs) {
        run_ids_slab *next = r->slabs->next;
        free(r->slabs);
        r->slabs = next;
    }
    memset(r, 0, sizeof *r);
}

static run_ids_chunk *new_chunk(run_ids *r)
{
    run_ids_chunk *c;
    if (!r->slabs || r->slabs->used == RUN_IDS_SLAB_CHUNKS) {
        run_ids_slab *s = malloc(sizeof *s);
        if (!s)
            return NULL;
        s->next = r->slabs;
        s->used = 0;
        r->slabs = s;
    }
    c = &r->slabs->chunk[r->slabs->used++];
    c->next = NULL;
    c->n = 0;
    return c;
}

/* The bucket of a fingerprint: its lo is a hash of the event id
 * (event_fingerprint), so its top bits spread the ids evenly. */
static size_t bucket_of(const fp_entry *e)
{
    return (size_t)(e->lo >> (64 - RUN_IDS_BUCKET_BITS));
}

int run_ids_add_file(run_ids *r, const fp_set *file_ids)
{
    size_t i;
    for (i = 0; i < file_ids->n_slots; i++) {
        const fp_entry *e = &file_ids->slot[i];
        size_t b;
        run_ids_chunk *c;
        if (!e->lo && !e->hi)
            continue;
        b = bucket_of(e);
        c = r->tail[b];
        if (!c || c->n == RUN_IDS_CHUNK) {
            run_ids_chunk *fresh = new_chunk(r);
            if (!fresh)
                return -1; /* what was appended stays, freed by run_ids_free */
            if (c)
                c->next = fresh;
            else
                r->head[b] = fresh;
            r->tail[b] = c = fresh;
        }
        c->e[c->n++] = *e;
        r->count++;
    }
    return 0;
}

/* Adds one id to a bucket's table (linear probing; mask + 1 slots, at
 * most half full): 1 when new, 0 when the bucket had it already. */
static int table_add(fp_entry *table, size_t mask, const fp_entry *e)
{
    uint64_t hi = e->hi & FP_HI_MASK;
    size_t j;
    for (j = fp_slot(e->lo, hi, mask);; j = (j + 1) & mask) {
        fp_entry *t = &table[j];
        if (!t->lo && !t->hi) {
            t->lo = e->lo;
            t->hi = hi;
            return 1;
        }
        if (t->lo == e->lo && t->hi == hi)
            return 0;
    }
}

int run_ids_count(run_ids *r, dq_counts *dq, size_t n_dq)
{
    dq_counts *sum = calloc(n_dq ? n_dq : 1, sizeof *sum);
    fp_entry *table = NULL;
    size_t cap = 0, b, g;
    int rc = -1;

    if (!sum)
        goto out;
    for (b = 0; b < RUN_IDS_BUCKETS; b++) {
        size_t n = 0, slots = 16;
        const run_ids_chunk *c;
        for (c = r->head[b]; c; c = c->next)
            n += c->n;
        if (n == 0)
            continue;
        while (slots < 2 * n)
            slots *= 2;
        if (slots > cap) {
            free(table);
            if (!(table = malloc(slots * sizeof *table)))
                goto out;
            cap = slots;
        }
        memset(table, 0, slots * sizeof *table);
        /* In the order appended: the first file's line is the one accepted. */
        for (c = r->head[b]; c; c = c->next) {
            uint32_t i;
            for (i = 0; i < c->n; i++) {
                const fp_entry *e = &c->e[i];
                uint32_t payload = fp_entry_payload(e);
                size_t game = payload >> 1;
                int added = table_add(table, slots - 1, e);
                if (game >= n_dq)
                    continue; /* cannot happen: a parsed line has a configured game */
                if (added) {
                    sum[game].events_accepted++;
                    sum[game].sandbox_payments += payload & 1;
                } else {
                    sum[game].duplicates++;
                }
            }
        }
    }
    for (g = 0; g < n_dq; g++) {
        dq[g].events_accepted += sum[g].events_accepted;
        dq[g].sandbox_payments += sum[g].sandbox_payments;
        dq[g].duplicates += sum[g].duplicates;
    }
    rc = 0;
out:
    free(table);
    free(sum);
    if (rc == 0)
        run_ids_free(r);
    return rc;
}
