/*
 * fx_rates.c - exchange-rate documents from a directory (see fx_rates.h).
 */
#include "fx_rates.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "timefmt.h"

#define FX_MAX_DOC_BYTES (1u << 20) /* a rate document is a few hundred bytes */
#define FX_MAX_CURRENCIES 64

/* One parsed document: the currencies it prices and their rates. */
typedef struct fx_doc {
    int32_t day;
    int state;                      /* 0 not loaded, 1 loaded, 2 absent */
    size_t n;
    char codes[FX_MAX_CURRENCIES][4];
    mpq_t rates[FX_MAX_CURRENCIES];
} fx_doc;

struct fx_table {
    char *dir;
    char reporting[4];
    fx_doc **docs;     /* sorted by day, loaded lazily */
    size_t n_docs, cap_docs;
};

fx_table *fx_table_new(const char *source, const char *reporting, ms_error *err)
{
    fx_table *t = calloc(1, sizeof *t);
    if (!t || !(t->dir = strdup(source))) {
        free(t);
        ms_error_set(err, "out of memory");
        return NULL;
    }
    snprintf(t->reporting, sizeof t->reporting, "%s", reporting);
    return t;
}

static void fx_doc_free(fx_doc *d)
{
    size_t i;
    if (!d)
        return;
    for (i = 0; i < d->n; i++)
        mpq_clear(d->rates[i]);
    free(d);
}

void fx_table_free(fx_table *t)
{
    size_t i;
    if (!t)
        return;
    for (i = 0; i < t->n_docs; i++)
        fx_doc_free(t->docs[i]);
    free(t->docs);
    free(t->dir);
    free(t);
}

/* Reads the rate of one JSON value exactly. */
static int rate_from_json(json_t *v, mpq_t q)
{
    char text[32];
    if (json_is_integer(v)) {
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        double_shortest_text(json_real_value(v), text);
    } else if (json_is_string(v)) {
        return decimal_text_to_mpq(json_string_value(v), json_string_length(v), q);
    } else {
        return -1;
    }
    return decimal_text_to_mpq(text, strlen(text), q);
}

/* Loads the document of `day` into d (state 1), or marks it absent (state 2).
 * A document that exists but is malformed is an error. */
static int fx_doc_load(fx_table *t, fx_doc *d, ms_error *err)
{
    char date[11], path[4096];
    FILE *f = NULL;
    char *text = NULL;
    size_t len;
    json_t *root = NULL, *rates, *base, *jdate, *v;
    json_error_t jerr;
    const char *key;
    int rc = -1;

    day_format(d->day, date);
    snprintf(path, sizeof path, "%s/%s.json", t->dir, date);
    f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            d->state = 2;
            rc = 0;
        } else {
            ms_error_set(err, "exchange rates %s: %s", path, strerror(errno));
        }
        goto out;
    }
    text = malloc(FX_MAX_DOC_BYTES + 1);
    if (!text) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    len = fread(text, 1, FX_MAX_DOC_BYTES + 1, f);
    if (ferror(f) || len > FX_MAX_DOC_BYTES) {
        ms_error_set(err, "exchange rates %s: %s", path,
                     ferror(f) ? "read error" : "document larger than 1 MiB");
        goto out;
    }
    root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        ms_error_set(err, "exchange rates %s: malformed JSON at line %d: %s; fix or remove the file",
                     path, jerr.line, jerr.text);
        goto out;
    }
    base = json_object_get(root, "base");
    jdate = json_object_get(root, "date");
    rates = json_object_get(root, "rates");
    if (!json_is_string(base) || !json_is_object(rates)) {
        ms_error_set(err, "exchange rates %s: needs \"base\" (string) and \"rates\" (object)", path);
        goto out;
    }
    if (jdate && (!json_is_string(jdate) || strcmp(json_string_value(jdate), date) != 0)) {
        ms_error_set(err, "exchange rates %s: \"date\" does not match the file's date %s", path, date);
        goto out;
    }
    json_object_foreach(rates, key, v) {
        if (d->n >= FX_MAX_CURRENCIES || strlen(key) != 3)
            continue;
        mpq_init(d->rates[d->n]);
        if (rate_from_json(v, d->rates[d->n]) != 0 || mpq_sgn(d->rates[d->n]) <= 0) {
            mpq_clear(d->rates[d->n]);
            ms_error_set(err, "exchange rates %s: rate of %s is not a positive number", path, key);
            goto out;
        }
        memcpy(d->codes[d->n], key, 4);
        d->n++;
    }
    /* The base itself is 1 even when the document leaves it out. */
    if (json_string_length(base) == 3 && !json_object_get(rates, json_string_value(base)) &&
        d->n < FX_MAX_CURRENCIES) {
        mpq_init(d->rates[d->n]);
        mpq_set_ui(d->rates[d->n], 1, 1);
        memcpy(d->codes[d->n], json_string_value(base), 4);
        d->n++;
    }
    d->state = 1;
    rc = 0;
out:
    json_decref(root);
    free(text);
    if (f)
        fclose(f);
    return rc;
}

/* The document of a day, loaded on first use. NULL on error. */
static fx_doc *fx_get_doc(fx_table *t, int32_t day, ms_error *err)
{
    size_t lo = 0, hi = t->n_docs, i;
    fx_doc *d;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->docs[mid]->day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n_docs && t->docs[lo]->day == day)
        return t->docs[lo];
    if (t->n_docs == t->cap_docs) {
        size_t ncap = t->cap_docs ? t->cap_docs * 2 : 64;
        fx_doc **nd = realloc(t->docs, ncap * sizeof *nd);
        if (!nd) {
            ms_error_set(err, "out of memory");
            return NULL;
        }
        t->docs = nd;
        t->cap_docs = ncap;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        ms_error_set(err, "out of memory");
        return NULL;
    }
    d->day = day;
    if (fx_doc_load(t, d, err) != 0) {
        fx_doc_free(d);
        return NULL;
    }
    for (i = t->n_docs; i > lo; i--)
        t->docs[i] = t->docs[i - 1];
    t->docs[lo] = d;
    t->n_docs++;
    return d;
}

static const mpq_t *fx_doc_rate(const fx_doc *d, const char *code)
{
    size_t i;
    for (i = 0; i < d->n; i++)
        if (strcmp(d->codes[i], code) == 0)
            return (const mpq_t *)&d->rates[i];
    return NULL;
}

fx_status fx_factor(fx_table *t, int32_t day, const char *currency, mpq_t factor,
                    int32_t *used_day, ms_error *err)
{
    int32_t back;
    for (back = 0; back <= FX_MAX_SUBSTITUTION_DAYS; back++) {
        fx_doc *d = fx_get_doc(t, day - back, err);
        const mpq_t *rc, *rr;
        if (!d)
            return FX_ERROR;
        if (d->state != 1)
            continue;
        rc = fx_doc_rate(d, currency);
        rr = fx_doc_rate(d, t->reporting);
        if (!rc || !rr)
            continue;
        mpq_div(factor, *rr, *rc);
        *used_day = day - back;
        return back == 0 ? FX_OK : FX_SUBSTITUTED;
    }
    return FX_MISSING;
}
