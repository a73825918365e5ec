/*
 * test_admin_cli.c - `wsa-relay appliances` and `wsa-relay rejects` as an operator meets
 * them: the aligned table, the JSON array, the rejected lines, help and usage errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

/* An access record without a syslog header: 1651830000.490 is 2022-05-06T09:40:00.490Z. */
static const char clean_line[] =
    "1651830000.490 90 10.147.88.13 TCP_MISS/200 0 TCP_CONNECT 10.10.10.1:443 - DIRECT/url - "
    "PASSTHRU_WBRS_7-DefaultGroup-LCAB.AuthExemptSource.ID-NONE-NONE-NONE-DefaultGroup-NONE "
    "<\"IW_comp\",9.0,1,\"-\",-,-,-,-,\"-\",-,-,-,\"-\",-,-,\"-\",\"-\",-,-,\"IW_comp\",-,\"-\","
    "\"Computers and Internet\",\"-\",\"Unknown\",\"Unknown\",\"-\",\"-\",0.00,0,-,\"-\",\"-\",-,"
    "\"-\",-,-,\"-\",\"-\",-,-,\"-\",-,-> -";

/* Behind a syslog header naming host wsa02: 1700000012.000 is 2023-11-14T22:13:32.000Z. */
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

static void write_lines(const char *path, const char *const lines[])
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    for (int i = 0; lines[i] != NULL; i++)
        fprintf(fp, "%s\n", lines[i]);
    assert_int_equal(fclose(fp), 0);
}

/* wsa02 with two rows (its syslog host), alpha with one (forced): table and JSON. */
static void test_appliances(void **state)
{
    const char *const a_lines[] = {syslog_line, syslog_line, NULL};
    const char *const b_lines[] = {clean_line, NULL};
    const char *ingest_a[] = {"ingest", "--db", NULL, NULL, NULL};
    const char *ingest_b[] = {"ingest", "--db", NULL, "--appliance", "alpha", NULL, NULL};
    const char *table[] = {"appliances", "--db", NULL, NULL};
    const char *json[] = {"appliances", "--db", NULL, "--json", NULL};
    char out[4096], a[400], b[400];
    json_t *arr, *o;
    h_server_t s;

    h_setup(&s);
    snprintf(a, sizeof(a), "%s/a.log", s.dir);
    snprintf(b, sizeof(b), "%s/b.log", s.dir);
    write_lines(a, a_lines);
    write_lines(b, b_lines);
    ingest_a[2] = ingest_b[2] = table[2] = json[2] = s.db;
    ingest_a[3] = a;
    ingest_b[5] = b;
    assert_int_equal(h_run(ingest_a, NULL, out, sizeof(out)), 0);
    assert_int_equal(h_run(ingest_b, NULL, out, sizeof(out)), 0);

    /* columns as wide as "APPLIANCE" and "ROWS", two spaces apart; counts right-aligned */
    assert_int_equal(h_run(table, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "APPLIANCE  ROWS  LAST SEEN\n"
                             "alpha         1  2022-05-06T09:40:00.490Z\n"
                             "wsa02         2  2023-11-14T22:13:32.000Z\n");

    assert_int_equal(h_run(json, NULL, out, sizeof(out)), 0);
    assert_non_null(arr = json_loads(out, 0, NULL));
    assert_int_equal(json_array_size(arr), 2);
    o = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "alpha");
    assert_int_equal(json_integer_value(json_object_get(o, "rows")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "last_seen")),
                        "2022-05-06T09:40:00.490Z");
    o = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "wsa02");
    assert_int_equal(json_integer_value(json_object_get(o, "rows")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "last_seen")),
                        "2023-11-14T22:13:32.000Z");
    json_decref(arr);
    h_teardown(&s);
}

