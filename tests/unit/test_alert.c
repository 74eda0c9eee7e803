/*
 * test_alert.c - alert_body and alert_send against a tiny HTTP server that
 * the test forks itself: the parent binds 127.0.0.1 port 0 and listens
 * before fork(), so the child is ready as soon as it exists and connections
 * queue in the backlog; no sleeps. The child answers one connection per
 * entry of a status list (0: read the request and never answer), writes each
 * request it received to <dir>/req<N>, and exits; waitpid() is the
 * synchronisation point before the parent reads the files.
 */
#include "alert.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 4
#define REQ_MAX 65536

static char tmpdir[PATH_MAX];

typedef struct server {
    pid_t pid;
    int port;
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

/* Reads one HTTP request (headers and a Content-Length body) into req.
 * Returns its length, or -1. */
static ssize_t read_request(int c, char *req, size_t cap)
{
    size_t len = 0, want = 0;
    char *end, *cl;
    for (;;) {
        ssize_t r;
        if (len == cap)
            return -1;
        r = read(c, req + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        if (want == 0 && (end = memmem(req, len, "\r\n\r\n", 4)) != NULL) {
            size_t head = (size_t)(end - req) + 4;
            long body = 0;
            /* Content-Length, case-insensitively, within the header. */
            for (cl = req; cl + 16 < req + head; cl++) {
                if (strncasecmp(cl, "\r\nContent-Length:", 17) == 0) {
                    body = strtol(cl + 17, NULL, 10);
                    break;
                }
            }
            want = head + (size_t)body;
        }
        if (want != 0 && len >= want)
            return (ssize_t)len;
    }
}

/* The child: never returns. */
static void serve(int fd, const int *statuses, size_t n)
{
    static char req[REQ_MAX];
    char path[PATH_MAX + 64], resp[256];
    size_t i;
    int c, out, status;
    ssize_t len;

    alarm(20); /* a safety net should the parent die; not a synchronisation */
    signal(SIGPIPE, SIG_IGN);
    for (i = 0; i < n; i++) {
        if ((c = accept(fd, NULL, NULL)) < 0)
            _exit(10);
        if ((len = read_request(c, req, sizeof req)) < 0)
            _exit(11);
        snprintf(path, sizeof path, "%s/req%zu", tmpdir, i);
        if ((out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
            write_all(out, req, (size_t)len) != 0 || close(out) != 0)
            _exit(12);
        status = statuses[i];
        if (status == 0) {
            /* Never answer: wait until the client gives up and closes. */
            while (read(c, req, sizeof req) > 0)
                ;
        } else {
            snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d Test\r\nContent-Length: 14\r\n%sConnection: close\r\n\r\n"
                     "response-body\n",
                     status, status >= 300 && status < 400 ? "Location: ftp://127.0.0.1/x\r\n" : "");
            if (write_all(c, resp, strlen(resp)) != 0)
                _exit(13);
        }
        close(c);
    }
    _exit(0);
}

static int server_start(server *s, const int *statuses, size_t n)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, MAX_CONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    fflush(stdout);
    s->pid = fork();
    if (s->pid < 0) {
        close(fd);
        return -1;
    }
    if (s->pid == 0)
        serve(fd, statuses, n);
    close(fd);
    return 0;
}

/* Waits for the child; returns its exit status (or -1). */
static int server_wait(server *s)
{
    int st;
    if (waitpid(s->pid, &st, 0) != s->pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

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
    static const int statuses[] = {200};
    const char *body = "{\"text\":\"moonstat on db1: run failed with exit 1: x\",\"exit_code\":1}";
    const char *expect_line = "POST /hooks/T0/B0/SECRETTOKEN?sig=QSECRET HTTP/1.1\r\n";
    char url[256], *req, *sep, *captured;
    char cap_path[PATH_MAX + 64];
    size_t req_len = 0, cap_len = 0;
    int saved_out, saved_err, cap, rc;
    server s;
    ms_error err;

    CHECK_INT(server_start(&s, statuses, 1), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/T0/B0/SECRETTOKEN?sig=QSECRET", s.port);

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
    CHECK_INT(server_wait(&s), 0);
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
    static const int statuses[] = {500, 301};
    char url[256];
    server s;
    ms_error err;

    CHECK_INT(server_start(&s, statuses, 2), 0);
    /* User info is a secret too. */
    snprintf(url, sizeof url, "http://bot:PWSECRET@127.0.0.1:%d/hooks/SECRETTOKEN?sig=QSECRET",
             s.port);
    CHECK_INT(alert_send(url, "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "500") != NULL);
    CHECK(strstr(err.msg, "webhook 127.0.0.1") != NULL);
    CHECK(!leaks_url(err.msg));

    /* A redirect is not followed (the child accepts only these two). */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/SECRETTOKEN", s.port);
    CHECK_INT(alert_send(url, "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "301") != NULL);
    CHECK(!leaks_url(err.msg));
    CHECK_INT(server_wait(&s), 0);
}

static void test_send_refused(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char url[256];
    ms_error err;
    /* Bound but not listening: the port stays ours and refuses connections. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/SECRETTOKEN?sig=QSECRET",
             ntohs(a.sin_port));
    CHECK_INT(alert_send(url, "{}", 5, &err), -1);
    CHECK(strstr(err.msg, "webhook 127.0.0.1") != NULL);
    CHECK(!leaks_url(err.msg));
    close(fd);
}

static void test_send_timeout(void)
{
    static const int statuses[] = {0};
    struct timespec t0, t1;
    char url[256];
    server s;
    ms_error err;
    double elapsed;

    CHECK_INT(server_start(&s, statuses, 1), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/SECRETTOKEN?sig=QSECRET", s.port);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(alert_send(url, "{}", 1, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(strstr(err.msg, "timeout") != NULL);
    CHECK(!leaks_url(err.msg));
    CHECK(elapsed >= 0.9 && elapsed < 10);
    CHECK_INT(server_wait(&s), 0);
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

static void cleanup_tmpdir(void)
{
    char path[PATH_MAX + 64];
    static const char *const names[] = {"req0", "req1", "captured"};
    size_t i;
    for (i = 0; i < MS_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/moonstat-test-alert.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_body();
    test_send_ok();
    test_send_http_error();
    test_send_refused();
    test_send_timeout();
    test_send_bad_args();
    cleanup_tmpdir();
    return check_done("alert");
}
