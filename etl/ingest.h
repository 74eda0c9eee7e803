/*
 * ingest.h - picking up the input files of a run (inputs.md section 1).
 *
 * Scans input_dir recursively for *.jsonl and *.jsonl.gz (hidden files and
 * directories, and every other name, are ignored), in byte order of the
 * relative path, skips the files already ingested with the same size and
 * content checksum (not even reading those whose size and stat id are
 * unchanged since, so a night's cost does not grow with the input tree's
 * history), and reads the others line by line through the event
 * parser into one fact batch for the run. Each file is read into a batch of
 * its own first and folded into the run's only when it was read to the end,
 * so a truncated or corrupt gzip file contributes nothing (it is counted as
 * corrupt_file, named in the result, and tried again by the next run).
 * Rejected lines go to "<quarantine_dir>/<relative path>.rejected.tsv"
 * (source file, line number, reason, the line verbatim up to 64 KiB,
 * tab-separated), written atomically per source file.
 *
 * Threads: cfg->threads reader threads (0: the online CPUs; at most 64 and
 * the number of files to read; 1: no thread at all) read the files, each
 * into its own batch with its own event parser; the calling thread decides
 * which files to read (the warehouse is used by it only) and folds the
 * batches strictly in path order, at most 2 x threads files behind the
 * readers. The result is therefore the same, bit for bit, whatever the
 * number of threads. ingest_run returns only after every thread it started
 * has been joined.
 *
 * Ownership: ingest_result owns everything in it; free with
 * ingest_result_free.
 */
#ifndef MOONSTAT_INGEST_H
#define MOONSTAT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event_parser.h"
#include "facts.h"
#include "warehouse.h"

/* Counters of data_quality (metrics.md) for one game of one run. */
typedef struct dq_counts {
    uint64_t lines_read;
    uint64_t events_accepted;
    uint64_t duplicates;
    uint64_t unknown_event;
    uint64_t rejected[REJ_COUNT];
    uint64_t corrupt_file;
    uint64_t implicit_registrations;
    uint64_t refund_without_payment;
    uint64_t sandbox_payments;
    uint64_t fx_substitutions;
} dq_counts;

/* A file's file-system identity, "<dev>:<inode>:<mtime>:<ctime>" (ns), as
 * stat(2) gave it before the file was read. Equal size and stat id mean the
 * content is the one ingested: nothing writes to a file without changing its
 * ctime, which no user can set back. A file changed within 2 seconds of the
 * run's start gets no stat id ("" here, NULL in the warehouse): a same-size
 * rewrite within the file system's timestamp granularity could keep it, so
 * the next run checksums the file. */
#define STAT_ID_MAX 112

/* ingested_files.checksum is this prefix and 16 hex digits of the raw
 * bytes' XXH3-64 (line_reader.h). Records made before it are 16 hex digits
 * of CRC-32 and Adler-32: a file of such a record whose stat changed is
 * compared by that checksum (file_identity computes both), so that an
 * upgrade reads no unchanged file again. */
#define INGEST_CHECKSUM_PREFIX "xxh3:"

typedef struct ingested_file {
    char *relpath;
    uint64_t size;
    uint64_t checksum;
    uint64_t lines;       /* physical lines */
    char stat[STAT_ID_MAX];
} ingested_file;

typedef struct rejected_line {
    uint32_t file;        /* index into ingest_result.files */
    uint64_t line;
    uint8_t reason;       /* reject_reason */
    int32_t game;         /* -1: _unknown */
} rejected_line;

typedef struct ingest_result {
    fact_batch facts;
    dq_counts *dq;               /* n_games + 1 entries; the last is "_unknown" */
    size_t n_games;
    ingested_file *files;        /* ingested by this run */
    size_t n_files, cap_files;
    rejected_line *rejects;
    size_t n_rejects, cap_rejects;
    ingested_file *restat;       /* ingested before, same content, new stat id (touched,
                                    copied): only the stat id is to be recorded (lines 0) */
    size_t n_restat, cap_restat;
    char **corrupt;              /* relative paths of files not ingested */
    size_t n_corrupt;
    char **vanished;             /* relative paths listed in the tree but gone (or a
                                    dangling symbolic link) when their turn came: skipped,
                                    read by the run that finds them */
    size_t n_vanished;
    uint64_t lines_read;         /* all games */
    uint64_t rejected;           /* all games */
} ingest_result;

/* Reads every new or changed input file. zones: the games' zones by index
 * (read-only; shared by the reader threads). A file that cannot be read
 * because it is corrupt is not an error here (see above); an I/O error on
 * the input tree or the quarantine is (-1, err), as is running out of memory
 * or threads; with several readers, the first fatal error stops the others
 * and is the one returned. */
int ingest_run(const config *cfg, warehouse *wh, const tz_zone *const *zones,
               ingest_result *out, ms_error *err);
void ingest_result_free(ingest_result *r);

#endif
