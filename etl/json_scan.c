/*
 * json_scan.c - see json_scan.h. The grammar and the value semantics follow
 * jansson 2.14's load.c (lex_scan_string, lex_scan_number, parse_object); the
 * differential fuzz test (tests/fuzz/fuzz_event_parser.c) checks the
 * agreement.
 */
#include "json_scan.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define DUP_SLOTS 128 /* power of two, > 2 * JS_MAX_FIELDS */

struct json_scanner {
    size_t max_line;
    char *scratch;  /* decoded strings with escapes; max_line bytes */
    size_t used;    /* bytes of scratch in use for the current line */
    int escaped;    /* the last string scanned had escapes (is in scratch) */
    char *numbuf;   /* a NUL-terminated copy of a number for strtod */
    locale_t c_locale;
    js_field fields[JS_MAX_FIELDS];
    /* Duplicate keys: open addressing over the keys of the current line; a
     * slot belongs to the line when its generation is the current one. */
    uint32_t gen;
    uint32_t slot_gen[DUP_SLOTS];
    uint8_t slot_field[DUP_SLOTS];
};

json_scanner *json_scanner_new(size_t max_line)
{
    json_scanner *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->max_line = max_line;
    s->scratch = malloc(max_line + 1);
    s->numbuf = malloc(max_line + 1);
    s->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (s->scratch == NULL || s->numbuf == NULL || s->c_locale == (locale_t)0) {
        json_scanner_free(s);
        return NULL;
    }
    return s;
}

void json_scanner_free(json_scanner *s)
{
    if (s == NULL)
        return;
    free(s->scratch);
    free(s->numbuf);
    if (s->c_locale != (locale_t)0)
        freelocale(s->c_locale);
    free(s);
}

int json_scan_real(json_scanner *s, const char *text, size_t len, double *out)
{
    if (len > s->max_line)
        return -1;
    memcpy(s->numbuf, text, len);
    s->numbuf[len] = '\0';
    *out = strtod_l(s->numbuf, NULL, s->c_locale);
    return 0;
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws((unsigned char)*p))
        p++;
    return p;
}

/* The first byte in [p, end) that ends a run of plain string bytes: '"',
 * '\\' or a control character (< 0x20). end when there is none. */
static inline const char *string_stop(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask != 0)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20)
            return p;
        p++;
    }
    return end;
}

static inline int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller). -1 if not. */
static inline long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

static inline char *utf8_put(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes the rest of a string that holds escapes into the scratch buffer.
 * `start` is the first content byte, `p` the first backslash. On success
 * sets *out / *out_len and returns the position after the closing quote;
 * NULL when the string is not valid JSON (certainly: jansson fails too). A decoded string is never longer
 * than its source, so the scratch (max_line bytes) cannot overflow. */
static const char *scan_escaped(json_scanner *s, const char *start, const char *p, const char *end,
                                const char **out, size_t *out_len)
{
    char *o0 = s->scratch + s->used;
    char *o = o0;
    size_t run = (size_t)(p - start);
    memcpy(o, start, run);
    o += run;
    for (;;) {
        /* p is at a stop byte or end. */
        if (p >= end)
            break;
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *out = o0;
            *out_len = (size_t)(o - o0);
            s->used += *out_len;
            return p + 1;
        }
        if (c != '\\')
            break; /* a control character */
        if (end - p < 2)
            break;
        switch (p[1]) {
        case '"':
            *o++ = '"';
            p += 2;
            break;
        case '\\':
            *o++ = '\\';
            p += 2;
            break;
        case '/':
            *o++ = '/';
            p += 2;
            break;
        case 'b':
            *o++ = '\b';
            p += 2;
            break;
        case 'f':
            *o++ = '\f';
            p += 2;
            break;
        case 'n':
            *o++ = '\n';
            p += 2;
            break;
        case 'r':
            *o++ = '\r';
            p += 2;
            break;
        case 't':
            *o++ = '\t';
            p += 2;
            break;
        case 'u': {
            if (end - p < 6)
                goto invalid;
            long v = hex4(p + 2);
            if (v < 0)
                goto invalid;
            p += 6;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    goto invalid;
                long v2 = hex4(p + 2);
                if (v2 < 0xDC00 || v2 > 0xDFFF) /* also v2 < 0: not hex */
                    goto invalid;
                p += 6;
                v = ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
            } else if (v >= 0xDC00 && v <= 0xDFFF) {
                goto invalid;
            }
            o = utf8_put(o, (unsigned long)v);
            break;
        }
        default:
            goto invalid;
        }
        const char *q = string_stop(p, end);
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        p = q;
    }
