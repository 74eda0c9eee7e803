/*
 * test_alert.c - alert_body and alert_send against the real, local server of
 * http_test_server.h, started afresh by each test with the routes it needs.
 * The server logs every request and saves it whole (head and body) to
 * <tmpdir>/req<N> before answering, so once alert_send returns the test
 * knows exactly what was sent.
 */
#include "alert.h"
#include "check.h"
#include "http_test_server.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];

/* Reads <tmpdir>/<name> into a NUL-terminated heap string (caller frees). */
static char *slurp(const char *name, size_t *len_out)
{
    char path[PATH_MAX + 64];
    struct stat st;
    char *p = NULL;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (!(f = fopen(path, "rb")))
        return NULL;
    if (fstat(fileno(f), &st) == 0 && (p = malloc((size_t)st.st_size + 1)) != NULL) {
        if (fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
            free(p);
            p = NULL;
        } else {
            p[st.st_size] = '\0';
            if (len_out)
                *len_out = (size_t)st.st_size;
        }
    }
    fclose(f);
    return p;
}

/* An error message must not leak any part of the secret-bearing URL. */
static int leaks_url(const char *msg)
{
    return strstr(msg, "SECRET") != NULL || strstr(msg, "/hooks") != NULL ||
           strstr(msg, "http://") != NULL || strstr(msg, "sig=") != NULL;
}

static void test_body(void)
{
    buf b;
    json_t *doc;
    json_error_t jerr;

    buf_init(&b, 0);
    CHECK_INT(alert_body(&b, "db1", "run", 1, "ingest: disk full"), 0);
    CHECK_STR(b.data, "{\"text\":\"moonstat on db1: run failed with exit 1: ingest: disk full\","
                      "\"host\":\"db1\",\"command\":\"run\",\"exit_code\":1,"
                      "\"message\":\"ingest: disk full\"}");

    /* No message: the text ends after the exit code. */
    buf_reset(&b);
    CHECK_INT(alert_body(&b, "db1", "run", 3, NULL), 0);
    CHECK_STR(b.data, "{\"text\":\"moonstat on db1: run failed with exit 3\",\"host\":\"db1\","
                      "\"command\":\"run\",\"exit_code\":3,\"message\":\"\"}");

    /* Quotes, control characters and bytes that are not UTF-8 still give JSON. */
    buf_reset(&b);
    CHECK_INT(alert_body(&b, "h\xff", "run", 1, "a \"b\"\n\tc \xc3\xa9 \xc3( \xed\xa0\x80"), 0);
    doc = json_loads(b.data ? b.data : "", 0, &jerr);
    CHECK(doc != NULL);
    if (doc) {
        CHECK_STR(json_string_value(json_object_get(doc, "message")),
                  "a \"b\"\n\tc \xc3\xa9 \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        CHECK_STR(json_string_value(json_object_get(doc, "host")), "h\xef\xbf\xbd");
        CHECK_INT(json_integer_value(json_object_get(doc, "exit_code")), 1);
        json_decref(doc);
    }

    /* Missing arguments fail and leave the buffer alone. */
    buf_reset(&b);
    CHECK_INT(buf_puts(&b, "keep"), 0);
    CHECK_INT(alert_body(&b, NULL, "run", 1, "x"), -1);
    CHECK_INT(alert_body(&b, "db1", NULL, 1, "x"), -1);
    CHECK_STR(b.data, "keep");
    buf_free(&b);
}

static void test_send_ok(void)
{
    static const http_route routes[] = {
        {"/hooks/T0/B0/SECRETTOKEN", 200, "response-body\n", 0, 0, 0, 0, NULL, NULL},
    };
    const char *body = "{\"text\":\"moonstat on db1: run failed with exit 1: x\",\"exit_code\":1}";
    const char *expect_line = "POST /hooks/T0/B0/SECRETTOKEN?sig=QSECRET HTTP/1.1\r\n";
    char url[256], *req, *sep, *captured;
    char cap_path[PATH_MAX + 64];
    size_t req_len = 0, cap_len = 0;
    int saved_out, saved_err, cap, rc;
    http_server s;
    ms_error err;

    CHECK_INT(http_server_start(&s, routes, MS_ARRAY_LEN(routes), tmpdir), 0);
    snprintf(url, sizeof url, "%s/hooks/T0/B0/SECRETTOKEN?sig=QSECRET", s.origin);

    /* Nothing may reach stdout or stderr (libcurl's default writes the
     * response body to stdout). */
    snprintf(cap_path, sizeof cap_path, "%s/captured", tmpdir);
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1);
    saved_err = dup(2);
    cap = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved_out >= 0 && saved_err >= 0 && cap >= 0);
    dup2(cap, 1);
    dup2(cap, 2);
    rc = alert_send(url, body, 5, &err);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(cap);
    CHECK_INT(rc, 0);
    if (rc != 0)
        printf("  alert_send: %s\n", err.msg);
    CHECK_INT(http_server_requests(&s), 1);
    CHECK_INT(http_server_stop(&s), 0);
    captured = slurp("captured", &cap_len);
    CHECK(captured != NULL && cap_len == 0);
    free(captured);

    req = slurp("req0", &req_len);
    CHECK(req != NULL);
    if (!req)
        return;
    CHECK(strncmp(req, expect_line, strlen(expect_line)) == 0);
    CHECK(strstr(req, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strcasestr(req, "\r\nExpect:") == NULL);
    sep = strstr(req, "\r\n\r\n");
    CHECK(sep != NULL);
    if (sep) {
        CHECK_STR(sep + 4, body);
        CHECK_INT(req_len - (size_t)(sep + 4 - req), strlen(body));
    }
    free(req);
}

