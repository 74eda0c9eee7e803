/*
 * warehouse_postgres.c - the PostgreSQL backend (warehouse.h), on libpq.
 *
 * URI: "postgresql://..." or "postgres://...", handed to libpq as is (a
 * libpq connection URI: host, port, dbname, user, sslmode, sslrootcert,
 * connect_timeout, ... all pass through). Credentials come from libpq's own
 * mechanisms (~/.pgpass, PGPASSFILE, PGPASSWORD, or the URI itself); no
 * message of this file contains the URI or a password: connections are
 * named by database and host (PQdb, PQhost, PQport).
 *
 * Connection defaults, each overridden by the URI: application_name
 * "moonstat" (fallback_application_name), connect_timeout 30 s (or
 * PGCONNECT_TIMEOUT), TCP keepalives after 60 s idle (10 s apart, 6 tries).
 *
 * Session: client_encoding UTF8, DateStyle ISO (dates come back as
 * YYYY-MM-DD), client_min_messages warning (no NOTICE chatter from
 * "CREATE ... IF NOT EXISTS"); search_path is left alone.
 *
 * Statements: query() runs PQexecPrepared on a statement prepared once per
 * session and SQL text (cached by hash; PQexecParams when the cache is
 * full). Parameters are text; a parameter typed 'i' is declared int8, a 't'
 * one is left to the server to infer from its context (so "date = $1" works
 * on a DATE column), except that a parameter the statement does not use is
 * declared text (the server cannot infer it; SQLite simply ignores it).
 * Results are text; SQL NULL is handed to the callback as a NULL pointer.
 * Inside a transaction, a query whose rows nobody reads (the INSERTs and
 * DELETEs of a recompute) is pipelined: sent without waiting, its result
 * read before the next statement that waits (see "pipelining" below), so a
 * night's report rows cost no round trip each. A COMMIT that the server
 * turns into a ROLLBACK (a statement of the transaction had failed) is an
 * error.
 *
 * Bulk loads: COPY table (columns) FROM STDIN in text format, rows escaped
 * (backslash, tab, newline, carriage return; \N for NULL) into a buffer sent
 * with PQputCopyData every 64 KiB: no round trip per row. A statement issued
 * in the middle of a load (merge.c reads while it loads stage_accounts)
 * ends the COPY first; the next row opens a new one: the rows loaded so far
 * are visible to it, as with SQLite's INSERTs.
 *
 * After a transaction that wrote PG_ANALYZE_ROWS rows or more (the first
 * night of a warehouse, a large backfill), the tables of the search path are
 * ANALYZEd, so that the next stage is not planned on an empty table's
 * estimates before autovacuum gets to them.
 *
 * The one-run lock: a session-level advisory lock, pg_try_advisory_lock with
 * the key 0x6d6f6f6e73746174 (the ASCII bytes of "moonstat"), held by the
 * connection: released by close, and by the server when the client dies or
 * the connection is lost, whatever machine the run came from. One warehouse
 * is one database (advisory locks are per database). A holder that died a
 * moment ago can still show for the few milliseconds its server process takes
 * to notice; try_lock therefore waits up to PG_LOCK_GRACE_MS for a held lock,
 * on the server (lock_timeout), before answering "held".
 *
 * Lost connection: after a failed statement, PQstatus CONNECTION_BAD means
 * the connection is gone (server restart, pg_terminate_backend, network).
 *  - Outside a transaction (PQtransactionStatus was IDLE before the
 *    statement: a safe point) the backend reconnects with PQreset, takes the
 *    run lock again if it held it, and retries the statement once.
 *  - Inside a transaction the server has rolled it back: the statement fails
 *    with a message starting "connection lost", and so does every later one
 *    until the caller's ROLLBACK (which then reconnects and succeeds), so
 *    nothing of the lost transaction can be redone half outside it. A lost
 *    COMMIT is reported the same way and ends the transaction.
 *  - If another run took the lock while the connection was down, every later
 *    statement fails: this run must stop.
 * Data errors (constraints, types) are reported with the server's primary
 * message, its detail, the SQLSTATE and the statement's first 200 chars.
 *
 * stats: statements = statements run (each statement of a multi-statement
 * exec, each bulk load); rows = rows handed to callbacks; work = rows read
 * + rows loaded by COPY + rows inserted/updated/deleted (the server's
 * command tags): what the night cost the warehouse, comparable between runs
 * (not with SQLite's virtual-machine steps).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keymap.h"
#include "warehouse.h"

#define PG_STMT_CACHE 128
#define PG_COPY_CHUNK 65536
#define PG_MAX_PARAMS 64
#define PG_LOCK_KEY "7885643992723120500" /* 0x6d6f6f6e73746174, "moonstat" */
#define PG_LOCK_GRACE_MS 1000
#define PG_INT8OID 20
#define PG_TEXTOID 25
#define PG_ANALYZE_ROWS 10000 /* rows written by one transaction */
#define PG_PIPELINE_MAX 512   /* statements sent before their results are read */

enum { COPY_NONE, COPY_ACTIVE, COPY_SUSPENDED };

