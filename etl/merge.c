/*
 * merge.c - a run's facts into the warehouse (see merge.h).
 */
#include "merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymap.h"

/* Staging tables: one per fact kind with the target's columns, plus keys.
 * Every statement below is driven from the (small) staging table into the
 * (large) fact table's key, never the other way round: the cost of a night
 * must follow the night's data, not the warehouse's size. In SQLite,
 * "stage CROSS JOIN fact" fixes that join order; a row-value IN on the key
 * makes DELETE probe the fact table per staged row. */
static const char *const staging_ddl =
    "CREATE TEMP TABLE IF NOT EXISTS stage_keys (game_id TEXT, k1 TEXT, k2 TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS stage_devices (game_id TEXT, device_id TEXT, "
    "  first_ts BIGINT, first_eid TEXT, first_day BIGINT, platform TEXT, country TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS stage_roles (game_id TEXT, server_id TEXT, role_id TEXT, "
    "  first_ts BIGINT, first_eid TEXT, first_day BIGINT, account_id TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS stage_activity (game_id TEXT, day BIGINT, account_id TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS stage_payments (game_id TEXT, order_id TEXT, status TEXT, "
    "  ts BIGINT, eid TEXT, day BIGINT, account_id TEXT, amount_minor BIGINT, currency TEXT, "
    "  pay_channel TEXT, channel_txn_id TEXT, product_id TEXT, server_id TEXT, role_id TEXT, "
    "  sandbox BIGINT, platform TEXT, country TEXT, source TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS stage_accounts (game_id TEXT, account_id TEXT, "
    "  reg_ts BIGINT, reg_eid TEXT, reg_day BIGINT, reg_platform TEXT, reg_country TEXT, "
    "  act_ts BIGINT, act_eid TEXT, act_day BIGINT, act_platform TEXT, act_country TEXT, "
    "  role_ts BIGINT, role_eid TEXT, role_day BIGINT, "
    "  pay_ts BIGINT, pay_eid TEXT, pay_day BIGINT, pay_platform TEXT, pay_country TEXT, "
    "  cohort_day BIGINT, platform TEXT, country TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS stage_days (game_id TEXT, day BIGINT);";

int merge_prepare(warehouse *wh, ms_error *err)
{
    return wh_exec(wh, staging_ddl, err);
}

/* ---- shared state --------------------------------------------------------- */

typedef struct merge_ctx {
    warehouse *wh;
    const config *cfg;
    const tz_zone *const *zones;
    const fact_batch *b;
    dq_counts *dq;
    ms_error *err;
    fp_set dirty;     /* (game << 32) | (uint32_t)day, +1 in the high half */
    arena scratch;    /* strings read back from the warehouse */
} merge_ctx;

