/* test_activation_counts.c - the merge's activation cells in memory: one
 * cell per (game, day, platform, country), deltas summed within it, a drop
 * remembered (activation_counts_store then deletes cells at 0), and a
 * platform or country too long for a cell key refused with a message.
 * Storing them is tests/e2e/activation_counts.sh's, on a real warehouse. */
#include <stdio.h>
#include <string.h>

#include "activation_counts.h"
#include "check.h"

static int64_t delta_of(const activation_counts *c, uint32_t game, const char *key, size_t n)
{
    int64_t id = keymap_get(&c->cells, game, key, n);
    return id < 0 ? -999 : c->delta[id];
}

static void test_cells(void)
{
    activation_counts c;
    ms_error err = {{0}};
    int i;

    activation_counts_init(&c);
    CHECK_INT(activation_counts_add(&c, 0, "20514", "ios", "JP", 1, &err), 0);
    CHECK_INT(activation_counts_add(&c, 0, "20514", "ios", "JP", 1, &err), 0);
    CHECK_INT(activation_counts_add(&c, 1, "20514", "ios", "JP", 1, &err), 0); /* another game */
    CHECK_INT(activation_counts_add(&c, 0, "20515", "ios", "JP", 1, &err), 0); /* another day */
    CHECK_INT(activation_counts_add(&c, 0, "20514", "ios", "", 1, &err), 0);   /* no country */
    CHECK_INT((int)c.cells.count, 4);
    CHECK_INT(c.any_drop, 0);
    CHECK_INT((int)delta_of(&c, 0, "20514\0ios\0JP", 12), 2);
    CHECK_INT((int)delta_of(&c, 1, "20514\0ios\0JP", 12), 1);
    CHECK_INT((int)delta_of(&c, 0, "20515\0ios\0JP", 12), 1);
    CHECK_INT((int)delta_of(&c, 0, "20514\0ios\0", 10), 1);
    /* "ios" + "JP" must not meet "io" + "sJP": the parts stay apart. */
    CHECK_INT(activation_counts_add(&c, 0, "20514", "io", "sJP", 1, &err), 0);
    CHECK_INT((int)c.cells.count, 5);
    CHECK_INT((int)delta_of(&c, 0, "20514\0ios\0JP", 12), 2);
    /* A device moved away: the cell's sum falls, a drop is remembered. */
    CHECK_INT(activation_counts_add(&c, 0, "20514", "ios", "JP", -2, &err), 0);
    CHECK_INT((int)delta_of(&c, 0, "20514\0ios\0JP", 12), 0);
    CHECK_INT(c.any_drop, 1);
    /* Many cells: the deltas grow with them. */
    for (i = 0; i < 1000; i++) {
        char day[16];
        snprintf(day, sizeof day, "%d", 20000 + i);
        CHECK_INT(activation_counts_add(&c, 2, day, "android", "US", i, &err), 0);
    }
    CHECK_INT((int)c.cells.count, 1005);
    CHECK_INT((int)delta_of(&c, 2, "20999\0android\0US", 16), 999);
    CHECK_INT((int)delta_of(&c, 0, "20514\0ios\0", 10), 1);
    activation_counts_free(&c);
    CHECK_INT((int)c.cells.count, 0);
}

static void test_too_long(void)
{
    activation_counts c;
    ms_error err = {{0}};
    char platform[200];

    memset(platform, 'x', sizeof platform - 1);
    platform[sizeof platform - 1] = '\0';
    activation_counts_init(&c);
    CHECK_INT(activation_counts_add(&c, 0, "20514", platform, "JP", 1, &err), -1);
    CHECK(strstr(err.msg, "too long") != NULL);
    CHECK_INT((int)c.cells.count, 0);
    activation_counts_free(&c);
}

int main(void)
{
    test_cells();
    test_too_long();
    return check_done("test_activation_counts");
}
