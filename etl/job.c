/*
 * job.c - run, backfill and status (see job.h).
 */
#include "job.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cohorts.h"
#include "export.h"
#include "fx_rates.h"
#include "game_reports.h"
#include "index_builder.h"
#include "ingest.h"
#include "load_order.h"
#include "merge.h"
#include "publish.h"
#include "revenue.h"
#include "timefmt.h"
#include "tz.h"
#include "warehouse.h"
#include "warehouse_split.h"

/* Seconds since an earlier monotonic instant, for the stage log lines. */
static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

typedef struct job {
    const config *cfg;
    const job_options *opt;
    tz_zone **zones;
    warehouse *wh;
    fx_table *fx;
    char run_id[64];
    char run_date[11];          /* data_quality partition */
    int32_t *game_date;         /* per game: the last day to compute */
    int32_t *missing_days;      /* game-days whose rates are missing (any game) */
    size_t n_missing, cap_missing;
    wh_work work;               /* warehouse work on other connections: the compute
                                   workers', the merge's look-ups' (merge_lookup.h) */
    int64_t n_parked;           /* secondary indexes the store parked (load_order.h) */
    pthread_mutex_t wh_mu;      /* wh, while the compute workers run: the parked
                                 * indexes' build and the rate store take turns */
    int exit_code;
    char failure[MS_ERROR_MAX]; /* the one line recorded for a failed run */
    ms_error err;
} job;