static int game_index(const config *cfg, const char *id)
{
    size_t i;
    for (i = 0; i < cfg->n_games; i++)
        if (strcmp(cfg->games[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int mark_dirty(merge_ctx *m, int game, int64_t day)
{
    uint64_t key = ((uint64_t)(game + 1) << 32) | (uint32_t)(int32_t)day;
    if (fp_set_add(&m->dirty, key, 0, 0, NULL) < 0)
        return ms_error_set(m->err, "out of memory");
    return 0;
}

static const char *dup_scratch(merge_ctx *m, const char *s)
{
    return s ? arena_strndup(&m->scratch, s, strlen(s)) : NULL;
}

static int load_begin(merge_ctx *m, const char *table, const char *cols, const char *types)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM %s", table);
    if (wh_exec(m->wh, sql, m->err) != 0)
        return -1;
    return m->wh->ops->load_begin(m->wh->db, table, cols, types, m->err);
}

static int load_row(merge_ctx *m, const char *const *vals)
{
    return m->wh->ops->load_row(m->wh->db, vals, m->err);
}

static int load_end(merge_ctx *m)
{
    return m->wh->ops->load_end(m->wh->db, m->err);
}

/* A mark read back from the warehouse: (ts, eid) and its day. */
typedef struct stored_mark {
    int exists;
    first_mark mark;
    int64_t day;
} stored_mark;

static int stored_from(merge_ctx *m, stored_mark *s, const char *ts, const char *eid,
                       const char *day)
{
    if (!ts || !eid) {
        s->exists = 0;
        return 0;
    }
    s->exists = 1;
    s->mark.ts = strtoll(ts, NULL, 10);
    s->mark.eid = dup_scratch(m, eid);
    if (!s->mark.eid)
        return ms_error_set(m->err, "out of memory");
    s->mark.eid_len = (uint32_t)strlen(eid);
    s->day = day ? strtoll(day, NULL, 10) : 0;
    return 0;
}

static void fmt_i64(char out[24], int64_t v)
{
    snprintf(out, 24, "%" PRId64, v);
}

/* ---- devices ---------------------------------------------------------------- */

typedef struct lookup_ctx {
    merge_ctx *m;
    const keymap *keys;
    stored_mark *old;
    int key_parts;    /* 1: key = k1; 2: key = k1 NUL k2 */
} lookup_ctx;

/* Row: game_id, k1, [k2,] ts, eid, day */
static int read_stored_mark(void *ctx, int ncols, const char *const *v)
{
    lookup_ctx *l = ctx;
    char key[1024];
    size_t kn;
    int g = game_index(l->m->cfg, v[0]);
    int64_t id;
    int base = 1 + l->key_parts;
    (void)ncols;
    if (g < 0)
        return 0;
    if (l->key_parts == 1) {
        kn = strlen(v[1]);
        if (kn >= sizeof key)
            return 0;
        memcpy(key, v[1], kn);
    } else {
        size_t a = strlen(v[1]), b = strlen(v[2]);
        if (a + b + 1 >= sizeof key)
            return 0;
        memcpy(key, v[1], a);
        key[a] = '\0';
        memcpy(key + a + 1, v[2], b);
        kn = a + 1 + b;
    }
    id = keymap_get(l->keys, (uint32_t)g, key, kn);
    if (id < 0)
        return 0;
    return stored_from(l->m, &l->old[id], v[base], v[base + 1], v[base + 2]) ? -1 : 0;
}

static int merge_devices(merge_ctx *m)
{
    const fact_batch *b = m->b;
    stored_mark *old = NULL;
    lookup_ctx l;
    size_t i;
    int rc = -1;

    if (b->devices.count == 0)
        return 0;
    if (!(old = calloc(b->devices.count, sizeof *old)))
        return ms_error_set(m->err, "out of memory");
    if (load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0)
        goto out;
    for (i = 0; i < b->devices.count; i++) {
        const keymap_entry *k = keymap_at(&b->devices, (uint32_t)i);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key, NULL};
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0)
        goto out;
    l.m = m;
    l.keys = &b->devices;
    l.old = old;
    l.key_parts = 1;
    if (wh_query(m->wh,
                 "SELECT d.game_id, d.device_id, d.first_ts, d.first_eid, d.first_day "
                 "FROM stage_keys k CROSS JOIN devices d WHERE d.game_id = k.game_id AND "
                 "d.device_id = k.k1",
                 "", NULL, read_stored_mark, &l, m->err) < 0)
        goto out;
    if (load_begin(m, "stage_devices",
                   "game_id,device_id,first_ts,first_eid,first_day,platform,country",
                   "ttititt") != 0)
        goto out;
    for (i = 0; i < b->devices.count; i++) {
        const keymap_entry *k = keymap_at(&b->devices, (uint32_t)i);
        const device_fact *f = &b->device[i];
        char ts[24], day[24], country[3];
        const char *vals[7];
        int32_t d;
        if (old[i].exists && !first_mark_less(&f->first, &old[i].mark))
            continue;
        d = tz_local_day(m->zones[k->ns], f->first.ts);
        if (mark_dirty(m, (int)k->ns, d) != 0 ||
            (old[i].exists && mark_dirty(m, (int)k->ns, old[i].day) != 0))
            goto out;
        fmt_i64(ts, f->first.ts);
        fmt_i64(day, d);
        memcpy(country, f->country, 2);
        country[2] = '\0';
        vals[0] = m->cfg->games[k->ns].id;
        vals[1] = k->key;
        vals[2] = ts;
        vals[3] = f->first.eid;
        vals[4] = day;
        vals[5] = platform_name((platform)f->platform);
        vals[6] = country;
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0 ||
        wh_exec(m->wh,
                "DELETE FROM devices WHERE (game_id, device_id) IN (SELECT game_id, device_id "
                "FROM stage_devices);"
                "INSERT INTO devices (game_id, device_id, first_ts, first_eid, first_day, platform, "
                "country) SELECT game_id, device_id, first_ts, first_eid, first_day, platform, "
                "country FROM stage_devices",
                m->err) != 0)
        goto out;
    rc = 0;
out:
    free(old);
    return rc;
}

/* ---- roles -------------------------------------------------------------------- */

static int merge_roles(merge_ctx *m)
{
    const fact_batch *b = m->b;
    stored_mark *old = NULL;
    lookup_ctx l;
    size_t i;
    int rc = -1;

    if (b->roles.count == 0)
        return 0;
    if (!(old = calloc(b->roles.count, sizeof *old)))
        return ms_error_set(m->err, "out of memory");
    if (load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0)
        goto out;
    for (i = 0; i < b->roles.count; i++) {
        const keymap_entry *k = keymap_at(&b->roles, (uint32_t)i);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key, k->key + strlen(k->key) + 1};
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0)
        goto out;
    l.m = m;
    l.keys = &b->roles;
    l.old = old;
    l.key_parts = 2;
    if (wh_query(m->wh,
                 "SELECT r.game_id, r.server_id, r.role_id, r.first_ts, r.first_eid, r.first_day "
                 "FROM stage_keys k CROSS JOIN roles r WHERE r.game_id = k.game_id AND "
                 "r.server_id = k.k1 AND r.role_id = k.k2",
                 "", NULL, read_stored_mark, &l, m->err) < 0)
        goto out;
    if (load_begin(m, "stage_roles",
                   "game_id,server_id,role_id,first_ts,first_eid,first_day,account_id",
                   "tttitit") != 0)
        goto out;
    for (i = 0; i < b->roles.count; i++) {
        const keymap_entry *k = keymap_at(&b->roles, (uint32_t)i);
        const role_fact *f = &b->role[i];
        char ts[24], day[24];
        const char *vals[7];
        int32_t d;
        if (old[i].exists && !first_mark_less(&f->first, &old[i].mark))
            continue;
        d = tz_local_day(m->zones[k->ns], f->first.ts);
        if (mark_dirty(m, (int)k->ns, d) != 0 ||
            (old[i].exists && mark_dirty(m, (int)k->ns, old[i].day) != 0))
            goto out;
        fmt_i64(ts, f->first.ts);
        fmt_i64(day, d);
        vals[0] = m->cfg->games[k->ns].id;
        vals[1] = k->key;
        vals[2] = k->key + strlen(k->key) + 1;
        vals[3] = ts;
        vals[4] = f->first.eid;
        vals[5] = day;
        vals[6] = f->account_id;
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0 ||
        wh_exec(m->wh,
                "DELETE FROM roles WHERE (game_id, server_id, role_id) IN (SELECT game_id, "
                "server_id, role_id FROM stage_roles);"
                "INSERT INTO roles (game_id, server_id, role_id, first_ts, first_eid, first_day, "
                "account_id) SELECT game_id, server_id, role_id, first_ts, first_eid, first_day, "
                "account_id FROM stage_roles",
                m->err) != 0)
        goto out;
    rc = 0;
out:
    free(old);
    return rc;
}

/* ---- activity ------------------------------------------------------------------ */

static int read_dirty_row(void *ctx, int ncols, const char *const *v)
{
    merge_ctx *m = ctx;
    int g;
    (void)ncols;
    if (!v[0] || !v[1])
        return 0;
    g = game_index(m->cfg, v[0]);
    if (g < 0)
        return 0;
    return mark_dirty(m, g, strtoll(v[1], NULL, 10)) ? -1 : 0;
}

static int merge_activity(merge_ctx *m)
{
    const fact_batch *b = m->b;
    size_t i;

    if (b->activity.count == 0)
        return 0;
    if (load_begin(m, "stage_activity", "game_id,day,account_id", "tit") != 0)
        return -1;
    for (i = 0; i < b->activity.n_slots; i++) {
        uint64_t key = b->activity.lo[i];
        const keymap_entry *k;
        char day[24];
        const char *vals[3];
        if (!key)
            continue;
        k = keymap_at(&b->accounts, activity_account(key));
        fmt_i64(day, activity_day(key));
        vals[0] = m->cfg->games[k->ns].id;
        vals[1] = day;
        vals[2] = k->key;
        if (load_row(m, vals) != 0)
            return -1;
    }
    if (load_end(m) != 0)
        return -1;
    /* New account-days make their day dirty. */
    if (wh_query(m->wh,
                 "SELECT s.game_id, s.day FROM stage_activity s WHERE NOT EXISTS (SELECT 1 "
                 "FROM activity a WHERE a.game_id = s.game_id AND a.day = s.day AND "
                 "a.account_id = s.account_id) GROUP BY s.game_id, s.day",
                 "", NULL, read_dirty_row, m, m->err) < 0)
        return -1;
    return wh_exec(m->wh,
                   "INSERT INTO activity (game_id, day, account_id) SELECT game_id, day, "
                   "account_id FROM stage_activity WHERE true ON CONFLICT DO NOTHING",
                   m->err);
}

/* ---- payments ----------------------------------------------------------------- */

/* A payment transition as stored. */
typedef struct stored_payment {
    stored_mark m;
    const char *account_id;
    int paid_real;     /* status paid and not sandbox */
} stored_payment;

typedef struct pay_lookup {
    merge_ctx *m;
    stored_payment *old;
} pay_lookup;

/* Row: game_id, order_id, status, ts, eid, day, account_id, sandbox */
static int read_stored_payment(void *ctx, int ncols, const char *const *v)
{
    pay_lookup *l = ctx;
    char key[258];
    size_t n = strlen(v[1]);
    int g = game_index(l->m->cfg, v[0]);
    int64_t id;
    (void)ncols;
    if (g < 0 || n > 256)
        return 0;
    memcpy(key, v[1], n);
    key[n] = '\0';
    key[n + 1] = strcmp(v[2], "paid") == 0 ? 'p' : 'r';
    id = keymap_get(&l->m->b->payments, (uint32_t)g, key, n + 2);
    if (id < 0)
        return 0;
    if (stored_from(l->m, &l->old[id].m, v[3], v[4], v[5]) != 0)
        return -1;
    l->old[id].account_id = dup_scratch(l->m, v[6]);
    l->old[id].paid_real = key[n + 1] == 'p' && strcmp(v[7], "0") == 0;
    return l->old[id].account_id ? 0 : ms_error_set(l->m->err, "out of memory");
}

/* Accounts whose first paid payment must be recomputed: (game, account). */
typedef struct account_keys {
    keymap set;
} account_keys;

static int merge_payments(merge_ctx *m, keymap *pay_accounts, keymap *new_refunds)
{
    const fact_batch *b = m->b;
    stored_payment *old = NULL;
    pay_lookup l;
    size_t i;
    int rc = -1, is_new;

    if (b->payments.count == 0)
        return 0;
    if (!(old = calloc(b->payments.count, sizeof *old)))
        return ms_error_set(m->err, "out of memory");
    if (load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0)
        goto out;
    for (i = 0; i < b->payments.count; i++) {
        const keymap_entry *k = keymap_at(&b->payments, (uint32_t)i);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key,
                               b->payment[i].status == PAY_PAID ? "paid" : "refunded"};
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0)
        goto out;
    l.m = m;
    l.old = old;
    if (wh_query(m->wh,
                 "SELECT p.game_id, p.order_id, p.status, p.ts, p.eid, p.day, p.account_id, "
                 "p.sandbox FROM stage_keys k CROSS JOIN payments p WHERE p.game_id = k.game_id AND "
                 "p.order_id = k.k1 AND p.status = k.k2",
                 "", NULL, read_stored_payment, &l, m->err) < 0)
        goto out;
    if (load_begin(m, "stage_payments",
                   "game_id,order_id,status,ts,eid,day,account_id,amount_minor,currency,"
                   "pay_channel,channel_txn_id,product_id,server_id,role_id,sandbox,platform,"
                   "country,source",
                   "tttititittttttitt" "t") != 0)
        goto out;
    for (i = 0; i < b->payments.count; i++) {
        const keymap_entry *k = keymap_at(&b->payments, (uint32_t)i);
        const payment_fact *f = &b->payment[i];
        char ts[24], day[24], amount[24], country[3];
        const char *vals[18];
        int32_t d;
        if (old[i].m.exists && !first_mark_less(&f->first, &old[i].m.mark))
            continue;
        d = tz_local_day(m->zones[k->ns], f->first.ts);
        if (mark_dirty(m, (int)k->ns, d) != 0 ||
            (old[i].m.exists && mark_dirty(m, (int)k->ns, old[i].m.day) != 0))
            goto out;
        if (f->status == PAY_PAID && !f->sandbox &&
            keymap_put(pay_accounts, k->ns, f->account_id, strlen(f->account_id), &is_new) < 0)
            goto oom;
        if (old[i].m.exists && old[i].paid_real &&
            keymap_put(pay_accounts, k->ns, old[i].account_id, strlen(old[i].account_id),
                       &is_new) < 0)
            goto oom;
        if (f->status == PAY_REFUNDED && !old[i].m.exists &&
            keymap_put(new_refunds, k->ns, k->key, strlen(k->key), &is_new) < 0)
            goto oom;
        fmt_i64(ts, f->first.ts);
        fmt_i64(day, d);
        fmt_i64(amount, f->amount_minor);
        memcpy(country, f->country, 2);
        country[2] = '\0';
        vals[0] = m->cfg->games[k->ns].id;
        vals[1] = k->key;
        vals[2] = f->status == PAY_PAID ? "paid" : "refunded";
        vals[3] = ts;
        vals[4] = f->first.eid;
        vals[5] = day;
        vals[6] = f->account_id;
        vals[7] = amount;
        vals[8] = f->currency;
        vals[9] = f->pay_channel;
        vals[10] = f->channel_txn_id;
        vals[11] = f->product_id;
        vals[12] = f->server_id;
        vals[13] = f->role_id;
        vals[14] = f->sandbox ? "1" : "0";
        vals[15] = platform_name((platform)f->platform);
        vals[16] = country;
        vals[17] = "log";
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0 ||
        wh_exec(m->wh,
                "DELETE FROM payments WHERE (game_id, order_id, status) IN (SELECT game_id, "
                "order_id, status FROM stage_payments);"
                "INSERT INTO payments (game_id, order_id, status, ts, eid, day, account_id, "
                "amount_minor, currency, pay_channel, channel_txn_id, product_id, server_id, "
                "role_id, sandbox, platform, country, source) SELECT game_id, order_id, status, "
                "ts, eid, day, account_id, amount_minor, currency, pay_channel, channel_txn_id, "
                "product_id, server_id, role_id, sandbox, platform, country, source "
                "FROM stage_payments",
                m->err) != 0)
        goto out;
    rc = 0;
    goto out;
oom:
    ms_error_set(m->err, "out of memory");
out:
    free(old);
    return rc;
}

