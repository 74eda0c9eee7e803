/*
 * line_reader.h - reads an input file as physical lines, whatever its
 * encoding on disk. A source ("file" for plain files, "gzip" for .gz, later
 * "http") is a struct of function pointers chosen from a table by name, the
 * way Fluent Bit picks its input plugins.
 *
 * What a caller gets, per inputs.md section 1:
 *  - lines numbered from 1, physical lines of the (decompressed) content,
 *    empty lines included (the caller skips them but they keep numbering);
 *  - the terminator removed: "\n", and one "\r" before it (CRLF) removed too;
 *    the last line needs no terminator (and, having none, keeps a final
 *    "\r"); a final "\n" does not start an extra empty line; an empty file
 *    has no lines;
 *  - a UTF-8 BOM (EF BB BF) at the very start of the content removed;
 *  - lines longer than LINE_READER_MAX_LINE bytes (without terminator) are
 *    reported with too_long = 1, `len` = the true length, and only the first
 *    LINE_READER_KEEP bytes kept in `data` (memory stays bounded; the rest of
 *    the line is skipped);
 *  - gzip: multi-member files (concatenated streams) are read in full; a file
 *    that ends inside a stream (truncated; an empty .gz file counts as one),
 *    holds a corrupt stream, or has any bytes after the last member that do
 *    not form a complete member (padding included) is an error, reported
 *    by line_reader_next returning -1 after the lines read so far (the
 *    caller must then discard the whole file); the decompressed size
 *    is bounded by LINE_READER_MAX_RATIO x the compressed size (the file's
 *    size when opened) plus 1 MiB (a "gzip bomb" is an error too);
 *  - a checksum of the raw bytes on disk (XXH3-64, libxxhash) and the raw
 *    size, available once the file was read to the end: it identifies the
 *    file's content.
 */
#ifndef MOONSTAT_LINE_READER_H
#define MOONSTAT_LINE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define LINE_READER_MAX_LINE 65536u   /* longer lines are `too_long` */
#define LINE_READER_KEEP     65536u   /* bytes kept of a too-long line */
#define LINE_READER_MAX_RATIO 1000u   /* decompressed / compressed bytes */

typedef struct line_reader line_reader;

/* One line handed out by line_reader_next. `data` points into the reader's
 * buffer and stays valid until the next call. data[len] is not guaranteed to
 * be NUL (when too_long, only LINE_READER_KEEP bytes are there). */
typedef struct line {
    const char *data;
    size_t len;         /* true length in bytes, without terminator */
    uint64_t number;    /* physical line number, from 1 */
    int too_long;       /* len > LINE_READER_MAX_LINE */
} line;

/* A source: how to turn a file on disk into a byte stream. */
typedef struct line_source {
    const char *name;                                   /* "file", "gzip" */
    /* Opens the file; returns an opaque state or NULL with err set. */
    void *(*open)(const char *path, ms_error *err);
    /* Reads up to cap (> 0) decompressed bytes into dst. Returns the count,
     * 0 at a clean end of content, -1 on error (err set: truncated, corrupt,
     * ratio exceeded, I/O). */
    long (*read)(void *state, char *dst, size_t cap, ms_error *err);
    /* Raw bytes consumed from disk so far and their checksum. */
    void (*raw_stats)(void *state, uint64_t *raw_bytes, uint64_t *checksum);
    void (*close)(void *state);
} line_source;

/* Looks a source up by name ("file", "gzip"); NULL when unknown. */
const line_source *line_source_find(const char *name);

/* Picks the source for a path: "gzip" for names ending in ".gz", else "file". */
const line_source *line_source_for_path(const char *path);

/* Opens path with the given source. Returns NULL with err set. The reader
 * owns its buffers; free with line_reader_close. */
line_reader *line_reader_open(const line_source *src, const char *path, ms_error *err);

/* Next line: returns 1 and fills *out, 0 at the end of the file, -1 on error
 * (err set, prefixed with nothing: the caller adds the path). Both ends are
 * sticky: after 0 it keeps returning 0, after -1 it keeps returning -1 with
 * the same message. */
int line_reader_next(line_reader *r, line *out, ms_error *err);

/* Raw size and checksum of what was read from disk. Only meaningful after
 * line_reader_next returned 0. */
void line_reader_identity(const line_reader *r, uint64_t *raw_size, uint64_t *checksum);

void line_reader_close(line_reader *r);

/* Computes size and checksum of a file's raw bytes without parsing it (used
 * to recognise a file that was already ingested). With legacy not NULL, also
 * the checksum of moonstat before XXH3 (CRC-32 << 32 | Adler-32 of zlib),
 * for the records made then. Returns 0 or -1. */
int file_identity(const char *path, uint64_t *raw_size, uint64_t *checksum, uint64_t *legacy,
                  ms_error *err);

#endif
