/*
 * event_parser.h - one SDK log line in, one validated event or one rejection
 * reason out (inputs.md section 1, "What is rejected", checks 2..14 in that
 * order; check 1, the line length, is the reader's `too_long` and is passed
 * in).
 *
 * The interface is deliberately narrow so that the internals can change
 * without touching any caller. Today: a strict scanner for flat objects
 * (json_scan.h) as the fast path, jansson for every other shape and as the
 * reference; both give the same result for every line (tests/fuzz).
 *
 * Ownership: the parser owns every string an sdk_event points to; they stay
 * valid until the next event_parser_parse call on the same parser (or
 * event_parser_free). Strings are decoded JSON: valid UTF-8, may contain NUL
 * (use the length). A parser is not thread-safe; use one per thread.
 *
 * Decisions where inputs.md is silent:
 *  - Check 2 validates the raw bytes of the whole line, including fields that
 *    are otherwise ignored (strict: no overlong forms, surrogates, > U+10FFFF).
 *  - Check 3 is jansson's parser: a number it cannot represent (an integer
 *    beyond int64, a real that overflows a double) is invalid_json; of
 *    duplicate keys the last one wins; a key holding \u0000 is invalid_json;
 *    and, a quirk of jansson kept on purpose, one raw NUL byte right after a
 *    number or true/false/null is skipped (`"x":1<NUL>}` parses).
 *  - `ts` must lie within the years 0000-9999 UTC in both forms (bad_ts
 *    otherwise); an integer `ts` is used as epoch milliseconds as is.
 *  - Check 11 applies to every field of the table wherever it appears (a
 *    `sandbox` or `order_id` of the wrong type on a login is wrong_type);
 *    checks 12-14 apply to payments only. A field that is JSON null is
 *    absent. `event`, `platform`, `country`, `status`, `currency` and
 *    `pay_channel` have no length bound at check 11; `login_type` is 0-32
 *    characters.
 *  - A JSON real `amount` is judged on the shortest decimal text that reads
 *    back as the same double (what the sender most likely wrote).
 */
#ifndef MOONSTAT_EVENT_PARSER_H
#define MOONSTAT_EVENT_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef enum event_kind {
    EV_DEVICE_START,
    EV_REGISTER,
    EV_LOGIN,
    EV_ROLE_CREATE,
    EV_PAYMENT,
    EV_KIND_COUNT
} event_kind;

/* Rejection reasons, in the order of the checks. The names are part of the
 * contract (data_quality item "rejected:<name>"). */
typedef enum reject_reason {
    REJ_LINE_TOO_LONG,
    REJ_INVALID_UTF8,
    REJ_INVALID_JSON,
    REJ_NOT_OBJECT,
    REJ_MISSING_FIELD,
    REJ_WRONG_TYPE,
    REJ_UNKNOWN_GAME,
    REJ_BAD_TS,
    REJ_BAD_STATUS,
    REJ_BAD_CURRENCY,
    REJ_BAD_AMOUNT,
    REJ_COUNT
} reject_reason;

const char *reject_reason_name(reject_reason r);   /* "line_too_long", ... */
const char *event_kind_name(event_kind k);         /* "device_start", ... */

typedef enum parse_outcome {
    PARSE_OK,            /* *ev is filled */
    PARSE_UNKNOWN_EVENT, /* skipped, counted as unknown_event; *game is set */
    PARSE_REJECTED       /* *why is set; *game is set */
} parse_outcome;

typedef enum payment_status { PAY_PAID = 0, PAY_REFUNDED = 1 } payment_status;

/* Platforms after normalisation (inputs.md: case-insensitive; anything else
 * or missing becomes "other"). */
typedef enum platform {
    PLATFORM_ANDROID,
    PLATFORM_IOS,
    PLATFORM_OTHER,
    PLATFORM_PC,
    PLATFORM_WEB,
    PLATFORM_COUNT
} platform;
const char *platform_name(platform p); /* "android", "ios", "other", "pc", "web" */

/* A validated event. Absent optional strings have p == NULL and n == 0. */
typedef struct sdk_event {
    event_kind kind;
    int game;              /* index into the configured games */
    int64_t ts_ms;         /* UTC epoch milliseconds */
    strref event_id;
    strref device_id;      /* required for device_start, optional otherwise */
    strref account_id;     /* required for register/login/role_create/payment */
    strref server_id;      /* role_create (required), payment (optional) */
    strref role_id;
    strref login_type;
    platform platform;     /* normalised */
    char country[3];       /* upper-case ISO alpha-2, or "ZZ" */
    /* payment only: */
    strref order_id;
    payment_status status;
    char currency[4];      /* upper-case ISO 4217 code */
    int currency_minor;    /* its minor units */
    int64_t amount_minor;  /* > 0, in minor units of currency */
    strref pay_channel;
    strref channel_txn_id;
    strref product_id;
    int sandbox;           /* 0 or 1 (absent = 0) */
} sdk_event;

typedef struct event_parser event_parser;

/* game_ids: the configured games (copied). Returns NULL on allocation
 * failure. Free with event_parser_free. */
event_parser *event_parser_new(const char *const *game_ids, size_t n_games);
void event_parser_free(event_parser *p);

/* Parses and validates one non-empty line (data, len: without terminator;
 * too_long from the reader).
 *  - PARSE_OK: *ev filled, *game = ev->game.
 *  - PARSE_UNKNOWN_EVENT: the line passed checks 2-8 but its `event` is not
 *    one of the five known ones; *game is the configured game.
 *  - PARSE_REJECTED: *why set. *game is the configured game index when the
 *    line parsed as a JSON object whose `game_id` is a configured game
 *    (inputs.md: the rejected line counts under that game), otherwise -1
 *    (counted under "_unknown"). A too_long line is always -1.
 */
parse_outcome event_parser_parse(event_parser *p, const char *data, size_t len, int too_long,
                                 sdk_event *ev, reject_reason *why, int *game);

/* For tests and benchmarks: on != 0 makes the parser decode every line with
 * jansson (the reference), 0 (the default) uses the fast path wherever it
 * applies. The results are the same either way. */
void event_parser_set_reference(event_parser *p, int on);

#endif