/* refund_without_payment: refund transitions new in this run whose order has
 * no paid transition at the end of it. */
static int count_refunds_without_payment(merge_ctx *m, const keymap *new_refunds)
{
    size_t i;
    for (i = 0; i < new_refunds->count; i++) {
        const keymap_entry *k = keymap_at(new_refunds, (uint32_t)i);
        const char *params[2] = {m->cfg->games[k->ns].id, k->key};
        int64_t n;
        int found;
        if (wh_query_int(m->wh,
                         "SELECT count(*) FROM payments WHERE game_id = $1 AND order_id = $2 "
                         "AND status = 'paid'",
                         "tt", params, &n, &found, m->err) != 0)
            return -1;
        if (!found || n == 0)
            m->dq[k->ns].refund_without_payment++;
    }
    return 0;
}

/* ---- accounts ------------------------------------------------------------------ */

typedef struct attr_mark {
    first_mark mark;
    int64_t day;
    const char *platform;
    const char *country;
} attr_mark;

/* One account as stored (or as it becomes). */
typedef struct account_row {
    int exists;
    attr_mark reg, act, pay;
    first_mark role;
    int64_t role_day;
    int has_cohort;
    int64_t cohort_day;
    const char *platform, *country;
} account_row;

typedef struct acct_lookup {
    merge_ctx *m;
    const keymap *keys;
    account_row *rows;
} acct_lookup;

