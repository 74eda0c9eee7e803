/*
 * event_parser.c - inputs.md section 1, "What is rejected".
 *
 * Two stages:
 *  (a) decoding: the line becomes a field view, the JSON values of the
 *      members the checks look at (the known fields of the table), from one
 *      of two decoders:
 *        - the fast path, json_scan.c: a strict scanner for flat objects, the
 *          shape of nearly every SDK line;
 *        - the reference, jansson (json_loadb), used for whatever the scanner
 *          calls unusual (another JSON value, nested values, repeated keys,
 *          ...) and for everything when event_parser_set_reference is on.
 *      Both yield the same view for every line (tests/fuzz checks it).
 *  (b) the checks, in the order of the spec: 1-2 on the raw line, 3-4 by
 *      the decoder that took the line, 5-14 (check_object) once over the
 *      view, by the same code whichever decoder filled it; the first failing
 *      check decides the reason.
 *
 * Ownership: after the reference decoder, the strings of the event point
 * into the kept jansson document (p->root); after the fast path, into the
 * scanner's scratch buffer (decoded escapes) or into p->own, a copy of the
 * line made once it is accepted (for the strings the scanner referenced in
 * the caller's line). Either way they are the parser's until the next parse
 * call, and nothing is allocated per line on the fast path.
 */
#include "event_parser.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "currency.h"
#include "json_scan.h"
#include "timefmt.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Instants accepted for `ts` (both forms): the years 0000-9999 UTC, the range
 * the text formats of the warehouse and the exports can represent. */
#define TS_MIN_MS INT64_C(-62167219200000)  /* 0000-01-01T00:00:00.000Z */
#define TS_MAX_MS INT64_C(253402300799999)  /* 9999-12-31T23:59:59.999Z */

/* Lines the fast path takes: what the line reader hands out without
 * too_long (inputs.md check 1). Longer ones (only a caller other than the
 * reader could pass them) go to jansson. */
#define FAST_MAX_LINE 65536u

/* The fields of the table of inputs.md, the only members the checks read. */
typedef enum field_id {
    F_EVENT_ID,
    F_EVENT,
    F_TS,
    F_GAME_ID,
    F_DEVICE_ID,
    F_ACCOUNT_ID,
    F_PLATFORM,
    F_COUNTRY,
    F_LOGIN_TYPE,
    F_SERVER_ID,
    F_ROLE_ID,
    F_ORDER_ID,
    F_STATUS,
    F_AMOUNT,
    F_CURRENCY,
    F_PAY_CHANNEL,
    F_CHANNEL_TXN_ID,
    F_PRODUCT_ID,
    F_SANDBOX,
    F_COUNT
} field_id;

static const char *const field_names[F_COUNT] = {
    "event_id",  "event",    "ts",       "game_id",  "device_id",   "account_id",     "platform",
    "country",   "login_type", "server_id", "role_id", "order_id",  "status",         "amount",
    "currency",  "pay_channel", "channel_txn_id", "product_id", "sandbox",
};

/* A JSON value as the checks see it. */
typedef enum vtype { VT_STRING, VT_INTEGER, VT_REAL, VT_TRUE, VT_FALSE, VT_OTHER } vtype;

typedef struct fval {
    vtype t;
    strref s;  /* VT_STRING: the decoded bytes (valid UTF-8, may hold NUL) */
    int64_t i; /* VT_INTEGER: the value (json_integer_value) */
    double d;  /* VT_REAL: the value (json_real_value); F_AMOUNT only */
} fval;

/* The known members of one line; v[id] is meaningful when bit id of `set`
 * is set: the member is there and not JSON null (inputs.md: a field that is
 * null is absent). */
typedef struct field_view {
    uint32_t set;
    fval v[F_COUNT];
} field_view;

/* The key table of the fast path (see field_of_key): the names are 2 to 14
 * bytes long. */
#define KEY_SLOTS 64
#define KEY_MIN 2
#define KEY_MAX 14
typedef struct key_slot {
    uint8_t len; /* 0: empty */
    uint8_t id;
    const char *name;
} key_slot;

