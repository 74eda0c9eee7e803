/*
 * test_line_reader.c - line_reader against real files in a temporary
 * directory: plain and gzip sources, line splitting rules (inputs.md 1),
 * strict gzip handling, bounded long lines, identity, and a gzip bomb.
 */
#include "check.h"
#include "line_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

/* ------------------------------------------------------------------------ */
/* Temporary files                                                           */
/* ------------------------------------------------------------------------ */

static char tmp_dir[64];
static char *tmp_files[256];
static size_t tmp_count;

/* Writes a file named `name` into the temp dir; returns its path (owned by
 * the test, removed at the end). Aborts on failure: nothing else makes sense. */
static const char *write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        printf("cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    for (size_t i = 0; i < tmp_count; i++)
        if (strcmp(tmp_files[i], path) == 0)
            return tmp_files[i];
    if (tmp_count == MS_ARRAY_LEN(tmp_files)) {
        printf("too many temp files\n");
        exit(2);
    }
    tmp_files[tmp_count] = ms_strndup(path, strlen(path));
    if (!tmp_files[tmp_count])
        exit(2);
    return tmp_files[tmp_count++];
}

static void remove_tmp(void)
{
    for (size_t i = 0; i < tmp_count; i++) {
        unlink(tmp_files[i]);
        free(tmp_files[i]);
    }
    rmdir(tmp_dir);
}

/* ------------------------------------------------------------------------ */
/* Gzip helpers                                                              */
/* ------------------------------------------------------------------------ */

/* Appends one complete gzip member holding data[0, len) to out. Fastest
 * level: the reader does not care, and the test stays quick under valgrind. */
static void gz_append_member(buf *out, const void *data, size_t len)
{
    z_stream zs;
    unsigned char chunk[16384];
    int ret;

    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(2);
    zs.next_in = (unsigned char *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        ret = deflate(&zs, Z_FINISH);
        if (ret == Z_STREAM_ERROR || buf_append(out, chunk, sizeof chunk - zs.avail_out) != 0)
            exit(2);
    } while (ret != Z_STREAM_END);
    deflateEnd(&zs);
}

static void put_le32(buf *out, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    if (buf_append(out, b, 4) != 0)
        exit(2);
}

/* A valid gzip file of `mib` MiB of zeros, made without compressing them all:
 * one MiB is deflated once and ended with a full flush, which leaves the
 * output byte-aligned and free of back-references into earlier data, so the
 * same bytes can be repeated. Ratio ~1000:1, the most deflate can do. */
static void gz_bomb(buf *out, unsigned mib)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    const size_t block = (size_t)1 << 20;
    unsigned char *zeros = calloc(1, block);
    unsigned char *seg = malloc(block);
    unsigned char tail[64];
    size_t seg_len, tail_len;
    uLong crc_block, crc = crc32(0L, Z_NULL, 0);
    z_stream zs;

    if (!zeros || !seg)
        exit(2);
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(2);
    zs.next_in = zeros;
    zs.avail_in = (uInt)block;
    zs.next_out = seg;
    zs.avail_out = (uInt)block;
    if (deflate(&zs, Z_FULL_FLUSH) != Z_OK || zs.avail_in != 0)
        exit(2);
    seg_len = block - zs.avail_out;
    zs.next_out = tail;
    zs.avail_out = sizeof tail;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        exit(2);
    tail_len = sizeof tail - zs.avail_out;
    deflateEnd(&zs);

    crc_block = crc32(crc, zeros, (uInt)block);
    if (buf_append(out, header, sizeof header) != 0)
        exit(2);
    for (unsigned i = 0; i < mib; i++) {
        if (buf_append(out, seg, seg_len) != 0)
            exit(2);
        crc = crc32_combine(crc, crc_block, (z_off_t)block);
    }
    if (buf_append(out, tail, tail_len) != 0)
        exit(2);
    put_le32(out, (uint32_t)crc);
    put_le32(out, (uint32_t)((uint64_t)mib * block));
    free(zeros);
    free(seg);
}

/* ------------------------------------------------------------------------ */
/* A source that hands out content in tiny pieces, to hit every boundary     */
/* (BOM split over reads, "\r" and "\n" in different reads, long lines).    */
/* ------------------------------------------------------------------------ */

static size_t trickle_size = 1;

typedef struct trickle_state {
    const line_source *inner;
    void *st;
} trickle_state;

static void *trickle_open(const char *path, ms_error *err)
{
    trickle_state *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->inner = line_source_for_path(path);
    t->st = t->inner->open(path, err);
    if (!t->st) {
        free(t);
        return NULL;
    }
    return t;
}

