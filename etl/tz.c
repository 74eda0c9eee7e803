/*
 * tz.c - local days from the system time-zone database (see tz.h).
 */
#include "tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"

#define TZ_FIRST_DAY 0      /* 1970-01-01 */
#define TZ_DAYS 47482       /* through 2099-12-31 */

struct tz_zone {
    int64_t *start;         /* start[i]: first epoch second of day TZ_FIRST_DAY + i; TZ_DAYS + 1 entries */
};

/* The local day of epoch second t in the zone currently set by TZ. */
static int32_t local_day_now_tz(time_t t)
{
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return INT32_MIN;
    return days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

/* First second t with local_day(t) >= day, by bisection over a window that
 * surely contains it (UTC offsets are within +-26 hours). */
static int64_t day_start_search(int32_t day)
{
    int64_t lo = (int64_t)day * 86400 - 26 * 3600;
    int64_t hi = (int64_t)day * 86400 + 26 * 3600;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (local_day_now_tz((time_t)mid) >= day)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The start of a day is almost always its UTC midnight minus the UTC
 * offset the previous day started with (offsets change a few times a year):
 * that guess is verified with two localtime_r calls, and the bisection
 * handles the days around a change and those whose midnight is skipped or
 * repeated. (mktime would do, but glibc's re-reads TZ on every call: 47,000
 * days x 3 zones of that was a tenth of a nightly run.) *offset is the
 * offset to guess with; it is updated to the offset at the day's start. */
static int64_t day_start_compute(int32_t day, long *offset)
{
    int64_t t = (int64_t)day * 86400 - *offset;
    struct tm tm;
    time_t tt = (time_t)t;

    if (!(localtime_r(&tt, &tm) &&
          days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) ==
              day &&
          local_day_now_tz((time_t)(t - 1)) == day - 1)) {
        t = day_start_search(day);
        tt = (time_t)t;
        if (!localtime_r(&tt, &tm))
            return t;
    }
    *offset = tm.tm_gmtoff;
    return t;
}

tz_zone *tz_zone_load(const char *name, ms_error *err)
{
    tz_zone *z = NULL;
    char *saved = NULL;
    const char *old = getenv("TZ");
    char path[512];
    int had_tz = old != NULL;
    int32_t i;

    if (!name || !*name || strstr(name, "..") || name[0] == '/') {
        ms_error_set(err, "time zone \"%s\" is not a valid IANA name", name ? name : "");
        return NULL;
    }
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    if (strcmp(name, "UTC") != 0 && access(path, R_OK) != 0) {
        ms_error_set(err, "time zone \"%s\" not found in /usr/share/zoneinfo (install tzdata)", name);
        return NULL;
    }
    if (had_tz && !(saved = strdup(old))) {
        ms_error_set(err, "out of memory");
        return NULL;
    }
    z = calloc(1, sizeof *z);
    if (!z || !(z->start = malloc(sizeof(int64_t) * (TZ_DAYS + 1)))) {
        ms_error_set(err, "out of memory loading time zone %s", name);
        goto fail;
    }
    if (setenv("TZ", name, 1) != 0) {
        ms_error_set(err, "setenv TZ: %s", strerror(errno));
        goto fail;
    }
    tzset();
    {
        long offset = 0;
        z->start[0] = day_start_search(TZ_FIRST_DAY);
        {
            time_t t0 = (time_t)z->start[0];
            struct tm tm;
            if (localtime_r(&t0, &tm))
                offset = tm.tm_gmtoff;
        }
        for (i = 1; i <= TZ_DAYS; i++)
            z->start[i] = day_start_compute(TZ_FIRST_DAY + i, &offset);
    }
    goto done;

fail:
    if (z)
        free(z->start);
    free(z);
    z = NULL;
done:
    if (had_tz)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    return z;
}

void tz_zone_free(tz_zone *z)
{
    if (!z)
        return;
    free(z->start);
    free(z);
}

int32_t tz_local_day(const tz_zone *z, int64_t epoch_ms)
{
    int64_t t = floor_div64(epoch_ms, 1000);
    int64_t i;

    if (t < z->start[0]) {
        /* Before the table: the offset of its first day. */
        int64_t off = z->start[0] - (int64_t)TZ_FIRST_DAY * 86400;
        return (int32_t)floor_div64(t - off, 86400);
    }
    if (t >= z->start[TZ_DAYS]) {
        int64_t off = z->start[TZ_DAYS] - (int64_t)(TZ_FIRST_DAY + TZ_DAYS) * 86400;
        return (int32_t)floor_div64(t - off, 86400);
    }
    /* The UTC day is within one day of the local day. */
    i = floor_div64(t, 86400) - TZ_FIRST_DAY;
    if (i > TZ_DAYS - 1)
        i = TZ_DAYS - 1;
    if (i < 0)
        i = 0;
    while (i > 0 && t < z->start[i])
        i--;
    while (i < TZ_DAYS - 1 && t >= z->start[i + 1])
        i++;
    return (int32_t)(i + TZ_FIRST_DAY);
}

int64_t tz_day_start(const tz_zone *z, int32_t day)
{
    int64_t i = (int64_t)day - TZ_FIRST_DAY;
    if (i < 0)
        return z->start[0] + i * 86400;
    if (i > TZ_DAYS)
        return z->start[TZ_DAYS] + (i - TZ_DAYS) * 86400;
    return z->start[i];
}

int32_t tz_today(const tz_zone *z, int64_t now_s)
{
    return tz_local_day(z, now_s * 1000);
}