static int read_attr_mark(merge_ctx *m, attr_mark *a, const char *const *v)
{
    stored_mark s;
    if (stored_from(m, &s, v[0], v[1], v[2]) != 0)
        return -1;
    if (!s.exists) {
        memset(a, 0, sizeof *a);
        return 0;
    }
    a->mark = s.mark;
    a->day = s.day;
    a->platform = dup_scratch(m, v[3] ? v[3] : "other");
    a->country = dup_scratch(m, v[4] ? v[4] : "ZZ");
    return a->platform && a->country ? 0 : ms_error_set(m->err, "out of memory");
}

/* Row: game_id, account_id, reg x5, act x5, role x3, pay x5, cohort_day, platform, country */
static int read_account_row(void *ctx, int ncols, const char *const *v)
{
    acct_lookup *l = ctx;
    int g = game_index(l->m->cfg, v[0]);
    int64_t id;
    account_row *r;
    stored_mark role;
    (void)ncols;
    if (g < 0)
        return 0;
    id = keymap_get(l->keys, (uint32_t)g, v[1], strlen(v[1]));
    if (id < 0)
        return 0;
    r = &l->rows[id];
    r->exists = 1;
    if (read_attr_mark(l->m, &r->reg, v + 2) != 0 || read_attr_mark(l->m, &r->act, v + 7) != 0 ||
        stored_from(l->m, &role, v[12], v[13], v[14]) != 0 ||
        read_attr_mark(l->m, &r->pay, v + 15) != 0)
        return -1;
    r->role = role.exists ? role.mark : (first_mark){0, NULL, 0};
    r->role_day = role.day;
    r->has_cohort = v[20] != NULL;
    r->cohort_day = v[20] ? strtoll(v[20], NULL, 10) : 0;
    r->platform = v[21] ? dup_scratch(l->m, v[21]) : NULL;
    r->country = v[22] ? dup_scratch(l->m, v[22]) : NULL;
    return 0;
}

