/*
 * index_builder.h - builds a warehouse's parked secondary indexes
 * (load_order.h) on a thread of its own, or on the caller's.
 *
 * Why: a first load parks the secondary indexes of its big tables instead
 * of building them inside the facts' transaction, where one core built
 * them while the other sat idle (2.9 s of a 5M first load). The job builds
 * them while its compute workers read through their own connections; the
 * first load's reports need none of those indexes.
 *
 * Threads: the build runs on the given connection, which must have no
 * transaction open, and holds `mu` for its whole length; whoever else uses
 * that connection meanwhile takes `mu` too (the job's exchange-rate store).
 * Nothing is printed: the caller logs `built` and `seconds`.
 *
 * Ownership: the builder borrows wh and mu until index_builder_join;
 * nothing to free.
 */
#ifndef MOONSTAT_INDEX_BUILDER_H
#define MOONSTAT_INDEX_BUILDER_H

#include <pthread.h>
#include <stddef.h>

#include "common.h"
#include "warehouse.h"

typedef struct index_builder {
    warehouse *wh;            /* borrowed */
    pthread_mutex_t *mu;      /* borrowed: held for the whole build */
    pthread_t thread;
    int started;              /* on a thread, until index_builder_join */
    int failed;
    size_t built;             /* indexes made */
    double seconds;           /* the build's wall time */
    ms_error err;
} index_builder;

/* Starts building the parked indexes of wh: on a new thread when on_thread
 * (on the caller's when none can be started), else on the caller's before
 * it returns. */
void index_builder_start(index_builder *b, warehouse *wh, pthread_mutex_t *mu, int on_thread);

/* Waits for the build. Returns 0 (b->built and b->seconds tell what it
 * did), or -1 with err set: the indexes stay parked, for the next run. */
int index_builder_join(index_builder *b, ms_error *err);

#endif
