/*
 * fx_rates.c - exchange-rate documents from a directory or a URL template,
 * with an optional document store (see fx_rates.h).
 */
#include "fx_rates.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "timefmt.h"

#define FX_MAX_DOC_BYTES ((size_t)1 << 20) /* a rate document is a few KiB at most */
#define FX_TIMEOUT_ENV "MOONSTAT_FETCH_TIMEOUT"
#define FX_TIMEOUT_MAX 86400L

/* One parsed document: the currencies it prices and their rates. */
typedef struct fx_doc {
    int32_t day;
    int state;          /* 1 loaded, 2 absent */
    size_t n;
    char (*codes)[4];
    mpq_t *rates;
} fx_doc;

struct fx_table {
    char *source;       /* the directory or the URL template */
    int is_url;
    char origin[320];   /* URL templates: "<scheme>://<host>[:port]" for messages */
    char reporting[4];
    fetch_options fopt;
    long env_timeout_s; /* MOONSTAT_FETCH_TIMEOUT, 0 when unset */
    fx_store store;
    int has_store;
    fx_doc **docs;      /* sorted by day, loaded lazily */
    size_t n_docs, cap_docs;
    pthread_mutex_t lock; /* fx_factor: the compute workers share one table */
};

static void fx_default_fetch_options(fetch_options *o)
{
    fetch_options_init(o);
    o->max_bytes = FX_MAX_DOC_BYTES;
}

/* MOONSTAT_FETCH_TIMEOUT: unset -> 0; "1".."86400" -> seconds; else -1. */
static long fx_env_timeout(void)
{
    const char *v = getenv(FX_TIMEOUT_ENV);
    long s = 0;
    if (!v)
        return 0;
    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || s > FX_TIMEOUT_MAX)
            return -1;
        s = s * 10 + (*v - '0');
    }
    return s >= 1 && s <= FX_TIMEOUT_MAX ? s : -1;
}

