/*
 * fetch.c - one document over http(s) or file:// with libcurl (see fetch.h).
 */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"

/* ---- global initialisation ------------------------------------------------ */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_code = CURLE_OK;

static void fetch_do_global_init(void)
{
    init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int fetch_global_init(ms_error *err)
{
    pthread_once(&init_once, fetch_do_global_init);
    if (init_code != CURLE_OK)
        return ms_error_set(err, "cannot initialise libcurl: %s", curl_easy_strerror(init_code));
    return 0;
}

void fetch_options_init(fetch_options *opt)
{
    fetch_options d = FETCH_OPTIONS_DEFAULT;
    *opt = d;
}

/* ---- URLs ------------------------------------------------------------------ */

/* The parts of a URL that may hold a secret, as libcurl spells them. */
enum { PART_USER, PART_PASSWORD, PART_OPTIONS, PART_PATH, PART_QUERY, PART_FRAGMENT, N_PARTS };

typedef struct url_info {
    char origin[320];         /* scheme://host[:port] */
    int is_file;
    char *file_path;          /* file:// URLs: the decoded path (curl_free'd) */
    char *secret[N_PARTS];    /* curl_free'd by url_info_free; NULL when absent */
} url_info;

static void url_info_free(url_info *ui)
{
    size_t i;
    for (i = 0; i < N_PARTS; i++) {
        curl_free(ui->secret[i]);
        ui->secret[i] = NULL;
    }
    curl_free(ui->file_path);
    ui->file_path = NULL;
}

/* Parses url; with want_secrets, also keeps the parts that must never be
 * shown (to screen libcurl's own messages). */
static int url_info_parse(const char *url, url_info *ui, int want_secrets, ms_error *err)
{
    static const CURLUPart part_ids[N_PARTS] = {CURLUPART_USER,  CURLUPART_PASSWORD,
                                                CURLUPART_OPTIONS, CURLUPART_PATH,
                                                CURLUPART_QUERY, CURLUPART_FRAGMENT};
    CURLU *u;
    CURLUcode uc;
    char *scheme = NULL, *host = NULL, *port = NULL;
    size_t i;
    int rc = -1;

    memset(ui, 0, sizeof *ui);
    if (!url || !*url)
        return ms_error_set(err, "no URL given");
    if (!(u = curl_url()))
        return ms_error_set(err, "out of memory");
    uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        /* curl_url_strerror names the problem, never the URL. */
        ms_error_set(err, "not a valid absolute URL (%s)", curl_url_strerror(uc));
        goto out;
    }
    if ((uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK) {
        ms_error_set(err, "not a valid absolute URL (%s)", curl_url_strerror(uc));
        goto out;
    }
    if (strcmp(scheme, "file") == 0) {
        ui->is_file = 1;
        snprintf(ui->origin, sizeof ui->origin, "file://");
    } else if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) {
        if ((uc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
            ms_error_set(err, "a %s URL needs a host (%s)", scheme, curl_url_strerror(uc));
            goto out;
        }
        uc = curl_url_get(u, CURLUPART_PORT, &port, 0);
        if (uc != CURLUE_OK && uc != CURLUE_NO_PORT) {
            ms_error_set(err, "not a valid absolute URL (%s)", curl_url_strerror(uc));
            goto out;
        }
        snprintf(ui->origin, sizeof ui->origin, "%s://%s%s%s", scheme, host, port ? ":" : "",
                 port ? port : "");
    } else {
        ms_error_set(err, "unsupported URL scheme \"%.16s\": only http, https and file", scheme);
        goto out;
    }
    if (ui->is_file && want_secrets &&
        curl_url_get(u, CURLUPART_PATH, &ui->file_path, CURLU_URLDECODE) != CURLUE_OK)
        ui->file_path = NULL;
    if (want_secrets)
        for (i = 0; i < N_PARTS; i++)
            if (curl_url_get(u, part_ids[i], &ui->secret[i], 0) != CURLUE_OK)
                ui->secret[i] = NULL; /* absent ("no user", "no query", ...) */
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    if (rc != 0)
        url_info_free(ui);
    return rc;
}

int fetch_url_origin(const char *url, char *out, size_t outsz, ms_error *err)
{
    url_info ui;
    if (url_info_parse(url, &ui, 0, err) != 0)
        return -1;
    snprintf(out, outsz, "%s", ui.origin);
    url_info_free(&ui);
    return 0;
}

/* 1 when text shows the URL, one of its secret-bearing parts or the token. */
static int mentions_secret(const char *text, const char *url, const url_info *ui,
                           const char *token)
{
    size_t i;
    if (strstr(text, url) || (token && *token && strstr(text, token)))
        return 1;
    for (i = 0; i < N_PARTS; i++)
        if (ui->secret[i] && strlen(ui->secret[i]) >= 2 && strstr(text, ui->secret[i]))
            return 1;
    return 0;
}

int url_template_expand(const char *tmpl, const char *date_yyyy_mm_dd, buf *out, ms_error *err)
{
    int32_t day;
    char month[7];
    const char *p;
    int found = 0;

    buf_reset(out);
    if (!tmpl)
        return ms_error_set(err, "no URL template given");
    if (!date_yyyy_mm_dd || strlen(date_yyyy_mm_dd) != 10 ||
        day_parse(date_yyyy_mm_dd, 10, &day) != 0)
        return ms_error_set(err, "URL template: \"%.16s\" is not a date YYYY-MM-DD",
                            date_yyyy_mm_dd ? date_yyyy_mm_dd : "");
    memcpy(month, date_yyyy_mm_dd, 4);
    memcpy(month + 4, date_yyyy_mm_dd + 5, 2);
    month[6] = '\0';
    for (p = tmpl; *p;) {
        int rc;
        if (strncmp(p, "{date}", 6) == 0) {
            rc = buf_append(out, date_yyyy_mm_dd, 10);
            p += 6;
            found = 1;
        } else if (strncmp(p, "{month}", 7) == 0) {
            rc = buf_append(out, month, 6);
            p += 7;
            found = 1;
        } else {
            rc = buf_putc(out, *p++);
        }
        if (rc != 0)
            return ms_error_set(err, "URL template: the expanded URL is too long");
    }
    if (!found)
        return ms_error_set(err, "URL template has no {date} or {month} placeholder");
    return 0;
}

/* ---- the transfer ---------------------------------------------------------- */

typedef struct sink {
    CURL *h;
    buf *out;
    size_t max;
    int is_file;
    int too_big;
    int oom;
} sink;

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb;
    if (!s->is_file) {
        /* Only a 2xx body is kept: an error page of any size is not "too big". */
        long code = 0;
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299)
            return n;
    }
    if (n > s->max || s->out->len > s->max - n) {
        s->too_big = 1;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    if (buf_append(s->out, p, n) != 0) {
        s->oom = 1;
        return 0;
    }
    return n;
}

