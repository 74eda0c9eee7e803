/*
 * period_actives.c - distinct actives of weeks and months from per-day
 * first-active counts (see period_actives.h).
 */
#include "period_actives.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenue.h"

/* The days a call looks at, span.lo .. span.lo + n - 1: by offset, the two
 * counts, whether they were read back, and whether they are recomputed. */
typedef struct span {
    int32_t lo;
    size_t n;
    int64_t *week, *month;   /* accounts active for the first time in the day's week / month */
    unsigned char *stored;   /* a row was read back */
    unsigned char *changed;  /* the day's facts changed */
    unsigned char *redo;     /* recomputed and stored again */
} span;

static void span_free(span *s)
{
    free(s->week);
    free(s->month);
    free(s->stored);
    free(s->changed);
    free(s->redo);
}

static int span_alloc(span *s, int32_t lo, int32_t hi)
{
    memset(s, 0, sizeof *s);
    s->lo = lo;
    s->n = (size_t)((int64_t)hi - lo + 1);
    s->week = calloc(s->n, sizeof *s->week);
    s->month = calloc(s->n, sizeof *s->month);
    s->stored = calloc(s->n, 1);
    s->changed = calloc(s->n, 1);
    s->redo = calloc(s->n, 1);
    return s->week && s->month && s->stored && s->changed && s->redo ? 0 : -1;
}

static int in_span(const span *s, int64_t day)
{
    return day >= s->lo && day - s->lo < (int64_t)s->n;
}

/* Row: day, week_first, month_first */
static int read_stored(void *ctx, int ncols, const char *const *v)
{
    span *s = ctx;
    int64_t day;
    size_t i;
    if (ncols < 3 || !v[0] || !v[1] || !v[2])
        return 0;
    day = strtoll(v[0], NULL, 10);
    if (!in_span(s, day))
        return 0;
    i = (size_t)(day - s->lo);
    s->week[i] = strtoll(v[1], NULL, 10);
    s->month[i] = strtoll(v[2], NULL, 10);
    s->stored[i] = 1;
    return 0;
}

/* Marks for recomputation the days of the period of `kind` starting on
 * `start` from its first changed or missing day up to min(end, horizon). */
static void mark_redo(span *s, period_kind kind, int32_t start, int32_t horizon)
{
    int32_t first, end, d;
    int from = 0;
    period_bounds(kind, start, &first, &end);
    if (end > horizon)
        end = horizon;
    for (d = first; d <= end; d++) {
        size_t i = (size_t)(d - s->lo);
        from = from || !s->stored[i] || s->changed[i];
        if (from)
            s->redo[i] = 1;
    }
}

/* ---- probe: a few days, one index descent per active account ---------- */

typedef struct probe {
    keymap payers;          /* accounts with a paid payment before the day */
    int32_t *paid_last;     /* by payers id: the latest such day */
    size_t cap;
    int32_t week_start, month_start;
    int64_t week, month;
    ms_error *err;
} probe;

/* Row: account_id, max(day) */
static int probe_payer(void *ctx, int ncols, const char *const *v)
{
    probe *p = ctx;
    int is_new;
    int64_t id;
    int32_t *grown;
    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    id = keymap_put(&p->payers, 0, v[0], strlen(v[0]), &is_new);
    if (id < 0 || !(grown = ms_grow(p->paid_last, &p->cap, (size_t)id + 1, sizeof *grown, 256)))
        return ms_error_set(p->err, "out of memory");
    p->paid_last = grown;
    grown[id] = (int32_t)strtol(v[1], NULL, 10);
    return 0;
}

/* Row: account_id, its latest activity day before the day (NULL: none) */
static int probe_active(void *ctx, int ncols, const char *const *v)
{
    probe *p = ctx;
    int32_t last = INT32_MIN;
    int64_t id;
    if (!v[0])
        return 0;
    if (ncols > 1 && v[1])
        last = (int32_t)strtol(v[1], NULL, 10);
    id = keymap_get(&p->payers, 0, v[0], strlen(v[0]));
    if (id >= 0 && p->paid_last[id] > last)
        last = p->paid_last[id];
    p->week += last < p->week_start;
    p->month += last < p->month_start;
    return 0;
}

