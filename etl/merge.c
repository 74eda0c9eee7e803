/*
 * merge.c - a run's facts into the warehouse (see merge.h).
 */
#include "merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_accounts.h"
#include "merge_ctx.h"

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
    return lookup_prepare(wh, err) != 0 ? -1 : wh_exec(wh, staging_ddl, err);
}

/* ---- which games are fresh -------------------------------------------------- */

static const char *const kind_table[KIND_COUNT] = {"devices", "roles", "activity", "payments",
                                                   "accounts"};

/* Fills m->fresh; runs before anything of the batch is written. */
static int find_fresh(merge_ctx *m)
{
    size_t g;
    int k;
    const char *stage_all = getenv("MOONSTAT_TEST_ALWAYS_STAGE");
    if (!(m->fresh = calloc(m->cfg->n_games ? m->cfg->n_games * KIND_COUNT : 1, 1)))
        return ms_error_set(m->err, "out of memory");
    if (stage_all && *stage_all)
        return 0; /* tests: the general path for every row (tests/e2e/fresh_load.sh) */
    for (g = 0; g < m->cfg->n_games; g++)
        for (k = 0; k < KIND_COUNT; k++) {
            char sql[128];
            const char *params[1] = {m->cfg->games[g].id};
            int64_t n = 0;
            int found = 0;
            snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT 1 FROM %s WHERE game_id = $1 "
                     "LIMIT 1) x", kind_table[k]);
            if (wh_query_int(m->wh, sql, "t", params, &n, &found, m->err) != 0)
                return -1;
            m->fresh[g * KIND_COUNT + (size_t)k] = found && n == 0;
        }
    return 0;
}

/* ---- devices ---------------------------------------------------------------- */

/* A first-seen fact of the batch against the stored one: 0 when the stored
 * one stays (it is earlier or the same); 1 when the batch's is new or
 * earlier, with its local day in *day and both days marked dirty; -1 on
 * error. */
static int first_moved(merge_ctx *m, uint32_t game, const first_mark *f, const stored_mark *old,
                       int32_t *day)
{
    if (old->exists && !first_mark_less(f, &old->mark))
        return 0;
    *day = tz_local_day(m->zones[game], f->ts);
    if (merge_mark_dirty(m, (int)game, *day) != 0 ||
        (old->exists && merge_mark_dirty(m, (int)game, old->day) != 0))
        return -1;
    return 1;
}

/* Devices and roles: wait for the stored marks (submit_lookups), write
 * the rows whose first mark is new or earlier. */
static int merge_first_seen(merge_ctx *m, int kind, const fact_writer *w, row_fn row,
                            stored_mark *old)
{
    lookup_job *job = &m->job[kind];
    if (!job->keys)
        return 0; /* no key of the kind in the batch */
    if (lookup_wait(m->lookups, job, m->err) != 0)
        return -1;
    return merge_write_rows(m, w, job->keys, row, old);
}

static int device_row(merge_ctx *m, void *ctx, size_t i, const char **vals, char (*bufs)[24])
{
    const stored_mark *old = ctx;
    const keymap_entry *k = keymap_at(&m->b->devices, (uint32_t)i);
    const device_fact *f = &m->b->device[i];
    int32_t d = 0;
    int moved = first_moved(m, k->ns, &f->first, &old[i], &d);
    if (moved <= 0)
        return moved;
    merge_fmt_i64(bufs[0], f->first.ts);
    merge_fmt_i64(bufs[1], d);
    memcpy(bufs[2], f->country, 2);
    bufs[2][2] = '\0';
    vals[0] = m->cfg->games[k->ns].id;
    vals[1] = k->key;
    vals[2] = bufs[0];
    vals[3] = f->first.eid;
    vals[4] = bufs[1];
    vals[5] = platform_name((platform)f->platform);
    vals[6] = bufs[2];
    if (activation_counts_add(&m->activations, k->ns, vals[4], vals[5], vals[6], 1, m->err) != 0)
        return -1;
    return old[i].exists ? ROW_REPLACE : ROW_NEW;
}

