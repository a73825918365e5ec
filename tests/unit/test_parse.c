/*
 * test_parse.c - the access-log line parser against hand-worked expectations.
 *
 * The table tests/data/parse_expected.tsv lists, for every line of the Sentinel sample and
 * of own-shapes.log, the kind and the field values worked out by hand from wsa-logs.md;
 * this program parses each line and compares every cell the table fills.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ingest.h"
#include "util.h"

/* ---- reading the data files ---- */

typedef struct lines {
    char *text;
    char **line;
    size_t *len;
    size_t count;
} lines_t;

static void lines_load(const char *name, lines_t *out)
{
    char path[512];
    FILE *f;
    long size;
    size_t cap = 16;

    snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    out->text = malloc((size_t)size + 1);
    assert_non_null(out->text);
    assert_int_equal(fread(out->text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    out->text[size] = '\0';

    out->line = malloc(cap * sizeof(char *));
    out->len = malloc(cap * sizeof(size_t));
    out->count = 0;
    for (char *p = out->text; p < out->text + size;) {
        char *nl = memchr(p, '\n', (size_t)(out->text + size - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(out->text + size - p);
        if (out->count == cap) {
            cap *= 2;
            out->line = realloc(out->line, cap * sizeof(char *));
            out->len = realloc(out->len, cap * sizeof(size_t));
        }
        p[n] = '\0';
        out->line[out->count] = p;
        out->len[out->count] = n;
        out->count++;
        p += n + 1;
    }
}

static void lines_free(lines_t *l)
{
    free(l->text);
    free(l->line);
    free(l->len);
}

/* ---- record fields by name ---- */

typedef enum { F_STR, F_INT, F_I64, F_WBRS, F_ACTION, F_WARN } ftype_t;

#define STR(name)                                                                                  \
    {                                                                                              \
#name, F_STR, offsetof(ingest_rec_t, name)                                                 \
    }
#define INT(name)                                                                                  \
    {                                                                                              \
#name, F_INT, offsetof(ingest_rec_t, name)                                                 \
    }
#define I64(name)                                                                                  \
    {                                                                                              \
#name, F_I64, offsetof(ingest_rec_t, name)                                                 \
    }

static const struct field {
    const char *name;
    ftype_t type;
    size_t off;
} fields[] = {
    I64(time_ms),
    I64(elapsed_ms),
    STR(client_ip),
    STR(result_code),
    INT(http_status),
    I64(bytes),
    STR(method),
    STR(url),
    STR(host),
    STR(reg_domain),
    INT(dest_port),
    STR(dest_ip),
    STR(user_raw),
    STR(user_domain),
    STR(user_name),
    STR(user_realm),
    STR(hierarchy),
    STR(hierarchy_host),
    STR(mime),
    STR(acl_raw),
    STR(acl_tag),
    {"action", F_ACTION, offsetof(ingest_rec_t, action)},
    STR(access_policy),
    STR(identity_policy),
    STR(malware_policy),
    STR(dlp_policy),
    STR(ext_dlp_policy),
    STR(routing_policy),
    STR(tap_policy),
    INT(verdict_fields),
    STR(verdict_raw),
    STR(category),
    STR(category_full),
    STR(wbrs_raw),
    {"wbrs", F_WBRS, offsetof(ingest_rec_t, wbrs)},
    STR(threat_type),
    STR(avc_app),
    STR(avc_type),
    STR(avc_behavior),
    STR(resp_verdict_name),
    INT(amp_verdict),
    STR(amp_threat_name),
    INT(amp_score),
    STR(amp_file_name),
    STR(sha256),
    STR(user_agent),
    STR(custom_pre),
    STR(custom_post),
    INT(malware),
    {"warnings", F_WARN, offsetof(ingest_rec_t, warnings)},
    STR(format),
    STR(syslog_host),
};

static const struct field *field_named(const char *name)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

static unsigned warn_bits(const char *spec)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"layout", INGEST_WARN_VERDICT_LAYOUT},
                 {"wbrs", INGEST_WARN_WBRS},
                 {"acl", INGEST_WARN_ACL},
                 {"sha256", INGEST_WARN_SHA256},
                 {"noverdict", INGEST_WARN_NO_VERDICT},
                 {"value", INGEST_WARN_VALUE}};
    unsigned bits = 0;
    char buf[128], *save = NULL;

    if (strcmp(spec, "none") == 0)
        return 0;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *w = strtok_r(buf, "+", &save); w; w = strtok_r(NULL, "+", &save)) {
        size_t k;
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (strcmp(names[k].name, w) == 0)
                break;
        if (k == sizeof(names) / sizeof(names[0]))
            fail_msg("unknown warning name \"%s\" in the table", w);
        bits |= names[k].bit;
    }
    return bits;
}

/* Compares one field with the table's text; returns 0 or prints why and returns 1. */
static int check_field(const char *where, const ingest_rec_t *rec, const char *name,
                       const char *want)
{
    const struct field *f = field_named(name);
    const char *base = (const char *)rec;
    char got[4096];
    int null_wanted = strcmp(want, "NULL") == 0;

    if (!f) {
        printf("%s: the table names an unknown field \"%s\"\n", where, name);
        return 1;
    }
    switch (f->type) {
    case F_STR: {
        const char *v = *(const char *const *)(base + f->off);
        if (null_wanted ? v == NULL : (v && strcmp(v, want) == 0))
            return 0;
        snprintf(got, sizeof(got), "%s", v ? v : "NULL");
        break;
    }
    case F_INT:
        snprintf(got, sizeof(got), "%d", *(const int *)(base + f->off));
        break;
    case F_I64:
        snprintf(got, sizeof(got), "%lld", (long long)*(const int64_t *)(base + f->off));
        break;
    case F_ACTION:
        snprintf(got, sizeof(got), "%s", ingest_action_name(rec->action));
        break;
    case F_WARN:
        if (rec->warnings == warn_bits(want))
            return 0;
        snprintf(got, sizeof(got), "0x%x", rec->warnings);
        break;
    case F_WBRS:
        if (null_wanted ? !rec->has_wbrs
                        : (rec->has_wbrs && fabs(rec->wbrs - strtod(want, NULL)) < 1e-9))
            return 0;
        snprintf(got, sizeof(got), rec->has_wbrs ? "%g" : "NULL", rec->wbrs);
        break;
    }
    if (f->type != F_STR && f->type != F_WARN && f->type != F_WBRS && strcmp(got, want) == 0)
        return 0;
    printf("%s: %s is \"%s\", expected \"%s\"\n", where, name, got, want);
    return 1;
}

static const char *const kind_names[] = {"access", "skip", "reject"};

/* Checks one table row against the parse of its line; returns the number of mismatches. */
static int check_row(ingest_parser_t *p, char **cell, char **head, int ncell, lines_t *src)
{
    char where[64], reason[256], extra[4096], *save = NULL;
    ingest_rec_t rec;
    long no = strtol(cell[1], NULL, 10);
    int bad = 0;
    ingest_line_kind_t kind;

    snprintf(where, sizeof(where), "%s line %ld", cell[0], no);
    if (no < 1 || (size_t)no > src->count) {
        printf("%s: no such line\n", where);
        return 1;
    }
    kind = ingest_parse_line(p, src->line[no - 1], src->len[no - 1], &rec, reason, sizeof(reason));
    if (strcmp(kind_names[kind], cell[2]) != 0) {
        printf("%s: kind %s (%s), expected %s\n", where, kind_names[kind], reason, cell[2]);
        return 1;
    }
    for (int c = 3; c < ncell - 1; c++)
        if (cell[c][0] != '\0' && kind == INGEST_LINE_ACCESS)
            bad += check_field(where, &rec, head[c], cell[c]);

    snprintf(extra, sizeof(extra), "%s", cell[ncell - 1]);
    for (char *kv = strtok_r(extra, "|", &save); kv; kv = strtok_r(NULL, "|", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            printf("%s: extra cell \"%s\" is not name=value\n", where, kv);
            bad++;
            continue;
        }
        *eq = '\0';
        if (strcmp(kv, "note") == 0)
            continue;
        if (strcmp(kv, "reason") == 0) {
            if (strcmp(reason, eq + 1) != 0) {
                printf("%s: reason \"%s\", expected \"%s\"\n", where, reason, eq + 1);
                bad++;
            }
            continue;
        }
        bad += check_field(where, &rec, kv, eq + 1);
    }
    return bad;
}

