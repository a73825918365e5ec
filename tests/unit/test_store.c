/*
 * test_store.c - the tracking database: schema, query plans, sightings, evidence, sources.
 *
 * Records are filled by hand (no parser), so every expected value below follows from the
 * rows each test adds.
 */
#include <setjmp.h>
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
#include "../../service/store_priv.h"
#include <openssl/sha.h>
#include "store_schema.h"
#include "util.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    store_t *st;
    int64_t source_id, appliance_id, next_offset;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[STORE_ERR_LEN];
    store_source_t src;

    snprintf(f->dir, sizeof(f->dir), "/tmp/wr-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* two missing folders: a read-write open creates them */
    snprintf(f->path, sizeof(f->path), "%s/a/b/t.db", f->dir);
    assert_int_equal(store_open(&f->st, f->path, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_int_equal(store_source_open(f->st, "stdin", NULL, &src), 0);
    f->source_id = src.id;
    assert_int_equal(store_appliance_id(f->st, "wsa1", &f->appliance_id), 0);
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
    free(f);
    return 0;
}

/* A record with only a time; the tests set the fields they look at. */
static ingest_rec_t rec_at(int64_t time_ms)
{
    ingest_rec_t r;

    memset(&r, 0, sizeof(r));
    r.time_ms = time_ms;
    r.elapsed_ms = 5;
    r.method = "GET";
    r.action = INGEST_ACTION_ALLOWED;
    r.amp_verdict = -1;
    r.amp_score = -1;
    r.format = "squid-15";
    return r;
}

/* Adds a record at the next offset of the fixture's source; returns its id. */
static int64_t add(fixture_t *f, const ingest_rec_t *r)
{
    const char raw[] = "raw line";
    int64_t off = f->next_offset;

    f->next_offset += 100;
    assert_int_equal(store_add_txn(f->st, f->source_id, off, f->appliance_id, r, raw, 8), 1);
    return sqlite3_last_insert_rowid(f->st->db);
}

typedef struct seen {
    int n;
    int64_t ids[64];
    int64_t times[64];
    int stop_after; /* 0: never stop */
} seen_t;

static int on_row(const store_row_t *row, void *ctx)
{
    seen_t *s = ctx;

    s->ids[s->n] = row->id;
    s->times[s->n] = row->time_ms;
    s->n++;
    return s->stop_after != 0 && s->n >= s->stop_after;
}

static int sightings(fixture_t *f, obs_type_t type, const char *key, const char *key_domain,
                     const char *key_reg_domain, int limit, seen_t *seen, int *more)
{
    obs_t o = {.type = type,
               .value = key,
               .key = key,
               .key_domain = key_domain,
               .key_reg_domain = key_reg_domain};

    memset(seen, 0, sizeof(*seen));
    return store_sightings(f->st, &o, limit, on_row, seen, more);
}

/* Sightings count only, with a generous limit. */
static int count(fixture_t *f, obs_type_t type, const char *key, const char *key_domain,
                 const char *key_reg_domain)
{
    seen_t seen;
    int more = -1;
    int n = sightings(f, type, key, key_domain, key_reg_domain, 50, &seen, &more);

    assert_int_equal(more, 0);
    return n;
}

static void test_schema_version(void **state)
{
    fixture_t *f = *state;
    char err[STORE_ERR_LEN];
    sqlite3_stmt *s;
    store_t *ro = NULL;

    /* 1 to 3, tx_keys, syslog loss counters, the host alone in tx_keys */
    assert_int_equal(store_schema_version(), 6);
    assert_int_equal(store_healthy(f->st), 1);
    assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA user_version", -1, &s, NULL), 0);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 6);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA journal_mode", -1, &s, NULL), 0);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);

    /* a second read-write open finds the schema current and applies nothing */
    store_close(f->st);
    assert_int_equal(store_open(&f->st, f->path, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_int_equal(store_open(&ro, f->path, STORE_READ_ONLY, err, sizeof(err)), 0);
    assert_int_equal(store_healthy(ro), 1);
    /* a read-only store refuses writes */
    assert_int_equal(store_appliance_id(ro, "x", &(int64_t){0}), -1);
    assert_non_null(strstr(store_errmsg(ro), f->path));
    store_close(ro);
}

/*
 * /health shows this message: a database whose version changed under a running server says
 * the version it has and the one this build needs (it said nothing after the colon).
 */
static void test_healthy_says_version(void **state)
{
    fixture_t *f = *state;
    char err[STORE_ERR_LEN], expect[STORE_ERR_LEN];
    store_t *ro = NULL;
    sqlite3 *other;

    assert_int_equal(store_open(&ro, f->path, STORE_READ_ONLY, err, sizeof(err)), 0);
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    snprintf(expect, sizeof(expect), "%s: schema version 99, this build needs %d", f->path,
             store_schema_version());
    assert_int_equal(store_healthy(ro), 0);
    assert_string_equal(store_errmsg(ro), expect);
    assert_int_equal(store_healthy(f->st), 0);
    assert_string_equal(store_errmsg(f->st), expect);

    /* an older version too, and healthy again once it is back */
    assert_int_equal(sqlite3_exec(other, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    snprintf(expect, sizeof(expect), "%s: schema version 1, this build needs %d", f->path,
             store_schema_version());
    assert_int_equal(store_healthy(ro), 0);
    assert_string_equal(store_errmsg(ro), expect);
    snprintf(expect, sizeof(expect), "PRAGMA user_version = %d", store_schema_version());
    assert_int_equal(sqlite3_exec(other, expect, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_healthy(ro), 1);
    sqlite3_close(other);
    store_close(ro);
}

static void test_readonly_missing(void **state)
{
    fixture_t *f = *state;
    char path[160], err[STORE_ERR_LEN], expect[512];
    store_t *st = (store_t *)1;

    snprintf(path, sizeof(path), "%s/missing/x.db", f->dir);
    assert_int_equal(store_open(&st, path, STORE_READ_ONLY, err, sizeof(err)), -1);
    assert_null(st);
    snprintf(expect, sizeof(expect), "%s: the folder %s/missing does not exist", path, f->dir);
    assert_string_equal(err, expect);
    /* and nothing was created on the way */
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/missing", f->dir);
    assert_int_equal(access(path, F_OK), -1);

    /* the folder is there, the file is not */
    snprintf(path, sizeof(path), "%s/y.db", f->dir);
    assert_int_equal(store_open(&st, path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: the database does not exist (wsa-relay ingest creates it)", path);
    assert_string_equal(err, expect);
}

/*
 * `serve` and a first `ingest` started together: the reader may find the database as the
 * writer has begun it (WAL, version 0, no table) and waits for its schema instead of
 * failing with "schema version 0".
 */
static void test_readonly_waits_for_creation(void **state)
{
    fixture_t *f = *state;
    char path[160], err[STORE_ERR_LEN];
    store_t *ro = NULL;
    int status = 0;
    sqlite3 *db;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/new.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct timespec ts = {0, 300 * 1000000L};
        store_t *rw = NULL;
        int rc;

        nanosleep(&ts, NULL);
        rc = store_open(&rw, path, STORE_READ_WRITE, err, sizeof(err));
        store_close(rw);
        _exit(rc == 0 ? 0 : 1);
    }
    assert_int_equal(store_open(&ro, path, STORE_READ_ONLY, err, sizeof(err)), 0);
    assert_int_equal(store_healthy(ro), 1);
    store_close(ro);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A folder given as the database: SQLite said "disk I/O error" or "unable to open ...". */
static void test_folder_as_database(void **state)
{
    fixture_t *f = *state;
    char err[STORE_ERR_LEN], expect[512];
    store_t *st = (store_t *)1;

    snprintf(expect, sizeof(expect),
             "%s: this is a folder; the database path must name a file in it", f->dir);
    assert_int_equal(store_open(&st, f->dir, STORE_READ_ONLY, err, sizeof(err)), -1);
    assert_null(st);
    assert_string_equal(err, expect);
    assert_int_equal(store_open(&st, f->dir, STORE_READ_WRITE, err, sizeof(err)), -1);
    assert_null(st);
    assert_string_equal(err, expect);
}

/*
 * store_open as another user: as root (file modes do not stop root) a child process takes
 * the uid and gid of nobody (65534) for it; the error text comes back through a pipe.
 */
static int open_as_other_user(const char *path, store_mode_t mode, char *err, size_t errlen)
{
    int fds[2], status = 0;
    ssize_t n;
    pid_t pid;

    if (geteuid() != 0) {
        store_t *st = NULL;
        int rc = store_open(&st, path, mode, err, errlen);
        store_close(st);
        return rc;
    }
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char text[STORE_ERR_LEN] = "";
        store_t *st = NULL;
        int rc;

        close(fds[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        rc = store_open(&st, path, mode, text, sizeof(text));
        store_close(st);
        if (write(fds[1], text, strlen(text)) < 0)
            _exit(4);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    n = read(fds[0], err, errlen - 1);
    err[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
    return WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Permissions, said as such rather than as "unable to open database file". */
static void test_permission_messages(void **state)
{
    fixture_t *f = *state;
    char dir[160], path[192], err[STORE_ERR_LEN], expect[512];
    store_t *st = NULL;

    /* a folder others may enter but not write, holding a closed database (no -wal, -shm) */
    snprintf(dir, sizeof(dir), "%s/shared", f->dir);
    snprintf(path, sizeof(path), "%s/r.db", dir);
    assert_int_equal(store_open(&st, path, STORE_READ_WRITE, err, sizeof(err)), 0);
    store_close(st);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(dir, 0755), 0);

    /* read-only: the file is readable, but the -shm file cannot be made next to it */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(open_as_other_user(path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: this user may not create files in the folder %s (Permission denied); even to "
             "be read, the tracking database needs a writable folder for its -wal and -shm files",
             path, dir);
    assert_string_equal(err, expect);

    /* read-write: the file itself is not writable */
    assert_int_equal(open_as_other_user(path, STORE_READ_WRITE, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: this user may not write the database file (Permission denied)", path);
    assert_string_equal(err, expect);

    /* not readable at all */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(open_as_other_user(path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: this user may not read the database file (Permission denied)", path);
    assert_string_equal(err, expect);

    /* a folder on the way that this user may not enter */
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(open_as_other_user(path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: this user may not look into a folder on the way to the database (Permission "
             "denied)",
             path);
    assert_string_equal(err, expect);
    assert_int_equal(chmod(dir, 0755), 0);
}

static void test_foreign_and_old_files(void **state)
{
    fixture_t *f = *state;
    char path[160], err[STORE_ERR_LEN], expect[STORE_ERR_LEN];
    store_t *st = NULL;
    sqlite3 *db;

    /* an SQLite file with someone else's table and user_version 0 */
    snprintf(path, sizeof(path), "%s/other.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE x (a)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&st, path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: schema version 0, this build needs %d (open it read-write once, e.g. by "
             "ingesting, to upgrade)",
             path, store_schema_version());
    assert_string_equal(err, expect);
    assert_int_equal(store_open(&st, path, STORE_READ_WRITE, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect),
             "%s: not a wsa-relay database (schema version 0 with 1 tables)", path);
    assert_string_equal(err, expect);

    /* a database from a newer build */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&st, path, STORE_READ_WRITE, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect), "%s: schema version 99 is newer than this build's %d", path,
             store_schema_version());
    assert_string_equal(err, expect);
}

/* The statements that must each be an index search, with what each must search. */
static const struct plan_case {
    store_q_t q;
    const char *want;
} plan_cases[] = {
    {STORE_Q_KEY_PART, "SEARCH tx_keys USING PRIMARY KEY (key=? AND time_ms>?)"},
    {STORE_Q_SIGHT_ID, "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"},
    {STORE_Q_EVID_ID, "SEARCH transactions USING INTEGER PRIMARY KEY (rowid=?)"},
    {STORE_Q_MAX_ID, "SEARCH transactions"},
    {STORE_Q_SOURCE_HEADS_FROM, "INDEX sources_head ("},
    {STORE_Q_SOURCE_HEAD_IS, "INDEX sources_head ("},
    {STORE_Q_SOURCE_SHORT_HEADS, "INDEX sources_short_head ("},
    {STORE_Q_SOURCE_LEGACY, "INDEX sources_identity ("},
};

static void check_plans(fixture_t *f, int print)
{
    for (size_t i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
        const char *want = plan_cases[i].want;
        char sql[4096];
        int searched = 0;
        sqlite3_stmt *s;

        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store__sql(plan_cases[i].q));
        assert_int_equal(sqlite3_prepare_v2(f->st->db, sql, -1, &s, NULL), SQLITE_OK);
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *detail = (const char *)sqlite3_column_text(s, 3);
            if (print)
                printf("  [%s] %s\n", want, detail);
            assert_null(strstr(detail, "TEMP B-TREE"));
            assert_null(strstr(detail, "SCAN"));
            if (strncmp(detail, "SEARCH ", 7) == 0 && strstr(detail, want) != NULL)
                searched = 1;
        }
        sqlite3_finalize(s);
        if (!searched)
            fail_msg("%s does not search %s", store__sql(plan_cases[i].q), want);
    }
}

static void test_query_plans(void **state)
{
    fixture_t *f = *state;

    /* empty, without statistics */
    check_plans(f, getenv("STORE_PRINT_PLANS") != NULL);
    /* with rows and the statistics PRAGMA optimize gathers, the plans must not change */
    for (int i = 0; i < 300; i++) {
        ingest_rec_t r = rec_at(1000 + i);
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 100, i % 100);
        r.client_ip = ip;
        r.host = i % 2 ? "www.example.com" : "example.org";
        r.reg_domain = i % 2 ? "example.com" : "example.org";
        r.url = "http://www.example.com/";
        add(f, &r);
    }
    assert_int_equal(sqlite3_exec(f->st->db, "ANALYZE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_optimize(f->st), 0);
    check_plans(f, getenv("STORE_PRINT_PLANS") != NULL);
}

static void test_order_limit_more(void **state)
{
    fixture_t *f = *state;
    ingest_rec_t r;
    int64_t id[5];
    seen_t seen;
    int more = -1;

    r = rec_at(1000);
    r.client_ip = "10.0.0.1";
    id[0] = add(f, &r);
    r.time_ms = 3000;
    id[1] = add(f, &r);
    r.time_ms = 2000;
    id[2] = add(f, &r);
    r.time_ms = 3000; /* same time as id[1]: the higher id comes first */
    id[3] = add(f, &r);
    r.client_ip = "10.0.0.2";
    id[4] = add(f, &r);

    assert_int_equal(sightings(f, OBS_IP, "10.0.0.1", NULL, NULL, 3, &seen, &more), 3);
    assert_int_equal(more, 1);
    assert_int_equal(seen.ids[0], id[3]);
    assert_int_equal(seen.ids[1], id[1]);
    assert_int_equal(seen.ids[2], id[2]);
    assert_int_equal(seen.times[2], 2000);

    assert_int_equal(sightings(f, OBS_IP, "10.0.0.1", NULL, NULL, 4, &seen, &more), 4);
    assert_int_equal(more, 0);
    assert_int_equal(seen.ids[3], id[0]);
    assert_int_equal(sightings(f, OBS_IP, "10.0.0.1", NULL, NULL, 10, &seen, &more), 4);
    assert_int_equal(more, 0);
    assert_int_equal(sightings(f, OBS_IP, "10.0.0.1", NULL, NULL, 0, &seen, &more), 0);
    assert_int_equal(more, 1);

    /* a callback that stops after the first row */
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 1;
    obs_t o = {.type = OBS_IP, .value = "10.0.0.1", .key = "10.0.0.1"};
    assert_int_equal(store_sightings(f->st, &o, 10, on_row, &seen, &more), 1);
    assert_int_equal(seen.ids[0], id[3]);

    assert_int_equal(sightings(f, OBS_IP, "10.0.0.2", NULL, NULL, 10, &seen, &more), 1);
    assert_int_equal(seen.ids[0], id[4]);
    assert_int_equal(sightings(f, OBS_IP, "10.0.0.3", NULL, NULL, 10, &seen, &more), 0);
}

static void test_ip_client_or_destination(void **state)
{
    fixture_t *f = *state;
    ingest_rec_t r;
    int64_t a, b, c;
    seen_t seen;
    int more = -1;

    r = rec_at(100);
    r.client_ip = "10.0.0.9";
    r.dest_ip = "192.0.2.7";
    a = add(f, &r);
    r = rec_at(200);
    r.client_ip = "192.0.2.7";
    r.dest_ip = "198.51.100.1";
    b = add(f, &r);
    r = rec_at(150); /* both ends: one sighting, not two */
    r.client_ip = "192.0.2.7";
    r.dest_ip = "192.0.2.7";
    c = add(f, &r);
    r = rec_at(175);
    r.client_ip = "2001:db8::1";
    r.dest_ip = "192.0.2.8";
    add(f, &r);

    assert_int_equal(sightings(f, OBS_IP, "192.0.2.7", NULL, NULL, 10, &seen, &more), 3);
    assert_int_equal(more, 0);
    assert_int_equal(seen.ids[0], b);
    assert_int_equal(seen.ids[1], c);
    assert_int_equal(seen.ids[2], a);
    /* limit 2 of 3: the shared row is counted once, and one more remains */
    assert_int_equal(sightings(f, OBS_IP, "192.0.2.7", NULL, NULL, 2, &seen, &more), 2);
    assert_int_equal(more, 1);
    assert_int_equal(count(f, OBS_IPV6, "2001:db8::1", NULL, NULL), 1);
    assert_int_equal(count(f, OBS_IP, "192.0.2.8", NULL, NULL), 1);
}

static void test_user(void **state)
{
    fixture_t *f = *state;
    ingest_rec_t r;
    int64_t corp;
    seen_t seen;
    int more;

    r = rec_at(100);
    r.user_name = "JSmith";
    r.user_domain = "CORP";
    corp = add(f, &r);
    r = rec_at(200);
    r.user_name = "jsmith";
    r.user_domain = "other";
    add(f, &r);
    r = rec_at(300);
    r.user_name = "jsmithx";
    r.user_domain = "CORP";
    add(f, &r);
    r = rec_at(400);
    r.user_name = "jsmith"; /* no domain logged */
    add(f, &r);
    r = rec_at(500);
    r.user_name = "jsmith"; /* logged as jsmith@NTLMRealm: a realm, no domain */
    r.user_realm = "NTLMRealm";
    add(f, &r);

    assert_int_equal(count(f, OBS_USER, "jsmith", NULL, NULL), 4);
    assert_int_equal(count(f, OBS_USER, "JSMITH", NULL, NULL), 4);
    /* name@X matches X as the row's domain or as its realm */
    assert_int_equal(count(f, OBS_USER, "jsmith", "ntlmrealm", NULL), 1);
    assert_int_equal(sightings(f, OBS_USER, "JSMITH", "corp", NULL, 10, &seen, &more), 1);
    assert_int_equal(seen.ids[0], corp);
    assert_int_equal(count(f, OBS_USER, "jsmith", "Other", NULL), 1);
    assert_int_equal(count(f, OBS_USER, "jsmith", "nowhere", NULL), 0);
    assert_int_equal(count(f, OBS_USER, "jsmi", NULL, NULL), 0);
}

static void test_domain(void **state)
{
    fixture_t *f = *state;
    static const char *const hosts[][2] = {
        {"example.com", "example.com"},       {"www.example.com", "example.com"},
        {"a.www.example.com", "example.com"}, {"notexample.com", "notexample.com"},
        {"example.com.evil.net", "evil.net"}, {"wwwexample.com", "wwwexample.com"},
    };

    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        ingest_rec_t r = rec_at(100 + (int64_t)i);
        r.host = hosts[i][0];
        r.reg_domain = hosts[i][1];
        add(f, &r);
    }
    /* an IP literal host has no registered domain */
    ingest_rec_t r = rec_at(50);
    r.host = "192.0.2.1";
    add(f, &r);

    assert_int_equal(count(f, OBS_DOMAIN, "example.com", NULL, "example.com"), 3);
    assert_int_equal(count(f, OBS_HOSTNAME, "www.example.com", NULL, "example.com"), 2);
    assert_int_equal(count(f, OBS_DOMAIN, "a.www.example.com", NULL, "example.com"), 1);
    assert_int_equal(count(f, OBS_DOMAIN, "notexample.com", NULL, "notexample.com"), 1);
    /* without a registered domain: the host exactly */
    assert_int_equal(count(f, OBS_DOMAIN, "192.0.2.1", NULL, NULL), 1);
    assert_int_equal(count(f, OBS_DOMAIN, "example.com", NULL, NULL), 1);
    /* pattern characters from the caller are plain characters */
    assert_int_equal(count(f, OBS_DOMAIN, "%.com", NULL, "%.com"), 0);
    assert_int_equal(count(f, OBS_DOMAIN, "_xample.com", NULL, "example.com"), 0);
    assert_int_equal(count(f, OBS_DOMAIN, "*.example.com", NULL, "example.com"), 0);
}

/*
 * A name deeper than its registered domain: itself and the hosts below it, newest first,
 * and none of the names that only look alike. Ids in time order, newest first:
 * 900 s3.example.com (above the name), 800 a.evil0.s3 (its reversed text follows the
 * range), 700 evil.s3 (i7), 600 evil-x.s3 (reversed, it comes before the range),
 * 500 a.b.evil.s3 (i5), 400 evil.s3.example.com.attacker.net, 300 x.evil.s3 (i3a) and
 * evil.s3 (i3b, added later so a higher id), 200 notevil.s3, 100 evil.s3 (i1).
 */
static void test_domain_below(void **state)
{
    fixture_t *f = *state;
    static const struct {
        int64_t time_ms;
        const char *host, *reg;
    } rows[] = {
        {100, "evil.s3.example.com", "example.com"},
        {200, "notevil.s3.example.com", "example.com"},
        {300, "x.evil.s3.example.com", "example.com"},
        {300, "evil.s3.example.com", "example.com"},
        {400, "evil.s3.example.com.attacker.net", "attacker.net"},
        {500, "a.b.evil.s3.example.com", "example.com"},
        {600, "evil-x.s3.example.com", "example.com"},
        {700, "evil.s3.example.com", "example.com"},
        {800, "a.evil0.s3.example.com", "example.com"},
        {900, "s3.example.com", "example.com"},
        {50, "example.com", "example.com"},
    };
    int64_t id[sizeof(rows) / sizeof(rows[0])];
    seen_t seen;
    int more = -1;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ingest_rec_t r = rec_at(rows[i].time_ms);
        r.host = rows[i].host;
        r.reg_domain = rows[i].reg;
        id[i] = add(f, &r);
    }

    assert_int_equal(
        sightings(f, OBS_DOMAIN, "evil.s3.example.com", NULL, "example.com", 10, &seen, &more), 5);
    assert_int_equal(more, 0);
    assert_int_equal(seen.ids[0], id[7]); /* 700 evil.s3 */
    assert_int_equal(seen.ids[1], id[5]); /* 500 a.b.evil.s3 */
    assert_int_equal(seen.ids[2], id[3]); /* 300 evil.s3, the higher id */
    assert_int_equal(seen.ids[3], id[2]); /* 300 x.evil.s3 */
    assert_int_equal(seen.ids[4], id[0]); /* 100 evil.s3 */

    /* the limit stops the merge, and says more are left */
    assert_int_equal(
        sightings(f, OBS_HOSTNAME, "evil.s3.example.com", NULL, "example.com", 3, &seen, &more), 3);
    assert_int_equal(more, 1);
    assert_int_equal(seen.ids[2], id[3]);
    /* a callback that stops after the second row */
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 2;
    obs_t o = {.type = OBS_DOMAIN,
               .value = "evil.s3.example.com",
               .key = "evil.s3.example.com",
               .key_reg_domain = "example.com"};
    assert_int_equal(store_sightings(f->st, &o, 10, on_row, &seen, &more), 2);
    assert_int_equal(seen.ids[1], id[5]);

    /* only hosts below: x.evil.s3, or a.b.evil.s3 through b.evil.s3 that has no row itself */
    assert_int_equal(count(f, OBS_DOMAIN, "x.evil.s3.example.com", NULL, "example.com"), 1);
    assert_int_equal(
        sightings(f, OBS_DOMAIN, "b.evil.s3.example.com", NULL, "example.com", 10, &seen, &more),
        1);
    assert_int_equal(seen.ids[0], id[5]);
    assert_int_equal(count(f, OBS_DOMAIN, "nothere.s3.example.com", NULL, "example.com"), 0);
    assert_int_equal(count(f, OBS_DOMAIN, "vil.s3.example.com", NULL, "example.com"), 0);
    /* s3.example.com: every row but attacker.net's and example.com's */
    assert_int_equal(count(f, OBS_DOMAIN, "s3.example.com", NULL, "example.com"), 9);
    assert_int_equal(count(f, OBS_DOMAIN, "evil.s3.example.com.attacker.net", NULL, "attacker.net"),
                     1);
    /* the registered domain: all its rows, not attacker.net's */
    assert_int_equal(count(f, OBS_DOMAIN, "example.com", NULL, "example.com"), 10);
}

typedef struct tally {
    int n;
    int64_t first[3];
} tally_t;

static int on_tally(const store_row_t *row, void *ctx)
{
    tally_t *t = ctx;

    if (t->n < 3)
        t->first[t->n] = row->time_ms;
    t->n++;
    return 0;
}

static int tally(fixture_t *f, const char *key, int limit, tally_t *t, int *more)
{
    obs_t o = {.type = OBS_DOMAIN, .value = key, .key = key, .key_reg_domain = "example.com"};

    memset(t, 0, sizeof(*t));
    return store_sightings(f->st, &o, limit, on_tally, t, more);
}

/*
 * Many hosts below one name: many.example.com with 1024 hosts below it (h0 to h1023, one
 * row each at 1000 + i), then one more, each found newest first through the name's own key.
 * many.example.com itself has a row at 5000; the look-alikes notmany.example.com (9000)
 * and h1.many.example.com.evil.net (9001) are never found.
 */
static void test_domain_below_bound(void **state)
{
    fixture_t *f = *state;
    char host[64];
    ingest_rec_t r;
    tally_t t;
    int more = -1;

    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 1024; i++) {
        r = rec_at(1000 + i);
        snprintf(host, sizeof(host), "h%d.many.example.com", i);
        r.host = host;
        r.reg_domain = "example.com";
        add(f, &r);
    }
    r = rec_at(5000);
    r.host = "many.example.com";
    r.reg_domain = "example.com";
    add(f, &r);
    r = rec_at(9000);
    r.host = "notmany.example.com";
    add(f, &r);
    r = rec_at(9001);
    r.host = "h1.many.example.com.evil.net";
    r.reg_domain = "evil.net";
    add(f, &r);
    assert_int_equal(store_commit(f->st), 0);

    assert_int_equal(tally(f, "many.example.com", 3, &t, &more), 3);
    assert_int_equal(more, 1);
    assert_int_equal(t.first[0], 5000);
    assert_int_equal(t.first[1], 2023);
    assert_int_equal(t.first[2], 2022);
    assert_int_equal(tally(f, "many.example.com", 2000, &t, &more), 1025);
    assert_int_equal(more, 0);

    /* h1024 */
    r = rec_at(2024);
    r.host = "h1024.many.example.com";
    r.reg_domain = "example.com";
    add(f, &r);
    assert_int_equal(tally(f, "many.example.com", 3, &t, &more), 3);
    assert_int_equal(more, 1);
    assert_int_equal(t.first[0], 5000);
    assert_int_equal(t.first[1], 2024);
    assert_int_equal(t.first[2], 2023);
    assert_int_equal(tally(f, "many.example.com", 2000, &t, &more), 1026);
    assert_int_equal(more, 0);
    /* a host further down, with one host below it */
    r = rec_at(7000);
    r.host = "x.h7.many.example.com";
    r.reg_domain = "example.com";
    add(f, &r);
    assert_int_equal(tally(f, "h7.many.example.com", 10, &t, &more), 2);
    assert_int_equal(t.first[0], 7000);
    assert_int_equal(t.first[1], 1007);
}

static void test_other_types(void **state)
{
    fixture_t *f = *state;
    const char *sha = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
    ingest_rec_t r;
    seen_t seen;
    int more;

    r = rec_at(100);
    r.url = "https://www.example.com/a?b=1";
    r.sha256 = sha;
    r.amp_file_name = "setup.exe";
    r.user_agent = "Mozilla/5.0 (X11)";
    r.amp_verdict = 5;
    add(f, &r);
    r.time_ms = 200;
    r.url = "https://www.example.com/a";
    add(f, &r);

    assert_int_equal(count(f, OBS_URL, "https://www.example.com/a?b=1", NULL, NULL), 1);
    assert_int_equal(count(f, OBS_URL, "https://www.example.com/a", NULL, NULL), 1);
    assert_int_equal(count(f, OBS_URL, "https://www.example.com/", NULL, NULL), 0);
    assert_int_equal(count(f, OBS_SHA256, sha, NULL, NULL), 2);
    assert_int_equal(count(f, OBS_FILE_NAME, "setup.exe", NULL, NULL), 2);
    assert_int_equal(count(f, OBS_FILE_NAME, "SETUP.EXE", NULL, NULL), 0);
    assert_int_equal(count(f, OBS_USER_AGENT, "Mozilla/5.0 (X11)", NULL, NULL), 2);
    assert_int_equal(count(f, OBS_UNSUPPORTED, "x", NULL, NULL), 0);

    /* the row as the handlers see it */
    memset(&seen, 0, sizeof(seen));
    obs_t o = {.type = OBS_URL, .value = "u", .key = "https://www.example.com/a?b=1"};
    assert_int_equal(store_sightings(f->st, &o, 1, on_row, &seen, &more), 1);
    assert_int_equal(seen.times[0], 100);
}

/* The first row of a sighting walk, copied. */
typedef struct first_row {
    char appliance[32], action[32], source[32], raw[32];
    int amp_verdict, dest_port;
    int64_t offset;
} first_row_t;

static int on_first(const store_row_t *row, void *ctx)
{
    first_row_t *fr = ctx;

    snprintf(fr->appliance, sizeof(fr->appliance), "%s", row->appliance);
    snprintf(fr->action, sizeof(fr->action), "%s", row->action);
    snprintf(fr->source, sizeof(fr->source), "%s", row->source_name);
    snprintf(fr->raw, sizeof(fr->raw), "%s", row->raw);
    fr->amp_verdict = row->amp_verdict;
    fr->dest_port = row->dest_port;
    fr->offset = row->offset;
    return 1;
}

static void test_row_fields(void **state)
{
    fixture_t *f = *state;
    const char raw[] = {'a', '\xff', 'b'};
    ingest_rec_t r = rec_at(100);
    obs_t o = {.type = OBS_IP, .value = "10.1.1.1", .key = "10.1.1.1"};
    first_row_t fr;
    int more;

    r.client_ip = "10.1.1.1";
    r.action = INGEST_ACTION_BLOCKED;
    r.dest_port = 443;
    assert_int_equal(store_add_txn(f->st, f->source_id, 4242, f->appliance_id, &r, raw, 3), 1);
    assert_int_equal(store_sightings(f->st, &o, 5, on_first, &fr, &more), 1);
    assert_string_equal(fr.appliance, "wsa1");
    assert_string_equal(fr.action, "blocked");
    assert_string_equal(fr.source, "stdin");
    /* the invalid byte becomes U+FFFD */
    assert_string_equal(fr.raw, "a\xef\xbf\xbd"
                                "b");
    assert_int_equal(fr.amp_verdict, -1);
    assert_int_equal(fr.dest_port, 443);
    assert_int_equal(fr.offset, 4242);
}

static void test_evidence(void **state)
{
    fixture_t *f = *state;
    const char *s1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *s2 = "2222222222222222222222222222222222222222222222222222222222222222";
    const char *s3 = "3333333333333333333333333333333333333333333333333333333333333333";
    store_thresholds_t th = {.wbrs_block = -6.0};
    store_evidence_t ev;
    ingest_rec_t r;

    r = rec_at(1000);
    r.sha256 = s1;
    r.amp_verdict = 5;
    add(f, &r);
    r = rec_at(500);
    r.sha256 = s2;
    r.amp_verdict = 3;
    add(f, &r);
    r = rec_at(700);
    r.sha256 = s2;
    r.acl_tag = "BLOCK_AMW_RESP";
    add(f, &r);
    r = rec_at(900); /* newer, but neither rule holds */
    r.sha256 = s2;
    r.amp_verdict = 1;
    r.acl_tag = "DEFAULT_CASE";
    add(f, &r);
    r = rec_at(800);
    r.sha256 = s3;
    r.amp_verdict = 3;
    r.acl_tag = "BLOCK_WEBCAT";
    add(f, &r);

    obs_t o = {.type = OBS_SHA256, .value = s1, .key = s1};
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.disposition, 2);
    assert_int_equal(ev.latest_ms, 1000);
    assert_string_equal(ev.reason, "AMP file verdict malicious");
    assert_int_equal(store_evidence(f->st, &o, 1000, &th, &ev), 1);
    assert_int_equal(store_evidence(f->st, &o, 1001, &th, &ev), 0);
    assert_int_equal(ev.disposition, 0);
    o.key = s2;
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 700);
    assert_string_equal(ev.reason, "blocked by the appliance's anti-malware scanning");
    o.key = s3;
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);

    /* url: WBRS at or below the threshold, or a malware block tag */
    const char *u1 = "http://bad.example.org/x", *u2 = "http://amp.example.org/y";
    r = rec_at(100);
    r.url = u1;
    r.has_wbrs = 1;
    r.wbrs = -7.5;
    add(f, &r);
    r.time_ms = 300;
    r.wbrs = -5.9;
    add(f, &r);
    r = rec_at(50);
    r.url = u2;
    r.acl_tag = "BLOCK_AMP_RESP";
    add(f, &r);
    o = (obs_t){.type = OBS_URL, .value = u1, .key = u1};
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 100);
    assert_string_equal(ev.reason, "web reputation score at or below the block threshold");
    assert_int_equal(store_evidence(f->st, &o, 101, &th, &ev), 0);
    th.wbrs_block = -8.0;
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);
    th.wbrs_block = -5.9; /* at the threshold counts */
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 300);
    th.wbrs_block = -6.0;
    o.key = u2;
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 50);
    assert_string_equal(ev.reason, "blocked by the appliance's anti-malware scanning");

    /* domain and hostname: the host exactly, WBRS only */
    r = rec_at(1000);
    r.host = "bad.example.org";
    r.reg_domain = "example.org";
    r.has_wbrs = 1;
    r.wbrs = -9.0;
    add(f, &r);
    r.time_ms = 2000;
    r.host = "sub.bad.example.org";
    add(f, &r);
    r.time_ms = 3000;
    r.host = "bad.example.org";
    r.has_wbrs = 0;
    r.acl_tag = "BLOCK_AMW_RESP"; /* a malware tag is not evidence against a domain */
    add(f, &r);
    o = (obs_t){.type = OBS_DOMAIN,
                .value = "bad.example.org",
                .key = "bad.example.org",
                .key_reg_domain = "example.org"};
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 1000);
    assert_int_equal(store_evidence(f->st, &o, 1500, &th, &ev), 0);
    o.type = OBS_HOSTNAME;
    o.key = "sub.bad.example.org";
    assert_int_equal(store_evidence(f->st, &o, 1500, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 2000);

    /* never for addresses or users */
    r = rec_at(5000);
    r.client_ip = "10.9.9.9";
    r.has_wbrs = 1;
    r.wbrs = -10.0;
    r.user_name = "bob";
    add(f, &r);
    o = (obs_t){.type = OBS_IP, .value = "10.9.9.9", .key = "10.9.9.9"};
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);
    o = (obs_t){.type = OBS_USER, .value = "bob", .key = "bob"};
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);
}

static void test_deadline(void **state)
{
    fixture_t *f = *state;
    obs_t o = {.type = OBS_IP, .value = "10.5.5.5", .key = "10.5.5.5"};
    seen_t seen;
    int more;

    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 2000; i++) {
        ingest_rec_t r = rec_at(i);
        r.client_ip = "10.5.5.5";
        add(f, &r);
    }
    assert_int_equal(store_commit(f->st), 0);

    /* a deadline already past: the walk stops with an error that says so */
    memset(&seen, 0, sizeof(seen));
    store_set_deadline(f->st, util_monotonic_ms() - 1);
    assert_int_equal(store_sightings(f->st, &o, 60, on_row, &seen, &more), -1);
    assert_int_equal(store_interrupted(f->st), 1);
    assert_non_null(strstr(store_errmsg(f->st), "query deadline passed"));
    /* clearing the deadline keeps the answer until the next query */
    store_set_deadline(f->st, 0);
    assert_int_equal(store_interrupted(f->st), 1);

    /* a deadline far ahead, then none: both answer in full */
    store_set_deadline(f->st, util_monotonic_ms() + 60000);
    assert_int_equal(sightings(f, OBS_IP, "10.5.5.5", NULL, NULL, 60, &seen, &more), 60);
    assert_int_equal(store_interrupted(f->st), 0);
    store_set_deadline(f->st, 0);
    assert_int_equal(sightings(f, OBS_IP, "10.5.5.5", NULL, NULL, 60, &seen, &more), 60);
    assert_int_equal(more, 1);
    assert_int_equal(seen.times[0], 1999);
}

