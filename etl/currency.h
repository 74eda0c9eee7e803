/*
 * currency.h - ISO 4217 currencies and exact decimal amounts.
 *
 * Amounts are kept as integers of the currency's minor unit (cents for USD,
 * yen for JPY): no floating point ever touches money.
 */
#ifndef MOONSTAT_CURRENCY_H
#define MOONSTAT_CURRENCY_H

#include <stddef.h>
#include <stdint.h>

/* Minor units (decimal digits) of an active ISO 4217 alphabetic code given in
 * upper case ("USD" -> 2, "JPY" -> 0, "KWD" -> 3). Returns -1 when `code` is
 * not exactly three upper-case letters naming an active currency. The table
 * is ISO 4217 List One (as published for 2026-01-01) less metals (XAU XAG XPT
 * XPD), units of account (XDR XAD XSU XUA XBA..XBD) and XTS/XXX; the national
 * fund codes of List One (BOV CHE CHW CLF COU MXV USN UYI UYW) are kept.
 * Historic codes (ANG, BGN, CUC, HRK, SLL, ZWL, ...) are not active. */
int currency_minor_units(const char *code, size_t n);

/* Parses a decimal text: [0-9]+(\.[0-9]+)? only (no sign, no exponent, no
 * spaces) and converts it to minor units of a currency with `minor` digits.
 * The value decides, not the spelling: "100.0" JPY is 100, "1.50" USD is 150.
 * Returns 0 and sets *out; -1 when the syntax is wrong, the value has more
 * significant decimals than `minor`, or it does not fit in int64. */
int decimal_to_minor(const char *s, size_t n, int minor, int64_t *out);

/* Same for a JSON number's text as jansson or a scanner sees it
 * (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, strict JSON grammar): an
 * exponent is applied exactly, with integer arithmetic only ("1e2" JPY is
 * 100, "999e-2" USD is 999, "1e-7" USD fails). A negative value parses (the
 * caller rejects <= 0). Returns 0 or -1 as above. */
int json_number_to_minor(const char *s, size_t n, int minor, int64_t *out);

/* Writes `minor_amount` with `minor` decimals ("1234" 2 -> "12.34",
 * "-5" 2 -> "-0.05", "1500" 0 -> "1500"). out needs 32 bytes. */
void minor_format(int64_t minor_amount, int minor, char out[32]);

#endif
