/*
 * test_config.c - config_load / config_free / config_describe.
 * Writes configuration files into a mkdtemp directory.
 */
#include "check.h"
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[PATH_MAX]; /* absolute, symlinks resolved */
static char conf_path[PATH_MAX + 32];

#define MOONSTAT_OK                                                                    \
    "[moonstat]\n"                                                                     \
    "input_dir = in\n"                                                                 \
    "warehouse = sqlite:///var/lib/w.db\n"                                             \
    "export_dir = out\n"                                                               \
    "quarantine_dir = q\n"                                                             \
    "reporting_currency = USD\n"                                                       \
    "fx_rates = fx\n"                                                                  \
    "max_reject_rate = 0.01\n" /* 8 lines */
#define GAME_OK "[game g1]\ntimezone = UTC\n"

static char *tmp_file(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    return chmod(path, mode);
}

/* Writes text to <tmp>/t.conf (mode 0600 unless given) and loads it. */
static int load_mode(const char *text, mode_t mode, config *cfg, ms_error *err)
{
    snprintf(conf_path, sizeof conf_path, "%s/t.conf", tmpdir);
    if (write_file(conf_path, text, mode) != 0) {
        printf("cannot write %s\n", conf_path);
        return -2;
    }
    err->msg[0] = '\0';
    return config_load(conf_path, cfg, err);
}

static int load(const char *text, config *cfg, ms_error *err)
{
    return load_mode(text, 0600, cfg, err);
}

static int all_zero(const config *cfg)
{
    static const config zero;
    return memcmp(cfg, &zero, sizeof zero) == 0;
}

/* 1 when loading fails, *cfg is left empty and the message starts with
 * "<path>:" and contains each non-NULL needle. */
static int fails(const char *text, mode_t mode, const char *n1, const char *n2)
{
    config cfg;
    ms_error err;
    int rc = load_mode(text, mode, &cfg, &err);
    int ok = rc == -1 && all_zero(&cfg) && strncmp(err.msg, conf_path, strlen(conf_path)) == 0 &&
             err.msg[strlen(conf_path)] == ':' && (!n1 || strstr(err.msg, n1)) &&
             (!n2 || strstr(err.msg, n2));
    if (!ok)
        printf("  rc=%d msg=\"%s\" (wanted \"%s\", \"%s\")\n", rc, err.msg, n1 ? n1 : "",
               n2 ? n2 : "");
    if (rc == 0)
        config_free(&cfg);
    return ok;
}

static char *in_tmp(const char *rel)
{
    static char out[4][PATH_MAX + 64];
    static int next;
    char *o = out[next++ % 4];
    snprintf(o, sizeof out[0], "%s/%s", tmpdir, rel);
    return o;
}

