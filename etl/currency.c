/*
 * currency.c - the ISO 4217 table and exact decimal amounts (integers only).
 */
#include "currency.h"

#include <string.h>

#include "common.h"

typedef struct currency_def {
    char code[4];
    signed char minor;
} currency_def;

/*
 * ISO 4217 List One (A.1) as published for 2026-01-01, sorted by code, less
 * the entries that are not money a player can pay with: precious metals
 * (XAU XAG XPT XPD), units of account and bond-market units (XDR XAD XSU XUA
 * XBA XBB XBC XBD) and the testing / "no currency" codes (XTS XXX). The
 * national fund codes of List One (BOV CHE CHW CLF COU MXV USN UYI UYW) stay.
 * Historic codes are absent: ANG (replaced by XCG), BGN (euro since
 * 2026-01-01), CUC, HRK, SLL, ZWL (replaced by ZWG), and the older ones.
 */
static const currency_def currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2},
    {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2},
    {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2},
    {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
    {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2},
    {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2},
    {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
    {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3},
    {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2},
    {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2},
    {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2},
    {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
    {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2},
    {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0},
    {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0},
    {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2},
    {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

int currency_minor_units(const char *code, size_t n)
{
    if (code == NULL || n != 3)
        return -1;
    for (size_t i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return -1;
    size_t lo = 0, hi = MS_ARRAY_LEN(currencies);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(code, currencies[mid].code, 3);
        if (c == 0)
            return currencies[mid].minor;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/*
 * The common core: the decimal digits int_p[0..int_n) frac_p[0..frac_n) form
 * an integer D; the value is D * 10^scale with scale = exp10 - frac_n. The
 * result is value * 10^minor, which must be an integer that fits int64.
 * Exponents arrive clamped (see parse_exp) so that nothing here overflows.
 */
static int digits_to_minor(const char *int_p, size_t int_n, const char *frac_p, size_t frac_n,
                           int64_t exp10, int minor, int negative, int64_t *out)
{
    size_t total = int_n + frac_n;
    int64_t scale = exp10 - (int64_t)frac_n + minor;
    /* digit(k) for k in [0, total) */
#define DIGIT(k) ((k) < int_n ? int_p[(k)] : frac_p[(k) - int_n])
    size_t keep = total;
    if (scale < 0) {
        /* The last -scale digits must all be zero. */
        uint64_t drop = (uint64_t)(-scale);
        if (drop >= total) {
            for (size_t k = 0; k < total; k++)
                if (DIGIT(k) != '0')
                    return -1;
            *out = 0;
            return 0;
        }
        keep = total - (size_t)drop;
        for (size_t k = keep; k < total; k++)
            if (DIGIT(k) != '0')
                return -1;
        scale = 0;
    }
    uint64_t v = 0;
    const uint64_t limit = (uint64_t)INT64_MAX;
    for (size_t k = 0; k < keep; k++) {
        unsigned dg = (unsigned)(DIGIT(k) - '0');
        if (v > (limit - dg) / 10)
            return -1;
        v = v * 10 + dg;
    }
#undef DIGIT
    if (v != 0) {
        for (int64_t s = 0; s < scale; s++) {
            if (v > limit / 10)
                return -1;
            v *= 10;
        }
    }
    *out = negative ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int decimal_to_minor(const char *s, size_t n, int minor, int64_t *out)
{
    size_t i = 0, int_n, frac_n = 0;
    const char *frac_p = NULL;
    if (s == NULL || minor < 0)
        return -1;
    while (i < n && is_digit(s[i]))
        i++;
    int_n = i;
    if (int_n == 0)
        return -1;
    if (i < n && s[i] == '.') {
        frac_p = s + ++i;
        while (i < n && is_digit(s[i]))
            i++;
        frac_n = (size_t)(s + i - frac_p);
        if (frac_n == 0)
            return -1;
    }
    if (i != n)
        return -1;
    return digits_to_minor(s, int_n, frac_p, frac_n, 0, minor, 0, out);
}

/* Exponent digits; the value is clamped far beyond anything that could fit
 * int64, which keeps the arithmetic in range while staying exact: any
 * |exponent| over the clamp leaves either an overflow or a non-zero digit
 * that must be dropped, both failures, or a zero mantissa, which is 0. */
#define EXP_CLAMP INT64_C(1000000000)

int json_number_to_minor(const char *s, size_t n, int minor, int64_t *out)
{
    size_t i = 0, int_n, frac_n = 0;
    const char *int_p, *frac_p = NULL;
    int negative = 0;
    int64_t exp10 = 0;
    if (s == NULL || minor < 0)
        return -1;
    if (i < n && s[i] == '-') {
        negative = 1;
        i++;
    }
    int_p = s + i;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return -1;
    }
    int_n = (size_t)(s + i - int_p);
    if (i < n && s[i] == '.') {
        frac_p = s + ++i;
        while (i < n && is_digit(s[i]))
            i++;
        frac_n = (size_t)(s + i - frac_p);
        if (frac_n == 0)
            return -1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        size_t start;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        start = i;
        while (i < n && is_digit(s[i])) {
            if (exp10 < EXP_CLAMP)
                exp10 = exp10 * 10 + (s[i] - '0');
            i++;
        }
        if (i == start)
            return -1;
        if (eneg)
            exp10 = -exp10;
    }
    if (i != n)
        return -1;
    /* Mantissas longer than the clamp cannot occur in practice (lines are at
     * most 64 KiB), so exp10 - frac_n + minor stays far from int64 limits. */
    return digits_to_minor(int_p, int_n, frac_p, frac_n, exp10, minor, negative, out);
}

void minor_format(int64_t minor_amount, int minor, char out[32])
{
    char tmp[32];
    size_t len = 0, o = 0;
    uint64_t mag = minor_amount < 0 ? (uint64_t)0 - (uint64_t)minor_amount : (uint64_t)minor_amount;
    if (minor < 0)
        minor = 0;
    if (minor > 18)
        minor = 18;
    /* Digits in reverse, at least minor + 1 of them. */
    do {
        tmp[len++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    while (len < (size_t)minor + 1)
        tmp[len++] = '0';
    if (minor_amount < 0)
        out[o++] = '-';
    while (len > 0) {
        if (len == (size_t)minor && minor > 0)
            out[o++] = '.';
        out[o++] = tmp[--len];
    }
    out[o] = '\0';
}
