/*
 * tz.h - local calendar days of a game's IANA time zone.
 *
 * Every metric is per local day (inputs.md: "Days are local to the game").
 * Calling localtime_r per event would be slow and would need the process-wide
 * TZ variable, so a zone is loaded once from the system time-zone database
 * into a table of the instants at which each local day starts (1970-2099).
 * A lookup is then an array access: O(1), no locks, thread-safe. Days of 23
 * and 25 hours (DST) fall out of the table naturally.
 *
 * Instants outside the table use the UTC offset of the nearest end of the
 * table (documented in README; SDK timestamps are never that far off).
 */
#ifndef MOONSTAT_TZ_H
#define MOONSTAT_TZ_H

#include <stdint.h>

#include "common.h"

typedef struct tz_zone tz_zone;

/* Loads a zone by IANA name ("Asia/Tokyo", "UTC"). Not thread-safe (it sets
 * and restores TZ): call it at start-up. Returns NULL with err set when the
 * zone is unknown. Free with tz_zone_free. */
tz_zone *tz_zone_load(const char *name, ms_error *err);
void tz_zone_free(tz_zone *z);

/* The local day number (days since 1970-01-01) of an instant. */
int32_t tz_local_day(const tz_zone *z, int64_t epoch_ms);

/* The instant (epoch seconds) at which local day `day` starts. */
int64_t tz_day_start(const tz_zone *z, int32_t day);

/* Today's local day in the zone, for "now" given in epoch seconds. */
int32_t tz_today(const tz_zone *z, int64_t now_s);

#endif
