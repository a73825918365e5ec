/*
 * cmd_ingest.c - `wsa-relay ingest`: load access log files into the tracking database.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "load.h"
#include "log.h"
#include "store.h"
#include "syslog_rx.h"
#include "watch.h"

static const char ingest_usage[] =
    "usage: wsa-relay ingest [--db PATH] [--appliance NAME] [--format FORMAT] FILE...\n"
    "       wsa-relay ingest [--db PATH] [--appliance NAME] [--format FORMAT] --watch DIR\n"
    "                        [--poll-ms N]\n"
    "       wsa-relay ingest [--db PATH] [--appliance NAME] --syslog URL [--syslog URL]...\n"
    "\n"
    "Reads WSA access log lines (native format, with or without a syslog header) from each\n"
    "FILE, plain or gzip-compressed, or from stdin for '-', and stores them in the tracking\n"
    "database. A file already loaded is not loaded twice: only lines past the point reached\n"
    "last time are read. A plain file's last line without a newline is left for a later run\n"
    "while the file was changed less than 60 seconds ago (the appliance may still be\n"
    "writing it). A damaged gzip file loads its lines before the damage, then is an error.\n"
    "\n"
    "With --watch, follows the spool folder DIR until SIGINT or SIGTERM: every poll, each\n"
    "file in it that is new or changed is loaded as above, the least recently modified\n"
    "first. Renamed, copied and gzip-compressed rotations are recognised by their first\n"
    "bytes and nothing is read twice, across restarts too. Hidden files, names ending in\n"
    ".tmp, .part, .filepart or .swp, and entries that are not regular files are skipped. A\n"
    "file that cannot be read is a warning and the others go on; a database error ends the\n"
    "run with status 1. The database may not be inside DIR.\n"
    "\n"
    "With --syslog, receives syslog push (RFC 3164 or RFC 5424 headers) until SIGINT or\n"
    "SIGTERM, on udp://ADDR:PORT (one message a datagram) or tcp://ADDR:PORT (octet\n"
    "counting or newline framing, per message); give it once per listener. Only senders\n"
    "in WSA_RELAY_SYSLOG_ALLOW (default: loopback) are read. A row's appliance is\n"
    "--appliance, else the sender's name in WSA_RELAY_APPLIANCES, else the syslog host,\n"
    "else the sender's address. Messages over 64 KiB are rejected with their first 64 KiB.\n"
    "Rows are committed at least every second.\n"
    "\n"
    "options:\n"
    "  --db PATH          the database (WSA_RELAY_DB; default " CFG_DEFAULT_DB ")\n"
    "  --appliance NAME   the appliance the lines come from (default: the syslog host\n"
    "                     of each line, else \"default\")\n"
    "  --format FORMAT    auto (the default: a source whose first line is a #Version: or\n"
    "                     #Fields: directive is W3C, any other is native), native, or\n"
    "                     w3c (a W3C stream that starts mid-file: its data lines are\n"
    "                     rejected until a #Fields: line names the columns)\n"
    "  --watch DIR        follow the spool folder DIR instead of reading FILEs\n"
    "  --poll-ms N        with --watch, list DIR every N milliseconds (10 to 3600000;\n"
    "                     default 1000)\n"
    "  --syslog URL       listen on udp://ADDR:PORT or tcp://ADDR:PORT ([V6ADDR] in\n"
    "                     brackets; udp://:PORT is loopback; port 0 picks a free one)\n"
    "  --help             this text\n"
    "\n"
    "Prints one line: read=N stored=N warned=N rejected=N skipped=N, where read is the sum\n"
    "of the other four (warned lines are stored with a parse warning; rejected lines are\n"
    "kept in the rejects table with the reason; skipped lines are not access records).\n"
    "Exit status: 0 when all input was read (with --watch or --syslog: when stopped by a\n"
    "signal), 1 when an error stopped the load (with --syslog also a listener that cannot\n"
    "be opened), 2 for a usage or configuration error.\n";

/* Set by SIGINT and SIGTERM while a folder is followed. */
static volatile sig_atomic_t watch_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/*
 * No SA_RESTART: the watcher's poll sleep must end when the signal comes; the loader
 * retries its reads on EINTR and stops after the batch it is committing.
 */
static void install_stop_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* --poll-ms: a whole number of milliseconds in range, nothing else. */
static int parse_poll_ms(const char *text, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || text[0] == '+' || v < 10 ||
        v > WATCH_MAX_POLL_MS)
        return -1;
    *out = (int)v;
    return 0;
}

int cmd_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"appliance", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},  {"watch", required_argument, NULL, 'w'},
        {"poll-ms", required_argument, NULL, 'p'}, {"syslog", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    char err[STORE_ERR_LEN];
    load_counts_t counts = {0};
    load_opts_t lopts = {0};
    watch_opts_t wopts = {.load = &lopts, .stop = &watch_stop};
    syslog_rx_addr_t syslog_addrs[SYSLOG_RX_MAX_LISTENERS];
    syslog_rx_opts_t sopts = {.addrs = syslog_addrs, .stop = &watch_stop};
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
        case 'w':
            wopts.dir = optarg;
            break;
        case 'p':
            if (parse_poll_ms(optarg, &wopts.poll_ms) != 0) {
                fprintf(stderr, "wsa-relay ingest: --poll-ms: expected a whole number of "
                                "milliseconds from 10 to 3600000\n");
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            break;
        case 's':
            if (sopts.naddrs == SYSLOG_RX_MAX_LISTENERS) {
                fprintf(stderr, "wsa-relay ingest: --syslog: at most %d listeners\n",
                        SYSLOG_RX_MAX_LISTENERS);
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            if (syslog_rx_parse_url(optarg, &syslog_addrs[sopts.naddrs], err, sizeof(err)) != 0) {
                fprintf(stderr, "wsa-relay ingest: %s\n", err);
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            sopts.naddrs++;
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
    if (wopts.dir != NULL && optind < argc) {
        fprintf(stderr,
                "wsa-relay ingest: --watch reads the folder's files: no FILE may be "
                "given with it (got %s)\n",
                argv[optind]);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (wopts.dir == NULL && wopts.poll_ms != 0) {
        fputs("wsa-relay ingest: --poll-ms needs --watch DIR\n", stderr);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (wopts.dir != NULL && watch_check_dir(wopts.dir, cfg.db_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay ingest: --watch: %s\n", err);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (sopts.naddrs > 0 && (wopts.dir != NULL || optind < argc || lopts.format != 0)) {
        fputs("wsa-relay ingest: --syslog takes no FILE, --watch or --format\n", stderr);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (wopts.dir == NULL && optind >= argc && sopts.naddrs == 0) {
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
    if (sopts.naddrs > 0) {
        sopts.appliance = lopts.appliance;
        sopts.cfg = &cfg;
        install_stop_handlers();
        if (syslog_rx_run(st, &sopts, &counts, err, sizeof(err)) != 0) {
            fprintf(stderr, "wsa-relay ingest: %s\n", err);
            rc = 1;
        }
    }
    if (wopts.dir != NULL) {
        wopts.db_path = cfg.db_path;
        install_stop_handlers();
        if (watch_run(st, &wopts, &counts, err, sizeof(err)) != 0) {
            fprintf(stderr, "wsa-relay ingest: %s\n", err);
            rc = 1;
        }
    }
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
