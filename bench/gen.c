/*
 * gen.c - wsa-gen: writes realistic WSA access log lines to stdout, for the benchmarks.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gen.h"

static const char usage[] =
    "usage: wsa-gen [--lines N] [--seed S] [--start EPOCH] [--rate LINES_PER_S] "
    "[--format native]\n"
    "Writes N realistic WSA access log lines (default 1000) to stdout. The same seed, start\n"
    "and rate always give the same lines. --start is the log time of the first line in\n"
    "seconds since the epoch (default 1700000000); --rate the lines per second of log time\n"
    "(default 2000). --format: native (the squid-style access log; the only one so far).\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"start", required_argument, NULL, 't'},
        {"rate", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gen_opts_t go = {.seed = 1, .start_ms = 1700000000000LL, .rate = 2000};
    uint64_t lines = 1000, v;
    gen_t *g = NULL;
    char *buf = NULL, *end;
    int c, rc = 2;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (gen_parse_u64(optarg, 0, UINT64_MAX / 2, &lines) != 0) {
                fprintf(stderr, "wsa-gen: --lines: expected a whole number, got \"%s\"\n", optarg);
                goto out;
            }
            break;
        case 's':
            if (gen_parse_u64(optarg, 0, UINT64_MAX, &go.seed) != 0) {
                fprintf(stderr, "wsa-gen: --seed: expected a whole number, got \"%s\"\n", optarg);
                goto out;
            }
            break;
        case 't':
            /* Up to the year 2200: later times would need more than the log's ten digits. */
            if (gen_parse_u64(optarg, 0, 7258118400ULL, &v) != 0) {
                fprintf(stderr,
                        "wsa-gen: --start: expected seconds since the epoch up to "
                        "7258118400, got \"%s\"\n",
                        optarg);
                goto out;
            }
            go.start_ms = (int64_t)v * 1000;
            break;
        case 'r':
            errno = 0;
            go.rate = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(go.rate >= 0.001 && go.rate <= 1e7)) {
                fprintf(stderr,
                        "wsa-gen: --rate: expected lines per second from 0.001 to "
                        "10000000, got \"%s\"\n",
                        optarg);
                goto out;
            }
            break;
        case 'f':
            if (strcmp(optarg, "native") != 0) {
                fprintf(stderr,
                        "wsa-gen: --format: only \"native\" is written so far, got "
                        "\"%s\"\n",
                        optarg);
                goto out;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            rc = 0;
            goto out;
        default:
            fputs(usage, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsa-gen: unexpected argument \"%s\"\n", argv[optind]);
        goto out;
    }
    rc = 1;
    if (!(g = gen_new(&go)) || !(buf = malloc(GEN_LINE_MAX))) {
        fputs("wsa-gen: out of memory\n", stderr);
        goto out;
    }
    for (uint64_t i = 0; i < lines; i++) {
        size_t n = gen_line(g, buf);
        if (fwrite(buf, 1, n, stdout) != n)
            break;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "wsa-gen: writing stdout: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(buf);
    gen_free(g);
    return rc;
}