/* The rows about to be replaced leave their activation cells. */
static int drop_replaced_devices(merge_ctx *m)
{
    return activation_counts_drop_replaced(&m->activations, m->wh, m->cfg, m->err);
}

static const fact_writer device_writer = {
    .kind = KIND_DEVICES,
    .table = "devices",
    .stage = "stage_devices",
    .columns = "game_id,device_id,first_ts,first_eid,first_day,platform,country",
    .types = "ttititt",
    .remove = "DELETE FROM devices WHERE (game_id, device_id) IN (SELECT game_id, device_id "
              "FROM stage_devices)",
    .before_remove = drop_replaced_devices,
    .insert = "INSERT INTO devices (game_id, device_id, first_ts, first_eid, first_day, platform, "
              "country) SELECT game_id, device_id, first_ts, first_eid, first_day, platform, "
              "country FROM stage_devices",
    .park_indexes = 1,
};

static int merge_devices(merge_ctx *m)
{
    if (merge_first_seen(m, KIND_DEVICES, &device_writer, device_row, m->device_old) != 0)
        return -1;
    return activation_counts_store(&m->activations, m->wh, m->cfg, m->err);
}

/* ---- roles -------------------------------------------------------------------- */

static int role_row(merge_ctx *m, void *ctx, size_t i, const char **vals, char (*bufs)[24])
{
    const stored_mark *old = ctx;
    const keymap_entry *k = keymap_at(&m->b->roles, (uint32_t)i);
    const role_fact *f = &m->b->role[i];
    int32_t d = 0;
    int moved = first_moved(m, k->ns, &f->first, &old[i], &d);
    if (moved <= 0)
        return moved;
    merge_fmt_i64(bufs[0], f->first.ts);
    merge_fmt_i64(bufs[1], d);
    vals[0] = m->cfg->games[k->ns].id;
    vals[1] = k->key;
    vals[2] = k->key + strlen(k->key) + 1;
    vals[3] = bufs[0];
    vals[4] = f->first.eid;
    vals[5] = bufs[1];
    vals[6] = f->account_id;
    return old[i].exists ? ROW_REPLACE : ROW_NEW;
}

static const fact_writer role_writer = {
    .kind = KIND_ROLES,
    .table = "roles",
    .stage = "stage_roles",
    .columns = "game_id,server_id,role_id,first_ts,first_eid,first_day,account_id",
    .types = "tttitit",
    .remove = "DELETE FROM roles WHERE (game_id, server_id, role_id) IN (SELECT game_id, "
              "server_id, role_id FROM stage_roles)",
    .insert = "INSERT INTO roles (game_id, server_id, role_id, first_ts, first_eid, first_day, "
              "account_id) SELECT game_id, server_id, role_id, first_ts, first_eid, first_day, "
              "account_id FROM stage_roles",
    .park_indexes = 1,
};

static int merge_roles(merge_ctx *m)
{
    return merge_first_seen(m, KIND_ROLES, &role_writer, role_row, m->role_old);
}

/* ---- activity ------------------------------------------------------------------ */

/* The account-days of fresh games (direct 1) or of the others (direct 0)
 * in key order (load_order.h). Staged rows go in that order too: a night's
 * account-days are mostly of one day, where the key order is also that of
 * activity_by_account, so the insert walks both B-trees from one end to the
 * other instead of jumping about (5M event bench, night of day 30: the
 * insert took 0.49 s in slot order, 0.27 s in key order). Returns 0, or -1
 * when out of memory (m->err set). */