static long trickle_read(void *state, char *dst, size_t cap, ms_error *err)
{
    trickle_state *t = state;
    return t->inner->read(t->st, dst, cap < trickle_size ? cap : trickle_size, err);
}

static void trickle_raw_stats(void *state, uint64_t *raw_bytes, uint64_t *checksum)
{
    trickle_state *t = state;
    t->inner->raw_stats(t->st, raw_bytes, checksum);
}

static void trickle_close(void *state)
{
    trickle_state *t = state;
    t->inner->close(t->st);
    free(t);
}

static const line_source trickle_source = {
    .name = "trickle",
    .open = trickle_open,
    .read = trickle_read,
    .raw_stats = trickle_raw_stats,
    .close = trickle_close,
};

/* ------------------------------------------------------------------------ */
/* Reading a whole file into memory                                          */
/* ------------------------------------------------------------------------ */

typedef struct got_line {
    char *data;        /* copy of the kept bytes */
    size_t len;
    uint64_t number;
    int too_long;
} got_line;

typedef struct got {
    got_line *v;
    size_t n, cap;
    int rc;            /* last line_reader_next result (0 or -1), or -2: open failed */
    ms_error err;
    uint64_t size, sum; /* identity when rc == 0 */
} got;

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].data);
    free(g->v);
    memset(g, 0, sizeof *g);
}

static void read_all_with(const line_source *src, const char *path, got *g)
{
    line_reader *r;
    line ln;

    memset(g, 0, sizeof *g);
    r = line_reader_open(src, path, &g->err);
    if (!r) {
        g->rc = -2;
        return;
    }
    while ((g->rc = line_reader_next(r, &ln, &g->err)) == 1) {
        size_t kept = ln.too_long ? LINE_READER_KEEP : ln.len;
        if (g->n == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 16;
            g->v = realloc(g->v, g->cap * sizeof *g->v);
            if (!g->v)
                exit(2);
        }
        g->v[g->n].data = ms_strndup(ln.data, kept);
        if (!g->v[g->n].data)
            exit(2);
        g->v[g->n].len = ln.len;
        g->v[g->n].number = ln.number;
        g->v[g->n].too_long = ln.too_long;
        g->n++;
    }
    if (g->rc == 0)
        line_reader_identity(r, &g->size, &g->sum);
    line_reader_close(r);
}

static void read_all(const char *path, got *g)
{
    read_all_with(line_source_for_path(path), path, g);
}

/* Checks that g holds exactly the lines `want` (NUL-free strings), numbered
 * from 1, none too long, and that reading ended cleanly. */
static void expect_lines_at(int at, const got *g, const char *const *want, size_t n)
{
    int failed_before = check_failed;

    CHECK_INT(g->rc, 0);
    CHECK_INT(g->n, n);
    for (size_t i = 0; i < n && i < g->n; i++) {
        CHECK_INT(g->v[i].len, strlen(want[i]));
        CHECK_INT(g->v[i].number, i + 1);
        CHECK_INT(g->v[i].too_long, 0);
        CHECK_STR(g->v[i].data, want[i]);
    }
    if (check_failed != failed_before)
        printf("  (expect_lines called from line %d; rc %d, error \"%s\")\n", at, g->rc,
               g->rc ? g->err.msg : "");
}

#define EXPECT_LINES(g, ...)                                                       \
    do {                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                          \
        expect_lines_at(__LINE__, (g), want_, MS_ARRAY_LEN(want_));                \
    } while (0)

/* The plain, gzip and trickle readings of `content` all give `want`. */
static void expect_content_at(int at, const char *content, size_t len, const char *const *want,
                              size_t n)
{
    buf gz;
    got g;
    const char *plain = write_file("content.jsonl", content, len);
    const char *zipped;

    buf_init(&gz, 0);
    gz_append_member(&gz, content, len);
    zipped = write_file("content.jsonl.gz", gz.data, gz.len);

    read_all(plain, &g);
    expect_lines_at(at, &g, want, n);
    got_free(&g);
    read_all(zipped, &g);
    expect_lines_at(at, &g, want, n);
    got_free(&g);
    for (trickle_size = 1; trickle_size <= 4; trickle_size++) {
        read_all_with(&trickle_source, plain, &g);
        expect_lines_at(at, &g, want, n);
        got_free(&g);
    }
    buf_free(&gz);
}

#define EXPECT_CONTENT(content, ...)                                               \
    do {                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                          \
        expect_content_at(__LINE__, (content), sizeof(content) - 1, want_,         \
                          MS_ARRAY_LEN(want_));                                    \
    } while (0)

