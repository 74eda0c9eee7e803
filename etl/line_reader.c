/*
 * line_reader.c - physical lines out of plain or gzip files (inputs.md 1).
 *
 * Layers:
 *  - raw_sum: size + XXH3-64 of the bytes read from disk; both the sources
 *    and file_identity feed it, so a file's identity is the same whichever
 *    way it was computed. (Before, CRC-32 and Adler-32 of zlib, which
 *    file_identity still computes on request for records made then.)
 *  - sources ("file", "gzip"): turn a path into a stream of content bytes.
 *  - line_reader: splits that stream into lines with memchr over one fixed
 *    buffer, so memory stays bounded whatever the input looks like.
 */
#include "line_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>
#include <xxhash.h>
#include <zlib.h>

/* Bytes asked of read(2) at a time, for both sources and file_identity. */
#define RAW_CHUNK ((size_t)1 << 20)

/* Slack added to the ratio bound so that tiny files with highly repetitive
 * content (a few bytes of gzip that hold a page of text) are not rejected. */
#define RATIO_SLACK ((uint64_t)1 << 20)

/* The too-long path copies the kept prefix to the start of the buffer while
 * the rest of the line is still pending behind it; that needs KEEP <= MAX. */
_Static_assert(LINE_READER_KEEP <= LINE_READER_MAX_LINE,
               "LINE_READER_KEEP must not exceed LINE_READER_MAX_LINE");

/* ------------------------------------------------------------------------ */
/* Raw bytes: size and checksum                                              */
/* ------------------------------------------------------------------------ */

/* XXH3-64 (libxxhash) rather than zlib's CRC-32 + Adler-32: 1.2 GB in
 * 0.07 s instead of 0.7-0.8 s of one core, which was a seventh of the 5M
 * event bench's read (the measurement is in README "Dependencies"). The
 * state is XXH3_createState's: it must be 64-byte aligned. */
typedef struct raw_sum {
    uint64_t bytes;
    XXH3_state_t *xxh;     /* owned; NULL before init and after free */
} raw_sum;

/* Returns 0, or -1 when out of memory. */
static int raw_sum_init(raw_sum *s)
{
    s->bytes = 0;
    s->xxh = XXH3_createState();
    return s->xxh && XXH3_64bits_reset(s->xxh) == XXH_OK ? 0 : -1;
}

/* Fails only for a NULL state or NULL bytes, i.e. never after init. */
static int raw_sum_update(raw_sum *s, const void *p, size_t n)
{
    s->bytes += n;
    return XXH3_64bits_update(s->xxh, p, n) == XXH_OK ? 0 : -1;
}

static uint64_t raw_sum_checksum(const raw_sum *s)
{
    return (uint64_t)XXH3_64bits_digest(s->xxh);
}

static void raw_sum_free(raw_sum *s)
{
    XXH3_freeState(s->xxh); /* NULL is fine */
    s->xxh = NULL;
}

/* The identity of records made before XXH3: CRC-32 << 32 | Adler-32. */
typedef struct legacy_sum {
    uLong crc, adler;
} legacy_sum;

static void legacy_sum_init(legacy_sum *s)
{
    s->crc = crc32(0L, Z_NULL, 0);
    s->adler = adler32(0L, Z_NULL, 0);
}

/* n is at most RAW_CHUNK, so it always fits zlib's uInt. */
static void legacy_sum_update(legacy_sum *s, const void *p, size_t n)
{
    s->crc = crc32(s->crc, p, (uInt)n);
    s->adler = adler32(s->adler, p, (uInt)n);
}

static uint64_t legacy_sum_checksum(const legacy_sum *s)
{
    return ((uint64_t)(s->crc & 0xffffffffu) << 32) | (uint64_t)(s->adler & 0xffffffffu);
}

/* read(2) that retries on EINTR. Returns the count, 0 at EOF, -1 with errno. */
static ssize_t read_retry(int fd, void *dst, size_t cap)
{
    ssize_t n;
    do {
        n = read(fd, dst, cap);
    } while (n < 0 && errno == EINTR);
    return n;
}

static int open_raw(const char *path, ms_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        ms_error_set(err, "cannot open: %s", strerror(errno));
    return fd;
}

/* ------------------------------------------------------------------------ */
/* Source "file": the bytes on disk are the content                          */
/* ------------------------------------------------------------------------ */

typedef struct file_state {
    int fd;
    raw_sum sum;
} file_state;

static void file_close(void *state);

