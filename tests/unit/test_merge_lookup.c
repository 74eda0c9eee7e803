/* test_merge_lookup.c - the merge's read-backs on a real SQLite warehouse
 * (WAL, the migrated schema): the stored marks of the keys staged (skipped
 * games not staged), one- and two-part keys, accounts with their attribute
 * marks; with a connection and a thread of their own, while the merge's
 * connection holds an open write transaction, they see only what is
 * committed and do exactly the work (statements, rows, steps) they do on
 * the merge's connection; jobs run in submission order whatever order they
 * are waited in; a connection that cannot be opened fails every job with
 * the reason; a runner freed with jobs still queued drops them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "merge_lookup.h"

static const char *const device_sql =
    "SELECT d.game_id, d.device_id, d.first_ts, d.first_eid, d.first_day FROM lookup_keys k "
    "CROSS JOIN devices d WHERE d.game_id = k.game_id AND d.device_id = k.k1";
static const char *const role_sql =
    "SELECT r.game_id, r.server_id, r.role_id, r.first_ts, r.first_eid, r.first_day FROM "
    "lookup_keys k CROSS JOIN roles r WHERE r.game_id = k.game_id AND r.server_id = k.k1 AND "
    "r.role_id = k.k2";
static const char *const account_sql =
    "SELECT a.game_id, a.account_id, a.reg_ts, a.reg_eid, a.reg_day, a.reg_platform, "
    "a.reg_country, a.act_ts, a.act_eid, a.act_day, a.act_platform, a.act_country, "
    "a.role_ts, a.role_eid, a.role_day, a.pay_ts, a.pay_eid, a.pay_day, a.pay_platform, "
    "a.pay_country, a.cohort_day, a.platform, a.country FROM lookup_keys k CROSS JOIN "
    "accounts a WHERE a.game_id = k.game_id AND a.account_id = k.k1";

static const uint32_t game_rank[2] = {0, 1}; /* "g1" < "g2" */

static void put(keymap *km, uint32_t game, const char *key, size_t len)
{
    int is_new;
    CHECK(keymap_put(km, game, key, len, &is_new) >= 0);
}

static void job_init(lookup_job *job, const keymap *keys, enum key_shape shape,
                     const unsigned char *skip, const char *sql, lookup_row_fn row, void *out)
{
    memset(job, 0, sizeof *job);
    job->keys = keys;
    job->shape = shape;
    job->skip = skip;
    job->sql = sql;
    job->row = row;
    job->out = out;
}

static void work_of(warehouse *wh, wh_work *w)
{
    wh->ops->stats(wh->db, &w->statements, &w->rows, &w->steps);
}

static void check_devices(const stored_mark *m)
{
    CHECK_INT(m[0].exists, 1); /* g1 d1 */
    CHECK_INT(m[0].mark.ts, 100);
    CHECK_STR(m[0].mark.eid, "e1");
    CHECK_INT(m[0].mark.eid_len, 2);
    CHECK_INT(m[0].day, 20000);
    CHECK_INT(m[1].exists, 0); /* g1 d3: not stored (committed) */
    CHECK_INT(m[2].exists, 1); /* g2 d1 */
    CHECK_INT(m[2].mark.ts, 7);
    CHECK_STR(m[2].mark.eid, "x");
    CHECK_INT(m[3].exists, 1); /* g1 d2 */
    CHECK_INT(m[3].day, 19999);
}

/* Devices and roles looked up inline (own 0) and on the runner's own
 * connection (own 1), the merge's connection in a write transaction with
 * an uncommitted device row that only the inline look-up can see. */
