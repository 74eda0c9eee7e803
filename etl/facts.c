/*
 * facts.c - folding events into facts (see facts.h).
 */
#include "facts.h"

#include <stdlib.h>
#include <string.h>

int first_mark_less(const first_mark *a, const first_mark *b)
{
    size_t n;
    int c;
    if (!a->eid)
        return 0;
    if (!b->eid)
        return 1;
    if (a->ts != b->ts)
        return a->ts < b->ts;
    n = a->eid_len < b->eid_len ? a->eid_len : b->eid_len;
    c = memcmp(a->eid, b->eid, n);
    if (c != 0)
        return c < 0;
    return a->eid_len < b->eid_len;
}

void fact_batch_init(fact_batch *b, const tz_zone *const *zones, size_t n_games)
{
    memset(b, 0, sizeof *b);
    b->zones = zones;
    b->n_games = n_games;
    keymap_init(&b->devices);
    keymap_init(&b->accounts);
    keymap_init(&b->roles);
    keymap_init(&b->payments);
    fp_set_init(&b->activity);
    arena_init(&b->strings);
}

void fact_batch_free(fact_batch *b)
{
    keymap_free(&b->devices);
    keymap_free(&b->accounts);
    keymap_free(&b->roles);
    keymap_free(&b->payments);
    fp_set_free(&b->activity);
    arena_free(&b->strings);
    free(b->device);
    free(b->account);
    free(b->role);
    free(b->payment);
    memset(b, 0, sizeof *b);
}

