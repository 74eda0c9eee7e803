/*
 * common.c - errors, capped buffers and the stderr logger.
 */
#include "common.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BUF_DEFAULT_LIMIT ((size_t)1 << 30)

int ms_error_set(ms_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ms_error_prefix(ms_error *err, const char *fmt, ...)
{
    if (err) {
        char joined[MS_ERROR_MAX];
        size_t used;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(joined, sizeof joined, fmt, ap);
        va_end(ap);
        used = strlen(joined);
        if (used + 2 < sizeof joined) {
            /* Copy as much of the old message as fits; truncation is fine. */
            joined[used++] = ':';
            joined[used++] = ' ';
            joined[used] = '\0';
            size_t room = sizeof joined - used - 1;
            size_t n = strnlen(err->msg, sizeof err->msg);
            if (n > room)
                n = room;
            memcpy(joined + used, err->msg, n);
            joined[used + n] = '\0';
        }
        memcpy(err->msg, joined, sizeof err->msg);
    }
    return -1;
}

void buf_init(buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : BUF_DEFAULT_LIMIT;
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_reserve(buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;
    if (extra > b->limit || b->len > b->limit - extra)
        return -1;
    need = b->len + extra + 1; /* room for the NUL */
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    p = realloc(b->data, ncap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_putc(buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_puts(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

static ms_log_level log_min_level = MS_LOG_INFO;

void ms_log_set_level(ms_log_level min_level)
{
    log_min_level = min_level;
}

void ms_log(ms_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char stamp[32] = "?";
    char line[4096];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (level < log_min_level)
        return;
    if (clock_gettime(CLOCK_REALTIME, &now) == 0 && gmtime_r(&now.tv_sec, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent writers do not interleave. */
    fprintf(stderr, "%s %s moonstat: %s\n", stamp, names[level], line);
}

char *ms_strndup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void ms_utc_now(char out[21])
{
    struct timespec now;
    struct tm tm;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0 || !gmtime_r(&now.tv_sec, &tm)) {
        snprintf(out, 21, "1970-01-01T00:00:00Z");
        return;
    }
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void *ms_grow(void *items, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
    void *p;
    if (need <= *cap)
        return items;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (size && ncap > SIZE_MAX / size)
        return NULL;
    if (!(p = realloc(items, ncap * size)))
        return NULL;
    *cap = ncap;
    return p;
}

int ms_day_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

size_t ms_days_unique(int32_t *days, size_t n)
{
    size_t i, kept = 0;
    if (n == 0)
        return 0; /* qsort(NULL, 0, ...) is undefined */
    qsort(days, n, sizeof *days, ms_day_cmp);
    for (i = 0; i < n; i++)
        if (kept == 0 || days[kept - 1] != days[i])
            days[kept++] = days[i];
    return kept;
}

#define HUGE_PAGE ((uintptr_t)2 << 20)

int ms_thread_lower_priority(int by)
{
    id_t self = (id_t)gettid();
    int now;
    errno = 0;
    now = getpriority(PRIO_PROCESS, self); /* -1 is a valid nice value: errno tells */
    if (now == -1 && errno != 0)
        return -1;
    now = now + by > 19 ? 19 : now + by;
    return setpriority(PRIO_PROCESS, self, now);
}

/* The largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2). */
#define ALLOC_MMAP_THRESHOLD ((size_t)32 << 20)
#define ALLOC_TRIM_THRESHOLD ((size_t)256 << 20)

int ms_tune_allocator(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* mallopt returns 1 on success, 0 when it refuses a value. */
    if (mallopt(M_MMAP_THRESHOLD, (int)ALLOC_MMAP_THRESHOLD) != 1 ||
        mallopt(M_TRIM_THRESHOLD, (int)ALLOC_TRIM_THRESHOLD) != 1)
        return -1;
    return 0;
#else
    return -1;
#endif
}

void *ms_calloc_table(size_t n, size_t size)
{
    void *p = calloc(n, size);
    uintptr_t from, to;
    if (!p || !size || n > SIZE_MAX / size || n * size < 4 * HUGE_PAGE)
        return p;
    from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    to = ((uintptr_t)p + n * size) & ~(HUGE_PAGE - 1);
    /* The result is deliberately ignored: a kernel without transparent huge
     * pages (EINVAL) or one that declines leaves the table on small pages,
     * which is only slower. */
    (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
    return p;
}
