/*
 * test_watch.c - `wsa-relay ingest --watch DIR`: the real binary follows a spool folder
 * while this process writes, rotates, compresses and breaks files in it, kills and stops
 * the watcher, and reads the database.
 *
 * Every line this test writes is the same native access record (sentinel line 10) with its
 * own number in the URL and the timestamp, all LINE_LEN bytes long, so a row's line number
 * comes back from its raw bytes. The test keeps, for every line it expects stored, the byte
 * offset it wrote it at and the file group it belongs to (one group per source: a file and
 * its rotated, copied or compressed continuations). check_rows then demands exactly that:
 * each expected line stored once, at its offset, all lines of a group under one source and
 * different groups under different sources, no other row and no reject.
 *
 * A change is known to be seen through a barrier: a new file with one line, named to sort
 * after every other file of the same modification time. The watcher loads the files of a
 * pass oldest first, so once the barrier's row is in, the pass that listed it (after every
 * earlier change) has loaded every earlier change too. Waits poll the database with a
 * deadline; nothing waits by a fixed sleep.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <zlib.h>
#include "harness.h"

#define MAX_LINES       400000
#define BARRIER_0       390000 /* line numbers of barriers: above every other line */
#define MAX_GROUPS      200
#define BARRIER_GROUP_0 100   /* groups of the barriers; the tests' own are below */
#define WAIT_MS         60000 /* for the sanitizer build on a loaded machine */
#define POLL_MS_ARG     "100"
#define BIG_LINES       150000 /* many batches (5000 lines each) for the kill and stop tests */
#define BATCH_LINES     5000   /* the loader's default batch (service/load.c) */

/* Sentinel line 10 with the line number in the timestamp and the URL. */
#define LINE_FMT                                                                                   \
    "%010d.668 92 172.17.22.75 TCP_CLIENT_REFRESH_MISS_SSL/304 227 GET "                           \
    "https://www.admin.site.dk:4043/p%08d.gif - DIRECT/217.195.184.80 - "                          \
    "DEFAULT_CASE_11-DSBaccess-DSBHK-NONE-NONE-NONE-NONE "                                         \
    "<IW_busi,0.0,\"0\",\"-\",0,0,0,\"-\",\"-\",-,-,-,\"-\",\"-\",-,\"-\",\"-\",-,-,IW_busi,-,"    \
    "\"Unknown\",\"-\",\"Unknown\",\"Unknown\",\"-\",\"-\",19.74,0,-,\"-\",\"-\"> -\n"

/*
 * Bytes of a line with its newline, field by field: 18 for the time and elapsed time with
 * their spaces, 13 for the client, 36 for the result code and size, 4 for the method, 47
 * for the URL and the user "-", 24 for the hierarchy and the MIME type "-", 52 for the ACL
 * decision and policies, 133 for the verdict block, 3 for " -" and the newline.
 * line_text asserts it.
 */
#define LINE_LEN 330

typedef struct fx {
    h_server_t s; /* dir and db */
    char spool[320];
    char out[340]; /* the current run's stdout and stderr */
    pid_t pid;
    int runs;
    int slash; /* start names the folder with trailing slashes */
    int barriers;
    int64_t *exp_off; /* per line number: expected offset, -1 when not expected */
    int *exp_group;
} fx_t;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void line_text(int n, char *buf)
{
    int len = snprintf(buf, LINE_LEN + 1, LINE_FMT, 1340000000 + n, n);

    assert_int_equal(len, LINE_LEN);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    h_setup(&f->s);
    snprintf(f->spool, sizeof(f->spool), "%s/spool", f->s.dir);
    if (mkdir(f->spool, 0700) != 0)
        return -1;
    f->exp_off = malloc(MAX_LINES * sizeof(*f->exp_off));
    f->exp_group = malloc(MAX_LINES * sizeof(*f->exp_group));
    if (f->exp_off == NULL || f->exp_group == NULL)
        return -1;
    for (int i = 0; i < MAX_LINES; i++)
        f->exp_off[i] = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    int status;

    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &status, 0);
    }
    h_teardown(&f->s);
    free(f->exp_off);
    free(f->exp_group);
    free(f);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *in = fopen(path, "rb");
    char *buf;
    long len;

    if (in == NULL)
        return strdup("");
    fseek(in, 0, SEEK_END);
    len = ftell(in);
    fseek(in, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    len = (long)fread(buf, 1, (size_t)len, in);
    buf[len] = '\0';
    fclose(in);
    return buf;
}

