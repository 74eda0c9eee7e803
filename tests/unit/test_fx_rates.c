/*
 * test_fx_rates.c - exchange-rate documents from a URL template (a real HTTP
 * server on 127.0.0.1, forked by the test), from file:// and from a
 * directory; substitution, the 7-day window, errors, strict validation and
 * the document store.
 *
 * The server is the one of test_fetch.c: the parent binds port 0 and
 * listens before fork() (no sleeps); the child answers per path from a route
 * table (404 for every other path) and writes one line per request to a
 * pipe before answering, so after fx_factor returns the test reads exactly
 * which documents were requested.
 */
#include "check.h"
#include "fx_rates.h"

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

#include "timefmt.h"

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
static char origin[64];   /* http://127.0.0.1:<port> */
static char tmpl[128];    /* the URL template of the served documents */
static char logbuf[65536];

static int32_t day_of(const char *date)
{
    int32_t d = 0;
    day_parse(date, strlen(date), &d);
    return d;
}

/* fx_factor for a YYYY-MM-DD day; *used_date gets the document's day. */
static fx_status factor_on(fx_table *t, const char *date, const char *currency, mpq_t f,
                           char used_date[11], ms_error *err)
{
    int32_t used = 0;
    fx_status s = fx_factor(t, day_of(date), currency, f, &used, err);
    day_format(used, used_date);
    return s;
}

/* 1 when q equals the fraction text ("10000/1512076"). */
static int q_is(const mpq_t q, const char *frac)
{
    mpq_t w;
    int eq;
    mpq_init(w);
    if (mpq_set_str(w, frac, 10) != 0) {
        mpq_clear(w);
        return 0;
    }
    mpq_canonicalize(w);
    eq = mpq_equal(q, w);
    mpq_clear(w);
    return eq;
}

static int requests(void)
{
    server_take_log(&srv, logbuf, sizeof logbuf);
    return count_all(logbuf);
}

static fetch_options quick(int retries)
{
    fetch_options o = FETCH_OPTIONS_DEFAULT;
    o.retries = retries;
    o.retry_delay_ms = 0;
    o.timeout_s = 5;
    o.connect_timeout_s = 5;
    return o;
}

/* Never the template's path or query. */
static int clean_msg(const char *msg)
{
    return strstr(msg, "SECRET") == NULL && strstr(msg, "/fx/") == NULL &&
           strstr(msg, "{date}") == NULL && strstr(msg, "?") == NULL;
}

