/*
 * test_warehouse_postgres.c - the PostgreSQL backend against a real server.
 *
 * Skipped (0 assertions) unless MOONSTAT_TEST_PG holds a base libpq URI of a
 * throwaway cluster (tests/pg/start.sh). The test creates its own database,
 * and drops it at the end: migrations, COPY escaping round trips, parameters,
 * data errors, the advisory lock between two handles, reconnecting after
 * pg_terminate_backend outside a transaction, and "connection lost" inside
 * one (nothing of the transaction kept), credentials kept out of messages.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common.h"
#include "schema_files.h"
#include "warehouse.h"

static PGconn *admin;

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* base with its database replaced by db (a URI: scheme://auth/db?query). */
static char *uri_with_db(const char *base, const char *db)
{
    const char *auth = strstr(base, "://");
    const char *slash, *query;
    buf b;
    auth = auth ? auth + 3 : base;
    slash = strchr(auth, '/');
    query = strchr(auth, '?');
    if (!slash || (query && slash > query))
        slash = query ? query : auth + strlen(auth);
    buf_init(&b, 0);
    buf_append(&b, base, (size_t)(slash - base));
    buf_printf(&b, "/%s%s", db, query ? query : "");
    return b.data;
}

static int admin_exec(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        printf("admin: %s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
    return ok ? 0 : -1;
}

/* Terminates the server process pid and waits until it is gone. */
static int terminate(const char *pid)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s, 10000)", pid);
    return admin_exec(sql);
}

/* ---- helpers over the warehouse interface ----------------------------------- */

typedef struct rows {
    char *cells[256][4];
    int n, cols;
} rows;

static int collect(void *ctx, int ncols, const char *const *v)
{
    rows *r = ctx;
    int i;
    if (r->n == 256)
        return 1;
    r->cols = ncols;
    for (i = 0; i < ncols && i < 4; i++)
        r->cells[r->n][i] = v[i] ? strdup(v[i]) : NULL;
    r->n++;
    return 0;
}

static int collect_nothing(void *ctx, int ncols, const char *const *v)
{
    (void)ctx;
    (void)ncols;
    (void)v;
    return 0;
}

static void rows_free(rows *r)
{
    int i, j;
    for (i = 0; i < r->n; i++)
        for (j = 0; j < 4; j++)
            free(r->cells[i][j]);
    memset(r, 0, sizeof *r);
}

/* The first value of a one-row query, copied into out ("" when none, "NULL"
 * for SQL NULL, "ERROR" on error). */
static const char *value(warehouse *w, const char *sql, const char *types,
                         const char *const *params, char *out, size_t outsz)
{
    rows r;
    ms_error err;
    memset(&r, 0, sizeof r);
    if (wh_query(w, sql, types, params, collect, &r, &err) < 0) {
        snprintf(out, outsz, "ERROR");
        printf("  (query error: %s)\n", err.msg);
    } else if (r.n == 0) {
        snprintf(out, outsz, "%s", "");
    } else {
        snprintf(out, outsz, "%s", r.cells[0][0] ? r.cells[0][0] : "NULL");
    }
    rows_free(&r);
    return out;
}

static void backend_pid(warehouse *w, char pid[32])
{
    value(w, "SELECT pg_backend_pid()", "", NULL, pid, 32);
}

/* ---- the tests ----------------------------------------------------------------- */