static void job_fail(job *j, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first failure: its exit code and message. Later failures are
 * logged by the caller but do not replace the first. */
static void job_fail(job *j, int code, const char *fmt, ...)
{
    va_list ap;
    char msg[MS_ERROR_MAX];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ms_log(MS_LOG_ERROR, "%s", msg);
    if (j->exit_code == EXIT_OK || (j->exit_code == EXIT_GATE && code == EXIT_FAILURE_RUN)) {
        j->exit_code = code;
        snprintf(j->failure, sizeof j->failure, "%s", msg);
    }
}

/* ---- data quality ----------------------------------------------------------- */

static int dq_add(warehouse *wh, const char *run_date, const char *game, const char *item,
                  uint64_t count, int *touched, ms_error *err)
{
    char n[24];
    const char *params[4] = {run_date, game, item, n};
    if (count == 0)
        return 0; /* a count of 0 is not written */
    snprintf(n, sizeof n, "%" PRIu64, count);
    *touched = 1;
    return wh_query(wh,
                    "INSERT INTO data_quality (run_date, game_id, item, count) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (run_date, game_id, item) DO UPDATE SET "
                    "count = data_quality.count + excluded.count",
                    "ttti", params, NULL, NULL, err) < 0
               ? -1
               : 0;
}

static int dq_store(job *j, const dq_counts *dq, int *touched)
{
    size_t g, r;
    for (g = 0; g <= j->cfg->n_games; g++) {
        const dq_counts *c = &dq[g];
        const char *game = g < j->cfg->n_games ? j->cfg->games[g].id : "_unknown";
        struct {
            const char *item;
            uint64_t n;
        } items[] = {
            {"lines_read", c->lines_read},
            {"events_accepted", c->events_accepted},
            {"duplicates", c->duplicates},
            {"unknown_event", c->unknown_event},
            {"corrupt_file", c->corrupt_file},
            {"implicit_registrations", c->implicit_registrations},
            {"refund_without_payment", c->refund_without_payment},
            {"sandbox_payments", c->sandbox_payments},
            {"fx_substitutions", c->fx_substitutions},
        };
        for (r = 0; r < MS_ARRAY_LEN(items); r++)
            if (dq_add(j->wh, j->run_date, game, items[r].item, items[r].n, touched, &j->err) != 0)
                return -1;
        for (r = 0; r < REJ_COUNT; r++) {
            char item[64];
            snprintf(item, sizeof item, "rejected:%s", reject_reason_name((reject_reason)r));
            if (dq_add(j->wh, j->run_date, game, item, c->rejected[r], touched, &j->err) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- stage 1: ingest and merge ----------------------------------------------- */

static int store_files(job *j, const ingest_result *res)
{
    size_t i;
    char now[21];
    ms_utc_now(now);
    for (i = 0; i < res->n_files; i++) {
        const ingested_file *f = &res->files[i];
        char size[24], sum[32], lines[24];
        const char *params[7] = {f->relpath, size, sum, lines, j->run_id, now,
                                 f->stat[0] ? f->stat : NULL};
        const char *del[1] = {f->relpath};
        snprintf(size, sizeof size, "%" PRIu64, f->size);
        snprintf(sum, sizeof sum, INGEST_CHECKSUM_PREFIX "%016" PRIx64, f->checksum);
        snprintf(lines, sizeof lines, "%" PRIu64, f->lines);
        if (wh_query(j->wh, "DELETE FROM quarantine WHERE file = $1", "t", del, NULL, NULL,
                     &j->err) < 0 ||
            wh_query(j->wh,
                     "INSERT INTO ingested_files (path, size, checksum, lines, run_id, ingested_at, "
                     "stat) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (path) DO UPDATE SET "
                     "size = excluded.size, checksum = excluded.checksum, lines = excluded.lines, "
                     "run_id = excluded.run_id, ingested_at = excluded.ingested_at, "
                     "stat = excluded.stat",
                     "tititt" "t", params, NULL, NULL, &j->err) < 0)
            return -1;
    }
    /* Unchanged files with a new stat id: only that is recorded (the row
     * keeps the run that ingested the content). */
    for (i = 0; i < res->n_restat; i++) {
        const char *params[2] = {res->restat[i].relpath, res->restat[i].stat};
        if (wh_query(j->wh, "UPDATE ingested_files SET stat = $2 WHERE path = $1", "tt", params,
                     NULL, NULL, &j->err) < 0)
            return -1;
    }
    for (i = 0; i < res->n_rejects; i++) {
        const rejected_line *r = &res->rejects[i];
        char line[24];
        const char *params[5];
        snprintf(line, sizeof line, "%" PRIu64, r->line);
        params[0] = res->files[r->file].relpath;
        params[1] = line;
        params[2] = reject_reason_name((reject_reason)r->reason);
        params[3] = r->game >= 0 ? j->cfg->games[r->game].id : "_unknown";
        params[4] = j->run_id;
        if (wh_query(j->wh,
                     "INSERT INTO quarantine (file, line, reason, game_id, run_id) VALUES "
                     "($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                     "titt" "t", params, NULL, NULL, &j->err) < 0)
            return -1;
    }
    return 0;
}

/* ---- parked indexes (load_order.h) ---------------------------------------------- */

/* j->n_parked: the indexes waiting in parked_indexes. */
static int parked_count(job *j)
{
    return parked_indexes_count(j->wh, &j->n_parked, &j->err);
}

/* Waits for the build of the parked indexes, logs it. Returns 0, or -1 with
 * j->err set (they stay parked). */
static int parked_join(job *j, index_builder *b, const char *why)
{
    ms_error err;
    if (index_builder_join(b, &err) != 0)
        return ms_error_set(&j->err, "building the secondary indexes %s: %s", why, err.msg);
    if (b->built) {
        ms_log(MS_LOG_INFO, "built %zu secondary indexes %s (%.2f s)", b->built, why, b->seconds);
        j->n_parked = 0;
    }
    return 0;
}

/* Builds the parked indexes, if any, on this thread. */
static int build_parked(job *j, const char *why)
{
    index_builder b;
    if (parked_count(j) != 0)
        return -1;
    if (j->n_parked == 0)
        return 0;
    index_builder_start(&b, j->wh, &j->wh_mu, 0);
    return parked_join(j, &b, why);
}

static int stage_ingest(job *j)
{
    ingest_result res;
    int touched = 0, rc = -1;
    size_t i;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ingest_run(j->cfg, j->wh, (const tz_zone *const *)j->zones, &res, &j->err) != 0) {
        job_fail(j, EXIT_FAILURE_RUN, "ingest failed: %s; fix the input tree and run again",
                 j->err.msg);
        ingest_result_free(&res);
        return -1;
    }
    for (i = 0; i < res.n_corrupt; i++)
        job_fail(j, EXIT_FAILURE_RUN,
                 "corrupt input file %s; not ingested, retried by the next run: replace it with "
                 "a complete copy",
                 res.corrupt[i]);
    for (i = 0; i < res.n_vanished; i++)
        ms_log(MS_LOG_WARN, "input file %s/%s was gone when its turn came (moved or removed "
               "during the run, or a dangling symbolic link); skipped: the run that finds it "
               "reads it", j->cfg->input_dir, res.vanished[i]);
    ms_log(MS_LOG_INFO, "read %zu files: %" PRIu64 " lines, %" PRIu64 " rejected (%.2f s)",
           res.n_files, res.lines_read, res.rejected, seconds_since(&t0));
    if (res.lines_read > 0 &&
        (double)res.rejected > j->cfg->max_reject_rate * (double)res.lines_read) {
        job_fail(j, EXIT_GATE,
                 "reject rate %.4f%% (%" PRIu64 " of %" PRIu64 " lines) is above max_reject_rate "
                 "%s: nothing was ingested; see the quarantine files, fix or remove the bad "
                 "input, or raise max_reject_rate",
                 100.0 * (double)res.rejected / (double)res.lines_read, res.rejected,
                 res.lines_read, j->cfg->max_reject_rate_text);
        ingest_result_free(&res);
        return -1;
    }
    /* Indexes a run left parked when it stopped after its facts: the merge
     * looks facts up by them. */
    if (build_parked(j, "an earlier run left parked") != 0)
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* the store's own time, not the read's again */
    if (wh_begin(j->wh, &j->err) != 0)
        goto fail;
    if (merge_facts(j->wh, j->cfg, (const tz_zone *const *)j->zones, &res.facts, res.dq,
                    &j->work, &j->err) != 0 ||
        store_files(j, &res) != 0 || dq_store(j, res.dq, &touched) != 0 ||
        (touched && export_mark_pending(j->wh, "data_quality", j->run_date, &j->err) != 0)) {
        wh_rollback(j->wh);
        goto fail;
    }
    if (wh_commit(j->wh, &j->err) != 0)
        goto fail;
    ms_log(MS_LOG_INFO, "stored the facts (%.2f s)", seconds_since(&t0));
    if (parked_count(j) != 0) {
        job_fail(j, EXIT_FAILURE_RUN, "reading the parked indexes failed: %s; the facts are "
                 "stored, the next run builds them: run again", j->err.msg);
        goto out;
    }
    rc = 0;
    goto out;
fail:
    job_fail(j, EXIT_FAILURE_RUN, "storing the facts failed: %s; nothing of this run was kept, "
             "run again", j->err.msg);
out:
    ingest_result_free(&res);
    return rc;
}

/* ---- stage 2: recompute dirty days ---------------------------------------------- */

/* Remembers a day whose figures cannot be converted: every partition that
 * needs it is held back (job_holds). */
static void remember_missing_day(job *j, int32_t day)
{
    if (j->n_missing == j->cap_missing) {
        size_t ncap = j->cap_missing ? j->cap_missing * 2 : 16;
        int32_t *p = realloc(j->missing_days, ncap * sizeof *p);
        if (!p)
            return; /* the run fails anyway (exit 3); holding back is best effort */
        j->missing_days = p;
        j->cap_missing = ncap;
    }
    j->missing_days[j->n_missing++] = day;
}

/* inputs.md section 4: a missing rate publishes no partition whose numbers
 * need it: the day's daily_kpi and revenue_by_currency, its day, week and
 * month revenue, the LTV cohorts whose window holds it. Partitions hold all
 * games, so another game's fresh rows of that day wait too. */
static int job_holds(void *ctx, const char *report, const char *partition)
{
    const job *j = ctx;
    int32_t p, start, end;
    size_t i;
    if (j->n_missing == 0 || day_parse(partition, strlen(partition), &p) != 0)
        return 0;
    for (i = 0; i < j->n_missing; i++) {
        int32_t d = j->missing_days[i];
        if ((strcmp(report, "daily_kpi") == 0 || strcmp(report, "revenue_by_currency") == 0) &&
            p == d)
            return 1;
        if (strcmp(report, "revenue") == 0) {
            if (p == d)
                return 1;
            period_bounds(PERIOD_WEEK, d, &start, &end);
            if (p == start)
                return 1;
            period_bounds(PERIOD_MONTH, d, &start, &end);
            if (p == start)
                return 1;
        }
        if (strcmp(report, "ltv") == 0 && p <= d && d - p < LTV_MAX_DAY)
            return 1;
    }
    return 0;
}

/* Reports a missing rate once per game-day-report and keeps the run's exit 3. */
static void report_missing_rate(job *j, const char *game, const char *what, int32_t day,
                                const day_status *st)
{
    remember_missing_day(j, st->missing_day);
    char date[11], missing[11];
    day_format(day, date);
    day_format(st->missing_day, missing);
    job_fail(j, EXIT_GATE,
             "no exchange rate for %s on %s (nor within %d days before): %s %s %s not "
             "published; add the rate document %s.json to fx_rates and run again",
             st->missing_currency, missing, FX_MAX_SUBSTITUTION_DAYS, game, what, date, missing);
}

/* One game's share of stage 2 (game_reports.h). A worker reads through its
 * own connection and writes through a split handle (warehouse_split.h), so
 * that the writes land, in game order, in the job's one transaction; with a
 * single worker, wh is the job's connection itself. */
typedef struct compute_task {
    warehouse *wh;            /* where the reports read and write */
    wh_split *split;          /* owned; NULL: wh is the job's connection */
    game_reports r;           /* the game, its results */
    int started;
    int failed;
} compute_task;

/* The number of compute workers: cfg->threads (0: the online CPUs), at
 * most one per game. */
static size_t worker_count(const config *cfg)
{
    size_t n = config_thread_count(cfg);
    if (cfg->n_games == 0)
        return 1;
    return n < cfg->n_games ? n : cfg->n_games;
}

/* The shared queue of the workers: tasks are taken in game order. */
typedef struct compute_pool {
    compute_task *tasks;
    size_t n_tasks, next;
    int stop;                 /* a task failed: take no more */
    pthread_mutex_t mu;
} compute_pool;

typedef struct compute_worker {
    compute_pool *pool;
    warehouse *reader;        /* NULL: the job's connection, no deferral */
} compute_worker;

static void pool_stop(compute_pool *p)
{
    if (pthread_mutex_lock(&p->mu) == 0) {
        p->stop = 1;
        pthread_mutex_unlock(&p->mu);
    }
}

static void *compute_worker_main(void *arg)
{
    compute_worker *w = arg;
    compute_pool *p = w->pool;
    for (;;) {
        compute_task *t = NULL;
        if (pthread_mutex_lock(&p->mu) != 0)
            return NULL; /* not with a default mutex; the job sees the task not done */
        if (!p->stop && p->next < p->n_tasks)
            t = &p->tasks[p->next++];
        pthread_mutex_unlock(&p->mu);
        if (!t)
            return NULL;
        t->started = 1;
        if (w->reader) {
            if (!(t->split = wh_split_new(w->reader))) {
                ms_error_set(&t->r.err, "out of memory");
                t->failed = 1;
                pool_stop(p);
                continue;
            }
            t->wh = wh_split_handle(t->split);
        }
        if (game_reports_compute(&t->r, t->wh) != 0) {
            t->failed = 1;
            pool_stop(p);
        }
    }
}

/* Runs the tasks on n workers: this thread and n - 1 more, each with a
 * connection of its own when n > 1. Adds the workers' warehouse work to the
 * job's. Returns 0, or -1 with j->err set when a worker could not be set
 * up (the tasks then report nothing). */
static int run_workers(job *j, compute_task *tasks, size_t n_tasks, size_t n)
{
    compute_pool pool = {tasks, n_tasks, 0, 0, PTHREAD_MUTEX_INITIALIZER};
    compute_worker *workers = calloc(n, sizeof *workers);
    pthread_t *threads = calloc(n, sizeof *threads);
    size_t started = 0, i;
    int rc = -1, e;

    if (!workers || !threads) {
        ms_error_set(&j->err, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        workers[i].pool = &pool;
        if (n > 1 && !(workers[i].reader = warehouse_open(j->cfg->warehouse, &j->err))) {
            ms_error_prefix(&j->err, "opening a compute worker's connection");
            goto out;
        }
    }
    for (started = 0; started + 1 < n; started++)
        if ((e = pthread_create(&threads[started], NULL, compute_worker_main, &workers[started + 1])) != 0) {
            ms_error_set(&j->err, "cannot start a compute worker (error %d)", e);
            pool_stop(&pool);
            break;
        }
    if (started + 1 == n) {
        compute_worker_main(&workers[0]);
        rc = 0;
    }
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
out:
    for (i = 0; workers && i < n; i++)
        if (workers[i].reader) {
            wh_work_add(&j->work, workers[i].reader);
            warehouse_close(workers[i].reader);
        }
    free(workers);
    free(threads);
    pthread_mutex_destroy(&pool.mu);
    return rc;
}

static void task_free(compute_task *t)
{
    wh_split_free(t->split);
    game_reports_free(&t->r);
}

static int stage_compute(job *j)
{
    size_t n_games = j->cfg->n_games, g, i, computed = 0, n_workers = worker_count(j->cfg);
    dq_counts *dq = calloc(n_games + 1, sizeof *dq);
    compute_task *tasks = calloc(n_games ? n_games : 1, sizeof *tasks);
    index_builder builder;
    int touched = 0, in_tx = 0, workers_rc, rc = -1;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!dq || !tasks) {
        ms_error_set(&j->err, "out of memory");
        goto fail;
    }
    for (g = 0; g < n_games; g++) {
        game_reports *r = &tasks[g].r;
        tasks[g].wh = j->wh;
        game_reports_init(r);
        r->game_id = j->cfg->games[g].id;
        r->reporting_currency = j->cfg->reporting_currency;
        r->last_day = j->game_date[g];
        r->backfill = j->opt->kind == JOB_BACKFILL;
        r->from = j->opt->from;
        r->to = j->opt->date;
        r->fx = j->fx;
    }
    /* A first load's parked indexes are built while the workers compute, on
     * the job's connection, which they do not use (one worker computes on
     * it: then before). */
    memset(&builder, 0, sizeof builder);
    if (j->n_parked > 0) {
        index_builder_start(&builder, j->wh, &j->wh_mu, n_workers > 1);
        if (!builder.started && parked_join(j, &builder, "of the first load") != 0)
            goto fail;
    }
    /* One worker writes on the job's connection as it goes: the transaction
     * opens first. Several keep their writes in split handles, and the
     * transaction opens only for the replay: the job's connection does not
     * sit idle in a transaction while they compute (a server's
     * idle_in_transaction_session_timeout would end it), and a connection
     * lost meanwhile is simply opened again. */
    if (n_workers == 1) {
        if (wh_begin(j->wh, &j->err) != 0)
            goto fail;
        in_tx = 1;
    }
    workers_rc = run_workers(j, tasks, n_games, n_workers);
    if (parked_join(j, &builder, "of the first load") != 0 || workers_rc != 0)
        goto rollback;
    if (!in_tx) {
        if (wh_begin(j->wh, &j->err) != 0)
            goto fail;
        in_tx = 1;
    }
    /* In game order, whatever the number of workers: the log lines, the
     * missing rates and the deferred writes. */
    for (g = 0; g < n_games; g++) {
        game_reports *t = &tasks[g].r;
        const char *line = t->warnings.data, *nl;
        if (!tasks[g].started)
            break; /* after a failure */
        while (line && (nl = strchr(line, '\n'))) {
            ms_log(MS_LOG_WARN, "%.*s", (int)(nl - line), line);
            line = nl + 1;
        }
        for (i = 0; i < t->n_missing; i++)
            report_missing_rate(j, j->cfg->games[g].id, t->missing[i].what, t->missing[i].day,
                                &t->missing[i].st);
        if (tasks[g].failed) {
            ms_error_set(&j->err, "%s", t->err.msg);
            goto rollback;
        }
        if (tasks[g].split && wh_split_replay(tasks[g].split, j->wh, &j->err) != 0)
            goto rollback;
        computed += t->computed;
        dq[g].fx_substitutions += t->fx_substitutions;
    }
    if (dq_store(j, dq, &touched) != 0 ||
        (touched && export_mark_pending(j->wh, "data_quality", j->run_date, &j->err) != 0))
        goto rollback;
    if (wh_commit(j->wh, &j->err) != 0)
        goto fail;
    ms_log(MS_LOG_INFO, "computed %zu game-days (%.2f s)", computed, seconds_since(&t0));
    rc = 0;
    goto out;
rollback:
    if (in_tx)
        wh_rollback(j->wh);
fail:
    job_fail(j, EXIT_FAILURE_RUN, "computing the reports failed: %s; the warehouse is unchanged "
             "by this step, run again", j->err.msg);
out:
    for (g = 0; tasks && g < n_games; g++)
        task_free(&tasks[g]);
    free(tasks);
    free(dq);
    return rc;
}

/* ---- stage 3: publish --------------------------------------------------------------- */

static void stage_publish(job *j)
{
    export_stats stats;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (publish_cleanup_staging(j->cfg->export_dir, &j->err) != 0 ||
        mkdir_p(j->cfg->export_dir, &j->err) != 0 ||
        export_publish_pending(j->wh, j->cfg->export_dir, j->run_id, j->cfg->reporting_currency,
                               job_holds, j, &stats, &j->err) != 0) {
        job_fail(j, EXIT_FAILURE_RUN, "publishing exports failed: %s; fix the export directory "
                 "and run again (unpublished partitions are kept pending)", j->err.msg);
        return;
    }
    ms_log(MS_LOG_INFO, "published %zu partitions, %zu already up to date, %zu held back (%.2f s)",
           stats.written, stats.unchanged, stats.held, seconds_since(&t0));
}

/* ---- the run record ---------------------------------------------------------------- */

static int record_start(job *j, const char *command)
{
    char now[21];
    const char *params[4] = {j->run_id, command, j->run_date, now};
    ms_utc_now(now);
    /* We hold the lock: a run still marked running died without a word. */
    if (wh_query(j->wh,
                 "UPDATE runs SET status = 'interrupted', finished_at = $4, message = 'the "
                 "process ended before recording its end (killed or power loss); this run "
                 "finished its work' WHERE status = 'running'",
                 "tttt", params, NULL, NULL, &j->err) < 0)
        return -1;
    return wh_query(j->wh,
                    "INSERT INTO runs (run_id, command, run_date, started_at, status) VALUES "
                    "($1, $2, $3, $4, 'running')",
                    "tttt", params, NULL, NULL, &j->err) < 0
               ? -1
               : 0;
}

static void record_end(job *j)
{
    char now[21], code[8];
    const char *params[5] = {j->run_id, now, j->exit_code ? "failed" : "ok", code,
                             j->exit_code ? j->failure : NULL};
    ms_error ignored;
    ms_utc_now(now);
    snprintf(code, sizeof code, "%d", j->exit_code);
    if (wh_query(j->wh,
                 "UPDATE runs SET finished_at = $2, status = $3, exit_code = $4, message = $5 "
                 "WHERE run_id = $1",
                 "tttit", params, NULL, NULL, &ignored) < 0)
        ms_log(MS_LOG_WARN, "could not record the run's end: %s", ignored.msg);
}

/* ---- set-up ------------------------------------------------------------------------- */

static int load_zones(job *j)
{
    size_t g;
    j->zones = calloc(j->cfg->n_games, sizeof *j->zones);
    j->game_date = calloc(j->cfg->n_games, sizeof *j->game_date);
    if (!j->zones || !j->game_date) {
        job_fail(j, EXIT_FAILURE_RUN, "out of memory");
        return -1;
    }
    for (g = 0; g < j->cfg->n_games; g++) {
        j->zones[g] = tz_zone_load(j->cfg->games[g].timezone, &j->err);
        if (!j->zones[g]) {
            job_fail(j, EXIT_USAGE, "game %s: %s", j->cfg->games[g].id, j->err.msg);
            return -1;
        }
    }
    return 0;
}

/* ---- exchange-rate documents kept in the warehouse ---------------------------- */

/* Documents fetched from a URL are stored in fx_documents so that a rerun
 * never needs the network for a day already fetched (fx_rates.h). */
typedef struct fx_doc_row {
    buf *body;
    int found;
} fx_doc_row;

static int fx_store_row(void *ctx, int ncols, const char *const *v)
{
    fx_doc_row *r = ctx;
    if (ncols < 1 || !v[0])
        return 0;
    r->found = 1;
    return buf_puts(r->body, v[0]) != 0 ? 1 : 0;
}

/* The store's calls come from the compute workers (under the fx table's
 * lock) while the job's connection may be building parked indexes: they
 * take their turn on it (j->wh_mu). */
static int fx_store_load(void *ctx, const char *date, buf *body, int *found, ms_error *err)
{
    job *j = ctx;
    const char *params[1] = {date};
    fx_doc_row r = {body, 0};
    int rc, e;
    if ((e = pthread_mutex_lock(&j->wh_mu)) != 0)
        return ms_error_set(err, "cannot take the warehouse connection's lock (error %d)", e);
    rc = wh_query(j->wh, "SELECT body FROM fx_documents WHERE date = $1", "t", params,
                  fx_store_row, &r, err);
    pthread_mutex_unlock(&j->wh_mu);
    if (rc == 1)
        return ms_error_set(err, "out of memory");
    *found = r.found;
    return rc < 0 ? -1 : 0;
}

static int fx_store_save(void *ctx, const char *date, const char *body, size_t len,
                         const char *source, ms_error *err)
{
    job *j = ctx;
    char now[21];
    const char *params[4] = {date, body, source, now}; /* body is NUL-terminated */
    int rc, e;
    (void)len;
    ms_utc_now(now);
    if ((e = pthread_mutex_lock(&j->wh_mu)) != 0)
        return ms_error_set(err, "cannot take the warehouse connection's lock (error %d)", e);
    rc = wh_query(j->wh,
                  "INSERT INTO fx_documents (date, body, source, fetched_at) VALUES "
                  "($1, $2, $3, $4) ON CONFLICT (date) DO NOTHING",
                  "tttt", params, NULL, NULL, err);
    pthread_mutex_unlock(&j->wh_mu);
    return rc < 0 ? -1 : 0;
}

/* The last day to compute per game, and the data_quality partition. */
static void choose_dates(job *j)
{
    size_t g;
    int32_t latest = INT32_MIN;
    for (g = 0; g < j->cfg->n_games; g++) {
        if (j->opt->kind == JOB_BACKFILL || j->opt->has_date)
            j->game_date[g] = j->opt->date;
        else
            j->game_date[g] = tz_today(j->zones[g], (int64_t)time(NULL)) - 1; /* yesterday */
        if (j->game_date[g] > latest)
            latest = j->game_date[g];
    }
    day_format(latest, j->run_date);
}

int job_run(const config *cfg, const job_options *opt)
{
    job j;
    size_t g;
    int e;
    struct timespec now;

    memset(&j, 0, sizeof j);
    if ((e = pthread_mutex_init(&j.wh_mu, NULL)) != 0) {
        ms_log(MS_LOG_ERROR, "cannot set up the warehouse connection's lock (error %d)", e);
        return EXIT_FAILURE_RUN;
    }
    j.cfg = cfg;
    j.opt = opt;
    clock_gettime(CLOCK_REALTIME, &now);
    {
        struct tm tm;
        char stamp[32];
        gmtime_r(&now.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(j.run_id, sizeof j.run_id, "%s-%ld-%03ld", stamp, (long)getpid(),
                 now.tv_nsec / 1000000);
    }
    if (load_zones(&j) != 0)
        goto out;
    choose_dates(&j);
    if (fetch_global_init(&j.err) != 0) {
        job_fail(&j, EXIT_FAILURE_RUN, "%s", j.err.msg);
        goto out;
    }
    j.fx = fx_table_new(cfg->fx_rates, cfg->reporting_currency, &j.err);
    if (!j.fx) {
        /* Only a bad template (no {date}, unknown scheme) fails here. */
        job_fail(&j, EXIT_USAGE, "fx_rates: %s", j.err.msg);
        goto out;
    }
    j.wh = warehouse_open(cfg->warehouse, &j.err);
    if (!j.wh || (j.wh->ops->set_threads &&
                  j.wh->ops->set_threads(j.wh->db, config_thread_count(cfg), &j.err) != 0)) {
        job_fail(&j, EXIT_FAILURE_RUN, "%s", j.err.msg);
        goto out;
    }
    {
        fx_store store = {&j, fx_store_load, fx_store_save};
        fetch_options fo;
        fetch_options_init(&fo);
        fo.retry_delay_ms = cfg->fx_retry_delay_ms;
        fx_table_set_fetch_options(j.fx, &fo);
        fx_table_set_store(j.fx, &store); /* copied */
    }
    switch (j.wh->ops->try_lock(j.wh->db, &j.err)) {
    case 1:
        break;
    case 0:
        /* Not recorded in the run table: the holder owns it right now. */
        ms_log(MS_LOG_ERROR, "another moonstat run holds the lock on %s; this run did nothing "
               "(exit 75), cron will try again", j.wh->display);
        j.exit_code = EXIT_LOCKED;
        goto out;
    default:
        job_fail(&j, EXIT_FAILURE_RUN, "%s", j.err.msg);
        goto out;
    }
    if (warehouse_migrate(j.wh, &j.err) != 0) {
        job_fail(&j, EXIT_FAILURE_RUN, "%s; check the warehouse's permissions and run again",
                 j.err.msg);
        goto out;
    }
    ms_log(MS_LOG_INFO, "%s %s: warehouse %s (schema %d), up to %s", opt->kind == JOB_RUN ? "run" : "backfill",
           j.run_id, j.wh->display, j.wh->schema_version, j.run_date);
    if (record_start(&j, opt->kind == JOB_RUN ? "run" : "backfill") != 0) {
        job_fail(&j, EXIT_FAILURE_RUN, "%s", j.err.msg);
        goto out;
    }
    /* Reports are computed only after this run's facts are stored: after a
     * failed read or store (nothing of the run kept) they would reach the
     * run's days without its data and publish them (operations.md: a failed
     * run publishes nothing for the days it failed on). What earlier runs
     * left pending is published either way; the next run computes the rest. */
    if (stage_ingest(&j) == 0)
        stage_compute(&j);
    stage_publish(&j);
    record_end(&j);
    wh_work_add(&j.work, j.wh);
    ms_log(MS_LOG_INFO,
           "warehouse work: %" PRIu64 " statements, %" PRIu64 " rows read, %" PRIu64 " steps",
           j.work.statements, j.work.rows, j.work.steps);
out:
    warehouse_close(j.wh);
    fx_table_free(j.fx);
    if (j.zones)
        for (g = 0; g < cfg->n_games; g++)
            tz_zone_free(j.zones[g]);
    free(j.zones);
    free(j.game_date);
    free(j.missing_days);
    pthread_mutex_destroy(&j.wh_mu);
    return j.exit_code;
}

/* ---- status ------------------------------------------------------------------------- */

static int print_row(void *ctx, int ncols, const char *const *v)
{
    int i;
    (void)ctx;
    for (i = 0; i < ncols; i++)
        printf("%s%s", i ? "  " : "  ", v[i] ? v[i] : "-");
    printf("\n");
    return 0;
}

int job_status(const config *cfg)
{
    ms_error err;
    warehouse *wh = warehouse_open(cfg->warehouse, &err);
    int rc = EXIT_FAILURE_RUN;
    if (!wh || warehouse_read_version(wh, &err) != 0) {
        ms_log(MS_LOG_ERROR, "%s", err.msg);
        warehouse_close(wh);
        return EXIT_FAILURE_RUN;
    }
    printf("warehouse %s, schema version %d\n", wh->display, wh->schema_version);
    printf("last runs (run_id  command  date  started  finished  status  exit  message):\n");
    if (wh_query(wh,
                 "SELECT run_id, command, run_date, started_at, finished_at, status, exit_code, "
                 "message FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 10",
                 "", NULL, print_row, NULL, &err) < 0)
        goto out;
    printf("processed up to (game  last day), dirty days waiting (game  count  first  last):\n");
    if (wh_query(wh,
                 "SELECT game_id, horizon FROM game_state ORDER BY game_id", "", NULL, print_row,
                 NULL, &err) < 0 ||
        wh_query(wh,
                 "SELECT game_id, count(*), min(day), max(day) FROM dirty_days GROUP BY game_id "
                 "ORDER BY game_id",
                 "", NULL, print_row, NULL, &err) < 0)
        goto out;
    printf("exports waiting to be published:\n");
    if (wh_query(wh, "SELECT report, partition FROM pending_exports ORDER BY report, partition",
                 "", NULL, print_row, NULL, &err) < 0)
        goto out;
    printf("files ingested: ");
    fflush(stdout);
    if (wh_query(wh, "SELECT count(*), max(ingested_at) FROM ingested_files", "", NULL, print_row,
                 NULL, &err) < 0)
        goto out;
    rc = EXIT_OK;
out:
    if (rc != EXIT_OK)
        ms_log(MS_LOG_ERROR, "status: %s", err.msg);
    warehouse_close(wh);
    return rc;
}