invalid:
    return NULL;
}

/* A string starting after its opening quote. Returns the position after the
 * closing quote, or NULL when it is not valid JSON. */
static inline const char *scan_string(json_scanner *s, const char *p, const char *end,
                                      const char **out, size_t *out_len)
{
    const char *q = string_stop(p, end);
    if (q < end && *q == '"') {
        *out = p;
        *out_len = (size_t)(q - p);
        s->escaped = 0;
        return q + 1;
    }
    if (q < end && *q == '\\') {
        s->escaped = 1;
        return scan_escaped(s, p, q, end, out, out_len);
    }
    return NULL; /* end of line or a raw control character */
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A number starting at p (a '-' or a digit). Fills f->kind, text, len,
 * integer. Returns the position after it, or NULL when it is not a number
 * jansson accepts (bad syntax, an integer beyond int64, a real overflow). */
static const char *scan_number(json_scanner *s, const char *p, const char *end, js_field *f)
{
    const char *start = p;
    int neg = 0;
    uint64_t u = 0;
    size_t int_digits;
    int is_real = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end)
        goto invalid;
    const char *d0 = p;
    if (*p == '0') {
        p++;
        if (p < end && is_digit((unsigned char)*p))
            goto invalid; /* a leading zero */
    } else if (is_digit((unsigned char)*p)) {
        do {
            u = u * 10 + (uint64_t)(*p - '0'); /* wraps past 19 digits; not used then */
            p++;
        } while (p < end && is_digit((unsigned char)*p));
    } else {
        goto invalid;
    }
    int_digits = (size_t)(p - d0);
    /* The integer part's magnitude is below 10^mag_digits. */
    size_t mag_digits = (*d0 == '0') ? 0 : int_digits;
    long exp10 = 0;

    if (p < end && *p == '.') {
        is_real = 1;
        p++;
        if (p >= end || !is_digit((unsigned char)*p))
            goto invalid;
        do
            p++;
        while (p < end && is_digit((unsigned char)*p));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        is_real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= end || !is_digit((unsigned char)*p))
            goto invalid;
        do {
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (*p - '0');
            p++;
        } while (p < end && is_digit((unsigned char)*p));
        if (eneg)
            exp10 = -exp10;
    }

    f->text = start;
    f->len = (size_t)(p - start);
    if (!is_real) {
        /* jansson: strtoll, ERANGE is "too big integer". */
        if (int_digits > 19)
            goto invalid;
        if (neg) {
            if (u > (uint64_t)INT64_MAX + 1)
                goto invalid;
            f->integer = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        } else {
            if (u > (uint64_t)INT64_MAX)
                goto invalid;
            f->integer = (int64_t)u;
        }
        f->kind = JS_INTEGER;
        return p;
    }
    /* jansson: strtod; +-HUGE_VAL with ERANGE is "real number overflow",
     * an underflow is fine. |value| < 10^(mag_digits + exp10) <= 10^308 <
     * DBL_MAX cannot overflow; anything else is asked to strtod. */
    f->kind = JS_REAL;
    f->integer = 0;
    if ((long)mag_digits + exp10 > 308) {
        double d;
        if (f->len > s->max_line)
            goto invalid; /* cannot happen: the line is at most max_line */
        memcpy(s->numbuf, start, f->len);
        s->numbuf[f->len] = '\0';
        errno = 0;
        d = strtod_l(s->numbuf, NULL, s->c_locale);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
            goto invalid;
    }
    return p;
invalid:
    return NULL;
}

/* A hash of a key from its length and its first and last four bytes;
 * collisions only cost a comparison. */
static inline uint32_t key_hash(const char *k, size_t n)
{
    uint64_t h = (uint64_t)n * UINT64_C(0x9E3779B97F4A7C15);
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, k, 4);
        memcpy(&b, k + n - 4, 4);
        h ^= ((uint64_t)a << 32 | b) * UINT64_C(0xC2B2AE3D27D4EB4F);
    } else {
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)k[i]) * UINT64_C(0x100000001B3);
    }
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (uint32_t)(h >> 32);
}