#define NCOLS 21

static void test_expected_table(void **state)
{
    lines_t table, sentinel, own;
    ingest_parser_t *p = ingest_parser_new();
    char *head[NCOLS];
    int bad = 0, rows = 0, sentinel_rows = 0, own_rows = 0;

    (void)state;
    lines_load("parse_expected.tsv", &table);
    lines_load("sentinel-ciscowsa.log", &sentinel);
    lines_load("own-shapes.log", &own);

    for (size_t i = 0; i < table.count; i++) {
        char *cell[NCOLS], *s = table.line[i];
        int n = 0;

        if (s[0] == '#' || s[0] == '\0')
            continue;
        /* split on tabs, keeping empty cells */
        while (n < NCOLS) {
            char *tab = strchr(s, '\t');
            cell[n++] = s;
            if (!tab)
                break;
            *tab = '\0';
            s = tab + 1;
        }
        assert_int_equal(n, NCOLS);
        if (strcmp(cell[0], "file") == 0) {
            memcpy(head, cell, sizeof(head));
            continue;
        }
        rows++;
        if (strcmp(cell[0], "sentinel") == 0) {
            sentinel_rows++;
            bad += check_row(p, cell, head, n, &sentinel);
        } else {
            assert_string_equal(cell[0], "own");
            own_rows++;
            bad += check_row(p, cell, head, n, &own);
        }
    }
    /* every line of both files has its row */
    assert_int_equal(sentinel_rows, 36);
    assert_int_equal((size_t)sentinel_rows, sentinel.count);
    assert_int_equal((size_t)own_rows, own.count);
    assert_int_equal(bad, 0);

    ingest_parser_free(p);
    lines_free(&table);
    lines_free(&sentinel);
    lines_free(&own);
}

/* stored / warned / rejected / skipped counts of a file */
static void count_kinds(const char *name, int counts[4])
{
    lines_t l;
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128];

    lines_load(name, &l);
    memset(counts, 0, 4 * sizeof(int));
    for (size_t i = 0; i < l.count; i++) {
        ingest_line_kind_t k =
            ingest_parse_line(p, l.line[i], l.len[i], &rec, reason, sizeof(reason));
        if (k == INGEST_LINE_ACCESS)
            counts[rec.warnings ? 1 : 0]++;
        else if (k == INGEST_LINE_REJECT)
            counts[2]++;
        else
            counts[3]++;
    }
    ingest_parser_free(p);
    lines_free(&l);
}

static void test_sentinel_totals(void **state)
{
    int c[4];

    (void)state;
    count_kinds("sentinel-ciscowsa.log", c);
    /* 7, 10 (32 fields), 11-23 (13 identical), 24, 25, 26-28 and 30-33 (15 fields) */
    assert_int_equal(c[0], 24);
    assert_int_equal(c[1], 4); /* 29 (WBRS -9.1.0), 34, 35 (39 fields), 36 (SHA) */
    assert_int_equal(c[2], 0);
    assert_int_equal(c[3], 8); /* 1-6, 8, 9 */
}

static void test_own_totals(void **state)
{
    int c[4];

    (void)state;
    count_kinds("own-shapes.log", c);
    assert_int_equal(c[0], 15); /* 1-12 and 15-17 */
    assert_int_equal(c[1], 2);  /* 13 (no block), 14 (WBRS, SHA, ACL) */
    assert_int_equal(c[2], 12);
    assert_int_equal(c[3], 6);
}

/* The product's acceptance test counts on these thirteen lines exactly. */
static void test_sentinel_amp_lines(void **state)
{
    lines_t l;
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128];

    (void)state;
    lines_load("sentinel-ciscowsa.log", &l);
    for (size_t i = 10; i <= 22; i++) {
        assert_int_equal(ingest_parse_line(p, l.line[i], l.len[i], &rec, reason, sizeof(reason)),
                         INGEST_LINE_ACCESS);
        assert_string_equal(rec.client_ip, "172.18.32.70");
        assert_int_equal(rec.amp_verdict, 37);
        assert_string_equal(rec.sha256,
                            "fd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5e");
        assert_int_equal(rec.warnings, 0);
    }
    ingest_parser_free(p);
    lines_free(&l);
}

static const char base_line[] =
    "1700000000.125 42 192.0.2.7 TCP_MISS/200 5120 GET http://www.example.com/ - "
    "DIRECT/www.example.com text/html DEFAULT_CASE_12-AP-ID-NONE-NONE-NONE-DG-NONE "
    "<IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,-,-> -";

