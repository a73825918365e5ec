/*
 * test_auth.c - every rejection cause of `secret` and `jwks` mode with its exact message, the
 * order of the checks, the claims, the cache of verified tokens, and tokens minted by libjwt
 * verified by our own code.
 *
 * Tokens are built here from raw JSON with OpenSSL's base64, HMAC and signatures, not with
 * the code under test, so that a shared mistake cannot make both sides agree. jwks mode reads
 * its keys from a WSA_RELAY_JWKS_FILE this test writes, so no fetch is made.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <unistd.h>
#include "auth.h"
#include "support.h"

#define SECRET "0123456789abcdef0123456789abcdef" /* 32 bytes, the configured minimum */
#define NOW    1700000000LL
#define HS256  "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define TOKCAP 12000

#define MSG_NO_HEADER "Authorization failed: Authorization header is missing"
#define MSG_TYPE      "Authorization failed: Wrong authorization type"
#define MSG_STRUCTURE "Authorization failed: Wrong JWT structure"
#define MSG_KEY       "Authorization failed: Failed to decode JWT with provided key"
#define MSG_AUDIENCE  "Authorization failed: Wrong configuration-token-audience"
#define MSG_EXPIRED   "Authorization failed: JWT has expired"
#define MSG_NBF       "Authorization failed: JWT is not yet valid"

/* "b64(header).b64(payload)" in `out`; returns its length. */
static size_t signing_input(const char *header, const char *payload, char *out)
{
    size_t n;

    t_b64url(header, strlen(header), out);
    n = strlen(out);
    out[n++] = '.';
    t_b64url(payload, strlen(payload), out + n);
    return strlen(out);
}

/* A token signed with HMAC-SHA256 under `secret`. */
static char *token_signed(const char *header, const char *payload, const char *secret)
{
    static char tok[TOKCAP];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t n = signing_input(header, payload, tok);

    assert_non_null(
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)tok, n, mac, &mac_len));
    assert_int_equal(mac_len, 32);
    tok[n++] = '.';
    t_b64url(mac, mac_len, tok + n);
    return tok;
}

/* A token whose third part is the given text, verbatim. */
static char *token_with_sig(const char *header, const char *payload, const char *sig)
{
    static char tok[TOKCAP];
    size_t n = signing_input(header, payload, tok);

    tok[n++] = '.';
    strcpy(tok + n, sig);
    return tok;
}

/*
 * A token whose signature is the right MAC made `len` bytes long: cut short, or followed by
 * zero bytes and then copies of itself.
 */
static char *token_mac_resized(const char *header, const char *payload, size_t len)
{
    static char tok[TOKCAP];
    unsigned char mac[EVP_MAX_MD_SIZE], sig[128] = {0};
    unsigned int mac_len = 0;
    size_t n = signing_input(header, payload, tok);

    assert_true(len <= sizeof(sig));
    assert_non_null(
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)tok, n, mac, &mac_len));
    memcpy(sig, mac, len < mac_len ? len : mac_len);
    for (size_t i = 64; i + mac_len <= len; i += mac_len)
        memcpy(sig + i, mac, mac_len);
    tok[n++] = '.';
    t_b64url(sig, len, tok + n);
    return tok;
}

static auth_result_t verify_full(const char *audience, const char *host, const char *token,
                                 int64_t now, auth_claims_t *claims)
{
    static char header[TOKCAP + 16];
    auth_conf_t conf = {.secret = SECRET, .secret_len = strlen(SECRET), .audience = audience};

    snprintf(header, sizeof(header), "Bearer %s", token);
    return auth_verify(&conf, header, strlen(header), host, host ? strlen(host) : 0, now, claims);
}

static auth_result_t verify(const char *token, int64_t now)
{
    auth_claims_t claims;

    return verify_full("https://relay.example.com", NULL, token, now, &claims);
}

/* Asserts both the cause and its exact message. */
#define assert_auth(r, want_r, want_msg)                                                           \
    do {                                                                                           \
        auth_result_t r_ = (r);                                                                    \
        assert_int_equal(r_, (want_r));                                                            \
        assert_string_equal(auth_message(r_), (want_msg));                                         \
    } while (0)

static void test_messages(void **state)
{
    (void)state;
    assert_null(auth_message(AUTH_OK));
    assert_string_equal(auth_message(AUTH_NO_HEADER), MSG_NO_HEADER);
    assert_string_equal(auth_message(AUTH_WRONG_TYPE), MSG_TYPE);
    assert_string_equal(auth_message(AUTH_WRONG_STRUCTURE), MSG_STRUCTURE);
    assert_string_equal(auth_message(AUTH_WRONG_KEY), MSG_KEY);
    assert_string_equal(auth_message(AUTH_WRONG_AUDIENCE), MSG_AUDIENCE);
    assert_string_equal(auth_message(AUTH_EXPIRED), MSG_EXPIRED);
    assert_string_equal(auth_message(AUTH_NOT_YET_VALID), MSG_NBF);
}

static void test_valid_token(void **state)
{
    auth_claims_t claims = {0};

    (void)state;
    assert_int_equal(
        verify_full(NULL, NULL, token_signed(HS256, "{\"sub\":\"x\"}", SECRET), NOW, &claims),
        AUTH_OK);
    assert_int_equal(claims.entities_limit, 100);
}

/*
 * RFC 7515 appendix A.1: an HS256 JWS with a published key and signature, so one known
 * answer comes from outside this project and outside OpenSSL. Its exp is 1300819380.
 */
static void test_rfc7515_example(void **state)
{
    static const unsigned char key[64] = {
        0x03, 0x23, 0x35, 0x4b, 0x2b, 0x0f, 0xa5, 0xbc, 0x83, 0x7e, 0x06, 0x65, 0x77,
        0x7b, 0xa6, 0x8f, 0x5a, 0xb3, 0x28, 0xe6, 0xf0, 0x54, 0xc9, 0x28, 0xa9, 0x0f,
        0x84, 0xb2, 0xd2, 0x50, 0x2e, 0xbf, 0xd3, 0xfb, 0x5a, 0x92, 0xd2, 0x06, 0x47,
        0xef, 0x96, 0x8a, 0xb4, 0xc3, 0x77, 0x62, 0x3d, 0x22, 0x3d, 0x2e, 0x21, 0x72,
        0x05, 0x2e, 0x4f, 0x08, 0xc0, 0xcd, 0x9a, 0xf5, 0x67, 0xd0, 0x80, 0xa3};
    const char *hdr = "Bearer "
                      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
                      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9p"
                      "c19yb290Ijp0cnVlfQ."
                      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    auth_conf_t conf = {.secret = (const char *)key, .secret_len = sizeof(key)};
    auth_claims_t claims;

    (void)state;
    assert_int_equal(auth_verify(&conf, hdr, strlen(hdr), NULL, 0, 1300819380 - 60, &claims),
                     AUTH_OK);
    assert_auth(auth_verify(&conf, hdr, strlen(hdr), NULL, 0, 1300819380 + 30, &claims),
                AUTH_EXPIRED, MSG_EXPIRED);
    conf.secret_len = sizeof(key) - 1;
    assert_auth(auth_verify(&conf, hdr, strlen(hdr), NULL, 0, 1300819380 - 60, &claims),
                AUTH_WRONG_KEY, MSG_KEY);
}

static void test_header_missing(void **state)
{
    auth_conf_t conf = {.secret = SECRET, .secret_len = strlen(SECRET)};
    auth_claims_t claims = {0};

    (void)state;
    assert_auth(auth_verify(&conf, NULL, 0, NULL, 0, NOW, &claims), AUTH_NO_HEADER, MSG_NO_HEADER);
    /* a failure still leaves the default limit, never garbage */
    assert_int_equal(claims.entities_limit, 100);
}

static auth_result_t verify_header(const char *value)
{
    auth_conf_t conf = {.secret = SECRET, .secret_len = strlen(SECRET)};
    auth_claims_t claims;

    return auth_verify(&conf, value, strlen(value), NULL, 0, NOW, &claims);
}

