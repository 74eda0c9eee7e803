/*
 * parse_bench.c - throughput of the event parser on a .jsonl file.
 *
 *   parse_bench FILE.jsonl [GAMES]
 *
 * Reads the whole (uncompressed) file into memory, then times, best of 3:
 *   (a) line splitting only (what every variant below pays too),
 *   (b) the reference path (jansson; event_parser_set_reference on),
 *   (c) the fast path (the default),
 * and reports MB/s (of line bytes, 10^6 bytes per MB) and lines/s of each.
 * GAMES is a comma-separated list of configured game ids (default: the
 * generator's reversal,rainbow,star). The outcome counts of (b) and (c) are
 * printed too and must be equal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_parser.h"

#define ROUNDS 3

typedef struct counts {
    size_t lines, ok, unknown, rejected;
    unsigned long long sink;
} counts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls fn on every non-empty line (terminator and a CR before it removed,
 * as the line reader does). */
static void each_line(const char *data, size_t size, event_parser *p, counts *c)
{
    const char *s = data, *end = data + size;
    memset(c, 0, sizeof *c);
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        size_t len = (size_t)(e - s);
        if (len > 0 && s[len - 1] == '\r' && nl != NULL)
            len--;
        if (len > 0) {
            c->lines++;
            if (p == NULL) {
                c->sink += (unsigned char)s[len - 1] + len;
            } else {
                sdk_event ev;
                reject_reason why;
                int game;
                switch (event_parser_parse(p, s, len, len > 65536, &ev, &why, &game)) {
                case PARSE_OK:
                    c->ok++;
                    c->sink += (unsigned long long)ev.ts_ms + ev.event_id.n;
                    break;
                case PARSE_UNKNOWN_EVENT:
                    c->unknown++;
                    break;
                case PARSE_REJECTED:
                    c->rejected++;
                    break;
                }
            }
        }
        s = nl ? nl + 1 : end;
    }
}

static void run(const char *name, const char *data, size_t size, event_parser *p)
{
    double best = 1e30;
    counts c;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        each_line(data, size, p, &c);
        double t = now_s() - t0;
        if (t < best)
            best = t;
    }
    printf("%-22s %10.1f MB/s %12.0f lines/s  (%.3f s; %zu lines", name, (double)size / best / 1e6,
           (double)c.lines / best, best, c.lines);
    if (p != NULL)
        printf(": %zu ok, %zu unknown_event, %zu rejected", c.ok, c.unknown, c.rejected);
    printf(")\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *games_arg = argc > 2 ? argv[2] : "reversal,rainbow,star";
    const char *games[64];
    size_t n_games = 0;
    char *games_copy, *tok, *save = NULL;
    FILE *f;
    char *data;
    long size;

    if (argc < 2) {
        fprintf(stderr, "usage: parse_bench FILE.jsonl [GAMES]\n");
        return 2;
    }
    games_copy = strdup(games_arg);
    for (tok = strtok_r(games_copy, ",", &save); tok != NULL && n_games < 64;
         tok = strtok_r(NULL, ",", &save))
        games[n_games++] = tok;

    f = fopen(argv[1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(argv[1]);
        return 1;
    }
    data = malloc((size_t)size + 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: read failed\n", argv[1]);
        return 1;
    }
    fclose(f);

    event_parser *ref = event_parser_new(games, n_games);
    event_parser *fast = event_parser_new(games, n_games);
    if (ref == NULL || fast == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    event_parser_set_reference(ref, 1);

    printf("parse_bench %s: %ld bytes, best of %d\n", argv[1], size, ROUNDS);
    run("(a) line splitting", data, (size_t)size, NULL);
    run("(b) reference jansson", data, (size_t)size, ref);
    run("(c) fast path", data, (size_t)size, fast);

    event_parser_free(ref);
    event_parser_free(fast);
    free(data);
    free(games_copy);
    return 0;
}
