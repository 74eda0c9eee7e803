/*
 * alert.h - the failure alert that cron/moonstat-cron sends to a webhook
 * (operations.md "Behaviour a cron job can rely on": "optional alert to a
 * webhook URL with libcurl on failure"). Used by `moonstat alert`.
 *
 * A webhook URL usually carries its secret in the path or the query
 * (https://hooks.example.com/services/T0/B0/XXXX), so nothing here ever puts
 * the URL, its path, query or user info into an error message: failures say
 * "webhook <host>: ...". Nothing is printed.
 */
#ifndef MOONSTAT_ALERT_H
#define MOONSTAT_ALERT_H

#include "common.h"

/* Appends to `out` one compact JSON object (no trailing newline):
 *   {"text": "moonstat on <host>: <command> failed with exit <code>: <message>",
 *    "host": ..., "command": ..., "exit_code": <code>, "message": ...}
 * The "text" field (what Slack-style webhooks show) drops ": <message>" when
 * message is NULL or empty; "message" is then "". Bytes that are not valid
 * UTF-8 are replaced by U+FFFD so that any log line can be passed.
 * host and command must not be NULL. Returns 0, or -1 (out of memory, the
 * cap of `out`, NULL host/command); `out` is unchanged on failure. */
int alert_body(buf *out, const char *host, const char *command, int exit_code,
               const char *message);

/* POSTs json_body to url (http:// or https:// only) with
 * "Content-Type: application/json", using libcurl: the whole exchange is
 * bounded by timeout_seconds (> 0; connecting too), TLS certificates and host
 * names are verified (libcurl's defaults), redirects are not followed (and
 * could only ever go to http/https), no signals are used, and the response
 * body is discarded. Any status outside 200..299 is a failure that names it.
 * Initialises libcurl globally on the first call (not thread-safe with other
 * libcurl users starting at the same time; the CLI calls it single-threaded).
 * Returns 0, or -1 with err set ("webhook <host>: HTTP 500", "webhook <host>:
 * timeout after 5 s (...)", ...; never the URL). */
int alert_send(const char *url, const char *json_body, long timeout_seconds, ms_error *err);

#endif
