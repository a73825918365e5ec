/*
 * test_jwks.c - jwks mode through the real server, against HTTPS JWKS servers of the test's
 * own (jwks_server.h): every refusal has its exact message (HTTP 200, code "authorization
 * error", type "fatal"), the algorithm is the configuration's choice and never the token's,
 * the allowlist is decided without a connection, fetch failures of every kind are one
 * message, keys rotate with one refetch, and a held fetch stalls no request that does not
 * need it while a burst of requests that do shares that one fetch.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "auth.h"
#include "harness.h"
#include "jwks_server.h"
#include "util.h"

#define PUBLIC_URL "http://relay.test"
#define OK_BODY    "{\"data\":{\"status\":\"ok\"}}"

#define M_HOST_MISSING                                                                             \
    "Authorization failed: jwks_host is missing in JWT payload. Make sure custom_jwks_host "       \
    "field is present in module_type"
#define M_WRONG_HOST                                                                               \
    "Authorization failed: Wrong jwks_host in JWT payload. Make sure domain follows the "          \
    "visibility.<region>.cisco.com structure"
#define M_KID "Authorization failed: kid from JWT header not found in API response"
#define M_KEY                                                                                      \
    "Authorization failed: Failed to decode JWT with provided key. Make sure domain in "           \
    "custom_jwks_host corresponds to your SecureX instance region."
#define M_AUD       "Authorization failed: Wrong configuration-token-audience"
#define M_EXPIRED   "Authorization failed: JWT has expired"
#define M_NOT_YET   "Authorization failed: JWT is not yet valid"
#define M_STRUCTURE "Authorization failed: Wrong JWT structure"

/* What every test of the main relay shares: made once in setup. */
static h_server_t relay;
static js_ca_t *ca;
static js_server_t *good, *fail_404, *fail_html, *fail_huge, *fail_slow;
static js_counter_t *counter;
static js_key_t rsa1, rsa256, rsa384, ec1, stranger;
static char good_host[64], counter_host[64];

/* ---- tokens ---- */

static char *bearer(const char *token)
{
    size_t len = strlen(token) + 32;
    char *line = malloc(len);

    assert_non_null(line);
    snprintf(line, len, "Authorization: Bearer %s", token);
    return line;
}

