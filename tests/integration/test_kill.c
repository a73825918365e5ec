/*
 * test_kill.c - a load killed at random moments loses no line and stores none twice.
 *
 * A million generated lines, with an unparseable one after every 997th (1,003 rejects),
 * are ingested by `wsa-relay ingest` while this process sends it SIGKILL at random moments
 * and starts it again, until a run finishes. Every run names a different appliance
 * (run-00, run-01, ...), so the rows each run committed can be counted afterwards without
 * this process touching the database between runs: the restarted ingest alone recovers it
 * from whatever the kill left. Then every line of the file must be exactly one row, a
 * transaction or a reject, at its own byte offset, with its own bytes.
 *
 * The kill moments follow the ingest's own pace: a load of the first CAL_LINES lines is
 * timed first, and each delay is drawn from the seeded generator either within half that
 * time (a kill while the database is opened, the source probed, or the first batch is
 * still open) or within a few batches (a kill anywhere in a batch: parsing, inserting,
 * committing, checkpointing). Set WSA_KILL_SEED to replay a failure's delays; the seed
 * used is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "harness.h"

/* Both builds load the full million: the sanitizer build takes about a minute. */
#ifndef WSA_KILL_LINES
#define WSA_KILL_LINES 1000000
#endif

#define KILLS_WANTED 24 /* kills to land; at least KILLS_MIN must land while it runs */
#define KILLS_MIN    20
/*
 * Lines of the timed load: two of ingest's default batches (service/load.c), so that the
 * start-up, which a shorter load is mostly made of, does not pass for the pace of the lines.
 */
#define CAL_LINES 40000
#define MAX_RUNS  200

/* An access record cut before its bytes field: rejected, never skipped. */
#define REJECT_LINE  "1700000000.000 12 10.0.0.1 TCP_MISS/200"
#define REJECT_EVERY 997

