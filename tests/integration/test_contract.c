/*
 * test_contract.c - observe, deliberate and refer end to end: the sample log ingested into
 * a real server, queried over HTTP/1.1 and h2c.
 *
 * Two servers: "long" keeps verdicts for 36500 days and has a refer template; "plain" runs
 * with the defaults (30 days, no template), under which the 2020 sample has no verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "harness.h"

#define SAMPLE_IP        "172.18.32.70"
#define SAMPLE_SHA       "fd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5e"
#define SAMPLE_SHA_UPPER "FD5EF49D4213E05F448F11ED9C98253D85829614FBA368A421D14E64C556DA5E"
#define DESC_START       "```\n1585638903.150 77 " SAMPLE_IP " TCP_MISS/200 "
#define REFER_TEMPLATE   "https://wsa.example/search?type={type}&q={value}"

static const char *const long_env[] = {
    "WSA_RELAY_SECRET=" H_SECRET,
    "WSA_RELAY_VERDICT_DAYS=36500",
    "WSA_RELAY_REFER_URL=" REFER_TEMPLATE,
    NULL,
};

static const char *const plain_env[] = {
    "WSA_RELAY_SECRET=" H_SECRET,
    NULL,
};

typedef struct fixture {
    h_server_t lng, plain;
    char *auth;      /* default entity limit */
    char *auth_five; /* CTR_ENTITIES_LIMIT 5 */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    const char *const files[] = {TEST_DATA_DIR "/sentinel-ciscowsa.log", NULL};

    assert_non_null(f);
    h_setup(&f->lng);
    h_ingest(&f->lng, files);
    h_start(&f->lng, long_env);
    h_setup(&f->plain);
    h_ingest(&f->plain, files);
    h_start(&f->plain, plain_env);
    f->auth = h_bearer("{\"sub\":\"contract\"}");
    f->auth_five = h_bearer("{\"sub\":\"contract\",\"CTR_ENTITIES_LIMIT\":5}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(h_stop(&f->lng), 0);
    assert_int_equal(h_stop(&f->plain), 0);
    h_teardown(&f->lng);
    h_teardown(&f->plain);
    free(f->auth);
    free(f->auth_five);
    free(f);
    return 0;
}

static void post(const h_server_t *s, const char *auth, int h2, const char *path, const char *body,
                 h_reply_t *r)
{
    const char *const headers[] = {auth, "Content-Type: application/json", NULL};
    h_client_t c;

    h_client_init(&c, h2);
    h_request(&c, s, "POST", path, headers, body, strlen(body), r);
    h_client_free(&c);
    assert_int_equal(r->status, 200);
    h_assert_json(r);
}

/* Asserts that the reply is exactly `want` (a JSON text). */
static void assert_reply_is(const h_reply_t *r, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);

    assert_non_null(w);
    if (!json_equal(r->json, w))
        fail_msg("reply %s, want %s", r->body, want);
    json_decref(w);
}