static void test_send_http_error(void)
{
    static const http_route routes[] = {
        {"/hooks/SECRETTOKEN", 500, "response-body\n", 0, 0, 0, 0, NULL, NULL},
        {"/hooks/moved/SECRETTOKEN", 301, "response-body\n", 0, 0, 0, 0, "ftp://127.0.0.1/x",
         NULL},
    };
    char url[256];
    http_server s;
    ms_error err;

    CHECK_INT(http_server_start(&s, routes, MS_ARRAY_LEN(routes), NULL), 0);
    /* User info is a secret too. */
    snprintf(url, sizeof url, "http://bot:PWSECRET@127.0.0.1:%d/hooks/SECRETTOKEN?sig=QSECRET",
             s.port);
    CHECK_INT(alert_send(url, "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "500") != NULL);
    CHECK(strstr(err.msg, "webhook 127.0.0.1") != NULL);
    CHECK(!leaks_url(err.msg));
    CHECK_INT(http_server_requests(&s), 1); /* not retried */

    /* A redirect is not followed: one request, nothing else. */
    snprintf(url, sizeof url, "%s/hooks/moved/SECRETTOKEN", s.origin);
    CHECK_INT(alert_send(url, "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "301") != NULL);
    CHECK(!leaks_url(err.msg));
    CHECK_INT(http_server_requests(&s), 1);
    CHECK_INT(http_server_stop(&s), 0);
}

static void test_send_refused(void)
{
    char url[256];
    ms_error err;
    int fd, port = http_refusing_port(&fd);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/SECRETTOKEN?sig=QSECRET", port);
    CHECK_INT(alert_send(url, "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "webhook 127.0.0.1") != NULL);
    CHECK(!leaks_url(err.msg));
    close(fd);
}

static void test_send_timeout(void)
{
    /* Status 0: the server reads the request and never answers. */
    static const http_route routes[] = {
        {"/hooks/SECRETTOKEN", 0, NULL, 0, 0, 0, 0, NULL, NULL},
    };
    struct timespec t0;
    char url[256];
    http_server s;
    ms_error err;
    double elapsed;

    CHECK_INT(http_server_start(&s, routes, MS_ARRAY_LEN(routes), NULL), 0);
    snprintf(url, sizeof url, "%s/hooks/SECRETTOKEN?sig=QSECRET", s.origin);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(alert_send(url, "{}", 1, &err), -1);
    elapsed = seconds_since(&t0);
    CHECK(strstr(err.msg, "timeout") != NULL);
    CHECK(!leaks_url(err.msg));
    CHECK(elapsed >= 0.9 && elapsed < 10);
    CHECK_INT(http_server_requests(&s), 1);
    CHECK_INT(http_server_stop(&s), 0);
}

static void test_send_bad_args(void)
{
    ms_error err;
    CHECK_INT(alert_send("ftp://127.0.0.1/SECRETTOKEN", "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "http") != NULL && !leaks_url(err.msg));
    CHECK_INT(alert_send("file:///etc/SECRETTOKEN", "{}", 5, &err), -1);
    CHECK(!leaks_url(err.msg));
    CHECK_INT(alert_send("hooks.example.com/SECRETTOKEN", "{}", 5, &err), -1);
    CHECK(!leaks_url(err.msg));
    CHECK_INT(alert_send("http://[bad/SECRETTOKEN", "{}", 5, &err), -1);
    CHECK(!leaks_url(err.msg));
    CHECK_INT(alert_send(NULL, "{}", 5, &err), -1);
    CHECK_INT(alert_send("", "{}", 5, &err), -1);
    CHECK_INT(alert_send("http://127.0.0.1:9/x", NULL, 5, &err), -1);
    CHECK_INT(alert_send("http://127.0.0.1:9/SECRETTOKEN", "{}", 0, &err), -1);
    CHECK(!leaks_url(err.msg));
}

int main(void)
{
    http_test_no_proxy();
    if (scratch_dir_make(tmpdir, sizeof tmpdir, "test-alert") != 0) {
        perror("scratch_dir_make");
        return 1;
    }
    test_body();
    test_send_ok();
    test_send_http_error();
    test_send_refused();
    test_send_timeout();
    test_send_bad_args();
    scratch_dir_remove(tmpdir);
    return check_done("alert");
}
