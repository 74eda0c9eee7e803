/* test_run_ids.c - the run's event ids across files: an id seen in an
 * earlier file is a duplicate, counted under the later line's game; the
 * first file's line is accepted under its game, with its sandbox flag; the
 * counts are those of one run-wide set (checked against an fp_set fed in
 * the same order) for 300K ids spread over every bucket, many files and
 * repeats; counting empties the ids; an empty run counts nothing. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "run_ids.h"

/* A file's id set: lo, hi, payload = game << 1 | sandbox. */
static void file_add(fp_set *f, uint64_t lo, uint64_t hi, uint32_t game, int sandbox)
{
    CHECK(fp_set_add(f, lo, hi, game << 1 | (uint32_t)sandbox, NULL) == 1);
}

static void test_first_file_wins(void)
{
    run_ids r;
    fp_set a, b;
    dq_counts dq[3];

    memset(dq, 0, sizeof dq);
    run_ids_init(&r);
    fp_set_init(&a);
    fp_set_init(&b);
    file_add(&a, 0x1111000000000001ull, 7, 0, 0);
    file_add(&a, 0xf000000000000002ull, 7, 1, 1); /* another bucket; a sandbox payment */
    file_add(&a, 0x1111000000000003ull, 7, 0, 0);
    /* File b repeats the first two (one under another game), adds one,
     * and has an id with the same lo but another hi: not a repeat. */
    file_add(&b, 0x1111000000000001ull, 7, 2, 0);
    file_add(&b, 0xf000000000000002ull, 7, 1, 1);
    file_add(&b, 0x2222000000000004ull, 9, 2, 1);
    file_add(&b, 0x1111000000000003ull, 8, 0, 0);
    CHECK_INT(run_ids_add_file(&r, &a), 0);
    CHECK_INT(run_ids_add_file(&r, &b), 0);
    CHECK_INT((int)r.count, 7);
    dq[0].duplicates = 5; /* counts within files, added to */
    CHECK_INT(run_ids_count(&r, dq, 3), 0);
    CHECK_INT((int)dq[0].events_accepted, 3); /* ...1, ...3 (hi 7), ...3 (hi 8) */
    CHECK_INT((int)dq[0].duplicates, 5);
    CHECK_INT((int)dq[1].events_accepted, 1);
    CHECK_INT((int)dq[1].sandbox_payments, 1);
    CHECK_INT((int)dq[1].duplicates, 1);
    CHECK_INT((int)dq[2].events_accepted, 1); /* ...4 */
    CHECK_INT((int)dq[2].sandbox_payments, 1);
    CHECK_INT((int)dq[2].duplicates, 1); /* ...1 again, under file b's game */
    CHECK_INT((int)r.count, 0);
    CHECK(r.slabs == NULL);
    CHECK_INT(run_ids_count(&r, dq, 3), 0); /* nothing left: nothing added */
    CHECK_INT((int)dq[0].events_accepted, 3);
    run_ids_free(&r);
    fp_set_free(&a);
    fp_set_free(&b);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Many files, each of distinct ids, drawn with repeats from a pool: the
 * counts equal those of one run-wide set fed file after file. */
static void test_against_one_set(void)
{
    enum { POOL = 200000, FILES = 300, PER_FILE = 1000 };
    static uint64_t pool_lo[POOL], pool_hi[POOL];
    uint64_t seed = 88172645463325252ull;
    run_ids r;
    fp_set whole;
    dq_counts got[4], want[4];
    size_t i, f, k, buckets_used = 0;

    memset(got, 0, sizeof got);
    memset(want, 0, sizeof want);
    for (i = 0; i < POOL; i++) {
        pool_lo[i] = next_rand(&seed);
        pool_hi[i] = next_rand(&seed) & FP_HI_MASK;
    }
    run_ids_init(&r);
    fp_set_init(&whole);
    for (f = 0; f < FILES; f++) {
        fp_set file;
        fp_set_init(&file);
        for (k = 0; k < PER_FILE; k++) {
            size_t at = (size_t)(next_rand(&seed) % POOL);
            uint32_t game = (uint32_t)(next_rand(&seed) % 4), sandbox = (uint32_t)(at % 7 == 0);
            fp_set_add(&file, pool_lo[at], pool_hi[at], game << 1 | sandbox, NULL);
        }
        for (k = 0; k < file.n_slots; k++) {
            const fp_entry *e = &file.slot[k];
            uint32_t payload = fp_entry_payload(e);
            if (!e->lo && !e->hi)
                continue;
            if (fp_set_add(&whole, e->lo, e->hi, payload, NULL) == 1) {
                want[payload >> 1].events_accepted++;
                want[payload >> 1].sandbox_payments += payload & 1;
            } else {
                want[payload >> 1].duplicates++;
            }
        }
        CHECK_INT(run_ids_add_file(&r, &file), 0);
        fp_set_free(&file);
    }
    for (i = 0; i < RUN_IDS_BUCKETS; i++)
        buckets_used += r.head[i] != NULL;
    CHECK_INT((int)buckets_used, RUN_IDS_BUCKETS);
    CHECK_INT(run_ids_count(&r, got, 4), 0);
    for (i = 0; i < 4; i++) {
        CHECK_INT((long long)got[i].events_accepted, (long long)want[i].events_accepted);
        CHECK_INT((long long)got[i].sandbox_payments, (long long)want[i].sandbox_payments);
        CHECK_INT((long long)got[i].duplicates, (long long)want[i].duplicates);
    }
    CHECK(want[0].duplicates > 1000 && want[0].events_accepted > 1000);
    run_ids_free(&r);
    fp_set_free(&whole);
}

int main(void)
{
    test_first_file_wins();
    test_against_one_set();
    return check_done("test_run_ids");
}
