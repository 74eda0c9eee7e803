/*
 * test_currency.c - ISO 4217 table, exact decimal and JSON-number amounts,
 * minor-unit formatting.
 */
#include <string.h>

#include "check.h"
#include "currency.h"

static int mu(const char *code)
{
    return currency_minor_units(code, strlen(code));
}

/* decimal_to_minor on a C string; INT64_MIN when rejected. */
static int64_t dec(const char *s, int minor)
{
    int64_t v = 0;
    if (decimal_to_minor(s, strlen(s), minor, &v) != 0)
        return INT64_MIN;
    return v;
}

static int64_t num(const char *s, int minor)
{
    int64_t v = 0;
    if (json_number_to_minor(s, strlen(s), minor, &v) != 0)
        return INT64_MIN;
    return v;
}

static const char *fmt(int64_t v, int minor)
{
    static char out[32];
    minor_format(v, minor, out);
    return out;
}

static void test_table(void)
{
    /* Every active code with its minor units: also proves the table is
     * sorted, since the lookup is a binary search. */
    static const struct {
        const char *code;
        int minor;
    } all[] = {
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
    int wrong = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (mu(all[i].code) != all[i].minor) {
            printf("  %s: %d, want %d\n", all[i].code, mu(all[i].code), all[i].minor);
            wrong++;
        }
    }
    CHECK_INT(wrong, 0);

    CHECK_INT(mu("USD"), 2);
    CHECK_INT(mu("JPY"), 0);
    CHECK_INT(mu("KRW"), 0);
    CHECK_INT(mu("TWD"), 2);
    CHECK_INT(mu("KWD"), 3);
    CHECK_INT(mu("CLF"), 4);
    CHECK_INT(mu("AED"), 2); /* first entry */
    CHECK_INT(mu("ZWG"), 2); /* last entry */

    /* Metals, units of account, testing codes: not currencies. */
    static const char *const not_money[] = {"XAU", "XAG", "XPT", "XPD", "XDR", "XAD", "XTS",
                                            "XXX", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"};
    int accepted = 0;
    for (size_t i = 0; i < sizeof not_money / sizeof not_money[0]; i++)
        if (mu(not_money[i]) >= 0)
            accepted++;
    CHECK_INT(accepted, 0);
    /* Historic. */
    CHECK_INT(mu("HRK"), -1);
    CHECK_INT(mu("ANG"), -1);
    CHECK_INT(mu("BGN"), -1);
    CHECK_INT(mu("CUC"), -1);
    CHECK_INT(mu("SLL"), -1);
    CHECK_INT(mu("ZWL"), -1);
    CHECK_INT(mu("DEM"), -1);
    CHECK_INT(mu("VEF"), -1);
    CHECK_INT(mu("MRO"), -1);
    /* Spelling. */
    CHECK_INT(mu("usd"), -1);
    CHECK_INT(mu("Usd"), -1);
    CHECK_INT(mu("US$"), -1);
    CHECK_INT(mu("12"), -1);
    CHECK_INT(mu("DOLLAR"), -1);
    CHECK_INT(mu("USDX"), -1);
    CHECK_INT(mu(""), -1);
    CHECK_INT(mu("AAA"), -1);
    CHECK_INT(mu("ZZZ"), -1);
    CHECK_INT(currency_minor_units("USD", 2), -1);
    CHECK_INT(currency_minor_units("USDX", 3), 2); /* only n bytes count */
    CHECK_INT(currency_minor_units("US\0", 3), -1);
    CHECK_INT(currency_minor_units(NULL, 3), -1);
}

static void test_decimal(void)
{
    CHECK_INT(dec("9.99", 2), 999);
    CHECK_INT(dec("1.50", 2), 150);
    CHECK_INT(dec("1.5", 2), 150);
    CHECK_INT(dec("120", 2), 12000);
    CHECK_INT(dec("0.01", 2), 1);
    CHECK_INT(dec("0", 2), 0);
    CHECK_INT(dec("0.00", 2), 0);
    CHECK_INT(dec("007.50", 2), 750);
    CHECK_INT(dec("100.0", 0), 100);
    CHECK_INT(dec("100.000000", 0), 100);
    CHECK_INT(dec("1220", 0), 1220);
    CHECK_INT(dec("1.5", 0), INT64_MIN);
    CHECK_INT(dec("1220.5", 0), INT64_MIN);
    CHECK_INT(dec("4.999", 2), INT64_MIN);
    CHECK_INT(dec("4.990", 2), 499);
    CHECK_INT(dec("1.234", 3), 1234);
    CHECK_INT(dec("1.2345", 4), 12345);
    CHECK_INT(dec("1.23456", 4), INT64_MIN);
    /* Syntax. */
    CHECK_INT(dec("-4.99", 2), INT64_MIN);
    CHECK_INT(dec("+4.99", 2), INT64_MIN);
    CHECK_INT(dec("abc", 2), INT64_MIN);
    CHECK_INT(dec("", 2), INT64_MIN);
    CHECK_INT(dec(".5", 2), INT64_MIN);
    CHECK_INT(dec("5.", 2), INT64_MIN);
    CHECK_INT(dec("1e2", 2), INT64_MIN);
    CHECK_INT(dec(" 1", 2), INT64_MIN);
    CHECK_INT(dec("1 ", 2), INT64_MIN);
    CHECK_INT(dec("1,5", 2), INT64_MIN);
    CHECK_INT(dec("1.2.3", 2), INT64_MIN);
    CHECK_INT(dec("NaN", 2), INT64_MIN);
    /* Limits of int64. */
    CHECK_INT(dec("9223372036854775807", 0), INT64_MAX);
    CHECK_INT(dec("9223372036854775808", 0), INT64_MIN);
    CHECK_INT(dec("92233720368547758.07", 2), INT64_MAX);
    CHECK_INT(dec("92233720368547758.08", 2), INT64_MIN);
    CHECK_INT(dec("92233720368547759", 2), INT64_MIN);
    CHECK_INT(dec("0000000000000000000000000000001.00000000000000000000000", 2), 100);
    CHECK_INT(dec("99999999999999999999999999999", 0), INT64_MIN);
    /* Only n bytes are read. */
    int64_t v = 0;
    CHECK_INT(decimal_to_minor("12.34xyz", 5, 2, &v), 0);
    CHECK_INT(v, 1234);
    CHECK_INT(decimal_to_minor("1.5", 3, -1, &v), -1);
}

static void test_json_number(void)
{
    CHECK_INT(num("9.99", 2), 999);
    CHECK_INT(num("0", 2), 0);
    CHECK_INT(num("-0", 2), 0);
    CHECK_INT(num("120", 2), 12000);
    CHECK_INT(num("1.5", 0), INT64_MIN);
    CHECK_INT(num("100.0", 0), 100);
    CHECK_INT(num("-4.99", 2), -499);
    CHECK_INT(num("1e2", 0), 100);
    CHECK_INT(num("1E2", 0), 100);
    CHECK_INT(num("1e+02", 0), 100);
    CHECK_INT(num("1.5e1", 0), 15);
    CHECK_INT(num("1.25e1", 0), INT64_MIN);
    CHECK_INT(num("1.25e1", 1), 125);
    CHECK_INT(num("999e-2", 2), 999);
    CHECK_INT(num("999e-3", 2), INT64_MIN);
    CHECK_INT(num("9990e-3", 2), 999);
    CHECK_INT(num("1e-7", 2), INT64_MIN);
    CHECK_INT(num("0e-7", 2), 0);
    CHECK_INT(num("0.000e999999999999999999", 2), 0);
    CHECK_INT(num("1e18", 0), INT64_C(1000000000000000000));
    CHECK_INT(num("1e18", 1), INT64_MIN);
    CHECK_INT(num("1e19", 0), INT64_MIN);
    CHECK_INT(num("1e999999999999999999", 0), INT64_MIN);
    CHECK_INT(num("1e-999999999999999999", 0), INT64_MIN);
    CHECK_INT(num("9223372036854775807", 0), INT64_MAX);
    CHECK_INT(num("-9223372036854775807", 0), -INT64_MAX);
    CHECK_INT(num("9223372036854775808", 0), INT64_MIN);
    CHECK_INT(num("1.2345e3", 2), 123450);
    CHECK_INT(num("12345e-4", 4), 12345);
    /* JSON grammar. */
    CHECK_INT(num("01", 2), INT64_MIN);
    CHECK_INT(num("+1", 2), INT64_MIN);
    CHECK_INT(num(".5", 2), INT64_MIN);
    CHECK_INT(num("5.", 2), INT64_MIN);
    CHECK_INT(num("1e", 2), INT64_MIN);
    CHECK_INT(num("1e+", 2), INT64_MIN);
    CHECK_INT(num("-", 2), INT64_MIN);
    CHECK_INT(num("", 2), INT64_MIN);
    CHECK_INT(num("NaN", 2), INT64_MIN);
    CHECK_INT(num("Infinity", 2), INT64_MIN);
    CHECK_INT(num("0x10", 2), INT64_MIN);
    CHECK_INT(num("1 ", 2), INT64_MIN);
    CHECK_INT(num("\"1\"", 2), INT64_MIN);
}

static void test_format(void)
{
    CHECK_STR(fmt(1234, 2), "12.34");
    CHECK_STR(fmt(-5, 2), "-0.05");
    CHECK_STR(fmt(5, 2), "0.05");
    CHECK_STR(fmt(0, 2), "0.00");
    CHECK_STR(fmt(1500, 0), "1500");
    CHECK_STR(fmt(0, 0), "0");
    CHECK_STR(fmt(-1500, 0), "-1500");
    CHECK_STR(fmt(1234, 3), "1.234");
    CHECK_STR(fmt(12345, 4), "1.2345");
    CHECK_STR(fmt(100, 2), "1.00");
    CHECK_STR(fmt(INT64_MAX, 2), "92233720368547758.07");
    CHECK_STR(fmt(INT64_MIN, 2), "-92233720368547758.08");
    CHECK_STR(fmt(INT64_MIN, 0), "-9223372036854775808");
    /* Round trip through the parser. */
    int64_t v = 0;
    const char *s = fmt(987654321, 3);
    CHECK_INT(decimal_to_minor(s, strlen(s), 3, &v), 0);
    CHECK_INT(v, 987654321);
}

int main(void)
{
    test_table();
    test_decimal();
    test_json_number();
    test_format();
    return check_done("test_currency");
}