typedef struct pg_stmt {
    char *sql;
    char *types;
    uint64_t hash;
    char name[24];
} pg_stmt;

/* A statement sent in pipeline mode whose result is not read yet. */
typedef struct pg_pending {
    char sql[208];   /* its first 200 chars, for the error message */
    int stmt;        /* a PQsendPrepare: its cache slot; -1 for an execution */
} pg_pending;

typedef struct pg_wh {
    PGconn *conn;
    pg_pending *pending; /* PG_PIPELINE_MAX of them */
    int n_pending;
    int pipelined;   /* in libpq's pipeline mode */
    pg_stmt cache[PG_STMT_CACHE];
    size_t n_cache;
    unsigned long next_id;
    int locked;      /* holds the run lock (taken again after a reconnect) */
    int lock_lost;   /* reconnected, but another run has the lock now */
    int tx_lost;     /* the connection died inside a transaction; until ROLLBACK */
    int copy_state;  /* bulk load: COPY_NONE, COPY_ACTIVE, COPY_SUSPENDED */
    int copy_in_tx;  /* the COPY runs inside a transaction */
    int copy_cols;   /* columns of the load */
    char *copy_sql;  /* "COPY table (columns) FROM STDIN" */
    char copy_table[96];
    buf copy;        /* rows not yet sent */
    uint64_t n_statements, n_rows, n_work, n_reconnects;
    uint64_t tx_written; /* rows written by the open transaction */
} pg_wh;

/* ---- messages ---------------------------------------------------------------- */

/* "database D on HOST:PORT" (a Unix socket directory for HOST when local). */
static void pg_where(const pg_wh *p, char *out, size_t outsz)
{
    const char *db = p->conn ? PQdb(p->conn) : NULL;
    const char *host = p->conn ? PQhost(p->conn) : NULL;
    const char *port = p->conn ? PQport(p->conn) : NULL;
    snprintf(out, outsz, "database %s on %s%s%s", db && *db ? db : "?",
             host && *host ? host : "the default host", port && *port ? ":" : "",
             port && *port ? port : "");
}

/* libpq's message for the connection, on one line, without trailing blanks. */
static void pg_conn_message(const pg_wh *p, char *out, size_t outsz)
{
    const char *m = p->conn ? PQerrorMessage(p->conn) : "out of memory";
    size_t i, n = 0;
    for (i = 0; m[i] && n + 1 < outsz; i++) {
        char c = m[i] == '\n' || m[i] == '\t' ? ' ' : m[i];
        if (c == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (n == 0)
        snprintf(out, outsz, "no message from libpq");
}

static int pg_lost_error(pg_wh *p, const char *sql, ms_error *err)
{
    char where[512], msg[512];
    const char *m = p->conn ? PQerrorMessage(p->conn) : "";
    size_t n = strcspn(m, "\n");
    pg_where(p, where, sizeof where);
    /* libpq's first line ("FATAL: terminating connection due to
     * administrator command", "server closed the connection unexpectedly") */
    if (n == 0)
        pg_conn_message(p, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "%.*s", (int)(n < sizeof msg ? n : sizeof msg - 1), m);
    return ms_error_set(err, "connection lost to PostgreSQL %s (%s); the server rolled back the "
                        "open transaction, nothing of it was kept; in: %.200s",
                        where, msg, sql);
}

/* An error of the server (or of libpq) for a statement that reached it. */
static int pg_result_error(pg_wh *p, const PGresult *r, const char *sql, ms_error *err)
{
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *context = r ? PQresultErrorField(r, PG_DIAG_CONTEXT) : NULL;
    char fallback[512];
    if (!primary) {
        pg_conn_message(p, fallback, sizeof fallback);
        primary = fallback;
    }
    return ms_error_set(err, "postgresql: %s%s%s%s%s%s%s (SQLSTATE %s); in: %.200s", primary,
                        detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
                        context ? " [" : "", context ? context : "", context ? "]" : "",
                        state ? state : "none", sql);
}

/* ---- session ------------------------------------------------------------------ */

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs ("already exists, skipping") are not errors */
}

static void pg_cache_clear(pg_wh *p)
{
    size_t i;
    for (i = 0; i < p->n_cache; i++) {
        free(p->cache[i].sql);
        free(p->cache[i].types);
    }
    p->n_cache = 0;
}

/* Session settings, after connecting and after each reconnect. */
static int pg_session_setup(pg_wh *p, ms_error *err)
{
    PGresult *r;
    char where[512];
    if (PQsetClientEncoding(p->conn, "UTF8") != 0) {
        char msg[512];
        pg_where(p, where, sizeof where);
        pg_conn_message(p, msg, sizeof msg);
        return ms_error_set(err, "PostgreSQL %s: cannot set client_encoding UTF8: %s", where, msg);
    }
    r = PQexec(p->conn, "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
                        "SET client_min_messages = warning");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_result_error(p, r, "SET DateStyle ...", err);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

static void pg_close(void *db)
{
    pg_wh *p = db;
    if (!p)
        return;
    if (p->conn) {
        if (p->copy_state == COPY_ACTIVE && PQstatus(p->conn) == CONNECTION_OK) {
            PGresult *r;
            PQputCopyEnd(p->conn, "bulk load abandoned");
            while ((r = PQgetResult(p->conn)) != NULL)
                PQclear(r);
        }
        PQfinish(p->conn); /* ends the session: the server drops its locks */
    }
    pg_cache_clear(p);
    buf_free(&p->copy);
    free(p->copy_sql);
    free(p->pending);
    free(p);
}

/* The part of a libpq message worth showing when the URI itself did not
 * parse: libpq quotes the offending text, which may hold a password, so the
 * message is cut at its first quote. */
static void pg_uri_message(const char *m, char *out, size_t outsz)
{
    size_t n = strcspn(m, "\"\n");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, m, n);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == ':'))
        n--;
    out[n] = '\0';
}

