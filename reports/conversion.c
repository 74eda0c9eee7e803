/*
 * conversion.c - exact conversion with rate bookkeeping (see conversion.h).
 */
#include "conversion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "currency.h"

int convert_add(fx_table *fx, int32_t day, const char *currency, const char *sum_minor,
                money_value *dst, day_status *st, ms_error *err)
{
    mpq_t factor;
    int32_t used;
    int minor = currency_minor_units(currency, strlen(currency));
    fx_status s;
    int rc = -1;

    if (minor < 0)
        return ms_error_set(err, "unknown currency %s in the warehouse", currency);
    mpq_init(factor);
    s = fx_factor(fx, day, currency, factor, &used, err);
    switch (s) {
    case FX_ERROR:
        goto out;
    case FX_MISSING:
        if (!st->fx_missing) {
            st->fx_missing = 1;
            st->missing_day = day;
            snprintf(st->missing_currency, sizeof st->missing_currency, "%s", currency);
        }
        break;
    case FX_SUBSTITUTED:
        st->fx_substituted = 1;
        st->substituted_from = used;
        /* fall through */
    case FX_OK:
        money_add_scaled(dst, strtoll(sum_minor, NULL, 10), minor, factor);
        break;
    }
    rc = 0;
out:
    mpq_clear(factor);
    return rc;
}