/* Waits ms milliseconds (the back-off between attempts). */
static void pause_ms(long ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

#define SETOPT(opt, value)                                                          \
    do {                                                                            \
        CURLcode sc_ = curl_easy_setopt(h, opt, value);                             \
        if (sc_ != CURLE_OK) {                                                      \
            ms_error_set(err, "cannot set up the request to %s: %s", ui.origin,     \
                         curl_easy_strerror(sc_));                                  \
            goto done;                                                              \
        }                                                                           \
    } while (0)

/* The message of a failed transfer; sets *transient when a retry may help. */
static void describe_failure(CURL *h, CURLcode cc, const char *errbuf, const char *url,
                             const url_info *ui, const fetch_options *opt, int *transient,
                             ms_error *err)
{
    const char *detail = errbuf[0] && !mentions_secret(errbuf, url, ui, opt->bearer_token)
                             ? errbuf
                             : curl_easy_strerror(cc);
    const char *o = ui->origin;
    long os_errno = 0;
    curl_off_t connect_us = 0;

    *transient = 0;
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        *transient = 1;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            ms_error_set(err, "connection refused by %s", o);
        else if (os_errno != 0)
            ms_error_set(err, "cannot connect to %s: %s", o, strerror((int)os_errno));
        else
            ms_error_set(err, "cannot connect to %s: %s", o, detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        *transient = 1;
        ms_error_set(err, "cannot resolve the host of %s", o);
        break;
    case CURLE_COULDNT_RESOLVE_PROXY:
        *transient = 1;
        ms_error_set(err, "cannot resolve the proxy for %s", o);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        *transient = 1;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
        if (connect_us == 0 && !ui->is_file)
            ms_error_set(err, "timeout after %lds connecting to %s",
                         opt->connect_timeout_s < opt->timeout_s ? opt->connect_timeout_s
                                                                 : opt->timeout_s,
                         o);
        else
            ms_error_set(err, "timeout after %lds fetching from %s", opt->timeout_s, o);
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        *transient = 1;
        ms_error_set(err, "connection to %s broke off: %s", o, detail);
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        ms_error_set(err, "more than %ld redirects from %s", FETCH_MAX_REDIRECTS, o);
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        ms_error_set(err, "%s redirected to a URL that is not http or https; not followed", o);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        ms_error_set(err, "TLS error with %s: %s", o, detail);
        break;
    case CURLE_READ_ERROR:
    case CURLE_FILE_COULDNT_READ_FILE:
        ms_error_set(err, "cannot read the document from %s: %s", o, detail);
        break;
    default:
        ms_error_set(err, "fetching from %s failed: %s", o, detail);
        break;
    }
}

/* One attempt. Returns 0, 1 (not found) or -1 with err set and *transient. */
static int fetch_once(CURL *h, sink *s, char *errbuf, const char *url, const url_info *ui,
                      const fetch_options *opt, long *status, int *transient, ms_error *err)
{
    CURLcode cc;
    long code = 0;

    *transient = 0;
    *status = 0;
    buf_reset(s->out);
    s->too_big = s->oom = 0;
    errbuf[0] = '\0';
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    *status = code;
    if (s->too_big)
        return ms_error_set(err, "the document from %s is larger than %zu bytes", ui->origin,
                            s->max);
    if (s->oom)
        return ms_error_set(err, "out of memory reading the document from %s", ui->origin);
    if (cc != CURLE_OK) {
        if (ui->is_file && cc == CURLE_FILE_COULDNT_READ_FILE) {
            /* libcurl says the same for a missing and an unreadable file:
             * only a file that is not there is "not found". */
            int e = 0;
            if (ui->file_path && (access(ui->file_path, F_OK) != 0 ||
                                  access(ui->file_path, R_OK) != 0))
                e = errno;
            if (!ui->file_path || e == ENOENT || e == ENOTDIR)
                return 1;
            return ms_error_set(err, "cannot read the document from file:// (%s)",
                                e ? strerror(e) : "the file exists but cannot be opened");
        }
        describe_failure(h, cc, errbuf, url, ui, opt, transient, err);
        return -1;
    }
    if (ui->is_file) {
        *status = 200;
        return 0;
    }
    if (code >= 200 && code <= 299)
        return 0;
    if (code == 404 || code == 410)
        return 1;
    if (code >= 500 || code == 429) {
        *transient = 1;
        return ms_error_set(err, "HTTP %ld from %s", code, ui->origin);
    }
    if (code >= 300 && code <= 399)
        return ms_error_set(err, "HTTP %ld from %s (a redirect without a usable Location)", code,
                            ui->origin);
    if (code == 0)
        return ms_error_set(err, "no HTTP response from %s", ui->origin);
    return ms_error_set(err, "HTTP %ld from %s", code, ui->origin);
}

int fetch_url(const char *url, const fetch_options *opt_in, buf *out, long *http_status,
              ms_error *err)
{
    fetch_options opt;
    url_info ui;
    sink s;
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    buf auth;
    CURL *h = NULL;
    long status = 0, delay;
    int attempt, rc = -1, transient = 0;

    buf_init(&auth, 0);
    if (http_status)
        *http_status = 0;
    if (opt_in)
        opt = *opt_in;
    else
        fetch_options_init(&opt);
    if (opt.connect_timeout_s <= 0)
        opt.connect_timeout_s = FETCH_DEFAULT_CONNECT_TIMEOUT_S;
    if (opt.timeout_s <= 0)
        opt.timeout_s = FETCH_DEFAULT_TIMEOUT_S;
    if (opt.retries < 0)
        opt.retries = 0;
    if (opt.retry_delay_ms < 0)
        opt.retry_delay_ms = 0;
    if (opt.max_bytes == 0)
        opt.max_bytes = FETCH_DEFAULT_MAX_BYTES;
    if (!out)
        return ms_error_set(err, "fetch: no output buffer");
    buf_reset(out);
    if (url_info_parse(url, &ui, 1, err) != 0)
        return -1;
    if (fetch_global_init(err) != 0)
        goto done;
    if (opt.bearer_token) {
        const char *t;
        for (t = opt.bearer_token; *t; t++)
            if ((unsigned char)*t < 0x20 || *t == 0x7f) {
                ms_error_set(err, "the bearer token for %s contains control characters",
                             ui.origin);
                goto done;
            }
        if (buf_printf(&auth, "Authorization: Bearer %s", opt.bearer_token) != 0 ||
            !(headers = curl_slist_append(NULL, auth.data))) {
            ms_error_set(err, "out of memory");
            goto done;
        }
    }
    if (!(h = curl_easy_init())) {
        ms_error_set(err, "cannot create a libcurl handle for %s", ui.origin);
        goto done;
    }
    s.h = h;
    s.out = out;
    s.max = opt.max_bytes < out->limit ? opt.max_bytes : out->limit;
    s.is_file = ui.is_file;
    s.too_big = s.oom = 0;
    errbuf[0] = '\0';

    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0: the _STR forms */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https,file");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
    SETOPT(CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_FAILONERROR, 0L);
    SETOPT(CURLOPT_CONNECTTIMEOUT, opt.connect_timeout_s);
    SETOPT(CURLOPT_TIMEOUT, opt.timeout_s);
    SETOPT(CURLOPT_USERAGENT, "moonstat-fetch");
    SETOPT(CURLOPT_ACCEPT_ENCODING, ""); /* max_bytes bounds the decoded body */
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &s);
    if (headers)
        SETOPT(CURLOPT_HTTPHEADER, headers); /* libcurl drops it on a redirect to another host */

    delay = opt.retry_delay_ms;
    for (attempt = 0;; attempt++) {
        rc = fetch_once(h, &s, errbuf, url, &ui, &opt, &status, &transient, err);
        if (rc >= 0 || !transient || attempt >= opt.retries)
            break;
        pause_ms(delay);
        delay = delay > 30000 ? 60000 : delay * 2;
    }
    if (rc < 0 && attempt > 0 && err) {
        char msg[MS_ERROR_MAX];
        memcpy(msg, err->msg, sizeof msg);
        ms_error_set(err, "%s (%d attempts)", msg, attempt + 1);
    }
    if (rc == 0 && !out->data && buf_append(out, "", 0) != 0) {
        ms_error_set(err, "out of memory");
        rc = -1;
    }
    if (http_status)
        *http_status = status;
done:
    if (rc != 0)
        buf_reset(out);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    if (auth.data)
        memset(auth.data, 0, auth.len); /* the token does not linger in freed memory */
    buf_free(&auth);
    url_info_free(&ui);
    return rc;
}
