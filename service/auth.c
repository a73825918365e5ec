/*
 * auth.c - verifying the platform's tokens: HS256 with the shared secret in `secret` mode,
 * signatures by a key of the token's jwks_host in `jwks` mode.
 *
 * The checks run in a fixed order (header, structure, algorithm and signature, exp, nbf,
 * aud; in jwks mode the key's host and kid before the signature) so that a token gets the
 * message of the first thing wrong with it. The algorithm comes from the configuration,
 * never from the token: libjwt's jwt_decode follows the token's `alg`, which is why
 * signatures are checked here with OpenSSL.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include "auth.h"
#include "auth_priv.h"
#include "util.h"

#define AUTH_PREFIX "Authorization failed: "

const char *auth_message(auth_result_t r)
{
    switch (r) {
    case AUTH_OK:
        return NULL;
    case AUTH_NO_HEADER:
        return AUTH_PREFIX "Authorization header is missing";
    case AUTH_WRONG_TYPE:
        return AUTH_PREFIX "Wrong authorization type";
    case AUTH_WRONG_STRUCTURE:
        return AUTH_PREFIX "Wrong JWT structure";
    case AUTH_WRONG_KEY:
        return AUTH_PREFIX "Failed to decode JWT with provided key";
    case AUTH_WRONG_AUDIENCE:
        return AUTH_PREFIX "Wrong configuration-token-audience";
    case AUTH_EXPIRED:
        return AUTH_PREFIX "JWT has expired";
    case AUTH_NOT_YET_VALID:
        return AUTH_PREFIX "JWT is not yet valid";
    case AUTH_JWKS_HOST_MISSING:
        return AUTH_PREFIX "jwks_host is missing in JWT payload. Make sure custom_jwks_host field "
                           "is present in module_type";
    case AUTH_WRONG_JWKS_HOST:
        return AUTH_PREFIX "Wrong jwks_host in JWT payload. Make sure domain follows the "
                           "visibility.<region>.cisco.com structure";
    case AUTH_KID_NOT_FOUND:
        return AUTH_PREFIX "kid from JWT header not found in API response";
    case AUTH_WRONG_KEY_JWKS:
        return AUTH_PREFIX "Failed to decode JWT with provided key. Make sure domain in "
                           "custom_jwks_host corresponds to your SecureX instance region.";
    case AUTH_PENDING:
        return NULL;
    }
    /* a value outside the enum is a caller's bug; it still must not pass for success */
    return AUTH_PREFIX "Failed to decode JWT with provided key";
}

/* The whitespace of Python's str.split(), which the reference modules use, in ASCII. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Finds "<scheme> <token>": exactly two words, the first "Bearer" in any case. */
static int split_bearer(const char *h, size_t len, const char **token, size_t *token_len)
{
    const char *word[2];
    size_t word_len[2];
    size_t i = 0, n = 0;

    while (i < len) {
        while (i < len && is_space(h[i]))
            i++;
        if (i == len)
            break;
        if (n == 2)
            return -1;
        word[n] = h + i;
        while (i < len && !is_space(h[i]))
            i++;
        word_len[n] = (size_t)(h + i - word[n]);
        n++;
    }
    if (n != 2 || word_len[0] != 6 || strncasecmp(word[0], "Bearer", 6) != 0)
        return -1;
    *token = word[1];
    *token_len = word_len[1];
    return 0;
}

/*
 * The header must say exactly HS256, and must not list critical extensions: we implement
 * none, and RFC 7515 section 4.1.11 says a token that needs one must be refused.
 */
static int header_allowed(const json_t *header)
{
    const json_t *alg = json_object_get(header, "alg");

    return json_is_string(alg) && strcmp(json_string_value(alg), "HS256") == 0 &&
           json_string_length(alg) == 5 && json_object_get(header, "crit") == NULL;
}

static int signature_valid(const auth_conf_t *conf, const char *token, const auth_jwt_t *jwt)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    /* no secret is a configuration fault; it must fail closed, never accept */
    if (conf->secret == NULL || conf->secret_len == 0 || conf->secret_len > INT_MAX)
        return 0;
    if (HMAC(EVP_sha256(), conf->secret, (int)conf->secret_len, (const unsigned char *)token,
             jwt->signed_len, mac, &mac_len) == NULL)
        return 0;
    return jwt->sig_len == mac_len && CRYPTO_memcmp(mac, jwt->sig, mac_len) == 0;
}

/* now - d and now + d, saturated, so that no `now` a caller passes can overflow. */
static int64_t sub_sat(int64_t now, int64_t d)
{
    return now < INT64_MIN + d ? INT64_MIN : now - d;
}

static int64_t add_sat(int64_t now, int64_t d)
{
    return now > INT64_MAX - d ? INT64_MAX : now + d;
}

