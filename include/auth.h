/*
 * auth.h - verifying the platform's JWTs and minting test tokens.
 *
 * In `secret` mode a token is HS256 with the shared secret; the header's alg must be HS256
 * whatever the signature says. In `jwks` mode the token's alg must be one that
 * WSA_RELAY_JWT_ALGS allows and that its key may verify, and the key comes from the key set
 * of the jwks_host the token names, which must be on the allowlist. The token is parsed by
 * our own code first (structure, base64url, JSON), so that every failure has its own cause
 * and message; signatures are checked with OpenSSL (HMAC with a constant-time comparison,
 * EVP_DigestVerify), never by libjwt, which follows the token's alg.
 */
#ifndef WSA_AUTH_H
#define WSA_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "jwks.h"

#define AUTH_MAX_TOKEN        8192 /* bytes; longer tokens are a "Wrong JWT structure" */
#define AUTH_LEEWAY_S         30
#define AUTH_DEFAULT_ENTITIES 100
#define AUTH_MAX_ENTITIES     1000
#define AUTH_CACHE_TTL_S      60 /* a verified token is trusted again for at most this long */

typedef enum {
    AUTH_OK = 0,
    AUTH_NO_HEADER,         /* no Authorization header */
    AUTH_WRONG_TYPE,        /* not "Bearer <token>" */
    AUTH_WRONG_STRUCTURE,   /* not a JWT */
    AUTH_WRONG_KEY,         /* secret: bad signature, or an alg the mode does not allow */
    AUTH_WRONG_AUDIENCE,    /* aud not matching (secret: when present; jwks: also missing) */
    AUTH_EXPIRED,           /* exp in the past */
    AUTH_NOT_YET_VALID,     /* nbf in the future */
    AUTH_JWKS_HOST_MISSING, /* jwks: no jwks_host string in the payload */
    AUTH_WRONG_JWKS_HOST,   /* jwks: host not allowed, or its key set could not be had */
    AUTH_KID_NOT_FOUND,     /* jwks: no kid in the header, or none such in the key set */
    AUTH_WRONG_KEY_JWKS,    /* jwks: bad signature, or an alg not allowed for the key */
    AUTH_PENDING,           /* jwks: the key set is being fetched; verify again once notified */
} auth_result_t;

/**
 * The full message for a failure, "Authorization failed: ..."; NULL for AUTH_OK and
 * AUTH_PENDING (which is not an answer yet).
 */
const char *auth_message(auth_result_t r);

/* Tokens verified lately by one worker, by the SHA-256 of the whole token: not shared. */
typedef struct auth_cache auth_cache_t;

typedef struct auth_conf {
    cfg_auth_mode_t mode;
    const char *secret; /* secret mode */
    size_t secret_len;
    /* The audience to match (no trailing slash); when NULL (secret mode only), aud is
     * compared with "http://<Host header>" as the reference modules compare it with their
     * URL root. */
    const char *audience;
    const cfg_t *cfg;    /* jwks mode: the allowlist and WSA_RELAY_JWT_ALGS */
    jwks_t *jwks;        /* jwks mode: the key sets, shared by the workers */
    auth_cache_t *cache; /* jwks mode: this worker's verified tokens; NULL for none */
} auth_conf_t;

/**
 * A cache of `slots` verified tokens (a power of two; others are rounded up). A token is
 * kept until its exp (with the leeway) or AUTH_CACHE_TTL_S after it was verified, whichever
 * comes first; a newer token takes an older one's slot. Returns NULL when out of memory.
 */
auth_cache_t *auth_cache_create(size_t slots);
void auth_cache_free(auth_cache_t *cache);

/** Verifications the cache answered, and those it sent to the signature check. */
void auth_cache_stats(const auth_cache_t *cache, unsigned long *hits, unsigned long *misses);

/* What a verified token tells the handlers. */
typedef struct auth_claims {
    int entities_limit; /* CTR_ENTITIES_LIMIT: default 100, capped at 1000 */
} auth_claims_t;

/**
 * Verifies an Authorization header value (`header` NULL when absent). `host` is the request's
 * Host header (may be NULL), used only when conf->audience is NULL. `now` in seconds (wall
 * clock, for exp and nbf). In jwks mode the answer may be AUTH_PENDING: the caller waits for
 * the jwks notification and calls again with the same header.
 */
auth_result_t auth_verify(const auth_conf_t *conf, const char *header, size_t header_len,
                          const char *host, size_t host_len, int64_t now, auth_claims_t *out);

/**
 * Mints an HS256 token with libjwt: `claims` is a JSON object text (may be NULL) merged with
 * iat and, when ttl > 0, exp = now + ttl. Returns a malloc'd string, or NULL with `err` set.
 */
char *auth_mint_hs256(const char *secret, size_t secret_len, const char *claims_json, int64_t ttl,
                      int64_t now, char *err, size_t errlen);

/**
 * The key in a PEM text: a private key, or (with `or_public`) failing that a public one;
 * NULL when neither, an encrypted key included (no passphrase is ever asked for).
 */
EVP_PKEY *auth_pem_key(const char *pem, size_t pem_len, int or_public);

/**
 * Mints an RS256 token (libjwt) with the private key in `pem` and `kid` in its header;
 * claims and ttl as for auth_mint_hs256. For trying jwks mode locally and for the tests.
 */
char *auth_mint_rs256(const char *pem, size_t pem_len, const char *kid, const char *claims_json,
                      int64_t ttl, int64_t now, char *err, size_t errlen);

#endif