static void *pg_open(const char *uri, ms_error *err)
{
    /* Defaults that the URI (or PGCONNECT_TIMEOUT) overrides: a name in
     * pg_stat_activity, a bounded connection attempt, and TCP keepalives so
     * that a silently dead network is noticed in minutes, not hours. */
    static const char *const keys[] = {"fallback_application_name", "keepalives_idle",
                                       "keepalives_interval", "keepalives_count",
                                       "connect_timeout", "dbname", NULL};
    const char *vals[] = {"moonstat", "60", "10", "6", "30", uri, NULL};
    PQconninfoOption *opts;
    char *perr = NULL;
    pg_wh *p;

    /* Parse first, so that a malformed URI is reported without echoing it. */
    opts = PQconninfoParse(uri, &perr);
    if (!opts) {
        char msg[256];
        pg_uri_message(perr ? perr : "out of memory", msg, sizeof msg);
        PQfreemem(perr);
        ms_error_set(err, "the warehouse URI is not a valid libpq connection URI (%s); see "
                     "https://www.postgresql.org/docs/current/libpq-connect.html", msg);
        return NULL;
    }
    PQconninfoFree(opts);
    p = calloc(1, sizeof *p);
    if (!p) {
        ms_error_set(err, "out of memory");
        return NULL;
    }
    buf_init(&p->copy, 0);
    p->pending = calloc(PG_PIPELINE_MAX, sizeof *p->pending);
    if (!p->pending) {
        free(p);
        ms_error_set(err, "out of memory");
        return NULL;
    }
    if (getenv("PGCONNECT_TIMEOUT")) /* libpq's own default applies */
        vals[4] = getenv("PGCONNECT_TIMEOUT");
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        char where[512], msg[512];
        pg_where(p, where, sizeof where);
        pg_conn_message(p, msg, sizeof msg);
        ms_error_set(err, "cannot connect to the PostgreSQL warehouse (%s): %s; check the "
                     "server, the URI's host/port/dbname/user/sslmode and the credentials "
                     "(~/.pgpass, PGPASSFILE or PGPASSWORD)",
                     where, msg);
        goto fail;
    }
    PQsetNoticeProcessor(p->conn, pg_quiet, NULL);
    if (PQserverVersion(p->conn) < 130000) {
        char where[512];
        pg_where(p, where, sizeof where);
        ms_error_set(err, "PostgreSQL %s is version %d; moonstat needs 13 or newer", where,
                     PQserverVersion(p->conn));
        goto fail;
    }
    if (pg_session_setup(p, err) != 0)
        goto fail;
    return p;
fail:
    pg_close(p);
    return NULL;
}

/* Reconnects after a lost connection: a new session (no prepared
 * statements, no temporary tables), with the run lock taken again when this
 * handle held it. */
static int pg_reconnect(pg_wh *p, ms_error *err)
{
    char where[512], msg[512];
    PGresult *r;
    pg_cache_clear(p);
    p->copy_state = COPY_NONE;
    buf_reset(&p->copy);
    p->tx_lost = 0;
    p->pipelined = 0;
    p->n_pending = 0;
    PQreset(p->conn);
    pg_where(p, where, sizeof where);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        pg_conn_message(p, msg, sizeof msg);
        return ms_error_set(err, "connection lost to PostgreSQL %s, and reconnecting failed: %s",
                            where, msg);
    }
    p->n_reconnects++;
    if (pg_session_setup(p, err) != 0)
        return -1;
    if (!p->locked)
        return 0;
    r = PQexec(p->conn, "SELECT pg_try_advisory_lock(" PG_LOCK_KEY ")");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
        strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        PQclear(r);
        p->locked = 0;
        p->lock_lost = 1;
        return ms_error_set(err, "connection lost to PostgreSQL %s; reconnected, but another "
                            "run took the warehouse lock meanwhile: this run stops here",
                            where);
    }
    PQclear(r);
    return 0;
}

/* ---- statements ------------------------------------------------------------------ */

/* "ROLLBACK" / "COMMIT" (any case, blanks and a ';' around). */
static int is_word(const char *sql, const char *word)
{
    size_t n = strlen(word);
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    if (strncasecmp(sql, word, n) != 0)
        return 0;
    sql += n;
    while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == ';')
        sql++;
    return *sql == '\0';
}

