/*
 * test_peer.c - the parser against a peer's expectations: SEKOIA's intake-format fixtures.
 *
 * Each fixture is {"input":{"message": <raw line>}, "expected": {...ECS-like...}}, SEKOIA's
 * own parser output, not ground truth. The fixtures are read in place from the shared data
 * folder beside the project (their licence is not stated, so they are not copied in); the
 * test is skipped, saying so, when that folder is absent.
 *
 * For every fixture the line is parsed and each mapped field compared. Where SEKOIA is right
 * the values must be equal; where it is knowingly different, the table `known` names the
 * fixture, the field, both values (worked out by hand from the raw line and wsa-logs.md
 * section 1.5) and why ours is right. A difference not in the table fails, and so does a
 * table entry that no longer differs, so the table cannot go stale.
 *
 * wsa-logs.md section 6 item 6 (SEKOIA's fixed columns shift the AMP slots on 11.7+ lines)
 * shows in none of these fixtures: the four 11.7+ lines have every AMP slot empty, and
 * SEKOIA's filters drop empty values, so both sides agree there on "no AMP data".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>
#include "ingest.h"

/* tests/data is two levels below the project root, which sits next to shared/. */
#define PEER_DIR    TEST_DATA_DIR "/../../../shared/data/wsa-samples"
#define PEER_PREFIX "sekoia-intake-formats_cisco-secure-web-appliance_tests_"

/* What each fixture's raw line is, worked out by hand: a new fixture must be added here. */
static const struct fixture {
    const char *name; /* the file name after PEER_PREFIX, without ".json" */
    ingest_line_kind_t kind;
    int verdict_fields; /* quote-aware fields in the < > block, counted by hand */
} fixtures[] = {
    {"event1", INGEST_LINE_ACCESS, 43},   /* 11.7+, quoted "IW_infr" */
    {"event2", INGEST_LINE_ACCESS, 44},   /* 11.7+, CMF/DCF/ERR before the ACL string */
    {"event3", INGEST_LINE_ACCESS, 44},   /* TCP_DENIED/407, OTHER, all empty */
    {"event4", INGEST_LINE_ACCESS, 44},   /* tunnel to an IP, WBRS -3.0 */
    {"prefixed", INGEST_LINE_ACCESS, 38}, /* Info: + the user guide's AMP example */
    {"w3c", INGEST_LINE_ACCESS, 38},      /* the same example, bare (squid, not W3C) */
    {"test_export_files_at-e2ec337a9", INGEST_LINE_SKIP, 0}, /* a system message */
};

/*
 * The known differences. `ours` NULL means we have no value. Reasons in short:
 * - the ACL tag's trailing _<n> is "a dynamically generated number the Web Proxy uses
 *   internally" (wsa-logs.md 1.4); we strip it, SEKOIA keeps it in rule.id;
 * - our URL is the stored, normalised form (ingest.h): tunnel's default port 443 dropped,
 *   so that a URL pivot matches however the appliance wrote it; url.original keeps the log's;
 * - the full category name on 11.7+ lines is slot 23 of the block; for a custom category
 *   the slot is "-" and SEKOIA writes its own "Unclassified" for a C_ code it cannot map;
 * - a 38-field block has no full-name slot; SEKOIA looks IW_comp up in its own table, we
 *   keep only what the line says;
 * - a system message on the syslog stream is no access record: we skip it, SEKOIA makes an
 *   event of it (with cisco_wsa.threat.category "Not Set").
 */