/* The merge of the hosts under a name gives up at the deadline like any walk. */
static void test_deadline_below(void **state)
{
    fixture_t *f = *state;
    obs_t o = {.type = OBS_DOMAIN,
               .value = "deep.example.com",
               .key = "deep.example.com",
               .key_reg_domain = "example.com"};
    seen_t seen;
    int more;

    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 2000; i++) {
        ingest_rec_t r = rec_at(i);
        r.host = i % 2 ? "a.deep.example.com" : "b.deep.example.com";
        r.reg_domain = "example.com";
        add(f, &r);
    }
    assert_int_equal(store_commit(f->st), 0);

    memset(&seen, 0, sizeof(seen));
    store_set_deadline(f->st, util_monotonic_ms() - 1);
    assert_int_equal(store_sightings(f->st, &o, 60, on_row, &seen, &more), -1);
    assert_int_equal(store_interrupted(f->st), 1);
    assert_non_null(strstr(store_errmsg(f->st), "query deadline passed"));
    store_set_deadline(f->st, 0);
    /* and the statements it left are usable: 1999 (a.deep), 1998 (b.deep), ... */
    assert_int_equal(
        sightings(f, OBS_DOMAIN, "deep.example.com", NULL, "example.com", 60, &seen, &more), 60);
    assert_int_equal(more, 1);
    assert_int_equal(seen.times[0], 1999);
    assert_int_equal(seen.times[59], 1940);
    assert_int_equal(store_interrupted(f->st), 0);
}

