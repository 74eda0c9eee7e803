/*
 * warehouse_split.c - reads now on the worker's connection, writes later on
 * the job's (warehouse_split.h).
 */
#include "warehouse_split.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keymap.h"

/* One deferred statement; its strings live in the split's arena. */
typedef struct split_write {
    const char *sql;
    const char *types;
    size_t first_param;   /* index into params */
    size_t n_params;      /* strlen(types) */
} split_write;

struct wh_split {
    warehouse handle;     /* what the workers see: ops = split_ops, db = this */
    warehouse *reader;    /* borrowed */
    split_write *writes;
    size_t n_writes, cap_writes;
    const char **params;  /* NULL stays NULL (SQL NULL) */
    size_t n_params, cap_params;
    arena strings;
};

enum statement_kind { STMT_READ, STMT_WRITE, STMT_OTHER };

/* The first word of sql decides; the deferral is only sound for plain
 * reads and writes (see the header). */
static enum statement_kind statement_kind(const char *sql)
{
    static const struct {
        const char *word;
        enum statement_kind kind;
    } words[] = {{"SELECT", STMT_READ}, {"WITH", STMT_READ},   {"INSERT", STMT_WRITE},
                 {"UPDATE", STMT_WRITE}, {"DELETE", STMT_WRITE}};
    size_t i, n = 0;
    while (isspace((unsigned char)*sql))
        sql++;
    while (isalpha((unsigned char)sql[n]))
        n++;
    for (i = 0; i < MS_ARRAY_LEN(words); i++)
        if (strlen(words[i].word) == n && strncasecmp(sql, words[i].word, n) == 0)
            return words[i].kind;
    return STMT_OTHER;
}

static int record(wh_split *s, const char *sql, const char *types, const char *const *params,
                  ms_error *err)
{
    size_t n = types ? strlen(types) : 0, i;
    split_write *w;
    void *p;

    if (!(p = ms_grow(s->writes, &s->cap_writes, s->n_writes + 1, sizeof *s->writes, 64)))
        goto oom;
    s->writes = p;
    if (!(p = ms_grow(s->params, &s->cap_params, s->n_params + n, sizeof *s->params, 256)))
        goto oom;
    s->params = p;
    w = &s->writes[s->n_writes];
    if (!(w->sql = arena_strndup(&s->strings, sql, strlen(sql))) ||
        !(w->types = arena_strndup(&s->strings, types ? types : "", n)))
        goto oom;
    for (i = 0; i < n; i++) {
        const char *v = params[i];
        if (v && !(v = arena_strndup(&s->strings, v, strlen(v))))
            goto oom;
        s->params[s->n_params + i] = v;
    }
    w->first_param = s->n_params;
    w->n_params = n;
    s->n_params += n;
    s->n_writes++;
    return 0;
oom:
    return ms_error_set(err, "out of memory");
}

static int split_query(void *db, const char *sql, const char *types, const char *const *params,
                       wh_row_fn fn, void *ctx, ms_error *err)
{
    wh_split *s = db;
    switch (statement_kind(sql)) {
    case STMT_READ:
        return wh_query(s->reader, sql, types, params, fn, ctx, err);
    case STMT_WRITE:
        if (fn)
            break; /* a write that hands rows back (RETURNING) cannot wait */
        return record(s, sql, types, params, err);
    case STMT_OTHER:
        break;
    }
    return ms_error_set(err, "internal: statement not allowed on a compute worker: %.80s", sql);
}

static int split_exec(void *db, const char *sql, ms_error *err)
{
    return split_query(db, sql, "", NULL, NULL, NULL, err);
}

static int split_load_begin(void *db, const char *table, const char *columns, const char *types,
                            ms_error *err)
{
    (void)db;
    (void)columns;
    (void)types;
    return ms_error_set(err, "internal: bulk load of %s on a compute worker", table);
}

static int split_load_row(void *db, const char *const *vals, ms_error *err)
{
    (void)db;
    (void)vals;
    return ms_error_set(err, "internal: bulk load on a compute worker");
}

static int split_load_end(void *db, ms_error *err)
{
    (void)db;
    return ms_error_set(err, "internal: bulk load on a compute worker");
}

static int split_try_lock(void *db, ms_error *err)
{
    (void)db;
    return ms_error_set(err, "internal: locking through a compute worker");
}

static void split_stats(void *db, uint64_t *statements, uint64_t *rows, uint64_t *work)
{
    wh_split *s = db;
    s->reader->ops->stats(s->reader->db, statements, rows, work);
}

static void split_close(void *db)
{
    (void)db; /* the split is freed by wh_split_free */
}

static const warehouse_ops split_ops = {
    .scheme = "split",
    .schema_dir = "",
    .open = NULL,
    .close = split_close,
    .try_lock = split_try_lock,
    .exec = split_exec,
    .query = split_query,
    .load_begin = split_load_begin,
    .load_row = split_load_row,
    .load_end = split_load_end,
    .stats = split_stats,
    .secondary_indexes = NULL,
};

wh_split *wh_split_new(warehouse *reader)
{
    wh_split *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->reader = reader;
    s->handle.ops = &split_ops;
    s->handle.db = s;
    s->handle.schema_version = reader->schema_version;
    s->handle.display = reader->display;
    arena_init(&s->strings);
    return s;
}

void wh_split_free(wh_split *s)
{
    if (!s)
        return;
    free(s->writes);
    free(s->params);
    arena_free(&s->strings);
    free(s);
}

warehouse *wh_split_handle(wh_split *s)
{
    return &s->handle;
}

size_t wh_split_pending(const wh_split *s)
{
    return s->n_writes;
}

int wh_split_replay(wh_split *s, warehouse *target, ms_error *err)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < s->n_writes && rc == 0; i++) {
        const split_write *w = &s->writes[i];
        rc = wh_query(target, w->sql, w->types, s->params + w->first_param, NULL, NULL, err) < 0
                 ? -1
                 : 0;
    }
    s->n_writes = 0;
    s->n_params = 0;
    arena_free(&s->strings);
    return rc;
}
