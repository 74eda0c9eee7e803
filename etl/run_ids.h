/*
 * run_ids.h - the run's event ids, counted once all files are folded.
 *
 * Each file's reader de-duplicates the file's own event ids (a fingerprint
 * set per file: ingest.c) and drops a repeated line. An id seen again in a
 * later file is a duplicate too, but its facts are absorbed all the same
 * (they merge to the same values: facts.h), so across files the ids only
 * feed the data-quality counts of the run: events_accepted and
 * sandbox_payments under the game of the first file's line, duplicates
 * under the game of each later one.
 *
 * Why not one set for the run: its 5M fingerprints (bench, 5M events) were
 * a 128 MiB hash table probed at random from the fold, the read's serial
 * critical path: a cache miss per id, 0.8 s of the fold's 2.5 s on the
 * bench's first load (perf, 2026-11-28). Instead a file's ids are appended,
 * in file order, to one of RUN_IDS_BUCKETS buckets by their fingerprint's
 * top bits (sequential writes to a few hot chunks), and run_ids_count walks
 * each bucket in that order with a table the size of the bucket, which
 * stays in cache. Same ids in the same order: the same counts.
 *
 * Ownership: a run_ids owns its chunks (carved from slabs it owns);
 * run_ids_free releases them.
 */
#ifndef MOONSTAT_RUN_IDS_H
#define MOONSTAT_RUN_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "keymap.h"

#define RUN_IDS_BUCKET_BITS 10
#define RUN_IDS_BUCKETS (1u << RUN_IDS_BUCKET_BITS)

typedef struct run_ids_chunk run_ids_chunk;
typedef struct run_ids_slab run_ids_slab;

typedef struct run_ids {
    run_ids_chunk *head[RUN_IDS_BUCKETS], *tail[RUN_IDS_BUCKETS];
    run_ids_slab *slabs; /* where the chunks are carved from */
    size_t count; /* ids appended (a file's distinct ids, summed over files) */
} run_ids;

void run_ids_init(run_ids *r);
void run_ids_free(run_ids *r);

/* Appends the ids of one file's set (distinct within the file; payload =
 * game << 1 | sandbox payment), after those of the files folded before.
 * Returns 0, or -1 when out of memory. */
int run_ids_add_file(run_ids *r, const fp_set *file_ids);

/* Adds to dq[game] (n_dq entries) the events accepted, sandbox payments
 * and cross-file duplicates of the ids appended, and frees them. Returns 0,
 * or -1 when out of memory (dq then unchanged). */
int run_ids_count(run_ids *r, dq_counts *dq, size_t n_dq);

#endif
