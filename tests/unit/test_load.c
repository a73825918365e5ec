/*
 * test_load.c - the loader with the real parser: counts, idempotence, source identity,
 * growth, stdin, rejects, appliances, batches and a failure in the middle of a load.
 *
 * Expected counts for tests/data/sentinel-ciscowsa.log, by line (see parse_expected.tsv,
 * worked out by hand from wsa-logs.md): lines 1-6, 8 and 9 are not access records
 * (skipped: 8); 7, 10 (32-field blocks), 11-28 and 30-33 (15-field blocks from 26 on) parse
 * cleanly (stored: 24, of which 11-23 are the 13 identical lines); 29 (WBRS -9.1.0), 34,
 * 35 (39-field blocks) and 36 (a broken SHA-256) carry a parse warning (warned: 4);
 * nothing is rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <zlib.h>
#include "../../service/store_priv.h"
#include "load.h"
#include "util.h"

#define SENTINEL       TEST_DATA_DIR "/sentinel-ciscowsa.log"
#define SENTINEL_SIZE  15925
#define SENTINEL_LINES 36

/* Sentinel line 24: an access record without a parse warning. */
static const char clean_line[] =
    "1651830000.490 90 10.147.88.13 TCP_MISS/200 0 TCP_CONNECT 10.10.10.1:443 - DIRECT/url - "
    "PASSTHRU_WBRS_7-DefaultGroup-LCAB.AuthExemptSource.ID-NONE-NONE-NONE-DefaultGroup-NONE "
    "<\"IW_comp\",9.0,1,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,\"IW_comp\",-,\"-\","
    "\"Computers and Internet\",\"-\",\"Unknown\",\"Unknown\",\"-\",\"-\",0.00,0,-,\"-\",\"-\",-,"
    "\"-\",-,-,\"-\",\"-\",-,-,\"-\",-,-> -";

/* The same kind of record behind a syslog header naming host wsa02. */
static const char syslog_line[] =
    "<134>Jan  5 01:02:03 wsa02 accesslogs: 1700000012.000 4 192.0.2.48 TCP_MISS/200 64 GET "
    "http://padded.example.com/ - DIRECT/padded.example.com text/html "
    "DEFAULT_CASE_12-AP1-ID1-NONE-NONE-NONE-DefaultGroup-NONE <\"IW_comp\",6.9,1,\"-\",-,-,-,-,"
    "\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,\"IW_comp\",-,\"-\",\"Computers and Internet\",\"-\","
    "\"Unknown\",\"Unknown\",\"-\",\"-\",12.50,0,-,\"-\",\"-\",-,\"-\",-,-,\"-\",\"-\",-,-,\"-\","
    "-,-> - -";

static const char bad_elapsed_line[] =
    "1700000020.000 x7 192.0.2.50 TCP_MISS/200 10 GET http://r.example.com/ - "
    "DIRECT/r.example.com - DEFAULT_CASE-AP-ID-NONE-NONE-NONE <IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,"
    "-,-> -";

static const char bad_ip_line[] =
    "1700000021.000 5 192.0.2.300 TCP_MISS/200 10 GET http://r.example.com/ - "
    "DIRECT/r.example.com - DEFAULT_CASE-AP-ID-NONE-NONE-NONE <IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,"
    "-,-> -";

typedef struct fixture {
    char dir[64];
    char db[128];
    store_t *st;
    char *sentinel;                        /* the sample's bytes */
    size_t line_start[SENTINEL_LINES + 1]; /* offset of each line; [36] is the size */
} fixture_t;

static void read_sentinel(fixture_t *f)
{
    FILE *fp = fopen(SENTINEL, "rb");
    size_t n = 0;

    assert_non_null(fp);
    f->sentinel = malloc(SENTINEL_SIZE + 1);
    assert_int_equal(fread(f->sentinel, 1, SENTINEL_SIZE + 1, fp), SENTINEL_SIZE);
    fclose(fp);
    f->line_start[0] = 0;
    for (size_t i = 0; i < SENTINEL_SIZE; i++) {
        if (f->sentinel[i] == '\n')
            f->line_start[++n] = i + 1;
    }
    assert_int_equal(n, SENTINEL_LINES);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[STORE_ERR_LEN];

    snprintf(f->dir, sizeof(f->dir), "/tmp/wr-load-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/var/t.db", f->dir);
    assert_int_equal(store_open(&f->st, f->db, STORE_READ_WRITE, err, sizeof(err)), 0);
    read_sentinel(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[160];

    store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f->sentinel);
    free(f);
    return 0;
}