static void expect_no_lines(const char *content, size_t len)
{
    const char *plain = write_file("empty.jsonl", content, len);
    got g;
    read_all(plain, &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 0);
    got_free(&g);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static void test_sources(void)
{
    CHECK(line_source_find("file") != NULL);
    CHECK(line_source_find("gzip") != NULL);
    CHECK(line_source_find("http") == NULL);
    CHECK(line_source_find("") == NULL);
    CHECK_STR(line_source_find("file")->name, "file");
    CHECK_STR(line_source_find("gzip")->name, "gzip");
    CHECK(line_source_for_path("a/b.jsonl.gz") == line_source_find("gzip"));
    CHECK(line_source_for_path("a/b.jsonl") == line_source_find("file"));
    CHECK(line_source_for_path("a/b.jsonl.GZ") == line_source_find("file"));
    CHECK(line_source_for_path("gz") == line_source_find("file"));
    CHECK(line_source_for_path("x.gz") == line_source_find("gzip"));
}

static void test_plain_lines(void)
{
    EXPECT_CONTENT("a\n\nbc\n\n\nlast\n", "a", "", "bc", "", "", "last");
    EXPECT_CONTENT("{\"x\":1}\n{\"y\":2}\n", "{\"x\":1}", "{\"y\":2}");
    /* No trailing newline: the last line still counts. */
    EXPECT_CONTENT("one\ntwo", "one", "two");
    EXPECT_CONTENT("only", "only");
    /* A lone newline is one empty line; a final "\n" adds no extra line. */
    EXPECT_CONTENT("\n", "");
    EXPECT_CONTENT("\n\n", "", "");
    expect_no_lines("", 0);

    /* After the end, next keeps returning 0. */
    {
        const char *p = write_file("twice.jsonl", "x\n", 2);
        ms_error err;
        line ln;
        line_reader *r = line_reader_open(line_source_find("file"), p, &err);
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(line_reader_next(r, &ln, &err), 1);
            CHECK_INT(line_reader_next(r, &ln, &err), 0);
            CHECK_INT(line_reader_next(r, &ln, &err), 0);
            line_reader_close(r);
        }
    }
}

static void test_crlf(void)
{
    EXPECT_CONTENT("a\r\nb\r\n", "a", "b");
    EXPECT_CONTENT("a\r\n\r\nb", "a", "", "b");
    /* Only one "\r" before "\n" goes; a "\r" elsewhere is content. */
    EXPECT_CONTENT("b\r\r\nc\rd\n", "b\r", "c\rd");
    /* A last line has no terminator, so its final "\r" stays. */
    EXPECT_CONTENT("x\ny\r", "x", "y\r");
    EXPECT_CONTENT("\r\n", "");
}

static void test_bom(void)
{
    EXPECT_CONTENT("\xEF\xBB\xBFhello\nworld\n", "hello", "world");
    EXPECT_CONTENT("\xEF\xBB\xBF\n", "");
    EXPECT_CONTENT("\xEF\xBB\xBF\r\nx", "", "x");
    /* Only at the very start, and only one. */
    EXPECT_CONTENT("a\n\xEF\xBB\xBF" "b\n", "a", "\xEF\xBB\xBF" "b");
    EXPECT_CONTENT("\xEF\xBB\xBF\xEF\xBB\xBFz", "\xEF\xBB\xBFz");
    /* A partial BOM is content. */
    EXPECT_CONTENT("\xEF\xBB", "\xEF\xBB");
    EXPECT_CONTENT("\xEF\xBBx\n", "\xEF\xBBx");
    expect_no_lines("\xEF\xBB\xBF", 3);

    /* In a multi-member gzip, a BOM opening the second member is not at the
     * start of the content. */
    {
        buf gz;
        got g;
        buf_init(&gz, 0);
        gz_append_member(&gz, "\xEF\xBB\xBFone\n", 7);
        gz_append_member(&gz, "\xEF\xBB\xBFtwo\n", 7);
        read_all(write_file("bom2.jsonl.gz", gz.data, gz.len), &g);
        EXPECT_LINES(&g, "one", "\xEF\xBB\xBFtwo");
        got_free(&g);
        buf_free(&gz);
    }
}

