/*
 * schema_files.h - the versioned DDL of schemas/<backend>/NNN_name.sql,
 * compiled into the binary by schemas/embed.sh (see Makefile).
 */
#ifndef MOONSTAT_SCHEMA_FILES_H
#define MOONSTAT_SCHEMA_FILES_H

#include <stddef.h>

typedef struct schema_file {
    const char *backend;   /* "sqlite", "postgresql" */
    int version;           /* NNN */
    const char *name;      /* "001_init.sql" */
    const char *const *lines; /* the file, line by line, NULL-terminated */
} schema_file;

extern const schema_file schema_files[];
extern const size_t schema_files_count;

#endif
