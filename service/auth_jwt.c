/*
 * auth_jwt.c - splitting and decoding a compact JWS, with no trust in anything it says.
 */
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "auth_priv.h"
#include "util.h"

/*
 * Decodes one base64url part and loads it as a JSON object. Duplicate keys are refused: a
 * header with two `alg` members, or a payload with two `aud`, means different things to
 * different parsers, so such a token is not one we can judge.
 */
static json_t *load_object(const char *part, size_t len, unsigned char *buf)
{
    long n = util_b64url_decode(part, len, buf);
    json_t *obj;

    if (n < 0)
        return NULL;
    obj = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (obj != NULL && !json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* A time claim that is present must be a NumericDate (RFC 7519 section 2): a JSON number. */
static int time_claim_ok(const json_t *payload, const char *name)
{
    const json_t *v = json_object_get(payload, name);

    return v == NULL || json_is_number(v);
}

int auth_jwt_parse(const char *token, size_t len, auth_jwt_t *out)
{
    /* each decoded part is shorter than the token, so one buffer of its bound serves all */
    unsigned char buf[AUTH_MAX_TOKEN + 1];
    const char *d1, *d2;
    long sig_len;

    memset(out, 0, sizeof(*out));
    if (token == NULL || len == 0 || len > AUTH_MAX_TOKEN)
        return -1;
    d1 = memchr(token, '.', len);
    if (d1 == NULL)
        return -1;
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
        return -1;

    out->header = load_object(token, (size_t)(d1 - token), buf);
    if (out->header == NULL)
        goto fail;
    out->payload = load_object(d1 + 1, (size_t)(d2 - d1 - 1), buf);
    if (out->payload == NULL)
        goto fail;
    sig_len = util_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), buf);
    if (sig_len < 0)
        goto fail;
    if (!time_claim_ok(out->payload, "exp") || !time_claim_ok(out->payload, "nbf"))
        goto fail;

    /* an RSA signature is as long as its modulus, up to 512 bytes and more: kept whole */
    out->sig = malloc(sig_len > 0 ? (size_t)sig_len : 1);
    if (out->sig == NULL)
        goto fail;
    memcpy(out->sig, buf, (size_t)sig_len);
    out->signed_len = (size_t)(d2 - token);
    out->sig_len = (size_t)sig_len;
    return 0;

fail:
    auth_jwt_free(out);
    return -1;
}

void auth_jwt_free(auth_jwt_t *jwt)
{
    json_decref(jwt->header);
    json_decref(jwt->payload);
    free(jwt->sig);
    jwt->header = NULL;
    jwt->payload = NULL;
    jwt->sig = NULL;
    jwt->sig_len = 0;
}
