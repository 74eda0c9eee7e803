/*
 * fetch.h - one document over http://, https:// or file:// with libcurl,
 * shared by the exchange rates (inputs.md section 4) and, later, the
 * channel statements (section 3).
 *
 * A URL may carry a secret in its path, query or user info (an API key, a
 * signed link), so nothing here ever puts the URL into an error message:
 * messages name the scheme and host only ("HTTP 500 from
 * https://rates.example.com", "timeout after 60s fetching from
 * https://rates.example.com", "connection refused by http://127.0.0.1:8080").
 * Nothing is printed.
 *
 * libcurl must be initialised once per process before the first fetch:
 * call fetch_global_init() early in main, while the process is still
 * single-threaded (curl_global_init is not thread-safe in every libcurl).
 * fetch_url() calls it too, so a forgotten call is not fatal, but only the
 * early call is guaranteed to be safe with threads around.
 */
#ifndef MOONSTAT_FETCH_H
#define MOONSTAT_FETCH_H

#include <stddef.h>

#include "common.h"

#define FETCH_DEFAULT_CONNECT_TIMEOUT_S 10L
#define FETCH_DEFAULT_TIMEOUT_S 60L
#define FETCH_DEFAULT_RETRIES 3
#define FETCH_DEFAULT_RETRY_DELAY_MS 500L
#define FETCH_DEFAULT_MAX_BYTES ((size_t)16 << 20) /* 16 MiB */
#define FETCH_MAX_REDIRECTS 5L

typedef struct fetch_options {
    long connect_timeout_s;   /* connecting, per attempt; <= 0: the default (10) */
    long timeout_s;           /* the whole transfer, per attempt; <= 0: the default (60) */
    int retries;              /* extra attempts after a transient failure (< 0: 0) */
    long retry_delay_ms;      /* before the first retry, doubling each time (< 0: 0) */
    size_t max_bytes;         /* a larger body is an error; 0: the default (16 MiB) */
    const char *bearer_token; /* optional: "Authorization: Bearer <token>" (never logged) */
} fetch_options;

/* The defaults as an initializer: 10 s, 60 s, 3 retries, 500 ms, 16 MiB, no token. */
#define FETCH_OPTIONS_DEFAULT                                                        \
    {FETCH_DEFAULT_CONNECT_TIMEOUT_S, FETCH_DEFAULT_TIMEOUT_S, FETCH_DEFAULT_RETRIES, \
     FETCH_DEFAULT_RETRY_DELAY_MS, FETCH_DEFAULT_MAX_BYTES, NULL}

/* Sets *opt to FETCH_OPTIONS_DEFAULT. */
void fetch_options_init(fetch_options *opt);

/* curl_global_init, once per process (pthread_once). Returns 0, or -1 with
 * err set; a failure is remembered and returned by every later call. */
int fetch_global_init(ms_error *err);

/* Fetches url (http, https or file; anything else is refused before any I/O)
 * into out, which the caller has buf_init'ed: out is reset first and holds
 * the body (NUL-terminated) only when 0 is returned. opt NULL means the
 * defaults. *http_status (may be NULL) gets the final HTTP status (200 for a
 * file:// document that was read, 0 when no response came).
 *
 * Behaviour: redirects are followed (at most 5, and only to http/https: a
 * redirect never reaches a local file); TLS peer and host verification are on
 * and cannot be turned off; no signals (CURLOPT_NOSIGNAL); proxies come from
 * the usual environment variables. Transient failures are retried
 * opt->retries times, waiting retry_delay_ms, then twice that, ...: could not
 * connect or resolve, timeouts, connections dropped mid-transfer, HTTP 5xx
 * and 429. Other 4xx, TLS errors, oversized bodies are not retried.
 *
 * Returns
 *    0  a 2xx response (or a file:// document): the body is in out;
 *    1  "not found": HTTP 404 or 410, or a file:// file that does not exist
 *       (libcurl's CURLE_FILE_COULDNT_READ_FILE where the path, or a
 *       directory on it, is missing) - callers treat the document as absent.
 *       A file:// file that exists but cannot be read is -1, not 1;
 *   -1  any other failure, err set to one line naming scheme and host only. */
int fetch_url(const char *url, const fetch_options *opt, buf *out, long *http_status,
              ms_error *err);

/* Writes "<scheme>://<host>[:<port>]" of url into out (outsz bytes; no user
 * info, path, query or fragment), the form every message uses; "file://" for
 * a local file. Returns 0, or -1 with err set when url is not an absolute
 * http, https or file URL (the message does not repeat the URL either). */
int fetch_url_origin(const char *url, char *out, size_t outsz, ms_error *err);

/* Appends to out (which the caller has buf_init'ed; it is reset first) the
 * template with every "{date}" replaced by date_yyyy_mm_dd and every
 * "{month}" by its YYYYMM. Returns 0, or -1 with err set when the template
 * has neither placeholder, the date is not a valid YYYY-MM-DD, or out is full.
 * Other text, braces included, is copied as it is. */
int url_template_expand(const char *tmpl, const char *date_yyyy_mm_dd, buf *out, ms_error *err);

#endif
