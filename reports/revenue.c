/*
 * revenue.c - revenue by period and by channel/currency (see revenue.h).
 */
#include "revenue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "currency.h"
#include "export.h"
#include "timefmt.h"

static const char *const period_names[] = {"day", "week", "month"};

void period_bounds(period_kind kind, int32_t day, int32_t *start, int32_t *end)
{
    int y;
    unsigned m, d;
    switch (kind) {
    case PERIOD_DAY:
        *start = *end = day;
        break;
    case PERIOD_WEEK:
        *start = day - (day_iso_weekday(day) - 1);
        *end = *start + 6;
        break;
    case PERIOD_MONTH:
        civil_from_days(day, &y, &m, &d);
        *start = days_from_civil(y, m, 1);
        *end = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) - 1;
        break;
    }
}

typedef struct period_sums {
    money_value revenue, refunds;
    int64_t orders;
    fx_table *fx;
    day_status *st;
    ms_error *err;
} period_sums;

/* Rows: day, currency, status, count, sum(amount_minor) */
static int add_period_money(void *ctx, int ncols, const char *const *v)
{
    period_sums *s = ctx;
    int32_t day = (int32_t)strtol(v[0], NULL, 10);
    int paid = strcmp(v[2], "paid") == 0;
    (void)ncols;
    if (paid)
        s->orders += strtoll(v[3], NULL, 10);
    return convert_add(s->fx, day, v[1], v[4], paid ? &s->revenue : &s->refunds, s->st, s->err);
}

static const char q_period_money[] =
    "SELECT day, currency, status, count(*), sum(amount_minor) FROM payments WHERE "
    "game_id = $1 AND day >= $2 AND day <= $3 AND sandbox = 0 GROUP BY day, currency, status";
static const char q_period_payers[] =
    "SELECT count(DISTINCT account_id) FROM payments WHERE game_id = $1 AND day >= $2 AND "
    "day <= $3 AND status = 'paid' AND sandbox = 0";

int revenue_period_compute(warehouse *wh, const char *game_id, period_kind kind, int32_t start,
                           int32_t horizon, int64_t active, int64_t known_payers, fx_table *fx,
                           const char *reporting_currency, day_status *st, ms_error *err)
{
    period_sums s;
    int32_t first, last, end;
    char first_s[24], last_s[24], start_date[11], end_date[11];
    const char *params[3] = {game_id, first_s, last_s};
    int64_t payers = known_payers;
    int found, rc = -1;

    memset(&s, 0, sizeof s);
    money_init(&s.revenue);
    money_init(&s.refunds);
    s.fx = fx;
    s.st = st;
    s.err = err;
    period_bounds(kind, start, &first, &end);
    last = end < horizon ? end : horizon;
    snprintf(first_s, sizeof first_s, "%" PRId32, first);
    snprintf(last_s, sizeof last_s, "%" PRId32, last);
    day_format(first, start_date);
    day_format(end, end_date);

    if (wh_query(wh, q_period_money, "tii", params, add_period_money, &s, err) < 0 ||
        (known_payers < 0 &&
         wh_query_int(wh, q_period_payers, "tii", params, &payers, &found, err) != 0))
        goto out;
    if (st->fx_missing) {
        rc = 0;
        goto out;
    }
    {
        const char *del[3] = {period_names[kind], start_date, game_id};
        if (wh_query(wh,
                     "DELETE FROM revenue WHERE period = $1 AND period_start = $2 AND game_id = $3",
                     "ttt", del, NULL, NULL, err) < 0)
            goto out;
    }
    if (!money_is_zero(&s.revenue) || !money_is_zero(&s.refunds) || s.orders || payers || active) {
        char revenue[48], refunds[48], net[48], orders[24], payers_s[24], active_s[24];
        char arppu[48], arpu[48];
        money_value net_v;
        const char *v[13];
        money_init(&net_v);
        money_copy(&net_v, &s.revenue);
        money_sub(&net_v, &s.refunds); /* net is rounded once, from exact values */
        money_format(&s.revenue, 2, revenue, sizeof revenue);
        money_format(&s.refunds, 2, refunds, sizeof refunds);
        money_format(&net_v, 2, net, sizeof net);
        money_clear(&net_v);
        snprintf(orders, sizeof orders, "%" PRId64, s.orders);
        snprintf(payers_s, sizeof payers_s, "%" PRId64, payers);
        snprintf(active_s, sizeof active_s, "%" PRId64, active);
        if (payers)
            money_format_ratio(&s.revenue, payers, 6, arppu, sizeof arppu);
        if (active)
            money_format_ratio(&s.revenue, active, 6, arpu, sizeof arpu);
        v[0] = period_names[kind];
        v[1] = start_date;
        v[2] = end_date;
        v[3] = game_id;
        v[4] = revenue;
        v[5] = refunds;
        v[6] = net;
        v[7] = orders;
        v[8] = payers_s;
        v[9] = active_s;
        v[10] = payers ? arppu : NULL;
        v[11] = active ? arpu : NULL;
        v[12] = reporting_currency;
        if (wh_query(wh,
                     "INSERT INTO revenue (period, period_start, period_end, game_id, revenue, "
                     "refund_amount, net_revenue, orders, payers, active_users, arppu, arpu, "
                     "currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                     "tttttttiiittt", v, NULL, NULL, err) < 0)
            goto out;
    }
    if (export_mark_pending(wh, "revenue", start_date, err) != 0)
        goto out;
    rc = 0;
out:
    money_clear(&s.revenue);
    money_clear(&s.refunds);
    return rc;
}

/* ---- by channel and currency ---------------------------------------------------------- */

typedef struct channel_row {
    char channel[132];
    char currency[4];
    int64_t orders, amount_minor, refunds, refund_minor;
    money_value revenue;
} channel_row;

typedef struct channel_rows {
    channel_row *rows;
    size_t n, cap;
    fx_table *fx;
    int32_t day;
    day_status *st;
    ms_error *err;
} channel_rows;

/* Rows: pay_channel, currency, status, count, sum(amount_minor) */
static int add_channel(void *ctx, int ncols, const char *const *v)
{
    channel_rows *c = ctx;
    channel_row *r = NULL;
    size_t i;
    (void)ncols;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->rows[i].channel, v[0]) == 0 && strcmp(c->rows[i].currency, v[1]) == 0)
            r = &c->rows[i];
    if (!r) {
        if (c->n == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 16;
            channel_row *p = realloc(c->rows, ncap * sizeof *p);
            if (!p)
                return ms_error_set(c->err, "out of memory");
            c->rows = p;
            c->cap = ncap;
        }
        r = &c->rows[c->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->channel, sizeof r->channel, "%s", v[0]);
        snprintf(r->currency, sizeof r->currency, "%s", v[1]);
        money_init(&r->revenue);
    }
    if (strcmp(v[2], "paid") == 0) {
        r->orders += strtoll(v[3], NULL, 10);
        r->amount_minor += strtoll(v[4], NULL, 10);
        return convert_add(c->fx, c->day, v[1], v[4], &r->revenue, c->st, c->err);
    }
    r->refunds += strtoll(v[3], NULL, 10);
    r->refund_minor += strtoll(v[4], NULL, 10);
    return 0;
}

