/*
 * event_parser.c - inputs.md section 1, "What is rejected", on top of jansson.
 *
 * The checks run in the order of the spec; the first failing one decides the
 * reason. The parsed document of the last line is kept (p->root) because the
 * returned sdk_event points into jansson's string storage.
 */
#include "event_parser.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "currency.h"
#include "timefmt.h"

/* Instants accepted for `ts` (both forms): the years 0000-9999 UTC, the range
 * the text formats of the warehouse and the exports can represent. */
#define TS_MIN_MS INT64_C(-62167219200000)  /* 0000-01-01T00:00:00.000Z */
#define TS_MAX_MS INT64_C(253402300799999)  /* 9999-12-31T23:59:59.999Z */

struct event_parser {
    char **games;
    size_t *game_len;
    size_t n_games;
    json_t *root; /* the last parsed line; owns the strings of the last event */
};

static const char *const reason_names[REJ_COUNT] = {
    "line_too_long", "invalid_utf8", "invalid_json", "not_object",   "missing_field", "wrong_type",
    "unknown_game",  "bad_ts",       "bad_status",   "bad_currency", "bad_amount",
};

static const char *const kind_names[EV_KIND_COUNT] = {
    "device_start", "register", "login", "role_create", "payment",
};

static const char *const platform_names[PLATFORM_COUNT] = {
    "android", "ios", "other", "pc", "web",
};

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
    free(p);
}

/* Strict UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
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
 * bytes. (jansson hands out valid UTF-8 only.) */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* The member `key`, or NULL when it is absent or JSON null. */
static json_t *field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static strref sref(json_t *str)
{
    strref r = {NULL, 0};
    if (str != NULL) {
        r.p = json_string_value(str);
        r.n = json_string_length(str);
    }
    return r;
}

/* A string of min..max Unicode characters. */
static int is_string_len(json_t *v, size_t min, size_t max)
{
    if (!json_is_string(v))
        return 0;
    size_t chars = utf8_chars(json_string_value(v), json_string_length(v));
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

static int find_game(const event_parser *p, json_t *game_id)
{
    if (!json_is_string(game_id))
        return -1;
    strref g = sref(game_id);
    for (size_t i = 0; i < p->n_games; i++)
        if (g.n == p->game_len[i] && memcmp(g.p, p->games[i], g.n) == 0)
            return (int)i;
    return -1;
}

static int kind_from_name(strref name, event_kind *kind)
{
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        if (str_eq(name, kind_names[k])) {
            *kind = (event_kind)k;
            return 0;
        }
    }
    return -1;
}

/* Rules for the optional and event-specific fields (check 11). */
typedef enum field_type { FT_STRING, FT_AMOUNT, FT_BOOL } field_type;

typedef struct field_rule {
    const char *name;
    field_type type;
    size_t min, max; /* Unicode characters, FT_STRING only */
} field_rule;

#define NO_MAX ((size_t)-1)

static const field_rule field_rules[] = {
    {"device_id", FT_STRING, 1, 128},      {"account_id", FT_STRING, 1, 128},
    {"platform", FT_STRING, 0, NO_MAX},    {"country", FT_STRING, 0, NO_MAX},
    {"login_type", FT_STRING, 0, 32},      {"server_id", FT_STRING, 1, 64},
    {"role_id", FT_STRING, 1, 64},         {"order_id", FT_STRING, 1, 64},
    {"status", FT_STRING, 0, NO_MAX},      {"amount", FT_AMOUNT, 0, 0},
    {"currency", FT_STRING, 0, NO_MAX},    {"pay_channel", FT_STRING, 0, NO_MAX},
    {"channel_txn_id", FT_STRING, 1, 128}, {"product_id", FT_STRING, 1, 128},
    {"sandbox", FT_BOOL, 0, 0},
};

/* Required beyond the four common fields (check 10), NULL-terminated. */
static const char *const required_device_start[] = {"device_id", NULL};
static const char *const required_account[] = {"account_id", NULL};
static const char *const required_role_create[] = {"account_id", "server_id", "role_id", NULL};
static const char *const required_payment[] = {"account_id", "order_id", "status",   "amount",
                                               "currency",   "pay_channel", NULL};

static const char *const *const required_by_kind[EV_KIND_COUNT] = {
    required_device_start, required_account, required_account, required_role_create,
    required_payment,
};

static int field_ok(json_t *v, const field_rule *rule)
{
    switch (rule->type) {
    case FT_STRING:
        return is_string_len(v, rule->min, rule->max);
    case FT_AMOUNT:
        return json_is_string(v) || json_is_number(v);
    case FT_BOOL:
        return json_is_boolean(v);
    }
    return 0;
}

/* The decimal text of a JSON real that reads back as the same double: the
 * shortest "%.*g" that round-trips, which is the text the sender most likely
 * wrote (jansson keeps only the double). 0 or -1 (not finite). */
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
static int amount_to_minor(json_t *amount, int minor, int64_t *out)
{
    char text[64];
    int rc;
    if (json_is_string(amount)) {
        rc = decimal_to_minor(json_string_value(amount), json_string_length(amount), minor, out);
    } else if (json_is_integer(amount)) {
        int len = snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(amount));
        if (len < 0 || (size_t)len >= sizeof text)
            return -1;
        rc = json_number_to_minor(text, (size_t)len, minor, out);
    } else if (json_is_real(amount)) {
        if (real_text(json_real_value(amount), text, sizeof text) != 0)
            return -1;
        rc = json_number_to_minor(text, strlen(text), minor, out);
    } else {
        return -1;
    }
    if (rc != 0 || *out <= 0)
        return -1;
    return 0;
}

