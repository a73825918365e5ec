/*
 * test_admin.c - the store's administration side: appliances with their rows and last
 * sighting, the rejected lines newest first, and parsing rejected lines again (also
 * through `wsa-relay rejects --retry`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "../../service/load_reader.h"
#include "../../service/store_priv.h"
#include "store.h"

/* An access record without a syslog header: 1651830000.490 is 2022-05-06T09:40:00.490Z. */
static const char clean_line[] =
    "1651830000.490 90 10.147.88.13 TCP_MISS/200 0 TCP_CONNECT 10.10.10.1:443 - DIRECT/url - "
    "PASSTHRU_WBRS_7-DefaultGroup-LCAB.AuthExemptSource.ID-NONE-NONE-NONE-DefaultGroup-NONE "
    "<\"IW_comp\",9.0,1,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,\"IW_comp\",-,\"-\","
    "\"Computers and Internet\",\"-\",\"Unknown\",\"Unknown\",\"-\",\"-\",0.00,0,-,\"-\",\"-\",-,"
    "\"-\",-,-,\"-\",\"-\",-,-,\"-\",-,-> -";

/* One behind a syslog header naming host wsa02: 1700000012.000 is 2023-11-14T22:13:32Z. */
static const char syslog_line[] =
    "<134>Jan  5 01:02:03 wsa02 accesslogs: 1700000012.000 4 192.0.2.48 TCP_MISS/200 64 GET "
    "http://padded.example.com/ - DIRECT/padded.example.com text/html "
    "DEFAULT_CASE_12-AP1-ID1-NONE-NONE-NONE-DefaultGroup-NONE <\"IW_comp\",6.9,1,\"-\",-,-,-,-,"
    "\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,\"IW_comp\",-,\"-\",\"Computers and Internet\",\"-\","
    "\"Unknown\",\"Unknown\",\"-\",\"-\",12.50,0,-,\"-\",\"-\",-,\"-\",-,-,\"-\",\"-\",-,-,\"-\","
    "-,-> - -";

/* An access record whose client address is no address: rejected. */
static const char bad_ip_line[] =
    "1700000021.000 5 192.0.2.300 TCP_MISS/200 10 GET http://r.example.com/ - "
    "DIRECT/r.example.com - DEFAULT_CASE-AP-ID-NONE-NONE-NONE <IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,"
    "-,-> -";

