/*
 * period_actives.h - the distinct active accounts of weeks and months
 * (metrics.md "Revenue by period": active_users of the whole period), kept
 * per day so that a night counts only its own days.
 *
 * Why: a month's distinct actives are a DISTINCT over every account-day of
 * the month. Counting them again each night read the whole month so far:
 * 0.4-0.6 s per game and night on the 5M-event bench, the largest single
 * cost of a night's reports, and growing through the month. Instead the
 * warehouse keeps, per game and day, how many accounts were active that
 * day for the first time in its week and in its month (table
 * first_actives); a period's distinct actives up to a day are the sum of
 * those over its days. A day's two counts depend only on the facts of the
 * days from its week's or month's start up to it, so they are recomputed
 * from the first changed day of a period on: a night recomputes its own
 * day, a late event of the 3rd recomputes the month from the 3rd.
 *
 * "Active" is what the daily KPIs count (metrics.md): a register, login or
 * role_create that day, or a paid non-sandbox payment.
 *
 * Two ways to recompute days, the same numbers (tests/e2e/first_actives.sh
 * forces each and compares):
 *  - probe, for a few days (a night): per day, the day's active accounts,
 *    each with its latest earlier active day found by one index descent
 *    (activity_by_account, payments_by_account);
 *  - pass, for more: one read of the span's account-days in day order,
 *    remembering per account the last week and month it was seen in (the
 *    first sighting in a period is its first day there); the accounts are
 *    numbered by attrs when it has them, by a map of its own otherwise.
 *
 * Ownership: nothing is kept between calls; the caller owns every array.
 */
#ifndef MOONSTAT_PERIOD_ACTIVES_H
#define MOONSTAT_PERIOD_ACTIVES_H

#include <stddef.h>
#include <stdint.h>

#include "account_attrs.h"
#include "activity_window.h"
#include "warehouse.h"

/* Up to this many days to recompute, each is probed; more: one pass. */
#define FIRST_ACTIVES_PROBE_DAYS 3

/* Tests: "probe" or "pass" forces the way (tests/e2e/first_actives.sh). */
#define FIRST_ACTIVES_MODE_ENV "MOONSTAT_TEST_FIRST_ACTIVES"

/* The first day period_actives_compute can read when `day` is the first
 * day it recomputes: the start of the day's week or month, whichever is
 * earlier, and that day's own week or month start (a pass counts a
 * period's first sightings from its start). A compute task reads its
 * shared activity window from there (etl/job.c). */
int32_t period_actives_first_read(int32_t day);

/* The distinct active accounts of the weeks starting on week_starts[] and
 * of the months starting on month_starts[] (each sorted ascending,
 * distinct, none after horizon), each over start .. min(end, horizon):
 * week_active[i], month_active[i]. changed[] (sorted ascending, distinct)
 * are the days whose facts changed since the game's stored counts were
 * made (its dirty days, whatever their date): the stored count of every day
 * from the first changed or missing day of a period on is recomputed and
 * stored again (INSERT ... ON CONFLICT through wh, so inside the caller's
 * transaction or its split handle). attrs: the accounts in memory, or
 * NULL; window: the task's shared read of the activity (activity_window.h),
 * used by the pass in day order when it covers the days, or NULL. Returns
 * 0, or -1 with err set. */
int period_actives_compute(warehouse *wh, const char *game_id, const int32_t *week_starts,
                           size_t n_weeks, const int32_t *month_starts, size_t n_months,
                           const int32_t *changed, size_t n_changed, int32_t horizon,
                           const account_attrs *attrs, activity_window *window,
                           int64_t *week_active, int64_t *month_active, ms_error *err);

#endif