static void test_crlf_and_reuse(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128], line[sizeof(base_line) + 2];
    char *long_line;
    size_t n = strlen(base_line);

    (void)state;
    memcpy(line, base_line, n);
    memcpy(line + n, "\r", 2);
    assert_int_equal(ingest_parse_line(p, line, n + 1, &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_null(rec.user_agent);
    assert_null(rec.custom_post);

    /* a long line grows the buffer; a short one after it is parsed on its own */
    long_line = malloc(n + 20000);
    memcpy(long_line, base_line, n);
    memset(long_line + n, 'x', 19999);
    long_line[n - 1] = '"';
    long_line[n + 19998] = '"';
    assert_int_equal(ingest_parse_line(p, long_line, n + 19999, &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_int_equal(strlen(rec.user_agent), 19999 - 1);
    assert_int_equal(ingest_parse_line(p, base_line, n, &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_null(rec.user_agent);
    assert_string_equal(rec.url, "http://www.example.com/");
    free(long_line);
    ingest_parser_free(p);
}

/* One RFC 5424 message around base_line: `head` is everything before the record. */
static ingest_line_kind_t parse_5424(ingest_parser_t *p, const char *head, ingest_rec_t *rec)
{
    char line[1024], reason[128];
    int n = snprintf(line, sizeof(line), "%s%s", head, base_line);

    assert_true(n > 0 && (size_t)n < sizeof(line));
    memset(rec, 0, sizeof(*rec));
    return ingest_parse_line(p, line, (size_t)n, rec, reason, sizeof(reason));
}

/* RFC 5424 headers: HOSTNAME is the syslog host; structured data (with spaces, quotes and
 * an escaped ']' in its values) and a byte order mark are skipped, "-" means no host. An
 * RFC 3164 header may lack its host. */
static void test_syslog_5424(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;

    (void)state;
    assert_int_equal(parse_5424(p,
                                "<134>1 2023-11-14T22:13:20.125Z wsa1.example.com "
                                "accesslogs - - - ",
                                &rec),
                     INGEST_LINE_ACCESS);
    assert_string_equal(rec.syslog_host, "wsa1.example.com");
    assert_int_equal(rec.time_ms, 1700000000125LL);
    assert_string_equal(rec.client_ip, "192.0.2.7");

    assert_int_equal(parse_5424(p,
                                "<134>1 2023-11-14T22:13:20Z wsa2 accesslogs 77 ID47 "
                                "[exampleSDID@32473 iut=\"3\" eventSource=\"Web Proxy\" "
                                "note=\"a \\\"quoted\\\" \\] bracket\"][meta@1 n=\"1\"] "
                                "\xef\xbb\xbfInfo: ",
                                &rec),
                     INGEST_LINE_ACCESS);
    assert_string_equal(rec.syslog_host, "wsa2");
    assert_int_equal(rec.elapsed_ms, 42);
    assert_string_equal(rec.url, "http://www.example.com/");

    assert_int_equal(parse_5424(p, "<14>1 - - - - - - \xef\xbb\xbf", &rec), INGEST_LINE_ACCESS);
    assert_null(rec.syslog_host);
    assert_int_equal(rec.time_ms, 1700000000125LL);

    /* an unterminated structured data element is no header: the "1" after the PRI is then
     * read as a record's epoch, and the rest of the line is no record */
    assert_int_equal(parse_5424(p, "<14>1 - wsa3 - - - [id k=\"v] ", &rec), INGEST_LINE_REJECT);
    /* an RFC 3164 header without its host: the tag follows the time, and there is no host */
    assert_int_equal(parse_5424(p, "<134>Nov 14 22:13:20 accesslogs: Info: ", &rec),
                     INGEST_LINE_ACCESS);
    assert_null(rec.syslog_host);
    assert_int_equal(parse_5424(p, "<134>Nov 14 22:13:20 fe80::1 accesslogs: ", &rec),
                     INGEST_LINE_ACCESS);
    assert_string_equal(rec.syslog_host, "fe80::1");
    /* a native record right after a PRI is still read as one (its epoch is no VERSION) */
    assert_int_equal(parse_5424(p, "<14>", &rec), INGEST_LINE_ACCESS);
    assert_null(rec.syslog_host);
    ingest_parser_free(p);
}

/* A dual-stack listener logs an IPv4 client as ::ffff:a.b.c.d: it is stored as that IPv4
 * address, so that an ip observable finds it. */
static void test_v4_mapped_client(void **state)
{
    static const char line[] =
        "1700000000.125 42 ::FFFF:192.0.2.7 TCP_MISS/200 5120 GET http://www.example.com "
        "- DIRECT/::ffff:198.51.100.9 text/html DEFAULT_CASE_12-AP-ID-NONE-NONE-NONE-DG-NONE "
        "<IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,-,-> -";
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128];

    (void)state;
    assert_int_equal(ingest_parse_line(p, line, strlen(line), &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_string_equal(rec.client_ip, "192.0.2.7");
    assert_string_equal(rec.dest_ip, "198.51.100.9");
    /* the logged URL had no path */
    assert_string_equal(rec.url, "http://www.example.com/");
    ingest_parser_free(p);
}

/* Sentinel line 24 (no parse warning) with its time and elapsed fields replaced. */
static ingest_line_kind_t parse_timed(ingest_parser_t *p, const char *time, const char *elapsed,
                                      ingest_rec_t *rec, char *reason, size_t reasonlen)
{
    char line[1024];

    snprintf(line, sizeof(line),
             "%s %s 10.147.88.13 TCP_MISS/200 0 TCP_CONNECT 10.10.10.1:443 - DIRECT/url - "
             "PASSTHRU_WBRS_7-DefaultGroup-LCAB.AuthExemptSource.ID-NONE-NONE-NONE-DefaultGroup-"
             "NONE <\"IW_comp\",9.0,1,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,"
             "\"IW_comp\",-,\"-\",\"Computers and Internet\",\"-\",\"Unknown\",\"Unknown\","
             "\"-\",\"-\",0.00,0,-,\"-\",\"-\",-,\"-\",-,-,\"-\",\"-\",-,-,\"-\",-,-> -",
             time, elapsed);
    return ingest_parse_line(p, line, strlen(line), rec, reason, reasonlen);
}

/*
 * Times after the year 9999 have no four-digit ISO 8601 year (CTIM), so such lines are
 * rejected; an elapsed time longer than the time since the epoch is garbled: a warning, and
 * no duration rather than a start before 1970.
 */
static void test_time_limits(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128];

    (void)state;
    /* 9999-12-31T23:59:59.999Z is 253402300799.999 s after the epoch */
    assert_int_equal(parse_timed(p, "253402300799.999", "90", &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_true(rec.time_ms == 253402300799999LL);
    assert_int_equal(rec.warnings, 0);
    assert_int_equal(parse_timed(p, "253402300800.000", "90", &rec, reason, sizeof(reason)),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "time after the year 9999 \"253402300800.000\"");
    assert_int_equal(parse_timed(p, "999999999999.999", "90", &rec, reason, sizeof(reason)),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "time after the year 9999 \"999999999999.999\"");

    /* 1000 s after the epoch: an elapsed time of up to 1000000 ms fits */
    assert_int_equal(parse_timed(p, "1000.000", "1000000", &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_true(rec.elapsed_ms == 1000000);
    assert_int_equal(rec.warnings, 0);
    assert_int_equal(parse_timed(p, "1000.000", "1000001", &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    assert_true(rec.time_ms == 1000000);
    assert_true(rec.elapsed_ms == 0);
    assert_int_equal(rec.warnings, INGEST_WARN_VALUE);
    ingest_parser_free(p);
}

static void test_invalid_utf8(void **state)
{
    static const char line[] =
        "1700000000.125 42 192.0.2.7 TCP_MISS/200 5120 GET http://www.example.com/a\xff\xc3 "
        "\"EX\\j\x80"
        "doe\" DIRECT/www.example.com text/html DEFAULT_CASE_12-AP-ID-NONE-NONE-"
        "NONE-DG-NONE <IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,-,-> \"caf\xc3\xa9\"";
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128];

    (void)state;
    assert_int_equal(ingest_parse_line(p, line, sizeof(line) - 1, &rec, reason, sizeof(reason)),
                     INGEST_LINE_ACCESS);
    /* each bad byte becomes U+FFFD (EF BF BD); a good two-byte sequence stays */
    assert_string_equal(rec.url, "http://www.example.com/a\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(rec.user_domain, "EX");
    assert_string_equal(rec.user_name, "j\xef\xbf\xbd"
                                       "doe");
    assert_string_equal(rec.user_agent, "caf\xc3\xa9");

    /* a NUL inside the line is replaced too, and does not cut it */
    char with_nul[sizeof(base_line)];
    memcpy(with_nul, base_line, sizeof(base_line));
    with_nul[strlen(base_line) - 1] = '\0'; /* the "-" user agent becomes a NUL byte */
    assert_int_equal(
        ingest_parse_line(p, with_nul, strlen(base_line), &rec, reason, sizeof(reason)),
        INGEST_LINE_ACCESS);
    assert_string_equal(rec.user_agent, "\xef\xbf\xbd");
    ingest_parser_free(p);
}

static int rec_strings_valid(const ingest_rec_t *rec)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *v;
        if (fields[i].type != F_STR)
            continue;
        v = *(const char *const *)((const char *)rec + fields[i].off);
        if (v && !util_utf8_valid(v, strlen(v)))
            return 0;
    }
    return 1;
}

/* Every prefix of every sample line, and each with one byte flipped: no crash, a sane
 * result (run under the sanitizers this is the out-of-bounds check). */
static void test_truncated_and_mangled(void **state)
{
    lines_t l;
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t rec;
    char reason[128];
    long access = 0, other = 0;

    (void)state;
    lines_load("sentinel-ciscowsa.log", &l);
    for (size_t i = 0; i < l.count; i++) {
        char *copy = malloc(l.len[i] + 1);
        for (size_t n = 0; n <= l.len[i]; n++) {
            ingest_line_kind_t k = ingest_parse_line(p, l.line[i], n, &rec, reason, sizeof(reason));
            assert_true(k <= INGEST_LINE_REJECT);
            if (k == INGEST_LINE_ACCESS) {
                access++;
                assert_true(rec_strings_valid(&rec));
            } else {
                other++;
            }
            if (k == INGEST_LINE_REJECT)
                assert_true(reason[0] != '\0');
            memcpy(copy, l.line[i], l.len[i]);
            if (n < l.len[i]) {
                copy[n] = (char)(copy[n] ^ 0xa5);
                k = ingest_parse_line(p, copy, l.len[i], &rec, reason, sizeof(reason));
                if (k == INGEST_LINE_ACCESS)
                    assert_true(rec_strings_valid(&rec));
            }
        }
        free(copy);
    }
    assert_true(access > 0);
    assert_true(other > 0);
    ingest_parser_free(p);
    lines_free(&l);
}

static void check_norm(const char *in, const char *want)
{
    char out[256];
    long n = ingest_url_normalise(in, strlen(in), out, sizeof(out));

    assert_true(n >= 0);
    assert_string_equal(out, want);
    assert_int_equal((size_t)n, strlen(want));
}

static void test_url_normalise(void **state)
{
    char small[8];

    (void)state;
    check_norm("HTTP://WWW.Example.COM:80/A/B?C=D", "http://www.example.com/A/B?C=D");
    check_norm("https://h.example:443/", "https://h.example/");
    check_norm("https://h.example:8443/", "https://h.example:8443/");
    check_norm("http://h.example:443/", "http://h.example:443/");
    check_norm("ftp://Files.Example.org:21/pub", "ftp://files.example.org/pub");
    check_norm("tunnel://Games.Example.ORG:443/", "tunnel://games.example.org/");
    check_norm("Cdn.Example.COM:443", "cdn.example.com:443");
    check_norm("203.0.113.9:443", "203.0.113.9:443");
    check_norm("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x");
    check_norm("http://User:PW@Host.Example/", "http://User:PW@host.example/");
    /* an empty path is "/", a host's trailing dot and a fragment go */
    check_norm("http://host.example", "http://host.example/");
    check_norm("http://host.example:80", "http://host.example/");
    check_norm("http://host.example?q=1", "http://host.example/?q=1");
    check_norm("http://h.example#top", "http://h.example/");
    check_norm("http://Www.Example.com./Index.html?q=A#frag",
               "http://www.example.com/Index.html?q=A");
    check_norm("https://www.example.com.:443", "https://www.example.com/");
    assert_int_equal(ingest_url_normalise("http://www.example.com/", 23, small, sizeof(small)), -1);
}

static void check_reg(const char *host, const char *want)
{
    char out[256];
    const char *r = ingest_reg_domain(host, out, sizeof(out));

    if (!want) {
        assert_null(r);
    } else {
        assert_non_null(r);
        assert_string_equal(r, want);
    }
}

static void test_reg_domain(void **state)
{
    (void)state;
    check_reg("www.example.com", "example.com");
    check_reg("example.com", "example.com");
    check_reg("a.b.c.example.org", "example.org");
    check_reg("www.shop.example.co.uk", "example.co.uk");
    check_reg("example.co.uk", "example.co.uk");
    check_reg("co.uk", NULL);
    check_reg("news.example.com.au", "example.com.au");
    check_reg("www.example.dk", "example.dk");
    check_reg("t.co", "t.co");
    check_reg("localhost", NULL);
    check_reg("192.0.2.1", NULL);
    check_reg("2001:db8::1", NULL);
    check_reg("", NULL);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(ingest_action_name(INGEST_ACTION_ALLOWED), "allowed");
    assert_string_equal(ingest_action_name(INGEST_ACTION_MONITORED), "monitored");
    assert_string_equal(ingest_action_name(INGEST_ACTION_WARNED), "warned");
    assert_string_equal(ingest_action_name(INGEST_ACTION_BLOCKED), "blocked");
    assert_string_equal(ingest_action_name(INGEST_ACTION_DROPPED), "dropped");
    assert_string_equal(ingest_action_name(INGEST_ACTION_ERROR), "error");
}

/* ---- native shapes, one value at a time (point 1 of issue 3) ---- */

/* A native line with the given middle fields and a 38-field block (category at 1 and 20,
 * WBRS 2, response verdict name 22, AMP verdict 33). */
static ingest_line_kind_t parse_native(ingest_parser_t *p, const char *code, const char *method,
                                       const char *url, const char *user, const char *hier,
                                       const char *acl, const char *cat, const char *wbrs,
                                       const char *resp, const char *amp, ingest_rec_t *rec)
{
    char line[2048], reason[128];

    snprintf(line, sizeof(line),
             "1700000000.125 42 192.0.2.7 %s 5120 %s %s %s %s text/html %s "
             "<%s,%s,-,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,%s,-,%s,\"-\","
             "\"Unknown\",\"Unknown\",\"-\",\"-\",0.00,0,-,\"-\",\"-\",%s,\"-\",-,0,\"-\",\"-\"> -",
             code, method, url, user, hier, acl, cat, wbrs, cat, resp, amp);
    return ingest_parse_line(p, line, strlen(line), rec, reason, sizeof(reason));
}

#define PLAIN(p, rec)                                                                              \
    parse_native(p, "TCP_MISS/200", "GET", "http://www.example.com/", "-",                         \
                 "DIRECT/www.example.com", "DEFAULT_CASE_12-AP-ID-NONE-NONE-NONE-DG-NONE",         \
                 "IW_comp", "6.9", "\"-\"", "0", rec)

static void test_native_acl_parts(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;

    (void)state;
    /* 6 parts: tag, access, identity, DLP, external DLP, routing; the _7 suffix goes */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "ALLOW_WBRS_7-Pol.A-Id_B-DLP1-EXT1-Rt1",
                                  "IW_comp", "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.acl_tag, "ALLOW_WBRS");
    assert_string_equal(r.access_policy, "Pol.A");
    assert_string_equal(r.identity_policy, "Id_B");
    assert_null(r.malware_policy);
    assert_string_equal(r.dlp_policy, "DLP1");
    assert_string_equal(r.ext_dlp_policy, "EXT1");
    assert_string_equal(r.routing_policy, "Rt1");
    assert_null(r.tap_policy);
    assert_int_equal(r.warnings, 0);
    /* 7 parts: the outbound malware policy comes third */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_11-P-I-OMP-D-E-R",
                                  "IW_comp", "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.acl_tag, "DEFAULT_CASE");
    assert_string_equal(r.access_policy, "P");
    assert_string_equal(r.identity_policy, "I");
    assert_string_equal(r.malware_policy, "OMP");
    assert_string_equal(r.dlp_policy, "D");
    assert_string_equal(r.ext_dlp_policy, "E");
    assert_string_equal(r.routing_policy, "R");
    assert_null(r.tap_policy);
    /* 8 parts: the web traffic tap policy last; a tag without a number keeps its name */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DECRYPT_WEBCAT-P-I-OMP-D-E-R-Tap1",
                                  "IW_comp", "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.acl_tag, "DECRYPT_WEBCAT");
    assert_string_equal(r.routing_policy, "R");
    assert_string_equal(r.tap_policy, "Tap1");
    assert_int_equal(r.action, INGEST_ACTION_ALLOWED);
    /* 5 parts: tag kept, policies not guessed, ACL warning */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "BLOCK_ADMIN_3-P-I-D-E", "IW_comp", "6.9",
                                  "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.acl_tag, "BLOCK_ADMIN");
    assert_null(r.access_policy);
    assert_int_equal(r.warnings, INGEST_WARN_ACL);
    ingest_parser_free(p);
}

static void test_native_actions(void **state)
{
    static const struct {
        const char *acl;
        ingest_action_t action;
        int malware;
    } cases[] = {
        {"BLOCK_AMW_REQ_3-P-I-O-D-E-R-T", INGEST_ACTION_BLOCKED, 1},
        {"MONITOR_AMW_RESP_URL_258-P-I-O-D-E-R-T", INGEST_ACTION_MONITORED, 1},
        {"BLOCK_ADMIN_FILE_TYPE_1-P-I-O-D-E-R-T", INGEST_ACTION_BLOCKED, 0},
        {"BLOCK_CONTINUE_CUSTOMCAT_2-P-I-O-D-E-R-T", INGEST_ACTION_WARNED, 0},
        {"DROP_WBRS_4-P-I-O-D-E-R-T", INGEST_ACTION_DROPPED, 0},
        {"PASSTHRU_CUSTOMCAT_7-P-I-O-D-E-R-T", INGEST_ACTION_ALLOWED, 0},
        {"SAAS_AUTH_0-P-I-O-D-E-R-T", INGEST_ACTION_ALLOWED, 0},
        {"NO_AUTHORIZATION_0-P-I-O-D-E-R-T", INGEST_ACTION_BLOCKED, 0},
        {"OTHER-NONE-I-O-D-E-R-T", INGEST_ACTION_ERROR, 0},
        {"WHATEVER_NEW_9-P-I-O-D-E-R-T", INGEST_ACTION_ERROR, 0},
    };
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse_native(p, "TCP_DENIED/403", "GET", "http://a.example.com/", "-",
                                      "DIRECT/a.example.com", cases[i].acl, "IW_comp", "6.9",
                                      "\"-\"", "0", &r),
                         INGEST_LINE_ACCESS);
        assert_int_equal(r.action, cases[i].action);
        assert_int_equal(r.malware, cases[i].malware);
    }
    /* malware without a malware tag: an AMP verdict above 3, or a verdict name */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"-\"", "4", &r),
                     INGEST_LINE_ACCESS);
    assert_int_equal(r.amp_verdict, 4);
    assert_int_equal(r.malware, 1);
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"-\"", "3", &r),
                     INGEST_LINE_ACCESS);
    assert_int_equal(r.malware, 0);
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"Trojan Phisher\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.resp_verdict_name, "Trojan Phisher");
    assert_int_equal(r.malware, 1);
    ingest_parser_free(p);
}

static void test_native_values(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;

    (void)state;
    /* nc and custom C_ categories are kept as logged, quoted or not */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "nc",
                                  "ns", "\"-\"", "-", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.category, "nc");
    assert_string_equal(r.wbrs_raw, "ns");
    assert_int_equal(r.has_wbrs, 0);
    assert_int_equal(r.amp_verdict, -1);
    assert_int_equal(r.warnings, 0);
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T",
                                  "\"C_MS_0\"", "-2.5", "\"-\"", "\"-\"", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.category, "C_MS_0");
    assert_true(r.has_wbrs && r.wbrs == -2.5);
    assert_int_equal(r.amp_verdict, -1);

    /* DOMAIN\name@realm split, the raw value kept; _SSL result codes as logged */
    assert_int_equal(parse_native(p, "TCP_MISS_SSL/200", "GET", "https://a.example.com/x",
                                  "\"CORP\\j.doe@NTLM.Realm\"", "DIRECT/a.example.com",
                                  "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp", "6.9", "\"-\"", "0",
                                  &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.result_code, "TCP_MISS_SSL");
    assert_string_equal(r.user_raw, "CORP\\j.doe@NTLM.Realm");
    assert_string_equal(r.user_domain, "CORP");
    assert_string_equal(r.user_name, "j.doe");
    assert_string_equal(r.user_realm, "NTLM.Realm");
    assert_int_equal(r.dest_port, 443);

    /* a name that is an address: the realm follows the last '@' */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/",
                                  "jane@example.com@LDAP1", "DIRECT/a.example.com",
                                  "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp", "6.9", "\"-\"", "0",
                                  &r),
                     INGEST_LINE_ACCESS);
    assert_null(r.user_domain);
    assert_string_equal(r.user_name, "jane@example.com");
    assert_string_equal(r.user_realm, "LDAP1");
    ingest_parser_free(p);
}

