/* test_common.c - ms_grow, the growable-array helper: doubling from the
 * first capacity, untouched when big enough, and a failure (overflow) that
 * leaves the array and its capacity to the caller; ms_days_unique; the
 * threads' priority. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "common.h"

static void test_grow(void)
{
    int *a = NULL, *p;
    size_t cap = 0, i;

    p = ms_grow(a, &cap, 1, sizeof *a, 4);
    CHECK(p != NULL);
    CHECK_INT(cap, 4);
    a = p;
    for (i = 0; i < 4; i++)
        a[i] = (int)i;
    CHECK(ms_grow(a, &cap, 4, sizeof *a, 4) == a); /* enough: the same array */
    CHECK_INT(cap, 4);
    p = ms_grow(a, &cap, 37, sizeof *a, 4); /* 4 -> 8 -> 16 -> 32 -> 64 */
    CHECK(p != NULL);
    CHECK_INT(cap, 64);
    a = p;
    CHECK_INT(a[3], 3); /* contents kept */
    CHECK(ms_grow(a, &cap, SIZE_MAX, sizeof *a, 4) == NULL); /* cannot double that far */
    CHECK_INT(cap, 64);
    CHECK(ms_grow(a, &cap, SIZE_MAX / 2, 16, 4) == NULL); /* bytes would overflow */
    CHECK_INT(cap, 64);
    CHECK_INT(a[3], 3); /* still the caller's array */
    free(a);
}

/* ms_days_unique: sorted, repeats dropped (negative days and the extremes
 * compare as numbers, not by a subtraction that could overflow), an empty
 * list stays empty. */
static void test_days_unique(void)
{
    int32_t d[] = {20760, -3, INT32_MAX, 20760, INT32_MIN, -3, 0, 20760, INT32_MAX};
    int32_t want[] = {INT32_MIN, -3, 0, 20760, INT32_MAX};
    size_t n = ms_days_unique(d, sizeof d / sizeof *d), i;
    CHECK_INT(n, 5);
    for (i = 0; i < n && i < 5; i++)
        CHECK_INT(d[i], want[i]);
    CHECK_INT(ms_days_unique(NULL, 0), 0);
    CHECK_INT(ms_days_unique(d, 1), 1);
    CHECK_INT(d[0], INT32_MIN);
}

/* What a thread saw of its own nice value: before, after +3, after +100. */
typedef struct nice_seen {
    int before, after, capped, rc1, rc2;
} nice_seen;

static int thread_nice(void)
{
    return getpriority(PRIO_PROCESS, (id_t)gettid());
}

static void *lower_in_thread(void *arg)
{
    nice_seen *n = arg;
    n->before = thread_nice();
    n->rc1 = ms_thread_lower_priority(3);
    n->after = thread_nice();
    n->rc2 = ms_thread_lower_priority(100);
    n->capped = thread_nice();
    return NULL;
}

/* ms_thread_lower_priority: the calling thread's nice value goes up by the
 * amount, never past 19, and the other threads keep theirs. */
static void test_lower_priority(void)
{
    nice_seen n = {0, 0, 0, -9, -9};
    pthread_t t;
    int main_before = thread_nice();

    CHECK_INT(pthread_create(&t, NULL, lower_in_thread, &n), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(n.rc1, 0);
    CHECK_INT(n.before, main_before); /* a new thread starts with its creator's */
    CHECK_INT(n.after, n.before + 3 > 19 ? 19 : n.before + 3);
    CHECK_INT(n.rc2, 0);
    CHECK_INT(n.capped, 19);
    CHECK_INT(thread_nice(), main_before);
}

int main(void)
{
    test_grow();
    test_days_unique();
    test_lower_priority();
    return check_done("test_common");
}
