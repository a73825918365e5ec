/*
 * cmd_ingest.c - `wsa-relay ingest`: load access log files into the tracking database.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "load.h"
#include "log.h"
#include "store.h"

static const char ingest_usage[] =
    "usage: wsa-relay ingest [--db PATH] [--appliance NAME] [--format FORMAT] FILE...\n"
    "\n"
    "Reads WSA access log lines (native format, with or without a syslog header) from each\n"
    "FILE, plain or gzip-compressed, or from stdin for '-', and stores them in the tracking\n"
    "database. A file already loaded is not loaded twice: only lines past the point reached\n"
    "last time are read. A plain file's last line without a newline is left for a later run\n"
    "while the file was changed less than 60 seconds ago (the appliance may still be\n"
    "writing it). A damaged gzip file loads its lines before the damage, then is an error.\n"
    "\n"
    "options:\n"
    "  --db PATH          the database (WSA_RELAY_DB; default " CFG_DEFAULT_DB ")\n"
    "  --appliance NAME   the appliance the lines come from (default: the syslog host\n"
    "                     of each line, else \"default\")\n"
    "  --format FORMAT    auto (the default: a source whose first line is a #Version: or\n"
    "                     #Fields: directive is W3C, any other is native), native, or\n"
    "                     w3c (a W3C stream that starts mid-file: its data lines are\n"
    "                     rejected until a #Fields: line names the columns)\n"
    "  --help             this text\n"
    "\n"
    "Prints one line: read=N stored=N warned=N rejected=N skipped=N, where read is the sum\n"
    "of the other four (warned lines are stored with a parse warning; rejected lines are\n"
    "kept in the rejects table with the reason; skipped lines are not access records).\n"
    "Exit status: 0 when all input was read, 1 when an error stopped the load, 2 for a\n"
    "usage or configuration error.\n";

int cmd_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"appliance", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[STORE_ERR_LEN];
    load_counts_t counts = {0};
    load_opts_t lopts = {0};
    store_t *st = NULL;
    cfg_t cfg;
    int c, rc;

    if ((rc = cmd_config_from_env(&cfg, "ingest")) != 0)
        goto out;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if ((rc = cmd_config_flag(&cfg, "ingest", "--db", "WSA_RELAY_DB", optarg)) != 0)
                goto out;
            break;
        case 'a':
            if (!cmd_appliance_name_ok(optarg)) {
                fprintf(stderr, "wsa-relay ingest: --appliance: expected 1 to 255 printable "
                                "characters\n");
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            lopts.appliance = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "auto") == 0) {
                lopts.format = INGEST_FORMAT_AUTO;
            } else if (strcmp(optarg, "native") == 0) {
                lopts.format = INGEST_FORMAT_NATIVE;
            } else if (strcmp(optarg, "w3c") == 0) {
                lopts.format = INGEST_FORMAT_W3C;
            } else {
                fprintf(stderr, "wsa-relay ingest: --format: expected auto, native or w3c\n");
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            break;
        case 'h':
            fputs(ingest_usage, stdout);
            rc = 0;
            goto out;
        default:
            fputs("run 'wsa-relay ingest --help' for usage\n", stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
    }
    if (optind >= argc) {
        fputs("wsa-relay ingest: no FILE given (use - for stdin)\n", stderr);
        rc = CFG_EXIT_USAGE;
        goto out;
    }

    if (store_open(&st, cfg.db_path, STORE_READ_WRITE, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay ingest: %s\n", err);
        rc = 1;
        goto out;
    }
    rc = 0;
    for (int i = optind; i < argc; i++) {
        if (load_source(st, argv[i], &lopts, &counts, err, sizeof(err)) != 0) {
            fprintf(stderr, "wsa-relay ingest: %s\n", err);
            rc = 1;
            break;
        }
    }
    if (store_optimize(st) != 0)
        log_msg(LOG_LEVEL_WARN, "ingest", "optimize after load failed: %s", store_errmsg(st));
    printf("read=%" PRId64 " stored=%" PRId64 " warned=%" PRId64 " rejected=%" PRId64
           " skipped=%" PRId64 "\n",
           counts.read, counts.stored, counts.warned, counts.rejected, counts.skipped);

out:
    store_close(st);
    cfg_free(&cfg);
    return rc;
}
