/*
 * account_attrs.h - the attributes the daily reports break accounts down by
 * (platform, country, cohort day), read once per game and kept in memory.
 *
 * Why: the daily KPIs count facts (a day's active accounts, new roles,
 * payers, revenue) in the cell of the account's attributes. Asking the
 * warehouse to join every fact row with its account costs one B-tree
 * descent per row per day: 1.7M lookups for a month of 5M events, 40 % of a
 * first load's report time. Reading the attributes once and joining in a
 * hash table costs one lookup per account instead.
 *
 * What is read (account_attrs_load): for many days (a first load, a
 * backfill: ACCOUNT_ATTRS_SCAN_DAYS or more) every account of the game, one
 * range scan; for a few days (the nightly run) only the accounts with an
 * activity, a new role or a payment on those days, so that a night's cost
 * stays proportional to the night's data, not to the game's history. Either
 * way the map holds every account those days' facts refer to, and a superset
 * changes no figure: a fact is counted only through its own account.
 *
 * Platform and country are kept as a group (the pair), with a NULL platform
 * read as "other" and a NULL country as "ZZ", as the breakdowns show them.
 *
 * Tallies: when every account is read, the same scan, plus a read of the
 * game's activations (a few rows per day, etl/activation_counts.h) and one
 * scan of its roles, also counts per day (of `days`) and
 * group what the daily KPIs otherwise ask the warehouse for day by day
 * through secondary indexes (a table lookup per row): activations,
 * registrations (and those with a role the same day), accounts with their
 * first role, new roles, first-time payers. For a few days there are no
 * tallies and the daily KPIs use their queries, except for the accounts
 * with their first role or first payment on the day, which they find among
 * the day's active accounts and payers (role_day, pay_day below);
 * tests/e2e/account_attrs.sh has both ways give the same table.
 *
 * Ownership: an account_attrs owns its maps and strings; the pointers the
 * accessors return stay valid until account_attrs_free.
 */
#ifndef MOONSTAT_ACCOUNT_ATTRS_H
#define MOONSTAT_ACCOUNT_ATTRS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "keymap.h"
#include "warehouse.h"

/* From this many days on, every account of the game is read (one scan)
 * instead of those of each day (one join per day). A night has 1-3. */
#define ACCOUNT_ATTRS_SCAN_DAYS 7

/* Tests: "scan" or "days" forces the choice (tests/e2e/account_attrs.sh). */
#define ACCOUNT_ATTRS_MODE_ENV "MOONSTAT_TEST_ACCOUNT_ATTRS"

#define ACCOUNT_NO_COHORT INT32_MIN /* cohort_day is NULL */
#define ACCOUNT_NO_DAY INT32_MIN    /* role_day or pay_day is NULL */

/* role_day and pay_day let the daily KPIs count an account's first role
 * and first payment from the day's active accounts and payers, which they
 * read anyway: an account is active on its role_day (a role_create is an
 * account event) and pays on its pay_day (taken from a paid, non-sandbox
 * payments row: etl/merge.c), so no index of accounts by those days is
 * needed (migration 011). */
typedef struct account_attr {
    uint32_t group;     /* the (platform, country) pair: account_group_* */
    int32_t cohort_day; /* local day, or ACCOUNT_NO_COHORT */
    int32_t role_day;   /* local day of the first role_create, or ACCOUNT_NO_DAY */
    int32_t pay_day;    /* local day of the first paid payment, or ACCOUNT_NO_DAY */
} account_attr;

/* The counts of one day and group (kpi_tally fields mirror daily_kpi's). */
typedef struct kpi_tally {
    int64_t activations, registrations, role_same_day, new_role_accounts, new_roles,
        new_payers;
} kpi_tally;

typedef struct account_attrs {
    keymap accounts;    /* account_id -> id; attr[id] */
    account_attr *attr;
    size_t cap;
    keymap groups;      /* "platform\0country" -> group */
    int tallied;        /* every account was read, and the tallies made */
    const int32_t *days; /* the days tallied (sorted), while loading */
    size_t n_days;
    keymap tally_keys;  /* (day, group) as 8 bytes -> tally[id] */
    kpi_tally *tally;
    size_t tally_cap;
} account_attrs;

void account_attrs_init(account_attrs *a);
void account_attrs_free(account_attrs *a);

/* Reads the attributes of the accounts of game_id that the facts of `days`
 * (n_days local days, sorted, distinct) refer to, and the tallies when it
 * reads every account; call once on a fresh *a. Returns 0, or -1 with err
 * set. */
int account_attrs_load(account_attrs *a, warehouse *wh, const char *game_id,
                       const int32_t *days, size_t n_days, ms_error *err);

/* The attributes of account_id, or NULL when it has no accounts row (the
 * fact then counts in no cell, as an inner join would have it). */
const account_attr *account_attrs_find(const account_attrs *a, const char *account_id);
/* account_attrs_find for rows that come in account order: the entries from
 * *hint on (a few) are tried before the hash table, and *hint is set past
 * the account found. When every account was read (a first load) ids follow
 * the accounts' order, and a day's active accounts, read in the same order,
 * are mostly a few entries apart: the lookup walks memory in order instead
 * of taking three cache misses (a slot, an entry, a key), which was over
 * half the compute workers' time on the 5M bench. Rows in any other order
 * only cost the few entries tried. Start with *hint = 0. */
const account_attr *account_attrs_find_near(const account_attrs *a, const char *account_id,
                                            uint32_t *hint);

/* The tally of (day, group), NULL when nothing was counted there. Only
 * when a->tallied, and only for one of the days it was loaded for: any
 * other day reads as all zero. */
const kpi_tally *account_attrs_tally(const account_attrs *a, int32_t day, uint32_t group);

/* The platform and country of a group, never NULL. */
const char *account_group_platform(const account_attrs *a, uint32_t group);
const char *account_group_country(const account_attrs *a, uint32_t group);

#endif
