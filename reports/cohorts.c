/*
 * cohorts.c - retention and LTV (see cohorts.h).
 */
#include "cohorts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breakdown.h"
#include "export.h"
#include "keymap.h"
#include "timefmt.h"

const int retention_days[9] = {1, 2, 3, 4, 5, 6, 7, 14, 30};
const int ltv_days[7] = {1, 3, 7, 14, 30, 60, 90};

/* Count slots of a cohort cell: [0] cohort size, [1 + i] retained on day
 * retention_days[i]. Money slots (LTV): cumulative revenue per ltv_days[i]. */

typedef struct cohort_ctx {
    breakdown cells;
    int32_t cohort;
    int32_t horizon;
    keymap seen;        /* retention: account + day already counted */
    fx_table *fx;
    day_status *st;
    ms_error *err;
} cohort_ctx;

/* Rows: platform, country, count */
static int add_size(void *ctx, int ncols, const char *const *v)
{
    cohort_ctx *c = ctx;
    bd_cell *cell = breakdown_cell(&c->cells, v[0], v[1]);
    (void)ncols;
    if (!cell)
        return ms_error_set(c->err, "out of memory");
    cell->n[0] += strtoll(v[2], NULL, 10);
    return 0;
}

static int retention_index(int32_t cohort, int32_t day)
{
    size_t i;
    for (i = 0; i < MS_ARRAY_LEN(retention_days); i++)
        if (day == cohort + retention_days[i])
            return (int)i;
    return -1;
}

/* The cohort `day` among n sorted by cohort, or NULL. */
static cohort_ctx *find_cohort(cohort_ctx *c, size_t n, int32_t day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].cohort < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && c[lo].cohort == day ? &c[lo] : NULL;
}

/* Rows: account_id, day, platform, country. An account active on a day both
 * by events and by a payment is counted once. */
static int add_retained(void *ctx, int ncols, const char *const *v)
{
    cohort_ctx *c = ctx;
    int32_t day = (int32_t)strtol(v[1], NULL, 10);
    int idx = retention_index(c->cohort, day);
    char key[300];
    int n, is_new;
    bd_cell *cell;
    (void)ncols;
    if (idx < 0 || day > c->horizon)
        return 0;
    n = snprintf(key, sizeof key, "%s|%" PRId32, v[0], day);
    if (n < 0 || (size_t)n >= sizeof key)
        return ms_error_set(c->err, "account id too long");
    if (keymap_put(&c->seen, 0, key, (size_t)n, &is_new) < 0)
        return ms_error_set(c->err, "out of memory");
    if (!is_new)
        return 0;
    cell = breakdown_cell(&c->cells, v[2], v[3]);
    if (!cell)
        return ms_error_set(c->err, "out of memory");
    cell->n[1 + idx]++;
    return 0;
}

static const char q_cohort_size[] =
    "SELECT platform, country, count(*) FROM accounts WHERE game_id = $1 AND cohort_day = $2 "
    "GROUP BY platform, country";
/* CROSS JOIN: SQLite then reads the cohort first and each member's days by
 * (game, bucket, account, day), instead of every account's activity of the
 * window; PostgreSQL plans it as the inner join it is. $4..$6: the buckets
 * of the window (warehouse.h), at most 3 for its 30 days. */
static const char q_retained_events[] =
    "SELECT a.account_id, s.day, a.platform, a.country FROM accounts a CROSS JOIN activity s "
    "WHERE s.game_id = a.game_id AND s.day / " ACTIVITY_BUCKET_SQL " IN ($4, $5, $6) AND "
    "s.account_id = a.account_id AND a.game_id = $1 AND a.cohort_day = $2 AND s.day > $2 AND "
    "s.day <= $3";
static const char q_retained_payments[] =
    "SELECT a.account_id, p.day, a.platform, a.country FROM accounts a CROSS JOIN payments p "
    "WHERE p.game_id = a.game_id AND p.account_id = a.account_id AND a.game_id = $1 AND "
    "a.cohort_day = $2 AND p.day > $2 AND p.day <= $3 AND p.status = 'paid' AND p.sandbox = 0";

static int replace_rows(warehouse *wh, const char *table, const char *game_id, const char *date,
                        ms_error *err)
{
    const char *params[2] = {date, game_id};
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE cohort_date = $1 AND game_id = $2", table);
    return wh_query(wh, sql, "tt", params, NULL, NULL, err) < 0 ? -1 : 0;
}

