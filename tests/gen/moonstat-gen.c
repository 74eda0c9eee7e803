/*
 * moonstat-gen - deterministic sample data for moonstat (tests, demo, bench).
 *
 * Writes DIR/incoming/<UTC ship date>/sdk-<host>-<HH>.jsonl[.gz] (SDK event
 * logs, shared/spec/inputs.md section 1), DIR/fx/<date>.json (section 4) and
 * DIR/moonstat.conf, and prints a one-line summary.  Run with --help.
 *
 * An account population is simulated on a calendar queue of UTC hours: each
 * hour installs accounts, plays the sessions due then (a few events minutes
 * apart), and writes the events of the hour, sorted, to one file per host.
 * Memory: 28 bytes per account plus about an hour of events.  All randomness
 * is one xoshiro256** stream consumed in a fixed order, and only integer or
 * basic IEEE double arithmetic is used (no libm, rand(), time(), locale or
 * system tz data): the same arguments give the same bytes on any machine
 * (gzip bytes also depend on the zlib build; their content does not).
 */
#define ZLIB_CONST
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* ---- Failures: one line on stderr; exit 1 for I/O, 2 for usage ---- */

static void die_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die_code(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("moonstat-gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}
#define die(...) die_code(1, __VA_ARGS__)
#define usage_error(...) die_code(2, __VA_ARGS__)

static void *xrealloc(void *p, size_t n)
{
    if (!(p = realloc(p, n ? n : 1))) die("out of memory (%zu bytes)", n);
    return p;
}

/* ---- PRNG: xoshiro256** stream; mix() derives stable ids from (thing, n)
 * so that an order's txn id or an account's device id need no storage ---- */

static uint64_t R[4], g_seed;
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t next64(void)
{
    uint64_t r = rotl(R[1] * 5, 7) * 9, t = R[1] << 17;
    R[2] ^= R[0]; R[3] ^= R[1]; R[1] ^= R[2]; R[0] ^= R[3];
    R[2] ^= t; R[3] = rotl(R[3], 45);
    return r;
}
static inline uint32_t rnd32(void) { return (uint32_t)(next64() >> 32); }
static inline uint32_t rnd(uint32_t n) { return (uint32_t)(((uint64_t)rnd32() * n) >> 32); }
static double unif(void) { return (double)(next64() >> 11) * 0x1.0p-53; }
static int chance(double p) { return unif() < p; }
static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t x = g_seed ^ (a * 0xD1342543DE82EF95ull) ^ (b * 0xC2B2AE3D27D4EB4Full);
    return splitmix(&x);
}

/* ---- Calendar and time zones: a built-in table (fixed offsets, US and EU
 * DST rules) instead of the system tz database, for identical output ---- */

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
static int64_t fdiv(int64_t a, int64_t b) { return a / b - ((a % b) != 0 && ((a < 0) != (b < 0))); }
static int weekday(int64_t days) { return (int)((days % 7 + 11) % 7); } /* 0 = Sunday */

typedef struct tzinfo { const char *name; int std_min, rule; } tzinfo; /* rule: 0 none, 1 US, 2 EU */
static const tzinfo TZS[] = {
    {"UTC", 0, 0}, {"Asia/Tokyo", 540, 0}, {"Asia/Seoul", 540, 0}, {"Asia/Taipei", 480, 0},
    {"Asia/Hong_Kong", 480, 0}, {"Asia/Shanghai", 480, 0}, {"Asia/Kolkata", 330, 0},
    {"America/Los_Angeles", -480, 1}, {"America/Chicago", -360, 1}, {"America/New_York", -300, 1},
    {"Europe/London", 0, 2}, {"Europe/Paris", 60, 2}, {"Europe/Berlin", 60, 2}};

/* UTC offset in minutes at instant t (Unix seconds). */
static int tz_offset(const tzinfo *tz, int64_t t)
{
    if (!tz->rule) return tz->std_min;
    int y, m, d;
    int64_t start, end, a, b;
    civil_from_days(fdiv(t, 86400), &y, &m, &d);
    if (tz->rule == 1) { /* 2nd Sunday of March .. 1st Sunday of November, 02:00 local */
        a = days_from_civil(y, 3, 1), b = days_from_civil(y, 11, 1);
        start = (a + (7 - weekday(a)) % 7 + 7) * 86400 + 7200 - tz->std_min * 60;
        end = (b + (7 - weekday(b)) % 7) * 86400 + 7200 - (tz->std_min + 60) * 60;
    } else { /* last Sunday of March .. last Sunday of October, 01:00 UTC */
        a = days_from_civil(y, 3, 31), b = days_from_civil(y, 10, 31);
        start = (a - weekday(a)) * 86400 + 3600;
        end = (b - weekday(b)) * 86400 + 3600;
    }
    return tz->std_min + (t >= start && t < end ? 60 : 0);
}
static int64_t local_midnight(const tzinfo *tz, int64_t days) /* UTC instant, Unix s */
{
    int64_t wall = days * 86400, t = wall - tz_offset(tz, wall - tz->std_min * 60) * 60;
    return wall - tz_offset(tz, t) * 60;
}

/* ---- Static data: countries, prices, platforms, daily curve, retention ---- */

#define NCC 18
static const char *const CC[NCC] = {"JP", "TW", "HK", "KR", "US", "SG", "TH", "MY", "CA",
                                    "GB", "DE", "FR", "BR", "MX", "AU", "AE", "IN", "ID"};
/* Country weights by a game's home region (from its time zone). */
static const uint8_t MIX_JP[NCC] = {75, 8, 4, 4, 5, 2, 2}, MIX_TW[NCC] = {5, 60, 20, 0, 5, 5, 0, 5},
    MIX_KR[NCC] = {8, 6, 0, 80, 6}, MIX_AM[NCC] = {5, 3, 0, 0, 55, 0, 0, 0, 10, 6, 5, 4, 5, 5, 2},
    MIX_WW[NCC] = {12, 8, 4, 6, 20, 2, 2, 2, 3, 10, 10, 8, 8, 2, 2, 4, 5, 5};

/* Price points in minor units (ISO 4217 decimals); JP, TW, HK, KR pay in
 * their currency, everyone else in USD. */
typedef struct currency { const char *code; int dec, ntier; uint32_t tier[13]; } currency;
static const currency CUR[] = {
    {"USD", 2, 7, {99, 199, 499, 999, 1999, 4999, 9999}},
    {"JPY", 0, 13, {120, 250, 370, 610, 980, 1220, 1840, 2440, 3060, 4900, 6100, 9800, 12000}},
    {"TWD", 2, 11, {3000, 6000, 9000, 15000, 17000, 33000, 49000, 99000, 149000, 169000, 329000}},
    {"HKD", 2, 9, {780, 1500, 2300, 3800, 7800, 15800, 23800, 39800, 78800}},
    {"KRW", 0, 7, {1200, 2500, 5900, 12000, 33000, 59000, 119000}}};
static int cur_of_cc(int cc) { return cc < 4 ? cc + 1 : 0; }

enum { P_ANDROID, P_IOS, P_PC, P_WEB };
static const char *const PLAT[] = {"android", "ios", "pc", "web"};
static const char *const LOGIN_T[4][4] = {{"guest", "google", "facebook", "google"},
                                          {"guest", "apple", "gamecenter", "facebook"},
                                          {"google", "facebook", "twitter", "guest"},
                                          {"google", "facebook", "twitter", "guest"}};
enum { CH_GP, CH_AS, CH_MC, CH_XS };
static const char *const CHAN[] = {"google_play", "app_store", "mycard", "xsolla"};

/* Activity by local hour (quiet at night, evening peak) and its running sum. */
static const uint32_t DIURNAL[24] = {30, 18, 10, 6, 4, 4, 6, 12, 20, 24, 26, 28,
                                     34, 32, 28, 28, 32, 40, 52, 64, 72, 76, 68, 48};
static uint32_t DCUM[25];
/* Day-N retention anchors: share of an install cohort active on day N. */
static const double RET[][2] = {{1, .40}, {2, .31}, {3, .26}, {4, .225}, {5, .195}, {6, .17},
                                {7, .15}, {14, .10}, {30, .05}, {60, .03}, {120, .02}, {400, .01}};

/* ---- Model state ---- */

typedef struct game {
    char id[33], prefix[3];
    size_t idlen;
    const tzinfo *tz;
    const uint8_t *mix;
    int64_t *mid;   /* local midnights of days 0..D, Unix s */
    uint64_t *cumw; /* cumulative install weight per simulated hour */
    uint64_t target, created, qa, order_seq;
} game;

enum { A_STARTED = 1, A_PAYER = 2, A_NOREG = 4, A_LATEREG = 8, A_QA = 16, A_ODDID = 32 };
typedef struct account {
    uint32_t next, t_next, num, upos; /* queue link, next session (s after base), id, day position */
    uint16_t install_day, day;
    uint8_t game, plat, cc, lt, k_left, flags, server, ver;
} account;

enum { K_DEV, K_REG, K_LOGIN, K_ROLE, K_PAY, K_UNK };
static const char *const KIND[] = {"device_start", "register", "login", "role_create", "payment"};
static const char *const UNK[] = {"level_up", "tutorial_step", "ad_impression"};
enum { F_LATE = 1, F_REFUND = 2, F_SANDBOX = 4, F_SBFALSE = 8, F_ODDPROD = 16 };
#define NOACCT UINT32_MAX
typedef struct ev {
    int64_t t;            /* ms */
    uint32_t acct, order; /* order seq, device seed or level */
    uint16_t oday;        /* local day of the order */
    uint8_t kind, game, flags, tier, chan, aux; /* aux: server, unknown kind or platform */
} ev;

static struct {
    const char *out;
    uint64_t events, accounts, apm, seed;
    int days, gzip, awkward, ngames, nhosts;
    int64_t start_days, base; /* base: start of the first simulated hour, Unix s */
    uint32_t nhours;
    double lambda_m;          /* extra sessions per active day */
    uint32_t ret[2][4096];    /* return thresholds by age: normal, payer */
} C;
static game GM[16];
static account *ACC;
static uint64_t n_acc;
static uint32_t *bucket; /* per hour: first account due, linked by account.next */
static ev *pend;         /* generated events not written yet */
static size_t n_pend, cap_pend;
static struct { uint64_t lines, bad, dups, files, bytes, kind[6]; } ST;

static int local_day(const game *gm, int64_t t) /* largest d with mid[d] <= t */
{
    int lo = 0, hi = C.days;
    while (lo < hi) {
        int m = (lo + hi + 1) / 2;
        if (gm->mid[m] <= t) lo = m; else hi = m - 1;
    }
    return lo;
}
/* Position u (0..2^32) along the day's activity curve <-> time after base. */
static uint32_t day_time(const game *gm, int day, uint32_t u)
{
    int64_t m0 = gm->mid[day], len = gm->mid[day + 1] - m0;
    uint64_t x = ((uint64_t)u * DCUM[24]) >> 32;
    int h = 0;
    while (DCUM[h + 1] <= x) h++;
    int64_t sec = h * 3600 + (int64_t)((x - DCUM[h]) * 3600 / DIURNAL[h]);
    return (uint32_t)(m0 + (sec < len ? sec : len - 1) - C.base);
}
static uint32_t day_pos(const game *gm, int day, uint32_t t_rel)
{
    int64_t sec = C.base + t_rel - gm->mid[day];
    if (sec > 86399) sec = 86399;
    int h = (int)(sec / 3600);
    uint64_t x = DCUM[h] + (uint64_t)(sec % 3600) * DIURNAL[h] / 3600;
    return (uint32_t)((x << 32) / DCUM[24]);
}
static int sample_k(void) /* sessions on an active day, mean 1 + lambda_m */
{
    double u = unif(); /* one PRNG call per statement: argument order is unspecified in C */
    int k = 1 + (int)(C.lambda_m * 2 * u + unif());
    return MIN(k, 40);
}
static uint32_t min_uniform(uint64_t lo, int k) /* smallest of k uniforms in [lo, 2^32) */
{
    uint64_t best = UINT32_MAX;
    for (int i = 0; i < k; i++) {
        uint64_t v = lo + (((uint64_t)rnd32() * ((1ull << 32) - lo)) >> 32);
        if (v < best) best = v;
    }
    return (uint32_t)best;
}
static void bucket_push(uint32_t ai, uint32_t t_rel)
{
    ACC[ai].t_next = t_rel;
    ACC[ai].next = bucket[t_rel / 3600];
    bucket[t_rel / 3600] = ai;
}
static void push(const ev *e)
{
    if (e->t >= GM[e->game].mid[C.days] * 1000) return; /* keep every event inside the window */
    if (n_pend == cap_pend) pend = xrealloc(pend, (cap_pend = cap_pend ? cap_pend * 2 : 65536) * sizeof *pend);
    pend[n_pend++] = *e;
}
static ev mkev(int kind, uint32_t ai, int64_t t_ms)
{
    ev e = {.t = t_ms, .acct = ai, .kind = (uint8_t)kind, .game = ACC[ai].game};
    return e;
}

/* ---- Account lifecycle: install, sessions, payments, return days ---- */

static void create_acct(int gi, uint32_t t_rel)
{
    game *gm = &GM[gi];
    uint32_t ai = (uint32_t)n_acc++, tot = 0, pick;
    account *a = &ACC[ai];
    int day = local_day(gm, C.base + t_rel), r = (int)rnd(100);
    memset(a, 0, sizeof *a);
    a->game = (uint8_t)gi;
    a->num = (uint32_t)(100001 + gm->created++);
    a->plat = r < 55 ? P_ANDROID : r < 90 ? P_IOS : r < 95 ? P_PC : P_WEB;
    for (int i = 0; i < NCC; i++) tot += gm->mix[i];
    for (pick = rnd(tot); pick >= gm->mix[a->cc]; ) pick -= gm->mix[a->cc++];
    a->lt = (uint8_t)rnd(4);
    r = day * 5 / C.days + (int)rnd(2); /* newer servers fill up later */
    a->server = (uint8_t)(1 + MIN(r, 4));
    a->ver = (uint8_t)rnd(256);
    if (chance(0.04)) a->flags |= A_PAYER;
    if (C.awkward) {
        if (gm->qa < 3) { a->flags = A_PAYER | A_QA; a->num = (uint32_t)++gm->qa; } /* qa_0001.. */
        else if (chance(0.005)) a->flags |= A_NOREG;   /* registered implicitly */
        else if (chance(0.003)) a->flags |= A_LATEREG; /* register shipped days late */
        if (!(a->flags & A_QA) && chance(0.0005)) a->flags |= A_ODDID; /* "@guest_..." */
    }
    a->install_day = a->day = (uint16_t)day;
    a->k_left = (uint8_t)sample_k();
    a->upos = day_pos(gm, day, t_rel);
    bucket_push(ai, t_rel);
}

static void add_payment(uint32_t ai, int64_t t, int64_t retry)
{
    const account *a = &ACC[ai];
    game *gm = &GM[a->game];
    int64_t end = gm->mid[C.days] * 1000;
    ev e = mkev(K_PAY, ai, t);
    int cur = cur_of_cc(a->cc), r1 = (int)rnd((uint32_t)CUR[cur].ntier), r2 = (int)rnd((uint32_t)CUR[cur].ntier);
    e.order = (uint32_t)++gm->order_seq;
    e.oday = (uint16_t)local_day(gm, t / 1000);
    e.tier = (uint8_t)(r1 < r2 ? r1 : r2); /* cheap packs sell most */
    e.aux = a->server;
    if (a->cc == 1 && (a->plat >= P_PC || chance(0.4))) e.chan = CH_MC;
    else e.chan = a->plat == P_ANDROID ? CH_GP : a->plat == P_IOS ? CH_AS : CH_XS;
    if (a->flags & A_QA) e.flags |= F_SANDBOX;
    else if (chance(0.3)) e.flags |= F_SBFALSE;
    if (C.awkward && chance(0.002)) e.flags |= F_ODDPROD;
    if (C.awkward && !retry && chance(0.003)) { /* a refund whose paid event never arrives */
        e.flags |= F_REFUND;
        e.t = t + 3600000 + rnd(48 * 3600) * 1000ll;
        push(&e);
        return;
    }
    push(&e);
    if (!retry && C.awkward && chance(0.03)) retry = 2000 + rnd(118000); /* callback retried */
    if (retry && t + retry < end) { e.t = t + retry; push(&e); }
    if (!(a->flags & A_QA) && chance(0.01)) {
        e.t = t + 3600000 + rnd(7 * 86400) * 1000ll;
        e.flags |= F_REFUND;
        if (e.t < end - 60000) push(&e);
    }
}

static void session(uint32_t ai)
{
    account *a = &ACC[ai];
    int64_t t = (C.base + a->t_next) * 1000ll + rnd(1000);
    ev e;
    if (!(a->flags & A_STARTED)) { /* install: device_start, register, login, first role */
        a->flags |= A_STARTED;
        e = mkev(K_DEV, ai, t); push(&e);
        t += 3000 + rnd(40000);
        if (!(a->flags & A_NOREG)) { e = mkev(K_REG, ai, t); e.flags = a->flags & A_LATEREG ? F_LATE : 0; push(&e); }
        t += 500 + rnd(5000);
        e = mkev(K_LOGIN, ai, t); push(&e);
        e = mkev(K_ROLE, ai, t + 20000 + rnd(100000)); e.aux = a->server; push(&e);
    } else {
        if (chance(0.9)) { e = mkev(K_DEV, ai, t); push(&e); t += 300 + rnd(8000); }
        e = mkev(K_LOGIN, ai, t); push(&e);
        if (chance(0.02)) { e = mkev(K_ROLE, ai, t + 15000 + rnd(60000)); e.aux = (uint8_t)(1 + rnd(5)); push(&e); }
    }
    if (chance(0.13)) { /* events moonstat does not know */
        e = mkev(K_UNK, ai, t + 60000 + rnd(1500000));
        e.aux = (uint8_t)(a->day == a->install_day && chance(0.6) ? 1 : rnd(2) ? 0 : 2);
        e.order = 1 + rnd(e.aux == 1 ? 12 : 60);
        push(&e);
    }
    if ((a->flags & A_PAYER) && chance(a->flags & A_QA ? 0.2 : 0.35))
        add_payment(ai, t + 30000 + rnd(1200000), 0);
}

static void schedule_next(uint32_t ai)
{
    account *a = &ACC[ai];
    const game *gm = &GM[a->game];
    if (a->k_left > 1) { /* another session later today */
        uint64_t lo = (uint64_t)a->upos + (1ull << 32) / 36;
        if (--a->k_left && lo < (1ull << 32) - 1) {
            a->upos = min_uniform(lo, a->k_left);
            uint32_t t = day_time(gm, a->day, a->upos);
            if (t > a->t_next + 600) { bucket_push(ai, t); return; }
        }
    }
    int d = a->day + 1; /* the next day this account comes back, if any */
    for (; d < C.days; d++) {
        int age = d - a->install_day;
        if (rnd32() < (a->flags & A_QA ? 3006477107u : C.ret[(a->flags & A_PAYER) != 0][age < 4096 ? age : 4095])) break;
    }
    if (d >= C.days) return;
    a->day = (uint16_t)d;
    a->k_left = (uint8_t)sample_k();
    a->upos = min_uniform(0, a->k_left);
    bucket_push(ai, day_time(gm, d, a->upos));
}

/* ---- Line formatting, hand-rolled: snprintf is too slow for 1M lines/s ---- */

typedef struct obuf { char *d; size_t len, cap; } obuf;
static void ob_need(obuf *b, size_t n)
{
    if (b->cap - b->len >= n) return;
    size_t c = b->cap ? b->cap : 1 << 16;
    while (c - b->len < n) c *= 2;
    b->d = xrealloc(b->d, c);
    b->cap = c;
}
static int g_spaced; /* the current file uses ", " and ": " like Python's json.dumps */
#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)
static char *put_mem(char *p, const char *s, size_t n) { memcpy(p, s, n); return p + n; }
static char *put_u64(char *p, uint64_t v)
{
    char t[20];
    int n = 0;
    do t[n++] = (char)('0' + v % 10); while (v /= 10);
    while (n) *p++ = t[--n];
    return p;
}
static char *put_dig(char *p, uint64_t v, int w)
{
    for (int i = w - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
    return p + w;
}
static char *put_hex(char *p, uint64_t v, int n, int upper)
{
    const char *hx = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (int i = n - 1; i >= 0; i--, v >>= 4) p[i] = hx[v & 15];
    return p + n;
}
static char *put_uuid(char *p, uint64_t a, uint64_t b, int upper)
{
    p = put_hex(p, a >> 32, 8, upper); *p++ = '-';
    p = put_hex(p, a >> 16, 4, upper); *p++ = '-';
    p = put_hex(p, a, 4, upper); *p++ = '-';
    p = put_hex(p, b >> 48, 4, upper); *p++ = '-';
    return put_hex(p, b, 12, upper);
}
static inline char *key(char *p, const char *k, size_t n)
{
    if (g_spaced) { LIT(p, ", \""); p = put_mem(p, k, n); LIT(p, "\": "); }
    else { LIT(p, ",\""); p = put_mem(p, k, n); LIT(p, "\":"); }
    return p;
}
static char *qstr(char *p, const char *v, size_t n) { *p++ = '"'; p = put_mem(p, v, n); *p++ = '"'; return p; }
#define KEY(k) (p = key(p, k, sizeof(k) - 1))
#define KSTR(k, v) (KEY(k), p = qstr(p, v, strlen(v)))

static char *put_date(char *p, int64_t days, int dash)
{
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    p = put_dig(p, (uint64_t)y, 4);
    if (dash) *p++ = '-';
    p = put_dig(p, (uint64_t)m, 2);
    if (dash) *p++ = '-';
    return put_dig(p, (uint64_t)d, 2);
}
/* "2026-10-05T12:00:01.123"; frac digits 0, 3 or 6 */
static char *put_dt(char *p, int64_t secs, int ms, int frac)
{
    static int64_t cd = INT64_MIN;
    static char cs[10];
    int64_t days = fdiv(secs, 86400), sod = secs - days * 86400;
    if (days != cd) put_date(cs, cd = days, 1);
    p = put_mem(p, cs, 10);
    *p++ = 'T'; p = put_dig(p, (uint64_t)(sod / 3600), 2);
    *p++ = ':'; p = put_dig(p, (uint64_t)(sod / 60 % 60), 2);
    *p++ = ':'; p = put_dig(p, (uint64_t)(sod % 60), 2);
    if (frac) { *p++ = '.'; p = put_dig(p, (uint64_t)ms, 3); }
    if (frac == 6) LIT(p, "000");
    return p;
}
/* ts as the SDK servers send it: mostly ms + Z, some without fraction or with
 * microseconds, some with the game's local offset, some epoch ms. */
static char *put_ts(char *p, int64_t t, const game *gm)
{
    int64_t s = fdiv(t, 1000);
    int ms = (int)(t - s * 1000), r = (int)rnd(100);
    if (r >= 95) return put_u64(p, (uint64_t)t);
    *p++ = '"';
    if (r < 87) {
        p = put_dt(p, s, ms, r < 80 ? 3 : r < 84 ? 0 : 6);
        *p++ = 'Z';
    } else {
        int off = tz_offset(gm->tz, s), a = off < 0 ? -off : off;
        p = put_dt(p, s + off * 60, ms, 3);
        *p++ = off < 0 ? '-' : '+';
        p = put_dig(p, (uint64_t)(a / 60), 2); *p++ = ':'; p = put_dig(p, (uint64_t)(a % 60), 2);
    }
    *p++ = '"';
    return p;
}
static char *put_device(char *p, uint64_t h, int plat)
{
    *p++ = '"';
    if (plat == P_ANDROID) p = put_hex(p, h, 16, 0);
    else if (plat == P_IOS) { uint64_t h2 = h; p = put_uuid(p, h, splitmix(&h2), 1); }
    else if (plat == P_PC) { LIT(p, "pc-"); p = put_hex(p, h, 12, 0); }
    else { LIT(p, "web-"); p = put_hex(p, h, 16, 0); p = put_hex(p, h >> 20, 8, 0); }
    *p++ = '"';
    return p;
}
static char *put_amount(char *p, const ev *e, int cur) /* JSON number or decimal string */
{
    uint32_t v = CUR[cur].tier[e->tier];
    int str = (int)rnd(2);
    if (str) *p++ = '"';
    if (!CUR[cur].dec) {
        p = put_u64(p, v);
        if (str && C.awkward && !rnd(200)) LIT(p, ".0"); /* "980.0" JPY is still valid */
    } else {
        p = put_u64(p, v / 100);
        if (v % 100) { *p++ = '.'; p = put_dig(p, v % 100, 2); }
    }
    if (str) *p++ = '"';
    return p;
}
static char *put_txn(char *p, const ev *e) /* channel_txn_id, the same for every event of an order */
{
    uint64_t h = mix(((uint64_t)e->game << 32) | e->order, 7);
    *p++ = '"';
    if (e->chan == CH_GP) {
        LIT(p, "GPA.33"); p = put_dig(p, h, 2); *p++ = '-'; p = put_dig(p, h / 100, 4); *p++ = '-';
        p = put_dig(p, h / 1000000, 4); *p++ = '-'; p = put_dig(p, h / 10000000000ull, 5);
    } else if (e->chan == CH_AS) { LIT(p, "20000"); p = put_dig(p, h, 11); }
    else if (e->chan == CH_MC) { LIT(p, "MC"); p = put_dig(p, h, 12); }
    else p = put_dig(p, h, 10);
    *p++ = '"';
    return p;
}
static char *put_role(char *p, uint32_t ai, int server)
{
    KEY("server_id"); LIT(p, "\"s"); p = put_u64(p, (uint64_t)server); *p++ = '"';
    KEY("role_id"); *p++ = '"'; p = put_u64(p, 10000000 + mix(ai, 100 + (uint64_t)server) % 90000000); *p++ = '"';
    return p;
}

/* One event as a JSON object, without the line terminator. */
static void put_event(obuf *b, const ev *e, uint64_t id1, uint64_t id2)
{
    ob_need(b, 1024);
    char *p = b->d + b->len, ccl[3];
    const game *gm = &GM[e->game];
    const account *a = e->acct == NOACCT ? NULL : &ACC[e->acct];
    int plat = a ? a->plat : e->aux, cc = a ? a->cc : e->tier;
    const char *pf = PLAT[plat], *cs = CC[cc];
    if (C.awkward && !rnd(50)) { /* case variants the contract normalises */
        pf = plat == P_IOS ? (rnd(2) ? "iOS" : "IOS") : plat == P_ANDROID ? "Android" : pf;
        ccl[0] = (char)(cs[0] | 0x20), ccl[1] = (char)(cs[1] | 0x20), ccl[2] = 0, cs = ccl;
    }
    if (g_spaced) LIT(p, "{\"event_id\": \""); else LIT(p, "{\"event_id\":\"");
    p = put_uuid(p, id1, id2, 0);
    *p++ = '"';
    KSTR("event", e->kind == K_UNK ? UNK[e->aux] : KIND[e->kind]);
    KEY("ts"); p = put_ts(p, e->t, gm);
    KEY("game_id"); p = qstr(p, gm->id, gm->idlen);
    if (a && e->kind != K_DEV) {
        KEY("account_id"); *p++ = '"';
        if (a->flags & A_QA) { LIT(p, "qa_"); p = put_dig(p, a->num, 4); }
        else if (a->flags & A_ODDID) { LIT(p, "@guest_"); p = put_hex(p, a->num, 6, 0); }
        else p = put_u64(p, a->num);
        *p++ = '"';
    }
    switch (e->kind) {
    case K_DEV: case K_REG: case K_LOGIN:
        KEY("device_id"); p = put_device(p, a ? mix(e->acct, 1) : mix(e->order, 2), plat);
        if (e->kind != K_DEV) KSTR("login_type", LOGIN_T[plat][a->lt]);
        KSTR("platform", pf); KSTR("country", cs);
        if (e->kind == K_DEV) {
            KEY("app_ver"); LIT(p, "\"1."); p = put_u64(p, 2 + (a ? a->ver % 3 : 2)); *p++ = '.';
            p = put_u64(p, a ? a->ver / 3 % 10 : 7); *p++ = '"';
        }
        break;
    case K_ROLE:
        p = put_role(p, e->acct, e->aux);
        KSTR("platform", pf);
        break;
    case K_PAY: {
        int cur = cur_of_cc(a->cc);
        KEY("order_id"); *p++ = '"'; p = put_mem(p, gm->prefix, 2); /* RV + local date + seq */
        p = put_date(p, C.start_days + e->oday, 0); p = put_dig(p, e->order, 8); *p++ = '"';
        KSTR("status", e->flags & F_REFUND ? "refunded" : "paid");
        KEY("amount"); p = put_amount(p, e, cur);
        KSTR("currency", CUR[cur].code);
        KSTR("pay_channel", CHAN[e->chan]);
        KEY("channel_txn_id"); p = put_txn(p, e);
        KEY("product_id");
        if (e->flags & F_ODDPROD) LIT(p, "\"+100 gems, \\\"bonus\\\"\"");
        else if (e->chan == CH_MC) { LIT(p, "\"gem_pack_"); p = put_u64(p, e->tier + 1u); *p++ = '"'; }
        else {
            LIT(p, "\"com.moon."); p = put_mem(p, gm->id, gm->idlen);
            LIT(p, ".gem"); p = put_u64(p, e->tier + 1u); *p++ = '"';
        }
        p = put_role(p, e->acct, e->aux);
        KSTR("platform", pf); KSTR("country", cs);
        if (e->flags & (F_SANDBOX | F_SBFALSE)) KEY("sandbox");
        if (e->flags & F_SANDBOX) LIT(p, "true"); else if (e->flags & F_SBFALSE) LIT(p, "false");
        break;
    }
    default:
        if (e->aux == 2) { KSTR("ad_network", "admob"); KSTR("placement", "rewarded"); }
        else { if (e->aux) KEY("step"); else KEY("level"); p = put_u64(p, e->order); }
        KSTR("platform", pf);
    }
    KEY("sdk_ver"); LIT(p, "\"4."); p = put_u64(p, a ? a->ver % 4 : 1); LIT(p, ".2\"}");
    b->len = (size_t)(p - b->d);
}

/* ---- Output files.  Each hour has a slot per host and a "late" slot per
 * host (a stuck shipper: host+10, landing 2-3 folders later); a slot is built
 * in memory and written whole, so a file covers one hour. ---- */

typedef struct slot { obuf b; int gz, crlf, bom, empty, spaced, multi, late; } slot;
static slot SL[8];
static obuf resend[4];
static uint32_t until_bad = 400;
static z_stream ZS;
static unsigned char zout[1 << 18];

static void slot_init(slot *s, int late)
{
    s->b.len = 0;
    s->gz = C.gzip == 2 || (C.gzip == 1 && chance(0.4));
    s->crlf = s->bom = s->empty = s->spaced = s->multi = 0;
    if (C.awkward) {
        s->crlf = chance(0.02), s->bom = chance(0.004), s->empty = chance(0.02);
        s->spaced = chance(0.1), s->multi = s->gz && chance(0.25);
    }
    s->late = late || (C.awkward && chance(0.01));
}
static slot *route(int host, int evflags)
{
    return (evflags & F_LATE) || SL[host].late ? &SL[C.nhosts + host] : &SL[host];
}
static void put_term(slot *s)
{
    ob_need(&s->b, 2);
    if (s->crlf) s->b.d[s->b.len++] = '\r';
    s->b.d[s->b.len++] = '\n';
}

/* Rejected lines, one per reason of inputs.md in turn.  Template markers:
 * @E event_id, @T ts, @G game, @A account, @X 70000 filler bytes. */
#define HD(ev, ts, g) "{\"event_id\":\"@E\",\"event\":\"" ev "\",\"ts\":\"" ts "\",\"game_id\":\"" g "\""
#define LOGIN(ts) HD("login", ts, "@G") ",\"account_id\":\"@A\""
#define PAYT(st, amt, cur) HD("payment", "@T", "@G") ",\"account_id\":\"@A\",\"order_id\":\"REJ@A\",\"status\":\"" st "\",\"amount\":" amt \
    ",\"currency\":\"" cur "\",\"pay_channel\":\"app_store\""
static const char *const BAD[] = {
    LOGIN("@T"), /* invalid_json: truncated */
    LOGIN("@T") ",\"country\":\"J\xff\xfeP\"}", /* invalid_utf8 */
    "[\"login\",\"@T\",\"@G\"]", /* not_object */
    HD("login", "@T", "@G") ",\"platform\":\"android\"}", /* missing_field: account_id */
    HD("login", "@T", "@G") ",\"account_id\":100777}", /* wrong_type */
    HD("device_start", "@T", "moonfall") ",\"device_id\":\"0f3a@A\"}", /* unknown_game */
    LOGIN("2026-13-01T00:00:00Z") "}", /* bad_ts */
    PAYT("pending", "\"4.99\"", "USD") "}", /* bad_status */
    PAYT("paid", "\"4.99\"", "US$") "}", /* bad_currency */
    PAYT("paid", "\"1.5\"", "JPY") "}", /* bad_amount, event_id of the next valid line */
    LOGIN("@T") ",\"note\":\"@X\"}", /* line_too_long */
    "{\"event_id\":\"@E\",\"event\":\"login\",\"game_id\":\"@G\",\"account_id\":\"@A\"}", /* missing_field: ts */
    PAYT("paid", "-4.99", "USD") ",\"sandbox\":\"true\"}", /* wrong_type (checked before the amount) */
    "upstream timed out (110: Connection timed out) while reading response header", /* invalid_json */
    LOGIN("2026-11-01 10:00:00") "}", /* bad_ts */
    PAYT("paid", "\"4.999\"", "USD") "}", /* bad_amount */
};
static void put_bad(slot *s, const ev *e, uint64_t id1, uint64_t id2)
{
    static unsigned nbad;
    unsigned v = nbad++ % (sizeof BAD / sizeof BAD[0]);
    char eid[40], ts[40], acc[16];
    int64_t secs = fdiv(e->t, 1000);
    /* the JPY "1.5" line shares its event_id with the valid line after it */
    uint64_t u1 = next64(), u2 = next64();
    *put_uuid(eid, v == 9 ? id1 : u1, v == 9 ? id2 : u2, 0) = 0;
    char *q = put_dt(ts, secs, (int)(e->t - secs * 1000), 3);
    q[0] = 'Z', q[1] = 0;
    *put_u64(acc, 9000000 + rnd(1000000)) = 0;
    for (const char *t = BAD[v]; *t; t++) {
        const char *sub = NULL;
        ob_need(&s->b, 70100);
        if (*t == '@') {
            switch (*++t) {
            case 'E': sub = eid; break;
            case 'T': sub = ts; break;
            case 'G': sub = GM[e->game].id; break;
            case 'A': sub = acc; break;
            default: memset(s->b.d + s->b.len, 'x', 70000); s->b.len += 70000; continue;
            }
            s->b.len = (size_t)(put_mem(s->b.d + s->b.len, sub, strlen(sub)) - s->b.d);
        } else s->b.d[s->b.len++] = *t;
    }
    put_term(s);
    ST.bad++, ST.lines++;
}

static void write_line(const ev *e)
{
    int host = (int)rnd((uint32_t)C.nhosts);
    slot *s = route(host, e->flags);
    uint64_t id1 = next64(), id2 = next64();
    g_spaced = s->spaced;
    if (C.awkward && --until_bad == 0) {
        put_bad(s, e, id1, id2);
        until_bad = 300 + rnd(1000);
    }
    size_t start = s->b.len, n;
    put_event(&s->b, e, id1, id2);
    n = s->b.len - start;
    put_term(s);
    ST.lines++, ST.kind[e->kind]++;
    if (!C.awkward) return;
    uint32_t r = rnd(1000);
    if (r < 1) { /* repeated in this file */
        ob_need(&s->b, n);
        memcpy(s->b.d + s->b.len, s->b.d + start, n);
        s->b.len += n;
        put_term(s);
        ST.dups++, ST.lines++;
    } else if (r < 6) { /* re-sent in another host's next file (counted there) */
        ob_need(&resend[host], n + 1);
        memcpy(resend[host].d + resend[host].len, s->b.d + start, n);
        resend[host].len += n;
        resend[host].d[resend[host].len++] = '\n';
    }
    if (s->empty && !rnd(100)) put_term(s);
}

static void mkdir1(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", path, strerror(errno));
}
static void xpath(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void xpath(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n) die("path too long under %s", C.out);
}
static FILE *xopen(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) die("create %s: %s", path, strerror(errno));
    return f;
}
static void xwrite(FILE *f, const char *path, const void *d, size_t n)
{
    if (n && fwrite(d, 1, n, f) != n) die("write %s: %s", path, strerror(errno));
    ST.bytes += n;
}
static void xclose(FILE *f, const char *path)
{
    if (fclose(f) != 0) die("close %s: %s", path, strerror(errno));
}
/* DIR/incoming/<date> for the hour, `later` days on; returns the hour of day. */
static int hour_dir(char *dir, size_t n, uint32_t hour, int later)
{
    int64_t hs = C.base + (int64_t)hour * 3600, days = fdiv(hs, 86400);
    int y, m, d;
    civil_from_days(days + later, &y, &m, &d);
    xpath(dir, n, "%s/incoming/%04d-%02d-%02d", C.out, y, m, d);
    mkdir1(dir);
    return (int)(hs - days * 86400) / 3600;
}

/* One gzip member; a "multi" file holds two (concatenated gzip streams). */
static void gz_member(FILE *f, const char *path, const char *d, size_t n)
{
    gz_header hd = {.os = 3}; /* fixed: the header must not depend on the build machine */
    int rc = Z_OK;
    if (deflateReset(&ZS) != Z_OK || deflateSetHeader(&ZS, &hd) != Z_OK) die("zlib: reset failed for %s", path);
    ZS.next_in = (const Bytef *)d;
    do {
        size_t chunk = n > (1u << 30) ? 1u << 30 : n;
        ZS.avail_in = (uInt)chunk;
        n -= chunk;
        do {
            ZS.next_out = zout;
            ZS.avail_out = sizeof zout;
            if ((rc = deflate(&ZS, n ? Z_NO_FLUSH : Z_FINISH)) == Z_STREAM_ERROR) die("zlib: deflate failed for %s", path);
            xwrite(f, path, zout, sizeof zout - ZS.avail_out);
        } while (ZS.avail_out == 0);
    } while (n);
    if (rc != Z_STREAM_END) die("zlib: incomplete stream for %s", path);
}

static void write_slot(slot *s, int host, uint32_t hour)
{
    char dir[4096], path[4200];
    if (s->b.len <= (size_t)(s->bom ? 3 : 0)) return;
    int hh = hour_dir(dir, sizeof dir, hour, s->late ? 2 + host % 2 : 0); /* fixed per host: no clashes */
    xpath(path, sizeof path, "%s/sdk-%02d-%02d.jsonl%s", dir, host + 1 + (s->late ? 10 : 0), hh, s->gz ? ".gz" : "");
    FILE *f = xopen(path);
    if (!s->gz) xwrite(f, path, s->b.d, s->b.len);
    else {
        size_t cut = s->b.len;
        if (s->multi) { /* split at a line boundary near the middle */
            char *nl = memchr(s->b.d + cut / 2, '\n', cut - cut / 2);
            cut = nl ? (size_t)(nl + 1 - s->b.d) : cut;
        }
        gz_member(f, path, s->b.d, cut);
        if (cut < s->b.len) gz_member(f, path, s->b.d + cut, s->b.len - cut);
    }
    xclose(f, path);
    ST.files++;
}

/* Files the pipeline must ignore: a README and a log still being written. */
static void write_ignored(uint32_t hour, const uint64_t *keys, size_t n)
{
    static const char readme[] = "Shipped by logship; *.tmp files are still being written.\n";
    char dir[4096], path[4200];
    obuf b = {0};
    uint64_t bytes = ST.bytes;
    int hh = hour_dir(dir, sizeof dir, hour, 0);
    xpath(path, sizeof path, "%s/README.txt", dir);
    FILE *f = xopen(path);
    xwrite(f, path, readme, sizeof readme - 1);
    xclose(f, path);
    g_spaced = 0;
    for (size_t i = 0; i < n && i < 20; i++) {
        uint64_t id1 = next64(), id2 = next64();
        put_event(&b, &pend[keys[i] & UINT32_MAX], id1, id2);
        b.d[b.len++] = '\n';
    }
    xpath(path, sizeof path, "%s/sdk-01-%02d.jsonl.tmp", dir, hh);
    f = xopen(path);
    xwrite(f, path, b.d, b.len);
    xclose(f, path);
    ST.bytes = bytes; /* not event files */
    free(b.d);
}

/* Stable LSD radix sort of keys (ms within the hour << 32 | index): two
 * 11-bit passes over the time bits, ties keep generation order. */
static void sort_keys(uint64_t *k, uint64_t *tmp, size_t n)
{
    for (int shift = 32; shift < 54; shift += 11) {
        size_t cnt[2049] = {0};
        for (size_t i = 0; i < n; i++) cnt[((k[i] >> shift) & 2047) + 1]++;
        for (int b = 0; b < 2048; b++) cnt[b + 1] += cnt[b];
        for (size_t i = 0; i < n; i++) tmp[cnt[(k[i] >> shift) & 2047]++] = k[i];
        memcpy(k, tmp, n * sizeof *k);
    }
}

/* Writes the pending events of hour i in ts order, then the hour's files. */
static void flush_hour(uint32_t i)
{
    static uint64_t *keys, *tmp;
    static size_t cap;
    int nh = C.nhosts;
    int64_t end_ms = (C.base + (int64_t)i * 3600 + 3600) * 1000;
    size_t j = 0, kept = 0;
    for (int h = 0; h < 2 * nh; h++) slot_init(&SL[h], h >= nh);
    if (C.awkward) { /* each odd kind of file at least once */
        if (i == 3) SL[0].bom = 1, SL[0].late = 0;
        if (i == 4) SL[1].crlf = 1, SL[1].late = 0;
        if (i == 5) SL[0].empty = 1, SL[0].late = 0;
        if (i == 6 && C.gzip) SL[1].gz = SL[1].multi = 1, SL[1].late = 0;
        if (i == 8) SL[0].late = 1;
    }
    for (int h = 0; h < 2 * nh; h++)
        if (SL[h].bom) ob_need(&SL[h].b, 3), memcpy(SL[h].b.d, "\xEF\xBB\xBF", 3), SL[h].b.len = 3;
    for (int h = 0; h < nh; h++) { /* last hour's re-sent lines open another host's file */
        slot *s = route((h + 1) % nh, 0);
        for (char *p = resend[h].d, *end = p + resend[h].len, *nl; p < end; p = nl + 1) {
            nl = memchr(p, '\n', (size_t)(end - p));
            ob_need(&s->b, (size_t)(nl - p));
            s->b.len = (size_t)(put_mem(s->b.d + s->b.len, p, (size_t)(nl - p)) - s->b.d);
            put_term(s);
            ST.dups++, ST.lines++;
        }
        resend[h].len = 0;
    }
    if (cap < n_pend) {
        keys = xrealloc(keys, (cap = n_pend * 2) * sizeof *keys);
        tmp = xrealloc(tmp, cap * sizeof *tmp);
    }
    for (size_t k = 0; k < n_pend; k++)
        if (pend[k].t < end_ms) keys[j++] = (uint64_t)(pend[k].t - end_ms + 3600000) << 32 | k;
    sort_keys(keys, tmp, j);
    for (size_t k = 0; k < j; k++) {
        if (k + 16 < j) __builtin_prefetch(&ACC[pend[keys[k + 16] & UINT32_MAX].acct]); /* random accounts */
        write_line(&pend[keys[k] & UINT32_MAX]);
    }
    if (C.awkward && i == C.nhours / 3) write_ignored(i, keys, j);
    for (size_t k = 0; k < n_pend; k++) /* keep the later events, in order */
        if (pend[k].t >= end_ms) pend[kept++] = pend[k];
    n_pend = kept;
    for (int h = 0; h < 2 * nh; h++) write_slot(&SL[h], h % nh, i);
}

/* ---- The simulation, hour by hour ---- */

static void run(void)
{
    for (uint32_t i = 0; i < C.nhours; i++) {
        int64_t hs = C.base + (int64_t)i * 3600;
        uint64_t before = n_acc;
        for (int g = 0; g < C.ngames; g++) { /* new installs */
            game *gm = &GM[g];
            uint64_t W = gm->cumw[C.nhours], n = gm->target * gm->cumw[i + 1] / W - gm->target * gm->cumw[i] / W;
            int64_t lo = MAX(hs, gm->mid[0]), hi = MIN(hs + 3600, gm->mid[C.days]);
            for (uint64_t k = 0; k < n && hi > lo; k++) {
                uint32_t t = (uint32_t)(lo - C.base + rnd((uint32_t)(hi - lo)));
                create_acct(g, t);
                if (chance(0.15)) { /* a device that opens the app once and never registers */
                    ev e = {.acct = NOACCT, .game = (uint8_t)g, .tier = ACC[n_acc - 1].cc};
                    e.t = (C.base + t) * 1000ll + rnd(3600000), e.order = rnd32(), e.aux = (uint8_t)rnd(2);
                    if (e.t < hi * 1000) push(&e);
                }
            }
        }
        while (bucket[i] != NOACCT) { /* sessions due this hour */
            uint32_t ai = bucket[i];
            bucket[i] = ACC[ai].next;
            if (bucket[i] != NOACCT) __builtin_prefetch(&ACC[bucket[i]]);
            session(ai);
            schedule_next(ai);
        }
        for (int g = 0; C.awkward && g < C.ngames && before; g++) /* callback retried across local midnight */
            for (int d = 1; d < C.days; d++) {
                int64_t m = GM[g].mid[d];
                if (m < hs + 10 || m > hs + 3600 || !chance(0.5)) continue;
                uint64_t ai = rnd32() % before;
                for (int k = 0; k < 5000; k++, ai = (ai + 1) % before) {
                    const account *a = &ACC[ai];
                    if (a->game == g && (a->flags & A_STARTED) && !(a->flags & (A_NOREG | A_LATEREG | A_QA))) {
                        int64_t at = (m - 2 - rnd(8)) * 1000;
                        at += rnd(1000);
                        add_payment((uint32_t)ai, at, 9000 + rnd(10000));
                        break;
                    }
                }
            }
        flush_hour(i);
    }
}

/* ---- Exchange rates (integer micro-units, small mean-reverting walk) and
 * the configuration file ---- */

static void write_fx(void)
{
    static const char *const code[5] = {"JPY", "TWD", "HKD", "KRW", "EUR"};
    static const int64_t mean[5] = {150000000, 32000000, 7800000, 1370000000, 920000};
    static const int dec[5] = {4, 3, 4, 2, 6};
    int64_t r[5];
    char dir[4096], path[4200];
    xpath(dir, sizeof dir, "%s/fx", C.out);
    mkdir1(dir);
    for (int k = 0; k < 5; k++) r[k] = mean[k] + mean[k] * ((int64_t)rnd(2001) - 1000) / 100000;
    for (int64_t day = C.start_days - 2; day < C.start_days + C.days; day++) {
        int y, m, d, bad;
        civil_from_days(day, &y, &m, &d);
        xpath(path, sizeof path, "%s/%04d-%02d-%02d.json", dir, y, m, d);
        FILE *f = xopen(path);
        bad = fprintf(f, "{\"base\": \"USD\", \"date\": \"%04d-%02d-%02d\", \"rates\": {\"USD\": 1", y, m, d) < 0;
        for (int k = 0; k < 5; k++) {
            int64_t p10 = 1, v;
            for (int z = 0; z < dec[k]; z++) p10 *= 10;
            v = r[k] / (1000000 / p10);
            bad |= fprintf(f, ", \"%s\": %" PRId64 ".%0*" PRId64, code[k], v / p10, dec[k], v % p10) < 0;
            r[k] += r[k] * ((int64_t)rnd(801) - 400) / 100000 + (mean[k] - r[k]) / 20;
        }
        if (bad || fputs("}}\n", f) < 0) die("write %s: %s", path, strerror(errno));
        xclose(f, path);
    }
}

static void write_conf(void)
{
    char path[4200];
    xpath(path, sizeof path, "%s/moonstat.conf", C.out);
    FILE *f = xopen(path);
    int bad = fputs("# written by moonstat-gen; paths are relative to this file\n[moonstat]\n"
                    "input_dir          = incoming\nwarehouse          = sqlite://warehouse.db\n"
                    "export_dir         = exports\nquarantine_dir     = quarantine\n"
                    "reporting_currency = USD\nfx_rates           = fx\nmax_reject_rate    = 0.01\n", f) < 0;
    for (int g = 0; g < C.ngames; g++) bad |= fprintf(f, "\n[game %s]\ntimezone = %s\n", GM[g].id, GM[g].tz->name) < 0;
    if (bad) die("write %s: %s", path, strerror(errno));
    xclose(f, path);
}

/* ---- Sizing: accounts from --accounts-per-10m; then sessions per active
 * day (or, below one, retention) so that about --events lines come out ---- */

static double retention(int age)
{
    int n = (int)(sizeof RET / sizeof RET[0]), k = 1;
    if (age <= 1) return RET[0][1];
    while (k < n && age > RET[k][0]) k++;
    if (k == n) return RET[n - 1][1];
    return RET[k - 1][1] + (RET[k][1] - RET[k - 1][1]) * (age - RET[k - 1][0]) / (RET[k][0] - RET[k - 1][0]);
}
static void calibrate(void)
{
    const double per_session = 2.07, install_extra = 2.15, payer = 0.04;
    double kept = 0, scale = 1, sessions = ((double)C.events / (double)C.accounts - install_extra) / per_session;
    for (int i = 0; i < C.days; i++)
        for (int a = 1; a < C.days - i; a++) {
            double r = retention(a);
            kept += ((1 - payer) * r + payer * MIN(2 * r, 0.9)) / C.days;
        }
    C.lambda_m = sessions / (1 + kept) - 1;
    if (C.lambda_m < 0) C.lambda_m = 0, scale = kept > 0 && sessions > 1 ? (sessions - 1) / kept : 0;
    C.lambda_m = MIN(C.lambda_m, 20);
    for (int a = 0; a < 4096; a++) {
        double r = retention(a), p[2] = {r * scale, MIN(2 * r, 0.9) * scale};
        for (int k = 0; k < 2; k++) C.ret[k][a] = p[k] >= 1 ? UINT32_MAX : (uint32_t)(p[k] * 4294967296.0);
    }
}

static void setup(void)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint64_t wsum = 0;
    for (int h = 0; h < 24; h++) DCUM[h + 1] = DCUM[h] + DIURNAL[h];
    for (int g = 0; g < C.ngames; g++) {
        game *gm = &GM[g];
        gm->mid = xrealloc(NULL, (size_t)(C.days + 1) * sizeof *gm->mid);
        for (int d = 0; d <= C.days; d++) gm->mid[d] = local_midnight(gm->tz, C.start_days + d);
        lo = MIN(lo, gm->mid[0]), hi = MAX(hi, gm->mid[C.days]);
        wsum += (uint64_t)(C.ngames + 1 - g);
    }
    C.base = fdiv(lo, 3600) * 3600;
    C.nhours = (uint32_t)((hi - C.base + 3599) / 3600);
    bucket = xrealloc(NULL, (C.nhours + 1) * sizeof *bucket);
    memset(bucket, 0xFF, (C.nhours + 1) * sizeof *bucket);
    /* Accounts split 4:3:2.. between games; installs spread over the hours by
     * local hour, weekday and a little day-to-day noise. */
    uint32_t *factor = xrealloc(NULL, (size_t)C.days * sizeof *factor);
    for (int g = 0; g < C.ngames; g++) {
        game *gm = &GM[g];
        gm->target = MAX(C.accounts * (uint64_t)(C.ngames + 1 - g) / wsum, 10);
        n_acc += gm->target;
        for (int d = 0; d < C.days; d++) {
            int wd = weekday(C.start_days + d);
            factor[d] = (uint32_t)((wd == 0 || wd == 6 ? 125 : wd == 5 ? 110 : 100) * (85 + rnd(31)) / 100);
        }
        gm->cumw = xrealloc(NULL, (C.nhours + 1) * sizeof *gm->cumw);
        gm->cumw[0] = 0;
        for (uint32_t i = 0; i < C.nhours; i++) {
            int64_t hs = C.base + (int64_t)i * 3600, w = 0;
            int64_t a = MAX(hs, gm->mid[0]), b = MIN(hs + 3600, gm->mid[C.days]);
            if (b > a) {
                int64_t lt = a + tz_offset(gm->tz, a) * 60;
                w = DIURNAL[(lt - fdiv(lt, 86400) * 86400) / 3600] * factor[local_day(gm, a)] * (b - a) / 3600;
            }
            gm->cumw[i + 1] = gm->cumw[i] + (uint64_t)w;
        }
    }
    free(factor);
    if (n_acc < C.accounts) GM[0].target += C.accounts - n_acc, n_acc = C.accounts; /* rounding */
    C.accounts = n_acc;
    ACC = xrealloc(NULL, n_acc * sizeof *ACC);
    n_acc = 0;
    calibrate();
}

