/*
 * activation_counts.h - the warehouse's activations table: how many devices
 * were first seen per (game, day, platform, country), kept by the merge as
 * it writes the devices table.
 *
 * A day's activations are its new devices by platform and country
 * (metrics.md). Counted from the devices table, that needs every device of
 * the day: an index by first day (a random insert per new device every
 * night, a sort of every device in a first load) or a scan of the game. The
 * merge knows every change it makes to the devices table, so it keeps the
 * counts instead (schemas/sqlite/012_activation_counts.sql):
 *  - a new devices row: +1 in the cell of its first day, platform, country;
 *  - a row replaced by an earlier device_start that arrived late: -1 in the
 *    stored row's cell (activation_counts_drop_replaced, called before the
 *    rows are replaced) and +1 in the new row's cell;
 * and activation_counts_store adds the sums to the table at the end of the
 * merge of the devices. A cell whose count reaches 0 is deleted: a cell
 * exists only while it counts devices, as the GROUP BY of the devices it
 * stands for had it, so no report grows a breakdown row of zeros.
 *
 * Ownership: an activation_counts owns its cells (init, then free); the
 * strings passed in are copied.
 */
#ifndef MOONSTAT_ACTIVATION_COUNTS_H
#define MOONSTAT_ACTIVATION_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keymap.h"
#include "warehouse.h"

typedef struct activation_counts {
    keymap cells;   /* ns = the game's index in the config;
                       key = day (decimal) NUL platform NUL country */
    int64_t *delta; /* [cell id]: the change to add to the stored count */
    size_t cap;     /* entries allocated in delta */
    int any_drop;   /* some delta below zero was added: a cell may reach 0 */
} activation_counts;

void activation_counts_init(activation_counts *c);
void activation_counts_free(activation_counts *c);

/* Adds delta to the cell (game, day, platform, country). day is the local
 * day in decimal, as the merge has just written it into the devices row (or
 * read it back): one key per cell with no formatting of its own. Returns 0,
 * or -1 with err set (out of memory, a day, platform or country longer
 * than the warehouse's own values can be). */
int activation_counts_add(activation_counts *c, uint32_t game, const char *day,
                          const char *platform, const char *country, int64_t delta,
                          ms_error *err);

/* -1 in the cell of every stored devices row whose key is in the merge's
 * staging table stage_devices (etl/merge.c), i.e. of every row about to be
 * replaced. Call it after stage_devices is loaded and before the replace.
 * Rows of games not in cfg are ignored. Returns 0, or -1 (err set). */
int activation_counts_drop_replaced(activation_counts *c, warehouse *wh, const config *cfg,
                                    ms_error *err);

/* Adds the deltas to the activations table (inside the caller's
 * transaction; a bulk load into a temporary table, then one upsert) and
 * deletes the cells that reach 0. Returns 0, or -1 (err set). */
int activation_counts_store(const activation_counts *c, warehouse *wh, const config *cfg,
                            ms_error *err);

#endif