static int order_activity(merge_ctx *m, activity_order *o, int direct)
{
    uint8_t *want = calloc(m->cfg->n_games ? m->cfg->n_games : 1, 1);
    size_t g;
    int rc;
    if (!want)
        return ms_error_set(m->err, "out of memory");
    for (g = 0; g < m->cfg->n_games; g++)
        want[g] = merge_is_fresh(m, (uint32_t)g, KIND_ACTIVITY) == direct;
    rc = activity_order_make(o, &m->b->activity, &m->b->accounts, m->game_rank,
                             m->cfg->n_games, want);
    free(want);
    return rc != 0 ? ms_error_set(m->err, "out of memory") : 0;
}

/* Activity rows are keys only: an account-day is there or not. A fresh
 * game's account-days are all new (each makes its day dirty) and go straight
 * into the table; the others are staged, and the days of those not stored
 * yet are read back as dirty before the insert. */
static int merge_activity(merge_ctx *m)
{
    const fact_batch *b = m->b;
    size_t i, staged = 0;
    int direct, any_fresh, any_stored, rc = -1;
    activity_order order;
    deferred_indexes idx = {NULL, 0, 0};

    memset(&order, 0, sizeof order);
    if (b->activity.count == 0)
        return 0;
    merge_kind_mix(m, KIND_ACTIVITY, &any_fresh, &any_stored);
    for (direct = 1; direct >= 0; direct--) {
        size_t rows = b->activity.n_slots;
        if (direct ? !any_fresh : !any_stored)
            continue;
        activity_order_free(&order); /* the other kind's, if any */
        if (order_activity(m, &order, direct) != 0)
            goto out;
        if (order.keys)
            rows = order.n;
        if (direct ? merge_direct_begin(m, "activity", "game_id,day,account_id", "tit", &idx) != 0
                   : merge_load_begin(m, "stage_activity", "game_id,day,account_id", "tit") != 0)
            goto out;
        for (i = 0; i < rows; i++) {
            uint64_t key = activity_ordered_row(&order, &b->activity, i);
            const keymap_entry *k;
            char day[24];
            const char *vals[3];
            if (!key)
                continue;
            k = keymap_at(&b->accounts, activity_account(key));
            if (merge_is_fresh(m, k->ns, KIND_ACTIVITY) != direct)
                continue;
            if (direct && merge_mark_dirty(m, (int)k->ns, activity_day(key)) != 0)
                goto out;
            merge_fmt_i64(day, activity_day(key));
            vals[0] = m->cfg->games[k->ns].id;
            vals[1] = day;
            vals[2] = k->key;
            if (merge_load_row(m, vals) != 0)
                goto out;
            staged += !direct;
        }
        if (direct ? merge_direct_end(m, 1, &idx) != 0 : merge_load_end(m) != 0)
            goto out;
    }
    rc = 0;
out:
    activity_order_free(&order);
    deferred_indexes_free(&idx);
    if (rc != 0 || !staged)
        return rc;
    /* New account-days make their day dirty: the insert returns the rows
     * it added, those already stored are left alone (one statement where
     * a NOT EXISTS query before the insert probed every staged row once
     * more: 0.11 s of the 5M bench's day-30 night). */
    return wh_query(m->wh,
                    "INSERT INTO activity (game_id, day, account_id) SELECT game_id, day, "
                    "account_id FROM stage_activity WHERE true ON CONFLICT DO NOTHING "
                    "RETURNING game_id, day",
                    "", NULL, merge_read_dirty_row, m, m->err) < 0
               ? -1
               : 0;
}

/* ---- payments ----------------------------------------------------------------- */

/* A payment transition as stored. */
typedef struct stored_payment {
    stored_mark m;
    const char *account_id;
    int paid_real;     /* status paid and not sandbox */
} stored_payment;

typedef struct payment_rows {
    const stored_payment *old;
    keymap *pay_accounts;   /* accounts whose first paid payment may move */
    keymap *new_refunds;    /* refund transitions new in this run */
} payment_rows;