static int write_file(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (!(f = fopen(path, "wb")))
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* ---- a fake in-memory store ------------------------------------------------------ */

#define STORE_MAX 16

typedef struct mem_store {
    size_t n;
    char date[STORE_MAX][11];
    char *body[STORE_MAX];
    size_t len[STORE_MAX];
    char source[STORE_MAX][128];
    int loads, saves;
    int fail_load, fail_save;
} mem_store;

static int mem_load(void *ctx, const char *date, buf *body, int *found, ms_error *err)
{
    mem_store *m = ctx;
    size_t i;
    m->loads++;
    *found = 0;
    if (m->fail_load)
        return ms_error_set(err, "database is locked");
    for (i = 0; i < m->n; i++)
        if (strcmp(m->date[i], date) == 0) {
            *found = 1;
            return buf_append(body, m->body[i], m->len[i]) == 0 ? 0
                                                                : ms_error_set(err, "too big");
        }
    return 0;
}

static int mem_save(void *ctx, const char *date, const char *body, size_t len,
                    const char *source, ms_error *err)
{
    mem_store *m = ctx;
    m->saves++;
    if (m->fail_save)
        return ms_error_set(err, "disk I/O error");
    if (m->n == STORE_MAX)
        return ms_error_set(err, "store full");
    snprintf(m->date[m->n], sizeof m->date[m->n], "%s", date);
    m->body[m->n] = malloc(len + 1);
    if (!m->body[m->n])
        return ms_error_set(err, "out of memory");
    memcpy(m->body[m->n], body, len);
    m->body[m->n][len] = '\0';
    m->len[m->n] = len;
    snprintf(m->source[m->n], sizeof m->source[m->n], "%s", source);
    m->n++;
    return 0;
}

static void mem_free(mem_store *m)
{
    size_t i;
    for (i = 0; i < m->n; i++)
        free(m->body[i]);
    memset(m, 0, sizeof *m);
}

/* ---- the documents the server has ------------------------------------------------ */

static const char doc_1101[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-01\", \"rates\": {\"USD\": 1, \"JPY\": 151.8686, "
    "\"EUR\": 0.928968}}";
/* Rates as decimal strings and integers are exact too. */
static const char doc_1102[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-02\", \"rates\": {\"USD\": \"1\", \"JPY\": "
    "\"151.3946\", \"KRW\": 1364}}";
static const char doc_1103[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-03\", \"rates\": {\"USD\": 1, \"JPY\": 151.2076, "
    "\"TWD\": 32.091, \"EUR\": 0.927483}}";
/* 2026-11-04: 404. 2026-11-05: no JPY. */
static const char doc_1105[] =
    "{\"base\": \"USD\", \"date\": \"2026-11-05\", \"rates\": {\"USD\": 1, \"EUR\": 0.934665}}";
static const char doc_bad_json[] = "{\"base\": \"USD\", \"date\": \"2026-10-11\", \"rates\": {";
static const char doc_bad_base[] = "{\"base\": \"usd\", \"rates\": {\"USD\": 1}}";
static const char doc_wrong_date[] =
    "{\"base\": \"USD\", \"date\": \"2026-10-31\", \"rates\": {\"USD\": 1}}";

/* ---- tests --------------------------------------------------------------------- */

static void test_new(void)
{
    ms_error err;
    fx_table *t;
    /* A template needs {date}; {month} alone is not one document per day. */
    t = fx_table_new("https://fx.example/p/SECRET/latest.json?key=SECRET", "USD", &err);
    CHECK(t == NULL);
    CHECK(strstr(err.msg, "{date}") != NULL);
    CHECK(strstr(err.msg, "SECRET") == NULL);
    CHECK(fx_table_new("https://fx.example/{month}.json", "USD", &err) == NULL);
    CHECK(fx_table_new("ftp://fx.example/SECRET/{date}.json", "USD", &err) == NULL);
    CHECK(strstr(err.msg, "ftp") != NULL && strstr(err.msg, "SECRET") == NULL);
    CHECK(fx_table_new("https://[::1/SECRET/{date}.json", "USD", &err) == NULL);
    CHECK(strstr(err.msg, "SECRET") == NULL);
    CHECK(fx_table_new("", "USD", &err) == NULL);
    CHECK(fx_table_new(NULL, "USD", &err) == NULL);
    t = fx_table_new("https://fx.example/{date}.json?key=SECRET", "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    t = fx_table_new("file:///srv/fx/{date}.json", "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    fx_table_free(NULL);

    /* MOONSTAT_FETCH_TIMEOUT must be whole seconds; directories ignore it. */
    setenv("MOONSTAT_FETCH_TIMEOUT", "abc", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    CHECK(strstr(err.msg, "MOONSTAT_FETCH_TIMEOUT") != NULL);
    t = fx_table_new(tmpdir, "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    setenv("MOONSTAT_FETCH_TIMEOUT", "0", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    setenv("MOONSTAT_FETCH_TIMEOUT", "", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    setenv("MOONSTAT_FETCH_TIMEOUT", "99999999999999999999", 1);
    CHECK(fx_table_new("https://fx.example/{date}.json", "USD", &err) == NULL);
    setenv("MOONSTAT_FETCH_TIMEOUT", "30", 1);
    t = fx_table_new("https://fx.example/{date}.json", "USD", &err);
    CHECK(t != NULL);
    fx_table_free(t);
    unsetenv("MOONSTAT_FETCH_TIMEOUT");
}

static void test_url_days(void)
{
    ms_error err;
    mpq_t f;
    char used[11];
    fx_table *t = fx_table_new(tmpl, "USD", &err);
    fetch_options o = quick(0);

    CHECK(t != NULL);
    if (!t)
        return;
    fx_table_set_fetch_options(t, &o);
    mpq_init(f);
    requests(); /* start from an empty log */

    /* The day's own document, fetched on first use, exactly. */
    CHECK_INT(factor_on(t, "2026-11-03", "JPY", f, used, &err), FX_OK);
    CHECK_STR(used, "2026-11-03");
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(requests(), 1);
    CHECK_INT(count_lines(logbuf, "/fx/2026-11-03.json?key=SECRET -\n"), 1);
    /* Loaded once: other currencies of the day need no request. */
    CHECK_INT(factor_on(t, "2026-11-03", "TWD", f, used, &err), FX_OK);
    CHECK(q_is(f, "1000/32091"));
    CHECK_INT(factor_on(t, "2026-11-03", "USD", f, used, &err), FX_OK);
    CHECK(q_is(f, "1"));
    CHECK_INT(requests(), 0);

    /* Decimal strings and integers. */
    CHECK_INT(factor_on(t, "2026-11-02", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1513946"));
    CHECK_INT(factor_on(t, "2026-11-02", "KRW", f, used, &err), FX_OK);
    CHECK(q_is(f, "1/1364"));

    /* 2026-11-04 is 404: the earlier day's document, reported. */
    CHECK_INT(factor_on(t, "2026-11-04", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(factor_on(t, "2026-11-04", "USD", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 2); /* 2026-11-02 and 2026-11-04, once each */
    CHECK_INT(count_lines(logbuf, "/fx/2026-11-04.json"), 1);

    /* Per currency: 2026-11-05 has EUR but not JPY. */
    CHECK_INT(factor_on(t, "2026-11-05", "EUR", f, used, &err), FX_OK);
    CHECK(q_is(f, "1000000/934665"));
    CHECK_INT(factor_on(t, "2026-11-05", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 1);

    /* The window: 7 days back at most. */
    CHECK_INT(factor_on(t, "2026-11-10", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 5); /* 11-06 .. 11-10 */
    CHECK_INT(factor_on(t, "2026-11-11", "JPY", f, used, &err), FX_MISSING);
    CHECK_INT(requests(), 1); /* 11-11; 11-04 .. 11-10 are known */
    CHECK_INT(factor_on(t, "2026-11-11", "TWD", f, used, &err), FX_MISSING);
    CHECK_INT(factor_on(t, "2026-12-20", "USD", f, used, &err), FX_MISSING);
    CHECK_INT(requests(), 8); /* 12-13 .. 12-20 */
    CHECK_INT(count_lines(logbuf, "/fx/2026-12-13.json"), 1);
    CHECK_INT(count_lines(logbuf, "/fx/2026-12-12.json"), 0);
    CHECK_INT(factor_on(t, "2026-11-03", "XXX", f, used, &err), FX_MISSING);
    CHECK_INT(requests(), 6); /* back to 10-27: 10-27 .. 11-01 are new */

    mpq_clear(f);
    fx_table_free(t);
}

static void test_url_errors(void)
{
    ms_error err;
    mpq_t f;
    char used[11], want[256];
    fx_table *t = fx_table_new(tmpl, "USD", &err);
    fetch_options o = quick(1);

    CHECK(t != NULL);
    if (!t)
        return;
    fx_table_set_fetch_options(t, &o);
    mpq_init(f);
    requests();

    /* HTTP 500: FX_ERROR naming the date and the host, retried once here. */
    CHECK_INT(factor_on(t, "2026-10-10", "JPY", f, used, &err), FX_ERROR);
    snprintf(want, sizeof want, "exchange rates for 2026-10-10: HTTP 500 from %s (2 attempts)",
             origin);
    CHECK_STR(err.msg, want);
    CHECK(clean_msg(err.msg));
    CHECK_INT(requests(), 2);
    /* An error is not remembered as "absent": asked again next time. */
    CHECK_INT(factor_on(t, "2026-10-10", "JPY", f, used, &err), FX_ERROR);
    CHECK_INT(requests(), 2);

    /* Malformed JSON. */
    CHECK_INT(factor_on(t, "2026-10-11", "JPY", f, used, &err), FX_ERROR);
    snprintf(want, sizeof want, "exchange rates for 2026-10-11 from %s: malformed document: ",
             origin);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);
    CHECK(strstr(err.msg, "not valid JSON") != NULL);
    CHECK(clean_msg(err.msg));
    /* A substitution never skips a broken document. */
    CHECK_INT(factor_on(t, "2026-10-12", "JPY", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "2026-10-11") != NULL);

    /* Well-formed JSON, invalid document. */
    CHECK_INT(factor_on(t, "2026-10-13", "USD", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "2026-10-13") != NULL && strstr(err.msg, "\"base\"") != NULL);
    CHECK_INT(factor_on(t, "2026-10-14", "USD", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "\"date\" is \"2026-10-31\", not the requested 2026-10-14") != NULL);

    /* 403 is an error, not an absent day. */
    CHECK_INT(factor_on(t, "2026-10-15", "USD", f, used, &err), FX_ERROR);
    snprintf(want, sizeof want, "exchange rates for 2026-10-15: HTTP 403 from %s", origin);
    CHECK_STR(err.msg, want);
    requests();

    mpq_clear(f);
    fx_table_free(t);
}

static void test_url_timeout(void)
{
    ms_error err;
    mpq_t f;
    char used[11], want[256];
    fx_table *t;
    fetch_options o = quick(0);
    struct timespec t0, t1;
    double el;

    /* MOONSTAT_FETCH_TIMEOUT bounds each attempt, over the options too. */
    setenv("MOONSTAT_FETCH_TIMEOUT", "1", 1);
    t = fx_table_new(tmpl, "USD", &err);
    unsetenv("MOONSTAT_FETCH_TIMEOUT");
    CHECK(t != NULL);
    if (!t)
        return;
    o.timeout_s = 30;
    fx_table_set_fetch_options(t, &o);
    mpq_init(f);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(factor_on(t, "2026-10-16", "USD", f, used, &err), FX_ERROR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    snprintf(want, sizeof want, "exchange rates for 2026-10-16: timeout after 1s fetching from %s",
             origin);
    CHECK_STR(err.msg, want);
    CHECK(el >= 0.9 && el < 5);
    CHECK_INT(requests(), 1);
    mpq_clear(f);
    fx_table_free(t);
}

static void test_store(void)
{
    ms_error err;
    mpq_t f;
    char used[11];
    mem_store m;
    fx_store st = {&m, mem_load, mem_save};
    fx_table *t1, *t2;
    fetch_options o = quick(0);

    memset(&m, 0, sizeof m);
    mpq_init(f);
    requests();

    /* First table: fetched, then saved with its origin (no path, no query). */
    t1 = fx_table_new(tmpl, "USD", &err);
    CHECK(t1 != NULL);
    if (!t1)
        goto out;
    fx_table_set_fetch_options(t1, &o);
    fx_table_set_store(t1, &st);
    CHECK_INT(factor_on(t1, "2026-11-04", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_STR(used, "2026-11-03");
    CHECK_INT(requests(), 2); /* 11-04 (404) and 11-03 */
    CHECK_INT(m.loads, 2);
    CHECK_INT(m.saves, 1);    /* only the document: a 404 is not stored */
    CHECK_INT(m.n, 1);
    CHECK_STR(m.date[0], "2026-11-03");
    CHECK_STR(m.body[0], doc_1103);
    CHECK_STR(m.source[0], origin);
    fx_table_free(t1);

    /* Second table, same store: 11-03 comes from the store, no request. */
    t2 = fx_table_new(tmpl, "USD", &err);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    fx_table_set_fetch_options(t2, &o);
    fx_table_set_store(t2, &st);
    CHECK_INT(factor_on(t2, "2026-11-03", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1512076"));
    CHECK_INT(requests(), 0);
    CHECK_INT(m.saves, 1);
    /* A 404 day is asked for again (it may have been published since). */
    CHECK_INT(factor_on(t2, "2026-11-04", "JPY", f, used, &err), FX_SUBSTITUTED);
    CHECK_INT(requests(), 1);
    CHECK_INT(count_lines(logbuf, "/fx/2026-11-04.json"), 1);

    /* Without the store the network is needed again. */
    fx_table_set_store(t2, NULL);
    CHECK_INT(factor_on(t2, "2026-11-02", "JPY", f, used, &err), FX_OK);
    CHECK_INT(requests(), 1);
    CHECK_INT(m.n, 1);
    fx_table_free(t2);

    /* A failing load or save is an error naming the date. */
    t2 = fx_table_new(tmpl, "USD", &err);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    fx_table_set_fetch_options(t2, &o);
    fx_table_set_store(t2, &st);
    m.fail_load = 1;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_ERROR);
    CHECK_STR(err.msg, "exchange rates for 2026-11-01: reading the stored document: database is "
                       "locked");
    CHECK_INT(requests(), 0);
    m.fail_load = 0;
    m.fail_save = 1;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_ERROR);
    CHECK_STR(err.msg, "exchange rates for 2026-11-01: storing the fetched document: disk I/O "
                       "error");
    CHECK_INT(requests(), 1);
    m.fail_save = 0;
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_OK);
    CHECK(q_is(f, "10000/1518686"));
    CHECK_INT(requests(), 1); /* the failed save left nothing behind: fetched again */
    CHECK_INT(m.n, 2);
    fx_table_free(t2);

    /* A broken stored copy is an error, not a reason to fetch. */
    free(m.body[1]);
    m.body[1] = strdup("{\"base\": \"USD\"}");
    m.len[1] = m.body[1] ? strlen(m.body[1]) : 0;
    t2 = fx_table_new(tmpl, "USD", &err);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    fx_table_set_store(t2, &st);
    CHECK_INT(factor_on(t2, "2026-11-01", "JPY", f, used, &err), FX_ERROR);
    CHECK(strstr(err.msg, "exchange rates for 2026-11-01 (the stored copy): malformed document: "
                          "\"rates\" must be an object") == err.msg);
    CHECK_INT(requests(), 0);
    fx_table_free(t2);

    /* A directory source does not use the store: the file is the truth. */
    m.loads = m.saves = 0;
    CHECK_INT(write_file("2026-11-03.json", doc_1105), 0); /* no JPY in the file */
    t2 = fx_table_new(tmpdir, "USD", &err);
    CHECK(t2 != NULL);
    if (!t2)
        goto out;
    fx_table_set_store(t2, &st);
    CHECK_INT(factor_on(t2, "2026-11-03", "JPY", f, used, &err), FX_ERROR); /* date mismatch */
    CHECK_INT(m.loads, 0);
    CHECK_INT(m.saves, 0);
    fx_table_free(t2);
out:
    mpq_clear(f);
    mem_free(&m);
}

/* One document written as <tmpdir>/2026-11-03.json, read with a new table. */
static fx_status dir_doc(const char *text, const char *reporting, const char *currency, mpq_t f,
                         ms_error *err)
{
    char used[11];
    fx_status s;
    fx_table *t;
    if (write_file("2026-11-03.json", text) != 0) {
        ms_error_set(err, "cannot write the test document");
        return FX_ERROR;
    }
    t = fx_table_new(tmpdir, reporting, err);
    if (!t)
        return FX_ERROR;
    s = factor_on(t, "2026-11-03", currency, f, used, err);
    fx_table_free(t);
    return s;
}

static void expect_malformed(const char *text, const char *why, int line)
{
    ms_error err;
    mpq_t f;
    fx_status s;
    mpq_init(f);
    s = dir_doc(text, "USD", "USD", f, &err);
    if (s != FX_ERROR || !strstr(err.msg, "exchange rates for 2026-11-03 (") ||
        !strstr(err.msg, "2026-11-03.json): malformed document: ") || !strstr(err.msg, why)) {
        check_failed++;
        printf("FAIL %s:%d: document %s: status %d, message \"%s\", want \"%s\"\n", __FILE__,
               line, text, (int)s, s == FX_ERROR ? err.msg : "", why);
    } else {
        check_passed++;
    }
    mpq_clear(f);
}

#define MALFORMED(text, why) expect_malformed(text, why, __LINE__)

static void test_validation(void)
{
    ms_error err;
    mpq_t f;
    buf big;
    size_t i;

    mpq_init(f);
    MALFORMED("", "not valid JSON");
    MALFORMED("[1]", "not a JSON object");
    MALFORMED("\"USD\"", "not valid JSON"); /* jansson wants an object or array at the top */
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1}} trailing", "not valid JSON");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1, \"USD\": 2}}", "not valid JSON");
    MALFORMED("{\"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter upper-case currency code");
    MALFORMED("{\"base\": \"usd\", \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": \"USDX\", \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": \"US\", \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": 1, \"rates\": {\"USD\": 1}}", "\"base\" must be a 3-letter");
    MALFORMED("{\"base\": \"USD\"}", "\"rates\" must be an object");
    MALFORMED("{\"base\": \"USD\", \"rates\": [1]}", "\"rates\" must be an object");
    MALFORMED("{\"base\": \"USD\", \"rates\": {}}", "\"rates\" is empty");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"usd\": 1}}",
              "\"rates\" key \"usd\" is not a 3-letter upper-case currency code");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1, \"JPYY\": 150}}", "key \"JPYY\"");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 1, \"J\\nP\": 150}}", "key \"J?P\"");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"USD\": 0}}", "the rate of USD is not a positive");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": -150}}", "the rate of JPY is not a positive");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": 0.0}}", "the rate of JPY is not a positive");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"abc\"}}",
              "the rate of JPY (\"abc\") is not a positive number");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"150 \"}}", "the rate of JPY (\"150 \")");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"\"}}", "the rate of JPY (\"\")");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": \"-1\"}}", "the rate of JPY (\"-1\")");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": true}}", "the rate of JPY is not");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": null}}", "the rate of JPY is not");
    MALFORMED("{\"base\": \"USD\", \"rates\": {\"JPY\": [150]}}", "the rate of JPY is not");
    MALFORMED("{\"base\": \"USD\", \"date\": \"2026-11-04\", \"rates\": {\"USD\": 1}}",
              "\"date\" is \"2026-11-04\", not the requested 2026-11-03");
    MALFORMED("{\"base\": \"USD\", \"date\": 20261103, \"rates\": {\"USD\": 1}}",
              "\"date\" is not a string");
    MALFORMED("{\"base\": \"USD\", \"date\": \"2026-11-03T00:00:00Z\", \"rates\": {\"USD\": 1}}",
              "\"date\" is \"2026-11-03T00:00...\"");

    /* Valid documents. The base is 1 even when left out; other members are ignored. */
    CHECK_INT(dir_doc("{\"base\": \"USD\", \"rates\": {\"JPY\": 150}}", "USD", "JPY", f, &err),
              FX_OK);
    CHECK(q_is(f, "1/150"));
    CHECK_INT(dir_doc("{\"base\": \"USD\", \"rates\": {\"JPY\": 150}}", "USD", "USD", f, &err),
              FX_OK);
    CHECK(q_is(f, "1"));
    CHECK_INT(dir_doc("{\"disclaimer\": \"x\", \"timestamp\": 1, \"base\": \"USD\", \"date\": "
                      "\"2026-11-03\", \"rates\": {\"USD\": 1, \"JPY\": \"1.5e2\"}}",
                      "USD", "JPY", f, &err),
              FX_OK);
    CHECK(q_is(f, "1/150"));
    /* Cross rates through another base: 1.08 / 162 = 1/150. */
    CHECK_INT(dir_doc("{\"base\": \"EUR\", \"rates\": {\"USD\": 1.08, \"JPY\": 162}}", "USD",
                      "JPY", f, &err),
              FX_OK);
    CHECK(q_is(f, "1/150"));
    CHECK_INT(dir_doc("{\"base\": \"EUR\", \"rates\": {\"USD\": 1.08, \"JPY\": 162}}", "USD",
                      "EUR", f, &err),
              FX_OK);
    CHECK(q_is(f, "27/25"));
    /* A real with many digits is read as the shortest text of the double. */
    CHECK_INT(dir_doc("{\"base\": \"USD\", \"rates\": {\"JPY\": 1.5e2, \"EUR\": 0.1}}", "USD",
                      "EUR", f, &err),
              FX_OK);
    CHECK(q_is(f, "10"));
    /* More currencies than a fixed table would hold (providers send ~170). */
    buf_init(&big, 0);
    buf_puts(&big, "{\"base\": \"USD\", \"rates\": {\"USD\": 1");
    for (i = 0; i < 26 * 8; i++)
        buf_printf(&big, ", \"Q%c%c\": %zu", 'A' + (int)(i / 26), 'A' + (int)(i % 26), i + 1);
    buf_puts(&big, "}}");
    CHECK_INT(dir_doc(big.data, "USD", "QHZ", f, &err), FX_OK);
    CHECK(q_is(f, "1/208"));
    /* Larger than 1 MiB. */
    buf_reset(&big);
    buf_puts(&big, "{\"base\": \"USD\", \"rates\": {\"USD\": 1}, \"pad\": \"");
    for (i = 0; i < (1u << 20); i++)
        buf_putc(&big, 'x');
    buf_puts(&big, "\"}");
    CHECK_INT(dir_doc(big.data, "USD", "USD", f, &err), FX_ERROR);
    CHECK(strstr(err.msg, "exchange rates for 2026-11-03 (") == err.msg &&
          strstr(err.msg, "larger than 1 MiB") != NULL);
    buf_free(&big);
    mpq_clear(f);
}