static void test_line_identity(void **state)
{
    fixture_t *f = *state;
    ingest_rec_t r = rec_at(1);
    sqlite3_stmt *s;

    assert_int_equal(store_add_txn(f->st, f->source_id, 7, f->appliance_id, &r, "x", 1), 1);
    /* the same (source, offset) again adds nothing */
    assert_int_equal(store_add_txn(f->st, f->source_id, 7, f->appliance_id, &r, "x", 1), 0);
    /* the same line at another offset is another transaction */
    assert_int_equal(store_add_txn(f->st, f->source_id, 8, f->appliance_id, &r, "x", 1), 1);
    assert_int_equal(store_add_reject(f->st, f->source_id, 9, "bad", 3, "bad elapsed"), 1);
    assert_int_equal(store_add_reject(f->st, f->source_id, 9, "bad", 3, "bad elapsed"), 0);
    assert_int_equal(sqlite3_prepare_v2(f->st->db, "SELECT reason, raw FROM rejects", -1, &s, NULL),
                     0);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "bad elapsed");
    assert_int_equal(sqlite3_column_type(s, 1), SQLITE_BLOB);
    assert_int_equal(sqlite3_column_bytes(s, 1), 3);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    /* an unknown appliance is refused by the foreign key */
    assert_int_equal(store_add_txn(f->st, f->source_id, 10, 999, &r, "x", 1), -1);
    assert_non_null(strstr(store_errmsg(f->st), "FOREIGN KEY"));
}

