/*
 * game_reports.c - one game's reports of a run (see game_reports.h).
 */
#include "game_reports.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_attrs.h"
#include "activity_window.h"
#include "cohorts.h"
#include "daily_kpi.h"
#include "load_order.h"
#include "period_actives.h"
#include "revenue.h"
#include "timefmt.h"

void game_reports_init(game_reports *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->warnings, 0);
}

void game_reports_free(game_reports *r)
{
    free(r->missing);
    buf_free(&r->warnings);
}

typedef struct day_list {
    int32_t *days;
    size_t n, cap;
} day_list;

static int day_list_add(day_list *l, int32_t day)
{
    int32_t *p = ms_grow(l->days, &l->cap, l->n + 1, sizeof *p, 64);
    if (!p)
        return -1;
    l->days = p;
    l->days[l->n++] = day;
    return 0;
}

/* Rows: day. */
static int collect_day(void *ctx, int ncols, const char *const *v)
{
    (void)ncols;
    return day_list_add(ctx, (int32_t)strtol(v[0], NULL, 10));
}

/* Sorts and removes duplicates. */
static void day_list_unique(day_list *l)
{
    l->n = ms_days_unique(l->days, l->n);
}

static int day_list_has(const day_list *l, int32_t day)
{
    return l->n > 0 && bsearch(&day, l->days, l->n, sizeof *l->days, ms_day_cmp) != NULL;
}

/* Tests: "whole" recomputes every retention partition whole at night too
 * (tests/e2e/retention_cells.sh compares the two). */
#define RETENTION_MODE_ENV "MOONSTAT_TEST_RETENTION"

/* Retention of the cohorts in `cohorts` (sorted) when only the accounts of
 * the few `days` are in memory (a night). A cohort whose own day changed
 * (in `changed`, the dirty days of every date) is recomputed whole: its
 * members or their groups may have moved. Any other keeps its partition,
 * and only its cells that end on a changed day or on a day reached by this
 * run (after old_h) are counted again, from that day's active accounts
 * (retention_cells_of_day); a changed day whose accounts are not in memory
 * (dirty after the run's date) sends the cohort to the whole way as well.
 * Returns 0, or -1 with err set. */
static int retention_few_days(warehouse *wh, const char *game, const day_list *cohorts,
                              const day_list *days, const day_list *changed, int has_h,
                              int32_t old_h, int32_t horizon, const account_attrs *attrs,
                              ms_error *err)
{
    const char *mode = getenv(RETENTION_MODE_ENV);
    int whole_only = !has_h || (mode && strcmp(mode, "whole") == 0);
    uint64_t *pairs = NULL; /* (day << 32 | cohort), both as offsets from the first cohort */
    int32_t *batch = NULL;
    size_t i, k, n_pairs = 0, cap_pairs = 0, n_batch;
    int rc = -1;

    for (i = 0; i < cohorts->n && cohorts->days[i] < horizon; i++) {
        int32_t c = cohorts->days[i];
        int whole = whole_only || day_list_has(changed, c);
        size_t first_pair = n_pairs;
        for (k = 0; !whole && k < MS_ARRAY_LEN(retention_days); k++) {
            int32_t u = c + retention_days[k];
            int u_changed = day_list_has(changed, u);
            uint64_t *grown;
            if (u > horizon)
                break;
            if (!u_changed && u <= old_h)
                continue; /* that cell's day did not change */
            if (u_changed && !day_list_has(days, u)) {
                whole = 1; /* its accounts are not in memory */
                break;
            }
            if (!(grown = ms_grow(pairs, &cap_pairs, n_pairs + 1, sizeof *grown, 64))) {
                ms_error_set(err, "out of memory");
                goto out;
            }
            pairs = grown;
            pairs[n_pairs++] = (uint64_t)(uint32_t)(u - cohorts->days[0]) << 32 |
                               (uint32_t)(c - cohorts->days[0]);
        }
        if (whole) {
            n_pairs = first_pair;
            if (retention_compute(wh, game, c, horizon, err) != 0)
                goto out;
        }
    }
    if (n_pairs == 0) {
        rc = 0;
        goto out;
    }
    /* By day, each day's cohorts ascending. */
    load_order_sort_u64(pairs, n_pairs);
    if (!(batch = malloc(n_pairs * sizeof *batch))) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (i = 0; i < n_pairs; i += n_batch) {
        uint32_t u = (uint32_t)(pairs[i] >> 32);
        for (n_batch = 0; i + n_batch < n_pairs && (uint32_t)(pairs[i + n_batch] >> 32) == u;
             n_batch++)
            batch[n_batch] = cohorts->days[0] + (int32_t)(uint32_t)pairs[i + n_batch];
        if (retention_cells_of_day(wh, game, cohorts->days[0] + (int32_t)u, batch, n_batch, attrs,
                                   err) != 0)
            goto out;
    }
    rc = 0;
out:
    free(pairs);
    free(batch);
    return rc;
}

