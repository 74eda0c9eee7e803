/*
 * json_scan.h - a strict scanner for one line that holds a flat JSON object,
 * the fast path of the event parser (event_parser.c).
 *
 * The accepted language is a subset of what jansson (json_loadb with
 * JSON_DECODE_ANY | JSON_ALLOW_NUL) accepts, with jansson's values:
 *
 *   line   = ws "{" ws [ member *( ws "," ws member ) ] ws "}" ws
 *   member = string ws ":" ws value
 *   value  = string / number / "true" / "false" / "null"
 *   ws     = *( " " / "\t" / "\n" / "\r" )
 *
 * Strings: any byte >= 0x20 except '"' and '\' stands for itself (the caller
 * has validated the line as UTF-8 before); escapes \" \\ \/ \b \f \n \r \t
 * and \uXXXX (a surrogate pair gives one 4-byte character; a lone surrogate is
 * an error) are decoded; \u0000 is allowed in values (JSON_ALLOW_NUL).
 * Numbers: RFC 8259 grammar; a number with '.', 'e' or 'E' is a real
 * (an error when it overflows a double, not when it underflows), any other is
 * an integer (an error when it does not fit int64), as in jansson.
 *
 * Results:
 *  - JS_OK: the line is such an object; *fields / *n_fields describe its
 *    members in order, keys all distinct.
 *  - JS_UNUSUAL: the scanner does not decide; the caller must use the
 *    reference parser (jansson). Returned for: a line that does not start
 *    (after whitespace) with '{' (another JSON value or not JSON at all), a
 *    nested object or array as a member value, a repeated key, more than
 *    JS_MAX_FIELDS members, a key holding U+0000, a raw NUL byte right after
 *    a number or literal (jansson skips one there: a quirk of its one-byte
 *    push-back), a line longer than the scanner's capacity.
 *  - JS_INVALID: certainly not JSON as jansson reads it (it would fail too):
 *    a grammar error in the object seen before anything unusual, an integer
 *    beyond int64, a real that overflows a double, a bad escape or lone
 *    surrogate, a raw control character (< 0x20) inside a string.
 *
 * Memory: all buffers are owned by the scanner and allocated once by
 * json_scanner_new; scanning a line allocates nothing. The texts a js_field
 * points to are either inside the scanned line (strings without escapes,
 * number and literal texts) or in the scanner's scratch buffer (strings with
 * escapes, decoded); both stay valid until the next json_scan_line call on
 * the same scanner and as long as the line's bytes do. Not thread-safe: one
 * scanner per thread.
 */
#ifndef MOONSTAT_JSON_SCAN_H
#define MOONSTAT_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define JS_MAX_FIELDS 64

typedef enum js_result { JS_OK, JS_UNUSUAL, JS_INVALID } js_result;

typedef enum js_kind { JS_STRING, JS_INTEGER, JS_REAL, JS_TRUE, JS_FALSE, JS_NULL } js_kind;

typedef struct js_field {
    const char *key;   /* decoded, never holds NUL; not NUL-terminated */
    size_t key_len;
    const char *text;  /* JS_STRING: decoded content (may hold NUL bytes);
                          numbers: the raw text; literals: the raw text */
    size_t len;
    js_kind kind;
    int64_t integer;   /* JS_INTEGER: the value */
} js_field;

typedef struct json_scanner json_scanner;

/* A scanner for lines of at most max_line bytes (longer ones are
 * JS_UNUSUAL). NULL on allocation failure. */
json_scanner *json_scanner_new(size_t max_line);
void json_scanner_free(json_scanner *s);

/* Scans data[0..len) (no NUL needed, nothing read beyond len). On JS_OK sets
 * *fields (owned by the scanner) and *n_fields. */
js_result json_scan_line(json_scanner *s, const char *data, size_t len, const js_field **fields,
                         size_t *n_fields);

/* The double a JSON real's text stands for (its raw text, as in js_field of
 * kind JS_REAL), as jansson computes it: strtod in the "C" locale. Returns 0,
 * or -1 when the text is longer than the scanner's capacity. */
int json_scan_real(json_scanner *s, const char *text, size_t len, double *out);

#endif
