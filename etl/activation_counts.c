/*
 * activation_counts.c - activations kept beside the devices table (see
 * activation_counts.h).
 */
#include "activation_counts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cell's key: the day in decimal, the platform and the country, each
 * NUL-terminated. Platforms are the parser's names ("android"), countries
 * ISO 3166-1 alpha-2 or empty (inputs.md); the cap only guards against a
 * warehouse edited by hand. */
#define CELL_KEY_MAX 96

void activation_counts_init(activation_counts *c)
{
    keymap_init(&c->cells);
    c->delta = NULL;
    c->cap = 0;
    c->any_drop = 0;
}

void activation_counts_free(activation_counts *c)
{
    keymap_free(&c->cells);
    free(c->delta);
    activation_counts_init(c);
}

int activation_counts_add(activation_counts *c, uint32_t game, const char *day,
                          const char *platform, const char *country, int64_t delta,
                          ms_error *err)
{
    char key[CELL_KEY_MAX];
    size_t d = strlen(day), p = strlen(platform), k = strlen(country), n;
    int64_t id;
    int is_new = 0;

    if (d + p + k + 3 > sizeof key)
        return ms_error_set(err, "activations: day '%.24s', platform '%.32s' or country '%.32s' "
                            "is too long (the devices table was changed by hand?)",
                            day, platform, country);
    memcpy(key, day, d + 1);
    n = d + 1;
    memcpy(key + n, platform, p + 1);
    n += p + 1;
    memcpy(key + n, country, k + 1);
    n += k;
    if ((id = keymap_put(&c->cells, game, key, n, &is_new)) < 0)
        return ms_error_set(err, "out of memory");
    if ((size_t)id >= c->cap) {
        int64_t *grown = ms_grow(c->delta, &c->cap, (size_t)id + 1, sizeof *grown, 256);
        if (!grown)
            return ms_error_set(err, "out of memory");
        c->delta = grown;
    }
    if (is_new)
        c->delta[id] = 0;
    c->delta[id] += delta;
    c->any_drop |= delta < 0;
    return 0;
}

typedef struct drop_ctx {
    activation_counts *c;
    const config *cfg;
    ms_error *err;
} drop_ctx;

/* Row: game_id, first_day, platform, country of a stored device. */
static int drop_row(void *ctx, int ncols, const char *const *v)
{
    drop_ctx *d = ctx;
    int g;
    if (ncols != 4 || !v[0] || !v[1] || !v[2] || !v[3])
        return ms_error_set(d->err, "activations: unexpected devices row");
    if ((g = config_game_index(d->cfg, v[0])) < 0)
        return 0;
    return activation_counts_add(d->c, (uint32_t)g, v[1], v[2], v[3], -1, d->err);
}

/* Driven from the staged rows into the devices' key (merge.c's rule). */
static const char q_replaced[] =
    "SELECT d.game_id, d.first_day, d.platform, d.country FROM stage_devices s "
    "CROSS JOIN devices d WHERE d.game_id = s.game_id AND d.device_id = s.device_id";

int activation_counts_drop_replaced(activation_counts *c, warehouse *wh, const config *cfg,
                                    ms_error *err)
{
    drop_ctx d = {c, cfg, err};
    return wh_query(wh, q_replaced, "", NULL, drop_row, &d, err) < 0 ? -1 : 0;
}

static const char stage_ddl[] =
    "CREATE TEMP TABLE IF NOT EXISTS stage_activations (game_id TEXT, day BIGINT, "
    "platform TEXT, country TEXT, devices BIGINT); DELETE FROM stage_activations";
/* WHERE true: SQLite would read ON CONFLICT as the join constraint of the
 * SELECT otherwise (its documentation's own workaround). */
static const char q_upsert[] =
    "INSERT INTO activations (game_id, day, platform, country, devices) "
    "SELECT game_id, day, platform, country, devices FROM stage_activations WHERE true "
    "ON CONFLICT (game_id, day, platform, country) "
    "DO UPDATE SET devices = activations.devices + excluded.devices";
static const char q_drop_empty[] =
    "DELETE FROM activations WHERE devices = 0 AND (game_id, day, platform, country) IN "
    "(SELECT game_id, day, platform, country FROM stage_activations)";

int activation_counts_store(const activation_counts *c, warehouse *wh, const config *cfg,
                            ms_error *err)
{
    size_t i, staged = 0;
    char count[24];
    const char *vals[5];

    if (c->cells.count == 0)
        return 0;
    if (wh_exec(wh, stage_ddl, err) != 0 ||
        wh->ops->load_begin(wh->db, "stage_activations", "game_id,day,platform,country,devices",
                            "titti", err) != 0)
        return -1;
    for (i = 0; i < c->cells.count; i++) {
        const keymap_entry *e = keymap_at(&c->cells, (uint32_t)i);
        if (c->delta[i] == 0)
            continue; /* moved out and back in within the batch */
        snprintf(count, sizeof count, "%" PRId64, c->delta[i]);
        vals[0] = cfg->games[e->ns].id;
        vals[1] = e->key;
        vals[2] = vals[1] + strlen(vals[1]) + 1;
        vals[3] = vals[2] + strlen(vals[2]) + 1;
        vals[4] = count;
        if (wh->ops->load_row(wh->db, vals, err) != 0)
            return -1; /* the caller rolls back; the load ends with the connection */
        staged++;
    }
    if (wh->ops->load_end(wh->db, err) != 0)
        return -1;
    if (staged && (wh_exec(wh, q_upsert, err) != 0 ||
                   (c->any_drop && wh_exec(wh, q_drop_empty, err) != 0)))
        return -1;
    return 0;
}