/* The partitions that depend on one game-day's facts: the day's own reports,
 * its week and month, the retention cohorts that day is day N of, and the LTV
 * cohorts whose window contains it. */
typedef struct affected {
    day_list weeks, months, retention, ltv;
} affected;

static int affected_add_day(affected *a, int32_t d, int facts_changed)
{
    int32_t start, end;
    size_t k;
    if (facts_changed) {
        period_bounds(PERIOD_WEEK, d, &start, &end);
        if (day_list_add(&a->weeks, start) != 0)
            return -1;
        period_bounds(PERIOD_MONTH, d, &start, &end);
        if (day_list_add(&a->months, start) != 0 || day_list_add(&a->retention, d) != 0 ||
            day_list_add(&a->ltv, d) != 0)
            return -1;
    } else {
        /* The day was reached: the cells that end on it appear. */
        for (k = 0; k < MS_ARRAY_LEN(ltv_days); k++)
            if (day_list_add(&a->ltv, d - ltv_days[k] + 1) != 0)
                return -1;
    }
    for (k = 0; k < MS_ARRAY_LEN(retention_days); k++)
        if (day_list_add(&a->retention, d - retention_days[k]) != 0)
            return -1;
    return 0;
}

static void affected_free(affected *a)
{
    free(a->weeks.days);
    free(a->months.days);
    free(a->retention.days);
    free(a->ltv.days);
}

static int missing_rate_add(game_reports *t, const char *what, int32_t day,
                            const day_status *st)
{
    void *p = ms_grow(t->missing, &t->cap_missing, t->n_missing + 1, sizeof *t->missing, 8);
    if (!p)
        return ms_error_set(&t->err, "out of memory");
    t->missing = p;
    t->missing[t->n_missing].what = what;
    t->missing[t->n_missing].day = day;
    t->missing[t->n_missing].st = *st;
    t->n_missing++;
    return 0;
}

