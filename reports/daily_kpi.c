/*
 * daily_kpi.c - daily KPIs with breakdowns (see daily_kpi.h).
 */
#include "daily_kpi.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_attrs.h"
#include "export.h"
#include "money.h"
#include "timefmt.h"

#define MAX_CELLS 4096   /* platform x country combinations of one day */

/* The figures of one breakdown cell. */
typedef struct kpi_cell {
    char platform[16];
    char country[8];
    int64_t activations, registrations, role_same_day, new_roles, new_role_accounts, dau,
        payers, new_payers, new_user_payers, refunds;
    money_value revenue, refund_amount;
} kpi_cell;

typedef struct kpi_day {
    kpi_cell *cells;
    size_t n;
    const account_attrs *attrs;
    int32_t *cell_of_group; /* attrs' group -> index in cells + 1, 0 = none yet */
    fx_table *fx;
    int32_t day;
    day_status *st;
    ms_error *err;
    int failed;
    uint32_t near;          /* account_attrs_find_near's hint */
} kpi_day;

static kpi_cell *cell_for(kpi_day *k, const char *platform, const char *country)
{
    size_t i;
    kpi_cell *c;
    if (!platform)
        platform = "other";
    if (!country)
        country = "ZZ";
    for (i = 0; i < k->n; i++)
        if (strcmp(k->cells[i].platform, platform) == 0 && strcmp(k->cells[i].country, country) == 0)
            return &k->cells[i];
    if (k->n == MAX_CELLS)
        return NULL;
    c = &k->cells[k->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->platform, sizeof c->platform, "%s", platform);
    snprintf(c->country, sizeof c->country, "%s", country);
    money_init(&c->revenue);
    money_init(&c->refund_amount);
    return c;
}

/* The cell of an account's attribute group (cell_for, remembered). */
static kpi_cell *cell_for_group(kpi_day *k, uint32_t group)
{
    kpi_cell *c;
    if (k->cell_of_group[group])
        return &k->cells[k->cell_of_group[group] - 1];
    c = cell_for(k, account_group_platform(k->attrs, group),
                 account_group_country(k->attrs, group));
    if (c)
        k->cell_of_group[group] = (int32_t)(c - k->cells) + 1;
    return c;
}

/* The attributes and cell of an account: 1 when found; 0 when it has no
 * accounts row (such a fact counts nowhere, as with an inner join); -1 on
 * error (err set). */
static int account_cell(kpi_day *k, const char *account_id, const account_attr **attr,
                        kpi_cell **cell)
{
    if (!account_id || !(*attr = account_attrs_find_near(k->attrs, account_id, &k->near)))
        return 0;
    if (!(*cell = cell_for_group(k, (*attr)->group)))
        return ms_error_set(k->err, "too many platform/country combinations");
    return 1;
}

/* The counts account_attrs tallied for the day, when it did (the queries
 * marked `tallied` below are then not run). */
static int add_tallies(kpi_day *k)
{
    uint32_t g;
    for (g = 0; g < (uint32_t)k->attrs->groups.count; g++) {
        const kpi_tally *t = account_attrs_tally(k->attrs, k->day, g);
        kpi_cell *c;
        if (!t)
            continue;
        if (!(c = cell_for_group(k, g)))
            return ms_error_set(k->err, "too many platform/country combinations");
        c->activations += t->activations;
        c->registrations += t->registrations;
        c->role_same_day += t->role_same_day;
        c->new_role_accounts += t->new_role_accounts;
        c->new_roles += t->new_roles;
        c->new_payers += t->new_payers;
    }
    return 0;
}

/* Rows: platform, country, n [, m]: adds n (and m) to the given fields. */
typedef struct count_target {
    kpi_day *k;
    size_t off1, off2;   /* offsets of int64 fields in kpi_cell; off2 0 = none */
} count_target;

static int add_counts(void *ctx, int ncols, const char *const *v)
{
    count_target *t = ctx;
    kpi_cell *c = cell_for(t->k, v[0], v[1]);
    if (!c)
        return ms_error_set(t->k->err, "too many platform/country combinations");
    *(int64_t *)((char *)c + t->off1) += v[2] ? strtoll(v[2], NULL, 10) : 0;
    if (t->off2 && ncols > 3)
        *(int64_t *)((char *)c + t->off2) += v[3] ? strtoll(v[3], NULL, 10) : 0;
    return 0;
}

