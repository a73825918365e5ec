/*
 * test_faults.c - ingest when the disk fills up, the database turns read-only, or another
 * writer holds the lock, and the WAL while a reader keeps reading: each is a clear error
 * that loses nothing already read, and a later run ends with every line exactly once.
 *
 * The disk faults are real mounts: this process moves into a mount namespace of its own
 * (unshare(CLONE_NEWNS), every mount private), so a small tmpfs, its remounts and its
 * read-only turns are seen by the runs it starts and by nobody else, and vanish with it.
 * Where namespaces are not available those cases are skipped with a message.
 *
 * The lines come from gen_lines below: access records with varied clients, hosts and URLs,
 * except that every REJECT_EVERY-th line cannot be parsed (a reject) and every other
 * SKIP_EVERY-th is blank (skipped), so that the counts of each kind before any offset
 * follow from the file alone. The database is read through the SQLite library the binary uses,
 * loaded at run time as test_ops does (the integration tests link only the harness).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

#define REJECT_LINE  "1700000000.000 12 10.0.0.1 TCP_MISS/200"
#define REJECT_EVERY 1000
#define SKIP_EVERY   1500

/* The busy timeout of service/store.c, and the settings that bound the WAL there. */
#define BUSY_TIMEOUT_S       5
#define JOURNAL_SIZE_LIMIT   (64LL << 20)
#define WAL_CHECKPOINT_PAGES 10000
#define WAL_FRAME            (4096 + 24) /* a page and its frame header */

/* 1 when this process has a mount namespace of its own; else why not. */
static int ns_ready;
static char ns_why[256];

/* ---- the database, through libsqlite3 loaded at run time ---- */

typedef struct sq {
    void *lib;
    int (*open)(const char *, void **);
    int (*exec)(void *, const char *, int (*)(void *, int, char **, char **), void *, char **);
    int (*busy_timeout)(void *, int);
    const char *(*errmsg)(void *);
    int (*close)(void *);
} sq_t;

static sq_t sq;

static void sq_load(void)
{
    if (sq.lib != NULL)
        return;
    sq.lib = dlopen("libsqlite3.so.0", RTLD_NOW);
    if (sq.lib == NULL)
        fail_msg("cannot load libsqlite3.so.0: %s", dlerror());
    *(void **)&sq.open = dlsym(sq.lib, "sqlite3_open");
    *(void **)&sq.exec = dlsym(sq.lib, "sqlite3_exec");
    *(void **)&sq.busy_timeout = dlsym(sq.lib, "sqlite3_busy_timeout");
    *(void **)&sq.errmsg = dlsym(sq.lib, "sqlite3_errmsg");
    *(void **)&sq.close = dlsym(sq.lib, "sqlite3_close");
    assert_true(sq.open != NULL && sq.exec != NULL && sq.busy_timeout != NULL &&
                sq.errmsg != NULL && sq.close != NULL);
}

static void *sq_connect(const char *db)
{
    void *conn = NULL;

    sq_load();
    if (sq.open(db, &conn) != 0)
        fail_msg("cannot open %s: %s", db, conn != NULL ? sq.errmsg(conn) : "out of memory");
    sq.busy_timeout(conn, 10000);
    return conn;
}

/* Runs `sql` on `conn`; 0 or SQLite's code. */
static int sq_try(void *conn, const char *sql)
{
    return sq.exec(conn, sql, NULL, NULL, NULL);
}

static void sq_do(void *conn, const char *sql)
{
    if (sq_try(conn, sql) != 0)
        fail_msg("%s: %s", sql, sq.errmsg(conn));
}

static int on_text(void *ctx, int n, char **values, char **names)
{
    snprintf(ctx, 256, "%s", n > 0 && values[0] != NULL ? values[0] : "NULL");
    return 0;
}

/* The first column of the last row of `sql` as text ("NULL" for a NULL, "" for no row). */
static void sq_text(void *conn, const char *sql, char out[256])
{
    out[0] = '\0';
    if (sq.exec(conn, sql, on_text, out, NULL) != 0)
        fail_msg("%s: %s", sql, sq.errmsg(conn));
}

static int64_t sq_int(void *conn, const char *sql)
{
    char text[256];

    sq_text(conn, sql, text);
    return strtoll(text, NULL, 10);
}

/* ---- the lines ---- */

typedef enum kind { KIND_ACCESS, KIND_REJECT, KIND_SKIP } kind_t;

static kind_t kind_of(int64_t i)
{
    if (i % REJECT_EVERY == REJECT_EVERY - 1)
        return KIND_REJECT;
    if (i % SKIP_EVERY == SKIP_EVERY - 1)
        return KIND_SKIP;
    return KIND_ACCESS;
}

