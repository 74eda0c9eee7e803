/*
 * timefmt.h - calendar arithmetic and the timestamp formats of the contract.
 *
 * A "day number" is the count of days since 1970-01-01 of a civil (proleptic
 * Gregorian) date: 1970-01-01 is 0, 1969-12-31 is -1. Local days of games are
 * day numbers too (see tz.h); they are converted to text only at the edges.
 * Pure functions, no allocation, no global state, thread-safe.
 */
#ifndef MOONSTAT_TIMEFMT_H
#define MOONSTAT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Civil date <-> day number (Howard Hinnant's algorithms). */
int32_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d);

/* "YYYY-MM-DD" (exactly 10 bytes, a real date) -> day number. 0 or -1. */
int day_parse(const char *s, size_t n, int32_t *day);
/* Writes "YYYY-MM-DD" and a NUL into out (at least 11 bytes). Days outside
 * 0000-01-01 .. 9999-12-31 saturate to those dates (the text has 4 year
 * digits); the event parser never lets such instants in. */
void day_format(int32_t day, char out[11]);

/* ISO weekday, Monday = 1 .. Sunday = 7. */
int day_iso_weekday(int32_t day);

/* Parses the `ts` string form of inputs.md: YYYY-MM-DDTHH:MM:SS, an optional
 * fraction of any length (".123", ".1234567"; at least one digit after the
 * dot; digits beyond milliseconds are truncated towards the past, i.e.
 * floor), then "Z" or "+HH:MM"/"-HH:MM" (upper-case T and Z; year 0000-9999,
 * month 01-12, day valid for the month and year, hour 00-23, minute 00-59,
 * second 00-59 (no leap second), offset hours 00-23, offset minutes 00-59;
 * "-00:00" is UTC). Anything else, including spaces, returns -1. Exactly n
 * bytes are read (no NUL needed). On success *epoch_ms is the UTC instant in
 * milliseconds since 1970-01-01T00:00:00Z. */
int ts_parse_rfc3339(const char *s, size_t n, int64_t *epoch_ms);

/* Formats an instant as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, 24 bytes + NUL).
 * Saturates outside the years 0000-9999 like day_format. */
void ts_format_utc_ms(int64_t epoch_ms, char out[25]);

/* Floor division helpers for negative instants (b != 0). */
int64_t floor_div64(int64_t a, int64_t b);

#endif
