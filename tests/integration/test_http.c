/*
 * test_http.c - the HTTP layer through the real binary: routing, 404/405 envelopes and
 * keep-alive, /version, /watchdog, /health, /openapi.yaml, the body limit and every
 * `invalid argument` message of the observable endpoints, over HTTP/1.1 and h2c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "harness.h"

#define REFER_TEMPLATE "https://wsa.example/search?{type}={value}"

static const char *const server_env[] = {
    "WSA_RELAY_SECRET=" H_SECRET,
    "WSA_RELAY_REFER_URL=" REFER_TEMPLATE,
    "WSA_RELAY_THREADS=2",
    NULL,
};

typedef struct fixture {
    h_server_t server;
    char *auth; /* "Authorization: Bearer ..." */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    const char *const files[] = {TEST_DATA_DIR "/sentinel-ciscowsa.log", NULL};

    h_setup(&f->server);
    h_ingest(&f->server, files);
    h_start(&f->server, server_env);
    f->auth = h_bearer("{\"sub\":\"integration\"}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(h_stop(&f->server), 0);
    h_teardown(&f->server);
    free(f->auth);
    free(f);
    return 0;
}

/* POSTs `body` to `path` with a valid token. */
static void post(fixture_t *f, h_client_t *c, const char *path, const char *body, h_reply_t *r)
{
    const char *const headers[] = {f->auth, "Content-Type: application/json", NULL};

    h_request(c, &f->server, "POST", path, headers, body, body != NULL ? strlen(body) : 0, r);
}