static int64_t scalar(fixture_t *f, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(f->st->db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Whether the single value `sql` selects is a BLOB holding exactly `len` bytes of `data`. */
static int blob_equals(fixture_t *f, const char *sql, const void *data, size_t len)
{
    sqlite3_stmt *s;
    int eq;

    assert_int_equal(sqlite3_prepare_v2(f->st->db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    eq = sqlite3_column_type(s, 0) == SQLITE_BLOB && (size_t)sqlite3_column_bytes(s, 0) == len &&
         memcmp(sqlite3_column_blob(s, 0), data, len) == 0;
    sqlite3_finalize(s);
    return eq;
}

/* Sets a file's modification time to `ago` seconds before now. */
static void set_mtime_ago(const char *path, int ago)
{
    struct timespec ts[2];

    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
    ts[0].tv_sec -= ago;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void write_file(const char *path, const char *mode, const void *data, size_t len)
{
    FILE *fp = fopen(path, mode);

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void path_in(fixture_t *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->dir, name);
}

static load_counts_t load(fixture_t *f, const char *path, const load_opts_t *opts)
{
    load_counts_t c = {0};
    char err[STORE_ERR_LEN];

    if (load_source(f->st, path, opts, &c, err, sizeof(err)) != 0)
        fail_msg("load_source(%s): %s", path, err);
    assert_int_equal(c.read, c.stored + c.warned + c.rejected + c.skipped);
    return c;
}

static void assert_counts(load_counts_t c, int64_t read, int64_t stored, int64_t warned,
                          int64_t rejected, int64_t skipped)
{
    assert_int_equal(c.read, read);
    assert_int_equal(c.stored, stored);
    assert_int_equal(c.warned, warned);
    assert_int_equal(c.rejected, rejected);
    assert_int_equal(c.skipped, skipped);
}

static void test_sentinel_twice(void **state)
{
    fixture_t *f = *state;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char sql[256];

    assert_counts(load(f, SENTINEL, NULL), 36, 24, 4, 0, 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), SENTINEL_SIZE);
    assert_int_equal(scalar(f, "SELECT size FROM sources"), SENTINEL_SIZE);
    assert_int_equal(scalar(f, "SELECT lines FROM sources"), 36);
    assert_int_equal(scalar(f, "SELECT prefix_len FROM sources"), 1024);
    /* the head is the first 1024 bytes; the fingerprint, the SHA-256 of the last 1024 */
    assert_int_equal(blob_equals(f, "SELECT head FROM sources", f->sentinel, 1024), 1);
    SHA256((const unsigned char *)f->sentinel + SENTINEL_SIZE - 1024, 1024, md);
    assert_int_equal(blob_equals(f, "SELECT tail_sha FROM sources", md, sizeof(md)), 1);
    assert_int_equal(scalar(f, "SELECT tail_at FROM sources"), SENTINEL_SIZE);
    assert_int_equal(scalar(f, "SELECT identity IS NULL FROM sources"), 1);
    /* no syslog header and no forced name */
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE appliance_id = "
                               "(SELECT id FROM appliances WHERE name = 'default')"),
                     28);
    /* the raw column holds line 7 exactly (no newline) */
    snprintf(sql, sizeof(sql), "SELECT length(raw) FROM transactions WHERE offset = %zu",
             f->line_start[6]);
    assert_int_equal(scalar(f, sql), f->line_start[7] - f->line_start[6] - 1);

    /*
     * Again: the loader resumes at the committed offset, which is the end of the file, so it
     * reads nothing at all (read = 0), rather than re-reading 36 lines and finding each one
     * already present (which would give read = 36, skipped = 36 and cost a full parse).
     */
    assert_counts(load(f, SENTINEL, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
}

static void test_identical_lines(void **state)
{
    fixture_t *f = *state;
    sqlite3_stmt *s;
    int n = 0;

    load(f, SENTINEL, NULL);
    /* lines 11 to 23 are byte for byte the same: 13 transactions at their own offsets */
    assert_int_equal(sqlite3_prepare_v2(f->st->db,
                                        "SELECT offset FROM transactions WHERE raw = "
                                        "(SELECT raw FROM transactions WHERE offset = ?) "
                                        "ORDER BY offset",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)f->line_start[10]);
    while (sqlite3_step(s) == SQLITE_ROW) {
        assert_true(n < 13);
        assert_int_equal(sqlite3_column_int64(s, 0), f->line_start[10 + n]);
        n++;
    }
    sqlite3_finalize(s);
    assert_int_equal(n, 13);
}

static void test_copy_and_rename(void **state)
{
    fixture_t *f = *state;
    char copy[160], renamed[160];

    load(f, SENTINEL, NULL);
    path_in(f, "copy.log", copy, sizeof(copy));
    write_file(copy, "wb", f->sentinel, SENTINEL_SIZE);
    assert_counts(load(f, copy, NULL), 0, 0, 0, 0, 0);
    path_in(f, "renamed.log", renamed, sizeof(renamed));
    assert_int_equal(rename(copy, renamed), 0);
    assert_counts(load(f, renamed, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
}

static void test_grown_long_file(void **state)
{
    fixture_t *f = *state;
    char path[160];

    /* lines 1-20 (more than 1024 bytes), then lines 21-36 appended */
    path_in(f, "grow.log", path, sizeof(path));
    assert_true(f->line_start[20] > 1024);
    write_file(path, "wb", f->sentinel, f->line_start[20]);
    /* 1-6, 8, 9 skipped; 7, 10, 11-20 stored */
    assert_counts(load(f, path, NULL), 20, 12, 0, 0, 8);
    write_file(path, "ab", f->sentinel + f->line_start[20], SENTINEL_SIZE - f->line_start[20]);
    /* 21-28, 30-33 stored; 29, 34-36 warned */
    assert_counts(load(f, path, NULL), 16, 12, 4, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    /* and the whole sample is that same source */
    assert_counts(load(f, SENTINEL, NULL), 0, 0, 0, 0, 0);
}

static void test_grown_short_file(void **state)
{
    fixture_t *f = *state;
    char path[160];

    /* lines 1-3 (105 bytes, a shorter identity), then the rest appended */
    path_in(f, "short.log", path, sizeof(path));
    assert_true(f->line_start[3] < 1024);
    write_file(path, "wb", f->sentinel, f->line_start[3]);
    assert_counts(load(f, path, NULL), 3, 0, 0, 0, 3);
    assert_int_equal(scalar(f, "SELECT prefix_len FROM sources"), f->line_start[3]);
    write_file(path, "ab", f->sentinel + f->line_start[3], SENTINEL_SIZE - f->line_start[3]);
    assert_counts(load(f, path, NULL), 33, 24, 4, 0, 5);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT prefix_len FROM sources"), 1024);
    assert_counts(load(f, SENTINEL, NULL), 0, 0, 0, 0, 0);
}

static void test_final_line_without_newline(void **state)
{
    fixture_t *f = *state;
    char path[160];

    path_in(f, "nonl.log", path, sizeof(path));
    write_file(path, "wb", clean_line, strlen(clean_line));
    /* untouched for two minutes: finished, and its last line complete */
    set_mtime_ago(path, 120);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)strlen(clean_line));
    /*
     * Its newline arriving later makes an empty line at that offset (skipped); the next
     * record is new.
     */
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", syslog_line, strlen(syslog_line));
    write_file(path, "ab", "\n", 1);
    assert_counts(load(f, path, NULL), 2, 1, 0, 0, 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 2);
}

/* Runs load_source on "-" with `path` as stdin. */
static load_counts_t load_stdin(fixture_t *f, const char *path)
{
    int saved = dup(STDIN_FILENO), fd = open(path, O_RDONLY);
    load_counts_t c;

    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
    c = load(f, "-", NULL);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    return c;
}

static void test_stdin_twice(void **state)
{
    fixture_t *f = *state;

    assert_counts(load_stdin(f, SENTINEL), 36, 24, 4, 0, 8);
    /* a regular file on fd 0 has an identity, but "-" never does: each run is new */
    assert_counts(load_stdin(f, SENTINEL), 36, 24, 4, 0, 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 56);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources WHERE head IS NULL"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources WHERE name = 'stdin'"), 2);
}

/* A pipe on stdin: no size, no seeking; the source's size is the bytes read. */
static void test_stdin_pipe(void **state)
{
    fixture_t *f = *state;
    int saved = dup(STDIN_FILENO), fds[2];
    size_t len = strlen(clean_line);

    assert_int_equal(pipe(fds), 0);
    /* two lines fit in the pipe's buffer, so no writer thread is needed */
    assert_int_equal(write(fds[1], clean_line, len), (ssize_t)len);
    assert_int_equal(write(fds[1], "\n", 1), 1);
    assert_int_equal(write(fds[1], clean_line, len), (ssize_t)len);
    close(fds[1]);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    assert_counts(load(f, "-", NULL), 2, 2, 0, 0, 0);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    assert_int_equal(scalar(f, "SELECT size FROM sources"), (int64_t)(2 * len + 1));
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)(2 * len + 1));
}

static void test_rejects(void **state)
{
    fixture_t *f = *state;
    size_t longlen = 1536 * 1024, off = 0, offs[6];
    char path[160], *buf, want[160];
    const char *lines[] = {clean_line, bad_elapsed_line, bad_ip_line, NULL, syslog_line};
    sqlite3_stmt *s;
    int n = 0;

    buf = malloc(longlen + 8192);
    assert_non_null(buf);
    for (int i = 0; i < 5; i++) {
        size_t len = lines[i] != NULL ? strlen(lines[i]) : longlen;
        offs[i] = off;
        if (lines[i] != NULL)
            memcpy(buf + off, lines[i], len);
        else
            memset(buf + off, 'x', len);
        off += len;
        buf[off++] = '\n';
    }
    offs[5] = off;
    path_in(f, "rejects.log", path, sizeof(path));
    write_file(path, "wb", buf, off);
    free(buf);

    assert_counts(load(f, path, NULL), 5, 2, 0, 3, 0);
    assert_int_equal(scalar(f, "SELECT rejects FROM sources"), 3);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)offs[5]);
    assert_int_equal(sqlite3_prepare_v2(f->st->db,
                                        "SELECT offset, reason, length(raw) FROM rejects "
                                        "ORDER BY offset",
                                        -1, &s, NULL),
                     SQLITE_OK);
    const char *reasons[] = {"bad elapsed time \"x7\"", "bad client IP \"192.0.2.300\"", want};
    snprintf(want, sizeof(want),
             "line of %zu bytes is longer than the limit of 1048576 bytes (first 1048576 kept)",
             longlen);
    const size_t lens[] = {strlen(bad_elapsed_line), strlen(bad_ip_line), 1048576};
    while (sqlite3_step(s) == SQLITE_ROW) {
        assert_true(n < 3);
        assert_int_equal(sqlite3_column_int64(s, 0), offs[n + 1]);
        assert_string_equal((const char *)sqlite3_column_text(s, 1), reasons[n]);
        assert_int_equal(sqlite3_column_int64(s, 2), lens[n]);
        n++;
    }
    sqlite3_finalize(s);
    assert_int_equal(n, 3);
    /* the record after the long line starts where its newline ended */
    snprintf(want, sizeof(want), "SELECT count(*) FROM transactions WHERE offset = %zu", offs[4]);
    assert_int_equal(scalar(f, want), 1);
    /* again: nothing */
    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);
}

