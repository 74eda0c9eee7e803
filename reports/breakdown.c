/*
 * breakdown.c - cells and their roll-up (see breakdown.h).
 */
#include "breakdown.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void breakdown_init(breakdown *b)
{
    b->cells = NULL;
    b->n_cells = b->cap = 0;
}

void breakdown_free(breakdown *b)
{
    size_t i, k;
    for (i = 0; i < b->n_cells; i++)
        for (k = 0; k < BD_MAX_MONEY; k++)
            money_clear(&b->cells[i].m[k]);
    free(b->cells);
    breakdown_init(b);
}

bd_cell *breakdown_cell(breakdown *b, const char *platform, const char *country)
{
    size_t i, k;
    bd_cell *c;
    if (!platform)
        platform = "other";
    if (!country)
        country = "ZZ";
    for (i = 0; i < b->n_cells; i++)
        if (strcmp(b->cells[i].platform, platform) == 0 && strcmp(b->cells[i].country, country) == 0)
            return &b->cells[i];
    if (b->n_cells == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 32;
        bd_cell *p = realloc(b->cells, ncap * sizeof *p);
        if (!p)
            return NULL;
        b->cells = p;
        b->cap = ncap;
    }
    c = &b->cells[b->n_cells++];
    memset(c->n, 0, sizeof c->n);
    snprintf(c->platform, sizeof c->platform, "%s", platform);
    snprintf(c->country, sizeof c->country, "%s", country);
    for (k = 0; k < BD_MAX_MONEY; k++)
        money_init(&c->m[k]);
    return c;
}

static void cell_add(bd_cell *dst, const bd_cell *src)
{
    size_t k;
    for (k = 0; k < BD_MAX_COUNTS; k++)
        dst->n[k] += src->n[k];
    for (k = 0; k < BD_MAX_MONEY; k++)
        money_add(&dst->m[k], &src->m[k]);
}

int breakdown_rollup(const breakdown *in, breakdown *out)
{
    size_t i;
    /* Created in this order so that the total comes first. */
    if (!breakdown_cell(out, "ALL", "ALL"))
        return -1;
    for (i = 0; i < in->n_cells; i++) {
        const bd_cell *c = &in->cells[i];
        bd_cell *g;
        if (!(g = breakdown_cell(out, "ALL", "ALL")))
            return -1;
        cell_add(g, c);
        if (!(g = breakdown_cell(out, c->platform, "ALL")))
            return -1;
        cell_add(g, c);
        if (!(g = breakdown_cell(out, "ALL", c->country)))
            return -1;
        cell_add(g, c);
    }
    return 0;
}
