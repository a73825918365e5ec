/*
 * cmd_rejects.c - `wsa-relay rejects`: the lines the parser refused, and parsing them again.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "store.h"
#include "util.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT     1000000
/* A rejected line may be a megabyte long: the listing shows its start. */
#define SHOW_BYTES 2000

static const char rejects_usage[] =
    "usage: wsa-relay rejects [--db PATH] [--limit N]\n"
    "       wsa-relay rejects [--db PATH] --retry [--appliance NAME]\n"
    "\n"
    "Lists the lines that looked like access records but could not be parsed, newest\n"
    "first: for each, its source and byte offset, the reason and when it was rejected, then\n"
    "the line (its first 2000 bytes; control characters as \\xNN).\n"
    "\n"
    "With --retry, parses every rejected line again with the current parser (after an\n"
    "upgrade) and moves those that now parse into the transactions, under the same source\n"
    "and offset; the others stay as they are. Lines are parsed as native-format lines (a\n"
    "W3C line needs its file's #Fields: header, which is not kept). Prints one line:\n"
    "retried=N moved=N still_rejected=N.\n"
    "\n"
    "options:\n"
    "  --db PATH          the database (WSA_RELAY_DB; default " CFG_DEFAULT_DB ")\n"
    "  --limit N          list at most N lines, 1 to 1000000 (default 50)\n"
    "  --retry            parse the rejected lines again\n"
    "  --appliance NAME   with --retry: the appliance of the moved lines (default: the\n"
    "                     syslog host of each line, else the appliance of the nearest\n"
    "                     stored line of its source, else \"default\")\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 when done, 1 when the database cannot be read or written, 2 for a\n"
    "usage or configuration error.\n";

/* Prints a line's start as text: invalid UTF-8 as U+FFFD, control characters as \xNN. */
static int print_raw(const char *raw, size_t len)
{
    size_t show = len > SHOW_BYTES ? SHOW_BYTES : len;
    char *text = malloc(3 * show + 1);
    size_t n;

    if (text == NULL)
        return -1;
    n = util_utf8_sanitize(raw, show, text);
    fputs("    ", stdout);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    if (show < len)
        printf(" ... (%zu bytes in all)", len);
    putchar('\n');
    free(text);
    return 0;
}

static int print_reject(const store_reject_info_t *r, void *ctx)
{
    char when[UTIL_ISO_TIME_LEN];
    int *nomem = ctx;

    util_iso_time(r->added_ms, when);
    printf("%s offset %" PRId64 ": %s (rejected %s)\n", r->source_name, r->offset, r->reason, when);
    if (print_raw(r->raw, r->rawlen) != 0) {
        *nomem = 1;
        return 1;
    }
    return 0;
}

/* A whole number from 1 to MAX_LIMIT, or 0. */
static int parse_limit(const char *s)
{
    char *end;
    long v;

    if (s[0] < '0' || s[0] > '9')
        return 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > MAX_LIMIT)
        return 0;
    return (int)v;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "wsa-relay rejects: %s\n", msg);
    return CFG_EXIT_USAGE;
}

static int run(const cfg_t *cfg, int retry, int limit, const char *appliance)
{
    char err[STORE_ERR_LEN];
    store_retry_counts_t counts = {0};
    store_t *st = NULL;
    int rc = 1, nomem = 0;

    /* a read-write open would create a missing database, only to find nothing in it */
    if (retry && access(cfg->db_path, F_OK) != 0) {
        fprintf(stderr,
                "wsa-relay rejects: %s: the database does not exist (wsa-relay ingest "
                "creates it)\n",
                cfg->db_path);
        goto out;
    }
    if (store_open(&st, cfg->db_path, retry ? STORE_READ_WRITE : STORE_READ_ONLY, err,
                   sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay rejects: %s\n", err);
        goto out;
    }
    if (retry) {
        int failed = store_rejects_retry(st, appliance, &counts) != 0;
        if (failed)
            fprintf(stderr, "wsa-relay rejects: %s\n", store_errmsg(st));
        /* what earlier batches committed is done: say so either way */
        printf("retried=%" PRId64 " moved=%" PRId64 " still_rejected=%" PRId64 "\n", counts.retried,
               counts.moved, counts.still_rejected);
        if (failed)
            goto out;
        if (counts.moved > 0 && store_optimize(st) != 0)
            fprintf(stderr, "wsa-relay rejects: optimize after the retry failed: %s\n",
                    store_errmsg(st));
    } else if (store_rejects(st, limit, print_reject, &nomem) < 0 || nomem) {
        fprintf(stderr, "wsa-relay rejects: %s\n", nomem ? "out of memory" : store_errmsg(st));
        goto out;
    }
    rc = 0;
out:
    store_close(st);
    return rc;
}

int cmd_rejects(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"limit", required_argument, NULL, 'l'},
        {"retry", no_argument, NULL, 'r'},    {"appliance", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
    };
    const char *appliance = NULL;
    cfg_t cfg;
    int c, rc, retry = 0, limit = 0;

    if ((rc = cmd_config_from_env(&cfg, "rejects")) != 0)
        goto out;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if ((rc = cmd_config_flag(&cfg, "rejects", "--db", "WSA_RELAY_DB", optarg)) != 0)
                goto out;
            break;
        case 'l':
            if ((limit = parse_limit(optarg)) == 0) {
                rc = usage_error("--limit: expected a whole number from 1 to 1000000");
                goto out;
            }
            break;
        case 'r':
            retry = 1;
            break;
        case 'a':
            if (!cmd_appliance_name_ok(optarg)) {
                rc = usage_error("--appliance: expected 1 to 255 printable characters");
                goto out;
            }
            appliance = optarg;
            break;
        case 'h':
            fputs(rejects_usage, stdout);
            rc = 0;
            goto out;
        default:
            fputs("run 'wsa-relay rejects --help' for usage\n", stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsa-relay rejects: unexpected argument \"%s\"\n", argv[optind]);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (retry && limit != 0) {
        rc = usage_error("--limit lists; --retry parses every rejected line");
        goto out;
    }
    if (!retry && appliance != NULL) {
        rc = usage_error("--appliance goes with --retry");
        goto out;
    }
    rc = run(&cfg, retry, limit != 0 ? limit : DEFAULT_LIMIT, appliance);
out:
    cfg_free(&cfg);
    return rc;
}
