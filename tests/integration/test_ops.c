/*
 * test_ops.c - what an operator meets around the database and the logs: first starts racing
 * each other, databases that cannot be opened and why, and the server's request log.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

#define SHAPES TEST_DATA_DIR "/own-shapes.log"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    len = (long)fread(buf, 1, (size_t)len, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/*
 * Forks `n` `wsa-relay ingest --db <db> <own-shapes.log>` processes that all wait on one
 * pipe and exec together once it closes, so that their first opens of a database that does
 * not exist yet overlap as closely as processes can. Each one's output goes to
 * <dir>/race-<i>.out and its exit status to rc[i].
 */
static void ingest_together(const char *dir, const char *db, int n, int rc[])
{
    pid_t pids[16];
    int gate[2];

    assert_true(n <= 16);
    assert_int_equal(pipe(gate), 0);
    for (int i = 0; i < n; i++) {
        char out[320];

        snprintf(out, sizeof(out), "%s/race-%d.out", dir, i);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            char go;
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

            close(gate[1]);
            if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(127);
            /* the parent's close of the write end wakes every child at once */
            if (read(gate[0], &go, 1) != 0)
                _exit(126);
            execl(WSA_RELAY_BIN, WSA_RELAY_BIN, "ingest", "--db", db, SHAPES, (char *)NULL);
            _exit(127);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int i = 0; i < n; i++) {
        int status = 0;

        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        rc[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

/*
 * Several first-time starts on the same new path (a service and its ingest timer on first
 * boot): each must find the database either missing or complete, never half-made, and none
 * may call it foreign. Contention at the end of a load is not an operator's problem: no WARN.
 */
static void test_first_opens_race(void **state)
{
    h_server_t s;
    int rounds = 25, procs = 6;

    h_setup(&s);
    for (int r = 0; r < rounds; r++) {
        char db[320];
        int rc[16];

        snprintf(db, sizeof(db), "%s/race-%d.db", s.dir, r);
        ingest_together(s.dir, db, procs, rc);
        for (int i = 0; i < procs; i++) {
            char out[320];
            char *text;

            snprintf(out, sizeof(out), "%s/race-%d.out", s.dir, i);
            text = slurp(out);
            if (rc[i] != 0 || strstr(text, "WARN") != NULL)
                fail_msg("round %d, process %d of %d, exit %d: %s", r, i, procs, rc[i], text);
            free(text);
        }
    }
    h_teardown(&s);
}

/* Runs a shell command with its output in `out`; returns its exit status. */
static int shell(const char *cmd, char *out, size_t outlen)
{
    FILE *f = popen(cmd, "r");
    size_t n = 0;
    int status;

    assert_non_null(f);
    while (n + 1 < outlen) {
        size_t got = fread(out + n, 1, outlen - 1 - n, f);
        if (got == 0)
            break;
        n += got;
    }
    out[n] = '\0';
    status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Runs `inner` (a shell command) in a new mount namespace in which `dir` is bound read-only
 * onto itself; the mount is private to that namespace and gone when it ends.
 */
static int in_read_only_mount(const char *dir, const char *inner, char *out, size_t outlen)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd),
             "unshare -m sh -c 'mount --bind %s %s && mount -o remount,bind,ro %s && %s' 2>&1", dir,
             dir, dir, inner);
    return shell(cmd, out, outlen);
}

/*
 * A database on a read-only file system: ingest and serve say that the folder is read-only
 * and what the database needs, not SQLite's "unable to open database file". serve refuses
 * rather than reading with immutable=1, since an ingest elsewhere may be writing the file.
 */
static void test_read_only_mount(void **state)
{
    char ro[320], db[400], inner[1536], out[4096], expect[1024];
    h_server_t s;
    int rc;

    if (shell("unshare -m true 2>&1", out, sizeof(out)) != 0) {
        out[strcspn(out, "\n")] = '\0';
        print_message("skipped: cannot make a mount namespace here (unshare -m: %s)\n", out);
        skip();
    }
    h_setup(&s);
    snprintf(ro, sizeof(ro), "%s/ro", s.dir);
    snprintf(db, sizeof(db), "%s/r.db", ro);
    assert_int_equal(mkdir(ro, 0755), 0);
    {
        const char *argv[] = {"ingest", "--db", db, SHAPES, NULL};
        assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    }

    /* serve: the readers need the -shm file, which the last writer removed on close */
    snprintf(inner, sizeof(inner),
             "WSA_RELAY_SECRET=%s exec timeout 20 %s serve --db %s --listen 127.0.0.1:0", H_SECRET,
             WSA_RELAY_BIN, db);
    rc = in_read_only_mount(ro, inner, out, sizeof(out));
    assert_int_equal(rc, 1);
    snprintf(expect, sizeof(expect),
             "ERROR [server] %s: the folder %s is on a read-only file system; even to be read, "
             "the tracking database needs a writable folder for its -wal and -shm files\n",
             db, ro);
    if (strstr(out, expect) == NULL)
        fail_msg("serve said: %s", out);

    /* ingest into the existing database, and into a new one */
    snprintf(inner, sizeof(inner), "exec %s ingest --db %s %s", WSA_RELAY_BIN, db, SHAPES);
    rc = in_read_only_mount(ro, inner, out, sizeof(out));
    assert_int_equal(rc, 1);
    snprintf(expect, sizeof(expect),
             "wsa-relay ingest: %s: the folder %s is on a read-only file system; the tracking "
             "database needs a writable folder for its -wal and -shm files\n",
             db, ro);
    assert_string_equal(out, expect);
    snprintf(inner, sizeof(inner), "exec %s ingest --db %s/new.db %s", WSA_RELAY_BIN, ro, SHAPES);
    rc = in_read_only_mount(ro, inner, out, sizeof(out));
    assert_int_equal(rc, 1);
    snprintf(expect, sizeof(expect),
             "wsa-relay ingest: %s/new.db: cannot create the database: the folder %s is on a "
             "read-only file system\n",
             ro, ro);
    assert_string_equal(out, expect);
    h_teardown(&s);
}

/* --db naming a folder: SQLite said "disk I/O error" (serve) or "unable to open" (ingest). */
static void test_folder_as_database(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};
    char out[4096], expect[1024];
    h_server_t s;

    h_setup(&s);
    {
        const char *argv[] = {"ingest", "--db", s.dir, SHAPES, NULL};
        assert_int_equal(h_run(argv, env, out, sizeof(out)), 1);
        snprintf(expect, sizeof(expect),
                 "wsa-relay ingest: %s: this is a folder; the database path must name a file in "
                 "it\n",
                 s.dir);
        assert_string_equal(out, expect);
    }
    {
        const char *argv[] = {"serve", "--db", s.dir, "--listen", "127.0.0.1:0", NULL};
        assert_int_equal(h_run(argv, env, out, sizeof(out)), 1);
        snprintf(expect, sizeof(expect),
                 "ERROR [server] %s: this is a folder; the database path must name a file in "
                 "it\n",
                 s.dir);
        if (strstr(out, expect) == NULL)
            fail_msg("serve said: %s", out);
    }
    h_teardown(&s);
}