/* Line i (without its newline) into buf; its length. */
static int line_text(int64_t i, char *buf, size_t len)
{
    int64_t h = i * 7919 % 5003;

    switch (kind_of(i)) {
    case KIND_REJECT:
        return snprintf(buf, len, "%s", REJECT_LINE);
    case KIND_SKIP:
        buf[0] = '\0';
        return 0;
    case KIND_ACCESS:
    default:
        break;
    }
    return snprintf(buf, len,
                    "%" PRId64 ".%03d %d 10.%d.%d.%d TCP_MISS/200 %d GET "
                    "http://h%" PRId64 ".site%" PRId64 ".example/p/%" PRId64 " - DIRECT/h%" PRId64
                    ".site%" PRId64 ".example text/html "
                    "DEFAULT_CASE_12-DefaultGroup-DefaultGroup-NONE-NONE-NONE-DefaultGroup-NONE "
                    "<\"IW_comp\",6.9,1,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,"
                    "\"IW_comp\",-,\"-\",\"Computers and Internet\",\"-\",\"Unknown\","
                    "\"Unknown\",\"-\",\"-\",12.50,0,-,\"-\",\"-\",-,\"-\",-,-,\"-\",\"-\",-,-,"
                    "\"-\",->",
                    1700000000 + i / 10, (int)(i % 1000), (int)(i % 977), (int)(i % 7),
                    (int)(i % 251), (int)(i % 13), (int)(i * 31 % 100000), h, h % 401, i, h,
                    h % 401);
}

/* Appends lines first .. first + n - 1 to `path` (created when missing). */
static void gen_lines(const char *path, int64_t first, int64_t n)
{
    FILE *f = fopen(path, "ab");
    char buf[1024];

    assert_non_null(f);
    for (int64_t i = first; i < first + n; i++) {
        int len = line_text(i, buf, sizeof(buf));
        buf[len] = '\n';
        assert_int_equal(fwrite(buf, 1, (size_t)len + 1, f), (size_t)len + 1);
    }
    assert_int_equal(fclose(f), 0);
}

/* What a database must hold for the lines of a file before one offset. */
typedef struct expect {
    int64_t lines, access, rejects, skipped;
    int64_t access_offsets, reject_offsets; /* sums of their byte offsets */
} expect_t;

/*
 * The counts of the generated file's lines that end before `offset`, which must be a
 * line boundary: a committed offset never falls inside a line.
 */
static expect_t expect_before(int64_t offset)
{
    expect_t e = {0};
    char buf[1024];
    int64_t at = 0;

    for (int64_t i = 0; at < offset; i++) {
        int len = line_text(i, buf, sizeof(buf));

        e.lines++;
        switch (kind_of(i)) {
        case KIND_ACCESS:
            e.access++;
            e.access_offsets += at;
            break;
        case KIND_REJECT:
            e.rejects++;
            e.reject_offsets += at;
            break;
        case KIND_SKIP:
            e.skipped++;
            break;
        }
        at += len + 1;
    }
    if (at != offset)
        fail_msg("offset %" PRId64 " is not at the end of a line (the line ends at %" PRId64 ")",
                 offset, at);
    return e;
}

static int64_t file_size(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return -1;
    return (int64_t)sb.st_size;
}

/*
 * The database holds exactly the lines before its one source's offset, each once, and is
 * whole; returns that offset.
 */
static int64_t check_db(const char *db)
{
    void *conn = sq_connect(db);
    char text[256];
    int64_t offset;
    expect_t e;

    sq_text(conn, "PRAGMA integrity_check", text);
    assert_string_equal(text, "ok");
    assert_int_equal(sq_int(conn, "SELECT count(*) FROM sources"), 1);
    offset = sq_int(conn, "SELECT offset FROM sources");
    e = expect_before(offset);
    assert_int_equal(sq_int(conn, "SELECT lines FROM sources"), e.lines);
    assert_int_equal(sq_int(conn, "SELECT rejects FROM sources"), e.rejects);
    assert_int_equal(sq_int(conn, "SELECT count(*) FROM transactions"), e.access);
    assert_int_equal(sq_int(conn, "SELECT count(*) FROM rejects"), e.rejects);
    /* the right lines: their offsets sum as the file's do, none in both tables */
    assert_int_equal(sq_int(conn, "SELECT coalesce(sum(offset), 0) FROM transactions"),
                     e.access_offsets);
    assert_int_equal(sq_int(conn, "SELECT coalesce(sum(offset), 0) FROM rejects"),
                     e.reject_offsets);
    assert_int_equal(sq_int(conn, "SELECT count(*) FROM transactions t JOIN rejects r"
                                  " ON r.source_id = t.source_id AND r.offset = t.offset"),
                     0);
    sq.close(conn);
    return offset;
}