static void test_directory_and_file_url(void)
{
    ms_error err;
    mpq_t f;
    char used[11], path[PATH_MAX + 64], ftmpl[PATH_MAX + 64];
    fx_table *t;

    mpq_init(f);
    CHECK_INT(write_file("2026-11-03.json", doc_1103), 0);
    CHECK_INT(write_file("2026-11-05.json", doc_1105), 0);
    /* Directory. */
    t = fx_table_new(tmpdir, "USD", &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(factor_on(t, "2026-11-03", "JPY", f, used, &err), FX_OK);
        CHECK(q_is(f, "10000/1512076"));
        CHECK_INT(factor_on(t, "2026-11-05", "JPY", f, used, &err), FX_SUBSTITUTED);
        CHECK_STR(used, "2026-11-03");
        CHECK_INT(factor_on(t, "2026-11-11", "JPY", f, used, &err), FX_MISSING);
        fx_table_free(t);
    }
    /* The same through a file:// template (a missing file is an absent day). */
    snprintf(ftmpl, sizeof ftmpl, "file://%s/{date}.json", tmpdir);
    t = fx_table_new(ftmpl, "USD", &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(factor_on(t, "2026-11-03", "JPY", f, used, &err), FX_OK);
        CHECK(q_is(f, "10000/1512076"));
        CHECK_INT(factor_on(t, "2026-11-05", "JPY", f, used, &err), FX_SUBSTITUTED);
        CHECK_STR(used, "2026-11-03");
        CHECK_INT(factor_on(t, "2026-11-11", "JPY", f, used, &err), FX_MISSING);
        fx_table_free(t);
    }
    /* A malformed file:// document names the date, not the path. */
    CHECK_INT(write_file("2026-11-06.json", doc_bad_json), 0);
    t = fx_table_new(ftmpl, "USD", &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(factor_on(t, "2026-11-06", "JPY", f, used, &err), FX_ERROR);
        CHECK(strstr(err.msg, "exchange rates for 2026-11-06 from file://: malformed document: "
                              "not valid JSON") == err.msg);
        CHECK(strstr(err.msg, tmpdir) == NULL);
        fx_table_free(t);
    }
    /* A directory that does not exist: every day is absent. */
    snprintf(path, sizeof path, "%s/nowhere", tmpdir);
    t = fx_table_new(path, "USD", &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(factor_on(t, "2026-11-03", "USD", f, used, &err), FX_MISSING);
        fx_table_free(t);
    }
    mpq_clear(f);
}

