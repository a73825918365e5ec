/*
 * jwks_set.c - a JWKS document made into an immutable list of verification keys.
 *
 * A set is built once and only read afterwards, so any number of threads may look keys up
 * in it at the same time without a lock; each key handed out carries its own reference.
 * Keys are built with OpenSSL 3's provider interface (EVP_PKEY_fromdata) from the JWK's
 * members, never from a PEM or certificate the document might carry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include "auth_priv.h"
#include "jwks.h"
#include "util.h"

/* OpenSSL's own ceiling; a larger modulus only makes every verification slower. */
#define JWKS_MAX_RSA_BITS 16384
/* Exponents in use are 3 and 65537; eight bytes leave room for any sane one. */
#define JWKS_MAX_E_BYTES 8
#define JWKS_P256_COORD  32

typedef struct jwks_entry {
    char *kid;
    size_t kid_len;
    EVP_PKEY *pkey;
    unsigned algs;
} jwks_entry_t;

struct jwks_set {
    size_t n;
    jwks_entry_t keys[];
};

static void set_err(char *err, size_t errlen, const char *msg, int line, int column)
{
    if (err == NULL || errlen == 0)
        return;
    if (line > 0)
        snprintf(err, errlen, "%s (line %d, column %d)", msg, line, column);
    else
        snprintf(err, errlen, "%s", msg);
}

/*
 * Decodes a base64url member into a fresh buffer. Returns the buffer (free it) with its
 * length in `len`, or NULL when the member is absent, not a string, empty or not strict
 * unpadded base64url.
 */
static unsigned char *member_bytes(const json_t *jwk, const char *name, size_t *len)
{
    const json_t *v = json_object_get(jwk, name);
    unsigned char *buf;
    size_t in_len;
    long n;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    in_len = json_string_length(v);
    buf = malloc(in_len * 3 / 4 + 1);
    if (buf == NULL)
        return NULL;
    n = util_b64url_decode(json_string_value(v), in_len, buf);
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

/* Builds a public key of `type` from the parameters; NULL when OpenSSL refuses them. */
static EVP_PKEY *key_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/*
 * An RSA key from n and e. A modulus under JWKS_MIN_RSA_BITS is refused, as is one that is
 * even (no product of odd primes is) and an exponent that is even or 1: such a key could
 * only have been made to be broken.
 */
static EVP_PKEY *rsa_key(const json_t *jwk)
{
    unsigned char *n_bin = NULL, *e_bin = NULL;
    size_t n_len = 0, e_len = 0;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;
    int bits;

    n_bin = member_bytes(jwk, "n", &n_len);
    e_bin = member_bytes(jwk, "e", &e_len);
    if (n_bin == NULL || e_bin == NULL || e_len > JWKS_MAX_E_BYTES)
        goto out;
    n = BN_bin2bn(n_bin, (int)n_len, NULL);
    e = BN_bin2bn(e_bin, (int)e_len, NULL);
    if (n == NULL || e == NULL)
        goto out;
    bits = BN_num_bits(n);
    if (bits < JWKS_MIN_RSA_BITS || bits > JWKS_MAX_RSA_BITS || !BN_is_odd(n) || !BN_is_odd(e) ||
        BN_is_one(e))
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    pkey = key_from_params("RSA", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(n_bin);
    free(e_bin);
    return pkey;
}

/*
 * A P-256 key from x and y, each exactly 32 bytes. OpenSSL decodes the point when it
 * builds the key and refuses one that is not on the curve.
 */
static EVP_PKEY *ec_key(const json_t *jwk)
{
    const json_t *crv = json_object_get(jwk, "crv");
    unsigned char *x = NULL, *y = NULL;
    unsigned char point[1 + 2 * JWKS_P256_COORD];
    size_t x_len = 0, y_len = 0;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0 ||
        json_string_length(crv) != 5)
        return NULL;
    x = member_bytes(jwk, "x", &x_len);
    y = member_bytes(jwk, "y", &y_len);
    if (x == NULL || y == NULL || x_len != JWKS_P256_COORD || y_len != JWKS_P256_COORD)
        goto out;
    point[0] = 0x04; /* uncompressed: x then y */
    memcpy(point + 1, x, JWKS_P256_COORD);
    memcpy(point + 1 + JWKS_P256_COORD, y, JWKS_P256_COORD);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
        goto out;
    pkey = key_from_params("EC", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pkey;
}

/* Whether the string member `name` is absent, or present and exactly `want`. */
static int absent_or(const json_t *jwk, const char *name, const char *want)
{
    const json_t *v = json_object_get(jwk, name);

    return v == NULL || (json_is_string(v) && json_string_length(v) == strlen(want) &&
                         strcmp(json_string_value(v), want) == 0);
}

/*
 * Makes one entry from a JWK, or returns -1 when the key is not one we can use: not an
 * object, no kid, "use" other than "sig", an "alg" we do not know or that does not fit the
 * kty, or key material that fails the checks above.
 */
static int entry_from_jwk(const json_t *jwk, jwks_entry_t *out)
{
    const json_t *kid = json_object_get(jwk, "kid");
    const json_t *kty = json_object_get(jwk, "kty");
    const json_t *alg = json_object_get(jwk, "alg");
    unsigned algs, named = 0;
    EVP_PKEY *pkey;

    if (!json_is_object(jwk) || !json_is_string(kid) || json_string_length(kid) == 0 ||
        !json_is_string(kty) || !absent_or(jwk, "use", "sig"))
        return -1;
    if (alg != NULL &&
        (!json_is_string(alg) ||
         (named = cfg_alg_bit(json_string_value(alg), json_string_length(alg))) == 0))
        return -1;
    if (strcmp(json_string_value(kty), "RSA") == 0 && json_string_length(kty) == 3)
        algs = CFG_ALG_RS256 | CFG_ALG_RS384 | CFG_ALG_RS512;
    else if (strcmp(json_string_value(kty), "EC") == 0 && json_string_length(kty) == 2)
        algs = CFG_ALG_ES256;
    else
        return -1;
    if (named != 0) {
        if ((algs & named) == 0)
            return -1;
        algs = named;
    }
    pkey = algs == CFG_ALG_ES256 ? ec_key(jwk) : rsa_key(jwk);
    if (pkey == NULL)
        return -1;
    out->kid = malloc(json_string_length(kid) + 1);
    if (out->kid == NULL) {
        EVP_PKEY_free(pkey);
        return -1;
    }
    out->kid_len = json_string_length(kid);
    memcpy(out->kid, json_string_value(kid), out->kid_len + 1);
    out->pkey = pkey;
    out->algs = algs;
    return 0;
}

static int kid_index(const jwks_set_t *set, const char *kid, size_t kid_len)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->keys[i].kid_len == kid_len && memcmp(set->keys[i].kid, kid, kid_len) == 0)
            return (int)i;
    }
    return -1;
}

