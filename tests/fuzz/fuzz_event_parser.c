/*
 * fuzz_event_parser.c - differential fuzz test of the event parser: the fast
 * path (json_scan.c + the shared checks) against the reference (jansson,
 * event_parser_set_reference) on the same lines. Standalone and
 * deterministic (a seeded PRNG, no libFuzzer), so it runs in CI with gcc;
 * built as build/tests/test_fuzz_event_parser and run by tests/run.sh.
 *
 * Lines come from:
 *  - the seed corpus: every line of tests/golden/scenario/batch1 and batch2
 *    (*.jsonl, and *.jsonl.gz through zlib) and the lines of the unit test;
 *  - a grammar-aware generator of events of every kind whose members are
 *    mutated (types swapped, escapes, unicode, surrogates, numbers at the
 *    edges of int64 and double, exponents, duplicate keys, nested values,
 *    whitespace, lengths near the limits counted in characters, many
 *    members, very long strings);
 *  - byte mutations of both (flips, interesting bytes, insertions, deletions,
 *    truncation, invalid UTF-8, BOM-like bytes, control characters, NUL).
 *
 * For every line both parsers must agree on the outcome, the rejection
 * reason, the game and every member of sdk_event (string contents, not
 * pointers; the line buffer is overwritten before the comparison so that a
 * fast-path string still pointing into the caller's line shows up). The
 * scanner is also compared with jansson directly: JS_INVALID only when
 * jansson fails, JS_OK only with the same members and values.
 *
 * Environment: MOONSTAT_FUZZ_ITERATIONS (default 200000),
 * MOONSTAT_FUZZ_SEED (default 20261125), MOONSTAT_FUZZ_CORPUS (default
 * tests/golden/scenario; relative to the current directory, which
 * tests/run.sh sets to the source tree).
 *
 * Prints "fuzz_event_parser: N passed, N failed" (one check per line), the
 * first disagreeing lines in hex, and what the lines covered.
 */
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "event_parser.h"
#include "json_scan.h"

#define MAX_LINE 65536u
#define MAX_REPORTS 5

/* ---- PRNG (splitmix64 seeding xoshiro256**) ------------------------------ */

static uint64_t rng_s[4];

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng(void)
{
    uint64_t result = rotl(rng_s[1] * 5, 7) * 9;
    uint64_t t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return result;
}

/* Uniform in [0, n) (n > 0; the bias is irrelevant here). */
static size_t rnd(size_t n)
{
    return (size_t)(rng() % n);
}

/* 1 with probability pct percent. */
static int chance(unsigned pct)
{
    return rnd(100) < pct;
}

#define PICK(arr) (arr[rnd(sizeof(arr) / sizeof(arr[0]))])

/* ---- a growable byte buffer ----------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->n + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (b->p == NULL) {
        printf("out of memory\n");
        exit(1);
    }
    b->cap = cap;
}

static void sb_put(sbuf *b, const void *p, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_putc(sbuf *b, char c)
{
    sb_put(b, &c, 1);
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_clear(sbuf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* ---- the corpus ----------------------------------------------------------- */

typedef struct corpus {
    char **line;
    size_t *len;
    size_t n, cap;
} corpus;

static corpus C;

static void corpus_add(const char *p, size_t n)
{
    if (C.n == C.cap) {
        C.cap = C.cap ? C.cap * 2 : 1024;
        C.line = realloc(C.line, C.cap * sizeof *C.line);
        C.len = realloc(C.len, C.cap * sizeof *C.len);
        if (C.line == NULL || C.len == NULL) {
            printf("out of memory\n");
            exit(1);
        }
    }
    C.line[C.n] = malloc(n + 1);
    memcpy(C.line[C.n], p, n);
    C.line[C.n][n] = '\0';
    C.len[C.n] = n;
    C.n++;
}

/* Splits decompressed content into lines as the line reader does (no
 * terminator, one CR before LF removed, a BOM at the very start removed)
 * and adds the non-empty ones. */
static void corpus_add_content(const char *data, size_t size)
{
    const char *s = data, *end = data + size;
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        size_t len = (size_t)(e - s);
        if (nl && len > 0 && s[len - 1] == '\r')
            len--;
        if (len > 0 && len <= MAX_LINE)
            corpus_add(s, len);
        s = nl ? nl + 1 : end;
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void load_file(const char *path)
{
    sbuf b = {0};
    char chunk[1 << 16];
    if (ends_with(path, ".jsonl.gz")) {
        gzFile gz = gzopen(path, "rb");
        int got;
        if (gz == NULL)
            return;
        while ((got = gzread(gz, chunk, sizeof chunk)) > 0)
            sb_put(&b, chunk, (size_t)got);
        gzclose(gz); /* a corrupt or truncated member: keep what was read */
    } else {
        FILE *f = fopen(path, "rb");
        size_t got;
        if (f == NULL)
            return;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            sb_put(&b, chunk, got);
        fclose(f);
    }
    corpus_add_content(b.p ? b.p : "", b.n);
    free(b.p);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t load_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t files = 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    /* Sorted, so that the corpus order (and the run) is deterministic. */
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            files += load_tree(path);
        } else if (ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz")) {
            load_file(path);
            files++;
        }
        free(names[i]);
    }
    free(names);
    return files;
}

/* Lines of tests/unit/test_event_parser.c (and a few more of the same
 * spirit), the corner cases the suite pins down. */