/* ---- running ingest ---- */

/* ---- the fixture: a folder, maybe a mount, and the children still to be reaped ---- */

#define MAX_KIDS 4

typedef struct fx {
    h_server_t s;
    char fs[320]; /* the tmpfs mount point, <dir>/fs */
    int mounted;
    pid_t kids[MAX_KIDS]; /* 0 once reaped */
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    h_setup(&f->s);
    snprintf(f->fs, sizeof(f->fs), "%s/fs", f->s.dir);
    *state = f;
    return 0;
}

static int reap(pid_t pid)
{
    int status = 0;

    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* After a failure too: the children this test started go, then the mount, then the folder. */
static int teardown(void **state)
{
    fx_t *f = *state;

    for (int i = 0; i < MAX_KIDS; i++) {
        if (f->kids[i] > 0) {
            kill(f->kids[i], SIGKILL);
            reap(f->kids[i]);
        }
    }
    if (f->mounted)
        umount2(f->fs, MNT_DETACH);
    h_teardown(&f->s);
    free(f);
    return 0;
}

static void keep_kid(fx_t *f, pid_t pid)
{
    for (int i = 0; i < MAX_KIDS; i++) {
        if (f->kids[i] == 0) {
            f->kids[i] = pid;
            return;
        }
    }
    fail_msg("more than %d children", MAX_KIDS);
}

/* A child kept with keep_kid has been reaped. */
static void forget_kid(fx_t *f, pid_t pid)
{
    for (int i = 0; i < MAX_KIDS; i++) {
        if (f->kids[i] == pid)
            f->kids[i] = 0;
    }
}

/* Reaps a child kept with keep_kid; its exit status. */
static int reap_kid(fx_t *f, pid_t pid)
{
    forget_kid(f, pid);
    return reap(pid);
}

/* ---- running ingest ---- */

typedef struct run {
    int rc;
    int counted; /* it printed its counts (it does once the database is open) */
    int64_t read, stored, warned, rejected, skipped;
    double seconds;
    char out[4096]; /* its stdout and stderr */
} run_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void parse_counts(run_t *r)
{
    const char *counts = strstr(r->out, "read=");

    r->counted =
        counts != NULL && sscanf(counts,
                                 "read=%" SCNd64 " stored=%" SCNd64 " warned=%" SCNd64
                                 " rejected=%" SCNd64 " skipped=%" SCNd64,
                                 &r->read, &r->stored, &r->warned, &r->rejected, &r->skipped) == 5;
}

/* `wsa-relay ingest --db db file`, waited for. */
static void ingest(const char *db, const char *file, run_t *r)
{
    const char *argv[] = {"ingest", "--db", db, file, NULL};
    double t0 = now_s();

    memset(r, 0, sizeof(*r));
    r->rc = h_run(argv, NULL, r->out, sizeof(r->out));
    r->seconds = now_s() - t0;
    parse_counts(r);
}

/* The run's counts are those of the lines between two offsets. */
static void assert_run_counts(const run_t *r, expect_t from, expect_t to)
{
    if (!r->counted)
        fail_msg("no counts from ingest (exit %d): %s", r->rc, r->out);
    assert_int_equal(r->read, to.lines - from.lines);
    assert_int_equal(r->stored, to.access - from.access);
    assert_int_equal(r->warned, 0);
    assert_int_equal(r->rejected, to.rejects - from.rejects);
    assert_int_equal(r->skipped, to.skipped - from.skipped);
}

static void assert_ok(const run_t *r)
{
    if (r->rc != 0)
        fail_msg("ingest: exit %d: %s", r->rc, r->out);
}

/* Asserts that the run's output contains `want`. */
static void assert_said(const run_t *r, const char *want)
{
    if (strstr(r->out, want) == NULL)
        fail_msg("expected \"%s\" in: %s", want, r->out);
}

/*
 * Forks `wsa-relay ingest --db db file` with its stdout and stderr into `out`; returns its
 * pid at once.
 */
static pid_t start_ingest(const char *db, const char *file, const char *out)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        execl(WSA_RELAY_BIN, WSA_RELAY_BIN, "ingest", "--db", db, file, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The whole file's bytes, malloc'd and NUL-terminated; its length in *len. */
static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A run started with start_ingest, given its exit status. */
static void ended_ingest(int rc, const char *out, run_t *r)
{
    size_t len;
    char *text = read_whole(out, &len);

    memset(r, 0, sizeof(*r));
    r->rc = rc;
    snprintf(r->out, sizeof(r->out), "%s", text);
    free(text);
    parse_counts(r);
}

/* An empty database with the schema: ingest of an empty file creates it and adds nothing. */
static void create_db(const char *dir, const char *db)
{
    char empty[400];
    run_t r;

    snprintf(empty, sizeof(empty), "%s/empty.log", dir);
    gen_lines(empty, 0, 0);
    ingest(db, empty, &r);
    assert_ok(&r);
    assert_int_equal(r.read, 0);
}

/* Writes lines first .. first + n - 1 to an open stream. */
static void put_lines(FILE *f, int64_t first, int64_t n)
{
    char buf[1024];

    for (int64_t i = first; i < first + n; i++) {
        int len = line_text(i, buf, sizeof(buf));
        buf[len] = '\n';
        assert_int_equal(fwrite(buf, 1, (size_t)len + 1, f), (size_t)len + 1);
    }
    assert_int_equal(fflush(f), 0);
}

/* The lines of the one source in `conn`'s database committed so far (0 before any). */
static int64_t committed_lines(void *conn)
{
    return sq_int(conn, "SELECT coalesce(max(lines), 0) FROM sources");
}

/*
 * Ingest's batch, in lines: the lines of its first commit while it reads a pipe that this
 * process fills a little at a time. Found once, from the binary itself, so that these tests
 * follow a change of it (it was 5,000 and is 20,000).
 */
static int64_t batch_lines(void)
{
    static int64_t found;
    char fifo[400], out[400];
    int64_t written = 0;
    h_server_t s;
    void *conn;
    pid_t pid;
    FILE *f;

    if (found > 0)
        return found;
    h_setup(&s);
    snprintf(fifo, sizeof(fifo), "%s/pipe", s.dir);
    snprintf(out, sizeof(out), "%s/ingest.out", s.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    create_db(s.dir, s.db);
    pid = start_ingest(s.db, fifo, out);
    f = fopen(fifo, "wb");
    assert_non_null(f);
    conn = sq_connect(s.db);
    while ((found = committed_lines(conn)) == 0) {
        if (written >= 1000000)
            fail_msg("no commit after %" PRId64 " lines", written);
        put_lines(f, written, 500);
        written += 500;
        usleep(1000);
    }
    sq.close(conn);
    fclose(f);
    assert_int_equal(reap(pid), 0);
    h_teardown(&s);
    return found;
}

/* ---- mounts ---- */

static int skip_without_namespace(void)
{
    if (ns_ready)
        return 0;
    print_message("skipped: no mount namespace of its own here (%s)\n", ns_why);
    return 1;
}

static void mount_tmpfs(fx_t *f, int64_t bytes)
{
    char opts[64];

    snprintf(opts, sizeof(opts), "size=%" PRId64 "k,mode=0755", (bytes + 1023) / 1024);
    if (mkdir(f->fs, 0755) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", f->fs, strerror(errno));
    if (mount("wsa-faults", f->fs, "tmpfs", 0, opts) != 0)
        fail_msg("mount tmpfs on %s: %s", f->fs, strerror(errno));
    f->mounted = 1;
}

static void remount(fx_t *f, unsigned long flags, const char *opts)
{
    if (mount("wsa-faults", f->fs, "tmpfs", MS_REMOUNT | flags, opts) != 0)
        fail_msg("remount %s (%s): %s", f->fs, opts, strerror(errno));
}

static void unmount(fx_t *f)
{
    if (umount2(f->fs, MNT_DETACH) != 0)
        fail_msg("umount %s: %s", f->fs, strerror(errno));
    f->mounted = 0;
}

/* Bytes in use on the mount. */
static int64_t used_bytes(const char *dir)
{
    struct statvfs v;

    assert_int_equal(statvfs(dir, &v), 0);
    return (int64_t)(v.f_blocks - v.f_bfree) * (int64_t)v.f_frsize;
}

/* ---- the cases ---- */

/*
 * The disk fills in the middle of a load: the batch that did not fit is gone, every batch
 * before it is whole and the source's offset is the end of its last line; with space again
 * the next run loads the rest, and the file, a renamed copy or a gzip copy adds nothing.
 */
static void test_full_disk(void **state)
{
    fx_t *f = *state;
    char db[400], log[320], part[320], copy[320], gz[340], cmd[1536], want[1024];
    int64_t batch, offset, two;
    expect_t none = {0}, at_fail, all;
    run_t r;

    if (skip_without_namespace())
        skip();
    batch = batch_lines();
    snprintf(db, sizeof(db), "%s/t.db", f->fs);
    snprintf(log, sizeof(log), "%s/access.log", f->s.dir);
    snprintf(part, sizeof(part), "%s/part.log", f->s.dir);
    gen_lines(log, 0, 6 * batch);
    gen_lines(part, 0, 2 * batch);

    /*
     * How much two batches take, on a mount of its own: a load from scratch writes its
     * batches to the WAL (no checkpoint before STORE_WAL_CHECKPOINT_PAGES) about as big as
     * the database they make, so twice that holds two or three batches and not six.
     */
    mount_tmpfs(f, 1LL << 30);
    ingest(db, part, &r);
    assert_ok(&r);
    two = used_bytes(f->fs);
    unmount(f);
    mount_tmpfs(f, 2 * two);

    ingest(db, log, &r);
    assert_int_equal(r.rc, 1);
    snprintf(want, sizeof(want), "wsa-relay ingest: %s: database: %s: ", log, db);
    assert_said(&r, want);
    assert_said(&r, ": no space left on the file system that holds the database\n");
    offset = check_db(db);
    at_fail = expect_before(offset);
    print_message("a mount of %" PRId64 " bytes held %" PRId64 " lines (batches of %" PRId64 ")\n",
                  2 * two, at_fail.lines, batch);
    /* whole batches only, at least one, and not the whole file */
    assert_true(offset > 0 && offset < file_size(log));
    assert_int_equal(at_fail.lines % batch, 0);
    assert_run_counts(&r, none, at_fail);

    remount(f, 0, "size=1g");
    ingest(db, log, &r);
    assert_ok(&r);
    assert_int_equal(check_db(db), file_size(log));
    all = expect_before(file_size(log));
    assert_int_equal(all.lines, 6 * batch);
    assert_run_counts(&r, at_fail, all);

    /* the same source again, under another name, and compressed: nothing new */
    snprintf(copy, sizeof(copy), "%s/renamed.log", f->s.dir);
    snprintf(gz, sizeof(gz), "%s.gz", copy);
    snprintf(cmd, sizeof(cmd), "cp %s %s && gzip -c %s > %s", log, copy, log, gz);
    assert_int_equal(system(cmd), 0);
    ingest(db, log, &r);
    assert_ok(&r);
    assert_run_counts(&r, all, all);
    ingest(db, copy, &r);
    assert_ok(&r);
    assert_run_counts(&r, all, all);
    ingest(db, gz, &r);
    assert_ok(&r);
    assert_run_counts(&r, all, all);
    assert_int_equal(check_db(db), file_size(log));
}

/*
 * A database whose file system turns read-only between two loads (a remount after an
 * error, a full volume that the kernel protects): the next load says so, naming the
 * database, and changes nothing; once writable again it loads exactly what is new.
 */
static void test_read_only_midlife(void **state)
{
    fx_t *f = *state;
    char db[400], log[320], want[1024];
    char *before, *after;
    size_t before_len, after_len;
    expect_t none = {0}, first, all;
    run_t r;

    if (skip_without_namespace())
        skip();
    snprintf(db, sizeof(db), "%s/t.db", f->fs);
    snprintf(log, sizeof(log), "%s/access.log", f->s.dir);
    mount_tmpfs(f, 256LL << 20);
    gen_lines(log, 0, 12000);
    ingest(db, log, &r);
    assert_ok(&r);
    first = expect_before(file_size(log));
    assert_run_counts(&r, none, first);
    assert_int_equal(check_db(db), file_size(log));

    gen_lines(log, 12000, 3000);
    before = read_whole(db, &before_len);
    remount(f, MS_RDONLY, "size=256m");
    ingest(db, log, &r);
    assert_int_equal(r.rc, 1);
    snprintf(want, sizeof(want),
             "wsa-relay ingest: %s: the folder %s is on a read-only file system; the tracking "
             "database needs a writable folder for its -wal and -shm files\n",
             db, f->fs);
    assert_string_equal(r.out, want);
    after = read_whole(db, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(before);
    free(after);

    remount(f, 0, "size=256m");
    ingest(db, log, &r);
    assert_ok(&r);
    assert_int_equal(check_db(db), file_size(log));
    all = expect_before(file_size(log));
    assert_int_equal(all.lines, 15000);
    assert_run_counts(&r, first, all);
}

/*
 * Forks a process that takes the write lock of `db` (BEGIN IMMEDIATE), writes one byte to
 * `ready` once it holds it, and commits once `release` becomes readable (release >= 0) or
 * `hold_ms` later. Returns its pid.
 */
static pid_t hold_lock(const char *db, int hold_ms, int ready, int release)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        void *conn = sq_connect(db);
        struct timespec until;
        char c = 'x';

        if (sq_try(conn, "BEGIN IMMEDIATE") != 0 || write(ready, &c, 1) != 1)
            _exit(2);
        if (release >= 0) {
            if (read(release, &c, 1) < 0)
                _exit(3);
        } else {
            until.tv_sec = hold_ms / 1000;
            until.tv_nsec = (long)(hold_ms % 1000) * 1000000L;
            while (nanosleep(&until, &until) != 0 && errno == EINTR)
                ;
        }
        _exit(sq_try(conn, "COMMIT") == 0 ? 0 : 4);
    }
    return pid;
}

/*
 * Another process holds the write lock: for longer than the busy timeout, ingest gives up
 * after waiting it out, says that another writer holds the lock, and loses nothing; for
 * less, ingest simply waits and loads everything.
 */
static void test_locked_database(void **state)
{
    fx_t *f = *state;
    char log[320], want[1024];
    expect_t none = {0}, first, all;
    int ready[2], release[2];
    int64_t first_size;
    pid_t holder;
    char c;
    run_t r;

    snprintf(log, sizeof(log), "%s/access.log", f->s.dir);
    gen_lines(log, 0, 6000);
    ingest(f->s.db, log, &r);
    assert_ok(&r);
    first_size = file_size(log);
    first = expect_before(first_size);
    assert_run_counts(&r, none, first);
    gen_lines(log, 6000, 2000);

    /* held until this process lets go: ingest waits the busy timeout, then stops */
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    holder = hold_lock(f->s.db, 0, ready[1], release[0]);
    keep_kid(f, holder);
    close(ready[1]);
    close(release[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    ingest(f->s.db, log, &r);
    assert_int_equal(r.rc, 1);
    snprintf(want, sizeof(want),
             "wsa-relay ingest: %s: locking the database to check its schema: the database is "
             "locked by another writer (gave up after %d s)\n",
             f->s.db, BUSY_TIMEOUT_S);
    assert_string_equal(r.out, want);
    /* it waited the busy timeout, once: the clock, not a count of tries, ends the wait */
    if (r.seconds < BUSY_TIMEOUT_S - 0.1 || r.seconds > 2 * BUSY_TIMEOUT_S)
        fail_msg("gave up after %.2f s, not about %d s", r.seconds, BUSY_TIMEOUT_S);
    assert_int_equal(write(release[1], "x", 1), 1);
    assert_int_equal(reap_kid(f, holder), 0);
    close(ready[0]);
    close(release[1]);
    assert_int_equal(check_db(f->s.db), first_size);

    /* held for 1.5 s, less than the busy timeout: ingest waits, then loads the rest */
    assert_int_equal(pipe(ready), 0);
    holder = hold_lock(f->s.db, 1500, ready[1], -1);
    keep_kid(f, holder);
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    ingest(f->s.db, log, &r);
    assert_ok(&r);
    assert_true(r.seconds >= 1.0);
    assert_int_equal(reap_kid(f, holder), 0);
    all = expect_before(file_size(log));
    assert_int_equal(all.lines, 8000);
    assert_run_counts(&r, first, all);
    assert_int_equal(check_db(f->s.db), file_size(log));
}

/*
 * A database file that another process has just created and holds the lock of, before any
 * schema (a first ingest racing a `sqlite3` shell): switching it to WAL is refused at once
 * each time, retried for the busy timeout, and then the run stops saying why; once the
 * other process is done, the same command loads the file.
 */
static void test_locked_while_created(void **state)
{
    fx_t *f = *state;
    char log[320], want[1024];
    int ready[2], release[2];
    pid_t holder;
    char c;
    run_t r;

    snprintf(log, sizeof(log), "%s/access.log", f->s.dir);
    gen_lines(log, 0, 10);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    holder = hold_lock(f->s.db, 0, ready[1], release[0]);
    keep_kid(f, holder);
    close(ready[1]);
    close(release[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    ingest(f->s.db, log, &r);
    assert_int_equal(r.rc, 1);
    snprintf(want, sizeof(want),
             "wsa-relay ingest: %s: setting pragmas: the database is locked by another writer "
             "(gave up after %d s)\n",
             f->s.db, BUSY_TIMEOUT_S);
    assert_string_equal(r.out, want);
    if (r.seconds < BUSY_TIMEOUT_S - 0.1 || r.seconds > 2 * BUSY_TIMEOUT_S)
        fail_msg("gave up after %.2f s, not about %d s", r.seconds, BUSY_TIMEOUT_S);
    assert_int_equal(write(release[1], "x", 1), 1);
    close(release[1]);
    assert_int_equal(reap_kid(f, holder), 0);

    /* and once the other process is done, the same command loads the file */
    ingest(f->s.db, log, &r);
    assert_ok(&r);
    assert_int_equal(check_db(f->s.db), file_size(log));
}

/*
 * The lock taken between two batches, while ingest reads a pipe: the batch it then begins
 * waits out the busy timeout and the run stops, with the committed batch and its offset
 * intact. (What it had read of the pipe past that batch is gone with the pipe: only a file
 * can be read again, which test_locked_database covers.)
 */
static void test_locked_mid_load(void **state)
{
    fx_t *f = *state;
    char fifo[320], out[320], want[1024];
    int64_t batch = batch_lines();
    expect_t none = {0}, committed;
    void *conn;
    pid_t pid;
    FILE *in;
    run_t r;

    snprintf(fifo, sizeof(fifo), "%s/pipe", f->s.dir);
    snprintf(out, sizeof(out), "%s/ingest.out", f->s.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    create_db(f->s.dir, f->s.db);
    pid = start_ingest(f->s.db, fifo, out);
    keep_kid(f, pid);
    /* opens once ingest has opened the other end */
    in = fopen(fifo, "wb");
    assert_non_null(in);
    put_lines(in, 0, batch);
    /* the batch commits with its last line; the next begins only with the next line */
    conn = sq_connect(f->s.db);
    for (int tries = 0; committed_lines(conn) != batch; tries++) {
        if (tries > 6000)
            fail_msg("the first batch never committed");
        usleep(10000);
    }
    sq_do(conn, "BEGIN IMMEDIATE");
    put_lines(in, batch, 100);
    assert_int_equal(fclose(in), 0);
    ended_ingest(reap_kid(f, pid), out, &r);
    sq_do(conn, "COMMIT");
    sq.close(conn);

    assert_int_equal(r.rc, 1);
    snprintf(want, sizeof(want),
             "wsa-relay ingest: %s: database: %s: starting a transaction: the database is locked "
             "by another writer (gave up after %d s)\n",
             fifo, f->s.db, BUSY_TIMEOUT_S);
    assert_said(&r, want);
    committed = expect_before(check_db(f->s.db));
    assert_int_equal(committed.lines, batch);
    assert_run_counts(&r, none, committed);
}

/*
 * The wal-index header at the start of the -shm file: the frames the WAL holds now
 * (mxFrame). SQLite writes the header twice in a row; a sample is taken only when both
 * copies agree, so that one torn by a concurrent commit is not read. -1 when there is none.
 */
static int64_t wal_frames(const char *shm)
{
    unsigned char hdr[96];
    uint32_t frames;
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = pread(fd, hdr, sizeof(hdr), 0);
    close(fd);
    if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, hdr + 48, 48) != 0)
        return -1;
    memcpy(&frames, hdr + 16, sizeof(frames)); /* native byte order, as SQLite keeps it */
    return frames;
}

/*
 * A reader that keeps reading, as the server's workers do: short read transactions one
 * after the other until `stop` exists. Its number of reads goes to `count`.
 */
static pid_t start_reader(const char *db, const char *stop, const char *count)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        void *conn = sq_connect(db);
        long reads = 0;
        FILE *f;

        while (access(stop, F_OK) != 0) {
            if (sq_try(conn, "BEGIN") != 0 ||
                sq_try(conn, "SELECT max(id) FROM transactions") != 0 ||
                sq_try(conn, "SELECT offset FROM sources") != 0 || sq_try(conn, "COMMIT") != 0)
                _exit(2);
            reads++;
        }
        sq.close(conn);
        f = fopen(count, "w");
        if (f == NULL || fprintf(f, "%ld\n", reads) < 0 || fclose(f) != 0)
            _exit(3);
        _exit(0);
    }
    return pid;
}

/* What the sampler saw of the WAL during a load. */
typedef struct wal_seen {
    int64_t samples, resets, max_frames, max_jump, max_file;
} wal_seen_t;

/* Samples the WAL every 2 ms until the ingest `pid` ends; its exit status. */
static int sample_wal(const char *db, pid_t pid, wal_seen_t *w)
{
    char shm[400], wal[400];
    int64_t last = 0;

    snprintf(shm, sizeof(shm), "%s-shm", db);
    snprintf(wal, sizeof(wal), "%s-wal", db);
    memset(w, 0, sizeof(*w));
    for (;;) {
        int status;
        pid_t done = waitpid(pid, &status, WNOHANG);
        int64_t frames = wal_frames(shm), size = file_size(wal);

        if (frames >= 0) {
            w->samples++;
            if (frames < last)
                w->resets++;
            else if (frames - last > w->max_jump)
                w->max_jump = frames - last;
            if (frames > w->max_frames)
                w->max_frames = frames;
            last = frames;
        }
        if (size > w->max_file)
            w->max_file = size;
        if (done == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(2000);
    }
}

/*
 * 200,000 lines loaded while a reader keeps reading: the WAL stays bounded. A commit that
 * leaves it past STORE_WAL_CHECKPOINT_PAGES checkpoints it and waits for the readers on
 * older snapshots, so the next commit writes it from its start again; so it never holds
 * more than that many frames plus one batch's (each batch's frames are seen as the jump of
 * the frame count at its commit), and its file, cut back to journal_size_limit at each
 * restart, never exceeds the larger of the two. Once the load is done, its file is empty.
 * Before the checkpoints waited for the readers, this reader held them off: the WAL grew
 * past the bound (to 160 MiB with nine indexes and batches of 5,000; to 19,115 frames over
 * a bound of 17,426 with the key table and batches of 20,000) and stayed at 64 MiB.
 */
static void test_wal_bounded(void **state)
{
    fx_t *f = *state;
    char log[320], wal[400], out[320], stop[320], count[320];
    const int64_t total = 200000;
    expect_t none = {0}, all;
    int64_t frames_bound, file_bound, wal_after;
    pid_t pid, reader;
    wal_seen_t w;
    long reads = 0;
    run_t r;
    FILE *in;

    snprintf(log, sizeof(log), "%s/access.log", f->s.dir);
    snprintf(wal, sizeof(wal), "%s-wal", f->s.db);
    snprintf(out, sizeof(out), "%s/ingest.out", f->s.dir);
    snprintf(stop, sizeof(stop), "%s/stop", f->s.dir);
    snprintf(count, sizeof(count), "%s/reads", f->s.dir);
    gen_lines(log, 0, total);
    create_db(f->s.dir, f->s.db);
    reader = start_reader(f->s.db, stop, count);
    keep_kid(f, reader);

    pid = start_ingest(f->s.db, log, out);
    keep_kid(f, pid);
    ended_ingest(sample_wal(f->s.db, pid, &w), out, &r);
    forget_kid(f, pid);
    wal_after = file_size(wal);
    assert_ok(&r);
    all = expect_before(file_size(log));
    assert_run_counts(&r, none, all);
    print_message("WAL: %" PRId64 " samples, %" PRId64 " restarts, at most %" PRId64
                  " frames (largest batch %" PRId64 "), file at most %" PRId64 " bytes; %" PRId64
                  " bytes once the load ended\n",
                  w.samples, w.resets, w.max_frames, w.max_jump, w.max_file, wal_after);

    /* the reader read all along, and the load restarted the WAL again and again */
    assert_int_equal(close(open(stop, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
    assert_int_equal(reap_kid(f, reader), 0);
    in = fopen(count, "r");
    assert_non_null(in);
    assert_int_equal(fscanf(in, "%ld", &reads), 1);
    fclose(in);
    assert_true(reads > 100);
    assert_true(w.samples > 100);
    assert_true(w.max_jump > 0);
    assert_true(w.resets >= 2);
    frames_bound = WAL_CHECKPOINT_PAGES + w.max_jump;
    file_bound = frames_bound * WAL_FRAME + 32;
    if (file_bound < JOURNAL_SIZE_LIMIT)
        file_bound = JOURNAL_SIZE_LIMIT;
    assert_true(w.max_frames <= frames_bound);
    assert_true(w.max_file <= file_bound);
    /* emptied at the end of the load, although the reader kept the database open */
    assert_int_equal(wal_after, 0);
    assert_int_equal(check_db(f->s.db), file_size(log));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_midlife, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_while_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_mid_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
    };

    /* the children run with this environment: no setting of the caller's may leak in */
    h_clean_env();
    /* mounts made from here on are this process's and its children's alone */
    if (unshare(CLONE_NEWNS) != 0)
        snprintf(ns_why, sizeof(ns_why), "unshare(CLONE_NEWNS): %s", strerror(errno));
    else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        snprintf(ns_why, sizeof(ns_why), "making the mounts private: %s", strerror(errno));
    else
        ns_ready = 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
