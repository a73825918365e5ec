/*
 * test_jwks.c - the JWKS document parser (good keys, every reason a key is skipped, the
 * documents that are errors) and the signature check of jwks mode, per algorithm, with
 * signatures made here by OpenSSL directly.
 *
 * The keys are generated when the tests start and their JWKs written here from OpenSSL's
 * own numbers, so that the parser's reading of n, e, x and y is checked against keys it
 * did not make.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include "jwks.h"
#include "util.h"
#include "../../service/auth_priv.h"
#include "support.h"

#define RSA_ALL (CFG_ALG_RS256 | CFG_ALG_RS384 | CFG_ALG_RS512)
#define DOC_CAP 65536

static EVP_PKEY *rsa2048, *rsa2048b, *rsa1024, *ec256;

/* JWK member texts, unpadded base64url made by OpenSSL's standard base64. */
static char rsa_n[400], rsa_e[16], rsab_n[400], rsab_e[16], small_n[200], small_e[16];
static char ec_x[48], ec_y[48];

static void bn_param(EVP_PKEY *pkey, const char *name, char *out)
{
    BIGNUM *bn = NULL;
    unsigned char bin[1024];
    int n;

    assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
    n = BN_bn2bin(bn, bin);
    t_b64url(bin, (size_t)n, out);
    BN_free(bn);
}

/* x and y of a P-256 key, each padded to 32 bytes as RFC 7518 section 6.2.1.2 requires. */
static void ec_coords(EVP_PKEY *pkey)
{
    unsigned char pub[65];
    size_t len = 0;

    assert_int_equal(
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len), 1);
    assert_int_equal(len, 65);
    assert_int_equal(pub[0], 0x04);
    t_b64url(pub + 1, 32, ec_x);
    t_b64url(pub + 33, 32, ec_y);
}

static int setup_keys(void **state)
{
    (void)state;
    rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa2048b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (rsa2048 == NULL || rsa2048b == NULL || rsa1024 == NULL || ec256 == NULL)
        return -1;
    bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, rsa_n);
    bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_E, rsa_e);
    bn_param(rsa2048b, OSSL_PKEY_PARAM_RSA_N, rsab_n);
    bn_param(rsa2048b, OSSL_PKEY_PARAM_RSA_E, rsab_e);
    bn_param(rsa1024, OSSL_PKEY_PARAM_RSA_N, small_n);
    bn_param(rsa1024, OSSL_PKEY_PARAM_RSA_E, small_e);
    ec_coords(ec256);
    return 0;
}

static int teardown_keys(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa2048b);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(ec256);
    return 0;
}

/* A JWKS document with the given JWK texts, comma-joined, NULL-terminated. */
static const char *doc(const char *first, ...)
{
    static char buf[DOC_CAP];
    va_list ap;
    size_t n;

    n = (size_t)snprintf(buf, sizeof(buf), "{\"keys\":[");
    va_start(ap, first);
    for (const char *k = first; k != NULL; k = va_arg(ap, const char *)) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", k == first ? "" : ",", k);
        assert_true(n < sizeof(buf) - 4);
    }
    va_end(ap);
    snprintf(buf + n, sizeof(buf) - n, "]}");
    return buf;
}

static const char *rsa_jwk(const char *kid, const char *extra)
{
    static char buf[64][1024];
    static int next;
    char *out = buf[next++ % 64];

    snprintf(out, 1024, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, rsa_n,
             rsa_e, extra);
    return out;
}

static const char *ec_jwk(const char *kid, const char *extra)
{
    static char buf[64][512];
    static int next;
    char *out = buf[next++ % 64];

    snprintf(out, 512,
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kid,
             ec_x, ec_y, extra);
    return out;
}

/* Parses `text` expecting a set of `size` keys with `skipped` skipped; returns the set. */
static jwks_set_t *parse_ok(const char *text, size_t size, size_t skipped)
{
    char err[256] = "";
    size_t got_skipped = 999;
    jwks_set_t *set = jwks_set_parse(text, strlen(text), &got_skipped, err, sizeof(err));

    if (set == NULL)
        fail_msg("parse failed: %s", err);
    assert_int_equal(jwks_set_size(set), size);
    assert_int_equal(got_skipped, skipped);
    return set;
}

