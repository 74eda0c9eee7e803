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
 * Documents come from a directory of <YYYY-MM-DD>.json files or from a URL
 * template (http, https or file) in which "{date}" stands for the day
 * (YYYY-MM-DD); each day is loaded at most once per table, on first use.
 *
 * URL templates: a day's document is fetched with fetch_url (fetch.h): HTTP
 * 404/410 (or a missing file:// file) means the day has no document (the
 * substitution rules above apply); any other failure is FX_ERROR with a
 * message that names the date and the scheme and host ("exchange rates for
 * 2026-11-03: HTTP 500 from https://rates.example.com (4 attempts)"), never
 * the template's path or query, which may hold an API key. The environment
 * variable MOONSTAT_FETCH_TIMEOUT (whole seconds, 1-86400), when set, bounds
 * each attempt (connecting included) instead of the 60 s default; it exists
 * for tests and for operators with a slow provider.
 *
 * A document store (fx_table_set_store; the job's is the warehouse table
 * fx_documents) makes a rerun independent of the network: with a URL
 * template, the first use of a day asks the store, and only when the store
 * has no document for it is the URL fetched; a fetched document that parses
 * is saved to the store (source = "<scheme>://<host>[:port]", never the path
 * or query). A day without a document (404) is not saved: it is asked for
 * again by a later run, so a late-published document is picked up. Directory
 * sources do not use the store: the directory is the local truth, and a
 * corrected file must win over an old copy.
 *
 * Documents are validated strictly, whatever their source: a JSON object
 * (duplicate keys rejected) with "base" a 3-letter upper-case code, "rates"
 * a non-empty object whose keys are 3-letter upper-case codes and whose
 * values are positive numbers (JSON integer, real, or a decimal string such
 * as "151.2345"), and an optional "date" that must equal the requested day.
 * Other members are ignored. Anything else is FX_ERROR naming the date and
 * what is wrong. A document of more than 1 MiB is refused.
 * Threads: fx_factor may be called from several threads at once (the
 * compute workers); a lock inside the table serializes the calls, store
 * callbacks included, so the store's connection is used by one at a time.
 */
#ifndef MOONSTAT_FX_RATES_H
#define MOONSTAT_FX_RATES_H

#include <gmp.h>
#include <stdint.h>

#include "common.h"
#include "fetch.h"

#define FX_MAX_SUBSTITUTION_DAYS 7

typedef struct fx_table fx_table;

/* source: a directory path, or (when it contains "://") a URL template
 * with "{date}". reporting: the reporting currency code. Returns NULL with
 * err set (a template without {date}, a scheme other than http, https or
 * file, a bad MOONSTAT_FETCH_TIMEOUT; the message never repeats the
 * template). Free with fx_table_free. */
fx_table *fx_table_new(const char *source, const char *reporting, ms_error *err);
void fx_table_free(fx_table *t);

/* Where fetched documents are kept between runs. Both functions return 0,
 * or -1 with err set (which makes the lookup FX_ERROR).
 *  load: sets *found = 1 and appends the stored body to `body` (which the
 *        caller has buf_init'ed and reset), or *found = 0 when the store has
 *        no document for `date` (YYYY-MM-DD).
 *  save: stores body (len bytes plus a NUL, valid UTF-8 JSON) for
 *        `date`; `source` is the scheme and host it came from. Called once per
 *        fetched day and table; a document already stored may be kept as is. */
typedef struct fx_store {
    void *ctx;
    int (*load)(void *ctx, const char *date, buf *body, int *found, ms_error *err);
    int (*save)(void *ctx, const char *date, const char *body, size_t len, const char *source,
                ms_error *err);
} fx_store;

/* Uses `store` (copied; store->ctx must outlive the table) for URL
 * templates; NULL removes it. Days already loaded are not reloaded. */
void fx_table_set_store(fx_table *t, const fx_store *store);

/* Fetch options for URL templates (copied; opt->bearer_token, if any, must
 * outlive the table). The default is FETCH_OPTIONS_DEFAULT (10 s to connect,
 * 60 s per attempt, 3 retries from 500 ms). max_bytes is capped at 1 MiB
 * whatever is set. MOONSTAT_FETCH_TIMEOUT, when set, still overrides the
 * timeouts. NULL restores the default. */
void fx_table_set_fetch_options(fx_table *t, const fetch_options *opt);

typedef enum fx_status {
    FX_OK = 0,        /* factor set from the day's own document */
    FX_SUBSTITUTED,   /* factor set from an earlier document; *used_day says which */
    FX_MISSING,       /* no document within the window has the currency */
    FX_ERROR          /* a document could not be read, fetched or stored, or is
                         malformed (err set, naming the date) */
} fx_status;

/* Sets factor = rates[reporting] / rates[currency] for local day `day`.
 * A payment in the reporting currency uses the day's document too (its
 * factor is 1, but a day without a document is still a substituted or
 * missing day: the golden scenario counts it so, and it keeps "which days
 * lack rates" a property of the day, not of its currency mix). */
fx_status fx_factor(fx_table *t, int32_t day, const char *currency, mpq_t factor,
                    int32_t *used_day, ms_error *err);

#endif