/* A header naming `alg` and `kid` (NULL: no kid member). */
static void header_json(char *out, size_t len, const char *alg, const char *kid)
{
    if (kid != NULL)
        snprintf(out, len, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
    else
        snprintf(out, len, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
}

/*
 * A payload naming `host` with the audience text `aud` (a JSON value; NULL: no aud) and the
 * members `extra` (",\"exp\":1" or ""). Each gets its own jti, so that no two tokens are
 * alike and the relay's cache of verified tokens never answers for another.
 */
static void payload_json(char *out, size_t len, const char *host, const char *aud,
                         const char *extra)
{
    static int serial;
    int n = snprintf(out, len, "{\"jti\":\"t%d\"", ++serial);

    if (host != NULL)
        n += snprintf(out + n, len - (size_t)n, ",\"jwks_host\":\"%s\"", host);
    if (aud != NULL)
        n += snprintf(out + n, len - (size_t)n, ",\"aud\":%s", aud);
    snprintf(out + n, len - (size_t)n, "%s}", extra);
}

/* An ordinary token for `host`: audience the relay's URL, exp in ten minutes. */
static char *token_for(const js_key_t *key, const char *alg, const char *kid, const char *host)
{
    char h[160], p[320], extra[64];

    snprintf(extra, sizeof(extra), ",\"exp\":%lld", (long long)time(NULL) + 600);
    header_json(h, sizeof(h), alg, kid);
    payload_json(p, sizeof(p), host, "\"" PUBLIC_URL "\"", extra);
    return js_sign(key, alg, NULL, 0, h, p);
}

/* ---- requests ---- */

static void health(const h_server_t *s, const char *line, int h2, h_reply_t *r)
{
    const char *const headers[] = {line, NULL};
    h_client_t c;

    h_client_init(&c, h2);
    h_request(&c, s, "POST", "/health", line != NULL ? headers : NULL, NULL, 0, r);
    h_client_free(&c);
}

/* `token` is refused with `message`; h2c first, so that the first fetch of a source waits
 * on an HTTP/2 stream, then HTTP/1.1. */
static void expect_refused(const h_server_t *s, const char *token, const char *message)
{
    char *line = bearer(token);

    for (int h2 = 1; h2 >= 0; h2--) {
        h_reply_t r;
        health(s, line, h2, &r);
        h_assert_error(&r, 200, "authorization error", message);
        h_reply_free(&r);
    }
    free(line);
}

static void expect_ok(const h_server_t *s, const char *token)
{
    char *line = bearer(token);

    for (int h2 = 1; h2 >= 0; h2--) {
        h_reply_t r;
        health(s, line, h2, &r);
        h_assert_json(&r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, OK_BODY);
        h_reply_free(&r);
    }
    free(line);
}

/* Signs, checks and frees in one go. */
static void refused(const h_server_t *s, char *token, const char *message)
{
    expect_refused(s, token, message);
    free(token);
}

static void accepted(const h_server_t *s, char *token)
{
    expect_ok(s, token);
    free(token);
}

/* ---- servers ---- */

static char *document_of(const char *const jwks[], size_t n)
{
    size_t len = 16;
    char *doc;

    for (size_t i = 0; i < n; i++)
        len += strlen(jwks[i]) + 1;
    doc = malloc(len);
    assert_non_null(doc);
    strcpy(doc, "{\"keys\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(doc, ",");
        strcat(doc, jwks[i]);
    }
    strcat(doc, "]}");
    return doc;
}

/* Serves the document of these keys, each JWK with its `alg` member (NULL: none). */
static void serve_keys(js_server_t *js, const js_key_t *const keys[], const char *const algs[],
                       size_t n)
{
    char *jwks[8], *doc;

    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        jwks[i] = js_jwk(keys[i], algs[i]);
    doc = document_of((const char *const *)jwks, n);
    js_set_document(js, doc);
    free(doc);
    for (size_t i = 0; i < n; i++)
        free(jwks[i]);
}

static void host_of(char *out, size_t len, const char *name, int port)
{
    snprintf(out, len, "%s:%d", name, port);
}

/* Starts `s` in jwks mode with `hosts` and further settings `more` (NULL-terminated). */
static void start_jwks_relay(h_server_t *s, const char *hosts, const char *const more[])
{
    char hosts_env[512], ca_env[600];
    const char *env[24] = {"WSA_RELAY_AUTH_MODE=jwks", "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL};
    size_t n = 2;

    snprintf(hosts_env, sizeof(hosts_env), "WSA_RELAY_JWKS_HOSTS=%s", hosts);
    snprintf(ca_env, sizeof(ca_env), "WSA_RELAY_JWKS_CA=%s", js_ca_file(ca));
    env[n++] = hosts_env;
    env[n++] = ca_env;
    for (size_t i = 0; more != NULL && more[i] != NULL && n < 23; i++)
        env[n++] = more[i];
    env[n] = NULL;
    h_start(s, env);
}

static int setup(void **state)
{
    const js_key_t *const keys[] = {&rsa1, &rsa256, &rsa384, &ec1};
    const char *const algs[] = {NULL, "RS256", "RS384", NULL};
    const char *const more[] = {"WSA_RELAY_JWKS_TIMEOUT_MS=1000", "WSA_RELAY_THREADS=2", NULL};
    char hosts[512];

    h_clean_env();
    h_setup(&relay);
    ca = js_ca_create(relay.dir);
    js_key_generate(&rsa1, 0, "rsa-1");
    js_key_generate(&rsa256, 0, "rsa-256");
    js_key_generate(&rsa384, 0, "rsa-384");
    js_key_generate(&ec1, 1, "ec-1");
    /* signs with kid rsa-1 but is not that key */
    js_key_generate(&stranger, 0, "rsa-1");

    good = js_start(ca);
    serve_keys(good, keys, algs, 4);
    fail_404 = js_start(ca);
    js_set_mode(fail_404, JS_404);
    fail_html = js_start(ca);
    js_set_mode(fail_html, JS_HTML);
    fail_huge = js_start(ca);
    js_set_mode(fail_huge, JS_HUGE);
    fail_slow = js_start(ca);
    serve_keys(fail_slow, keys, algs, 4);
    js_set_mode(fail_slow, JS_SLOW);
    js_set_delay_ms(fail_slow, 4000);
    counter = js_counter_start();

    host_of(good_host, sizeof(good_host), "127.0.0.1", js_port(good));
    host_of(counter_host, sizeof(counter_host), "127.0.0.1", js_counter_port(counter));
    snprintf(hosts, sizeof(hosts), "%s,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
             good_host, js_port(fail_404), js_port(fail_html), js_port(fail_huge),
             js_port(fail_slow));
    start_jwks_relay(&relay, hosts, more);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(h_stop(&relay), 0);
    h_teardown(&relay);
    js_stop(good);
    js_stop(fail_404);
    js_stop(fail_html);
    js_stop(fail_huge);
    js_stop(fail_slow);
    js_counter_stop(counter);
    js_ca_free(ca);
    js_key_free(&rsa1);
    js_key_free(&rsa256);
    js_key_free(&rsa384);
    js_key_free(&ec1);
    js_key_free(&stranger);
    return 0;
}

/* ---- the main relay ---- */

static void test_valid_token(void **state)
{
    assert_int_equal(js_requests(good), 0);
    accepted(&relay, token_for(&rsa1, "RS256", "rsa-1", good_host));
    /* one fetch, on one connection; the next tokens use the cached set */
    assert_int_equal(js_requests(good), 1);
    assert_int_equal(js_connections(good), 1);
    accepted(&relay, token_for(&rsa256, "RS256", "rsa-256", good_host));
    accepted(&relay, token_for(&rsa1, "RS256", "rsa-1", good_host));
    assert_int_equal(js_requests(good), 1);
}

static void test_libjwt_token(void **state)
{
    char claims[256], err[256];
    char *t;

    /* an ordinary token as libjwt makes it: iat and exp from the minting */
    snprintf(claims, sizeof(claims), "{\"jwks_host\":\"%s\",\"aud\":\"" PUBLIC_URL "\"}",
             good_host);
    t = auth_mint_rs256(rsa1.private_pem, strlen(rsa1.private_pem), "rsa-1", claims, 600,
                        (int64_t)time(NULL), err, sizeof(err));
    if (t == NULL)
        fail_msg("auth_mint_rs256: %s", err);
    accepted(&relay, t);
    /* minted an hour ago with a ten-minute lifetime */
    t = auth_mint_rs256(rsa1.private_pem, strlen(rsa1.private_pem), "rsa-1", claims, 600,
                        (int64_t)time(NULL) - 3600, err, sizeof(err));
    assert_non_null(t);
    refused(&relay, t, M_EXPIRED);
}

static void test_observe_with_token(void **state)
{
    char *token = token_for(&rsa1, "RS256", "rsa-1", good_host);
    char *line = bearer(token);
    const char *const headers[] = {line, NULL};
    const char *body = "[{\"type\":\"ip\",\"value\":\"192.0.2.1\"}]";
    h_client_t c;
    h_reply_t r;

    /* an empty database: nothing seen, but the token let the request through */
    h_client_init(&c, 0);
    h_request(&c, &relay, "POST", "/observe/observables", headers, body, strlen(body), &r);
    h_assert_json(&r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"data\":{}}");
    h_reply_free(&r);
    h_client_free(&c);
    free(line);
    free(token);
}

static void test_alg_none(void **state)
{
    char h[160], p[320];

    header_json(h, sizeof(h), "none", "rsa-1");
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", "");
    refused(&relay, js_sign(&rsa1, "none", NULL, 0, h, p), M_KEY);
    /* alg none with a real RS256 signature after it */
    {
        char *real = token_for(&rsa1, "RS256", "rsa-1", good_host);
        char *dot1 = strchr(real, '.');
        char *forged, *hb = malloc(strlen(h) * 2 + 8);
        util_b64url_encode((const unsigned char *)h, strlen(h), hb);
        forged = malloc(strlen(real) + strlen(hb) + 1);
        sprintf(forged, "%s%s", hb, dot1);
        refused(&relay, forged, M_KEY);
        free(hb);
        free(real);
    }
}

static void test_hs256_with_public_key(void **state)
{
    char h[160], p[320];

    /* the classic confusion: the public key, which anyone has, used as an HMAC secret */
    header_json(h, sizeof(h), "HS256", "rsa-1");
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", "");
    refused(&relay,
            js_sign(NULL, "HS256", (const unsigned char *)rsa1.public_pem, strlen(rsa1.public_pem),
                    h, p),
            M_KEY);
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", "");
    refused(
        &relay,
        js_sign(NULL, "HS256", (const unsigned char *)rsa1.pkcs1_pem, strlen(rsa1.pkcs1_pem), h, p),
        M_KEY);
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", "");
    refused(&relay, js_sign(NULL, "HS256", rsa1.der, rsa1.der_len, h, p), M_KEY);
    /* and without a kid, so that no key could be looked up for it either */
    header_json(h, sizeof(h), "HS256", NULL);
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", "");
    {
        char *t = js_sign(NULL, "HS256", (const unsigned char *)rsa1.public_pem,
                          strlen(rsa1.public_pem), h, p);
        char *line = bearer(t);
        h_reply_t r;
        health(&relay, line, 0, &r);
        /* either reason is a refusal; the point is that it is one */
        h_assert_json(&r);
        assert_int_equal(r.status, 200);
        assert_non_null(json_object_get(r.json, "errors"));
        assert_null(json_object_get(r.json, "data"));
        h_reply_free(&r);
        free(line);
        free(t);
    }
}

static void test_other_algs_refused_by_default(void **state)
{
    /* correctly signed, with keys the set holds, but WSA_RELAY_JWT_ALGS is RS256 only */
    refused(&relay, token_for(&rsa1, "RS384", "rsa-1", good_host), M_KEY);
    refused(&relay, token_for(&rsa1, "RS512", "rsa-1", good_host), M_KEY);
    refused(&relay, token_for(&ec1, "ES256", "ec-1", good_host), M_KEY);
    refused(&relay, token_for(&rsa384, "RS384", "rsa-384", good_host), M_KEY);
}

static void test_key_and_alg_mismatch(void **state)
{
    /* rsa-384's JWK says RS384: an RS256 signature by that very key is refused */
    refused(&relay, token_for(&rsa384, "RS256", "rsa-384", good_host), M_KEY);
    /* an RS256 header naming the EC key */
    refused(&relay, token_for(&rsa1, "RS256", "ec-1", good_host), M_KEY);
}

static void test_bad_signature(void **state)
{
    char *t;
    size_t len;

    /* the right kid, another key */
    refused(&relay, token_for(&stranger, "RS256", "rsa-1", good_host), M_KEY);
    /* a signature cut short: 340 base64url characters are 255 bytes, one short */
    t = token_for(&rsa1, "RS256", "rsa-1", good_host);
    len = strlen(t);
    assert_int_equal(len - (size_t)(strrchr(t, '.') - t) - 1, 342);
    t[len - 2] = '\0';
    refused(&relay, t, M_KEY);
    /* a signature with one bit changed: the last character's value moved by one */
    t = token_for(&rsa1, "RS256", "rsa-1", good_host);
    len = strlen(t);
    t[len - 2] = t[len - 2] == 'A' ? 'B' : 'A';
    refused(&relay, t, M_KEY);
    /* a signature from another token: the payload no longer matches */
    {
        char *a = token_for(&rsa1, "RS256", "rsa-1", good_host);
        char *b = token_for(&rsa1, "RS256", "rsa-1", good_host);
        char *mixed = malloc(strlen(a) + strlen(b) + 1);
        size_t keep = (size_t)(strrchr(a, '.') - a);
        sprintf(mixed, "%.*s%s", (int)keep, a, strrchr(b, '.'));
        refused(&relay, mixed, M_KEY);
        free(a);
        free(b);
    }
    assert_int_equal(js_requests(good), 1);
}

static void test_unknown_kid(void **state)
{
    unsigned long before = js_requests(good);

    refused(&relay, token_for(&rsa1, "RS256", "no-such-kid", good_host), M_KID);
    /* no kid at all */
    refused(&relay, token_for(&rsa1, "RS256", NULL, good_host), M_KID);
    /* WSA_RELAY_JWKS_REFRESH is 60 s: the set fetched moments ago is not fetched again */
    assert_int_equal(js_requests(good), before);
}

static void test_times(void **state)
{
    char h[160], p[320], extra[96];
    long long now = (long long)time(NULL);

    header_json(h, sizeof(h), "RS256", "rsa-1");
    snprintf(extra, sizeof(extra), ",\"exp\":%lld", now - 3600);
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", extra);
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_EXPIRED);
    snprintf(extra, sizeof(extra), ",\"nbf\":%lld", now + 3600);
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", extra);
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_NOT_YET);
    /* within the 30 s leeway either way */
    snprintf(extra, sizeof(extra), ",\"exp\":%lld,\"nbf\":%lld", now - 10, now + 10);
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", extra);
    accepted(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p));
}