static void test_multi_member(void)
{
    buf gz;
    got g;

    buf_init(&gz, 0);
    /* Member 1 ends mid-line: "bra" + "vo" must join. An empty member in the
     * middle is valid gzip and changes nothing. */
    gz_append_member(&gz, "alpha\nbra", 9);
    gz_append_member(&gz, "", 0);
    gz_append_member(&gz, "vo\r", 3);
    gz_append_member(&gz, "\ncharlie\n", 9);
    read_all(write_file("multi.jsonl.gz", gz.data, gz.len), &g);
    EXPECT_LINES(&g, "alpha", "bravo", "charlie");
    got_free(&g);
    for (trickle_size = 1; trickle_size <= 3; trickle_size++) {
        read_all_with(&trickle_source, write_file("multi.jsonl.gz", gz.data, gz.len), &g);
        EXPECT_LINES(&g, "alpha", "bravo", "charlie");
        got_free(&g);
    }
    buf_free(&gz);

    /* Members larger than one read buffer on both sides of the boundary. */
    {
        const size_t big = 3000000; /* whole lines of 100 bytes */
        char *a = malloc(big);
        size_t lines_a = 0;
        if (!a)
            exit(2);
        for (size_t i = 0; i < big; i++) {
            a[i] = (i % 100 == 99) ? '\n' : (char)('a' + (i * 7) % 26);
            lines_a += a[i] == '\n';
        }
        buf_init(&gz, 0);
        gz_append_member(&gz, a, big - 50); /* ends inside a line */
        gz_append_member(&gz, a + big - 50, 50);
        gz_append_member(&gz, a, big);
        read_all(write_file("bigmulti.jsonl.gz", gz.data, gz.len), &g);
        CHECK_INT(g.rc, 0);
        CHECK_INT(g.n, 2 * lines_a);
        if (g.n == 2 * lines_a) {
            size_t bad = 0;
            for (size_t i = 0; i < g.n; i++)
                if (g.v[i].len != 99 || memcmp(g.v[i].data, a + (i % lines_a) * 100, 99) != 0 ||
                    g.v[i].number != i + 1)
                    bad++;
            CHECK_INT(bad, 0);
        }
        got_free(&g);
        buf_free(&gz);
        free(a);
    }
}

/* Some compressible but non-trivial lines for the damaged-gzip tests. */
static void sample_lines(buf *b, int count)
{
    for (int i = 0; i < count; i++)
        if (buf_printf(b, "{\"event_id\":\"e%06d\",\"n\":%d,\"h\":%u}\n", i, i * i,
                       (unsigned)(i * 2654435761u)) != 0)
            exit(2);
}

static void test_truncated_gzip(void)
{
    buf text, gz;
    got g;

    buf_init(&text, 0);
    buf_init(&gz, 0);
    sample_lines(&text, 2000);
    gz_append_member(&gz, text.data, text.len);

    read_all(write_file("trunc.jsonl.gz", gz.data, gz.len - 10), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "truncated") != NULL);
    CHECK(g.n < 2000);
    got_free(&g);

    /* Missing only the trailer's last byte: all content is there, yet the
     * file is incomplete. */
    read_all(write_file("trunc.jsonl.gz", gz.data, gz.len - 1), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "truncated") != NULL);
    got_free(&g);

    /* Cut inside the header, and an empty file: no complete member at all. */
    read_all(write_file("trunc.jsonl.gz", gz.data, 5), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "truncated") != NULL);
    got_free(&g);
    read_all(write_file("trunc.jsonl.gz", "", 0), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "truncated") != NULL);
    got_free(&g);

    /* Truncated second member (cut inside its header): the first one's
     * lines come, then the error. */
    {
        size_t first = gz.len;
        gz_append_member(&gz, "tail\n", 5);
        read_all(write_file("trunc.jsonl.gz", gz.data, first + 6), &g);
    }
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "truncated") != NULL);
    CHECK_INT(g.n, 2000);
    got_free(&g);

    buf_free(&text);
    buf_free(&gz);
}

static void test_corrupt_gzip(void)
{
    buf text, gz;
    got g;

    buf_init(&text, 0);
    buf_init(&gz, 0);
    sample_lines(&text, 2000);
    gz_append_member(&gz, text.data, text.len);
    for (size_t i = gz.len / 2; i < gz.len / 2 + 8; i++)
        gz.data[i] = (char)~gz.data[i];
    read_all(write_file("corrupt.jsonl.gz", gz.data, gz.len), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "corrupt gzip data: ") == g.err.msg);
    CHECK(g.n < 2000);
    got_free(&g);

    /* A wrong CRC in the trailer: every byte inflates, the check fails. */
    buf_reset(&gz);
    gz_append_member(&gz, text.data, text.len);
    gz.data[gz.len - 8] ^= 1;
    read_all(write_file("corrupt.jsonl.gz", gz.data, gz.len), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "corrupt gzip data") != NULL);
    got_free(&g);

    /* A plain file named .gz is not gzip. */
    read_all(write_file("plain.jsonl.gz", "{\"a\":1}\n", 8), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "corrupt gzip data") != NULL);
    CHECK_INT(g.n, 0);
    got_free(&g);

    buf_free(&text);
    buf_free(&gz);
}

