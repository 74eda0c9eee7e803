/*
 * test_tz.c - the day-start tables of tz_zone_load against a reference.
 *
 * The reference is the first algorithm tz.c had: mktime of each local
 * midnight, verified as the first second of the day, else a bisection for
 * the first second whose local day is the day. The tables are built by a
 * faster route now (the previous day's offset, verified), and every report
 * depends on them, so every day of 1970-2099 must match in zones with the
 * awkward cases: DST at midnight (America/Havana, America/Sao_Paulo in
 * its DST years, Asia/Beirut), a skipped calendar day (Pacific/Apia,
 * 2011-12-30), half-hour DST (Australia/Lord_Howe), quarter-hour offsets
 * (Asia/Kathmandu), offsets beyond 12 hours (Pacific/Kiritimati), double
 * summer time (Europe/London in the 1940s lies before 1970; Antarctica/Troll
 * has +2 summer time), and the games' own zones.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "timefmt.h"
#include "tz.h"

#define DAYS 47482 /* 1970-01-01 .. 2099-12-31 */

static int32_t local_day(time_t t)
{
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return INT32_MIN;
    return days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

static int64_t reference_start(int32_t day)
{
    int y;
    unsigned m, d;
    struct tm tm;
    time_t t;
    int64_t lo, hi;

    civil_from_days(day, &y, &m, &d);
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = (int)m - 1;
    tm.tm_mday = (int)d;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t != (time_t)-1 && local_day(t) == day && local_day(t - 1) == day - 1)
        return (int64_t)t;
    lo = (int64_t)day * 86400 - 26 * 3600;
    hi = (int64_t)day * 86400 + 26 * 3600;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (local_day((time_t)mid) >= day)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void check_zone(const char *name)
{
    ms_error err;
    tz_zone *z;
    int32_t day, mismatches = 0, first_bad = -1;

    memset(&err, 0, sizeof err);
    z = tz_zone_load(name, &err);
    CHECK(z != NULL);
    if (!z) {
        printf("  %s: %s\n", name, err.msg);
        return;
    }
    setenv("TZ", name, 1);
    tzset();
    for (day = 0; day <= DAYS; day++)
        if (tz_day_start(z, day) != reference_start(day)) {
            if (first_bad < 0)
                first_bad = day;
            mismatches++;
        }
    unsetenv("TZ");
    tzset();
    if (mismatches)
        printf("  %s: %d days differ, the first is day %d\n", name, (int)mismatches,
               (int)first_bad);
    CHECK_INT(mismatches, 0);
    tz_zone_free(z);
}

int main(void)
{
    static const char *const zones[] = {
        "UTC", "Asia/Tokyo", "America/Los_Angeles", "Asia/Taipei", "Asia/Hong_Kong",
        "America/Havana", "America/Sao_Paulo", "Asia/Beirut", "Pacific/Apia",
        "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Kiritimati", "Antarctica/Troll",
        "Europe/London", "America/St_Johns",
    };
    size_t i;
    for (i = 0; i < sizeof zones / sizeof zones[0]; i++)
        check_zone(zones[i]);
    /* Pacific/Apia skipped 2011-12-30: that day starts where 12-31 does. */
    {
        ms_error err;
        tz_zone *z;
        memset(&err, 0, sizeof err);
        z = tz_zone_load("Pacific/Apia", &err);
        CHECK(z != NULL);
        if (z) {
            CHECK_INT(tz_day_start(z, days_from_civil(2011, 12, 30)),
                      tz_day_start(z, days_from_civil(2011, 12, 31)));
            CHECK_INT(tz_local_day(z, tz_day_start(z, days_from_civil(2011, 12, 31)) * 1000),
                      days_from_civil(2011, 12, 31));
            tz_zone_free(z);
        }
    }
    return check_done("test_tz");
}