static void test_audience(void **state)
{
    char h[160], p[320];

    header_json(h, sizeof(h), "RS256", "rsa-1");
    payload_json(p, sizeof(p), good_host, "\"http://other.test\"", "");
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_AUD);
    /* jwks mode requires aud */
    payload_json(p, sizeof(p), good_host, NULL, "");
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_AUD);
    payload_json(p, sizeof(p), good_host, "[\"http://other.test\",\"http://relay.test.evil\"]", "");
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_AUD);
    payload_json(p, sizeof(p), good_host, "\"https://relay.test\"", "");
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_AUD);
    /* compared without a trailing slash, in a string or in an array */
    payload_json(p, sizeof(p), good_host, "[\"http://other.test\",\"" PUBLIC_URL "/\"]", "");
    accepted(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p));
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "/\"", "");
    accepted(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p));
}

static void test_jwks_host_missing(void **state)
{
    char h[160], p[320];

    header_json(h, sizeof(h), "RS256", "rsa-1");
    payload_json(p, sizeof(p), NULL, "\"" PUBLIC_URL "\"", "");
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_HOST_MISSING);
    /* not a string */
    payload_json(p, sizeof(p), NULL, "\"" PUBLIC_URL "\"", ",\"jwks_host\":443");
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, h, p), M_HOST_MISSING);
}

