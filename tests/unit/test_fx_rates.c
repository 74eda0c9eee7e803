/*
 * test_fx_rates.c - exchange-rate documents from a URL template (a real HTTP
 * server on 127.0.0.1, forked by the test), from file:// and from a
 * directory; substitution, the 7-day window, errors, strict validation and
 * the document store.
 *
 * The server is the one of http_test_server.h: it answers per path from the
 * route table in main (404 for every other path) and logs every request
 * before answering, so after fx_factor returns the test knows exactly which
 * documents were requested.
 */
#include "check.h"
#include "fx_rates.h"
#include "http_test_server.h"
#include "timefmt.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[PATH_MAX];
static http_server srv;
static char tmpl[128]; /* the URL template of the served documents */

static int32_t day_of(const char *date)
{
    int32_t d = 0;
    day_parse(date, strlen(date), &d);
    return d;
}

/* fx_factor for a YYYY-MM-DD day; *used_date gets the document's day. */
static fx_status factor_on(fx_table *t, const char *date, const char *currency, mpq_t f,
                           char used_date[11], ms_error *err)
{
    int32_t used = 0;
    fx_status s = fx_factor(t, day_of(date), currency, f, &used, err);
    day_format(used, used_date);
    return s;
}

/* 1 when q equals the fraction text ("10000/1512076"). */
static int q_is(const mpq_t q, const char *frac)
{
    mpq_t w;
    int eq;
    mpq_init(w);
    if (mpq_set_str(w, frac, 10) != 0) {
        mpq_clear(w);
        return 0;
    }
    mpq_canonicalize(w);
    eq = mpq_equal(q, w);
    mpq_clear(w);
    return eq;
}

/* Takes the requests made since the last call; returns how many. */
static int requests(void)
{
    return http_server_requests(&srv);
}

/* How many of the requests last taken start with prefix. */
static int logged(const char *prefix)
{
    return http_server_logged(&srv, prefix);
}

/* A table on the served template, with fetch options o and store st when
 * not NULL. */
static fx_table *served_table(const fetch_options *o, const fx_store *st)
{
    ms_error err;
    fx_table *t = fx_table_new(tmpl, "USD", &err);
    if (t && o)
        fx_table_set_fetch_options(t, o);
    if (t && st)
        fx_table_set_store(t, st);
    return t;
}

/* Never the template's path or query. */
static int clean_msg(const char *msg)
{
    return strstr(msg, "SECRET") == NULL && strstr(msg, "/fx/") == NULL &&
           strstr(msg, "{date}") == NULL && strstr(msg, "?") == NULL;
}