/* Replaces the retention partition of one cohort by the rows of its
 * cells (n[0] size, n[1 + k] retained on day retention_days[k]); with
 * only_k >= 0, only the rows of retention day retention_days[only_k]. */
static int write_retention(warehouse *wh, const char *game_id, int32_t cohort, int32_t horizon,
                           const breakdown *cells, int only_k, ms_error *err)
{
    breakdown rows;
    char date[11], only_n[8];
    const char *del[3] = {date, game_id, only_n};
    size_t i, k, k_from = only_k < 0 ? 0 : (size_t)only_k,
                 k_to = only_k < 0 ? MS_ARRAY_LEN(retention_days) : (size_t)only_k + 1;
    int rc = -1;

    breakdown_init(&rows);
    day_format(cohort, date);
    if (breakdown_rollup(cells, &rows) != 0) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    if (only_k < 0) {
        if (replace_rows(wh, "retention", game_id, date, err))
            goto out;
    } else {
        snprintf(only_n, sizeof only_n, "%d", retention_days[only_k]);
        if (wh_query(wh,
                     "DELETE FROM retention WHERE cohort_date = $1 AND game_id = $2 AND day = $3",
                     "tti", del, NULL, NULL, err) < 0)
            goto out;
    }
    for (i = 0; i < rows.n_cells; i++) {
        const bd_cell *r = &rows.cells[i];
        if (r->n[0] == 0)
            continue; /* an empty cohort has no cells */
        for (k = k_from; k < k_to; k++) {
            char day_n[8], size[24], retained[24], rate[48];
            const char *v[8];
            if (cohort + retention_days[k] > horizon)
                break; /* that day has not been processed yet */
            snprintf(day_n, sizeof day_n, "%d", retention_days[k]);
            snprintf(size, sizeof size, "%" PRId64, r->n[0]);
            snprintf(retained, sizeof retained, "%" PRId64, r->n[1 + k]);
            ratio_format(r->n[1 + k], r->n[0], 6, rate, sizeof rate);
            v[0] = date;
            v[1] = game_id;
            v[2] = r->platform;
            v[3] = r->country;
            v[4] = day_n;
            v[5] = size;
            v[6] = retained;
            v[7] = rate;
            if (wh_query(wh,
                         "INSERT INTO retention (cohort_date, game_id, platform, country, day, "
                         "cohort_size, retained, rate) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                         "ttttiiit", v, NULL, NULL, err) < 0)
                goto out;
        }
    }
    if (export_mark_pending(wh, "retention", date, err) != 0)
        goto out;
    rc = 0;
out:
    breakdown_free(&rows);
    return rc;
}

int retention_compute(warehouse *wh, const char *game_id, int32_t cohort, int32_t horizon,
                      ms_error *err)
{
    cohort_ctx c;
    char cohort_s[24], limit_s[24], bucket_s[3][24];
    const char *params[6] = {game_id, cohort_s, limit_s, bucket_s[0], bucket_s[1], bucket_s[2]};
    int32_t limit = cohort + 30 < horizon ? cohort + 30 : horizon;
    int k, rc = -1;

    memset(&c, 0, sizeof c);
    breakdown_init(&c.cells);
    keymap_init(&c.seen);
    c.cohort = cohort;
    c.horizon = horizon;
    c.err = err;
    snprintf(cohort_s, sizeof cohort_s, "%" PRId32, cohort);
    snprintf(limit_s, sizeof limit_s, "%" PRId32, limit);
    /* (cohort, cohort + 30]: from the bucket of cohort + 1, 3 buckets. */
    for (k = 0; k < 3; k++)
        snprintf(bucket_s[k], sizeof bucket_s[k], "%" PRId32,
                 (cohort + 1) / ACTIVITY_BUCKET_DAYS + k);

    if (wh_query(wh, q_cohort_size, "ti", params, add_size, &c, err) < 0 ||
        wh_query(wh, q_retained_events, "tiiiii", params, add_retained, &c, err) < 0 ||
        wh_query(wh, q_retained_payments, "tii", params, add_retained, &c, err) < 0 ||
        write_retention(wh, game_id, cohort, horizon, &c.cells, -1, err) != 0)
        goto out;
    rc = 0;
out:
    breakdown_free(&c.cells);
    keymap_free(&c.seen);
    return rc;
}

/* ---- retention of many cohorts in one pass ---------------------------------- */

/* The days the accounts of the wanted cohorts were active on, as a bit per
 * retention day (bit k: day cohort + retention_days[k]); what one pass over
 * a window's activity and payments fills. */
typedef struct retention_pass {
    const account_attrs *attrs;
    int32_t first, last;      /* the wanted cohorts span [first, last] */
    const uint8_t *wanted;    /* by cohort - first */
    uint16_t *mask;           /* by account id in attrs */
    ms_error *err;
} retention_pass;

/* Account id (in attrs) active on day: its bit, when its cohort is wanted. */
static void mark_account(retention_pass *p, size_t id, int32_t day)
{
    int32_t cohort = p->attrs->attr[id].cohort_day;
    int idx;
    if (cohort == ACCOUNT_NO_COHORT || cohort < p->first || cohort > p->last ||
        !p->wanted[cohort - p->first])
        return;
    if ((idx = retention_index(cohort, day)) < 0)
        return; /* the window stops at the horizon */
    p->mask[id] |= (uint16_t)(1u << idx);
}

/* Rows: account_id, day (activity, or a paid payment). */
static int mark_retained(void *ctx, int ncols, const char *const *v)
{
    retention_pass *p = ctx;
    const account_attr *a;
    (void)ncols;
    if (!v[0] || !v[1] || !(a = account_attrs_find(p->attrs, v[0])))
        return 0; /* no accounts row: in no cohort, as the join had it */
    mark_account(p, (size_t)(a - p->attrs->attr), (int32_t)strtol(v[1], NULL, 10));
    return 0;
}

static const char q_window_activity[] =
    "SELECT account_id, day FROM activity WHERE game_id = $1 AND day > $2 AND day <= $3";
static const char q_window_payments[] =
    "SELECT account_id, day FROM payments WHERE game_id = $1 AND day > $2 AND day <= $3 AND "
    "status = 'paid' AND sandbox = 0";

int retention_compute_many(warehouse *wh, const char *game_id, const int32_t *cohorts, size_t n,
                           int32_t horizon, const account_attrs *attrs, activity_window *window,
                           ms_error *err)
{
    retention_pass p;
    breakdown *cells = NULL;  /* by cohort - first */
    uint8_t *wanted = NULL;
    char first_s[24], last_s[24];
    const char *params[3] = {game_id, first_s, last_s};
    size_t i, span, n_accounts = attrs->accounts.count;
    int32_t last_day;
    int rc = -1, got;

    memset(&p, 0, sizeof p);
    if (n == 0)
        return 0;
    p.attrs = attrs;
    p.first = cohorts[0];
    p.last = cohorts[n - 1];
    p.err = err;
    span = (size_t)(p.last - p.first) + 1;
    if (!(wanted = calloc(span, 1)) || !(cells = calloc(span, sizeof *cells)) ||
        !(p.mask = calloc(n_accounts ? n_accounts : 1, sizeof *p.mask))) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (i = 0; i < span; i++)
        breakdown_init(&cells[i]);
    for (i = 0; i < n; i++)
        wanted[cohorts[i] - p.first] = 1;
    p.wanted = wanted;
    last_day = p.last + 30 < horizon ? p.last + 30 : horizon;
    snprintf(first_s, sizeof first_s, "%" PRId32, p.first);
    snprintf(last_s, sizeof last_s, "%" PRId32, last_day);
    /* The window's activity: from the task's shared read when it has one
     * (activity_window.h), else by its own query. */
    if ((got = activity_window_get(window, wh, game_id, attrs, p.first + 1, last_day, err)) < 0)
        goto out;
    if (got) {
        for (i = activity_window_first(window, p.first + 1);
             i < window->n && window->rows[i].day <= last_day; i++)
            mark_account(&p, window->rows[i].account, window->rows[i].day);
    } else if (wh_query(wh, q_window_activity, "tii", params, mark_retained, &p, err) < 0) {
        goto out;
    }
    if (wh_query(wh, q_window_payments, "tii", params, mark_retained, &p, err) < 0)
        goto out;
    /* Sizes and retained counts by cohort and group, account by account. */
    for (i = 0; i < n_accounts; i++) {
        const account_attr *a = &attrs->attr[i];
        bd_cell *cell;
        size_t k;
        if (a->cohort_day == ACCOUNT_NO_COHORT || a->cohort_day < p.first ||
            a->cohort_day > p.last || !wanted[a->cohort_day - p.first])
            continue;
        cell = breakdown_cell(&cells[a->cohort_day - p.first],
                              account_group_platform(attrs, a->group),
                              account_group_country(attrs, a->group));
        if (!cell) {
            ms_error_set(err, "out of memory");
            goto out;
        }
        cell->n[0]++;
        for (k = 0; k < MS_ARRAY_LEN(retention_days); k++)
            cell->n[1 + k] += (p.mask[i] >> k) & 1;
    }
    for (i = 0; i < n; i++)
        if (write_retention(wh, game_id, cohorts[i], horizon, &cells[cohorts[i] - p.first], -1,
                            err) != 0)
            goto out;
    rc = 0;
out:
    for (i = 0; cells && i < span; i++)
        breakdown_free(&cells[i]);
    free(cells);
    free(wanted);
    free(p.mask);
    return rc;
}

/* ---- the retention cells that end on one day -------------------------------- */

/* The cohorts of one retention_cells_of_day call, ascending, each with its
 * cells (sizes in n[0], the day's retained in n[1 + k]). */
typedef struct day_cells {
    const account_attrs *attrs;
    cohort_ctx *c;
    size_t n;
    int32_t day;
    ms_error *err;
} day_cells;

/* Rows: account_id (the day's active accounts, each once). */
static int add_day_active(void *ctx, int ncols, const char *const *v)
{
    day_cells *d = ctx;
    const account_attr *a;
    cohort_ctx *c;
    bd_cell *cell;
    (void)ncols;
    if (!v[0] || !(a = account_attrs_find(d->attrs, v[0])) || a->cohort_day == ACCOUNT_NO_COHORT)
        return 0; /* no accounts row or no cohort: in no cohort, as the join had it */
    if (!(c = find_cohort(d->c, d->n, a->cohort_day)))
        return 0;
    cell = breakdown_cell(&c->cells, account_group_platform(d->attrs, a->group),
                          account_group_country(d->attrs, a->group));
    if (!cell)
        return ms_error_set(d->err, "out of memory");
    cell->n[1 + retention_index(a->cohort_day, d->day)]++;
    return 0;
}

static const char q_day_actives[] =
    "SELECT account_id FROM activity WHERE game_id = $1 AND day = $2 UNION SELECT account_id "
    "FROM payments WHERE game_id = $1 AND day = $2 AND status = 'paid' AND sandbox = 0";

int retention_cells_of_day(warehouse *wh, const char *game_id, int32_t day,
                           const int32_t *cohorts, size_t n, const account_attrs *attrs,
                           ms_error *err)
{
    day_cells d;
    char day_s[24], cohort_s[24];
    const char *params[2] = {game_id, day_s}, *size_params[2] = {game_id, cohort_s};
    size_t i;
    int rc = -1;

    memset(&d, 0, sizeof d);
    if (n == 0)
        return 0;
    d.attrs = attrs;
    d.n = n;
    d.day = day;
    d.err = err;
    if (!(d.c = calloc(n, sizeof *d.c))) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        breakdown_init(&d.c[i].cells);
        d.c[i].cohort = cohorts[i];
        d.c[i].err = err;
        if (retention_index(cohorts[i], day) < 0) {
            ms_error_set(err, "retention: day %" PRId32 " is no retention day of cohort %" PRId32,
                         day, cohorts[i]);
            goto out;
        }
        /* The cohort's sizes by group: every group gets its row, retained
         * or not, as the whole partition has them. */
        snprintf(cohort_s, sizeof cohort_s, "%" PRId32, cohorts[i]);
        if (wh_query(wh, q_cohort_size, "ti", size_params, add_size, &d.c[i], err) < 0)
            goto out;
    }
    snprintf(day_s, sizeof day_s, "%" PRId32, day);
    if (wh_query(wh, q_day_actives, "ti", params, add_day_active, &d, err) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (write_retention(wh, game_id, cohorts[i], day, &d.c[i].cells,
                            retention_index(cohorts[i], day), err) != 0)
            goto out;
    rc = 0;
out:
    for (i = 0; d.c && i < n; i++)
        breakdown_free(&d.c[i].cells);
    free(d.c);
    return rc;
}

/* Adds one (day, currency, amount) of a cohort's payers to every LTV window
 * of the cohort that contains the day. */
static int add_ltv_amount(cohort_ctx *c, const char *platform, const char *country, int32_t day,
                          const char *currency, const char *amount_minor)
{
    bd_cell *cell = breakdown_cell(&c->cells, platform, country);
    money_value amount;
    size_t k;
    int rc;
    if (!cell)
        return ms_error_set(c->err, "out of memory");
    money_init(&amount);
    rc = convert_add(c->fx, day, currency, amount_minor, &amount, c->st, c->err);
    if (rc == 0)
        for (k = 0; k < MS_ARRAY_LEN(ltv_days); k++)
            if (day <= c->cohort + ltv_days[k] - 1)
                money_add(&cell->m[k], &amount);
    money_clear(&amount);
    return rc;
}

/* The cohorts of one ltv_compute call, sorted, each with its cells. */
typedef struct ltv_batch {
    cohort_ctx *c;
    size_t n;
    int32_t horizon;
    ms_error *err;
} ltv_batch;

static cohort_ctx *batch_cohort(ltv_batch *b, const char *day_text)
{
    return find_cohort(b->c, b->n, (int32_t)strtol(day_text, NULL, 10));
}

/* Rows: cohort_day, platform, country, count */
static int add_batch_size(void *ctx, int ncols, const char *const *v)
{
    cohort_ctx *c = batch_cohort(ctx, v[0]);
    return c ? add_size(c, ncols - 1, v + 1) : 0;
}

/* Rows: cohort_day, platform, country, day, currency, sum(amount_minor) */
static int add_batch_revenue(void *ctx, int ncols, const char *const *v)
{
    ltv_batch *b = ctx;
    cohort_ctx *c = batch_cohort(b, v[0]);
    int32_t day = (int32_t)strtol(v[3], NULL, 10);
    (void)ncols;
    if (!c || day < c->cohort || day > c->cohort + LTV_MAX_DAY - 1 || day > b->horizon)
        return 0;
    return add_ltv_amount(c, v[1], v[2], day, v[4], v[5]);
}

/* All the cohorts' sizes in one read of the registration index, and all
 * their payers' revenue in one read of the payments of the days their
 * windows cover: one pass for a night's cohorts instead of one per cohort
 * (each of which probed every member's payments). */
static const char q_ltv_sizes[] =
    "SELECT cohort_day, platform, country, count(*) FROM accounts WHERE game_id = $1 AND "
    "cohort_day >= $2 AND cohort_day <= $3 GROUP BY cohort_day, platform, country";
static const char q_ltv_revenues[] =
    "SELECT a.cohort_day, a.platform, a.country, p.day, p.currency, sum(p.amount_minor) "
    "FROM payments p CROSS JOIN accounts a WHERE p.game_id = $1 AND p.day >= $2 AND "
    "p.day <= $4 AND p.status = 'paid' AND p.sandbox = 0 AND a.game_id = p.game_id AND "
    "a.account_id = p.account_id AND a.cohort_day >= $2 AND a.cohort_day <= $3 "
    "GROUP BY a.cohort_day, a.platform, a.country, p.day, p.currency";

/* Replaces the LTV rows of cohort c (whose sizes and revenue are in). */
static int write_ltv(warehouse *wh, const char *game_id, const cohort_ctx *c,
                     const char *reporting_currency, ms_error *err)
{
    breakdown rows;
    char date[11];
    size_t i, k;
    int rc = -1;

    breakdown_init(&rows);
    day_format(c->cohort, date);
    if (breakdown_rollup(&c->cells, &rows) != 0 || replace_rows(wh, "ltv", game_id, date, err))
        goto out;
    for (i = 0; i < rows.n_cells; i++) {
        const bd_cell *r = &rows.cells[i];
        if (r->n[0] == 0)
            continue;
        for (k = 0; k < MS_ARRAY_LEN(ltv_days); k++) {
            char day_n[8], size[24], revenue[48], ltv[48];
            const char *v[9];
            if (c->cohort + ltv_days[k] - 1 > c->horizon)
                break;
            snprintf(day_n, sizeof day_n, "%d", ltv_days[k]);
            snprintf(size, sizeof size, "%" PRId64, r->n[0]);
            money_format(&r->m[k], 2, revenue, sizeof revenue);
            money_format_ratio(&r->m[k], r->n[0], 6, ltv, sizeof ltv);
            v[0] = date;
            v[1] = game_id;
            v[2] = r->platform;
            v[3] = r->country;
            v[4] = day_n;
            v[5] = size;
            v[6] = revenue;
            v[7] = ltv;
            v[8] = reporting_currency;
            if (wh_query(wh,
                         "INSERT INTO ltv (cohort_date, game_id, platform, country, day, "
                         "cohort_size, revenue, ltv, currency) VALUES ($1, $2, $3, $4, $5, $6, "
                         "$7, $8, $9)",
                         "ttttiittt", v, NULL, NULL, err) < 0)
                goto out;
        }
    }
    if (export_mark_pending(wh, "ltv", date, err) != 0)
        goto out;
    rc = 0;
out:
    breakdown_free(&rows);
    return rc;
}

/* The cohorts' sizes by group from attrs (every account of the game), as
 * q_ltv_sizes counts them. */
static int ltv_sizes_from_attrs(ltv_batch *b, const account_attrs *attrs)
{
    size_t i;
    for (i = 0; i < attrs->accounts.count; i++) {
        const account_attr *a = &attrs->attr[i];
        cohort_ctx *c;
        bd_cell *cell;
        if (a->cohort_day == ACCOUNT_NO_COHORT || !(c = find_cohort(b->c, b->n, a->cohort_day)))
            continue;
        cell = breakdown_cell(&c->cells, account_group_platform(attrs, a->group),
                              account_group_country(attrs, a->group));
        if (!cell)
            return ms_error_set(b->err, "out of memory");
        cell->n[0]++;
    }
    return 0;
}

int ltv_compute(warehouse *wh, const char *game_id, const int32_t *cohorts, size_t n,
                int32_t horizon, const account_attrs *attrs, fx_table *fx,
                const char *reporting_currency, day_status *st, ms_error *err)
{
    ltv_batch b;
    char first_s[24], last_s[24], limit_s[24];
    const char *params[4] = {game_id, first_s, last_s, limit_s};
    int32_t limit;
    size_t i;
    int rc = -1;

    if (n == 0)
        return 0;
    memset(&b, 0, sizeof b);
    b.horizon = horizon;
    b.err = err;
    if (!(b.c = calloc(n, sizeof *b.c)))
        return ms_error_set(err, "out of memory");
    b.n = n;
    for (i = 0; i < n; i++) {
        breakdown_init(&b.c[i].cells);
        keymap_init(&b.c[i].seen);
        b.c[i].cohort = cohorts[i];
        b.c[i].horizon = horizon;
        b.c[i].fx = fx;
        b.c[i].st = &st[i];
        b.c[i].err = err;
    }
    limit = cohorts[n - 1] + LTV_MAX_DAY - 1 < horizon ? cohorts[n - 1] + LTV_MAX_DAY - 1 : horizon;
    snprintf(first_s, sizeof first_s, "%" PRId32, cohorts[0]);
    snprintf(last_s, sizeof last_s, "%" PRId32, cohorts[n - 1]);
    snprintf(limit_s, sizeof limit_s, "%" PRId32, limit);
    /* Sizes: from memory when every account is there (a first load, whose
     * accounts_by_cohort is still being built: load_order.h). */
    if ((attrs && attrs->tallied ? ltv_sizes_from_attrs(&b, attrs)
                                 : (wh_query(wh, q_ltv_sizes, "tii", params, add_batch_size, &b,
                                             err) < 0 ? -1 : 0)) != 0 ||
        wh_query(wh, q_ltv_revenues, "tiii", params, add_batch_revenue, &b, err) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (!st[i].fx_missing && write_ltv(wh, game_id, &b.c[i], reporting_currency, err) != 0)
            goto out;
    rc = 0;
out:
    for (i = 0; i < b.n; i++) {
        breakdown_free(&b.c[i].cells);
        keymap_free(&b.c[i].seen);
    }
    free(b.c);
    return rc;
}
