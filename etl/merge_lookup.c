/*
 * merge_lookup.c - the stored rows of a batch's keys, read back (see
 * merge_lookup.h).
 */
#include "merge_lookup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "load_order.h"

struct lookup_runner {
    warehouse *wh;             /* the merge's (borrowed), or the runner's own */
    const config *cfg;
    const uint32_t *game_rank; /* borrowed */
    arena scratch;             /* the jobs' strings */
    int own;                   /* a thread and a connection of its own */
    /* Thread mode, under mu: */
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a job queued, done, or stop */
    pthread_t thread;
    lookup_job *head, *tail;   /* queued, in submission order */
    int stop;
    ms_error broken;           /* why the connection is unusable (msg[0] != 0) */
    wh_work work;              /* done on the own connection (set by the thread) */
};

int lookup_prepare(warehouse *wh, ms_error *err)
{
    return wh_exec(wh, "CREATE TEMP TABLE IF NOT EXISTS lookup_keys (game_id TEXT, k1 TEXT, "
                       "k2 TEXT)",
                   err);
}

/* ---- one look-up ------------------------------------------------------------------ */

/* Stages the keys of job->keys whose game is not skipped, in the table's
 * key order (load_order.h): the read-back that joins them with the table
 * then probes its key index from one end to the other, neighbouring pages
 * one after another, instead of at random (a night's 88K accounts: 0.83 s
 * in first-seen order). Sets job->staged. */
static int stage_keys(warehouse *wh, const uint32_t *game_rank, lookup_job *job)
{
    const keymap *km = job->keys;
    uint32_t *order = NULL;
    size_t n, g;
    int any_stored = 0, rc = -1;

    job->staged = 0;
    for (g = 0; g < job->cfg->n_games; g++)
        any_stored |= !job->skip[g];
    if (!any_stored || km->count == 0)
        return 0; /* every game's first load: nothing to read back, nothing to sort */
    if (!(order = load_order_by_key(km, game_rank)))
        return ms_error_set(&job->err, "out of memory");
    if (wh_exec(wh, "DELETE FROM lookup_keys", &job->err) != 0 ||
        wh->ops->load_begin(wh->db, "lookup_keys", "game_id,k1,k2", "ttt", &job->err) != 0)
        goto out;
    for (n = 0; n < km->count; n++) {
        const keymap_entry *k = keymap_at(km, order[n]);
        const char *second = k->key + strlen(k->key) + 1;
        const char *vals[3] = {job->cfg->games[k->ns].id, k->key, NULL};
        if (job->skip[k->ns])
            continue;
        if (job->shape == KEY_TWO)
            vals[2] = second;
        else if (job->shape == KEY_ORDER_STATUS)
            vals[2] = *second == 'p' ? "paid" : "refunded";
        if (wh->ops->load_row(wh->db, vals, &job->err) != 0)
            goto out;
        job->staged++;
    }
    rc = wh->ops->load_end(wh->db, &job->err);
out:
    free(order);
    return rc;
}

static int job_row(void *ctx, int ncols, const char *const *vals)
{
    lookup_job *job = ctx;
    (void)ncols;
    return job->row(job, vals);
}

static int run_job(lookup_runner *r, lookup_job *job)
{
    job->cfg = r->cfg;
    job->scratch = &r->scratch;
    if (stage_keys(r->wh, r->game_rank, job) != 0)
        return -1;
    if (job->staged && wh_query(r->wh, job->sql, "", NULL, job_row, job, &job->err) < 0)
        return -1;
    return 0;
}

/* ---- the runner ------------------------------------------------------------------ */

/* Opens the runner's connection with its staging table and its read
 * transaction; the work of that set-up (in *setup) is not counted (the
 * merge's own connection has it already), so that the thread count does
 * not change the work logged. */
