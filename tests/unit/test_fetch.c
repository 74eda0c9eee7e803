/*
 * test_fetch.c - fetch_url, fetch_url_origin and url_template_expand.
 *
 * The HTTP server is real and local: the parent binds 127.0.0.1 port 0 and
 * listens before fork(), so the child serves as soon as it exists and early
 * connections wait in the backlog (no sleeps). The child answers per path
 * from a route table (a status and body, a hang, 500s before a success,
 * redirects, a body without Content-Length, ...) and writes one line per
 * request ("<request target> <Authorization or ->") to a pipe *before* it
 * answers, so once fetch_url returns the parent can read exactly which
 * requests were made. The child ends when the parent closes the control
 * pipe (or dies).
 */
#include "check.h"
#include "fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the test server ------------------------------------------------------- */

typedef struct route {
    const char *path;      /* the request path, without the query */
    int status;            /* 0: read the request and never answer */
    const char *body;      /* NULL: "" */
    size_t len;            /* 0: strlen(body) */
    int fail_first;        /* answer fail_status to the first N requests of the path */
    int fail_status;       /* 0: 500 */
    int no_length;         /* no Content-Length: the body ends when the connection closes */
    const char *location;  /* a Location header (redirects) */
    const char *need_auth; /* the Authorization value required, else 401 */
} route;

typedef struct server {
    pid_t pid;
    int port;
    int ctl;  /* write end: closing it ends the child */
    int log;  /* read end of the request log, non-blocking */
} server;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads a request head (up to the blank line) into req (NUL-terminated). */
static int read_head(int c, char *req, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(c, req + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

static void serve(int lfd, int ctl, int logw, const route *routes, size_t n)
{
    static char req[16384];
    int counts[64] = {0};
    int hung[64], n_hung = 0;
    char line[1024], head[1024];

    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        struct pollfd p[2] = {{lfd, POLLIN, 0}, {ctl, POLLIN, 0}};
        char target[512], auth[256];
        const char *sp, *end, *a;
        const route *r = NULL;
        size_t i, tlen, plen;
        int c, status;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(10);
        }
        if (p[1].revents)
            _exit(0); /* the parent closed the control pipe (or died) */
        if (!(p[0].revents & POLLIN))
            continue;
        if ((c = accept(lfd, NULL, NULL)) < 0)
            continue;
        if (read_head(c, req, sizeof req) != 0) {
            close(c);
            continue;
        }
        /* "GET <target> HTTP/1.1" */
        sp = strchr(req, ' ');
        end = sp ? strchr(sp + 1, ' ') : NULL;
        tlen = sp && end ? (size_t)(end - sp - 1) : 0;
        if (tlen >= sizeof target)
            tlen = sizeof target - 1;
        memcpy(target, sp ? sp + 1 : "", tlen);
        target[tlen] = '\0';
        plen = strcspn(target, "?");
        snprintf(auth, sizeof auth, "-");
        if ((a = strcasestr(req, "\r\nAuthorization: ")) != NULL) {
            size_t al = strcspn(a + 17, "\r\n");
            snprintf(auth, sizeof auth, "%.*s", (int)(al < 200 ? al : 200), a + 17);
        }
        snprintf(line, sizeof line, "%s %s\n", target, auth);
        if (write_all(logw, line, strlen(line)) != 0)
            _exit(11);
        for (i = 0; i < n; i++)
            if (strlen(routes[i].path) == plen && strncmp(routes[i].path, target, plen) == 0) {
                r = &routes[i];
                break;
            }
        if (!r) {
            static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n"
                                     "Connection: close\r\n\r\nnot found\n";
            write_all(c, nf, sizeof nf - 1);
            close(c);
            continue;
        }
        if (r->status == 0) {
            if (n_hung < 64)
                hung[n_hung++] = c; /* never answered, closed when the child ends */
            else
                close(c);
            continue;
        }
        status = r->status;
        if (i < 64 && counts[i]++ < r->fail_first)
            status = r->fail_status ? r->fail_status : 500;
        else if (r->need_auth && strcmp(auth, r->need_auth) != 0)
            status = 401;
        {
            const char *body = r->body ? r->body : "";
            size_t blen = r->len ? r->len : strlen(body);
            if (status != r->status) {
                body = "an error page\n";
                blen = strlen(body);
            }
            if (r->no_length)
                snprintf(head, sizeof head, "HTTP/1.1 %d X\r\n%s%s%sConnection: close\r\n\r\n",
                         status, r->location ? "Location: " : "",
                         r->location ? r->location : "", r->location ? "\r\n" : "");
            else
                snprintf(head, sizeof head,
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s%sConnection: close\r\n\r\n",
                         status, blen, r->location ? "Location: " : "",
                         r->location ? r->location : "", r->location ? "\r\n" : "");
            if (write_all(c, head, strlen(head)) == 0)
                write_all(c, body, blen);
        }
        close(c);
    }
    (void)hung;
}

