/*
 * money.c - exact rational money with one rounding (see money.h).
 */
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void money_init(money_value *v)
{
    mpq_init(v->q);
}

void money_clear(money_value *v)
{
    mpq_clear(v->q);
}

void money_set_zero(money_value *v)
{
    mpq_set_ui(v->q, 0, 1);
}

void money_copy(money_value *dst, const money_value *src)
{
    mpq_set(dst->q, src->q);
}

/* 10^k as an mpz. */
static void pow10_z(mpz_t z, unsigned k)
{
    mpz_ui_pow_ui(z, 10, k);
}

void money_add_scaled(money_value *v, int64_t amount_minor, int minor, const mpq_t factor)
{
    mpq_t t;
    mpq_init(t);
    /* mpz_set_si takes a long, which is 64-bit on the platforms we build for. */
    mpz_set_si(mpq_numref(t), (long)amount_minor);
    pow10_z(mpq_denref(t), (unsigned)minor);
    mpq_canonicalize(t);
    mpq_mul(t, t, factor);
    mpq_add(v->q, v->q, t);
    mpq_clear(t);
}

void money_add(money_value *v, const money_value *w)
{
    mpq_add(v->q, v->q, w->q);
}

void money_sub(money_value *v, const money_value *w)
{
    mpq_sub(v->q, v->q, w->q);
}

int money_is_zero(const money_value *v)
{
    return mpq_sgn(v->q) == 0;
}

/* Rounds q * 10^decimals half away from zero to an integer and prints it with
 * a decimal point inserted. The single rounding point of the program. */
static void format_rational(const mpq_t q, int decimals, char *out, size_t outsz)
{
    mpz_t scaled, rem, p10, twice;
    char *digits;
    size_t len;
    int negative;

    mpz_inits(scaled, rem, p10, twice, NULL);
    pow10_z(p10, (unsigned)decimals);
    /* scaled = |num| * 10^d; divide by den with remainder. */
    mpz_abs(scaled, mpq_numref(q));
    mpz_mul(scaled, scaled, p10);
    mpz_tdiv_qr(scaled, rem, scaled, mpq_denref(q));
    /* Half away from zero on the magnitude: round up when 2*rem >= den. */
    mpz_mul_2exp(twice, rem, 1);
    if (mpz_cmp(twice, mpq_denref(q)) >= 0)
        mpz_add_ui(scaled, scaled, 1);
    negative = mpq_sgn(q) < 0 && mpz_sgn(scaled) != 0; /* never "-0" */

    digits = mpz_get_str(NULL, 10, scaled);
    len = digits ? strlen(digits) : 0;
    if (!digits || len + (size_t)decimals + 4 > outsz) {
        snprintf(out, outsz, "?");
    } else {
        char *w = out;
        size_t int_len;
        if (negative)
            *w++ = '-';
        if (len <= (size_t)decimals) {
            /* 0.00ddd */
            size_t zeros = (size_t)decimals - len;
            *w++ = '0';
            if (decimals > 0) {
                *w++ = '.';
                memset(w, '0', zeros);
                w += zeros;
                memcpy(w, digits, len);
                w += len;
            }
        } else {
            int_len = len - (size_t)decimals;
            memcpy(w, digits, int_len);
            w += int_len;
            if (decimals > 0) {
                *w++ = '.';
                memcpy(w, digits + int_len, (size_t)decimals);
                w += decimals;
            }
        }
        *w = '\0';
    }
    if (digits) {
        void (*free_fn)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &free_fn);
        free_fn(digits, len + 1);
    }
    mpz_clears(scaled, rem, p10, twice, NULL);
}

void money_format(const money_value *v, int decimals, char *out, size_t outsz)
{
    format_rational(v->q, decimals, out, outsz);
}

void money_format_ratio(const money_value *v, int64_t divisor, int decimals, char *out,
                        size_t outsz)
{
    mpq_t t;
    mpq_init(t);
    mpz_set_si(mpq_numref(t), (long)divisor);
    mpq_canonicalize(t);
    mpq_div(t, v->q, t);
    format_rational(t, decimals, out, outsz);
    mpq_clear(t);
}

void ratio_format(int64_t num, int64_t den, int decimals, char *out, size_t outsz)
{
    mpq_t t;
    mpq_init(t);
    mpz_set_si(mpq_numref(t), (long)num);
    mpz_set_si(mpq_denref(t), (long)den);
    mpq_canonicalize(t);
    format_rational(t, decimals, out, outsz);
    mpq_clear(t);
}

int decimal_text_to_mpq(const char *s, size_t n, mpq_t q)
{
    size_t i = 0;
    int negative = 0;
    long exp10 = 0;
    int any_digit = 0;
    mpz_t num, p;

    mpz_init_set_ui(num, 0);
    mpz_init(p);
    if (i < n && s[i] == '-') {
        negative = 1;
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        mpz_mul_ui(num, num, 10);
        mpz_add_ui(num, num, (unsigned long)(s[i] - '0'));
        any_digit = 1;
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            mpz_mul_ui(num, num, 10);
            mpz_add_ui(num, num, (unsigned long)(s[i] - '0'));
            exp10--;
            any_digit = 1;
        }
    }
    if (any_digit && i < n && (s[i] == 'e' || s[i] == 'E')) {
        long e = 0;
        int eneg = 0, edigit = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
            edigit = 1;
        }
        if (!edigit)
            any_digit = 0;
        exp10 += eneg ? -e : e;
    }
    if (!any_digit || i != n || exp10 > 1000 || exp10 < -1000) {
        mpz_clears(num, p, NULL);
        return -1;
    }
    if (negative)
        mpz_neg(num, num);
    if (exp10 >= 0) {
        mpz_ui_pow_ui(p, 10, (unsigned long)exp10);
        mpz_mul(num, num, p);
        mpz_set_ui(p, 1);
    } else {
        mpz_ui_pow_ui(p, 10, (unsigned long)-exp10);
    }
    mpz_set(mpq_numref(q), num);
    mpz_set(mpq_denref(q), p);
    mpq_canonicalize(q);
    mpz_clears(num, p, NULL);
    return 0;
}

void double_shortest_text(double d, char out[32])
{
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}
