/*
 * sqlite_bulk.c - bulk inserts into SQLite through a virtual table (see
 * sqlite_bulk.h).
 *
 * Two buffers: while the inserter thread runs the INSERT ... SELECT of one,
 * sqlite_bulk_row fills the other. The connection is used by one thread at
 * a time: the inserter only between a hand-over and its completion, during
 * which the caller touches nothing but the other buffer, and every other
 * use of the connection first waits for the inserter (sqlite_bulk_wait).
 */
#include "sqlite_bulk.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BULK_MAX_COLS 32
#define BULK_MAX_ROWS 65536
#define BULK_MAX_VALUES ((size_t)1 << 19)
#define BULK_MAX_TEXT ((size_t)4 << 20)

/* Kinds of a buffered value (bulk_value.len when not text). */
#define VALUE_NULL (-1)
#define VALUE_INT (-2)

/* One buffered value: an integer, or text at `v` bytes into the text
 * buffer (an offset, since the buffer may move while it fills). */
typedef struct bulk_value {
    int64_t v;
    int32_t len;      /* text length, or VALUE_NULL / VALUE_INT */
} bulk_value;

typedef struct bulk_buffer {
    bulk_value *values;       /* n_rows * n_cols, row-major; BULK_MAX_VALUES */
    char *text;               /* BULK_MAX_TEXT bytes */
    size_t n_rows, text_len;
} bulk_buffer;

struct sqlite_bulk {
    sqlite3 *db;
    sqlite3_stmt *insert;     /* the open load's INSERT ... SELECT, NULL between loads */
    char table[64];           /* for error messages */
    char types[BULK_MAX_COLS + 1];
    int n_cols;
    size_t cap_rows;          /* rows per buffer for the open load */
    bulk_buffer buf[2];
    int filling;              /* the buffer sqlite_bulk_row fills */
    const bulk_buffer *reading; /* the one being inserted: what the table shows */
    int use_thread;           /* 0: inserts run on the caller's thread */

    /* Shared with the inserter thread, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int thread_started;
    int pending;              /* a buffer handed over and not yet inserted */
    int stop;                 /* the thread is to end */
    int failed;               /* an insert of the open load failed: errmsg */
    char errmsg[300];
    uint64_t n_statements, n_steps;
};

/* ---- the virtual table: the buffer being inserted, read once in order ---- */

typedef struct bulk_vtab {
    sqlite3_vtab base;        /* first: SQLite's part */
    sqlite_bulk *bulk;
} bulk_vtab;

typedef struct bulk_cursor {
    sqlite3_vtab_cursor base; /* first: SQLite's part */
    size_t row;
} bulk_cursor;

static int bulk_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **errmsg)
{
    bulk_vtab *t;
    int rc;
    (void)argc;
    (void)argv;
    (void)errmsg;
    rc = sqlite3_declare_vtab(db, "CREATE TABLE x(c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,"
                                  "c14,c15,c16,c17,c18,c19,c20,c21,c22,c23,c24,c25,c26,c27,c28,"
                                  "c29,c30,c31)");
    if (rc != SQLITE_OK)
        return rc;
    if (!(t = sqlite3_malloc(sizeof *t)))
        return SQLITE_NOMEM;
    memset(t, 0, sizeof *t);
    t->bulk = aux;
    *out = &t->base;
    return SQLITE_OK;
}

static int bulk_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

/* One plan: a scan of the buffer; SQLite checks any WHERE itself. */
static int bulk_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    (void)vt;
    info->estimatedCost = (double)BULK_MAX_ROWS;
    info->estimatedRows = BULK_MAX_ROWS;
    return SQLITE_OK;
}

static int bulk_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    bulk_cursor *c = sqlite3_malloc(sizeof *c);
    (void)vt;
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int bulk_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

static int bulk_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                       sqlite3_value **argv)
{
    (void)idx_num;
    (void)idx_str;
    (void)argc;
    (void)argv;
    ((bulk_cursor *)cur)->row = 0;
    return SQLITE_OK;
}

static int bulk_next(sqlite3_vtab_cursor *cur)
{
    ((bulk_cursor *)cur)->row++;
    return SQLITE_OK;
}

