/*
 * money.h - exact money: conversion between currencies, sums, ratios and the
 * one rounding (metrics.md "Money").
 *
 * A converted amount a / rates[C] * rates[R] is generally not a finite
 * decimal, and sums of such amounts over many currencies and days have
 * denominators far beyond 128 bits, so values are exact rationals (GMP mpq).
 * Rounding happens once, when a figure is formatted: to a fixed number of
 * decimals, half away from zero, never "-0".
 *
 * money_value owns GMP memory: init before use, clear after.
 */
#ifndef MOONSTAT_MONEY_H
#define MOONSTAT_MONEY_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct money_value {
    mpq_t q;
} money_value;

void money_init(money_value *v);       /* v = 0 */
void money_clear(money_value *v);
void money_set_zero(money_value *v);
void money_copy(money_value *dst, const money_value *src);

/* v += amount_minor / 10^minor * factor, where factor is an exact rational
 * (e.g. a conversion factor rates[R] / rates[C]). */
void money_add_scaled(money_value *v, int64_t amount_minor, int minor, const mpq_t factor);
/* v += w; v -= w */
void money_add(money_value *v, const money_value *w);
void money_sub(money_value *v, const money_value *w);
int money_is_zero(const money_value *v);

/* Formats v rounded half away from zero to `decimals` digits ("12.35",
 * "0.000000"); never "-0.00". out gets up to outsz bytes. */
void money_format(const money_value *v, int decimals, char *out, size_t outsz);

/* Formats v / divisor (divisor > 0) rounded to `decimals`. */
void money_format_ratio(const money_value *v, int64_t divisor, int decimals, char *out,
                        size_t outsz);

/* Formats num / den of two integers rounded to `decimals` (den > 0). */
void ratio_format(int64_t num, int64_t den, int decimals, char *out, size_t outsz);

/* Parses an exact decimal text ("151.2345", "1", "1e-3", "0.927866") into q.
 * Returns 0, or -1 when the text is not a JSON-style number. */
int decimal_text_to_mpq(const char *s, size_t n, mpq_t q);

/* Writes the shortest decimal text that reads back as exactly `d` (what a
 * JSON writer printed). out needs 32 bytes. */
void double_shortest_text(double d, char out[32]);

#endif