static int payment_row(merge_ctx *m, void *ctx, size_t i, const char **vals, char (*bufs)[24])
{
    payment_rows *p = ctx;
    const stored_payment *old = &p->old[i];
    const keymap_entry *k = keymap_at(&m->b->payments, (uint32_t)i);
    const payment_fact *f = &m->b->payment[i];
    int32_t d = 0;
    int is_new, moved = first_moved(m, k->ns, &f->first, &old->m, &d);
    if (moved <= 0)
        return moved;
    if ((f->status == PAY_PAID && !f->sandbox &&
         keymap_put(p->pay_accounts, k->ns, f->account_id, strlen(f->account_id), &is_new) < 0) ||
        (old->m.exists && old->paid_real &&
         keymap_put(p->pay_accounts, k->ns, old->account_id, strlen(old->account_id),
                    &is_new) < 0) ||
        (f->status == PAY_REFUNDED && !old->m.exists &&
         keymap_put(p->new_refunds, k->ns, k->key, strlen(k->key), &is_new) < 0))
        return ms_error_set(m->err, "out of memory");
    merge_fmt_i64(bufs[0], f->first.ts);
    merge_fmt_i64(bufs[1], d);
    merge_fmt_i64(bufs[2], f->amount_minor);
    memcpy(bufs[3], f->country, 2);
    bufs[3][2] = '\0';
    vals[0] = m->cfg->games[k->ns].id;
    vals[1] = k->key;
    vals[2] = f->status == PAY_PAID ? "paid" : "refunded";
    vals[3] = bufs[0];
    vals[4] = f->first.eid;
    vals[5] = bufs[1];
    vals[6] = f->account_id;
    vals[7] = bufs[2];
    vals[8] = f->currency;
    vals[9] = f->pay_channel;
    vals[10] = f->channel_txn_id;
    vals[11] = f->product_id;
    vals[12] = f->server_id;
    vals[13] = f->role_id;
    vals[14] = f->sandbox ? "1" : "0";
    vals[15] = platform_name((platform)f->platform);
    vals[16] = bufs[3];
    vals[17] = "log";
    return old->m.exists ? ROW_REPLACE : ROW_NEW;
}

static const fact_writer payment_writer = {
    .kind = KIND_PAYMENTS,
    .table = "payments",
    .stage = "stage_payments",
    .columns = "game_id,order_id,status,ts,eid,day,account_id,amount_minor,currency,"
               "pay_channel,channel_txn_id,product_id,server_id,role_id,sandbox,platform,"
               "country,source",
    .types = "tttititittttttitt" "t",
    .remove = "DELETE FROM payments WHERE (game_id, order_id, status) IN (SELECT game_id, "
              "order_id, status FROM stage_payments)",
    .insert = "INSERT INTO payments (game_id, order_id, status, ts, eid, day, account_id, "
              "amount_minor, currency, pay_channel, channel_txn_id, product_id, server_id, "
              "role_id, sandbox, platform, country, source) SELECT game_id, order_id, status, "
              "ts, eid, day, account_id, amount_minor, currency, pay_channel, channel_txn_id, "
              "product_id, server_id, role_id, sandbox, platform, country, source "
              "FROM stage_payments",
};