static int bulk_eof(sqlite3_vtab_cursor *cur)
{
    const sqlite_bulk *b = ((const bulk_vtab *)cur->pVtab)->bulk;
    return !b->reading || ((const bulk_cursor *)cur)->row >= b->reading->n_rows;
}

static int bulk_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    const bulk_cursor *c = (const bulk_cursor *)cur;
    const sqlite_bulk *b = ((const bulk_vtab *)cur->pVtab)->bulk;
    const bulk_value *v;
    if (col < 0 || col >= b->n_cols) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    v = &b->reading->values[c->row * (size_t)b->n_cols + (size_t)col];
    if (v->len == VALUE_NULL)
        sqlite3_result_null(ctx);
    else if (v->len == VALUE_INT)
        sqlite3_result_int64(ctx, v->v);
    else /* the buffer stays as it is until the statement is done with it */
        sqlite3_result_text(ctx, b->reading->text + v->v, v->len, SQLITE_STATIC);
    return SQLITE_OK;
}

static int bulk_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((const bulk_cursor *)cur)->row;
    return SQLITE_OK;
}

/* Eponymous only (no xCreate): "moonstat_bulk" exists on every connection
 * the module is registered on, and nothing can CREATE VIRTUAL TABLE it. */
static const sqlite3_module bulk_module = {
    .iVersion = 0,
    .xConnect = bulk_connect,
    .xBestIndex = bulk_best_index,
    .xDisconnect = bulk_disconnect,
    .xOpen = bulk_open,
    .xClose = bulk_close,
    .xFilter = bulk_filter,
    .xNext = bulk_next,
    .xEof = bulk_eof,
    .xColumn = bulk_column,
    .xRowid = bulk_rowid,
};

/* ---- inserting a buffer ----------------------------------------------------- */

/* Runs the INSERT ... SELECT over buffer *r and empties it. On the
 * inserter thread, or on the caller's without one; mu not held. */
static void insert_buffer(sqlite_bulk *b, bulk_buffer *r)
{
    int ok;
    uint64_t steps;
    b->reading = r;
    ok = sqlite3_step(b->insert) == SQLITE_DONE;
    steps = (uint64_t)sqlite3_stmt_status(b->insert, SQLITE_STMTSTATUS_VM_STEP, 1);
    ms_pthread_check(pthread_mutex_lock(&b->mu));
    if (!ok && !b->failed) {
        b->failed = 1;
        snprintf(b->errmsg, sizeof b->errmsg, "sqlite bulk insert into %s: %s", b->table,
                 sqlite3_errmsg(b->db));
    }
    b->n_statements++;
    b->n_steps += steps;
    ms_pthread_check(pthread_mutex_unlock(&b->mu));
    sqlite3_reset(b->insert); /* returns the step's error again: kept above */
    b->reading = NULL;
    r->n_rows = 0;
    r->text_len = 0;
}

static void *inserter_main(void *arg)
{
    sqlite_bulk *b = arg;
    ms_pthread_check(pthread_mutex_lock(&b->mu));
    for (;;) {
        int full; /* the buffer handed over: not the one being filled */
        while (!b->pending && !b->stop)
            ms_pthread_check(pthread_cond_wait(&b->cv, &b->mu));
        if (b->stop)
            break;
        full = !b->filling;
        ms_pthread_check(pthread_mutex_unlock(&b->mu));
        insert_buffer(b, &b->buf[full]);
        ms_pthread_check(pthread_mutex_lock(&b->mu));
        b->pending = 0;
        ms_pthread_check(pthread_cond_broadcast(&b->cv));
    }
    ms_pthread_check(pthread_mutex_unlock(&b->mu));
    return NULL;
}

/* Waits for the buffer handed over, if any. Returns 0, or -1 with err set
 * when an insert of the open load failed. */
static int wait_pending(sqlite_bulk *b, ms_error *err)
{
    int failed;
    ms_pthread_check(pthread_mutex_lock(&b->mu));
    while (b->pending)
        ms_pthread_check(pthread_cond_wait(&b->cv, &b->mu));
    failed = b->failed;
    if (failed && err)
        ms_error_set(err, "%s", b->errmsg);
    ms_pthread_check(pthread_mutex_unlock(&b->mu));
    return failed ? -1 : 0;
}

/* Inserts the filling buffer: hands it to the inserter thread and goes on
 * with the other one, or inserts it here without a thread. Returns 0, or
 * -1 with err set when an insert of the load failed. */
