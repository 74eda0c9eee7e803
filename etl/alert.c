/*
 * alert.c - the webhook alert of a failed cron run (see alert.h).
 */
#include "alert.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the JSON body ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included).
 * Never reads past the terminating NUL. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned c = p[0], lo, hi;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

/* Appends s to b with every invalid UTF-8 byte replaced by U+FFFD, plus a
 * NUL that is not counted in b->len (so b->data + start is a C string). */
static int utf8_clean(buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;
    while (*p) {
        n = utf8_seq_len(p);
        if (n == 0) {
            if (buf_append(b, "\xEF\xBF\xBD", 3) != 0)
                return -1;
            p++;
        } else {
            if (buf_append(b, p, n) != 0)
                return -1;
            p += n;
        }
    }
    if (buf_putc(b, '\0') != 0)
        return -1;
    b->len--;
    return 0;
}

int alert_body(buf *out, const char *host, const char *command, int exit_code,
               const char *message)
{
    buf clean_host, clean_command, clean_message, text;
    json_t *obj = NULL;
    char *dumped = NULL;
    int rc = -1;

    buf_init(&clean_host, 0);
    buf_init(&clean_command, 0);
    buf_init(&clean_message, 0);
    buf_init(&text, 0);
    if (!out || !host || !command)
        goto done;
    if (!message)
        message = "";
    if (utf8_clean(&clean_host, host) != 0 || utf8_clean(&clean_command, command) != 0 ||
        utf8_clean(&clean_message, message) != 0)
        goto done;
    if (buf_printf(&text, "moonstat on %s: %s failed with exit %d", clean_host.data,
                   clean_command.data, exit_code) != 0)
        goto done;
    if (clean_message.len > 0 && buf_printf(&text, ": %s", clean_message.data) != 0)
        goto done;
    if (!(obj = json_object()))
        goto done;
    /* jansson keeps insertion order, so the body reads in this order. */
    if (json_object_set_new(obj, "text", json_stringn(text.data, text.len)) != 0 ||
        json_object_set_new(obj, "host", json_stringn(clean_host.data, clean_host.len)) != 0 ||
        json_object_set_new(obj, "command",
                            json_stringn(clean_command.data, clean_command.len)) != 0 ||
        json_object_set_new(obj, "exit_code", json_integer(exit_code)) != 0 ||
        json_object_set_new(obj, "message",
                            json_stringn(clean_message.data, clean_message.len)) != 0)
        goto done;
    if (!(dumped = json_dumps(obj, JSON_COMPACT)))
        goto done;
    if (buf_puts(out, dumped) != 0)
        goto done;
    rc = 0;
done:
    free(dumped);
    json_decref(obj);
    buf_free(&text);
    buf_free(&clean_message);
    buf_free(&clean_command);
    buf_free(&clean_host);
    return rc;
}

/* ---- the POST ----------------------------------------------------------- */

static int curl_ready; /* curl_global_init succeeded */

/* The response body is not wanted (and must not reach stdout). */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

/* The parts of the URL that may hold a secret, as libcurl spells them. */
enum { PART_USER, PART_PASSWORD, PART_OPTIONS, PART_PATH, PART_QUERY, PART_FRAGMENT, N_PARTS };

/* 1 when text contains the URL or one of its secret-bearing parts. Such a
 * libcurl message is replaced by curl_easy_strerror()'s fixed text. */
static int mentions_secret(const char *text, const char *url, char *const parts[N_PARTS])
{
    size_t i;
    if (strstr(text, url))
        return 1;
    for (i = 0; i < N_PARTS; i++) {
        if (!parts[i] || strlen(parts[i]) < 2) /* "/" or a 1-byte part says nothing */
            continue;
        if (strstr(text, parts[i]))
            return 1;
    }
    return 0;
}

#define SETOPT(opt, value)                                                         \
    do {                                                                           \
        if ((cc = curl_easy_setopt(h, opt, value)) != CURLE_OK) {                  \
            ms_error_set(err, "webhook %s: cannot set up the request: %s", host,   \
                         curl_easy_strerror(cc));                                  \
            goto done;                                                             \
        }                                                                          \
    } while (0)