static int add_money(kpi_day *k, money_value *dst, const char *currency, const char *sum_minor)
{
    return convert_add(k->fx, k->day, currency, sum_minor, dst, k->st, k->err);
}

/* Rows: account_id [, currency, sum(amount_minor)]: a fact of one account,
 * put in the account's cell as `what` says. FACT_ACTIVE: an account-day of
 * the day; FACT_PAYER rows: account_id, 1 when the account has no activity
 * row that day (0 otherwise). Without tallies these rows also count the
 * accounts whose first role (FACT_ACTIVE) or first paid payment
 * (FACT_PAYER) is on the day (account_attrs.h says why they are among
 * them). */
typedef struct account_fact {
    kpi_day *k;
    enum { FACT_COUNT, FACT_ACTIVE, FACT_PAYER, FACT_REVENUE } what;
    size_t off;      /* FACT_COUNT: the int64 field of kpi_cell that gets 1 */
    int64_t rows;    /* rows seen, with or without an accounts row */
    int64_t idle;    /* FACT_PAYER rows of payers without activity */
    day_actives *actives; /* FACT_PAYER: gets the payers' cohort days */
} account_fact;

static int add_account_fact(void *ctx, int ncols, const char *const *v)
{
    account_fact *f = ctx;
    const account_attr *a;
    kpi_cell *c;
    int idle = f->what == FACT_PAYER && ncols > 1 && v[1] && strcmp(v[1], "1") == 0;
    int found;
    f->rows++;
    f->idle += idle;
    if ((found = account_cell(f->k, v[0], &a, &c)) <= 0)
        return found;
    switch (f->what) {
    case FACT_COUNT:
        (*(int64_t *)((char *)c + f->off))++;
        break;
    case FACT_ACTIVE:
        c->dau++;
        c->new_role_accounts += !f->k->attrs->tallied && a->role_day == f->k->day;
        break;
    case FACT_PAYER: {
        day_actives *d = f->actives;
        int32_t *grown;
        c->payers++;
        c->new_user_payers += a->cohort_day == f->k->day;
        c->new_payers += !f->k->attrs->tallied && a->pay_day == f->k->day;
        c->dau += idle; /* active through the payment alone */
        if (a->cohort_day == ACCOUNT_NO_COHORT)
            break;
        if (!(grown = ms_grow(d->cohorts, &d->cap_cohorts, d->n_cohorts + 1, sizeof *grown, 64)))
            return ms_error_set(f->k->err, "out of memory");
        d->cohorts = grown;
        d->cohorts[d->n_cohorts++] = a->cohort_day;
        break;
    }
    case FACT_REVENUE:
        /* Converted per account: the conversion is exact (money.h), so the
         * sum is the same as per cell. */
        if (ncols < 3)
            return ms_error_set(f->k->err, "revenue query: unexpected row");
        return add_money(f->k, &c->revenue, v[1], v[2]);
    }
    return 0;
}

/* Rows: platform, country, currency, count, sum(amount_minor) */
static int add_refunds(void *ctx, int ncols, const char *const *v)
{
    kpi_day *k = ctx;
    kpi_cell *c = cell_for(k, v[0], v[1]);
    (void)ncols;
    if (!c)
        return ms_error_set(k->err, "too many platform/country combinations");
    c->refunds += strtoll(v[3], NULL, 10);
    return add_money(k, &c->refund_amount, v[2], v[4]);
}

static void cell_add(kpi_cell *dst, const kpi_cell *src)
{
    dst->activations += src->activations;
    dst->registrations += src->registrations;
    dst->role_same_day += src->role_same_day;
    dst->new_roles += src->new_roles;
    dst->new_role_accounts += src->new_role_accounts;
    dst->dau += src->dau;
    dst->payers += src->payers;
    dst->new_payers += src->new_payers;
    dst->new_user_payers += src->new_user_payers;
    dst->refunds += src->refunds;
    money_add(&dst->revenue, &src->revenue);
    money_add(&dst->refund_amount, &src->refund_amount);
}

static int cell_is_empty(const kpi_cell *c)
{
    return !c->activations && !c->registrations && !c->new_roles && !c->new_role_accounts &&
           !c->dau && !c->payers && !c->new_payers && !c->new_user_payers && !c->refunds &&
           money_is_zero(&c->revenue) && money_is_zero(&c->refund_amount);
}