/* A file held in memory, read through the store's probe callback. */
typedef struct mem_file {
    const unsigned char *data;
    size_t len;
    int reads; /* read_at calls */
} mem_file_t;

static int mem_read_at(void *ctx, int64_t offset, void *buf, size_t len)
{
    mem_file_t *m = ctx;

    m->reads++;
    assert_true(offset >= 0 && (size_t)offset + len <= m->len);
    memcpy(buf, m->data + offset, len);
    return 0;
}

/* Opens the source of the first `len` bytes of `data`. */
static store_source_t open_mem(fixture_t *f, const char *name, const unsigned char *data,
                               size_t len, mem_file_t *m)
{
    store_probe_t p = {.head = data,
                       .head_len = len < STORE_SOURCE_PREFIX ? len : STORE_SOURCE_PREFIX,
                       .size = (int64_t)len,
                       .read_at = mem_read_at,
                       .ctx = m};
    store_source_t src;

    m->data = data;
    m->len = len;
    m->reads = 0;
    if (store_source_open(f->st, name, &p, &src) != 0)
        fail_msg("store_source_open(%s): %s", name, store_errmsg(f->st));
    return src;
}

/* Records that a source was read to `offset` of `data`, with the fingerprint there. */
static void commit_to(fixture_t *f, store_source_t *src, const unsigned char *data, int64_t offset)
{
    size_t n = offset < STORE_SOURCE_TAIL ? (size_t)offset : STORE_SOURCE_TAIL;

    src->offset = offset;
    src->size = offset;
    src->has_tail = 1;
    SHA256(data + offset - (int64_t)n, n, src->tail);
    assert_int_equal(store_source_update(f->st, src), 0);
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

/*
 * x: 2000 bytes, "abcdef" then 'a's to 1024, then 'x's; y: the same first 1024 bytes,
 * a 'Y' at 1200. Every expected id and offset follows from the rules in store.h.
 */
static void test_sources(void **state)
{
    fixture_t *f = *state;
    unsigned char x[2500], y[2000], other[STORE_SOURCE_PREFIX];
    store_source_t a, b, c;
    mem_file_t m;
    int64_t id;

    memset(x, 'a', 1024);
    memcpy(x, "abcdef", 6);
    memset(x + 1024, 'x', sizeof(x) - 1024);
    memcpy(y, x, sizeof(y));
    y[1200] = 'Y';
    memcpy(other, x, sizeof(other));
    other[1000] = 'Z';

    /* a 3-byte file, read whole, then the same file grown to 6 and to 1024 bytes */
    a = open_mem(f, "f1", x, 3, &m);
    assert_int_equal(a.offset, 0);
    a.lines = 1;
    commit_to(f, &a, x, 3);
    b = open_mem(f, "f1", x, 6, &m);
    assert_int_equal(b.id, a.id);
    assert_int_equal(b.offset, 3);
    assert_int_equal(b.lines, 1);
    /* the fingerprint at 3 was compared: one read of the file's first 3 bytes */
    assert_int_equal(m.reads, 1);
    b = open_mem(f, "renamed", x, 1024, &m);
    assert_int_equal(b.id, a.id);
    assert_int_equal(scalar(f, "SELECT length(head) FROM sources WHERE name = 'renamed'"), 1024);
    assert_int_equal(scalar(f, "SELECT prefix_len FROM sources WHERE name = 'renamed'"), 1024);
    /* an early copy (6 bytes) of the file the source now knows 1024 bytes of */
    b = open_mem(f, "early", x, 6, &m);
    assert_int_equal(b.id, a.id);
    assert_int_equal(b.offset, 3);
    assert_int_equal(b.size, 1024);
    /* a 1024-byte file differing at byte 1000 is another source */
    c = open_mem(f, "other", other, sizeof(other), &m);
    assert_true(c.id != a.id);
    assert_int_equal(c.offset, 0);
    /* a file differing in its first bytes is another source, found again by its head */
    c = open_mem(f, "f2", (const unsigned char *)"abX", 3, &m);
    assert_true(c.id != a.id);
    id = c.id;
    c = open_mem(f, "f2 again", (const unsigned char *)"abX", 3, &m);
    assert_int_equal(c.id, id);

    /* the source read to 1500 bytes of x: y agrees on the head but not before 1500 */
    commit_to(f, &a, x, 1500);
    c = open_mem(f, "y", y, sizeof(y), &m);
    assert_true(c.id != a.id && c.id != id);
    assert_int_equal(c.offset, 0);
    /* x grown to 2500 bytes continues at 1500 */
    b = open_mem(f, "x", x, 2500, &m);
    assert_int_equal(b.id, a.id);
    assert_int_equal(b.offset, 1500);

    /* stdin: a new source every time */
    assert_int_equal(store_source_open(f->st, "stdin", NULL, &b), 0);
    assert_int_equal(store_source_open(f->st, "stdin", NULL, &c), 0);
    assert_true(b.id != c.id);
    assert_true(b.id != a.id);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources WHERE head IS NULL"), 3);
}

/*
 * A file shorter than a source's offset: an early copy when the line stored last within
 * its length agrees with it, another file when that line differs.
 */
static void test_early_copy_check(void **state)
{
    fixture_t *f = *state;
    unsigned char x[1600], w[1200];
    ingest_rec_t r = rec_at(1000);
    store_source_t a, b;
    mem_file_t m;

    memset(x, 'a', 1024);
    memset(x + 1024, 'x', sizeof(x) - 1024);
    memcpy(x + 1024, "line at 1024\n", 13);
    memcpy(w, x, sizeof(w));
    w[1030] = 'W';
    a = open_mem(f, "x", x, sizeof(x), &m);
    /* the line "line at 1024" (12 bytes) stored at 1024; the source read to 1600 */
    assert_int_equal(store_add_txn(f->st, a.id, 1024, f->appliance_id, &r, (char *)x + 1024, 12),
                     1);
    commit_to(f, &a, x, 1600);

    /* 1200 bytes of x: line 1024 is whole in it and agrees */
    b = open_mem(f, "copy", x, 1200, &m);
    assert_int_equal(b.id, a.id);
    assert_int_equal(b.offset, 1600);
    /* 1030 bytes: the copy was taken inside that line, whose first 6 bytes agree */
    b = open_mem(f, "cut", x, 1030, &m);
    assert_int_equal(b.id, a.id);
    /* 1024 bytes: no stored line starts before its end, and the head agrees */
    b = open_mem(f, "head only", x, 1024, &m);
    assert_int_equal(b.id, a.id);
    /* w differs inside that line: another file, read from its start */
    b = open_mem(f, "w", w, sizeof(w), &m);
    assert_true(b.id != a.id);
    assert_int_equal(b.offset, 0);
    /*
     * Now the 1024 bytes could be an early copy of x or the start of w (nothing of it
     * committed yet): reading, which at worst repeats lines, wins over skipping.
     */
    assert_int_equal(open_mem(f, "head only", x, 1024, &m).id, b.id);
}

/*
 * A database of schema version 1 (tracking.sql as it was) with two sources: a 1024-byte
 * identity read to 1500, and a 3-byte identity ("abc") read to 3. Opened read-write it is
 * upgraded to the current version and both sources are still found through their identity.
 */
static void test_migrate_v1(void **state)
{
    fixture_t *f = *state;
    unsigned char x[2000], md[SHA256_DIGEST_LENGTH];
    char path[160], err[STORE_ERR_LEN], hex[2 * SHA256_DIGEST_LENGTH + 1], sql[512];
    store_source_t a;
    mem_file_t m;
    store_t *ro = NULL;
    sqlite3 *db;

    memset(x, 'q', sizeof(x));
    memcpy(x, "abc", 3);
    snprintf(path, sizeof(path), "%s/v1.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store_schema_sql, NULL, NULL, NULL), SQLITE_OK);
    SHA256(x, 1024, md);
    util_hex(md, sizeof(md), hex);
    snprintf(sql, sizeof(sql),
             "INSERT INTO sources (id, identity, prefix_len, name, size, offset, lines,"
             " first_seen_ms, last_seen_ms) VALUES (7, '%s', 1024, 'old.log', 1500, 1500, 9,"
             " 1, 1)",
             hex);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    SHA256(x, 3, md);
    util_hex(md, sizeof(md), hex);
    /* another file's identity of 3 bytes, "abc" too: only prefix_len tells them apart */
    snprintf(sql, sizeof(sql),
             "INSERT INTO sources (id, identity, prefix_len, name, size, offset, lines,"
             " first_seen_ms, last_seen_ms) VALUES (8, '%s', 3, 'tiny.log', 3, 3, 1, 1, 1)",
             hex);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* read-only, it must be upgraded first */
    assert_int_equal(store_open(&ro, path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(sql, sizeof(sql), "schema version 1, this build needs %d", store_schema_version());
    assert_non_null(strstr(err, sql));
    store_close(f->st);
    assert_int_equal(store_open(&f->st, path, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_int_equal(scalar(f, "PRAGMA user_version"), store_schema_version());
    assert_int_equal(scalar(f, "SELECT count(*) FROM sources WHERE head IS NULL"), 2);

    /* a 1200-byte early copy of old.log: nothing to read, and the source stays as it was */
    a = open_mem(f, "copy", x, 1200, &m);
    assert_int_equal(a.id, 7);
    assert_int_equal(a.offset, 1500);
    assert_int_equal(scalar(f, "SELECT identity IS NOT NULL FROM sources WHERE id = 7"), 1);
    /* old.log grown to 2000 bytes: the same source, which now keeps its head instead */
    a = open_mem(f, "old.log", x, sizeof(x), &m);
    assert_int_equal(a.id, 7);
    assert_int_equal(a.offset, 1500);
    assert_int_equal(a.lines, 9);
    assert_int_equal(scalar(f, "SELECT identity IS NULL AND length(head) = 1024 FROM sources "
                               "WHERE id = 7"),
                     1);
    /* "abc" alone: tiny.log, whose 3-byte identity is the longest that matches */
    a = open_mem(f, "tiny.log", x, 3, &m);
    assert_int_equal(a.id, 8);
    assert_int_equal(a.offset, 3);
    assert_int_equal(scalar(f, "SELECT length(head) FROM sources WHERE id = 8"), 3);
    /* and old.log is found again through its head */
    a = open_mem(f, "old.log", x, sizeof(x), &m);
    assert_int_equal(a.id, 7);
    assert_int_equal(store_open(&ro, path, STORE_READ_ONLY, err, sizeof(err)), 0);
    assert_int_equal(store_healthy(ro), 1);
    store_close(ro);
}

/*
 * A database of schema version 2 with rows of odd hosts. Opened read-write, it passes
 * through host_rev (version 3) to tx_keys: every column index is gone, and
 * each row has its keys, 23 in all (the host and each name down to the registered domain:
 * 3 + 3 + 4 + 5 for the first four, 1 each for example.com and the IP literal, 4 for
 * a..b.example.com whose empty label still ends a name, 2 for bucher, none without a host;
 * version 4 enters the host itself with the code of today, under its own key, so version
 * 6, which adds that key to older rows, finds it there already).
 * A deeper name then finds its rows.
 */
static void test_migrate_v2(void **state)
{
    fixture_t *f = *state;
    static const char *const rows[][3] = {
        {"evil.s3.example.com", "example.com", "com.example.s3.evil"},
        {"notevil.s3.example.com", "example.com", "com.example.s3.notevil"},
        {"x.evil.s3.example.com", "example.com", "com.example.s3.evil.x"},
        {"evil.s3.example.com.attacker.net", "attacker.net", "net.attacker.com.example.s3.evil"},
        {"example.com", "example.com", "(null)"},
        {"192.0.2.1", NULL, "(null)"},
        {"a..b.example.com", "example.com", "com.example.b..a"},
        {"b\xc3\xbc"
         "cher.example.com",
         "example.com",
         "com.example.b\xc3\xbc"
         "cher"},
        {NULL, NULL, "(null)"},
    };
    char path[160], err[STORE_ERR_LEN], want[64];
    store_t *ro = NULL;
    seen_t seen;
    int more = -1;
    sqlite3 *db;
    sqlite3_stmt *s;

    snprintf(path, sizeof(path), "%s/v2.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store_schema_sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store_migration_v2_sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO appliances (id, name, first_seen_ms, last_seen_ms)"
                                  " VALUES (1, 'wsa1', 1, 1);"
                                  "INSERT INTO sources (id, prefix_len, name, first_seen_ms,"
                                  " last_seen_ms) VALUES (1, 0, 'stdin', 1, 1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    /* row i + 1 at time 100 * (i + 1) */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO transactions (id, time_ms, elapsed_ms, host,"
                                        " reg_domain, action, appliance_id, source_id, offset,"
                                        " raw) VALUES (?1, ?1 * 100, 0, ?2, ?3, 'allowed', 1, 1,"
                                        " ?1, 'raw')",
                                        -1, &s, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sqlite3_bind_int64(s, 1, (int64_t)i + 1);
        sqlite3_bind_text(s, 2, rows[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, rows[i][1], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);

    /* read-only, it must be upgraded first */
    assert_int_equal(store_open(&ro, path, STORE_READ_ONLY, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "schema version 2, this build needs %d", store_schema_version());
    assert_non_null(strstr(err, want));
    store_close(f->st);
    assert_int_equal(store_open(&f->st, path, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_int_equal(scalar(f, "PRAGMA user_version"), store_schema_version());
    /* the column stays (dropping it rewrites every row), its index goes */
    assert_int_equal(scalar(f, "SELECT count(*) FROM pragma_table_info('transactions')"
                               " WHERE name = 'host_rev'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                               " AND tbl_name = 'transactions' AND sql IS NOT NULL"),
                     0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM tx_keys"), 23);
    /* the migration's own table is gone */
    assert_int_equal(scalar(f, "SELECT count(*) FROM sqlite_temp_schema"), 0);

    assert_int_equal(store_open(&ro, path, STORE_READ_ONLY, err, sizeof(err)), 0);
    store_close(f->st);
    f->st = ro;
    /* x.evil.s3 (row 3, time 300), then evil.s3 (row 1, time 100) */
    assert_int_equal(
        sightings(f, OBS_DOMAIN, "evil.s3.example.com", NULL, "example.com", 10, &seen, &more), 2);
    assert_int_equal(seen.ids[0], 3);
    assert_int_equal(seen.ids[1], 1);
    assert_int_equal(count(f, OBS_DOMAIN, "b.example.com", NULL, "example.com"), 1);
    assert_int_equal(count(f, OBS_DOMAIN,
                           "b\xc3\xbc"
                           "cher.example.com",
                           NULL, "example.com"),
                     1);
    assert_int_equal(count(f, OBS_DOMAIN, "s3.example.com", NULL, "example.com"), 3);
}

/*
 * The key of a kind and value is FNV-1a 64 over the kind byte and the bytes (values from
 * the published FNV-1a definition, worked out apart from this code); user names fold ASCII
 * case. In partition 3, the top bits are 3 and the low 44 bits the hash's.
 */
static void test_key_values(void **state)
{
    (void)state;
    assert_int_equal(store__key(STORE_KEY_IP, "10.0.0.1", 8), (int64_t)0x7014bd5e1a428f68);
    assert_int_equal(store__key(STORE_KEY_USER, "alice", 5), (int64_t)0x803238de61226f6bULL);
    assert_int_equal(store__key(STORE_KEY_USER, "ALICE", 5), (int64_t)0x803238de61226f6bULL);
    assert_int_equal(store__key(STORE_KEY_HOST, "", 0), (int64_t)0xaf63e54c8601fbd7ULL);
    assert_int_equal(store__part_key(3, store__key(STORE_KEY_IP, "10.0.0.1", 8)),
                     (INT64_C(3) << 44) | INT64_C(0xd5e1a428f68));
    assert_int_equal(store__part_key(3, store__key(STORE_KEY_USER, "alice", 5)),
                     (INT64_C(3) << 44) | INT64_C(0x8de61226f6b));
}

/* Moves the next row id to `id` with a bare row there (no keys: it is never a sighting). */
static void skip_ids_to(fixture_t *f, int64_t id)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "INSERT INTO transactions (id, time_ms, elapsed_ms, action, appliance_id,"
             " source_id, offset, raw) VALUES (%lld, 0, 0, 'allowed', %lld, %lld, %lld, 'x')",
             (long long)id - 1, (long long)f->appliance_id, (long long)f->source_id,
             (long long)f->next_offset);
    f->next_offset += 100;
    assert_int_equal(sqlite3_exec(f->st->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/*
 * Rows of one address in three partitions (ids 1-2, 2^17 and up, 2^18 and up), their
 * times interleaved: the answer is newest first across them, the limit and `more` hold
 * over the merge, and evidence finds the newest qualifying row in any partition and
 * respects its lower time bound.
 */
static void test_key_partitions(void **state)
{
    fixture_t *f = *state;
    static const int64_t times[] = {100, 600, 300, 400, 500, 200};
    int64_t id[6];
    seen_t seen;
    int more = -1;

    for (int i = 0; i < 6; i++) {
        ingest_rec_t r = rec_at(times[i]);
        if (i == 2)
            skip_ids_to(f, INT64_C(1) << 17);
        if (i == 4)
            skip_ids_to(f, INT64_C(1) << 18);
        r.client_ip = "198.51.100.9";
        r.url = "http://bad.example.net/x";
        r.host = "bad.example.net";
        r.reg_domain = "example.net";
        if (i == 2 || i == 5) {
            r.has_wbrs = 1;
            r.wbrs = -9.0;
        }
        id[i] = add(f, &r);
    }
    assert_int_equal(id[2], INT64_C(1) << 17);
    assert_int_equal(id[4], INT64_C(1) << 18);
    assert_int_equal(scalar(f, "SELECT count(DISTINCT key >> 44) FROM tx_keys"), 3);

    assert_int_equal(sightings(f, OBS_IP, "198.51.100.9", NULL, NULL, 10, &seen, &more), 6);
    assert_int_equal(more, 0);
    assert_int_equal(seen.times[0], 600);
    assert_int_equal(seen.times[1], 500);
    assert_int_equal(seen.times[2], 400);
    assert_int_equal(seen.times[3], 300);
    assert_int_equal(seen.times[4], 200);
    assert_int_equal(seen.times[5], 100);
    assert_int_equal(seen.ids[0], id[1]);
    assert_int_equal(seen.ids[5], id[0]);
    assert_int_equal(sightings(f, OBS_IP, "198.51.100.9", NULL, NULL, 4, &seen, &more), 4);
    assert_int_equal(more, 1);
    assert_int_equal(seen.times[3], 300);
    /* newest times: 600, 400, 500; a partition without one is opened first, not skipped */
    assert_int_equal(scalar(f, "SELECT sum(max_time_ms * (part + 1)) FROM tx_parts"),
                     600 + 2 * 400 + 3 * 500);
    assert_int_equal(
        sqlite3_exec(f->st->db, "DELETE FROM tx_parts WHERE part = 1", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sightings(f, OBS_IP, "198.51.100.9", NULL, NULL, 10, &seen, &more), 6);
    assert_int_equal(seen.times[0], 600);
    assert_int_equal(seen.times[2], 400);
    assert_int_equal(seen.times[5], 100);

    /* evidence: WBRS -9 at 300 (partition 1) and 200 (partition 2) */
    obs_t o = {.type = OBS_URL, .value = "x", .key = "http://bad.example.net/x"};
    store_thresholds_t th = {.wbrs_block = -6.0};
    store_evidence_t ev;
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 300);
    assert_int_equal(store_evidence(f->st, &o, 301, &th, &ev), 0);
    o = (obs_t){.type = OBS_HOSTNAME,
                .value = "bad.example.net",
                .key = "bad.example.net",
                .key_reg_domain = "example.net"};
    assert_int_equal(store_evidence(f->st, &o, 250, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 300);
    /* the registered domain has the rows but not as its own host: no evidence */
    o.key = "example.net";
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);
    assert_int_equal(count(f, OBS_DOMAIN, "example.net", NULL, "example.net"), 6);
}

/* Candidate rows store_evidence read (STORE_Q_EVID_ID runs) since the last call. */
static int evidence_rows_read(fixture_t *f)
{
    sqlite3_stmt *s = f->st->stmt[STORE_Q_EVID_ID];

    return s != NULL ? sqlite3_stmt_status(s, SQLITE_STMTSTATUS_RUN, 1) : 0;
}

/*
 * A domain's evidence is its own host's rows: 40 blocked rows of www.shop.example.org
 * (times 1000 to 1039) are not example.org's evidence and are not even read for it, only
 * example.org's own two rows are (score 3 at 500, -8 at 200). Sightings still find all 42.
 */
static void test_evidence_own_host(void **state)
{
    fixture_t *f = *state;
    store_thresholds_t th = {.wbrs_block = -6.0};
    store_evidence_t ev;
    obs_t o = {
        .type = OBS_DOMAIN, .value = "x", .key = "example.org", .key_reg_domain = "example.org"};

    for (int i = 0; i < 40; i++) {
        ingest_rec_t r = rec_at(1000 + i);
        r.host = "www.shop.example.org";
        r.reg_domain = "example.org";
        r.has_wbrs = 1;
        r.wbrs = -9.0;
        add(f, &r);
    }
    for (int i = 0; i < 2; i++) {
        ingest_rec_t r = rec_at(i == 0 ? 500 : 200);
        r.host = "example.org";
        r.reg_domain = "example.org";
        r.has_wbrs = 1;
        r.wbrs = i == 0 ? 3.0 : -8.0;
        add(f, &r);
    }
    evidence_rows_read(f);
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 200);
    assert_int_equal(evidence_rows_read(f), 2);
    assert_int_equal(store_evidence(f->st, &o, 201, &th, &ev), 0);
    assert_int_equal(evidence_rows_read(f), 1);
    o.type = OBS_HOSTNAME;
    o.key = "www.shop.example.org";
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 1039);
    assert_int_equal(evidence_rows_read(f), 1);
    /* a name between them has no rows of its own */
    o.key = "shop.example.org";
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);
    assert_int_equal(evidence_rows_read(f), 0);
    assert_int_equal(count(f, OBS_DOMAIN, "example.org", NULL, "example.org"), 42);
    assert_int_equal(count(f, OBS_DOMAIN, "shop.example.org", NULL, "example.org"), 40);
}

/*
 * A host of 5,000 labels under example.com (10,011 bytes) is entered whole (as itself)
 * and under each name above it of at most 8,192 bytes, the longest an observable can be:
 * "a." 4,090 times and "example.com" is 8,191 bytes, so the names are k = 0 to 4,090
 * repeats, 4,091 of them, 4,092 entries in all. Every name that can
 * be asked for finds the row; hashing all 5,000 names took time in the square of the length.
 */
static void test_key_many_labels(void **state)
{
    fixture_t *f = *state;
    size_t labels = 5000, tail = strlen("example.com");
    char *host = malloc(2 * labels + tail + 1);
    ingest_rec_t r = rec_at(1000);

    assert_non_null(host);
    for (size_t i = 0; i < labels; i++)
        memcpy(host + 2 * i, "a.", 2);
    memcpy(host + 2 * labels, "example.com", tail + 1);
    r.host = host;
    r.reg_domain = "example.com";
    add(f, &r);
    assert_int_equal(scalar(f, "SELECT count(*) FROM tx_keys"), 4092);
    assert_int_equal(count(f, OBS_DOMAIN, "example.com", NULL, "example.com"), 1);
    assert_int_equal(count(f, OBS_DOMAIN, host + 2 * (labels - 4090), NULL, "example.com"), 1);
    assert_int_equal(count(f, OBS_DOMAIN, host + 2 * (labels - 2), NULL, "example.com"), 1);
    assert_int_equal(count(f, OBS_DOMAIN, host, NULL, "example.com"), 1);
    /* 8,193 bytes: longer than any observable, not entered */
    assert_int_equal(count(f, OBS_DOMAIN, host + 2 * (labels - 4091), NULL, "example.com"), 0);
    free(host);
}

/*
 * A version 5 database (its rows without the host-alone key: removed here, and the
 * version set back) gets the key for every row with a host when opened read-write, and
 * a domain's evidence is found again: 3 keys for a.example.org, example.org and the IP
 * literal, none for the row without a host.
 */
static void test_migrate_host_exact(void **state)
{
    fixture_t *f = *state;
    static const char *const hosts[] = {"a.example.org", "example.org", "192.0.2.1", NULL};
    store_thresholds_t th = {.wbrs_block = -6.0};
    obs_t o = {
        .type = OBS_DOMAIN, .value = "x", .key = "example.org", .key_reg_domain = "example.org"};
    store_evidence_t ev;
    char err[STORE_ERR_LEN], sql[256];
    int64_t id[4], all;

    for (int i = 0; i < 4; i++) {
        ingest_rec_t r = rec_at(100 * (i + 1));
        r.host = hosts[i];
        r.reg_domain = i < 2 ? "example.org" : NULL;
        r.has_wbrs = 1;
        r.wbrs = -9.0;
        id[i] = add(f, &r);
    }
    all = scalar(f, "SELECT count(*) FROM tx_keys");
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof(sql), "DELETE FROM tx_keys WHERE key = %lld AND id = %lld",
                 (long long)store__part_key(
                     0, store__key(STORE_KEY_HOST_EXACT, hosts[i], strlen(hosts[i]))),
                 (long long)id[i]);
        assert_int_equal(sqlite3_exec(f->st->db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    assert_int_equal(scalar(f, "SELECT count(*) FROM tx_keys"), all - 3);
    assert_int_equal(sqlite3_exec(f->st->db, "PRAGMA user_version = 5", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 0);

    store_close(f->st);
    assert_int_equal(store_open(&f->st, f->path, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_int_equal(scalar(f, "PRAGMA user_version"), 6);
    assert_int_equal(scalar(f, "SELECT count(*) FROM tx_keys"), all);
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 200);
    o.key = "a.example.org";
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 100);
    o = (obs_t){.type = OBS_DOMAIN, .value = "x", .key = "192.0.2.1"};
    assert_int_equal(store_evidence(f->st, &o, 0, &th, &ev), 1);
    assert_int_equal(ev.latest_ms, 300);
}

/* The sightings callback of test_walk_one_snapshot: a writer commits a newer row mid-walk. */
typedef struct midwalk {
    fixture_t *f;
    seen_t seen;
} midwalk_t;

static int commit_newer_row(const store_row_t *row, void *ctx)
{
    midwalk_t *m = ctx;
    char err[STORE_ERR_LEN];
    ingest_rec_t r = rec_at(200);
    store_t *w = NULL;

    m->seen.ids[m->seen.n] = row->id;
    m->seen.times[m->seen.n++] = row->time_ms;
    if (m->seen.n == 1) {
        r.client_ip = "198.51.100.77";
        assert_int_equal(store_open(&w, m->f->path, STORE_READ_WRITE, err, sizeof(err)), 0);
        assert_int_equal(store_add_txn(w, m->f->source_id, m->f->next_offset, m->f->appliance_id,
                                       &r, "raw line", 8),
                         1);
        m->f->next_offset += 100;
        store_close(w);
    }
    return 0;
}

/*
 * One answer reads one snapshot, as one SQL statement did: a row committed while the walk
 * runs (time 200, in partition 1, whose newest time the walk had read as 50) is not part
 * of it. Read in a later snapshot, it came after the row of time 100: out of order.
 */
static void test_walk_one_snapshot(void **state)
{
    fixture_t *f = *state;
    midwalk_t m = {.f = f};
    obs_t o = {.type = OBS_IP, .value = "x", .key = "198.51.100.77"};
    ingest_rec_t r = rec_at(100);
    int more = -1;

    r.client_ip = "198.51.100.77";
    add(f, &r);
    skip_ids_to(f, INT64_C(1) << 17);
    r.time_ms = 50;
    assert_int_equal(add(f, &r), INT64_C(1) << 17);
    assert_int_equal(store_sightings(f->st, &o, 10, commit_newer_row, &m, &more), 2);
    assert_int_equal(more, 0);
    assert_int_equal(m.seen.times[0], 100);
    assert_int_equal(m.seen.times[1], 50);
    /* the next answer has it, first */
    memset(&m.seen, 0, sizeof(m.seen));
    assert_int_equal(store_sightings(f->st, &o, 10, commit_newer_row, &m, &more), 3);
    assert_int_equal(m.seen.times[0], 200);
    assert_int_equal(m.seen.times[1], 100);
    assert_int_equal(m.seen.times[2], 50);
}

/*
 * A key only finds candidates: an entry that a colliding value would make (here written
 * by hand, pointing the key of 203.0.113.5 at a row of another address) is checked
 * against the row and not counted, for sightings and for evidence alike.
 */
static void test_key_collision_checked(void **state)
{
    fixture_t *f = *state;
    ingest_rec_t r = rec_at(1000);
    char sql[256];
    int64_t id;

    r.client_ip = "192.0.2.44";
    r.sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    r.amp_verdict = 5;
    id = add(f, &r);
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO tx_keys (key, time_ms, id) VALUES (%lld, 1000, %lld),"
        " (%lld, 1000, %lld)",
        (long long)store__part_key(0, store__key(STORE_KEY_IP, "203.0.113.5", 11)), (long long)id,
        (long long)store__part_key(
            0, store__key(STORE_KEY_SHA256,
                          "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 64)),
        (long long)id);
    assert_int_equal(sqlite3_exec(f->st->db, sql, NULL, NULL, NULL), SQLITE_OK);

    assert_int_equal(count(f, OBS_IP, "203.0.113.5", NULL, NULL), 0);
    assert_int_equal(count(f, OBS_IP, "192.0.2.44", NULL, NULL), 1);
    obs_t o = {.type = OBS_SHA256,
               .value = "x",
               .key = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
    store_evidence_t ev;
    assert_int_equal(store_evidence(f->st, &o, 0, NULL, &ev), 0);
    o.key = r.sha256;
    assert_int_equal(store_evidence(f->st, &o, 0, NULL, &ev), 1);
    assert_int_equal(ev.latest_ms, 1000);
}

/*
 * Rows stored by versions 4 and 5 have their host under STORE_KEY_HOST as well as (after
 * version 6) under STORE_KEY_HOST_EXACT: a domain's walk reads both keys and gives such a
 * row once, in its place. Here the old entry is written by hand beside a new row's keys.
 */
static void test_key_old_host_entry(void **state)
{
    fixture_t *f = *state;
    ingest_rec_t r = rec_at(500);
    char sql[256];
    seen_t seen;
    int64_t id[3];
    int more = -1;

    r.host = "example.com";
    r.reg_domain = "example.com";
    id[0] = add(f, &r);
    r = rec_at(700);
    r.host = "www.example.com";
    r.reg_domain = "example.com";
    id[1] = add(f, &r);
    r = rec_at(600);
    r.host = "example.com";
    r.reg_domain = "example.com";
    id[2] = add(f, &r);
    /* 1 + 2 + 1 entries: each host itself, and www's name above it */
    assert_int_equal(scalar(f, "SELECT count(*) FROM tx_keys"), 4);
    snprintf(sql, sizeof(sql), "INSERT INTO tx_keys (key, time_ms, id) VALUES (%lld, 500, %lld)",
             (long long)store__part_key(0, store__key(STORE_KEY_HOST, "example.com", 11)),
             (long long)id[0]);
    assert_int_equal(sqlite3_exec(f->st->db, sql, NULL, NULL, NULL), SQLITE_OK);

    assert_int_equal(sightings(f, OBS_DOMAIN, "example.com", NULL, "example.com", 10, &seen, &more),
                     3);
    assert_int_equal(more, 0);
    assert_int_equal(seen.ids[0], id[1]);
    assert_int_equal(seen.ids[1], id[2]);
    assert_int_equal(seen.ids[2], id[0]);
    assert_int_equal(sightings(f, OBS_DOMAIN, "example.com", NULL, "example.com", 2, &seen, &more),
                     2);
    assert_int_equal(more, 1);
    /* the hostname www.example.com: its own row only */
    assert_int_equal(count(f, OBS_HOSTNAME, "www.example.com", NULL, "example.com"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthy_says_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_waits_for_creation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_as_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_old_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_limit_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_client_or_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_below, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_below_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_below, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_copy_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_own_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_many_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_one_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_host_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_collision_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_old_host_entry, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
