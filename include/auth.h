/*
 * auth.h - verifying the platform's JWTs and minting test tokens.
 *
 * In `secret` mode a token is HS256 with the shared secret; the header's alg must be HS256
 * whatever the signature says. The token is parsed by our own code first (structure,
 * base64url, JSON), so that every failure has its own cause and message; the signature is
 * checked with OpenSSL's HMAC and a constant-time comparison.
 */
#ifndef WSA_AUTH_H
#define WSA_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_MAX_TOKEN        8192 /* bytes; longer tokens are a "Wrong JWT structure" */
#define AUTH_LEEWAY_S         30
#define AUTH_DEFAULT_ENTITIES 100
#define AUTH_MAX_ENTITIES     1000

typedef enum {
    AUTH_OK = 0,
    AUTH_NO_HEADER,       /* no Authorization header */
    AUTH_WRONG_TYPE,      /* not "Bearer <token>" */
    AUTH_WRONG_STRUCTURE, /* not a JWT */
    AUTH_WRONG_KEY,       /* bad signature, or an alg the mode does not allow */
    AUTH_WRONG_AUDIENCE,  /* aud present and not matching */
    AUTH_EXPIRED,         /* exp in the past */
    AUTH_NOT_YET_VALID,   /* nbf in the future */
} auth_result_t;

/** The full message for a failure, "Authorization failed: ..."; NULL for AUTH_OK. */
const char *auth_message(auth_result_t r);

typedef struct auth_conf {
    const char *secret;
    size_t secret_len;
    /* The audience to match (no trailing slash); when NULL, aud is compared with
     * "http://<Host header>" as the reference modules compare it with their URL root. */
    const char *audience;
} auth_conf_t;

/* What a verified token tells the handlers. */
typedef struct auth_claims {
    int entities_limit; /* CTR_ENTITIES_LIMIT: default 100, capped at 1000 */
} auth_claims_t;

/**
 * Verifies an Authorization header value (`header` NULL when absent). `host` is the request's
 * Host header (may be NULL), used only when conf->audience is NULL. `now` in seconds.
 */
auth_result_t auth_verify(const auth_conf_t *conf, const char *header, size_t header_len,
                          const char *host, size_t host_len, int64_t now, auth_claims_t *out);

/**
 * Mints an HS256 token with libjwt: `claims` is a JSON object text (may be NULL) merged with
 * iat and, when ttl > 0, exp = now + ttl. Returns a malloc'd string, or NULL with `err` set.
 */
char *auth_mint_hs256(const char *secret, size_t secret_len, const char *claims_json, int64_t ttl,
                      int64_t now, char *err, size_t errlen);

#endif
