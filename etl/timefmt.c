/*
 * timefmt.c - civil dates (Howard Hinnant's algorithms, proleptic Gregorian)
 * and the strict RFC 3339 subset of inputs.md.
 */
#include "timefmt.h"

#define MS_PER_DAY INT64_C(86400000)

/* The printable range of the text formats: 0000-01-01 .. 9999-12-31. */
#define DAY_MIN INT32_C(-719528)  /* 0000-01-01 */
#define DAY_MAX INT32_C(2932896)  /* 9999-12-31 */

int64_t floor_div64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int32_t days_from_civil(int y, unsigned m, unsigned d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return (int32_t)(era * 146097 + doe - 719468);
}

void civil_from_days(int32_t z32, int *y, unsigned *m, unsigned *d)
{
    int64_t z = (int64_t)z32 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                        /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* [0, 399] */
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                      /* [0, 11] */
    unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (mm <= 2));
    *m = mm;
    *d = dd;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && is_leap(y))
        return 29;
    return dim[m - 1];
}

/* Reads exactly `count` ASCII digits at s into *out; 0 or -1. */
static int read_digits(const char *s, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses "YYYY-MM-DD" at s (10 bytes available) into a day number. */
static int parse_date10(const char *s, int32_t *day)
{
    int y, mo, d;
    if (read_digits(s, 4, &y) || s[4] != '-' || read_digits(s + 5, 2, &mo) || s[7] != '-' ||
        read_digits(s + 8, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
        return -1;
    *day = days_from_civil(y, (unsigned)mo, (unsigned)d);
    return 0;
}

int day_parse(const char *s, size_t n, int32_t *day)
{
    if (s == NULL || n != 10)
        return -1;
    return parse_date10(s, day);
}

static void put_digits(char *out, unsigned v, int count)
{
    for (int i = count - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void day_format(int32_t day, char out[11])
{
    int y;
    unsigned m, d;
    if (day < DAY_MIN)
        day = DAY_MIN;
    if (day > DAY_MAX)
        day = DAY_MAX;
    civil_from_days(day, &y, &m, &d);
    put_digits(out, (unsigned)y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = '\0';
}

int day_iso_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t r = ((int64_t)day + 3) % 7;
    if (r < 0)
        r += 7;
    return (int)r + 1;
}

int ts_parse_rfc3339(const char *s, size_t n, int64_t *epoch_ms)
{
    int32_t day;
    int hh, mi, ss, frac_ms = 0, oh = 0, om = 0, sign = 0;
    size_t i;

    /* YYYY-MM-DDTHH:MM:SS is 19 bytes, the shortest suffix "Z" one more. */
    if (s == NULL || n < 20)
        return -1;
    if (parse_date10(s, &day) || s[10] != 'T')
        return -1;
    if (read_digits(s + 11, 2, &hh) || s[13] != ':' || read_digits(s + 14, 2, &mi) ||
        s[16] != ':' || read_digits(s + 17, 2, &ss))
        return -1;
    if (hh > 23 || mi > 59 || ss > 59)
        return -1;
    i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            /* Milliseconds from the first three digits; the rest is
             * dropped, which is floor because the fraction is added. */
            if (i - start < 3)
                frac_ms = frac_ms * 10 + (s[i] - '0');
            i++;
        }
        if (i == start)
            return -1;
        for (size_t k = i - start; k < 3; k++)
            frac_ms *= 10;
    }
    if (i >= n)
        return -1;
    if (s[i] == 'Z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        sign = s[i] == '+' ? 1 : -1;
        if (n - i != 6)
            return -1;
        if (read_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || read_digits(s + i + 4, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;

    int64_t ms = (int64_t)day * MS_PER_DAY + (int64_t)hh * 3600000 + (int64_t)mi * 60000 +
                 (int64_t)ss * 1000 + frac_ms;
    ms -= (int64_t)sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000);
    *epoch_ms = ms;
    return 0;
}

void ts_format_utc_ms(int64_t epoch_ms, char out[25])
{
    const int64_t lo = (int64_t)DAY_MIN * MS_PER_DAY;
    const int64_t hi = ((int64_t)DAY_MAX + 1) * MS_PER_DAY - 1;
    if (epoch_ms < lo)
        epoch_ms = lo;
    if (epoch_ms > hi)
        epoch_ms = hi;
    int64_t day = floor_div64(epoch_ms, MS_PER_DAY);
    int64_t rem = epoch_ms - day * MS_PER_DAY; /* [0, 86399999] */
    day_format((int32_t)day, out);
    out[10] = 'T';
    put_digits(out + 11, (unsigned)(rem / 3600000), 2);
    out[13] = ':';
    put_digits(out + 14, (unsigned)(rem / 60000 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (unsigned)(rem / 1000 % 60), 2);
    out[19] = '.';
    put_digits(out + 20, (unsigned)(rem % 1000), 3);
    out[23] = 'Z';
    out[24] = '\0';
}
