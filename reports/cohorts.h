/*
 * cohorts.h - retention and LTV of one registration cohort (metrics.md
 * "Retention", "LTV").
 *
 * Cohort C of a game: the accounts with reg_day = C, in breakdown rows by
 * their registration attributes. A cell (C, N) exists once its last day has
 * been processed (C+N for retention, C+N-1 for LTV, at most `horizon`, the
 * game's last processed day), so a cohort's partition grows as days pass and
 * is recomputed whole: the work is in proportion to the cohort's accounts and
 * their activity in the window, never to the warehouse.
 *
 * Both replace the game's rows of the cohort in their table and mark the
 * partition for export, inside the caller's transaction.
 */
#ifndef MOONSTAT_COHORTS_H
#define MOONSTAT_COHORTS_H

#include <stddef.h>
#include <stdint.h>

#include "account_attrs.h"
#include "activity_window.h"
#include "conversion.h"
#include "warehouse.h"

/* Retention days N (次留 .. 30留) and LTV days. */
extern const int retention_days[9];
extern const int ltv_days[7];
#define LTV_MAX_DAY 90

int retention_compute(warehouse *wh, const char *game_id, int32_t cohort, int32_t horizon,
                      ms_error *err);

/* The retention partitions of n cohorts (sorted ascending, distinct, each
 * before horizon) in one pass over the activity and paid payments of their
 * windows, the accounts' cohort and attributes taken from attrs, which must
 * hold every account of the game (attrs->tallied: a first load, a
 * backfill). The same rows as retention_compute cohort by cohort, which
 * joins each cohort with its activity through an index: at 5M events 30
 * cohorts took 2.1 s that way. The activity comes from window (the task's
 * shared read, activity_window.h) when it can, else from a query of its
 * own; window may be NULL. */
int retention_compute_many(warehouse *wh, const char *game_id, const int32_t *cohorts, size_t n,
                           int32_t horizon, const account_attrs *attrs, activity_window *window,
                           ms_error *err);

/* The retention cells that end on `day` of n cohorts (sorted ascending,
 * distinct, day - cohort a retention day of each): the rows of that
 * retention day in each cohort's partition are replaced, the others kept.
 * Sound only for a cohort whose members and their groups have not changed
 * since its partition was written (its own day is not dirty: a member's
 * cohort or group moving makes the member's registration day dirty), and
 * whose other cells' days have not changed either. The retained accounts
 * are the day's active ones (activity or a paid payment) with their cohort
 * and group from attrs, which must hold every account active that day (the
 * night's: account_attrs_load for a list of days that includes it). A night
 * so reads its own day's actives once instead of each cohort's members'
 * activity through an index (tests/e2e/retention_cells.sh compares it with
 * retention_compute). Returns 0, or -1 with err set. */
int retention_cells_of_day(warehouse *wh, const char *game_id, int32_t day,
                           const int32_t *cohorts, size_t n, const account_attrs *attrs,
                           ms_error *err);

/* The LTV partitions of n cohorts (sorted ascending, distinct, each at most
 * horizon), read in one pass. The cohorts' sizes come from attrs when it
 * holds every account of the game (attrs->tallied), else from the
 * warehouse; attrs may be NULL. st has n entries, zeroed by the caller: when
 * a rate is missing for cohort i, st[i].fx_missing is set and nothing of
 * that cohort is written. */
int ltv_compute(warehouse *wh, const char *game_id, const int32_t *cohorts, size_t n,
                int32_t horizon, const account_attrs *attrs, fx_table *fx,
                const char *reporting_currency, day_status *st, ms_error *err);

#endif
