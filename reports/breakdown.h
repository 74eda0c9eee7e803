/*
 * breakdown.h - breakdown rows (metrics.md "Daily KPIs": every row carries a
 * platform and a country; the totals row has both ALL; one row per platform
 * with country ALL and one per country with platform ALL).
 *
 * Figures are gathered per (platform, country) cell, each account in the cell
 * of its own attributes, then rolled up: since every account sits in exactly
 * one cell, sums of cells are the distinct counts of the groups.
 *
 * A breakdown owns its cells and their GMP values; free with
 * breakdown_free.
 */
#ifndef MOONSTAT_BREAKDOWN_H
#define MOONSTAT_BREAKDOWN_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"

#define BD_MAX_COUNTS 16
#define BD_MAX_MONEY 8

typedef struct bd_cell {
    char platform[16];
    char country[8];
    int64_t n[BD_MAX_COUNTS];
    money_value m[BD_MAX_MONEY];
} bd_cell;

typedef struct breakdown {
    bd_cell *cells;
    size_t n_cells, cap;
} breakdown;

void breakdown_init(breakdown *b);
void breakdown_free(breakdown *b);

/* The cell of (platform, country), created at zero; NULL platform/country
 * mean "other"/"ZZ". NULL on allocation failure. */
bd_cell *breakdown_cell(breakdown *b, const char *platform, const char *country);

/* Fills out (initialised, empty) with the total row, then one row per
 * platform (country ALL), then one per country (platform ALL). */
int breakdown_rollup(const breakdown *in, breakdown *out);

#endif