static const char *str_at(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void assert_observable(json_t *ob, const char *type, const char *value)
{
    assert_non_null(ob);
    assert_string_equal(str_at(ob, "type"), type);
    assert_string_equal(str_at(ob, "value"), value);
}

/* The sightings of a reply: its count matches its docs. */
static json_t *sightings_of(const h_reply_t *r, size_t want)
{
    json_t *s = json_object_get(json_object_get(r->json, "data"), "sightings");

    assert_non_null(s);
    assert_int_equal(json_integer_value(json_object_get(s, "count")), want);
    assert_int_equal(json_array_size(json_object_get(s, "docs")), want);
    return json_object_get(s, "docs");
}

static void check_observe_ip(fixture_t *f, int h2)
{
    h_reply_t r;
    json_t *docs, *first, *obs;
    size_t i, j;

    post(&f->lng, f->auth, h2, "/observe/observables",
         "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"}]", &r);
    /* 13 identical lines at different offsets are 13 transactions; no warning */
    docs = sightings_of(&r, 13);
    assert_null(json_object_get(r.json, "errors"));
    /* an address has no evidence of its own: no verdicts */
    assert_null(json_object_get(json_object_get(r.json, "data"), "verdicts"));

    first = json_array_get(docs, 0);
    assert_string_equal(str_at(first, "type"), "sighting");
    assert_int_equal(strncmp(str_at(first, "id"), "transient:sighting-", 19), 0);
    assert_int_equal(strlen(str_at(first, "id")), 19 + 36);
    assert_string_equal(str_at(first, "resolution"), "allowed");
    assert_string_equal(str_at(first, "title"), "Web request allowed: malware detected");
    assert_string_equal(str_at(json_object_get(first, "observed_time"), "start_time"),
                        "2020-03-31T07:15:03.073Z");
    assert_string_equal(str_at(json_object_get(first, "observed_time"), "end_time"),
                        "2020-03-31T07:15:03.150Z");
    obs = json_object_get(first, "observables");
    assert_int_equal(json_array_size(obs), 4);
    assert_observable(json_array_get(obs, 0), "ip", SAMPLE_IP);
    assert_observable(json_array_get(obs, 1), "url", "http://my.site.com/");
    assert_observable(json_array_get(obs, 2), "domain", "my.site.com");
    assert_observable(json_array_get(obs, 3), "sha256", SAMPLE_SHA);
    assert_int_equal(strncmp(str_at(first, "description"), DESC_START, strlen(DESC_START)), 0);

    /* newest first, each transaction once */
    for (i = 0; i < 13; i++) {
        json_t *a = json_array_get(docs, i);

        if (i > 0)
            assert_true(strcmp(str_at(json_object_get(a, "observed_time"), "end_time"),
                               str_at(json_object_get(json_array_get(docs, i - 1), "observed_time"),
                                      "end_time")) <= 0);
        for (j = 0; j < i; j++)
            assert_string_not_equal(str_at(a, "id"), str_at(json_array_get(docs, j), "id"));
    }
    if (!h2) {
        char *text = json_dumps(first, JSON_INDENT(2));
        printf("one sighting of the sample:\n%s\n", text);
        free(text);
    }

    /* the same query answers the same ids */
    {
        h_reply_t again;
        json_t *docs2;

        post(&f->lng, f->auth, h2, "/observe/observables",
             "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"}]", &again);
        docs2 = sightings_of(&again, 13);
        for (i = 0; i < 13; i++)
            assert_string_equal(str_at(json_array_get(docs, i), "id"),
                                str_at(json_array_get(docs2, i), "id"));
        h_reply_free(&again);
    }

    /* limit 5: the newest five of the same list, and a warning naming the observable */
    {
        h_reply_t lim;
        json_t *docs5, *errors, *w;

        post(&f->lng, f->auth_five, h2, "/observe/observables",
             "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"}]", &lim);
        docs5 = sightings_of(&lim, 5);
        for (i = 0; i < 5; i++)
            assert_string_equal(str_at(json_array_get(docs5, i), "id"),
                                str_at(json_array_get(docs, i), "id"));
        errors = json_object_get(lim.json, "errors");
        assert_int_equal(json_array_size(errors), 1);
        w = json_array_get(errors, 0);
        assert_string_equal(str_at(w, "type"), "warning");
        assert_string_equal(str_at(w, "code"), "too many sightings");
        assert_string_equal(str_at(w, "message"), "There are more sightings of ip " SAMPLE_IP
                                                  " than the limit of 5; the newest 5 are shown.");
        h_reply_free(&lim);
    }
    h_reply_free(&r);
}

static void test_observe_ip_h1(void **state)
{
    check_observe_ip(*state, 0);
}

static void test_observe_ip_h2(void **state)
{
    check_observe_ip(*state, 1);
}

static const char verdict_json[] =
    "{\"type\":\"verdict\",\"disposition\":2,\"disposition_name\":\"Malicious\","
    "\"observable\":{\"type\":\"sha256\",\"value\":\"%s\"},"
    "\"valid_time\":{\"start_time\":\"2020-03-31T07:15:03.150Z\","
    "\"end_time\":\"2120-03-07T07:15:03.150Z\"}}";