/* The day's active accounts (an account-day, or a paid non-sandbox payment)
 * with the latest activity day in [$3, $2). activity_by_account is (game,
 * bucket, account, day) (warehouse.h): one descent per bucket, newest
 * first ($4, $5, $6: the bucket of $2 - 1 and the two before, which cover
 * [$3, $2), at most 30 days); COALESCE stops at the first bucket where the
 * account was active, which holds its latest day. MATERIALIZED: the
 * UNION's distinct accounts are made once, before any probe. */
#define PROBE_BUCKET(n)                                                                       \
    "(SELECT max(a.day) FROM activity a WHERE a.game_id = $1 AND a.day / " ACTIVITY_BUCKET_SQL \
    " = $" #n " AND a.account_id = t.account_id AND a.day >= $3 AND a.day < $2)"
static const char q_probe_active[] =
    "WITH t AS MATERIALIZED (SELECT account_id FROM activity WHERE game_id = $1 AND day = $2 "
    "UNION SELECT account_id FROM payments WHERE game_id = $1 AND day = $2 AND status = 'paid' "
    "AND sandbox = 0) SELECT t.account_id, COALESCE(" PROBE_BUCKET(4) ", " PROBE_BUCKET(5) ", "
    PROBE_BUCKET(6) ") FROM t";
/* The few payers of the days before it, read once into memory. */
static const char q_probe_payers[] =
    "SELECT account_id, max(day) FROM payments WHERE game_id = $1 AND day >= $2 AND day < $3 "
    "AND status = 'paid' AND sandbox = 0 GROUP BY account_id";

static int probe_day(warehouse *wh, const char *game_id, int32_t day, int64_t *week,
                     int64_t *month, ms_error *err)
{
    probe p;
    int32_t end, lo, bucket;
    char day_s[24], lo_s[24], bucket_s[3][24];
    const char *active_params[6] = {game_id, day_s, lo_s, bucket_s[0], bucket_s[1], bucket_s[2]};
    int k;
    const char *payer_params[3] = {game_id, lo_s, day_s};
    int rc = -1;

    memset(&p, 0, sizeof p);
    keymap_init(&p.payers);
    p.err = err;
    period_bounds(PERIOD_WEEK, day, &p.week_start, &end);
    period_bounds(PERIOD_MONTH, day, &p.month_start, &end);
    lo = p.week_start < p.month_start ? p.week_start : p.month_start;
    snprintf(day_s, sizeof day_s, "%" PRId32, day);
    snprintf(lo_s, sizeof lo_s, "%" PRId32, lo);
    bucket = (day - 1) / ACTIVITY_BUCKET_DAYS;
    if (lo < bucket * ACTIVITY_BUCKET_DAYS - 2 * ACTIVITY_BUCKET_DAYS) {
        ms_error_set(err, "internal: the probe of %" PRId32 " spans more than 3 buckets", day);
        goto out; /* cannot happen: lo is at most 30 days before day */
    }
    for (k = 0; k < 3; k++)
        snprintf(bucket_s[k], sizeof bucket_s[k], "%" PRId32, bucket - k);
    if (wh_query(wh, q_probe_payers, "tii", payer_params, probe_payer, &p, err) < 0 ||
        wh_query(wh, q_probe_active, "tiiiii", active_params, probe_active, &p, err) < 0)
        goto out;
    *week = p.week;
    *month = p.month;
    rc = 0;
out:
    keymap_free(&p.payers);
    free(p.paid_last);
    return rc;
}

/* ---- pass: many days, one read in day order ----------------------------- */

typedef struct paid_row {
    int32_t day;
    uint32_t account;   /* pass id */
} paid_row;

/* The starts of the last week and month an account was seen in. */
typedef struct last_seen {
    int32_t week, month;
} last_seen;