static void test_host_not_allowed(void **state)
{
    char other[160];

    /* a host that listens but is not on the allowlist: not one connection */
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", counter_host), M_WRONG_HOST);
    host_of(other, sizeof(other), "localhost", js_counter_port(counter));
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", other), M_WRONG_HOST);
    /* an allowed host with something after it: the allowlist is exact */
    snprintf(other, sizeof(other), "%s/x", good_host);
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", other), M_WRONG_HOST);
    snprintf(other, sizeof(other), "%s@127.0.0.1:%d", good_host, js_counter_port(counter));
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", other), M_WRONG_HOST);
    /* the default regional host is not allowed when the list names others */
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", "visibility.amp.cisco.com"), M_WRONG_HOST);
    assert_int_equal(js_counter_accepted(counter), 0);
}

static void test_structure(void **state)
{
    char *t, *line, *padded;
    char h[160], p[8192];
    size_t pad = 6200;

    /* correctly signed, but over 8 KiB */
    header_json(h, sizeof(h), "RS256", "rsa-1");
    padded = malloc(pad + 16);
    strcpy(padded, ",\"pad\":\"");
    memset(padded + 8, 'x', pad);
    strcpy(padded + 8 + pad, "\"");
    payload_json(p, sizeof(p), good_host, "\"" PUBLIC_URL "\"", padded);
    t = js_sign(&rsa1, "RS256", NULL, 0, h, p);
    assert_true(strlen(t) > 8192);
    refused(&relay, t, M_STRUCTURE);
    free(padded);

    /* four parts */
    t = token_for(&rsa1, "RS256", "rsa-1", good_host);
    line = malloc(strlen(t) + 8);
    sprintf(line, "%s.e30", t);
    refused(&relay, line, M_STRUCTURE);
    free(t);
    /* '+' and '/' are base64, not base64url */
    expect_refused(&relay, "eyJhbGciOiJSUzI1NiJ9.e30+/.c2ln", M_STRUCTURE);
    /* a header that is not JSON, and a payload that is JSON but not an object */
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, "not json", "{}"), M_STRUCTURE);
    refused(&relay, js_sign(&rsa1, "RS256", NULL, 0, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "[]"),
            M_STRUCTURE);

    /* and the header's own errors, as in secret mode */
    {
        h_reply_t r;
        health(&relay, NULL, 0, &r);
        h_assert_error(&r, 200, "authorization error",
                       "Authorization failed: Authorization header is missing");
        h_reply_free(&r);
        health(&relay, "Authorization: Basic dXNlcjpwYXNzd29yZA==", 0, &r);
        h_assert_error(&r, 200, "authorization error",
                       "Authorization failed: Wrong authorization type");
        h_reply_free(&r);
    }
}

/* A source that cannot give a key set: the Wrong jwks_host message, one fetch, no retry
 * before JWKS_RETRY_S. */
static void check_fetch_failure(js_server_t *js)
{
    char host[64];

    host_of(host, sizeof(host), "127.0.0.1", js_port(js));
    assert_int_equal(js_requests(js), 0);
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", host), M_WRONG_HOST);
    assert_int_equal(js_requests(js), 1);
    refused(&relay, token_for(&rsa1, "RS256", "rsa-1", host), M_WRONG_HOST);
    assert_int_equal(js_requests(js), 1);
}