/* The folder goes in the teardown, which runs after a failure too: it holds gigabytes. */
static int setup(void **state)
{
    h_server_t *s = malloc(sizeof(*s));

    if (s == NULL)
        return -1;
    h_setup(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    h_teardown(*state);
    free(*state);
    return 0;
}

#ifdef WSA_GEN_BIN

typedef struct counts {
    int64_t read, stored, warned, rejected, skipped;
} counts_t;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Forks `argv[0]` with `argv`, stdout into `out` and stderr into `err`, without the
 * WSA_RELAY_* variables of this environment (a developer's own settings must not steer it).
 */
static pid_t spawn(const char *const argv[], const char *out, const char *err)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
            _exit(127);
        h_clean_env();
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits for the child; its exit status, or 128 + the signal that ended it. */
static int reap(pid_t pid)
{
    int status = 0;

    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(65536);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/*
 * `wsa-gen --lines n --seed 7` into `path`, with REJECT_LINE after every REJECT_EVERY-th
 * generated line, so that rejects too are written by killed batches; returns how many.
 */
static int64_t generate(const char *dir, const char *path, int64_t n)
{
    char lines[32], err[320], raw[320];
    const char *argv[] = {WSA_GEN_BIN, "--lines", lines, "--seed", "7", NULL};
    int64_t i = 0, injected = 0;
    char *line = NULL;
    size_t cap = 0;
    FILE *in, *out;
    int rc;

    snprintf(lines, sizeof(lines), "%" PRId64, n);
    snprintf(err, sizeof(err), "%s/gen.err", dir);
    snprintf(raw, sizeof(raw), "%s/gen.log", dir);
    rc = reap(spawn(argv, raw, err));
    if (rc != 0) {
        char *text = slurp(err);
        fail_msg("wsa-gen exited with %d: %s", rc, text);
    }
    in = fopen(raw, "rb");
    out = fopen(path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    while (getline(&line, &cap, in) > 0) {
        assert_true(fputs(line, out) >= 0);
        if (++i % REJECT_EVERY == 0) {
            assert_true(fputs(REJECT_LINE "\n", out) >= 0);
            injected++;
        }
    }
    assert_int_equal(i, n);
    free(line);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    unlink(raw);
    return injected;
}

/* The byte offset of every line of the mapped file; asserts that each ends in a newline. */
static int64_t *line_offsets(const char *map, size_t size, int64_t *nlines)
{
    int64_t cap = 1 << 20, n = 0, *offs = malloc((size_t)cap * sizeof(*offs));
    size_t at = 0;

    assert_non_null(offs);
    while (at < size) {
        const char *nl = memchr(map + at, '\n', size - at);

        assert_non_null(nl);
        if (n == cap) {
            cap *= 2;
            offs = realloc(offs, (size_t)cap * sizeof(*offs));
            assert_non_null(offs);
        }
        offs[n++] = (int64_t)at;
        at = (size_t)(nl - map) + 1;
    }
    *nlines = n;
    return offs;
}

/* The index of `off` in the sorted offsets, or -1. */
static int64_t find_offset(const int64_t *offs, int64_t n, int64_t off)
{
    int64_t lo = 0, hi = n;

    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (offs[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && offs[lo] == off ? lo : -1;
}

static int parse_counts(const char *text, counts_t *c)
{
    return sscanf(text,
                  "read=%" SCNd64 " stored=%" SCNd64 " warned=%" SCNd64 " rejected=%" SCNd64
                  " skipped=%" SCNd64,
                  &c->read, &c->stored, &c->warned, &c->rejected, &c->skipped) == 5
               ? 0
               : -1;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/*
 * Marks each row of `table` in `seen` (indexed like `offs`), asserting that its offset is
 * the start of a line no other row took, and that its bytes are that line's.
 */
static int64_t check_rows(sqlite3 *db, const char *table, const char *map, size_t size,
                          const int64_t *offs, int64_t n, unsigned char *seen)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    int64_t rows = 0;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT offset, raw FROM %s", table);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t off = sqlite3_column_int64(st, 0), i = find_offset(offs, n, off);
        const void *raw = sqlite3_column_blob(st, 1);
        int64_t len = sqlite3_column_bytes(st, 1), want;

        if (i < 0)
            fail_msg("%s: a row at offset %" PRId64 ", which starts no line", table, off);
        if (seen[i])
            fail_msg("%s: line %" PRId64 " (offset %" PRId64 ") stored twice", table, i + 1, off);
        seen[i] = 1;
        want = (i + 1 < n ? offs[i + 1] : (int64_t)size) - off - 1;
        if (len != want || memcmp(raw, map + off, (size_t)len) != 0)
            fail_msg("%s: the row at offset %" PRId64 " holds other bytes than line %" PRId64,
                     table, off, i + 1);
        rows++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return rows;
}

/* The transactions committed by each run, told apart by the appliance it was given. */
static void rows_by_run(sqlite3 *db, int64_t per_run[], int runs)
{
    const char *sql = "SELECT a.name, count(*) FROM transactions t "
                      "JOIN appliances a ON a.id = t.appliance_id GROUP BY a.name";
    sqlite3_stmt *st = NULL;
    int rc;

    for (int i = 0; i < runs; i++)
        per_run[i] = 0;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int run;

        if (sscanf(name, "run-%d", &run) != 1 || run < 0 || run >= runs)
            fail_msg("rows under an appliance no run was given: %s", name);
        per_run[run] = sqlite3_column_int64(st, 1);
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Times one `ingest` of the file's first CAL_LINES lines into an empty database. */
static double time_calibration(const char *dir, const char *map, const int64_t *offs)
{
    char cal[320], db[320], out[320], err[320];
    const char *argv[] = {WSA_RELAY_BIN, "ingest", "--db", db, cal, NULL};
    double t0;
    FILE *f;
    int rc;

    snprintf(cal, sizeof(cal), "%s/cal.log", dir);
    snprintf(db, sizeof(db), "%s/cal.db", dir);
    snprintf(out, sizeof(out), "%s/cal.out", dir);
    snprintf(err, sizeof(err), "%s/cal.err", dir);
    f = fopen(cal, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(map, 1, (size_t)offs[CAL_LINES], f), (size_t)offs[CAL_LINES]);
    assert_int_equal(fclose(f), 0);
    t0 = now_s();
    rc = reap(spawn(argv, out, err));
    t0 = now_s() - t0;
    if (rc != 0) {
        char *text = slurp(err);
        fail_msg("calibration ingest exited with %d: %s", rc, text);
    }
    return t0;
}

static void test_killed_ingest_loses_nothing(void **state)
{
    char log[320], out[320], err[320], name[32], *seed_env = getenv("WSA_KILL_SEED");
    const char *argv[] = {WSA_RELAY_BIN, "ingest", "--db", NULL, "--appliance", name, log, NULL};
    uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL);
    uint64_t rng = seed;
    int64_t nlines, injected, *offs, per_run[MAX_RUNS], tx, rejects, zero_runs = 0;
    int landed = 0, missed = 0, runs = 0, rc = -1;
    double t_cal, t_batch, window, t_start, t_total;
    unsigned char *seen;
    counts_t fin;
    struct stat sb;
    sqlite3 *db = NULL;
    char *map, *text;
    h_server_t s = *(h_server_t *)*state;
    int fd;

    argv[3] = s.db;
    snprintf(log, sizeof(log), "%s/aclog.s", s.dir);
    snprintf(out, sizeof(out), "%s/run.out", s.dir);
    snprintf(err, sizeof(err), "%s/run.err", s.dir);
    injected = generate(s.dir, log, WSA_KILL_LINES);
    fd = open(log, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    assert_true(map != MAP_FAILED);
    offs = line_offsets(map, (size_t)sb.st_size, &nlines);
    assert_int_equal(nlines, WSA_KILL_LINES + injected);

    /*
     * The delays add up to about half the time the whole load would take at the pace of
     * the timed one, and every kill throws away the open batch and a start-up, so the
     * kills spread over the load's first part and it cannot end before they have all
     * landed. (Paced by a load of one 5,000-line batch, start-up included, the delays
     * added up to more than the load at 20,000-line batches: it ended after 15 kills.)
     */
    t_cal = time_calibration(s.dir, map, offs);
    t_batch = t_cal / 2;
    window = 1.5 * t_cal * ((double)nlines / CAL_LINES) / KILLS_WANTED;
    /* at least a few batches, or a slow build would be killed before any commit */
    if (window < 2.5 * t_batch)
        window = 2.5 * t_batch;
    print_message("kill seed %" PRIu64 " (WSA_KILL_SEED replays it): %" PRId64
                  " lines, %d of them in %.3f s, delays up to %.3f s\n",
                  seed, nlines, CAL_LINES, t_cal, window);

    t_start = now_s();
    for (;;) {
        pid_t pid;

        assert_true(runs < MAX_RUNS);
        snprintf(name, sizeof(name), "run-%02d", runs);
        runs++;
        pid = spawn(argv, out, err);
        if (landed < KILLS_WANTED) {
            /* a quarter of the kills fall while it opens, probes and fills its first batch */
            double delay =
                rng_unit(&rng) < 0.25 ? rng_unit(&rng) * t_batch : rng_unit(&rng) * window;
            int status;

            sleep_s(delay);
            if (waitpid(pid, &status, WNOHANG) == pid) {
                /* it finished first: this run is the last one */
                missed++;
                rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            assert_int_equal(kill(pid, SIGKILL), 0);
            rc = reap(pid);
            if (rc == 128 + SIGKILL) {
                landed++;
                continue;
            }
            /* it ended on its own between the look and the kill */
            missed++;
            break;
        }
        rc = reap(pid);
        break;
    }
    t_total = now_s() - t_start;
    text = slurp(out);
    if (rc != 0) {
        char *errtext = slurp(err);
        fail_msg("seed %" PRIu64 ": the last run (%d) exited with %d: %s%s", seed, runs, rc, text,
                 errtext);
    }
    if (parse_counts(text, &fin) != 0)
        fail_msg("seed %" PRIu64 ": no counts line from the last run: %s", seed, text);
    free(text);

    assert_int_equal(sqlite3_open_v2(s.db, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL),
                     SQLITE_OK);
    {
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
    }
    /* one source, read to the end: a restart must never take the file for a new one */
    assert_int_equal(query_int(db, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(query_int(db, "SELECT offset FROM sources"), sb.st_size);
    assert_int_equal(query_int(db, "SELECT lines FROM sources"), nlines);

    seen = calloc((size_t)nlines, 1);
    assert_non_null(seen);
    tx = check_rows(db, "transactions", map, (size_t)sb.st_size, offs, nlines, seen);
    rejects = check_rows(db, "rejects", map, (size_t)sb.st_size, offs, nlines, seen);
    for (int64_t i = 0; i < nlines; i++) {
        if (!seen[i])
            fail_msg("seed %" PRIu64 ": line %" PRId64 " (offset %" PRId64 ") was lost", seed,
                     i + 1, offs[i]);
    }
    /* generated lines are all access records: none is skipped, so every line is a row */
    assert_int_equal(tx + rejects, nlines);
    assert_int_equal(tx, WSA_KILL_LINES);
    assert_int_equal(rejects, injected);

    /*
     * The last run read exactly the lines past the offset its predecessors committed: its
     * counts add up, it met no line already stored, and its rows are the ones it says.
     */
    rows_by_run(db, per_run, runs);
    assert_int_equal(fin.read, fin.stored + fin.warned + fin.rejected + fin.skipped);
    assert_int_equal(fin.skipped, 0);
    assert_int_equal(per_run[runs - 1], fin.stored + fin.warned);
    {
        int64_t before = 0;

        for (int i = 0; i < runs - 1; i++) {
            before += per_run[i];
            zero_runs += per_run[i] == 0;
        }
        /* rejects name no appliance: those before the last run are the others */
        assert_int_equal(before + (rejects - fin.rejected) + fin.read, nlines);
    }
    print_message("%d runs, %d kills landed while it ran (%" PRId64
                  " before the run's first commit), %d missed; %.1f s from the first run; "
                  "last run: read=%" PRId64 "\n",
                  runs, landed, zero_runs, missed, t_total, fin.read);
    print_message("rows committed by each run:");
    for (int i = 0; i < runs; i++)
        print_message(" %" PRId64, per_run[i]);
    print_message("\n");
    assert_true(landed >= KILLS_MIN);

    sqlite3_close(db);
    free(seen);
    free(offs);
    munmap(map, (size_t)sb.st_size);
    close(fd);
}

#else

/* Without bench/ there is no wsa-gen to write the lines. */
static void test_killed_ingest_loses_nothing(void **state)
{
    (void)state;
    print_message("wsa-gen is not built (WSA_BENCH=OFF): nothing to ingest\n");
    skip();
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_ingest_loses_nothing, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