static void test_parse_good_keys(void **state)
{
    jwks_set_t *set =
        parse_ok(doc(rsa_jwk("r1", ",\"use\":\"sig\""), ec_jwk("e1", ""), NULL), 2, 0);
    jwks_key_t key;

    (void)state;
    assert_int_equal(jwks_set_find(set, "r1", 2, &key), 0);
    assert_int_equal(key.algs, RSA_ALL);
    assert_int_equal(EVP_PKEY_eq(key.pkey, rsa2048), 1);
    assert_int_equal(EVP_PKEY_get_bits(key.pkey), 2048);
    jwks_key_release(&key);
    assert_null(key.pkey);

    assert_int_equal(jwks_set_find(set, "e1", 2, &key), 0);
    assert_int_equal(key.algs, CFG_ALG_ES256);
    assert_int_equal(EVP_PKEY_eq(key.pkey, ec256), 1);
    jwks_key_release(&key);
    jwks_set_free(set);
}

static void test_alg_narrows(void **state)
{
    jwks_set_t *set =
        parse_ok(doc(rsa_jwk("a", ",\"alg\":\"RS384\""), rsa_jwk("b", ",\"alg\":\"RS512\""),
                     rsa_jwk("c", ",\"alg\":\"RS256\""), ec_jwk("d", ",\"alg\":\"ES256\""), NULL),
                 4, 0);
    jwks_key_t key;

    (void)state;
    assert_int_equal(jwks_set_find(set, "a", 1, &key), 0);
    assert_int_equal(key.algs, CFG_ALG_RS384);
    jwks_key_release(&key);
    assert_int_equal(jwks_set_find(set, "b", 1, &key), 0);
    assert_int_equal(key.algs, CFG_ALG_RS512);
    jwks_key_release(&key);
    assert_int_equal(jwks_set_find(set, "c", 1, &key), 0);
    assert_int_equal(key.algs, CFG_ALG_RS256);
    jwks_key_release(&key);
    assert_int_equal(jwks_set_find(set, "d", 1, &key), 0);
    assert_int_equal(key.algs, CFG_ALG_ES256);
    jwks_key_release(&key);
    jwks_set_free(set);
}

