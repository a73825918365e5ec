/*
 * test_auth_http.c - every secret-mode authentication rejection of PRODUCT.md's table, through
 * the real server: HTTP 200, code "authorization error", the exact message; over HTTP/1.1 and
 * h2c. Also the refusal to start with a short secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "harness.h"

#define PUBLIC_URL "http://relay.example:9090"
#define HS256      "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static const char *const server_env[] = {
    "WSA_RELAY_SECRET=" H_SECRET,
    "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL "/",
    NULL,
};

static h_server_t server;

static int setup(void **state)
{
    const char *const files[] = {TEST_DATA_DIR "/sentinel-ciscowsa.log", NULL};

    h_setup(&server);
    h_ingest(&server, files);
    h_start(&server, server_env);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(h_stop(&server), 0);
    h_teardown(&server);
    return 0;
}

/* POST /health with `header` (NULL: none) over `h2` and returns the reply. */
static void health(const char *header, int h2, h_reply_t *r)
{
    const char *const headers[] = {header, NULL};
    h_client_t c;

    h_client_init(&c, h2);
    h_request(&c, &server, "POST", "/health", header != NULL ? headers : NULL, NULL, 0, r);
    h_client_free(&c);
}

/* The reason after "Authorization failed: " for `header`, over HTTP/1.1 and h2c alike. */
static void check_rejected(const char *header, const char *reason)
{
    char message[256];

    snprintf(message, sizeof(message), "Authorization failed: %s", reason);
    for (int h2 = 0; h2 <= 1; h2++) {
        h_reply_t r;
        health(header, h2, &r);
        h_assert_error(&r, 200, "authorization error", message);
        h_reply_free(&r);
    }
}

/* "Authorization: Bearer <token>" for a token with these texts; `key` NULL: no signature. */
static char *bearer_for(const char *header_json, const char *payload_json, const char *key)
{
    char *token = h_jwt(header_json, payload_json, key);
    size_t len = strlen(token) + 32;
    char *line = malloc(len);

    snprintf(line, len, "Authorization: Bearer %s", token);
    free(token);
    return line;
}

static void check_token_rejected(const char *header_json, const char *payload_json, const char *key,
                                 const char *reason)
{
    char *line = bearer_for(header_json, payload_json, key);

    check_rejected(line, reason);
    free(line);
}

static void test_missing_header(void **state)
{
    check_rejected(NULL, "Authorization header is missing");
}

static void test_scheme_basic(void **state)
{
    check_rejected("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Wrong authorization type");
}

static void test_one_word(void **state)
{
    char *token = h_jwt(HS256, "{}", H_SECRET);
    char line[512];

    /* a valid token without its scheme */
    snprintf(line, sizeof(line), "Authorization: %s", token);
    check_rejected(line, "Wrong authorization type");
    free(token);
}

static void test_three_words(void **state)
{
    char *line = bearer_for(HS256, "{}", H_SECRET);
    char three[600];

    snprintf(three, sizeof(three), "%s extra", line);
    check_rejected(three, "Wrong authorization type");
    free(line);
}

static void test_two_parts(void **state)
{
    /* base64url of {"alg":"HS256"} and of {} */
    check_rejected("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30", "Wrong JWT structure");
}

static void test_four_parts(void **state)
{
    char *line = bearer_for(HS256, "{}", H_SECRET);
    char four[600];

    snprintf(four, sizeof(four), "%s.e30", line);
    check_rejected(four, "Wrong JWT structure");
    free(line);
}

static void test_bad_base64url(void **state)
{
    /* '+' and '/' belong to base64, not base64url */
    check_rejected("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30+/.c2ln", "Wrong JWT structure");
}

static void test_header_not_json(void **state)
{
    check_token_rejected("not json", "{}", H_SECRET, "Wrong JWT structure");
}

static void test_token_over_8k(void **state)
{
    /* a correctly signed token whose payload pads it past 8192 bytes */
    size_t pad = 7000;
    char *payload = malloc(pad + 32);
    char *line;

    strcpy(payload, "{\"pad\":\"");
    memset(payload + 8, 'x', pad);
    strcpy(payload + 8 + pad, "\"}");
    line = bearer_for(HS256, payload, H_SECRET);
    assert_true(strlen(line) - strlen("Authorization: Bearer ") > 8192);
    check_rejected(line, "Wrong JWT structure");
    free(line);
    free(payload);
}

static void test_alg_none(void **state)
{
    check_token_rejected("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{}", NULL,
                         "Failed to decode JWT with provided key");
}