static int server_start(server *s, const route *routes, size_t n)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int ctl[2], logp[2];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0 || pipe(ctl) != 0) {
        close(fd);
        return -1;
    }
    if (pipe(logp) != 0) {
        close(fd);
        close(ctl[0]);
        close(ctl[1]);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    fflush(stdout);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        close(ctl[1]);
        close(logp[0]);
        serve(fd, ctl[0], logp[1], routes, n);
        _exit(0);
    }
    close(fd);
    close(ctl[0]);
    close(logp[1]);
    s->ctl = ctl[1];
    s->log = logp[0];
    fcntl(s->log, F_SETFL, fcntl(s->log, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* Ends the child and reaps it; returns its exit status. */
static int server_stop(server *s)
{
    int st;
    close(s->ctl);
    close(s->log);
    if (waitpid(s->pid, &st, 0) != s->pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The request lines logged since the last call (NUL-terminated, in log). */
static void server_take_log(server *s, char *log, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = read(s->log, log + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len + 1 >= cap)
            break;
    }
    log[len] = '\0';
}

/* How many lines of log start with prefix. */
static int count_lines(const char *log, const char *prefix)
{
    int n = 0;
    const char *p = log;
    size_t pl = strlen(prefix);
    while (*p) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return n;
}

static int count_all(const char *log)
{
    return count_lines(log, "");
}

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[PATH_MAX];
static server srv;
static char base[64]; /* http://127.0.0.1:<port> */
static char logbuf[65536];

static fetch_options quick(int retries)
{
    fetch_options o = FETCH_OPTIONS_DEFAULT;
    o.retries = retries;
    o.retry_delay_ms = 0;
    o.timeout_s = 5;
    o.connect_timeout_s = 5;
    return o;
}

/* An error message names scheme and host, never path, query or token. */
static int clean_msg(const char *msg)
{
    return strstr(msg, "SECRET") == NULL && strstr(msg, "/p/") == NULL &&
           strstr(msg, "?") == NULL && strstr(msg, "s3cret") == NULL;
}

static int url(char *out, size_t n, const char *path)
{
    return snprintf(out, n, "%s%s", base, path);
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
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
    buf b;
    long status = -5;
    ms_error err;
    fetch_options o = quick(3);

    buf_init(&b, 0);
    url(u, sizeof u, "/p/ok?token=SECRET");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(status, 200);
    CHECK_STR(b.data, "{\"hello\": 1}\n");
    CHECK_INT(b.len, 13);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 1);
    CHECK_INT(count_lines(logbuf, "/p/ok?token=SECRET -\n"), 1);

    /* NULL options (the defaults) and NULL status work; old content is replaced. */
    CHECK_INT(fetch_url(u, NULL, &b, NULL, &err), 0);
    CHECK_STR(b.data, "{\"hello\": 1}\n");

    /* An empty body is a valid empty C string, in a fresh buffer too. */
    url(u, sizeof u, "/p/empty");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(status, 200);
    CHECK_INT(b.len, 0);
    CHECK(b.data != NULL && b.data[0] == '\0');
    {
        buf fresh;
        buf_init(&fresh, 0);
        CHECK_INT(fetch_url(u, &o, &fresh, &status, &err), 0);
        CHECK(fresh.data != NULL && fresh.len == 0 && fresh.data[0] == '\0');
        buf_free(&fresh);
    }

    /* 204 is 2xx too. */
    url(u, sizeof u, "/p/nocontent");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(status, 204);

    /* A body without Content-Length (ends at close). */
    url(u, sizeof u, "/p/stream");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_STR(b.data, "streamed body\n");
    server_take_log(&srv, logbuf, sizeof logbuf);
    buf_free(&b);
}

static void test_http_not_found(void)
{
    char u[256];
    buf b;
    long status = 0;
    ms_error err;
    fetch_options o = quick(3);

    buf_init(&b, 0);
    buf_puts(&b, "old");
    url(u, sizeof u, "/p/missing?k=SECRET");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 1);
    CHECK_INT(status, 404);
    CHECK_INT(b.len, 0);
    url(u, sizeof u, "/p/gone");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 1);
    CHECK_INT(status, 410);
    /* Not found is final: no retry. */
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 2);
    buf_free(&b);
}