static void test_native_destinations(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;

    (void)state;
    /* CONNECT tunnel://host:port/ with a port that is not the default */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "CONNECT", "tunnel://Chat.Example.com:5222/",
                                  "-", "DIRECT/chat.example.com", "PASSTHRU_WBRS_7-P-I-O-D-E-R-T",
                                  "IW_chat", "7.0", "\"-\"", "-", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.url, "tunnel://chat.example.com:5222/");
    assert_string_equal(r.host, "chat.example.com");
    assert_string_equal(r.reg_domain, "example.com");
    assert_int_equal(r.dest_port, 5222);
    assert_null(r.dest_ip);
    /* TCP_CONNECT host:port with a name */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "TCP_CONNECT", "CDN.Example.net:8443", "-",
                                  "DIRECT/cdn.example.net", "PASSTHRU_WBRS_7-P-I-O-D-E-R-T",
                                  "IW_infr", "7.0", "\"-\"", "-", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.url, "cdn.example.net:8443");
    assert_string_equal(r.host, "cdn.example.net");
    assert_int_equal(r.dest_port, 8443);
    assert_string_equal(r.reg_domain, "example.net");
    /* no URL: host and address from the hierarchy; the port is unknown */
    assert_int_equal(parse_native(p, "NONE/504", "TCP_CONNECT", "-", "-", "DIRECT/198.51.100.7",
                                  "OTHER-NONE-I-O-D-E-R-T", "-", "ns", "\"-\"", "-", &r),
                     INGEST_LINE_ACCESS);
    assert_null(r.url);
    assert_string_equal(r.host, "198.51.100.7");
    assert_string_equal(r.dest_ip, "198.51.100.7");
    assert_null(r.reg_domain);
    assert_int_equal(r.dest_port, 0);
    assert_null(r.category);
    assert_int_equal(r.action, INGEST_ACTION_ERROR);
    assert_int_equal(r.warnings, 0);
    /* IPv6 server in the hierarchy, IPv6 literal in the URL */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "https://[2001:DB8::10]/x", "-",
                                  "DIRECT/2001:db8::10", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.host, "2001:db8::10");
    assert_string_equal(r.dest_ip, "2001:db8::10");
    assert_int_equal(r.dest_port, 443);
    assert_string_equal(r.hierarchy_host, "2001:db8::10");
    /*
     * A name with the root's trailing dot is the same host as without it, in the URL (the
     * normal form drops it) and in the host: it has its registered domain, so a domain
     * observable finds it. Only one dot goes, as in the URL.
     */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://WWW.Example.com./a", "-",
                                  "DIRECT/www.example.com.", "DEFAULT_CASE_1-P-I-O-D-E-R-T",
                                  "IW_comp", "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.url, "http://www.example.com/a");
    assert_string_equal(r.host, "www.example.com");
    assert_string_equal(r.reg_domain, "example.com");
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://www.example.com../b", "-",
                                  "DIRECT/www.example.com.", "DEFAULT_CASE_1-P-I-O-D-E-R-T",
                                  "IW_comp", "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.url, "http://www.example.com./b");
    assert_string_equal(r.host, "www.example.com.");
    assert_null(r.reg_domain);
    /* no URL: the hierarchy's host, without its dot */
    assert_int_equal(parse_native(p, "NONE/504", "TCP_CONNECT", "-", "-",
                                  "DIRECT/Mail.Example.org.", "OTHER-NONE-I-O-D-E-R-T", "-", "ns",
                                  "\"-\"", "-", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.host, "mail.example.org");
    assert_string_equal(r.reg_domain, "example.org");
    /* an address with the root's dot is that address, as a browser takes it */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://198.51.100.7./c", "-",
                                  "DIRECT/198.51.100.7", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.host, "198.51.100.7");
    assert_string_equal(r.dest_ip, "198.51.100.7");
    assert_null(r.reg_domain);
    ingest_parser_free(p);
}

