/*
 * revenue.h - revenue by period and by channel and currency (metrics.md
 * "Revenue by period", "Revenue by channel and currency").
 *
 * revenue: per game and period (day, ISO week Monday-Sunday, calendar month
 * of local days) over the days processed so far: revenue, refunds, net,
 * orders, DISTINCT payers and DISTINCT active users of the whole period (not
 * sums of daily figures), ARPPU, ARPU. The partition is the period's start,
 * so a Monday's partition holds that day's row and its week's row.
 * revenue_by_currency: per game, day, pay_channel and original currency.
 *
 * Each replaces its rows in its table and marks the partition for export,
 * inside the caller's transaction; when a rate is missing nothing is written
 * and st->fx_missing is set.
 */
#ifndef MOONSTAT_REVENUE_H
#define MOONSTAT_REVENUE_H

#include <stdint.h>

#include "conversion.h"
#include "warehouse.h"

typedef enum period_kind { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH } period_kind;

/* The period of `kind` containing `day`: its first and last day. */
void period_bounds(period_kind kind, int32_t day, int32_t *start, int32_t *end);

/* The row of one game and period, over days start .. min(end, horizon).
 * active: the period's distinct active accounts (a day: daily_kpi.h's
 * day_actives; weeks and months: period_actives.h). known_payers: its
 * distinct paying accounts when known (a day), or -1 to count them here. */
int revenue_period_compute(warehouse *wh, const char *game_id, period_kind kind, int32_t start,
                           int32_t horizon, int64_t active, int64_t known_payers, fx_table *fx,
                           const char *reporting_currency, day_status *st, ms_error *err);

int revenue_by_currency_compute(warehouse *wh, const char *game_id, int32_t day, fx_table *fx,
                                const char *reporting_currency, day_status *st, ms_error *err);

#endif