/* How many times `needle` occurs in the current run's output. */
static int out_count(const fx_t *f, const char *needle)
{
    char *text = slurp(f->out);
    int n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* Starts `wsa-relay ingest --watch <spool> --poll-ms 100 --db <db>`. */
static void start(fx_t *f)
{
    char dir[340];
    const char *argv[] = {WSA_RELAY_BIN, "ingest", "--watch", dir, "--poll-ms",
                          POLL_MS_ARG,   "--db",   f->s.db,   NULL};

    snprintf(dir, sizeof(dir), "%s%s", f->spool, f->slash ? "//" : "");
    snprintf(f->out, sizeof(f->out), "%s/watch-%d.out", f->s.dir, f->runs++);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        h_clean_env();
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
}

static int status_of(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits for the watcher to exit by itself; its status. */
static int wait_exit(fx_t *f)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int status = 0;

    while (now_ms() < deadline) {
        pid_t r = waitpid(f->pid, &status, WNOHANG);
        if (r == f->pid) {
            f->pid = 0;
            return status_of(status);
        }
        sleep_ms(10);
    }
    fail_msg("the watcher did not exit within %d ms", WAIT_MS);
    return -1;
}

/* SIGTERM; the exit status. */
static int stop(fx_t *f)
{
    kill(f->pid, SIGTERM);
    return wait_exit(f);
}

static void kill_hard(fx_t *f)
{
    int status;

    kill(f->pid, SIGKILL);
    assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
    assert_true(WIFSIGNALED(status));
    f->pid = 0;
}

/* The watcher must still run: a test waiting for rows would otherwise wait out its deadline. */
static void assert_running(fx_t *f)
{
    int status;

    if (f->pid > 0 && waitpid(f->pid, &status, WNOHANG) == f->pid) {
        char *text = slurp(f->out);
        f->pid = 0;
        fail_msg("the watcher exited with %d: %s", status_of(status), text);
    }
}

/* One integer from the database; `dflt` while the database or its tables do not exist. */
static int64_t db_int(const fx_t *f, const char *sql, int64_t dflt)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = dflt;

    if (access(f->s.db, F_OK) != 0)
        return dflt;
    if (sqlite3_open_v2(f->s.db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static int64_t rows(const fx_t *f)
{
    return db_int(f, "SELECT count(*) FROM transactions", 0);
}

/* The committed offset of the source last read under spool/<name>; -1 when none. */
static int64_t source_offset(const fx_t *f, const char *name)
{
    char sql[600];

    snprintf(sql, sizeof(sql),
             "SELECT offset FROM sources WHERE name = '%s/%s' ORDER BY last_seen_ms DESC, id "
             "DESC LIMIT 1",
             f->spool, name);
    return db_int(f, sql, -1);
}

static void wait_rows(fx_t *f, int64_t want)
{
    int64_t deadline = now_ms() + WAIT_MS, got = 0;

    while (now_ms() < deadline) {
        assert_running(f);
        if ((got = rows(f)) == want)
            return;
        /* rows are never taken away: more than expected is final */
        if (got > want)
            break;
        sleep_ms(20);
    }
    fail_msg("%" PRId64 " rows, expected %" PRId64 " (waited up to %d ms); watcher output: %s", got,
             want, WAIT_MS, slurp(f->out));
}

static int64_t expected_rows(const fx_t *f)
{
    int64_t n = 0;

    for (int i = 0; i < MAX_LINES; i++)
        n += f->exp_off[i] >= 0;
    return n;
}

static void path_of(const fx_t *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->spool, name);
}

static int64_t file_size(const fx_t *f, const char *name)
{
    char path[400];
    struct stat sb;

    path_of(f, name, path, sizeof(path));
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static void append_bytes(const fx_t *f, const char *name, const void *data, size_t len)
{
    char path[400];
    int fd;

    path_of(f, name, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/*
 * Appends lines first..first+n-1 to spool/<name> in one write; when `group` >= 0 they are
 * expected at the offsets they land at, in that group.
 */
static void append_lines(fx_t *f, const char *name, int first, int n, int group)
{
    char *buf = malloc((size_t)n * LINE_LEN + 1);
    int64_t at = file_size(f, name);

    assert_non_null(buf);
    for (int i = 0; i < n; i++) {
        line_text(first + i, buf + (size_t)i * LINE_LEN);
        if (group >= 0) {
            f->exp_off[first + i] = at + (int64_t)i * LINE_LEN;
            f->exp_group[first + i] = group;
        }
    }
    append_bytes(f, name, buf, (size_t)n * LINE_LEN);
    free(buf);
}

/* Lines first..first+n-1, as spool/<name> holds them, also expected at `base` + their place. */
static void expect_lines(fx_t *f, int first, int n, int64_t base, int group)
{
    for (int i = 0; i < n; i++) {
        f->exp_off[first + i] = base + (int64_t)i * LINE_LEN;
        f->exp_group[first + i] = group;
    }
}

/* Writes lines first..first+n-1 gzip-compressed into spool/<name>. */
static void write_gzip_lines(const fx_t *f, const char *name, int first, int n)
{
    char path[400], line[LINE_LEN + 1];
    gzFile gz;

    path_of(f, name, path, sizeof(path));
    gz = gzopen(path, "wb");
    assert_non_null(gz);
    for (int i = 0; i < n; i++) {
        line_text(first + i, line);
        assert_int_equal(gzwrite(gz, line, LINE_LEN), LINE_LEN);
    }
    assert_int_equal(gzclose(gz), Z_OK);
}

/* Copies spool/<from> to spool/<to> gzip-compressed. */
static void gzip_copy(const fx_t *f, const char *from, const char *to)
{
    char src[400], dst[400], *data;
    gzFile gz;

    path_of(f, from, src, sizeof(src));
    path_of(f, to, dst, sizeof(dst));
    data = slurp(src);
    gz = gzopen(dst, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)strlen(data)), (int)strlen(data));
    assert_int_equal(gzclose(gz), Z_OK);
    free(data);
}

static void rename_in(const fx_t *f, const char *from, const char *to)
{
    char a[400], b[400];

    path_of(f, from, a, sizeof(a));
    path_of(f, to, b, sizeof(b));
    assert_int_equal(rename(a, b), 0);
}

/*
 * Drops a one-line file named to load last in its pass and waits until every expected line
 * is stored: the pass that loaded it had seen every change made before.
 */
static void barrier(fx_t *f)
{
    char name[64];
    int n = BARRIER_0 + f->barriers;

    assert_true(f->barriers < MAX_GROUPS - BARRIER_GROUP_0);
    snprintf(name, sizeof(name), "0-barrier-%d.log", f->barriers);
    /* each barrier file is a source of its own */
    append_lines(f, name, n, 1, BARRIER_GROUP_0 + f->barriers++);
    wait_rows(f, expected_rows(f));
}

/* Every expected line stored exactly once at its offset, sources as grouped, nothing else. */
static void check_rows(const fx_t *f)
{
    int64_t group_src[MAX_GROUPS];
    unsigned char *seen = calloc(MAX_LINES, 1);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc;

    assert_non_null(seen);
    for (int g = 0; g < MAX_GROUPS; g++)
        group_src[g] = -1;
    assert_int_equal(sqlite3_open_v2(f->s.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT raw, offset, source_id FROM transactions", -1, &st, NULL),
        SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char raw[LINE_LEN + 1];
        int len = sqlite3_column_bytes(st, 0), num = -1;
        int64_t off = sqlite3_column_int64(st, 1), src = sqlite3_column_int64(st, 2);
        const char *p;

        snprintf(raw, sizeof(raw), "%.*s", len < LINE_LEN ? len : LINE_LEN,
                 (const char *)sqlite3_column_blob(st, 0));
        p = strstr(raw, "/p");
        if (p == NULL || sscanf(p, "/p%8d.gif", &num) != 1 || num < 0 || num >= MAX_LINES)
            fail_msg("a row that is none of this test's lines: %s", raw);
        if (f->exp_off[num] < 0)
            fail_msg("line %d stored but not expected (offset %" PRId64 ")", num, off);
        if (seen[num]++)
            fail_msg("line %d stored twice", num);
        if (off != f->exp_off[num])
            fail_msg("line %d at offset %" PRId64 ", expected %" PRId64, num, off, f->exp_off[num]);
        /* one source per group, and no two groups in one source */
        if (group_src[f->exp_group[num]] < 0) {
            for (int g = 0; g < MAX_GROUPS; g++) {
                if (group_src[g] == src)
                    fail_msg("line %d (group %d) is in the source of group %d", num,
                             f->exp_group[num], g);
            }
            group_src[f->exp_group[num]] = src;
        } else if (group_src[f->exp_group[num]] != src) {
            fail_msg("line %d is in source %" PRId64 ", the rest of its group in %" PRId64, num,
                     src, group_src[f->exp_group[num]]);
        }
        n++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    for (int i = 0; i < MAX_LINES; i++) {
        if (f->exp_off[i] >= 0 && !seen[i])
            fail_msg("line %d is missing (expected at offset %" PRId64 ")", i, f->exp_off[i]);
    }
    assert_int_equal(n, expected_rows(f));
    assert_int_equal(db_int(f, "SELECT count(*) FROM rejects", -1), 0);
    free(seen);
}

static void test_new_file(void **state)
{
    fx_t *f = *state;

    start(f);
    append_lines(f, "access.log", 0, 5, 0);
    wait_rows(f, 5);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "access.log"), 5 * LINE_LEN);
    assert_int_equal(stop(f), 0);
    /* 5 lines and one barrier line, all stored without a warning */
    assert_int_equal(out_count(f, "\nread=6 stored=6 warned=0 rejected=0 skipped=0\n"), 1);
    assert_int_equal(out_count(f, "access.log: read=5 stored=5 warned=0 rejected=0 skipped=0"), 1);
}

static void test_temp_names_skipped(void **state)
{
    fx_t *f = *state;

    append_lines(f, ".hidden.log", 100, 2, -1);
    append_lines(f, "upload.log.tmp", 110, 2, -1);
    append_lines(f, "upload2.log.part", 120, 3, -1);
    append_lines(f, "upload3.log.filepart", 130, 2, -1);
    append_lines(f, "access.log.swp", 140, 2, -1);
    append_lines(f, "access.log", 0, 2, 0);
    /* "spool//": the sources are still named "spool/access.log" */
    f->slash = 1;
    start(f);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "access.log"), 2 * LINE_LEN);
    /* the transfer ends with a rename to the final name: now it is a log */
    rename_in(f, "upload2.log.part", "upload2.log");
    expect_lines(f, 120, 3, 0, 1);
    barrier(f);
    check_rows(f);
    assert_int_equal(stop(f), 0);
}

static void test_growing_file(void **state)
{
    fx_t *f = *state;
    char line[LINE_LEN + 1];

    start(f);
    append_lines(f, "access.log", 0, 3, 0);
    wait_rows(f, 3);
    append_lines(f, "access.log", 3, 2, 0);
    /* line 5 half written: the file is fresh, so it waits for its newline */
    line_text(5, line);
    append_bytes(f, "access.log", line, 100);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "access.log"), 5 * LINE_LEN);
    append_bytes(f, "access.log", line + 100, LINE_LEN - 100);
    expect_lines(f, 5, 1, 5 * LINE_LEN, 0);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "access.log"), 6 * LINE_LEN);
    assert_int_equal(stop(f), 0);
}