/* One malformed value, the rest certain: stored, that value raw, a warning. */
static void test_native_one_bad_value(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;

    (void)state;
    /* AMP verdict "x7": no verdict, the block keeps it, everything else is read */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"-\"", "x7", &r),
                     INGEST_LINE_ACCESS);
    assert_int_equal(r.amp_verdict, -1);
    assert_non_null(strstr(r.verdict_raw, ",x7,"));
    assert_int_equal(r.warnings, INGEST_WARN_VALUE);
    assert_string_equal(r.category, "IW_comp");
    assert_string_equal(r.format, "squid-38");
    assert_string_equal(r.url, "http://a.example.com/");
    /* a port out of range: the URL kept as logged, the host from the hierarchy */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com:99999/x", "-",
                                  "DIRECT/a.example.com", "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp",
                                  "6.9", "\"-\"", "0", &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.url, "http://a.example.com:99999/x");
    assert_string_equal(r.host, "a.example.com");
    assert_int_equal(r.dest_port, 0);
    assert_int_equal(r.warnings, INGEST_WARN_VALUE);
    assert_int_equal(r.amp_verdict, 0);
    /* a hierarchy field without its slash: kept whole as the code */
    assert_int_equal(parse_native(p, "TCP_MISS/200", "GET", "http://a.example.com/", "-", "DIRECT",
                                  "DEFAULT_CASE_1-P-I-O-D-E-R-T", "IW_comp", "6.9", "\"-\"", "0",
                                  &r),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.hierarchy, "DIRECT");
    assert_null(r.hierarchy_host);
    assert_string_equal(r.host, "a.example.com");
    assert_int_equal(r.warnings, INGEST_WARN_VALUE);
    ingest_parser_free(p);
}