static const char *const unit_lines[] = {
    "this is not json at all",
    "{\"event_id\":\"nan-1\",\"amount\":NaN}",
    "{\"event_id\":\"x\",\"game_id\":\"star\",}",
    "{'event_id': 'x1', 'event': 'login'}",
    "{\"event_id\":\"late-broken\",\"event\":\"log",
    " ",
    "   \t  ",
    "{} {}",
    "{}x",
    "[1,]",
    "{\"a\":Infinity}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\x41\"}",
    "{\"a\":01}",
    "\xef\xbb\xbf{}",
    "{\"a\":\"tab\there\"}",
    "{\"a\":1e400}",
    "12345",
    "null",
    "\"login\"",
    "true",
    "1.5",
    "[]",
    "[{\"event_id\":\"arr-1\",\"event\":\"login\",\"ts\":\"2026-10-28T10:00:00Z\",\"game_id\":\"rainbow\","
    "\"account_id\":\"100005\"}]",
    "  \"star\"  ",
    "{}",
    "{\"event\":\"login\",\"ts\":\"2026-11-05T13:42:02.582Z\",\"game_id\":\"rainbow\",\"account_id\":\"932349\"}",
    "{\"event_id\":null,\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\"}",
    "{\"event_id\":5,\"event\":\"login\",\"game_id\":\"star\"}",
    "{\"event_id\":123456789,\"event\":\"login\",\"ts\":\"2026-11-07T04:32:20.463Z\",\"game_id\":\"rainbow\","
    "\"account_id\":\"967278\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1761800000000.5,\"game_id\":\"reversal\",\"account_id\":\"956578\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1e3,\"game_id\":\"star\",\"account_id\":\"a\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":{},\"game_id\":\"star\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":[\"star\"]}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":\"bad\",\"game_id\":\"star\\u0000\",\"account_id\":\"a\"}",
    "{\"event_id\":\"e1\",\"event\":\"log\\u0069n\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a\"}",
    "{\"event_id\":\"e1\",\"event\":\"tutorial_step\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\","
    "\"account_id\":5,\"sandbox\":\"true\"}",
    "{\"event_id\":\"e1\",\"event\":\"login\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\","
    "\"account_id\":\"a\\u0000b\\\"c\"}",
    "{\"event_id\":\"e1\",\"event\":\"login\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"nickname\":{\"a\":[1,2,null]},\"level\":3.5,\"vip\":\"true\"}",
    "{\"event_id\":\"p-1\",\"event\":\"payment\",\"ts\":\"2026-11-25T22:01:02.123+09:00\",\"game_id\":\"reversal\","
    "\"account_id\":\"100031\",\"server_id\":\"s1\",\"role_id\":\"r9\",\"order_id\":\"RV1\",\"status\":\"refunded\","
    "\"amount\":\"1220.0\",\"currency\":\"JPY\",\"pay_channel\":\"google_play\",\"channel_txn_id\":\"GPA.1\","
    "\"product_id\":\"gems_100\",\"sandbox\":true,\"platform\":\"Android\",\"country\":\"jp\",\"login_type\":\"guest\","
    "\"device_id\":\"dev\",\"extra\":[1]}",
    "{\"event_id\":\"e1\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"order_id\":\"o1\",\"status\":\"paid\",\"amount\":0.29,\"currency\":\"USD\",\"pay_channel\":\"app_store\"}",
    "{\"event_id\":\"e1\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"order_id\":\"o1\",\"status\":\"paid\",\"amount\":9223372036854775807,\"currency\":\"JPY\","
    "\"pay_channel\":\"app_store\"}",
    "{\"event_id\":\"e1\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"order_id\":\"o1\",\"status\":\"paid\",\"amount\":4.990000000000000001,\"currency\":\"USD\","
    "\"pay_channel\":\"app_store\"}",
    "{\"event_id\":\"e1\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"order_id\":\"o1\",\"status\":\"paid\",\"amount\":1.50000000000000000001,\"currency\":\"USD\","
    "\"pay_channel\":\"app_store\"}",
    "{\"event_id\":\"e1\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"order_id\":\"o1\",\"status\":\"paid\",\"amount\":1.5e3,\"currency\":\"KRW\",\"pay_channel\":\"app_store\"}",
    "{\"event_id\":\"e1\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\",\"game_id\":\"star\",\"account_id\":\"a1\","
    "\"order_id\":\"o1\",\"status\":\"paid\",\"amount\":1e-7,\"currency\":\"USD\",\"pay_channel\":\"app_store\"}",
    "{\"event_id\":\"e050e015-e649-3569-3188-42e61b34ddb4\",\"event\":\"login\",\"ts\":1761800000000,"
    "\"game_id\":\"reversal\",\"account_id\":\"956578\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"account_id\":\"b\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"account_id\":null}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"x\\u0000\":1}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"x\":-0}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":-0,\"game_id\":\"star\",\"account_id\":\"a\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":9223372036854775808,\"game_id\":\"star\",\"account_id\":\"a\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":-9223372036854775808,\"game_id\":\"star\",\"account_id\":\"a\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"x\":1e-400}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"x\":1.7976931348623159e308}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"x\":\"\\uDBFF\\uDFFF\"}",
    "{\"event_id\":\"e\",\"event\":\"login\",\"ts\":1,\"game_id\":\"star\",\"account_id\":\"a\",\"x\":\"\\uDC00\\uD800\"}",
    "\t{ \"event_id\" : \"e\" ,\r\n\"event\":\"login\" , \"ts\" : 1 , \"game_id\" : \"star\" , \"account_id\" : \"a\" }\r ",
};

/* ---- member texts ---------------------------------------------------------- */

static const char *const GAMES[] = {"reversal", "rainbow", "star"};

/* UTF-8 sequences of each length, for strings measured in characters. */
static const char *const chars_1[] = {"a", "Z", "0", "_", "-", " ", "/", "~", "\x7f"};
static const char *const chars_2[] = {"\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xd0\x96"};
static const char *const chars_3[] = {"\xe6\x9c\x88", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                                      "\xef\xbf\xbf", "\xef\xbb\xbf", "\xe2\x80\xa8"};
static const char *const chars_4[] = {"\xf0\x9f\x8c\x99", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"};

static void put_u_escape(sbuf *b, unsigned long v, int upper)
{
    if (upper)
        sb_printf(b, "\\u%04lX", v);
    else
        sb_printf(b, "\\u%04lx", v);
}

/* Appends one character as JSON string content, raw or escaped. */
static void put_char_json(sbuf *b, const char *utf8, int escape_pct)
{
    const unsigned char *u = (const unsigned char *)utf8;
    unsigned long cp;
    size_t n;
    if (u[0] < 0x80) {
        cp = u[0];
        n = 1;
    } else if (u[0] < 0xE0) {
        cp = ((unsigned long)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        n = 2;
    } else if (u[0] < 0xF0) {
        cp = ((unsigned long)(u[0] & 0x0F) << 12) | ((unsigned long)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        n = 3;
    } else {
        cp = ((unsigned long)(u[0] & 0x07) << 18) | ((unsigned long)(u[1] & 0x3F) << 12) |
             ((unsigned long)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
        n = 4;
    }
    int must = cp == '"' || cp == '\\' || cp < 0x20;
    if (!must && !chance((unsigned)escape_pct)) {
        sb_put(b, utf8, n);
        return;
    }
    switch (cp) {
    case '"':
        sb_puts(b, "\\\"");
        return;
    case '\\':
        sb_puts(b, "\\\\");
        return;
    case '\b':
        sb_puts(b, chance(50) ? "\\b" : "\\u0008");
        return;
    case '\f':
        sb_puts(b, chance(50) ? "\\f" : "\\u000C");
        return;
    case '\n':
        sb_puts(b, chance(50) ? "\\n" : "\\u000a");
        return;
    case '\r':
        sb_puts(b, chance(50) ? "\\r" : "\\u000D");
        return;
    case '\t':
        sb_puts(b, chance(50) ? "\\t" : "\\u0009");
        return;
    case '/':
        if (chance(50)) {
            sb_puts(b, "\\/");
            return;
        }
        break;
    }
    int upper = chance(50);
    if (cp >= 0x10000) {
        unsigned long v = cp - 0x10000;
        put_u_escape(b, 0xD800 + (v >> 10), upper);
        put_u_escape(b, 0xDC00 + (v & 0x3FF), upper);
    } else {
        put_u_escape(b, cp, upper);
    }
}

/* A JSON string literal of `text` (valid UTF-8), escaping at random. */
static void put_string(sbuf *b, const char *text, size_t n, int escape_pct)
{
    sb_putc(b, '"');
    if (escape_pct == 0) { /* only what must be escaped: runs copied as they are */
        size_t run = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c == '"' || c == '\\' || c < 0x20) {
                sb_put(b, text + run, i - run);
                char ch[2] = {(char)c, 0};
                put_char_json(b, ch, 0);
                run = i + 1;
            }
        }
        sb_put(b, text + run, n - run);
        sb_putc(b, '"');
        return;
    }
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)text[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + k > n)
            k = n - i;
        char ch[5] = {0};
        memcpy(ch, text + i, k);
        put_char_json(b, ch, escape_pct);
        i += k;
    }
    sb_putc(b, '"');
}

/* A string of exactly `chars` random characters of random widths, plus the
 * odd special one (controls, quotes, NUL, surrogate escapes - these are
 * added as escapes by put_char_json). */
static void random_text(sbuf *out, size_t chars, int width)
{
    if (chars > 512) { /* long: a random block of 256 characters, repeated */
        sbuf block = {0};
        random_text(&block, 256, width);
        for (size_t i = 0; i + 256 <= chars; i += 256)
            sb_put(out, block.p, block.n);
        random_text(out, chars % 256, width);
        free(block.p);
        return;
    }
    for (size_t i = 0; i < chars; i++) {
        int w = width ? width : (int)(chance(70) ? 1 : 2 + rnd(3));
        switch (w) {
        case 1:
            if (chance(3)) {
                static const char specials[] = {'"', '\\', '\n', '\t', '\b', '\f', '\r', 0x01, 0x1f, '/'};
                sb_putc(out, PICK(specials));
            } else if (chance(1)) {
                sb_putc(out, '\0');
            } else {
                sb_puts(out, PICK(chars_1));
            }
            break;
        case 2:
            sb_puts(out, PICK(chars_2));
            break;
        case 3:
            sb_puts(out, PICK(chars_3));
            break;
        default:
            sb_puts(out, PICK(chars_4));
            break;
        }
    }
}

/* A string member value of a length near the interesting limits. */
static void string_value(sbuf *b, const char *typical, int escape_pct)
{
    static const size_t edges[] = {0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129};
    static sbuf t;
    sb_clear(&t);
    if (typical != NULL && chance(75)) {
        sb_puts(&t, typical);
    } else {
        size_t chars = chance(70) ? PICK(edges) : rnd(200);
        random_text(&t, chars, chance(50) ? (int)(1 + rnd(4)) : 0);
    }
    put_string(b, t.p ? t.p : "", t.n, escape_pct);
}

/* A JSON number text: edge values, random valid forms, invalid forms. */
static void number_value(sbuf *b)
{
    static const char *const edges[] = {
        "0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "99999999999999999999",
        "1000000000000000000", "9999999999999999999", "-9999999999999999999", "0.0", "-0.0", "0e0", "0E+0",
        "1e308", "1e309", "-1e309", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "-1.7976931348623159e308", "17976931348623157e292",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587"
        "207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711"
        "531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093"
        "042880177904174497791.9999999999999999999999999999999999999999999999999999999999999999999999",
        "0.000000000000000000000000000000000000001e347", "1e-400", "-1e-400", "2.2250738585072011e-308",
        "4.9e-324", "5e-324", "2.4703282292062327e-324", "1e99999999999999999999", "1e-99999999999999999999",
        "4.990000000000000001", "1.50000000000000000001", "0.29", "9.99", "1.10", "100.0", "1e2", "1.5e3",
        "4.99E0", "999e-2", "1e-7", "0.001", "123456789.12", "1220", "120", "1761800000000", "1795611662123",
        "253402300799999", "253402300800000", "-62167219200000", "-62167219200001", "1761800000000.5",
        "1.0", "1e3", "0.1e1", "12345678901234567890e-10", "92233720368547758.07", "9223372036854775807.0",
        "01", "00", "-", "+1", "1.", ".5", "1e", "1e+", "1E-", "0x10", "1.5.2", "--1", "1ee2", "- 1",
        "Infinity", "-Infinity", "NaN", "1_000", "1,5", "0.", "-.5", "1e5.5",
    };
    if (chance(50)) {
        sb_puts(b, PICK(edges));
        return;
    }
    /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? with random parts. */
    if (chance(30))
        sb_putc(b, '-');
    size_t int_digits = chance(20) ? 1 : 1 + rnd(chance(10) ? 40 : 20);
    if (chance(15) || int_digits == 1) {
        sb_putc(b, (char)('0' + (chance(30) ? 0 : 1 + rnd(9))));
    } else {
        sb_putc(b, (char)('1' + rnd(9)));
        for (size_t i = 1; i < int_digits; i++)
            sb_putc(b, (char)('0' + rnd(10)));
    }
    if (chance(40)) {
        sb_putc(b, '.');
        size_t frac = 1 + rnd(chance(10) ? 40 : 6);
        for (size_t i = 0; i < frac; i++)
            sb_putc(b, (char)('0' + rnd(10)));
    }
    if (chance(30)) {
        sb_putc(b, chance(50) ? 'e' : 'E');
        if (chance(50))
            sb_putc(b, chance(50) ? '+' : '-');
        static const char *const exps[] = {"0", "1", "2", "7", "300", "305", "307", "308", "309", "310",
                                           "320", "324", "330", "340", "400", "00308", "99999"};
        if (chance(70))
            sb_puts(b, PICK(exps));
        else
            sb_printf(b, "%zu", rnd(1000));
    }
}

/* A JSON number as an amount might be written: mostly valid, with long
 * fractions, trailing zeros, a stray last digit, exponents after long
 * mantissas (the shortest round-trip text of the double decides). */
static void amount_number(sbuf *b)
{
    static const char *const edges[] = {
        "4.990000000000000001", "1.50000000000000000001", "4.99", "0.29", "1.10", "9.995", "0.1e1",
        "100e-2", "1.000000000000000000e2", "1.00000000000000001e2", "12345678901234567.5",
        "123456789.123456789", "0.30000000000000004", "0.1", "0.7", "1e2", "1E0", "2.675", "1.005",
        "1.0000000000000002", "0.9999999999999999", "0.99999999999999999", "9007199254740993",
        "9007199254740992.5", "92233720368547758.07", "922337203685477580.7e1", "9.223372036854775807e18",
        "9.223372036854775808e18", "1e19", "5e-324", "1e-5", "0.0001", "0.00001e1", "-0.0", "1.7976931348623157e308",
    };
    if (chance(30)) {
        sb_puts(b, PICK(edges));
        return;
    }
    if (chance(3))
        sb_putc(b, '-');
    if (chance(30)) {
        sb_putc(b, '0');
    } else {
        size_t n = 1 + rnd(chance(10) ? 20 : 6);
        sb_putc(b, (char)('1' + rnd(9)));
        for (size_t i = 1; i < n; i++)
            sb_putc(b, (char)('0' + rnd(10)));
    }
    if (chance(70)) {
        sb_putc(b, '.');
        size_t n = 1 + rnd(4);
        for (size_t i = 0; i < n; i++)
            sb_putc(b, (char)('0' + rnd(10)));
        if (chance(40)) { /* ...0000001 past double precision */
            size_t zeros = 5 + rnd(20);
            for (size_t i = 0; i < zeros; i++)
                sb_putc(b, '0');
            if (chance(80))
                sb_putc(b, (char)('1' + rnd(9)));
        }
    }
    if (chance(25)) {
        sb_putc(b, chance(50) ? 'e' : 'E');
        if (chance(60))
            sb_putc(b, chance(50) ? '+' : '-');
        sb_printf(b, "%zu", rnd(chance(90) ? 6 : 30));
    }
}

/* A payment whose amount and currency vary, the rest valid. */
static void build_payment(sbuf *out)
{
    static const char *const currencies[] = {"USD", "JPY", "KRW", "KWD", "BHD", "CLF", "TWD", "EUR", "UYW"};
    sb_clear(out);
    sb_printf(out,
              "{\"event_id\":\"p-%zu\",\"event\":\"payment\",\"ts\":\"2026-11-25T13:01:02Z\","
              "\"game_id\":\"%s\",\"account_id\":\"a1\",\"order_id\":\"o1\",\"status\":\"%s\",\"amount\":",
              rnd(1000), PICK(GAMES), chance(80) ? "paid" : "refunded");
    if (chance(80)) {
        amount_number(out);
    } else {
        sbuf t = {0};
        amount_number(&t);
        put_string(out, t.p, t.n, 0);
        free(t.p);
    }
    sb_printf(out, ",\"currency\":\"%s\",\"pay_channel\":\"app_store\"", PICK(currencies));
    if (chance(30))
        sb_printf(out, ",\"sandbox\":%s", chance(50) ? "true" : "false");
    sb_putc(out, '}');
}

static void scalar_value(sbuf *b);

/* A nested value (array or object), sometimes deep. */
static void nested_value(sbuf *b, int depth)
{
    if (depth > 3 || chance(20)) {
        if (chance(2)) { /* deep: past jansson's depth limit sometimes */
            size_t d = chance(50) ? 2040 + rnd(20) : rnd(100);
            for (size_t i = 0; i < d; i++)
                sb_putc(b, '[');
            for (size_t i = 0; i < d; i++)
                sb_putc(b, ']');
            return;
        }
        sb_puts(b, chance(50) ? "[]" : "{}");
        return;
    }
    size_t n = rnd(4);
    int obj = chance(50);
    sb_putc(b, obj ? '{' : '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_putc(b, ',');
        if (obj) {
            string_value(b, "k", 5);
            sb_putc(b, ':');
        }
        if (chance(30))
            nested_value(b, depth + 1);
        else
            scalar_value(b);
    }
    sb_putc(b, obj ? '}' : ']');
}

static void scalar_value(sbuf *b)
{
    switch (rnd(6)) {
    case 0:
        string_value(b, NULL, 10);
        break;
    case 1:
    case 2:
        number_value(b);
        break;
    case 3:
        sb_puts(b, chance(50) ? "true" : "false");
        break;
    case 4:
        sb_puts(b, "null");
        break;
    default: {
        static const char *const bad[] = {"tru", "True", "nul", "NULL", "fals", "falsee", "truex", "nullnull",
                                          "'x'", "undefined", "\"\\ud800\"", "\"\\udc00\"",
                                          "\"\\ud800\\u0041\"", "\"\\ud800\\\"\"", "\"\\uD83C\\uDF19\"",
                                          "\"\\u00\"", "\"\\u00g0\"", "\"\\a\"", "\"\\'\"", "\"\\U0041\"",
                                          "\"\\u0000\"", "\"a\\u0000b\"", "\"\\uFFFF\"", "\"\\uDBFF\\uDFFF\"",
                                          "\"\\uD800\\uDBFF\"", "\"\\uDFFF\"", "\"\\\"", "\"\\", "\""};
        sb_puts(b, PICK(bad));
        break;
    }
    }
}

/* Any value: mostly scalars, sometimes nested. */
static void any_value(sbuf *b)
{
    if (chance(12))
        nested_value(b, 0);
    else
        scalar_value(b);
}

/* ---- events ---------------------------------------------------------------- */

typedef struct member {
    sbuf key; /* JSON text, quotes included */
    sbuf val; /* JSON text */
} member;

#define MAX_MEMBERS 96
static member M[MAX_MEMBERS];
static size_t NM;

static member *add_member(const char *key)
{
    if (NM == MAX_MEMBERS)
        return NULL;
    member *m = &M[NM++];
    sb_clear(&m->key);
    sb_clear(&m->val);
    put_string(&m->key, key, strlen(key), chance(3) ? 60 : 0);
    return m;
}

static void add_string(const char *key, const char *typical)
{
    member *m = add_member(key);
    if (m != NULL)
        string_value(&m->val, typical, chance(5) ? 40 : chance(10) ? 5 : 0);
}

static void add_raw(const char *key, const char *json)
{
    member *m = add_member(key);
    if (m != NULL)
        sb_puts(&m->val, json);
}

static void ts_member(void)
{
    static const char *const ts_strings[] = {
        "2026-11-25T13:01:02Z", "2026-11-25T13:01:02.123Z", "2026-11-25T22:01:02.123+09:00",
        "2026-11-25T05:01:02.123-08:00", "2026-11-25T13:01:02.1234567Z", "2024-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999-00:01",
        "0000-01-01T00:00:00+00:01", "2026-13-01T00:00:00Z", "2026-11-01 10:00:00", "2026-11-03T10:00:00",
        "2026-11-04T25:10:00+09:00", "2026-11-25t13:01:02z", "2026-11-25T13:01:02+24:00",
        "2026-02-29T00:00:00Z", "2016-12-31T23:59:60Z", "1761800000000", "yesterday", "",
        "2026-11-25T13:01:02.Z", "2026-11-25T13:01:02-00:00", "2026-11-25T13:01:02+09:0",
    };
    static const char *const ts_numbers[] = {
        "1795611662123", "0", "-1", "253402300799999", "-62167219200000", "253402300800000",
        "-62167219200001", "9223372036854775807", "-9223372036854775808", "1761800000000.5", "1.0", "1e3",
    };
    if (chance(60))
        add_string("ts", PICK(ts_strings));
    else
        add_raw("ts", PICK(ts_numbers));
}

static void payment_members(void)
{
    static const char *const statuses[] = {"paid", "paid", "refunded", "created", "PAID", "", "paid "};
    static const char *const currencies[] = {"USD", "JPY", "KWD", "CLF", "TWD", "KRW", "EUR",
                                             "usd", "XAU", "HRK", "", "USD ", "12"};
    static const char *const amounts_str[] = {"9.99", "100.0", "1220", "1.50", "1.005", "0.0001", "0.01",
                                              "4.999", "-4.99", "abc", "1.5", "0", "0.00", "", " 9.99",
                                              "1e2", "+9.99", ".99", "9.", "9,99", "99999999999999999999",
                                              "92233720368547758.07", "92233720368547758.08", "NaN"};
    add_string("order_id", chance(90) ? "RV202611080000002" : NULL);
    add_string("status", PICK(statuses));
    member *m = add_member("amount");
    if (m != NULL) {
        if (chance(40))
            string_value(&m->val, PICK(amounts_str), 2);
        else if (chance(60))
            amount_number(&m->val);
        else
            number_value(&m->val);
    }
    add_string("currency", PICK(currencies));
    add_string("pay_channel", chance(50) ? "google_play" : "app_store");
    if (chance(40))
        add_string("channel_txn_id", "GPA.3312-1234-5678-91011");
    if (chance(40))
        add_string("product_id", "gems_100");
    if (chance(40))
        add_raw("sandbox", chance(50) ? "true" : "false");
}

/* Builds the members of one event (valid most of the time). */
static void build_event(void)
{
    static const char *const kinds[] = {"device_start", "register", "login", "role_create", "payment",
                                        "payment",      "level_up", "Login", "login ", "", "payment_v2"};
    const char *kind = PICK(kinds);
    const char *game = chance(90) ? PICK(GAMES) : (chance(50) ? "moonfall" : "Star");

    NM = 0;
    add_string("event_id", chance(90) ? "6065ee9a-7efa-1fbf-85e9-3ccc1f065cee" : NULL);
    add_string("event", kind);
    ts_member();
    add_string("game_id", game);
    if (strcmp(kind, "device_start") == 0 || chance(40))
        add_string("device_id", "54B2744E-19FC-236F-1842-02E9D9DEFF42");
    if (strcmp(kind, "device_start") != 0 || chance(20))
        add_string("account_id", "100414");
    if (strcmp(kind, "role_create") == 0 || chance(10)) {
        add_string("server_id", "s3");
        add_string("role_id", "65408000");
    }
    if (strcmp(kind, "payment") == 0 || chance(5))
        payment_members();
    if (chance(60))
        add_string("platform", chance(50) ? "android" : PICK(((const char *const[]){"iOs", "PC", "web", "x"})));
    if (chance(60))
        add_string("country", chance(50) ? "JP" : PICK(((const char *const[]){"jp", "ZZ", "J", "JPN", "1A"})));
    if (chance(40))
        add_string("login_type", "facebook");
    size_t extras = chance(96) ? rnd(3) : rnd(70);
    for (size_t i = 0; i < extras; i++) {
        char key[32];
        snprintf(key, sizeof key, chance(50) ? "sdk_ver" : "x%zu", rnd(100));
        member *m = add_member(key);
        if (m == NULL)
            break;
        any_value(&m->val);
    }
}

/* Member-level mutations. */
static void mutate_members(void)
{
    size_t n = 1 + rnd(3);
    for (size_t k = 0; k < n && NM > 0; k++) {
        member *m = &M[rnd(NM)];
        switch (rnd(9)) {
        case 0: { /* drop (the buffers stay in the pool) */
            member t = *m;
            *m = M[NM - 1];
            M[NM - 1] = t;
            NM--;
            break;
        }
        case 1: /* null */
            sb_clear(&m->val);
            sb_puts(&m->val, "null");
            break;
        case 2: /* another type */
            sb_clear(&m->val);
            any_value(&m->val);
            break;
        case 3: /* a repeated key, before or after */
            if (NM < MAX_MEMBERS) {
                member *d = &M[NM++];
                sb_clear(&d->key);
                sb_clear(&d->val);
                sb_put(&d->key, m->key.p, m->key.n);
                if (chance(50))
                    sb_put(&d->val, m->val.p, m->val.n);
                else
                    any_value(&d->val);
                if (chance(50)) { /* swap so that the copy comes first */
                    member t = *d;
                    *d = *m;
                    *m = t;
                }
            }
            break;
        case 4: /* a number */
            sb_clear(&m->val);
            number_value(&m->val);
            break;
        case 5: /* a string of edge length */
            sb_clear(&m->val);
            string_value(&m->val, NULL, chance(30) ? 50 : 0);
            break;
        case 6: /* a nested value */
            sb_clear(&m->val);
            nested_value(&m->val, 0);
            break;
        case 7: { /* the key escaped or odd */
            static const char *const odd[] = {"\"ev\\u0065nt_id\"", "\"game\\u005fid\"", "\"ts\\u0000\"",
                                              "\"\"", "\"event_id \"", "\"EVENT\"", "\"a\\u0000\"",
                                              "\"\\ud83c\\udf19\"", "\"\\ud800\"", "ts", "'ts'",
                                              "\"amount\"", "\"sandbox\"", "\"country\""};
            sb_clear(&m->key);
            sb_puts(&m->key, PICK(odd));
            break;
        }
        default: /* a scalar */
            sb_clear(&m->val);
            scalar_value(&m->val);
            break;
        }
    }
}

/* Whitespace between tokens: mostly none, sometimes JSON whitespace, rarely
 * bytes that are not JSON whitespace (form feed, vertical tab, NBSP). */
static void put_ws(sbuf *b)
{
    static const char *const ws[] = {" ", "  ", "\t", "\r", "\n", " \r\n\t "};
    static const char *const not_ws[] = {"\f", "\v", "\xc2\xa0", "\xe2\x80\xa8"};
    if (chance(85))
        return;
    size_t n = 1 + rnd(2);
    for (size_t i = 0; i < n; i++)
        sb_puts(b, chance(97) ? PICK(ws) : PICK(not_ws));
}

static void assemble(sbuf *out)
{
    int ws_on = chance(20);
    sb_clear(out);
    if (ws_on)
        put_ws(out);
    sb_putc(out, '{');
    for (size_t i = 0; i < NM; i++) {
        if (ws_on)
            put_ws(out);
        sb_put(out, M[i].key.p, M[i].key.n);
        if (ws_on)
            put_ws(out);
        if (!chance(1))
            sb_putc(out, ':');
        if (ws_on)
            put_ws(out);
        sb_put(out, M[i].val.p ? M[i].val.p : "", M[i].val.n);
        if (ws_on)
            put_ws(out);
        if (i + 1 < NM || chance(1))
            sb_putc(out, ',');
    }
    if (ws_on)
        put_ws(out);
    if (!chance(1))
        sb_putc(out, '}');
    if (ws_on)
        put_ws(out);
    if (chance(1))
        sb_puts(out, chance(50) ? "}" : " {}");
}

/* ---- byte mutations -------------------------------------------------------- */

static void mutate_bytes(sbuf *b)
{
    static const unsigned char interesting[] = {
        '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\t', '\r', '\n', '0', '1', '9', '-', '+', '.', 'e',
        'E', 'u', 'n', 't', 'f', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed,
        0xef, 0xbb, 0xf0, 0xf4, 0xf5, 0xfe, 0xff};
    static const char *const chunks[] = {"\xef\xbb\xbf", "\xed\xa0\x80", "\xc0\xaf", "\\u0000", "\\ud800",
                                         "\\udc00", "\\uD83C\\uDF19", "\xf0\x9f\x8c\x99", "\xe6\x9c\x88",
                                         "null", "true", "[", "{", "\":\"", "\",\"", "1e400", "-0",
                                         "9223372036854775808", "\xf4\x90\x80\x80", "\xe3\x81"};
    size_t n = 1 + rnd(4);
    for (size_t k = 0; k < n; k++) {
        size_t pos = b->n ? rnd(b->n + 1) : 0;
        switch (rnd(9)) {
        case 8: { /* a NUL right after a number or literal (jansson skips one there) */
            size_t i = pos;
            while (i < b->n && !(i > 0 && (b->p[i] == ',' || b->p[i] == '}') &&
                                 ((b->p[i - 1] >= '0' && b->p[i - 1] <= '9') || b->p[i - 1] == 'e' ||
                                  b->p[i - 1] == 'l')))
                i++;
            if (i < b->n) {
                size_t nuls = chance(80) ? 1 : 2;
                sb_reserve(b, nuls);
                memmove(b->p + i + nuls, b->p + i, b->n - i);
                memset(b->p + i, 0, nuls);
                b->n += nuls;
            }
            break;
        }
        case 0: /* flip a bit */
            if (b->n)
                b->p[rnd(b->n)] ^= (char)(1u << rnd(8));
            break;
        case 1: /* set an interesting byte */
            if (b->n)
                b->p[rnd(b->n)] = (char)PICK(interesting);
            break;
        case 2: { /* insert an interesting byte */
            char c = (char)PICK(interesting);
            sb_reserve(b, 1);
            memmove(b->p + pos + 1, b->p + pos, b->n - pos);
            b->p[pos] = c;
            b->n++;
            break;
        }
        case 3: { /* insert a chunk */
            const char *c = PICK(chunks);
            size_t cn = strlen(c);
            sb_reserve(b, cn);
            memmove(b->p + pos + cn, b->p + pos, b->n - pos);
            memcpy(b->p + pos, c, cn);
            b->n += cn;
            break;
        }
        case 4: { /* delete a range */
            if (pos < b->n) {
                size_t len = 1 + rnd(chance(80) ? 2 : 20);
                if (len > b->n - pos)
                    len = b->n - pos;
                memmove(b->p + pos, b->p + pos + len, b->n - pos - len);
                b->n -= len;
            }
            break;
        }
        case 5: /* truncate */
            b->n = pos;
            break;
        case 6: { /* duplicate a range */
            if (pos < b->n) {
                size_t len = 1 + rnd(30);
                if (len > b->n - pos)
                    len = b->n - pos;
                sb_reserve(b, len);
                memmove(b->p + pos + len, b->p + pos, b->n - pos);
                b->n += len; /* the range now appears twice */
            }
            break;
        }
        default: { /* a BOM or other prefix/suffix */
            static const char *const fixes[] = {"\xef\xbb\xbf", " ", "\t", "\r", "x", "\xef\xbb", "\x00"};
            const char *c = PICK(fixes);
            size_t cn = strlen(c) ? strlen(c) : 1;
            if (chance(50)) {
                sb_reserve(b, cn);
                memmove(b->p + cn, b->p, b->n);
                memcpy(b->p, c, cn);
                b->n += cn;
            } else {
                sb_put(b, c, cn);
            }
            break;
        }
        }
    }
    if (b->p)
        b->p[b->n] = '\0';
}

/* A line of one long string member near the 64 KiB limit. */
static void long_line(sbuf *out)
{
    NM = 0;
    add_string("event_id", NULL);
    add_string("event", "login");
    add_raw("ts", "1795611662123");
    add_string("game_id", "star");
    add_string("account_id", "a");
    member *m = add_member(chance(50) ? "nickname" : "account_id");
    if (m != NULL) {
        sbuf t = {0};
        size_t target = 65536 - 120 - rnd(64);
        int w = (int)(1 + rnd(4));
        random_text(&t, target / (size_t)w, w);
        put_string(&m->val, t.p, t.n, chance(10) ? 5 : 0);
        free(t.p);
    }
    assemble(out);
    if (chance(30) && out->n > 65536)
        out->n = 65536; /* at the limit exactly, truncated */
}

/* ---- comparison ------------------------------------------------------------ */

static event_parser *FAST, *REF;
static json_scanner *SCAN;
static long long passed, failed;
static int reports;

/* What the lines covered. */
static long long n_outcome[3], n_reason[REJ_COUNT], n_scan[3], n_kind[EV_KIND_COUNT];

static void hexdump(const char *p, size_t n)
{
    printf("  line (%zu bytes) hex:", n);
    for (size_t i = 0; i < n && i < 4096; i++) {
        if (i % 32 == 0)
            printf("\n   ");
        printf(" %02x", (unsigned char)p[i]);
    }
    if (n > 4096)
        printf(" ...");
    printf("\n  line text: %.*s\n", (int)(n < 600 ? n : 600), p);
}

static int ref_eq(strref a, strref b)
{
    if ((a.p == NULL) != (b.p == NULL) || a.n != b.n)
        return 0;
    return a.n == 0 || memcmp(a.p, b.p, a.n) == 0;
}

static const char *outcome_text(parse_outcome o, reject_reason why, char *out, size_t size)
{
    switch (o) {
    case PARSE_OK:
        return "ok";
    case PARSE_UNKNOWN_EVENT:
        return "unknown_event";
    case PARSE_REJECTED:
        snprintf(out, size, "rejected:%s", reject_reason_name(why));
        return out;
    }
    return "?";
}

static void fail(const char *what, const char *line, size_t len, const char *detail)
{
    failed++;
    if (reports++ < MAX_REPORTS) {
        printf("FAIL fuzz_event_parser: %s: %s\n", what, detail);
        hexdump(line, len);
    }
}

/* The scanner against jansson on a line that is valid UTF-8. */
static int scan_agrees(const char *line, size_t len, char *detail, size_t dsize)
{
    const js_field *f;
    size_t n;
    json_error_t jerr;
    js_result r = json_scan_line(SCAN, line, len, &f, &n);
    n_scan[r]++;
    if (r == JS_UNUSUAL)
        return 1;
    json_t *root = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int ok = 1;
    if (r == JS_INVALID) {
        if (root != NULL) {
            snprintf(detail, dsize, "scanner says invalid, jansson parsed it");
            ok = 0;
        }
        json_decref(root);
        return ok;
    }
    if (root == NULL || !json_is_object(root)) {
        snprintf(detail, dsize, "scanner says ok, jansson: %s", root ? "not an object" : jerr.text);
        json_decref(root);
        return 0;
    }
    if (json_object_size(root) != n) {
        snprintf(detail, dsize, "scanner: %zu members, jansson: %zu", n, json_object_size(root));
        json_decref(root);
        return 0;
    }
    for (size_t i = 0; i < n && ok; i++) {
        static char key[MAX_LINE + 1];
        memcpy(key, f[i].key, f[i].key_len);
        key[f[i].key_len] = '\0';
        json_t *v = json_object_get(root, key);
        int same = 0;
        if (v != NULL && strlen(key) == f[i].key_len) {
            switch (f[i].kind) {
            case JS_STRING:
                same = json_is_string(v) && json_string_length(v) == f[i].len &&
                       memcmp(json_string_value(v), f[i].text, f[i].len) == 0;
                break;
            case JS_INTEGER:
                same = json_is_integer(v) && json_integer_value(v) == f[i].integer;
                break;
            case JS_REAL: {
                double d, j = json_is_real(v) ? json_real_value(v) : 0;
                same = json_is_real(v) && json_scan_real(SCAN, f[i].text, f[i].len, &d) == 0 &&
                       memcmp(&d, &j, sizeof d) == 0;
                break;
            }
            case JS_TRUE:
                same = json_is_true(v);
                break;
            case JS_FALSE:
                same = json_is_false(v);
                break;
            case JS_NULL:
                same = json_is_null(v);
                break;
            }
        }
        if (!same) {
            snprintf(detail, dsize, "member %zu (key \"%.40s\") differs from jansson", i, key);
            ok = 0;
        }
    }
    json_decref(root);
    return ok;
}

static void check_line(const char *src, size_t len, int too_long)
{
    sdk_event ef, er;
    reject_reason wf = REJ_COUNT, wr = REJ_COUNT;
    int gf = -7, gr = -7;
    char detail[512], b1[64], b2[64];

    /* An exact-size copy: ASan sees any read past the end. */
    char *line = malloc(len ? len : 1);
    memcpy(line, src, len);
    memset(&ef, 0x5A, sizeof ef);
    memset(&er, 0xA5, sizeof er);
    parse_outcome of = event_parser_parse(FAST, line, len, too_long, &ef, &wf, &gf);
    parse_outcome orf = event_parser_parse(REF, line, len, too_long, &er, &wr, &gr);
    /* The strings must be the parser's, not the caller's line. */
    memset(line, 0xEE, len);

    n_outcome[orf]++;
    if (orf == PARSE_REJECTED && (unsigned)wr < REJ_COUNT)
        n_reason[wr]++;
    if (orf == PARSE_OK && (unsigned)er.kind < EV_KIND_COUNT)
        n_kind[er.kind]++;

    int ok = 1;
    detail[0] = '\0';
    if (of != orf || (of == PARSE_REJECTED && wf != wr)) {
        snprintf(detail, sizeof detail, "fast %s, reference %s", outcome_text(of, wf, b1, sizeof b1),
                 outcome_text(orf, wr, b2, sizeof b2));
        ok = 0;
    } else if (gf != gr) {
        snprintf(detail, sizeof detail, "game: fast %d, reference %d (%s)", gf, gr,
                 outcome_text(of, wf, b1, sizeof b1));
        ok = 0;
    } else if (of == PARSE_OK) {
#define SAME(field) (ef.field == er.field)
        const char *bad = NULL;
        if (!SAME(kind))
            bad = "kind";
        else if (!SAME(game))
            bad = "game";
        else if (!SAME(ts_ms))
            bad = "ts_ms";
        else if (!ref_eq(ef.event_id, er.event_id))
            bad = "event_id";
        else if (!ref_eq(ef.device_id, er.device_id))
            bad = "device_id";
        else if (!ref_eq(ef.account_id, er.account_id))
            bad = "account_id";
        else if (!ref_eq(ef.server_id, er.server_id))
            bad = "server_id";
        else if (!ref_eq(ef.role_id, er.role_id))
            bad = "role_id";
        else if (!ref_eq(ef.login_type, er.login_type))
            bad = "login_type";
        else if (!SAME(platform))
            bad = "platform";
        else if (memcmp(ef.country, er.country, sizeof ef.country) != 0)
            bad = "country";
        else if (!ref_eq(ef.order_id, er.order_id))
            bad = "order_id";
        else if (!SAME(status))
            bad = "status";
        else if (memcmp(ef.currency, er.currency, sizeof ef.currency) != 0)
            bad = "currency";
        else if (!SAME(currency_minor))
            bad = "currency_minor";
        else if (!SAME(amount_minor))
            bad = "amount_minor";
        else if (!ref_eq(ef.pay_channel, er.pay_channel))
            bad = "pay_channel";
        else if (!ref_eq(ef.channel_txn_id, er.channel_txn_id))
            bad = "channel_txn_id";
        else if (!ref_eq(ef.product_id, er.product_id))
            bad = "product_id";
        else if (!SAME(sandbox))
            bad = "sandbox";
#undef SAME
        if (bad != NULL) {
            snprintf(detail, sizeof detail, "sdk_event.%s differs (amount_minor fast %" PRId64
                     ", reference %" PRId64 ")", bad, ef.amount_minor, er.amount_minor);
            ok = 0;
        }
    }
    /* The scanner on its own (on lines the parser would hand it). */
    if (ok && !too_long && !(orf == PARSE_REJECTED && wr == REJ_INVALID_UTF8))
        ok = scan_agrees(src, len, detail, sizeof detail);
    if (ok)
        passed++;
    else
        fail("fast path and reference disagree", src, len, detail);
    free(line);
}

static void check_sbuf(const sbuf *b)
{
    check_line(b->p ? b->p : "", b->n, b->n > MAX_LINE ? 1 : 0);
}

int main(void)
{
    const char *env;
    long long iterations = 200000;
    uint64_t seed = 20261125;
    const char *corpus_dir = "tests/golden/scenario";
    const char *games[] = {"reversal", "rainbow", "star"};
    sbuf line = {0};

    if ((env = getenv("MOONSTAT_FUZZ_ITERATIONS")) != NULL && *env)
        iterations = strtoll(env, NULL, 10);
    if ((env = getenv("MOONSTAT_FUZZ_SEED")) != NULL && *env)
        seed = strtoull(env, NULL, 10);
    if ((env = getenv("MOONSTAT_FUZZ_CORPUS")) != NULL && *env)
        corpus_dir = env;
    rng_seed(seed);

    FAST = event_parser_new(games, 3);
    REF = event_parser_new(games, 3);
    SCAN = json_scanner_new(MAX_LINE);
    if (FAST == NULL || REF == NULL || SCAN == NULL) {
        printf("out of memory\n");
        return 1;
    }
    event_parser_set_reference(REF, 1);

    /* 1: the seed corpus as it is. */
    char dir[4096];
    size_t files = 0;
    snprintf(dir, sizeof dir, "%s/batch1", corpus_dir);
    files += load_tree(dir);
    snprintf(dir, sizeof dir, "%s/batch2", corpus_dir);
    files += load_tree(dir);
    size_t golden_lines = C.n;
    for (size_t i = 0; i < MS_ARRAY_LEN(unit_lines); i++)
        corpus_add(unit_lines[i], strlen(unit_lines[i]));
    if (files == 0)
        printf("fuzz_event_parser: note: no golden corpus under %s (run from the source tree)\n", corpus_dir);
    for (size_t i = 0; i < C.n; i++)
        check_line(C.line[i], C.len[i], 0);
    long long corpus_checks = passed + failed;

    /* 2: generated and mutated lines. */
    for (long long it = 0; it < iterations; it++) {
        size_t mode = rnd(100);
        if (mode < 35) { /* a generated event, members mutated at times */
            build_event();
            if (chance(50))
                mutate_members();
            assemble(&line);
            if (chance(10))
                mutate_bytes(&line);
        } else if (mode < 70) { /* a corpus line, bytes mutated */
            size_t k = rnd(C.n);
            sb_clear(&line);
            sb_put(&line, C.line[k], C.len[k]);
            mutate_bytes(&line);
        } else if (mode < 85) { /* a payment, amount and currency varied */
            build_payment(&line);
            if (chance(5))
                mutate_bytes(&line);
        } else if (mode < 95) { /* a generated event, bytes mutated */
            build_event();
            mutate_members();
            assemble(&line);
            mutate_bytes(&line);
        } else if (mode < 99) { /* other shapes: top-level values, many members */
            sb_clear(&line);
            if (chance(50)) {
                any_value(&line);
            } else {
                build_event();
                size_t extra = 40 + rnd(40);
                for (size_t i = 0; i < extra; i++) {
                    char key[32];
                    snprintf(key, sizeof key, "k%zu", i);
                    add_raw(key, "1");
                }
                assemble(&line);
            }
        } else if (chance(5)) { /* a very long line (1 in 2000: jansson takes ~2 ms) */
            long_line(&line);
        } else {
            build_event();
            assemble(&line);
        }
        check_sbuf(&line);
    }

    printf("fuzz_event_parser: seed %" PRIu64 ", %zu golden lines from %zu files, %zu unit lines, "
           "%lld corpus checks, %lld generated\n",
           seed, golden_lines, files, MS_ARRAY_LEN(unit_lines), corpus_checks, iterations);
    printf("fuzz_event_parser: reference outcomes: %lld ok, %lld unknown_event, %lld rejected;", n_outcome[0],
           n_outcome[1], n_outcome[2]);
    for (int r = 0; r < REJ_COUNT; r++)
        printf(" %s %lld", reject_reason_name((reject_reason)r), n_reason[r]);
    printf("\nfuzz_event_parser: ok by kind:");
    for (int k = 0; k < EV_KIND_COUNT; k++)
        printf(" %s %lld", event_kind_name((event_kind)k), n_kind[k]);
    printf("; scanner: %lld ok, %lld unusual, %lld invalid\n", n_scan[JS_OK], n_scan[JS_UNUSUAL],
           n_scan[JS_INVALID]);

    for (size_t i = 0; i < MAX_MEMBERS; i++) {
        free(M[i].key.p);
        free(M[i].val.p);
    }
    for (size_t i = 0; i < C.n; i++)
        free(C.line[i]);
    free(C.line);
    free(C.len);
    free(line.p);
    event_parser_free(FAST);
    event_parser_free(REF);
    json_scanner_free(SCAN);
    printf("fuzz_event_parser: %lld passed, %lld failed\n", passed, failed);
    return failed ? 1 : 0;
}