static platform platform_from(json_t *v)
{
    static const struct {
        const char *name;
        platform value;
    } known[] = {
        {"android", PLATFORM_ANDROID}, {"ios", PLATFORM_IOS}, {"pc", PLATFORM_PC}, {"web", PLATFORM_WEB},
    };
    if (!json_is_string(v))
        return PLATFORM_OTHER;
    strref s = sref(v);
    for (size_t i = 0; i < MS_ARRAY_LEN(known); i++)
        if (str_eq_nocase(s, known[i].name))
            return known[i].value;
    return PLATFORM_OTHER;
}

static int ascii_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void country_from(json_t *v, char out[3])
{
    strref s = sref(json_is_string(v) ? v : NULL);
    if (s.n == 2 && ascii_alpha(s.p[0]) && ascii_alpha(s.p[1])) {
        for (int i = 0; i < 2; i++)
            out[i] = (char)(s.p[i] >= 'a' ? s.p[i] - 'a' + 'A' : s.p[i]);
    } else {
        out[0] = 'Z';
        out[1] = 'Z';
    }
    out[2] = '\0';
}

parse_outcome event_parser_parse(event_parser *p, const char *data, size_t len, int too_long,
                                 sdk_event *ev, reject_reason *why, int *game)
{
    json_error_t jerr;
    json_t *root, *v_event_id, *v_event, *v_ts, *v_game_id;
    event_kind kind;
    int64_t ts_ms;
    int g = -1;
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
    /* From here on a rejection counts under the line's game when game_id
     * names a configured one, whatever check fails. */
    g = find_game(p, json_object_get(root, "game_id"));

    /* 5-6: the four common fields. */
    v_event_id = field(root, "event_id");
    v_event = field(root, "event");
    v_ts = field(root, "ts");
    v_game_id = field(root, "game_id");
    if (v_event_id == NULL || v_event == NULL || v_ts == NULL || v_game_id == NULL) {
        r = REJ_MISSING_FIELD;
        goto rejected;
    }
    if (!is_string_len(v_event_id, 1, 64) || !json_is_string(v_event) ||
        !(json_is_string(v_ts) || json_is_integer(v_ts)) || !json_is_string(v_game_id)) {
        r = REJ_WRONG_TYPE;
        goto rejected;
    }

    /* 7-9 */
    if (g < 0) {
        r = REJ_UNKNOWN_GAME;
        goto rejected;
    }
    if (json_is_string(v_ts)) {
        if (ts_parse_rfc3339(json_string_value(v_ts), json_string_length(v_ts), &ts_ms) != 0) {
            r = REJ_BAD_TS;
            goto rejected;
        }
    } else {
        ts_ms = (int64_t)json_integer_value(v_ts);
    }
    if (ts_ms < TS_MIN_MS || ts_ms > TS_MAX_MS) {
        r = REJ_BAD_TS;
        goto rejected;
    }
    if (kind_from_name(sref(v_event), &kind) != 0) {
        *game = g;
        return PARSE_UNKNOWN_EVENT;
    }

    /* 10: the event's own required fields. */
    for (const char *const *name = required_by_kind[kind]; *name != NULL; name++) {
        if (field(root, *name) == NULL) {
            r = REJ_MISSING_FIELD;
            goto rejected;
        }
    }

    /* 11: every known field that is present (null counts as absent). */
    for (size_t i = 0; i < MS_ARRAY_LEN(field_rules); i++) {
        json_t *v = field(root, field_rules[i].name);
        if (v != NULL && !field_ok(v, &field_rules[i])) {
            r = REJ_WRONG_TYPE;
            goto rejected;
        }
    }

    memset(ev, 0, sizeof *ev);
    if (kind == EV_PAYMENT) {
        strref status = sref(field(root, "status"));
        strref currency = sref(field(root, "currency"));
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
        if (amount_to_minor(field(root, "amount"), minor, &ev->amount_minor) != 0) {
            r = REJ_BAD_AMOUNT;
            goto rejected;
        }
        memcpy(ev->currency, currency.p, 3);
        ev->currency[3] = '\0';
        ev->currency_minor = minor;
        ev->order_id = sref(field(root, "order_id"));
        ev->pay_channel = sref(field(root, "pay_channel"));
        ev->channel_txn_id = sref(field(root, "channel_txn_id"));
        ev->product_id = sref(field(root, "product_id"));
        ev->sandbox = json_is_true(field(root, "sandbox")) ? 1 : 0;
    }

    ev->kind = kind;
    ev->game = g;
    ev->ts_ms = ts_ms;
    ev->event_id = sref(v_event_id);
    ev->device_id = sref(field(root, "device_id"));
    ev->account_id = sref(field(root, "account_id"));
    ev->server_id = sref(field(root, "server_id"));
    ev->role_id = sref(field(root, "role_id"));
    ev->login_type = sref(field(root, "login_type"));
    ev->platform = platform_from(field(root, "platform"));
    country_from(field(root, "country"), ev->country);
    *game = g;
    return PARSE_OK;

rejected:
    *why = r;
    *game = g;
    return PARSE_REJECTED;
}