/*
 * A last line without a newline in a file nobody touches again is loaded once the file has
 * been idle for a minute (LOAD_SETTLE_S). The file arrives (renamed from a temporary name)
 * with a modification time 55 s back, so here that is about 6 s later, with no change to
 * the file in between.
 */
static void test_unterminated_line_settles(void **state)
{
    fx_t *f = *state;
    char line[LINE_LEN + 1], path[400];
    struct timespec times[2];
    int64_t deadline;

    start(f);
    append_lines(f, "late.log.tmp", 0, 2, -1);
    line_text(2, line);
    append_bytes(f, "late.log.tmp", line, LINE_LEN - 1);
    path_of(f, "late.log.tmp", path, sizeof(path));
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &times[0]), 0);
    times[0].tv_sec -= 55;
    times[1] = times[0];
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    rename_in(f, "late.log.tmp", "late.log");
    expect_lines(f, 0, 2, 0, 0);
    wait_rows(f, 2);
    deadline = now_ms() + WAIT_MS;
    while (out_count(f, "late.log: last line (329 bytes at byte 660) has no newline yet") != 1) {
        assert_running(f);
        if (now_ms() > deadline)
            fail_msg("the last line was not left for later: %s", slurp(f->out));
        sleep_ms(20);
    }
    expect_lines(f, 2, 1, 2 * LINE_LEN, 0);
    wait_rows(f, 3);
    check_rows(f);
    assert_int_equal(source_offset(f, "late.log"), 3 * LINE_LEN - 1);
    /* held once, then read: not held again */
    assert_int_equal(out_count(f, "has no newline yet"), 1);
    assert_int_equal(stop(f), 0);
}