static void test_lookups(warehouse *main_wh, config *cfg)
{
    ms_error err = {""};
    keymap devices, roles;
    unsigned char stored[2] = {0, 0}, g2_fresh[2] = {0, 1};
    wh_work inline_work = {0, 0, 0}, own_work = {0, 0, 0}, before, after;
    int own;

    keymap_init(&devices);
    keymap_init(&roles);
    put(&devices, 0, "d1", 2);
    put(&devices, 0, "d3", 2);
    put(&devices, 1, "d1", 2);
    put(&devices, 0, "d2", 2);
    put(&roles, 0, "s1\0r1", 5);
    put(&roles, 1, "s1\0r1", 5);
    for (own = 0; own <= 1; own++) {
        stored_mark dev[4], rol[2], dev_skip[4];
        lookup_job dj, rj, sj;
        lookup_runner *r;

        memset(dev, 0, sizeof dev);
        memset(rol, 0, sizeof rol);
        memset(dev_skip, 0, sizeof dev_skip);
        CHECK_INT(wh_begin(main_wh, &err), 0);
        if (own)
            CHECK_INT(wh_exec(main_wh, "INSERT INTO devices VALUES ('g1', 'd3', 5, 'e5', 19000, "
                                       "'ios', 'JP')", &err),
                      0);
        work_of(main_wh, &before);
        r = lookup_runner_new(main_wh, cfg, game_rank, own, &err);
        CHECK(r != NULL);
        if (!r)
            return;
        job_init(&dj, &devices, KEY_ONE, stored, device_sql, lookup_read_mark, dev);
        job_init(&rj, &roles, KEY_TWO, stored, role_sql, lookup_read_mark, rol);
        job_init(&sj, &devices, KEY_ONE, g2_fresh, device_sql, lookup_read_mark, dev_skip);
        lookup_submit(r, &dj);
        lookup_submit(r, &rj);
        lookup_submit(r, &sj);
        /* Waited for out of order: they ran in order all the same. */
        CHECK_INT(lookup_wait(r, &sj, &err), 0);
        CHECK_INT(lookup_wait(r, &rj, &err), 0);
        CHECK_INT(lookup_wait(r, &dj, &err), 0);
        CHECK_INT((int)dj.staged, 4);
        CHECK_INT((int)rj.staged, 2);
        CHECK_INT((int)sj.staged, 3); /* g2's key not staged */
        check_devices(dev);
        CHECK_INT(rol[0].exists, 1);
        CHECK_INT(rol[0].mark.ts, 300);
        CHECK_STR(rol[0].mark.eid, "re");
        CHECK_INT(rol[0].day, 20001);
        CHECK_INT(rol[1].exists, 0);
        CHECK_INT(dev_skip[0].exists, 1);
        CHECK_INT(dev_skip[2].exists, 0); /* skipped */
        CHECK_INT(dev_skip[3].exists, 1);
        lookup_runner_free(r, own ? &own_work : NULL);
        work_of(main_wh, &after);
        if (!own) {
            inline_work.statements = after.statements - before.statements;
            inline_work.rows = after.rows - before.rows;
            inline_work.steps = after.steps - before.steps;
        } else {
            /* Nothing ran on the merge's connection. */
            CHECK_INT((long long)(after.statements - before.statements), 0);
        }
        CHECK_INT(wh_rollback(main_wh), 0);
    }
    CHECK(inline_work.statements > 0);
    CHECK_INT((long long)own_work.statements, (long long)inline_work.statements);
    CHECK_INT((long long)own_work.rows, (long long)inline_work.rows);
    CHECK_INT((long long)own_work.steps, (long long)inline_work.steps);
    keymap_free(&devices);
    keymap_free(&roles);
}

static void test_accounts(warehouse *main_wh, config *cfg)
{
    ms_error err = {""};
    keymap keys;
    unsigned char stored[2] = {0, 0};
    account_row rows[2];
    lookup_job job;
    lookup_runner *r;

    keymap_init(&keys);
    put(&keys, 1, "a1", 2);
    put(&keys, 0, "a1", 2);
    memset(rows, 0, sizeof rows);
    r = lookup_runner_new(main_wh, cfg, game_rank, 1, &err);
    CHECK(r != NULL);
    if (!r)
        return;
    job_init(&job, &keys, KEY_ONE, stored, account_sql, lookup_read_account, rows);
    lookup_submit(r, &job);
    CHECK_INT(lookup_wait(r, &job, &err), 0);
    CHECK_INT(rows[0].exists, 0);
    CHECK_INT(rows[1].exists, 1);
    CHECK_INT(rows[1].reg.mark.ts, 10);
    CHECK_STR(rows[1].reg.mark.eid, "r");
    CHECK_INT(rows[1].reg.day, 20000);
    CHECK_STR(rows[1].reg.platform, "other"); /* stored NULL */
    CHECK_STR(rows[1].reg.country, "ZZ");
    CHECK(rows[1].act.mark.eid == NULL); /* none */
    CHECK_INT(rows[1].role.ts, 30);
    CHECK_STR(rows[1].role.eid, "ro");
    CHECK_INT(rows[1].role_day, 20002);
    CHECK_INT(rows[1].pay.mark.ts, 40);
    CHECK_STR(rows[1].pay.platform, "android");
    CHECK_STR(rows[1].pay.country, "TW");
    CHECK_INT(rows[1].has_cohort, 1);
    CHECK_INT(rows[1].cohort_day, 20000);
    CHECK_STR(rows[1].platform, "ios");
    CHECK(rows[1].country == NULL);
    lookup_runner_free(r, NULL);
    keymap_free(&keys);
}

/* No connection for the runner: every job fails with the reason; a runner
 * freed with jobs queued drops them. */