static void check_deliberate(fixture_t *f, int h2)
{
    char want[1024], doc[512];
    h_reply_t r;

    /* 36500 days from the 2020 evidence: 2120-03-31 less the 24 leap days in between */
    snprintf(doc, sizeof(doc), verdict_json, SAMPLE_SHA);
    snprintf(want, sizeof(want), "{\"data\":{\"verdicts\":{\"count\":1,\"docs\":[%s]}}}", doc);
    post(&f->lng, f->auth, h2, "/deliberate/observables",
         "[{\"type\":\"sha256\",\"value\":\"" SAMPLE_SHA "\"}]", &r);
    assert_reply_is(&r, want);
    h_reply_free(&r);

    /* the type comes back canonical, the value as sent */
    snprintf(doc, sizeof(doc), verdict_json, SAMPLE_SHA_UPPER);
    snprintf(want, sizeof(want), "{\"data\":{\"verdicts\":{\"count\":1,\"docs\":[%s]}}}", doc);
    post(&f->lng, f->auth, h2, "/deliberate/observables",
         "[{\"type\":\"SHA256\",\"value\":\"" SAMPLE_SHA_UPPER "\"}]", &r);
    assert_reply_is(&r, want);
    h_reply_free(&r);

    /* 30 days after 2020 is long past */
    post(&f->plain, f->auth, h2, "/deliberate/observables",
         "[{\"type\":\"sha256\",\"value\":\"" SAMPLE_SHA "\"}]", &r);
    assert_reply_is(&r, "{\"data\":{}}");
    h_reply_free(&r);

    /* an address is never judged by its traffic */
    post(&f->lng, f->auth, h2, "/deliberate/observables",
         "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"}]", &r);
    assert_reply_is(&r, "{\"data\":{}}");
    h_reply_free(&r);
}

static void test_deliberate_h1(void **state)
{
    check_deliberate(*state, 0);
}

static void test_deliberate_h2(void **state)
{
    check_deliberate(*state, 1);
}

/* observe carries the same verdict as deliberate, next to the sightings. */
static void check_observe_sha(fixture_t *f, int h2)
{
    char doc[512];
    h_reply_t r;
    json_t *verdicts, *want;

    post(&f->lng, f->auth, h2, "/observe/observables",
         "[{\"type\":\"sha256\",\"value\":\"" SAMPLE_SHA "\"}]", &r);
    sightings_of(&r, 13);
    verdicts = json_object_get(json_object_get(r.json, "data"), "verdicts");
    assert_int_equal(json_integer_value(json_object_get(verdicts, "count")), 1);
    snprintf(doc, sizeof(doc), verdict_json, SAMPLE_SHA);
    want = json_loads(doc, 0, NULL);
    assert_true(json_equal(json_array_get(json_object_get(verdicts, "docs"), 0), want));
    json_decref(want);
    h_reply_free(&r);

    post(&f->plain, f->auth, h2, "/observe/observables",
         "[{\"type\":\"sha256\",\"value\":\"" SAMPLE_SHA "\"}]", &r);
    sightings_of(&r, 13);
    assert_null(json_object_get(json_object_get(r.json, "data"), "verdicts"));
    h_reply_free(&r);
}

static void test_observe_sha_h1(void **state)
{
    check_observe_sha(*state, 0);
}

static void test_observe_sha_h2(void **state)
{
    check_observe_sha(*state, 1);
}

static void check_refer(fixture_t *f, int h2)
{
    h_reply_t r;

    post(&f->lng, f->auth, h2, "/refer/observables",
         "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"},"
         "{\"type\":\"url\",\"value\":\"http://my.site.com/a b\"}]",
         &r);
    assert_reply_is(
        &r, "{\"data\":["
            "{\"id\":\"ref-wsa-relay-search-ip-172.18.32.70\",\"title\":\"Search for this IP\","
            "\"description\":\"Lookup this IP on the Web Security Appliance\","
            "\"url\":\"https://wsa.example/search?type=ip&q=172.18.32.70\","
            "\"categories\":[\"Search\",\"Web Security Appliance\"]},"
            "{\"id\":\"ref-wsa-relay-search-url-http%3A%2F%2Fmy.site.com%2Fa%20b\","
            "\"title\":\"Search for this URL\","
            "\"description\":\"Lookup this URL on the Web Security Appliance\","
            "\"url\":\"https://wsa.example/search?type=url&q=http%3A%2F%2Fmy.site.com%2Fa%20b\","
            "\"categories\":[\"Search\",\"Web Security Appliance\"]}]}");
    h_reply_free(&r);

    /* without a template there is nowhere to refer to */
    post(&f->plain, f->auth, h2, "/refer/observables",
         "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"}]", &r);
    assert_reply_is(&r, "{\"data\":[]}");
    h_reply_free(&r);
}

static void test_refer_h1(void **state)
{
    check_refer(*state, 0);
}

static void test_refer_h2(void **state)
{
    check_refer(*state, 1);
}

