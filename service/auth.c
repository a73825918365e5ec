/*
 * auth.c - verifying the platform's HS256 tokens in `secret` mode.
 *
 * The checks run in a fixed order (header, structure, algorithm and signature, exp, nbf,
 * aud) so that a token gets the message of the first thing wrong with it. The algorithm
 * comes from the configuration, never from the token: libjwt's jwt_decode follows the
 * token's `alg`, which is why the MAC is computed here with OpenSSL.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include "auth.h"
#include "auth_priv.h"

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

auth_result_t auth_verify(const auth_conf_t *conf, const char *header, size_t header_len,
                          const char *host, size_t host_len, int64_t now, auth_claims_t *out)
{
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

    if (!header_allowed(jwt.header) || !signature_valid(conf, token, &jwt))
        r = AUTH_WRONG_KEY;
    else if (expired(json_object_get(jwt.payload, "exp"), now))
        r = AUTH_EXPIRED;
    else if (not_yet_valid(json_object_get(jwt.payload, "nbf"), now))
        r = AUTH_NOT_YET_VALID;
    else if (!audience_ok(conf, json_object_get(jwt.payload, "aud"), host, host_len))
        r = AUTH_WRONG_AUDIENCE;
    else
        r = AUTH_OK;

    if (r == AUTH_OK && out != NULL)
        out->entities_limit = entities_limit(json_object_get(jwt.payload, "CTR_ENTITIES_LIMIT"));
    auth_jwt_free(&jwt);
    return r;
}
