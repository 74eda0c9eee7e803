/*
 * http_test_server.h - a real, local HTTP server for the unit tests that
 * talk HTTP (test_fetch, test_fx_rates, test_alert).
 *
 * The parent binds 127.0.0.1 port 0 and listens before fork(), so the child
 * serves as soon as it exists and early connections wait in the backlog (no
 * sleeps). The child answers per path (the request target without its
 * query) from a route table: a status and body, a hang, failures before a
 * success, a Location (redirects), a body without Content-Length, a required
 * Authorization; 404 for every other path. *Before* it answers it writes one
 * line per request ("<request target> <Authorization or ->") to a pipe and,
 * when asked to, the whole request (head and Content-Length body) to
 * <save_dir>/req<N> (N counting from 0), so once the client call returns the
 * parent can read exactly which requests were made. The child ends when the
 * parent closes the control pipe (or dies).
 *
 * One server at a time: a child inherits the parent's descriptors, so a
 * second child would keep the first one's control pipe open.
 *
 * Also here, for the same tests: a port that refuses connections, a scratch
 * directory, quick fetch options, a timer.
 *
 * Each test binary is one .c file linked with libmoonstat.a: the functions
 * here are static and marked unused, so an includer may use only some.
 */
#ifndef MOONSTAT_HTTP_TEST_SERVER_H
#define MOONSTAT_HTTP_TEST_SERVER_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fetch.h"

#define HTTP_TEST_UNUSED __attribute__((unused))
#define HTTP_TEST_MAX_ROUTES 64

typedef struct http_route {
    const char *path;      /* the request path, without the query */
    int status;            /* 0: read the request and never answer */
    const char *body;      /* NULL: "" */
    size_t len;            /* 0: strlen(body) */
    int fail_first;        /* answer fail_status to the first N requests of the path */
    int fail_status;       /* 0: 500 */
    int no_length;         /* no Content-Length: the body ends when the connection closes */
    const char *location;  /* a Location header (redirects), with status only */
    const char *need_auth; /* the Authorization value required, else 401 */
} http_route;

typedef struct http_server {
    pid_t pid;
    int port;
    char origin[32];  /* "http://127.0.0.1:<port>" */
    int ctl_fd;       /* write end: closing it ends the child */
    int log_fd;       /* read end of the request log, non-blocking */
    char log[65536];  /* the request lines taken by the last http_server_requests */
} http_server;

static HTTP_TEST_UNUSED int http_write_all(int fd, const char *p, size_t n)
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

/* Reads one request (its head and a Content-Length body) into req,
 * NUL-terminated. Returns its length and sets *head_len, or returns -1. */
