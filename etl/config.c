/*
 * config.c - the INI configuration (operations.md "Configuration").
 *
 * One static table of known keys (`keys` below, in the spirit of PgBouncer's
 * config table) drives everything: which keys a section accepts, how a value
 * is checked and stored, which keys are required, the defaults, and the
 * Markdown written by config_describe. Adding a key is adding one row.
 *
 * The loader never prints; every error is "<file>:<line>: <what>; <what to
 * do>". On error nothing is left allocated in *cfg.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 4096 /* bytes per line, without the line end */
#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* ---------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

typedef enum { SEC_MOONSTAT, SEC_SOURCE, SEC_GAME, SEC_CHANNEL } sec_kind;

typedef enum {
    T_PATH,          /* resolved against the configuration directory */
    T_URL_OR_PATH,   /* contains "://": URL template kept as is; else T_PATH */
    T_WAREHOUSE_URI, /* sqlite:///abs, sqlite://rel (resolved), postgres(ql):// */
    T_MYSQL_URI,     /* mysql://... kept as is */
    T_CURRENCY,      /* three upper-case letters */
    T_RATIO,         /* plain decimal in [0,1]; text and double */
    T_INT,           /* integer in [lo, hi] */
    T_TIMEZONE,      /* a TZif file under /usr/share/zoneinfo */
    T_DECIMAL,       /* [0-9]+(\.[0-9]+)? kept as text */
    T_ENV_NAME       /* an environment variable name */
} val_type;

static const char *const sec_names[] = {"moonstat", "source", "game", "channel"};
static const char *const sec_headers[] = {"[moonstat]", "[source]", "[game <id>]",
                                          "[channel <name>]"};
static const char *const sec_docs[] = {
    "Required. Where the pipeline reads, writes and publishes.",
    "Optional. The SDK's MySQL database (read-only user), extracted on every run.",
    "One per game (at least one). `<id>` matches `[a-z0-9][a-z0-9_-]{0,31}`.",
    "Optional, one per payment channel to reconcile. `<name>` matches `[a-z0-9_]{1,32}`.",
};
static const char *const type_names[] = {
    "path", "url_or_path", "warehouse_uri", "mysql_uri", "currency",
    "ratio", "int", "timezone", "decimal", "env_name",
};

typedef struct key_def {
    sec_kind section;
    const char *key;
    val_type type;
    int required;        /* in [moonstat]; in each [game]/[channel]/[source] present */
    const char *def;     /* default, parsed like a written value; NULL = none */
    const char *(*def_fn)(const char *section_name); /* computed default (wins over def) */
    const char *def_doc; /* the default as documented when def_fn computes it */
    size_t off;          /* char * (or int) field in config / config_game / config_channel */
    size_t aux_off;      /* T_RATIO: the double field */
    int lo, hi;          /* T_INT bounds */
    const char *doc;     /* one line, no '|' needed (it is escaped anyway) */
} key_def;

static const char *channel_default_timezone(const char *name)
{
    return name && strcmp(name, "mycard") == 0 ? "Asia/Taipei" : "UTC";
}