static void test_open_and_migrate(const char *uri)
{
    ms_error err;
    warehouse *w = warehouse_open(uri, &err);
    int want = 0;
    size_t i;
    char v[64];
    for (i = 0; i < schema_files_count; i++)
        if (strcmp(schema_files[i].backend, "postgresql") == 0 && schema_files[i].version > want)
            want = schema_files[i].version;
    CHECK(w != NULL);
    if (!w) {
        printf("  open: %s\n", err.msg);
        return;
    }
    CHECK(w->ops == &warehouse_postgres_ops);
    CHECK(warehouse_backend_for("postgres://x/y") == &warehouse_postgres_ops);
    CHECK(warehouse_backend_for("postgresql://x/y") == &warehouse_postgres_ops);
    CHECK_INT(warehouse_migrate(w, &err), 0);
    CHECK_INT(w->schema_version, want);
    CHECK(want >= 3);
    /* A second migration finds nothing to do. */
    CHECK_INT(warehouse_migrate(w, &err), 0);
    {
        /* One row per applied migration: as many as the newest version. */
        char want_rows[16];
        snprintf(want_rows, sizeof want_rows, "%d", want);
        CHECK_STR(value(w, "SELECT count(*) FROM schema_version", "", NULL, v, sizeof v), want_rows);
    }
    /* The session: ISO dates, NUMERIC text exactly as written. */
    CHECK_STR(value(w, "SELECT DATE '2026-11-05'", "", NULL, v, sizeof v), "2026-11-05");
    CHECK_STR(value(w, "SELECT '0.060302'::numeric(20,6)", "", NULL, v, sizeof v), "0.060302");
    CHECK_STR(value(w, "SELECT '0.00'::numeric(20,2)", "", NULL, v, sizeof v), "0.00");
    CHECK_STR(value(w, "SELECT '1200'::numeric", "", NULL, v, sizeof v), "1200");
    CHECK_STR(value(w, "SELECT '330.00'::numeric", "", NULL, v, sizeof v), "330.00");
    warehouse_close(w);
}

static void test_params(warehouse *w)
{
    char v[256];
    ms_error err;
    const char *p2[2] = {"41", "x"};
    const char *pn[1] = {NULL};
    const char *pd[2] = {"2026-11-05", "unused"};
    const char *pk[4] = {"2026-11-05", "star", "a'b\"c;--", "7"};
    CHECK_STR(value(w, "SELECT $1 + 1", "i", p2, v, sizeof v), "42");
    CHECK_STR(value(w, "SELECT $2 || '!'", "it", p2, v, sizeof v), "x!");
    CHECK_STR(value(w, "SELECT $1::text", "t", pn, v, sizeof v), "NULL");
    /* A 't' parameter takes its type from the context (a DATE column), and
     * a parameter the statement does not use is accepted. */
    CHECK_INT(wh_exec(w, "INSERT INTO data_quality (run_date, game_id, item, count) VALUES "
                         "('2026-11-05', 'star', 'lines_read', 3)", &err), 0);
    CHECK_STR(value(w, "SELECT count FROM data_quality WHERE run_date = $1", "tt", pd, v, sizeof v),
              "3");
    /* Text is bound, never spliced: quotes and semicolons are data. */
    CHECK_INT(wh_query(w, "INSERT INTO data_quality (run_date, game_id, item, count) VALUES "
                          "($1, $2, $3, $4) ON CONFLICT (run_date, game_id, item) DO UPDATE SET "
                          "count = data_quality.count + excluded.count",
                       "ttti", pk, NULL, NULL, &err), 0);
    CHECK_INT(wh_query(w, "INSERT INTO data_quality (run_date, game_id, item, count) VALUES "
                          "($1, $2, $3, $4) ON CONFLICT (run_date, game_id, item) DO UPDATE SET "
                          "count = data_quality.count + excluded.count",
                       "ttti", pk, NULL, NULL, &err), 0);
    CHECK_STR(value(w, "SELECT count FROM data_quality WHERE item = $3", "ttti", pk, v, sizeof v),
              "14");
    /* A callback's non-zero return stops the rows and is returned. */
    {
        rows r;
        memset(&r, 0, sizeof r);
        CHECK_INT(wh_query(w, "SELECT generate_series(1, 300)", "", NULL, collect, &r, &err), 1);
        CHECK_INT(r.n, 256);
        rows_free(&r);
    }
}

