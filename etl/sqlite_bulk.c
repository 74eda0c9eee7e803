/*
 * sqlite_bulk.c - bulk inserts into SQLite through a virtual table (see
 * sqlite_bulk.h).
 */
#include "sqlite_bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BULK_MAX_COLS 32
#define BULK_MAX_ROWS 65536
#define BULK_MAX_VALUES (1u << 20)
#define BULK_MAX_TEXT ((size_t)8 << 20)

/* Kinds of a buffered value (bulk_value.len when not text). */
#define VALUE_NULL (-1)
#define VALUE_INT (-2)

/* One buffered value: an integer, or text at `v` bytes into the text
 * buffer (an offset, since the buffer may move while it fills). */
typedef struct bulk_value {
    int64_t v;
    int32_t len;      /* text length, or VALUE_NULL / VALUE_INT */
} bulk_value;

struct sqlite_bulk {
    sqlite3 *db;
    sqlite3_stmt *insert;     /* the open load's INSERT ... SELECT, NULL between loads */
    char table[64];           /* for error messages */
    char types[BULK_MAX_COLS + 1];
    int n_cols;
    int failed;               /* an insert of the open load failed */
    size_t cap_rows;          /* rows per buffer for the open load */
    size_t n_rows;
    bulk_value *values;       /* n_rows * n_cols, row-major */
    char *text;               /* BULK_MAX_TEXT bytes */
    size_t text_len;
    uint64_t n_statements, n_steps;
};

/* ---- the virtual table: the buffer's rows, read once in order ----------- */

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
    const bulk_cursor *c = (const bulk_cursor *)cur;
    return c->row >= ((const bulk_vtab *)cur->pVtab)->bulk->n_rows;
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
    v = &b->values[c->row * (size_t)b->n_cols + (size_t)col];
    if (v->len == VALUE_NULL)
        sqlite3_result_null(ctx);
    else if (v->len == VALUE_INT)
        sqlite3_result_int64(ctx, v->v);
    else /* the buffer stays as it is until the statement is done with it */
        sqlite3_result_text(ctx, b->text + v->v, v->len, SQLITE_STATIC);
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

/* ---- the loader ------------------------------------------------------------- */

sqlite_bulk *sqlite_bulk_new(sqlite3 *db, ms_error *err)
{
    sqlite_bulk *b = calloc(1, sizeof *b);
    if (!b || !(b->values = malloc(BULK_MAX_VALUES * sizeof *b->values)) ||
        !(b->text = malloc(BULK_MAX_TEXT))) {
        sqlite_bulk_free(b);
        ms_error_set(err, "out of memory");
        return NULL;
    }
    b->db = db;
    if (sqlite3_create_module_v2(db, "moonstat_bulk", &bulk_module, b, NULL) != SQLITE_OK) {
        ms_error_set(err, "sqlite: registering the bulk-load module: %s", sqlite3_errmsg(db));
        sqlite_bulk_free(b);
        return NULL;
    }
    return b;
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
    b->n_rows = 0;
    b->text_len = 0;
    b->failed = 0;
    rc = 0;
    goto out;
oom:
    ms_error_set(err, "out of memory");
out:
    buf_free(&sql);
    return rc;
}

/* Inserts the buffered rows with one statement and empties the buffer. */
static int bulk_flush(sqlite_bulk *b, ms_error *err)
{
    int rc = 0;
    if (b->n_rows == 0)
        return 0;
    b->n_statements++;
    if (sqlite3_step(b->insert) != SQLITE_DONE) {
        ms_error_set(err, "sqlite bulk insert into %s: %s", b->table, sqlite3_errmsg(b->db));
        b->failed = 1;
        rc = -1;
    }
    b->n_steps += (uint64_t)sqlite3_stmt_status(b->insert, SQLITE_STMTSTATUS_VM_STEP, 1);
    sqlite3_reset(b->insert); /* returns the step's error again: reported above */
    b->n_rows = 0;
    b->text_len = 0;
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
    bulk_value *row;
    int i;

    if (!b->insert || b->failed)
        return ms_error_set(err, "bulk insert into %s: no open load", b->table);
    for (i = 0; i < b->n_cols; i++) {
        lens[i] = vals[i] && b->types[i] != 'i' ? strlen(vals[i]) : 0;
        text += lens[i];
    }
    if (text > BULK_MAX_TEXT)
        return ms_error_set(err, "bulk insert into %s: a row of %zu bytes of text (at most %zu)",
                            b->table, text, BULK_MAX_TEXT);
    if ((b->n_rows == b->cap_rows || b->text_len + text > BULK_MAX_TEXT) &&
        bulk_flush(b, err) != 0)
        return -1;
    row = &b->values[b->n_rows * (size_t)b->n_cols];
    for (i = 0; i < b->n_cols; i++) {
        if (!vals[i]) {
            row[i].len = VALUE_NULL;
        } else if (b->types[i] == 'i') {
            row[i].v = parse_i64(vals[i]);
            row[i].len = VALUE_INT;
        } else {
            memcpy(b->text + b->text_len, vals[i], lens[i]);
            row[i].v = (int64_t)b->text_len;
            row[i].len = (int32_t)lens[i];
            b->text_len += lens[i];
        }
    }
    b->n_rows++;
    return 0;
}

int sqlite_bulk_end(sqlite_bulk *b, ms_error *err)
{
    int rc = 0;
    if (!b->insert)
        return 0;
    if (!b->failed)
        rc = bulk_flush(b, err);
    sqlite3_finalize(b->insert);
    b->insert = NULL;
    b->n_rows = 0;
    b->text_len = 0;
    return rc;
}

void sqlite_bulk_stats(const sqlite_bulk *b, uint64_t *statements, uint64_t *steps)
{
    *statements = b ? b->n_statements : 0;
    *steps = b ? b->n_steps : 0;
}

void sqlite_bulk_free(sqlite_bulk *b)
{
    if (!b)
        return;
    if (b->insert)
        sqlite3_finalize(b->insert);
    free(b->values);
    free(b->text);
    free(b);
}