static void test_appliances_usage(void **state)
{
    const char *help[] = {"appliances", "--help", NULL};
    const char *bad_flag[] = {"appliances", "--rows", NULL};
    const char *extra[] = {"appliances", "surplus", NULL};
    const char *missing[] = {"appliances", "--db", NULL, NULL};
    char out[4096], db[400];
    h_server_t s;

    h_setup(&s);
    assert_int_equal(h_run(help, NULL, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "usage: wsa-relay appliances [--db PATH] [--json]\n"));
    assert_int_equal(h_run(bad_flag, NULL, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "wsa-relay appliances: unrecognized option '--rows'\n"));
    assert_int_equal(h_run(extra, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay appliances: unexpected argument \"surplus\"\n");
    /* no database: a runtime error, and none is created */
    snprintf(db, sizeof(db), "%s/none.db", s.dir);
    missing[2] = db;
    assert_int_equal(h_run(missing, NULL, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "wsa-relay appliances: "));
    assert_non_null(strstr(out, db));
    assert_int_equal(access(db, F_OK), -1);
    h_teardown(&s);
}

/* The rejected line with its source, offset and reason; --limit bounds the listing. */
static void test_rejects_listing(void **state)
{
    const char *const lines[] = {clean_line, bad_ip_line, bad_ip_line, NULL};
    const char *ingest[] = {"ingest", "--db", NULL, NULL, NULL};
    const char *list[] = {"rejects", "--db", NULL, NULL};
    const char *one[] = {"rejects", "--db", NULL, "--limit", "1", NULL};
    char out[8192], path[400], want[600];
    size_t second = strlen(clean_line) + 1, third = second + strlen(bad_ip_line) + 1;
    h_server_t s;

    h_setup(&s);
    snprintf(path, sizeof(path), "%s/r.log", s.dir);
    write_lines(path, lines);
    ingest[2] = list[2] = one[2] = s.db;
    ingest[3] = path;
    assert_int_equal(h_run(ingest, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "read=3 stored=1 warned=0 rejected=2 skipped=0\n");

    /* newest first: added in the same run, the later line comes first */
    assert_int_equal(h_run(list, NULL, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "%s offset %zu: ", path, third);
    assert_ptr_equal(strstr(out, want), out);
    snprintf(want, sizeof(want), "\n    %s\n%s offset %zu: ", bad_ip_line, path, second);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "(rejected 20"));

    assert_int_equal(h_run(one, NULL, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "%s offset %zu: ", path, second);
    assert_null(strstr(out, want));
    snprintf(want, sizeof(want), "%s offset %zu: ", path, third);
    assert_non_null(strstr(out, want));
    h_teardown(&s);
}

static void test_rejects_usage(void **state)
{
    const char *help[] = {"rejects", "--help", NULL};
    const char *bad_flag[] = {"rejects", "--all", NULL};
    const char *zero[] = {"rejects", "--limit", "0", NULL};
    const char *huge[] = {"rejects", "--limit", "1000001", NULL};
    const char *words[] = {"rejects", "--limit", "ten", NULL};
    const char *lone_appliance[] = {"rejects", "--appliance", "wsa1", NULL};
    const char *retry_missing[] = {"rejects", "--db", NULL, "--retry", NULL};
    const char *list_missing[] = {"rejects", "--db", NULL, NULL};
    const char *const limit_msg =
        "wsa-relay rejects: --limit: expected a whole number from 1 to 1000000\n";
    char out[4096], db[400], want[600];
    h_server_t s;

    assert_int_equal(h_run(help, NULL, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "usage: wsa-relay rejects [--db PATH] [--limit N]\n"));
    assert_non_null(strstr(out, "retried=N moved=N still_rejected=N"));
    assert_int_equal(h_run(bad_flag, NULL, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "wsa-relay rejects: unrecognized option '--all'\n"));
    assert_int_equal(h_run(zero, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, limit_msg);
    assert_int_equal(h_run(huge, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, limit_msg);
    assert_int_equal(h_run(words, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, limit_msg);
    assert_int_equal(h_run(lone_appliance, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay rejects: --appliance goes with --retry\n");

    /* no database: exit 1, and neither listing nor retrying creates one */
    h_setup(&s);
    snprintf(db, sizeof(db), "%s/none.db", s.dir);
    retry_missing[2] = list_missing[2] = db;
    assert_int_equal(h_run(retry_missing, NULL, out, sizeof(out)), 1);
    snprintf(want, sizeof(want),
             "wsa-relay rejects: %s: the database does not exist (wsa-relay ingest creates "
             "it)\n",
             db);
    assert_string_equal(out, want);
    assert_int_equal(h_run(list_missing, NULL, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "the database does not exist"));
    assert_int_equal(access(db, F_OK), -1);
    h_teardown(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appliances),
        cmocka_unit_test(test_appliances_usage),
        cmocka_unit_test(test_rejects_listing),
        cmocka_unit_test(test_rejects_usage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