/* The lines of `log` that contain `module`, copied into `lines` (at most max); their count. */
static int lines_of(const char *log, const char *module, char lines[][1024], int max)
{
    int n = 0;

    for (const char *p = log; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (memmem(p, len, module, strlen(module)) != NULL) {
            assert_true(n < max);
            snprintf(lines[n++], 1024, "%.*s", (int)len, p);
        }
        p += len + (end != NULL);
    }
    return n;
}

/* Asserts "<time> DEBUG [http] 127.0.0.1:<port> <request> 200 <n> ms". */
static void assert_request_line(const char *line, long port, const char *request)
{
    char head[512];
    long ms = -1;
    int used = 0;

    snprintf(head, sizeof(head), " DEBUG [http] 127.0.0.1:%ld %s 200 ", port, request);
    if (strstr(line, head) == NULL)
        fail_msg("not a request line for %s from port %ld: %s", request, port, line);
    assert_int_equal(sscanf(strstr(line, head) + strlen(head), "%ld ms%n", &ms, &used), 1);
    assert_true(used > 0 && ms >= 0 && ms < 10000);
    assert_int_equal(strstr(line, head)[strlen(head) + (size_t)used], '\0');
}

/*
 * At debug level: a refused token gives one INFO line with the client, the request and the
 * cause, and every request one DEBUG line with its status and time. No token text is logged.
 */
