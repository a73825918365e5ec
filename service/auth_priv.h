/*
 * auth_priv.h - the token parser shared by auth.c and auth_jwt.c.
 *
 * The parser decides only whether the text is a JWT at all ("Wrong JWT structure"); it
 * trusts nothing in it. Whether the token is acceptable is auth.c's business.
 */
#ifndef WSA_AUTH_PRIV_H
#define WSA_AUTH_PRIV_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

typedef struct auth_jwt {
    json_t *header;    /* a JSON object */
    json_t *payload;   /* a JSON object */
    size_t signed_len; /* bytes of "header.payload" at the start of the token: the MAC input */
    size_t sig_len;    /* decoded length of the third part, even when longer than `sig` */
    unsigned char sig[EVP_MAX_MD_SIZE]; /* the first bytes of the decoded signature */
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

#endif