typedef struct fixture {
    char dir[64];
    char db[128];
    store_t *st;
    ingest_parser_t *parser;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[STORE_ERR_LEN];

    snprintf(f->dir, sizeof(f->dir), "/tmp/wr-admin-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
    assert_int_equal(store_open(&f->st, f->db, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_non_null(f->parser = ingest_parser_new());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[160];

    store_close(f->st);
    ingest_parser_free(f->parser);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
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

static int64_t new_source(fixture_t *f)
{
    store_source_t src;

    assert_int_equal(store_source_open(f->st, "stdin", NULL, &src), 0);
    return src.id;
}

static int64_t appliance(fixture_t *f, const char *name)
{
    int64_t id;

    assert_int_equal(store_appliance_id(f->st, name, &id), 0);
    return id;
}

/* Stores `line` (an access record) as the transaction (source, offset) of `appliance_id`. */
static void add_txn(fixture_t *f, int64_t source, int64_t offset, int64_t appliance_id,
                    const char *line)
{
    ingest_rec_t rec;
    char reason[256];

    memset(&rec, 0, sizeof(rec));
    assert_int_equal(ingest_parse_line(f->parser, line, strlen(line), &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_int_equal(store_add_txn(f->st, source, offset, appliance_id, &rec, line, strlen(line)),
                     1);
}

static void add_reject(fixture_t *f, int64_t source, int64_t offset, const char *line, size_t len,
                       const char *reason)
{
    assert_int_equal(store_add_reject(f->st, source, offset, line, len, reason), 1);
}

typedef struct seen {
    int n;
    char names[8][32];
    int64_t rows[8], last[8], offsets[8];
    char reasons[8][64];
    size_t rawlens[8];
} seen_t;

static int see_appliance(const store_appliance_info_t *a, void *ctx)
{
    seen_t *s = ctx;

    assert_true(s->n < 8);
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", a->name);
    s->rows[s->n] = a->rows;
    s->last[s->n] = a->last_ms;
    s->n++;
    return 0;
}

static int see_reject(const store_reject_info_t *r, void *ctx)
{
    seen_t *s = ctx;

    assert_true(s->n < 8);
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", r->source_name);
    snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s", r->reason);
    s->offsets[s->n] = r->offset;
    s->rawlens[s->n] = r->rawlen;
    s->n++;
    return 0;
}

/*
 * Sorted bytewise ("Zed" before "alpha"), with rows and the newest time of each; an
 * appliance without transactions has 0 rows and no time.
 */
static void test_appliances(void **state)
{
    fixture_t *f = *state;
    int64_t src = new_source(f), wsa02, alpha;
    seen_t seen = {0};

    assert_int_equal(store_appliances(f->st, see_appliance, &seen), 0);
    wsa02 = appliance(f, "wsa02");
    alpha = appliance(f, "alpha");
    appliance(f, "Zed");
    add_txn(f, src, 0, wsa02, syslog_line);
    add_txn(f, src, 1000, wsa02, clean_line);
    add_txn(f, src, 2000, alpha, clean_line);

    assert_int_equal(store_appliances(f->st, see_appliance, &seen), 3);
    assert_string_equal(seen.names[0], "Zed");
    assert_int_equal(seen.rows[0], 0);
    assert_int_equal(seen.last[0], -1);
    assert_string_equal(seen.names[1], "alpha");
    assert_int_equal(seen.rows[1], 1);
    assert_int_equal(seen.last[1], 1651830000490);
    assert_string_equal(seen.names[2], "wsa02");
    assert_int_equal(seen.rows[2], 2);
    assert_int_equal(seen.last[2], 1700000012000);
}

/* Newest first: rows added in the same millisecond come latest-added first; the limit holds. */
static void test_rejects_listing(void **state)
{
    fixture_t *f = *state;
    int64_t src = new_source(f);
    seen_t seen = {0};

    assert_int_equal(store_rejects(f->st, 50, see_reject, &seen), 0);
    add_reject(f, src, 0, "first", 5, "reason one");
    add_reject(f, src, 10, "second", 6, "reason two");
    add_reject(f, src, 30, "third\0bytes", 11, "reason three");
    assert_int_equal(
        sqlite3_exec(f->st->db, "UPDATE rejects SET added_ms = 1000", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(f->st->db, "UPDATE rejects SET added_ms = 500 WHERE offset = 30",
                                  NULL, NULL, NULL),
                     SQLITE_OK);

    assert_int_equal(store_rejects(f->st, 2, see_reject, &seen), 2);
    assert_int_equal(seen.offsets[0], 10);
    assert_string_equal(seen.reasons[0], "reason two");
    assert_string_equal(seen.names[0], "stdin");
    assert_int_equal(seen.rawlens[0], 6);
    assert_int_equal(seen.offsets[1], 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_rejects(f->st, 50, see_reject, &seen), 3);
    /* the oldest, with its bytes whole past the NUL */
    assert_int_equal(seen.offsets[2], 30);
    assert_int_equal(seen.rawlens[2], 11);
}

/*
 * Four rejects of one source whose line at offset 0 is stored (appliance wsa-forced): a
 * valid record without a syslog host (moved, the neighbour's appliance), one with host
 * wsa02 (moved, wsa02), one still bad and one cut at the length limit (both kept as they
 * are). Again: nothing moves.
 */
static void test_retry(void **state)
{
    fixture_t *f = *state;
    int64_t src = new_source(f), forced = appliance(f, "wsa-forced");
    store_retry_counts_t c = {0};
    char *huge = malloc(LOAD_MAX_LINE), sql[128];

    assert_non_null(huge);
    memset(huge, 'x', LOAD_MAX_LINE);
    add_txn(f, src, 0, forced, clean_line);
    add_reject(f, src, 500, clean_line, strlen(clean_line), "an older parser's reason");
    add_reject(f, src, 1000, syslog_line, strlen(syslog_line), "an older parser's reason");
    add_reject(f, src, 1500, bad_ip_line, strlen(bad_ip_line), "an older parser's reason");
    add_reject(f, src, 2000, huge, LOAD_MAX_LINE, "line of 2000000 bytes is too long");
    free(huge);
    assert_int_equal(sqlite3_exec(f->st->db, "UPDATE sources SET rejects = 4", NULL, NULL, NULL),
                     SQLITE_OK);

    assert_int_equal(store_rejects_retry(f->st, NULL, &c), 0);
    assert_int_equal(c.retried, 4);
    assert_int_equal(c.moved, 2);
    assert_int_equal(c.still_rejected, 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 3);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE t.offset = 500 AND a.name = "
                               "'wsa-forced' AND t.time_ms = 1651830000490"),
                     1);
    snprintf(sql, sizeof(sql), "SELECT length(raw) = %zu FROM transactions WHERE offset = 500",
             strlen(clean_line));
    assert_int_equal(scalar(f, sql), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances a ON "
                               "a.id = t.appliance_id WHERE t.offset = 1000 AND "
                               "a.name = 'wsa02' AND t.time_ms = 1700000012000"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects WHERE offset = 1500 AND "
                               "reason = 'an older parser''s reason'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects WHERE offset = 2000 AND "
                               "reason = 'line of 2000000 bytes is too long'"),
                     1);
    assert_int_equal(scalar(f, "SELECT rejects FROM sources"), 2);

    memset(&c, 0, sizeof(c));
    assert_int_equal(store_rejects_retry(f->st, NULL, &c), 0);
    assert_int_equal(c.retried, 2);
    assert_int_equal(c.moved, 0);
    assert_int_equal(c.still_rejected, 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions"), 3);
}

/* A forced appliance wins over the syslog host; with neither host nor neighbour: default. */
static void test_retry_appliance(void **state)
{
    fixture_t *f = *state;
    int64_t a = new_source(f), b = new_source(f);
    store_retry_counts_t c = {0};

    add_reject(f, a, 0, syslog_line, strlen(syslog_line), "old");
    assert_int_equal(store_rejects_retry(f->st, "wsa-x", &c), 0);
    add_reject(f, b, 0, clean_line, strlen(clean_line), "old");
    assert_int_equal(store_rejects_retry(f->st, NULL, &c), 0);
    assert_int_equal(c.retried, 2);
    assert_int_equal(c.moved, 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances p ON "
                               "p.id = t.appliance_id WHERE p.name = 'wsa-x'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions t JOIN appliances p ON "
                               "p.id = t.appliance_id WHERE p.name = 'default'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM appliances WHERE name = 'wsa02'"), 0);
}

/* Runs the binary with `args`; returns its exit status and its output (stdout and stderr). */
static int run_bin(const char *args, char *out, size_t len)
{
    char cmd[512];
    FILE *p;
    size_t n;
    int st;

    snprintf(cmd, sizeof(cmd), "env -u WSA_RELAY_DB '%s' %s 2>&1", WSA_RELAY_BIN, args);
    assert_non_null(p = popen(cmd, "r"));
    n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * As the issue asks: a reject whose line is a valid access record (as if an older parser
 * had refused it) and one still bad; --retry moves exactly one, and again moves nothing.
 */
static void test_retry_command(void **state)
{
    fixture_t *f = *state;
    int64_t src = new_source(f);
    char args[256], out[1024], err[STORE_ERR_LEN];

    add_reject(f, src, 0, clean_line, strlen(clean_line), "an older parser's reason");
    add_reject(f, src, 400, bad_ip_line, strlen(bad_ip_line), "an older parser's reason");
    store_close(f->st);
    f->st = NULL;

    snprintf(args, sizeof(args), "rejects --db '%s' --retry", f->db);
    assert_int_equal(run_bin(args, out, sizeof(out)), 0);
    assert_string_equal(out, "retried=2 moved=1 still_rejected=1\n");
    assert_int_equal(run_bin(args, out, sizeof(out)), 0);
    assert_string_equal(out, "retried=1 moved=0 still_rejected=1\n");
    snprintf(args, sizeof(args), "rejects --db '%s' --retry --limit 5", f->db);
    assert_int_equal(run_bin(args, out, sizeof(out)), 2);
    assert_string_equal(out,
                        "wsa-relay rejects: --limit lists; --retry parses every rejected line\n");

    snprintf(args, sizeof(args), "rejects --db '%s'", f->db);
    assert_int_equal(run_bin(args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "stdin offset 400: "));
    assert_non_null(strstr(out, bad_ip_line));
    assert_null(strstr(out, "stdin offset 0: "));

    assert_int_equal(store_open(&f->st, f->db, STORE_READ_WRITE, err, sizeof(err)), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM transactions WHERE offset = 0"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM rejects WHERE offset = 400"), 1);
}

typedef struct seen_listeners {
    int n;
    char addr[4][64];
    int64_t dropped[4], refused[4], last[4];
} seen_listeners_t;

static int see_listener(const store_listener_info_t *l, void *ctx)
{
    seen_listeners_t *s = ctx;

    assert_true(s->n < 4);
    snprintf(s->addr[s->n], sizeof(s->addr[0]), "%s", l->address);
    s->dropped[s->n] = l->dropped;
    s->refused[s->n] = l->refused;
    s->last[s->n] = l->last_ms;
    s->n++;
    return 0;
}

static int see_dropped(const store_appliance_info_t *a, void *ctx)
{
    int64_t *out = ctx;

    out[a->id - 1] = a->dropped;
    return 0;
}

/* Syslog loss: listener counters add up per address (listed bytewise by address), and an
 * appliance's drops only when given to it. */
static void test_syslog_loss(void **state)
{
    fixture_t *f = *state;
    seen_listeners_t seen = {0};
    int64_t dropped[2] = {-1, -1};
    int64_t wsa, other;

    assert_int_equal(store_listeners(f->st, see_listener, &seen), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_listener_add(f->st, "udp://127.0.0.1:5514", 7, 0), 0);
    assert_int_equal(store_listener_add(f->st, "tcp://[::1]:6514", 0, 2), 0);
    assert_int_equal(store_listener_add(f->st, "udp://127.0.0.1:5514", 5, 1), 0);
    wsa = appliance(f, "wsa01");
    other = appliance(f, "wsa02");
    assert_int_equal(wsa, 1);
    assert_int_equal(other, 2);
    assert_int_equal(store_appliance_add_dropped(f->st, wsa, 12), 0);
    assert_int_equal(store_appliance_add_dropped(f->st, wsa, 3), 0);
    assert_int_equal(store_commit(f->st), 0);

    assert_int_equal(store_listeners(f->st, see_listener, &seen), 2);
    assert_string_equal(seen.addr[0], "tcp://[::1]:6514");
    assert_int_equal(seen.dropped[0], 0);
    assert_int_equal(seen.refused[0], 2);
    assert_string_equal(seen.addr[1], "udp://127.0.0.1:5514");
    assert_int_equal(seen.dropped[1], 12);
    assert_int_equal(seen.refused[1], 1);
    /* stamped with the wall clock: after 2026-01-01 */
    assert_true(seen.last[1] > 1767225600000LL);

    assert_int_equal(store_appliances(f->st, see_dropped, dropped), 2);
    assert_int_equal(dropped[0], 15);
    assert_int_equal(dropped[1], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_appliances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_appliance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syslog_loss, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