static void test_request_log(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, "WSA_RELAY_LOG_LEVEL=debug", NULL};
    const char *body = "[{\"type\":\"ip\",\"value\":\"172.18.32.70\"}]";
    char *bad = h_jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"x\"}",
                      "some-other-secret-some-other-secret-0123");
    char *good = h_bearer("{\"sub\":\"y\"}");
    char bad_header[1024], lines[8][1024], expect[512];
    const char *bad_headers[] = {bad_header, NULL};
    const char *good_headers[] = {good, NULL};
    long bad_port = 0, good_port = 0;
    h_client_t c;
    h_reply_t r;
    h_server_t s;
    char *log;

    h_setup(&s);
    h_ingest(&s, (const char *const[]){SHAPES, NULL});
    h_start(&s, env);
    snprintf(bad_header, sizeof(bad_header), "Authorization: Bearer %s", bad);

    h_client_init(&c, 0);
    h_request(&c, &s, "POST", "/health", bad_headers, NULL, 0, &r);
    h_assert_error(&r, 200, "authorization error",
                   "Authorization failed: Failed to decode JWT with provided key");
    h_reply_free(&r);
    curl_easy_getinfo(c.curl, CURLINFO_LOCAL_PORT, &bad_port);
    h_client_free(&c);
    h_client_init(&c, 0);
    h_request(&c, &s, "POST", "/observe/observables", good_headers, body, strlen(body), &r);
    assert_int_equal(r.status, 200);
    h_reply_free(&r);
    curl_easy_getinfo(c.curl, CURLINFO_LOCAL_PORT, &good_port);
    h_client_free(&c);
    /* a request's line is written once it is done with, at the latest when the server stops */
    assert_int_equal(h_stop(&s), 0);

    log = h_server_log(&s);
    assert_int_equal(lines_of(log, " [http] ", lines, 8), 3);
    snprintf(expect, sizeof(expect),
             " INFO  [http] 127.0.0.1:%ld POST /health: Authorization failed: Failed to decode "
             "JWT with provided key",
             bad_port);
    if (strstr(lines[0], expect) == NULL)
        fail_msg("not the refusal line: %s", lines[0]);
    assert_int_equal(strstr(lines[0], expect)[strlen(expect)], '\0');
    /* the two connections may be on two workers: their lines come in either order */
    {
        char mark[32];
        int first_bad;

        snprintf(mark, sizeof(mark), ":%ld POST /health ", bad_port);
        first_bad = strstr(lines[1], mark) != NULL;
        assert_request_line(lines[first_bad ? 1 : 2], bad_port, "POST /health");
        assert_request_line(lines[first_bad ? 2 : 1], good_port, "POST /observe/observables");
    }

    /* neither token, nor any of its three parts, is in the log */
    for (const char *t = bad; t != NULL;) {
        const char *dot = strchr(t, '.');
        size_t len = dot != NULL ? (size_t)(dot - t) : strlen(t);
        assert_null(memmem(log, strlen(log), t, len));
        t = dot != NULL ? dot + 1 : NULL;
    }
    assert_null(strstr(log, good + strlen("Authorization: Bearer ")));
    assert_null(strstr(log, strrchr(good, '.') + 1));
    free(log);
    free(bad);
    free(good);
    h_teardown(&s);
}