static void test_golden(void)
{
    config cfg;
    ms_error err;
    FILE *in = fopen("tests/golden/scenario/moonstat.conf", "r");
    char text[8192];
    size_t n;
    CHECK(in != NULL);
    if (!in)
        return;
    n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    /* the golden file holds no password: a readable mode is fine */
    CHECK_INT(load_mode(text, 0644, &cfg, &err), 0);
    if (err.msg[0])
        printf("  %s\n", err.msg);
    CHECK_STR(cfg.path, conf_path);
    CHECK_STR(cfg.dir, tmpdir);
    CHECK_STR(cfg.input_dir, in_tmp("incoming"));
    {
        /* a bare file name after sqlite:/// is relative to the config file */
        char want[4200];
        snprintf(want, sizeof want, "sqlite://%s", in_tmp("warehouse.db"));
        CHECK_STR(cfg.warehouse, want);
    }
    CHECK_STR(cfg.export_dir, in_tmp("exports"));
    CHECK_STR(cfg.quarantine_dir, in_tmp("quarantine"));
    CHECK_STR(cfg.reporting_currency, "USD");
    CHECK_STR(cfg.fx_rates, in_tmp("fx"));
    CHECK(cfg.max_reject_rate == 0.01);
    CHECK_STR(cfg.max_reject_rate_text, "0.01");
    CHECK_INT(cfg.threads, 0);
    CHECK_INT(cfg.fx_retry_delay_ms, 500);
    CHECK(cfg.source_mysql == NULL);
    CHECK(cfg.source_password_file == NULL);
    CHECK_INT(cfg.n_games, 3);
    if (cfg.n_games == 3) {
        CHECK_STR(cfg.games[0].id, "reversal");
        CHECK_STR(cfg.games[0].timezone, "Asia/Tokyo");
        CHECK_STR(cfg.games[1].id, "rainbow");
        CHECK_STR(cfg.games[1].timezone, "America/Los_Angeles");
        CHECK_STR(cfg.games[2].id, "star");
        CHECK_STR(cfg.games[2].timezone, "UTC");
    }
    CHECK_INT(config_game_index(&cfg, "reversal"), 0);
    CHECK_INT(config_game_index(&cfg, "star"), 2);
    CHECK_INT(config_game_index(&cfg, "nope"), -1);
    CHECK_INT(cfg.n_channels, 3);
    if (cfg.n_channels == 3) {
        CHECK_STR(cfg.channels[0].name, "google_play");
        CHECK_STR(cfg.channels[0].statements, in_tmp("statements/google_play"));
        CHECK_STR(cfg.channels[0].timezone, "UTC");
        CHECK_STR(cfg.channels[0].fee_rate, "0.15");
        CHECK(cfg.channels[0].token_env == NULL);
        CHECK_STR(cfg.channels[1].name, "app_store");
        CHECK_STR(cfg.channels[1].statements, in_tmp("statements/app_store"));
        CHECK_STR(cfg.channels[1].timezone, "UTC");
        CHECK_STR(cfg.channels[1].fee_rate, "0.30");
        CHECK_STR(cfg.channels[2].name, "mycard");
        CHECK_STR(cfg.channels[2].statements, in_tmp("statements/mycard"));
        CHECK_STR(cfg.channels[2].timezone, "Asia/Taipei");
        CHECK_STR(cfg.channels[2].fee_rate, "0.20");
    }
    config_free(&cfg);
    CHECK(all_zero(&cfg));
    config_free(&cfg); /* twice is harmless */
}