static int pg_copy_finish(pg_wh *p, ms_error *err);
static int pg_pipeline_end(pg_wh *p, int report, ms_error *err);

/* Before a statement: reads the results of pipelined statements (and
 * reports the first that failed), suspends a bulk load in progress (a statement cannot
 * run while a COPY is open on the connection: the rows sent so far are
 * stored, as an INSERT would have stored them, and the next row opens a new
 * COPY), refuses while a lost transaction is not rolled back, and reconnects
 * a connection found dead between statements. */
static int pg_ready(pg_wh *p, const char *sql, ms_error *err)
{
    if (p->lock_lost)
        return ms_error_set(err, "another run took the warehouse lock while the connection "
                            "was lost: this run stops here");
    if (p->pipelined && pg_pipeline_end(p, 1, err) != 0) {
        /* A pipelined statement failed: the transaction is lost. A COMMIT
         * that finds it so ends it (as the server ends a failed one). */
        if (is_word(sql, "COMMIT")) {
            if (p->tx_lost)
                p->tx_lost = 0;
            else
                PQclear(PQexec(p->conn, "ROLLBACK"));
        }
        return -1;
    }
    if (p->copy_state == COPY_ACTIVE) {
        if (pg_copy_finish(p, err) != 0)
            return -1;
        p->copy_state = COPY_SUSPENDED;
    }
    if (p->tx_lost) {
        if (is_word(sql, "COMMIT"))
            p->tx_lost = 0; /* the transaction is over (it was rolled back) */
        return pg_lost_error(p, sql, err);
    }
    if (PQstatus(p->conn) != CONNECTION_OK)
        return pg_reconnect(p, err);
    return 0;
}

/* After a failed statement: 1 when it may be retried (the connection died
 * at a safe point and is back), 0 when the error stands (err set). */
static int pg_after_failure(pg_wh *p, PGTransactionStatusType before, const PGresult *r,
                            const char *sql, int attempt, ms_error *err)
{
    if (PQstatus(p->conn) != CONNECTION_BAD) {
        pg_result_error(p, r, sql, err);
        return 0;
    }
    /* A ROLLBACK that finds the connection dead (the run's first statement
     * since it died, as when its transaction failed on another connection)
     * got what it asked for: the server rolled back. Reconnecting and
     * saying it again on the new session (a no-op there) ends it; marking
     * the transaction lost instead would fail every later stage of the run
     * with the same "connection lost" for nothing. */
    if ((before == PQTRANS_IDLE || is_word(sql, "ROLLBACK")) && attempt == 0) {
        if (pg_reconnect(p, err) != 0)
            return 0;
        return 1;
    }
    pg_lost_error(p, sql, err);
    /* The server rolled the transaction back; until the caller says
     * ROLLBACK, nothing may run (it would run outside the transaction). A
     * lost COMMIT ends the transaction itself. */
    if (before != PQTRANS_IDLE && !is_word(sql, "COMMIT"))
        p->tx_lost = 1;
    return 0;
}

/* Counts a statement and the rows it inserted, updated or deleted (rows
 * read are counted as they are handed over, rows copied as they are sent). */