static void test_rename_rotation(void **state)
{
    fx_t *f = *state;

    start(f);
    append_lines(f, "access.log", 0, 5, 0);
    wait_rows(f, 5);
    /* the appliance's last lines, then the rotation, faster than a poll */
    append_lines(f, "access.log", 5, 2, 0);
    rename_in(f, "access.log", "access.log.1");
    append_lines(f, "access.log", 7, 3, 1);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "access.log.1"), 7 * LINE_LEN);
    assert_int_equal(source_offset(f, "access.log"), 3 * LINE_LEN);
    /* and a second rotation, the first rotated file moving on */
    rename_in(f, "access.log.1", "access.log.2");
    rename_in(f, "access.log", "access.log.1");
    append_lines(f, "access.log", 10, 2, 2);
    barrier(f);
    check_rows(f);
    assert_int_equal(stop(f), 0);
}

/*
 * copytruncate: the copy holds every line written before it, so lines not yet read when it
 * was taken are read from the copy. Lines written between the copy and the truncation are
 * in neither file and lost unless the watcher read them in that moment: no reader of the
 * folder can promise them, so this test does not write any there.
 */
static void test_copy_truncate(void **state)
{
    fx_t *f = *state;
    char live[400], copy[400], *data;

    start(f);
    append_lines(f, "access.log", 0, 5, 0);
    wait_rows(f, 5);
    append_lines(f, "access.log", 5, 2, 0);
    path_of(f, "access.log", live, sizeof(live));
    path_of(f, "access.log.1", copy, sizeof(copy));
    data = slurp(live);
    append_bytes(f, "access.log.1", data, strlen(data));
    free(data);
    assert_int_equal(truncate(live, 0), 0);
    append_lines(f, "access.log", 7, 3, 1);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "access.log.1"), 7 * LINE_LEN);
    assert_int_equal(source_offset(f, "access.log"), 3 * LINE_LEN);
    /* a second copytruncate of the new live file */
    append_lines(f, "access.log", 10, 1, 1);
    data = slurp(live);
    unlink(copy);
    append_bytes(f, "access.log.1", data, strlen(data));
    free(data);
    assert_int_equal(truncate(live, 0), 0);
    append_lines(f, "access.log", 11, 2, 2);
    barrier(f);
    check_rows(f);
    assert_int_equal(stop(f), 0);
}