static void test_syntax_and_defaults(void)
{
    config cfg;
    ms_error err;
    /* comments, blanks, CRLF, a BOM, tabs, absolute paths, URL templates */
    const char *text =
        "\xEF\xBB\xBF# leading comment\n"
        "; semicolon comment\n"
        "   # indented comment\n"
        "\n"
        "[moonstat]   # trailing comment on a header\n"
        "input_dir = /abs/in # a comment\n"
        "warehouse=sqlite://db/w.db\r\n"
        "export_dir = out#1\n"
        "quarantine_dir\t=\tq;x ; comment\n"
        "reporting_currency = EUR\n"
        "fx_rates = https://fx.example/{date}.json # url\n"
        "max_reject_rate = 1\n"
        "threads = 8\n"
        "fx_retry_delay_ms = 0\n"
        "[source]\n"
        "mysql = mysql://etl_ro@sdk-replica:3306/moonsdk\n"
        "password_file = secrets/mysql.pass\n"
        "[ game  a-b_9 ]\n"
        "timezone = Europe/Paris\n"
        "[channel mycard]\n"
        "statements = https://mycard.example/{month}/{date}.csv\n"
        "token_env = MYCARD_TOKEN\n"
        "[channel google_play]\n"
        "statements = /srv/gp\n"
        "fee_rate =\n"
        "[channel other]\n"
        "statements = st\n"
        "timezone = Asia/Tokyo\n"
        "fee_rate = 12.5\n";
    CHECK_INT(load(text, &cfg, &err), 0);
    if (err.msg[0])
        printf("  %s\n", err.msg);
    CHECK_STR(cfg.input_dir, "/abs/in");
    {
        char want[PATH_MAX + 64];
        snprintf(want, sizeof want, "sqlite://%s/db/w.db", tmpdir);
        CHECK_STR(cfg.warehouse, want);
    }
    CHECK_STR(cfg.export_dir, in_tmp("out#1"));
    CHECK_STR(cfg.quarantine_dir, in_tmp("q;x"));
    CHECK_STR(cfg.reporting_currency, "EUR");
    CHECK_STR(cfg.fx_rates, "https://fx.example/{date}.json");
    CHECK(cfg.max_reject_rate == 1.0);
    CHECK_STR(cfg.max_reject_rate_text, "1");
    CHECK_INT(cfg.threads, 8);
    CHECK_INT(cfg.fx_retry_delay_ms, 0);
    CHECK_STR(cfg.source_mysql, "mysql://etl_ro@sdk-replica:3306/moonsdk");
    CHECK_STR(cfg.source_password_file, in_tmp("secrets/mysql.pass"));
    CHECK_INT(cfg.n_games, 1);
    CHECK_STR(cfg.games[0].id, "a-b_9");
    CHECK_STR(cfg.games[0].timezone, "Europe/Paris");
    CHECK_INT(cfg.n_channels, 3);
    if (cfg.n_channels == 3) {
        CHECK_STR(cfg.channels[0].name, "mycard");
        CHECK_STR(cfg.channels[0].statements, "https://mycard.example/{month}/{date}.csv");
        CHECK_STR(cfg.channels[0].timezone, "Asia/Taipei"); /* default for mycard */
        CHECK_STR(cfg.channels[0].fee_rate, "0");
        CHECK_STR(cfg.channels[0].token_env, "MYCARD_TOKEN");
        CHECK_STR(cfg.channels[1].statements, "/srv/gp");
        CHECK_STR(cfg.channels[1].timezone, "UTC"); /* default elsewhere */
        CHECK_STR(cfg.channels[1].fee_rate, "0");    /* empty optional value: default */
        CHECK(cfg.channels[1].token_env == NULL);
        CHECK_STR(cfg.channels[2].statements, in_tmp("st"));
        CHECK_STR(cfg.channels[2].timezone, "Asia/Tokyo");
        CHECK_STR(cfg.channels[2].fee_rate, "12.5");
    }
    config_free(&cfg);

    /* a relative configuration path resolves against the working directory */
    {
        char old[PATH_MAX];
        CHECK(getcwd(old, sizeof old) != NULL);
        CHECK_INT(load(MOONSTAT_OK GAME_OK, &cfg, &err), 0);
        config_free(&cfg);
        CHECK_INT(chdir(tmpdir), 0);
        CHECK_INT(config_load("t.conf", &cfg, &err), 0);
        CHECK_STR(cfg.path, "t.conf");
        CHECK_STR(cfg.dir, tmpdir);
        CHECK_STR(cfg.input_dir, in_tmp("in"));
        CHECK_STR(cfg.warehouse, "sqlite:///var/lib/w.db");
        config_free(&cfg);
        CHECK_INT(chdir(old), 0);
    }

    /* postgres URIs are kept as they are */
    CHECK_INT(load("[moonstat]\ninput_dir=in\nwarehouse = postgresql://etl@db.example:5432/moon"
                   "?sslmode=require\nexport_dir=o\nquarantine_dir=q\nreporting_currency=USD\n"
                   "fx_rates=fx\nmax_reject_rate=0\n" GAME_OK, &cfg, &err), 0);
    CHECK_STR(cfg.warehouse, "postgresql://etl@db.example:5432/moon?sslmode=require");
    CHECK(cfg.max_reject_rate == 0.0);
    config_free(&cfg);
    CHECK_INT(load("[moonstat]\ninput_dir=in\nwarehouse = postgres://db/moon\nexport_dir=o\n"
                   "quarantine_dir=q\nreporting_currency=USD\nfx_rates=fx\nmax_reject_rate=0.5\n"
                   GAME_OK, &cfg, &err), 0);
    CHECK_STR(cfg.warehouse, "postgres://db/moon");
    config_free(&cfg);

    /* 32-character game id and channel name are the maximum */
    CHECK_INT(load(MOONSTAT_OK "[game 0123456789abcdef0123456789abcdef]\ntimezone=UTC\n"
                   "[channel abcdefghijklmnopqrstuvwxyz_01234]\nstatements=s\n", &cfg, &err), 0);
    CHECK_INT(cfg.n_games, 1);
    CHECK_INT(cfg.n_channels, 1);
    config_free(&cfg);

    /* a line of exactly 4096 bytes is fine */
    {
        static char big[8192];
        char val[4100];
        memset(val, 'x', sizeof val - 1);
        val[sizeof val - 1] = '\0';
        /* "input_dir = " is 12 bytes, + 4084 = 4096 */
        snprintf(big, sizeof big, "[moonstat]\ninput_dir = %.*s\nwarehouse=sqlite:///w\n"
                 "export_dir=o\nquarantine_dir=q\nreporting_currency=USD\nfx_rates=fx\n"
                 "max_reject_rate=0\n" GAME_OK, 4084, val);
        CHECK_INT(load(big, &cfg, &err), 0);
        CHECK_INT(cfg.input_dir ? strlen(cfg.input_dir) : 0, strlen(tmpdir) + 1 + 4084);
        config_free(&cfg);
        snprintf(big, sizeof big, "[moonstat]\ninput_dir = %.*sy\n", 4084, val);
        CHECK(fails(big, 0600, ":2: line longer than 4096 bytes", NULL));
    }
}

