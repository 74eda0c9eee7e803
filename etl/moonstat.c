/*
 * moonstat.c - the command line (operations.md "Command line").
 *
 *   moonstat run       [--config FILE] [--date YYYY-MM-DD]
 *   moonstat backfill  [--config FILE] --from D1 --to D2
 *   moonstat status    [--config FILE]
 *   moonstat --help | --version | --help-config
 *
 * The configuration file is --config, else $MOONSTAT_CONFIG, else
 * ./moonstat.conf. Usage and configuration errors exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "config.h"
#include "job.h"
#include "timefmt.h"

#define MOONSTAT_VERSION "0.1.0"

static const char usage_text[] =
    "usage:\n"
    "  moonstat run       [--config FILE] [--date YYYY-MM-DD]   the nightly job\n"
    "  moonstat backfill  [--config FILE] --from D1 --to D2      recompute and republish days\n"
    "  moonstat status    [--config FILE]                        last runs, horizons, dirty days\n"
    "  moonstat alert     --url URL --command C --exit-code N --message M\n"
    "                                                            post a failure to a webhook\n"
    "  moonstat --help | --version | --help-config\n"
    "\n"
    "The configuration is --config FILE, else $MOONSTAT_CONFIG, else ./moonstat.conf.\n"
    "Exit status: 0 ok, 1 failure, 2 usage or configuration error, 3 data-quality gate\n"
    "(reject rate or missing exchange rate), 75 another run holds the lock.\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "moonstat: %s%s%s%s\n%s", what, arg ? " \"" : "", arg ? arg : "",
            arg ? "\"" : "", usage_text);
    return EXIT_USAGE;
}

static int parse_day_arg(const char *flag, const char *value, int32_t *out)
{
    if (!value || day_parse(value, strlen(value), out) != 0) {
        fprintf(stderr, "moonstat: %s needs a date YYYY-MM-DD, got \"%s\"\n", flag,
                value ? value : "");
        return -1;
    }
    return 0;
}

/* `moonstat alert`: the cron wrapper's failure notice (the URL may hold a
 * token: it is never printed). */
static int alert_command(int argc, char **argv)
{
    const char *url = getenv("MOONSTAT_ALERT_URL"), *command = "run", *message = "";
    int exit_code = 1, i, rc = EXIT_FAILURE_RUN;
    char host[256];
    buf body;
    ms_error err;

    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--command") == 0)
            command = argv[i + 1];
        else if (strcmp(argv[i], "--exit-code") == 0)
            exit_code = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--message") == 0)
            message = argv[i + 1];
        else
            return usage_error("unexpected argument", argv[i]);
    }
    if (i != argc)
        return usage_error("unexpected argument", argv[i]);
    if (!url || !*url)
        return usage_error("alert needs --url or MOONSTAT_ALERT_URL", NULL);
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    buf_init(&body, 0);
    if (alert_body(&body, host, command, exit_code, message) != 0) {
        fprintf(stderr, "moonstat: alert: out of memory\n");
    } else if (alert_send(url, body.data, 20, &err) != 0) {
        fprintf(stderr, "moonstat: alert: %s\n", err.msg);
    } else {
        rc = EXIT_OK;
    }
    buf_free(&body);
    return rc;
}

int main(int argc, char **argv)
{
    const char *command, *config_path = NULL;
    int has_date = 0, has_from = 0, has_to = 0, i, rc;
    int32_t date = 0, from = 0, to = 0;
    config cfg;
    ms_error err;
    job_options opt;

    /* Before the first allocation; refused only means slower (common.h). */
    (void)ms_tune_allocator();
    if (argc < 2)
        return usage_error("no command given", NULL);
    command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (strcmp(command, "--version") == 0) {
        printf("moonstat %s\n", MOONSTAT_VERSION);
        return EXIT_OK;
    }
    if (strcmp(command, "--help-config") == 0) {
        buf out;
        buf_init(&out, 0);
        if (config_describe(&out) != 0) {
            buf_free(&out);
            return EXIT_FAILURE_RUN;
        }
        fwrite(out.data, 1, out.len, stdout);
        buf_free(&out);
        return EXIT_OK;
    }
    if (strcmp(command, "alert") == 0)
        return alert_command(argc, argv);
    if (strcmp(command, "run") != 0 && strcmp(command, "backfill") != 0 &&
        strcmp(command, "status") != 0)
        return usage_error("unknown command", command);
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--config") == 0 && v) {
            config_path = v;
            i++;
        } else if (strcmp(a, "--date") == 0 && strcmp(command, "run") == 0) {
            if (parse_day_arg(a, v, &date) != 0)
                return EXIT_USAGE;
            has_date = 1;
            i++;
        } else if (strcmp(a, "--from") == 0 && strcmp(command, "backfill") == 0) {
            if (parse_day_arg(a, v, &from) != 0)
                return EXIT_USAGE;
            has_from = 1;
            i++;
        } else if (strcmp(a, "--to") == 0 && strcmp(command, "backfill") == 0) {
            if (parse_day_arg(a, v, &to) != 0)
                return EXIT_USAGE;
            has_to = 1;
            i++;
        } else {
            return usage_error("unexpected argument", a);
        }
    }
    if (strcmp(command, "backfill") == 0 && (!has_from || !has_to || from > to))
        return usage_error("backfill needs --from D1 --to D2 with D1 <= D2", NULL);
    if (!config_path)
        config_path = getenv("MOONSTAT_CONFIG");
    if (!config_path || !*config_path)
        config_path = "moonstat.conf";
    if (config_load(config_path, &cfg, &err) != 0) {
        fprintf(stderr, "moonstat: configuration error: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (strcmp(command, "status") == 0) {
        rc = job_status(&cfg);
    } else {
        memset(&opt, 0, sizeof opt);
        opt.kind = strcmp(command, "run") == 0 ? JOB_RUN : JOB_BACKFILL;
        opt.has_date = has_date;
        opt.date = opt.kind == JOB_RUN ? date : to;
        opt.from = from;
        rc = job_run(&cfg, &opt);
    }
    config_free(&cfg);
    return rc;
}
