/*
 * job.h - the nightly job and its relatives (operations.md "Command line").
 *
 * `run` does, in order, as one job: take the warehouse lock (exit 75 if
 * another run holds it), publish what a killed run left unpublished, ingest
 * every new or changed input file, fold the facts into the warehouse with
 * the files, quarantine and data-quality counts (one transaction), recompute
 * every dirty day up to --date (another transaction; days after --date stay
 * dirty, held back), publish the changed partitions, record the run.
 * `backfill` is the same job with every day of --from..--to recomputed.
 *
 * Exit codes (returned, never exit()ed here): 0 success or nothing to do,
 * 1 failure, 2 usage/configuration, 3 data-quality gate (reject rate above
 * max_reject_rate, or a required exchange rate missing), 75 locked.
 */
#ifndef MOONSTAT_JOB_H
#define MOONSTAT_JOB_H

#include <stdint.h>

#include "config.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUN = 1,
    EXIT_USAGE = 2,
    EXIT_GATE = 3,
    EXIT_LOCKED = 75
};

typedef enum job_kind { JOB_RUN, JOB_BACKFILL } job_kind;

typedef struct job_options {
    job_kind kind;
    int has_date;          /* run: --date given */
    int32_t date;          /* run: --date; backfill: --to */
    int32_t from;          /* backfill: --from */
} job_options;

/* Runs the job; returns the exit code. Logs on stderr. */
int job_run(const config *cfg, const job_options *opt);

/* `status`: last runs, horizons, dirty days, pending exports, on stdout. */
int job_status(const config *cfg);

#endif
