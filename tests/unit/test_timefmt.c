/*
 * test_timefmt.c - civil dates, day/ts text forms, RFC 3339 strictness.
 */
#include <string.h>

#include "check.h"
#include "timefmt.h"

/* ts_parse_rfc3339 on a C string: the instant, or INT64_MIN when rejected. */
static int64_t ts(const char *s)
{
    int64_t ms = 0;
    if (ts_parse_rfc3339(s, strlen(s), &ms) != 0)
        return INT64_MIN;
    return ms;
}

static int32_t day(const char *s)
{
    int32_t d = 0;
    if (day_parse(s, strlen(s), &d) != 0)
        return INT32_MIN;
    return d;
}

static void test_civil(void)
{
    CHECK_INT(days_from_civil(1970, 1, 1), 0);
    CHECK_INT(days_from_civil(1969, 12, 31), -1);
    CHECK_INT(days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(days_from_civil(2026, 11, 25), 20782);
    CHECK_INT(days_from_civil(0, 1, 1), -719528);
    CHECK_INT(days_from_civil(9999, 12, 31), 2932896);
    CHECK_INT(days_from_civil(1600, 2, 29), -135081);

    /* Round trip over a wide range, including negative years and eras. */
    int ok = 1;
    for (int32_t z = -800000; z <= 3000000; z += 7) {
        int y;
        unsigned m, d;
        civil_from_days(z, &y, &m, &d);
        if (days_from_civil(y, m, d) != z || m < 1 || m > 12 || d < 1 || d > 31)
            ok = 0;
    }
    CHECK(ok);
    int y;
    unsigned m, d;
    civil_from_days(-1, &y, &m, &d);
    CHECK_INT(y, 1969);
    CHECK_INT(m, 12);
    CHECK_INT(d, 31);
    civil_from_days(20782, &y, &m, &d);
    CHECK_INT(y, 2026);
    CHECK_INT(m, 11);
    CHECK_INT(d, 25);
}

static void test_day_text(void)
{
    char out[11];
    CHECK_INT(day("1970-01-01"), 0);
    CHECK_INT(day("2026-11-25"), 20782);
    CHECK_INT(day("2024-02-29"), days_from_civil(2024, 2, 29));
    CHECK_INT(day("2000-02-29"), days_from_civil(2000, 2, 29));
    CHECK_INT(day("2026-02-29"), INT32_MIN);
    CHECK_INT(day("1900-02-29"), INT32_MIN);
    CHECK_INT(day("2026-04-31"), INT32_MIN);
    CHECK_INT(day("2026-13-01"), INT32_MIN);
    CHECK_INT(day("2026-00-10"), INT32_MIN);
    CHECK_INT(day("2026-01-00"), INT32_MIN);
    CHECK_INT(day("2026-1-01"), INT32_MIN);
    CHECK_INT(day("2026-01-011"), INT32_MIN);
    CHECK_INT(day("2026/01/01"), INT32_MIN);
    CHECK_INT(day("+026-01-01"), INT32_MIN);
    CHECK_INT(day(""), INT32_MIN);

    day_format(0, out);
    CHECK_STR(out, "1970-01-01");
    day_format(-1, out);
    CHECK_STR(out, "1969-12-31");
    day_format(20782, out);
    CHECK_STR(out, "2026-11-25");
    day_format(days_from_civil(2024, 2, 29), out);
    CHECK_STR(out, "2024-02-29");
    day_format(-719528, out);
    CHECK_STR(out, "0000-01-01");
    day_format(2932896, out);
    CHECK_STR(out, "9999-12-31");
    /* Outside the printable years the text saturates. */
    day_format(-800000, out);
    CHECK_STR(out, "0000-01-01");
    day_format(INT32_MAX, out);
    CHECK_STR(out, "9999-12-31");

    CHECK_INT(day_iso_weekday(0), 4);                       /* Thursday */
    CHECK_INT(day_iso_weekday(-1), 3);                      /* Wednesday */
    CHECK_INT(day_iso_weekday(day("2026-11-23")), 1);       /* Monday */
    CHECK_INT(day_iso_weekday(day("2026-11-29")), 7);       /* Sunday */
    CHECK_INT(day_iso_weekday(day("1969-12-29")), 1);
    CHECK_INT(day_iso_weekday(day("0000-01-01")), 6);       /* Saturday (proleptic) */
}

static void test_floor_div(void)
{
    CHECK_INT(floor_div64(7, 2), 3);
    CHECK_INT(floor_div64(-7, 2), -4);
    CHECK_INT(floor_div64(-8, 2), -4);
    CHECK_INT(floor_div64(7, -2), -4);
    CHECK_INT(floor_div64(-7, -2), 3);
    CHECK_INT(floor_div64(0, 5), 0);
    CHECK_INT(floor_div64(-1, 86400000), -1);
}

static void test_ts_parse(void)
{
    const int64_t base = INT64_C(1795611662000); /* 2026-11-25T13:01:02Z */

    CHECK_INT(ts("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(ts("2026-11-25T13:01:02Z"), base);
    CHECK_INT(ts("2026-11-25T13:01:02.123Z"), base + 123);
    CHECK_INT(ts("2026-11-25T22:01:02.123+09:00"), base + 123);
    CHECK_INT(ts("2026-11-25T05:01:02-08:00"), base);
    CHECK_INT(ts("2026-11-25T13:01:02+00:00"), base);
    CHECK_INT(ts("2026-11-25T13:01:02-00:00"), base);
    CHECK_INT(ts("2026-11-25T18:31:02+05:30"), base);
    CHECK_INT(ts("2026-11-26T12:00:02+22:59"), base);
    CHECK_INT(ts("2026-11-25T13:01:02.1Z"), base + 100);
    CHECK_INT(ts("2026-11-25T13:01:02.12Z"), base + 120);
    CHECK_INT(ts("2026-11-25T13:01:02.000Z"), base);
    /* Beyond milliseconds: truncated, i.e. floor of the instant. */
    CHECK_INT(ts("2026-11-25T13:01:02.1234567Z"), base + 123);
    CHECK_INT(ts("2026-11-25T13:01:02.9999999Z"), base + 999);
    CHECK_INT(ts("1969-12-31T23:59:59.9999Z"), -1);
    CHECK_INT(ts("1969-12-31T23:59:59.0001Z"), -1000);
    CHECK_INT(ts("2026-11-25T13:01:02.12345678901234567890Z"), base + 123);
    /* Leap days. */
    CHECK_INT(ts("2024-02-29T00:00:00Z"), (int64_t)days_from_civil(2024, 2, 29) * 86400000);
    CHECK_INT(ts("2000-02-29T12:00:00Z"), (int64_t)days_from_civil(2000, 2, 29) * 86400000 + 43200000);
    CHECK_INT(ts("2026-02-29T00:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2100-02-29T00:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-02-28T23:59:59Z"), (int64_t)days_from_civil(2026, 3, 1) * 86400000 - 1000);
    CHECK_INT(ts("0000-01-01T00:00:00Z"), INT64_C(-62167219200000));
    CHECK_INT(ts("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));

    /* Rejected forms. */
    CHECK_INT(ts("2026-13-01T00:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-00-01T00:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-31T00:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-00T00:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-01 10:00:00"), INT64_MIN);
    CHECK_INT(ts("2026-11-01 10:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-03T10:00:00"), INT64_MIN);
    CHECK_INT(ts("2026-11-03T10:00:00.123"), INT64_MIN);
    CHECK_INT(ts("2026-11-04T25:10:00+09:00"), INT64_MIN);
    CHECK_INT(ts("2026-11-04T24:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-04T99:00:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-04T10:60:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-04T10:00:60Z"), INT64_MIN);
    CHECK_INT(ts("2016-12-31T23:59:60Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25t13:01:02Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25t13:01:02z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02+24:00"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02-24:00"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02+09:60"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02+0900"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02+09"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02+9:00"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02+09:00Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02Z "), INT64_MIN);
    CHECK_INT(ts(" 2026-11-25T13:01:02Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02.Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01:02,123Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T13:01Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25T1:01:02Z"), INT64_MIN);
    CHECK_INT(ts("26-11-25T13:01:02Z"), INT64_MIN);
    CHECK_INT(ts("2026-11-25"), INT64_MIN);
    CHECK_INT(ts("1761800000000"), INT64_MIN);
    CHECK_INT(ts("yesterday"), INT64_MIN);
    CHECK_INT(ts(""), INT64_MIN);

    /* The length is honoured: no reading past n, no NUL needed. */
    int64_t ms = 0;
    CHECK_INT(ts_parse_rfc3339("2026-11-25T13:01:02Zjunk", 20, &ms), 0);
    CHECK_INT(ms, base);
    CHECK_INT(ts_parse_rfc3339("2026-11-25T13:01:02Z", 19, &ms), -1);
    CHECK_INT(ts_parse_rfc3339("2026-11-25T13:01:02+09:00", 24, &ms), -1);
    CHECK_INT(ts_parse_rfc3339("2026-11-25T13:01:02Z\0", 21, &ms), -1);
}

static void test_ts_format(void)
{
    char out[25];
    ts_format_utc_ms(0, out);
    CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    ts_format_utc_ms(INT64_C(1795611662123), out);
    CHECK_STR(out, "2026-11-25T13:01:02.123Z");
    ts_format_utc_ms(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
    ts_format_utc_ms(INT64_C(253402300799999), out);
    CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    ts_format_utc_ms(INT64_C(-62167219200000), out);
    CHECK_STR(out, "0000-01-01T00:00:00.000Z");
    ts_format_utc_ms(INT64_MAX, out);
    CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    ts_format_utc_ms(INT64_MIN, out);
    CHECK_STR(out, "0000-01-01T00:00:00.000Z");

    /* Parse and format agree. */
    int64_t ms = 0;
    const char *s = "2024-02-29T23:59:59.999Z";
    CHECK_INT(ts_parse_rfc3339(s, strlen(s), &ms), 0);
    ts_format_utc_ms(ms, out);
    CHECK_STR(out, s);
}

int main(void)
{
    test_civil();
    test_day_text();
    test_floor_div();
    test_ts_parse();
    test_ts_format();
    return check_done("test_timefmt");
}
