/*
 * test_fetch.c - fetch_url, fetch_url_origin and url_template_expand.
 *
 * Against the real, local server of http_test_server.h: it answers per path
 * from the route table in main (a status and body, a hang, 500s before a
 * success, redirects, a body without Content-Length, ...) and logs every
 * request before answering, so once fetch_url returns the test knows exactly
 * which requests were made.
 */
#include "check.h"
#include "fetch.h"
#include "http_test_server.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[PATH_MAX];
static http_server srv;

/* Takes the requests made since the last call; returns how many. */
static int requests(void)
{
    return http_server_requests(&srv);
}

/* How many of the requests last taken start with prefix. */
static int logged(const char *prefix)
{
    return http_server_logged(&srv, prefix);
}

/* An error message names scheme and host, never path, query or token. */
static int clean_msg(const char *msg)
{
    return strstr(msg, "SECRET") == NULL && strstr(msg, "/p/") == NULL &&
           strstr(msg, "?") == NULL && strstr(msg, "s3cret") == NULL;
}

static int url(char *out, size_t n, const char *path)
{
    return snprintf(out, n, "%s%s", srv.origin, path);
}

/* What the last get() got (test_http_*). */
static struct {
    buf body;
    long status;
    ms_error err;
} last;

/* fetch_url of <origin><path> into last; returns what fetch_url returned.
 * last.status is reset first, so a check of it sees what fetch_url set. */