/* Makes room for record `id` in a zero-initialised array of `size`-byte records. */
static int ensure_slot(void **arr, size_t *cap, size_t id, size_t size)
{
    size_t ncap;
    char *p;
    if (id < *cap)
        return 0;
    ncap = *cap ? *cap : 1024;
    while (ncap <= id)
        ncap *= 2;
    p = realloc(*arr, ncap * size);
    if (!p)
        return -1;
    memset(p + *cap * size, 0, (ncap - *cap) * size);
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Copies a string into the batch arena (NULL stays NULL). */
static int dup_str(fact_batch *b, const char *p, size_t n, const char **out)
{
    if (!p) {
        *out = NULL;
        return 0;
    }
    *out = arena_strndup(&b->strings, p, n);
    return *out ? 0 : -1;
}

/* Replaces *dst by the mark (ts, eid) when that is earlier; returns 1 when it
 * replaced, 0 when not, -1 on allocation failure. */
static int take_if_earlier(fact_batch *b, first_mark *dst, int64_t ts, const char *eid,
                           size_t eid_len)
{
    first_mark cand = {ts, eid, (uint32_t)eid_len};
    if (!first_mark_less(&cand, dst))
        return 0;
    if (dup_str(b, eid, eid_len, &dst->eid) != 0)
        return -1;
    dst->ts = ts;
    dst->eid_len = (uint32_t)eid_len;
    return 1;
}

static int64_t put_key(keymap *m, uint32_t game, const char *p, size_t n)
{
    int is_new;
    return keymap_put(m, game, p, n, &is_new);
}

/* The account record of (game, account_id), created empty if needed. */
static account_fact *account_slot(fact_batch *b, uint32_t game, const char *id, size_t n,
                                  int64_t *out_id)
{
    int64_t aid = put_key(&b->accounts, game, id, n);
    if (aid < 0 || ensure_slot((void **)&b->account, &b->account_cap, (size_t)aid,
                               sizeof *b->account) != 0)
        return NULL;
    if (out_id)
        *out_id = aid;
    return &b->account[aid];
}

static int add_activity(fact_batch *b, int64_t aid, int32_t day)
{
    uint64_t key = ((uint64_t)(aid + 1) << 32) | (uint32_t)day;
    return fp_set_add(&b->activity, key, 0, 0, NULL) < 0 ? -1 : 0;
}

static int add_device(fact_batch *b, const sdk_event *ev)
{
    int64_t id = put_key(&b->devices, (uint32_t)ev->game, ev->device_id.p, ev->device_id.n);
    device_fact *d;
    int r;
    if (id < 0 || ensure_slot((void **)&b->device, &b->device_cap, (size_t)id, sizeof *b->device))
        return -1;
    d = &b->device[id];
    r = take_if_earlier(b, &d->first, ev->ts_ms, ev->event_id.p, ev->event_id.n);
    if (r > 0) {
        d->platform = (uint8_t)ev->platform;
        memcpy(d->country, ev->country, 3);
    }
    return r < 0 ? -1 : 0;
}

/* register, login, role_create: activity, and the earliest marks. */
static int add_account_event(fact_batch *b, const sdk_event *ev)
{
    int64_t aid;
    account_fact *a = account_slot(b, (uint32_t)ev->game, ev->account_id.p, ev->account_id.n, &aid);
    int r;
    if (!a)
        return -1;
    if (add_activity(b, aid, tz_local_day(b->zones[ev->game], ev->ts_ms)) != 0)
        return -1;
    r = take_if_earlier(b, &a->act, ev->ts_ms, ev->event_id.p, ev->event_id.n);
    if (r < 0)
        return -1;
    if (r > 0) {
        a->act_platform = (uint8_t)ev->platform;
        memcpy(a->act_country, ev->country, 3);
    }
    if (ev->kind == EV_REGISTER) {
        r = take_if_earlier(b, &a->reg, ev->ts_ms, ev->event_id.p, ev->event_id.n);
        if (r < 0)
            return -1;
        if (r > 0) {
            a->reg_platform = (uint8_t)ev->platform;
            memcpy(a->reg_country, ev->country, 3);
        }
    } else if (ev->kind == EV_ROLE_CREATE) {
        int64_t rid;
        role_fact *rf;
        char key[2 * 256 + 1]; /* two ids of at most 64 characters of up to 4 bytes */
        size_t kn = ev->server_id.n + 1 + ev->role_id.n;
        if (take_if_earlier(b, &a->role, ev->ts_ms, ev->event_id.p, ev->event_id.n) < 0)
            return -1;
        if (kn > sizeof key)
            return -1; /* the parser bounds both ids; never taken */
        memcpy(key, ev->server_id.p, ev->server_id.n);
        key[ev->server_id.n] = '\0';
        memcpy(key + ev->server_id.n + 1, ev->role_id.p, ev->role_id.n);
        rid = put_key(&b->roles, (uint32_t)ev->game, key, kn);
        if (rid < 0 || ensure_slot((void **)&b->role, &b->role_cap, (size_t)rid, sizeof *b->role))
            return -1;
        rf = &b->role[rid];
        r = take_if_earlier(b, &rf->first, ev->ts_ms, ev->event_id.p, ev->event_id.n);
        if (r < 0)
            return -1;
        if (r > 0) {
            if (dup_str(b, ev->account_id.p, ev->account_id.n, &rf->account_id) != 0)
                return -1;
            rf->account_len = (uint32_t)ev->account_id.n;
        }
    }
    return 0;
}

static int add_payment(fact_batch *b, const sdk_event *ev)
{
    char key[256 + 2]; /* order_id: at most 64 characters of up to 4 bytes */
    int64_t id;
    payment_fact *p;
    int r;

    if (ev->order_id.n > 256)
        return -1; /* the parser bounds order_id; never taken */
    memcpy(key, ev->order_id.p, ev->order_id.n);
    key[ev->order_id.n] = '\0';
    key[ev->order_id.n + 1] = ev->status == PAY_PAID ? 'p' : 'r';
    id = put_key(&b->payments, (uint32_t)ev->game, key, ev->order_id.n + 2);
    if (id < 0 ||
        ensure_slot((void **)&b->payment, &b->payment_cap, (size_t)id, sizeof *b->payment))
        return -1;
    p = &b->payment[id];
    r = take_if_earlier(b, &p->first, ev->ts_ms, ev->event_id.p, ev->event_id.n);
    if (r <= 0)
        return r;
    p->status = (uint8_t)ev->status;
    p->sandbox = (uint8_t)ev->sandbox;
    p->platform = (uint8_t)ev->platform;
    memcpy(p->country, ev->country, 3);
    memcpy(p->currency, ev->currency, 4);
    p->currency_minor = (int8_t)ev->currency_minor;
    p->amount_minor = ev->amount_minor;
    if (dup_str(b, ev->account_id.p, ev->account_id.n, &p->account_id) ||
        dup_str(b, ev->pay_channel.p, ev->pay_channel.n, &p->pay_channel) ||
        dup_str(b, ev->channel_txn_id.p, ev->channel_txn_id.n, &p->channel_txn_id) ||
        dup_str(b, ev->product_id.p, ev->product_id.n, &p->product_id) ||
        dup_str(b, ev->server_id.p, ev->server_id.n, &p->server_id) ||
        dup_str(b, ev->role_id.p, ev->role_id.n, &p->role_id))
        return -1;
    return 0;
}

int fact_batch_add(fact_batch *b, const sdk_event *ev)
{
    switch (ev->kind) {
    case EV_DEVICE_START:
        return add_device(b, ev);
    case EV_REGISTER:
    case EV_LOGIN:
    case EV_ROLE_CREATE:
        return add_account_event(b, ev);
    case EV_PAYMENT:
        return add_payment(b, ev);
    default:
        return 0;
    }
}

/* The id in dst of src's key i, the key's hash reused. Meanwhile the
 * lookups ahead are asked for in three stages, each using what the one
 * before brought in: the slot of key i + KEYMAP_PREFETCH_AHEAD; for key
 * i + KEYMAP_PEEK_AHEAD the entry its slot points to and the dst record of
 * that id (records: dst's array of rec_cap records of rec_size bytes); for
 * key i + KEYMAP_KEY_AHEAD the key text of that entry. A fold is a stream
 * of such misses, one after the other in a plain lookup; with all three
 * stages the 5M event bench's fold of devices and accounts took 0.75 s of
 * CPU instead of 0.91 (slots only), the read 3.6 s instead of 4.05
 * (medians of 5, alternating). dst must have room reserved for all of
 * src's keys. */
static int64_t absorb_key(keymap *dst, const keymap *src, size_t i, const void *records,
                          size_t rec_cap, size_t rec_size)
{
    const keymap_entry *k = keymap_at(src, (uint32_t)i);
    int is_new;
    if (i + KEYMAP_PREFETCH_AHEAD < src->count)
        keymap_prefetch(dst, keymap_at(src, (uint32_t)(i + KEYMAP_PREFETCH_AHEAD))->hash);
    if (i + KEYMAP_PEEK_AHEAD < src->count) {
        int64_t id = keymap_peek(dst, keymap_at(src, (uint32_t)(i + KEYMAP_PEEK_AHEAD))->hash);
        if (id >= 0) {
            const keymap_entry *e = keymap_at(dst, (uint32_t)id);
            __builtin_prefetch(e);
            if ((size_t)id < rec_cap) {
                const char *r = (const char *)records + (size_t)id * rec_size;
                __builtin_prefetch(r);
                __builtin_prefetch(r + rec_size - 1);
            }
        }
    }
    if (i + KEYMAP_KEY_AHEAD < src->count) {
        int64_t id = keymap_peek(dst, keymap_at(src, (uint32_t)(i + KEYMAP_KEY_AHEAD))->hash);
        if (id >= 0)
            __builtin_prefetch(keymap_at(dst, (uint32_t)id)->key);
    }
    return keymap_put_hashed(dst, k->ns, k->key, k->len, k->hash, &is_new);
}

/* The activity key of src's slot i in dst's account ids (0: empty slot). */
static inline uint64_t absorbed_activity(const fact_batch *src, const uint32_t *account_in_dst,
                                         size_t i)
{
    uint64_t key = src->activity.slot[i].lo;
    if (!key)
        return 0;
    return ((uint64_t)account_in_dst[activity_account(key)] + 1) << 32 | (uint32_t)key;
}

/* Folding a batch into another replays its facts as if they were events,
 * by id: a file's accounts are put once and its activity follows them
 * through account_in_dst. */
int fact_batch_absorb(fact_batch *dst, const fact_batch *src)
{
    uint32_t *account_in_dst = NULL; /* src account id -> dst account id */
    size_t i;
    int rc = -1;

    if (keymap_reserve(&dst->devices, src->devices.count) != 0 ||
        keymap_reserve(&dst->accounts, src->accounts.count) != 0 ||
        keymap_reserve(&dst->roles, src->roles.count) != 0 ||
        keymap_reserve(&dst->payments, src->payments.count) != 0 ||
        fp_set_reserve(&dst->activity, src->activity.count) != 0)
        goto out;
    if (src->accounts.count &&
        !(account_in_dst = malloc(src->accounts.count * sizeof *account_in_dst)))
        goto out;
    for (i = 0; i < src->devices.count; i++) {
        const device_fact *s = &src->device[i];
        int64_t id = absorb_key(&dst->devices, &src->devices, i, dst->device, dst->device_cap,
                                sizeof *dst->device);
        device_fact *d;
        int r;
        if (id < 0 || ensure_slot((void **)&dst->device, &dst->device_cap, (size_t)id,
                                  sizeof *dst->device))
            goto out;
        d = &dst->device[id];
        r = take_if_earlier(dst, &d->first, s->first.ts, s->first.eid, s->first.eid_len);
        if (r < 0)
            goto out;
        if (r > 0) {
            d->platform = s->platform;
            memcpy(d->country, s->country, 3);
        }
    }
    for (i = 0; i < src->accounts.count; i++) {
        const account_fact *s = &src->account[i];
        int64_t id = absorb_key(&dst->accounts, &src->accounts, i, dst->account, dst->account_cap,
                                sizeof *dst->account);
        account_fact *a;
        int r;
        if (id < 0 || ensure_slot((void **)&dst->account, &dst->account_cap, (size_t)id,
                                  sizeof *dst->account))
            goto out;
        account_in_dst[i] = (uint32_t)id;
        a = &dst->account[id];
        r = take_if_earlier(dst, &a->reg, s->reg.ts, s->reg.eid, s->reg.eid_len);
        if (r < 0)
            goto out;
        if (r > 0) {
            a->reg_platform = s->reg_platform;
            memcpy(a->reg_country, s->reg_country, 3);
        }
        r = take_if_earlier(dst, &a->act, s->act.ts, s->act.eid, s->act.eid_len);
        if (r < 0)
            goto out;
        if (r > 0) {
            a->act_platform = s->act_platform;
            memcpy(a->act_country, s->act_country, 3);
        }
        if (take_if_earlier(dst, &a->role, s->role.ts, s->role.eid, s->role.eid_len) < 0)
            goto out;
    }
    for (i = 0; i < src->activity.n_slots; i++) {
        uint64_t key;
        if (i + KEYMAP_PREFETCH_AHEAD < src->activity.n_slots &&
            (key = absorbed_activity(src, account_in_dst, i + KEYMAP_PREFETCH_AHEAD)))
            fp_set_prefetch(&dst->activity, key, 0);
        if ((key = absorbed_activity(src, account_in_dst, i)) &&
            fp_set_add(&dst->activity, key, 0, 0, NULL) < 0)
            goto out;
    }
    for (i = 0; i < src->roles.count; i++) {
        const role_fact *s = &src->role[i];
        int64_t id = absorb_key(&dst->roles, &src->roles, i, dst->role, dst->role_cap,
                                sizeof *dst->role);
        role_fact *d;
        int r;
        if (id < 0 || ensure_slot((void **)&dst->role, &dst->role_cap, (size_t)id, sizeof *dst->role))
            goto out;
        d = &dst->role[id];
        r = take_if_earlier(dst, &d->first, s->first.ts, s->first.eid, s->first.eid_len);
        if (r < 0)
            goto out;
        if (r > 0) {
            if (dup_str(dst, s->account_id, s->account_len, &d->account_id) != 0)
                goto out;
            d->account_len = s->account_len;
        }
    }
    for (i = 0; i < src->payments.count; i++) {
        const payment_fact *s = &src->payment[i];
        int64_t id = absorb_key(&dst->payments, &src->payments, i, dst->payment, dst->payment_cap,
                                sizeof *dst->payment);
        payment_fact *d;
        int r;
        if (id < 0 || ensure_slot((void **)&dst->payment, &dst->payment_cap, (size_t)id,
                                  sizeof *dst->payment))
            goto out;
        d = &dst->payment[id];
        r = take_if_earlier(dst, &d->first, s->first.ts, s->first.eid, s->first.eid_len);
        if (r < 0)
            goto out;
        if (r > 0) {
            first_mark keep = d->first;
            *d = *s;
            d->first = keep;
            if (dup_str(dst, s->account_id, strlen(s->account_id), &d->account_id) ||
                dup_str(dst, s->pay_channel, s->pay_channel ? strlen(s->pay_channel) : 0, &d->pay_channel) ||
                dup_str(dst, s->channel_txn_id, s->channel_txn_id ? strlen(s->channel_txn_id) : 0, &d->channel_txn_id) ||
                dup_str(dst, s->product_id, s->product_id ? strlen(s->product_id) : 0, &d->product_id) ||
                dup_str(dst, s->server_id, s->server_id ? strlen(s->server_id) : 0, &d->server_id) ||
                dup_str(dst, s->role_id, s->role_id ? strlen(s->role_id) : 0, &d->role_id))
                goto out;
        }
    }
    rc = 0;
out:
    free(account_in_dst);
    return rc;
}