static void test_errors(void)
{
    char want[PATH_MAX + 512];
    config cfg;
    ms_error err;

    /* unknown key: exact message */
    CHECK_INT(load(MOONSTAT_OK "bogus = 1\n" GAME_OK, &cfg, &err), -1);
    snprintf(want, sizeof want,
             "%s:9: unknown key 'bogus' in [moonstat]; known keys there: input_dir, warehouse, "
             "export_dir, quarantine_dir, reporting_currency, fx_rates, max_reject_rate, threads, "
             "fx_retry_delay_ms",
             conf_path);
    CHECK_STR(err.msg, want);
    CHECK(all_zero(&cfg));
    CHECK(fails(MOONSTAT_OK GAME_OK "colour = red\n", 0600, "'colour'", ":11:"));
    CHECK(fails(MOONSTAT_OK "[channel x]\nstatements = s\nfee = 1\n", 0600, "'fee'", ":11:"));
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone = UTC\nstatements = s\n" GAME_OK, 0600,
                "'statements'", ":11:"));

    /* unknown and malformed sections */
    CHECK(fails(MOONSTAT_OK GAME_OK "[global]\n", 0600, "unknown section [global]", ":11:"));
    CHECK(fails(MOONSTAT_OK "[Game g]\ntimezone=UTC\n", 0600, "unknown section [Game]", ":9:"));
    CHECK(fails(MOONSTAT_OK "[game g\n", 0600, "malformed section header", ":9:"));
    CHECK(fails(MOONSTAT_OK "[moonstat extra]\n", 0600, "takes no name", ":9:"));

    /* repeats */
    CHECK(fails(MOONSTAT_OK "input_dir = again\n" GAME_OK, 0600,
                "repeated key 'input_dir' in [moonstat] (first at line 2)", ":9:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "timezone = UTC\n", 0600, "repeated key 'timezone'", ":11:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "[game g1]\ntimezone = UTC\n", 0600,
                "repeated section [game g1] (first at line 9)", ":11:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel c]\nstatements=s\n[channel c]\nstatements=s\n", 0600,
                "repeated section [channel c]", ":13:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "[moonstat]\n", 0600, "repeated section [moonstat]", ":11:"));

    /* time zones */
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone = Mars/Olympus\n", 0600,
                "unknown time zone 'Mars/Olympus'", ":10:"));
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone = ../../../etc/passwd\n", 0600,
                "unknown time zone", ":10:"));
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone = /usr/share/zoneinfo/UTC\n", 0600,
                "unknown time zone", ":10:"));
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone = Asia\n", 0600, "unknown time zone", ":10:"));
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone = asia/tokyo\n", 0600, "unknown time zone",
                NULL));
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel c]\nstatements=s\ntimezone=Nowhere\n", 0600,
                "unknown time zone 'Nowhere'", ":13:"));

    /* game ids and channel names */
    CHECK(fails(MOONSTAT_OK "[game Reversal]\ntimezone=UTC\n", 0600, "bad game id 'Reversal'",
                ":9:"));
    CHECK(fails(MOONSTAT_OK "[game -x]\ntimezone=UTC\n", 0600, "bad game id '-x'", NULL));
    CHECK(fails(MOONSTAT_OK "[game _x]\ntimezone=UTC\n", 0600, "bad game id", NULL));
    CHECK(fails(MOONSTAT_OK "[game a b]\ntimezone=UTC\n", 0600, "bad game id 'a b'", NULL));
    CHECK(fails(MOONSTAT_OK "[game]\ntimezone=UTC\n", 0600, "bad game id ''", ":9:"));
    CHECK(fails(MOONSTAT_OK "[game 0123456789abcdef0123456789abcdefg]\ntimezone=UTC\n", 0600,
                "bad game id", NULL));
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel google-play]\nstatements=s\n", 0600,
                "bad channel name 'google-play'", ":11:"));

    /* structure */
    CHECK(fails("input_dir = in\n" MOONSTAT_OK GAME_OK, 0600, "before any section", ":1:"));
    CHECK(fails(MOONSTAT_OK "just words\n" GAME_OK, 0600, "expected 'key = value'", ":9:"));
    CHECK(fails(MOONSTAT_OK " = x\n" GAME_OK, 0600, "missing key", ":9:"));
    CHECK(fails(MOONSTAT_OK, 0600, "no [game <id>] section", ":8:"));
    CHECK(fails(GAME_OK, 0600, "missing section [moonstat]", ":2:"));
    CHECK(fails("", 0600, "missing section [moonstat]", NULL));
    CHECK(fails(MOONSTAT_OK "[game g]\n", 0600,
                "[game g] is missing required key 'timezone'", ":9:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel c]\nfee_rate = 0.1\n", 0600,
                "[channel c] is missing required key 'statements'", ":11:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "[source]\npassword_file = p\n", 0600,
                "[source] is missing required key 'mysql'", ":11:"));
    CHECK(fails("[moonstat]\ninput_dir=in\n" GAME_OK, 0600,
                "[moonstat] is missing required key 'warehouse'", ":1:"));
    CHECK(fails(MOONSTAT_OK "[game g]\ntimezone =   # nothing\n", 0600,
                "empty value for required key 'timezone'", ":10:"));
    CHECK(fails("[moonstat]\ninput_dir =\n", 0600, "empty value for required key 'input_dir'",
                ":2:"));
    {
        /* a real NUL byte in the file */
        FILE *f;
        snprintf(conf_path, sizeof conf_path, "%s/t.conf", tmpdir);
        f = fopen(conf_path, "w");
        CHECK(f != NULL);
        if (f) {
            fwrite("[moonstat]\ninput_dir = a\0b\n", 1, 27, f);
            fclose(f);
            CHECK_INT(config_load(conf_path, &cfg, &err), -1);
            CHECK(strstr(err.msg, ":2: NUL byte") != NULL);
            CHECK(all_zero(&cfg));
        }
    }

    /* values */
    {
        static const struct {
            const char *key, *value, *needle;
        } bad[] = {
            {"reporting_currency", "usd", "not a currency code"},
            {"reporting_currency", "USDX", "not a currency code"},
            {"reporting_currency", "U1D", "not a currency code"},
            {"max_reject_rate", "1.5", "not a decimal between 0 and 1"},
            {"max_reject_rate", "0.01x", "not a decimal between 0 and 1"},
            {"max_reject_rate", "-0.1", "not a decimal between 0 and 1"},
            {"max_reject_rate", "nan", "not a decimal between 0 and 1"},
            {"max_reject_rate", "1e-2", "not a decimal between 0 and 1"},
            {"warehouse", "mysql://x/y", "unsupported warehouse URI"},
            {"warehouse", "/var/lib/w.db", "unsupported warehouse URI"},
            {"warehouse", "sqlite://", "sqlite URI without a file"},
            {"warehouse", "sqlite:///", "sqlite URI without a file"},
            {"threads", "65", "not an integer in 0..64"},
            {"threads", "-1", "not an integer in 0..64"},
            {"threads", "4x", "not an integer in 0..64"},
            {"fx_retry_delay_ms", "60001", "not an integer in 0..60000"},
            {"fx_retry_delay_ms", "-1", "not an integer in 0..60000"},
        };
        for (size_t i = 0; i < MS_ARRAY_LEN(bad); i++) {
            char text[2048];
            /* the key replaces the MOONSTAT_OK line or is added (threads) */
            snprintf(text, sizeof text,
                     "[moonstat]\n%s = %s\n%s%s%s%s%s%s%s" GAME_OK, bad[i].key, bad[i].value,
                     strcmp(bad[i].key, "input_dir") ? "input_dir = in\n" : "",
                     strcmp(bad[i].key, "warehouse") ? "warehouse = sqlite:///w\n" : "",
                     "export_dir = o\n", "quarantine_dir = q\n",
                     strcmp(bad[i].key, "reporting_currency") ? "reporting_currency = USD\n" : "",
                     "fx_rates = fx\n",
                     strcmp(bad[i].key, "max_reject_rate") ? "max_reject_rate = 0\n" : "");
            if (!fails(text, 0600, bad[i].needle, ":2:")) {
                printf("FAIL value case %zu: %s = %s\n", i, bad[i].key, bad[i].value);
                check_failed++;
            } else {
                check_passed++;
            }
        }
    }
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel c]\nstatements=s\nfee_rate=.5\n", 0600,
                "'.5' is not a plain decimal", ":13:"));
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel c]\nstatements=s\nfee_rate=0.\n", 0600,
                "not a plain decimal", NULL));
    CHECK(fails(MOONSTAT_OK GAME_OK "[channel c]\nstatements=s\ntoken_env=1TOKEN\n", 0600,
                "not an environment variable name", NULL));
    CHECK(fails(MOONSTAT_OK GAME_OK "[source]\nmysql = postgresql://x/y\n", 0600,
                "not a mysql:// URI", ":12:"));
    /* a value with a password is never echoed */
    CHECK_INT(load("[moonstat]\nwarehouse = redis://u:hunter2@h/0\n", &cfg, &err), -1);
    CHECK(strstr(err.msg, "hunter2") == NULL);

    /* unreadable / missing file */
    CHECK_INT(config_load(tmp_file("does-not-exist.conf"), &cfg, &err), -1);
    CHECK(strstr(err.msg, "does-not-exist.conf:0: cannot open") != NULL);
    CHECK(all_zero(&cfg));
    CHECK_INT(config_load(tmpdir, &cfg, &err), -1);
    CHECK(strstr(err.msg, "not a regular file") != NULL);
}

