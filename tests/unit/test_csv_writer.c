/* test_csv_writer.c - the export CSV dialect, byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "csv_writer.h"

/* One text field on its own row; returns the row without its "\n" in a
 * static buffer. */
static const char *text_field(const char *s)
{
    static char out[256];
    buf b;
    csv_writer w;
    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_text(&w, s);
    csv_end_row(&w);
    out[0] = '\0';
    if (csv_status(&w) == 0 && b.len > 0 && b.len < sizeof out) {
        memcpy(out, b.data, b.len - 1);
        out[b.len - 1] = '\0';
    }
    buf_free(&b);
    return out;
}

static void test_plain_row(void)
{
    buf b;
    csv_writer w;
    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_text(&w, "abc");
    csv_int(&w, 42);
    csv_int(&w, -7);
    csv_raw(&w, "1.50");
    csv_null(&w);
    csv_end_row(&w);
    CHECK_INT(csv_status(&w), 0);
    CHECK_STR(b.data, "abc,42,-7,1.50,\n");
    CHECK_INT(w.rows, 1);
    CHECK_INT(w.fields, 0);
    buf_free(&b);
}

static void test_quoting(void)
{
    CHECK_STR(text_field("a,b"), "\"a,b\"");
    CHECK_STR(text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    CHECK_STR(text_field("\""), "\"\"\"\"");
    CHECK_STR(text_field("line\nbreak"), "\"line\nbreak\"");
    CHECK_STR(text_field("cr\rhere"), "\"cr\rhere\"");
    CHECK_STR(text_field("crlf\r\n"), "\"crlf\r\n\"");
    CHECK_STR(text_field("tab\tinside"), "tab\tinside");
    CHECK_STR(text_field("plain text"), "plain text");
    CHECK_STR(text_field("semi;colon"), "semi;colon");
    CHECK_STR(text_field("\xe6\x97\xa5\xe6\x9c\xac"), "\xe6\x97\xa5\xe6\x9c\xac"); /* UTF-8 as is */
}

static void test_formula_prefix(void)
{
    CHECK_STR(text_field("=SUM(A1:A9)"), "'=SUM(A1:A9)");
    CHECK_STR(text_field("+1"), "'+1");
    CHECK_STR(text_field("-5"), "'-5");
    CHECK_STR(text_field("-"), "'-");
    CHECK_STR(text_field("@cmd"), "'@cmd");
    CHECK_STR(text_field("\tx"), "'\tx");
    CHECK_STR(text_field("\rx"), "\"'\rx\"");
    CHECK_STR(text_field("=a,b"), "\"'=a,b\"");
    CHECK_STR(text_field("a=b"), "a=b");
    CHECK_STR(text_field(" =x"), " =x");
    CHECK_STR(text_field("'already"), "'already");
    /* The product name from the contract: apostrophe inside the quotes. */
    CHECK_STR(text_field("+100 gems, \"bonus\""), "\"'+100 gems, \"\"bonus\"\"\"");
}

static void test_numeric_never_prefixed(void)
{
    buf b;
    csv_writer w;
    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_raw(&w, "-1.50");
    csv_raw(&w, "+3");
    csv_raw(&w, "=raw");
    csv_int(&w, -1);
    csv_int(&w, INT64_MIN);
    csv_int(&w, INT64_MAX);
    csv_int(&w, 0);
    csv_raw(&w, "1,5"); /* verbatim, but still quoted */
    csv_end_row(&w);
    CHECK_INT(csv_status(&w), 0);
    CHECK_STR(b.data, "-1.50,+3,=raw,-1,-9223372036854775808,9223372036854775807,0,\"1,5\"\n");
    buf_free(&b);
}

static void test_null_and_empty(void)
{
    buf b;
    csv_writer w;
    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_text(&w, "a");
    csv_text(&w, NULL);
    csv_text(&w, "");
    csv_text_n(&w, NULL, 5);
    csv_raw(&w, NULL);
    csv_null(&w);
    csv_text(&w, "b");
    csv_end_row(&w);
    csv_null(&w);
    csv_null(&w);
    csv_end_row(&w);
    CHECK_INT(csv_status(&w), 0);
    CHECK_STR(b.data, "a,,,,,,b\n,\n");
    CHECK_INT(w.rows, 2);
    buf_free(&b);
}

static void test_text_n(void)
{
    buf b;
    csv_writer w;
    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_text_n(&w, "=abc", 2);
    csv_text_n(&w, "a,b", 1);
    csv_text_n(&w, "a,b", 3);
    csv_text_n(&w, "x\"y", 3);
    csv_text_n(&w, "-", 0);
    csv_end_row(&w);
    CHECK_INT(csv_status(&w), 0);
    CHECK_STR(b.data, "'=a,a,\"a,b\",\"x\"\"y\",\n");
    buf_free(&b);
}

static void test_header_and_document(void)
{
    buf b;
    csv_writer w;
    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_header(&w, "date,game_id,product,revenue,dau");
    CHECK_INT(w.rows, 1);
    csv_text(&w, "2026-11-07");
    csv_text(&w, "reversal");
    csv_text(&w, "+100 gems, \"bonus\"");
    csv_raw(&w, "12.30");
    csv_int(&w, 1500);
    csv_end_row(&w);
    csv_text(&w, "2026-11-07");
    csv_text(&w, "reversal");
    csv_null(&w);
    csv_raw(&w, "-0.99");
    csv_int(&w, 0);
    csv_end_row(&w);
    CHECK_INT(csv_status(&w), 0);
    CHECK_INT(w.rows, 3);
    CHECK_STR(b.data, "date,game_id,product,revenue,dau\n"
                      "2026-11-07,reversal,\"'+100 gems, \"\"bonus\"\"\",12.30,1500\n"
                      "2026-11-07,reversal,,-0.99,0\n");
    CHECK_INT(b.len, strlen(b.data));
    buf_free(&b);

    buf_init(&b, 0);
    csv_init(&w, &b);
    csv_header(&w, "only");
    CHECK_STR(b.data, "only\n");
    buf_free(&b);
}

static void test_failure_is_sticky(void)
{
    buf b;
    csv_writer w;
    buf_init(&b, 8);
    csv_init(&w, &b);
    csv_text(&w, "abc");
    CHECK_INT(csv_status(&w), 0);
    csv_text(&w, "0123456789");
    CHECK_INT(csv_status(&w), -1);
    csv_text(&w, "x");
    csv_end_row(&w);
    CHECK_INT(csv_status(&w), -1);
    CHECK(b.len <= 8);
    CHECK_STR(b.data, "abc,"); /* nothing appended after the failure */
    buf_free(&b);
}

int main(void)
{
    test_plain_row();
    test_quoting();
    test_formula_prefix();
    test_numeric_never_prefixed();
    test_null_and_empty();
    test_text_n();
    test_header_and_document();
    test_failure_is_sticky();
    return check_done("test_csv_writer");
}