static void test_http_errors(void)
{
    char u[256], want[128];
    buf b;
    long status = 0;
    ms_error err;
    fetch_options o = quick(3);

    buf_init(&b, 0);

    /* 500 every time: 1 + 3 attempts, then the status and host, nothing else. */
    url(u, sizeof u, "/p/error?token=SECRET");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_INT(status, 500);
    snprintf(want, sizeof want, "HTTP 500 from %s (4 attempts)", base);
    CHECK_STR(err.msg, want);
    CHECK(clean_msg(err.msg));
    CHECK_INT(b.len, 0);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_lines(logbuf, "/p/error?token=SECRET "), 4);
    CHECK_INT(count_all(logbuf), 4);

    /* A 500 with a body bigger than max_bytes is still "HTTP 500". */
    o.max_bytes = 100;
    o.retries = 0;
    url(u, sizeof u, "/p/error-big");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    snprintf(want, sizeof want, "HTTP 500 from %s", base);
    CHECK_STR(err.msg, want);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 1);
    o = quick(3);

    /* 4xx other than 404/410: an error at once, no retry. */
    url(u, sizeof u, "/p/forbidden");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_INT(status, 403);
    snprintf(want, sizeof want, "HTTP 403 from %s", base);
    CHECK_STR(err.msg, want);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 1);

    /* 500 then 200: retried, success. */
    url(u, sizeof u, "/p/flaky");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(status, 200);
    CHECK_STR(b.data, "finally\n");
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_lines(logbuf, "/p/flaky "), 2);

    /* 429 twice then 200. */
    url(u, sizeof u, "/p/busy");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_STR(b.data, "ok now\n");
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_lines(logbuf, "/p/busy "), 3);

    /* 503 then 200 with retries = 0: the first answer is final. */
    o.retries = 0;
    url(u, sizeof u, "/p/flaky2");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_INT(status, 503);
    snprintf(want, sizeof want, "HTTP 503 from %s", base);
    CHECK_STR(err.msg, want);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 1);

    /* The back-off waits: 2 retries of 100 then 200 ms. */
    {
        struct timespec t0;
        double el;
        o.retries = 2;
        o.retry_delay_ms = 100;
        url(u, sizeof u, "/p/error");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
        el = since(&t0);
        CHECK(el >= 0.29 && el < 5);
        server_take_log(&srv, logbuf, sizeof logbuf);
        CHECK_INT(count_all(logbuf), 3);
    }
    buf_free(&b);
}

static void test_http_timeout(void)
{
    char u[256], want[128];
    buf b;
    long status = -1;
    ms_error err;
    fetch_options o = quick(0);
    struct timespec t0;
    double el;

    buf_init(&b, 0);
    o.timeout_s = 1;
    url(u, sizeof u, "/p/hang?token=SECRET");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    el = since(&t0);
    CHECK_INT(status, 0);
    snprintf(want, sizeof want, "timeout after 1s fetching from %s", base);
    CHECK_STR(err.msg, want);
    CHECK(clean_msg(err.msg));
    CHECK(el >= 0.9 && el < 5);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 1);

    /* A timeout is transient: retried. */
    o.retries = 1;
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    snprintf(want, sizeof want, "timeout after 1s fetching from %s (2 attempts)", base);
    CHECK_STR(err.msg, want);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_lines(logbuf, "/p/hang?token=SECRET "), 2);
    buf_free(&b);
}

static void test_http_size(void)
{
    char u[256], want[128];
    buf b, small;
    long status = 0;
    ms_error err;
    fetch_options o = quick(3);

    buf_init(&b, 0);
    buf_init(&small, 100);
    /* Within the default limit. */
    url(u, sizeof u, "/p/big");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(b.len, 5000);
    /* Above max_bytes: an error, not retried, with or without Content-Length. */
    o.max_bytes = 1000;
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    snprintf(want, sizeof want, "the document from %s is larger than 1000 bytes", base);
    CHECK_STR(err.msg, want);
    CHECK_INT(b.len, 0);
    url(u, sizeof u, "/p/big-stream");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_STR(err.msg, want);
    o.max_bytes = 5000; /* exactly the size: fine */
    url(u, sizeof u, "/p/big");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(b.len, 5000);
    /* The output buffer's own cap counts too. */
    o = quick(3);
    CHECK_INT(fetch_url(u, &o, &small, &status, &err), -1);
    CHECK(strstr(err.msg, "larger than 100 bytes") != NULL);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 5);
    buf_free(&b);
    buf_free(&small);
}