static void test_data_error(warehouse *w)
{
    ms_error err;
    const char *pk[2] = {"dup", "1"};
    err.msg[0] = '\0';
    CHECK_INT(wh_query(w, "INSERT INTO game_state (game_id, horizon) VALUES ($1, $2)", "ti", pk,
                       NULL, NULL, &err), 0);
    CHECK(wh_query(w, "INSERT INTO game_state (game_id, horizon) VALUES ($1, $2)", "ti", pk, NULL,
                   NULL, &err) < 0);
    CHECK(strstr(err.msg, "duplicate key") != NULL);
    CHECK(strstr(err.msg, "INSERT INTO game_state") != NULL);
    CHECK(strstr(err.msg, "23505") != NULL);
    if (getenv("VERBOSE"))
        printf("  data error: %s\n", err.msg);
    CHECK(strncmp(err.msg, "connection lost", 15) != 0);
    /* A type error in a bulk load names the table and the line. */
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK_INT(w->ops->load_begin(w->db, "game_state", "game_id,horizon", "ti", &err), 0);
    {
        const char *row[2] = {"g", "not a number"};
        CHECK_INT(w->ops->load_row(w->db, row, &err), 0);
    }
    CHECK(w->ops->load_end(w->db, &err) < 0);
    CHECK(strstr(err.msg, "bigint") != NULL);
    CHECK(strstr(err.msg, "COPY game_state") != NULL);
    if (getenv("VERBOSE"))
        printf("  copy error: %s\n", err.msg);
    CHECK_INT(wh_rollback(w), 0);
    /* The connection is usable again. */
    {
        char v[32];
        CHECK_STR(value(w, "SELECT count(*) FROM game_state", "", NULL, v, sizeof v), "1");
    }
}

/* COPY text format: every awkward byte survives the round trip. */
static void test_copy_round_trip(warehouse *w)
{
    static const char *const texts[] = {
        "plain",
        "tab\there",
        "new\nline",
        "carriage\rreturn\r\n",
        "back\\slash \\N \\t \\\\",
        "\\.",
        "\\",
        "",
        "NULL",
        "utf-8: \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8c\x99",
        "quote ' double \" comma , semicolon ;",
        NULL,
    };
    size_t n = MS_ARRAY_LEN(texts), i;
    ms_error err;
    char id[32], *big;
    rows r;
    int ok = 1, k;

    CHECK_INT(wh_exec(w, "CREATE TEMP TABLE IF NOT EXISTS rt (id BIGINT, t TEXT, u TEXT)", &err), 0);
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK_INT(w->ops->load_begin(w->db, "rt", "id,t,u", "itt", &err), 0);
    for (i = 0; i < n; i++) {
        const char *row[3] = {id, texts[i], "x"};
        snprintf(id, sizeof id, "%zu", i);
        CHECK_INT(w->ops->load_row(w->db, row, &err), 0);
    }
    /* Longer than the 64 KiB send buffer, and many rows across flushes. */
    big = malloc(200001);
    for (k = 0; k < 200000; k++)
        big[k] = "ab\tc\\d\ne"[k % 8];
    big[200000] = '\0';
    {
        const char *row[3] = {"1000", big, NULL};
        CHECK_INT(w->ops->load_row(w->db, row, &err), 0);
    }
    for (k = 0; k < 20000; k++) {
        char t[64];
        const char *row[3] = {id, t, "\t"};
        snprintf(id, sizeof id, "%d", 2000 + k);
        snprintf(t, sizeof t, "row %d\t\\", k);
        if (w->ops->load_row(w->db, row, &err) != 0)
            ok = 0;
    }
    CHECK(ok);
    CHECK_INT(w->ops->load_end(w->db, &err), 0);
    CHECK_INT(wh_commit(w, &err), 0);

    for (i = 0; i < n; i++) {
        const char *p[1] = {id};
        snprintf(id, sizeof id, "%zu", i);
        memset(&r, 0, sizeof r);
        CHECK_INT(wh_query(w, "SELECT t, u FROM rt WHERE id = $1", "i", p, collect, &r, &err), 0);
        CHECK_INT(r.n, 1);
        if (r.n == 1) {
            if (texts[i])
                CHECK_STR(r.cells[0][0], texts[i]);
            else
                CHECK(r.cells[0][0] == NULL);
            CHECK_STR(r.cells[0][1], "x");
        }
        rows_free(&r);
    }
    memset(&r, 0, sizeof r);
    CHECK_INT(wh_query(w, "SELECT t, u FROM rt WHERE id = 1000", "", NULL, collect, &r, &err), 0);
    CHECK_INT(r.n, 1);
    if (r.n == 1) {
        CHECK(r.cells[0][0] && strcmp(r.cells[0][0], big) == 0);
        CHECK(r.cells[0][1] == NULL);
    }
    rows_free(&r);
    {
        char v[64];
        CHECK_STR(value(w, "SELECT count(*) FROM rt WHERE id >= 2000 AND u = E'\\t' AND "
                           "t = 'row ' || (id - 2000) || E'\\t\\\\'",
                        "", NULL, v, sizeof v),
                  "20000");
    }
    free(big);
}

