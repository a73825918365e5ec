/*
 * cmd_serve.c - `wsa-relay serve`: answer the Threat Response relay module API.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>
#include "cmd.h"
#include "log.h"
#include "server.h"
#include "store.h"

static const char serve_usage[] =
    "usage: wsa-relay serve [--db PATH] [--listen ADDR:PORT] [--threads N] [--port-file PATH]\n"
    "\n"
    "Serves the relay module API (HTTP/1.1 and h2c) from the tracking database.\n"
    "\n"
    "options:\n"
    "  --db PATH           the database (WSA_RELAY_DB; default " CFG_DEFAULT_DB ")\n"
    "  --listen ADDR:PORT  where to listen (WSA_RELAY_LISTEN; default " CFG_DEFAULT_LISTEN ");\n"
    "                      port 0 picks a free port\n"
    "  --threads N         worker threads, 1-64 (WSA_RELAY_THREADS; default: one per CPU,\n"
    "                      at most 16)\n"
    "  --port-file PATH    write the port to PATH once listening\n"
    "  --help              this text\n"
    "\n"
    "settings from the environment:\n"
    "  WSA_RELAY_AUTH_MODE          secret (HS256 with a shared secret; the default) or\n"
    "                               jwks (the platform's RS256 tokens, keys from jwks_host)\n"
    "  WSA_RELAY_SECRET             the shared secret, at least 32 bytes\n"
    "  WSA_RELAY_SECRET_FILE        a file holding the secret (wins over WSA_RELAY_SECRET)\n"
    "  WSA_RELAY_PUBLIC_URL         this relay's URL, checked against a token's aud claim\n"
    "                               (required in jwks mode)\n"
    "  WSA_RELAY_JWKS_HOSTS         jwks_host values a token may name, host[:port],...\n"
    "                               (default the three visibility.*.amp.cisco.com hosts)\n"
    "  WSA_RELAY_JWKS_FILE          read the keys from this JWKS file instead\n"
    "  WSA_RELAY_JWKS_URL           fetch the keys from this URL instead\n"
    "  WSA_RELAY_JWKS_CA            CA bundle (PEM) for the JWKS fetch (default: the system's)\n"
    "  WSA_RELAY_JWKS_PROXY         http(s) proxy for the JWKS fetch (default none; the\n"
    "                               https_proxy variable is not followed)\n"
    "  WSA_RELAY_JWKS_REFRESH       least seconds between fetches an unknown kid may cause,\n"
    "                               1-86400 (default 60)\n"
    "  WSA_RELAY_JWKS_TIMEOUT_MS    time allowed for one JWKS fetch, 100-30000 and at most half\n"
    "                               the request budget (default 5000)\n"
    "  WSA_RELAY_JWT_ALGS           token algorithms jwks mode accepts: RS256, RS384, RS512,\n"
    "                               ES256 (default RS256)\n"
    "  WSA_RELAY_REFER_URL          pivot link template with {type} and {value}\n"
    "  WSA_RELAY_VERDICT_DAYS       days a verdict stays valid, 1-36500 (default 30)\n"
    "  WSA_RELAY_WBRS_BLOCK         WBRS at or below which a URL or domain is malicious,\n"
    "                               -10.0 to 10.0 (default -6.0)\n"
    "  WSA_RELAY_REQUEST_BUDGET_MS  time budget of one request, 100-60000 (default 10000)\n"
    "  WSA_RELAY_LOG_LEVEL          debug, info, warn or error (default info)\n"
    "A flag wins over its variable.\n";

/*
 * The workers open the database read-only. A server started before any log arrived should
 * still answer (health, empty results), so a missing database is created empty here.
 */
static int create_if_missing(const char *path)
{
    char err[STORE_ERR_LEN];
    store_t *st = NULL;

    if (access(path, F_OK) == 0 || errno != ENOENT)
        return 0;
    if (store_open(&st, path, STORE_READ_WRITE, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay serve: %s\n", err);
        return -1;
    }
    store_close(st);
    /* a mistyped --db lands here too, and then every lookup finds nothing: say so loudly */
    log_msg(LOG_LEVEL_WARN, "server",
            "created an empty tracking database at %s: every lookup finds nothing until "
            "`wsa-relay ingest` loads logs into it (check --db or WSA_RELAY_DB if they were "
            "loaded elsewhere)",
            path);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'}, {"port-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *port_file = NULL;
    char err[CFG_ERR_LEN];
    cfg_t cfg;
    int c, rc;

    if ((rc = cmd_config_from_env(&cfg, "serve")) != 0)
        goto out;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            rc = cmd_config_flag(&cfg, "serve", "--db", "WSA_RELAY_DB", optarg);
            break;
        case 'l':
            rc = cmd_config_flag(&cfg, "serve", "--listen", "WSA_RELAY_LISTEN", optarg);
            break;
        case 't':
            rc = cmd_config_flag(&cfg, "serve", "--threads", "WSA_RELAY_THREADS", optarg);
            break;
        case 'p':
            port_file = optarg;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            goto out;
        default:
            fputs("run 'wsa-relay serve --help' for usage\n", stderr);
            rc = CFG_EXIT_USAGE;
            break;
        }
        if (rc != 0)
            goto out;
    }
    if (optind < argc) {
        fprintf(stderr, "wsa-relay serve: unexpected argument \"%s\"\n", argv[optind]);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (cfg_check_serve(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay serve: %s\n", err);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (create_if_missing(cfg.db_path) != 0) {
        rc = 1;
        goto out;
    }
    rc = server_run(&cfg, port_file) == 0 ? 0 : 1;

out:
    cfg_free(&cfg);
    return rc;
}