static void rm_tmpdir(void)
{
    static const char *const names[] = {"2026-11-03.json", "2026-11-05.json", "2026-11-06.json"};
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
    const char *t = getenv("TMPDIR");
    ms_error err;
    int rc;
    route routes[] = {
        {"/fx/2026-11-01.json", 200, doc_1101, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-11-02.json", 200, doc_1102, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-11-03.json", 200, doc_1103, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-11-05.json", 200, doc_1105, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-10.json", 500, "boom\n", 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-11.json", 200, doc_bad_json, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-13.json", 200, doc_bad_base, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-14.json", 200, doc_wrong_date, 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-15.json", 403, "no\n", 0, 0, 0, 0, NULL, NULL},
        {"/fx/2026-10-16.json", 0, NULL, 0, 0, 0, 0, NULL, NULL},
    };

    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("MOONSTAT_FETCH_TIMEOUT");
    snprintf(tmpdir, sizeof tmpdir, "%s/moonstat-test-fx.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_INT(fetch_global_init(&err), 0);
    if (server_start(&srv, routes, MS_ARRAY_LEN(routes)) != 0) {
        perror("server_start");
        return 1;
    }
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", srv.port);
    snprintf(tmpl, sizeof tmpl, "%s/fx/{date}.json?key=SECRET", origin);

    test_new();
    test_url_days();
    test_url_errors();
    test_url_timeout();
    test_store();
    test_validation();
    test_directory_and_file_url();

    requests();
    CHECK_INT(count_all(logbuf), 0);
    CHECK_INT(server_stop(&srv), 0);
    rm_tmpdir();
    rc = check_done("test_fx_rates");
    return rc;
}
