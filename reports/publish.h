/*
 * publish.h - atomic publication of one export partition (exports.md
 * "Export layout").
 *
 *   <export_dir>/<report>/dt=<YYYY-MM-DD>/<report>.csv
 *   <export_dir>/<report>/dt=<YYYY-MM-DD>/manifest.json
 *   <export_dir>/<report>/dt=<YYYY-MM-DD>/_SUCCESS
 *
 * How a partition is replaced so that no reader ever sees a CSV without its
 * matching manifest:
 *  1. If the partition exists and its CSV has exactly the new bytes (compared
 *     by SHA-256 with the manifest, and by reading the CSV), nothing is done:
 *     same bytes, same mtime. Returns PUBLISH_UNCHANGED. This needs a
 *     manifest.json that parses and agrees on every field but run_id and
 *     written_at (report, partition, file, rows, bytes, sha256,
 *     reporting_currency, schema_version), a _SUCCESS file, and a CSV equal
 *     byte for byte; anything else (a CSV touched behind the manifest's back,
 *     a missing _SUCCESS, a corrupt manifest) is rewritten.
 *  2. A staging directory "<report>/.dt=<date>.tmp-<pid>" is made next to the
 *     partition; in it the CSV, manifest.json and _SUCCESS are written under
 *     their own names (nobody reads a staging directory); then syncfs(2)
 *     of the report directory's file system makes them durable.
 *  3. The staging directory replaces the partition in one step: rename(2)
 *     when there is no partition yet, renameat2(RENAME_EXCHANGE) when there
 *     is (then the old copy, now at the staging name, is removed); the report
 *     directory is fsynced after the rename (not after the removal: an old
 *     copy that a crash brings back is a stale staging directory, step 4).
 *     Where the file system cannot exchange, the files are renamed one by
 *     one into the partition in the order CSV, manifest, _SUCCESS after
 *     removing _SUCCESS first (the spec's order).
 *  4. Stale staging directories from a killed run are removed by
 *     publish_cleanup_staging.
 *
 * A partition whose new content has zero data rows is only written when the
 * partition already exists (then with the header only); otherwise nothing is
 * created and PUBLISH_UNCHANGED is returned.
 *
 * The manifest is a JSON object with 2-space indent and a trailing newline,
 * keys in this order: report, partition, file ("<report>.csv"), rows, bytes,
 * sha256, run_id, written_at (RFC 3339 UTC, seconds: "2026-11-26T03:00:12Z"),
 * reporting_currency, schema_version.
 *
 * Nothing here prints. Paths are built from export_dir, so report must be
 * [A-Za-z0-9_-]{1,64} and partition YYYY-MM-DD; anything else is an error.
 * Not thread-safe for the same partition (one staging name per process).
 */
#ifndef MOONSTAT_PUBLISH_H
#define MOONSTAT_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct publish_meta {
    const char *report;             /* "daily_kpi" */
    const char *partition;          /* "2026-11-07" */
    const char *run_id;             /* opaque, written to the manifest */
    const char *reporting_currency; /* "USD" */
    int schema_version;             /* the exports' layout: EXPORTS_SCHEMA_VERSION */
} publish_meta;

typedef enum publish_result { PUBLISH_UNCHANGED = 0, PUBLISH_WRITTEN = 1 } publish_result;

/* Publishes `csv` (len bytes, `rows` data rows not counting the header).
 * Returns PUBLISH_UNCHANGED / PUBLISH_WRITTEN, or -1 with err set. On -1 the
 * previous partition is intact (or, with the per-file fallback, left without
 * _SUCCESS) and the staging directory is removed when possible; one case is
 * reported as -1 after the new partition is in place: removing the old copy
 * failed (the message says so; publish_cleanup_staging removes it later). */
int publish_partition(const char *export_dir, const publish_meta *meta, const char *csv,
                      size_t len, uint64_t rows, ms_error *err);

/* A batch of partitions published together, so that making them durable
 * costs one syncfs(2) per report directory instead of an fsync per file and
 * directory (five per new partition: 762 for the first load of the
 * 1M-event bench):
 *   publish_stage      checks a partition as step 1 above; if it changed,
 *                      builds its staging directory (step 2, without the
 *                      syncfs) and adds it to the batch;
 *   publish_batch_commit  syncfs of the file system of each report directory
 *                      in the batch, so that every staged file and directory
 *                      is on disk before any of them becomes visible; then
 *                      step 3 for each partition in the order staged; then
 *                      one fsync of each report directory. The batch is
 *                      empty afterwards, whatever the result.
 * syncfs reports write-back errors since Linux 5.8 (Debian 12 has 6.1); it
 * also writes whatever else is pending on that file system (the run's own
 * warehouse, when it shares it, which has to reach the disk anyway).
 * A partition is staged at most once per batch. On a commit error the
 * partitions before the failing one are published, the failing one is as
 * publish_partition leaves it on error, and the rest are dropped (their
 * staging directories removed); the previous copy of each is intact. */
typedef struct publish_batch publish_batch;

/* A new, empty batch for export_dir (copied). NULL on allocation failure
 * (err set). Free with publish_batch_free, which drops what is staged. */
publish_batch *publish_batch_new(const char *export_dir, ms_error *err);
/* Like publish_partition up to the point of no return: returns
 * PUBLISH_UNCHANGED (nothing staged), PUBLISH_WRITTEN (staged: published by
 * the next publish_batch_commit), or -1 (err set; nothing staged). */
int publish_stage(publish_batch *b, const publish_meta *meta, const char *csv, size_t len,
                  uint64_t rows, ms_error *err);
/* The number of partitions staged and not yet committed. */
size_t publish_batch_count(const publish_batch *b);
/* Publishes every staged partition (above). Returns 0 or -1 (err set). */
int publish_batch_commit(publish_batch *b, ms_error *err);
void publish_batch_free(publish_batch *b);

/* Removes leftover "<report>/.dt=*.tmp-*" staging directories under
 * export_dir (from a run that was killed): their files, then the directory,
 * then the report directory is fsynced. A missing export_dir is fine.
 * Call it only while no publish_partition runs. Returns 0 or -1. */
int publish_cleanup_staging(const char *export_dir, ms_error *err);

/* SHA-256 of a buffer as 64 lower-case hex digits + NUL (OpenSSL EVP). */
int sha256_hex(const void *data, size_t len, char out[65], ms_error *err);

/* mkdir -p (mode 0755 before umask); the parent of each directory created
 * is fsynced. An existing non-directory is an error. Returns 0 or -1. */
int mkdir_p(const char *path, ms_error *err);

/* Writes data to path atomically: temporary file ".<name>.tmp-<pid>-<n>" in
 * the same directory, write, fsync, rename, fsync the directory. On failure
 * the temporary file is removed. Returns 0 or -1. */
int write_file_atomic(const char *path, const void *data, size_t len, ms_error *err);

#endif