/* Row: game_id, account_id, ts, eid, day, platform, country (paid, not sandbox). */
static int read_first_pay(void *ctx, int ncols, const char *const *v)
{
    acct_lookup *l = ctx;
    int g = game_index(l->m->cfg, v[0]);
    int64_t id;
    attr_mark cand;
    (void)ncols;
    if (g < 0)
        return 0;
    id = keymap_get(l->keys, (uint32_t)g, v[1], strlen(v[1]));
    if (id < 0)
        return 0;
    cand.mark.ts = strtoll(v[2], NULL, 10);
    cand.mark.eid = v[3];
    cand.mark.eid_len = (uint32_t)strlen(v[3]);
    if (!first_mark_less(&cand.mark, &l->rows[id].pay.mark))
        return 0;
    return read_attr_mark(l->m, &l->rows[id].pay, v + 2);
}

static int same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_mark(const first_mark *a, const first_mark *b)
{
    return !first_mark_less(a, b) && !first_mark_less(b, a);
}

/* Registration day and attributes that follow from the marks (metrics.md). */
static void derive_cohort(account_row *r)
{
    const attr_mark *src = NULL;
    if (r->reg.mark.eid)
        src = &r->reg;
    else if (r->act.mark.eid || r->pay.mark.eid)
        src = first_mark_less(&r->pay.mark, &r->act.mark) ? &r->pay : &r->act;
    r->has_cohort = src != NULL;
    r->cohort_day = src ? src->day : 0;
    r->platform = src ? src->platform : NULL;
    r->country = src ? src->country : NULL;
}