static void test_fetch_404(void **state)
{
    check_fetch_failure(fail_404);
}

static void test_fetch_html(void **state)
{
    check_fetch_failure(fail_html);
}

static void test_fetch_huge(void **state)
{
    check_fetch_failure(fail_huge);
}

static void test_fetch_too_slow(void **state)
{
    int64_t start = util_monotonic_ms(), took;

    /* the server answers after 4 s; the relay gives a fetch 1 s */
    check_fetch_failure(fail_slow);
    took = util_monotonic_ms() - start;
    assert_true(took >= 1000);
    assert_true(took < 3900);
}

static void test_version_needs_no_token(void **state)
{
    h_client_t c;
    h_reply_t r;

    h_client_init(&c, 0);
    h_request(&c, &relay, "GET", "/version", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_string(json_object_get(r.json, "version")));
    h_reply_free(&r);
    h_client_free(&c);
}

/* Writes `text` to <dir>/<name> and returns the path in `out`. */
static void write_file(const char *dir, const char *name, const char *text, char *out, size_t len)
{
    FILE *f;

    snprintf(out, len, "%s/%s", dir, name);
    f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_token_cli(void **state)
{
    char key[512], out[8192], host_claim[96];
    const char *argv[] = {"token",   "--rs256",  key,       "--kid",           "rsa-1",
                          "--claim", host_claim, "--claim", "aud=" PUBLIC_URL, NULL};
    char *nl;

    write_file(relay.dir, "rsa1.pem", rsa1.private_pem, key, sizeof(key));
    snprintf(host_claim, sizeof(host_claim), "jwks_host=%s", good_host);
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, "");
    *nl = '\0';
    expect_ok(&relay, out);
    /* signed by a key whose kid the set gives to another key */
    write_file(relay.dir, "stranger.pem", stranger.private_pem, key, sizeof(key));
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    out[strcspn(out, "\n")] = '\0';
    expect_refused(&relay, out, M_KEY);
}

static void test_token_cli_defaults(void **state)
{
    char key[512], out[8192], hosts[160];
    const char *argv[] = {"token", "--rs256", key, "--kid", "rsa-1", NULL};
    const char *const env[] = {hosts, "WSA_RELAY_AUTH_MODE=jwks",
                               "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL, NULL};
    const char *const no_url[] = {hosts, "WSA_RELAY_AUTH_MODE=jwks", NULL};
    const char *const no_rs256[] = {hosts, "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL,
                                    "WSA_RELAY_JWT_ALGS=RS384", NULL};

    /* aud from WSA_RELAY_PUBLIC_URL, jwks_host the first allowed host */
    write_file(relay.dir, "rsa1.pem", rsa1.private_pem, key, sizeof(key));
    snprintf(hosts, sizeof(hosts), "WSA_RELAY_JWKS_HOSTS=%s,127.0.0.1:1", good_host);
    assert_int_equal(h_run(argv, env, out, sizeof(out)), 0);
    out[strcspn(out, "\n")] = '\0';
    expect_ok(&relay, out);
    /* without a public URL there is no aud to give, and the relay would refuse the token */
    assert_int_equal(h_run(argv, no_url, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay token: an RS256 token needs an aud, the relay's URL: set "
                             "WSA_RELAY_PUBLIC_URL or give --claim aud=URL\n");
    /* nor when the configuration would refuse RS256 itself */
    assert_int_equal(h_run(argv, no_rs256, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay token: WSA_RELAY_JWT_ALGS does not allow RS256, the "
                             "algorithm --rs256 signs with\n");
}

static void test_jwks_cli(void **state)
{
    char key[512], out[8192];
    const char *argv[] = {"jwks", "--key", key, "--kid", "rsa-1", NULL};
    char *expected = js_jwk(&rsa1, NULL);
    json_t *doc, *want, *got;

    write_file(relay.dir, "rsa1.pem", rsa1.private_pem, key, sizeof(key));
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "keys")), 1);
    got = json_array_get(json_object_get(doc, "keys"), 0);
    want = json_loads(expected, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(got, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(got, "kid")), "rsa-1");
    assert_string_equal(json_string_value(json_object_get(got, "e")), "AQAB");
    assert_string_equal(json_string_value(json_object_get(got, "n")),
                        json_string_value(json_object_get(want, "n")));
    assert_null(json_object_get(got, "d"));
    json_decref(want);
    json_decref(doc);
    free(expected);
    /* a FIFO or a folder for the key is refused at once, not waited on */
    snprintf(key, sizeof(key), "%s/key.fifo", relay.dir);
    assert_int_equal(mkfifo(key, 0600), 0);
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 1);
    assert_true(strstr(out, "key.fifo: cannot open: not a regular file\n") != NULL);
    unlink(key);
}

/* ---- relays of their own ---- */

static void test_rs384_allowed(void **state)
{
    const char *const more[] = {"WSA_RELAY_JWT_ALGS=RS256,RS384", NULL};
    unsigned long before = js_requests(good);
    h_server_t s;

    h_setup(&s);
    start_jwks_relay(&s, good_host, more);
    /* a JWK with no alg, and one whose alg is RS384 */
    accepted(&s, token_for(&rsa1, "RS384", "rsa-1", good_host));
    accepted(&s, token_for(&rsa384, "RS384", "rsa-384", good_host));
    accepted(&s, token_for(&rsa1, "RS256", "rsa-1", good_host));
    /* a key that says RS256 verifies only RS256, and RS384 only... RS384 */
    refused(&s, token_for(&rsa256, "RS384", "rsa-256", good_host), M_KEY);
    refused(&s, token_for(&rsa384, "RS256", "rsa-384", good_host), M_KEY);
    /* still not allowed */
    refused(&s, token_for(&rsa1, "RS512", "rsa-1", good_host), M_KEY);
    refused(&s, token_for(&ec1, "ES256", "ec-1", good_host), M_KEY);
    assert_int_equal(js_requests(good), before + 1);
    h_teardown(&s);
}