int alert_send(const char *url, const char *json_body, long timeout_seconds, ms_error *err)
{
    static const CURLUPart part_ids[N_PARTS] = {CURLUPART_USER,  CURLUPART_PASSWORD,
                                                CURLUPART_OPTIONS, CURLUPART_PATH,
                                                CURLUPART_QUERY, CURLUPART_FRAGMENT};
    char *parts[N_PARTS] = {NULL};
    char errbuf[CURL_ERROR_SIZE];
    char *scheme = NULL, *url_host = NULL;
    const char *host = "(unknown host)", *detail;
    struct curl_slist *headers = NULL, *more;
    CURLU *u = NULL;
    CURL *h = NULL;
    CURLUcode uc;
    CURLcode cc;
    long status = 0;
    size_t i;
    int rc = -1;

    errbuf[0] = '\0';
    if (!url || !*url) {
        ms_error_set(err, "webhook: no URL given");
        goto done;
    }
    if (!json_body) {
        ms_error_set(err, "webhook: no body given");
        goto done;
    }
    if (timeout_seconds <= 0) {
        ms_error_set(err, "webhook: the timeout must be at least 1 second, got %ld",
                     timeout_seconds);
        goto done;
    }
    if (!curl_ready) {
        if ((cc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
            ms_error_set(err, "webhook: cannot initialise libcurl: %s", curl_easy_strerror(cc));
            goto done;
        }
        curl_ready = 1;
    }

    /* Parse the URL first: the host names the webhook in every message. */
    if (!(u = curl_url())) {
        ms_error_set(err, "webhook: out of memory");
        goto done;
    }
    if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
        ms_error_set(err, "webhook: the URL is not a valid absolute http(s) URL (%s)",
                     curl_url_strerror(uc));
        goto done;
    }
    if ((uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
        (uc = curl_url_get(u, CURLUPART_HOST, &url_host, 0)) != CURLUE_OK) {
        ms_error_set(err, "webhook: the URL has no scheme or host (%s)", curl_url_strerror(uc));
        goto done;
    }
    host = url_host;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        ms_error_set(err, "webhook %s: only http and https URLs are allowed", host);
        goto done;
    }
    for (i = 0; i < N_PARTS; i++) {
        uc = curl_url_get(u, part_ids[i], &parts[i], 0);
        if (uc != CURLUE_OK && uc != CURLUE_NO_USER && uc != CURLUE_NO_PASSWORD &&
            uc != CURLUE_NO_OPTIONS && uc != CURLUE_NO_QUERY && uc != CURLUE_NO_FRAGMENT) {
            ms_error_set(err, "webhook %s: cannot parse the URL (%s)", host,
                         curl_url_strerror(uc));
            goto done;
        }
    }

    if (!(h = curl_easy_init())) {
        ms_error_set(err, "webhook %s: cannot create a libcurl handle", host);
        goto done;
    }
    if (!(more = curl_slist_append(headers, "Content-Type: application/json"))) {
        ms_error_set(err, "webhook %s: out of memory", host);
        goto done;
    }
    headers = more;
    /* No "Expect: 100-continue" round trip for a body of a few hundred bytes. */
    if (!(more = curl_slist_append(headers, "Expect:"))) {
        ms_error_set(err, "webhook %s: out of memory", host);
        goto done;
    }
    headers = more;

    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* A redirected POST would lose its body (or hand it to another host):
     * not followed, and reported below as a failure. */
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT, timeout_seconds);
    SETOPT(CURLOPT_CONNECTTIMEOUT, timeout_seconds);
    /* TLS: libcurl's defaults verify the peer's certificate and host name. */
    SETOPT(CURLOPT_USERAGENT, "moonstat-alert");
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json_body));
    SETOPT(CURLOPT_POSTFIELDS, json_body);
    SETOPT(CURLOPT_WRITEFUNCTION, discard);

    if ((cc = curl_easy_perform(h)) != CURLE_OK) {
        detail = errbuf[0] && !mentions_secret(errbuf, url, parts) ? errbuf
                                                                   : curl_easy_strerror(cc);
        if (cc == CURLE_OPERATION_TIMEDOUT)
            ms_error_set(err, "webhook %s: timeout after %ld s (%s)", host, timeout_seconds,
                         detail);
        else
            ms_error_set(err, "webhook %s: %s", host, detail);
        goto done;
    }
    if ((cc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status)) != CURLE_OK) {
        ms_error_set(err, "webhook %s: no HTTP status: %s", host, curl_easy_strerror(cc));
        goto done;
    }
    if (status < 200 || status > 299) {
        ms_error_set(err, "webhook %s: HTTP %ld%s", host, status,
                     status >= 300 && status <= 399 ? " (redirects are not followed)" : "");
        goto done;
    }
    rc = 0;
done:
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    for (i = 0; i < N_PARTS; i++)
        curl_free(parts[i]);
    curl_free(url_host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}