static void test_trailing_garbage(void)
{
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
        const char *error;
    } tails[] = {
        {"text", "garbage\n", 8, "corrupt"},
        {"zero padding", "\0\0\0\0\0\0\0\0", 8, "corrupt"},
        /* Too short to be judged a wrong header: it ends a started member. */
        {"one zero byte", "\0", 1, "truncated"},
        {"half a gzip magic", "\x1f", 1, "truncated"},
        {"a gzip header only", "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10, "truncated"},
    };
    buf gz;
    got g;

    buf_init(&gz, 0);
    for (size_t i = 0; i < MS_ARRAY_LEN(tails); i++) {
        buf_reset(&gz);
        gz_append_member(&gz, "hello\n", 6);
        if (buf_append(&gz, tails[i].bytes, tails[i].len) != 0)
            exit(2);
        read_all(write_file("garbage.jsonl.gz", gz.data, gz.len), &g);
        CHECK_INT(g.rc, -1);
        CHECK_INT(g.n, 1); /* the valid member's line came first */
        if (!strstr(g.err.msg, tails[i].error)) {
            check_failed++;
            printf("FAIL trailing %s: error \"%s\", want \"%s\"\n", tails[i].what, g.err.msg,
                   tails[i].error);
        } else {
            check_passed++;
        }
        got_free(&g);
    }
    buf_free(&gz);
}

/* Content: "start\n", a line of `len` bytes (+ `term`), "after\n". */
static void make_long(buf *b, size_t len, const char *term)
{
    buf_reset(b);
    if (buf_puts(b, "start\n") != 0)
        exit(2);
    for (size_t i = 0; i < len; i++)
        if (buf_putc(b, (char)('A' + i % 23)) != 0)
            exit(2);
    if (buf_puts(b, term) != 0 || buf_puts(b, "after\n") != 0)
        exit(2);
}

static int long_prefix_ok(const got_line *l, size_t kept)
{
    for (size_t i = 0; i < kept; i++)
        if (l->data[i] != (char)('A' + i % 23))
            return 0;
    return 1;
}

/* Reads the make_long content through `src` and checks the three lines. */
static void check_long(const line_source *src, const char *path, size_t len, int too_long,
                       int at)
{
    int failed_before = check_failed;
    got g;

    read_all_with(src, path, &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 3);
    if (g.n == 3) {
        CHECK_STR(g.v[0].data, "start");
        CHECK_INT(g.v[1].len, len);
        CHECK_INT(g.v[1].too_long, too_long);
        CHECK_INT(g.v[1].number, 2);
        CHECK(long_prefix_ok(&g.v[1], too_long ? LINE_READER_KEEP : len));
        CHECK_STR(g.v[2].data, "after");
        CHECK_INT(g.v[2].len, 5);
        CHECK_INT(g.v[2].number, 3);
        CHECK_INT(g.v[2].too_long, 0);
    }
    if (check_failed != failed_before)
        printf("  (check_long called from line %d, source %s, len %zu)\n", at, src->name, len);
    got_free(&g);
}

static void test_long_lines(void)
{
    static const struct {
        size_t len;
        const char *term;
        int too_long;
    } cases[] = {
        {70000, "\n", 1},
        {70000, "\r\n", 1},
        {65536, "\n", 0},          /* exactly the limit: fine */
        {65536, "\r\n", 0},        /* the "\r" does not count */
        {65537, "\n", 1},
        {65537, "\r\n", 1},
        {65538, "\r\n", 1},
        {3u << 20, "\r\n", 1},     /* spans several reads of the skip loop */
    };
    const line_source *file = line_source_find("file");
    const line_source *gzip = line_source_find("gzip");
    buf text, gz;

    buf_init(&text, 0);
    buf_init(&gz, 0);
    for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
        const char *plain, *zipped;
        make_long(&text, cases[i].len, cases[i].term);
        plain = write_file("long.jsonl", text.data, text.len);
        buf_reset(&gz);
        gz_append_member(&gz, text.data, text.len);
        zipped = write_file("long.jsonl.gz", gz.data, gz.len);
        check_long(file, plain, cases[i].len, cases[i].too_long, __LINE__);
        check_long(gzip, zipped, cases[i].len, cases[i].too_long, __LINE__);
        if (cases[i].len < 100000) {
            /* Byte by byte: the line only ever arrives in pieces, so the
             * "\r" and "\n" come in separate reads. */
            trickle_size = 1;
            check_long(&trickle_source, plain, cases[i].len, cases[i].too_long, __LINE__);
            trickle_size = 4096;
            check_long(&trickle_source, plain, cases[i].len, cases[i].too_long, __LINE__);
        }
    }

    /* A too-long last line without a newline. */
    {
        got g;
        buf_reset(&text);
        for (size_t i = 0; i < 200000; i++)
            buf_putc(&text, (char)('A' + i % 23));
        read_all(write_file("longlast.jsonl", text.data, text.len), &g);
        CHECK_INT(g.rc, 0);
        CHECK_INT(g.n, 1);
        if (g.n == 1) {
            CHECK_INT(g.v[0].len, 200000);
            CHECK_INT(g.v[0].too_long, 1);
            CHECK(long_prefix_ok(&g.v[0], LINE_READER_KEEP));
        }
        got_free(&g);
    }
    buf_free(&text);
    buf_free(&gz);
}

