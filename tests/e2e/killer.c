/*
 * killer.c - LD_PRELOAD failure injection for the end-to-end tests.
 *
 * Wraps fsync, fdatasync, rename, renameat, renameat2 and unlink (the real
 * functions are found with dlsym(RTLD_NEXT)) and numbers their calls in the
 * process, starting at 1. The environment says what to do:
 *
 *   MOONSTAT_KILL_AT=N     at the Nth call, before performing it, raise(SIGKILL)
 *   MOONSTAT_STOP_AT=N     at the Nth call, before performing it, write the line
 *                          "stopped\n" to the file MOONSTAT_STOP_FIFO (open,
 *                          write, close) and raise(SIGSTOP); the call is
 *                          performed if the process is continued
 *   MOONSTAT_COUNT_FILE=P  at exit, write the number of calls (and "\n") to P
 *   MOONSTAT_VANISH=SUFFIX when the process opens a path ending in SUFFIX,
 *                          remove that file first: the file vanishes between
 *                          the moment the run listed it and the moment it
 *                          opens it (open, open64 and __open_2 are wrapped
 *                          for this; they are not counted)
 *
 * Used by kill9.sh (kill at every interesting point of a run) and lock.sh
 * (a lock holder frozen in the middle of its run).
 *
 *   LD_PRELOAD=build/tests/killer.so MOONSTAT_KILL_AT=7 bin/moonstat run ...
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exported wrappers: prototypes here keep -Wmissing-prototypes quiet even
 * where the C library does not declare them (renameat2 before glibc 2.28). */
int fsync(int fd);
int fdatasync(int fd);
int rename(const char *oldpath, const char *newpath);
int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags);
int unlink(const char *path);
int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int __open_2(const char *path, int flags);

static unsigned long calls;

/* A positive decimal from the environment, or 0 when unset or malformed. */
static unsigned long env_number(const char *name)
{
    const char *v = getenv(name);
    char *end;
    unsigned long n;
    if (!v || !*v)
        return 0;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    return n;
}

/* Writes all of s to fd (best effort; this is a test shim). */
static void write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        len -= (size_t)w;
    }
}

/* Called before each wrapped call: counts it and kills or stops the process
 * when its number is the one asked for. errno is preserved. */
static void injection_point(void)
{
    int saved = errno;
    unsigned long n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
    unsigned long kill_at = env_number("MOONSTAT_KILL_AT");
    unsigned long stop_at = env_number("MOONSTAT_STOP_AT");

    if (kill_at && n == kill_at)
        raise(SIGKILL);
    if (stop_at && n == stop_at) {
        const char *fifo = getenv("MOONSTAT_STOP_FIFO");
        if (fifo && *fifo) {
            int fd = open(fifo, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                write_all(fd, "stopped\n", 8);
                close(fd);
            }
        }
        raise(SIGSTOP);
    }
    errno = saved;
}

/* The next definition of name (the C library's), or abort: without it the
 * wrapper cannot do its job and the test must not silently pass. */
static void *real(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        static const char msg[] = "killer.so: dlsym failed\n";
        write_all(2, msg, sizeof msg - 1);
        abort();
    }
    return p;
}

int fsync(int fd)
{
    static int (*fn)(int);
    if (!fn)
        *(void **)&fn = real("fsync");
    injection_point();
    return fn(fd);
}

int fdatasync(int fd)
{
    static int (*fn)(int);
    if (!fn)
        *(void **)&fn = real("fdatasync");
    injection_point();
    return fn(fd);
}

int rename(const char *oldpath, const char *newpath)
{
    static int (*fn)(const char *, const char *);
    if (!fn)
        *(void **)&fn = real("rename");
    injection_point();
    return fn(oldpath, newpath);
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    static int (*fn)(int, const char *, int, const char *);
    if (!fn)
        *(void **)&fn = real("renameat");
    injection_point();
    return fn(olddirfd, oldpath, newdirfd, newpath);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    static int (*fn)(int, const char *, int, const char *, unsigned int);
    if (!fn)
        *(void **)&fn = real("renameat2");
    injection_point();
    return fn(olddirfd, oldpath, newdirfd, newpath, flags);
}

int unlink(const char *path)
{
    static int (*fn)(const char *);
    if (!fn)
        *(void **)&fn = real("unlink");
    injection_point();
    return fn(path);
}

static void write_count(void) __attribute__((destructor));

static void write_count(void)
{
    const char *path = getenv("MOONSTAT_COUNT_FILE");
    char text[32];
    int fd, len;
    if (!path || !*path)
        return;
    len = snprintf(text, sizeof text, "%lu\n", __atomic_load_n(&calls, __ATOMIC_SEQ_CST));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (len > 0)
        write_all(fd, text, (size_t)len);
    close(fd);
}

/* ---- MOONSTAT_VANISH ----------------------------------------------------- */

/* Removes path (with the C library's unlink, not counted) when it ends in
 * MOONSTAT_VANISH. */
static void maybe_vanish(const char *path)
{
    static int (*unlink_fn)(const char *);
    const char *suffix = getenv("MOONSTAT_VANISH");
    size_t n, m;
    if (!suffix || !*suffix || !path)
        return;
    n = strlen(path);
    m = strlen(suffix);
    if (n < m || strcmp(path + n - m, suffix) != 0)
        return;
    if (!unlink_fn)
        *(void **)&unlink_fn = real("unlink");
    unlink_fn(path);
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

typedef int (*open_fn)(const char *, int, ...);

/* open and open64: the C library's function (looked up once into *fn),
 * after maybe_vanish. */
static int vanish_then_open(open_fn *fn, const char *name, const char *path, int flags,
                            mode_t mode)
{
    if (!*fn)
        *(void **)fn = real(name);
    maybe_vanish(path);
    return (*fn)(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    static open_fn fn;
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    return vanish_then_open(&fn, "open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    static open_fn fn;
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    return vanish_then_open(&fn, "open64", path, flags, mode);
}

int __open_2(const char *path, int flags)
{
    static int (*fn)(const char *, int);
    if (!fn)
        *(void **)&fn = real("__open_2");
    maybe_vanish(path);
    return fn(path, flags);
}