/* A statement in the middle of a bulk load: the rows so far are stored, the
 * load goes on (as with SQLite's INSERTs). */
static void test_copy_interleaved(warehouse *w)
{
    ms_error err;
    char v[32];
    int i;
    CHECK_INT(wh_exec(w, "CREATE TEMP TABLE IF NOT EXISTS il (n BIGINT)", &err), 0);
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK_INT(w->ops->load_begin(w->db, "il", "n", "i", &err), 0);
    for (i = 0; i < 10; i++) {
        char n[16];
        const char *row[1] = {n};
        snprintf(n, sizeof n, "%d", i);
        CHECK_INT(w->ops->load_row(w->db, row, &err), 0);
        if (i == 4)
            CHECK_STR(value(w, "SELECT count(*) FROM il", "", NULL, v, sizeof v), "5");
    }
    CHECK_INT(w->ops->load_end(w->db, &err), 0);
    CHECK_STR(value(w, "SELECT sum(n) FROM il", "", NULL, v, sizeof v), "45");
    CHECK_INT(wh_commit(w, &err), 0);
}

/* Inside a transaction, statements without rows are pipelined: their
 * errors come with the next statement that waits, naming the statement that
 * failed; a COMMIT then fails and ends the transaction. */
static void test_pipelined(warehouse *w)
{
    ms_error err;
    char v[64], n[16];
    const char *p[2] = {"pipe", n};
    int i, ok = 1;

    /* Many rows (more than one pipeline batch), then a read. */
    CHECK_INT(wh_begin(w, &err), 0);
    for (i = 0; i < 1500; i++) {
        snprintf(n, sizeof n, "%d", i);
        if (wh_query(w, "INSERT INTO dirty_days (game_id, day) VALUES ($1, $2)", "ti", p, NULL,
                     NULL, &err) != 0)
            ok = 0;
    }
    CHECK(ok);
    CHECK_STR(value(w, "SELECT count(*) FROM dirty_days WHERE game_id = 'pipe'", "", NULL, v,
                    sizeof v),
              "1500");
    CHECK_INT(wh_commit(w, &err), 0);

    /* A failing statement in the middle: reported later, with its text. */
    CHECK_INT(wh_begin(w, &err), 0);
    snprintf(n, sizeof n, "%d", 5000);
    CHECK_INT(wh_query(w, "INSERT INTO dirty_days (game_id, day) VALUES ($1, $2)", "ti", p, NULL,
                       NULL, &err), 0);
    snprintf(n, sizeof n, "%d", 7); /* a duplicate key */
    CHECK_INT(wh_query(w, "INSERT INTO dirty_days (game_id, day) VALUES ($1, $2)", "ti", p, NULL,
                       NULL, &err), 0);
    CHECK_INT(wh_query(w, "DELETE FROM dirty_days WHERE game_id = $1 AND day = $2", "ti", p, NULL,
                       NULL, &err), 0);
    err.msg[0] = '\0';
    CHECK(wh_query(w, "SELECT count(*) FROM dirty_days", "", NULL, collect_nothing, NULL, &err) < 0);
    CHECK(strstr(err.msg, "duplicate key") != NULL);
    CHECK(strstr(err.msg, "INSERT INTO dirty_days") != NULL);
    CHECK_INT(wh_rollback(w), 0);
    CHECK_STR(value(w, "SELECT count(*) FROM dirty_days WHERE day = 5000", "", NULL, v, sizeof v),
              "0");

    /* The same error found by COMMIT: it fails, and the transaction is over. */
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK_INT(wh_query(w, "INSERT INTO dirty_days (game_id, day) VALUES ($1, $2)", "ti", p, NULL,
                       NULL, &err), 0);
    err.msg[0] = '\0';
    CHECK(wh_commit(w, &err) < 0);
    CHECK(strstr(err.msg, "duplicate key") != NULL);
    CHECK(strstr(err.msg, "INSERT INTO dirty_days") != NULL);
    if (getenv("VERBOSE"))
        printf("  pipelined error at COMMIT: %s\n", err.msg);
    CHECK_INT(wh_begin(w, &err), 0); /* a new transaction: the old one ended */
    CHECK_INT(wh_commit(w, &err), 0);

    /* A failed statement of the ordinary kind, then COMMIT: the server
     * answers ROLLBACK, which must not pass for a commit. */
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK(wh_exec(w, "INSERT INTO dirty_days (game_id, day) VALUES ('pipe', 7)", &err) < 0);
    CHECK(wh_commit(w, &err) < 0);
    CHECK(strstr(err.msg, "rolled") != NULL);
    CHECK_STR(value(w, "SELECT count(*) FROM dirty_days WHERE game_id = 'pipe'", "", NULL, v,
                    sizeof v),
              "1500");
}