static warehouse *open_own(lookup_runner *r, wh_work *setup, ms_error *err)
{
    warehouse *wh = warehouse_open(r->cfg->warehouse, err);
    if (!wh)
        return NULL;
    if (lookup_prepare(wh, err) != 0 || wh_begin(wh, err) != 0) {
        warehouse_close(wh);
        return NULL;
    }
    wh_work_add(setup, wh);
    return wh;
}

static void *runner_main(void *arg)
{
    lookup_runner *r = arg;
    ms_error err;
    wh_work setup = {0, 0, 0}, all = {0, 0, 0};
    warehouse *wh;

    memset(&err, 0, sizeof err);
    wh = open_own(r, &setup, &err);
    ms_pthread_check(pthread_mutex_lock(&r->mu));
    if (!wh) {
        ms_error_set(&r->broken, "opening a connection for the merge's look-ups: %s", err.msg);
        ms_pthread_check(pthread_cond_broadcast(&r->cv));
    }
    r->wh = wh;
    while (!r->stop) {
        lookup_job *job = r->head;
        if (!job) {
            ms_pthread_check(pthread_cond_wait(&r->cv, &r->mu));
            continue;
        }
        r->head = job->next;
        if (!r->head)
            r->tail = NULL;
        ms_pthread_check(pthread_mutex_unlock(&r->mu));
        if (wh)
            job->rc = run_job(r, job);
        else
            job->rc = ms_error_set(&job->err, "%s", r->broken.msg);
        ms_pthread_check(pthread_mutex_lock(&r->mu));
        job->done = 1;
        ms_pthread_check(pthread_cond_broadcast(&r->cv));
    }
    ms_pthread_check(pthread_mutex_unlock(&r->mu));
    if (wh) {
        wh_work_add(&all, wh);
        wh_rollback(wh); /* it wrote only its temporary staging table */
        warehouse_close(wh);
    }
    r->work.statements = all.statements - setup.statements; /* read after the join */
    r->work.rows = all.rows - setup.rows;
    r->work.steps = all.steps - setup.steps;
    return NULL;
}

lookup_runner *lookup_runner_new(warehouse *wh, const config *cfg, const uint32_t *game_rank,
                                 int own_connection, ms_error *err)
{
    lookup_runner *r = calloc(1, sizeof *r);
    int e;
    if (!r) {
        ms_error_set(err, "out of memory");
        return NULL;
    }
    r->wh = wh;
    r->cfg = cfg;
    r->game_rank = game_rank;
    arena_init(&r->scratch);
    if (!own_connection)
        return r;
    r->wh = NULL; /* the thread's, once opened */
    r->own = 1;
    ms_pthread_check(pthread_mutex_init(&r->mu, NULL));
    ms_pthread_check(pthread_cond_init(&r->cv, NULL));
    if ((e = pthread_create(&r->thread, NULL, runner_main, r)) != 0) {
        ms_error_set(err, "cannot start the merge's look-up thread (error %d)", e);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        arena_free(&r->scratch);
        free(r);
        return NULL;
    }
    return r;
}

void lookup_submit(lookup_runner *r, lookup_job *job)
{
    memset(&job->err, 0, sizeof job->err);
    job->done = 0;
    job->rc = 0;
    job->next = NULL;
    if (!r->own) {
        job->rc = run_job(r, job);
        job->done = 1;
        return;
    }
    ms_pthread_check(pthread_mutex_lock(&r->mu));
    if (r->tail)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    ms_pthread_check(pthread_cond_broadcast(&r->cv));
    ms_pthread_check(pthread_mutex_unlock(&r->mu));
}

int lookup_wait(lookup_runner *r, lookup_job *job, ms_error *err)
{
    if (r->own) {
        ms_pthread_check(pthread_mutex_lock(&r->mu));
        while (!job->done)
            ms_pthread_check(pthread_cond_wait(&r->cv, &r->mu));
        ms_pthread_check(pthread_mutex_unlock(&r->mu));
    }
    if (job->rc != 0)
        return ms_error_set(err, "%s", job->err.msg);
    return 0;
}

