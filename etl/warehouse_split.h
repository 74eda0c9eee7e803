/*
 * warehouse_split.h - a warehouse handle that reads now and writes later,
 * for the compute workers (job.c).
 *
 * The reports of several games are computed at once, each game on its own
 * thread, but the stage must stay one transaction on the job's connection:
 * a failure anywhere leaves the warehouse as it was. So a worker gets a
 * split handle: statements that read (SELECT, WITH) run at once on the
 * worker's own connection, which sees what the ingest stage committed;
 * statements that write (INSERT, UPDATE, DELETE) are recorded with copies
 * of their parameters and run later, in the order they were made, on the
 * job's connection inside its transaction (wh_split_replay). The reports
 * never read what they write in the same stage (their queries read the fact
 * tables, and a game's own bookkeeping before they write it: its dirty
 * days, its first-active counts), which is what makes the deferral
 * invisible; any other statement is refused, so a new kind cannot slip
 * through unnoticed.
 *
 * Ownership: wh_split_new borrows the reader connection (the caller closes
 * it after wh_split_free) and returns a split the caller frees with
 * wh_split_free. wh_split_handle's warehouse belongs to the split.
 */
#ifndef MOONSTAT_WAREHOUSE_SPLIT_H
#define MOONSTAT_WAREHOUSE_SPLIT_H

#include <stdint.h>

#include "common.h"
#include "warehouse.h"

typedef struct wh_split wh_split;

/* NULL on allocation failure. */
wh_split *wh_split_new(warehouse *reader);
void wh_split_free(wh_split *s);

/* The handle to give the report functions: wh_query and wh_query_int work
 * on it; wh_exec takes reads only; bulk loads are refused. */
warehouse *wh_split_handle(wh_split *s);

/* Runs the recorded writes on target, in order, and forgets them. Returns 0,
 * or -1 with err set (the caller rolls target back). */
int wh_split_replay(wh_split *s, warehouse *target, ms_error *err);

/* The statements recorded so far (for tests and logs). */
size_t wh_split_pending(const wh_split *s);

#endif