static void test_lock(const char *uri)
{
    ms_error err;
    warehouse *a = warehouse_open(uri, &err), *b = warehouse_open(uri, &err);
    CHECK(a && b);
    if (!a || !b) {
        warehouse_close(a);
        warehouse_close(b);
        return;
    }
    CHECK_INT(a->ops->try_lock(a->db, &err), 1);
    CHECK_INT(a->ops->try_lock(a->db, &err), 1); /* held: still ours */
    CHECK_INT(b->ops->try_lock(b->db, &err), 0);
    {
        char v[16];
        /* b's failed attempt left no lock_timeout behind. */
        CHECK_STR(value(b, "SHOW lock_timeout", "", NULL, v, sizeof v), "0");
    }
    warehouse_close(a); /* the session ends: the server drops the lock */
    CHECK_INT(b->ops->try_lock(b->db, &err), 1);
    warehouse_close(b);
}

static void test_reconnect(const char *uri)
{
    ms_error err;
    warehouse *w = warehouse_open(uri, &err), *other = warehouse_open(uri, &err);
    char pid1[32], pid2[32], v[64];
    CHECK(w && other);
    if (!w || !other) {
        warehouse_close(w);
        warehouse_close(other);
        return;
    }
    CHECK_INT(w->ops->try_lock(w->db, &err), 1);

    /* 1. Outside a transaction: reconnect and retry, transparently; the lock
     * is taken again. */
    backend_pid(w, pid1);
    CHECK_INT(terminate(pid1), 0);
    CHECK_STR(value(w, "SELECT 40 + 2", "", NULL, v, sizeof v), "42");
    backend_pid(w, pid2);
    CHECK(strcmp(pid1, pid2) != 0);
    CHECK_INT(other->ops->try_lock(other->db, &err), 0);
    /* exec too (a multi-statement text). */
    backend_pid(w, pid1);
    CHECK_INT(terminate(pid1), 0);
    CHECK_INT(wh_exec(w, "CREATE TEMP TABLE t1 (n BIGINT); INSERT INTO t1 VALUES (1)", &err), 0);
    CHECK_STR(value(w, "SELECT count(*) FROM t1", "", NULL, v, sizeof v), "1");

    /* 2. Inside a transaction: "connection lost", everything refused until
     * ROLLBACK, nothing of the transaction kept. */
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK_INT(wh_exec(w, "INSERT INTO game_state (game_id, horizon) VALUES ('lost', 1)", &err), 0);
    backend_pid(w, pid1);
    CHECK_INT(terminate(pid1), 0);
    CHECK(wh_exec(w, "INSERT INTO game_state (game_id, horizon) VALUES ('lost2', 1)", &err) < 0);
    CHECK(strncmp(err.msg, "connection lost", 15) == 0);
    CHECK(strstr(err.msg, "PostgreSQL") != NULL);
    if (getenv("VERBOSE"))
        printf("  lost: %s\n", err.msg);
    CHECK(wh_query(w, "SELECT 1", "", NULL, NULL, NULL, &err) < 0);
    CHECK(strncmp(err.msg, "connection lost", 15) == 0);
    CHECK_INT(wh_rollback(w), 0);
    CHECK_STR(value(w, "SELECT count(*) FROM game_state WHERE game_id LIKE 'lost%'", "", NULL, v,
                    sizeof v),
              "0");
    CHECK_INT(other->ops->try_lock(other->db, &err), 0);

    /* 2b. With pipelined statements in flight. */
    CHECK_INT(wh_begin(w, &err), 0);
    {
        const char *row[2] = {"lostpipe", "1"};
        CHECK_INT(wh_query(w, "INSERT INTO game_state (game_id, horizon) VALUES ($1, $2)", "ti",
                           row, NULL, NULL, &err), 0);
        backend_pid(w, pid1);
        CHECK_INT(terminate(pid1), 0);
        row[0] = "lostpipe2";
        if (wh_query(w, "INSERT INTO game_state (game_id, horizon) VALUES ($1, $2)", "ti", row,
                     NULL, NULL, &err) == 0)
            CHECK(wh_query(w, "SELECT 1", "", NULL, collect_nothing, NULL, &err) < 0);
        CHECK(strncmp(err.msg, "connection lost", 15) == 0);
    }
    CHECK_INT(wh_rollback(w), 0);
    CHECK_STR(value(w, "SELECT count(*) FROM game_state WHERE game_id LIKE 'lostpipe%'", "", NULL,
                    v, sizeof v),
              "0");

    /* 3. In the middle of a bulk load. */
    CHECK_INT(wh_begin(w, &err), 0);
    CHECK_INT(w->ops->load_begin(w->db, "game_state", "game_id,horizon", "ti", &err), 0);
    {
        const char *row[2] = {"copy1", "1"};
        CHECK_INT(w->ops->load_row(w->db, row, &err), 0);
        backend_pid(w, pid1); /* suspends the COPY; the next row resumes it */
        CHECK_INT(terminate(pid1), 0);
        row[0] = "copy2";
        if (w->ops->load_row(w->db, row, &err) == 0)
            CHECK(w->ops->load_end(w->db, &err) < 0);
        CHECK(strncmp(err.msg, "connection lost", 15) == 0);
    }
    CHECK(wh_commit(w, &err) < 0); /* a COMMIT after the loss fails too */
    CHECK(strncmp(err.msg, "connection lost", 15) == 0);
    CHECK_INT(wh_rollback(w), 0);
    CHECK_STR(value(w, "SELECT count(*) FROM game_state WHERE game_id LIKE 'copy%'", "", NULL, v,
                    sizeof v),
              "0");

    /* 4. The lock taken by someone else while the connection was down: the
     * run must stop. */
    backend_pid(w, pid1);
    CHECK_INT(terminate(pid1), 0);
    CHECK_INT(other->ops->try_lock(other->db, &err), 1);
    CHECK(wh_query(w, "SELECT 1", "", NULL, NULL, NULL, &err) < 0);
    CHECK(strstr(err.msg, "lock") != NULL);
    CHECK(wh_query(w, "SELECT 1", "", NULL, NULL, NULL, &err) < 0);
    {
        uint64_t st, rw, wk;
        w->ops->stats(w->db, &st, &rw, &wk);
        CHECK(st > 10 && rw > 5 && wk >= rw);
    }
    warehouse_close(w);
    warehouse_close(other);
}