static const struct known {
    const char *fixture;
    const char *field;
    const char *theirs;
    const char *ours;
    const char *why;
} known[] = {
    {"event1", "acl_tag", "DEFAULT_CASE_12", "DEFAULT_CASE", "they keep the internal _n suffix"},
    {"event2", "acl_tag", "PASSTHRU_CUSTOMCAT_7", "PASSTHRU_CUSTOMCAT",
     "they keep the internal _n suffix"},
    {"event2", "url", "tunnel://teams.events.data.microsoft.com:443/",
     "tunnel://teams.events.data.microsoft.com/", "ours is normalised: tunnel's default port"},
    {"event2", "category_name", "Unclassified", NULL,
     "custom category renamed: slot 23 of the 44-field block is \"-\""},
    {"event3", "url", "tunnel://www.domain.com:443/", "tunnel://www.domain.com/",
     "ours is normalised: tunnel's default port"},
    {"event4", "acl_tag", "PASSTHRU_CUSTOMCAT_7", "PASSTHRU_CUSTOMCAT",
     "they keep the internal _n suffix"},
    {"event4", "url", "tunnel://5.6.7.8:443/", "tunnel://5.6.7.8/",
     "ours is normalised: tunnel's default port"},
    {"event4", "category_name", "Unclassified", NULL,
     "custom category renamed: slot 23 of the 44-field block is \"-\""},
    {"prefixed", "acl_tag", "DEFAULT_CASE_11", "DEFAULT_CASE", "they keep the internal _n suffix"},
    {"prefixed", "category_name", "Computers and Internet", NULL,
     "not in the line: a 38-field block has no full-name slot"},
    {"w3c", "acl_tag", "DEFAULT_CASE_11", "DEFAULT_CASE", "they keep the internal _n suffix"},
    {"w3c", "category_name", "Computers and Internet", NULL,
     "not in the line: a 38-field block has no full-name slot"},
    {"test_export_files_at-e2ec337a9", "record", "event", "skipped",
     "a system message, not an access record"},
};

#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* ---- their side: values by dotted path, numbers as decimal text ---- */

static int their_value(json_t *expected, const char *path, char *out, size_t outlen)
{
    char buf[128], *save = NULL;
    json_t *v = expected;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, k) : NULL;
    if (!v)
        return 0;
    if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        fail_msg("%s: neither a string nor an integer", path);
    return 1;
}