static void pg_count_result(pg_wh *p, const PGresult *r)
{
    const char *tag = PQcmdStatus((PGresult *)r);
    const char *n = PQcmdTuples((PGresult *)r);
    p->n_statements++;
    if (n && *n && tag &&
        (strncmp(tag, "INSERT", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
         strncmp(tag, "DELETE", 6) == 0)) {
        uint64_t rows = strtoull(n, NULL, 10);
        p->n_work += rows;
        p->tx_written += rows;
    }
}

/* ---- pipelining ------------------------------------------------------------------
 * Inside a transaction, a statement whose rows nobody reads (fn == NULL: the
 * INSERTs and DELETEs of a recompute, one per report row) is sent in libpq's
 * pipeline mode without waiting for its result: no round trip per row. The
 * results are read, in order, before the next statement that needs one
 * (a query with rows, exec, a bulk load, COMMIT, ROLLBACK) and every
 * PG_PIPELINE_MAX statements. A failed statement is reported then, with its
 * own text; the transaction is aborted by then, and the caller's ROLLBACK
 * (or the failed COMMIT) ends it, exactly as when the error is seen at once.
 * Outside a transaction every statement waits for its result (so that a
 * lost connection can be retried there). */

/* Reads the results of the pipelined statements and leaves pipeline mode.
 * 0 when all succeeded; -1 with err set to the first failure (report) or a
 * lost connection (always reported: the transaction is lost). */
static int pg_pipeline_end(pg_wh *p, int report, ms_error *err)
{
    PGresult *r, *failed = NULL;
    int i, failed_at = -1, lost = 0, n = p->n_pending;

    if (!p->pipelined)
        return 0;
    p->pipelined = 0;
    p->n_pending = 0;
    if (PQpipelineSync(p->conn) != 1)
        lost = 1;
    for (i = 0; i < n && !lost; i++) {
        ExecStatusType st;
        r = PQgetResult(p->conn);
        if (!r) {
            lost = 1;
            break;
        }
        st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (p->pending[i].stmt < 0)
                pg_count_result(p, r);
        } else {
            if (p->pending[i].stmt >= 0) { /* not prepared: forget it */
                p->cache[p->pending[i].stmt].hash = 0;
                p->cache[p->pending[i].stmt].sql[0] = '\0';
            }
            if (st != PGRES_PIPELINE_ABORTED && !failed) {
                failed = r;
                failed_at = i;
                r = NULL;
            }
        }
        PQclear(r);
        while ((r = PQgetResult(p->conn)) != NULL) /* the end of this statement's results */
            PQclear(r);
    }
    if (!lost) {
        r = PQgetResult(p->conn);
        lost = PQresultStatus(r) != PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    if (lost || PQstatus(p->conn) != CONNECTION_OK || PQexitPipelineMode(p->conn) != 1) {
        PQclear(failed);
        p->tx_lost = 1; /* inside a transaction, always */
        if (PQstatus(p->conn) == CONNECTION_OK) /* not a loss: a protocol surprise */
            PQreset(p->conn);
        return pg_lost_error(p, failed_at >= 0 ? p->pending[failed_at].sql
                                               : (n > 0 ? p->pending[n - 1].sql : "?"), err);
    }
    if (failed) {
        if (report)
            pg_result_error(p, failed, p->pending[failed_at].sql, err);
        PQclear(failed);
        return report ? -1 : 0;
    }
    return 0;
}

static void pg_pending_add(pg_wh *p, const char *sql, int stmt)
{
    pg_pending *q = &p->pending[p->n_pending++];
    snprintf(q->sql, sizeof q->sql, "%.200s", sql);
    q->stmt = stmt;
}

static pg_stmt *pg_cache_find(pg_wh *p, const char *sql, const char *t, uint64_t h)
{
    size_t i;
    for (i = 0; i < p->n_cache; i++)
        if (p->cache[i].hash == h && strcmp(p->cache[i].sql, sql) == 0 &&
            strcmp(p->cache[i].types, t) == 0)
            return &p->cache[i];
    return NULL;
}

/* A new cache slot for (sql, t), named; NULL when full (or out of memory). */
static pg_stmt *pg_cache_add(pg_wh *p, const char *sql, const char *t, uint64_t h)
{
    pg_stmt *st;
    if (p->n_cache == PG_STMT_CACHE)
        return NULL;
    st = &p->cache[p->n_cache];
    st->sql = strdup(sql);
    st->types = strdup(t);
    if (!st->sql || !st->types) {
        free(st->sql);
        free(st->types);
        return NULL;
    }
    snprintf(st->name, sizeof st->name, "ms_%lu", ++p->next_id);
    st->hash = h;
    p->n_cache++;
    return st;
}

static uint64_t stmt_hash(const char *sql, const char *t)
{
    return hash_bytes(sql, strlen(sql), hash_bytes(t, strlen(t), 0));
}

/* Sends a statement without waiting for its result. 0 sent; -1 error (err
 * set); -2 pipeline mode not available now (run it the ordinary way). */
static int pg_query_pipelined(pg_wh *p, const char *sql, const char *types, int n,
                              const Oid *oids, const char *const *params, ms_error *err)
{
    const char *t = types ? types : "";
    uint64_t h = stmt_hash(sql, t);
    pg_stmt *st;
    int ok;

    if (p->pipelined && p->n_pending + 2 > PG_PIPELINE_MAX && pg_pipeline_end(p, 1, err) != 0)
        return -1;
    if (!p->pipelined) {
        if (PQenterPipelineMode(p->conn) != 1)
            return -2;
        p->pipelined = 1;
    }
    st = pg_cache_find(p, sql, t, h);
    if (!st && (st = pg_cache_add(p, sql, t, h)) != NULL) {
        if (!PQsendPrepare(p->conn, st->name, sql, n, oids)) {
            st->hash = 0;
            st->sql[0] = '\0';
            st = NULL;
        } else {
            pg_pending_add(p, sql, (int)(st - p->cache));
        }
    }
    if (st)
        ok = PQsendQueryPrepared(p->conn, st->name, n, n ? params : NULL, NULL, NULL, 0);
    else
        ok = PQsendQueryParams(p->conn, sql, n, oids, n ? params : NULL, NULL, NULL, 0);
    if (ok) {
        pg_pending_add(p, sql, -1);
        return 0;
    }
    /* Not even queued: the connection is gone (or memory is). */
    if (pg_pipeline_end(p, 1, err) == 0) {
        p->tx_lost = 1;
        pg_lost_error(p, sql, err);
    }
    return -1;
}

/* After a large transaction: fresh planner statistics. The first night of
 * a warehouse (or a large backfill) fills tables that the server has only
 * seen empty; its next queries would be planned on those estimates until
 * autovacuum gets round to them. ANALYZE samples a bounded number of rows
 * per table, and takes no lock that blocks readers or writers. Best effort:
 * an error here changes nothing for the run. */
static void pg_analyze_if_large(pg_wh *p)
{
    PGresult *r;
    if (p->tx_written < PG_ANALYZE_ROWS)
        return;
    p->tx_written = 0;
    /* The tables of the search path (the catalogs need no fresh sample). */
    r = PQexec(p->conn,
               "SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ') FROM pg_class c "
               "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
               "AND n.nspname = ANY (current_schemas(false)) AND pg_has_role(c.relowner, 'USAGE')");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        buf sql;
        buf_init(&sql, 0);
        if (buf_printf(&sql, "ANALYZE %s", PQgetvalue(r, 0, 0)) == 0) {
            PQclear(r);
            r = PQexec(p->conn, sql.data);
        }
        buf_free(&sql);
    }
    PQclear(r);
}

