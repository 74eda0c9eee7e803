/*
 * merge.c - a run's facts into the warehouse (see merge.h).
 */
#include "merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation_counts.h"
#include "keymap.h"
#include "load_order.h"
#include "merge_lookup.h"

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

/* ---- shared state --------------------------------------------------------- */

/* The fact tables. A game with no row yet in one of them (its first load,
 * a backfill into a new warehouse) has nothing to read back, merge or
 * delete there: its rows are loaded straight into the table, which is what
 * makes a bulk load cost one insert per row instead of five statements. */
enum fact_kind { KIND_DEVICES, KIND_ROLES, KIND_ACTIVITY, KIND_PAYMENTS, KIND_ACCOUNTS, KIND_COUNT };

struct stored_payment;

typedef struct merge_ctx {
    warehouse *wh;
    const config *cfg;
    const tz_zone *const *zones;
    const fact_batch *b;
    dq_counts *dq;
    ms_error *err;
    fp_set dirty;     /* (game << 32) | (uint32_t)day, +1 in the high half */
    arena scratch;    /* strings read back from the warehouse on this connection */
    unsigned char *fresh; /* [game * KIND_COUNT + kind]: no row of that kind stored yet */
    uint32_t *game_rank;  /* [game]: the rank of its id among the configured ids */
    activation_counts activations; /* the devices rows' changes, by cell */
    lookup_runner *lookups;        /* the read-backs (merge_lookup.h) */
    lookup_job job[KIND_COUNT];    /* by kind; activity has none */
    unsigned char *skip;           /* [kind * n_games + game]: job[kind] stages none of its keys */
    struct stored_payment *payment_old; /* job[KIND_PAYMENTS].out */
    stored_mark *device_old, *role_old; /* job[KIND_DEVICES].out, job[KIND_ROLES].out */
} merge_ctx;

static const char *const kind_table[KIND_COUNT] = {"devices", "roles", "activity", "payments",
                                                   "accounts"};

static int is_fresh(const merge_ctx *m, uint32_t game, int kind)
{
    return m->fresh[(size_t)game * KIND_COUNT + (size_t)kind];
}

/* Whether some game is fresh for this kind, and whether some is not: which
 * of the two loads (straight into the table, through staging) are needed. */
static void kind_mix(const merge_ctx *m, int kind, int *any_fresh, int *any_stored)
{
    size_t g;
    *any_fresh = *any_stored = 0;
    for (g = 0; g < m->cfg->n_games; g++) {
        if (is_fresh(m, (uint32_t)g, kind))
            *any_fresh = 1;
        else
            *any_stored = 1;
    }
}

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

