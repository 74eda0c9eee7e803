/*
 * config.h - the INI configuration (operations.md "Configuration").
 *
 * One table of known keys (config.c, in the spirit of PgBouncer) drives the
 * parser, the validation and `moonstat --help-config` / the README section.
 *
 * File syntax: sections "[moonstat]", "[source]", "[game <id>]",
 * "[channel <name>]"; "key = value" lines; comments are whole lines starting
 * with '#' or ';' (after optional whitespace), or the rest of a line after
 * whitespace followed by '#' or ';'. Values are trimmed. Relative paths are
 * resolved against the directory of the configuration file (keys marked as
 * paths; URLs and URIs are left alone). An unknown section or key, a repeated
 * key, a missing required key or a bad value is an error naming the file,
 * line and key (the CLI maps it to exit 2). Repeated sections ([moonstat],
 * [source], a game id or a channel name) are errors too; an empty value for an
 * optional key means its default. Lines are at most 4096 bytes.
 */
#ifndef MOONSTAT_CONFIG_H
#define MOONSTAT_CONFIG_H

#include <stddef.h>

#include "common.h"

#define CONFIG_MAX_GAMES 256
#define CONFIG_MAX_CHANNELS 32

typedef struct config_game {
    char *id;         /* [a-z0-9][a-z0-9_-]{0,31} */
    char *timezone;   /* IANA name, required */
} config_game;

typedef struct config_channel {
    char *name;        /* google_play, app_store, mycard, ... */
    char *statements;  /* directory (resolved) or URL template */
    char *timezone;    /* default per channel: google_play/app_store UTC, mycard Asia/Taipei, else UTC */
    char *fee_rate;    /* [0-9]+(\.[0-9]+)? as written, e.g. "0.15" (default "0") */
    char *token_env;   /* optional: name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)
                          holding a bearer token; NULL when absent */
} config_channel;

typedef struct config {
    char *path;               /* the configuration file as given */
    char *dir;                /* its directory (absolute) */
    /* [moonstat] */
    char *input_dir;          /* required, path */
    char *warehouse;          /* required: sqlite:///abs/path, sqlite://relative/path
                                 (resolved), or postgresql://... (as is) */
    char *export_dir;         /* required, path */
    char *quarantine_dir;     /* required, path */
    char *reporting_currency; /* required, upper-case ISO 4217 code */
    char *fx_rates;           /* required: directory (path) or URL template with {date} */
    double max_reject_rate;   /* required, 0..1 */
    char *max_reject_rate_text; /* as written, a plain decimal [0-9]+(\.[0-9]+)? */
    int threads;              /* optional, default 0 = number of CPUs */
    int fx_retry_delay_ms;    /* optional, default 500: the first back-off of an fx URL */
    /* [source] (optional; when present, mysql is required) */
    char *source_mysql;       /* mysql://user@host:port/db, NULL when absent */
    char *source_password_file; /* path, NULL when absent */
    /* [game <id>] */
    config_game games[CONFIG_MAX_GAMES];
    size_t n_games;
    /* [channel <name>] */
    config_channel channels[CONFIG_MAX_CHANNELS];
    size_t n_channels;
} config;

/* Loads and validates the file. On success returns 0 and fills *cfg (free
 * with config_free). On error returns -1, err says "<file>:<line>: ..." and
 * *cfg holds nothing to free. Also refuses (error) a configuration file that
 * holds a password in a URI ("user:pass@") and is readable by group/others. */
int config_load(const char *path, config *cfg, ms_error *err);
void config_free(config *cfg);

/* Index of a game by id, or -1. */
int config_game_index(const config *cfg, const char *id);

/* Writes the documentation of every section and key (the same table the
 * parser uses) to a buffer, as Markdown. Returns 0 or -1. */
int config_describe(buf *out);

/* The `threads` setting resolved: itself, or for 0 the online CPUs (1 when
 * unknown). Readers and compute workers each cap it further. */
size_t config_thread_count(const config *cfg);

#endif
