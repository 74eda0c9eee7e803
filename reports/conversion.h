/*
 * conversion.h - amounts of a day into the reporting currency, with the
 * bookkeeping every report needs: which rate document was used, and whether
 * one was missing (then the figure must not be published).
 */
#ifndef MOONSTAT_CONVERSION_H
#define MOONSTAT_CONVERSION_H

#include <stdint.h>

#include "fx_rates.h"
#include "money.h"

/* What the conversions of one computation needed. */
typedef struct day_status {
    int fx_missing;              /* a rate is missing: the figures are incomplete */
    char missing_currency[4];
    int32_t missing_day;
    int fx_substituted;          /* a substituted rate document was used */
    int32_t substituted_from;    /* the day of that document */
} day_status;

/* dst += sum_minor (minor units of `currency`, decimal text) converted with
 * the rate of `day`. A missing rate sets st->fx_missing and adds nothing;
 * returns -1 only on errors (unknown currency, unreadable document). */
int convert_add(fx_table *fx, int32_t day, const char *currency, const char *sum_minor,
                money_value *dst, day_status *st, ms_error *err);

#endif