/*
 * A second connection to the database through the SQLite library the server uses, loaded
 * at run time (the integration tests link only the harness): runs `sql`, and returns the
 * first column of its last row as a number (-1 when there is none).
 */
typedef int (*sql_open_fn)(const char *, void **);
typedef int (*sql_exec_fn)(void *, const char *, int (*)(void *, int, char **, char **), void *,
                           char **);
typedef int (*sql_close_fn)(void *);

static int on_sql_row(void *ctx, int n, char **values, char **names)
{
    *(long *)ctx = n > 0 && values[0] != NULL ? atol(values[0]) : -1;
    return 0;
}

static long sql_on_the_side(const char *db, const char *sql)
{
    void *lib = dlopen("libsqlite3.so.0", RTLD_NOW);
    sql_open_fn sql_open;
    sql_exec_fn sql_exec;
    sql_close_fn sql_close;
    void *conn = NULL;
    long value = -1;

    if (lib == NULL)
        fail_msg("cannot load libsqlite3.so.0: %s", dlerror());
    *(void **)&sql_open = dlsym(lib, "sqlite3_open");
    *(void **)&sql_exec = dlsym(lib, "sqlite3_exec");
    *(void **)&sql_close = dlsym(lib, "sqlite3_close");
    assert_true(sql_open != NULL && sql_exec != NULL && sql_close != NULL);
    assert_int_equal(sql_open(db, &conn), 0);
    assert_int_equal(sql_exec(conn, sql, on_sql_row, &value, NULL), 0);
    sql_close(conn);
    dlclose(lib);
    return value;
}

/*
 * /health while another connection changes the schema version under the running server:
 * the message says the version found and the one needed (it ended in ": " before).
 */
static void test_health_wrong_version(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};
    char *auth = h_bearer("{}");
    const char *const headers[] = {auth, NULL};
    char expect[256], logged[1024];
    long version;
    h_client_t c;
    h_reply_t r;
    h_server_t s;
    char *log;

    h_setup(&s);
    h_ingest(&s, (const char *const[]){SHAPES, NULL});
    h_start(&s, env);
    h_client_init(&c, 0);
    h_request(&c, &s, "POST", "/health", headers, NULL, 0, &r);
    assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
    h_reply_free(&r);

    version = sql_on_the_side(s.db, "PRAGMA user_version");
    assert_true(version >= 2);
    sql_on_the_side(s.db, "PRAGMA user_version = 99");
    h_request(&c, &s, "POST", "/health", headers, NULL, 0, &r);
    snprintf(expect, sizeof(expect),
             "The tracking database is not usable: schema version 99, this build needs %ld",
             version);
    h_assert_error(&r, 200, "health check failed", expect);
    h_reply_free(&r);
    /* the log says which file */
    log = h_server_log(&s);
    snprintf(logged, sizeof(logged), "WARN  [health] %s (%s)\n", expect, s.db);
    if (strstr(log, logged) == NULL)
        fail_msg("no line \"%s\" in: %s", logged, log);
    free(log);

    /* and healthy again once the version is back */
    snprintf(expect, sizeof(expect), "PRAGMA user_version = %ld", version);
    sql_on_the_side(s.db, expect);
    h_request(&c, &s, "POST", "/health", headers, NULL, 0, &r);
    assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
    h_reply_free(&r);
    h_client_free(&c);
    free(auth);
    h_teardown(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_opens_race),     cmocka_unit_test(test_read_only_mount),
        cmocka_unit_test(test_folder_as_database),   cmocka_unit_test(test_request_log),
        cmocka_unit_test(test_health_wrong_version),
    };

    /* the children run with this environment: no setting of the caller's may leak in */
    h_clean_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
