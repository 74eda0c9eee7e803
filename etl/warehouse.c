/*
 * warehouse.c - backend table, migrations and the helpers shared by all
 * backends (see warehouse.h).
 */
#include "warehouse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_files.h"

/* The backends, by URI scheme. */
static const struct {
    const char *prefix;
    const warehouse_ops *ops;
} backends[] = {
    {"sqlite://", &warehouse_sqlite_ops},
    {"postgresql://", &warehouse_postgres_ops}, /* libpq URI, passed as is */
    {"postgres://", &warehouse_postgres_ops},
};

const warehouse_ops *warehouse_backend_for(const char *uri)
{
    size_t i;
    for (i = 0; i < MS_ARRAY_LEN(backends); i++)
        if (strncmp(uri, backends[i].prefix, strlen(backends[i].prefix)) == 0)
            return backends[i].ops;
    return NULL;
}

/* The URI for logs: without "user:password@" and without a "password="
 * parameter of the query string (libpq takes a password either way). */
static char *uri_display(const char *uri)
{
    const char *scheme_end = strstr(uri, "://");
    const char *at, *slash;
    char *out, *p;
    if (!scheme_end)
        return strdup(uri);
    slash = strchr(scheme_end + 3, '/');
    at = strchr(scheme_end + 3, '@');
    out = malloc(strlen(uri) + 1);
    if (!out)
        return NULL;
    if (!at || (slash && at > slash)) {
        strcpy(out, uri);
    } else {
        memcpy(out, uri, (size_t)(scheme_end + 3 - uri));
        strcpy(out + (scheme_end + 3 - uri), at + 1);
    }
    /* p: the '?' or '&' before a parameter */
    for (p = strchr(out, '?'); p;) {
        char *next = strchr(p + 1, '&');
        if (strncmp(p + 1, "password=", 9) != 0)
            p = next;
        else if (next)
            memmove(p + 1, next + 1, strlen(next + 1) + 1); /* p now precedes the next one */
        else {
            *p = '\0'; /* it was the last parameter */
            p = NULL;
        }
    }
    return out;
}

static int read_version_row(void *ctx, int ncols, const char *const *vals)
{
    int *v = ctx;
    if (ncols > 0 && vals[0])
        *v = atoi(vals[0]);
    return 0;
}

/* Applies schemas/<backend>/NNN_*.sql newer than the recorded version, each
 * in its own transaction together with the version bump. */
int warehouse_read_version(warehouse *w, ms_error *err)
{
    int current = 0;
    if (wh_exec(w, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                   "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                err) != 0)
        return -1;
    if (wh_query(w, "SELECT max(version) FROM schema_version", "", NULL, read_version_row,
                 &current, err) < 0)
        return -1;
    w->schema_version = current;
    return 0;
}

int warehouse_migrate(warehouse *w, ms_error *err)
{
    int current;
    size_t i;
    buf sql;

    if (warehouse_read_version(w, err) != 0)
        return ms_error_prefix(err, "warehouse %s", w->display);
    current = w->schema_version;
    buf_init(&sql, 0);
    for (i = 0; i < schema_files_count; i++) {
        const schema_file *f = &schema_files[i];
        const char *const *line;
        char version[16], now[21];
        const char *params[3];
        if (strcmp(f->backend, w->ops->schema_dir) != 0 || f->version <= current)
            continue;
        buf_reset(&sql);
        for (line = f->lines; *line; line++)
            if (buf_puts(&sql, *line) != 0) {
                ms_error_set(err, "out of memory");
                goto fail;
            }
        snprintf(version, sizeof version, "%d", f->version);
        params[0] = version;
        params[1] = f->name;
        ms_utc_now(now);
        params[2] = now;
        if (wh_begin(w, err) != 0)
            goto fail;
        if (wh_exec(w, sql.data, err) != 0 ||
            wh_query(w,
                     "INSERT INTO schema_version (version, name, applied_at) VALUES "
                     "($1, $2, $3)",
                     "itt", params, NULL, NULL, err) < 0) {
            ms_error_prefix(err, "schema migration %s/%s", f->backend, f->name);
            wh_rollback(w);
            goto fail;
        }
        if (wh_commit(w, err) != 0)
            goto fail;
        current = f->version;
    }
    w->schema_version = current;
    buf_free(&sql);
    return 0;
fail:
    buf_free(&sql);
    return ms_error_prefix(err, "warehouse %s", w->display);
}

warehouse *warehouse_open(const char *uri, ms_error *err)
{
    warehouse *w = NULL;
    const warehouse_ops *ops = warehouse_backend_for(uri);

    if (!ops) {
        ms_error_set(err, "warehouse URI \"%s\": unknown scheme (use sqlite:///path or postgresql://...)",
                     uri);
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (!w || !(w->display = uri_display(uri))) {
        ms_error_set(err, "out of memory");
        goto fail;
    }
    w->ops = ops;
    w->db = ops->open(uri, err);
    if (!w->db)
        goto fail;
    return w;
fail:
    warehouse_close(w);
    return NULL;
}

void warehouse_close(warehouse *w)
{
    if (!w)
        return;
    if (w->db)
        w->ops->close(w->db);
    free(w->display);
    free(w);
}

int wh_exec(warehouse *w, const char *sql, ms_error *err)
{
    return w->ops->exec(w->db, sql, err);
}

int wh_query(warehouse *w, const char *sql, const char *types, const char *const *params,
             wh_row_fn fn, void *ctx, ms_error *err)
{
    return w->ops->query(w->db, sql, types, params, fn, ctx, err);
}

int wh_begin(warehouse *w, ms_error *err)
{
    return wh_exec(w, "BEGIN", err);
}

int wh_commit(warehouse *w, ms_error *err)
{
    return wh_exec(w, "COMMIT", err);
}

int wh_rollback(warehouse *w)
{
    ms_error ignored;
    return wh_exec(w, "ROLLBACK", &ignored);
}

typedef struct int_result {
    int64_t value;
    int found;
} int_result;

static int read_int_row(void *ctx, int ncols, const char *const *vals)
{
    int_result *r = ctx;
    if (ncols > 0 && vals[0]) {
        r->value = strtoll(vals[0], NULL, 10);
        r->found = 1;
    }
    return 1; /* first row only */
}

int wh_query_int(warehouse *w, const char *sql, const char *types, const char *const *params,
                 int64_t *out, int *found, ms_error *err)
{
    int_result r = {0, 0};
    if (wh_query(w, sql, types, params, read_int_row, &r, err) < 0)
        return -1;
    *out = r.value;
    *found = r.found;
    return 0;
}

void wh_work_add(wh_work *to, warehouse *w)
{
    uint64_t statements, rows, steps;
    w->ops->stats(w->db, &statements, &rows, &steps);
    to->statements += statements;
    to->rows += rows;
    to->steps += steps;
}