static HTTP_TEST_UNUSED ssize_t http_read_request(int c, char *req, size_t cap,
                                                  size_t *head_len)
{
    size_t len = 0, want = 0;
    for (;;) {
        const char *end;
        ssize_t r;
        if (len + 1 >= cap)
            return -1;
        r = read(c, req + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        req[len] = '\0';
        if (want == 0 && (end = memmem(req, len, "\r\n\r\n", 4)) != NULL) {
            const char *cl;
            long body = 0;
            *head_len = (size_t)(end - req) + 4;
            /* Content-Length, case-insensitively, within the head. */
            for (cl = req; cl + 17 <= req + *head_len; cl++)
                if (strncasecmp(cl, "\r\nContent-Length:", 17) == 0) {
                    body = strtol(cl + 17, NULL, 10);
                    break;
                }
            want = *head_len + (size_t)(body > 0 ? body : 0);
        }
        if (want != 0 && len >= want)
            return (ssize_t)len;
    }
}

/* Writes the request to <dir>/req<seq>. */
static HTTP_TEST_UNUSED int http_save_request(const char *dir, int seq, const char *req,
                                              size_t len)
{
    char path[PATH_MAX + 64];
    int fd;
    snprintf(path, sizeof path, "%s/req%d", dir, seq);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
        return -1;
    if (http_write_all(fd, req, len) != 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

static HTTP_TEST_UNUSED void http_answer(int c, const http_route *r, int status)
{
    char head[1024];
    const char *body = r->body ? r->body : "";
    size_t blen = r->len ? r->len : strlen(body);
    /* The route's Location goes with its own answer only. */
    const char *loc = status == r->status ? r->location : NULL;
    if (status != r->status) {
        body = "an error page\n";
        blen = strlen(body);
    }
    if (r->no_length)
        snprintf(head, sizeof head, "HTTP/1.1 %d X\r\n%s%s%sConnection: close\r\n\r\n", status,
                 loc ? "Location: " : "", loc ? loc : "", loc ? "\r\n" : "");
    else
        snprintf(head, sizeof head,
                 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s%sConnection: close\r\n\r\n",
                 status, blen, loc ? "Location: " : "", loc ? loc : "", loc ? "\r\n" : "");
    if (http_write_all(c, head, strlen(head)) == 0)
        http_write_all(c, body, blen);
}

/* The child: never returns. */
static HTTP_TEST_UNUSED void http_serve(int lfd, int ctl, int logw, const http_route *routes,
                                        size_t n, const char *save_dir)
{
    static char req[65536];
    int counts[HTTP_TEST_MAX_ROUTES] = {0};
    int hung[HTTP_TEST_MAX_ROUTES], n_hung = 0, seq = 0;
    char line[1024];

    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        struct pollfd p[2] = {{lfd, POLLIN, 0}, {ctl, POLLIN, 0}};
        char target[512], auth[256];
        const char *sp, *end, *a;
        const http_route *r = NULL;
        size_t i, tlen, plen, head_len = 0;
        ssize_t len;
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
        if ((len = http_read_request(c, req, sizeof req, &head_len)) < 0) {
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
        a = strcasestr(req, "\r\nAuthorization: ");
        if (a && a < req + head_len) {
            size_t al = strcspn(a + 17, "\r\n");
            snprintf(auth, sizeof auth, "%.*s", (int)(al < 200 ? al : 200), a + 17);
        }
        snprintf(line, sizeof line, "%s %s\n", target, auth);
        if (http_write_all(logw, line, strlen(line)) != 0)
            _exit(11);
        if (save_dir && http_save_request(save_dir, seq++, req, (size_t)len) != 0)
            _exit(12);
        for (i = 0; i < n; i++)
            if (strlen(routes[i].path) == plen && strncmp(routes[i].path, target, plen) == 0) {
                r = &routes[i];
                break;
            }
        if (!r) {
            static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n"
                                     "Connection: close\r\n\r\nnot found\n";
            http_write_all(c, nf, sizeof nf - 1);
            close(c);
            continue;
        }
        if (r->status == 0) {
            if (n_hung < HTTP_TEST_MAX_ROUTES)
                hung[n_hung++] = c; /* never answered, closed when the child ends */
            else
                close(c);
            continue;
        }
        status = r->status;
        if (i < HTTP_TEST_MAX_ROUTES && counts[i]++ < r->fail_first)
            status = r->fail_status ? r->fail_status : 500;
        else if (r->need_auth && strcmp(auth, r->need_auth) != 0)
            status = 401;
        http_answer(c, r, status);
        close(c);
    }
    (void)hung;
}

/* Starts the server of routes[0..n-1] (which must outlive it); save_dir, if
 * not NULL, gets every request as req<N>. Returns 0, or -1 (errno set). */
static HTTP_TEST_UNUSED int http_server_start(http_server *s, const http_route *routes, size_t n,
                                              const char *save_dir)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int ctl[2] = {-1, -1}, logp[2] = {-1, -1};
    int fd = socket(AF_INET, SOCK_STREAM, 0), i;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0 || pipe(ctl) != 0 || pipe(logp) != 0)
        goto fail;
    s->port = ntohs(a.sin_port);
    snprintf(s->origin, sizeof s->origin, "http://127.0.0.1:%d", s->port);
    s->log[0] = '\0';
    fflush(stdout);
    s->pid = fork();
    if (s->pid < 0)
        goto fail;
    if (s->pid == 0) {
        close(ctl[1]);
        close(logp[0]);
        http_serve(fd, ctl[0], logp[1], routes, n, save_dir);
        _exit(0);
    }
    close(fd);
    close(ctl[0]);
    close(logp[1]);
    s->ctl_fd = ctl[1];
    s->log_fd = logp[0];
    fcntl(s->log_fd, F_SETFL, fcntl(s->log_fd, F_GETFL) | O_NONBLOCK);
    return 0;
fail:
    close(fd);
    for (i = 0; i < 2; i++) {
        if (ctl[i] >= 0)
            close(ctl[i]);
        if (logp[i] >= 0)
            close(logp[i]);
    }
    return -1;
}

/* Ends the child and reaps it; returns its exit status. */
static HTTP_TEST_UNUSED int http_server_stop(http_server *s)
{
    int st;
    close(s->ctl_fd);
    close(s->log_fd);
    if (waitpid(s->pid, &st, 0) != s->pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* How many lines of s->log start with prefix. */
static HTTP_TEST_UNUSED int http_server_logged(const http_server *s, const char *prefix)
{
    int n = 0;
    const char *p = s->log;
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

/* Takes the request lines logged since the last call into s->log; returns
 * how many there are. */
static HTTP_TEST_UNUSED int http_server_requests(http_server *s)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = read(s->log_fd, s->log + len, sizeof s->log - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len + 1 >= sizeof s->log)
            break;
    }
    s->log[len] = '\0';
    return http_server_logged(s, "");
}

/* A port of 127.0.0.1 that refuses connections: bound but not listening, it
 * stays ours while *fd is open (close it after). Each step is a check. */
static HTTP_TEST_UNUSED int http_refusing_port(int *fd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(*fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_INT(getsockname(*fd, (struct sockaddr *)&a, &alen), 0);
    return ntohs(a.sin_port);
}

/* CHECK_STR(got, fmt with the origin of server s for its one %s); fmt is a literal. */
#define CHECK_STR_ORIGIN(got, fmt, s)                                                   \
    do {                                                                               \
        char want_origin_[512];                                                        \
        snprintf(want_origin_, sizeof want_origin_, fmt, (s)->origin);                  \
        CHECK_STR(got, want_origin_);                                                  \
    } while (0)

/* The tests talk to 127.0.0.1 directly, whatever proxy the caller uses. */
static HTTP_TEST_UNUSED void http_test_no_proxy(void)
{
    static const char *const names[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                        "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    size_t i;
    for (i = 0; i < MS_ARRAY_LEN(names); i++)
        unsetenv(names[i]);
}

/* Fetch options for the local server: 5 s timeouts, retries without delay. */
static HTTP_TEST_UNUSED fetch_options quick_fetch_options(int retries)
{
    fetch_options o = FETCH_OPTIONS_DEFAULT;
    o.retries = retries;
    o.retry_delay_ms = 0;
    o.timeout_s = 5;
    o.connect_timeout_s = 5;
    return o;
}

/* Seconds since *t0 (CLOCK_MONOTONIC). */
static HTTP_TEST_UNUSED double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- a scratch directory (the tests' files, the saved requests) ------------ */

/* Makes $TMPDIR/moonstat-<name>.XXXXXX (/tmp without TMPDIR) into dir.
 * Returns 0, or -1 (errno set). */
static HTTP_TEST_UNUSED int scratch_dir_make(char *dir, size_t cap, const char *name)
{
    const char *t = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/moonstat-%s.XXXXXX", t && *t ? t : "/tmp", name);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes the files in dir (a flat directory), then dir. */
static HTTP_TEST_UNUSED void scratch_dir_remove(const char *dir)
{
    char path[PATH_MAX + 256];
    struct dirent *e;
    DIR *d = opendir(dir);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

#endif
