/*
 * csv_writer.h - the export CSV dialect (exports.md "CSV dialect"), built in
 * memory.
 *
 * RFC 4180: comma separator, "\n" line ends, UTF-8 without BOM, a field is
 * quoted with '"' (inner quotes doubled) only when it contains ',' '"' '\r'
 * or '\n'. NULL is the empty field. Text fields that start with '=', '+',
 * '-', '@', a tab or a carriage return get a leading apostrophe (spreadsheet
 * formula injection) before quoting; numeric fields are never altered.
 * The apostrophe goes inside the quotes: +1, "x" is written "'+1, ""x""".
 * An empty string is the empty field, like NULL.
 *
 * The writer appends to a caller-owned buf. After the first failed append
 * (allocation or the buf's cap) nothing more is appended and csv_status
 * returns -1; the buf then holds a truncated document to be discarded.
 */
#ifndef MOONSTAT_CSV_WRITER_H
#define MOONSTAT_CSV_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct csv_writer {
    buf *out;        /* not owned */
    int fields;      /* fields written on the current row */
    int failed;      /* sticky: an append failed (allocation / cap) */
    uint64_t rows;   /* rows ended with csv_end_row, header included */
} csv_writer;

void csv_init(csv_writer *w, buf *out);

/* Text field (may be NULL for the empty field): formula prefix + quoting. */
void csv_text(csv_writer *w, const char *s);
void csv_text_n(csv_writer *w, const char *s, size_t n);
/* Field copied verbatim (numbers already formatted by the caller; never
 * prefixed; quoted only if it contains a special character). */
void csv_raw(csv_writer *w, const char *s);
void csv_int(csv_writer *w, int64_t v);
void csv_null(csv_writer *w);
void csv_end_row(csv_writer *w);

/* Writes a header row from a comma-separated column list (names verbatim,
 * never prefixed) and ends the row (the header counts in `rows`). */
void csv_header(csv_writer *w, const char *columns);

/* 0 when every append succeeded, -1 otherwise. */
int csv_status(const csv_writer *w);

#endif
