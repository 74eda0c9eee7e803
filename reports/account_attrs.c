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
}

void account_attrs_free(account_attrs *a)
{
    keymap_free(&a->accounts);
    keymap_free(&a->groups);
    free(a->attr);
    memset(a, 0, sizeof *a);
}

typedef struct load_ctx {
    account_attrs *a;
    ms_error *err;
} load_ctx;

/* Row: account_id, platform, country, cohort_day. */
static int add_account(void *ctx, int ncols, const char *const *v)
{
    load_ctx *l = ctx;
    account_attrs *a = l->a;
    const char *platform = v[1] ? v[1] : "other", *country = v[2] ? v[2] : "ZZ";
    char group_key[2 * MAX_ATTR_TEXT + 2];
    size_t pn = strlen(platform), cn = strlen(country);
    int64_t id, group;
    int is_new;

    if (ncols != 4 || !v[0])
        return ms_error_set(l->err, "account attributes: unexpected row");
    if (pn > MAX_ATTR_TEXT || cn > MAX_ATTR_TEXT)
        return ms_error_set(l->err, "account %s: platform or country longer than %d bytes in "
                            "the warehouse", v[0], MAX_ATTR_TEXT);
    if ((id = keymap_put(&a->accounts, 0, v[0], strlen(v[0]), &is_new)) < 0)
        return ms_error_set(l->err, "out of memory");
    if (!is_new)
        return 0; /* read for an earlier day: the same row */
    memcpy(group_key, platform, pn);
    group_key[pn] = '\0';
    memcpy(group_key + pn + 1, country, cn);
    if ((group = keymap_put(&a->groups, 0, group_key, pn + 1 + cn, &is_new)) < 0)
        return ms_error_set(l->err, "out of memory");
    if ((size_t)id >= a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 4096;
        account_attr *p = realloc(a->attr, ncap * sizeof *p);
        if (!p)
            return ms_error_set(l->err, "out of memory");
        a->attr = p;
        a->cap = ncap;
    }
    a->attr[id].group = (uint32_t)group;
    a->attr[id].cohort_day = v[3] ? (int32_t)strtol(v[3], NULL, 10) : ACCOUNT_NO_COHORT;
    return 0;
}

static const char q_all[] =
    "SELECT account_id, platform, country, cohort_day FROM accounts WHERE game_id = $1";
/* The accounts a day's facts refer to; the IN list probes the primary key. */
static const char q_day[] =
    "SELECT account_id, platform, country, cohort_day FROM accounts WHERE game_id = $1 AND "
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

    if (mode && strcmp(mode, "scan") == 0)
        scan = 1;
    else if (mode && strcmp(mode, "days") == 0)
        scan = 0;
    if (scan)
        return wh_query(wh, q_all, "t", params, add_account, &l, err) < 0 ? -1 : 0;
    for (i = 0; i < n_days; i++) {
        snprintf(day, sizeof day, "%" PRId32, days[i]);
        if (wh_query(wh, q_day, "ti", params, add_account, &l, err) < 0)
            return -1;
    }
    return 0;
}

const account_attr *account_attrs_find(const account_attrs *a, const char *account_id)
{
    int64_t id = keymap_get(&a->accounts, 0, account_id, strlen(account_id));
    return id < 0 ? NULL : &a->attr[id];
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