/* Each of these keys is skipped next to a good one: a set of 1, 1 skipped. */
static void test_skip_reasons(void **state)
{
    char bad[8][1024], good[1024];
    const char *skipped[64];
    size_t n = 0;

    (void)state;
    /* what a key is */
    skipped[n++] = "\"not an object\"";
    skipped[n++] = "42";
    skipped[n++] = "{\"kty\":\"oct\",\"kid\":\"s\",\"k\":\"c2VjcmV0\"}";
    skipped[n++] = "{\"kty\":\"OKP\",\"kid\":\"s\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}";
    skipped[n++] = "{\"kid\":\"s\",\"n\":\"AQAB\",\"e\":\"AQAB\"}";
    snprintf(bad[0], sizeof(bad[0]), "{\"kty\":\"rsa\",\"kid\":\"s\",\"n\":\"%s\",\"e\":\"AQAB\"}",
             rsa_n);
    skipped[n++] = bad[0];
    /* kid */
    snprintf(bad[1], sizeof(bad[1]), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", rsa_n);
    skipped[n++] = bad[1];
    skipped[n++] = rsa_jwk("", "");
    snprintf(bad[2], sizeof(bad[2]), "{\"kty\":\"RSA\",\"kid\":7,\"n\":\"%s\",\"e\":\"AQAB\"}",
             rsa_n);
    skipped[n++] = bad[2];
    /* use and alg */
    skipped[n++] = rsa_jwk("s", ",\"use\":\"enc\"");
    skipped[n++] = rsa_jwk("s", ",\"use\":1");
    skipped[n++] = rsa_jwk("s", ",\"alg\":\"HS256\"");
    skipped[n++] = rsa_jwk("s", ",\"alg\":\"none\"");
    skipped[n++] = rsa_jwk("s", ",\"alg\":\"rs256\"");
    skipped[n++] = rsa_jwk("s", ",\"alg\":\"ES256\"");
    skipped[n++] = rsa_jwk("s", ",\"alg\":[\"RS256\"]");
    skipped[n++] = ec_jwk("s", ",\"alg\":\"RS256\"");
    /* RSA material */
    snprintf(bad[3], sizeof(bad[3]), "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"%s\",\"e\":\"%s\"}",
             small_n, small_e);
    skipped[n++] = bad[3]; /* 1024 bits */
    snprintf(bad[4], sizeof(bad[4]), "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"%s=\",\"e\":\"AQAB\"}",
             rsa_n);
    skipped[n++] = bad[4]; /* padding is not base64url as JWK writes it */
    skipped[n++] = "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"+/+/\",\"e\":\"AQAB\"}";
    snprintf(bad[5], sizeof(bad[5]), "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"%s\"}", rsa_n);
    skipped[n++] = bad[5]; /* no e */
    skipped[n++] = "{\"kty\":\"RSA\",\"kid\":\"s\",\"e\":\"AQAB\"}";
    snprintf(bad[6], sizeof(bad[6]), "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"%s\",\"e\":\"Ag\"}",
             rsa_n);
    skipped[n++] = bad[6]; /* e = 2, even */
    snprintf(bad[7], sizeof(bad[7]), "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"%s\",\"e\":\"AQ\"}",
             rsa_n);
    skipped[n++] = bad[7]; /* e = 1 */
    /* EC material */
    skipped[n++] = "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"s\",\"x\":\"AAAA\",\"y\":\"AAAA\"}";

    /* made once: rsa_jwk's texts are reused after 64 calls */
    snprintf(good, sizeof(good), "%s", rsa_jwk("good", ""));
    for (size_t i = 0; i < n; i++) {
        jwks_set_t *set;
        jwks_key_t key;

        set = parse_ok(doc(good, skipped[i], NULL), 1, 1);
        assert_int_equal(jwks_set_find(set, "good", 4, &key), 0);
        jwks_key_release(&key);
        assert_int_equal(jwks_set_find(set, "s", 1, &key), -1);
        jwks_set_free(set);
    }
}

/* A modulus with its last bit cleared (even) and EC points that are not P-256 points. */
static void test_skip_bad_numbers(void **state)
{
    char n_even[400], x_short[48], y_bad[48], jwk[1024];
    unsigned char bin[512];
    long len;
    jwks_set_t *set;

    (void)state;
    /* n with its last byte made even: decode, change, encode again */
    len = util_b64url_decode(rsa_n, strlen(rsa_n), bin);
    assert_int_equal(len, 256);
    bin[255] &= 0xfe;
    t_b64url(bin, 256, n_even);
    snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"kid\":\"s\",\"n\":\"%s\",\"e\":\"%s\"}", n_even,
             rsa_e);
    set = parse_ok(doc(jwk, NULL), 0, 1);
    jwks_set_free(set);

    /* x of 31 bytes */
    len = util_b64url_decode(ec_x, strlen(ec_x), bin);
    assert_int_equal(len, 32);
    t_b64url(bin + 1, 31, x_short);
    snprintf(jwk, sizeof(jwk),
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"s\",\"x\":\"%s\",\"y\":\"%s\"}", x_short,
             ec_y);
    set = parse_ok(doc(jwk, NULL), 0, 1);
    jwks_set_free(set);

    /* y changed by one: (x, y+1) is not on the curve (y and -y are the only points at x) */
    len = util_b64url_decode(ec_y, strlen(ec_y), bin);
    assert_int_equal(len, 32);
    bin[31] ^= 0x01;
    t_b64url(bin, 32, y_bad);
    snprintf(jwk, sizeof(jwk),
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"s\",\"x\":\"%s\",\"y\":\"%s\"}", ec_x,
             y_bad);
    set = parse_ok(doc(jwk, NULL), 0, 1);
    jwks_set_free(set);
}

static void test_duplicate_kid_keeps_first(void **state)
{
    char second[1024];
    jwks_set_t *set;
    jwks_key_t key;

    (void)state;
    snprintf(second, sizeof(second), "{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\",\"e\":\"%s\"}",
             rsab_n, rsab_e);
    set = parse_ok(doc(rsa_jwk("k", ""), second, ec_jwk("k", ""), NULL), 1, 2);
    assert_int_equal(jwks_set_find(set, "k", 1, &key), 0);
    assert_int_equal(EVP_PKEY_eq(key.pkey, rsa2048), 1);
    assert_int_not_equal(EVP_PKEY_eq(key.pkey, rsa2048b), 1);
    jwks_key_release(&key);
    jwks_set_free(set);

    /* an unusable key does not take the kid from a usable one after it */
    set = parse_ok(doc(rsa_jwk("k", ",\"use\":\"enc\""), second, NULL), 1, 1);
    assert_int_equal(jwks_set_find(set, "k", 1, &key), 0);
    assert_int_equal(EVP_PKEY_eq(key.pkey, rsa2048b), 1);
    jwks_key_release(&key);
    jwks_set_free(set);
}