static void take_attr_mark(attr_mark *dst, const first_mark *mark, int64_t day, uint8_t plat,
                           const char country[3], char *country_buf)
{
    if (!first_mark_less(mark, &dst->mark))
        return;
    dst->mark = *mark;
    dst->day = day;
    dst->platform = platform_name((platform)plat);
    memcpy(country_buf, country, 2);
    country_buf[2] = '\0';
    dst->country = country_buf;
}

/* Marks both days when a first day appeared, vanished or moved. */
static int dirty_if_moved(merge_ctx *m, int game, int had, int64_t old_day, int has,
                          int64_t new_day)
{
    if (had == has && (!has || old_day == new_day))
        return 0;
    if ((had && mark_dirty(m, game, old_day) != 0) || (has && mark_dirty(m, game, new_day) != 0))
        return -1;
    return 0;
}

static int mark_all_account_days(merge_ctx *m, int game, const char *account_id)
{
    const char *params[2] = {m->cfg->games[game].id, account_id};
    return wh_query(m->wh,
                    "SELECT game_id, day FROM activity WHERE game_id = $1 AND account_id = $2 "
                    "UNION SELECT game_id, day FROM payments WHERE game_id = $1 AND account_id = $2 "
                    "UNION SELECT game_id, first_day FROM roles WHERE game_id = $1 AND account_id = $2",
                    "tt", params, read_dirty_row, m, m->err) < 0
               ? -1
               : 0;
}

static void put_mark(const attr_mark *a, char ts[24], char day[24], const char **vals)
{
    if (!a->mark.eid) {
        vals[0] = vals[1] = vals[2] = vals[3] = vals[4] = NULL;
        return;
    }
    fmt_i64(ts, a->mark.ts);
    fmt_i64(day, a->day);
    vals[0] = ts;
    vals[1] = a->mark.eid;
    vals[2] = day;
    vals[3] = a->platform;
    vals[4] = a->country;
}

