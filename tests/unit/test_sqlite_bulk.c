/* test_sqlite_bulk.c - bulk loads through the virtual table, on a real
 * SQLite database: 200000 rows (four buffers of at most 65536) arrive
 * whole, in order, with integer, text and NULL values of the right types;
 * rows of long text fill the 4 MiB text buffer first and still arrive
 * whole; a 32-column load takes buffers of 16384 rows; a duplicate key
 * fails its buffer's insert, reported with SQLite's message before the
 * load ends and again by the end, and the statement is undone whole; more
 * than 32 columns, a row with over 4 MiB of text and two loads at once
 * are refused; statements are counted per buffer; integers of every shape
 * are those strtoll reads. All of it twice: with the inserts on the
 * loader's thread and on the caller's (a change of threads during a load
 * changes nothing); in the middle of a threaded load, once the loader is
 * idle, the connection sees what was handed over. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sqlite_bulk.h"

static sqlite3 *db;

static int64_t query_int(const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void query_text(const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    snprintf(out, cap, "(none)");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, cap, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "NULL");
    sqlite3_finalize(st);
}

static void test_many_rows(sqlite_bulk *b)
{
    ms_error err = {{0}};
    char key[32], num[32], text[64];
    uint64_t statements0, statements, steps;
    size_t i;
    int bad = 0;

    CHECK_INT(sqlite3_exec(db, "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, s TEXT)", NULL,
                           NULL, NULL), SQLITE_OK);
    sqlite_bulk_stats(b, &statements0, &steps);
    CHECK_INT(sqlite_bulk_begin(b, "t", "k,n,s", "tit", &err), 0);
    for (i = 0; i < 200000; i++) {
        const char *vals[3];
        snprintf(key, sizeof key, "key-%06zu", i);
        snprintf(num, sizeof num, "%lld", (long long)i * 1000003 - 50000000000LL);
        snprintf(text, sizeof text, "%.*s", (int)(i % 40), "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH");
        vals[0] = key;
        vals[1] = i % 7 == 3 ? NULL : num;
        vals[2] = i % 11 == 5 ? NULL : text;
        bad += sqlite_bulk_row(b, vals, &err) != 0;
        if (i == 131072) {
            /* two full buffers were handed over; once the loader is idle
             * the connection is the caller's and sees them */
            CHECK_INT(sqlite_bulk_wait(b, &err), 0);
            CHECK_INT(query_int("SELECT count(*) FROM t"), 131072);
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
    sqlite_bulk_stats(b, &statements, &steps);
    CHECK_INT(statements - statements0, 4); /* 65536 * 3 + 3392 */
    CHECK_INT(query_int("SELECT count(*) FROM t"), 200000);
    CHECK_INT(query_int("SELECT count(*) FROM t WHERE n IS NULL"), 28571);
    CHECK_INT(query_int("SELECT count(*) FROM t WHERE s IS NULL"), 18182);
    CHECK_INT(query_int("SELECT count(*) FROM t WHERE typeof(n) = 'integer'"), 200000 - 28571);
    CHECK_INT(query_int("SELECT count(*) FROM t WHERE typeof(s) = 'text'"), 200000 - 18182);
    CHECK_INT(query_int("SELECT n FROM t WHERE k = 'key-199999'"), 199999LL * 1000003 - 50000000000LL);
    CHECK_INT(query_int("SELECT n FROM t WHERE k = 'key-000000'"), -50000000000LL);
    CHECK_INT(query_int("SELECT sum(length(s)) FROM t"), 3545429);
    /* rows arrive in the order given: rowid i + 1 is row i */
    CHECK_INT(query_int("SELECT count(*) FROM t WHERE k <> printf('key-%06d', rowid - 1)"), 0);
    text[0] = '\0';
    query_text("SELECT s FROM t WHERE k = 'key-065575'", text, sizeof text);
    CHECK_STR(text, "abcdefghijklmno"); /* 65575 % 40 = 15, in the second buffer */
}

/* Rows of 3000 bytes of text: the text buffer, not the row count, decides
 * when to insert. */