static void test_appliances(void **state)
{
    fixture_t *f = *state;
    char path[160];

    path_in(f, "mixed.log", path, sizeof(path));
    write_file(path, "wb", syslog_line, strlen(syslog_line));
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", clean_line, strlen(clean_line));
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", syslog_line, strlen(syslog_line));
    write_file(path, "ab", "\n", 1);
    assert_counts(load(f, path, NULL), 3, 3, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM appliances"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE a.name = 'wsa02'"),
                     2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE a.name = 'default'"),
                     1);
}

/*
 * A syslog host with a terminal escape and a DEL in it names its appliance with each control
 * character replaced by '_' (it reaches every sighting and the logs otherwise).
 */
static void test_appliance_control_characters(void **state)
{
    fixture_t *f = *state;
    const char *at = strstr(syslog_line, "wsa02");
    static const char host[] = "evil\x1b[31mred\x7f";
    char path[160];

    assert_non_null(at);
    path_in(f, "escape.log", path, sizeof(path));
    write_file(path, "wb", syslog_line, (size_t)(at - syslog_line));
    write_file(path, "ab", host, strlen(host));
    write_file(path, "ab", at + 5, strlen(at + 5));
    write_file(path, "ab", "\n", 1);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM appliances"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE a.name = 'evil_[31mred_'"),
                     1);
}