/* "2022-04-04T18:40:17.352000Z" as milliseconds since the epoch, in decimal. */
static int their_time(json_t *expected, const char *path, char *out, size_t outlen)
{
    char iso[64];
    struct tm tm = {0};
    int usec = 0;

    if (!their_value(expected, path, iso, sizeof(iso)))
        return 0;
    assert_int_equal(sscanf(iso, "%d-%d-%dT%d:%d:%d.%6dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &usec),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    snprintf(out, outlen, "%lld", (long long)timegm(&tm) * 1000 + usec / 1000);
    return 1;
}

/* ---- our side ---- */

static int str_or_null(const char *s, char *out, size_t outlen)
{
    if (!s)
        return 0;
    snprintf(out, outlen, "%s", s);
    return 1;
}

static int num_or_none(long long v, long long none, char *out, size_t outlen)
{
    if (v == none)
        return 0;
    snprintf(out, outlen, "%lld", v);
    return 1;
}

/* The mapping: our field, their ECS path, and how to read each side. */
typedef enum {
    M_TIME,
    M_ELAPSED,
    M_CLIENT,
    M_METHOD,
    M_URL,
    M_HOST,
    M_PORT,
    M_STATUS,
    M_BYTES,
    M_ACL_TAG,
    M_CATEGORY,
    M_CATEGORY_NAME,
    M_AMP_VERDICT,
    M_AMP_THREAT,
    M_AMP_SCORE,
    M_AMP_FILE,
    M_SHA256,
} map_id_t;

static const struct mapping {
    map_id_t id;
    const char *ours;
    const char *theirs;
} mappings[] = {
    {M_TIME, "time_ms", "@timestamp"},
    {M_ELAPSED, "elapsed_ms", "event.duration"},
    {M_CLIENT, "client_ip", "source.ip"},
    {M_METHOD, "method", "http.request.method"},
    {M_URL, "url", "url.original"},
    {M_HOST, "host", "url.domain"},
    {M_PORT, "dest_port", "url.port"},
    {M_STATUS, "http_status", "http.response.status_code"},
    {M_BYTES, "bytes", "http.response.bytes"},
    {M_ACL_TAG, "acl_tag", "rule.id"},
    {M_CATEGORY, "category", "cisco_wsa.url.category_code"},
    {M_CATEGORY_NAME, "category_name", "cisco_wsa.url.category"},
    {M_AMP_VERDICT, "amp_verdict", "cisco_wsa.threat.category_code"},
    {M_AMP_THREAT, "amp_threat_name", "cisco_wsa.threat.name"},
    {M_AMP_SCORE, "amp_score", "cisco_wsa.threat.reputation_score"},
    {M_AMP_FILE, "amp_file_name", "file.name"},
    {M_SHA256, "sha256", "file.hash.sha256"},
};

static int our_value(const struct mapping *m, const ingest_rec_t *r, char *out, size_t outlen)
{
    switch (m->id) {
    case M_TIME:
        return num_or_none(r->time_ms, INT64_MIN, out, outlen);
    case M_ELAPSED:
        return num_or_none(r->elapsed_ms, INT64_MIN, out, outlen);
    case M_CLIENT:
        return str_or_null(r->client_ip, out, outlen);
    case M_METHOD:
        return str_or_null(r->method, out, outlen);
    case M_URL:
        return str_or_null(r->url, out, outlen);
    case M_HOST:
        return str_or_null(r->host, out, outlen);
    case M_PORT:
        return num_or_none(r->dest_port, 0, out, outlen);
    case M_STATUS:
        return num_or_none(r->http_status, INT32_MIN, out, outlen);
    case M_BYTES:
        return num_or_none(r->bytes, INT64_MIN, out, outlen);
    case M_ACL_TAG:
        return str_or_null(r->acl_tag, out, outlen);
    case M_CATEGORY:
        return str_or_null(r->category, out, outlen);
    case M_CATEGORY_NAME:
        return str_or_null(r->category_full, out, outlen);
    case M_AMP_VERDICT:
        return num_or_none(r->amp_verdict, -1, out, outlen);
    case M_AMP_THREAT:
        return str_or_null(r->amp_threat_name, out, outlen);
    case M_AMP_SCORE:
        return num_or_none(r->amp_score, -1, out, outlen);
    case M_AMP_FILE:
        return str_or_null(r->amp_file_name, out, outlen);
    case M_SHA256:
        return str_or_null(r->sha256, out, outlen);
    }
    return 0;
}

/* ---- comparing ---- */

typedef struct tally {
    int compared, agreed, empty, known; /* empty: agreed that the line has no value */
    int problems;
    int used[NKNOWN];
} tally_t;

static const struct known *known_for(const char *fixture, const char *field, tally_t *t)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (strcmp(known[i].fixture, fixture) == 0 && strcmp(known[i].field, field) == 0) {
            t->used[i] = 1;
            return &known[i];
        }
    return NULL;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define SHOW(s) ((s) ? (s) : "(none)")

/* One field of one fixture: agreement, a listed difference, or a problem (printed). */
static void compare(const char *fixture, const char *field, const char *theirs, const char *ours,
                    tally_t *t)
{
    const struct known *k = known_for(fixture, field, t);

    t->compared++;
    if (!k) {
        if (same(theirs, ours)) {
            t->agreed++;
            t->empty += !ours;
            return;
        }
        printf("%s %s: theirs \"%s\", ours \"%s\": a difference the table does not list\n", fixture,
               field, SHOW(theirs), SHOW(ours));
        t->problems++;
        return;
    }
    if (same(theirs, ours)) {
        printf("%s %s: both \"%s\" now: remove the table entry\n", fixture, field, SHOW(ours));
        t->problems++;
    } else if (!same(theirs, k->theirs) || !same(ours, k->ours)) {
        printf("%s %s: theirs \"%s\", ours \"%s\"; the table says theirs \"%s\", ours \"%s\"\n",
               fixture, field, SHOW(theirs), SHOW(ours), SHOW(k->theirs), SHOW(k->ours));
        t->problems++;
    } else {
        printf("  known %s %s: theirs \"%s\", ours \"%s\": %s\n", fixture, field, SHOW(theirs),
               SHOW(ours), k->why);
        t->known++;
    }
}

static void check_fixture(const struct fixture *fx, tally_t *t)
{
    char path[1024], reason[256], theirs[4096], ours[4096];
    json_error_t jerr;
    json_t *root, *expected;
    const char *message;
    size_t len;
    ingest_parser_t *p;
    ingest_rec_t rec;
    ingest_line_kind_t kind;
    tally_t before = *t;

    snprintf(path, sizeof(path), "%s/%s%s.json", PEER_DIR, PEER_PREFIX, fx->name);
    root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    expected = json_object_get(root, "expected");
    message = json_string_value(json_object_get(json_object_get(root, "input"), "message"));
    assert_non_null(expected);
    assert_non_null(message);

    /* The system message ends in a newline; a line reader would have taken it off. */
    len = strlen(message);
    while (len > 0 && message[len - 1] == '\n')
        len--;
    p = ingest_parser_new();
    assert_non_null(p);
    memset(&rec, 0, sizeof(rec));
    kind = ingest_parse_line(p, message, len, &rec, reason, sizeof(reason));
    if (kind != fx->kind)
        fail_msg("%s: parsed as kind %d, expected %d (%s)", fx->name, (int)kind, (int)fx->kind,
                 kind == INGEST_LINE_REJECT ? reason : "");

    /* SEKOIA makes an event of every input; we make a record of access lines only. */
    compare(fx->name, "record", json_object_get(expected, "event") ? "event" : NULL,
            kind == INGEST_LINE_ACCESS ? "event" : "skipped", t);

    if (kind == INGEST_LINE_ACCESS) {
        assert_int_equal(rec.verdict_fields, fx->verdict_fields);
        assert_int_equal(rec.warnings, 0);
        for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
            const struct mapping *m = &mappings[i];
            int have_theirs = m->id == M_TIME
                                  ? their_time(expected, m->theirs, theirs, sizeof(theirs))
                                  : their_value(expected, m->theirs, theirs, sizeof(theirs));
            int have_ours = our_value(m, &rec, ours, sizeof(ours));

            compare(fx->name, m->ours, have_theirs ? theirs : NULL, have_ours ? ours : NULL, t);
        }
        /* url.full, where SEKOIA writes it, is the same URL as url.original. */
        if (their_value(expected, "url.full", theirs, sizeof(theirs)) &&
            their_value(expected, "url.original", ours, sizeof(ours)))
            assert_string_equal(theirs, ours);
    }
    printf("peer %-31s %2d fields compared, %2d agree (%d of them empty on both sides), %d known "
           "differences\n",
           fx->name, t->compared - before.compared, t->agreed - before.agreed,
           t->empty - before.empty, t->known - before.known);
    ingest_parser_free(p);
    json_decref(root);
}

static void test_sekoia_fixtures(void **state)
{
    struct stat st;
    glob_t g;
    tally_t t;
    int problems;

    (void)state;
    if (stat(PEER_DIR, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("peer fixtures not found at %s: skipped (they are present in CI)\n", PEER_DIR);
        skip();
    }

    /* Every fixture in the folder must have been worked out by hand, and every one listed
     * must be there. */
    assert_int_equal(glob(PEER_DIR "/" PEER_PREFIX "*.json", 0, NULL, &g), 0);
    problems = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *base = strstr(g.gl_pathv[i], PEER_PREFIX) + strlen(PEER_PREFIX);
        size_t k;
        for (k = 0; k < sizeof(fixtures) / sizeof(fixtures[0]); k++)
            if (strncmp(base, fixtures[k].name, strlen(fixtures[k].name)) == 0 &&
                strcmp(base + strlen(fixtures[k].name), ".json") == 0)
                break;
        if (k == sizeof(fixtures) / sizeof(fixtures[0])) {
            printf("%s: a fixture not worked out by hand in this test\n", g.gl_pathv[i]);
            problems++;
        }
    }
    assert_int_equal(g.gl_pathc, sizeof(fixtures) / sizeof(fixtures[0]));
    globfree(&g);

    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
        check_fixture(&fixtures[i], &t);
    for (size_t i = 0; i < NKNOWN; i++)
        if (!t.used[i]) {
            printf("table entry %s %s was never compared\n", known[i].fixture, known[i].field);
            problems++;
        }
    printf("peer total: %d fields compared, %d agree, %d known differences\n", t.compared, t.agreed,
           t.known);
    assert_int_equal(problems + t.problems, 0);
    assert_int_equal(t.known, (int)NKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sekoia_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
