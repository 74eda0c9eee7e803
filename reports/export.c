/*
 * export.c - rendering and publishing report partitions (see export.h).
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_writer.h"
#include "publish.h"

#define C(n, k) {n, k}

static const report_column daily_kpi_columns[] = {
    C("date", COL_TEXT), C("game_id", COL_TEXT), C("platform", COL_TEXT),
    C("country", COL_TEXT), C("activations", COL_INT), C("registrations", COL_INT),
    C("registration_rate", COL_DECIMAL), C("new_roles", COL_INT),
    C("new_role_accounts", COL_INT), C("role_create_rate", COL_DECIMAL), C("dau", COL_INT),
    C("payers", COL_INT), C("revenue", COL_DECIMAL), C("payer_rate", COL_DECIMAL),
    C("new_payers", COL_INT), C("new_payer_rate", COL_DECIMAL), C("new_user_payers", COL_INT),
    C("new_user_payer_rate", COL_DECIMAL), C("arpu", COL_DECIMAL), C("arppu", COL_DECIMAL),
    C("refunds", COL_INT), C("refund_amount", COL_DECIMAL), C("currency", COL_TEXT),
};

static const report_column data_quality_columns[] = {
    C("run_date", COL_TEXT), C("game_id", COL_TEXT), C("item", COL_TEXT), C("count", COL_INT),
};

static const report_column retention_columns[] = {
    C("cohort_date", COL_TEXT), C("game_id", COL_TEXT), C("platform", COL_TEXT),
    C("country", COL_TEXT), C("day", COL_INT), C("cohort_size", COL_INT),
    C("retained", COL_INT), C("rate", COL_DECIMAL),
};

static const report_column ltv_columns[] = {
    C("cohort_date", COL_TEXT), C("game_id", COL_TEXT), C("platform", COL_TEXT),
    C("country", COL_TEXT), C("day", COL_INT), C("cohort_size", COL_INT),
    C("revenue", COL_DECIMAL), C("ltv", COL_DECIMAL), C("currency", COL_TEXT),
};

static const report_column revenue_columns[] = {
    C("period", COL_PERIOD), C("period_start", COL_TEXT), C("period_end", COL_TEXT),
    C("game_id", COL_TEXT), C("revenue", COL_DECIMAL), C("refund_amount", COL_DECIMAL),
    C("net_revenue", COL_DECIMAL), C("orders", COL_INT), C("payers", COL_INT),
    C("active_users", COL_INT), C("arppu", COL_DECIMAL), C("arpu", COL_DECIMAL),
    C("currency", COL_TEXT),
};

static const report_column revenue_by_currency_columns[] = {
    C("date", COL_TEXT), C("game_id", COL_TEXT), C("pay_channel", COL_TEXT),
    C("currency", COL_TEXT), C("orders", COL_INT), C("amount", COL_DECIMAL),
    C("revenue", COL_DECIMAL), C("refunds", COL_INT), C("refund_amount_original", COL_DECIMAL),
    C("reporting_currency", COL_TEXT),
};

#define REPORT(name, part, cols) {name, part, cols, MS_ARRAY_LEN(cols)}

static const report_def reports[] = {
    REPORT("daily_kpi", "date", daily_kpi_columns),
    REPORT("data_quality", "run_date", data_quality_columns),
    REPORT("retention", "cohort_date", retention_columns),
    REPORT("ltv", "cohort_date", ltv_columns),
    REPORT("revenue", "period_start", revenue_columns),
    REPORT("revenue_by_currency", "date", revenue_by_currency_columns),
};

const report_def *report_find(const char *name)
{
    size_t i;
    for (i = 0; i < MS_ARRAY_LEN(reports); i++)
        if (strcmp(reports[i].name, name) == 0)
            return &reports[i];
    return NULL;
}

int export_mark_pending(warehouse *wh, const char *report, const char *partition, ms_error *err)
{
    const char *params[2] = {report, partition};
    return wh_query(wh,
                    "INSERT INTO pending_exports (report, partition) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING",
                    "tt", params, NULL, NULL, err) < 0
               ? -1
               : 0;
}

/* ---- rendering ---------------------------------------------------------------- */

typedef struct row_set {
    char **cells;      /* n_rows * n_cols, NULL = SQL NULL */
    size_t n_rows, cap_rows, n_cols;
    const report_def *def;
    int failed;
} row_set;