static void test_forced_appliance(void **state)
{
    fixture_t *f = *state;
    load_opts_t forced = {.appliance = "wsa-forced", .batch_lines = 1};
    char path[160];

    path_in(f, "forced.log", path, sizeof(path));
    write_file(path, "wb", syslog_line, strlen(syslog_line));
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", clean_line, strlen(clean_line));
    write_file(path, "ab", "\n", 1);
    assert_counts(load(f, path, &forced), 2, 2, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM appliances"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE a.name = 'wsa-forced'"),
                     2);
}

/*
 * A failure at line 36 with batches of 5: batches 1-7 (lines 1-35) stay committed, the
 * eighth is rolled back, and the next run reads exactly line 36.
 */
static void test_failure_mid_load(void **state)
{
    fixture_t *f = *state;
    load_opts_t small = {.batch_lines = 5};
    load_counts_t c = {0};
    char err[STORE_ERR_LEN], sql[128];

    assert_int_equal(sqlite3_exec(f->st->db,
                                  "CREATE TEMP TRIGGER full BEFORE INSERT ON transactions "
                                  "WHEN NEW.client_ip = '10.60.71.201' BEGIN "
                                  "SELECT RAISE(ABORT, 'database or disk is full'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(load_source(f->st, SENTINEL, &small, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, SENTINEL));
    assert_non_null(strstr(err, "database or disk is full"));
    /* lines 1-35: 8 skipped, 24 stored, 3 warned (29, 34, 35) */
    assert_counts(c, 35, 24, 3, 0, 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 27);
    snprintf(sql, sizeof(sql), "SELECT offset = %zu FROM sources", f->line_start[35]);
    assert_int_equal(scalar(f, sql), 1);
    assert_int_equal(scalar(f, "SELECT lines FROM sources"), 35);

    assert_int_equal(sqlite3_exec(f->st->db, "DROP TRIGGER temp.full", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_counts(load(f, SENTINEL, &small), 1, 0, 1, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    assert_int_equal(scalar(f, "SELECT lines FROM sources"), 36);
}

static void test_input_errors(void **state)
{
    fixture_t *f = *state;
    /* the gzip magic, the method and a flag byte: the file ends inside the header */
    static const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00};
    load_counts_t c = {0};
    char err[STORE_ERR_LEN], path[160], want[512];

    path_in(f, "missing.log", path, sizeof(path));
    assert_int_equal(load_source(f->st, path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(load_source(f->st, f->dir, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: is a folder, not a log file", f->dir);
    assert_string_equal(err, want);
    path_in(f, "x.gz", path, sizeof(path));
    write_file(path, "wb", gz, sizeof(gz));
    assert_int_equal(load_source(f->st, path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s: gzip data damaged after 0 decompressed bytes (lines before it are loaded): "
             "truncated: the file ends inside a gzip member (compressed byte 5)",
             path);
    assert_string_equal(err, want);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 0);
    /* an empty file: nothing read, no source recorded */
    path_in(f, "empty.log", path, sizeof(path));
    write_file(path, "wb", "", 0);
    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 0);
    assert_counts(c, 0, 0, 0, 0, 0);
}

/*
 * The spool watcher's loads (regular_only): a FIFO found where a listed file was is refused
 * at once. Without O_NONBLOCK, open() waits for a writer that never comes, and the alarm
 * ends the test instead of letting it hang.
 */
static void test_regular_only_fifo(void **state)
{
    fixture_t *f = *state;
    load_opts_t opts = {.regular_only = 1};
    load_counts_t c = {0};
    char err[STORE_ERR_LEN], path[160], want[512];
    static const char line[] =
        "1700000000.125 42 192.0.2.7 TCP_MISS/200 5120 GET "
        "http://www.example.com/a - DIRECT/www.example.com text/html "
        "DEFAULT_CASE_12-DefaultGroup-DefaultGroup-NONE-NONE-NONE-"
        "DefaultGroup-NONE <-,-,-,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,"
        "\"-\",\"-\",-,-,-,-,\"-\",\"-\",\"-\",\"-\",\"-\",\"-\",\"-\",-,-,-,"
        "\"-\",\"-\",-,\"-\",-,-,\"-\",\"-\",-,-,\"-\",->\n";
    int fatal = 0;

    opts.fatal = &fatal;
    path_in(f, "spool.log", path, sizeof(path));
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(5);
    assert_int_equal(load_source(f->st, path, &opts, &c, err, sizeof(err)), -1);
    alarm(0);
    snprintf(want, sizeof(want), "%s: not a regular file (a FIFO, socket or device): not read",
             path);
    assert_string_equal(err, want);
    assert_int_equal(fatal, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 0);
    assert_counts(c, 0, 0, 0, 0, 0);
    /* the same name as a regular file again is read as usual */
    assert_int_equal(unlink(path), 0);
    write_file(path, "wb", line, sizeof(line) - 1);
    assert_counts(load(f, path, &opts), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 1);
}

/* A read-only database: the load stops with SQLite's reason and the file's name. */
static void test_readonly_database(void **state)
{
    fixture_t *f = *state;
    load_counts_t c = {0};
    char err[STORE_ERR_LEN];
    store_t *ro = NULL;

    assert_int_equal(store_open(&ro, f->db, STORE_READ_ONLY, err, sizeof(err)), 0);
    assert_int_equal(load_source(ro, SENTINEL, NULL, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, SENTINEL));
    assert_non_null(strstr(err, f->db));
    assert_non_null(strstr(err, "readonly database"));
    assert_counts(c, 0, 0, 0, 0, 0);
    store_close(ro);
}

/* Redirects stderr (where log_msg writes) to a file until capture_end. */
static int capture_begin(fixture_t *f)
{
    char path[160];
    int saved = dup(STDERR_FILENO), fd;

    path_in(f, "stderr.txt", path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    return saved;
}

/* Restores stderr and returns what was written to it (up to `len` - 1 bytes). */
static char *capture_end(fixture_t *f, int saved, char *out, size_t len)
{
    char path[160];
    FILE *fp;
    size_t n;

    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    path_in(f, "stderr.txt", path, sizeof(path));
    assert_non_null(fp = fopen(path, "rb"));
    n = fread(out, 1, len - 1, fp);
    fclose(fp);
    out[n] = '\0';
    return out;
}

/*
 * A last line without a newline in a file written just now is left for the next run (and
 * the operator told so); once the file has been idle for two minutes it is read.
 */
static void test_held_last_line(void **state)
{
    fixture_t *f = *state;
    char path[160], log[1024], want[512];
    size_t first = strlen(clean_line) + 1;
    load_counts_t c;
    int saved;

    path_in(f, "live.log", path, sizeof(path));
    write_file(path, "wb", clean_line, strlen(clean_line));
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", syslog_line, strlen(syslog_line));
    saved = capture_begin(f);
    c = load(f, path, NULL);
    capture_end(f, saved, log, sizeof(log));
    assert_counts(c, 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)first);
    snprintf(want, sizeof(want),
             "INFO  [ingest] %s: last line (%zu bytes at byte %zu) has no newline yet and the "
             "file was modified 0 s ago (less than 60 s): left for the next run\n",
             path, strlen(syslog_line), first);
    if (strstr(log, want) == NULL)
        fail_msg("stderr was \"%s\"", log);
    /* still nothing new: the same line held again, nothing counted */
    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);

    set_mtime_ago(path, 120);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"),
                     (int64_t)(first + strlen(syslog_line)));
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 2);
    /* a modification time ahead of the clock is no proof of idleness either */
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", clean_line, strlen(clean_line));
    set_mtime_ago(path, -3600);
    /* the newline closes the line already read: an empty line, skipped */
    assert_counts(load(f, path, NULL), 1, 0, 0, 0, 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 2);
}

/*
 * F6 of the breaker report: the appliance writes a line in two pieces between two runs.
 * The transaction is stored once, whole; nothing is rejected or skipped.
 */
static void test_line_split_across_growth(void **state)
{
    fixture_t *f = *state;
    char path[160], sql[160];
    size_t first = strlen(clean_line) + 1;

    path_in(f, "split.log", path, sizeof(path));
    write_file(path, "wb", clean_line, strlen(clean_line));
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", syslog_line, 60);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    write_file(path, "ab", syslog_line + 60, strlen(syslog_line) - 60);
    write_file(path, "ab", "\n", 1);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects"), 0);
    snprintf(sql, sizeof(sql), "SELECT length(raw) FROM transactions WHERE offset = %zu", first);
    assert_int_equal(scalar(f, sql), (int64_t)strlen(syslog_line));
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE a.name = 'wsa02'"),
                     1);
    assert_int_equal(scalar(f, "SELECT lines FROM sources"), 2);
}

/*
 * A copy taken while a line was written, idle for two minutes, shorter than the file the
 * source was read from but past its offset: the cut line is not read from the copy.
 */
static void test_cut_copy_not_read(void **state)
{
    fixture_t *f = *state;
    char live[160], copy[160];
    size_t at = f->line_start[20];

    /* lines 1-20 and 100 bytes of line 21, written just now: the 100 bytes are held */
    path_in(f, "live.log", live, sizeof(live));
    write_file(live, "wb", f->sentinel, at + 100);
    assert_counts(load(f, live, NULL), 20, 12, 0, 0, 8);
    /* a copy with 50 bytes of line 21, idle: the source was seen with 100 */
    path_in(f, "copy.log", copy, sizeof(copy));
    write_file(copy, "wb", f->sentinel, at + 50);
    set_mtime_ago(copy, 120);
    assert_counts(load(f, copy, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects"), 0);
    /* the live file finished: lines 21-28, 30-33 stored, 29, 34-36 warned */
    write_file(live, "wb", f->sentinel, SENTINEL_SIZE);
    assert_counts(load(f, live, NULL), 16, 12, 4, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
}

/*
 * F5 (a) of the breaker report: an early copy loaded again after the grown file adds
 * nothing, renamed or not, long (lines 1-12, 4368 bytes) or short (lines 1-3, 105 bytes).
 */
static void test_early_copy_after_growth(void **state)
{
    fixture_t *f = *state;
    char snap[160], tiny[160], moved[160];

    path_in(f, "snap.log", snap, sizeof(snap));
    write_file(snap, "wb", f->sentinel, f->line_start[12]);
    path_in(f, "tiny.log", tiny, sizeof(tiny));
    write_file(tiny, "wb", f->sentinel, f->line_start[3]);
    /* 1-6, 8, 9 skipped; 7, 10, 11, 12 stored */
    assert_counts(load(f, snap, NULL), 12, 4, 0, 0, 8);
    /* the grown file: 13-28, 30-33 stored, 29, 34-36 warned */
    assert_counts(load(f, SENTINEL, NULL), 24, 20, 4, 0, 0);
    assert_counts(load(f, snap, NULL), 0, 0, 0, 0, 0);
    assert_counts(load(f, tiny, NULL), 0, 0, 0, 0, 0);
    path_in(f, "moved.log", moved, sizeof(moved));
    assert_int_equal(rename(snap, moved), 0);
    assert_counts(load(f, moved, NULL), 0, 0, 0, 0, 0);
    assert_counts(load(f, SENTINEL, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT lines FROM sources"), 36);
}

/* Writes lines 1-19 of the sample, then the given lines, each with its newline. */
static void write_lines_1_19_and(fixture_t *f, const char *path, const char *const *more)
{
    write_file(path, "wb", f->sentinel, f->line_start[19]);
    for (; *more != NULL; more++) {
        write_file(path, "ab", *more, strlen(*more));
        write_file(path, "ab", "\n", 1);
    }
}

/*
 * F5 (b): two files with the same first 1024 bytes (lines 1-19 are 9443 bytes)
 * that differ from line 20 on are two sources, and each is read whole, whether the second
 * is longer than the first one's offset (checked by the fingerprint) or shorter (checked
 * against the line stored for the first one at that place).
 */
static void test_same_head_two_files(void **state)
{
    fixture_t *f = *state;
    const char *const two[] = {syslog_line, clean_line, NULL}, *const one[] = {clean_line, NULL};
    char a[160], b[160], c[160];

    path_in(f, "a.log", a, sizeof(a));
    write_file(a, "wb", f->sentinel, f->line_start[20]);
    path_in(f, "b.log", b, sizeof(b));
    write_lines_1_19_and(f, b, two);
    assert_true(f->line_start[19] + strlen(syslog_line) + 1 + strlen(clean_line) + 1 >
                f->line_start[20]);
    /* lines 1-20: 1-6, 8, 9 skipped, 7, 10 and 11-20 stored */
    assert_counts(load(f, a, NULL), 20, 12, 0, 0, 8);
    /* lines 1-19 as in a.log (11 stored), then two lines of its own */
    assert_counts(load(f, b, NULL), 21, 13, 0, 0, 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 2);

    /* c.log: shorter than the whole sample, whose line 20 it does not have, and not b.log */
    assert_counts(load(f, SENTINEL, NULL), 16, 12, 4, 0, 0);
    path_in(f, "c.log", c, sizeof(c));
    write_lines_1_19_and(f, c, one);
    assert_true(f->line_start[19] + strlen(clean_line) + 1 < SENTINEL_SIZE);
    assert_counts(load(f, c, NULL), 20, 12, 0, 0, 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 3);
    /* 28 of the sample, 13 of b.log, 12 of c.log (warned lines are stored too) */
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28 + 13 + 12);
    assert_counts(load(f, a, NULL), 0, 0, 0, 0, 0);
    assert_counts(load(f, b, NULL), 0, 0, 0, 0, 0);
    assert_counts(load(f, c, NULL), 0, 0, 0, 0, 0);
}

/*
 * A file that matches the sample's head and is longer than its offset, but whose last
 * 1024 bytes before that offset differ (line 36 replaced by two clean lines), is another
 * source, read whole.
 */
static void test_differs_before_offset(void **state)
{
    fixture_t *f = *state;
    char path[160];

    assert_counts(load(f, SENTINEL, NULL), 36, 24, 4, 0, 8);
    path_in(f, "edited.log", path, sizeof(path));
    write_file(path, "wb", f->sentinel, f->line_start[35]);
    write_file(path, "ab", clean_line, strlen(clean_line));
    write_file(path, "ab", "\n", 1);
    write_file(path, "ab", clean_line, strlen(clean_line));
    write_file(path, "ab", "\n", 1);
    assert_true(f->line_start[35] + 2 * (strlen(clean_line) + 1) > SENTINEL_SIZE);
    /* lines 1-35 (24 stored, 3 warned, 8 skipped) and two clean lines */
    assert_counts(load(f, path, NULL), 37, 26, 3, 0, 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28 + 29);
}

/*
 * The sample's 36 lines: 8 that are not access records and 28 that are (stored, with or
 * without a parse warning as the parser judges them), none rejected.
 */
static void assert_sample_counts(load_counts_t c)
{
    assert_int_equal(c.read, 36);
    assert_int_equal(c.stored + c.warned, 28);
    assert_int_equal(c.rejected, 0);
    assert_int_equal(c.skipped, 8);
}

/* One gzip member holding `len` bytes of `data` (gzip's wrapper, zlib's deflate). */
static unsigned char *gz_member(const void *data, size_t len, size_t *outlen)
{
    z_stream z;
    unsigned char *out;
    size_t cap;

    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    cap = deflateBound(&z, (uLong)len);
    assert_non_null(out = malloc(cap));
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Writes `data` gzip-compressed as one member to `path` (mode "wb", or "ab" for another). */
static size_t write_gz(const char *path, const char *mode, const void *data, size_t len)
{
    size_t n;
    unsigned char *gz = gz_member(data, len, &n);

    write_file(path, mode, gz, n);
    free(gz);
    return n;
}

/*
 * A gzip file is its decompressed bytes: the sample gives the same counts as the plain
 * file, and its head, size, offset and fingerprint are those of the plain file, so the
 * plain file loaded after it adds nothing, and so does the gzip file again.
 */
static void test_gzip_file(void **state)
{
    fixture_t *f = *state;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char path[160];

    path_in(f, "aclog.gz", path, sizeof(path));
    write_gz(path, "wb", f->sentinel, SENTINEL_SIZE);
    assert_sample_counts(load(f, path, NULL));
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), SENTINEL_SIZE);
    assert_int_equal(scalar(f, "SELECT size FROM sources"), SENTINEL_SIZE);
    assert_int_equal(blob_equals(f, "SELECT head FROM sources", f->sentinel, 1024), 1);
    SHA256((const unsigned char *)f->sentinel + SENTINEL_SIZE - 1024, 1024, md);
    assert_int_equal(blob_equals(f, "SELECT tail_sha FROM sources", md, sizeof(md)), 1);
    /* line 7, the first access record, is at its offset in the decompressed bytes */
    assert_int_equal(scalar(f, "SELECT min(offset) FROM transactions"), (int64_t)f->line_start[6]);

    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);
    assert_counts(load(f, SENTINEL, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);
}

/* The other way round: a gzip copy of a plain log already loaded adds nothing. */
static void test_gzip_copy_of_plain(void **state)
{
    fixture_t *f = *state;
    char path[160];

    assert_sample_counts(load(f, SENTINEL, NULL));
    path_in(f, "rotated.gz", path, sizeof(path));
    write_gz(path, "wb", f->sentinel, SENTINEL_SIZE);
    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 28);

    /* a gzip copy of the first 20 lines is an early copy: nothing read either */
    path_in(f, "early.gz", path, sizeof(path));
    write_gz(path, "wb", f->sentinel, f->line_start[20]);
    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
}

/*
 * `cat a.gz b.gz`: lines 1-20 in one member and 21-36 in another are read as one stream
 * (line 21 at its offset in the whole); the plain file then adds nothing.
 */
static void test_gzip_members(void **state)
{
    fixture_t *f = *state;
    char path[160], sql[160];

    path_in(f, "two.gz", path, sizeof(path));
    write_gz(path, "wb", f->sentinel, f->line_start[20]);
    write_gz(path, "ab", f->sentinel + f->line_start[20], SENTINEL_SIZE - f->line_start[20]);
    assert_sample_counts(load(f, path, NULL));
    /* lines 21-36 are all access records: 16 of them from the second member */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM transactions WHERE offset >= %zu",
             f->line_start[20]);
    assert_int_equal(scalar(f, sql), 16);
    assert_counts(load(f, SENTINEL, NULL), 0, 0, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
}

/*
 * Zero bytes after the last member (padding some writers add) end the stream; anything
 * else after them is damage, reported once the verified members' lines are loaded.
 */
static void test_gzip_padding(void **state)
{
    fixture_t *f = *state;
    static const char zeros[16] = {0};
    size_t len = strlen(syslog_line) + 1;
    char *line = malloc(len + 1), path[160], err[STORE_ERR_LEN];
    load_counts_t c = {0};

    assert_non_null(line);
    path_in(f, "padded.gz", path, sizeof(path));
    write_gz(path, "wb", clean_line, strlen(clean_line));
    write_file(path, "ab", zeros, sizeof(zeros));
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)strlen(clean_line));

    path_in(f, "junk.gz", path, sizeof(path));
    snprintf(line, len + 1, "%s\n", syslog_line);
    write_gz(path, "wb", line, len);
    write_file(path, "ab", zeros, sizeof(zeros));
    write_file(path, "ab", "junk", 4);
    assert_int_equal(load_source(f->st, path, NULL, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "data after the zero bytes that follow the last gzip member"));
    assert_counts(c, 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 2);
    free(line);
}

/*
 * A whole gzip file is finished whatever its age: its last line without a newline is read
 * at once, where a plain file written just now would hold it back.
 */
static void test_gzip_last_line(void **state)
{
    fixture_t *f = *state;
    char path[160];

    path_in(f, "fresh.gz", path, sizeof(path));
    write_gz(path, "wb", clean_line, strlen(clean_line));
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)strlen(clean_line));
}

/* Two lines in a first member, a third without a newline in a second: the file's bytes. */
static unsigned char *three_lines_gz(size_t *first_len, size_t *total)
{
    size_t a_len = strlen(clean_line) + 1 + strlen(syslog_line) + 1, b_len;
    char *a = malloc(a_len + 1);
    unsigned char *ga, *gb, *out;

    assert_non_null(a);
    snprintf(a, a_len + 1, "%s\n%s\n", clean_line, syslog_line);
    ga = gz_member(a, a_len, first_len);
    gb = gz_member(clean_line, strlen(clean_line), &b_len);
    assert_non_null(out = malloc(*first_len + b_len));
    memcpy(out, ga, *first_len);
    memcpy(out + *first_len, gb, b_len);
    *total = *first_len + b_len;
    free(a);
    free(ga);
    free(gb);
    return out;
}

/*
 * A gzip file cut inside its second member: the first member's two lines are loaded, the
 * part of the third line decompressed before the cut is not, and the error names the file
 * and the cause. The whole file, loaded next, continues with the third line.
 */
static void test_gzip_truncated(void **state)
{
    fixture_t *f = *state;
    size_t first, total, two = strlen(clean_line) + 1 + strlen(syslog_line) + 1;
    unsigned char *gz = three_lines_gz(&first, &total);
    load_counts_t c = {0};
    char err[STORE_ERR_LEN], path[160];

    path_in(f, "cut.gz", path, sizeof(path));
    /* the second member's 10-byte header and 10 bytes of its deflate data */
    write_file(path, "wb", gz, first + 20);
    assert_int_equal(load_source(f->st, path, NULL, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "truncated: the file ends inside a gzip member"));
    assert_counts(c, 2, 2, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)two);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 2);

    write_file(path, "wb", gz, total);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)(two + strlen(clean_line)));
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 3);
    free(gz);
}