/* ---- W3C (point 2 of issue 3) ---- */

static ingest_line_kind_t w3c(ingest_parser_t *p, const char *line, ingest_rec_t *rec, char *reason)
{
    return ingest_parse_line(p, line, strlen(line), rec, reason, 128);
}

#define SHA_3B "3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b"

/* The synthetic pair of wsa-logs.md section 2, with a full SHA-256. */
static void test_w3c_synthetic_pair(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128];

    (void)state;
    assert_int_equal(ingest_parser_format(p), INGEST_FORMAT_AUTO);
    assert_int_equal(
        w3c(p,
            "#Fields: timestamp x-elapsed-time c-ip x-resultcode-httpstatus sc-bytes cs-method "
            "cs-url cs-username x-hierarchy-origin cs-mime-type x-acltag x-wbrs-score "
            "x-webcat-code-abbr x-amp-verdict x-amp-sha cs(User-Agent)",
            &r, reason),
        INGEST_LINE_SKIP);
    assert_int_equal(ingest_parser_format(p), INGEST_FORMAT_W3C);
    assert_int_equal(w3c(p,
                         "1700000000.125 42 192.0.2.7 TCP_MISS/200 5120 GET "
                         "http://www.example.com/a.zip \"EXAMPLE\\jdoe\" DIRECT/www.example.com "
                         "application/zip DEFAULT_CASE_12-AP1-ID1-NONE-NONE-NONE-DefaultGroup-NONE "
                         "4.1 IW_comp 0 " SHA_3B " \"Mozilla/5.0 (X11; Linux x86_64)\"",
                         &r, reason),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.format, "w3c");
    assert_true(r.time_ms == 1700000000125LL);
    assert_true(r.elapsed_ms == 42);
    assert_string_equal(r.client_ip, "192.0.2.7");
    assert_string_equal(r.result_code, "TCP_MISS");
    assert_int_equal(r.http_status, 200);
    assert_true(r.bytes == 5120);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.url, "http://www.example.com/a.zip");
    assert_string_equal(r.host, "www.example.com");
    assert_string_equal(r.reg_domain, "example.com");
    assert_int_equal(r.dest_port, 80);
    assert_null(r.dest_ip);
    assert_string_equal(r.user_raw, "EXAMPLE\\jdoe");
    assert_string_equal(r.user_domain, "EXAMPLE");
    assert_string_equal(r.user_name, "jdoe");
    assert_null(r.user_realm);
    assert_string_equal(r.hierarchy, "DIRECT");
    assert_string_equal(r.hierarchy_host, "www.example.com");
    assert_string_equal(r.mime, "application/zip");
    assert_string_equal(r.acl_tag, "DEFAULT_CASE");
    assert_int_equal(r.action, INGEST_ACTION_ALLOWED);
    assert_string_equal(r.access_policy, "AP1");
    assert_string_equal(r.identity_policy, "ID1");
    assert_string_equal(r.malware_policy, "NONE");
    assert_string_equal(r.routing_policy, "DefaultGroup");
    assert_string_equal(r.tap_policy, "NONE");
    assert_string_equal(r.wbrs_raw, "4.1");
    assert_true(r.has_wbrs && fabs(r.wbrs - 4.1) < 1e-9);
    assert_string_equal(r.category, "IW_comp");
    assert_int_equal(r.amp_verdict, 0);
    assert_int_equal(r.amp_score, -1);
    assert_string_equal(r.sha256, SHA_3B);
    assert_string_equal(r.user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    assert_null(r.custom_post);
    assert_int_equal(r.verdict_fields, 0);
    assert_int_equal(r.malware, 0);
    assert_int_equal(r.warnings, 0);
    ingest_parser_free(p);
}