static void test_failures(warehouse *main_wh, config *cfg)
{
    ms_error err = {""};
    keymap keys;
    unsigned char stored[2] = {0, 0};
    stored_mark marks[1];
    lookup_job a, b, c;
    lookup_runner *r;
    config broken = *cfg;

    keymap_init(&keys);
    put(&keys, 0, "d1", 2);
    broken.warehouse = "sqlite:///nonexistent-moonstat-dir/sub/warehouse.db";
    r = lookup_runner_new(main_wh, &broken, game_rank, 1, &err);
    CHECK(r != NULL);
    if (r) {
        job_init(&a, &keys, KEY_ONE, stored, device_sql, lookup_read_mark, marks);
        job_init(&b, &keys, KEY_ONE, stored, device_sql, lookup_read_mark, marks);
        lookup_submit(r, &a);
        lookup_submit(r, &b);
        CHECK_INT(lookup_wait(r, &a, &err), -1);
        CHECK(strstr(err.msg, "opening a connection for the merge's look-ups") != NULL);
        CHECK(strstr(err.msg, "nonexistent-moonstat-dir") != NULL);
        err.msg[0] = '\0';
        CHECK_INT(lookup_wait(r, &b, &err), -1);
        CHECK(strstr(err.msg, "opening a connection") != NULL);
        lookup_runner_free(r, NULL);
    }
    /* A bad statement fails its job, with SQLite's message. */
    r = lookup_runner_new(main_wh, cfg, game_rank, 1, &err);
    CHECK(r != NULL);
    if (!r)
        return;
    job_init(&a, &keys, KEY_ONE, stored, "SELECT no_such_column FROM lookup_keys",
             lookup_read_mark, marks);
    lookup_submit(r, &a);
    CHECK_INT(lookup_wait(r, &a, &err), -1);
    CHECK(strstr(err.msg, "no_such_column") != NULL);
    /* Queued and never waited for. */
    job_init(&b, &keys, KEY_ONE, stored, device_sql, lookup_read_mark, marks);
    job_init(&c, &keys, KEY_ONE, stored, device_sql, lookup_read_mark, marks);
    lookup_submit(r, &b);
    lookup_submit(r, &c);
    lookup_runner_free(r, NULL);
    keymap_free(&keys);
}

static void test_attr_mark(void)
{
    arena a;
    attr_mark m;
    const char *none[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *some[5] = {"-5", "ev", "-1", "web", "US"};
    arena_init(&a);
    memset(&m, 1, sizeof m);
    CHECK_INT(attr_mark_from(&m, &a, none), 0);
    CHECK(m.mark.eid == NULL && m.platform == NULL && m.day == 0);
    CHECK_INT(attr_mark_from(&m, &a, some), 0);
    CHECK_INT(m.mark.ts, -5);
    CHECK_INT(m.day, -1);
    CHECK_STR(m.platform, "web");
    CHECK_STR(m.country, "US");
    arena_free(&a);
}

int main(void)
{
    char dir[] = "/tmp/test_merge_lookup.XXXXXX", path[128], uri[160], cmd[200];
    ms_error err = {""};
    warehouse *wh;
    config cfg;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/warehouse.db", dir);
    snprintf(uri, sizeof uri, "sqlite://%s", path);
    wh = warehouse_open(uri, &err);
    CHECK(wh != NULL);
    if (wh) {
        CHECK_INT(wh->ops->try_lock(wh->db, &err), 1);
        CHECK_INT(warehouse_migrate(wh, &err), 0);
        CHECK_INT(lookup_prepare(wh, &err), 0);
        CHECK_INT(wh_exec(wh,
                          "INSERT INTO devices VALUES ('g1', 'd1', 100, 'e1', 20000, 'ios', 'JP'),"
                          " ('g1', 'd2', 50, 'e0', 19999, 'ios', 'JP'),"
                          " ('g2', 'd1', 7, 'x', 19990, 'android', 'US');"
                          "INSERT INTO roles VALUES ('g1', 's1', 'r1', 300, 're', 20001, 'a1');"
                          "INSERT INTO accounts (game_id, account_id, reg_ts, reg_eid, reg_day, "
                          " role_ts, role_eid, role_day, pay_ts, pay_eid, pay_day, pay_platform,"
                          " pay_country, cohort_day, platform) VALUES ('g1', 'a1', 10, 'r', "
                          " 20000, 30, 'ro', 20002, 40, 'p', 20003, 'android', 'TW', 20000, "
                          " 'ios')",
                          &err),
                  0);
        if (err.msg[0])
            printf("setup: %s\n", err.msg);
        memset(&cfg, 0, sizeof cfg);
        cfg.warehouse = uri;
        cfg.n_games = 2;
        cfg.games[0].id = "g1";
        cfg.games[1].id = "g2";
        test_lookups(wh, &cfg);
        test_accounts(wh, &cfg);
        test_failures(wh, &cfg);
        warehouse_close(wh);
    }
    test_attr_mark();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        perror("rm");
    return check_done("test_merge_lookup");
}