static void test_alg_rs256(void **state)
{
    /* signed with the secret, but the header names an algorithm secret mode never accepts */
    check_token_rejected("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{}", H_SECRET,
                         "Failed to decode JWT with provided key");
}

static void test_wrong_secret(void **state)
{
    check_token_rejected(HS256, "{}", "another-secret-of-at-least-32-bytes!!",
                         "Failed to decode JWT with provided key");
}

static void test_expired(void **state)
{
    char payload[64];

    snprintf(payload, sizeof(payload), "{\"exp\":%lld}", (long long)time(NULL) - 3600);
    check_token_rejected(HS256, payload, H_SECRET, "JWT has expired");
}

static void test_not_yet_valid(void **state)
{
    char payload[64];

    snprintf(payload, sizeof(payload), "{\"nbf\":%lld}", (long long)time(NULL) + 3600);
    check_token_rejected(HS256, payload, H_SECRET, "JWT is not yet valid");
}

static void test_wrong_audience(void **state)
{
    /* the server's public URL is http://relay.example:9090 (configured with a slash) */
    check_token_rejected(HS256, "{\"aud\":\"http://relay.example:9091\"}", H_SECRET,
                         "Wrong configuration-token-audience");
    check_token_rejected(HS256, "{\"aud\":[\"http://other.example\"]}", H_SECRET,
                         "Wrong configuration-token-audience");
}

static void check_accepted(const char *header_json, const char *payload_json)
{
    char *line = bearer_for(header_json, payload_json, H_SECRET);

    for (int h2 = 0; h2 <= 1; h2++) {
        h_reply_t r;
        health(line, h2, &r);
        h_assert_json(&r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
        h_reply_free(&r);
    }
    free(line);
}

static void test_valid_token(void **state)
{
    char payload[160];
    time_t now = time(NULL);

    check_accepted(HS256, "{}");
    /* every checked claim in range, the audience given with a trailing slash */
    snprintf(payload, sizeof(payload),
             "{\"aud\":\"" PUBLIC_URL "/\",\"exp\":%lld,\"nbf\":%lld,\"CTR_ENTITIES_LIMIT\":5}",
             (long long)now + 600, (long long)now - 600);
    check_accepted(HS256, payload);
    /* the scheme in any case */
    {
        char *token = h_jwt(HS256, "{}", H_SECRET);
        char line[512];
        h_reply_t r;
        snprintf(line, sizeof(line), "Authorization: bearer %s", token);
        health(line, 0, &r);
        assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
        h_reply_free(&r);
        free(token);
    }
}

/* The routes that need no token answer without one; the others all check it. */
static void test_routes_checked(void **state)
{
    const char *const paths[] = {"/observe/observables", "/deliberate/observables",
                                 "/refer/observables"};
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    for (size_t i = 0; i < 3; i++) {
        h_request(&c, &server, "POST", paths[i], NULL, "[]", 2, &r);
        h_assert_error(&r, 200, "authorization error",
                       "Authorization failed: Authorization header is missing");
        h_reply_free(&r);
    }
    h_request(&c, &server, "POST", "/version", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "version"));
    h_reply_free(&r);
    h_client_free(&c);
}

static void test_short_secret_refused(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=only-31-bytes-long-secret-value", NULL};
    const char *const argv[] = {"serve", "--db", server.db, "--listen", "127.0.0.1:0", NULL};
    char err[1024];
    char *newline;

    assert_int_equal(strlen(env[0]) - strlen("WSA_RELAY_SECRET="), 31);
    assert_int_equal(h_run(argv, env, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "WSA_RELAY_SECRET"));
    /* one line, and the secret itself never appears */
    newline = strchr(err, '\n');
    assert_non_null(newline);
    assert_string_equal(newline + 1, "");
    assert_null(strstr(err, "only-31-bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_header), cmocka_unit_test(test_scheme_basic),
        cmocka_unit_test(test_one_word),       cmocka_unit_test(test_three_words),
        cmocka_unit_test(test_two_parts),      cmocka_unit_test(test_four_parts),
        cmocka_unit_test(test_bad_base64url),  cmocka_unit_test(test_header_not_json),
        cmocka_unit_test(test_token_over_8k),  cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_rs256),      cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_expired),        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_wrong_audience), cmocka_unit_test(test_valid_token),
        cmocka_unit_test(test_routes_checked), cmocka_unit_test(test_short_secret_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