static int merge_payments(merge_ctx *m, keymap *pay_accounts, keymap *new_refunds)
{
    payment_rows rows;

    if (!m->job[KIND_PAYMENTS].keys)
        return 0; /* no payment in the batch */
    if (lookup_wait(m->lookups, &m->job[KIND_PAYMENTS], m->err) != 0)
        return -1;
    rows.old = m->payment_old;
    rows.pay_accounts = pay_accounts;
    rows.new_refunds = new_refunds;
    return merge_write_rows(m, &payment_writer, &m->b->payments, payment_row, &rows);
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

/* ---- dirty days ------------------------------------------------------------------ */

static int write_dirty(merge_ctx *m)
{
    size_t i;
    if (m->dirty.count == 0)
        return 0;
    if (merge_load_begin(m, "stage_days", "game_id,day", "ti") != 0)
        return -1;
    for (i = 0; i < m->dirty.n_slots; i++) {
        uint64_t key = m->dirty.slot[i].lo;
        char day[24];
        const char *vals[2];
        if (!key)
            continue;
        merge_fmt_i64(day, (int32_t)(uint32_t)key);
        vals[0] = m->cfg->games[(key >> 32) - 1].id;
        vals[1] = day;
        if (merge_load_row(m, vals) != 0)
            return -1;
    }
    if (merge_load_end(m) != 0)
        return -1;
    return wh_exec(m->wh,
                   "INSERT INTO dirty_days (game_id, day) SELECT game_id, day FROM stage_days "
                   "WHERE true ON CONFLICT DO NOTHING",
                   m->err);
}

/* ---- the read-backs (merge_lookup.h) ---------------------------------------------- */

/* Row: game_id, order_id, status, ts, eid, day, account_id, sandbox */
static int read_stored_payment(lookup_job *job, const char *const *v)
{
    stored_payment *old = job->out;
    char key[258];
    size_t n = strlen(v[1]);
    int g = config_game_index(job->cfg, v[0]);
    int64_t id;
    if (g < 0 || n > 256)
        return 0;
    memcpy(key, v[1], n);
    key[n] = '\0';
    key[n + 1] = strcmp(v[2], "paid") == 0 ? 'p' : 'r';
    id = keymap_get(job->keys, (uint32_t)g, key, n + 2);
    if (id < 0)
        return 0;
    if (stored_mark_from(&old[id].m, job->scratch, v[3], v[4], v[5]) != 0 ||
        !(old[id].account_id = arena_strndup(job->scratch, v[6], strlen(v[6]))))
        return ms_error_set(&job->err, "out of memory");
    old[id].paid_real = key[n + 1] == 'p' && strcmp(v[7], "0") == 0;
    return 0;
}

/* Submits job[kind] for the batch's keys km, with out = km->count zeroed
 * elements of `size` bytes (in *out, the caller's to free). Nothing when
 * the batch has no such key. */
static int submit_lookup(merge_ctx *m, int kind, const keymap *km, enum key_shape shape,
                         const char *sql, lookup_row_fn row, size_t size, void **out)
{
    lookup_job *job = &m->job[kind];
    if (km->count == 0)
        return 0;
    if (!(*out = calloc(km->count, size)))
        return ms_error_set(m->err, "out of memory");
    job->keys = km;
    job->shape = shape;
    job->skip = m->skip + (size_t)kind * m->cfg->n_games;
    job->sql = sql;
    job->row = row;
    job->out = *out;
    lookup_submit(m->lookups, job);
    return 0;
}

/* Starts the runner and the read-backs of payments, devices and roles
 * (the accounts' follow once the payments are merged). The runner gets a
 * connection of its own when the run has threads and some game has rows to
 * read back; a first load reads nothing back. */
static int submit_lookups(merge_ctx *m)
{
    size_t g, n = m->cfg->n_games;
    int kind, own = 0;
    if (!(m->skip = calloc((size_t)KIND_COUNT * (n ? n : 1), 1)))
        return ms_error_set(m->err, "out of memory");
    for (g = 0; g < n; g++)
        for (kind = 0; kind < KIND_COUNT; kind++) {
            unsigned char skip = (unsigned char)(kind == KIND_ACCOUNTS
                                                     ? merge_pay_from_batch(m, (uint32_t)g)
                                                     : merge_is_fresh(m, (uint32_t)g, kind));
            m->skip[(size_t)kind * n + g] = skip;
            own |= kind != KIND_ACTIVITY && !skip;
        }
    own = own && config_thread_count(m->cfg) > 1;
    if (!(m->lookups = lookup_runner_new(m->wh, m->cfg, m->game_rank, own, m->err)))
        return -1;
    return submit_lookup(m, KIND_PAYMENTS, &m->b->payments, KEY_ORDER_STATUS,
                         "SELECT p.game_id, p.order_id, p.status, p.ts, p.eid, p.day, "
                         "p.account_id, p.sandbox FROM lookup_keys k CROSS JOIN payments p "
                         "WHERE p.game_id = k.game_id AND p.order_id = k.k1 AND p.status = k.k2",
                         read_stored_payment, sizeof *m->payment_old,
                         (void **)&m->payment_old) != 0 ||
                   submit_lookup(m, KIND_DEVICES, &m->b->devices, KEY_ONE,
                                 "SELECT d.game_id, d.device_id, d.first_ts, d.first_eid, "
                                 "d.first_day FROM lookup_keys k CROSS JOIN devices d WHERE "
                                 "d.game_id = k.game_id AND d.device_id = k.k1",
                                 lookup_read_mark, sizeof *m->device_old,
                                 (void **)&m->device_old) != 0 ||
                   submit_lookup(m, KIND_ROLES, &m->b->roles, KEY_TWO,
                                 "SELECT r.game_id, r.server_id, r.role_id, r.first_ts, "
                                 "r.first_eid, r.first_day FROM lookup_keys k CROSS JOIN roles r "
                                 "WHERE r.game_id = k.game_id AND r.server_id = k.k1 AND "
                                 "r.role_id = k.k2",
                                 lookup_read_mark, sizeof *m->role_old, (void **)&m->role_old) != 0
               ? -1
               : 0;
}

int merge_facts(warehouse *wh, const config *cfg, const tz_zone *const *zones,
                fact_batch *batch, dq_counts *dq, wh_work *work, ms_error *err)
{
    merge_ctx m;
    keymap pay_accounts, new_refunds, account_keys;
    account_rows accounts;
    int rc = -1;

    memset(&m, 0, sizeof m);
    memset(&accounts, 0, sizeof accounts);
    m.wh = wh;
    m.cfg = cfg;
    m.zones = zones;
    m.b = batch;
    m.dq = dq;
    m.err = err;
    fp_set_init(&m.dirty);
    arena_init(&m.scratch);
    activation_counts_init(&m.activations);
    keymap_init(&pay_accounts);
    keymap_init(&new_refunds);
    keymap_init(&account_keys);
    if (!(m.game_rank = calloc(cfg->n_games ? cfg->n_games : 1, sizeof *m.game_rank))) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < cfg->n_games; g++)
        for (size_t h = 0; h < cfg->n_games; h++)
            m.game_rank[g] += strcmp(cfg->games[h].id, cfg->games[g].id) < 0;

    /* The read-backs run ahead (on a thread of their own when the run has
     * threads): activity, which needs none, is written while the devices'
     * and roles' are read, and the three while the accounts' are. */
    if (merge_prepare(wh, err) != 0 || find_fresh(&m) != 0 || submit_lookups(&m) != 0 ||
        merge_payments(&m, &pay_accounts, &new_refunds) != 0 ||
        merge_submit_accounts(&m, &accounts, &account_keys, &pay_accounts) != 0 ||
        merge_activity(&m) != 0)
        goto out;
    /* Written, and read by nothing after: the account-days go before the
     * accounts' rows are filled, the store's peak (5M first load: 64 MB). */
    fp_set_free(&batch->activity);
    if (merge_devices(&m) != 0 || merge_roles(&m) != 0 ||
        merge_accounts(&m, &accounts, &pay_accounts) != 0 ||
        count_refunds_without_payment(&m, &new_refunds) != 0 || write_dirty(&m) != 0)
        goto out;
    rc = 0;
out:
    lookup_runner_free(m.lookups, work); /* first: its jobs point into what follows */
    merge_account_rows_free(&accounts);
    keymap_free(&account_keys);
    free(m.payment_old);
    free(m.device_old);
    free(m.role_old);
    free(m.skip);
    fp_set_free(&m.dirty);
    arena_free(&m.scratch);
    activation_counts_free(&m.activations);
    free(m.fresh);
    free(m.game_rank);
    keymap_free(&pay_accounts);
    keymap_free(&new_refunds);
    return rc;
}
