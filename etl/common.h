/*
 * common.h - the few things every moonstat module shares: an error value that
 * carries context up to the one place that prints it, a growable byte buffer
 * with a hard cap, string references, and the logger used by the top level.
 *
 * Rules (see README "Code style"):
 *  - Library-level functions never print. They fill an ms_error and return -1
 *    (or NULL); the caller adds context or reports it.
 *  - Heap ownership is stated in each header next to the function that hands
 *    memory out.
 */
#ifndef MOONSTAT_COMMON_H
#define MOONSTAT_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define MS_ERROR_MAX 1024

/* An error message, written once where the failure is seen and possibly
 * prefixed by callers with more context ("file x: line 3: ..."). */
typedef struct ms_error {
    char msg[MS_ERROR_MAX];
} ms_error;

/* Sets err->msg (printf format). err may be NULL. Always returns -1 so that
 * `return ms_error_set(err, ...)` reads naturally. */
int ms_error_set(ms_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the existing message: "<prefix>: <old message>". Returns -1. */
int ms_error_prefix(ms_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A byte range that points into memory owned by someone else. */
typedef struct strref {
    const char *p;
    size_t n;
} strref;

/* Growable byte buffer with a cap, in the spirit of curl's dynbuf.
 * The buffer owns `data` (free with buf_free). `data` is always
 * NUL-terminated after a successful append so it can be used as a C string. */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;     /* allocated bytes */
    size_t limit;   /* maximum len; 0 means the default (1 GiB) */
} buf;

void buf_init(buf *b, size_t limit);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, memory kept */
/* Each returns 0, or -1 when the allocation fails or the cap would be
 * exceeded (b is unchanged then). */
int buf_append(buf *b, const void *p, size_t n);
int buf_putc(buf *b, char c);
int buf_puts(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logging to stderr, one line per event, with UTC timestamp and level.
 * Only the top level (job, CLI) logs. */
typedef enum { MS_LOG_DEBUG, MS_LOG_INFO, MS_LOG_WARN, MS_LOG_ERROR } ms_log_level;
void ms_log_set_level(ms_log_level min_level);
void ms_log(ms_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Duplicates n bytes into a new NUL-terminated heap string (caller frees).
 * Returns NULL on allocation failure. */
char *ms_strndup(const char *p, size_t n);

/* A growable array: returns `items` (of *cap elements of `size` bytes)
 * reallocated to hold at least `need`, doubling from `first`, and updates
 * *cap; NULL on allocation failure or overflow, when `items` and *cap are
 * unchanged and still the caller's. Use: p = ms_grow(a, &cap, n + 1, sizeof
 * *a, 64); if (!p) fail; a = p; */
void *ms_grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

/* Local days (int32_t): the qsort/bsearch comparison, and a sort that drops
 * repeats, returning how many distinct days are left at the front. */
int ms_day_cmp(const void *a, const void *b);
size_t ms_days_unique(int32_t *days, size_t n);

/* calloc(n, size) for a big hash table: when the table spans several huge
 * pages, the kernel is asked to back it with them (madvise MADV_HUGEPAGE),
 * since random probes into hundreds of megabytes of 4 KiB pages miss the TLB
 * on nearly every probe. The advice is a hint: where it is refused the table
 * works the same. Free with free(). NULL on allocation failure. */
void *ms_calloc_table(size_t n, size_t size);

/* For pthread mutex, condition and join calls, which fail only on invalid
 * arguments, i.e. a bug or corrupted memory: there is no way to go on with
 * threads in an unknown state, so such a failure aborts. */
static inline void ms_pthread_check(int rc)
{
    if (rc != 0)
        abort();
}

/* Lowers the calling thread's scheduling priority: its nice value goes up
 * by `by` (at most to 19). On Linux nice is a per-thread attribute
 * (setpriority(2)), so the rest of the process keeps its own. For helper
 * threads that must not take the CPU from the thread that paces the run.
 * A hint: returns 0, or -1 when the kernel refused (the thread then runs as
 * before, which is only slower). */
int ms_thread_lower_priority(int by);

/* Tells glibc's allocator to keep the memory the run frees: blocks below
 * 32 MiB come from its arenas instead of their own mmap, and an arena's free
 * top is handed back to the kernel only above 256 MiB. Why: every input file
 * is read into fresh per-file tables that are freed once folded, and by
 * default glibc returns that memory and takes it back file after file, so
 * the kernel zeroes and maps the same pages again. First load of the
 * 1M-event bench: 175k page faults -> 84k, system time 1.10 -> 0.78 s, wall
 * 3.07 -> 2.74 s (medians of 6); the day-30 night 2.64 -> 2.53 s; 5M: no
 * change seen. The price: peak RSS +40 MB or so (1M 273 -> 311 MB, night
 * 199 -> 243 MB). A hint: returns 0, or -1 when the C library refused (the
 * run is then only slower). Call it once, first. */
int ms_tune_allocator(void);

/* The current time as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void ms_utc_now(char out[21]);

#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* The text of a macro's value: MS_STRINGIFY(16) is "16". */
#define MS_STRINGIFY_(x) #x
#define MS_STRINGIFY(x) MS_STRINGIFY_(x)

#endif