/* RFC 7519: the token expires at `exp` itself, so exp <= now - leeway is too late. */
static int expired(const json_t *exp, int64_t now)
{
    if (exp == NULL)
        return 0;
    if (json_is_integer(exp))
        return json_integer_value(exp) <= sub_sat(now, AUTH_LEEWAY_S);
    return json_real_value(exp) <= (double)now - AUTH_LEEWAY_S;
}

static int not_yet_valid(const json_t *nbf, int64_t now)
{
    if (nbf == NULL)
        return 0;
    if (json_is_integer(nbf))
        return json_integer_value(nbf) > add_sat(now, AUTH_LEEWAY_S);
    return json_real_value(nbf) > (double)now + AUTH_LEEWAY_S;
}

static size_t without_trailing_slashes(const char *s, size_t len)
{
    while (len > 0 && s[len - 1] == '/')
        len--;
    return len;
}

/* Whether `aud` equals prefix + ref, both sides without trailing slashes. */
static int audience_equal(const json_t *aud, const char *prefix, const char *ref, size_t ref_len)
{
    const char *a = json_string_value(aud);
    size_t a_len, p_len = strlen(prefix);

    if (a == NULL)
        return 0;
    a_len = without_trailing_slashes(a, json_string_length(aud));
    ref_len = without_trailing_slashes(ref, ref_len);
    return a_len == p_len + ref_len && memcmp(a, prefix, p_len) == 0 &&
           memcmp(a + p_len, ref, ref_len) == 0;
}

/* `aud` is a string or an array of strings; any other type matches nothing. */
static int audience_ok(const auth_conf_t *conf, const json_t *aud, const char *host,
                       size_t host_len)
{
    const char *prefix = "", *ref = conf->audience;
    size_t ref_len, i;
    const json_t *v;

    if (aud == NULL)
        return 1;
    if (ref != NULL) {
        ref_len = strlen(ref);
    } else if (host != NULL) {
        prefix = "http://";
        ref = host;
        ref_len = host_len;
    } else {
        return 0;
    }
    if (json_is_string(aud))
        return audience_equal(aud, prefix, ref, ref_len);
    json_array_foreach(aud, i, v)
    {
        if (audience_equal(v, prefix, ref, ref_len))
            return 1;
    }
    return 0;
}

/*
 * CTR_ENTITIES_LIMIT: an integer or a string of ASCII digits. Anything else, and anything
 * not positive, is the default; past the cap is the cap (a long digit string saturates
 * instead of overflowing).
 */
static int entities_limit(const json_t *v)
{
    long long n = 0;

    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v) && json_string_length(v) > 0) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < json_string_length(v); i++) {
            if (s[i] < '0' || s[i] > '9')
                return AUTH_DEFAULT_ENTITIES;
            if (n <= AUTH_MAX_ENTITIES)
                n = n * 10 + (s[i] - '0');
        }
    }
    if (n <= 0)
        return AUTH_DEFAULT_ENTITIES;
    return n > AUTH_MAX_ENTITIES ? AUTH_MAX_ENTITIES : (int)n;
}

/* The checks after the signature, which both modes share; `aud` is required in jwks mode. */
static auth_result_t check_claims(const auth_conf_t *conf, const json_t *payload, const char *host,
                                  size_t host_len, int64_t now)
{
    const json_t *aud = json_object_get(payload, "aud");

    if (expired(json_object_get(payload, "exp"), now))
        return AUTH_EXPIRED;
    if (not_yet_valid(json_object_get(payload, "nbf"), now))
        return AUTH_NOT_YET_VALID;
    if (conf->mode == CFG_AUTH_JWKS) {
        /* no configured audience would match any Host header a caller sends: fail closed */
        if (aud == NULL || conf->audience == NULL)
            return AUTH_WRONG_AUDIENCE;
    }
    if (!audience_ok(conf, aud, host, host_len))
        return AUTH_WRONG_AUDIENCE;
    return AUTH_OK;
}

static auth_result_t verify_secret(const auth_conf_t *conf, const char *token,
                                   const auth_jwt_t *jwt, const char *host, size_t host_len,
                                   int64_t now)
{
    if (!header_allowed(jwt->header) || !signature_valid(conf, token, jwt))
        return AUTH_WRONG_KEY;
    return check_claims(conf, jwt->payload, host, host_len, now);
}

/*
 * The one algorithm the token may be checked with: its header's alg, when the configuration
 * allows it; 0 when not (none, HS256 and any name we do not know included). A token that
 * lists critical extensions is refused, as in secret mode.
 */
static unsigned jwks_alg(const auth_conf_t *conf, const json_t *header)
{
    const json_t *alg = json_object_get(header, "alg");
    unsigned bit;

    if (!json_is_string(alg) || json_object_get(header, "crit") != NULL)
        return 0;
    bit = cfg_alg_bit(json_string_value(alg), json_string_length(alg));
    return (bit & conf->cfg->jwt_algs) != 0 ? bit : 0;
}

