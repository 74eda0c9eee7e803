/*
 * facts.h - the facts of a batch of events, reduced as they are read.
 *
 * Every metric of metrics.md is built from a few facts that are sets or
 * "earliest" values, so an event is folded into its facts at once and never
 * kept: the earliest device_start of each device, the earliest register /
 * activity / role_create of each account, the earliest role_create of each
 * role, the account-days with activity, and one record per payment
 * transition (game, order, status) holding its earliest event. "Earliest" is
 * the smallest (ts, event_id) (inputs.md). Re-sent lines change nothing by
 * construction, so a batch can be folded into another (file into run) and a
 * run into the warehouse (merge.c) in any order with the same result.
 *
 * Memory grows with distinct devices, accounts, roles, orders and
 * account-days, not with events. Ownership: a batch owns all its strings
 * (arena) and arrays; free with fact_batch_free.
 */
#ifndef MOONSTAT_FACTS_H
#define MOONSTAT_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "event_parser.h"
#include "keymap.h"
#include "tz.h"

/* The event that fixed a first-seen value. eid == NULL means "none yet". */
typedef struct first_mark {
    int64_t ts;
    const char *eid;
    uint32_t eid_len;
} first_mark;

/* 1 when a is earlier than b by (ts, event_id); a "none" mark is never
 * earlier, and anything is earlier than "none". */
int first_mark_less(const first_mark *a, const first_mark *b);

typedef struct device_fact {
    first_mark first;
    uint8_t platform;
    char country[3];
} device_fact;

typedef struct account_fact {
    first_mark reg;        /* earliest register */
    uint8_t reg_platform;
    char reg_country[3];
    first_mark act;        /* earliest register / login / role_create */
    uint8_t act_platform;
    char act_country[3];
    first_mark role;       /* earliest role_create */
} account_fact;

typedef struct role_fact {
    first_mark first;
    const char *account_id;
    uint32_t account_len;
} role_fact;

typedef struct payment_fact {
    first_mark first;
    uint8_t status;           /* payment_status */
    uint8_t sandbox;
    uint8_t platform;
    char country[3];
    char currency[4];
    int8_t currency_minor;
    int64_t amount_minor;
    const char *account_id, *pay_channel, *channel_txn_id, *product_id, *server_id, *role_id;
} payment_fact;

/* Per-game counters of data_quality that the parse stage produces. */
typedef struct event_counts {
    uint64_t sandbox_payments; /* accepted sandbox payment events */
} event_counts;

typedef struct fact_batch {
    const tz_zone *const *zones; /* by game index (not owned) */
    size_t n_games;
    keymap devices;   device_fact *device;   size_t device_cap;
    keymap accounts;  account_fact *account; size_t account_cap;
    keymap roles;     role_fact *role;       size_t role_cap;   /* key: server_id NUL role_id */
    keymap payments;  payment_fact *payment; size_t payment_cap;/* key: order_id NUL status */
    fp_set activity;  /* (account id + 1) << 32 | (uint32_t)day */
    arena strings;
} fact_batch;

void fact_batch_init(fact_batch *b, const tz_zone *const *zones, size_t n_games);
void fact_batch_free(fact_batch *b);

/* Folds one validated event into the batch. Returns 0 or -1 (out of memory). */
int fact_batch_add(fact_batch *b, const sdk_event *ev);

/* Folds every fact of src into dst. Returns 0 or -1. */
int fact_batch_absorb(fact_batch *dst, const fact_batch *src);

/* The activity set decoded: account id and local day of one entry. */
static inline uint32_t activity_account(uint64_t key) { return (uint32_t)(key >> 32) - 1; }
static inline int32_t activity_day(uint64_t key) { return (int32_t)(uint32_t)key; }

#endif
