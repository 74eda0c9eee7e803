/*
 * index_builder.c - the parked indexes built on a thread (see
 * index_builder.h).
 */
#include "index_builder.h"

#include <string.h>
#include <time.h>

#include "load_order.h"

static void *index_builder_main(void *arg)
{
    index_builder *b = arg;
    struct timespec t0, t1;
    int e;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((e = pthread_mutex_lock(b->mu)) != 0) {
        ms_error_set(&b->err, "cannot take the warehouse connection's lock (error %d)", e);
        b->failed = 1;
        return NULL;
    }
    b->failed = parked_indexes_build(b->wh, &b->built, &b->err) != 0;
    pthread_mutex_unlock(b->mu);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    b->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return NULL;
}

void index_builder_start(index_builder *b, warehouse *wh, pthread_mutex_t *mu, int on_thread)
{
    memset(b, 0, sizeof *b);
    b->wh = wh;
    b->mu = mu;
    if (on_thread && pthread_create(&b->thread, NULL, index_builder_main, b) == 0)
        b->started = 1;
    else
        index_builder_main(b);
}

int index_builder_join(index_builder *b, ms_error *err)
{
    if (b->started)
        pthread_join(b->thread, NULL);
    b->started = 0;
    if (b->failed)
        return ms_error_set(err, "%s", b->err.msg);
    return 0;
}