static void fmt_ratio(char *out, size_t outsz, int64_t num, int64_t den, const char **val)
{
    if (den == 0) {
        *val = NULL; /* a ratio with a zero denominator is NULL */
        return;
    }
    ratio_format(num, den, 6, out, outsz);
    *val = out;
}

static void fmt_money_ratio(char *out, size_t outsz, const money_value *m, int64_t den,
                            const char **val)
{
    if (den == 0) {
        *val = NULL;
        return;
    }
    money_format_ratio(m, den, 6, out, outsz);
    *val = out;
}

static int write_row(warehouse *wh, const char *date, const char *game_id, const char *platform,
                     const char *country, const kpi_cell *c, const char *currency, ms_error *err)
{
    char ints[10][24], rates[8][48], revenue[48], refund_amount[48];
    const char *v[23];
    static const char sql[] =
        "INSERT INTO daily_kpi (date, game_id, platform, country, activations, registrations, "
        "registration_rate, new_roles, new_role_accounts, role_create_rate, dau, payers, revenue, "
        "payer_rate, new_payers, new_payer_rate, new_user_payers, new_user_payer_rate, arpu, "
        "arppu, refunds, refund_amount, currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)";

    snprintf(ints[0], 24, "%" PRId64, c->activations);
    snprintf(ints[1], 24, "%" PRId64, c->registrations);
    snprintf(ints[2], 24, "%" PRId64, c->new_roles);
    snprintf(ints[3], 24, "%" PRId64, c->new_role_accounts);
    snprintf(ints[4], 24, "%" PRId64, c->dau);
    snprintf(ints[5], 24, "%" PRId64, c->payers);
    snprintf(ints[6], 24, "%" PRId64, c->new_payers);
    snprintf(ints[7], 24, "%" PRId64, c->new_user_payers);
    snprintf(ints[8], 24, "%" PRId64, c->refunds);
    money_format(&c->revenue, 2, revenue, sizeof revenue);
    money_format(&c->refund_amount, 2, refund_amount, sizeof refund_amount);
    v[0] = date;
    v[1] = game_id;
    v[2] = platform;
    v[3] = country;
    v[4] = ints[0];
    v[5] = ints[1];
    fmt_ratio(rates[0], 48, c->registrations, c->activations, &v[6]);
    v[7] = ints[2];
    v[8] = ints[3];
    fmt_ratio(rates[1], 48, c->role_same_day, c->registrations, &v[9]);
    v[10] = ints[4];
    v[11] = ints[5];
    v[12] = revenue;
    fmt_ratio(rates[2], 48, c->payers, c->dau, &v[13]);
    v[14] = ints[6];
    fmt_ratio(rates[3], 48, c->new_payers, c->dau, &v[15]);
    v[16] = ints[7];
    fmt_ratio(rates[4], 48, c->new_user_payers, c->registrations, &v[17]);
    fmt_money_ratio(rates[5], 48, &c->revenue, c->dau, &v[18]);
    fmt_money_ratio(rates[6], 48, &c->revenue, c->payers, &v[19]);
    v[20] = ints[8];
    v[21] = refund_amount;
    v[22] = currency;
    return wh_query(wh, sql, "ttttiitiitiittititttitt", v, NULL, NULL, err) < 0 ? -1 : 0;
}

/* The queries, each: platform, country, figures; parameters $1 game, $2 day.
 * The activations: one row per cell, kept by the merge (etl/activation_counts.h). */
static const char q_activations[] =
    "SELECT platform, country, devices FROM activations WHERE game_id = $1 AND day = $2";
static const char q_registrations[] =
    "SELECT platform, country, count(*), sum(CASE WHEN role_day = $2 THEN 1 ELSE 0 END) "
    "FROM accounts WHERE game_id = $1 AND cohort_day = $2 GROUP BY platform, country";
/* Facts counted in their account's cell (account_attrs.h): one account id
 * per row. New roles: the owner of each new role, once per role; DAU =
 * accounts with events on the day (q_active_accounts) + payers without
 * events that day (q_payer_accounts' second column). The same rows, counted
 * whether or not the account has an accounts row, are the day's distinct
 * active accounts and payers that revenue reports (day_actives). Without
 * tallies, those of them whose role_day or pay_day is the day are its
 * new_role_accounts and new_payers (account_attrs.h). */