static void *file_open(const char *path, ms_error *err)
{
    file_state *st = NULL;
    int fd = open_raw(path, err);

    if (fd < 0)
        goto out;
    st = malloc(sizeof *st);
    if (!st) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    st->fd = fd;
    fd = -1; /* owned by st now */
    if (raw_sum_init(&st->sum) != 0) {
        ms_error_set(err, "out of memory");
        file_close(st);
        st = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    return st;
}

static long file_read(void *state, char *dst, size_t cap, ms_error *err)
{
    file_state *st = state;
    ssize_t n;

    if (cap > RAW_CHUNK)
        cap = RAW_CHUNK;
    n = read_retry(st->fd, dst, cap);
    if (n < 0)
        return ms_error_set(err, "read error: %s", strerror(errno));
    if (raw_sum_update(&st->sum, dst, (size_t)n) != 0)
        return ms_error_set(err, "checksum failed");
    return (long)n;
}

static void file_raw_stats(void *state, uint64_t *raw_bytes, uint64_t *checksum)
{
    const file_state *st = state;
    *raw_bytes = st->sum.bytes;
    *checksum = raw_sum_checksum(&st->sum);
}

static void file_close(void *state)
{
    file_state *st = state;
    if (!st)
        return;
    close(st->fd); /* read-only: nothing to lose if close fails */
    raw_sum_free(&st->sum);
    free(st);
}

static const line_source source_file = {
    .name = "file",
    .open = file_open,
    .read = file_read,
    .raw_stats = file_raw_stats,
    .close = file_close,
};

/* ------------------------------------------------------------------------ */
/* Source "gzip": one or more gzip members, strictly                         */
/* ------------------------------------------------------------------------ */

typedef enum {
    GZ_IN_MEMBER,  /* inside a member (also: before the first one) */
    GZ_BETWEEN,    /* a member just ended; more input means another member */
    GZ_DONE,       /* clean end of the last member at EOF */
    GZ_FAILED      /* an error was reported; it is not recoverable */
} gz_phase;

/* The usual input file (one gzip member, a few MB) is decompressed in one
 * piece by libdeflate, 2.6x faster than zlib's inflate (1.2 GB of the 5M
 * event bench's files: 1.09-1.15 s against 2.78-3.03 s of one core; README
 * "Dependencies"). Whatever that path does not take (a file of several
 * members, over these sizes, or one libdeflate rejects) is read again from
 * its first byte by zlib, which reports the errors: both paths give the same
 * lines and the same failures. The bounds keep a reader's buffers below
 * 32 MiB, whatever the files (a reader per thread). */
#define GZ_WHOLE_MAX_IN  ((uint64_t)16 << 20)  /* compressed bytes */
#define GZ_WHOLE_MAX_OUT ((uint64_t)16 << 20)  /* content bytes */

typedef struct gz_state {
    int fd;
    raw_sum sum;
    z_stream zs;
    int zs_ready;         /* inflateInit2 succeeded: inflateEnd is due */
    unsigned char *in;    /* RAW_CHUNK bytes of compressed input */
    int in_eof;           /* read(2) returned 0 */
    gz_phase phase;
    uint64_t disk_size;   /* st_size at open, for the ratio bound */
    uint64_t out_bytes;   /* decompressed bytes handed out so far */
    int whole_tried;      /* gz_whole ran (it runs before anything is read) */
    unsigned char *whole; /* the content decompressed in one piece, or NULL */
    size_t whole_len, whole_pos;
} gz_state;

static void gz_close(void *state)
{
    gz_state *st = state;
    if (!st)
        return;
    /* Teardown of a read-only stream: neither inflateEnd nor close can lose
     * data, and there is nobody left to tell, so their results are unused. */
    if (st->zs_ready)
        inflateEnd(&st->zs);
    if (st->fd >= 0)
        close(st->fd);
    raw_sum_free(&st->sum);
    free(st->in);
    free(st->whole);
    free(st);
}

static void *gz_open(const char *path, ms_error *err)
{
    gz_state *st = calloc(1, sizeof *st);
    struct stat sb;
    int zret;

    if (!st) {
        ms_error_set(err, "out of memory");
        goto fail;
    }
    st->fd = open_raw(path, err);
    if (st->fd < 0)
        goto fail;
    if (fstat(st->fd, &sb) != 0) {
        ms_error_set(err, "cannot stat: %s", strerror(errno));
        goto fail;
    }
    st->disk_size = sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
    st->in = malloc(RAW_CHUNK);
    if (!st->in) {
        ms_error_set(err, "out of memory");
        goto fail;
    }
    if (raw_sum_init(&st->sum) != 0) {
        ms_error_set(err, "out of memory");
        goto fail;
    }
    /* calloc left zalloc/zfree/opaque NULL (zlib's defaults), no input. */
    zret = inflateInit2(&st->zs, 15 + 16); /* 32K window, gzip wrapper only */
    if (zret != Z_OK) {
        ms_error_set(err, "cannot start gzip decoder: %s",
                     st->zs.msg ? st->zs.msg : zError(zret));
        goto fail;
    }
    st->zs_ready = 1;
    st->phase = GZ_IN_MEMBER;
    return st;

fail:
    gz_close(st);
    return NULL;
}

/* Refills the input buffer when it is empty. Returns 0 or -1 (err set). */
static int gz_fill(gz_state *st, ms_error *err)
{
    ssize_t n;

    if (st->zs.avail_in > 0 || st->in_eof)
        return 0;
    n = read_retry(st->fd, st->in, RAW_CHUNK);
    if (n < 0)
        return ms_error_set(err, "read error: %s", strerror(errno));
    if (n == 0) {
        st->in_eof = 1;
        return 0;
    }
    if (raw_sum_update(&st->sum, st->in, (size_t)n) != 0)
        return ms_error_set(err, "checksum failed");
    st->zs.next_in = st->in;
    st->zs.avail_in = (uInt)n;
    return 0;
}

/* The largest content size allowed for this file: RATIO x compressed + slack.
 * The compressed size is the size seen at open, or what was read if the file
 * grew since; saturates instead of overflowing. */
static uint64_t gz_out_limit(const gz_state *st)
{
    uint64_t compressed = st->disk_size > st->sum.bytes ? st->disk_size : st->sum.bytes;
    if (compressed > (UINT64_MAX - RATIO_SLACK) / LINE_READER_MAX_RATIO)
        return UINT64_MAX;
    return compressed * LINE_READER_MAX_RATIO + RATIO_SLACK;
}

/* The content of a single-member file of bounded size, decompressed in one
 * piece into st->whole (the file's bytes checksummed as the stream path
 * does). Returns 1 when it is there, 0 when the stream path must read the
 * file (the descriptor is back at its first byte, nothing checksummed), -1
 * on an I/O error (err set). */
static int gz_whole(gz_state *st, ms_error *err)
{
    struct libdeflate_decompressor *d = NULL;
    unsigned char *in = NULL, *out = NULL;
    size_t n = 0, want, isize, in_used = 0, got = 0;
    int rc = 0;

    /* A gzip member is at least 18 bytes; st_size is 0 for a pipe. */
    if (st->disk_size < 18 || st->disk_size > GZ_WHOLE_MAX_IN)
        return 0;
    want = (size_t)st->disk_size;
    if (!(in = malloc(want + 1)))
        goto stream; /* the stream path needs less */
    /* One byte more than st_size: a file that grew since is not whole. */
    while (n < want + 1) {
        ssize_t r = read_retry(st->fd, in + n, want + 1 - n);
        if (r < 0) {
            rc = ms_error_set(err, "read error: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n != want)
        goto stream;
    /* ISIZE, the member's content size mod 2^32, sizes the buffer; a
     * content that does not fill it exactly goes to the stream path. */
    isize = (size_t)in[n - 4] | (size_t)in[n - 3] << 8 | (size_t)in[n - 2] << 16 |
            (size_t)in[n - 1] << 24;
    if (isize > GZ_WHOLE_MAX_OUT || isize > gz_out_limit(st) ||
        !(out = malloc(isize ? isize : 1)) || !(d = libdeflate_alloc_decompressor()))
        goto stream;
    if (libdeflate_gzip_decompress_ex(d, in, n, out, isize, &in_used, &got) !=
            LIBDEFLATE_SUCCESS ||
        in_used != n || got != isize)
        goto stream;
    if (raw_sum_update(&st->sum, in, n) != 0) {
        rc = ms_error_set(err, "checksum failed");
        goto out;
    }
    st->whole = out;
    st->whole_len = got;
    st->out_bytes = got;
    out = NULL;
    st->phase = GZ_DONE;
    rc = 1;
    goto out;
stream:
    if (n > 0 && lseek(st->fd, 0, SEEK_SET) != 0)
        rc = ms_error_set(err, "cannot read the file again from its start: %s",
                          strerror(errno));
out:
    if (d)
        libdeflate_free_decompressor(d);
    free(in);
    free(out);
    return rc;
}

/* Decompresses into dst until at least one byte is produced, the content
 * ends cleanly, or an error shows. Strict by design: the file must be a
 * sequence of complete gzip members and nothing else (no trailing padding),
 * because a partially read file would silently lose events. */
static long gz_read(void *state, char *dst, size_t cap, ms_error *err)
{
    gz_state *st = state;
    long produced = 0;

    if (st->phase == GZ_FAILED)
        return ms_error_set(err, "gzip stream already failed");
    if (cap == 0)
        return ms_error_set(err, "read with an empty destination");
    if (cap > RAW_CHUNK)
        cap = RAW_CHUNK; /* fits uInt and long */
    if (!st->whole_tried) {
        st->whole_tried = 1;
        if (gz_whole(st, err) < 0)
            goto fail;
    }
    if (st->whole) {
        size_t left = st->whole_len - st->whole_pos;
        if (cap > left)
            cap = left;
        memcpy(dst, st->whole + st->whole_pos, cap);
        st->whole_pos += cap;
        return (long)cap;
    }

    while (produced == 0 && st->phase != GZ_DONE) {
        uInt room;
        int zret;

        if (gz_fill(st, err) != 0)
            goto fail;
        if (st->zs.avail_in == 0) {
            /* EOF. Fine only right after a member ended: EOF before the first
             * member (empty file) or inside one is a truncated stream. */
            if (st->phase == GZ_BETWEEN) {
                st->phase = GZ_DONE;
                break;
            }
            ms_error_set(err, "truncated gzip stream (%" PRIu64 " bytes read)",
                         st->sum.bytes);
            goto fail;
        }
        if (st->phase == GZ_BETWEEN) {
            /* More bytes after a member: they must be another member. */
            zret = inflateReset(&st->zs);
            if (zret != Z_OK) {
                ms_error_set(err, "cannot restart gzip decoder: %s", zError(zret));
                goto fail;
            }
            st->phase = GZ_IN_MEMBER;
        }

        room = (uInt)cap;
        st->zs.next_out = (unsigned char *)dst;
        st->zs.avail_out = room;
        zret = inflate(&st->zs, Z_NO_FLUSH);
        switch (zret) {
        case Z_OK:
        case Z_BUF_ERROR: /* no progress possible: needs more input */
            break;
        case Z_STREAM_END:
            st->phase = GZ_BETWEEN;
            break;
        case Z_NEED_DICT: /* a preset dictionary cannot occur in gzip */
        case Z_DATA_ERROR:
            ms_error_set(err, "corrupt gzip data: %s",
                         st->zs.msg ? st->zs.msg : "invalid stream");
            goto fail;
        case Z_MEM_ERROR:
            ms_error_set(err, "out of memory while decompressing");
            goto fail;
        default:
            ms_error_set(err, "gzip decoder failed: %s", zError(zret));
            goto fail;
        }
        produced = (long)(room - st->zs.avail_out);
        st->out_bytes += (uint64_t)produced;
        if (st->out_bytes > gz_out_limit(st)) {
            ms_error_set(err,
                         "decompression ratio exceeds %u:1 (%" PRIu64
                         " bytes from %" PRIu64 " compressed bytes)",
                         LINE_READER_MAX_RATIO, st->out_bytes,
                         st->disk_size > st->sum.bytes ? st->disk_size : st->sum.bytes);
            goto fail;
        }
    }
    return produced;

fail:
    st->phase = GZ_FAILED;
    return -1;
}

static void gz_raw_stats(void *state, uint64_t *raw_bytes, uint64_t *checksum)
{
    const gz_state *st = state;
    *raw_bytes = st->sum.bytes;
    *checksum = raw_sum_checksum(&st->sum);
}

static const line_source source_gzip = {
    .name = "gzip",
    .open = gz_open,
    .read = gz_read,
    .raw_stats = gz_raw_stats,
    .close = gz_close,
};

/* ------------------------------------------------------------------------ */
/* Source table                                                              */
/* ------------------------------------------------------------------------ */

static const line_source *const sources[] = {&source_file, &source_gzip};

/* Contract: the source named `name`, or NULL (also for a NULL name). */
const line_source *line_source_find(const char *name)
{
    size_t i;
    if (!name)
        return NULL;
    for (i = 0; i < MS_ARRAY_LEN(sources); i++)
        if (strcmp(sources[i]->name, name) == 0)
            return sources[i];
    return NULL;
}

/* Contract: "gzip" when path ends in ".gz" (case-sensitive, as inputs.md
 * names files), else "file". Never NULL. */
const line_source *line_source_for_path(const char *path)
{
    size_t n = strlen(path);
    if (n >= 3 && memcmp(path + n - 3, ".gz", 3) == 0)
        return &source_gzip;
    return &source_file;
}

/* ------------------------------------------------------------------------ */
/* Line splitting                                                            */
/* ------------------------------------------------------------------------ */

/* A line of MAX_LINE bytes plus "\r" plus one full read always fits, so the
 * buffer never has to grow: after compaction at most MAX_LINE + 1 bytes of an
 * unfinished line are pending and a whole RAW_CHUNK still fits behind them. */
#define LR_BUF_SIZE (RAW_CHUNK + LINE_READER_MAX_LINE + 2)

struct line_reader {
    const line_source *src;
    void *state;
    char *buf;           /* LR_BUF_SIZE bytes */
    size_t start, end;   /* unconsumed content is buf[start, end) */
    size_t scanned;      /* bytes after start already known to hold no '\n' */
    int eof;             /* the source reported the end of the content */
    int bom_done;        /* the start of the content was checked for a BOM */
    int failed;          /* sticky: every later next() fails the same way */
    uint64_t number;     /* number of the last line handed out */
    ms_error failure;    /* the error that made the reader fail */
};

/* Contract: a reader positioned before line 1, or NULL with err set (the
 * file cannot be opened, or out of memory). Free with line_reader_close. */
line_reader *line_reader_open(const line_source *src, const char *path, ms_error *err)
{
    line_reader *r = NULL;

    if (!src || !path) {
        ms_error_set(err, "no source or path given");
        goto fail;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        ms_error_set(err, "out of memory");
        goto fail;
    }
    r->src = src;
    r->buf = malloc(LR_BUF_SIZE);
    if (!r->buf) {
        ms_error_set(err, "out of memory");
        goto fail;
    }
    r->state = src->open(path, err);
    if (!r->state)
        goto fail;
    return r;

fail:
    line_reader_close(r);
    return NULL;
}

/* Marks the reader failed (message already in r->failure) and hands the
 * message to the caller. Internal steps write into r->failure rather than
 * the caller's err so that the message survives even when err is NULL and
 * later calls can repeat it. */
static int lr_fail(line_reader *r, ms_error *err)
{
    r->failed = 1;
    if (err)
        *err = r->failure;
    return -1;
}

/* Moves pending bytes to the front and reads more behind them.
 * Returns 0 (r->eof set at the end of the content) or -1. */
static int lr_fill(line_reader *r, ms_error *err)
{
    size_t pending = r->end - r->start;
    long n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, pending);
        r->start = 0;
        r->end = pending;
    }
    n = r->src->read(r->state, r->buf + r->end, LR_BUF_SIZE - r->end, err);
    if (n < 0)
        return -1;
    if (n == 0)
        r->eof = 1;
    r->end += (size_t)n;
    return 0;
}

/* The pending line has grown past MAX_LINE + 1 bytes without a newline, so
 * it is too long whether or not a "\r" ends it. Keeps its first KEEP bytes at
 * the start of the buffer, reads and counts the rest until the newline (or
 * the end of the content), and leaves what follows the newline pending. */
static int lr_skip_long_line(line_reader *r, line *out, ms_error *err)
{
    const size_t keep = LINE_READER_KEEP;
    uint64_t total = r->end - r->start;
    char last = r->buf[r->end - 1];  /* last byte of the line seen so far */

    memmove(r->buf, r->buf + r->start, keep);
    r->start = r->end = keep;
    for (;;) {
        const char *nl;
        size_t before;
        long n = r->src->read(r->state, r->buf + keep, LR_BUF_SIZE - keep, err);

        if (n < 0)
            return -1;
        if (n == 0) {
            /* The content ends inside the line: it is the last line. As for
             * any last line, there is no terminator to remove. */
            r->eof = 1;
            break;
        }
        nl = memchr(r->buf + keep, '\n', (size_t)n);
        if (!nl) {
            total += (uint64_t)n;
            last = r->buf[keep + (size_t)n - 1];
            continue;
        }
        before = (size_t)(nl - (r->buf + keep));
        total += before;
        if (before > 0)
            last = r->buf[keep + before - 1];
        if (last == '\r')
            total--;
        r->start = keep + before + 1;
        r->end = keep + (size_t)n;
        break;
    }
    r->scanned = 0;
    out->data = r->buf;
    out->len = (size_t)total;
    out->number = ++r->number;
    out->too_long = 1;
    return 1;
}

/* Hands out buf[start, start + len) as the next line and consumes `used`
 * bytes (the line plus its terminator). */
static int lr_emit(line_reader *r, line *out, size_t len, size_t used)
{
    out->data = r->buf + r->start;
    out->len = len;
    out->number = ++r->number;
    out->too_long = len > LINE_READER_MAX_LINE;
    r->start += used;
    r->scanned = 0;
    return 1;
}

/* Contract: 1 with *out filled (valid until the next call), 0 at the end,
 * -1 with err set; 0 and -1 are sticky. A line is complete only once its
 * "\n" or the end of the content was seen, so the BOM and CRLF rules hold
 * whatever the sizes of the source's reads. */
int line_reader_next(line_reader *r, line *out, ms_error *err)
{
    if (r->failed)
        return lr_fail(r, err);
    for (;;) {
        size_t pending = r->end - r->start;

        if (!r->bom_done) {
            /* The BOM may arrive split over reads: decide on 3 bytes. */
            if (pending >= 3 || r->eof) {
                if (pending >= 3 && memcmp(r->buf + r->start, "\xEF\xBB\xBF", 3) == 0)
                    r->start += 3;
                r->bom_done = 1;
                continue;
            }
        } else {
            const char *base = r->buf + r->start;
            const char *nl = memchr(base + r->scanned, '\n', pending - r->scanned);

            if (nl) {
                size_t len = (size_t)(nl - base);
                size_t used = len + 1;
                if (len > 0 && base[len - 1] == '\r')
                    len--;
                return lr_emit(r, out, len, used);
            }
            r->scanned = pending;
            if (r->eof) {
                if (pending == 0)
                    return 0;
                /* A last line without "\n": no terminator, so a final "\r"
                 * is content, not half of a CRLF. */
                return lr_emit(r, out, pending, pending);
            }
            if (pending > (size_t)LINE_READER_MAX_LINE + 1) {
                if (lr_skip_long_line(r, out, &r->failure) < 0)
                    return lr_fail(r, err);
                return 1;
            }
        }
        if (lr_fill(r, &r->failure) != 0)
            return lr_fail(r, err);
    }
}

/* Contract: raw bytes read from disk so far and their checksum; the file's
 * identity once line_reader_next returned 0 (the sources read to EOF). */
void line_reader_identity(const line_reader *r, uint64_t *raw_size, uint64_t *checksum)
{
    r->src->raw_stats(r->state, raw_size, checksum);
}

/* Contract: frees everything the reader owns; NULL is allowed. */
void line_reader_close(line_reader *r)
{
    if (!r)
        return;
    if (r->state)
        r->src->close(r->state);
    free(r->buf);
    free(r);
}

/* ------------------------------------------------------------------------ */
/* Identity without parsing                                                  */
/* ------------------------------------------------------------------------ */

/* Contract: size and checksum of the raw file, as line_reader_identity
 * would report them after a full read, and when legacy is not NULL the
 * checksum of before XXH3 too; 0, or -1 with err set. */
int file_identity(const char *path, uint64_t *raw_size, uint64_t *checksum, uint64_t *legacy,
                  ms_error *err)
{
    int rc = -1;
    int fd = -1;
    unsigned char *chunk = NULL;
    raw_sum sum;
    legacy_sum old;

    legacy_sum_init(&old);
    if (raw_sum_init(&sum) != 0) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    fd = open_raw(path, err);
    if (fd < 0)
        goto out;
    chunk = malloc(RAW_CHUNK);
    if (!chunk) {
        ms_error_set(err, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read_retry(fd, chunk, RAW_CHUNK);
        if (n < 0) {
            ms_error_set(err, "read error: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (raw_sum_update(&sum, chunk, (size_t)n) != 0) {
            ms_error_set(err, "checksum failed");
            goto out;
        }
        if (legacy)
            legacy_sum_update(&old, chunk, (size_t)n);
    }
    *raw_size = sum.bytes;
    *checksum = raw_sum_checksum(&sum);
    if (legacy)
        *legacy = legacy_sum_checksum(&old);
    rc = 0;
out:
    raw_sum_free(&sum);
    free(chunk);
    if (fd >= 0)
        close(fd);
    return rc;
}