/*
 * A corrupt second member (its CRC changed): zlib finds that only at the member's end,
 * after handing out its bytes, so nothing of that member is trusted. The first member's
 * lines are loaded; the repaired file continues with the third line.
 */
static void test_gzip_corrupt(void **state)
{
    fixture_t *f = *state;
    size_t first, total, two = strlen(clean_line) + 1 + strlen(syslog_line) + 1;
    unsigned char *gz = three_lines_gz(&first, &total);
    load_counts_t c = {0};
    char err[STORE_ERR_LEN], path[160];

    path_in(f, "bad.gz", path, sizeof(path));
    gz[total - 8] ^= 0xff; /* the first byte of the trailer's CRC-32 */
    write_file(path, "wb", gz, total);
    assert_int_equal(load_source(f->st, path, NULL, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "incorrect data check"));
    assert_counts(c, 2, 2, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT offset FROM sources"), (int64_t)two);

    gz[total - 8] ^= 0xff;
    write_file(path, "wb", gz, total);
    assert_counts(load(f, path, NULL), 1, 1, 0, 0, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 3);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    free(gz);
}

/*
 * A W3C file resumed part-way: the run reads again the #Fields: line in force at its
 * offset (the second one, which changed the column order), so the appended lines are read
 * by that map and not taken for native lines.
 */
static void test_w3c_resumed(void **state)
{
    static const char first[] = "#Version: 1.0\n"
                                "#Fields: timestamp c-ip cs-url\n"
                                "1700000000.000 192.0.2.1 http://a.example.com/\n"
                                "#Fields: c-ip timestamp cs-url x-foo\n"
                                "192.0.2.2 1700000001.000 http://b.example.com/ bar\n";
    static const char more[] = "192.0.2.3 1700000002.000 http://c.example.com/ baz\n"
                               "#Remark: nothing to keep\n";
    fixture_t *f = *state;
    char path[160];

    path_in(f, "aclog.w3c", path, sizeof(path));
    write_file(path, "wb", first, sizeof(first) - 1);
    /* three directives skipped, two records */
    assert_counts(load(f, path, NULL), 5, 2, 0, 0, 3);
    write_file(path, "ab", more, sizeof(more) - 1);
    assert_counts(load(f, path, NULL), 2, 1, 0, 0, 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.3' "
                               "AND time_ms = 1700000002000 AND url = 'http://c.example.com/' "
                               "AND custom_post = 'x-foo=baz' AND format = 'w3c'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.2' "
                               "AND time_ms = 1700000001000 AND custom_post = 'x-foo=bar'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.1' "
                               "AND time_ms = 1700000000000 AND custom_post IS NULL"),
                     1);
    assert_counts(load(f, path, NULL), 0, 0, 0, 0, 0);
}