static const char q_new_role_owners[] =
    "SELECT account_id FROM roles WHERE game_id = $1 AND first_day = $2";
static const char q_active_accounts[] =
    "SELECT account_id FROM activity WHERE game_id = $1 AND day = $2 ORDER BY account_id";
static const char q_payer_accounts[] =
    "SELECT DISTINCT p.account_id, CASE WHEN EXISTS (SELECT 1 FROM activity s WHERE "
    "s.game_id = p.game_id AND s.day = p.day AND s.account_id = p.account_id) THEN 0 ELSE 1 "
    "END FROM payments p WHERE p.game_id = $1 AND p.day = $2 AND p.status = 'paid' AND "
    "p.sandbox = 0";
static const char q_revenue[] =
    "SELECT account_id, currency, sum(amount_minor) FROM payments WHERE game_id = $1 AND "
    "day = $2 AND status = 'paid' AND sandbox = 0 GROUP BY account_id, currency";
static const char q_refunds[] =
    "SELECT coalesce(a.platform, p.platform), coalesce(a.country, p.country), p.currency, "
    "count(*), sum(p.amount_minor) FROM payments p LEFT JOIN accounts a ON "
    "a.game_id = p.game_id AND a.account_id = p.account_id AND a.cohort_day IS NOT NULL "
    "WHERE p.game_id = $1 AND p.day = $2 AND p.status = 'refunded' AND p.sandbox = 0 "
    "GROUP BY coalesce(a.platform, p.platform), coalesce(a.country, p.country), p.currency";

/* The day's account-days from the task's window (activity_window.h): each
 * one in its account's cell's DAU (the window holds only accounts of the
 * attrs), and their number in *n. Returns 0, or -1 (err set). */
static int add_window_actives(kpi_day *k, const activity_window *w, int64_t *n)
{
    size_t i;
    for (i = activity_window_first(w, k->day); i < w->n && w->rows[i].day == k->day; i++) {
        kpi_cell *c = cell_for_group(k, k->attrs->attr[w->rows[i].account].group);
        if (!c)
            return ms_error_set(k->err, "too many platform/country combinations");
        c->dau++;
        (*n)++;
    }
    return 0;
}

void day_actives_free(day_actives *a)
{
    free(a->cohorts);
    memset(a, 0, sizeof *a);
}