/* Many lines of every length class, across read-buffer boundaries, checked
 * against a straightforward splitter. */
static void test_random_content(void)
{
    buf text, gz;
    uint32_t seed = 12345;
    size_t nlines = 0;
    got g;

    buf_init(&text, 0);
    buf_init(&gz, 0);
    if (buf_append(&text, "\xEF\xBB\xBF", 3) != 0)
        exit(2);
    while (text.len < ((size_t)5 << 20)) {
        size_t len;
        seed = seed * 1103515245u + 12345u;
        switch ((seed >> 16) % 10) {
        case 0: len = 0; break;
        case 1: len = 65536; break;
        case 2: len = 65537 + (seed >> 20) % 5000; break;
        default: len = (seed >> 16) % 3000; break;
        }
        for (size_t i = 0; i < len; i++)
            buf_putc(&text, (char)('a' + (i + nlines) % 26));
        if (buf_puts(&text, (seed & 0x100) ? "\r\n" : "\n") != 0)
            exit(2);
        nlines++;
    }
    gz_append_member(&gz, text.data, text.len);

    for (int pass = 0; pass < 2; pass++) {
        size_t bad = 0, i = 0;
        const char *p = text.data + 3, *end = text.data + text.len;
        if (pass == 0)
            read_all(write_file("random.jsonl", text.data, text.len), &g);
        else
            read_all(write_file("random.jsonl.gz", gz.data, gz.len), &g);
        CHECK_INT(g.rc, 0);
        CHECK_INT(g.n, nlines);
        for (; p < end && i < g.n; i++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = (size_t)(nl - p);
            size_t kept;
            if (len > 0 && p[len - 1] == '\r')
                len--;
            kept = len > LINE_READER_KEEP ? LINE_READER_KEEP : len;
            if (g.v[i].len != len || g.v[i].number != i + 1 ||
                g.v[i].too_long != (len > LINE_READER_MAX_LINE) ||
                memcmp(g.v[i].data, p, kept) != 0)
                bad++;
            p = nl + 1;
        }
        CHECK_INT(bad, 0);
        got_free(&g);
    }
    buf_free(&text);
    buf_free(&gz);
}

/* The identity of data[0, len) computed independently of the module, in
 * one call (the module streams it in 1 MiB reads). */
static uint64_t expected_sum(const void *data, size_t len)
{
    return (uint64_t)XXH3_64bits(data, len);
}

/* ... and the one of before XXH3. */
static uint64_t expected_legacy(const void *data, size_t len)
{
    uLong crc = crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
    uLong adl = adler32(adler32(0L, Z_NULL, 0), data, (uInt)len);
    return ((uint64_t)crc << 32) | adl;
}