static void test_password_mode(void)
{
    config cfg;
    ms_error err;
    const char *pg =
        "[moonstat]\ninput_dir=in\nwarehouse = postgresql://etl:s3cret@db/moon\nexport_dir=o\n"
        "quarantine_dir=q\nreporting_currency=USD\nfx_rates=fx\nmax_reject_rate=0\n" GAME_OK;
    const char *my = MOONSTAT_OK GAME_OK "[source]\nmysql = mysql://etl_ro:pw@replica/moonsdk\n";

    CHECK(fails(pg, 0644, ":3: this file holds a password in a URI and its mode 0644",
                "chmod 600"));
    CHECK(fails(pg, 0640, "mode 0640", NULL));
    CHECK(fails(pg, 0604, "mode 0604", NULL));
    CHECK(fails(pg, 0620, "mode 0620", NULL));
    CHECK_INT(load_mode(pg, 0600, &cfg, &err), 0);
    CHECK_STR(cfg.warehouse, "postgresql://etl:s3cret@db/moon");
    config_free(&cfg);
    CHECK_INT(load_mode(pg, 0400, &cfg, &err), 0);
    config_free(&cfg);

    CHECK(fails(my, 0644, ":12:", "password in a URI"));
    CHECK_INT(load_mode(my, 0600, &cfg, &err), 0);
    CHECK_STR(cfg.source_mysql, "mysql://etl_ro:pw@replica/moonsdk");
    config_free(&cfg);

    /* a commented-out password is still on disk */
    CHECK(fails(MOONSTAT_OK GAME_OK "# old: postgresql://u:pw@h/db\n", 0644, ":11:",
                "password in a URI"));
    /* a URL template whose query has '@' and ':' after the path is no password */
    CHECK_INT(load_mode(MOONSTAT_OK GAME_OK
                        "[channel c]\nstatements = https://h.example/s/{date}?a=b:c@d\n"
                        "[channel d]\nstatements = https://user@h.example/{date}\n",
                        0644, &cfg, &err), 0);
    config_free(&cfg);
}