static void test_http_redirects(void)
{
    char u[256], want[128];
    buf b;
    long status = 0;
    ms_error err;
    fetch_options o = quick(3);

    buf_init(&b, 0);
    url(u, sizeof u, "/p/redirect?token=SECRET");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_INT(status, 200);
    CHECK_STR(b.data, "{\"hello\": 1}\n");
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 2);

    /* A loop: at most 5 redirects are followed. */
    url(u, sizeof u, "/p/loop?token=SECRET");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    snprintf(want, sizeof want, "more than 5 redirects from %s", base);
    CHECK_STR(err.msg, want);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 6);

    /* Never from http to a local file. */
    url(u, sizeof u, "/p/to-file");
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK(strstr(err.msg, "not http or https") != NULL && clean_msg(err.msg));
    CHECK_INT(b.len, 0);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 1);
    buf_free(&b);
}

static void test_http_auth(void)
{
    char u[256], want[128];
    buf b;
    long status = 0;
    ms_error err;
    fetch_options o = quick(3);

    buf_init(&b, 0);
    url(u, sizeof u, "/p/auth");
    o.bearer_token = "s3cret-token";
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), 0);
    CHECK_STR(b.data, "authorized\n");
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_lines(logbuf, "/p/auth Bearer s3cret-token\n"), 1);

    o.bearer_token = "wrong";
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_INT(status, 401);
    snprintf(want, sizeof want, "HTTP 401 from %s", base);
    CHECK_STR(err.msg, want);
    /* No token: no header. */
    o.bearer_token = NULL;
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_lines(logbuf, "/p/auth -\n"), 1);

    /* A token that would inject a header is refused before any request. */
    o.bearer_token = "s3cret\r\nX-Evil: 1";
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK(strstr(err.msg, "control characters") != NULL && clean_msg(err.msg));
    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 0);
    buf_free(&b);
}

static void test_refused(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char u[256], want[128];
    buf b;
    long status = -1;
    ms_error err;
    fetch_options o = quick(2);
    /* Bound but not listening: the port stays ours and refuses connections. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    buf_init(&b, 0);
    CHECK(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(u, sizeof u, "http://127.0.0.1:%d/p/x?token=SECRET", ntohs(a.sin_port));
    CHECK_INT(fetch_url(u, &o, &b, &status, &err), -1);
    CHECK_INT(status, 0);
    snprintf(want, sizeof want, "connection refused by http://127.0.0.1:%d (3 attempts)",
             ntohs(a.sin_port));
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
    fetch_options o = quick(3);
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

static void rm_tmpdir(void)
{
    static const char *const names[] = {"2026-11-03.json", "empty.json", "big.json"};
    char path[PATH_MAX + 64];
    size_t i;
    for (i = 0; i < MS_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(void)
{
    static char big[5000];
    static char loc_file[] = "file:///etc/hostname";
    const char *t = getenv("TMPDIR");
    ms_error err;
    int rc;
    route routes[] = {
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

    /* The tests talk to 127.0.0.1 directly, whatever proxy the caller uses. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    memset(big, 'b', sizeof big);
    snprintf(tmpdir, sizeof tmpdir, "%s/moonstat-test-fetch.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_INT(fetch_global_init(&err), 0);
    CHECK_INT(fetch_global_init(&err), 0); /* once */
    if (server_start(&srv, routes, MS_ARRAY_LEN(routes)) != 0) {
        perror("server_start");
        return 1;
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%d", srv.port);

    test_template();
    test_origin();
    test_http_ok();
    test_http_not_found();
    test_http_errors();
    test_http_timeout();
    test_http_size();
    test_http_redirects();
    test_http_auth();
    test_refused();
    test_bad_urls();
    test_file();

    server_take_log(&srv, logbuf, sizeof logbuf);
    CHECK_INT(count_all(logbuf), 0); /* every request was accounted for above */
    CHECK_INT(server_stop(&srv), 0);
    rm_tmpdir();
    rc = check_done("test_fetch");
    return rc;
}
