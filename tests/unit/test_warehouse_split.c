/* test_warehouse_split.c - the compute workers' split handle on a real
 * SQLite warehouse file (WAL): reads run at once on the worker's own
 * connection and see only what is committed; writes are recorded with
 * copies of their parameters (NULL stays NULL), are invisible until
 * replayed, and are replayed in order inside the job's transaction, which
 * can still roll them back; statements other than reads and writes, bulk
 * loads and writes that hand rows back are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "warehouse.h"
#include "warehouse_split.h"

static int count_rows(void *ctx, int ncols, const char *const *v)
{
    (void)ncols;
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

static int join_values(void *ctx, int ncols, const char *const *v)
{
    char *out = ctx;
    int i;
    for (i = 0; i < ncols; i++) {
        strcat(out, v[i] ? v[i] : "NULL");
        strcat(out, i + 1 < ncols ? "," : ";");
    }
    return 0;
}

static void test_split(const char *uri)
{
    ms_error err = {""};
    warehouse *job = warehouse_open(uri, &err), *reader = warehouse_open(uri, &err);
    wh_split *s;
    warehouse *h;
    char text[256], got[512];
    const char *p2[2];
    int n = 0;

    CHECK(job && reader);
    if (!job || !reader)
        goto out;
    CHECK_INT(wh_exec(job, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", &err), 0);
    CHECK_INT(wh_exec(job, "INSERT INTO t VALUES (1, 'one')", &err), 0);
    s = wh_split_new(reader);
    CHECK(s != NULL);
    if (!s)
        goto out;
    h = wh_split_handle(s);

    /* The job's transaction is open, as in stage 2. */
    CHECK_INT(wh_begin(job, &err), 0);
    CHECK_INT(wh_query(job, "INSERT INTO t VALUES (2, 'two')", "", NULL, NULL, NULL, &err), 0);

    /* A read runs now and sees the committed row only. */
    CHECK_INT(wh_query(h, "  select k FROM t", "", NULL, count_rows, &n, &err), 0);
    CHECK_INT(n, 1);
    n = 0;
    CHECK_INT(wh_query(h, "WITH x AS (SELECT k FROM t) SELECT k FROM x", "", NULL, count_rows, &n,
                       &err),
              0);
    CHECK_INT(n, 1);

    /* Writes wait, with copies of their parameters. */
    strcpy(text, "three");
    p2[0] = "3";
    p2[1] = text;
    CHECK_INT(wh_query(h, "INSERT INTO t (k, v) VALUES ($1, $2)", "it", p2, NULL, NULL, &err), 0);
    strcpy(text, "overwritten by the caller");
    p2[0] = "4";
    p2[1] = NULL;
    CHECK_INT(wh_query(h, "INSERT INTO t (k, v) VALUES ($1, $2)", "it", p2, NULL, NULL, &err), 0);
    p2[0] = "NEW";
    p2[1] = "3";
    CHECK_INT(wh_query(h, "UPDATE t SET v = $1 WHERE k = $2", "ti", p2, NULL, NULL, &err), 0);
    p2[0] = "1";
    CHECK_INT(wh_query(h, "DELETE FROM t WHERE k = $1", "i", p2, NULL, NULL, &err), 0);
    CHECK_INT(wh_split_pending(s), 4);
    n = 0;
    CHECK_INT(wh_query(h, "SELECT k FROM t", "", NULL, count_rows, &n, &err), 0);
    CHECK_INT(n, 1); /* nothing written yet */

    /* Refused: other statements, bulk loads, writes with rows back. */
    err.msg[0] = '\0';
    CHECK_INT(wh_query(h, "CREATE TABLE u (x)", "", NULL, NULL, NULL, &err), -1);
    CHECK(strstr(err.msg, "not allowed on a compute worker") != NULL);
    CHECK_INT(wh_exec(h, "DROP TABLE t", &err), -1);
    CHECK_INT(wh_query(h, "INSERT INTO t VALUES (9, 'x') RETURNING k", "", NULL, count_rows, &n,
                       &err),
              -1);
    CHECK_INT(h->ops->load_begin(h->db, "t", "k,v", "it", &err), -1);
    CHECK_INT(wh_split_pending(s), 4);

    /* Replayed in order on the job's connection, in its transaction. */
    CHECK_INT(wh_split_replay(s, job, &err), 0);
    CHECK_INT(wh_split_pending(s), 0);
    got[0] = '\0';
    CHECK_INT(wh_query(job, "SELECT k, v FROM t ORDER BY k", "", NULL, join_values, got, &err), 0);
    CHECK_STR(got, "2,two;3,NEW;4,NULL;");
    /* The reader still sees the committed state: the transaction is open. */
    n = 0;
    CHECK_INT(wh_query(h, "SELECT k FROM t", "", NULL, count_rows, &n, &err), 0);
    CHECK_INT(n, 1);
    CHECK_INT(wh_rollback(job), 0);
    got[0] = '\0';
    CHECK_INT(wh_query(job, "SELECT k, v FROM t ORDER BY k", "", NULL, join_values, got, &err), 0);
    CHECK_STR(got, "1,one;"); /* rolled back with the rest */

    /* A failing write stops the replay with the error. */
    p2[0] = "1";
    p2[1] = "dup";
    CHECK_INT(wh_query(h, "INSERT INTO t (k, v) VALUES ($1, $2)", "it", p2, NULL, NULL, &err), 0);
    CHECK_INT(wh_begin(job, &err), 0);
    err.msg[0] = '\0';
    CHECK_INT(wh_split_replay(s, job, &err), -1);
    CHECK(err.msg[0] != '\0');
    CHECK_INT(wh_rollback(job), 0);
    wh_split_free(s);
out:
    warehouse_close(reader);
    warehouse_close(job);
}

int main(void)
{
    char dir[] = "/tmp/test_warehouse_split.XXXXXX", path[128], uri[160];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/w.db", dir);
    snprintf(uri, sizeof uri, "sqlite://%s", path);
    test_split(uri);
    snprintf(uri, sizeof uri, "rm -rf '%s'", dir);
    if (system(uri) != 0)
        printf("could not remove %s\n", dir);
    return check_done("test_warehouse_split");
}