int game_reports_compute(game_reports *t, warehouse *wh)
{
    int64_t *active = NULL; /* weeks then months: distinct actives */
    size_t n_weeks = 0, n_months = 0;
    ms_error *err = &t->err;
    const char *game = t->game_id;
    const char *rc_ = t->reporting_currency;
    char limit[24];
    const char *params[2] = {game, limit};
    day_list days = {NULL, 0, 0}, changed = {NULL, 0, 0};
    account_attrs attrs;
    activity_window window; /* the account-days two reports share when attrs is tallied */
    day_actives act = DAY_ACTIVES_INIT; /* what a day's KPI rows tell its other reports */
    affected aff;
    int64_t old_h = 0;
    int32_t horizon, d;
    int has_h = 0;
    size_t i;
    int rc = -1;

    memset(&aff, 0, sizeof aff);
    account_attrs_init(&attrs);
    activity_window_init(&window);
    snprintf(limit, sizeof limit, "%" PRId32, t->last_day);
    if (wh_query_int(wh, "SELECT horizon FROM game_state WHERE game_id = $1", "t", params,
                     &old_h, &has_h, err) != 0)
        goto out;
    horizon = has_h && old_h > t->last_day ? (int32_t)old_h : t->last_day;
    if (t->backfill) {
        for (d = t->from; d <= t->to; d++) {
            char day[24];
            const char *ins[2] = {game, day};
            snprintf(day, sizeof day, "%" PRId32, d);
            if (wh_query(wh, "INSERT INTO dirty_days (game_id, day) VALUES ($1, $2) "
                             "ON CONFLICT DO NOTHING",
                         "ti", ins, NULL, NULL, err) < 0)
                goto out;
        }
    }
    if (wh_query(wh, "SELECT day FROM dirty_days WHERE game_id = $1 AND day <= $2 ORDER BY day",
                 "ti", params, collect_day, &days, err) < 0)
        goto out;
    /* A worker's inserts above wait for the job's connection, so the query
     * did not see them: the backfill's days join the list here. */
    if (t->backfill) {
        for (d = t->from; d <= t->to && d <= t->last_day; d++)
            if (day_list_add(&days, d) != 0)
                goto oom_or_out;
        day_list_unique(&days);
    }
    if (days.n > 0 && account_attrs_load(&attrs, wh, game, days.days, days.n, err) != 0)
        goto out;
    /* Every account in memory: the account-days are read once for all the
     * reports (activity_window.h), from where the first-actives pass can
     * start to the horizon. A report that needs more reads the window again. */
    if (attrs.tallied &&
        activity_window_get(&window, wh, game, &attrs, period_actives_first_read(days.days[0]),
                            horizon, err) < 0)
        goto out;

    /* Days whose facts changed: their own reports. */
    for (i = 0; i < days.n; i++) {
        day_status st;
        char day[24];
        size_t c;
        const char *del[2] = {game, day};
        d = days.days[i];
        memset(&st, 0, sizeof st);
        if (daily_kpi_compute(wh, game, d, &attrs, &window, t->fx, rc_, &st, &act, err) != 0 ||
            (!st.fx_missing &&
             (revenue_by_currency_compute(wh, game, d, t->fx, rc_, &st, err) != 0 ||
              revenue_period_compute(wh, game, PERIOD_DAY, d, horizon, act.active, act.payers,
                                     t->fx, rc_, &st, err) != 0)))
            goto out;
        if (st.fx_missing) {
            if (missing_rate_add(t, "daily reports of", d, &st) != 0)
                goto out;
            continue; /* stays dirty: computed by the run that has the rate */
        }
        if (st.fx_substituted) {
            char date[11], from[11];
            day_format(d, date);
            day_format(st.substituted_from, from);
            if (buf_printf(&t->warnings,
                           "%s %s: no exchange-rate document for the day; used %s's\n", game,
                           date, from) != 0)
                goto oom_or_out;
            t->fx_substitutions++;
        }
        snprintf(day, sizeof day, "%" PRId32, d);
        if (wh_query(wh, "DELETE FROM dirty_days WHERE game_id = $1 AND day = $2", "ti", del,
                     NULL, NULL, err) < 0)
            goto out;
        /* LTV cells of a day's payments are in the cohorts of its payers. */
        for (c = 0; c < act.n_cohorts; c++)
            if (day_list_add(&aff.ltv, act.cohorts[c]) != 0)
                goto oom_or_out;
        if (affected_add_day(&aff, d, 1) != 0)
            goto oom_or_out;
        t->computed++;
    }
    /* Days reached for the first time: cohort cells that end on them. At most
     * one LTV window back is enough. */
    if (has_h && horizon > old_h)
        for (d = horizon - (int32_t)(horizon - old_h > LTV_MAX_DAY ? LTV_MAX_DAY : horizon - old_h) + 1;
             d <= horizon; d++)
            if (affected_add_day(&aff, d, 0) != 0)
                goto oom_or_out;
    day_list_unique(&aff.weeks);
    day_list_unique(&aff.months);
    day_list_unique(&aff.retention);
    day_list_unique(&aff.ltv);
    /* The periods up to the horizon (sorted lists: they come first) and
     * their distinct actives, from the per-day counts (period_actives.h);
     * the days whose facts changed are the dirty days of every date. */
    while (n_weeks < aff.weeks.n && aff.weeks.days[n_weeks] <= horizon)
        n_weeks++;
    while (n_months < aff.months.n && aff.months.days[n_months] <= horizon)
        n_months++;
    if (wh_query(wh, "SELECT day FROM dirty_days WHERE game_id = $1 AND day > $2", "ti", params,
                 collect_day, &changed, err) < 0)
        goto out;
    for (i = 0; i < days.n; i++)
        if (day_list_add(&changed, days.days[i]) != 0)
            goto oom_or_out;
    day_list_unique(&changed);
    if (n_weeks + n_months > 0) {
        if (!(active = malloc((n_weeks + n_months) * sizeof *active)))
            goto oom_or_out;
        if (period_actives_compute(wh, game, aff.weeks.days, n_weeks, aff.months.days, n_months,
                                   changed.days, changed.n, horizon, &attrs, &window, active,
                                   active + n_weeks, err) != 0)
            goto out;
    }
    for (i = 0; i < n_weeks + n_months; i++) {
        day_status st;
        int is_week = i < n_weeks;
        d = is_week ? aff.weeks.days[i] : aff.months.days[i - n_weeks];
        memset(&st, 0, sizeof st);
        if (revenue_period_compute(wh, game, is_week ? PERIOD_WEEK : PERIOD_MONTH, d, horizon,
                                   active[i], -1, t->fx, rc_, &st, err) != 0)
            goto out;
        if (st.fx_missing &&
            missing_rate_add(t, is_week ? "revenue of the week of" : "revenue of the month of", d,
                              &st) != 0)
            goto out;
    }
    if (attrs.tallied) {
        /* Every account is in memory: all cohorts in one pass. */
        size_t n = 0;
        while (n < aff.retention.n && aff.retention.days[n] < horizon)
            n++; /* sorted: the cohorts before the horizon */
        if (retention_compute_many(wh, game, aff.retention.days, n, horizon, &attrs, &window,
                                   err) != 0)
            goto out;
    } else if (retention_few_days(wh, game, &aff.retention, &days, &changed, has_h,
                                  (int32_t)old_h, horizon, &attrs, err) != 0) {
        goto out;
    }
    {
        size_t n = 0;
        day_status *st;
        while (n < aff.ltv.n && aff.ltv.days[n] <= horizon)
            n++; /* sorted: the cohorts up to the horizon */
        if (n > 0) {
            if (!(st = calloc(n, sizeof *st)))
                goto oom_or_out;
            if (ltv_compute(wh, game, aff.ltv.days, n, horizon, &attrs, t->fx, rc_, st, err) != 0) {
                free(st);
                goto out;
            }
            for (i = 0; i < n; i++)
                if (st[i].fx_missing &&
                    missing_rate_add(t, "LTV of the cohort", aff.ltv.days[i], &st[i]) != 0) {
                    free(st);
                    goto out;
                }
            free(st);
        }
    }
    {
        const char *hp[2] = {game, limit};
        if (wh_query(wh,
                     "INSERT INTO game_state (game_id, horizon) VALUES ($1, $2) ON CONFLICT "
                     "(game_id) DO UPDATE SET horizon = CASE WHEN excluded.horizon > "
                     "game_state.horizon THEN excluded.horizon ELSE game_state.horizon END",
                     "ti", hp, NULL, NULL, err) < 0)
            goto out;
    }
    rc = 0;
    goto out;
oom_or_out:
    if (!err->msg[0])
        ms_error_set(err, "out of memory");
out:
    free(active);
    free(days.days);
    free(changed.days);
    activity_window_free(&window);
    day_actives_free(&act);
    account_attrs_free(&attrs);
    affected_free(&aff);
    return rc;
}
