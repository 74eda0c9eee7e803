/*
 * sqlite_checkpoint.c - the WAL copied into the database on a thread of its
 * own (sqlite_checkpoint.h).
 */
#include "sqlite_checkpoint.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_checkpointer {
    sqlite3 *db;              /* watched (borrowed): its commits ask for checkpoints */
    char *path;               /* the database file, for the second connection */
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* asked, stop, or a checkpoint finished (under mu) */
    pthread_t thread;
    int started;              /* the thread runs: join it */
    int broken;               /* no thread or no connection: the hook checkpoints inline */
    int asked;                /* a checkpoint is wanted */
    int running;              /* the thread is checkpointing */
    int stop;
    uint64_t n_background, n_inline;
};

/* The second connection: the same file, read-write (a checkpoint writes
 * the database), the same durability as the watched one. NULL if it
 * cannot be opened. */
static sqlite3 *open_second(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db); /* a NULL db is a no-op */
        return NULL;
    }
    /* Its own commits (none: it only checkpoints) must not checkpoint. */
    sqlite3_wal_autocheckpoint(db, 0);
    return db;
}

static void *checkpointer_main(void *arg)
{
    sqlite_checkpointer *c = arg;
    sqlite3 *db = open_second(c->path);

    ms_pthread_check(pthread_mutex_lock(&c->mu));
    if (!db)
        c->broken = 1; /* later commits checkpoint inline; this one's frames
                          wait for the next, or for the close */
    while (db && !c->stop) {
        if (!c->asked) {
            ms_pthread_check(pthread_cond_wait(&c->cv, &c->mu));
            continue;
        }
        c->asked = 0;
        c->running = 1;
        ms_pthread_check(pthread_mutex_unlock(&c->mu));
        /* PASSIVE never waits; SQLITE_BUSY (a reader or a checkpoint of
         * the close in the way) leaves frames for the next one. */
        (void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        ms_pthread_check(pthread_mutex_lock(&c->mu));
        c->running = 0;
        c->n_background++;
        ms_pthread_check(pthread_cond_broadcast(&c->cv));
    }
    ms_pthread_check(pthread_cond_broadcast(&c->cv)); /* drain waits no longer */
    ms_pthread_check(pthread_mutex_unlock(&c->mu));
    sqlite3_close(db);
    return NULL;
}

/* sqlite3_wal_hook: after each commit on the watched connection. */
static int on_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
    sqlite_checkpointer *c = arg;
    int inline_ = 0;

    if (frames < SQLITE_CHECKPOINT_FRAMES)
        return SQLITE_OK;
    ms_pthread_check(pthread_mutex_lock(&c->mu));
    if (!c->broken && !c->started) {
        if (pthread_create(&c->thread, NULL, checkpointer_main, c) == 0)
            c->started = 1;
        else
            c->broken = 1;
    }
    if (c->broken) {
        inline_ = 1;
        c->n_inline++;
    } else {
        c->asked = 1;
        ms_pthread_check(pthread_cond_broadcast(&c->cv));
    }
    ms_pthread_check(pthread_mutex_unlock(&c->mu));
    if (inline_)
        (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK; /* a checkpoint's failure is not the commit's */
}

sqlite_checkpointer *sqlite_checkpointer_new(sqlite3 *db, const char *path, ms_error *err)
{
    sqlite_checkpointer *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        ms_error_set(err, "out of memory");
        return NULL;
    }
    c->db = db;
    ms_pthread_check(pthread_mutex_init(&c->mu, NULL));
    ms_pthread_check(pthread_cond_init(&c->cv, NULL));
    sqlite3_wal_hook(db, on_commit, c); /* replaces the automatic checkpoint */
    return c;
}

void sqlite_checkpointer_drain(sqlite_checkpointer *c)
{
    ms_pthread_check(pthread_mutex_lock(&c->mu));
    while (c->started && !c->broken && !c->stop && (c->asked || c->running))
        ms_pthread_check(pthread_cond_wait(&c->cv, &c->mu));
    ms_pthread_check(pthread_mutex_unlock(&c->mu));
}

void sqlite_checkpointer_stats(sqlite_checkpointer *c, uint64_t *background, uint64_t *inline_)
{
    ms_pthread_check(pthread_mutex_lock(&c->mu));
    *background = c->n_background;
    *inline_ = c->n_inline;
    ms_pthread_check(pthread_mutex_unlock(&c->mu));
}

void sqlite_checkpointer_free(sqlite_checkpointer *c)
{
    if (!c)
        return;
    /* No more hook calls: the close's own checkpoint copies what is left. */
    sqlite3_wal_hook(c->db, NULL, NULL);
    ms_pthread_check(pthread_mutex_lock(&c->mu));
    c->stop = 1;
    ms_pthread_check(pthread_cond_broadcast(&c->cv));
    ms_pthread_check(pthread_mutex_unlock(&c->mu));
    if (c->started)
        ms_pthread_check(pthread_join(c->thread, NULL));
    ms_pthread_check(pthread_cond_destroy(&c->cv));
    ms_pthread_check(pthread_mutex_destroy(&c->mu));
    free(c->path);
    free(c);
}