static void test_identity(void)
{
    static const char v1[] = "{\"a\":1}\n{\"b\":2}\n";
    static const char v2[] = "{\"a\":1}\n{\"b\":3}\n";
    uint64_t size, sum, size2, sum2, legacy = 0;
    ms_error err;
    buf gz;
    got g;
    const char *p;

    p = write_file("id.jsonl", v1, sizeof v1 - 1);
    CHECK_INT(file_identity(p, &size, &sum, NULL, &err), 0);
    CHECK_INT(size, sizeof v1 - 1);
    CHECK(sum == expected_sum(v1, sizeof v1 - 1));
    /* Asked for, the checksum of before XXH3 too; the same XXH3. */
    CHECK_INT(file_identity(p, &size2, &sum2, &legacy, &err), 0);
    CHECK_INT(size2, size);
    CHECK(sum2 == sum);
    CHECK(legacy == expected_legacy(v1, sizeof v1 - 1));
    CHECK(legacy != sum);
    read_all(p, &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.size, size);
    CHECK(g.sum == sum);
    got_free(&g);

    /* Same size, one byte different. */
    p = write_file("id.jsonl", v2, sizeof v2 - 1);
    CHECK_INT(file_identity(p, &size2, &sum2, NULL, &err), 0);
    CHECK_INT(size2, size);
    CHECK(sum2 != sum);
    /* Grown. */
    p = write_file("id.jsonl", "{\"a\":1}\n{\"b\":2}\n\n", sizeof v1);
    CHECK_INT(file_identity(p, &size2, &sum2, NULL, &err), 0);
    CHECK_INT(size2, size + 1);
    CHECK(sum2 != sum);

    /* Empty file: size 0, checksum of nothing. */
    p = write_file("id.jsonl", "", 0);
    CHECK_INT(file_identity(p, &size, &sum, NULL, &err), 0);
    CHECK_INT(size, 0);
    CHECK(sum == expected_sum("", 0));
    CHECK(sum == UINT64_C(0x2D06800538D394C2)); /* XXH3-64 of nothing, seed 0 */
    CHECK_INT(file_identity(p, &size, &sum2, &legacy, &err), 0);
    CHECK(legacy == ((uint64_t)0 << 32 | 1));   /* CRC-32 0, Adler-32 1 */
    read_all(p, &g);
    CHECK_INT(g.size, 0);
    CHECK(g.sum == sum);
    got_free(&g);

    /* Gzip: the identity is of the compressed bytes on disk, multi-member
     * and larger than one read chunk included. */
    buf_init(&gz, 0);
    {
        buf text;
        buf_init(&text, 0);
        uint32_t x = 1;
        /* Pseudo-random hex lines: compress to about half, so the file is
         * larger than one 1 MiB read. */
        while (text.len < ((size_t)3 << 20)) {
            x = x * 1103515245u + 12345u;
            buf_putc(&text, "0123456789abcdef"[x >> 28]);
            if ((x >> 20) % 64 == 0)
                buf_putc(&text, '\n');
        }
        gz_append_member(&gz, text.data, text.len);
        gz_append_member(&gz, v1, sizeof v1 - 1);
        buf_free(&text);
    }
    p = write_file("id.jsonl.gz", gz.data, gz.len);
    CHECK(gz.len > ((size_t)1 << 20));
    CHECK_INT(file_identity(p, &size, &sum, &legacy, &err), 0);
    CHECK_INT(size, gz.len);
    CHECK(sum == expected_sum(gz.data, gz.len));
    CHECK(legacy == expected_legacy(gz.data, gz.len));
    read_all(p, &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.size, size);
    CHECK(g.sum == sum);
    got_free(&g);
    gz.data[gz.len - 1] ^= 0x40; /* ISIZE byte changed: different file */
    p = write_file("id.jsonl.gz", gz.data, gz.len);
    CHECK_INT(file_identity(p, &size2, &sum2, NULL, &err), 0);
    CHECK_INT(size2, size);
    CHECK(sum2 != sum);
    buf_free(&gz);
}

static void test_gzip_bomb(void)
{
    buf gz;
    got g;

    buf_init(&gz, 0);
    gz_bomb(&gz, 200);
    read_all(write_file("bomb.jsonl.gz", gz.data, gz.len), &g);
    CHECK_INT(g.rc, -1);
    CHECK(strstr(g.err.msg, "decompression ratio exceeds") == g.err.msg);
    CHECK_INT(g.n, 0);
    got_free(&g);
    buf_free(&gz);

    /* Highly compressible but within the bound: 4 MiB of long lines of one
     * letter. Also shows the 1 MiB slack lets small files through. */
    {
        buf text;
        buf_init(&text, 0);
        buf_init(&gz, 0);
        while (text.len < ((size_t)4 << 20)) {
            for (int i = 0; i < 999; i++)
                buf_putc(&text, 'a');
            buf_putc(&text, '\n');
        }
        gz_append_member(&gz, text.data, text.len);
        read_all(write_file("dense.jsonl.gz", gz.data, gz.len), &g);
        CHECK_INT(g.rc, 0);
        CHECK_INT(g.n, text.len / 1000);
        got_free(&g);
        buf_reset(&gz);
        gz_append_member(&gz, text.data, (size_t)1 << 20); /* ~1 KiB on disk */
        read_all(write_file("dense.jsonl.gz", gz.data, gz.len), &g);
        CHECK_INT(g.rc, 0);
        got_free(&g);
        buf_free(&text);
        buf_free(&gz);
    }
}

/* A single member of bounded size is decompressed in one piece (libdeflate),
 * anything else by zlib's stream from the file's first byte: the same lines,
 * identity and errors either way. */