static void test_credentials(const char *base)
{
    ms_error err;
    char *uri;
    warehouse *w;
    /* A wrong database with a password in the URI. */
    uri = uri_with_db(base, "no_such_database_moonstat");
    {
        /* postgresql://user:SECRET@... form */
        const char *auth = strstr(uri, "://") + 3;
        buf b;
        buf_init(&b, 0);
        buf_append(&b, uri, (size_t)(auth - uri));
        buf_puts(&b, "postgres:Sup3rSecretPw@");
        buf_puts(&b, auth);
        free(uri);
        uri = b.data;
    }
    w = warehouse_open(uri, &err);
    CHECK(w == NULL);
    CHECK(strstr(err.msg, "Sup3rSecretPw") == NULL);
    CHECK(strstr(err.msg, "no_such_database_moonstat") != NULL);
    if (getenv("VERBOSE"))
        printf("  open error: %s\n", err.msg);
    warehouse_close(w);
    free(uri);
    /* A URI libpq cannot parse (it would quote it back). */
    w = warehouse_open("postgresql://u:Sup3rSecretPw@[::1/db", &err);
    CHECK(w == NULL);
    CHECK(strstr(err.msg, "Sup3rSecretPw") == NULL);
    if (getenv("VERBOSE"))
        printf("  parse error: %s\n", err.msg);
    warehouse_close(w);
    w = warehouse_open("postgresql:///db?password=Sup3rSecretPw&bogus_option=1", &err);
    CHECK(w == NULL);
    CHECK(strstr(err.msg, "Sup3rSecretPw") == NULL);
    warehouse_close(w);
}