typedef struct pass {
    span *s;
    const account_attrs *attrs;  /* may be NULL */
    size_t n_attr;               /* ids below this are attrs' */
    keymap others;               /* accounts attrs does not have: ids from n_attr on */
    last_seen *seen;             /* by pass id */
    size_t cap;
    paid_row *paid;              /* in day order */
    size_t n_paid, cap_paid, next_paid;
    int32_t cur_day, cur_week, cur_month; /* the period starts of cur_day */
    ms_error *err;
} pass;

/* The pass id of an account, or -1 when out of memory. */
static int64_t pass_id(pass *p, const char *account_id)
{
    const account_attr *a = p->attrs ? account_attrs_find(p->attrs, account_id) : NULL;
    size_t old_cap = p->cap, i;
    last_seen *grown;
    int is_new;
    int64_t id;
    if (a)
        return a - p->attrs->attr;
    id = keymap_put(&p->others, 0, account_id, strlen(account_id), &is_new);
    if (id < 0)
        return -1;
    id += (int64_t)p->n_attr;
    if ((size_t)id >= p->cap) {
        if (!(grown = ms_grow(p->seen, &p->cap, (size_t)id + 1, sizeof *grown, 1024)))
            return -1;
        p->seen = grown;
        for (i = old_cap; i < p->cap; i++)
            grown[i].week = grown[i].month = INT32_MIN;
    }
    return id;
}

/* An account active on a day (days never go down). */
static void pass_see(pass *p, size_t id, int32_t day)
{
    if (day != p->cur_day) {
        int32_t end;
        p->cur_day = day;
        period_bounds(PERIOD_WEEK, day, &p->cur_week, &end);
        period_bounds(PERIOD_MONTH, day, &p->cur_month, &end);
    }
    if (p->seen[id].week != p->cur_week) {
        p->seen[id].week = p->cur_week;
        if (in_span(p->s, day))
            p->s->week[day - p->s->lo]++;
    }
    if (p->seen[id].month != p->cur_month) {
        p->seen[id].month = p->cur_month;
        if (in_span(p->s, day))
            p->s->month[day - p->s->lo]++;
    }
}

/* The payments of the days up to `day`, in day order. */
static void pass_flush_paid(pass *p, int32_t day)
{
    while (p->next_paid < p->n_paid && p->paid[p->next_paid].day <= day) {
        pass_see(p, p->paid[p->next_paid].account, p->paid[p->next_paid].day);
        p->next_paid++;
    }
}

/* Row: account_id, day (payments, ORDER BY day) */
static int pass_paid(void *ctx, int ncols, const char *const *v)
{
    pass *p = ctx;
    paid_row *grown;
    int64_t id;
    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    if ((id = pass_id(p, v[0])) < 0 ||
        !(grown = ms_grow(p->paid, &p->cap_paid, p->n_paid + 1, sizeof *grown, 1024)))
        return ms_error_set(p->err, "out of memory");
    p->paid = grown;
    grown[p->n_paid].day = (int32_t)strtol(v[1], NULL, 10);
    grown[p->n_paid].account = (uint32_t)id;
    p->n_paid++;
    return 0;
}

/* Row: account_id, day (activity, ORDER BY day) */
static int pass_active(void *ctx, int ncols, const char *const *v)
{
    pass *p = ctx;
    int32_t day;
    int64_t id;
    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    day = (int32_t)strtol(v[1], NULL, 10);
    pass_flush_paid(p, day);
    if ((id = pass_id(p, v[0])) < 0)
        return ms_error_set(p->err, "out of memory");
    pass_see(p, (size_t)id, day);
    return 0;
}

/* Counts every day of from .. to into s, whose counts start at zero (from:
 * a week's or month's start, so that the first sighting in a period is its
 * first day there). */