static void test_documents_that_are_errors(void **state)
{
    static const char *bad[] = {
        "",
        "not json",
        "[]",
        "{\"keys\":{}}",
        "{\"keys\":null}",
        "{}",
        "{\"Keys\":[]}",
        "{\"keys\":[],\"keys\":[]}",
        "\"keys\"",
        "{\"keys\":[]} trailing",
    };
    char err[256];
    size_t skipped;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        skipped = 7;
        assert_null(jwks_set_parse(bad[i], strlen(bad[i]), &skipped, err, sizeof(err)));
        assert_true(strlen(err) > 10);
        assert_int_equal(skipped, 0);
    }
    assert_null(jwks_set_parse("{}", 2, NULL, err, sizeof(err)));
    assert_string_equal(err, "the JWKS document has no \"keys\" array");
    assert_null(jwks_set_parse("[]", 2, NULL, err, sizeof(err)));
    assert_string_equal(err, "the JWKS document is not a JSON object");
}

static void test_empty_and_all_skipped_are_sets(void **state)
{
    jwks_set_t *set;
    jwks_key_t key;

    (void)state;
    set = parse_ok("{\"keys\":[]}", 0, 0);
    assert_int_equal(jwks_set_find(set, "k", 1, &key), -1);
    assert_null(key.pkey);
    jwks_set_free(set);
    set = parse_ok(doc(rsa_jwk("k", ",\"use\":\"enc\""), "{}", NULL), 0, 2);
    jwks_set_free(set);
}

static void test_key_limit(void **state)
{
    static char big[JWKS_MAX_KEYS + 5][1024];
    char *text = malloc(600 * 1024);
    size_t n = 0, skipped = 0;
    jwks_set_t *set;
    jwks_key_t key;
    char err[256];

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(text + n, "{\"keys\":[");
    for (int i = 0; i < JWKS_MAX_KEYS + 5; i++) {
        snprintf(big[i], sizeof(big[i]),
                 "%s{\"kty\":\"RSA\",\"kid\":\"k%d\",\"n\":\"%s\",\"e\":\"%s\"}", i ? "," : "", i,
                 rsa_n, rsa_e);
        n += (size_t)sprintf(text + n, "%s", big[i]);
    }
    sprintf(text + n, "]}");
    set = jwks_set_parse(text, strlen(text), &skipped, err, sizeof(err));
    assert_non_null(set);
    assert_int_equal(jwks_set_size(set), 100);
    assert_int_equal(skipped, 5);
    assert_int_equal(jwks_set_find(set, "k99", 3, &key), 0);
    jwks_key_release(&key);
    assert_int_equal(jwks_set_find(set, "k100", 4, &key), -1);
    jwks_set_free(set);
    free(text);
}

static void test_find_is_exact(void **state)
{
    jwks_set_t *set = parse_ok(doc(rsa_jwk("key-1", ""), NULL), 1, 0);
    jwks_key_t key = {0};

    (void)state;
    assert_int_equal(jwks_set_find(set, "key-", 4, &key), -1);
    assert_int_equal(jwks_set_find(set, "key-12", 6, &key), -1);
    assert_int_equal(jwks_set_find(set, "KEY-1", 5, &key), -1);
    /* the length decides, not a NUL */
    assert_int_equal(jwks_set_find(set, "key-1x", 5, &key), 0);
    jwks_key_release(&key);
    jwks_key_release(&key); /* a released key is zeroed: releasing it again is harmless */
    assert_int_equal(jwks_set_find(NULL, "key-1", 5, &key), -1);
    assert_int_equal(jwks_set_size(NULL), 0);
    jwks_set_free(set);
}

/* ---- signatures ---- */

static size_t sign(EVP_PKEY *pkey, const EVP_MD *md, const char *data, unsigned char *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 1024;

    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, strlen(data)), 1);
    EVP_MD_CTX_free(ctx);
    return len;
}