static const key_def keys[] = {
    {.section = SEC_MOONSTAT, .key = "input_dir", .type = T_PATH, .required = 1,
     .off = offsetof(config, input_dir),
     .doc = "Directory of SDK event logs, scanned recursively."},
    {.section = SEC_MOONSTAT, .key = "warehouse", .type = T_WAREHOUSE_URI, .required = 1,
     .off = offsetof(config, warehouse),
     .doc = "`sqlite:///abs/path`, `sqlite://relative/path` or `sqlite:///name.db` (a bare "
            "file name; both resolved against the configuration directory) or `postgresql://user@host/db` (kept as is; the "
            "password comes from PGPASSFILE, .pgpass or PGPASSWORD)."},
    {.section = SEC_MOONSTAT, .key = "export_dir", .type = T_PATH, .required = 1,
     .off = offsetof(config, export_dir),
     .doc = "Directory the export partitions are published into."},
    {.section = SEC_MOONSTAT, .key = "quarantine_dir", .type = T_PATH, .required = 1,
     .off = offsetof(config, quarantine_dir),
     .doc = "Directory for rejected input lines."},
    {.section = SEC_MOONSTAT, .key = "reporting_currency", .type = T_CURRENCY, .required = 1,
     .off = offsetof(config, reporting_currency),
     .doc = "ISO 4217 code (three upper-case letters) all revenue is converted to."},
    {.section = SEC_MOONSTAT, .key = "fx_rates", .type = T_URL_OR_PATH, .required = 1,
     .off = offsetof(config, fx_rates),
     .doc = "A directory of `<date>.json` exchange-rate files, or a URL template with `{date}`."},
    {.section = SEC_MOONSTAT, .key = "max_reject_rate", .type = T_RATIO, .required = 1,
     .off = offsetof(config, max_reject_rate_text), .aux_off = offsetof(config, max_reject_rate),
     .doc = "Plain decimal in [0,1]: the run fails (exit 3) when a larger share of lines "
            "is rejected."},
    {.section = SEC_MOONSTAT, .key = "threads", .type = T_INT, .def = "0",
     .off = offsetof(config, threads), .lo = 0, .hi = 64,
     .doc = "Threads that read the input files and compute the games' reports, 0..64; 0 "
            "means the number of online CPUs, 1 works on the main thread. The result is "
            "the same whatever the number."},
    {.section = SEC_MOONSTAT, .key = "fx_retry_delay_ms", .type = T_INT, .def = "500",
     .off = offsetof(config, fx_retry_delay_ms), .lo = 0, .hi = 60000,
     .doc = "Milliseconds before the first retry of an exchange-rate URL after a transient "
            "failure, doubling for each of the 3 retries; 0..60000."},

    {.section = SEC_SOURCE, .key = "mysql", .type = T_MYSQL_URI, .required = 1,
     .off = offsetof(config, source_mysql),
     .doc = "`mysql://user@host:port/db` of the SDK database (read-only user; keep the "
            "password in password_file)."},
    {.section = SEC_SOURCE, .key = "password_file", .type = T_PATH,
     .off = offsetof(config, source_password_file),
     .doc = "File holding only the MySQL password, readable by its owner only; else "
            "MOONSTAT_MYSQL_PASSWORD."},

    {.section = SEC_GAME, .key = "timezone", .type = T_TIMEZONE, .required = 1,
     .off = offsetof(config_game, timezone),
     .doc = "IANA time zone of the game's calendar days, e.g. `Asia/Tokyo`."},

    {.section = SEC_CHANNEL, .key = "statements", .type = T_URL_OR_PATH, .required = 1,
     .off = offsetof(config_channel, statements),
     .doc = "A directory of statements, or a URL template with `{date}` / `{month}`."},
    {.section = SEC_CHANNEL, .key = "timezone", .type = T_TIMEZONE, .def = "UTC",
     .def_fn = channel_default_timezone, .def_doc = "`UTC` (`mycard`: `Asia/Taipei`)",
     .off = offsetof(config_channel, timezone),
     .doc = "IANA time zone of the statement days."},
    {.section = SEC_CHANNEL, .key = "fee_rate", .type = T_DECIMAL, .def = "0",
     .off = offsetof(config_channel, fee_rate),
     .doc = "The channel's fee as a plain decimal share, e.g. `0.15`; kept as written."},
    {.section = SEC_CHANNEL, .key = "token_env", .type = T_ENV_NAME,
     .off = offsetof(config_channel, token_env),
     .doc = "Name of an environment variable holding a bearer token for statement URLs."},
};

#define N_KEYS MS_ARRAY_LEN(keys)

/* ---------------------------------------------------------------------------
 * Parser state and errors
 * ------------------------------------------------------------------------ */

typedef struct parser {
    config *cfg;
    const char *path; /* as given, for messages */
    ms_error *err;
    int line;         /* current line number (1-based) */
    mode_t mode;      /* of the configuration file */
    /* the open section */
    int in_section;
    sec_kind sec;
    void *base;           /* struct the section's keys are stored in */
    const char *sec_name; /* game id or channel name, NULL otherwise */
    char sec_label[80];   /* "[game reversal]", for messages */
    int sec_line;
    int seen[N_KEYS];     /* line a key appeared on in this section; 0 = not */
    int assigned[N_KEYS]; /* a value was stored */
    /* whole-file bookkeeping */
    int moonstat_line, source_line;
    int game_line[CONFIG_MAX_GAMES];
    int channel_line[CONFIG_MAX_CHANNELS];
} parser;

