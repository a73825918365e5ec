/*
 * bench_parse.c - wsa-bench-parse: the parser alone, in lines per second, over a generated
 * mix held in memory; it also says what the parser made of the mix, and fails unless every
 * line is an access record.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gen.h"
#include "ingest.h"

static const char usage[] =
    "usage: wsa-bench-parse [--lines N] [--seed S] [--rounds R]\n"
    "Generates N lines (default 1000000) as wsa-gen --seed S would, holds them in memory and\n"
    "parses them R times (default 3), reporting the best round in lines per second of\n"
    "elapsed time and of the thread's CPU time (one core, whatever else the machine ran), the\n"
    "verdict layouts and actions seen. Exits 1 unless every line parses as an access record.\n";

#define NFORMAT 12
#define NACTION 6

typedef struct tally {
    const char *format[NFORMAT];
    int64_t per_format[NFORMAT];
    int64_t per_action[NACTION];
    int64_t access, skip, reject, warned, malware;
} tally_t;

static double clock_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* The CPU time of this thread: on a shared machine, what one core did, whatever else ran. */
static double cpu_s(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static void count_format(tally_t *t, const char *f)
{
    for (int i = 0; i < NFORMAT; i++) {
        if (!t->format[i] || strcmp(t->format[i], f) == 0) {
            t->format[i] = f;
            t->per_format[i]++;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gen_opts_t go = {.seed = 1, .start_ms = 1700000000000LL, .rate = 2000};
    uint64_t lines = 1000000, rounds = 3;
    gen_t *g = NULL;
    ingest_parser_t *p = NULL;
    char *text = NULL;
    size_t *off = NULL, used = 0, cap = 0;
    tally_t tally;
    double best = 0, best_cpu = 0;
    int c, rc = 2;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (gen_parse_u64(optarg, 1, 100000000, &lines) != 0) {
                fprintf(stderr, "wsa-bench-parse: --lines: expected 1 to 100000000, got \"%s\"\n",
                        optarg);
                goto out;
            }
            break;
        case 's':
            if (gen_parse_u64(optarg, 0, UINT64_MAX, &go.seed) != 0) {
                fprintf(stderr, "wsa-bench-parse: --seed: expected a whole number, got \"%s\"\n",
                        optarg);
                goto out;
            }
            break;
        case 'r':
            if (gen_parse_u64(optarg, 1, 1000, &rounds) != 0) {
                fprintf(stderr, "wsa-bench-parse: --rounds: expected 1 to 1000, got \"%s\"\n",
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
        fprintf(stderr, "wsa-bench-parse: unexpected argument \"%s\"\n", argv[optind]);
        goto out;
    }

    rc = 1;
    if (!(g = gen_new(&go)) || !(p = ingest_parser_new()) ||
        !(off = malloc((lines + 1) * sizeof(*off)))) {
        fputs("wsa-bench-parse: out of memory\n", stderr);
        goto out;
    }
    for (uint64_t i = 0; i < lines; i++) {
        if (cap - used < GEN_LINE_MAX) {
            size_t ncap = cap ? cap * 2 : (size_t)64 << 20;
            char *n = realloc(text, ncap);
            if (!n) {
                fputs("wsa-bench-parse: out of memory holding the lines\n", stderr);
                goto out;
            }
            text = n;
            cap = ncap;
        }
        off[i] = used;
        used += gen_line(g, text + used);
    }
    off[lines] = used;

    for (uint64_t r = 0; r < rounds; r++) {
        ingest_rec_t rec;
        char reason[256];
        double t0 = now_s(), c0 = cpu_s(), dt, dc;

        memset(&tally, 0, sizeof(tally));
        for (uint64_t i = 0; i < lines; i++) {
            /* The line without its newline, as the loader passes it. */
            size_t len = off[i + 1] - off[i] - 1;
            switch (ingest_parse_line(p, text + off[i], len, &rec, reason, sizeof(reason))) {
            case INGEST_LINE_ACCESS:
                tally.access++;
                tally.warned += rec.warnings != 0;
                tally.malware += rec.malware != 0;
                if ((unsigned)rec.action < NACTION)
                    tally.per_action[rec.action]++;
                count_format(&tally, rec.format ? rec.format : "(none)");
                break;
            case INGEST_LINE_SKIP:
                if (tally.skip++ == 0)
                    fprintf(stderr, "skipped: %.*s\n", (int)len, text + off[i]);
                break;
            default:
                if (tally.reject++ == 0)
                    fprintf(stderr, "rejected (%s): %.*s\n", reason, (int)len, text + off[i]);
                break;
            }
        }
        dt = now_s() - t0;
        dc = cpu_s() - c0;
        if (dt > 0 && (double)lines / dt > best)
            best = (double)lines / dt;
        if (dc > 0 && (double)lines / dc > best_cpu)
            best_cpu = (double)lines / dc;
    }

    printf("lines=%" PRIu64 " bytes=%zu rounds=%" PRIu64
           " best_lines_per_s=%.0f best_lines_per_cpu_s=%.0f\n",
           lines, used, rounds, best, best_cpu);
    printf("access=%" PRId64 " warned=%" PRId64 " skipped=%" PRId64 " rejected=%" PRId64
           " malware=%" PRId64 "\n",
           tally.access, tally.warned, tally.skip, tally.reject, tally.malware);
    for (int i = 0; i < NACTION; i++)
        printf("action %s=%" PRId64 "\n", ingest_action_name((ingest_action_t)i),
               tally.per_action[i]);
    for (int i = 0; i < NFORMAT && tally.format[i]; i++)
        printf("format %s=%" PRId64 "\n", tally.format[i], tally.per_format[i]);
    rc = tally.access == (int64_t)lines ? 0 : 1;
out:
    free(text);
    free(off);
    ingest_parser_free(p);
    gen_free(g);
    return rc;
}