static int submit(sqlite_bulk *b, ms_error *err)
{
    if (b->buf[b->filling].n_rows == 0)
        return 0;
    if (wait_pending(b, err) != 0)
        return -1;
    if (b->use_thread && !b->thread_started) {
        if (pthread_create(&b->thread, NULL, inserter_main, b) == 0)
            b->thread_started = 1;
        else
            b->use_thread = 0; /* no thread to be had: insert here, as fast as before */
    }
    if (!b->use_thread) {
        insert_buffer(b, &b->buf[b->filling]);
        return wait_pending(b, err);
    }
    ms_pthread_check(pthread_mutex_lock(&b->mu));
    b->filling = !b->filling;
    b->pending = 1;
    ms_pthread_check(pthread_cond_broadcast(&b->cv));
    ms_pthread_check(pthread_mutex_unlock(&b->mu));
    return 0;
}

/* ---- the loader ------------------------------------------------------------- */

sqlite_bulk *sqlite_bulk_new(sqlite3 *db, ms_error *err)
{
    sqlite_bulk *b = calloc(1, sizeof *b);
    int i;
    if (!b) {
        ms_error_set(err, "out of memory");
        return NULL;
    }
    ms_pthread_check(pthread_mutex_init(&b->mu, NULL));
    ms_pthread_check(pthread_cond_init(&b->cv, NULL));
    for (i = 0; i < 2; i++)
        if (!(b->buf[i].values = malloc(BULK_MAX_VALUES * sizeof *b->buf[i].values)) ||
            !(b->buf[i].text = malloc(BULK_MAX_TEXT))) {
            sqlite_bulk_free(b);
            ms_error_set(err, "out of memory");
            return NULL;
        }
    b->db = db;
    b->use_thread = 1;
    if (sqlite3_create_module_v2(db, "moonstat_bulk", &bulk_module, b, NULL) != SQLITE_OK) {
        ms_error_set(err, "sqlite: registering the bulk-load module: %s", sqlite3_errmsg(db));
        sqlite_bulk_free(b);
        return NULL;
    }
    return b;
}

void sqlite_bulk_set_threads(sqlite_bulk *b, size_t n)
{
    if (!b->insert) /* a load keeps the way it started with */
        b->use_thread = n > 1;
}

