/*
 * auth_priv.h - the pieces auth.c is built from: the token parser, the signature check of
 * jwks mode and the per-worker cache of verified tokens.
 *
 * The parser decides only whether the text is a JWT at all ("Wrong JWT structure"); it
 * trusts nothing in it. Whether the token is acceptable is auth.c's business.
 */
#ifndef WSA_AUTH_PRIV_H
#define WSA_AUTH_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "auth.h"
#include "jwks.h"

#define AUTH_SHA256_LEN 32

typedef struct auth_jwt {
    json_t *header;     /* a JSON object */
    json_t *payload;    /* a JSON object */
    size_t signed_len;  /* bytes of "header.payload" at the start of the token: the MAC input */
    size_t sig_len;     /* decoded length of the third part */
    unsigned char *sig; /* the whole decoded signature (malloc'd; never NULL after a parse) */
} auth_jwt_t;

/**
 * Splits a compact JWS into its three parts and decodes them. It is a JWT when it is at most
 * AUTH_MAX_TOKEN bytes; has exactly three dot-separated parts, each unpadded canonical
 * base64url (the third may be empty); its header and payload are JSON objects without
 * duplicate keys; and its payload's `exp` and `nbf`, when present, are numbers.
 * Returns 0 with `out` filled (release with auth_jwt_free), or -1 with nothing to release.
 */
int auth_jwt_parse(const char *token, size_t len, auth_jwt_t *out);

void auth_jwt_free(auth_jwt_t *jwt);

/**
 * 1 when `sig` is a valid signature of `data` by `key` under the one algorithm `alg`
 * (CFG_ALG_*), which the key must allow and whose key type it must have; else 0. RSA
 * signatures are PKCS#1 v1.5 of exactly the modulus' length; ES256 signatures are the JOSE
 * form, r and s as 32 bytes each.
 */
int auth_sig_verify(const jwks_key_t *key, unsigned alg, const unsigned char *data, size_t len,
                    const unsigned char *sig, size_t sig_len);

/**
 * Looks a token up by the SHA-256 of its bytes: 1 with `out` filled when it was verified
 * and is still valid at `now`, else 0. Counts a hit or a miss.
 */
int auth_cache_get(auth_cache_t *cache, const unsigned char hash[AUTH_SHA256_LEN], int64_t now,
                   auth_claims_t *out);

/**
 * Remembers a verified token until `until` (exclusive, wall-clock seconds): the caller
 * works it out from exp, the leeway and AUTH_CACHE_TTL_S.
 */
void auth_cache_put(auth_cache_t *cache, const unsigned char hash[AUTH_SHA256_LEN], int64_t until,
                    const auth_claims_t *claims);

#endif