static void test_header_wrong_type(void **state)
{
    static char buf[TOKCAP];
    const char *tok = token_signed(HS256, "{}", SECRET);

    (void)state;
    assert_auth(verify_header(""), AUTH_WRONG_TYPE, MSG_TYPE);
    assert_auth(verify_header("   "), AUTH_WRONG_TYPE, MSG_TYPE);
    assert_auth(verify_header("Bearer"), AUTH_WRONG_TYPE, MSG_TYPE);
    snprintf(buf, sizeof(buf), "Basic %s", tok);
    assert_auth(verify_header(buf), AUTH_WRONG_TYPE, MSG_TYPE);
    snprintf(buf, sizeof(buf), "Bearer: %s", tok);
    assert_auth(verify_header(buf), AUTH_WRONG_TYPE, MSG_TYPE);
    snprintf(buf, sizeof(buf), "Bearer %s extra", tok);
    assert_auth(verify_header(buf), AUTH_WRONG_TYPE, MSG_TYPE);
    snprintf(buf, sizeof(buf), "Bearer Bearer %s", tok);
    assert_auth(verify_header(buf), AUTH_WRONG_TYPE, MSG_TYPE);
    snprintf(buf, sizeof(buf), "%s", tok);
    assert_auth(verify_header(buf), AUTH_WRONG_TYPE, MSG_TYPE);
}

/* The scheme is case-insensitive and words split on any run of whitespace, as str.split(). */
static void test_header_accepted_forms(void **state)
{
    static char buf[TOKCAP];
    const char *tok = token_signed(HS256, "{}", SECRET);

    (void)state;
    snprintf(buf, sizeof(buf), "bearer %s", tok);
    assert_int_equal(verify_header(buf), AUTH_OK);
    snprintf(buf, sizeof(buf), "BEARER %s", tok);
    assert_int_equal(verify_header(buf), AUTH_OK);
    snprintf(buf, sizeof(buf), "  Bearer \t %s  ", tok);
    assert_int_equal(verify_header(buf), AUTH_OK);
}

/* The header value is taken by length, as H2O gives it: bytes past it are not read. */
static void test_header_by_length(void **state)
{
    static char buf[TOKCAP];
    auth_conf_t conf = {.secret = SECRET, .secret_len = strlen(SECRET)};
    auth_claims_t claims;
    size_t n;

    (void)state;
    n = (size_t)snprintf(buf, sizeof(buf), "Bearer %s", token_signed(HS256, "{}", SECRET));
    strcpy(buf + n, " trailing");
    assert_int_equal(auth_verify(&conf, buf, n, NULL, 0, NOW, &claims), AUTH_OK);
    /* 40 of the signature's 43 characters: still base64url (30 bytes), so a wrong MAC */
    assert_auth(auth_verify(&conf, buf, n - 3, NULL, 0, NOW, &claims), AUTH_WRONG_KEY, MSG_KEY);
}