/*
 * The live W3C file was loaded, then rotated and compressed with two more lines: the gzip
 * file continues the source, and the #Fields: line in force is read again from the
 * decompressed bytes, so the new record is read by that map.
 */
static void test_gzip_w3c_resumed(void **state)
{
    static const char text[] = "#Version: 1.0\n"
                               "#Fields: c-ip timestamp cs-url x-foo\n"
                               "192.0.2.2 1700000001.000 http://b.example.com/ bar\n"
                               "192.0.2.3 1700000002.000 http://c.example.com/ baz\n"
                               "#Remark: nothing to keep\n";
    /* the first three lines: what the live file held */
    size_t live = strlen("#Version: 1.0\n#Fields: c-ip timestamp cs-url x-foo\n"
                         "192.0.2.2 1700000001.000 http://b.example.com/ bar\n");
    fixture_t *f = *state;
    char path[160], gz[160];

    path_in(f, "aclog.w3c", path, sizeof(path));
    write_file(path, "wb", text, live);
    assert_counts(load(f, path, NULL), 3, 1, 0, 0, 2);
    path_in(f, "aclog.w3c.gz", gz, sizeof(gz));
    write_gz(gz, "wb", text, sizeof(text) - 1);
    assert_counts(load(f, gz, NULL), 2, 1, 0, 0, 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.3' "
                               "AND time_ms = 1700000002000 AND custom_post = 'x-foo=baz'"),
                     1);
}