int main(void)
{
    const char *base = getenv("MOONSTAT_TEST_PG");
    char db[64], sql[160], *uri;
    ms_error err;
    warehouse *w;

    if (!base || !*base) {
        printf("test_warehouse_postgres: skipped: MOONSTAT_TEST_PG is not set (tests/pg/start.sh)\n");
        return check_done("test_warehouse_postgres");
    }
    admin = PQconnectdb(base);
    PQsetNoticeProcessor(admin, quiet, NULL);
    if (PQstatus(admin) != CONNECTION_OK) {
        printf("FAIL cannot connect to MOONSTAT_TEST_PG: %s", PQerrorMessage(admin));
        check_failed++;
        PQfinish(admin);
        return check_done("test_warehouse_postgres");
    }
    snprintf(db, sizeof db, "ms_unit_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    admin_exec(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    CHECK_INT(admin_exec(sql), 0);
    uri = uri_with_db(base, db);

    test_open_and_migrate(uri);
    w = warehouse_open(uri, &err);
    CHECK(w != NULL);
    if (w) {
        test_params(w);
        test_data_error(w);
        test_copy_round_trip(w);
        test_copy_interleaved(w);
        test_pipelined(w);
        warehouse_close(w);
    }
    test_lock(uri);
    test_reconnect(uri);
    test_credentials(base);

    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    CHECK_INT(admin_exec(sql), 0);
    free(uri);
    PQfinish(admin);
    return check_done("test_warehouse_postgres");
}
