/*
 * fx_rates.h - exchange-rate documents (inputs.md section 4).
 *
 * One JSON document per day: {"base": "USD", "date": "2026-11-25",
 * "rates": {"USD": 1, "JPY": 151.2345, ...}}. rates[C] is how many units of C
 * one unit of base buys, so an amount a in C is worth a / rates[C] * rates[R]
 * in the reporting currency R. Rates are read as exact decimals (the JSON
 * text, never a binary float) and the factor rates[R] / rates[C] is an exact
 * rational.
 *
 * The rate of a payment's local day applies. When that day has no document,
 * or its document lacks the currency, the most recent earlier document within
 * FX_MAX_SUBSTITUTION_DAYS that has the currency applies and the caller is
 * told (substituted = 1); beyond that the rate is missing.
 *
 * Documents come from a directory of <YYYY-MM-DD>.json files (or, later, a
 * URL template); each is loaded at most once per process.
 */
#ifndef MOONSTAT_FX_RATES_H
#define MOONSTAT_FX_RATES_H

#include <gmp.h>
#include <stdint.h>

#include "common.h"

#define FX_MAX_SUBSTITUTION_DAYS 7

typedef struct fx_table fx_table;

/* source: a directory path. reporting: the reporting currency code.
 * Returns NULL with err set. Free with fx_table_free. */
fx_table *fx_table_new(const char *source, const char *reporting, ms_error *err);
void fx_table_free(fx_table *t);

typedef enum fx_status {
    FX_OK = 0,        /* factor set from the day's own document */
    FX_SUBSTITUTED,   /* factor set from an earlier document; *used_day says which */
    FX_MISSING,       /* no document within the window has the currency */
    FX_ERROR          /* a document could not be read or is malformed (err set) */
} fx_status;

/* Sets factor = rates[reporting] / rates[currency] for local day `day`.
 * A payment in the reporting currency uses the day's document too (its
 * factor is 1, but a day without a document is still a substituted or
 * missing day: the golden scenario counts it so, and it keeps "which days
 * lack rates" a property of the day, not of its currency mix). */
fx_status fx_factor(fx_table *t, int32_t day, const char *currency, mpq_t factor,
                    int32_t *used_day, ms_error *err);

#endif
