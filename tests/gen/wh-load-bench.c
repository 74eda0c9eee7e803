/*
 * wh-load-bench - load throughput of a warehouse backend through the bulk
 * load API (load_begin/load_row/load_end), the path merge.c takes for the
 * staging tables: rows/s, the same rows for every backend.
 *
 *   wh-load-bench URI [ROWS]     (ROWS default 1000000)
 *
 * Two loads of ROWS generated rows each, every one in one transaction (BEGIN,
 * load, COMMIT):
 *   narrow: 3 columns (game_id, day, account_id), as stage_activity, into a
 *           TEMP table as merge.c's staging tables;
 *   wide:   the 18 columns of payments into a regular (durable) table.
 * Prints one line per load: "<backend> <load> <rows> rows <seconds> s <rows/s> rows/s".
 * The warehouse is migrated first (the bench table lives beside the real
 * ones and is dropped at the end): use a scratch warehouse.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warehouse.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const games[] = {"reversal", "rainbow", "star"};
static const char *const platforms[] = {"ios", "android", "pc"};
static const char *const countries[] = {"JP", "US", "TW", "KR", "DE"};
static const char *const currencies[] = {"USD", "JPY", "TWD", "EUR"};

static int load(warehouse *w, const char *label, const char *table, const char *cols,
                const char *types, long rows, int wide)
{
    ms_error err;
    double t0, dt;
    long i;
    char day[24], acct[32], ts[24], eid[40], order[40], amount[24], txn[40];

    t0 = now_s();
    if (wh_begin(w, &err) != 0 || w->ops->load_begin(w->db, table, cols, types, &err) != 0)
        goto fail;
    for (i = 0; i < rows; i++) {
        const char *v[18];
        snprintf(day, sizeof day, "%ld", 20750 + i % 30);
        snprintf(acct, sizeof acct, "acct-%07ld", (i * 7919) % 1000003);
        v[0] = games[i % 3];
        if (!wide) {
            v[1] = day;
            v[2] = acct;
        } else {
            snprintf(order, sizeof order, "GPA.%012ld", i);
            snprintf(ts, sizeof ts, "%ld", 1792800000000L + i * 1000);
            snprintf(eid, sizeof eid, "evt-%08lx-%04ld", i, i % 9973);
            snprintf(amount, sizeof amount, "%ld", 99 + (i % 50) * 100);
            snprintf(txn, sizeof txn, "txn\t%ld\\x", i); /* escaping on the way */
            v[1] = order;
            v[2] = i % 10 ? "paid" : "refunded";
            v[3] = ts;
            v[4] = eid;
            v[5] = day;
            v[6] = acct;
            v[7] = amount;
            v[8] = currencies[i % 4];
            v[9] = i % 2 ? "google_play" : "app_store";
            v[10] = i % 7 ? txn : NULL;
            v[11] = "gem_pack_100";
            v[12] = "s1";
            v[13] = i % 3 ? "r1" : NULL;
            v[14] = i % 50 ? "0" : "1";
            v[15] = platforms[i % 3];
            v[16] = countries[i % 5];
            v[17] = "log";
        }
        if (w->ops->load_row(w->db, v, &err) != 0)
            goto fail;
    }
    if (w->ops->load_end(w->db, &err) != 0 || wh_commit(w, &err) != 0)
        goto fail;
    dt = now_s() - t0;
    printf("%s %s %ld rows %.3f s %.0f rows/s\n", w->ops->scheme, label, rows, dt,
           dt > 0 ? (double)rows / dt : 0.0);
    fflush(stdout);
    return 0;
fail:
    fprintf(stderr, "wh-load-bench: %s: %s\n", label, err.msg);
    wh_rollback(w);
    return -1;
}

int main(int argc, char **argv)
{
    ms_error err;
    warehouse *w;
    long rows = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    int rc = 0;

    if (argc < 2 || rows <= 0) {
        fprintf(stderr, "usage: wh-load-bench URI [ROWS]\n");
        return 2;
    }
    w = warehouse_open(argv[1], &err);
    if (!w || w->ops->try_lock(w->db, &err) != 1 || warehouse_migrate(w, &err) != 0) {
        fprintf(stderr, "wh-load-bench: %s\n", w ? err.msg : err.msg);
        warehouse_close(w);
        return 1;
    }
    if (wh_exec(w,
                "CREATE TEMP TABLE IF NOT EXISTS bench_narrow (game_id TEXT, day BIGINT, "
                "account_id TEXT);"
                "DROP TABLE IF EXISTS bench_wide;"
                "CREATE TABLE bench_wide (game_id TEXT NOT NULL, order_id TEXT NOT NULL, "
                "status TEXT NOT NULL, ts BIGINT NOT NULL, eid TEXT NOT NULL, day BIGINT NOT NULL, "
                "account_id TEXT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, "
                "pay_channel TEXT NOT NULL, channel_txn_id TEXT, product_id TEXT, server_id TEXT, "
                "role_id TEXT, sandbox BIGINT NOT NULL, platform TEXT NOT NULL, "
                "country TEXT NOT NULL, source TEXT NOT NULL)",
                &err) != 0) {
        fprintf(stderr, "wh-load-bench: %s\n", err.msg);
        warehouse_close(w);
        return 1;
    }
    if (load(w, "narrow(3 cols, temp table)", "bench_narrow", "game_id,day,account_id", "tit",
             rows, 0) != 0 ||
        load(w, "wide(18 cols, table)", "bench_wide",
             "game_id,order_id,status,ts,eid,day,account_id,amount_minor,currency,pay_channel,"
             "channel_txn_id,product_id,server_id,role_id,sandbox,platform,country,source",
             "tttititittttttittt", rows, 1) != 0)
        rc = 1;
    if (rc == 0) {
        int64_t n = 0;
        int found = 0;
        if (wh_query_int(w, "SELECT count(*) FROM bench_wide", "", NULL, &n, &found, &err) != 0 ||
            n != rows) {
            fprintf(stderr, "wh-load-bench: bench_wide holds %" PRId64 " rows, want %ld\n", n, rows);
            rc = 1;
        }
    }
    wh_exec(w, "DROP TABLE IF EXISTS bench_wide", &err);
    warehouse_close(w);
    return rc;
}
