/*
 * daily_kpi.h - the daily KPIs of one game and local day (metrics.md "Daily
 * KPIs"), from the warehouse facts, with their breakdown rows.
 *
 * Counts come from set queries over the facts (each account counted once, in
 * the cell of its registration attributes); facts that carry an account are
 * read with their account id and put in its cell in memory (attrs, which
 * must hold the accounts of the day's facts and, when it has tallies, have
 * been loaded for the day: account_attrs.h). Money is summed per account
 * and currency in integer minor units by the warehouse, converted exactly
 * with the day's rate (so the cells' sums are exact) and rounded once when
 * written. The rows replace the game's rows
 * of that date in the daily_kpi table and the partition is marked for
 * export, inside the caller's transaction.
 */
#ifndef MOONSTAT_DAILY_KPI_H
#define MOONSTAT_DAILY_KPI_H

#include <stdint.h>

#include "account_attrs.h"
#include "activity_window.h"
#include "conversion.h"
#include "fx_rates.h"
#include "warehouse.h"

/* What the rows read for a day's KPIs also tell, so that other reports
 * need no query of their own: the day's distinct active accounts (an
 * event or a paid payment that day) and paying accounts, each counted
 * whether or not it has an accounts row (revenue's active_users and payers
 * of the day, revenue.h), and the distinct cohort days of its payers that
 * have one (the LTV cohorts the day's payments are in, cohorts.h).
 * Ownership: cohorts is grown by daily_kpi_compute and kept from one call
 * to the next; start from DAY_ACTIVES_INIT, release with day_actives_free. */
typedef struct day_actives {
    int64_t active, payers;
    int32_t *cohorts;   /* sorted, distinct */
    size_t n_cohorts, cap_cohorts;
} day_actives;

#define DAY_ACTIVES_INIT {0, 0, NULL, 0, 0}

void day_actives_free(day_actives *a);

/* Computes and stores the KPIs of (game_id, day) and fills *actives. The
 * day's account-days come from window when it covers the day
 * (activity_window.h: one read for all of a task's reports), else from a
 * query; window may be NULL. When a rate is missing nothing is written and
 * st->fx_missing is set (returns 0; *actives is still set). Returns -1 on
 * error (err set). */
int daily_kpi_compute(warehouse *wh, const char *game_id, int32_t day,
                      const account_attrs *attrs, const activity_window *window, fx_table *fx,
                      const char *reporting_currency, day_status *st, day_actives *actives,
                      ms_error *err);

#endif