/* Adds field `idx` to the key set; 0, or 1 when its key is already there. */
static inline int key_seen(json_scanner *s, size_t idx)
{
    const js_field *f = &s->fields[idx];
    uint32_t i = key_hash(f->key, f->key_len) & (DUP_SLOTS - 1);
    while (s->slot_gen[i] == s->gen) {
        const js_field *o = &s->fields[s->slot_field[i]];
        if (o->key_len == f->key_len && memcmp(o->key, f->key, f->key_len) == 0)
            return 1;
        i = (i + 1) & (DUP_SLOTS - 1);
    }
    s->slot_gen[i] = s->gen;
    s->slot_field[i] = (uint8_t)idx;
    return 0;
}

js_result json_scan_line(json_scanner *s, const char *data, size_t len, const js_field **fields,
                         size_t *n_fields)
{
    const char *p = data, *end = data + len;
    size_t n = 0;

    if (len > s->max_line)
        return JS_UNUSUAL;
    s->used = 0;
    if (++s->gen == 0) { /* wrapped: forget every slot */
        memset(s->slot_gen, 0, sizeof s->slot_gen);
        s->gen = 1;
    }

    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return JS_UNUSUAL; /* not an object, or not JSON: jansson says which */
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        goto after_object;
    }
    for (;;) {
        js_field *f;
        if (p >= end || *p != '"')
            return JS_INVALID;
        if (n == JS_MAX_FIELDS)
            return JS_UNUSUAL;
        f = &s->fields[n];
        p = scan_string(s, p + 1, end, &f->key, &f->key_len);
        if (p == NULL)
            return JS_INVALID;
        /* jansson refuses a key holding U+0000 ("NUL byte in object key not
         * supported"); rare enough to leave to it. Only a key with escapes
         * can hold one (a raw NUL is a control character). */
        if (s->escaped && memchr(f->key, '\0', f->key_len) != NULL)
            return JS_UNUSUAL;
        if (p < end && *p == ':') {
            p++;
        } else {
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                return JS_INVALID;
            p++;
        }
        if (p < end && is_ws((unsigned char)*p))
            p = skip_ws(p, end);
        if (p >= end)
            return JS_INVALID;
        switch (*p) {
        case '"':
            f->kind = JS_STRING;
            f->integer = 0;
            p = scan_string(s, p + 1, end, &f->text, &f->len);
            break;
        case '-':
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
            p = scan_number(s, p, end, f);
            break;
        case 't':
            if (end - p < 4 || memcmp(p, "true", 4) != 0)
                return JS_INVALID;
            f->kind = JS_TRUE;
            f->text = p;
            f->len = 4;
            f->integer = 0;
            p += 4;
            break;
        case 'f':
            if (end - p < 5 || memcmp(p, "false", 5) != 0)
                return JS_INVALID;
            f->kind = JS_FALSE;
            f->text = p;
            f->len = 5;
            f->integer = 0;
            p += 5;
            break;
        case 'n':
            if (end - p < 4 || memcmp(p, "null", 4) != 0)
                return JS_INVALID;
            f->kind = JS_NULL;
            f->text = p;
            f->len = 4;
            f->integer = 0;
            p += 4;
            break;
        case '{':
        case '[':
            return JS_UNUSUAL;
        default:
            return JS_INVALID;
        }
        if (p == NULL)
            return JS_INVALID;
        /* jansson reads one character past a number or a literal and puts
         * it back; a NUL byte put back is lost (its stream buffer takes NUL
         * for "empty"), so one raw NUL right after such a value is skipped
         * and the line may still parse. Left to jansson. */
        if (f->kind != JS_STRING && p < end && *p == '\0')
            return JS_UNUSUAL;
        if (key_seen(s, n))
            return JS_UNUSUAL;
        n++;
        if (p < end && *p == ',') {
            p++;
        } else {
            p = skip_ws(p, end);
            if (p >= end)
                return JS_INVALID;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p != ',')
                return JS_INVALID;
            p++;
        }
        if (p < end && is_ws((unsigned char)*p))
            p = skip_ws(p, end);
    }
after_object:
    p = skip_ws(p, end);
    if (p != end)
        return JS_INVALID;
    *fields = s->fields;
    *n_fields = n;
    return JS_OK;
}