void lookup_runner_free(lookup_runner *r, wh_work *work)
{
    if (!r)
        return;
    if (r->own) {
        ms_pthread_check(pthread_mutex_lock(&r->mu));
        r->stop = 1;
        ms_pthread_check(pthread_cond_broadcast(&r->cv));
        ms_pthread_check(pthread_mutex_unlock(&r->mu));
        ms_pthread_check(pthread_join(r->thread, NULL));
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        if (work) {
            work->statements += r->work.statements;
            work->rows += r->work.rows;
            work->steps += r->work.steps;
        }
    }
    arena_free(&r->scratch);
    free(r);
}

/* ---- rows read back ------------------------------------------------------------- */

int stored_mark_from(stored_mark *s, arena *scratch, const char *ts, const char *eid,
                     const char *day)
{
    if (!ts || !eid) {
        s->exists = 0;
        return 0;
    }
    s->exists = 1;
    s->mark.ts = strtoll(ts, NULL, 10);
    s->mark.eid = arena_strndup(scratch, eid, strlen(eid));
    if (!s->mark.eid)
        return -1;
    s->mark.eid_len = (uint32_t)strlen(eid);
    s->day = day ? strtoll(day, NULL, 10) : 0;
    return 0;
}

int attr_mark_from(attr_mark *a, arena *scratch, const char *const *v)
{
    stored_mark s;
    const char *plat = v[3] ? v[3] : "other", *country = v[4] ? v[4] : "ZZ";
    if (stored_mark_from(&s, scratch, v[0], v[1], v[2]) != 0)
        return -1;
    if (!s.exists) {
        memset(a, 0, sizeof *a);
        return 0;
    }
    a->mark = s.mark;
    a->day = s.day;
    a->platform = arena_strndup(scratch, plat, strlen(plat));
    a->country = arena_strndup(scratch, country, strlen(country));
    return a->platform && a->country ? 0 : -1;
}

int lookup_read_mark(lookup_job *job, const char *const *v)
{
    stored_mark *old = job->out;
    char key[1024];
    size_t kn;
    int g = config_game_index(job->cfg, v[0]);
    int64_t id;
    int base = job->shape == KEY_TWO ? 3 : 2;
    if (g < 0)
        return 0;
    if (job->shape != KEY_TWO) {
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
    id = keymap_get(job->keys, (uint32_t)g, key, kn);
    if (id < 0)
        return 0;
    if (stored_mark_from(&old[id], job->scratch, v[base], v[base + 1], v[base + 2]) != 0)
        return ms_error_set(&job->err, "out of memory");
    return 0;
}

int lookup_read_account(lookup_job *job, const char *const *v)
{
    account_row *rows = job->out, *r;
    int g = config_game_index(job->cfg, v[0]);
    int64_t id;
    stored_mark role;
    if (g < 0)
        return 0;
    id = keymap_get(job->keys, (uint32_t)g, v[1], strlen(v[1]));
    if (id < 0)
        return 0;
    r = &rows[id];
    r->exists = 1;
    if (attr_mark_from(&r->reg, job->scratch, v + 2) != 0 ||
        attr_mark_from(&r->act, job->scratch, v + 7) != 0 ||
        stored_mark_from(&role, job->scratch, v[12], v[13], v[14]) != 0 ||
        attr_mark_from(&r->pay, job->scratch, v + 15) != 0)
        return ms_error_set(&job->err, "out of memory");
    r->role = role.exists ? role.mark : (first_mark){0, NULL, 0};
    r->role_day = role.day;
    r->has_cohort = v[20] != NULL;
    r->cohort_day = v[20] ? strtoll(v[20], NULL, 10) : 0;
    r->platform = v[21] ? arena_strndup(job->scratch, v[21], strlen(v[21])) : NULL;
    r->country = v[22] ? arena_strndup(job->scratch, v[22], strlen(v[22])) : NULL;
    if ((v[21] && !r->platform) || (v[22] && !r->country))
        return ms_error_set(&job->err, "out of memory");
    return 0;
}