static void test_describe(void)
{
    static const char *const all_keys[] = {
        "input_dir", "warehouse", "export_dir", "quarantine_dir", "reporting_currency",
        "fx_rates", "max_reject_rate", "threads", "fx_retry_delay_ms", "mysql", "password_file", "timezone",
        "statements", "fee_rate", "token_env",
    };
    static const char *const sections[] = {"`[moonstat]`", "`[source]`", "`[game <id>]`",
                                           "`[channel <name>]`"};
    buf b;
    buf_init(&b, 0);
    CHECK_INT(config_describe(&b), 0);
    CHECK(b.data != NULL);
    if (!b.data)
        return;
    for (size_t i = 0; i < MS_ARRAY_LEN(all_keys); i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "| `%s` |", all_keys[i]);
        if (strstr(b.data, cell)) {
            check_passed++;
        } else {
            check_failed++;
            printf("FAIL config_describe does not mention %s\n", all_keys[i]);
        }
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(sections); i++)
        CHECK(strstr(b.data, sections[i]) != NULL);
    CHECK(strstr(b.data, "| Section | Key | Type | Required | Default | Description |") != NULL);
    CHECK(strstr(b.data, "| `[channel <name>]` | `fee_rate` | decimal | no | `0` |") != NULL);
    CHECK(strstr(b.data, "| `[moonstat]` | `warehouse` | warehouse_uri | yes |") != NULL);
    CHECK(strstr(b.data, "Asia/Taipei") != NULL);
    buf_free(&b);
}

int main(void)
{
    char tmpl[] = "/tmp/test_config.XXXXXX";
    config zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    config_free(&zeroed); /* safe on a zeroed struct */
    config_free(NULL);

    if (!mkdtemp(tmpl) || !realpath(tmpl, tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_golden();
    test_syntax_and_defaults();
    test_errors();
    test_password_mode();
    test_describe();

    unlink(tmp_file("t.conf"));
    rmdir(tmpdir);
    return check_done("config");
}