static int mark_dirty(merge_ctx *m, int game, int64_t day)
{
    uint64_t key = ((uint64_t)(game + 1) << 32) | (uint32_t)(int32_t)day;
    if (fp_set_add(&m->dirty, key, 0, 0, NULL) < 0)
        return ms_error_set(m->err, "out of memory");
    return 0;
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

/* Decimal text of v, as "%" PRId64 writes it: a few million of these per
 * first load (every timestamp and day of every row), where snprintf's
 * format parsing was 0.3 s of the 5M event store. */
static void fmt_i64(char out[24], int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[i++] = '-';
    while (n)
        out[i++] = tmp[--n];
    out[i] = '\0';
}

/* ---- the shared shape: write the changed rows (their stored rows read back) -- */

/* Fills vals (and the 24-byte bufs it may point into) for row i; returns
 * ROW_NEW to write a row the table does not hold, ROW_REPLACE to write one
 * in place of the stored row with its key, 0 to leave it, -1 on error
 * (m->err set). Called exactly once per row, so it may mark days dirty and
 * count. */
enum { ROW_NEW = 1, ROW_REPLACE = 2 };
typedef int (*row_fn)(merge_ctx *m, void *ctx, size_t i, const char **vals, char (*bufs)[24]);

typedef struct fact_writer {
    int kind;
    const char *table;       /* the fact table, loaded directly for fresh games */
    const char *stage;       /* its staging table */
    const char *columns;
    const char *types;
    const char *remove;      /* delete the staged keys from table */
    int (*before_remove)(merge_ctx *m); /* or NULL: runs first when rows are replaced */
    const char *insert;      /* insert the staged rows into table */
    int park_indexes;        /* a first load parks its secondary indexes (load_order.h) */
} fact_writer;

/* Starts the direct load of a first load into `table`: its secondary
 * indexes are put aside when it is empty (load_order.h). */
static int direct_begin(merge_ctx *m, const char *table, const char *columns, const char *types,
                        deferred_indexes *idx)
{
    if (deferred_indexes_drop(m->wh, table, idx, m->err) != 0)
        return -1;
    return m->wh->ops->load_begin(m->wh->db, table, columns, types, m->err);
}

/* Ends a direct load: the indexes put aside are built again now, or, for
 * the big tables the first load's reports do not look up by them, parked
 * to be built while the reports are computed (load_order.h). */
static int direct_end(merge_ctx *m, int park, deferred_indexes *idx)
{
    if (load_end(m) != 0)
        return -1;
    return park ? deferred_indexes_park(m->wh, idx, m->err)
                : deferred_indexes_restore(m->wh, idx, m->err);
}

/* Writes the rows of km (row i has km's entry i as key): those of fresh
 * games straight into the table, in key order, the others through the
 * staging table and one delete + insert by key. */
static int write_rows(merge_ctx *m, const fact_writer *w, const keymap *km, row_fn row,
                      void *ctx)
{
    const char *vals[32];
    char bufs[12][24];
    size_t n, staged = 0, replacing = 0;
    int direct, any_fresh, any_stored, rc = -1;
    uint32_t *order = NULL;
    deferred_indexes idx = {NULL, 0, 0};

    kind_mix(m, w->kind, &any_fresh, &any_stored);
    for (direct = 1; direct >= 0; direct--) {
        if (direct ? !any_fresh : !any_stored)
            continue;
        if (direct && km->count > 0 && !(order = load_order_by_key(km, m->game_rank))) {
            ms_error_set(m->err, "out of memory");
            goto out;
        }
        if (direct ? direct_begin(m, w->table, w->columns, w->types, &idx) != 0
                   : load_begin(m, w->stage, w->columns, w->types) != 0)
            goto out;
        for (n = 0; n < km->count; n++) {
            size_t i = direct ? order[n] : n;
            int r;
            if (is_fresh(m, keymap_at(km, (uint32_t)i)->ns, w->kind) != direct)
                continue;
            r = row(m, ctx, i, vals, bufs);
            if (r < 0 || (r > 0 && load_row(m, vals) != 0))
                goto out; /* the caller rolls back; the load ends with the connection */
            staged += r > 0 && !direct;
            replacing += r == ROW_REPLACE && !direct;
        }
        if (direct ? direct_end(m, w->park_indexes, &idx) != 0 : load_end(m) != 0)
            goto out;
    }
    /* A night's staged rows are mostly new keys; the delete, a probe of
     * the table's key index per staged row, is made only when one of them
     * replaces a stored row (a first event that arrived late). */
    rc = 0;
    if (staged && ((replacing && w->before_remove && w->before_remove(m) != 0) ||
                   (replacing && wh_exec(m->wh, w->remove, m->err) != 0) ||
                   wh_exec(m->wh, w->insert, m->err) != 0))
        rc = -1;
out:
    free(order);
    deferred_indexes_free(&idx);
    return rc;
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
    if (mark_dirty(m, (int)game, *day) != 0 ||
        (old->exists && mark_dirty(m, (int)game, old->day) != 0))
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
    return write_rows(m, w, job->keys, row, old);
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
    fmt_i64(bufs[0], f->first.ts);
    fmt_i64(bufs[1], d);
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
    fmt_i64(bufs[0], f->first.ts);
    fmt_i64(bufs[1], d);
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

static int read_dirty_row(void *ctx, int ncols, const char *const *v)
{
    merge_ctx *m = ctx;
    int g;
    (void)ncols;
    if (!v[0] || !v[1])
        return 0;
    g = config_game_index(m->cfg, v[0]);
    if (g < 0)
        return 0;
    return mark_dirty(m, g, strtoll(v[1], NULL, 10)) ? -1 : 0;
}

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
        want[g] = is_fresh(m, (uint32_t)g, KIND_ACTIVITY) == direct;
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
    kind_mix(m, KIND_ACTIVITY, &any_fresh, &any_stored);
    for (direct = 1; direct >= 0; direct--) {
        size_t rows = b->activity.n_slots;
        if (direct ? !any_fresh : !any_stored)
            continue;
        activity_order_free(&order); /* the other kind's, if any */
        if (order_activity(m, &order, direct) != 0)
            goto out;
        if (order.keys)
            rows = order.n;
        if (direct ? direct_begin(m, "activity", "game_id,day,account_id", "tit", &idx) != 0
                   : load_begin(m, "stage_activity", "game_id,day,account_id", "tit") != 0)
            goto out;
        for (i = 0; i < rows; i++) {
            uint64_t key = activity_ordered_row(&order, &b->activity, i);
            const keymap_entry *k;
            char day[24];
            const char *vals[3];
            if (!key)
                continue;
            k = keymap_at(&b->accounts, activity_account(key));
            if (is_fresh(m, k->ns, KIND_ACTIVITY) != direct)
                continue;
            if (direct && mark_dirty(m, (int)k->ns, activity_day(key)) != 0)
                goto out;
            fmt_i64(day, activity_day(key));
            vals[0] = m->cfg->games[k->ns].id;
            vals[1] = day;
            vals[2] = k->key;
            if (load_row(m, vals) != 0)
                goto out;
            staged += !direct;
        }
        if (direct ? direct_end(m, 1, &idx) != 0 : load_end(m) != 0)
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
                    "", NULL, read_dirty_row, m, m->err) < 0
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
    fmt_i64(bufs[0], f->first.ts);
    fmt_i64(bufs[1], d);
    fmt_i64(bufs[2], f->amount_minor);
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
    return write_rows(m, &payment_writer, &m->b->payments, payment_row, &rows);
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

typedef struct acct_lookup {
    merge_ctx *m;
    const keymap *keys;
    account_row *rows;
} acct_lookup;

/* Row: game_id, account_id, ts, eid, day, platform, country (paid, not sandbox). */
static int read_first_pay(void *ctx, int ncols, const char *const *v)
{
    acct_lookup *l = ctx;
    int g = config_game_index(l->m->cfg, v[0]);
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
    if (attr_mark_from(&l->rows[id].pay, &l->m->scratch, v + 2) != 0)
        return ms_error_set(l->m->err, "out of memory");
    return 0;
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

/* Marks every day the accounts keys[moved[0..n)] appear on (their platform
 * or country changed, so each breakdown row they counted in moves), after
 * the accounts are written: one query for them all. Activity and payments
 * are found through their account indexes; roles have none (this is their
 * only reader by account, and a rare one: the index cost a first load 0.4 s
 * to build and every night its inserts), so their table is read once. */
static int mark_moved_days(merge_ctx *m, const keymap *keys, const uint32_t *moved, size_t n)
{
    size_t i;
    if (n == 0)
        return 0;
    if (load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0)
        return -1;
    for (i = 0; i < n; i++) {
        const keymap_entry *k = keymap_at(keys, moved[i]);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key, NULL};
        if (load_row(m, vals) != 0)
            return -1;
    }
    if (load_end(m) != 0)
        return -1;
    return wh_query(m->wh,
                    "SELECT s.game_id, s.day FROM stage_keys k CROSS JOIN activity s WHERE "
                    "s.game_id = k.game_id AND s.account_id = k.k1 "
                    "UNION SELECT p.game_id, p.day FROM stage_keys k CROSS JOIN payments p WHERE "
                    "p.game_id = k.game_id AND p.account_id = k.k1 "
                    "UNION SELECT r.game_id, r.first_day FROM roles r WHERE "
                    "(r.game_id, r.account_id) IN (SELECT game_id, k1 FROM stage_keys)",
                    "", NULL, read_dirty_row, m, m->err) < 0
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

typedef struct account_rows {
    const keymap *keys;      /* the accounts looked at; row i = entry i */
    account_row *rows;       /* as they become */
    const account_row *olds; /* as stored */
    char (*countries)[3][3]; /* reg, act, pay country of rows[i] */
    uint32_t *moved;         /* rows whose platform or country changed (mark_moved_days) */
    size_t n_moved, cap_moved;
} account_rows;

static int account_row_out(merge_ctx *m, void *ctx, size_t i, const char **vals,
                           char (*bufs)[24])
{
    account_rows *a = ctx;
    const fact_batch *b = m->b;
    const keymap_entry *k = keymap_at(a->keys, (uint32_t)i);
    account_row *r = &a->rows[i];
    const account_row *o = &a->olds[i];
    int game = (int)k->ns;
    const tz_zone *z = m->zones[game];
    /* Row i is the batch's account i (submit_accounts puts those first);
     * the rows after are accounts with payments only, not in the batch. */
    int64_t bid = i < b->accounts.count ? (int64_t)i : -1;
    int had_activity, attrs_changed, changed;

    if (bid >= 0) {
        const account_fact *f = &b->account[bid];
        if (f->reg.eid)
            take_attr_mark(&r->reg, &f->reg, tz_local_day(z, f->reg.ts), f->reg_platform,
                           f->reg_country, a->countries[i][0]);
        if (f->act.eid)
            take_attr_mark(&r->act, &f->act, tz_local_day(z, f->act.ts), f->act_platform,
                           f->act_country, a->countries[i][1]);
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
        return 0;
    /* The days a first day moves between (only those: a new first pay
     * day leaves the registration day's figures alone). */
    if (dirty_if_moved(m, game, o->has_cohort, o->cohort_day, r->has_cohort, r->cohort_day) ||
        dirty_if_moved(m, game, o->role.eid != NULL, o->role_day, r->role.eid != NULL,
                       r->role_day) ||
        dirty_if_moved(m, game, o->pay.mark.eid != NULL, o->pay.day, r->pay.mark.eid != NULL,
                       r->pay.day))
        return -1;
    if (attrs_changed) {
        uint32_t *grown = ms_grow(a->moved, &a->cap_moved, a->n_moved + 1, sizeof *grown, 64);
        if (!grown)
            return ms_error_set(m->err, "out of memory");
        a->moved = grown;
        a->moved[a->n_moved++] = (uint32_t)i;
    }
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
        fmt_i64(bufs[8], r->cohort_day);
    vals[20] = r->has_cohort ? bufs[8] : NULL;
    vals[21] = r->platform;
    vals[22] = r->country;
    return o->exists ? ROW_REPLACE : ROW_NEW;
}

static const fact_writer account_writer = {
    .kind = KIND_ACCOUNTS,
    .table = "accounts",
    .stage = "stage_accounts",
    .columns = "game_id,account_id,reg_ts,reg_eid,reg_day,reg_platform,reg_country,"
               "act_ts,act_eid,act_day,act_platform,act_country,role_ts,role_eid,role_day,"
               "pay_ts,pay_eid,pay_day,pay_platform,pay_country,cohort_day,platform,country",
    .types = "ttititt" "ititt" "iti" "ititt" "itt",
    .remove = "DELETE FROM accounts WHERE (game_id, account_id) IN (SELECT game_id, account_id "
              "FROM stage_accounts)",
    .insert = "INSERT INTO accounts (game_id, account_id, reg_ts, reg_eid, reg_day, reg_platform, "
              "reg_country, act_ts, act_eid, act_day, act_platform, act_country, role_ts, "
              "role_eid, role_day, pay_ts, pay_eid, pay_day, pay_platform, pay_country, "
              "cohort_day, platform, country) SELECT game_id, account_id, reg_ts, reg_eid, "
              "reg_day, reg_platform, reg_country, act_ts, act_eid, act_day, act_platform, "
              "act_country, role_ts, role_eid, role_day, pay_ts, pay_eid, pay_day, "
              "pay_platform, pay_country, cohort_day, platform, country FROM stage_accounts",
    .park_indexes = 1,
};

/* A game with no account and no payment stored yet: its accounts' first
 * paid payments are all in the batch (and were all written to payments). */
static int pay_from_batch(const merge_ctx *m, uint32_t game)
{
    return is_fresh(m, game, KIND_ACCOUNTS) && is_fresh(m, game, KIND_PAYMENTS);
}

/* The first paid payment of the accounts of games where pay_from_batch
 * holds, from the batch: what the payments table holds for them. */
static void first_pay_from_batch(merge_ctx *m, account_rows *a)
{
    const fact_batch *b = m->b;
    size_t i;
    for (i = 0; i < b->payments.count; i++) {
        const keymap_entry *k = keymap_at(&b->payments, (uint32_t)i);
        const payment_fact *f = &b->payment[i];
        attr_mark *pay;
        int64_t id;
        if (f->status != PAY_PAID || f->sandbox || !pay_from_batch(m, k->ns))
            continue;
        id = keymap_get(a->keys, k->ns, f->account_id, strlen(f->account_id));
        if (id < 0)
            continue; /* cannot happen: paid accounts are in pay_accounts */
        pay = &a->rows[id].pay;
        take_attr_mark(pay, &f->first, tz_local_day(m->zones[k->ns], f->first.ts), f->platform,
                       f->country, a->countries[id][2]);
    }
}

/* The accounts to look at: those of the batch (first, with the batch's ids)
 * and those whose paid payments changed; their stored rows are read back
 * by job[KIND_ACCOUNTS]. a->keys points to the batch's accounts, or to
 * keys when some payer is not among them; a's arrays are freed by
 * account_rows_free. */
static int submit_accounts(merge_ctx *m, account_rows *a, keymap *keys,
                           const keymap *pay_accounts)
{
    const fact_batch *b = m->b;
    lookup_job *job = &m->job[KIND_ACCOUNTS];
    const keymap *use = &b->accounts;
    size_t i, n;
    int is_new;

    /* Usually every payer is among the batch's accounts, whose keymap then
     * serves as it is (a first load's copy of 500K keys cost 25 MB). */
    for (i = 0; i < pay_accounts->count && use != keys; i++) {
        const keymap_entry *k = keymap_at(pay_accounts, (uint32_t)i);
        if (keymap_get_hashed(&b->accounts, k->ns, k->key, k->len, k->hash) < 0)
            use = keys;
    }
    if (use == keys && keymap_reserve(keys, b->accounts.count + pay_accounts->count) != 0)
        goto oom;
    for (i = 0; use == keys && i < b->accounts.count; i++) {
        const keymap_entry *k = keymap_at(&b->accounts, (uint32_t)i);
        if (keymap_put_hashed(keys, k->ns, k->key, k->len, k->hash, &is_new) != (int64_t)i)
            goto oom; /* ids 0.. in batch order: the batch's keys are distinct */
    }
    for (i = 0; use == keys && i < pay_accounts->count; i++) {
        const keymap_entry *k = keymap_at(pay_accounts, (uint32_t)i);
        if (keymap_put_hashed(keys, k->ns, k->key, k->len, k->hash, &is_new) < 0)
            goto oom;
    }
    if ((n = use->count) == 0)
        return 0;
    a->keys = use;
    a->rows = calloc(n, sizeof *a->rows);
    a->olds = calloc(n, sizeof *a->olds);
    a->countries = calloc(n, sizeof *a->countries);
    if (!a->rows || !a->olds || !a->countries)
        goto oom;
    /* Looked up unless both the account and its payments are known to be
     * absent (pay_from_batch: skip). */
    job->keys = use;
    job->shape = KEY_ONE;
    job->skip = m->skip + (size_t)KIND_ACCOUNTS * m->cfg->n_games;
    job->sql = "SELECT a.game_id, a.account_id, a.reg_ts, a.reg_eid, a.reg_day, a.reg_platform, "
               "a.reg_country, a.act_ts, a.act_eid, a.act_day, a.act_platform, a.act_country, "
               "a.role_ts, a.role_eid, a.role_day, a.pay_ts, a.pay_eid, a.pay_day, "
               "a.pay_platform, a.pay_country, a.cohort_day, a.platform, a.country "
               "FROM lookup_keys k CROSS JOIN accounts a WHERE a.game_id = k.game_id AND "
               "a.account_id = k.k1";
    job->row = lookup_read_account;
    job->out = a->rows;
    lookup_submit(m->lookups, job);
    return 0;
oom:
    return ms_error_set(m->err, "out of memory");
}

static void account_rows_free(account_rows *a)
{
    free(a->rows);
    free((account_row *)a->olds);
    free(a->countries);
    free(a->moved);
}

/* The first paid payment of the accounts whose paid payments changed
 * (pay_accounts), recomputed from the payments table (merged already), so
 * that a retried or late callback can only make it earlier. Every other
 * account keeps the one stored in its row: each write of a paid payment
 * puts its account, and the account of the paid row it replaces, in
 * pay_accounts, so a stored account's pay_* is always the first of its
 * paid payments (only the merge writes payments and accounts). Games where
 * pay_from_batch holds take theirs from the batch. */
static int recompute_first_pay(merge_ctx *m, account_rows *a, const keymap *pay_accounts)
{
    uint32_t *order = NULL;
    size_t i, staged = 0;
    acct_lookup l;
    int rc = -1;

    if (pay_accounts->count && !(order = load_order_by_key(pay_accounts, m->game_rank)))
        return ms_error_set(m->err, "out of memory");
    for (i = 0; order && i < pay_accounts->count; i++) {
        const keymap_entry *k = keymap_at(pay_accounts, order[i]);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key, NULL};
        int64_t id = keymap_get_hashed(a->keys, k->ns, k->key, k->len, k->hash);
        if (id < 0 || pay_from_batch(m, k->ns))
            continue; /* the first cannot happen: pay_accounts are among the keys */
        memset(&a->rows[id].pay, 0, sizeof a->rows[id].pay);
        if ((staged == 0 && load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0) ||
            load_row(m, vals) != 0)
            goto out;
        staged++;
    }
    l.m = m;
    l.keys = a->keys;
    l.rows = a->rows;
    if (staged &&
        (load_end(m) != 0 ||
         wh_query(m->wh,
                  "SELECT p.game_id, p.account_id, p.ts, p.eid, p.day, p.platform, p.country "
                  "FROM stage_keys k CROSS JOIN payments p WHERE p.game_id = k.game_id AND "
                  "p.account_id = k.k1 AND p.status = 'paid' AND p.sandbox = 0",
                  "", NULL, read_first_pay, &l, m->err) < 0))
        goto out;
    first_pay_from_batch(m, a);
    rc = 0;
out:
    free(order);
    return rc;
}

static int merge_accounts(merge_ctx *m, account_rows *a, const keymap *pay_accounts)
{
    if (!m->job[KIND_ACCOUNTS].keys)
        return 0; /* no account to look at */
    if (lookup_wait(m->lookups, &m->job[KIND_ACCOUNTS], m->err) != 0)
        return -1;
    /* Nothing read back (a first load): the olds are calloc's zeros as
     * they are, never touched, so never resident (5M first load: 108 MB
     * less peak RSS). */
    if (m->job[KIND_ACCOUNTS].staged)
        memcpy((account_row *)a->olds, a->rows, a->keys->count * sizeof *a->rows);
    if (recompute_first_pay(m, a, pay_accounts) != 0 ||
        write_rows(m, &account_writer, a->keys, account_row_out, a) != 0)
        return -1;
    return mark_moved_days(m, a->keys, a->moved, a->n_moved);
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
        uint64_t key = m->dirty.slot[i].lo;
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
                                                     ? pay_from_batch(m, (uint32_t)g)
                                                     : is_fresh(m, (uint32_t)g, kind));
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
        submit_accounts(&m, &accounts, &account_keys, &pay_accounts) != 0 ||
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
    account_rows_free(&accounts);
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