static int merge_accounts(merge_ctx *m, const keymap *pay_accounts)
{
    const fact_batch *b = m->b;
    keymap keys;
    account_row *rows = NULL, *olds = NULL;
    char (*countries)[3][3] = NULL;
    acct_lookup l;
    size_t i, n;
    int rc = -1, is_new;

    /* The accounts to look at: those of the batch and those whose paid
     * payments changed. Ids of the batch's accounts stay the same. */
    keymap_init(&keys);
    for (i = 0; i < b->accounts.count; i++) {
        const keymap_entry *k = keymap_at(&b->accounts, (uint32_t)i);
        if (keymap_put(&keys, k->ns, k->key, k->len, &is_new) < 0)
            goto oom;
    }
    for (i = 0; i < pay_accounts->count; i++) {
        const keymap_entry *k = keymap_at(pay_accounts, (uint32_t)i);
        if (keymap_put(&keys, k->ns, k->key, k->len, &is_new) < 0)
            goto oom;
    }
    n = keys.count;
    if (n == 0) {
        rc = 0;
        goto out;
    }
    rows = calloc(n, sizeof *rows);
    olds = calloc(n, sizeof *olds);
    countries = calloc(n, sizeof *countries);
    if (!rows || !olds || !countries)
        goto oom;
    if (load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0)
        goto out;
    for (i = 0; i < n; i++) {
        const keymap_entry *k = keymap_at(&keys, (uint32_t)i);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key, NULL};
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0)
        goto out;
    l.m = m;
    l.keys = &keys;
    l.rows = rows;
    if (wh_query(m->wh,
                 "SELECT a.game_id, a.account_id, a.reg_ts, a.reg_eid, a.reg_day, a.reg_platform, "
                 "a.reg_country, a.act_ts, a.act_eid, a.act_day, a.act_platform, a.act_country, "
                 "a.role_ts, a.role_eid, a.role_day, a.pay_ts, a.pay_eid, a.pay_day, "
                 "a.pay_platform, a.pay_country, a.cohort_day, a.platform, a.country "
                 "FROM stage_keys k CROSS JOIN accounts a WHERE a.game_id = k.game_id AND "
                 "a.account_id = k.k1",
                 "", NULL, read_account_row, &l, m->err) < 0)
        goto out;
    memcpy(olds, rows, n * sizeof *rows);
    /* The first paid payment is recomputed from the payments table (already
     * merged), so a retried or late callback can only make it earlier. */
    for (i = 0; i < n; i++)
        memset(&rows[i].pay, 0, sizeof rows[i].pay);
    if (wh_query(m->wh,
                 "SELECT p.game_id, p.account_id, p.ts, p.eid, p.day, p.platform, p.country "
                 "FROM stage_keys k CROSS JOIN payments p WHERE p.game_id = k.game_id AND "
                 "p.account_id = k.k1 AND p.status = 'paid' AND p.sandbox = 0",
                 "", NULL, read_first_pay, &l, m->err) < 0)
        goto out;

    if (load_begin(m, "stage_accounts",
                   "game_id,account_id,reg_ts,reg_eid,reg_day,reg_platform,reg_country,"
                   "act_ts,act_eid,act_day,act_platform,act_country,role_ts,role_eid,role_day,"
                   "pay_ts,pay_eid,pay_day,pay_platform,pay_country,cohort_day,platform,country",
                   "ttititt" "ititt" "iti" "ititt" "itt") != 0)
        goto out;
    for (i = 0; i < n; i++) {
        const keymap_entry *k = keymap_at(&keys, (uint32_t)i);
        account_row *r = &rows[i];
        const account_row *o = &olds[i];
        int game = (int)k->ns;
        const tz_zone *z = m->zones[game];
        int64_t bid = keymap_get(&b->accounts, k->ns, k->key, k->len);
        char bufs[8][24], cohort[24];
        const char *vals[23];
        int had_activity, attrs_changed, changed;

        if (bid >= 0) {
            const account_fact *f = &b->account[bid];
            if (f->reg.eid)
                take_attr_mark(&r->reg, &f->reg, tz_local_day(z, f->reg.ts), f->reg_platform,
                               f->reg_country, countries[i][0]);
            if (f->act.eid)
                take_attr_mark(&r->act, &f->act, tz_local_day(z, f->act.ts), f->act_platform,
                               f->act_country, countries[i][1]);
            if (first_mark_less(&f->role, &r->role)) {
                r->role = f->role;
                r->role_day = tz_local_day(z, f->role.ts);
            }
        }
        derive_cohort(r);
        /* Breakdown rows of every day the account appears on use its
         * attributes; its registration day itself only matters on the two
         * cohort days, marked below. */
        attrs_changed = o->has_cohort && (!r->has_cohort || !same_str(r->platform, o->platform) ||
                                          !same_str(r->country, o->country));
        changed = !o->exists || attrs_changed || r->has_cohort != o->has_cohort ||
                  r->cohort_day != o->cohort_day ||
                  !same_mark(&r->reg.mark, &o->reg.mark) || !same_mark(&r->act.mark, &o->act.mark) ||
                  !same_mark(&r->role, &o->role) || !same_mark(&r->pay.mark, &o->pay.mark);
        if (!changed)
            continue;
        /* The days a first day moves between (only those: a new first pay
         * day leaves the registration day's figures alone). */
        if (dirty_if_moved(m, game, o->has_cohort, o->cohort_day, r->has_cohort, r->cohort_day) ||
            dirty_if_moved(m, game, o->role.eid != NULL, o->role_day, r->role.eid != NULL,
                           r->role_day) ||
            dirty_if_moved(m, game, o->pay.mark.eid != NULL, o->pay.day, r->pay.mark.eid != NULL,
                           r->pay.day))
            goto out;
        if (attrs_changed && mark_all_account_days(m, game, k->key) != 0)
            goto out;
        had_activity = o->act.mark.eid || o->pay.mark.eid;
        if (!had_activity && (r->act.mark.eid || r->pay.mark.eid) && !r->reg.mark.eid)
            m->dq[game].implicit_registrations++;

        vals[0] = m->cfg->games[game].id;
        vals[1] = k->key;
        put_mark(&r->reg, bufs[0], bufs[1], vals + 2);
        put_mark(&r->act, bufs[2], bufs[3], vals + 7);
        if (r->role.eid) {
            fmt_i64(bufs[4], r->role.ts);
            fmt_i64(bufs[5], r->role_day);
            vals[12] = bufs[4];
            vals[13] = r->role.eid;
            vals[14] = bufs[5];
        } else {
            vals[12] = vals[13] = vals[14] = NULL;
        }
        put_mark(&r->pay, bufs[6], bufs[7], vals + 15);
        if (r->has_cohort)
            fmt_i64(cohort, r->cohort_day);
        vals[20] = r->has_cohort ? cohort : NULL;
        vals[21] = r->platform;
        vals[22] = r->country;
        if (load_row(m, vals) != 0)
            goto out;
    }
    if (load_end(m) != 0 ||
        wh_exec(m->wh,
                "DELETE FROM accounts WHERE (game_id, account_id) IN (SELECT game_id, account_id "
                "FROM stage_accounts);"
                "INSERT INTO accounts (game_id, account_id, reg_ts, reg_eid, reg_day, reg_platform, "
                "reg_country, act_ts, act_eid, act_day, act_platform, act_country, role_ts, "
                "role_eid, role_day, pay_ts, pay_eid, pay_day, pay_platform, pay_country, "
                "cohort_day, platform, country) SELECT game_id, account_id, reg_ts, reg_eid, "
                "reg_day, reg_platform, reg_country, act_ts, act_eid, act_day, act_platform, "
                "act_country, role_ts, role_eid, role_day, pay_ts, pay_eid, pay_day, "
                "pay_platform, pay_country, cohort_day, platform, country FROM stage_accounts",
                m->err) != 0)
        goto out;
    rc = 0;
    goto out;