static void test_gzip(void **state)
{
    fx_t *f = *state;

    start(f);
    /* a compressed log dropped in under a temporary name, then renamed */
    write_gzip_lines(f, "old.log.gz.tmp", 20, 10);
    rename_in(f, "old.log.gz.tmp", "old.log.gz");
    expect_lines(f, 20, 10, 0, 1);
    append_lines(f, "access.log", 0, 5, 0);
    wait_rows(f, 15);
    /* rotation with compression: two lines more, then the live file becomes a .gz */
    append_lines(f, "access.log", 5, 2, 0);
    gzip_copy(f, "access.log", "access.log.1.gz");
    {
        char live[400];
        path_of(f, "access.log", live, sizeof(live));
        assert_int_equal(unlink(live), 0);
    }
    barrier(f);
    check_rows(f);
    /* offsets of a gzip file count its decompressed bytes */
    assert_int_equal(source_offset(f, "access.log.1.gz"), 7 * LINE_LEN);
    assert_int_equal(source_offset(f, "old.log.gz"), 10 * LINE_LEN);
    assert_int_equal(stop(f), 0);
}

/* Damaged, dangling and unreadable entries are said once each, and the rest loads. */
static void test_unreadable_entries(void **state)
{
    fx_t *f = *state;
    static const unsigned char junk[] = {0x1f, 0x8b, 0x08, 0x00, 'n', 'o', 't', ' ', 'g',
                                         'z',  'i',  'p',  ' ',  'd', 'a', 't', 'a'};
    char path[400], target[400];

    append_bytes(f, "bad.log.gz", junk, sizeof(junk));
    path_of(f, "gone.log", path, sizeof(path));
    snprintf(target, sizeof(target), "%s/no-such-file", f->s.dir);
    assert_int_equal(symlink(target, path), 0);
    path_of(f, "pipe.log", path, sizeof(path));
    assert_int_equal(mkfifo(path, 0600), 0);
    append_lines(f, "access.log", 0, 3, 0);
    start(f);
    barrier(f);
    check_rows(f);
    /* another pass, and another: nothing changed, nothing said again */
    barrier(f);
    barrier(f);
    check_rows(f);
    assert_int_equal(out_count(f, "bad.log.gz: gzip data damaged"), 1);
    assert_int_equal(out_count(f, "gone.log: cannot stat: No such file or directory"), 1);
    assert_int_equal(out_count(f, "pipe.log: a FIFO, not a log file: skipped"), 1);
    assert_int_equal(out_count(f, " WARN "), 3);
    /* the damaged file replaced by a sound one: loaded */
    write_gzip_lines(f, "bad.log.gz.tmp", 30, 3);
    rename_in(f, "bad.log.gz.tmp", "bad.log.gz");
    expect_lines(f, 30, 3, 0, 1);
    barrier(f);
    check_rows(f);
    assert_int_equal(stop(f), 0);
}