static int write_file(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (!(f = fopen(path, "wb")))
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* ---- a fake in-memory store ------------------------------------------------------ */

#define STORE_MAX 16

typedef struct mem_store {
    size_t n;
    char date[STORE_MAX][11];
    char *body[STORE_MAX];
    size_t len[STORE_MAX];
    char source[STORE_MAX][128];
    int loads, saves;
    int fail_load, fail_save;
} mem_store;

static int mem_load(void *ctx, const char *date, buf *body, int *found, ms_error *err)
{
    mem_store *m = ctx;
    size_t i;
    m->loads++;
    *found = 0;
    if (m->fail_load)
        return ms_error_set(err, "database is locked");
    for (i = 0; i < m->n; i++)
        if (strcmp(m->date[i], date) == 0) {
            *found = 1;
            return buf_append(body, m->body[i], m->len[i]) == 0 ? 0
                                                                : ms_error_set(err, "too big");
        }
    return 0;
}

static int mem_save(void *ctx, const char *date, const char *body, size_t len,
                    const char *source, ms_error *err)
{
    mem_store *m = ctx;
    m->saves++;
    if (m->fail_save)
        return ms_error_set(err, "disk I/O error");
    if (m->n == STORE_MAX)
        return ms_error_set(err, "store full");
    snprintf(m->date[m->n], sizeof m->date[m->n], "%s", date);
    m->body[m->n] = malloc(len + 1);
    if (!m->body[m->n])
        return ms_error_set(err, "out of memory");
    memcpy(m->body[m->n], body, len);
    m->body[m->n][len] = '\0';
    m->len[m->n] = len;
    snprintf(m->source[m->n], sizeof m->source[m->n], "%s", source);
    m->n++;
    return 0;
}

static void mem_free(mem_store *m)
{
    size_t i;
    for (i = 0; i < m->n; i++)
        free(m->body[i]);
    memset(m, 0, sizeof *m);
}

/* ---- the documents the server has ------------------------------------------------ */

static const char doc_1101[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-01\", \"rates\": {\"USD\": 1, \"JPY\": 151.8686, "
    "\"EUR\": 0.928968}}";
/* Rates as decimal strings and integers are exact too. */
static const char doc_1102[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-02\", \"rates\": {\"USD\": \"1\", \"JPY\": "
    "\"151.3946\", \"KRW\": 1364}}";
static const char doc_1103[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-03\", \"rates\": {\"USD\": 1, \"JPY\": 151.2076, "
    "\"TWD\": 32.091, \"EUR\": 0.927483}}";
/* 2026-11-04: 404. 2026-11-05: no JPY. */
static const char doc_1105[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-05\", \"rates\": {\"USD\": 1, \"EUR\": 0.934665}}";
static const char doc_bad_json[] = "{\"base\": \"USD\", \"date\": \"2026-10-11\", \"rates\": {";
static const char doc_bad_base[] = "{\"base\": \"usd\", \"rates\": {\"USD\": 1}}";
static const char doc_wrong_date[] =
    "{\"base\": \"USD\", \"date\": \"2026-10-31\", \"rates\": {\"USD\": 1}}";

/* ---- tests --------------------------------------------------------------------- */

static void test_new(void)
{
    ms_error err;
    fx_table *t;
    /* A template needs {date}; {month} alone is not one document per day. */
    t = fx_table_new("https://fx.example/p/SECRET/latest.json?key=SECRET", "USD", &err);
    CHECK(t == NULL);
    CHECK(strstr(err.msg, "{date}") != NULL);
    CHECK(strstr(err.msg, "SECRET") == NULL);
    CHECK(fx_table_new("https://fx.example/{month}.json", "USD", &err) == NULL);
    CHECK(fx_table_new("ftp://fx.example/SECRET/{date}.json", "USD", &err) == NULL);
    CHECK(strstr(err.msg, "ftp") != NULL && strstr(err.msg, "SECRET") == NULL);
    CHECK(fx_table_new("https://[::1/SECRET/{date}.json", "USD", &err) == NULL);
    CHECK(strstr(err.msg, "SECRET") == NULL);
    CHECK(fx_table_new("", "USD", &err) == NULL);
    CHECK(fx_table_new(NULL, "USD", &err) == NULL);
    t = fx_table_new("https://fx.example/{date}.json?key=SECRET", "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    t = fx_table_new("file:///srv/fx/{date}.json", "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    fx_table_free(NULL);

    /* MOONSTAT_FETCH_TIMEOUT must be whole seconds; directories ignore it. */
    setenv("MOONSTAT_FETCH_TIMEOUT", "abc", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    CHECK(strstr(err.msg, "MOONSTAT_FETCH_TIMEOUT") != NULL);
    t = fx_table_new(tmpdir, "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    setenv("MOONSTAT_FETCH_TIMEOUT", "0", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    setenv("MOONSTAT_FETCH_TIMEOUT", "", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    setenv("MOONSTAT_FETCH_TIMEOUT", "99999999999999999999", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    setenv("MOONSTAT_FETCH_TIMEOUT", "30", 1);
    t = fx_table_new("https://fx.example/{date}.json", "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    unsetenv("MOONSTAT_FETCH_TIMEOUT");
}

static void test_url_days(void)
{
    ms_error err;
    mpq_t f;
    char used[11];
    fetch_options o = quick_fetch_options(0);
    fx_table *t = served_table(&o, NULL);

    CHECK(t != NULL);
    if (!t)
        return;
    mpq_init(f);
    requests(); /* start from an empty log */

    /* The day's own document, fetched on first use, exactly. */
    CHECK_INT(factor_on(t, "2026-11-03", "JPY", f, used, &err), FX_OK);
    CHECK_STR(used, "2026-11-03");
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(requests(), 1);
    CHECK_INT(logged("/fx/2026-11-03.json?key=SECRET -\n"), 1);
    /* Loaded once: other currencies of the day need no request. */
    CHECK_INT(factor_on(t, "2026-11-03", "TWD", f, used, &err), FX_OK);
    CHECK(q_is(f, "1000/32091"));
    CHECK_INT(factor_on(t, "2026-11-03", "USD", f, used, &err), FX_OK);
    CHECK(q_is(f, "1"));
    CHECK_INT(requests(), 0);

    /* Decimal strings and integers. */
    CHECK_INT(factor_on(t, "2026-11-02", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1513946"));
    CHECK_INT(factor_on(t, "2026-11-02", "KRW", f, used, &err), FX_OK);
    CHECK(q_is(f, "1/1364"));

    /* 2026-11-04 is 404: the earlier day's document, reported. */
    CHECK_INT(factor_on(t, "2026-11-04", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(factor_on(t, "2026-11-04", "USD", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 2); /* 2026-11-02 and 2026-11-04, once each */
    CHECK_INT(logged("/fx/2026-11-04.json"), 1);

    /* Per currency: 2026-11-05 has EUR but not JPY. */
    CHECK_INT(factor_on(t, "2026-11-05", "EUR", f, used, &err), FX_OK);
    CHECK(q_is(f, "1000000/934665"));
    CHECK_INT(factor_on(t, "2026-11-05", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 1);

    /* The window: 7 days back at most. */
    CHECK_INT(factor_on(t, "2026-11-10", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 5); /* 11-06 .. 11-10 */
    CHECK_INT(factor_on(t, "2026-11-11", "JPY", f, used, &err), FX_MISSING);
    CHECK_INT(requests(), 1); /* 11-11; 11-04 .. 11-10 are known */
    CHECK_INT(factor_on(t, "2026-11-11", "TWD", f, used, &err), FX_MISSING);
    CHECK_INT(factor_on(t, "2026-12-20", "USD", f, used, &err), FX_MISSING);
    CHECK_INT(requests(), 8); /* 12-13 .. 12-20 */
    CHECK_INT(logged("/fx/2026-12-13.json"), 1);
    CHECK_INT(logged("/fx/2026-12-12.json"), 0);
    CHECK_INT(factor_on(t, "2026-11-03", "XXX", f, used, &err), FX_MISSING);
    CHECK_INT(requests(), 6); /* back to 10-27: 10-27 .. 11-01 are new */

    mpq_clear(f);
    fx_table_free(t);
}

static void test_url_errors(void)
{
    ms_error err;
    mpq_t f;
    char used[11], want[256];
    fetch_options o = quick_fetch_options(1);
    fx_table *t = served_table(&o, NULL);

    CHECK(t != NULL);
    if (!t)
        return;
    mpq_init(f);
    requests();

    /* HTTP 500: FX_ERROR naming the date and the host, retried once here. */
    CHECK_INT(factor_on(t, "2026-10-10", "JPY", f, used, &err), FX_ERROR);
    CHECK_STR_ORIGIN(err.msg, "exchange rates for 2026-10-10: HTTP 500 from %s (2 attempts)",
                     &srv);
    CHECK(clean_msg(err.msg));
    CHECK_INT(requests(), 2);
    /* An error is not remembered as "absent": asked again next time. */
    CHECK_INT(factor_on(t, "2026-10-10", "JPY", f, used, &err), FX_ERROR);
    CHECK_INT(requests(), 2);

    /* Malformed JSON. */
    CHECK_INT(factor_on(t, "2026-10-11", "JPY", f, used, &err), FX_ERROR);
    snprintf(want, sizeof want, "exchange rates for 2026-10-11 from %s: malformed document: ",
             srv.origin);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);
    CHECK(strstr(err.msg, "not valid JSON") != NULL);
    CHECK(clean_msg(err.msg));
    /* A substitution never skips a broken document. */
    CHECK_INT(factor_on(t, "2026-10-12", "JPY", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "2026-10-11") != NULL);

    /* Well-formed JSON, invalid document. */
    CHECK_INT(factor_on(t, "2026-10-13", "USD", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "2026-10-13") != NULL && strstr(err.msg, "\"base\"") != NULL);
    CHECK_INT(factor_on(t, "2026-10-14", "USD", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "\"date\" is \"2026-10-31\", not the requested 2026-10-14") != NULL);

    /* 403 is an error, not an absent day. */
    CHECK_INT(factor_on(t, "2026-10-15", "USD", f, used, &err), FX_ERROR);
    CHECK_STR_ORIGIN(err.msg, "exchange rates for 2026-10-15: HTTP 403 from %s", &srv);
    requests();

    mpq_clear(f);
    fx_table_free(t);
}

static void test_url_timeout(void)
{
    ms_error err;
    mpq_t f;
    char used[11];
    fx_table *t;
    fetch_options o = quick_fetch_options(0);
    struct timespec t0;
    double el;

    /* MOONSTAT_FETCH_TIMEOUT bounds each attempt, over the options too. */
    o.timeout_s = 30;
    setenv("MOONSTAT_FETCH_TIMEOUT", "1", 1);
    t = served_table(&o, NULL);
    unsetenv("MOONSTAT_FETCH_TIMEOUT");
    CHECK(t != NULL);
    if (!t)
        return;
    mpq_init(f);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(factor_on(t, "2026-10-16", "USD", f, used, &err), FX_ERROR);
    el = seconds_since(&t0);
    CHECK_STR_ORIGIN(err.msg,
                     "exchange rates for 2026-10-16: timeout after 1s fetching from %s", &srv);
    CHECK(el >= 0.9 && el < 5);
    CHECK_INT(requests(), 1);
    mpq_clear(f);
    fx_table_free(t);
}

static void test_store(void)
{
    ms_error err;
    mpq_t f;
    char used[11];
    mem_store m;
    fx_store st = {&m, mem_load, mem_save};
    fx_table *t1, *t2;
    fetch_options o = quick_fetch_options(0);

    memset(&m, 0, sizeof m);
    mpq_init(f);
    requests();

    /* First table: fetched, then saved with its origin (no path, no query). */
    t1 = served_table(&o, &st);
    CHECK(t1 != NULL);
    if (!t1)
        goto out;
    CHECK_INT(factor_on(t1, "2026-11-04", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 2); /* 11-04 (404) and 11-03 */
    CHECK_INT(m.loads, 2);
    CHECK_INT(m.saves, 1);    /* only the document: a 404 is not stored */
    CHECK_INT(m.n, 1);
    CHECK_STR(m.date[0], "2026-11-03");
    CHECK_STR(m.body[0], doc_1103);
    CHECK_STR(m.source[0], srv.origin);
    fx_table_free(t1);

    /* Second table, same store: 11-03 comes from the store, no request. */
    t2 = served_table(&o, &st);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    CHECK_INT(factor_on(t2, "2026-11-03", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(requests(), 0);
    CHECK_INT(m.saves, 1);
    /* A 404 day is asked for again (it may have been published since). */
    CHECK_INT(factor_on(t2, "2026-11-04", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_INT(requests(), 1);
    CHECK_INT(logged("/fx/2026-11-04.json"), 1);

    /* Without the store the network is needed again. */
    fx_table_set_store(t2, NULL);
    CHECK_INT(factor_on(t2, "2026-11-02", "JPY", f, used, &err), FX_OK);
    CHECK_INT(requests(), 1);
    CHECK_INT(m.n, 1);
    fx_table_free(t2);

    /* A failing load or save is an error naming the date. */
    t2 = served_table(&o, &st);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    m.fail_load = 1;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_ERROR);
    CHECK_STR(err.msg, "exchange rates for 2026-11-01: reading the stored document: database is "
                       "locked");
    CHECK_INT(requests(), 0);
    m.fail_load = 0;
    m.fail_save = 1;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_ERROR);
    CHECK_STR(err.msg, "exchange rates for 2026-11-01: storing the fetched document: disk I/O "
                       "error");
    CHECK_INT(requests(), 1);
    m.fail_save = 0;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1518686"));
    CHECK_INT(requests(), 1); /* the failed save left nothing behind: fetched again */
    CHECK_INT(m.n, 2);
    fx_table_free(t2);

    /* A broken stored copy is an error, not a reason to fetch. */
    free(m.body[1]);
    m.body[1] = strdup("{\"base\": \"USD\"}");
    m.len[1] = m.body[1] ? strlen(m.body[1]) : 0;
    t2 = served_table(NULL, &st);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "exchange rates for 2026-11-01 (the stored copy): malformed document: "
                          "\"rates\" must be an object") == err.msg);
    CHECK_INT(requests(), 0);
    fx_table_free(t2);

    /* A directory source does not use the store: the file is the truth. */
    m.loads = m.saves = 0;
    CHECK_INT(write_file("2026-11-03.json", doc_1105), 0); /* no JPY in the file */
    t2 = fx_table_new(tmpdir, "USD", &err);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    fx_table_set_store(t2, &st);
    CHECK_INT(factor_on(t2, "2026-11-03", "JPY", f, used, &err), FX_ERROR); /* date mismatch */
    CHECK_INT(m.loads, 0);
    CHECK_INT(m.saves, 0);
    fx_table_free(t2);
out:
    mpq_clear(f);
    mem_free(&m);
}

/* One document written as <tmpdir>/2026-11-03.json, read with a new table. */
static fx_status dir_doc(const char *text, const char *reporting, const char *currency, mpq_t f,
                         ms_error *err)
{
    char used[11];
    fx_status s;
    fx_table *t;
    if (write_file("2026-11-03.json", text) != 0) {
        ms_error_set(err, "cannot write the test document");
        return FX_ERROR;
    }
    t = fx_table_new(tmpdir, reporting, err);
    if (!t)
        return FX_ERROR;
    s = factor_on(t, "2026-11-03", currency, f, used, err);
    fx_table_free(t);
    return s;
}

static void expect_malformed(const char *text, const char *why, int line)
{
    ms_error err;
    mpq_t f;
    fx_status s;
    mpq_init(f);
    s = dir_doc(text, "USD", "USD", f, &err);
    if (s != FX_ERROR || !strstr(err.msg, "exchange rates for 2026-11-03 (") ||
        !strstr(err.msg, "2026-11-03.json): malformed document: ") || !strstr(err.msg, why)) {
        check_failed++;
        printf("FAIL %s:%d: document %s: status %d, message \"%s\", want \"%s\"\n", __FILE__,
               line, text, (int)s, s == FX_ERROR ? err.msg : "", why);
    } else {
        check_passed++;
    }
    mpq_clear(f);
}

#define MALFORMED(text, why) expect_malformed(text, why, __LINE__)

static void test_validation(void)
{
    ms_error err;
    mpq_t f;
    buf big;
    size_t i;

    mpq_init(f);
    MALFORMED("", "not valid JSON");
    MALFORMED("[1]", "not a JSON object");
    MALFORMED("\"USD\"", "not valid JSON"); /* jansson wants an object or array at the top */
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1}} trailing", "not valid JSON");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1, \"USD\": 2}}", "not valid JSON");
    MALFORMED("{\"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter upper-case currency code");
    MALFORMED("{\"base\": \"usd\", \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": \"USDX\", \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": \"US\", \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": 1, \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": \"USD\"}", "\"rates\" must be an object");
    MALFORMED("{\"base\": \"USD\", \"rates\": [1]}", "\"rates\" must be an object");
    MALFORMED("{\"base\": \"USD\", \"rates\": {}}", "\"rates\" is empty");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"usd\": 1}}",
              "\"rates\" key \"usd\" is not a 3-letter upper-case currency code");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1, \"JPYY\": 150}}", "key \"JPYY\"");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1, \"J\\nP\": 150}}", "key \"J?P\"");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 0}}", "the rate of USD is not a positive");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": -150}}", "the rate of JPY is not a positive");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": 0.0}}", "the rate of JPY is not a positive");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"abc\"}}",
              "the rate of JPY (\"abc\") is not a positive number");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"150 \"}}", "the rate of JPY (\"150 \")");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"\"}}", "the rate of JPY (\"\")");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"-1\"}}", "the rate of JPY (\"-1\")");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": true}}", "the rate of JPY is not");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": null}}", "the rate of JPY is not");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": [150]}}", "the rate of JPY is not");
    MALFORMED("{\"base\": \"USD\", \"date\": \"2026-11-04\", \"rates\": {\"USD\": 1}}",
              "\"date\" is \"2026-11-04\", not the requested 2026-11-03");
    MALFORMED("{\"base\": \"USD\", \"date\": 20261103, \"rates\": {\"USD\": 1}}",
              "\"date\" is not a string");
    MALFORMED("{\"base\": \"USD\", \"date\": \"2026-11-03T00:00:00Z\", \"rates\": {\"USD\": 1}}",
              "\"date\" is \"2026-11-03T00:00...\"");

    /* Valid documents. The base is 1 even when left out; other members are ignored. */
    CHECK_INT(dir_doc("{\"base\": \"USD\", \"rates\": {\"JPY\": 150}}", "USD", "JPY", f, &err),
              FX_OK);
    CHECK(q_is(f, "1/150"));
    CHECK_INT(dir_doc("{\"base\": \"USD\", \"rates\": {\"JPY\": 150}}", "USD", "USD", f, &err),
              FX_OK);
    CHECK(q_is(f, "1"));
    CHECK_INT(dir_doc("{\"disclaimer\": \"x\", \"timestamp\": 1, \"base\": \"USD\", \"date\": "
                      "\"2026-11-03\", \"rates\": {\"USD\": 1, \"JPY\": \"1.5e2\"}}",
                      "USD", "JPY", f, &err),
              FX_OK);
    CHECK(q_is(f, "1/150"));
    /* Cross rates through another base: 1.08 / 162 = 1/150. */
    CHECK_INT(dir_doc("{\"base\": \"EUR\", \"rates\": {\"USD\": 1.08, \"JPY\": 162}}", "USD",
                      "JPY", f, &err),
              FX_OK);
    CHECK(q_is(f, "1/150"));
    CHECK_INT(dir_doc("{\"base\": \"EUR\", \"rates\": {\"USD\": 1.08, \"JPY\": 162}}", "USD",
                      "EUR", f, &err),
              FX_OK);
    CHECK(q_is(f, "27/25"));
    /* A real with many digits is read as the shortest text of the double. */
    CHECK_INT(dir_doc("{\"base\": \"USD\", \"rates\": {\"JPY\": 1.5e2, \"EUR\": 0.1}}", "USD",
                      "EUR", f, &err),
              FX_OK);
    CHECK(q_is(f, "10"));
    /* More currencies than a fixed table would hold (providers send ~170). */
    buf_init(&big, 0);
    buf_puts(&big, "{\"base\": \"USD\", \"rates\": {\"USD\": 1");
    for (i = 0; i < 26 * 8; i++)
        buf_printf(&big, ", \"Q%c%c\": %zu", 'A' + (int)(i / 26), 'A' + (int)(i % 26), i + 1);
    buf_puts(&big, "}}");
    CHECK_INT(dir_doc(big.data, "USD", "QHZ", f, &err), FX_OK);
    CHECK(q_is(f, "1/208"));
    /* Larger than 1 MiB. */
    buf_reset(&big);
    buf_puts(&big, "{\"base\": \"USD\", \"rates\": {\"USD\": 1}, \"pad\": \"");
    for (i = 0; i < (1u << 20); i++)
        buf_putc(&big, 'x');
    buf_puts(&big, "\"}");
    CHECK_INT(dir_doc(big.data, "USD", "USD", f, &err), FX_ERROR);
    CHECK(strstr(err.msg, "exchange rates for 2026-11-03 (") == err.msg &&
          strstr(err.msg, "larger than 1 MiB") != NULL);
    buf_free(&big);
    mpq_clear(f);
}