oom:
    ms_error_set(m->err, "out of memory");
out:
    free(rows);
    free(olds);
    free(countries);
    keymap_free(&keys);
    return rc;
}

/* ---- dirty days ------------------------------------------------------------------ */

static int write_dirty(merge_ctx *m)
{
    size_t i;
    if (m->dirty.count == 0)
        return 0;
    if (load_begin(m, "stage_days", "game_id,day", "ti") != 0)
        return -1;
    for (i = 0; i < m->dirty.n_slots; i++) {
        uint64_t key = m->dirty.lo[i];
        char day[24];
        const char *vals[2];
        if (!key)
            continue;
        fmt_i64(day, (int32_t)(uint32_t)key);
        vals[0] = m->cfg->games[(key >> 32) - 1].id;
        vals[1] = day;
        if (load_row(m, vals) != 0)
            return -1;
    }
    if (load_end(m) != 0)
        return -1;
    return wh_exec(m->wh,
                   "INSERT INTO dirty_days (game_id, day) SELECT game_id, day FROM stage_days "
                   "WHERE true ON CONFLICT DO NOTHING",
                   m->err);
}

int merge_facts(warehouse *wh, const config *cfg, const tz_zone *const *zones,
                const fact_batch *batch, dq_counts *dq, ms_error *err)
{
    merge_ctx m;
    keymap pay_accounts, new_refunds;
    int rc = -1;

    memset(&m, 0, sizeof m);
    m.wh = wh;
    m.cfg = cfg;
    m.zones = zones;
    m.b = batch;
    m.dq = dq;
    m.err = err;
    fp_set_init(&m.dirty);
    arena_init(&m.scratch);
    keymap_init(&pay_accounts);
    keymap_init(&new_refunds);

    if (merge_prepare(wh, err) != 0 || merge_payments(&m, &pay_accounts, &new_refunds) != 0 ||
        merge_devices(&m) != 0 || merge_roles(&m) != 0 || merge_activity(&m) != 0 ||
        merge_accounts(&m, &pay_accounts) != 0 ||
        count_refunds_without_payment(&m, &new_refunds) != 0 || write_dirty(&m) != 0)
        goto out;
    rc = 0;
out:
    fp_set_free(&m.dirty);
    arena_free(&m.scratch);
    keymap_free(&pay_accounts);
    keymap_free(&new_refunds);
    return rc;
}