static int perr(const parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(const parser *p, int line, const char *fmt, ...)
{
    char what[MS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ms_error_set(p->err, "%s:%d: %s", p->path, line, what);
}

static int oom(const parser *p, int line)
{
    return perr(p, line, "out of memory; free some memory and retry");
}

/* ---------------------------------------------------------------------------
 * Small text helpers
 * ------------------------------------------------------------------------ */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims in place; returns the first non-blank byte. */
static char *trim(char *s)
{
    size_t n;
    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    s[n] = '\0';
    return s;
}

/* Cuts the line at a comment: '#' or ';' at the start or after a blank. */
static void strip_comment(char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if ((s[i] == '#' || s[i] == ';') && (i == 0 || is_space(s[i - 1]))) {
            s[i] = '\0';
            return;
        }
    }
}

static int is_lower_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9_-]{0,31} */
static int valid_game_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32 || !is_lower_digit(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_lower_digit(s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* [a-z0-9_]{1,32} */
static int valid_channel_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_digit(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* [0-9]+(\.[0-9]+)? */
static int valid_decimal(const char *s)
{
    const char *q = s;
    while (*q >= '0' && *q <= '9')
        q++;
    if (q == s)
        return 0;
    if (*q == '.') {
        const char *f = ++q;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return 0;
    }
    return *q == '\0';
}

static int valid_env_name(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (const char *q = s + 1; *q; q++)
        if (!(isalnum((unsigned char)*q) || *q == '_'))
            return 0;
    return 1;
}

static int is_scheme_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* Does the text hold "scheme://user:password@"? The authority ends at '/',
 * '?', '#' or a blank; a ':' before its '@' means a password is there. */
static int has_uri_password(const char *s)
{
    for (const char *m = strstr(s, "://"); m; m = strstr(m + 1, "://")) {
        const char *b = m, *q;
        int colon = 0;
        while (b > s && is_scheme_char(b[-1]))
            b--;
        while (b < m && !isalpha((unsigned char)*b)) /* a scheme starts with a letter */
            b++;
        if (b == m)
            continue;
        for (q = m + 3; *q && *q != '/' && *q != '?' && *q != '#' && *q != '@' && !is_space(*q);
             q++)
            if (*q == ':')
                colon = 1;
        if (*q == '@' && colon)
            return 1;
    }
    return 0;
}

/* dir + "/" + rel, or rel itself when absolute. Heap; NULL when out of memory. */
static char *resolve_path(const char *dir, const char *rel)
{
    size_t dn, rn;
    char *out;
    if (rel[0] == '/')
        return strdup(rel);
    dn = strlen(dir);
    rn = strlen(rel);
    if (dn > 0 && dir[dn - 1] == '/')
        dn--; /* dir is "/" */
    out = malloc(dn + 1 + rn + 1);
    if (!out)
        return NULL;
    memcpy(out, dir, dn);
    out[dn] = '/';
    memcpy(out + dn + 1, rel, rn + 1);
    return out;
}

/* Prefix + s in a new heap string, NULL when out of memory. */
static char *concat(const char *prefix, const char *s)
{
    size_t pn = strlen(prefix), sn = strlen(s);
    char *out = malloc(pn + sn + 1);
    if (!out)
        return NULL;
    memcpy(out, prefix, pn);
    memcpy(out + pn, s, sn + 1);
    return out;
}

/* 1 when ZONEINFO_DIR/<tz> is a regular TZif file; names with ".." or a
 * leading '/' are refused. */
static int timezone_exists(const char *tz)
{
    char path[512];
    char magic[4];
    struct stat st;
    int fd, ok;
    if (!tz[0] || tz[0] == '/' || strstr(tz, ".."))
        return 0;
    for (const char *q = tz; *q; q++)
        if (!(isalnum((unsigned char)*q) || *q == '/' || *q == '_' || *q == '-' || *q == '+'))
            return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, tz) >= sizeof path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
         read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
         memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

/* ---------------------------------------------------------------------------
 * Storing one value (shared by written values and defaults)
 * ------------------------------------------------------------------------ */

static int set_value(parser *p, size_t ki, const char *v, int line)
{
    const key_def *k = &keys[ki];
    char *base = p->base;
    char **slot = (char **)(void *)(base + k->off);
    char *s = NULL;
    const char *dir = p->cfg->dir;

    switch (k->type) {
    case T_PATH:
        s = resolve_path(dir, v);
        break;
    case T_URL_OR_PATH:
        s = strstr(v, "://") ? strdup(v) : resolve_path(dir, v);
        break;
    case T_WAREHOUSE_URI:
        if (strncmp(v, "sqlite://", 9) == 0) {
            const char *rest = v + 9;
            if (rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0'))
                return perr(p, line, "%s: sqlite URI without a file; write "
                            "sqlite:///abs/path/warehouse.db or sqlite://relative/path", k->key);
            if (rest[0] == '/' && strchr(rest + 1, '/')) {
                s = strdup(v);
            } else {
                /* "sqlite://rel/w.db" and "sqlite:///w.db" (a bare file name:
                 * nobody keeps a warehouse in "/", and the golden scenario
                 * writes it so) are relative to the configuration file. */
                if (rest[0] == '/')
                    rest++;
                char *abs = resolve_path(dir, rest);
                if (!abs)
                    return oom(p, line);
                s = concat("sqlite://", abs); /* abs starts with '/' */
                free(abs);
            }
        } else if (strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0) {
            s = strdup(v);
        } else {
            /* The value is not echoed: it may hold a password. */
            return perr(p, line, "%s: unsupported warehouse URI; use sqlite:///abs/path, "
                        "sqlite://relative/path or postgresql://user@host/db", k->key);
        }
        break;
    case T_MYSQL_URI:
        if (strncmp(v, "mysql://", 8) != 0 || v[8] == '\0')
            return perr(p, line, "%s: not a mysql:// URI; write "
                        "mysql://user@host:port/db", k->key);
        s = strdup(v);
        break;
    case T_CURRENCY:
        if (strlen(v) != 3 || !isupper((unsigned char)v[0]) || !isupper((unsigned char)v[1]) ||
            !isupper((unsigned char)v[2]))
            return perr(p, line, "%s: '%s' is not a currency code; write three upper-case "
                        "letters such as USD", k->key, v);
        s = strdup(v);
        break;
    case T_RATIO: {
        char *end;
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (!valid_decimal(v) || end == v || *end != '\0' || errno == ERANGE ||
            !(d >= 0.0 && d <= 1.0))
            return perr(p, line, "%s: '%s' is not a decimal between 0 and 1; write e.g. 0.01",
                        k->key, v);
        s = strdup(v);
        if (!s)
            return oom(p, line);
        *(double *)(void *)(base + k->aux_off) = d;
        *slot = s;
        return 0;
    }
    case T_INT: {
        char *end;
        long n;
        errno = 0;
        n = strtol(v, &end, 10);
        if (end == v || *end != '\0' || errno == ERANGE || n < k->lo || n > k->hi)
            return perr(p, line, "%s: '%s' is not an integer in %d..%d; write one", k->key, v,
                        k->lo, k->hi);
        *(int *)(void *)(base + k->off) = (int)n;
        return 0;
    }
    case T_TIMEZONE:
        if (!timezone_exists(v))
            return perr(p, line, "%s: unknown time zone '%s'; use an IANA name from "
                        ZONEINFO_DIR " such as Asia/Tokyo or UTC", k->key, v);
        s = strdup(v);
        break;
    case T_DECIMAL:
        if (!valid_decimal(v))
            return perr(p, line, "%s: '%s' is not a plain decimal; write e.g. 0.15", k->key, v);
        s = strdup(v);
        break;
    case T_ENV_NAME:
        if (!valid_env_name(v))
            return perr(p, line, "%s: '%s' is not an environment variable name; use "
                        "letters, digits and '_'", k->key, v);
        s = strdup(v);
        break;
    }
    if (!s)
        return oom(p, line);
    *slot = s;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Sections
 * ------------------------------------------------------------------------ */

/* Required keys and defaults of the open section. */
static int close_section(parser *p)
{
    if (!p->in_section)
        return 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        const key_def *k = &keys[i];
        const char *d;
        if (k->section != p->sec || p->assigned[i])
            continue;
        if (k->required)
            return perr(p, p->sec_line, "%s is missing required key '%s'; add a line "
                        "'%s = ...' to it (see moonstat --help-config)",
                        p->sec_label, k->key, k->key);
        d = k->def_fn ? k->def_fn(p->sec_name) : k->def;
        if (d && set_value(p, i, d, p->sec_line) < 0)
            return -1;
    }
    p->in_section = 0;
    return 0;
}

static int open_section(parser *p, char *t)
{
    size_t n = strlen(t);
    char *inner, *name;
    int kind = -1;
    const int line = p->line;

    if (close_section(p) < 0)
        return -1;
    if (n < 2 || t[n - 1] != ']')
        return perr(p, line, "malformed section header; write [moonstat], [source], "
                    "[game <id>] or [channel <name>]");
    t[n - 1] = '\0';
    inner = trim(t + 1);
    for (name = inner; *name && !is_space(*name); name++)
        ;
    if (*name)
        *name++ = '\0';
    name = trim(name);
    for (size_t i = 0; i < MS_ARRAY_LEN(sec_names); i++)
        if (strcmp(inner, sec_names[i]) == 0)
            kind = (int)i;
    if (kind < 0)
        return perr(p, line, "unknown section [%s]; expected [moonstat], [source], "
                    "[game <id>] or [channel <name>]", inner);

    memset(p->seen, 0, sizeof p->seen);
    memset(p->assigned, 0, sizeof p->assigned);
    p->sec = (sec_kind)kind;
    p->sec_line = line;
    p->sec_name = NULL;

    switch (p->sec) {
    case SEC_MOONSTAT:
    case SEC_SOURCE: {
        int *first = p->sec == SEC_MOONSTAT ? &p->moonstat_line : &p->source_line;
        if (*name)
            return perr(p, line, "section [%s] takes no name (got '%s'); write [%s]", inner,
                        name, inner);
        if (*first)
            return perr(p, line, "repeated section [%s] (first at line %d); merge them into one",
                        inner, *first);
        *first = line;
        p->base = p->cfg;
        snprintf(p->sec_label, sizeof p->sec_label, "[%s]", inner);
        break;
    }
    case SEC_GAME: {
        config_game *g;
        if (!valid_game_id(name))
            return perr(p, line, "bad game id '%s' in [game ...]; an id is 1-32 characters "
                        "[a-z0-9_-], starting with a letter or digit", name);
        for (size_t i = 0; i < p->cfg->n_games; i++)
            if (strcmp(p->cfg->games[i].id, name) == 0)
                return perr(p, line, "repeated section [game %s] (first at line %d); "
                            "merge them into one", name, p->game_line[i]);
        if (p->cfg->n_games >= CONFIG_MAX_GAMES)
            return perr(p, line, "more than %d games; remove some [game] sections",
                        CONFIG_MAX_GAMES);
        g = &p->cfg->games[p->cfg->n_games];
        g->id = strdup(name);
        if (!g->id)
            return oom(p, line);
        p->game_line[p->cfg->n_games++] = line;
        p->base = g;
        p->sec_name = g->id;
        snprintf(p->sec_label, sizeof p->sec_label, "[game %s]", g->id);
        break;
    }
    case SEC_CHANNEL: {
        config_channel *c;
        if (!valid_channel_name(name))
            return perr(p, line, "bad channel name '%s' in [channel ...]; a name is 1-32 "
                        "characters [a-z0-9_]", name);
        for (size_t i = 0; i < p->cfg->n_channels; i++)
            if (strcmp(p->cfg->channels[i].name, name) == 0)
                return perr(p, line, "repeated section [channel %s] (first at line %d); "
                            "merge them into one", name, p->channel_line[i]);
        if (p->cfg->n_channels >= CONFIG_MAX_CHANNELS)
            return perr(p, line, "more than %d channels; remove some [channel] sections",
                        CONFIG_MAX_CHANNELS);
        c = &p->cfg->channels[p->cfg->n_channels];
        c->name = strdup(name);
        if (!c->name)
            return oom(p, line);
        p->channel_line[p->cfg->n_channels++] = line;
        p->base = c;
        p->sec_name = c->name;
        snprintf(p->sec_label, sizeof p->sec_label, "[channel %s]", c->name);
        break;
    }
    }
    p->in_section = 1;
    return 0;
}

/* "known keys there: a, b, c" for the open section. */
static void known_keys(const parser *p, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_KEYS && used < cap; i++) {
        int w;
        if (keys[i].section != p->sec)
            continue;
        w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", keys[i].key);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int key_value(parser *p, char *t)
{
    char *eq = strchr(t, '=');
    char *key, *value;
    size_t ki;
    const int line = p->line;

    if (!eq)
        return perr(p, line, "expected 'key = value', a [section] header or a comment; "
                    "fix or comment out the line");
    *eq = '\0';
    key = trim(t);
    value = trim(eq + 1);
    if (!*key)
        return perr(p, line, "missing key before '='; write 'key = value'");
    if (!p->in_section)
        return perr(p, line, "key '%s' before any section; put it under [moonstat] or the "
                    "section it belongs to", key);
    for (ki = 0; ki < N_KEYS; ki++)
        if (keys[ki].section == p->sec && strcmp(keys[ki].key, key) == 0)
            break;
    if (ki == N_KEYS) {
        char list[256];
        known_keys(p, list, sizeof list);
        return perr(p, line, "unknown key '%s' in %s; known keys there: %s", key, p->sec_label,
                    list);
    }
    if (p->seen[ki])
        return perr(p, line, "repeated key '%s' in %s (first at line %d); keep one", key,
                    p->sec_label, p->seen[ki]);
    p->seen[ki] = line;
    if (!*value) {
        if (keys[ki].required)
            return perr(p, line, "empty value for required key '%s' in %s; give it a value",
                        key, p->sec_label);
        return 0; /* optional and empty: the default applies */
    }
    if (set_value(p, ki, value, line) < 0)
        return -1;
    p->assigned[ki] = 1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------ */

/* Reads one line without its '\n' (and a '\r' before it) into line[].
 * 1: a line; 0: end of file; -1: read error; -2: too long; -3: NUL byte. */
static int read_line(FILE *f, char line[CONFIG_LINE_MAX + 2])
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (c == '\0')
            return -3;
        if (n > CONFIG_LINE_MAX) /* room for a '\r' before the '\n' */
            return -2;
        line[n++] = (char)c;
    }
    if (c == EOF) {
        if (ferror(f))
            return -1;
        if (n == 0)
            return 0;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (n > CONFIG_LINE_MAX)
        return -2;
    line[n] = '\0';
    return 1;
}

/* Absolute directory of the file. Heap; NULL with errno set. */
static char *config_dir(const char *path)
{
    char *copy = strdup(path), *slash, *dir;
    if (!copy)
        return NULL;
    slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = '\0';
    else
        *slash = '\0';
    dir = realpath(copy, NULL);
    free(copy);
    return dir;
}

int config_load(const char *path, config *cfg, ms_error *err)
{
    parser *p = NULL;
    FILE *f = NULL;
    struct stat st;
    int rc = -1, r;

    memset(cfg, 0, sizeof *cfg);
    p = calloc(1, sizeof *p);
    if (!p) {
        ms_error_set(err, "%s: out of memory; free some memory and retry", path);
        goto done;
    }
    p->cfg = cfg;
    p->path = path;
    p->err = err;

    cfg->path = strdup(path);
    if (!cfg->path) {
        oom(p, 0);
        goto done;
    }
    cfg->dir = config_dir(path);
    if (!cfg->dir) {
        ms_error_set(err, "%s:0: cannot resolve the file's directory: %s; check --config or "
                     "MOONSTAT_CONFIG", path, strerror(errno));
        goto done;
    }
    f = fopen(path, "r");
    if (!f) {
        ms_error_set(err, "%s:0: cannot open: %s; check --config or MOONSTAT_CONFIG", path,
                     strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        ms_error_set(err, "%s:0: not a regular file; point --config at the configuration file",
                     path);
        goto done;
    }
    p->mode = st.st_mode;

    for (;;) {
        char text[CONFIG_LINE_MAX + 2], *t;
        r = read_line(f, text);
        if (r == 0)
            break;
        p->line++;
        if (r == -1) {
            perr(p, p->line, "read error: %s; check the file", strerror(errno));
            goto done;
        }
        if (r == -2) {
            perr(p, p->line, "line longer than %d bytes; shorten it", CONFIG_LINE_MAX);
            goto done;
        }
        if (r == -3) {
            perr(p, p->line, "NUL byte in the line; the file must be text");
            goto done;
        }
        t = text;
        if (p->line == 1 && strncmp(t, "\xEF\xBB\xBF", 3) == 0)
            t += 3; /* UTF-8 byte order mark */
        /* Checked on the raw line, comments included: a commented-out
         * password is still a password on disk. */
        if ((p->mode & 077) && has_uri_password(t)) {
            perr(p, p->line, "this file holds a password in a URI and its mode %04o lets group "
                 "or others read it; run 'chmod 600 %s', or keep the password out of the file "
                 "(.pgpass/PGPASSFILE for PostgreSQL, password_file for MySQL)",
                 (unsigned)(p->mode & 07777), path);
            goto done;
        }
        strip_comment(t);
        t = trim(t);
        if (!*t)
            continue;
        if (*t == '[' ? open_section(p, t) < 0 : key_value(p, t) < 0)
            goto done;
    }
    if (close_section(p) < 0)
        goto done;
    if (!p->moonstat_line) {
        perr(p, p->line, "missing section [moonstat]; add it with input_dir, warehouse, "
             "export_dir, quarantine_dir, reporting_currency, fx_rates and max_reject_rate");
        goto done;
    }
    if (cfg->n_games == 0) {
        perr(p, p->line, "no [game <id>] section; add one per game with its timezone");
        goto done;
    }
    rc = 0;

done:
    if (f)
        fclose(f);
    free(p);
    if (rc != 0)
        config_free(cfg);
    return rc;
}

void config_free(config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->dir);
    free(cfg->input_dir);
    free(cfg->warehouse);
    free(cfg->export_dir);
    free(cfg->quarantine_dir);
    free(cfg->reporting_currency);
    free(cfg->fx_rates);
    free(cfg->max_reject_rate_text);
    free(cfg->source_mysql);
    free(cfg->source_password_file);
    for (size_t i = 0; i < cfg->n_games && i < CONFIG_MAX_GAMES; i++) {
        free(cfg->games[i].id);
        free(cfg->games[i].timezone);
    }
    for (size_t i = 0; i < cfg->n_channels && i < CONFIG_MAX_CHANNELS; i++) {
        free(cfg->channels[i].name);
        free(cfg->channels[i].statements);
        free(cfg->channels[i].timezone);
        free(cfg->channels[i].fee_rate);
        free(cfg->channels[i].token_env);
    }
    memset(cfg, 0, sizeof *cfg);
}

int config_game_index(const config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_games; i++)
        if (cfg->games[i].id && strcmp(cfg->games[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* ---------------------------------------------------------------------------
 * Documentation
 * ------------------------------------------------------------------------ */

static int put_cell(buf *out, const char *s)
{
    for (; *s; s++)
        if ((*s == '|' ? buf_puts(out, "\\|") : buf_putc(out, *s)) < 0)
            return -1;
    return 0;
}

int config_describe(buf *out)
{
    if (buf_puts(out,
                 "INI syntax: `[section]` headers and `key = value` lines. Comments are whole "
                 "lines starting with `#` or `;`, or the rest of a line after whitespace "
                 "followed by `#` or `;`. Values are trimmed. Relative paths are resolved "
                 "against the configuration file's directory; URLs (values with `://`) are kept "
                 "as written. Unknown sections or keys, repeated keys or sections, and missing "
                 "required keys are errors. A file holding a password in a URI must not be "
                 "readable by group or others.\n\n"
                 "| Section | Meaning |\n|---|---|\n") < 0)
        return -1;
    for (size_t i = 0; i < MS_ARRAY_LEN(sec_headers); i++) {
        if (buf_printf(out, "| `%s` | ", sec_headers[i]) < 0 || put_cell(out, sec_docs[i]) < 0 ||
            buf_puts(out, " |\n") < 0)
            return -1;
    }
    if (buf_puts(out, "\n| Section | Key | Type | Required | Default | Description |\n"
                      "|---|---|---|---|---|---|\n") < 0)
        return -1;
    for (size_t i = 0; i < N_KEYS; i++) {
        const key_def *k = &keys[i];
        const char *req = !k->required ? "no" : k->section == SEC_MOONSTAT ? "yes"
                                                                           : "yes (per section)";
        if (buf_printf(out, "| `%s` | `%s` | %s | %s | ", sec_headers[k->section], k->key,
                       type_names[k->type], req) < 0)
            return -1;
        if (k->def_doc ? put_cell(out, k->def_doc) < 0
            : k->def   ? buf_printf(out, "`%s`", k->def) < 0
                       : 0)
            return -1;
        if (buf_puts(out, " | ") < 0 || put_cell(out, k->doc) < 0 || buf_puts(out, " |\n") < 0)
            return -1;
    }
    return 0;
}

size_t config_thread_count(const config *cfg)
{
    long n = cfg->threads;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (size_t)n; /* unknown: the single-threaded path */
}