int revenue_by_currency_compute(warehouse *wh, const char *game_id, int32_t day, fx_table *fx,
                                const char *reporting_currency, day_status *st, ms_error *err)
{
    channel_rows c;
    char day_s[24], date[11];
    const char *params[2] = {game_id, day_s};
    size_t i;
    int rc = -1;

    memset(&c, 0, sizeof c);
    c.fx = fx;
    c.day = day;
    c.st = st;
    c.err = err;
    snprintf(day_s, sizeof day_s, "%" PRId32, day);
    day_format(day, date);
    if (wh_query(wh,
                 "SELECT pay_channel, currency, status, count(*), sum(amount_minor) FROM payments "
                 "WHERE game_id = $1 AND day = $2 AND sandbox = 0 GROUP BY pay_channel, currency, "
                 "status",
                 "ti", params, add_channel, &c, err) < 0)
        goto out;
    if (st->fx_missing) {
        rc = 0;
        goto out;
    }
    {
        const char *del[2] = {date, game_id};
        if (wh_query(wh, "DELETE FROM revenue_by_currency WHERE date = $1 AND game_id = $2", "tt",
                     del, NULL, NULL, err) < 0)
            goto out;
    }
    for (i = 0; i < c.n; i++) {
        const channel_row *r = &c.rows[i];
        int minor = currency_minor_units(r->currency, strlen(r->currency));
        char orders[24], amount[32], revenue[48], refunds[24], refund_amount[32];
        const char *v[10];
        if (!r->orders && !r->refunds)
            continue;
        snprintf(orders, sizeof orders, "%" PRId64, r->orders);
        snprintf(refunds, sizeof refunds, "%" PRId64, r->refunds);
        minor_format(r->amount_minor, minor, amount);
        minor_format(r->refund_minor, minor, refund_amount);
        money_format(&r->revenue, 2, revenue, sizeof revenue);
        v[0] = date;
        v[1] = game_id;
        v[2] = r->channel;
        v[3] = r->currency;
        v[4] = orders;
        v[5] = amount;
        v[6] = revenue;
        v[7] = refunds;
        v[8] = refund_amount;
        v[9] = reporting_currency;
        if (wh_query(wh,
                     "INSERT INTO revenue_by_currency (date, game_id, pay_channel, currency, "
                     "orders, amount, revenue, refunds, refund_amount_original, "
                     "reporting_currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                     "ttttittitt", v, NULL, NULL, err) < 0)
            goto out;
    }
    if (export_mark_pending(wh, "revenue_by_currency", date, err) != 0)
        goto out;
    rc = 0;
out:
    for (i = 0; i < c.n; i++)
        money_clear(&c.rows[i].revenue);
    free(c.rows);
    return rc;
}