fx_table *fx_table_new(const char *source, const char *reporting, ms_error *err)
{
    fx_table *t;
    if (!source || !*source) {
        ms_error_set(err, "fx_rates: no directory or URL template given");
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (!t || !(t->source = strdup(source))) {
        free(t);
        ms_error_set(err, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->source);
        free(t);
        ms_error_set(err, "cannot set up the exchange-rate table's lock");
        return NULL;
    }
    snprintf(t->reporting, sizeof t->reporting, "%s", reporting);
    fx_default_fetch_options(&t->fopt);
    if (strstr(source, "://")) {
        buf sample;
        ms_error e;
        int ok;
        t->is_url = 1;
        if (!strstr(source, "{date}")) {
            ms_error_set(err, "fx_rates: the URL template has no {date} placeholder (one "
                              "document per day is fetched)");
            goto fail;
        }
        /* The template must make a valid http, https or file URL. */
        buf_init(&sample, 0);
        ok = url_template_expand(source, "2000-01-01", &sample, &e) == 0 &&
             fetch_url_origin(sample.data, t->origin, sizeof t->origin, &e) == 0;
        buf_free(&sample);
        if (!ok) {
            ms_error_set(err, "fx_rates: the URL template is not usable: %s", e.msg);
            goto fail;
        }
        t->env_timeout_s = fx_env_timeout();
        if (t->env_timeout_s < 0) {
            ms_error_set(err, "%s must be a whole number of seconds from 1 to %ld", FX_TIMEOUT_ENV,
                         FX_TIMEOUT_MAX);
            goto fail;
        }
    }
    return t;
fail:
    pthread_mutex_destroy(&t->lock);
    free(t->source);
    free(t);
    return NULL;
}

static void fx_doc_free(fx_doc *d)
{
    size_t i;
    if (!d)
        return;
    for (i = 0; i < d->n; i++)
        mpq_clear(d->rates[i]);
    free(d->rates);
    free(d->codes);
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
    free(t->source);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void fx_table_set_store(fx_table *t, const fx_store *store)
{
    if (store) {
        t->store = *store;
        t->has_store = 1;
    } else {
        memset(&t->store, 0, sizeof t->store);
        t->has_store = 0;
    }
}

void fx_table_set_fetch_options(fx_table *t, const fetch_options *opt)
{
    if (opt)
        t->fopt = *opt;
    else
        fx_default_fetch_options(&t->fopt);
}

/* ---- parsing ------------------------------------------------------------------ */

static int is_code(const char *s)
{
    return s && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' &&
           s[2] <= 'Z' && s[3] == '\0';
}

/* A piece of document text fit for a message: at most 16 bytes, anything
 * but printable ASCII shown as '?'. */
static void shown(const char *s, char out[20])
{
    size_t i;
    for (i = 0; s[i] && i < 16; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s[i])
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
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

/* Parses the document of `date` from memory into d (state 1). On a
 * malformed document returns -1 with `why` saying what is wrong. */
static int fx_doc_parse(fx_doc *d, const char *date, const char *body, size_t len, char *why,
                        size_t whysz)
{
    json_t *root, *rates, *base, *jdate, *v;
    json_error_t jerr;
    const char *key;
    char s1[20], s2[20];
    size_t cap;
    int rc = -1;

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(why, whysz, "not valid JSON (line %d, column %d: %s)", jerr.line, jerr.column,
                 jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(why, whysz, "not a JSON object");
        goto out;
    }
    base = json_object_get(root, "base");
    if (!json_is_string(base) || !is_code(json_string_value(base)) ||
        json_string_length(base) != 3) {
        snprintf(why, whysz, "\"base\" must be a 3-letter upper-case currency code");
        goto out;
    }
    jdate = json_object_get(root, "date");
    if (jdate) {
        if (!json_is_string(jdate)) {
            snprintf(why, whysz, "\"date\" is not a string");
            goto out;
        }
        if (strcmp(json_string_value(jdate), date) != 0 || json_string_length(jdate) != 10) {
            shown(json_string_value(jdate), s1);
            snprintf(why, whysz, "\"date\" is \"%s\", not the requested %s", s1, date);
            goto out;
        }
    }
    rates = json_object_get(root, "rates");
    if (!json_is_object(rates)) {
        snprintf(why, whysz, "\"rates\" must be an object");
        goto out;
    }
    if (json_object_size(rates) == 0) {
        snprintf(why, whysz, "\"rates\" is empty");
        goto out;
    }
    cap = json_object_size(rates) + 1; /* + the base, when left out */
    d->codes = calloc(cap, sizeof *d->codes);
    d->rates = calloc(cap, sizeof *d->rates);
    if (!d->codes || !d->rates) {
        snprintf(why, whysz, "out of memory");
        goto out;
    }
    json_object_foreach(rates, key, v) {
        if (!is_code(key)) {
            shown(key, s1);
            snprintf(why, whysz, "\"rates\" key \"%s\" is not a 3-letter upper-case currency code",
                     s1);
            goto out;
        }
        mpq_init(d->rates[d->n]);
        if (rate_from_json(v, d->rates[d->n]) != 0 || mpq_sgn(d->rates[d->n]) <= 0) {
            mpq_clear(d->rates[d->n]);
            if (json_is_string(v)) {
                shown(json_string_value(v), s2);
                snprintf(why, whysz, "the rate of %s (\"%s\") is not a positive number", key, s2);
            } else {
                snprintf(why, whysz, "the rate of %s is not a positive number", key);
            }
            goto out;
        }
        memcpy(d->codes[d->n], key, 4);
        d->n++;
    }
    /* The base itself is 1 even when the document leaves it out. */
    if (!json_object_get(rates, json_string_value(base))) {
        mpq_init(d->rates[d->n]);
        mpq_set_ui(d->rates[d->n], 1, 1);
        memcpy(d->codes[d->n], json_string_value(base), 4);
        d->n++;
    }
    d->state = 1;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- sources --------------------------------------------------------------- */

/* Reads <dir>/<date>.json into body: 0, 1 when there is no such file, -1. */
static int fx_read_file(const fx_table *t, const char *date, buf *body, ms_error *err)
{
    char path[4096];
    char chunk[8192];
    FILE *f;
    size_t n;
    int rc = 0;

    snprintf(path, sizeof path, "%s/%s.json", t->source, date);
    f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return ms_error_set(err, "exchange rates for %s (%s): %s", date, path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (body->len + n > FX_MAX_DOC_BYTES) {
            rc = ms_error_set(err, "exchange rates for %s (%s): the document is larger than "
                                   "1 MiB; fix or remove the file", date, path);
            break;
        }
        if (buf_append(body, chunk, n) != 0) {
            rc = ms_error_set(err, "out of memory");
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = ms_error_set(err, "exchange rates for %s (%s): read error", date, path);
    fclose(f);
    return rc;
}

/* Fetches the document of date: 0, 1 when the day has none, -1. */
static int fx_fetch(const fx_table *t, const char *date, buf *body, ms_error *err)
{
    fetch_options o = t->fopt;
    buf url;
    long status = 0;
    int rc;

    if (t->env_timeout_s > 0) {
        o.timeout_s = t->env_timeout_s;
        if (o.connect_timeout_s <= 0 || o.connect_timeout_s > t->env_timeout_s)
            o.connect_timeout_s = t->env_timeout_s;
    }
    if (o.max_bytes == 0 || o.max_bytes > FX_MAX_DOC_BYTES)
        o.max_bytes = FX_MAX_DOC_BYTES;
    buf_init(&url, 0);
    if (url_template_expand(t->source, date, &url, err) != 0) {
        buf_free(&url);
        return ms_error_prefix(err, "exchange rates for %s", date);
    }
    rc = fetch_url(url.data, &o, body, &status, err);
    buf_free(&url);
    if (rc < 0)
        ms_error_prefix(err, "exchange rates for %s", date);
    return rc;
}

/* Loads the document of d->day into d (state 1), or marks it absent
 * (state 2). A document that exists but cannot be read or is malformed, or a
 * failing store, is an error. */
static int fx_doc_load(fx_table *t, fx_doc *d, ms_error *err)
{
    char date[11], why[512];
    buf body;
    int rc = -1, found = 0, r;

    day_format(d->day, date);
    buf_init(&body, 0);
    if (!t->is_url) {
        r = fx_read_file(t, date, &body, err);
        if (r < 0)
            goto out;
        if (r == 1) {
            d->state = 2;
            rc = 0;
            goto out;
        }
        if (fx_doc_parse(d, date, body.data ? body.data : "", body.len, why, sizeof why) != 0) {
            ms_error_set(err, "exchange rates for %s (%s/%s.json): malformed document: %s; fix "
                              "or remove the file", date, t->source, date, why);
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (t->has_store && t->store.load) {
        if (t->store.load(t->store.ctx, date, &body, &found, err) != 0) {
            ms_error_prefix(err, "exchange rates for %s: reading the stored document", date);
            goto out;
        }
        if (found) {
            if (fx_doc_parse(d, date, body.data ? body.data : "", body.len, why, sizeof why) !=
                0) {
                ms_error_set(err, "exchange rates for %s (the stored copy): malformed document: "
                                  "%s; delete the stored copy to fetch it again", date, why);
                goto out;
            }
            rc = 0;
            goto out;
        }
        buf_reset(&body);
    }
    r = fx_fetch(t, date, &body, err);
    if (r < 0)
        goto out;
    if (r == 1) {
        d->state = 2;
        rc = 0;
        goto out;
    }
    if (fx_doc_parse(d, date, body.data ? body.data : "", body.len, why, sizeof why) != 0) {
        ms_error_set(err, "exchange rates for %s from %s: malformed document: %s", date, t->origin,
                     why);
        goto out;
    }
    if (t->has_store && t->store.save &&
        t->store.save(t->store.ctx, date, body.data, body.len, t->origin, err) != 0) {
        ms_error_prefix(err, "exchange rates for %s: storing the fetched document", date);
        goto out;
    }
    rc = 0;
out:
    buf_free(&body);
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

static fx_status fx_factor_locked(fx_table *t, int32_t day, const char *currency, mpq_t factor,
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

fx_status fx_factor(fx_table *t, int32_t day, const char *currency, mpq_t factor,
                    int32_t *used_day, ms_error *err)
{
    fx_status st;
    int e = pthread_mutex_lock(&t->lock);
    if (e != 0) {
        ms_error_set(err, "exchange rates: cannot take the table's lock (error %d)", e);
        return FX_ERROR;
    }
    st = fx_factor_locked(t, day, currency, factor, used_day, err);
    pthread_mutex_unlock(&t->lock);
    return st;
}