int daily_kpi_compute(warehouse *wh, const char *game_id, int32_t day,
                      const account_attrs *attrs, const activity_window *window, fx_table *fx,
                      const char *reporting_currency, day_status *st, day_actives *actives,
                      ms_error *err)
{
    kpi_day k;
    kpi_cell *total = NULL, *groups = NULL;
    size_t n_groups = 0, i, j;
    char day_num[24], date[11];
    const char *params[2];
    count_target t;
    account_fact fact;
    int rc = -1;
    struct {
        const char *sql;
        size_t off1, off2;
        int tallied; /* counted by account_attrs' scans when it has tallies */
    } counts[] = {
        {q_activations, offsetof(kpi_cell, activations), 0, 1},
        {q_registrations, offsetof(kpi_cell, registrations), offsetof(kpi_cell, role_same_day), 1},
    };

    memset(st, 0, sizeof *st);
    actives->active = actives->payers = 0;
    actives->n_cohorts = 0;
    memset(&k, 0, sizeof k);
    memset(&fact, 0, sizeof fact);
    k.cells = malloc(MAX_CELLS * sizeof *k.cells);
    groups = malloc((MAX_CELLS * 2 + 1) * sizeof *groups);
    k.cell_of_group = calloc(attrs->groups.count ? attrs->groups.count : 1,
                             sizeof *k.cell_of_group);
    if (!k.cells || !groups || !k.cell_of_group) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    k.attrs = attrs;
    k.fx = fx;
    k.day = day;
    k.st = st;
    k.err = err;
    snprintf(day_num, sizeof day_num, "%" PRId32, day);
    day_format(day, date);
    params[0] = game_id;
    params[1] = day_num;
    t.k = &k;
    for (i = 0; i < MS_ARRAY_LEN(counts); i++) {
        if (counts[i].tallied && attrs->tallied)
            continue;
        t.off1 = counts[i].off1;
        t.off2 = counts[i].off2;
        if (wh_query(wh, counts[i].sql, "ti", params, add_counts, &t, err) < 0)
            goto out;
    }
    if (attrs->tallied && add_tallies(&k) != 0)
        goto out;
    fact.k = &k;
    fact.what = FACT_COUNT;
    fact.off = offsetof(kpi_cell, new_roles);
    if (!attrs->tallied &&
        wh_query(wh, q_new_role_owners, "ti", params, add_account_fact, &fact, err) < 0)
        goto out;
    if (activity_window_covers(window, day, day)) {
        if (add_window_actives(&k, window, &actives->active) != 0)
            goto out;
    } else {
        fact.what = FACT_ACTIVE;
        fact.rows = 0;
        if (wh_query(wh, q_active_accounts, "ti", params, add_account_fact, &fact, err) < 0)
            goto out;
        actives->active = fact.rows;
    }
    fact.what = FACT_PAYER;
    fact.rows = 0;
    fact.actives = actives;
    if (wh_query(wh, q_payer_accounts, "ti", params, add_account_fact, &fact, err) < 0)
        goto out;
    actives->active += fact.idle;
    actives->payers = fact.rows;
    actives->n_cohorts = ms_days_unique(actives->cohorts, actives->n_cohorts);
    fact.what = FACT_REVENUE;
    if (wh_query(wh, q_revenue, "ti", params, add_account_fact, &fact, err) < 0 ||
        wh_query(wh, q_refunds, "ti", params, add_refunds, &k, err) < 0)
        goto out;
    if (st->fx_missing) {
        rc = 0;
        goto out;
    }

    /* Roll the cells up: the total, one row per platform, one per country. */
    total = &groups[n_groups++];
    memset(total, 0, sizeof *total);
    snprintf(total->platform, sizeof total->platform, "ALL");
    snprintf(total->country, sizeof total->country, "ALL");
    money_init(&total->revenue);
    money_init(&total->refund_amount);
    for (i = 0; i < k.n; i++) {
        const kpi_cell *c = &k.cells[i];
        int found_p = 0, found_c = 0;
        cell_add(total, c);
        for (j = 1; j < n_groups; j++) {
            kpi_cell *g = &groups[j];
            if (!found_p && strcmp(g->country, "ALL") == 0 && strcmp(g->platform, "ALL") != 0 &&
                strcmp(g->platform, c->platform) == 0) {
                cell_add(g, c);
                found_p = 1;
            } else if (!found_c && strcmp(g->platform, "ALL") == 0 &&
                       strcmp(g->country, "ALL") != 0 && strcmp(g->country, c->country) == 0) {
                cell_add(g, c);
                found_c = 1;
            }
        }
        if (!found_p) {
            kpi_cell *g = &groups[n_groups++];
            memset(g, 0, sizeof *g);
            snprintf(g->platform, sizeof g->platform, "%s", c->platform);
            snprintf(g->country, sizeof g->country, "ALL");
            money_init(&g->revenue);
            money_init(&g->refund_amount);
            cell_add(g, c);
        }
        if (!found_c) {
            kpi_cell *g = &groups[n_groups++];
            memset(g, 0, sizeof *g);
            snprintf(g->platform, sizeof g->platform, "ALL");
            snprintf(g->country, sizeof g->country, "%s", c->country);
            money_init(&g->revenue);
            money_init(&g->refund_amount);
            cell_add(g, c);
        }
    }

    {
        const char *del[2] = {date, game_id};
        if (wh_query(wh, "DELETE FROM daily_kpi WHERE date = $1 AND game_id = $2", "tt", del, NULL,
                     NULL, err) < 0)
            goto out;
    }
    for (j = 0; j < n_groups; j++) {
        if (cell_is_empty(&groups[j]))
            continue; /* rows whose every count is 0 are not written */
        if (write_row(wh, date, game_id, groups[j].platform, groups[j].country, &groups[j],
                      reporting_currency, err) != 0)
            goto out;
    }
    if (export_mark_pending(wh, "daily_kpi", date, err) != 0)
        goto out;
    rc = 0;
out:
    if (k.cells)
        for (i = 0; i < k.n; i++) {
            money_clear(&k.cells[i].revenue);
            money_clear(&k.cells[i].refund_amount);
        }
    if (groups)
        for (j = 0; j < n_groups; j++) {
            money_clear(&groups[j].revenue);
            money_clear(&groups[j].refund_amount);
        }
    free(k.cells);
    free(k.cell_of_group);
    free(groups);
    return rc;
}