static int collect_row(void *ctx, int ncols, const char *const *vals)
{
    row_set *rs = ctx;
    size_t i;
    if ((size_t)ncols != rs->n_cols)
        return -1;
    if (rs->n_rows == rs->cap_rows) {
        size_t ncap = rs->cap_rows ? rs->cap_rows * 2 : 64;
        char **p = realloc(rs->cells, ncap * rs->n_cols * sizeof *p);
        if (!p) {
            rs->failed = 1;
            return -1;
        }
        rs->cells = p;
        rs->cap_rows = ncap;
    }
    for (i = 0; i < rs->n_cols; i++) {
        char **cell = &rs->cells[rs->n_rows * rs->n_cols + i];
        *cell = NULL;
        if (vals[i] && !(*cell = strdup(vals[i]))) {
            size_t j;
            for (j = 0; j < i; j++)
                free(rs->cells[rs->n_rows * rs->n_cols + j]);
            rs->failed = 1;
            return -1;
        }
    }
    rs->n_rows++;
    return 0;
}

static int period_rank(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "day") == 0)
        return 0;
    if (strcmp(s, "week") == 0)
        return 1;
    if (strcmp(s, "month") == 0)
        return 2;
    return 3;
}

/* Numeric comparison of two decimal texts (NULL first). */
static int cmp_decimal(const char *a, const char *b)
{
    long double x, y;
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    x = strtold(a, NULL);
    y = strtold(b, NULL);
    return (x > y) - (x < y);
}

static const row_set *sort_rows_ctx;

static int cmp_rows(const void *pa, const void *pb)
{
    const row_set *rs = sort_rows_ctx;
    const char *const *a = *(const char *const *const *)pa;
    const char *const *b = *(const char *const *const *)pb;
    size_t i;
    for (i = 0; i < rs->n_cols; i++) {
        int c = 0;
        switch (rs->def->columns[i].kind) {
        case COL_TEXT:
            if (!a[i] || !b[i])
                c = (a[i] != NULL) - (b[i] != NULL);
            else
                c = strcmp(a[i], b[i]); /* byte order of UTF-8 */
            break;
        case COL_INT:
        case COL_DECIMAL:
            c = cmp_decimal(a[i], b[i]);
            break;
        case COL_PERIOD:
            c = period_rank(a[i]) - period_rank(b[i]);
            break;
        }
        if (c)
            return c;
    }
    return 0;
}

int export_render(warehouse *wh, const report_def *def, const char *partition, buf *out,
                  size_t *rows, ms_error *err)
{
    buf sql, header;
    row_set rs;
    char ***order = NULL;
    csv_writer w;
    size_t i, j;
    const char *params[1] = {partition};
    int rc = -1;

    memset(&rs, 0, sizeof rs);
    rs.n_cols = def->n_columns;
    rs.def = def;
    buf_init(&sql, 0);
    buf_init(&header, 0);
    if (buf_puts(&sql, "SELECT ") != 0)
        goto oom;
    for (i = 0; i < def->n_columns; i++)
        if (buf_printf(&sql, "%s%s", i ? ", " : "", def->columns[i].name) != 0 ||
            buf_printf(&header, "%s%s", i ? "," : "", def->columns[i].name) != 0)
            goto oom;
    if (buf_printf(&sql, " FROM %s WHERE %s = $1", def->name, def->partition_column) != 0)
        goto oom;
    err->msg[0] = '\0';
    if (wh_query(wh, sql.data, "t", params, collect_row, &rs, err) < 0) {
        if (rs.failed)
            goto oom;
        if (!err->msg[0])
            ms_error_set(err, "reading %s %s: unexpected columns", def->name, partition);
        goto out;
    }
    /* Sort an index of row pointers; reruns give the same order whatever the
     * backend returned. */
    order = malloc((rs.n_rows ? rs.n_rows : 1) * sizeof *order);
    if (!order)
        goto oom;
    for (i = 0; i < rs.n_rows; i++)
        order[i] = &rs.cells[i * rs.n_cols];
    sort_rows_ctx = &rs;
    qsort(order, rs.n_rows, sizeof *order, cmp_rows);
    sort_rows_ctx = NULL;

    buf_reset(out);
    csv_init(&w, out);
    csv_header(&w, header.data);
    for (i = 0; i < rs.n_rows; i++) {
        for (j = 0; j < rs.n_cols; j++) {
            const char *v = order[i][j];
            if (!v)
                csv_null(&w);
            else if (def->columns[j].kind == COL_TEXT || def->columns[j].kind == COL_PERIOD)
                csv_text(&w, v);
            else
                csv_raw(&w, v);
        }
        csv_end_row(&w);
    }
    if (csv_status(&w) != 0)
        goto oom;
    *rows = rs.n_rows;
    rc = 0;
    goto out;
oom:
    ms_error_set(err, "out of memory rendering %s %s", def->name, partition);
out:
    for (i = 0; i < rs.n_rows * rs.n_cols; i++)
        free(rs.cells[i]);
    free(rs.cells);
    free(order);
    buf_free(&sql);
    buf_free(&header);
    return rc;
}

/* ---- publishing --------------------------------------------------------------- */

typedef struct pending_list {
    char **report, **partition;
    size_t n, cap;
} pending_list;