/* ---- Command line ---- */

static const char USAGE[] =
    "usage: moonstat-gen --out DIR [--events N (200000)] [--days D (21)] [--start YYYY-MM-DD (2026-10-01)]\n"
    "         [--games id:Zone,... (reversal:Asia/Tokyo,rainbow:America/Los_Angeles,star:UTC)]\n"
    "         [--seed S (1)] [--gzip none|some|all (some)] [--awkward 0|1 (1)] [--accounts-per-10m N (1000000)]\n";

static uint64_t parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v < lo || v > hi)
        usage_error("%s: expected an integer in %" PRIu64 "..%" PRIu64 ", got '%s'", opt, lo, hi, s);
    return v;
}
static int64_t parse_date(const char *s)
{
    int y, m, d, y2, m2, d2;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1971 || y > 2999 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        usage_error("--start: expected YYYY-MM-DD, got '%s'", s);
    civil_from_days(days_from_civil(y, m, d), &y2, &m2, &d2);
    if (m2 != m) usage_error("--start: no such date '%s'", s);
    return days_from_civil(y, m, d);
}
static void parse_games(const char *p)
{
    static const char *const known[3][2] = {{"reversal", "RV"}, {"rainbow", "RB"}, {"star", "ST"}};
    for (C.ngames = 0; *p; C.ngames++) {
        const char *colon = strchr(p, ':'), *comma = strchr(p, ',');
        game *gm = &GM[C.ngames];
        if (!comma) comma = p + strlen(p);
        if (!colon || colon > comma) usage_error("--games: expected id:Zone, got '%.*s'", (int)(comma - p), p);
        if (C.ngames == 16) usage_error("--games: at most 16 games");
        size_t n = (size_t)(colon - p), zn = (size_t)(comma - colon - 1);
        int ok = n >= 1 && n <= 32 && strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789") >= 1;
        ok = ok && strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_-") >= n;
        if (!ok) usage_error("--games: bad game id '%.*s' (want [a-z0-9][a-z0-9_-]{0,31})", (int)n, p);
        memcpy(gm->id, p, n);
        gm->id[gm->idlen = n] = 0;
        for (int g = 0; g < C.ngames; g++)
            if (!strcmp(GM[g].id, gm->id)) usage_error("--games: game '%s' given twice", gm->id);
        for (size_t k = 0; k < sizeof TZS / sizeof TZS[0]; k++)
            if (strlen(TZS[k].name) == zn && !memcmp(TZS[k].name, colon + 1, zn)) gm->tz = &TZS[k];
        if (!gm->tz) usage_error("--games: unsupported time zone '%.*s'", (int)zn, colon + 1);
        gm->prefix[0] = (char)toupper(gm->id[0]); /* order ids: RV, RB, ST, else from the id */
        gm->prefix[1] = (char)toupper(gm->id[n > 1]);
        for (int k = 0; k < 3; k++)
            if (!strcmp(gm->id, known[k][0])) memcpy(gm->prefix, known[k][1], 2);
        const char *z = gm->tz->name;
        gm->mix = !strcmp(z, "Asia/Tokyo") ? MIX_JP : !strcmp(z, "Asia/Seoul") ? MIX_KR
                : !strcmp(z, "Asia/Taipei") || !strcmp(z, "Asia/Hong_Kong") ? MIX_TW
                : !strncmp(z, "America/", 8) ? MIX_AM : MIX_WW;
        p = *comma ? comma + 1 : comma;
    }
    if (!C.ngames) usage_error("--games: no game given");
}