struct event_parser {
    char **games;
    size_t *game_len;
    size_t n_games;
    int reference;        /* 1: always decode with jansson */
    json_t *root;         /* the last line jansson parsed; owns its strings */
    json_scanner *scan;   /* the fast path */
    char *own;            /* FAST_MAX_LINE bytes: accepted strings of the line */
    key_slot keys[KEY_SLOTS];
};

static const char *const reason_names[REJ_COUNT] = {
    "line_too_long", "invalid_utf8", "invalid_json", "not_object",   "missing_field", "wrong_type",
    "unknown_game",  "bad_ts",       "bad_status",   "bad_currency", "bad_amount",
};

static const char *const kind_names[EV_KIND_COUNT] = {
    "device_start", "register", "login", "role_create", "payment",
};

static const size_t kind_name_len[EV_KIND_COUNT] = {12, 8, 5, 11, 7}; /* strlen of kind_names */

static const char *const platform_names[PLATFORM_COUNT] = {
    "android", "ios", "other", "pc", "web",
};

static void build_key_table(event_parser *p);

const char *reject_reason_name(reject_reason r)
{
    return (unsigned)r < REJ_COUNT ? reason_names[r] : "unknown";
}

const char *event_kind_name(event_kind k)
{
    return (unsigned)k < EV_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *platform_name(platform p)
{
    return (unsigned)p < PLATFORM_COUNT ? platform_names[p] : "other";
}

event_parser *event_parser_new(const char *const *game_ids, size_t n_games)
{
    event_parser *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    if (n_games > 0) {
        p->games = calloc(n_games, sizeof *p->games);
        p->game_len = calloc(n_games, sizeof *p->game_len);
        if (p->games == NULL || p->game_len == NULL)
            goto fail;
    }
    p->n_games = n_games;
    for (size_t i = 0; i < n_games; i++) {
        size_t len = strlen(game_ids[i]);
        p->games[i] = ms_strndup(game_ids[i], len);
        if (p->games[i] == NULL)
            goto fail;
        p->game_len[i] = len;
    }
    build_key_table(p);
    p->scan = json_scanner_new(FAST_MAX_LINE);
    p->own = malloc(FAST_MAX_LINE);
    if (p->scan == NULL || p->own == NULL)
        goto fail;
    return p;
fail:
    event_parser_free(p);
    return NULL;
}

void event_parser_free(event_parser *p)
{
    if (p == NULL)
        return;
    if (p->games != NULL)
        for (size_t i = 0; i < p->n_games; i++)
            free(p->games[i]);
    free(p->games);
    free(p->game_len);
    json_decref(p->root);
    json_scanner_free(p->scan);
    free(p->own);
    free(p);
}

void event_parser_set_reference(event_parser *p, int on)
{
    p->reference = on != 0;
}

/* Strict UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. ASCII
 * runs are skipped 64 and 16 (SSE2) or 8 bytes at a time. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
#if defined(__SSE2__)
            while (n - i >= 64) {
                const __m128i *q = (const __m128i *)(const void *)(s + i);
                __m128i x = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)),
                                         _mm_or_si128(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3)));
                if (_mm_movemask_epi8(x) != 0)
                    break;
                i += 64;
            }
            while (n - i >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
                unsigned mask = (unsigned)_mm_movemask_epi8(x);
                if (mask != 0) {
                    i += (size_t)__builtin_ctz(mask);
                    break;
                }
                i += 16;
            }
#else
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
#endif
            continue;
        }
        unsigned char lo = 0x80, hi = 0xBF;
        size_t need;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return 0; /* 0x80..0xC1 (continuation or overlong lead), 0xF5..0xFF */
        }
        if (n - i - 1 < need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* Code points of a valid UTF-8 string: the bytes that are not continuation
 * bytes. (Both decoders hand out valid UTF-8 only.) */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* ---- (a) decoding into the field view ---------------------------------- */

/* The known keys for the fast path: an open-addressing table built once per
 * parser from field_names (the reference looks the names up in jansson's
 * object instead, so the differential test checks this table too). */
static unsigned key_hash(const char *k, size_t n)
{
    return ((unsigned)n * 5u + (unsigned char)k[0] + (unsigned char)k[n - 1] * 56u) & (KEY_SLOTS - 1);
}

/* k[0..n) == name[0..n) for 2 <= n <= 16, by loads inside the range. */
static inline int key_eq(const char *k, const char *name, size_t n)
{
    if (n >= 8) {
        uint64_t a, b, c, d;
        memcpy(&a, k, 8);
        memcpy(&b, name, 8);
        memcpy(&c, k + n - 8, 8);
        memcpy(&d, name + n - 8, 8);
        return ((a ^ b) | (c ^ d)) == 0;
    }
    if (n >= 4) {
        uint32_t a, b, c, d;
        memcpy(&a, k, 4);
        memcpy(&b, name, 4);
        memcpy(&c, k + n - 4, 4);
        memcpy(&d, name + n - 4, 4);
        return ((a ^ b) | (c ^ d)) == 0;
    }
    return memcmp(k, name, n) == 0;
}

static void build_key_table(event_parser *p)
{
    for (int id = 0; id < F_COUNT; id++) {
        size_t n = strlen(field_names[id]);
        unsigned h = key_hash(field_names[id], n);
        while (p->keys[h].len != 0)
            h = (h + 1) & (KEY_SLOTS - 1);
        p->keys[h].len = (uint8_t)n;
        p->keys[h].id = (uint8_t)id;
        p->keys[h].name = field_names[id];
    }
}

/* The field a member key names, or -1 (an ignored member). */
static inline int field_of_key(const event_parser *p, const char *k, size_t n)
{
    if (n < KEY_MIN || n > KEY_MAX)
        return -1;
    for (unsigned h = key_hash(k, n);; h = (h + 1) & (KEY_SLOTS - 1)) {
        const key_slot *slot = &p->keys[h];
        if (slot->len == 0)
            return -1;
        if (slot->len == n && key_eq(k, slot->name, n))
            return slot->id;
    }
}

/* The fast path. 0 with the view filled; -1 for JS_UNUSUAL (use jansson);
 * 1 for JS_INVALID (the line is invalid_json). */
static int view_from_scanner(event_parser *p, const char *data, size_t len, field_view *view)
{
    const js_field *fields;
    size_t n;

    switch (json_scan_line(p->scan, data, len, &fields, &n)) {
    case JS_OK:
        break;
    case JS_INVALID:
        return 1;
    case JS_UNUSUAL:
    default:
        return -1;
    }
    static const vtype vtype_of[] = {
        [JS_STRING] = VT_STRING, [JS_INTEGER] = VT_INTEGER, [JS_REAL] = VT_REAL,
        [JS_TRUE] = VT_TRUE,     [JS_FALSE] = VT_FALSE,     [JS_NULL] = VT_OTHER, /* not stored */
    };
    view->set = 0;
    for (size_t i = 0; i < n; i++) {
        const js_field *f = &fields[i];
        int id = field_of_key(p, f->key, f->key_len);
        if (id < 0 || f->kind == JS_NULL)
            continue;
        fval *v = &view->v[id];
        view->set |= UINT32_C(1) << id;
        /* Whatever the kind: the fields that do not apply are not read. */
        v->t = vtype_of[f->kind];
        v->s.p = f->text;
        v->s.n = f->len;
        v->i = f->integer;
        v->d = 0;
        /* Of a real, only the amount's value is ever read. */
        if (f->kind == JS_REAL && id == F_AMOUNT &&
            json_scan_real(p->scan, f->text, f->len, &v->d) != 0)
            return -1;
    }
    return 0;
}

/* The reference: jansson's document of the line (an object). */
static void view_from_jansson(json_t *root, field_view *view)
{
    view->set = 0;
    for (int id = 0; id < F_COUNT; id++) {
        json_t *j = json_object_get(root, field_names[id]);
        if (j == NULL || json_is_null(j))
            continue;
        fval *v = &view->v[id];
        view->set |= UINT32_C(1) << id;
        switch (json_typeof(j)) {
        case JSON_STRING:
            v->t = VT_STRING;
            v->s.p = json_string_value(j);
            v->s.n = json_string_length(j);
            break;
        case JSON_INTEGER:
            v->t = VT_INTEGER;
            v->i = (int64_t)json_integer_value(j);
            break;
        case JSON_REAL:
            v->t = VT_REAL;
            v->d = json_real_value(j);
            break;
        case JSON_TRUE:
            v->t = VT_TRUE;
            break;
        case JSON_FALSE:
            v->t = VT_FALSE;
            break;
        case JSON_NULL: /* skipped above */
        case JSON_OBJECT:
        case JSON_ARRAY:
        default:
            v->t = VT_OTHER;
            break;
        }
    }
}

/* ---- (b) the checks, over the view -------------------------------------- */

/* The member `id`, or NULL when it is absent or JSON null. */
static const fval *field(const field_view *view, field_id id)
{
    return (view->set & (UINT32_C(1) << id)) ? &view->v[id] : NULL;
}

static int is_string(const fval *v)
{
    return v != NULL && v->t == VT_STRING;
}

static strref sref(const fval *v)
{
    strref r = {NULL, 0};
    if (is_string(v))
        r = v->s;
    return r;
}

/* A string of min..max Unicode characters. */
static int is_string_len(const fval *v, size_t min, size_t max)
{
    if (!is_string(v))
        return 0;
    /* A character takes 1 to 4 bytes, so chars lies in [ceil(n / 4), n]:
     * decide on the byte length n when that settles it, count otherwise. */
    size_t n = v->s.n, at_least = n / 4 + (n % 4 != 0);
    if (n <= max && at_least >= min)
        return 1;
    if (n < min || at_least > max)
        return 0;
    size_t chars = utf8_chars(v->s.p, v->s.n);
    return chars >= min && chars <= max;
}

static int str_eq(strref s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int str_eq_nocase(strref s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* The configured game a `game_id` member names (null: none), or -1. */
static int find_game(const event_parser *p, const field_view *view)
{
    const fval *v = field(view, F_GAME_ID);
    if (!is_string(v))
        return -1;
    strref g = v->s;
    for (size_t i = 0; i < p->n_games; i++)
        if (g.n == p->game_len[i] && memcmp(g.p, p->games[i], g.n) == 0)
            return (int)i;
    return -1;
}

static int kind_from_name(strref name, event_kind *kind)
{
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        size_t n = kind_name_len[k];
        if (name.n == n && memcmp(name.p, kind_names[k], n) == 0) {
            *kind = (event_kind)k;
            return 0;
        }
    }
    return -1;
}

/* Rules for the optional and event-specific fields (check 11), by field. */
typedef enum field_type { FT_NONE, FT_STRING, FT_AMOUNT, FT_BOOL } field_type;

typedef struct field_rule {
    field_type type;
    size_t min, max; /* Unicode characters, FT_STRING only */
} field_rule;

#define NO_MAX ((size_t)-1)

static const field_rule field_rules[F_COUNT] = {
    [F_DEVICE_ID] = {FT_STRING, 1, 128},      [F_ACCOUNT_ID] = {FT_STRING, 1, 128},
    [F_PLATFORM] = {FT_STRING, 0, NO_MAX},    [F_COUNTRY] = {FT_STRING, 0, NO_MAX},
    [F_LOGIN_TYPE] = {FT_STRING, 0, 32},      [F_SERVER_ID] = {FT_STRING, 1, 64},
    [F_ROLE_ID] = {FT_STRING, 1, 64},         [F_ORDER_ID] = {FT_STRING, 1, 64},
    [F_STATUS] = {FT_STRING, 0, NO_MAX},      [F_AMOUNT] = {FT_AMOUNT, 0, 0},
    [F_CURRENCY] = {FT_STRING, 0, NO_MAX},    [F_PAY_CHANNEL] = {FT_STRING, 0, NO_MAX},
    [F_CHANNEL_TXN_ID] = {FT_STRING, 1, 128}, [F_PRODUCT_ID] = {FT_STRING, 1, 128},
    [F_SANDBOX] = {FT_BOOL, 0, 0},
};

/* Required beyond the four common fields (check 10), as a set of fields. */
#define BIT(id) (UINT32_C(1) << (id))
#define COMMON_FIELDS (BIT(F_EVENT_ID) | BIT(F_EVENT) | BIT(F_TS) | BIT(F_GAME_ID))
static const uint32_t required_by_kind[EV_KIND_COUNT] = {
    BIT(F_DEVICE_ID),                                          /* device_start */
    BIT(F_ACCOUNT_ID),                                         /* register */
    BIT(F_ACCOUNT_ID),                                         /* login */
    BIT(F_ACCOUNT_ID) | BIT(F_SERVER_ID) | BIT(F_ROLE_ID),     /* role_create */
    BIT(F_ACCOUNT_ID) | BIT(F_ORDER_ID) | BIT(F_STATUS) | BIT(F_AMOUNT) | BIT(F_CURRENCY) |
        BIT(F_PAY_CHANNEL),                                    /* payment */
};

static int field_ok(const fval *v, const field_rule *rule)
{
    switch (rule->type) {
    case FT_NONE:
        return 1;
    case FT_STRING:
        return is_string_len(v, rule->min, rule->max);
    case FT_AMOUNT:
        return v->t == VT_STRING || v->t == VT_INTEGER || v->t == VT_REAL;
    case FT_BOOL:
        return v->t == VT_TRUE || v->t == VT_FALSE;
    }
    return 0;
}

/* The decimal text of a JSON real that reads back as the same double: the
 * shortest "%.*g" that round-trips, which is the text the sender most likely
 * wrote (jansson keeps only the double). 0 or -1 (not finite). Both decoders
 * give the double (the fast path computes it as jansson does), so this is
 * the judge for both. */
static int real_text(double d, char *out, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        int len = snprintf(out, size, "%.*g", prec, d);
        if (len < 0 || (size_t)len >= size)
            return -1;
        if (strtod(out, NULL) == d)
            return 0;
    }
    return -1;
}

/* Amount of a payment in minor units (check 14). 0, or -1 = bad_amount. */
static int amount_to_minor(const fval *amount, int minor, int64_t *out)
{
    char text[64];
    int rc;
    switch (amount->t) {
    case VT_STRING:
        rc = decimal_to_minor(amount->s.p, amount->s.n, minor, out);
        break;
    case VT_INTEGER: {
        int len = snprintf(text, sizeof text, "%" PRId64, amount->i);
        if (len < 0 || (size_t)len >= sizeof text)
            return -1;
        rc = json_number_to_minor(text, (size_t)len, minor, out);
        break;
    }
    case VT_REAL:
        if (real_text(amount->d, text, sizeof text) != 0)
            return -1;
        rc = json_number_to_minor(text, strlen(text), minor, out);
        break;
    default:
        return -1;
    }
    if (rc != 0 || *out <= 0)
        return -1;
    return 0;
}

static platform platform_from(const fval *v)
{
    static const struct {
        const char *name;
        platform value;
    } known[] = {
        {"android", PLATFORM_ANDROID}, {"ios", PLATFORM_IOS}, {"pc", PLATFORM_PC}, {"web", PLATFORM_WEB},
    };
    if (!is_string(v))
        return PLATFORM_OTHER;
    strref s = v->s;
    for (size_t i = 0; i < MS_ARRAY_LEN(known); i++)
        if (str_eq_nocase(s, known[i].name))
            return known[i].value;
    return PLATFORM_OTHER;
}

static int ascii_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void country_from(const fval *v, char out[3])
{
    strref s = sref(v);
    if (s.n == 2 && ascii_alpha(s.p[0]) && ascii_alpha(s.p[1])) {
        for (int i = 0; i < 2; i++)
            out[i] = (char)(s.p[i] >= 'a' ? s.p[i] - 'a' + 'A' : s.p[i]);
    } else {
        out[0] = 'Z';
        out[1] = 'Z';
    }
    out[2] = '\0';
}

/* Checks 5..14 of a line that is a JSON object (its members in `view`). */
static parse_outcome check_object(const event_parser *p, const field_view *view, sdk_event *ev,
                                  reject_reason *why, int *game)
{
    const fval *v_event_id, *v_event, *v_ts, *v_game_id;
    event_kind kind;
    int64_t ts_ms;
    reject_reason r;
    /* From here on a rejection counts under the line's game when game_id
     * names a configured one, whatever check fails. */
    int g = find_game(p, view);

    /* 5-6: the four common fields. */
    v_event_id = field(view, F_EVENT_ID);
    v_event = field(view, F_EVENT);
    v_ts = field(view, F_TS);
    v_game_id = field(view, F_GAME_ID);
    if (v_event_id == NULL || v_event == NULL || v_ts == NULL || v_game_id == NULL) {
        r = REJ_MISSING_FIELD;
        goto rejected;
    }
    if (!is_string_len(v_event_id, 1, 64) || !is_string(v_event) ||
        !(v_ts->t == VT_STRING || v_ts->t == VT_INTEGER) || !is_string(v_game_id)) {
        r = REJ_WRONG_TYPE;
        goto rejected;
    }

    /* 7-9 */
    if (g < 0) {
        r = REJ_UNKNOWN_GAME;
        goto rejected;
    }
    if (v_ts->t == VT_STRING) {
        if (ts_parse_rfc3339(v_ts->s.p, v_ts->s.n, &ts_ms) != 0) {
            r = REJ_BAD_TS;
            goto rejected;
        }
    } else {
        ts_ms = v_ts->i;
    }
    if (ts_ms < TS_MIN_MS || ts_ms > TS_MAX_MS) {
        r = REJ_BAD_TS;
        goto rejected;
    }
    if (kind_from_name(v_event->s, &kind) != 0) {
        *game = g;
        return PARSE_UNKNOWN_EVENT;
    }

    /* 10: the event's own required fields. */
    if ((view->set & required_by_kind[kind]) != required_by_kind[kind]) {
        r = REJ_MISSING_FIELD;
        goto rejected;
    }

    /* 11: every known field that is present (null counts as absent). */
    for (uint32_t m = view->set & ~COMMON_FIELDS; m != 0; m &= m - 1) {
        int id = __builtin_ctz(m);
        if (!field_ok(&view->v[id], &field_rules[id])) {
            r = REJ_WRONG_TYPE;
            goto rejected;
        }
    }

    /* Every member of *ev is assigned below (no memset: this is per line). */
    if (kind != EV_PAYMENT) {
        static const strref none = {NULL, 0};
        ev->order_id = none;
        ev->status = PAY_PAID;
        memset(ev->currency, 0, sizeof ev->currency);
        ev->currency_minor = 0;
        ev->amount_minor = 0;
        ev->pay_channel = none;
        ev->channel_txn_id = none;
        ev->product_id = none;
        ev->sandbox = 0;
    } else {
        strref status = sref(field(view, F_STATUS));
        strref currency = sref(field(view, F_CURRENCY));
        int minor;

        /* 12-14 */
        if (str_eq(status, "paid")) {
            ev->status = PAY_PAID;
        } else if (str_eq(status, "refunded")) {
            ev->status = PAY_REFUNDED;
        } else {
            r = REJ_BAD_STATUS;
            goto rejected;
        }
        minor = currency_minor_units(currency.p, currency.n);
        if (minor < 0) {
            r = REJ_BAD_CURRENCY;
            goto rejected;
        }
        if (amount_to_minor(field(view, F_AMOUNT), minor, &ev->amount_minor) != 0) {
            r = REJ_BAD_AMOUNT;
            goto rejected;
        }
        memcpy(ev->currency, currency.p, 3);
        ev->currency[3] = '\0';
        ev->currency_minor = minor;
        ev->order_id = sref(field(view, F_ORDER_ID));
        ev->pay_channel = sref(field(view, F_PAY_CHANNEL));
        ev->channel_txn_id = sref(field(view, F_CHANNEL_TXN_ID));
        ev->product_id = sref(field(view, F_PRODUCT_ID));
        const fval *sandbox = field(view, F_SANDBOX);
        ev->sandbox = sandbox != NULL && sandbox->t == VT_TRUE ? 1 : 0;
    }

    ev->kind = kind;
    ev->game = g;
    ev->ts_ms = ts_ms;
    ev->event_id = sref(v_event_id);
    ev->device_id = sref(field(view, F_DEVICE_ID));
    ev->account_id = sref(field(view, F_ACCOUNT_ID));
    ev->server_id = sref(field(view, F_SERVER_ID));
    ev->role_id = sref(field(view, F_ROLE_ID));
    ev->login_type = sref(field(view, F_LOGIN_TYPE));
    ev->platform = platform_from(field(view, F_PLATFORM));
    country_from(field(view, F_COUNTRY), ev->country);
    *game = g;
    return PARSE_OK;

rejected:
    *why = r;
    *game = g;
    return PARSE_REJECTED;
}

/* Makes a string that points into the caller's line point into p->own, a
 * copy of the line; the decoded strings of the scanner's scratch are the
 * parser's already. */
static inline void own_ref(strref *r, const char *data, size_t len, const char *own)
{
    uintptr_t off = (uintptr_t)r->p - (uintptr_t)data; /* wraps when below */
    if (r->p != NULL && off < len)
        r->p = own + off;
}

static void own_event_strings(event_parser *p, sdk_event *ev, const char *data, size_t len)
{
    memcpy(p->own, data, len);
    own_ref(&ev->event_id, data, len, p->own);
    own_ref(&ev->device_id, data, len, p->own);
    own_ref(&ev->account_id, data, len, p->own);
    own_ref(&ev->server_id, data, len, p->own);
    own_ref(&ev->role_id, data, len, p->own);
    own_ref(&ev->login_type, data, len, p->own);
    own_ref(&ev->order_id, data, len, p->own);
    own_ref(&ev->pay_channel, data, len, p->own);
    own_ref(&ev->channel_txn_id, data, len, p->own);
    own_ref(&ev->product_id, data, len, p->own);
}

parse_outcome event_parser_parse(event_parser *p, const char *data, size_t len, int too_long,
                                 sdk_event *ev, reject_reason *why, int *game)
{
    json_error_t jerr;
    json_t *root;
    field_view view;
    reject_reason r;

    json_decref(p->root);
    p->root = NULL;
    *game = -1;

    /* 1-4: the line as a whole. */
    if (too_long) {
        r = REJ_LINE_TOO_LONG;
        goto rejected;
    }
    if (!utf8_valid((const unsigned char *)data, len)) {
        r = REJ_INVALID_UTF8;
        goto rejected;
    }
    if (!p->reference) {
        int rc = view_from_scanner(p, data, len, &view);
        if (rc > 0) {
            r = REJ_INVALID_JSON;
            goto rejected;
        }
        if (rc == 0) {
            parse_outcome out = check_object(p, &view, ev, why, game);
            if (out == PARSE_OK)
                own_event_strings(p, ev, data, len);
            return out;
        }
        /* unusual: the reference decides */
    }
    root = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        r = REJ_INVALID_JSON;
        goto rejected;
    }
    p->root = root;
    if (!json_is_object(root)) {
        r = REJ_NOT_OBJECT;
        goto rejected;
    }
    view_from_jansson(root, &view);
    return check_object(p, &view, ev, why, game);

rejected:
    *why = r;
    return PARSE_REJECTED;
}