/* source (the directory or a file:// template) has doc_1103 and doc_1105:
 * the day's own document, an earlier one, none within the window. */
static void check_written_days(const char *source)
{
    ms_error err;
    mpq_t f;
    char used[11];
    fx_table *t = fx_table_new(source, "USD", &err);

    CHECK(t != NULL);
    if (!t)
        return;
    mpq_init(f);
    CHECK_INT(factor_on(t, "2026-11-03", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(factor_on(t, "2026-11-05", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(factor_on(t, "2026-11-11", "JPY", f, used, &err), FX_MISSING);
    mpq_clear(f);
    fx_table_free(t);
}

static void test_directory_and_file_url(void)
{
    ms_error err;
    mpq_t f;
    char used[11], path[PATH_MAX + 64], ftmpl[PATH_MAX + 64];
    fx_table *t;

    mpq_init(f);
    CHECK_INT(write_file("2026-11-03.json", doc_1103), 0);
    CHECK_INT(write_file("2026-11-05.json", doc_1105), 0);
    /* Directory. */
    check_written_days(tmpdir);
    /* The same through a file:// template (a missing file is an absent day). */
    snprintf(ftmpl, sizeof ftmpl, "file://%s/{date}.json", tmpdir);
    check_written_days(ftmpl);
    /* A malformed file:// document names the date, not the path. */
    CHECK_INT(write_file("2026-11-06.json", doc_bad_json), 0);
    t = fx_table_new(ftmpl, "USD", &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(factor_on(t, "2026-11-06", "JPY", f, used, &err), FX_ERROR);
        CHECK(strstr(err.msg, "exchange rates for 2026-11-06 from file://: malformed document: "
                              "not valid JSON") == err.msg);
        CHECK(strstr(err.msg, tmpdir) == NULL);
        fx_table_free(t);
    }
    /* A directory that does not exist: every day is absent. */
    snprintf(path, sizeof path, "%s/nowhere", tmpdir);
    t = fx_table_new(path, "USD", &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(factor_on(t, "2026-11-03", "USD", f, used, &err), FX_MISSING);
        fx_table_free(t);
    }
    mpq_clear(f);
}

int main(void)
{
    ms_error err;
    int rc;
    http_route routes[] = {
        {"/fx/2026-11-01.json", 200, doc_1101, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-11-02.json", 200, doc_1102, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-11-03.json", 200, doc_1103, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-11-05.json", 200, doc_1105, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-10.json", 500, "boom\n", 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-11.json", 200, doc_bad_json, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-13.json", 200, doc_bad_base, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-14.json", 200, doc_wrong_date, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-15.json", 403, "no\n", 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-16.json", 0, NULL, 0, 0, 0, 0, NULL, NULL},
    };

    http_test_no_proxy();
    unsetenv("MOONSTAT_FETCH_TIMEOUT");
    if (scratch_dir_make(tmpdir, sizeof tmpdir, "test-fx") != 0) {
        perror("scratch_dir_make");
        return 1;
    }
    CHECK_INT(fetch_global_init(&err), 0);
    if (http_server_start(&srv, routes, MS_ARRAY_LEN(routes), NULL) != 0) {
        perror("http_server_start");
        return 1;
    }
    snprintf(tmpl, sizeof tmpl, "%s/fx/{date}.json?key=SECRET", srv.origin);

    test_new();
    test_url_days();
    test_url_errors();
    test_url_timeout();
    test_store();
    test_validation();
    test_directory_and_file_url();

    CHECK_INT(requests(), 0);
    CHECK_INT(http_server_stop(&srv), 0);
    scratch_dir_remove(tmpdir);
    rc = check_done("test_fx_rates");
    return rc;
}