static auth_result_t verify_jwks(const auth_conf_t *conf, const char *token, const auth_jwt_t *jwt,
                                 int64_t now)
{
    const json_t *jwks_host = json_object_get(jwt->payload, "jwks_host");
    const json_t *kid = json_object_get(jwt->header, "kid");
    jwks_key_t key = {0};
    auth_result_t r;
    unsigned alg;

    if (!json_is_string(jwks_host) || json_string_length(jwks_host) == 0)
        return AUTH_JWKS_HOST_MISSING;
    if (conf->cfg == NULL || !cfg_jwks_host_allowed(conf->cfg, json_string_value(jwks_host),
                                                    json_string_length(jwks_host)))
        return AUTH_WRONG_JWKS_HOST;
    alg = jwks_alg(conf, jwt->header);
    if (alg == 0)
        return AUTH_WRONG_KEY_JWKS;
    if (!json_is_string(kid) || json_string_length(kid) == 0)
        return AUTH_KID_NOT_FOUND;
    if (conf->jwks == NULL)
        return AUTH_WRONG_JWKS_HOST;

    switch (jwks_find(conf->jwks, json_string_value(jwks_host), json_string_length(jwks_host),
                      json_string_value(kid), json_string_length(kid), util_monotonic_ms(), &key)) {
    case JWKS_FOUND:
        break;
    case JWKS_PENDING:
        return AUTH_PENDING;
    case JWKS_NO_KID:
        return AUTH_KID_NOT_FOUND;
    case JWKS_FAILED:
    default:
        return AUTH_WRONG_JWKS_HOST;
    }
    if ((key.algs & alg) == 0 || !auth_sig_verify(&key, alg, (const unsigned char *)token,
                                                  jwt->signed_len, jwt->sig, jwt->sig_len))
        /* a key replaced under the same kid (another key, or another alg) fails here until a
         * fetch brings the new one */
        r = jwks_refresh(conf->jwks, json_string_value(jwks_host), json_string_length(jwks_host),
                         util_monotonic_ms())
                ? AUTH_PENDING
                : AUTH_WRONG_KEY_JWKS;
    else
        r = check_claims(conf, jwt->payload, NULL, 0, now);
    jwks_key_release(&key);
    return r;
}

/*
 * Until when (exclusive) a token verified at `now` may be answered from the cache: its exp
 * plus the leeway, which is when it would first be refused, or AUTH_CACHE_TTL_S from now,
 * whichever comes first.
 */
static int64_t cache_until(const json_t *exp, int64_t now)
{
    int64_t until = add_sat(now, AUTH_CACHE_TTL_S);

    if (json_is_integer(exp)) {
        int64_t e = add_sat(json_integer_value(exp), AUTH_LEEWAY_S);
        if (e < until)
            until = e;
    } else if (json_is_real(exp)) {
        /* refused from the first whole second not below exp + leeway */
        double e = json_real_value(exp) + AUTH_LEEWAY_S;
        if (e < (double)until) {
            int64_t t = (int64_t)e;
            until = (double)t < e ? t + 1 : t;
        }
    }
    return until;
}

auth_result_t auth_verify(const auth_conf_t *conf, const char *header, size_t header_len,
                          const char *host, size_t host_len, int64_t now, auth_claims_t *out)
{
    unsigned char hash[AUTH_SHA256_LEN];
    auth_claims_t claims = {.entities_limit = AUTH_DEFAULT_ENTITIES};
    int cached = conf->mode == CFG_AUTH_JWKS && conf->cache != NULL;
    auth_jwt_t jwt;
    const char *token;
    size_t token_len;
    auth_result_t r;

    if (out != NULL)
        out->entities_limit = AUTH_DEFAULT_ENTITIES;
    if (header == NULL)
        return AUTH_NO_HEADER;
    if (split_bearer(header, header_len, &token, &token_len) != 0)
        return AUTH_WRONG_TYPE;
    if (auth_jwt_parse(token, token_len, &jwt) != 0)
        return AUTH_WRONG_STRUCTURE;

    if (cached) {
        if (EVP_Digest(token, token_len, hash, NULL, EVP_sha256(), NULL) != 1) {
            cached = 0;
        } else if (auth_cache_get(conf->cache, hash, now, &claims)) {
            r = AUTH_OK;
            goto out;
        }
    }
    if (conf->mode == CFG_AUTH_JWKS)
        r = verify_jwks(conf, token, &jwt, now);
    else if (conf->mode == CFG_AUTH_SECRET)
        r = verify_secret(conf, token, &jwt, host, host_len, now);
    else
        r = AUTH_WRONG_KEY; /* a mode this code does not know must not pass */
    if (r == AUTH_OK) {
        claims.entities_limit = entities_limit(json_object_get(jwt.payload, "CTR_ENTITIES_LIMIT"));
        if (cached)
            auth_cache_put(conf->cache, hash, cache_until(json_object_get(jwt.payload, "exp"), now),
                           &claims);
    }
out:
    if (r == AUTH_OK && out != NULL)
        *out = claims;
    auth_jwt_free(&jwt);
    return r;
}