static int get(const char *path, const fetch_options *o)
{
    char u[256];
    url(u, sizeof u, path);
    last.status = -1;
    return fetch_url(u, o, &last.body, &last.status, &last.err);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_template(void)
{
    buf b;
    ms_error err;
    buf_init(&b, 0);
    CHECK_INT(url_template_expand("https://fx.example/{date}.json", "2026-11-03", &b, &err), 0);
    CHECK_STR(b.data, "https://fx.example/2026-11-03.json");
    CHECK_INT(url_template_expand("file:///s/{month}/{date}-{date}.csv?m={month}", "2026-01-31",
                                  &b, &err),
              0);
    CHECK_STR(b.data, "file:///s/202601/2026-01-31-2026-01-31.csv?m=202601");
    /* Other braces are copied as they are. */
    CHECK_INT(url_template_expand("http://h/{x}/{dat}/{date}{", "2024-02-29", &b, &err), 0);
    CHECK_STR(b.data, "http://h/{x}/{dat}/2024-02-29{");
    CHECK_INT(url_template_expand("http://h/{month}", "1999-12-01", &b, &err), 0);
    CHECK_STR(b.data, "http://h/199912");
    /* Neither placeholder. */
    CHECK_INT(url_template_expand("http://h/fixed.json?key=SECRET", "2026-11-03", &b, &err), -1);
    CHECK(strstr(err.msg, "{date}") != NULL && clean_msg(err.msg));
    /* Not a date. */
    CHECK_INT(url_template_expand("http://h/{date}", "2026-02-30", &b, &err), -1);
    CHECK_INT(url_template_expand("http://h/{date}", "2026-1-3", &b, &err), -1);
    CHECK_INT(url_template_expand("http://h/{date}", "", &b, &err), -1);
    CHECK_INT(url_template_expand("http://h/{date}", NULL, &b, &err), -1);
    CHECK_INT(url_template_expand(NULL, "2026-11-03", &b, &err), -1);
    /* The output is capped by the buffer's limit. */
    buf_free(&b);
    buf_init(&b, 8);
    CHECK_INT(url_template_expand("http://host/{date}", "2026-11-03", &b, &err), -1);
    buf_free(&b);
}

static void test_origin(void)
{
    char o[128];
    ms_error err;
    CHECK_INT(fetch_url_origin("https://u:PWSECRET@fx.example.com/p/SECRET?k=SECRET", o, sizeof o,
                               &err),
              0);
    CHECK_STR(o, "https://fx.example.com");
    CHECK_INT(fetch_url_origin("http://127.0.0.1:8080/p/x.json", o, sizeof o, &err), 0);
    CHECK_STR(o, "http://127.0.0.1:8080");
    CHECK_INT(fetch_url_origin("HTTP://Example.COM/x", o, sizeof o, &err), 0);
    CHECK(strncmp(o, "http://", 7) == 0);
    CHECK_INT(fetch_url_origin("file:///var/p/SECRET.json", o, sizeof o, &err), 0);
    CHECK_STR(o, "file://");
    CHECK_INT(fetch_url_origin("ftp://h/p/SECRET", o, sizeof o, &err), -1);
    CHECK(strstr(err.msg, "ftp") != NULL && clean_msg(err.msg));
    CHECK_INT(fetch_url_origin("fx.example.com/p/SECRET", o, sizeof o, &err), -1);
    CHECK(clean_msg(err.msg));
    CHECK_INT(fetch_url_origin("http://[bad/p/SECRET", o, sizeof o, &err), -1);
    CHECK(clean_msg(err.msg));
    CHECK_INT(fetch_url_origin("", o, sizeof o, &err), -1);
    CHECK_INT(fetch_url_origin(NULL, o, sizeof o, &err), -1);
}

static void test_http_ok(void)
{
    char u[256];
    fetch_options o = quick_fetch_options(3);

    CHECK_INT(get("/p/ok?token=SECRET", &o), 0);
    CHECK_INT(last.status, 200);
    CHECK_STR(last.body.data, "{\"hello\": 1}\n");
    CHECK_INT(last.body.len, 13);
    CHECK_INT(requests(), 1);
    CHECK_INT(logged("/p/ok?token=SECRET -\n"), 1);

    /* NULL options (the defaults) and NULL status work; old content is replaced. */
    url(u, sizeof u, "/p/ok?token=SECRET");
    CHECK_INT(fetch_url(u, NULL, &last.body, NULL, &last.err), 0);
    CHECK_STR(last.body.data, "{\"hello\": 1}\n");

    /* An empty body is a valid empty C string, in a fresh buffer too. */
    CHECK_INT(get("/p/empty", &o), 0);
    CHECK_INT(last.status, 200);
    CHECK_INT(last.body.len, 0);
    CHECK(last.body.data != NULL && last.body.data[0] == '\0');
    {
        buf fresh;
        buf_init(&fresh, 0);
        url(u, sizeof u, "/p/empty");
        CHECK_INT(fetch_url(u, &o, &fresh, &last.status, &last.err), 0);
        CHECK(fresh.data != NULL && fresh.len == 0 && fresh.data[0] == '\0');
        buf_free(&fresh);
    }

    /* 204 is 2xx too. */
    CHECK_INT(get("/p/nocontent", &o), 0);
    CHECK_INT(last.status, 204);

    /* A body without Content-Length (ends at close). */
    CHECK_INT(get("/p/stream", &o), 0);
    CHECK_STR(last.body.data, "streamed body\n");
    CHECK_INT(requests(), 5); /* since the first check: the five calls above */
}

static void test_http_not_found(void)
{
    fetch_options o = quick_fetch_options(3);

    buf_puts(&last.body, "old");
    CHECK_INT(get("/p/missing?k=SECRET", &o), 1);
    CHECK_INT(last.status, 404);
    CHECK_INT(last.body.len, 0);
    CHECK_INT(get("/p/gone", &o), 1);
    CHECK_INT(last.status, 410);
    /* Not found is final: no retry. */
    CHECK_INT(requests(), 2);
}

static void test_http_errors(void)
{
    fetch_options o = quick_fetch_options(3);

    /* 500 every time: 1 + 3 attempts, then the status and host, nothing else. */
    CHECK_INT(get("/p/error?token=SECRET", &o), -1);
    CHECK_INT(last.status, 500);
    CHECK_STR_ORIGIN(last.err.msg, "HTTP 500 from %s (4 attempts)", &srv);
    CHECK(clean_msg(last.err.msg));
    CHECK_INT(last.body.len, 0);
    CHECK_INT(requests(), 4);
    CHECK_INT(logged("/p/error?token=SECRET "), 4);

    /* A 500 with a body bigger than max_bytes is still "HTTP 500". */
    o.max_bytes = 100;
    o.retries = 0;
    CHECK_INT(get("/p/error-big", &o), -1);
    CHECK_STR_ORIGIN(last.err.msg, "HTTP 500 from %s", &srv);
    CHECK_INT(requests(), 1);
    o = quick_fetch_options(3);

    /* 4xx other than 404/410: an error at once, no retry. */
    CHECK_INT(get("/p/forbidden", &o), -1);
    CHECK_INT(last.status, 403);
    CHECK_STR_ORIGIN(last.err.msg, "HTTP 403 from %s", &srv);
    CHECK_INT(requests(), 1);

    /* 500 then 200: retried, success. */
    CHECK_INT(get("/p/flaky", &o), 0);
    CHECK_INT(last.status, 200);
    CHECK_STR(last.body.data, "finally\n");
    requests();
    CHECK_INT(logged("/p/flaky "), 2);

    /* 429 twice then 200. */
    CHECK_INT(get("/p/busy", &o), 0);
    CHECK_STR(last.body.data, "ok now\n");
    requests();
    CHECK_INT(logged("/p/busy "), 3);

    /* 503 then 200 with retries = 0: the first answer is final. */
    o.retries = 0;
    CHECK_INT(get("/p/flaky2", &o), -1);
    CHECK_INT(last.status, 503);
    CHECK_STR_ORIGIN(last.err.msg, "HTTP 503 from %s", &srv);
    CHECK_INT(requests(), 1);

    /* The back-off waits: 2 retries of 100 then 200 ms. */
    {
        struct timespec t0;
        double el;
        o.retries = 2;
        o.retry_delay_ms = 100;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_INT(get("/p/error", &o), -1);
        el = seconds_since(&t0);
        CHECK(el >= 0.29 && el < 5);
        CHECK_INT(requests(), 3);
    }
}

static void test_http_timeout(void)
{
    fetch_options o = quick_fetch_options(0);
    struct timespec t0;
    double el;

    o.timeout_s = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(get("/p/hang?token=SECRET", &o), -1);
    el = seconds_since(&t0);
    CHECK_INT(last.status, 0);
    CHECK_STR_ORIGIN(last.err.msg, "timeout after 1s fetching from %s", &srv);
    CHECK(clean_msg(last.err.msg));
    CHECK(el >= 0.9 && el < 5);
    CHECK_INT(requests(), 1);

    /* A timeout is transient: retried. */
    o.retries = 1;
    CHECK_INT(get("/p/hang?token=SECRET", &o), -1);
    CHECK_STR_ORIGIN(last.err.msg, "timeout after 1s fetching from %s (2 attempts)", &srv);
    requests();
    CHECK_INT(logged("/p/hang?token=SECRET "), 2);
}

static void test_http_size(void)
{
    char u[256];
    buf small;
    fetch_options o = quick_fetch_options(3);

    /* Within the default limit. */
    CHECK_INT(get("/p/big", &o), 0);
    CHECK_INT(last.body.len, 5000);
    /* Above max_bytes: an error, not retried, with or without Content-Length. */
    o.max_bytes = 1000;
    CHECK_INT(get("/p/big", &o), -1);
    CHECK_STR_ORIGIN(last.err.msg, "the document from %s is larger than 1000 bytes", &srv);
    CHECK_INT(last.body.len, 0);
    CHECK_INT(get("/p/big-stream", &o), -1);
    CHECK_STR_ORIGIN(last.err.msg, "the document from %s is larger than 1000 bytes", &srv);
    o.max_bytes = 5000; /* exactly the size: fine */
    CHECK_INT(get("/p/big", &o), 0);
    CHECK_INT(last.body.len, 5000);
    /* The output buffer's own cap counts too. */
    o = quick_fetch_options(3);
    buf_init(&small, 100);
    url(u, sizeof u, "/p/big");
    CHECK_INT(fetch_url(u, &o, &small, &last.status, &last.err), -1);
    CHECK(strstr(last.err.msg, "larger than 100 bytes") != NULL);
    CHECK_INT(requests(), 5);
    buf_free(&small);
}

static void test_http_redirects(void)
{
    fetch_options o = quick_fetch_options(3);

    CHECK_INT(get("/p/redirect?token=SECRET", &o), 0);
    CHECK_INT(last.status, 200);
    CHECK_STR(last.body.data, "{\"hello\": 1}\n");
    CHECK_INT(requests(), 2);

    /* A loop: at most 5 redirects are followed. */
    CHECK_INT(get("/p/loop?token=SECRET", &o), -1);
    CHECK_STR_ORIGIN(last.err.msg, "more than 5 redirects from %s", &srv);
    CHECK_INT(requests(), 6);

    /* Never from http to a local file. */
    CHECK_INT(get("/p/to-file", &o), -1);
    CHECK(strstr(last.err.msg, "not http or https") != NULL && clean_msg(last.err.msg));
    CHECK_INT(last.body.len, 0);
    CHECK_INT(requests(), 1);
}

static void test_http_auth(void)
{
    fetch_options o = quick_fetch_options(3);

    o.bearer_token = "s3cret-token";
    CHECK_INT(get("/p/auth", &o), 0);
    CHECK_STR(last.body.data, "authorized\n");
    requests();
    CHECK_INT(logged("/p/auth Bearer s3cret-token\n"), 1);

    o.bearer_token = "wrong";
    CHECK_INT(get("/p/auth", &o), -1);
    CHECK_INT(last.status, 401);
    CHECK_STR_ORIGIN(last.err.msg, "HTTP 401 from %s", &srv);
    /* No token: no header. */
    o.bearer_token = NULL;
    CHECK_INT(get("/p/auth", &o), -1);
    requests();
    CHECK_INT(logged("/p/auth -\n"), 1);

    /* A token that would inject a header is refused before any request. */
    o.bearer_token = "s3cret\r\nX-Evil: 1";
    CHECK_INT(get("/p/auth", &o), -1);
    CHECK(strstr(last.err.msg, "control characters") != NULL && clean_msg(last.err.msg));
    CHECK_INT(requests(), 0);
}

static void test_refused(void)
{
    char u[256], want[128];
    buf b;
    long status = -1;
    ms_error err;
    fetch_options o = quick_fetch_options(2);
    int fd, port = http_refusing_port(&fd);

    buf_init(&b, 0);
    snprintf(u, sizeof u, "http://127.0.0.1:%d/p/x?token=SECRET", port);
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_INT(status, 0);
    snprintf(want, sizeof want, "connection refused by http://127.0.0.1:%d (3 attempts)", port);
    CHECK_STR(err.msg, want);
    close(fd);
    buf_free(&b);
}

static void test_bad_urls(void)
{
    buf b;
    ms_error err;
    long status = -1;
    buf_init(&b, 0);
    CHECK_INT(fetch_url("ftp://127.0.0.1/p/SECRET", NULL, &b, &status, &err), -1);
    CHECK(strstr(err.msg, "only http, https and file") != NULL && clean_msg(err.msg));
    CHECK_INT(status, 0);
    CHECK_INT(fetch_url("gopher://127.0.0.1/p/SECRET", NULL, &b, &status, &err), -1);
    CHECK(clean_msg(err.msg));
    CHECK_INT(fetch_url("127.0.0.1/p/SECRET", NULL, &b, &status, &err), -1);
    CHECK(clean_msg(err.msg));
    CHECK_INT(fetch_url("", NULL, &b, &status, &err), -1);
    CHECK_INT(fetch_url(NULL, NULL, &b, &status, &err), -1);
    CHECK_INT(fetch_url("http://127.0.0.1:1/", NULL, NULL, &status, &err), -1);
    buf_free(&b);
}

static void test_file(void)
{
    char path[PATH_MAX + 64], u[PATH_MAX + 128];
    buf b;
    long status = -1;
    ms_error err;
    fetch_options o = quick_fetch_options(3);
    FILE *f;
    size_t i;

    buf_init(&b, 0);
    snprintf(path, sizeof path, "%s/2026-11-03.json", tmpdir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("{\"base\": \"USD\"}\n", f);
    fclose(f);
    snprintf(u, sizeof u, "file://%s", path);
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(status, 200);
    CHECK_STR(b.data, "{\"base\": \"USD\"}\n");

    /* A missing file is "not found". */
    snprintf(u, sizeof u, "file://%s/2026-11-04.json", tmpdir);
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 1);
    CHECK_INT(b.len, 0);
    snprintf(u, sizeof u, "file://%s/no-such-dir/x.json", tmpdir);
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 1);

    /* A file that exists but cannot be read is an error, not "not found"
     * (root reads everything, so this is checked for other users only). */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/2026-11-03.json", tmpdir);
        snprintf(u, sizeof u, "file://%s", path);
        CHECK_INT(chmod(path, 0), 0);
        CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
        CHECK_STR(err.msg, "cannot read the document from file:// (Permission denied)");
        CHECK_INT(chmod(path, 0600), 0);
    }

    /* An empty file. */
    snprintf(path, sizeof path, "%s/empty.json", tmpdir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(u, sizeof u, "file://%s", path);
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(b.len, 0);
    CHECK(b.data != NULL && b.data[0] == '\0');

    /* Too big. */
    snprintf(path, sizeof path, "%s/big.json", tmpdir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    for (i = 0; i < 3000; i++)
        fputc('x', f);
    fclose(f);
    snprintf(u, sizeof u, "file://%s", path);
    o.max_bytes = 2999;
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_STR(err.msg, "the document from file:// is larger than 2999 bytes");
    CHECK(strstr(err.msg, tmpdir) == NULL);
    o.max_bytes = 3000;
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(b.len, 3000);
    buf_free(&b);
}

int main(void)
{
    static char big[5000];
    static char loc_file[] = "file:///etc/hostname";
    ms_error err;
    int rc;
    http_route routes[] = {
        {"/p/ok", 200, "{\"hello\": 1}\n", 0, 0, 0, 0, NULL, NULL},
        {"/p/empty", 200, "", 0, 0, 0, 0, NULL, NULL},
        {"/p/nocontent", 204, NULL, 0, 0, 0, 0, NULL, NULL},
        {"/p/stream", 200, "streamed body\n", 0, 0, 0, 1, NULL, NULL},
        {"/p/gone", 410, "gone\n", 0, 0, 0, 0, NULL, NULL},
        {"/p/error", 500, "boom\n", 0, 0, 0, 0, NULL, NULL},
        {"/p/error-big", 500, big, sizeof big, 0, 0, 0, NULL, NULL},
        {"/p/forbidden", 403, "no\n", 0, 0, 0, 0, NULL, NULL},
        {"/p/flaky", 200, "finally\n", 0, 1, 500, 0, NULL, NULL},
        {"/p/busy", 200, "ok now\n", 0, 2, 429, 0, NULL, NULL},
        {"/p/flaky2", 200, "too late\n", 0, 1, 503, 0, NULL, NULL},
        {"/p/hang", 0, NULL, 0, 0, 0, 0, NULL, NULL},
        {"/p/big", 200, big, sizeof big, 0, 0, 0, NULL, NULL},
        {"/p/big-stream", 200, big, sizeof big, 0, 0, 1, NULL, NULL},
        {"/p/redirect", 302, "", 0, 0, 0, 0, "/p/ok", NULL},
        {"/p/loop", 302, "", 0, 0, 0, 0, "/p/loop?token=SECRET", NULL},
        {"/p/to-file", 302, "", 0, 0, 0, 0, loc_file, NULL},
        {"/p/auth", 200, "authorized\n", 0, 0, 0, 0, NULL, "Bearer s3cret-token"},
    };

    http_test_no_proxy();
    memset(big, 'b', sizeof big);
    if (scratch_dir_make(tmpdir, sizeof tmpdir, "test-fetch") != 0) {
        perror("scratch_dir_make");
        return 1;
    }
    CHECK_INT(fetch_global_init(&err), 0);
    CHECK_INT(fetch_global_init(&err), 0); /* once */
    if (http_server_start(&srv, routes, MS_ARRAY_LEN(routes), NULL) != 0) {
        perror("http_server_start");
        return 1;
    }

    test_template();
    test_origin();
    buf_init(&last.body, 0);
    test_http_ok();
    test_http_not_found();
    test_http_errors();
    test_http_timeout();
    test_http_size();
    test_http_redirects();
    test_http_auth();
    buf_free(&last.body);
    test_refused();
    test_bad_urls();
    test_file();

    CHECK_INT(requests(), 0); /* every request was accounted for above */
    CHECK_INT(http_server_stop(&srv), 0);
    scratch_dir_remove(tmpdir);
    rc = check_done("test_fetch");
    return rc;
}
