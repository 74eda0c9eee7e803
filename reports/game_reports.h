/*
 * game_reports.h - one game's reports of a run (stage 2 of a run or a
 * backfill: job.h).
 *
 * The days to compute are the game's dirty days up to its last day (and,
 * for a backfill, every day of its range). Each gets its day reports
 * (daily_kpi, revenue_by_currency, the day's revenue) and stops being dirty,
 * unless an exchange rate it needs is missing (it stays dirty for the run
 * that has the rate). Then what those days and the days reached for the
 * first time touch: their weeks' and months' revenue with their distinct
 * actives (period_actives.h), the retention cohorts they are day N of
 * (cohorts.h: all at once when every account is in memory, by cell at
 * night), the LTV cohorts whose window holds them; last, the game's horizon
 * moves up to its last day.
 *
 * Everything is read and written through one warehouse handle (a worker's
 * split handle, or the job's connection) inside the caller's transaction
 * (or the replay of the split). Nothing is logged from here: warnings and
 * missing rates are handed back for the caller to report in game order.
 *
 * Ownership: game_reports_init, then the caller sets the inputs;
 * game_reports_free frees what a compute filled (missing, warnings).
 */
#ifndef MOONSTAT_GAME_REPORTS_H
#define MOONSTAT_GAME_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "conversion.h"
#include "fx_rates.h"
#include "warehouse.h"

/* A rate found missing: the caller reports it (and holds the partitions). */
typedef struct missing_rate {
    const char *what;     /* a literal: "daily reports of", "LTV of the cohort", ... */
    int32_t day;
    day_status st;
} missing_rate;

typedef struct game_reports {
    /* inputs */
    const char *game_id;
    const char *reporting_currency;
    int32_t last_day;         /* the last day to compute: the run's date in the game's zone */
    int backfill;             /* a backfill: every day of [from, to] is recomputed too */
    int32_t from, to;
    fx_table *fx;             /* borrowed; read by several games at once */
    /* results */
    size_t computed;          /* game-days whose day reports were written */
    uint64_t fx_substitutions; /* days converted with an earlier day's rates */
    missing_rate *missing;    /* owned */
    size_t n_missing, cap_missing;
    buf warnings;             /* lines for the log ('\n'-terminated), owned */
    ms_error err;
} game_reports;

void game_reports_init(game_reports *r);

/* Computes and writes the game's reports through wh. Returns 0, or -1 with
 * r->err set (the caller rolls back). */
int game_reports_compute(game_reports *r, warehouse *wh);

void game_reports_free(game_reports *r);

#endif