/* A JSON error reply leaves an HTTP/1.1 connection open for the next request. */
static void check_not_found(fixture_t *f, int h2)
{
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    h_request(&c, &f->server, "POST", "/nothing", NULL, NULL, 0, &r);
    h_assert_error(&r, 404, "not found", "No such endpoint: /nothing");
    assert_int_equal(r.new_connections, 1);
    h_reply_free(&r);

    h_request(&c, &f->server, "GET", "/observe/observables/extra", NULL, NULL, 0, &r);
    h_assert_error(&r, 404, "not found", "No such endpoint: /observe/observables/extra");
    assert_int_equal(r.new_connections, h2 ? 1 : 0);
    h_reply_free(&r);

    /* one trailing slash is tolerated, two are another path */
    h_request(&c, &f->server, "GET", "/version//", NULL, NULL, 0, &r);
    h_assert_error(&r, 404, "not found", "No such endpoint: /version//");
    assert_int_equal(r.new_connections, h2 ? 1 : 0);
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_not_found_http1(void **state)
{
    check_not_found(*state, 0);
}

static void test_not_found_h2c(void **state)
{
    check_not_found(*state, 1);
}

static void check_method_not_allowed(fixture_t *f, int h2)
{
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    h_request(&c, &f->server, "GET", "/health", NULL, NULL, 0, &r);
    h_assert_error(&r, 405, "method not allowed",
                   "Method GET is not allowed on /health; allowed: POST");
    assert_string_equal(r.allow, "POST");
    h_reply_free(&r);

    h_request(&c, &f->server, "PUT", "/version", NULL, "{}", 2, &r);
    h_assert_error(&r, 405, "method not allowed",
                   "Method PUT is not allowed on /version; allowed: GET, HEAD, POST");
    assert_string_equal(r.allow, "GET, HEAD, POST");
    assert_int_equal(r.new_connections, h2 ? 1 : 0);
    h_reply_free(&r);

    h_request(&c, &f->server, "POST", "/watchdog/", NULL, NULL, 0, &r);
    h_assert_error(&r, 405, "method not allowed",
                   "Method POST is not allowed on /watchdog; allowed: GET, HEAD");
    assert_string_equal(r.allow, "GET, HEAD");
    assert_int_equal(r.new_connections, h2 ? 1 : 0);
    h_reply_free(&r);

    h_request(&c, &f->server, "DELETE", "/refer/observables", NULL, NULL, 0, &r);
    h_assert_error(&r, 405, "method not allowed",
                   "Method DELETE is not allowed on /refer/observables; allowed: POST");
    assert_int_equal(r.new_connections, h2 ? 1 : 0);
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_method_not_allowed_http1(void **state)
{
    check_method_not_allowed(*state, 0);
}

static void test_method_not_allowed_h2c(void **state)
{
    check_method_not_allowed(*state, 1);
}

static void check_version(fixture_t *f, int h2)
{
    const char *const variants[][2] = {
        {"GET", "/version"}, {"POST", "/version"}, {"GET", "/version/"}, {"POST", "/version/"}};
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        h_request(&c, &f->server, variants[i][0], variants[i][1], NULL, NULL, 0, &r);
        h_assert_json(&r);
        assert_int_equal(r.status, 200);
        /* the one reply without the data envelope */
        assert_int_equal(json_object_size(r.json), 1);
        assert_string_equal(json_string_value(json_object_get(r.json, "version")),
                            WSA_RELAY_VERSION);
        h_reply_free(&r);
    }
    /* a query string is not part of the path */
    h_request(&c, &f->server, "GET", "/version?x=1", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "version")), "0.1.0");
    h_reply_free(&r);
    /* HEAD: the headers of GET, no body */
    h_request(&c, &f->server, "HEAD", "/version", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_string_equal(r.content_type, "application/json");
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_version_http1(void **state)
{
    check_version(*state, 0);
}

static void test_version_h2c(void **state)
{
    check_version(*state, 1);
}

static void check_watchdog(fixture_t *f, int h2)
{
    const char *const probe[] = {"Health-Check: probe-42", NULL};
    const char *const empty[] = {"Health-Check;", NULL};
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    h_request(&c, &f->server, "GET", "/watchdog", probe, NULL, 0, &r);
    h_assert_json(&r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_size(r.json), 1);
    assert_string_equal(json_string_value(json_object_get(r.json, "data")), "probe-42");
    h_reply_free(&r);

    h_request(&c, &f->server, "GET", "/watchdog", NULL, NULL, 0, &r);
    h_assert_error(&r, 200, "health check failed", "Invalid Health Check");
    h_reply_free(&r);

    /* curl sends "Health-Check:" with an empty value for "Health-Check;" */
    h_request(&c, &f->server, "GET", "/watchdog/", empty, NULL, 0, &r);
    h_assert_error(&r, 200, "health check failed", "Invalid Health Check");
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_watchdog_http1(void **state)
{
    check_watchdog(*state, 0);
}

static void test_watchdog_h2c(void **state)
{
    check_watchdog(*state, 1);
}

static void check_health(fixture_t *f, int h2)
{
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    post(f, &c, "/health", NULL, &r);
    h_assert_json(&r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
    h_reply_free(&r);

    /* the body of /health is ignored, even when it is not JSON */
    post(f, &c, "/health/", "not json", &r);
    assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_health_http1(void **state)
{
    check_health(*state, 0);
}

static void test_health_h2c(void **state)
{
    check_health(*state, 1);
}

static void test_openapi(void **state)
{
    fixture_t *f = *state;
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    h_request(&c, &f->server, "GET", "/openapi.yaml", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/yaml");
    assert_int_equal(r.content_length, (long)r.len);
    assert_memory_equal(r.body, "openapi: 3.0", 12);
    assert_non_null(strstr(r.body, "\n  /observe/observables:\n"));
    assert_non_null(strstr(r.body, "\n  /watchdog:\n"));
    h_reply_free(&r);
    h_client_free(&c);
}

/*
 * Every path the spec documents is one the server routes (a method it does not take gets
 * 405, where an unknown path gets 404), and the spec documents all seven routes.
 */
static void test_openapi_paths_exist(void **state)
{
    fixture_t *f = *state;
    const char *p, *end;
    char path[128];
    int documented = 0;
    h_client_t c;
    h_reply_t spec, r;

    h_client_init(&c, 0);
    h_request(&c, &f->server, "GET", "/openapi.yaml", NULL, NULL, 0, &spec);
    p = strstr(spec.body, "\npaths:\n");
    assert_non_null(p);
    /* path items are the lines "  /name:" until the next top-level key */
    for (p += 8; *p == ' ' || *p == '\n'; p = end + 1) {
        end = strchr(p, '\n');
        assert_non_null(end);
        if (strncmp(p, "  /", 3) != 0 || end[-1] != ':')
            continue;
        assert_true((size_t)(end - p - 3) < sizeof(path));
        snprintf(path, sizeof(path), "%.*s", (int)(end - p - 3), p + 2);
        h_request(&c, &f->server, "DELETE", path, NULL, NULL, 0, &r);
        if (r.status != 405)
            fail_msg("%s is documented but answers %ld to DELETE", path, r.status);
        h_reply_free(&r);
        documented++;
    }
    /* /health, /observe, /deliberate, /refer, /version, /watchdog, /openapi.yaml */
    assert_int_equal(documented, 7);
    h_reply_free(&spec);
    h_client_free(&c);
}

/* A body of `len` bytes: a JSON empty array padded with spaces. */
static char *padded_array(size_t len)
{
    char *body = malloc(len + 1);

    memset(body, ' ', len);
    body[0] = '[';
    body[len - 1] = ']';
    body[len] = '\0';
    return body;
}

static void check_body_limit(fixture_t *f, int h2)
{
    char *body;
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    /* exactly 1 MiB is accepted: an empty array, so no links */
    body = padded_array(1024 * 1024);
    post(f, &c, "/refer/observables", body, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"data\":[]}");
    h_reply_free(&r);
    free(body);

    /*
     * One byte more is refused by H2O before any handler runs: HTTP/1.1 gets its 413 (and
     * the connection closed); HTTP/2 gets the stream reset with REFUSED_STREAM, which
     * libcurl retries and then reports as a receive failure.
     */
    body = padded_array(1024 * 1024 + 1);
    if (h2) {
        const char *const headers[] = {f->auth, NULL};
        assert_int_equal(h_try_request(&c, &f->server, "POST", "/refer/observables", headers, body,
                                       strlen(body), &r),
                         CURLE_RECV_ERROR);
    } else {
        post(f, &c, "/refer/observables", body, &r);
        assert_int_equal(r.status, 413);
        h_reply_free(&r);
    }
    free(body);

    /* and the server goes on */
    post(f, &c, "/refer/observables", "[]", &r);
    assert_string_equal(r.body, "{\"data\":[]}");
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_body_limit_http1(void **state)
{
    check_body_limit(*state, 0);
}

static void test_body_limit_h2c(void **state)
{
    check_body_limit(*state, 1);
}

/* Each refused body and the exact message it gets. */
static const struct {
    const char *body;
    const char *message;
} invalid_cases[] = {
    {"", "Invalid JSON payload received. The body is empty: expected a JSON array of "
         "observables."},
    {" \r\n", "Invalid JSON payload received. The body is empty: expected a JSON array of "
              "observables."},
    /* jansson's own texts; its column counts the end of the input as one more character */
    {"[{\"type\":\"ip\",", "Invalid JSON payload received. Line 1, column 14: string or '}' "
                           "expected near end of file."},
    {"[1,]", "Invalid JSON payload received. Line 1, column 4: unexpected token near ']'."},
    {"[] []", "Invalid JSON payload received. Line 1, column 4: end of file expected near '['."},
    {"{\"type\":\"ip\",\"value\":\"192.0.2.1\"}",
     "Invalid JSON payload received. Expected a JSON array of observables, not an object."},
    {"\"192.0.2.1\"",
     "Invalid JSON payload received. Expected a JSON array of observables, not a string."},
    {"null", "Invalid JSON payload received. Expected a JSON array of observables, not null."},
    {"[{\"type\":\"ip\",\"value\":\"192.0.2.1\"},7]",
     "Invalid JSON payload received. Element 1: expected an object with \"type\" and "
     "\"value\", not a number."},
    {"[[]]", "Invalid JSON payload received. Element 0: expected an object with \"type\" and "
             "\"value\", not an array."},
    {"[{\"value\":\"192.0.2.1\"}]",
     "Invalid JSON payload received. Element 0: \"type\" is missing."},
    {"[{\"type\":\"ip\"}]", "Invalid JSON payload received. Element 0: \"value\" is missing."},
    {"[{\"type\":\"ip\",\"value\":\"192.0.2.1\"},{\"type\":true,\"value\":\"x\"}]",
     "Invalid JSON payload received. Element 1: \"type\" must be a string, not a boolean."},
    {"[{\"type\":\"ip\",\"value\":3232235777}]",
     "Invalid JSON payload received. Element 0: \"value\" must be a string, not a number."},
    {"[{\"type\":\"ip\",\"value\":\"\"}]",
     "Invalid JSON payload received. Element 0: \"value\" may not be blank."},
    {"[{\"type\":\"ip\",\"value\":\" \\t \"}]",
     "Invalid JSON payload received. Element 0: \"value\" may not be blank."},
    {"[{\"type\":\"\",\"value\":\"192.0.2.1\"}]",
     "Invalid JSON payload received. Element 0: \"type\" may not be blank."},
    /* every value must be a C string: NUL is refused, at the end of the string token */
    {"[{\"type\":\"ip\",\"value\":\"a\\u0000b\"}]",
     "Invalid JSON payload received. Line 1, column 32: a string may not contain \\u0000."},
    {"[{\"type\":\"ip\",\"type\":\"url\",\"value\":\"x\"}]",
     "Invalid JSON payload received. Line 1, column 20: duplicate object key near '\"type\"'."},
};

static void check_invalid(fixture_t *f, int h2)
{
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, h2);
    for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
        post(f, &c, "/refer/observables", invalid_cases[i].body, &r);
        if (r.json == NULL)
            fail_msg("case %zu: not JSON: %s", i, r.body);
        h_assert_error(&r, 200, "invalid argument", invalid_cases[i].message);
        h_reply_free(&r);
    }
    h_client_free(&c);
}

static void test_invalid_http1(void **state)
{
    check_invalid(*state, 0);
}

static void test_invalid_h2c(void **state)
{
    check_invalid(*state, 1);
}

/* Bytes that are not UTF-8 never reach a handler, and the message is UTF-8 itself. */
static void test_invalid_utf8(void **state)
{
    fixture_t *f = *state;
    const char body[] = "[{\"type\":\"ip\",\"value\":\"\xff\"}]";
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    post(f, &c, "/refer/observables", body, &r);
    h_assert_error(&r, 200, "invalid argument",
                   "Invalid JSON payload received. Line 1, column 23: unable to decode byte "
                   "0xff near '\"'.");
    h_reply_free(&r);
    h_client_free(&c);
}

/* The same reader serves every observable endpoint. */
static void test_invalid_every_endpoint(void **state)
{
    fixture_t *f = *state;
    const char *const paths[] = {"/observe/observables", "/deliberate/observables/",
                                 "/refer/observables"};
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    for (size_t i = 0; i < 3; i++) {
        post(f, &c, paths[i], "[{\"type\":\"domain\",\"value\":\"\"}]", &r);
        h_assert_error(&r, 200, "invalid argument",
                       "Invalid JSON payload received. Element 0: \"value\" may not be blank.");
        h_reply_free(&r);
    }
    h_client_free(&c);
}

/* A JSON array of `n` domain observables d0.example ... */
static char *many_observables(size_t n)
{
    size_t cap = 64 + n * 48, len = 1;
    char *body = malloc(cap);

    body[0] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"type\":\"domain\",\"value\":\"d%zu.example\"}",
                                i > 0 ? "," : "", i);
    body[len++] = ']';
    body[len] = '\0';
    return body;
}

static void test_observable_count_limit(void **state)
{
    fixture_t *f = *state;
    char *body;
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    body = many_observables(1000);
    post(f, &c, "/refer/observables", body, &r);
    h_assert_json(&r);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1000);
    h_reply_free(&r);
    free(body);

    body = many_observables(1001);
    post(f, &c, "/refer/observables", body, &r);
    h_assert_error(&r, 200, "invalid argument",
                   "Invalid JSON payload received. 1001 observables: at most 1000 are accepted "
                   "in one request.");
    h_reply_free(&r);
    free(body);
    h_client_free(&c);
}

/* [{"type":"file_name","value":"xxx...x"}] with a value of `n` bytes. */
static char *long_value(size_t n)
{
    char *body = malloc(n + 64);
    int len = sprintf(body, "[{\"type\":\"file_name\",\"value\":\"");

    memset(body + len, 'x', n);
    strcpy(body + len + n, "\"}]");
    return body;
}

static void test_value_length_limit(void **state)
{
    fixture_t *f = *state;
    char *body;
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 1);
    body = long_value(8192);
    post(f, &c, "/refer/observables", body, &r);
    h_assert_json(&r);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    h_reply_free(&r);
    free(body);

    body = long_value(8193);
    post(f, &c, "/refer/observables", body, &r);
    h_assert_error(&r, 200, "invalid argument",
                   "Invalid JSON payload received. Element 0: \"value\" is longer than 8192 "
                   "bytes.");
    h_reply_free(&r);
    free(body);
    h_client_free(&c);
}

static const char *link_url(const json_t *data, size_t i)
{
    return json_string_value(json_object_get(json_array_get(data, i), "url"));
}

/*
 * Types match case-insensitively; unknown types and values that cannot be of their type are
 * skipped; a repeated observable is answered once; an unknown field is ignored.
 */
static void test_observables_filtered(void **state)
{
    fixture_t *f = *state;
    const char body[] = "[{\"type\":\"DOMAIN\",\"value\":\"example.com\"},"
                        "{\"type\":\"cisco_mid\",\"value\":\"123\"},"
                        "{\"type\":\"ip\",\"value\":\"not-an-address\"},"
                        "{\"type\":\"domain\",\"value\":\"example.com\"},"
                        "{\"type\":\"Ip\",\"value\":\"192.0.2.7\",\"extra\":1},"
                        "{\"type\":\"ip\",\"value\":\"192.0.2.7\"}]";
    const json_t *data;
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    post(f, &c, "/refer/observables", body, &r);
    h_assert_json(&r);
    data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(link_url(data, 0), "https://wsa.example/search?domain=example.com");
    assert_string_equal(link_url(data, 1), "https://wsa.example/search?ip=192.0.2.7");
    h_reply_free(&r);
    h_client_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_found_http1),
        cmocka_unit_test(test_not_found_h2c),
        cmocka_unit_test(test_method_not_allowed_http1),
        cmocka_unit_test(test_method_not_allowed_h2c),
        cmocka_unit_test(test_version_http1),
        cmocka_unit_test(test_version_h2c),
        cmocka_unit_test(test_watchdog_http1),
        cmocka_unit_test(test_watchdog_h2c),
        cmocka_unit_test(test_health_http1),
        cmocka_unit_test(test_health_h2c),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_openapi_paths_exist),
        cmocka_unit_test(test_body_limit_http1),
        cmocka_unit_test(test_body_limit_h2c),
        cmocka_unit_test(test_invalid_http1),
        cmocka_unit_test(test_invalid_h2c),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_invalid_every_endpoint),
        cmocka_unit_test(test_observable_count_limit),
        cmocka_unit_test(test_value_length_limit),
        cmocka_unit_test(test_observables_filtered),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
