/*
 * csv_writer.c - the export CSV dialect (exports.md "CSV dialect").
 */
#include "csv_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void csv_init(csv_writer *w, buf *out)
{
    w->out = out;
    w->fields = 0;
    w->failed = 0;
    w->rows = 0;
}

static void put(csv_writer *w, const char *p, size_t n)
{
    if (w->failed)
        return;
    if (buf_append(w->out, p, n) != 0)
        w->failed = 1;
}

static int needs_quotes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n')
            return 1;
    }
    return 0;
}

static int needs_formula_prefix(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    switch (s[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
        return 1;
    default:
        return 0;
    }
}

/* Writes one field: separator, optional apostrophe, quoting. */
static void field(csv_writer *w, const char *s, size_t n, int prefix)
{
    if (w->fields > 0)
        put(w, ",", 1);
    w->fields++;
    if (!s || n == 0)
        return;
    if (!needs_quotes(s, n)) {
        if (prefix)
            put(w, "'", 1);
        put(w, s, n);
        return;
    }
    put(w, "\"", 1);
    if (prefix)
        put(w, "'", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            put(w, s + start, i + 1 - start); /* up to and including the quote */
            put(w, "\"", 1);                  /* ... doubled */
            start = i + 1;
        }
    }
    put(w, s + start, n - start);
    put(w, "\"", 1);
}

void csv_text(csv_writer *w, const char *s)
{
    if (!s) {
        field(w, NULL, 0, 0);
        return;
    }
    size_t n = strlen(s);
    field(w, s, n, needs_formula_prefix(s, n));
}

void csv_text_n(csv_writer *w, const char *s, size_t n)
{
    if (!s)
        n = 0;
    field(w, s, n, needs_formula_prefix(s, n));
}

void csv_raw(csv_writer *w, const char *s)
{
    field(w, s, s ? strlen(s) : 0, 0);
}

void csv_int(csv_writer *w, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    field(w, tmp, n > 0 ? (size_t)n : 0, 0);
}

void csv_null(csv_writer *w)
{
    field(w, NULL, 0, 0);
}

void csv_end_row(csv_writer *w)
{
    put(w, "\n", 1);
    w->fields = 0;
    w->rows++;
}

void csv_header(csv_writer *w, const char *columns)
{
    const char *p = columns ? columns : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        field(w, p, n, 0);
        if (!comma)
            break;
        p = comma + 1;
    }
    csv_end_row(w);
}

int csv_status(const csv_writer *w)
{
    return w->failed ? -1 : 0;
}
