/*
 * merge_lookup.h - reading back the stored rows of a batch's keys.
 *
 * The merge compares every key of the batch with the row the warehouse
 * holds for it (merge.h). A look-up stages the keys of the games that have
 * rows of that kind (lookup_keys, in the table's key order: load_order.h) and
 * reads the stored rows back with one join of lookup_keys to the table's key.
 *
 * On a night those read-backs are a third of the store (5M event bench, the
 * night of day 30: devices 0.19 s, accounts 0.34 s of the merge's 1.2 s in
 * the statement profile), and none of them depends on what the batch
 * writes: each table is read back before the batch writes to it, and the
 * merge writes nothing else to the tables read back. So a runner with its
 * own connection runs them on a thread, one after another in the order
 * submitted, while the merge's connection writes what needs no read-back
 * (payments, activity) and the rows of the look-ups already done. Its
 * connection reads inside one transaction of its own, opened before its
 * first look-up and rolled back at the end (it writes only its temporary
 * lookup_keys): it sees the warehouse as the last run committed it, which is
 * what the merge's connection saw when its transaction began, since the
 * merge commits only after the runner is freed.
 *
 * A runner without a connection of its own (a run with one thread) runs
 * each look-up on the merge's connection when it is submitted: the same
 * statements, in the same order, on a staging table of their own
 * (lookup_keys, not the merge's stage_keys), so the thread count changes
 * nothing but the connection they run on, not even the work PostgreSQL
 * counts for a DELETE of the staged keys (tests/e2e/compute_workers.sh
 * compares the warehouse work).
 *
 * Ownership: lookup_runner_new returns a runner freed with
 * lookup_runner_free, which must come before anything its jobs point to is
 * freed or changed; strings a row function keeps come from job->scratch,
 * which lives until the runner is freed.
 */
#ifndef MOONSTAT_MERGE_LOOKUP_H
#define MOONSTAT_MERGE_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "facts.h"
#include "keymap.h"
#include "warehouse.h"

/* How the key of a keymap entry becomes lookup_keys (k1, k2). */
enum key_shape {
    KEY_ONE,          /* k1 = key */
    KEY_TWO,          /* key = k1 NUL k2 */
    KEY_ORDER_STATUS  /* key = order_id NUL 'p'|'r': k1 = order_id, k2 = paid|refunded */
};

/* A mark read back from the warehouse: (ts, eid) and its day. */
typedef struct stored_mark {
    int exists;
    first_mark mark;
    int64_t day;
} stored_mark;

/* A first mark with the attributes it brings (accounts' reg, act, pay). */
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

typedef struct lookup_job lookup_job;

/* Called per row read back; returns 0 to go on, -1 on error (job->err set). */
typedef int (*lookup_row_fn)(lookup_job *job, const char *const *vals);

struct lookup_job {
    /* Set by the submitter, and left unchanged (with the keys) until the
     * job is waited for or the runner freed. */
    const keymap *keys;         /* borrowed */
    enum key_shape shape;
    const unsigned char *skip;  /* [game]: 1 = no row of the kind stored: not staged */
    const char *sql;            /* reads back the rows of lookup_keys */
    lookup_row_fn row;
    void *out;                  /* the row function's: e.g. stored_mark[keys->count] */
    /* Set by the runner. */
    const config *cfg;
    arena *scratch;             /* strings read back (the runner's) */
    ms_error err;
    size_t staged;              /* keys staged: no read-back is made at 0 */
    int rc;                     /* 0 or -1 (err), once done */
    int done;
    lookup_job *next;
};

/* Creates the temporary table lookup_keys on this connection (idempotent). */
int lookup_prepare(warehouse *wh, ms_error *err);

typedef struct lookup_runner lookup_runner;

/* A runner for the merge on wh. With own_connection, its look-ups run on a
 * thread with a connection of its own to cfg->warehouse (opened there:
 * when that fails, every look-up fails with the reason); without, on wh
 * when submitted. game_rank[game] is the rank of the game's id among the
 * configured ids (borrowed). NULL when out of memory or when no thread can
 * be started (err set). */
lookup_runner *lookup_runner_new(warehouse *wh, const config *cfg, const uint32_t *game_rank,
                                 int own_connection, ms_error *err);

/* Queues job (or runs it now, without a connection of its own). */
void lookup_submit(lookup_runner *r, lookup_job *job);

/* Waits for job. Returns 0, or -1 with the job's error in err. */
int lookup_wait(lookup_runner *r, lookup_job *job, ms_error *err);

/* Stops the runner (queued jobs are dropped, the one running ends first),
 * closes its connection and adds the work done on it to *work (may be
 * NULL). NULL r is a no-op. */
void lookup_runner_free(lookup_runner *r, wh_work *work);

/* Row functions for the common shapes. Marks: row = game_id, k1, [k2,]
 * ts, eid, day; out = stored_mark[keys->count]. Accounts: row = game_id,
 * account_id, reg x5, act x5, role x3, pay x5, cohort_day, platform,
 * country; out = account_row[keys->count]. */
int lookup_read_mark(lookup_job *job, const char *const *vals);
int lookup_read_account(lookup_job *job, const char *const *vals);

/* A mark from its stored text (ts, eid, day; exists = 0 when ts or eid is
 * NULL), eid copied into scratch. Returns 0, or -1 when out of memory. */
int stored_mark_from(stored_mark *s, arena *scratch, const char *ts, const char *eid,
                     const char *day);

/* An attribute mark from v = ts, eid, day, platform, country (zeroed when
 * there is none; a NULL platform reads "other", country "ZZ"), strings
 * copied into scratch. Returns 0, or -1 when out of memory. */
int attr_mark_from(attr_mark *a, arena *scratch, const char *const *v);

#endif