/* --format w3c: a stream that starts mid-file; its data before a #Fields: line is rejected. */
static void test_w3c_forced(void **state)
{
    static const char text[] = "1700000003.000 192.0.2.4\n"
                               "#Fields: timestamp c-ip\n"
                               "1700000004.000 192.0.2.5\n";
    load_opts_t w3c = {.format = INGEST_FORMAT_W3C};
    fixture_t *f = *state;
    char path[160];

    path_in(f, "mid.w3c", path, sizeof(path));
    write_file(path, "wb", text, sizeof(text) - 1);
    assert_counts(load(f, path, &w3c), 3, 1, 0, 1, 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects WHERE reason = "
                               "'W3C data line before any #Fields: line' AND offset = 0"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.5' "
                               "AND time_ms = 1700000004000"),
                     1);
}

/*
 * The command line: a cut gzip file loads its sound lines and exits 1 naming the file and
 * the cause; the whole file then exits 0 with the one line left.
 */
static void test_gzip_command(void **state)
{
    fixture_t *f = *state;
    size_t first, total;
    unsigned char *gz = three_lines_gz(&first, &total);
    char path[160], db[160], cmd[512], out[2048], want[400];
    FILE *p;
    size_t n;
    int st;

    path_in(f, "cli.gz", path, sizeof(path));
    path_in(f, "cli.db", db, sizeof(db));
    write_file(path, "wb", gz, first + 20);
    snprintf(cmd, sizeof(cmd), "'%s' ingest --db '%s' '%s' 2>&1", WSA_RELAY_BIN, db, path);
    assert_non_null(p = popen(cmd, "r"));
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    st = pclose(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(out, "read=2 stored=2 warned=0 rejected=0 skipped=0\n"));
    snprintf(want, sizeof(want), "wsa-relay ingest: %s: gzip data damaged after ", path);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "truncated: the file ends inside a gzip member"));

    write_file(path, "wb", gz, total);
    assert_non_null(p = popen(cmd, "r"));
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    st = pclose(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(out, "read=1 stored=1 warned=0 rejected=0 skipped=0\n");
    free(gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sentinel_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identical_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_and_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grown_long_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grown_short_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_line_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appliances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appliance_control_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forced_appliance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_mid_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regular_only_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_last_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_split_across_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_copy_not_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_copy_after_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_head_two_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_differs_before_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_w3c_resumed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_w3c_resumed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_w3c_forced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_copy_of_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_last_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_padding, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
