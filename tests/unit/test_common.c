/* test_common.c - ms_grow, the growable-array helper: doubling from the
 * first capacity, untouched when big enough, and a failure (overflow) that
 * leaves the array and its capacity to the caller. */
#include <stdint.h>
#include <stdlib.h>

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

int main(void)
{
    test_grow();
    return check_done("test_common");
}
