/*
 * merge_accounts.c - an account's row from its stored row and the batch
 * (see merge_accounts.h).
 */
#include "merge_accounts.h"

#include <stdlib.h>
#include <string.h>

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
    if ((had && merge_mark_dirty(m, game, old_day) != 0) ||
        (has && merge_mark_dirty(m, game, new_day) != 0))
        return -1;
    return 0;
}

/* Marks every day the accounts keys[moved[0..n)] appear on (their platform
 * or country changed, so each breakdown row they counted in moves), after
 * the accounts are written: one query for them all. Activity and payments
 * are found through their account indexes, activity's one bucket at a time
 * (every bucket from the game's first day to its last: warehouse.h); roles
 * have no such index (this is their only reader by account, and a rare one:
 * the index cost a first load 0.4 s to build and every night its inserts),
 * so their table is read once. */
static int mark_moved_days(merge_ctx *m, const keymap *keys, const uint32_t *moved, size_t n)
{
    size_t i;
    if (n == 0)
        return 0;
    if (merge_load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0)
        return -1;
    for (i = 0; i < n; i++) {
        const keymap_entry *k = keymap_at(keys, moved[i]);
        const char *vals[3] = {m->cfg->games[k->ns].id, k->key, NULL};
        if (merge_load_row(m, vals) != 0)
            return -1;
    }
    if (merge_load_end(m) != 0)
        return -1;
    return wh_query(m->wh,
                    "WITH RECURSIVE b (game_id, n, last) AS (SELECT g.game_id, "
                    "(SELECT min(day) FROM activity a WHERE a.game_id = g.game_id) / "
                    ACTIVITY_BUCKET_SQL ", (SELECT max(day) FROM activity a WHERE "
                    "a.game_id = g.game_id) / " ACTIVITY_BUCKET_SQL " FROM (SELECT DISTINCT "
                    "game_id FROM stage_keys) g UNION ALL SELECT game_id, n + 1, last FROM b "
                    "WHERE n < last) "
                    "SELECT s.game_id, s.day FROM stage_keys k CROSS JOIN b CROSS JOIN "
                    "activity s WHERE b.game_id = k.game_id AND s.game_id = k.game_id AND "
                    "s.day / " ACTIVITY_BUCKET_SQL " = b.n AND s.account_id = k.k1 "
                    "UNION SELECT p.game_id, p.day FROM stage_keys k CROSS JOIN payments p WHERE "
                    "p.game_id = k.game_id AND p.account_id = k.k1 "
                    "UNION SELECT r.game_id, r.first_day FROM roles r WHERE "
                    "(r.game_id, r.account_id) IN (SELECT game_id, k1 FROM stage_keys)",
                    "", NULL, merge_read_dirty_row, m, m->err) < 0
               ? -1
               : 0;
}

static void put_mark(const attr_mark *a, char ts[24], char day[24], const char **vals)
{
    if (!a->mark.eid) {
        vals[0] = vals[1] = vals[2] = vals[3] = vals[4] = NULL;
        return;
    }
    merge_fmt_i64(ts, a->mark.ts);
    merge_fmt_i64(day, a->day);
    vals[0] = ts;
    vals[1] = a->mark.eid;
    vals[2] = day;
    vals[3] = a->platform;
    vals[4] = a->country;
}


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
        merge_fmt_i64(bufs[4], r->role.ts);
        merge_fmt_i64(bufs[5], r->role_day);
        vals[12] = bufs[4];
        vals[13] = r->role.eid;
        vals[14] = bufs[5];
    } else {
        vals[12] = vals[13] = vals[14] = NULL;
    }
    put_mark(&r->pay, bufs[6], bufs[7], vals + 15);
    if (r->has_cohort)
        merge_fmt_i64(bufs[8], r->cohort_day);
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
    /* A night replaces tens of thousands of accounts (a new first login,
     * role or payment): updated in place, their key is probed once and
     * accounts_by_cohort touched only when the cohort or group moves. */
    .upsert = "INSERT INTO accounts (game_id, account_id, reg_ts, reg_eid, reg_day, reg_platform, "
              "reg_country, act_ts, act_eid, act_day, act_platform, act_country, role_ts, "
              "role_eid, role_day, pay_ts, pay_eid, pay_day, pay_platform, pay_country, "
              "cohort_day, platform, country) SELECT game_id, account_id, reg_ts, reg_eid, "
              "reg_day, reg_platform, reg_country, act_ts, act_eid, act_day, act_platform, "
              "act_country, role_ts, role_eid, role_day, pay_ts, pay_eid, pay_day, "
              "pay_platform, pay_country, cohort_day, platform, country FROM stage_accounts "
              "WHERE true ON CONFLICT (game_id, account_id) DO UPDATE SET "
              "reg_ts = excluded.reg_ts, reg_eid = excluded.reg_eid, reg_day = excluded.reg_day, "
              "reg_platform = excluded.reg_platform, reg_country = excluded.reg_country, "
              "act_ts = excluded.act_ts, act_eid = excluded.act_eid, act_day = excluded.act_day, "
              "act_platform = excluded.act_platform, act_country = excluded.act_country, "
              "role_ts = excluded.role_ts, role_eid = excluded.role_eid, "
              "role_day = excluded.role_day, pay_ts = excluded.pay_ts, "
              "pay_eid = excluded.pay_eid, pay_day = excluded.pay_day, "
              "pay_platform = excluded.pay_platform, pay_country = excluded.pay_country, "
              "cohort_day = excluded.cohort_day, platform = excluded.platform, "
              "country = excluded.country",
    .park_indexes = 1,
};

/* A game with no account and no payment stored yet: its accounts' first
 * paid payments are all in the batch (and were all written to payments). */
int merge_pay_from_batch(const merge_ctx *m, uint32_t game)
{
    return merge_is_fresh(m, game, KIND_ACCOUNTS) && merge_is_fresh(m, game, KIND_PAYMENTS);
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
        if (f->status != PAY_PAID || f->sandbox || !merge_pay_from_batch(m, k->ns))
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
int merge_submit_accounts(merge_ctx *m, account_rows *a, keymap *keys,
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

void merge_account_rows_free(account_rows *a)
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
        if (id < 0 || merge_pay_from_batch(m, k->ns))
            continue; /* the first cannot happen: pay_accounts are among the keys */
        memset(&a->rows[id].pay, 0, sizeof a->rows[id].pay);
        if ((staged == 0 && merge_load_begin(m, "stage_keys", "game_id,k1,k2", "ttt") != 0) ||
            merge_load_row(m, vals) != 0)
            goto out;
        staged++;
    }
    l.m = m;
    l.keys = a->keys;
    l.rows = a->rows;
    if (staged &&
        (merge_load_end(m) != 0 ||
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

int merge_accounts(merge_ctx *m, account_rows *a, const keymap *pay_accounts)
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
        merge_write_rows(m, &account_writer, a->keys, account_row_out, a) != 0)
        return -1;
    return mark_moved_days(m, a->keys, a->moved, a->n_moved);
}
