/* test_sqlite_checkpoint.c - the WAL copied into the database by the
 * checkpointer's thread, on a real SQLite database in WAL mode: a commit of
 * fewer than 1000 frames asks for nothing; a commit of more is copied by
 * the thread (counted there, not inline), after which the database file
 * holds the data while the WAL is still open, and a second connection
 * reads it; when the second connection cannot be opened, the next large
 * commit checkpoints inline, as SQLite's automatic checkpoint would; after
 * free and close the WAL is gone (the close's own checkpoint). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sqlite_checkpoint.h"

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static sqlite3 *open_wal(const char *path)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; "
                               "PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS t (b BLOB)",
                           NULL, NULL, NULL),
              SQLITE_OK);
    return db;
}

/* n rows of 8 KiB in one transaction: about 2 frames of 4 KiB each. */
static void insert_rows(sqlite3 *db, int n)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) "
             "INSERT INTO t SELECT randomblob(8192) FROM c",
             n);
    CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static int64_t count_rows(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_background(const char *dir)
{
    char path[512], wal[600];
    ms_error err = {{0}};
    sqlite_checkpointer *c;
    uint64_t bg = 99, in = 99;
    long long before;
    sqlite3 *db;

    snprintf(path, sizeof path, "%s/bg.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    db = open_wal(path);
    c = sqlite_checkpointer_new(db, path, &err);
    CHECK(c != NULL);
    if (!c)
        return;

    /* 100 rows: ~200 frames, below the threshold: nothing asked. */
    insert_rows(db, 100);
    sqlite_checkpointer_drain(c);
    sqlite_checkpointer_stats(c, &bg, &in);
    CHECK_INT(bg, 0);
    CHECK_INT(in, 0);
    before = file_size(path);
    CHECK(before < 100 * 8192); /* the rows are still only in the WAL */

    /* 2000 rows: ~4000 frames in one commit: copied by the thread. */
    insert_rows(db, 2000);
    sqlite_checkpointer_drain(c);
    sqlite_checkpointer_stats(c, &bg, &in);
    CHECK_INT(bg, 1);
    CHECK_INT(in, 0);
    CHECK(file_size(path) >= 2100LL * 8192); /* in the database file, WAL still open */
    CHECK(file_size(wal) > 0);
    CHECK_INT(count_rows(path), 2100);

    /* Another one: checkpointed again, by the same thread. */
    insert_rows(db, 1000);
    sqlite_checkpointer_drain(c);
    sqlite_checkpointer_stats(c, &bg, &in);
    CHECK_INT(bg, 2);
    CHECK_INT(in, 0);
    CHECK(file_size(path) >= 3100LL * 8192);

    sqlite_checkpointer_free(c);
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    CHECK_INT(file_size(wal), -1); /* the close checkpointed the rest and removed it */
    CHECK_INT(count_rows(path), 3100);
}

static void test_inline_fallback(const char *dir)
{
    char path[512], wrong[600];
    ms_error err = {{0}};
    sqlite_checkpointer *c;
    uint64_t bg = 99, in = 99;
    sqlite3 *db;

    snprintf(path, sizeof path, "%s/inline.db", dir);
    snprintf(wrong, sizeof wrong, "%s/no/such/dir.db", dir);
    db = open_wal(path);
    c = sqlite_checkpointer_new(db, wrong, &err); /* its own connection cannot open */
    CHECK(c != NULL);
    if (!c)
        return;
    insert_rows(db, 2000); /* starts the thread, which fails: this commit's frames wait */
    sqlite_checkpointer_drain(c);
    sqlite_checkpointer_stats(c, &bg, &in);
    CHECK_INT(bg, 0);
    CHECK_INT(in, 0);
    CHECK(file_size(path) < 2000LL * 8192);

    insert_rows(db, 2000); /* checkpointed inline, within the commit */
    sqlite_checkpointer_stats(c, &bg, &in);
    CHECK_INT(bg, 0);
    CHECK_INT(in, 1);
    CHECK(file_size(path) >= 4000LL * 8192);
    sqlite_checkpointer_free(c);
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    CHECK_INT(count_rows(path), 4000);
}

/* Freed before any large commit: no thread was started, none is joined. */
static void test_free_unused(const char *dir)
{
    char path[512];
    ms_error err = {{0}};
    sqlite3 *db;
    sqlite_checkpointer *c;

    snprintf(path, sizeof path, "%s/unused.db", dir);
    db = open_wal(path);
    c = sqlite_checkpointer_new(db, path, &err);
    CHECK(c != NULL);
    insert_rows(db, 10);
    sqlite_checkpointer_drain(c);
    sqlite_checkpointer_free(c);
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    CHECK_INT(count_rows(path), 10);
}

int main(void)
{
    char dir[] = "/tmp/moonstat-ckpt-XXXXXX";
    char cmd[600];

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_background(dir);
    test_inline_fallback(dir);
    test_free_unused(dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", dir);
    return check_done("test_sqlite_checkpoint");
}