int main(int argc, char **argv)
{
    const char *games = "reversal:Asia/Tokyo,rainbow:America/Los_Angeles,star:UTC";
    char path[4200];
    C.events = 200000, C.days = 21, C.gzip = 1, C.awkward = 1, C.apm = 1000000, C.seed = 1;
    C.start_days = days_from_civil(2026, 10, 1);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[++i] : NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) { fputs(USAGE, stdout); return 0; }
        if (!v) usage_error("%s needs a value (see --help)", o);
        if (!strcmp(o, "--out")) C.out = v;
        else if (!strcmp(o, "--events")) C.events = parse_u64(o, v, 1, 10000000000ull);
        else if (!strcmp(o, "--days")) C.days = (int)parse_u64(o, v, 1, 3650);
        else if (!strcmp(o, "--start")) C.start_days = parse_date(v);
        else if (!strcmp(o, "--games")) games = v;
        else if (!strcmp(o, "--seed")) C.seed = parse_u64(o, v, 0, UINT64_MAX);
        else if (!strcmp(o, "--awkward")) C.awkward = (int)parse_u64(o, v, 0, 1);
        else if (!strcmp(o, "--accounts-per-10m")) C.apm = parse_u64(o, v, 1, 100000000);
        else if (!strcmp(o, "--gzip")) {
            C.gzip = !strcmp(v, "none") ? 0 : !strcmp(v, "some") ? 1 : !strcmp(v, "all") ? 2 : -1;
            if (C.gzip < 0) usage_error("--gzip: expected none, some or all, got '%s'", v);
        } else usage_error("unknown option '%s' (see --help)", o);
    }
    if (!C.out || !*C.out) usage_error("--out DIR is required (see --help)");
    parse_games(games);
    uint64_t x = C.seed;
    for (int k = 0; k < 4; k++) R[k] = splitmix(&x);
    g_seed = splitmix(&x);
    C.nhosts = 2 + (int)rnd(3);
    C.accounts = C.apm * C.events / 10000000;
    C.accounts = MAX(MIN(C.accounts, C.events / 4), 100); /* an account makes >= ~4 lines */

    xpath(path, sizeof path, "%s", C.out);
    for (char *p = path + 1; *p; p++) /* mkdir -p */
        if (*p == '/') *p = 0, mkdir1(path), *p = '/';
    mkdir1(path);
    xpath(path, sizeof path, "%s/incoming", C.out);
    if (mkdir(path, 0777) != 0) die("mkdir %s: %s (remove it or choose another --out)", path, strerror(errno));
    write_conf();
    write_fx();
    setup();
    if (deflateInit2(&ZS, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("zlib: init failed");
    ST.bytes = 0;
    run();
    deflateEnd(&ZS);
    printf("moonstat-gen: %" PRIu64 " events (%" PRIu64 " rejected on purpose, %" PRIu64 " duplicate copies, %" PRIu64
           " payments), %" PRIu64 " files, %" PRIu64 " bytes, %" PRIu64 " accounts, %d hosts -> %s\n",
           ST.lines, ST.bad, ST.dups, ST.kind[K_PAY], ST.files, ST.bytes, n_acc, C.nhosts, C.out);
    if (fflush(stdout) != 0) die("write stdout: %s", strerror(errno));
    return 0;
}