static void test_long_text(sqlite_bulk *b)
{
    ms_error err = {{0}};
    char *text = malloc(3001);
    char key[32];
    size_t i;
    int bad = 0;

    CHECK(text != NULL);
    if (!text)
        return;
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE l (k INTEGER PRIMARY KEY, s TEXT)", NULL, NULL, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite_bulk_begin(b, "l", "k,s", "it", &err), 0);
    for (i = 0; i < 10000; i++) {
        const char *vals[2] = {key, text};
        memset(text, 'a' + (int)(i % 26), 3000);
        text[3000] = '\0';
        snprintf(key, sizeof key, "%zu", i);
        bad += sqlite_bulk_row(b, vals, &err) != 0;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
    CHECK_INT(query_int("SELECT count(*) FROM l"), 10000);
    CHECK_INT(query_int("SELECT sum(length(s)) FROM l"), 30000000);
    CHECK_INT(query_int("SELECT count(*) FROM l WHERE substr(s, 1, 1) <> char(97 + k % 26) "
                        "OR substr(s, 3000, 1) <> char(97 + k % 26)"), 0);
    free(text);
}

static void test_wide(sqlite_bulk *b)
{
    ms_error err = {{0}};
    const char *vals[32];
    char cols[256], types[33], ddl[512], num[32];
    uint64_t statements0, statements, steps;
    size_t i, n = 0;
    int bad = 0;

    n += (size_t)snprintf(ddl, sizeof ddl, "CREATE TABLE w (");
    cols[0] = '\0';
    for (i = 0; i < 32; i++) {
        n += (size_t)snprintf(ddl + n, sizeof ddl - n, "%sc%zu INTEGER", i ? "," : "", i);
        snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%sc%zu", i ? "," : "", i);
        types[i] = 'i';
    }
    types[32] = '\0';
    snprintf(ddl + n, sizeof ddl - n, ")");
    CHECK_INT(sqlite3_exec(db, ddl, NULL, NULL, NULL), SQLITE_OK);
    sqlite_bulk_stats(b, &statements0, &steps);
    CHECK_INT(sqlite_bulk_begin(b, "w", cols, types, &err), 0);
    for (i = 0; i < 70000; i++) {
        snprintf(num, sizeof num, "%zu", i);
        for (size_t c = 0; c < 32; c++)
            vals[c] = num;
        bad += sqlite_bulk_row(b, vals, &err) != 0;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
    sqlite_bulk_stats(b, &statements, &steps);
    CHECK_INT(statements - statements0, 5); /* 4 * 16384 + 4464 */
    CHECK_INT(query_int("SELECT count(*) FROM w"), 70000);
    CHECK_INT(query_int("SELECT sum(c0) + sum(c31) FROM w"), 2 * (70000LL * 69999 / 2));
}

/* Integers read as strtoll reads them, whatever their shape. */
static void test_integers(sqlite_bulk *b)
{
    static const char *const texts[] = {
        "0", "-0", "7", "-7", "20756", "1790840890479", "-50000000000", "999999999999999999",
        "-999999999999999999", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999", "-99999999999999999999", "+5", " 7", "12abc", "", "-", "abc",
        "0x1f", "007"};
    ms_error err = {{0}};
    char key[16];
    size_t i, n = sizeof texts / sizeof texts[0];
    int bad = 0;

    CHECK_INT(sqlite3_exec(db, "CREATE TABLE ints (k INTEGER PRIMARY KEY, v INTEGER)", NULL, NULL,
                           NULL), SQLITE_OK);
    CHECK_INT(sqlite_bulk_begin(b, "ints", "k,v", "ii", &err), 0);
    for (i = 0; i < n; i++) {
        const char *vals[2] = {key, texts[i]};
        snprintf(key, sizeof key, "%zu", i);
        bad += sqlite_bulk_row(b, vals, &err) != 0;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
    for (i = 0, bad = 0; i < n; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT v FROM ints WHERE k = %zu", i);
        if (query_int(sql) != (int64_t)strtoll(texts[i], NULL, 10)) {
            printf("integer \"%s\": %lld, strtoll %lld\n", texts[i], (long long)query_int(sql),
                   (long long)strtoll(texts[i], NULL, 10));
            bad++;
        }
    }
    CHECK_INT(bad, 0);
}

static void test_errors(sqlite_bulk *b, int threaded)
{
    ms_error err = {{0}};
    const char *vals[3];
    char key[32], *huge;
    size_t i;
    int rc_row = 0;

    CHECK_INT(sqlite3_exec(db, "CREATE TABLE u (k TEXT PRIMARY KEY, n INTEGER)", NULL, NULL, NULL),
              SQLITE_OK);
    /* two loads at once */
    CHECK_INT(sqlite_bulk_begin(b, "u", "k,n", "ti", &err), 0);
    CHECK_INT(sqlite_bulk_begin(b, "u", "k,n", "ti", &err), -1);
    CHECK(strstr(err.msg, "while one into u is open") != NULL);
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
    /* more than 32 columns */
    CHECK_INT(sqlite_bulk_begin(b, "u", "k", "ttttttttttttttttttttttttttttttttt", &err), -1);
    CHECK(strstr(err.msg, "33 columns") != NULL);
    /* a table that is not there: the prepare says so */
    CHECK_INT(sqlite_bulk_begin(b, "nowhere", "k", "t", &err), -1);
    CHECK(strstr(err.msg, "no such table: nowhere") != NULL);
    /* a row with more text than a buffer holds */
    huge = malloc(((size_t)4 << 20) + 2);
    CHECK(huge != NULL);
    if (huge) {
        memset(huge, 'x', ((size_t)4 << 20) + 1);
        huge[((size_t)4 << 20) + 1] = '\0';
        vals[0] = huge;
        vals[1] = "1";
        CHECK_INT(sqlite_bulk_begin(b, "u", "k,n", "ti", &err), 0);
        CHECK_INT(sqlite_bulk_row(b, vals, &err), -1);
        CHECK(strstr(err.msg, "4194305 bytes of text") != NULL);
        CHECK_INT(sqlite_bulk_end(b, &err), 0);
        free(huge);
    }
    CHECK_INT(query_int("SELECT count(*) FROM u"), 0);
    /* a duplicate key in the first buffer: reported before the load ends,
     * by the row that starts the second buffer when the inserts run on the
     * caller's thread, else by the next wait; the end reports it again */
    CHECK_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(sqlite_bulk_begin(b, "u", "k,n", "ti", &err), 0);
    sqlite_bulk_set_threads(b, threaded ? 1 : 2); /* during a load: changes nothing */
    for (i = 0; i < 65536 && rc_row == 0; i++) {
        snprintf(key, sizeof key, "k%zu", i == 700 ? (size_t)3 : i);
        vals[0] = key;
        vals[1] = "7";
        rc_row = sqlite_bulk_row(b, vals, &err);
    }
    CHECK_INT(rc_row, 0);
    vals[0] = "last";
    if (threaded) {
        CHECK_INT(sqlite_bulk_row(b, vals, &err), 0);
        CHECK_INT(sqlite_bulk_wait(b, &err), -1);
    } else {
        CHECK_INT(sqlite_bulk_row(b, vals, &err), -1);
    }
    CHECK(strstr(err.msg, "sqlite bulk insert into u: UNIQUE constraint failed: u.k") != NULL);
    err.msg[0] = '\0';
    CHECK_INT(sqlite_bulk_end(b, &err), -1);
    CHECK(strstr(err.msg, "UNIQUE constraint failed: u.k") != NULL);
    CHECK_INT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(query_int("SELECT count(*) FROM u"), 0);
    sqlite_bulk_set_threads(b, threaded ? 2 : 1); /* what the suite runs with */
    /* the same in the last buffer: the end reports it */
    CHECK_INT(sqlite_bulk_begin(b, "u", "k,n", "ti", &err), 0);
    vals[0] = "a";
    vals[1] = "1";
    CHECK_INT(sqlite_bulk_row(b, vals, &err), 0);
    CHECK_INT(sqlite_bulk_row(b, vals, &err), 0);
    CHECK_INT(sqlite_bulk_end(b, &err), -1);
    CHECK(strstr(err.msg, "UNIQUE constraint failed: u.k") != NULL);
    /* the statement was undone as a whole */
    CHECK_INT(query_int("SELECT count(*) FROM u"), 0);
    /* and a new load works */
    CHECK_INT(sqlite_bulk_begin(b, "u", "k,n", "ti", &err), 0);
    CHECK_INT(sqlite_bulk_row(b, vals, &err), 0);
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
    CHECK_INT(query_int("SELECT n FROM u WHERE k = 'a'"), 1);
    /* ending when nothing is open does nothing */
    CHECK_INT(sqlite_bulk_end(b, &err), 0);
}

/* The whole suite on a new database, with the inserts on the loader's
 * thread (threaded) or on the caller's. */
static void run_suite(int threaded)
{
    ms_error err = {{0}};
    sqlite_bulk *b;
    char path[] = "/tmp/moonstat-bulk-XXXXXX";
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    b = sqlite_bulk_new(db, &err);
    CHECK(b != NULL);
    if (b) {
        sqlite_bulk_set_threads(b, threaded ? 2 : 1);
        test_many_rows(b);
        test_long_text(b);
        test_wide(b);
        test_integers(b);
        test_errors(b, threaded);
        sqlite_bulk_free(b);
    }
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    unlink(path);
}

int main(void)
{
    run_suite(1);
    run_suite(0);
    return check_done("test_sqlite_bulk");
}
