/*
 * token.c - minting HS256 and RS256 tokens with libjwt, for the `token` subcommand and the
 * tests.
 *
 * Minting with libjwt and verifying with our own parser and OpenSSL keeps two independent
 * implementations face to face in the tests.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "auth.h"
#include "util.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * The claims as one JSON object text, with iat (and exp) set by us: the caller's own iat or
 * exp would contradict the `now` and `ttl` it passed. Errors name the position only, since
 * the text around it may be a credential.
 */
static char *build_grants(const char *claims_json, int64_t ttl, int64_t now, char *err,
                          size_t errlen)
{
    json_error_t jerr;
    json_t *claims;
    char *text = NULL;

    if (ttl > 0 && now > INT64_MAX - ttl) {
        set_err(err, errlen, "token lifetime too large: %lld s", (long long)ttl);
        return NULL;
    }
    if (claims_json == NULL) {
        claims = json_object();
    } else {
        claims = json_loads(claims_json, JSON_REJECT_DUPLICATES, &jerr);
        if (claims == NULL) {
            set_err(err, errlen, "claims are not valid JSON (line %d, column %d)", jerr.line,
                    jerr.column);
            return NULL;
        }
    }
    if (!json_is_object(claims)) {
        set_err(err, errlen, "claims must be a JSON object");
        goto out;
    }
    if (json_object_set_new(claims, "iat", json_integer(now)) != 0 ||
        (ttl > 0 && json_object_set_new(claims, "exp", json_integer(now + ttl)) != 0)) {
        set_err(err, errlen, "out of memory while building the claims");
        goto out;
    }
    text = json_dumps(claims, JSON_COMPACT);
    if (text == NULL)
        set_err(err, errlen, "out of memory while building the claims");
out:
    json_decref(claims);
    return text;
}

/*
 * Signs the claims with libjwt under `alg` with `key` (the secret, or the private key's PEM),
 * with `kid` in the header when not NULL. Returns a malloc'd token, or NULL with `err` set.
 */
static char *mint(jwt_alg_t alg, const char *key, size_t key_len, const char *kid,
                  const char *claims_json, int64_t ttl, int64_t now, char *err, size_t errlen)
{
    jwt_t *jwt = NULL;
    char *grants = NULL, *token = NULL;
    int rc;

    grants = build_grants(claims_json, ttl, now, err, errlen);
    if (grants == NULL)
        return NULL;
    rc = jwt_new(&jwt);
    if (rc != 0) {
        set_err(err, errlen, "cannot create the token: %s", strerror(rc));
        goto out;
    }
    rc = jwt_add_grants_json(jwt, grants);
    if (rc == 0)
        rc = jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)key_len);
    if (rc == 0 && kid != NULL)
        rc = jwt_add_header(jwt, "kid", kid);
    if (rc != 0) {
        set_err(err, errlen, "cannot prepare the token: %s", strerror(rc < 0 ? EINVAL : rc));
        goto out;
    }
    token = jwt_encode_str(jwt);
    if (token == NULL)
        set_err(err, errlen, "cannot sign the token: %s", strerror(errno ? errno : EINVAL));
out:
    jwt_free(jwt); /* scrubs libjwt's copy of the key */
    free(grants);
    return token;
}

char *auth_mint_hs256(const char *secret, size_t secret_len, const char *claims_json, int64_t ttl,
                      int64_t now, char *err, size_t errlen)
{
    if (secret == NULL || secret_len == 0 || secret_len > INT_MAX) {
        set_err(err, errlen, "the signing secret is empty or too long");
        return NULL;
    }
    return mint(JWT_ALG_HS256, secret, secret_len, NULL, claims_json, ttl, now, err, errlen);
}

/* Without a passphrase callback OpenSSL asks the terminal, and a command would sit waiting. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

EVP_PKEY *auth_pem_key(const char *pem, size_t pem_len, int or_public)
{
    BIO *bio = pem_len <= INT_MAX ? BIO_new_mem_buf(pem, (int)pem_len) : NULL;
    EVP_PKEY *pkey;

    if (bio == NULL)
        return NULL;
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (pkey == NULL && or_public && BIO_reset(bio) == 1)
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return pkey;
}

/*
 * Checks that `pem` holds an RSA private key jwks mode would take before libjwt sees it:
 * libjwt's failures are all EINVAL, and each of these deserves its own message.
 */
static int rsa_private_pem_ok(const char *pem, size_t pem_len, char *err, size_t errlen)
{
    EVP_PKEY *pkey = auth_pem_key(pem, pem_len, 0);
    int ok = 0;

    if (pkey == NULL)
        set_err(err, errlen, "the key is not a PEM private key (or it is encrypted)");
    else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
        set_err(err, errlen, "RS256 needs an RSA private key; this PEM holds another type");
    else if (EVP_PKEY_get_bits(pkey) < JWKS_MIN_RSA_BITS)
        set_err(err, errlen, "a %d-bit key; jwks mode refuses RSA keys under %d bits",
                EVP_PKEY_get_bits(pkey), JWKS_MIN_RSA_BITS);
    else
        ok = 1;
    EVP_PKEY_free(pkey);
    return ok;
}

char *auth_mint_rs256(const char *pem, size_t pem_len, const char *kid, const char *claims_json,
                      int64_t ttl, int64_t now, char *err, size_t errlen)
{
    char *token;

    if (pem == NULL || pem_len == 0 || pem_len > INT_MAX) {
        set_err(err, errlen, "the private key is empty or too long");
        return NULL;
    }
    if (kid == NULL || kid[0] == '\0' || !util_utf8_valid(kid, strlen(kid))) {
        set_err(err, errlen, "an RS256 token needs a kid of UTF-8 text");
        return NULL;
    }
    if (!rsa_private_pem_ok(pem, pem_len, err, errlen))
        return NULL;
    token = mint(JWT_ALG_RS256, pem, pem_len, kid, claims_json, ttl, now, err, errlen);
    if (token != NULL && strlen(token) > AUTH_MAX_TOKEN) {
        set_err(err, errlen, "the token would be %zu bytes; the relay takes at most %d",
                strlen(token), AUTH_MAX_TOKEN);
        free(token);
        token = NULL;
    }
    return token;
}