int sqlite_bulk_begin(sqlite_bulk *b, const char *table, const char *columns, const char *types,
                      ms_error *err)
{
    buf sql;
    size_t n = strlen(types);
    int rc = -1;

    if (b->insert)
        return ms_error_set(err, "bulk load into %s while one into %s is open", table, b->table);
    if (n == 0 || n > BULK_MAX_COLS || strlen(table) >= sizeof b->table)
        return ms_error_set(err, "bulk load into %s: %zu columns (1 to %d)", table, n,
                            BULK_MAX_COLS);
    buf_init(&sql, 0);
    if (buf_printf(&sql, "INSERT INTO %s (%s) SELECT ", table, columns) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (buf_printf(&sql, "%sc%zu", i ? "," : "", i) != 0)
            goto oom;
    if (buf_puts(&sql, " FROM moonstat_bulk") != 0)
        goto oom;
    if (sqlite3_prepare_v2(b->db, sql.data, -1, &b->insert, NULL) != SQLITE_OK) {
        ms_error_set(err, "sqlite prepare bulk load into %s: %s", table, sqlite3_errmsg(b->db));
        b->insert = NULL;
        goto out;
    }
    memcpy(b->table, table, strlen(table) + 1);
    memcpy(b->types, types, n + 1);
    b->n_cols = (int)n;
    b->cap_rows = BULK_MAX_VALUES / n < BULK_MAX_ROWS ? BULK_MAX_VALUES / n : BULK_MAX_ROWS;
    b->buf[0].n_rows = b->buf[1].n_rows = 0;
    b->buf[0].text_len = b->buf[1].text_len = 0;
    b->failed = 0; /* no insert is pending between loads */
    rc = 0;
    goto out;
oom:
    ms_error_set(err, "out of memory");
out:
    buf_free(&sql);
    return rc;
}

/* strtoll(s, NULL, 10), quicker for what the loads hand in (at most 18
 * digits after an optional '-': days, instants, amounts): a few million
 * per first load, where glibc's strtoll was 0.25 s. Anything else goes to
 * strtoll itself, so the value is always strtoll's. */
static int64_t parse_i64(const char *s)
{
    const char *p = s + (*s == '-');
    uint64_t v = 0;
    size_t n;
    for (n = 0; p[n] >= '0' && p[n] <= '9'; n++)
        v = v * 10 + (uint64_t)(p[n] - '0');
    if (n == 0 || n > 18 || p[n] != '\0')
        return strtoll(s, NULL, 10);
    return *s == '-' ? -(int64_t)v : (int64_t)v;
}

int sqlite_bulk_row(sqlite_bulk *b, const char *const *vals, ms_error *err)
{
    size_t text = 0, lens[BULK_MAX_COLS];
    bulk_buffer *f;
    bulk_value *row;
    int i;

    if (!b->insert)
        return ms_error_set(err, "bulk insert into %s: no open load", b->table);
    for (i = 0; i < b->n_cols; i++) {
        lens[i] = vals[i] && b->types[i] != 'i' ? strlen(vals[i]) : 0;
        text += lens[i];
    }
    if (text > BULK_MAX_TEXT)
        return ms_error_set(err, "bulk insert into %s: a row of %zu bytes of text (at most %zu)",
                            b->table, text, BULK_MAX_TEXT);
    f = &b->buf[b->filling];
    if ((f->n_rows == b->cap_rows || f->text_len + text > BULK_MAX_TEXT) && submit(b, err) != 0)
        return -1;
    f = &b->buf[b->filling];
    row = &f->values[f->n_rows * (size_t)b->n_cols];
    for (i = 0; i < b->n_cols; i++) {
        if (!vals[i]) {
            row[i].len = VALUE_NULL;
        } else if (b->types[i] == 'i') {
            row[i].v = parse_i64(vals[i]);
            row[i].len = VALUE_INT;
        } else {
            memcpy(f->text + f->text_len, vals[i], lens[i]);
            row[i].v = (int64_t)f->text_len;
            row[i].len = (int32_t)lens[i];
            f->text_len += lens[i];
        }
    }
    f->n_rows++;
    return 0;
}

int sqlite_bulk_wait(sqlite_bulk *b, ms_error *err)
{
    return b && b->insert ? wait_pending(b, err) : 0;
}

int sqlite_bulk_end(sqlite_bulk *b, ms_error *err)
{
    int rc;
    if (!b->insert)
        return 0;
    rc = wait_pending(b, err);
    if (rc == 0)
        rc = submit(b, err);
    if (rc == 0)
        rc = wait_pending(b, err);
    else
        (void)wait_pending(b, NULL); /* the first error is the one reported */
    sqlite3_finalize(b->insert);
    b->insert = NULL;
    b->buf[0].n_rows = b->buf[1].n_rows = 0;
    b->buf[0].text_len = b->buf[1].text_len = 0;
    b->failed = 0;
    return rc;
}

void sqlite_bulk_stats(const sqlite_bulk *b, uint64_t *statements, uint64_t *steps)
{
    sqlite_bulk *m = (sqlite_bulk *)b; /* the lock only */
    *statements = *steps = 0;
    if (!b)
        return;
    ms_pthread_check(pthread_mutex_lock(&m->mu));
    *statements = b->n_statements;
    *steps = b->n_steps;
    ms_pthread_check(pthread_mutex_unlock(&m->mu));
}

void sqlite_bulk_free(sqlite_bulk *b)
{
    int i;
    if (!b)
        return;
    if (b->thread_started) {
        ms_pthread_check(pthread_mutex_lock(&b->mu));
        while (b->pending)
            ms_pthread_check(pthread_cond_wait(&b->cv, &b->mu));
        b->stop = 1;
        ms_pthread_check(pthread_cond_broadcast(&b->cv));
        ms_pthread_check(pthread_mutex_unlock(&b->mu));
        ms_pthread_check(pthread_join(b->thread, NULL));
    }
    if (b->insert)
        sqlite3_finalize(b->insert);
    for (i = 0; i < 2; i++) {
        free(b->buf[i].values);
        free(b->buf[i].text);
    }
    ms_pthread_check(pthread_cond_destroy(&b->cv));
    ms_pthread_check(pthread_mutex_destroy(&b->mu));
    free(b);
}
