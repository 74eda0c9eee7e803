/* test_account_attrs.c - account_attrs_find_near: the hint's walk agrees
 * with the hash table whatever the order of the lookups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_attrs.h"
#include "check.h"

#define N_ACCOUNTS 1000

/* Accounts "acct-0000".."acct-0999" in order, attr[i].cohort_day = i. */
static int build(account_attrs *a)
{
    size_t i;
    account_attrs_init(a);
    if (!(a->attr = calloc(N_ACCOUNTS, sizeof *a->attr)))
        return -1;
    a->cap = N_ACCOUNTS;
    for (i = 0; i < N_ACCOUNTS; i++) {
        char key[16];
        int is_new;
        snprintf(key, sizeof key, "acct-%04zu", i);
        if (keymap_put(&a->accounts, 0, key, strlen(key), &is_new) != (int64_t)i)
            return -1;
        a->attr[i].cohort_day = (int32_t)i;
    }
    return 0;
}

static int32_t find(const account_attrs *a, size_t i, uint32_t *hint)
{
    char key[16];
    const account_attr *r;
    snprintf(key, sizeof key, "acct-%04zu", i);
    r = account_attrs_find_near(a, key, hint);
    return r ? r->cohort_day : -1;
}

static void test_find_near(void)
{
    account_attrs a;
    uint32_t hint = 0;
    size_t i, bad = 0;

    CHECK_INT(build(&a), 0);
    /* In order, every third account (a day's active accounts): each found,
     * the hint just past it. */
    for (i = 0; i < N_ACCOUNTS; i += 3) {
        if (find(&a, i, &hint) != (int32_t)i || hint != i + 1)
            bad++;
    }
    CHECK_INT(bad, 0);
    /* Far from the hint, backwards, and out of order: the hash table. */
    hint = 10;
    CHECK_INT(find(&a, 900, &hint), 900);
    CHECK_INT(hint, 901);
    CHECK_INT(find(&a, 5, &hint), 5);
    CHECK_INT(hint, 6);
    for (i = 0, bad = 0; i < N_ACCOUNTS; i++) {
        size_t k = (i * 7919) % N_ACCOUNTS;
        if (find(&a, k, &hint) != (int32_t)k || hint != k + 1)
            bad++;
    }
    CHECK_INT(bad, 0);
    /* The last account, a hint at and past the end. */
    hint = N_ACCOUNTS - 1;
    CHECK_INT(find(&a, N_ACCOUNTS - 1, &hint), N_ACCOUNTS - 1);
    CHECK_INT(hint, N_ACCOUNTS);
    CHECK_INT(find(&a, 0, &hint), 0);
    hint = N_ACCOUNTS + 5;
    CHECK_INT(find(&a, 3, &hint), 3);
    /* Absent: NULL, and the hint left alone; a prefix of a key is absent. */
    hint = 42;
    CHECK(account_attrs_find_near(&a, "acct-9999", &hint) == NULL);
    CHECK(account_attrs_find_near(&a, "acct-004", &hint) == NULL);
    CHECK(account_attrs_find_near(&a, "", &hint) == NULL);
    CHECK_INT(hint, 42);
    /* The same answers as account_attrs_find. */
    for (i = 0, bad = 0; i < N_ACCOUNTS; i += 13) {
        char key[16];
        snprintf(key, sizeof key, "acct-%04zu", i);
        if (account_attrs_find(&a, key) != account_attrs_find_near(&a, key, &hint))
            bad++;
    }
    CHECK_INT(bad, 0);
    account_attrs_free(&a);
}

int main(void)
{
    test_find_near();
    return check_done("test_account_attrs");
}