static int pg_exec(void *db, const char *sql, ms_error *err)
{
    pg_wh *p = db;
    int attempt, rolled_back;

    /* ROLLBACK: the results of pipelined statements no longer matter; after
     * a lost connection the server already rolled back, and reconnecting is
     * all there is to do. */
    if (is_word(sql, "ROLLBACK")) {
        if (p->pipelined)
            pg_pipeline_end(p, 0, err);
        if (p->tx_lost || PQstatus(p->conn) != CONNECTION_OK)
            return pg_reconnect(p, err);
    }
    for (attempt = 0; attempt < 2; attempt++) {
        PGTransactionStatusType before;
        PGresult *r, *failed = NULL;
        if (pg_ready(p, sql, err) != 0)
            return -1;
        before = PQtransactionStatus(p->conn);
        if (before == PQTRANS_IDLE)
            p->tx_written = 0;
        rolled_back = 0;
        if (PQsendQuery(p->conn, sql)) {
            while ((r = PQgetResult(p->conn)) != NULL) {
                ExecStatusType st = PQresultStatus(r);
                if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
                    pg_count_result(p, r);
                    rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
                    PQclear(r);
                } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
                    /* not through exec: end it */
                    if (st == PGRES_COPY_IN)
                        PQputCopyEnd(p->conn, "COPY through exec is not supported");
                    PQclear(r);
                } else if (!failed) {
                    failed = r;
                } else {
                    PQclear(r);
                }
            }
            if (!failed && PQstatus(p->conn) == CONNECTION_OK) {
                if (is_word(sql, "COMMIT")) {
                    /* The server answers a COMMIT of a failed transaction
                     * with ROLLBACK: nothing was committed. */
                    if (rolled_back)
                        return ms_error_set(err, "postgresql: COMMIT rolled the transaction "
                                            "back: a statement of it had failed");
                    pg_analyze_if_large(p);
                }
                return 0;
            }
        }
        if (pg_after_failure(p, before, failed, sql, attempt, err) == 0) {
            PQclear(failed);
            return -1;
        }
        PQclear(failed);
    }
    return -1;
}

/* The parameters a statement uses: a bit per $n (n <= 64), skipping string
 * literals, quoted identifiers and comments. */
static uint64_t used_params(const char *sql)
{
    uint64_t used = 0;
    const char *s = sql;
    while (*s) {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            while (*s && *s != q)
                s++;
            if (*s)
                s++;
        } else if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (*s == '$' && s[1] >= '1' && s[1] <= '9') {
            long n = strtol(s + 1, (char **)&s, 10);
            if (n >= 1 && n <= 64)
                used |= (uint64_t)1 << (n - 1);
        } else {
            s++;
        }
    }
    return used;
}

/* Declared parameter types: int8 for 'i'; a 't' left to the server, or
 * text when the statement does not use it. */
static int param_types(const char *sql, const char *types, Oid *out)
{
    int i, n = types ? (int)strlen(types) : 0;
    uint64_t used = used_params(sql);
    if (n > PG_MAX_PARAMS)
        n = PG_MAX_PARAMS;
    for (i = 0; i < n; i++) {
        if (!(used & ((uint64_t)1 << i)))
            out[i] = PG_TEXTOID;
        else
            out[i] = types[i] == 'i' ? PG_INT8OID : 0;
    }
    return n;
}

/* The cached statement for (sql, types), prepared now if new; NULL when
 * the cache is full (the caller runs it unnamed) or on error (the result in
 * *res, for the caller to report). */
static const pg_stmt *pg_prepared(pg_wh *p, const char *sql, const char *types, int n,
                                  const Oid *oids, PGresult **res)
{
    const char *t = types ? types : "";
    uint64_t h = stmt_hash(sql, t);
    pg_stmt *st = pg_cache_find(p, sql, t, h);
    PGresult *r;

    *res = NULL;
    if (st)
        return st;
    if (!(st = pg_cache_add(p, sql, t, h)))
        return NULL;
    r = PQprepare(p->conn, st->name, sql, n, oids);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        st->hash = 0;
        st->sql[0] = '\0';
        *res = r;
        return NULL;
    }
    PQclear(r);
    return st;
}