static int collect_pending(void *ctx, int ncols, const char *const *vals)
{
    pending_list *p = ctx;
    (void)ncols;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        char **r = realloc(p->report, ncap * sizeof *r);
        char **q;
        if (!r)
            return -1;
        p->report = r;
        q = realloc(p->partition, ncap * sizeof *q);
        if (!q)
            return -1;
        p->partition = q;
        p->cap = ncap;
    }
    p->report[p->n] = strdup(vals[0]);
    p->partition[p->n] = strdup(vals[1]);
    if (!p->report[p->n] || !p->partition[p->n]) {
        free(p->report[p->n]);
        free(p->partition[p->n]);
        return -1;
    }
    p->n++;
    return 0;
}

/* How many pending partitions are published as one batch (publish.h: one
 * syncfs instead of five fsyncs each) and then forgotten in one transaction
 * (one WAL commit instead of one each). A run killed before a batch is
 * forgotten leaves its partitions pending; the next run renders them again
 * and finds the published ones unchanged (publish.h), so nothing is lost and
 * nothing is rewritten. */
#define PUBLISH_BATCH 256

/* Removes pending_exports rows [from, to) of pl, skipping those held back
 * (held[i]), in one transaction. Returns 0 or -1 (err set). */
static int forget_published(warehouse *wh, const pending_list *pl, const unsigned char *held,
                            size_t from, size_t to, ms_error *err)
{
    size_t i;
    if (from == to)
        return 0;
    if (wh_begin(wh, err) != 0)
        return -1;
    for (i = from; i < to; i++) {
        const char *params[2] = {pl->report[i], pl->partition[i]};
        if (held[i])
            continue;
        if (wh_query(wh, "DELETE FROM pending_exports WHERE report = $1 AND partition = $2", "tt",
                     params, NULL, NULL, err) < 0) {
            wh_rollback(wh);
            return -1;
        }
    }
    return wh_commit(wh, err);
}

/* Publishes what b holds, then forgets pending rows [from, to) of pl. */
static int publish_and_forget(warehouse *wh, publish_batch *b, const pending_list *pl,
                              const unsigned char *held, size_t from, size_t to, ms_error *err)
{
    if (publish_batch_count(b) > 0 && publish_batch_commit(b, err) != 0)
        return -1;
    return forget_published(wh, pl, held, from, to, err);
}

int export_publish_pending(warehouse *wh, const char *export_dir, const char *run_id,
                           const char *reporting_currency, export_hold_fn hold, void *hold_ctx,
                           export_stats *stats, ms_error *err)
{
    pending_list pl;
    buf csv;
    unsigned char *held = NULL;
    publish_batch *batch = NULL;
    size_t i, forgotten = 0;
    int rc = -1;

    memset(&pl, 0, sizeof pl);
    memset(stats, 0, sizeof *stats);
    buf_init(&csv, 0);
    if (wh_query(wh, "SELECT report, partition FROM pending_exports ORDER BY report, partition",
                 "", NULL, collect_pending, &pl, err) < 0) {
        if (!err->msg[0])
            ms_error_set(err, "out of memory");
        goto out;
    }
    if (!(held = calloc(pl.n ? pl.n : 1, 1))) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    if (!(batch = publish_batch_new(export_dir, err)))
        goto out;
    for (i = 0; i < pl.n; i++) {
        const report_def *def = report_find(pl.report[i]);
        publish_meta meta;
        size_t rows = 0;
        int r;
        if (i - forgotten == PUBLISH_BATCH) {
            if (publish_and_forget(wh, batch, &pl, held, forgotten, i, err) != 0)
                goto out;
            forgotten = i;
        }
        if (hold && hold(hold_ctx, pl.report[i], pl.partition[i])) {
            stats->held++;
            held[i] = 1;
            continue; /* stays pending */
        }
        if (def) {
            if (export_render(wh, def, pl.partition[i], &csv, &rows, err) != 0)
                goto out;
            meta.report = def->name;
            meta.partition = pl.partition[i];
            meta.run_id = run_id;
            meta.reporting_currency = reporting_currency;
            meta.schema_version = EXPORTS_SCHEMA_VERSION;
            r = publish_stage(batch, &meta, csv.data, csv.len, rows, err);
            if (r < 0)
                goto out;
            if (r == PUBLISH_WRITTEN)
                stats->written++;
            else
                stats->unchanged++;
        }
    }
    if (publish_and_forget(wh, batch, &pl, held, forgotten, pl.n, err) != 0)
        goto out;
    rc = 0;
out:
    publish_batch_free(batch); /* on error: drops what is staged */
    free(held);
    for (i = 0; i < pl.n; i++) {
        free(pl.report[i]);
        free(pl.partition[i]);
    }
    free(pl.report);
    free(pl.partition);
    buf_free(&csv);
    return rc;
}