static void test_es256_allowed(void **state)
{
    const char *const more[] = {"WSA_RELAY_JWT_ALGS=ES256", NULL};
    h_server_t s;

    h_setup(&s);
    start_jwks_relay(&s, good_host, more);
    accepted(&s, token_for(&ec1, "ES256", "ec-1", good_host));
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", good_host), M_KEY);
    h_teardown(&s);
}

/*
 * The source replaces rsa-1 with `next` (kid `next_kid`): within WSA_RELAY_JWKS_REFRESH of
 * the last fetch a token of the new key is refused with `message` and fetches nothing; after
 * it, one fetch and the new key verifies; the old key's tokens are then refused the same
 * way, with no further fetch.
 */
static void rotate_to(const js_key_t *next, const char *next_kid, const char *message)
{
    const char *const more[] = {"WSA_RELAY_JWKS_REFRESH=2", NULL};
    const js_key_t *const old_keys[] = {&rsa1};
    const js_key_t *const new_keys[] = {next};
    const char *const algs[] = {NULL};
    js_server_t *js = js_start(ca);
    char host[64];
    h_server_t s;

    serve_keys(js, old_keys, algs, 1);
    host_of(host, sizeof(host), "127.0.0.1", js_port(js));
    h_setup(&s);
    start_jwks_relay(&s, host, more);
    accepted(&s, token_for(&rsa1, "RS256", "rsa-1", host));
    assert_int_equal(js_requests(js), 1);

    serve_keys(js, new_keys, algs, 1);
    refused(&s, token_for(next, "RS256", next_kid, host), message);
    assert_int_equal(js_requests(js), 1);
    sleep(3);
    accepted(&s, token_for(next, "RS256", next_kid, host));
    assert_int_equal(js_requests(js), 2);
    /* the set was replaced whole */
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", host), message);
    assert_int_equal(js_requests(js), 2);
    h_teardown(&s);
    js_stop(js);
}

/* A new key under a new kid: the unknown kid makes the fetch. */
static void test_rotation(void **state)
{
    rotate_to(&rsa256, "rsa-256", M_KID);
}

/* A new key under the same kid: the signature the cached key refuses makes the fetch. */
static void test_rotation_same_kid(void **state)
{
    rotate_to(&stranger, "rsa-1", M_KEY);
}

static void test_jwks_file(void **state)
{
    char *jwk = js_jwk(&rsa1, NULL), *doc, file[512], file_env[600], hosts[200];
    const char *const more[] = {file_env, NULL};
    h_server_t s;

    doc = document_of((const char *const *)&jwk, 1);
    h_setup(&s);
    write_file(s.dir, "jwks.json", doc, file, sizeof(file));
    snprintf(file_env, sizeof(file_env), "WSA_RELAY_JWKS_FILE=%s", file);
    snprintf(hosts, sizeof(hosts), "%s,visibility.amp.cisco.com", counter_host);
    start_jwks_relay(&s, hosts, more);
    /* the token must still name an allowed host, but the keys come from the file */
    accepted(&s, token_for(&rsa1, "RS256", "rsa-1", counter_host));
    accepted(&s, token_for(&rsa1, "RS256", "rsa-1", "visibility.amp.cisco.com"));
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", good_host), M_WRONG_HOST);
    refused(&s, token_for(&rsa1, "RS256", "other", counter_host), M_KID);
    assert_int_equal(js_counter_accepted(counter), 0);
    h_teardown(&s);
    free(doc);
    free(jwk);
}

static void test_jwks_url(void **state)
{
    const js_key_t *const keys[] = {&rsa1};
    const char *const algs[] = {NULL};
    js_server_t *js = js_start(ca);
    char url_env[200];
    const char *const more[] = {url_env, NULL};
    h_server_t s;

    serve_keys(js, keys, algs, 1);
    /* by name: the certificate is for localhost too */
    snprintf(url_env, sizeof(url_env), "WSA_RELAY_JWKS_URL=https://localhost:%d" JS_PATH,
             js_port(js));
    h_setup(&s);
    start_jwks_relay(&s, counter_host, more);
    accepted(&s, token_for(&rsa1, "RS256", "rsa-1", counter_host));
    assert_int_equal(js_requests(js), 1);
    assert_int_equal(js_counter_accepted(counter), 0);
    h_teardown(&s);
    js_stop(js);
}

static void test_untrusted_certificate(void **state)
{
    /* the same server, but the relay trusts only the system's CAs */
    char hosts_env[128];
    const char *const env[] = {"WSA_RELAY_AUTH_MODE=jwks", "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL,
                               hosts_env, NULL};
    js_server_t *js = js_start(ca);
    const js_key_t *const keys[] = {&rsa1};
    const char *const algs[] = {NULL};
    char host[64];
    h_server_t s;

    serve_keys(js, keys, algs, 1);
    host_of(host, sizeof(host), "127.0.0.1", js_port(js));
    snprintf(hosts_env, sizeof(hosts_env), "WSA_RELAY_JWKS_HOSTS=%s", host);
    h_setup(&s);
    h_start(&s, env);
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", host), M_WRONG_HOST);
    /* the TLS handshake was refused: no request was read */
    assert_int_equal(js_connections(js), 1);
    assert_int_equal(js_requests(js), 0);
    h_teardown(&s);
    js_stop(js);
}