static void test_whole_or_stream(void)
{
    buf text, gz;
    got g;
    uint64_t size, sum;
    ms_error err;
    const char *p;
    int lines = 0;

    buf_init(&text, 0);
    buf_init(&gz, 0);
    /* Over 16 MiB of content: the stream path; its identity is the file's. */
    while (text.len <= ((size_t)16 << 20)) {
        sample_lines(&text, 1000);
        lines += 1000;
    }
    gz_append_member(&gz, text.data, text.len);
    p = write_file("big.jsonl.gz", gz.data, gz.len);
    read_all(p, &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, (size_t)lines);
    CHECK(g.n > 0 && strcmp(g.v[g.n - 1].data, "{\"event_id\":\"e000999\",\"n\":998001,"
                                               "\"h\":1786503607}") == 0);
    CHECK_INT(file_identity(p, &size, &sum, NULL, &err), 0);
    CHECK(g.size == size && g.sum == sum && size == gz.len);
    got_free(&g);

    /* One member within the bounds: the whole path, the same identity. */
    buf_reset(&gz);
    gz_append_member(&gz, text.data, 1000 * 10);
    p = write_file("small.jsonl.gz", gz.data, gz.len);
    read_all(p, &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(file_identity(p, &size, &sum, NULL, &err), 0);
    CHECK(g.size == size && g.sum == sum && size == gz.len);
    got_free(&g);

    /* A trailer whose length is wrong (ISIZE sizes the whole path's buffer):
     * smaller, larger, beyond the whole path's bound. zlib's length check
     * fails in the read that inflates the 4 KiB, before any line. */
    {
        static const uint32_t wrong[] = {100, 10000000, 0xffffff00u};
        for (size_t i = 0; i < MS_ARRAY_LEN(wrong); i++) {
            buf_reset(&gz);
            gz_append_member(&gz, text.data, 4096);
            gz.len -= 4;
            put_le32(&gz, wrong[i]);
            read_all(write_file("isize.jsonl.gz", gz.data, gz.len), &g);
            CHECK_INT(g.rc, -1);
            CHECK(strstr(g.err.msg, "corrupt gzip data: incorrect length check") == g.err.msg);
            CHECK_INT(g.n, 0);
            got_free(&g);
        }
    }

    /* An empty member: no line, a clean end. */
    buf_reset(&gz);
    gz_append_member(&gz, "", 0);
    read_all(write_file("empty-member.jsonl.gz", gz.data, gz.len), &g);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 0);
    got_free(&g);

    buf_free(&text);
    buf_free(&gz);
}

static void test_io_errors(void)
{
    char path[128];
    ms_error err;
    uint64_t size, sum;
    line_reader *r;
    line ln;

    snprintf(path, sizeof path, "%s/missing.jsonl", tmp_dir);
    err.msg[0] = '\0';
    CHECK(line_reader_open(line_source_find("file"), path, &err) == NULL);
    CHECK(strstr(err.msg, strerror(ENOENT)) != NULL);
    err.msg[0] = '\0';
    CHECK(line_reader_open(line_source_find("gzip"), path, &err) == NULL);
    CHECK(strstr(err.msg, strerror(ENOENT)) != NULL);
    err.msg[0] = '\0';
    CHECK_INT(file_identity(path, &size, &sum, NULL, &err), -1);
    CHECK(strstr(err.msg, strerror(ENOENT)) != NULL);

    /* A directory opens but cannot be read: an I/O error from next, which
     * stays an error on later calls. */
    r = line_reader_open(line_source_find("file"), tmp_dir, &err);
    CHECK(r != NULL);
    if (r) {
        err.msg[0] = '\0';
        CHECK_INT(line_reader_next(r, &ln, &err), -1);
        CHECK(strstr(err.msg, strerror(EISDIR)) != NULL);
        err.msg[0] = '\0';
        CHECK_INT(line_reader_next(r, &ln, &err), -1);
        CHECK(strstr(err.msg, strerror(EISDIR)) != NULL);
        CHECK_INT(line_reader_next(r, &ln, NULL), -1);
        line_reader_close(r);
    }
    err.msg[0] = '\0';
    CHECK_INT(file_identity(tmp_dir, &size, &sum, NULL, &err), -1);
    CHECK(strstr(err.msg, strerror(EISDIR)) != NULL);

    line_reader_close(NULL); /* allowed, like free(NULL) */
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_line_reader.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 2;
    }
    test_sources();
    test_plain_lines();
    test_crlf();
    test_bom();
    test_multi_member();
    test_truncated_gzip();
    test_corrupt_gzip();
    test_trailing_garbage();
    test_long_lines();
    test_random_content();
    test_identity();
    test_gzip_bomb();
    test_whole_or_stream();
    test_io_errors();
    remove_tmp();
    return check_done("line_reader");
}
