/*
 * activity_window.h - a game's account-days over a range of days, read once
 * and shared by the reports of one compute task.
 *
 * Why: when every account of a game is in memory (a first load, a
 * backfill: account_attrs.tallied), two reports walk the same account-days:
 * the first-actives pass (period_actives.h, in day order) and the retention
 * of every cohort (cohorts.h). Each read them with its own query and looked
 * every row's account up by its id text; on the 5M event bench that was two
 * scans of 1.74M rows and two hash lookups per row, 0.5-0.6 s of the largest
 * game's 2.1 s of reports. Here the rows are read once, in day order, as
 * (account index in the attrs, day), 8 bytes each.
 *
 * A window covers the days it was read for; a request it does not cover
 * reads it again for the new range (a report never gets fewer rows than its
 * own query would give). A row whose account is not in the attrs (the
 * accounts table lacks it: not expected, since every account-day comes with
 * its account) makes the window incomplete, and the reports then use their
 * own queries, which handle such accounts.
 *
 * Ownership: the window owns its rows; activity_window_free releases them.
 * One window per compute task (not shared between threads).
 */
#ifndef MOONSTAT_ACTIVITY_WINDOW_H
#define MOONSTAT_ACTIVITY_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "account_attrs.h"
#include "common.h"
#include "warehouse.h"

typedef struct account_day {
    uint32_t account;   /* index into the attrs' accounts */
    int32_t day;
} account_day;

typedef struct activity_window {
    account_day *rows; /* in day order */
    size_t n, cap;
    int32_t from, to;   /* the days read, when loaded */
    int loaded;
    int complete;       /* every row's account is in the attrs */
} activity_window;

void activity_window_init(activity_window *w);
void activity_window_free(activity_window *w);

/* Makes w hold the account-days of game_id on the days from .. to (and
 * maybe more), their accounts as indexes of attrs. Returns 1 when w covers
 * them and is complete, 0 when the caller should use its own query (w
 * NULL, attrs not tallied, or a row's account not in attrs), -1 with err
 * set on a warehouse or memory error. */
int activity_window_get(activity_window *w, warehouse *wh, const char *game_id,
                        const account_attrs *attrs, int32_t from, int32_t to, ms_error *err);

/* The index of w's first row on day `day` or later (w->n when none). */
size_t activity_window_first(const activity_window *w, int32_t day);

/* 1 when w (maybe NULL) holds every account-day of from .. to, as
 * activity_window_get returned 1 for a range that covers them. */
int activity_window_covers(const activity_window *w, int32_t from, int32_t to);

#endif