static void test_redirect_not_followed(void **state)
{
    const js_key_t *const keys[] = {&rsa1};
    const char *const algs[] = {NULL};
    js_server_t *target = js_start(ca), *mover = js_start(ca);
    char location[128], from[64], to[64], hosts[160];
    h_server_t s;

    /* both hosts allowed: only the rule against redirects stands between them */
    serve_keys(target, keys, algs, 1);
    snprintf(location, sizeof(location), "https://127.0.0.1:%d" JS_PATH, js_port(target));
    js_set_redirect(mover, location);
    host_of(from, sizeof(from), "127.0.0.1", js_port(mover));
    host_of(to, sizeof(to), "127.0.0.1", js_port(target));
    snprintf(hosts, sizeof(hosts), "%s,%s", from, to);
    h_setup(&s);
    start_jwks_relay(&s, hosts, NULL);
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", from), M_WRONG_HOST);
    assert_int_equal(js_requests(mover), 1);
    assert_int_equal(js_connections(target), 0);
    /* the target itself is fine */
    accepted(&s, token_for(&rsa1, "RS256", "rsa-1", to));
    assert_int_equal(js_requests(target), 1);
    h_teardown(&s);
    js_stop(target);
    js_stop(mover);
}

static void test_certificate_for_another_name(void **state)
{
    const js_key_t *const keys[] = {&rsa1};
    const char *const algs[] = {NULL};
    /* a certificate from the trusted CA, but for 127.0.0.1 and localhost only */
    js_server_t *js = js_start_at(ca, "127.0.0.2");
    char host[64];
    h_server_t s;

    serve_keys(js, keys, algs, 1);
    host_of(host, sizeof(host), "127.0.0.2", js_port(js));
    h_setup(&s);
    start_jwks_relay(&s, host, NULL);
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", host), M_WRONG_HOST);
    assert_int_equal(js_connections(js), 1);
    assert_int_equal(js_requests(js), 0);
    h_teardown(&s);
    js_stop(js);
}

/* The start names what the mode accepts: the allowed hosts, where keys come from, the aud. */
static void test_start_line(void **state)
{
    char *log = h_server_log(&relay), want[600];

    snprintf(want, sizeof(want),
             "INFO  [server] jwks mode: jwks_host one of %s,127.0.0.1:%d,127.0.0.1:%d,"
             "127.0.0.1:%d,127.0.0.1:%d; keys from https://<jwks_host>/.well-known/jwks; "
             "aud " PUBLIC_URL "\n",
             good_host, js_port(fail_404), js_port(fail_html), js_port(fail_huge),
             js_port(fail_slow));
    assert_non_null(log);
    assert_non_null(strstr(log, want));
    free(log);
}

static void test_refuses_to_start(void **state)
{
    const char *const argv[] = {"serve", "--db", relay.db, "--listen", "127.0.0.1:0", NULL};
    const char *const no_url[] = {"WSA_RELAY_AUTH_MODE=jwks", NULL};
    char missing_env[600];
    const char *const no_file[] = {"WSA_RELAY_AUTH_MODE=jwks", "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL,
                                   missing_env, NULL};
    char err[2048];

    assert_int_equal(h_run(argv, no_url, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "WSA_RELAY_PUBLIC_URL"));
    snprintf(missing_env, sizeof(missing_env), "WSA_RELAY_JWKS_FILE=%s/absent.json", relay.dir);
    assert_true(h_run(argv, no_file, err, sizeof(err)) != 0);
    assert_non_null(strstr(err, "absent.json"));
}

/* ---- the stall test ---- */

typedef struct call {
    int port;
    char *line; /* the Authorization line */
    long status;
    char *body;
    atomic_int done;
} call_t;

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    call_t *c = ctx;
    size_t old = c->body != NULL ? strlen(c->body) : 0;
    char *grown = realloc(c->body, old + size * n + 1);

    if (grown == NULL)
        return 0;
    memcpy(grown + old, data, size * n);
    grown[old + size * n] = '\0';
    c->body = grown;
    return size * n;
}

/* One POST /health in a thread of its own; no cmocka here, the main thread checks. */
static void *call_main(void *arg)
{
    call_t *c = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *list = NULL;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", c->port);
    list = curl_slist_append(list, c->line);
    if (curl != NULL) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &c->status);
        curl_easy_cleanup(curl);
    }
    curl_slist_free_all(list);
    atomic_store(&c->done, 1);
    return NULL;
}

static void call_start(call_t *c, pthread_t *t, int port, const char *token)
{
    memset(c, 0, sizeof(*c));
    c->port = port;
    c->line = bearer(token);
    assert_int_equal(pthread_create(t, NULL, call_main, c), 0);
}

/* Joins the call and checks its reply: `message` NULL for the ok answer. */
static void call_check(call_t *c, pthread_t t, const char *message)
{
    char want[512];

    pthread_join(t, NULL);
    assert_int_equal(c->status, 200);
    assert_non_null(c->body);
    if (message == NULL)
        snprintf(want, sizeof(want), "%s", OK_BODY);
    else
        snprintf(want, sizeof(want),
                 "{\"errors\":[{\"type\":\"fatal\",\"code\":\"authorization error\","
                 "\"message\":\"%s\"}]}",
                 message);
    {
        json_t *a = json_loads(c->body, 0, NULL), *b = json_loads(want, 0, NULL);
        assert_non_null(a);
        assert_non_null(b);
        if (!json_equal(a, b))
            fail_msg("got %s, expected %s", c->body, want);
        json_decref(a);
        json_decref(b);
    }
    free(c->line);
    free(c->body);
}