/* Starts a load of BIG_LINES lines and waits until at least one batch of it is committed. */
static void start_big_load(fx_t *f)
{
    int64_t deadline;

    append_lines(f, "big.log", 0, BIG_LINES, 0);
    start(f);
    deadline = now_ms() + WAIT_MS;
    while (source_offset(f, "big.log") <= 0) {
        assert_running(f);
        if (now_ms() > deadline)
            fail_msg("no batch of big.log committed within %d ms", WAIT_MS);
        sleep_ms(5);
    }
}

/*
 * Copy and truncation while the file is being loaded, the writer filling it again before
 * the load reads on (as when the truncation falls between the load's first look at the
 * file and its first read): here the file is rewritten in place with as many new lines of
 * the same length, which a load reading on cannot tell from the old ones by their offsets.
 * It must not store them under the old content's source: they were read a second time
 * from the live file, and the copy's first batches too, once each file became a source of
 * its own. Every line ends up once, the old ones in the copy's source and the new ones in
 * the live file's.
 */
static void test_copy_truncate_mid_load(void **state)
{
    fx_t *f = *state;
    char live[400], *data, *lines = malloc((size_t)BIG_LINES * LINE_LEN + 1);
    int fd;

    assert_non_null(lines);
    start_big_load(f);
    path_of(f, "big.log", live, sizeof(live));
    data = slurp(live);
    append_bytes(f, "big.log.1", data, strlen(data));
    free(data);
    for (int i = 0; i < BIG_LINES; i++)
        line_text(BIG_LINES + i, lines + (size_t)i * LINE_LEN);
    fd = open(live, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, lines, (size_t)BIG_LINES * LINE_LEN, 0),
                     (ssize_t)BIG_LINES * LINE_LEN);
    close(fd);
    free(lines);
    expect_lines(f, BIG_LINES, BIG_LINES, 0, 1);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "big.log.1"), (int64_t)BIG_LINES * LINE_LEN);
    assert_int_equal(source_offset(f, "big.log"), (int64_t)BIG_LINES * LINE_LEN);
    assert_int_equal(stop(f), 0);
}

