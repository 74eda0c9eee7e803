/*
 * account_attrs.c - account attributes in memory (see account_attrs.h).
 */
#include "account_attrs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTR_TEXT 256 /* platform or country longer than this: a broken row */

void account_attrs_init(account_attrs *a)
{
    memset(a, 0, sizeof *a);
    keymap_init(&a->accounts);
    keymap_init(&a->groups);
    keymap_init(&a->tally_keys);
}

void account_attrs_free(account_attrs *a)
{
    keymap_free(&a->accounts);
    keymap_free(&a->groups);
    keymap_free(&a->tally_keys);
    free(a->attr);
    free(a->tally);
    memset(a, 0, sizeof *a);
}

/* The tally of (day, group) to add to, NULL when the day is not tallied or
 * on allocation failure (*oom set). v is the day as text (NULL: no day). */
static kpi_tally *tally_for(account_attrs *a, const char *v, uint32_t group, int *oom)
{
    unsigned char key[8];
    kpi_tally *tally;
    int32_t day;
    int64_t id;
    int is_new;
    if (!v)
        return NULL;
    day = (int32_t)strtol(v, NULL, 10);
    if (!bsearch(&day, a->days, a->n_days, sizeof *a->days, ms_day_cmp))
        return NULL;
    memcpy(key, &day, 4);
    memcpy(key + 4, &group, 4);
    if ((id = keymap_put(&a->tally_keys, 0, (const char *)key, sizeof key, &is_new)) < 0)
        goto oom;
    if (!(tally = ms_grow(a->tally, &a->tally_cap, (size_t)id + 1, sizeof *tally, 256)))
        goto oom;
    a->tally = tally;
    if (is_new)
        memset(&a->tally[id], 0, sizeof a->tally[id]);
    return &a->tally[id];
oom:
    *oom = 1;
    return NULL;
}

const kpi_tally *account_attrs_tally(const account_attrs *a, int32_t day, uint32_t group)
{
    unsigned char key[8];
    int64_t id;
    memcpy(key, &day, 4);
    memcpy(key + 4, &group, 4);
    id = keymap_get(&a->tally_keys, 0, (const char *)key, sizeof key);
    return id < 0 ? NULL : &a->tally[id];
}

typedef struct load_ctx {
    account_attrs *a;
    ms_error *err;
} load_ctx;

/* The group of (platform, country), NULL ones read as the breakdowns show
 * them; -1 with err set on failure. */
static int64_t group_of(account_attrs *a, const char *platform, const char *country,
                        ms_error *err)
{
    char group_key[2 * MAX_ATTR_TEXT + 2];
    size_t pn, cn;
    int64_t group;
    int is_new;
    platform = platform ? platform : "other";
    country = country ? country : "ZZ";
    pn = strlen(platform);
    cn = strlen(country);
    if (pn > MAX_ATTR_TEXT || cn > MAX_ATTR_TEXT)
        return ms_error_set(err, "a platform or country longer than %d bytes in the warehouse",
                            MAX_ATTR_TEXT);
    memcpy(group_key, platform, pn);
    group_key[pn] = '\0';
    memcpy(group_key + pn + 1, country, cn);
    if ((group = keymap_put(&a->groups, 0, group_key, pn + 1 + cn, &is_new)) < 0)
        return ms_error_set(err, "out of memory");
    return group;
}

/* Row: account_id, platform, country, cohort_day, role_day, pay_day. */
static int add_account(void *ctx, int ncols, const char *const *v)
{
    load_ctx *l = ctx;
    account_attrs *a = l->a;
    account_attr *attr;
    int64_t id, group;
    int is_new, oom = 0;
    kpi_tally *t;

    if (ncols != 6 || !v[0])
        return ms_error_set(l->err, "account attributes: unexpected row");
    if ((id = keymap_put(&a->accounts, 0, v[0], strlen(v[0]), &is_new)) < 0)
        return ms_error_set(l->err, "out of memory");
    if (!is_new)
        return 0; /* read for an earlier day: the same row */
    if ((group = group_of(a, v[1], v[2], l->err)) < 0)
        return -1;
    if (!(attr = ms_grow(a->attr, &a->cap, (size_t)id + 1, sizeof *attr, 4096)))
        return ms_error_set(l->err, "out of memory");
    a->attr = attr;
    a->attr[id].group = (uint32_t)group;
    a->attr[id].cohort_day = v[3] ? (int32_t)strtol(v[3], NULL, 10) : ACCOUNT_NO_COHORT;
    a->attr[id].role_day = v[4] ? (int32_t)strtol(v[4], NULL, 10) : ACCOUNT_NO_DAY;
    a->attr[id].pay_day = v[5] ? (int32_t)strtol(v[5], NULL, 10) : ACCOUNT_NO_DAY;
    if (!a->n_days)
        return 0; /* no tallies */
    if ((t = tally_for(a, v[3], (uint32_t)group, &oom)) != NULL) {
        t->registrations++;
        t->role_same_day += v[4] && (int32_t)strtol(v[4], NULL, 10) == a->attr[id].cohort_day;
    }
    if ((t = tally_for(a, v[4], (uint32_t)group, &oom)) != NULL)
        t->new_role_accounts++;
    if ((t = tally_for(a, v[5], (uint32_t)group, &oom)) != NULL)
        t->new_payers++;
    return oom ? ms_error_set(l->err, "out of memory") : 0;
}

