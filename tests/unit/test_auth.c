/*
 * test_auth.c - every rejection cause of `secret` mode with its exact message, the order of
 * the checks, the claims, and tokens minted by libjwt verified by our own code.
 *
 * Tokens are built here from raw JSON with OpenSSL's base64 and HMAC, not with the code
 * under test, so that a shared mistake cannot make both sides agree.
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
#include <openssl/hmac.h>
#include "auth.h"

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

/* Unpadded base64url through OpenSSL's standard base64. */
static void b64url(const void *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=')
            out[i] = '\0';
    }
    out[n] = '\0';
}

/* "b64(header).b64(payload)" in `out`; returns its length. */
static size_t signing_input(const char *header, const char *payload, char *out)
{
    size_t n;

    b64url(header, strlen(header), out);
    n = strlen(out);
    out[n++] = '.';
    b64url(payload, strlen(payload), out + n);
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
    b64url(mac, mac_len, tok + n);
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
    b64url(sig, len, tok + n);
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

    return cmocka_run_group_tests(tests, NULL, NULL);
}