/* An ES256 signature in JOSE form: r and s as 32 bytes each, from OpenSSL's DER. */
static void sign_es256(const char *data, unsigned char jose[64])
{
    unsigned char der[128];
    const unsigned char *p = der;
    size_t len = sign(ec256, EVP_sha256(), data, der);
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r, *s;

    assert_non_null(es);
    ECDSA_SIG_get0(es, &r, &s);
    assert_int_equal(BN_bn2binpad(r, jose, 32), 32);
    assert_int_equal(BN_bn2binpad(s, jose + 32, 32), 32);
    ECDSA_SIG_free(es);
}

static int check(const jwks_key_t *key, unsigned alg, const char *data, const unsigned char *sig,
                 size_t len)
{
    return auth_sig_verify(key, alg, (const unsigned char *)data, strlen(data), sig, len);
}

#define SIGNED_PART "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"

static void test_rsa_signatures(void **state)
{
    static const struct {
        unsigned alg;
        const EVP_MD *(*md)(void);
    } cases[] = {
        {CFG_ALG_RS256, EVP_sha256},
        {CFG_ALG_RS384, EVP_sha384},
        {CFG_ALG_RS512, EVP_sha512},
    };
    jwks_key_t key = {.pkey = rsa2048, .algs = RSA_ALL};
    unsigned char sig[600], longer[600];
    size_t len;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        len = sign(rsa2048, cases[i].md(), SIGNED_PART, sig);
        assert_int_equal(len, 256);
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART, sig, len), 1);
        /* the other digests do not verify it */
        for (size_t j = 0; j < 3; j++) {
            if (j != i)
                assert_int_equal(check(&key, cases[j].alg, SIGNED_PART, sig, len), 0);
        }
        /* a key that may not use this alg */
        key.algs = RSA_ALL & ~cases[i].alg;
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART, sig, len), 0);
        key.algs = RSA_ALL;
        /* another key */
        key.pkey = rsa2048b;
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART, sig, len), 0);
        key.pkey = rsa2048;
        /* payload changed by one byte */
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART "x", sig, len), 0);
        assert_int_equal(
            check(&key, cases[i].alg, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ5In0", sig, len), 0);
        /* cut short, or a zero byte in front (the same number, a different length) */
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART, sig, len - 1), 0);
        longer[0] = 0;
        memcpy(longer + 1, sig, len);
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART, longer, len + 1), 0);
        /* one bit flipped */
        sig[100] ^= 0x10;
        assert_int_equal(check(&key, cases[i].alg, SIGNED_PART, sig, len), 0);
    }
}

static void test_es256_signatures(void **state)
{
    jwks_key_t key = {.pkey = ec256, .algs = CFG_ALG_ES256};
    unsigned char jose[64], der[128];
    size_t der_len;

    (void)state;
    sign_es256(SIGNED_PART, jose);
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART, jose, 64), 1);
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART "x", jose, 64), 0);
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART, jose, 63), 0);
    /* an EC key is never checked as RSA, whatever its algs say */
    key.algs = CFG_ALG_ES256 | CFG_ALG_RS256;
    assert_int_equal(check(&key, CFG_ALG_RS256, SIGNED_PART, jose, 64), 0);
    key.algs = CFG_ALG_ES256;
    /* OpenSSL's own DER form is not what JOSE sends */
    der_len = sign(ec256, EVP_sha256(), SIGNED_PART, der);
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART, der, der_len), 0);
    /* s flipped */
    jose[63] ^= 0x01;
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART, jose, 64), 0);
    /* r = s = 0 */
    memset(jose, 0, sizeof(jose));
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART, jose, 64), 0);
}

/* An RSA key whose algs claim ES256 still never checks an ES256 signature. */
static void test_alg_needs_key_type(void **state)
{
    jwks_key_t key = {.pkey = rsa2048, .algs = RSA_ALL | CFG_ALG_ES256};
    unsigned char sig[600];
    size_t len = sign(rsa2048, EVP_sha256(), SIGNED_PART, sig);

    (void)state;
    assert_int_equal(check(&key, CFG_ALG_ES256, SIGNED_PART, sig, 64), 0);
    /* no alg, or two at once, is never a choice */
    assert_int_equal(check(&key, 0, SIGNED_PART, sig, len), 0);
    assert_int_equal(check(&key, CFG_ALG_RS256 | CFG_ALG_RS384, SIGNED_PART, sig, len), 0);
    assert_int_equal(check(NULL, CFG_ALG_RS256, SIGNED_PART, sig, len), 0);
    assert_int_equal(check(&key, CFG_ALG_RS256, SIGNED_PART, sig, len), 1);
}