static int pg_query(void *db, const char *sql, const char *types, const char *const *params,
                    wh_row_fn fn, void *ctx, ms_error *err)
{
    pg_wh *p = db;
    Oid oids[PG_MAX_PARAMS];
    int n = param_types(sql, types, oids);
    int attempt;

    if (types && (int)strlen(types) > PG_MAX_PARAMS)
        return ms_error_set(err, "postgresql: more than %d parameters; in: %.200s",
                            PG_MAX_PARAMS, sql);
    if (!fn && !p->lock_lost && !p->tx_lost &&
        (p->pipelined ||
         (p->copy_state != COPY_ACTIVE && PQstatus(p->conn) == CONNECTION_OK &&
          PQtransactionStatus(p->conn) == PQTRANS_INTRANS))) {
        int rc = pg_query_pipelined(p, sql, types, n, oids, params, err);
        if (rc != -2)
            return rc;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        PGTransactionStatusType before;
        const pg_stmt *st;
        PGresult *r = NULL;
        ExecStatusType status;
        if (pg_ready(p, sql, err) != 0)
            return -1;
        before = PQtransactionStatus(p->conn);
        st = pg_prepared(p, sql, types, n, oids, &r);
        if (st)
            r = PQexecPrepared(p->conn, st->name, n, n ? params : NULL, NULL, NULL, 0);
        else if (!r)
            r = PQexecParams(p->conn, sql, n, oids, n ? params : NULL, NULL, NULL, 0);
        status = PQresultStatus(r);
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            int result = 0;
            pg_count_result(p, r);
            if (fn && status == PGRES_TUPLES_OK) {
                int rows = PQntuples(r), cols = PQnfields(r), i, j;
                const char *small[64];
                const char **vals = cols <= 64 ? small : malloc((size_t)cols * sizeof *vals);
                if (!vals) {
                    PQclear(r);
                    return ms_error_set(err, "out of memory");
                }
                for (i = 0; i < rows && result == 0; i++) {
                    for (j = 0; j < cols; j++)
                        vals[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
                    p->n_rows++;
                    p->n_work++;
                    result = fn(ctx, cols, vals);
                }
                if (vals != small)
                    free(vals);
            }
            PQclear(r);
            return result;
        }
        if (pg_after_failure(p, before, r, sql, attempt, err) == 0) {
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    return -1;
}

/* ---- bulk load ---------------------------------------------------------------- */

/* A COPY that failed: a lost connection, or the server's error. */
static int pg_copy_failed(pg_wh *p, const PGresult *r, ms_error *err)
{
    p->copy_state = COPY_NONE;
    buf_reset(&p->copy);
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        pg_lost_error(p, p->copy_sql ? p->copy_sql : "COPY", err);
        if (p->copy_in_tx)
            p->tx_lost = 1;
        return -1;
    }
    return pg_result_error(p, r, p->copy_sql ? p->copy_sql : "COPY", err);
}

/* Ends a COPY with an error of ours and drains its results. */
static void pg_copy_abort(pg_wh *p, const char *why)
{
    PGresult *r;
    if (p->copy_state == COPY_ACTIVE && PQputCopyEnd(p->conn, why) == 1)
        while ((r = PQgetResult(p->conn)) != NULL)
            PQclear(r);
    p->copy_state = COPY_NONE;
    buf_reset(&p->copy);
}

/* Opens the COPY of the load (at its start, and again after a suspension). */
static int pg_copy_start(pg_wh *p, ms_error *err)
{
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        PGTransactionStatusType before;
        PGresult *r;
        if (pg_ready(p, p->copy_sql, err) != 0)
            return -1;
        before = PQtransactionStatus(p->conn);
        r = PQexec(p->conn, p->copy_sql);
        if (PQresultStatus(r) == PGRES_COPY_IN) {
            PQclear(r);
            p->copy_state = COPY_ACTIVE;
            p->copy_in_tx = before != PQTRANS_IDLE;
            p->n_statements++;
            return 0;
        }
        if (pg_after_failure(p, before, r, p->copy_sql, attempt, err) == 0) {
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    return -1;
}

static int pg_copy_flush(pg_wh *p, ms_error *err)
{
    if (p->copy.len == 0)
        return 0;
    if (PQputCopyData(p->conn, p->copy.data, (int)p->copy.len) != 1)
        return pg_copy_failed(p, NULL, err);
    buf_reset(&p->copy);
    return 0;
}

/* Sends the buffered rows and ends the open COPY; the server's answer tells
 * whether the rows were stored. */
static int pg_copy_finish(pg_wh *p, ms_error *err)
{
    PGresult *r, *failed = NULL;
    if (pg_copy_flush(p, err) != 0)
        return -1;
    if (PQputCopyEnd(p->conn, NULL) != 1)
        return pg_copy_failed(p, NULL, err);
    while ((r = PQgetResult(p->conn)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            PQclear(r);
        else if (!failed)
            failed = r;
        else
            PQclear(r);
    }
    if (failed || PQstatus(p->conn) != CONNECTION_OK) {
        int rc = pg_copy_failed(p, failed, err);
        PQclear(failed);
        return rc;
    }
    p->copy_state = COPY_NONE;
    return 0;
}

static int pg_load_begin(void *db, const char *table, const char *columns, const char *types,
                         ms_error *err)
{
    pg_wh *p = db;
    buf sql;

    /* types: one letter per column; in COPY's text format the columns' own
     * types parse the text, so only their number matters here. */
    if (p->copy_state != COPY_NONE)
        return ms_error_set(err, "postgresql: bulk load into %s begun while the one into %s "
                            "is not ended", table, p->copy_table);
    buf_init(&sql, 0);
    if (buf_printf(&sql, "COPY %s (%s) FROM STDIN", table, columns) != 0) {
        buf_free(&sql);
        return ms_error_set(err, "out of memory");
    }
    free(p->copy_sql);
    p->copy_sql = sql.data; /* owned from here */
    snprintf(p->copy_table, sizeof p->copy_table, "%s", table);
    p->copy_cols = (int)strlen(types);
    buf_reset(&p->copy);
    return pg_copy_start(p, err);
}

/* Appends one value in COPY text format. */
static int copy_value(buf *b, const char *v)
{
    const char *run = v;
    if (!v)
        return buf_append(b, "\\N", 2);
    for (; *v; v++) {
        const char *esc;
        switch (*v) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        if (buf_append(b, run, (size_t)(v - run)) != 0 || buf_append(b, esc, 2) != 0)
            return -1;
        run = v + 1;
    }
    return buf_append(b, run, (size_t)(v - run));
}

static int pg_load_row(void *db, const char *const *vals, ms_error *err)
{
    pg_wh *p = db;
    int i;
    if (p->copy_state == COPY_NONE)
        return ms_error_set(err, "postgresql: bulk load row outside a bulk load");
    if (p->copy_state == COPY_SUSPENDED && pg_copy_start(p, err) != 0)
        return -1;
    for (i = 0; i < p->copy_cols; i++)
        if ((i && buf_putc(&p->copy, '\t') != 0) || copy_value(&p->copy, vals[i]) != 0) {
            pg_copy_abort(p, "out of memory");
            return ms_error_set(err, "out of memory in the bulk load into %s", p->copy_table);
        }
    if (buf_putc(&p->copy, '\n') != 0) {
        pg_copy_abort(p, "out of memory");
        return ms_error_set(err, "out of memory in the bulk load into %s", p->copy_table);
    }
    p->n_work++;
    if (p->copy.len >= PG_COPY_CHUNK)
        return pg_copy_flush(p, err);
    return 0;
}

static int pg_load_end(void *db, ms_error *err)
{
    pg_wh *p = db;
    switch (p->copy_state) {
    case COPY_ACTIVE:
        return pg_copy_finish(p, err);
    case COPY_SUSPENDED:
        p->copy_state = COPY_NONE; /* every row is stored already */
        return 0;
    default:
        return ms_error_set(err, "postgresql: end of a bulk load that was not begun");
    }
}

/* ---- lock and stats --------------------------------------------------------------- */

static int read_bool(void *ctx, int ncols, const char *const *vals)
{
    int *out = ctx;
    *out = ncols > 0 && vals[0] && strcmp(vals[0], "t") == 0;
    return 0;
}

static int pg_try_lock(void *db, ms_error *err)
{
    pg_wh *p = db;
    int got = 0;
    PGresult *r;
    char sql[160];

    if (p->locked)
        return 1;
    if (pg_query(p, "SELECT pg_try_advisory_lock(" PG_LOCK_KEY ")", "", NULL, read_bool, &got,
                 err) < 0)
        return -1;
    if (!got) {
        /* Held. A holder that has just died may still show for a moment:
         * wait a little for it, on the server (lock_timeout), not here. */
        snprintf(sql, sizeof sql, "SET lock_timeout = %d", PG_LOCK_GRACE_MS);
        if (pg_exec(p, sql, err) != 0)
            return -1;
        r = PQexec(p->conn, "SELECT pg_advisory_lock(" PG_LOCK_KEY ")");
        got = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!got) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (!state || strcmp(state, "55P03") != 0) { /* lock_not_available */
                pg_result_error(p, r, "SELECT pg_advisory_lock(...)", err);
                PQclear(r);
                return -1;
            }
        }
        PQclear(r);
        if (pg_exec(p, "RESET lock_timeout", err) != 0)
            return -1;
    }
    p->locked = got;
    return got;
}

static void pg_stats(void *db, uint64_t *statements, uint64_t *rows, uint64_t *work)
{
    const pg_wh *p = db;
    *statements = p->n_statements;
    *rows = p->n_rows;
    *work = p->n_work;
}

const warehouse_ops warehouse_postgres_ops = {
    .scheme = "postgresql",
    .schema_dir = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .try_lock = pg_try_lock,
    .exec = pg_exec,
    .query = pg_query,
    .load_begin = pg_load_begin,
    .load_row = pg_load_row,
    .load_end = pg_load_end,
    .stats = pg_stats,
    /* .secondary_indexes stays NULL: DROP INDEX takes an ACCESS EXCLUSIVE
     * lock, which would make the warehouse's readers wait for a whole first
     * load instead of reading the last committed state. */
};