static void test_sigkill_resumes_mid_file(void **state)
{
    fx_t *f = *state;
    int64_t committed;

    start_big_load(f);
    kill_hard(f);
    /* whole batches only, and not all of them: the kill landed mid-file */
    committed = rows(f);
    assert_true(committed > 0);
    assert_true(committed < BIG_LINES);
    assert_int_equal(committed % BATCH_LINES, 0);
    assert_int_equal(source_offset(f, "big.log"), committed * LINE_LEN);
    start(f);
    wait_rows(f, BIG_LINES);
    barrier(f);
    check_rows(f);
    assert_int_equal(source_offset(f, "big.log"), (int64_t)BIG_LINES * LINE_LEN);
    assert_int_equal(stop(f), 0);
    /* the second run read only what the first had not committed */
    {
        char want[128];
        snprintf(want, sizeof(want), "read=%" PRId64 " stored=%" PRId64, BIG_LINES - committed + 1,
                 BIG_LINES - committed + 1);
        assert_int_equal(out_count(f, want), 1);
    }
}

/* SIGTERM in the middle of a file: the batch being written is committed, the counts said. */
static void test_sigterm_mid_file(void **state)
{
    fx_t *f = *state;
    long long rd, stored, warned, rejected, skipped;
    char *text, *counts;

    start_big_load(f);
    assert_int_equal(stop(f), 0);
    text = slurp(f->out);
    /* the run's counts line, not the INFO line of the file's load */
    counts = strstr(text, "\nread=");
    assert_non_null(counts);
    assert_int_equal(sscanf(counts + 1,
                            "read=%lld stored=%lld warned=%lld rejected=%lld skipped=%lld", &rd,
                            &stored, &warned, &rejected, &skipped),
                     5);
    free(text);
    assert_true(rd > 0);
    assert_true(rd < BIG_LINES);
    assert_int_equal(rd % BATCH_LINES, 0);
    assert_int_equal(stored, rd);
    assert_int_equal(warned + rejected + skipped, 0);
    assert_int_equal(rows(f), rd);
    assert_int_equal(source_offset(f, "big.log"), rd * LINE_LEN);
    start(f);
    barrier(f);
    check_rows(f);
    assert_int_equal(stop(f), 0);
}

