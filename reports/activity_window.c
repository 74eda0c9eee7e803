/*
 * activity_window.c - a game's account-days read once per compute task (see
 * activity_window.h).
 */
#include "activity_window.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void activity_window_init(activity_window *w)
{
    memset(w, 0, sizeof *w);
}

void activity_window_free(activity_window *w)
{
    free(w->rows);
    memset(w, 0, sizeof *w);
}

typedef struct window_load {
    activity_window *w;
    const account_attrs *attrs;
    ms_error *err;
    uint32_t near; /* account_attrs_find_near's hint */
} window_load;

/* Row: account_id, day (ORDER BY day, account_id: a day's accounts in the
 * order account_attrs read them, see account_attrs_find_near) */
static int read_row(void *ctx, int ncols, const char *const *v)
{
    window_load *l = ctx;
    activity_window *w = l->w;
    const account_attr *a;
    account_day *grown;
    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    if (!(a = account_attrs_find_near(l->attrs, v[0], &l->near))) {
        w->complete = 0;
        return 1; /* stop: the reports use their own queries */
    }
    if (!(grown = ms_grow(w->rows, &w->cap, w->n + 1, sizeof *grown, 65536)))
        return ms_error_set(l->err, "out of memory");
    w->rows = grown;
    grown[w->n].account = (uint32_t)(a - l->attrs->attr);
    grown[w->n].day = (int32_t)strtol(v[1], NULL, 10);
    w->n++;
    return 0;
}

int activity_window_get(activity_window *w, warehouse *wh, const char *game_id,
                        const account_attrs *attrs, int32_t from, int32_t to, ms_error *err)
{
    char from_s[24], to_s[24];
    const char *params[3] = {game_id, from_s, to_s};
    window_load l = {w, attrs, err, 0};
    int rc;

    if (!w || !attrs || !attrs->tallied)
        return 0;
    if (w->loaded && w->from <= from && w->to >= to)
        return w->complete;
    w->n = 0;
    w->loaded = 0;
    w->complete = 1;
    snprintf(from_s, sizeof from_s, "%" PRId32, from);
    snprintf(to_s, sizeof to_s, "%" PRId32, to);
    rc = wh_query(wh, "SELECT account_id, day FROM activity WHERE game_id = $1 AND day >= $2 AND "
                      "day <= $3 ORDER BY day, account_id",
                  "tii", params, read_row, &l, err);
    if (rc < 0)
        return -1;
    w->from = from;
    w->to = to;
    w->loaded = 1;
    if (!w->complete)
        w->n = 0;
    return w->complete;
}

int activity_window_covers(const activity_window *w, int32_t from, int32_t to)
{
    return w && w->loaded && w->complete && w->from <= from && w->to >= to;
}

size_t activity_window_first(const activity_window *w, int32_t day)
{
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->rows[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