static void test_structure_part_count(void **state)
{
    static char buf[TOKCAP];

    (void)state;
    snprintf(buf, sizeof(buf), "%s.", token_signed(HS256, "{}", SECRET));
    assert_auth(verify(buf, NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE); /* 4 parts */
    snprintf(buf, sizeof(buf), "%s.e30", token_signed(HS256, "{}", SECRET));
    assert_auth(verify(buf, NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    /* 2 parts: header.payload with no signature part at all */
    signing_input(HS256, "{}", buf);
    assert_auth(verify(buf, NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    assert_auth(verify("e30", NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    assert_auth(verify("..", NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
}

static void test_structure_base64url(void **state)
{
    static char buf[TOKCAP];
    char *dot;

    (void)state;
    /* a '+' (standard base64, not base64url) in the payload */
    strcpy(buf, token_signed(HS256, "{\"a\":1}", SECRET));
    dot = strchr(buf, '.');
    dot[1] = '+';
    assert_auth(verify(buf, NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    /* padding on the signature */
    snprintf(buf, sizeof(buf), "%s=", token_signed(HS256, "{}", SECRET));
    assert_auth(verify(buf, NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    /* a bad character in the signature part is structure too, not a bad signature */
    assert_auth(verify(token_with_sig(HS256, "{}", "abc*"), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    /* a signature part of 4k+1 characters cannot be base64url */
    assert_auth(verify(token_with_sig(HS256, "{}", "AAAAA"), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
}

static void test_structure_json(void **state)
{
    (void)state;
    assert_auth(verify(token_signed(HS256, "[1,2]", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    assert_auth(verify(token_signed(HS256, "\"str\"", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    assert_auth(verify(token_signed(HS256, "{\"a\":1", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    assert_auth(verify(token_signed(HS256, "{} x", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    assert_auth(verify(token_signed("alg=HS256", "{}", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    assert_auth(verify(token_signed("", "{}", SECRET), NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    assert_auth(verify(token_signed(HS256, "", SECRET), NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    /* invalid UTF-8 inside a JSON string */
    assert_auth(verify(token_signed(HS256, "{\"a\":\"\xff\"}", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
}

/* Two `alg` (or two `aud`) mean different things to different parsers: not a JWT we judge. */
static void test_structure_duplicate_keys(void **state)
{
    (void)state;
    assert_auth(verify(token_signed("{\"alg\":\"HS256\",\"alg\":\"none\"}", "{}", SECRET), NOW),
                AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    assert_auth(
        verify(token_signed(HS256, "{\"aud\":\"https://relay.example.com\",\"aud\":\"x\"}", SECRET),
               NOW),
        AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
}

/* exp and nbf must be NumericDates: a string or a boolean there is a malformed token. */
static void test_structure_time_claims(void **state)
{
    (void)state;
    assert_auth(verify(token_signed(HS256, "{\"exp\":\"1700000100\"}", SECRET), NOW),
                AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    assert_auth(verify(token_signed(HS256, "{\"nbf\":true}", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    assert_auth(verify(token_signed(HS256, "{\"exp\":null}", SECRET), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
    /* the same checks, before the signature: an unsigned token gets the same answer */
    assert_auth(verify(token_with_sig(HS256, "{\"exp\":[]}", ""), NOW), AUTH_WRONG_STRUCTURE,
                MSG_STRUCTURE);
}

/*
 * A signed token of exactly `len` bytes: the payload's padding and the header's trailing
 * spaces are tuned until the three parts add up (base64url never has 4k+1 characters, so one
 * knob alone skips lengths).
 */
static const char *token_of_length(size_t len)
{
    static char hdr[64], payload[TOKCAP];

    for (int spaces = 0; spaces < 3; spaces++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\"%*s}", spaces, "");
        for (size_t pad = 0; pad < len; pad++) {
            int n = snprintf(payload, sizeof(payload), "{\"p\":\"");
            memset(payload + n, 'x', pad);
            strcpy(payload + n + pad, "\"}");
            const char *tok = token_signed(hdr, payload, SECRET);
            if (strlen(tok) == len)
                return tok;
            if (strlen(tok) > len)
                break;
        }
    }
    fail_msg("no token of %zu bytes", len);
    return NULL;
}

static void test_structure_size_limit(void **state)
{
    (void)state;
    assert_int_equal(verify(token_of_length(8192), NOW), AUTH_OK);
    assert_auth(verify(token_of_length(8193), NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
}

static void test_alg_none(void **state)
{
    const char *none = "{\"alg\":\"none\",\"typ\":\"JWT\"}";

    (void)state;
    assert_auth(verify(token_with_sig(none, "{}", ""), NOW), AUTH_WRONG_KEY, MSG_KEY);
    /* even with the MAC that the secret gives, `none` is not what the configuration allows */
    assert_auth(verify(token_signed(none, "{}", SECRET), NOW), AUTH_WRONG_KEY, MSG_KEY);
    assert_auth(verify(token_with_sig("{\"alg\":\"None\"}", "{}", ""), NOW), AUTH_WRONG_KEY,
                MSG_KEY);
}

static void test_alg_not_hs256(void **state)
{
    (void)state;
    /* an RS256 header over a valid HMAC: the configuration decides, not the token */
    assert_auth(verify(token_signed("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{}", SECRET), NOW),
                AUTH_WRONG_KEY, MSG_KEY);
    assert_auth(verify(token_signed("{\"alg\":\"hs256\"}", "{}", SECRET), NOW), AUTH_WRONG_KEY,
                MSG_KEY);
    assert_auth(verify(token_signed("{\"alg\":\"HS512\"}", "{}", SECRET), NOW), AUTH_WRONG_KEY,
                MSG_KEY);
    assert_auth(verify(token_signed("{\"alg\":\"HS256 \"}", "{}", SECRET), NOW), AUTH_WRONG_KEY,
                MSG_KEY);
    assert_auth(verify(token_signed("{\"typ\":\"JWT\"}", "{}", SECRET), NOW), AUTH_WRONG_KEY,
                MSG_KEY);
    assert_auth(verify(token_signed("{\"alg\":256}", "{}", SECRET), NOW), AUTH_WRONG_KEY, MSG_KEY);
    assert_auth(verify(token_signed("{\"alg\":[\"HS256\"]}", "{}", SECRET), NOW), AUTH_WRONG_KEY,
                MSG_KEY);
}

/* We implement no JWS extension, so a header that marks one critical must be refused. */
static void test_alg_crit_refused(void **state)
{
    (void)state;
    assert_auth(
        verify(token_signed("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", "{}", SECRET),
               NOW),
        AUTH_WRONG_KEY, MSG_KEY);
}

static void test_signature_wrong(void **state)
{
    static char buf[TOKCAP];

    (void)state;
    assert_auth(verify(token_signed(HS256, "{}", "another-secret-of-32-bytes-xxxxx"), NOW),
                AUTH_WRONG_KEY, MSG_KEY);
    /* the secret minus its last byte */
    assert_auth(verify(token_signed(HS256, "{}", "0123456789abcdef0123456789abcde"), NOW),
                AUTH_WRONG_KEY, MSG_KEY);
    /* HS256 with an empty signature */
    assert_auth(verify(token_with_sig(HS256, "{}", ""), NOW), AUTH_WRONG_KEY, MSG_KEY);
    /* the right MAC on a payload changed afterwards */
    strcpy(buf, token_signed(HS256, "{\"CTR_ENTITIES_LIMIT\":5}", SECRET));
    char *sig = strrchr(buf, '.');
    char saved[64];
    strcpy(saved, sig);
    signing_input(HS256, "{\"CTR_ENTITIES_LIMIT\":9}", buf);
    strcat(buf, saved);
    assert_auth(verify(buf, NOW), AUTH_WRONG_KEY, MSG_KEY);
    /* the right MAC cut to 31 bytes, lengthened by a zero byte, and repeated to 96 bytes */
    assert_auth(verify(token_mac_resized(HS256, "{}", 31), NOW), AUTH_WRONG_KEY, MSG_KEY);
    assert_auth(verify(token_mac_resized(HS256, "{}", 33), NOW), AUTH_WRONG_KEY, MSG_KEY);
    assert_auth(verify(token_mac_resized(HS256, "{}", 96), NOW), AUTH_WRONG_KEY, MSG_KEY);
    assert_int_equal(verify(token_mac_resized(HS256, "{}", 32), NOW), AUTH_OK);
}

/* With no secret configured, nothing verifies, not even a token MACed with an empty key. */
static void test_signature_no_secret(void **state)
{
    const char *tok = token_signed(HS256, "{}", "");
    static char buf[TOKCAP];
    auth_conf_t conf = {.secret = NULL, .secret_len = 0};
    auth_claims_t claims;

    (void)state;
    snprintf(buf, sizeof(buf), "Bearer %s", tok);
    assert_auth(auth_verify(&conf, buf, strlen(buf), NULL, 0, NOW, &claims), AUTH_WRONG_KEY,
                MSG_KEY);
    conf.secret = "";
    assert_auth(auth_verify(&conf, buf, strlen(buf), NULL, 0, NOW, &claims), AUTH_WRONG_KEY,
                MSG_KEY);
}

/* A token whose payload is {"<claim>":<v><frac>}, e.g. {"exp":1699999970.5}. */
static const char *with_time(const char *claim, long long v, const char *frac)
{
    static char payload[256];

    snprintf(payload, sizeof(payload), "{\"%s\":%lld%s}", claim, v, frac);
    return token_signed(HS256, payload, SECRET);
}

/* Expired when exp <= now - 30: at exactly 30 s past exp the leeway is used up. */
static void test_exp(void **state)
{
    (void)state;
    assert_auth(verify(with_time("exp", NOW - 31, ""), NOW), AUTH_EXPIRED, MSG_EXPIRED);
    assert_auth(verify(with_time("exp", NOW - 30, ""), NOW), AUTH_EXPIRED, MSG_EXPIRED);
    assert_int_equal(verify(with_time("exp", NOW - 29, ""), NOW), AUTH_OK);
    assert_int_equal(verify(with_time("exp", NOW + 3600, ""), NOW), AUTH_OK);
    assert_int_equal(verify(with_time("exp", NOW - 30, ".5"), NOW), AUTH_OK);
    assert_auth(verify(with_time("exp", NOW - 30, ".0"), NOW), AUTH_EXPIRED, MSG_EXPIRED);
    assert_auth(verify(with_time("exp", 0, ""), NOW), AUTH_EXPIRED, MSG_EXPIRED);
    assert_auth(verify(with_time("exp", INT64_MIN, ""), NOW), AUTH_EXPIRED, MSG_EXPIRED);
    assert_int_equal(verify(with_time("exp", INT64_MAX, ""), NOW), AUTH_OK);
}

/* Not yet valid when nbf > now + 30. */
static void test_nbf(void **state)
{
    (void)state;
    assert_auth(verify(with_time("nbf", NOW + 31, ""), NOW), AUTH_NOT_YET_VALID, MSG_NBF);
    assert_int_equal(verify(with_time("nbf", NOW + 30, ""), NOW), AUTH_OK);
    assert_int_equal(verify(with_time("nbf", NOW - 100, ""), NOW), AUTH_OK);
    assert_auth(verify(with_time("nbf", NOW + 30, ".5"), NOW), AUTH_NOT_YET_VALID, MSG_NBF);
    assert_auth(verify(with_time("nbf", INT64_MAX, ""), NOW), AUTH_NOT_YET_VALID, MSG_NBF);
    assert_int_equal(verify(with_time("nbf", INT64_MIN, ""), NOW), AUTH_OK);
    /* a `now` at the ends of the range does not overflow the leeway arithmetic */
    assert_int_equal(verify(with_time("nbf", 0, ""), INT64_MAX), AUTH_OK);
    assert_auth(verify(with_time("exp", 0, ""), INT64_MAX), AUTH_EXPIRED, MSG_EXPIRED);
    assert_auth(verify(with_time("nbf", 0, ""), INT64_MIN), AUTH_NOT_YET_VALID, MSG_NBF);
}

/* Header, structure, alg+signature, exp, nbf, aud: the first thing wrong is reported. */
static void test_check_order(void **state)
{
    char payload[256];

    (void)state;
    snprintf(payload, sizeof(payload), "{\"exp\":%lld,\"nbf\":%lld,\"aud\":\"http://other\"}",
             NOW - 100, NOW + 100);
    assert_auth(verify(token_signed(HS256, payload, "wrong-secret-wrong-secret-wrong!"), NOW),
                AUTH_WRONG_KEY, MSG_KEY);
    assert_auth(verify(token_signed(HS256, payload, SECRET), NOW), AUTH_EXPIRED, MSG_EXPIRED);
    snprintf(payload, sizeof(payload), "{\"nbf\":%lld,\"aud\":\"http://other\"}", NOW + 100);
    assert_auth(verify(token_signed(HS256, payload, SECRET), NOW), AUTH_NOT_YET_VALID, MSG_NBF);
    /* structure before alg: `none` in a token with two parts */
    assert_auth(verify("eyJhbGciOiJub25lIn0.e30", NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    assert_auth(verify_header("Basic eyJhbGciOiJub25lIn0.e30"), AUTH_WRONG_TYPE, MSG_TYPE);
}

static auth_result_t verify_aud(const char *audience, const char *host, const char *aud_json)
{
    char payload[512];
    auth_claims_t claims;

    snprintf(payload, sizeof(payload), "{\"aud\":%s}", aud_json);
    return verify_full(audience, host, token_signed(HS256, payload, SECRET), NOW, &claims);
}

static void test_aud_configured(void **state)
{
    const char *conf = "https://relay.example.com";

    (void)state;
    assert_int_equal(verify_aud(conf, NULL, "\"https://relay.example.com\""), AUTH_OK);
    assert_int_equal(verify_aud(conf, NULL, "\"https://relay.example.com/\""), AUTH_OK);
    assert_int_equal(verify_aud(conf, NULL, "\"https://relay.example.com//\""), AUTH_OK);
    assert_int_equal(
        verify_aud("https://relay.example.com/", NULL, "\"https://relay.example.com\""), AUTH_OK);
    assert_int_equal(verify_aud(conf, NULL, "[\"x\",\"https://relay.example.com/\"]"), AUTH_OK);
    /* the Host header plays no part once an audience is configured */
    assert_auth(verify_aud(conf, "relay.example.com", "\"http://relay.example.com\""),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "\"https://relay.example.co\""), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "\"https://relay.example.com.evil\""), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "\"HTTPS://relay.example.com\""), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "\"\""), AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "[\"a\",\"b\"]"), AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "[]"), AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "7"), AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "[[\"https://relay.example.com\"]]"), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(verify_aud(conf, NULL, "{\"aud\":\"https://relay.example.com\"}"),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
}

static void test_aud_missing_is_accepted(void **state)
{
    auth_claims_t claims;

    (void)state;
    assert_int_equal(verify_full("https://relay.example.com", NULL,
                                 token_signed(HS256, "{\"sub\":\"a\"}", SECRET), NOW, &claims),
                     AUTH_OK);
    assert_int_equal(
        verify_full(NULL, NULL, token_signed(HS256, "{\"sub\":\"a\"}", SECRET), NOW, &claims),
        AUTH_OK);
}

/* With no configured audience, aud is compared with "http://" + the Host header. */
static void test_aud_from_host(void **state)
{
    (void)state;
    assert_int_equal(verify_aud(NULL, "relay.local:9090", "\"http://relay.local:9090\""), AUTH_OK);
    assert_int_equal(verify_aud(NULL, "relay.local:9090", "\"http://relay.local:9090/\""), AUTH_OK);
    assert_int_equal(verify_aud(NULL, "relay.local:9090", "[\"http://relay.local:9090\"]"),
                     AUTH_OK);
    assert_auth(verify_aud(NULL, "relay.local:9090", "\"https://relay.local:9090\""),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(verify_aud(NULL, "relay.local:9090", "\"relay.local:9090\""), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(verify_aud(NULL, "relay.local:9090", "\"http://relay.local\""), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    /* no Host header, or an empty one: an aud present cannot match */
    assert_auth(verify_aud(NULL, NULL, "\"http://relay.local:9090\""), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(verify_aud(NULL, "", "\"http://\""), AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
}

static int limit_of(const char *claim_json)
{
    char payload[256];
    auth_claims_t claims = {.entities_limit = -1};

    snprintf(payload, sizeof(payload), "{\"CTR_ENTITIES_LIMIT\":%s}", claim_json);
    assert_int_equal(verify(token_signed(HS256, payload, SECRET), NOW), AUTH_OK);
    assert_int_equal(verify_full(NULL, NULL, token_signed(HS256, payload, SECRET), NOW, &claims),
                     AUTH_OK);
    return claims.entities_limit;
}

static void test_entities_limit(void **state)
{
    (void)state;
    assert_int_equal(limit_of("\"5\""), 5);
    assert_int_equal(limit_of("5"), 5);
    assert_int_equal(limit_of("1"), 1);
    assert_int_equal(limit_of("\"007\""), 7);
    assert_int_equal(limit_of("1000"), 1000);
    assert_int_equal(limit_of("\"1000\""), 1000);
    assert_int_equal(limit_of("1001"), 1000);
    assert_int_equal(limit_of("5000"), 1000);
    assert_int_equal(limit_of("\"99999999999999999999\""), 1000);
    assert_int_equal(limit_of("9223372036854775807"), 1000);
    assert_int_equal(limit_of("\"abc\""), 100);
    assert_int_equal(limit_of("0"), 100);
    assert_int_equal(limit_of("\"0\""), 100);
    assert_int_equal(limit_of("-3"), 100);
    assert_int_equal(limit_of("\"-3\""), 100);
    assert_int_equal(limit_of("-9223372036854775808"), 100);
    assert_int_equal(limit_of("\"\""), 100);
    assert_int_equal(limit_of("\"5a\""), 100);
    assert_int_equal(limit_of("\" 5\""), 100);
    assert_int_equal(limit_of("\"+5\""), 100);
    assert_int_equal(limit_of("5.0"), 100);
    assert_int_equal(limit_of("true"), 100);
    assert_int_equal(limit_of("null"), 100);
    assert_int_equal(limit_of("[5]"), 100);
    assert_int_equal(limit_of("\"5\", \"other\": 1"), 5);
}

/* The payload of a token as JSON, decoded here with OpenSSL's base64. */
static json_t *payload_of(const char *token)
{
    const char *a = strchr(token, '.') + 1, *b = strchr(a, '.');
    char b64[TOKCAP];
    unsigned char raw[TOKCAP];
    size_t n = (size_t)(b - a);
    int len;

    memcpy(b64, a, n);
    for (size_t i = 0; i < n; i++)
        b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
    while (n % 4)
        b64[n++] = '=';
    len = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n);
    assert_true(len > 0);
    /* EVP_DecodeBlock counts the padding as zero bytes; JSON ignores nothing after '}' */
    while (len > 0 && raw[len - 1] == '\0')
        len--;
    return json_loadb((const char *)raw, (size_t)len, 0, NULL);
}

static void test_mint_then_verify(void **state)
{
    char err[256] = "";
    char *tok;
    json_t *p;
    auth_claims_t claims;

    (void)state;
    tok = auth_mint_hs256(SECRET, strlen(SECRET),
                          "{\"aud\":\"https://relay.example.com\",\"CTR_ENTITIES_LIMIT\":\"7\"}",
                          3600, NOW, err, sizeof(err));
    assert_non_null(tok);
    p = payload_of(tok);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 3600);
    assert_string_equal(json_string_value(json_object_get(p, "aud")), "https://relay.example.com");
    json_decref(p);

    assert_int_equal(verify_full("https://relay.example.com/", NULL, tok, NOW, &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 7);
    assert_int_equal(verify(tok, NOW + 3600 + 29), AUTH_OK);
    assert_auth(verify(tok, NOW + 3600 + 30), AUTH_EXPIRED, MSG_EXPIRED);
    assert_auth(verify_full("https://other.example.com", NULL, tok, NOW, &claims),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    free(tok);
}

static void test_mint_other_secret_rejected(void **state)
{
    char err[256] = "";
    const char *other = "ffffffffffffffffffffffffffffffff";
    char *tok = auth_mint_hs256(other, strlen(other), NULL, 0, NOW, err, sizeof(err));

    (void)state;
    assert_non_null(tok);
    assert_auth(verify(tok, NOW), AUTH_WRONG_KEY, MSG_KEY);
    free(tok);
}

/* ttl 0 sets no exp; iat is ours even when the claims bring their own, and so is exp. */
static void test_mint_claims(void **state)
{
    char err[256] = "";
    char *tok;
    json_t *p;

    (void)state;
    tok = auth_mint_hs256(SECRET, strlen(SECRET), "{\"iat\":1,\"sub\":\"analyst\"}", 0, NOW, err,
                          sizeof(err));
    assert_non_null(tok);
    p = payload_of(tok);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
    assert_null(json_object_get(p, "exp"));
    assert_string_equal(json_string_value(json_object_get(p, "sub")), "analyst");
    json_decref(p);
    /* verified a year later: with no exp it never expires */
    assert_int_equal(verify(tok, NOW + 365LL * 86400), AUTH_OK);
    free(tok);

    tok = auth_mint_hs256(SECRET, strlen(SECRET), "{\"exp\":1}", 60, NOW, err, sizeof(err));
    assert_non_null(tok);
    p = payload_of(tok);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 60);
    json_decref(p);
    free(tok);
}

static void test_mint_errors(void **state)
{
    char err[256];
    const char *secret_claims = "{\"key\":\"vendor-api-key-SENSITIVE\",";

    (void)state;
    err[0] = '\0';
    assert_null(auth_mint_hs256(SECRET, strlen(SECRET), "[1]", 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "claims must be a JSON object");
    err[0] = '\0';
    assert_null(auth_mint_hs256(SECRET, strlen(SECRET), secret_claims, 0, NOW, err, sizeof(err)));
    assert_non_null(strstr(err, "claims are not valid JSON"));
    assert_null(strstr(err, "SENSITIVE")); /* the claims may be credentials */
    err[0] = '\0';
    assert_null(auth_mint_hs256("", 0, "{}", 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "the signing secret is empty or too long");
    err[0] = '\0';
    assert_null(auth_mint_hs256(NULL, 5, "{}", 0, NOW, err, sizeof(err)));
    assert_true(err[0] != '\0');
    err[0] = '\0';
    assert_null(auth_mint_hs256(SECRET, strlen(SECRET), "{}", INT64_MAX, NOW, err, sizeof(err)));
    assert_non_null(strstr(err, "lifetime"));
    assert_null(strstr(err, SECRET));
    /* a NULL error buffer is allowed */
    assert_null(auth_mint_hs256(SECRET, strlen(SECRET), "nope", 0, NOW, NULL, 0));
}

/* ---- jwks mode ---- */

#define J_HOST  "127.0.0.1:8443"
#define J_AUD   "https://relay.example.com"
#define J_RS256 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define MSG_J_HOST                                                                                 \
    "Authorization failed: jwks_host is missing in JWT payload. Make sure custom_jwks_host field " \
    "is present in module_type"
#define MSG_J_WRONG_HOST                                                                           \
    "Authorization failed: Wrong jwks_host in JWT payload. Make sure domain follows the "          \
    "visibility.<region>.cisco.com structure"
#define MSG_J_KID "Authorization failed: kid from JWT header not found in API response"
#define MSG_J_KEY                                                                                  \
    "Authorization failed: Failed to decode JWT with provided key. Make sure domain in "           \
    "custom_jwks_host corresponds to your SecureX instance region."

static EVP_PKEY *j_rsa, *j_other, *j_ec;
static cfg_t j_cfg;
static jwks_t *j_jwks;
static char j_path[] = "/tmp/test_auth_jwks_XXXXXX";

static void j_b64url_bn(EVP_PKEY *pkey, const char *name, char *out)
{
    BIGNUM *bn = NULL;
    unsigned char bin[600];

    assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
    t_b64url(bin, (size_t)BN_bn2bin(bn, bin), out);
    BN_free(bn);
}

/* The file holds k1 (j_rsa, any RSA alg) and e1 (j_ec); j_other is in no set. */
static int jwks_setup(void **state)
{
    char n[400], e[16], x[48], y[48], err[CFG_ERR_LEN];
    unsigned char pub[65];
    size_t pub_len = 0;
    FILE *f;
    int fd;

    (void)state;
    j_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    j_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    j_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (j_rsa == NULL || j_other == NULL || j_ec == NULL)
        return -1;
    j_b64url_bn(j_rsa, OSSL_PKEY_PARAM_RSA_N, n);
    j_b64url_bn(j_rsa, OSSL_PKEY_PARAM_RSA_E, e);
    if (EVP_PKEY_get_octet_string_param(j_ec, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                        &pub_len) != 1 ||
        pub_len != 65)
        return -1;
    t_b64url(pub + 1, 32, x);
    t_b64url(pub + 33, 32, y);

    fd = mkstemp(j_path);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
        return -1;
    fprintf(f,
            "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"},"
            "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\",\"x\":\"%s\",\"y\":\"%s\"}]}\n",
            n, e, x, y);
    fclose(f);

    cfg_init(&j_cfg);
    if (cfg_set(&j_cfg, "WSA_RELAY_AUTH_MODE", "jwks", err, sizeof(err)) != 0 ||
        cfg_set(&j_cfg, "WSA_RELAY_JWKS_HOSTS", J_HOST, err, sizeof(err)) != 0 ||
        cfg_set(&j_cfg, "WSA_RELAY_JWKS_FILE", j_path, err, sizeof(err)) != 0 ||
        cfg_set(&j_cfg, "WSA_RELAY_PUBLIC_URL", J_AUD, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    j_jwks = jwks_create(&j_cfg, err, sizeof(err));
    if (j_jwks == NULL) {
        fprintf(stderr, "jwks_create: %s\n", err);
        return -1;
    }
    return 0;
}

static int jwks_teardown(void **state)
{
    (void)state;
    jwks_destroy(j_jwks);
    cfg_free(&j_cfg);
    unlink(j_path);
    EVP_PKEY_free(j_rsa);
    EVP_PKEY_free(j_other);
    EVP_PKEY_free(j_ec);
    return 0;
}

/* Each test starts from the defaults: RS256 only. */
static int jwks_reset(void **state)
{
    (void)state;
    j_cfg.jwt_algs = CFG_ALG_RS256;
    return 0;
}

static unsigned char last_sig[1024]; /* the signature token_pkey made last */
static size_t last_sig_len;

/* A token signed by `pkey` with `md` (ES256: converted to JOSE's r || s). */
static char *token_pkey(const char *header, const char *payload, EVP_PKEY *pkey, const EVP_MD *md)
{
    static char tok[TOKCAP];
    unsigned char sig[1024];
    size_t n = signing_input(header, payload, tok), sig_len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)tok, n), 1);
    EVP_MD_CTX_free(ctx);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
        const BIGNUM *r, *s;
        assert_non_null(es);
        ECDSA_SIG_get0(es, &r, &s);
        assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
        assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
        sig_len = 64;
        ECDSA_SIG_free(es);
    }
    memcpy(last_sig, sig, sig_len);
    last_sig_len = sig_len;
    tok[n++] = '.';
    t_b64url(sig, sig_len, tok + n);
    return tok;
}

static char *token_rs256(const char *payload)
{
    return token_pkey(J_RS256, payload, j_rsa, EVP_sha256());
}

static auth_result_t jverify_conf(const auth_conf_t *conf, const char *token, int64_t now,
                                  auth_claims_t *claims)
{
    static char header[TOKCAP + 16];

    snprintf(header, sizeof(header), "Bearer %s", token);
    return auth_verify(conf, header, strlen(header), "relay.example.com", 17, now, claims);
}

static auth_conf_t jconf(void)
{
    return (auth_conf_t){.mode = CFG_AUTH_JWKS, .audience = J_AUD, .cfg = &j_cfg, .jwks = j_jwks};
}

static auth_result_t jverify(const char *token, int64_t now)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims;

    return jverify_conf(&conf, token, now, &claims);
}

#define J_PAYLOAD "{\"aud\":\"" J_AUD "\",\"jwks_host\":\"" J_HOST "\",\"exp\":1700000600"

static void test_jwks_messages(void **state)
{
    (void)state;
    assert_string_equal(auth_message(AUTH_JWKS_HOST_MISSING), MSG_J_HOST);
    assert_string_equal(auth_message(AUTH_WRONG_JWKS_HOST), MSG_J_WRONG_HOST);
    assert_string_equal(auth_message(AUTH_KID_NOT_FOUND), MSG_J_KID);
    assert_string_equal(auth_message(AUTH_WRONG_KEY_JWKS), MSG_J_KEY);
    assert_null(auth_message(AUTH_PENDING));
}

static void test_jwks_valid(void **state)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims = {0};

    (void)state;
    assert_int_equal(
        jverify_conf(&conf, token_rs256(J_PAYLOAD ",\"CTR_ENTITIES_LIMIT\":\"20\"}"), NOW, &claims),
        AUTH_OK);
    assert_int_equal(claims.entities_limit, 20);
    /* no exp: accepted, since exp is checked only when present */
    assert_int_equal(
        jverify(token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"127.0.0.1:8443\"}"), NOW),
        AUTH_OK);
}

static void test_jwks_alg_none(void **state)
{
    (void)state;
    assert_auth(
        jverify(token_with_sig("{\"alg\":\"none\",\"kid\":\"k1\"}", J_PAYLOAD "}", ""), NOW),
        AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    assert_auth(jverify(token_with_sig("{\"kid\":\"k1\"}", J_PAYLOAD "}", ""), NOW),
                AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    /* a valid RS256 signature does not help a header that says none */
    char *good = token_rs256(J_PAYLOAD "}");
    char sig[600];
    strcpy(sig, strrchr(good, '.') + 1);
    assert_auth(
        jverify(token_with_sig("{\"alg\":\"none\",\"kid\":\"k1\"}", J_PAYLOAD "}", sig), NOW),
        AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
}

/* HS256 with the public key as the HMAC secret: the classic algorithm confusion. */
static void test_jwks_hs256_with_public_key(void **state)
{
    static const char hs_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
    char pem[1024], *tok;
    unsigned char *der = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    int der_len, pem_len;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t n;

    (void)state;
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, j_rsa), 1);
    pem_len = BIO_read(bio, pem, sizeof(pem) - 1);
    assert_true(pem_len > 400);
    pem[pem_len] = '\0';
    BIO_free(bio);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));

    tok = token_signed(hs_hdr, J_PAYLOAD "}", pem);
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);

    der_len = i2d_PUBKEY(j_rsa, &der);
    assert_true(der_len > 256);
    tok = token_with_sig(hs_hdr, J_PAYLOAD "}", "");
    n = strlen(tok) - 1; /* the signing input, without the dot */
    assert_non_null(HMAC(EVP_sha256(), der, der_len, (unsigned char *)tok, n, mac, &mac_len));
    t_b64url(mac, mac_len, tok + n + 1);
    OPENSSL_free(der);
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
}

static void test_jwks_alg_allowed_by_config(void **state)
{
    static const char rs384[] = "{\"alg\":\"RS384\",\"kid\":\"k1\"}";
    static const char es256[] = "{\"alg\":\"ES256\",\"kid\":\"e1\"}";
    char tok[TOKCAP];

    (void)state;
    strcpy(tok, token_pkey(rs384, J_PAYLOAD "}", j_rsa, EVP_sha384()));
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    j_cfg.jwt_algs = CFG_ALG_RS256 | CFG_ALG_RS384;
    assert_int_equal(jverify(tok, NOW), AUTH_OK);

    /* the alg must also suit the key: e1 is an EC key, k1 an RSA one */
    strcpy(tok, token_pkey(es256, J_PAYLOAD "}", j_ec, EVP_sha256()));
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    j_cfg.jwt_algs = CFG_ALG_ES256;
    assert_int_equal(jverify(tok, NOW), AUTH_OK);
    strcpy(tok,
           token_pkey("{\"alg\":\"ES256\",\"kid\":\"k1\"}", J_PAYLOAD "}", j_ec, EVP_sha256()));
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    /* the names are exact */
    j_cfg.jwt_algs = CFG_ALG_RS256;
    strcpy(tok,
           token_pkey("{\"alg\":\"rs256\",\"kid\":\"k1\"}", J_PAYLOAD "}", j_rsa, EVP_sha256()));
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    strcpy(tok, token_pkey("{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", J_PAYLOAD "}",
                           j_rsa, EVP_sha256()));
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
}

static void test_jwks_signature(void **state)
{
    char tok[TOKCAP];
    size_t n;

    (void)state;
    assert_auth(jverify(token_pkey(J_RS256, J_PAYLOAD "}", j_other, EVP_sha256()), NOW),
                AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    /* signed as RS512 but sent as RS256 */
    assert_auth(jverify(token_pkey(J_RS256, J_PAYLOAD "}", j_rsa, EVP_sha512()), NOW),
                AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    /* one character of the signature changed ('A' and 'B' differ in the last bit) */
    strcpy(tok, token_rs256(J_PAYLOAD "}"));
    n = strlen(tok);
    tok[n - 10] = tok[n - 10] == 'A' ? 'B' : 'A';
    assert_auth(jverify(tok, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    /* the payload swapped for another one under the same signature */
    strcpy(tok, token_rs256(J_PAYLOAD "}"));
    {
        char other[TOKCAP], *sig = strrchr(tok, '.') + 1;
        strcpy(other, token_with_sig(J_RS256, J_PAYLOAD ",\"CTR_ENTITIES_LIMIT\":1000}", sig));
        assert_auth(jverify(other, NOW), AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    }
    /* the signature without its last byte, and with a zero byte in front */
    {
        unsigned char longer[300];
        char sig[600];
        token_rs256(J_PAYLOAD "}");
        assert_int_equal(last_sig_len, 256);
        t_b64url(last_sig, 255, sig);
        assert_auth(jverify(token_with_sig(J_RS256, J_PAYLOAD "}", sig), NOW), AUTH_WRONG_KEY_JWKS,
                    MSG_J_KEY);
        longer[0] = 0;
        memcpy(longer + 1, last_sig, 256);
        t_b64url(longer, 257, sig);
        assert_auth(jverify(token_with_sig(J_RS256, J_PAYLOAD "}", sig), NOW), AUTH_WRONG_KEY_JWKS,
                    MSG_J_KEY);
        t_b64url(last_sig, 256, sig);
        assert_int_equal(jverify(token_with_sig(J_RS256, J_PAYLOAD "}", sig), NOW), AUTH_OK);
    }
}

static void test_jwks_host(void **state)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims;

    (void)state;
    assert_auth(jverify(token_rs256("{\"aud\":\"" J_AUD "\"}"), NOW), AUTH_JWKS_HOST_MISSING,
                MSG_J_HOST);
    assert_auth(jverify(token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"\"}"), NOW),
                AUTH_JWKS_HOST_MISSING, MSG_J_HOST);
    assert_auth(jverify(token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":8443}"), NOW),
                AUTH_JWKS_HOST_MISSING, MSG_J_HOST);
    assert_auth(jverify(token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"evil.example\"}"), NOW),
                AUTH_WRONG_JWKS_HOST, MSG_J_WRONG_HOST);
    assert_auth(
        jverify(token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"127.0.0.1:8443/x\"}"), NOW),
        AUTH_WRONG_JWKS_HOST, MSG_J_WRONG_HOST);
    assert_auth(jverify(token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"127.0.0.1\"}"), NOW),
                AUTH_WRONG_JWKS_HOST, MSG_J_WRONG_HOST);
    /* no key cache at all fails closed */
    conf.jwks = NULL;
    assert_auth(jverify_conf(&conf, token_rs256(J_PAYLOAD "}"), NOW, &claims), AUTH_WRONG_JWKS_HOST,
                MSG_J_WRONG_HOST);
}

static void test_jwks_kid(void **state)
{
    (void)state;
    assert_auth(jverify(token_pkey("{\"alg\":\"RS256\",\"kid\":\"k2\"}", J_PAYLOAD "}", j_rsa,
                                   EVP_sha256()),
                        NOW),
                AUTH_KID_NOT_FOUND, MSG_J_KID);
    assert_auth(jverify(token_pkey("{\"alg\":\"RS256\"}", J_PAYLOAD "}", j_rsa, EVP_sha256()), NOW),
                AUTH_KID_NOT_FOUND, MSG_J_KID);
    assert_auth(
        jverify(token_pkey("{\"alg\":\"RS256\",\"kid\":1}", J_PAYLOAD "}", j_rsa, EVP_sha256()),
                NOW),
        AUTH_KID_NOT_FOUND, MSG_J_KID);
    assert_auth(
        jverify(token_pkey("{\"alg\":\"RS256\",\"kid\":\"\"}", J_PAYLOAD "}", j_rsa, EVP_sha256()),
                NOW),
        AUTH_KID_NOT_FOUND, MSG_J_KID);
    /* kids are compared exactly */
    assert_auth(jverify(token_pkey("{\"alg\":\"RS256\",\"kid\":\"K1\"}", J_PAYLOAD "}", j_rsa,
                                   EVP_sha256()),
                        NOW),
                AUTH_KID_NOT_FOUND, MSG_J_KID);
    assert_auth(jverify(token_pkey("{\"alg\":\"RS256\",\"kid\":\"k1 \"}", J_PAYLOAD "}", j_rsa,
                                   EVP_sha256()),
                        NOW),
                AUTH_KID_NOT_FOUND, MSG_J_KID);
}

static void test_jwks_aud(void **state)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims;

    (void)state;
    assert_auth(jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\"}"), NOW), AUTH_WRONG_AUDIENCE,
                MSG_AUDIENCE);
    assert_auth(jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"aud\":null}"), NOW),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(
        jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"aud\":\"https://other\"}"), NOW),
        AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_auth(jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"aud\":[]}"), NOW),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    assert_int_equal(jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"aud\":[\"https://other\","
                                         "\"" J_AUD "/\"]}"),
                             NOW),
                     AUTH_OK);
    assert_int_equal(
        jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"aud\":\"" J_AUD "//\"}"), NOW),
        AUTH_OK);
    assert_auth(jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"aud\":\"" J_AUD "/x\"}"), NOW),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
    /* the Host header never stands in for the audience in jwks mode */
    conf.audience = NULL;
    assert_auth(jverify_conf(&conf,
                             token_rs256("{\"jwks_host\":\"" J_HOST
                                         "\",\"aud\":\"http://relay.example.com\"}"),
                             NOW, &claims),
                AUTH_WRONG_AUDIENCE, MSG_AUDIENCE);
}

static void test_jwks_exp_nbf(void **state)
{
    char tok[TOKCAP];

    (void)state;
    strcpy(tok, token_rs256(J_PAYLOAD "}")); /* exp NOW + 600 */
    assert_int_equal(jverify(tok, NOW + 629), AUTH_OK);
    assert_auth(jverify(tok, NOW + 630), AUTH_EXPIRED, MSG_EXPIRED);
    strcpy(tok, token_rs256(J_PAYLOAD ",\"nbf\":1700000100}"));
    assert_auth(jverify(tok, NOW + 69), AUTH_NOT_YET_VALID, MSG_NBF);
    assert_int_equal(jverify(tok, NOW + 70), AUTH_OK);
}

/* The first thing wrong decides the message. */
static void test_jwks_check_order(void **state)
{
    static const char none[] = "{\"alg\":\"none\"}";

    (void)state;
    /* structure before everything */
    assert_auth(jverify("a.b", NOW), AUTH_WRONG_STRUCTURE, MSG_STRUCTURE);
    /* jwks_host before the alg and the kid */
    assert_auth(jverify(token_with_sig(none, "{}", ""), NOW), AUTH_JWKS_HOST_MISSING, MSG_J_HOST);
    assert_auth(jverify(token_with_sig(none, "{\"jwks_host\":\"evil.example\"}", ""), NOW),
                AUTH_WRONG_JWKS_HOST, MSG_J_WRONG_HOST);
    /* the alg before the kid */
    assert_auth(jverify(token_with_sig(none, J_PAYLOAD "}", ""), NOW), AUTH_WRONG_KEY_JWKS,
                MSG_J_KEY);
    /* the signature before exp and aud */
    assert_auth(jverify(token_pkey(J_RS256, "{\"jwks_host\":\"" J_HOST "\",\"exp\":1}", j_other,
                                   EVP_sha256()),
                        NOW),
                AUTH_WRONG_KEY_JWKS, MSG_J_KEY);
    /* exp before aud */
    assert_auth(jverify(token_rs256("{\"jwks_host\":\"" J_HOST "\",\"exp\":1}"), NOW), AUTH_EXPIRED,
                MSG_EXPIRED);
}

static void test_jwks_cache_hit_skips_verification(void **state)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims = {0};
    unsigned long hits = 9, misses = 9;
    char tok[TOKCAP];

    (void)state;
    conf.cache = auth_cache_create(16);
    assert_non_null(conf.cache);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 0);

    strcpy(tok, token_rs256(J_PAYLOAD ",\"CTR_ENTITIES_LIMIT\":7}"));
    assert_int_equal(jverify_conf(&conf, tok, NOW, &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 7);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 1);

    /* with RS256 no longer allowed and no keys, only the cache can say OK */
    j_cfg.jwt_algs = CFG_ALG_RS384;
    conf.jwks = NULL;
    claims.entities_limit = 0;
    assert_int_equal(jverify_conf(&conf, tok, NOW + 5, &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 7);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 1);

    /* a failure is never cached: the same bad token is checked (and refused) every time */
    j_cfg.jwt_algs = CFG_ALG_RS256;
    conf.jwks = j_jwks;
    strcpy(tok, token_pkey(J_RS256, J_PAYLOAD "}", j_other, EVP_sha256()));
    assert_int_equal(jverify_conf(&conf, tok, NOW, &claims), AUTH_WRONG_KEY_JWKS);
    assert_int_equal(jverify_conf(&conf, tok, NOW, &claims), AUTH_WRONG_KEY_JWKS);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 3);
    auth_cache_free(conf.cache);
}

static void test_jwks_cache_expiry(void **state)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims;
    unsigned long hits, misses;
    char tok[TOKCAP];

    (void)state;
    conf.cache = auth_cache_create(4);
    assert_non_null(conf.cache);

    /* exp NOW + 10: trusted from the cache until exp + leeway = NOW + 40, then refused */
    strcpy(tok,
           token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"" J_HOST "\",\"exp\":1700000010}"));
    assert_int_equal(jverify_conf(&conf, tok, NOW, &claims), AUTH_OK);
    assert_int_equal(jverify_conf(&conf, tok, NOW + 39, &claims), AUTH_OK);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 1);
    assert_auth(jverify_conf(&conf, tok, NOW + 40, &claims), AUTH_EXPIRED, MSG_EXPIRED);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 2);

    /* exp far off: trusted for AUTH_CACHE_TTL_S, then verified again */
    strcpy(tok, token_rs256(J_PAYLOAD "}"));
    assert_int_equal(jverify_conf(&conf, tok, NOW, &claims), AUTH_OK);
    assert_int_equal(jverify_conf(&conf, tok, NOW + 59, &claims), AUTH_OK);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 3);
    assert_int_equal(jverify_conf(&conf, tok, NOW + 60, &claims), AUTH_OK);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 4);
    /* verified again at NOW + 60, so trusted until NOW + 120 */
    assert_int_equal(jverify_conf(&conf, tok, NOW + 119, &claims), AUTH_OK);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 3);

    /* a fractional exp: 1700000010.5 + 30 is refused from NOW + 41 */
    strcpy(tok, token_rs256("{\"aud\":\"" J_AUD "\",\"jwks_host\":\"" J_HOST
                            "\",\"exp\":1700000010.5}"));
    assert_int_equal(jverify_conf(&conf, tok, NOW, &claims), AUTH_OK);
    assert_int_equal(jverify_conf(&conf, tok, NOW + 40, &claims), AUTH_OK);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 4);
    assert_auth(jverify_conf(&conf, tok, NOW + 41, &claims), AUTH_EXPIRED, MSG_EXPIRED);
    auth_cache_free(conf.cache);
}

/* One slot: a second token takes it, and the first is verified again, never confused. */
static void test_jwks_cache_one_slot(void **state)
{
    auth_conf_t conf = jconf();
    auth_claims_t claims;
    unsigned long hits, misses;
    char a[TOKCAP], b[TOKCAP];

    (void)state;
    conf.cache = auth_cache_create(0);
    assert_non_null(conf.cache);
    strcpy(a, token_rs256(J_PAYLOAD ",\"CTR_ENTITIES_LIMIT\":3}"));
    strcpy(b, token_rs256(J_PAYLOAD ",\"CTR_ENTITIES_LIMIT\":4}"));
    assert_int_equal(jverify_conf(&conf, a, NOW, &claims), AUTH_OK);
    assert_int_equal(jverify_conf(&conf, b, NOW, &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 4);
    assert_int_equal(jverify_conf(&conf, a, NOW, &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 3);
    assert_int_equal(jverify_conf(&conf, a, NOW, &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 3);
    auth_cache_stats(conf.cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 3);
    auth_cache_free(conf.cache);
    auth_cache_stats(NULL, &hits, &misses);
    assert_int_equal(hits, 0);
}

static void test_jwks_secret_mode_unchanged(void **state)
{
    auth_conf_t conf = {.mode = CFG_AUTH_SECRET, .secret = SECRET, .secret_len = strlen(SECRET)};
    auth_claims_t claims;
    const char *tok = token_rs256(J_PAYLOAD "}");
    char header[TOKCAP + 16];

    (void)state;
    /* an RS256 token in secret mode is the secret mode's refusal, with its shorter text */
    snprintf(header, sizeof(header), "Bearer %s", tok);
    assert_auth(auth_verify(&conf, header, strlen(header), NULL, 0, NOW, &claims), AUTH_WRONG_KEY,
                MSG_KEY);
}

/* Tokens libjwt mints from a PEM private key verify here, and its errors are specific. */
static void test_jwks_mint_rs256(void **state)
{
    char pem[4096], err[256], *tok;
    BIO *bio = BIO_new(BIO_s_mem());
    int len;

    (void)state;
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, j_rsa, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_read(bio, pem, sizeof(pem) - 1);
    BIO_free(bio);
    assert_true(len > 1000);
    pem[len] = '\0';

    tok = auth_mint_rs256(pem, (size_t)len, "k1",
                          "{\"aud\":\"" J_AUD "\",\"jwks_host\":\"" J_HOST "\"}", 600, NOW, err,
                          sizeof(err));
    assert_non_null(tok);
    assert_int_equal(jverify(tok, NOW + 629), AUTH_OK);
    assert_auth(jverify(tok, NOW + 630), AUTH_EXPIRED, MSG_EXPIRED);
    free(tok);

    tok = auth_mint_rs256(pem, (size_t)len, "k9",
                          "{\"aud\":\"" J_AUD "\",\"jwks_host\":\"" J_HOST "\"}", 600, NOW, err,
                          sizeof(err));
    assert_non_null(tok);
    assert_auth(jverify(tok, NOW), AUTH_KID_NOT_FOUND, MSG_J_KID);
    free(tok);

    assert_null(auth_mint_rs256(pem, (size_t)len, "", NULL, 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "an RS256 token needs a kid of UTF-8 text");
    assert_null(auth_mint_rs256(pem, (size_t)len, "k\xff", NULL, 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "an RS256 token needs a kid of UTF-8 text");
    /* a kid that makes the token longer than the relay reads: 6000 bytes of kid become
     * 8000 of base64url in the header alone, plus the payload and a 342-byte signature */
    {
        char *long_kid = malloc(6001);
        assert_non_null(long_kid);
        memset(long_kid, 'k', 6000);
        long_kid[6000] = '\0';
        assert_null(auth_mint_rs256(pem, (size_t)len, long_kid, NULL, 0, NOW, err, sizeof(err)));
        assert_true(strncmp(err, "the token would be ", 19) == 0);
        assert_non_null(strstr(err, " bytes; the relay takes at most 8192"));
        free(long_kid);
    }
    assert_null(auth_mint_rs256("not a key", 9, "k1", NULL, 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "the key is not a PEM private key (or it is encrypted)");
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(bio, j_rsa), 1);
    len = BIO_read(bio, pem, sizeof(pem) - 1);
    BIO_free(bio);
    assert_null(auth_mint_rs256(pem, (size_t)len, "k1", NULL, 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "the key is not a PEM private key (or it is encrypted)");
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, j_ec, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_read(bio, pem, sizeof(pem) - 1);
    BIO_free(bio);
    assert_null(auth_mint_rs256(pem, (size_t)len, "k1", NULL, 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "RS256 needs an RSA private key; this PEM holds another type");

    /* an encrypted key is refused as it is, never with a passphrase prompt */
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, j_rsa, EVP_aes_256_cbc(),
                                              (unsigned char *)"secret123", 9, NULL, NULL),
                     1);
    len = BIO_read(bio, pem, sizeof(pem) - 1);
    BIO_free(bio);
    assert_null(auth_pem_key(pem, (size_t)len, 1));
    assert_null(auth_mint_rs256(pem, (size_t)len, "k1", NULL, 0, NOW, err, sizeof(err)));
    assert_string_equal(err, "the key is not a PEM private key (or it is encrypted)");

    /* a key jwks mode would skip is not minted with */
    {
        EVP_PKEY *small = EVP_RSA_gen(1024);
        assert_non_null(small);
        bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0, NULL, NULL), 1);
        len = BIO_read(bio, pem, sizeof(pem) - 1);
        BIO_free(bio);
        EVP_PKEY_free(small);
        assert_null(auth_mint_rs256(pem, (size_t)len, "k1", NULL, 0, NOW, err, sizeof(err)));
        assert_string_equal(err, "a 1024-bit key; jwks mode refuses RSA keys under 2048 bits");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_valid_token),
        cmocka_unit_test(test_rfc7515_example),
        cmocka_unit_test(test_header_missing),
        cmocka_unit_test(test_header_wrong_type),
        cmocka_unit_test(test_header_accepted_forms),
        cmocka_unit_test(test_header_by_length),
        cmocka_unit_test(test_structure_part_count),
        cmocka_unit_test(test_structure_base64url),
        cmocka_unit_test(test_structure_json),
        cmocka_unit_test(test_structure_duplicate_keys),
        cmocka_unit_test(test_structure_time_claims),
        cmocka_unit_test(test_structure_size_limit),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_not_hs256),
        cmocka_unit_test(test_alg_crit_refused),
        cmocka_unit_test(test_signature_wrong),
        cmocka_unit_test(test_signature_no_secret),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_nbf),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_aud_configured),
        cmocka_unit_test(test_aud_missing_is_accepted),
        cmocka_unit_test(test_aud_from_host),
        cmocka_unit_test(test_entities_limit),
        cmocka_unit_test(test_mint_then_verify),
        cmocka_unit_test(test_mint_other_secret_rejected),
        cmocka_unit_test(test_mint_claims),
        cmocka_unit_test(test_mint_errors),
    };

    const struct CMUnitTest jwks_tests[] = {
        cmocka_unit_test_setup(test_jwks_messages, jwks_reset),
        cmocka_unit_test_setup(test_jwks_valid, jwks_reset),
        cmocka_unit_test_setup(test_jwks_alg_none, jwks_reset),
        cmocka_unit_test_setup(test_jwks_hs256_with_public_key, jwks_reset),
        cmocka_unit_test_setup(test_jwks_alg_allowed_by_config, jwks_reset),
        cmocka_unit_test_setup(test_jwks_signature, jwks_reset),
        cmocka_unit_test_setup(test_jwks_host, jwks_reset),
        cmocka_unit_test_setup(test_jwks_kid, jwks_reset),
        cmocka_unit_test_setup(test_jwks_aud, jwks_reset),
        cmocka_unit_test_setup(test_jwks_exp_nbf, jwks_reset),
        cmocka_unit_test_setup(test_jwks_check_order, jwks_reset),
        cmocka_unit_test_setup(test_jwks_cache_hit_skips_verification, jwks_reset),
        cmocka_unit_test_setup(test_jwks_cache_expiry, jwks_reset),
        cmocka_unit_test_setup(test_jwks_cache_one_slot, jwks_reset),
        cmocka_unit_test_setup(test_jwks_secret_mode_unchanged, jwks_reset),
        cmocka_unit_test_setup(test_jwks_mint_rs256, jwks_reset),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    return failed + cmocka_run_group_tests_name("jwks", jwks_tests, jwks_setup, jwks_teardown);
}
