/*
 * bench_query.c - wsa-bench-query: the store's answer time for one observable, on a
 * database the ingest benchmark left (bench/ingest.sh --keep), without HTTP around it.
 *
 * Observables are taken from random rows of the database itself (a client address, a
 * host's registered domain, a URL), plus addresses that are in no row, which every
 * partition has to be asked about. Each query asks for 10 sightings, as an analyst's
 * first look does.
 */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "obs.h"
#include "store.h"

static const char usage[] =
    "usage: wsa-bench-query --db PATH [--queries N] [--seed S]\n"
    "Asks the store for 10 sightings of N observables of each kind (default 2000): client\n"
    "addresses, registered domains and URLs from random rows, and absent addresses. Prints\n"
    "the mean, median, 99th percentile and worst answer time of each kind in microseconds.\n";

#define LIMIT 10

enum { K_IP = 0, K_DOMAIN, K_URL, K_ABSENT, NKIND };
static const char *const kind_name[NKIND] = {"ip (present)", "domain", "url", "ip (absent)"};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int on_row(const store_row_t *row, void *ctx)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One value of the kind from the row `id`; 0, or -1 when that row has none. */
static int pick(sqlite3 *db, int kind, long long id, char *out, size_t outlen)
{
    static const char *const col[NKIND] = {"client_ip", "reg_domain", "url", NULL};
    char sql[128];
    sqlite3_stmt *s;
    int rc = -1;

    if (kind == K_ABSENT) {
        snprintf(out, outlen, "203.0.113.%lld", id % 250);
        return 0;
    }
    snprintf(sql, sizeof(sql), "SELECT %s FROM transactions WHERE id >= %lld LIMIT 1", col[kind],
             id);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL) {
        snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(s, 0));
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"queries", required_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const obs_type_t type[NKIND] = {OBS_IP, OBS_DOMAIN, OBS_URL, OBS_IP};
    const char *path = NULL;
    char err[STORE_ERR_LEN];
    long long maxid = 0;
    int n = 2000, c, rc = 1;
    unsigned seed = 1;
    double *t = NULL;
    store_t *st = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *s;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') {
            path = optarg;
        } else if (c == 'n') {
            n = atoi(optarg);
        } else if (c == 's') {
            seed = (unsigned)strtoul(optarg, NULL, 10);
        } else {
            fputs(usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (path == NULL || n < 1) {
        fputs(usage, stderr);
        return 2;
    }
    if (store_open(&st, path, STORE_READ_ONLY, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-bench-query: %s\n", err);
        goto out;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT max(id) FROM transactions", -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "wsa-bench-query: %s: %s\n", path, sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_step(s) == SQLITE_ROW)
        maxid = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (maxid < 1 || (t = malloc((size_t)n * sizeof(*t))) == NULL) {
        fprintf(stderr, "wsa-bench-query: %s: no rows, or out of memory\n", path);
        goto out;
    }
    srand(seed);
    printf("# %lld rows; %d queries of each kind, %d sightings asked\n", maxid, n, LIMIT);
    printf("# kind mean_us p50_us p99_us max_us mean_rows\n");
    for (int k = 0; k < NKIND; k++) {
        double sum = 0;
        long rows = 0;
        int done = 0;
        for (int tries = 0; done < n && tries < 20 * n; tries++) {
            long long id = 1 + ((long long)rand() * RAND_MAX + rand()) % maxid;
            char value[2048], buf[4096];
            obs_t o = {.type = type[k], .value = value};
            int got = 0, more = 0;
            double t0;
            if (pick(db, k, id, value, sizeof(value)) != 0 ||
                obs_prepare(&o, buf, sizeof(buf)) != 0)
                continue;
            t0 = now_us();
            if (store_sightings(st, &o, LIMIT, on_row, &got, &more) < 0) {
                fprintf(stderr, "wsa-bench-query: %s\n", store_errmsg(st));
                goto out;
            }
            t[done] = now_us() - t0;
            sum += t[done++];
            rows += got;
        }
        qsort(t, (size_t)done, sizeof(*t), cmp_double);
        if (done > 0)
            printf("%-13s %8.1f %8.1f %8.1f %8.1f %6.1f\n", kind_name[k], sum / done, t[done / 2],
                   t[(int)((double)done * 0.99)], t[done - 1], (double)rows / done);
    }
    rc = 0;
out:
    free(t);
    sqlite3_close(db);
    store_close(st);
    return rc;
}