static int pass_days(warehouse *wh, const char *game_id, span *s, const account_attrs *attrs,
                     activity_window *window, int32_t from, int32_t to, ms_error *err)
{
    pass p;
    char from_s[24], to_s[24];
    const char *params[3] = {game_id, from_s, to_s};
    size_t i;
    int rc = -1, got;

    memset(&p, 0, sizeof p);
    keymap_init(&p.others);
    p.s = s;
    p.attrs = attrs;
    p.n_attr = attrs ? attrs->accounts.count : 0;
    p.cur_day = INT32_MIN;
    p.err = err;
    if (p.n_attr > 0) {
        if (!(p.seen = malloc(p.n_attr * sizeof *p.seen))) {
            ms_error_set(err, "out of memory");
            goto out;
        }
        p.cap = p.n_attr;
        for (i = 0; i < p.n_attr; i++)
            p.seen[i].week = p.seen[i].month = INT32_MIN;
    }
    snprintf(from_s, sizeof from_s, "%" PRId32, from);
    snprintf(to_s, sizeof to_s, "%" PRId32, to);
    if (wh_query(wh, "SELECT account_id, day FROM payments WHERE game_id = $1 AND day >= $2 AND "
                     "day <= $3 AND status = 'paid' AND sandbox = 0 ORDER BY day",
                 "tii", params, pass_paid, &p, err) < 0 ||
        (got = activity_window_get(window, wh, game_id, attrs, from, to, err)) < 0)
        goto out;
    if (got) {
        /* The task's shared read (activity_window.h): its account indexes
         * are the attrs' ones, as pass_id gives them. */
        for (i = activity_window_first(window, from);
             i < window->n && window->rows[i].day <= to; i++) {
            pass_flush_paid(&p, window->rows[i].day);
            pass_see(&p, window->rows[i].account, window->rows[i].day);
        }
    } else if (wh_query(wh, "SELECT account_id, day FROM activity WHERE game_id = $1 AND "
                            "day >= $2 AND day <= $3 ORDER BY day",
                        "tii", params, pass_active, &p, err) < 0) {
        goto out;
    }
    pass_flush_paid(&p, INT32_MAX);
    rc = 0;
out:
    keymap_free(&p.others);
    free(p.seen);
    free(p.paid);
    return rc;
}

/* ---- the periods ----------------------------------------------------------- */

static int64_t period_sum(const span *s, period_kind kind, int32_t start, int32_t horizon)
{
    int32_t first, end, d;
    int64_t sum = 0;
    period_bounds(kind, start, &first, &end);
    if (end > horizon)
        end = horizon;
    for (d = first; d <= end; d++)
        sum += kind == PERIOD_WEEK ? s->week[d - s->lo] : s->month[d - s->lo];
    return sum;
}

/* The earlier of the starts of day's week and month. */
static int32_t period_start_before(int32_t day)
{
    int32_t week, month, end;
    period_bounds(PERIOD_WEEK, day, &week, &end);
    period_bounds(PERIOD_MONTH, day, &month, &end);
    return week < month ? week : month;
}

int32_t period_actives_first_read(int32_t day)
{
    return period_start_before(period_start_before(day));
}