/* The default field set of Cisco's W3C example (6.3 era), after the usual directives. */
static void test_w3c_cisco_default(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128];

    (void)state;
    assert_int_equal(w3c(p, "#Version: 1.0", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(ingest_parser_format(p), INGEST_FORMAT_W3C);
    assert_int_equal(w3c(p, "#Date: 2009-06-15 13:55:20", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, "#System: 192.0.2.1 - wsa.example.com", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, "#Software: AsyncOS for Web 6.3.0", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(
        w3c(p,
            "#Fields: timestamp x-elapsed-time c-ip x-resultcode-httpstatus sc-bytes cs-method "
            "cs-url cs-username x-hierarchy-origin cs-mime-type x-acltag x-result-code "
            "x-suspect-user-agent",
            &r, reason),
        INGEST_LINE_SKIP);
    assert_int_equal(w3c(p,
                         "1245074120.254 317 10.1.1.5 TCP_MISS/200 1203 GET "
                         "http://www.example.org/index.html - DIRECT/www.example.org text/html "
                         "DEFAULT_CASE-DefaultGroup-DefaultGroup-NONE-NONE-DefaultRouting "
                         "<IW_news,3.4,-,-,-,-,-,-,-,-,-,-,-,-,-,IW_news,-> -",
                         &r, reason),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.format, "w3c");
    assert_true(r.time_ms == 1245074120254LL);
    assert_true(r.elapsed_ms == 317);
    assert_string_equal(r.client_ip, "10.1.1.5");
    assert_true(r.bytes == 1203);
    assert_null(r.user_raw);
    assert_string_equal(r.url, "http://www.example.org/index.html");
    assert_string_equal(r.reg_domain, "example.org");
    assert_string_equal(r.acl_tag, "DEFAULT_CASE");
    assert_string_equal(r.access_policy, "DefaultGroup");
    assert_string_equal(r.identity_policy, "DefaultGroup");
    assert_null(r.malware_policy);
    assert_string_equal(r.dlp_policy, "NONE");
    assert_string_equal(r.routing_policy, "DefaultRouting");
    /* x-result-code holds the 17-field 6.x verdict block */
    assert_int_equal(r.verdict_fields, 17);
    assert_string_equal(r.category, "IW_news");
    assert_true(r.has_wbrs && fabs(r.wbrs - 3.4) < 1e-9);
    assert_null(r.user_agent);
    assert_int_equal(r.warnings, 0);

    /* a suspect user agent, quoted with spaces; a block decision */
    assert_int_equal(w3c(p,
                         "1245074121.000 5 10.1.1.6 TCP_DENIED/403 0 GET http://x.example.net/ - "
                         "DIRECT/x.example.net - "
                         "BLOCK_SUSPECT_USER_AGENT_4-DefaultGroup-DefaultGroup-NONE-NONE-"
                         "DefaultRouting <IW_news,-1.0,-,-,-,-,-,-,-,-,-,-,-,-,-,IW_news,-> "
                         "\"Evil Bot/1.0 (x, y)\"",
                         &r, reason),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.user_agent, "Evil Bot/1.0 (x, y)");
    assert_int_equal(r.action, INGEST_ACTION_BLOCKED);
    assert_int_equal(r.http_status, 403);
    assert_null(r.mime);
    ingest_parser_free(p);
}

/* A new #Fields: line replaces the map; lines shaped for the old one no longer fit. */
static void test_w3c_header_change(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128];

    (void)state;
    assert_int_equal(w3c(p, "#Fields: timestamp c-ip cs-url sc-bytes", &r, reason),
                     INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1 http://a.example.com/ 10", &r, reason),
                     INGEST_LINE_ACCESS);
    assert_true(r.bytes == 10);
    assert_int_equal(w3c(p, "#Fields: c-ip timestamp cs-url", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(
        w3c(p, "198.51.100.9 1700000100.5 https://Shop.Example.co.uk:443/cart", &r, reason),
        INGEST_LINE_ACCESS);
    assert_string_equal(r.client_ip, "198.51.100.9");
    assert_true(r.time_ms == 1700000100500LL);
    assert_string_equal(r.url, "https://shop.example.co.uk/cart");
    assert_string_equal(r.host, "shop.example.co.uk");
    assert_string_equal(r.reg_domain, "example.co.uk");
    assert_int_equal(r.dest_port, 443);
    assert_true(r.bytes == 0);
    assert_int_equal(r.http_status, 0);
    assert_null(r.method);
    /* no x-acltag column: nothing says the request went through */
    assert_int_equal(r.action, INGEST_ACTION_ERROR);
    assert_int_equal(r.warnings, 0);
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1 http://a.example.com/ 10", &r, reason),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "W3C line has more fields than the 3 the #Fields: line names");
    assert_int_equal(w3c(p, "198.51.100.9 1700000100.5", &r, reason), INGEST_LINE_REJECT);
    assert_string_equal(reason, "W3C line has 2 fields, the #Fields: line names 3");
    /* the old column order puts an address where the time goes (the time is checked first) */
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1 http://a.example.com/", &r, reason),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "bad timestamp \"192.0.2.1\"");
    ingest_parser_free(p);
}

static void test_w3c_before_header(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128];

    (void)state;
    /* forced W3C (a stream that starts mid-file): data before a #Fields: line */
    ingest_parser_set_format(p, INGEST_FORMAT_W3C);
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1 http://a.example.com/", &r, reason),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "W3C data line before any #Fields: line");
    ingest_parser_free(p);

    /* recognised by its #Version: line, still no map */
    p = ingest_parser_new();
    assert_int_equal(w3c(p, "  #Version: 1.0", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(ingest_parser_format(p), INGEST_FORMAT_W3C);
    assert_int_equal(w3c(p, "", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1 http://a.example.com/", &r, reason),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "W3C data line before any #Fields: line");
    /* a #Fields: line without names is refused, and so are the lines after it */
    assert_int_equal(w3c(p, "#Fields:   ", &r, reason), INGEST_LINE_REJECT);
    assert_string_equal(reason, "#Fields: line without field names");
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1", &r, reason), INGEST_LINE_REJECT);
    assert_string_equal(reason, "W3C data line after a #Fields: line that could not be used");
    /* through the loader's entry point */
    assert_int_equal(ingest_parser_directive(p, "#Fields: timestamp c-ip\r\n", 24, reason, 128), 1);
    assert_int_equal(ingest_parser_directive(p, "1700000000.5 192.0.2.1", 22, reason, 128), 0);
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1", &r, reason), INGEST_LINE_ACCESS);
    assert_string_equal(r.client_ip, "192.0.2.1");
    ingest_parser_free(p);

    /* a native source stays native: a directive later on is not a record */
    p = ingest_parser_new();
    assert_int_equal(ingest_parse_line(p, base_line, strlen(base_line), &r, reason, 128),
                     INGEST_LINE_ACCESS);
    assert_int_equal(ingest_parser_format(p), INGEST_FORMAT_NATIVE);
    assert_int_equal(w3c(p, "#Fields: timestamp c-ip", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, "1700000000.5 192.0.2.1", &r, reason), INGEST_LINE_REJECT);
    /* read as native: the address is where the elapsed time goes */
    assert_string_equal(reason, "bad elapsed time \"192.0.2.1\"");
    ingest_parser_free(p);
}

/* Names the record has no field for are kept with their values, in column order. */
static void test_w3c_unknown_fields(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128];

    (void)state;
    assert_int_equal(
        w3c(p, "#Fields: timestamp c-ip x-foo cs(Referer) sc-bytes x-bar c-ip", &r, reason),
        INGEST_LINE_SKIP);
    assert_int_equal(w3c(p,
                         "1700000000 192.0.2.1 42 \"http://ref.example/a b\" 10 - "
                         "192.0.2.99",
                         &r, reason),
                     INGEST_LINE_ACCESS);
    assert_true(r.time_ms == 1700000000000LL);
    assert_string_equal(r.client_ip, "192.0.2.1");
    assert_true(r.bytes == 10);
    /* a name given twice: the first column counts, the second is kept */
    assert_string_equal(r.custom_post,
                        "x-foo=42 cs(Referer)=\"http://ref.example/a b\" x-bar=- c-ip=192.0.2.99");
    assert_int_equal(r.warnings, 0);

    /* x-acltag holding the bare tag: its action, no policies, no warning */
    assert_int_equal(w3c(p, "#Fields: timestamp x-acltag", &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, "1700000000 BLOCK_WEBCAT_11", &r, reason), INGEST_LINE_ACCESS);
    assert_string_equal(r.acl_tag, "BLOCK_WEBCAT");
    assert_int_equal(r.action, INGEST_ACTION_BLOCKED);
    assert_null(r.access_policy);
    assert_null(r.client_ip);
    assert_int_equal(r.warnings, 0);
    /* four parts are a broken string, as in a native line */
    assert_int_equal(w3c(p, "1700000000 BLOCK_WEBCAT_11-AP-ID-X", &r, reason), INGEST_LINE_ACCESS);
    assert_int_equal(r.warnings, INGEST_WARN_ACL);
    ingest_parser_free(p);
}

/* Columns that split what the native format joins, and the scanners' own columns. */
static void test_w3c_split_fields(void **state)
{
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128];

    (void)state;
    assert_int_equal(
        w3c(p,
            "#Fields: date time c-ip sc-result-code sc-http-status cs-method cs-url s-hierarchy "
            "s-hostname s-ip x-acltag x-webcat-code-abbr x-webcat-code-full x-wbrs-score "
            "x-wbrs-threat-type x-avc-app x-avc-type x-avc-behavior x-resp-dvs-verdictname "
            "x-amp-verdict x-amp-malware-name x-amp-score x-amp-filename x-amp-sha",
            &r, reason),
        INGEST_LINE_SKIP);
    assert_int_equal(
        w3c(p,
            "2023-11-14 22:13:20.5 2001:DB8::7 TCP_DENIED 403 CONNECT - DIRECT "
            "Files.Example.net 203.0.113.80 BLOCK_AMW_RESP_11-AP1-ID1-OMP1-NONE-NONE-DefaultGroup "
            "\"C_Cisc\" \"Custom Cisco\" -7.2 \"Malware Sites\" \"Dropbox\" \"File Sharing\" "
            "\"Upload\" \"Trojan Phisher\" 5 \"W32.Test\" 95 \"a b.exe\" "
            "\"3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B3B\"",
            &r, reason),
        INGEST_LINE_ACCESS);
    /* 1700000000 s is 2023-11-14T22:13:20Z */
    assert_true(r.time_ms == 1700000000500LL);
    assert_string_equal(r.client_ip, "2001:db8::7");
    assert_string_equal(r.result_code, "TCP_DENIED");
    assert_int_equal(r.http_status, 403);
    assert_string_equal(r.method, "CONNECT");
    assert_null(r.url);
    assert_string_equal(r.hierarchy, "DIRECT");
    assert_string_equal(r.hierarchy_host, "Files.Example.net");
    assert_string_equal(r.host, "files.example.net");
    assert_string_equal(r.reg_domain, "example.net");
    assert_string_equal(r.dest_ip, "203.0.113.80");
    assert_int_equal(r.dest_port, 0);
    assert_string_equal(r.acl_tag, "BLOCK_AMW_RESP");
    assert_int_equal(r.action, INGEST_ACTION_BLOCKED);
    assert_string_equal(r.malware_policy, "OMP1");
    assert_string_equal(r.routing_policy, "DefaultGroup");
    assert_null(r.tap_policy);
    assert_string_equal(r.category, "C_Cisc");
    assert_string_equal(r.category_full, "Custom Cisco");
    assert_true(r.has_wbrs && fabs(r.wbrs + 7.2) < 1e-9);
    assert_string_equal(r.threat_type, "Malware Sites");
    assert_string_equal(r.avc_app, "Dropbox");
    assert_string_equal(r.avc_type, "File Sharing");
    assert_string_equal(r.avc_behavior, "Upload");
    assert_string_equal(r.resp_verdict_name, "Trojan Phisher");
    assert_int_equal(r.amp_verdict, 5);
    assert_string_equal(r.amp_threat_name, "W32.Test");
    assert_int_equal(r.amp_score, 95);
    assert_string_equal(r.amp_file_name, "a b.exe");
    assert_string_equal(r.sha256, SHA_3B);
    assert_int_equal(r.malware, 1);
    assert_int_equal(r.warnings, 0);
    assert_null(r.custom_post);

    /* malformed values: a bad score and SHA-256 are warnings; a bad status rejects */
    assert_int_equal(w3c(p,
                         "2023-11-14 22:13:20 192.0.2.1 TCP_MISS 200 GET http://a.example.com/ "
                         "DIRECT a.example.com - DEFAULT_CASE_1-P-I-O-D-E-R-T nc - -9.1.0 - - - "
                         "- - x - - - abc",
                         &r, reason),
                     INGEST_LINE_ACCESS);
    assert_string_equal(r.wbrs_raw, "-9.1.0");
    assert_int_equal(r.has_wbrs, 0);
    assert_int_equal(r.amp_verdict, -1);
    assert_null(r.sha256);
    assert_string_equal(r.category, "nc");
    assert_int_equal(r.warnings, INGEST_WARN_WBRS | INGEST_WARN_SHA256 | INGEST_WARN_VALUE);
    assert_int_equal(w3c(p,
                         "2023-11-14 22:13:20 192.0.2.1 TCP_MISS 2x0 GET http://a.example.com/ "
                         "DIRECT a.example.com - DEFAULT_CASE_1-P-I-O-D-E-R-T nc - 1 - - - "
                         "- - - - - - -",
                         &r, reason),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "bad HTTP status \"2x0\"");
    assert_int_equal(w3c(p,
                         "2023-02-30x 22:13:20 192.0.2.1 TCP_MISS 200 GET http://a.example.com/ "
                         "DIRECT a.example.com - DEFAULT_CASE_1-P-I-O-D-E-R-T nc - 1 - - - "
                         "- - - - - - -",
                         &r, reason),
                     INGEST_LINE_REJECT);
    assert_string_equal(reason, "bad date and time \"2023-02-30x 22:13:20\"");
    ingest_parser_free(p);
}

/* x-result-code without a verdict block is kept; every prefix and flipped byte of a W3C
 * line is safe (under the sanitizers this is the out-of-bounds check). */
static void test_w3c_mangled(void **state)
{
    static const char header[] =
        "#Fields: timestamp x-elapsed-time c-ip x-resultcode-httpstatus sc-bytes cs-method "
        "cs-url cs-username x-hierarchy-origin cs-mime-type x-acltag x-result-code x-foo "
        "x-amp-sha cs(User-Agent)";
    static const char line[] =
        "1700000000.125 42 192.0.2.7 TCP_MISS/200 5120 GET http://www.example.com/a.zip "
        "\"EXAMPLE\\jdoe@R\" DIRECT/www.example.com application/zip "
        "DEFAULT_CASE_12-AP1-ID1-NONE-NONE-NONE-DefaultGroup-NONE OK 7 " SHA_3B
        " \"Mozilla/5.0 (X11; Linux x86_64)\"";
    ingest_parser_t *p = ingest_parser_new();
    ingest_rec_t r;
    char reason[128], copy[sizeof(line)];
    long access = 0, other = 0;

    (void)state;
    assert_int_equal(w3c(p, header, &r, reason), INGEST_LINE_SKIP);
    assert_int_equal(w3c(p, line, &r, reason), INGEST_LINE_ACCESS);
    assert_string_equal(r.custom_post, "x-result-code=OK x-foo=7");
    assert_int_equal(r.verdict_fields, 0);
    assert_string_equal(r.user_realm, "R");
    for (size_t n = 0; n < sizeof(line) - 1; n++) {
        ingest_line_kind_t k = ingest_parse_line(p, line, n, &r, reason, sizeof(reason));
        if (k == INGEST_LINE_ACCESS) {
            access++;
            assert_true(rec_strings_valid(&r));
        } else {
            other++;
            assert_true(k == INGEST_LINE_SKIP || reason[0] != '\0');
        }
        memcpy(copy, line, sizeof(line));
        copy[n] = (char)(copy[n] ^ 0xa5);
        if (ingest_parse_line(p, copy, sizeof(line) - 1, &r, reason, sizeof(reason)) ==
            INGEST_LINE_ACCESS)
            assert_true(rec_strings_valid(&r));
    }
    /* only the whole line has all 15 fields: a cut one lacks some */
    assert_int_equal(access, 0);
    assert_true(other > 0);
    ingest_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_table),       cmocka_unit_test(test_sentinel_totals),
        cmocka_unit_test(test_own_totals),           cmocka_unit_test(test_sentinel_amp_lines),
        cmocka_unit_test(test_crlf_and_reuse),       cmocka_unit_test(test_v4_mapped_client),
        cmocka_unit_test(test_invalid_utf8),         cmocka_unit_test(test_truncated_and_mangled),
        cmocka_unit_test(test_url_normalise),        cmocka_unit_test(test_reg_domain),
        cmocka_unit_test(test_action_names),         cmocka_unit_test(test_time_limits),
        cmocka_unit_test(test_native_acl_parts),     cmocka_unit_test(test_native_actions),
        cmocka_unit_test(test_native_values),        cmocka_unit_test(test_native_destinations),
        cmocka_unit_test(test_native_one_bad_value), cmocka_unit_test(test_w3c_synthetic_pair),
        cmocka_unit_test(test_w3c_cisco_default),    cmocka_unit_test(test_w3c_header_change),
        cmocka_unit_test(test_w3c_before_header),    cmocka_unit_test(test_w3c_unknown_fields),
        cmocka_unit_test(test_w3c_split_fields),     cmocka_unit_test(test_w3c_mangled),
        cmocka_unit_test(test_syslog_5424),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