static void check_skips(fixture_t *f, int h2)
{
    static const char unsupported[] = "[{\"type\":\"email\",\"value\":\"a@example.com\"},"
                                      "{\"type\":\"ip\",\"value\":\"not-an-address\"}]";
    h_reply_t r;

    post(&f->lng, f->auth, h2, "/observe/observables", unsupported, &r);
    assert_reply_is(&r, "{\"data\":{}}");
    h_reply_free(&r);
    post(&f->lng, f->auth, h2, "/deliberate/observables", unsupported, &r);
    assert_reply_is(&r, "{\"data\":{}}");
    h_reply_free(&r);
    post(&f->lng, f->auth, h2, "/refer/observables", unsupported, &r);
    assert_reply_is(&r, "{\"data\":[]}");
    h_reply_free(&r);

    /* an address nobody visited */
    post(&f->lng, f->auth, h2, "/observe/observables",
         "[{\"type\":\"ip\",\"value\":\"192.0.2.1\"}]", &r);
    assert_reply_is(&r, "{\"data\":{}}");
    h_reply_free(&r);
}

static void test_skips_h1(void **state)
{
    check_skips(*state, 0);
}

static void test_skips_h2(void **state)
{
    check_skips(*state, 1);
}

/* "IP" is ip, and the same observable three times is answered once. */
static void check_case_and_duplicates(fixture_t *f, int h2)
{
    static const char body[] = "[{\"type\":\"IP\",\"value\":\"" SAMPLE_IP "\"},"
                               "{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"},"
                               "{\"type\":\"Ip\",\"value\":\"" SAMPLE_IP "\"}]";
    h_reply_t r;
    json_t *docs;

    post(&f->lng, f->auth, h2, "/observe/observables", body, &r);
    docs = sightings_of(&r, 13);
    assert_observable(json_array_get(json_object_get(json_array_get(docs, 0), "observables"), 0),
                      "ip", SAMPLE_IP);
    h_reply_free(&r);

    post(&f->lng, f->auth, h2, "/refer/observables", body, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    h_reply_free(&r);

    /*
     * One transaction found through two observables is one sighting that lists both:
     * site.com matches the 13 lines of my.site.com and one newer line from another client.
     */
    post(&f->lng, f->auth, h2, "/observe/observables",
         "[{\"type\":\"ip\",\"value\":\"" SAMPLE_IP "\"},"
         "{\"type\":\"domain\",\"value\":\"site.com\"}]",
         &r);
    docs = sightings_of(&r, 14);
    for (size_t i = 0; i < 13; i++) {
        json_t *obs = json_object_get(json_array_get(docs, i), "observables");

        assert_int_equal(json_array_size(obs), 5);
        assert_observable(json_array_get(obs, 0), "ip", SAMPLE_IP);
        assert_observable(json_array_get(obs, 4), "domain", "site.com");
    }
    {
        json_t *t = json_array_get(json_object_get(json_array_get(docs, 13), "targets"), 0);

        assert_observable(json_array_get(json_object_get(t, "observables"), 0), "ip",
                          "10.60.71.201");
    }
    h_reply_free(&r);

    post(&f->lng, f->auth, h2, "/deliberate/observables",
         "[{\"type\":\"Sha256\",\"value\":\"" SAMPLE_SHA "\"},"
         "{\"type\":\"sha256\",\"value\":\"" SAMPLE_SHA "\"}]",
         &r);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(r.json, "data"), "verdicts"), "count")),
                     1);
    h_reply_free(&r);
}

static void test_case_and_duplicates_h1(void **state)
{
    check_case_and_duplicates(*state, 0);
}

static void test_case_and_duplicates_h2(void **state)
{
    check_case_and_duplicates(*state, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observe_ip_h1),
        cmocka_unit_test(test_observe_ip_h2),
        cmocka_unit_test(test_deliberate_h1),
        cmocka_unit_test(test_deliberate_h2),
        cmocka_unit_test(test_observe_sha_h1),
        cmocka_unit_test(test_observe_sha_h2),
        cmocka_unit_test(test_refer_h1),
        cmocka_unit_test(test_refer_h2),
        cmocka_unit_test(test_skips_h1),
        cmocka_unit_test(test_skips_h2),
        cmocka_unit_test(test_case_and_duplicates_h1),
        cmocka_unit_test(test_case_and_duplicates_h2),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