/* Row: day, platform, country, devices of an activations cell. */
static int add_activations(void *ctx, int ncols, const char *const *v)
{
    load_ctx *l = ctx;
    int64_t group;
    int oom = 0;
    kpi_tally *t;
    if (ncols != 4 || !v[3])
        return ms_error_set(l->err, "activations: unexpected row");
    if ((group = group_of(l->a, v[1], v[2], l->err)) < 0)
        return -1;
    if ((t = tally_for(l->a, v[0], (uint32_t)group, &oom)) != NULL)
        t->activations += strtoll(v[3], NULL, 10);
    return oom ? ms_error_set(l->err, "out of memory") : 0;
}

/* Row: first_day, account_id of a role: counted in its account's group,
 * not at all without an accounts row (as the inner join had it). */
static int add_role(void *ctx, int ncols, const char *const *v)
{
    load_ctx *l = ctx;
    const account_attr *attr;
    int oom = 0;
    kpi_tally *t;
    if (ncols != 2)
        return ms_error_set(l->err, "roles: unexpected row");
    if (!v[1] || !(attr = account_attrs_find(l->a, v[1])))
        return 0;
    if ((t = tally_for(l->a, v[0], attr->group, &oom)) != NULL)
        t->new_roles++;
    return oom ? ms_error_set(l->err, "out of memory") : 0;
}

/* The whole game, in primary-key order: SQLite then walks the table through
 * its key index, i.e. mostly in the order the rows were written, instead of
 * through a day index that jumps around the table (roles 0.76 -> 0.46 s on
 * the 5M warehouse; devices, when they were scanned, 1.09 -> 0.62 s). */
static const char q_all[] =
    "SELECT account_id, platform, country, cohort_day, role_day, pay_day FROM accounts "
    "WHERE game_id = $1 ORDER BY account_id";
/* The game's activations, a few rows per day (etl/activation_counts.h). */
static const char q_all_activations[] =
    "SELECT day, platform, country, devices FROM activations WHERE game_id = $1";
static const char q_all_roles[] =
    "SELECT first_day, account_id FROM roles WHERE game_id = $1 ORDER BY server_id, role_id";
/* The accounts a day's facts refer to; the IN list probes the primary key. */
static const char q_day[] =
    "SELECT account_id, platform, country, cohort_day, role_day, pay_day FROM accounts "
    "WHERE game_id = $1 AND "
    "account_id IN (SELECT account_id FROM activity WHERE game_id = $1 AND day = $2 "
    "UNION ALL SELECT account_id FROM roles WHERE game_id = $1 AND first_day = $2 "
    "UNION ALL SELECT account_id FROM payments WHERE game_id = $1 AND day = $2)";

int account_attrs_load(account_attrs *a, warehouse *wh, const char *game_id,
                       const int32_t *days, size_t n_days, ms_error *err)
{
    const char *mode = getenv(ACCOUNT_ATTRS_MODE_ENV);
    int scan = n_days >= ACCOUNT_ATTRS_SCAN_DAYS;
    load_ctx l = {a, err};
    char day[24];
    const char *params[2] = {game_id, day};
    size_t i;
    int rc = -1;

    if (mode && strcmp(mode, "scan") == 0)
        scan = 1;
    else if (mode && strcmp(mode, "days") == 0)
        scan = 0;
    if (scan && n_days > 0) {
        a->days = days; /* read by the row callbacks: which days to tally */
        a->n_days = n_days;
        if (wh_query(wh, q_all, "t", params, add_account, &l, err) < 0 ||
            wh_query(wh, q_all_activations, "t", params, add_activations, &l, err) < 0 ||
            wh_query(wh, q_all_roles, "t", params, add_role, &l, err) < 0)
            goto out;
        a->tallied = 1;
    } else {
        for (i = 0; i < n_days; i++) {
            snprintf(day, sizeof day, "%" PRId32, days[i]);
            if (wh_query(wh, q_day, "ti", params, add_account, &l, err) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    a->days = NULL;
    a->n_days = 0;
    return rc;
}

const account_attr *account_attrs_find(const account_attrs *a, const char *account_id)
{
    int64_t id = keymap_get(&a->accounts, 0, account_id, strlen(account_id));
    return id < 0 ? NULL : &a->attr[id];
}

/* How many entries from the hint are tried. */
#define FIND_NEAR_SPAN 8

const account_attr *account_attrs_find_near(const account_attrs *a, const char *account_id,
                                            uint32_t *hint)
{
    size_t len = strlen(account_id), n = a->accounts.count, i, end;
    uint64_t h = keymap_hash(0, account_id, len);
    int64_t id = -1;

    end = (size_t)*hint + FIND_NEAR_SPAN < n ? (size_t)*hint + FIND_NEAR_SPAN : n;
    for (i = *hint; i < end; i++) {
        const keymap_entry *e = keymap_at(&a->accounts, (uint32_t)i);
        if (e->hash == h && e->ns == 0 && e->len == len && memcmp(e->key, account_id, len) == 0) {
            id = (int64_t)i;
            break;
        }
    }
    if (id < 0 && (id = keymap_get_hashed(&a->accounts, 0, account_id, len, h)) < 0)
        return NULL;
    *hint = (uint32_t)id + 1;
    return &a->attr[id];
}

const char *account_group_platform(const account_attrs *a, uint32_t group)
{
    return keymap_at(&a->groups, group)->key;
}

const char *account_group_country(const account_attrs *a, uint32_t group)
{
    const char *p = keymap_at(&a->groups, group)->key;
    return p + strlen(p) + 1;
}