/* A database that cannot be written ends the run with 1; what was committed stays. */
static void test_store_error_is_fatal(void **state)
{
    fx_t *f = *state;
    sqlite3 *db = NULL;
    char *text;

    start(f);
    append_lines(f, "access.log", 0, 4, 0);
    wait_rows(f, 4);
    /* another writer holds the database longer than the watcher waits for a lock */
    assert_int_equal(sqlite3_open(f->s.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    append_lines(f, "access.log", 4, 2, 0);
    assert_int_equal(wait_exit(f), 1);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    text = slurp(f->out);
    if (strstr(text, "wsa-relay ingest: ") == NULL ||
        strstr(text, "access.log: database") == NULL || strstr(text, "locked") == NULL)
        fail_msg("no database error named: %s", text);
    free(text);
    /* the counts line is printed for what the run did */
    assert_int_equal(out_count(f, "\nread=4 stored=4 warned=0 rejected=0 skipped=0\n"), 1);
    assert_int_equal(rows(f), 4);
    start(f);
    barrier(f);
    check_rows(f);
    assert_int_equal(stop(f), 0);
}

/*
 * Links in the folder to the database and to its WAL (symbolic, there before the start;
 * hard, made while it runs) are skipped, said once each however often the database
 * changes, and nothing of them is read: before, the database's stored lines came back as
 * rows of a source named after the link.
 */
static void test_database_links_skipped(void **state)
{
    fx_t *f = *state;
    char path[400], wal[400];

    path_of(f, "db.log", path, sizeof(path));
    assert_int_equal(symlink(f->s.db, path), 0);
    path_of(f, "wal.log", path, sizeof(path));
    snprintf(wal, sizeof(wal), "%s-wal", f->s.db);
    assert_int_equal(symlink(wal, path), 0);
    append_lines(f, "access.log", 0, 3, 0);
    start(f);
    barrier(f);
    path_of(f, "hard.log", path, sizeof(path));
    assert_int_equal(link(f->s.db, path), 0);
    append_lines(f, "access.log", 3, 3, 0);
    barrier(f);
    barrier(f);
    check_rows(f);
    assert_int_equal(out_count(f, "db.log: a link to the database or its journal: skipped"), 1);
    assert_int_equal(out_count(f, "wal.log: a link to the database or its journal: skipped"), 1);
    assert_int_equal(out_count(f, "hard.log: a link to the database or its journal: skipped"), 1);
    assert_int_equal(out_count(f, " WARN "), 3);
    assert_int_equal(db_int(f,
                            "SELECT count(*) FROM sources WHERE name LIKE '%db.log'"
                            " OR name LIKE '%wal.log' OR name LIKE '%hard.log'",
                            -1),
                     0);
    assert_int_equal(stop(f), 0);
}

static void test_usage_errors(void **state)
{
    fx_t *f = *state;
    char err[2048], file[400], db_in[400];
    const char *with_file[] = {"ingest", "--db", f->s.db, "--watch", f->spool, "x.log", NULL};
    const char *missing[] = {"ingest", "--db", f->s.db, "--watch", "/nonexistent-spool", NULL};
    const char *not_dir[] = {"ingest", "--db", f->s.db, "--watch", file, NULL};
    const char *db_inside[] = {"ingest", "--db", db_in, "--watch", f->spool, NULL};
    const char *bad_poll[] = {"ingest", "--db",      f->s.db, "--watch",
                              f->spool, "--poll-ms", "5",     NULL};
    const char *poll_alone[] = {"ingest", "--db", f->s.db, "--poll-ms", "100", "x.log", NULL};

    path_of(f, "access.log", file, sizeof(file));
    snprintf(db_in, sizeof(db_in), "%s/t.db", f->spool);
    append_lines(f, "access.log", 0, 1, -1);
    assert_int_equal(h_run(with_file, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "no FILE may be given with it (got x.log)"));
    assert_int_equal(h_run(missing, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "--watch: /nonexistent-spool: No such file or directory"));
    assert_int_equal(h_run(not_dir, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "access.log: not a folder"));
    assert_int_equal(h_run(db_inside, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "is in this folder"));
    assert_int_equal(h_run(bad_poll, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "--poll-ms: expected a whole number"));
    assert_int_equal(h_run(poll_alone, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "--poll-ms needs --watch DIR"));
    /* none of them touched a database */
    assert_int_equal(access(f->s.db, F_OK), -1);
    assert_int_equal(access(db_in, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temp_names_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_line_settles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_truncate_mid_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_resumes_mid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_mid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_error_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_links_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