#define BURST 20

static void test_stall(void **state)
{
    /* the held fetch must outlast the test's waits, and the request budget be twice as long */
    const char *const more[] = {"WSA_RELAY_THREADS=1", "WSA_RELAY_JWKS_TIMEOUT_MS=30000",
                                "WSA_RELAY_REQUEST_BUDGET_MS=60000", NULL};
    const js_key_t *const keys1[] = {&rsa1};
    const js_key_t *const keys2[] = {&rsa256};
    const char *const algs[] = {NULL};
    js_server_t *src1 = js_start(ca), *src2 = js_start(ca);
    char host1[64], host2[64], hosts[160];
    static call_t held, burst[BURST];
    pthread_t held_t, burst_t[BURST];
    h_server_t s;

    serve_keys(src1, keys1, algs, 1);
    serve_keys(src2, keys2, algs, 1);
    host_of(host1, sizeof(host1), "127.0.0.1", js_port(src1));
    host_of(host2, sizeof(host2), "localhost", js_port(src2));
    snprintf(hosts, sizeof(hosts), "%s,%s", host1, host2);
    h_setup(&s);
    start_jwks_relay(&s, hosts, more);

    /* source 2 warm; source 1 held */
    accepted(&s, token_for(&rsa256, "RS256", "rsa-256", host2));
    assert_int_equal(js_requests(src2), 1);
    js_set_mode(src1, JS_HOLD);
    {
        char *t = token_for(&rsa1, "RS256", "rsa-1", host1);
        call_start(&held, &held_t, s.port, t);
        free(t);
    }
    assert_int_equal(js_wait_requests(src1, 1, 20000), 0);

    /* the one worker answers everything that needs no fetch meanwhile */
    accepted(&s, token_for(&rsa256, "RS256", "rsa-256", host2));
    refused(&s, token_for(&rsa256, "RS256", "unknown", host2), M_KID);
    refused(&s, token_for(&rsa1, "RS256", "rsa-1", counter_host), M_WRONG_HOST);
    refused(&s, token_for(&rsa256, "RS512", "rsa-256", host2), M_KEY);
    /* refused by its algorithm alone, though it names the held source */
    refused(&s, token_for(&rsa1, "RS512", "rsa-1", host1), M_KEY);
    expect_refused(&s, "a.b", M_STRUCTURE);
    {
        h_client_t c;
        h_reply_t r;
        h_client_init(&c, 0);
        h_request(&c, &s, "GET", "/version", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        h_reply_free(&r);
        h_client_free(&c);
    }
    assert_int_equal(atomic_load(&held.done), 0);

    /* a burst of unknown kids for the held source: they wait for the same fetch */
    for (int i = 0; i < BURST; i++) {
        char kid[32];
        char *t;
        snprintf(kid, sizeof(kid), "burst-%d", i);
        t = token_for(&rsa1, "RS256", kid, host1);
        call_start(&burst[i], &burst_t[i], s.port, t);
        free(t);
    }
    sleep(1);
    for (int i = 0; i < BURST; i++)
        assert_int_equal(atomic_load(&burst[i].done), 0);
    assert_int_equal(atomic_load(&held.done), 0);
    assert_int_equal(js_requests(src1), 1);

    js_release(src1);
    call_check(&held, held_t, NULL);
    for (int i = 0; i < BURST; i++)
        call_check(&burst[i], burst_t[i], M_KID);
    /* one fetch served them all, and an unknown kid right after fetches nothing */
    assert_int_equal(js_requests(src1), 1);
    assert_int_equal(js_connections(src1), 1);
    refused(&s, token_for(&rsa1, "RS256", "one-more", host1), M_KID);
    assert_int_equal(js_requests(src1), 1);
    assert_int_equal(js_requests(src2), 1);

    h_teardown(&s);
    js_stop(src1);
    js_stop(src2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_token),
        cmocka_unit_test(test_libjwt_token),
        cmocka_unit_test(test_observe_with_token),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_hs256_with_public_key),
        cmocka_unit_test(test_other_algs_refused_by_default),
        cmocka_unit_test(test_key_and_alg_mismatch),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_unknown_kid),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_jwks_host_missing),
        cmocka_unit_test(test_host_not_allowed),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_fetch_404),
        cmocka_unit_test(test_fetch_html),
        cmocka_unit_test(test_fetch_huge),
        cmocka_unit_test(test_fetch_too_slow),
        cmocka_unit_test(test_version_needs_no_token),
        cmocka_unit_test(test_token_cli),
        cmocka_unit_test(test_token_cli_defaults),
        cmocka_unit_test(test_jwks_cli),
        cmocka_unit_test(test_rs384_allowed),
        cmocka_unit_test(test_es256_allowed),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_rotation_same_kid),
        cmocka_unit_test(test_start_line),
        cmocka_unit_test(test_jwks_file),
        cmocka_unit_test(test_jwks_url),
        cmocka_unit_test(test_untrusted_certificate),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_certificate_for_another_name),
        cmocka_unit_test(test_refuses_to_start),
        cmocka_unit_test(test_stall),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
