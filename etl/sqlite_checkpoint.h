/*
 * sqlite_checkpoint.h - copies a SQLite warehouse's WAL into the database
 * on a thread of its own, after the commit instead of inside it.
 *
 * Why: in WAL mode every committed page is written twice, once to the WAL
 * (fsynced by COMMIT: that is what makes the commit durable) and once more
 * into the database by a checkpoint. SQLite's automatic checkpoint runs
 * inside the COMMIT that crosses 1000 WAL frames, so the run waited for
 * both. On the 5M event bench the first load's COMMIT took 1.0 s, of which
 * 0.8 s was the checkpoint (400 MB copied and fsynced); a night's, 0.24 s
 * of which ~0.1 s. Done by a second connection on a thread, the copy
 * overlaps the reports, which only read; the committed data is as durable
 * as before (it is in the fsynced WAL), and a crash during the copy is
 * what SQLite's recovery handles anyway (the next open replays the WAL).
 *
 * How: a WAL hook on the connection replaces the automatic checkpoint. A
 * commit that leaves SQLITE_CHECKPOINT_FRAMES or more frames in the WAL
 * wakes the thread (started on first need), which runs a PASSIVE
 * checkpoint: it copies what no reader still needs, never waits for a lock
 * and never blocks the writer or the readers. A checkpoint asked for while
 * one runs is run once more after it. If the thread or its connection
 * cannot be had, the hook checkpoints inline, as SQLite would have.
 * Closing the last connection checkpoints what is left (sqlite3_close).
 *
 * Threads: the hook runs on the thread that commits; the checkpoint on the
 * checkpointer's own thread with its own connection. Nothing is printed.
 *
 * Ownership: sqlite_checkpointer_new returns an object the caller frees
 * with sqlite_checkpointer_free before it closes the watched connection
 * (free removes the hook, waits for a checkpoint in progress, ends the
 * thread and closes the second connection).
 */
#ifndef MOONSTAT_SQLITE_CHECKPOINT_H
#define MOONSTAT_SQLITE_CHECKPOINT_H

#include <sqlite3.h>
#include <stdint.h>

#include "common.h"

/* SQLite's own default for the automatic checkpoint. */
#define SQLITE_CHECKPOINT_FRAMES 1000

typedef struct sqlite_checkpointer sqlite_checkpointer;

/* Watches db, whose database file is path (copied). NULL with err set on
 * allocation failure. */
sqlite_checkpointer *sqlite_checkpointer_new(sqlite3 *db, const char *path, ms_error *err);

/* For tests: waits until no checkpoint is asked for or running. */
void sqlite_checkpointer_drain(sqlite_checkpointer *c);

/* For tests and logs: checkpoints run on the thread, and inline (the
 * fallback). */
void sqlite_checkpointer_stats(sqlite_checkpointer *c, uint64_t *background, uint64_t *inline_);

void sqlite_checkpointer_free(sqlite_checkpointer *c);

#endif
