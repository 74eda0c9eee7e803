/*
 * merge.h - folding a run's facts into the warehouse.
 *
 * For every kind of fact the batch's keys are staged, the warehouse rows for
 * those keys are read back, each pair is merged in C with the same
 * "earliest (ts, event_id) wins" rule the batch used, and only the rows that
 * changed are written (staged, then delete + insert by key). Every local day
 * whose facts changed, before or after, is marked dirty:
 *  - a new or earlier device_start: the device's old and new first day;
 *  - a new or earlier role: its old and new creation day;
 *  - a new account-day of activity: that day;
 *  - a new or earlier payment transition: its old and new day;
 *  - an account whose registration day, role day or first pay day moves: the
 *    old and new days; whose registration attributes (platform, country) or
 *    registration day change: every day it appears on (activity, payments,
 *    roles), because breakdown rows use account attributes.
 * The activations table follows every change to the devices table
 * (activation_counts.h). The stored rows are read back by
 * merge_lookup.h, on a connection and a thread of their own when the run
 * has threads, while this connection writes. Work is in proportion to the
 * batch, never to the warehouse.
 *
 * A game that has no row yet in a fact table (its first load) has nothing to
 * read back or replace there: its rows are loaded straight into the table.
 * The environment variable MOONSTAT_TEST_ALWAYS_STAGE (non-empty) turns that
 * off, so tests can check that both paths give the same warehouse.
 *
 * Runs inside the caller's transaction.
 */
#ifndef MOONSTAT_MERGE_H
#define MOONSTAT_MERGE_H

#include "config.h"
#include "facts.h"
#include "ingest.h"
#include "warehouse.h"

/* Merges batch into the warehouse, inserts the dirty days, and adds the
 * implicit_registrations and refund_without_payment counts of this run to
 * dq (n_games + 1 entries). The warehouse work done on a connection of its
 * own (the read-backs, merge_lookup.h) is added to *work. Frees the batch's
 * activity set once it is written (the rest stays the caller's to free).
 * Returns 0 or -1 (err set). */
int merge_facts(warehouse *wh, const config *cfg, const tz_zone *const *zones,
                fact_batch *batch, dq_counts *dq, wh_work *work, ms_error *err);

/* Creates the temporary staging tables on this connection (idempotent). */
int merge_prepare(warehouse *wh, ms_error *err);

#endif