static void test_alg_names(void **state)
{
    (void)state;
    assert_int_equal(cfg_alg_bit("RS256", 5), CFG_ALG_RS256);
    assert_int_equal(cfg_alg_bit("RS384", 5), CFG_ALG_RS384);
    assert_int_equal(cfg_alg_bit("RS512", 5), CFG_ALG_RS512);
    assert_int_equal(cfg_alg_bit("ES256", 5), CFG_ALG_ES256);
    assert_int_equal(cfg_alg_bit("RS256x", 6), 0);
    assert_int_equal(cfg_alg_bit("RS25", 4), 0);
    assert_int_equal(cfg_alg_bit("rs256", 5), 0);
    assert_int_equal(cfg_alg_bit("HS256", 5), 0);
    assert_int_equal(cfg_alg_bit("none", 4), 0);
    assert_int_equal(cfg_alg_bit("PS256", 5), 0);
    assert_int_equal(cfg_alg_bit("RS256\0", 6), 0);
}

/* A key found in a set stays usable after the set is gone: it holds its own reference. */
static void test_key_outlives_set(void **state)
{
    jwks_set_t *set = parse_ok(doc(rsa_jwk("k", ""), NULL), 1, 0);
    unsigned char sig[600];
    size_t len = sign(rsa2048, EVP_sha256(), SIGNED_PART, sig);
    jwks_key_t key;

    (void)state;
    assert_int_equal(jwks_set_find(set, "k", 1, &key), 0);
    jwks_set_free(set);
    assert_int_equal(check(&key, CFG_ALG_RS256, SIGNED_PART, sig, len), 1);
    jwks_key_release(&key);
}

typedef struct finder {
    const jwks_set_t *set;
    const unsigned char *sig;
    size_t sig_len;
    int found, verified;
} finder_t;

static void *find_many(void *arg)
{
    finder_t *f = arg;

    for (int i = 0; i < 300; i++) {
        jwks_key_t key;
        if (jwks_set_find(f->set, i % 2 ? "a" : "b", 1, &key) != 0)
            continue;
        f->found++;
        if (i % 30 == 0)
            f->verified += check(&key, CFG_ALG_RS256, SIGNED_PART, f->sig, f->sig_len);
        jwks_key_release(&key);
    }
    return NULL;
}

/* Many threads find keys in one set at once; every find and every check succeeds. */
static void test_concurrent_find(void **state)
{
    char second[1024];
    jwks_set_t *set;
    unsigned char sig[600];
    size_t len = sign(rsa2048, EVP_sha256(), SIGNED_PART, sig);
    pthread_t th[4];
    finder_t f[4];
    jwks_key_t key;

    (void)state;
    snprintf(second, sizeof(second), "{\"kty\":\"RSA\",\"kid\":\"b\",\"n\":\"%s\",\"e\":\"%s\"}",
             rsa_n, rsa_e);
    set = parse_ok(doc(rsa_jwk("a", ""), second, NULL), 2, 0);
    for (int i = 0; i < 4; i++) {
        f[i] = (finder_t){.set = set, .sig = sig, .sig_len = len};
        assert_int_equal(pthread_create(&th[i], NULL, find_many, &f[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(f[i].found, 300);
        assert_int_equal(f[i].verified, 10);
    }
    /* every reference was given back: the set's keys are still there, and freeing is clean */
    assert_int_equal(jwks_set_find(set, "a", 1, &key), 0);
    jwks_key_release(&key);
    jwks_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good_keys),
        cmocka_unit_test(test_alg_narrows),
        cmocka_unit_test(test_skip_reasons),
        cmocka_unit_test(test_skip_bad_numbers),
        cmocka_unit_test(test_duplicate_kid_keeps_first),
        cmocka_unit_test(test_documents_that_are_errors),
        cmocka_unit_test(test_empty_and_all_skipped_are_sets),
        cmocka_unit_test(test_key_limit),
        cmocka_unit_test(test_find_is_exact),
        cmocka_unit_test(test_rsa_signatures),
        cmocka_unit_test(test_es256_signatures),
        cmocka_unit_test(test_alg_needs_key_type),
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_key_outlives_set),
        cmocka_unit_test(test_concurrent_find),
    };

    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