jwks_set_t *jwks_set_parse(const char *text, size_t len, size_t *skipped, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc, *keys, *jwk;
    jwks_set_t *set = NULL;
    size_t i, dropped = 0;

    if (skipped != NULL)
        *skipped = 0;
    /* two members of one name would mean different keys to different readers */
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        set_err(err, errlen, "the JWKS document is not JSON", jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        set_err(err, errlen, "the JWKS document is not a JSON object", 0, 0);
        goto out;
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        set_err(err, errlen, "the JWKS document has no \"keys\" array", 0, 0);
        goto out;
    }
    set = calloc(1, sizeof(*set) + JWKS_MAX_KEYS * sizeof(set->keys[0]));
    if (set == NULL) {
        set_err(err, errlen, "out of memory while reading the JWKS document", 0, 0);
        goto out;
    }
    json_array_foreach(keys, i, jwk)
    {
        jwks_entry_t entry;
        const json_t *kid = json_object_get(jwk, "kid");

        /* a later key cannot replace an earlier one of the same kid */
        if (i >= JWKS_MAX_KEYS ||
            (json_is_string(kid) &&
             kid_index(set, json_string_value(kid), json_string_length(kid)) >= 0) ||
            entry_from_jwk(jwk, &entry) != 0) {
            dropped++;
            continue;
        }
        set->keys[set->n++] = entry;
    }
    if (skipped != NULL)
        *skipped = dropped;
out:
    json_decref(doc);
    return set;
}

int jwks_set_find(const jwks_set_t *set, const char *kid, size_t kid_len, jwks_key_t *out)
{
    int i;

    memset(out, 0, sizeof(*out));
    if (set == NULL || kid == NULL)
        return -1;
    i = kid_index(set, kid, kid_len);
    if (i < 0 || EVP_PKEY_up_ref(set->keys[i].pkey) != 1)
        return -1;
    out->pkey = set->keys[i].pkey;
    out->algs = set->keys[i].algs;
    return 0;
}

size_t jwks_set_size(const jwks_set_t *set)
{
    return set == NULL ? 0 : set->n;
}

void jwks_set_free(jwks_set_t *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->keys[i].kid);
        EVP_PKEY_free(set->keys[i].pkey);
    }
    free(set);
}

void jwks_key_release(jwks_key_t *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
    key->algs = 0;
}