int period_actives_compute(warehouse *wh, const char *game_id, const int32_t *week_starts,
                           size_t n_weeks, const int32_t *month_starts, size_t n_months,
                           const int32_t *changed, size_t n_changed, int32_t horizon,
                           const account_attrs *attrs, activity_window *window,
                           int64_t *week_active, int64_t *month_active, ms_error *err)
{
    span s, fresh; /* the stored counts, a pass's */
    int32_t lo = INT32_MAX, hi = INT32_MIN, first, end, redo_lo = INT32_MAX, redo_hi = INT32_MIN;
    char lo_s[24], hi_s[24];
    const char *params[3] = {game_id, lo_s, hi_s};
    const char *mode = getenv(FIRST_ACTIVES_MODE_ENV);
    size_t i, n_redo = 0;
    int rc = -1;

    memset(&s, 0, sizeof s);
    memset(&fresh, 0, sizeof fresh);
    for (i = 0; i < n_weeks; i++)
        week_active[i] = 0;
    for (i = 0; i < n_months; i++)
        month_active[i] = 0;
    if (n_weeks + n_months == 0)
        return 0;
    /* The span: the periods' days, and the starts of the weeks and months
     * of those days, which a pass has to read from. */
    for (i = 0; i < n_weeks + n_months; i++) {
        period_kind kind = i < n_weeks ? PERIOD_WEEK : PERIOD_MONTH;
        period_bounds(kind, i < n_weeks ? week_starts[i] : month_starts[i - n_weeks], &first,
                      &end);
        if (end > horizon)
            end = horizon;
        if (first < lo)
            lo = first;
        if (end > hi)
            hi = end;
    }
    if (hi < lo)
        return 0;
    lo = period_start_before(lo);
    if (span_alloc(&s, lo, hi) != 0) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (i = 0; i < n_changed; i++)
        if (in_span(&s, changed[i]))
            s.changed[changed[i] - s.lo] = 1;
    snprintf(lo_s, sizeof lo_s, "%" PRId32, lo);
    snprintf(hi_s, sizeof hi_s, "%" PRId32, hi);
    if (wh_query(wh,
                 "SELECT day, week_first, month_first FROM first_actives WHERE game_id = $1 AND "
                 "day >= $2 AND day <= $3",
                 "tii", params, read_stored, &s, err) < 0)
        goto out;
    for (i = 0; i < n_weeks; i++)
        mark_redo(&s, PERIOD_WEEK, week_starts[i], horizon);
    for (i = 0; i < n_months; i++)
        mark_redo(&s, PERIOD_MONTH, month_starts[i], horizon);
    for (i = 0; i < s.n; i++) {
        int32_t d = s.lo + (int32_t)i, wk, mo;
        if (!s.redo[i])
            continue;
        n_redo++;
        period_bounds(PERIOD_WEEK, d, &wk, &end);
        period_bounds(PERIOD_MONTH, d, &mo, &end);
        if (wk < redo_lo)
            redo_lo = wk;
        if (mo < redo_lo)
            redo_lo = mo;
        redo_hi = d;
    }
    if (n_redo > 0) {
        int use_pass = mode && strcmp(mode, "pass") == 0 ? 1
                       : mode && strcmp(mode, "probe") == 0 ? 0
                                                              : n_redo > FIRST_ACTIVES_PROBE_DAYS;
        if (use_pass) {
            /* The pass recounts every day it reads; only the redo days'
             * counts are taken (the others are the same, and stored). */
            if (span_alloc(&fresh, s.lo, hi) != 0) {
                ms_error_set(err, "out of memory");
                goto out;
            }
            if (pass_days(wh, game_id, &fresh, attrs, window, redo_lo, redo_hi, err) != 0)
                goto out;
            for (i = 0; i < s.n; i++)
                if (s.redo[i]) {
                    s.week[i] = fresh.week[i];
                    s.month[i] = fresh.month[i];
                }
        } else {
            for (i = 0; i < s.n; i++)
                if (s.redo[i] && probe_day(wh, game_id, s.lo + (int32_t)i, &s.week[i],
                                           &s.month[i], err) != 0)
                    goto out;
        }
        for (i = 0; i < s.n; i++) {
            char day_s[24], week_s[24], month_s[24];
            const char *v[4] = {game_id, day_s, week_s, month_s};
            if (!s.redo[i])
                continue;
            snprintf(day_s, sizeof day_s, "%" PRId32, s.lo + (int32_t)i);
            snprintf(week_s, sizeof week_s, "%" PRId64, s.week[i]);
            snprintf(month_s, sizeof month_s, "%" PRId64, s.month[i]);
            if (wh_query(wh,
                         "INSERT INTO first_actives (game_id, day, week_first, month_first) "
                         "VALUES ($1, $2, $3, $4) ON CONFLICT (game_id, day) DO UPDATE SET "
                         "week_first = excluded.week_first, month_first = excluded.month_first",
                         "tiii", v, NULL, NULL, err) < 0)
                goto out;
        }
    }
    for (i = 0; i < n_weeks; i++)
        week_active[i] = period_sum(&s, PERIOD_WEEK, week_starts[i], horizon);
    for (i = 0; i < n_months; i++)
        month_active[i] = period_sum(&s, PERIOD_MONTH, month_starts[i], horizon);
    rc = 0;
out:
    span_free(&s);
    span_free(&fresh);
    return rc;
}
